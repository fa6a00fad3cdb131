"""What every benchmark here shares: its own throwaway PostgreSQL database, and
the repository root on the import path (a script run as a file has only bench/
there) for the project's packages: campaign, config, tests.support."""

import argparse
import os
import sys
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def add_database_arguments(parser: argparse.ArgumentParser, *, db: str) -> None:
    parser.add_argument("--db", default=db, help="Dropped and re-created.")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database name.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database.")


def admin_sql(server: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE) outside a transaction."""
    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()
