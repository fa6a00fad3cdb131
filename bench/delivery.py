"""Benchmark: letters/s through the real worker beside raw smtplib.

    .venv/bin/python bench/delivery.py                 # 500 letters
    .venv/bin/python bench/delivery.py -n 2000 --concurrency 4

Creates its own PostgreSQL database (default qp_b_bench; dropped at the end unless
--keep), migrates it and writes N pending letters (20 per official, so the
per-official throttle is exercised but never reached). It starts an SMTP sink
(aiosmtpd) on 127.0.0.1 and a real `celery -A config worker` on its own Redis
database (default 12, which must be empty; flushed at the end), then times:

- worker: `letters_enqueue` of all N ids until the sink has accepted the Nth
  message: the whole outbox path (claim with the official locked, build, one
  SMTP connection per letter, record);
- smtplib: the same N messages (built beforehand) sent with `sendmail` on one
  SMTP connection to the same sink: the floor for this machine.

Figures go to stdout and bench/out/delivery.json.
"""

import argparse
import json
import logging
import os
import smtplib
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from benchlib import ROOT, add_database_arguments, admin_sql

# The suite's process manager (benchlib has put the repository on the path).
from tests.support.processes import celery_worker, free_port
from tests.support.waiting import wait_until

OUT = ROOT / "bench" / "out"
PER_OFFICIAL = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--letters", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    add_database_arguments(parser, db="qp_b_bench")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    return parser.parse_args()


class CountingSink:
    """Accepts everything; counts messages and remembers their Message-IDs."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self._done = threading.Event()
        self._target = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

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


def raw_smtplib(sink: CountingSink, messages: list[tuple[str, str, bytes]]) -> float:
    sink.expect(len(messages))
    start = time.perf_counter()
    with smtplib.SMTP(sink.controller.hostname, sink.controller.port) as smtp:
        for from_addr, to_addr, data in messages:
            smtp.sendmail(from_addr, [to_addr], data)
    sink.wait(60)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
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
    env = {
        "DATABASE_URL": f"{args.server}/{args.db}",
        "CELERY_BROKER_URL": args.broker,
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DJANGO_DEBUG": "0",
        "EMAIL_HOST": sink.controller.hostname,
        "EMAIL_PORT": str(sink.controller.port),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd, per command
    from django.core.management import call_command
    from django.db import connection

    from campaign import emails
    from campaign.models import Letter, OutboxStatus
    from campaign.services.delivery import letters_enqueue

    worker = None
    try:
        call_command("migrate", verbosity=0)
        ids = create_letters(args.letters)
        connection.close()  # the worker gets the server's connections
        with tempfile.TemporaryDirectory() as tmp:
            worker = celery_worker(
                {**os.environ, "DATABASE_CONN_MAX_AGE": "60"},
                Path(tmp) / "worker.log",
                concurrency=args.concurrency,
            )
            worker.start(timeout=60)
            sink.expect(len(ids))
            start = time.perf_counter()
            letters_enqueue(letter_ids=ids)
            sink.wait(600)
            sent = Letter.objects.filter(status=OutboxStatus.SENT)
            wait_until(  # the last few are being recorded
                lambda: sent.count() >= len(ids), 60, "every letter recorded as sent",
                interval=0.01,
            )  # fmt: skip
            worker_seconds = time.perf_counter() - start
            worker.stop(timeout=30)

        duplicates = len(sink.message_ids) - len(set(sink.message_ids))
        assert duplicates == 0, f"{duplicates} letters were sent twice"
        assert set(sink.message_ids) == set(sent.values_list("message_id", flat=True))

        prepared = []
        for letter in Letter.objects.select_related("signature", "official"):
            message = emails.letter_message(letter)
            message.extra_headers["Message-ID"] = emails.message_id(letter)
            data = message.message().as_bytes(linesep="\r\n")
            prepared.append((message.from_email, letter.official.email, data))
        raw_seconds = raw_smtplib(sink, prepared)
    finally:
        if worker is not None:
            worker.stop(timeout=30)
        sink.controller.stop()
        connection.close()
        broker.flushdb()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')

    n = len(ids)
    results = {
        "letters": n,
        "worker_concurrency": args.concurrency,
        "worker_seconds": round(worker_seconds, 2),
        "worker_letters_per_second": round(n / worker_seconds, 1),
        "smtplib_one_connection_seconds": round(raw_seconds, 2),
        "smtplib_letters_per_second": round(n / raw_seconds, 1),
        "smtplib_to_worker_ratio": round(worker_seconds / raw_seconds, 1),
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "delivery.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
