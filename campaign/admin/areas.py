"""Areas, postcode datasets and officials' spreadsheets: what a campaign by
postcode needs (how organisers use them: docs/organiser.md)."""

from django.contrib import admin
from import_export.admin import ImportExportMixin

from .. import official_pages
from ..models import Area, AreaTargeting, PostcodeDataset
from ..resources import AreaResource


class WithRequest(ImportExportMixin):
    """Import-export whose resources tell the organiser through messages."""

    def get_import_resource_kwargs(self, request, **kwargs):
        return {
            **super().get_import_resource_kwargs(request, **kwargs),
            "request": request,
        }


class AreaTargetingInline(admin.StackedInline):
    """On the campaign's page (campaigns.py)."""

    model = AreaTargeting
    fields = ["dataset", "delivery_mode", "send_days", "send_from", "send_until"]
    extra = 0
    max_num = 1
    verbose_name = "by postcode: also write to each supporter's own representative"
    verbose_name_plural = verbose_name


@admin.action(
    description="Revoke the representatives' page links (campaigns by postcode)",
    permissions=["change"],
)
def revoke_area_page_links(modeladmin, request, queryset):
    """A campaign action (campaigns.py)."""
    ids = list(queryset.values_list("pk", flat=True))
    revoked = official_pages.area_links_revoke(campaign_ids=ids)
    modeladmin.message_user(
        request,
        f"Links revoked for {revoked} campaign(s) by postcode: old links now "
        "show “not found”; the next digests carry new ones.",
    )


@admin.register(Area)
class AreaAdmin(WithRequest, admin.ModelAdmin):
    resource_classes = [AreaResource]
    list_display = ["name", "code", "official"]
    search_fields = ["name", "code", "official__name"]
    list_select_related = ["official"]
    autocomplete_fields = ["official"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(PostcodeDataset)
class PostcodeDatasetAdmin(admin.ModelAdmin):
    """Read only: datasets are loaded with `manage.py import_postcodes`, whose
    swap keeps lookups working; a campaign by postcode names one."""

    list_display = ["name", "version", "postcodes", "finest_level", "imported_at"]
    readonly_fields = [
        "name",
        "version",
        "generation",
        "finest_level",
        "postcodes",
        "imported_at",
    ]
    search_fields = ["name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # millions of rows; see docs/organiser.md
