"""Retention with the clock moved (time-machine), never waited for: expired
pending signatures deleted; supporters of campaigns closed
SIGNER_DATA_RETENTION_DAYS ago anonymised; overrides and recent closings
untouched; a second run changes nothing."""

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from campaign import official_pages, selectors
from campaign.models import (
    Campaign,
    CampaignTarget,
    ConfirmationEmail,
    Digest,
    Letter,
    LetterStatus,
    Signature,
)
from campaign.services.anonymising import REMOVED_LETTER_BODY
from campaign.services.retention import campaign_closing_record, retention_step
from campaign.services.signing import signature_confirm
from campaign.tasks import retention_task
from tests.exports.csv_export import command_export
from tests.factories import CampaignFactory, SignatureFactory
from tests.signing.supporter import sign
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def _supporters(campaign, n: int) -> list[Signature]:
    """n confirmed supporters through the real services, letters sent."""
    signatures = [
        signature_confirm(
            token=sign(
                campaign,
                full_name=f"Ada Lovelace {i}",
                email=f"ada{i}@example.com",
                personal_paragraph=f"My own words {i}.",
            ).token
        )
        for i in range(n)
    ]
    Letter.objects.filter(signature__campaign=campaign).update(
        status=LetterStatus.SENT, sent_at=timezone.now()
    )
    return signatures


def _snapshot() -> list[tuple]:
    return [
        *Signature.objects.order_by("pk").values_list(),
        *Letter.objects.order_by("pk").values_list(),
        *ConfirmationEmail.objects.order_by("pk").values_list(),
        *Digest.objects.order_by("pk").values_list(),
    ]


def _retention(**options) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("apply_retention", stdout=out, stderr=err, **options)
    return out.getvalue()


@pytest.fixture
def world(letter_template):
    """At T0: three campaigns signed by two supporters each, closing soon, and
    one open campaign with a supporter who never confirms."""
    with time_machine.travel(T0, tick=False):
        soon = T0 + timedelta(hours=1)
        old = CampaignFactory(title="Old", closes_at=soon)
        recent = CampaignFactory(title="Recent", closes_at=T0 + timedelta(days=85))
        kept = CampaignFactory(
            title="Kept",
            closes_at=soon,
            keep_data_until=(T0 + timedelta(days=400)).date(),
            keep_data_reason="A legal claim is pending.",
        )
        for campaign in (old, recent, kept):
            _supporters(campaign, 2)
        open_campaign = CampaignFactory(title="Open")
        pending = sign(open_campaign, email="never@example.com")
        # A letter still waiting at anonymisation is cancelled, never sent bare.
        Letter.objects.filter(signature__campaign=old).order_by("pk").filter(
            pk=Letter.objects.filter(signature__campaign=old).order_by("pk")[0].pk
        ).update(status=LetterStatus.PENDING, sent_at=None)
        target = CampaignTarget.objects.filter(campaign=old).first()
        Digest.objects.create(
            campaign=old,
            official=target.official,
            subject="2 new supporters",
            body="Ada Lovelace 0, Ada Lovelace 1",
            new_signatures=2,
            status="sent",
        )
    return {
        "old": old,
        "recent": recent,
        "kept": kept,
        "pending": pending,
        "target": target,
    }


def test_pending_signatures_go_once_their_link_has_expired(world, settings):
    pending = world["pending"]
    assert pending.confirmation_emails.count() == 1
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        assert "0 expired pending signature(s) deleted" in _retention()
    assert Signature.objects.filter(pk=pending.pk).exists()

    with time_machine.travel(T0 + timedelta(days=7, hours=1), tick=False):
        fresh = sign(world["pending"].campaign, email="fresh@example.com")
        assert "1 expired pending signature(s) deleted" in _retention()
    assert not Signature.objects.filter(pk=pending.pk).exists()
    assert not ConfirmationEmail.objects.filter(signature_id=pending.pk).exists()
    assert Signature.objects.filter(pk=fresh.pk).exists()


def test_closed_long_ago_anonymised_recent_and_kept_untouched(world, client, tmp_path):
    old, recent, kept = world["old"], world["recent"], world["kept"]
    cache.clear()
    counts_before = selectors.signature_counts(campaign_ids=[old.pk, recent.pk])
    untouched_before = [
        *Signature.objects.filter(campaign__in=[recent, kept]).values_list(),
        *Letter.objects.filter(signature__campaign__in=[recent, kept]).values_list(),
    ]

    # 184 days after the old and kept ones closed; 100 after the recent one.
    with time_machine.travel(T0 + timedelta(days=184, hours=2), tick=False):
        summary = _retention(batch_size=1)

    assert "3 campaign(s) recorded as closed" in summary
    assert "2 signature(s) anonymised" in summary
    old.refresh_from_db()
    assert old.closed_at == old.closes_at
    for signature in Signature.objects.filter(campaign=old):
        assert signature.full_name == f"Signature {signature.pk}"
        assert signature.email == ""
        assert signature.email_normalised == f"anon-{signature.pk}"
        assert signature.postcode == "NW1"
        assert signature.town == "Marylebone"  # towns stay, for counts by area
        assert signature.personal_paragraph == signature.letter_body == ""
        assert signature.status == Signature.Status.CONFIRMED  # still counted
        assert signature.confirmed_at is not None
    letters = Letter.objects.filter(signature__campaign=old)
    assert {letter.body for letter in letters} == {REMOVED_LETTER_BODY}
    assert sorted(letters.values_list("status", flat=True)) == [
        "cancelled",
        "sent",
        "sent",
        "sent",
    ]
    assert not ConfirmationEmail.objects.filter(signature__campaign=old).exclude(
        body=""
    )
    assert Digest.objects.get(campaign=old).body == ""
    assert untouched_before == [
        *Signature.objects.filter(campaign__in=[recent, kept]).values_list(),
        *Letter.objects.filter(signature__campaign__in=[recent, kept]).values_list(),
    ]
    cache.clear()
    assert selectors.signature_counts(campaign_ids=[old.pk, recent.pk]) == (
        counts_before
    )

    # The export and the official's page show the anonymised rows.
    csv_text = command_export(tmp_path, old.slug, "--status", "all").decode()
    assert "Ada" not in csv_text and "example.com" not in csv_text
    assert len(re.findall(r"Signature \d+", csv_text)) == 2
    page_url = official_pages.official_page_url(target=world["target"])
    page = client.get(urlsplit(page_url).path).content.decode()
    assert "Ada" not in page and "My own words" not in page
    assert re.search(r"Signature \d+", page)

    # A second run changes nothing.
    before = _snapshot()
    with time_machine.travel(T0 + timedelta(days=185), tick=False):
        again = _retention()
    assert "0 campaign(s) recorded as closed" in again
    assert "0 signature(s) anonymised" in again
    assert _snapshot() == before


def test_the_kept_campaign_is_anonymised_once_its_date_has_passed(world):
    with time_machine.travel(T0 + timedelta(days=401), tick=False):
        _retention()
    names = Signature.objects.filter(campaign=world["kept"]).values_list(
        "full_name", flat=True
    )
    assert all(name.startswith("Signature ") for name in names)


def test_closing_by_status_is_recorded_and_reopening_clears_it(campaign):
    campaign.status = Campaign.Status.CLOSED
    campaign.save()
    campaign_closing_record(campaign=campaign)
    assert campaign.closed_at is not None

    campaign.status = Campaign.Status.LIVE
    campaign.save()
    campaign_closing_record(campaign=campaign)
    assert campaign.closed_at is None


def test_a_keep_date_needs_a_reason(campaign):
    from django.core.exceptions import ValidationError

    campaign.keep_data_until = (T0 + timedelta(days=30)).date()
    with pytest.raises(ValidationError, match="Say why"):
        campaign.full_clean()


def test_each_step_is_one_small_batch():
    campaign = CampaignFactory(closes_at=T0 - timedelta(days=200))
    SignatureFactory.create_batch(5, campaign=campaign, status="confirmed")
    steps = []
    while (step := retention_step(batch_size=2)).changed:
        steps.append(step.counts())
    assert [s["anonymised"] for s in steps] == [2, 2, 1]


def test_the_task_chains_its_batches_through_the_worker(worker):
    campaign = CampaignFactory(closes_at=T0 - timedelta(days=200))
    SignatureFactory.create_batch(5, campaign=campaign, status="confirmed")

    retention_task.delay(batch_size=2)

    wait_until(
        lambda: not Signature.objects.filter(anonymised_at__isnull=True).exists(),
        message="the worker to anonymise every batch",
    )
    assert Signature.objects.filter(full_name__startswith="Signature ").count() == 5
