"""Writes about consent: a new consent wording (never an edit of an old one)."""

from django.db import transaction
from django.db.models import Max

from campaign import privacy
from campaign.models import ConsentText


def consent_text_create(*, text: str) -> ConsentText:
    """Add the next version of the consent wording; the sign form shows it from
    now on. The unique version settles two organisers saving at once."""
    with transaction.atomic():
        latest = ConsentText.objects.aggregate(n=Max("version"))["n"] or 0
        consent = ConsentText.objects.create(version=latest + 1, text=text.strip())
        transaction.on_commit(privacy.consent_text_forget)
    return consent
