"""What delivery and Django put in the logs: ids, reply codes, never a name, an
address or a confirmation token (a log is copied to places a database is not)."""

import json
import logging
import re
import sys

import pytest
from django.test import Client
from django.utils import timezone

from campaign.models import Letter
from campaign.services.delivery import Outcome, letter_send
from config.logs import RedactTokensFilter, json_formatter
from tests.factories import LetterFactory, OfficialFactory

PERSONAL = ["Ada", "Lovelace", "ada@example.com", "Jane", "jane.doe@example.org"]


@pytest.mark.django_db(transaction=True)  # sending refuses to run in a transaction
def test_delivery_lines_name_letter_and_signature_by_id_only(smtp, settings, caplog):
    caplog.set_level(logging.DEBUG, logger="campaign.services.delivery")
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 1
    jane = OfficialFactory(name="Jane Doe", email="jane.doe@example.org")
    retried, refused, throttled = (
        LetterFactory(
            signature__full_name="Ada Lovelace",
            signature__email="ada@example.com",  # each in a campaign of its own
            official=official,
        )
        for official in (jane, OfficialFactory(), jane)
    )
    ref = {
        letter.pk: f"letter {letter.pk} (signature {letter.signature_id})"
        for letter in (retried, refused, throttled)
    }
    pattern = {pk: re.escape(line) for pk, line in ref.items()}
    smtp.script(
        "451 4.2.1 <jane.doe@example.org>: mailbox busy",
        "550 5.1.1 <ada@example.com>: Recipient address rejected",
    )

    assert letter_send(letter_id=retried.pk).outcome == Outcome.RETRY
    assert letter_send(letter_id=refused.pk).outcome == Outcome.FAILED
    Letter.objects.filter(pk=retried.pk).update(next_attempt_at=timezone.now())
    assert letter_send(letter_id=retried.pk).outcome == Outcome.SENT
    assert letter_send(letter_id=throttled.pk).outcome == Outcome.THROTTLED

    ours = [r for r in caplog.records if r.name == "campaign.services.delivery"]
    lines = [r.getMessage() for r in ours if r.levelno >= logging.INFO]
    expected = [
        rf"{pattern[retried.pk]} attempt 1 failed \(451\); retry in \d+\.\ds",
        rf"{pattern[refused.pk]} failed for good \(550\)",
        rf"{pattern[retried.pk]} sent",
        rf"{pattern[throttled.pk]}: not yet \(delivery hours or hourly cap\); "
        r"next try in 3\d{3}s",
    ]
    assert len(lines) == len(expected), lines
    for line, expected_line in zip(lines, expected, strict=True):
        assert re.fullmatch(expected_line, line), line
    # Not at any level: the server's words may quote an address; they are kept
    # on the row, for the admin.
    everything = [r.getMessage() for r in ours]
    assert not [line for line in everything for word in PERSONAL if word in line]
    refused.refresh_from_db()
    assert "<ada@example.com>: Recipient address rejected" in refused.last_error


def _redacts(handler: logging.Handler) -> bool:
    return any(isinstance(f, RedactTokensFilter) for f in handler.filters)


@pytest.mark.django_db
def test_djangos_warnings_about_confirmation_paths_hide_the_token(site_log):
    client = Client(enforce_csrf_checks=True)
    forbidden = client.post("/confirm/Sup3r-secret_token/")  # no CSRF cookie
    missing = client.get("/confirm/Sup3r-secret_token/no-such-page")

    assert (forbidden.status_code, missing.status_code) == (403, 404)
    output = site_log.text()
    assert "Forbidden (CSRF cookie not set.): /confirm/[redacted]/" in output
    assert "Not Found: /confirm/[redacted]/no-such-page" in output
    assert "Sup3r-secret_token" not in output


@pytest.mark.parametrize(
    "name", ["django.request", "django.security.csrf", "django.server", "celery"]
)
def test_every_handler_a_django_line_reaches_redacts_tokens(name):
    """Django's default handlers (stderr in DEBUG, mail to admins, runserver's)
    would bypass the filter: none is left on the way to the site's handler."""
    handlers, logger = [], logging.getLogger(name)
    while logger:
        handlers += [
            h
            for h in logger.handlers
            # pytest's capture, and Celery's NullHandler (which writes nothing)
            if not type(h).__module__.startswith("_pytest")
            and not isinstance(h, logging.NullHandler)
        ]
        logger = logger.parent if logger.propagate else None
    assert handlers
    assert all(_redacts(handler) for handler in handlers), handlers


def test_the_filter_redacts_messages_arguments_and_extra_fields():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s',
        ("GET /confirm/abc.DEF-123_x/?utm=1 HTTP/1.1", 200), None,
    )  # fmt: skip
    record.path = "/confirm/abc.DEF-123_x/"
    record.route = "/campaigns/clean-air/"

    assert RedactTokensFilter().filter(record) is True

    assert record.getMessage() == '"GET /confirm/[redacted]/?utm=1 HTTP/1.1" 200'
    assert record.path == "/confirm/[redacted]/"
    assert record.route == "/campaigns/clean-air/"  # other paths as they were


@pytest.mark.parametrize("as_json", [True, False])
def test_tracebacks_that_quote_a_confirmation_path_are_redacted(as_json):
    try:
        raise ValueError("while serving /confirm/abc.DEF-123_x/")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error",
            (), sys.exc_info(),
        )  # fmt: skip

    assert RedactTokensFilter().filter(record) is True

    formatter = json_formatter() if as_json else logging.Formatter("%(message)s")
    line = formatter.format(record)
    assert "ValueError: while serving /confirm/[redacted]/" in (
        json.loads(line)["exc_info"] if as_json else line
    )
    assert "abc.DEF-123_x" not in line
