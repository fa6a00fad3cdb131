"""CSV export of signatures: one code path for the admin, the staff URL and the
`export_signatures` command, so all three write byte-identical files.

PostgreSQL does the per-cell work (timestamp formatting, yes/no, letter counts,
formula neutralisation) inside the one SELECT; Python only fetches chunks from a
server-side cursor and hands them to csv.writer. That keeps a million-row export
within a small factor of `psql \\copy` and its memory flat (README "CSV export").
"""

import csv
import io
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Concat
from django.http import StreamingHttpResponse
from django.utils import timezone

from .models import (
    DELIVERED_LETTER_STATUSES,
    Letter,
    LetterStatus,
    Signature,
)

# Rows per FETCH from the server-side cursor and per csv.writerows() call: big
# enough that round trips don't dominate, small enough that one chunk of Python
# tuples stays near a megabyte (10,000 fetched under 10% faster on 1M rows).
CHUNK_ROWS = 2_000

# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a
# formula. A leading ' makes it show as text. PostgreSQL matches the pattern (`~`;
# \t and \r are regex escapes there, so the SQL carries no raw control characters);
# the tests check its output against FORMULA_TRIGGERS for arbitrary text.
FORMULA_TRIGGERS = "=+-@\t\r"
FORMULA_PATTERN = r"^[-=+@\t\r]"

TIMESTAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"  # PostgreSQL to_char(); sorts as text
EXCEL_BOM = "\ufeff".encode()


def text_cell(field: str):
    """The column as text, neutralised if a spreadsheet would run it."""
    return Case(
        When(
            Q(**{f"{field}__regex": FORMULA_PATTERN}),
            then=Concat(Value("'"), F(field), output_field=CharField()),
        ),
        default=F(field),
        output_field=CharField(),
    )


def timestamp_cell(field: str):
    """Wall-clock time in the site time zone, formatted by PostgreSQL."""
    local = Func(
        Value(settings.TIME_ZONE),
        F(field),
        function="timezone",
        output_field=DateTimeField(),
    )
    return Func(
        local, Value(TIMESTAMP_FORMAT), function="to_char", output_field=CharField()
    )


def _yes_no(field: str):
    return Case(
        When(**{field: True}, then=Value("yes")),
        default=Value("no"),
        output_field=CharField(),
    )


_TZ = settings.TIME_ZONE
# (header, expression) for the columns computed per signature row; the order here
# is the order of the columns. The letter counts follow them (see export_sql).
SIGNATURE_COLUMNS = [
    ("Campaign", text_cell("campaign__slug")),
    (f"Signed at ({_TZ})", timestamp_cell("created_at")),
    (f"Confirmed at ({_TZ})", timestamp_cell("confirmed_at")),
    ("Full name", text_cell("full_name")),
    ("Email", text_cell("email")),
    ("Postcode", text_cell("postcode")),
    ("Town", text_cell("town")),
    ("Consent to send", _yes_no("consent_to_send")),
    ("Keep updated", _yes_no("keep_updated")),
    ("Personal paragraph", text_cell("personal_paragraph")),
    ("Status", F("status")),
    # Where the supporter came from (campaign/sources.py).
    ("utm_source", text_cell("utm_source")),
    ("utm_medium", text_cell("utm_medium")),
    ("utm_campaign", text_cell("utm_campaign")),
    ("ref", text_cell("ref")),
    ("Referring site", text_cell("referrer_host")),
]
HEADER = [header for header, _ in SIGNATURE_COLUMNS] + [
    # Sent on its own or carried by a digest: DELIVERED_LETTER_STATUSES.
    "Letters delivered",
    "Letters failed",
]

# Both counts from ONE probe of the letters' signature_id index per row, in the
# same SELECT (never a query per row). The ORM can only say this as two correlated
# subqueries (two probes, each its own aggregate): about twice the time on 1M rows.
_COUNTS_SQL = """
SELECT {columns}, counts.delivered, counts.failed
FROM ({signatures}) AS e
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE l.status = ANY(%s)) AS delivered,
           count(*) FILTER (WHERE l.status = %s) AS failed
    FROM {letters} AS l WHERE l.signature_id = e.id
) AS counts
ORDER BY e.created_at, e.id
"""


def export_sql(signatures: QuerySet[Signature]) -> tuple[str, tuple]:
    """The one SELECT an export runs, every cell computed by PostgreSQL, in
    signing order; bench/export.py hands the same SQL to `psql \\copy`.

    `signatures` is any filter on Signature. Its SQL becomes a subquery without
    ORDER BY, which PostgreSQL flattens into the outer query, so the index on
    (campaign, status, created_at) still delivers rows already in order."""
    names = [f"c{i}" for i in range(len(SIGNATURE_COLUMNS))]
    inner = (
        signatures.order_by()
        .annotate(
            **{n: expr for n, (_, expr) in zip(names, SIGNATURE_COLUMNS, strict=True)}
        )
        .values("id", "created_at", *names)
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    # str.replace, not format(): the inner SQL is never parsed as a template.
    sql = (
        _COUNTS_SQL.replace("{columns}", ", ".join(f"e.{n}" for n in names))
        .replace("{letters}", connection.ops.quote_name(Letter._meta.db_table))
        .replace("{signatures}", inner_sql)
    )
    delivered = [status.value for status in DELIVERED_LETTER_STATUSES]
    return sql, (*inner_params, delivered, LetterStatus.FAILED.value)


class _Buffer(io.StringIO):
    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


def signature_csv_chunks(
    *,
    signatures: QuerySet[Signature],
    excel: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export as UTF-8 byte chunks, header first. Lazy: the query runs when
    the second chunk is asked for, and memory stays at one chunk whatever the
    row count. `on_rows(n)` is told after each chunk (progress bars)."""
    sql, params = export_sql(signatures)
    return csv_chunks(
        header=HEADER,
        sql=sql,
        params=params,
        excel=excel,
        chunk_rows=chunk_rows,
        on_rows=on_rows,
    )


def csv_chunks(
    *,
    header: list[str],
    sql: str,
    params: tuple,
    excel: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Any export query's rows as CSV byte chunks, streamed from a server-side
    cursor. The SQL must neutralise formulas itself (see _text)."""
    buffer = _Buffer()
    writer = csv.writer(buffer)  # excel dialect: RFC 4180 quoting, CRLF
    writer.writerow(header)
    yield (EXCEL_BOM if excel else b"") + buffer.take().encode()

    # Inside a transaction Django declares the server-side cursor WITHOUT HOLD, so
    # rows stream from the executor as we FETCH. In autocommit it would be WITH
    # HOLD, which makes PostgreSQL materialise the whole result before the first
    # row. A single SELECT needs nothing else from the transaction.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_rows):
            writer.writerows(rows)
            yield buffer.take().encode()
            if on_rows:
                on_rows(len(rows))


def export_filename(*, label: str, status: str = "", excel: bool = False) -> str:
    parts = [label, "signatures", status, timezone.localdate().isoformat()]
    suffix = "-excel" if excel else ""
    return "-".join(p for p in parts if p) + suffix + ".csv"


def signature_csv_response(
    *, signatures: QuerySet[Signature], filename: str, excel: bool = False
) -> StreamingHttpResponse:
    return csv_response(
        chunks=signature_csv_chunks(signatures=signatures, excel=excel),
        filename=filename,
    )


def csv_response(*, chunks: Iterator[bytes], filename: str) -> StreamingHttpResponse:
    """Stream an export to the browser as it is produced (no Content-Length:
    HTTP/1.1 clients get chunked encoding, so a cut-off download is an error)."""
    # Proxy buffering stays allowed: a buffering proxy (nginx's default) takes the
    # file as fast as we make it, so a slow client doesn't hold a sync worker.
    return StreamingHttpResponse(
        chunks,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",  # personal data: no shared caches
        },
    )
