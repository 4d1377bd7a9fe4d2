"""The evaluator on its own: engine.Batch over in-memory maps, no database.

Maps are keyed by uuid.int, as the store hands them over. These tests look at what the
database tests cannot see directly: the undo of a failed linked chain (accounts, rows,
pendings, timestamps), duplicates inside one batch, timestamp order, the rows streamed to the
sink, and that a batch gives the same answers as its chains applied one after another.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tijarat.kernel.clock import NS_PER_S
from tijarat.kernel.errors import DomainError
from tijarat.ledger import engine
from tijarat.ledger.engine import Batch
from tijarat.ledger.model import (
    AMOUNT_MAX,
    LEDGER_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
    expiry_id,
)

R = CreateTransferResult
A = CreateAccountResult
F = TransferFlags

LEDGER = 1
CODE = 10
START = 1_767_225_600 * NS_PER_S  # 2026-01-01, the ManualClock's default
TIMESTAMP = 12  # index of the timestamp in a transfers row (store.TRANSFER_COLUMNS)


# ---------------------------------------------------------------------------- helpers
def account(flags: int = 0, ledger: int = LEDGER, **balances: int) -> Account:
    return Account(uuid.uuid4(), ledger, CODE, flags, **balances)


def transfer(
    debit: Account | uuid.UUID | None,
    credit: Account | uuid.UUID | None,
    amount: int | None,
    **fields: Any,
) -> Transfer:
    fields.setdefault("ledger", LEDGER)
    fields.setdefault("code", CODE)
    return Transfer(
        fields.pop("id", uuid.uuid4()),
        debit.id if isinstance(debit, Account) else debit,
        credit.id if isinstance(credit, Account) else credit,
        amount,
        **fields,
    )


def post(pending_id: uuid.UUID, amount: int | None = None, **fields: Any) -> Transfer:
    fields.setdefault("flags", F.POST_PENDING_TRANSFER)
    return Transfer(fields.pop("id", uuid.uuid4()), amount=amount, pending_id=pending_id, **fields)


def void(pending_id: uuid.UUID, **fields: Any) -> Transfer:
    fields.setdefault("flags", F.VOID_PENDING_TRANSFER)
    return Transfer(fields.pop("id", uuid.uuid4()), pending_id=pending_id, **fields)


def stored_pending(
    debit: Account, credit: Account, amount: int, *, expires_at: int = 0
) -> PendingState:
    """A pending transfer as the store would load it, with its reservation on the accounts."""
    debit.debits_pending += amount
    credit.credits_pending += amount
    return PendingState(
        uuid.uuid4(),
        debit.id,
        credit.id,
        amount,
        LEDGER,
        CODE,
        START - NS_PER_S,
        expires_at,
        PendingStatus.PENDING,
    )


def make_batch(
    accounts: Sequence[Account] = (),
    *,
    pendings: Sequence[PendingState] = (),
    existing: Sequence[Transfer] = (),
    not_pending: Sequence[uuid.UUID] = (),
    ledgers: set[int] | None = None,
    start: int = START,
    now: int = START,
) -> Batch:
    return Batch(
        accounts={a.id.int: a for a in accounts},
        pendings={p.id.int: p for p in pendings},
        existing={t.id.int: t for t in existing},
        not_pending_ids={i.int for i in not_pending},
        ledgers={LEDGER} if ledgers is None else ledgers,
        timestamp_start=start,
        now_ns=now,
    )


def state(batch: Batch) -> dict[str, Any]:
    """A deep copy of everything a batch holds, inputs and outputs, for before/after checks."""
    return copy.deepcopy(
        {
            "accounts": batch.accounts,
            "pendings": batch.pendings,
            "created": batch.created,
            "rows": batch.rows,
            "pending_new": batch.pending_new,
            "pending_changed": batch.pending_changed,
            "accounts_created": batch.accounts_created,
            "last_timestamp": batch.last_timestamp,
        }
    )


def balances(a: Account) -> tuple[int, int, int, int]:
    return (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)


# ---------------------------------------------------------------------------- linked chains
def test_a_failed_chain_leaves_accounts_rows_pendings_and_timestamps_as_before() -> None:
    a, b, c = account(), account(), account()
    held = stored_pending(a, b, 70)  # loaded from the database, resolved inside the chain
    batch = make_batch([a, b, c], pendings=[held])
    first = transfer(a, c, 1)  # an independent event before the chain
    assert batch.create_transfers([first]) == [R.OK]
    before = state(batch)

    fresh_pending = transfer(a, c, 5, flags=F.PENDING | F.LINKED, timeout=30)
    chain = [
        transfer(a, b, 10, flags=F.LINKED),
        fresh_pending,
        post(held.id, 20, flags=F.POST_PENDING_TRANSFER | F.LINKED),
        void(fresh_pending.id, flags=F.VOID_PENDING_TRANSFER | F.LINKED),
        transfer(b, c, 3, flags=F.LINKED),
        transfer(c, a, AMOUNT_MAX + 1),  # fails, and closes the chain
    ]
    results = batch.create_transfers(chain)
    assert results == [R.LINKED_EVENT_FAILED] * 5 + [R.AMOUNT_EXCEEDS_MAXIMUM]
    assert state(batch) == before
    assert held.status is PendingStatus.PENDING
    assert held.resolved_by is None
    assert held.id.int not in batch.pending_changed
    assert fresh_pending.id.int not in batch.pendings
    # The next event gets the timestamp the chain would have used first.
    after = transfer(a, c, 2)
    assert batch.create_transfers([after]) == [R.OK]
    assert batch.rows[-1][TIMESTAMP] == before["last_timestamp"] + 1
    assert [row[TIMESTAMP] for row in batch.rows] == [START, START + 1]


def test_a_failed_chain_keeps_what_came_before_it() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    assert batch.create_transfers([transfer(a, b, 4)]) == [R.OK]
    chain = [transfer(a, b, 6, flags=F.LINKED), transfer(a, b, 0)]
    assert batch.create_transfers(chain) == [R.LINKED_EVENT_FAILED, R.AMOUNT_MUST_NOT_BE_ZERO]
    # The accounts are back at the first transfer's balances, which its row carries.
    assert balances(a) == (0, 4, 0, 0)
    assert a.last_transfer_timestamp == START
    assert len(batch.rows) == 1
    assert batch.rows[0][13:] == (0, 4, 0, 0, 0, 0, 0, 4)


def test_a_chain_that_fails_on_its_first_event_marks_the_rest_failed() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    chain = [
        transfer(a, b, 0, flags=F.LINKED),
        transfer(a, b, 1, flags=F.LINKED),
        transfer(a, b, 2),
    ]
    assert batch.create_transfers(chain) == [
        R.AMOUNT_MUST_NOT_BE_ZERO,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
    ]
    assert batch.rows == []
    assert balances(a) == (0, 0, 0, 0)


def test_an_open_chain_at_the_end_applies_nothing_of_it() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    events = [
        transfer(a, b, 1),
        transfer(a, b, 2, flags=F.LINKED),
        transfer(a, b, 3),
        transfer(a, b, 4, flags=F.LINKED),
        transfer(a, b, 0, flags=F.LINKED),  # would fail on its own; the open chain wins
    ]
    assert batch.create_transfers(events) == [
        R.OK,
        R.OK,
        R.OK,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert a.debits_posted == 6


def test_events_after_a_failed_chain_are_evaluated_on_their_own() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    events = [
        transfer(a, b, 1, flags=F.LINKED),
        transfer(a, b, 0),  # fails: the chain [0, 1] fails
        transfer(a, b, 2),  # independent: must be applied
        transfer(a, b, 3),  # independent: must be applied
    ]
    assert batch.create_transfers(events) == [
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_NOT_BE_ZERO,
        R.OK,
        R.OK,
    ]
    assert a.debits_posted == 5


def test_accounts_after_a_failed_account_chain_are_created() -> None:
    batch = make_batch()
    events = [
        Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED),
        Account(uuid.uuid4(), 0, CODE),  # fails: the chain fails
        Account(uuid.uuid4(), LEDGER, CODE),  # independent: must be created
    ]
    assert batch.create_accounts(events) == [
        A.LINKED_EVENT_FAILED,
        A.LEDGER_MUST_NOT_BE_ZERO,
        A.OK,
    ]
    assert [a.id for a in batch.accounts_created] == [events[2].id]


def test_a_failed_account_chain_leaves_everything_as_before() -> None:
    existing = account(flags=AccountFlags.LINKED)
    batch = make_batch([existing])
    assert batch.create_accounts([Account(uuid.uuid4(), LEDGER, CODE)]) == [A.OK]
    before = state(batch)
    chain = [
        Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED),
        Account(existing.id, LEDGER, CODE, AccountFlags.LINKED),  # exists: still a success
        Account(uuid.uuid4(), LEDGER, CODE, AccountFlags.LINKED),
        Account(uuid.uuid4(), 7, CODE),  # ledger 7 is not registered
    ]
    assert batch.create_accounts(chain) == [A.LINKED_EVENT_FAILED] * 3 + [A.LEDGER_NOT_FOUND]
    assert state(batch) == before
    fresh = Account(uuid.uuid4(), LEDGER, CODE)
    assert batch.create_accounts([fresh]) == [A.OK]
    assert batch.accounts[fresh.id.int].timestamp == before["last_timestamp"] + 1


def test_exists_is_a_success_inside_a_chain() -> None:
    a, b = account(), account()
    stored = transfer(a, b, 9, flags=F.LINKED)  # stored earlier as the head of a chain
    batch = make_batch([a, b], existing=[stored])
    assert batch.create_transfers([stored, transfer(a, b, 1)]) == [R.EXISTS, R.OK]
    assert a.debits_posted == 1
    assert batch.create_transfers([stored, transfer(a, b, 0)]) == [
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_NOT_BE_ZERO,
    ]
    assert a.debits_posted == 1


# ---------------------------------------------------------------------------- duplicates
def test_a_duplicate_inside_one_batch_is_compared_with_the_first() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    t = transfer(a, b, 40)
    different = transfer(a, b, 41, id=t.id)
    assert batch.create_transfers([t, t, different]) == [
        R.OK,
        R.EXISTS,
        R.EXISTS_WITH_DIFFERENT_AMOUNT,
    ]
    assert len(batch.rows) == 1
    assert a.debits_posted == 40


def test_an_id_from_a_failed_chain_is_new_again() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    t = transfer(a, b, 40, flags=F.LINKED)
    assert batch.create_transfers([t, transfer(a, b, 0)]) == [
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_NOT_BE_ZERO,
    ]
    retry = dataclasses.replace(t, flags=F.NONE)
    assert batch.create_transfers([retry]) == [R.OK]
    assert a.debits_posted == 40


def test_a_duplicate_inside_a_chain_exists() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    t = transfer(a, b, 40, flags=F.LINKED)
    assert batch.create_transfers([t, t, transfer(a, b, 1)]) == [R.OK, R.EXISTS, R.OK]
    assert a.debits_posted == 41


def test_a_stored_transfer_is_compared_field_by_field() -> None:
    a, b, c = account(), account(), account()
    stored = transfer(a, b, 9, user_data_64=5)
    batch = make_batch([a, b, c], existing=[stored])
    assert batch.create_transfers(
        [
            transfer(a, b, 9, id=stored.id, user_data_64=5),
            transfer(a, b, 9, id=stored.id, user_data_64=6),
            transfer(a, c, 9, id=stored.id, user_data_64=5),
            transfer(None, b, 9, id=stored.id, user_data_64=5),
            transfer(a, b, None, id=stored.id, user_data_64=5),
            transfer(a, b, 9, id=stored.id, user_data_64=5, ledger=0),
        ]
    ) == [
        R.EXISTS,
        R.EXISTS_WITH_DIFFERENT_USER_DATA_64,
        R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
        R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
        R.EXISTS_WITH_DIFFERENT_AMOUNT,
        R.EXISTS_WITH_DIFFERENT_LEDGER,
    ]
    assert batch.rows == []


def test_a_duplicate_account_inside_one_batch_exists() -> None:
    batch = make_batch()
    new = Account(uuid.uuid4(), LEDGER, CODE, user_data_32=3)
    changed = Account(new.id, LEDGER, CODE, user_data_32=4)
    assert batch.create_accounts([new, new, changed]) == [
        A.OK,
        A.EXISTS,
        A.EXISTS_WITH_DIFFERENT_USER_DATA_32,
    ]
    assert len(batch.accounts_created) == 1


# ---------------------------------------------------------------------------- timestamps
def test_timestamps_strictly_increase_from_the_start_with_no_gaps() -> None:
    a, b = account(), account()
    due = stored_pending(a, b, 8, expires_at=START - 1)
    batch = make_batch([a, b], pendings=[due], start=START + 100)
    assert batch.expire_due([due]) == 1
    pending = transfer(a, b, 50, flags=F.PENDING)
    other = transfer(a, b, 20, flags=F.PENDING)
    events = [
        transfer(a, b, 1),
        transfer(a, b, 0),  # fails: takes no timestamp
        pending,
        other,
        post(pending.id, 30),
        void(other.id),
        transfer(b, a, 2),
    ]
    assert batch.create_transfers(events) == [R.OK, R.AMOUNT_MUST_NOT_BE_ZERO] + [R.OK] * 5
    stamps = [row[TIMESTAMP] for row in batch.rows]
    assert stamps == list(range(START + 100, START + 100 + 7))
    assert batch.last_timestamp == stamps[-1]
    assert a.last_transfer_timestamp == b.last_transfer_timestamp == stamps[-1]
    assert batch.pendings[pending.id.int].timestamp == stamps[2]


def test_account_timestamps_strictly_increase() -> None:
    batch = make_batch(start=START + 5)
    new = [Account(uuid.uuid4(), LEDGER, CODE) for _ in range(4)]
    new.insert(2, Account(uuid.uuid4(), 0, CODE))  # fails: takes no timestamp
    assert batch.create_accounts(new) == [A.OK, A.OK, A.LEDGER_MUST_NOT_BE_ZERO, A.OK, A.OK]
    assert [a.timestamp for a in batch.accounts_created] == [START + 5 + i for i in range(4)]


def test_a_pending_timeout_counts_from_its_timestamp() -> None:
    a, b = account(), account()
    batch = make_batch([a, b], start=START + 7)
    pending = transfer(a, b, 5, flags=F.PENDING, timeout=60)
    assert batch.create_transfers([pending]) == [R.OK]
    state_ = batch.pending_new[pending.id.int]
    assert state_.expires_at == START + 7 + 60 * NS_PER_S
    assert state_.status is PendingStatus.PENDING


# ---------------------------------------------------------------------------- two-phase
def test_rows_carry_both_accounts_balances_after_each_transfer() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    pending = transfer(a, b, 100, flags=F.PENDING)
    assert batch.create_transfers([pending, post(pending.id, 60)]) == [R.OK, R.OK]
    first, second = batch.rows
    assert first[13:] == (100, 0, 0, 0, 0, 0, 100, 0)
    assert second[13:] == (0, 60, 0, 0, 0, 0, 0, 60)
    assert second[3] == 60  # the amount posted
    assert second[4] == pending.id
    assert batch.pending_new[pending.id.int].status is PendingStatus.POSTED
    assert batch.pending_changed == {}  # a new pending is inserted with its final status


def test_resolving_a_stored_pending_changes_its_state() -> None:
    a, b = account(), account()
    held = stored_pending(a, b, 30)
    batch = make_batch([a, b], pendings=[held])
    resolution = void(held.id)
    assert batch.create_transfers([resolution, post(held.id)]) == [
        R.OK,
        R.PENDING_TRANSFER_ALREADY_VOIDED,
    ]
    assert batch.pending_changed == {held.id.int: held}
    assert (held.status, held.resolved_by) == (PendingStatus.VOIDED, resolution.id)
    assert balances(a) == (0, 0, 0, 0)
    assert batch.rows[0][3] == 30  # a void records the amount it released


def test_a_due_pending_expires_when_it_is_posted() -> None:
    a, b = account(), account()
    held = stored_pending(a, b, 30, expires_at=START)
    batch = make_batch([a, b], pendings=[held], now=START)
    attempt = post(held.id)
    assert batch.create_transfers([attempt]) == [R.PENDING_TRANSFER_EXPIRED]
    assert held.status is PendingStatus.EXPIRED
    assert held.resolved_by == expiry_id(held.id)
    (row,) = batch.rows
    assert row[0] == expiry_id(held.id)
    assert row[11] == F.VOID_PENDING_TRANSFER | F.EXPIRY
    assert balances(a) == (0, 0, 0, 0)
    assert attempt.id.int not in batch.created


def test_expire_due_voids_only_what_is_due() -> None:
    a, b = account(), account()
    due = stored_pending(a, b, 10, expires_at=START)
    later = stored_pending(a, b, 20, expires_at=START + 1)
    never = stored_pending(a, b, 40)
    batch = make_batch([a, b], pendings=[due, later, never], now=START)
    assert batch.expire_due([due, later, never]) == 1
    assert batch.expire_due([due]) == 0  # already expired
    assert (due.status, later.status, never.status) == (
        PendingStatus.EXPIRED,
        PendingStatus.PENDING,
        PendingStatus.PENDING,
    )
    assert a.debits_pending == 60


def test_a_normal_transfer_is_not_pending_and_an_unknown_one_is_not_found() -> None:
    a, b = account(), account()
    plain = uuid.uuid4()
    batch = make_batch([a, b], not_pending=[plain])
    in_batch = transfer(a, b, 3)
    assert batch.create_transfers(
        [post(plain), in_batch, void(in_batch.id), post(uuid.uuid4())]
    ) == [
        R.PENDING_TRANSFER_NOT_PENDING,
        R.OK,
        R.PENDING_TRANSFER_NOT_PENDING,
        R.PENDING_TRANSFER_NOT_FOUND,
    ]


def test_closed_accounts_refuse_transfers_and_posts_but_allow_voids() -> None:
    a, b = account(), account()
    to_post = stored_pending(a, b, 10)
    to_void = stored_pending(a, b, 20)
    a.flags |= AccountFlags.CLOSED
    batch = make_batch([a, b], pendings=[to_post, to_void])
    assert batch.create_transfers(
        [transfer(a, b, 1), transfer(b, a, 1), post(to_post.id), void(to_void.id)]
    ) == [
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
        R.CREDIT_ACCOUNT_ALREADY_CLOSED,
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
        R.OK,
    ]
    assert balances(a) == (10, 0, 0, 0)


# ---------------------------------------------------------------------------- precedence
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda a, b: transfer(a, b, 0, timestamp=1, flags=1 << 7), R.TIMESTAMP_MUST_BE_ZERO),
        (lambda a, b: transfer(a, b, 0, flags=1 << 7), R.RESERVED_FLAG),
        (lambda a, b: transfer(a, a, 0, id=uuid.UUID(int=0)), R.ID_MUST_NOT_BE_ZERO),
        (
            lambda a, b: transfer(a, b, 1, flags=F.PENDING | F.VOID_PENDING_TRANSFER),
            R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        ),
        (lambda a, b: transfer(None, None, 0), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
        (lambda a, b: transfer(a, None, 0), R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
        (lambda a, b: transfer(a, b, 0, timeout=5), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
        (lambda a, b: transfer(uuid.uuid4(), b, 0), R.AMOUNT_MUST_NOT_BE_ZERO),
        (lambda a, b: transfer(a, b, -1, ledger=0), R.AMOUNT_MUST_NOT_BE_NEGATIVE),
        (lambda a, b: transfer(a, b, 1, ledger=0, code=0), R.LEDGER_MUST_NOT_BE_ZERO),
        (lambda a, b: transfer(a, b, 1, code=0, user_data_32=-1), R.CODE_MUST_NOT_BE_ZERO),
        (
            lambda a, b: transfer(uuid.uuid4(), b, 1, user_data_32=-1),
            R.USER_DATA_OUT_OF_RANGE,
        ),
        (
            lambda a, b: transfer(uuid.uuid4(), b, 1, flags=F.PENDING, timeout=-1),
            R.OVERFLOWS_TIMEOUT,
        ),
        (lambda a, b: transfer(uuid.uuid4(), uuid.uuid4(), 1), R.DEBIT_ACCOUNT_NOT_FOUND),
        (
            lambda a, b: transfer(a, b, 1, ledger=2),
            R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS,
        ),
        (lambda a, b: post(uuid.uuid4(), 0, timeout=1), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
        (
            lambda a, b: post(uuid.uuid4(), -5, ledger=LEDGER_MAX + 1),
            R.AMOUNT_MUST_NOT_BE_NEGATIVE,
        ),
        (lambda a, b: post(uuid.uuid4(), 5, ledger=LEDGER_MAX + 1), R.LEDGER_OUT_OF_RANGE),
        # b is closed and a may not go beyond its (zero) credits: closed comes first
        (lambda a, b: transfer(a, b, 1), R.CREDIT_ACCOUNT_ALREADY_CLOSED),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_earlier_check_wins(build: Any, expected: CreateTransferResult) -> None:
    a = account(flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    b = account(flags=AccountFlags.CLOSED)
    batch = make_batch([a, b])
    assert batch.create_transfers([build(a, b)]) == [expected]
    assert batch.rows == []
    assert balances(a) == balances(b) == (0, 0, 0, 0)


def test_result_codes_are_declared_in_order_of_precedence() -> None:
    # Spot checks of the order the evaluator relies on (the enum documents it).
    order = list(CreateTransferResult)
    assert order.index(R.AMOUNT_MUST_NOT_BE_ZERO) < order.index(R.DEBIT_ACCOUNT_NOT_FOUND)
    assert order.index(R.EXISTS) < order.index(R.FLAGS_ARE_MUTUALLY_EXCLUSIVE)
    assert order.index(R.DEBIT_ACCOUNT_ALREADY_CLOSED) < order.index(R.EXCEEDS_CREDITS)
    assert order.index(R.PENDING_TRANSFER_ALREADY_POSTED) < order.index(
        R.DEBIT_ACCOUNT_ALREADY_CLOSED
    )


# ---------------------------------------------------------------------------- malformed
@pytest.mark.parametrize(
    "bad",
    [
        lambda a, b: transfer(a, b, 1, id="x"),
        lambda a, b: transfer(str(a.id), b, 1),
        lambda a, b: transfer(a, b.id.int, 1),
        lambda a, b: post("x"),
    ],
    ids=["id", "debit", "credit", "pending_id"],
)
def test_an_id_that_is_not_a_uuid_raises(bad: Any) -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    with pytest.raises(DomainError) as raised:
        batch.create_transfers([transfer(a, b, 1), bad(a, b)])
    assert raised.value.code == "ledger_event_malformed"
    assert raised.value.status == 422


def test_an_account_id_that_is_not_a_uuid_raises() -> None:
    with pytest.raises(DomainError) as raised:
        make_batch().create_accounts([Account("x", LEDGER, CODE)])  # type: ignore[arg-type]
    assert raised.value.code == "ledger_event_malformed"


# ---------------------------------------------------------------------------- sink
def test_only_final_rows_reach_the_sink() -> None:
    a, b = account(), account()
    batch = make_batch([a, b])
    sunk: list[tuple[Any, ...]] = []
    batch.sink = sunk.extend
    independent = [transfer(a, b, 1) for _ in range(engine.SINK_ROWS - 4)]
    # A chain of 10 that crosses the flush threshold and fails at its end.
    failing_chain = [transfer(a, b, 1, flags=F.LINKED) for _ in range(9)] + [transfer(a, b, 0)]
    tail = [transfer(a, b, 1) for _ in range(10)]
    results = batch.create_transfers(independent + failing_chain + tail)
    assert results.count(R.OK) == len(independent) + len(tail)
    # Handed over while evaluating: the first SINK_ROWS final rows, none of the chain's.
    assert len(sunk) == engine.SINK_ROWS
    sunk_ids = {row[0] for row in sunk}
    assert not sunk_ids & {t.id for t in failing_chain}
    batch.flush()
    assert [row[0] for row in sunk] == [t.id for t in independent + tail]
    stamps = [row[TIMESTAMP] for row in sunk]
    assert stamps == list(range(START, START + len(stamps)))


# ---------------------------------------------------------------------------- property
def _chains(events: list[Transfer]) -> list[list[Transfer]]:
    """Split a batch into its chains: each ends with an unlinked event (or the batch's end)."""
    groups: list[list[Transfer]] = []
    current: list[Transfer] = []
    for event in events:
        current.append(event)
        if not event.flags & F.LINKED:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _world() -> list[Account]:
    capped = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    return [  # posted debits = posted credits = 150
        Account(uuid.UUID(int=1), LEDGER, CODE, credits_posted=100),
        Account(uuid.UUID(int=2), LEDGER, CODE, capped, credits_posted=50),
        Account(uuid.UUID(int=3), LEDGER, CODE, debits_posted=150),
    ]


IDS = [uuid.UUID(int=1000 + n) for n in range(6)]
ACCOUNT_CHOICES = [uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3), uuid.UUID(int=99)]


@st.composite
def events(draw: st.DrawFn) -> Transfer:
    kind = draw(st.sampled_from(["plain", "pending", "post", "void"]))
    flags = F.LINKED if draw(st.booleans()) else F.NONE
    tid = draw(st.sampled_from(IDS))
    if kind in ("post", "void"):
        amount = draw(st.sampled_from([None, 0, 5, 30]))
        flags |= F.POST_PENDING_TRANSFER if kind == "post" else F.VOID_PENDING_TRANSFER
        return Transfer(tid, amount=amount, pending_id=draw(st.sampled_from(IDS)), flags=flags)
    if kind == "pending":
        flags |= F.PENDING
    return Transfer(
        tid,
        draw(st.sampled_from(ACCOUNT_CHOICES)),
        draw(st.sampled_from(ACCOUNT_CHOICES)),
        draw(st.sampled_from([0, 1, 5, 30, 60])),
        ledger=LEDGER,
        code=CODE,
        flags=flags,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), min_size=1, max_size=14))
def test_a_batch_equals_its_chains_applied_one_after_another(batch_events: list[Transfer]) -> None:
    whole = make_batch(_world())
    whole_results = whole.create_transfers(batch_events)

    accounts = {a.id.int: a for a in _world()}
    pendings: dict[int, PendingState] = {}
    existing: dict[int, Transfer] = {}
    results: list[CreateTransferResult] = []
    rows: list[tuple[Any, ...]] = []
    next_start = START
    for chain in _chains(batch_events):
        part = Batch(
            accounts=accounts,
            pendings=pendings,
            existing=dict(existing),
            not_pending_ids={k for k, t in existing.items() if not t.flags & F.PENDING},
            ledgers={LEDGER},
            timestamp_start=next_start,
            now_ns=START,
        )
        results += part.create_transfers(chain)
        rows += part.rows
        existing.update((key, Transfer(*row[:13])) for key, row in part.created.items())
        next_start = part.last_timestamp + 1

    # Double entry: posted and pending debits equal credits, and no chain is half applied.
    total = [sum(balances(a)[i] for a in whole.accounts.values()) for i in range(4)]
    assert total[0] == total[2]
    assert total[1] == total[3]
    assert all(value >= 0 for a in whole.accounts.values() for value in balances(a))
    position = 0
    for chain in _chains(batch_events):
        outcomes = whole_results[position : position + len(chain)]
        position += len(chain)
        assert len({r in (R.OK, R.EXISTS) for r in outcomes}) == 1
    # The batch as a whole answers and applies what its chains do one after another.
    assert whole_results == results
    assert whole.rows == rows
    assert {k: balances(a) for k, a in whole.accounts.items()} == {
        k: balances(a) for k, a in accounts.items()
    }
    assert {k: (p.status, p.resolved_by) for k, p in whole.pendings.items()} == {
        k: (p.status, p.resolved_by) for k, p in pendings.items()
    }
