"""Benchmark: CSV export of 1,000,000 signatures, beside `psql \\copy`.

    .venv/bin/python bench/export.py                 # 1M rows, 3 runs each, web too
    .venv/bin/python bench/export.py --rows 100000 --runs 1 --no-web   # a quick look

It creates its own PostgreSQL database (default qp_bench_export; dropped at the end
unless --keep), migrates it, loads the rows with one INSERT ... SELECT over
generate_series (hostile names, quotes, newlines and non-ASCII included), sets the
signatures' letter counts from the letters loaded (signatures_letters_recount)
and compacts the table (VACUUM FULL), and then,
in the same run and alternating so neither gets a warmer cache:

- `psql -c "\\copy (<the signature columns the CSV carries>) TO file CSV HEADER"`,
  the plain floor the goal is measured against (issue 14: within 3×): every
  signature column the CSV shows, as stored (the letter counts are columns too,
  the campaign by its id), no formatting, no order;
- `psql -c "\\copy (<the exporter's own SELECT>) TO file CSV HEADER"`, with the
  exporter's settings (exports.COPY_SETTINGS): the export's own query, so what the
  command adds to it shows;
- `manage.py export_signatures <slug> --status all --output file` as a subprocess,
  its peak RSS taken from wait4()'s rusage.

It checks the command's file is byte for byte psql's of the same query (both are
PostgreSQL's COPY) and that no cell starts a formula, then (unless --no-web)
streams the same export through gunicorn with the project's config/gunicorn.py
(gthread workers) to measure the web rate, and shows why: what a timeout
shorter than the export does to a sync worker's download and to a gthread
worker's.
Figures go to stdout and bench/out/export.json.
"""

import argparse
import csv
import filecmp
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from benchlib import (
    ROOT,
    add_database_arguments,
    admin_sql,
    bench_template_and_officials,
    django_env,
    run_child,
    setup_django,
)

# The suite's process manager (benchlib has put the repository on the path).
from tests.support.processes import LiveProcess, free_port
from tests.support.waiting import wait_until

OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
SLUG = "bench-export"
FORMULA_TRIGGERS = "=+-@\t\r"
ROW_MARK = b"@example.com,"  # every row's email address, once


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    add_database_arguments(parser, db="qp_bench_export")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Use the database a --keep run left (skips the five-minute load).",
    )
    parser.add_argument("--no-web", action="store_true", help="Skip the gunicorn part.")
    return parser.parse_args()


SIGNATURES_SQL = """
INSERT INTO campaign_signature (
    campaign_id, full_name, email, email_normalised, postcode, town,
    personal_paragraph, letter_body, consent_to_send, keep_updated, status, token,
    token_created_at, created_at, confirmed_at, utm_source, utm_medium, utm_campaign,
    ref, referrer_host, client_ip_hash)
SELECT
    %(campaign)s,
    CASE
        WHEN g %% 1000 = 0 THEN '=HYPERLINK("http://x.example.org/' || g || '")'
        WHEN g %% 1000 = 1 THEN '+' || g
        WHEN g %% 1000 = 2 THEN '@SUM(A' || g || ')'
        WHEN g %% 1000 = 3 THEN E'\\tcmd ' || g
        WHEN g %% 97 = 0 THEN 'Zoë "Zed" Ångström-Łukasz, 中文 ' || g
        ELSE 'Signer Number ' || g
    END,
    'signer' || g || '@example.com',
    'signer' || g || '@example.com',
    'SW1A ' || (g %% 10) || 'AA',
    (ARRAY['London', 'Leeds', 'Cardiff', 'Glasgow', 'Belfast', ''])[g %% 6 + 1],
    CASE WHEN g %% 10 = 0
        THEN E'I care, "frankly", because\\nit matters to my family. #' || g
        ELSE '' END,
    '',
    g %% 50 <> 0,
    g %% 2 = 0,
    CASE WHEN g %% 20 = 0 THEN 'pending' ELSE 'confirmed' END,
    md5(g::text) || '-' || g,
    t, t,
    CASE WHEN g %% 20 = 0 THEN NULL ELSE t + interval '7 minutes' END,
    '', '', '', '', '', ''
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT timestamptz '2024-01-01 00:00+00' + g * interval '20 s') AS s(t)
"""

# Two letters per confirmed signature, as delivery leaves them: mostly sent, some
# failed, a few still pending.
LETTERS_SQL = """
INSERT INTO campaign_letter (
    status, attempts, last_error, next_attempt_at, claimed_at, sent_at, message_id,
    created_at, updated_at, signature_id, official_id, subject, body, own_words,
    bounce_code, bounce_diagnostic)
SELECT
    CASE WHEN s.id %% 53 = 0 AND o.n = 2 THEN 'failed'
         WHEN s.id %% 31 = 0 THEN 'pending' ELSE 'sent' END,
    1, '', NULL, NULL, s.confirmed_at, '', s.confirmed_at, s.confirmed_at,
    s.id, o.id, 'About the campaign', 'Dear Official, please act.', 0, '', ''
FROM campaign_signature s
CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n
            FROM campaign_official WHERE id = ANY(%(officials)s)) AS o
WHERE s.campaign_id = %(campaign)s AND s.status = 'confirmed'
"""


def load(args, db_url: str) -> dict:
    """Migrate, then load rows with SQL (the ORM row by row would take an hour)."""
    setup_django(django_env(db_url), migrate=True)
    from django.db import connection

    from campaign.models import Campaign, Letter
    from campaign.services.letter_counts import signatures_letters_recount

    if args.reuse:
        campaign = Campaign.objects.get(slug=SLUG)
        args.rows = campaign.signatures.count()
        return {"campaign": campaign, "letters": Letter.objects.count()}
    template, officials = bench_template_and_officials()
    campaign = Campaign.objects.create(
        slug=SLUG,
        title="Bench export",
        summary="Benchmark campaign.",
        status=Campaign.Status.LIVE,
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
        cur.execute("SELECT count(*) FROM campaign_letter")
        letters = cur.fetchone()[0]
        # Statistics of a million rows, not of the empty tables, for the next
        # statement's plan.
        cur.execute("ANALYZE campaign_signature, campaign_letter")
    # Letters written by SQL, not by the services: set the signatures' counts
    # from them, as the repair after hand-made changes does.
    signatures_letters_recount(signatures=campaign.signatures.all())
    connection.close()
    # Outside a transaction. FULL: the recount rewrote every signature row, and a
    # table twice its size would slow both sides; compacted, it is as signing
    # and sending leave it once autovacuum has caught up. ANALYZE: statistics for
    # the planner.
    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM FULL ANALYZE campaign_signature")
        cur.execute("VACUUM ANALYZE")
    conn.close()
    return {
        "campaign": campaign,
        "letters": letters,
        "load_seconds": round(time.monotonic() - started, 1),
    }


def export_sql(campaign) -> str:
    """The exporter's own SELECT, with its parameters inlined for psql."""
    from django.db import connection

    from campaign import export_filters, exports

    signatures = export_filters.signatures_for_export(campaign=campaign, status="all")
    sql, params = exports.export_sql(signatures)
    with connection.cursor() as cur:
        return cur.mogrify(sql, params).decode()


def plain_sql(campaign) -> str:
    """The signature columns the CSV carries, as stored (every one of them, the
    letter counts included; the campaign's id for its slug): the plain floor."""
    columns = (
        "campaign_id, created_at, confirmed_at, full_name, email, postcode, town, "
        "consent_to_send, keep_updated, personal_paragraph, status, utm_source, "
        "utm_medium, utm_campaign, ref, referrer_host, letters_delivered, "
        "letters_failed"
    )
    return f"SELECT {columns} FROM campaign_signature WHERE campaign_id = {campaign.pk}"  # noqa: S608


def run_psql(db_url: str, sql: str, target: Path, settings=()) -> float:
    command = f"\\copy ({sql}) TO '{target}' WITH (FORMAT csv, HEADER)"
    argv = ["psql", db_url, "-X", "-q"]
    for setting in settings:
        # psql runs each -c on its own (autocommit): SET, not SET LOCAL.
        argv += ["-c", setting.replace("SET LOCAL", "SET")]
    started = time.monotonic()
    subprocess.run([*argv, "-c", command], check=True)
    return time.monotonic() - started


def explain(db_url: str, sql: str, settings=()) -> list[str]:
    """EXPLAIN ANALYZE of the export's query, with its settings: where its time
    goes (the plan in the report)."""
    argv = ["psql", db_url, "-X", "-q", "-At"]
    for setting in settings:
        argv += ["-c", setting.replace("SET LOCAL", "SET")]
    argv += ["-c", f"EXPLAIN (ANALYZE, BUFFERS) {sql}"]
    result = subprocess.run(argv, check=True, capture_output=True, text=True)
    return result.stdout.splitlines()


def compare(psql_file: Path, export_file: Path) -> int:
    """Both files are the same bytes; no exported cell starts a formula."""
    if not filecmp.cmp(psql_file, export_file, shallow=False):
        raise SystemExit(f"{export_file} differs from {psql_file}")
    with export_file.open(newline="", encoding="utf-8") as b:
        ours = csv.reader(b)
        next(ours)
        rows = 0
        for row in ours:
            for cell in row:
                if cell[:1] in FORMULA_TRIGGERS and cell:
                    raise SystemExit(f"live formula in row {rows + 1}: {cell!r}")
            rows += 1
    return rows


def session_cookie() -> str:
    """A logged-in superuser's session, made directly (no password round trip)."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    get_user_model().objects.filter(username="bench-admin").delete()  # --reuse
    user = get_user_model().objects.create_superuser(
        "bench-admin", "bench@example.org", None
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def web_download(port: int, cookie: str) -> dict:
    """Stream /campaigns/<slug>/signatures.csv?status=all; note how it ends."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.monotonic()
    conn.request(
        "GET",
        f"/campaigns/{SLUG}/signatures.csv?status=all",
        headers={"Cookie": f"sessionid={cookie}"},
    )
    response = conn.getresponse()
    first_byte = None
    size = rows = 0
    tail = b""
    outcome = "complete"
    try:
        while chunk := response.read1(1 << 16):
            first_byte = first_byte or time.monotonic() - started
            size += len(chunk)
            # One address per row (fields may hold line breaks), counted
            # across the boundary between two reads too.
            seen = tail + chunk
            rows += seen.count(ROW_MARK)
            tail = seen[-(len(ROW_MARK) - 1) :]
    except http.client.IncompleteRead:
        outcome = "IncompleteRead: the client sees the download fail"
    except ConnectionError as exc:
        outcome = f"{type(exc).__name__}: the client sees the download fail"
    conn.close()
    return {
        "status": response.status,
        "transfer_encoding": response.getheader("Transfer-Encoding"),
        "seconds": round(time.monotonic() - started, 2),
        "first_byte_seconds": round(first_byte or 0, 3),
        "megabytes": round(size / 1e6, 1),
        "rows": rows,
        "outcome": outcome,
    }


def gunicorn(env: dict, port: int, *extra: str) -> LiveProcess:
    argv = [
        PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.py",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", *extra, "config.wsgi",
    ]  # fmt: skip
    # config/gunicorn.py logs to stdout.
    server = LiveProcess(
        "gunicorn", argv, env=env, log_path=OUT / f"gunicorn-{port}.log"
    ).start()

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until(listening, 30, f"gunicorn to listen on {port}", interval=0.2)
    except AssertionError:
        server.kill()
        raise
    return server


def stop(server: LiveProcess) -> str:
    server.stop(timeout=30)
    text = server.log()
    server.log_path.unlink()
    return text


def web(env: dict, cookie: str, rows: int) -> dict:
    results = {}
    # 1. As deployed: config/gunicorn.py's gthread worker and its timeout.
    port = free_port()
    server = gunicorn(env, port)
    try:
        results["deployed_default_timeout"] = web_download(port, cookie)
    finally:
        stop(server)
    full = results["deployed_default_timeout"]["seconds"]
    results["rows_per_second"] = round(rows / full)
    # 2. A sync worker whose timeout is shorter than the export: the arbiter kills
    #    it mid-stream. Does the client notice?
    short = max(1, int(full / 3))
    port = free_port()
    server = gunicorn(env, port, "--timeout", str(short), "--worker-class", "sync")
    try:
        cut = web_download(port, cookie)
    finally:
        text = stop(server)
    cut["timeout"] = short
    cut["arbiter_logged_worker_timeout"] = "WORKER TIMEOUT" in text
    results["sync_short_timeout"] = cut
    # 3. The same short timeout with a gthread worker: its main thread keeps the
    #    heartbeat going while another thread streams.
    port = free_port()
    server = gunicorn(env, port, "--timeout", str(short), "--worker-class", "gthread")
    try:
        results["gthread_short_timeout"] = web_download(port, cookie) | {
            "timeout": short
        }
    finally:
        stop(server)
    return results


def main() -> None:
    args = parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db_url = f"{args.server}/{args.db}"
    if not args.reuse:
        admin_sql(
            args.server,
            f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)',
            f'CREATE DATABASE "{args.db}"',
        )
    try:
        report = bench(args, db_url)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    (OUT / "export.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def bench(args, db_url: str) -> dict:
    if not args.reuse:
        print(f"loading {args.rows:,} signatures into {args.db} ...", flush=True)
    loaded = load(args, db_url)
    campaign = loaded.pop("campaign")
    sql, plain = export_sql(campaign), plain_sql(campaign)
    from campaign.exports import COPY_SETTINGS

    env = django_env(db_url)
    psql_file, export_file = OUT / "export-psql.csv", OUT / "export-command.csv"
    command = [
        PYTHON, "manage.py", "export_signatures", SLUG,
        "--status", "all", "--output", str(export_file),
    ]  # fmt: skip

    # Django start-up alone (an unknown slug fails right after it): part of every
    # command run, so say how much.
    startup = []
    psql_times, plain_times, export_times, peaks = [], [], [], []
    plain_file = OUT / "export-plain.csv"
    load_at_start = os.getloadavg()[0]
    run_psql(db_url, sql, psql_file, COPY_SETTINGS)  # warm the cache for all
    progress_log = OUT / "export-progress.txt"
    for _ in range(args.runs):
        plain_times.append(run_psql(db_url, plain, plain_file))
        psql_times.append(run_psql(db_url, sql, psql_file, COPY_SETTINGS))
        with progress_log.open("wb") as err:
            elapsed, peak = run_child(command, env, err)
        export_times.append(elapsed)
        peaks.append(peak)
        startup.append(
            time_startup(
                [PYTHON, "manage.py", "export_signatures", "no-such-slug"], env
            )
        )
    # The same command on one day's rows (4,319): if memory grew with the row
    # count, the full export's peak would stand well above this one's.
    small = [*command[:-1], str(OUT / "export-one-day.csv"), "--until", "2024-01-01"]
    _, small_peak = run_child(small, env, subprocess.DEVNULL)
    rows = compare(psql_file, export_file)
    size = export_file.stat().st_size
    if not args.keep:  # 300 MB of CSV per run
        for path in (psql_file, plain_file, export_file, OUT / "export-one-day.csv"):
            path.unlink()
    psql_s, export_s = statistics.median(psql_times), statistics.median(export_times)
    plain_s = statistics.median(plain_times)
    report = {
        "signatures": args.rows,
        "rows_exported": rows,
        **loaded,
        "bytes": size,
        "plain_copy_seconds": round(plain_s, 2),
        "psql_copy_seconds": round(psql_s, 2),
        "export_command_seconds": round(export_s, 2),
        "ratio_to_plain": round(export_s / plain_s, 2),
        "ratio": round(export_s / psql_s, 2),
        "django_startup_seconds": round(statistics.median(startup), 2),
        "export_peak_rss_mb": round(max(peaks) / 1e6, 1),
        "one_day_export_peak_rss_mb": round(small_peak / 1e6, 1),
        # Other work on the machine slows both sides alike; say how busy it was.
        "load_average_1min_at_start": round(load_at_start, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "explain_export_query": explain(db_url, sql, COPY_SETTINGS),
        "runs": {
            "plain": plain_times,
            "psql": psql_times,
            "export": export_times,
            "rss": peaks,
        },
        # tqdm redraws with \r: keep its last state.
        "progress_last_line": progress_log.read_bytes().decode().split("\r")[-1],
    }
    print(
        f"psql \\copy plain columns {plain_s:.2f}s, of the export's query "
        f"{psql_s:.2f}s; export_signatures {export_s:.2f}s (ratio to plain "
        f"{report['ratio_to_plain']}, to the query {report['ratio']}), "
        f"peak RSS {report['export_peak_rss_mb']} MB",
        flush=True,
    )
    if not args.no_web:
        report["web"] = web(env, session_cookie(), rows)
    return report


def time_startup(argv: list[str], env: dict) -> float:
    started = time.monotonic()
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
