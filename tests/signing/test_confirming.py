"""campaign/services/signing.py: confirming a signature writes its letters, once;
and the whole way through the real worker and SMTP server."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign import selectors
from campaign.models import Campaign, Letter, Official, Signature
from campaign.selectors import ConfirmationState
from campaign.services.signing import (
    ConfirmationRefused,
    letters_create_for,
    signature_confirm,
)
from tests.factories import OfficialFactory, SignatureFactory
from tests.signing.supporter import sign
from tests.support.worker import wait_for_idle_broker

pytestmark = pytest.mark.django_db


# --- confirming ----------------------------------------------------------------


def test_confirm_creates_one_letter_per_active_official_then_nothing_twice(
    campaign, django_capture_on_commit_callbacks
):
    retired = OfficialFactory(name="Retired Official", is_active=False)
    campaign.targets.add(retired)
    signature = sign(campaign)

    with django_capture_on_commit_callbacks() as callbacks:
        confirmed = signature_confirm(token=signature.token)
    assert confirmed.status == Signature.Status.CONFIRMED
    assert confirmed.confirmed_at is not None
    letters = {letter.official.name: letter for letter in Letter.objects.all()}
    assert set(letters) == {"Alex Morgan", "Sam Okafor"}
    assert letters["Alex Morgan"].body.startswith("Dear Prime Minister,")
    assert letters["Sam Okafor"].body.startswith("Dear Home Secretary,")
    for letter in letters.values():
        assert "Libraries taught me to read." in letter.body
        assert letter.body.rstrip().endswith("Ada Lovelace\nMarylebone")
        assert letter.subject == "About Save the Library"
    assert len(callbacks) == 2  # letters to the worker; the count's increment

    with django_capture_on_commit_callbacks() as callbacks:
        again = signature_confirm(token=signature.token)
    assert again.pk == signature.pk
    assert again.confirmed_at == confirmed.confirmed_at
    assert Letter.objects.count() == 2
    assert callbacks == []


def test_confirm_uses_the_signers_edited_letter(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(signers_may_edit=True)
    campaign.refresh_from_db()
    signature = sign(
        campaign,
        full_name="<b>Ada</b>",
        letter_body="{{ official.salutation }},\n\nMy own words {{ campaign.title }}."
        "\n\n{{ signer.name }}",
    )
    signature_confirm(token=signature.token)
    bodies = sorted(Letter.objects.values_list("body", flat=True))
    assert bodies == [
        "Dear Home Secretary,\n\nMy own words Save the Library.\n\n<b>Ada</b>",
        "Dear Prime Minister,\n\nMy own words Save the Library.\n\n<b>Ada</b>",
    ]


def test_expired_token_confirms_nothing(campaign, settings):
    settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS = 7
    signature = sign(campaign)
    Signature.objects.update(
        token_created_at=timezone.now() - timedelta(days=7, hours=1)
    )
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token=signature.token)
    assert refused.value.state is ConfirmationState.EXPIRED
    assert refused.value.signature.pk == signature.pk
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_a_confirmed_signature_stays_confirmed_after_its_token_expires(campaign):
    signature = sign(campaign)
    signature_confirm(token=signature.token)
    Signature.objects.update(token_created_at=timezone.now() - timedelta(days=30))
    assert signature_confirm(token=signature.token).status == "confirmed"
    assert Letter.objects.count() == 2


def test_unknown_token(campaign):
    sign(campaign)
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token="x" * 43)
    assert refused.value.state is ConfirmationState.UNKNOWN
    assert refused.value.signature is None


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ("closed", ConfirmationState.CLOSED),
        ("targets-retired", ConfirmationState.PAUSED),
    ],
)
def test_confirming_when_the_campaign_stopped_taking_signatures_sends_nothing(
    campaign, change, state
):
    signature = sign(campaign)
    if change == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    else:
        Official.objects.update(is_active=False)
    stored = selectors.signature_for_token(token=signature.token)
    assert selectors.confirmation_state(signature=stored) is state  # what GET shows
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token=signature.token)
    assert refused.value.state is state
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_letters_create_for_skips_officials_already_written_to(campaign):
    signature = SignatureFactory(campaign=campaign)
    first = letters_create_for(signature=signature)
    assert len(first) == 2 and all(letter.pk for letter in first)
    assert letters_create_for(signature=signature) == []
    assert Letter.objects.count() == 2


# --- the whole way, through the real worker and SMTP ------------------------------


def test_confirmation_and_letters_go_out_through_the_worker_once(
    worker, campaign, smtp, broker, settings
):
    settings.SITE_URL = "http://quillpost.test"
    signature = sign(campaign, email="ada@example.com")

    [confirmation] = smtp.wait_for(1)
    assert confirmation.envelope_rcpt == ["ada@example.com"]
    assert confirmation.get_content_type() == "text/plain"
    assert settings.DEFAULT_FROM_EMAIL in confirmation["From"]
    body = confirmation.get_content()
    link = re.search(r"http://quillpost\.test/confirm/([\w-]+)/", body)
    assert link and link.group(1) == signature.token

    assert selectors.signature_count(campaign_id=campaign.pk) == 0  # now cached
    signature_confirm(token=link.group(1))
    signature_confirm(token=link.group(1))  # a reload: sends nothing more
    assert selectors.signature_count(campaign_id=campaign.pk) == 1  # counted in

    messages = smtp.wait_for(3)
    wait_for_idle_broker(broker)  # a duplicate, if one were coming, has come
    assert len(smtp.messages) == 3
    letters = [m for m in messages if m.envelope_rcpt != ["ada@example.com"]]
    assert sorted(m.envelope_rcpt[0] for m in letters) == sorted(
        campaign.targets.values_list("email", flat=True)
    )
    assert all("Ada Lovelace" in m.get_content() for m in letters)
