"""Loading a postcode dataset: a CSV of postcodes (or sectors, or districts) and
area codes, through PostgreSQL's COPY, swapped in whole.

One transaction: the file is copied into a temporary staging table (one text
column per CSV column, so any spreadsheet export loads as it is), normalised and
checked there in SQL, and written as the dataset's next generation into a table of
its own, whose primary key is then built in one pass (index maintenance row by row
cost 70 % of the time). That table is attached as a partition of PostcodeArea
(partitioned by generation, migration 0012) and the dataset row is switched to it.
Lookups read the old generation until the commit and the new one after it, never
waiting for the import: the attach locks only the new table (it would lock a
default partition too, which is why PostcodeArea has none: migration 0015). The
old generation's partition is dropped after the commit, in a transaction of its
own, because dropping a partition locks the whole table until the commit. A bad
file raises PostcodeImportError before the switch and changes nothing. Memory
stays flat whatever the file's size: the file streams into COPY.
"""

import csv
import io
import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

import psycopg2
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from campaign.models import Area, PostcodeDataset
from campaign.services.postcode_import_sql import DROP, INSERT, NORMALISE, UNUSED

logger = logging.getLogger(__name__)

EXAMPLES = 5  # bad rows or codes quoted in an error
_READ_SIZE = 1 << 20


class PostcodeImportError(Exception):
    """The file cannot be imported; nothing was changed. The message says why."""


@dataclass(frozen=True)
class ImportReport:
    dataset: PostcodeDataset
    rows_read: int
    skipped: int  # rows without a postcode or without an area code
    stored: int  # rows at every level, derived ones included
    areas_created: int
    seconds: dict[str, float]  # per step, for the operator and bench/postcodes.py


class _Progress(io.RawIOBase):
    """A binary file that tells `advance(bytes)` how far COPY has read."""

    def __init__(self, file: BinaryIO, advance) -> None:
        self._file, self._advance = file, advance

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(_READ_SIZE if size is None or size < 0 else size)
        self._advance(len(data))
        return data


def _header(file: BinaryIO) -> list[str]:
    """The CSV's column names (the file is left at its start)."""
    line = file.readline()
    file.seek(0)
    try:
        return next(csv.reader([line.decode("utf-8-sig")]))
    except (UnicodeDecodeError, StopIteration):
        raise PostcodeImportError(
            "The file's first line must be a header of column names (CSV, UTF-8)."
        ) from None


def _column(header: list[str], name: str, option: str) -> int:
    try:
        return [h.strip() for h in header].index(name)
    except ValueError:
        raise PostcodeImportError(
            f'The file has no column "{name}" ({option}); its columns are: '
            + ", ".join(header[:40])
        ) from None


def postcode_dataset_import(
    *,
    file: BinaryIO,
    name: str,
    version: date,
    postcode_column: str,
    area_column: str,
    create_areas: bool = False,
    progress=None,
) -> ImportReport:
    """Replace dataset `name`'s postcodes (creating it if new) with the file's.
    `progress(bytes)` is told as the file is read. Raises PostcodeImportError."""
    header = _header(file)
    pc = _column(header, postcode_column, "--postcode-column")
    area = _column(header, area_column, "--area-column")
    columns = [f"c{i}" for i in range(len(header))]
    source = _Progress(file, progress or (lambda n: None))
    seconds, started = {}, time.monotonic()

    def step(name: str) -> None:
        nonlocal started
        seconds[name] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    with transaction.atomic(), connection.cursor() as cursor:
        # Millions of rows sorted and hashed in memory, not in temporary files
        # (the server's memory, for this transaction only; the staging tables
        # stay in temp buffers where the session has not used any yet).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL temp_buffers = '256MB'")
        dataset, _ = PostcodeDataset.objects.select_for_update().get_or_create(
            name=name, defaults={"version": version}
        )
        generation = postcode_generation_next()
        # ON COMMIT DROP waits for the outermost commit: inside a caller's
        # transaction (a test's) a second import would find them still there.
        cursor.execute(DROP)
        cursor.execute(
            "CREATE TEMP TABLE qp_postcode_staging ("
            + ", ".join(f"{c} text" for c in columns)
            + ", n bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"
        )
        try:
            cursor.cursor.copy_expert(
                f"COPY qp_postcode_staging ({', '.join(columns)}) FROM STDIN "
                "WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')",
                source,
                size=_READ_SIZE,
            )
        except psycopg2.Error as exc:  # DataError, BadCopyFileFormat, ...
            detail = str(exc).strip().replace("qp_postcode_staging", "the file")
            raise PostcodeImportError(f"The file could not be read: {detail}") from exc
        cursor.execute("SELECT count(*) FROM qp_postcode_staging")
        rows_read = cursor.fetchone()[0]
        step("copy")
        # Column names of our own making (c0, c1, ...), never the file's.
        cursor.execute(
            NORMALISE.replace("%PC%", columns[pc]).replace("%AREA%", columns[area])
        )
        kept = cursor.rowcount
        _refuse_bad_postcodes(cursor, postcode_column)
        areas_created = _areas_known(cursor, create=create_areas)
        step("normalise and check")
        if not kept:
            raise PostcodeImportError("The file has no rows with a postcode and area.")
        cursor.execute("SELECT min(lvl) FROM qp_postcode_rows")
        finest = cursor.fetchone()[0]
        partition = _partition(generation)
        cursor.execute(
            f"CREATE TABLE {partition} (LIKE campaign_postcodearea "
            "INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            INSERT.replace("%TABLE%", partition),
            {"dataset": dataset.pk, "generation": generation},
        )
        stored = cursor.rowcount
        step("insert")
        # The CHECK lets the attach skip scanning the rows for the partition bound.
        cursor.execute(
            f"ALTER TABLE {partition} ADD PRIMARY KEY "
            "(dataset_id, generation, postcode, area_id), "
            f"ADD CONSTRAINT {partition}_bound CHECK (generation = {generation})"
        )
        step("index")
        # The attach waits for other imports' attaches and drops only (SHARE
        # UPDATE EXCLUSIVE on the table): give up if one holds it long.
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        try:
            cursor.execute(
                f"ALTER TABLE campaign_postcodearea ATTACH PARTITION {partition} "
                f"FOR VALUES IN ({generation})"
            )
        except OperationalError as exc:
            raise PostcodeImportError(
                "The postcode table stayed busy for 10 seconds; nothing was "
                "changed. Try again."
            ) from exc
        dataset.version, dataset.generation = version, generation
        dataset.finest_level, dataset.postcodes = finest, stored
        dataset.imported_at = timezone.now()
        dataset.save()
        cursor.execute(DROP)
        step("switch")
    step("commit")
    postcode_generations_drop()
    with connection.cursor() as cursor:
        # Fresh statistics for the planner after millions of new rows.
        cursor.execute(f"ANALYZE {partition}")
    step("analyze")
    report = ImportReport(
        dataset, rows_read, rows_read - kept, stored, areas_created, seconds
    )
    logger.info(
        "postcode dataset %s imported: generation %s, %s rows stored",
        *(dataset.pk, generation, stored),
        extra={"dataset_id": dataset.pk, "rows": stored},
    )
    return report


def _partition(generation: int) -> str:
    return f"campaign_postcodearea_g{int(generation)}"


def postcode_generations_drop() -> None:
    """Drop the partitions no dataset reads. The drop locks the table (lookups
    wait) for milliseconds; if running statements hold it for more than a second
    the partitions stay, unread, for the next import to drop."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            cursor.execute(UNUSED)
            for (table,) in cursor.fetchall():  # names matched above, our own
                cursor.execute(f"DROP TABLE {table}")
    except OperationalError:
        logger.warning("old postcode generations left for the next import")


def postcode_partition_create(*, generation: int) -> None:
    """The partition for rows written with the ORM (the demo's): PostcodeArea
    has no default partition, whose lock every attach would take (lookups would
    wait on it). Nothing to do elsewhere (SQLite)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {_partition(generation)} PARTITION OF "
                f"campaign_postcodearea FOR VALUES IN ({int(generation)})"
            )


def postcode_generation_next() -> int:
    """A generation no dataset has had: from a sequence on PostgreSQL (never
    reused, so no partition name is ever taken twice); elsewhere (the SQLite
    demo) one more than the highest."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('campaign_postcodearea_generation')")
            return cursor.fetchone()[0]
    highest = PostcodeDataset.objects.aggregate(n=models.Max("generation"))["n"]
    return (highest or 0) + 1


def _refuse_bad_postcodes(cursor, column: str) -> None:
    cursor.execute(
        "SELECT n, raw FROM qp_postcode_rows WHERE key IS NULL ORDER BY n LIMIT %s",
        [EXAMPLES],
    )
    bad = cursor.fetchall()
    if not bad:
        return
    cursor.execute("SELECT count(*) FROM qp_postcode_rows WHERE key IS NULL")
    total = cursor.fetchone()[0]
    # Row 1 is the header (a spreadsheet's row numbers).
    examples = "; ".join(f'row {n + 1}: "{raw}"' for n, raw in bad)
    raise PostcodeImportError(
        f'{total} row(s) have something in "{column}" that is not a UK postcode, '
        f"sector or district, e.g. {examples}. Nothing was imported."
    )


def _areas_known(cursor, *, create: bool) -> int:
    """Refuse area codes that are no Area yet, or create them named by code."""
    unknown = (
        "SELECT DISTINCT r.code FROM qp_postcode_rows r "
        "WHERE NOT EXISTS (SELECT 1 FROM campaign_area a WHERE a.code = r.code)"
    )
    cursor.execute(f"SELECT code FROM ({unknown}) u ORDER BY code")  # noqa: S608
    codes = [code for (code,) in cursor.fetchall()]
    if not codes:
        return 0
    if not create:
        raise PostcodeImportError(
            f"{len(codes)} area code(s) in the file are not areas yet, e.g. "
            + ", ".join(codes[:EXAMPLES])
            + ". Import the areas first (admin: Areas, Import), or pass "
            "--create-areas to create them named by their code. Nothing was imported."
        )
    too_long = [c for c in codes if len(c) > Area._meta.get_field("code").max_length]
    if too_long:
        raise PostcodeImportError(f"Area codes too long, e.g. {too_long[0][:60]}")
    now = timezone.now()
    Area.objects.bulk_create(
        [Area(code=c, name=c, created_at=now, updated_at=now) for c in codes]
    )
    return len(codes)
