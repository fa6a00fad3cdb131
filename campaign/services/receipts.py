"""Receipts: once every letter of a confirmed signature has an outcome (none is
pending, being sent, waiting for a digest or held while an address fails), the
supporter gets one email listing each official and what happened, in plain
words with dates. A letter that bounces after that gets one short follow-up.

Both are outbox rows (Receipt), sent by the worker like the confirmation email.
Never twice: receipt_at on the signature, checked under its row lock, and the
constraints on Receipt. Found by a beat task (receipts_create_due, every
sweep interval) rather than as each letter is recorded: the send path stays one
statement per letter.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.utils import formats, timezone

from campaign.models import (
    UNSETTLED_LETTER_STATUSES,
    Letter,
    LetterStatus,
    Receipt,
    ReceiptKind,
    Signature,
)

logger = logging.getLogger(__name__)

RECEIPTS_PER_RUN = 1000  # a backlog (a digest delivers thousands) drains over runs


def receipts_create_due() -> list[int]:
    """Create (and queue after commit) the receipts now owed. Idempotent.
    Returns the new receipts' ids."""
    unsettled = Letter.objects.filter(
        signature_id=OuterRef("pk"), status__in=UNSETTLED_LETTER_STATUSES
    )
    owed = (
        # An anonymised supporter (retention) has no address to write to.
        Signature.objects.filter(
            status=Signature.Status.CONFIRMED,
            receipt_at__isnull=True,
            anonymised_at__isnull=True,
        )
        .filter(Exists(Letter.objects.filter(signature_id=OuterRef("pk"))))
        .exclude(Exists(unsettled))
        .order_by("confirmed_at")
        .values_list("pk", flat=True)[:RECEIPTS_PER_RUN]
    )
    created = [receipt_create(signature_id=pk) for pk in owed]
    return [pk for pk in created if pk is not None]


def receipt_create(*, signature_id: int) -> int | None:
    """The signature's receipt, if it is owed now (every letter settled, none
    sent yet); None otherwise."""
    from campaign.services import delivery

    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(
                pk=signature_id, receipt_at__isnull=True, anonymised_at__isnull=True
            )
            .first()
        )
        if signature is None:
            return None
        letters = list(
            signature.letters.select_related("official").order_by("official__name")
        )
        if not letters or any(x.status in UNSETTLED_LETTER_STATUSES for x in letters):
            return None
        signature.receipt_at = timezone.now()
        signature.save(update_fields=["receipt_at"])
        context = {
            "signature": signature,
            "campaign": signature.campaign,
            "site_name": settings.SITE_NAME,
            "outcomes": [(x.official, letter_outcome(x)) for x in letters],
        }
        row = Receipt.objects.create(
            signature=signature,
            kind=ReceiptKind.RECEIPT,
            **_text("receipt", context),
        )
        transaction.on_commit(
            lambda: delivery.receipts_enqueue(receipt_ids=[row.pk]), robust=True
        )
    logger.info(
        "receipt %s queued for signature %s",
        *(row.pk, signature_id),
        extra={"signature_id": signature_id},
    )
    return row.pk


def receipt_follow_ups_queue(*, letter_ids: list[int]) -> list[int]:
    """A follow-up for each of these (bounced) letters whose supporter already
    has their receipt; the others' receipt will say it. Call inside the
    transaction that records the bounce. Returns the follow-ups' ids."""
    from campaign.services import delivery

    letters = (
        Letter.objects.filter(
            pk__in=letter_ids,
            signature__receipt_at__isnull=False,
            signature__anonymised_at__isnull=True,  # withdrawn or anonymised
        )
        .exclude(follow_ups__isnull=False)
        .select_related("official", "signature__campaign")
    )
    rows = Receipt.objects.bulk_create(
        Receipt(
            signature=letter.signature,
            letter=letter,
            kind=ReceiptKind.FOLLOW_UP,
            **_text(
                "receipt_follow_up",
                {
                    "signature": letter.signature,
                    "campaign": letter.signature.campaign,
                    "site_name": settings.SITE_NAME,
                    "official": letter.official,
                    "outcome": letter_outcome(letter),
                },
            ),
        )
        for letter in letters
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(
            lambda: delivery.receipts_enqueue(receipt_ids=ids), robust=True
        )
    return ids


def _text(template: str, context: dict) -> dict[str, str]:
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    return {
        # One line whatever the template's whitespace: it becomes a header.
        "subject": " ".join(subject.split())[:255],
        "body": render_to_string(f"emails/{template}_body.txt", context).strip() + "\n",
    }


def _date(moment: datetime | None) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y") if moment else ""


def letter_outcome(letter: Letter) -> str:
    """What happened to a settled letter, in plain words. Pure (the letter's
    official loaded)."""
    official = letter.official
    server = f"{official.organisation or official.name}'s mail server"
    match letter.status:
        case LetterStatus.SENT:
            return f"accepted by {server} on {_date(letter.sent_at)}"
        case LetterStatus.DIGESTED:
            return (
                "included in the daily digest of supporters sent on "
                f"{_date(letter.sent_at)}"
            )
        case LetterStatus.BOUNCED:
            return (
                f"returned undelivered: {server} refused it on "
                f"{_date(letter.bounced_at)} (status {letter.bounce_code}); the "
                "campaign's organisers can see this"
            )
        case LetterStatus.FAILED:
            return (
                "could not be delivered: we stopped trying on "
                f"{_date(letter.updated_at)}; the campaign's organisers can see this"
            )
        case LetterStatus.HELD:
            return "kept for the campaign's organisers to hand in in person"
        case LetterStatus.CANCELLED:
            return f"not sent: the organisers withdrew it on {_date(letter.updated_at)}"
    return f"not settled yet ({letter.get_status_display()})"
