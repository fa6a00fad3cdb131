"""The sign POST's write path (campaign/services/signature_insert.py): a first
signing and its email in one statement on PostgreSQL, two ORM INSERTs elsewhere;
the same rows and the same answers either way. And the signing's emails,
rendered when sent with the links of the site they were asked for at."""

import pytest

from campaign.emails import UnsendableMessage
from campaign.models import ConfirmationEmail, Signature
from campaign.services import signature_insert
from tests.signing.supporter import as_sent, sign


@pytest.fixture(params=["one statement", "two ORM inserts"])
def write_path(request, monkeypatch):
    if request.param == "two ORM inserts":
        # The quick start's SQLite takes this path; here it runs on PostgreSQL.
        monkeypatch.setattr(signature_insert, "ONE_STATEMENT_VENDORS", ())
    return request.param


def test_a_first_signing_stores_both_rows_and_a_repeat_neither(
    campaign, write_path, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://quillpost.example.org"
    with django_capture_on_commit_callbacks() as callbacks:
        first = sign(campaign)
    stored = Signature.objects.get()
    assert (stored.pk, stored.full_name, stored.campaign_id) == (
        first.pk,
        "Ada Lovelace",
        campaign.pk,
    )
    assert stored.created_at == first.created_at  # what the ORM would have stored
    email = ConfirmationEmail.objects.get()
    assert (email.signature_id, email.template, email.site_url, email.status) == (
        first.pk,
        "confirm",
        "https://quillpost.example.org",
        "pending",
    )
    assert len(callbacks) == 1  # its enqueue, after commit

    again = sign(campaign, email="ADA@example.com", town="Elsewhere")
    assert again.pk == first.pk
    assert Signature.objects.get().town == "Marylebone"
    assert ConfirmationEmail.objects.count() == 1  # within the hour: no resend


def test_an_email_rendered_when_sent_keeps_the_links_of_its_site(campaign, settings):
    settings.SITE_URL = "https://campaign.example.org"
    signature = sign(campaign)
    # The worker's settings may differ (or be unset): the row's address stands.
    settings.SITE_URL = "http://127.0.0.1:8000"
    body = as_sent(signature.confirmation_emails.get()).body
    assert f"https://campaign.example.org/confirm/{signature.token}/" in body
    assert "https://campaign.example.org/remove/" in body
    assert "127.0.0.1" not in body


def test_a_row_naming_no_signing_email_fails_as_unsendable(campaign):
    signature = sign(campaign)
    row = signature.confirmation_emails.get()
    row.template = "../settings"
    row.save()
    with pytest.raises(UnsendableMessage):
        as_sent(row)
