"""Smoke test: the compose stack's own commands (gunicorn, celery worker, celery
beat, Redis, the migrate step and the image build's collectstatic) run on this
machine, used through a pretend TLS proxy: serve, sign, confirm and deliver."""

import gzip
import json
import re
import shlex
import socket

import pytest
import redis
from django.core.management import call_command

from campaign import demo
from campaign.models import Letter
from tests.support.compose import (
    APP_SERVICES,
    compose_env,
    dockerfile_instructions,
    interpolate,
    load_compose,
    service_command,
)
from tests.support.http import (
    closing_connections,
    forms_of,
    local_session,
    proxied_session,
    submit,
    wait_for_http,
)
from tests.support.processes import ProcessStack, free_port
from tests.support.worker import database_url


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match[1]) if match else 0


@pytest.mark.django_db(transaction=True)
def test_compose_stack_serves_signs_confirms_and_delivers(smtp, tmp_path):
    # What earlier tests' live servers committed (a pending confirmation email)
    # would be this stack's sweeper's to send: it starts on an empty database.
    call_command("flush", interactive=False, verbosity=0)
    services = load_compose()["services"]
    redis_port, web_port = free_port(), free_port()
    static_root = tmp_path / "static"
    # The containers' environment as compose builds it from .env.example; only the
    # addresses of this machine's services replace compose's host names.
    local = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "STATIC_ROOT": str(static_root),
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "WEB_CONCURRENCY": "2",
        "LOAD_DEMO": "1",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        "SIGN_MIN_SECONDS": "0",  # posts at once; the per-IP limits stay on
        "HOSTNAME": socket.gethostname(),  # the worker healthcheck's node name
    }
    env = {name: compose_env(name, **local) for name in APP_SERVICES}
    site_url = env["web"]["SITE_URL"]
    host = env["web"]["DJANGO_ALLOWED_HOSTS"].split(",")[0]
    stack = ProcessStack(tmp_path)
    # Each answer closes its connection, so that gunicorn stops at once at the
    # end (tests/support/http.closing_connections).
    browser = closing_connections(proxied_session(site_url, web_port))
    direct = closing_connections(local_session())
    try:
        # redis: the service's own flags; only where it listens and writes differ.
        stack.start(
            "redis",
            [*services["redis"]["command"], "--port", str(redis_port),
             "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
            env=env["web"],
        )  # fmt: skip
        # The image build's collectstatic, with nothing but the Dockerfile's own
        # variables (no database, no broker), beside the migrate service.
        build = next(
            args for op, args in dockerfile_instructions()
            if op == "RUN" and "collectstatic" in args
        )  # fmt: skip
        words = shlex.split(build)
        assignments = dict(w.split("=", 1) for w in words if re.match(r"\w+=", w))
        build_env = {
            "PATH": env["web"]["PATH"],
            **assignments,
            "STATIC_ROOT": str(static_root),
        }
        stack.start("collectstatic", words[len(assignments) :], build_env)
        stack.start("migrate", service_command(services["migrate"]), env["migrate"])
        stack["collectstatic"].finish()
        stack["migrate"].finish()
        assert "demo campaign" in stack["migrate"].log()
        # Redis runs with the compose flags: it never evicts, and it persists.
        broker = redis.Redis(port=redis_port)
        assert broker.config_get("maxmemory-policy") == {
            "maxmemory-policy": "noeviction"
        }
        assert broker.config_get("appendonly") == {"appendonly": "yes"}
        broker.close()

        for name in ("web", "worker", "beat"):
            stack.start(name, service_command(services[name]), env[name])
        wait_for_http(f"http://127.0.0.1:{web_port}/healthz", headers={"Host": host})
        stack["worker"].wait_for_log("ready.")
        # The compose healthchecks, run while the site is in use.
        web_check = stack.start(
            "web-healthcheck", services["web"]["healthcheck"]["test"][1:], env["web"]
        )
        worker_check = stack.start(
            "worker-healthcheck",
            ["sh", "-c", interpolate(services["worker"]["healthcheck"]["test"][1], {})],
            env["worker"],
        )

        home = browser.get(site_url + "/")
        assert home.status_code == 200
        assert home.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert "default-src 'self'" in home.headers["Content-Security-Policy"]
        assert home.headers["X-Content-Type-Options"] == "nosniff"
        assert home.headers["Referrer-Policy"] == "same-origin"
        assert home.headers["X-Frame-Options"] == "DENY"
        # Without the proxy's header, the site sends the browser to https.
        plain = direct.get(
            f"http://127.0.0.1:{web_port}/",
            headers={"Host": host},
            allow_redirects=False,
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"{site_url}/"

        campaign_path = f"/campaigns/{demo.DEMO_SLUG}/"
        assert f'href="{campaign_path}"' in home.text
        page = browser.get(site_url + campaign_path)
        assert page.status_code == 200
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
        assert stylesheets
        for href in stylesheets:
            assert re.fullmatch(r"/static/.+\.[0-9a-f]{12}\.css", href), href
            css = browser.get(
                site_url + href, headers={"Accept-Encoding": "gzip"}, stream=True
            )
            assert css.status_code == 200
            assert css.headers["Content-Encoding"] == "gzip"
            assert css.headers["Content-Type"].startswith("text/css")
            cache_control = css.headers["Cache-Control"]
            assert "immutable" in cache_control
            assert _max_age(cache_control) >= 365 * 24 * 3600
            assert gzip.decompress(css.raw.read(decode_content=False))
            css.close()  # a streamed response's connection back to the session

        [sign_form] = [f for f in forms_of(page) if "full_name" in f.fields]
        signer = {
            "full_name": "Ottoline Smoketest",
            "email": "ottoline.smoketest@example.com",
            "postcode": "SW1A 1AA",
            "town": "Westminster",
            # Enough own words to be emailed on its own (not in the digest).
            "personal_paragraph": "My cousin was poisoned; please act. Our family "
            "still waits for anyone to answer for it, and every year without "
            "consequences tells the killers they may try again here.",
        }
        sign_form.inputs["consent_to_send"].checked = True
        signed = submit(browser, page, sign_form, **signer, sign="1")
        assert signed.status_code == 200, signed.text
        [confirmation] = smtp.wait_for(1)
        assert confirmation["To"].addresses[0].addr_spec == signer["email"]
        link = re.search(
            re.escape(site_url) + r"/confirm/\S+/", confirmation.get_content()
        )[0]
        confirm_page = browser.get(link)
        assert confirm_page.status_code == 200
        [confirm_form] = [
            f for f in forms_of(confirm_page) if "/confirm/" in (f.action or "")
        ]
        thanks = submit(browser, confirm_page, confirm_form)
        assert thanks.status_code == 200, thanks.text
        # The confirming POST's own id: the one its queued tasks carry.
        post_request_id = (thanks.history or [thanks])[0].headers["X-Request-ID"]

        officials = {o["email"] for o in demo.OFFICIALS}
        letters = smtp.wait_for(1 + len(officials))[1:]
        assert {m["To"].addresses[0].addr_spec for m in letters} == officials
        for message in letters:
            assert message["Reply-To"].addresses[0].addr_spec == signer["email"]
            assert signer["full_name"] in message["From"]
            assert signer["personal_paragraph"] in message.get_content()
        # The sink holds a letter a moment before the worker records and logs it.
        sent = Letter.objects.filter(signature__email=signer["email"])
        for letter_id in sent.values_list("id", flat=True):
            stack["worker"].wait_for_log(f'"letter {letter_id} (signature')

        assert web_check.wait(30) == 0, web_check.log()
        assert worker_check.wait(30) == 0, worker_check.log()
        stack["beat"].wait_for_log("Sending due task")
    finally:
        browser.close()
        direct.close()
        stack.stop_all()

    # Logs: JSON lines only (gunicorn's own included), one per request, and the
    # confirming request's id on the worker's delivery lines, which name letter ids.
    web_lines = [json.loads(line) for line in stack["web"].log().splitlines()]
    request_lines = [x for x in web_lines if x["logger"] == "quillpost.request"]
    assert {"", "campaigns/<slug:slug>/", "confirm/<str:token>/"} <= {
        x["route"] for x in request_lines
    }
    assert post_request_id in {x["request_id"] for x in request_lines}
    delivery_lines = [
        x["message"]
        for x in stack["worker"].json_lines()
        if x["request_id"] == post_request_id
    ]
    letter_ids = Letter.objects.filter(signature__email=signer["email"]).values_list(
        "id", flat=True
    )
    assert len(letter_ids) == len(officials)
    for letter_id in letter_ids:
        assert any(re.search(rf"\b{letter_id}\b", m) for m in delivery_lines), (
            f"no delivery line names letter {letter_id}: {delivery_lines}"
        )
    everything = "".join(stack[n].log() for n in ("web", "worker", "beat"))
    for value in ("Ottoline", "Smoketest", "ottoline.smoketest", "SW1A 1AA"):
        assert value not in everything
