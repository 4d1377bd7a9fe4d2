"""Participants that poll (no endpoint, no in-process handler or listener) find their credit
advices and the outcomes they were not answered with in their archive, their inbox."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.model import (
    ArchivedMessage,
    CreditTransfer,
    Participant,
    ParticipantCategory,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT


@pytest.fixture
def hub(container: Container) -> Payments:
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(code, code, DIRECT, bank_code=bank)
        switch.fund(code, Money(1_000_000_00, "PKR"), uuid.uuid4())
    return container.payments


def transfer(amount: int = 25_000_00) -> CreditTransfer:
    return CreditTransfer(
        msg_id=f"MSG{uuid.uuid4().hex[:20]}",
        end_to_end_id=f"E2E{uuid.uuid4().hex[:20]}",
        tx_id=f"TX{uuid.uuid4().hex[:20]}",
        uetr=uuid.uuid4(),
        amount_minor=amount,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban("HABB", "7").compact,
    )


def inbox(container: Container, code: str) -> list[iso.Message]:
    """The documents archived for `code` by the hub (direction out), oldest first."""
    participant: Participant = container.switch.participant(code)
    gateway = container.gateway
    return [
        iso.parse_envelope(gateway.message(participant, entry["id"])).document
        for entry in reversed(gateway.archive(participant))
        if entry["direction"] == "out"
    ]


def statuses(messages: list[iso.Message]) -> list[tuple[str, str | None]]:
    found = []
    for message in messages:
        if isinstance(message, iso.PaymentStatusReport):
            for tx in message.transactions:
                reason = tx.reasons[0].code.value if tx.reasons and tx.reasons[0].code else None
                found.append((tx.status.value, reason))
    return found


def test_a_polling_payee_finds_the_advice_and_the_payer_the_outcome(
    hub: Payments, container: Container
) -> None:
    payment = hub.submit("MEZNPKKA", transfer())
    assert payment.status is PaymentStatus.PENDING
    (advice,) = inbox(container, "HABBPKKA")
    assert isinstance(advice, iso.CustomerCreditTransfer)
    assert advice.transactions[0].uetr == payment.request.uetr
    assert inbox(container, "MEZNPKKA") == []  # answered PDNG; nothing decided yet
    settled = hub.answer("HABBPKKA", payment.id, PayeeDecision(accept=True))
    assert settled.status is PaymentStatus.SETTLED
    # The payer was answered PDNG: the outcome reaches it in its archive. The payee has it
    # in the answer to its own decision.
    assert statuses(inbox(container, "MEZNPKKA")) == [("ACSC", None)]
    assert statuses(inbox(container, "HABBPKKA")) == []
    assert container.ledger.verify().ok


def test_a_timeout_is_told_to_both_polling_parties(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    hub.submit("MEZNPKKA", transfer())
    clock.advance(seconds=hub.payee_timeout_s + 1)
    assert hub.sweep_timeouts() == 1
    assert statuses(inbox(container, "MEZNPKKA")) == [("RJCT", "AB05")]
    assert statuses(inbox(container, "HABBPKKA")) == [("RJCT", "AB05")]


def test_a_refused_payment_never_shows_the_payee_an_advice(
    hub: Payments, container: Container
) -> None:
    payment = hub.submit("MEZNPKKA", transfer(amount=2_000_000_00))  # beyond its liquidity
    assert (payment.status, payment.reason) == (PaymentStatus.REJECTED, ReasonCode.AM04)
    assert not [
        m for m in inbox(container, "HABBPKKA") if isinstance(m, iso.CustomerCreditTransfer)
    ]
    assert statuses(inbox(container, "MEZNPKKA")) == []  # answered RJCT in the submit


def test_grouped_and_bulk_payments_reach_a_polling_payee(
    hub: Payments, container: Container
) -> None:
    grouped = hub.submit_many([("MEZNPKKA", transfer()) for _ in range(3)])
    rows = [replace(transfer(), end_to_end_id=f"BULK-{n}") for n in range(4)]
    bulk = container.bulk.submit("MEZNPKKA", rows)
    assert bulk.pending == 4
    advices = [m for m in inbox(container, "HABBPKKA") if isinstance(m, iso.CustomerCreditTransfer)]
    expected = {p.request.uetr for p in grouped if not isinstance(p, Exception)}
    expected |= {row.uetr for row in rows}
    assert {m.transactions[0].uetr for m in advices} == expected
    # The payer has every outcome in its answers: nothing in its archive.
    assert statuses(inbox(container, "MEZNPKKA")) == []


def test_a_payee_reached_in_process_gets_nothing_archived(
    hub: Payments, container: Container
) -> None:
    hub.connect("HABBPKKA", lambda payment: None)  # in process: it decides later, by the API
    payment = hub.submit("MEZNPKKA", transfer())
    assert payment.status is PaymentStatus.PENDING
    assert inbox(container, "HABBPKKA") == []


def test_a_polling_payee_lists_what_awaits_its_answer(
    hub: Payments, container: Container, clock: ManualClock
) -> None:
    first = hub.submit("MEZNPKKA", transfer())
    clock.advance(seconds=1)
    second = hub.submit("MEZNPKKA", transfer())
    assert [p.id for p in hub.incoming("HABBPKKA")] == [first.id, second.id]
    hub.answer("HABBPKKA", first.id, PayeeDecision(accept=True))
    assert [p.id for p in hub.incoming("HABBPKKA")] == [second.id]
    assert [p.id for p in hub.incoming("HABBPKKA", status=None)] == [first.id, second.id]
    assert [p.id for p in hub.incoming("HABBPKKA", status=None, since_ns=second.created_at)] == [
        second.id
    ]
    assert hub.incoming("MEZNPKKA") == []  # the payer's own payments are not incoming


def test_a_return_reaches_the_polling_payer_as_a_pacs004(
    hub: Payments, container: Container
) -> None:
    hub.connect("HABBPKKA", lambda payment: PayeeDecision(accept=True))
    payment = hub.submit("MEZNPKKA", transfer())
    assert payment.status is PaymentStatus.SETTLED
    return_id = uuid.uuid4()
    hub.return_payment("HABBPKKA", payment.id, 10_000_00, ReasonCode.MD06, return_id)
    hub.return_payment("HABBPKKA", payment.id, 10_000_00, ReasonCode.MD06, return_id)  # retry
    (returned,) = [m for m in inbox(container, "MEZNPKKA") if isinstance(m, iso.PaymentReturn)]
    (tx,) = returned.transactions
    assert (tx.original_uetr, tx.original_end_to_end_id) == (
        payment.request.uetr,
        payment.request.end_to_end_id,
    )
    assert tx.returned_amount == Money(10_000_00, "PKR")
    assert tx.original_amount == Money(25_000_00, "PKR")
    assert tx.reason.code is iso.ReasonCode.MD06
    assert returned.instructing_agent == iso.Agent(member_id="HABBPKKA")


def answer_envelope(code: str, *statuses: iso.TransactionStatus) -> bytes:
    report = iso.PaymentStatusReport(
        message_id="A" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=statuses,
    )
    return iso.build_envelope(iso.Envelope.of(report, sender=code, receiver="RAASTHUB"))


def test_a_polling_payee_answers_its_advices_with_a_pacs002(
    hub: Payments, container: Container
) -> None:
    accepted, refused = hub.submit("MEZNPKKA", transfer()), hub.submit("MEZNPKKA", transfer())
    advices = [m for m in inbox(container, "HABBPKKA") if isinstance(m, iso.CustomerCreditTransfer)]
    by_uetr = {m.transactions[0].uetr: m.transactions[0] for m in advices}
    first, second = by_uetr[accepted.request.uetr], by_uetr[refused.request.uetr]
    habib = container.switch.participant("HABBPKKA")
    body = answer_envelope(
        "HABBPKKA",
        iso.TransactionStatus(
            status=iso.PaymentStatus.ACSC,
            original_end_to_end_id=first.end_to_end_id,
            original_uetr=first.uetr,
        ),
        iso.TransactionStatus(  # named by its end-to-end and transaction ids only
            status=iso.PaymentStatus.RJCT,
            original_end_to_end_id=second.end_to_end_id,
            original_transaction_id=second.transaction_id,
            reasons=(iso.Reason(code=iso.ReasonCode.AC04),),
        ),
        iso.TransactionStatus(
            status=iso.PaymentStatus.ACSC,
            original_uetr=uuid.uuid4(),  # no such payment
        ),
    )
    answer = iso.parse_envelope(container.gateway.receive(habib, body)).document
    assert isinstance(answer, iso.PaymentStatusReport)
    assert [
        (t.status.value, t.reasons[0].code.value if t.reasons else None)
        for t in answer.transactions
    ] == [
        ("ACSC", None),
        ("RJCT", "AC04"),
        ("RJCT", "AG09"),
    ]
    assert hub.payment(accepted.id).status is PaymentStatus.SETTLED
    assert (hub.payment(refused.id).status, hub.payment(refused.id).reason) == (
        PaymentStatus.REJECTED,
        ReasonCode.AC04,
    )
    # The payer was answered PDNG: both outcomes are in its archive.
    assert sorted(statuses(inbox(container, "MEZNPKKA"))) == [("ACSC", None), ("RJCT", "AC04")]
    # The payer cannot decide a payment it sent.
    mezn = container.switch.participant("MEZNPKKA")
    again = answer_envelope(
        "MEZNPKKA",
        iso.TransactionStatus(status=iso.PaymentStatus.ACSC, original_uetr=accepted.request.uetr),
    )
    (refusal,) = iso.parse_envelope(container.gateway.receive(mezn, again)).document.transactions  # type: ignore[attr-defined]
    assert refusal.reasons[0].code is iso.ReasonCode.AG09
    assert container.ledger.verify().ok


def test_incoming_pages_through_a_bulk_file_stored_under_one_time(
    hub: Payments, container: Container
) -> None:
    rows = [replace(transfer(amount=1_00), end_to_end_id=f"PAGE-{n}") for n in range(700)]
    assert container.bulk.submit("MEZNPKKA", rows).pending == 700
    seen: list[uuid.UUID] = []
    since, after = 0, None
    while page := hub.incoming("HABBPKKA", since_ns=since, after_id=after, limit=300):
        seen += [p.id for p in page]
        since, after = page[-1].created_at, page[-1].id
    assert len(seen) == len(set(seen)) == 700


def test_an_inbox_read_forward_misses_no_message_committed_out_of_order(
    container: Container, hub: Payments
) -> None:
    """Archive writers commit in any order: one that took its place in the archive first may
    commit last. A participant reading forward from the last position it read must still
    get every message once (PostgreSQL: a page holds only messages of transactions older
    than every writer still running, in their transactions' order)."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its archive is in commit order already")
    gateway = container.gateway
    payee = container.switch.participant("HABBPKKA")

    def message(name: str) -> ArchivedMessage:
        return ArchivedMessage(payee.id, "out", "pacs.008.001.08", name, b"<Document/>")

    def read_all(after: str) -> tuple[list[str], str]:
        names: list[str] = []
        while page := gateway.archive(payee, 2, after=after):
            names += [entry["business_message_id"] for entry in page]
            after = page[-1]["position"]
        return names, after

    _, after = read_all("0")  # what the set-up archived
    slow = container.engine.connect()
    try:
        with slow.begin():
            store.insert_messages(slow, [message("FIRST-IN")], 1)  # its place: before SECOND
            gateway.keep(message("SECOND-IN"))  # commits first
            names, after = read_all(after)
            assert "SECOND-IN" not in names  # not yet: FIRST-IN may still come before it
            # Nor in the newest-first listing: a position read there is safe to start from.
            newest = [e["business_message_id"] for e in gateway.archive(payee, 5)]
            assert "SECOND-IN" not in newest
    finally:
        slow.close()
    names, after = read_all(after)
    assert names == ["FIRST-IN", "SECOND-IN"]
    # A writer in another database of the server can never write here: it holds nothing back.
    server = sa.make_url(container.engine.url).set(database="postgres")
    elsewhere = sa.create_engine(server, poolclass=sa.pool.NullPool)
    try:
        with elsewhere.connect() as other, other.begin():
            other.execute(sa.text("SELECT pg_current_xact_id()"))  # it has an id: running
            gateway.keep(message("THIRD"))
            assert read_all(after)[0] == ["THIRD"]
    finally:
        elsewhere.dispose()


def test_a_message_taken_back_never_gives_its_place_to_the_next(
    container: Container, hub: Payments
) -> None:
    """A credit advice is taken back out of the archive when its reservation fails. Were its
    seq given again (SQLite without AUTOINCREMENT reuses the largest), a reader that had read
    past the advice would miss the message that took its place."""
    gateway = container.gateway
    payee = container.switch.participant("HABBPKKA")
    gateway.keep(ArchivedMessage(payee.id, "out", "pacs.008.001.08", "TAKEN-BACK", b"<Document/>"))
    (read,) = [
        e
        for e in gateway.archive(payee, 500, after="0")
        if e["business_message_id"] == "TAKEN-BACK"
    ]
    with container.engine.begin() as connection:
        connection.execute(
            store.messages_table.delete().where(store.messages_table.c.id == read["id"])
        )
    gateway.keep(ArchivedMessage(payee.id, "out", "pacs.002.001.10", "NEXT", b"<Document/>"))
    assert [
        e["business_message_id"] for e in gateway.archive(payee, 500, after=read["position"])
    ] == ["NEXT"]
