"""The kinds of outbox row and what differs between them: the model, the Celery
task that sends a batch of rows, how its email is built, and an optional throttle.
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
from campaign.models import (
    ConfirmationEmail,
    Digest,
    Letter,
    OutboxMessage,
    Receipt,
    Update,
    UpdateEmail,
    UpdateEmailStatus,
)
from campaign.services import digests
from campaign.tasks import (
    confirmations_send_task,
    digests_deliver_task,
    letters_send_task,
    receipts_send_task,
    update_emails_send_task,
)

from .throttle import official_slots
from .windows import digest_windows, letter_windows


@dataclass(frozen=True)
class Outbox:
    model: type[OutboxMessage]
    label: str  # in log lines
    task: Task  # sends a batch of rows; called with a list of row ids
    related: tuple[str, ...]  # select_related for build()
    build: Callable[[OutboxMessage], EmailMessage]
    # (row_ids, now) -> the rows that must wait, each with when its slot frees;
    # the rest go ahead. Runs inside the claim transaction, so it may lock rows
    # to make its count exact.
    throttle: Callable[[list[int], datetime], dict[int, datetime]] | None = None
    # (row_ids, now) -> the rows set aside, each with its new status: run in the
    # claim transaction on the due rows it has just locked, it moves those that
    # must not go now out of "pending" (they are skipped); the rest go ahead.
    hold: Callable[[list[int], datetime], dict[int, str]] | None = None
    # The foreign key log lines name a row by, besides its own id.
    owner: str = "signature"
    # Called with the row's id in the transaction that records it sent, or
    # failed for good: what else changes with it (a digest's letters).
    on_sent: Callable[[int], object] | None = None
    on_failed: Callable[[int], object] | None = None

    @property
    def owner_id(self) -> str:
        """The owner's column (for values_list and getattr)."""
        return f"{self.owner}_id"

    def ref(self, row_id: int, owner_id: int) -> str:
        """How log lines name a row: "letter 12 (signature 34)", ids only."""
        return f"{self.label} {row_id} ({self.owner} {owner_id})"


def _hours_then_cap(ids: list[int], now: datetime) -> dict[int, datetime]:
    """Letters outside their official's delivery hours wait for the opening and
    take no throttle slot; the rest pass the hourly cap."""
    waits = letter_windows(ids, now)
    rest = [pk for pk in ids if pk not in waits]
    return waits | (official_slots(rest, now) if rest else {})


LETTERS = Outbox(
    model=Letter,
    label="letter",
    task=letters_send_task,
    related=("signature__campaign", "official"),
    build=emails.letter_message,
    throttle=_hours_then_cap,
)
CONFIRMATIONS = Outbox(
    model=ConfirmationEmail,
    label="confirmation",
    task=confirmations_send_task,
    related=("signature__campaign",),  # a signing's email is rendered when sent
    build=emails.confirmation_message,
)
DIGESTS = Outbox(
    model=Digest,
    label="digest",
    task=digests_deliver_task,
    related=("campaign", "official"),
    build=emails.digest_message,
    throttle=digest_windows,
    owner="official",
    on_sent=lambda row_id: digests.digest_record_sent(digest_id=row_id),
    on_failed=lambda row_id: digests.digest_record_failed(digest_id=row_id),
)
RECEIPTS = Outbox(
    model=Receipt,
    label="receipt",
    task=receipts_send_task,
    related=("signature",),
    build=emails.receipt_message,
)
# A stopped update's copy: paused again, or cancelled, with it.
_STOPPED = {
    Update.Status.PAUSED: UpdateEmailStatus.PAUSED,
    Update.Status.CANCELLED: UpdateEmailStatus.CANCELLED,
}


def _stopped_updates(ids: list[int], now: datetime) -> dict[int, str]:
    """Copies whose update was paused or cancelled after they were queued.
    Pause and cancel change only the waiting copies; one being sent then may
    come back pending (a 4xx retry, a released batch, the sweeper freeing it)
    and be queued again: it is paused (resume sends it) or cancelled here.
    The claim holds the copies' locks, so a pause or cancel either committed
    before (and is seen here) or waits for the claim and finds them sending:
    those finish, as the admin says."""
    rows = UpdateEmail.objects.filter(pk__in=ids, update__status__in=_STOPPED)
    held = {
        pk: _STOPPED[status] for pk, status in rows.values_list("pk", "update__status")
    }
    for status in set(held.values()):
        UpdateEmail.objects.filter(
            pk__in=[pk for pk, to in held.items() if to == status]
        ).update(status=status, updated_at=now)
    return held


# Campaign updates: paced by services/updates/pacing.py, which decides when each
# row is due; the claim sets aside the copies of an update since stopped.
UPDATES = Outbox(
    model=UpdateEmail,
    label="update email",
    task=update_emails_send_task,
    related=("update__campaign", "signature"),
    build=emails.update_message,
    hold=_stopped_updates,
)
OUTBOXES = (LETTERS, CONFIRMATIONS, DIGESTS, RECEIPTS, UPDATES)


def outbox_for(model: type[OutboxMessage]) -> Outbox:
    return next(outbox for outbox in OUTBOXES if outbox.model is model)
