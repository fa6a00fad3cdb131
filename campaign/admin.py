from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.text import Truncator

from . import exports
from .models import (
    Campaign,
    ConfirmationEmail,
    Letter,
    Official,
    OutboxStatus,
    Signature,
)
from .services import delivery


@admin.register(Official)
class OfficialAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "organisation", "email", "is_active"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name", "position", "email", "organisation"]
    readonly_fields = ["created_at", "updated_at"]


class TargetInline(admin.TabularInline):
    model = Campaign.targets.through
    extra = 1
    autocomplete_fields = ["official"]
    verbose_name = "target official"
    verbose_name_plural = "target officials"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "status",
        "signature_goal",
        "opens_at",
        "closes_at",
        "deliveries",
    ]
    list_filter = ["status", "opens_at", "closes_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "updated_at", "deliveries"]
    list_select_related = ["letter_template"]
    exclude = ["targets"]
    inlines = [TargetInline]

    def get_queryset(self, request):
        # Letters per delivery status, for every campaign on the page, in the
        # page's own query (one GROUP BY, not a query per campaign).
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"letters_{status}": Count(
                        "signatures__letters",
                        filter=Q(signatures__letters__status=status),
                    )
                    for status in OutboxStatus.values
                }
            )
        )

    @admin.display(description="letters by delivery status")
    def deliveries(self, obj) -> str:
        url = reverse("admin:campaign_letter_changelist")
        counts = [
            (url, obj.pk, status, label, getattr(obj, f"letters_{status}", 0))
            for status, label in OutboxStatus.choices
        ]
        shown = [row for row in counts if row[-1]]
        if not shown:
            return "–"
        return format_html_join(
            " · ",
            '<a href="{}?signature__campaign__id__exact={}&amp;status__exact={}">'
            "{}: {}</a>",
            shown,
        )


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "email",
        "campaign",
        "status",
        "created_at",
        "confirmed_at",
    ]
    list_filter = ["status", "campaign", "created_at", "confirmed_at", "keep_updated"]
    search_fields = ["full_name", "email", "postcode"]
    list_select_related = ["campaign"]
    readonly_fields = [
        "email_normalised",
        "token_created_at",
        "created_at",
        "confirmed_at",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on millions of rows per page view

    actions = ["export_selected_csv"]

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_selected_csv(self, request, queryset):
        # Re-select by pk: the changelist queryset carries its own ordering and
        # joins; the export wants the bare rows in its own order.
        selected = Signature.objects.filter(pk__in=queryset.values("pk"))
        return exports.signature_csv_response(
            signatures=selected, filename=exports.export_filename(label="selected")
        )

    def has_export_permission(self, request) -> bool:
        # The staff URL's rule, not has_view_permission (which change also grants).
        return exports.can_export(request.user)


class OutboxAdmin(admin.ModelAdmin):
    """Letters and confirmation emails: a record of what the site sends, so
    read-only; organisers act on rows through the two actions (services)."""

    actions = ["retry_now", "cancel"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on millions of rows per page view

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # rows are written by signing, never by hand

    @admin.display(description="last error")
    def last_error_short(self, obj) -> str:
        return Truncator(obj.last_error).chars(100)

    @admin.action(description="Retry now (failed only)", permissions=["change"])
    def retry_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        retried = delivery.outbox_retry(model=self.model, ids=ids)
        self._report(request, done=retried, of=len(ids), verb="queued again")

    @admin.action(description="Cancel: never send", permissions=["change"])
    def cancel(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        cancelled = delivery.outbox_cancel(model=self.model, ids=ids)
        self._report(request, done=cancelled, of=len(ids), verb="cancelled")

    def _report(self, request, *, done: int, of: int, verb: str) -> None:
        message = f"{done} {model_ngettext(self.opts, done)} {verb}."
        if of > done:
            message += f" {of - done} left alone (not in a state that allows it)."
        level = messages.SUCCESS if done else messages.WARNING
        self.message_user(request, message, level)


@admin.register(Letter)
class LetterAdmin(OutboxAdmin):
    list_display = [
        "__str__",
        "campaign",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error_short",
    ]
    list_filter = ["status", "signature__campaign", "official"]
    search_fields = ["signature__full_name", "signature__email", "official__name"]
    list_select_related = ["signature__campaign", "official"]

    @admin.display(description="campaign", ordering="signature__campaign__title")
    def campaign(self, obj) -> str:
        return obj.signature.campaign.title


@admin.register(ConfirmationEmail)
class ConfirmationEmailAdmin(OutboxAdmin):
    list_display = [
        "__str__",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error_short",
        "created_at",
    ]
    list_filter = ["status", "signature__campaign"]
    search_fields = ["signature__full_name", "signature__email"]
    list_select_related = ["signature"]
