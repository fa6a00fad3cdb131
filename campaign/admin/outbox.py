"""The outbox tables: a record of what the site sends, with retry and cancel."""

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.utils.text import Truncator

from ..models import ConfirmationEmail, Digest, Letter, Receipt
from ..services import delivery


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
        "own_words",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "bounce_code",
        "last_error_short",
    ]
    list_filter = ["status", "bounce_code", "signature__campaign", "official"]
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


@admin.register(Digest)
class DigestAdmin(OutboxAdmin):
    list_display = [
        "__str__",
        "campaign",
        "new_signatures",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "bounce_code",
        "last_error_short",
    ]
    list_filter = ["status", "bounce_code", "campaign", "official"]
    search_fields = ["official__name", "subject"]
    list_select_related = ["campaign", "official"]


@admin.register(Receipt)
class ReceiptAdmin(OutboxAdmin):
    list_display = [
        "__str__",
        "kind",
        "status",
        "attempts",
        "sent_at",
        "last_error_short",
        "created_at",
    ]
    list_filter = ["kind", "status", "signature__campaign"]
    search_fields = ["signature__full_name", "signature__email"]
    list_select_related = ["signature"]
