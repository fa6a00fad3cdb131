"""Campaign updates: an email an organiser writes to a campaign's supporters (who
asked for updates), sent through the outbox like everything else. The rules of
who gets one, and how they are sent, live in campaign/services/updates/."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from letters.fields import UPDATE_FIELDS, UPDATE_REFUSED
from letters.rendering import (
    MAX_BODY_LENGTH,
    MAX_SUBJECT_LENGTH,
    TemplateError,
    validate_subject,
    validate_template,
)

from .campaigns import Campaign, Official
from .outbox import OutboxMessage, OutboxStatus, outbox_indexes
from .signatures import Signature

# Who gets updates: the rule, in SQL for the audience and in Python for the
# worker's last check before sending (a supporter may withdraw, be anonymised or
# unsubscribe after the rows were written). Keep the two together.
WANTS_UPDATES = models.Q(
    status=Signature.Status.CONFIRMED,
    keep_updated=True,
    anonymised_at__isnull=True,
    updates_unsubscribed_at__isnull=True,
    updates_bounced_at__isnull=True,
)


def wants_updates(signature: Signature) -> bool:
    return (
        signature.status == Signature.Status.CONFIRMED
        and signature.keep_updated
        and signature.anonymised_at is None
        and signature.updates_unsubscribed_at is None
        and signature.updates_bounced_at is None
    )


class Update(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="updates"
    )
    subject = models.CharField(
        max_length=MAX_SUBJECT_LENGTH,
        help_text="One line. May use {{ signer.name }}, {{ campaign.title }} and "
        "{{ campaign.signatures }}.",
    )
    body = models.TextField(
        max_length=MAX_BODY_LENGTH,
        help_text="Plain text, with the same merge fields as the subject. An "
        "unsubscribe link is added below it.",
    )
    signed_after = models.DateField(
        null=True,
        blank=True,
        help_text="Optional: only supporters who signed on or after this day.",
    )
    signed_before = models.DateField(
        null=True,
        blank=True,
        help_text="Optional: only supporters who signed before this day.",
    )
    wrote_to = models.ForeignKey(
        Official,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="wrote to",
        help_text="Optional: only supporters whose letter went to this official.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    signature_count = models.PositiveIntegerField(
        null=True,
        editable=False,
        help_text="The campaign's signatures when it was sent: "
        "{{ campaign.signatures }} in every copy.",
    )
    recipients = models.PositiveIntegerField(
        null=True, editable=False, help_text="Supporters it was queued for."
    )
    # The pacing horizon: rows due up to here have been handed to the worker
    # (services/updates/pacing.py); NULL: none yet.
    queued_until = models.DateTimeField(null=True, editable=False)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
    )
    sent_at = models.DateTimeField("send started at", null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "update"
        verbose_name_plural = "updates"
        indexes = [
            # The pacing beat: updates being sent.
            models.Index(
                fields=["status"],
                condition=models.Q(status="sending"),
                name="update_sending",
            )
        ]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        errors = {}
        rules = {"fields": UPDATE_FIELDS, "refused": UPDATE_REFUSED}
        for name, check in (
            ("subject", validate_subject),
            ("body", validate_template),
        ):
            try:
                check(getattr(self, name) or "", **rules)
            except TemplateError as exc:
                errors[name] = exc.problems
        after, before = self.signed_after, self.signed_before
        if after and before and after >= before:
            errors["signed_before"] = "Give a day after “signed after”."
        if errors:
            raise ValidationError(errors)


class UpdateEmailStatus(models.TextChoices):
    """OutboxStatus plus "paused": waiting for the organiser to resume."""

    PENDING = OutboxStatus.PENDING.value, OutboxStatus.PENDING.label
    SENDING = OutboxStatus.SENDING.value, OutboxStatus.SENDING.label
    SENT = OutboxStatus.SENT.value, OutboxStatus.SENT.label
    FAILED = OutboxStatus.FAILED.value, OutboxStatus.FAILED.label
    CANCELLED = OutboxStatus.CANCELLED.value, OutboxStatus.CANCELLED.label
    BOUNCED = OutboxStatus.BOUNCED.value, OutboxStatus.BOUNCED.label
    PAUSED = "paused", "Paused"


class UpdateEmail(OutboxMessage):
    """One supporter's copy of an update. Holds no text: the worker renders the
    update for the supporter when it sends (emails.update_message), so 100,000
    rows are one INSERT … SELECT."""

    status = models.CharField(
        max_length=10,
        choices=UpdateEmailStatus.choices,
        default=UpdateEmailStatus.PENDING,
    )
    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="emails")
    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, related_name="update_emails"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "update email"
        verbose_name_plural = "update emails"
        constraints = [
            # Each supporter gets an update once, however often "send" is pressed.
            models.UniqueConstraint(
                fields=["update", "signature"],
                name="one_update_email_per_signature",
                violation_error_message="This supporter already has this update.",
            )
        ]
        indexes = [
            *outbox_indexes(prefix="update_email"),
            # Progress (sent / failed / waiting), pause, resume and cancel.
            models.Index(fields=["update", "status"], name="update_email_progress"),
        ]

    def __str__(self) -> str:
        return f"Update {self.update_id} to signature {self.signature_id}"
