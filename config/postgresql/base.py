"""Django's PostgreSQL backend with a health check that costs no round trip.

CONN_HEALTH_CHECKS (config/settings.py) makes Django check a persistent connection
before each request reuses it, so a restarted database costs no request a 500.
Django checks with `SELECT 1`: a round trip on every request that reads or writes,
a thirtieth of a sign POST's CPU between the web process and PostgreSQL
(bench/README.md). An idle connection the server has given up on is readable
(PostgreSQL sends its "terminating connection" error and closes it; a crashed
backend's socket closes): when the socket has nothing to read, the connection
is as good as `SELECT 1` would find it, and only a readable socket (or one not
idle) gets Django's own check.

Set as the ENGINE of a postgres:// DATABASE_URL in config/settings.py.
"""

import select

from django.db.backends.postgresql import base
from psycopg2.extensions import TRANSACTION_STATUS_IDLE


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if self.health_check_enabled and not self.health_check_done and self._quiet():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """Open, idle, and nothing from the server waiting to be read."""
        raw = self.connection
        if (
            raw is None
            or raw.closed
            or raw.info.transaction_status != (TRANSACTION_STATUS_IDLE)
        ):
            return False
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(raw.fileno(), select.POLLIN)
        return not poller.poll(0)
