"""Officials, campaigns and which officials each campaign writes to (and how)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from letters.models import LetterTemplate

from ..validators import (
    validate_delivery_hours,
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
    # The import key (admin's Import, campaign/resources.py): re-importing an
    # updated list updates these officials instead of adding them again.
    external_id = models.CharField(
        "external id",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_single_line],
        help_text="Their identifier in the list they were imported from (e.g. a "
        "parliament's member id): the key a re-import updates by.",
    )
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
    failing_since = models.DateTimeField(
        "address failing since",
        null=True,
        blank=True,
        help_text="Set after 3 permanent bounces in a row: new letters to this "
        "official are held, not sent. Correct the address, then use the action "
        "\u201cClear the failing flag and release held letters\u201d.",
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
        validate_delivery_hours(self.send_from, self.send_until)


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
    # Retention (campaign/services/retention.py) counts from here.
    closed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the campaign closed (its closing date, or when its status "
        "became Closed). Supporters' data is anonymised "
        "SIGNER_DATA_RETENTION_DAYS later.",
    )
    keep_data_until = models.DateField(
        "keep supporters' data until",
        null=True,
        blank=True,
        help_text="Optional: do not anonymise supporters before this date, "
        "whatever the retention period says. Give the reason below.",
    )
    keep_data_reason = models.CharField(
        "reason for keeping the data",
        max_length=500,
        blank=True,
        validators=[validate_single_line],
        help_text="Why the data is kept longer (e.g. a legal claim or a hand-in "
        "still to come). Required with a date.",
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

    def clean(self) -> None:
        if self.keep_data_until and not self.keep_data_reason.strip():
            raise ValidationError(
                {"keep_data_reason": "Say why the data is kept past its date."},
                code="keep_reason",
            )

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
