"""Benchmark: the hand-in pack of 100,000 supporters (issue 16's goal: the PDF in
60 s or less, peak RSS 300 MB or less).

    .venv/bin/python bench/handin.py                     # 100,000 supporters, 3 runs
    .venv/bin/python bench/handin.py --rows 10000 --runs 1 --profile   # a quick look

It creates its own PostgreSQL database (default qp_bench_handin; dropped at the end
unless --keep), migrates it and loads, with one INSERT ... SELECT each, the
supporters of one campaign (names in Latin, Cyrillic, Greek and CJK scripts, hostile
ones, a bidi override; every 50th with a personal paragraph and a personal letter of
about 170 words; every 500th excluded after vetting) and their letters to one
official, held for hand-in. Then it runs
`manage.py handin_pack <slug> --official <id> --output bench/out/handin.zip` as a
subprocess --runs times (the zip holds the PDF and the CSV: all of the work), and
takes its wall time, and its CPU time and peak RSS from wait4()'s rusage (on a
machine shared with other work the CPU time is the steadier figure). It checks
the zip: the CSV's row count, the PDF's page count (poppler's pdfinfo) and that
the last page says "Page N of N". With --profile, one more run under cProfile
shows where the time goes. Figures go to stdout and bench/out/handin.json.
"""

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import zipfile

from benchlib import (
    OUT,
    PYTHON,
    ROOT,
    add_database_arguments,
    admin_sql,
    bench_template_and_officials,
    run_child_usage,
)

SLUG = "bench-handin"
GOAL_SECONDS, GOAL_RSS = 60, 300 * 1024 * 1024

SIGNATURES_SQL = """
INSERT INTO campaign_signature (
    campaign_id, full_name, email, email_normalised, postcode, town,
    personal_paragraph, letter_body, consent_to_send, keep_updated, status, token,
    token_created_at, created_at, confirmed_at, utm_source, utm_medium, utm_campaign,
    ref, referrer_host, client_ip_hash, handin_excluded_at, handin_exclusion_reason)
SELECT
    %(campaign)s,
    CASE
        WHEN g %% 7 = 1 THEN 'Анна Ахматова-Горенко ' || g
        WHEN g %% 7 = 2 THEN 'Γιώργος Σεφέρης ' || g
        WHEN g %% 7 = 3 THEN '王小明 ' || g
        WHEN g %% 1000 = 4 THEN '=HYPERLINK("http://x.example.org/' || g || '")'
        WHEN g %% 1000 = 5 THEN '<script>alert(' || g || ')</script>'
        WHEN g %% 1000 = 6 THEN E'\\u202eEvil Override ' || g
        ELSE 'Supporter Number ' || g
    END,
    'signer' || g || '@example.com',
    'signer' || g || '@example.com',
    'SW1A ' || (g %% 10) || 'AA',
    (ARRAY['London', 'Leeds', 'Cardiff', 'Glasgow', 'Belfast', ''])[g %% 6 + 1],
    CASE WHEN g %% 50 = 0 THEN 'My own reasons, at some length. #' || g ELSE '' END,
    '', true, false, 'confirmed',
    md5(g::text) || '-' || g,
    t, t, t + interval '7 minutes',
    '', '', '', '', '', '',
    CASE WHEN g %% 500 = 250 THEN t END,
    CASE WHEN g %% 500 = 250 THEN 'fake name' ELSE '' END
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT timestamptz '2024-01-01 00:00+00' + g * interval '20 s') AS s(t)
"""

# One letter each, held for hand-in; a personal one (every 50th) carries a body of
# about 170 words, the rest the short standard text.
LETTERS_SQL = """
INSERT INTO campaign_letter (
    signature_id, official_id, subject, body, status, own_words, attempts,
    last_error, message_id, bounce_code, bounce_diagnostic, created_at, updated_at)
SELECT s.id, %(official)s, 'About the library',
    CASE WHEN s.personal_paragraph <> ''
        THEN E'Dear Official 1,\\n\\n' || repeat('I have used this library all my '
             || 'life and so have my children, and it matters to us. ', 10)
             || E'\\n\\nYours sincerely,\\n\\n' || s.full_name
        ELSE E'Dear Official 1,\\n\\nPlease act.\\n\\n' || s.full_name END,
    'held', CASE WHEN s.personal_paragraph <> '' THEN 170 ELSE 0 END, 0,
    '', '', '', '', now(), now()
FROM campaign_signature AS s WHERE s.campaign_id = %(campaign)s
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="One run in cProfile.")
    add_database_arguments(parser, db="qp_bench_handin")
    return parser.parse_args()


def django_env(db_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DJANGO_DEBUG": "0",
        "EMAIL_ALLOW_TEST_SINK": "1",  # console mail, DEBUG off: on purpose
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "locmemcache://",
        "RATELIMIT_ENABLE": "0",  # benchmarks run without the abuse limits
        "MEDIA_ROOT": str(OUT / "media"),
    }


def load(args, env: dict) -> int:
    """Migrate and load; returns the official's id."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
        check=True,
    )  # fmt: skip
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from campaign.models import Campaign, DeliveryMode

    template, officials = bench_template_and_officials()
    campaign = Campaign.objects.create(
        slug=SLUG, title="Save the Central Library", status=Campaign.Status.LIVE,
        summary="Keep the Central Library open six days a week.",
        letter_template=template,
    )  # fmt: skip
    campaign.targets.set(
        officials, through_defaults={"delivery_mode": DeliveryMode.HAND_IN}
    )
    with connection.cursor() as cursor:
        cursor.execute(SIGNATURES_SQL, {"campaign": campaign.pk, "rows": args.rows})
        params = {"campaign": campaign.pk, "official": officials[0].pk}
        cursor.execute(LETTERS_SQL, params)
        cursor.execute("ANALYZE")  # statistics for the planner
    connection.close()
    return officials[0].pk


def check(zip_path, rows: int) -> dict:
    """The zip holds a CSV of every included supporter and a PDF whose last page
    is numbered as the total."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        pdf = archive.read(next(n for n in names if n.endswith(".pdf")))
        text = archive.read(next(n for n in names if n.endswith(".csv"))).decode()
    listed = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    excluded = sum(1 for g in range(1, rows + 1) if g % 500 == 250)
    if listed != rows - excluded:
        raise SystemExit(
            f"the CSV lists {listed:,} supporters, not {rows - excluded:,}"
        )
    pdf_path = OUT / "handin.pdf"
    pdf_path.write_bytes(pdf)
    info = subprocess.run(
        ["pdfinfo", str(pdf_path)], capture_output=True, text=True, check=True
    ).stdout
    pages = int(
        next(
            line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")
        )
    )
    last = subprocess.run(
        ["pdftotext", "-f", str(pages), "-l", str(pages), str(pdf_path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if f"Page {pages:,} of {pages:,}" not in last:
        raise SystemExit("the last page is not numbered as the total")
    return {"supporters": listed, "pdf_pages": pages, "pdf_bytes": len(pdf),
            "zip_bytes": zip_path.stat().st_size}  # fmt: skip


def profile(official: int, zip_path) -> str:
    """One build in this process under cProfile: the top of the cumulative list."""
    from django.core.management import call_command

    profiler = cProfile.Profile()
    profiler.enable()
    call_command(
        "handin_pack", SLUG, "--official", str(official), "--output", str(zip_path),
        stderr=io.StringIO(),
    )  # fmt: skip
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> None:
    args = parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db_url = f"{args.server}/{args.db}"
    admin_sql(
        args.server,
        f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)',
        f'CREATE DATABASE "{args.db}"',
    )
    env = django_env(db_url)
    try:
        print(f"loading {args.rows:,} supporters into {args.db} ...", flush=True)
        official = load(args, env)
        zip_path = OUT / "handin.zip"
        command = [
            PYTHON, "manage.py", "handin_pack", SLUG, "--official", str(official),
            "--output", str(zip_path),
        ]  # fmt: skip
        times, cpu, peaks, loads = [], [], [], []
        for run in range(args.runs):
            with (OUT / "handin-progress.txt").open("wb") as err:
                elapsed, usage = run_child_usage(command, env, err)
            times.append(elapsed)
            cpu.append(usage.ru_utime + usage.ru_stime)
            peaks.append(usage.ru_maxrss * 1024)  # Linux reports KiB
            loads.append(round(os.getloadavg()[0], 2))
            mb = peaks[-1] / 2**20
            print(f"run {run + 1}: {elapsed:.1f} s ({cpu[-1]:.1f} s CPU), peak RSS "
                  f"{mb:.0f} MB, load {loads[-1]}", flush=True)  # fmt: skip
        report = {
            "rows": args.rows,
            **check(zip_path, args.rows),
            "seconds": [round(t, 2) for t in times],
            "median_seconds": round(statistics.median(times), 2),
            "cpu_seconds": [round(t, 2) for t in cpu],
            "median_cpu_seconds": round(statistics.median(cpu), 2),
            "peak_rss_mb": [round(p / 2**20, 1) for p in peaks],
            "median_peak_rss_mb": round(statistics.median(peaks) / 2**20, 1),
            "goal_met": statistics.median(times) <= GOAL_SECONDS
            and statistics.median(peaks) <= GOAL_RSS,
            "load_average_1min": loads,
        }
        if args.profile:
            report["profile"] = profile(official, zip_path)
    finally:
        from django.conf import settings
        from django.db import connections

        if settings.configured:
            connections.close_all()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    profile_text = report.pop("profile", None)
    (OUT / "handin.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if profile_text:
        print(profile_text)


if __name__ == "__main__":
    sys.exit(main())
