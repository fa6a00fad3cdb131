"""A supporter's signature on a campaign, pending until they confirm by email."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .. import sources
from ..postcodes import postcode_district
from ..validators import (
    normalise_email,
    validate_postcode,
    validate_single_line,
    validate_text_block,
)
from .campaigns import Campaign


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class Signature(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        # Removed by the supporter (the "remove my signature" link): anonymised,
        # and no longer counted. Anonymisation by retention keeps the status.
        WITHDRAWN = "withdrawn", "Withdrawn"

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="signatures",
        db_index=False,  # "signature_export_order" leads with it
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
    # Campaigns by postcode (models/areas.py): where the postcode placed them and
    # who represented that area when they signed; their letter goes to that person.
    area = models.ForeignKey(
        "Area",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The area their postcode is in (campaigns by postcode).",
    )
    representative = models.ForeignKey(
        "Official",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="represented_signatures",
        help_text="Their area's official when they signed: their letter goes to "
        "this person.",
    )
    keep_updated = models.BooleanField(
        default=False, help_text="Asked to hear about this campaign's progress."
    )
    # Where the supporter came from (campaign/sources.py): cleaned, never refused.
    utm_source = models.CharField(
        "utm_source",
        max_length=sources.VALUE_MAX_LENGTH,
        blank=True,
        help_text="From the campaign link, e.g. a share button's channel.",
    )
    utm_medium = models.CharField(
        "utm_medium", max_length=sources.VALUE_MAX_LENGTH, blank=True
    )
    utm_campaign = models.CharField(
        "utm_campaign", max_length=sources.VALUE_MAX_LENGTH, blank=True
    )
    ref = models.CharField(
        "ref",
        max_length=sources.VALUE_MAX_LENGTH,
        blank=True,
        help_text="The link's ref= parameter, e.g. a partner's code.",
    )
    referrer_host = models.CharField(
        "referring site",
        max_length=sources.HOST_MAX_LENGTH,
        blank=True,
        help_text="Host of the page that linked to the campaign (never its URL).",
    )
    # Not indexed alone: a few values, each on a large share of rows; the
    # indexes below lead with the campaign. Each index is work for every INSERT.
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Unique by a constraint in Meta rather than unique=True, which on PostgreSQL
    # adds a second index for LIKE queries nothing makes.
    token = models.CharField(max_length=64, default=_new_token, editable=False)
    token_created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The consent record (campaign/privacy.py): what they agreed to, and when.
    consent_text = models.ForeignKey(
        "ConsentText",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="consent wording",
        help_text="The consent wording shown when they signed (blank: signed "
        "before consent wordings were recorded).",
    )
    consented_at = models.DateTimeField(null=True, blank=True)
    client_ip_hash = models.CharField(
        "client address hash",
        max_length=64,
        blank=True,
        editable=False,
        help_text="A keyed hash of the address they signed from, for spotting "
        "abuse; never the address itself. Removed on anonymisation.",
    )
    anonymised_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the name, email, full postcode and own words were removed.",
    )
    # What became of its letters, kept with every change of a letter's status
    # (campaign/services/letter_counts.py), so the CSV export reads two columns
    # instead of counting letters.
    letters_delivered = models.IntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Letters delivered to officials: sent on their own or carried "
        "by a digest.",
    )
    letters_failed = models.IntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Letters that failed for good.",
    )
    # Campaign updates (campaign/services/updates/): keep_updated is the consent;
    # these record why it no longer holds. Updates only: letters, receipts and
    # questionnaires are not marketing and are unaffected.
    updates_unsubscribed_at = models.DateTimeField(
        "unsubscribed from updates at",
        null=True,
        blank=True,
        editable=False,
        help_text="When they unsubscribed from this campaign's updates.",
    )
    updates_bounced_at = models.DateTimeField(
        "update bounced at",
        null=True,
        blank=True,
        editable=False,
        help_text="When an update to their address bounced permanently: no "
        "further updates go to it.",
    )
    receipt_at = models.DateTimeField(
        "receipt queued at",
        null=True,
        blank=True,
        editable=False,
        help_text="When the supporter's receipt (what happened to each of their "
        "letters) was queued; blank until every letter has an outcome.",
    )

    # Vetting before a hand-in (campaign/services/vetting.py): an excluded
    # signature still counts on the site; the hand-in pack leaves it out.
    handin_excluded_at = models.DateTimeField(
        "excluded from hand-in at",
        null=True,
        blank=True,
        editable=False,
        help_text="Set by the action \u201cExclude from hand-in\u201d: the hand-in "
        "pack leaves this signature out (it still counts on the site).",
    )
    handin_exclusion_reason = models.CharField(
        "reason for exclusion",
        max_length=200,
        blank=True,
        default="",
        # Also in the database: hand-written INSERTs (bench/) need not name it.
        db_default="",
        editable=False,
        help_text="Why it was left out of the hand-in, e.g. \u201cfake name\u201d.",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "signature"
        verbose_name_plural = "signatures"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "email_normalised"],
                name="one_signature_per_email_per_campaign",
                violation_error_message="This email address has already signed.",
            ),
            # The name PostgreSQL gave unique=True's constraint (migration 0016).
            models.UniqueConstraint(
                fields=["token"], name="campaign_signature_token_key"
            ),
        ]
        indexes = [
            # The CSV export: a campaign's signatures in id order, without
            # reading other campaigns' (and every lookup by campaign).
            models.Index(fields=["campaign", "id"], name="signature_export_order"),
            models.Index(fields=["campaign", "status", "created_at"]),
            # Retention: a campaign's signatures still to anonymise, in id order.
            models.Index(
                fields=["campaign", "id"],
                condition=models.Q(anonymised_at__isnull=True),
                name="signature_not_anonymised",
            ),
            # Retention: pending signatures whose link has expired.
            models.Index(
                fields=["token_created_at"],
                condition=models.Q(status="pending"),
                name="signature_pending_by_age",
            ),
            # receipts_create_due: confirmed signatures still owed a receipt.
            models.Index(
                fields=["confirmed_at"],
                condition=models.Q(status="confirmed", receipt_at__isnull=True),
                name="signature_receipt_owed",
            ),
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
