"""Shared set-up for the wallet's integration tests; it holds no tests of its own.

The test_wallet_*.py modules import it (pytest puts this folder on sys.path): customers with
valid identifiers, a second bank on the hub whose answers a test decides, limit tiers made for
a test, and a snapshot of every balance and record count, so a refusal can be shown to have
changed nothing.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import store as switch_store
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    PayeeDecision,
    Payment,
)
from tijarat.wallet import store as wallet_store
from tijarat.wallet.model import Customer, LimitKind, Tier
from tijarat.wallet.service import _OWN_ACCOUNTS, SUPPORTED_CURRENCIES

WALLET_CODE = "TIJWPKKA"
OTHER_BANK = "MEZNPKKA"
OTHER_BANK_CODE = "MEZN"
OTHER_BANK_LIQUIDITY_MINOR = 10_000_000_00
WALLET_SETTLEMENT_MINOR = 5_000_000_00
# A supplier banking at the other bank, reachable by Raast ID and by IBAN.
SUPPLIER_NAME = "Karachi Wool Company"
SUPPLIER_NUMBER = "03219876543"
SUPPLIER_IBAN = make_pk_iban(OTHER_BANK_CODE, "77").compact
SUPPLIER_CNIC = "42101-1111111-1"
ACCEPT = PayeeDecision(accept=True)
LONG_AGO = date(2025, 1, 1)  # tiers made for a test are in force from here

_serials = itertools.count(1)


def new_key() -> str:
    """A fresh request key (Idempotency-Key)."""
    return uuid.uuid4().hex


def individual(container: Container, name: str, *, tier: str = "level0") -> Customer:
    serial = next(_serials)
    return container.wallet.onboard_individual(
        name=name, cnic=f"35202{serial:07d}1", mobile=f"0300{serial:07d}", tier=tier
    )


def business(container: Container, name: str, *, tier: str = "business") -> Customer:
    """A business whose Raast ID (its mobile number) is linked under its owner's CNIC."""
    serial = next(_serials)
    return container.wallet.onboard_business(
        name=name,
        ntn=f"{serial:07d}",
        mobile=f"0311{serial:07d}",
        address="Main Bazaar, Skardu",
        owners=[f"{name} Owner"],
        owner_cnic=f"42201{serial:07d}3",
        tier=tier,
    )


def publish_tier(container: Container, code: str, limits_minor: dict[LimitKind, int]) -> Tier:
    """A tier with only the given limits (every other one unlimited), in force long ago."""
    full: dict[LimitKind, int | None] = dict.fromkeys(LimitKind)
    full.update(limits_minor)
    return container.wallet.publish_tier(Tier(code, f"Tier {code}", LONG_AGO, full))


def balance_minor(container: Container, customer: Customer, currency: str = "PKR") -> int:
    """What the customer may spend (posted less reserved)."""
    return container.wallet.balance(customer.id, currency).amount_minor


def posted_minor(container: Container, account_id: uuid.UUID) -> int:
    """Posted credits less posted debits of one ledger account."""
    return container.ledger.get_account(account_id).balance.net_credit_posted


def own_account(container: Container, name: str, currency: str = "PKR") -> uuid.UUID:
    """One of the wallet book's own accounts: capital, agent-cash, fee-income, fx-position..."""
    return container.wallet._own(name, currency)


# ---------------------------------------------------------------------------- the other bank
@dataclass
class OtherBank:
    """A second participant; the test sets `decision` (None: the bank never answers)."""

    container: Container
    decision: PayeeDecision | None = ACCEPT
    advices: list[Payment] = field(default_factory=list)

    def handle(self, payment: Payment) -> PayeeDecision | None:
        self.advices.append(payment)
        return self.decision

    def liquidity_minor(self) -> int:
        return self.container.switch.liquidity(OTHER_BANK).amount_minor

    def send(
        self, to_number: str, amount_minor: int, *, debtor_name: str = SUPPLIER_NAME
    ) -> Payment:
        """A credit transfer from the supplier at the other bank to a Raast ID."""
        end_to_end_id = f"MEZN{uuid.uuid4().hex[:24]}"
        return self.container.payments.submit(
            OTHER_BANK,
            CreditTransfer(
                msg_id=f"M{end_to_end_id}",
                end_to_end_id=end_to_end_id,
                tx_id=end_to_end_id,
                uetr=uuid.uuid4(),
                amount_minor=amount_minor,
                currency="PKR",
                debtor_name=debtor_name,
                debtor_iban=SUPPLIER_IBAN,
                creditor_alias=to_number,
                remittance_information="Invoice 7",
            ),
        )


def connect_other_bank(container: Container) -> OtherBank:
    """Register and fund a second bank, link the supplier's Raast ID, fund the wallet at the hub."""
    switch = container.switch
    switch.register_participant(
        OTHER_BANK, "Meezan Bank", ParticipantCategory.DIRECT_SETTLEMENT, bank_code=OTHER_BANK_CODE
    )
    switch.fund(OTHER_BANK, Money(OTHER_BANK_LIQUIDITY_MINOR, "PKR"), uuid.uuid4())
    switch.link_alias(OTHER_BANK, SUPPLIER_NUMBER, SUPPLIER_IBAN, SUPPLIER_CNIC, SUPPLIER_NAME)
    bank = OtherBank(container)
    container.payments.connect(OTHER_BANK, bank.handle)
    container.wallet.fund_settlement(WALLET_SETTLEMENT_MINOR, uuid.uuid4())
    return bank


def wallet_liquidity_minor(container: Container) -> int:
    return container.switch.liquidity(WALLET_CODE).amount_minor


# ---------------------------------------------------------------------------- snapshots
@dataclass(frozen=True)
class Snapshot:
    balances: dict[uuid.UUID, tuple[int, int, int, int]]  # every account in both books
    movements: int
    request_keys: int
    hub_payments: int


def snapshot(container: Container) -> Snapshot:
    """Every balance in the wallet's book and at the hub, and what the wallet has recorded."""
    wallet = container.wallet
    wallet.ensure_ready()
    with container.engine.connect() as connection:
        ids = list(connection.execute(sa.select(wallet_store.accounts_table.c.id)).scalars())
        movements = connection.execute(
            sa.select(sa.func.count()).select_from(wallet_store.movements_table)
        ).scalar_one()
        request_keys = connection.execute(
            sa.select(sa.func.count()).select_from(wallet_store.requests_table)
        ).scalar_one()
        hub_payments = connection.execute(
            sa.select(sa.func.count()).select_from(switch_store.payments_table)
        ).scalar_one()
    ids += [wallet._own(name, c) for name, _ in _OWN_ACCOUNTS for c in SUPPORTED_CURRENCIES]
    ids += [p.settlement_account_id for p in container.switch.participants()]
    accounts = container.ledger.lookup_accounts(ids)
    assert len(accounts) == len(ids)
    return Snapshot(
        {
            a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for a in accounts
        },
        int(movements),
        int(request_keys),
        int(hub_payments),
    )


def refused(container: Container, code: str, call: Callable[[], object]) -> DomainError:
    """Run `call`, expect DomainError `code`, and check that nothing moved or was recorded."""
    before = snapshot(container)
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value
    assert snapshot(container) == before
    return caught.value


def assert_books_agree(container: Container) -> None:
    """Nothing in flight: our mirror equals the hub's position, and the ledger verifies."""
    reconciled = container.wallet.reconcile()
    assert reconciled["in_flight"] == 0, reconciled
    assert reconciled["difference_minor"] == 0, reconciled
    report = container.ledger.verify()
    assert report.ok, report.problems
