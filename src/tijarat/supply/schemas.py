"""HTTP models of the supply API: money in integer minor units, times in ISO 8601 (UTC)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from tijarat.kernel.clock import from_ns
from tijarat.supply.model import (
    BILL_LINES_MAX,
    BILLS_PER_PAYMENT_MAX,
    COUNT_LINES_MAX,
    LANDED_COSTS_MAX,
    ORDER_LINES_MAX,
    QUANTITY_MAX,
    QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
    RECEIPT_LINES_MAX,
    TOLERANCE_BASIS_POINTS_MAX,
    UNIT_PRICE_MINOR_MAX,
    Bill,
    BillLineInput,
    BillPayment,
    GoodsReceipt,
    Item,
    LandedCost,
    Location,
    LowStockItem,
    MatchResult,
    OrderLineInput,
    PurchaseOrder,
    ReceiptLineInput,
    Reservation,
    StockLevel,
    StockMove,
    Supplier,
    Transfer,
    Valuation,
)

_Quantity = Field(ge=1, le=QUANTITY_MAX)
_Price = Field(ge=0, le=UNIT_PRICE_MINOR_MAX)


def _time(ns: int | None) -> str | None:
    return from_ns(ns).isoformat() if ns is not None else None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- suppliers


class SupplierIn(_In):
    name: str = Field(min_length=1, max_length=140)
    contact_name: str | None = Field(default=None, max_length=140)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    ntn: str | None = Field(default=None, max_length=16)
    raast_id: str | None = Field(default=None, max_length=32, description="a mobile number")
    iban: str | None = Field(default=None, max_length=40)
    currency: str = Field(default="PKR", pattern="^[A-Za-z]{3}$")
    payment_terms_days: int = Field(default=0, ge=0, le=365)
    lead_time_days: int = Field(default=0, ge=0, le=365)


class SupplierOut(BaseModel):
    id: uuid.UUID
    name: str
    contact_name: str | None
    phone: str | None
    email: str | None
    ntn: str | None
    raast_id: str | None
    iban: str | None
    currency: str
    payment_terms_days: int
    lead_time_days: int
    created_at: str | None

    @classmethod
    def of(cls, s: Supplier) -> SupplierOut:
        return cls(
            id=s.id,
            name=s.name,
            contact_name=s.contact_name,
            phone=s.phone,
            email=s.email,
            ntn=s.ntn,
            raast_id=s.raast_id,
            iban=s.iban,
            currency=s.currency,
            payment_terms_days=s.payment_terms_days,
            lead_time_days=s.lead_time_days,
            created_at=_time(s.created_at),
        )


# ---------------------------------------------------------------------------- items, locations


class ItemIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=140)
    unit: str = Field(default="piece", min_length=1, max_length=16)
    reorder_point: int = Field(default=0, ge=0, le=QUANTITY_MAX)
    reorder_quantity: int = Field(default=0, ge=0, le=QUANTITY_MAX)
    preferred_supplier_id: uuid.UUID | None = None


class ReorderIn(_In):
    reorder_point: int = Field(ge=0, le=QUANTITY_MAX)
    reorder_quantity: int = Field(ge=0, le=QUANTITY_MAX)
    preferred_supplier_id: uuid.UUID | None = None


class ItemOut(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    unit: str
    reorder_point: int
    reorder_quantity: int
    preferred_supplier_id: uuid.UUID | None

    @classmethod
    def of(cls, i: Item) -> ItemOut:
        return cls(
            id=i.id,
            sku=i.sku,
            name=i.name,
            unit=i.unit,
            reorder_point=i.reorder_point,
            reorder_quantity=i.reorder_quantity,
            preferred_supplier_id=i.preferred_supplier_id,
        )


class LocationIn(_In):
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=140)
    allow_negative: bool = False


class LocationOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    allow_negative: bool

    @classmethod
    def of(cls, location: Location) -> LocationOut:
        return cls(
            id=location.id,
            code=location.code,
            name=location.name,
            kind=location.kind.value,
            allow_negative=location.allow_negative,
        )


# ---------------------------------------------------------------------------- purchasing


class OrderLineIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = _Quantity
    unit_price_minor: int = _Price

    def to_model(self) -> OrderLineInput:
        return OrderLineInput(self.sku, self.quantity, self.unit_price_minor)


class PurchaseOrderIn(_In):
    supplier_id: uuid.UUID
    location: str = Field(min_length=1, max_length=16, description="where goods are delivered")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=ORDER_LINES_MAX)
    quantity_tolerance_basis_points: int = Field(
        default=QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT, ge=0, le=TOLERANCE_BASIS_POINTS_MAX
    )
    price_tolerance_basis_points: int = Field(default=0, ge=0, le=TOLERANCE_BASIS_POINTS_MAX)


class OrderLineOut(BaseModel):
    id: uuid.UUID
    line_number: int
    sku: str
    quantity_ordered: int
    unit_price_minor: int
    quantity_received: int
    quantity_billed: int


class PurchaseOrderOut(BaseModel):
    id: uuid.UUID
    number: str
    supplier_id: uuid.UUID
    location: str
    status: str
    currency: str
    total_minor: int
    quantity_tolerance_basis_points: int
    price_tolerance_basis_points: int
    closed_short: bool
    created_at: str | None
    sent_at: str | None
    lines: list[OrderLineOut]

    @classmethod
    def of(cls, o: PurchaseOrder) -> PurchaseOrderOut:
        return cls(
            id=o.id,
            number=o.number,
            supplier_id=o.supplier_id,
            location=o.location,
            status=o.status.value,
            currency=o.currency,
            total_minor=o.total_minor,
            quantity_tolerance_basis_points=o.quantity_tolerance_basis_points,
            price_tolerance_basis_points=o.price_tolerance_basis_points,
            closed_short=o.closed_short,
            created_at=_time(o.created_at),
            sent_at=_time(o.sent_at),
            lines=[
                OrderLineOut(
                    id=line.id,
                    line_number=line.line_number,
                    sku=line.sku,
                    quantity_ordered=line.quantity_ordered,
                    unit_price_minor=line.unit_price_minor,
                    quantity_received=line.quantity_received,
                    quantity_billed=line.quantity_billed,
                )
                for line in o.lines
            ],
        )


class LandedCostIn(_In):
    description: str = Field(min_length=1, max_length=140)
    amount_minor: int = Field(ge=1, le=UNIT_PRICE_MINOR_MAX)

    def to_model(self) -> LandedCost:
        return LandedCost(self.description, self.amount_minor)


class ReceiptLineIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = _Quantity

    def to_model(self) -> ReceiptLineInput:
        return ReceiptLineInput(self.sku, self.quantity)


class ReceiptIn(_In):
    request_id: uuid.UUID
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=RECEIPT_LINES_MAX)
    landed_costs: list[LandedCostIn] = Field(default_factory=list, max_length=LANDED_COSTS_MAX)
    delivery_note: str | None = Field(default=None, max_length=140)
    valuation_rate: str | None = Field(
        default=None,
        max_length=24,
        description="PKR per unit of the order's currency, when it is not PKR",
    )


class ReceiptLineOut(BaseModel):
    sku: str
    quantity: int
    value_minor: int
    landed_cost_minor: int


class LandedCostOut(BaseModel):
    description: str
    amount_minor: int


class ReceiptOut(BaseModel):
    id: uuid.UUID
    number: str
    purchase_order_id: uuid.UUID
    location: str
    delivery_note: str | None
    valuation_rate: str | None
    received_at: str | None
    lines: list[ReceiptLineOut]
    landed_costs: list[LandedCostOut]

    @classmethod
    def of(cls, r: GoodsReceipt) -> ReceiptOut:
        return cls(
            id=r.id,
            number=r.number,
            purchase_order_id=r.purchase_order_id,
            location=r.location,
            delivery_note=r.delivery_note,
            valuation_rate=r.valuation_rate,
            received_at=_time(r.received_at),
            lines=[
                ReceiptLineOut(
                    sku=line.sku,
                    quantity=line.quantity,
                    value_minor=line.value_minor,
                    landed_cost_minor=line.landed_cost_minor,
                )
                for line in r.lines
            ],
            landed_costs=[
                LandedCostOut(description=cost.description, amount_minor=cost.amount_minor)
                for cost in r.landed_costs
            ],
        )


# ---------------------------------------------------------------------------- bills


class BillLineIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = _Quantity
    unit_price_minor: int = _Price

    def to_model(self) -> BillLineInput:
        return BillLineInput(self.sku, self.quantity, self.unit_price_minor)


class BillIn(_In):
    purchase_order_id: uuid.UUID
    supplier_invoice_number: str = Field(min_length=1, max_length=35)
    lines: list[BillLineIn] = Field(min_length=1, max_length=BILL_LINES_MAX)


class BillLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    on_order: bool


class BillOut(BaseModel):
    id: uuid.UUID
    number: str
    purchase_order_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_invoice_number: str
    currency: str
    total_minor: int
    status: str
    match_status: str
    due_at: str | None
    created_at: str | None
    paid_at: str | None
    payment_status: str | None
    payment_reason: str | None
    payment_end_to_end_id: str | None
    payment_uetr: uuid.UUID | None
    lines: list[BillLineOut]

    @classmethod
    def of(cls, b: Bill) -> BillOut:
        return cls(
            id=b.id,
            number=b.number,
            purchase_order_id=b.purchase_order_id,
            supplier_id=b.supplier_id,
            supplier_invoice_number=b.supplier_invoice_number,
            currency=b.currency,
            total_minor=b.total_minor,
            status=b.status.value,
            match_status=b.match_status.value,
            due_at=_time(b.due_at),
            created_at=_time(b.created_at),
            paid_at=_time(b.paid_at),
            payment_status=b.payment_status.value if b.payment_status else None,
            payment_reason=b.payment_reason,
            payment_end_to_end_id=b.payment_end_to_end_id,
            payment_uetr=b.payment_uetr,
            lines=[
                BillLineOut(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                    on_order=line.purchase_order_line_id is not None,
                )
                for line in b.lines
            ],
        )


class DiscrepancyOut(BaseModel):
    code: str
    message: str
    sku: str | None
    expected: int | None
    actual: int | None


class MatchOut(BaseModel):
    bill_id: uuid.UUID
    matched: bool
    discrepancies: list[DiscrepancyOut]

    @classmethod
    def of(cls, m: MatchResult) -> MatchOut:
        return cls(
            bill_id=m.bill_id,
            matched=m.matched,
            discrepancies=[
                DiscrepancyOut(
                    code=d.code, message=d.message, sku=d.sku, expected=d.expected, actual=d.actual
                )
                for d in m.discrepancies
            ],
        )


class PayIn(_In):
    request_id: uuid.UUID
    bill_ids: list[uuid.UUID] = Field(min_length=1, max_length=BILLS_PER_PAYMENT_MAX)


class BillPaymentOut(BaseModel):
    bill_id: uuid.UUID
    bill_number: str
    amount_minor: int
    currency: str
    status: str
    reason: str | None
    end_to_end_id: str | None
    uetr: uuid.UUID | None

    @classmethod
    def of(cls, p: BillPayment) -> BillPaymentOut:
        return cls(
            bill_id=p.bill_id,
            bill_number=p.bill_number,
            amount_minor=p.amount_minor,
            currency=p.currency,
            status=p.status.value,
            reason=p.reason,
            end_to_end_id=p.end_to_end_id,
            uetr=p.uetr,
        )


# ---------------------------------------------------------------------------- stock


class StockLevelOut(BaseModel):
    sku: str
    location: str
    quantity_on_hand: int
    quantity_reserved: int
    quantity_incoming: int
    quantity_available: int

    @classmethod
    def of(cls, s: StockLevel) -> StockLevelOut:
        return cls(
            sku=s.sku,
            location=s.location,
            quantity_on_hand=s.quantity_on_hand,
            quantity_reserved=s.quantity_reserved,
            quantity_incoming=s.quantity_incoming,
            quantity_available=s.quantity_available,
        )


class StockMoveOut(BaseModel):
    seq: int
    id: uuid.UUID
    sku: str
    from_location: str
    to_location: str
    quantity: int
    unit_cost_minor: int
    value_minor: int
    currency: str
    reference: str
    reason: str
    at: str | None

    @classmethod
    def of(cls, m: StockMove) -> StockMoveOut:
        return cls(
            seq=m.seq,
            id=m.id,
            sku=m.sku,
            from_location=m.from_location,
            to_location=m.to_location,
            quantity=m.quantity,
            unit_cost_minor=m.unit_cost_minor,
            value_minor=m.value_minor,
            currency=m.currency,
            reference=m.reference,
            reason=m.reason,
            at=_time(m.at),
        )


class ReservationIn(_In):
    reference: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = _Quantity
    location: str | None = Field(
        default=None, max_length=16, description="none: a location that holds enough"
    )


class ReservationActionIn(_In):
    reference: str = Field(min_length=1, max_length=64)


class ReservationMoveIn(_In):
    reference: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=16)


class ReservationOut(BaseModel):
    id: uuid.UUID
    reference: str
    sku: str
    location: str
    quantity: int
    status: str
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(
            id=r.id,
            reference=r.reference,
            sku=r.sku,
            location=r.location,
            quantity=r.quantity,
            status=r.status.value,
            created_at=_time(r.created_at),
            updated_at=_time(r.updated_at),
        )


class TransferIn(_In):
    request_id: uuid.UUID
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = _Quantity
    from_location: str = Field(min_length=1, max_length=16)
    to_location: str = Field(min_length=1, max_length=16)


class TransferReceiveIn(_In):
    quantity_received: int | None = Field(default=None, ge=0, le=QUANTITY_MAX)
    landed_costs: list[LandedCostIn] = Field(default_factory=list, max_length=LANDED_COSTS_MAX)
    reason: str | None = Field(default=None, max_length=200, description="when fewer arrive")


class TransferOut(BaseModel):
    id: uuid.UUID
    number: str
    sku: str
    from_location: str
    to_location: str
    quantity: int
    quantity_received: int
    value_minor: int
    landed_cost_minor: int
    status: str
    dispatched_at: str | None
    received_at: str | None

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        return cls(
            id=t.id,
            number=t.number,
            sku=t.sku,
            from_location=t.from_location,
            to_location=t.to_location,
            quantity=t.quantity,
            quantity_received=t.quantity_received,
            value_minor=t.value_minor,
            landed_cost_minor=t.landed_cost_minor,
            status=t.status.value,
            dispatched_at=_time(t.dispatched_at),
            received_at=_time(t.received_at),
        )


class AdjustmentIn(_In):
    request_id: uuid.UUID
    sku: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=16)
    quantity_change: int = Field(ge=-QUANTITY_MAX, le=QUANTITY_MAX)
    reason: str = Field(max_length=200)
    unit_cost_minor: int | None = Field(default=None, ge=0, le=UNIT_PRICE_MINOR_MAX)


class CountIn(_In):
    request_id: uuid.UUID
    location: str = Field(min_length=1, max_length=16)
    counts: dict[str, int] = Field(min_length=1, max_length=COUNT_LINES_MAX)
    reason: str = Field(max_length=200)


# ---------------------------------------------------------------------------- reports


class ValuationLineOut(BaseModel):
    sku: str
    quantity: int
    value_minor: int
    average_unit_cost_minor: int


class LocationValueOut(BaseModel):
    location: str
    value_minor: int
    items: list[ValuationLineOut]


class ValuationOut(BaseModel):
    at: str | None
    currency: str
    total_value_minor: int
    locations: list[LocationValueOut]

    @classmethod
    def of(cls, at_ns: int | None, currency: str, rows: list[Valuation]) -> ValuationOut:
        by_location: dict[str, list[Valuation]] = {}
        for row in rows:
            by_location.setdefault(row.location, []).append(row)
        return cls(
            at=_time(at_ns),
            currency=currency,
            total_value_minor=sum(row.value_minor for row in rows),
            locations=[
                LocationValueOut(
                    location=location,
                    value_minor=sum(row.value_minor for row in items),
                    items=[
                        ValuationLineOut(
                            sku=row.sku,
                            quantity=row.quantity,
                            value_minor=row.value_minor,
                            average_unit_cost_minor=row.average_unit_cost_minor,
                        )
                        for row in items
                    ],
                )
                for location, items in by_location.items()
            ],
        )


class LowStockOut(BaseModel):
    sku: str
    name: str
    reorder_point: int
    reorder_quantity: int
    quantity_available: int
    quantity_incoming: int
    quantity_projected: int
    quantity_to_order: int
    preferred_supplier_id: uuid.UUID | None

    @classmethod
    def of(cls, i: LowStockItem) -> LowStockOut:
        return cls(
            sku=i.sku,
            name=i.name,
            reorder_point=i.reorder_point,
            reorder_quantity=i.reorder_quantity,
            quantity_available=i.quantity_available,
            quantity_incoming=i.quantity_incoming,
            quantity_projected=i.quantity_projected,
            quantity_to_order=i.quantity_to_order,
            preferred_supplier_id=i.preferred_supplier_id,
        )


class ReorderDraftIn(_In):
    location: str | None = Field(default=None, max_length=16)
