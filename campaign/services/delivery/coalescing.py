"""Confirmation emails handed to the worker together: the first signings a web
process commits within DELIVERY_PUBLISH_WINDOW_SECONDS go out as one task.

Publishing a Celery task costs a sign POST more CPU than anything else it does
(building the message, kombu's producer and Redis client: bench/README.md). Under
a spike, when that matters, one task for the few signings of a window costs what
one did; a quiet site waits the window (200 ms by default) for an email nobody
reads that fast. 0 publishes each at once, as every other kind of row is.

What a window risks is what the outbox already covers: ids not yet published
when the process dies (a SIGKILL, a worker timeout) leave their rows pending, and
the sweeper queues them after DELIVERY_SWEEP_GRACE_SECONDS. A process that exits
normally (gunicorn recycling a worker) publishes what it holds on the way out.
"""

import atexit
import os
import threading

from django.conf import settings

from .queueing import enqueue
from .registry import CONFIRMATIONS


class _Window:
    """This process's ids waiting for their window to end. A timer thread
    publishes them; it touches no database connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Held while publishing: the exit hook waits for a timer that is half-way
        # through a publish (the process would otherwise end under it).
        self._publishing = threading.Lock()
        self._ids: list[int] = []
        self._timer: threading.Timer | None = None

    def add(self, ids: list[int]) -> None:
        seconds = settings.DELIVERY_PUBLISH_WINDOW_SECONDS
        if seconds <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
            enqueue(CONFIRMATIONS, ids)  # eager: the task runs here and now
            return
        with self._lock:
            self._ids.extend(ids)
            if self._timer is None:
                self._timer = threading.Timer(seconds, self.flush)
                self._timer.daemon = True  # the exit hook publishes, not this
                self._timer.start()

    def flush(self) -> None:
        with self._publishing:
            with self._lock:
                ids, self._ids = self._ids, []
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = None
            if ids:
                enqueue(CONFIRMATIONS, ids)

    def forget(self) -> None:
        """In a forked child: the parent's ids and timer are the parent's."""
        self._lock, self._publishing = threading.Lock(), threading.Lock()
        self._ids, self._timer = [], None


_window = _Window()
atexit.register(_window.flush)
os.register_at_fork(after_in_child=_window.forget)


def confirmations_publish(*, confirmation_ids: list[int]) -> None:
    """Hand confirmation emails to the worker within the window. Call after
    commit."""
    _window.add(confirmation_ids)


def confirmations_flush() -> None:
    """Publish what the window holds now (tests, shutdown)."""
    _window.flush()
