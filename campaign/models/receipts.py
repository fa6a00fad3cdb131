"""Receipts: telling a supporter what happened to their letters. An outbox row
like the confirmation email (same worker, retries, sweeper)."""

from django.db import models

from .outbox import Letter, OutboxMessage, outbox_indexes
from .signatures import Signature


class ReceiptKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt (every letter's outcome)"
    FOLLOW_UP = "follow_up", "Follow-up (a letter bounced after the receipt)"


class Receipt(OutboxMessage):
    """One email to a supporter: the receipt listing each official and what
    happened to the letter, or the short follow-up for a letter that bounced
    after it. The constraints make each at most once (campaign/services/receipts.py
    relies on them to stay idempotent)."""

    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, related_name="receipts"
    )
    kind = models.CharField(max_length=10, choices=ReceiptKind.choices)
    letter = models.ForeignKey(
        Letter,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="For a follow-up: the letter that bounced.",
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "receipt"
        verbose_name_plural = "receipts"
        constraints = [
            models.UniqueConstraint(
                fields=["signature"],
                condition=models.Q(kind="receipt"),
                name="one_receipt_per_signature",
                violation_error_message="This supporter already has a receipt.",
            ),
            models.UniqueConstraint(
                fields=["letter"],
                condition=models.Q(kind="follow_up"),
                name="one_follow_up_per_letter",
                violation_error_message="This letter already has a follow-up.",
            ),
        ]
        indexes = outbox_indexes(prefix="receipt")

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display().split(' (')[0]} for {self.signature.full_name}"
        )
