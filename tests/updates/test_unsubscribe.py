"""Unsubscribing from updates: the one-click POST mail providers send (RFC 8058,
no CSRF token, no cookie), the footer page (a GET changes nothing, its button
acts, optionally for every campaign), and a permanent bounce. Letters are not
affected. In-process, on PostgreSQL."""

import pytest
from django.test import Client

from campaign.bounce_reports import parse_bounce
from campaign.models import Letter, Signature, UpdateEmail
from campaign.services import updates
from campaign.services.bounces import outbox_bounce_record
from campaign.update_text import unsubscribe_url
from campaign.verp import verp_address
from tests.bounces.reports import dsn
from tests.factories import CampaignFactory, LetterFactory

from .conftest import draft, supporters

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client():
    # What a mail provider or a browser without our cookie is: CSRF enforced.
    return Client(enforce_csrf_checks=True)


def path(signature) -> str:
    return unsubscribe_url(signature_id=signature.pk).removeprefix(
        "http://127.0.0.1:8000"
    )


def waiting_copy(campaign, signature):
    update = draft(campaign)
    updates.update_send(update_id=update.pk)
    return UpdateEmail.objects.get(update=update, signature=signature)


def test_one_click_post_unsubscribes_at_once_without_csrf(
    campaign, browser_client, settings
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    fan, other = supporters(campaign, 2)
    letter = LetterFactory(signature=fan, official=campaign.targets.first())
    copy = waiting_copy(campaign, fan)

    response = browser_client.post(
        path(fan),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    fan.refresh_from_db()
    assert fan.keep_updated is False
    assert fan.updates_unsubscribed_at is not None
    copy.refresh_from_db()
    assert copy.status == "cancelled"  # not sent after all
    assert Letter.objects.get(pk=letter.pk).status == letter.status  # untouched
    # The next update skips them; the other supporter still gets it.
    later = draft(campaign)
    assert set(updates.update_audience(update=later)) == {other}
    # A provider posting twice changes nothing more.
    first = fan.updates_unsubscribed_at
    browser_client.post(
        path(fan),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    fan.refresh_from_db()
    assert fan.updates_unsubscribed_at == first


def test_a_get_shows_a_button_and_changes_nothing(campaign, browser_client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    (fan,) = supporters(campaign, 1)
    response = browser_client.get(path(fan))
    assert response.status_code == 200
    assert b"Stop updates</button>" in response.content
    assert b'name="scope" value="all"' in response.content
    fan.refresh_from_db()
    assert fan.keep_updated is True
    assert fan.updates_unsubscribed_at is None


def test_the_page_button_can_stop_every_campaign(campaign, browser_client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    (fan,) = supporters(campaign, 1)
    elsewhere = CampaignFactory()
    (same_person,) = supporters(elsewhere, 1)
    Signature.objects.filter(pk=same_person.pk).update(
        email_normalised=fan.email_normalised
    )
    (stranger,) = supporters(elsewhere, 1, prefix="stranger")

    response = browser_client.post(path(fan), {"scope": "all"})
    assert response.status_code == 200
    assert b"any campaign" in response.content
    stopped = set(
        Signature.objects.filter(keep_updated=False).values_list("pk", flat=True)
    )
    assert stopped == {fan.pk, same_person.pk}
    assert stranger.pk not in stopped


def test_a_forged_link_is_not_recognised(campaign, browser_client):
    (fan,) = supporters(campaign, 1)
    response = browser_client.post(
        f"/updates/stop/{fan.pk}:forged/", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 404
    assert b"not recognised" in response.content
    fan.refresh_from_db()
    assert fan.keep_updated is True


def test_a_permanent_bounce_stops_updates_to_that_address(campaign):
    fan, other = supporters(campaign, 2)
    copy = waiting_copy(campaign, fan)
    UpdateEmail.objects.filter(pk=copy.pk).update(status="sent")
    (twin,) = supporters(CampaignFactory(), 1, prefix="twin")
    Signature.objects.filter(pk=twin.pk).update(email_normalised=fan.email_normalised)

    bounce = parse_bounce(dsn(verp_address(kind="u", pk=copy.pk)))
    assert "stopped 2" in outbox_bounce_record(bounce=bounce)
    copy.refresh_from_db()
    assert copy.status == "bounced"
    assert set(
        Signature.objects.filter(updates_bounced_at__isnull=False).values_list(
            "pk", flat=True
        )
    ) == {fan.pk, twin.pk}
    assert set(updates.update_audience(update=draft(campaign))) == {other}
