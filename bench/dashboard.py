"""Benchmark: the organiser's dashboard of a 1,000,000-signature campaign.

    .venv/bin/python bench/dashboard.py                    # 1M signatures, 3 runs
    .venv/bin/python bench/dashboard.py --rows 100000      # a quick look
    .venv/bin/python bench/dashboard.py --reuse --keep     # skip the load next time

It creates its own PostgreSQL database (default qp_bench_dashboard; dropped at the
end unless --keep), migrates it and loads, with INSERT ... SELECT over
generate_series, one campaign's signatures spread over the last 60 days (so the
last 48 hours hold ~3% of them), with sources, ~2,000 postcode districts, 5%
pending, and two letters per confirmed signature in mixed outcomes. Then, in one
process with DEBUG off and the site's own middleware:

- the floor: `SELECT count(*)` of the campaign's signatures (the issue's "bare
  COUNT(*) over 1M rows");
- what the dashboard would cost without tallies: its signatures-per-day query
  alone (date_trunc + GROUP BY over the campaign's rows);
- the tallies' rebuild (campaign_tallies_refresh: beat's work, not the page's);
- GET of the dashboard page by a logged-in superuser (Django's test client:
  middleware, view, template; no network), after one warm-up.

Each is the median of --runs. Goal: the page under 500 ms. Figures go to stdout
and bench/out/dashboard.json.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import psycopg2
from benchlib import (
    OUT,
    PYTHON,
    ROOT,
    add_database_arguments,
    admin_sql,
    bench_template_and_officials,
    django_env,
    setup_django,
)

SLUG = "bench-dashboard"

SIGNATURES_SQL = """
INSERT INTO campaign_signature (
    campaign_id, full_name, email, email_normalised, postcode, town,
    personal_paragraph, letter_body, consent_to_send, keep_updated, status, token,
    token_created_at, created_at, confirmed_at, utm_source, utm_medium,
    utm_campaign, ref, referrer_host, client_ip_hash)
SELECT
    %(campaign)s, 'Signer ' || g, 'signer' || g || '@example.com',
    'signer' || g || '@example.com',
    (ARRAY['SW1A', 'NW1', 'M1', 'LS', 'CF', 'G', 'BT', 'EH'])[g %% 8 + 1]
        || (g %% 250) || ' ' || (g %% 10) || 'AA',
    'London', '', '', true, false,
    CASE WHEN g %% 20 = 0 THEN 'pending' ELSE 'confirmed' END,
    md5(g::text) || '-' || g, t, t,
    CASE WHEN g %% 20 = 0 THEN NULL
         ELSE t + (g %% 180) * interval '1 minute' END,
    (ARRAY['', '', 'email', 'whatsapp', 'x', 'facebook', 'newsletter'])[g %% 7 + 1],
    CASE WHEN g %% 7 = 6 THEN 'email' ELSE '' END, '',
    CASE WHEN g %% 11 = 0 THEN 'partner-' || (g %% 5) ELSE '' END,
    CASE WHEN g %% 7 = 1 THEN 'news' || (g %% 30) || '.example.org' ELSE '' END,
    ''
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT now() - g * (interval '60 days' / %(rows)s)) AS s(t)
"""

LETTERS_SQL = """
INSERT INTO campaign_letter (
    status, attempts, last_error, next_attempt_at, claimed_at, sent_at, message_id,
    created_at, updated_at, signature_id, official_id, subject, body, own_words,
    bounce_code, bounce_diagnostic)
SELECT
    CASE WHEN s.id %% 53 = 0 AND o.n = 2 THEN 'failed'
         WHEN s.id %% 31 = 0 THEN 'pending'
         WHEN s.id %% 3 = 0 THEN 'digested'
         WHEN s.id %% 17 = 0 THEN 'held' ELSE 'sent' END,
    1, '', NULL, NULL, s.confirmed_at, '', s.confirmed_at, s.confirmed_at,
    s.id, o.id, 'About the campaign', 'Dear Official, please act.',
    CASE WHEN s.id %% 7 = 0 THEN 40 ELSE 0 END, '', ''
FROM campaign_signature s
CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n
            FROM campaign_official WHERE id = ANY(%(officials)s)) AS o
WHERE s.campaign_id = %(campaign)s AND s.status = 'confirmed'
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="Use a --keep database.")
    add_database_arguments(parser, db="qp_bench_dashboard")
    return parser.parse_args()


def prepare(args, db_url: str) -> None:
    env = django_env(db_url, LOG_JSON="0", STATIC_ROOT=str(OUT / "static-dashboard"))
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    setup_django(env, migrate=True)


def load(args, db_url: str):
    from django.db import connection

    from campaign.models import Campaign

    if args.reuse:
        return Campaign.objects.get(slug=SLUG), {}
    template, officials = bench_template_and_officials()
    campaign = Campaign.objects.create(
        slug=SLUG,
        title="Bench dashboard",
        summary="Benchmark campaign.",
        status=Campaign.Status.LIVE,
        signature_goal=1_500_000,
        letter_template=template,
    )
    campaign.targets.set(officials)
    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute(SIGNATURES_SQL, {"campaign": campaign.pk, "rows": args.rows})
        cur.execute(
            LETTERS_SQL,
            {"campaign": campaign.pk, "officials": [o.pk for o in officials]},
        )
    connection.close()
    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()
    return campaign, {"load_seconds": round(time.monotonic() - started, 1)}


def timed(runs: int, fn) -> tuple[float, list[float]]:
    """Median and all of `runs` timings of fn(), in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(round((time.perf_counter() - started) * 1000, 1))
    return statistics.median(times), times


def measure(args, campaign) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from campaign.services.tallies import campaign_tallies_refresh

    def sql(statement: str):
        def run():
            with connection.cursor() as cur:
                cur.execute(statement, [campaign.pk])
                cur.fetchall()

        return run

    count_ms, count_all = timed(
        args.runs, sql("SELECT count(*) FROM campaign_signature WHERE campaign_id = %s")
    )
    per_day_ms, per_day_all = timed(
        args.runs,
        sql(
            "SELECT date_trunc('day', created_at AT TIME ZONE 'Europe/London'), "
            "status, count(*) FROM campaign_signature WHERE campaign_id = %s "
            "GROUP BY 1, 2"
        ),
    )
    rebuild_ms, rebuild_all = timed(
        args.runs, lambda: campaign_tallies_refresh(campaign_id=campaign.pk)
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    page()  # warm-up: templates compiled, connection open
    page_ms, page_all = timed(args.runs, page)
    return {
        "signatures": campaign.signatures.count(),
        "count_star_ms": count_ms,
        "count_star_all": count_all,
        "per_day_group_by_ms": per_day_ms,
        "per_day_group_by_all": per_day_all,
        "tallies_rebuild_ms": rebuild_ms,
        "tallies_rebuild_all": rebuild_all,
        "dashboard_ms": page_ms,
        "dashboard_all": page_all,
        "dashboard_vs_count_star": round(page_ms / count_ms, 2),
        "goal_met": page_ms < 500,
    }


def main() -> None:
    args = parse_args()
    db_url = f"{args.server}/{args.db}"
    if not args.reuse:
        admin_sql(
            args.server,
            f'DROP DATABASE IF EXISTS "{args.db}"',
            f'CREATE DATABASE "{args.db}"',
        )
    try:
        prepare(args, db_url)
        campaign, loaded = load(args, db_url)
        figures = {**loaded, **measure(args, campaign)}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dashboard.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.exit(main())
