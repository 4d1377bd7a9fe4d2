"""Purchasing on SQLite and PostgreSQL: suppliers, orders, partial receipts and tolerance,
landed-cost valuation, bills and the three-way match, paying bills through the wallet port."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.supply.model import (
    BillLineInput,
    BillStatus,
    LandedCost,
    OrderLineInput,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderStatus,
    ReceiptLineInput,
    Supplier,
)
from tijarat.supply.ports import SupplierPayment, SupplierPaymentResult
from tijarat.supply.service import SupplyService

BUSINESS = uuid.UUID("0190a7b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b")


@dataclass
class FakePayer:
    """Stands in for the wallet: records each call and answers per reference."""

    answers: dict[str, str] = field(default_factory=dict)  # reference -> settled/pending/rejected
    error: DomainError | None = None
    calls: list[tuple[uuid.UUID, list[SupplierPayment], uuid.UUID]] = field(default_factory=list)

    def pay_suppliers(
        self,
        business_id: uuid.UUID,
        payments: Sequence[SupplierPayment],
        request_id: uuid.UUID,
    ) -> Sequence[SupplierPaymentResult]:
        self.calls.append((business_id, list(payments), request_id))
        if self.error is not None:
            raise self.error
        results = []
        for payment in payments:
            status = self.answers.get(payment.reference, "settled")
            results.append(
                SupplierPaymentResult(
                    reference=payment.reference,
                    status=status,  # type: ignore[arg-type]
                    reason="AC04" if status == "rejected" else None,
                    end_to_end_id=f"E2E-{payment.reference}",
                    uetr=uuid.uuid5(request_id, payment.reference),
                )
            )
        return results


@pytest.fixture
def payer(container: Container) -> FakePayer:
    fake = FakePayer()
    container.supply.payer = fake
    return fake


@pytest.fixture
def supply(container: Container, payer: FakePayer) -> SupplyService:
    service = container.supply
    service.create_location(BUSINESS, "KHI-WH", "Karachi warehouse")
    service.create_location(BUSINESS, "SKD-WS", "Skardu workshop")
    service.create_item(BUSINESS, "APRICOT-1KG", "Dried apricots, 1 kg", unit="bag")
    service.create_item(BUSINESS, "BOX-GIFT", "Gift box", unit="piece")
    return service


def supplier(supply: SupplyService, name: str = "Karachi Dry Fruits", **kwargs: object) -> Supplier:
    details: dict[str, object] = {"raast_id": "0300 1234567", "payment_terms_days": 30}
    details.update(kwargs)
    return supply.create_supplier(BUSINESS, name, **details)  # type: ignore[arg-type]


def sent_order(
    supply: SupplyService,
    seller: Supplier,
    lines: list[OrderLineInput],
    location: str = "KHI-WH",
    **kwargs: int,
) -> PurchaseOrder:
    order = supply.create_purchase_order(BUSINESS, seller.id, location, lines, **kwargs)
    assert order.status is PurchaseOrderStatus.DRAFT
    return supply.send_purchase_order(BUSINESS, order.id)


def receive(
    supply: SupplyService, order: PurchaseOrder, *lines: tuple[str, int], **kwargs: object
) -> None:
    supply.receive_goods(
        BUSINESS,
        order.id,
        [ReceiptLineInput(sku, quantity) for sku, quantity in lines],
        request_id=uuid.uuid4(),
        **kwargs,  # type: ignore[arg-type]
    )


def codes(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


# ---------------------------------------------------------------------------- suppliers


def test_suppliers_need_valid_payment_details(supply: SupplyService) -> None:
    iban = make_pk_iban("MEZN", "99").compact
    by_iban = supply.create_supplier(
        BUSINESS,
        "Sindh Packaging",
        iban=iban[:4] + " " + iban[4:],
        ntn="12345678",
        email="accounts@sindhpack.pk",
        phone="021 3456 7890",
        lead_time_days=5,
    )
    assert (by_iban.iban, by_iban.raast_id, by_iban.ntn) == (iban, None, "1234567-8")
    by_raast = supplier(supply)
    assert by_raast.raast_id == "+923001234567"
    refused = {
        "invalid_iban": {"iban": "PK00MEZN0000000000000000"},
        "invalid_mobile_number": {"raast_id": "021 3456789"},  # a landline has no Raast ID
        "invalid_ntn": {"raast_id": "03001234567", "ntn": "12-34"},
        "supply_supplier_invalid": {"raast_id": "03001234567", "iban": iban},
        "unsupported_currency": {"raast_id": "03001234567", "currency": "XYZ"},
    }
    for code, details in refused.items():
        with pytest.raises(DomainError) as error:
            supply.create_supplier(BUSINESS, "Another", **details)  # type: ignore[arg-type]
        assert codes(error) == code
    with pytest.raises(DomainError) as error:
        supplier(supply)
    assert codes(error) == "supply_supplier_exists"
    assert [s.name for s in supply.suppliers(BUSINESS)] == ["Karachi Dry Fruits", "Sindh Packaging"]
    assert supply.suppliers(uuid.uuid4()) == []  # another business sees none of them


# ---------------------------------------------------------------------------- receipts


def test_partial_receipts_tolerance_and_closing_short(supply: SupplyService) -> None:
    seller = supplier(supply)
    order = sent_order(
        supply,
        seller,
        [OrderLineInput("APRICOT-1KG", 100, 1_200_00), OrderLineInput("BOX-GIFT", 40, 85_00)],
    )
    assert order.number == "PO-000001"
    assert {level.sku: level.quantity_incoming for level in supply.stock_levels(BUSINESS)} == {
        "APRICOT-1KG": 100,
        "BOX-GIFT": 40,
    }

    receive(supply, order, ("APRICOT-1KG", 60))
    order = supply.purchase_order(BUSINESS, order.id)
    assert order.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [line.quantity_received for line in order.lines] == [60, 0]

    # 5 % tolerance: at most 105 of 100. Too many is refused whole and changes nothing.
    with pytest.raises(DomainError) as error:
        receive(supply, order, ("BOX-GIFT", 10), ("APRICOT-1KG", 46))
    assert codes(error) == "supply_over_delivery"
    assert error.value.fields["quantity_max"] == 105
    assert [line.quantity_received for line in supply.purchase_order(BUSINESS, order.id).lines] == [
        60,
        0,
    ]
    with pytest.raises(DomainError) as error:
        receive(supply, order, ("WALNUT", 1))
    assert codes(error) == "supply_receipt_invalid"

    receive(supply, order, ("APRICOT-1KG", 45), ("BOX-GIFT", 38))  # 105 and 38: within 5 %
    order = supply.purchase_order(BUSINESS, order.id)
    assert order.status is PurchaseOrderStatus.RECEIVED
    levels = {level.sku: level for level in supply.stock_levels(BUSINESS)}
    assert levels["APRICOT-1KG"].quantity_on_hand == 105
    assert levels["BOX-GIFT"].quantity_incoming == 0  # 38 of 40 is within 5 %: delivered

    # A short delivery that will not be completed is closed: nothing more is incoming.
    short = sent_order(supply, seller, [OrderLineInput("BOX-GIFT", 100, 85_00)])
    with pytest.raises(DomainError) as error:
        supply.close_purchase_order(BUSINESS, short.id)
    assert codes(error) == "supply_purchase_order_status"
    receive(supply, short, ("BOX-GIFT", 30))
    assert supply.stock_levels(BUSINESS, sku="BOX-GIFT")[0].quantity_incoming == 70
    with pytest.raises(DomainError) as error:
        supply.cancel_purchase_order(BUSINESS, short.id)
    assert codes(error) == "supply_purchase_order_status"
    closed = supply.close_purchase_order(BUSINESS, short.id)
    assert (closed.status, closed.closed_short) == (PurchaseOrderStatus.RECEIVED, True)
    with pytest.raises(DomainError) as error:
        receive(supply, closed, ("BOX-GIFT", 1))
    assert codes(error) == "supply_purchase_order_status"
    assert {level.sku: level.quantity_incoming for level in supply.stock_levels(BUSINESS)} == {
        "APRICOT-1KG": 0,
        "BOX-GIFT": 0,
    }


def test_receipts_are_idempotent_and_need_a_sent_order(supply: SupplyService) -> None:
    seller = supplier(supply)
    draft = supply.create_purchase_order(
        BUSINESS, seller.id, "KHI-WH", [OrderLineInput("BOX-GIFT", 10, 85_00)]
    )
    with pytest.raises(DomainError) as error:
        receive(supply, draft, ("BOX-GIFT", 10))
    assert codes(error) == "supply_purchase_order_status"
    order = supply.send_purchase_order(BUSINESS, draft.id)
    request_id = uuid.uuid4()
    first = supply.receive_goods(
        BUSINESS, order.id, [ReceiptLineInput("BOX-GIFT", 4)], request_id=request_id
    )
    again = supply.receive_goods(
        BUSINESS, order.id, [ReceiptLineInput("BOX-GIFT", 4)], request_id=request_id
    )
    assert again == first
    assert first.number == "GRN-000001"
    assert supply.purchase_order(BUSINESS, order.id).lines[0].quantity_received == 4
    with pytest.raises(DomainError) as error:
        supply.transfer_stock(BUSINESS, "BOX-GIFT", 1, "KHI-WH", "SKD-WS", request_id=request_id)
    assert codes(error) == "supply_request_id_reused"
    assert [r.number for r in supply.receipts(BUSINESS, order.id)] == ["GRN-000001"]


# ---------------------------------------------------------------------------- valuation


def test_landed_costs_raise_the_moving_average(container: Container, supply: SupplyService) -> None:
    seller = supplier(supply)
    order = sent_order(
        supply,
        seller,
        [OrderLineInput("APRICOT-1KG", 100, 1_200_00), OrderLineInput("BOX-GIFT", 50, 85_00)],
    )
    # Freight Karachi -> Skardu and loading, Rs 3,000.01 in all, split by value:
    # 120,000 : 4,250 of Rs 124,250.
    receipt = supply.receive_goods(
        BUSINESS,
        order.id,
        [ReceiptLineInput("APRICOT-1KG", 100), ReceiptLineInput("BOX-GIFT", 50)],
        request_id=uuid.uuid4(),
        landed_costs=[
            LandedCost("Freight Karachi-Skardu", 2_500_00),
            LandedCost("Loading", 500_01),
        ],
        delivery_note="DN-8812",
    )
    shares = {line.sku: line.landed_cost_minor for line in receipt.lines}
    assert shares == {"APRICOT-1KG": 2_897_39, "BOX-GIFT": 102_62}
    assert sum(shares.values()) == 3_000_01
    worth = {v.sku: v for v in supply.stock_valuation(BUSINESS)}
    assert worth["APRICOT-1KG"].value_minor == 120_000_00 + 2_897_39
    assert worth["APRICOT-1KG"].average_unit_cost_minor == 1_228_97  # 1,228.9742 -> 1,228.97
    first_day = container.clock.now_ns()

    # A second purchase at another price moves the average; landed cost on it too.
    container.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    again = sent_order(supply, seller, [OrderLineInput("APRICOT-1KG", 50, 1_300_00)])
    receive(supply, again, ("APRICOT-1KG", 50), landed_costs=[LandedCost("Freight", 1_000_00)])
    apricots = {v.sku: v for v in supply.stock_valuation(BUSINESS)}["APRICOT-1KG"]
    assert apricots.quantity == 150
    assert apricots.value_minor == 122_897_39 + 65_000_00 + 1_000_00
    assert apricots.average_unit_cost_minor == 1_259_32  # 188,897.39 / 150 = 1,259.3159

    # Stock value at any date: as it was on the first day.
    then = {v.sku: v.value_minor for v in supply.stock_valuation(BUSINESS, at_ns=first_day)}
    assert then == {"APRICOT-1KG": 122_897_39, "BOX-GIFT": 4_250_00 + 102_62}


def test_orders_in_another_currency_are_valued_at_the_receipt_rate(supply: SupplyService) -> None:
    importer = supplier(
        supply,
        "Dubai Packaging",
        currency="USD",
        raast_id=None,
        iban=make_pk_iban("HABB", "5").compact,
    )
    order = sent_order(supply, importer, [OrderLineInput("BOX-GIFT", 10, 1_25)])  # USD 1.25
    with pytest.raises(DomainError) as error:
        receive(supply, order, ("BOX-GIFT", 10))
    assert codes(error) == "supply_valuation_rate_invalid"
    receive(supply, order, ("BOX-GIFT", 10), valuation_rate="278.45")
    (box,) = supply.stock_valuation(BUSINESS)
    # USD 12.50 x 278.45 = Rs 3,480.625: half to even gives Rs 3,480.62.
    assert (box.quantity, box.value_minor) == (10, 3_480_62)


# ---------------------------------------------------------------------------- bills and match


def test_three_way_match_failures_keep_bills_unpaid(
    supply: SupplyService, payer: FakePayer
) -> None:
    seller = supplier(supply)
    order = sent_order(
        supply,
        seller,
        [OrderLineInput("APRICOT-1KG", 100, 1_200_00), OrderLineInput("BOX-GIFT", 50, 85_00)],
    )
    receive(supply, order, ("APRICOT-1KG", 60))

    too_many = supply.create_bill(
        BUSINESS, order.id, "KDF-101", [BillLineInput("APRICOT-1KG", 100, 1_200_00)]
    )
    result = supply.match_bill(BUSINESS, too_many.id)
    assert [(d.code, d.expected, d.actual) for d in result.discrepancies] == [
        ("quantity_not_received", 60, 100)
    ]
    assert supply.bill(BUSINESS, too_many.id).match_status == "mismatched"

    dearer = supply.create_bill(
        BUSINESS,
        order.id,
        "KDF-102",
        [BillLineInput("APRICOT-1KG", 60, 1_250_00), BillLineInput("WALNUT-500G", 2, 900_00)],
    )
    assert [d.code for d in supply.match_bill(BUSINESS, dearer.id).discrepancies] == [
        "price_mismatch",
        "not_ordered",
    ]
    for bill in (too_many, dearer):
        with pytest.raises(DomainError) as error:
            supply.pay_bills(BUSINESS, [bill.id], uuid.uuid4())
        assert codes(error) == "supply_bill_not_matched"
    assert payer.calls == []  # refused before anything was paid

    with pytest.raises(DomainError) as error:
        supply.create_bill(BUSINESS, order.id, "KDF-101", [BillLineInput("BOX-GIFT", 1, 85_00)])
    assert codes(error) == "supply_duplicate_invoice"

    right = supply.create_bill(
        BUSINESS, order.id, "KDF-103", [BillLineInput("APRICOT-1KG", 60, 1_200_00)]
    )
    assert supply.match_bill(BUSINESS, right.id).matched
    (paid,) = supply.pay_bills(BUSINESS, [right.id], uuid.uuid4())
    assert paid.status is PaymentStatus.SETTLED
    # The same goods billed again after that bill was paid: nothing left to bill.
    twice = supply.create_bill(
        BUSINESS, order.id, "KDF-104", [BillLineInput("APRICOT-1KG", 1, 1_200_00)]
    )
    assert [d.code for d in supply.match_bill(BUSINESS, twice.id).discrepancies] == [
        "quantity_not_received"
    ]
    # Cancelled bills stay on record; an open one can be withdrawn, a paid one not.
    assert supply.cancel_bill(BUSINESS, too_many.id).status is BillStatus.CANCELLED
    with pytest.raises(DomainError) as error:
        supply.cancel_bill(BUSINESS, right.id)
    assert codes(error) == "supply_bill_status"


def test_paying_many_bills_at_once_through_the_wallet(
    container: Container, supply: SupplyService, payer: FakePayer
) -> None:
    fruit = supplier(supply)
    packaging = supplier(
        supply, "Sindh Packaging", raast_id=None, iban=make_pk_iban("MEZN", "77").compact
    )
    fruit_order = sent_order(supply, fruit, [OrderLineInput("APRICOT-1KG", 10, 1_200_00)])
    box_order = sent_order(supply, packaging, [OrderLineInput("BOX-GIFT", 200, 85_00)])
    receive(supply, fruit_order, ("APRICOT-1KG", 10))
    receive(supply, box_order, ("BOX-GIFT", 200))
    fruit_bill = supply.create_bill(
        BUSINESS, fruit_order.id, "F-1", [BillLineInput("APRICOT-1KG", 10, 1_200_00)]
    )
    box_bill = supply.create_bill(
        BUSINESS, box_order.id, "P-1", [BillLineInput("BOX-GIFT", 200, 85_00)]
    )
    assert supply.purchase_order(BUSINESS, box_order.id).status is PurchaseOrderStatus.BILLED
    assert fruit_bill.due_at == fruit_bill.created_at + 30 * 86_400 * 10**9

    payer.answers = {box_bill.number: "pending"}
    request_id = uuid.uuid4()
    payments = supply.pay_bills(BUSINESS, [fruit_bill.id, box_bill.id], request_id)
    ((business_id, sent, asked_request),) = payer.calls
    assert (business_id, asked_request) == (BUSINESS, request_id)
    assert sent == [
        SupplierPayment(
            "BILL-000001", "Karachi Dry Fruits", "+923001234567", None, 12_000_00, "PKR"
        ),
        SupplierPayment(
            "BILL-000002",
            "Sindh Packaging",
            None,
            make_pk_iban("MEZN", "77").compact,
            17_000_00,
            "PKR",
        ),
    ]
    assert [p.status for p in payments] == [PaymentStatus.SETTLED, PaymentStatus.PENDING]
    settled = supply.bill(BUSINESS, fruit_bill.id)
    assert settled.status is BillStatus.PAID
    assert settled.payment_end_to_end_id == "E2E-BILL-000001"
    assert settled.payment_uetr == uuid.uuid5(request_id, "BILL-000001")
    assert supply.purchase_order(BUSINESS, fruit_order.id).status is PurchaseOrderStatus.PAID
    assert supply.bill(BUSINESS, box_bill.id).status is BillStatus.PAYING  # not paid until settled

    # Paid and in-flight bills are refused in a new request, before anything is paid.
    for bill, code in (
        (fruit_bill, "supply_bill_already_paid"),
        (box_bill, "supply_bill_payment_in_progress"),
    ):
        with pytest.raises(DomainError) as error:
            supply.pay_bills(BUSINESS, [bill.id], uuid.uuid4())
        assert codes(error) == code
    assert len(payer.calls) == 1

    # The same request again asks the wallet (same request id, same rows) about the pending one.
    payer.answers = {}
    again = supply.pay_bills(BUSINESS, [box_bill.id, fruit_bill.id], request_id)
    assert [p.status for p in again] == [PaymentStatus.SETTLED, PaymentStatus.SETTLED]
    assert payer.calls[1][1] == sent
    assert payer.calls[1][2] == request_id
    assert supply.bill(BUSINESS, box_bill.id).status is BillStatus.PAID
    assert supply.purchase_order(BUSINESS, box_order.id).status is PurchaseOrderStatus.PAID
    supply.pay_bills(BUSINESS, [fruit_bill.id, box_bill.id], request_id)
    assert len(payer.calls) == 2  # nothing pending: answered from the record
    with pytest.raises(DomainError) as error:
        supply.pay_bills(BUSINESS, [fruit_bill.id], request_id)
    assert codes(error) == "supply_request_id_reused"


def test_rejected_and_refused_payments_leave_bills_open(
    supply: SupplyService, payer: FakePayer
) -> None:
    seller = supplier(supply)
    order = sent_order(supply, seller, [OrderLineInput("BOX-GIFT", 20, 85_00)])
    receive(supply, order, ("BOX-GIFT", 20))
    bill = supply.create_bill(BUSINESS, order.id, "R-1", [BillLineInput("BOX-GIFT", 20, 85_00)])

    payer.answers = {bill.number: "rejected"}
    (rejected,) = supply.pay_bills(BUSINESS, [bill.id], uuid.uuid4())
    assert (rejected.status, rejected.reason) == (PaymentStatus.REJECTED, "AC04")
    after = supply.bill(BUSINESS, bill.id)
    assert (after.status, after.payment_status, after.payment_reason) == (
        BillStatus.OPEN,
        PaymentStatus.REJECTED,
        "AC04",
    )

    payer.error = DomainError("wallet_insufficient_funds", "not enough in the wallet", status=409)
    refused_request = uuid.uuid4()
    with pytest.raises(DomainError) as error:
        supply.pay_bills(BUSINESS, [bill.id], refused_request)
    assert codes(error) == "wallet_insufficient_funds"
    assert supply.bill(BUSINESS, bill.id).status is BillStatus.OPEN
    (recorded,) = supply.bill_payments(BUSINESS, refused_request)
    assert (recorded.status, recorded.reason) == (
        PaymentStatus.REJECTED,
        "wallet_insufficient_funds",
    )

    payer.error = None
    payer.answers = {}
    (paid,) = supply.pay_bills(BUSINESS, [bill.id], uuid.uuid4())
    assert paid.status is PaymentStatus.SETTLED
    assert supply.bill(BUSINESS, bill.id).status is BillStatus.PAID
    with pytest.raises(DomainError) as error:
        supply.pay_bills(BUSINESS, [uuid.uuid4()], uuid.uuid4())
    assert codes(error) == "supply_bill_not_found"


# ---------------------------------------------------------------------------- reordering


def test_low_stock_alerts_draft_orders_to_preferred_suppliers(supply: SupplyService) -> None:
    fruit = supplier(supply)
    packaging = supplier(supply, "Sindh Packaging", raast_id="0321 7654321")
    supply.set_reorder(
        BUSINESS,
        "APRICOT-1KG",
        reorder_point=20,
        reorder_quantity=50,
        preferred_supplier_id=fruit.id,
    )
    supply.set_reorder(
        BUSINESS,
        "BOX-GIFT",
        reorder_point=100,
        reorder_quantity=30,
        preferred_supplier_id=packaging.id,
    )
    supply.create_item(BUSINESS, "RIBBON", "Ribbon", reorder_point=5)  # no preferred supplier
    past = sent_order(supply, packaging, [OrderLineInput("BOX-GIFT", 10, 90_00)], location="SKD-WS")
    receive(supply, past, ("BOX-GIFT", 10))

    low = {item.sku: item for item in supply.items_below_reorder_point(BUSINESS)}
    assert set(low) == {"APRICOT-1KG", "BOX-GIFT", "RIBBON"}
    assert (low["BOX-GIFT"].quantity_available, low["BOX-GIFT"].quantity_to_order) == (10, 90)
    assert low["APRICOT-1KG"].quantity_to_order == 50

    drafts = supply.draft_reorder_purchase_orders(BUSINESS)
    by_supplier = {order.supplier_id: order for order in drafts}
    assert set(by_supplier) == {fruit.id, packaging.id}
    boxes = by_supplier[packaging.id]
    assert boxes.status is PurchaseOrderStatus.DRAFT
    assert boxes.location == "SKD-WS"  # where this supplier delivered last
    assert [(line.sku, line.quantity_ordered, line.unit_price_minor) for line in boxes.lines] == [
        ("BOX-GIFT", 90, 90_00)  # at the last price
    ]
    assert by_supplier[fruit.id].location == "KHI-WH"  # the first location
    assert supply.draft_reorder_purchase_orders(BUSINESS) == []  # already on drafts

    # Sent, the drafts become incoming and the alerts stop.
    for order in drafts:
        supply.send_purchase_order(BUSINESS, order.id)
    assert [item.sku for item in supply.items_below_reorder_point(BUSINESS)] == ["RIBBON"]


def test_every_query_is_scoped_to_its_business(container: Container, supply: SupplyService) -> None:
    seller = supplier(supply)
    order = sent_order(supply, seller, [OrderLineInput("BOX-GIFT", 5, 85_00)])
    other = uuid.uuid4()
    for call in (
        lambda: supply.purchase_order(other, order.id),
        lambda: supply.supplier(other, seller.id),
        lambda: supply.item(other, "BOX-GIFT"),
        lambda: supply.create_purchase_order(
            other, seller.id, "KHI-WH", [OrderLineInput("BOX-GIFT", 1, 1)]
        ),
    ):
        with pytest.raises(DomainError) as error:
            call()
        assert error.value.status == 404
    with container.engine.connect() as connection:
        businesses = (
            connection.execute(sa.text("SELECT DISTINCT business_id FROM supply_locations"))
            .scalars()
            .all()
        )
    assert len(businesses) == 2  # the other business got its virtual locations, nothing else
