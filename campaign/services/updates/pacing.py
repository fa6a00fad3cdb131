"""Handing an update's copies to the worker as they fall due.

Each copy's moment is fixed when the rows are written (sending.py: the start
plus its place in line at UPDATE_SEND_RATE_PER_MINUTE). Here, at the start, on
resume and then every sweep interval (beat), the copies due within the next
QUEUE_AHEAD are published in small batches, each with the countdown that makes
it arrive when its last copy is due. `Update.queued_until` remembers how far an
update has been handed out, so no copy is published twice by this; a message
the broker loses is the sweeper's, as for every outbox row.
"""

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.models import Update, UpdateEmail, UpdateEmailStatus
from campaign.services.delivery import update_emails_enqueue

# How far ahead copies are published: a few beats, so a late beat never leaves
# the worker idle, and far below the countdown bound (policy.countdown).
QUEUE_AHEAD = timedelta(minutes=3)
# A batch covers at most this much of the schedule (and DELIVERY_BATCH_SIZE
# copies): at a low rate, a full batch would hold its first copy back for
# minutes. Read from the rows' own times, so whichever process paces an update
# batches it the same way.
BATCH_SPAN = timedelta(seconds=2)


def batches(
    due: list[tuple[int, datetime]], *, now: datetime, size: int
) -> list[tuple[float, list[int]]]:
    """(countdown, ids) per batch of copies in schedule order: at most `size`,
    spanning at most BATCH_SPAN; each runs when its last copy is due (the claim
    takes no copy before its moment)."""
    out: list[tuple[float, list[int]]] = []
    ids: list[int] = []
    first = last = None
    for pk, at in due:
        if ids and (len(ids) >= size or at - first > BATCH_SPAN):
            out.append((max((last - now).total_seconds(), 0.0), ids))
            ids = []
        if not ids:
            first = at
        ids.append(pk)
        last = at
    if ids:
        out.append((max((last - now).total_seconds(), 0.0), ids))
    return out


def _publish(update_id: int, after: datetime | None, until: datetime) -> int:
    """Publish the update's pending copies due in (after, until]. The ids are
    read from a server-side cursor and published once the reading transaction
    commits (never to the broker from inside one: a test's rolled-back rows, or
    a failed read, publish nothing)."""
    size = max(settings.DELIVERY_BATCH_SIZE, 1)
    rows = UpdateEmail.objects.filter(
        update_id=update_id,
        status=UpdateEmailStatus.PENDING,
        next_attempt_at__lte=until,
    )
    if after is not None:
        rows = rows.filter(next_attempt_at__gt=after)
    rows = rows.order_by("next_attempt_at", "pk").values_list("pk", "next_attempt_at")
    with transaction.atomic():  # a named cursor lives in a transaction
        due = list(rows.iterator(chunk_size=CHUNK))
        planned = batches(due, now=timezone.now(), size=size)
        transaction.on_commit(partial(_enqueue, planned, size))
    return len(due)


# Copies read from the cursor at a time.
CHUNK = 5000


def _enqueue(planned: list[tuple[float, list[int]]], size: int) -> None:
    for wait, ids in planned:
        update_emails_enqueue(update_email_ids=ids, countdown=wait, size=size)


def update_enqueue_due(*, update_id: int, now: datetime | None = None) -> int:
    """Publish the update's copies due before now + QUEUE_AHEAD that were not
    published yet (after commit; run by a task, not a request). Returns how many.
    Nothing for an update paused or cancelled."""
    now = now or timezone.now()
    horizon = now + QUEUE_AHEAD
    with transaction.atomic():
        # skip_locked: a beat and a resume at once; the other one does it.
        update = (
            Update.objects.select_for_update(skip_locked=True)
            .filter(pk=update_id, status=Update.Status.SENDING)
            .first()
        )
        if update is None:
            return 0
        after = update.queued_until
        update.queued_until = horizon
        update.save(update_fields=["queued_until"])
    # Published after the commit that moved the horizon: a concurrent pacer
    # starts from the new one, so no copy is published by both.
    return _publish(update_id, after, horizon)


def updates_enqueue_due() -> dict[int, int]:
    """update_enqueue_due for every update being sent (beat)."""
    sending = Update.objects.filter(status=Update.Status.SENDING)
    now = timezone.now()
    return {
        pk: update_enqueue_due(update_id=pk, now=now)
        for pk in sending.values_list("pk", flat=True)
    }
