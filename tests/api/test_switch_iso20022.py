"""ISO 20022 over HTTP: a pacs.008 envelope in, a schema-valid pacs.002 envelope out, archived."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.model import ParticipantCategory, PayeeDecision

XML = {"content-type": "application/xml"}


@pytest.fixture
def setup(sqlite_container: Container) -> Iterator[tuple[TestClient, tuple[str, str]]]:
    switch = sqlite_container.switch
    meezan, secret = switch.register_participant(
        "MEZNPKKA", "Meezan", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    switch.register_participant(
        "HABBPKKA", "Habib", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="HABB"
    )
    switch.fund("MEZNPKKA", Money(100_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        "HABBPKKA", "03001234567", make_pk_iban("HABB", "7").compact, "35202-1234567-1", "Ali"
    )
    sqlite_container.payments.connect("HABBPKKA", lambda _p: PayeeDecision(accept=True))
    with TestClient(create_app(sqlite_container)) as client:
        yield client, (meezan.code, secret)


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
