"""Three permanent bounces in a row flag an official's address as failing: their
letters are held, the organiser sees it in admin, and clearing the flag
releases the held letters (sent by the worker to aiosmtpd)."""

from datetime import timedelta

from django.utils import timezone

from campaign.models import Letter, LetterStatus, Official
from campaign.services.signing import signature_confirm
from tests.bounces.helpers import sent_letter
from tests.bounces.reports import dsn
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
)
from tests.support.waiting import wait_until


def _bounced_letters(official, count):
    """`count` letters to `official` sent a minute apart, oldest first."""
    start = timezone.now() - timedelta(hours=1)
    addresses = []
    for n in range(count):
        letter, address = sent_letter(official=official)
        Letter.objects.filter(pk=letter.pk).update(sent_at=start + timedelta(minutes=n))
        addresses.append(address)
    return addresses


def test_three_bounces_in_a_row_hold_letters_until_the_flag_is_cleared(
    worker, smtp, bounce, staff_client
):
    official = OfficialFactory(name="Alex Morgan", email="old@gov.example")
    campaign = CampaignFactory(title="Clean Air", targets=[official])
    waiting = LetterFactory(
        official=official, signature=SignatureFactory(campaign=campaign)
    )
    Letter.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    first, second, third = _bounced_letters(official, 3)

    bounce(dsn(first))
    bounce(dsn(second))
    official.refresh_from_db()
    assert official.failing_since is None  # two are not three
    bounce(dsn(third))
    official.refresh_from_db()
    assert official.failing_since is not None
    # The letter written before the flag, and the next one, are held.
    assert Letter.objects.get(pk=waiting.pk).status == LetterStatus.HELD_FAILING
    signature = SignatureFactory(campaign=campaign, full_name="Ada Lovelace")
    signature_confirm(token=signature.token)
    new = Letter.objects.get(signature=signature)
    assert new.status == LetterStatus.HELD_FAILING

    # The organiser sees it on the official's and the campaign's admin pages.
    listed = staff_client.get("/admin/campaign/official/?failing=yes")
    assert "Alex Morgan" in listed.content.decode()
    page = staff_client.get(f"/admin/campaign/campaign/{campaign.pk}/change/")
    assert "bounced 3 times in a row" in page.content.decode()
    assert smtp.messages == []  # nothing was sent to the failing address

    # Corrected and cleared: the held letters go (the worker sends them).
    Official.objects.filter(pk=official.pk).update(email="alex@gov.example")
    response = staff_client.post(
        "/admin/campaign/official/",
        {"action": "clear_failing", "_selected_action": [official.pk]},
        follow=True,
    )
    assert "2 held letter(s) released" in response.content.decode()
    assert Official.objects.get(pk=official.pk).failing_since is None
    messages = smtp.wait_for(1)
    wait_until(
        lambda: Letter.objects.filter(
            pk__in=[new.pk], status=LetterStatus.SENT
        ).exists(),
        message="the released letter sent",
    )
    assert messages[0]["To"].addresses[0].addr_spec == "alex@gov.example"
    assert "Ada Lovelace" in messages[0].get_content()
    # The older held letter is due when its backoff says so, not at once.
    assert Letter.objects.get(pk=waiting.pk).status == LetterStatus.PENDING


def test_a_delivered_letter_between_bounces_breaks_the_run(db, bounce):
    official = OfficialFactory()
    first, second, third = _bounced_letters(official, 3)
    bounce(dsn(first))
    bounce(dsn(third))  # the second, sent in between, did not bounce
    assert Official.objects.get(pk=official.pk).failing_since is None
    bounce(dsn(second))
    assert Official.objects.get(pk=official.pk).failing_since is not None
