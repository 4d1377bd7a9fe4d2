"""Persistence for the ledger: the schema, and the hot path on raw DB-API connections.

One transaction per batch: evaluate it in memory (engine.Batch), write the rows with one
statement per table (COPY on PostgreSQL), commit once.

Balances live in one place, the balance history: each transfer row carries both accounts'
balances just after it, and an account's balances are those of its newest transfer (the view
`ledger_account_balances`, migration 0013). Account rows hold only what an account is, so a
batch writes its transfers and pending transfers and never rewrites the accounts it touched.

Two ways to know the balances a batch is evaluated on:

- **Warm** (the usual case): this process holds the accounts and pending transfers in memory,
  as they stood after the last transaction *it* committed, and names that transaction's head
  token in its write (`ledger_head`, see migration 0012). If any other writer committed in
  between, the head's CHECK rejects the write, the batch is retried cold, and the process
  stays cold for a second. No load round trip, and on PostgreSQL batch N+1 is evaluated
  while batch N's writes and COMMIT run (write phases go one at a time, in order).
  TigerBeetle keeps its state in memory for the same reason; the head makes it safe for more
  than one process to write.
- **Cold** (after a start, a failure, another writer, or a due pending transfer): lock the
  head, load what the batch touches, then warm the cache with it.

Locking: one lock, the head row. A cold transaction takes it before it reads; a warm one's
first write moves it (and fails if it moved since the cache was current). Every ledger write
transaction therefore holds the head before it changes a pending transfer, and writers queue
on it instead of on the accounts they share: no lock order to keep, no deadlock between
ledger writers. (Rows streamed by COPY during a warm evaluation precede the head; only two
processes inserting the same transfer id at once can then wait on each other, which the
server breaks as a deadlock and the batch is retried whole.) SQLite has one writer at a time
(BEGIN IMMEDIATE).

Idempotency is optimistic: a batch is first evaluated without looking its ids up; a unique
violation on insert, or any failed event whose id turns out to be stored, re-runs the batch
with every id looked up. Retries of stored transfers therefore cost one extra pass, and fresh
transfers cost nothing extra.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter

from tijarat.kernel.clock import Clock
from tijarat.kernel.errors import DomainError
from tijarat.ledger.engine import Batch
from tijarat.ledger.errors import LedgerError
from tijarat.ledger.model import (
    TRANSFER_SUCCESS,
    Account,
    AccountFlags,
    Balance,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
    PendingState,
    PendingStatus,
    Statement,
    StatementEntry,
    Transfer,
    TransferRecord,
    VerifyReport,
)
from tijarat.ledger.verify import verify

metadata = sa.MetaData()


class _QuietAbortedPipeline(logging.Filter):
    """A unique violation ends a pipeline; psycopg then warns that it discarded the rest.

    That is our retry path working (the batch re-runs with its ids looked up), not a fault.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_QuietAbortedPipeline())

ledgers_table = sa.Table(
    "ledger_ledgers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
)

accounts_table = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("ledger", sa.Integer, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=True),
    sa.Column("user_data_64", sa.BigInteger, nullable=False),
    sa.Column("user_data_32", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Index("ix_ledger_accounts_owner_id", "owner_id"),
)
# Accounts with their balances, read off the newest transfer of each (migration 0013).
ACCOUNTS_VIEW = "ledger_account_balances"

TRANSFER_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "pending_id",
    "user_data_128",
    "user_data_64",
    "user_data_32",
    "timeout",
    "ledger",
    "code",
    "flags",
    "timestamp",
    "debit_debits_pending",
    "debit_debits_posted",
    "debit_credits_pending",
    "debit_credits_posted",
    "credit_debits_pending",
    "credit_debits_posted",
    "credit_credits_pending",
    "credit_credits_posted",
)

transfers_table = sa.Table(
    "ledger_transfers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("debit_account_id", sa.Uuid, nullable=False),
    sa.Column("credit_account_id", sa.Uuid, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("pending_id", sa.Uuid, nullable=True),
    sa.Column("user_data_128", sa.Uuid, nullable=True),
    sa.Column("user_data_64", sa.BigInteger, nullable=False),
    sa.Column("user_data_32", sa.Integer, nullable=False),
    sa.Column("timeout", sa.Integer, nullable=False),
    sa.Column("ledger", sa.Integer, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    # Balance history: both accounts' balances just after this transfer.
    *(
        sa.Column(name, sa.BigInteger, nullable=False)
        for name in TRANSFER_COLUMNS[13:]  # the eight balance columns
    ),
    # Statements walk one account's transfers in time order, debit side and credit side.
    sa.Index("ix_ledger_transfers_debit", "debit_account_id", "timestamp"),
    sa.Index("ix_ledger_transfers_credit", "credit_account_id", "timestamp"),
)

pending_table = sa.Table(
    "ledger_pending_transfers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("debit_account_id", sa.Uuid, nullable=False),
    sa.Column("credit_account_id", sa.Uuid, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("ledger", sa.Integer, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("resolved_by", sa.Uuid, nullable=True),
    # Only open pendings with a timeout: the expiry sweep reads this small index.
    sa.Index(
        "ix_ledger_pending_due",
        "expires_at",
        postgresql_where=sa.text("status = 1 AND expires_at > 0"),
        sqlite_where=sa.text("status = 1 AND expires_at > 0"),
    ),
)

# One row, moved by every write transaction (see the module's docstring and migration 0012).
head_table = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("token", sa.BigInteger, nullable=False),
    sa.Column("previous", sa.BigInteger, nullable=False),
    sa.Column("expected", sa.BigInteger, nullable=False),
    sa.Column("batches", sa.BigInteger, nullable=False),
    sa.CheckConstraint("previous = expected", name="ck_ledger_head_guard"),
)
HEAD_GUARD = "ck_ledger_head_guard"

# Warm batches are the fast path; many cold ones mean other processes write to the same
# database at the same time (each makes the other's memory stale), which /metrics shows.
BATCHES = Counter(
    "tijarat_ledger_batches_total",
    "Ledger write transactions committed, by where their balances came from",
    ["path"],
)
_WARM = BATCHES.labels("warm")
_COLD = BATCHES.labels("cold")

ACCOUNT_ROW_COLUMNS = tuple(column.name for column in accounts_table.columns)
ACCOUNT_COLUMNS = (  # ACCOUNTS_VIEW's, in the order of Account's fields
    *ACCOUNT_ROW_COLUMNS[:7],
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
    "timestamp",
    "last_transfer_timestamp",
)
PENDING_COLUMNS = tuple(column.name for column in pending_table.columns)

ATTEMPTS_MAX = 20  # retries of one batch after a transient conflict
EXPIRY_SWEEP_MAX = 1_000  # expired pendings voided per batch; the rest go in the next
STATEMENT_ENTRIES_MAX = 10_000
STREAM_ROWS_MIN = 256  # larger batches COPY their rows while being evaluated
COLD_AFTER_STALE_S = 1.0  # another process is writing: lock and load for this long
CACHED_ACCOUNTS_MAX = 200_000  # beyond this the cache starts again (entries reload on demand)
CACHED_PENDINGS_MAX = 100_000
NEVER = (1 << 63) - 1
PREPARED_ON_CONNECTION = "tijarat_ledger_prepared"  # names prepared on a driver connection


@dataclasses.dataclass(slots=True, eq=False)
class _Cache:
    """The ledger's state as this process last wrote it: valid while the head shows `token`.

    Replaced whole (never cleared in place) when it can no longer be trusted, so a batch
    still holding the old object can only fail its head check, never spoil the new one.
    """

    token: int | None = None  # None: cold, lock and load
    accounts: dict[int, Account] = dataclasses.field(default_factory=dict)
    pendings: dict[int, PendingState] = dataclasses.field(default_factory=dict)
    next_due: int = NEVER  # no open pending transfer expires before this (ns)


class _RetryBatchError(Exception):
    """A transient conflict: roll back and run the batch again."""

    def __init__(self, *, lookup: bool) -> None:
        super().__init__("retry")
        self.lookup = lookup


class _StaleCacheError(Exception):
    """What a warm batch read to complete its memory shows another writer committed since:
    the memory is stale, and mixing it with fresh rows could break what the engine assumes
    (a pending transfer whose reservation the cached balances do not hold)."""


class LedgerStore:
    """The ledger's tables in one database, reached through a SQLAlchemy engine's pool."""

    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.dialect = engine.dialect.name
        self._postgres = self.dialect == "postgresql"
        if self.dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported database: {self.dialect}")
        self._last_timestamp = 0
        self._cursors = 0
        self._local = threading.local()
        # The cache and the order of batches (see the module's docstring).
        self._cache = _Cache()
        self._cache_lock = threading.Lock()
        self._evaluating = threading.Lock()  # one batch evaluated at a time, in head order
        self._turns = threading.Condition()
        self._issued = 0  # warm batches evaluated ...
        self._written = 0  # ... and of those, written (committed or failed)
        self._committed_token: int | None = None
        self._cold_until = 0.0
        self.warm_batches = 0  # for benchmarks and tests
        self.cold_batches = 0

    # ------------------------------------------------------------------ connections
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A raw DB-API connection inside one write transaction, committed on success.

        A thread that pinned a connection (the group-commit workers) reuses it: no pool
        checkout per batch. A connection that broke is thrown away, never reused.
        """
        pinned = getattr(self._local, "raw", None)
        raw = pinned if pinned is not None else self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            if not self._postgres:
                driver.execute("BEGIN IMMEDIATE")
            yield driver
            if self._postgres:
                driver.commit()  # nothing to do if the batch's pipeline committed
            elif driver.in_transaction:
                driver.execute("COMMIT")
        except BaseException as error:
            if _disconnected(error):
                raw.invalidate()
                if pinned is not None:
                    self._local.raw = None
            else:
                _rollback(raw.driver_connection, postgres=self._postgres)
            raise
        finally:
            if pinned is None:
                raw.close()

    def pin_connection(self) -> None:
        """Keep one pooled connection for this thread's batches (until unpin_connection)."""
        if getattr(self._local, "raw", None) is None:
            self._local.raw = self.engine.raw_connection()

    def unpin_connection(self) -> None:
        raw = getattr(self._local, "raw", None)
        if raw is not None:
            self._local.raw = None
            raw.close()

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            yield driver
            _rollback(driver, postgres=self._postgres)
        finally:
            raw.close()

    def _id(self, value: uuid.UUID | None) -> Any:
        if value is None:
            return None
        return value if self._postgres else value.hex

    def _uuid(self, value: Any) -> uuid.UUID | None:
        if value is None:
            return None
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)

    def _ids_param(self, ids: Iterable[uuid.UUID]) -> str:
        """A list of ids as one text parameter: a PostgreSQL array literal or a JSON array.

        Text, because psycopg dumps a Python list element by element in Python, which cost
        more than the rest of a batch's reads together.
        """
        if self._postgres:
            return "{" + ",".join([f"{value.int:032x}" for value in ids]) + "}"
        return "[" + ",".join([f'"{value.int:032x}"' for value in ids]) + "]"

    def _in_ids(self, column: str) -> str:
        if self._postgres:
            return f"{column} = ANY(%s::uuid[])"
        return f"{column} IN (SELECT value FROM json_each(?))"

    def _sql(self, text: str) -> str:
        return text if self._postgres else text.replace("%s", "?")

    # ------------------------------------------------------------------ ledgers
    def create_ledger(self, ledger: Ledger) -> bool:
        """Register a ledger (one currency); True if created, False if it already existed."""
        with self._transaction() as conn:
            row = conn.execute(
                self._sql("SELECT currency, name FROM ledger_ledgers WHERE id = %s"),
                (ledger.id,),
            ).fetchone()
            if row is not None:
                if row[0] != ledger.currency:
                    raise DomainError(
                        LedgerError.LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY,
                        f"ledger {ledger.id} exists with currency {row[0]}",
                        status=409,
                        fields={"ledger": ledger.id, "currency": row[0]},
                    )
                return False
            conn.execute(
                self._sql("INSERT INTO ledger_ledgers (id, currency, name) VALUES (%s, %s, %s)"),
                (ledger.id, ledger.currency, ledger.name),
            )
            return True

    def ledgers(self) -> list[Ledger]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, currency, name FROM ledger_ledgers ORDER BY id"
            ).fetchall()
        return [Ledger(row[0], row[1], row[2]) for row in rows]

    # ------------------------------------------------------------------ batches
    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        def run(conn: Any, _lookup: bool) -> tuple[Batch, list[CreateAccountResult]]:
            ids = sorted({a.id for a in accounts if type(a.id) is uuid.UUID})
            batch = Batch(
                accounts=self._read_accounts(conn, ids),
                pendings={},
                existing={},
                not_pending_ids=set(),
                ledgers=self._ledger_ids(conn),
                timestamp_start=self._timestamp_start([]),
                now_ns=self.clock.now_ns(),
            )
            results = batch.create_accounts(accounts)
            self._write_accounts(conn, batch.accounts_created)
            return batch, results

        results: list[CreateAccountResult] = self._retrying(lambda lookup: self._cold(run, lookup))
        return results

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        results: list[CreateTransferResult] = self._retrying(
            lambda lookup: self._apply_transfers(transfers, lookup)
        )
        return results

    def _apply_transfers(
        self, transfers: Sequence[Transfer], lookup: bool
    ) -> list[CreateTransferResult]:
        # Sets of UUIDs hash in Python; sets of uuid.int hash in C. Keep ints until the ids
        # go to the database.
        pending_ids = {
            t.pending_id.int: t.pending_id for t in transfers if type(t.pending_id) is uuid.UUID
        }
        account_ids: dict[int, uuid.UUID] = {}
        for t in transfers:
            for account_id in (t.debit_account_id, t.credit_account_id):
                if type(account_id) is uuid.UUID:
                    account_ids[account_id.int] = account_id

        def cold_body(conn: Any, lookup: bool) -> tuple[Batch, list[CreateTransferResult]]:
            now = self.clock.now_ns()
            pendings, accounts = self._load_batch(conn, now, pending_ids, dict(account_ids))
            return self._evaluate(
                conn, transfers, lookup, now, pending_ids, accounts, pendings, cold=True
            )

        self._evaluating.acquire()  # _cold and _warm let it go
        try:
            cold = (
                self._cache.token is None
                or self._cache.next_due <= self.clock.now_ns()
                or time.monotonic() < self._cold_until
            )
        except BaseException:
            self._evaluating.release()
            raise
        if cold:
            return self._cold(cold_body, lookup, locked=True)  # type: ignore[no-any-return]
        return self._warm(transfers, lookup, pending_ids, account_ids)

    def _evaluate(
        self,
        conn: Any,
        transfers: Sequence[Transfer],
        lookup: bool,
        now: int,
        pending_ids: dict[int, uuid.UUID],
        accounts: dict[int, Account],
        pendings: dict[int, PendingState],
        *,
        cold: bool,
        copying: ExitStack | None = None,
    ) -> tuple[Batch, list[CreateTransferResult]]:
        """Evaluate a batch on the state given; due pendings in `pendings` expire first.

        On PostgreSQL a large batch's rows stream into a COPY as they are evaluated. The COPY
        is finished here, or, given `copying`, when the caller closes it: a warm batch does
        so after letting the next batch's evaluation start, so that the server's last rows
        overlap it instead of holding it up.
        """
        missing = [value for key, value in pending_ids.items() if key not in pendings]
        existing: dict[int, Transfer] = {}
        if lookup:
            ids = [t.id for t in transfers if type(t.id) is uuid.UUID]
            existing = self._load_transfers(conn, ids + missing)
        not_pending = {m.int for m in missing} & existing.keys()
        if missing and not lookup:
            not_pending = set(self._load_transfers(conn, missing))
        batch = Batch(
            accounts=accounts,
            pendings=pendings,
            existing=existing,
            not_pending_ids=not_pending,
            ledgers=set(),
            # Timestamps follow every other writer's: a cold batch's accounts carry theirs (a
            # warm batch holds only accounts this process wrote or read, all counted already).
            timestamp_start=self._timestamp_start(accounts.values() if cold else ()),
            now_ns=now,
        )
        stream = self._postgres and len(transfers) > STREAM_ROWS_MIN
        with ExitStack() as mine:
            if stream:
                (copying if copying is not None else mine).enter_context(
                    self._streaming_rows(conn, batch)
                )
            if cold:  # the pending transfers it read include those due; warm: none is due
                batch.expire_due(list(pendings.values()))
            results = batch.create_transfers(transfers)
            batch.flush()
            if stream:
                batch.sink = None
                batch.rows.clear()  # handed to the COPY
        if not lookup:
            failed = [
                t.id
                for t, r in zip(transfers, results, strict=True)
                if r not in TRANSFER_SUCCESS and type(t.id) is uuid.UUID
            ]
            if failed:
                if copying is not None:
                    copying.close()  # the connection is busy until the COPY ends
                if self._load_transfers(conn, failed):
                    # A failure may really be the retry of a stored transfer: look again.
                    raise _RetryBatchError(lookup=True)
        self._last_timestamp = max(self._last_timestamp, batch.last_timestamp)
        return batch, results

    def _warm(
        self,
        transfers: Sequence[Transfer],
        lookup: bool,
        pending_ids: dict[int, uuid.UUID],
        account_ids: dict[int, uuid.UUID],
    ) -> list[CreateTransferResult]:
        """Evaluate on the cache, then write with the head check; called holding
        `_evaluating`, which it lets go.

        On PostgreSQL the lock is let go before the write phase, so the next batch is
        evaluated (and its rows streamed) while this one's COPY ends, and it writes and
        commits.
        """
        held = True
        try:
            if len(self._cache.accounts) > CACHED_ACCOUNTS_MAX or (
                len(self._cache.pendings) > CACHED_PENDINGS_MAX
            ):
                self._drain()  # no batch in flight still refers to the entries let go
                old = self._cache
                self._cache = _Cache(token=old.token, next_due=old.next_due)
            cache = self._cache
            expected = cache.token
            with self._transaction() as conn, ExitStack() as copying:
                try:
                    self._load_missing(conn, cache, pending_ids, account_ids)
                    # No pending transfer is due (next_due), so none expires here.
                    batch, results = self._evaluate(
                        conn,
                        transfers,
                        lookup,
                        self.clock.now_ns(),
                        pending_ids,
                        cache.accounts,
                        cache.pendings,
                        cold=False,
                        copying=copying,
                    )
                    statements = self._write_statements(batch)
                    for pending in batch.pending_new.values():
                        if 0 < pending.expires_at < cache.next_due:
                            cache.next_due = pending.expires_at
                    _forget_resolved(cache, batch)
                    token = _new_token()
                    cache.token = token
                    with self._turns:
                        self._issued += 1
                        ticket = self._issued
                except BaseException as error:
                    self._spoil(cache)  # the evaluation may have changed cached balances
                    if isinstance(error, _StaleCacheError):
                        self._cold_until = time.monotonic() + COLD_AFTER_STALE_S
                    raise
                if self._postgres:
                    held = False
                    self._evaluating.release()
                try:
                    self._wait_turn(ticket)
                    copying.close()  # the server's last rows of this batch's COPY
                    self._send(conn, statements, expected=expected, token=token)
                except BaseException as error:
                    self._spoil(cache)
                    if _transient(error) == "stale" and expected == self._committed_token:
                        # Not this process' earlier batch failing: another writer moved the
                        # head. Lock and load for a while instead of failing every batch.
                        self._cold_until = time.monotonic() + COLD_AFTER_STALE_S
                    raise
                else:
                    self._committed_token = token
                    self.warm_batches += 1
                    _WARM.inc()
                finally:
                    self._finish(ticket)
            return results
        finally:
            if held:
                self._evaluating.release()

    def _load_missing(
        self,
        conn: Any,
        cache: _Cache,
        pending_ids: dict[int, uuid.UUID],
        account_ids: dict[int, uuid.UUID],
    ) -> None:
        """Read into the cache what a warm batch names and it lacks (no locks: the head
        check at the write proves nobody changed them since).

        The head is read after them: if anyone committed since the cache was current (before
        or during these reads), the batch goes cold before it is evaluated on a mix of fresh
        rows and stale memory."""
        wanted_pendings = [value for key, value in pending_ids.items() if key not in cache.pendings]
        wanted = {key: value for key, value in account_ids.items() if key not in cache.accounts}
        if not wanted_pendings and not wanted:
            return
        self._drain()  # the database must show every batch the cache already holds
        pendings = self._select_pendings(conn, wanted_pendings)
        cache.pendings.update(pendings)
        for p in pendings.values():
            for account_id in (p.debit_account_id, p.credit_account_id):
                if account_id.int not in cache.accounts:
                    wanted[account_id.int] = account_id
        if wanted:
            accounts = self._read_accounts(conn, wanted.values())
            cache.accounts.update(accounts)
            newest = max((a.last_transfer_timestamp for a in accounts.values()), default=0)
            self._last_timestamp = max(self._last_timestamp, newest)
        head = conn.execute(_HEAD_READ).fetchone()
        if head is None or head[0] != cache.token:
            raise _StaleCacheError("the ledger's head moved: another process wrote")

    def _cold(self, body: Any, lookup: bool, *, locked: bool = False) -> Any:
        """Run `body(conn, lookup) -> (batch, results)` locking and loading, then warm the
        cache with what the batch locked."""
        if not locked:
            self._evaluating.acquire()
        try:
            self._drain()
            token = _new_token()
            with self._transaction() as conn:
                self._lock_head(conn)
                batch, results = body(conn, lookup)
                previous, next_due = self._send(
                    conn, self._write_statements(batch), expected=None, token=token
                )
            cache = self._cache
            if cache.token is None or previous != cache.token:
                # Someone else wrote since: trust only what this transaction read.
                cache = self._cache = _Cache()
            cache.accounts.update(batch.accounts)
            # A warm batch's timestamps start after this process' last one only, so every
            # account it holds must be counted in it. A body that wrote no transfer (closing
            # an account, creating one that exists) read accounts another process may have
            # written to later than this process' last transfer.
            newest = max((a.last_transfer_timestamp for a in batch.accounts.values()), default=0)
            self._last_timestamp = max(self._last_timestamp, newest)
            cache.pendings.update(
                (key, p) for key, p in batch.pendings.items() if p.status is PendingStatus.PENDING
            )
            _forget_resolved(cache, batch)
            cache.token, cache.next_due = token, next_due
            self._committed_token = token
            self.cold_batches += 1
            _COLD.inc()
            return results
        finally:
            self._evaluating.release()

    def _lock_head(self, conn: Any) -> None:
        """A cold transaction takes the head before it reads: until it commits, no other
        ledger write commits, so what it reads stays true. (SQLite's BEGIN IMMEDIATE
        already holds the only write lock.)"""
        if not self._postgres:
            return
        if conn.execute(_HEAD_LOCK).fetchone() is None:
            conn.execute(_HEAD_ENSURE)  # a schema made without the migration's insert
            conn.execute(_HEAD_LOCK)

    def _load_batch(
        self,
        conn: Any,
        now: int,
        pending_ids: dict[int, uuid.UUID],
        account_ids: dict[int, uuid.UUID],
    ) -> tuple[dict[int, PendingState], dict[int, Account]]:
        """Load what a batch touches: pending transfers (named or due), then accounts,
        including those of every pending transfer it names or that is due.

        Called holding the head's lock, so nobody changes them before this batch commits.
        On PostgreSQL both statements go in one round trip (pipeline mode).
        """
        if not self._postgres:
            due = self._due_pendings(conn, now)
            wanted = dict(pending_ids)
            wanted.update((p.id.int, p.id) for p in due)
            pendings = self._select_pendings(conn, list(wanted.values()))
        else:
            named = self._ids_param(pending_ids.values())
            with conn.pipeline():
                pending_cursor = conn.cursor(binary=True)
                pending_cursor.execute(_PG_LOAD_PENDINGS, (now, named))
                account_cursor = conn.cursor(binary=True)
                account_cursor.execute(
                    _PG_LOAD_ACCOUNTS, (now, named, self._ids_param(account_ids.values()))
                )
            pendings = {p.id.int: p for p in map(self._pending, pending_cursor.fetchall())}
            accounts = {a.id.int: a for a in map(self._account, account_cursor.fetchall())}
            pending_cursor.close()
            account_cursor.close()
        # Accounts of the pending transfers (on SQLite, all of them; on PostgreSQL, only
        # what changed between the two statements, which is rare and then retried safely).
        for p in pendings.values():
            account_ids[p.debit_account_id.int] = p.debit_account_id
            account_ids[p.credit_account_id.int] = p.credit_account_id
        if not self._postgres:
            return pendings, self._read_accounts(conn, account_ids.values())
        late = [value for key, value in account_ids.items() if key not in accounts]
        if late:
            accounts.update(self._read_accounts(conn, late))
        return pendings, accounts

    def expire_due(self) -> int:
        """Void every pending transfer whose timeout has passed (a batch with no events)."""
        expired: int = self._retrying(lambda lookup: self._cold(self._expire_run, lookup))
        return expired

    def _expire_run(self, conn: Any, _lookup: bool) -> tuple[Batch, int]:
        now = self.clock.now_ns()
        due = self._due_pendings(conn, now)
        pendings = self._select_pendings(conn, [p.id for p in due])
        ids = {p.debit_account_id for p in pendings.values()}
        ids |= {p.credit_account_id for p in pendings.values()}
        accounts = self._read_accounts(conn, ids)
        batch = Batch(
            accounts=accounts,
            pendings=pendings,
            existing={},
            not_pending_ids=set(),
            ledgers=set(),
            timestamp_start=self._timestamp_start(accounts.values()),
            now_ns=now,
        )
        expired = batch.expire_due(list(pendings.values()))
        self._last_timestamp = max(self._last_timestamp, batch.last_timestamp)
        return batch, expired

    def _retrying(self, once: Any) -> Any:
        """Run `once(lookup)`, again after a transient conflict (with every id looked up
        after a unique violation or a lost connection)."""
        lookup = False
        for attempt in range(ATTEMPTS_MAX):
            try:
                return once(lookup)
            except _RetryBatchError as retry:
                lookup = lookup or retry.lookup
            except Exception as error:
                kind = _transient(error)
                if kind is None:
                    raise
                lookup = lookup or kind in ("unique", "disconnect")
                if kind in ("stale", "prepare"):
                    continue  # not the database busy: go again now
            time.sleep(min(0.001 * (2**attempt), 0.05))
        raise DomainError(
            LedgerError.LEDGER_BUSY,
            "the ledger stayed busy with conflicting writes; try again",
            status=503,
        )

    # ------------------------------------------------------------------ the cache's order
    def busy(self) -> bool:
        """A batch is being evaluated or written in this process right now."""
        return self._evaluating.locked() or self._written != self._issued

    def _spoil(self, cache: _Cache) -> None:
        """A batch evaluated on `cache` failed: nobody may build on that cache any more."""
        with self._cache_lock:
            if self._cache is cache:
                self._cache = _Cache()

    def _wait_turn(self, ticket: int) -> None:
        """Write phases run one at a time, in the order their batches were evaluated."""
        with self._turns:
            while self._written != ticket - 1:
                self._turns.wait()

    def _finish(self, ticket: int) -> None:
        with self._turns:
            self._written = ticket
            self._turns.notify_all()

    def _drain(self) -> None:
        """Wait until every evaluated batch has committed or failed."""
        with self._turns:
            while self._written != self._issued:
                self._turns.wait()

    def _timestamp_start(self, accounts: Iterable[Account]) -> int:
        newest = max((a.last_transfer_timestamp for a in accounts), default=0)
        return max(self.clock.now_ns(), newest + 1, self._last_timestamp + 1)

    # ------------------------------------------------------------------ reads under lock
    def _ledger_ids(self, conn: Any) -> set[int]:
        return {row[0] for row in conn.execute("SELECT id FROM ledger_ledgers").fetchall()}

    def _read_accounts(self, conn: Any, ids: Iterable[uuid.UUID]) -> dict[int, Account]:
        """Accounts with their balances, keyed by uuid.int (a write transaction reads them
        holding the head's lock, or checks the head after, see _load_missing)."""
        ids = list(ids)
        if not ids:
            return {}
        columns = ", ".join(ACCOUNT_COLUMNS)
        sql = self._sql(f"SELECT {columns} FROM {ACCOUNTS_VIEW} WHERE {self._in_ids('id')}")
        if self._postgres:
            # Binary results: ids and balances arrive as C-parsed values, not text.
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(sql, (self._ids_param(ids),)).fetchall()
        else:
            rows = conn.execute(sql, (self._ids_param(ids),)).fetchall()
        return {account.id.int: account for account in map(self._account, rows)}

    def _account(self, row: Sequence[Any]) -> Account:
        return Account(
            self._uuid(row[0]),  # type: ignore[arg-type]
            row[1],
            row[2],
            row[3],
            self._uuid(row[4]),
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            row[12],
        )

    def _pending(self, row: Sequence[Any]) -> PendingState:
        return PendingState(
            self._uuid(row[0]),  # type: ignore[arg-type]
            self._uuid(row[1]),  # type: ignore[arg-type]
            self._uuid(row[2]),  # type: ignore[arg-type]
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            PendingStatus(row[8]),
            self._uuid(row[9]),
        )

    def _due_pendings(self, conn: Any, now: int) -> list[PendingState]:
        columns = ", ".join(PENDING_COLUMNS)
        rows = conn.execute(
            self._sql(
                f"SELECT {columns} FROM ledger_pending_transfers "
                "WHERE status = 1 AND expires_at > 0 AND expires_at <= %s "
                f"ORDER BY expires_at LIMIT {EXPIRY_SWEEP_MAX}"
            ),
            (now,),
        ).fetchall()
        return [self._pending(row) for row in rows]

    def _load_transfers(self, conn: Any, ids: Iterable[uuid.UUID]) -> dict[int, Transfer]:
        ids = list(ids)
        if not ids:
            return {}
        columns = ", ".join(TRANSFER_COLUMNS[:13])
        rows = conn.execute(
            self._sql(f"SELECT {columns} FROM ledger_transfers WHERE {self._in_ids('id')}"),
            (self._ids_param(ids),),
        ).fetchall()
        return {t.id.int: t for t in (self._transfer(row) for row in rows)}

    def _transfer(self, row: Sequence[Any]) -> Transfer:
        return Transfer(
            self._uuid(row[0]),  # type: ignore[arg-type]
            self._uuid(row[1]),
            self._uuid(row[2]),
            row[3],
            self._uuid(row[4]),
            self._uuid(row[5]),
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            row[12],
        )

    # ------------------------------------------------------------------ writes
    def _write_accounts(self, conn: Any, accounts: Sequence[Account]) -> None:
        if not accounts:
            return
        rows = [
            (
                self._id(a.id),
                a.ledger,
                a.code,
                a.flags,
                self._id(a.owner_id),
                a.user_data_64,
                a.user_data_32,
                a.timestamp,
            )
            for a in accounts
        ]
        marks = ", ".join(["%s"] * len(ACCOUNT_ROW_COLUMNS))
        sql = f"INSERT INTO ledger_accounts ({', '.join(ACCOUNT_ROW_COLUMNS)}) VALUES ({marks})"
        _executemany(conn, self._sql(sql), rows, postgres=self._postgres)

    @contextmanager
    def _streaming_rows(self, conn: Any, batch: Batch) -> Iterator[None]:
        """On PostgreSQL, COPY the batch's transfer rows while it is being evaluated.

        psycopg's QueuedLibpqWriter sends from a background thread, so the server inserts rows
        while this thread evaluates the next ones. A batch that fails rolls the COPY back
        with its transaction.
        """
        if not self._postgres:
            yield
            return
        from psycopg.copy import QueuedLibpqWriter  # noqa: PLC0415 - PostgreSQL only

        with conn.cursor() as cursor:
            columns = ", ".join(TRANSFER_COLUMNS)
            with cursor.copy(
                f"COPY ledger_transfers ({columns}) FROM STDIN (FORMAT BINARY)",
                writer=QueuedLibpqWriter(cursor),
            ) as copy:
                copy.set_types(_TRANSFER_PG_TYPES)
                write_row = copy.write_row

                def sink(rows: list[tuple[Any, ...]]) -> None:
                    for row in rows:
                        write_row(row)

                batch.sink = sink
                yield

    def _write_statements(self, batch: Batch) -> list[_Statement]:
        """The batch's writes as (sql, parameters, many): built now, sent later (after the
        head move, see _send). Transfers first (a duplicate id fails fast), then pendings.

        Built while the evaluation lock is held, because the next batch changes the same
        cached pending transfers.
        """
        if self._postgres:
            return self._statements_postgres(batch)
        return self._statements_sqlite(batch)

    def _statements_postgres(self, batch: Batch) -> list[_Statement]:
        """Rows not streamed during evaluation (small batches, expiry sweeps) go as one
        INSERT ... SELECT FROM unnest(...) per table: COPY cannot be pipelined, and for a
        few rows the round trips cost more than the statement."""
        out: list[_Statement] = []
        if batch.rows:
            columns = list(zip(*batch.rows, strict=True))
            out.append((_PG_INSERT_TRANSFERS, _arrays(columns, _TRANSFER_PG_TYPES), False))
        if batch.pending_new:
            rows = [_pending_row(p) for p in batch.pending_new.values()]
            columns = list(zip(*rows, strict=True))
            out.append((_PG_INSERT_PENDINGS, _arrays(columns, _PENDING_PG_TYPES), False))
        changed = list(batch.pending_changed.values())
        if changed:
            parameters = (
                _uuid_array([p.id for p in changed]),
                _int_array([int(p.status) for p in changed]),
                _uuid_array([p.resolved_by for p in changed]),
            )
            out.append((_PG_UPDATE_PENDINGS, parameters, False))
        return out

    def _statements_sqlite(self, batch: Batch) -> list[_Statement]:
        out: list[_Statement] = []
        if batch.rows:
            out.append(
                (
                    _sqlite_insert("ledger_transfers", TRANSFER_COLUMNS),
                    [_sqlite_row(row) for row in batch.rows],
                    True,
                )
            )
        if batch.pending_new:
            out.append(
                (
                    _sqlite_insert("ledger_pending_transfers", PENDING_COLUMNS),
                    [_sqlite_row(_pending_row(p)) for p in batch.pending_new.values()],
                    True,
                )
            )
        if batch.pending_changed:
            out.append(
                (
                    "UPDATE ledger_pending_transfers SET status = ?, resolved_by = ? WHERE id = ?",
                    [
                        (int(p.status), self._id(p.resolved_by), p.id.hex)
                        for p in batch.pending_changed.values()
                    ],
                    True,
                )
            )
        return out

    def _send(
        self, conn: Any, statements: list[_Statement], *, expected: int | None, token: int
    ) -> tuple[int, int]:
        """Move the head, send the writes, commit: one round trip on PostgreSQL.

        `expected` is the head token a warm batch was evaluated on (the head's CHECK fails
        the transaction if it moved); None for a cold batch, whose locks already hold what
        it read. Answers the token replaced and, for a cold batch, when the next open
        pending transfer expires (NEVER if none does).
        """
        if self._postgres:
            moved, next_due = self._send_postgres(conn, statements, expected, token)
        else:
            if expected is None:
                conn.execute(_HEAD_ENSURE)
            moved = conn.execute(_HEAD_MOVE_SQLITE, (expected, token)).fetchone()
            for sql, parameters, many in statements:
                if many:
                    conn.executemany(sql, parameters)
                else:
                    conn.execute(sql, parameters)
            next_due = conn.execute(_NEXT_DUE).fetchone() if expected is None else None
            if moved is not None:
                conn.execute("COMMIT")
        if moved is None:
            raise RuntimeError("ledger_head has no row: run `tijarat db upgrade`")
        due_at = next_due[0] if next_due is not None and next_due[0] is not None else NEVER
        return int(moved[0]), int(due_at)

    def _send_postgres(
        self, conn: Any, statements: list[_Statement], expected: int | None, token: int
    ) -> tuple[Any, Any]:
        """One simple-query message: the statements with their values inlined, then COMMIT.
        An error stops it before the COMMIT (the caller rolls back).

        Measured per 20-transfer batch: psycopg's per-statement work in a pipeline, then its
        client-side quoting, cost more CPU than the server spent. Every value is an integer,
        None or an array literal this module built from integers (see _literal).

        On a group-commit worker's own connection the statements are prepared once (PREPARE,
        then EXECUTE): the server then skips parsing and planning, about a third of its CPU
        for a small batch. Only there, because psycopg deallocates every statement of a
        connection after a ROLLBACK when it holds prepared statements of its own, which
        pooled connections do all the time; should it happen anyway, the batch fails before
        its first write and runs again ('prepare' in _transient).
        """
        from psycopg import ClientCursor  # noqa: PLC0415 - PostgreSQL only

        prepare = getattr(self._local, "raw", None) is not None
        known: set[str] | None = getattr(conn, PREPARED_ON_CONNECTION, None) if prepare else None
        if prepare and known is None:
            # A new connection, or one whose last message failed: PREPARE outlives a
            # rollback, so ask the server what it holds.
            rows = conn.execute(
                "SELECT name FROM pg_prepared_statements WHERE name LIKE 'tijarat_%'"
            ).fetchall()
            known = {row[0] for row in rows}
        setattr(conn, PREPARED_ON_CONNECTION, None)  # unknown until this message succeeds
        # The head moves first: a stale warm batch fails before writing anything, and every
        # pending transfer's row is changed by the head's holder only (see the docstring).
        parts: list[str] = []
        head_at = 0
        for sql, parameters, _many in [(_HEAD_MOVE, (expected, token), False), *statements]:
            literals = tuple(map(_literal, parameters))
            if known is None:
                parts.append(sql % literals)
                continue
            name, prepare_sql = _prepared(sql)
            if name not in known:
                parts.append(prepare_sql)
                known.add(name)
            parts.append(f"EXECUTE {name}({', '.join(literals)})")
            if sql is _HEAD_MOVE:
                head_at = len(parts) - 1
        due_at = len(parts)
        if expected is None:
            parts.append(_NEXT_DUE)
        parts.append("COMMIT")
        with _own_begin(conn) as begins, ClientCursor(conn) as cursor:
            if begins:
                parts.insert(0, "BEGIN")
                head_at, due_at = head_at + 1, due_at + 1
            cursor.execute(";\n".join(parts))
            for _ in range(head_at):
                cursor.nextset()
            moved = cursor.fetchone()
            next_due = None
            if expected is None:
                for _ in range(due_at - head_at):
                    cursor.nextset()
                next_due = cursor.fetchone()
        setattr(conn, PREPARED_ON_CONNECTION, known)
        return moved, next_due

    # ------------------------------------------------------------------ admin
    def set_account_closed(self, account_id: uuid.UUID, *, closed: bool) -> Account:
        def run(conn: Any, _lookup: bool) -> tuple[Batch, Account]:
            accounts = self._read_accounts(conn, [account_id])
            account = accounts.get(account_id.int)
            if account is None:
                raise DomainError(
                    LedgerError.ACCOUNT_NOT_FOUND,
                    f"no account {account_id}",
                    status=404,
                    fields={"account_id": str(account_id)},
                )
            closed_flag = int(AccountFlags.CLOSED)
            account.flags = (
                (account.flags | closed_flag) if closed else (account.flags & ~closed_flag)
            )
            conn.execute(
                self._sql("UPDATE ledger_accounts SET flags = %s WHERE id = %s"),
                (account.flags, self._id(account_id)),
            )
            batch = Batch(
                accounts=accounts,
                pendings={},
                existing={},
                not_pending_ids=set(),
                ledgers=set(),
                timestamp_start=self._timestamp_start([]),
                now_ns=self.clock.now_ns(),
            )
            return batch, dataclasses.replace(account)  # the cache keeps the original

        changed: Account = self._retrying(lambda lookup: self._cold(run, lookup))
        return changed

    # ------------------------------------------------------------------ queries
    def lookup_accounts(self, ids: Sequence[uuid.UUID]) -> list[Account]:
        """The accounts that exist, in the order asked."""
        with self._reading() as conn:
            found = self._read_accounts(conn, ids)
        return [found[i.int] for i in ids if i.int in found]

    def _select_pendings(self, conn: Any, ids: Sequence[uuid.UUID]) -> dict[int, PendingState]:
        if not ids:
            return {}
        columns = ", ".join(PENDING_COLUMNS)
        rows = conn.execute(
            self._sql(f"SELECT {columns} FROM ledger_pending_transfers WHERE {self._in_ids('id')}"),
            (self._ids_param(ids),),
        ).fetchall()
        return {p.id.int: p for p in map(self._pending, rows)}

    def accounts_by_owner(self, owner_id: uuid.UUID) -> list[Account]:
        columns = ", ".join(ACCOUNT_COLUMNS)
        with self._reading() as conn:
            rows = conn.execute(
                self._sql(
                    f"SELECT {columns} FROM {ACCOUNTS_VIEW} WHERE owner_id = %s ORDER BY timestamp"
                ),
                (self._id(owner_id),),
            ).fetchall()
        return [self._account(row) for row in rows]

    def lookup_transfers(self, ids: Sequence[uuid.UUID]) -> list[TransferRecord]:
        if not ids:
            return []
        columns = ", ".join(TRANSFER_COLUMNS)
        with self._reading() as conn:
            rows = conn.execute(
                self._sql(f"SELECT {columns} FROM ledger_transfers WHERE {self._in_ids('id')}"),
                (self._ids_param(ids),),
            ).fetchall()
        found = {record.transfer.id: record for record in map(self._record, rows)}
        return [found[i] for i in ids if i in found]

    def _record(self, row: Sequence[Any]) -> TransferRecord:
        return TransferRecord(
            self._transfer(row),
            Balance(row[13], row[14], row[15], row[16]),
            Balance(row[17], row[18], row[19], row[20]),
        )

    def lookup_pending(self, ids: Sequence[uuid.UUID]) -> list[PendingState]:
        with self._reading() as conn:
            found = self._select_pendings(conn, ids)
        return [found[i.int] for i in ids if i.int in found]

    def statement(
        self,
        account_id: uuid.UUID,
        from_timestamp: int,
        to_timestamp: int,
        limit: int = STATEMENT_ENTRIES_MAX,
    ) -> Statement:
        """Opening balance, every transfer in [from, to) with the balance after it, closing."""
        limit = max(1, min(limit, STATEMENT_ENTRIES_MAX))
        columns = ", ".join(TRANSFER_COLUMNS)
        with self._reading() as conn:
            if not self._read_accounts(conn, [account_id]):
                raise DomainError(
                    LedgerError.ACCOUNT_NOT_FOUND,
                    f"no account {account_id}",
                    status=404,
                    fields={"account_id": str(account_id)},
                )
            key = self._id(account_id)
            opening = Balance()
            before = []
            for side in ("debit", "credit"):
                row = conn.execute(
                    self._sql(
                        f"SELECT {columns} FROM ledger_transfers WHERE {side}_account_id = %s "
                        "AND timestamp < %s ORDER BY timestamp DESC LIMIT 1"
                    ),
                    (key, from_timestamp),
                ).fetchone()
                if row is not None:
                    before.append((row[12], side, row))
            if before:
                _, side, row = max(before, key=lambda item: item[0])
                opening = (
                    self._record(row).debit_balance
                    if side == "debit"
                    else (self._record(row).credit_balance)
                )
            rows = conn.execute(
                self._sql(
                    f"SELECT {columns} FROM ledger_transfers WHERE debit_account_id = %s "
                    "AND timestamp >= %s AND timestamp < %s "
                    f"UNION ALL SELECT {columns} FROM ledger_transfers "
                    "WHERE credit_account_id = %s AND timestamp >= %s AND timestamp < %s "
                    "ORDER BY timestamp LIMIT %s"
                ),
                (key, from_timestamp, to_timestamp, key, from_timestamp, to_timestamp, limit + 1),
            ).fetchall()
        entries = []
        for row in rows[:limit]:
            record = self._record(row)
            if record.transfer.debit_account_id == account_id:
                entries.append(StatementEntry(record.transfer, "debit", record.debit_balance))
            else:
                entries.append(StatementEntry(record.transfer, "credit", record.credit_balance))
        closing = entries[-1].balance_after if entries else opening
        return Statement(
            account_id,
            from_timestamp,
            to_timestamp,
            Balance(*_balance_tuple(opening)),
            Balance(*_balance_tuple(closing)),
            entries,
            truncated=len(rows) > limit,
        )

    # ------------------------------------------------------------------ verify
    def verify(self) -> VerifyReport:
        """Check every invariant on one consistent snapshot of the database."""
        with self._reading() as conn:
            if self._postgres:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            else:
                conn.execute("BEGIN")  # one WAL snapshot for every read below
            ledgers = {
                row[0]: row[1]
                for row in conn.execute("SELECT id, currency FROM ledger_ledgers").fetchall()
            }
            accounts = map(
                self._account,
                self._iterate(conn, f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM {ACCOUNTS_VIEW}"),
            )
            records = map(
                self._record,
                self._iterate(
                    conn,
                    f"SELECT {', '.join(TRANSFER_COLUMNS)} FROM ledger_transfers "
                    "ORDER BY timestamp, id",
                ),
            )
            pendings = map(
                self._pending,
                self._iterate(
                    conn, f"SELECT {', '.join(PENDING_COLUMNS)} FROM ledger_pending_transfers"
                ),
            )
            return verify(ledgers, accounts, records, pendings)

    def _iterate(self, conn: Any, sql: str, size: int = 10_000) -> Iterator[Sequence[Any]]:
        """Rows in pages: a server-side cursor on PostgreSQL, so memory stays flat."""
        self._cursors += 1
        name = f"tijarat_verify_{self._cursors}"
        cursor = conn.cursor(name=name) if self._postgres else conn.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield from rows
        finally:
            cursor.close()


_Statement = tuple[str, Any, bool]  # sql, parameters, executemany


def _forget_resolved(cache: _Cache, batch: Batch) -> None:
    """Keep open pending transfers only: one resolved is read again if ever named again
    (a second post or void), and the cache does not grow with every payment ever made."""
    for pending in batch.pending_changed.values():
        if pending.status is not PendingStatus.PENDING:
            cache.pendings.pop(pending.id.int, None)


@functools.cache
def _prepared(sql: str) -> tuple[str, str]:
    """A statement's name and PREPARE text: each `%s::type` becomes `$n` of that type."""
    kinds: list[str] = []

    def number(match: re.Match[str]) -> str:
        kinds.append(match.group(1))
        return f"${len(kinds)}"

    body = re.sub(r"%s::([a-z0-9]+(?:\[\])?)", number, sql)
    if "%s" in body:
        raise ValueError(f"every parameter needs a ::type to be prepared: {sql[:60]}")
    name = "tijarat_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
    return name, f"PREPARE {name}({', '.join(kinds)}) AS {body}"


def _literal(value: int | str | None) -> str:
    """SQL text for a value of a ledger write: an integer, NULL, or an array literal built
    by _int_array/_uuid_array (digits, hex, commas, braces, NULL: nothing to escape)."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is not str or "'" in value or "\\" in value:
        raise TypeError(f"not a ledger write value: {value!r:.40}")
    return f"'{value}'"


def _new_token() -> int:
    """A head token: random, so no writer can end up with the token another expects."""
    return secrets.randbits(63)


def _arrays(columns: Sequence[Sequence[Any]], kinds: Sequence[str]) -> list[str]:
    return [
        _uuid_array(list(column)) if kind == "uuid" else _int_array(list(column))
        for column, kind in zip(columns, kinds, strict=True)
    ]


def _sqlite_insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join(["?"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _unnest_insert(table: str, columns: Sequence[str], types: Sequence[str]) -> str:
    casts = ", ".join(f"%s::{kind}[]" for kind in types)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({casts})"


def _int_array(values: list[int]) -> str:
    """A PostgreSQL array literal; see LedgerStore._ids_param for why text."""
    return "{" + ",".join(map(str, values)) + "}"


def _uuid_array(values: list[uuid.UUID | None]) -> str:
    return "{" + ",".join(["NULL" if v is None else f"{v.int:032x}" for v in values]) + "}"


def _balance_tuple(balance: Balance) -> tuple[int, int, int, int]:
    return (
        balance.debits_pending,
        balance.debits_posted,
        balance.credits_pending,
        balance.credits_posted,
    )


def _pending_row(p: PendingState) -> tuple[Any, ...]:
    return (
        p.id,
        p.debit_account_id,
        p.credit_account_id,
        p.amount,
        p.ledger,
        p.code,
        p.timestamp,
        p.expires_at,
        int(p.status),
        p.resolved_by,
    )


def _sqlite_row(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(value.hex if isinstance(value, uuid.UUID) else value for value in row)


_TRANSFER_PG_TYPES = [
    "uuid",
    "uuid",
    "uuid",
    "int8",
    "uuid",
    "uuid",
    "int8",
    "int4",
    "int4",
    "int4",
    "int4",
    "int4",
    "int8",
    *(["int8"] * 8),
]
_PENDING_PG_TYPES = [
    "uuid",
    "uuid",
    "uuid",
    "int8",
    "int4",
    "int4",
    "int8",
    "int8",
    "int2",
    "uuid",
]


_PG_INSERT_TRANSFERS = _unnest_insert("ledger_transfers", TRANSFER_COLUMNS, _TRANSFER_PG_TYPES)
_PG_INSERT_PENDINGS = _unnest_insert("ledger_pending_transfers", PENDING_COLUMNS, _PENDING_PG_TYPES)
# The pending transfers a batch names ($2), and those due at $1 (at most EXPIRY_SWEEP_MAX).
_PG_DUE = (
    "SELECT id FROM ledger_pending_transfers WHERE status = 1 AND expires_at > 0 "
    f"AND expires_at <= %s ORDER BY expires_at LIMIT {EXPIRY_SWEEP_MAX}"
)
# Both load statements join on a set of wanted ids (never `id = ANY(...) OR ...`, which
# keeps PostgreSQL from using the primary key and compares every row with every id).
_PG_LOAD_PENDINGS = (
    f"WITH due AS ({_PG_DUE}), wanted AS (SELECT id FROM due UNION "
    "SELECT unnest(%s::uuid[])) "
    f"SELECT {', '.join(PENDING_COLUMNS)} FROM ledger_pending_transfers "
    "WHERE id IN (SELECT id FROM wanted)"
)
_PG_LOAD_ACCOUNTS = (
    f"WITH due AS ({_PG_DUE}), pending AS (SELECT debit_account_id, credit_account_id "
    "FROM ledger_pending_transfers WHERE id IN (SELECT id FROM due UNION "
    "SELECT unnest(%s::uuid[]))), wanted AS (SELECT unnest(%s::uuid[]) AS id "
    "UNION SELECT debit_account_id FROM pending UNION SELECT credit_account_id FROM pending) "
    f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM {ACCOUNTS_VIEW} "
    "WHERE id IN (SELECT id FROM wanted)"
)
_HEAD_READ = "SELECT token FROM ledger_head WHERE id = 1"
# A cold transaction's first statement: from here on no other ledger writer commits.
_HEAD_LOCK = "SELECT token FROM ledger_head WHERE id = 1 FOR UPDATE"
_PG_UPDATE_PENDINGS = (
    "UPDATE ledger_pending_transfers AS p SET status = v.status, resolved_by = v.resolved_by "
    "FROM unnest(%s::uuid[], %s::smallint[], %s::uuid[]) AS v(id, status, resolved_by) "
    "WHERE p.id = v.id"
)
# A cold batch expects whatever token is there; a warm one names it, and the CHECK
# (previous = expected) fails the transaction if the head moved since.
_HEAD_MOVE = (
    "UPDATE ledger_head SET previous = token, expected = COALESCE(%s::bigint, token), "
    "token = %s::bigint, batches = batches + 1 WHERE id = 1 RETURNING previous"
)
_HEAD_MOVE_SQLITE = (
    "UPDATE ledger_head SET previous = token, expected = COALESCE(?, token), "
    "token = ?, batches = batches + 1 WHERE id = 1 RETURNING previous"
)
# Cold batches make sure the row is there (a schema made without the migration's insert).
_HEAD_ENSURE = (
    "INSERT INTO ledger_head (id, token, previous, expected, batches) VALUES (1, 0, 0, 0, 0) "
    "ON CONFLICT DO NOTHING"
)
_NEXT_DUE = (
    "SELECT min(expires_at) FROM ledger_pending_transfers WHERE status = 1 AND expires_at > 0"
)


@contextmanager
def _own_begin(conn: Any) -> Iterator[bool]:
    """Yield True if the message about to go must open the transaction itself.

    psycopg opens a transaction with a BEGIN round trip of its own before a transaction's
    first statement. When the write is that first statement (a small warm batch: nothing
    streamed, nothing read), the message carries its own BEGIN and goes in autocommit mode:
    one round trip instead of two. A failure inside it leaves the transaction aborted; it is
    rolled back here, before psycopg's transaction handling is switched back on.
    """
    from psycopg.pq import TransactionStatus  # noqa: PLC0415 - PostgreSQL only

    if conn.info.transaction_status != TransactionStatus.IDLE:
        yield False
        return
    conn.autocommit = True
    try:
        yield True
    except BaseException:
        with suppress(Exception):  # a broken connection: the caller discards it
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        raise
    finally:
        try:
            conn.autocommit = False
        except Exception:  # never hand on a connection that would commit every statement
            conn.close()


def _executemany(conn: Any, sql: str, rows: list[tuple[Any, ...]], *, postgres: bool) -> None:
    if postgres:
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)
    else:
        conn.executemany(sql, rows)


def _rollback(conn: Any, *, postgres: bool) -> None:
    if postgres:
        conn.rollback()
    elif conn.in_transaction:
        conn.execute("ROLLBACK")


def _disconnected(error: BaseException) -> bool:
    """The connection itself broke (server restart, network): it must not be reused."""
    try:
        import psycopg  # noqa: PLC0415 - psycopg is optional at import time
    except ImportError:  # pragma: no cover
        return False
    return isinstance(error, psycopg.OperationalError) and not isinstance(
        error, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled
    )


def _transient(error: BaseException) -> str | None:
    """'unique', 'conflict', 'disconnect', 'stale', 'prepare' or None: errors worth running
    the batch again for ('stale': a warm batch's cache was not the database's state any
    more; 'prepare': a statement prepared on the connection was deallocated).

    After a disconnect the batch's commit may or may not have landed; it is re-run with its
    ids looked up, so what landed answers `exists` and nothing is applied twice.
    """
    if isinstance(error, _StaleCacheError):
        return "stale"
    if _disconnected(error):
        return "disconnect"
    if isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error):
        return "unique"
    if isinstance(error, sqlite3.IntegrityError) and HEAD_GUARD in str(error):
        return "stale"
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return "conflict"
    try:
        import psycopg.errors as pg  # noqa: PLC0415 - psycopg is optional at import time
    except ImportError:  # pragma: no cover
        return None
    if isinstance(error, pg.UniqueViolation):
        return "unique"
    if isinstance(error, pg.CheckViolation) and error.diag.constraint_name == HEAD_GUARD:
        return "stale"
    if isinstance(error, pg.InvalidSqlStatementName):
        return "prepare"  # see LedgerStore._send_postgres
    if isinstance(error, pg.DeadlockDetected | pg.SerializationFailure | pg.LockNotAvailable):
        return "conflict"
    return None
