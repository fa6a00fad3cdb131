"""How the web export streams its COPY (campaign/export_stream.py): a slow client
holds back the copy (and PostgreSQL) instead of filling memory, a client that
leaves stops the copy, and a failure mid-stream ends the download in an error."""

import logging
import threading

import pytest
from django.db import connection

from campaign import export_filters, export_stream, exports
from tests.exports.csv_export import parse
from tests.factories import CampaignFactory, SignatureFactory, signature_copies
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("hostile_signers"),
]


# More CSV than loopback socket buffers hold (~20 MB): a client that stops reading
# makes PostgreSQL itself wait to write (wait event ClientWrite).
BIG_ROWS, PARAGRAPH = 10_000, "x" * 2_000


@pytest.fixture
def big_campaign():
    campaign = CampaignFactory(targets=[])
    first = SignatureFactory(
        campaign=campaign, personal_paragraph=PARAGRAPH, status="confirmed"
    )
    signature_copies(first, BIG_ROWS - 1)
    return campaign


def _blocked_copy() -> int:
    """The pid of the export's backend once it waits for us to read."""
    (pid,) = wait_until(
        lambda: _copy_backends(waiting="ClientWrite"), 30, "PostgreSQL to wait on us"
    )
    return pid


def _copy_backends(waiting: str = "") -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE state = 'active'"
            " AND query LIKE 'COPY (%%' AND pid <> pg_backend_pid()"
            " AND (%s = '' OR wait_event = %s)",
            [waiting, waiting],
        )
        return [pid for (pid,) in cursor.fetchall()]


def _copy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "csv-export-copy"]


def test_a_slow_client_holds_the_copy_back(campaign, monkeypatch):
    # A chunk per row and room for two: the copy may run at most that far ahead.
    monkeypatch.setattr(export_stream, "CHUNK_BYTES", 1)
    monkeypatch.setattr(export_stream, "QUEUE_CHUNKS", 2)
    signatures = export_filters.signatures_for_export(campaign=campaign, status="all")
    stream = exports.signature_csv_chunks(signatures=signatures)

    header = next(stream)
    assert parse(header) == [exports.HEADER]
    queued = stream.gi_frame.f_locals["chunks"]
    wait_until(queued.full, 10, "the queue to fill")
    # Ten rows to go, two queued: the thread waits for the client, not for memory.
    (thread,) = _copy_threads()
    assert thread.is_alive()
    assert queued.qsize() == 2

    rest = list(stream)
    assert len(rest) == 10  # every row, one chunk each
    assert [len(parse(chunk)) for chunk in rest] == [1] * 10
    assert not thread.is_alive()


def test_a_client_that_leaves_stops_the_copy(big_campaign, caplog):
    stream = exports.signature_csv_chunks(signatures=big_campaign.signatures.all())
    assert parse(next(stream)) == [exports.HEADER]
    _blocked_copy()  # the client reads no more: PostgreSQL waits, memory doesn't grow
    (thread,) = _copy_threads()
    assert stream.gi_frame.f_locals["chunks"].full()

    with caplog.at_level(logging.INFO, logger="campaign.export_stream"):
        stream.close()  # what the server does when the client disconnects

    assert not thread.is_alive()
    wait_until(lambda: not _copy_backends(), 10, "the COPY to stop")
    assert "the client went away" in caplog.text
    assert "failed" not in caplog.text


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:  # the database loses the export's backend
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _rows_until_cut(chunks) -> int:
    rows = 0
    with pytest.raises(export_stream.ExportInterrupted):
        for chunk in chunks:
            rows += chunk.count(PARAGRAPH.encode())
    return rows


def test_a_failure_mid_stream_cuts_the_download(big_campaign, caplog):
    stream = exports.signature_csv_chunks(signatures=big_campaign.signatures.all())
    assert parse(next(stream)) == [exports.HEADER]
    _terminate(_blocked_copy())

    # What was already on its way arrives, then the stream fails: never a clean end.
    assert 0 < _rows_until_cut(stream) < BIG_ROWS
    assert "CSV export failed mid-stream" in caplog.text
    assert not _copy_threads()
    assert not _copy_backends()


def test_through_the_view_a_cut_download_is_an_error(exporter, big_campaign):
    response = exporter.get(f"/campaigns/{big_campaign.slug}/signatures.csv")
    assert response.status_code == 200
    content = iter(response.streaming_content)
    assert parse(next(content)) == [exports.HEADER]
    _terminate(_blocked_copy())
    # The server sees an exception (and drops the connection without the final
    # chunk), not an early end of the iterator.
    assert 0 < _rows_until_cut(content) < BIG_ROWS
    response.close()
