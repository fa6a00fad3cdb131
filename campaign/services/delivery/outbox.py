"""Claim, send, record: how one outbox row is delivered, whatever its kind.

1. claim: one short transaction flips the row pending → sending with a
   conditional UPDATE (only a pending row that is due), so two workers racing on
   one row send it once. Letters also pass the per-official throttle here.
2. build the email (a message we refuse to build fails for good), then send it
   through Django's email backend, outside any transaction.
3. record: sent (sent_at, message_id), or back to pending with a backoff for a
   transient failure, or failed with the server's reply for a permanent one
   (policy.py decides which).

Each step is its own function taking the row's registry entry, so another way of
sending (several rows over one connection) reuses them and changes _deliver only.

At most one duplicate per message in flight when a worker dies (so up to one per
worker process): if it dies after the SMTP server has accepted a message but
before step 3 commits, the row stays "sending"; the sweeper later resets it and it
is sent again. Every message carries a deterministic Message-ID (the same on every
attempt) so receiving servers can drop the copy.
"""

import contextlib
import enum
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaign import emails
from campaign.models import OutboxMessage, OutboxStatus

from .policy import Failure, classify, countdown, max_attempts, retry_delay
from .registry import CONFIRMATIONS, DIGESTS, LETTERS, Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient failure: pending again, next_attempt_at set
    THROTTLED = "throttled"  # official at the hourly cap: pending until a slot frees
    FAILED = "failed"  # permanent failure, or gave up: never retried automatically
    SKIPPED = "skipped"  # not ours to send: already sent/sending/cancelled/not due
    MISSING = "missing"  # the row no longer exists


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    # Seconds until the row is due again; the task re-queues itself with this
    # countdown (RETRY and THROTTLED only). None when the sweeper queues the row
    # instead: see policy.countdown.
    retry_in: float | None = None


def _due(now: datetime) -> Q:
    return Q(status=OutboxStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _claim(outbox: Outbox, row_id: int) -> datetime | DeliveryResult:
    """Take the row for this worker (returns the claim time) or say why not."""
    now = timezone.now()
    rows = outbox.model.objects.filter(_due(now), pk=row_id)
    # The row's own state first, without a lock: a duplicate queue message for a
    # row already sent, or one not due yet, must not wait on the official's lock.
    owner_id = rows.values_list(f"{outbox.owner}_id", flat=True).first()
    if owner_id is not None:
        with transaction.atomic():
            free_at = outbox.throttle(row_id, now) if outbox.throttle else None
            # Still conditional: another worker may have claimed it meanwhile.
            if free_at is None:
                claimed = rows.update(
                    status=OutboxStatus.SENDING,
                    claimed_at=now,
                    attempts=F("attempts") + 1,
                    updated_at=now,
                )
                if claimed:
                    return now
            elif rows.update(next_attempt_at=free_at, updated_at=now):
                wait = (free_at - now).total_seconds()
                logger.info(
                    "%s: not yet (delivery hours or hourly cap); next try in %.0fs",
                    *(outbox.ref(row_id, owner_id), wait),
                )
                return DeliveryResult(Outcome.THROTTLED, retry_in=countdown(wait))
    if outbox.model.objects.filter(pk=row_id).exists():
        return DeliveryResult(Outcome.SKIPPED)
    logger.warning("%s %s no longer exists; nothing to send", outbox.label, row_id)
    return DeliveryResult(Outcome.MISSING)


def _build(outbox: Outbox, row: OutboxMessage) -> EmailMessage | Failure:
    """The row's email, with its deterministic Message-ID, or why it cannot be
    built (a permanent failure)."""
    message_id = emails.message_id(row)
    try:
        message = outbox.build(row)
        message.extra_headers["Message-ID"] = message_id
        message.message()  # header errors surface here, not as "transient"
    except (emails.UnsendableMessage, ValueError) as exc:
        return Failure(permanent=True, detail=str(exc), summary="unsendable")
    return message


def _record_sent(outbox: Outbox, row_id: int, message_id: str) -> None:
    # Unconditional: the message did go out. If the sweeper reset this row
    # meanwhile (a very slow send), marking it sent stops a second copy.
    now = timezone.now()
    with transaction.atomic():
        outbox.model.objects.filter(pk=row_id).update(
            status=OutboxStatus.SENT,
            sent_at=now,
            message_id=message_id,
            last_error="",
            next_attempt_at=None,
            updated_at=now,
        )
        if outbox.on_sent:
            outbox.on_sent(row_id)


def _record_failure(
    outbox: Outbox, row: OutboxMessage, claimed_at: datetime, failure: Failure
) -> DeliveryResult:
    # Conditional on our claim: if the sweeper handed the row to another worker
    # meanwhile, that worker's result stands.
    ours = outbox.model.objects.filter(
        pk=row.pk, status=OutboxStatus.SENDING, claimed_at=claimed_at
    )
    now = timezone.now()
    attempts = ours.values_list("attempts", flat=True).first()
    if attempts is None:
        return DeliveryResult(Outcome.SKIPPED)
    ref = outbox.ref(row.pk, getattr(row, f"{outbox.owner}_id"))
    error, permanent = failure.detail, failure.permanent
    if not permanent and attempts >= max_attempts():
        permanent, error = True, f"Gave up after {attempts} attempts. {error}"
    if permanent:
        with transaction.atomic():
            ours.update(status=OutboxStatus.FAILED, last_error=error, updated_at=now)
            if outbox.on_failed:
                outbox.on_failed(row.pk)
        logger.warning("%s failed for good (%s)", ref, failure.summary)
        return DeliveryResult(Outcome.FAILED)
    delay = retry_delay(attempts)
    ours.update(
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


def _deliver(outbox: Outbox, row_id: int) -> DeliveryResult:
    if transaction.get_connection().in_atomic_block:
        # An SMTP call inside a transaction holds locks for seconds, and a
        # rollback after the server accepted would "unsend" a sent letter.
        raise RuntimeError("Outbox messages are sent outside any transaction.")
    claimed_at = _claim(outbox, row_id)
    if isinstance(claimed_at, DeliveryResult):
        return claimed_at

    row = outbox.model.objects.select_related(*outbox.related).filter(pk=row_id).first()
    if row is None:  # deleted since the claim (its signature was removed)
        return DeliveryResult(Outcome.MISSING)
    message = _build(outbox, row)
    if isinstance(message, Failure):
        return _record_failure(outbox, row, claimed_at, message)

    connection = get_connection()
    try:
        connection.open()
        connection.send_messages([message])
    except Exception as exc:  # classified below: retried or failed, never lost
        _close_quietly(connection)
        if not isinstance(exc, smtplib.SMTPException | OSError):
            logger.exception(
                "%s: unexpected error sending",
                outbox.ref(row_id, getattr(row, f"{outbox.owner}_id")),
            )
        return _record_failure(outbox, row, claimed_at, classify(exc))
    # Accepted. A crash between the server's "250" and this commit is the one
    # window for a duplicate (see the module docstring), so record before QUIT.
    _record_sent(outbox, row_id, message.extra_headers["Message-ID"])
    _close_quietly(connection)
    logger.info("%s sent", outbox.ref(row_id, getattr(row, f"{outbox.owner}_id")))
    return DeliveryResult(Outcome.SENT)


def _close_quietly(connection) -> None:
    # The message's fate is settled; a failing QUIT changes nothing.
    connection.fail_silently = True
    with contextlib.suppress(OSError):
        connection.close()


def letter_send(*, letter_id: int) -> DeliveryResult:
    """Send one letter if it is pending and due; see the module docstring."""
    return _deliver(LETTERS, letter_id)


def confirmation_send(*, confirmation_id: int) -> DeliveryResult:
    """Send one confirmation email if it is pending and due."""
    return _deliver(CONFIRMATIONS, confirmation_id)


def digest_send(*, digest_id: int) -> DeliveryResult:
    """Send one daily digest if it is pending and due."""
    return _deliver(DIGESTS, digest_id)
