"""A cheaper way to empty the database after each transactional test.

Django's TransactionTestCase ends each test with `flush`: one TRUNCATE of every
table, then the post_migrate signal re-creates the content types and permissions.
TRUNCATE gives each table new files, so it costs the same however little the test
wrote: ~0.25 s here, for each of ~100 tests. After a test most tables are empty,
and a DELETE from an empty table costs nothing. So instead: one query names the
tables that hold rows, one statement empties them, and the content types and
permissions (what post_migrate would re-create, identically) stay where they are.
The database ends as Django's flush leaves it; sequences are not reset by either.

Anything out of the ordinary (available_apps, serialized rollback, a test that
changed the content types or permissions, an error) falls back to Django's own
flush. The SQL here names only the tables Django's introspection lists.
"""

import pytest
from django.db import DatabaseError, connections, transaction
from django.test import TransactionTestCase

# What post_migrate fills in: kept, and checked unchanged, instead of re-created.
KEPT_TABLES = ("django_content_type", "auth_permission")
# A table this big (bytes on disk, dead rows included) is truncated instead: a
# DELETE would leave that much dead space for later tests to scan past.
TRUNCATE_FROM_BYTES = 4 * 1024 * 1024

_django_fixture_teardown = TransactionTestCase._fixture_teardown
# (A classmethod in Django 5.2: called on the test case class.)
_django_fixture_setup = TransactionTestCase.__dict__["_fixture_setup"].__func__
# Per database alias: its flushable tables, and the kept tables' row counts as
# the migrations left them (recorded before the first transactional test).
_tables: dict[str, list[str]] = {}
_kept_counts: dict[str, tuple[int, ...]] = {}


def _kept(cursor) -> tuple[int, ...]:
    cursor.execute(
        "SELECT (SELECT count(*) FROM django_content_type),"
        " (SELECT count(*) FROM auth_permission)"
    )
    return tuple(cursor.fetchone())


def _empty_tables(connection) -> bool:
    """Empty every table but the kept ones; False if Django's flush must run."""
    alias = connection.alias
    tables = _tables[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if _kept(cursor) != _kept_counts[alias]:
            return False
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT '{t}', pg_relation_size('\"{t}\"')"  # noqa: S608
                f' WHERE EXISTS (SELECT 1 FROM "{t}")'
                for t in tables
            )
        )
        filled = cursor.fetchall()
        big = [t for t, size in filled if size >= TRUNCATE_FROM_BYTES]
        if big:
            # CASCADE: the tables that refer to these are emptied anyway.
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in big) + " CASCADE")
        small = [t for t, size in filled if size < TRUNCATE_FROM_BYTES]
        if small:
            # Foreign keys are DEFERRABLE INITIALLY DEFERRED (Django's default on
            # PostgreSQL): checked at commit, by when the tables are all empty.
            cursor.execute("; ".join(f'DELETE FROM "{t}"' for t in small))  # noqa: S608
    return True


def _fixture_setup(cls):
    for alias in cls._databases_names(include_mirrors=False):
        connection = connections[alias]
        if alias not in _tables and connection.vendor == "postgresql":
            names = connection.introspection.django_table_names(
                only_existing=True, include_views=False
            )
            with connection.cursor() as cursor:
                _kept_counts[alias] = _kept(cursor)
            _tables[alias] = [t for t in names if t not in KEPT_TABLES]
    _django_fixture_setup(cls)


def _fixture_teardown(self):
    aliases = self._databases_names(include_mirrors=False)
    try:
        emptied = (
            self.available_apps is None
            and not self.serialized_rollback
            and all(a in _tables and _empty_tables(connections[a]) for a in aliases)
        )
    except DatabaseError:
        emptied = False
    if not emptied:
        _django_fixture_teardown(self)


@pytest.fixture(scope="session", autouse=True)
def _fast_flush():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            TransactionTestCase, "_fixture_setup", classmethod(_fixture_setup)
        )
        patch.setattr(TransactionTestCase, "_fixture_teardown", _fixture_teardown)
        yield
