"""Sending a batch: up to DELIVERY_BATCH_SIZE rows of one kind, claimed
together and sent over one SMTP connection, each result recorded before the
next message goes (the steps, and what a dead worker costs: outbox.py).

A failure costs no more than it must:
- a reply about one message (4xx or 5xx to its recipient or its data): recorded
  for that row; smtplib has reset the transaction, the batch goes on.
- no mail taken at all on this connection (refused or timed out, a 421 greeting,
  HELO or login rejected, or dropped before accepting anything): every row left
  fails the same way and backs off, with one delay for them all, so they come
  back together, as one batch.
- the connection lost after the server accepted mail on it (a disconnect, a
  421, a timeout), or an unexpected error: the row in flight is recorded as a
  transient failure (the server may have it; its Message-ID covers a copy);
  the rows not yet attempted are released and queued again at once.
- the database connection lost (PostgreSQL restarted, the backend killed): the
  step runs once more on a new connection (every write in outbox.py may).
- time: a batch starts no new message after half the task's soft time limit
  (a slow server); the rest are released, queued again at once, so the task
  ends before Celery interrupts it.

While a batch sends, its records are committed without waiting for the disk
(see _records_not_waiting_for_disk): the one trade of durability for speed here.
"""

import contextlib
import logging
import smtplib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)

from .outbox import (
    MISSING,
    SENT,
    Claim,
    DeliveryResult,
    Outcome,
    build,
    claim,
    load,
    record_failure,
    record_sent,
    release,
)
from .policy import SESSION_ERRORS, Failure, classify, retry_delay
from .registry import CONFIRMATIONS, DIGESTS, LETTERS, RECEIPTS, UPDATES, Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox

# Not attempted: pending again and due now, so queued again at once.
RELEASED = DeliveryResult(Outcome.RETRY, retry_in=0)

# What SMTP and the network raise; anything else is a bug, logged with its
# traceback (and still only retried, never lost).
EXPECTED = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class BatchResult:
    results: dict[int, DeliveryResult]  # by row id: every id asked for

    def counts(self) -> dict[str, int]:
        return dict(Counter(result.outcome.value for result in self.results.values()))

    def follow_ups(self) -> list[tuple[float, list[int]]]:
        """(countdown, row ids) to queue again: rows due at the same moment
        (failed together, or released) go in one task."""
        due_in = defaultdict(list)
        for pk, result in sorted(self.results.items()):
            if result.retry_in is not None:
                due_in[result.retry_in].append(pk)
        return sorted(due_in.items())


def _reconnecting(step, *args):
    """Run a database step; if the connection to PostgreSQL was lost, run it
    once more on a new one. A second loss is an outage: the task fails, and the
    sweeper finds the rows."""
    try:
        return step(*args)
    except (OperationalError, InterfaceError):
        logger.warning("Database connection lost; reconnecting", exc_info=True)
        connection.close()
        return step(*args)


@contextlib.contextmanager
def _records_not_waiting_for_disk():
    """synchronous_commit off on this connection while the batch sends: each
    record's COMMIT returns once PostgreSQL has it, without waiting for its WAL
    to be flushed to disk (a millisecond or two per message, far more on a
    busy disk: the largest cost per message after SMTP itself).

    A worker killed after the COMMIT loses nothing: the server has the record.
    Only a crash of PostgreSQL itself (or of its machine) can lose the records
    of the last few hundred milliseconds (3 × wal_writer_delay at most); those
    rows are "sending" again after recovery and the sweeper sends them once
    more, with the same Message-ID: the cost of a worker dying mid-send, for
    each of them. Claims are committed before this, durably, as always.

    PostgreSQL only: the quick start's SQLite has no such setting."""
    if connection.vendor != "postgresql":
        yield
        return
    _reconnecting(_execute, "SET synchronous_commit = off")
    try:
        yield
    finally:
        # A connection lost meanwhile was replaced by one with the default.
        with contextlib.suppress(DatabaseError):
            _execute("RESET synchronous_commit")


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _about_this_message(exc: Exception) -> bool:
    """A reply about one message, after which the connection is still usable
    (421 means the server is closing it)."""
    if isinstance(exc, SESSION_ERRORS):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def _close_quietly(mail) -> None:
    # The messages' fate is settled; a failing QUIT changes nothing.
    mail.fail_silently = True
    with contextlib.suppress(OSError):
        mail.close()


def outbox_send(outbox: Outbox, ids: list[int]) -> BatchResult:
    """Send the rows among `ids` that are pending and due, over one
    connection; see the module docstring."""
    if transaction.get_connection().in_atomic_block:
        # An SMTP call inside a transaction holds locks for seconds, and a
        # rollback after the server accepted would "unsend" a sent letter.
        raise RuntimeError("Outbox messages are sent outside any transaction.")
    taken = _reconnecting(claim, outbox, ids)
    results = dict(taken.results)
    rows = _reconnecting(load, outbox, taken.ids) if taken.ids else []
    results |= dict.fromkeys(set(taken.ids) - {row.pk for row in rows}, MISSING)
    if rows:
        with _records_not_waiting_for_disk():
            results |= _send(outbox, taken, rows)
    return BatchResult(results)


def _send(outbox: Outbox, taken: Claim, rows: list) -> dict[int, DeliveryResult]:
    """Build, send and record each claimed row in turn, over one connection."""
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    results: dict[int, DeliveryResult] = {}

    def fail(row, failure: Failure, delay: float | None = None) -> None:
        results[row.pk] = _reconnecting(
            record_failure,
            *(outbox, row.pk, taken.refs[row.pk], taken.claimed_at, failure, delay),
        )

    def connection_failed(exc: Exception, left: list) -> None:
        """The connection failed with left[0] in flight (see the docstring)."""
        failure = classify(exc)
        if accepted or not isinstance(exc, EXPECTED):
            fail(left[0], failure)
            _release(outbox, left[1:], taken, results, "connection lost")
        else:  # the server takes no mail from us now: all back off alike
            delay = retry_delay(max(row.attempts for row in left))
            for row in left:
                fail(row, failure, delay)

    mail, accepted = None, False
    try:
        for n, row in enumerate(rows):
            if n and time.monotonic() > deadline:
                _release(outbox, rows[n:], taken, results, "out of time")
                break
            message = build(outbox, row)
            if isinstance(message, Failure):
                fail(row, message)
                continue
            try:
                if mail is None:
                    mail = get_connection()
                    mail.open()
                mail.send_messages([message])
            except Exception as exc:  # classified: retried or failed, never lost
                if not isinstance(exc, EXPECTED):
                    logger.exception("%s: unexpected error sending", taken.refs[row.pk])
                if _about_this_message(exc):
                    fail(row, classify(exc))
                    continue
                connection_failed(exc, rows[n:])
                break
            # Accepted. A crash between the server's "250" and this commit is
            # the one window for a duplicate (outbox.py), so record at once.
            accepted = True
            _reconnecting(
                record_sent, outbox, row.pk, message.extra_headers["Message-ID"]
            )
            results[row.pk] = SENT
            logger.info("%s sent", taken.refs[row.pk])
    finally:
        if mail is not None:
            _close_quietly(mail)
    return results


def _release(outbox: Outbox, rows: list, taken: Claim, results: dict, why: str) -> None:
    if not rows:
        return
    _reconnecting(release, outbox, [row.pk for row in rows], taken.claimed_at)
    results |= dict.fromkeys((row.pk for row in rows), RELEASED)
    logger.info(
        "%d %s(s) not attempted (%s): queued again", len(rows), outbox.label, why
    )


def letters_send(*, letter_ids: list[int]) -> BatchResult:
    """Send a batch of letters: those pending and due, over one connection."""
    return outbox_send(LETTERS, letter_ids)


def confirmations_send(*, confirmation_ids: list[int]) -> BatchResult:
    """Send a batch of confirmation emails."""
    return outbox_send(CONFIRMATIONS, confirmation_ids)


def letter_send(*, letter_id: int) -> DeliveryResult:
    """Send one letter if it is pending and due: a batch of one."""
    return letters_send(letter_ids=[letter_id]).results[letter_id]


def digests_send(*, digest_ids: list[int]) -> BatchResult:
    """Send a batch of daily digests."""
    return outbox_send(DIGESTS, digest_ids)


def digest_send(*, digest_id: int) -> DeliveryResult:
    """Send one digest if it is pending and due: a batch of one."""
    return digests_send(digest_ids=[digest_id]).results[digest_id]


def receipts_send(*, receipt_ids: list[int]) -> BatchResult:
    """Send a batch of receipts and follow-ups to supporters."""
    return outbox_send(RECEIPTS, receipt_ids)


def update_emails_send(*, update_email_ids: list[int]) -> BatchResult:
    """Send a batch of campaign updates, each rendered for its supporter."""
    return outbox_send(UPDATES, update_email_ids)
