"""The sweeper (a beat task): re-queues pending rows whose queue message was lost
(broker restarted or down at commit time), throttled letters whose slot was too
far off for a countdown (see policy.countdown), and rows stuck in "sending"
after a worker died."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.models import OutboxMessage, OutboxStatus
from campaign.services.letter_counts import outbox_rows_update

from .policy import max_attempts
from .queueing import enqueue
from .registry import OUTBOXES, Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox


def _lost(model: type[OutboxMessage], grace: datetime, batch: int) -> list[int]:
    """Pending rows due since before `grace`, oldest first: a row is due at
    next_attempt_at, or at created_at if it was never tried. Two queries, one
    per case, each a range scan of an index (see campaign.models.outbox_indexes);
    a COALESCE of the two could use none."""
    # skip_locked: two overlapping sweeps (a slow one and the next beat) take
    # different rows instead of queueing each twice.
    pending = model.objects.select_for_update(skip_locked=True).filter(
        status=OutboxStatus.PENDING
    )
    retried = pending.filter(next_attempt_at__lte=grace).order_by("next_attempt_at")
    untried = pending.filter(
        next_attempt_at__isnull=True, created_at__lte=grace
    ).order_by("created_at")
    due = [
        *retried.values_list("next_attempt_at", "pk")[:batch],
        *untried.values_list("created_at", "pk")[:batch],
    ]
    return [pk for _, pk in sorted(due)[:batch]]


def _sweep_one(outbox: Outbox, now: datetime) -> dict[str, int]:
    model, batch = outbox.model, settings.DELIVERY_SWEEP_BATCH
    grace = now - timedelta(seconds=settings.DELIVERY_SWEEP_GRACE_SECONDS)
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        lost = _lost(model, grace, batch)
        stuck = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.SENDING, claimed_at__lte=stuck_before)
            .order_by("claimed_at")
            .values_list("pk", flat=True)[:batch]
        )
        # A row that keeps killing its worker must not loop forever.
        given_up = outbox_rows_update(
            rows=model.objects.filter(pk__in=stuck, attempts__gte=max_attempts()),
            status=OutboxStatus.FAILED,
            last_error="Gave up: the worker was lost while sending, every attempt.",
            updated_at=now,
        )
        outbox_rows_update(
            rows=model.objects.filter(pk__in=stuck, status=OutboxStatus.SENDING),
            status=OutboxStatus.PENDING,
            next_attempt_at=now,
            last_error="The worker was lost while sending; queued again.",
            updated_at=now,
        )
        requeue = lost + list(
            model.objects.filter(pk__in=stuck, status=OutboxStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        # Due again from now: the next sweep gives these messages a full grace
        # period before queueing the same rows once more.
        model.objects.filter(pk__in=lost).update(next_attempt_at=now, updated_at=now)
        if requeue:
            transaction.on_commit(lambda: enqueue(outbox, requeue))
    return {"requeued": len(requeue), "unstuck": len(stuck) - given_up}


def outbox_sweep() -> dict[str, dict[str, int]]:
    """Re-queue what the queue lost: pending rows due for longer than
    DELIVERY_SWEEP_GRACE_SECONDS, and rows "sending" for longer than
    DELIVERY_STUCK_AFTER_SECONDS (their worker died). At most
    DELIVERY_SWEEP_BATCH rows of each kind per run. Run by beat."""
    now = timezone.now()
    counts = {outbox.label: _sweep_one(outbox, now) for outbox in OUTBOXES}
    if any(c["requeued"] for c in counts.values()):
        logger.info("Sweeper re-queued %s", counts)
    return counts
