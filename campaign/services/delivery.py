"""The outbox: queueing, sending and recording every email the site sends.

Letters to officials and confirmation emails to supporters are rows (OutboxMessage
subclasses); the row is the truth and the queue only carries its id. One
mechanism serves both kinds, described by an `_Outbox` entry below:

1. claim: one short transaction flips the row pending → sending with a
   conditional UPDATE (only a pending row that is due), so two workers racing on
   one row send it once. Letters also pass the per-official throttle here.
2. send through Django's email backend, outside any transaction.
3. record: sent (sent_at, message_id), or back to pending with a backoff for a
   transient failure (4xx, timeout, refused connection), or failed with the
   server's reply for a permanent one (5xx) or a message we refuse to build.

At most one duplicate per message in flight when a worker dies (so up to one per
worker process): if it dies after the SMTP server has accepted a message but
before step 3 commits, the row stays "sending"; the sweeper later resets it and it
is sent again. Every message carries a deterministic Message-ID (the same on every
attempt) so receiving servers can drop the copy.

Log lines name rows by id (the row's and its signature's), never by a name or an
address: the server's full reply is kept on the row (last_error) and at DEBUG.

`outbox_sweep` (a beat task) re-queues pending rows whose queue message was lost
(broker restarted or down at commit time), throttled letters whose slot was too
far off for a countdown (see `_countdown`), and rows stuck in "sending" after a
worker died.
"""

import contextlib
import enum
import logging
import random
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from campaign import emails
from campaign.models import (
    ConfirmationEmail,
    Letter,
    Official,
    OutboxMessage,
    OutboxStatus,
)

logger = logging.getLogger(__name__)

THROTTLE_WINDOW = timedelta(hours=1)


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
    # countdown (RETRY and THROTTLED only). Never more than
    # DELIVERY_COUNTDOWN_MAX_SECONDS: a THROTTLED row due later has None and is
    # queued by the sweeper.
    retry_in: float | None = None


@dataclass(frozen=True)
class _Outbox:
    model: type[OutboxMessage]
    label: str  # in log lines
    task_name: str  # attribute of campaign.tasks
    related: tuple[str, ...]  # select_related for build()
    build: Callable[[OutboxMessage], EmailMessage]
    # (row_id, now) -> when this row's slot frees, or None to go ahead. Runs
    # inside the claim transaction, so it may lock rows to make its count exact.
    throttle: Callable[[int, datetime], datetime | None] | None = None


def _ref(outbox: _Outbox, row_id: int, signature_id: int) -> str:
    """How log lines name a row: "letter 12 (signature 34)", ids only."""
    return f"{outbox.label} {row_id} (signature {signature_id})"


# --- The per-official throttle -----------------------------------------------------

# Slots predicted beyond the current hour start a little late: the send they
# follow lands some seconds after its own slot (queue latency, the SMTP dialogue),
# and a letter woken while that send is still inside the window would only be
# throttled again.
THROTTLE_SLACK = timedelta(seconds=30)


def _official_slot(letter_id: int, now: datetime) -> datetime | None:
    """None while the letter's official has had fewer than
    LETTERS_PER_OFFICIAL_PER_HOUR letters sent (or sending) in the last hour;
    otherwise when this letter's own slot frees.

    Letters waiting for the same official get distinct slots, in the order they
    were written, so each slot wakes one letter rather than every waiting one
    (which would each take the lock only to be throttled again).

    Locking the official serialises every claim of their letters, so two workers
    cannot both take the last slot. Held for a few small indexed queries, never
    across SMTP.
    """
    cap = settings.LETTERS_PER_OFFICIAL_PER_HOUR
    if cap <= 0:
        return None
    # NO KEY: still one claimer per official at a time, but signing (whose
    # foreign-key checks take KEY SHARE on the official) is never blocked.
    official = (
        Official.objects.select_for_update(of=("self",), no_key=True)
        .filter(letters__pk=letter_id)
        .values_list("pk", flat=True)
        .first()
    )
    if official is None:
        return None  # no such letter: the claim finds nothing either
    letters = Letter.objects.filter(official_id=official)
    sent = list(
        letters.filter(status=OutboxStatus.SENT, sent_at__gt=now - THROTTLE_WINDOW)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    # Letters still "sending" will land about now.
    sending = letters.filter(status=OutboxStatus.SENDING).count()
    window = sent + [now] * sending
    # Letters written earlier (pending, throttled or backing off) are ahead in
    # line: a freed slot goes to the first of them, not to whoever asks first.
    place = letters.filter(status=OutboxStatus.PENDING, pk__lt=letter_id).count()
    free = cap - len(window)
    if place < free:
        return None
    if free > 0:  # the letters ahead take the free slots now
        window, place = window + [now] * free, place - free
    return _slot(window, cap=cap, place=place)


def _slot(window: list[datetime], *, cap: int, place: int) -> datetime:
    """When the letter `place` positions back in an official's line may go: no
    more than `cap` sends in any hour. `window` is the official's sends in the
    last hour, oldest first (at least `cap` of them).

    The first letter in line takes the slot of the send that leaves the window
    first among those over the cap, the next letter the one after, and so on; a
    full hour later the pattern repeats with the letters just sent."""
    hours, offset = divmod(place, cap)
    freed = window[len(window) - cap + offset]
    return freed + THROTTLE_WINDOW * (hours + 1) + THROTTLE_SLACK * hours


# --- The registry -------------------------------------------------------------------

LETTERS = _Outbox(
    model=Letter,
    label="letter",
    task_name="letter_send_task",
    related=("signature", "official"),
    build=emails.letter_message,
    throttle=_official_slot,
)
CONFIRMATIONS = _Outbox(
    model=ConfirmationEmail,
    label="confirmation",
    task_name="confirmation_send_task",
    related=("signature",),
    build=emails.confirmation_message,
)
OUTBOXES = (LETTERS, CONFIRMATIONS)


def _outbox_for(model: type[OutboxMessage]) -> _Outbox:
    return next(outbox for outbox in OUTBOXES if outbox.model is model)


# --- Queueing ----------------------------------------------------------------------


def _enqueue(outbox: _Outbox, ids: list[int]) -> int:
    """Publish one task per id; returns how many were published. Call after
    commit. A broker that is down loses nothing: the rows stay pending and the
    sweeper re-queues them, so the caller (a web request) must not fail."""
    from campaign import tasks  # tasks imports this module

    task = getattr(tasks, outbox.task_name)
    published = 0
    try:
        for row_id in ids:
            task.delay(row_id)
            published += 1
    except OperationalError:
        logger.warning(
            "Broker unavailable: %d %s(s) left pending for the sweeper",
            len(ids) - published,
            outbox.label,
            exc_info=True,
        )
    return published


def letters_enqueue(*, letter_ids: list[int]) -> None:
    """Hand letters to the worker. Call after commit (transaction.on_commit)."""
    _enqueue(LETTERS, letter_ids)


def confirmation_enqueue(*, confirmation_id: int) -> None:
    """Hand a confirmation email to the worker. Call after commit."""
    _enqueue(CONFIRMATIONS, [confirmation_id])


# --- Retry policy -------------------------------------------------------------------


def _backoff(attempt: int, base: float, ceiling: float) -> float:
    """BASE, 2×BASE, 4×BASE … capped at MAX: the wait after failed attempt n."""
    return min(ceiling, base * 2 ** min(attempt - 1, 62))


def _retry_delay(attempt: int) -> float:
    # "Equal jitter": half fixed, half random, so rows that failed together
    # (a server outage) do not all come back in the same second.
    nominal = _backoff(
        attempt,
        settings.DELIVERY_RETRY_BASE_SECONDS,
        settings.DELIVERY_RETRY_MAX_SECONDS,
    )
    return nominal / 2 + random.uniform(0, nominal / 2)  # noqa: S311 (not crypto)


@cache
def _attempts_allowed(base: float, ceiling: float, give_up_hours: float) -> int:
    """Attempts whose backoff delays add up to DELIVERY_GIVE_UP_AFTER_HOURS
    (about 30 with the defaults). Counting attempts rather than hours since the
    row was created means time spent waiting for the throttle is not held
    against a letter, and "Retry now" (which resets attempts) starts afresh."""
    budget, attempts = give_up_hours * 3600, 0
    while budget > 0:
        attempts += 1
        budget -= max(_backoff(attempts, base, ceiling), 0.001)
    return max(attempts, 1)


def _max_attempts() -> int:
    return _attempts_allowed(
        settings.DELIVERY_RETRY_BASE_SECONDS,
        settings.DELIVERY_RETRY_MAX_SECONDS,
        settings.DELIVERY_GIVE_UP_AFTER_HOURS,
    )


# Errors about our session or configuration rather than this message: a 5xx here
# (bad password, our HELO or IP refused) would otherwise fail every row for good.
_SESSION_ERRORS = (
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPNotSupportedError,
)


@dataclass(frozen=True)
class _Failure:
    permanent: bool
    # For the row (admin) and DEBUG: the server's reply, which may quote the
    # recipient's address, or the error.
    detail: str
    # For INFO lines: only reply codes or an error class, never server text.
    summary: str


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _classify(exc: Exception) -> _Failure:
    """smtplib raises the same class for 451 and 550, so the reply code decides
    (4xx transient, 5xx permanent), not the exception type."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{_reply(code, text)} ({rcpt})"
            for rcpt, (code, text) in exc.recipients.items()
        )
        return _Failure(
            permanent=bool(codes) and all(500 <= c < 600 for c in codes),
            detail=detail or "All recipients refused",
            summary=",".join(map(str, codes)) or name,
        )
    if isinstance(exc, _SESSION_ERRORS):
        return _Failure(permanent=False, detail=f"{name}: {exc}", summary=name)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _Failure(
            permanent=500 <= exc.smtp_code < 600,
            detail=_reply(exc.smtp_code, exc.smtp_error),
            summary=str(exc.smtp_code),
        )
    # Timeouts, refused connections, disconnects, and anything unexpected: the
    # attempt budget bounds how long we keep trying.
    return _Failure(permanent=False, detail=f"{name}: {exc}", summary=name)


# --- Claim, send, record ------------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(status=OutboxStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _countdown(wait: float) -> float | None:
    """The countdown for a row due in `wait` seconds, or None to leave it to the
    sweeper. A countdown waits in a worker holding its message unacknowledged;
    past the broker's visibility timeout Redis would hand that message to a
    second worker as well. A letter far back in an official's line (hours away)
    therefore gets none: its next_attempt_at is set, and the sweeper queues it
    once due, a sweep or two late at most, which only spaces the official's
    letters a little further apart. Simpler than waking early and re-queueing:
    a row that is not due yet is SKIPPED, so a duplicate message dies there,
    while a wake that re-queued itself would keep every duplicate alive."""
    return wait if wait <= settings.DELIVERY_COUNTDOWN_MAX_SECONDS else None


def _claim(outbox: _Outbox, row_id: int) -> datetime | DeliveryResult:
    """Take the row for this worker (returns the claim time) or say why not."""
    now = timezone.now()
    rows = outbox.model.objects.filter(_due(now), pk=row_id)
    # The row's own state first, without a lock: a duplicate queue message for a
    # row already sent, or one not due yet, must not wait on the official's lock.
    signature_id = rows.values_list("signature_id", flat=True).first()
    if signature_id is not None:
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
                    "%s: official at the hourly cap; next try in %.0fs",
                    *(_ref(outbox, row_id, signature_id), wait),
                )
                return DeliveryResult(Outcome.THROTTLED, retry_in=_countdown(wait))
    if outbox.model.objects.filter(pk=row_id).exists():
        return DeliveryResult(Outcome.SKIPPED)
    logger.warning("%s %s no longer exists; nothing to send", outbox.label, row_id)
    return DeliveryResult(Outcome.MISSING)


def _record_sent(outbox: _Outbox, row_id: int, message_id: str) -> None:
    # Unconditional: the message did go out. If the sweeper reset this row
    # meanwhile (a very slow send), marking it sent stops a second copy.
    now = timezone.now()
    outbox.model.objects.filter(pk=row_id).update(
        status=OutboxStatus.SENT,
        sent_at=now,
        message_id=message_id,
        last_error="",
        next_attempt_at=None,
        updated_at=now,
    )


def _record_failure(
    outbox: _Outbox, row: OutboxMessage, claimed_at: datetime, failure: _Failure
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
    ref = _ref(outbox, row.pk, row.signature_id)
    error, permanent = failure.detail, failure.permanent
    if not permanent and attempts >= _max_attempts():
        permanent, error = True, f"Gave up after {attempts} attempts. {error}"
    if permanent:
        ours.update(status=OutboxStatus.FAILED, last_error=error, updated_at=now)
        logger.warning("%s failed for good (%s)", ref, failure.summary)
        return DeliveryResult(Outcome.FAILED)
    delay = _retry_delay(attempts)
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
    return DeliveryResult(Outcome.RETRY, retry_in=delay)


def _deliver(outbox: _Outbox, row_id: int) -> DeliveryResult:
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
    message_id = emails.message_id(row)
    try:
        message = outbox.build(row)
        message.extra_headers["Message-ID"] = message_id
        message.message()  # header errors surface here, not as "transient"
    except (emails.UnsendableMessage, ValueError) as exc:
        failure = _Failure(permanent=True, detail=str(exc), summary="unsendable")
        return _record_failure(outbox, row, claimed_at, failure)

    connection = get_connection()
    try:
        connection.open()
        connection.send_messages([message])
    except Exception as exc:  # classified below: retried or failed, never lost
        _close_quietly(connection)
        if not isinstance(exc, smtplib.SMTPException | OSError):
            logger.exception(
                "%s: unexpected error sending", _ref(outbox, row_id, row.signature_id)
            )
        return _record_failure(outbox, row, claimed_at, _classify(exc))
    # Accepted. A crash between the server's "250" and this commit is the one
    # window for a duplicate (see the module docstring), so record before QUIT.
    _record_sent(outbox, row_id, message_id)
    _close_quietly(connection)
    logger.info("%s sent", _ref(outbox, row_id, row.signature_id))
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


# --- The sweeper --------------------------------------------------------------------


def _lost(model: type[OutboxMessage], grace: datetime, batch: int) -> list[int]:
    """Pending rows due since before `grace`, oldest first: a row is due at
    next_attempt_at, or at created_at if it was never tried. Two queries, one
    per case, each a range scan of an index (see Letter.Meta.indexes); a
    COALESCE of the two could use none."""
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


def _sweep_one(outbox: _Outbox, now: datetime) -> dict[str, int]:
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
        given_up = model.objects.filter(
            pk__in=stuck, attempts__gte=_max_attempts()
        ).update(
            status=OutboxStatus.FAILED,
            last_error="Gave up: the worker was lost while sending, every attempt.",
            updated_at=now,
        )
        model.objects.filter(pk__in=stuck, status=OutboxStatus.SENDING).update(
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
            transaction.on_commit(lambda: _enqueue(outbox, requeue))
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


# --- Organiser actions (admin) ------------------------------------------------------


def outbox_retry(*, model: type[OutboxMessage], ids: list[int]) -> int:
    """Failed → pending with a fresh attempt budget, queued after commit.
    Returns how many rows were failed (others are left alone)."""
    outbox = _outbox_for(model)
    now = timezone.now()
    with transaction.atomic():
        retry_ids = list(
            model.objects.select_for_update()
            .filter(pk__in=ids, status=OutboxStatus.FAILED)
            .values_list("pk", flat=True)
        )
        model.objects.filter(pk__in=retry_ids).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_at=None,
            updated_at=now,
        )
        if retry_ids:
            transaction.on_commit(lambda: _enqueue(outbox, retry_ids))
    return len(retry_ids)


def outbox_cancel(*, model: type[OutboxMessage], ids: list[int]) -> int:
    """Pending or failed → cancelled: never sent. A row being sent right now
    cannot be stopped and is left alone. Returns how many were cancelled."""
    return model.objects.filter(
        pk__in=ids, status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]
    ).update(status=OutboxStatus.CANCELLED, updated_at=timezone.now())
