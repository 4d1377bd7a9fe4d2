"""Trade over HTTP: the marketplace's signed pushes (forged, replayed, truncated, oversized),
and the whole order story through the API, from push to paperwork and released escrow."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pypdf
import pytest
from fastapi.testclient import TestClient

from tijarat.api import trade as trade_api
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.trade.model import PUSH_BODY_MAX_BYTES, Incoterm
from tijarat.trade.simulator import (
    DEMO_EXPORTER,
    SKARDU_CATALOG,
    FixedRateWallets,
    MarketplaceSimulator,
    SimulatedStock,
)

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}
APP_KEY = "skardu-orchards-1"
APP_SECRET = "0123456789abcdef0123456789abcdef"


@dataclass
class Seller:
    http: TestClient
    container: Container
    business_id: uuid.UUID
    headers: dict[str, str]
    marketplace: MarketplaceSimulator
    stock: SimulatedStock
    wallets: FixedRateWallets

    def get(self, path: str) -> dict[str, object]:
        response = self.http.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def post(self, path: str, body: object = None, status: int = 200) -> dict[str, object]:
        response = self.http.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        answer: dict[str, object] = response.json()
        return answer

    def inbox(self) -> list[dict[str, object]]:
        response = self.http.get("/v1/trade/inbox", headers=self.headers)
        assert response.status_code == 200, response.text
        entries: list[dict[str, object]] = response.json()
        return entries


@pytest.fixture
def seller(sqlite_container: Container, clock: ManualClock) -> Iterator[Seller]:
    container = sqlite_container
    stock = SimulatedStock()
    wallets = FixedRateWallets(container.ledger, {("USD", "PKR"): "278.50"})
    container.trade.stock = stock
    container.trade.wallets = wallets
    app = create_app(container)
    if not any(getattr(route, "path", "").startswith("/v1/marketplace") for route in app.routes):
        app.include_router(trade_api.router)  # until the lead wires it into create_app
    business_id = uuid.uuid4()
    headers = {**OPERATOR, "X-Business-Id": str(business_id)}
    with TestClient(app) as http:
        for item in SKARDU_CATALOG:
            response = http.put(
                f"/v1/trade/products/{item.sku}",
                json={
                    "description": item.description,
                    "hs_code": item.hs_code,
                    "unit": item.unit,
                    "minimum_order_quantity": item.minimum_order_quantity,
                    "packing": {
                        "unit_net_weight_grams": item.packing.unit_net_weight_grams,
                        "unit_gross_weight_grams": item.packing.unit_gross_weight_grams,
                        "units_per_package": item.packing.units_per_package,
                        "package_length_mm": item.packing.package_length_mm,
                        "package_width_mm": item.packing.package_width_mm,
                        "package_height_mm": item.packing.package_height_mm,
                    },
                    "prices": [
                        {
                            "currency": tier.currency,
                            "minimum_quantity": tier.minimum_quantity,
                            "unit_price_minor": tier.unit_price_minor,
                        }
                        for tier in item.price_tiers
                    ],
                },
                headers=headers,
            )
            assert response.status_code == 200, response.text
            stock.receive(business_id, item.sku, 5_000)
        assert http.put("/v1/trade/exporter", json=dict(DEMO_EXPORTER), headers=headers).is_success
        registered = http.post(
            "/v1/trade/connectors",
            json={"name": "alibaba", "app_key": APP_KEY, "app_secret": APP_SECRET},
            headers=headers,
        )
        assert registered.status_code == 201, registered.text
        assert "app_secret" not in registered.json()
        assert registered.json()["push_url"] == "/v1/marketplace/alibaba/push"
        catalog = container.trade.products(business_id)
        marketplace = MarketplaceSimulator("alibaba", APP_KEY, APP_SECRET, clock, catalog=catalog)
        yield Seller(http, container, business_id, headers, marketplace, stock, wallets)


def signature(body: bytes, secret: str = APP_SECRET, app_key: str = APP_KEY) -> str:
    return hmac.new(secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def push(
    seller: Seller, body: bytes, authorization: str | None, *, app_key: str | None = APP_KEY
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    if app_key is not None:
        headers["X-App-Key"] = app_key
    response = seller.http.post("/v1/marketplace/alibaba/push", content=body, headers=headers)
    return response.status_code, response.json()


def test_the_whole_order_story_over_http(seller: Seller) -> None:
    marketplace = seller.marketplace
    created = marketplace.order_created(
        lines=[("APR-DRY-1KG", 500), ("APR-KERNEL-OIL", 240)], incoterm=Incoterm.DAP
    )
    pushed = marketplace.push(seller.http, created)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"status": "accepted", "message_id": created.message_id}
    # Processed after the answer (a background task): stock reserved, payment requested.
    (order,) = seller.http.get("/v1/trade/orders", headers=seller.headers).json()
    assert order["status"] == "awaiting_payment"
    assert order["total_minor"] == 500 * 590 + 240 * 480 + order["shipping_minor"]
    assert seller.stock.available(seller.business_id, "APR-DRY-1KG") == 4_500
    order_path = f"/v1/trade/orders/{order['id']}"

    assert marketplace.push(seller.http, marketplace.order_paid(order["marketplace_order_id"]))
    order = seller.get(order_path)
    assert order["status"] == "paid"
    assert order["escrow_held_at"] is not None

    export = seller.container.trade.settings.realisation_days
    details = seller.http.put(
        f"{order_path}/export",
        json={
            "financial_instrument_reference": "HBL-EXP-2026-000042",
            "instrument": "advance_payment",
            "realisation_case": "general",
        },
        headers=seller.headers,
    )
    assert details.status_code == 200, details.text
    assert details.json()["status"] == "awaiting_shipment"
    assert seller.post(f"{order_path}/pack")["status"] == "packed"
    shipment = seller.post(
        f"{order_path}/ship",
        {
            "carrier": "DHL",
            "tracking_number": "1234567890",
            "mode": "courier",
            "transport_document_number": "1234567890",
            "port_of_loading": "Islamabad (ISB)",
            "port_of_discharge": "Frankfurt (FRA)",
        },
        status=201,
    )
    assert (shipment["transport_document"], shipment["status"]) == ("AWB", "InfoReceived")
    proceeds = seller.get(f"{order_path}/export")
    shipped_day = from_ns(int(str(proceeds["shipped_at"]))).date()
    deadline_day = from_ns(int(str(proceeds["deadline_at"]))).date()
    assert (deadline_day - shipped_day).days == export[proceeds["realisation_case"]]  # type: ignore[index]

    tracked = seller.post(
        f"/v1/trade/shipments/{shipment['id']}/events",
        {
            "events": [
                {
                    "status": "transit",
                    "occurred_at": "2026-01-01T09:00:00+05:00",
                    "location": "ISB",
                },
                {"status": "delivered", "occurred_at": "2026-01-01T10:00:00+00:00"},
            ]
        },
    )
    assert tracked["status"] == "Delivered"
    assert seller.get(order_path)["status"] == "delivered"

    completed = seller.post(f"{order_path}/receipt")
    assert completed["status"] == "completed"
    assert completed["effects_due"] is False
    proceeds = seller.get(f"{order_path}/export")
    assert proceeds["status"] == "realised"
    assert proceeds["conversion_rate"] == "278.50"
    converted = order["total_minor"] * 27_850 // 100  # type: ignore[operator]
    assert proceeds["converted_minor"] == converted
    deductions = proceeds["deductions"]
    assert [d["kind"] for d in deductions] == [  # type: ignore[attr-defined, index]
        "export_development_surcharge",
        "withholding_tax",
        "advance_tax",
    ]
    assert seller.wallets.balance_minor(seller.business_id, "PKR") == proceeds["net_minor"]
    assert seller.wallets.balance_minor(seller.business_id, "USD") == 0
    verified = seller.http.post("/v1/ledger/verify", headers=OPERATOR)
    assert verified.json()["ok"] is True, verified.text

    history = seller.http.get(f"{order_path}/history", headers=seller.headers).json()
    assert [event["to_status"] for event in history] == [
        "received",
        "confirmed",
        "awaiting_payment",
        "paid",
        "packed",
        "shipped",
        "delivered",
        "completed",
    ]
    invoice = seller.http.get(f"{order_path}/invoice.pdf", headers=seller.headers)
    assert invoice.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(invoice.content)).pages[0].extract_text()
    for expected in (
        "COMMERCIAL INVOICE",
        "HBL-EXP-2026-000042",
        "AWB No. 1234567890",
        "0813.10.00",
        "1515.90.90",
        "Incoterms 2020 DAP",
        str(order["invoice_number"]),
    ):
        assert expected in text, expected
    packing = seller.http.get(f"{order_path}/packing-list.pdf", headers=seller.headers)
    text = pypdf.PdfReader(io.BytesIO(packing.content)).pages[0].extract_text()
    assert "Total packages 30" in text  # 25 cartons of apricots + 5 of oil


def test_forged_replayed_truncated_and_oversized_pushes(seller: Seller) -> None:
    created = seller.marketplace.order_created(incoterm=Incoterm.FOB)
    body, headers = seller.marketplace.signed(created)
    good = headers["Authorization"]

    forged = signature(body, secret="not-the-secret-0123456789")
    status, problem = push(seller, body, forged)
    assert (status, problem["code"]) == (401, "trade_push_unauthenticated")
    assert push(seller, body, None)[0] == 401  # no signature at all
    assert push(seller, body, "")[0] == 401
    tampered = body.replace(b'"quantity":', b'"quantity":1')
    assert push(seller, tampered, good)[0] == 401  # signed body changed on the way
    assert push(seller, body, good, app_key="someone-else")[0] == 401
    assert (
        push(seller, body, signature(body, app_key="someone-else"), app_key="someone-else")[0]
        == 401
    )
    other = seller.http.post(
        "/v1/marketplace/amazon/push", content=body, headers={**headers, "X-App-Key": APP_KEY}
    )
    assert other.status_code == 401

    truncated = body[: len(body) // 2]
    assert push(seller, truncated, good)[0] == 401  # cut in transit: the signature fails
    status, problem = push(seller, truncated, signature(truncated))
    assert (status, problem["code"]) == (400, "trade_push_malformed")  # signed, yet not JSON

    oversized = body[:-1] + b', "padding": "' + b"x" * PUSH_BODY_MAX_BYTES + b'"}'
    status, problem = push(seller, oversized, signature(oversized))
    assert (status, problem["code"]) == (413, "trade_push_too_large")
    assert seller.inbox() == []  # nothing stored by any of these
    assert seller.http.get("/v1/trade/orders", headers=seller.headers).json() == []

    assert push(seller, body, good) == (
        200,
        {"status": "accepted", "message_id": created.message_id},
    )
    for _ in range(3):  # the marketplace retries when our answer is slow or lost
        assert push(seller, body, good.upper()) == (
            200,
            {"status": "duplicate", "message_id": created.message_id},
        )
    assert len(seller.inbox()) == 1
    assert len(seller.http.get("/v1/trade/orders", headers=seller.headers).json()) == 1

    # The app key may come in the body instead of a header, as some marketplaces send it.
    paid = seller.marketplace.order_paid(created.data["order_id"])
    in_body, in_body_headers = seller.marketplace.signed(paid, app_key_in_header=False)
    assert json.loads(in_body)["app_key"] == APP_KEY
    assert push(seller, in_body, in_body_headers["Authorization"], app_key=None)[0] == 200
    (order,) = seller.http.get("/v1/trade/orders", headers=seller.headers).json()
    assert order["status"] == "paid"


def test_the_api_needs_the_operator_and_a_business(seller: Seller) -> None:
    assert seller.http.get("/v1/trade/orders", headers=OPERATOR).json()["code"] == (
        "trade_business_required"
    )
    no_operator = seller.http.get(
        "/v1/trade/orders", headers={"X-Business-Id": str(seller.business_id)}
    )
    assert no_operator.status_code == 401
    stranger = {**OPERATOR, "X-Business-Id": str(uuid.uuid4())}
    assert seller.http.get("/v1/trade/orders", headers=stranger).json() == []
    seller.marketplace.push(seller.http, seller.marketplace.order_created(incoterm=Incoterm.EXW))
    (order,) = seller.http.get("/v1/trade/orders", headers=seller.headers).json()
    assert seller.http.get(f"/v1/trade/orders/{order['id']}", headers=stranger).status_code == 404
    refused = seller.http.post(f"/v1/trade/orders/{order['id']}/pack", headers=seller.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "trade_illegal_transition"
    assert refused.json()["fields"]["from"] == "awaiting_payment"
    missing = seller.http.post(
        f"/v1/trade/orders/{order['id']}/payments",
        json={"amount_minor": 1, "currency": "USD", "payment_reference": "P"},
        headers=seller.headers,
    )
    assert missing.json()["code"] == "trade_payment_mismatch"
    report = seller.http.get("/v1/trade/proceeds/report", headers=seller.headers)
    assert report.json() == []
    assert seller.post("/v1/trade/sweep") == {
        "auto_released": 0,
        "closed_unpaid": 0,
        "effects_finished": 0,
        "auto_confirmed": 0,
        "inbox_applied": 0,
    }


def test_tracking_import_over_http(seller: Seller) -> None:
    created = seller.marketplace.order_created(incoterm=Incoterm.CIF)
    seller.marketplace.push(seller.http, created)
    seller.marketplace.push(seller.http, seller.marketplace.order_paid(created.data["order_id"]))
    (order,) = seller.http.get("/v1/trade/orders", headers=seller.headers).json()
    path = f"/v1/trade/orders/{order['id']}"
    refused = seller.http.post(
        f"{path}/ship",
        json={
            "carrier": "maersk",
            "tracking_number": "MSKU1234565",
            "mode": "sea",
            "transport_document_number": "MAEU123456789",
            "port_of_loading": "Karachi (PKKHI)",
            "port_of_discharge": "Hamburg (DEHAM)",
        },
        headers=seller.headers,
    )
    assert refused.json()["code"] == "trade_illegal_transition"  # not packed yet
    seller.post(f"{path}/pack")
    refused = seller.http.post(
        f"{path}/ship",
        json={
            "carrier": "maersk",
            "tracking_number": "MSKU1234565",
            "mode": "sea",
            "transport_document_number": "MAEU123456789",
            "port_of_loading": "Karachi (PKKHI)",
            "port_of_discharge": "Hamburg (DEHAM)",
        },
        headers=seller.headers,
    )
    assert refused.json()["code"] == "trade_export_details_missing"
    seller.http.put(
        f"{path}/export",
        json={
            "financial_instrument_reference": "UBL-LC-77",
            "instrument": "letter_of_credit",
            "realisation_case": "sight",
        },
        headers=seller.headers,
    )
    air = seller.http.post(
        f"{path}/ship",
        json={
            "carrier": "maersk",
            "tracking_number": "MSKU1234565",
            "mode": "air",
            "transport_document_number": "MAEU123456789",
            "port_of_loading": "Karachi (PKKHI)",
            "port_of_discharge": "Hamburg (DEHAM)",
        },
        headers=seller.headers,
    )
    assert air.json()["code"] == "trade_shipment_invalid"  # CIF is for sea transport
    shipment = seller.post(
        f"{path}/ship",
        {
            "carrier": "maersk",
            "tracking_number": "MSKU1234565",
            "mode": "sea",
            "transport_document_number": "MAEU123456789",
            "port_of_loading": "Karachi (PKKHI)",
            "port_of_discharge": "Hamburg (DEHAM)",
        },
        status=201,
    )
    assert shipment["transport_document"] == "B/L"
    csv = (
        "carrier,tracking_number,status,occurred_at,location,event_id\r\n"
        "maersk,MSKU1234565,LOAD,2026-01-02T08:00:00+05:00,Karachi,e1\r\n"
        "maersk,MSKU1234565,DLVR,2026-01-20T08:00:00+01:00,Hamburg,e2\r\n"
    )
    imported = seller.http.post(
        "/v1/trade/shipments/events/import",
        content=csv.encode(),
        headers={**seller.headers, "Content-Type": "text/csv"},
    )
    assert imported.json() == {"accepted": 2, "duplicates": 0, "errors": []}
    assert seller.get(path)["status"] == "delivered"
    assert seller.get(f"/v1/trade/shipments/{shipment['id']}")["status"] == "Delivered"
