"""The Celery side of the suite: the test broker (a Redis database of its own), a
real `celery -A config worker` process for the session, and beat on demand."""

import os
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.support.processes import celery_beat as beat_process
from tests.support.processes import celery_worker
from tests.support.waiting import wait_until

# The test worker's prefork processes: how many messages can be in flight at once.
WORKER_CONCURRENCY = 2
# The worker's PostgreSQL connections carry this application_name (libpq reads
# PGAPPNAME), so a test can find them in pg_stat_activity.
WORKER_APPLICATION_NAME = "quillpost-test-worker"

# Settings the worker (and beat) run with in tests: short delays so retries and
# the sweeper can be watched within seconds. Production values are in
# config/settings.py.
WORKER_TEST_ENV = {
    "DELIVERY_RETRY_BASE_SECONDS": "0.5",
    "DELIVERY_RETRY_MAX_SECONDS": "2",
    "DELIVERY_STUCK_AFTER_SECONDS": "3",
    "DELIVERY_SWEEP_GRACE_SECONDS": "0",
    "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
    # No hourly cap in the worker: the volume tests send hundreds of letters to
    # one official (the cap itself is tested in-process).
    "LETTERS_PER_OFFICIAL_PER_HOUR": "0",
    "DASHBOARD_REFRESH_SECONDS": "1",
    # Campaign updates as fast as the worker sends (pacing is tested in-process).
    "UPDATE_SEND_RATE_PER_MINUTE": "0",
}


def database_url() -> str:
    """This process's (test) database as a DATABASE_URL for another process."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def wait_for_idle_broker(client: redis.Redis, timeout: float = 20.0) -> None:
    """Block until no task is queued or running (or waiting on a retry countdown):
    with acks_late a message stays in kombu's "unacked" hash until its task has
    finished, recorded its result and been acknowledged.

    One MULTI reads, at a single instant, the queue, the "unacked" hash and
    whether a consumer of this database is blocked in BRPOP. Kombu's Redis
    transport records a popped message in "unacked" before it sends its next
    BRPOP (kombu/transport/redis.py: `_brpop_read` delivers, and the delivery's
    `QoS.append` writes the hash, before the poller sends BRPOP again), so a
    worker blocked in BRPOP holds no message that is in neither place: all
    three at once is idle, usually on the first poll. That leans on kombu's
    internals: should a kombu upgrade change the order, this check could return
    while a message is in flight (tests would then see mail of an earlier test).
    With no consumer blocked (the worker killed, or between two BRPOPs), the
    older rule applies: both empty for 0.1 s, longer than a worker takes to
    record what it popped."""
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    quiet_since = None

    def idle() -> bool:
        nonlocal quiet_since
        queued, unacked, clients = (
            client.pipeline(transaction=True)
            .llen("celery")
            .hlen("unacked")
            .client_list()
            .execute()
        )
        if queued or unacked:
            quiet_since = None
            return False
        if any(
            c["db"] == db and c["cmd"] == "brpop" and "b" in c["flags"] for c in clients
        ):
            return True
        now = time.monotonic()
        quiet_since = quiet_since or now
        return now - quiet_since >= 0.1

    wait_until(idle, timeout, "the worker to finish what is queued", interval=0.01)


def kill_worker_database_connections() -> int:
    """pg_terminate_backend on the worker's connections (not this test's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


@pytest.fixture(scope="session")
def broker():
    """The test broker's Redis database, emptied at the start of the session."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.close()


def _worker_env(smtp_server) -> dict[str, str]:
    return {
        **os.environ,
        **WORKER_TEST_ENV,
        "DATABASE_URL": database_url(),
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "DATABASE_CONN_MAX_AGE": "0",
        "PGAPPNAME": WORKER_APPLICATION_NAME,
    }


@pytest.fixture(scope="session")
def _worker_started(django_db_setup, smtp_server, broker, tmp_path_factory):
    """The session's worker process, started but perhaps not yet ready."""
    worker = celery_worker(
        _worker_env(smtp_server),
        tmp_path_factory.mktemp("celery") / "worker.log",
        concurrency=WORKER_CONCURRENCY,
        extra=(f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",),
    )
    worker.start(wait=False)
    yield worker
    # Idle, then killed: a warm shutdown takes a second or two longer, and the
    # next session empties the broker anyway. Killed even if the wait fails: a
    # worker left running would consume the next session's tasks.
    try:
        if worker.running():
            wait_for_idle_broker(broker)
    finally:
        worker.kill()


@pytest.fixture(scope="session", autouse=True)
def _start_the_worker_early(request):
    # Its second of start-up overlaps the tests before the first that needs it
    # (the database must exist first: the first test to use one creates it).
    if any("celery_worker_proc" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("_worker_started")


@pytest.fixture(scope="session")
def celery_worker_proc(_worker_started):
    """The session's worker, on the test database and SMTP server: killable
    (.kill()) and restartable (.start())."""
    _worker_started.wait_for_log(_worker_started.ready)
    return _worker_started


@pytest.fixture
def worker(transactional_db, smtp, celery_worker_proc, broker):
    """The session's worker and SMTP server, both idle at the start and the end
    of the test (so no task of one test sends mail in the next). Confirmations
    still in this process's publishing window are published first."""
    from campaign.services.delivery import confirmations_flush

    confirmations_flush()
    wait_for_idle_broker(broker)
    smtp.reset()
    yield celery_worker_proc
    confirmations_flush()
    wait_for_idle_broker(broker)


@pytest.fixture
def celery_beat(celery_worker_proc, smtp_server, tmp_path):
    """A beat process for one test, not yet started: the test calls .start() when
    the sweeper (every second) should begin. Stopped after the test."""
    beat = beat_process(_worker_env(smtp_server), tmp_path / "beat.log")
    yield beat
    beat.kill()  # nothing to lose: beat only publishes
