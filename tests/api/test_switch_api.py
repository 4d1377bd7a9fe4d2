"""The hub over HTTP: operator set-up, then participants link, look up, pay and answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from switch_support import OPERATOR, payment, register
from tijarat.api import switch as switch_api
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.switch.schemas import PaymentOut


@pytest.fixture
def client(sqlite_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_container)) as test_client:
        yield test_client


def test_participants_link_look_up_pay_and_answer_over_http(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    habib = register(client, "HABBPKKA", "HABB")
    linked = client.post(
        "/v1/switch/aliases",
        json={
            "number": "0300 1234567",
            "iban": make_pk_iban("HABB", "7").compact,
            "cnic": "35202-1234567-1",
            "account_title": "Ali Raza",
        },
        auth=habib,
    )
    assert linked.status_code == 201, linked.text
    found = client.get("/v1/switch/aliases/03001234567", auth=meezan).json()
    assert found == {
        "number": "+923001234567",
        "participant_code": "HABBPKKA",
        "participant_name": "Habbpkka",
        "masked_title": "AL*** RAZA",
        "iban": None,
    }
    sent = client.post(
        "/v1/switch/payments", json=payment({"creditor_alias": "03001234567"}), auth=meezan
    ).json()
    assert sent["status"] == "PDNG"  # Habib answers over the API
    answered = client.post(
        f"/v1/switch/payments/{sent['id']}/answer", json={"accept": True}, auth=habib
    ).json()
    assert answered["status"] == "ACSC"
    assert (
        client.get(f"/v1/switch/payments/{sent['end_to_end_id']}", auth=meezan).json()["status"]
        == "ACSC"
    )
    assert client.get("/v1/switch/liquidity", auth=habib).json()["available_minor"] == 512_500_00
    refund = client.post(
        f"/v1/switch/payments/{sent['id']}/returns",
        json={"return_id": str(uuid.uuid4()), "amount_minor": 2_500_00, "reason": "MD06"},
        auth=habib,
    ).json()
    assert refund["returned_minor"] == 2_500_00


def test_forged_or_missing_credentials_and_bad_bodies(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    body = payment({"creditor_iban": make_pk_iban("MEZN", "2").compact})
    for auth in (None, ("MEZNPKKA", "forged"), ("NOBODY12", meezan[1])):
        response = client.post("/v1/switch/payments", json=body, auth=auth)
        assert response.status_code == 401
        assert response.json()["code"] == "switch_unauthenticated"
    assert client.post("/v1/switch/participants", json={}, headers={}).status_code == 401
    bad = client.post("/v1/switch/payments", json={**body, "uetr": "nope"}, auth=meezan)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    extra = client.post("/v1/switch/payments", json={**body, "surprise": 1}, auth=meezan)
    assert extra.status_code == 422
    missing = client.get("/v1/switch/aliases/03009999999", auth=meezan)
    assert (missing.status_code, missing.json()["code"]) == (404, "switch_alias_not_found")
    suspended = client.post("/v1/switch/participants/MEZNPKKA/suspend", headers=OPERATOR)
    assert suspended.json()["status"] == "suspended"
    refused = client.post("/v1/switch/payments", json=body, auth=meezan)
    assert (refused.status_code, refused.json()["code"]) == (403, "switch_participant_suspended")


def test_the_payments_fast_path_answers_as_the_route_does(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PaymentsFastPath takes the common case; everything else reaches the route, body intact."""
    recognised: list[bool] = []
    real = switch_api._recognised

    def spy(*arguments: Any) -> Any:
        found = real(*arguments)
        recognised.append(found is not None)
        return found

    monkeypatch.setattr(switch_api, "_recognised", spy)
    meezan = register(client, "MEZNPKKA", "MEZN")
    register(client, "HABBPKKA", "HABB")
    creditor = {"creditor_iban": make_pk_iban("HABB", "2").compact}
    # A participant this process has not seen yet is authenticated by the route, then known.
    first = client.post("/v1/switch/payments", json=payment(creditor), auth=meezan)
    fast = client.post("/v1/switch/payments", json=payment(creditor), auth=meezan)
    routed = client.post(
        "/v1/switch/payments",
        content=json.dumps(payment(creditor)),
        headers={"content-type": "application/json; charset=utf-8"},
        auth=meezan,
    )
    assert recognised == [False, True, False]
    assert (first.status_code, fast.status_code, routed.status_code) == (200, 200, 200)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    for answer in (fast.json(), routed.json()):
        assert answer.keys() == PaymentOut.model_fields.keys()
        assert (answer["status"], answer["reason"], answer["returned_minor"]) == ("PDNG", None, 0)
    # The same ids again: the retry is answered with the same payment, on either path.
    again = client.post(
        "/v1/switch/payments",
        content=fast.request.content,
        auth=meezan,
        headers={"content-type": "application/json"},
    )
    assert again.json() == fast.json()
    # Refusals by the payments themselves come back as problems from the fast path too.
    poor = client.post("/v1/switch/payments", json=payment(creditor, 10**12), auth=meezan)
    assert (poor.json()["status"], poor.json()["reason"]) == ("RJCT", "AM04")
    recognised.clear()
    wrong = client.post("/v1/switch/payments", json={**payment(creditor), "uetr": "x"}, auth=meezan)
    forged = client.post("/v1/switch/payments", json=payment(creditor), auth=("MEZNPKKA", "x"))
    garbled = client.post(
        "/v1/switch/payments", json=payment(creditor), headers={"authorization": "Basic %%%"}
    )
    assert recognised == [False, False, False]
    assert (wrong.status_code, wrong.json()["errors"][0]["location"]) == (422, ["body", "uetr"])
    assert (forged.status_code, forged.json()["code"]) == (401, "switch_unauthenticated")
    assert garbled.status_code == 401
    # A refusal from behind the queue is the same problem+json as the route would write.
    container = client.app.state.container  # type: ignore[attr-defined]
    container.payment_queue.close()  # as at shutdown (closing again later is harmless)
    recognised.clear()
    refused = client.post("/v1/switch/payments", json=payment(creditor), auth=meezan)
    assert recognised == [True]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == {
        "type": "https://tijarat.dev/problems/switch_busy",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the hub is shutting down",
        "code": "switch_busy",
        "instance": "/v1/switch/payments",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("debtor_name", "Skardu\tCrafts"),
        ("debtor_name", "   "),
        ("creditor_name", "line\nbreak"),
        ("remittance_information", "bell\u0007"),
        ("end_to_end_id", "E2E\u0085"),
        ("purpose", "goods"),
        ("purpose", "GDDSX"),
    ],
)
def test_text_iso_20022_cannot_carry_is_refused_at_the_door(
    client: TestClient, field: str, value: str
) -> None:
    """Refused with 422 and nothing stored, not accepted and then timed out (AB05) because
    its credit advice cannot be built."""
    meezan = register(client, "MEZNPKKA", "MEZN")
    body = payment({"creditor_iban": make_pk_iban("MEZN", "2").compact}) | {field: value}
    refused = client.post("/v1/switch/payments", json=body, auth=meezan)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed")
    assert refused.json()["errors"][0]["location"] == ["body", field]
    missing = client.get(f"/v1/switch/payments/{body['end_to_end_id']}", auth=meezan)
    assert missing.status_code == 404


def test_a_payee_without_an_endpoint_polls_its_inbox_and_answers(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    habib = register(client, "HABBPKKA", "HABB")
    sent = client.post(
        "/v1/switch/payments",
        json=payment({"creditor_iban": make_pk_iban("HABB", "7").compact}),
        auth=meezan,
    )
    assert sent.json()["status"] == "PDNG", sent.text
    inbox = client.get("/v1/switch/messages", params={"after": 0}, auth=habib).json()
    assert [m["message_type"] for m in inbox] == ["pacs.008.001.08"]  # the credit advice
    read = client.get("/v1/switch/messages", params={"after": inbox[-1]["position"]}, auth=habib)
    assert read.json() == []  # read forward from where it stands: nothing new
    # A bare seq (what a reader passed before positions) would read everything again.
    for bad in ("x", "1.2.3", "-1", "5", "1." + "9" * 20, "9" * 19 + ".1", "1." + "9" * 19):
        refused = client.get("/v1/switch/messages", params={"after": bad}, auth=habib)
        assert refused.status_code == 422, bad
        assert refused.json()["code"] == "switch_archive_position_invalid"
    waiting = client.get("/v1/switch/incoming", auth=habib).json()
    assert [p["id"] for p in waiting] == [sent.json()["id"]]
    assert waiting[0]["creditor_iban"] == make_pk_iban("HABB", "7").compact  # the payee's own
    assert client.get("/v1/switch/incoming", auth=meezan).json() == []
    answered = client.post(
        f"/v1/switch/payments/{waiting[0]['id']}/answer", json={"accept": True}, auth=habib
    )
    assert answered.json()["status"] == "ACSC", answered.text
    assert client.get("/v1/switch/incoming", auth=habib).json() == []
    done = client.get("/v1/switch/incoming", params={"status": "all"}, auth=habib).json()
    assert [p["status"] for p in done] == ["ACSC"]
    # The payer was answered PDNG: the ACSC waits in its archive.
    news = client.get("/v1/switch/messages", params={"after": 0}, auth=meezan).json()
    assert [m["message_type"] for m in news if m["direction"] == "out"] == ["pacs.002.001.10"]
    assert (
        client.get("/v1/switch/incoming", params={"status": "nope"}, auth=habib).status_code == 422
    )
