"""An organiser answers an erasure request: find the person by email across
campaigns, confirm, and every signature of theirs goes; the audit entry keeps
who and when, and nothing about the person."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from campaign import selectors
from campaign.models import ErasureRecord, Letter, LetterStatus, Signature
from campaign.services.signing import signature_confirm
from tests.factories import CampaignFactory
from tests.signing.supporter import sign

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaign_signature_changelist")


@pytest.fixture
def ada_twice(campaign):
    """Ada on two campaigns (spelt differently), her first letter sent; Grace too."""
    other = CampaignFactory(title="Clean Air")
    first = signature_confirm(token=sign(campaign).token)
    second = signature_confirm(token=sign(other, email="Ada+air@Example.com").token)
    Letter.objects.filter(signature=first).update(
        status=LetterStatus.SENT, sent_at=timezone.now()
    )
    grace = sign(campaign, full_name="Grace Hopper", email="grace@example.com")
    return first, second, grace


def test_search_by_email_finds_the_person_on_every_campaign(staff_client, ada_twice):
    first, second, grace = ada_twice
    response = staff_client.get(CHANGELIST, {"q": "ADA@example.com"})
    shown = set(response.context["cl"].result_list)
    assert shown == {first, second}


def test_erase_asks_first_then_erases_every_campaign_and_records_it(
    staff_client, ada_twice, django_capture_on_commit_callbacks
):
    first, second, grace = ada_twice
    data = {"action": "erase_person", helpers.ACTION_CHECKBOX_NAME: [first.pk]}

    asked = staff_client.post(CHANGELIST, data)

    assert asked.status_code == 200
    page = " ".join(asked.content.decode().split())
    assert "2 signatures" in page
    assert "Save the Library: 1" in page and "Clean Air: 1" in page
    assert Signature.objects.get(pk=first.pk).anonymised_at is None  # not yet

    with django_capture_on_commit_callbacks(execute=True):
        done = staff_client.post(CHANGELIST, {**data, "confirmed": "yes"})

    assert done.status_code == 302
    for signature in Signature.objects.filter(pk__in=[first.pk, second.pk]):
        assert signature.status == Signature.Status.WITHDRAWN
        assert signature.full_name == f"Signature {signature.pk}"
        assert signature.email == ""
    assert Signature.objects.get(pk=grace.pk).full_name == "Grace Hopper"
    assert set(
        Letter.objects.filter(signature=second).values_list("status", flat=True)
    ) == {"cancelled"}
    assert set(
        Letter.objects.filter(signature=first).values_list("status", flat=True)
    ) == {"sent"}
    assert selectors.signature_count(campaign_id=first.campaign_id) == 0

    record = ErasureRecord.objects.get()
    assert record.erased_by == staff_client.user
    assert (record.signatures, record.campaigns) == (2, 2)
    values = " ".join(str(v) for v in ErasureRecord.objects.values().get().values())
    assert "ada" not in values.lower() and "example.com" not in values
