"""Monitoring alerts over HTTP (/v1/compliance/alerts): list, inspect, close."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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


def test_alerts_are_listed_inspected_and_closed(
    client: TestClient, sqlite_container: Container
) -> None:
    monitoring: Monitoring = sqlite_container.monitoring  # type: ignore[attr-defined]
    customer = uuid.uuid4()
    for n in range(11):
        monitoring.observe(
            customer, "debit", 5_000_00, "PKR", per_transaction_limit_minor=None, reference=f"p{n}"
        )
    (alert,) = client.get("/v1/compliance/alerts", headers=OPERATOR).json()
    assert (alert["rule"], alert["observation_count"], alert["status"]) == ("velocity", 11, "open")
    assert alert["total_minor"] == 55_000_00
    assert alert["customer_id"] == str(customer)
    detail = client.get(f"/v1/compliance/alerts/{alert['id']}", headers=OPERATOR).json()
    assert [o["reference"] for o in detail["observations"]] == [f"p{n}" for n in range(11)]
    mine = client.get(f"/v1/compliance/alerts?customer_id={customer}", headers=OPERATOR).json()
    assert [a["id"] for a in mine] == [alert["id"]]
    other = client.get(f"/v1/compliance/alerts?customer_id={uuid.uuid4()}", headers=OPERATOR)
    assert other.json() == []

    closed = client.post(
        f"/v1/compliance/alerts/{alert['id']}/close",
        json={"reviewer": "ayesha", "note": "Eid bonuses to eleven staff; payroll on file"},
        headers=OPERATOR,
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_by"]) == ("closed", "ayesha")
    twice = client.post(
        f"/v1/compliance/alerts/{alert['id']}/close",
        json={"reviewer": "ayesha", "note": "again"},
        headers=OPERATOR,
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "monitoring_alert_already_closed")
    assert client.get("/v1/compliance/alerts", headers=OPERATOR).json() == []
    closed_list = client.get("/v1/compliance/alerts?status=closed", headers=OPERATOR).json()
    assert [a["id"] for a in closed_list] == [alert["id"]]
    everything = client.get("/v1/compliance/alerts?status=all", headers=OPERATOR).json()
    assert len(everything) == 1
    missing = client.get(f"/v1/compliance/alerts/{uuid.UUID(int=9)}", headers=OPERATOR)
    assert (missing.status_code, missing.json()["code"]) == (404, "monitoring_alert_not_found")
    bad = client.get("/v1/compliance/alerts?status=pending", headers=OPERATOR)
    assert (bad.status_code, bad.json()["code"]) == (422, "monitoring_request_invalid")
    empty_note = client.post(
        f"/v1/compliance/alerts/{alert['id']}/close",
        json={"reviewer": "ayesha", "note": ""},
        headers=OPERATOR,
    )
    assert (empty_note.status_code, empty_note.json()["code"]) == (422, "validation_failed")
