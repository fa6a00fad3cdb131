"""Production behaviour: security settings, `check --deploy`, /healthz, request ids
and JSON logs, the CSP in a real browser, and a smoke test that runs the compose
stack's own commands (gunicorn, celery worker, celery beat, Redis) on this machine."""

import gzip
import http.client
import io
import json
import logging
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import pytest
import redis
from django.core.management import call_command
from django.test import Client
from django.test.testcases import LiveServerThread

from campaign import demo
from campaign.models import Campaign, Letter
from config.logs import json_formatter, request_id_filter
from tests.compose import (
    APP_SERVICES,
    ROOT,
    dockerfile_instructions,
    interpolate,
    load_compose,
    read_env_file,
    service_command,
    service_environment,
)
from tests.services import _database_url, free_port

SETTINGS_FILE = ROOT / "config" / "settings.py"


# --- manage.py check --deploy -----------------------------------------------------


def _compose_env(service: str = "web", **overrides) -> dict[str, str]:
    """The container's environment as compose builds it from .env.example, after
    the operator filled in the required secrets; nothing from this test process."""
    dotenv = read_env_file() | {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
    }
    env = service_environment(load_compose()["services"][service], dotenv)
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **env,
        **overrides,
    }


def _check_deploy(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_check_deploy_passes_with_the_compose_environment():
    # Both runs at once: each is mostly Python start-up.
    clean = _check_deploy(_compose_env())
    plain_http = _check_deploy(
        _compose_env(
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
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_503_when_the_broker_port_is_closed(client, db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
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


# --- request ids and JSON log lines -----------------------------------------------


@pytest.fixture
def json_log():
    """Root logging through the production handler pieces, into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(request_id_filter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_each_request_gets_an_id_in_its_response_and_log_lines(client, db, json_log):
    response = client.get("/no-such-page/")
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    lines = [line for line in json_log() if line["logger"] == "quillpost.request"]
    assert lines == [
        {
            "time": lines[0]["time"],
            "level": "INFO",
            "logger": "quillpost.request",
            "message": "request",
            "request_id": request_id,
            "method": "GET",
            "route": None,
            "status": 404,
            "duration_ms": lines[0]["duration_ms"],
        }
    ]
    # Django's own 404 warning carries the id too, without the request object.
    warning = next(line for line in json_log() if line["logger"] == "django.request")
    assert warning["request_id"] == request_id and "request" not in warning


def test_a_proxy_request_id_is_kept_when_it_is_a_uuid(client, db):
    """django-guid's rule: a UUID (nginx's $request_id is 32 hex digits) is kept,
    anything else replaced, a forged one as well as a merely unusual one."""
    proxy_id = uuid.uuid4().hex
    kept = client.get("/healthz", headers={"X-Request-ID": proxy_id})
    assert kept["X-Request-ID"] == proxy_id
    for other in ('x" "level": "ERROR', "edge-7f3a.1"):
        replaced = client.get("/healthz", headers={"X-Request-ID": other})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"])


def test_request_lines_name_the_route_not_the_path(client, db, json_log):
    """Paths can carry confirmation tokens; the route pattern cannot."""
    client.get("/confirm/secret-token-value/")
    [line] = [line for line in json_log() if line["logger"] == "quillpost.request"]
    assert line["route"] == "confirm/<str:token>/"
    assert "secret-token-value" not in json.dumps(line)


# --- the Content-Security-Policy in a real browser --------------------------------


@pytest.fixture
def whitenoise_server(transactional_db, settings):
    """A live server whose static files come from whitenoise and STATIC_ROOT, as in
    production. (pytest-django's live_server serves them from the finders, which
    know no hashed names: every stylesheet and script would be a 404.)"""
    thread = LiveServerThread("localhost", static_handler=lambda app: app)
    thread.daemon = True
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


def test_pages_and_admin_work_under_the_csp(
    whitenoise_server, browser, django_user_model
):
    """Chromium with the CSP enforced (the shared `page` fixture bypasses it for
    axe): no page of the site or the admin may trip it."""
    base = whitenoise_server
    call_command("load_demo", stdout=io.StringIO())
    django_user_model.objects.create_superuser(
        "csp-admin", "csp-admin@example.org", "pw-csp-admin-123"
    )
    context = browser.new_context()
    # Every violation on every page, as the page's own event reports it (a
    # binding and an init script come from the browser, outside the policy).
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda v: violations.append(v))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors: list[str] = []
    page.on(
        "console",
        lambda m: console_errors.append(m.text) if m.type == "error" else None,
    )
    try:
        response = page.goto(f"{base}/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.get_by_role("link", name=re.compile("Litvinenko", re.I)).first.click()
        page.wait_for_load_state("load")
        assert page.locator("form#sign-form").count() == 1
        # Our stylesheets loaded (Bootstrap and the site's own).
        assert page.evaluate("document.styleSheets.length") >= 2
        assert (
            page.evaluate(
                "getComputedStyle(document.querySelector('.skip-link')).position"
            )
            == "absolute"
        )

        # The live preview: site.js posts the form to /preview/ and swaps in the
        # fragment, all under script-src/connect-src 'self'.
        preview = page.locator("#letter-preview")
        assert "Quentin Previewson" not in preview.inner_text()
        with page.expect_response(re.compile(r"/preview/$")) as previewed:
            page.get_by_label("Full name").fill("Quentin Previewson")
            page.get_by_label("Your own paragraph (optional)").fill(
                "My town remembers him."
            )
        assert previewed.value.status == 200
        page.wait_for_function(
            "() => { const t = document.getElementById('letter-preview').innerText;"
            " return t.includes('Quentin Previewson')"
            " && t.includes('My town remembers him.'); }"
        )
        assert preview.get_attribute("data-updated")  # swapped in by the script
        assert violations == [] and console_errors == []

        page.goto(f"{base}/admin/")
        page.get_by_label("Username").fill("csp-admin")
        page.get_by_label("Password").fill("pw-csp-admin-123")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/admin/")
        campaign = Campaign.objects.get(slug=demo.DEMO_SLUG)
        # The pages with the most JavaScript and custom templates.
        for path in (
            "/admin/campaign/campaign/",
            f"/admin/campaign/campaign/{campaign.pk}/change/",
            f"/admin/letters/lettertemplate/{campaign.letter_template_id}/change/",
            "/admin/campaign/signature/",
            "/admin/campaign/letter/",
        ):
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            # The admin's own script ran (theme.js marks <html>) and its
            # stylesheet gave the header a background.
            assert page.evaluate("document.documentElement.dataset.theme") == "auto"
            header = page.evaluate(
                "getComputedStyle(document.querySelector('#header')).backgroundColor"
            )
            assert header not in ("", "rgba(0, 0, 0, 0)"), path
        # The admin's pages name no favicon, so Chromium's /favicon.ico 404 is a
        # console error there; only the policy's own reports are checked.
        assert violations == []
        assert [e for e in console_errors if "Content Security Policy" in e] == []
    finally:
        context.close()


# --- smoke test: the compose stack's own commands, run on this machine ------------


class FormParser(HTMLParser):
    """The forms of a page and what a browser would submit from each."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "fields": {}, "ticks": {}}
            )
            return
        if not self.forms or not a.get("name"):
            return
        form, name = self.forms[-1], a["name"]
        kind = a.get("type", "text").lower() if tag == "input" else tag
        if kind in ("checkbox", "radio"):
            form["ticks"][name] = a.get("value") or "on"
            if "checked" in a:
                form["fields"][name] = form["ticks"][name]
        elif kind == "textarea":
            form["fields"][name] = ""
            self._textarea = name
        elif kind not in ("submit", "button", "image", "reset", "select"):
            form["fields"][name] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.forms[-1]["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


class ProxiedBrowser:
    """What the TLS proxy hands gunicorn for a browser on the public https site:
    the public Host, `X-Forwarded-Proto: https`, and the browser's cookies (Secure
    ones too: the browser itself speaks https)."""

    def __init__(self, port: int, site_url: str) -> None:
        self.port = port
        self.origin = site_url
        self.host = urlsplit(site_url).netloc
        self.cookies: dict[str, str] = {}

    def request(self, method, url, *, fields=None, headers=None, proxied=True):
        parts = urlsplit(urljoin(self.origin + "/", url))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"Host": self.host, **(headers or {})}
        if proxied:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.origin
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            self.cookies.update({name: m.value for name, m in jar.items()})
        response.url = urlunsplit(("https", self.host, parts.path, parts.query, ""))
        response.content = content
        response.text = content.decode("utf-8", "replace")
        return response

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def submit(self, page, form: dict, **values):
        """POST the form as a browser would, follow redirects; the final page
        keeps the POST's request id (the one its queued tasks carry)."""
        fields = {**form["fields"], **values}
        response = self.request(
            "POST",
            urljoin(page.url, form["action"] or page.url),
            fields=fields,
            headers={"Referer": page.url},
        )
        post_request_id = response.headers["X-Request-ID"]
        while response.status in (301, 302, 303):
            response = self.get(urljoin(response.url, response.headers["Location"]))
        response.post_request_id = post_request_id
        return response


class Processes:
    """The stack's processes, each in its own process group with a log file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]):
        log = (self.log_dir / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self.procs[name]

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def json_lines(self, name: str) -> list[dict]:
        return [json.loads(x) for x in self.log(name).splitlines() if x[:1] == "{"]

    def wait_for(self, name: str, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not print {text!r}:\n{self.log(name)}")
            time.sleep(0.1)

    def finish(self, name: str, timeout: float = 60) -> int:
        returncode = self.procs[name].wait(timeout)
        assert returncode == 0, f"{name} exited {returncode}:\n{self.log(name)}"
        return returncode

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _wait_http_ok(port: int, host: str, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path, headers={"Host": host})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not answer {path} on port {port}")
        time.sleep(0.1)


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match[1]) if match else 0


@pytest.mark.django_db(transaction=True)
def test_compose_stack_serves_signs_confirms_and_delivers(smtp, tmp_path):
    services = load_compose()["services"]
    redis_port, web_port = free_port(), free_port()
    static_root = tmp_path / "static"
    # The containers' environment as compose builds it from .env.example; only the
    # addresses of this machine's services replace compose's host names.
    local = {
        "DATABASE_URL": _database_url(),
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
    env = {name: _compose_env(name, **local) for name in APP_SERVICES}
    site_url = env["web"]["SITE_URL"]
    host = env["web"]["DJANGO_ALLOWED_HOSTS"].split(",")[0]
    stack = Processes(tmp_path)
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
        stack.finish("collectstatic")
        stack.finish("migrate")
        assert "demo campaign" in stack.log("migrate")
        # Redis runs with the compose flags: it never evicts, and it persists.
        broker = redis.Redis(port=redis_port)
        assert broker.config_get("maxmemory-policy") == {
            "maxmemory-policy": "noeviction"
        }
        assert broker.config_get("appendonly") == {"appendonly": "yes"}
        broker.close()

        for name in ("web", "worker", "beat"):
            stack.start(name, service_command(services[name]), env[name])
        _wait_http_ok(web_port, host, "/healthz")
        stack.wait_for("worker", "ready.")
        # The compose healthchecks, run while the site is in use.
        web_check = stack.start(
            "web-healthcheck", services["web"]["healthcheck"]["test"][1:], env["web"]
        )
        worker_check = stack.start(
            "worker-healthcheck",
            ["sh", "-c", interpolate(services["worker"]["healthcheck"]["test"][1], {})],
            env["worker"],
        )

        browser = ProxiedBrowser(web_port, site_url)
        home = browser.get("/")
        assert home.status == 200
        assert home.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert "default-src 'self'" in home.headers["Content-Security-Policy"]
        assert home.headers["X-Content-Type-Options"] == "nosniff"
        assert home.headers["Referrer-Policy"] == "same-origin"
        assert home.headers["X-Frame-Options"] == "DENY"
        # Without the proxy's header, the site sends the browser to https.
        plain = browser.get("/", proxied=False)
        assert plain.status == 301
        assert plain.headers["Location"] == f"{site_url}/"

        campaign_path = f"/campaigns/{demo.DEMO_SLUG}/"
        assert f'href="{campaign_path}"' in home.text
        page = browser.get(campaign_path)
        assert page.status == 200
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
        assert stylesheets
        for href in stylesheets:
            assert re.fullmatch(r"/static/.+\.[0-9a-f]{12}\.css", href), href
            css = browser.get(href, headers={"Accept-Encoding": "gzip"})
            assert css.status == 200
            assert css.headers["Content-Encoding"] == "gzip"
            assert css.headers["Content-Type"].startswith("text/css")
            cache_control = css.headers["Cache-Control"]
            assert "immutable" in cache_control
            assert _max_age(cache_control) >= 365 * 24 * 3600
            assert gzip.decompress(css.content)

        [sign_form] = [f for f in forms_of(page.text) if "full_name" in f["fields"]]
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
        signed = browser.submit(
            page,
            sign_form,
            **signer,
            consent_to_send=sign_form["ticks"]["consent_to_send"],
            sign="1",
        )
        assert signed.status == 200, signed.text
        [confirmation] = smtp.wait_for(1)
        assert confirmation["To"].addresses[0].addr_spec == signer["email"]
        link = re.search(
            re.escape(site_url) + r"/confirm/\S+/", confirmation.get_content()
        )[0]
        confirm_page = browser.get(link)
        assert confirm_page.status == 200
        [confirm_form] = [
            f for f in forms_of(confirm_page.text) if "/confirm/" in f["action"]
        ]
        thanks = browser.submit(confirm_page, confirm_form)
        assert thanks.status == 200, thanks.text

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
            stack.wait_for("worker", f'"letter {letter_id} (signature')

        assert web_check.wait(30) == 0, stack.log("web-healthcheck")
        assert worker_check.wait(30) == 0, stack.log("worker-healthcheck")
        stack.wait_for("beat", "Sending due task")
    finally:
        stack.stop_all()

    # Logs: JSON lines only (gunicorn's own included), one per request, and the
    # confirming request's id on the worker's delivery lines, which name letter ids.
    web_lines = [json.loads(line) for line in stack.log("web").splitlines()]
    request_lines = [x for x in web_lines if x["logger"] == "quillpost.request"]
    assert {"", "campaigns/<slug:slug>/", "confirm/<str:token>/"} <= {
        x["route"] for x in request_lines
    }
    assert thanks.post_request_id in {x["request_id"] for x in request_lines}
    delivery_lines = [
        x["message"]
        for x in stack.json_lines("worker")
        if x["request_id"] == thanks.post_request_id
    ]
    letter_ids = Letter.objects.filter(signature__email=signer["email"]).values_list(
        "id", flat=True
    )
    assert len(letter_ids) == len(officials)
    for letter_id in letter_ids:
        assert any(re.search(rf"\b{letter_id}\b", m) for m in delivery_lines), (
            f"no delivery line names letter {letter_id}: {delivery_lines}"
        )
    everything = "".join(stack.log(n) for n in ("web", "worker", "beat"))
    for value in ("Ottoline", "Smoketest", "ottoline.smoketest", "SW1A 1AA"):
        assert value not in everything
