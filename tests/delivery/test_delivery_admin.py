"""Delivery in the admin: the letter list, its two actions, and the campaign
list's counts by delivery status."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.models import Campaign, Letter, OutboxStatus
from tests.factories import CampaignFactory, LetterFactory, SignatureFactory
from tests.support.worker import wait_for_idle_broker

LETTERS_URL = reverse("admin:campaign_letter_changelist")


def _letter(campaign, official, name, **fields):
    signature = SignatureFactory(campaign=campaign, full_name=name)
    return LetterFactory(signature=signature, official=official, **fields)


@pytest.fixture
def two_campaigns(db):
    clean_air = CampaignFactory(title="Clean Air")
    rivers = CampaignFactory(title="Clean Rivers")
    minister, mayor = clean_air.targets.all()
    _letter(clean_air, minister, "Ada Sent", status=OutboxStatus.SENT, attempts=1)
    _letter(
        clean_air,
        mayor,
        "Bea Failed",
        status=OutboxStatus.FAILED,
        attempts=1,
        last_error="550 5.1.1 Mailbox unavailable",
    )
    _letter(rivers, rivers.targets.first(), "Cy Pending", attempts=3)
    return clean_air, rivers, minister


def _names(response) -> set[str]:
    page = response.content.decode()
    return {n for n in ("Ada Sent", "Bea Failed", "Cy Pending") if n in page}


@pytest.mark.django_db
def test_letter_list_filters_and_shows_attempts_and_errors(staff_client, two_campaigns):
    clean_air, rivers, minister = two_campaigns

    everything = staff_client.get(LETTERS_URL)
    assert _names(everything) == {"Ada Sent", "Bea Failed", "Cy Pending"}
    page = everything.content.decode()
    assert "550 5.1.1 Mailbox unavailable" in page
    assert '<td class="field-attempts">3</td>' in page

    by_status = staff_client.get(LETTERS_URL, {"status__exact": "failed"})
    assert _names(by_status) == {"Bea Failed"}
    by_campaign = staff_client.get(
        LETTERS_URL, {"signature__campaign__id__exact": rivers.pk}
    )
    assert _names(by_campaign) == {"Cy Pending"}
    by_official = staff_client.get(LETTERS_URL, {"official__id__exact": minister.pk})
    assert _names(by_official) == {"Ada Sent"}


@pytest.mark.django_db
def test_letters_are_read_only(staff_client, two_campaigns):
    letter = Letter.objects.get(signature__full_name="Cy Pending")
    change = staff_client.get(reverse("admin:campaign_letter_change", args=[letter.pk]))
    assert change.status_code == 200
    assert 'name="body"' not in change.content.decode()
    assert staff_client.get(reverse("admin:campaign_letter_add")).status_code == 403


@pytest.mark.django_db
def test_cancel_action_leaves_sent_letters_alone(staff_client, two_campaigns):
    response = staff_client.post(
        LETTERS_URL,
        {
            "action": "cancel",
            "_selected_action": list(Letter.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )

    assert "2 letters cancelled. 1 left alone" in response.content.decode()
    statuses = dict(Letter.objects.values_list("signature__full_name", "status"))
    assert statuses == {
        "Ada Sent": "sent",
        "Bea Failed": "cancelled",
        "Cy Pending": "cancelled",
    }


def test_retry_now_sends_a_failed_letter_again(worker, staff_client, smtp, broker):
    failed = LetterFactory(
        status=OutboxStatus.FAILED, attempts=4, last_error="451 4.3.0 Gave up"
    )
    sent = LetterFactory(status=OutboxStatus.SENT, attempts=1)

    response = staff_client.post(
        LETTERS_URL,
        {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert "1 letter queued again. 1 left alone" in response.content.decode()
    [message] = smtp.wait_for(1)
    wait_for_idle_broker(broker)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 1, "")
    assert message["Message-ID"] == failed.message_id


@pytest.mark.django_db
def test_campaign_list_counts_letters_by_status_in_one_query(
    staff_client, two_campaigns
):
    url = reverse("admin:campaign_campaign_changelist")
    with CaptureQueriesContext(connection) as two:
        page = staff_client.get(url).content.decode()
    assert "Sent on its own: 1</a> · <a" in page and "Failed: 1</a>" in page
    assert "Pending: 1</a>" in page
    clean_air = two_campaigns[0]
    assert (
        f"?signature__campaign__id__exact={clean_air.pk}&amp;status__exact=failed"
        in page
    )

    for _ in range(3):
        campaign = CampaignFactory()
        _letter(campaign, campaign.targets.first(), "Dee", status=OutboxStatus.SENT)
    with CaptureQueriesContext(connection) as five:
        staff_client.get(url)
    assert len(five) == len(two)  # no query per campaign


@pytest.mark.django_db
def test_campaign_counts_are_for_the_page_not_every_use_of_the_queryset(
    rf, staff_client, two_campaigns
):
    """The change page, the delete page and actions all start from get_queryset:
    no aggregate over every letter belongs there."""
    request = rf.get("/")
    request.user = staff_client.user
    assert not admin.site._registry[Campaign].get_queryset(request).query.annotations

    clean_air = two_campaigns[0]
    url = reverse("admin:campaign_campaign_change", args=[clean_air.pk])
    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(url).content.decode()
    assert "Sent on its own: 1</a> · <a" in page and "Failed: 1</a>" in page
    assert "Pending: " not in page  # the other campaign's letter
    counting = [q["sql"] for q in queries if "COUNT(" in q["sql"]]
    # One grouped count for the deliveries, one for the response rates.
    assert len(counting) == 2 and all("GROUP BY" in sql for sql in counting)
