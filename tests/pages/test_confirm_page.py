"""The confirmation link: a GET only shows a button (mail scanners follow links),
the POST confirms; expired, closed, paused and unknown links get friendly pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.models import Campaign, Letter, Official, Signature
from tests.factories import (
    SignatureFactory,
)
from tests.support.http import text

pytestmark = pytest.mark.django_db


# --- confirming --------------------------------------------------------------------


def test_get_on_the_confirmation_link_changes_nothing(
    client, campaign, django_capture_on_commit_callbacks
):
    signature = SignatureFactory(campaign=campaign)
    url = reverse("campaign:confirm", args=[signature.token])

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(url)
        client.get(url)
        client.head(url)

    body = text(response)
    assert response.status_code == 200
    assert "Confirm and send my letter" in body
    assert f'<form method="post" action="{url}">' in body
    assert 'name="csrfmiddlewaretoken"' in body
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None
    assert not Letter.objects.exists()
    assert callbacks == []


def test_confirm_post_thanks_with_the_new_count_and_is_idempotent(
    client, campaign, django_capture_on_commit_callbacks
):
    SignatureFactory.create_batch(4, campaign=campaign, status="confirmed")
    signature = SignatureFactory(campaign=campaign, full_name="Ada Lovelace")
    url = reverse("campaign:confirm", args=[signature.token])

    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post(url)
    with django_capture_on_commit_callbacks() as more_callbacks:
        second = client.post(url)

    assert first.status_code == second.status_code == 200
    assert "Thank you, Ada Lovelace" in text(first)
    assert 'data-count="5"' in text(first)
    assert "Alex Morgan and Sam Okafor" in text(first)
    for share in ("mailto:?subject=", "https://wa.me/", "https://x.com/intent/post",
                  "https://www.facebook.com/sharer/sharer.php"):  # fmt: skip
        assert share in text(first)
    assert "Thank you, Ada Lovelace" in text(second)
    assert Letter.objects.count() == 2
    assert len(callbacks) == 2 and more_callbacks == []
    # A scanner opening the link afterwards sees the thank-you page too.
    assert "Thank you, Ada Lovelace" in text(client.get(url))


def test_expired_link_is_a_friendly_page_with_a_way_to_sign_again(client, campaign):
    signature = SignatureFactory(
        campaign=campaign, token_created_at=timezone.now() - timedelta(days=8)
    )
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "This link has expired" in text(response)
        assert f'href="/campaigns/{campaign.slug}/"' in text(response)
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_link_lifetime_follows_the_setting(client, campaign, settings):
    settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS = 2
    now = timezone.now()
    # Both would confirm under the default of 7 days.
    stale = SignatureFactory(
        campaign=campaign, token_created_at=now - timedelta(days=3)
    )
    fresh = SignatureFactory(
        campaign=campaign, token_created_at=now - timedelta(days=1)
    )

    refused = client.post(reverse("campaign:confirm", args=[stale.token]))
    assert refused.status_code == 410
    assert "This link has expired" in text(refused)
    assert "Confirmation links work for 2 days" in text(refused)
    stale.refresh_from_db()
    assert (stale.status, stale.confirmed_at) == (Signature.Status.PENDING, None)
    assert not Letter.objects.exists()

    confirmed = client.post(reverse("campaign:confirm", args=[fresh.token]))
    assert confirmed.status_code == 200
    assert f"Thank you, {fresh.full_name}" in text(confirmed)
    fresh.refresh_from_db()
    assert fresh.status == Signature.Status.CONFIRMED
    assert set(Letter.objects.values_list("signature_id", flat=True)) == {fresh.pk}
    assert Letter.objects.count() == 2


def test_confirm_after_close_is_a_friendly_page(client, campaign):
    signature = SignatureFactory(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "This campaign has closed" in text(response)
    assert not Letter.objects.exists()


def test_confirm_while_no_one_is_targeted_waits_and_works_later(client, campaign):
    signature = SignatureFactory(campaign=campaign)
    Official.objects.update(is_active=False)
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 409
        assert "not taking signatures right now" in text(response)
        assert "your letter has not been sent" in text(response)
    assert Signature.objects.get().status == Signature.Status.PENDING

    Official.objects.update(is_active=True)
    response = client.post(url)
    assert "Thank you," in text(response)
    assert Letter.objects.count() == 2


@pytest.mark.parametrize(
    "token",
    ["x" * 43, "short", "a" * 500, "%00", "..%2F..%2Fetc", "tok%0D%0Aen", "'; DROP"],
)
def test_unknown_or_malformed_tokens_are_a_friendly_404(client, token):
    for response in (
        client.get(f"/confirm/{token}/"),
        client.post(f"/confirm/{token}/"),
    ):
        assert response.status_code == 404
        # A "/" inside never reaches the view: the site-wide 404 page answers.
        friendly = "Page not found" if "%2F" in token else "We don't recognise this"
        assert friendly in text(response)
