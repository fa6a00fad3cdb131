import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaign.validators import normalise_email
from tests.factories import CampaignFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_one_signature_per_normalised_email_per_campaign():
    signature = SignatureFactory(email="Ada.Lovelace+news@gmail.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        SignatureFactory(campaign=signature.campaign, email="adalovelace@GMAIL.com")
    # The same person may sign a different campaign.
    assert SignatureFactory(email="adalovelace@gmail.com").pk


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Ada@Example.COM ", "ada@example.com"),
        ("ada+petition@example.com", "ada@example.com"),
        ("a.d.a@gmail.com", "ada@gmail.com"),
        ("A.da+x@googlemail.com", "ada@gmail.com"),
        ("a.da@example.com", "a.da@example.com"),
    ],
)
def test_normalise_email(raw, normalised):
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize(
    "name", ["Ada\nLovelace", "Ada\rBcc: x@example.com", "A\x00da"]
)
def test_names_with_line_breaks_or_control_chars_are_invalid(name):
    signature = SignatureFactory.build(campaign=CampaignFactory(), full_name=name)
    with pytest.raises(ValidationError) as exc:
        signature.full_clean()
    assert "full_name" in exc.value.message_dict


def test_unique_constraint_is_a_validation_error_not_a_crash():
    first = SignatureFactory()
    dup = SignatureFactory.build(
        campaign=first.campaign,
        email=first.email.upper(),
        email_normalised=first.email_normalised,
    )
    with pytest.raises(ValidationError, match="already signed"):
        dup.full_clean()


def test_campaign_signable_only_when_live_and_open():
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    assert CampaignFactory().is_signable()
    assert not CampaignFactory(status="draft").is_signable()
    assert not CampaignFactory(status="closed").is_signable()
    assert not CampaignFactory(closes_at=now - timedelta(hours=1)).is_signable()
    assert not CampaignFactory(opens_at=now + timedelta(hours=1)).is_signable()
