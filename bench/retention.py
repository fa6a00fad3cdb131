"""Benchmark: anonymising a closed campaign's supporters in batches, while
someone signs another campaign.

    .venv/bin/python bench/retention.py                    # 3 campaigns × 1M signatures
    .venv/bin/python bench/retention.py --rows 100000      # a quicker look

It creates its own PostgreSQL database (default qp_bench_retention; dropped at the
end unless --keep), migrates it and loads, with INSERT ... SELECT over
generate_series, `--runs` campaigns (one per run: anonymising is not repeatable on
the same rows) of `--rows` signatures each, two letters per confirmed signature,
all closed 200 days ago, plus one live campaign. Then it runs the same
retention_step() the daily task and `manage.py apply_retention` run, batch after
batch, and times each campaign (a run) and each batch (one transaction). Meanwhile
a second connection inserts a signature into the live campaign every 20 ms, with a
lock_timeout of 5 s, and records how long each insert took: anonymising must never
make signing elsewhere wait. Figures: per run, signatures anonymised per second,
the median and longest batch (the longest transaction held), and the slowest
concurrent insert; the median over runs. Written to stdout and
bench/out/retention.json.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time

import psycopg2
from benchlib import (
    OUT,
    add_database_arguments,
    admin_sql,
    bench_template_and_officials,
    django_env,
    setup_django,
)

SIGNATURES_SQL = """
INSERT INTO campaign_signature (
    campaign_id, full_name, email, email_normalised, postcode, town,
    personal_paragraph, letter_body, consent_to_send, keep_updated, status, token,
    token_created_at, created_at, confirmed_at, client_ip_hash, utm_source,
    utm_medium, utm_campaign, ref, referrer_host)
SELECT
    %(campaign)s, 'Signer Number ' || g, 'signer' || g || '@example.com',
    %(campaign)s || '-signer' || g || '@example.com', 'SW1A ' || (g %% 10) || 'AA',
    (ARRAY['London', 'Leeds', 'Cardiff', 'Glasgow', 'Belfast', ''])[g %% 6 + 1],
    CASE WHEN g %% 10 = 0 THEN 'My own words, #' || g ELSE '' END,
    '', true, g %% 2 = 0, 'confirmed', md5(%(campaign)s || '-' || g),
    t, t, t + interval '7 minutes', md5(g::text) || md5(g::text), '', '', '', '', ''
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT timestamptz '2024-01-01 00:00+00' + g * interval '20 s') AS s(t)
"""

LETTERS_SQL = """
INSERT INTO campaign_letter (
    status, attempts, last_error, next_attempt_at, claimed_at, sent_at, message_id,
    created_at, updated_at, signature_id, official_id, subject, body, own_words,
    bounce_code, bounce_diagnostic)
SELECT 'sent', 1, '', NULL, NULL, s.confirmed_at, '', s.confirmed_at,
    s.confirmed_at, s.id, o.id, 'About the campaign',
    'Dear Official, please act. Yours, ' || s.full_name, 0, '', ''
FROM campaign_signature s CROSS JOIN campaign_official o
WHERE s.campaign_id = %(campaign)s
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None)
    add_database_arguments(parser, db="qp_bench_retention")
    return parser.parse_args()


def load(args, db_url: str) -> tuple[list, object]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from campaign.models import Campaign

    template, officials = bench_template_and_officials()
    closed_at = timezone.now() - timedelta(days=200)
    closed = []
    for run in range(args.runs):
        campaign = Campaign.objects.create(
            slug=f"closed-{run}",
            title=f"Closed {run}",
            summary="Benchmark campaign.",
            status=Campaign.Status.CLOSED,
            letter_template=template,
            closes_at=closed_at + timedelta(minutes=run),
        )
        campaign.targets.set(officials)
        with connection.cursor() as cur:
            cur.execute(SIGNATURES_SQL, {"campaign": campaign.pk, "rows": args.rows})
            cur.execute(LETTERS_SQL, {"campaign": campaign.pk})
        closed.append(campaign)
        print(f"loaded campaign {run + 1}/{args.runs}", flush=True)
    live = Campaign.objects.create(
        slug="live",
        title="Live",
        summary="Signed during the benchmark.",
        status=Campaign.Status.LIVE,
        letter_template=template,
    )
    connection.close()
    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()
    return closed, live


class Signer(threading.Thread):
    """Inserts a signature into the live campaign every 20 ms on its own
    connection, timing each insert; a lock wait over 5 s would fail it."""

    def __init__(self, db_url: str, campaign_id: int) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg2.connect(db_url)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SET lock_timeout = '5s'")
        self.campaign_id = campaign_id
        self.stopping = threading.Event()
        self.latencies: list[float] = []
        self.errors = 0

    def run(self) -> None:
        n = 0
        while not self.stopping.wait(0.02):
            n += 1
            started = time.perf_counter()
            try:
                with self.conn.cursor() as cur:
                    cur.execute(
                        "INSERT INTO campaign_signature (campaign_id, full_name, "
                        "email, email_normalised, postcode, town, personal_paragraph,"
                        " letter_body, consent_to_send, keep_updated, status, token, "
                        "token_created_at, created_at, client_ip_hash, utm_source, "
                        "utm_medium, utm_campaign, ref, referrer_host) VALUES "
                        "(%s, 'Live Signer', %s, %s, 'N1 1AA', '', '', '', true, "
                        "false, 'pending', md5(%s), now(), now(), '', '', '', '', "
                        "'', '')",
                        (
                            self.campaign_id,
                            f"live{n}@example.com",
                            f"live{n}@example.com",
                            f"live-{n}",
                        ),
                    )
            except psycopg2.Error:
                self.errors += 1
            self.latencies.append(time.perf_counter() - started)


def bench(args, db_url: str) -> dict:
    from campaign.models import Signature
    from campaign.services.retention import BATCH_SIZE, retention_step

    batch_size = args.batch_size or BATCH_SIZE
    closed, live = load(args, db_url)
    signer = Signer(db_url, live.pk)
    signer.start()
    runs = []
    try:
        for campaign in closed:
            mark = len(signer.latencies)
            batches = []
            started = time.perf_counter()
            while True:
                t = time.perf_counter()
                step = retention_step(batch_size=batch_size)
                if not step.anonymised:
                    break
                batches.append(time.perf_counter() - t)
                left = Signature.objects.filter(
                    campaign=campaign, anonymised_at__isnull=True
                ).exists()
                if not left:
                    break
            seconds = time.perf_counter() - started
            inserts = signer.latencies[mark:]
            runs.append(
                {
                    "signatures": args.rows,
                    "seconds": round(seconds, 1),
                    "signatures_per_second": round(args.rows / seconds),
                    "batches": len(batches),
                    "batch_median_ms": round(statistics.median(batches) * 1000, 1),
                    "batch_max_ms": round(max(batches) * 1000, 1),
                    "concurrent_inserts": len(inserts),
                    "insert_max_ms": round(max(inserts) * 1000, 1),
                    "insert_p99_ms": round(
                        statistics.quantiles(inserts, n=100)[98] * 1000, 1
                    ),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
    finally:
        signer.stopping.set()
        signer.join()
    left = Signature.objects.filter(
        campaign__in=closed, anonymised_at__isnull=True
    ).count()
    keys = [k for k in runs[0] if k not in ("signatures", "batches")]
    return {
        "rows_per_run": args.rows,
        "runs": runs,
        "median": {k: statistics.median(r[k] for r in runs) for k in keys},
        "batch_size": batch_size,
        "left_unanonymised": left,
        "insert_errors": signer.errors,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    args = parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db_url = f"{args.server}/{args.db}"
    admin_sql(
        args.server,
        f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)',
        f'CREATE DATABASE "{args.db}"',
    )
    try:
        setup_django(django_env(db_url), migrate=True)
        report = bench(args, db_url)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    (OUT / "retention.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
