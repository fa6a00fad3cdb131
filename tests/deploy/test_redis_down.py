"""Redis stopped under a running site (issue 12): gunicorn, as deployed, with
CACHE_URL and CELERY_BROKER_URL on a private Redis. With Redis gone the site keeps
serving pages, taking and confirming signatures (per-IP limits still holding, per
process) and the admin log-in, and /healthz stays 200, all quickly; once Redis is
back the worker and the sweeper deliver everything that waited in the outbox."""

import os
import sys
import time
import uuid

import pytest

from campaign.models import ConfirmationEmail, Letter, Signature
from campaign.models.campaigns import CampaignTarget
from campaign.official_pages import official_page_token
from tests.support.http import (
    closing_connections,
    forms_of,
    local_session,
    submit,
    wait_for_http,
)
from tests.support.processes import (
    LiveProcess,
    celery_beat,
    celery_worker,
    free_port,
    json_lines,
    stop_together,
)
from tests.support.waiting import wait_until
from tests.support.worker import WORKER_TEST_ENV, database_url

SIGN_LIMIT = 3
# Generous for a 2-core machine shared with other test runs; a request that waited
# on a connection to a stopped Redis would still pay well under this (it fails
# fast), but one that hung on it would not. The admin login is left out: it
# hashes a password on purpose slowly, which under load alone can take a second.
FAST = 2.0
LONG_ENOUGH = " ".join(["Our library is the only warm place many of us have."] * 3)


def _site_env(redis, smtp, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_BEHIND_PROXY": "0",
        "REDIS_RETRY_SECONDS": "1",
        # The limits stay on (counted per process while Redis is away); the form
        # is posted at once.
        "RATELIMIT_ENABLE": "1",
        "SIGN_MIN_SECONDS": "0",
        "SIGN_RATE_LIMIT": f"{SIGN_LIMIT}/300s",
    }


class Visitor:
    """A requests session on the site that times and records every response."""

    def __init__(self, base: str) -> None:
        self.base, self.session = base, closing_connections(local_session())
        self.responses = []  # (seconds, response), redirects included

    def _timed(self, call, *args, **kwargs):
        started = time.monotonic()
        response = call(*args, **kwargs)
        self.responses.append((time.monotonic() - started, response))
        return response

    def get(self, path: str):
        return self._timed(self.session.get, self.base + path, timeout=10)

    def submit(self, page, form, **values):
        return self._timed(submit, self.session, page, form, **values)

    def sign(self, slug: str, name: str):
        page = self.get(f"/campaigns/{slug}/")
        [form] = [f for f in forms_of(page) if "full_name" in f.fields]
        email = f"{name.lower()}@example.com"
        form.fields.update(
            full_name=name, email=email, postcode="NW1 6XE", town="Marylebone",
            personal_paragraph=LONG_ENOUGH,
        )  # fmt: skip
        form.inputs["consent_to_send"].checked = True
        return self.submit(page, form, sign="1")


@pytest.mark.django_db(transaction=True)
def test_site_stays_up_while_redis_is_down_and_delivers_once_it_is_back(
    campaign, smtp, private_redis, tmp_path
):
    port = free_port()
    env = _site_env(private_redis, smtp, port)
    argv = [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py"]
    web = LiveProcess(
        "web",
        [*argv, "--bind", f"127.0.0.1:{port}", "--workers", "1", "config.wsgi"],
        env=env,
        log_path=tmp_path / "web.log",
    )
    worker = celery_worker(
        {**env, **WORKER_TEST_ENV},
        tmp_path / "worker.log",
        concurrency=1,
        extra=(f"--hostname=redisdown-{uuid.uuid4().hex[:8]}@%h",),
    )
    beat = celery_beat({**env, **WORKER_TEST_ENV}, tmp_path / "beat.log")
    processes = (beat, worker, web)
    visitor = Visitor(f"http://127.0.0.1:{port}")
    try:
        for process in processes:  # all three start up at once, Redis up
            process.start(wait=False)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/healthz")
        assert visitor.get("/").status_code == 200  # Redis up: warm the process
        worker.wait_for_log(worker.ready)
        beat.wait_for_log(beat.ready)

        private_redis.stop()
        visitor.responses.clear()
        assert visitor.get("/").status_code == 200
        assert visitor.get(f"/campaigns/{campaign.slug}/").status_code == 200
        names = ["Ada", "Grace", "Edsger", "Barbara"]
        signed = [visitor.sign(campaign.slug, name) for name in names]
        assert [r.status_code for r in signed] == [200] * SIGN_LIMIT + [429]
        assert all(r.url.endswith("/signed/") for r in signed[:SIGN_LIMIT])
        assert "Too many signatures from your connection" in signed[-1].text
        assert Signature.objects.count() == SIGN_LIMIT
        pending = ConfirmationEmail.objects.filter(status="pending")
        assert pending.count() == SIGN_LIMIT  # nothing lost: waiting for the broker

        ada = Signature.objects.get(email="ada@example.com")
        confirm_page = visitor.get(f"/confirm/{ada.token}/")
        assert confirm_page.status_code == 200
        [form] = [f for f in forms_of(confirm_page) if "/confirm/" in (f.action or "")]
        assert visitor.submit(confirm_page, form).status_code == 200
        ada.refresh_from_db()
        assert ada.confirmed_at is not None
        assert Letter.objects.filter(status="pending").count() == 2

        target = CampaignTarget.objects.filter(campaign=campaign).first()
        official = visitor.get(f"/officials/{official_page_token(target=target)}/")
        assert official.status_code == 200

        # The admin lockout counts in the database: a wrong password is just that.
        login = visitor.get("/admin/login/")
        [form] = forms_of(login)
        wrong = visitor.submit(login, form, username="organiser", password="nope")
        assert wrong.status_code == 200
        assert "correct username and password" in wrong.text

        health = visitor.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {
            "status": "degraded",
            "database": "ok",
            "cache": "down",
            "broker": "down",
        }
        statuses = [
            (r.request.method, r.url, r.status_code)
            for _, response in visitor.responses
            for r in [*response.history, response]
        ]
        assert not [s for s in statuses if s[2] >= 500], statuses
        slow = [
            (round(t, 3), r.url)
            for t, r in visitor.responses
            if t > FAST and "/admin/login/" not in r.url
        ]
        assert not slow, slow
        # Noticed once, said once: no traceback per request.
        lines = [line["message"] for line in json_lines(web.log())]
        assert sum("Cache (Redis) unreachable" in m for m in lines) == 1, lines
        assert sum("Broker (Redis) unreachable" in m for m in lines) == 1, lines

        # Redis is back (empty, as after a lost cache): the site uses it again,
        # and the worker and the sweeper deliver what waited in the outbox.
        private_redis.start()
        emails = {"ada", "grace", "edsger"}
        # The first ones: Ada's receipt (beat) may follow once her letters are
        # recorded sent.
        messages = smtp.wait_for(SIGN_LIMIT + 2, timeout=60)[: SIGN_LIMIT + 2]
        to = sorted(m["To"].addresses[0].addr_spec for m in messages)
        officials = sorted(campaign.targets.values_list("email", flat=True))
        assert to == sorted([*(f"{n}@example.com" for n in emails), *officials])
        # The server's "250" comes just before the worker records the send.
        wait_until(
            lambda: (
                not ConfirmationEmail.objects.exclude(status="sent").exists()
                and not Letter.objects.exclude(status="sent").exists()
            ),
            10,
            "every email recorded sent",
        )
        health = visitor.get("/healthz").json()
        assert (health["status"], health["cache"], health["broker"]) == ("ok",) * 3
        # The web process uses Redis again once its retry interval has passed.
        cache_back = private_redis.client(db=1)
        wait_until(
            lambda: visitor.get(f"/campaigns/{campaign.slug}/") and cache_back.dbsize(),
            10,
            "the campaign page to cache its count in Redis again",
        )
        cache_back.close()
    finally:
        visitor.session.close()
        stop_together(processes)
    served = [line for line in json_lines(web.log()) if "status" in line]
    assert served and not [line for line in served if line["status"] >= 500]
