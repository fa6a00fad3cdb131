"""README's first command, `make demo`, minus the install: SQLite, console email,
no broker (tasks run in the web process after commit). Runs the same manage.py
commands as the Makefile and drives the real runserver over HTTP."""

import os
import re
import subprocess
import sys

import pytest

from tests.support.compose import env_reads
from tests.support.http import forms_of, local_session, submit
from tests.support.processes import ROOT, LiveProcess, free_port

MANAGE = [sys.executable, str(ROOT / "manage.py")]


@pytest.fixture
def quickstart_env(tmp_path):
    # Nothing from the suite's own environment (PostgreSQL, Redis, SMTP) leaks in.
    env = {k: v for k, v in os.environ.items() if k not in env_reads()}
    return env | {
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LOG_JSON": "0",
        # This test posts the moment it has the page; the limits stay on.
        "SIGN_MIN_SECONDS": "0",
    }


def _post(session, url: str, fields: dict) -> tuple[int, str, str]:
    """Open `url` and submit its form with `fields`, as a browser would."""
    page = session.get(url)
    [form] = [form for form in forms_of(page) if form.method == "POST"]
    response = submit(session, page, form, **fields)
    return response.status_code, response.url, response.text


def test_quick_start_serves_signs_and_sends_without_any_service(
    quickstart_env, tmp_path
):
    run = {"env": quickstart_env, "cwd": ROOT, "capture_output": True, "text": True}
    subprocess.run([*MANAGE, "migrate", "--noinput"], check=True, **run)
    port = free_port()
    server = LiveProcess(
        "runserver",
        [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=quickstart_env | {"PYTHONUNBUFFERED": "1"},
        log_path=tmp_path / "runserver.log",
        ready="Quit the server with",
    )
    # The server starts up (a second of imports) while load_demo writes.
    server.start(wait=False)
    try:
        demo = subprocess.run(
            [*MANAGE, "load_demo", "--create-admin"], check=True, **run
        )
        password = re.search(r"username: admin\s+password: (\S+)", demo.stdout)[1]
        server.wait_for_log(server.ready, timeout=15)
        base = f"http://127.0.0.1:{port}"
        session = local_session()
        home = session.get(base + "/").text
        assert "Justice for Litvinenko" in home

        status, url, _ = _post(
            session,
            base + "/campaigns/litvinenko-sanctions/",
            {
                "full_name": "Zoë O'Brien",
                "email": "zoe@example.com",
                "postcode": "LS1 4AP",
                "town": "Leeds",
                "personal_paragraph": "My grandmother fled persecution.",
                "consent_to_send": "on",
                "sign": "1",
            },
        )
        assert (status, url) == (200, base + "/campaigns/litvinenko-sanctions/signed/")
        # The console backend printed the confirmation email; its link uses SITE_URL.
        link = re.compile(r"http://127\.0\.0\.1:8000(/confirm/[\w-]+/)")
        path = server.wait_for_log(link, timeout=15)[1]

        status, _, thanks = _post(session, base + path, {})
        assert status == 200 and "Thank you" in thanks
        # A few words of her own: under the demo's default delivery mode the letter
        # waits for each official's daily digest, which `send_digests` sends now
        # (README's quick start), through the console.
        digests = subprocess.run([*MANAGE, "send_digests"], check=True, **run).stdout
        assert "2 digest(s) created" in digests
        for official in ("Sam Okafor", "Alex Morgan"):
            assert f"To: {official} <" in digests
        assert digests.count("Zo\u00eb O'Brien, Leeds") == 2
        assert "Reply-To: letters@quillpost.example.org" in digests
        assert "zoe@example.com" not in digests  # never a supporter's address

        admin = _post(
            session,
            base + "/admin/login/?next=/admin/",
            {"username": "admin", "password": password, "next": "/admin/"},
        )
        assert admin[1] == base + "/admin/" and "Site administration" in admin[2]
    finally:
        server.stop(timeout=10)
