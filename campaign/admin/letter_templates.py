"""The letter template admin with what needs campaigns and officials: each
official's letter below the editor, a preview of the unsaved text, and "Send me a
test letter". campaign/admin/__init__.py registers it in place of letters' own
admin, the way django.contrib.flatpages builds on sites: letters never imports
campaign.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from letters.admin import LetterTemplateAdmin
from letters.models import LetterTemplate
from letters.rendering import TemplateError

from ..services.letter_previews import (
    letter_template_previews,
    letter_template_send_test,
)
from ..services.pages import campaign_pages_invalidate
from .pages import RefreshesCampaignPages


class CampaignLetterTemplateAdmin(RefreshesCampaignPages, LetterTemplateAdmin):
    actions = ["send_test_letter"]
    change_form_template = "admin/letters/lettertemplate/change_form_with_previews.html"
    preview_template = "admin/letters/lettertemplate/preview.html"

    def pages_invalidate(self, pks: list[int]) -> None:
        # Also reached by reverting to an earlier version (history: save_model).
        campaign_pages_invalidate(template_ids=pks)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="letters_lettertemplate_preview_new"),
            path(
                "<path:object_id>/preview/",
                preview,
                name="letters_lettertemplate_preview",
            ),
            *super().get_urls(),
        ]

    def _preview_context(self, template, *, subject=None, body=None) -> dict:
        try:
            previews = letter_template_previews(
                template=template, subject_template=subject, body_template=body
            )
        except TemplateError as exc:
            # A row saved before validation existed (or edited outside the admin)
            # still opens: the preview names its problems instead of failing.
            return {"previews": [], "preview_problems": exc.problems}
        return {"previews": previews, "preview_problems": []}

    def render_change_form(self, request, context, add=False, change=False, **kwargs):
        obj = kwargs.get("obj")
        if obj is not None and obj.pk is not None:
            if request.method == "POST":
                # After a failed save `obj` carries the rejected text: preview
                # what is stored, which is what campaigns send.
                obj = LetterTemplate.objects.get(pk=obj.pk)
            context.update(self._preview_context(obj))
        return super().render_change_form(request, context, add, change, **kwargs)

    def preview_view(self, request, object_id=None):
        """GET: the saved template as each official would get it. POST (the change
        form's "Preview the text in the editor"): the posted text, unsaved."""
        if object_id is None:
            template = LetterTemplate()
            allowed = self.has_add_permission(request)
        else:
            template = self.get_object(request, unquote(object_id))
            if template is None:
                raise Http404("No letter template with that id.")
            allowed = (
                self.has_change_permission(request, template)
                if request.method == "POST"
                else self.has_view_permission(request, template)
            )
        if not allowed or (object_id is None and request.method != "POST"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": template,
            "title": f"Preview: {template.name or 'new letter template'}",
            "unsaved": request.method == "POST",
        }
        if request.method == "POST":
            # Nothing is saved: the text only goes through the renderer, which
            # rejects unsafe or malformed text. A body without {{ signer.name }}
            # is shown as it is (rendering.SIGNATURE_FIELD is checked on save).
            subject = request.POST.get("subject_template", "")
            body = request.POST.get("body_template", "")
            context.update(self._preview_context(template, subject=subject, body=body))
        else:
            context.update(self._preview_context(template))
        return TemplateResponse(request, self.preview_template, context)

    @admin.action(description="Send me a test letter", permissions=["view"])
    def send_test_letter(self, request, queryset):
        for message, level in self._send_test_letters(request.user.email, queryset):
            self.message_user(request, message, level)
        if "_from_change_form" in request.POST and len(queryset) == 1:
            # The change form's button: back to the editor, not the list.
            return HttpResponseRedirect(
                reverse("admin:letters_lettertemplate_change", args=[queryset[0].pk])
            )
        return None

    def _send_test_letters(self, to_email: str, templates):
        """Send one test letter per template; yield (message, level) for the user."""
        if not to_email:
            yield (
                "Your user account has no email address, so there is nowhere to "
                "send a test letter. Add one to your user, then try again.",
                messages.ERROR,
            )
            return
        for template in templates:
            try:
                letter_template_send_test(template=template, to_email=to_email)
            except TemplateError as exc:
                yield (
                    f"\u201c{template}\u201d was not sent: it cannot be rendered. "
                    + "; ".join(exc.problems),
                    messages.ERROR,
                )
            except ValidationError:
                yield (
                    f"Your email address \u201c{to_email}\u201d is not valid; fix it "
                    "on your user, then try again.",
                    messages.ERROR,
                )
                return
            except OSError as exc:  # SMTPException and connection errors
                yield (
                    f"\u201c{template}\u201d was not sent: the mail server failed "
                    f"({exc.__class__.__name__}: {exc}). Try again later.",
                    messages.ERROR,
                )
            else:
                yield (
                    f"Test letter from \u201c{template}\u201d sent to {to_email}.",
                    messages.SUCCESS,
                )
