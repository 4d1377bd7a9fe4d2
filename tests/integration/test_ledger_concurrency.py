"""Many writers on a few hot accounts, on PostgreSQL: no deadlock leaks, no update is lost.

Three containers built on one database URL stand for three processes (each has its own
connection pool and its own group committer); twelve threads share them and send single
transfers, small batches in both account orders and linked chains, through both ways in
(`create_transfers`: one transaction in the caller's thread; `submit_transfers`: the group
commit). Afterwards every answer must add up, to the unit, to the stored balances.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container, build
from tijarat.ledger.model import (
    Account,
    AccountFlags,
    CreateTransferResult,
    Transfer,
    TransferFlags,
)
from tijarat.ledger.service import LedgerService
from tijarat.settings import Settings

pytestmark = pytest.mark.postgres

R = CreateTransferResult
LEDGER = 1
CODE = 1
SERVICES = 3  # containers on one database URL: like three processes
THREADS = 12  # spread over the services
OPS_PER_THREAD = 120
DOOMED = 10**12  # more than any hot account ever holds
HOT_FUNDING = 2_000  # small, so that hot accounts run into their limit under contention

Send = Callable[[Sequence[Transfer]], list[CreateTransferResult]]


@dataclass
class World:
    containers: list[Container]
    funding: uuid.UUID  # unflagged: may go as negative as it likes
    hot: list[uuid.UUID]  # DEBITS_MUST_NOT_EXCEED_CREDITS
    sinks: list[uuid.UUID]
    setup: list[Transfer] = field(default_factory=list)  # applied before the writers start

    @property
    def ledgers(self) -> list[LedgerService]:
        return [c.ledger for c in self.containers]

    @property
    def accounts(self) -> list[uuid.UUID]:
        return [self.funding, *self.hot, *self.sinks]


@dataclass
class Call:
    api: str
    transfers: list[Transfer]
    results: list[CreateTransferResult]
    chain: int = 0  # the first `chain` transfers form one linked chain: all or nothing


def _transfer(debit: uuid.UUID, credit: uuid.UUID, amount: int, flags: int = 0) -> Transfer:
    return Transfer(uuid.uuid4(), debit, credit, amount, ledger=LEDGER, code=CODE, flags=flags)


def _build_world(url: str, hot_count: int, sink_count: int) -> World:
    containers = [build(Settings(database_url=url, environment="test")) for _ in range(SERVICES)]
    ledger = containers[0].ledger
    ledger.create_ledger(LEDGER, "PKR", "x")
    world = World(
        containers,
        uuid.uuid4(),
        [uuid.uuid4() for _ in range(hot_count)],
        [uuid.uuid4() for _ in range(sink_count)],
    )
    dmnec = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    accounts = [Account(world.funding, LEDGER, CODE)]
    accounts += [Account(h, LEDGER, CODE, flags=dmnec) for h in world.hot]
    accounts += [Account(s, LEDGER, CODE) for s in world.sinks]
    assert ledger.create_accounts(accounts) == ["ok"] * len(accounts)
    return world


def _fund(world: World, amounts: dict[uuid.UUID, int]) -> None:
    funding = [_transfer(world.funding, account, amount) for account, amount in amounts.items()]
    assert world.ledgers[0].create_transfers(funding) == [R.OK] * len(funding)
    world.setup += funding


@pytest.fixture
def world(pg_url: str) -> Iterator[World]:
    built = _build_world(pg_url, hot_count=3, sink_count=2)
    try:
        yield built
    finally:
        for container in built.containers:
            container.close()


def _run_threads(targets: list[Callable[[], None]]) -> list[str]:
    """Run every target in its own thread, started together; the tracebacks of failures."""
    errors: list[str] = []
    barrier = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException:  # any exception reaching a caller is a failure of the test
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a writer hung: deadlock or lost wake-up"
    return errors


def _sender(ledger: LedgerService, api: str) -> Send:
    return ledger.create_transfers if api == "create" else ledger.submit_transfers


def _expected_balances(world: World, applied: Sequence[Transfer]) -> dict[uuid.UUID, list[int]]:
    """[debits_pending, debits_posted, credits_pending, credits_posted] per account."""
    balances = {account: [0, 0, 0, 0] for account in world.accounts}
    for t in applied:
        assert t.debit_account_id is not None
        assert t.credit_account_id is not None
        assert t.amount is not None
        balances[t.debit_account_id][1] += t.amount
        balances[t.credit_account_id][3] += t.amount
    return balances


def _assert_ledger_matches(world: World, applied: Sequence[Transfer]) -> None:
    """Stored balances and stored transfers are exactly `applied`, and the ledger verifies."""
    ledger = world.ledgers[0]
    expected = _expected_balances(world, applied)
    stored = {
        a.id: [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
        for a in ledger.lookup_accounts(world.accounts)
    }
    assert stored == expected, "balances differ from the sum of acknowledged transfers"
    for hot in ledger.lookup_accounts(world.hot):
        assert hot.debits_posted <= hot.credits_posted, f"hot account {hot.id} overdrawn"

    with world.containers[0].engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, debit_account_id, credit_account_id, amount FROM ledger_transfers")
        ).all()
    stored_transfers = {row[0]: (row[1], row[2], row[3]) for row in rows}
    assert len(stored_transfers) == len(rows)
    wanted = {t.id: (t.debit_account_id, t.credit_account_id, t.amount) for t in applied}
    assert len(wanted) == len(applied), "a transfer id was acknowledged twice"
    assert stored_transfers.keys() - wanted.keys() == set(), "stored but never acknowledged"
    assert wanted.keys() - stored_transfers.keys() == set(), "acknowledged but not stored"
    assert stored_transfers == wanted

    report = ledger.verify()
    assert report.ok, report.problems
    assert report.transfers == len(applied)
    assert report.accounts == len(world.accounts)


def test_hot_accounts_under_many_writers_lose_nothing(world: World) -> None:
    _fund(world, dict.fromkeys(world.hot, HOT_FUNDING))
    calls: list[list[Call]] = [[] for _ in range(THREADS)]
    linked = int(TransferFlags.LINKED)

    def writer(number: int) -> None:
        rng = random.Random(number)
        ledger = world.ledgers[number % SERVICES]
        log = calls[number]
        hot, sinks = world.hot, world.sinks
        for _ in range(OPS_PER_THREAD):
            api = rng.choice(("create", "submit"))
            a, b = rng.sample(hot, 2)
            c = rng.choice([*hot, *sinks])
            chain = 0
            roll = rng.random()
            if roll < 0.33:  # one transfer between hot accounts or into a sink
                target = rng.choice([b, c]) if c != a else b
                transfers = [_transfer(a, target, rng.randint(1, 300))]
            elif roll < 0.6:  # a pair in both account orders: A->B, B->A or B->A, A->B
                pair = [_transfer(a, b, rng.randint(1, 300)), _transfer(b, a, rng.randint(1, 300))]
                transfers = pair if rng.random() < 0.5 else pair[::-1]
            elif roll < 0.75:  # a small batch among hot accounts and sinks, any direction
                transfers = []
                for _ in range(rng.randint(3, 6)):
                    x, y = rng.sample([*hot, *sinks], 2)
                    transfers.append(_transfer(x, y, rng.randint(1, 200)))
            elif roll < 0.87:  # a linked chain A->B->C: applied whole or not at all
                target = c if c not in (a, b) else rng.choice(sinks)
                transfers = [
                    _transfer(a, b, rng.randint(1, 400), flags=linked),
                    _transfer(b, target, rng.randint(1, 400)),
                ]
                chain = 2
            elif roll < 0.94:  # refill a hot account from the funding account
                transfers = [_transfer(world.funding, a, rng.randint(50, 400))]
            else:  # a chain that must fail, then a refill that must not fail with it
                transfers = [
                    _transfer(a, b, DOOMED, flags=linked),
                    _transfer(b, c if c != b else a, 1),
                    _transfer(world.funding, a, rng.randint(50, 400)),
                ]
                chain = 2
            results = _sender(ledger, api)(transfers)
            log.append(Call(api, transfers, results, chain))

    errors = _run_threads([lambda n=n: writer(n) for n in range(THREADS)])
    assert errors == [], "an exception reached a caller:\n" + "\n".join(errors)

    allowed = {R.OK, R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED}
    applied = list(world.setup)
    outcomes: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []  # wrong answers, reported after the balances are checked
    for call in (call for log in calls for call in log):
        assert isinstance(call.results, list)
        assert len(call.results) == len(call.transfers)
        for index, (t, result) in enumerate(zip(call.transfers, call.results, strict=True)):
            assert isinstance(result, CreateTransferResult), repr(result)
            assert result in allowed, (t, result)
            outcomes[call.api, result.value] += 1
            if result is R.OK:
                applied.append(t)
            if index >= call.chain and result is R.LINKED_EVENT_FAILED:
                whose = "its own" if call.chain else "another caller's"
                wrong.append(
                    f"{call.api}: transfer {index} of {call.results} failed with {whose} chain"
                )
            elif t.debit_account_id == world.funding and result is not R.OK:
                wrong.append(f"{call.api}: the unlimited funding account refused: {call.results}")
        chain = set(call.results[: call.chain])
        if chain and chain != {R.OK}:
            assert R.OK not in chain, f"a linked chain was applied in part: {call.results}"
            assert chain - {R.LINKED_EVENT_FAILED}, f"a chain failed for no reason: {chain}"

    # The run only proves something if both paths committed and the limit was hit often.
    for api in ("create", "submit"):
        assert outcomes[api, "ok"] > 100, outcomes
        assert outcomes[api, "exceeds_credits"] > 10, outcomes
    # Whatever was answered ok, and only that, moved money, exactly once.
    _assert_ledger_matches(world, applied)
    # An event after a closed linked chain is independent of it (TigerBeetle's semantics):
    # a failed chain must not fail the transfers after it, least of all other callers'
    # transfers that the group commit put in the same batch.
    wrong.sort(key=lambda text: "another" not in text)  # other callers' victims first
    assert wrong == [], f"{len(wrong)} wrong answers, the first ones:\n" + "\n".join(wrong[:6])


def test_a_retry_storm_of_the_same_ids_moves_money_exactly_once(world: World) -> None:
    """Every thread of every service sends the same transfers; each is applied once."""
    rng = random.Random(7)
    linked = int(TransferFlags.LINKED)
    units: list[list[Transfer]] = []  # a unit is one transfer or one linked chain
    for _ in range(150):
        a, b = rng.sample(world.hot, 2)
        roll = rng.random()
        if roll < 0.4:
            units.append([_transfer(a, b, rng.randint(1, 500))])
        elif roll < 0.6:
            units.append([_transfer(a, rng.choice(world.sinks), rng.randint(1, 500))])
        elif roll < 0.8:
            units.append([_transfer(world.funding, a, rng.randint(1, 500))])
        else:
            units.append(
                [
                    _transfer(a, b, rng.randint(1, 500), flags=linked),
                    _transfer(b, rng.choice(world.sinks), rng.randint(1, 500)),
                ]
            )
    everything = [t for unit in units for t in unit]
    # Fund each hot account with all it will ever send: every order of arrival succeeds,
    # so any answer but ok/exists, and any second ok, is the engine's fault.
    outgoing: Counter[uuid.UUID] = Counter()
    for t in everything:
        if t.debit_account_id in world.hot:
            outgoing[t.debit_account_id] += t.amount or 0
    _fund(world, {h: outgoing[h] for h in world.hot if outgoing[h]})

    answers: list[list[tuple[uuid.UUID, CreateTransferResult]]] = [[] for _ in range(THREADS)]

    def storm(number: int) -> None:
        local = random.Random(100 + number)
        ledger = world.ledgers[number % SERVICES]
        for round_ in range(2):
            order = list(units)
            if (number + round_) % 2:  # half the threads collide head-on, half at random
                local.shuffle(order)
            while order:
                size = local.randint(1, 4)
                chunk, order = order[:size], order[size:]
                # Fresh objects with equal fields, as a client retrying over the network.
                transfers = [dataclasses.replace(t) for unit in chunk for t in unit]
                results = _sender(ledger, local.choice(("create", "submit")))(transfers)
                assert len(results) == len(transfers)
                answers[number] += zip((t.id for t in transfers), results, strict=True)

    errors = _run_threads([lambda n=n: storm(n) for n in range(THREADS)])
    assert errors == [], "an exception reached a caller:\n" + "\n".join(errors)

    oks: Counter[uuid.UUID] = Counter()
    for transfer_id, result in (answer for log in answers for answer in log):
        assert isinstance(result, CreateTransferResult), repr(result)
        assert result in {R.OK, R.EXISTS}, (transfer_id, result)
        oks[transfer_id] += result is R.OK
    assert sum(len(log) for log in answers) == THREADS * 2 * len(everything)
    once = {t.id: 1 for t in everything}
    assert dict(oks) == once, "a transfer id was not answered ok exactly once"
    _assert_ledger_matches(world, [*world.setup, *everything])
