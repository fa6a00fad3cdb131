"""campaign/services/signing.py: signing, duplicates, confirming, letters.

The outbox rows are the truth, so most tests assert rows and on-commit callbacks
without running them (they would enqueue onto the session's real broker). What
is actually sent is checked through the real worker and SMTP server at the end.
"""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaign import selectors
from campaign.models import Campaign, ConfirmationEmail, Letter, Signature
from campaign.services.signing import (
    CampaignNotSignable,
    ConfirmationTokenExpired,
    ConfirmationTokenUnknown,
    campaign_sign,
    letters_create_for,
    signature_confirm,
)
from letters.rendering import TemplateError
from tests.factories import CampaignFactory, OfficialFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return CampaignFactory(
        title="Save the Library",
        targets=[
            OfficialFactory(name="Alex Morgan", salutation="Dear Prime Minister"),
            OfficialFactory(name="Sam Okafor", salutation="Dear Home Secretary"),
        ],
    )


def sign(campaign, **overrides) -> Signature:
    data = {
        "campaign": campaign,
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "town": "Marylebone",
        "personal_paragraph": "Libraries taught me to read.",
        "consent_to_send": True,
    }
    return campaign_sign(**{**data, **overrides})


def age_confirmation_emails(signature, *, minutes: int) -> None:
    signature.confirmation_emails.update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


# --- signing -------------------------------------------------------------------


def test_sign_stores_a_pending_signature_and_its_confirmation_email(
    campaign, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://quillpost.example.org"
    with django_capture_on_commit_callbacks() as callbacks:
        signature = sign(campaign, email="  Ada.Lovelace+library@Example.COM ")

    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None
    assert signature.email == "Ada.Lovelace+library@Example.COM"
    assert signature.email_normalised == "ada.lovelace@example.com"
    assert len(signature.token) >= 40
    row = signature.confirmation_emails.get()
    assert row.status == "pending"
    assert row.subject == "Please confirm your signature: Save the Library"
    assert f"https://quillpost.example.org/confirm/{signature.token}/" in row.body
    # Nothing the supporter typed goes to the address they typed.
    assert "Ada" not in row.body and "Libraries" not in row.body
    assert "&" not in row.body  # plain text, not HTML-escaped
    assert len(callbacks) == 1  # the enqueue, after commit
    assert not Letter.objects.exists()


def test_duplicate_normalised_email_makes_no_second_row_and_resends_hourly(
    campaign, django_capture_on_commit_callbacks
):
    first = sign(campaign, email="ada.lovelace@gmail.com")
    with django_capture_on_commit_callbacks() as callbacks:
        again = sign(
            campaign, email=" Ada.Love.Lace+again@GoogleMail.com", town="Elsewhere"
        )

    assert again.pk == first.pk
    assert Signature.objects.count() == 1
    assert Signature.objects.get().town == "Marylebone"  # the first details stand
    assert ConfirmationEmail.objects.count() == 1  # within the hour: no resend
    assert callbacks == []

    age_confirmation_emails(first, minutes=61)
    with django_capture_on_commit_callbacks() as callbacks:
        sign(campaign, email="adalovelace@gmail.com")
    assert ConfirmationEmail.objects.count() == 2
    assert len(callbacks) == 1
    latest = first.confirmation_emails.order_by("-created_at").first()
    assert f"/confirm/{first.token}/" in latest.body


def test_duplicate_after_confirming_gets_no_confirm_link(campaign):
    signature = sign(campaign)
    signature_confirm(token=signature.token)
    age_confirmation_emails(signature, minutes=90)

    sign(campaign, email="ADA@example.com")

    latest = signature.confirmation_emails.order_by("-created_at").first()
    assert latest.subject.startswith("You have already signed")
    assert "/confirm/" not in latest.body
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_duplicate_after_expiry_gets_a_fresh_working_link(campaign, settings):
    signature = sign(campaign)
    old_token = signature.token
    Signature.objects.update(token_created_at=timezone.now() - timedelta(days=8))
    age_confirmation_emails(signature, minutes=8 * 24 * 60)

    sign(campaign)

    signature.refresh_from_db()
    assert signature.token != old_token
    assert not signature.token_expired()
    latest = signature.confirmation_emails.order_by("-created_at").first()
    assert f"/confirm/{signature.token}/" in latest.body
    assert signature_confirm(token=signature.token).status == "confirmed"


def test_simultaneous_first_signings_make_one_row_and_no_error(
    transactional_db, campaign
):
    """The other signer's INSERT is uncommitted when ours runs: ours must wait on
    the unique index, lose, and answer like any duplicate (never a 500)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        our_pid = cursor.fetchone()[0]
    inserted = threading.Event()
    problems: list[BaseException] = []

    def other_signer():
        try:
            with transaction.atomic():
                SignatureFactory(campaign=campaign, email="ada@example.com")
                inserted.set()
                # Commit only once our INSERT is blocked behind this one.
                deadline = time.monotonic() + 10
                with connection.cursor() as cursor:
                    while True:
                        cursor.execute(
                            "SELECT count(*) FROM pg_locks WHERE pid = %s "
                            "AND NOT granted",
                            [our_pid],
                        )
                        if cursor.fetchone()[0]:
                            break
                        assert time.monotonic() < deadline, "we never waited"
                        time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            problems.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=other_signer)
    thread.start()
    assert inserted.wait(10)
    signature = sign(campaign, email="Ada@Example.com")
    thread.join(15)

    assert problems == []
    assert Signature.objects.filter(campaign=campaign).count() == 1
    assert signature.pk == Signature.objects.get().pk
    assert signature.confirmation_emails.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.CLOSED},
        {"status": Campaign.Status.DRAFT},
        {"closes_at": timezone.now() - timedelta(minutes=1)},
        {"opens_at": timezone.now() + timedelta(days=1)},
    ],
    ids=["closed", "draft", "past-closing", "not-yet-open"],
)
def test_unsignable_campaign_refuses(campaign, change):
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign.refresh_from_db()
    with pytest.raises(CampaignNotSignable):
        sign(campaign)
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "Ada\r\nBcc: victim@example.com"),
        ("full_name", "Ada\x00Lovelace"),
        ("email", "ada@example.com\nBcc: victim@example.com"),
        ("full_name", "A" * 101),
        ("postcode", "<script>"),
        ("consent_to_send", False),
    ],
)
def test_service_refuses_bad_input_and_writes_nothing(campaign, field, value):
    with pytest.raises(ValidationError):
        sign(campaign, **{field: value})
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()


def test_edited_letter_must_be_a_valid_template(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(signers_may_edit=True)
    campaign.refresh_from_db()
    with pytest.raises(TemplateError):
        sign(campaign, letter_body="Dear {{ official.__class__ }}")
    assert not Signature.objects.exists()


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
    assert len(callbacks) == 2  # letters to the worker; the count refreshed

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
    with pytest.raises(ConfirmationTokenExpired):
        signature_confirm(token=signature.token)
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
    with pytest.raises(ConfirmationTokenUnknown):
        signature_confirm(token="x" * 43)


def test_confirming_after_the_campaign_closed_sends_nothing(campaign):
    signature = sign(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    with pytest.raises(CampaignNotSignable):
        signature_confirm(token=signature.token)
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_letters_create_for_skips_officials_already_written_to(campaign):
    signature = SignatureFactory(campaign=campaign)
    first = letters_create_for(signature=signature)
    assert len(first) == 2 and all(letter.pk for letter in first)
    assert letters_create_for(signature=signature) == []
    assert Letter.objects.count() == 2


def test_signature_counts_are_cached_and_grouped(django_assert_num_queries):
    one, two = CampaignFactory(), CampaignFactory()
    SignatureFactory.create_batch(3, campaign=one, status="confirmed")
    SignatureFactory(campaign=one)  # pending: not counted
    with django_assert_num_queries(1):
        counts = selectors.signature_counts(campaign_ids=[one.pk, two.pk])
    assert counts == {one.pk: 3, two.pk: 0}
    SignatureFactory(campaign=one, status="confirmed")
    with django_assert_num_queries(0):
        assert selectors.signature_count(campaign_id=one.pk) == 3  # cached
    assert selectors.signature_count_refresh(campaign_id=one.pk) == 4
    with django_assert_num_queries(0):
        assert selectors.signature_count(campaign_id=one.pk) == 4
    cache.clear()


# --- the whole way, through the real worker and SMTP ------------------------------


def test_confirmation_and_letters_go_out_through_the_worker_once(
    transactional_db, campaign, smtp, celery_worker_proc, settings
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
    assert selectors.signature_count(campaign_id=campaign.pk) == 1  # refreshed

    messages = smtp.wait_for(3)
    time.sleep(1)  # time enough for a duplicate to show up, if one were coming
    assert len(smtp.messages) == 3
    letters = [m for m in messages if m.envelope_rcpt != ["ada@example.com"]]
    assert sorted(m.envelope_rcpt[0] for m in letters) == sorted(
        campaign.targets.values_list("email", flat=True)
    )
    assert all("Ada Lovelace" in m.get_content() for m in letters)
