"""CSV export of signatures: one statement for the admin, the staff URL and the
`export_signatures` command, so all three write byte-identical files.

PostgreSQL does all of it: the per-cell work (timestamp formatting, yes/no, letter
counts, formula neutralisation) inside one SELECT, and the CSV itself through
`COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`. Python only passes the
bytes on, so a million-row export stays within a small factor of a plain
`psql \\copy` and its memory flat (docs/organiser.md,
"Exporting signatures").

csv_chunks() is the older path (a server-side cursor and csv.writer), kept for
the officials' CSV (official_pages.py), whose format is its own.
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

from .export_stream import copy_stream
from .models import DELIVERED_LETTER_STATUSES, Letter, LetterStatus, Signature

# Rows per FETCH for csv_chunks() (the officials' CSV): big enough that round
# trips don't dominate, small enough that one chunk of tuples stays near a MB.
CHUNK_ROWS = 2_000
# How often the command's progress bar hears about rows COPY has written.
PROGRESS_ROWS = 10_000

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


def text_value(value: str) -> str:
    """text_cell() for a value already in Python (the hand-in pack's CSV)."""
    return f"'{value}" if value and value[0] in FORMULA_TRIGGERS else value


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

# Both letter counts in ONE grouped pass over the export's letters (an index-only
# scan of letter_counts_per_signature), merge-joined to the signatures: a per-row
# LATERAL probe cost ~4× the plain columns on 1M signatures (bench/export.py).
# The grouped side is limited to the exported signatures so a small export never
# counts every letter on the site. Rows come in id order, which is the order
# they were stored and so of signing (created_at is stamped at that insert):
# the primary key hands them over sorted, where ordering by created_at made
# PostgreSQL sort the whole wide result. The column aliases are the CSV header.
_EXPORT_SQL = """
SELECT {columns},
       coalesce(n.delivered, 0) AS {delivered},
       coalesce(n.failed, 0) AS {failed}
FROM ({signatures}) AS e
LEFT JOIN (
    SELECT l.signature_id,
           count(*) FILTER (WHERE l.status = ANY(%s)) AS delivered,
           count(*) FILTER (WHERE l.status = %s) AS failed
    FROM {letters} AS l
    WHERE l.signature_id IN ({signature_ids})
    GROUP BY l.signature_id
) AS n ON n.signature_id = e.id
ORDER BY e.id
"""


def export_sql(signatures: QuerySet[Signature]) -> tuple[str, tuple]:
    """The one SELECT an export runs, every cell computed by PostgreSQL, in
    signing (id) order, its column names the CSV header; bench/export.py hands the
    same SQL to `psql \\copy`.

    `signatures` is any filter on Signature. Its SQL becomes a subquery without
    ORDER BY, which PostgreSQL flattens into the outer query."""
    quote = connection.ops.quote_name
    names = [f"c{i}" for i in range(len(SIGNATURE_COLUMNS))]
    bare = signatures.order_by()
    inner = bare.annotate(
        **{n: expr for n, (_, expr) in zip(names, SIGNATURE_COLUMNS, strict=True)}
    ).values("id", *names)
    inner_sql, inner_params = inner.query.sql_with_params()
    ids_sql, ids_params = bare.values("id").query.sql_with_params()
    columns = ", ".join(
        f"e.{n} AS {quote(header)}"
        for n, (header, _) in zip(names, SIGNATURE_COLUMNS, strict=True)
    )
    # str.replace, not format(): the inner SQL is never parsed as a template.
    sql = (
        _EXPORT_SQL.replace("{columns}", columns)
        .replace("{delivered}", quote(HEADER[-2]))
        .replace("{failed}", quote(HEADER[-1]))
        .replace("{letters}", quote(Letter._meta.db_table))
        .replace("{signatures}", inner_sql)
        .replace("{signature_ids}", ids_sql)
    )
    delivered = [status.value for status in DELIVERED_LETTER_STATUSES]
    params = (*inner_params, delivered, LetterStatus.FAILED.value, *ids_params)
    return sql, params


# Run before the COPY, in its transaction. JIT compiling this query's expressions
# took ~4 s of a 1M-row export, and a parallel plan made each worker repeat the
# whole letter count: neither pays off here.
COPY_SETTINGS = ["SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 0"]


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
