"""Retried payment calls: the same request key moves money once; other content is refused.

For every call: the first request moves money; the same request again answers the first
outcome and changes no balance, movement, request key or hub payment; the same key with
other content is `wallet_request_key_reused` (409) and changes nothing either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from test_wallet_support import (
    ACCEPT,
    SUPPLIER_NUMBER,
    OtherBank,
    balance_minor,
    business,
    connect_other_bank,
    individual,
    new_key,
    refused,
    snapshot,
)

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import MobileNumber
from tijarat.kernel.money import Money
from tijarat.switch import qr
from tijarat.switch.model import PayeeDecision, PaymentStatus, ReasonCode
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import Customer, MovementKind, MovementStatus
from tijarat.wallet.service import PaymentOutcome


def moves_once(
    container: Container,
    first: Callable[[], Any],
    changed: Callable[[], Any] | None,
    *,
    movements: int,
) -> tuple[Any, Any]:
    """Call `first` twice and `changed` once; answers the first and the retried result."""
    before = snapshot(container)
    result = first()
    after = snapshot(container)
    assert after.movements == before.movements + movements
    assert after.balances != before.balances  # money moved the first time
    again = first()
    assert snapshot(container) == after  # ... and not the second time
    if isinstance(result, PaymentOutcome):
        assert isinstance(again, PaymentOutcome)
        assert (again.replayed, result.replayed) == (True, False)
        assert again.group_id == result.group_id
        assert [m.id for m in again.movements] == [m.id for m in result.movements]
        assert again.status == result.status
    else:
        assert again == result
    if changed is not None:
        error = refused(container, WalletError.REQUEST_KEY_REUSED, changed)
        assert error.status == 409
    return result, again


def supplier_qr(amount_minor: int) -> str:
    """A dynamic QR code of the supplier at the other bank."""
    return qr.build(
        qr.MerchantQr(
            account=MobileNumber.parse(SUPPLIER_NUMBER),
            merchant_name="Karachi Wool",
            merchant_city="Karachi",
            merchant_category_code="5131",
            point_of_initiation="dynamic",
            amount=Money(amount_minor, "PKR"),
        )
    )


@pytest.fixture
def bank(container: Container) -> OtherBank:
    return connect_other_bank(container)


@pytest.fixture
def ali(container: Container) -> Customer:
    customer = individual(container, "Ali Raza")
    container.wallet.deposit(customer.id, 20_000_00, new_key())
    return customer


def test_calls_inside_the_wallet_move_money_once(container: Container, ali: Customer) -> None:
    wallet = container.wallet
    payee = business(container, "Hunza Dry Fruits")

    key = new_key()
    moves_once(
        container,
        lambda: wallet.deposit(ali.id, 1_000_00, key),
        lambda: wallet.deposit(ali.id, 1_000_01, key),
        movements=1,
    )
    assert balance_minor(container, ali) == 21_000_00

    key = new_key()
    moves_once(
        container,
        lambda: wallet.withdraw(ali.id, 500_00, key),
        lambda: wallet.withdraw(ali.id, 500_00, key, agent="another agent"),
        movements=1,
    )
    assert balance_minor(container, ali) == 20_500_00

    key = new_key()
    moves_once(
        container,
        lambda: wallet.pay(ali.id, to=payee.mobile, amount_minor=2_000_00, request_key=key),
        lambda: wallet.pay(
            ali.id, to=payee.mobile, amount_minor=2_000_00, request_key=key, note="x"
        ),
        movements=2,
    )
    assert balance_minor(container, ali) == 18_500_00
    assert balance_minor(container, payee) == 2_000_00
    # The same key for another kind of call is refused too.
    refused(
        container,
        WalletError.REQUEST_KEY_REUSED,
        lambda: wallet.deposit(ali.id, 2_000_00, key),
    )

    key = new_key()
    payload = wallet.merchant_qr(payee.id, amount_minor=1_000_00)
    other_payload = wallet.merchant_qr(payee.id, amount_minor=1_000_01)
    moves_once(
        container,
        lambda: wallet.pay_qr(ali.id, payload, request_key=key),
        lambda: wallet.pay_qr(ali.id, other_payload, request_key=key),
        movements=3,  # payer's debit, merchant's credit, merchant's fee
    )
    assert balance_minor(container, ali) == 17_500_00

    wallet.import_rates("date,base,quote,rate\n2026-01-01,USD,PKR,280.125\n", "SBP")
    wallet.receive_foreign(ali.id, 100_00, "USD", new_key(), remitter="Hamburg Imports GmbH")
    request_id = uuid.uuid4()
    moves_once(
        container,
        lambda: wallet.convert(ali.id, 10_00, "USD", "PKR", request_id),
        lambda: wallet.convert(ali.id, 10_01, "USD", "PKR", request_id),
        movements=2,
    )
    assert balance_minor(container, ali, "USD") == 90_00
    assert balance_minor(container, ali) == 17_500_00 + 2_801_25
    assert container.ledger.verify().ok


def test_calls_through_the_hub_move_money_once(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet

    key = new_key()
    outcome, _ = moves_once(
        container,
        lambda: wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=1_000_00, request_key=key),
        lambda: wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=999_99, request_key=key),
        movements=1,
    )
    assert outcome.status is MovementStatus.COMPLETED
    assert len(bank.advices) == 1

    # A retry while the payee has not answered yet: still one payment at the hub.
    bank.decision = None
    key = new_key()
    pending, again = moves_once(
        container,
        lambda: wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=500_00, request_key=key),
        None,
        movements=1,
    )
    assert (pending.status, again.status) == (MovementStatus.PENDING, MovementStatus.PENDING)
    assert len(bank.advices) == 2
    bank.decision = ACCEPT

    key = new_key()
    payload, other_payload = (supplier_qr(amount) for amount in (700_00, 700_01))
    moves_once(
        container,
        lambda: wallet.pay_qr(ali.id, payload, request_key=key),
        lambda: wallet.pay_qr(ali.id, other_payload, request_key=key),
        movements=1,
    )

    request_id = container.requests.request(
        "MEZNPKKA",
        debtor_alias=ali.mobile,
        amount_minor=800_00,
        creditor_name="Karachi Wool",
        creditor_alias=SUPPLIER_NUMBER,
        expires_in_s=300,
    ).id
    another_request = container.requests.request(
        "MEZNPKKA",
        debtor_alias=ali.mobile,
        amount_minor=800_00,
        creditor_name="Karachi Wool",
        creditor_alias=SUPPLIER_NUMBER,
        expires_in_s=300,
    ).id
    key = new_key()
    moves_once(
        container,
        lambda: wallet.pay_request(ali.id, request_id, request_key=key),
        lambda: wallet.pay_request(ali.id, another_request, request_key=key),
        movements=1,
    )

    incoming = bank.send(ali.mobile, 3_000_00)
    assert incoming.status is PaymentStatus.SETTLED
    (received,) = wallet.history(ali.id, kind=MovementKind.RAAST_IN)
    key = new_key()
    moves_once(
        container,
        lambda: wallet.refund(ali.id, received.id, 1_000_00, request_key=key),
        lambda: wallet.refund(ali.id, received.id, 2_000_00, request_key=key),
        movements=1,
    )
    assert container.payments.payment(incoming.id).returned_minor == 1_000_00
    # Paid out 1,000 + 500 (reserved) + 700 + 800; received 3,000; refunded 1,000.
    assert balance_minor(container, ali) == 19_000_00
    assert container.ledger.verify().ok

    # A payment the payee rejected, retried: the failure is the answer; nothing is resent.
    bank.decision = PayeeDecision(accept=False, reason=ReasonCode.AC04)
    key = new_key()
    first = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=1_000_00, request_key=key)
    before, advices = snapshot(container), len(bank.advices)
    bank.decision = PayeeDecision(accept=True)
    again = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=1_000_00, request_key=key)
    assert (first.status, again.status, again.reason) == (
        MovementStatus.FAILED,
        MovementStatus.FAILED,
        "AC04",
    )
    assert again.replayed
    assert snapshot(container) == before
    assert len(bank.advices) == advices
    assert container.ledger.verify().ok
