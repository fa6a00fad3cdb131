"""A campaign with signatures and letters over several days, at known times."""

from datetime import UTC, datetime

import pytest

from campaign.models import Letter, Signature
from tests.factories import LetterFactory, SignatureFactory, StaffUserFactory


def signed(campaign, when: datetime, *, confirmed_after=None, **fields) -> Signature:
    """A signature made at `when` (UTC), confirmed `confirmed_after` later."""
    signature = SignatureFactory(campaign=campaign, **fields)
    values = {"created_at": when}
    if confirmed_after is not None:
        values.update(status="confirmed", confirmed_at=when + confirmed_after)
    Signature.objects.filter(pk=signature.pk).update(**values)
    signature.refresh_from_db()
    return signature


def written(signature, official, *, status: str, own_words: int = 0) -> Letter:
    letter = LetterFactory(
        signature=signature, official=official, status=status, own_words=own_words
    )
    Letter.objects.filter(pk=letter.pk).update(created_at=signature.confirmed_at)
    return letter


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def organiser(db, django_user_model):
    """Staff who may view signatures (not a superuser)."""
    from django.contrib.auth.models import Permission

    user = StaffUserFactory(username="dashboard-organiser")
    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    return user
