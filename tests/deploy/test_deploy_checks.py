"""Production checks without the stack: `manage.py check --deploy` with the compose
environment, and /healthz (what the orchestrator probes)."""

import json
import os
import subprocess
import sys
import time

from django.test import Client

from tests.support.compose import ROOT, compose_env
from tests.support.processes import free_port

# --- manage.py check --deploy -----------------------------------------------------


def _check_deploy(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_check_deploy_passes_with_the_compose_environment():
    # Both runs at once: each is mostly Python start-up.
    clean = _check_deploy(compose_env())
    plain_http = _check_deploy(
        compose_env(
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_SECURE_COOKIES="0",
            DJANGO_SECURE_HSTS_SECONDS="0",
        )
    )
    out, _ = clean.communicate(timeout=60)
    assert clean.returncode == 0, out
    assert "no issues" in out
    # The same check does fail when the https settings are off.
    out, _ = plain_http.communicate(timeout=60)
    assert plain_http.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in out


# --- /healthz ------------------------------------------------------------------------


def test_healthz_ok_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_200_but_degraded_when_the_broker_port_is_closed(client, db, settings):
    """The web process still serves without Redis: the orchestrator must keep it
    (tests/deploy/test_redis_down.py stops a real Redis under a running site)."""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "cache": "ok",
        "broker": "down",
    }


def test_healthz_counts_only_the_database_in_eager_mode(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "eager"


def test_healthz_503_when_the_database_is_unreachable():
    """A separate process whose DATABASE_URL points at a closed port."""
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # The last line is the script's; the JSON log lines before it are the site's.
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status == "503", result.stdout + result.stderr
    assert json.loads(body) == {
        "status": "unavailable",
        "database": "down",
        "cache": "ok",
        "broker": "ok",
    }


def test_healthz_skips_the_https_redirect_that_everything_else_gets(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # built after the change: middleware reads settings at start
    assert client.get("/healthz").status_code == 200
    response = client.get("/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
