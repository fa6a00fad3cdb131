"""Which signatures an export holds, and who may export: the filters every entry
point (admin, staff URL, command) accepts, parsed once. The writing is exports.py."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.utils import timezone

from .models import Campaign, Signature

STATUS_CHOICES = [
    ("confirmed", "Confirmed signatures"),
    ("pending", "Pending confirmation"),
    ("all", "All signatures"),
]


def can_export(user) -> bool:
    """Staff who may view signatures: the URL, the admin action and the button."""
    return bool(
        user.is_active and user.is_staff and user.has_perm("campaign.view_signature")
    )


class ExportFilterForm(forms.Form):
    """The filters every entry point accepts (query string or command options)."""

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    since = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        help_text="First day included (site time zone).",
    )
    until = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        help_text="Last day included (site time zone).",
    )
    # A hidden input hands BooleanField the raw string, so "0"/"false" mean no
    # (a checkbox widget would call any non-empty value yes).
    excel = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_status(self) -> str:
        return self.cleaned_data["status"] or "confirmed"

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("'since' must not be after 'until'.")
        return cleaned

    def error_text(self) -> str:
        """One line per problem, for a plain-text 400 or a CommandError."""
        lines = []
        for field, errors in self.errors.items():
            prefix = "" if field == NON_FIELD_ERRORS else f"{field}: "
            lines.extend(f"{prefix}{error}" for error in errors)
        return "\n".join(lines)

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data["status"],
            "since": data["since"],
            "until": data["until"],
        }


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def signatures_for_export(
    *,
    campaign: Campaign,
    status: str = "confirmed",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Signature]:
    """A campaign's signatures filtered by status and signing day (inclusive days
    in the site time zone, as ranges on created_at so the index applies)."""
    signatures = Signature.objects.filter(campaign=campaign)
    if status != "all":
        signatures = signatures.filter(status=status)
    if since:
        signatures = signatures.filter(created_at__gte=_local_midnight(since))
    if until:
        next_day = _local_midnight(until + timedelta(days=1))
        signatures = signatures.filter(created_at__lt=next_day)
    return signatures
