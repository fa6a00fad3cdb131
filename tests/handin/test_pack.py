"""The pack's contents, built with `manage.py handin_pack` on PostgreSQL: the PDF
read back with pdftotext, the CSV with the csv module."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from campaign import exports
from campaign.handin import rows
from campaign.handin.fonts import font_set
from campaign.models import Signature
from tests.handin.conftest import (
    EXCLUDED_NAME,
    HOSTILE,
    OPENING,
    PERSONAL,
    SCRIPTS,
    pack_read,
)


def build(tmp_path, slug="save-the-library", *options) -> tuple:
    out, err = tmp_path / "pack.zip", io.StringIO()
    call_command("handin_pack", slug, *options, "--output", str(out), stderr=err)
    return pack_read(out.read_bytes(), tmp_path), err.getvalue()


def test_the_pdf_holds_the_count_the_letter_personal_letters_and_every_script(
    handin, tmp_path
):
    pack, err = build(tmp_path)
    text = pack.pdf_text
    assert pack.names == ["save-the-library-handin.pdf", "save-the-library-handin.csv"]
    assert "500 supporters" in text
    assert "5 signatures were excluded after vetting" in text
    assert "To Alex Morgan, Prime Minister" in text
    assert "To Sam Okafor, Home Secretary" in text
    # The letter once per official, then the personal letters in full.
    assert text.count(OPENING) == 2 + len(handin.personal)
    assert text.count(PERSONAL) == len(handin.personal) == 25
    assert f"Personal letters ({len(handin.personal)})" in text
    for name in SCRIPTS.values():
        assert name in text
    assert EXCLUDED_NAME not in text
    assert re.search(r"Page 1 of (\d+)", text)
    total = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert f"Page {total} of {total}" in text
    assert "500 supporters, 25 personal letters, 5 excluded" in err


def test_the_csv_lists_the_same_supporters_in_the_same_order(handin, tmp_path):
    pack, _ = build(tmp_path)
    header, *body = pack.csv_rows
    assert header == ["No.", "Name", "Town", "Postcode district", "Signed on"]
    assert [row[0] for row in body] == [str(n) for n in range(1, 501)]
    # Formulas neutralised as in every export; the rest exactly as printed.
    assert [row[1].removeprefix("'") for row in body] == handin.included
    assert {row[3] for row in body} == {"SW1A"}
    for row in body:
        assert row[1] in handin.included or row[1].startswith("'=")
        assert row[1] in pack.pdf_text or row[1][1:] in pack.pdf_text


def test_hostile_names_print_as_text_and_no_bidi_control_survives(handin, tmp_path):
    pack, _ = build(tmp_path)
    for printed in HOSTILE.values():
        assert printed in pack.pdf_text
    cells = [cell for row in pack.csv_rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","Click")' in cells
    assert not any(cell and cell[0] in exports.FORMULA_TRIGGERS for cell in cells)
    for control in rows.BIDI_CONTROLS:
        assert control not in pack.pdf_text
        assert control not in "".join(cells)


def test_a_pack_for_one_official_has_only_their_letter(handin, tmp_path):
    official = handin.officials[1]
    pack, _ = build(tmp_path, "save-the-library", "--official", str(official.pk))
    assert pack.names[0] == "save-the-library-sam-okafor-handin.pdf"
    assert "To Sam Okafor, Home Secretary" in pack.pdf_text
    assert "Alex Morgan" not in pack.pdf_text
    assert pack.pdf_text.count("Dear Sam Okafor") == 1 + len(handin.personal)
    assert len(pack.csv_rows) == 501


def test_every_bidi_control_is_dropped_and_nothing_else():
    everything = "".join(map(chr, range(0x2000, 0x2070)))
    kept = rows.printable(everything)
    assert set(everything) - set(kept) == {
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    }


def test_each_glyph_comes_from_a_font_that_has_it():
    from django.conf import settings

    fonts = font_set(tuple(settings.HANDIN_FONTS))
    runs = fonts.runs("Ada Анна Γιώργος 王小明")
    assert runs == [(fonts.names[0], "Ada Анна Γιώργος "), (fonts.names[1], "王小明")]
    for font, run in runs:
        cover = fonts.covers[fonts.names.index(font)]
        assert all(ord(char) in cover for char in run)


@pytest.mark.django_db
def test_bad_arguments_get_a_clear_message(handin, tmp_path):
    with pytest.raises(CommandError, match="No campaign with slug 'nope'"):
        build(tmp_path, "nope")
    with pytest.raises(CommandError, match="Official 999999 is not one of"):
        build(tmp_path, "save-the-library", "--official", "999999")
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "handin_pack", "save-the-library", "--output", "/nonexistent/x.zip",
            stderr=io.StringIO(),
        )  # fmt: skip


def test_a_missing_font_is_named(handin, tmp_path, settings):
    settings.HANDIN_FONTS = ["/nonexistent/font.ttf"]
    with pytest.raises(CommandError, match="Cannot use the font /nonexistent/font.ttf"):
        build(tmp_path)
    assert not (tmp_path / "pack.zip").exists()


@pytest.mark.django_db
def test_the_csv_neutralises_formulas_exactly_as_the_export_sql_does():
    from tests.factories import SignatureFactory

    texts = ["", "Ada", "=1+2", "+44", "-5", "@SUM(A1)", "\tx", "\rx", " =x", "'=x"]
    for n, text in enumerate(texts):
        SignatureFactory(full_name=text, email=f"f{n}@example.com")
    cells = dict(
        Signature.objects.annotate(cell=exports.TextCell("full_name")).values_list(
            "full_name", "cell"
        )
    )
    assert cells == {text: exports.text_value(text) for text in texts}


@pytest.mark.django_db
def test_a_build_runs_the_same_few_queries_however_many_supporters(
    django_assert_num_queries,
):
    import io as _io

    from campaign.handin.archive import handin_zip_write
    from tests.handin.conftest import handin_campaign_create

    small = handin_campaign_create(supporters=40, slug="small")
    big = handin_campaign_create(supporters=400, slug="big")
    # The targets and the representatives; the cover's span and three counts;
    # the cursors of the personal letters and of the table; the savepoint
    # around them (in a test).
    for handin, supporters in ((small, 40), (big, 400)):
        with django_assert_num_queries(10):
            facts = handin_zip_write(
                campaign=handin.campaign, official=None, out=_io.BytesIO()
            )
        assert facts.supporters == supporters
