"""Every result code of the ledger, through LedgerService, on SQLite and on PostgreSQL.

Each failing code gets a case that provokes it (the case table below covers every member of
CreateTransferResult and CreateAccountResult) and checks that nothing moved: no balance, no
transfer row, no pending state, no account changed, and the ledger still verifies. The
scenario tests after the tables cover idempotency, two-phase transfers, expiry, linked chains,
balance-limit flags, closed accounts, overflow, batch limits, malformed events and statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.ledger.model import (
    AMOUNT_MAX,
    BATCH_MAX,
    CODE_MAX,
    LEDGER_MAX,
    TIMEOUT_MAX_S,
    USER_DATA_32_MAX,
    USER_DATA_64_MAX,
    Account,
    AccountFlags,
    Balance,
    CreateAccountResult,
    CreateTransferResult,
    PendingStatus,
    Transfer,
    TransferFlags,
    expiry_id,
)
from tijarat.ledger.service import LedgerService

R = CreateTransferResult
A = CreateAccountResult
F = TransferFlags

LEDGER = 1
OTHER_LEDGER = 2
CODE = 10
INT_MAX_ID = uuid.UUID(int=(1 << 128) - 1)
ZERO_ID = uuid.UUID(int=0)

PENDING = F.PENDING
POST = F.POST_PENDING_TRANSFER
VOID = F.VOID_PENDING_TRANSFER
LINKED = F.LINKED


# ---------------------------------------------------------------------------- helpers
@dataclass
class Env:
    """A ledger with two registered ledgers, remembering every id it created."""

    ledger: LedgerService
    clock: ManualClock
    account_ids: list[uuid.UUID] = field(default_factory=list)
    transfer_ids: list[uuid.UUID] = field(default_factory=list)

    @classmethod
    def on(cls, container: Container) -> Env:
        env = cls(container.ledger, container.clock)  # type: ignore[arg-type]
        assert env.ledger.create_ledger(LEDGER, "PKR", "Pakistani rupee")
        assert env.ledger.create_ledger(OTHER_LEDGER, "USD", "US dollar")
        return env

    def account(
        self, *, ledger: int = LEDGER, code: int = CODE, flags: int = 0, **fields: Any
    ) -> uuid.UUID:
        account_id = uuid.uuid4()
        assert self.ledger.create_accounts(
            [Account(account_id, ledger, code, flags, **fields)]
        ) == [A.OK]
        self.account_ids.append(account_id)
        return account_id

    def accounts(self, count: int, **fields: Any) -> list[uuid.UUID]:
        return [self.account(**fields) for _ in range(count)]

    def transfer(
        self,
        debit: uuid.UUID | None,
        credit: uuid.UUID | None,
        amount: int | None,
        **fields: Any,
    ) -> Transfer:
        fields.setdefault("ledger", LEDGER)
        fields.setdefault("code", CODE)
        return Transfer(fields.pop("id", uuid.uuid4()), debit, credit, amount, **fields)

    def post(self, pending_id: uuid.UUID, amount: int | None = None, **fields: Any) -> Transfer:
        """A post with only the pending id (and `amount`) set unless `fields` say otherwise."""
        fields.setdefault("flags", POST)
        return Transfer(
            fields.pop("id", uuid.uuid4()), amount=amount, pending_id=pending_id, **fields
        )

    def void(self, pending_id: uuid.UUID, amount: int | None = None, **fields: Any) -> Transfer:
        fields.setdefault("flags", VOID)
        return Transfer(
            fields.pop("id", uuid.uuid4()), amount=amount, pending_id=pending_id, **fields
        )

    def apply(self, *transfers: Transfer) -> None:
        """Create transfers that must all succeed, and remember their ids."""
        assert self.ledger.create_transfers(list(transfers)) == [R.OK] * len(transfers)
        self.transfer_ids.extend(t.id for t in transfers)

    def fund(self, account_id: uuid.UUID, amount: int) -> None:
        """Credit `account_id` from a fresh source account."""
        source = self.account()
        self.apply(self.transfer(source, account_id, amount))

    def balance(self, account_id: uuid.UUID) -> Balance:
        return self.ledger.get_account(account_id).balance

    def stored(self, transfer_id: uuid.UUID) -> bool:
        return bool(self.ledger.lookup_transfers([transfer_id]))

    def snapshot(self, extra_transfer_ids: Sequence[uuid.UUID] = ()) -> tuple[Any, ...]:
        """Everything a failed event could have touched, as comparable values."""
        transfer_ids = [*self.transfer_ids, *extra_transfer_ids]
        report = self.ledger.verify()
        return (
            self.ledger.lookup_accounts(self.account_ids),
            self.ledger.lookup_transfers(transfer_ids),
            self.ledger.lookup_pending(transfer_ids),
            report.accounts,
            report.transfers,
            report.problems,
        )

    def count(self) -> int:
        """How many transfers are stored."""
        return self.ledger.verify().transfers

    def assert_verifies(self) -> None:
        report = self.ledger.verify()
        assert report.ok, report.problems


def _uuids(events: list[Any]) -> list[uuid.UUID]:
    return [e.id for e in events if type(e.id) is uuid.UUID]


@pytest.fixture
def env(container: Container) -> Env:
    return Env.on(container)


# Scenarios run grouped, one database per group and backend: a fresh PostgreSQL database
# costs about half a second, and every scenario makes its own accounts anyway.
Scenario = Callable[[Env], None]
SCENARIOS: dict[str, list[Scenario]] = {}


def scenario(group: str) -> Callable[[Scenario], Scenario]:
    def register(run: Scenario) -> Scenario:
        SCENARIOS.setdefault(group, []).append(run)
        return run

    return register


def run_scenarios(env: Env, subtests: pytest.Subtests, group: str) -> None:
    assert SCENARIOS[group]
    for run in SCENARIOS[group]:
        with subtests.test(msg=run.__name__):
            run(env)
            env.assert_verifies()


# ---------------------------------------------------------------------------- transfer cases
@dataclass
class Case:
    batch: list[Any]
    expected: list[Any]


TransferCase = Callable[[Env], Case]
TRANSFER_CASES: dict[CreateTransferResult, TransferCase] = {}


def transfer_case(code: CreateTransferResult) -> Callable[[TransferCase], TransferCase]:
    def register(build: TransferCase) -> TransferCase:
        assert code not in TRANSFER_CASES
        TRANSFER_CASES[code] = build
        return build

    return register


def _one(env: Env, result: CreateTransferResult, **fields: Any) -> Case:
    """A single transfer between two fresh funded-free accounts, with fields overridden."""
    a, b = env.accounts(2)
    fields.setdefault("debit", a)
    fields.setdefault("credit", b)
    fields.setdefault("amount", 100)
    debit, credit, amount = fields.pop("debit"), fields.pop("credit"), fields.pop("amount")
    return Case([env.transfer(debit, credit, amount, **fields)], [result])


def _retry(env: Env, result: CreateTransferResult, **changes: Any) -> Case:
    """Store a pending transfer with every field set, then retry its id with `changes`."""
    a, b, c = env.accounts(3)
    original = env.transfer(
        a,
        b,
        100,
        flags=PENDING,
        timeout=3_600,
        user_data_128=uuid.uuid4(),
        user_data_64=64,
        user_data_32=32,
    )
    env.apply(original)
    fields = {
        "id": original.id,
        "debit_account_id": a,
        "credit_account_id": b,
        "amount": 100,
        "pending_id": None,
        "user_data_128": original.user_data_128,
        "user_data_64": 64,
        "user_data_32": 32,
        "timeout": 3_600,
        "ledger": LEDGER,
        "code": CODE,
        "flags": PENDING,
    }
    # "other" stands for a third account of the same ledger.
    fields.update({k: (c if v == "other" else v) for k, v in changes.items()})
    return Case([Transfer(**fields)], [result])


def _pending(env: Env, amount: int = 100, **fields: Any) -> tuple[uuid.UUID, uuid.UUID, Transfer]:
    a, b = env.accounts(2)
    pending = env.transfer(a, b, amount, flags=PENDING, **fields)
    env.apply(pending)
    return a, b, pending


@transfer_case(R.LINKED_EVENT_FAILED)
def _(env: Env) -> Case:
    a, b = env.accounts(2)
    batch = [
        env.transfer(a, b, 10, flags=LINKED),
        env.transfer(a, b, 0),
    ]
    return Case(batch, [R.LINKED_EVENT_FAILED, R.AMOUNT_MUST_NOT_BE_ZERO])


@transfer_case(R.LINKED_EVENT_CHAIN_OPEN)
def _(env: Env) -> Case:
    a, b = env.accounts(2)
    batch = [env.transfer(a, b, 10, flags=LINKED), env.transfer(a, b, 20, flags=LINKED)]
    return Case(batch, [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN])


@transfer_case(R.TIMESTAMP_MUST_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.TIMESTAMP_MUST_BE_ZERO, timestamp=1)


@transfer_case(R.RESERVED_FLAG)
def _(env: Env) -> Case:
    # EXPIRY is the engine's own flag; clients may not set it (nor any unknown bit).
    return _one(env, R.RESERVED_FLAG, flags=F.EXPIRY)


@transfer_case(R.ID_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.ID_MUST_NOT_BE_ZERO, id=ZERO_ID)


@transfer_case(R.ID_MUST_NOT_BE_INT_MAX)
def _(env: Env) -> Case:
    return _one(env, R.ID_MUST_NOT_BE_INT_MAX, id=INT_MAX_ID)


@transfer_case(R.ID_MUST_NOT_BE_RESERVED)
def _(env: Env) -> Case:
    # Any id in the variant reserved for the engine's own transfers (see expiry_id).
    return _one(env, R.ID_MUST_NOT_BE_RESERVED, id=expiry_id(uuid.uuid4()))


@transfer_case(R.EXISTS_WITH_DIFFERENT_FLAGS)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_FLAGS, flags=0)


@transfer_case(R.EXISTS_WITH_DIFFERENT_PENDING_ID)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_PENDING_ID, pending_id=uuid.uuid4())


@transfer_case(R.EXISTS_WITH_DIFFERENT_TIMEOUT)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_TIMEOUT, timeout=3_601)


@transfer_case(R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID, debit_account_id="other")


@transfer_case(R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID, credit_account_id="other")


@transfer_case(R.EXISTS_WITH_DIFFERENT_AMOUNT)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_AMOUNT, amount=101)


@transfer_case(R.EXISTS_WITH_DIFFERENT_USER_DATA_128)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_USER_DATA_128, user_data_128=uuid.uuid4())


@transfer_case(R.EXISTS_WITH_DIFFERENT_USER_DATA_64)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_USER_DATA_64, user_data_64=65)


@transfer_case(R.EXISTS_WITH_DIFFERENT_USER_DATA_32)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_USER_DATA_32, user_data_32=33)


@transfer_case(R.EXISTS_WITH_DIFFERENT_LEDGER)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_LEDGER, ledger=OTHER_LEDGER)


@transfer_case(R.EXISTS_WITH_DIFFERENT_CODE)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS_WITH_DIFFERENT_CODE, code=CODE + 1)


@transfer_case(R.EXISTS)
def _(env: Env) -> Case:
    return _retry(env, R.EXISTS)


@transfer_case(R.FLAGS_ARE_MUTUALLY_EXCLUSIVE)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    return Case(
        [env.transfer(None, None, None, pending_id=pending.id, flags=POST | VOID)],
        [R.FLAGS_ARE_MUTUALLY_EXCLUSIVE],
    )


@transfer_case(R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO, debit=None)


@transfer_case(R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX)
def _(env: Env) -> Case:
    return _one(env, R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX, debit=INT_MAX_ID)


@transfer_case(R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO, credit=ZERO_ID)


@transfer_case(R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX)
def _(env: Env) -> Case:
    return _one(env, R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX, credit=INT_MAX_ID)


@transfer_case(R.ACCOUNTS_MUST_BE_DIFFERENT)
def _(env: Env) -> Case:
    a = env.account()
    return _one(env, R.ACCOUNTS_MUST_BE_DIFFERENT, debit=a, credit=a)


@transfer_case(R.PENDING_ID_MUST_BE_ZERO)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    return _one(env, R.PENDING_ID_MUST_BE_ZERO, pending_id=pending.id)


@transfer_case(R.PENDING_ID_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    _pending(env)
    return Case([Transfer(uuid.uuid4(), flags=POST)], [R.PENDING_ID_MUST_NOT_BE_ZERO])


@transfer_case(R.PENDING_ID_MUST_NOT_BE_INT_MAX)
def _(env: Env) -> Case:
    return Case([env.void(INT_MAX_ID)], [R.PENDING_ID_MUST_NOT_BE_INT_MAX])


@transfer_case(R.PENDING_ID_MUST_BE_DIFFERENT)
def _(env: Env) -> Case:
    own = uuid.uuid4()
    return Case([env.post(own, id=own)], [R.PENDING_ID_MUST_BE_DIFFERENT])


@transfer_case(R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER)
def _(env: Env) -> Case:
    return _one(env, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER, timeout=60)


@transfer_case(R.AMOUNT_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.AMOUNT_MUST_NOT_BE_ZERO, amount=0)


@transfer_case(R.AMOUNT_MUST_NOT_BE_NEGATIVE)
def _(env: Env) -> Case:
    return _one(env, R.AMOUNT_MUST_NOT_BE_NEGATIVE, amount=-1)


@transfer_case(R.AMOUNT_EXCEEDS_MAXIMUM)
def _(env: Env) -> Case:
    return _one(env, R.AMOUNT_EXCEEDS_MAXIMUM, amount=AMOUNT_MAX + 1)


@transfer_case(R.LEDGER_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.LEDGER_MUST_NOT_BE_ZERO, ledger=0)


@transfer_case(R.LEDGER_OUT_OF_RANGE)
def _(env: Env) -> Case:
    return _one(env, R.LEDGER_OUT_OF_RANGE, ledger=LEDGER_MAX + 1)


@transfer_case(R.CODE_MUST_NOT_BE_ZERO)
def _(env: Env) -> Case:
    return _one(env, R.CODE_MUST_NOT_BE_ZERO, code=0)


@transfer_case(R.CODE_OUT_OF_RANGE)
def _(env: Env) -> Case:
    return _one(env, R.CODE_OUT_OF_RANGE, code=CODE_MAX + 1)


@transfer_case(R.USER_DATA_OUT_OF_RANGE)
def _(env: Env) -> Case:
    return _one(env, R.USER_DATA_OUT_OF_RANGE, user_data_64=USER_DATA_64_MAX + 1)


@transfer_case(R.OVERFLOWS_TIMEOUT)
def _(env: Env) -> Case:
    return _one(env, R.OVERFLOWS_TIMEOUT, flags=PENDING, timeout=TIMEOUT_MAX_S + 1)


@transfer_case(R.DEBIT_ACCOUNT_NOT_FOUND)
def _(env: Env) -> Case:
    return _one(env, R.DEBIT_ACCOUNT_NOT_FOUND, debit=uuid.uuid4())


@transfer_case(R.CREDIT_ACCOUNT_NOT_FOUND)
def _(env: Env) -> Case:
    return _one(env, R.CREDIT_ACCOUNT_NOT_FOUND, credit=uuid.uuid4())


@transfer_case(R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER)
def _(env: Env) -> Case:
    other = env.account(ledger=OTHER_LEDGER)
    return _one(env, R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER, credit=other)


@transfer_case(R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS)
def _(env: Env) -> Case:
    return _one(env, R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS, ledger=OTHER_LEDGER)


@transfer_case(R.PENDING_TRANSFER_NOT_FOUND)
def _(env: Env) -> Case:
    return Case([env.post(uuid.uuid4())], [R.PENDING_TRANSFER_NOT_FOUND])


@transfer_case(R.PENDING_TRANSFER_NOT_PENDING)
def _(env: Env) -> Case:
    a, b = env.accounts(2)
    posted = env.transfer(a, b, 100)
    env.apply(posted)
    return Case([env.post(posted.id)], [R.PENDING_TRANSFER_NOT_PENDING])


@transfer_case(R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID)
def _(env: Env) -> Case:
    _, b, pending = _pending(env)
    other = env.account()
    return Case(
        [env.post(pending.id, debit_account_id=other, credit_account_id=b)],
        [R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID],
    )


@transfer_case(R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID)
def _(env: Env) -> Case:
    a, _, pending = _pending(env)
    other = env.account()
    return Case(
        [env.post(pending.id, debit_account_id=a, credit_account_id=other)],
        [R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID],
    )


@transfer_case(R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    return Case(
        [env.post(pending.id, ledger=OTHER_LEDGER)], [R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER]
    )


@transfer_case(R.PENDING_TRANSFER_HAS_DIFFERENT_CODE)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    return Case([env.void(pending.id, code=CODE + 1)], [R.PENDING_TRANSFER_HAS_DIFFERENT_CODE])


@transfer_case(R.EXCEEDS_PENDING_TRANSFER_AMOUNT)
def _(env: Env) -> Case:
    _, _, pending = _pending(env, 100)
    return Case([env.post(pending.id, 101)], [R.EXCEEDS_PENDING_TRANSFER_AMOUNT])


@transfer_case(R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT)
def _(env: Env) -> Case:
    _, _, pending = _pending(env, 100)
    return Case([env.void(pending.id, 99)], [R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT])


@transfer_case(R.PENDING_TRANSFER_ALREADY_POSTED)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    env.apply(env.post(pending.id))
    return Case([env.void(pending.id)], [R.PENDING_TRANSFER_ALREADY_POSTED])


@transfer_case(R.PENDING_TRANSFER_ALREADY_VOIDED)
def _(env: Env) -> Case:
    _, _, pending = _pending(env)
    env.apply(env.void(pending.id))
    return Case([env.post(pending.id)], [R.PENDING_TRANSFER_ALREADY_VOIDED])


@transfer_case(R.PENDING_TRANSFER_EXPIRED)
def _(env: Env) -> Case:
    _, _, pending = _pending(env, timeout=5)
    env.clock.advance(seconds=6)
    assert env.ledger.expire_due() == 1
    env.transfer_ids.append(expiry_id(pending.id))
    return Case([env.post(pending.id)], [R.PENDING_TRANSFER_EXPIRED])


@transfer_case(R.DEBIT_ACCOUNT_ALREADY_CLOSED)
def _(env: Env) -> Case:
    a, b = env.accounts(2)
    env.ledger.close_account(a)
    return _one(env, R.DEBIT_ACCOUNT_ALREADY_CLOSED, debit=a, credit=b)


@transfer_case(R.CREDIT_ACCOUNT_ALREADY_CLOSED)
def _(env: Env) -> Case:
    a, b = env.accounts(2)
    env.ledger.close_account(b)
    return _one(env, R.CREDIT_ACCOUNT_ALREADY_CLOSED, debit=a, credit=b)


@transfer_case(R.OVERFLOWS_DEBITS_PENDING)
def _(env: Env) -> Case:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX, flags=PENDING))
    return Case([env.transfer(a, c, 1, flags=PENDING)], [R.OVERFLOWS_DEBITS_PENDING])


@transfer_case(R.OVERFLOWS_CREDITS_PENDING)
def _(env: Env) -> Case:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX, flags=PENDING))
    return Case([env.transfer(c, b, 1, flags=PENDING)], [R.OVERFLOWS_CREDITS_PENDING])


@transfer_case(R.OVERFLOWS_DEBITS_POSTED)
def _(env: Env) -> Case:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX))
    return Case([env.transfer(a, c, 1)], [R.OVERFLOWS_DEBITS_POSTED])


@transfer_case(R.OVERFLOWS_CREDITS_POSTED)
def _(env: Env) -> Case:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX))
    return Case([env.transfer(c, b, 1)], [R.OVERFLOWS_CREDITS_POSTED])


@transfer_case(R.OVERFLOWS_DEBITS)
def _(env: Env) -> Case:
    # Neither balance overflows on its own; pending + posted together would.
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX - 1, flags=PENDING))
    return Case([env.transfer(a, c, 2)], [R.OVERFLOWS_DEBITS])


@transfer_case(R.OVERFLOWS_CREDITS)
def _(env: Env) -> Case:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX - 1, flags=PENDING))
    return Case([env.transfer(c, b, 2)], [R.OVERFLOWS_CREDITS])


@transfer_case(R.EXCEEDS_CREDITS)
def _(env: Env) -> Case:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    env.fund(a, 50)
    return _one(env, R.EXCEEDS_CREDITS, debit=a, amount=51)


@transfer_case(R.EXCEEDS_DEBITS)
def _(env: Env) -> Case:
    b = env.account(flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    return _one(env, R.EXCEEDS_DEBITS, credit=b, amount=1)


def test_every_transfer_result_has_a_case() -> None:
    assert set(TRANSFER_CASES) == set(CreateTransferResult) - {R.OK}


def test_each_transfer_result_is_returned_and_nothing_moves(
    env: Env, subtests: pytest.Subtests
) -> None:
    # One database for every case (a fresh PostgreSQL database per case would take minutes);
    # each case makes its own accounts, and the snapshot covers everything created so far.
    for code, build in TRANSFER_CASES.items():
        with subtests.test(msg=code.value):
            case = build(env)
            assert code in case.expected
            extra = _uuids(case.batch)
            before = env.snapshot(extra)
            assert before[-1] == []  # the ledger verifies before...
            assert env.ledger.create_transfers(case.batch) == case.expected
            assert env.snapshot(extra) == before  # ...and is exactly as it was after


# ---------------------------------------------------------------------------- account cases
AccountCase = Callable[[Env], tuple[list[Account], list[CreateAccountResult]]]
ACCOUNT_CASES: dict[CreateAccountResult, AccountCase] = {}


def account_case(code: CreateAccountResult) -> Callable[[AccountCase], AccountCase]:
    def register(build: AccountCase) -> AccountCase:
        assert code not in ACCOUNT_CASES
        ACCOUNT_CASES[code] = build
        return build

    return register


def _new(result: CreateAccountResult, **fields: Any) -> AccountCase:
    def build(env: Env) -> tuple[list[Account], list[CreateAccountResult]]:
        values = {"id": uuid.uuid4(), "ledger": LEDGER, "code": CODE, **fields}
        return [Account(**values)], [result]

    return build


def _account_retry(result: CreateAccountResult, **changes: Any) -> AccountCase:
    def build(env: Env) -> tuple[list[Account], list[CreateAccountResult]]:
        fields: dict[str, Any] = {
            "ledger": LEDGER,
            "code": CODE,
            "flags": AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            "owner_id": uuid.uuid4(),
            "user_data_64": 64,
            "user_data_32": 32,
        }
        account_id = env.account(**fields)
        fields.update(changes)
        return [Account(account_id, **fields)], [result]

    return build


def _account_chain(env: Env) -> tuple[list[Account], list[CreateAccountResult]]:
    batch = [Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED), Account(uuid.uuid4(), 0, 1)]
    return batch, [A.LINKED_EVENT_FAILED, A.LEDGER_MUST_NOT_BE_ZERO]


def _account_chain_open(env: Env) -> tuple[list[Account], list[CreateAccountResult]]:
    batch = [
        Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED),
        Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED),
    ]
    return batch, [A.LINKED_EVENT_FAILED, A.LINKED_EVENT_CHAIN_OPEN]


ACCOUNT_CASES.update(
    {
        A.LINKED_EVENT_FAILED: _account_chain,
        A.LINKED_EVENT_CHAIN_OPEN: _account_chain_open,
        A.TIMESTAMP_MUST_BE_ZERO: _new(A.TIMESTAMP_MUST_BE_ZERO, timestamp=1),
        A.RESERVED_FLAG: _new(A.RESERVED_FLAG, flags=AccountFlags.CLOSED),
        A.ID_MUST_NOT_BE_ZERO: _new(A.ID_MUST_NOT_BE_ZERO, id=ZERO_ID),
        A.ID_MUST_NOT_BE_INT_MAX: _new(A.ID_MUST_NOT_BE_INT_MAX, id=INT_MAX_ID),
        A.EXISTS_WITH_DIFFERENT_FLAGS: _account_retry(A.EXISTS_WITH_DIFFERENT_FLAGS, flags=0),
        A.EXISTS_WITH_DIFFERENT_OWNER_ID: _account_retry(
            A.EXISTS_WITH_DIFFERENT_OWNER_ID, owner_id=uuid.uuid4()
        ),
        A.EXISTS_WITH_DIFFERENT_USER_DATA_64: _account_retry(
            A.EXISTS_WITH_DIFFERENT_USER_DATA_64, user_data_64=65
        ),
        A.EXISTS_WITH_DIFFERENT_USER_DATA_32: _account_retry(
            A.EXISTS_WITH_DIFFERENT_USER_DATA_32, user_data_32=33
        ),
        A.EXISTS_WITH_DIFFERENT_LEDGER: _account_retry(
            A.EXISTS_WITH_DIFFERENT_LEDGER, ledger=OTHER_LEDGER
        ),
        A.EXISTS_WITH_DIFFERENT_CODE: _account_retry(A.EXISTS_WITH_DIFFERENT_CODE, code=CODE + 1),
        A.EXISTS: _account_retry(A.EXISTS),
        A.FLAGS_ARE_MUTUALLY_EXCLUSIVE: _new(
            A.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        ),
        A.BALANCES_MUST_BE_ZERO: _new(A.BALANCES_MUST_BE_ZERO, credits_posted=5),
        A.LEDGER_MUST_NOT_BE_ZERO: _new(A.LEDGER_MUST_NOT_BE_ZERO, ledger=0),
        A.LEDGER_OUT_OF_RANGE: _new(A.LEDGER_OUT_OF_RANGE, ledger=LEDGER_MAX + 1),
        A.CODE_MUST_NOT_BE_ZERO: _new(A.CODE_MUST_NOT_BE_ZERO, code=0),
        A.CODE_OUT_OF_RANGE: _new(A.CODE_OUT_OF_RANGE, code=CODE_MAX + 1),
        A.USER_DATA_OUT_OF_RANGE: _new(A.USER_DATA_OUT_OF_RANGE, user_data_32=USER_DATA_32_MAX + 1),
        A.LEDGER_NOT_FOUND: _new(A.LEDGER_NOT_FOUND, ledger=99),
    }
)


def test_every_account_result_has_a_case() -> None:
    assert set(ACCOUNT_CASES) == set(CreateAccountResult) - {A.OK}


def test_each_account_result_is_returned_and_nothing_is_created(
    env: Env, subtests: pytest.Subtests
) -> None:
    for code, build in ACCOUNT_CASES.items():
        with subtests.test(msg=code.value):
            batch, expected = build(env)
            assert code in expected
            ids = _uuids(batch)
            before_accounts = env.ledger.lookup_accounts([*env.account_ids, *ids])
            before = env.ledger.verify()
            assert env.ledger.create_accounts(batch) == expected
            assert env.ledger.lookup_accounts([*env.account_ids, *ids]) == before_accounts
            after = env.ledger.verify()
            assert after.ok, after.problems
            assert after.accounts == before.accounts


@scenario("accounts")
def accounts_are_created_with_their_fields(env: Env) -> None:
    owner = uuid.uuid4()
    a = Account(uuid.uuid4(), LEDGER, CODE, 0, owner, 7, 8)
    b = Account(uuid.uuid4(), OTHER_LEDGER, CODE + 1, AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    assert env.ledger.create_accounts([a, b]) == [A.OK, A.OK]
    stored_a, stored_b = env.ledger.lookup_accounts([a.id, b.id])
    assert (stored_a.ledger, stored_a.code, stored_a.owner_id) == (LEDGER, CODE, owner)
    assert (stored_a.user_data_64, stored_a.user_data_32) == (7, 8)
    assert stored_b.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    assert 0 < stored_a.timestamp < stored_b.timestamp
    assert stored_a.balance == Balance()


@scenario("accounts")
def a_linked_account_chain_is_created_whole(env: Env) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    batch = [
        Account(ids[0], LEDGER, CODE, AccountFlags.LINKED),
        Account(ids[1], LEDGER, CODE, AccountFlags.LINKED),
        Account(ids[2], LEDGER, CODE),
    ]
    assert env.ledger.create_accounts(batch) == [A.OK] * 3
    assert [a.id for a in env.ledger.lookup_accounts(ids)] == ids
    # The same chain again: every event exists, and `exists` is a success inside a chain.
    assert env.ledger.create_accounts(batch) == [A.EXISTS] * 3


@scenario("accounts")
def an_account_chain_with_a_duplicate_rolls_back_the_duplicate_too(env: Env) -> None:
    new = uuid.uuid4()
    batch = [
        Account(new, LEDGER, CODE, AccountFlags.LINKED),
        Account(new, LEDGER, CODE, AccountFlags.LINKED),  # exists (created just before)
        Account(uuid.uuid4(), 99, CODE),
    ]
    assert env.ledger.create_accounts(batch) == [
        A.LINKED_EVENT_FAILED,
        A.LINKED_EVENT_FAILED,
        A.LEDGER_NOT_FOUND,
    ]
    assert env.ledger.lookup_accounts([new]) == []


@scenario("accounts")
def account_precedence(env: Env) -> None:
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    batch = [
        Account(uuid.uuid4(), 0, 0),  # ledger and code both zero
        Account(uuid.uuid4(), LEDGER, CODE, both, credits_posted=1),  # flags and balances
        Account(ZERO_ID, LEDGER, CODE, timestamp=5),  # timestamp and id
        Account(uuid.uuid4(), 99, CODE, user_data_64=-1),  # user data and unknown ledger
    ]
    assert env.ledger.create_accounts(batch) == [
        A.LEDGER_MUST_NOT_BE_ZERO,
        A.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        A.TIMESTAMP_MUST_BE_ZERO,
        A.USER_DATA_OUT_OF_RANGE,
    ]
    # An existing id is compared before the new account's own fields are validated.
    existing = env.account()
    assert env.ledger.create_accounts([Account(existing, 0, CODE)]) == [
        A.EXISTS_WITH_DIFFERENT_LEDGER
    ]


# ---------------------------------------------------------------------------- precedence
@scenario("precedence")
def zero_amount_beats_unknown_accounts(env: Env) -> None:
    unknown = env.transfer(uuid.uuid4(), uuid.uuid4(), 0)
    assert env.ledger.create_transfers([unknown]) == [R.AMOUNT_MUST_NOT_BE_ZERO]
    assert not env.stored(unknown.id)


@scenario("precedence")
def transfer_precedence(env: Env) -> None:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    b = env.account()
    env.ledger.close_account(b)
    batch = [
        # reserved flag and zero id
        env.transfer(a, b, 1, id=ZERO_ID, flags=1 << 9),
        # same accounts and a zero amount
        env.transfer(a, a, 0),
        # zero ledger and zero code
        env.transfer(a, b, 1, ledger=0, code=0),
        # closed credit account and a debit beyond the credits
        env.transfer(a, b, 1),
        # unknown credit account and a ledger the debit account is not on
        env.transfer(a, uuid.uuid4(), 1, ledger=OTHER_LEDGER),
        # a pending id on a plain transfer and a timeout
        env.transfer(a, b, 1, pending_id=uuid.uuid4(), timeout=5),
    ]
    assert env.ledger.create_transfers(batch) == [
        R.RESERVED_FLAG,
        R.ACCOUNTS_MUST_BE_DIFFERENT,
        R.LEDGER_MUST_NOT_BE_ZERO,
        R.CREDIT_ACCOUNT_ALREADY_CLOSED,
        R.CREDIT_ACCOUNT_NOT_FOUND,
        R.PENDING_ID_MUST_BE_ZERO,
    ]
    assert env.ledger.lookup_transfers(_uuids(batch)) == []
    env.assert_verifies()


@scenario("precedence")
def an_existing_id_is_compared_before_the_event_is_validated(env: Env) -> None:
    a, b = env.accounts(2)
    original = env.transfer(a, b, 100)
    env.apply(original)
    # The retry has a zero amount: it is an existing id first, a zero amount second.
    retry = env.transfer(a, b, 0, id=original.id)
    assert env.ledger.create_transfers([retry]) == [R.EXISTS_WITH_DIFFERENT_AMOUNT]
    # flags are compared before everything else
    retry = env.transfer(b, a, 7, id=original.id, flags=PENDING, code=CODE + 1)
    assert env.ledger.create_transfers([retry]) == [R.EXISTS_WITH_DIFFERENT_FLAGS]
    assert env.balance(a).debits_posted == 100


@scenario("precedence")
def post_precedence(env: Env) -> None:
    a, b, pending = _pending(env, 100)
    env.apply(env.post(pending.id))
    c = env.account()
    batch = [
        # already posted and a different debit account: the account mismatch comes first
        env.post(pending.id, debit_account_id=c),
        # already posted and more than was pending: the amount comes first
        env.post(pending.id, 101),
        # zero amount and an unknown pending transfer
        env.post(uuid.uuid4(), 0),
        # a void, and a post, of a posted pending on a closed account
        env.void(pending.id),
        env.post(pending.id),
    ]
    env.ledger.close_account(a)
    assert env.ledger.create_transfers(batch) == [
        R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
        R.EXCEEDS_PENDING_TRANSFER_AMOUNT,
        R.AMOUNT_MUST_NOT_BE_ZERO,
        R.PENDING_TRANSFER_ALREADY_POSTED,
        R.PENDING_TRANSFER_ALREADY_POSTED,
    ]
    assert env.balance(b).credits_posted == 100


# ---------------------------------------------------------------------------- plain transfers
@scenario("plain")
def a_transfer_records_both_balances_after_it(env: Env) -> None:
    a, b = env.accounts(2)
    first = env.transfer(a, b, 30, user_data_128=uuid.uuid4(), user_data_64=1, user_data_32=2)
    second = env.transfer(b, a, 10)
    env.apply(first, second)
    record_1, record_2 = env.ledger.lookup_transfers([first.id, second.id])
    assert record_1.transfer.user_data_128 == first.user_data_128
    assert (record_1.transfer.user_data_64, record_1.transfer.user_data_32) == (1, 2)
    assert record_1.debit_balance == Balance(debits_posted=30)
    assert record_1.credit_balance == Balance(credits_posted=30)
    assert record_2.debit_balance == Balance(debits_posted=10, credits_posted=30)
    assert record_2.credit_balance == Balance(debits_posted=30, credits_posted=10)
    assert record_1.transfer.timestamp < record_2.transfer.timestamp
    assert env.balance(a) == Balance(debits_posted=30, credits_posted=10)
    assert env.ledger.get_account(a).last_transfer_timestamp == record_2.transfer.timestamp
    env.assert_verifies()


@scenario("plain")
def the_largest_amount_is_accepted(env: Env) -> None:
    a, b = env.accounts(2)
    env.apply(env.transfer(a, b, AMOUNT_MAX))
    assert env.balance(a).debits_posted == AMOUNT_MAX
    assert env.balance(b).credits_posted == AMOUNT_MAX
    env.assert_verifies()


@scenario("plain")
def overflow_boundary_exactly_at_the_maximum(env: Env) -> None:
    a, b, c = env.accounts(3)
    env.apply(env.transfer(a, b, AMOUNT_MAX - 10, flags=PENDING))
    assert env.ledger.create_transfers([env.transfer(a, c, 11)]) == [R.OVERFLOWS_DEBITS]
    env.apply(env.transfer(a, c, 10))
    assert env.balance(a) == Balance(debits_pending=AMOUNT_MAX - 10, debits_posted=10)
    env.assert_verifies()


# ---------------------------------------------------------------------------- idempotency
@scenario("idempotency")
def a_retry_with_the_same_fields_exists_and_moves_money_once(env: Env) -> None:
    a, b = env.accounts(2)
    stored = env.count()
    transfer = env.transfer(a, b, 250, user_data_64=9)
    env.apply(transfer)
    again = replace(transfer)  # an equal event, not the same object
    for _ in range(2):
        assert env.ledger.create_transfers([again]) == [R.EXISTS]
    assert env.ledger.submit_transfers([again]) == [R.EXISTS]
    assert env.balance(a).debits_posted == 250
    assert env.balance(b).credits_posted == 250
    assert env.count() == stored + 1
    env.assert_verifies()


@scenario("idempotency")
def a_duplicate_inside_one_batch_is_applied_once(env: Env) -> None:
    a, b = env.accounts(2)
    stored = env.count()
    transfer = env.transfer(a, b, 40)
    changed = env.transfer(a, b, 41, id=transfer.id)
    assert env.ledger.create_transfers([transfer, transfer, changed]) == [
        R.OK,
        R.EXISTS,
        R.EXISTS_WITH_DIFFERENT_AMOUNT,
    ]
    assert env.balance(a).debits_posted == 40
    assert env.count() == stored + 1


@scenario("idempotency")
def a_retry_mixed_with_new_transfers_applies_only_the_new_ones(env: Env) -> None:
    a, b = env.accounts(2)
    first = env.transfer(a, b, 1)
    env.apply(first)
    second = env.transfer(a, b, 2)
    assert env.ledger.create_transfers([first, second, first]) == [R.EXISTS, R.OK, R.EXISTS]
    assert env.balance(a).debits_posted == 3
    env.assert_verifies()


@scenario("idempotency")
def a_retry_after_the_account_closed_still_exists(env: Env) -> None:
    a, b = env.accounts(2)
    transfer = env.transfer(a, b, 5)
    env.apply(transfer)
    env.ledger.close_account(a)
    assert env.ledger.create_transfers([transfer]) == [R.EXISTS]
    assert env.ledger.create_transfers([env.transfer(a, b, 5)]) == [R.DEBIT_ACCOUNT_ALREADY_CLOSED]
    assert env.balance(a).debits_posted == 5


@scenario("idempotency")
def a_retried_post_exists_even_with_the_amount_and_accounts_left_unset(env: Env) -> None:
    a, b, pending = _pending(env, 100)
    post = env.post(pending.id)  # amount, accounts, ledger and code all unset
    env.apply(post)
    assert env.ledger.create_transfers([post]) == [R.EXISTS]
    explicit = Transfer(
        post.id, a, b, 100, pending_id=pending.id, ledger=LEDGER, code=CODE, flags=POST
    )
    assert env.ledger.create_transfers([explicit]) == [R.EXISTS]
    assert env.ledger.create_transfers([env.post(pending.id, 99, id=post.id)]) == [
        R.EXISTS_WITH_DIFFERENT_AMOUNT
    ]
    assert env.balance(a) == Balance(debits_posted=100)


@scenario("idempotency")
def a_retried_void_with_the_amount_left_unset_exists(env: Env) -> None:
    # The first void is accepted with the amount unset, so the very same event sent again
    # is an idempotent retry and must answer `exists`.
    a, _, pending = _pending(env, 100)
    void = env.void(pending.id)
    env.apply(void)
    assert env.ledger.create_transfers([void]) == [R.EXISTS]
    assert env.balance(a) == Balance()


@scenario("idempotency")
def a_retried_void_with_the_amount_set_exists(env: Env) -> None:
    a, _, pending = _pending(env, 100)
    void = env.void(pending.id, 100)
    env.apply(void)
    assert env.ledger.create_transfers([void]) == [R.EXISTS]
    assert env.balance(a) == Balance()


@scenario("idempotency")
def a_retried_pending_transfer_exists_after_it_was_posted(env: Env) -> None:
    a, _, pending = _pending(env, 100, timeout=60)
    env.apply(env.post(pending.id, 30))
    assert env.ledger.create_transfers([pending]) == [R.EXISTS]
    assert env.balance(a) == Balance(debits_posted=30)
    env.assert_verifies()


# ---------------------------------------------------------------------------- two-phase
@scenario("two_phase")
def a_pending_transfer_reserves_funds(env: Env) -> None:
    a, b, pending = _pending(env, 100, timeout=60)
    assert env.balance(a) == Balance(debits_pending=100)
    assert env.balance(b) == Balance(credits_pending=100)
    (state,) = env.ledger.lookup_pending([pending.id])
    assert state.status is PendingStatus.PENDING
    assert state.amount == 100
    (record,) = env.ledger.lookup_transfers([pending.id])
    assert state.expires_at == record.transfer.timestamp + 60 * 1_000_000_000
    env.assert_verifies()


@scenario("two_phase")
def posting_the_full_amount(env: Env) -> None:
    a, b, pending = _pending(env, 100)
    post = env.post(pending.id)
    env.apply(post)
    assert env.balance(a) == Balance(debits_posted=100)
    assert env.balance(b) == Balance(credits_posted=100)
    (record,) = env.ledger.lookup_transfers([post.id])
    assert record.transfer.amount == 100
    assert (record.transfer.debit_account_id, record.transfer.credit_account_id) == (a, b)
    assert (record.transfer.ledger, record.transfer.code) == (LEDGER, CODE)
    (state,) = env.ledger.lookup_pending([pending.id])
    assert (state.status, state.resolved_by) == (PendingStatus.POSTED, post.id)
    env.assert_verifies()


@scenario("two_phase")
def posting_part_releases_the_rest(env: Env) -> None:
    a, b, pending = _pending(env, 100)
    post = env.post(pending.id, 60, debit_account_id=a, credit_account_id=b)
    env.apply(post)
    assert env.balance(a) == Balance(debits_posted=60)
    assert env.balance(b) == Balance(credits_posted=60)
    assert env.ledger.lookup_transfers([post.id])[0].transfer.amount == 60
    env.assert_verifies()


@scenario("two_phase")
def voiding_releases_the_reservation(env: Env) -> None:
    a, b, pending = _pending(env, 100)
    void = env.void(pending.id)
    env.apply(void)
    assert env.balance(a) == Balance()
    assert env.balance(b) == Balance()
    (state,) = env.ledger.lookup_pending([pending.id])
    assert (state.status, state.resolved_by) == (PendingStatus.VOIDED, void.id)
    env.assert_verifies()


@scenario("two_phase")
def a_pending_transfer_resolves_only_once(env: Env) -> None:
    a, _, posted = _pending(env, 100)
    env.apply(env.post(posted.id))
    assert env.ledger.create_transfers([env.post(posted.id)]) == [R.PENDING_TRANSFER_ALREADY_POSTED]
    assert env.ledger.create_transfers([env.void(posted.id)]) == [R.PENDING_TRANSFER_ALREADY_POSTED]
    c, _, voided = _pending(env, 100)
    env.apply(env.void(voided.id))
    assert env.ledger.create_transfers([env.post(voided.id)]) == [R.PENDING_TRANSFER_ALREADY_VOIDED]
    assert env.ledger.create_transfers([env.void(voided.id)]) == [R.PENDING_TRANSFER_ALREADY_VOIDED]
    assert env.balance(a) == Balance(debits_posted=100)
    assert env.balance(c) == Balance()
    env.assert_verifies()


@scenario("two_phase")
def post_and_void_in_the_same_batch_as_the_pending(env: Env) -> None:
    a, b = env.accounts(2)
    pending = env.transfer(a, b, 100, flags=PENDING)
    post = env.post(pending.id, 70)
    again = env.void(pending.id)
    assert env.ledger.create_transfers([pending, post, again]) == [
        R.OK,
        R.OK,
        R.PENDING_TRANSFER_ALREADY_POSTED,
    ]
    assert env.balance(a) == Balance(debits_posted=70)
    (state,) = env.ledger.lookup_pending([pending.id])
    assert state.status is PendingStatus.POSTED
    env.assert_verifies()


@scenario("two_phase")
def a_plain_transfer_is_not_pending(env: Env) -> None:
    a, b = env.accounts(2)
    plain = env.transfer(a, b, 100)
    env.apply(plain)
    assert env.ledger.create_transfers([env.post(plain.id), env.void(plain.id)]) == [
        R.PENDING_TRANSFER_NOT_PENDING,
        R.PENDING_TRANSFER_NOT_PENDING,
    ]
    # Also when the plain transfer is created in the same batch.
    other = env.transfer(a, b, 1)
    assert env.ledger.create_transfers([other, env.post(other.id)]) == [
        R.OK,
        R.PENDING_TRANSFER_NOT_PENDING,
    ]
    # A post is no pending transfer either.
    _, _, pending = _pending(env)
    post = env.post(pending.id)
    env.apply(post)
    assert env.ledger.create_transfers([env.void(post.id)]) == [R.PENDING_TRANSFER_NOT_PENDING]
    assert env.balance(a).debits_posted == 101


@scenario("expiry")
def expiry_voids_a_pending_transfer_after_its_timeout(env: Env) -> None:
    a, b, pending = _pending(env, 100, timeout=10)
    env.clock.advance(seconds=9)
    assert env.ledger.expire_due() == 0
    assert env.balance(a) == Balance(debits_pending=100)
    env.clock.advance(seconds=2)
    assert env.ledger.expire_due() == 1
    assert env.ledger.expire_due() == 0
    assert env.balance(a) == Balance()
    assert env.balance(b) == Balance()
    (state,) = env.ledger.lookup_pending([pending.id])
    assert (state.status, state.resolved_by) == (PendingStatus.EXPIRED, expiry_id(pending.id))
    (record,) = env.ledger.lookup_transfers([expiry_id(pending.id)])
    assert record.transfer.flags == VOID | F.EXPIRY
    assert record.transfer.pending_id == pending.id
    assert record.transfer.amount == 100
    assert (record.transfer.debit_account_id, record.transfer.credit_account_id) == (a, b)
    assert env.ledger.create_transfers([env.post(pending.id)]) == [R.PENDING_TRANSFER_EXPIRED]
    assert env.ledger.create_transfers([env.void(pending.id)]) == [R.PENDING_TRANSFER_EXPIRED]
    assert env.balance(a) == Balance()
    env.assert_verifies()


@scenario("expiry")
def a_pending_transfer_without_timeout_never_expires(env: Env) -> None:
    a, _, pending = _pending(env, 100)
    env.clock.advance(seconds=10 * 365 * 86_400)
    assert env.ledger.expire_due() == 0
    env.apply(env.post(pending.id))
    assert env.balance(a) == Balance(debits_posted=100)


@scenario("expiry")
def a_post_before_the_timeout_succeeds(env: Env) -> None:
    a, _, pending = _pending(env, 100, timeout=10)
    env.clock.advance(seconds=9)
    env.apply(env.post(pending.id))
    env.clock.advance(seconds=5)
    assert env.ledger.expire_due() == 0
    assert env.balance(a) == Balance(debits_posted=100)
    env.assert_verifies()


@scenario("expiry")
def a_post_after_the_timeout_expires_without_a_sweep(env: Env) -> None:
    a, b, pending = _pending(env, 100, timeout=5)
    env.clock.advance(seconds=6)
    post = env.post(pending.id)
    assert env.ledger.create_transfers([post]) == [R.PENDING_TRANSFER_EXPIRED]
    assert not env.stored(post.id)
    # The expiry was written (the outcome does not depend on whether the sweep ran first).
    assert env.stored(expiry_id(pending.id))
    assert env.ledger.lookup_pending([pending.id])[0].status is PendingStatus.EXPIRED
    assert env.balance(a) == Balance()
    assert env.balance(b) == Balance()
    assert env.ledger.expire_due() == 0
    env.assert_verifies()


def test_a_client_transfer_with_an_expiry_id_does_not_wedge_the_ledger(env: Env) -> None:
    # Transfer ids are the client's choice, and expiry_id() is public and deterministic: a
    # client may (by mistake or on purpose) use the id the engine will give a pending
    # transfer's expiry. That must not stop the ledger from taking unrelated transfers.
    a, b, pending = _pending(env, 100, timeout=1)
    squatter = env.transfer(a, b, 5, id=expiry_id(pending.id))
    assert env.ledger.create_transfers([squatter]) == [R.ID_MUST_NOT_BE_RESERVED]
    env.clock.advance(seconds=2)
    x, y = env.accounts(2)
    assert env.ledger.create_transfers([env.transfer(x, y, 1)]) == [R.OK]
    env.ledger.expire_due()
    env.assert_verifies()


@scenario("expiry")
def expiry_releases_funds_on_a_closed_account(env: Env) -> None:
    a, _, _ = _pending(env, 100, timeout=1)
    env.ledger.close_account(a)
    env.clock.advance(seconds=2)
    assert env.ledger.expire_due() == 1
    assert env.balance(a) == Balance()
    env.assert_verifies()


# ---------------------------------------------------------------------------- linked chains
@scenario("chains")
def a_linked_chain_that_succeeds_applies_every_event(env: Env) -> None:
    a, b, c = env.accounts(3)
    pending = env.transfer(a, b, 50, flags=PENDING | LINKED)
    batch = [
        env.transfer(a, b, 10, flags=LINKED),
        env.transfer(b, c, 5, flags=LINKED),
        pending,
        env.post(pending.id, 20),
    ]
    assert env.ledger.create_transfers(batch) == [R.OK] * 4
    assert env.balance(a) == Balance(debits_posted=30)
    assert env.balance(b) == Balance(debits_posted=5, credits_posted=30)
    assert env.balance(c) == Balance(credits_posted=5)
    env.assert_verifies()


@scenario("chains")
def one_failure_fails_the_whole_chain(env: Env) -> None:
    a, b, c = env.accounts(3)
    _, _, earlier = _pending(env, 100)  # resolved inside the chain, then rolled back
    pending = env.transfer(a, b, 50, flags=PENDING | LINKED)
    batch = [
        env.transfer(a, b, 10, flags=LINKED),
        pending,
        env.void(earlier.id, flags=VOID | LINKED),
        env.transfer(b, c, 0, flags=LINKED),  # fails
        env.transfer(c, a, 1),
    ]
    extra = _uuids(batch)
    before = env.snapshot(extra)
    assert env.ledger.create_transfers(batch) == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_NOT_BE_ZERO,
        R.LINKED_EVENT_FAILED,
    ]
    assert env.snapshot(extra) == before
    assert env.ledger.lookup_transfers(extra) == []
    assert env.ledger.lookup_pending([pending.id]) == []
    assert env.ledger.lookup_pending([earlier.id])[0].status is PendingStatus.PENDING
    for account in (a, b, c):
        assert env.balance(account) == Balance()
    env.assert_verifies()


@scenario("chains")
def a_chain_open_at_the_end_of_the_batch_fails(env: Env) -> None:
    a, b = env.accounts(2)
    independent = env.transfer(a, b, 1)
    batch = [
        independent,
        env.transfer(a, b, 10, flags=LINKED),
        env.transfer(a, b, 20, flags=LINKED),
        env.transfer(a, b, 30, flags=LINKED),
    ]
    assert env.ledger.create_transfers(batch) == [
        R.OK,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert env.ledger.lookup_transfers(_uuids(batch)) == env.ledger.lookup_transfers(
        [independent.id]
    )
    assert env.balance(a) == Balance(debits_posted=1)


@scenario("chains")
def independent_events_around_a_failed_chain_still_apply(env: Env) -> None:
    a, b = env.accounts(2)
    before = env.transfer(a, b, 1)
    after = env.transfer(a, b, 2)
    batch = [
        before,
        env.transfer(a, b, 10, flags=LINKED),
        env.transfer(a, uuid.uuid4(), 20),  # unknown credit account: the chain fails
        after,
        env.transfer(a, b, 4, flags=LINKED),  # a second chain, which succeeds
        env.transfer(b, a, 8),
    ]
    assert env.ledger.create_transfers(batch) == [
        R.OK,
        R.LINKED_EVENT_FAILED,
        R.CREDIT_ACCOUNT_NOT_FOUND,
        R.OK,
        R.OK,
        R.OK,
    ]
    assert env.balance(a) == Balance(debits_posted=7, credits_posted=8)
    env.assert_verifies()


@scenario("chains")
def exists_counts_as_success_inside_a_chain(env: Env) -> None:
    a, b = env.accounts(2)
    stored = env.transfer(a, b, 10, flags=LINKED)
    assert env.ledger.create_transfers([stored, env.transfer(a, b, 1)]) == [R.OK, R.OK]
    fresh = env.transfer(a, b, 5)
    assert env.ledger.create_transfers([stored, fresh]) == [R.EXISTS, R.OK]
    assert env.balance(a).debits_posted == 16
    # ...but a stored event is still reported failed when its chain fails.
    failing = env.transfer(a, b, 0)
    assert env.ledger.create_transfers([stored, failing]) == [
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_NOT_BE_ZERO,
    ]
    assert env.balance(a).debits_posted == 16
    env.assert_verifies()


@scenario("chains")
def a_failed_chain_can_be_retried_whole(env: Env) -> None:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    b = env.account()
    batch = [env.transfer(b, a, 10, flags=LINKED), env.transfer(a, b, 15)]
    assert env.ledger.create_transfers(batch) == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS]
    env.fund(a, 5)
    assert env.ledger.create_transfers(batch) == [R.OK, R.OK]
    assert env.balance(a) == Balance(debits_posted=15, credits_posted=15)
    env.assert_verifies()


# ---------------------------------------------------------------------------- balance flags
@scenario("balance_flags")
def debits_must_not_exceed_credits_boundary(env: Env) -> None:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    b = env.account()
    env.fund(a, 100)
    assert env.ledger.create_transfers([env.transfer(a, b, 101)]) == [R.EXCEEDS_CREDITS]
    env.apply(env.transfer(a, b, 100))  # exactly equal: allowed
    assert env.ledger.create_transfers([env.transfer(a, b, 1)]) == [R.EXCEEDS_CREDITS]
    assert env.balance(a) == Balance(debits_posted=100, credits_posted=100)
    env.assert_verifies()


@scenario("balance_flags")
def pending_debits_count_against_credits(env: Env) -> None:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    b = env.account()
    env.fund(a, 100)
    env.apply(env.transfer(a, b, 60, flags=PENDING))
    assert env.ledger.create_transfers([env.transfer(a, b, 41)]) == [R.EXCEEDS_CREDITS]
    assert env.ledger.create_transfers([env.transfer(a, b, 41, flags=PENDING)]) == [
        R.EXCEEDS_CREDITS
    ]
    env.apply(env.transfer(a, b, 40))
    assert env.balance(a) == Balance(debits_pending=60, debits_posted=40, credits_posted=100)
    env.assert_verifies()


@scenario("balance_flags")
def credits_must_not_exceed_debits_boundary(env: Env) -> None:
    b = env.account(flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    x = env.account()
    env.apply(env.transfer(b, x, 100))
    assert env.ledger.create_transfers([env.transfer(x, b, 101)]) == [R.EXCEEDS_DEBITS]
    env.apply(env.transfer(x, b, 100))  # exactly equal: allowed
    assert env.ledger.create_transfers([env.transfer(x, b, 1)]) == [R.EXCEEDS_DEBITS]
    assert env.ledger.create_transfers([env.transfer(x, b, 1, flags=PENDING)]) == [R.EXCEEDS_DEBITS]
    assert env.balance(b) == Balance(debits_posted=100, credits_posted=100)
    env.assert_verifies()


# ---------------------------------------------------------------------------- closed accounts
@scenario("closed")
def closed_accounts_refuse_transfers_and_posts_but_allow_voids(env: Env) -> None:
    a, b = env.accounts(2)
    to_post = env.transfer(a, b, 30, flags=PENDING)
    to_void = env.transfer(a, b, 20, flags=PENDING)
    env.apply(to_post, to_void)
    closed = env.ledger.close_account(a)
    assert closed.closed
    assert env.ledger.get_account(a).closed
    assert env.ledger.create_transfers(
        [
            env.transfer(a, b, 1),
            env.transfer(b, a, 1),
            env.transfer(a, b, 1, flags=PENDING),
            env.post(to_post.id),
        ]
    ) == [
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
        R.CREDIT_ACCOUNT_ALREADY_CLOSED,
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
    ]
    assert env.balance(a) == Balance(debits_pending=50)
    env.apply(env.void(to_void.id))
    assert env.balance(a) == Balance(debits_pending=30)
    # Closing the credit side refuses the post for the credit account.
    env.ledger.reopen_account(a)
    env.ledger.close_account(b)
    assert env.ledger.create_transfers([env.post(to_post.id)]) == [R.CREDIT_ACCOUNT_ALREADY_CLOSED]
    env.ledger.reopen_account(b)
    assert not env.ledger.get_account(b).closed
    env.apply(env.post(to_post.id), env.transfer(a, b, 1))
    assert env.balance(a) == Balance(debits_posted=31)
    env.assert_verifies()


@scenario("accounts")
def a_closed_account_still_exists_with_its_own_fields(env: Env) -> None:
    a = env.account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    env.ledger.close_account(a)
    retry = Account(a, LEDGER, CODE, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    assert env.ledger.create_accounts([retry]) == [A.EXISTS]
    assert env.ledger.get_account(a).closed


@scenario("accounts")
def closing_an_unknown_account_is_refused(env: Env) -> None:
    with pytest.raises(DomainError) as raised:
        env.ledger.close_account(uuid.uuid4())
    assert raised.value.code == "ledger_account_not_found"


# ---------------------------------------------------------------------------- batch limits
@scenario("batch_limits")
def a_batch_of_8191_events_is_refused_whole(env: Env) -> None:
    a, b = env.accounts(2)
    stored = env.count()
    batch = [env.transfer(a, b, 1) for _ in range(BATCH_MAX + 1)]
    with pytest.raises(DomainError) as raised:
        env.ledger.create_transfers(batch)
    assert raised.value.code == "ledger_batch_too_large"
    with pytest.raises(DomainError) as raised:
        env.ledger.submit_transfers(batch)
    assert raised.value.code == "ledger_batch_too_large"
    assert env.ledger.lookup_transfers([batch[0].id, batch[-1].id]) == []
    assert env.count() == stored
    assert env.balance(a) == Balance()
    accounts = [Account(uuid.uuid4(), LEDGER, CODE) for _ in range(BATCH_MAX + 1)]
    with pytest.raises(DomainError) as raised:
        env.ledger.create_accounts(accounts)
    assert raised.value.code == "ledger_batch_too_large"
    assert env.ledger.lookup_accounts([accounts[0].id]) == []


MALFORMED: dict[str, Callable[[uuid.UUID, uuid.UUID], Transfer]] = {
    "str-id": lambda a, b: Transfer("not-a-uuid", a, b, 5, ledger=LEDGER, code=CODE),  # type: ignore[arg-type]
    "int-id": lambda a, b: Transfer(12345, a, b, 5, ledger=LEDGER, code=CODE),  # type: ignore[arg-type]
    "str-debit": lambda a, b: Transfer(uuid.uuid4(), str(a), b, 5, ledger=LEDGER, code=CODE),  # type: ignore[arg-type]
    "str-pending-id": lambda a, b: Transfer(uuid.uuid4(), pending_id="x", flags=POST),  # type: ignore[arg-type]
}


@scenario("batch_limits")
def a_malformed_event_refuses_the_whole_batch(env: Env) -> None:
    for kind, malformed in MALFORMED.items():
        a, b = env.accounts(2)
        stored = env.count()
        good = env.transfer(a, b, 10)
        with pytest.raises(DomainError) as raised:
            env.ledger.create_transfers([good, malformed(a, b)])
        assert raised.value.code == "ledger_event_malformed", kind
        assert not env.stored(good.id), kind
        assert env.balance(a) == Balance(), kind
        assert env.count() == stored, kind
        env.apply(good)  # the ledger is not stuck


@scenario("batch_limits")
def a_malformed_account_refuses_the_whole_batch(env: Env) -> None:
    good = Account(uuid.uuid4(), LEDGER, CODE)
    bad = Account("not-a-uuid", LEDGER, CODE)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as raised:
        env.ledger.create_accounts([good, bad])
    assert raised.value.code == "ledger_event_malformed"
    assert env.ledger.lookup_accounts([good.id]) == []


@scenario("batch_limits")
def a_batch_of_8190_events_is_accepted(env: Env) -> None:
    # Last in its group: every later verify would replay these 8,190 rows again.
    a, b = env.accounts(2)
    batch = [env.transfer(a, b, 1) for _ in range(BATCH_MAX)]
    assert env.ledger.create_transfers(batch) == [R.OK] * BATCH_MAX
    assert env.balance(a).debits_posted == BATCH_MAX
    assert len(env.ledger.lookup_transfers([t.id for t in batch])) == BATCH_MAX


# ---------------------------------------------------------------------------- statements
@scenario("statements")
def a_statement_for_a_range_in_the_middle_of_history(env: Env) -> None:
    a, other = env.accounts(2)
    pending = env.transfer(a, other, 25, flags=PENDING)
    steps = [
        env.transfer(other, a, 100),  # 0: credit
        env.transfer(a, other, 30),  # 1: debit
        pending,  # 2: pending debit
        env.transfer(other, a, 50),  # 3: credit
        env.post(pending.id, 20),  # 4: post
        env.transfer(a, other, 5),  # 5: debit
    ]
    timestamps = []
    for step in steps:
        env.clock.advance(seconds=1)
        env.apply(step)
        timestamps.append(env.ledger.lookup_transfers([step.id])[0].transfer.timestamp)
    assert timestamps == sorted(timestamps)

    statement = env.ledger.statement(a, timestamps[1], timestamps[5], 100)
    assert statement.opening == Balance(credits_posted=100)
    assert [e.transfer.id for e in statement.entries] == [s.id for s in steps[1:5]]
    assert [e.direction for e in statement.entries] == ["debit", "debit", "credit", "debit"]
    assert [e.balance_after for e in statement.entries] == [
        Balance(debits_posted=30, credits_posted=100),
        Balance(debits_pending=25, debits_posted=30, credits_posted=100),
        Balance(debits_pending=25, debits_posted=30, credits_posted=150),
        Balance(debits_posted=50, credits_posted=150),
    ]
    assert statement.closing == Balance(debits_posted=50, credits_posted=150)
    assert not statement.truncated

    # The counterparty's statement over the same range sees the other side.
    theirs = env.ledger.statement(other, timestamps[1], timestamps[5], 100)
    assert theirs.opening == Balance(debits_posted=100)
    assert [e.direction for e in theirs.entries] == ["credit", "credit", "debit", "credit"]
    assert theirs.closing == Balance(debits_posted=150, credits_posted=50)

    # A range with nothing in it: closing equals opening.
    empty = env.ledger.statement(a, timestamps[5] + 1, timestamps[5] + 1_000, 100)
    assert empty.entries == []
    assert empty.opening == empty.closing == Balance(debits_posted=55, credits_posted=150)

    # A page limit: the first entries, and it says there are more.
    page = env.ledger.statement(a, timestamps[0], timestamps[5] + 1, 2)
    assert [e.transfer.id for e in page.entries] == [s.id for s in steps[:2]]
    assert page.opening == Balance()
    assert page.truncated

    with pytest.raises(DomainError) as raised:
        env.ledger.statement(a, timestamps[2], timestamps[1], 10)
    assert raised.value.code == "ledger_event_malformed"
    with pytest.raises(DomainError) as raised:
        env.ledger.statement(uuid.uuid4(), timestamps[0], timestamps[1], 10)
    assert raised.value.code == "ledger_account_not_found"


# ---------------------------------------------------------------------------- scenario groups
def test_accounts(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "accounts")


def test_precedence(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "precedence")


def test_plain_transfers(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "plain")


def test_idempotency(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "idempotency")


def test_two_phase(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "two_phase")


def test_expiry(env: Env, subtests: pytest.Subtests) -> None:
    # Every expiry scenario resolves the pendings it makes, so the sweep counts stay exact.
    run_scenarios(env, subtests, "expiry")


def test_linked_chains(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "chains")


def test_balance_flags(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "balance_flags")


def test_closed_accounts(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "closed")


def test_batch_limits(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "batch_limits")


def test_statements(env: Env, subtests: pytest.Subtests) -> None:
    run_scenarios(env, subtests, "statements")


def test_every_scenario_group_runs() -> None:
    run_here = {
        "accounts",
        "precedence",
        "plain",
        "idempotency",
        "two_phase",
        "expiry",
        "chains",
        "balance_flags",
        "closed",
        "batch_limits",
        "statements",
    }
    assert set(SCENARIOS) == run_here
