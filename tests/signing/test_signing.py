"""campaign/services/signing.py: signing, duplicates, confirming, letters.

The outbox rows are the truth, so most tests assert rows and on-commit callbacks
without running them (they would enqueue onto the session's real broker). What
is actually sent is checked through the real worker and SMTP server at the end.
"""

import logging
import re
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaign import selectors
from campaign.models import Campaign, ConfirmationEmail, Letter, Official, Signature
from campaign.selectors import ConfirmationState, SigningState
from campaign.services.signing import (
    CampaignNotSignable,
    ConfirmationRefused,
    campaign_sign,
    letters_create_for,
    signature_confirm,
)
from letters.models import LetterTemplate
from letters.rendering import TemplateError
from tests.factories import (
    CampaignFactory,
    OfficialFactory,
    SignatureFactory,
)

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
    ("change", "state"),
    [
        ({"status": Campaign.Status.CLOSED}, SigningState.CLOSED),
        ({"status": Campaign.Status.DRAFT}, SigningState.CLOSED),
        ({"closes_at": timezone.now() - timedelta(minutes=1)}, SigningState.CLOSED),
        ({"opens_at": timezone.now() + timedelta(days=1)}, SigningState.NOT_YET_OPEN),
    ],
    ids=["closed", "draft", "past-closing", "not-yet-open"],
)
def test_unsignable_campaign_refuses(campaign, change, state):
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign.refresh_from_db()
    with pytest.raises(CampaignNotSignable) as refused:
        sign(campaign)
    assert refused.value.state is state
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()


@pytest.mark.parametrize("how", ["all-inactive", "none"])
def test_live_campaign_without_active_targets_refuses(campaign, how):
    """Signing would store a signature whose letter goes to no one."""
    if how == "none":
        campaign.targets.clear()
    else:
        campaign.targets.update(is_active=False)
    with pytest.raises(CampaignNotSignable) as refused:
        sign(campaign)
    assert refused.value.state is SigningState.PAUSED
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()


def test_campaign_whose_stored_letter_cannot_render_refuses(campaign):
    """A template saved before validation existed pauses signing: otherwise the
    signature would be taken and confirming it would fail to draft the letter."""
    LetterTemplate.objects.filter(pk=campaign.letter_template_id).update(
        body_template="Dear {{ official.nmae }}, {{ signer.name }}"
    )
    campaign.refresh_from_db()
    with pytest.raises(CampaignNotSignable) as refused:
        sign(campaign)
    assert refused.value.state is SigningState.PAUSED
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"status": Campaign.Status.CLOSED},
        {"status": Campaign.Status.DRAFT},
        {"closes_at": timezone.now() - timedelta(minutes=1)},
        {"closes_at": timezone.now() + timedelta(minutes=1)},
        {"opens_at": timezone.now() + timedelta(minutes=1)},
        {"opens_at": timezone.now() - timedelta(minutes=1)},
        {"targets": "inactive"},
        {"targets": "none"},
    ],
    ids=str,
)
def test_home_page_rule_in_sql_agrees_with_the_signing_rule(change):
    campaign = CampaignFactory()
    targets = change.pop("targets", None)
    if targets == "none":
        campaign.targets.clear()
    elif targets == "inactive":
        campaign.targets.update(is_active=False)
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign.refresh_from_db()
    listed = selectors.campaigns_open().filter(pk=campaign.pk).exists()
    state = selectors.campaign_signing_state(campaign=campaign)
    assert listed == (state is SigningState.OPEN)


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


def test_edited_letter_must_be_a_valid_template_the_signer_signs(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(signers_may_edit=True)
    campaign.refresh_from_db()
    with pytest.raises(TemplateError):
        sign(campaign, letter_body="Dear {{ official.__class__ }}")
    with pytest.raises(ValidationError, match="signer.name"):
        sign(campaign, letter_body="{{ official.salutation }}, an unsigned letter.")
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
    assert len(callbacks) == 2  # letters to the worker; the count's increment

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
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token=signature.token)
    assert refused.value.state is ConfirmationState.EXPIRED
    assert refused.value.signature.pk == signature.pk
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
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token="x" * 43)
    assert refused.value.state is ConfirmationState.UNKNOWN
    assert refused.value.signature is None


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ("closed", ConfirmationState.CLOSED),
        ("targets-retired", ConfirmationState.PAUSED),
    ],
)
def test_confirming_when_the_campaign_stopped_taking_signatures_sends_nothing(
    campaign, change, state
):
    signature = sign(campaign)
    if change == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    else:
        Official.objects.update(is_active=False)
    stored = selectors.signature_for_token(token=signature.token)
    assert selectors.confirmation_state(signature=stored) is state  # what GET shows
    with pytest.raises(ConfirmationRefused) as refused:
        signature_confirm(token=signature.token)
    assert refused.value.state is state
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
        selectors.signature_count_increment(campaign_id=one.pk)  # no recount
        assert selectors.signature_count(campaign_id=one.pk) == 4
    cache.clear()


def _redis_ttl(key: str) -> int:
    """The key's TTL in Redis itself (-1: none, -2: no such key)."""
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    try:
        return client.ttl(cache.make_and_validate_key(key))
    finally:
        client.close()


def test_count_increment_is_atomic_and_keeps_the_expiry(settings):
    """Against the suite's real Redis cache (CACHE_URL)."""
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    campaign = CampaignFactory()
    key = selectors._count_key(campaign.pk)
    cache.set(key, 41, 600)

    threads = [
        threading.Thread(
            target=selectors.signature_count_increment,
            kwargs={"campaign_id": campaign.pk},
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.get(key) == 49  # no increment lost
    assert 0 < _redis_ttl(key) <= 600  # INCR keeps the expiry set with the count


def test_count_increment_without_a_cached_count_leaves_it_to_the_next_view():
    campaign = CampaignFactory()
    SignatureFactory.create_batch(2, campaign=campaign, status="confirmed")
    selectors.signature_count_increment(campaign_id=campaign.pk)
    assert _redis_ttl(selectors._count_key(campaign.pk)) == -2  # nothing created
    assert selectors.signature_count(campaign_id=campaign.pk) == 2


def test_count_increment_drops_a_key_that_expired_under_it(monkeypatch):
    """Django's incr() is EXISTS then INCR: if the key expires in between, INCR
    creates it at 1 with no expiry, a wrong count forever. It must be deleted."""
    campaign = CampaignFactory()
    SignatureFactory.create_batch(5, campaign=campaign, status="confirmed")
    key = selectors._count_key(campaign.pk)
    cache.set(key, 4, 600)
    real_exists = redis.Redis.exists

    def exists_then_expire(client, *names):
        found = real_exists(client, *names)
        client.delete(*names)  # expires right after the check
        return found

    monkeypatch.setattr(redis.Redis, "exists", exists_then_expire)
    selectors.signature_count_increment(campaign_id=campaign.pk)
    monkeypatch.undo()

    assert _redis_ttl(key) == -2  # not left behind without an expiry
    assert selectors.signature_count(campaign_id=campaign.pk) == 5  # recounted
    assert _redis_ttl(key) > 0


# --- logs: ids, never personal data ----------------------------------------------


def test_signing_and_confirming_log_ids_and_no_personal_data(campaign, caplog):
    caplog.set_level(logging.INFO, logger="campaign.services.signing")
    signature = sign(campaign)
    sign(campaign)  # a repeat
    signature_confirm(token=signature.token)

    records = [r for r in caplog.records if r.name == "campaign.services.signing"]
    signed, repeat, confirmed = records
    assert (signed.signature_id, signed.campaign_id) == (signature.pk, campaign.pk)
    assert (signed.repeat, repeat.repeat) == (False, True)
    assert repeat.signature_id == signature.pk
    letter_ids = sorted(Letter.objects.values_list("pk", flat=True))
    assert sorted(confirmed.letter_ids) == letter_ids
    assert confirmed.getMessage() == (
        f"signature {signature.pk} confirmed (letters {confirmed.letter_ids})"
    )
    for record in records:
        assert record.levelno == logging.INFO
        logged = record.getMessage() + repr(vars(record))
        for private in ("Ada", "ada@", "NW1", "Marylebone", signature.token):
            assert private not in logged


# --- emails to the supporter are plain text ---------------------------------------


def test_confirmation_emails_are_not_html_escaped(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(title="St Mary's Library & Garden")
    campaign.refresh_from_db()
    signature = sign(campaign)
    signature_confirm(token=signature.token)
    age_confirmation_emails(signature, minutes=90)
    sign(campaign)  # the "already signed" email

    confirm, already = signature.confirmation_emails.order_by("created_at")
    assert confirm.subject == (
        "Please confirm your signature: St Mary's Library & Garden"
    )
    assert already.subject == "You have already signed: St Mary's Library & Garden"
    for row in (confirm, already):
        assert '"St Mary\'s Library & Garden"' in row.body
        assert "&amp;" not in row.subject + row.body
        assert "&#x27;" not in row.subject + row.body


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
    assert selectors.signature_count(campaign_id=campaign.pk) == 1  # counted in

    messages = smtp.wait_for(3)
    time.sleep(1)  # time enough for a duplicate to show up, if one were coming
    assert len(smtp.messages) == 3
    letters = [m for m in messages if m.envelope_rcpt != ["ada@example.com"]]
    assert sorted(m.envelope_rcpt[0] for m in letters) == sorted(
        campaign.targets.values_list("email", flat=True)
    )
    assert all("Ada Lovelace" in m.get_content() for m in letters)
