"""import_postcodes: COPY into staging, normalised, swapped in whole; the lookup by
full postcode, sector and district; a bad file changes nothing; lookups keep
working while an import runs."""

import io
import re
import threading
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from campaign.areas import postcode_areas
from campaign.models import Area, PostcodeArea, PostcodeDataset
from campaign.postcodes import DISTRICT, SECTOR, UNIT
from campaign.services.postcode_import_sql import DROP
from campaign.services.postcode_imports import PostcodeImportError
from tests.areas.conftest import ROWS, csv_bytes, import_rows
from tests.support.waiting import wait_until


def codes(found) -> list[str]:
    return [area.code for area in found.areas]


def test_lookup_tries_the_full_postcode_then_the_sector_then_the_district(dataset):
    def look(postcode):
        return postcode_areas(dataset_id=dataset.pk, postcode=postcode)

    assert (look("sw1a 1aa").level, codes(look("sw1a 1aa"))) == (UNIT, ["E01"])
    assert codes(look(" SW1A1AB ")) == ["E01"]  # case and spaces never matter
    # Not in the list: its sector's area.
    assert (look("SW1A 2ZZ").level, codes(look("SW1A 2ZZ"))) == (SECTOR, ["E02"])
    # A sector spanning two areas offers both; so does a district.
    assert codes(look("N1 9ZZ")) == ["E01", "E02"]
    assert (look("N1").level, codes(look("N1"))) == (DISTRICT, ["E01", "E02"])
    # From a sector-level row: the sector and its district, never a full postcode.
    assert (look("EC1 4AB").level, codes(look("EC1 4AB"))) == (SECTOR, ["E03"])
    assert (look("EC1 5AB").level, codes(look("EC1 5AB"))) == (DISTRICT, ["E03"])
    assert look("ZZ9 9ZZ").is_unknown
    assert look("not a postcode").is_unknown


def test_the_lookup_is_one_indexed_query(dataset, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        found = postcode_areas(dataset_id=dataset.pk, postcode="SW1A 1AA")
    assert found.areas[0].official.name == "Nora North"  # loaded with it
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # tiny table: make it choose
        cursor.execute("EXPLAIN " + captured[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    # The current generation's partition, by its primary key.
    assert re.search(rf"campaign_postcodearea_g{dataset.generation}_pkey", plan)


def test_the_import_records_the_dataset_and_stores_every_level(dataset):
    assert (dataset.name, dataset.version) == ("Test postcodes", date(2026, 8, 1))
    assert dataset.finest_level == UNIT
    stored = set(PostcodeArea.objects.values_list("postcode", "area__code"))
    assert {("SW1A 1AB", "E01"), ("SW1A 1", "E01"), ("N1 9", "E02")} <= stored
    assert ("EC1", "E03") in stored
    assert dataset.postcodes == len(stored) == 15  # 5 of each level


def test_a_reimport_swaps_the_whole_dataset(dataset):
    first = dataset.generation
    report = import_rows([("SW1A 1AA", "E02")], version=date(2026, 11, 1))
    dataset.refresh_from_db()
    assert dataset.version == date(2026, 11, 1) and dataset.generation > first
    assert codes(postcode_areas(dataset_id=dataset.pk, postcode="SW1A1AA")) == ["E02"]
    assert postcode_areas(dataset_id=dataset.pk, postcode="N1 9GU").is_unknown
    # The old generation's rows are gone, not only hidden: its partition too.
    assert set(PostcodeArea.objects.values_list("generation", flat=True)) == {
        dataset.generation
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class "
            "WHERE relname LIKE 'campaign_postcodearea_g%%'"
        )
        tables = {name for (name,) in cursor.fetchall()}
    assert f"campaign_postcodearea_g{dataset.generation}" in tables
    assert f"campaign_postcodearea_g{first}" not in tables
    assert report.stored == 3


def test_datasets_coexist(dataset, areas):
    other = import_rows([("SW1A 1AA", "E03")], name="Other postcodes").dataset
    assert codes(postcode_areas(dataset_id=other.pk, postcode="SW1A1AA")) == ["E03"]
    assert codes(postcode_areas(dataset_id=dataset.pk, postcode="SW1A1AA")) == ["E01"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (csv_bytes(ROWS, header="postcode,region,pcon"), 'no column "pcds"'),
        (csv_bytes([*ROWS, ("NOT A CODE", "E01")]), 'row 8: "NOT A CODE"'),
        (csv_bytes([*ROWS, ("SW1A 9ZZ", "E99")]), "not areas yet, e.g. E99"),
        (csv_bytes(ROWS) + b'SW1A 3AA,"unclosed,E01\n', "could not be read"),
        (csv_bytes(ROWS) + b"SW1A 3AA,x,E01,extra\n", "could not be read"),
        (b"pcds,region,pcon\n", "no rows with a postcode"),
        (b"\xff\xfe\n", "header"),
    ],
    ids=["column", "postcode", "area", "quote", "columns", "empty", "encoding"],
)
def test_a_bad_file_changes_nothing(dataset, content, message):
    generation = dataset.generation
    before = set(PostcodeArea.objects.values_list("generation", "postcode", "area"))
    with pytest.raises(PostcodeImportError, match=message):
        _import(content)
    dataset.refresh_from_db()
    assert (dataset.generation, dataset.version) == (generation, date(2026, 8, 1))
    assert set(PostcodeArea.objects.values_list("generation", "postcode", "area")) == (
        before
    )
    assert codes(postcode_areas(dataset_id=dataset.pk, postcode="SW1A1AA")) == ["E01"]


def _import(content: bytes):
    from campaign.services.postcode_imports import postcode_dataset_import

    return postcode_dataset_import(
        file=io.BytesIO(content),
        name="Test postcodes",
        version=date(2027, 1, 1),
        postcode_column="pcds",
        area_column="pcon",
    )


def test_rows_without_a_postcode_or_area_are_skipped_and_counted(areas):
    report = import_rows([*ROWS, ("", "E01"), ("SW1A 4AA", "")])
    assert (report.rows_read, report.skipped) == (8, 2)


def test_unknown_area_codes_can_be_created_named_by_code(areas):
    report = import_rows([("SW1A 1AA", "X77")], create_areas=True)
    assert report.areas_created == 1
    assert Area.objects.get(code="X77").name == "X77"


def test_the_command_reports_and_refuses_with_a_clear_message(areas, tmp_path, capsys):
    path = tmp_path / "postcodes.csv"
    path.write_bytes(csv_bytes(ROWS))
    options = ["--dataset", "ONS", "--postcode-column", "pcds", "--area-column"]
    call_command(
        "import_postcodes", path, *options, "pcon", "--dataset-version", "2026-08"
    )
    out = capsys.readouterr()
    assert "ONS, 2026-08-01: 6 rows read" in out.out
    assert "reading: 100%" in out.err  # the progress bar
    with pytest.raises(CommandError, match='no column "pcon_x"'):
        call_command(
            "import_postcodes", path, *options, "pcon_x", "--dataset-version", "2026-08"
        )
    with pytest.raises(CommandError, match="give a date"):
        call_command(
            "import_postcodes", path, *options, "pcon", "--dataset-version", "soon"
        )
    assert PostcodeDataset.objects.get().version == date(2026, 8, 1)


LOOKUP_BOUND = 3  # seconds; a lookup takes milliseconds, on a busy machine more


def _look(dataset, postcode: str) -> list[str]:
    return codes(postcode_areas(dataset_id=dataset.pk, postcode=postcode))


def test_lookups_succeed_while_an_import_is_swapping(transactional_db, areas):
    """The import is held twice in its transaction: once its new generation's
    rows are written and being indexed (the long part), and once the swap's
    statements (attach, dataset switched) have run, just before the commit.
    Both times another connection's lookup answers from the old generation
    within a bound; after the commit it answers from the new one."""
    dataset = import_rows(ROWS).dataset
    old = dataset.generation
    held = {"ADD PRIMARY KEY": threading.Event(), DROP: threading.Event()}
    release = {marker: threading.Event() for marker in held}
    errors, statements = [], []

    def hold(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        statements.append(sql)
        marker = None
        if "ADD PRIMARY KEY" in sql:
            marker = "ADD PRIMARY KEY"
        # The staging tables are dropped first thing too: the second hold is at
        # their drop after the index, the transaction's last statement.
        elif sql == DROP and held["ADD PRIMARY KEY"].is_set():
            marker = DROP
        if marker:
            held[marker].set()
            release[marker].wait(20)
        return result

    def reimport():
        try:
            with connection.execute_wrapper(hold):
                import_rows([("SW1A 1AA", "E02")])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def look_elsewhere(postcode: str) -> list[str]:
        """A lookup on a connection of its own, answering within the bound (a
        lookup waiting on a lock would wait for the release, 20 s)."""
        answers = []

        def look():
            try:
                answers.append(_look(dataset, postcode))
            finally:
                connections.close_all()

        threading.Thread(target=look, daemon=True).start()
        return wait_until(lambda: answers, LOOKUP_BOUND, f"a lookup of {postcode}")[0]

    importer = threading.Thread(target=reimport)
    importer.start()
    try:
        assert held["ADD PRIMARY KEY"].wait(20), errors
        assert look_elsewhere("SW1A1AA") == ["E01"]
        assert look_elsewhere("N1") == ["E01", "E02"]
        release["ADD PRIMARY KEY"].set()
        assert held[DROP].wait(20), errors
        assert any("ATTACH PARTITION" in sql for sql in statements)
        # Not committed yet: the dataset still has its old generation.
        dataset.refresh_from_db()
        assert dataset.generation == old
        assert look_elsewhere("SW1A1AA") == ["E01"]
        assert look_elsewhere("N1") == ["E01", "E02"]
    finally:
        for event in release.values():
            event.set()
        importer.join(20)
    assert errors == []
    assert _look(dataset, "SW1A1AA") == ["E02"]
    assert _look(dataset, "SW1A") == ["E02"]
    assert _look(dataset, "N1") == []  # the old generation is gone
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"campaign_postcodearea_g{old}"])
        assert cursor.fetchone() == (None,)  # dropped after the commit
