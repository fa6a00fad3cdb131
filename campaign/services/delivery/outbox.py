"""Claim, build, record: the steps that deliver outbox rows, whatever their kind.
batch.py runs them for a batch of rows over one SMTP connection.

1. claim: one short transaction takes the batch's due rows for this worker,
   pending → sending. Only rows still pending and due, and only rows no other
   transaction holds (SKIP LOCKED: whoever holds one is claiming, sweeping or
   cancelling it), so two workers racing on one row send it once. Letters also
   pass the per-official throttle here: those over the cap stay pending with
   their slot. An outbox's hold sets rows aside here too (an update's copies
   once it is paused or cancelled).
2. build each email (a message we refuse to build fails for good), then send it
   through Django's email backend, outside any transaction.
3. record each result right after its send, before the next message: sent
   (sent_at, message_id), or back to pending with a backoff for a transient
   failure, or failed with the server's reply for a permanent one (policy.py
   decides which). Rows claimed but never attempted (the connection was lost,
   the batch ran out of time) are released: pending again as they were.

At most one duplicate per message in flight when a worker dies (so up to one per
worker process): if it dies after the SMTP server has accepted a message but
before step 3 commits, the row stays "sending"; the sweeper later resets it and it
is sent again. The batch's rows not yet attempted stay "sending" too, and are
sent once, late. Every message carries a deterministic Message-ID (the same on
every attempt) so receiving servers can drop the copy.

Every write here may be run twice (batch.py repeats a step whose database
connection was lost): each is conditional on the row's state, or idempotent.
"""

import contextlib
import enum
import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from campaign import emails
from campaign.mime import QUICK_FOLDING
from campaign.models import Letter, OutboxMessage, OutboxStatus, Signature
from campaign.services.letter_counts import (
    counted_sql,
    outbox_rows_update,
    signatures_letters_recount,
)

from .policy import Failure, countdown, max_attempts, retry_delay
from .registry import Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # pending again: a transient failure (backoff) or not attempted
    THROTTLED = "throttled"  # official at the hourly cap: pending until a slot frees
    FAILED = "failed"  # permanent failure, or gave up: never retried automatically
    SKIPPED = "skipped"  # not ours to send: already sent/sending/cancelled/not due
    MISSING = "missing"  # the row no longer exists


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    # Seconds until the row is due again; the task queues it again with this
    # countdown (RETRY and THROTTLED only). None when the sweeper queues the row
    # instead: see policy.countdown.
    retry_in: float | None = None


SENT = DeliveryResult(Outcome.SENT)
SKIPPED = DeliveryResult(Outcome.SKIPPED)
MISSING = DeliveryResult(Outcome.MISSING)


@dataclass(frozen=True)
class Claim:
    claimed_at: datetime  # also the claim's token: records check it
    ids: list[int]  # the rows now ours, in id order
    refs: dict[int, str]  # how log lines name each row that was due
    results: dict[int, DeliveryResult]  # the other rows asked for, and why not


def _due(now: datetime) -> Q:
    return Q(status=OutboxStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def claim(outbox: Outbox, ids: list[int]) -> Claim:
    """Take the due rows among `ids` for this worker (step 1)."""
    now = timezone.now()
    due = outbox.model.objects.filter(_due(now))
    # The rows' own state first, without a lock: duplicate queue messages for
    # rows already sent, or not due yet, must not wait on an official's lock.
    refs = {
        pk: outbox.ref(pk, owner_id)
        for pk, owner_id in due.filter(pk__in=ids).values_list("pk", outbox.owner_id)
    }
    claimed, waits, held = [], {}, {}
    if refs:
        with transaction.atomic():
            waits = outbox.throttle(list(refs), now) if outbox.throttle else {}
            # Still conditional: another worker may have claimed some meanwhile.
            ours = set(
                due.filter(pk__in=refs)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            held = outbox.hold(sorted(ours), now) if outbox.hold and ours else {}
            ours -= held.keys()
            claimed = sorted(ours - waits.keys())
            waits = {pk: free_at for pk, free_at in waits.items() if pk in ours}
            outbox_rows_update(
                rows=outbox.model.objects.filter(pk__in=claimed),
                status=OutboxStatus.SENDING,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
            if waits:
                slots = [When(pk=pk, then=Value(at)) for pk, at in waits.items()]
                outbox.model.objects.filter(pk__in=waits).update(
                    next_attempt_at=Case(*slots, output_field=DateTimeField()),
                    updated_at=now,
                )
    results = {}
    for pk, status in held.items():
        logger.info("%s: not sent: %s with its update", refs[pk], status)
    for pk, free_at in waits.items():
        wait = (free_at - now).total_seconds()
        logger.info(
            "%s: not yet (delivery hours or hourly cap); next try in %.0fs",
            *(refs[pk], wait),
        )
        results[pk] = DeliveryResult(Outcome.THROTTLED, retry_in=countdown(wait))
    others = set(ids) - set(claimed) - waits.keys()
    existing = set(
        outbox.model.objects.filter(pk__in=others).values_list("pk", flat=True)
        if others
        else ()
    )
    for pk in sorted(others):
        if pk not in existing:
            logger.warning("%s %s no longer exists; nothing to send", outbox.label, pk)
        results[pk] = SKIPPED if pk in existing else MISSING
    return Claim(claimed_at=now, ids=claimed, refs=refs, results=results)


def load(outbox: Outbox, ids: list[int]) -> list[OutboxMessage]:
    """The claimed rows, with what build() needs, in id order. A row deleted
    since the claim (its signature was removed) is simply absent."""
    rows = outbox.model.objects.select_related(*outbox.related).filter(pk__in=ids)
    return list(rows.order_by("pk"))


def build(outbox: Outbox, row: OutboxMessage) -> EmailMessage | Failure:
    """The row's email, with its deterministic Message-ID, or why it cannot be
    built (a permanent failure)."""
    message_id = emails.message_id(row)
    try:
        message = outbox.build(row)
        message.extra_headers["Message-ID"] = message_id
        checked = message.message()  # header errors surface here, not as "transient"
    except emails.NoLongerWanted as exc:
        return Failure(
            permanent=True, detail=str(exc), summary="not wanted", cancel=True
        )
    except (emails.UnsendableMessage, ValueError) as exc:
        return Failure(permanent=True, detail=str(exc), summary="unsendable")
    # The backend sends the MIME message just checked instead of building it
    # again (a tenth of a message's CPU in bench/delivery.py), flattened with
    # the same bytes but less CPU (campaign/mime.py).
    checked.policy = QUICK_FOLDING
    message.message = lambda: checked
    return message


# Once per message sent, so written out: the ORM's update() building this
# statement costs more CPU than PostgreSQL running it (bench/README.md).
SENT_SET = """
    UPDATE {table} SET status = %(sent)s, sent_at = %(now)s,
        message_id = %(message_id)s, last_error = '', next_attempt_at = NULL,
        updated_at = %(now)s
"""


@functools.cache
def _sent_sql(model: type[OutboxMessage], vendor: str) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    update = SENT_SET.replace("{table}", table)
    if model is Letter and vendor == "postgresql":
        # The same statement moves the signature's letter counts (letter_counts).
        locked = f"SELECT id, signature_id, status FROM {table} WHERE id = %(id)s"  # noqa: S608
        return counted_sql(locked=locked, update=update)
    return f"{update} WHERE id = %(id)s"


def record_sent(outbox: Outbox, row_id: int, message_id: str) -> None:
    # Unconditional: the message did go out. If the sweeper reset this row
    # meanwhile (a very slow send), marking it sent stops a second copy.
    # One statement, unless something changes with the row (a digest's letters;
    # a letter's counts on SQLite): then all in one transaction. Letters skip it
    # on PostgreSQL: it costs two queries each.
    sql = _sent_sql(outbox.model, connection.vendor)
    recount = outbox.model is Letter and connection.vendor != "postgresql"
    together = outbox.on_sent or recount
    atomically = transaction.atomic() if together else contextlib.nullcontext()
    with atomically, connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "sent": OutboxStatus.SENT,
                "now": timezone.now(),
                "message_id": message_id,
                "id": row_id,
            },
        )
        if outbox.on_sent:
            outbox.on_sent(row_id)
        if recount:
            signatures_letters_recount(
                signatures=Signature.objects.filter(letters__pk=row_id)
            )


def record_failure(
    outbox: Outbox,
    row_id: int,
    ref: str,
    claimed_at: datetime,
    failure: Failure,
    delay: float | None = None,
) -> DeliveryResult:
    """Failed for good, or pending again after `delay` seconds (by default the
    backoff for the row's attempts)."""
    # Conditional on our claim: if the sweeper handed the row to another worker
    # meanwhile, that worker's result stands.
    ours = outbox.model.objects.filter(
        pk=row_id, status=OutboxStatus.SENDING, claimed_at=claimed_at
    )
    now = timezone.now()
    attempts = ours.values_list("attempts", flat=True).first()
    if attempts is None:
        return SKIPPED
    error, permanent = failure.detail, failure.permanent
    if not permanent and attempts >= max_attempts():
        permanent, error = True, f"Gave up after {attempts} attempts. {error}"
    if permanent:
        status = OutboxStatus.CANCELLED if failure.cancel else OutboxStatus.FAILED
        with transaction.atomic():
            outbox_rows_update(
                rows=ours, status=status, last_error=error, updated_at=now
            )
            if outbox.on_failed:
                outbox.on_failed(row_id)
        what = "cancelled" if failure.cancel else "failed for good"
        logger.warning("%s %s (%s)", ref, what, failure.summary)
        return DeliveryResult(Outcome.FAILED)
    delay = retry_delay(attempts) if delay is None else delay
    outbox_rows_update(
        rows=ours,
        status=OutboxStatus.PENDING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=error,
        updated_at=now,
    )
    logger.info(
        "%s attempt %d failed (%s); retry in %.1fs",
        *(ref, attempts, failure.summary, delay),
    )
    return DeliveryResult(Outcome.RETRY, retry_in=countdown(delay))


def release(outbox: Outbox, ids: list[int], claimed_at: datetime) -> None:
    """Rows claimed but never attempted: pending again, due now, the claim's
    attempt taken back. Conditional on our claim, like record_failure."""
    now = timezone.now()
    outbox_rows_update(
        rows=outbox.model.objects.filter(
            pk__in=ids, status=OutboxStatus.SENDING, claimed_at=claimed_at
        ),
        status=OutboxStatus.PENDING,
        attempts=F("attempts") - 1,
        next_attempt_at=now,
        updated_at=now,
    )
