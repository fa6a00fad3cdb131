"""Each environment variable that changes behaviour, read by a fresh execution of
config/settings.py (runpy), so the running test settings are untouched."""

import json
import os
import re
import runpy
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.compose import ROOT, env_reads

SETTINGS_FILE = ROOT / "config" / "settings.py"


@pytest.fixture
def load(monkeypatch):
    """Run settings.py with exactly the given variables set (the suite's own
    settings are untouched)."""

    def _load(**env):
        for name in env_reads():
            monkeypatch.delenv(name, raising=False)
        env.setdefault("DJANGO_SECRET_KEY", "x" * 50)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return _load


def test_database_url_defaults_to_sqlite_and_reads_postgres(load):
    assert load()["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    db = load(DATABASE_URL="postgres://u:p@db.example.org:5433/quill")["DATABASES"][
        "default"
    ]
    # Django's, with a cheaper health check (config/postgresql/base.py).
    assert db["ENGINE"] == "config.postgresql"
    assert (db["NAME"], db["HOST"], db["PORT"], db["USER"]) == (
        "quill",
        "db.example.org",
        5433,
        "u",
    )


def test_no_broker_means_eager_tasks(load):
    assert load()["CELERY_TASK_ALWAYS_EAGER"] is True
    s = load(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    assert s["CELERY_TASK_ALWAYS_EAGER"] is False
    assert s["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"


def test_cache_url_selects_redis(load):
    assert "LocMemCache" in load()["CACHES"]["default"]["BACKEND"]
    s = load(CACHE_URL="redis://127.0.0.1:6379/2", REDIS_CONNECT_TIMEOUT="0.02")
    # Django's Redis backend, falling back to memory while Redis is unreachable.
    assert s["CACHES"]["default"] == {
        "BACKEND": "config.cache.FallbackRedisCache",
        "LOCATION": "redis://127.0.0.1:6379/2",
        "OPTIONS": {"socket_connect_timeout": 0.02, "socket_timeout": 0.5},
    }
    transport = s["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert (transport["socket_connect_timeout"], transport["socket_timeout"]) == (
        0.02,
        2,
    )


def test_email_host_switches_to_smtp_backend(load):
    assert load()["EMAIL_BACKEND"].endswith("console.EmailBackend")
    s = load(
        EMAIL_HOST="smtp.example.org",
        EMAIL_PORT="2525",
        EMAIL_HOST_USER="mailer",
        EMAIL_HOST_PASSWORD="s3cret",
        EMAIL_USE_TLS="true",
    )
    assert s["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("smtp.example.org", 2525)
    assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("mailer", "s3cret")
    assert s["EMAIL_USE_TLS"] is True


def test_test_sink_hosts_and_override(load):
    s = load()
    assert (s["EMAIL_TEST_SINK_HOSTS"], s["EMAIL_ALLOW_TEST_SINK"]) == (
        ["mailpit"],
        False,
    )
    s = load(EMAIL_TEST_SINK_HOSTS="mailpit,mailhog", EMAIL_ALLOW_TEST_SINK="1")
    assert s["EMAIL_TEST_SINK_HOSTS"] == ["mailpit", "mailhog"]
    assert s["EMAIL_ALLOW_TEST_SINK"] is True


def test_default_from_email(load):
    s = load(DEFAULT_FROM_EMAIL="letters@campaign.example.org")
    assert s["DEFAULT_FROM_EMAIL"] == "letters@campaign.example.org"


def test_site_url_drops_trailing_slash(load):
    assert load(SITE_URL="https://quill.example.org/")["SITE_URL"] == (
        "https://quill.example.org"
    )


def test_secret_key_required_without_debug(load):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        load(DJANGO_SECRET_KEY="")
    assert load(DJANGO_SECRET_KEY="", DJANGO_DEBUG="1")["SECRET_KEY"]


def test_debug_and_allowed_hosts(load):
    s = load(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="a.example.org,b.example.org")
    assert s["DEBUG"] is False
    assert s["ALLOWED_HOSTS"] == ["a.example.org", "b.example.org"]
    assert load(DJANGO_DEBUG="1")["DEBUG"] is True


# Variables read straight into one setting: (variable, value, setting, expected).
# What each setting then does is tested where it acts (delivery, signing, export).
PLAIN = [
    ("CONFIRMATION_TOKEN_MAX_AGE_DAYS", "2", "CONFIRMATION_TOKEN_MAX_AGE_DAYS", 2),
    ("SIGNATURE_COUNT_CACHE_SECONDS", "3", "SIGNATURE_COUNT_CACHE_SECONDS", 3),
    ("DATA_UPLOAD_MAX_MEMORY_SIZE", "1024", "DATA_UPLOAD_MAX_MEMORY_SIZE", 1024),
    ("EMAIL_TIMEOUT", "7", "EMAIL_TIMEOUT", 7),
    ("SITE_NAME", "Letters for Justice", "SITE_NAME", "Letters for Justice"),
    ("TIME_ZONE", "America/New_York", "TIME_ZONE", "America/New_York"),
    ("DATABASE_CONN_MAX_AGE", "0", "DATABASE_CONN_MAX_AGE", 0),
    ("LETTERS_PER_OFFICIAL_PER_HOUR", "5", "LETTERS_PER_OFFICIAL_PER_HOUR", 5),
    ("DELIVERY_RETRY_BASE_SECONDS", "1.5", "DELIVERY_RETRY_BASE_SECONDS", 1.5),
    ("DELIVERY_RETRY_MAX_SECONDS", "90", "DELIVERY_RETRY_MAX_SECONDS", 90.0),
    ("DELIVERY_GIVE_UP_AFTER_HOURS", "2", "DELIVERY_GIVE_UP_AFTER_HOURS", 2.0),
    ("DELIVERY_STUCK_AFTER_SECONDS", "30", "DELIVERY_STUCK_AFTER_SECONDS", 30.0),
    ("DELIVERY_SWEEP_GRACE_SECONDS", "5", "DELIVERY_SWEEP_GRACE_SECONDS", 5.0),
    ("DELIVERY_SWEEP_BATCH", "10", "DELIVERY_SWEEP_BATCH", 10),
    ("PERSONAL_LETTER_MIN_WORDS", "40", "PERSONAL_LETTER_MIN_WORDS", 40),
    ("DELIVERY_BATCH_SIZE", "10", "DELIVERY_BATCH_SIZE", 10),
    ("REDIS_RETRY_SECONDS", "1", "REDIS_RETRY_SECONDS", 1.0),
    ("CACHE_SOCKET_TIMEOUT", "0.3", "CACHE_SOCKET_TIMEOUT", 0.3),
    ("BROKER_SOCKET_TIMEOUT", "4", "BROKER_SOCKET_TIMEOUT", 4.0),
]


@pytest.mark.parametrize(("variable", "value", "setting", "expected"), PLAIN)
def test_variable_sets_its_setting(load, variable, value, setting, expected):
    default = load()
    loaded = load(**{variable: value})
    if setting == "DATABASE_CONN_MAX_AGE":
        default, loaded = (s["DATABASES"]["default"] for s in (default, loaded))
        setting = "CONN_MAX_AGE"
    assert loaded[setting] == expected
    assert default[setting] != expected, "pick a value that differs from the default"


def test_update_send_rate(load):
    assert load(UPDATE_SEND_RATE_PER_MINUTE="0")["UPDATE_SEND_RATE_PER_MINUTE"] == 0
    with pytest.raises(ImproperlyConfigured, match="UPDATE_SEND_RATE_PER_MINUTE"):
        load(UPDATE_SEND_RATE_PER_MINUTE="-5")


def test_digest_send_time_and_beat_time_zone(load):
    s = load(DIGEST_SEND_TIME="17:45", TIME_ZONE="Europe/Paris")
    assert (s["DIGEST_SEND_HOUR"], s["DIGEST_SEND_MINUTE"]) == (17, 45)
    assert s["CELERY_TIMEZONE"] == "Europe/Paris"
    for bad in ("9am", "24:00", "09:60", "9"):
        with pytest.raises(ImproperlyConfigured, match="DIGEST_SEND_TIME"):
            load(DIGEST_SEND_TIME=bad)


def test_beat_schedules_the_digests_at_digest_send_time():
    """Beat's schedule as the Celery app builds it, in a fresh interpreter."""
    code = (
        "import django; django.setup();"
        "from config.celery import app; app.loader.import_default_modules();"
        "app.finalize();"  # as beat does before it reads its schedule
        "entry = app.conf.beat_schedule['daily-digests'];"
        "s = entry['schedule'];"
        "print(entry['task'], sorted(s.hour), sorted(s.minute), app.conf.timezone)"
    )
    env = {**os.environ, "DIGEST_SEND_TIME": "06:30", "TIME_ZONE": "Europe/Paris"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.stdout.split() == [
        "campaign.tasks.digests_send_task",
        "[6]",
        "[30]",
        "Europe/Paris",
    ], out.stderr


def test_static_root(load, tmp_path):
    assert str(load(STATIC_ROOT=str(tmp_path))["STATIC_ROOT"]) == str(tmp_path)


def test_media_root_and_the_handin_settings(load, tmp_path):
    loaded = load(
        MEDIA_ROOT=str(tmp_path / "media"), HANDIN_TIME_LIMIT_SECONDS="900",
        HANDIN_STALE_AFTER_SECONDS="60", HANDIN_FONTS="/a.ttf,/b.ttf",
    )  # fmt: skip
    assert str(loaded["MEDIA_ROOT"]) == str(tmp_path / "media")
    assert str(loaded["MEDIA_ROOT"]) != str(loaded["STATIC_ROOT"])
    assert loaded["HANDIN_TIME_LIMIT_SECONDS"] == 900
    assert loaded["HANDIN_STALE_AFTER_SECONDS"] == 60
    assert loaded["HANDIN_FONTS"] == ["/a.ttf", "/b.ttf"]


def test_intervals_drive_the_beat_schedule(load):
    settings = load(
        DELIVERY_SWEEP_INTERVAL_SECONDS="15", DASHBOARD_REFRESH_SECONDS="120"
    )
    schedule = settings["CELERY_BEAT_SCHEDULE"]
    assert {name: entry["schedule"] for name, entry in schedule.items()} == {
        "outbox-sweep": 15.0,
        "handin-sweep": 15.0,
        "dashboard-tallies": 120.0,
        "receipts": 15.0,
        "update-pacing": 15.0,
    }


def test_every_variable_is_in_the_configuration_table():
    """docs/deploy.md's "Configuration" section (its tables to the end of the
    file) names every variable the settings read."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("\n## Configuration\n") :]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {
        name
        for row in rows
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])
    }
    assert env_reads() - documented == set()


def test_production_defaults_are_https_only(load):
    s = load()
    assert s["DEBUG"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31_536_000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and s["SECURE_HSTS_PRELOAD"]
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    # The orchestrator's probe is the one plain-http path.
    assert [p for p in s["SECURE_REDIRECT_EXEMPT"] if re.search(p, "healthz")]
    assert not [p for p in s["SECURE_REDIRECT_EXEMPT"] if re.search(p, "admin/")]


def test_debug_quick_start_speaks_plain_http(load):
    s = load(DJANGO_DEBUG="1")
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SESSION_COOKIE_SECURE"] is False and s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["LOGGING"]["handlers"]["console"]["formatter"] == "text"


def test_security_settings_follow_the_environment(load):
    s = load(
        DJANGO_BEHIND_PROXY="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SECURE_HSTS_PRELOAD="0",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://a.example.org,https://b.example.org",
        LOG_JSON="0",
    )
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SESSION_COOKIE_SECURE"] is False and s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_SECONDS"] == 3600
    assert not s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and not s["SECURE_HSTS_PRELOAD"]
    assert s["CSRF_TRUSTED_ORIGINS"] == [
        "https://a.example.org",
        "https://b.example.org",
    ]
    assert s["LOGGING"]["handlers"]["console"]["formatter"] == "text"


def test_csrf_trusted_origin_defaults_to_the_site_url(load):
    s = load(SITE_URL="https://campaign.example.org/")
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://campaign.example.org"]


def test_content_security_policy_allows_only_our_own_files(load):
    directives = load()["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    for name in ("default-src", "script-src", "style-src", "connect-src"):
        assert directives[name] == ["'self'"], name
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == directives["object-src"] == ["'none'"]
    flat = json.dumps(directives)
    assert "unsafe" not in flat and "http" not in flat and "*" not in flat


def test_postgres_connections_time_out(load):
    s = load(DATABASE_URL="postgres://u@db.example.org/q", DATABASE_CONNECT_TIMEOUT="3")
    assert s["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 3


def test_loading_the_settings_loads_no_celery():
    """A fresh interpreter: the settings (and gunicorn's config, which reads the
    logging part) import no Celery; Django processes load it when apps are ready."""
    script = (
        "import sys, config.settings, config.gunicorn; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('celery', 'kombu', 'billiard')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT, env={**os.environ, "DJANGO_SECRET_KEY": "x" * 50},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
