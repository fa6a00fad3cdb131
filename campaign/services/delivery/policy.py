"""The retry policy, pure: which failures are retried, how long to wait before
the next attempt, when to give up, and the longest countdown a task may get."""

import random
import smtplib
from dataclasses import dataclass
from functools import cache

from django.conf import settings


def backoff(attempt: int, base: float, ceiling: float) -> float:
    """BASE, 2×BASE, 4×BASE … capped at MAX: the wait after failed attempt n."""
    return min(ceiling, base * 2 ** min(attempt - 1, 62))


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt`, at most
    DELIVERY_RETRY_MAX_SECONDS."""
    # "Equal jitter": half fixed, half random, so rows that failed together
    # (a server outage) do not all come back in the same second.
    nominal = backoff(
        attempt,
        settings.DELIVERY_RETRY_BASE_SECONDS,
        settings.DELIVERY_RETRY_MAX_SECONDS,
    )
    return nominal / 2 + random.uniform(0, nominal / 2)  # noqa: S311 (not crypto)


@cache
def attempts_allowed(base: float, ceiling: float, give_up_hours: float) -> int:
    """Attempts whose backoff delays add up to DELIVERY_GIVE_UP_AFTER_HOURS
    (about 30 with the defaults). Counting attempts rather than hours since the
    row was created means time spent waiting for the throttle is not held
    against a letter, and "Retry now" (which resets attempts) starts afresh."""
    budget, attempts = give_up_hours * 3600, 0
    while budget > 0:
        attempts += 1
        budget -= max(backoff(attempts, base, ceiling), 0.001)
    return max(attempts, 1)


def max_attempts() -> int:
    """attempts_allowed() under the current settings."""
    return attempts_allowed(
        settings.DELIVERY_RETRY_BASE_SECONDS,
        settings.DELIVERY_RETRY_MAX_SECONDS,
        settings.DELIVERY_GIVE_UP_AFTER_HOURS,
    )


def countdown(wait: float) -> float | None:
    """The countdown for a row due again in `wait` seconds, or None to leave it
    to the sweeper. Every countdown a delivery task is given comes from here.

    A task waiting out its countdown holds its queue message unacknowledged in
    the worker; past the broker's visibility timeout Redis would hand that
    message to a second worker as well. So no countdown exceeds
    DELIVERY_COUNTDOWN_MAX_SECONDS, and config/settings.py sets the Redis
    visibility_timeout an hour above it. The bound covers every retry (backoff
    stops at DELIVERY_RETRY_MAX_SECONDS) and a throttled letter's wait for the
    first free slot (at most THROTTLE_WINDOW). A long timeout costs nothing:
    messages a killed worker held are recovered sooner by the sweeper
    (DELIVERY_STUCK_AFTER_SECONDS).

    A letter further back in an official's line (hours away) therefore gets no
    countdown: its next_attempt_at is set, and the sweeper queues it once due,
    a sweep or two late at most, which only spaces the official's letters a
    little further apart. Simpler than waking early and re-queueing: a row that
    is not due yet is SKIPPED, so a duplicate message dies there, while a wake
    that re-queued itself would keep every duplicate alive."""
    return wait if wait <= settings.DELIVERY_COUNTDOWN_MAX_SECONDS else None


# Errors about our session or configuration rather than this message: a 5xx here
# (bad password, our HELO or IP refused) would otherwise fail every row for good.
SESSION_ERRORS = (
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPNotSupportedError,
)


@dataclass(frozen=True)
class Failure:
    permanent: bool
    # For the row (admin) and DEBUG: the server's reply, which may quote the
    # recipient's address, or the error.
    detail: str
    # For INFO lines: only reply codes or an error class, never server text.
    summary: str
    # Not sent because nobody wants it any more (emails.NoLongerWanted): the row
    # is cancelled rather than failed, so it is not counted as a failure.
    cancel: bool = False


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def classify(exc: Exception) -> Failure:
    """smtplib raises the same class for 451 and 550, so the reply code decides
    (4xx transient, 5xx permanent), not the exception type."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{_reply(code, text)} ({rcpt})"
            for rcpt, (code, text) in exc.recipients.items()
        )
        return Failure(
            permanent=bool(codes) and all(500 <= c < 600 for c in codes),
            detail=detail or "All recipients refused",
            summary=",".join(map(str, codes)) or name,
        )
    if isinstance(exc, SESSION_ERRORS):
        return Failure(permanent=False, detail=f"{name}: {exc}", summary=name)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(
            permanent=500 <= exc.smtp_code < 600,
            detail=_reply(exc.smtp_code, exc.smtp_error),
            summary=str(exc.smtp_code),
        )
    # Timeouts, refused connections, disconnects, and anything unexpected: the
    # attempt budget bounds how long we keep trying.
    return Failure(permanent=False, detail=f"{name}: {exc}", summary=name)
