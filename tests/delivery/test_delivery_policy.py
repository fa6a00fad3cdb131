"""Pure parts of the delivery policy: which failures are retried, for how long."""

import smtplib

import pytest

from campaign.services.delivery.policy import attempts_allowed, classify, retry_delay


def test_default_budget_is_about_a_day_of_backoff():
    # 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: 30 attempts reach 24 hours.
    assert attempts_allowed(30, 3600, 24) == 30
    assert attempts_allowed(30, 3600, 0) == 1


def test_retry_delay_is_jittered_and_capped(settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 30
    settings.DELIVERY_RETRY_MAX_SECONDS = 3600
    first = [retry_delay(1) for _ in range(200)]
    assert all(15 <= d <= 30 for d in first)
    assert len(set(first)) > 100  # spread, not one value
    assert all(1800 <= retry_delay(20) <= 3600 for _ in range(50))


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        pytest.param(smtplib.SMTPDataError(550, b"5.7.1 Spam"), True, id="550-data"),
        pytest.param(smtplib.SMTPDataError(451, b"4.3.0 Later"), False, id="451-data"),
        pytest.param(
            smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"No such user")}),
            True,
            id="550-rcpt",
        ),
        pytest.param(
            smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"Mailbox busy")}),
            False,
            id="450-rcpt",
        ),
        pytest.param(
            smtplib.SMTPSenderRefused(553, b"Not allowed", "x@example.org"),
            True,
            id="553-sender",
        ),
        # Our credentials, not this message: retried until someone fixes them.
        pytest.param(
            smtplib.SMTPAuthenticationError(535, b"Bad credentials"),
            False,
            id="535-auth",
        ),
        pytest.param(smtplib.SMTPServerDisconnected("closed"), False, id="disconnect"),
        pytest.param(ConnectionRefusedError(111, "refused"), False, id="refused"),
        pytest.param(TimeoutError("timed out"), False, id="timeout"),
    ],
)
def test_the_reply_code_decides_permanent_or_transient(exc, permanent):
    failure = classify(exc)
    assert failure.permanent is permanent
    assert "@" not in failure.summary  # logs carry codes, never addresses


def test_recipient_refusal_keeps_the_servers_reply():
    exc = smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 No such user")})
    assert classify(exc).detail == "550 5.1.1 No such user (a@example.org)"
