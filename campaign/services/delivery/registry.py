"""The kinds of outbox row and what differs between them: the model, the Celery
task that sends one row, how its email is built, and an optional throttle.
Everything else (claim, send, record, sweep) is one mechanism for all of them.

The entries hold the task objects themselves, not their names: a renamed task
fails at import (and so in every test), not after commit inside a swallowed
on_commit callback. No cycle: campaign.tasks imports delivery only inside its
task bodies."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from celery import Task
from django.core.mail import EmailMessage

from campaign import emails
from campaign.models import ConfirmationEmail, Digest, Letter, OutboxMessage
from campaign.services import digests
from campaign.tasks import confirmation_send_task, digest_send_task, letter_send_task

from .throttle import official_slot
from .windows import official_window_wait


@dataclass(frozen=True)
class Outbox:
    model: type[OutboxMessage]
    label: str  # in log lines
    task: Task  # sends one row; called with the row's id
    related: tuple[str, ...]  # select_related for build()
    build: Callable[[OutboxMessage], EmailMessage]
    # (row_id, now) -> when this row may go (delivery hours, the throttle), or
    # None to go ahead. Runs inside the claim transaction, so it may lock rows
    # to make its count exact.
    throttle: Callable[[int, datetime], datetime | None] | None = None
    # Whose row it is, for log lines: a foreign key every row has.
    owner: str = "signature"
    # Called with the row's id in the transaction that records it sent, or
    # failed for good: what else changes with it (a digest's letters).
    on_sent: Callable[..., object] | None = None
    on_failed: Callable[..., object] | None = None

    def ref(self, row_id: int, owner_id: int) -> str:
        """How log lines name a row: "letter 12 (signature 34)", ids only."""
        return f"{self.label} {row_id} ({self.owner} {owner_id})"


def _first_wait(*hooks):
    """Several claim hooks as one: the first that says "not yet" wins, so a
    letter outside delivery hours never takes a throttle slot."""

    def wait(row_id: int, now: datetime) -> datetime | None:
        for hook in hooks:
            if (until := hook(row_id, now)) is not None:
                return until
        return None

    return wait


LETTERS = Outbox(
    model=Letter,
    label="letter",
    task=letter_send_task,
    related=("signature__campaign", "official"),
    build=emails.letter_message,
    throttle=_first_wait(official_window_wait("letters"), official_slot),
)
CONFIRMATIONS = Outbox(
    model=ConfirmationEmail,
    label="confirmation",
    task=confirmation_send_task,
    related=("signature",),
    build=emails.confirmation_message,
)
DIGESTS = Outbox(
    model=Digest,
    label="digest",
    task=digest_send_task,
    related=("campaign", "official"),
    build=emails.digest_message,
    throttle=official_window_wait("digests"),
    owner="official",
    on_sent=lambda row_id: digests.digest_record_sent(digest_id=row_id),
    on_failed=lambda row_id: digests.digest_record_failed(digest_id=row_id),
)
OUTBOXES = (LETTERS, CONFIRMATIONS, DIGESTS)


def outbox_for(model: type[OutboxMessage]) -> Outbox:
    return next(outbox for outbox in OUTBOXES if outbox.model is model)
