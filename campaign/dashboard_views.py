"""The organiser's dashboard of one campaign (README "The organiser's dashboard").
Parsing and permission only: the numbers are dashboard_data.py, the charts
dashboard_charts.py."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from .dashboard_charts import dashboard_charts, summary
from .dashboard_data import dashboard_data
from .export_filters import can_export
from .models import Campaign

MAX_DAYS = 3660  # a chart of more days than this is no use to anyone


class DateRangeForm(forms.Form):
    since = forms.DateField(
        label="From",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    until = forms.DateField(
        label="To",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” must not be after “To”.")
        if since and until and until - since > timedelta(days=MAX_DAYS):
            raise forms.ValidationError("Choose at most ten years.")
        return cleaned


@never_cache
def campaign_dashboard(request, pk: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    # Who may export signatures may see them counted (staff, view_signature).
    if not can_export(request.user):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    form = DateRangeForm(request.GET)
    status = 200
    if form.is_valid():
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    else:
        since = until = None
        status = 400
    data = dashboard_data(campaign=campaign, since=since, until=until)
    charts = dashboard_charts(
        data,
        goal=campaign.signature_goal,
        min_words=settings.PERSONAL_LETTER_MIN_WORDS,
    )
    context = {
        **admin.site.each_context(request),
        "title": f"Dashboard: {campaign.title}",
        "campaign": campaign,
        "opts": Campaign._meta,
        "form": form,
        "data": data,
        "charts": charts,
        "summary": summary(data, goal=campaign.signature_goal),
        "specs": [chart.spec() for chart in charts],
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
        "time_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(
        request, "admin/campaign/campaign/dashboard.html", context, status=status
    )
