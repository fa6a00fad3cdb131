"""Ada, the supporter the signing tests sign as, through the real service."""

from datetime import timedelta

from django.utils import timezone

from campaign.models import Signature
from campaign.services.signing import campaign_sign


def sign(campaign, **overrides) -> Signature:
    data = {
        "campaign": campaign,
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "town": "Marylebone",
        "personal_paragraph": "Libraries taught me to read.",
        "consent_to_send": True,
    }
    return campaign_sign(**{**data, **overrides})


def age_confirmation_emails(signature, *, minutes: int) -> None:
    signature.confirmation_emails.update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
