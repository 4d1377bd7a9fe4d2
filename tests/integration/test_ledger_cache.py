"""The ledger's warm path: balances held in memory, trusted only while the head says so.

Two containers on one database stand for two processes. Each keeps the state its own last
transaction left; these tests make the other one write in between and check that no stale
balance is ever used (a limit is enforced against the other's writes, nothing is lost), that
a failed warm batch spoils the cache instead of leaking into the next one, that batches from
several threads overlap on PostgreSQL and still commit in order, and that a pending transfer
coming due turns the next batch cold so that its funds are released first.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pg_support import PG_SKIP, PG_URL, create_pg_database
from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.ledger.model import Account, AccountFlags, Transfer, TransferFlags
from tijarat.ledger.store import LedgerStore
from tijarat.settings import Settings

LEDGER = 1
CODE = 1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    if PG_URL is None:
        pytest.skip(PG_SKIP)
    database, drop = create_pg_database()
    try:
        yield database
    finally:
        drop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pair(url: str, clock: ManualClock) -> Iterator[tuple[Container, Container]]:
    first = build(Settings(database_url=url, environment="test"), clock=clock)
    second = build(Settings(database_url=url, environment="test"), clock=clock)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def _accounts(container: Container, count: int, flags: int = 0) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    results = container.ledger.create_accounts([Account(i, LEDGER, CODE, flags=flags) for i in ids])
    assert results == ["ok"] * count
    return ids


def _transfer(debit: uuid.UUID, credit: uuid.UUID, amount: int, **extra: object) -> Transfer:
    return Transfer(uuid.uuid4(), debit, credit, amount, ledger=LEDGER, code=CODE, **extra)  # type: ignore[arg-type]


def _store(container: Container) -> LedgerStore:
    return container.ledger.store


def _balance(container: Container, account: uuid.UUID) -> int:
    found = container.ledger.get_account(account)
    return found.credits_posted - found.debits_posted


def _send_in_threads(*senders: tuple[Container, list[list[Transfer]], str]) -> None:
    """One thread per (container, batches, answer): each sends its batches in turn and
    expects every transfer to answer `answer`; the first failure is raised here."""
    failures: list[BaseException] = []

    def send(container: Container, batches: list[list[Transfer]], answer: str) -> None:
        try:
            for batch in batches:
                assert container.ledger.create_transfers(batch) == [answer] * len(batch)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=send, args=sender) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]


def _assert_moved_once(
    container: Container, accounts: list[uuid.UUID], transfers: list[Transfer]
) -> None:
    """Every account's balance is what `transfers`, each applied exactly once, make it."""
    expected = dict.fromkeys(accounts, 0)
    for t in transfers:
        expected[t.debit_account_id] -= t.amount
        expected[t.credit_account_id] += t.amount
    for account in accounts:
        assert _balance(container, account) == expected[account]
    assert container.ledger.verify().ok


def test_a_cache_never_outlives_another_writer(pair: tuple[Container, Container]) -> None:
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    funding, sink = _accounts(first, 2)
    (limited,) = _accounts(first, 1, flags=int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS))
    assert first.ledger.create_transfers([_transfer(funding, limited, 100)]) == ["ok"]
    # The first process is warm now: its next batch is evaluated on what it holds.
    warm_before = _store(first).warm_batches
    assert first.ledger.create_transfers([_transfer(limited, sink, 10)]) == ["ok"]
    assert _store(first).warm_batches == warm_before + 1

    # The other process spends 80 of the 90 left; the first one still holds "90".
    assert second.ledger.create_transfers([_transfer(limited, sink, 80)]) == ["ok"]
    # 20 more would fit the stale 90, not the real 10: the head check sends it back cold.
    cold_before = _store(first).cold_batches
    assert first.ledger.create_transfers([_transfer(limited, sink, 20)]) == ["exceeds_credits"]
    assert _store(first).cold_batches > cold_before
    assert first.ledger.create_transfers([_transfer(limited, sink, 10)]) == ["ok"]
    assert second.ledger.create_transfers([_transfer(limited, sink, 1)]) == ["exceeds_credits"]
    assert _balance(first, limited) == 0
    assert _balance(second, sink) == 100
    assert first.ledger.verify().ok


@pytest.mark.parametrize("touch", ["reopen", "create_again"])
def test_accounts_touched_after_another_writer_keep_their_history_in_order(
    pair: tuple[Container, Container], touch: str
) -> None:
    """An account's balance is its newest transfer row's. A write that moves no money
    (reopening accounts; creating them again, answered `exists`) after another process
    wrote to them warms this process' cache; its next transfer must still come after
    theirs. It used to take a timestamp of its own clock (here: one that stood still, as one
    behind another machine's does), land behind the other's rows, and leave the balance
    short of them (found by the stateful test)."""
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    payer, payee = _accounts(first, 2)
    moved = [_transfer(payer, payee, 1) for _ in range(3)]
    assert second.ledger.create_transfers(moved) == ["ok"] * 3
    if touch == "reopen":
        first.ledger.reopen_account(payer)
        first.ledger.close_account(payee)
        first.ledger.reopen_account(payee)
    else:
        again = [Account(i, LEDGER, CODE) for i in (payer, payee)]
        assert first.ledger.create_accounts(again) == ["exists", "exists"]
    last = _transfer(payer, payee, 1)
    assert first.ledger.create_transfers([last]) == ["ok"]
    _assert_moved_once(first, [payer, payee], [*moved, last])
    _assert_moved_once(second, [payer, payee], [*moved, last])


def test_a_pending_transfer_of_another_writer_is_never_mixed_with_stale_memory(
    pair: tuple[Container, Container],
) -> None:
    """The first process holds both accounts; the other reserves 59 between them. Voiding
    that reservation needs its row, which the first process' memory lacks: read alone, it
    would meet cached balances that never held the 59 (found by the stateful test)."""
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    payer, payee = _accounts(first, 2)
    assert first.ledger.create_transfers([_transfer(payer, payee, 1)]) == ["ok"]
    reservation = _transfer(payer, payee, 59, flags=TransferFlags.PENDING)
    assert second.ledger.create_transfers([reservation]) == ["ok"]
    void = Transfer(
        uuid.uuid4(), pending_id=reservation.id, flags=TransferFlags.VOID_PENDING_TRANSFER
    )
    assert first.ledger.create_transfers([void]) == ["ok"]
    for container in pair:
        account = container.ledger.get_account(payee)
        assert (account.credits_pending, account.credits_posted) == (0, 1)
    assert first.ledger.verify().ok


def test_writers_taking_turns_lose_nothing(pair: tuple[Container, Container]) -> None:
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    accounts = _accounts(first, 6)
    rng = random.Random(5)
    expected = dict.fromkeys(accounts, 0)
    for step in range(60):
        ledger = (first, second)[rng.random() < 0.5].ledger
        batch = []
        for _ in range(rng.randint(1, 4)):
            debit, credit = rng.sample(accounts, 2)
            amount = rng.randint(1, 1_000)
            batch.append(_transfer(debit, credit, amount))
            expected[debit] -= amount
            expected[credit] += amount
        send = ledger.create_transfers if step % 2 else ledger.submit_transfers
        assert send(batch) == ["ok"] * len(batch)
    for account in accounts:
        assert _balance(first, account) == expected[account]
        assert _balance(second, account) == expected[account]
    assert first.ledger.verify().ok


def test_a_failed_warm_batch_spoils_the_cache(pair: tuple[Container, Container]) -> None:
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    funding, sink = _accounts(first, 2)
    stored = _transfer(funding, sink, 7)
    assert second.ledger.create_transfers([stored]) == ["ok"]
    assert first.ledger.create_transfers([_transfer(funding, sink, 1)]) == ["ok"]
    # A batch whose evaluation counts `stored` as new fails on insert (its id is taken),
    # after changing the cached balances; it is retried with its ids looked up.
    fresh = _transfer(funding, sink, 5)
    assert first.ledger.create_transfers([stored, fresh]) == ["exists", "ok"]
    assert first.ledger.create_transfers([_transfer(funding, sink, 2)]) == ["ok"]
    assert _balance(first, sink) == 7 + 1 + 5 + 2
    assert first.ledger.verify().ok


def test_a_due_pending_transfer_is_released_before_the_next_batch(
    pair: tuple[Container, Container], clock: ManualClock
) -> None:
    first, _ = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    funding, sink = _accounts(first, 2)
    (limited,) = _accounts(first, 1, flags=int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS))
    assert first.ledger.create_transfers([_transfer(funding, limited, 50)]) == ["ok"]
    hold = _transfer(limited, sink, 50, flags=TransferFlags.PENDING, timeout=30)
    assert first.ledger.create_transfers([hold]) == ["ok"]
    assert first.ledger.create_transfers([_transfer(limited, sink, 1)]) == ["exceeds_credits"]
    clock.advance(timedelta(seconds=31))
    # The hold came due: this batch runs cold, voids it first, then fits.
    cold_before = _store(first).cold_batches
    assert first.ledger.create_transfers([_transfer(limited, sink, 50)]) == ["ok"]
    assert _store(first).cold_batches == cold_before + 1
    (state,) = first.ledger.lookup_pending([hold.id])
    assert state.status.name == "EXPIRED"
    assert first.ledger.verify().ok


def test_threads_overlap_batches_and_commit_in_order(pair: tuple[Container, Container]) -> None:
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    accounts = _accounts(first, 50)
    rng = random.Random(9)
    work = [
        [_transfer(*rng.sample(accounts, 2), rng.randint(1, 500)) for _ in range(300)]
        for _ in range(24)
    ]
    # Three threads on the first process, one on the second: warm batches overlap, and the
    # second process' writes keep knocking the first one cold.
    _send_in_threads(
        (first, work[0:6], "ok"),
        (first, work[6:12], "ok"),
        (first, work[12:18], "ok"),
        (second, work[18:24], "ok"),
    )
    _assert_moved_once(first, accounts, [t for batch in work for t in batch])


def test_a_retried_large_batch_answers_exists_while_others_overlap_it(
    pair: tuple[Container, Container],
) -> None:
    """A large batch streams its rows into a COPY that ends only in its write phase, after
    the next batch started. Sent again, its ids collide there: it must answer `exists`,
    and the batch evaluated on its effects meanwhile must still commit exactly once."""
    first, _ = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    accounts = _accounts(first, 30)
    rng = random.Random(11)
    sent = [_transfer(*rng.sample(accounts, 2), rng.randint(1, 500)) for _ in range(400)]
    assert first.ledger.create_transfers(sent) == ["ok"] * len(sent)
    fresh = [
        [_transfer(*rng.sample(accounts, 2), rng.randint(1, 500)) for _ in range(400)]
        for _ in range(4)
    ]
    _send_in_threads((first, [sent, sent, sent], "exists"), (first, fresh, "ok"))
    _assert_moved_once(first, accounts, [*sent, *(t for batch in fresh for t in batch)])


def test_every_write_transaction_moves_the_head(pair: tuple[Container, Container]) -> None:
    first, second = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")

    def head() -> tuple[int, int]:
        with first.engine.connect() as connection:
            row = connection.execute(sa.text("SELECT token, batches FROM ledger_head")).one()
        return int(row[0]), int(row[1])

    token, batches = head()
    funding, sink = _accounts(first, 2)
    first.ledger.create_transfers([_transfer(funding, sink, 3)])
    first.ledger.close_account(sink)
    second.ledger.reopen_account(sink)
    second.ledger.expire_due()
    after_token, after_batches = head()
    assert after_batches == batches + 5
    assert after_token != token


def test_small_batches_of_many_threads_share_commits(pair: tuple[Container, Container]) -> None:
    first, _ = pair
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    accounts = _accounts(first, 8)
    work = [
        [_transfer(*random.Random(n * 100 + k).sample(accounts, 2), 1 + k) for k in range(30)]
        for n in range(12)
    ]
    failures: list[BaseException] = []

    def send(transfers: list[Transfer]) -> None:
        try:
            for transfer in transfers:
                assert first.ledger.create_transfers([transfer]) == ["ok"]
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=send, args=(batch,)) for batch in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    # Callers that found the ledger busy joined shared commits instead of queueing alone.
    committer = first.ledger._committer
    assert committer is not None
    assert committer.events > 0
    _assert_moved_once(first, accounts, [t for batch in work for t in batch])


@pytest.fixture
def pg_first(clock: ManualClock) -> Iterator[Container]:
    """One container on a new PostgreSQL database (prepared statements are PostgreSQL's)."""
    if PG_URL is None:
        pytest.skip(PG_SKIP)
    database, drop = create_pg_database()
    container = build(Settings(database_url=database, environment="test"), clock=clock)
    try:
        yield container
    finally:
        container.close()
        drop()


@pytest.mark.postgres
def test_statements_deallocated_behind_the_ledgers_back_cost_a_retry(pg_first: Container) -> None:
    first = pg_first
    store = _store(first)
    first.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
    funding, sink = _accounts(first, 2)
    store.pin_connection()  # as a group-commit worker does: its statements are prepared
    try:
        assert first.ledger.create_transfers([_transfer(funding, sink, 1)]) == ["ok"]
        assert first.ledger.create_transfers([_transfer(funding, sink, 2)]) == ["ok"]
        connection = store._local.raw.driver_connection
        names = connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tijarat_%'"
        ).fetchone()
        assert names is not None
        assert names[0] > 0
        connection.execute("DEALLOCATE ALL")  # what psycopg does after some rollbacks
        assert first.ledger.create_transfers([_transfer(funding, sink, 4)]) == ["ok"]
    finally:
        store.unpin_connection()
    assert _balance(first, sink) == 7
    assert first.ledger.verify().ok
