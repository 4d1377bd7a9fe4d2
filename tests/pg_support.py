"""PostgreSQL for tests: the server from TIJARAT_TEST_DATABASE_URL, one database per use.

A module of its own (not conftest.py) so that test modules can import it by name: with
conftest files in several folders, `import conftest` would find whichever came first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from tijarat.settings import normalise_database_url

PG_URL = os.environ.get("TIJARAT_TEST_DATABASE_URL")
PG_SKIP = "TIJARAT_TEST_DATABASE_URL is not set: no PostgreSQL server to test against"


def create_pg_database() -> tuple[str, Callable[[], None]]:
    """A brand-new PostgreSQL database; returns its URL and a function that drops it."""
    assert PG_URL is not None
    server = sa.make_url(normalise_database_url(PG_URL))
    name = f"tijarat_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop
