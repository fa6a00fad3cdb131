"""Session-wide real services: PostgreSQL (pytest-django), Redis, one SMTP server,
one Celery worker process and one Chromium, each started once per session (their
fixtures live in tests/support/). Here: what every test gets, and the shared
data fixtures.

Tests that need the worker or the live server must commit their data, so they use
`transactional_db` (the worker and the browser see other connections).
"""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client

from campaign import page_cache
from campaign.services.delivery.queueing import BROKER
from config import cache as redis_fallback
from tests.factories import (
    CampaignFactory,
    LetterTemplateFactory,
    OfficialFactory,
    StaffUserFactory,
)

# Playwright's sync API runs an event loop in this thread; Django's ORM would then
# refuse to run here ("async context"), though nothing actually runs concurrently.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.support.browser",
    "tests.support.flush",
    "tests.support.logs",
    "tests.support.redis_server",
    "tests.support.smtp",
    "tests.support.static_files",
    "tests.support.worker",
]


def pytest_sessionstart(session):
    # The suite is about PostgreSQL behaviour (constraints, cursors, locking);
    # an accidental SQLite run would pass for the wrong reasons.
    if connection.vendor != "postgresql":
        pytest.exit(
            "The suite runs on PostgreSQL: use `make test` (or set DATABASE_URL).",
            returncode=2,
        )
    if settings.RATELIMIT_ENABLE:
        # Tests post forms at once and sign many times from 127.0.0.1.
        pytest.exit(
            "Run the suite with RATELIMIT_ENABLE=0, as `make test` does "
            "(tests/test_abuse.py turns the limits on where it tests them).",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Redis reachable again for this process, whatever an earlier test did to it.
    redis_fallback.reset()
    BROKER.reset()
    cache.clear()
    page_cache.forget_local()  # its copies were checked against what was cleared
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 costs ~1 s per login user on this machine; tests don't need its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def letter_template(db):
    """The `campaign` fixture's template (a package may override it)."""
    return LetterTemplateFactory()


@pytest.fixture
def campaign(letter_template):
    """A live campaign whose supporters may edit the letter, written to two
    officials with their own salutations."""
    return CampaignFactory(
        slug="save-the-library",
        title="Save the Library",
        signers_may_edit=True,
        letter_template=letter_template,
        targets=[
            OfficialFactory(name="Alex Morgan", salutation="Dear Prime Minister"),
            OfficialFactory(name="Sam Okafor", salutation="Dear Home Secretary"),
        ],
    )


@pytest.fixture
def staff_client(db):
    """A logged-in superuser, "organiser", in a client of its own (so a test can
    use it beside pytest-django's `client`); the user is `.user`."""
    client = Client()
    client.user = StaffUserFactory(username="organiser", is_superuser=True)
    client.force_login(client.user)
    return client
