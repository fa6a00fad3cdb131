"""Every change of a letter's status, and the two counts it moves on the letter's
signature (Signature.letters_delivered, letters_failed), so the CSV export reads
two columns instead of counting two million letters (bench/export.py).

The invariant, said once: the counts equal the signature's letters in
DELIVERED_LETTER_STATUSES and in "failed". So a letter's status changes only
through letters_update() (or outbox_rows_update(), which the outbox's generic
steps call for every kind of row), or through a hand-written statement built
from the same counted_sql() where a hot path cannot afford the ORM (delivery's
record_sent). On PostgreSQL each is ONE statement that moves the letters and
their signatures' counts together: no reader sees one without the other, no
crash between them can part them, and nothing is counted per row in Python.

New letters never start counted (routing.letter_status_for: pending, held or
awaiting a digest), so creating letters leaves the counts as they are.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.sql import UpdateQuery

from campaign.models import DELIVERED_LETTER_STATUSES, Letter, LetterStatus, Signature

# Which counter a status adds to (the export's two columns).
DELIVERED = tuple(status.value for status in DELIVERED_LETTER_STATUSES)
FAILED = LetterStatus.FAILED.value


def _literals(values: tuple[str, ...]) -> str:
    # Our own enum values, inlined so the statement takes no parameters of its
    # own and its pieces may use either placeholder style.
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


# `old` locks the letters and reads each one's status as it is under the lock
# (READ COMMITTED re-reads a row another transaction changed meanwhile, and
# re-checks the filter on it); `moved` updates them from it, returning both
# statuses; `counted` adds the difference to each signature once. The UPDATE's
# SET list is the caller's; its FROM and WHERE are ours.
_COUNTED_SQL = """
WITH old AS ({locked} FOR UPDATE OF {letters}),
moved AS (
    {update} FROM old WHERE {letters}.id = old.id
    RETURNING old.signature_id, old.status AS was, {letters}.status AS now
),
changes AS (
    SELECT signature_id,
           sum((now IN ({delivered}))::int - (was IN ({delivered}))::int) AS delivered,
           sum((now = {failed})::int - (was = {failed})::int) AS failed
    FROM moved
    GROUP BY signature_id
),
counted AS (
    UPDATE {signatures} AS s
    SET letters_delivered = s.letters_delivered + c.delivered,
        letters_failed = s.letters_failed + c.failed
    FROM changes AS c
    WHERE s.id = c.signature_id AND (c.delivered <> 0 OR c.failed <> 0)
)
SELECT count(*) FROM moved
"""


def counted_sql(*, locked: str, update: str) -> str:
    """One PostgreSQL statement that runs `update` (an "UPDATE <letters> SET ..."
    without WHERE) on the letters `locked` selects ("SELECT id, signature_id,
    status FROM <letters> WHERE ..."), keeps their signatures' counts, and
    returns how many letters it updated."""
    quote = connection.ops.quote_name
    return (
        _COUNTED_SQL.replace("{locked}", locked)
        .replace("{update}", update)
        .replace("{letters}", quote(Letter._meta.db_table))
        .replace("{signatures}", quote(Signature._meta.db_table))
        .replace("{delivered}", _literals(DELIVERED))
        .replace("{failed}", _literals((FAILED,)))
    )


def _set_clause(values: dict) -> tuple[str, tuple]:
    """ "UPDATE <letters> SET ...", compiled by Django from update()'s keyword
    arguments (values, F(), Case(), None), with no WHERE."""
    query = UpdateQuery(Letter)
    query.add_update_values(values)
    return query.get_compiler(connection=connection).as_sql()


def letters_update(*, letters: QuerySet[Letter], **values) -> int:
    """`letters.update(**values)`, keeping their signatures' counts when the
    status is among `values`. Returns how many letters were updated. Rows the
    filter no longer matches once locked (another transaction changed them
    first) are left alone, as a conditional UPDATE would leave them."""
    if "status" not in values:
        return letters.update(**values)
    if connection.vendor != "postgresql":
        return _update_and_recount(letters=letters, values=values)
    selected = letters.order_by().values_list("id", "signature_id", "status")
    selected.query.select_for_update = False  # counted_sql() locks them itself
    try:
        locked, locked_params = selected.query.sql_with_params()
    except EmptyResultSet:  # e.g. pk__in=[]
        return 0
    update, update_params = _set_clause(values)
    with connection.cursor() as cursor:
        cursor.execute(
            counted_sql(locked=locked, update=update),
            (*locked_params, *update_params),
        )
        return cursor.fetchone()[0]


def outbox_rows_update(*, rows: QuerySet, **values) -> int:
    """`rows.update(**values)` for any outbox table (the outbox's generic steps:
    claim, record, release, sweep, retry, cancel): letters keep their counts."""
    if rows.model is Letter:
        return letters_update(letters=rows, **values)
    return rows.update(**values)


def _update_and_recount(*, letters: QuerySet[Letter], values: dict) -> int:
    """SQLite (the quick start, one writer at a time): update, then count the
    touched signatures' letters again, in one transaction."""
    with transaction.atomic():
        touched = list(letters.values_list("pk", "signature_id"))
        updated = Letter.objects.filter(pk__in=[pk for pk, _ in touched]).update(
            **values
        )
        signatures_letters_recount(
            signatures=Signature.objects.filter(pk__in={sid for _, sid in touched})
        )
    return updated


# One grouped pass over the signatures' letters; only rows whose counts differ
# are written (a repair touches what needs it).
_RECOUNT_SQL = """
UPDATE {signatures} AS s
SET letters_delivered = c.delivered, letters_failed = c.failed
FROM (
    SELECT t.id,
           count(l.id) FILTER (WHERE l.status IN ({delivered})) AS delivered,
           count(l.id) FILTER (WHERE l.status = {failed}) AS failed
    FROM ({chosen}) AS t
    LEFT JOIN {letters} AS l ON l.signature_id = t.id
    GROUP BY t.id
) AS c
WHERE s.id = c.id
  AND (s.letters_delivered <> c.delivered OR s.letters_failed <> c.failed)
"""


def signatures_letters_recount(*, signatures: QuerySet[Signature]) -> int:
    """Set these signatures' counts from their letters as they are now: the
    quick start's way, and a repair after letters were changed by hand in SQL.
    Returns how many signatures' counts were wrong."""
    try:
        chosen, params = (
            signatures.order_by().values("id").distinct().query.sql_with_params()
        )
    except EmptyResultSet:
        return 0
    quote = connection.ops.quote_name
    sql = (
        _RECOUNT_SQL.replace("{signatures}", quote(Signature._meta.db_table))
        .replace("{letters}", quote(Letter._meta.db_table))
        .replace("{delivered}", _literals(DELIVERED))
        .replace("{failed}", _literals((FAILED,)))
        .replace("{chosen}", chosen)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
