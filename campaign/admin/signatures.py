"""Signatures: read-mostly (supporters sign through the site), exportable."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse

from .. import export_filters, exports
from ..models import Signature
from ..services.privacy import person_erase, person_signatures
from ..validators import normalise_email
from .vetting import HandinFilter, LooksFakeFilter, VettingActions


@admin.register(Signature)
class SignatureAdmin(VettingActions, admin.ModelAdmin):
    list_display = [
        "full_name",
        "email",
        "campaign",
        "status",
        "created_at",
        "confirmed_at",
        "handin_exclusion_reason",
    ]
    list_filter = [
        "status",
        "campaign",
        LooksFakeFilter,
        HandinFilter,
        "created_at",
        "confirmed_at",
        "keep_updated",
    ]
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
        "handin_excluded_at",
        "handin_exclusion_reason",
        # Campaigns by postcode: fixed at signing (campaign/areas.py).
        "area",
        "representative",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on millions of rows per page view

    actions = [
        "export_selected_csv",
        "exclude_from_handin",
        "include_in_handin",
        "erase_person",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # supporters sign through the site, which emails them

    def get_search_results(self, request, queryset, search_term):
        """An email address also finds the same person's other spellings
        (case, +tags, Gmail dots), on every campaign: an access or erasure
        request names one address."""
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        if "@" in term and " " not in term:
            results |= queryset.filter(email_normalised=normalise_email(term))
        return results, may_have_duplicates

    @admin.action(
        description="Erase this person's data (all their signatures, every campaign)",
        permissions=["delete"],
    )
    def erase_person(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if request.POST.get("confirmed") == "yes":
            record = person_erase(signature_ids=ids, erased_by=request.user)
            self.message_user(
                request,
                f"Erased: {record.signatures} signature(s) on {record.campaigns} "
                "campaign(s) anonymised, unsent letters cancelled. Recorded under "
                "“Erasure records”.",
            )
            return None
        found = person_signatures(signature_ids=ids)
        per_campaign = (
            found.values("campaign__title").annotate(n=Count("pk")).order_by()
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase this person's data?",
            "opts": self.model._meta,
            "selected": ids,
            "per_campaign": sorted(
                (row["campaign__title"], row["n"]) for row in per_campaign
            ),
            "total": sum(row["n"] for row in per_campaign),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/campaign/signature/erase_confirmation.html", context
        )

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
