"""A circuit breaker for Redis, shared by the cache (config/cache.py) and task
publishing (campaign/services/delivery/queueing.py).

Without it, every request made while Redis is down would pay a connection
attempt (and log a traceback); with it, a process that saw Redis fail stops
trying for `retry_seconds`, then lets ONE call through as a probe: the others go
on using their fallback until that probe has answered. One warning per minute at
most says what is happening, however many requests are served meanwhile.

Wall-clock time (time.time), not monotonic, so tests move it with time-machine.
"""

import enum
import logging
import threading
import time

LOG_EVERY_SECONDS = 60.0


class Attempt(enum.Enum):
    NORMAL = "normal"  # closed: Redis answered last time
    PROBE = "probe"  # open, and a retry is due: this caller tries
    SKIP = "skip"  # open: use the fallback without trying


class CircuitBreaker:
    def __init__(
        self, name: str, *, retry_seconds: float, logger: logging.Logger
    ) -> None:
        self.name, self.retry_seconds, self.logger = name, retry_seconds, logger
        self._lock = threading.Lock()
        self._open = False
        self._retry_at = 0.0
        self._skipped = 0  # calls answered by the fallback since the last warning
        self._warned_at = float("-inf")
        self._outage_logged = False  # so "reachable again" is logged as often

    @property
    def is_open(self) -> bool:
        return self._open

    def attempt(self) -> Attempt:
        """Whether the caller should try Redis now."""
        if not self._open:
            return Attempt.NORMAL
        with self._lock:
            now = time.time()
            if self._open and now >= self._retry_at:
                # Others keep skipping while this probe is in flight.
                self._retry_at = now + self.retry_seconds
                return Attempt.PROBE
            self._skipped += 1
            return Attempt.SKIP if self._open else Attempt.NORMAL

    def failed(self, exc: BaseException) -> None:
        """Redis did not answer: open (or keep open) for `retry_seconds`."""
        with self._lock:
            now = time.time()
            self._open, self._retry_at = True, now + self.retry_seconds
            if now - self._warned_at < LOG_EVERY_SECONDS:
                return
            self._warned_at, skipped, self._skipped = now, self._skipped, 0
            self._outage_logged = True
        self.logger.warning(
            "%s unreachable (%s: %s); falling back, next try in %gs "
            "(%d calls answered by the fallback since the last warning)",
            self.name, type(exc).__name__, exc, self.retry_seconds, skipped,
        )  # fmt: skip

    def succeeded(self) -> None:
        """Redis answered: close."""
        if not self._open:
            return
        with self._lock:
            if not self._open:
                return
            self._open, self._skipped = False, 0
            logged, self._outage_logged = self._outage_logged, False
        if logged:
            self.logger.warning("%s reachable again", self.name)

    def reset(self) -> None:
        """Closed, as at start (tests)."""
        with self._lock:
            self._open, self._retry_at, self._skipped = False, 0.0, 0
            self._warned_at, self._outage_logged = float("-inf"), False
