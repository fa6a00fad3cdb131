"""Handing rows to the worker: lists of row ids, DELIVERY_BATCH_SIZE to a task,
published after commit."""

import logging

from django.conf import settings
from kombu.exceptions import OperationalError

from config.breaker import Attempt, CircuitBreaker

from .registry import CONFIRMATIONS, DIGESTS, LETTERS, RECEIPTS, UPDATES, Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox

# After a failed publish, this process leaves the broker alone for a while:
# requests during an outage then cost no connection attempt at all.
BROKER = CircuitBreaker(
    "Broker (Redis)", retry_seconds=settings.REDIS_RETRY_SECONDS, logger=logger
)


def enqueue(
    outbox: Outbox, ids: list[int], *, countdown: float = 0, size: int = 0
) -> int:
    """Publish one task per `size` (default DELIVERY_BATCH_SIZE) ids, each to
    run `countdown` seconds from now (keep it within policy.countdown's bound);
    returns how many ids were published. Call after commit. A broker that is
    down loses nothing: the rows stay pending and the sweeper re-queues them, so
    the caller (a web request) must not fail."""
    size = max(size or settings.DELIVERY_BATCH_SIZE, 1)
    options = {"countdown": countdown} if countdown > 0 else {}
    published = 0
    if settings.CELERY_TASK_ALWAYS_EAGER:
        attempt = Attempt.NORMAL  # no broker: the task runs here and now
    elif (attempt := BROKER.attempt()) is Attempt.SKIP:
        return 0  # the breaker's own warning says so, once a minute
    try:
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            outbox.task.apply_async(args=[batch], **options)
            published += len(batch)
    except OperationalError as exc:
        BROKER.failed(exc)
        # A failed retry during an outage is no news (the breaker warns once a
        # minute): only the failure that starts one gets a warning and traceback.
        news = attempt is Attempt.NORMAL
        logger.log(
            logging.WARNING if news else logging.INFO,
            "Broker unavailable: %d %s(s) left pending for the sweeper",
            len(ids) - published,
            outbox.label,
            exc_info=news,
        )
    else:
        BROKER.succeeded()
    return published


def letters_enqueue(*, letter_ids: list[int]) -> None:
    """Hand letters to the worker. Call after commit (transaction.on_commit)."""
    enqueue(LETTERS, letter_ids)


def confirmation_enqueue(*, confirmation_id: int) -> None:
    """Hand a confirmation email to the worker. Call after commit."""
    enqueue(CONFIRMATIONS, [confirmation_id])


def digest_enqueue(*, digest_id: int) -> None:
    """Hand a digest to the worker. Call after commit."""
    enqueue(DIGESTS, [digest_id])


def receipts_enqueue(*, receipt_ids: list[int]) -> None:
    """Hand receipts (and follow-ups) to the worker. Call after commit."""
    enqueue(RECEIPTS, receipt_ids)


def update_emails_enqueue(
    *, update_email_ids: list[int], countdown: float = 0, size: int = 0
) -> int:
    """Hand copies of an update to the worker (services/updates/pacing.py
    decides which, and when). Call after commit."""
    return enqueue(UPDATES, update_email_ids, countdown=countdown, size=size)
