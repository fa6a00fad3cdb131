"""The outbox: queueing, sending and recording every email the site sends.

Letters and digests to officials, confirmation emails, receipts and campaign
updates to supporters are rows (OutboxMessage subclasses); the row is the truth
and the queue only carries its id. One mechanism serves every kind, each
described by an entry in the registry:

- registry.py: the kinds of row: model, Celery task, how to build the email.
- queueing.py: hands row ids to the worker in batches, after commit.
- outbox.py: the steps: claim, build, record (what a dead worker costs).
- batch.py: sends a batch of rows over one SMTP connection; what each kind of
  failure costs the rest of the batch.
- throttle.py: the per-official hourly cap, run inside the claim.
- windows.py: officials' delivery hours, checked in the claim before the cap.
- policy.py: which failures are retried, how long to wait, the countdown bound.
- sweeper.py: re-queues what the queue lost, and rows a dead worker left.
- actions.py: the organiser's admin actions (retry, cancel).

Log lines name rows by id (the row's and its signature's), never by a name or an
address: the server's full reply is kept on the row (last_error) and at DEBUG.
Every module logs as "campaign.services.delivery" (its __package__): one logger
for the whole outbox, whichever module writes the line.

campaign.tasks imports these services inside its task bodies, so the registry
can hold the task objects themselves.

Callers import from here; the names below are the package's interface.
"""

from .actions import outbox_cancel, outbox_retry
from .batch import (
    BatchResult,
    confirmations_send,
    digest_send,
    digests_send,
    letter_send,
    letters_send,
    receipts_send,
    update_emails_send,
)
from .outbox import DeliveryResult, Outcome
from .queueing import (
    confirmation_enqueue,
    digest_enqueue,
    letters_enqueue,
    receipts_enqueue,
    update_emails_enqueue,
)
from .sweeper import outbox_sweep
from .throttle import THROTTLE_SLACK, THROTTLE_WINDOW

__all__ = [
    "THROTTLE_SLACK",
    "THROTTLE_WINDOW",
    "BatchResult",
    "DeliveryResult",
    "Outcome",
    "confirmation_enqueue",
    "confirmations_send",
    "digest_enqueue",
    "digest_send",
    "digests_send",
    "letter_send",
    "letters_enqueue",
    "letters_send",
    "outbox_cancel",
    "outbox_retry",
    "outbox_sweep",
    "receipts_enqueue",
    "receipts_send",
    "update_emails_enqueue",
    "update_emails_send",
]
