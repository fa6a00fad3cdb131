from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from letters.models import LetterTemplate

from . import exports, official_pages
from .letter_template_admin import CampaignLetterTemplateAdmin
from .models import (
    Campaign,
    CampaignTarget,
    ConfirmationEmail,
    Digest,
    Letter,
    LetterStatus,
    Official,
    Signature,
)
from .services import delivery
from .services.routing import target_letters_reroute


@admin.register(Official)
class OfficialAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "organisation", "email", "is_active"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name", "position", "email", "organisation"]
    readonly_fields = ["created_at", "updated_at"]


class TargetInline(admin.TabularInline):
    model = CampaignTarget
    fields = ["official", "delivery_mode", "page_link"]
    readonly_fields = ["page_link"]
    extra = 1
    autocomplete_fields = ["official"]

    @admin.display(description="official's page")
    def page_link(self, obj) -> str:
        return _page_link(obj)


def _page_link(target: CampaignTarget) -> str:
    if target.pk is None:
        return "–"
    url = official_pages.official_page_url(target=target)
    return format_html('<a href="{}" target="_blank" rel="noopener">Open</a>', url)


@admin.register(CampaignTarget)
class CampaignTargetAdmin(admin.ModelAdmin):
    """Targets across campaigns: their delivery modes and the links to the
    officials' pages (set modes on the campaign's own page)."""

    list_display = ["official", "campaign", "delivery_mode", "page_link"]
    list_filter = ["delivery_mode", "campaign"]
    search_fields = ["official__name", "campaign__title"]
    list_select_related = ["official", "campaign"]
    readonly_fields = ["campaign", "official", "delivery_mode", "page_link"]
    actions = ["revoke_page_links"]

    def has_add_permission(self, request) -> bool:
        return False  # targets are added on the campaign's page

    @admin.display(description="official's page")
    def page_link(self, obj) -> str:
        return _page_link(obj)

    @admin.action(
        description="Revoke the official's page links (new ones replace them)",
        permissions=["change"],
    )
    def revoke_page_links(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        revoked = official_pages.target_links_revoke(target_ids=ids)
        self.message_user(
            request,
            f"{revoked} link(s) revoked: old links now show “not found”. The "
            "new link is in the list.",
        )


def _letter_counts(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """{campaign id: {delivery status: letters}} in one GROUP BY query."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    rows = (
        Letter.objects.filter(signature__campaign_id__in=campaign_ids)
        .values_list("signature__campaign_id", "status")
        .annotate(letters=Count("pk"))
        .order_by()
    )
    for campaign_id, status, letters in rows:
        counts[campaign_id][status] = letters
    return counts


class CampaignChangeList(ChangeList):
    def get_results(self, request) -> None:
        # Counted for the campaigns on this page only, once they are known: in
        # get_queryset the aggregate would also run for the change page, the
        # delete page and every action.
        super().get_results(request)
        page = list(self.result_list)  # evaluated once; the template reuses it
        counts = _letter_counts([campaign.pk for campaign in page])
        for campaign in page:
            campaign.letter_counts = counts[campaign.pk]


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
    exclude = ["targets"]
    inlines = [TargetInline]

    def get_changelist(self, request, **kwargs):
        return CampaignChangeList

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not CampaignTarget:
            return
        # A changed mode applies to the letters not sent yet (routing service).
        changed = [
            obj for obj, fields in formset.changed_objects if "delivery_mode" in fields
        ]
        for target in changed:
            moved = target_letters_reroute(target=target)
            if moved:
                self.message_user(
                    request,
                    f"{len(moved)} waiting letter(s) to {target.official.name} "
                    "will now be sent on their own.",
                )

    @admin.display(description="letters by delivery status")
    def deliveries(self, obj) -> str:
        letter_counts = getattr(obj, "letter_counts", None)
        if letter_counts is None:  # the change page: this campaign alone
            letter_counts = _letter_counts([obj.pk])[obj.pk] if obj.pk else {}
        url = reverse("admin:campaign_letter_changelist")
        counts = [
            (url, obj.pk, status, label, letter_counts.get(status, 0))
            for status, label in LetterStatus.choices
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
    # Signing and confirming are services (a confirmation email, letters, the
    # cached count); the admin may correct what a supporter typed, no more.
    readonly_fields = [
        "campaign",
        "status",
        "email_normalised",
        "token_created_at",
        "created_at",
        "confirmed_at",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on millions of rows per page view

    actions = ["export_selected_csv"]

    def has_add_permission(self, request) -> bool:
        return False  # supporters sign through the site, which emails them

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
        "own_words",
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
        "last_error_short",
    ]
    list_filter = ["status", "campaign", "official"]
    search_fields = ["official__name", "subject"]
    list_select_related = ["campaign", "official"]


# Letter templates with their previews and test letters, which need campaigns:
# in place of letters' own admin (see letter_template_admin.py).
admin.site.unregister(LetterTemplate)
admin.site.register(LetterTemplate, CampaignLetterTemplateAdmin)
