"""`tijarat bench ledger`: batched and single-transfer throughput, durable, on a fresh database.

Three figures from one run, on the same database:
- batched: batches of 8,190 transfers between 10,000 accounts, one call (one commit) each,
  sent by `batch_clients` threads at once (the ledger evaluates one batch while the last one
  commits), and again by one thread alone (`batched_one_client_per_s`);
- single: 20 client threads, one transfer per request, each answered only once durable,
  through the group commit;
- baseline: the same 20 clients on a naive ledger (`NaiveLedger`: one transaction per
  transfer that locks both accounts, checks, inserts and updates), so the gain is measured
  against a baseline in the same run, on the same machine and database.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from tijarat.bootstrap import build
from tijarat.kernel.ids import new_id
from tijarat.ledger.model import BATCH_MAX, TRANSFER_SUCCESS, Account, Transfer
from tijarat.settings import Settings, normalise_database_url

LEDGER = 1
CODE = 1


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A new, empty database: a temp SQLite file, or a new database on the given server."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="tijarat-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    server = sa.make_url(normalise_database_url(url))
    name = f"tijarat_bench_{os.getpid()}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _transfers(accounts: list[uuid.UUID], count: int, rng: random.Random) -> list[Transfer]:
    out = []
    for _ in range(count):
        debit, credit = rng.sample(accounts, 2)
        out.append(
            Transfer(new_id(), debit, credit, rng.randint(1, 100_000), ledger=LEDGER, code=CODE)
        )
    return out


def _clients(
    submit: Any, accounts: list[uuid.UUID], clients: int, per_client: int, seed: int
) -> tuple[float, list[float]]:
    """Run `clients` threads each sending `per_client` single transfers; (seconds, latencies)."""
    work = [_transfers(accounts, per_client, random.Random(seed + n)) for n in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start_line = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        start_line.wait()
        for transfer in work[n]:
            began = time.perf_counter()
            result = submit([transfer])[0]
            latencies[n].append(time.perf_counter() - began)
            if result not in TRANSFER_SUCCESS:
                failures.append(str(result))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} transfers failed, e.g. {failures[0]}")
    return elapsed, [value for values in latencies for value in values]


class NaiveLedger:
    """The baseline: what a ledger written the obvious way does, one transaction per transfer.

    Its own two tables on the same database: lock both accounts in id order, check the
    debit account's balance, insert the transfer, update both balances, commit. Each client
    thread has its own connection, so the database overlaps their transactions and fsyncs.
    """

    def __init__(self, engine: sa.Engine, accounts: list[uuid.UUID]) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.local = threading.local()
        self.opened: list[Any] = []
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE naive_accounts (id VARCHAR(32) PRIMARY KEY, balance BIGINT NOT NULL)"
            )
            connection.exec_driver_sql(
                "CREATE TABLE naive_transfers (id VARCHAR(32) PRIMARY KEY, "
                "debit VARCHAR(32) NOT NULL, credit VARCHAR(32) NOT NULL, amount BIGINT NOT NULL)"
            )
            connection.execute(
                sa.text("INSERT INTO naive_accounts (id, balance) VALUES (:id, :balance)"),
                [{"id": a.hex, "balance": 10**15} for a in accounts],
            )

    def create_transfers(self, transfers: list[Transfer]) -> list[str]:
        raw = getattr(self.local, "raw", None)
        if raw is None:
            raw = self.local.raw = self.engine.raw_connection()
            self.opened.append(raw)
        conn: Any = raw.driver_connection
        mark = "%s" if self.postgres else "?"
        lock = " ORDER BY id FOR UPDATE" if self.postgres else ""
        results = []
        for t in transfers:
            if not self.postgres:
                conn.execute("BEGIN IMMEDIATE")
            debit, credit = t.debit_account_id.hex, t.credit_account_id.hex  # type: ignore[union-attr]
            rows = conn.execute(
                f"SELECT id, balance FROM naive_accounts WHERE id IN ({mark}, {mark}){lock}",
                (debit, credit),
            ).fetchall()
            if dict(rows)[debit] < t.amount:
                results.append("exceeds_credits")
            else:
                conn.execute(
                    f"INSERT INTO naive_transfers VALUES ({mark}, {mark}, {mark}, {mark})",
                    (t.id.hex, debit, credit, t.amount),
                )
                conn.execute(
                    f"UPDATE naive_accounts SET balance = balance - {mark} WHERE id = {mark}",
                    (t.amount, debit),
                )
                conn.execute(
                    f"UPDATE naive_accounts SET balance = balance + {mark} WHERE id = {mark}",
                    (t.amount, credit),
                )
                results.append("ok")
            if self.postgres:
                conn.commit()
            else:
                conn.execute("COMMIT")
        return results

    def close(self) -> None:
        for raw in self.opened:
            raw.close()


def _batches(create: Any, work: list[list[Transfer]], clients: int) -> tuple[float, list[float]]:
    """Send the batches from `clients` threads; (seconds, seconds per batch)."""
    queue = list(reversed(work))
    lock = threading.Lock()
    seconds: list[float] = []
    failures: list[str] = []

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                batch = queue.pop()
            began = time.perf_counter()
            results = create(batch)
            elapsed = time.perf_counter() - began
            with lock:
                seconds.append(elapsed)
            if any(r != "ok" for r in results):
                failures.append(next(str(r) for r in results if r != "ok"))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"a benchmark transfer failed: {failures[0]}")
    return elapsed, seconds


def _percentile_ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)


def run(
    database_url: str | None,
    *,
    accounts_count: int = 10_000,
    batches: int = 30,
    batch_clients: int = 2,
    clients: int = 20,
    singles_per_client: int = 500,
    baseline_per_client: int = 100,
    seed: int = 7,
) -> dict[str, Any]:
    rng = random.Random(seed)
    with fresh_database(database_url) as url:
        container = build(Settings(database_url=url))
        try:
            ledger = container.ledger
            dialect = container.engine.dialect.name
            ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
            accounts = [new_id() for _ in range(accounts_count)]
            for offset in range(0, accounts_count, BATCH_MAX):
                chunk = accounts[offset : offset + BATCH_MAX]
                created = ledger.create_accounts([Account(i, LEDGER, 1) for i in chunk])
                assert all(r == "ok" for r in created)

            # Batched: one call, one transaction, one commit per 8,190 transfers.
            warmup = _transfers(accounts, BATCH_MAX, rng)
            ledger.create_transfers(warmup)
            work = [_transfers(accounts, BATCH_MAX, rng) for _ in range(batches)]
            store = ledger.store
            warm, cold = store.warm_batches, store.cold_batches
            batched_seconds, batch_seconds = _batches(ledger.create_transfers, work, batch_clients)
            warm, cold = store.warm_batches - warm, store.cold_batches - cold
            batched_total = batches * BATCH_MAX
            batched_per_s = batched_total / batched_seconds
            alone = [_transfers(accounts, BATCH_MAX, rng) for _ in range(max(batches // 3, 1))]
            alone_seconds, _ = _batches(ledger.create_transfers, alone, 1)
            alone_per_s = len(alone) * BATCH_MAX / alone_seconds

            # Single: concurrent clients through the group commit.
            committer_seconds, latencies = _clients(
                ledger.submit_transfers, accounts, clients, singles_per_client, seed + 100
            )
            single_total = clients * singles_per_client

            # Baseline: the same clients on a naive ledger, one transaction per transfer.
            naive = NaiveLedger(container.engine, accounts)
            try:
                baseline_seconds, baseline_latencies = _clients(
                    naive.create_transfers, accounts, clients, baseline_per_client, seed + 200
                )
            finally:
                naive.close()
            baseline_total = clients * baseline_per_client
            report = ledger.verify()
            return {
                "database": dialect,
                "accounts": accounts_count,
                "batch_size": BATCH_MAX,
                "batches": batches,
                "batched_transfers": batched_total,
                "batched_transfers_per_s": round(batched_per_s),
                "batch_clients": batch_clients,
                "batch_ms_median": round(statistics.median(batch_seconds) * 1000, 1),
                "batched_one_client_per_s": round(alone_per_s),
                "batches_warm": warm,
                "batches_cold": cold,
                "clients": clients,
                "single_transfers": single_total,
                "single_transfers_per_s": round(single_total / committer_seconds),
                "single_latency_ms_p50": _percentile_ms(latencies, 0.50),
                "single_latency_ms_p99": _percentile_ms(latencies, 0.99),
                "baseline_transfers": baseline_total,
                "baseline_transfer_per_transaction_per_s": round(baseline_total / baseline_seconds),
                "baseline_latency_ms_p99": _percentile_ms(baseline_latencies, 0.99),
                "durable": "synchronous_commit=on"
                if dialect == "postgresql"
                else "synchronous=FULL",
                "ledger_balanced": report.ok,
                "cpu_count": os.cpu_count(),
            }
        finally:
            container.close()
