"""The pieces bench/load.py (and bench/profile_requests.py) are built from: the
site's environment and data, wrk, an open-loop client, and the stored-rows check.
Every request goes to 127.0.0.1, and every run is bounded in time."""

import asyncio
import json
import statistics
import subprocess
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import psycopg2
import redis
from benchlib import OUT, PYTHON, ROOT, admin_sql, django_env

LUA = ROOT / "bench" / "load.lua"
# What a supporter types; bench/load.lua and open_loop() add a new email each time.
SIGN_FIELDS = {
    "full_name": "Bench Signer",
    "postcode": "N1 9GU",
    "consent_to_send": "on",
    "sign": "1",
}


def site_env(*, db_url: str, redis_url: str, port: int) -> dict:
    """Production settings on loopback: DEBUG off, PostgreSQL, Redis for the cache
    and the broker (nothing consumes the queue; load.py flushes it at the end)."""
    return django_env(
        db_url,
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        CACHE_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        DJANGO_BEHIND_PROXY=None,
        LOG_LEVEL=None,  # one line per request, as deployed
        STATIC_ROOT=str(OUT / "static"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
    )


@contextmanager
def throwaway_site(args, *, port: int):
    """The site's data for one bench run: its own database (--db, dropped and
    re-created; dropped again at the end unless --keep), migrated, with the demo
    campaign and collected static files (the manifest storage needs them with
    DEBUG off); and its own Redis db (--redis: must be empty; flushed at the
    end). Yields the database URL and the site's environment."""
    broker = redis.Redis.from_url(args.redis)
    if broker.dbsize():
        raise SystemExit(f"{args.redis} is not empty: pick another --redis db.")
    db_url = f"{args.server}/{args.db}"
    drop = f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)'
    admin_sql(args.server, drop, f'CREATE DATABASE "{args.db}"')
    env = site_env(db_url=db_url, redis_url=args.redis, port=port)
    try:
        for command in ("migrate --noinput", "load_demo", "collectstatic --noinput"):
            subprocess.run(
                [PYTHON, "manage.py", *command.split(), "-v0"],
                cwd=ROOT, env=env, check=True, timeout=600,
            )  # fmt: skip
        yield db_url, env
    finally:
        broker.flushdb()
        if not args.keep:
            admin_sql(args.server, drop)


class _SignFormFields(HTMLParser):
    """The fields a browser submits from the page's #sign-form, as it shows them:
    hidden and text inputs with their values, ticked boxes, textareas' text (the
    campaign's letter), the submit button pressed. No email: each POST adds one."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "sign-form"
        elif not self._in_form or not a.get("name"):
            return
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        elif tag == "input" and a.get("type") not in ("checkbox", "radio", "email"):
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "input" and "checked" in a:
            self.fields.append((a["name"], a.get("value") or "on"))
        elif tag == "button" and a["name"] == "sign":
            self.fields.append((a["name"], a.get("value") or ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def sign_form(base: str, path: str) -> tuple[str, str]:
    """One visitor's CSRF cookie and filled-in form, fetched once and reused by
    every POST (Django accepts a token with its cookie as often as it is sent):
    returns the Cookie header and the form body without an email. The body is
    what a browser sends, the campaign's letter included (about 4 kB)."""
    with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie")
    cookie = next(c.split(";")[0] for c in cookies if c.startswith("csrftoken="))
    return cookie, urlencode(browser_form(page))


def browser_form(page: str) -> list[tuple[str, str]]:
    """The sign form's fields as a browser posts them from `page` (its CSRF token
    included), with SIGN_FIELDS typed in; no email."""
    parser = _SignFormFields()
    parser.feed(page)
    typed = {**SIGN_FIELDS}
    fields = [(name, typed.pop(name, value)) for name, value in parser.fields]
    return fields + list(typed.items())


def run_wrk(url: str, *lua_args: str, duration: int, connections: int, threads: int):
    """One closed-loop wrk run; its figures as load.lua prints them."""
    argv = [
        "wrk", f"--threads={threads}", f"--connections={connections}",
        f"--duration={duration}s", "--timeout=10s", f"--script={LUA}",
        url, "--", *lua_args,
    ]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=duration + 60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    figures = json.loads(line[4:])
    figures["req_per_s"] = round(figures["responses"] / figures["seconds"], 1)
    figures["errors"] = sum(
        figures[key] for key in ("unexpected", "socket_errors", "timeouts")
    )
    return figures


def percentiles(latencies_ms: list[float]) -> dict:
    """p50/p95/p99 by nearest rank; zeros when nothing was answered."""
    ordered = sorted(latencies_ms) or [0.0]

    def rank(q: float) -> float:
        return round(ordered[max(0, round(q * len(ordered)) - 1)], 2)

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99)}


async def _open_loop(url, emails, form, headers, rate, timeout):
    import aiohttp

    results = []  # (email, status or error name, latency in ms)

    async def one(session, email: str, due: float) -> None:
        data = f"{form}&email={quote(email)}".encode()
        try:
            async with session.post(
                url, data=data, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                outcome = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = type(exc).__name__
        # From when it was due, not when it went out: a client that falls behind
        # must not hide the server's latency (open loop).
        results.append((email, outcome, (loop.time() - due) * 1000))

    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        start = loop.time()
        tasks = []
        for n, email in enumerate(emails):
            due = start + n / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            tasks.append(asyncio.create_task(one(session, email, due)))
        sent_for = loop.time() - start
        await asyncio.gather(*tasks)
        finished_in = loop.time() - start
    return results, sent_for, finished_in


def open_loop(url: str, *, rate: float, duration: int, cookie: str, form: str,
              prefix: str, timeout: float = 10.0) -> dict:  # fmt: skip
    """Sign POSTs at a constant arrival rate for `duration` seconds, each one
    sent when due whatever the others are doing; waits for every answer (at most
    `timeout` seconds each)."""
    emails = [f"{prefix}-{n}@example.com" for n in range(int(rate * duration))]
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    outcome = _open_loop(url, emails, form, headers, rate, timeout)
    results, sent_for, finished_in = asyncio.run(outcome)
    accepted = [r for r in results if r[1] == 302]
    errors = [r for r in results if r[1] != 302]
    return {
        "sent": len(results),
        "offered_per_s": round(len(results) / max(sent_for, 1e-9), 1),
        "achieved_per_s": round(len(accepted) / finished_in, 1),
        "accepted": len(accepted),
        "errors": len(errors),
        "error_kinds": dict(Counter(str(r[1]) for r in errors)),
        **percentiles([r[2] for r in accepted]),
        "accepted_emails": {r[0] for r in accepted},
        "unanswered_emails": {r[0] for r in errors if not isinstance(r[1], int)},
    }


def stored_emails(db_url: str, prefix: str) -> set[str]:
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT email FROM campaign_signature WHERE email LIKE %s",
            [prefix.replace("_", r"\_") + "-%"],
        )
        emails = [row[0] for row in cur.fetchall()]
    conn.close()
    assert len(emails) == len(set(emails)), "an address stored twice"
    return set(emails)


def median_of(runs: list[dict]) -> dict:
    """Each numeric figure's median over the runs that have it."""
    median = {}
    for key in runs[0]:
        values = [run[key] for run in runs if isinstance(run.get(key), int | float)]
        if values:
            median[key] = round(statistics.median(values), 3)
    return median


def wait_for(url: str, *, seconds: float, within: float = 5.0) -> float | None:
    """Seconds until url answers 200 in under `within` seconds (the workers have
    booted; or, after an overload, have worked off what was queued); None if it
    does not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        asked = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=within) as response:  # noqa: S310
                if response.status == 200 and time.monotonic() - asked < within:
                    return round(time.monotonic() - start, 1)
        except OSError:
            pass
        time.sleep(0.3)
    return None
