"""CSV export of signatures: one statement for the admin, the staff URL and the
`export_signatures` command, so all three write byte-identical files.

PostgreSQL does all of it: the per-cell work (timestamp formatting, yes/no,
formula neutralisation) inside one SELECT over the signatures alone (the letter
counts are columns of the signature: services/letter_counts.py), and the CSV
itself through `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`. Python
only passes the bytes on, so a million-row export stays within a small factor
of a plain `psql \\copy` of the same columns and its memory flat
(docs/organiser.md, "Exporting signatures"; the export in bench/README.md).

csv_chunks() is the older path (a server-side cursor and csv.writer), kept for
the officials' CSV (official_pages.py), whose format is its own.
"""

import csv
import io
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, F, Func, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from .export_stream import copy_stream
from .models import Signature

# Rows per FETCH for csv_chunks() (the officials' CSV): big enough that round
# trips don't dominate, small enough that one chunk of tuples stays near a MB.
CHUNK_ROWS = 2_000
# How often the command's progress bar hears about rows COPY has written.
PROGRESS_ROWS = 10_000

# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a
# formula. A leading ' makes it show as text. The tests check TextCell's output
# against FORMULA_TRIGGERS for arbitrary text.
FORMULA_TRIGGERS = "=+-@\t\r"
_TRIGGER_CODES = sorted(map(ord, FORMULA_TRIGGERS))

EXCEL_BOM = "\ufeff".encode()


class TextCell(Func):
    """A text column, neutralised if a spreadsheet would run it as a formula.

    The test is on ascii() of the first character (its code point; 0 for an
    empty cell), and a range check first: integer comparisons that rule out
    almost every cell at once. A regex match per cell cost about four times as
    much (the export in bench/README.md)."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if params:  # the column appears four times below, its params once
            raise ValueError("TextCell neutralises a column, not an expression")
        codes = ", ".join(map(str, _TRIGGER_CODES))
        first = f"ascii({column})"
        sql = (
            f"CASE WHEN {first} BETWEEN {_TRIGGER_CODES[0]} AND {_TRIGGER_CODES[-1]}"
            f" AND {first} IN ({codes}) THEN '''' || {column} ELSE {column} END"
        )
        return sql, ()


class TimestampCell(Func):
    """Wall-clock time in the site time zone as "YYYY-MM-DD HH:MM:SS" (sorts as
    text): truncated to the second and cast to text, which is what to_char()
    with that format gives, at a fifth of its cost. The cast writes ISO dates
    in the DateStyle Django's driver needs anyway (COPY_SETTINGS sets it)."""

    output_field = CharField()
    template = "date_trunc('second', timezone(%(zone)s, %(expressions)s))::text"

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = super().as_sql(compiler, connection, zone="%s", **extra_context)
        return sql, (settings.TIME_ZONE, *params)


def text_value(value: str) -> str:
    """TextCell for a value already in Python (the hand-in pack's CSV)."""
    return f"'{value}" if value and value[0] in FORMULA_TRIGGERS else value


class YesNo(Func):
    output_field = CharField()
    template = "CASE WHEN %(expressions)s THEN 'yes' ELSE 'no' END"


_TZ = settings.TIME_ZONE
# (header, expression): the CSV's columns in order, every cell one column of the
# signature (or its campaign's slug) put through at most one function.
SIGNATURE_COLUMNS = [
    ("Campaign", TextCell("campaign__slug")),
    (f"Signed at ({_TZ})", TimestampCell("created_at")),
    (f"Confirmed at ({_TZ})", TimestampCell("confirmed_at")),
    ("Full name", TextCell("full_name")),
    ("Email", TextCell("email")),
    ("Postcode", TextCell("postcode")),
    ("Town", TextCell("town")),
    ("Consent to send", YesNo("consent_to_send")),
    ("Keep updated", YesNo("keep_updated")),
    ("Personal paragraph", TextCell("personal_paragraph")),
    ("Status", F("status")),
    # Where the supporter came from (campaign/sources.py).
    ("utm_source", TextCell("utm_source")),
    ("utm_medium", TextCell("utm_medium")),
    ("utm_campaign", TextCell("utm_campaign")),
    ("ref", TextCell("ref")),
    ("Referring site", TextCell("referrer_host")),
    # Sent on its own or carried by a digest: DELIVERED_LETTER_STATUSES.
    ("Letters delivered", F("letters_delivered")),
    ("Letters failed", F("letters_failed")),
]
HEADER = [header for header, _ in SIGNATURE_COLUMNS]


def export_sql(signatures: QuerySet[Signature]) -> tuple[str, tuple]:
    """The one SELECT an export runs, every cell computed by PostgreSQL, its
    column names the CSV header; bench/export.py hands the same SQL to
    `psql \\copy`. `signatures` is any filter on Signature.

    Rows come in id order, the order they were stored and so of signing
    (created_at is stamped at that insert): an index hands them over sorted,
    where ordering by created_at made PostgreSQL sort the whole wide result. The
    outer SELECT only names the columns (Django refuses such aliases); PostgreSQL
    flattens it into the inner one."""
    quote = connection.ops.quote_name
    names = [f"c{i}" for i in range(len(SIGNATURE_COLUMNS))]
    inner = (
        signatures.order_by()
        .annotate(**{n: e for n, (_, e) in zip(names, SIGNATURE_COLUMNS, strict=True)})
        .values("id", *names)
    )
    inner_sql, params = inner.query.sql_with_params()
    columns = ", ".join(
        f"e.{n} AS {quote(header)}" for n, header in zip(names, HEADER, strict=True)
    )
    return f"SELECT {columns} FROM ({inner_sql}) AS e ORDER BY e.id", params  # noqa: S608


# Run before the COPY, in its transaction. JIT compiling this query's expressions
# cost seconds on 1M rows and saves less; a parallel plan only adds a gather of
# rows already in order; DateStyle: see TimestampCell.
COPY_SETTINGS = [
    "SET LOCAL jit = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
    "SET LOCAL datestyle = 'ISO, YMD'",
]


def copy_statement(signatures: QuerySet[Signature]) -> str:
    """export_sql() as a COPY to the client, parameters inlined (COPY takes none).
    PostgreSQL writes the CSV itself: quoting, LF line ends, header row."""
    sql, params = export_sql(signatures)
    with connection.cursor() as cursor:
        select = cursor.mogrify(sql, params).decode()
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"


class _RowCounter:
    """A binary writer that tells on_rows how many rows passed (psycopg2 hands
    COPY's output over one row per write()), every PROGRESS_ROWS rows."""

    def __init__(self, out, on_rows: Callable[[int], None]) -> None:
        self.out, self.on_rows, self.rows = out, on_rows, -1  # -1: the header

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.rows += 1
        if self.rows and self.rows % PROGRESS_ROWS == 0:
            self.on_rows(PROGRESS_ROWS)

    def finish(self) -> int:
        self.on_rows(max(self.rows, 0) % PROGRESS_ROWS)
        return max(self.rows, 0)


def signature_csv_write(
    *,
    signatures: QuerySet[Signature],
    out,
    excel: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Write the export to the binary file `out` with COPY, on this thread's
    connection (the command; the web goes through export_stream). `on_rows(n)`
    is told as rows pass (progress bars)."""
    statement = copy_statement(signatures)
    if excel:
        out.write(EXCEL_BOM)
    counter = _RowCounter(out, on_rows or (lambda n: None))
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in COPY_SETTINGS:
            cursor.execute(setting)
        cursor.copy_expert(statement, counter)
    counter.finish()


def signature_csv_chunks(
    *, signatures: QuerySet[Signature], excel: bool = False
) -> Iterator[bytes]:
    """The export as byte chunks, produced by COPY on a connection of its own
    (campaign/export_stream.py): what the web responses stream."""
    return copy_stream(
        statement=copy_statement(signatures),
        settings=COPY_SETTINGS,
        prefix=EXCEL_BOM if excel else b"",
    )


class _Buffer(io.StringIO):
    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


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
    cursor. The SQL must neutralise formulas itself (TextCell)."""
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
    HTTP/1.1 clients get chunked encoding, so a cut-off download is an error;
    a chunk iterator that raises is how a failure cuts it)."""
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
