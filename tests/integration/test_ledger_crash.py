"""A writer killed with SIGKILL in the middle of a batch leaves no trace of that batch.

A child process (crash_writer.py) applies batches of BATCH_SIZE transfers, each tagged with
its batch number in user_data_64, in a loop; the parent kills it at a random moment once it
has committed a few batches, restarts it, and repeats until three kills have landed while a
batch was being applied. Then: every batch is all there or not there at all, every batch the
writer saw acknowledged is there, the balances are exactly the sums of the batches present,
and the ledger verifies, through the service and through `tijarat ledger verify`. On SQLite
always, on PostgreSQL when configured.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container, build
from tijarat.ledger.model import Account
from tijarat.settings import Settings

pytestmark = pytest.mark.slow

WRITER = Path(__file__).with_name("crash_writer.py")
BATCH_SIZE = 500
ACCOUNTS = 4
KILLS_MID_BATCH = 3  # kills that must land while a batch is being applied
ROUNDS_MAX = 10  # kill rounds allowed to get there
NEW_BATCHES_BEFORE_KILL = 3
WAIT_S = 60


def _load_writer() -> ModuleType:
    """crash_writer's batch formula, which the parent uses to recompute the balances."""
    spec = importlib.util.spec_from_file_location("crash_writer", WRITER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _batch_counts(container: Container) -> dict[int, int]:
    with container.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT user_data_64, COUNT(*) FROM ledger_transfers GROUP BY user_data_64")
        ).all()
    return {int(row[0]): int(row[1]) for row in rows}


def _start(url: str, accounts: list[uuid.UUID], log: Path) -> subprocess.Popen[bytes]:
    ids = ",".join(str(a) for a in accounts)
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, ids, str(BATCH_SIZE), str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_batches(
    container: Container, process: subprocess.Popen[bytes], log: Path, at_least: int
) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(_batch_counts(container)) < at_least:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(
                f"the writer exited with {process.returncode} before being killed:\n"
                f"{log.read_text()}\n{stderr}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"the writer did not reach {at_least} batches in {WAIT_S} s")
        time.sleep(0.02)


def test_a_killed_writer_leaves_whole_batches_only(database_url: str, tmp_path: Path) -> None:
    writer = _load_writer()
    container = build(Settings(database_url=database_url, environment="test"))
    process: subprocess.Popen[bytes] | None = None
    try:
        ledger = container.ledger
        ledger.create_ledger(1, "PKR", "x")
        accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
        assert ledger.create_accounts([Account(a, 1, 1) for a in accounts]) == ["ok"] * ACCOUNTS

        rng = random.Random()
        log = tmp_path / "writer.log"
        kills_mid_batch = 0
        rounds = 0
        while kills_mid_batch < KILLS_MID_BATCH and rounds < ROUNDS_MAX:
            rounds += 1
            before = len(_batch_counts(container))
            process = _start(database_url, accounts, log)
            _wait_for_batches(container, process, log, before + NEW_BATCHES_BEFORE_KILL)
            time.sleep(rng.uniform(0, 0.1))
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=WAIT_S) == -signal.SIGKILL
            last = log.read_text().splitlines()[-1]
            kills_mid_batch += last.startswith("begin ")
        assert kills_mid_batch == KILLS_MID_BATCH, (
            f"only {kills_mid_batch} of {rounds} kills landed in the middle of a batch"
        )

        lines = log.read_text().splitlines()
        assert not [line for line in lines if line.startswith("error")], lines
        counts = _batch_counts(container)
        partial = {n: c for n, c in counts.items() if c != BATCH_SIZE}
        assert partial == {}, f"batches applied in part (batch: transfers): {partial}"
        assert sorted(counts) == list(range(1, len(counts) + 1)), "a batch is missing"
        acknowledged = {int(line.split()[1]) for line in lines if line.startswith("done ")}
        assert acknowledged - counts.keys() == set(), "acknowledged batches lost in the crash"
        assert len(counts) >= rounds * NEW_BATCHES_BEFORE_KILL

        expected = {a: [0, 0, 0, 0] for a in accounts}
        for number in counts:
            for t in writer.batch(number, BATCH_SIZE, accounts):
                expected[t.debit_account_id][1] += t.amount
                expected[t.credit_account_id][3] += t.amount
        stored = {
            a.id: [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
            for a in ledger.lookup_accounts(accounts)
        }
        assert stored == expected, "balances differ from the sum of the batches present"

        report = ledger.verify()
        assert report.ok, report.problems
        assert report.transfers == BATCH_SIZE * len(counts)

        # The operator's check, as run after an incident: `tijarat ledger verify`.
        command = ["ledger", "verify", "--json", "--database-url", database_url]
        cli = subprocess.run(
            [sys.executable, "-m", "tijarat.cli", *command],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        verdict = json.loads(cli.stdout.strip().splitlines()[-1])
        assert verdict["ok"] is True, verdict
        assert verdict["transfers"] == BATCH_SIZE * len(counts)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        container.close()
