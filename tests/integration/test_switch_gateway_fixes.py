"""The ISO 20022 gateway's audit fixes, on SQLite and PostgreSQL: reasons outside the hub's
code set, request-to-pay expiry and resends, pacs.028 lookups, and reused MsgIds."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.clock import NS_PER_S, PAKISTAN, ManualClock, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.gateway import (
    REQUEST_LIFETIME_S_DEFAULT,
    _refusal_reason,
    _request_lifetime_s,
)
from tijarat.switch.model import (
    ArchivedMessage,
    ParticipantCategory,
    PayeeDecision,
    Payment,
    ReasonCode,
    RequestStatus,
)

PAYEE_NUMBER = "03001234567"  # at HABBPKKA
DEBTOR_NUMBER = "03211234567"  # at SADAPAY


@pytest.fixture
def hub(container: Container) -> Container:
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
        switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        switch.fund(code, Money(100_000_00, "PKR"), uuid.uuid4())
        container.payments.connect(code, lambda _p: PayeeDecision(accept=True))
    switch.link_alias(
        "HABBPKKA", PAYEE_NUMBER, make_pk_iban("HABB", "7").compact, "35202-1234567-1", "Ali"
    )
    switch.link_alias(
        "SADAPAY", DEBTOR_NUMBER, make_pk_iban("SADA", "8").compact, "35202-7654321-1", "Sana"
    )
    return container


def now(hub: Container) -> datetime:
    return from_ns(hub.clock.now_ns())


def send(hub: Container, sender: str, document: iso.Message) -> iso.Message:
    body = iso.build_envelope(iso.Envelope.of(document, sender=sender, receiver="RAASTHUB"))
    answer = hub.gateway.receive(hub.switch.participant(sender), body)
    return iso.parse_envelope(answer).document


def liquidity(hub: Container, code: str) -> int:
    return hub.switch.liquidity(code).amount_minor


def credit_transfer(hub: Container, amount: int = 2_500_00) -> iso.CreditTransferTransaction:
    return iso.CreditTransferTransaction(
        end_to_end_id="E" + uuid.uuid4().hex[:20],
        transaction_id="T" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
        amount=Money(amount, "PKR"),
        debtor=iso.Party(name="Skardu Crafts"),
        debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
        debtor_agent=iso.Agent(member_id="MEZNPKKA"),
        creditor=iso.Party(name="Ali Raza"),
        creditor_account=iso.Account(proxy=MobileNumber.parse(PAYEE_NUMBER)),
        creditor_agent=iso.Agent(member_id="HABBPKKA"),
    )


def pacs008(
    hub: Container, *txs: iso.CreditTransferTransaction, msg_id: str | None = None
) -> iso.CustomerCreditTransfer:
    return iso.CustomerCreditTransfer(
        message_id=msg_id or "M" + uuid.uuid4().hex[:20],
        created_at=now(hub),
        transactions=txs or (credit_transfer(hub),),
    )


def pay(hub: Container) -> Payment:
    tx = credit_transfer(hub)
    report = send(hub, "MEZNPKKA", pacs008(hub, tx))
    assert isinstance(report, iso.PaymentStatusReport)
    assert report.transactions[0].status is iso.PaymentStatus.ACSC
    return hub.payments.by_uetr(tx.uetr)


def pacs004(
    hub: Container, payment: Payment, code: iso.ReasonCode, msg_id: str | None = None
) -> iso.PaymentReturn:
    return iso.PaymentReturn(
        message_id=msg_id or "R" + uuid.uuid4().hex[:20],
        created_at=now(hub),
        transactions=(
            iso.ReturnTransaction(
                return_id="RET" + uuid.uuid4().hex[:20],
                original_end_to_end_id=payment.request.end_to_end_id,
                original_transaction_id=payment.request.tx_id,
                original_uetr=payment.request.uetr,
                returned_amount=Money(1_000_00, "PKR"),
                reason=iso.Reason(code=code),
            ),
        ),
    )


def pain013(
    hub: Container,
    e2e: str,
    expiry: date | datetime | None,
    amount: int = 5_000_00,
    msg_id: str | None = None,
) -> iso.RequestToPay:
    return iso.RequestToPay(
        message_id=msg_id or "RTP" + uuid.uuid4().hex[:20],
        created_at=now(hub),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            iso.RequestToPayInstruction(
                payment_information_id=f"I-{e2e}",
                requested_execution=date(2026, 1, 1),
                expiry=expiry,
                debtor=iso.Party(name="Customer"),
                debtor_account=iso.Account(proxy=MobileNumber.parse(DEBTOR_NUMBER)),
                debtor_agent=iso.Agent(member_id="RAASTHUB"),
                transactions=(
                    iso.RequestToPayTransaction(
                        end_to_end_id=e2e,
                        amount=Money(amount, "PKR"),
                        creditor=iso.Party(name="Skardu Crafts"),
                        creditor_account=iso.Account(
                            iban=Iban.parse(make_pk_iban("MEZN", "1").compact)
                        ),
                        creditor_agent=iso.Agent(member_id="MEZNPKKA"),
                    ),
                ),
            ),
        ),
    )


def rtp_answers(answer: iso.Message) -> dict[str | None, tuple[iso.PaymentStatus, list[str]]]:
    assert isinstance(answer, iso.RequestToPayResponse)
    return {
        t.original_end_to_end_id: (t.status, [r.code.value for r in t.reasons if r.code])
        for group in answer.payment_instructions
        for t in group.transactions
    }


def pain014(hub: Container, e2e: str, code: iso.ReasonCode) -> iso.RequestToPayResponse:
    return iso.RequestToPayResponse(
        message_id="ANS" + uuid.uuid4().hex[:20],
        created_at=now(hub),
        initiating_party=iso.Party(name="Sana"),
        original_group=iso.OriginalGroupStatus(
            original_message_id="X", original_message_name="pain.013.001.07"
        ),
        payment_instructions=(
            iso.PaymentInstructionStatus(
                original_payment_information_id=f"I-{e2e}",
                transactions=(
                    iso.TransactionStatus(
                        status=iso.PaymentStatus.RJCT,
                        original_end_to_end_id=e2e,
                        reasons=(iso.Reason(code=code),),
                    ),
                ),
            ),
        ),
    )


def open_requests(hub: Container) -> list[str | None]:
    return [r.end_to_end_id for r in hub.requests.inbox("SADAPAY")]


def duplicate_reason(answer: iso.Message) -> tuple[iso.PaymentStatus | None, list[str]]:
    group = (
        answer.original_groups[0]
        if isinstance(answer, iso.PaymentStatusReport)
        else answer.original_group  # type: ignore[union-attr]
    )
    return group.status, [r.code.value for r in group.reasons if r.code]


# ---------------------------------------------------------------------------- 1. reasons
@pytest.mark.parametrize("code", [iso.ReasonCode.MS02, iso.ReasonCode.AM09, iso.ReasonCode.AC04])
def test_a_pain014_refusal_with_any_iso_reason_is_recorded(
    hub: Container, code: iso.ReasonCode
) -> None:
    assert rtp_answers(send(hub, "MEZNPKKA", pain013(hub, "RTP-R", None)))["RTP-R"][0] is (
        iso.PaymentStatus.PDNG
    )
    report = send(hub, "SADAPAY", pain014(hub, "RTP-R", code))  # was a ValueError: HTTP 500
    assert isinstance(report, iso.PaymentStatusReport)
    (status,) = report.transactions
    expected = ReasonCode.AC04 if code is iso.ReasonCode.AC04 else ReasonCode.CUST
    assert status.status is iso.PaymentStatus.RJCT
    assert status.reasons[0].code is iso.ReasonCode(expected.value)
    if code is not iso.ReasonCode.AC04:  # the debtor agent's own code is echoed
        assert status.reasons[0].additional_information == (f"{code.value} recorded as CUST",)
    request = hub.requests.for_debtor(hub.switch.participant("SADAPAY").id, "RTP-R")
    assert (request.status, request.reason) == (RequestStatus.REJECTED, expected)


def test_a_pacs004_with_ms02_returns_and_with_am09_is_refused_for_that_return(
    hub: Container,
) -> None:
    payment = pay(hub)
    before = liquidity(hub, "HABBPKKA")
    refused = send(hub, "HABBPKKA", pacs004(hub, payment, iso.ReasonCode.AM09))  # was a 500
    assert isinstance(refused, iso.PaymentStatusReport)
    (status,) = refused.transactions
    assert (status.status, status.reasons[0].code) == (
        iso.PaymentStatus.RJCT,
        iso.ReasonCode.AG03,
    )
    assert status.original_uetr == payment.request.uetr
    assert liquidity(hub, "HABBPKKA") == before  # nothing moved
    returned = send(hub, "HABBPKKA", pacs004(hub, payment, iso.ReasonCode.MS02))  # was a 500
    assert isinstance(returned, iso.PaymentStatusReport)
    assert returned.transactions[0].status is iso.PaymentStatus.ACSC
    assert liquidity(hub, "HABBPKKA") == before - 1_000_00
    assert hub.payments.payment(payment.id).returned_minor == 1_000_00


# ---------------------------------------------------------------------------- 2. pain.013
def test_a_request_that_expired_before_it_arrived_is_rejected(hub: Container) -> None:
    past = now(hub) - timedelta(seconds=1)
    yesterday = now(hub).astimezone(PAKISTAN).date() - timedelta(days=1)
    answer = send(hub, "MEZNPKKA", pain013(hub, "RTP-OLD", past))
    assert rtp_answers(answer) == {"RTP-OLD": (iso.PaymentStatus.RJCT, ["AEXR"])}
    answer = send(hub, "MEZNPKKA", pain013(hub, "RTP-OLDER", yesterday))
    assert rtp_answers(answer) == {"RTP-OLDER": (iso.PaymentStatus.RJCT, ["AEXR"])}
    assert open_requests(hub) == []


def test_a_date_only_expiry_lasts_to_the_end_of_that_day_in_pakistan(hub: Container) -> None:
    clock = hub.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=20))  # 2026-01-01T20:00Z = 2 January, 01:00 in Karachi
    today = now(hub).astimezone(PAKISTAN).date()
    assert today == date(2026, 1, 2)
    later = today + timedelta(days=10)
    for e2e, expiry in (("RTP-TODAY", today), ("RTP-LATER", later)):
        answer = send(hub, "MEZNPKKA", pain013(hub, e2e, expiry))
        assert rtp_answers(answer) == {e2e: (iso.PaymentStatus.PDNG, [])}
    by_id = {r.end_to_end_id: r for r in hub.requests.inbox("SADAPAY")}
    for e2e, day in (("RTP-TODAY", today), ("RTP-LATER", later)):
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PAKISTAN)
        assert by_id[e2e].expires_at == to_ns(end)  # not the 1-hour default
    clock.advance(timedelta(hours=22, minutes=59, seconds=59))  # 23:59:59 in Karachi: open
    assert "RTP-TODAY" in open_requests(hub)
    clock.advance(timedelta(seconds=1))
    assert open_requests(hub) == ["RTP-LATER"]


def test_a_request_resent_under_its_end_to_end_id_is_one_request(hub: Container) -> None:
    expiry = now(hub) + timedelta(hours=2)
    first = send(hub, "MEZNPKKA", pain013(hub, "RTP-1", expiry))
    again = send(hub, "MEZNPKKA", pain013(hub, "RTP-1", expiry))  # a new MsgId, same request
    assert rtp_answers(first) == rtp_answers(again) == {"RTP-1": (iso.PaymentStatus.PDNG, [])}
    assert open_requests(hub) == ["RTP-1"]
    other = send(hub, "MEZNPKKA", pain013(hub, "RTP-1", expiry, amount=9_000_00))
    assert rtp_answers(other) == {"RTP-1": (iso.PaymentStatus.RJCT, ["DUPL"])}
    (request,) = hub.requests.inbox("SADAPAY")
    assert request.amount_minor == 5_000_00
    with pytest.raises(DomainError) as caught:  # the same rule for the Python API
        hub.requests.request(
            "MEZNPKKA",
            debtor_alias=DEBTOR_NUMBER,
            amount_minor=1,
            creditor_name="Skardu Crafts",
            creditor_iban=make_pk_iban("MEZN", "1").compact,
            expires_in_s=60,
            end_to_end_id="RTP-1",
        )
    assert (caught.value.code, caught.value.status) == ("switch_request_duplicate", 409)
    # Another creditor may use the same end-to-end id: ids are the creditor's own.
    answer = send(
        hub,
        "HABBPKKA",
        dataclasses.replace(
            pain013(hub, "RTP-1", expiry),
            payment_instructions=tuple(
                dataclasses.replace(
                    instruction,
                    transactions=tuple(
                        dataclasses.replace(
                            tx,
                            creditor_account=iso.Account(
                                iban=Iban.parse(make_pk_iban("HABB", "7").compact)
                            ),
                            creditor_agent=iso.Agent(member_id="HABBPKKA"),
                        )
                        for tx in instruction.transactions
                    ),
                )
                for instruction in pain013(hub, "RTP-1", expiry).payment_instructions
            ),
        ),
    )
    assert rtp_answers(answer) == {"RTP-1": (iso.PaymentStatus.PDNG, [])}
    assert open_requests(hub) == ["RTP-1", "RTP-1"]


# ---------------------------------------------------------------------------- 3. pacs.028
def pacs028(hub: Container, *txs: iso.StatusRequestTransaction) -> iso.PaymentStatusRequest:
    return iso.PaymentStatusRequest(
        message_id="Q" + uuid.uuid4().hex[:20], created_at=now(hub), transactions=txs
    )


def test_payer_and_payee_ask_by_any_id_and_unknown_ones_are_answered_alone(
    hub: Container,
) -> None:
    payment = pay(hub)
    ids = payment.request
    questions = (
        iso.StatusRequestTransaction(original_end_to_end_id=ids.end_to_end_id),
        iso.StatusRequestTransaction(original_uetr=ids.uetr),
        iso.StatusRequestTransaction(original_transaction_id=ids.tx_id),
        iso.StatusRequestTransaction(original_end_to_end_id="NO-SUCH-PAYMENT"),
        iso.StatusRequestTransaction(original_uetr=ids.uetr, original_end_to_end_id="OTHER"),
    )
    for asker in ("MEZNPKKA", "HABBPKKA"):  # the payer and the payee
        report = send(hub, asker, pacs028(hub, *questions))
        assert isinstance(report, iso.PaymentStatusReport)
        statuses = [t.status for t in report.transactions]
        assert statuses == [iso.PaymentStatus.ACSC] * 3 + [iso.PaymentStatus.RJCT] * 2, asker
        assert report.transactions[0].original_uetr == ids.uetr
        unknown = report.transactions[3]
        assert unknown.original_end_to_end_id == "NO-SUCH-PAYMENT"
        assert unknown.reasons[0].code is iso.ReasonCode.AG09
        iso.validate(iso.build_pacs002(report), "pacs.002.001.10")
    # A participant on neither side learns nothing about it.
    report = send(hub, "SADAPAY", pacs028(hub, questions[1]))
    assert isinstance(report, iso.PaymentStatusReport)
    assert report.transactions[0].status is iso.PaymentStatus.RJCT


# ---------------------------------------------------------------------------- 4. MsgId
def test_a_reused_msg_id_is_refused_and_a_retry_moves_nothing(hub: Container) -> None:
    first = pacs008(hub)
    assert send(hub, "MEZNPKKA", first).transactions[0].status is iso.PaymentStatus.ACSC  # type: ignore[union-attr]
    paid = liquidity(hub, "MEZNPKKA")
    # The exact message again, and rebuilt later with a new creation time: retries.
    for retry in (first, dataclasses.replace(first, created_at=now(hub) + timedelta(seconds=5))):
        answer = send(hub, "MEZNPKKA", retry)
        assert isinstance(answer, iso.PaymentStatusReport)
        assert answer.transactions[0].status is iso.PaymentStatus.ACSC
    other = pacs008(hub, msg_id=first.message_id)  # new UETR and end-to-end id, used MsgId
    for _ in range(2):  # a refused duplicate re-sent stays refused
        answer = send(hub, "MEZNPKKA", other)
        assert isinstance(answer, iso.PaymentStatusReport)
        assert duplicate_reason(answer) == (iso.PaymentStatus.RJCT, ["DUPL"])
        assert answer.original_groups[0].original_message_id == first.message_id
        assert answer.transactions == ()
        iso.validate(iso.build_pacs002(answer), "pacs.002.001.10")
    assert liquidity(hub, "MEZNPKKA") == paid
    with pytest.raises(DomainError):
        hub.payments.by_uetr(other.transactions[0].uetr)
    # Ids are per sender: another participant may use the same MsgId.
    mine = dataclasses.replace(
        pacs008(hub, msg_id=first.message_id),
        transactions=(
            dataclasses.replace(
                credit_transfer(hub),
                debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("SADA", "1").compact)),
                debtor_agent=iso.Agent(member_id="SADAPAY"),
            ),
        ),
    )
    answer = send(hub, "SADAPAY", mine)
    assert answer.transactions[0].status is iso.PaymentStatus.ACSC  # type: ignore[union-attr]


def send_under(hub: Container, sender: str, document: iso.Message, header_id: str) -> iso.Message:
    """send, with an AppHdr BizMsgIdr of its own (not the Document's MsgId)."""
    envelope = iso.Envelope.of(document, sender=sender, receiver="RAASTHUB")
    header = dataclasses.replace(envelope.header, business_message_id=header_id)
    body = iso.build_envelope(iso.Envelope(header, document))
    return iso.parse_envelope(hub.gateway.receive(hub.switch.participant(sender), body)).document


def test_a_msg_id_reused_under_another_header_id_is_refused(hub: Container) -> None:
    """Either id of a message, AppHdr BizMsgIdr or Document MsgId, reused by a different
    message is a duplicate, whichever of its two ids the new one repeats: the archive files
    a message under its BizMsgIdr and keeps the MsgId beside it where they differ."""
    first = pacs008(hub)
    answer = send_under(hub, "MEZNPKKA", first, "H-" + first.message_id)
    assert answer.transactions[0].status is iso.PaymentStatus.ACSC  # type: ignore[union-attr]
    paid = liquidity(hub, "MEZNPKKA")
    reusing_document_id = pacs008(hub, msg_id=first.message_id)  # was accepted: a new payment
    reusing_header_id = pacs008(hub, msg_id="H-" + first.message_id)
    for other, header_id in (
        (reusing_document_id, "NEW-" + uuid.uuid4().hex[:20]),
        (reusing_header_id, "NEW-" + uuid.uuid4().hex[:20]),
        (pacs008(hub), first.message_id),  # a new Document under the first's MsgId as header
    ):
        answer = send_under(hub, "MEZNPKKA", other, header_id)
        assert isinstance(answer, iso.PaymentStatusReport)
        assert duplicate_reason(answer) == (iso.PaymentStatus.RJCT, ["DUPL"]), header_id
        with pytest.raises(DomainError):
            hub.payments.by_uetr(other.transactions[0].uetr)  # type: ignore[attr-defined]
    assert liquidity(hub, "MEZNPKKA") == paid
    # The first message re-sent under yet another header id is a retry, not a duplicate.
    again = send_under(hub, "MEZNPKKA", first, "H2-" + first.message_id)
    assert again.transactions[0].status is iso.PaymentStatus.ACSC  # type: ignore[union-attr]
    assert liquidity(hub, "MEZNPKKA") == paid
    kept = sa.select(store.messages_table.c.document_message_id).where(
        store.messages_table.c.business_message_id == "H-" + first.message_id
    )
    with hub.engine.connect() as connection:
        assert connection.execute(kept).scalar_one() == first.message_id


def test_reused_msg_ids_of_other_messages_are_refused(hub: Container) -> None:
    payment = pay(hub)
    # pacs.004
    back = pacs004(hub, payment, iso.ReasonCode.CUST)
    send(hub, "HABBPKKA", back)
    returned = liquidity(hub, "HABBPKKA")
    answer = send(hub, "HABBPKKA", pacs004(hub, payment, iso.ReasonCode.CUST, back.message_id))
    assert duplicate_reason(answer) == (iso.PaymentStatus.RJCT, ["DUPL"])
    assert liquidity(hub, "HABBPKKA") == returned
    # pain.013
    asked = pain013(hub, "RTP-A", None)
    send(hub, "MEZNPKKA", asked)
    answer = send(hub, "MEZNPKKA", pain013(hub, "RTP-B", None, msg_id=asked.message_id))
    assert isinstance(answer, iso.RequestToPayResponse)
    assert duplicate_reason(answer) == (iso.PaymentStatus.RJCT, ["DUPL"])
    iso.validate(iso.build_pain014(answer), "pain.014.001.07")
    assert open_requests(hub) == ["RTP-A"]
    # pain.001
    file = pain001(hub, "F" + uuid.uuid4().hex[:20])
    send(hub, "MEZNPKKA", file)
    sent = liquidity(hub, "MEZNPKKA")
    answer = send(hub, "MEZNPKKA", pain001(hub, file.message_id))
    assert isinstance(answer, iso.CustomerPaymentStatusReport)
    assert duplicate_reason(answer) == (iso.PaymentStatus.RJCT, ["DUPL"])
    iso.validate(iso.build_pain002(answer), "pain.002.001.10")
    assert liquidity(hub, "MEZNPKKA") == sent
    assert isinstance(send(hub, "MEZNPKKA", file), iso.CustomerPaymentStatusReport)  # a retry
    assert liquidity(hub, "MEZNPKKA") == sent


def pain001(hub: Container, msg_id: str) -> iso.CustomerCreditTransferInitiation:
    return iso.CustomerCreditTransferInitiation(
        message_id=msg_id,
        created_at=now(hub),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            iso.PaymentInstruction(
                payment_information_id="WOOL",
                requested_execution=date(2026, 1, 1),
                debtor=iso.Party(name="Skardu Crafts"),
                debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
                debtor_agent=iso.Agent(member_id="MEZNPKKA"),
                transactions=(
                    iso.InitiationTransaction(
                        end_to_end_id="PAY-" + uuid.uuid4().hex[:8],
                        amount=Money(1_000_00, "PKR"),
                        creditor=iso.Party(name="Supplier"),
                        creditor_account=iso.Account(proxy=MobileNumber.parse(PAYEE_NUMBER)),
                    ),
                ),
            ),
        ),
    )


def test_the_message_id_lookup_has_its_index(hub: Container) -> None:
    indexes = sa.inspect(hub.engine).get_indexes(store.messages_table.name)
    by_name = {index["name"]: index["column_names"] for index in indexes}
    assert by_name["ix_switch_messages_business_id"] == ["participant_id", "business_message_id"]
    assert by_name["ix_switch_messages_document_id"] == ["participant_id", "document_message_id"]


# ---------------------------------------------------------------------------- pure rules
NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)  # 23:30 in Karachi


def test_a_request_without_expiry_is_a_now_request() -> None:
    assert _request_lifetime_s(None, to_ns(NOW)) == REQUEST_LIFETIME_S_DEFAULT


def test_a_date_only_expiry_runs_to_midnight_in_pakistan() -> None:
    # 23:30 in Karachi on 10 March: the day has 30 minutes left, though UTC's has 5.5 hours.
    assert _request_lifetime_s(date(2026, 3, 10), to_ns(NOW)) == 30 * 60
    assert _request_lifetime_s(date(2026, 3, 11), to_ns(NOW)) == 30 * 60 + 86_400
    midnight = datetime(2026, 3, 11, tzinfo=PAKISTAN)
    assert _request_lifetime_s(date(2026, 3, 10), to_ns(midnight)) is None


def test_an_expiry_in_the_past_has_no_lifetime() -> None:
    assert _request_lifetime_s(NOW, to_ns(NOW)) is None
    assert _request_lifetime_s(NOW - timedelta(days=1), to_ns(NOW)) is None
    assert _request_lifetime_s(date(2026, 3, 9), to_ns(NOW)) is None
    # Less than a second left is still a (one-second) request.
    assert _request_lifetime_s(NOW, to_ns(NOW) - NS_PER_S // 2) == 1
    assert _request_lifetime_s(NOW + timedelta(minutes=5), to_ns(NOW)) == 300


@pytest.mark.parametrize("code", [*iso.ReasonCode, None])
def test_every_iso_reason_refusing_a_request_has_a_hub_reason(
    code: iso.ReasonCode | None,
) -> None:
    reason = _refusal_reason(code)  # never a ValueError (an HTTP 500 before)
    assert isinstance(reason, ReasonCode)
    if code is not None and code.value in ReasonCode.__members__:
        assert reason.value == code.value  # what the hub knows is carried as sent
    else:
        assert reason is ReasonCode.CUST


def test_two_messages_under_one_msg_id_at_once_are_checked_one_after_the_other(
    hub: Container,
) -> None:
    """The duplicate MsgId check and the archiving are one step per (sender, type, id): a
    second message whose check starts while the first's archive is not committed yet waits
    for it, and finds it (PostgreSQL's transaction lock; SQLite has a single writer)."""
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers by itself")
    sender = hub.switch.participant("MEZNPKKA")
    kind, msg_id = iso.MessageType.PACS_008.value, "MSG-RACE-1"
    first = ArchivedMessage(sender.id, "in", kind, msg_id, b"<first/>")
    found: list[bytes | None] = []
    with hub.engine.begin() as holding:
        assert store.first_inbound_message(holding, sender.id, kind, {msg_id}) is None
        store.insert_messages(holding, [first], hub.clock.now_ns())

        def second() -> None:
            with hub.engine.begin() as connection:
                found.append(store.first_inbound_message(connection, sender.id, kind, {msg_id}))

        racing = threading.Thread(target=second)
        racing.start()
        racing.join(timeout=0.5)
        assert racing.is_alive()  # waiting on the first message's lock, not answering None
    racing.join(timeout=10)
    assert found == [b"<first/>"]


def test_a_pain014_answer_about_an_unknown_or_decided_request_is_refused_alone(
    hub: Container,
) -> None:
    """Each answer of a pain.014 stands alone: one about a request the hub does not know,
    or that is decided already, is refused (AG09, AG01, DUPL, AEXR) and the others are
    carried out and answered (the whole message used to fail, its others done silently)."""
    for e2e in ("RTP-1", "RTP-2", "RTP-3"):
        send(hub, "MEZNPKKA", pain013(hub, e2e, None))
    send(hub, "SADAPAY", pain014(hub, "RTP-1", iso.ReasonCode.AC04))  # refused
    accepted = dataclasses.replace(
        pain014(hub, "RTP-2", iso.ReasonCode.AC04).payment_instructions[0].transactions[0],
        status=iso.PaymentStatus.ACCP,
        reasons=(),
    )
    answers = [
        accepted,
        *(
            pain014(hub, e2e, iso.ReasonCode.CUST).payment_instructions[0].transactions[0]
            for e2e in ("NO-SUCH-RTP", "RTP-1", "RTP-3")
        ),
    ]
    message = pain014(hub, "RTP-2", iso.ReasonCode.AC04)
    message = dataclasses.replace(
        message,
        payment_instructions=(
            dataclasses.replace(message.payment_instructions[0], transactions=tuple(answers)),
        ),
    )
    report = send(hub, "SADAPAY", message)
    assert isinstance(report, iso.PaymentStatusReport)
    statuses = {
        t.original_end_to_end_id: (t.status, [r.code for r in t.reasons])
        for t in report.transactions
    }
    assert statuses["NO-SUCH-RTP"] == (iso.PaymentStatus.RJCT, [iso.ReasonCode.AG09])
    assert statuses["RTP-1"] == (iso.PaymentStatus.RJCT, [iso.ReasonCode.AG01])
    assert statuses["RTP-3"][0] is iso.PaymentStatus.RJCT  # refused by the debtor: recorded
    sadapay = hub.switch.participant("SADAPAY").id
    assert hub.requests.for_debtor(sadapay, "RTP-2").status is RequestStatus.PAID
    assert hub.requests.for_debtor(sadapay, "RTP-3").status is RequestStatus.REJECTED
    again = send(hub, "SADAPAY", dataclasses.replace(message, message_id="ANS-AGAIN"))
    assert isinstance(again, iso.PaymentStatusReport)
    by_e2e = {t.original_end_to_end_id: [r.code for r in t.reasons] for t in again.transactions}
    assert by_e2e["RTP-2"] == [iso.ReasonCode.DUPL]  # paid already
