"""Shared fixtures: a fresh ledger on SQLite (always) and on PostgreSQL (when configured).

PostgreSQL tests read TIJARAT_TEST_DATABASE_URL (a server URL; any database name in it is
only used to connect), create their own database and drop it afterwards. Without the
variable they skip with that reason; CI always sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_support import PG_SKIP, PG_URL, create_pg_database
from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.settings import Settings

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment; the CLI's
# Rich consoles, made when tijarat.cli is imported, would fix their width to it for good
# (the CLI tests give the width they want per invocation). As under plain pytest: none set.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/tijarat.db"


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/tijarat.db"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def container(database_url: str, clock: ManualClock) -> Iterator[Container]:
    built = build(Settings(database_url=database_url, environment="test"), clock=clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def sqlite_container(sqlite_url: str, clock: ManualClock) -> Iterator[Container]:
    built = build(Settings(database_url=sqlite_url, environment="test"), clock=clock)
    try:
        yield built
    finally:
        built.close()
