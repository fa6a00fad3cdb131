"""The emails a supporter gets when they sign (campaign/services/signing.py):
built (rendered, unsaved) apart from written to the outbox, so a first signing
renders its email before its transaction opens."""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from campaign.models import ConfirmationEmail, Signature
from campaign.services import delivery


def confirmation_email_build(*, signature: Signature, kind: str) -> ConfirmationEmail:
    """The outbox row for an email to the supporter, unsaved.

    The link is built from settings.SITE_URL here, in the web process, and stored
    in the row: the worker only sends stored text.
    """
    campaign = signature.campaign
    context = {
        "signature": signature,
        "campaign": campaign,
        "site_name": settings.SITE_NAME,
        "confirm_url": settings.SITE_URL
        + reverse("campaign:confirm", args=[signature.token]),
        "campaign_url": settings.SITE_URL
        + reverse("campaign:detail", args=[campaign.slug]),
        "max_age_days": settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS,
    }
    subject = render_to_string(f"emails/{kind}_subject.txt", context)
    return ConfirmationEmail(
        signature=signature,
        # One line whatever the template's whitespace: it becomes a header.
        subject=" ".join(subject.split())[:255],
        body=render_to_string(f"emails/{kind}_body.txt", context).strip() + "\n",
    )


def confirmation_email_queue(row: ConfirmationEmail) -> ConfirmationEmail:
    """Write the outbox row and enqueue it on commit."""
    row.save(force_insert=True)
    # robust: the row is committed; if the broker is down, the sweeper re-queues
    # it, and the supporter must not see an error page for it.
    transaction.on_commit(
        lambda: delivery.confirmation_enqueue(confirmation_id=row.pk), robust=True
    )
    return row
