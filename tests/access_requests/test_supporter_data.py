"""`manage.py supporter_data EMAIL`: everything held about an address, as JSON,
checked column by column against what the database holds."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from campaign.models import ConfirmationEmail, Letter, OutboxStatus, Signature
from campaign.services.privacy import consent_text_create
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db


def supporter_data(email: str) -> dict:
    stdout = io.StringIO()
    call_command("supporter_data", email, stdout=stdout, stderr=io.StringIO())
    return json.loads(stdout.getvalue())  # valid JSON, or this fails


def db_rows(table: str, where: str, value) -> list[dict]:
    """Rows as the database holds them (not through the models), JSON-typed."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {where} = %s ORDER BY id", [value])  # noqa: S608
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return json.loads(json.dumps(rows, cls=DjangoJSONEncoder))


def assert_same(held: dict, row: dict, *, back_reference: str) -> None:
    """Every column is in the answer (foreign keys as {"id", "name"}); only the
    token and the link back to the signature are left out."""
    for column, value in row.items():
        if column in ("token", f"{back_reference}_id"):
            assert column.removesuffix("_id") not in held
        elif column in held:
            assert held[column] == value, column
        else:  # a foreign key column, e.g. official_id
            name = column.removesuffix("_id")
            assert (held[name] or {}).get("id") == value, column
    left_out = {"token", f"{back_reference}_id"} & set(row)
    assert len(held) == len(row) - len(left_out), sorted(held)  # nothing extra


@pytest.fixture
def ada():
    """Ada signed two campaigns with two spellings of one address; two letters
    and a confirmation email for the first, a letter for the second. Bob signed
    too."""
    first, second = CampaignFactory(slug="clean-air"), CampaignFactory(slug="parks")
    official = OfficialFactory(name="Minister Ng")
    agreed = consent_text_create(text="Send my letter to the named officials.")
    consent_text_create(text="A later wording Ada never saw.")
    one = SignatureFactory(
        consent_text=agreed,
        campaign=first,
        full_name="Ada Lovelace",
        email="Ada.Lovelace+air@Gmail.com",
        personal_paragraph='I "care".\nA lot: 中文 🙂',
        status="confirmed",
        confirmed_at=datetime(2024, 3, 1, 10, tzinfo=UTC),
    )
    two = SignatureFactory(
        campaign=second, full_name="Ada L.", email="adalovelace@gmail.com"
    )
    LetterFactory(signature=one, official=official, status=OutboxStatus.SENT)
    LetterFactory(signature=one, status=OutboxStatus.FAILED, last_error="550 no")
    LetterFactory(signature=two)
    ConfirmationEmail.objects.create(signature=one, subject="Confirm", body="Click")
    bob = SignatureFactory(campaign=first, email="bob@example.com")
    LetterFactory(signature=bob)
    return one, two


def test_everything_held_about_an_address_across_campaigns(ada):
    data = supporter_data("ADA.LOVELACE@googlemail.com")

    assert data["email_normalised"] == "adalovelace@gmail.com"
    ids = [s["id"] for s in data["signatures"]]
    assert sorted(ids) == sorted(s.pk for s in ada)
    assert (
        Signature.objects.filter(email_normalised="adalovelace@gmail.com").count() == 2
    )
    for held in data["signatures"]:
        (row,) = db_rows("campaign_signature", "id", held["id"])
        signature_fields = {k: v for k, v in held.items() if not isinstance(v, list)}
        assert_same(signature_fields, row, back_reference="")
        assert "token" not in held
        for key, table in (
            ("letters", "campaign_letter"),
            ("confirmation_emails", "campaign_confirmationemail"),
        ):
            rows = db_rows(table, "signature_id", held["id"])
            assert len(held[key]) == len(rows)
            for item, db_row in zip(held[key], rows, strict=True):
                assert_same(item, db_row, back_reference="signature")

    first = next(s for s in data["signatures"] if s["id"] == ada[0].pk)
    assert first["campaign"]["name"] == str(ada[0].campaign)
    assert first["personal_paragraph"] == 'I "care".\nA lot: 中文 🙂'
    officials = [letter["official"]["name"] for letter in first["letters"]]
    assert any(name.startswith("Minister Ng") for name in officials)
    assert len(first["letters"]) == 2 and len(first["confirmation_emails"]) == 1
    assert not any("bob" in json.dumps(s) for s in data["signatures"])
    assert Letter.objects.count() == 4  # Bob's letter exists but isn't shown


def test_the_consent_wording_they_agreed_to_is_shown_whole(ada):
    data = supporter_data("adalovelace@gmail.com")
    by_id = {s["id"]: s for s in data["signatures"]}
    agreed = ada[0].consent_text
    assert by_id[ada[0].pk]["consent_text"] == {
        "id": agreed.pk,
        "name": f"Version {agreed.version}",
        "version": agreed.version,
        "text": "Send my letter to the named officials.",
        "created_at": json.loads(json.dumps(agreed.created_at, cls=DjangoJSONEncoder)),
    }
    assert by_id[ada[1].pk]["consent_text"] is None  # signed before wordings


def test_queries_do_not_grow_with_signatures(ada, django_assert_num_queries):
    # The signatures with their campaigns and wordings, then one query per table
    # pointing at a signature, however many signatures the address has.
    tables = sum(not r.many_to_many for r in Signature._meta.related_objects)
    with django_assert_num_queries(1 + tables):
        supporter_data("adalovelace@gmail.com")


def test_an_unknown_address_is_an_empty_answer():
    stderr = io.StringIO()
    stdout = io.StringIO()
    call_command("supporter_data", "nobody@example.com", stdout=stdout, stderr=stderr)
    assert json.loads(stdout.getvalue())["signatures"] == []
    assert "Nothing held for nobody@example.com" in stderr.getvalue()
