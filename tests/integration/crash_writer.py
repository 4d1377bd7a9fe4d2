"""A writer for test_ledger_crash: applies numbered batches to a ledger until it is killed.

    python crash_writer.py DATABASE_URL ACCOUNT_IDS BATCH_SIZE LOG_PATH

ACCOUNT_IDS is a comma-separated list of account ids (the parent created them). Batch n
holds BATCH_SIZE transfers, all with user_data_64 = n, whose ids, accounts and amounts are
a function of (n, index) only (see `batch`), so the parent can recompute every balance.

On start the writer resumes after the newest batch in the database; it first sends that
batch again and requires every answer to be `exists` (an idempotent retry across a crash),
exiting with status 3 otherwise. LOG_PATH gets "begin n" before and "done n" after each
batch is applied, so the parent knows which batches were acknowledged.
"""

from __future__ import annotations

import os
import sys
import uuid

import sqlalchemy as sa

from tijarat.bootstrap import build
from tijarat.ledger.model import CreateTransferResult, Transfer
from tijarat.settings import Settings

NAMESPACE = uuid.UUID("2f1e9c52-7d0b-4c55-9a53-0b7d1c0e4a11")
LEDGER = 1
CODE = 1


def batch(number: int, size: int, accounts: list[uuid.UUID]) -> list[Transfer]:
    count = len(accounts)
    transfers = []
    for index in range(size):
        debit = index % count
        credit = (debit + 1 + number % (count - 1)) % count  # never the debit account
        transfers.append(
            Transfer(
                uuid.uuid5(NAMESPACE, f"{number}:{index}"),
                accounts[debit],
                accounts[credit],
                amount(number, index),
                ledger=LEDGER,
                code=CODE,
                user_data_64=number,
            )
        )
    return transfers


def amount(number: int, index: int) -> int:
    return 1 + (number * 7_919 + index * 104_729) % 1_000


def main(url: str, account_ids: str, size: int, log_path: str) -> int:
    accounts = [uuid.UUID(value) for value in account_ids.split(",")]
    container = build(Settings(database_url=url, environment="test"))
    ledger = container.ledger
    with container.engine.connect() as connection:
        newest = connection.execute(
            sa.text("SELECT MAX(user_data_64) FROM ledger_transfers")
        ).scalar_one()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(log, f"start {newest or 0}\n".encode())
    if newest:
        results = ledger.create_transfers(batch(newest, size, accounts))
        if set(results) != {CreateTransferResult.EXISTS}:
            os.write(log, f"error: batch {newest} sent again answered {set(results)}\n".encode())
            return 3
    number = (newest or 0) + 1
    while True:
        os.write(log, f"begin {number}\n".encode())
        results = ledger.create_transfers(batch(number, size, accounts))
        if set(results) != {CreateTransferResult.OK}:
            os.write(log, f"error: batch {number} answered {set(results)}\n".encode())
            return 3
        os.write(log, f"done {number}\n".encode())
        number += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
