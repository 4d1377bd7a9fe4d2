"""A stateful property test of the ledger against a small reference model.

Hypothesis drives a `LedgerService` through random sequences of steps: create accounts (no
flag, debits_must_not_exceed_credits or credits_must_not_exceed_debits), close and reopen
them, submit batches of transfers (plain, pending with or without a timeout, full and
partial posts, voids, exact retries, retries with one field changed, unknown or identical
accounts, linked chains, now and then a chain left open), through `create_transfers` or the
group commit, advance the clock and sweep expired pendings, and hand the next steps to a
second container on the same database (another process: each keeps its own in-memory
balances, which the other's writes must make it stop trusting).

A reference model written here from the rules (TigerBeetle's, as the docstrings of
tijarat.ledger.model and LedgerService state them), not from the engine, predicts the exact
result code of every event and every account's four balances. After every step the engine
must agree with it and `ledger.verify()` must find nothing wrong.

Time in the model is whole seconds. Every clock step is a whole number of seconds plus one
millisecond, so a pending transfer created at model second `c` with timeout `T` is due
exactly when the model clock reaches `c + T`, whatever nanosecond the engine stamped it with
(a stamp is at most a few hundred nanoseconds after the clock reading). A due pending
transfer expires at the next write batch (any `create_transfers`/`submit_transfers`, which
sweep before their events, or `expire_due`).

SQLite: a new database file per example. PostgreSQL: one database per test run; every
example uses its own ledger number and fresh random account and transfer ids, and checks
its own accounts while `verify()` checks the whole database.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from pg_support import PG_SKIP, PG_URL, create_pg_database
from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.ledger.model import (
    Account,
    AccountFlags,
    Balance,
    CreateAccountResult,
    CreateTransferResult,
    PendingStatus,
    Transfer,
    TransferFlags,
)
from tijarat.settings import Settings

R = CreateTransferResult
A = CreateAccountResult

LINKED = int(TransferFlags.LINKED)
PENDING = int(TransferFlags.PENDING)
POST = int(TransferFlags.POST_PENDING_TRANSFER)
VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
ACCOUNT_FLAG_CHOICES = (0, DMNEC, CMNED)
ACCOUNT_FLAGS = st.sampled_from((0, 0, DMNEC, CMNED))  # two limited accounts may never trade
SUCCESS = (R.OK, R.EXISTS)

ACCOUNTS_MAX = 8
BATCH_EVENTS_MAX = 6
_ledger_numbers = itertools.count(1)  # a fresh ledger per example (one PG database per run)


# ------------------------------------------------------------------------------ the model
@dataclass
class MAccount:
    flags: int
    closed: bool = False
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass(frozen=True)
class MTransfer:
    """What a successful transfer stores: post/void fields filled in from their pending."""

    flags: int
    pending_id: uuid.UUID | None
    timeout: int
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    user_data_128: uuid.UUID | None
    user_data_64: int
    user_data_32: int
    ledger: int
    code: int


@dataclass
class MPending:
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    ledger: int
    code: int
    due_at_s: int | None  # model second at which it expires; None = never
    status: PendingStatus = PendingStatus.PENDING


@dataclass
class Model:
    ledger: int
    now_s: int = 0
    accounts: dict[uuid.UUID, MAccount] = field(default_factory=dict)
    transfers: dict[uuid.UUID, MTransfer] = field(default_factory=dict)
    pendings: dict[uuid.UUID, MPending] = field(default_factory=dict)

    # ---------------------------------------------------------------- time
    def expire_due(self) -> int:
        count = 0
        for pending in self.pendings.values():
            if (
                pending.status is PendingStatus.PENDING
                and pending.due_at_s is not None
                and self.now_s >= pending.due_at_s
            ):
                self._release(pending, posted=0)
                pending.status = PendingStatus.EXPIRED
                count += 1
        return count

    def _release(self, pending: MPending, posted: int) -> None:
        debit = self.accounts[pending.debit_account_id]
        credit = self.accounts[pending.credit_account_id]
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        debit.debits_posted += posted
        credit.credits_posted += posted

    # ---------------------------------------------------------------- batches
    def create_transfers(self, events: Sequence[Transfer]) -> list[R]:
        """Results of one batch: due pendings expire first, then the events in order."""
        self.expire_due()
        count = len(events)
        results: list[R] = [R.OK] * count
        # A chain still open at the end of the batch fails whole, without being evaluated.
        open_start = count
        while open_start > 0 and events[open_start - 1].flags & LINKED:
            open_start -= 1
        if open_start < count:
            # open_start stopped after an unlinked event (or at 0): the open chain follows.
            for index in range(open_start, count):
                results[index] = R.LINKED_EVENT_FAILED
            results[count - 1] = R.LINKED_EVENT_CHAIN_OPEN
        index = 0
        while index < open_start:
            end = index  # the chain is events[index..end]; its last event is not linked
            while events[end].flags & LINKED:
                end += 1
            if end == index:
                results[index] = self._transfer(events[index])
            else:
                saved = copy.deepcopy((self.accounts, self.transfers, self.pendings))
                for position in range(index, end + 1):
                    result = self._transfer(events[position])
                    if result not in SUCCESS:
                        self.accounts, self.transfers, self.pendings = saved
                        for other in range(index, end + 1):
                            results[other] = R.LINKED_EVENT_FAILED
                        results[position] = result
                        break
                    results[position] = result
            index = end + 1
        return results

    def _transfer(self, t: Transfer) -> R:
        stored = self.transfers.get(t.id)
        if stored is not None:
            return _compare_with_stored(t, stored)
        if t.flags & (POST | VOID):
            return self._resolve(t, post=bool(t.flags & POST))
        if t.debit_account_id == t.credit_account_id:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        if t.pending_id is not None:
            return R.PENDING_ID_MUST_BE_ZERO
        is_pending = bool(t.flags & PENDING)
        if not is_pending and t.timeout:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        assert t.debit_account_id is not None
        assert t.credit_account_id is not None
        assert t.amount is not None
        debit = self.accounts.get(t.debit_account_id)
        if debit is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        credit = self.accounts.get(t.credit_account_id)
        if credit is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if t.ledger != self.ledger:
            return R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
        if debit.closed:
            return R.DEBIT_ACCOUNT_ALREADY_CLOSED
        if credit.closed:
            return R.CREDIT_ACCOUNT_ALREADY_CLOSED
        amount = t.amount
        if (
            debit.flags & DMNEC
            and debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
        ):
            return R.EXCEEDS_CREDITS
        if (
            credit.flags & CMNED
            and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
        ):
            return R.EXCEEDS_DEBITS
        if is_pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
            self.pendings[t.id] = MPending(
                t.debit_account_id,
                t.credit_account_id,
                amount,
                t.ledger,
                t.code,
                self.now_s + t.timeout if t.timeout else None,
            )
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        self.transfers[t.id] = MTransfer(
            int(t.flags),
            None,
            t.timeout,
            t.debit_account_id,
            t.credit_account_id,
            amount,
            t.user_data_128,
            t.user_data_64,
            t.user_data_32,
            t.ledger,
            t.code,
        )
        return R.OK

    def _resolve(self, t: Transfer, *, post: bool) -> R:
        if t.timeout:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        assert t.pending_id is not None
        pending = self.pendings.get(t.pending_id)
        if pending is None:
            if t.pending_id in self.transfers:
                return R.PENDING_TRANSFER_NOT_PENDING
            return R.PENDING_TRANSFER_NOT_FOUND
        if t.debit_account_id not in (None, pending.debit_account_id):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
        if t.credit_account_id not in (None, pending.credit_account_id):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
        if t.ledger not in (0, pending.ledger):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
        if t.code not in (0, pending.code):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_CODE
        if t.amount is not None:
            if post and t.amount > pending.amount:
                return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
            if not post and t.amount != pending.amount:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
        if pending.status is PendingStatus.POSTED:
            return R.PENDING_TRANSFER_ALREADY_POSTED
        if pending.status is PendingStatus.VOIDED:
            return R.PENDING_TRANSFER_ALREADY_VOIDED
        if pending.status is PendingStatus.EXPIRED:
            return R.PENDING_TRANSFER_EXPIRED
        if post:  # a void may release a reservation on a closed account; a post may not
            if self.accounts[pending.debit_account_id].closed:
                return R.DEBIT_ACCOUNT_ALREADY_CLOSED
            if self.accounts[pending.credit_account_id].closed:
                return R.CREDIT_ACCOUNT_ALREADY_CLOSED
        posted = (pending.amount if t.amount is None else t.amount) if post else 0
        self._release(pending, posted)
        pending.status = PendingStatus.POSTED if post else PendingStatus.VOIDED
        self.transfers[t.id] = MTransfer(
            int(t.flags),
            t.pending_id,
            0,
            pending.debit_account_id,
            pending.credit_account_id,
            posted if post else pending.amount,
            t.user_data_128,
            t.user_data_64,
            t.user_data_32,
            pending.ledger,
            pending.code,
        )
        return R.OK


def _compare_with_stored(t: Transfer, e: MTransfer) -> R:
    """An id already stored: `exists` if every field the client set is the stored one.

    A post or void may leave its accounts, amount, ledger and code unset (they come from the
    pending transfer); unset then matches whatever was stored.
    """
    resolves = e.pending_id is not None
    if int(t.flags) != e.flags:
        return R.EXISTS_WITH_DIFFERENT_FLAGS
    if t.pending_id != e.pending_id:
        return R.EXISTS_WITH_DIFFERENT_PENDING_ID
    if t.timeout != e.timeout:
        return R.EXISTS_WITH_DIFFERENT_TIMEOUT
    if not (t.debit_account_id == e.debit_account_id or (resolves and t.debit_account_id is None)):
        return R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if not (
        t.credit_account_id == e.credit_account_id or (resolves and t.credit_account_id is None)
    ):
        return R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    if not (t.amount == e.amount or (resolves and t.amount is None)):
        return R.EXISTS_WITH_DIFFERENT_AMOUNT
    if t.user_data_128 != e.user_data_128:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_128
    if t.user_data_64 != e.user_data_64:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if t.user_data_32 != e.user_data_32:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if not (t.ledger == e.ledger or (resolves and t.ledger == 0)):
        return R.EXISTS_WITH_DIFFERENT_LEDGER
    if not (t.code == e.code or (resolves and t.code == 0)):
        return R.EXISTS_WITH_DIFFERENT_CODE
    return R.EXISTS


# ------------------------------------------------------------------------------ generation
KINDS = (
    *("plain",) * 3,
    *("pending",) * 3,
    *("post",) * 2,
    *("void",) * 2,
    *("retry",) * 2,
    *("retry_changed",) * 2,
    "unknown_account",
    "same_account",
)
MUTATIONS = (
    "user_data_64",
    "user_data_32",
    "user_data_128",
    "code",
    "ledger",
    "amount",
    "timeout",
    "flags",
    "debit_account_id",
    "credit_account_id",
    "pending_id",
)
# (kind, pick a, pick b, amount, timeout, variant): picks index the lists that exist when
# the event is built, so one draw describes an event whatever the state.
EVENT = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 63),
    st.integers(0, 63),
    st.integers(1, 60),
    st.sampled_from((0, 0, 1, 2, 3, 5, 8)),
    st.integers(0, 7),
)
# Units of 1 (a lone event) to 3 (a linked chain) events; 1 batch in 10 is asked to end
# inside a chain (done when its last event is a new one).
BATCH = st.tuples(
    st.lists(st.lists(EVENT, min_size=1, max_size=3), min_size=1, max_size=4),
    st.integers(0, 9).map(lambda n: n == 0),
)

Spec = tuple[str, int, int, int, int, int]


class Generator:
    """Turns drawn transfer specs into transfers that refer to what this example has seen."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.sent: list[Transfer] = []  # every transfer sent, whatever became of it
        self.pending_sent: dict[uuid.UUID, Transfer] = {}

    def batch(self, units: list[list[Spec]], *, open_tail: bool) -> list[Transfer]:
        stored_before = list(self.model.transfers)  # stored ids, in creation order
        events: list[Transfer] = []
        fresh_tail = False
        for unit in units:
            for position, spec in enumerate(unit):
                if len(events) == BATCH_EVENTS_MAX:
                    break
                transfer, fresh = self._event(spec, stored_before)
                last_of_unit = position == len(unit) - 1 or len(events) == BATCH_EVENTS_MAX - 1
                if fresh and not last_of_unit:
                    transfer.flags |= LINKED
                events.append(transfer)
                self.sent.append(transfer)
                if fresh and transfer.flags & PENDING:
                    self.pending_sent[transfer.id] = transfer
                fresh_tail = fresh
        if open_tail and fresh_tail:
            events[-1].flags |= LINKED  # the batch ends inside a chain
        return events

    def _event(self, spec: Spec, stored_before: list[uuid.UUID]) -> tuple[Transfer, bool]:
        kind, a, b, amount, timeout, variant = spec
        accounts = list(self.model.accounts)
        ledger = self.model.ledger
        if kind == "retry" and self.sent:
            return dataclasses.replace(self._retried(a, variant, stored_before)), False
        if kind == "retry_changed" and stored_before:
            resolutions = self._resolutions(stored_before)
            if resolutions and variant % 2:
                return self._changed(resolutions[a % len(resolutions)], b), False
            return self._changed(stored_before[a % len(stored_before)], b), False
        if kind in ("post", "void") and (self.pending_sent or self.sent):
            return self._resolution(kind == "post", a, b, amount, variant), True
        debit = accounts[a % len(accounts)]
        credit = accounts[(a + 1 + b % (len(accounts) - 1)) % len(accounts)]
        if kind == "unknown_account":
            debit, credit = (uuid.uuid4(), credit) if variant % 2 else (debit, uuid.uuid4())
        if kind == "same_account":
            credit = debit
        flags = PENDING if kind == "pending" else 0
        return (
            Transfer(
                uuid.uuid4(),
                debit,
                credit,
                amount,
                user_data_64=variant % 3,
                timeout=timeout if flags else 0,
                ledger=ledger,
                code=1 + variant % 2,
                flags=flags,
            ),
            True,
        )

    def _resolution(self, post: bool, a: int, b: int, amount: int, variant: int) -> Transfer:
        """A post or void: of a pending transfer sent earlier, else of something else."""
        if self.pending_sent and variant != 7:
            pendings = list(self.pending_sent.values())
            target = pendings[a % len(pendings)]
        elif self.sent and variant % 2:
            target = self.sent[a % len(self.sent)]  # perhaps no pending transfer at all
        else:
            target = Transfer(uuid.uuid4(), amount=1)  # an id nobody used
        full = target.amount or 1
        if post:
            chosen = (None, None, None, None, min(amount, full), min(amount, full), full + 1)
        else:
            chosen = (None, None, None, None, full, full, full + 1)
        transfer = Transfer(
            uuid.uuid4(),
            pending_id=target.id,
            amount=chosen[variant % len(chosen)],
            flags=POST if post else VOID,
        )
        if b % 4 == 0:  # the client repeats the pending transfer's accounts, ledger, code
            transfer.debit_account_id = target.debit_account_id
            transfer.credit_account_id = target.credit_account_id
            transfer.ledger = target.ledger
            transfer.code = target.code
        elif b % 8 == 1:  # or names the wrong debit account
            transfer.debit_account_id = uuid.uuid4()
        elif b % 8 == 5:  # or the wrong credit account
            transfer.credit_account_id = uuid.uuid4()
        return transfer

    def _retried(self, a: int, variant: int, stored_before: list[uuid.UUID]) -> Transfer:
        """What an exact retry repeats: a stored transfer (often a post or void), else anything."""
        resolutions = self._resolutions(stored_before)
        if resolutions and variant % 4 == 1:
            return self._first_sent(resolutions[a % len(resolutions)])
        if stored_before and variant % 4 in (0, 1):
            return self._first_sent(stored_before[a % len(stored_before)])
        if variant % 4 == 2:
            return self.sent[-1 - a % min(len(self.sent), 3)]  # a recent one, maybe this batch's
        return self.sent[a % len(self.sent)]  # anything sent, perhaps a failure

    def _resolutions(self, stored_before: list[uuid.UUID]) -> list[uuid.UUID]:
        transfers = self.model.transfers
        return [i for i in stored_before if transfers[i].flags & (POST | VOID)]

    def _first_sent(self, transfer_id: uuid.UUID) -> Transfer:
        return next(t for t in self.sent if t.id == transfer_id)

    def _changed(self, transfer_id: uuid.UUID, b: int) -> Transfer:
        """The transfer first sent with this (stored) id, with exactly one field changed."""
        original = self._first_sent(transfer_id)
        stored = self.model.transfers[transfer_id]
        transfer = dataclasses.replace(original)
        mutation = MUTATIONS[b % len(MUTATIONS)]
        if mutation == "user_data_64":
            transfer.user_data_64 += 1
        elif mutation == "user_data_32":
            transfer.user_data_32 += 1
        elif mutation == "user_data_128":
            transfer.user_data_128 = uuid.uuid4()
        elif mutation == "code":
            transfer.code = stored.code + 10
        elif mutation == "ledger":
            transfer.ledger = stored.ledger + 1
        elif mutation == "amount":
            transfer.amount = stored.amount + 1
        elif mutation == "timeout":
            transfer.timeout = stored.timeout + 1
        elif mutation == "flags":
            if transfer.flags & (POST | VOID):
                transfer.flags ^= POST | VOID
            else:
                transfer.flags ^= PENDING
        elif mutation == "debit_account_id":
            transfer.debit_account_id = uuid.uuid4()
        elif mutation == "credit_account_id":
            transfer.credit_account_id = uuid.uuid4()
        else:
            transfer.pending_id = uuid.uuid4()
        return transfer


# ------------------------------------------------------------------------------ the machine
class LedgerMachine(RuleBasedStateMachine):
    """Subclasses provide `open_container` and `close_container`."""

    exact_expiry_count = True  # False when other examples' pendings share the database

    def open_container(self) -> tuple[Container, ManualClock]:
        raise NotImplementedError

    def open_others(self) -> list[Container]:
        """Other containers on the same database and clock: other processes."""
        return []

    def close_container(self) -> None:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.container, self.clock = self.open_container()
        self.ledger = self.container.ledger
        self.ledgers = [self.ledger, *(other.ledger for other in self.open_others())]
        self.model = Model(ledger=next(_ledger_numbers))
        self.generator = Generator(self.model)
        self.account_order: list[uuid.UUID] = []
        assert self.ledger.create_ledger(self.model.ledger, "PKR", "stateful")

    def teardown(self) -> None:
        self.close_container()

    # ---------------------------------------------------------------- accounts
    def _create_accounts(self, flags: Sequence[int], retry: tuple[int, int] | None) -> None:
        accounts = [Account(uuid.uuid4(), self.model.ledger, 1, flags=f) for f in flags]
        expected = [A.OK] * len(accounts)
        if retry is not None and self.account_order:
            pick, change = retry
            account_id = self.account_order[pick % len(self.account_order)]
            stored_flags = self.model.accounts[account_id].flags
            new_flags = ACCOUNT_FLAG_CHOICES[change % 3]
            accounts.append(Account(account_id, self.model.ledger, 1, flags=new_flags))
            expected.append(
                A.EXISTS if new_flags == stored_flags else A.EXISTS_WITH_DIFFERENT_FLAGS
            )
        if not accounts:
            return
        results = self.ledger.create_accounts(accounts)
        assert results == expected
        for account in accounts[: len(flags)]:
            self.model.accounts[account.id] = MAccount(account.flags)
            self.account_order.append(account.id)

    @initialize(flags=st.lists(ACCOUNT_FLAGS, min_size=1, max_size=2))
    def first_accounts(self, flags: list[int]) -> None:
        self._create_accounts([0, *flags], None)  # one account without limits to start from

    @rule(
        flags=st.lists(ACCOUNT_FLAGS, min_size=1, max_size=2),
        retry=st.none() | st.tuples(st.integers(0, 7), st.integers(0, 2)),
    )
    def create_accounts(self, flags: list[int], retry: tuple[int, int] | None) -> None:
        room = ACCOUNTS_MAX - len(self.model.accounts)  # a few accounts keep transfers dense
        self._create_accounts(flags[: max(room, 0)], retry)

    @rule(pick=st.integers(0, 3))
    def another_process_writes_next(self, pick: int) -> None:
        self.ledger = self.ledgers[pick % len(self.ledgers)]

    @rule(pick=st.integers(0, 7), closed=st.booleans())
    def close_or_reopen_account(self, pick: int, closed: bool) -> None:
        account_id = self.account_order[pick % len(self.account_order)]
        if closed:
            account = self.ledger.close_account(account_id)
        else:
            account = self.ledger.reopen_account(account_id)
        assert account.closed is closed
        self.model.accounts[account_id].closed = closed

    # ---------------------------------------------------------------- transfers
    @rule(batch=BATCH, group_commit=st.booleans())
    def transfers(self, batch: tuple[list[list[Spec]], bool], group_commit: bool) -> None:
        units, open_tail = batch
        events = self.generator.batch(units, open_tail=open_tail)
        expected = self.model.create_transfers(events)
        submit = self.ledger.submit_transfers if group_commit else self.ledger.create_transfers
        results = submit(events)
        if results != expected:
            for index, (transfer, result, want) in enumerate(
                zip(events, results, expected, strict=True)
            ):
                mark = "  " if result == want else "!!"
                note(f"{mark} event {index}: {transfer}\n   engine {result}, model {want}")
        assert results == expected, f"engine {results} != model {expected}"
        for result in results:
            event(f"transfer result: {result}")
        # Exactly the transfers the model stored exist, with the fields it stored.
        ids = list(dict.fromkeys(transfer.id for transfer in events))
        found = {
            record.transfer.id: record.transfer for record in self.ledger.lookup_transfers(ids)
        }
        for transfer_id in ids:
            stored = self.model.transfers.get(transfer_id)
            if stored is None:
                assert transfer_id not in found, f"transfer {transfer_id} stored but failed"
                continue
            assert transfer_id in found, f"transfer {transfer_id} succeeded but is not stored"
            actual = found[transfer_id]
            assert (
                actual.debit_account_id,
                actual.credit_account_id,
                actual.amount,
                actual.pending_id,
                actual.flags,
                actual.timeout,
                actual.ledger,
                actual.code,
            ) == (
                stored.debit_account_id,
                stored.credit_account_id,
                stored.amount,
                stored.pending_id,
                stored.flags,
                stored.timeout,
                stored.ledger,
                stored.code,
            )

    # ---------------------------------------------------------------- time
    @rule(seconds=st.integers(1, 6))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds, milliseconds=1))
        self.model.now_s += seconds

    @rule()
    def expire_due(self) -> None:
        expected = self.model.expire_due()
        expired = self.ledger.expire_due()
        if self.exact_expiry_count:
            assert expired == expected
        else:  # a shared database: pendings of earlier examples may fall due too
            assert expired >= expected

    # ---------------------------------------------------------------- invariants
    @invariant()
    def balances_match_the_model(self) -> None:
        ids = list(self.model.accounts)
        actual = {a.id: a for a in self.ledger.lookup_accounts(ids)}
        assert actual.keys() == set(ids)
        for account_id, expected in self.model.accounts.items():
            account = actual[account_id]
            assert account.balance == Balance(*expected.balances()), (
                f"account {account_id} (flags {expected.flags}): engine {account.balance}, "
                f"model {expected.balances()}"
            )
            assert account.closed is expected.closed

    @invariant()
    def pending_statuses_match_the_model(self) -> None:
        ids = list(self.model.pendings)
        actual = {p.id: p.status for p in self.ledger.lookup_pending(ids)}
        expected = {pending_id: p.status for pending_id, p in self.model.pendings.items()}
        assert actual == expected

    @invariant()
    def ledger_verifies(self) -> None:
        report = self.ledger.verify()
        assert report.ok, "verify() found problems:\n" + "\n".join(report.problems)


# ------------------------------------------------------------------------------ settings
COMMON_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
    # No explain phase: replaying a long failing run line by line costs minutes, and the
    # notes already show each event with the engine's and the model's result.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}


# ------------------------------------------------------------------------------ SQLite
class SQLiteLedgerMachine(LedgerMachine):
    def open_container(self) -> tuple[Container, ManualClock]:
        self._directory = Path(tempfile.mkdtemp(prefix="tijarat-stateful-"))
        self._clock = ManualClock()
        self._url = f"sqlite:///{self._directory}/tijarat.db"
        built = build(Settings(database_url=self._url, environment="test"), clock=self._clock)
        return built, self._clock

    def open_others(self) -> list[Container]:
        self._others = [
            build(Settings(database_url=self._url, environment="test"), clock=self._clock)
        ]
        return self._others

    def close_container(self) -> None:
        for other in self._others:
            other.close()
        self.container.close()
        shutil.rmtree(self._directory, ignore_errors=True)


TestLedgerStatefulSQLite = SQLiteLedgerMachine.TestCase
TestLedgerStatefulSQLite.settings = settings(
    max_examples=100, stateful_step_count=50, **COMMON_SETTINGS
)


# ------------------------------------------------------------------------------ PostgreSQL
@pytest.fixture(scope="module")
def pg_container() -> Iterator[tuple[Container, ManualClock, Container]]:
    """The container every example uses, its clock, and a second one: another process."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, drop = create_pg_database()
    clock = ManualClock()
    built = build(Settings(database_url=url, environment="test"), clock=clock)
    other = build(Settings(database_url=url, environment="test"), clock=clock)
    try:
        yield built, clock, other
    finally:
        other.close()
        built.close()
        drop()


@pytest.mark.postgres
def test_ledger_stateful_postgresql(
    pg_container: tuple[Container, ManualClock, Container],
) -> None:
    built, clock, other = pg_container

    class PostgresLedgerMachine(LedgerMachine):
        exact_expiry_count = False

        def open_container(self) -> tuple[Container, ManualClock]:
            return built, clock

        def open_others(self) -> list[Container]:
            return [other]

        def close_container(self) -> None:
            pass  # shared by every example of the run; the fixture closes it

    run_state_machine_as_test(
        PostgresLedgerMachine,
        settings=settings(max_examples=30, stateful_step_count=40, **COMMON_SETTINGS),
    )
