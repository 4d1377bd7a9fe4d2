"""Audit fixes of the hub's API, on SQLite and PostgreSQL: body limits however the body
arrives, no creditor IBAN to a payer that named a Raast ID, the donor's view of claims and
their audit trail, configurable directory limits, and settlement reports over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from asgi_support import drive
from switch_support import OPERATOR, payment, register
from tijarat.api.app import create_app
from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.settings import Settings

NUMBER = "03001234567"
Auth = tuple[str, str]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


def link(client: TestClient, holder: Auth, bank: str, title: str = "Ayesha Siddiqui") -> str:
    iban = make_pk_iban(bank, "7").compact
    linked = client.post(
        "/v1/switch/aliases",
        json={"number": NUMBER, "iban": iban, "cnic": "35202-1234567-1", "account_title": title},
        auth=holder,
    )
    assert linked.status_code == 201, linked.text
    return iban


def _problem(response: Any, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"


# ---------------------------------------------------------------------------- body limits
def test_a_chunked_body_over_the_limit_is_refused_413_and_nothing_is_paid(
    client: TestClient,
) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    ten_mb = (b" " * (1 << 20) for _ in range(10))  # a generator: sent chunked, no length
    refused = client.post(
        "/v1/switch/payments",
        content=ten_mb,
        headers={"content-type": "application/json"},
        auth=meezan,
    )
    assert "content-length" not in refused.request.headers
    _problem(refused, 413, "request_too_large")
    assert client.get("/v1/switch/liquidity", auth=meezan).json()["available_minor"] == 500_000_00


def _post_chunked(
    app: FastAPI, path: str, auth: Auth, chunks: list[bytes]
) -> tuple[int, bytes, int]:
    """POST `chunks` one ASGI message at a time: status, body and how many were read."""
    basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/xml"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Basic {basic}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return drive(app, scope, chunks)


def test_the_iso_endpoint_stops_reading_at_its_own_1_mib_limit(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    chunk = 64 * 1024
    three_mib = [b"<" + b" " * (chunk - 1)] * 48  # under the app's 4 MiB, over ISO's 1 MiB
    status, body, read = _post_chunked(client.app, "/v1/switch/iso20022", meezan, three_mib)  # type: ignore[arg-type]
    assert status == 413
    assert b'"code":"iso20022_too_large"' in body
    assert read == (1 << 20) // chunk + 1  # not one chunk more than the limit needed


# ---------------------------------------------------------------------------- creditor IBAN
def test_a_payer_by_raast_id_never_sees_the_creditor_iban(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    habib = register(client, "HABBPKKA", "HABB")
    iban = link(client, habib, "HABB")
    by_alias = {"creditor_alias": NUMBER}
    routed = client.post("/v1/switch/payments", json=payment(by_alias), auth=meezan).json()
    fast = client.post("/v1/switch/payments", json=payment(by_alias), auth=meezan).json()
    impossible = client.post(
        "/v1/switch/payments", json=payment(by_alias, 10**12), auth=meezan
    ).json()
    assert (impossible["status"], impossible["reason"]) == ("RJCT", "AM04")
    for answer in (routed, fast, impossible):
        assert answer["creditor_iban"] is None
        status = client.get(f"/v1/switch/payments/{answer['end_to_end_id']}", auth=meezan)
        assert status.json()["creditor_iban"] is None
    # The payee sees its own customer's IBAN; the payer sees it only when it gave it.
    answered = client.post(
        f"/v1/switch/payments/{fast['id']}/answer", json={"accept": True}, auth=habib
    ).json()
    assert (answered["status"], answered["creditor_iban"]) == ("ACSC", iban)
    by_iban = client.post(
        "/v1/switch/payments", json=payment({"creditor_iban": iban}), auth=meezan
    ).json()
    assert by_iban["creditor_iban"] == iban


# ---------------------------------------------------------------------------- claims
def test_the_donor_lists_and_confirms_claims_without_seeing_the_claimants_account(
    client: TestClient,
) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    sadapay = register(client, "SADAPAY", "SADA")
    habib = register(client, "HABBPKKA", "HABB")
    link(client, meezan, "MEZN")
    new_iban = make_pk_iban("SADA", "9").compact
    opened = client.post(
        "/v1/switch/claims",
        json={"number": NUMBER, "iban": new_iban, "account_title": "Ayesha Siddiqui Khan"},
        auth=sadapay,
    )
    assert opened.status_code == 201, opened.text
    claim = opened.json()
    assert (claim["iban"], claim["account_title"]) == (new_iban, "Ayesha Siddiqui Khan")
    inbox = client.get("/v1/switch/claims", params={"status": "open"}, auth=meezan).json()
    assert [c["id"] for c in inbox] == [claim["id"]]
    assert inbox[0] | {"id": None} == {
        "id": None,
        "number": "+923001234567",
        "status": "open",
        "claimant": "SADAPAY",
        "donor": "MEZNPKKA",
        "masked_title": "AYE*** SID*** KHAN",
        "iban": None,
        "account_title": None,
        "created_at": claim["created_at"],
        "resolve_after": claim["resolve_after"],
        "resolved_at": None,
    }
    assert client.get("/v1/switch/claims", params={"status": "completed"}, auth=meezan).json() == []
    assert client.get("/v1/switch/claims", auth=habib).json() == []  # not a party
    _problem(
        client.get("/v1/switch/claims", params={"status": "won"}, auth=meezan),
        422,
        "validation_failed",
    )
    _problem(
        client.get("/v1/switch/claims", params={"limit": 0}, auth=meezan), 422, "validation_failed"
    )
    _problem(
        client.get(f"/v1/switch/claims/{claim['id']}", auth=habib), 404, "switch_claim_not_found"
    )
    confirmed = client.post(f"/v1/switch/claims/{claim['id']}/confirm", auth=meezan)
    assert confirmed.status_code == 200, confirmed.text
    assert new_iban not in confirmed.text
    assert "Ayesha Siddiqui Khan" not in confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["iban"]) == ("completed", None)
    # The trail says who acted: the donor confirmed, not the claimant.
    for side in (meezan, sadapay):
        detail = client.get(f"/v1/switch/claims/{claim['id']}", auth=side).json()
        assert [(e["action"], e["participant"]) for e in detail["audit"]] == [
            ("claim_opened", "SADAPAY"),
            ("claim_completed", "MEZNPKKA"),
        ]
    assert client.get(f"/v1/switch/claims/{claim['id']}", auth=meezan).json()["iban"] is None


def test_a_claim_completed_by_the_period_is_recorded_as_the_hubs_act(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    sadapay = register(client, "SADAPAY", "SADA")
    link(client, meezan, "MEZN")
    claim = client.post(
        "/v1/switch/claims",
        json={"number": NUMBER, "iban": make_pk_iban("SADA", "9").compact, "account_title": "A B"},
        auth=sadapay,
    ).json()
    clock.advance(seconds=container.switch.claim_resolution_s)
    assert container.switch.complete_due_claims() == 1
    trail = client.get(f"/v1/switch/claims/{claim['id']}", auth=meezan).json()["audit"]
    assert trail[-1]["action"] == "claim_completed"
    assert (trail[-1]["participant"], trail[-1]["detail"]) == (None, "resolution period passed")


# ---------------------------------------------------------------------------- settings
def test_claim_period_and_lookup_rate_come_from_the_settings(
    database_url: str, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=database_url,
        environment="test",
        claim_resolution_s=3_600,
        alias_lookups_per_minute=2,
    )
    built = build(settings, clock=clock)
    try:
        assert (built.switch.claim_resolution_s, built.switch.lookups_per_minute) == (3_600, 2)
        with TestClient(create_app(built)) as client:
            meezan = register(client, "MEZNPKKA", "MEZN")
            sadapay = register(client, "SADAPAY", "SADA")
            link(client, meezan, "MEZN")
            claim = client.post(
                "/v1/switch/claims",
                json={
                    "number": NUMBER,
                    "iban": make_pk_iban("SADA", "9").compact,
                    "account_title": "A B",
                },
                auth=sadapay,
            ).json()
            assert claim["resolve_after"] == clock.now_ns() + 3_600 * 10**9
            for _ in range(2):
                assert client.get(f"/v1/switch/aliases/{NUMBER}", auth=sadapay).status_code == 200
            limited = client.get(f"/v1/switch/aliases/{NUMBER}", auth=sadapay)
            _problem(limited, 429, "switch_lookup_rate_limited")
            # When to come back, as a header too (RFC 9110), within the minute's window.
            assert 0 <= int(limited.headers["retry-after"]) <= 60
            assert int(limited.headers["retry-after"]) == limited.json()["fields"]["retry_after_s"]
    finally:
        built.close()


# ---------------------------------------------------------------------------- reports
def test_settlement_reports_for_the_participant_and_the_operator(client: TestClient) -> None:
    meezan = register(client, "MEZNPKKA", "MEZN")
    habib = register(client, "HABBPKKA", "HABB")
    paid = client.post(
        "/v1/switch/payments",
        json=payment({"creditor_iban": make_pk_iban("HABB", "3").compact}),
        auth=meezan,
    ).json()
    client.post(f"/v1/switch/payments/{paid['id']}/answer", json={"accept": True}, auth=habib)
    day = {"start": "2026-01-01", "end": "2026-01-01"}  # the ManualClock's Pakistan day
    mine = client.get("/v1/switch/settlement/report", params=day, auth=meezan)
    assert mine.status_code == 200, mine.text
    assert mine.json() | {"start": None, "end": None} == {
        "participant": "MEZNPKKA",
        "currency": "PKR",
        "start": None,
        "end": None,
        "from_timestamp": mine.json()["from_timestamp"],
        "to_timestamp": mine.json()["from_timestamp"] + 86_400 * 10**9,
        "opening_minor": 0,
        "closing_minor": 500_000_00 - 12_500_00,
        "sent_count": 1,
        "sent_minor": 12_500_00,
        "received_count": 0,
        "received_minor": 0,
        "returned_out_minor": 0,
        "returned_in_minor": 0,
        "funded_minor": 500_000_00,
    }
    assert mine.json()["start"] == "2025-12-31T19:00:00Z"
    times = {"start": "2025-12-31T00:00:00+05:00", "end": "2026-01-02T00:00:00Z"}
    theirs = client.get(
        "/v1/switch/participants/HABBPKKA/settlement/report", params=times, headers=OPERATOR
    ).json()
    assert (theirs["participant"], theirs["received_count"]) == ("HABBPKKA", 1)
    assert theirs["closing_minor"] == 500_000_00 + 12_500_00
    # A participant sees only its own: the operator's route is not for it.
    _problem(
        client.get("/v1/switch/participants/HABBPKKA/settlement/report", params=day, auth=meezan),
        401,
        "unauthenticated",
    )
    _problem(client.get("/v1/switch/settlement/report", params=day), 401, "switch_unauthenticated")
    for bad in (
        {"start": "yesterday", "end": "2026-01-01"},
        {"start": "2026-01-01T00:00:00", "end": "2026-01-02"},  # no time zone
        {"start": "2026-01-02", "end": "2026-01-01"},
        {"start": "1969-12-31", "end": "2026-01-01"},
        {"start": "2026-01-01", "end": "9999-12-31"},
    ):
        _problem(
            client.get("/v1/switch/settlement/report", params=bad, auth=meezan),
            422,
            "switch_report_period_invalid",
        )
    _problem(
        client.get("/v1/switch/settlement/report", params={"start": "2026-01-01"}, auth=meezan),
        422,
        "validation_failed",
    )
    _problem(
        client.get(
            "/v1/switch/participants/NOBODY12/settlement/report", params=day, headers=OPERATOR
        ),
        404,
        "switch_participant_not_found",
    )
