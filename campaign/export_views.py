"""The staff-only CSV export URL. Parsing and permission checks only: the export
itself is campaign/exports.py, shared with the admin and the command."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404

from . import export_filters, exports
from .models import Campaign


@login_required
def signatures_csv(request, slug: str):
    # Permission before the lookup: outsiders can't probe which slugs exist.
    if not export_filters.can_export(request.user):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, slug=slug)
    form = export_filters.ExportFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            form.error_text(), content_type="text/plain; charset=utf-8"
        )
    filters = form.filters()
    excel = form.cleaned_data["excel"]
    return exports.signature_csv_response(
        signatures=export_filters.signatures_for_export(campaign=campaign, **filters),
        filename=exports.export_filename(
            label=campaign.slug, status=filters["status"], excel=excel
        ),
        excel=excel,
    )
