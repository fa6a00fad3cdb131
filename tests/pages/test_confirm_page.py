"""The confirmation link: a GET only shows a button (mail scanners follow links),
the POST confirms; expired, closed, paused and unknown links get friendly pages.
And what a request without a CSRF token, or a bad one, gets: never a 500."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign.models import Campaign, Letter, Official, Signature
from tests.factories import SignatureFactory
from tests.pages.sign_form import form_data
from tests.support.http import csrf_token_in, text

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


# --- CSRF and bad requests ---------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused(campaign, page_url):
    signature = SignatureFactory(campaign=campaign, email="pending@example.com")
    strict = Client(enforce_csrf_checks=True)

    responses = [
        strict.post(page_url, form_data()),
        strict.post(reverse("campaign:confirm", args=[signature.token])),
        strict.post(reverse("campaign:preview", args=[campaign.slug]), {}),
    ]

    for response in responses:
        assert response.status_code == 403
        assert "Please try again" in text(response)
    assert Signature.objects.count() == 1
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_with_a_csrf_token_the_strict_client_can_sign_and_confirm(campaign, page_url):
    strict = Client(enforce_csrf_checks=True)
    token = csrf_token_in(strict.get(page_url))
    response = strict.post(page_url, form_data(csrfmiddlewaretoken=token))
    assert response.status_code == 302

    confirm_url = reverse("campaign:confirm", args=[Signature.objects.get().token])
    token = strict.get(confirm_url).context["csrf_token"]
    response = strict.post(confirm_url, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 200
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_a_huge_body_is_a_friendly_400(client, page_url, settings):
    huge = form_data(
        personal_paragraph="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    )
    response = client.post(page_url, huge)
    assert response.status_code == 400
    assert "Something was wrong with that request" in text(response)
    assert not Signature.objects.exists()


def test_other_methods_are_refused_politely(client, page_url):
    assert client.put(page_url).status_code == 405
    assert client.delete("/confirm/" + "x" * 43 + "/").status_code == 405


def test_error_pages_render_without_a_request():
    """Django renders 500.html (and the CSRF page) with no request context."""
    for name in ("500.html", "400.html", "403_csrf.html"):
        html = render_to_string(name)
        assert "<h1>" in html and "Quillpost" in html
