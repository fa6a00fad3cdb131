"""Every admin changelist and change page renders for a superuser with data present."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from campaign.models import Signature
from tests.factories import LetterFactory, SignatureFactory

# Rows only services write: a signature by hand would have no confirmation email,
# letters and confirmation emails are the outbox's record of what was sent.
NO_ADD = {"signature", "letter", "confirmationemail"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    signature = SignatureFactory(full_name="Ada Lovelace")
    letter = LetterFactory(
        signature=signature, official=signature.campaign.targets.first()
    )
    signature.confirmation_emails.create(subject="Confirm", body="Click")
    Group.objects.create(name="Organisers")
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
