"""A supporter signs a campaign, then confirms from the link we email them.

Every write is one transaction that also writes the outbox row (ConfirmationEmail
or Letter) and hands its id to the worker only after commit: a crash can leave a
row the sweeper re-queues, never a signature whose email was silently lost.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaign import areas, privacy, selectors
from campaign.models import (
    Area,
    Campaign,
    ConfirmationEmail,
    ConsentText,
    LetterStatus,
    Official,
    Signature,
)
from campaign.selectors import ConfirmationState, SigningState
from campaign.services import delivery
from campaign.services.letter_creation import letters_create_for
from campaign.services.signature_insert import signature_insert, signature_locked
from campaign.services.supporter_emails import (
    supporter_email_enqueue,
    supporter_email_write,
)
from campaign.sources import NO_SOURCE, Source
from campaign.validators import normalise_email
from letters.rendering import UNSIGNED_MESSAGE, is_signed, validate_template

logger = logging.getLogger(__name__)

# A supporter who signs again gets at most one email per this interval: enough to
# recover a lost confirmation, too few to turn the form into a mail cannon.
RESEND_INTERVAL = timedelta(hours=1)


class SigningError(Exception):
    """Base of the refusals a view turns into a friendly page."""


class CampaignNotSignable(SigningError):
    """Not taking signatures: .state says why (see selectors.SigningState)."""

    def __init__(self, campaign: Campaign, state: SigningState) -> None:
        super().__init__(f"{campaign} is not taking signatures ({state}).")
        self.state = state


class ConfirmationRefused(SigningError):
    """A link that cannot confirm: .state says why (see selectors.confirmation_state),
    .signature is its signature, if there is one."""

    def __init__(self, state: ConfirmationState, signature: Signature | None) -> None:
        super().__init__(f"This confirmation link cannot be used ({state}).")
        self.state = state
        self.signature = signature


def campaign_sign(
    *,
    campaign: Campaign,
    full_name: str,
    email: str,
    postcode: str,
    town: str = "",
    personal_paragraph: str = "",
    letter_body: str = "",
    consent_to_send: bool,
    keep_updated: bool = False,
    consent_text: ConsentText | None = None,
    client_ip_hash: str = "",
    source: Source = NO_SOURCE,
    targets: list[Official] | None = None,
    area: Area | None = None,
) -> Signature:
    """Store a pending signature and queue its confirmation email.

    Signing again with the same (normalised) address returns the existing
    signature and behaves the same to the caller, so the form cannot be used to
    find out who signed; the owner of the address gets at most one email an hour.
    Raises CampaignNotSignable, or ValidationError for input a form should have
    refused (defence in depth: the model's own validators run here too).
    In a campaign by postcode, `area` is the supporter's (campaign/areas.py:
    signer_area()); its official, as of now, is the one their letter goes to.
    """
    # `targets`: the campaign's active targets if the caller has them, current
    # with `campaign` (the page cache's); otherwise one EXISTS query.
    state = selectors.campaign_signing_state(campaign=campaign, targets=targets)
    if state is not SigningState.OPEN:
        raise CampaignNotSignable(campaign, state)
    if not consent_to_send:
        raise ValidationError({"consent_to_send": "Consent is required to sign."})
    if letter_body and not campaign.signers_may_edit:
        raise ValidationError({"letter_body": "This campaign's letter is fixed."})
    representative = _representative(campaign=campaign, area=area)
    if letter_body:
        validate_template(letter_body)
        if not is_signed(letter_body):
            raise ValidationError({"letter_body": UNSIGNED_MESSAGE})

    signature = Signature(
        campaign=campaign,
        full_name=full_name,
        email=email.strip(),
        email_normalised=normalise_email(email),
        postcode=postcode,
        area=area if representative else None,
        representative=representative,
        town=town,
        personal_paragraph=personal_paragraph,
        letter_body=letter_body,
        consent_to_send=consent_to_send,
        keep_updated=keep_updated,
        # The consent record: the wording the form showed (privacy.py), and when.
        consent_text=consent_text or privacy.consent_text_current(),
        consented_at=timezone.now(),
        client_ip_hash=client_ip_hash,
        **source.as_fields(),
    )
    # The FK checks would query; these rows were just read.
    signature.clean_fields(
        exclude=["campaign", "consent_text", "area", "representative"]
    )

    # A first signing's email is rendered when sent (campaign/emails.py).
    email = ConfirmationEmail(template="confirm", site_url=settings.SITE_URL)
    existing = _signature_store(signature=signature, email=email)
    repeat = existing is not None
    signature = existing or signature
    # Ids only, here and below: names, emails and tokens stay out of logs.
    logger.info(
        "signature %s signed (campaign %s, repeat: %s)",
        *(signature.pk, campaign.pk, repeat),
        extra={
            "signature_id": signature.pk,
            "campaign_id": campaign.pk,
            "repeat": repeat,
        },
    )
    return signature


def _signature_store(
    *, signature: Signature, email: ConfirmationEmail
) -> Signature | None:
    """Store a first signing and hand its email to the worker (None); or return
    the address's existing signature, reminded if a reminder is due."""
    for _ in range(2):  # a withdrawal can remove the existing row in between
        # In a request, outside any transaction, this one statement commits by
        # itself, and the email is handed on at once (on_commit runs it now).
        if signature_insert(signature=signature, email=email):
            supporter_email_enqueue(confirmation_id=email.pk, coalesce=True)
            return None
        with transaction.atomic():
            if (existing := signature_locked(signature=signature)) is not None:
                _resend_if_due(signature=existing)
                return existing
    raise IntegrityError("The signature could neither be inserted nor found.")


def _representative(*, campaign: Campaign, area: Area | None) -> Official | None:
    """Whom a supporter in `area` writes to besides the fixed officials."""
    if selectors.area_targeting(campaign=campaign) is None:
        return None
    if area is None:
        raise ValidationError({"postcode": areas.UNKNOWN_POSTCODE})
    official = area.official
    if official is None or not official.is_active:
        raise ValidationError({"postcode": areas.NO_OFFICIAL.format(area=area.name)})
    return official


def _resend_if_due(*, signature: Signature) -> None:
    """The duplicate path: remind the address's owner, at most once an hour.
    Their first details stand: anyone who knows an address could otherwise rewrite
    the pending letter signed with it."""
    latest = signature.confirmation_emails.order_by("-created_at").first()
    if latest and timezone.now() - latest.created_at < RESEND_INTERVAL:
        return
    template = "confirm"
    if signature.status == Signature.Status.CONFIRMED:
        template = "already_signed"
    elif signature.token_expired():
        # The old link is dead anyway; a fresh token gives the new email a
        # working one (and a full validity period).
        signature.token = Signature._meta.get_field("token").get_default()
        signature.token_created_at = timezone.now()
        signature.save(update_fields=["token", "token_created_at"])
    email = ConfirmationEmail(
        signature=signature, template=template, site_url=settings.SITE_URL
    )
    supporter_email_write(email)


def signature_confirm(*, token: str) -> Signature:
    """Confirm a pending signature and queue one letter per active target.

    Idempotent: confirming a confirmed signature changes and sends nothing.
    Raises ConfirmationRefused when selectors.confirmation_state() says the link
    cannot confirm now (unknown, expired, campaign closed or paused).
    """
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update(of=("self",))
            .select_related(
                "campaign__letter_template",
                "campaign__area_targeting",
                "representative",
            )
            .filter(token=token)
            .first()
        )
        state = selectors.confirmation_state(signature=signature)
        if state is ConfirmationState.CONFIRMED:
            return signature
        if state is not ConfirmationState.PENDING:
            raise ConfirmationRefused(state, signature)

        signature.status = Signature.Status.CONFIRMED
        signature.confirmed_at = timezone.now()
        signature.save(update_fields=["status", "confirmed_at"])
        letters = letters_create_for(signature=signature)
        # Only letters that go on their own are queued; the rest wait for the
        # digest or the hand-in (campaign/services/routing.py).
        letter_ids = [
            letter.pk for letter in letters if letter.status == LetterStatus.PENDING
        ]
        campaign_id = signature.campaign_id
        if letter_ids:
            transaction.on_commit(
                lambda: delivery.letters_enqueue(letter_ids=letter_ids), robust=True
            )
        transaction.on_commit(
            lambda: selectors.signature_count_increment(campaign_id=campaign_id),
            robust=True,
        )
    logger.info(
        "signature %s confirmed (letters %s)",
        *(signature.pk, letter_ids),
        extra={"signature_id": signature.pk, "letter_ids": letter_ids},
    )
    return signature
