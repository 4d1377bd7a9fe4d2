"""The evaluator: applies a batch of events to in-memory state, in order, with no I/O.

The store loads (and locks) every account and pending transfer a batch touches, hands them
to a `Batch`, and writes back what the batch produced, all in one database transaction. The
rules live here once, whatever the database. Each event sees the effects of the events
before it; a linked chain that fails is undone in memory before the next event runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from tijarat.kernel.clock import NS_PER_S
from tijarat.kernel.errors import DomainError
from tijarat.ledger.errors import LedgerError
from tijarat.ledger.model import (
    ACCOUNT_FLAGS_CLIENT,
    AMOUNT_MAX,
    CODE_MAX,
    LEDGER_MAX,
    RESERVED_VARIANT,
    RESERVED_VARIANT_SHIFT,
    TIMEOUT_MAX_S,
    TRANSFER_FLAGS_CLIENT,
    USER_DATA_32_MAX,
    USER_DATA_64_MAX,
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

# Plain ints in the hot loop: IntFlag arithmetic costs microseconds per event.
_LINKED = int(TransferFlags.LINKED)
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
_EXPIRY = int(TransferFlags.EXPIRY)
_TRANSFER_RESERVED = ~int(TRANSFER_FLAGS_CLIENT)
_ACCOUNT_RESERVED = ~int(ACCOUNT_FLAGS_CLIENT)
_DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_CLOSED = int(AccountFlags.CLOSED)
_ZERO = uuid.UUID(int=0)
_UUID = uuid.UUID
_INT_MAX = (1 << 128) - 1

# A row of the transfers table, in column order (see store.TRANSFER_COLUMNS).
TransferRow = tuple[Any, ...]
SINK_ROWS = 1_024  # rows handed to the database at a time while a batch is evaluated


def _is_int(value: object) -> bool:
    # Plain ints and IntFlag/IntEnum values; bool is an int subclass and never valid here.
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


class Batch:
    """One database transaction's worth of ledger events, evaluated in memory."""

    def __init__(
        self,
        *,
        accounts: dict[int, Account],
        pendings: dict[int, PendingState],
        existing: dict[int, Transfer],
        not_pending_ids: set[int],
        ledgers: set[int],
        timestamp_start: int,
        now_ns: int,
    ) -> None:
        # Every map is keyed by uuid.int: hashing a UUID object runs Python code, an int's
        # hash runs in C, and the evaluator does several lookups per event.
        self.accounts = accounts
        self.pendings = pendings
        self.existing = existing  # stored transfers whose ids appear in this batch
        self.not_pending_ids = not_pending_ids  # stored transfers that are not pending ones
        self.ledgers = ledgers
        self.now_ns = now_ns
        self._next_timestamp = timestamp_start
        # Outputs, written back by the store.
        self.created: dict[int, TransferRow] = {}
        self.rows: list[TransferRow] = []
        self.pending_new: dict[int, PendingState] = {}
        self.pending_changed: dict[int, PendingState] = {}
        self.accounts_created: list[Account] = []
        # Undo journal while inside a linked chain; None outside one.
        self._journal: list[tuple[str, Any, Any]] | None = None
        # Rows that can no longer be undone go to `sink` as the batch runs, so the database
        # can insert them while the evaluator is still working (two cores, both busy).
        self.sink: Callable[[list[TransferRow]], None] | None = None
        self._flushed = 0

    # ------------------------------------------------------------------ timestamps
    def _timestamp(self) -> int:
        value = self._next_timestamp
        self._next_timestamp = value + 1
        return value

    @property
    def last_timestamp(self) -> int:
        return self._next_timestamp - 1

    # ------------------------------------------------------------------ journal
    def _save_account(self, account: Account) -> None:
        """Inside a linked chain, remember the balances to restore if the chain fails.

        (Nothing else to record: the balances reach the database in the transfer rows.)"""
        journal = self._journal
        if journal is not None:
            journal.append(
                (
                    "account",
                    account,
                    (
                        account.debits_pending,
                        account.debits_posted,
                        account.credits_pending,
                        account.credits_posted,
                        account.last_transfer_timestamp,
                    ),
                )
            )

    def _save_pending(self, pending: PendingState) -> None:
        journal = self._journal
        if journal is not None:
            journal.append(
                (
                    "pending",
                    pending,
                    (pending.status, pending.resolved_by, pending.id.int in self.pending_changed),
                )
            )
        key = pending.id.int
        if key not in self.pending_new:
            self.pending_changed[key] = pending

    def _begin_chain(self) -> None:
        self._journal = [("mark", len(self.rows), self._next_timestamp)]

    def _end_chain(self, *, commit: bool) -> None:
        journal = self._journal
        assert journal is not None
        self._journal = None
        if commit:
            return
        for kind, target, saved in reversed(journal):
            if kind == "account":
                (
                    target.debits_pending,
                    target.debits_posted,
                    target.credits_pending,
                    target.credits_posted,
                    target.last_transfer_timestamp,
                ) = saved
            elif kind == "pending":
                target.status, target.resolved_by, was_changed = saved
                if not was_changed:
                    self.pending_changed.pop(target.id.int, None)
            elif kind == "created_transfer":
                self.created.pop(target, None)
                self.pending_new.pop(target, None)
                self.pendings.pop(target, None)
            elif kind == "created_account":
                self.accounts.pop(target.id.int, None)
                self.accounts_created.remove(target)
            elif kind == "mark":
                del self.rows[target:]
                self._next_timestamp = saved

    # ------------------------------------------------------------------ chains
    @staticmethod
    def _open_chain_start(events: Sequence[Transfer] | Sequence[Account]) -> int:
        """Index where an unterminated linked chain starts at the batch's end, or len()."""
        count = len(events)
        if count == 0 or not events[-1].flags & _LINKED:
            return count
        start = count - 1
        while start > 0 and events[start - 1].flags & _LINKED:
            start -= 1
        return start

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        results: list[CreateTransferResult] = [R.OK] * len(transfers)
        open_start = self._open_chain_start(transfers)
        chain_start = -1  # index of the first event of the chain being evaluated
        chain_failed = False
        for index in range(len(transfers)):
            transfer = transfers[index]
            flags = transfer.flags  # an IntFlag tests through enum's code: ~1 us, an int's not
            linked = bool((flags if type(flags) is int else int(flags)) & _LINKED)
            if index >= open_start:
                last = index == len(transfers) - 1
                results[index] = R.LINKED_EVENT_CHAIN_OPEN if last else R.LINKED_EVENT_FAILED
                continue
            if chain_start < 0 and linked:
                chain_start = index
                chain_failed = False
                self._begin_chain()
            if chain_failed:
                results[index] = R.LINKED_EVENT_FAILED
            else:
                result = self._create_transfer(transfer)
                results[index] = result
                if result is not R.OK and result is not R.EXISTS and chain_start >= 0:
                    chain_failed = True
                    for earlier in range(chain_start, index):
                        results[earlier] = R.LINKED_EVENT_FAILED
            if chain_start >= 0 and not linked:  # this event closes the chain
                self._end_chain(commit=not chain_failed)
                chain_start = -1
                chain_failed = False  # the next event stands on its own
            if chain_start < 0 and len(self.rows) - self._flushed >= SINK_ROWS:
                self.flush()
        return results

    def flush(self) -> None:
        """Hand every final row not yet handed over to the sink (never inside a chain)."""
        assert self._journal is None
        if self.sink is not None and self._flushed < len(self.rows):
            self.sink(self.rows[self._flushed :])
            self._flushed = len(self.rows)

    # ------------------------------------------------------------------ transfers
    def _create_transfer(self, t: Transfer) -> CreateTransferResult:
        # The hot path: one call per event, checks inlined in order of precedence. Fast
        # paths test `type(x) is int/UUID` first and fall back to the general helpers.
        flags = t.flags
        if t.timestamp != 0:
            return R.TIMESTAMP_MUST_BE_ZERO
        if type(flags) is not int:
            if not _is_int(flags):
                return R.RESERVED_FLAG
            flags = int(flags)  # an IntFlag: checked and stored as the plain number
        if flags & _TRANSFER_RESERVED:
            return R.RESERVED_FLAG
        tid = t.id
        key = tid.int if type(tid) is _UUID else _key(tid, "id")
        if key == 0:
            return R.ID_MUST_NOT_BE_ZERO
        if key == _INT_MAX:
            return R.ID_MUST_NOT_BE_INT_MAX
        if (key >> RESERVED_VARIANT_SHIFT) & 0b111 == RESERVED_VARIANT:
            return R.ID_MUST_NOT_BE_RESERVED
        row = self.created.get(key)
        if row is not None:
            return _compare_existing_transfer(t, _row_transfer(row))
        existing = self.existing.get(key)
        if existing is not None:
            return _compare_existing_transfer(t, existing)

        is_post = flags & _POST
        is_void = flags & _VOID
        if (flags & _PENDING and (is_post or is_void)) or (is_post and is_void):
            return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if is_post or is_void:
            return self._resolve_pending(t, post=bool(is_post))

        debit_id = t.debit_account_id
        credit_id = t.credit_account_id
        debit_key = debit_id.int if type(debit_id) is _UUID else _key(debit_id, "debit_account_id")
        credit_key = (
            credit_id.int if type(credit_id) is _UUID else _key(credit_id, "credit_account_id")
        )
        if debit_key == 0:
            return R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if debit_key == _INT_MAX:
            return R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
        if credit_key == 0:
            return R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if credit_key == _INT_MAX:
            return R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
        if debit_key == credit_key:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        if t.pending_id is not None and _key(t.pending_id, "pending_id") != 0:
            return R.PENDING_ID_MUST_BE_ZERO
        is_pending = flags & _PENDING
        timeout = t.timeout
        if not is_pending and timeout != 0:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        amount = t.amount
        if amount is None or amount == 0:
            return R.AMOUNT_MUST_NOT_BE_ZERO
        if not (type(amount) is int or _is_int(amount)) or amount < 0:
            return R.AMOUNT_MUST_NOT_BE_NEGATIVE
        if amount > AMOUNT_MAX:
            return R.AMOUNT_EXCEEDS_MAXIMUM
        ledger = t.ledger
        if ledger == 0:
            return R.LEDGER_MUST_NOT_BE_ZERO
        if not (type(ledger) is int or _is_int(ledger)) or not 0 < ledger <= LEDGER_MAX:
            return R.LEDGER_OUT_OF_RANGE
        code = t.code
        if code == 0:
            return R.CODE_MUST_NOT_BE_ZERO
        if not (type(code) is int or _is_int(code)) or not 0 < code <= CODE_MAX:
            return R.CODE_OUT_OF_RANGE
        user_data_64 = t.user_data_64
        user_data_32 = t.user_data_32
        if not (
            type(user_data_64) is int
            and type(user_data_32) is int
            and 0 <= user_data_64 <= USER_DATA_64_MAX
            and 0 <= user_data_32 <= USER_DATA_32_MAX
        ) and not _user_data_in_range(user_data_64, user_data_32):
            return R.USER_DATA_OUT_OF_RANGE
        if not (type(timeout) is int or _is_int(timeout)) or not 0 <= timeout <= TIMEOUT_MAX_S:
            return R.OVERFLOWS_TIMEOUT
        accounts = self.accounts
        debit = accounts.get(debit_key)
        if debit is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        credit = accounts.get(credit_key)
        if credit is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if debit.ledger != credit.ledger:
            return R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
        if ledger != debit.ledger:
            return R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
        debit_flags = debit.flags
        credit_flags = credit.flags
        if debit_flags & _CLOSED:
            return R.DEBIT_ACCOUNT_ALREADY_CLOSED
        if credit_flags & _CLOSED:
            return R.CREDIT_ACCOUNT_ALREADY_CLOSED
        debits_pending = debit.debits_pending
        debits_posted = debit.debits_posted
        credits_pending = credit.credits_pending
        credits_posted = credit.credits_posted
        if is_pending:
            if debits_pending + amount > AMOUNT_MAX:
                return R.OVERFLOWS_DEBITS_PENDING
            if credits_pending + amount > AMOUNT_MAX:
                return R.OVERFLOWS_CREDITS_PENDING
        else:
            if debits_posted + amount > AMOUNT_MAX:
                return R.OVERFLOWS_DEBITS_POSTED
            if credits_posted + amount > AMOUNT_MAX:
                return R.OVERFLOWS_CREDITS_POSTED
        debits_total = debits_pending + debits_posted + amount
        if debits_total > AMOUNT_MAX:
            return R.OVERFLOWS_DEBITS
        credits_total = credits_pending + credits_posted + amount
        if credits_total > AMOUNT_MAX:
            return R.OVERFLOWS_CREDITS
        if debit_flags & _DMNEC and debits_total > debit.credits_posted:
            return R.EXCEEDS_CREDITS
        if credit_flags & _CMNED and credits_total > credit.debits_posted:
            return R.EXCEEDS_DEBITS

        # Every check passed: apply.
        timestamp = self._next_timestamp
        self._next_timestamp = timestamp + 1
        # An account's balance is its newest row's: a timestamp not after its last one
        # would hide this transfer behind an older row (the store starts batches after it).
        assert timestamp > debit.last_transfer_timestamp, "timestamp behind the debit account"
        assert timestamp > credit.last_transfer_timestamp, "timestamp behind the credit account"
        journal = self._journal
        if journal is not None:
            self._save_account(debit)
            self._save_account(credit)
        if is_pending:
            debits_pending += amount
            credits_pending += amount
            debit.debits_pending = debits_pending
            credit.credits_pending = credits_pending
        else:
            debits_posted += amount
            credits_posted += amount
            debit.debits_posted = debits_posted
            credit.credits_posted = credits_posted
        debit.last_transfer_timestamp = timestamp
        credit.last_transfer_timestamp = timestamp
        # The row: the transfer's fields, then both accounts' balances after it. `created`
        # keeps it too (its first 13 fields are the transfer, see _row_transfer).
        row = (
            tid,
            debit_id,
            credit_id,
            amount,
            None,
            t.user_data_128,
            user_data_64,
            user_data_32,
            timeout,
            ledger,
            code,
            flags,
            timestamp,
            debits_pending,
            debits_posted,
            debit.credits_pending,
            debit.credits_posted,
            credit.debits_pending,
            credit.debits_posted,
            credits_pending,
            credits_posted,
        )
        self.created[key] = row
        if journal is not None:
            journal.append(("created_transfer", key, None))
        self.rows.append(row)
        if is_pending:
            pending = PendingState(
                tid,
                debit.id,
                credit.id,
                amount,
                ledger,
                code,
                timestamp,
                timestamp + timeout * NS_PER_S if timeout else 0,
                PendingStatus.PENDING,
            )
            self.pendings[key] = pending
            self.pending_new[key] = pending
        return R.OK

    def _resolve_pending(self, t: Transfer, *, post: bool) -> CreateTransferResult:
        """Post or void a pending transfer."""
        tid = t.id
        key = tid.int
        pending_id = t.pending_id
        pending_key = _key(pending_id, "pending_id")
        if pending_key == 0:
            return R.PENDING_ID_MUST_NOT_BE_ZERO
        if pending_key == _INT_MAX:
            return R.PENDING_ID_MUST_NOT_BE_INT_MAX
        if pending_key == key:
            return R.PENDING_ID_MUST_BE_DIFFERENT
        if t.timeout != 0:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        amount = t.amount
        if amount is not None:
            if amount == 0:
                return R.AMOUNT_MUST_NOT_BE_ZERO
            if not _is_int(amount) or amount < 0:
                return R.AMOUNT_MUST_NOT_BE_NEGATIVE
            if amount > AMOUNT_MAX:
                return R.AMOUNT_EXCEEDS_MAXIMUM
        if not _is_int(t.ledger) or not 0 <= t.ledger <= LEDGER_MAX:
            return R.LEDGER_OUT_OF_RANGE
        if not _is_int(t.code) or not 0 <= t.code <= CODE_MAX:
            return R.CODE_OUT_OF_RANGE
        if not _user_data_in_range(t.user_data_64, t.user_data_32):
            return R.USER_DATA_OUT_OF_RANGE
        pending = self.pendings.get(pending_key)
        if pending is None:
            if pending_key in self.not_pending_ids or pending_key in self.created:
                return R.PENDING_TRANSFER_NOT_PENDING
            return R.PENDING_TRANSFER_NOT_FOUND
        if _key(t.debit_account_id, "debit_account_id") not in (0, pending.debit_account_id.int):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
        if _key(t.credit_account_id, "credit_account_id") not in (
            0,
            pending.credit_account_id.int,
        ):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
        if t.ledger not in (0, pending.ledger):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
        if t.code not in (0, pending.code):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_CODE
        if amount is not None:
            if post and amount > pending.amount:
                return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
            if not post and amount != pending.amount:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
        status = pending.status
        if status is PendingStatus.PENDING and 0 < pending.expires_at <= self.now_ns:
            # Due but not yet swept: expire it now so the outcome never depends on timing.
            self._expire(pending)
            status = pending.status
        if status is PendingStatus.POSTED:
            return R.PENDING_TRANSFER_ALREADY_POSTED
        if status is PendingStatus.VOIDED:
            return R.PENDING_TRANSFER_ALREADY_VOIDED
        if status is PendingStatus.EXPIRED:
            return R.PENDING_TRANSFER_EXPIRED
        debit = self.accounts[pending.debit_account_id.int]
        credit = self.accounts[pending.credit_account_id.int]
        posted = (pending.amount if amount is None else amount) if post else 0
        if post:
            # Voids release reservations even on closed accounts; posts move money and may not.
            if debit.flags & _CLOSED:
                return R.DEBIT_ACCOUNT_ALREADY_CLOSED
            if credit.flags & _CLOSED:
                return R.CREDIT_ACCOUNT_ALREADY_CLOSED
            if debit.debits_posted + posted > AMOUNT_MAX:
                return R.OVERFLOWS_DEBITS_POSTED
            if credit.credits_posted + posted > AMOUNT_MAX:
                return R.OVERFLOWS_CREDITS_POSTED

        timestamp = self._timestamp()
        self._apply_resolution(pending, debit, credit, posted, timestamp)
        self._save_pending(pending)
        pending.status = PendingStatus.POSTED if post else PendingStatus.VOIDED
        pending.resolved_by = tid
        self._record(
            key,
            (
                tid,
                pending.debit_account_id,
                pending.credit_account_id,
                posted if post else pending.amount,
                pending_id,
                t.user_data_128,
                t.user_data_64,
                t.user_data_32,
                0,
                pending.ledger,
                pending.code,
                int(t.flags),
                timestamp,
            ),
            debit,
            credit,
        )
        return R.OK

    def _apply_resolution(
        self,
        pending: PendingState,
        debit: Account,
        credit: Account,
        posted: int,
        timestamp: int,
    ) -> None:
        assert timestamp > debit.last_transfer_timestamp, "timestamp behind the debit account"
        assert timestamp > credit.last_transfer_timestamp, "timestamp behind the credit account"
        self._save_account(debit)
        self._save_account(credit)
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        debit.last_transfer_timestamp = timestamp
        credit.last_transfer_timestamp = timestamp
        assert debit.debits_pending >= 0
        assert credit.credits_pending >= 0

    def expire_due(self, due: Sequence[PendingState]) -> int:
        """Void every pending transfer in `due` whose timeout has passed; returns how many."""
        count = 0
        for pending in due:
            if pending.status is PendingStatus.PENDING and 0 < pending.expires_at <= self.now_ns:
                self._expire(pending)
                count += 1
        return count

    def _expire(self, pending: PendingState) -> None:
        debit = self.accounts[pending.debit_account_id.int]
        credit = self.accounts[pending.credit_account_id.int]
        timestamp = self._timestamp()
        self._apply_resolution(pending, debit, credit, 0, timestamp)
        void_id = expiry_id(pending.id)
        self._save_pending(pending)
        pending.status = PendingStatus.EXPIRED
        pending.resolved_by = void_id
        self._record(
            void_id.int,
            (
                void_id,
                pending.debit_account_id,
                pending.credit_account_id,
                pending.amount,
                pending.id,
                None,
                0,
                0,
                0,
                pending.ledger,
                pending.code,
                _VOID | _EXPIRY,
                timestamp,
            ),
            debit,
            credit,
        )

    def _record(self, key: int, stored: tuple[Any, ...], debit: Account, credit: Account) -> None:
        """Keep the transfer's row: its fields, then both accounts' balances after it."""
        row = (
            *stored,
            debit.debits_pending,
            debit.debits_posted,
            debit.credits_pending,
            debit.credits_posted,
            credit.debits_pending,
            credit.debits_posted,
            credit.credits_pending,
            credit.credits_posted,
        )
        self.created[key] = row
        if self._journal is not None:
            self._journal.append(("created_transfer", key, None))
        self.rows.append(row)

    # ------------------------------------------------------------------ accounts
    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        results: list[CreateAccountResult] = [A.OK] * len(accounts)
        open_start = self._open_chain_start(accounts)
        chain_start = -1
        chain_failed = False
        for index, account in enumerate(accounts):
            linked = bool(account.flags & _LINKED)
            if index >= open_start:
                last = index == len(accounts) - 1
                results[index] = A.LINKED_EVENT_CHAIN_OPEN if last else A.LINKED_EVENT_FAILED
                continue
            if chain_start < 0 and linked:
                chain_start = index
                chain_failed = False
                self._begin_chain()
            if chain_failed:
                results[index] = A.LINKED_EVENT_FAILED
            else:
                result = self._create_account(account)
                results[index] = result
                if result is not A.OK and result is not A.EXISTS and chain_start >= 0:
                    chain_failed = True
                    for earlier in range(chain_start, index):
                        results[earlier] = A.LINKED_EVENT_FAILED
            if chain_start >= 0 and not linked:
                self._end_chain(commit=not chain_failed)
                chain_start = -1
                chain_failed = False
        return results

    def _create_account(self, a: Account) -> CreateAccountResult:
        if a.timestamp != 0:
            return A.TIMESTAMP_MUST_BE_ZERO
        if not _is_int(a.flags) or a.flags & _ACCOUNT_RESERVED:
            return A.RESERVED_FLAG
        key = _key(a.id, "id")
        if key == 0:
            return A.ID_MUST_NOT_BE_ZERO
        if key == _INT_MAX:
            return A.ID_MUST_NOT_BE_INT_MAX
        existing = self.accounts.get(key)
        if existing is not None:
            return _compare_existing_account(a, existing)
        flags = int(a.flags)
        if flags & _DMNEC and flags & _CMNED:
            return A.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if a.debits_pending or a.debits_posted or a.credits_pending or a.credits_posted:
            return A.BALANCES_MUST_BE_ZERO
        if a.ledger == 0:
            return A.LEDGER_MUST_NOT_BE_ZERO
        if not _is_int(a.ledger) or not 0 < a.ledger <= LEDGER_MAX:
            return A.LEDGER_OUT_OF_RANGE
        if a.code == 0:
            return A.CODE_MUST_NOT_BE_ZERO
        if not _is_int(a.code) or not 0 < a.code <= CODE_MAX:
            return A.CODE_OUT_OF_RANGE
        if not _user_data_in_range(a.user_data_64, a.user_data_32):
            return A.USER_DATA_OUT_OF_RANGE
        if a.ledger not in self.ledgers:
            return A.LEDGER_NOT_FOUND
        stored = Account(
            a.id,
            a.ledger,
            a.code,
            flags,
            a.owner_id,
            a.user_data_64,
            a.user_data_32,
            timestamp=self._timestamp(),
        )
        self.accounts[key] = stored
        self.accounts_created.append(stored)
        if self._journal is not None:
            self._journal.append(("created_account", stored, None))
        return A.OK


def _key(value: uuid.UUID | None, field: str) -> int:
    """The id as an int (0 when unset); anything but a UUID is a malformed event."""
    if value is None:
        return 0
    if type(value) is not uuid.UUID:
        raise DomainError(
            LedgerError.EVENT_MALFORMED,
            f"{field} must be a UUID, not {type(value).__name__}",
            status=422,
            fields={"field": field},
        )
    return value.int


def check_shapes(transfers: Sequence[Transfer]) -> None:
    """Raise `ledger_event_malformed` unless every id field is a UUID or unset.

    Results answer broken rules; a wrong type is a broken request, refused before it may
    share a commit with anyone else's transfers.
    """
    for t in transfers:
        if type(t) is not Transfer:
            raise DomainError(
                LedgerError.EVENT_MALFORMED,
                f"events must be Transfer, not {type(t).__name__}",
                status=422,
            )
        _key(t.id, "id")
        _key(t.debit_account_id, "debit_account_id")
        _key(t.credit_account_id, "credit_account_id")
        _key(t.pending_id, "pending_id")
        if t.user_data_128 is not None:
            _key(t.user_data_128, "user_data_128")


def _row_transfer(row: TransferRow) -> Transfer:
    return Transfer(*row[:13])


def _user_data_in_range(user_data_64: object, user_data_32: object) -> bool:
    return (
        _is_int(user_data_64)
        and _is_int(user_data_32)
        and 0 <= user_data_64 <= USER_DATA_64_MAX  # type: ignore[operator]
        and 0 <= user_data_32 <= USER_DATA_32_MAX  # type: ignore[operator]
    )


def _compare_existing_transfer(t: Transfer, e: Transfer) -> CreateTransferResult:
    """An id seen before: `exists` when every field the client set matches, else which differs.

    A post or void may leave accounts, ledger, code and amount unset; unset matches anything.
    """
    # `linked` says how a request groups its events, not what the event is: a retry in
    # another chain shape is still the same transfer.
    if (t.flags | _LINKED) != (e.flags | _LINKED):
        return R.EXISTS_WITH_DIFFERENT_FLAGS
    if (t.pending_id or _ZERO) != (e.pending_id or _ZERO):
        return R.EXISTS_WITH_DIFFERENT_PENDING_ID
    if t.timeout != e.timeout:
        return R.EXISTS_WITH_DIFFERENT_TIMEOUT
    if t.debit_account_id not in (None, _ZERO, e.debit_account_id):
        return R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.debit_account_id is None and not e.pending_id:
        return R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.credit_account_id not in (None, _ZERO, e.credit_account_id):
        return R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    if t.credit_account_id is None and not e.pending_id:
        return R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    if t.amount is not None and t.amount != e.amount:
        return R.EXISTS_WITH_DIFFERENT_AMOUNT
    if t.amount is None and not e.flags & (_POST | _VOID):  # unset: the full pending amount
        return R.EXISTS_WITH_DIFFERENT_AMOUNT
    if (t.user_data_128 or _ZERO) != (e.user_data_128 or _ZERO):
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_128
    if t.user_data_64 != e.user_data_64:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if t.user_data_32 != e.user_data_32:
        return R.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if t.ledger not in (0, e.ledger) or (t.ledger == 0 and not e.pending_id):
        return R.EXISTS_WITH_DIFFERENT_LEDGER
    if t.code not in (0, e.code) or (t.code == 0 and not e.pending_id):
        return R.EXISTS_WITH_DIFFERENT_CODE
    return R.EXISTS


def _compare_existing_account(a: Account, e: Account) -> CreateAccountResult:
    if (a.flags | _LINKED) != ((e.flags & ~_CLOSED) | _LINKED):
        return A.EXISTS_WITH_DIFFERENT_FLAGS
    if (a.owner_id or _ZERO) != (e.owner_id or _ZERO):
        return A.EXISTS_WITH_DIFFERENT_OWNER_ID
    if a.user_data_64 != e.user_data_64:
        return A.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if a.user_data_32 != e.user_data_32:
        return A.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if a.ledger != e.ledger:
        return A.EXISTS_WITH_DIFFERENT_LEDGER
    if a.code != e.code:
        return A.EXISTS_WITH_DIFFERENT_CODE
    return A.EXISTS
