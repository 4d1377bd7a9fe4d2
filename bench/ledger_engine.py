"""The ledger's evaluator alone, no database: `python bench/ledger_engine.py`.

8,190 plain transfers between 10,000 accounts evaluated by one `engine.Batch`, the best of 15
rounds (fresh accounts each round): the Python part of a batch that no I/O overlaps. Prints
microseconds per transfer. Compare two versions by running each in turn, e.g. an older
checkout with `PYTHONPATH=/path/to/old/src`.
"""

from __future__ import annotations

import json
import random
import time
import uuid

from tijarat.kernel.ids import new_id
from tijarat.ledger.engine import Batch
from tijarat.ledger.model import Account, Transfer

ACCOUNTS = 10_000
BATCH = 8_190
ROUNDS = 15


def one_round(rng: random.Random, ids: list[uuid.UUID]) -> float:
    accounts = {i.int: Account(i, 1, 1, timestamp=1) for i in ids}
    work = [
        Transfer(new_id(), *rng.sample(ids, 2), rng.randint(1, 100_000), ledger=1, code=1)
        for _ in range(BATCH)
    ]
    batch = Batch(
        accounts=accounts,
        pendings={},
        existing={},
        not_pending_ids=set(),
        ledgers={1},
        timestamp_start=10,
        now_ns=10,
    )
    began = time.perf_counter()
    results = batch.create_transfers(work)
    seconds = time.perf_counter() - began
    assert results == ["ok"] * BATCH
    return seconds


def main() -> None:
    rng = random.Random(1)
    ids = [new_id() for _ in range(ACCOUNTS)]
    best = min(one_round(rng, ids) for _ in range(ROUNDS))
    print(json.dumps({"transfers": BATCH, "us_per_transfer": round(best * 1e6 / BATCH, 2)}))


if __name__ == "__main__":
    main()
