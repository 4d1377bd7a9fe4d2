"""An optional net debit cap per participant: sent - received in a Pakistan settlement day."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.service import settlement_day_start_ns


def transfer(amount_minor: int, creditor_bank: str = "HABB") -> CreditTransfer:
    return CreditTransfer(
        msg_id="M" + uuid.uuid4().hex[:20],
        end_to_end_id="E" + uuid.uuid4().hex[:20],
        tx_id="T" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban(creditor_bank, "2").compact,
        creditor_name="Supplier",
    )


def setup(container: Container) -> None:
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        switch.fund(code, Money(1_000_000_00, "PKR"), uuid.uuid4())
        container.payments.connect(code, lambda _p: PayeeDecision(accept=True))


def test_payments_beyond_the_cap_are_rejected_am23_until_money_comes_back(
    container: Container,
) -> None:
    setup(container)
    container.switch.set_net_debit_cap("MEZNPKKA", 100_000_00)
    payments = container.payments
    assert payments.submit("MEZNPKKA", transfer(60_000_00)).status is PaymentStatus.SETTLED
    assert payments.submit("MEZNPKKA", transfer(40_000_00)).status is PaymentStatus.SETTLED
    over = payments.submit("MEZNPKKA", transfer(1))
    assert (over.status, over.reason) == (PaymentStatus.REJECTED, ReasonCode.AM23)
    # Money received reopens room: Habib pays Meezan 30,000.
    back = transfer(30_000_00, creditor_bank="MEZN")
    back = replace(back, debtor_iban=make_pk_iban("HABB", "9").compact)
    assert payments.submit("HABBPKKA", back).status is PaymentStatus.SETTLED
    assert payments.submit("MEZNPKKA", transfer(30_000_00)).status is PaymentStatus.SETTLED
    # A new settlement day (midnight Pakistan time) starts from zero.
    now = container.clock.now_ns()
    container.clock.advance(
        timedelta(microseconds=(settlement_day_start_ns(now) + 86_400 * 10**9 - now) // 1_000 + 1)
    )
    assert payments.submit("MEZNPKKA", transfer(100_000_00)).status is PaymentStatus.SETTLED
    # Bulk: rows beyond the cap are rejected in file order, the rest go through.
    container.switch.set_net_debit_cap("MEZNPKKA", 120_000_00)
    result = container.bulk.submit(
        "MEZNPKKA", [transfer(15_000_00), transfer(10_000_00), transfer(5_000_00)]
    )
    assert [p.reason for p in result.payments] == [None, ReasonCode.AM23, None]
    container.switch.set_net_debit_cap("MEZNPKKA", None)
    assert payments.submit("MEZNPKKA", transfer(50_000_00)).status is PaymentStatus.SETTLED
    assert container.ledger.verify().ok


def test_settlement_day_starts_at_pakistan_midnight() -> None:
    nineteen_utc = 1_767_207_600 * 10**9  # 2025-12-31T19:00:00Z = 2026-01-01 00:00 PKT
    assert settlement_day_start_ns(nineteen_utc) == nineteen_utc
    assert settlement_day_start_ns(nineteen_utc - 1) == nineteen_utc - 86_400 * 10**9
    assert settlement_day_start_ns(nineteen_utc + 86_399 * 10**9) == nineteen_utc
