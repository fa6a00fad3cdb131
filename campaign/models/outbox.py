"""The outbox: every email the site owes someone is a row here first. The row is
the truth; the queue only carries its id (campaign/services/delivery/).
"""

from django.db import models

from .campaigns import Campaign, Official
from .signatures import Signature


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # The receiving server accepted it, then sent back a permanent bounce (5.x.x)
    # to its VERP address (campaign/services/bounces.py): never retried.
    BOUNCED = "bounced", "Bounced"


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
    bounce_code = models.CharField(
        "bounce status",
        max_length=16,
        blank=True,
        help_text="The status code of the last bounce reported for this email "
        "(5.x.x: permanent, 4.x.x: temporary), e.g. 5.1.1 for an unknown mailbox.",
    )
    bounce_diagnostic = models.TextField(
        blank=True, help_text="What the receiving server said in its bounce."
    )
    bounced_at = models.DateTimeField(null=True, blank=True)
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


class LetterStatus(models.TextChoices):
    """OutboxStatus plus the ways a letter reaches an official other than by an
    email of its own (see campaign/services/routing.py)."""

    PENDING = OutboxStatus.PENDING.value, OutboxStatus.PENDING.label
    SENDING = OutboxStatus.SENDING.value, OutboxStatus.SENDING.label
    SENT = OutboxStatus.SENT.value, "Sent on its own"
    FAILED = OutboxStatus.FAILED.value, OutboxStatus.FAILED.label
    CANCELLED = OutboxStatus.CANCELLED.value, OutboxStatus.CANCELLED.label
    AWAITING_DIGEST = "awaiting_digest", "Awaiting the daily digest"
    DIGESTED = "digested", "Delivered in a digest"
    HELD = "held", "Held for hand-in"
    BOUNCED = OutboxStatus.BOUNCED.value, OutboxStatus.BOUNCED.label
    # The official's address is failing (campaign/services/failing.py): kept
    # until an organiser clears the flag, then routed as a new letter would be.
    HELD_FAILING = "held_failing", "Held: the official's address is failing"


# Counted as delivered to the official (docs/organiser.md "Delivery modes"; the
# CSV export).
DELIVERED_LETTER_STATUSES = (LetterStatus.SENT, LetterStatus.DIGESTED)

# A letter in any other status has an outcome the supporter can be told about in
# their receipt (campaign/services/receipts.py): it is not going to change by
# itself, short of a late bounce.
UNSETTLED_LETTER_STATUSES = (
    LetterStatus.PENDING,
    LetterStatus.SENDING,
    LetterStatus.AWAITING_DIGEST,
    LetterStatus.HELD_FAILING,
)


class Digest(OutboxMessage):
    """One daily email to one official about one campaign: the new supporters
    since the last one, the letter once, and a link to the official's page.
    Letters it carried point at it (Letter.digest)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="digests"
    )
    official = models.ForeignKey(
        Official, on_delete=models.PROTECT, related_name="digests"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()
    new_signatures = models.PositiveIntegerField(
        help_text="Supporters this digest told the official about."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "digest"
        verbose_name_plural = "digests"
        indexes = outbox_indexes(prefix="digest")

    def __str__(self) -> str:
        return f"Digest to {self.official.name}: {self.new_signatures} new"


class Letter(OutboxMessage):
    """One supporter's letter to one official: the text exactly as sent."""

    status = models.CharField(
        max_length=20, choices=LetterStatus.choices, default=LetterStatus.PENDING
    )
    own_words = models.PositiveIntegerField(
        "own words",
        default=0,
        help_text="Words of the supporter's own in this letter: what it has that "
        "the standard letter, with the same name and town, does not.",
    )
    digest = models.ForeignKey(
        Digest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters",
        help_text="The digest that listed this supporter (and, for a letter that "
        "waited for it, carried the letter).",
    )

    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, related_name="letters"
    )
    official = models.ForeignKey(
        Official, on_delete=models.PROTECT, related_name="letters"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "letter"
        verbose_name_plural = "letters"
        constraints = [
            models.UniqueConstraint(
                fields=["signature", "official"], name="one_letter_per_official"
            )
        ]
        indexes = [
            *outbox_indexes(prefix="letter"),
            # The next digest: an official's letters no digest has listed yet.
            models.Index(
                fields=["official", "status"],
                condition=models.Q(digest__isnull=True),
                name="letter_undigested",
            ),
            # The throttle: an official's sends in the last hour …
            models.Index(fields=["official", "sent_at"]),
            # … their letters being sent, and a waiting letter's place in line.
            models.Index(
                fields=["official", "status", "id"],
                condition=models.Q(
                    status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
                ),
                name="letter_unsent_per_official",
            ),
            # The daily questionnaire run: letters sent on their own, by when.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(status=OutboxStatus.SENT),
                name="letter_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Letter to {self.official.name} from {self.signature.full_name}"


class ConfirmationEmail(OutboxMessage):
    """An email to a supporter: "please confirm your signature", "you have already
    signed", "did they reply?"."""

    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, related_name="confirmation_emails"
    )
    template = models.CharField(
        max_length=40,
        blank=True,
        help_text="A signing's email (confirm, already_signed), rendered when it "
        "is sent, with the signature's current link; blank: the subject and body "
        "stored here are sent.",
    )
    site_url = models.CharField(
        "site address",
        max_length=200,
        blank=True,
        help_text="SITE_URL where the email was asked for: the links of an email "
        "rendered when sent start with it.",
    )
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "confirmation email"
        verbose_name_plural = "confirmation emails"
        indexes = outbox_indexes(prefix="confirmation")

    def __str__(self) -> str:
        return f"Confirmation for {self.signature.full_name}"
