"""Retention: how long supporters' data is kept, applied in small steps.

Daily, by beat (campaign.tasks.retention_task) and on demand by
`manage.py apply_retention`. Each step is one short transaction over at most
`batch_size` signatures, so a million-signature campaign never holds one long
transaction or locks signing elsewhere; the task re-queues itself after each
step that did something, so no task runs into CELERY_TASK_TIME_LIMIT.

1. Campaigns get `closed_at`: their closing date once it has passed, or the
   moment their status is found Closed (campaigns_record_closing).
2. Pending signatures whose confirmation link has expired are deleted, with
   their confirmation emails.
3. SIGNER_DATA_RETENTION_DAYS after `closed_at`, unless the campaign's "keep
   supporters' data until" date is still ahead, its supporters are anonymised
   (campaign/services/anonymising.py), and then its digests' bodies, which name
   supporters, are removed.
Every step is idempotent: a second run finds nothing to do.
"""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from campaign.models import Campaign, Digest, OutboxStatus, Signature
from campaign.services.anonymising import signatures_anonymise

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


def campaigns_record_closing(*, now: datetime, campaign_ids=None) -> int:
    """Set `closed_at` on campaigns that have closed, and clear it on one that
    was reopened (Live again, closing date ahead). Returns how many closed."""
    campaigns = Campaign.objects.all()
    if campaign_ids is not None:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    unrecorded = campaigns.filter(closed_at__isnull=True)
    closed = (
        unrecorded.filter(closes_at__lte=now)
        .exclude(status=Campaign.Status.DRAFT)
        .update(closed_at=F("closes_at"))
    )
    closed += unrecorded.filter(status=Campaign.Status.CLOSED).update(closed_at=now)
    campaigns.filter(closed_at__isnull=False, status=Campaign.Status.LIVE).filter(
        Q(closes_at__isnull=True) | Q(closes_at__gt=now)
    ).update(closed_at=None)
    return closed


def campaign_closing_record(*, campaign: Campaign) -> None:
    """The admin saved a campaign: record (or clear) its closing at once."""
    campaigns_record_closing(now=timezone.now(), campaign_ids=[campaign.pk])
    campaign.refresh_from_db(fields=["closed_at"])


def signatures_expired_pending(*, now: datetime) -> QuerySet[Signature]:
    cutoff = now - timedelta(days=settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS)
    return Signature.objects.filter(
        status=Signature.Status.PENDING, token_created_at__lt=cutoff
    )


def campaigns_due_for_anonymising(*, now: datetime) -> QuerySet[Campaign]:
    cutoff = now - timedelta(days=settings.SIGNER_DATA_RETENTION_DAYS)
    return (
        Campaign.objects.filter(closed_at__lte=cutoff)
        .filter(
            Q(keep_data_until__isnull=True)
            | Q(keep_data_until__lt=timezone.localdate(now))
        )
        .filter(
            Exists(
                Signature.objects.filter(
                    campaign_id=OuterRef("pk"), anonymised_at__isnull=True
                )
            )
        )
        .order_by("closed_at", "pk")
    )


@dataclass
class RetentionStep:
    closed: int = 0  # campaigns whose closing was recorded
    deleted: int = 0  # expired pending signatures
    anonymised: int = 0  # signatures

    @property
    def changed(self) -> bool:
        return bool(self.closed or self.deleted or self.anonymised)

    def counts(self) -> dict[str, int]:
        return asdict(self)


def _expired_pending_delete(*, now: datetime, batch_size: int) -> int:
    with transaction.atomic():
        ids = list(
            signatures_expired_pending(now=now)
            # A row someone is confirming or re-signing right now: next time.
            .select_for_update(skip_locked=True)
            .order_by("token_created_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        # Cascades to their ConfirmationEmail rows (pending signatures have no
        # letters). The filter is repeated so nothing else is ever deleted.
        signatures_expired_pending(now=now).filter(pk__in=ids).delete()
    return len(ids)


def _campaign_anonymise_batch(*, campaign: Campaign, batch_size: int) -> int:
    left = Signature.objects.filter(campaign=campaign, anonymised_at__isnull=True)
    ids = list(left.order_by("pk").values_list("pk", flat=True)[:batch_size])
    anonymised = signatures_anonymise(signature_ids=ids)
    if not left.exists():  # that was the campaign's last batch
        # Digests list supporters by name: once all are anonymised, their bodies
        # go too (counts and delivery outcomes stay on the rows).
        Digest.objects.filter(campaign=campaign).exclude(
            status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
        ).exclude(body="").update(body="")
    return anonymised


def retention_step(*, now: datetime | None = None, batch_size: int = BATCH_SIZE):
    """One batch of whatever retention has left to do; RetentionStep().changed is
    False when there is nothing left."""
    now = now or timezone.now()
    step = RetentionStep(closed=campaigns_record_closing(now=now))
    step.deleted = _expired_pending_delete(now=now, batch_size=batch_size)
    if not step.deleted:
        campaign = campaigns_due_for_anonymising(now=now).first()
        if campaign is not None:
            step.anonymised = _campaign_anonymise_batch(
                campaign=campaign, batch_size=batch_size
            )
            if not step.anonymised:
                # Every row left is locked by someone else right now: stop here
                # rather than spin; the next daily run takes them.
                return step
            logger.info(
                "retention: %s signatures anonymised (campaign %s)",
                *(step.anonymised, campaign.pk),
                extra={"campaign_id": campaign.pk, "anonymised": step.anonymised},
            )
    if step.deleted:
        logger.info(
            "retention: %s expired pending signatures deleted",
            step.deleted,
            extra={"deleted": step.deleted},
        )
    return step


@dataclass
class RetentionDue:
    pending: int
    anonymise: int

    @property
    def total(self) -> int:
        return self.pending + self.anonymise


def retention_due(*, now: datetime) -> RetentionDue:
    """What a full run will do (the command's progress bar), once the closings
    are recorded (campaigns_record_closing)."""
    due = campaigns_due_for_anonymising(now=now)
    return RetentionDue(
        pending=signatures_expired_pending(now=now).count(),
        anonymise=Signature.objects.filter(
            campaign__in=due, anonymised_at__isnull=True
        ).count(),
    )
