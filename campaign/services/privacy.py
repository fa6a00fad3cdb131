"""Writes about supporters' privacy: a new consent wording (never an edit of an
old one), and an organiser erasing one person's data across campaigns."""

import logging

from django.db import transaction
from django.db.models import Max

from campaign import privacy
from campaign.models import Campaign, ConsentText, ErasureRecord, Signature
from campaign.services.anonymising import signature_withdraw
from campaign.services.pages import campaign_pages_invalidate

logger = logging.getLogger(__name__)


def consent_text_create(*, text: str) -> ConsentText:
    """Add the next version of the consent wording; the sign form shows it from
    now on. The unique version settles two organisers saving at once."""
    with transaction.atomic():
        latest = ConsentText.objects.aggregate(n=Max("version"))["n"] or 0
        consent = ConsentText.objects.create(version=latest + 1, text=text.strip())
        transaction.on_commit(privacy.consent_text_forget)
        # Every cached campaign page shows the wording beside its sign button.
        campaign_pages_invalidate(
            campaign_ids=Campaign.objects.values_list("pk", flat=True)
        )
    return consent


def person_signatures(*, signature_ids: list[int]):
    """Every signature, on any campaign, by the people who made these: the same
    normalised address (case, +tags and Gmail dots ignored)."""
    keys = Signature.objects.filter(pk__in=signature_ids).values("email_normalised")
    return Signature.objects.filter(email_normalised__in=keys)


def person_erase(*, signature_ids: list[int], erased_by) -> ErasureRecord:
    """An organiser's "erase this person's data": each of their signatures on
    every campaign is withdrawn as if by their own link (anonymised, unsent
    letters cancelled, no longer counted), and one audit entry says who did it,
    when and how much, without any of the erased data."""
    with transaction.atomic():
        signatures = list(
            person_signatures(signature_ids=signature_ids)
            .select_related("campaign")
            .order_by("pk")
        )
        for signature in signatures:
            signature_withdraw(signature_id=signature.pk)
        slugs = sorted({signature.campaign.slug for signature in signatures})
        record = ErasureRecord.objects.create(
            erased_by=erased_by,
            signatures=len(signatures),
            campaigns=len(slugs),
            campaign_slugs=", ".join(slugs),
        )
    logger.info(
        "erasure %s: %s signatures by user %s",
        *(record.pk, record.signatures, getattr(erased_by, "pk", None)),
        extra={"erasure_id": record.pk, "signatures": record.signatures},
    )
    return record
