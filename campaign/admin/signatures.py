"""Signatures: read-mostly (supporters sign through the site), exportable."""

from django.contrib import admin

from .. import export_filters, exports
from ..models import Signature


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
        "consent_text",
        "consented_at",
        "client_ip_hash",
        "anonymised_at",
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
        return export_filters.can_export(request.user)
