"""Ada, the supporter the signing tests sign as, through the real service."""

from datetime import timedelta

from django.core.mail import EmailMessage
from django.utils import timezone

from campaign.emails import confirmation_message
from campaign.models import ConfirmationEmail, Signature
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


def as_sent(row: ConfirmationEmail) -> EmailMessage:
    """The email the worker would send for this row now (a signing's is rendered
    when sent), loaded as the outbox loads it."""
    row = ConfirmationEmail.objects.select_related("signature__campaign").get(pk=row.pk)
    return confirmation_message(row)
