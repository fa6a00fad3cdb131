"""Campaign updates in the admin: write (a draft), preview, "Send me a test",
"Send to N supporters" (N shown on a confirmation page first), then progress
with pause, resume and cancel. Each button is a POST calling one service."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from letters.rendering import TemplateError

from ..models import Update
from ..services import updates as services


@admin.register(Update)
class UpdateAdmin(admin.ModelAdmin):
    list_display = ["subject", "campaign", "status", "recipients", "sent_at"]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["subject"]
    autocomplete_fields = ["wrote_to"]
    fields = [
        "campaign",
        "subject",
        "body",
        "signed_after",
        "signed_before",
        "wrote_to",
    ]
    change_form_template = "admin/campaign/update/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # Once sending starts, the text is what supporters got: no edits.
        if obj is not None and obj.status != Update.Status.DRAFT:
            return self.fields
        return []

    def get_urls(self):
        def view(func, name):
            wrapped = self.admin_site.admin_view(func)
            return path(
                f"<path:object_id>/{name}/", wrapped, name=f"campaign_update_{name}"
            )

        return [
            view(self.send_view, "send"),
            view(self.test_view, "test"),
            view(self.pause_view, "pause"),
            view(self.resume_view, "resume"),
            view(self.cancel_view, "cancel"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, **kwargs):
        update = kwargs.get("obj")
        if update is not None and update.pk is not None:
            update = Update.objects.select_related("campaign").get(pk=update.pk)
            context.update(self._status_context(update))
        return super().render_change_form(request, context, add, change, **kwargs)

    def _status_context(self, update: Update) -> dict:
        context = {"update": update}
        try:
            context["preview"] = services.update_preview(update=update)
        except TemplateError as exc:
            context["preview_problems"] = exc.problems
        if update.status == Update.Status.DRAFT:
            context["audience"] = services.update_audience_count(update=update)
        else:
            context["progress"] = services.update_progress(update_id=update.pk)
        return context

    def _get(self, request, object_id, *, change: bool) -> Update:
        update = self.get_object(request, unquote(object_id))
        if update is None:
            raise Http404("No update with that id.")
        allowed = (
            self.has_change_permission(request, update)
            if change
            else self.has_view_permission(request, update)
        )
        if not allowed:
            raise PermissionDenied
        return update

    def _back(self, update: Update) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:campaign_update_change", args=[update.pk])
        )

    def send_view(self, request, object_id):
        """GET: "Send to N supporters?" with N; POST: send (once)."""
        update = self._get(request, object_id, change=True)
        if request.method == "POST":
            try:
                sent = services.update_send(
                    update_id=update.pk, user_id=request.user.pk
                )
            except services.UpdateNotSendable as exc:
                self.message_user(request, str(exc), messages.WARNING)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Sending to {sent.recipients:,} supporters.",
                    messages.SUCCESS,
                )
            return self._back(update)
        if update.status != Update.Status.DRAFT:
            self.message_user(
                request, "This update has already been sent.", messages.WARNING
            )
            return self._back(update)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": update,
            "title": "Send this update?",
            "audience": services.update_audience_count(update=update),
        }
        return TemplateResponse(request, "admin/campaign/update/send.html", context)

    def test_view(self, request, object_id):
        if request.method != "POST":
            return self._back(self._get(request, object_id, change=False))
        update = self._get(request, object_id, change=False)
        to_email = request.user.email
        try:
            services.update_send_test(update=update, to_email=to_email)
        except TemplateError as exc:
            self.message_user(request, "; ".join(exc.problems), messages.ERROR)
        except ValidationError:
            self.message_user(
                request,
                "Your user account has no valid email address to send a test to. "
                "Add one to your user, then try again.",
                messages.ERROR,
            )
        except OSError as exc:  # SMTPException and connection errors
            self.message_user(
                request,
                f"The test was not sent: the mail server failed "
                f"({exc.__class__.__name__}). Try again later.",
                messages.ERROR,
            )
        else:
            self.message_user(request, f"Test sent to {to_email}.", messages.SUCCESS)
        return self._back(update)

    def _act(self, request, object_id, service, done: str):
        update = self._get(request, object_id, change=True)
        if request.method == "POST":
            try:
                count = service(update_id=update.pk)
            except services.UpdateNotSendable as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, done.format(count), messages.SUCCESS)
        return self._back(update)

    def pause_view(self, request, object_id):
        return self._act(
            request, object_id, services.update_pause, "Paused: {:,} emails wait."
        )

    def resume_view(self, request, object_id):
        return self._act(
            request, object_id, services.update_resume, "Resumed: {:,} emails to go."
        )

    def cancel_view(self, request, object_id):
        return self._act(
            request,
            object_id,
            services.update_cancel,
            "Cancelled: {:,} emails will not be sent.",
        )
