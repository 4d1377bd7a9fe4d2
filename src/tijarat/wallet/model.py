"""The wallet's plain data and rules: customers, KYC tiers, limits, movements, fees, FX.

Limits follow SBP's branchless-banking rules: each KYC tier caps what may leave (debits) and
what may arrive (credits) per transaction, Pakistan-time day, month and year, and caps the
balance. Tiers are versioned data with the date they take effect; an operator may assign a
business its own limits; a customer may lower (and raise again, up to those caps) their own.
The limit that applies is the smallest of the three.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

PAKISTAN = ZoneInfo("Asia/Karachi")  # UTC+5, no daylight saving
# The uuid5 namespace of every id the wallet derives (movements, groups, payouts, posts and
# voids of its reservations): the same inputs give the same ids, so retries are idempotent.
NAMESPACE = uuid.UUID("6f1d4a52-3c1e-4f4e-9a57-7b5d0f2c9e10")

NAME_LENGTH_MAX = 140  # ISO 20022 Max140Text: names travel in pacs.008
NOTE_LENGTH_MAX = 140
REQUEST_KEY_LENGTH_MAX = 64
PAGE_SIZE_MAX = 200
PAYOUT_ROWS_MAX = 10_000
PAYOUT_FILE_BYTES_MAX = 4 * 1024 * 1024

# Ledger account codes of the wallet book (the kind of account).
ACCOUNT_CODE_CUSTOMER = 2_001  # a customer's wallet: a liability of the institution
ACCOUNT_CODE_HUB_SETTLEMENT = 2_101  # mirror of our settlement position at the hub (asset)
ACCOUNT_CODE_CAPITAL = 2_102  # the institution's own funds placed at the hub
ACCOUNT_CODE_AGENT_CASH = 2_103  # cash taken in by agents (asset)
ACCOUNT_CODE_FEE_INCOME = 2_104
ACCOUNT_CODE_FX_POSITION = 2_105  # one per currency: what FX bought and sold
ACCOUNT_CODE_FOREIGN_NOSTRO = 2_106  # foreign-currency proceeds received (asset)
# Ledger transfer codes of the wallet book (why money moved).
TRANSFER_CODE_DEPOSIT = 2_201
TRANSFER_CODE_WITHDRAWAL = 2_202
TRANSFER_CODE_INTERNAL = 2_203
TRANSFER_CODE_OUTGOING = 2_204
TRANSFER_CODE_INCOMING = 2_205
TRANSFER_CODE_FEE = 2_206
TRANSFER_CODE_FX = 2_207
TRANSFER_CODE_RETURN = 2_208
TRANSFER_CODE_SETTLEMENT_FUNDING = 2_209
TRANSFER_CODE_FOREIGN_RECEIPT = 2_210


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # no payments in or out (AC06 to payers)


class Direction(StrEnum):
    DEBIT = "debit"  # money leaving the customer's wallet
    CREDIT = "credit"  # money arriving


class Period(StrEnum):
    TRANSACTION = "transaction"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class LimitKind(StrEnum):
    """One limit: a direction and a period, or the balance cap."""

    DEBIT_TRANSACTION = "debit_transaction"
    DEBIT_DAY = "debit_day"
    DEBIT_MONTH = "debit_month"
    DEBIT_YEAR = "debit_year"
    CREDIT_TRANSACTION = "credit_transaction"
    CREDIT_DAY = "credit_day"
    CREDIT_MONTH = "credit_month"
    CREDIT_YEAR = "credit_year"
    BALANCE = "balance"

    @property
    def direction(self) -> Direction | None:
        head = self.value.split("_", 1)[0]
        return Direction(head) if head in ("debit", "credit") else None

    @property
    def period(self) -> Period | None:
        if self is LimitKind.BALANCE:
            return None
        return Period(self.value.split("_", 1)[1])

    @classmethod
    def of(cls, direction: Direction, period: Period) -> LimitKind:
        return cls(f"{direction.value}_{period.value}")


@dataclass(frozen=True, slots=True)
class Tier:
    """A KYC tier's limits from `effective_from` (a Pakistan date); None means no limit."""

    code: str
    name: str
    effective_from: date
    limits_minor: dict[LimitKind, int | None]
    currency: str = "PKR"

    def limit(self, kind: LimitKind) -> int | None:
        return self.limits_minor.get(kind)


@dataclass(frozen=True, slots=True)
class Customer:
    id: uuid.UUID
    kind: CustomerKind
    name: str
    mobile: str  # E.164
    cnic: str | None  # individuals (and a business's owners): 13 digits
    ntn: str | None  # businesses
    address: str | None
    owners: tuple[str, ...]
    tier: str
    status: CustomerStatus
    created_at: int


@dataclass(frozen=True, slots=True)
class WalletAccount:
    id: uuid.UUID  # the ledger account id
    customer_id: uuid.UUID
    currency: str
    ledger: int
    iban: str | None  # PKR wallets have an IBAN (the institution's bank code)
    created_at: int


class MovementKind(StrEnum):
    DEPOSIT = "deposit"  # cash in at an agent
    WITHDRAWAL = "withdrawal"
    INTERNAL = "internal"  # wallet to wallet inside the institution
    RAAST_OUT = "raast_out"  # through the switch
    RAAST_IN = "raast_in"
    MERCHANT = "merchant"  # paying (or being paid by) a merchant QR
    REQUEST = "request"  # paying a request to pay
    PAYOUT = "payout"  # a row of a bulk payout
    FEE = "fee"
    FX = "fx"
    RETURN_OUT = "return_out"  # refund we send back
    RETURN_IN = "return_in"
    PROCEEDS = "proceeds"  # foreign-currency receipts (export proceeds, escrow release)
    ADJUSTMENT = "adjustment"


class MovementStatus(StrEnum):
    PENDING = "pending"  # funds reserved; the hub has not confirmed yet
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Movement:
    """One line of a customer's history: what moved on one wallet account, and why."""

    id: uuid.UUID  # the ledger transfer that moves (or reserves) the money
    customer_id: uuid.UUID
    account_id: uuid.UUID
    direction: Direction
    kind: MovementKind
    amount_minor: int
    currency: str
    status: MovementStatus
    counterparty: str | None
    reference: str | None
    reason: str | None
    payment_id: uuid.UUID | None  # the switch payment, when one is involved
    end_to_end_id: str | None
    group_id: uuid.UUID  # every movement of one request shares it
    created_at: int
    completed_at: int | None
    fee_minor: int = 0


@dataclass(frozen=True, slots=True)
class FeeRule:
    """What the institution charges for one kind of movement: fixed + basis points, capped."""

    kind: MovementKind
    fixed_minor: int = 0
    basis_points: int = 0
    maximum_minor: int | None = None
    payer: Direction = Direction.CREDIT  # who pays: the receiving merchant by default

    def fee_for(self, amount_minor: int) -> int:
        variable = (amount_minor * self.basis_points + 5_000) // 10_000  # half up, integers
        fee = self.fixed_minor + variable
        if self.maximum_minor is not None:
            fee = min(fee, self.maximum_minor)
        return min(fee, amount_minor)


@dataclass(frozen=True, slots=True)
class FxRate:
    """Units of `quote` per one unit of `base` on a Pakistan date, from a named source."""

    day: date
    base: str
    quote: str
    rate: Decimal
    source: str


def convert_minor(amount_minor: int, rate: Decimal, from_exponent: int, to_exponent: int) -> int:
    """`amount_minor` of one currency in minor units of another, rounded half to even."""
    scaled = Decimal(amount_minor) * rate * (Decimal(10) ** (to_exponent - from_exponent))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# ------------------------------------------------------------------------ Pakistan time
def pakistan_day(ns: int) -> date:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).astimezone(PAKISTAN).date()


def window_start_ns(period: Period, ns: int) -> int:
    """Start of the day, month or year (Pakistan time) that contains `ns`."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).astimezone(PAKISTAN)
    day = moment.date()
    if period is Period.MONTH:
        day = day.replace(day=1)
    elif period is Period.YEAR:
        day = day.replace(month=1, day=1)
    start = datetime.combine(day, time(), tzinfo=PAKISTAN)
    return int(start.astimezone(UTC).timestamp()) * 1_000_000_000


def next_window_ns(period: Period, ns: int) -> int:
    """When the window containing `ns` ends (the next Pakistan midnight, month or year)."""
    moment = datetime.fromtimestamp(window_start_ns(period, ns) // 1_000_000_000, tz=PAKISTAN)
    if period is Period.DAY:
        following = moment + timedelta(days=1)
    elif period is Period.MONTH:
        following = (moment.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        following = moment.replace(year=moment.year + 1)
    return int(following.astimezone(UTC).timestamp()) * 1_000_000_000


@dataclass(frozen=True, slots=True)
class LimitBreach:
    """Which limit a movement would break and how much room is left under it."""

    kind: LimitKind
    limit_minor: int
    used_minor: int
    remaining_minor: int
    resets_at: int | None  # ns; None for per-transaction and balance limits


@dataclass(frozen=True, slots=True)
class Usage:
    """Debits or credits already counted in the day, month and year windows."""

    day_minor: int = 0
    month_minor: int = 0
    year_minor: int = 0

    def for_period(self, period: Period) -> int:
        return {Period.DAY: self.day_minor, Period.MONTH: self.month_minor}.get(
            period, self.year_minor
        )


def first_breach(
    limits: dict[LimitKind, int | None],
    direction: Direction,
    amount_minor: int,
    usage: Usage,
    now_ns: int,
    balance_after_minor: int | None = None,
) -> LimitBreach | None:
    """The first limit (transaction, day, month, year, then balance) this movement breaks."""
    for period in (Period.TRANSACTION, Period.DAY, Period.MONTH, Period.YEAR):
        kind = LimitKind.of(direction, period)
        limit = limits.get(kind)
        if limit is None:
            continue
        used = 0 if period is Period.TRANSACTION else usage.for_period(period)
        if used + amount_minor > limit:
            resets = None if period is Period.TRANSACTION else next_window_ns(period, now_ns)
            return LimitBreach(kind, limit, used, max(limit - used, 0), resets)
    cap = limits.get(LimitKind.BALANCE)
    if (
        direction is Direction.CREDIT
        and cap is not None
        and balance_after_minor is not None
        and balance_after_minor > cap
    ):
        before = balance_after_minor - amount_minor
        return LimitBreach(LimitKind.BALANCE, cap, before, max(cap - before, 0), None)
    return None


def tighter(*limits: int | None) -> int | None:
    """The smallest of the limits that are set (None = no limit)."""
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """One row of a bulk payout file, as read (checked later, row by row)."""

    line: int
    name: str
    raast_id: str | None
    iban: str | None
    amount_minor: int
    reference: str


class PayoutRowStatus(StrEnum):
    SETTLED = "settled"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PayoutRowResult:
    line: int
    name: str
    destination: str
    amount_minor: int
    reference: str
    status: PayoutRowStatus
    reason: str | None  # an ISO 20022 reason code or a wallet error code
    detail: str | None
    end_to_end_id: str | None
    uetr: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Payout:
    id: uuid.UUID
    customer_id: uuid.UUID
    file_sha256: str
    file_name: str
    currency: str
    created_at: int
    rows: tuple[PayoutRowResult, ...] = field(default_factory=tuple)

    @property
    def settled_minor(self) -> int:
        return sum(r.amount_minor for r in self.rows if r.status is PayoutRowStatus.SETTLED)

    def count(self, status: PayoutRowStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)
