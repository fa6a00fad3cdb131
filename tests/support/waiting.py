"""The one way the suite waits for something another process or thread does."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
    """
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return result
