"""HTTP request and response models of the ledger API (JSON; amounts as integer minor units)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tijarat.kernel.clock import from_ns
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
    PendingState,
    Statement,
    Transfer,
    TransferFlags,
    TransferRecord,
)

# Flags travel as names, not bits: readable, and a typo is a 422 rather than a wrong bit.
AccountFlagName = Annotated[
    str, Field(pattern="^(linked|debits_must_not_exceed_credits|credits_must_not_exceed_debits)$")
]
TransferFlagName = Annotated[
    str, Field(pattern="^(linked|pending|post_pending_transfer|void_pending_transfer)$")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class LedgerIn(_Strict):
    id: int = Field(gt=0, le=LEDGER_MAX)
    currency: str = Field(pattern="^[A-Z]{3}$")
    name: str = Field(min_length=1, max_length=100)


class LedgerOut(BaseModel):
    id: int
    currency: str
    name: str


class AccountIn(_Strict):
    id: uuid.UUID
    ledger: int = Field(ge=0, le=LEDGER_MAX)
    code: int = Field(ge=0, le=CODE_MAX)
    flags: list[AccountFlagName] = Field(default_factory=list, max_length=3)
    owner_id: uuid.UUID | None = None
    user_data_64: int = Field(default=0, ge=0, le=USER_DATA_64_MAX)
    user_data_32: int = Field(default=0, ge=0, le=USER_DATA_32_MAX)

    def to_model(self) -> Account:
        flags = 0
        for name in self.flags:
            flags |= AccountFlags[name.upper()]
        return Account(
            self.id,
            self.ledger,
            self.code,
            flags,
            self.owner_id,
            self.user_data_64,
            self.user_data_32,
        )


class TransferIn(_Strict):
    id: uuid.UUID
    debit_account_id: uuid.UUID | None = None
    credit_account_id: uuid.UUID | None = None
    # Negative and zero amounts are let through to the engine, which answers with a
    # specific result code (amount_must_not_be_zero / _negative) like every other rule.
    amount: int | None = Field(default=None, ge=-AMOUNT_MAX, le=AMOUNT_MAX)
    pending_id: uuid.UUID | None = None
    user_data_128: uuid.UUID | None = None
    user_data_64: int = Field(default=0, ge=0, le=USER_DATA_64_MAX)
    user_data_32: int = Field(default=0, ge=0, le=USER_DATA_32_MAX)
    timeout: int = Field(default=0, ge=0, le=TIMEOUT_MAX_S)
    ledger: int = Field(default=0, ge=0, le=LEDGER_MAX)
    code: int = Field(default=0, ge=0, le=CODE_MAX)
    flags: list[TransferFlagName] = Field(default_factory=list, max_length=4)

    def to_model(self) -> Transfer:
        flags = 0
        for name in self.flags:
            flags |= TransferFlags[name.upper()]
        return Transfer(
            self.id,
            self.debit_account_id,
            self.credit_account_id,
            self.amount,
            self.pending_id,
            self.user_data_128,
            self.user_data_64,
            self.user_data_32,
            self.timeout,
            self.ledger,
            self.code,
            flags,
        )


class AccountsIn(_Strict):
    accounts: list[AccountIn] = Field(min_length=1, max_length=BATCH_MAX)


class TransfersIn(_Strict):
    transfers: list[TransferIn] = Field(min_length=1, max_length=BATCH_MAX)


class EventResult(BaseModel):
    index: int
    id: str
    result: str


class ResultsOut(BaseModel):
    """Per-event results in input order; `ok` is true only when every event succeeded."""

    ok: bool
    results: list[EventResult]


class BalanceOut(BaseModel):
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @classmethod
    def of(cls, balance: Balance) -> BalanceOut:
        return cls(
            debits_pending=balance.debits_pending,
            debits_posted=balance.debits_posted,
            credits_pending=balance.credits_pending,
            credits_posted=balance.credits_posted,
        )


def _flag_names(flags: int, kind: type[AccountFlags | TransferFlags]) -> list[str]:
    return [f.name.lower() for f in kind if f.value and flags & f.value and f.name]


class AccountOut(BaseModel):
    id: uuid.UUID
    ledger: int
    code: int
    flags: list[str]
    owner_id: uuid.UUID | None
    user_data_64: int
    user_data_32: int
    balance: BalanceOut
    timestamp: int
    created_at: str

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id,
            ledger=a.ledger,
            code=a.code,
            flags=_flag_names(a.flags, AccountFlags),
            owner_id=a.owner_id,
            user_data_64=a.user_data_64,
            user_data_32=a.user_data_32,
            balance=BalanceOut.of(a.balance),
            timestamp=a.timestamp,
            created_at=from_ns(a.timestamp).isoformat(),
        )


class TransferOut(BaseModel):
    id: uuid.UUID
    debit_account_id: uuid.UUID | None
    credit_account_id: uuid.UUID | None
    amount: int | None
    pending_id: uuid.UUID | None
    user_data_128: uuid.UUID | None
    user_data_64: int
    user_data_32: int
    timeout: int
    ledger: int
    code: int
    flags: list[str]
    timestamp: int
    created_at: str

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        return cls(
            id=t.id,
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=t.amount,
            pending_id=t.pending_id,
            user_data_128=t.user_data_128,
            user_data_64=t.user_data_64,
            user_data_32=t.user_data_32,
            timeout=t.timeout,
            ledger=t.ledger,
            code=t.code,
            flags=_flag_names(t.flags, TransferFlags),
            timestamp=t.timestamp,
            created_at=from_ns(t.timestamp).isoformat(),
        )


class TransferRecordOut(BaseModel):
    transfer: TransferOut
    debit_balance_after: BalanceOut
    credit_balance_after: BalanceOut
    pending_status: str | None = None

    @classmethod
    def of(cls, record: TransferRecord, pending: PendingState | None) -> TransferRecordOut:
        return cls(
            transfer=TransferOut.of(record.transfer),
            debit_balance_after=BalanceOut.of(record.debit_balance),
            credit_balance_after=BalanceOut.of(record.credit_balance),
            pending_status=pending.status.name.lower() if pending else None,
        )


class StatementEntryOut(BaseModel):
    transfer: TransferOut
    direction: str
    balance_after: BalanceOut


class StatementOut(BaseModel):
    account_id: uuid.UUID
    currency: str
    from_timestamp: int
    to_timestamp: int
    opening: BalanceOut
    closing: BalanceOut
    entries: list[StatementEntryOut]
    truncated: bool

    @classmethod
    def of(cls, statement: Statement, currency: str) -> StatementOut:
        return cls(
            account_id=statement.account_id,
            currency=currency,
            from_timestamp=statement.from_timestamp,
            to_timestamp=statement.to_timestamp,
            opening=BalanceOut.of(statement.opening),
            closing=BalanceOut.of(statement.closing),
            entries=[
                StatementEntryOut(
                    transfer=TransferOut.of(e.transfer),
                    direction=e.direction,
                    balance_after=BalanceOut.of(e.balance_after),
                )
                for e in statement.entries
            ],
            truncated=statement.truncated,
        )


class VerifyOut(BaseModel):
    ok: bool
    ledgers: int
    accounts: int
    transfers: int
    problems: list[str]
