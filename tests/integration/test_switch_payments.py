"""Credit transfers through the hub: by alias and IBAN, accept, reject, timeout, returns."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import payments as payments_module
from tijarat.switch.model import (
    CreditTransfer,
    Participant,
    ParticipantCategory,
    ParticipantStatus,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT
ACCEPT = PayeeDecision(accept=True)


def iban(bank: str, n: int) -> str:
    return make_pk_iban(bank, str(n)).compact


@pytest.fixture
def hub(container: Container) -> Payments:
    switch = container.switch
    for code, name, bank in (
        ("MEZNPKKA", "Meezan Bank", "MEZN"),
        ("HABBPKKA", "Habib Bank", "HABB"),
        ("SADAPAY", "SadaPay", "SADA"),
    ):
        switch.register_participant(code, name, DIRECT, bank_code=bank)
        switch.fund(code, Money(1_000_000_00, "PKR"), uuid.uuid4())
    switch.link_alias("HABBPKKA", "03001234567", iban("HABB", 7), "35202-1234567-1", "Ali Raza")
    return container.payments


def transfer(amount: int = 25_000_00, **changes: object) -> CreditTransfer:
    base = CreditTransfer(
        msg_id=f"MSG{uuid.uuid4().hex[:20]}",
        end_to_end_id=f"E2E{uuid.uuid4().hex[:20]}",
        tx_id=f"TX{uuid.uuid4().hex[:20]}",
        uetr=uuid.uuid4(),
        amount_minor=amount,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=iban("MEZN", 1),
        creditor_alias="03001234567",
        remittance_information="Invoice 42",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def liquidity(container: Container, code: str) -> int:
    return container.switch.liquidity(code).amount_minor


def test_by_alias_accepted_settles_and_moves_liquidity(hub: Payments, container: Container) -> None:
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    payment = hub.submit("MEZNPKKA", transfer())
    assert (payment.status, payment.reason) == (PaymentStatus.SETTLED, None)
    assert payment.creditor_iban == iban("HABB", 7)
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00 - 25_000_00
    assert liquidity(container, "HABBPKKA") == 1_000_000_00 + 25_000_00
    assert hub.status("MEZNPKKA", payment.request.end_to_end_id).status is PaymentStatus.SETTLED
    assert container.ledger.verify().ok


def test_by_iban_rejected_by_the_payee_releases_the_funds(
    hub: Payments, container: Container
) -> None:
    hub.connect("SADAPAY", lambda payment: PayeeDecision(accept=False, reason=ReasonCode.AC04))
    payment = hub.submit("MEZNPKKA", transfer(creditor_alias=None, creditor_iban=iban("SADA", 3)))
    assert (payment.status, payment.reason) == (PaymentStatus.REJECTED, ReasonCode.AC04)
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00
    assert container.ledger.verify().ok


def test_a_silent_payee_times_out_with_ab05_and_a_late_accept_changes_nothing(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    payment = hub.submit("MEZNPKKA", transfer())  # no handler connected: no answer
    assert payment.status is PaymentStatus.PENDING
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00 - 25_000_00  # reserved
    clock.advance(seconds=hub.payee_timeout_s - 1)
    assert hub.sweep_timeouts() == 0
    clock.advance(seconds=2)
    assert hub.sweep_timeouts() == 1
    swept = hub.payment(payment.id)
    assert (swept.status, swept.reason) == (PaymentStatus.REJECTED, ReasonCode.AB05)
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00
    late = hub.answer("HABBPKKA", payment.id, ACCEPT)
    assert late.status is PaymentStatus.REJECTED
    assert liquidity(container, "HABBPKKA") == 1_000_000_00
    assert container.ledger.verify().ok


def test_an_accept_after_the_timeout_but_before_the_sweep_is_refused(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    payment = hub.submit("MEZNPKKA", transfer())
    clock.advance(seconds=hub.payee_timeout_s + 1)
    answered = hub.answer("HABBPKKA", payment.id, ACCEPT)
    assert (answered.status, answered.reason) == (PaymentStatus.REJECTED, ReasonCode.AB05)
    assert liquidity(container, "HABBPKKA") == 1_000_000_00


def test_rejections_carry_iso_reason_codes_and_move_nothing(
    hub: Payments, container: Container
) -> None:
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    container.switch.set_status("SADAPAY", ParticipantStatus.SUSPENDED)
    cases = [
        (transfer(creditor_alias="03009999999"), ReasonCode.AC03),
        (transfer(creditor_alias=None, creditor_iban=iban("ZZZZ", 1)), ReasonCode.AC03),
        (transfer(creditor_alias=None, creditor_iban=iban("SADA", 1)), ReasonCode.AG01),
        (transfer(amount=2_000_000_00), ReasonCode.AM04),
        (transfer(amount=0), ReasonCode.AM02),
        (transfer(currency="USD"), ReasonCode.AM02),
        (transfer(debtor_iban=iban("HABB", 1)), ReasonCode.BE01),
        (transfer(end_to_end_id="E" * 36), ReasonCode.FF01),
        (transfer(creditor_iban=iban("HABB", 9)), ReasonCode.FF01),  # two creditors
        (transfer(creditor_alias="+1 212 555 0100"), ReasonCode.FF01),
        (transfer(uetr=uuid.uuid1()), ReasonCode.FF01),
    ]
    for request, reason in cases:
        payment = hub.submit("MEZNPKKA", request)
        assert (payment.status, payment.reason) == (PaymentStatus.REJECTED, reason), reason
        assert hub.payment(payment.id).reason is reason  # stored: a status request can answer
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00
    assert container.ledger.verify().ok


def test_duplicates_move_money_once(hub: Payments, container: Container) -> None:
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    request = transfer()
    first = hub.submit("MEZNPKKA", request)
    again = hub.submit("MEZNPKKA", request)
    assert again.id == first.id
    assert again.status is PaymentStatus.SETTLED
    altered = hub.submit("MEZNPKKA", replace(request, amount_minor=request.amount_minor + 1))
    assert (altered.status, altered.reason) == (PaymentStatus.REJECTED, ReasonCode.DUPL)
    same_uetr = hub.submit("MEZNPKKA", replace(transfer(), uetr=request.uetr))
    assert same_uetr.reason is ReasonCode.DUPL
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00 - 25_000_00


def test_a_suspended_payer_sends_nothing(hub: Payments, container: Container) -> None:
    container.switch.set_status("MEZNPKKA", ParticipantStatus.SUSPENDED)
    with pytest.raises(DomainError) as refused:
        hub.submit("MEZNPKKA", transfer())
    assert refused.value.code == "switch_participant_suspended"


def test_a_policy_can_refuse_before_funds_are_reserved(hub: Payments, container: Container) -> None:
    class SandboxCap:
        def check(
            self, payer: Participant, payee: Participant, request: CreditTransfer
        ) -> ReasonCode | None:
            return ReasonCode.RR04 if request.amount_minor > 10_000_00 else None

    hub.policy = SandboxCap()
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    assert hub.submit("MEZNPKKA", transfer(amount=10_000_01)).reason is ReasonCode.RR04
    assert hub.submit("MEZNPKKA", transfer(amount=10_000_00)).status is PaymentStatus.SETTLED


def test_returns_are_partial_idempotent_and_bounded(hub: Payments, container: Container) -> None:
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    payment = hub.submit("MEZNPKKA", transfer(amount=10_000_00))
    first = uuid.uuid4()
    assert (
        hub.return_payment("HABBPKKA", payment.id, 4_000_00, ReasonCode.MD06, first).returned_minor
        == 4_000_00
    )
    assert (
        hub.return_payment("HABBPKKA", payment.id, 4_000_00, ReasonCode.MD06, first).returned_minor
        == 4_000_00
    )
    with pytest.raises(DomainError) as too_much:
        hub.return_payment("HABBPKKA", payment.id, 6_000_01, ReasonCode.CUST, uuid.uuid4())
    assert too_much.value.fields["remaining_minor"] == 6_000_00
    with pytest.raises(DomainError) as stranger:
        hub.return_payment("SADAPAY", payment.id, 1, ReasonCode.CUST, uuid.uuid4())
    assert stranger.value.code == "switch_payment_not_found"
    hub.return_payment("HABBPKKA", payment.id, 6_000_00, ReasonCode.CUST, uuid.uuid4())
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00
    assert liquidity(container, "HABBPKKA") == 1_000_000_00
    assert container.ledger.verify().ok


def test_a_payee_handler_that_crashes_is_a_non_answer(hub: Payments) -> None:
    def broken(payment: object) -> PayeeDecision:
        raise RuntimeError("payee down")

    hub.connect("HABBPKKA", broken)
    assert hub.submit("MEZNPKKA", transfer()).status is PaymentStatus.PENDING


def test_the_settlement_report_reconciles_with_the_ledger(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    clock.advance(seconds=1)  # after the fixture's funding: that is the opening balance
    start = clock.now_ns()
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    hub.connect("SADAPAY", lambda payment: PayeeDecision(accept=False, reason=ReasonCode.AC04))
    settled = [hub.submit("MEZNPKKA", transfer(amount=a)) for a in (1_000_00, 2_000_00)]
    hub.submit("MEZNPKKA", transfer(creditor_alias=None, creditor_iban=iban("SADA", 2)))
    hub.return_payment("HABBPKKA", settled[0].id, 300_00, ReasonCode.MD06, uuid.uuid4())
    container.switch.defund("MEZNPKKA", Money(50_00, "PKR"), uuid.uuid4())
    clock.advance(seconds=1)
    report = hub.settlement_report("MEZNPKKA", start, clock.now_ns())
    assert (report.sent_count, report.sent_minor) == (2, 3_000_00)  # the rejected one moved nothing
    assert (report.received_count, report.returned_in_minor) == (0, 300_00)
    assert report.funded_minor == -50_00
    assert report.opening_minor == 1_000_000_00
    movements = (
        report.received_minor
        - report.sent_minor
        + report.returned_in_minor
        - report.returned_out_minor
        + report.funded_minor
    )
    assert report.closing_minor == report.opening_minor + movements
    assert report.closing_minor == liquidity(container, "MEZNPKKA")
    habib = hub.settlement_report("HABBPKKA", start, clock.now_ns())
    assert (habib.received_count, habib.received_minor, habib.returned_out_minor) == (
        2,
        3_000_00,
        300_00,
    )


def test_the_settlement_report_reads_every_page_of_a_long_history(
    hub: Payments, container: Container, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.now_ns()
    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    for amount in range(1_00, 8_00, 1_00):  # seven payments: reservations and posts
        hub.submit("MEZNPKKA", transfer(amount=amount))
    clock.advance(seconds=1)
    whole = hub.settlement_report("MEZNPKKA", start, clock.now_ns())
    assert (whole.sent_count, whole.sent_minor) == (7, 28_00)
    monkeypatch.setattr(payments_module, "STATEMENT_PAGE", 2)  # was one page; now eight
    assert hub.settlement_report("MEZNPKKA", start, clock.now_ns()) == whole


def test_a_merchant_qr_turns_into_a_payment(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    from datetime import timedelta

    from tijarat.kernel.clock import from_ns
    from tijarat.kernel.identifiers import MobileNumber
    from tijarat.switch import qr

    hub.connect("HABBPKKA", lambda payment: ACCEPT)
    merchant = MobileNumber.parse("03001234567")

    def ids() -> tuple[str, str, str, uuid.UUID]:
        return ("M" + uuid.uuid4().hex[:20], "E" + uuid.uuid4().hex[:20], "T1", uuid.uuid4())

    static = qr.build(
        qr.MerchantQr(
            account=merchant,
            merchant_name="Ali Raza Dyes",
            merchant_city="Karachi",
            merchant_category_code="5999",
        )
    )
    kwargs = {"debtor_name": "Skardu Crafts", "debtor_iban": iban("MEZN", 1)}
    with pytest.raises(DomainError) as no_amount:
        hub.pay_qr("MEZNPKKA", static, ids=ids(), **kwargs)
    assert no_amount.value.code == "qr_amount_required"
    paid = hub.pay_qr("MEZNPKKA", static, ids=ids(), amount_minor=700_00, **kwargs)
    assert (paid.status, paid.creditor_iban) == (PaymentStatus.SETTLED, iban("HABB", 7))
    dynamic = qr.build(
        qr.MerchantQr(
            account=merchant,
            merchant_name="Ali Raza Dyes",
            merchant_city="Karachi",
            merchant_category_code="5999",
            point_of_initiation="dynamic",
            amount=Money(1_250_00, "PKR"),
            bill_number="INV-77",
            expiry=from_ns(clock.now_ns()) + timedelta(minutes=10),
        )
    )
    with pytest.raises(DomainError) as override:
        hub.pay_qr("MEZNPKKA", dynamic, ids=ids(), amount_minor=1_00, **kwargs)
    assert override.value.code == "qr_amount_not_allowed"
    bill = hub.pay_qr("MEZNPKKA", dynamic, ids=ids(), **kwargs)
    assert (bill.request.amount_minor, bill.request.remittance_information) == (1_250_00, "INV-77")
    clock.advance(seconds=601)
    with pytest.raises(DomainError) as late:
        hub.pay_qr("MEZNPKKA", dynamic, ids=ids(), **kwargs)
    assert late.value.code == "qr_expired"
    middle = len(dynamic) // 2
    tampered = dynamic[:middle] + ("0" if dynamic[middle] != "0" else "1") + dynamic[middle + 1 :]
    with pytest.raises(DomainError) as broken:
        hub.pay_qr("MEZNPKKA", tampered, ids=ids(), **kwargs)
    assert broken.value.code == "qr_crc_mismatch"
    assert liquidity(container, "MEZNPKKA") == 1_000_000_00 - 700_00 - 1_250_00
