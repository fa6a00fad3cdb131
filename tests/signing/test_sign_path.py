"""The sign POST's write path (campaign/services/signature_insert.py): a first
signing and its email in one statement on PostgreSQL, two ORM INSERTs elsewhere;
the same rows and the same answers either way. And the signing's emails,
rendered when sent with the links of the site they were asked for at."""

import copy
import functools
from contextlib import nullcontext
from datetime import datetime, timedelta

import psycopg2
import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign import privacy
from campaign.emails import UnsendableMessage
from campaign.forms import SignForm
from campaign.models import ConfirmationEmail, Signature
from campaign.quick_copy import QuickField, QuickWidget
from campaign.services import signature_insert
from tests.signing.supporter import as_sent, sign


@pytest.fixture(params=["one statement", "two ORM inserts"])
def write_path(request, monkeypatch):
    if request.param == "two ORM inserts":
        # The quick start's SQLite takes this path; here it runs on PostgreSQL.
        monkeypatch.setattr(signature_insert, "ONE_STATEMENT_VENDORS", ())
    return request.param


def test_a_first_signing_stores_both_rows_and_a_repeat_neither(
    campaign, write_path, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://quillpost.example.org"
    with django_capture_on_commit_callbacks() as callbacks:
        first = sign(campaign)
    stored = Signature.objects.get()
    assert (stored.pk, stored.full_name, stored.campaign_id) == (
        first.pk,
        "Ada Lovelace",
        campaign.pk,
    )
    assert stored.created_at == first.created_at  # what the ORM would have stored
    email = ConfirmationEmail.objects.get()
    assert (email.signature_id, email.template, email.site_url, email.status) == (
        first.pk,
        "confirm",
        "https://quillpost.example.org",
        "pending",
    )
    assert len(callbacks) == 1  # its enqueue, after commit

    again = sign(campaign, email="ADA@example.com", town="Elsewhere")
    assert again.pk == first.pk
    assert Signature.objects.get().town == "Marylebone"
    assert ConfirmationEmail.objects.count() == 1  # within the hour: no resend


def test_an_email_rendered_when_sent_keeps_the_links_of_its_site(campaign, settings):
    settings.SITE_URL = "https://campaign.example.org"
    signature = sign(campaign)
    # The worker's settings may differ (or be unset): the row's address stands.
    settings.SITE_URL = "http://127.0.0.1:8000"
    body = as_sent(signature.confirmation_emails.get()).body
    assert f"https://campaign.example.org/confirm/{signature.token}/" in body
    assert "https://campaign.example.org/remove/" in body
    assert "127.0.0.1" not in body


def test_a_row_naming_no_signing_email_fails_as_unsendable(campaign):
    signature = sign(campaign)
    row = signature.confirmation_emails.get()
    row.template = "../settings"
    row.save()
    with pytest.raises(UnsendableMessage):
        as_sent(row)


# What the insert and its transaction show of themselves (Django logs BEGIN and
# COMMIT with the queries); the signing's reads (the campaign's targets) aside.
_WRITE_PATH = {"PREPARE", "DEALLOCATE", "EXECUTE", "WITH", "BEGIN", "COMMIT"} | {
    "SAVEPOINT",
    "RELEASE",
}


def _statements_of(action, kinds=_WRITE_PATH) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    words = [query["sql"].split(" ", 1)[0] for query in queries]
    return [word for word in words if word in kinds]


def test_outside_a_transaction_a_signing_is_one_prepared_statement_that_commits(
    transactional_db, campaign
):
    """A request's path: no BEGIN or COMMIT, and the statement parsed and planned
    once per connection (PREPARE), then only EXECUTE."""
    privacy.consent_text_current()  # cached: every signing's, not this one's
    connection.close()  # a new connection, as after a deploy
    assert _statements_of(lambda: sign(campaign, email="a@example.com")) == [
        "PREPARE",
        "EXECUTE",
    ]
    assert _statements_of(lambda: sign(campaign, email="b@example.com")) == ["EXECUTE"]
    # Committed by itself: another connection sees both rows of each.
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM campaign_signature s JOIN"
                " campaign_confirmationemail e ON e.signature_id = s.id"
            )
            assert cursor.fetchone()[0] == 2
    finally:
        other.close()


def test_a_prepared_statement_lost_on_the_server_or_with_the_connection_is_made_again(
    transactional_db, campaign
):
    privacy.consent_text_current()
    sign(campaign, email="a@example.com")
    # A pooler handing the session on, or a script, can drop it on the server:
    # that POST sends the plain statement (autocommit: the failed EXECUTE wrote
    # nothing), the next prepares it again.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    statements = _statements_of(lambda: sign(campaign, email="b@example.com"))
    assert statements == ["EXECUTE", "WITH"]
    statements = _statements_of(lambda: sign(campaign, email="c@example.com"))
    assert statements == ["PREPARE", "EXECUTE"]
    connection.close()  # a new connection never has it
    statements = _statements_of(lambda: sign(campaign, email="d@example.com"))
    assert statements == ["PREPARE", "EXECUTE"]
    assert Signature.objects.count() == ConfirmationEmail.objects.count() == 4


def test_a_prepared_statement_planned_before_a_column_changed_is_replaced(
    transactional_db, campaign
):
    """PostgreSQL refuses to run a prepared statement whose result columns have
    changed type ("cached plan must not change result type"), as a migration
    can do under a running site."""
    privacy.consent_text_current()
    sign(campaign, email="a@example.com")
    alter = "ALTER TABLE campaign_confirmationemail ALTER COLUMN id TYPE {}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'campaign_confirmationemail'::regclass"
            " AND attname = 'id'"
        )
        (column_type,) = cursor.fetchone()
        assert column_type == "bigint"
        cursor.execute(alter.format("integer"))
    try:
        statements = _statements_of(lambda: sign(campaign, email="b@example.com"))
        assert statements == ["EXECUTE", "DEALLOCATE", "WITH"]
        statements = _statements_of(lambda: sign(campaign, email="c@example.com"))
        assert statements == ["PREPARE", "EXECUTE"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(alter.format(column_type))
    assert Signature.objects.count() == ConfirmationEmail.objects.count() == 3


def test_a_repeat_outside_a_transaction_locks_and_reminds_in_one_transaction(
    transactional_db, campaign
):
    privacy.consent_text_current()
    first = sign(campaign, email="a@example.com")
    ConfirmationEmail.objects.update(created_at=timezone.now() - timedelta(hours=2))
    kinds = _WRITE_PATH | {"SELECT", "INSERT"}
    statements = _statements_of(lambda: sign(campaign, email="A@example.com"), kinds)
    # The insert finds the address taken (and commits nothing); then the lock,
    # the last email's time and the reminder, in one transaction.
    start = statements.index("EXECUTE")
    assert statements[start:] == [
        "EXECUTE",
        "BEGIN",
        "SELECT",
        "SELECT",
        "INSERT",
        "COMMIT",
    ]
    assert first.confirmation_emails.count() == 2


def test_the_statements_values_are_what_djangos_field_preparation_gives(campaign):
    """signature_insert._values() passes some values on as they are: exactly
    those Django's get_db_prep_save() would send unchanged. Every kind of value
    the two rows hold: text, empty and None, booleans, integers, foreign keys,
    aware datetimes and (which takes Django's way, warning) a naive one."""
    signature = Signature(
        campaign=campaign,
        full_name="Ada Lovelace",
        email="ada@example.com",
        email_normalised="ada@example.com",
        postcode="NW1 6XE",
        consent_to_send=True,
        consent_text=privacy.consent_text_current(),
        consented_at=timezone.now(),
        letters_delivered=3,
    )
    email = ConfirmationEmail(template="confirm", site_url="https://example.org")
    email.next_attempt_at = datetime(2026, 12, 4, 12, 0)  # naive
    rows = (
        (signature, signature_insert._fields(Signature)),
        (email, signature_insert._email_fields()),
    )
    kinds = set()
    for obj, fields in rows:
        warns = pytest.warns(RuntimeWarning) if obj is email else nullcontext()
        # auto_now(_add) stamps the time on each call: the clock stands still.
        with time_machine.travel(timezone.now(), tick=False), warns:
            ours = signature_insert._values(obj, fields)
            djangos = [
                f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields
            ]
        assert ours == djangos
        assert [type(v) for v in ours] == [type(v) for v in djangos]
        kinds |= {type(v) for v in ours}
    assert {str, bool, int, datetime, type(None)} <= kinds


def test_each_sign_form_has_its_own_copies_of_the_fields(campaign):
    """campaign/quick_copy.py copies fields and widgets its own way: what one
    form changes (the consent label, a widget's attributes, the validators)
    stays in that form, and it copies what Django's own deep copy copies."""
    first, second = SignForm(campaign=campaign), SignForm(campaign=campaign)
    for name, field in first.fields.items():
        other = second.fields[name]
        assert isinstance(field, QuickField) and isinstance(field.widget, QuickWidget)
        assert field is not other and field.widget is not other.widget
        assert field.widget.attrs is not other.widget.attrs
        assert field.validators is not other.validators
    first.fields["full_name"].widget.attrs["class"] = "changed"
    first.fields["full_name"].validators.append(lambda value: None)
    assert "class" not in second.fields["full_name"].widget.attrs
    assert len(second.fields["full_name"].validators) == len(
        SignForm.base_fields["full_name"].validators
    )
    # Against Django's way: copy.deepcopy() of a plain dict of the same fields.
    # Each attribute is the same object where Django's copy shares it, and a
    # copy where Django copies it.
    base = SignForm.base_fields
    quick, djangos = copy.deepcopy(base), copy.deepcopy(dict(base))
    assert quick.keys() == djangos.keys()
    for name in base:
        for path in ((), ("widget",)):
            original, ours, theirs = (
                functools.reduce(getattr, path, fields[name])
                for fields in (base, quick, djangos)
            )
            assert vars(ours).keys() == vars(theirs).keys() == vars(original).keys()
            for attribute, value in vars(original).items():
                ours_shared = vars(ours)[attribute] is value
                assert ours_shared == (vars(theirs)[attribute] is value), attribute


def test_a_statement_already_in_the_session_is_used_and_an_older_ones_left_alone(
    transactional_db, campaign
):
    """A pooler may hand on a session without DISCARD ALL, holding one an older
    release prepared from other models (its name holds a hash of its text, so
    that is another name), or this very statement."""
    privacy.consent_text_current()
    with connection.cursor() as cursor:
        cursor.execute("PREPARE quillpost_signature_insert_000000000000 AS SELECT 1")
    statements = _statements_of(lambda: sign(campaign, email="a@example.com"))
    assert statements == ["PREPARE", "EXECUTE"]
    connection.close()  # a new session, which this process has prepared nothing on
    statement = signature_insert._numbered(signature_insert._statement())
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE {signature_insert._name()} AS {statement}")
    statements = _statements_of(lambda: sign(campaign, email="b@example.com"))
    assert statements == ["PREPARE", "EXECUTE"]  # that PREPARE found it there
    assert Signature.objects.count() == ConfirmationEmail.objects.count() == 2


def test_inside_a_transaction_or_without_autocommit_nothing_is_prepared(
    transactional_db, campaign
):
    """After a failure there, nothing more could run: the plain statement."""
    privacy.consent_text_current()
    connection.close()
    with transaction.atomic():
        statements = _statements_of(lambda: sign(campaign, email="a@example.com"))
    assert statements == ["WITH"]
    assert Signature.objects.count() == ConfirmationEmail.objects.count() == 1
    assert signature_insert._commits_by_itself()
    connection.set_autocommit(False)
    try:
        assert not signature_insert._commits_by_itself()
    finally:
        connection.set_autocommit(True)


def test_behind_a_pooler_per_transaction_nothing_is_prepared(
    transactional_db, campaign, monkeypatch
):
    """DATABASE_TRANSACTION_POOLING: each statement may reach another session."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    privacy.consent_text_current()
    connection.close()
    statements = _statements_of(
        lambda: sign(campaign, email="a@example.com"), _WRITE_PATH | {"WITH"}
    )
    assert statements == ["WITH"]
    assert Signature.objects.get().confirmation_emails.count() == 1
