"""A campaign with signatures and letters over several days, at known times."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

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


NOW = utc(2026, 7, 10, 12, 0)


@pytest.fixture
def organiser(db, django_user_model):
    """Staff who may view signatures (not a superuser)."""
    from django.contrib.auth.models import Permission

    user = StaffUserFactory(username="dashboard-organiser")
    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    return user


@pytest.fixture
def history(campaign):
    """Signatures over five summer days, with sources, districts and letters."""
    alex, sam = campaign.targets.order_by("name")
    rows = []
    with time_machine.travel(NOW, tick=False):
        for day in range(5):
            for n in range(day + 1):
                rows.append(
                    signed(
                        campaign,
                        utc(2026, 7, 5 + day, 9, n),
                        confirmed_after=timedelta(minutes=10 * (n + 1))
                        if n % 2 == 0
                        else None,
                        utm_source="x" if n == 0 else "",
                        referrer_host="news.example" if n == 1 else "",
                        postcode="NW1 6XE" if n < 2 else "SW1A 1AA",
                    )
                )
        for signature in rows:
            if signature.status == "confirmed":
                written(signature, alex, status="sent", own_words=30)
                written(signature, sam, status="digested")
        # 23:30 UTC in summer is 00:30 the next day in Europe/London.
        rows.append(signed(campaign, utc(2026, 7, 9, 23, 30)))
    return rows
