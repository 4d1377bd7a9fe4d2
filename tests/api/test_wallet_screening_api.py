"""Lists, screening and the review queue over HTTP (/v1/compliance), operator only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tijarat.api import compliance
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.wallet.monitoring import Monitoring
from tijarat.wallet.screening import Screening

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}
CSV = {**OPERATOR, "Content-Type": "text/csv"}
SAMPLE = Path(__file__).parents[2] / "data" / "sanctions-sample.csv"
UN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST>
  <INDIVIDUALS><INDIVIDUAL>
    <DATAID>900001</DATAID><FIRST_NAME>QASIM</FIRST_NAME><SECOND_NAME>ZARBAKHT</SECOND_NAME>
    <UN_LIST_TYPE>Fictional</UN_LIST_TYPE><REFERENCE_NUMBER>TSi.001</REFERENCE_NUMBER>
  </INDIVIDUAL></INDIVIDUALS>
</CONSOLIDATED_LIST>
"""


def compliance_app(container: Container) -> FastAPI:
    """The app with the compliance router and services, until the container wires them."""
    container.screening = Screening(container.engine, container.clock)  # type: ignore[attr-defined]
    container.monitoring = Monitoring(container.engine, container.clock)  # type: ignore[attr-defined]
    app = create_app(container)
    if not any(getattr(route, "path", "").startswith("/v1/compliance") for route in app.routes):
        app.include_router(compliance.router)
    return app


@pytest.fixture
def client(sqlite_container: Container) -> Iterator[TestClient]:
    with TestClient(compliance_app(sqlite_container)) as test_client:
        yield test_client


def test_lists_are_imported_and_names_screened_over_http(client: TestClient) -> None:
    sample = SAMPLE.read_bytes()
    imported = client.post("/v1/compliance/lists/sample", content=sample, headers=CSV)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["source"], body["version"], body["entry_count"], body["active"]) == (
        "sample",
        1,
        10,
        True,
    )
    assert body["format"] == "csv"
    assert body["imported_by"] == "operator"
    xml = client.post(
        "/v1/compliance/lists/un?imported_by=ayesha",
        content=UN_XML.encode(),
        headers={**OPERATOR, "Content-Type": "application/xml"},
    )
    assert xml.status_code == 201, xml.text
    assert (xml.json()["format"], xml.json()["imported_by"]) == ("un-xml", "ayesha")
    listed = client.get("/v1/compliance/lists", headers=OPERATOR).json()
    assert [(item["source"], item["version"]) for item in listed] == [("sample", 1), ("un", 1)]

    screened = client.post(
        "/v1/compliance/screenings",
        json={"name": "Mr. Kasim ZARBAKHT", "subject": "payee", "reference": "pay-1"},
        headers=OPERATOR,
    )
    assert screened.status_code == 200, screened.text
    result = screened.json()
    assert (result["outcome"], result["normalised_name"]) == ("block", "qasim zarbakht")
    matches = [(m["source"], m["entry_ref"], m["score"]) for m in result["matches"]]
    assert matches == [("sample", "TEST-0001", 100.0), ("un", "TSi.001", 100.0)]
    assert all(m["review_id"] for m in result["matches"])
    clear = client.post(
        "/v1/compliance/screenings",
        json={"name": "Skardu Crafts", "subject": "payer"},
        headers=OPERATOR,
    ).json()
    assert (clear["outcome"], clear["matches"]) == ("clear", [])
    assert len(clear["list_ids"]) == 2


def test_bad_lists_are_problems_that_name_the_line(client: TestClient) -> None:
    bad = client.post(
        "/v1/compliance/lists/local",
        content=b"id,name,aliases,type,programme\nT1,Ali Raza,,person,P\n",
        headers=CSV,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert (bad.json()["code"], bad.json()["fields"]["line"]) == ("screening_list_invalid", 2)
    assert bad.json()["detail"].startswith("line 2: ")
    wrong_type = client.post(
        "/v1/compliance/lists/local",
        content=b"{}",
        headers={**OPERATOR, "Content-Type": "application/json"},
    )
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (
        415,
        "screening_format_unsupported",
    )
    not_utf8 = client.post("/v1/compliance/lists/local", content=b"id,\xff\xfe", headers=CSV)
    assert (not_utf8.status_code, not_utf8.json()["code"]) == (422, "screening_list_invalid")
    bad_source = client.post("/v1/compliance/lists/bad%20name", content=b"x", headers=CSV)
    assert bad_source.json()["code"] == "screening_source_invalid"
    assert client.get("/v1/compliance/lists", headers=OPERATOR).json() == []


def test_the_review_queue_over_http(client: TestClient) -> None:
    client.post("/v1/compliance/lists/sample", content=SAMPLE.read_bytes(), headers=CSV)
    hit = client.post(
        "/v1/compliance/screenings",
        json={"name": "Zarnigar Bibi Chowdhury", "subject": "payee", "reference": "pay-7"},
        headers=OPERATOR,
    ).json()
    assert hit["outcome"] == "block"  # Chowdhury is a spelling of Chaudhry
    review_id = hit["matches"][0]["review_id"]
    queue = client.get("/v1/compliance/reviews", headers=OPERATOR).json()
    assert [(r["id"], r["status"], r["entry_ref"]) for r in queue] == [
        (review_id, "open", "TEST-0007")
    ]
    resolved = client.post(
        f"/v1/compliance/reviews/{review_id}/resolve",
        json={"decision": "release", "reviewer": "ayesha", "note": "different CNIC and father"},
        headers=OPERATOR,
    )
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("released", "ayesha")
    assert [e["action"] for e in resolved.json()["events"]] == ["opened", "released"]
    again = client.post(
        f"/v1/compliance/reviews/{review_id}/resolve",
        json={"decision": "confirm", "reviewer": "bilal", "note": "no"},
        headers=OPERATOR,
    )
    assert (again.status_code, again.json()["code"]) == (409, "screening_review_already_resolved")
    retry = client.post(
        "/v1/compliance/screenings",
        json={"name": "Zarnigar Bibi Chowdhury", "subject": "payee", "reference": "pay-8"},
        headers=OPERATOR,
    ).json()
    assert (retry["outcome"], retry["matches"][0]["decision"]) == ("clear", "released")
    detail = client.get(f"/v1/compliance/reviews/{review_id}", headers=OPERATOR).json()
    assert [(e["action"], e["reference"]) for e in detail["events"]] == [
        ("opened", "pay-7"),
        ("released", "pay-7"),
        ("hit", "pay-8"),
    ]
    assert client.get("/v1/compliance/reviews", headers=OPERATOR).json() == []
    everything = client.get("/v1/compliance/reviews?status=all", headers=OPERATOR).json()
    assert [r["id"] for r in everything] == [review_id]
    bad_status = client.get("/v1/compliance/reviews?status=maybe", headers=OPERATOR)
    assert (bad_status.status_code, bad_status.json()["code"]) == (422, "screening_request_invalid")
    missing = client.get(f"/v1/compliance/reviews/{uuid.UUID(int=3)}", headers=OPERATOR)
    assert (missing.status_code, missing.json()["code"]) == (404, "screening_review_not_found")
    bad_decision = client.post(
        f"/v1/compliance/reviews/{review_id}/resolve",
        json={"decision": "ignore", "reviewer": "ayesha", "note": "x"},
        headers=OPERATOR,
    )
    assert (bad_decision.status_code, bad_decision.json()["code"]) == (422, "validation_failed")


def test_compliance_needs_the_operator_token(client: TestClient) -> None:
    for method, path in (
        ("GET", "/v1/compliance/lists"),
        ("POST", "/v1/compliance/lists/sample"),
        ("POST", "/v1/compliance/screenings"),
        ("GET", "/v1/compliance/reviews"),
        ("GET", "/v1/compliance/alerts"),
    ):
        response = client.request(
            method, path, headers={"Authorization": "Bearer wrong", "Content-Type": "text/csv"}
        )
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated"), path
