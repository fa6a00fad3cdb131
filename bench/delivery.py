"""Benchmark: letters/s through the real worker beside raw smtplib, in the same run.

    .venv/bin/python bench/delivery.py                 # 2000 letters, 3 runs
    .venv/bin/python bench/delivery.py -n 2000 --concurrency 4 --batch-size 100

Creates its own PostgreSQL database (default qp_b_bench; dropped at the end unless
--keep), migrates it and writes N pending letters (20 per official, so the
per-official throttle is exercised but never reached). It starts an SMTP sink
(aiosmtpd) on 127.0.0.1 and a real `celery -A config worker` on its own Redis
database (default 12, which must be empty; flushed at the end), then, --runs
times (the letters set back to pending before each):

- worker: `letters_enqueue` of all N ids until every letter is recorded as
  sent: the whole outbox path (a task per DELIVERY_BATCH_SIZE ids, the claim
  with the officials locked, build, one SMTP connection per batch, a record
  per letter);
- smtplib: the same N messages (built beforehand) sent with `sendmail` on one
  SMTP connection to the same sink: the floor for this machine.

Each run's figures and the medians go to stdout and bench/out/delivery.json.
"""

import argparse
import json
import logging
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from benchlib import add_database_arguments, admin_sql, django_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PER_OFFICIAL = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--letters", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    parser.add_argument(
        "--batch-size", type=int, help="DELIVERY_BATCH_SIZE (default: the setting's)."
    )
    parser.add_argument("--runs", type=int, default=3)
    add_database_arguments(parser, db="qp_b_bench")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    return parser.parse_args()


class CountingSink:
    """Accepts everything; counts messages and remembers their Message-IDs."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self._done = threading.Event()
        self._target = 0
        with socket.socket() as s:  # a free port
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        for line in envelope.content.split(b"\r\n"):
            if not line:
                break  # end of the headers
            if line.lower().startswith(b"message-id:"):
                self.message_ids.append(line.split(b":", 1)[1].strip().decode())
        if len(self.message_ids) >= self._target:
            self._done.set()
        return "250 OK"

    def expect(self, count: int) -> None:
        self.message_ids.clear()
        self._target = count
        self._done.clear()

    def wait(self, timeout: float) -> None:
        if not self._done.wait(timeout):
            raise RuntimeError(
                f"only {len(self.message_ids)} of {self._target} messages arrived"
            )


def create_letters(n: int) -> list[int]:
    from campaign.models import Letter, Official, Signature
    from campaign.validators import normalise_email
    from tests.factories import CampaignFactory

    officials = Official.objects.bulk_create(
        Official(
            name=f"Official {i}",
            position="Minister",
            salutation=f"Dear Minister {i}",
            email=f"official{i}@example.org",
        )
        for i in range(-(-n // PER_OFFICIAL))
    )
    campaign = CampaignFactory(targets=officials)
    signatures = Signature.objects.bulk_create(
        Signature(
            campaign=campaign,
            full_name=f"Zoë Supporter {i}",
            email=f"supporter{i}@example.com",
            email_normalised=normalise_email(f"supporter{i}@example.com"),
            postcode="N1 9GU",
            consent_to_send=True,
            status=Signature.Status.CONFIRMED,
        )
        for i in range(n)
    )
    body = (
        "Dear Minister,\n\n"
        + "Please act on targeted visa bans and asset freezes. " * 25
        + "\n\nYours sincerely,\n\nZoë Supporter\n"
    )
    letters = Letter.objects.bulk_create(
        Letter(
            signature=signature,
            official=officials[i // PER_OFFICIAL],
            subject="Targeted sanctions now",
            body=body,
        )
        for i, signature in enumerate(signatures)
    )
    return [letter.pk for letter in letters]


def start_worker(env: dict, concurrency: int, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--loglevel=info", f"--concurrency={concurrency}", "--pool=prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker failed to start:\n{log_path.read_text()}")
        time.sleep(0.1)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def raw_smtplib(sink: CountingSink, messages: list[tuple[str, str, bytes]]) -> float:
    sink.expect(len(messages))
    start = time.perf_counter()
    with smtplib.SMTP(sink.controller.hostname, sink.controller.port) as smtp:
        for from_addr, to_addr, data in messages:
            smtp.sendmail(from_addr, [to_addr], data)
    sink.wait(60)
    return time.perf_counter() - start


def sending_bench_start(args, **overrides) -> tuple[redis.Redis, CountingSink, dict]:
    """What a sending bench (this one, bench/updates.py) starts with: its empty
    broker database, its database created afresh, a counting SMTP sink, and the
    site's environment pointing at all three (plus `overrides`)."""
    broker = redis.Redis.from_url(args.broker)
    if broker.dbsize():
        sys.exit(f"{args.broker} is not empty; pick another --broker or flush it.")
    admin_sql(
        args.server,
        f'DROP DATABASE IF EXISTS "{args.db}"',
        f'CREATE DATABASE "{args.db}"',
    )
    sink = CountingSink()
    sink.controller.start()
    env = django_env(
        f"{args.server}/{args.db}",
        CELERY_BROKER_URL=args.broker,
        EMAIL_HOST=sink.controller.hostname,
        EMAIL_PORT=str(sink.controller.port),
        EMAIL_ALLOW_TEST_SINK=None,
        **overrides,
    )
    return broker, sink, env


def main() -> None:
    args = parse_args()
    # A real broker and SMTP server; the worker logs each letter, as deployed.
    broker, sink, env = sending_bench_start(
        args,
        DJANGO_ALLOWED_HOSTS=None,
        DJANGO_SECURE_SSL_REDIRECT=None,
        DJANGO_SECURE_COOKIES=None,
        DJANGO_BEHIND_PROXY=None,
        LOG_LEVEL=None,
        CACHE_URL=None,
        RATELIMIT_ENABLE=None,
    )
    if args.batch_size:  # for letters_enqueue here, and the worker
        env["DELIVERY_BATCH_SIZE"] = str(args.batch_size)
    setup_django(env)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd, per command
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from campaign import emails
    from campaign.models import Letter, OutboxStatus
    from campaign.services.delivery import letters_enqueue
    from campaign.services.letter_counts import letters_update

    def through_the_worker(ids: list[int]) -> float:
        # As the site moves letters, so their signatures' counts go back too.
        letters_update(
            letters=Letter.objects.all(),
            status=OutboxStatus.PENDING,
            sent_at=None,  # an empty throttle window again
            message_id="",
            attempts=0,
            claimed_at=None,
            next_attempt_at=None,
        )
        connection.close()  # the worker gets the server's connections
        sink.expect(len(ids))
        start = time.perf_counter()
        letters_enqueue(letter_ids=ids)
        sink.wait(600)
        sent = Letter.objects.filter(status=OutboxStatus.SENT)
        while sent.count() < len(ids):  # the last few are being recorded
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        duplicates = len(sink.message_ids) - len(set(sink.message_ids))
        assert duplicates == 0, f"{duplicates} letters were sent twice"
        assert set(sink.message_ids) == set(sent.values_list("message_id", flat=True))
        return seconds

    worker, runs = None, []
    try:
        call_command("migrate", verbosity=0)
        ids = create_letters(args.letters)
        with connection.cursor() as cursor:  # autocommit: VACUUM may run
            cursor.execute("VACUUM ANALYZE")  # the planner's statistics, as in use
        prepared = []
        for letter in Letter.objects.select_related("signature", "official"):
            message = emails.letter_message(letter)
            message.extra_headers["Message-ID"] = emails.message_id(letter)
            data = message.message().as_bytes(linesep="\r\n")
            prepared.append((message.from_email, letter.official.email, data))
        connection.close()
        with tempfile.TemporaryDirectory() as tmp:
            worker = start_worker(
                {**os.environ, "DATABASE_CONN_MAX_AGE": "60"},
                args.concurrency,
                Path(tmp) / "worker.log",
            )
            for _ in range(args.runs):
                worker_seconds = through_the_worker(ids)
                raw_seconds = raw_smtplib(sink, prepared)
                runs.append(figures(len(ids), worker_seconds, raw_seconds))
                print(json.dumps(runs[-1]), flush=True)
            stop_worker(worker)
    finally:
        if worker is not None:
            stop_worker(worker)
        sink.controller.stop()
        connection.close()
        broker.flushdb()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')

    results = {
        "letters": len(ids),
        "worker_concurrency": args.concurrency,
        "batch_size": settings.DELIVERY_BATCH_SIZE,
        "cpus": os.cpu_count(),
        "runs": runs,
        "median": {key: statistics.median(run[key] for run in runs) for key in runs[0]},
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "delivery.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def figures(n: int, worker_seconds: float, raw_seconds: float) -> dict[str, float]:
    return {
        "worker_seconds": round(worker_seconds, 2),
        "worker_letters_per_second": round(n / worker_seconds, 1),
        "smtplib_one_connection_seconds": round(raw_seconds, 2),
        "smtplib_letters_per_second": round(n / raw_seconds, 1),
        # The goal: at least 0.5 (worker at least half as fast as raw smtplib).
        "worker_to_smtplib_ratio": round(raw_seconds / worker_seconds, 2),
    }


if __name__ == "__main__":
    main()
