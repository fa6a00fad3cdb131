"""Delivery through the real worker when things go wrong: a flushed broker, a
killed worker, killed database connections, an SMTP server that refuses or drops
connections. PostgreSQL, Redis, a Celery worker process (and beat) and aiosmtpd
on 127.0.0.1; nothing is mocked.

The worker runs with tests/support/worker.WORKER_TEST_ENV: retries back off from 0.5 s
to at most 2 s, rows "sending" for 3 s count as stuck, the sweeper has no grace
period and beat sweeps every second.
"""

from collections import Counter

from campaign.emails import message_id
from campaign.models import Letter, OutboxStatus
from campaign.services.delivery import (
    letters_enqueue,
)
from tests.delivery.helpers import blocked_consumers, letters_in
from tests.factories import (
    LetterFactory,
)
from tests.support.waiting import wait_until
from tests.support.worker import (
    WORKER_CONCURRENCY,
    kill_worker_database_connections,
    wait_for_idle_broker,
)


def test_flushed_broker_is_recovered_by_the_beat_sweeper(
    worker, smtp, broker, celery_beat
):
    letters = LetterFactory.create_batch(3)
    worker.kill()  # idle: nothing in flight; now nothing consumes the queue
    # Until Redis notices the dead connection, it could hand a message to its
    # pending BRPOP (and the message would vanish before the flush).
    wait_until(
        lambda: not blocked_consumers(broker), message="Redis to drop the worker"
    )
    try:
        letters_enqueue(letter_ids=[letter.pk for letter in letters])
        assert broker.llen("celery") == 1  # one batch of three
        broker.flushdb()  # FLUSHALL, limited to this session's broker database
        assert broker.llen("celery") == 0
        celery_beat.start(wait=False)  # both start up at once
    finally:
        worker.start()

    smtp.wait_for(3)
    celery_beat.kill()
    wait_for_idle_broker(broker)
    sent = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(smtp.messages) == 3
    assert set(sent) == set(
        Letter.objects.filter(status=OutboxStatus.SENT).values_list(
            "message_id", flat=True
        )
    )
    assert set(Letter.objects.values_list("attempts", flat=True)) == {1}


def test_sigkill_mid_batch_loses_nothing_and_duplicates_only_what_was_in_flight(
    worker, smtp, broker, celery_beat, settings
):
    """The worst moment to die: every worker process is in the middle of a
    batch, its current message accepted by the server but the "250" not yet
    heard, so it could not be recorded. Each of those letters goes out once more
    (same Message-ID); the rest of the batches, claimed but never attempted, go
    out once; nothing is lost."""
    settings.DELIVERY_BATCH_SIZE = 10  # two batches: one per worker process
    letters = LetterFactory.create_batch(20)
    letters_enqueue(letter_ids=[letter.pk for letter in letters])
    smtp.wait_for(4)
    smtp.stall = 60  # from now on the server keeps each message but stays silent
    wait_until(
        lambda: smtp.stalled == WORKER_CONCURRENCY,
        message="every worker process to wait on the server's reply",
    )
    worker.kill()
    delivered = {m["Message-ID"] for m in smtp.messages}
    claimed = {message_id(x) for x in Letter.objects.filter(status="sending")}
    in_flight = claimed & delivered  # delivered, never recorded
    assert len(in_flight) == WORKER_CONCURRENCY
    assert claimed - delivered  # the rest of the batches: claimed, not attempted
    # The dead worker's unacknowledged messages: Redis would hand them out again
    # only after the visibility timeout (hours); the sweeper does not wait.
    orphaned = broker.hkeys("unacked")

    smtp.stall = 0
    celery_beat.start(wait=False)
    worker.start()
    wait_until(letters_in(OutboxStatus.SENT, 20), message="all 20 letters to be sent")
    celery_beat.kill()
    if orphaned:
        broker.hdel("unacked", *orphaned)
        broker.zrem("unacked_index", *orphaned)
    wait_for_idle_broker(broker)

    copies = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(copies) == {letter.message_id for letter in Letter.objects.all()}
    duplicated = {message_id for message_id, n in copies.items() if n > 1}
    assert duplicated == in_flight
    assert max(copies.values()) == 2


def test_killed_database_connections_mid_batch_lose_and_repeat_nothing(
    worker, smtp, broker, settings
):
    """PostgreSQL drops the worker's connections (a restart, a failover, an
    operator) while both its processes are in the middle of a batch. Each finds
    out when it next records a result, reconnects and records it: nothing is
    lost, and nothing is sent twice. No beat: the worker recovers by itself."""
    settings.DELIVERY_BATCH_SIZE = 10  # two batches: one per worker process
    letters = LetterFactory.create_batch(20)
    smtp.delay = 0.2  # each message takes a while: the batches are in progress
    letters_enqueue(letter_ids=[letter.pk for letter in letters])
    smtp.wait_for(4)

    assert kill_worker_database_connections() >= WORKER_CONCURRENCY
    assert len(smtp.messages) < 20  # mid-batch
    smtp.delay = 0
    wait_until(letters_in(OutboxStatus.SENT, 20), message="all 20 letters to be sent")
    wait_for_idle_broker(broker)

    copies = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(copies) == {letter.message_id for letter in Letter.objects.all()}
    assert max(copies.values()) == 1
    assert set(Letter.objects.values_list("attempts", flat=True)) == {1}
    assert worker.log().count("Database connection lost; reconnecting") >= 2


def test_smtp_server_refusing_connections_for_a_while(worker, smtp, broker):
    """The mail server is down: each batch's attempt fails, its letters back off
    together and try again, and they are delivered once it listens again."""
    letters = LetterFactory.create_batch(6)
    with smtp.refusing():
        letters_enqueue(letter_ids=[letter.pk for letter in letters])
        wait_until(
            lambda: min(Letter.objects.values_list("attempts", flat=True)) >= 2,
            message="every letter to be tried twice",
        )
        assert set(Letter.objects.values_list("status", flat=True)) <= {
            OutboxStatus.PENDING,
            OutboxStatus.SENDING,
        }
        assert smtp.messages == []

    smtp.wait_for(6)
    wait_for_idle_broker(broker)
    copies = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(copies) == {letter.message_id for letter in Letter.objects.all()}
    assert max(copies.values()) == 1
    assert set(Letter.objects.values_list("status", flat=True)) == {"sent"}
    # At least the two refused attempts: a letter claimed for its second attempt
    # just as the server came back may be delivered by that attempt.
    assert min(Letter.objects.values_list("attempts", flat=True)) >= 2


def test_a_connection_closed_mid_batch_is_picked_up_again_at_once(worker, smtp, broker):
    """The server closes the connection (421) after taking a letter: the letter
    it refused backs off, the rest of the batch goes at once over a new
    connection, and every letter arrives once."""
    letters = LetterFactory.create_batch(5)
    smtp.script("250 OK", "421 4.3.2 Closing connection")
    letters_enqueue(letter_ids=[letter.pk for letter in letters])

    smtp.wait_for(5)
    wait_for_idle_broker(broker)
    copies = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(copies) == {letter.message_id for letter in Letter.objects.all()}
    assert max(copies.values()) == 1
    assert len(smtp.peers) >= 2  # reconnected
    attempts = dict(Letter.objects.values_list("pk", "attempts"))
    assert sorted(attempts.values()) == [1, 1, 1, 1, 2]  # only the refused one
    assert attempts[letters[1].pk] == 2
