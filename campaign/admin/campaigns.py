"""Officials, campaigns and their targets: what organisers set up."""

from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import dashboard_views, official_pages
from ..models import (
    AreaTargeting,
    Campaign,
    CampaignTarget,
    Letter,
    LetterStatus,
    Official,
)
from ..resources import OfficialResource
from ..services.failing import officials_failing_clear
from ..services.pages import campaign_pages_invalidate
from ..services.retention import campaign_closing_record
from ..services.routing import area_letters_reroute, target_letters_reroute
from .areas import AreaTargetingInline, WithRequest, revoke_area_page_links
from .handin import handin_build_view
from .pages import RefreshesCampaignPages
from .replies import ResponseRatesMixin


class FailingFilter(admin.SimpleListFilter):
    title = "address failing"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("yes", "Failing (letters held)"), ("no", "Not failing")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(failing_since__isnull=self.value() == "no")
        return queryset


@admin.register(Official)
class OfficialAdmin(
    WithRequest, RefreshesCampaignPages, ResponseRatesMixin, admin.ModelAdmin
):
    resource_classes = [OfficialResource]
    list_display = [
        "name",
        "position",
        "organisation",
        "email",
        "is_active",
        "failing_since",
    ]
    list_filter = ["is_active", FailingFilter, "organisation"]
    search_fields = ["name", "position", "email", "organisation", "external_id"]
    readonly_fields = ["failing_since", "created_at", "updated_at", "response_rates"]
    actions = ["clear_failing"]

    @admin.action(
        description="Clear the failing flag and release held letters",
        permissions=["change"],
    )
    def clear_failing(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        cleared, released = officials_failing_clear(official_ids=ids)
        self.message_user(
            request,
            f"{cleared} official(s) no longer flagged failing; {released} held "
            "letter(s) released.",
            messages.SUCCESS if cleared else messages.WARNING,
        )

    def pages_invalidate(self, pks: list[int]) -> None:
        campaign_pages_invalidate(official_ids=pks)


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
class CampaignAdmin(RefreshesCampaignPages, ResponseRatesMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "status",
        "signature_goal",
        "opens_at",
        "closes_at",
        "deliveries",
        "dashboard_link",
    ]
    list_filter = ["status", "opens_at", "closes_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "created_at",
        "updated_at",
        "closed_at",
        "deliveries",
        "failing_officials",
        "response_rates",
    ]
    exclude = ["targets"]
    inlines = [TargetInline, AreaTargetingInline]
    actions = [revoke_area_page_links]

    def get_changelist(self, request, **kwargs):
        return CampaignChangeList

    def pages_invalidate(self, pks: list[int]) -> None:
        # Its targets are inlines, saved in the same transaction: covered too.
        campaign_pages_invalidate(campaign_ids=pks)

    def get_urls(self):
        # The view checks login and permission itself (dashboard_views.py): a
        # logged-in organiser without the permission gets a 403, not a login form.
        dashboard = path(
            "<int:pk>/dashboard/",
            dashboard_views.campaign_dashboard,
            name="campaign_campaign_dashboard",
        )
        handin_build = path(
            "<int:pk>/handin/",
            self.admin_site.admin_view(partial(handin_build_view, self)),
            name="campaign_campaign_handin",
        )
        return [dashboard, handin_build, *super().get_urls()]

    @admin.display(description="dashboard")
    def dashboard_link(self, obj) -> str:
        url = reverse("admin:campaign_campaign_dashboard", args=[obj.pk])
        return format_html('<a href="{}">Dashboard</a>', url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Retention counts from closed_at: a status change records it now.
        campaign_closing_record(campaign=obj)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is AreaTargeting:
            for targeting, fields in formset.changed_objects:
                if "delivery_mode" in fields:
                    area_letters_reroute(targeting=targeting)
            return
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

    @admin.display(description="officials whose address is failing")
    def failing_officials(self, obj) -> str:
        failing = obj.targets.filter(failing_since__isnull=False) if obj.pk else []
        if not failing:
            return "None"
        return format_html_join(
            "<br>",
            "<strong>{}</strong>: bounced 3 times in a row since {}; new letters "
            'are held. <a href="{}">Correct the address, then clear the flag</a>.',
            (
                (
                    official,
                    timezone.localtime(official.failing_since).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    reverse("admin:campaign_official_change", args=[official.pk]),
                )
                for official in failing
            ),
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
