"""Each environment variable that changes behaviour, read by a fresh execution of
config/settings.py (runpy), so the running test settings are untouched."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "config" / "settings.py"

ALL_VARS = [
    "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_HOST", "EMAIL_PORT",
    "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL",
    "SITE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS",
    "CONFIRMATION_TOKEN_MAX_AGE_DAYS",
]  # fmt: skip


@pytest.fixture
def load(monkeypatch):
    """Run settings.py with exactly the given variables set."""

    def _load(**env):
        for name in ALL_VARS:
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
    assert db["ENGINE"] == "django.db.backends.postgresql"
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
    cache = load(CACHE_URL="redis://127.0.0.1:6379/2")["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


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


def test_confirmation_token_max_age(load):
    assert load()["CONFIRMATION_TOKEN_MAX_AGE_DAYS"] == 7
    assert (
        load(CONFIRMATION_TOKEN_MAX_AGE_DAYS="2")["CONFIRMATION_TOKEN_MAX_AGE_DAYS"]
        == 2
    )
