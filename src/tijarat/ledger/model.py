"""The ledger's vocabulary: accounts, transfers, flags, limits and result codes.

Modelled on TigerBeetle (docs/reference/account.md, transfer.md): accounts hold four balances
(debits/credits x pending/posted) in integer minor units of their ledger's currency; transfers
are immutable and identified by a client-chosen id, which makes every write idempotent. A
pending transfer reserves funds and is later posted (fully or partly), voided, or expires.

No I/O here: plain data and the rules about it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag, StrEnum

# ---------------------------------------------------------------------------- limits
BATCH_MAX = 8_190  # events per request, TigerBeetle's figure for a 1 MiB message
AMOUNT_MAX = (1 << 63) - 1  # balances are SQL BIGINT; nothing may overflow them
TIMEOUT_MAX_S = (1 << 31) - 1
LEDGER_MAX = (1 << 31) - 1
CODE_MAX = (1 << 16) - 1
USER_DATA_64_MAX = (1 << 63) - 1
USER_DATA_32_MAX = (1 << 31) - 1

# Expiry voids are written by the engine with an id derived from the pending transfer's id,
# so that the void is as idempotent as everything else.
EXPIRY_NAMESPACE = uuid.UUID("6c6a0f0e-5d43-4b5e-9f0e-7a1d2c3b4e5f")


class AccountFlags(IntFlag):
    NONE = 0
    LINKED = 1 << 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2
    CLOSED = 1 << 3  # set by close_account, never at creation


class TransferFlags(IntFlag):
    NONE = 0
    LINKED = 1 << 0
    PENDING = 1 << 1
    POST_PENDING_TRANSFER = 1 << 2
    VOID_PENDING_TRANSFER = 1 << 3
    EXPIRY = 1 << 4  # on the void the engine writes when a pending transfer times out


ACCOUNT_FLAGS_CLIENT = (
    AccountFlags.LINKED
    | AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
)
TRANSFER_FLAGS_CLIENT = (
    TransferFlags.LINKED
    | TransferFlags.PENDING
    | TransferFlags.POST_PENDING_TRANSFER
    | TransferFlags.VOID_PENDING_TRANSFER
)


class PendingStatus(IntEnum):
    PENDING = 1
    POSTED = 2
    VOIDED = 3
    EXPIRED = 4


class CreateAccountResult(StrEnum):
    """Results of creating one account, in order of precedence: the first failing check wins."""

    OK = "ok"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    TIMESTAMP_MUST_BE_ZERO = "timestamp_must_be_zero"
    RESERVED_FLAG = "reserved_flag"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    ID_MUST_NOT_BE_INT_MAX = "id_must_not_be_int_max"
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"
    EXISTS_WITH_DIFFERENT_OWNER_ID = "exists_with_different_owner_id"
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = "exists_with_different_user_data_64"
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = "exists_with_different_user_data_32"
    EXISTS_WITH_DIFFERENT_LEDGER = "exists_with_different_ledger"
    EXISTS_WITH_DIFFERENT_CODE = "exists_with_different_code"
    EXISTS = "exists"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    BALANCES_MUST_BE_ZERO = "balances_must_be_zero"
    LEDGER_MUST_NOT_BE_ZERO = "ledger_must_not_be_zero"
    LEDGER_OUT_OF_RANGE = "ledger_out_of_range"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    CODE_OUT_OF_RANGE = "code_out_of_range"
    USER_DATA_OUT_OF_RANGE = "user_data_out_of_range"
    LEDGER_NOT_FOUND = "ledger_not_found"


class CreateTransferResult(StrEnum):
    """Results of creating one transfer, in order of precedence: the first failing check wins.

    `ok` and `exists` are successes (an exact retry answers `exists` and moves nothing).
    """

    OK = "ok"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    TIMESTAMP_MUST_BE_ZERO = "timestamp_must_be_zero"
    RESERVED_FLAG = "reserved_flag"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    ID_MUST_NOT_BE_INT_MAX = "id_must_not_be_int_max"
    ID_MUST_NOT_BE_RESERVED = "id_must_not_be_reserved"
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"
    EXISTS_WITH_DIFFERENT_PENDING_ID = "exists_with_different_pending_id"
    EXISTS_WITH_DIFFERENT_TIMEOUT = "exists_with_different_timeout"
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = "exists_with_different_debit_account_id"
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = "exists_with_different_credit_account_id"
    EXISTS_WITH_DIFFERENT_AMOUNT = "exists_with_different_amount"
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = "exists_with_different_user_data_128"
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = "exists_with_different_user_data_64"
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = "exists_with_different_user_data_32"
    EXISTS_WITH_DIFFERENT_LEDGER = "exists_with_different_ledger"
    EXISTS_WITH_DIFFERENT_CODE = "exists_with_different_code"
    EXISTS = "exists"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "debit_account_id_must_not_be_zero"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = "debit_account_id_must_not_be_int_max"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "credit_account_id_must_not_be_zero"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = "credit_account_id_must_not_be_int_max"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_ZERO = "pending_id_must_be_zero"
    PENDING_ID_MUST_NOT_BE_ZERO = "pending_id_must_not_be_zero"
    PENDING_ID_MUST_NOT_BE_INT_MAX = "pending_id_must_not_be_int_max"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    AMOUNT_MUST_NOT_BE_ZERO = "amount_must_not_be_zero"
    AMOUNT_MUST_NOT_BE_NEGATIVE = "amount_must_not_be_negative"
    AMOUNT_EXCEEDS_MAXIMUM = "amount_exceeds_maximum"
    LEDGER_MUST_NOT_BE_ZERO = "ledger_must_not_be_zero"
    LEDGER_OUT_OF_RANGE = "ledger_out_of_range"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    CODE_OUT_OF_RANGE = "code_out_of_range"
    USER_DATA_OUT_OF_RANGE = "user_data_out_of_range"
    OVERFLOWS_TIMEOUT = "overflows_timeout"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = "accounts_must_have_the_same_ledger"
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = (
        "transfer_must_have_the_same_ledger_as_accounts"
    )
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = (
        "pending_transfer_has_different_debit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = (
        "pending_transfer_has_different_credit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = "pending_transfer_has_different_ledger"
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = "pending_transfer_has_different_code"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    DEBIT_ACCOUNT_ALREADY_CLOSED = "debit_account_already_closed"
    CREDIT_ACCOUNT_ALREADY_CLOSED = "credit_account_already_closed"
    OVERFLOWS_DEBITS_PENDING = "overflows_debits_pending"
    OVERFLOWS_CREDITS_PENDING = "overflows_credits_pending"
    OVERFLOWS_DEBITS_POSTED = "overflows_debits_posted"
    OVERFLOWS_CREDITS_POSTED = "overflows_credits_posted"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"


TRANSFER_SUCCESS = frozenset({CreateTransferResult.OK, CreateTransferResult.EXISTS})
ACCOUNT_SUCCESS = frozenset({CreateAccountResult.OK, CreateAccountResult.EXISTS})


@dataclass(slots=True)
class Balance:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def net_credit_posted(self) -> int:
        """Credits minus debits, posted only: what a liability account (a wallet) holds."""
        return self.credits_posted - self.debits_posted

    @property
    def net_debit_posted(self) -> int:
        """Debits minus credits, posted only: what an asset account holds."""
        return self.debits_posted - self.credits_posted

    @property
    def available_credit(self) -> int:
        """Net credit less what pending debits reserve: what may still be spent."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(slots=True)
class Ledger:
    """One ledger per currency: every transfer stays inside one ledger."""

    id: int
    currency: str
    name: str


@dataclass(slots=True)
class Account:
    """An account; on creation the balances and timestamp must be zero (the engine sets them)."""

    id: uuid.UUID
    ledger: int
    code: int
    flags: int = 0
    owner_id: uuid.UUID | None = None
    user_data_64: int = 0
    user_data_32: int = 0
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0
    timestamp: int = 0
    # The newest transfer timestamp on this account: timestamps never go backwards per
    # account even when several processes (or clocks) write to one database.
    last_transfer_timestamp: int = 0

    @property
    def balance(self) -> Balance:
        return Balance(
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted
        )

    @property
    def closed(self) -> bool:
        return bool(self.flags & AccountFlags.CLOSED)


@dataclass(slots=True)
class Transfer:
    """A request to move `amount` from the debit account to the credit account.

    For a post or void of a pending transfer, the accounts, ledger and code may be left
    unset (they are taken from the pending transfer), and a post's `amount` may be left
    unset to post the full pending amount.
    """

    id: uuid.UUID
    debit_account_id: uuid.UUID | None = None
    credit_account_id: uuid.UUID | None = None
    amount: int | None = None
    pending_id: uuid.UUID | None = None
    user_data_128: uuid.UUID | None = None
    user_data_64: int = 0
    user_data_32: int = 0
    timeout: int = 0  # seconds, pending transfers only; 0 = never expires
    ledger: int = 0
    code: int = 0
    flags: int = 0
    timestamp: int = 0  # set by the engine


@dataclass(slots=True)
class TransferRecord:
    """A stored transfer with both accounts' balances just after it (the balance history)."""

    transfer: Transfer
    debit_balance: Balance
    credit_balance: Balance


@dataclass(slots=True)
class PendingState:
    """The lifecycle of one pending transfer (transfers themselves never change)."""

    id: uuid.UUID
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    ledger: int
    code: int
    timestamp: int
    expires_at: int  # nanoseconds since the epoch; 0 = never
    status: PendingStatus
    resolved_by: uuid.UUID | None = None


@dataclass(slots=True)
class StatementEntry:
    transfer: Transfer
    direction: str  # "debit" or "credit": which side of the transfer this account was on
    balance_after: Balance


@dataclass(slots=True)
class Statement:
    account_id: uuid.UUID
    from_timestamp: int
    to_timestamp: int
    opening: Balance
    closing: Balance
    entries: list[StatementEntry] = field(default_factory=list)
    truncated: bool = False  # more entries exist than the page limit returned


@dataclass(slots=True)
class VerifyReport:
    accounts: int = 0
    transfers: int = 0
    ledgers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# Ids the engine writes itself live where no client id can: UUIDs of the variant that RFC
# 9562 reserves for future definition (variant bits 111). No standard generator makes them,
# and the engine refuses them from clients (`id_must_not_be_reserved`), so an expiry can
# never collide with a transfer a client already created.
RESERVED_VARIANT_SHIFT = 61
RESERVED_VARIANT = 0b111


def is_reserved_id(value: int) -> bool:
    return (value >> RESERVED_VARIANT_SHIFT) & 0b111 == RESERVED_VARIANT


def expiry_id(pending_id: uuid.UUID) -> uuid.UUID:
    """The id of the void the engine writes when `pending_id` times out."""
    derived = uuid.uuid5(EXPIRY_NAMESPACE, pending_id.hex).int
    return uuid.UUID(int=derived | (RESERVED_VARIANT << RESERVED_VARIANT_SHIFT))
