"""Campaign updates: supporters in bulk, and a draft update."""

import pytest
from django.utils import timezone

from campaign.models import Signature
from campaign.services.updates import update_create
from tests.factories import bulk_signatures


def supporters(campaign, count: int, *, prefix: str = "fan", **fields):
    """`count` confirmed signatures (opted in to updates unless told), one INSERT."""
    fields = {
        "status": Signature.Status.CONFIRMED,
        "confirmed_at": timezone.now(),
        "keep_updated": True,
        **fields,
    }
    rows = bulk_signatures(campaign, count, **fields)
    # bulk_signatures numbers addresses from 0 on every call: make them unique.
    for row in rows:
        row.email = row.email_normalised = f"{prefix}-{row.pk}@example.com"
        row.full_name = f"{prefix.title()} {row.pk}"
    Signature.objects.bulk_update(rows, ["email", "email_normalised", "full_name"])
    return rows


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # Every copy due at once unless a test is about pacing.
    settings.UPDATE_SEND_RATE_PER_MINUTE = 0


def draft(campaign, **fields):
    return update_create(
        campaign=campaign,
        subject=fields.pop("subject", "News from {{ campaign.title }}"),
        body=fields.pop(
            "body",
            "Dear {{ signer.name }},\n\n{{ campaign.signatures }} people signed. "
            "The minister replied.",
        ),
        **fields,
    )
