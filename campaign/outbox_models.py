"""The outbox's abstract base: what every email the site owes someone shares
(status, attempts, the last error, when to try next). The tables are in models.py.
"""

from django.db import models


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class OutboxMessage(models.Model):
    """An email the site owes someone. The row is the truth; the queue only
    carries its id, and the sweeper re-queues rows whose message got lost."""

    status = models.CharField(
        max_length=10,
        choices=OutboxStatus.choices,
        default=OutboxStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Not before this time (retry backoff, throttle).",
    )
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def outbox_indexes(*, prefix: str) -> list[models.Index]:
    """Indexes every outbox table needs (Meta.indexes of an abstract model can't
    name partial indexes per table, hence a function)."""
    return [
        # The sweeper: pending rows due by next_attempt_at, and rows never tried
        # (no next_attempt_at) by created_at. Partial, so that sweep never walks
        # the history of sent rows.
        models.Index(fields=["status", "next_attempt_at"]),
        models.Index(
            fields=["created_at"],
            condition=models.Q(
                status=OutboxStatus.PENDING, next_attempt_at__isnull=True
            ),
            name=f"{prefix}_untried",
        ),
        models.Index(fields=["created_at"]),  # the admin lists' order
    ]
