"""A crash at any step of a payment leaves nothing half done once the sweeper has run.

Each test makes one step fail as a crash would (an exception out of the call), then runs
`settle_pending` the way the server's sweeper does, and checks both books.
"""

from __future__ import annotations

import uuid

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch.model import ParticipantCategory, PayeeDecision, PaymentStatus
from tijarat.wallet.model import MovementStatus
from tijarat.wallet.service import ORPHAN_AFTER_S, WalletService


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


@pytest.fixture
def wallet(container: Container) -> WalletService:
    container.switch.register_participant(
        "MEZNPKKA", "Meezan", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    container.payments.connect("MEZNPKKA", lambda _p: PayeeDecision(accept=True))
    wallet = container.wallet
    wallet.fund_settlement(1_000_000_00, uuid.uuid4())
    return wallet


def business(wallet: WalletService) -> uuid.UUID:
    customer = wallet.onboard_business(
        name="Skardu Crafts",
        ntn="1234567-8",
        mobile="03551234567",
        address="Skardu",
        owners=["Karim Baig"],
    )
    wallet.deposit(customer.id, 50_000_00, "opening")
    return customer.id


def pay(wallet: WalletService, customer_id: uuid.UUID, key: str) -> None:
    wallet.pay(
        customer_id,
        to=make_pk_iban("MEZN", "77").compact,
        amount_minor=10_000_00,
        request_key=key,
        payee_name="Karachi Wool House",
    )


def test_a_crash_before_the_hub_got_the_payment_releases_the_reservation(
    container: Container, wallet: WalletService, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = business(wallet)

    def crash(_request: object) -> None:
        raise Crash

    monkeypatch.setattr(wallet, "_submit", crash)
    with pytest.raises(Crash):
        pay(wallet, customer_id, "k1")
    monkeypatch.undo()
    assert wallet.balance(customer_id) == Money(40_000_00, "PKR")  # reserved
    assert wallet.settle_pending() == 0  # too young: the call may still be running
    container.clock.advance(seconds=ORPHAN_AFTER_S + 1)  # type: ignore[attr-defined]
    assert wallet.settle_pending() == 1
    assert wallet.balance(customer_id) == Money(50_000_00, "PKR")
    (movement,) = [m for m in wallet.history(customer_id) if m.kind.value == "raast_out"]
    assert (movement.status, movement.reason) == (MovementStatus.FAILED, "not_sent")
    assert container.ledger.verify().ok
    assert wallet.reconcile()["difference_minor"] == 0


def test_a_crash_after_the_hub_settled_completes_the_payment(
    container: Container, wallet: WalletService, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = business(wallet)
    container.payments.listeners.clear()  # the status report is lost with the process
    monkeypatch.setattr(wallet, "_settle_outgoing", lambda _payment: None)
    real_observe = wallet._observe

    def crash(*_args: object) -> None:
        raise Crash

    monkeypatch.setattr(wallet, "_observe", crash)
    with pytest.raises(Crash):
        pay(wallet, customer_id, "k2")
    monkeypatch.undo()
    wallet._observe = real_observe  # type: ignore[method-assign]
    (sent,) = [m for m in wallet.history(customer_id) if m.kind.value == "raast_out"]
    hub = container.payments.status(wallet.institution.code, sent.end_to_end_id or "")
    assert hub.status is PaymentStatus.SETTLED  # the money left at the hub ...
    assert wallet.settle_pending() == 1  # ... and the wallet catches up from the hub
    (movement,) = [m for m in wallet.history(customer_id) if m.kind.value == "raast_out"]
    assert movement.status is MovementStatus.COMPLETED
    assert wallet.balance(customer_id) == Money(40_000_00, "PKR")
    assert container.ledger.verify().ok
    assert wallet.reconcile()["difference_minor"] == 0


def test_a_crash_before_the_ledger_moved_nothing(
    container: Container, wallet: WalletService, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = business(wallet)
    real = wallet.ledger.create_transfers

    def crash(_transfers: object) -> None:
        raise Crash

    monkeypatch.setattr(wallet.ledger, "create_transfers", crash)
    with pytest.raises(Crash):
        wallet.deposit(customer_id, 1_00, "k3")
    monkeypatch.setattr(wallet.ledger, "create_transfers", real)
    container.clock.advance(seconds=ORPHAN_AFTER_S + 1)  # type: ignore[attr-defined]
    assert wallet.settle_pending() == 1
    failed = [m for m in wallet.history(customer_id) if m.status is MovementStatus.FAILED]
    assert [m.reason for m in failed] == ["not_executed"]
    assert wallet.balance(customer_id) == Money(50_000_00, "PKR")
    assert container.ledger.verify().ok
