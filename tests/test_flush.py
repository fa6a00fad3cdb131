"""The suite's own plumbing: how the database is emptied after a transactional
test (tests/support/flush.py), which every other transactional test relies on."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from tests.factories import LetterFactory, SignatureFactory, StaffUserFactory
from tests.support import flush

pytestmark = pytest.mark.django_db(transaction=True)


def rows_per_table() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True):
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (our names)
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.parametrize(
    "truncate_from", [flush.TRUNCATE_FROM_BYTES, 0], ids=["delete", "truncate"]
)
def test_every_table_is_emptied_but_content_types_and_permissions_stay(
    campaign, monkeypatch, truncate_from
):
    monkeypatch.setattr(flush, "TRUNCATE_FROM_BYTES", truncate_from)
    signature = SignatureFactory(campaign=campaign)
    LetterFactory(signature=signature, official=campaign.targets.first())
    StaffUserFactory().user_permissions.add(Permission.objects.first())
    kept = {t: n for t, n in rows_per_table().items() if t in flush.KEPT_TABLES}
    assert rows_per_table()["campaign_letter"] == 1

    assert flush._empty_tables(connection)

    after = rows_per_table()
    assert {t: n for t, n in after.items() if t in flush.KEPT_TABLES} == kept
    assert all(kept.values())
    assert {t: n for t, n in after.items() if n and t not in kept} == {}


def test_a_changed_content_type_or_permission_falls_back_to_djangos_flush(campaign):
    # Django's flush re-creates them (post_migrate) after this test.
    Permission.objects.filter(codename="view_signature").delete()
    assert not flush._empty_tables(connection)
    assert rows_per_table()["campaign_campaign"] == 1  # left for Django's flush
    assert ContentType.objects.exists()
