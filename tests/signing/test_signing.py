"""campaign/services/signing.py: signing, repeat signings, refusals, and what
signing logs and emails.

The outbox rows are the truth, so most tests assert rows and on-commit callbacks
without running them (they would enqueue onto the session's real broker). What
is actually sent is checked through the real worker and SMTP server in
test_confirming.py.
"""

import logging
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaign import privacy, selectors
from campaign.models import Campaign, ConfirmationEmail, Letter, Signature
from campaign.selectors import SigningState
from campaign.services.signing import CampaignNotSignable, signature_confirm
from letters.models import LetterTemplate
from letters.rendering import TemplateError
from tests.factories import CampaignFactory, SignatureFactory
from tests.signing.supporter import age_confirmation_emails, as_sent, sign
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db


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
    # Rendered when sent: the row holds which email, not its text (nor its link).
    assert (row.template, row.subject, row.body) == ("confirm", "", "")
    email = as_sent(row)
    assert email.subject == "Please confirm your signature: Save the Library"
    assert f"https://quillpost.example.org/confirm/{signature.token}/" in email.body
    assert privacy.withdraw_url(signature_id=signature.pk) in email.body
    # Nothing the supporter typed goes to the address they typed.
    assert "Ada" not in email.body and "Libraries" not in email.body
    assert "&" not in email.body  # plain text, not HTML-escaped
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
    assert f"/confirm/{first.token}/" in as_sent(latest).body


def test_duplicate_after_confirming_gets_no_confirm_link(campaign):
    signature = sign(campaign)
    signature_confirm(token=signature.token)
    age_confirmation_emails(signature, minutes=90)

    sign(campaign, email="ADA@example.com")

    latest = signature.confirmation_emails.order_by("-created_at").first()
    email = as_sent(latest)
    assert email.subject.startswith("You have already signed")
    assert "/confirm/" not in email.body
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
    assert f"/confirm/{signature.token}/" in as_sent(latest).body
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
                with connection.cursor() as cursor:

                    def we_wait() -> int:
                        cursor.execute(
                            "SELECT count(*) FROM pg_locks WHERE pid = %s "
                            "AND NOT granted",
                            [our_pid],
                        )
                        return cursor.fetchone()[0]

                    wait_until(we_wait, 10, "our INSERT to wait", interval=0.02)
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

    rows = signature.confirmation_emails.order_by("created_at")
    confirm, already = (as_sent(row) for row in rows)
    assert confirm.subject == (
        "Please confirm your signature: St Mary's Library & Garden"
    )
    assert already.subject == "You have already signed: St Mary's Library & Garden"
    for email in (confirm, already):
        assert '"St Mary\'s Library & Garden"' in email.body
        assert "&amp;" not in email.subject + email.body
        assert "&#x27;" not in email.subject + email.body
