"""The supply story over HTTP: orders to two Karachi suppliers, a partial receipt, the bills
matched, both suppliers paid from the wallet in one request, stock moved to the Karachi
warehouse and on to a marketplace order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tijarat.api import supply as supply_api
from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.supply.ports import SupplierPayment, SupplierPaymentResult

BUSINESS = "0190a7b2-3c4d-7e5f-8a9b-0c1d2e3f4a5e"
HEADERS = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}", "X-Business-Id": BUSINESS}
PACKAGING_IBAN = make_pk_iban("MEZN", "4410").compact


class FakeWallet:
    """The wallet's bulk payout as supply sees it: every payment settles over the switch."""

    def __init__(self) -> None:
        self.calls: list[list[SupplierPayment]] = []

    def pay_suppliers(
        self, business_id: uuid.UUID, payments: Sequence[SupplierPayment], request_id: uuid.UUID
    ) -> Sequence[SupplierPaymentResult]:
        assert str(business_id) == BUSINESS
        self.calls.append(list(payments))
        return [
            SupplierPaymentResult(
                p.reference,
                "settled",
                None,
                f"E2E{p.reference}",
                uuid.uuid5(request_id, p.reference),
            )
            for p in payments
        ]


def _app(container: Container) -> FastAPI:
    app = create_app(container)
    if not any(getattr(route, "path", "").startswith("/v1/supply") for route in app.routes):
        app.include_router(supply_api.router)  # until the app factory includes it
    return app


@pytest.fixture
def wallet(container: Container) -> FakeWallet:
    fake = FakeWallet()
    container.supply.payer = fake
    return fake


@pytest.fixture
def client(container: Container, wallet: FakeWallet) -> Iterator[TestClient]:
    with TestClient(_app(container)) as test_client:
        yield test_client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> Any:
    return ok(client.post(f"/v1/supply{path}", json=body, headers=HEADERS), status)


def get(client: TestClient, path: str, **params: Any) -> Any:
    return ok(client.get(f"/v1/supply{path}", params=params, headers=HEADERS))


def test_the_supply_story(client: TestClient, wallet: FakeWallet) -> None:
    for code, name in (("SKD-WS", "Skardu workshop"), ("KHI-WH", "Karachi warehouse")):
        post(client, "/locations", {"code": code, "name": name}, 201)
    assert {loc["code"]: loc["kind"] for loc in get(client, "/locations")} == {
        "SUPPLIERS": "supplier",
        "CUSTOMERS": "customer",
        "TRANSIT": "in_transit",
        "ADJUSTMENTS": "adjustment",
        "SKD-WS": "internal",
        "KHI-WH": "internal",
    }
    oil_packer = post(
        client,
        "/suppliers",
        {
            "name": "Karachi Oil Packers",
            "raast_id": "0300 1234567",
            "ntn": "1234567-8",
            "payment_terms_days": 15,
            "lead_time_days": 7,
        },
        201,
    )
    packaging = post(client, "/suppliers", {"name": "Sindh Packaging", "iban": PACKAGING_IBAN}, 201)
    post(
        client,
        "/items",
        {
            "sku": "APRICOT-OIL-100ML",
            "name": "Apricot kernel oil, 100 ml",
            "reorder_point": 50,
            "reorder_quantity": 100,
            "preferred_supplier_id": oil_packer["id"],
        },
        201,
    )
    post(client, "/items", {"sku": "BOX-GIFT", "name": "Gift box"}, 201)

    # Purchase orders to the two Karachi suppliers.
    oil = post(
        client,
        "/purchase-orders",
        {
            "supplier_id": oil_packer["id"],
            "location": "KHI-WH",
            "lines": [{"sku": "APRICOT-OIL-100ML", "quantity": 100, "unit_price_minor": 650_00}],
        },
        201,
    )
    boxes = post(
        client,
        "/purchase-orders",
        {
            "supplier_id": packaging["id"],
            "location": "SKD-WS",
            "lines": [{"sku": "BOX-GIFT", "quantity": 200, "unit_price_minor": 85_00}],
        },
        201,
    )
    for order in (oil, boxes):
        assert post(client, f"/purchase-orders/{order['id']}/send", {})["status"] == "sent"

    # A partial receipt in Karachi; the boxes arrive whole in Skardu with their freight.
    receipt = post(
        client,
        f"/purchase-orders/{oil['id']}/receipts",
        {"request_id": str(uuid.uuid4()), "lines": [{"sku": "APRICOT-OIL-100ML", "quantity": 60}]},
        201,
    )
    assert receipt["number"] == "GRN-000001"
    assert get(client, f"/purchase-orders/{oil['id']}")["status"] == "partially_received"
    post(
        client,
        f"/purchase-orders/{boxes['id']}/receipts",
        {
            "request_id": str(uuid.uuid4()),
            "lines": [{"sku": "BOX-GIFT", "quantity": 200}],
            "landed_costs": [{"description": "Freight Karachi-Skardu", "amount_minor": 3_000_00}],
        },
        201,
    )
    over = client.post(
        f"/v1/supply/purchase-orders/{boxes['id']}/receipts",
        json={"request_id": str(uuid.uuid4()), "lines": [{"sku": "BOX-GIFT", "quantity": 11}]},
        headers=HEADERS,
    )
    assert over.status_code == 409
    assert over.json()["code"] == "supply_over_delivery"

    # The bills, matched three ways; a bill for more than arrived does not match.
    wrong = post(
        client,
        "/bills",
        {
            "purchase_order_id": oil["id"],
            "supplier_invoice_number": "KOP-2026-118",
            "lines": [{"sku": "APRICOT-OIL-100ML", "quantity": 100, "unit_price_minor": 650_00}],
        },
        201,
    )
    mismatch = post(client, f"/bills/{wrong['id']}/match", {})
    assert mismatch["matched"] is False
    assert [d["code"] for d in mismatch["discrepancies"]] == ["quantity_not_received"]
    assert post(client, f"/bills/{wrong['id']}/cancel", {})["status"] == "cancelled"
    oil_bill = post(
        client,
        "/bills",
        {
            "purchase_order_id": oil["id"],
            "supplier_invoice_number": "KOP-2026-119",
            "lines": [{"sku": "APRICOT-OIL-100ML", "quantity": 60, "unit_price_minor": 650_00}],
        },
        201,
    )
    box_bill = post(
        client,
        "/bills",
        {
            "purchase_order_id": boxes["id"],
            "supplier_invoice_number": "SP-5531",
            "lines": [{"sku": "BOX-GIFT", "quantity": 200, "unit_price_minor": 85_00}],
        },
        201,
    )
    for bill in (oil_bill, box_bill):
        assert post(client, f"/bills/{bill['id']}/match", {}) == {
            "bill_id": bill["id"],
            "matched": True,
            "discrepancies": [],
        }

    # Both suppliers paid from the wallet in one bulk request, over the switch.
    request_id = str(uuid.uuid4())
    payments = post(
        client,
        "/bill-payments",
        {"request_id": request_id, "bill_ids": [oil_bill["id"], box_bill["id"]]},
    )
    assert [(p["bill_number"], p["status"], p["amount_minor"]) for p in payments] == [
        (oil_bill["number"], "settled", 39_000_00),
        (box_bill["number"], "settled", 17_000_00),
    ]
    ((to_packer, to_packaging),) = wallet.calls
    assert (to_packer.raast_id, to_packer.iban) == ("+923001234567", None)
    assert (to_packaging.raast_id, to_packaging.iban) == (None, PACKAGING_IBAN)
    paid = get(client, f"/bills/{oil_bill['id']}")
    assert paid["status"] == "paid"
    assert paid["payment_end_to_end_id"] == f"E2E{oil_bill['number']}"
    assert paid["payment_uetr"] == str(uuid.uuid5(uuid.UUID(request_id), oil_bill["number"]))
    assert get(client, f"/purchase-orders/{boxes['id']}")["status"] == "paid"
    assert (
        post(
            client,
            "/bill-payments",
            {"request_id": request_id, "bill_ids": [oil_bill["id"], box_bill["id"]]},
        )
        == payments
    )  # idempotent
    assert len(wallet.calls) == 1

    # Boxes go from the Skardu workshop to the Karachi warehouse, through transit.
    transfer = post(
        client,
        "/transfers",
        {
            "request_id": str(uuid.uuid4()),
            "sku": "BOX-GIFT",
            "quantity": 50,
            "from_location": "SKD-WS",
            "to_location": "KHI-WH",
        },
        201,
    )
    assert transfer["status"] == "in_transit"
    arrived = post(
        client,
        f"/transfers/{transfer['id']}/receive",
        {"landed_costs": [{"description": "Freight Skardu-Karachi", "amount_minor": 1_200_00}]},
    )
    assert (arrived["status"], arrived["quantity_received"]) == ("received", 50)

    # The marketplace order: oil reserved where it is (Karachi), boxes named there too.
    oil_line = post(
        client,
        "/reservations",
        {"reference": "ALIBABA-88120/1", "sku": "APRICOT-OIL-100ML", "quantity": 24},
        201,
    )
    assert (oil_line["location"], oil_line["status"]) == ("KHI-WH", "active")
    post(
        client,
        "/reservations",
        {"reference": "ALIBABA-88120/2", "sku": "BOX-GIFT", "quantity": 24, "location": "KHI-WH"},
        201,
    )
    short = client.post(
        "/v1/supply/reservations",
        json={"reference": "ALIBABA-88121/1", "sku": "APRICOT-OIL-100ML", "quantity": 37},
        headers=HEADERS,
    )
    assert short.status_code == 409
    assert short.headers["content-type"] == "application/problem+json"
    assert short.json()["code"] == "supply_insufficient_stock"
    moved = client.post(
        "/v1/supply/reservations/move",
        json={"reference": "ALIBABA-88120/1", "location": "SKD-WS"},
        headers=HEADERS,
    )
    assert moved.json()["code"] == "supply_insufficient_stock"  # no oil in Skardu
    for reference in ("ALIBABA-88120/1", "ALIBABA-88120/2"):
        shipped = post(client, "/reservations/fulfil", {"reference": reference})
        assert shipped["status"] == "fulfilled"

    stock = {(s["location"], s["sku"]): s for s in get(client, "/stock")}
    assert stock[("KHI-WH", "APRICOT-OIL-100ML")] == {
        "sku": "APRICOT-OIL-100ML",
        "location": "KHI-WH",
        "quantity_on_hand": 36,
        "quantity_reserved": 0,
        "quantity_incoming": 40,
        "quantity_available": 36,
    }
    assert stock[("KHI-WH", "BOX-GIFT")]["quantity_on_hand"] == 26
    assert stock[("SKD-WS", "BOX-GIFT")]["quantity_on_hand"] == 150

    valuation = get(client, "/reports/valuation")
    by_location = {loc["location"]: loc for loc in valuation["locations"]}
    # Boxes: Rs 17,000 + Rs 3,000 freight = Rs 100 each; 50 moved with Rs 1,200 more freight.
    khi_boxes = next(i for i in by_location["KHI-WH"]["items"] if i["sku"] == "BOX-GIFT")
    assert khi_boxes["average_unit_cost_minor"] == 124_00
    assert by_location["SKD-WS"]["value_minor"] == 150 * 100_00
    assert valuation["total_value_minor"] == 36 * 650_00 + 26 * 124_00 + 150 * 100_00
    history = get(client, "/moves", sku="BOX-GIFT")
    assert [(m["from_location"], m["to_location"], m["quantity"]) for m in history] == [
        ("KHI-WH", "CUSTOMERS", 24),
        ("SUPPLIERS", "KHI-WH", 0),
        ("TRANSIT", "KHI-WH", 50),
        ("SKD-WS", "TRANSIT", 50),
        ("SUPPLIERS", "SKD-WS", 0),
        ("SUPPLIERS", "SKD-WS", 200),
    ]
    # 36 available + 40 incoming is not below 50: no alert yet. Sell 30 more and it is.
    assert get(client, "/reports/reorder") == []
    post(
        client,
        "/reservations",
        {"reference": "ALIBABA-88122/1", "sku": "APRICOT-OIL-100ML", "quantity": 30},
        201,
    )
    (alert,) = get(client, "/reports/reorder")
    assert (alert["sku"], alert["quantity_projected"], alert["quantity_to_order"]) == (
        "APRICOT-OIL-100ML",
        46,
        100,
    )
    (draft,) = post(client, "/reorder/purchase-orders", {}, 201)
    assert (draft["status"], draft["supplier_id"], draft["location"]) == (
        "draft",
        oil_packer["id"],
        "KHI-WH",
    )
    assert draft["lines"][0]["unit_price_minor"] == 650_00


def test_the_api_needs_the_operator_and_a_business(sqlite_container: Container) -> None:
    with TestClient(_app(sqlite_container)) as client:
        anonymous = client.get("/v1/supply/locations", headers={"X-Business-Id": BUSINESS})
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
        operator = {"Authorization": HEADERS["Authorization"]}
        nobody = client.get("/v1/supply/locations", headers=operator)
        assert (nobody.status_code, nobody.json()["code"]) == (400, "supply_business_required")
        garbled = client.get("/v1/supply/locations", headers={**operator, "X-Business-Id": "x"})
        assert (garbled.status_code, garbled.json()["code"]) == (422, "malformed_id")
        bad = client.post("/v1/supply/suppliers", json={"name": "No Way To Pay"}, headers=HEADERS)
        assert (bad.status_code, bad.json()["code"]) == (422, "supply_supplier_invalid")
        unknown = client.get(f"/v1/supply/purchase-orders/{uuid.uuid4()}", headers=HEADERS)
        assert (unknown.status_code, unknown.json()["code"]) == (
            404,
            "supply_purchase_order_not_found",
        )
        reason = client.post(
            "/v1/supply/adjustments",
            json={
                "request_id": str(uuid.uuid4()),
                "sku": "BOX-GIFT",
                "location": "KHI-WH",
                "quantity_change": -1,
                "reason": " ",
            },
            headers=HEADERS,
        )
        assert (reason.status_code, reason.json()["code"]) == (422, "supply_reason_required")
        # SKUs may contain "/" (trade's catalog uses them as they are).
        made = client.post(
            "/v1/supply/items", json={"sku": "TEA/GREEN-250G", "name": "Green tea"}, headers=HEADERS
        )
        assert made.status_code == 201, made.text
        reorder = client.put(
            "/v1/supply/items/TEA/GREEN-250G/reorder",
            json={"reorder_point": 12, "reorder_quantity": 48},
            headers=HEADERS,
        )
        assert reorder.json()["reorder_point"] == 12
        fetched = client.get("/v1/supply/items/TEA/GREEN-250G", headers=HEADERS).json()
        assert (fetched["sku"], fetched["reorder_quantity"]) == ("TEA/GREEN-250G", 48)
