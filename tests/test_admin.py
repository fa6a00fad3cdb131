"""Every admin changelist and change page renders for a superuser with data present."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import LetterFactory, SignatureFactory

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
    assert add.status_code in (200, 403)


def test_admin_search_and_filters(staff_client, data):
    url = reverse("admin:campaign_signature_changelist")
    response = staff_client.get(url, {"q": "lovelace", "status__exact": "pending"})
    assert response.status_code == 200
    assert "Ada Lovelace" in response.content.decode()


def test_duplicate_signature_in_admin_is_a_form_error(staff_client, data):
    signature = data.signature
    response = staff_client.post(
        reverse("admin:campaign_signature_add"),
        {
            "campaign": signature.campaign.pk,
            "full_name": "Someone Else",
            "email": signature.email.upper(),
            "postcode": "N1 9GU",
            "status": "pending",
        },
    )
    assert response.status_code == 200
    assert "already signed" in response.content.decode()
