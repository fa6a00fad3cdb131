"""Handing rows to the worker: one task per row id, published after commit."""

import logging

from kombu.exceptions import OperationalError

from .registry import CONFIRMATIONS, DIGESTS, LETTERS, Outbox

logger = logging.getLogger(__package__)  # one logger for the outbox


def enqueue(outbox: Outbox, ids: list[int]) -> int:
    """Publish one task per id; returns how many were published. Call after
    commit. A broker that is down loses nothing: the rows stay pending and the
    sweeper re-queues them, so the caller (a web request) must not fail."""
    published = 0
    try:
        for row_id in ids:
            outbox.task.delay(row_id)
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
    enqueue(LETTERS, letter_ids)


def confirmation_enqueue(*, confirmation_id: int) -> None:
    """Hand a confirmation email to the worker. Call after commit."""
    enqueue(CONFIRMATIONS, [confirmation_id])


def digest_enqueue(*, digest_id: int) -> None:
    """Hand a digest to the worker. Call after commit."""
    enqueue(DIGESTS, [digest_id])
