"""Campaign updates to supporters: write, preview, test, send, pace, pause,
resume, cancel; unsubscribing and bounces.

- audience.py: who gets an update (the consent rule is models/updates.py).
- sending.py: the rows, one INSERT … SELECT; pause, resume, cancel, progress.
- pacing.py: hands the worker the rows now due, at UPDATE_SEND_RATE_PER_MINUTE.
- previews.py: the preview and "send me a test".
- unsubscribing.py: one-click unsubscribe and permanent bounces.

Sending itself is the outbox's (campaign/services/delivery/, the UPDATES entry):
claim, send over one connection, record, retry 4xx, fail 5xx, sweep.
"""

from .audience import update_audience, update_audience_count
from .pacing import update_enqueue_due, updates_enqueue_due
from .previews import update_create, update_preview, update_send_test
from .sending import (
    UpdateNotSendable,
    update_cancel,
    update_pause,
    update_progress,
    update_resume,
    update_send,
)
from .unsubscribing import signature_unsubscribe, update_email_bounced

__all__ = [
    "UpdateNotSendable",
    "signature_unsubscribe",
    "update_audience",
    "update_audience_count",
    "update_cancel",
    "update_create",
    "update_email_bounced",
    "update_enqueue_due",
    "update_pause",
    "update_preview",
    "update_progress",
    "update_resume",
    "update_send",
    "update_send_test",
    "updates_enqueue_due",
]
