"""Where a campaign page view and a sign POST spend their time (issue 12).

    .venv/bin/python bench/profile_requests.py               # 300 of each
    .venv/bin/python bench/profile_requests.py -n 100

In-process, through Django's test client (the whole middleware stack, the view,
templates and queries; no HTTP server), against the same set-up as bench/load.py:
its own PostgreSQL database (default bench_profile) with the demo campaign, DEBUG
off, Redis as cache and broker (default db 13, flushed at the end), CSRF enforced.
It reports:

- the queries of one page GET (a first-time visitor: no cookie) and of one sign
  POST (a new address), with their SQL;
- without a profiler, round by round (so that figures compared share the
  machine's load): the median time of each, and of hello-world (the ratios of
  bench/load.py, minus gunicorn and the network); the page view alone, warm
  (from the page cache) and cold; the sign service alone, and its task
  publishing alone;
- pyinstrument (bench/profile_areas.py) over n of each: the time per request
  inside each named area, nested as the calls are, and the call tree. Like
  cProfile, it slows code made of many small calls (template rendering) about
  twofold, so its shares overstate rendering: the parts timed without it are
  the ones to quote in milliseconds.

Figures go to stdout, bench/out/profile.json and bench/out/profile-*.txt.
"""

import argparse
import json
import logging
import os
import statistics
import time
from collections import defaultdict
from urllib.parse import urlencode

from benchlib import OUT, add_database_arguments, setup_django
from loadlib import SIGN_FIELDS, browser_form, throwaway_site
from profile_areas import profiled


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="Requests of each kind.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    add_database_arguments(parser, db="bench_profile")
    return parser.parse_args()


def setup_quiet_django(env: dict) -> None:
    setup_django(env)
    # One JSON line per request, as in production, but not onto this report.
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (for the process)


class Requests:
    """The three requests bench/load.py makes, as callables of one test client."""

    def __init__(self) -> None:
        from django.test import Client

        from campaign.demo import DEMO_SLUG

        self.page_url = f"/campaigns/{DEMO_SLUG}/"
        self.visitor = Client()
        self.signer = Client(enforce_csrf_checks=True)
        page = self.signer.get(self.page_url)  # the CSRF cookie and the form
        self.form = browser_form(page.content.decode())
        self.n = 0

    def hello(self):
        return self.visitor.get("/bench/hello"), 200

    def page(self):
        self.visitor.cookies.clear()  # a first-time visitor, as wrk's are
        return self.visitor.get(self.page_url), 200

    def sign(self):
        self.n += 1
        data = [*self.form, ("email", f"profile-{time.time_ns()}-{self.n}@example.com")]
        # Form-encoded, as browsers and wrk send it (the test client's default,
        # multipart, costs the CSRF check several times as much to parse).
        body = urlencode(data)
        form = "application/x-www-form-urlencoded"
        return self.signer.post(self.page_url, body, content_type=form), 302


def call(request) -> None:
    response, expected = request()
    assert response.status_code == expected, (response.status_code, expected)


def queries_of(request) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call(request)
    return [q["sql"] for q in captured.captured_queries]


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def timings(probes: list, n: int) -> dict:
    """Each probe returns {part: ms} for one round; the rounds interleave the
    probes, so figures compared with each other share the machine's load (other
    work on it comes and goes). Median and mean of each part over n rounds."""
    samples = defaultdict(list)
    for _ in range(n):
        for probe in probes:
            for part, ms in probe().items():
                samples[part].append(ms)
    return {
        part: {
            "median_ms": round(statistics.median(values), 2),
            "mean_ms": round(statistics.mean(values), 2),
        }
        for part, values in samples.items()
    }


def requests_probe(requests: Requests):
    """The three requests, whole, through the test client."""

    def probe() -> dict:
        times = {}
        for name in ("hello", "page", "sign"):
            start, cpu = time.perf_counter(), time.process_time()
            call(getattr(requests, name))
            times[name] = ms_since(start)
            # This process's CPU (all its threads): what other work on the
            # machine moves least.
            times[f"{name}_cpu"] = (time.process_time() - cpu) * 1000
        return times

    return probe


def page_probe():
    """The page view alone (no middleware), warm (from the page cache: two Redis
    round trips, the slots filled in) and cold (its cache entry removed first:
    the queries, the letter previews, the form and the rendering)."""
    from django.contrib.auth.models import AnonymousUser
    from django.core.cache import cache
    from django.test import RequestFactory

    from campaign import page_cache
    from campaign.demo import DEMO_SLUG
    from campaign.views import campaign_detail

    def view():
        request = RequestFactory().get(f"/campaigns/{DEMO_SLUG}/")
        request.user = AnonymousUser()  # for the auth context processor
        return campaign_detail(request, slug=DEMO_SLUG)

    def probe() -> dict:
        view()  # cached now
        start = time.perf_counter()
        view()
        times = {"page_view_warm": ms_since(start)}
        cache.delete(page_cache._page_key(DEMO_SLUG))
        page_cache._local.clear()  # this process's copy too
        start = time.perf_counter()
        view()
        times["page_view_cold"] = ms_since(start)
        return times

    return probe


def sign_probe():
    """The sign POST's service alone: campaign_sign() (its queries, the email
    rendered, COMMIT, the task published on commit), and the publishing alone.
    The rest of a POST is the view, the form and the middleware."""
    from itertools import count

    from campaign.demo import DEMO_SLUG
    from campaign.models import Campaign
    from campaign.services.delivery import confirmation_enqueue
    from campaign.services.signing import campaign_sign

    campaign = Campaign.objects.select_related("letter_template").get(slug=DEMO_SLUG)
    numbers = count()
    fields = {name: SIGN_FIELDS[name] for name in ("full_name", "postcode")}

    def probe() -> dict:
        email = f"parts-{time.time_ns()}-{next(numbers)}@example.com"
        start = time.perf_counter()
        campaign_sign(campaign=campaign, email=email, consent_to_send=True, **fields)
        times = {"campaign_sign": ms_since(start)}
        start = time.perf_counter()
        # A task for a row that does not exist: no worker runs, and the queue
        # is flushed at the end.
        confirmation_enqueue(confirmation_id=0)
        times["publish_alone"] = ms_since(start)
        return times

    return probe


def main() -> None:
    args = parse_args()
    with throwaway_site(args, port=0) as (_db_url, env):
        setup_quiet_django(env)
        try:
            report = measure(args)
        finally:
            from django.db import connections

            connections.close_all()
    OUT.mkdir(exist_ok=True)
    (OUT / "profile.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def measure(args) -> dict:
    requests = Requests()
    kinds = {"hello": requests.hello, "page": requests.page, "sign": requests.sign}
    for request in kinds.values():  # warm-up: imports, templates, connections
        for _ in range(20):
            call(request)
    report = {"queries": {}, "timing": {}, "profile": {}}
    for name in ("page", "sign"):
        sql = queries_of(kinds[name])
        report["queries"][name] = {"count": len(sql), "sql": [s[:160] for s in sql]}
    probes = [requests_probe(requests), page_probe(), sign_probe()]
    report["timing"] = timings(probes, args.n)
    hello = report["timing"]["hello"]["median_ms"]
    hello_cpu = report["timing"]["hello_cpu"]["median_ms"]
    report["ratio_to_hello"] = {
        name: round(hello / report["timing"][name]["median_ms"], 3)
        for name in ("page", "sign")
    } | {
        f"{name}_cpu": round(
            hello_cpu / report["timing"][f"{name}_cpu"]["median_ms"], 3
        )
        for name in ("page", "sign")
    }
    for name in ("page", "sign"):
        report["profile"][name] = profiled(lambda r=kinds[name]: call(r), args.n, name)
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    return report


if __name__ == "__main__":
    main()
