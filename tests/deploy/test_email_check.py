"""quillpost.E001: with DEBUG off, email that would go to the console or to a mail
catcher stops `check` and `migrate` (so compose's migrate step) unless
EMAIL_ALLOW_TEST_SINK=1 says it is deliberate."""

import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks

from tests.support.compose import ROOT

SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


@pytest.fixture
def production(settings):
    """Settings as a production process has them; each test changes one thing."""
    settings.DEBUG = False
    settings.EMAIL_ALLOW_TEST_SINK = False
    settings.EMAIL_TEST_SINK_HOSTS = ["mailpit"]
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST = "smtp.example.org"
    return settings


def email_errors() -> list[str]:
    return [message.id for message in run_checks(tags=["email"])]


def test_console_backend_is_an_error(production):
    production.EMAIL_BACKEND = CONSOLE
    production.EMAIL_HOST = ""
    [error] = run_checks(tags=["email"])
    assert error.id == "quillpost.E001"
    assert "console" in error.msg and "EMAIL_HOST" in error.hint


@pytest.mark.parametrize("host", ["mailpit", "MailPit", "catcher.internal"])
def test_a_test_sink_host_is_an_error(production, host):
    production.EMAIL_TEST_SINK_HOSTS = ["mailpit", "catcher.internal"]
    production.EMAIL_HOST = host
    [error] = run_checks(tags=["email"])
    assert error.id == "quillpost.E001"
    assert repr(host) in error.msg


def test_the_override_allows_a_test_sink(production):
    production.EMAIL_ALLOW_TEST_SINK = True
    production.EMAIL_HOST = "mailpit"
    assert email_errors() == []
    production.EMAIL_BACKEND = CONSOLE
    assert email_errors() == []


def test_a_real_smtp_host_passes(production):
    assert email_errors() == []


def test_debug_allows_anything(production):
    production.DEBUG = True
    production.EMAIL_HOST = "mailpit"
    assert email_errors() == []
    production.EMAIL_BACKEND = CONSOLE
    assert email_errors() == []


def _migrate(db_dir, *args: str, **env) -> subprocess.Popen:
    """`manage.py migrate` started on a SQLite file in `db_dir`; communicate()
    for its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0", *args],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": f"sqlite:///{db_dir / 'db.sqlite3'}",
            **env,
        },
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_migrate_refuses_to_run_with_mail_going_to_the_catcher(tmp_path):
    """What compose's migrate service runs: it stops before touching the database,
    so web, worker and beat (which wait for it) never start."""
    # Both at once (a second of start-up each), each on a database of its own.
    refused_dir, allowed_dir = tmp_path / "refused", tmp_path / "allowed"
    refused_dir.mkdir()
    allowed_dir.mkdir()
    refused = _migrate(refused_dir, EMAIL_HOST="mailpit", EMAIL_PORT="1025")
    # Allowed, migrate gets past the checks to its plan (--plan: no need to apply it).
    allowed = _migrate(
        allowed_dir, "--plan", EMAIL_HOST="mailpit", EMAIL_ALLOW_TEST_SINK="1"
    )
    refused, allowed = _finished(refused), _finished(allowed)
    assert refused.returncode != 0
    assert "quillpost.E001" in refused.stderr
    assert not (refused_dir / "db.sqlite3").exists()
    assert allowed.returncode == 0, allowed.stderr
    assert "quillpost.E001" not in allowed.stderr
    assert "campaign.0001_initial" in allowed.stdout
