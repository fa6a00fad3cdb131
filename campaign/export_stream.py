"""A COPY's output streamed to an HTTP client that may be slow, may leave, or may
be left with a broken download.

The COPY runs in a thread on a database connection of its own (Django's
connections are per thread) and writes into a bounded queue that the response
drains, so:

- memory stays flat with a slow client: when the queue is full the thread stops
  reading, PostgreSQL's socket fills and the server waits too;
- a client that goes away (the server closes the response, which closes this
  generator) stops the thread and cancels the query, and the thread closes its
  connection: nothing keeps running in PostgreSQL;
- a failure mid-stream (the query cancelled, the database gone) is raised from
  the generator, so the server aborts the response without its last chunk and
  the client sees a failed download, never a short file that looks complete
  (README "CSV export").
"""

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence

import psycopg2
from django.db import connections, transaction

logger = logging.getLogger(__name__)

# COPY hands over one row per write; rows are gathered into chunks of this size
# (one socket write each), and at most QUEUE_CHUNKS of them wait for the client:
# the most a slow client ever costs us is about QUEUE_CHUNKS × CHUNK_BYTES.
CHUNK_BYTES = 64 * 1024
QUEUE_CHUNKS = 16
# How often a thread blocked on a full queue looks whether the client has gone.
_POLL_SECONDS = 0.25
# How long closing the response waits for the thread to let go of its connection.
_JOIN_SECONDS = 10

_DONE = object()


class ExportInterrupted(Exception):
    """The export failed after the response had started: the download must end
    as an error."""


class _Stopped(Exception):
    """The client went away: the thread gives up."""


class _QueueWriter:
    """The file COPY writes into: gathers rows into chunks and queues them,
    waiting while the queue is full, and gives up once told to stop."""

    def __init__(self, chunks: queue.Queue, stop: threading.Event, prefix: bytes):
        self.chunks, self.stop = chunks, stop
        self.buffer = bytearray(prefix)
        self.first = True

    def write(self, data: bytes) -> None:
        self.buffer += data
        # The header goes at once: the client sees the download start.
        if self.first or len(self.buffer) >= CHUNK_BYTES:
            self.first = False
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.put(bytes(self.buffer))
            self.buffer.clear()

    def put(self, item) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.chunks.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue


def copy_stream(
    *, statement: str, settings: Sequence[str] = (), prefix: bytes = b""
) -> Iterator[bytes]:
    """Run `statement` (a COPY ... TO STDOUT) and yield its output in chunks,
    `prefix` first. `settings` (SET LOCAL statements) run first, in the COPY's
    transaction. The thread starts when the first chunk is asked for."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    stop = threading.Event()
    running: dict = {}  # the thread's psycopg2 connection, for cancel()
    thread = threading.Thread(
        target=_produce,
        kwargs={
            "statement": statement,
            "settings": settings,
            "prefix": prefix,
            "chunks": chunks,
        },
        args=(stop, running),
        name="csv-export-copy",
        daemon=True,
    )
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise ExportInterrupted("The export failed mid-stream.") from item
            yield item
    finally:
        stop.set()
        # A thread waiting on PostgreSQL (not on the queue) is woken by a cancel;
        # one waiting on the queue sees `stop` within _POLL_SECONDS.
        if thread.is_alive() and (pg := running.get("connection")) is not None:
            # The thread may be closing it this very moment: nothing to cancel.
            with contextlib.suppress(psycopg2.Error):
                pg.cancel()
        thread.join(_JOIN_SECONDS)


def _produce(
    stop: threading.Event,
    running: dict,
    *,
    statement: str,
    settings: Sequence[str],
    prefix: bytes,
    chunks: queue.Queue,
) -> None:
    connection = connections["default"]  # this thread's own
    writer = _QueueWriter(chunks, stop, prefix)
    try:
        connection.ensure_connection()
        running["connection"] = connection.connection
        # Checked after publishing the connection: either the consumer sees it
        # and cancels, or we see `stop` here and never start.
        if stop.is_set():
            return
        # A transaction, so SET LOCAL settings end with it (even on a connection
        # a pooler hands to someone else); if the COPY is abandoned mid-way, the
        # rollback fails and Django closes the connection, which ends the COPY.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for setting in settings:
                cursor.execute(setting)
            cursor.copy_expert(statement, writer)
        writer.flush()
        writer.put(_DONE)
    except _Stopped:
        logger.info("CSV export stopped: the client went away")
    except Exception as exc:
        if stop.is_set():  # the cancel we sent when the client left
            logger.info("CSV export stopped: the client went away")
            return
        logger.exception("CSV export failed mid-stream")
        with contextlib.suppress(_Stopped):  # the client left meanwhile
            writer.put(exc)
    finally:
        # Also ends a COPY we stopped reading: the server sees the socket close.
        connection.close()
