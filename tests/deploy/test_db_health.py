"""The database connection's health check (config/postgresql/base.py): a
connection the server has ended is replaced before a request uses it, as with
Django's own check, and a quiet idle one is reused without a round trip."""

import psycopg2
import pytest
from django.db import close_old_connections, connection

from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_the_server_ended_is_replaced_when_a_request_starts():
    pid = _backend_pid()
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    try:
        with other.cursor() as cursor:
            # What a restart or an administrator does to every connection.
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

            def gone() -> bool:
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                return cursor.fetchone() is None

            wait_until(gone, 10, "the backend to end", interval=0.02)
    finally:
        other.close()
    close_old_connections()  # what Django does as each request starts
    assert _backend_pid() != pid  # a new connection, and no error


def test_a_quiet_idle_connection_is_reused_without_a_query(monkeypatch):
    pid = _backend_pid()
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    close_old_connections()
    assert _backend_pid() == pid
    assert checks == []  # Django's SELECT 1 was not needed
