"""Where a batch's time goes: `python bench/ledger_phases.py [--database-url URL]`.

Times each phase of applying 8,190 transfers between 10,000 accounts on PostgreSQL, one
phase at a time (not overlapped as in the engine), median of 10 batches: lock the head and
load the accounts with their balances (through the view `ledger_account_balances`),
evaluate in memory, COPY the rows, then move the head and commit (one message). A warm
batch (the store's usual case, see ledger/store.py) skips the first phase, and on
PostgreSQL streams its COPY while it evaluates and overlaps the end of it, its head move and
commit with the next batch's evaluation.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tijarat.bootstrap import build
from tijarat.cli.bench_ledger import _transfers, fresh_database
from tijarat.kernel.ids import new_id
from tijarat.ledger import store as ledger_store
from tijarat.ledger.engine import Batch
from tijarat.ledger.model import BATCH_MAX, Account
from tijarat.settings import Settings

ROUNDS = 12
WARMUP = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    url = parser.parse_args().database_url
    with fresh_database(url) as fresh:
        container = build(Settings(database_url=fresh))
        ledger, store = container.ledger, container.ledger.store
        ledger.create_ledger(1, "PKR", "Pakistani rupee")
        ids = [new_id() for _ in range(10_000)]
        for offset in range(0, len(ids), BATCH_MAX):
            ledger.create_accounts([Account(i, 1, 1) for i in ids[offset : offset + BATCH_MAX]])
        rng = random.Random(2)
        raw = container.engine.raw_connection()
        conn = raw.driver_connection
        phases: dict[str, list[float]] = {}
        for round_number in range(ROUNDS):
            work = _transfers(ids, BATCH_MAX, rng)
            marks = [time.perf_counter()]
            store._lock_head(conn)  # noqa: SLF001 - measuring internals
            accounts = store._read_accounts(conn, ids)  # noqa: SLF001
            marks.append(time.perf_counter())
            start = time.time_ns()
            batch = Batch(
                accounts=accounts,
                pendings={},
                existing={},
                not_pending_ids=set(),
                ledgers=set(),
                timestamp_start=start,
                now_ns=start,
            )
            batch.create_transfers(work)
            marks.append(time.perf_counter())
            columns = ", ".join(ledger_store.TRANSFER_COLUMNS)
            with (
                conn.cursor() as cursor,
                cursor.copy(
                    f"COPY ledger_transfers ({columns}) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(ledger_store._TRANSFER_PG_TYPES)  # noqa: SLF001
                for row in batch.rows:
                    copy.write_row(row)
            marks.append(time.perf_counter())
            batch.rows.clear()
            statements = store._write_statements(batch)  # noqa: SLF001
            store._send(conn, statements, expected=None, token=round_number + 1)  # noqa: SLF001
            marks.append(time.perf_counter())
            if round_number >= WARMUP:
                names = ("lock_and_load", "evaluate", "copy_rows", "head_and_commit")
                for name, began, ended in zip(names, marks, marks[1:], strict=False):
                    phases.setdefault(name, []).append(ended - began)
        raw.close()
        container.close()
    for name, values in phases.items():
        print(f"{name:16s} {statistics.median(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
