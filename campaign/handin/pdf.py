"""The pack's PDF, drawn page by page on a reportlab canvas.

Why reportlab's canvas: it draws each page as we go from rows streamed out of
PostgreSQL, so a 100,000-row table never exists as one object (platypus, fpdf2's
tables or an HTML-to-PDF engine lay the whole table out first); it embeds
TrueType subsets with ToUnicode maps (the text can be searched and extracted);
and it is fast enough (bench/handin.py). A finished page is kept only as its
compressed content stream until save(), about 4 kB each. The pages count themselves
into a form drawn at the end ("Page 3 of 2,041").

Layout only: what is printed comes from rows.py, already cleaned.
"""

import zlib
from collections.abc import Iterable
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
from reportlab.pdfgen.canvas import Canvas

from .fonts import FontSet
from .rows import PackFacts, PersonalLetter, SupporterRow, printable

WIDTH, HEIGHT = A4
MARGIN = 48
TOP = HEIGHT - 64  # below the running header
BOTTOM = 54  # above the page number
TEXT_SIZE, TEXT_LEADING = 10.5, 14.5
ROW_SIZE, ROW_HEIGHT, MIN_ROW_SIZE = 9, 14, 5.5
ELLIPSIS = "\u2026"
# (heading, width in points, right-aligned): the supporters' table.
COLUMNS = [
    ("#", 44, True),
    ("Name", 196, False),
    ("Town", 130, False),
    ("District", 60, False),
    ("Signed on", 69, False),
]
_TOTAL_PAGES = "total-pages"


def _date(day: date | None) -> str:
    return day.strftime("%-d %B %Y") if day else "–"


class PackPdf:
    def __init__(self, out, *, fonts: FontSet, header: str, title: str) -> None:
        self.fonts, self.header = fonts, printable(header)
        # Pages are compressed as they are finished (_compress_last_page).
        self.canvas = Canvas(out, pagesize=A4, pageCompression=0)
        self.canvas.setTitle(printable(title))
        self.page = 0
        self.y = TOP
        self.in_table = False

    # --- pages --------------------------------------------------------------------

    def _start_page(self, *, running_header: bool = True) -> None:
        self.page += 1
        self.y = TOP
        if running_header:
            self.canvas.setFillGray(0.35)
            self._text(MARGIN, HEIGHT - 34, self.header, 8, width=WIDTH - 2 * MARGIN)
            self.canvas.setStrokeGray(0.7)
            self.canvas.line(MARGIN, HEIGHT - 40, WIDTH - MARGIN, HEIGHT - 40)
            self.canvas.setFillGray(0)
        if self.in_table:
            self._table_header()

    def _end_page(self) -> None:
        label = f"Page {self.page:,} of "
        x = WIDTH - MARGIN - 40 - self.fonts.width(label, 8)
        self.canvas.setFillGray(0.35)
        self.fonts.draw(self.canvas, x, 30, label, 8)
        self.canvas.saveState()
        self.canvas.translate(x + self.fonts.width(label, 8), 30)
        self.canvas.doForm(_TOTAL_PAGES)  # drawn in close(), once the total is known
        self.canvas.restoreState()
        self.canvas.setFillGray(0)
        self.canvas.showPage()
        self._compress_last_page()

    def _compress_last_page(self) -> None:
        """reportlab keeps each finished page's content stream as text until
        save(), and compresses it only then: compress it now, so that a finished
        page costs about 4 kB of memory instead of 22 kB. A stream whose
        dictionary names its Filter is written as it is (PDFStream.format)."""
        page = self.canvas._doc.Pages.pages[-1]
        flate = PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])})
        content = zlib.compress(page.stream.encode("utf8"))  # as PDFZCompress does
        page.Contents, page.stream = PDFStream(dictionary=flate, content=content), None

    def _room(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self._end_page()
            self._start_page()

    def _text(self, x, y, text: str, size: float, *, width: float) -> None:
        """One line, shrunk (down to MIN_ROW_SIZE) and then cut to fit `width`."""
        measured = self.fonts.width(text, size)
        if measured > width:
            size = max(MIN_ROW_SIZE, size * width / measured)
            if self.fonts.width(text, size) > width + 0.01:  # still: cut it
                while text and self.fonts.width(text + ELLIPSIS, size) > width:
                    text = text[: max(len(text) * 9 // 10, len(text) - 1)]
                text = text and text + ELLIPSIS
        self.fonts.draw(self.canvas, x, y, text, size)

    # --- flowing text -------------------------------------------------------------

    def _lines(self, text: str, size: float, width: float) -> list[str]:
        """Greedy word wrap; a word wider than the line (CJK text has no spaces)
        is cut where it no longer fits."""
        lines = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if self.fonts.width(candidate, size) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                line = word
                while self.fonts.width(line, size) > width:
                    cut = len(line) - 1
                    while cut > 1 and self.fonts.width(line[:cut], size) > width:
                        cut = cut * 9 // 10 if cut > 20 else cut - 1
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line)
        return lines

    def paragraph(self, text: str, *, size: float = TEXT_SIZE, indent: float = 0):
        leading = size * TEXT_LEADING / TEXT_SIZE
        width = WIDTH - 2 * MARGIN - indent
        for line in self._lines(printable(text), size, width):
            self._room(leading)
            self.y -= leading
            self.fonts.draw(self.canvas, MARGIN + indent, self.y, line, size)

    def heading(self, text: str, *, size: float = 15, space: float = 10) -> None:
        self._room(size * 3)  # never a heading alone at the foot of a page
        self.y -= space
        self.paragraph(text, size=size)
        self.y -= size * 0.4

    def new_section(self, title: str) -> None:
        self._end_page()
        self._start_page()
        self.heading(title, size=18, space=0)

    # --- the parts ----------------------------------------------------------------

    def cover(self, facts: PackFacts, *, site_name: str, today: date) -> None:
        self._start_page(running_header=False)
        self.y = HEIGHT - 120
        self.paragraph(facts.campaign.title, size=24)
        self.y -= 12
        self.paragraph(facts.campaign.summary)
        self.y -= 24
        for official, _letter in facts.letters:
            self.paragraph(f"To {official.name}, {official.position}", size=14)
        self.y -= 18
        self.paragraph(f"{facts.supporters:,} supporters", size=20)
        signed = f"Signed between {_date(facts.first_signed)} and "
        self.paragraph(signed + _date(facts.last_signed))
        if facts.personal:
            self.paragraph(f"{facts.personal:,} of them wrote a personal letter.")
        if facts.excluded:
            self.paragraph(
                f"{facts.excluded:,} signatures were excluded after vetting and "
                "are not listed."
            )
        self.y -= 24
        self.paragraph(f"Prepared by {site_name} on {_date(today)}.", size=9)

    def letter(self, *, official, subject: str, body: str) -> None:
        self.heading(f"The letter to {official.name}, {official.position}")
        self.paragraph(f"Subject: {subject}")
        self.y -= 6
        self.paragraph(body)
        self.y -= 12

    def personal_letter(self, letter: PersonalLetter) -> None:
        who = f"{letter.name}, {letter.town}" if letter.town else letter.name
        self.heading(who, size=12, space=14)
        self.paragraph(letter.body, size=10)

    def table(self, rows: Iterable[SupporterRow]) -> Iterable[SupporterRow]:
        """Draw the rows as they come, handing each one on (for the CSV)."""
        self.in_table = True
        self._room(ROW_HEIGHT * 3)
        self._table_header()
        for row in rows:
            self._room(ROW_HEIGHT)
            self.y -= ROW_HEIGHT
            if row.number % 2 == 0:
                self.canvas.setFillGray(0.94)
                self.canvas.rect(
                    MARGIN, self.y - 4, WIDTH - 2 * MARGIN, ROW_HEIGHT, 0, 1
                )
                self.canvas.setFillGray(0)
            cells = [f"{row.number:,}", row.name, row.town, row.district, row.signed_on]
            self._row(cells, ROW_SIZE)
            yield row
        self.in_table = False

    def _table_header(self) -> None:
        self.y -= ROW_HEIGHT
        self._row([heading for heading, _w, _r in COLUMNS], ROW_SIZE)
        self.canvas.setStrokeGray(0.3)
        self.canvas.line(MARGIN, self.y - 4, WIDTH - MARGIN, self.y - 4)

    def _row(self, cells: list[str], size: float) -> None:
        x = MARGIN
        for text, (_h, width, right) in zip(cells, COLUMNS, strict=True):
            if right:
                x_text = x + width - 8 - self.fonts.width(text, size)
                self.fonts.draw(self.canvas, x_text, self.y, text, size)
            else:
                self._text(x, self.y, text, size, width=width - 6)
            x += width

    def close(self) -> None:
        self._end_page()
        self.canvas.beginForm(_TOTAL_PAGES)
        self.canvas.setFillGray(0.35)
        self.fonts.draw(self.canvas, 0, 0, f"{self.page:,}", 8)
        self.canvas.endForm()
        self.canvas.save()
