"""Receipts: once every letter of a signature has an outcome, one email to the
supporter lists each official and what happened; a later bounce sends one
follow-up. Sent by the worker to aiosmtpd like every supporter email."""

from django.utils import timezone

from campaign.models import Letter, LetterStatus, OutboxStatus, Receipt, ReceiptKind
from campaign.services.receipts import receipts_create_due
from campaign.services.signing import signature_confirm
from campaign.verp import verp_address
from tests.bounces.reports import dsn
from tests.factories import CampaignFactory, OfficialFactory, SignatureFactory
from tests.support.waiting import wait_until


def _campaign():
    return CampaignFactory(
        title="Save the Library",
        targets=[
            OfficialFactory(
                name="Alex Morgan", position="Prime Minister", organisation="No 10"
            ),
            OfficialFactory(
                name="Sam Okafor", position="Home Secretary", organisation="Home Office"
            ),
        ],
    )


def _confirmed(campaign, **fields):
    signature = SignatureFactory(campaign=campaign, **fields)
    signature_confirm(token=signature.token)
    return signature


def _today() -> str:
    return f"{timezone.localdate():%-d %B %Y}"


def test_two_delivered_letters_make_exactly_one_receipt_listing_both(worker, smtp):
    signature = _confirmed(
        _campaign(), full_name="Ada Lovelace", email="ada@example.com"
    )
    smtp.wait_for(2)
    wait_until(
        lambda: signature.letters.filter(status=OutboxStatus.SENT).count() == 2,
        message="both letters recorded sent",
    )

    assert len(receipts_create_due()) == 1
    assert receipts_create_due() == []  # idempotent
    messages = smtp.wait_for(3)
    receipts = [m for m in messages if m["To"] == "ada@example.com"]
    assert len(receipts) == 1
    body = receipts[0].get_content()
    assert "Save the Library" in receipts[0]["Subject"]
    assert "Hello Ada Lovelace" in body
    assert (
        f"To Alex Morgan (Prime Minister): accepted by No 10's mail server on "
        f"{_today()}." in body
    )
    assert (
        f"To Sam Okafor (Home Secretary): accepted by Home Office's mail server "
        f"on {_today()}." in body
    )
    wait_until(
        lambda: Receipt.objects.filter(status=OutboxStatus.SENT).count() == 1,
        message="the receipt recorded sent",
    )
    assert Receipt.objects.count() == 1


def _settle(signature, **statuses):
    """Give the signature's letters these outcomes, by official name."""
    for letter in signature.letters.select_related("official"):
        status = statuses[letter.official.name.split()[0].lower()]
        letter.status, letter.sent_at = status, timezone.now()
        letter.message_id = f"<letter-{letter.pk}@example>"
        letter.save()


def test_a_bounced_letter_is_in_the_receipt_and_a_later_one_in_a_follow_up(db, bounce):
    signature = _confirmed(_campaign(), email="ada@example.com")
    _settle(signature, alex=LetterStatus.SENT, sam=LetterStatus.SENT)
    to_sam = signature.letters.get(official__name="Sam Okafor")
    to_alex = signature.letters.get(official__name="Alex Morgan")
    bounce(dsn(verp_address(kind="l", pk=to_sam.pk)))
    assert Receipt.objects.count() == 0  # no receipt yet: no follow-up either

    receipts_create_due()
    receipt = Receipt.objects.get()
    assert (
        f"To Sam Okafor (Home Secretary): returned undelivered: Home Office's "
        f"mail server refused it on {_today()} (status 5.1.1)" in receipt.body
    )
    assert "To Alex Morgan (Prime Minister): accepted by" in receipt.body

    # A bounce after the receipt: one short follow-up, once.
    address = verp_address(kind="l", pk=to_alex.pk)
    bounce(dsn(address))
    bounce(dsn(address))
    follow_up = Receipt.objects.get(kind=ReceiptKind.FOLLOW_UP)
    assert follow_up.letter == to_alex
    assert follow_up.subject == "Your letter to Alex Morgan was returned undelivered"
    assert "returned undelivered: No 10's mail server refused it" in follow_up.body
    assert receipts_create_due() == []
    assert Receipt.objects.count() == 2


def test_no_receipt_while_a_letter_is_still_retrying(db):
    signature = _confirmed(_campaign())
    _settle(signature, alex=LetterStatus.SENT, sam=LetterStatus.PENDING)
    Letter.objects.filter(status=LetterStatus.PENDING).update(
        attempts=3, last_error="451 4.3.0 Try again later", sent_at=None
    )
    assert receipts_create_due() == []

    Letter.objects.filter(status=LetterStatus.PENDING).update(
        status=LetterStatus.FAILED
    )
    assert len(receipts_create_due()) == 1
    assert "could not be delivered" in Receipt.objects.get().body


def test_digested_and_hand_in_letters_are_told_in_plain_words(db):
    signature = _confirmed(_campaign())
    _settle(signature, alex=LetterStatus.DIGESTED, sam=LetterStatus.HELD)
    receipts_create_due()
    body = Receipt.objects.get().body
    assert f"included in the daily digest of supporters sent on {_today()}" in body
    assert "kept for the campaign's organisers to hand in in person" in body


def test_supporters_who_have_not_confirmed_get_no_receipt(db):
    SignatureFactory(campaign=_campaign())
    assert receipts_create_due() == []
