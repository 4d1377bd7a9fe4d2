"""Wallet use cases: a payment institution's customers, limits, accounts and payments.

The institution keeps its own ledger book (one ledger per currency: book * 1000 + the ISO
numeric code, e.g. 1586 for PKR) and participates in the switch like any bank. Its
settlement position at the hub is mirrored by an asset account in its own book, so both
books always tell the same story (`reconcile` checks it).

Every payment follows one pattern:
1. claim the client's request key (the same key answers the first outcome, moves nothing);
2. under a lock on the customer, count what the limits have used and write the movements
   as *pending* (so a concurrent payment sees them);
3. move money in the ledger: a posted transfer inside the institution, or a pending
   reservation when the money leaves through the switch;
4. complete or fail the movements; a reservation is posted when the hub confirms (ACSC) and
   voided when it rejects (RJCT) — whichever comes first, the synchronous answer or the
   hub's status report, settles it, and the other finds it settled.
A crash between the steps leaves pending movements that `settle_pending` finishes from the
ledger's and the hub's records: nothing the API acknowledged is lost or done twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
import structlog

from tijarat.kernel.clock import Clock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber, Ntn, make_pk_iban, mask_name
from tijarat.kernel.money import Money, currency_info, currency_numeric
from tijarat.ledger.model import (
    Account,
    AccountFlags,
    CreateTransferResult,
    Transfer,
    TransferFlags,
)
from tijarat.ledger.service import LedgerService
from tijarat.switch import iso20022 as iso
from tijarat.switch import qr
from tijarat.switch import store as switch_store
from tijarat.switch.advices import HUB_MEMBER_ID
from tijarat.switch.bulk import BulkPayments
from tijarat.switch.gateway import Gateway
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    PayeeDecision,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments
from tijarat.switch.requests import PaymentRequests
from tijarat.wallet import files, store
from tijarat.wallet.errors import WalletError, limit_error
from tijarat.wallet.model import (
    ACCOUNT_CODE_AGENT_CASH,
    ACCOUNT_CODE_CAPITAL,
    ACCOUNT_CODE_CUSTOMER,
    ACCOUNT_CODE_FEE_INCOME,
    ACCOUNT_CODE_FOREIGN_NOSTRO,
    ACCOUNT_CODE_FX_POSITION,
    ACCOUNT_CODE_HUB_SETTLEMENT,
    NAME_LENGTH_MAX,
    NAMESPACE,
    NOTE_LENGTH_MAX,
    PAGE_SIZE_MAX,
    REQUEST_KEY_LENGTH_MAX,
    TRANSFER_CODE_DEPOSIT,
    TRANSFER_CODE_FEE,
    TRANSFER_CODE_FOREIGN_RECEIPT,
    TRANSFER_CODE_FX,
    TRANSFER_CODE_INCOMING,
    TRANSFER_CODE_INTERNAL,
    TRANSFER_CODE_OUTGOING,
    TRANSFER_CODE_RETURN,
    TRANSFER_CODE_SETTLEMENT_FUNDING,
    TRANSFER_CODE_WITHDRAWAL,
    Customer,
    CustomerKind,
    CustomerStatus,
    Direction,
    FeeRule,
    FxRate,
    LimitKind,
    Movement,
    MovementKind,
    MovementStatus,
    Period,
    Tier,
    Usage,
    convert_minor,
    first_breach,
    pakistan_day,
    tighter,
    window_start_ns,
)
from tijarat.wallet.payouts import PayoutsMixin

R = CreateTransferResult
log = structlog.get_logger("tijarat.wallet")
SUPPORTED_CURRENCIES = ("PKR", "USD")
LIMIT_KINDS = tuple(LimitKind)
OWNERS_MAX = 20
SETTLE_BATCH_MAX = 1_000
REQUEST_LIFETIME_S_DEFAULT = 7 * 86_400  # a "later" request: a week to pay
ORPHAN_AFTER_S = 120  # pending this long with no ledger or hub record: the call died
BIOMETRIC_SCORE_MIN = 60  # the simulated provider's pass mark (NADRA-style match score)


@dataclass(frozen=True, slots=True)
class Institution:
    code: str  # participant code at the hub (a BIC works)
    name: str
    bank_code: str  # the 4 letters in its customers' IBANs
    book: int  # its ledger book: ledgers book * 1000 + ISO numeric

    def ledger_id(self, currency: str) -> int:
        return self.book * 1000 + currency_numeric(currency)


DEFAULT_INSTITUTION = Institution("TIJWPKKA", "Tijarat Wallet", "TIJW", 1)


# ------------------------------------------------------------------------ outside services
class Verifier(Protocol):
    """Identity verification for a tier upgrade (NADRA biometrics in production)."""

    name: str

    def verify(self, customer: Customer, to_tier: str, evidence: Mapping[str, str]) -> str | None:
        """None when verified, else why not."""
        ...


class SimulatedBiometrics:
    """Development stand-in for a biometric verification provider.

    It reads a fingerprint match score (0-100) from the evidence, as a biometric device
    reports it, and passes at BIOMETRIC_SCORE_MIN; CNICs must match the customer's own.
    """

    name = "simulated-biometrics"

    def verify(self, customer: Customer, to_tier: str, evidence: Mapping[str, str]) -> str | None:  # noqa: ARG002
        cnic = evidence.get("cnic", "")
        try:
            if customer.cnic is None or Cnic.parse(cnic).digits != customer.cnic:
                return "the CNIC presented is not the customer's"
        except DomainError:
            return "the CNIC presented is not valid"
        score_text = evidence.get("fingerprint_match_score", "")
        if not score_text.isdigit() or not 0 <= int(score_text) <= 100:
            return "a fingerprint match score 0-100 is required"
        if int(score_text) < BIOMETRIC_SCORE_MIN:
            return f"fingerprint match score {score_text} is below {BIOMETRIC_SCORE_MIN}"
        return None


class ScreeningResultLike(Protocol):
    @property
    def outcome(self) -> str: ...  # "clear" | "review" | "block"


class NameScreening(Protocol):
    def screen(self, name: str, *, subject: str, reference: str) -> ScreeningResultLike: ...


class TransactionMonitor(Protocol):
    def observe(
        self,
        customer_id: uuid.UUID,
        direction: str,
        amount_minor: int,
        currency: str,
        *,
        per_transaction_limit_minor: int | None,
        reference: str,
    ) -> Sequence[object]: ...


# ------------------------------------------------------------------------ answers
@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What a payment call answers: its movements and, through the hub, the payment."""

    group_id: uuid.UUID
    status: MovementStatus  # of the customer's debit
    movements: tuple[Movement, ...]
    reason: str | None = None
    payment_id: uuid.UUID | None = None
    end_to_end_id: str | None = None
    uetr: uuid.UUID | None = None
    replayed: bool = False  # the request key was used before: nothing new moved


@dataclass(frozen=True, slots=True)
class LimitView:
    kind: LimitKind
    tier_minor: int | None
    assigned_minor: int | None  # by the operator
    own_minor: int | None  # by the customer
    effective_minor: int | None
    used_minor: int
    remaining_minor: int | None


@dataclass(frozen=True, slots=True)
class ConversionResult:
    from_amount_minor: int
    from_currency: str
    to_amount_minor: int
    to_currency: str
    rate: str


@dataclass(frozen=True, slots=True)
class StatementLine:
    movement: Movement | None  # None for ledger entries the wallet did not describe
    transfer_id: uuid.UUID
    at: int
    direction: Direction
    amount_minor: int
    balance_after_minor: int
    description: str


@dataclass(frozen=True, slots=True)
class WalletStatement:
    customer: Customer
    account: Any  # WalletAccount
    from_ns: int
    to_ns: int
    opening_minor: int
    closing_minor: int
    lines: tuple[StatementLine, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a payment goes: one of our own wallets, or out through the hub."""

    internal_account: Any | None  # WalletAccount when the payee banks with us
    raast_id: str | None
    iban: str | None
    display: str  # what the payer sees: a masked title, never a stranger's full name


class WalletService(PayoutsMixin):
    def __init__(
        self,
        engine: sa.Engine,
        ledger: LedgerService,
        clock: Clock,
        *,
        payments: Payments,
        requests: PaymentRequests,
        bulk: BulkPayments,
        institution: Institution = DEFAULT_INSTITUTION,
        verifier: Verifier | None = None,
        screening: NameScreening | None = None,
        monitoring: TransactionMonitor | None = None,
        gateway: Gateway | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.payments = payments
        self.switch = payments.directory
        self.requests = requests
        self.bulk = bulk
        self.institution = institution
        self.verifier: Verifier = verifier or SimulatedBiometrics()
        self.screening = screening
        self.monitoring = monitoring
        self.gateway = gateway
        self._ready = False
        self._ready_lock = threading.Lock()
        # The in-process transport: the hub delivers credit advices and status reports here.
        payments.connect(institution.code, self._on_credit_advice)
        payments.listen(institution.code, self._on_status)

    # ================================================================== set-up
    def ensure_ready(self) -> None:
        """Join the hub and open the book's ledgers and own accounts (idempotent)."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            try:
                self.switch.participant(self.institution.code)
            except DomainError:
                try:
                    self.switch.register_participant(
                        self.institution.code,
                        self.institution.name,
                        ParticipantCategory.DIRECT_SETTLEMENT,
                        bank_code=self.institution.bank_code,
                    )
                except DomainError as error:  # another process registered it first
                    if error.code != "switch_participant_exists":
                        raise
            accounts = []
            for currency in SUPPORTED_CURRENCIES:
                ledger_id = self.institution.ledger_id(currency)
                self.ledger.create_ledger(
                    ledger_id, currency, f"{self.institution.name} ({currency})"
                )
                accounts += [
                    Account(self._own(name, currency), ledger_id, code)
                    for name, code in _OWN_ACCOUNTS
                ]
            self.ledger.create_accounts(accounts)
            self._ready = True

    def _own(self, name: str, currency: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"{self.institution.book}:{name}:{currency}")

    @property
    def hub_mirror_id(self) -> uuid.UUID:
        return self._own("hub-settlement", "PKR")

    # ================================================================== tiers and limits
    def tiers(self, on: date | None = None, connection: sa.Connection | None = None) -> list[Tier]:
        """The tiers in effect on a Pakistan date (today by default): newest version each."""
        day = on or pakistan_day(self.clock.now_ns())
        table = store.tiers_table
        query = (
            sa.select(table)
            .where(table.c.effective_from <= day)
            .order_by(table.c.code, table.c.effective_from.desc())
        )
        if connection is None:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = connection.execute(query).all()
        newest: dict[str, Tier] = {}
        for row in rows:
            newest.setdefault(row.code, _tier(row))
        return list(newest.values())

    def tier(
        self, code: str, on: date | None = None, connection: sa.Connection | None = None
    ) -> Tier:
        for tier in self.tiers(on, connection):
            if tier.code == code:
                return tier
        raise DomainError(WalletError.TIER_NOT_FOUND, f"no tier {code}", status=404)

    def tier_history(self) -> list[Tier]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(store.tiers_table).order_by(
                    store.tiers_table.c.code, store.tiers_table.c.effective_from
                )
            ).all()
        return [_tier(row) for row in rows]

    def publish_tier(self, tier: Tier) -> Tier:
        """A new version of a tier's limits, in effect from its date (operators)."""
        if not tier.code.isidentifier() or len(tier.code) > 32 or not tier.name.strip():
            raise _tier_invalid("a tier needs a code (letters, digits, _) and a name")
        for kind, amount in tier.limits_minor.items():
            if amount is not None and (type(amount) is not int or amount < 0):
                raise _tier_invalid(f"{kind} must be a whole number of paisa >= 0")
        values: dict[str, Any] = {
            "code": tier.code,
            "effective_from": tier.effective_from,
            "name": tier.name.strip(),
            "currency": "PKR",
            "created_at": self.clock.now_ns(),
        }
        values.update({f"{kind.value}_minor": tier.limits_minor.get(kind) for kind in LIMIT_KINDS})
        try:
            with self.engine.begin() as connection:
                connection.execute(store.tiers_table.insert().values(**values))
        except sa.exc.IntegrityError as error:
            raise _tier_invalid(
                f"tier {tier.code} already has a version from {tier.effective_from}"
            ) from error
        return tier

    def limits(self, customer_id: uuid.UUID) -> list[LimitView]:
        """Every limit of the customer: tier, assigned, own, effective, used, remaining."""
        customer = self.customer(customer_id)
        tier = self.tier(customer.tier)
        assigned, own = self._customer_limits(customer_id)
        now = self.clock.now_ns()
        usage = {d: self._usage(None, customer_id, d, now) for d in Direction}
        balance = self._balance_for_cap(customer_id)
        views = []
        for kind in LIMIT_KINDS:
            effective = tighter(tier.limit(kind), assigned.get(kind), own.get(kind))
            if kind is LimitKind.BALANCE:
                used = balance
            elif kind.period is Period.TRANSACTION:
                used = 0
            else:
                assert kind.direction is not None
                assert kind.period is not None
                used = usage[kind.direction].for_period(kind.period)
            remaining = None if effective is None else max(effective - used, 0)
            views.append(
                LimitView(
                    kind,
                    tier.limit(kind),
                    assigned.get(kind),
                    own.get(kind),
                    effective,
                    used,
                    remaining,
                )
            )
        return views

    def set_limit(
        self,
        customer_id: uuid.UUID,
        kind: LimitKind,
        amount_minor: int | None,
        *,
        by_operator: bool = False,
    ) -> list[LimitView]:
        """Set (or with None, clear) a customer's own limit, or an operator-assigned one.

        A customer may lower a limit and raise it again up to what the tier and the operator
        allow (SBP requires both for Raast); an operator may set any limit for a business.
        """
        customer = self.customer(customer_id)
        if amount_minor is not None and (type(amount_minor) is not int or amount_minor < 0):
            raise DomainError(
                WalletError.LIMIT_INVALID, "a limit is a whole number of paisa >= 0", status=422
            )
        source = "operator" if by_operator else "customer"
        if amount_minor is not None and not by_operator:
            assigned, _ = self._customer_limits(customer_id)
            ceiling = tighter(self.tier(customer.tier).limit(kind), assigned.get(kind))
            if ceiling is not None and amount_minor > ceiling:
                raise DomainError(
                    WalletError.LIMIT_INVALID,
                    f"{kind.value} can be at most {Money(ceiling, 'PKR')} at this tier",
                    status=422,
                    fields={"kind": kind.value, "maximum_minor": ceiling},
                )
        table = store.customer_limits_table
        key = (
            (table.c.customer_id == customer_id)
            & (table.c.source == source)
            & (table.c.kind == kind.value)
        )
        with self.engine.begin() as connection:
            connection.execute(table.delete().where(key))
            if amount_minor is not None:
                connection.execute(
                    table.insert().values(
                        customer_id=customer_id,
                        source=source,
                        kind=kind.value,
                        amount_minor=amount_minor,
                        updated_at=self.clock.now_ns(),
                    )
                )
        return self.limits(customer_id)

    def _customer_limits(
        self, customer_id: uuid.UUID, connection: sa.Connection | None = None
    ) -> tuple[dict[LimitKind, int], dict[LimitKind, int]]:
        table = store.customer_limits_table
        query = sa.select(table).where(table.c.customer_id == customer_id)
        if connection is None:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = connection.execute(query).all()
        assigned: dict[LimitKind, int] = {}
        own_limits: dict[LimitKind, int] = {}
        for row in rows:
            target = assigned if row.source == "operator" else own_limits
            target[LimitKind(row.kind)] = row.amount_minor
        return assigned, own_limits

    def _effective_limits(
        self, connection: sa.Connection, customer: Customer
    ) -> dict[LimitKind, int | None]:
        tier = self.tier(customer.tier, connection=connection)
        assigned, own = self._customer_limits(customer.id, connection)
        return {
            kind: tighter(tier.limit(kind), assigned.get(kind), own.get(kind))
            for kind in LIMIT_KINDS
        }

    def _usage(
        self,
        connection: sa.Connection | None,
        customer_id: uuid.UUID,
        direction: Direction,
        now: int,
    ) -> Usage:
        """PKR moved in each Pakistan-time window, pending included (it may yet complete).

        Fees and FX legs do not count: limits are on what the customer sends and receives.
        """
        table = store.movements_table
        counted = [k.value for k in MovementKind if k not in (MovementKind.FEE, MovementKind.FX)]
        starts = {p: window_start_ns(p, now) for p in (Period.DAY, Period.MONTH, Period.YEAR)}
        query = sa.select(
            *(
                sa.func.coalesce(
                    sa.func.sum(
                        sa.case((table.c.created_at >= starts[p], table.c.amount_minor), else_=0)
                    ),
                    0,
                )
                for p in (Period.DAY, Period.MONTH, Period.YEAR)
            )
        ).where(
            (table.c.customer_id == customer_id)
            & (table.c.direction == direction.value)
            & (table.c.currency == "PKR")
            & (table.c.status != MovementStatus.FAILED.value)
            & (table.c.kind.in_(counted))
            & (table.c.created_at >= starts[Period.YEAR])
        )
        if connection is None:
            with self.engine.connect() as own:
                day, month, year = own.execute(query).one()
        else:
            day, month, year = connection.execute(query).one()
        return Usage(int(day), int(month), int(year))

    def _balance_for_cap(self, customer_id: uuid.UUID) -> int:
        """Posted PKR balance plus credits on their way in (conservative for the cap).

        Read before the customer's lock is taken: on SQLite a second connection inside a
        write transaction would wait for itself. Credits written since are pending
        movements, which `_check_limits` adds under the lock.
        """
        account = self._account_row(customer_id, "PKR")
        if account is None:
            return 0
        return self.ledger.get_account(account.id).balance.net_credit_posted

    def _check_limits(
        self,
        connection: sa.Connection,
        customer: Customer,
        direction: Direction,
        amount_minor: int,
        currency: str,
        balance_before_minor: int | None = None,
    ) -> None:
        """Refuse (LIMIT_EXCEEDED) a movement that would break the customer's limits.

        Runs under the customer's lock on `connection`, and reads through it only.
        """
        if currency != "PKR":
            return  # SBP's limits are rupee limits; foreign-currency wallets are capped elsewhere
        now = self.clock.now_ns()
        limits = self._effective_limits(connection, customer)
        usage = self._usage(connection, customer.id, direction, now)
        balance_after = None
        if direction is Direction.CREDIT and balance_before_minor is not None:
            table = store.movements_table
            arriving = connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(table.c.amount_minor), 0)).where(
                    (table.c.customer_id == customer.id)
                    & (table.c.direction == Direction.CREDIT.value)
                    & (table.c.currency == "PKR")
                    & (table.c.status == MovementStatus.PENDING.value)
                )
            ).scalar_one()
            balance_after = balance_before_minor + int(arriving) + amount_minor
        breach = first_breach(limits, direction, amount_minor, usage, now, balance_after)
        if breach is not None:
            raise limit_error(breach)

    # ================================================================== customers
    def onboard_individual(
        self,
        *,
        name: str,
        cnic: str,
        mobile: str,
        tier: str = "level0",
        link_raast_id: bool = True,
    ) -> Customer:
        identity = Cnic.parse(cnic)
        return self._onboard(
            CustomerKind.INDIVIDUAL,
            name=name,
            mobile=mobile,
            cnic=identity.digits,
            ntn=None,
            address=None,
            owners=(),
            tier=tier,
            alias_cnic=identity.digits if link_raast_id else None,
        )

    def onboard_business(
        self,
        *,
        name: str,
        ntn: str,
        mobile: str,
        address: str,
        owners: Sequence[str],
        owner_cnic: str | None = None,
        tier: str = "business",
    ) -> Customer:
        """A business; its Raast ID is linked under the principal owner's CNIC when given."""
        if not owners or len(owners) > OWNERS_MAX or not all(o.strip() for o in owners):
            raise _customer_invalid(f"a business names 1 to {OWNERS_MAX} owners")
        if not address.strip() or len(address) > 400:
            raise _customer_invalid("a business needs an address (at most 400 characters)")
        alias_cnic = Cnic.parse(owner_cnic).digits if owner_cnic else None
        return self._onboard(
            CustomerKind.BUSINESS,
            name=name,
            mobile=mobile,
            cnic=None,
            ntn=Ntn.parse(ntn).digits,
            address=address.strip(),
            owners=tuple(o.strip()[:NAME_LENGTH_MAX] for o in owners),
            tier=tier,
            alias_cnic=alias_cnic,
        )

    def _onboard(
        self,
        kind: CustomerKind,
        *,
        name: str,
        mobile: str,
        cnic: str | None,
        ntn: str | None,
        address: str | None,
        owners: tuple[str, ...],
        tier: str,
        alias_cnic: str | None,
    ) -> Customer:
        self.ensure_ready()
        name = " ".join(name.split())
        if not 0 < len(name) <= NAME_LENGTH_MAX:
            raise _customer_invalid("a name is 1 to 140 characters")
        number = MobileNumber.parse(mobile)
        self.tier(tier)  # must exist
        customer_id = uuid.uuid4()
        if self.screening is not None:
            result = self.screening.screen(name, subject="customer", reference=str(customer_id))
            if result.outcome != "clear":
                raise _screening_hit(name, result.outcome)
        now = self.clock.now_ns()
        account_id = uuid.uuid4()
        iban = self._new_iban(account_id)
        ledger_id = self.institution.ledger_id("PKR")
        customer = Customer(
            customer_id,
            kind,
            name,
            number.e164,
            cnic,
            ntn,
            address,
            owners,
            tier,
            CustomerStatus.ACTIVE,
            now,
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    store.customers_table.insert().values(
                        id=customer_id,
                        kind=kind.value,
                        name=name,
                        mobile=number.e164,
                        cnic=cnic,
                        ntn=ntn,
                        address=address,
                        owners=json.dumps(list(owners)),
                        tier=tier,
                        status=CustomerStatus.ACTIVE.value,
                        created_at=now,
                    )
                )
                connection.execute(
                    store.accounts_table.insert().values(
                        id=account_id,
                        customer_id=customer_id,
                        currency="PKR",
                        ledger=ledger_id,
                        iban=iban,
                        created_at=now,
                    )
                )
        except sa.exc.IntegrityError as error:
            raise DomainError(
                WalletError.CUSTOMER_EXISTS,
                "a customer with this mobile number, CNIC or NTN exists already",
                status=409,
            ) from error
        self._open_ledger_account(account_id, customer_id, "PKR")
        if alias_cnic is not None:
            self.switch.link_alias(self.institution.code, number.e164, iban, alias_cnic, name)
        return customer

    def _new_iban(self, account_id: uuid.UUID) -> str:
        digits = str(account_id.int % 10**16).zfill(16)
        return make_pk_iban(self.institution.bank_code, digits).compact

    def _open_ledger_account(
        self, account_id: uuid.UUID, customer_id: uuid.UUID, currency: str
    ) -> None:
        results = self.ledger.create_accounts(
            [
                Account(
                    account_id,
                    self.institution.ledger_id(currency),
                    ACCOUNT_CODE_CUSTOMER,
                    # A wallet never goes below zero: the ledger refuses the transfer.
                    flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                    owner_id=customer_id,
                )
            ]
        )
        assert all(r.value in ("ok", "exists") for r in results), results

    def customer(self, customer_id: uuid.UUID) -> Customer:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.customers_table).where(store.customers_table.c.id == customer_id)
            ).first()
        if row is None:
            raise DomainError(
                WalletError.CUSTOMER_NOT_FOUND, f"no customer {customer_id}", status=404
            )
        return _customer(row)

    def customer_by_mobile(self, mobile: str) -> Customer:
        number = MobileNumber.parse(mobile)
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.customers_table).where(
                    store.customers_table.c.mobile == number.e164
                )
            ).first()
        if row is None:
            raise DomainError(
                WalletError.CUSTOMER_NOT_FOUND, f"no customer with {number.e164}", status=404
            )
        return _customer(row)

    def customers(self, limit: int = 50, offset: int = 0) -> list[Customer]:
        limit = max(1, min(limit, PAGE_SIZE_MAX))
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(store.customers_table)
                .order_by(store.customers_table.c.created_at, store.customers_table.c.id)
                .limit(limit)
                .offset(max(offset, 0))
            ).all()
        return [_customer(row) for row in rows]

    def set_status(self, customer_id: uuid.UUID, status: CustomerStatus) -> Customer:
        self.customer(customer_id)
        with self.engine.begin() as connection:
            connection.execute(
                store.customers_table.update()
                .where(store.customers_table.c.id == customer_id)
                .values(status=status.value)
            )
        return self.customer(customer_id)

    def upgrade_tier(
        self, customer_id: uuid.UUID, to_tier: str, evidence: Mapping[str, str]
    ) -> Customer:
        """Move a customer to a higher tier once the verification provider confirms them."""
        customer = self.customer(customer_id)
        self.tier(to_tier)
        if to_tier == customer.tier:
            return customer
        failure = self.verifier.verify(customer, to_tier, evidence)
        with self.engine.begin() as connection:
            connection.execute(
                store.verifications_table.insert().values(
                    id=uuid.uuid4(),
                    customer_id=customer_id,
                    provider=self.verifier.name,
                    from_tier=customer.tier,
                    to_tier=to_tier,
                    outcome="failed" if failure else "verified",
                    detail=(failure or "verified")[:400],
                    created_at=self.clock.now_ns(),
                )
            )
            if failure is None:
                connection.execute(
                    store.customers_table.update()
                    .where(store.customers_table.c.id == customer_id)
                    .values(tier=to_tier)
                )
        if failure is not None:
            raise DomainError(
                WalletError.VERIFICATION_FAILED,
                f"verification failed: {failure}",
                status=422,
                fields={"provider": self.verifier.name},
            )
        return self.customer(customer_id)

    # ================================================================== accounts
    def account(self, customer_id: uuid.UUID, currency: str = "PKR") -> Any:
        """The customer's wallet in `currency`; foreign-currency wallets open on first use."""
        currency = currency.upper()
        if currency not in SUPPORTED_CURRENCIES:
            raise DomainError(
                WalletError.CURRENCY_NOT_SUPPORTED,
                f"wallets hold {', '.join(SUPPORTED_CURRENCIES)}",
                status=422,
                fields={"currency": currency},
            )
        found = self._account_row(customer_id, currency)
        if found is not None:
            return found
        self.customer(customer_id)
        self.ensure_ready()
        account_id = uuid.uuid4()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    store.accounts_table.insert().values(
                        id=account_id,
                        customer_id=customer_id,
                        currency=currency,
                        ledger=self.institution.ledger_id(currency),
                        iban=None,
                        created_at=self.clock.now_ns(),
                    )
                )
        except sa.exc.IntegrityError:
            pass  # opened concurrently: use that one
        found = self._account_row(customer_id, currency)
        assert found is not None
        self._open_ledger_account(found.id, customer_id, currency)
        return found

    def account_id(self, customer_id: uuid.UUID, currency: str) -> uuid.UUID:
        return uuid.UUID(str(self.account(customer_id, currency).id))

    def accounts(self, customer_id: uuid.UUID) -> list[Any]:
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(store.accounts_table)
                    .where(store.accounts_table.c.customer_id == customer_id)
                    .order_by(store.accounts_table.c.currency)
                ).all()
            )

    def _account_row(self, customer_id: uuid.UUID, currency: str) -> Any | None:
        table = store.accounts_table
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(table).where(
                    (table.c.customer_id == customer_id) & (table.c.currency == currency)
                )
            ).first()

    def _account_by_iban(self, iban: str) -> Any | None:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(store.accounts_table).where(store.accounts_table.c.iban == iban)
            ).first()

    def balance(self, customer_id: uuid.UUID, currency: str = "PKR") -> Money:
        """What the customer may spend: posted balance less reservations."""
        row = self._account_row(customer_id, currency.upper())
        if row is None:
            return Money(0, currency.upper())
        return Money(self.ledger.get_account(row.id).balance.available_credit, currency.upper())

    # ================================================================== request keys
    def _claim(
        self,
        connection: sa.Connection,
        customer_id: uuid.UUID,
        request_key: str,
        operation: str,
        fingerprint: Mapping[str, object],
    ) -> uuid.UUID | None:
        """Record the request key; None if new, else the group id of the first request."""
        if not 0 < len(request_key) <= REQUEST_KEY_LENGTH_MAX or not request_key.isprintable():
            raise DomainError(
                WalletError.REQUEST_KEY_INVALID,
                f"a request key is 1 to {REQUEST_KEY_LENGTH_MAX} printable characters",
                status=422,
            )
        digest = hashlib.sha256(
            json.dumps({"op": operation, **fingerprint}, sort_keys=True, default=str).encode()
        ).hexdigest()
        table = store.requests_table
        found = connection.execute(
            sa.select(table).where(
                (table.c.customer_id == customer_id) & (table.c.request_key == request_key)
            )
        ).first()
        if found is not None:
            if found.fingerprint != digest:
                raise DomainError(
                    WalletError.REQUEST_KEY_REUSED,
                    "this request key was used for a different request",
                    status=409,
                    fields={"request_key": request_key},
                )
            group: uuid.UUID = found.group_id
            return group
        connection.execute(
            table.insert().values(
                customer_id=customer_id,
                request_key=request_key,
                operation=operation,
                fingerprint=digest,
                group_id=uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}"),
                created_at=self.clock.now_ns(),
            )
        )
        return None

    def _replay(self, group_id: uuid.UUID) -> PaymentOutcome:
        movements = self.group(group_id)
        if not movements:
            raise DomainError(
                WalletError.MOVEMENT_NOT_FOUND, f"no movements for {group_id}", status=404
            )
        return _outcome(group_id, movements, replayed=True)

    def _lock_customer(self, connection: sa.Connection, customer_id: uuid.UUID) -> Customer:
        """The customer row, locked until commit: limit checks on one customer serialise."""
        query = sa.select(store.customers_table).where(store.customers_table.c.id == customer_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).first()
        if row is None:
            raise DomainError(
                WalletError.CUSTOMER_NOT_FOUND, f"no customer {customer_id}", status=404
            )
        customer = _customer(row)
        if customer.status is not CustomerStatus.ACTIVE:
            raise DomainError(
                WalletError.CUSTOMER_BLOCKED, f"customer {customer_id} is blocked", status=403
            )
        return customer

    # ================================================================== movements
    def _insert_movements(self, connection: sa.Connection, movements: Sequence[Movement]) -> None:
        if movements:
            connection.execute(
                store.movements_table.insert(), [_movement_values(m) for m in movements]
            )

    def _finish(
        self,
        ids: Sequence[uuid.UUID],
        status: MovementStatus,
        reason: str | None = None,
        payment_id: uuid.UUID | None = None,
    ) -> int:
        """Complete or fail pending movements (the first decision stands)."""
        if not ids:
            return 0
        table = store.movements_table
        values: dict[str, Any] = {
            "status": status.value,
            "completed_at": self.clock.now_ns(),
        }
        if reason is not None:
            values["reason"] = reason[:40]
        if payment_id is not None:
            values["payment_id"] = payment_id
        with self.engine.begin() as connection:
            result = connection.execute(
                table.update()
                .where(table.c.id.in_(list(ids)) & (table.c.status == MovementStatus.PENDING.value))
                .values(**values)
            )
        return int(result.rowcount)

    def group(self, group_id: uuid.UUID) -> list[Movement]:
        table = store.movements_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table)
                .where(table.c.group_id == group_id)
                .order_by(table.c.created_at, table.c.id)
            ).all()
        return [_movement(row) for row in rows]

    def movement(self, customer_id: uuid.UUID, movement_id: uuid.UUID) -> Movement:
        table = store.movements_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.id == movement_id) & (table.c.customer_id == customer_id)
                )
            ).first()
        if row is None:
            raise DomainError(
                WalletError.MOVEMENT_NOT_FOUND, f"no movement {movement_id}", status=404
            )
        return _movement(row)

    def history(
        self,
        customer_id: uuid.UUID,
        *,
        search: str | None = None,
        kind: MovementKind | None = None,
        status: MovementStatus | None = None,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
        before: tuple[int, uuid.UUID] | None = None,
    ) -> list[Movement]:
        """Newest first; page with `before` = (created_at, id) of the last line seen."""
        table = store.movements_table
        query = sa.select(table).where(table.c.customer_id == customer_id)
        if search:
            pattern = f"%{search.strip().lower()[:80]}%"
            query = query.where(
                sa.func.lower(sa.func.coalesce(table.c.counterparty, "")).like(pattern)
                | sa.func.lower(sa.func.coalesce(table.c.reference, "")).like(pattern)
            )
        if kind is not None:
            query = query.where(table.c.kind == kind.value)
        if status is not None:
            query = query.where(table.c.status == status.value)
        if from_ns is not None:
            query = query.where(table.c.created_at >= from_ns)
        if to_ns is not None:
            query = query.where(table.c.created_at < to_ns)
        if before is not None:
            at, last_id = before
            query = query.where(
                (table.c.created_at < at) | ((table.c.created_at == at) & (table.c.id < last_id))
            )
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
            max(1, min(limit, PAGE_SIZE_MAX))
        )
        with self.engine.connect() as connection:
            return [_movement(row) for row in connection.execute(query).all()]

    # ================================================================== fees
    def fee_rules(self) -> dict[MovementKind, FeeRule]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(store.fee_rules_table)).all()
        return {
            MovementKind(row.kind): FeeRule(
                MovementKind(row.kind),
                row.fixed_minor,
                row.basis_points,
                row.maximum_minor,
                Direction(row.payer),
            )
            for row in rows
        }

    def set_fee_rule(self, rule: FeeRule) -> FeeRule:
        if rule.fixed_minor < 0 or not 0 <= rule.basis_points <= 10_000:
            raise DomainError(
                WalletError.AMOUNT_INVALID,
                "a fee is a fixed amount >= 0 plus 0 to 10,000 basis points",
                status=422,
            )
        table = store.fee_rules_table
        with self.engine.begin() as connection:
            connection.execute(table.delete().where(table.c.kind == rule.kind.value))
            connection.execute(
                table.insert().values(
                    kind=rule.kind.value,
                    fixed_minor=rule.fixed_minor,
                    basis_points=rule.basis_points,
                    maximum_minor=rule.maximum_minor,
                    payer=rule.payer.value,
                    updated_at=self.clock.now_ns(),
                )
            )
        return rule

    def _fee(self, kind: MovementKind, amount_minor: int) -> int:
        rule = self.fee_rules().get(kind)
        return 0 if rule is None else rule.fee_for(amount_minor)

    # ================================================================== cash in and out
    def deposit(
        self, customer_id: uuid.UUID, amount_minor: int, request_key: str, *, agent: str = "agent"
    ) -> PaymentOutcome:
        """Cash in at an agent: the agent's cash becomes wallet money (credit limits apply)."""
        return self._book(
            customer_id,
            Direction.CREDIT,
            MovementKind.DEPOSIT,
            amount_minor,
            request_key,
            counterpart=self._own("agent-cash", "PKR"),
            counterparty=agent,
            code=TRANSFER_CODE_DEPOSIT,
        )

    def withdraw(
        self, customer_id: uuid.UUID, amount_minor: int, request_key: str, *, agent: str = "agent"
    ) -> PaymentOutcome:
        """Cash out at an agent (debit limits and funds apply)."""
        return self._book(
            customer_id,
            Direction.DEBIT,
            MovementKind.WITHDRAWAL,
            amount_minor,
            request_key,
            counterpart=self._own("agent-cash", "PKR"),
            counterparty=agent,
            code=TRANSFER_CODE_WITHDRAWAL,
        )

    def receive_foreign(
        self,
        customer_id: uuid.UUID,
        amount_minor: int,
        currency: str,
        request_key: str,
        *,
        remitter: str,
    ) -> PaymentOutcome:
        """Foreign-currency proceeds credited to the customer's wallet in that currency."""
        if currency.upper() == "PKR":
            raise DomainError(
                WalletError.CURRENCY_NOT_SUPPORTED,
                "foreign proceeds are in a foreign currency",
                status=422,
            )
        return self._book(
            customer_id,
            Direction.CREDIT,
            MovementKind.PROCEEDS,
            amount_minor,
            request_key,
            counterpart=self._own("foreign-nostro", currency.upper()),
            counterparty=remitter,
            code=TRANSFER_CODE_FOREIGN_RECEIPT,
            currency=currency.upper(),
        )

    def _book(
        self,
        customer_id: uuid.UUID,
        direction: Direction,
        kind: MovementKind,
        amount_minor: int,
        request_key: str,
        *,
        counterpart: uuid.UUID,
        counterparty: str,
        code: int,
        currency: str = "PKR",
    ) -> PaymentOutcome:
        """A single posted transfer between the customer and one of the book's accounts."""
        self.ensure_ready()
        _check_amount(amount_minor)
        account = self.account(customer_id, currency)
        group_id = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
        movement = Movement(
            uuid.uuid5(NAMESPACE, f"{group_id}:main"),
            customer_id,
            account.id,
            direction,
            kind,
            amount_minor,
            currency,
            MovementStatus.PENDING,
            counterparty[:NAME_LENGTH_MAX],
            None,
            None,
            None,
            None,
            group_id,
            self.clock.now_ns(),
            None,
        )
        balance_before = (
            self._balance_for_cap(customer_id) if direction is Direction.CREDIT else None
        )
        with self.engine.begin() as connection:
            replay = self._claim(
                connection,
                customer_id,
                request_key,
                kind.value,
                {"amount": amount_minor, "currency": currency, "counterparty": counterparty},
            )
            if replay is None:
                customer = self._lock_customer(connection, customer_id)
                self._check_limits(
                    connection, customer, direction, amount_minor, currency, balance_before
                )
                self._insert_movements(connection, [movement])
        if replay is not None:
            return self._replay(replay)
        debit, credit = (
            (account.id, counterpart) if direction is Direction.DEBIT else (counterpart, account.id)
        )
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    movement.id,
                    debit,
                    credit,
                    amount_minor,
                    ledger=self.institution.ledger_id(currency),
                    code=code,
                )
            ]
        )
        return self._after_ledger(group_id, [movement.id], result)

    def _after_ledger(
        self, group_id: uuid.UUID, ids: Sequence[uuid.UUID], result: CreateTransferResult
    ) -> PaymentOutcome:
        if result in (R.OK, R.EXISTS):
            self._finish(ids, MovementStatus.COMPLETED)
            return _outcome(group_id, self.group(group_id))
        reason = (
            WalletError.INSUFFICIENT_FUNDS.value if result is R.EXCEEDS_CREDITS else result.value
        )
        self._finish(ids, MovementStatus.FAILED, reason)
        if result is R.EXCEEDS_CREDITS:
            raise DomainError(
                WalletError.INSUFFICIENT_FUNDS,
                "the wallet's balance does not cover this payment",
                status=409,
                fields={"group_id": str(group_id)},
            )
        raise DomainError(
            WalletError.PAYMENT_REJECTED,
            f"the ledger refused the transfer: {result.value}",
            status=409,
            fields={"result": result.value},
        )

    # ================================================================== paying
    def resolve(self, customer_id: uuid.UUID, to: str) -> Destination:
        """A Raast ID (mobile number) or an IBAN: ours, or another institution's."""
        self.ensure_ready()
        text = to.strip()
        if text.upper().startswith("PK"):
            iban = Iban.parse(text)
            if iban.bank_code == self.institution.bank_code:
                row = self._account_by_iban(iban.compact)
                if row is None:
                    raise _destination_invalid(f"no wallet {iban.compact}", "AC01")
                if row.customer_id == customer_id:
                    raise DomainError(
                        WalletError.SAME_ACCOUNT, "this is the payer's own wallet", status=422
                    )
                return Destination(row, None, iban.compact, self._title(row.customer_id))
            self.switch.participant_by_bank_code(iban.bank_code)
            return Destination(None, None, iban.compact, iban.formatted)
        number = MobileNumber.parse(text)
        lookup = self.switch.lookup_alias(self.institution.code, number.e164)
        if lookup.participant_code == self.institution.code and lookup.iban is not None:
            row = self._account_by_iban(lookup.iban)
            if row is not None:
                if row.customer_id == customer_id:
                    raise DomainError(
                        WalletError.SAME_ACCOUNT, "this is the payer's own wallet", status=422
                    )
                return Destination(row, number.e164, None, lookup.masked_title)
        return Destination(
            None, number.e164, None, f"{lookup.masked_title} ({lookup.participant_name})"
        )

    def _title(self, customer_id: uuid.UUID) -> str:
        return mask_name(self.customer(customer_id).name)

    def pay(
        self,
        customer_id: uuid.UUID,
        *,
        to: str,
        amount_minor: int,
        request_key: str,
        payee_name: str | None = None,
        note: str | None = None,
        kind: MovementKind = MovementKind.INTERNAL,
    ) -> PaymentOutcome:
        """Pay a Raast ID or an IBAN: at once inside the institution, else over the hub.

        Over the hub the answer comes when the hub confirms (ACSC) or rejects (RJCT); if the
        payee's institution has not answered yet, the outcome is pending and the hub's
        status report settles it later.
        """
        _check_amount(amount_minor)
        if note is not None and len(note) > NOTE_LENGTH_MAX:
            raise DomainError(
                WalletError.AMOUNT_INVALID, "a note is at most 140 characters", status=422
            )
        with self.engine.connect() as connection:
            done = self._existing_request(connection, customer_id, request_key)
        if done is not None:
            return self._replay_checked(customer_id, request_key, done, to, amount_minor, note)
        destination = self.resolve(customer_id, to)
        if destination.internal_account is not None:
            return self._pay_internal(
                customer_id, destination, amount_minor, request_key, to, note, kind
            )
        if destination.iban is not None:
            if payee_name is None:
                raise DomainError(
                    WalletError.DESTINATION_INVALID,
                    "paying an IBAN needs the payee's name (the account title)",
                    status=422,
                )
            # The payer named the payee themselves: show that, with the account.
            destination = replace(destination, display=f"{payee_name} · {destination.display}")
        return self._pay_out(
            customer_id,
            destination,
            amount_minor,
            request_key,
            to,
            payee_name or destination.display,
            note,
            MovementKind.RAAST_OUT if kind is MovementKind.INTERNAL else kind,
            purpose=None,
        )

    def _existing_request(
        self, connection: sa.Connection, customer_id: uuid.UUID, request_key: str
    ) -> Any | None:
        table = store.requests_table
        return connection.execute(
            sa.select(table).where(
                (table.c.customer_id == customer_id) & (table.c.request_key == request_key)
            )
        ).first()

    def _replay_checked(
        self,
        customer_id: uuid.UUID,
        request_key: str,
        done: Any,
        to: str,
        amount_minor: int,
        note: str | None,
    ) -> PaymentOutcome:
        """A retried payment: the same content answers the first outcome; other content 409."""
        with self.engine.begin() as connection:
            group = self._claim(
                connection,
                customer_id,
                request_key,
                done.operation,
                _payment_fingerprint(to, amount_minor, note),
            )
        assert group is not None
        return self._replay(group)

    def _pay_internal(
        self,
        customer_id: uuid.UUID,
        destination: Destination,
        amount_minor: int,
        request_key: str,
        to: str,
        note: str | None,
        kind: MovementKind,
    ) -> PaymentOutcome:
        payee_account = destination.internal_account
        assert payee_account is not None
        payer_account = self.account(customer_id, "PKR")
        payee = self.customer(payee_account.customer_id)
        payer = self.customer(customer_id)
        self._screen(payee.name, "payee", str(payee.id))
        group_id = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
        fee = self._fee(kind, amount_minor) if kind is MovementKind.MERCHANT else 0
        payee_balance = self._balance_for_cap(payee.id)
        now = self.clock.now_ns()
        debit = Movement(
            uuid.uuid5(NAMESPACE, f"{group_id}:main"),
            customer_id,
            payer_account.id,
            Direction.DEBIT,
            kind,
            amount_minor,
            "PKR",
            MovementStatus.PENDING,
            destination.display,
            note,
            None,
            None,
            None,
            group_id,
            now,
            None,
        )
        credit = replace(
            debit,
            id=uuid.uuid5(NAMESPACE, f"{group_id}:credit"),
            customer_id=payee.id,
            account_id=payee_account.id,
            direction=Direction.CREDIT,
            counterparty=payer.name,
            fee_minor=fee,
        )
        movements = [debit, credit]
        if fee:
            movements.append(
                replace(
                    credit,
                    id=uuid.uuid5(NAMESPACE, f"{group_id}:fee"),
                    direction=Direction.DEBIT,
                    kind=MovementKind.FEE,
                    amount_minor=fee,
                    counterparty=self.institution.name,
                    fee_minor=0,
                )
            )
        with self.engine.begin() as connection:
            replay = self._claim(
                connection,
                customer_id,
                request_key,
                kind.value,
                _payment_fingerprint(to, amount_minor, note),
            )
            if replay is None:
                # Both rows, in one order (by id): A paying B while B pays A cannot deadlock.
                first, second = sorted((customer_id, payee.id))
                lockers = {first: self._lock_customer(connection, first)}
                lockers[second] = self._lock_customer(connection, second)
                locked, receiver = lockers[customer_id], lockers[payee.id]
                self._check_limits(connection, locked, Direction.DEBIT, amount_minor, "PKR")
                try:
                    self._check_limits(
                        connection, receiver, Direction.CREDIT, amount_minor, "PKR", payee_balance
                    )
                except DomainError as error:
                    # The payer learns that the payee cannot receive it, not the payee's
                    # limits and headroom (what a stranger's bank would answer: AM02).
                    raise DomainError(
                        WalletError.PAYEE_CANNOT_RECEIVE,
                        "the payee's wallet cannot receive this amount now",
                        status=422,
                        fields={"reason": "AM02"},
                    ) from error
                self._insert_movements(connection, movements)
        if replay is not None:
            return self._replay(replay)
        ledger_id = self.institution.ledger_id("PKR")
        transfers = [
            Transfer(
                debit.id,
                payer_account.id,
                payee_account.id,
                amount_minor,
                ledger=ledger_id,
                code=TRANSFER_CODE_INTERNAL,
                flags=TransferFlags.LINKED if fee else 0,
            )
        ]
        if fee:
            transfers.append(
                Transfer(
                    movements[2].id,
                    payee_account.id,
                    self._own("fee-income", "PKR"),
                    fee,
                    ledger=ledger_id,
                    code=TRANSFER_CODE_FEE,
                )
            )
        results = self.ledger.create_transfers(transfers)
        failed = next((r for r in results if r not in (R.OK, R.EXISTS)), R.OK)
        if failed is R.LINKED_EVENT_FAILED:
            failed = next(r for r in results if r not in (R.OK, R.LINKED_EVENT_FAILED))
        outcome = self._after_ledger(group_id, [m.id for m in movements], failed)
        self._observe(customer_id, Direction.DEBIT, amount_minor, str(group_id))
        return outcome

    def _pay_out(
        self,
        customer_id: uuid.UUID,
        destination: Destination,
        amount_minor: int,
        request_key: str,
        to: str,
        payee_name: str,
        note: str | None,
        kind: MovementKind,
        *,
        purpose: str | None,
        submit: Callable[[CreditTransfer], Payment] | None = None,
    ) -> PaymentOutcome:
        """Reserve the customer's funds, send a pacs.008 through the hub, settle on its answer."""
        account = self.account(customer_id, "PKR")
        payer = self.customer(customer_id)
        self._screen(payee_name, "payee", to)
        group_id = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
        movement_id = uuid.uuid5(NAMESPACE, f"{group_id}:main")
        end_to_end_id = files.new_end_to_end_id(movement_id)
        movement = Movement(
            movement_id,
            customer_id,
            account.id,
            Direction.DEBIT,
            kind,
            amount_minor,
            "PKR",
            MovementStatus.PENDING,
            destination.display[:NAME_LENGTH_MAX],
            note,
            None,
            None,
            end_to_end_id,
            group_id,
            self.clock.now_ns(),
            None,
        )
        with self.engine.begin() as connection:
            replay = self._claim(
                connection,
                customer_id,
                request_key,
                kind.value,
                _payment_fingerprint(to, amount_minor, note),
            )
            if replay is None:
                locked = self._lock_customer(connection, customer_id)
                self._check_limits(connection, locked, Direction.DEBIT, amount_minor, "PKR")
                self._insert_movements(connection, [movement])
        if replay is not None:
            return self._replay(replay)
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    movement_id,
                    account.id,
                    self.hub_mirror_id,
                    amount_minor,
                    ledger=self.institution.ledger_id("PKR"),
                    code=TRANSFER_CODE_OUTGOING,
                    flags=TransferFlags.PENDING,
                )
            ]
        )
        if result not in (R.OK, R.EXISTS):
            return self._after_ledger(group_id, [movement_id], result)
        request = CreditTransfer(
            msg_id=f"M{movement_id.hex[:34]}",
            end_to_end_id=end_to_end_id,
            tx_id=end_to_end_id,
            uetr=uuid.uuid4(),
            amount_minor=amount_minor,
            currency="PKR",
            debtor_name=payer.name,
            debtor_iban=account.iban,
            creditor_alias=destination.raast_id,
            creditor_iban=destination.iban if destination.raast_id is None else None,
            creditor_name=payee_name[:NAME_LENGTH_MAX],
            remittance_information=note,
            purpose=purpose,
        )
        try:
            payment = (submit or self._submit)(request)
        except DomainError as error:  # the hub refused outright: release the reservation
            self._void_outgoing(movement_id, error.code)
            raise
        self._settle_outgoing(payment)
        self._observe(customer_id, Direction.DEBIT, amount_minor, str(group_id))
        return _outcome(group_id, self.group(group_id))

    def _submit(self, request: CreditTransfer) -> Payment:
        """Send the payment to the hub as a participant does: a pacs.008 through the hub's
        ISO 20022 gateway, which archives it and its pacs.002 answer for the regulator."""
        if self.gateway is None:
            return self.payments.submit(self.institution.code, request)
        participant = self.switch.participant(self.institution.code)
        created = files.utc(self.clock.now_ns())
        self.gateway.receive(participant, _pacs008(self.institution.code, request, created))
        return self.payments.status(self.institution.code, request.end_to_end_id)

    def _screen(self, name: str, subject: str, reference: str) -> None:
        if self.screening is None:
            return
        result = self.screening.screen(name, subject=subject, reference=reference)
        if result.outcome != "clear":
            raise _screening_hit(name, result.outcome)

    def _observe(
        self, customer_id: uuid.UUID, direction: Direction, amount_minor: int, reference: str
    ) -> None:
        if self.monitoring is None:
            return
        try:
            customer = self.customer(customer_id)
            per_transaction = self._effective_limits_now(customer).get(
                LimitKind.of(direction, Period.TRANSACTION)
            )
            self.monitoring.observe(
                customer_id,
                direction.value,
                amount_minor,
                "PKR",
                per_transaction_limit_minor=per_transaction,
                reference=reference,
            )
        except Exception:  # monitoring alerts; it must never undo a payment that happened
            log.exception("monitoring failed", customer=str(customer_id))

    def _effective_limits_now(self, customer: Customer) -> dict[LimitKind, int | None]:
        with self.engine.connect() as connection:
            return self._effective_limits(connection, customer)

    # ------------------------------------------------------------------ hub answers
    def _settle_outgoing(self, payment: Payment) -> None:
        """Post or void the reservation behind our customer's payment, once (idempotent)."""
        movement = self._outgoing_movement(payment)
        if movement is None or movement.status is not MovementStatus.PENDING:
            return
        if payment.status is PaymentStatus.SETTLED:
            (result,) = self.ledger.create_transfers(
                [
                    Transfer(
                        uuid.uuid5(NAMESPACE, f"post:{movement.id}"),
                        pending_id=movement.id,
                        flags=TransferFlags.POST_PENDING_TRANSFER,
                    )
                ]
            )
            assert result in (R.OK, R.EXISTS), result
            self._finish([movement.id], MovementStatus.COMPLETED, payment_id=payment.id)
        elif payment.status is PaymentStatus.REJECTED:
            reason = payment.reason.value if payment.reason else ReasonCode.BE01.value
            self._void_outgoing(movement.id, reason, payment.id)
        else:
            self._record_payment(movement.id, payment.id)

    def _void_outgoing(
        self, movement_id: uuid.UUID, reason: str, payment_id: uuid.UUID | None = None
    ) -> None:
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(NAMESPACE, f"void:{movement_id}"),
                    pending_id=movement_id,
                    flags=TransferFlags.VOID_PENDING_TRANSFER,
                )
            ]
        )
        assert result in (R.OK, R.EXISTS, R.PENDING_TRANSFER_NOT_FOUND), result
        self._finish([movement_id], MovementStatus.FAILED, reason, payment_id)

    def _record_payment(self, movement_id: uuid.UUID, payment_id: uuid.UUID) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                store.movements_table.update()
                .where(store.movements_table.c.id == movement_id)
                .values(payment_id=payment_id)
            )

    def _outgoing_movement(self, payment: Payment) -> Movement | None:
        """Our debit behind a payment: by the payment id once known, else by our e2e id."""
        table = store.movements_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.payment_id == payment.id)
                    & (table.c.direction == Direction.DEBIT.value)
                )
            ).first()
        if row is not None:
            return _movement(row)
        return self._movement_by_end_to_end(payment.request.end_to_end_id)

    def _movement_by_end_to_end(self, end_to_end_id: str) -> Movement | None:
        if not end_to_end_id.startswith("TJW"):
            return None
        table = store.movements_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.end_to_end_id == end_to_end_id)
                    & (table.c.direction == Direction.DEBIT.value)
                )
            ).first()
        return None if row is None else _movement(row)

    def _on_status(self, payment: Payment) -> None:
        """The hub's status report (pacs.002 / pacs.004) for a payment we sent or received."""
        self.ensure_ready()
        participant = self.switch.participant(self.institution.code)
        if payment.payer_id == participant.id:
            self._settle_outgoing(payment)
            if payment.returned_minor:
                self._credit_returns(payment)
        if payment.payee_id == participant.id:
            self._settle_incoming(payment)

    def _on_credit_advice(self, payment: Payment) -> PayeeDecision:
        """A pacs.008 for one of our customers: check, hold the credit, accept or reject.

        The credit is a pending transfer until the hub confirms settlement, so the customer
        never spends money the hub has not settled; the confirmation posts it at once.
        """
        self.ensure_ready()
        existing = self._incoming_movement(payment.id)
        if existing is not None:
            return PayeeDecision(existing.status is not MovementStatus.FAILED)
        row = self._account_by_iban(payment.creditor_iban or "")
        if row is None:
            return PayeeDecision(accept=False, reason=ReasonCode.AC01)
        request = payment.request
        if self.screening is not None:
            screened = self.screening.screen(
                request.debtor_name, subject="payer", reference=str(payment.id)
            )
            if screened.outcome == "block":
                return PayeeDecision(accept=False, reason=ReasonCode.RR04)
        movement_id = uuid.uuid5(NAMESPACE, f"in:{payment.id}")
        kind = (
            MovementKind.REQUEST
            if request.end_to_end_id.startswith("RTP")
            else MovementKind.RAAST_IN
        )
        movement = Movement(
            movement_id,
            row.customer_id,
            row.id,
            Direction.CREDIT,
            kind,
            request.amount_minor,
            "PKR",
            MovementStatus.PENDING,
            request.debtor_name[:NAME_LENGTH_MAX],
            request.remittance_information,
            None,
            payment.id,
            request.end_to_end_id[:35],
            movement_id,
            self.clock.now_ns(),
            None,
        )
        balance_before = self._balance_for_cap(row.customer_id)
        try:
            with self.engine.begin() as connection:
                customer = self._lock_customer(connection, row.customer_id)
                self._check_limits(
                    connection,
                    customer,
                    Direction.CREDIT,
                    request.amount_minor,
                    "PKR",
                    balance_before,
                )
                self._insert_movements(connection, [movement])
        except DomainError as error:
            reason = (
                ReasonCode.AC06 if error.code == WalletError.CUSTOMER_BLOCKED else ReasonCode.AM02
            )
            return PayeeDecision(accept=False, reason=reason)
        except sa.exc.IntegrityError:  # the same advice twice, concurrently
            return PayeeDecision(accept=True)
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    movement_id,
                    self.hub_mirror_id,
                    row.id,
                    request.amount_minor,
                    ledger=self.institution.ledger_id("PKR"),
                    code=TRANSFER_CODE_INCOMING,
                    flags=TransferFlags.PENDING,
                    user_data_128=request.uetr,
                )
            ]
        )
        if result not in (R.OK, R.EXISTS):
            self._finish([movement_id], MovementStatus.FAILED, result.value)
            return PayeeDecision(accept=False, reason=ReasonCode.AC06)
        return PayeeDecision(accept=True)

    def _incoming_movement(self, payment_id: uuid.UUID) -> Movement | None:
        table = store.movements_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(table.c.id == uuid.uuid5(NAMESPACE, f"in:{payment_id}"))
            ).first()
        return None if row is None else _movement(row)

    def _settle_incoming(self, payment: Payment) -> None:
        movement = self._incoming_movement(payment.id)
        if movement is None or movement.status is not MovementStatus.PENDING:
            return
        settled = payment.status is PaymentStatus.SETTLED
        if payment.status is PaymentStatus.PENDING:
            return
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(NAMESPACE, f"{'post' if settled else 'void'}:{movement.id}"),
                    pending_id=movement.id,
                    flags=(
                        TransferFlags.POST_PENDING_TRANSFER
                        if settled
                        else TransferFlags.VOID_PENDING_TRANSFER
                    ),
                )
            ]
        )
        assert result in (R.OK, R.EXISTS), result
        if settled:
            self._finish([movement.id], MovementStatus.COMPLETED)
            self._observe(
                movement.customer_id, Direction.CREDIT, movement.amount_minor, str(payment.id)
            )
        else:
            reason = payment.reason.value if payment.reason else None
            self._finish([movement.id], MovementStatus.FAILED, reason)

    def _credit_returns(self, payment: Payment) -> None:
        """Money another institution returned (pacs.004) goes back to our customer."""
        original = self._outgoing_movement(payment)
        if original is None:
            return
        table = store.movements_table
        with self.engine.connect() as connection:
            credited = connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(table.c.amount_minor), 0)).where(
                    (table.c.group_id == original.group_id)
                    & (table.c.kind == MovementKind.RETURN_IN.value)
                )
            ).scalar_one()
        missing = payment.returned_minor - int(credited)
        if missing <= 0:
            return
        movement_id = uuid.uuid5(NAMESPACE, f"return-in:{payment.id}:{payment.returned_minor}")
        movement = replace(
            original,
            id=movement_id,
            direction=Direction.CREDIT,
            kind=MovementKind.RETURN_IN,
            amount_minor=missing,
            status=MovementStatus.PENDING,
            created_at=self.clock.now_ns(),
            completed_at=None,
            payment_id=payment.id,
            end_to_end_id=None,
        )
        try:
            with self.engine.begin() as connection:
                self._insert_movements(connection, [movement])
        except sa.exc.IntegrityError:
            return  # credited by a concurrent report
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    movement_id,
                    self.hub_mirror_id,
                    original.account_id,
                    missing,
                    ledger=self.institution.ledger_id("PKR"),
                    code=TRANSFER_CODE_RETURN,
                )
            ]
        )
        self._after_ledger(original.group_id, [movement_id], result)

    def settle_pending(self) -> int:
        """Finish movements a crash or a slow payee left pending (run by the sweeper)."""
        self.ensure_ready()
        table = store.movements_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table)
                .where(table.c.status == MovementStatus.PENDING.value)
                .order_by(table.c.created_at)
                .limit(SETTLE_BATCH_MAX)
            ).all()
        pending = [_movement(row) for row in rows]
        found = {t.transfer.id for t in self.ledger.lookup_transfers([m.id for m in pending])}
        states = {p.id: p for p in self.ledger.lookup_pending([m.id for m in pending])}
        # Only a movement older than this is an orphan: a younger one may belong to a call
        # still running in some thread or process, about to move its money.
        orphaned_before = self.clock.now_ns() - ORPHAN_AFTER_S * 1_000_000_000
        finished = 0
        for movement in pending:
            orphan = movement.created_at <= orphaned_before
            if movement.id not in found:  # crashed before the ledger: nothing moved
                if orphan:
                    finished += self._finish([movement.id], MovementStatus.FAILED, "not_executed")
                continue
            state = states.get(movement.id)
            if state is None:  # a posted transfer: it happened
                finished += self._finish([movement.id], MovementStatus.COMPLETED)
                continue
            payment = self._payment_for(movement)
            if payment is None:
                if state.status.name == "EXPIRED":
                    finished += self._finish([movement.id], MovementStatus.FAILED, "expired")
                elif orphan and movement.direction is Direction.DEBIT:
                    # Reserved, but the hub never received it (a crash before the pacs.008
                    # left): release the customer's money.
                    self._void_outgoing(movement.id, "not_sent")
                    finished += 1
                continue
            if movement.direction is Direction.DEBIT:
                self._settle_outgoing(payment)
            else:
                self._settle_incoming(payment)
            finished += 1
        return finished

    def _payment_for(self, movement: Movement) -> Payment | None:
        try:
            if movement.payment_id is not None:
                return self.payments.payment(movement.payment_id)
            if movement.end_to_end_id:
                return self.payments.status(self.institution.code, movement.end_to_end_id)
        except DomainError:
            return None
        return None

    # ================================================================== QR, requests, returns
    def pay_qr(
        self,
        customer_id: uuid.UUID,
        payload: str,
        *,
        request_key: str,
        amount_minor: int | None = None,
    ) -> PaymentOutcome:
        """Pay a merchant's EMVCo QR code (static: the customer types the amount)."""
        code = qr.parse(payload, now=files.utc(self.clock.now_ns()))
        if code.amount is not None:
            if amount_minor not in (None, code.amount.amount_minor):
                raise DomainError(
                    qr.QrError.qr_amount_not_allowed,
                    "a dynamic QR code fixes the amount",
                    status=422,
                    fields={"qr_amount_minor": code.amount.amount_minor},
                )
            amount_minor = code.amount.amount_minor
        if amount_minor is None:
            raise DomainError(
                qr.QrError.qr_amount_required, "a static QR code needs the amount", status=422
            )
        kind, value = code.payee
        note = code.reference_label or code.bill_number
        return (
            self.pay(
                customer_id,
                to=value,
                amount_minor=amount_minor,
                request_key=request_key,
                payee_name=code.merchant_name,
                note=note,
                kind=MovementKind.MERCHANT,
            )
            if kind in ("alias", "iban")
            else _never(kind)
        )

    def merchant_qr(
        self,
        customer_id: uuid.UUID,
        *,
        amount_minor: int | None = None,
        bill_number: str | None = None,
        city: str = "Skardu",
    ) -> str:
        """The business's own EMVCo payload for its Raast ID (static, or dynamic with an amount)."""
        customer = self.customer(customer_id)
        return qr.build(
            qr.MerchantQr(
                account=MobileNumber.parse(customer.mobile),
                merchant_name=customer.name[:25],
                merchant_city=city[:15],
                merchant_category_code="5399",
                point_of_initiation="dynamic" if amount_minor else "static",
                amount=Money(amount_minor, "PKR") if amount_minor else None,
                bill_number=bill_number,
            )
        )

    def request_inbox(self, customer_id: uuid.UUID) -> list[PaymentRequest]:
        """Open requests to pay addressed to this customer's Raast ID."""
        self.ensure_ready()
        customer = self.customer(customer_id)
        return [
            r
            for r in self.requests.inbox(self.institution.code)
            if r.debtor_alias == customer.mobile
        ]

    def pay_request(
        self, customer_id: uuid.UUID, request_id: uuid.UUID, *, request_key: str
    ) -> PaymentOutcome:
        """Accept a request to pay: the customer's funds are reserved and the hub pays it."""
        customer = self.customer(customer_id)
        request = self.requests.get(request_id)
        if request.debtor_alias != customer.mobile:
            raise DomainError(
                "switch_request_not_found", f"no request to pay {request_id}", status=404
            )
        account = self.account(customer_id, "PKR")
        destination = Destination(
            None,
            request.creditor_alias,
            request.creditor_iban,
            request.creditor_name[:NAME_LENGTH_MAX],
        )

        def accept(transfer: CreditTransfer) -> Payment:
            answered = self.requests.accept(
                self.institution.code,
                request_id,
                debtor_name=transfer.debtor_name,
                debtor_iban=account.iban,
                msg_id=transfer.msg_id,
                uetr=transfer.uetr,
            )
            if answered.payment_id is None:
                raise DomainError(
                    WalletError.PAYMENT_REJECTED,
                    f"the request could not be paid: {answered.reason}",
                    status=409,
                )
            paid = self.payments.payment(answered.payment_id)
            # The hub names the payment after the request; link it to our movement.
            self._link_payment(transfer.end_to_end_id, paid)
            return paid

        return self._pay_out(
            customer_id,
            destination,
            request.amount_minor,
            request_key,
            str(request_id),
            request.creditor_name,
            request.reference,
            MovementKind.REQUEST,
            purpose=None,
            submit=accept,
        )

    def _link_payment(self, ours: str, payment: Payment) -> None:
        """The hub named the payment after the request: remember it on our movement."""
        with self.engine.begin() as connection:
            connection.execute(
                store.movements_table.update()
                .where(store.movements_table.c.end_to_end_id == ours)
                .values(payment_id=payment.id)
            )

    def request_payment(
        self,
        customer_id: uuid.UUID,
        *,
        debtor: str,
        amount_minor: int,
        reference: str | None = None,
        expires_in_s: int = REQUEST_LIFETIME_S_DEFAULT,
        request_key: str | None = None,
    ) -> PaymentRequest:
        """Ask someone, by Raast ID, to pay this customer (pain.013; "later" by default).

        Paid into the customer's PKR wallet by IBAN: it arrives as any incoming payment.
        With a request key, the same key sends one request (its end-to-end id comes from
        the key) and answers that request again; other content under it is refused.
        """
        _check_amount(amount_minor)
        self.ensure_ready()
        customer = self.customer(customer_id)
        account = self.account(customer_id, "PKR")
        if reference is not None and len(reference) > NOTE_LENGTH_MAX:
            raise DomainError(
                WalletError.REQUEST_INVALID, "a reference is at most 140 characters", status=422
            )
        if MobileNumber.parse(debtor).e164 == customer.mobile:
            raise DomainError(
                WalletError.SAME_ACCOUNT, "a customer cannot request money from itself", status=422
            )
        end_to_end_id = f"RTP{uuid.uuid4().hex[:32]}"
        if request_key is not None:
            fingerprint = {"debtor": MobileNumber.parse(debtor).e164, "amount": amount_minor}
            with self.engine.begin() as connection:
                self._claim(connection, customer_id, request_key, "payment_request", fingerprint)
            group = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
            end_to_end_id = f"RTP{group.hex[:32]}"
            sent = self._request_sent(account.iban, end_to_end_id)
            if sent is not None:
                return sent  # sent before (or by a concurrent retry): once per key
        return self.requests.request(
            self.institution.code,
            debtor_alias=debtor,
            amount_minor=amount_minor,
            creditor_name=customer.name,
            creditor_iban=account.iban,
            reference=reference,
            expires_in_s=expires_in_s,
            end_to_end_id=end_to_end_id,
        )

    def _request_sent(self, iban: str, end_to_end_id: str) -> PaymentRequest | None:
        table = switch_store.requests_table
        with self.engine.connect() as connection:
            found = connection.execute(
                sa.select(table.c.id).where(
                    (table.c.creditor_iban == iban) & (table.c.end_to_end_id == end_to_end_id)
                )
            ).scalar()
        return None if found is None else self.requests.get(found)

    def payment_requests_sent(
        self, customer_id: uuid.UUID, limit: int = 50
    ) -> list[PaymentRequest]:
        """The requests to pay this customer sent, newest first, with what became of them."""
        self.requests.expire_due()
        account = self.account(customer_id, "PKR")
        table = switch_store.requests_table
        with self.engine.connect() as connection:
            ids = connection.execute(
                sa.select(table.c.id)
                .where(table.c.creditor_iban == account.iban)
                .order_by(table.c.created_at.desc())
                .limit(max(1, min(limit, PAGE_SIZE_MAX)))
            ).scalars()
            found = list(ids)
        return [self.requests.get(request_id) for request_id in found]

    def decline_request(self, customer_id: uuid.UUID, request_id: uuid.UUID) -> PaymentRequest:
        customer = self.customer(customer_id)
        if self.requests.get(request_id).debtor_alias != customer.mobile:
            raise DomainError(
                "switch_request_not_found", f"no request to pay {request_id}", status=404
            )
        return self.requests.reject(self.institution.code, request_id, ReasonCode.CUST)

    def refund(
        self,
        customer_id: uuid.UUID,
        movement_id: uuid.UUID,
        amount_minor: int,
        *,
        request_key: str,
    ) -> PaymentOutcome:
        """Send back all or part of a payment the customer received (pacs.004, MD06)."""
        _check_amount(amount_minor)
        received = self.movement(customer_id, movement_id)
        if received.kind not in (MovementKind.RAAST_IN, MovementKind.REQUEST) or (
            received.status is not MovementStatus.COMPLETED or received.payment_id is None
        ):
            raise DomainError(
                WalletError.RETURN_INVALID,
                "only a completed payment received through the hub can be refunded",
                status=409,
            )
        group_id = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
        movement_id_out = uuid.uuid5(NAMESPACE, f"{group_id}:main")
        movement = replace(
            received,
            id=movement_id_out,
            direction=Direction.DEBIT,
            kind=MovementKind.RETURN_OUT,
            amount_minor=amount_minor,
            status=MovementStatus.PENDING,
            group_id=group_id,
            created_at=self.clock.now_ns(),
            completed_at=None,
            end_to_end_id=None,
        )
        with self.engine.begin() as connection:
            replay = self._claim(
                connection,
                customer_id,
                request_key,
                "refund",
                {"movement": str(movement_id), "amount": amount_minor},
            )
            if replay is None:
                self._lock_customer(connection, customer_id)
                self._insert_movements(connection, [movement])
        if replay is not None:
            return self._replay(replay)
        ledger_id = self.institution.ledger_id("PKR")
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    movement_id_out,
                    received.account_id,
                    self.hub_mirror_id,
                    amount_minor,
                    ledger=ledger_id,
                    code=TRANSFER_CODE_RETURN,
                    flags=TransferFlags.PENDING,
                )
            ]
        )
        if result not in (R.OK, R.EXISTS):
            return self._after_ledger(group_id, [movement_id_out], result)
        try:
            self.payments.return_payment(
                self.institution.code,
                received.payment_id,
                amount_minor,
                ReasonCode.MD06,
                uuid.uuid5(NAMESPACE, f"return:{movement_id_out}"),
            )
        except DomainError as error:
            self._void_outgoing(movement_id_out, error.code)
            raise
        (posted,) = self.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(NAMESPACE, f"post:{movement_id_out}"),
                    pending_id=movement_id_out,
                    flags=TransferFlags.POST_PENDING_TRANSFER,
                )
            ]
        )
        return self._after_ledger(group_id, [movement_id_out], posted)

    # ================================================================== FX
    def import_rates(self, text: str, source: str) -> int:
        """Import a dated rate table (CSV: date, base, quote, rate); later imports win."""
        rates = files.parse_rates(text, source[:80] or "import")
        now = self.clock.now_ns()
        table = store.fx_rates_table
        with self.engine.begin() as connection:
            for rate in rates:
                connection.execute(
                    table.delete().where(
                        (table.c.day == rate.day)
                        & (table.c.base == rate.base)
                        & (table.c.quote == rate.quote)
                    )
                )
            connection.execute(
                table.insert(),
                [
                    {
                        "day": r.day,
                        "base": r.base,
                        "quote": r.quote,
                        "rate": str(r.rate),
                        "source": r.source,
                        "imported_at": now,
                    }
                    for r in rates
                ],
            )
        return len(rates)

    def rate(self, base: str, quote: str, on: date | None = None) -> FxRate:
        """The newest rate for base -> quote on or before the day (Pakistan date)."""
        day = on or pakistan_day(self.clock.now_ns())
        table = store.fx_rates_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table)
                .where((table.c.base == base) & (table.c.quote == quote) & (table.c.day <= day))
                .order_by(table.c.day.desc())
                .limit(1)
            ).first()
            if row is None:  # the inverse rate serves too
                inverse = connection.execute(
                    sa.select(table)
                    .where((table.c.base == quote) & (table.c.quote == base) & (table.c.day <= day))
                    .order_by(table.c.day.desc())
                    .limit(1)
                ).first()
                if inverse is not None:
                    return FxRate(
                        inverse.day,
                        base,
                        quote,
                        (Decimal(1) / Decimal(inverse.rate)).quantize(Decimal("1e-10")),
                        inverse.source,
                    )
        if row is None:
            raise DomainError(
                WalletError.FX_RATE_MISSING,
                f"no {base}/{quote} rate on or before {day}: import a rate table",
                status=409,
                fields={"base": base, "quote": quote, "day": str(day)},
            )
        return FxRate(row.day, row.base, row.quote, Decimal(row.rate), row.source)

    def convert(
        self,
        customer_id: uuid.UUID,
        amount_minor: int,
        from_currency: str,
        to_currency: str,
        request_id: uuid.UUID | str,
    ) -> ConversionResult:
        """Convert between the customer's wallets at the day's rate, through position accounts.

        Two linked transfers, one per ledger, so each currency's ledger still balances: the
        customer's foreign wallet -> the book's foreign position, and the book's rupee
        position -> the customer's rupee wallet. Idempotent by request id.
        """
        _check_amount(amount_minor)
        source, target = from_currency.upper(), to_currency.upper()
        rate = self.rate(source, target)
        to_amount = convert_minor(
            amount_minor,
            rate.rate,
            currency_info(source).exponent,
            currency_info(target).exponent,
        )
        if to_amount <= 0:
            raise DomainError(
                WalletError.AMOUNT_INVALID, "the amount converts to nothing", status=422
            )
        from_account = self.account(customer_id, source)
        to_account = self.account(customer_id, target)
        request_key = f"fx:{request_id}"
        group_id = uuid.uuid5(NAMESPACE, f"{customer_id}:{request_key}")
        now = self.clock.now_ns()
        description = f"{source}->{target} @ {rate.rate} ({rate.source} {rate.day})"
        sell = Movement(
            uuid.uuid5(NAMESPACE, f"{group_id}:sell"),
            customer_id,
            from_account.id,
            Direction.DEBIT,
            MovementKind.FX,
            amount_minor,
            source,
            MovementStatus.PENDING,
            self.institution.name,
            description[:140],
            None,
            None,
            None,
            group_id,
            now,
            None,
        )
        buy = replace(
            sell,
            id=uuid.uuid5(NAMESPACE, f"{group_id}:buy"),
            account_id=to_account.id,
            direction=Direction.CREDIT,
            amount_minor=to_amount,
            currency=target,
        )
        with self.engine.begin() as connection:
            replay = self._claim(
                connection,
                customer_id,
                request_key,
                "fx",
                {"amount": amount_minor, "from": source, "to": target},
            )
            if replay is None:
                self._lock_customer(connection, customer_id)
                self._insert_movements(connection, [sell, buy])
        if replay is not None:
            done = self.group(replay)
            sold = next(m for m in done if m.direction is Direction.DEBIT)
            bought = next(m for m in done if m.direction is Direction.CREDIT)
            if sold.status is not MovementStatus.COMPLETED:
                raise DomainError(
                    WalletError.INSUFFICIENT_FUNDS, "this conversion did not happen", status=409
                )
            return ConversionResult(
                sold.amount_minor,
                sold.currency,
                bought.amount_minor,
                bought.currency,
                (sold.reference or "").split(" @ ")[-1].split(" ")[0],
            )
        results = self.ledger.create_transfers(
            [
                Transfer(
                    sell.id,
                    from_account.id,
                    self._own("fx-position", source),
                    amount_minor,
                    ledger=self.institution.ledger_id(source),
                    code=TRANSFER_CODE_FX,
                    flags=TransferFlags.LINKED,
                ),
                Transfer(
                    buy.id,
                    self._own("fx-position", target),
                    to_account.id,
                    to_amount,
                    ledger=self.institution.ledger_id(target),
                    code=TRANSFER_CODE_FX,
                ),
            ]
        )
        failed = next(
            (r for r in results if r not in (R.OK, R.EXISTS, R.LINKED_EVENT_FAILED)), R.OK
        )
        self._after_ledger(group_id, [sell.id, buy.id], failed)
        return ConversionResult(amount_minor, source, to_amount, target, str(rate.rate))

    # ================================================================== statements
    def statement(
        self,
        customer_id: uuid.UUID,
        currency: str,
        from_ns: int,
        to_ns: int,
        limit: int = 10_000,
    ) -> WalletStatement:
        """Booked lines of one wallet over [from, to) with the balance after each.

        Built from the ledger's balance history, so opening + lines = closing by
        construction; reservations (pending, voided) are not bookings and are left out.
        """
        if from_ns > to_ns:
            raise DomainError(
                WalletError.STATEMENT_INVALID, "a statement's start is before its end", status=422
            )
        customer = self.customer(customer_id)
        account = self.account(customer_id, currency)
        ledger_statement = self.ledger.statement(account.id, from_ns, to_ns, limit)
        movement_ids: dict[uuid.UUID, Movement] = {}
        pending_ids = [
            e.transfer.pending_id for e in ledger_statement.entries if e.transfer.pending_id
        ]
        ids = [e.transfer.id for e in ledger_statement.entries] + [i for i in pending_ids if i]
        table = store.movements_table
        with self.engine.connect() as connection:
            for offset in range(0, len(ids), 5_000):
                for row in connection.execute(
                    sa.select(table).where(table.c.id.in_(ids[offset : offset + 5_000]))
                ).all():
                    movement_ids[row.id] = _movement(row)
        lines = []
        for entry in ledger_statement.entries:
            transfer = entry.transfer
            if transfer.flags & (TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER):
                continue
            movement = movement_ids.get(transfer.id) or (
                movement_ids.get(transfer.pending_id) if transfer.pending_id else None
            )
            direction = Direction.CREDIT if entry.direction == "credit" else Direction.DEBIT
            description = _describe(movement, transfer.code)
            lines.append(
                StatementLine(
                    movement,
                    transfer.id,
                    transfer.timestamp,
                    direction,
                    transfer.amount or 0,
                    entry.balance_after.net_credit_posted,
                    description,
                )
            )
        return WalletStatement(
            customer,
            account,
            from_ns,
            to_ns,
            ledger_statement.opening.net_credit_posted,
            ledger_statement.closing.net_credit_posted,
            tuple(lines),
            ledger_statement.truncated,
        )

    # ================================================================== settlement at the hub
    def fund_settlement(self, amount_minor: int, request_id: uuid.UUID) -> Money:
        """Place the institution's own money at the hub (prefunding), mirrored in its book."""
        self.ensure_ready()
        _check_amount(amount_minor)
        position = self.switch.fund(self.institution.code, Money(amount_minor, "PKR"), request_id)
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(NAMESPACE, f"funding:{request_id}"),
                    self.hub_mirror_id,
                    self._own("capital", "PKR"),
                    amount_minor,
                    ledger=self.institution.ledger_id("PKR"),
                    code=TRANSFER_CODE_SETTLEMENT_FUNDING,
                )
            ]
        )
        assert result in (R.OK, R.EXISTS), result
        return position

    def reconcile(self) -> dict[str, int]:
        """Our settlement position as the hub sees it, and as our own book mirrors it.

        They differ only by payments in flight (reserved in our book, not yet decided at the
        hub); `difference_minor` is 0 when nothing is in flight.
        """
        self.ensure_ready()
        hub = self.switch.liquidity(self.institution.code).amount_minor
        mirror = self.ledger.get_account(self.hub_mirror_id).balance
        table = store.movements_table
        with self.engine.connect() as connection:
            in_flight = connection.execute(
                sa.select(sa.func.count()).where(
                    (table.c.status == MovementStatus.PENDING.value)
                    & (table.c.kind.in_([k.value for k in _HUB_KINDS]))
                )
            ).scalar_one()
        book = mirror.net_debit_posted
        return {
            "hub_position_minor": hub,
            "book_mirror_minor": book,
            "difference_minor": hub - book,
            "in_flight": int(in_flight),
        }


_HUB_KINDS = (
    MovementKind.RAAST_OUT,
    MovementKind.RAAST_IN,
    MovementKind.MERCHANT,
    MovementKind.REQUEST,
    MovementKind.PAYOUT,
    MovementKind.RETURN_OUT,
    MovementKind.RETURN_IN,
)

_OWN_ACCOUNTS = (
    ("hub-settlement", ACCOUNT_CODE_HUB_SETTLEMENT),
    ("capital", ACCOUNT_CODE_CAPITAL),
    ("agent-cash", ACCOUNT_CODE_AGENT_CASH),
    ("fee-income", ACCOUNT_CODE_FEE_INCOME),
    ("fx-position", ACCOUNT_CODE_FX_POSITION),
    ("foreign-nostro", ACCOUNT_CODE_FOREIGN_NOSTRO),
)

_DESCRIPTIONS = {
    TRANSFER_CODE_DEPOSIT: "cash in",
    TRANSFER_CODE_WITHDRAWAL: "cash out",
    TRANSFER_CODE_INTERNAL: "wallet transfer",
    TRANSFER_CODE_OUTGOING: "Raast payment",
    TRANSFER_CODE_INCOMING: "Raast payment received",
    TRANSFER_CODE_FEE: "fee",
    TRANSFER_CODE_FX: "currency conversion",
    TRANSFER_CODE_RETURN: "return",
    TRANSFER_CODE_FOREIGN_RECEIPT: "foreign proceeds",
}


def _describe(movement: Movement | None, code: int) -> str:
    base = _DESCRIPTIONS.get(code, "transfer")
    if movement is None:
        return base
    parts = [movement.kind.value.replace("_", " ")]
    if movement.counterparty:
        parts.append(movement.counterparty)
    if movement.reference:
        parts.append(movement.reference)
    return " · ".join(parts)


def _pacs008(institution_code: str, request: CreditTransfer, created: datetime) -> bytes:
    """One credit transfer as the pacs.008 envelope (AppHdr + Document) a participant sends."""
    creditor = (
        iso.Account(proxy=MobileNumber.parse(request.creditor_alias))
        if request.creditor_alias
        else iso.Account(iban=Iban.parse(request.creditor_iban or ""))
    )
    document = iso.CustomerCreditTransfer(
        message_id=request.msg_id,
        created_at=created,
        transactions=(
            iso.CreditTransferTransaction(
                end_to_end_id=request.end_to_end_id,
                transaction_id=request.tx_id,
                uetr=request.uetr,
                amount=Money(request.amount_minor, request.currency),
                debtor=iso.Party(name=request.debtor_name),
                debtor_account=iso.Account(iban=Iban.parse(request.debtor_iban)),
                debtor_agent=iso.Agent(member_id=institution_code),
                creditor=iso.Party(name=request.creditor_name or "-"),
                creditor_account=creditor,
                creditor_agent=iso.Agent(member_id=HUB_MEMBER_ID),
                purpose=request.purpose,
                remittance_information=(
                    (request.remittance_information,) if request.remittance_information else ()
                ),
            ),
        ),
    )
    return iso.build_envelope(
        iso.Envelope(
            iso.BusinessApplicationHeader(
                from_agent=iso.Agent(member_id=institution_code),
                to_agent=iso.Agent(member_id=HUB_MEMBER_ID),
                business_message_id=document.message_id,
                message_definition_id=iso.MessageType.PACS_008.value,
                created_at=created,
            ),
            document,
        )
    )


def _never(kind: str) -> PaymentOutcome:
    raise DomainError("qr_invalid_merchant_account", f"cannot pay a {kind}", status=422)


def _check_amount(amount_minor: int) -> None:
    if type(amount_minor) is not int or not 0 < amount_minor < (1 << 63):
        raise DomainError(
            WalletError.AMOUNT_INVALID,
            "an amount is a positive whole number of minor units (paisa)",
            status=422,
            fields={"amount_minor": str(amount_minor)},
        )


def _payment_fingerprint(to: str, amount_minor: int, note: str | None) -> dict[str, object]:
    return {"to": to.strip().upper().replace(" ", ""), "amount": amount_minor, "note": note}


def _outcome(
    group_id: uuid.UUID, movements: Sequence[Movement], *, replayed: bool = False
) -> PaymentOutcome:
    main = next(
        (m for m in movements if m.id == uuid.uuid5(NAMESPACE, f"{group_id}:main")),
        movements[0],
    )
    return PaymentOutcome(
        group_id=group_id,
        status=main.status,
        movements=tuple(movements),
        reason=main.reason,
        payment_id=main.payment_id,
        end_to_end_id=main.end_to_end_id,
        replayed=replayed,
    )


def _tier(row: Any) -> Tier:
    return Tier(
        row.code,
        row.name,
        row.effective_from,
        {kind: getattr(row, f"{kind.value}_minor") for kind in LIMIT_KINDS},
        row.currency,
    )


def _customer(row: Any) -> Customer:
    return Customer(
        row.id,
        CustomerKind(row.kind),
        row.name,
        row.mobile,
        row.cnic,
        row.ntn,
        row.address,
        tuple(json.loads(row.owners)),
        row.tier,
        CustomerStatus(row.status),
        row.created_at,
    )


def _movement_values(m: Movement) -> dict[str, Any]:
    return {
        "id": m.id,
        "customer_id": m.customer_id,
        "account_id": m.account_id,
        "direction": m.direction.value,
        "kind": m.kind.value,
        "amount_minor": m.amount_minor,
        "fee_minor": m.fee_minor,
        "currency": m.currency,
        "status": m.status.value,
        "counterparty": m.counterparty[:NAME_LENGTH_MAX] if m.counterparty else None,
        "reference": m.reference[:140] if m.reference else None,
        "reason": m.reason,
        "payment_id": m.payment_id,
        "end_to_end_id": m.end_to_end_id,
        "group_id": m.group_id,
        "created_at": m.created_at,
        "completed_at": m.completed_at,
    }


def _movement(row: Any) -> Movement:
    return Movement(
        id=row.id,
        customer_id=row.customer_id,
        account_id=row.account_id,
        direction=Direction(row.direction),
        kind=MovementKind(row.kind),
        amount_minor=row.amount_minor,
        currency=row.currency,
        status=MovementStatus(row.status),
        counterparty=row.counterparty,
        reference=row.reference,
        reason=row.reason,
        payment_id=row.payment_id,
        end_to_end_id=row.end_to_end_id,
        group_id=row.group_id,
        created_at=row.created_at,
        completed_at=row.completed_at,
        fee_minor=row.fee_minor,
    )


def _tier_invalid(message: str) -> DomainError:
    return DomainError(WalletError.TIER_INVALID, message, status=422)


def _customer_invalid(message: str) -> DomainError:
    return DomainError(WalletError.CUSTOMER_INVALID, message, status=422)


def _destination_invalid(message: str, reason: str) -> DomainError:
    return DomainError(
        WalletError.DESTINATION_INVALID, message, status=422, fields={"reason": reason}
    )


def _screening_hit(name: str, outcome: str) -> DomainError:
    return DomainError(
        WalletError.SCREENING_HIT,
        f"'{name}' matches a sanctions list entry and needs compliance review ({outcome})",
        status=422,
        fields={"outcome": outcome},
    )
