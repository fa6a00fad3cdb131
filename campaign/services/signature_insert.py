"""Storing a first signing: the signature and its confirmation email's outbox row,
in one SQL statement on PostgreSQL (campaign/services/signing.py calls it).

    WITH signature AS (
        INSERT INTO campaign_signature (…) VALUES (…)
        ON CONFLICT DO NOTHING RETURNING id
    )
    INSERT INTO campaign_confirmationemail (signature_id, …)
    SELECT id, … FROM signature RETURNING id

When the address has signed (the unique constraint on campaign and normalised
address), or another request is inserting it right now, PostgreSQL waits for
that one and inserts neither row: no savepoint, no failed statement to roll
back; the caller then locks the existing signature (signature_locked()). The
statement is built once per process from the models' fields; each row's values
are prepared by the fields themselves, as the ORM's INSERT does (defaults,
auto_now_add). The ORM building two INSERTs cost more CPU than PostgreSQL running
them (bench/README.md). Other databases (the quick start's SQLite) take two ORM
INSERTs.

Outside a transaction (a sign POST) the statement commits by itself, and it is a
prepared statement: PostgreSQL parses and plans it once per connection, not on
every POST, and no BEGIN or COMMIT round trip goes with it. Together that was a
third of the database's CPU per signing (bench/README.md). When the prepared one
has gone missing (a pooler handing the session on) or its plan is stale, that
POST sends the statement as plain SQL, which only a statement outside a
transaction can do after a failure; inside one, and behind a pooler that hands
out a session per transaction, it is always sent as plain SQL.
"""

import hashlib
from datetime import datetime
from functools import cache

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Field, Model
from django.db.models.constants import OnConflict

from campaign.models import ConfirmationEmail, Signature


def signature_insert(*, signature: Signature, email: ConfirmationEmail) -> bool:
    """Insert a first signing and its email (unsaved, email.signature unset) and
    return True; or return False, inserting nothing, when the address has signed
    this campaign. Outside a transaction both rows are committed on return."""
    if connection.vendor not in ONE_STATEMENT_VENDORS:
        return _inserted_by_orm(signature, email)
    values = _values(signature, _fields(Signature)) + _values(email, _email_fields())
    with connection.cursor() as cursor:
        if _commits_by_itself():
            _execute_prepared(cursor, values)
        else:
            cursor.execute(_statement(), values)
        row = cursor.fetchone()
    if row is None:
        return False
    email.pk, signature.pk = row
    email.signature = signature
    for obj in (signature, email):
        obj._state.adding, obj._state.db = False, connection.alias
    return True


def signature_locked(*, signature: Signature) -> Signature | None:
    """The signature `signature`'s address has for its campaign, locked until the
    transaction ends; None if it was removed since the insert found it."""
    return (
        Signature.objects.select_for_update()
        .filter(
            campaign_id=signature.campaign_id,
            email_normalised=signature.email_normalised,
        )
        .first()
    )


# Where the one statement works (a data-modifying WITH, ON CONFLICT).
ONE_STATEMENT_VENDORS = ("postgresql",)

# The attribute of the connection wrapper that says which database connection
# the statement was prepared on (a reconnect loses it).
_PREPARED_ON = "_quillpost_signature_insert_on"
_NO_SUCH_STATEMENT = "26000"  # SQLSTATE invalid_sql_statement_name
_ALREADY_PREPARED = "42P05"  # SQLSTATE duplicate_prepared_statement
# SQLSTATE feature_not_supported, as in "cached plan must not change result type".
_STALE_PLAN = "0A000"


def _execute_prepared(cursor, values: list) -> None:
    if getattr(connection, _PREPARED_ON, None) is not connection.connection:
        _prepare(cursor)
    try:
        cursor.execute(_execute(), values)
    except DatabaseError as exc:
        # Gone on the server (DISCARD ALL, a pooler handing over another
        # session), or planned before a column changed. Autocommit: nothing was
        # written and nothing aborted, so this POST sends the plain statement and
        # the next one prepares it again.
        code = _pgcode(exc)
        if code not in (_NO_SUCH_STATEMENT, _STALE_PLAN):
            raise
        setattr(connection, _PREPARED_ON, None)
        if code == _STALE_PLAN:
            cursor.execute(f"DEALLOCATE {_name()}")
        cursor.execute(_statement(), values)


def _prepare(cursor) -> None:
    try:
        cursor.execute(f"PREPARE {_name()} AS {_numbered(_statement())}")
    except DatabaseError as exc:
        # Already there: a session handed on by a pooler without DISCARD ALL.
        # The name holds a hash of the text, so it is this very statement.
        if _pgcode(exc) != _ALREADY_PREPARED:
            raise
    # Holding the connection object itself: compared by identity, and never
    # garbage-collected while named here, so a new connection can't pass for it.
    setattr(connection, _PREPARED_ON, connection.connection)


def _pgcode(exc: DatabaseError) -> str | None:
    return getattr(exc.__cause__, "pgcode", None)


def _commits_by_itself() -> bool:
    """Autocommit, outside any transaction, and not behind PgBouncer in
    transaction mode (DATABASE_TRANSACTION_POOLING), where each statement may
    run on another server session and nothing prepared would last."""
    return (
        connection.get_autocommit()
        and not connection.in_atomic_block
        and not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    )


def _inserted_by_orm(signature: Signature, email: ConfirmationEmail) -> bool:
    """The same in two statements. Django's public bulk_create() cannot say
    whether a row was inserted, so this uses the queryset's _insert(), which
    save() and bulk_create() are built on."""
    opts = Signature._meta
    with transaction.atomic():  # both rows or neither, as the one statement
        rows = Signature.objects._insert(
            [signature],
            fields=_fields(Signature),
            returning_fields=[opts.pk],
            on_conflict=OnConflict.IGNORE,
        )
        if not (rows and rows[0]):
            return False
        signature.pk = rows[0][0]
        signature._state.adding, signature._state.db = False, connection.alias
        email.signature = signature
        email.save(force_insert=True)
    return True


@cache
def _fields(model: type[Model]) -> list[Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@cache
def _email_fields() -> list[Field]:
    return [f for f in _fields(ConfirmationEmail) if f.name != "signature"]


# The values PostgreSQL is sent unchanged, by the field's exact class: what
# get_db_prep_save() returns for them (pinned in tests/signing/test_sign_path.py).
# Preparing the two rows' ~50 values through it was a sixteenth of a sign POST's
# CPU; other values, and fields of other classes, still go through it.
_AS_IS: dict[type[Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.PositiveIntegerField: int,
    models.ForeignKey: int,  # to an integer primary key
    models.DateTimeField: datetime,  # aware (a naive one warns, in Django's way)
}


def _values(obj: Model, fields: list[Field]) -> list:
    # pre_save() gives what the ORM's INSERT sends (auto_now_add fills in times).
    values = []
    for field in fields:
        value = field.pre_save(obj, True)
        kind = _AS_IS.get(type(field))
        as_is = kind is not None and (
            value is None
            or (
                type(value) is kind
                and (kind is not datetime or value.tzinfo is not None)
            )
        )
        if not as_is:
            value = field.get_db_prep_save(value, connection)
        values.append(value)
    return values


@cache
def _statement() -> str:
    quote = connection.ops.quote_name

    def columns(fields: list[Field]) -> str:
        return ", ".join(quote(f.column) for f in fields)

    def placeholders(fields: list[Field]) -> str:
        return ", ".join(["%s"] * len(fields))

    signatures, emails = Signature._meta, ConfirmationEmail._meta
    signature_fields, email_fields = _fields(Signature), _email_fields()
    signature_id = quote(signatures.pk.column)
    # Names from the models, quoted; every value is a parameter.
    return (
        f"WITH new_signature AS (INSERT INTO {quote(signatures.db_table)}"  # noqa: S608
        f" ({columns(signature_fields)}) VALUES ({placeholders(signature_fields)})"
        f" ON CONFLICT DO NOTHING RETURNING {signature_id})"
        f" INSERT INTO {quote(emails.db_table)}"
        f" ({quote(emails.get_field('signature').column)},"
        f" {columns(email_fields)})"
        f" SELECT {signature_id}, {placeholders(email_fields)} FROM new_signature"
        f" RETURNING {quote(emails.pk.column)},"
        f" {quote(emails.get_field('signature').column)}"
    )


def _numbered(statement: str) -> str:
    """The statement with PostgreSQL's $1, $2, … for the driver's %s."""
    first, *rest = statement.split("%s")
    return first + "".join(f"${n}{text}" for n, text in enumerate(rest, start=1))


@cache
def _name() -> str:
    """The prepared statement's name, with a hash of its text: a session handed
    on by a pooler may hold one an older release prepared from other models."""
    digest = hashlib.blake2s(_statement().encode(), digest_size=6).hexdigest()
    return f"quillpost_signature_insert_{digest}"


@cache
def _execute() -> str:
    placeholders = ", ".join(["%s"] * _statement().count("%s"))
    return f"EXECUTE {_name()} ({placeholders})"
