"""The "remove my signature" link: in every email to a supporter, a GET that only
shows a button, a POST that anonymises, cancels and uncounts at once."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from campaign import privacy, selectors
from campaign.models import Letter, LetterStatus, Official, Signature
from campaign.services.anonymising import REMOVED_LETTER_BODY
from campaign.services.signing import signature_confirm
from tests.signing.supporter import as_sent, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(campaign):
    """Ada, confirmed: her letter to Alex Morgan sent, to Sam Okafor not yet."""
    signature = signature_confirm(token=sign(campaign).token)
    Letter.objects.filter(official__name="Alex Morgan").update(
        status=LetterStatus.SENT, sent_at=timezone.now()
    )
    return signature


def _url(signature) -> str:
    return reverse(
        "campaign:withdraw", args=[privacy.withdraw_token(signature_id=signature.pk)]
    )


def test_the_confirmation_email_carries_the_link(campaign):
    signature = sign(campaign)
    body = as_sent(signature.confirmation_emails.get()).body
    assert privacy.withdraw_url(signature_id=signature.pk) in body
    assert "remove your signature" in body


def test_get_only_shows_a_button(client, confirmed):
    before = Signature.objects.filter(pk=confirmed.pk).values().get()

    response = client.get(_url(confirmed))

    assert response.status_code == 200
    assert "Remove my signature</button>" in response.content.decode()
    assert Signature.objects.filter(pk=confirmed.pk).values().get() == before
    assert Letter.objects.filter(status=LetterStatus.PENDING).count() == 1


def test_post_anonymises_cancels_the_unsent_letter_and_the_count_drops(
    client, campaign, confirmed, django_capture_on_commit_callbacks
):
    cache.clear()
    assert selectors.signature_count(campaign_id=campaign.pk) == 1  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(confirmed))

    assert response.status_code == 200
    page = " ".join(response.content.decode().split())
    assert "Your signature has been removed" in page
    assert "1 letter not yet sent was cancelled" in page
    assert "To Alex Morgan, Minister, sent" in page  # already sent: listed
    signature = Signature.objects.get(pk=confirmed.pk)
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.full_name == f"Signature {signature.pk}"
    assert signature.email == ""
    assert signature.email_normalised == f"anon-{signature.pk}"
    assert signature.postcode == "NW1"
    assert signature.personal_paragraph == ""
    assert signature.anonymised_at is not None
    letters = {letter.official.name: letter for letter in Letter.objects.all()}
    assert letters["Sam Okafor"].status == LetterStatus.CANCELLED
    assert letters["Alex Morgan"].status == LetterStatus.SENT
    assert all(letter.body == REMOVED_LETTER_BODY for letter in letters.values())
    assert signature.confirmation_emails.get().body == ""
    assert selectors.signature_count(campaign_id=campaign.pk) == 0  # cache too
    cache.clear()
    assert selectors.signature_count(campaign_id=campaign.pk) == 0

    again = client.post(_url(confirmed))  # a second press: nothing more to do
    assert again.status_code == 200
    assert Signature.objects.get(pk=confirmed.pk).anonymised_at == (
        signature.anonymised_at
    )


def test_after_withdrawing_the_address_may_sign_again(client, campaign, confirmed):
    client.post(_url(confirmed))
    again = sign(campaign)
    assert again.pk != confirmed.pk
    assert again.full_name == "Ada Lovelace"


def test_the_link_works_on_a_closed_campaign_and_a_pending_signature(client, campaign):
    signature = sign(campaign)
    campaign.status = campaign.Status.CLOSED
    campaign.save()

    assert client.post(_url(signature)).status_code == 200
    assert Signature.objects.get(pk=signature.pk).status == "withdrawn"
    assert Official.objects.count() == 2  # nothing else touched


@pytest.mark.parametrize("token", ["1:forged", "abc", "1"])
def test_a_forged_or_mangled_link_changes_nothing(client, confirmed, token):
    response = client.post(reverse("campaign:withdraw", args=[token]))
    assert response.status_code == 404
    assert "recognise this link" in response.content.decode()
    assert Signature.objects.get(pk=confirmed.pk).anonymised_at is None


def test_the_questionnaire_carries_the_link_and_no_one_anonymised_is_asked(
    questionnaire_settings,
):
    from datetime import timedelta

    import time_machine

    from campaign.models import ConfirmationEmail
    from campaign.services.anonymising import signature_anonymise
    from campaign.services.questionnaires import questionnaires_send_due
    from tests.factories import CampaignFactory
    from tests.replies.conftest import AFTER_DAYS, delivered

    campaign = CampaignFactory()
    officials = list(campaign.targets.all())
    sent_at = timezone.now() - timedelta(days=60)
    kept = delivered(campaign, officials, sent_at=sent_at)[0].signature
    gone = delivered(campaign, officials, sent_at=sent_at)[0].signature
    signature_anonymise(signature_id=gone.pk)

    with time_machine.travel(sent_at + timedelta(days=AFTER_DAYS, hours=1)):
        run = questionnaires_send_due()

    assert (run.asked, run.emails) == (2, 1)  # kept's two letters, one email
    email = ConfirmationEmail.objects.get()
    assert email.signature_id == kept.pk
    assert privacy.withdraw_url(signature_id=kept.pk) in email.body


def test_receipts_are_scrubbed_and_none_is_owed_to_someone_anonymised(campaign):
    """Receipts are emails to the supporter: anonymising empties them, cancels
    one not sent yet, and an anonymised supporter is never owed one."""
    from campaign.models import OutboxStatus, Receipt
    from campaign.services.anonymising import signature_anonymise
    from campaign.services.receipts import receipts_create_due

    ada = signature_confirm(token=sign(campaign).token)
    grace = signature_confirm(
        token=sign(campaign, email="grace@example.com", full_name="Grace H").token
    )
    Letter.objects.update(status=LetterStatus.SENT, sent_at=timezone.now())
    assert len(receipts_create_due()) == 2
    Receipt.objects.filter(signature=ada).update(status=OutboxStatus.SENT)
    assert "Grace H" in Receipt.objects.get(signature=grace).body

    signature_anonymise(signature_id=ada.pk)
    signature_anonymise(signature_id=grace.pk)

    assert set(Receipt.objects.values_list("body", flat=True)) == {""}
    assert Receipt.objects.get(signature=grace).status == OutboxStatus.CANCELLED
    assert Receipt.objects.get(signature=ada).status == OutboxStatus.SENT
    Signature.objects.update(receipt_at=None)  # as if owed again
    assert receipts_create_due() == []
