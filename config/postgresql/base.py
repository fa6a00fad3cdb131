"""Django's PostgreSQL backend with a health check that costs no round trip
while the site is busy.

CONN_HEALTH_CHECKS (config/settings.py) makes Django check a persistent connection
before each request reuses it, so a restarted database costs no request a 500.
Django checks with `SELECT 1`: a round trip on every request that reads or writes,
a thirtieth of a sign POST's CPU between the web process and PostgreSQL
(bench/README.md). A connection the server has ended (a restart, an administrator's
pg_terminate_backend) has something to read: PostgreSQL's "terminating
connection" error, or the end of the stream. So a connection that passed a check
a moment ago, is idle and has nothing to read is taken as sound, as `SELECT 1`
would find it. Any other (readable, not idle, or unchecked for QUIET_SECONDS, in
which a network in between could have dropped it without a word) gets Django's
own check.

Set as the ENGINE of a postgres:// DATABASE_URL in config/settings.py.
"""

import select
import time

from django.db.backends.postgresql import base
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

# How long a check is trusted for a connection with nothing to read: a busy
# connection pays one SELECT 1 in this time, not one per request.
QUIET_SECONDS = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    checked_at = float("-inf")  # time.monotonic() of the last sound check

    def connect(self) -> None:
        super().connect()
        self.checked_at = time.monotonic()  # as good as checked

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
        ):
            return
        if self._quiet():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()  # SELECT 1
        if self.connection is not None:
            self.checked_at = time.monotonic()

    def _quiet(self) -> bool:
        """Checked a moment ago, open, idle, and nothing waiting to be read."""
        raw = self.connection
        if (
            raw is None
            or raw.closed
            or time.monotonic() - self.checked_at >= QUIET_SECONDS
            or raw.info.transaction_status != TRANSACTION_STATUS_IDLE
        ):
            return False
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(raw.fileno(), select.POLLIN)
        return not poller.poll(0)
