"""HTTP models of the trade API. Money is integer minor units with a currency; times are
nanoseconds since the epoch (UTC), as everywhere in Tijarat's API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.trade.errors import TradeError
from tijarat.trade.model import (
    CARRIER_LENGTH_MAX,
    DESCRIPTION_LENGTH_MAX,
    FINANCIAL_INSTRUMENT_LENGTH_MAX,
    NAME_LENGTH_MAX,
    NOTE_LENGTH_MAX,
    PLACE_LENGTH_MAX,
    PRICE_TIERS_MAX,
    TRACKING_EVENTS_MAX,
    TRACKING_NUMBER_LENGTH_MAX,
    Connector,
    DisputeOutcome,
    Exporter,
    ExportProceeds,
    InboxEntry,
    InboxReport,
    Instrument,
    Order,
    OrderEvent,
    Packing,
    PriceTier,
    ProceedsReportRow,
    Product,
    PullReport,
    RealisationCase,
    Shipment,
    ShipmentMode,
    SweepReport,
    TrackingImportReport,
    TrackingInput,
)

_INT_MAX = (1 << 63) - 1


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- catalog
class PackingIn(_In):
    unit_net_weight_grams: int = Field(gt=0)
    unit_gross_weight_grams: int = Field(gt=0)
    units_per_package: int = Field(gt=0)
    package_length_mm: int = Field(gt=0)
    package_width_mm: int = Field(gt=0)
    package_height_mm: int = Field(gt=0)

    def to_model(self) -> Packing:
        return Packing(**self.model_dump())


class PriceTierIn(_In):
    currency: str = Field(pattern="^[A-Z]{3}$")
    minimum_quantity: int = Field(gt=0)
    unit_price_minor: int = Field(gt=0, le=_INT_MAX)


class ProductIn(_In):
    description: str = Field(min_length=1, max_length=DESCRIPTION_LENGTH_MAX)
    hs_code: str = Field(description="8-digit Pakistan Customs Tariff code, e.g. 0813.10.00")
    unit: str = Field(max_length=16)
    minimum_order_quantity: int = Field(gt=0)
    packing: PackingIn
    prices: list[PriceTierIn] = Field(min_length=1, max_length=PRICE_TIERS_MAX)


class PriceTierOut(BaseModel):
    currency: str
    minimum_quantity: int
    unit_price_minor: int


class PackingOut(BaseModel):
    unit_net_weight_grams: int
    unit_gross_weight_grams: int
    units_per_package: int
    package_length_mm: int
    package_width_mm: int
    package_height_mm: int

    @classmethod
    def of(cls, packing: Packing) -> PackingOut:
        return cls(
            unit_net_weight_grams=packing.unit_net_weight_grams,
            unit_gross_weight_grams=packing.unit_gross_weight_grams,
            units_per_package=packing.units_per_package,
            package_length_mm=packing.package_length_mm,
            package_width_mm=packing.package_width_mm,
            package_height_mm=packing.package_height_mm,
        )


class ProductOut(BaseModel):
    sku: str
    description: str
    hs_code: str
    hs6: str
    unit: str
    minimum_order_quantity: int
    packing: PackingOut
    prices: list[PriceTierOut]
    updated_at: int

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            sku=product.sku,
            description=product.description,
            hs_code=product.hs_code,
            hs6=product.hs6,
            unit=product.unit,
            minimum_order_quantity=product.minimum_order_quantity,
            packing=PackingOut.of(product.packing),
            prices=[
                PriceTierOut(
                    currency=tier.currency,
                    minimum_quantity=tier.minimum_quantity,
                    unit_price_minor=tier.unit_price_minor,
                )
                for tier in product.price_tiers
            ],
            updated_at=product.updated_at,
        )


def tiers_of(body: ProductIn) -> list[PriceTier]:
    return [
        PriceTier(tier.currency, tier.minimum_quantity, tier.unit_price_minor)
        for tier in body.prices
    ]


class ExporterIn(_In):
    name: str = Field(min_length=1, max_length=NAME_LENGTH_MAX)
    address: str = Field(min_length=1, max_length=400)
    city: str = Field(min_length=1, max_length=PLACE_LENGTH_MAX)
    ntn: str = Field(max_length=16)
    email: str = Field(max_length=NAME_LENGTH_MAX)
    phone: str = Field(max_length=32)


class ExporterOut(BaseModel):
    name: str
    address: str
    city: str
    ntn: str
    email: str
    phone: str

    @classmethod
    def of(cls, exporter: Exporter) -> ExporterOut:
        return cls(
            name=exporter.name,
            address=exporter.address,
            city=exporter.city,
            ntn=exporter.ntn,
            email=exporter.email,
            phone=exporter.phone,
        )


# ---------------------------------------------------------------------------- connectors
class ConnectorIn(_In):
    name: str = Field(max_length=32, description='the marketplace, e.g. "alibaba"')
    app_key: str = Field(max_length=64)
    app_secret: str = Field(max_length=128, description="kept to verify push signatures")


class ConnectorOut(BaseModel):
    id: uuid.UUID
    name: str
    app_key: str
    created_at: int
    pulled_until: int
    push_url: str

    @classmethod
    def of(cls, connector: Connector) -> ConnectorOut:
        return cls(
            id=connector.id,
            name=connector.name,
            app_key=connector.app_key,
            created_at=connector.created_at,
            pulled_until=connector.pulled_until,
            push_url=f"/v1/marketplace/{connector.name}/push",
        )


class PushAck(BaseModel):
    status: str = Field(description='"accepted" or "duplicate" (already received)')
    message_id: str


class InboxReportOut(BaseModel):
    applied: int
    already_applied: int
    rejected: int
    waiting: int
    failed: int

    @classmethod
    def of(cls, report: InboxReport) -> InboxReportOut:
        return cls(
            applied=report.applied,
            already_applied=report.already_applied,
            rejected=report.rejected,
            waiting=report.waiting,
            failed=report.failed,
        )


class InboxEntryOut(BaseModel):
    seq: int
    message_id: str
    message_type: str
    source: str
    received_at: int
    processed_at: int | None
    outcome: str | None
    error: str | None
    order_id: uuid.UUID | None

    @classmethod
    def of(cls, entry: InboxEntry) -> InboxEntryOut:
        return cls(
            seq=entry.seq,
            message_id=entry.message_id,
            message_type=entry.message_type,
            source=entry.source,
            received_at=entry.received_at,
            processed_at=entry.processed_at,
            outcome=entry.outcome.value if entry.outcome else None,
            error=entry.error,
            order_id=entry.order_id,
        )


class PullIn(_In):
    since: datetime | None = Field(default=None, description="default: where the last pull stopped")


class PullOut(BaseModel):
    received: int
    duplicates: int
    pulled_until: int
    processed: InboxReportOut

    @classmethod
    def of(cls, report: PullReport) -> PullOut:
        return cls(
            received=report.received,
            duplicates=report.duplicates,
            pulled_until=report.pulled_until,
            processed=InboxReportOut.of(report.processed),
        )


# ---------------------------------------------------------------------------- orders
class BuyerOut(BaseModel):
    company: str
    contact_name: str
    email: str
    country: str
    address: str


class OrderLineOut(BaseModel):
    id: uuid.UUID
    line_number: int
    sku: str
    description: str
    hs_code: str
    unit: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    net_weight_grams: int
    gross_weight_grams: int
    packages: int


class OrderOut(BaseModel):
    id: uuid.UUID
    invoice_number: str
    marketplace_order_id: str
    status: str
    buyer: BuyerOut
    incoterm: str
    incoterm_place: str
    currency: str
    goods_minor: int
    shipping_minor: int
    total_minor: int
    refund_minor: int
    lines: list[OrderLineOut]
    created_at: int
    updated_at: int
    paid_at: int | None
    payment_reference: str | None
    shipped_at: int | None
    delivered_at: int | None
    completed_at: int | None
    dispute_opened_at: int | None
    dispute_reason: str | None
    note: str | None
    stock_reserved_at: int | None
    escrow_held_at: int | None
    escrow_settled_at: int | None
    effects_due: bool
    effect_error: str | None

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        buyer = order.buyer
        return cls(
            id=order.id,
            invoice_number=order.invoice_number,
            marketplace_order_id=order.marketplace_order_id,
            status=order.status.value,
            buyer=BuyerOut(
                company=buyer.company,
                contact_name=buyer.contact_name,
                email=buyer.email,
                country=buyer.country,
                address=buyer.address,
            ),
            incoterm=order.incoterm.value,
            incoterm_place=order.incoterm_place,
            currency=order.currency,
            goods_minor=order.goods_minor,
            shipping_minor=order.shipping_minor,
            total_minor=order.total_minor,
            refund_minor=order.refund_minor,
            lines=[
                OrderLineOut(
                    id=line.id,
                    line_number=line.line_number,
                    sku=line.sku,
                    description=line.description,
                    hs_code=line.hs_code,
                    unit=line.unit,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                    amount_minor=line.amount_minor,
                    net_weight_grams=line.net_weight_grams,
                    gross_weight_grams=line.gross_weight_grams,
                    packages=line.packages,
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            paid_at=order.paid_at,
            payment_reference=order.payment_reference,
            shipped_at=order.shipped_at,
            delivered_at=order.delivered_at,
            completed_at=order.completed_at,
            dispute_opened_at=order.dispute_opened_at,
            dispute_reason=order.dispute_reason,
            note=order.note,
            stock_reserved_at=order.stock_reserved_at,
            escrow_held_at=order.escrow_held_at,
            escrow_settled_at=order.escrow_settled_at,
            effects_due=order.effects_due,
            effect_error=order.effect_error,
        )


class OrderEventOut(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    at: int
    note: str

    @classmethod
    def of(cls, event: OrderEvent) -> OrderEventOut:
        return cls(
            from_status=event.from_status.value if event.from_status else None,
            to_status=event.to_status.value,
            actor=event.actor,
            at=event.at,
            note=event.note,
        )


class ConfirmIn(_In):
    request_payment: bool = Field(
        default=True, description="offer the order to the buyer for payment at once"
    )


class PaymentIn(_In):
    amount_minor: int = Field(gt=0, le=_INT_MAX)
    currency: str = Field(pattern="^[A-Z]{3}$")
    payment_reference: str = Field(min_length=1, max_length=64)


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=NOTE_LENGTH_MAX)


class ResolutionIn(_In):
    outcome: DisputeOutcome
    refund_minor: int | None = Field(default=None, gt=0, le=_INT_MAX)
    note: str = Field(default="", max_length=NOTE_LENGTH_MAX)


class ShipIn(_In):
    carrier: str = Field(min_length=1, max_length=CARRIER_LENGTH_MAX)
    tracking_number: str = Field(min_length=1, max_length=TRACKING_NUMBER_LENGTH_MAX)
    mode: ShipmentMode
    transport_document_number: str = Field(
        min_length=1,
        max_length=TRACKING_NUMBER_LENGTH_MAX,
        description="B/L (sea), AWB (air, courier) or CMR (road) number",
    )
    port_of_loading: str = Field(min_length=1, max_length=PLACE_LENGTH_MAX)
    port_of_discharge: str = Field(min_length=1, max_length=PLACE_LENGTH_MAX)


class TrackingEventIn(_In):
    status: str = Field(min_length=1, max_length=64, description="the carrier's own status")
    occurred_at: datetime
    location: str = Field(default="", max_length=140)
    event_id: str | None = Field(default=None, max_length=64)


class TrackingEventsIn(_In):
    events: list[TrackingEventIn] = Field(min_length=1, max_length=TRACKING_EVENTS_MAX)


class TrackingEventOut(BaseModel):
    carrier_status: str
    status: str
    location: str
    occurred_at: int
    source: str


class ShipmentOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    carrier: str
    tracking_number: str
    mode: str
    transport_document: str
    transport_document_number: str
    port_of_loading: str
    port_of_discharge: str
    shipped_at: int
    status: str
    status_at: int
    events: list[TrackingEventOut]

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentOut:
        return cls(
            id=shipment.id,
            order_id=shipment.order_id,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            mode=shipment.mode.value,
            transport_document=shipment.mode.transport_document,
            transport_document_number=shipment.transport_document_number,
            port_of_loading=shipment.port_of_loading,
            port_of_discharge=shipment.port_of_discharge,
            shipped_at=shipment.shipped_at,
            status=shipment.status.value,
            status_at=shipment.status_at,
            events=[
                TrackingEventOut(
                    carrier_status=event.carrier_status,
                    status=event.status.value,
                    location=event.location,
                    occurred_at=event.occurred_at,
                    source=event.source,
                )
                for event in shipment.events
            ],
        )


class TrackingImportOut(BaseModel):
    accepted: int
    duplicates: int
    errors: list[str]

    @classmethod
    def of(cls, report: TrackingImportReport) -> TrackingImportOut:
        return cls(
            accepted=report.accepted, duplicates=report.duplicates, errors=list(report.errors)
        )


# ---------------------------------------------------------------------------- export proceeds
class ExportDetailsIn(_In):
    financial_instrument_reference: str | None = Field(
        default=None, max_length=FINANCIAL_INSTRUMENT_LENGTH_MAX
    )
    instrument: Instrument
    realisation_case: RealisationCase = RealisationCase.GENERAL


class DeductionOut(BaseModel):
    kind: str
    basis_points: int
    amount_minor: int


class ExportProceedsOut(BaseModel):
    order_id: uuid.UUID
    financial_instrument_reference: str | None
    instrument: str
    realisation_case: str
    status: str
    currency: str
    invoiced_minor: int
    shipment_mode: str | None
    shipped_at: int | None
    deadline_at: int | None
    realised_at: int | None
    realised_minor: int | None
    converted_minor: int | None
    conversion_rate: str | None
    deductions: list[DeductionOut]
    net_minor: int | None
    realised_late: bool

    @classmethod
    def of(cls, proceeds: ExportProceeds) -> ExportProceedsOut:
        return cls(
            order_id=proceeds.order_id,
            financial_instrument_reference=proceeds.financial_instrument_reference,
            instrument=proceeds.instrument.value,
            realisation_case=proceeds.realisation_case.value,
            status=proceeds.status.value,
            currency=proceeds.currency,
            invoiced_minor=proceeds.invoiced_minor,
            shipment_mode=proceeds.shipment_mode.value if proceeds.shipment_mode else None,
            shipped_at=proceeds.shipped_at,
            deadline_at=proceeds.deadline_at,
            realised_at=proceeds.realised_at,
            realised_minor=proceeds.realised_minor,
            converted_minor=proceeds.converted_minor,
            conversion_rate=proceeds.conversion_rate,
            deductions=[
                DeductionOut(
                    kind=deduction.kind.value,
                    basis_points=deduction.basis_points,
                    amount_minor=deduction.amount_minor,
                )
                for deduction in proceeds.deductions
            ],
            net_minor=proceeds.net_minor,
            realised_late=proceeds.realised_late,
        )


class ProceedsReportRowOut(BaseModel):
    order_id: uuid.UUID
    marketplace_order_id: str
    buyer_company: str
    invoiced_minor: int
    currency: str
    financial_instrument_reference: str | None
    realisation_case: str
    shipped_at: int
    deadline_at: int
    days_left: int
    standing: str

    @classmethod
    def of(cls, row: ProceedsReportRow) -> ProceedsReportRowOut:
        return cls(
            order_id=row.order_id,
            marketplace_order_id=row.marketplace_order_id,
            buyer_company=row.buyer_company,
            invoiced_minor=row.invoiced_minor,
            currency=row.currency,
            financial_instrument_reference=row.financial_instrument_reference,
            realisation_case=row.realisation_case.value,
            shipped_at=row.shipped_at,
            deadline_at=row.deadline_at,
            days_left=row.days_left,
            standing=row.standing.value,
        )


class SweepOut(BaseModel):
    auto_released: int
    closed_unpaid: int
    effects_finished: int
    auto_confirmed: int
    inbox_applied: int

    @classmethod
    def of(cls, report: SweepReport) -> SweepOut:
        return cls(
            auto_released=report.auto_released,
            closed_unpaid=report.closed_unpaid,
            effects_finished=report.effects_finished,
            auto_confirmed=report.auto_confirmed,
            inbox_applied=report.inbox_applied,
        )


def tracking_inputs(body: TrackingEventsIn) -> list[TrackingInput]:
    for event in body.events:
        if event.occurred_at.tzinfo is None:
            raise DomainError(
                TradeError.SHIPMENT_INVALID,
                "occurred_at needs a time zone, e.g. 2026-03-01T10:00:00+05:00",
                status=422,
                fields={"occurred_at": event.occurred_at.isoformat()},
            )
    return [
        TrackingInput(
            carrier_status=event.status,
            occurred_at=to_ns(event.occurred_at),
            location=event.location,
            event_id=event.event_id,
        )
        for event in body.events
    ]
