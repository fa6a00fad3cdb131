"""The one way the suite waits for something another process or thread does."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# The first pause between two calls of a wait's predicate (see wait_until).
FIRST_INTERVAL = 0.005


class WaitTimeout(AssertionError):
    """What was waited for did not happen in time: a failed expectation."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 15.0,
    message: str | Callable[[], str] = "the condition",
    *,
    interval: float = 0.05,
) -> T:
    """Call `predicate` until it returns something truthy, and return that.

    After `timeout` seconds raise WaitTimeout naming what was awaited (`message`,
    or a callable that builds it then, e.g. to quote a log as it is at the end).

    The pause between calls starts at FIRST_INTERVAL and doubles up to
    `interval`: most waits end within a few milliseconds (a worker's reply, a
    log line), and a fixed 50 ms pause cost each of them 25 ms on average; a
    long wait still polls no more often than `interval`.
    """
    deadline = time.monotonic() + timeout
    pause = min(FIRST_INTERVAL, interval)
    while not (result := predicate()):
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, interval)
    return result
