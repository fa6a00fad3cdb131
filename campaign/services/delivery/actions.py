"""The organiser's actions on outbox rows (admin): retry and cancel."""

from django.db import transaction
from django.utils import timezone

from campaign.models import OutboxMessage, OutboxStatus
from campaign.services.letter_counts import outbox_rows_update

from .queueing import enqueue
from .registry import outbox_for


def outbox_retry(*, model: type[OutboxMessage], ids: list[int]) -> int:
    """Failed → pending with a fresh attempt budget, queued after commit.
    Returns how many rows were failed (others are left alone)."""
    outbox = outbox_for(model)
    now = timezone.now()
    with transaction.atomic():
        retry_ids = list(
            model.objects.select_for_update()
            .filter(pk__in=ids, status=OutboxStatus.FAILED)
            .values_list("pk", flat=True)
        )
        outbox_rows_update(
            rows=model.objects.filter(pk__in=retry_ids),
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_at=None,
            updated_at=now,
        )
        if retry_ids:
            transaction.on_commit(lambda: enqueue(outbox, retry_ids))
    return len(retry_ids)


def outbox_cancel(*, model: type[OutboxMessage], ids: list[int]) -> int:
    """Pending or failed → cancelled: never sent. A row being sent right now
    cannot be stopped and is left alone. Returns how many were cancelled."""
    return outbox_rows_update(
        rows=model.objects.filter(
            pk__in=ids, status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]
        ),
        status=OutboxStatus.CANCELLED,
        updated_at=timezone.now(),
    )
