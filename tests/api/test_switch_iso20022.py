"""ISO 20022 over HTTP: a pacs.008 envelope in, a schema-valid pacs.002 envelope out, archived."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from switch_support import meezan_pays_habib
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.model import ParticipantCategory, PayeeDecision

XML = {"content-type": "application/xml"}


@pytest.fixture
def setup(sqlite_container: Container) -> Iterator[tuple[TestClient, tuple[str, str]]]:
    auth = meezan_pays_habib(sqlite_container)
    with TestClient(create_app(sqlite_container)) as client:
        yield client, auth


def transaction(creditor: iso.Account, amount: int = 2_500_00) -> iso.CreditTransferTransaction:
    return iso.CreditTransferTransaction(
        end_to_end_id="E" + uuid.uuid4().hex[:20],
        transaction_id="T" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
        amount=Money(amount, "PKR"),
        debtor=iso.Party(name="Skardu Crafts"),
        debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
        debtor_agent=iso.Agent(member_id="MEZNPKKA"),
        creditor=iso.Party(name="Ali Raza"),
        creditor_account=creditor,
        creditor_agent=iso.Agent(member_id="HABBPKKA"),
        remittance_information=("Invoice 42",),
    )


def envelope(document: iso.CustomerCreditTransfer | iso.PaymentStatusRequest, sender: str) -> bytes:
    return iso.build_envelope(
        iso.Envelope(
            iso.BusinessApplicationHeader(
                from_agent=iso.Agent(member_id=sender),
                to_agent=iso.Agent(member_id="RAASTHUB"),
                business_message_id=document.message_id,
                message_definition_id=document.MESSAGE_TYPE.value,
                created_at=document.created_at,
            ),
            document,
        )
    )


def test_a_pacs008_is_answered_with_a_valid_pacs002_per_transaction(
    setup: tuple[TestClient, tuple[str, str]],
) -> None:
    client, auth = setup
    good = transaction(iso.Account(proxy=MobileNumber.parse("03001234567")))
    unknown = transaction(iso.Account(proxy=MobileNumber.parse("03009999999")))
    sent = iso.CustomerCreditTransfer(
        message_id="MSG" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(good, unknown),
    )
    response = client.post(
        "/v1/switch/iso20022", content=envelope(sent, "MEZNPKKA"), headers=XML, auth=auth
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    answer = iso.parse_envelope(response.content)
    assert answer.header.to_agent.member_id == "MEZNPKKA"
    report = answer.document
    assert isinstance(report, iso.PaymentStatusReport)
    iso.validate(iso.build_pacs002(report), "pacs.002.001.10")  # the official XSD agrees
    by_e2e = {t.original_end_to_end_id: t for t in report.transactions}
    assert by_e2e[good.end_to_end_id].status is iso.PaymentStatus.ACSC
    assert by_e2e[unknown.end_to_end_id].status is iso.PaymentStatus.RJCT
    assert by_e2e[unknown.end_to_end_id].reasons[0].code is iso.ReasonCode.AC03
    # A status request for the settled one.
    question = iso.PaymentStatusRequest(
        message_id="Q" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(iso.StatusRequestTransaction(original_end_to_end_id=good.end_to_end_id),),
    )
    status = client.post(
        "/v1/switch/iso20022", content=envelope(question, "MEZNPKKA"), headers=XML, auth=auth
    )
    status_report = iso.parse_envelope(status.content).document
    assert isinstance(status_report, iso.PaymentStatusReport)
    assert status_report.transactions[0].status is iso.PaymentStatus.ACSC
    # Every message in and out is archived and retrievable as sent.
    archive = client.get("/v1/switch/messages", auth=auth).json()
    assert sorted((m["direction"], m["message_type"]) for m in archive) == [
        ("in", "pacs.008.001.08"),
        ("in", "pacs.028.001.03"),
        ("out", "pacs.002.001.10"),
        ("out", "pacs.002.001.10"),
    ]
    first_in = next(m for m in archive if m["message_type"] == "pacs.008.001.08")
    stored = client.get(f"/v1/switch/messages/{first_in['id']}", auth=auth).content
    assert iso.parse_envelope(stored).document == sent


def test_bad_xml_forged_headers_and_duplicates(setup: tuple[TestClient, tuple[str, str]]) -> None:
    client, auth = setup
    for body, status, code in (
        (b"<Message><unclosed>", 400, "iso20022_malformed_xml"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", 400, None),
        (b"<x xmlns='urn:unknown'/>", 422, None),
    ):
        response = client.post("/v1/switch/iso20022", content=body, headers=XML, auth=auth)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        if code:
            assert response.json()["code"] == code
    document = iso.CustomerCreditTransfer(
        message_id="MSG" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(transaction(iso.Account(proxy=MobileNumber.parse("03001234567"))),),
    )
    forged = client.post(
        "/v1/switch/iso20022", content=envelope(document, "HABBPKKA"), headers=XML, auth=auth
    )
    assert (forged.status_code, forged.json()["code"]) == (403, "switch_header_not_yours")
    first = client.post(
        "/v1/switch/iso20022", content=envelope(document, "MEZNPKKA"), headers=XML, auth=auth
    )
    again = client.post(
        "/v1/switch/iso20022", content=envelope(document, "MEZNPKKA"), headers=XML, auth=auth
    )
    statuses = [
        iso.parse_envelope(r.content).document.transactions[0].status  # type: ignore[union-attr]
        for r in (first, again)
    ]
    assert statuses == [iso.PaymentStatus.ACSC, iso.PaymentStatus.ACSC]  # the retry moved nothing
    assert client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"] == 97_500_00
    unauthenticated = client.post(
        "/v1/switch/iso20022", content=envelope(document, "MEZNPKKA"), headers=XML
    )
    assert unauthenticated.status_code == 401


def test_a_pain001_file_is_answered_with_pain002_and_a_pacs004_returns(
    setup: tuple[TestClient, tuple[str, str]], sqlite_container: Container
) -> None:
    from datetime import date

    client, auth = setup
    habib_secret = sqlite_container.switch.register_participant(
        "SADAPAY", "SadaPay", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="SADA"
    )[1]
    sqlite_container.payments.connect("SADAPAY", lambda _p: PayeeDecision(accept=True))

    def payee(n: int, account: iso.Account) -> iso.InitiationTransaction:
        return iso.InitiationTransaction(
            end_to_end_id=f"PAY-{n}-{uuid.uuid4().hex[:8]}",
            amount=Money(1_000_00 * n, "PKR"),
            creditor=iso.Party(name=f"Supplier {n}"),
            creditor_account=account,
            remittance_information=(f"Bill {n}",),
        )

    def instruction(
        name: str, payees: tuple[iso.InitiationTransaction, ...]
    ) -> iso.PaymentInstruction:
        return iso.PaymentInstruction(
            payment_information_id=name,
            requested_execution=date(2026, 11, 24),
            debtor=iso.Party(name="Skardu Crafts"),
            debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
            debtor_agent=iso.Agent(member_id="MEZNPKKA"),
            transactions=payees,
        )

    file = iso.CustomerCreditTransferInitiation(
        message_id="FILE" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            instruction(
                "WOOL",
                (
                    payee(1, iso.Account(proxy=MobileNumber.parse("03001234567"))),
                    payee(2, iso.Account(iban=Iban.parse(make_pk_iban("SADA", "5").compact))),
                ),
            ),
            instruction(
                "DYES", (payee(3, iso.Account(iban=Iban.parse(make_pk_iban("ZZZZ", "1").compact))),)
            ),
        ),
    )
    body = iso.build_envelope(iso.Envelope.of(file, sender="MEZNPKKA", receiver="RAASTHUB"))
    response = client.post("/v1/switch/iso20022", content=body, headers=XML, auth=auth)
    assert response.status_code == 200, response.text
    answer = iso.parse_envelope(response.content).document
    assert isinstance(answer, iso.CustomerPaymentStatusReport)
    iso.validate(iso.build_pain002(answer), "pain.002.001.10")
    statuses = {
        group.original_payment_information_id: [t.status for t in group.transactions]
        for group in answer.payment_instructions
    }
    assert statuses == {
        "WOOL": [iso.PaymentStatus.ACSC, iso.PaymentStatus.ACSC],
        "DYES": [iso.PaymentStatus.RJCT],
    }
    resent = client.post("/v1/switch/iso20022", content=body, headers=XML, auth=auth)
    assert resent.status_code == 200
    assert client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"] == 97_000_00
    # SadaPay returns half of what it received, by pacs.004.
    received = sqlite_container.payments.status(
        "MEZNPKKA", file.payment_instructions[0].transactions[1].end_to_end_id
    )
    back = iso.PaymentReturn(
        message_id="RET" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(
            iso.ReturnTransaction(
                return_id="R1",
                original_end_to_end_id=received.request.end_to_end_id,
                original_transaction_id=received.request.tx_id,
                original_uetr=received.request.uetr,
                returned_amount=Money(1_000_00, "PKR"),
                reason=iso.Reason(code=iso.ReasonCode.MD06),
            ),
        ),
    )
    returned = client.post(
        "/v1/switch/iso20022",
        content=iso.build_envelope(iso.Envelope.of(back, sender="SADAPAY", receiver="RAASTHUB")),
        headers=XML,
        auth=("SADAPAY", habib_secret),
    )
    assert returned.status_code == 200, returned.text
    assert client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"] == 98_000_00


def test_the_settlement_statement_is_a_valid_camt053_that_matches_liquidity(
    setup: tuple[TestClient, tuple[str, str]],
) -> None:
    client, auth = setup
    sent = iso.CustomerCreditTransfer(
        message_id="MSG" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(transaction(iso.Account(proxy=MobileNumber.parse("03001234567"))),),
    )
    assert (
        client.post(
            "/v1/switch/iso20022", content=envelope(sent, "MEZNPKKA"), headers=XML, auth=auth
        ).status_code
        == 200
    )
    response = client.get("/v1/switch/statement", auth=auth)
    assert response.status_code == 200, response.text
    document = iso.parse_envelope(response.content).document
    assert isinstance(document, iso.BankToCustomerStatement)
    iso.validate(iso.build_camt053(document), "camt.053.001.08")
    (statement,) = document.statements
    assert statement.account.hub_account == "MEZNPKKA"
    amounts = [entry.amount.amount_minor for entry in statement.entries]
    assert amounts == [100_000_00, -2_500_00]  # funds in, then the payment (no reservation)
    closing = next(b for b in statement.balances if b.type is iso.BalanceType.CLBD)
    assert (
        closing.amount.amount_minor
        == client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"]
    )
    assert statement.entries[1].uetr == sent.transactions[0].uetr
    naive = client.get("/v1/switch/statement?from=2026-01-01T00:00:00", auth=auth)
    assert (naive.status_code, naive.json()["code"]) == (422, "switch_statement_invalid")


def test_request_to_pay_over_iso20022_pain013_then_pain014(
    setup: tuple[TestClient, tuple[str, str]], sqlite_container: Container
) -> None:
    from datetime import date, timedelta

    from tijarat.kernel.clock import from_ns

    client, meezan = setup
    switch = sqlite_container.switch
    sada_secret = switch.register_participant(
        "SADAPAY", "SadaPay", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="SADA"
    )[1]
    switch.fund("SADAPAY", Money(50_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        "SADAPAY", "03211234567", make_pk_iban("SADA", "8").compact, "35202-7654321-1", "Sana Baig"
    )
    sqlite_container.payments.connect("MEZNPKKA", lambda _p: PayeeDecision(accept=True))
    sada = ("SADAPAY", sada_secret)

    def rtp_instruction(number: str, e2e: str) -> iso.RequestToPayInstruction:
        return iso.RequestToPayInstruction(
            payment_information_id=f"I-{e2e}",
            requested_execution=date(2026, 11, 24),
            expiry=from_ns(sqlite_container.clock.now_ns()) + timedelta(hours=1),
            debtor=iso.Party(name="Customer"),
            debtor_account=iso.Account(proxy=MobileNumber.parse(number)),
            debtor_agent=iso.Agent(member_id="RAASTHUB"),
            transactions=(
                iso.RequestToPayTransaction(
                    end_to_end_id=e2e,
                    amount=Money(5_000_00, "PKR"),
                    creditor=iso.Party(name="Skardu Crafts"),
                    creditor_account=iso.Account(
                        iban=Iban.parse(make_pk_iban("MEZN", "1").compact)
                    ),
                    creditor_agent=iso.Agent(member_id="MEZNPKKA"),
                    remittance_information=("Rug order 42",),
                ),
            ),
        )

    def post(document: object, sender: str, auth: tuple[str, str]) -> object:
        header = iso.BusinessApplicationHeader(
            from_agent=iso.Agent(member_id=sender),
            to_agent=iso.Agent(member_id="RAASTHUB"),
            business_message_id=document.message_id,  # type: ignore[attr-defined]
            message_definition_id=document.MESSAGE_TYPE.value,  # type: ignore[attr-defined]
            created_at=document.created_at,  # type: ignore[attr-defined]
        )
        response = client.post(
            "/v1/switch/iso20022",
            content=iso.build_envelope(iso.Envelope(header, document)),  # type: ignore[arg-type]
            headers=XML,
            auth=auth,
        )
        assert response.status_code == 200, response.text
        return iso.parse_envelope(response.content).document

    asked = iso.RequestToPay(
        message_id="RTP" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            rtp_instruction("03211234567", "RTP-1"),
            rtp_instruction("03009999999", "RTP-2"),
        ),
    )
    status = post(asked, "MEZNPKKA", meezan)
    assert isinstance(status, iso.RequestToPayResponse)
    iso.validate(iso.build_pain014(status), "pain.014.001.07")
    answers = {
        t.original_end_to_end_id: (t.status, [r.code for r in t.reasons])
        for group in status.payment_instructions
        for t in group.transactions
    }
    assert answers == {
        "RTP-1": (iso.PaymentStatus.PDNG, []),
        "RTP-2": (iso.PaymentStatus.RJCT, [iso.ReasonCode.AC03]),
    }
    assert [r.end_to_end_id for r in sqlite_container.requests.inbox("SADAPAY")] == ["RTP-1"]
    accepted = iso.RequestToPayResponse(
        message_id="ANS" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Sana Baig"),
        original_group=iso.OriginalGroupStatus(
            original_message_id=asked.message_id, original_message_name="pain.013.001.07"
        ),
        payment_instructions=(
            iso.PaymentInstructionStatus(
                original_payment_information_id="I-RTP-1",
                transactions=(
                    iso.TransactionStatus(
                        status=iso.PaymentStatus.ACCP, original_end_to_end_id="RTP-1"
                    ),
                ),
            ),
        ),
    )
    paid = post(accepted, "SADAPAY", sada)
    assert isinstance(paid, iso.PaymentStatusReport)
    assert paid.transactions[0].status is iso.PaymentStatus.ACSC
    assert client.get("/v1/switch/liquidity", auth=sada).json()["available_minor"] == 45_000_00
    assert sqlite_container.requests.inbox("SADAPAY") == []
