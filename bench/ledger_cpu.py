"""Where the ledger's CPU goes: `python bench/ledger_cpu.py [--database-url URL]`.

On a fresh database with 10,000 accounts: 30 batches of 8,190 transfers from 2 threads (as
`tijarat bench ledger`), then 20 threads sending 500 single transfers each through the group
commit. For each phase it prints transfers per second and the CPU seconds this process and
every PostgreSQL process on the machine used (read from /proc), so one can tell which side
bounds the figure. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from tijarat.bootstrap import build
from tijarat.cli.bench_ledger import CODE, LEDGER, _batches, _clients, _transfers, fresh_database
from tijarat.kernel.ids import new_id
from tijarat.ledger.model import BATCH_MAX, Account
from tijarat.settings import Settings


def postgres_cpu_s() -> float:
    """CPU seconds of every process named postgres (other users' sessions included)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")].startswith("postgres"):
            fields = text[text.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measured(run: object, count: int) -> dict[str, float]:
    began, own, server = time.perf_counter(), time.process_time(), postgres_cpu_s()
    run()  # type: ignore[operator]
    wall = time.perf_counter() - began
    return {
        "per_s": round(count / wall),
        "wall_s": round(wall, 2),
        "python_cpu_s": round(time.process_time() - own, 2),
        "postgres_cpu_s": round(postgres_cpu_s() - server, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    url = parser.parse_args().database_url
    with fresh_database(url) as fresh:
        container = build(Settings(database_url=fresh))
        try:
            ledger = container.ledger
            ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
            ids = [new_id() for _ in range(10_000)]
            accounts = [Account(i, ledger=LEDGER, code=CODE) for i in ids]
            for offset in range(0, len(accounts), BATCH_MAX):
                ledger.create_accounts(accounts[offset : offset + BATCH_MAX])
            rng = random.Random(1)
            work = [_transfers(ids, BATCH_MAX, rng) for _ in range(32)]
            for batch in work[:2]:  # warm-up: the first batch runs cold
                ledger.create_transfers(batch)
            batched = measured(
                lambda: _batches(ledger.create_transfers, work[2:], 2), 30 * BATCH_MAX
            )
            _clients(ledger.submit_transfers, ids, 20, 50, 1)  # warm-up
            single = measured(lambda: _clients(ledger.submit_transfers, ids, 20, 500, 7), 10_000)
            print(
                json.dumps(
                    {
                        "database": container.engine.dialect.name,
                        "batched": batched,
                        "single": single,
                    }
                )
            )
        finally:
            container.close()


if __name__ == "__main__":
    main()
