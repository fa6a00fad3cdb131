"""Benchmark: the campaign page with 0 and with 1,000,000 confirmed signatures.

    .venv/bin/python bench/campaign_page.py                  # 1M rows
    .venv/bin/python bench/campaign_page.py --rows 100000    # a quicker look

The page shows a signature count. It is cached (campaign/selectors.py) so a big
campaign does not pay a COUNT(*) per view; this measures that claim. It creates its
own PostgreSQL database (default qp_a_bench; dropped at the end unless --keep),
migrates it, loads the demo campaign and renders the page through Django's test
client in this process (the whole view, template and queries; no HTTP server), with
the count cached in Redis (--cache, default redis db 3) as in production:

- empty: 0 signatures, count cached;
- big/warm: the rows loaded with one INSERT ... SELECT over generate_series,
  count cached (every view but one per SIGNATURE_COUNT_CACHE_SECONDS);
- big/cold: the cache cleared before each view (the one view per interval that
  recounts), beside a bare COUNT(*) for reference.

Figures go to stdout and bench/out/campaign_page.json.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from benchlib import add_database_arguments, admin_sql, django_env, setup_django

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--views", type=int, default=300, help="Views per warm run.")
    parser.add_argument("--cold-views", type=int, default=20)
    add_database_arguments(parser, db="qp_a_bench")
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/3")
    return parser.parse_args()


def timed_views(client, url: str, n: int, *, before=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], set()
    for _ in range(n):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries.add(len(captured))
    times.sort()
    return {
        "views": n,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "queries_per_view": sorted(queries),
    }


def load_rows(campaign_id: int, rows: int) -> float:
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO campaign_signature (
                campaign_id, full_name, email, email_normalised, postcode, town,
                personal_paragraph, letter_body, consent_to_send, keep_updated,
                status, token, token_created_at, created_at, confirmed_at,
                utm_source, utm_medium, utm_campaign, ref, referrer_host,
                client_ip_hash)
            SELECT %s, 'Signer ' || n, 'signer' || n || '@example.com',
                   'signer' || n || '@example.com', 'N1 9GU', 'London', '', '',
                   true, false, 'confirmed', md5(n::text) || md5('t' || n::text),
                   now(), now() - (n || ' seconds')::interval, now(),
                   '', '', '', '', '', ''
            FROM generate_series(1, %s) AS n
            """,
            [campaign_id, rows],
        )
        cur.execute("ANALYZE campaign_signature")
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    admin_sql(
        args.server,
        f'DROP DATABASE IF EXISTS "{args.db}"',
        f'CREATE DATABASE "{args.db}"',
    )
    # The page as deployed: its cache in Redis, the abuse limits on.
    env = django_env(
        f"{args.server}/{args.db}",
        CACHE_URL=args.cache,
        DJANGO_BEHIND_PROXY=None,
        RATELIMIT_ENABLE=None,
    )
    setup_django(env)
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from campaign.demo import DEMO_SLUG
    from campaign.models import Campaign

    # Plain static names: the page must render without a collected manifest.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    try:
        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0)
        campaign = Campaign.objects.get(slug=DEMO_SLUG)
        url = f"/campaigns/{campaign.slug}/"
        client = Client()
        cache.clear()
        client.get(url)  # warm-up: imports, template loading, the cached count

        results = {"rows": args.rows, "empty": timed_views(client, url, args.views)}
        results["load_seconds"] = round(load_rows(campaign.pk, args.rows), 1)
        cache.clear()
        client.get(url)
        results["big_warm"] = timed_views(client, url, args.views)
        results["big_cold"] = timed_views(
            client, url, args.cold_views, before=cache.clear
        )
        with connection.cursor() as cur:
            start = time.perf_counter()
            cur.execute(
                "SELECT count(*) FROM campaign_signature "
                "WHERE campaign_id = %s AND status = 'confirmed'",
                [campaign.pk],
            )
            assert cur.fetchone()[0] == args.rows
            results["bare_count_ms"] = round((time.perf_counter() - start) * 1000, 1)
        results["count_cache_seconds"] = settings.SIGNATURE_COUNT_CACHE_SECONDS
    finally:
        cache.clear()
        connection.close()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')

    OUT.mkdir(exist_ok=True)
    (OUT / "campaign_page.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
