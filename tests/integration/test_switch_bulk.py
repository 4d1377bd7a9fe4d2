"""Bulk credit transfers: 1,000 supplier payments in one file, row by row results."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import bulk, store
from tijarat.switch.bulk import BulkPayments
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments

SUPPLIERS = 1_000
HABB = make_pk_iban("HABB", "9").compact  # a Habib Bank customer's account


def row(n: int, **changes: object) -> CreditTransfer:
    base = CreditTransfer(
        msg_id="BULK-2026-11",
        end_to_end_id=f"PAYOUT-{n:06d}",
        tx_id=f"TX-{n:06d}",
        uetr=uuid.uuid4(),
        amount_minor=1_000_00 + n,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban("HABB" if n % 2 else "SADA", str(n)).compact,
        remittance_information=f"Bill {n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_thousand_supplier_payments_in_one_file(container: Container) -> None:
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
        switch.register_participant(
            code, code.title(), ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
    total = sum(row(n).amount_minor for n in range(SUPPLIERS))
    short = 5_000_00  # more than the rows refused before reservation: the last rows run dry
    switch.fund("MEZNPKKA", Money(total - short, "PKR"), uuid.uuid4())
    switch.link_alias(
        "SADAPAY", "03001234567", make_pk_iban("SADA", "77").compact, "35202-1234567-1", "Dye Works"
    )
    container.payments.connect("HABBPKKA", lambda p: PayeeDecision(accept=True))
    container.payments.connect(
        "SADAPAY",
        lambda p: PayeeDecision(accept=p.request.amount_minor % 7 != 0, reason=ReasonCode.AC04),
    )
    rows = [row(n) for n in range(SUPPLIERS)]
    rows[10] = row(10, creditor_iban=None, creditor_alias="03001234567")
    rows[11] = row(11, creditor_iban=make_pk_iban("ZZZZ", "1").compact)
    rows[12] = replace(rows[13], uetr=uuid.uuid4())  # same end-to-end id twice in the file
    result = container.bulk.submit("MEZNPKKA", rows)
    statuses = [p.status for p in result.payments]
    assert len(statuses) == SUPPLIERS
    assert result.payments[10].creditor_iban == make_pk_iban("SADA", "77").compact
    assert result.payments[11].reason is ReasonCode.AC03
    assert result.payments[13].reason is ReasonCode.DUPL  # the second of the pair
    rejected_by_payee = [p for p in result.payments if p.reason is ReasonCode.AC04]
    assert rejected_by_payee
    assert all(p.request.amount_minor % 7 == 0 for p in rejected_by_payee)
    assert any(p.reason is ReasonCode.AM04 for p in result.payments)  # liquidity ran out
    assert result.settled + result.rejected == SUPPLIERS
    # What the file answers is what was stored (the answer is built, not read back).
    answered = {p.id: p for p in result.payments if p.reason is not ReasonCode.DUPL}
    with container.engine.connect() as connection:
        rows_stored = connection.execute(
            store.payments_table.select().where(store.payments_table.c.id.in_(list(answered)))
        ).all()
    assert {row.id: Payments.from_row(row) for row in rows_stored} == answered
    settled = sum(
        p.request.amount_minor for p in result.payments if p.status is PaymentStatus.SETTLED
    )
    assert switch.liquidity("MEZNPKKA").amount_minor == total - short - settled
    assert (
        switch.liquidity("HABBPKKA").amount_minor + switch.liquidity("SADAPAY").amount_minor
        == settled
    )
    # The same file again pays nothing twice: unchanged rows answer as stored.
    again = container.bulk.submit("MEZNPKKA", rows)
    assert [p.id for p in again.payments if p.reason is not ReasonCode.DUPL] == [
        p.id for p in result.payments if p.reason is not ReasonCode.DUPL
    ]
    assert switch.liquidity("MEZNPKKA").amount_minor == total - short - settled
    assert container.ledger.verify().ok


def test_a_payee_that_answers_a_bulk_row_twice_leaves_the_first_decision(
    container: Container,
) -> None:
    """It accepts a row over the API while the file asks it, then says "reject": the void
    meets a posted reservation. The row is settled, once, and the file goes on."""
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
        switch.register_participant(
            code, code.title(), ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
    switch.fund("MEZNPKKA", Money(10_000_000_00, "PKR"), uuid.uuid4())

    def two_minded(payment: Payment) -> PayeeDecision:
        if payment.request.end_to_end_id == "PAYOUT-000003":
            container.payments.answer("HABBPKKA", payment.id, PayeeDecision(accept=True))
            return PayeeDecision(accept=False, reason=ReasonCode.AC04)
        return PayeeDecision(accept=True)

    container.payments.connect("HABBPKKA", two_minded)
    container.payments.connect("SADAPAY", lambda p: PayeeDecision(accept=True))
    result = container.bulk.submit("MEZNPKKA", [row(n) for n in range(6)])
    assert [p.status for p in result.payments] == [PaymentStatus.SETTLED] * 6
    twice = result.payments[3]
    assert container.payments.payment(twice.id).status is PaymentStatus.SETTLED
    assert container.ledger.verify().ok


def three_banks(container: Container) -> None:
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
        container.switch.register_participant(
            code, code.title(), ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
    container.switch.fund("MEZNPKKA", Money(10_000_000_00, "PKR"), uuid.uuid4())


def test_a_file_that_fails_partway_tells_what_it_decided_and_leaves_the_rest_to_the_sweep(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are decided one after another: when a later one fails, the ones before are
    decided already, so their participants are told before the error is raised; the rows
    never reserved stay pending, and the timeout sweep decides and tells them."""
    three_banks(container)
    monkeypatch.setattr(bulk, "PIPELINE_ROWS", 10)
    heard: list[Payment] = []
    container.payments.listen("MEZNPKKA", heard.append)
    for code in ("HABBPKKA", "SADAPAY"):
        container.payments.connect(code, lambda p: PayeeDecision(accept=True))
    reserve = BulkPayments._reserve
    calls = 0

    def failing_third(self: BulkPayments, file: object, chunk: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("the database went away")
        return reserve(self, file, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(BulkPayments, "_reserve", failing_third)
    with pytest.raises(ConnectionError):
        container.bulk.submit("MEZNPKKA", [row(n) for n in range(30)])
    assert [p.status for p in heard] == [PaymentStatus.SETTLED] * 20
    container.clock.advance(seconds=21)  # type: ignore[attr-defined]
    assert container.payments.sweep_timeouts() == 10
    assert [p.status for p in heard[20:]] == [PaymentStatus.REJECTED] * 10
    assert container.switch.liquidity("HABBPKKA").amount_minor + container.switch.liquidity(
        "SADAPAY"
    ).amount_minor == sum(row(n).amount_minor for n in range(20))
    assert container.ledger.verify().ok


def test_a_reservation_that_expires_before_its_answer_is_rejected_ab05(
    container: Container,
) -> None:
    """Payees that answer after the payee timeout find the reservations expired: the rows
    are rejected AB05, as one payment would be (the chunk's posts come after its answers,
    so the whole chunk is late here), and nothing moves."""
    three_banks(container)

    def slow_for_row_2(payment: Payment) -> PayeeDecision:
        if payment.request.end_to_end_id == "PAYOUT-000002":
            container.clock.advance(seconds=21)  # type: ignore[attr-defined]
        return PayeeDecision(accept=True)

    container.payments.connect("HABBPKKA", lambda p: PayeeDecision(accept=True))
    container.payments.connect("SADAPAY", slow_for_row_2)
    result = container.bulk.submit("MEZNPKKA", [row(n) for n in range(4)])
    assert [(p.status, p.reason) for p in result.payments] == [
        (PaymentStatus.REJECTED, ReasonCode.AB05)
    ] * 4
    for payment in result.payments:
        assert container.payments.payment(payment.id).reason is ReasonCode.AB05
    assert container.switch.liquidity("MEZNPKKA").amount_minor == 10_000_000_00
    assert container.ledger.verify().ok


def test_a_long_file_never_pays_a_row_the_timeout_sweep_rejected(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file may run longer than the payee timeout. Its rows are stored chunk by chunk,
    each just before its reservation, so the sweep (which rejects a pending row stored over
    20 s ago without a reservation, AB06: a crash's leftover) never rejects a row the file is
    about to pay: what the file answers, what is stored and what moved agree."""
    three_banks(container)
    monkeypatch.setattr(bulk, "PIPELINE_ROWS", 10)
    slow = True

    def late_once(payment: Payment) -> PayeeDecision:
        nonlocal slow
        if slow:  # the first row takes the payee timeout; the sweeper runs meanwhile
            slow = False
            container.clock.advance(seconds=21)  # type: ignore[attr-defined]
            sweeper = threading.Thread(target=container.payments.sweep_timeouts)
            sweeper.start()
            sweeper.join()
        return PayeeDecision(accept=True)

    for code in ("HABBPKKA", "SADAPAY"):
        container.payments.connect(code, late_once)
    result = container.bulk.submit("MEZNPKKA", [row(n) for n in range(30)])
    stored = [container.payments.payment(p.id) for p in result.payments]
    assert [(p.status, p.reason) for p in stored] == [(p.status, p.reason) for p in result.payments]
    assert result.settled == 20  # the first chunk's reservations expired (AB05)
    moved = sum(container.switch.liquidity(code).amount_minor for code in ("HABBPKKA", "SADAPAY"))
    assert moved == sum(
        p.request.amount_minor for p in result.payments if p.status is PaymentStatus.SETTLED
    )
    assert container.ledger.verify().ok


def test_a_payee_handler_may_send_a_file_of_its_own(container: Container) -> None:
    """Each file's pipeline runs on threads of its own: a file sent from inside another's
    delivery (a payee forwarding what it received) does not wait for its own caller."""
    three_banks(container)
    container.switch.fund("HABBPKKA", Money(1_000_000_00, "PKR"), uuid.uuid4())
    forwarded: list[bulk.BulkResult] = []

    def forwarding(payment: Payment) -> PayeeDecision:
        if not forwarded:
            forwarded.append(
                container.bulk.submit(
                    "HABBPKKA",
                    [
                        row(n, end_to_end_id=f"FWD-{n}", uetr=uuid.uuid4(), debtor_iban=HABB)
                        for n in range(100, 104, 2)  # even: to SadaPay
                    ],
                )
            )
        return PayeeDecision(accept=True)

    container.payments.connect("HABBPKKA", forwarding)
    container.payments.connect("SADAPAY", lambda p: PayeeDecision(accept=True))
    answers: list[bulk.BulkResult] = []
    sender = threading.Thread(
        target=lambda: answers.append(container.bulk.submit("MEZNPKKA", [row(1), row(3)])),
        daemon=True,
    )
    sender.start()
    sender.join(30)
    assert not sender.is_alive(), "a file sent from a payee handler waited for its caller"
    assert answers[0].settled == 2
    assert forwarded[0].settled == 2
    assert container.ledger.verify().ok


def test_a_slow_payee_in_one_file_does_not_expire_another_files_rows(
    container: Container,
) -> None:
    three_banks(container)
    asked = threading.Event()

    def slow(payment: Payment) -> PayeeDecision:
        asked.set()
        time.sleep(0.5)  # the other file comes meanwhile
        container.clock.advance(seconds=21)  # type: ignore[attr-defined]
        return PayeeDecision(accept=True)

    container.payments.connect("HABBPKKA", slow)
    container.payments.connect("SADAPAY", lambda p: PayeeDecision(accept=True))
    slow_file: list[bulk.BulkResult] = []
    first = threading.Thread(
        target=lambda: slow_file.append(container.bulk.submit("MEZNPKKA", [row(1)]))
    )
    first.start()
    asked.wait(5)
    quick = container.bulk.submit("MEZNPKKA", [row(2)])  # to SadaPay, which answers at once
    first.join()
    assert [(p.status, p.reason) for p in quick.payments] == [(PaymentStatus.SETTLED, None)]
    assert [(p.status, p.reason) for p in slow_file[0].payments] == [
        (PaymentStatus.REJECTED, ReasonCode.AB05)
    ]
    assert container.ledger.verify().ok
