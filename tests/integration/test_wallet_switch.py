"""The wallet as a participant of the hub: paying out, receiving, refunds, returns, QR, requests.

A second bank (Meezan, MEZN) answers credit advices in process as the test decides; the wallet
is funded at the hub. After each scenario the wallet's mirror of its hub position equals the
hub's figure and the ledger verifies.
"""

from __future__ import annotations

import uuid

import pytest
from test_wallet_support import (
    ACCEPT,
    OTHER_BANK,
    SUPPLIER_IBAN,
    SUPPLIER_NAME,
    SUPPLIER_NUMBER,
    OtherBank,
    assert_books_agree,
    balance_minor,
    business,
    connect_other_bank,
    individual,
    new_key,
    own_account,
    posted_minor,
    refused,
    wallet_liquidity_minor,
)

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.ledger.model import PendingStatus
from tijarat.switch import qr
from tijarat.switch.model import PayeeDecision, PaymentStatus, ReasonCode, RequestStatus
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import (
    Customer,
    CustomerStatus,
    Direction,
    LimitKind,
    MovementKind,
    MovementStatus,
)


@pytest.fixture
def bank(container: Container) -> OtherBank:
    return connect_other_bank(container)


@pytest.fixture
def ali(container: Container) -> Customer:
    customer = individual(container, "Ali Raza")  # level0: Rs 25,000 a day each way
    container.wallet.deposit(customer.id, 20_000_00, new_key())
    return customer


def debit_used(container: Container, customer: Customer) -> int:
    views = {v.kind: v for v in container.wallet.limits(customer.id)}
    return views[LimitKind.DEBIT_DAY].used_minor


# ---------------------------------------------------------------------------- paying out
def test_payments_over_the_switch_settle_by_raast_id_and_by_iban(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    hub_before, theirs_before = wallet_liquidity_minor(container), bank.liquidity_minor()
    outcome = wallet.pay(
        ali.id, to=SUPPLIER_NUMBER, amount_minor=3_000_00, request_key=new_key(), note="Wool"
    )
    assert outcome.status is MovementStatus.COMPLETED
    (movement,) = outcome.movements
    assert (movement.kind, movement.direction, movement.amount_minor) == (
        MovementKind.RAAST_OUT,
        Direction.DEBIT,
        3_000_00,
    )
    assert movement.payment_id is not None
    assert movement.end_to_end_id == outcome.end_to_end_id
    payment = container.payments.payment(movement.payment_id)
    assert payment.status is PaymentStatus.SETTLED
    assert payment.request.end_to_end_id == movement.end_to_end_id
    assert payment.creditor_iban == SUPPLIER_IBAN
    assert (payment.request.debtor_name, payment.request.remittance_information) == (
        "Ali Raza",
        "Wool",
    )
    (advice,) = bank.advices
    assert advice.id == payment.id
    assert balance_minor(container, ali) == 17_000_00
    assert wallet_liquidity_minor(container) == hub_before - 3_000_00
    assert bank.liquidity_minor() == theirs_before + 3_000_00
    assert container.ledger.lookup_pending([movement.id])[0].status is PendingStatus.POSTED
    assert debit_used(container, ali) == 3_000_00
    assert_books_agree(container)

    # By IBAN: the payee's name (the account title) is needed, and travels in the pacs.008.
    other_iban = make_pk_iban("MEZN", "78").compact
    refused(
        container,
        WalletError.DESTINATION_INVALID,
        lambda: wallet.pay(ali.id, to=other_iban, amount_minor=1_00, request_key=new_key()),
    )
    outcome = wallet.pay(
        ali.id,
        to=Iban.parse(other_iban).formatted,
        amount_minor=1_00,
        request_key=new_key(),
        payee_name="Quetta Dates",
    )
    assert outcome.status is MovementStatus.COMPLETED
    by_iban = bank.advices[-1].request
    assert (by_iban.creditor_iban, by_iban.creditor_name) == (other_iban, "Quetta Dates")
    assert balance_minor(container, ali) == 16_999_00

    # A Raast ID nobody holds: refused before anything is reserved or sent.
    error = refused(
        container,
        "switch_alias_not_found",
        lambda: wallet.pay(ali.id, to="03009999999", amount_minor=1_00, request_key=new_key()),
    )
    assert error.status == 404
    assert len(bank.advices) == 2
    assert_books_agree(container)


def test_paying_ones_own_wallet_is_refused_and_records_nothing(
    container: Container, ali: Customer
) -> None:
    wallet = container.wallet
    refused(
        container,
        WalletError.SAME_ACCOUNT,
        lambda: wallet.pay(ali.id, to=ali.mobile, amount_minor=1_00, request_key=new_key()),
    )
    own_iban = wallet.account(ali.id).iban
    refused(
        container,
        WalletError.SAME_ACCOUNT,
        lambda: wallet.pay(ali.id, to=own_iban, amount_minor=1_00, request_key=new_key()),
    )


def test_a_rejected_payment_releases_the_funds(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    hub_before = wallet_liquidity_minor(container)
    bank.decision = PayeeDecision(accept=False, reason=ReasonCode.AC04)
    outcome = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=3_000_00, request_key=new_key())
    assert (outcome.status, outcome.reason) == (MovementStatus.FAILED, "AC04")
    (movement,) = wallet.group(outcome.group_id)
    assert (movement.status, movement.reason) == (MovementStatus.FAILED, "AC04")
    assert container.ledger.lookup_pending([movement.id])[0].status is PendingStatus.VOIDED
    assert container.payments.payment(movement.payment_id).status is PaymentStatus.REJECTED  # type: ignore[arg-type]
    assert balance_minor(container, ali) == 20_000_00
    assert wallet_liquidity_minor(container) == hub_before
    assert debit_used(container, ali) == 0  # a failed payment uses no limit
    assert_books_agree(container)


def test_a_payee_that_never_answers_times_out_and_the_funds_return(
    container: Container, bank: OtherBank, ali: Customer, clock: ManualClock
) -> None:
    wallet = container.wallet
    hub_before = wallet_liquidity_minor(container)
    bank.decision = None  # no answer
    silent = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=3_000_00, request_key=new_key())
    answered = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=1_000_00, request_key=new_key())
    assert silent.status is MovementStatus.PENDING
    assert balance_minor(container, ali) == 16_000_00  # both reserved
    assert debit_used(container, ali) == 4_000_00  # pending payments count against limits
    reconciled = wallet.reconcile()
    assert (reconciled["in_flight"], reconciled["difference_minor"]) == (2, -4_000_00)

    # The bank answers one of them in time (through its API); the other stays silent.
    assert answered.payment_id is not None
    container.payments.answer(OTHER_BANK, answered.payment_id, ACCEPT)
    assert wallet.group(answered.group_id)[0].status is MovementStatus.COMPLETED
    clock.advance(seconds=21)
    assert container.payments.sweep_timeouts() == 1
    (movement,) = wallet.group(silent.group_id)
    assert (movement.status, movement.reason) == (MovementStatus.FAILED, "AB05")
    assert container.payments.payment(movement.payment_id).reason is ReasonCode.AB05  # type: ignore[arg-type]
    assert container.ledger.lookup_pending([movement.id])[0].status is PendingStatus.VOIDED
    assert balance_minor(container, ali) == 19_000_00
    assert wallet_liquidity_minor(container) == hub_before - 1_000_00
    assert debit_used(container, ali) == 1_000_00
    # A late accept changes nothing.
    container.payments.answer(OTHER_BANK, movement.payment_id, ACCEPT)  # type: ignore[arg-type]
    assert balance_minor(container, ali) == 19_000_00
    assert wallet.settle_pending() == 0
    assert_books_agree(container)


# ---------------------------------------------------------------------------- receiving
def test_an_incoming_payment_is_credited_at_once_unless_it_breaks_a_limit(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    hub_before = wallet_liquidity_minor(container)
    payment = bank.send(ali.mobile, 4_000_00)
    assert (payment.status, payment.reason) == (PaymentStatus.SETTLED, None)
    assert balance_minor(container, ali) == 24_000_00
    (movement,) = wallet.history(ali.id, kind=MovementKind.RAAST_IN)
    assert (movement.status, movement.direction, movement.amount_minor) == (
        MovementStatus.COMPLETED,
        Direction.CREDIT,
        4_000_00,
    )
    assert (movement.payment_id, movement.counterparty) == (payment.id, SUPPLIER_NAME)
    assert wallet_liquidity_minor(container) == hub_before + 4_000_00
    assert_books_agree(container)

    # Rs 24,000 arrived today; level0 takes Rs 25,000 a day: one paisa more is AM02.
    theirs_before = bank.liquidity_minor()
    over = bank.send(ali.mobile, 1_000_01)
    assert (over.status, over.reason) == (PaymentStatus.REJECTED, ReasonCode.AM02)
    assert balance_minor(container, ali) == 24_000_00
    assert len(wallet.history(ali.id, kind=MovementKind.RAAST_IN)) == 1
    assert bank.liquidity_minor() == theirs_before
    exact = bank.send(ali.mobile, 1_000_00)
    assert exact.status is PaymentStatus.SETTLED
    assert balance_minor(container, ali) == 25_000_00
    # A blocked customer receives nothing (AC06).
    blocked = individual(container, "Blocked Person")
    wallet.set_status(blocked.id, CustomerStatus.BLOCKED)
    refusal = bank.send(blocked.mobile, 1_00)
    assert (refusal.status, refusal.reason) == (PaymentStatus.REJECTED, ReasonCode.AC06)
    assert balance_minor(container, blocked) == 0
    assert_books_agree(container)


def test_refunds_sent_and_returns_received(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    payment = bank.send(ali.mobile, 4_000_00)
    (received,) = wallet.history(ali.id, kind=MovementKind.RAAST_IN)
    theirs_before = bank.liquidity_minor()
    refund = wallet.refund(ali.id, received.id, 1_500_00, request_key=new_key())
    assert refund.status is MovementStatus.COMPLETED
    (movement,) = refund.movements
    assert (movement.kind, movement.direction, movement.amount_minor) == (
        MovementKind.RETURN_OUT,
        Direction.DEBIT,
        1_500_00,
    )
    assert container.payments.payment(payment.id).returned_minor == 1_500_00
    assert bank.liquidity_minor() == theirs_before + 1_500_00
    assert balance_minor(container, ali) == 22_500_00
    # More than is left to return: refused by the hub, the reservation released.
    before = balance_minor(container, ali)
    with pytest.raises(DomainError) as caught:
        wallet.refund(ali.id, received.id, 2_500_01, request_key=new_key())
    assert caught.value.code == "switch_return_invalid"
    assert balance_minor(container, ali) == before
    assert bank.liquidity_minor() == theirs_before + 1_500_00
    wallet.refund(ali.id, received.id, 2_500_00, request_key=new_key())
    assert container.payments.payment(payment.id).returned_minor == 4_000_00
    # Only a payment received through the hub can be refunded.
    (deposit,) = wallet.history(ali.id, kind=MovementKind.DEPOSIT)
    refused(
        container,
        WalletError.RETURN_INVALID,
        lambda: wallet.refund(ali.id, deposit.id, 1_00, request_key=new_key()),
    )
    assert_books_agree(container)

    # The other way: the other bank returns a payment Ali sent; Ali is credited.
    assert balance_minor(container, ali) == 20_000_00
    outcome = wallet.pay(ali.id, to=SUPPLIER_NUMBER, amount_minor=3_000_00, request_key=new_key())
    assert outcome.payment_id is not None
    assert balance_minor(container, ali) == 17_000_00
    container.payments.return_payment(
        OTHER_BANK, outcome.payment_id, 1_000_00, ReasonCode.CUST, uuid.uuid4()
    )
    assert balance_minor(container, ali) == 18_000_00
    container.payments.return_payment(
        OTHER_BANK, outcome.payment_id, 2_000_00, ReasonCode.AC04, uuid.uuid4()
    )
    assert balance_minor(container, ali) == 20_000_00
    returns = [m for m in wallet.group(outcome.group_id) if m.kind is MovementKind.RETURN_IN]
    assert sorted(m.amount_minor for m in returns) == [1_000_00, 2_000_00]
    assert all(m.status is MovementStatus.COMPLETED for m in returns)
    assert all(m.direction is Direction.CREDIT for m in returns)
    assert_books_agree(container)


# ---------------------------------------------------------------------------- QR
def test_paying_the_dynamic_qr_of_a_merchant_customer_charges_the_merchant_fee(
    container: Container, ali: Customer
) -> None:
    wallet = container.wallet
    merchant = business(container, "Skardu Apricot Traders")
    payload = wallet.merchant_qr(merchant.id, amount_minor=10_000_00, bill_number="B-17")
    code = qr.parse(payload)
    assert (code.amount, code.payee) == (Money(10_000_00, "PKR"), ("alias", merchant.mobile))
    fee_income = own_account(container, "fee-income")
    outcome = wallet.pay_qr(ali.id, payload, request_key=new_key())
    assert outcome.status is MovementStatus.COMPLETED
    fee = 50_00  # 50 basis points of Rs 10,000
    kinds = sorted((m.kind, m.direction, m.amount_minor) for m in outcome.movements)
    assert kinds == sorted(
        [
            (MovementKind.MERCHANT, Direction.DEBIT, 10_000_00),
            (MovementKind.MERCHANT, Direction.CREDIT, 10_000_00),
            (MovementKind.FEE, Direction.DEBIT, fee),
        ]
    )
    assert balance_minor(container, ali) == 10_000_00
    assert balance_minor(container, merchant) == 10_000_00 - fee
    assert posted_minor(container, fee_income) == fee
    # The fee is capped at Rs 500: a business pays Rs 200,000 (0.5% would be Rs 1,000).
    buyer = business(container, "Gilgit Gems")
    wallet.deposit(buyer.id, 200_000_00, new_key())
    big = wallet.merchant_qr(merchant.id, amount_minor=200_000_00)
    wallet.pay_qr(buyer.id, big, request_key=new_key())
    assert posted_minor(container, fee_income) == fee + 500_00
    assert balance_minor(container, merchant) == 210_000_00 - fee - 500_00
    # A dynamic code fixes the amount.
    with pytest.raises(DomainError) as caught:
        wallet.pay_qr(ali.id, payload, request_key=new_key(), amount_minor=1_00)
    assert caught.value.code == "qr_amount_not_allowed"
    assert container.ledger.verify().ok


def test_paying_the_qr_of_a_merchant_at_the_other_bank(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    payload = qr.build(
        qr.MerchantQr(
            account=MobileNumber.parse(SUPPLIER_NUMBER),
            merchant_name="Karachi Wool",
            merchant_city="Karachi",
            merchant_category_code="5131",
            point_of_initiation="dynamic",
            amount=Money(2_500_00, "PKR"),
            bill_number="INV-88",
        )
    )
    fee_income = own_account(container, "fee-income")
    theirs_before = bank.liquidity_minor()
    outcome = wallet.pay_qr(ali.id, payload, request_key=new_key())
    assert outcome.status is MovementStatus.COMPLETED
    (movement,) = outcome.movements
    assert (movement.kind, movement.amount_minor, movement.reference) == (
        MovementKind.MERCHANT,
        2_500_00,
        "INV-88",
    )
    payment = container.payments.payment(movement.payment_id)  # type: ignore[arg-type]
    assert (payment.status, payment.request.remittance_information) == (
        PaymentStatus.SETTLED,
        "INV-88",
    )
    assert bank.liquidity_minor() == theirs_before + 2_500_00
    assert balance_minor(container, ali) == 17_500_00
    assert posted_minor(container, fee_income) == 0  # the other bank charges its merchant
    # A static code needs the amount the customer types.
    static = qr.build(
        qr.MerchantQr(
            account=Iban.parse(SUPPLIER_IBAN),
            merchant_name="Karachi Wool",
            merchant_city="Karachi",
            merchant_category_code="5131",
        )
    )
    with pytest.raises(DomainError) as caught:
        wallet.pay_qr(ali.id, static, request_key=new_key())
    assert caught.value.code == "qr_amount_required"
    wallet.pay_qr(ali.id, static, request_key=new_key(), amount_minor=500_00)
    assert balance_minor(container, ali) == 17_000_00
    assert_books_agree(container)


# ---------------------------------------------------------------------------- requests to pay
def ask(container: Container, debtor: Customer, amount_minor: int) -> uuid.UUID:
    request = container.requests.request(
        OTHER_BANK,
        debtor_alias=debtor.mobile,
        amount_minor=amount_minor,
        creditor_name=SUPPLIER_NAME,
        creditor_iban=SUPPLIER_IBAN,
        reference="PO-1001",
        expires_in_s=300,
    )
    return request.id


def test_a_request_to_pay_is_listed_paid_or_declined(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    paid_id = ask(container, ali, 3_000_00)
    container.clock.advance(seconds=1)  # type: ignore[attr-defined]  # oldest first: a later one
    declined_id = ask(container, ali, 1_000_00)
    other = individual(container, "Sana Baig")
    assert [r.id for r in wallet.request_inbox(ali.id)] == [paid_id, declined_id]
    assert wallet.request_inbox(other.id) == []
    theirs_before = bank.liquidity_minor()
    outcome = wallet.pay_request(ali.id, paid_id, request_key=new_key())
    assert outcome.status is not MovementStatus.FAILED
    assert container.requests.get(paid_id).status is RequestStatus.PAID
    assert bank.liquidity_minor() == theirs_before + 3_000_00
    assert balance_minor(container, ali) == 17_000_00
    declined = wallet.decline_request(ali.id, declined_id)
    assert (declined.status, declined.reason) == (RequestStatus.REJECTED, ReasonCode.CUST)
    assert wallet.request_inbox(ali.id) == []
    # Someone else's request cannot be paid or declined.
    third = ask(container, ali, 1_00)
    for call in (
        lambda: wallet.pay_request(other.id, third, request_key=new_key()),
        lambda: wallet.decline_request(other.id, third),
    ):
        refused(container, "switch_request_not_found", call)


def test_a_paid_request_to_pay_completes_the_movement(
    container: Container, bank: OtherBank, ali: Customer
) -> None:
    wallet = container.wallet
    request_id = ask(container, ali, 3_000_00)
    outcome = wallet.pay_request(ali.id, request_id, request_key=new_key())
    wallet.settle_pending()
    (movement,) = wallet.group(outcome.group_id)
    assert movement.status is MovementStatus.COMPLETED
    assert container.ledger.lookup_pending([movement.id])[0].status is PendingStatus.POSTED
    assert_books_agree(container)
