"""/v1/supply: suppliers, purchasing, bills and paying them, inventory and its reports.

Operator API for now: the operator bearer token, and the business chosen by the
`X-Business-Id` header (the wallet customer id of the business).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from starlette.concurrency import run_in_threadpool

from tijarat.api.deps import ContainerDep, OperatorDep
from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import parse_id
from tijarat.supply.errors import SupplyError
from tijarat.supply.model import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    VALUATION_CURRENCY,
    BillStatus,
    PurchaseOrderStatus,
    ReservationStatus,
    TransferStatus,
)
from tijarat.supply.schemas import (
    AdjustmentIn,
    BillIn,
    BillOut,
    BillPaymentOut,
    CountIn,
    ItemIn,
    ItemOut,
    LocationIn,
    LocationOut,
    LowStockOut,
    MatchOut,
    PayIn,
    PurchaseOrderIn,
    PurchaseOrderOut,
    ReceiptIn,
    ReceiptOut,
    ReorderDraftIn,
    ReorderIn,
    ReservationActionIn,
    ReservationIn,
    ReservationMoveIn,
    ReservationOut,
    StockLevelOut,
    StockMoveOut,
    SupplierIn,
    SupplierOut,
    TransferIn,
    TransferOut,
    TransferReceiveIn,
    ValuationOut,
)


def _business(x_business_id: Annotated[str | None, Header()] = None) -> uuid.UUID:
    if not x_business_id:
        raise DomainError(
            SupplyError.BUSINESS_REQUIRED,
            "name the business in the X-Business-Id header (its wallet customer id)",
            status=400,
        )
    return parse_id(x_business_id, field="X-Business-Id")


def _authenticated(_: OperatorDep) -> None:
    """Every supply endpoint is the operator's (checked before anything else)."""


BusinessDep = Annotated[uuid.UUID, Depends(_business)]
Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]

router = APIRouter(prefix="/v1/supply", tags=["supply"], dependencies=[Depends(_authenticated)])


# ---------------------------------------------------------------------- suppliers
@router.post("/suppliers", status_code=201)
async def create_supplier(
    body: SupplierIn, business: BusinessDep, container: ContainerDep
) -> SupplierOut:
    supplier = await run_in_threadpool(
        lambda: container.supply.create_supplier(
            business,
            body.name,
            contact_name=body.contact_name,
            phone=body.phone,
            email=body.email,
            ntn=body.ntn,
            raast_id=body.raast_id,
            iban=body.iban,
            currency=body.currency,
            payment_terms_days=body.payment_terms_days,
            lead_time_days=body.lead_time_days,
        )
    )
    return SupplierOut.of(supplier)


@router.get("/suppliers")
async def suppliers(business: BusinessDep, container: ContainerDep) -> list[SupplierOut]:
    return [
        SupplierOut.of(s) for s in await run_in_threadpool(container.supply.suppliers, business)
    ]


@router.get("/suppliers/{supplier_id}")
async def supplier(
    supplier_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> SupplierOut:
    return SupplierOut.of(await run_in_threadpool(container.supply.supplier, business, supplier_id))


# ---------------------------------------------------------------------- items and locations
@router.post("/items", status_code=201)
async def create_item(body: ItemIn, business: BusinessDep, container: ContainerDep) -> ItemOut:
    item = await run_in_threadpool(
        lambda: container.supply.create_item(
            business,
            body.sku,
            body.name,
            unit=body.unit,
            reorder_point=body.reorder_point,
            reorder_quantity=body.reorder_quantity,
            preferred_supplier_id=body.preferred_supplier_id,
        )
    )
    return ItemOut.of(item)


@router.get("/items")
async def items(business: BusinessDep, container: ContainerDep) -> list[ItemOut]:
    return [ItemOut.of(i) for i in await run_in_threadpool(container.supply.items, business)]


@router.get("/items/{sku:path}")
async def item(sku: str, business: BusinessDep, container: ContainerDep) -> ItemOut:
    return ItemOut.of(await run_in_threadpool(container.supply.item, business, sku))


@router.put("/items/{sku:path}/reorder")
async def set_reorder(
    sku: str, body: ReorderIn, business: BusinessDep, container: ContainerDep
) -> ItemOut:
    item = await run_in_threadpool(
        lambda: container.supply.set_reorder(
            business,
            sku,
            reorder_point=body.reorder_point,
            reorder_quantity=body.reorder_quantity,
            preferred_supplier_id=body.preferred_supplier_id,
        )
    )
    return ItemOut.of(item)


@router.post("/locations", status_code=201)
async def create_location(
    body: LocationIn, business: BusinessDep, container: ContainerDep
) -> LocationOut:
    location = await run_in_threadpool(
        lambda: container.supply.create_location(
            business, body.code, body.name, allow_negative=body.allow_negative
        )
    )
    return LocationOut.of(location)


@router.get("/locations")
async def locations(business: BusinessDep, container: ContainerDep) -> list[LocationOut]:
    return [
        LocationOut.of(location)
        for location in await run_in_threadpool(container.supply.locations, business)
    ]


# ---------------------------------------------------------------------- purchase orders
@router.post("/purchase-orders", status_code=201)
async def create_purchase_order(
    body: PurchaseOrderIn, business: BusinessDep, container: ContainerDep
) -> PurchaseOrderOut:
    order = await run_in_threadpool(
        lambda: container.supply.create_purchase_order(
            business,
            body.supplier_id,
            body.location,
            [line.to_model() for line in body.lines],
            quantity_tolerance_basis_points=body.quantity_tolerance_basis_points,
            price_tolerance_basis_points=body.price_tolerance_basis_points,
        )
    )
    return PurchaseOrderOut.of(order)


@router.get("/purchase-orders")
async def purchase_orders(
    business: BusinessDep,
    container: ContainerDep,
    status: PurchaseOrderStatus | None = None,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> list[PurchaseOrderOut]:
    orders = await run_in_threadpool(
        lambda: container.supply.purchase_orders(business, status=status, limit=limit)
    )
    return [PurchaseOrderOut.of(order) for order in orders]


@router.get("/purchase-orders/{purchase_order_id}")
async def purchase_order(
    purchase_order_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> PurchaseOrderOut:
    return PurchaseOrderOut.of(
        await run_in_threadpool(container.supply.purchase_order, business, purchase_order_id)
    )


@router.post("/purchase-orders/{purchase_order_id}/send")
async def send_purchase_order(
    purchase_order_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> PurchaseOrderOut:
    return PurchaseOrderOut.of(
        await run_in_threadpool(container.supply.send_purchase_order, business, purchase_order_id)
    )


@router.post("/purchase-orders/{purchase_order_id}/cancel")
async def cancel_purchase_order(
    purchase_order_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> PurchaseOrderOut:
    return PurchaseOrderOut.of(
        await run_in_threadpool(container.supply.cancel_purchase_order, business, purchase_order_id)
    )


@router.post("/purchase-orders/{purchase_order_id}/close")
async def close_purchase_order(
    purchase_order_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> PurchaseOrderOut:
    """A partial delivery is all that will come."""
    return PurchaseOrderOut.of(
        await run_in_threadpool(container.supply.close_purchase_order, business, purchase_order_id)
    )


@router.post("/purchase-orders/{purchase_order_id}/receipts", status_code=201)
async def receive_goods(
    purchase_order_id: uuid.UUID, body: ReceiptIn, business: BusinessDep, container: ContainerDep
) -> ReceiptOut:
    receipt = await run_in_threadpool(
        lambda: container.supply.receive_goods(
            business,
            purchase_order_id,
            [line.to_model() for line in body.lines],
            request_id=body.request_id,
            landed_costs=[cost.to_model() for cost in body.landed_costs],
            delivery_note=body.delivery_note,
            valuation_rate=body.valuation_rate,
        )
    )
    return ReceiptOut.of(receipt)


@router.get("/purchase-orders/{purchase_order_id}/receipts")
async def receipts(
    purchase_order_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> list[ReceiptOut]:
    found = await run_in_threadpool(container.supply.receipts, business, purchase_order_id)
    return [ReceiptOut.of(receipt) for receipt in found]


# ---------------------------------------------------------------------- bills
@router.post("/bills", status_code=201)
async def create_bill(body: BillIn, business: BusinessDep, container: ContainerDep) -> BillOut:
    bill = await run_in_threadpool(
        lambda: container.supply.create_bill(
            business,
            body.purchase_order_id,
            body.supplier_invoice_number,
            [line.to_model() for line in body.lines],
        )
    )
    return BillOut.of(bill)


@router.get("/bills")
async def bills(
    business: BusinessDep,
    container: ContainerDep,
    status: BillStatus | None = None,
    purchase_order_id: uuid.UUID | None = None,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> list[BillOut]:
    found = await run_in_threadpool(
        lambda: container.supply.bills(
            business, status=status, purchase_order_id=purchase_order_id, limit=limit
        )
    )
    return [BillOut.of(bill) for bill in found]


@router.get("/bills/{bill_id}")
async def bill(bill_id: uuid.UUID, business: BusinessDep, container: ContainerDep) -> BillOut:
    return BillOut.of(await run_in_threadpool(container.supply.bill, business, bill_id))


@router.post("/bills/{bill_id}/match")
async def match_bill(
    bill_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> MatchOut:
    """The three-way match (order, receipts, bill): what disagrees, if anything."""
    return MatchOut.of(await run_in_threadpool(container.supply.match_bill, business, bill_id))


@router.post("/bills/{bill_id}/cancel")
async def cancel_bill(
    bill_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> BillOut:
    return BillOut.of(await run_in_threadpool(container.supply.cancel_bill, business, bill_id))


@router.post("/bill-payments")
async def pay_bills(
    body: PayIn, business: BusinessDep, container: ContainerDep
) -> list[BillPaymentOut]:
    """Pay matched bills from the business's wallet over the switch (idempotent by
    request_id; the same request again answers the payments' current state)."""
    paid = await run_in_threadpool(
        container.supply.pay_bills, business, body.bill_ids, body.request_id
    )
    return [BillPaymentOut.of(payment) for payment in paid]


@router.get("/bill-payments/{request_id}")
async def bill_payments(
    request_id: uuid.UUID, business: BusinessDep, container: ContainerDep
) -> list[BillPaymentOut]:
    found = await run_in_threadpool(container.supply.bill_payments, business, request_id)
    return [BillPaymentOut.of(payment) for payment in found]


# ---------------------------------------------------------------------- stock
@router.get("/stock")
async def stock(
    business: BusinessDep,
    container: ContainerDep,
    sku: str | None = None,
    location: str | None = None,
) -> list[StockLevelOut]:
    """On hand, reserved, incoming and available per item and location."""
    levels = await run_in_threadpool(
        lambda: container.supply.stock_levels(business, sku=sku, location_code=location)
    )
    return [StockLevelOut.of(level) for level in levels]


@router.get("/moves")
async def moves(
    business: BusinessDep,
    container: ContainerDep,
    sku: str | None = None,
    location: str | None = None,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> list[StockMoveOut]:
    """The stock-move ledger, newest first (page with before_seq)."""
    found = await run_in_threadpool(
        lambda: container.supply.stock_moves(
            business, sku=sku, location_code=location, before_seq=before_seq, limit=limit
        )
    )
    return [StockMoveOut.of(move) for move in found]


@router.post("/reservations", status_code=201)
async def reserve(
    body: ReservationIn, business: BusinessDep, container: ContainerDep
) -> ReservationOut:
    def run() -> ReservationOut:
        container.supply.reserve(business, body.reference, body.sku, body.quantity, body.location)
        return ReservationOut.of(container.supply.reservation(business, body.reference))

    return await run_in_threadpool(run)


@router.get("/reservations")
async def reservations(
    business: BusinessDep,
    container: ContainerDep,
    sku: str | None = None,
    status: ReservationStatus | None = ReservationStatus.ACTIVE,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> list[ReservationOut]:
    found = await run_in_threadpool(
        lambda: container.supply.reservations(business, sku=sku, status=status, limit=limit)
    )
    return [ReservationOut.of(reservation) for reservation in found]


@router.post("/reservations/move")
async def move_reservation(
    body: ReservationMoveIn, business: BusinessDep, container: ContainerDep
) -> ReservationOut:
    """Reserve at another location: refused unless the stock is available there."""
    return ReservationOut.of(
        await run_in_threadpool(
            container.supply.move_reservation, business, body.reference, body.location
        )
    )


@router.post("/reservations/release")
async def release(
    body: ReservationActionIn, business: BusinessDep, container: ContainerDep
) -> ReservationOut:
    def run() -> ReservationOut:
        container.supply.release(business, body.reference)
        return ReservationOut.of(container.supply.reservation(business, body.reference))

    return await run_in_threadpool(run)


@router.post("/reservations/fulfil")
async def fulfil(
    body: ReservationActionIn, business: BusinessDep, container: ContainerDep
) -> ReservationOut:
    def run() -> ReservationOut:
        container.supply.fulfil(business, body.reference)
        return ReservationOut.of(container.supply.reservation(business, body.reference))

    return await run_in_threadpool(run)


@router.post("/transfers", status_code=201)
async def transfer(body: TransferIn, business: BusinessDep, container: ContainerDep) -> TransferOut:
    """Dispatch stock to another location; it is in transit until received."""
    done = await run_in_threadpool(
        lambda: container.supply.transfer_stock(
            business,
            body.sku,
            body.quantity,
            body.from_location,
            body.to_location,
            request_id=body.request_id,
        )
    )
    return TransferOut.of(done)


@router.get("/transfers")
async def transfers(
    business: BusinessDep,
    container: ContainerDep,
    status: TransferStatus | None = None,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> list[TransferOut]:
    found = await run_in_threadpool(
        lambda: container.supply.transfers(business, status=status, limit=limit)
    )
    return [TransferOut.of(t) for t in found]


@router.post("/transfers/{transfer_id}/receive")
async def receive_transfer(
    transfer_id: uuid.UUID,
    body: TransferReceiveIn,
    business: BusinessDep,
    container: ContainerDep,
) -> TransferOut:
    done = await run_in_threadpool(
        lambda: container.supply.receive_transfer(
            business,
            transfer_id,
            quantity_received=body.quantity_received,
            landed_costs=[cost.to_model() for cost in body.landed_costs],
            reason=body.reason,
        )
    )
    return TransferOut.of(done)


@router.post("/adjustments", status_code=201)
async def adjust(
    body: AdjustmentIn, business: BusinessDep, container: ContainerDep
) -> StockMoveOut:
    move = await run_in_threadpool(
        lambda: container.supply.adjust_stock(
            business,
            body.sku,
            body.location,
            body.quantity_change,
            body.reason,
            request_id=body.request_id,
            unit_cost_minor=body.unit_cost_minor,
        )
    )
    return StockMoveOut.of(move)


@router.post("/counts", status_code=201)
async def count(
    body: CountIn, business: BusinessDep, container: ContainerDep
) -> list[StockMoveOut]:
    """A stock count at one location: the differences, as moves."""
    found = await run_in_threadpool(
        lambda: container.supply.count_stock(
            business, body.location, body.counts, body.reason, request_id=body.request_id
        )
    )
    return [StockMoveOut.of(move) for move in found]


# ---------------------------------------------------------------------- reports
@router.get("/reports/valuation")
async def valuation(
    business: BusinessDep,
    container: ContainerDep,
    at: datetime | None = None,
) -> ValuationOut:
    """Stock quantity and value by location (moving average), now or at a past moment."""
    if at is not None and at.tzinfo is None:
        raise DomainError(
            SupplyError.REPORT_INVALID,
            "at needs a time zone, e.g. 2026-11-24T00:00:00+05:00",
            status=422,
        )
    at_ns = to_ns(at) if at is not None else None
    rows = await run_in_threadpool(lambda: container.supply.stock_valuation(business, at_ns=at_ns))
    return ValuationOut.of(at_ns, VALUATION_CURRENCY, rows)


@router.get("/reports/reorder")
async def reorder_report(business: BusinessDep, container: ContainerDep) -> list[LowStockOut]:
    """Items below their reorder point (available plus incoming): the low-stock alerts."""
    low = await run_in_threadpool(container.supply.items_below_reorder_point, business)
    return [LowStockOut.of(entry) for entry in low]


@router.post("/reorder/purchase-orders", status_code=201)
async def draft_reorders(
    body: ReorderDraftIn, business: BusinessDep, container: ContainerDep
) -> list[PurchaseOrderOut]:
    """Draft purchase orders to each low item's preferred supplier."""
    drafted = await run_in_threadpool(
        lambda: container.supply.draft_reorder_purchase_orders(
            business, location_code=body.location
        )
    )
    return [PurchaseOrderOut.of(order) for order in drafted]
