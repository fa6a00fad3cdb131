"""The pack as one zip: the PDF and the matching CSV, written in one pass over the
rows (each row is drawn, then written to the CSV), inside one REPEATABLE READ
snapshot so the two files and the cover agree on every supporter."""

import csv
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from ..exports import text_value
from ..models import Campaign, Official
from . import rows
from .fonts import font_set
from .pdf import PackPdf

CSV_HEADER = ["No.", "Name", "Town", "Postcode district", "Signed on"]
PROGRESS_ROWS = 500  # how often on_rows() hears about progress
RECIPIENTS_NAMED = 3  # more, and the header names the first and counts the rest


def pack_basename(*, campaign: Campaign, official: Official | None) -> str:
    parts = [campaign.slug, slugify(official.name) if official else "", "handin"]
    return "-".join(p for p in parts if p)


def recipients(officials) -> str:
    """Who the pack is handed to, for its header: a campaign by postcode may
    write to hundreds of representatives, which no header line holds."""
    names = [official.name for official in officials]
    if not names:
        return "no official yet"
    if len(names) > RECIPIENTS_NAMED:
        return f"{names[0]} and {len(names) - 1:,} other officials"
    return ", ".join(names)


def handin_zip_write(
    *,
    campaign: Campaign,
    official: Official | None,
    out,
    on_start: Callable[[rows.PackFacts], None] = lambda facts: None,
    on_rows: Callable[[int], None] = lambda n: None,
    tmp_dir: Path | None = None,
) -> rows.PackFacts:
    """Write the zip to the binary file `out`. `on_start(facts)` once the counts
    are known; `on_rows(n)` as personal letters and table rows are written. The
    PDF and CSV are written in a temporary directory inside `tmp_dir` (the
    system's by default) before they are zipped."""
    fonts = font_set(tuple(settings.HANDIN_FONTS))  # FontMissing before any work
    name = pack_basename(campaign=campaign, official=official)
    with tempfile.TemporaryDirectory(prefix=".handin-", dir=tmp_dir) as tmp:
        pdf_path, csv_path = Path(tmp, f"{name}.pdf"), Path(tmp, f"{name}.csv")
        with (
            open(pdf_path, "wb") as pdf_file,
            open(csv_path, "w", newline="", encoding="utf-8") as csv_file,
        ):
            facts = _write(
                campaign, official, fonts, pdf_file, csv_file, on_start, on_rows
            )
        # The PDF's streams are compressed already; the CSV shrinks well.
        with zipfile.ZipFile(out, "w") as archive:
            archive.write(pdf_path, pdf_path.name, zipfile.ZIP_STORED)
            archive.write(csv_path, csv_path.name, zipfile.ZIP_DEFLATED)
    return facts


def _write(campaign, official, fonts, pdf_file, csv_file, on_start, on_rows):
    scope = {"campaign": campaign, "official": official}
    # A test's transaction has its snapshot already; SQLite (the quick start)
    # has one writer and serialisable reads anyway.
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        facts = rows.pack_facts(**scope)
        on_start(facts)
        who = recipients(official for official, _ in facts.letters)
        pdf = PackPdf(
            pdf_file,
            fonts=fonts,
            header=f"{campaign.title} · to {who}",
            title=f"{campaign.title}: hand-in to {who}",
        )
        pdf.cover(facts, site_name=settings.SITE_NAME, today=timezone.localdate())
        pdf.new_section("The letter")
        for letter_official, letter in facts.letters:
            pdf.letter(
                official=letter_official, subject=letter.subject, body=letter.body
            )
        counter = _Counter(on_rows)
        if facts.personal:
            pdf.new_section(f"Personal letters ({facts.personal:,})")
            pdf.paragraph(
                "Supporters who wrote the letter in their own words, in full.", size=9
            )
            for letter in rows.personal_letters(**scope):
                pdf.personal_letter(letter)
                counter.add()
        pdf.new_section(f"Supporters ({facts.supporters:,})")
        writer = csv.writer(csv_file)  # excel dialect, as exports.csv_chunks
        writer.writerow(CSV_HEADER)
        for row in pdf.table(rows.supporter_rows(**scope)):
            writer.writerow(
                [row.number, *map(text_value, (row.name, row.town, row.district)),
                 row.signed_on]
            )  # fmt: skip
            counter.add()
        pdf.close()
        counter.flush()
    return facts


class _Counter:
    def __init__(self, on_rows: Callable[[int], None]) -> None:
        self.on_rows, self.pending = on_rows, 0

    def add(self) -> None:
        self.pending += 1
        if self.pending == PROGRESS_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.on_rows(self.pending)
            self.pending = 0
