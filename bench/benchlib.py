"""What every benchmark here shares: its own throwaway PostgreSQL database, the
site under gunicorn with the project's own config/gunicorn.py, and the repository
root on the import path (a script run as a file has only bench/ there) for the
project's packages: campaign, config, tests.support."""

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable


def django_env(db_url: str, **overrides: str | None) -> dict:
    """The environment every bench runs the site with (in its own process, a
    worker's or gunicorn's): production settings (DEBUG off) on the bench's own
    database, mail to the console (allowed with DEBUG off: quillpost.E001 would
    stop migrate), no broker (tasks run in the process), a process-memory cache,
    the abuse limits off (one client address sends everything), warnings only.
    `overrides` adds or replaces variables; None removes one (the default then)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": db_url,
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DJANGO_DEBUG": "0",
        "EMAIL_ALLOW_TEST_SINK": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_BEHIND_PROXY": "0",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "locmemcache://",
        "RATELIMIT_ENABLE": "0",
        **overrides,
    }
    return {name: value for name, value in env.items() if value is not None}


def setup_django(env: dict, *, migrate: bool = False) -> None:
    """Django in this process with `env` (from django_env), after `manage.py
    migrate` in a child process if asked."""
    if migrate:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    os.environ.update(env)
    import django

    django.setup()


def add_database_arguments(parser: argparse.ArgumentParser, *, db: str) -> None:
    parser.add_argument("--db", default=db, help="Dropped and re-created.")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database name.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database.")


def admin_sql(server: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE) outside a transaction."""
    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(env: dict, port: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    """Start `gunicorn --config config/gunicorn.py config.wsgi` on 127.0.0.1:port
    (extra options after the config's own); return once it accepts connections."""
    argv = [
        PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.py",
        "--bind", f"127.0.0.1:{port}", *extra, "config.wsgi",
    ]  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"gunicorn-{port}.log"  # config/gunicorn.py logs to stdout
    with log.open("wb") as sink:
        server = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, log
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen, log: Path) -> str:
    """Stop gunicorn; return (and remove) its log."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    text = log.read_text(errors="replace")
    log.unlink()
    return text


def run_child(argv: list[str], env: dict, stderr) -> tuple[float, int]:
    """Wall time and peak RSS (bytes, from wait4()'s rusage) of one child process."""
    elapsed, usage = run_child_usage(argv, env, stderr)
    return elapsed, usage.ru_maxrss * 1024  # Linux reports KiB


def run_child_usage(argv: list[str], env: dict, stderr):
    """Wall time and the whole resource usage (CPU seconds, peak RSS in KiB) of
    one child process: on a shared machine its CPU time varies less than its
    wall time."""
    started = time.monotonic()
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=stderr)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{argv} exited with {child.returncode}")
    return elapsed, usage


def bench_template_and_officials():
    """The letter template and the two officials every bench campaign writes to
    (call after django.setup(); officials' addresses are example.org)."""
    from campaign.models import Official
    from letters.models import LetterTemplate

    template = LetterTemplate.objects.create(
        name="Bench", subject_template="About", body_template="Dear {{ official.name }}"
    )
    officials = [
        Official.objects.create(
            name=f"Official {i}",
            position="Minister",
            salutation=f"Dear Official {i}",
            email=f"official{i}@example.org",
        )
        for i in (1, 2)
    ]
    return template, officials
