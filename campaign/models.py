"""Campaigns, the officials they write to, signatures and the outbox of emails.

Nothing important happens in save() or signals: writes live in campaign/services/.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from letters.models import LetterTemplate

from .outbox_models import OutboxMessage, OutboxStatus, outbox_indexes
from .postcodes import postcode_district
from .validators import (
    normalise_email,
    validate_postcode,
    validate_single_line,
    validate_text_block,
    validate_weekdays,
)


class Official(models.Model):
    name = models.CharField(max_length=120, validators=[validate_single_line])
    position = models.CharField(
        "position",
        max_length=120,
        validators=[validate_single_line],
        help_text='Their title, e.g. "Prime Minister".',
    )
    salutation = models.CharField(
        max_length=120,
        validators=[validate_single_line],
        help_text='How letters open, e.g. "Dear Prime Minister".',
    )
    email = models.EmailField(help_text="Where their letters are delivered.")
    organisation = models.CharField(
        max_length=160, blank=True, validators=[validate_single_line]
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive officials receive no new letters.",
    )
    # Delivery hours: the rule lives in campaign/services/windows.py.
    send_days = models.CharField(
        "delivery days",
        max_length=7,
        blank=True,
        validators=[validate_weekdays],
        help_text="Days emails may arrive, as digits 1 (Monday) to 7 (Sunday), "
        "e.g. 12345 for Monday to Friday. Blank: any day.",
    )
    send_from = models.TimeField(
        "delivery hours from",
        null=True,
        blank=True,
        help_text="Optional, site time: no email before this time of day.",
    )
    send_until = models.TimeField(
        "delivery hours until",
        null=True,
        blank=True,
        help_text="Optional, site time: no email from this time of day.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "official"
        verbose_name_plural = "officials"

    def __str__(self) -> str:
        return f"{self.name} ({self.position})"

    def clean(self) -> None:
        if (self.send_from is None) != (self.send_until is None):
            raise ValidationError(
                "Give both ends of the delivery hours, or neither.",
                code="window_half",
            )
        if self.send_from is not None and self.send_from >= self.send_until:
            raise ValidationError(
                "Delivery hours must end after they start (on the same day).",
                code="window_order",
            )


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    slug = models.SlugField(
        unique=True, max_length=80, help_text="Used in the address: /campaigns/<slug>/"
    )
    title = models.CharField(max_length=160, validators=[validate_single_line])
    summary = models.TextField(
        max_length=2000,
        validators=[validate_text_block],
        help_text="Shown above the letter on the campaign page.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    signature_goal = models.PositiveIntegerField(
        default=1000, validators=[MinValueValidator(1)]
    )
    letter_template = models.ForeignKey(
        LetterTemplate, on_delete=models.PROTECT, related_name="campaigns"
    )
    targets = models.ManyToManyField(
        Official,
        through="CampaignTarget",
        related_name="campaigns",
        help_text="Each confirmed signature sends one letter to each of these.",
    )
    organiser_email = models.EmailField(
        "organiser's email",
        blank=True,
        help_text="Where officials' replies to daily digests go. Blank: the "
        "site's own address (DEFAULT_FROM_EMAIL).",
    )
    opens_at = models.DateTimeField(
        null=True, blank=True, help_text="Optional: not signable before this."
    )
    closes_at = models.DateTimeField(
        null=True, blank=True, help_text="Optional: not signable from this moment."
    )
    signers_may_edit = models.BooleanField(
        "signers may edit the letter",
        default=False,
        help_text="Let supporters rewrite the letter body before signing.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "campaign"
        verbose_name_plural = "campaigns"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__isnull=True)
                | models.Q(opens_at__isnull=True)
                | models.Q(closes_at__gt=models.F("opens_at")),
                name="campaign_closes_after_opening",
                violation_error_message="The closing date must be after the opening.",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def reply_to_email(self) -> str:
        return self.organiser_email or settings.DEFAULT_FROM_EMAIL

    def is_signable(self, *, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.LIVE
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )


class DeliveryMode(models.TextChoices):
    """How an official receives a campaign's letters (routing: letter_status_for)."""

    PERSONAL_AND_DIGEST = (
        "personal_digest",
        "Personal letters one by one, the rest in a daily digest",
    )
    EVERY_LETTER = "every", "Every letter one by one"
    DIGEST_ONLY = "digest", "Daily digest only"
    HAND_IN = "hand_in", "Hand-in only (no email)"


class CampaignTarget(models.Model):
    """An official a campaign writes to, and how their letters reach them. The
    table is the one the plain many-to-many field had (migration 0003)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="target_links"
    )
    official = models.ForeignKey(
        Official, on_delete=models.CASCADE, related_name="target_links"
    )
    delivery_mode = models.CharField(
        max_length=20,
        choices=DeliveryMode.choices,
        default=DeliveryMode.PERSONAL_AND_DIGEST,
        help_text="Personal letters one by one, the rest in a daily digest: a "
        "supporter who wrote enough of their own words is emailed on their own; "
        "copies of the standard letter are summed up in one email a day. Every "
        "letter one by one: one email per supporter. Daily digest only: one email "
        "a day, whatever supporters wrote. Hand-in only: nothing is emailed; you "
        "deliver the letters in person. A change applies to letters not yet sent.",
    )
    # Part of the signed link to the official's page: raising it revokes every
    # link given out so far (campaign/official_pages.py).
    page_version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        db_table = "campaign_campaign_targets"
        ordering = ["campaign", "official__name"]
        verbose_name = "target official"
        verbose_name_plural = "target officials"
        # The auto-created table's own unique index, kept as it is.
        unique_together = [("campaign", "official")]

    def __str__(self) -> str:
        return f"{self.official} for {self.campaign}"


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class Signature(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="signatures"
    )
    full_name = models.CharField(max_length=100, validators=[validate_single_line])
    email = models.EmailField(max_length=254)
    # Lower-cased, +tag and Gmail dots removed: see validators.normalise_email.
    email_normalised = models.CharField(max_length=254, editable=False)
    postcode = models.CharField(
        max_length=15, validators=[validate_single_line, validate_postcode]
    )
    town = models.CharField(
        max_length=80, blank=True, validators=[validate_single_line]
    )
    personal_paragraph = models.TextField(
        max_length=2000, blank=True, validators=[validate_text_block]
    )
    letter_body = models.TextField(
        "edited letter body",
        max_length=20_000,
        blank=True,
        validators=[validate_text_block],
        help_text="The supporter's own version of the letter; blank means the "
        "campaign's template as written.",
    )
    consent_to_send = models.BooleanField(
        default=False,
        help_text="Agreed that their name and letter go to the officials.",
    )
    keep_updated = models.BooleanField(
        default=False, help_text="Asked to hear about this campaign's progress."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    token = models.CharField(
        max_length=64, unique=True, default=_new_token, editable=False
    )
    token_created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "signature"
        verbose_name_plural = "signatures"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "email_normalised"],
                name="one_signature_per_email_per_campaign",
                violation_error_message="This email address has already signed.",
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} – {self.campaign}"

    def clean(self) -> None:
        self.email_normalised = normalise_email(self.email or "")
        # Forms skip constraints on fields they don't edit (email_normalised), so
        # check here to show "already signed" instead of an IntegrityError. The
        # database constraint still settles races.
        duplicate = (
            Signature.objects.filter(
                campaign_id=self.campaign_id, email_normalised=self.email_normalised
            )
            .exclude(pk=self.pk)
            .exists()
        )
        if self.campaign_id and duplicate:
            raise ValidationError({"email": "This email address has already signed."})

    @property
    def postcode_district(self) -> str:
        return postcode_district(self.postcode)

    def token_expired(self, *, now=None) -> bool:
        max_age = timedelta(days=settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS)
        return (now or timezone.now()) - self.token_created_at > max_age


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


# Counted as delivered to the official (README "Delivery modes"; the CSV export).
DELIVERED_LETTER_STATUSES = (LetterStatus.SENT, LetterStatus.DIGESTED)


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
        ]

    def __str__(self) -> str:
        return f"Letter to {self.official.name} from {self.signature.full_name}"


class ConfirmationEmail(OutboxMessage):
    """The "please confirm your signature" email to a supporter."""

    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, related_name="confirmation_emails"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "confirmation email"
        verbose_name_plural = "confirmation emails"
        indexes = outbox_indexes(prefix="confirmation")

    def __str__(self) -> str:
        return f"Confirmation for {self.signature.full_name}"
