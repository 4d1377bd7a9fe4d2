"""The JSON form of ISO 20022 over HTTP: the same Document as JSON, handled as its XML is.

POST /v1/switch/iso20022 with `Content-Type: application/json` takes iso.to_json of a
Document; the hub wraps it in the AppHdr it implies, validates it against the XSDs, archives
that envelope and carries it out; the answer is the JSON form of the answering Document.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from switch_support import meezan_pays_habib
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso

Auth = tuple[str, str]
JSON = "application/json"


@pytest.fixture
def setup(sqlite_container: Container) -> Iterator[tuple[TestClient, Auth]]:
    auth = meezan_pays_habib(sqlite_container)
    with TestClient(create_app(sqlite_container)) as client:
        yield client, auth


def pacs008() -> iso.CustomerCreditTransfer:
    return iso.CustomerCreditTransfer(
        message_id="MSG" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(
            iso.CreditTransferTransaction(
                end_to_end_id="E" + uuid.uuid4().hex[:20],
                transaction_id="T" + uuid.uuid4().hex[:20],
                uetr=uuid.uuid4(),
                amount=Money(2_500_00, "PKR"),
                debtor=iso.Party(name="Skardu Crafts"),
                debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
                debtor_agent=iso.Agent(member_id="MEZNPKKA"),
                creditor=iso.Party(name="Ali Raza"),
                creditor_account=iso.Account(proxy=MobileNumber.parse("03001234567")),
                creditor_agent=iso.Agent(member_id="HABBPKKA"),
                remittance_information=("Invoice 42",),
            ),
        ),
    )


def post_json(client: TestClient, auth: Auth, data: object) -> Any:
    return client.post(
        "/v1/switch/iso20022",
        content=json.dumps(data),
        headers={"content-type": JSON},
        auth=auth,
    )


def archive(client: TestClient, auth: Auth) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/switch/messages", auth=auth).json()
    return rows


def test_a_pacs008_in_json_is_carried_out_archived_as_xml_and_answered_in_json(
    setup: tuple[TestClient, Auth],
) -> None:
    client, auth = setup
    sent = pacs008()
    response = post_json(client, auth, iso.to_json(sent))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    answer = iso.from_json(response.json())
    assert isinstance(answer, iso.PaymentStatusReport)
    assert response.json()["message_type"] == "pacs.002.001.10"
    (status,) = answer.transactions
    assert (status.status, status.original_uetr) == (
        iso.PaymentStatus.ACSC,
        sent.transactions[0].uetr,
    )
    # Archived as the envelope it stands for: AppHdr from the caller to the hub.
    kept = {m["message_type"]: m for m in archive(client, auth)}
    assert set(kept) == {"pacs.008.001.08", "pacs.002.001.10"}
    inbound = kept["pacs.008.001.08"]
    assert inbound["business_message_id"] == sent.message_id
    body = client.get(f"/v1/switch/messages/{inbound['id']}", auth=auth).content
    envelope = iso.parse_envelope(body)
    assert envelope.document == sent
    assert (envelope.header.from_agent.member_id, envelope.header.to_agent.member_id) == (
        "MEZNPKKA",
        "RAASTHUB",
    )
    answered = client.get(f"/v1/switch/messages/{kept['pacs.002.001.10']['id']}", auth=auth)
    assert iso.parse_envelope(answered.content).document == answer
    # The same JSON again is a retry, answered as the first; other content under its MsgId
    # is refused whole (DUPL), in JSON too.
    again = iso.from_json(post_json(client, auth, iso.to_json(sent)).json())
    assert isinstance(again, iso.PaymentStatusReport)
    assert again.transactions[0].status is iso.PaymentStatus.ACSC
    other = iso.to_json(pacs008())
    other["message_id"] = sent.message_id
    refused = iso.from_json(post_json(client, auth, other).json())
    assert isinstance(refused, iso.PaymentStatusReport)
    assert refused.original_groups[0].reasons[0].code is iso.ReasonCode.DUPL
    assert client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"] == 97_500_00


def test_a_pacs028_in_json_and_an_xml_message_that_accepts_json(
    setup: tuple[TestClient, Auth],
) -> None:
    client, auth = setup
    sent = pacs008()
    xml = iso.build_envelope(iso.Envelope.of(sent, sender="MEZNPKKA", receiver="RAASTHUB"))
    response = client.post(
        "/v1/switch/iso20022",
        content=xml,
        headers={"content-type": "application/xml", "accept": "application/json, */*"},
        auth=auth,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert isinstance(iso.from_json(response.json()), iso.PaymentStatusReport)
    question = iso.PaymentStatusRequest(
        message_id="Q" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(
            iso.StatusRequestTransaction(original_uetr=sent.transactions[0].uetr),
            iso.StatusRequestTransaction(original_end_to_end_id="NO-SUCH-PAYMENT"),
        ),
    )
    status = post_json(client, auth, iso.to_json(question))
    assert status.status_code == 200, status.text
    report = iso.from_json(status.json())
    assert isinstance(report, iso.PaymentStatusReport)
    assert [(t.status, [r.code for r in t.reasons]) for t in report.transactions] == [
        (iso.PaymentStatus.ACSC, []),
        (iso.PaymentStatus.RJCT, [iso.ReasonCode.AG09]),
    ]


def test_a_pain001_in_json_is_answered_with_a_pain002_in_json(
    setup: tuple[TestClient, Auth],
) -> None:
    client, auth = setup
    payee = iso.InitiationTransaction(
        end_to_end_id="PAY-" + uuid.uuid4().hex[:8],
        amount=Money(1_000_00, "PKR"),
        creditor=iso.Party(name="Supplier"),
        creditor_account=iso.Account(proxy=MobileNumber.parse("03001234567")),
        remittance_information=("Bill 1",),
    )
    file = iso.CustomerCreditTransferInitiation(
        message_id="FILE" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            iso.PaymentInstruction(
                payment_information_id="WOOL",
                requested_execution=date(2026, 11, 24),
                debtor=iso.Party(name="Skardu Crafts"),
                debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "1").compact)),
                debtor_agent=iso.Agent(member_id="MEZNPKKA"),
                transactions=(payee,),
            ),
        ),
    )
    response = post_json(client, auth, iso.to_json(file))
    assert response.status_code == 200, response.text
    answer = iso.from_json(response.json())
    assert isinstance(answer, iso.CustomerPaymentStatusReport)
    (group,) = answer.payment_instructions
    assert group.original_payment_information_id == "WOOL"
    assert group.transactions[0].status is iso.PaymentStatus.ACSC
    assert {m["message_type"] for m in archive(client, auth)} == {
        "pain.001.001.09",
        "pain.002.001.10",
    }


def test_bad_json_is_refused_with_its_path_and_changes_nothing(
    setup: tuple[TestClient, Auth],
) -> None:
    client, auth = setup
    good = iso.to_json(pacs008())
    float_amount = copy.deepcopy(good)
    float_amount["transactions"][0]["amount"]["amount_minor"] = 2500.0
    unknown_field = copy.deepcopy(good)
    unknown_field["transactions"][0]["colour"] = "blue"
    bad_iban = copy.deepcopy(good)
    bad_iban["transactions"][0]["debtor_account"]["iban"] = "PK00XXXX"
    missing = copy.deepcopy(good)
    del missing["created_at"]
    for data, code, path in (
        (float_amount, "iso20022_invalid_json", "transactions[0].amount.amount_minor"),
        (unknown_field, "iso20022_invalid_json", "transactions[0].colour"),
        (missing, "iso20022_invalid_json", "created_at"),
        (bad_iban, "iso20022_invalid_field", "transactions[0].debtor_account.iban"),
        ([1, 2], "iso20022_invalid_json", "$"),
        ({**good, "message_type": "pacs.999"}, "iso20022_unsupported_message", None),
    ):
        response = post_json(client, auth, data)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, path
        if path is not None:
            assert response.json()["fields"]["path"] == path
    for body in (b"{not json", b'{"a": 1, "a": 2}', b'{"amount": NaN}', b"\xff\xfe"):
        response = client.post(
            "/v1/switch/iso20022", content=body, headers={"content-type": JSON}, auth=auth
        )
        assert response.status_code == 422, body
        problem = response.json()
        assert (problem["code"], problem["fields"]["path"]) == ("iso20022_invalid_json", "$")
    # A message the hub does not take from participants, in JSON as in XML.
    hub_only = iso.to_json(
        iso.CustomerPaymentStatusReport(
            message_id="S" + uuid.uuid4().hex[:20],
            created_at=datetime.now(UTC),
            original_group=iso.OriginalGroupStatus(
                original_message_id="F1", original_message_name="pain.001.001.09"
            ),
        )
    )
    response = post_json(client, auth, hub_only)
    assert (response.status_code, response.json()["code"]) == (422, "switch_message_not_accepted")
    # Only that well-formed message is in the archive (every message in is kept); no
    # malformed one is, and no money moved.
    assert [m["message_type"] for m in archive(client, auth)] == ["pain.002.001.10"]
    assert client.get("/v1/switch/liquidity", auth=auth).json()["available_minor"] == 100_000_00
