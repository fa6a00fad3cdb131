"""The database connection's health check (config/postgresql/base.py): a
connection the server has ended is replaced before a request uses it, as with
Django's own check; one checked a moment ago with nothing to read is reused
without a round trip; any other gets Django's SELECT 1."""

import psycopg2
import pytest
from django.db import close_old_connections, connection

from config.postgresql import base
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


def _checks_when_reused(monkeypatch) -> list:
    """Django's SELECT 1 checks made as the next request starts."""
    checks = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable())
    close_old_connections()
    return checks


def test_a_connection_with_something_to_read_gets_djangos_check(monkeypatch):
    """Readable is not always ended: a notification waiting is harmless, and
    Django's check keeps the connection."""
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN quillpost_health")
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    try:
        with other.cursor() as cursor:
            cursor.execute("NOTIFY quillpost_health")
    finally:
        other.close()
    wait_until(lambda: not connection._quiet(), 10, "the notification", interval=0.01)
    checks = _checks_when_reused(monkeypatch)
    assert _backend_pid() == pid
    assert checks == [1]
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_connection_unchecked_for_a_while_gets_djangos_check(monkeypatch):
    """A network in between may have dropped it without a word."""
    pid = _backend_pid()
    connection.checked_at -= base.QUIET_SECONDS  # its last request, that long ago
    checks = _checks_when_reused(monkeypatch)
    assert _backend_pid() == pid
    assert checks == [1]
