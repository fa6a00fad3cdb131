"""Every admin changelist and change page renders for a superuser with data present."""

import html

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaign.models import (
    Area,
    AreaTargeting,
    Campaign,
    ConsentText,
    Digest,
    ErasureRecord,
    HandinPack,
    Letter,
    Official,
    PostcodeDataset,
    Questionnaire,
    Signature,
    Update,
)
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
)

# Rows only services write: a signature by hand would have no confirmation email,
# letters and confirmation emails are the outbox's record of what was sent.
NO_ADD = {"signature", "letter", "confirmationemail", "digest", "campaigntarget"}
NO_ADD |= {"questionnaire"}  # asked by the questionnaire service only
NO_ADD |= {"receipt"}  # queued by the receipt service only
# django-axes' records of log-ins, written only by its signal handlers.
NO_ADD |= {"accessattempt", "accesslog", "accessfailurelog"}
# The audit trail of erasures: written only by the erasure service.
NO_ADD |= {"erasurerecord"}
# Built from a campaign's page ("Build hand-in pack"), by the worker.
NO_ADD |= {"handinpack"}
# Loaded with manage.py import_postcodes only.
NO_ADD |= {"postcodedataset"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    signature = SignatureFactory(full_name="Ada Lovelace")
    letter = LetterFactory(
        signature=signature, official=signature.campaign.targets.first()
    )
    signature.confirmation_emails.create(subject="Confirm", body="Click")
    digest = Digest.objects.create(
        campaign=signature.campaign,
        official=letter.official,
        subject="1 new supporter",
        body="Ada Lovelace",
        new_signatures=1,
    )
    Letter.objects.filter(pk=letter.pk).update(digest=digest)
    ConsentText.objects.create(version=1, text="I agree.")
    ErasureRecord.objects.create(signatures=1, campaigns=1)
    HandinPack.objects.create(campaign=signature.campaign, official=letter.official)
    signature.receipts.create(kind="receipt", subject="Your letters", body="Sent")
    Questionnaire.objects.create(
        letter=letter,
        campaign=signature.campaign,
        official=letter.official,
        sent_at=timezone.now(),
    )
    Update.objects.create(
        campaign=signature.campaign, subject="News", body="Dear {{ signer.name }}"
    )
    dataset = PostcodeDataset.objects.create(name="ONS", version="2026-08-01")
    Area.objects.create(code="E01", name="Northtown", official=letter.official)
    AreaTargeting.objects.create(campaign=signature.campaign, dataset=dataset)
    Group.objects.create(name="Organisers")
    who = {"username": "organiser", "ip_address": "192.0.2.1", "user_agent": "Test"}
    AccessAttempt.objects.create(**who, failures_since_start=3)
    AccessLog.objects.create(**who)
    AccessFailureLog.objects.create(**who)
    return letter


def _registered():
    return [(m._meta.app_label, m._meta.model_name, m) for m in admin.site._registry]


@pytest.mark.parametrize(
    ("app", "model", "model_cls"), _registered(), ids=lambda v: str(v)
)
def test_changelist_and_change_page(staff_client, data, app, model, model_cls):
    changelist = staff_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert changelist.status_code == 200
    obj = model_cls._default_manager.first()
    assert obj is not None, f"no {model} row to open"
    change = staff_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
    assert change.status_code == 200
    add = staff_client.get(reverse(f"admin:{app}_{model}_add"))
    assert add.status_code == (403 if model in NO_ADD else 200)


def test_admin_search_and_filters(staff_client, data):
    url = reverse("admin:campaign_signature_changelist")
    response = staff_client.get(url, {"q": "lovelace", "status__exact": "pending"})
    assert response.status_code == 200
    assert "Ada Lovelace" in response.content.decode()


def _change(staff_client, signature, **fields):
    return staff_client.post(
        reverse("admin:campaign_signature_change", args=[signature.pk]),
        {"full_name": signature.full_name, "email": signature.email,
         "postcode": signature.postcode, **fields},
    )  # fmt: skip


def test_admin_cannot_confirm_a_signature_or_move_it(staff_client, data):
    """Confirming writes letters, confirmed_at and the count (signature_confirm);
    a status field in the admin would write none of them."""
    signature = data.signature
    page = staff_client.get(
        reverse("admin:campaign_signature_change", args=[signature.pk])
    ).content.decode()
    assert 'name="full_name"' in page
    for field in ("status", "confirmed_at", "campaign"):
        assert f'name="{field}"' not in page

    other = SignatureFactory().campaign
    response = _change(
        staff_client,
        signature,
        full_name="Ada King",
        status="confirmed",
        confirmed_at_0="2026-01-01",
        confirmed_at_1="12:00:00",
        campaign=other.pk,
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.full_name == "Ada King"  # the edit itself went through
    assert (signature.status, signature.confirmed_at) == (
        Signature.Status.PENDING,
        None,
    )
    assert signature.campaign_id != other.pk


def test_changing_an_email_to_a_duplicate_is_a_form_error(staff_client, data):
    signature = data.signature
    other = SignatureFactory(campaign=signature.campaign, full_name="Bea")

    response = _change(staff_client, other, email=signature.email.upper())

    assert response.status_code == 200
    assert "already signed" in response.content.decode()
    other.refresh_from_db()
    assert other.email != signature.email.upper()


# --- validation on the Official and Campaign forms -----------------------------------

HEADER_INJECTION = "Dear PM\r\nBcc: x@example.com"
SINGLE_LINE = "This must be a single line without line breaks or control characters."


def _official_data(**changes) -> dict:
    data = {
        "name": "Alex Morgan",
        "position": "Prime Minister",
        "salutation": "Dear Prime Minister",
        "email": "pm@example.org",
        "organisation": "Cabinet Office",
        "is_active": "on",
    }
    return {**data, **changes}


def _form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize("mode", ["add", "change"])
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("salutation", HEADER_INJECTION, SINGLE_LINE),
        ("name", "Alex\nBcc: x@example.com", SINGLE_LINE),
        ("email", "not-an-email", "Enter a valid email address."),
        ("email", "pm@example.org\r\nBcc: x@example.com", "Enter a valid email"),
    ],
    ids=["salutation-crlf", "name-lf", "email-format", "email-crlf"],
)
def test_official_bad_input_is_a_form_error_and_stores_nothing(
    staff_client, mode, field, value, message
):
    official = OfficialFactory(name="Existing", salutation="Dear Existing")
    before = list(Official.objects.values())
    if mode == "add":
        url = reverse("admin:campaign_official_add")
    else:
        url = reverse("admin:campaign_official_change", args=[official.pk])

    response = staff_client.post(url, _official_data(**{field: value}))

    assert response.status_code == 200
    errors = _form_errors(response)
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert message in html.unescape(response.content.decode())
    assert list(Official.objects.values()) == before


def test_a_valid_official_is_stored(staff_client):
    # The same data with the bad value fixed saves: the errors above are the checks.
    response = staff_client.post(
        reverse("admin:campaign_official_add"), _official_data()
    )
    assert response.status_code == 302
    assert Official.objects.get().salutation == "Dear Prime Minister"


def _campaign_data(campaign, official, **changes) -> dict:
    data = {
        "slug": campaign.slug if campaign.pk else "new-campaign",
        "title": campaign.title if campaign.pk else "A new campaign",
        "summary": "Why it matters.",
        "status": "live",
        "signature_goal": "100",
        "letter_template": campaign.letter_template_id,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        # The target officials inline: one row, the official.
        "target_links-TOTAL_FORMS": "1",
        "target_links-INITIAL_FORMS": "0",
        "target_links-MIN_NUM_FORMS": "0",
        "target_links-MAX_NUM_FORMS": "1000",
        "target_links-0-official": official.pk,
        "target_links-0-delivery_mode": "every",
        # By postcode: not used here.
        "area_targeting-TOTAL_FORMS": "0",
        "area_targeting-INITIAL_FORMS": "0",
        "area_targeting-MIN_NUM_FORMS": "0",
        "area_targeting-MAX_NUM_FORMS": "1",
    }
    return {**data, **changes}


CLOSES_BEFORE_OPENING = {
    "opens_at_0": "2026-06-01",
    "opens_at_1": "09:00:00",
    "closes_at_0": "2026-05-01",
    "closes_at_1": "09:00:00",
}


@pytest.mark.parametrize("mode", ["add", "change"])
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "bad slug!"}, "slug", "Enter a valid “slug”"),
        (
            {"title": "T" * 161},
            "title",
            "Ensure this value has at most 160 characters (it has 161).",
        ),
        ({"title": "Title\r\nBcc: x@example.com"}, "title", SINGLE_LINE),
        (
            CLOSES_BEFORE_OPENING,
            "__all__",
            "The closing date must be after the opening.",
        ),
    ],
    ids=["slug", "long-title", "title-crlf", "closes-before-opening"],
)
def test_campaign_bad_input_is_a_form_error_and_stores_nothing(
    staff_client, mode, changes, field, message
):
    campaign = CampaignFactory(slug="existing", title="Existing")
    official = campaign.targets.first()
    before = list(Campaign.objects.values())
    targets_before = list(Campaign.targets.through.objects.values())
    if mode == "add":
        url = reverse("admin:campaign_campaign_add")
        data = _campaign_data(Campaign(letter_template=campaign.letter_template),
                              official, **changes)  # fmt: skip
    else:
        url = reverse("admin:campaign_campaign_change", args=[campaign.pk])
        data = _campaign_data(campaign, OfficialFactory(), **changes)

    response = staff_client.post(url, data)

    assert response.status_code == 200
    errors = _form_errors(response)
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert message in html.unescape(response.content.decode())
    assert list(Campaign.objects.values()) == before
    assert list(Campaign.targets.through.objects.values()) == targets_before


def test_a_valid_campaign_is_stored_with_its_target(staff_client):
    template_campaign = CampaignFactory()
    official = OfficialFactory()
    data = _campaign_data(
        Campaign(letter_template=template_campaign.letter_template),
        official,
        opens_at_0="2026-05-01",
        opens_at_1="09:00:00",
        closes_at_0="2026-06-01",
        closes_at_1="09:00:00",
    )
    response = staff_client.post(reverse("admin:campaign_campaign_add"), data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(slug="new-campaign")
    assert list(campaign.targets.all()) == [official]
