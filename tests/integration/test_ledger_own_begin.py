"""A small warm write opens its own transaction: BEGIN travels in its message (PostgreSQL).

psycopg would otherwise send a BEGIN round trip of its own before the message. The message
goes in autocommit mode, so these tests pin down that the connection always comes back to
psycopg's transaction handling, after a success and after a failure inside the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from tijarat.ledger.store import _own_begin

pytestmark = pytest.mark.postgres


@pytest.fixture
def conn(pg_url: str) -> Iterator[Any]:
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        yield connection


def test_a_message_that_commits_leaves_the_connection_as_psycopg_had_it(conn: Any) -> None:
    with _own_begin(conn) as begins:
        assert begins
        assert conn.autocommit
        conn.execute("BEGIN; CREATE TABLE t (x int); INSERT INTO t VALUES (1); COMMIT")
    assert conn.autocommit is False
    assert conn.info.transaction_status == TransactionStatus.IDLE
    conn.execute("INSERT INTO t VALUES (2)")  # psycopg opens a transaction again ...
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    conn.rollback()  # ... which a rollback undoes
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_failure_inside_the_message_is_rolled_back(conn: Any) -> None:
    conn.execute("CREATE TABLE t (x int)")
    conn.commit()
    with pytest.raises(psycopg.errors.DivisionByZero), _own_begin(conn):
        conn.execute("BEGIN; INSERT INTO t VALUES (1); SELECT 1 / 0; COMMIT")
    assert conn.autocommit is False
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_inside_a_transaction_psycopg_keeps_it(conn: Any) -> None:
    conn.execute("SELECT 1")  # psycopg's BEGIN went first
    with _own_begin(conn) as begins:
        assert not begins
        assert conn.autocommit is False
    assert conn.info.transaction_status == TransactionStatus.INTRANS
