"""Benchmark: a campaign update queued for 100,000 supporters, and delivered
through the real worker beside raw smtplib, in the same run.

    .venv/bin/python bench/updates.py   # 100,000 queued, 5,000 delivered, 3 runs
    .venv/bin/python bench/updates.py --recipients 20000 --deliver 2000 --runs 1

Creates its own PostgreSQL database (default qp_b_updates; dropped at the end
unless --keep), migrates it and writes --recipients confirmed supporters who
asked for updates (one INSERT … SELECT). UPDATE_SEND_RATE_PER_MINUTE is 0 (no
pacing: the bench measures the machinery, not the configured rate). Then, --runs
times each:

- queue (no worker running): `update_send` (the rows, one INSERT … SELECT) and
  `update_enqueue_due` (every copy published to Redis in DELIVERY_BATCH_SIZE
  tasks) for all --recipients; the goal is at most 30 s. The bench process's
  peak RSS before and after shows whether memory stays flat.
- deliver: a real `celery -A config worker` (--concurrency processes) sends a
  fresh update to --deliver supporters of a second campaign, from `update_send`
  until every copy is recorded sent: claim, render per supporter, one SMTP
  connection per batch, a record per copy. Then raw smtplib sends the same
  messages (built beforehand) with `sendmail` on one connection to the same
  aiosmtpd sink: the floor. The goal: worker ≥ 0.5× smtplib. The worker's RSS
  (all its processes) before and after each run.

The Redis database (--broker, default 12) must be empty; it is flushed at the
end. Figures and medians go to stdout and bench/out/updates.json.
"""

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import OUT, ROOT, add_database_arguments, admin_sql
from delivery import (
    raw_smtplib,
    sending_bench_start,
    start_worker,
    stop_worker,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--deliver", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    parser.add_argument("--runs", type=int, default=3)
    add_database_arguments(parser, db="qp_b_updates")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    return parser.parse_args()


SUPPORTERS_SQL = """
    INSERT INTO campaign_signature (
        campaign_id, full_name, email, email_normalised, postcode, town,
        personal_paragraph, letter_body, consent_to_send, keep_updated,
        utm_source, utm_medium, utm_campaign, ref, referrer_host, status, token,
        token_created_at, created_at, confirmed_at, client_ip_hash
    )
    SELECT %(campaign)s, 'Zoë Supporter ' || n, 'fan' || n || '@example.com',
        'fan' || n || '@example.com', 'N1 9GU', '', '', '', true, true,
        '', '', '', '', '', 'confirmed', %(prefix)s || n, now(), now(), now(), ''
    FROM generate_series(1, %(count)s) AS n
"""


def campaign_with_supporters(slug: str, count: int):
    from django.db import connection

    from campaign.models import Campaign
    from tests.factories import CampaignFactory

    campaign: Campaign = CampaignFactory(slug=slug, title=f"Bench {slug}")
    with connection.cursor() as cursor:
        cursor.execute(
            SUPPORTERS_SQL,
            {"campaign": campaign.pk, "prefix": f"{slug}-", "count": count},
        )
        cursor.execute("ANALYZE campaign_signature")  # the planner's statistics
    return campaign


BODY = (
    "Dear {{ signer.name }},\n\nThe Home Secretary has replied to the "
    "{{ campaign.signatures }} of us who wrote. " + "Here is what she said. " * 40
)


def new_update(campaign):
    from campaign.services.updates import update_create

    return update_create(
        campaign=campaign, subject="News: {{ campaign.title }}", body=BODY
    )


def rss_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb_tree(pid: int) -> float:
    """Resident memory of a process and its children (the worker's pool)."""
    total, pids = 0, [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def queue_once(campaign, broker) -> dict:
    from campaign.models import UpdateEmail
    from campaign.services.updates import update_enqueue_due, update_send

    update = new_update(campaign)
    before = rss_mb_self()
    start = time.perf_counter()
    sent = update_send(update_id=update.pk)  # on commit: the pace task, queued
    published = update_enqueue_due(update_id=update.pk)
    seconds = time.perf_counter() - start
    rows = UpdateEmail.objects.filter(update=update).count()
    assert rows == sent.recipients == published == campaign_size(campaign), (
        rows,
        published,
    )
    tasks = broker.llen("celery")
    UpdateEmail.objects.filter(update=update).delete()
    broker.flushdb()
    return {
        "queue_seconds": round(seconds, 2),
        "recipients": rows,
        "tasks_published": tasks,
        "peak_rss_mb_before": round(before, 1),
        "peak_rss_mb_after": round(rss_mb_self(), 1),
    }


def campaign_size(campaign) -> int:
    return campaign.signatures.count()


def deliver_once(campaign, sink, worker_pid: int) -> dict:
    from django.db import connection

    from campaign import emails
    from campaign.models import UpdateEmail
    from campaign.services.updates import update_send

    update = new_update(campaign)
    rss_before = rss_mb_tree(worker_pid)
    connection.close()
    n = campaign_size(campaign)
    sink.expect(n)
    start = time.perf_counter()
    update_send(update_id=update.pk)
    sink.wait(900)
    sent = UpdateEmail.objects.filter(update=update, status="sent")
    while sent.count() < n:  # the last few are being recorded
        time.sleep(0.01)
    worker_seconds = time.perf_counter() - start
    assert len(sink.message_ids) == len(set(sink.message_ids)) == n
    rss_after = rss_mb_tree(worker_pid)

    prepared = []
    rows = UpdateEmail.objects.filter(update=update).select_related(
        "update__campaign", "signature"
    )
    for row in rows:
        message = emails.update_message(row)
        message.extra_headers["Message-ID"] = emails.message_id(row)
        data = message.message().as_bytes(linesep="\r\n")
        prepared.append((message.from_email, row.signature.email, data))
    raw_seconds = raw_smtplib(sink, prepared)
    return {
        "delivered": n,
        "worker_seconds": round(worker_seconds, 2),
        "worker_per_second": round(n / worker_seconds, 1),
        "smtplib_one_connection_seconds": round(raw_seconds, 2),
        "smtplib_per_second": round(n / raw_seconds, 1),
        # The goal: at least 0.5 (the worker at least half as fast as smtplib).
        "worker_to_smtplib_ratio": round(raw_seconds / worker_seconds, 2),
        "worker_rss_mb_before": round(rss_before, 1),
        "worker_rss_mb_after": round(rss_after, 1),
    }


def main() -> None:
    args = parse_args()
    # A real broker and SMTP server (the bench's own), as bench/delivery.py.
    broker, sink, env = sending_bench_start(
        args, UPDATE_SEND_RATE_PER_MINUTE="0", SITE_URL="https://quillpost.example.org"
    )
    os.environ.update(env)
    import django

    django.setup()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd, per command
    logging.getLogger("campaign").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    worker, queued, delivered = None, [], []
    try:
        call_command("migrate", verbosity=0)
        big = campaign_with_supporters("queue", args.recipients)
        small = campaign_with_supporters("deliver", args.deliver)
        for _ in range(args.runs):
            queued.append(queue_once(big, broker))
            print(json.dumps(queued[-1]), flush=True)
        with connection.cursor() as cursor:  # autocommit: VACUUM may run
            # The deleted rows of the queue runs, as autovacuum would clear them.
            cursor.execute("VACUUM ANALYZE campaign_updateemail")
        connection.close()
        with tempfile.TemporaryDirectory() as tmp:
            worker = start_worker(
                {**os.environ, "DATABASE_CONN_MAX_AGE": "60"},
                args.concurrency,
                Path(tmp) / "worker.log",
            )
            for _ in range(args.runs):
                delivered.append(deliver_once(small, sink, worker.pid))
                print(json.dumps(delivered[-1]), flush=True)
            stop_worker(worker)
    finally:
        if worker is not None:
            stop_worker(worker)
        sink.controller.stop()
        connection.close()
        broker.flushdb()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')

    def median(runs):
        return {key: statistics.median(run[key] for run in runs) for key in runs[0]}

    results = {
        "batch_size": settings.DELIVERY_BATCH_SIZE,
        "worker_concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "queue": {"runs": queued, "median": median(queued)},
        "deliver": {"runs": delivered, "median": median(delivered)},
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "updates.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
