"""Payments carried out in groups (Payments.submit_many, PaymentQueue) keep submit's rules.

Every case submit knows, in one group: settled over HTTP, refused by the payee, refused at
routing, refused for funds, a retry, a duplicate, a suspended payer, a payee that polls, and a
participant suspended by another process since it was cached.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import replace

import pytest
from test_switch_fast_path import transfer
from test_switch_transport import CLOSED_ACCOUNT_AMOUNT, PayeeBank, serve

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import grouping
from tijarat.switch.grouping import PaymentQueue
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    ParticipantStatus,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.service import SwitchService

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT
FUNDS = 1_000_000_00


@pytest.fixture
def hub(container: Container) -> Container:
    banks = (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA"), ("UBLPKKA", "UNIL"))
    for code, bank in banks:
        container.switch.register_participant(code, code, DIRECT, bank_code=bank)
    for code in ("MEZNPKKA", "HABBPKKA", "UBLPKKA"):
        container.switch.fund(code, Money(FUNDS, "PKR"), uuid.uuid4())
    return container


def paid_by(bank: str, amount: int = 1_000_00, to: str = "HABB") -> CreditTransfer:
    return transfer(amount, to, debtor_iban=make_pk_iban(bank, "1").compact)


def test_one_group_answers_every_case_as_submit_would(hub: Container) -> None:
    bank = PayeeBank()
    server, url = serve(bank)
    try:
        bank.secret = hub.switch.set_endpoint("HABBPKKA", url) or ""
        sent_before = transfer(2_00)
        assert hub.payments.submit("MEZNPKKA", sent_before).status is PaymentStatus.SETTLED
        hub.switch.set_status("UBLPKKA", ParticipantStatus.SUSPENDED)
        twin = transfer(3_00)
        items = [
            ("MEZNPKKA", transfer(2_500_00)),  # 0 settles over HTTP
            ("MEZNPKKA", transfer(CLOSED_ACCOUNT_AMOUNT)),  # 1 the payee refuses: AC04
            ("MEZNPKKA", transfer(bank="ZZZZ")),  # 2 no such bank: AC03, stored
            ("MEZNPKKA", transfer(FUNDS * 10)),  # 3 beyond the payer's funds: AM04
            ("MEZNPKKA", sent_before),  # 4 a retry: the stored payment, nothing moves
            ("MEZNPKKA", twin),  # 5 settles
            ("MEZNPKKA", replace(twin, amount_minor=4_00)),  # 6 its ids, other content: DUPL
            ("UBLPKKA", paid_by("UNIL")),  # 7 suspended payer: refused
            ("MEZNPKKA", transfer(bank="SADA")),  # 8 a payee without a transport: pending
            ("HABBPKKA", paid_by("HABB", 5_00, to="MEZN")),  # 9 in process
        ]
        hub.payments.connect("MEZNPKKA", lambda _p: PayeeDecision(accept=True))
        answers = hub.payments.submit_many(items)
    finally:
        server.shutdown()
    assert len(answers) == len(items)
    outcomes = [(a.status, a.reason) if not isinstance(a, Exception) else type(a) for a in answers]
    assert outcomes == [
        (PaymentStatus.SETTLED, None),
        (PaymentStatus.REJECTED, ReasonCode.AC04),
        (PaymentStatus.REJECTED, ReasonCode.AC03),
        (PaymentStatus.REJECTED, ReasonCode.AM04),
        (PaymentStatus.SETTLED, None),
        (PaymentStatus.SETTLED, None),
        (PaymentStatus.REJECTED, ReasonCode.DUPL),
        DomainError,
        (PaymentStatus.PENDING, None),
        (PaymentStatus.SETTLED, None),
    ]
    error = answers[7]
    assert isinstance(error, DomainError)
    assert error.code == "switch_participant_suspended"
    # Each stored answer is what the database holds.
    for answer in answers:
        if not isinstance(answer, Exception) and answer.reason is not ReasonCode.DUPL:
            assert hub.payments.payment(answer.id) == answer
    retry = answers[4]
    assert not isinstance(retry, Exception)
    assert retry.request == sent_before
    # The payee heard of the four payments delivered to it, and of each outcome once.
    assert len(bank.advices) == 1 + 3  # the earlier payment, then 0, 1 and 5
    # Reports: the earlier payment, 0, 1, 3 (refused for funds after its advice was built),
    # 5, and 9 (HABBPKKA paid, in process, and hears of it at its endpoint).
    statuses = sorted(r.transactions[0].status.value for r in bank.reports)
    assert statuses == ["ACSC"] * 4 + ["RJCT"] * 2
    archive = hub.gateway.archive(hub.switch.participant("HABBPKKA"))
    assert [m["message_type"] for m in archive].count("pacs.008.001.08") == 4
    # Money moved for the settled ones, and is held for the pending one (8).
    mezn = hub.switch.liquidity("MEZNPKKA")
    assert mezn.amount_minor == FUNDS - 2_00 - 2_500_00 - 3_00 - 1_000_00 + 5_00
    assert hub.ledger.verify().ok


def test_a_participant_suspended_elsewhere_is_refused_by_the_group(hub: Container) -> None:
    hub.payments.connect("HABBPKKA", lambda _p: PayeeDecision(accept=True))
    assert hub.payments.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED
    SwitchService(hub.engine, hub.ledger, hub.clock).set_status(
        "HABBPKKA", ParticipantStatus.SUSPENDED
    )  # another process
    (answer,) = hub.payments.submit_many([("MEZNPKKA", transfer())])
    assert not isinstance(answer, Exception)
    assert (answer.status, answer.reason) == (PaymentStatus.REJECTED, ReasonCode.AG01)
    assert hub.ledger.verify().ok


def test_the_queue_groups_what_arrives_while_a_group_is_out(hub: Container) -> None:
    queue = PaymentQueue(hub.payments, workers=1)
    waiting = 20
    first = threading.Event()

    def payee(_payment: object) -> PayeeDecision:
        if not first.is_set():  # hold the first group until the others have queued
            first.set()
            deadline = time.monotonic() + 10
            while len(queue._queue) < waiting and time.monotonic() < deadline:
                time.sleep(0.01)
        return PayeeDecision(accept=True)

    hub.payments.connect("HABBPKKA", payee)
    try:
        futures = [queue.submit("MEZNPKKA", transfer(1_00))]
        assert first.wait(10)
        futures += [queue.submit("MEZNPKKA", transfer(1_00)) for _ in range(waiting)]
        answers = [future.result(timeout=30) for future in futures]
    finally:
        queue.close()
    assert all(a.status is PaymentStatus.SETTLED for a in answers)
    assert (queue.groups, queue.submitted) == (2, 1 + waiting)
    assert hub.switch.liquidity("MEZNPKKA").amount_minor == FUNDS - 21 * 1_00
    with pytest.raises(DomainError):
        queue.submit("MEZNPKKA", transfer())  # closed: refused, not lost


def test_waiters_that_gave_up_are_skipped_and_a_loops_waiters_answered_together(
    hub: Container,
) -> None:
    """A client that went away cancels its future; the payment is still carried out (it
    was acknowledged to the queue) and the worker goes on. Coroutines get their answers."""
    queue = PaymentQueue(hub.payments, workers=1)
    release = threading.Event()

    def payee(_payment: object) -> PayeeDecision:
        release.wait(10)  # hold the group until the waiters below have given up
        return PayeeDecision(accept=True)

    hub.payments.connect("HABBPKKA", payee)

    async def scenario() -> list[Payment]:
        gone = queue.submit_async("MEZNPKKA", transfer(1_00))
        threaded = queue.submit("MEZNPKKA", transfer(1_00))
        await asyncio.sleep(0.05)
        gone.cancel()
        assert threaded.cancel() is True  # not running yet: cancelled in the queue's hands
        release.set()
        staying = [queue.submit_async("MEZNPKKA", transfer(1_00)) for _ in range(5)]
        return list(await asyncio.gather(*staying))

    try:
        answers = asyncio.run(scenario())
        later = queue.submit("MEZNPKKA", transfer(1_00)).result(timeout=30)
    finally:
        queue.close()
    assert all(a.status is PaymentStatus.SETTLED for a in [*answers, later])
    # Every payment was carried out, those whose waiters gave up too.
    assert queue.submitted == 8
    assert hub.switch.liquidity("MEZNPKKA").amount_minor == FUNDS - 8 * 1_00


def test_a_coroutine_meets_a_full_queue_with_503_not_a_stalled_loop(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting for room would stop the event loop and every request on it: refused instead."""
    monkeypatch.setattr(grouping, "QUEUE_MAX", 2)
    queue = PaymentQueue(hub.payments, workers=1)
    release = threading.Event()
    hub.payments.connect("HABBPKKA", lambda _payment: release.wait(10) and None)

    async def scenario() -> tuple[list[Payment | BaseException], DomainError]:
        held = queue.submit_async("MEZNPKKA", transfer(1_00))  # taken: its group waits
        await asyncio.sleep(0.05)
        queued = [queue.submit_async("MEZNPKKA", transfer(1_00)) for _ in range(2)]
        with pytest.raises(DomainError) as full:
            queue.submit_async("MEZNPKKA", transfer(1_00))
        release.set()
        answers = await asyncio.gather(held, *queued, return_exceptions=True)
        return list(answers), full.value

    try:
        answers, refusal = asyncio.run(scenario())
    finally:
        queue.close()
    assert (refusal.status, refusal.code) == (503, "switch_busy")
    assert all(isinstance(answer, Payment) for answer in answers)  # pending: nobody answered
    assert queue.submitted == 3


def test_a_payee_that_answers_twice_leaves_the_first_decision_standing(hub: Container) -> None:
    """It accepts over the API while it is being asked, then answers "reject": the void
    meets a posted reservation. The payment is settled, once, and neither path fails."""

    def two_minded(payment: Payment) -> PayeeDecision:
        assert hub.payments.answer("HABBPKKA", payment.id, PayeeDecision(accept=True)).status is (
            PaymentStatus.SETTLED
        )
        return PayeeDecision(accept=False, reason=ReasonCode.AC04)

    hub.payments.connect("HABBPKKA", two_minded)
    alone = hub.payments.submit("MEZNPKKA", transfer(1_00))
    grouped = hub.payments.submit_many([("MEZNPKKA", transfer(1_00)) for _ in range(3)])
    for payment in [alone, *grouped]:
        assert isinstance(payment, Payment)
        assert (payment.status, payment.reason) == (PaymentStatus.SETTLED, None)
        assert hub.payments.payment(payment.id).status is PaymentStatus.SETTLED
    assert hub.switch.liquidity("MEZNPKKA").amount_minor == FUNDS - 4 * 1_00
    assert hub.switch.liquidity("HABBPKKA").amount_minor == FUNDS + 4 * 1_00
    assert hub.ledger.verify().ok
