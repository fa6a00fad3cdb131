"""Consent records and the privacy page: what a supporter agreed to is kept as
they saw it, with a keyed hash instead of their address."""

import pytest
from django.urls import reverse

from campaign import privacy
from campaign.models import ConsentText, Signature
from campaign.services.privacy import consent_text_create
from tests.pages.sign_form import form_data

pytestmark = pytest.mark.django_db


def _sign_through_the_page(client, campaign, **overrides):
    url = reverse("campaign:detail", args=[campaign.slug])
    response = client.post(url, form_data(**overrides), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    return Signature.objects.get(email=overrides.get("email", "ada@example.com"))


def test_a_signature_records_the_wording_shown_its_time_and_a_hash_of_the_address(
    client, campaign
):
    signature = _sign_through_the_page(client, campaign, keep_updated="on")

    assert signature.consent_text.version == 1
    assert signature.consent_text.text == privacy.DEFAULT_CONSENT_TEXT
    assert signature.consented_at is not None
    assert signature.keep_updated is True
    assert signature.client_ip_hash == privacy.client_ip_hash("203.0.113.9")
    assert len(signature.client_ip_hash) == 64
    stored = Signature.objects.filter(pk=signature.pk).values().get()
    assert not any("203.0.113.9" in str(value) for value in stored.values())


def test_a_new_wording_is_shown_from_then_on_and_never_rewrites_the_old(
    client, campaign, django_capture_on_commit_callbacks
):
    first = _sign_through_the_page(client, campaign)
    page = client.get(reverse("campaign:detail", args=[campaign.slug]))  # cached
    assert privacy.DEFAULT_CONSENT_TEXT in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # forgets the cached one
        consent_text_create(text="I agree, and I have read the privacy notice.")

    page = client.get(reverse("campaign:detail", args=[campaign.slug]))
    assert "I have read the privacy notice." in page.content.decode()
    second = _sign_through_the_page(client, campaign, email="grace@example.com")

    first.refresh_from_db()
    assert (first.consent_text.version, second.consent_text.version) == (1, 2)
    assert first.consent_text.text == privacy.DEFAULT_CONSENT_TEXT
    assert list(ConsentText.objects.values_list("version", flat=True)) == [2, 1]


def test_the_same_address_hashes_alike_and_others_differ(settings):
    assert privacy.client_ip_hash("192.0.2.1") == privacy.client_ip_hash("192.0.2.1")
    assert privacy.client_ip_hash("192.0.2.1") != privacy.client_ip_hash("192.0.2.2")
    before = privacy.client_ip_hash("192.0.2.1")
    settings.SECRET_KEY = "another-site-entirely"
    assert privacy.client_ip_hash("192.0.2.1") != before  # keyed: no rainbow table


def test_privacy_page_names_the_operator_and_the_periods_from_the_settings(
    client, settings, campaign
):
    settings.SITE_OPERATOR_NAME = "Clean Air Campaigns Ltd"
    settings.SITE_OPERATOR_CONTACT = "privacy@cleanair.example.org"
    settings.SIGNER_DATA_RETENTION_DAYS = 90
    settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS = 3

    page = client.get(reverse("campaign:privacy"))

    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "run by Clean Air Campaigns Ltd" in text
    assert "privacy@cleanair.example.org" in text
    assert "after 3 days" in text
    assert "90 days after a campaign closes" in text
    assert privacy.DEFAULT_CONSENT_TEXT in text


def test_footer_and_sign_form_link_to_the_privacy_page(client, campaign):
    page = client.get(reverse("campaign:detail", args=[campaign.slug])).content
    privacy_link = f'href="{reverse("campaign:privacy")}"'.encode()
    assert page.count(privacy_link) == 2  # the footer and beside the sign button


def test_the_admin_adds_new_versions_and_cannot_rewrite_old_ones(
    staff_client, django_capture_on_commit_callbacks
):
    first = privacy.consent_text_current()
    add = reverse("admin:campaign_consenttext_add")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(add, {"text": "  I agree to version two.  "})
    assert response.status_code == 302
    assert privacy.consent_text_current().version == 2
    assert privacy.consent_text_current().text == "I agree to version two."

    change = reverse("admin:campaign_consenttext_change", args=[first.pk])
    staff_client.post(change, {"text": "Rewritten"})
    first.refresh_from_db()
    assert first.text == privacy.DEFAULT_CONSENT_TEXT
