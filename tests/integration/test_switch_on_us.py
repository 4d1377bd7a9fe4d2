"""On-us payments: payer and payee at one participant, through the hub all the same."""

from __future__ import annotations

import uuid

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


def transfer(amount_minor: int) -> CreditTransfer:
    return CreditTransfer(
        msg_id="M" + uuid.uuid4().hex[:20],
        end_to_end_id="E" + uuid.uuid4().hex[:20],
        tx_id="T" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban("MEZN", "2").compact,  # the same bank
        creditor_name="Gilgit Gems",
    )


def test_an_on_us_payment_settles_without_moving_the_position(container: Container) -> None:
    switch, payments = container.switch, container.payments
    switch.register_participant(
        "MEZNPKKA", "Meezan", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    switch.fund("MEZNPKKA", Money(100_000_00, "PKR"), uuid.uuid4())
    payments.connect("MEZNPKKA", lambda _p: PayeeDecision(accept=True))
    start = container.clock.now_ns()
    paid = payments.submit("MEZNPKKA", transfer(30_000_00))
    assert paid.status is PaymentStatus.SETTLED
    assert switch.liquidity("MEZNPKKA") == Money(100_000_00, "PKR")
    on_us = container.ledger.get_account(switch.on_us_account_id).balance
    assert on_us.net_credit_posted == 0
    # More than the position itself cannot be reserved, on-us or not.
    refused = payments.submit("MEZNPKKA", transfer(100_000_01))
    assert (refused.status, refused.reason) == (PaymentStatus.REJECTED, ReasonCode.AM04)
    # A return records without moving anything between participants.
    returned = payments.return_payment("MEZNPKKA", paid.id, 5_000_00, ReasonCode.MD06, uuid.uuid4())
    assert returned.returned_minor == 5_000_00
    assert switch.liquidity("MEZNPKKA") == Money(100_000_00, "PKR")
    # In a bulk file too.
    bulk = container.bulk.submit("MEZNPKKA", [transfer(1_000_00), transfer(2_000_00)])
    assert [p.status for p in bulk.payments] == [PaymentStatus.SETTLED] * 2
    assert switch.liquidity("MEZNPKKA") == Money(100_000_00, "PKR")
    report = payments.settlement_report("MEZNPKKA", start, container.clock.now_ns() + 10**12)
    assert (report.sent_minor, report.received_minor) == (33_000_00, 33_000_00)
    assert container.ledger.verify().ok
