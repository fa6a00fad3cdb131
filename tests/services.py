"""Real services for the suite, started once per session: an SMTP server
(aiosmtpd), a Celery worker process on the local Redis, and headless Chromium."""

import asyncio
import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An SMTP server that keeps what it accepts and answers DATA as scripted:
    `script("451 4.3.0 Try later", "250 OK")` answers the next two messages so.
    `delay` (seconds) slows every message down before DATA, i.e. before it is
    accepted, so a test can kill a sender mid-batch. `stall` (seconds) keeps the
    message but holds back the server's "250" that tells the sender so: a sender
    killed then has delivered a message it could not record. `stalled` counts the
    senders waiting so. reset() sets both back to 0."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.attempts = 0
        self.delay = 0.0
        self.stall = 0.0
        self.stalled = 0
        self._replies: deque[str] = deque()
        self._cond = threading.Condition()
        self.port = free_port()
        self.host = "127.0.0.1"
        self._controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        with self._cond:
            self.attempts += 1
            reply = self._replies.popleft() if self._replies else "250 OK"
            if reply.startswith("250"):
                msg = email.message_from_bytes(envelope.content, policy=policy.default)
                msg.envelope_rcpt = list(envelope.rcpt_tos)
                self.messages.append(msg)
            self._cond.notify_all()
            stall = self.stall
            self.stalled += bool(stall)
        if stall:
            try:  # cancelled by aiosmtpd if the sender goes away meanwhile
                await asyncio.sleep(stall)
            finally:
                with self._cond:
                    self.stalled -= 1
        return reply

    def script(self, *replies: str) -> None:
        with self._cond:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._cond:
            self.messages.clear()
            self._replies.clear()
            self.attempts = 0
            self.delay = 0.0
            self.stall = 0.0

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; fail the test otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(
                        f"SMTP sink got {len(self.messages)} of {count} messages "
                        f"within {timeout}s"
                    )
                self._cond.wait(left)
            return list(self.messages)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The session's SMTP server, emptied, and this process's mail pointed at it."""
    smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    yield smtp_server
    smtp_server.reset()


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


# The test worker's prefork processes: how many messages can be in flight at once.
WORKER_CONCURRENCY = 2


class WorkerProcess:
    """A real `celery -A config worker` process, killable and restartable."""

    ready_marker = "ready."

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--loglevel=info", f"--concurrency={WORKER_CONCURRENCY}", "--pool=prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip

    def start(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        """Start the process; wait=False returns at once (see wait_ready)."""
        self.log_path.write_text("")
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker failed to start:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL the whole process group: no chance to ack, requeue or record."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class BeatProcess(WorkerProcess):
    """A real `celery -A config beat`: runs the sweeper every
    DELIVERY_SWEEP_INTERVAL_SECONDS (1 s in tests)."""

    ready_marker = "beat: Starting"

    def command(self) -> list[str]:
        schedule = self.log_path.with_suffix(".schedule")
        return [
            sys.executable, "-m", "celery", "-A", "config", "beat",
            "--loglevel=info", f"--schedule={schedule}",
        ]  # fmt: skip


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
}


def wait_for_idle_broker(client: redis.Redis, timeout: float = 20.0) -> None:
    """Block until no task is queued or running (or waiting on a retry countdown):
    with acks_late a message stays in kombu's "unacked" hash until its task has
    finished, recorded its result and been acknowledged."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3:  # a message moves from the list to "unacked" in two steps
        busy = client.llen("celery") or client.hlen("unacked")
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            pytest.fail(f"the worker is still busy after {timeout}s")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def broker():
    """The test broker's Redis database, emptied at the start of the session."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.close()


def _worker_env(smtp_server: SmtpSink) -> dict[str, str]:
    return {
        **os.environ,
        **WORKER_TEST_ENV,
        "DATABASE_URL": _database_url(),
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "DATABASE_CONN_MAX_AGE": "0",
    }


@pytest.fixture(scope="session")
def celery_worker_proc(django_db_setup, smtp_server, broker, tmp_path_factory):
    env = _worker_env(smtp_server)
    worker = WorkerProcess(env, tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_beat(celery_worker_proc, smtp_server, tmp_path):
    """A beat process for one test, not yet started: the test calls .start() when
    the sweeper (every second) should begin. Stopped after the test."""
    beat = BeatProcess(_worker_env(smtp_server), tmp_path / "beat.log")
    yield beat
    beat.kill()  # nothing to lose: beat only publishes


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # bypass_csp lets the test inject axe-core; the site's own pages never need it.
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core in the page; return violations of the given impact levels."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in impacts]
