"""Persistence for trade (SQLAlchemy Core; the schema is created by migration 0009_trade)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tijarat.trade.model import (
    Buyer,
    Connector,
    Deduction,
    DeductionKind,
    Exporter,
    ExportProceeds,
    Incoterm,
    Instrument,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Packing,
    PriceTier,
    ProceedsStatus,
    Product,
    RealisationCase,
    Shipment,
    ShipmentMode,
    TrackingEvent,
    TrackingStatus,
)

metadata = sa.MetaData()
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER only


def _packing_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("unit_net_weight_grams", sa.BigInteger, nullable=False),
        sa.Column("unit_gross_weight_grams", sa.BigInteger, nullable=False),
        sa.Column("units_per_package", sa.Integer, nullable=False),
        sa.Column("package_length_mm", sa.Integer, nullable=False),
        sa.Column("package_width_mm", sa.Integer, nullable=False),
        sa.Column("package_height_mm", sa.Integer, nullable=False),
    ]


products_table = sa.Table(
    "trade_products",
    metadata,
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String(40), primary_key=True),
    sa.Column("description", sa.String(250), nullable=False),
    sa.Column("hs_code", sa.String(8), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("minimum_order_quantity", sa.Integer, nullable=False),
    *_packing_columns(),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

price_tiers_table = sa.Table(
    "trade_price_tiers",
    metadata,
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String(40), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("minimum_quantity", sa.Integer, primary_key=True),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
)

exporters_table = sa.Table(
    "trade_exporters",
    metadata,
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("address", sa.String(400), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("ntn", sa.String(9), nullable=False),
    sa.Column("email", sa.String(140), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

connectors_table = sa.Table(
    "trade_connectors",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False, index=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("app_key", sa.String(64), nullable=False),
    # Kept as given: verifying an HMAC needs the secret itself, not a hash of it.
    sa.Column("app_secret", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("pulled_until", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("name", "app_key", name="ux_trade_connectors_name_app_key"),
)

inbox_table = sa.Table(
    "trade_inbox",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("connector_id", sa.Uuid, nullable=False),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("message_type", sa.String(32), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),  # "push" or "pull"
    sa.Column("body", sa.LargeBinary, nullable=False),  # the raw bytes, as received
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("processed_at", sa.BigInteger, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),  # applied, already_applied, rejected
    sa.Column("error", sa.String(400), nullable=True),
    sa.Column("order_id", sa.Uuid, nullable=True),
    sa.UniqueConstraint("connector_id", "message_id", name="ux_trade_inbox_message"),
    sa.Index("ix_trade_inbox_unprocessed", "processed_at", "seq"),
    sa.Index("ix_trade_inbox_business", "business_id", "seq"),
)

orders_table = sa.Table(
    "trade_orders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("connector_id", sa.Uuid, nullable=True),
    sa.Column("marketplace_order_id", sa.String(64), nullable=False),
    sa.Column("buyer_company", sa.String(140), nullable=False),
    sa.Column("buyer_contact_name", sa.String(140), nullable=False),
    sa.Column("buyer_email", sa.String(140), nullable=False),
    sa.Column("buyer_country", sa.String(2), nullable=False),
    sa.Column("buyer_address", sa.String(400), nullable=False),
    sa.Column("incoterm", sa.String(3), nullable=False),
    sa.Column("incoterm_place", sa.String(100), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("goods_minor", sa.BigInteger, nullable=False),
    sa.Column("shipping_minor", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("paid_at", sa.BigInteger, nullable=True),
    sa.Column("payment_reference", sa.String(64), nullable=True),
    sa.Column("shipped_at", sa.BigInteger, nullable=True),
    sa.Column("delivered_at", sa.BigInteger, nullable=True),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
    sa.Column("dispute_opened_at", sa.BigInteger, nullable=True),
    sa.Column("dispute_reason", sa.String(400), nullable=True),
    sa.Column("refund_minor", sa.BigInteger, nullable=False),
    sa.Column("note", sa.String(400), nullable=True),
    # When each outside effect was done: a crash between a state change and its effect
    # leaves the marker empty and `effects_due` set, and the next sweep finishes the job.
    sa.Column("stock_reserved_at", sa.BigInteger, nullable=True),
    sa.Column("stock_released_at", sa.BigInteger, nullable=True),
    sa.Column("stock_fulfilled_at", sa.BigInteger, nullable=True),
    sa.Column("escrow_held_at", sa.BigInteger, nullable=True),
    sa.Column("escrow_settled_at", sa.BigInteger, nullable=True),
    sa.Column("effects_due", sa.Boolean, nullable=False),
    sa.Column("effect_error", sa.String(400), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint(
        "business_id", "connector_id", "marketplace_order_id", name="ux_trade_orders_marketplace"
    ),
    sa.Index("ix_trade_orders_business_status", "business_id", "status"),
    sa.Index("ix_trade_orders_status_updated", "status", "updated_at"),
)

order_lines_table = sa.Table(
    "trade_order_lines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, nullable=False, index=True),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(40), nullable=False),
    sa.Column("description", sa.String(250), nullable=False),
    sa.Column("hs_code", sa.String(8), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    *_packing_columns(),
)

order_events_table = sa.Table(
    "trade_order_events",
    metadata,
    # A sequence orders the history: two steps may share a clock reading.
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Uuid, nullable=False, index=True),
    sa.Column("from_status", sa.String(24), nullable=True),
    sa.Column("to_status", sa.String(24), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("note", sa.String(400), nullable=False),
)

shipments_table = sa.Table(
    "trade_shipments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("carrier", sa.String(32), nullable=False),
    sa.Column("tracking_number", sa.String(40), nullable=False),
    sa.Column("mode", sa.String(8), nullable=False),
    sa.Column("transport_document_number", sa.String(40), nullable=False),
    sa.Column("port_of_loading", sa.String(100), nullable=False),
    sa.Column("port_of_discharge", sa.String(100), nullable=False),
    sa.Column("shipped_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("status_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("carrier", "tracking_number", name="ux_trade_shipments_tracking"),
)

tracking_events_table = sa.Table(
    "trade_tracking_events",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("shipment_id", sa.Uuid, nullable=False),
    sa.Column("event_key", sa.String(64), nullable=False),
    sa.Column("carrier_status", sa.String(64), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("location", sa.String(140), nullable=False),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.UniqueConstraint("shipment_id", "event_key", name="ux_trade_tracking_events_key"),
)

proceeds_table = sa.Table(
    "trade_export_proceeds",
    metadata,
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("financial_instrument_reference", sa.String(35), nullable=True),
    sa.Column("instrument", sa.String(24), nullable=False),
    sa.Column("realisation_case", sa.String(24), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("invoiced_minor", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("shipment_mode", sa.String(8), nullable=True),
    sa.Column("shipped_at", sa.BigInteger, nullable=True),
    sa.Column("deadline_at", sa.BigInteger, nullable=True),
    sa.Column("realised_at", sa.BigInteger, nullable=True),
    sa.Column("realised_minor", sa.BigInteger, nullable=True),
    sa.Column("converted_minor", sa.BigInteger, nullable=True),
    sa.Column("conversion_rate", sa.String(32), nullable=True),
    sa.Column("surcharge_minor", sa.BigInteger, nullable=True),
    sa.Column("surcharge_basis_points", sa.Integer, nullable=True),
    sa.Column("withholding_tax_minor", sa.BigInteger, nullable=True),
    sa.Column("withholding_tax_basis_points", sa.Integer, nullable=True),
    sa.Column("advance_tax_minor", sa.BigInteger, nullable=True),
    sa.Column("advance_tax_basis_points", sa.Integer, nullable=True),
    sa.Index("ix_trade_export_proceeds_status_deadline", "business_id", "status", "deadline_at"),
)

# Deduction kind -> (amount column, basis points column) in the proceeds table.
DEDUCTION_COLUMNS = {
    DeductionKind.EXPORT_DEVELOPMENT_SURCHARGE: ("surcharge_minor", "surcharge_basis_points"),
    DeductionKind.WITHHOLDING_TAX: ("withholding_tax_minor", "withholding_tax_basis_points"),
    DeductionKind.ADVANCE_TAX: ("advance_tax_minor", "advance_tax_basis_points"),
}


# ---------------------------------------------------------------------------- rows -> models
def packing_from_row(row: Any) -> Packing:
    return Packing(
        unit_net_weight_grams=row.unit_net_weight_grams,
        unit_gross_weight_grams=row.unit_gross_weight_grams,
        units_per_package=row.units_per_package,
        package_length_mm=row.package_length_mm,
        package_width_mm=row.package_width_mm,
        package_height_mm=row.package_height_mm,
    )


def packing_values(packing: Packing) -> dict[str, int]:
    return {
        "unit_net_weight_grams": packing.unit_net_weight_grams,
        "unit_gross_weight_grams": packing.unit_gross_weight_grams,
        "units_per_package": packing.units_per_package,
        "package_length_mm": packing.package_length_mm,
        "package_width_mm": packing.package_width_mm,
        "package_height_mm": packing.package_height_mm,
    }


def select_products(
    connection: sa.Connection, business_id: uuid.UUID, skus: Sequence[str] | None = None
) -> list[Product]:
    query = sa.select(products_table).where(products_table.c.business_id == business_id)
    tiers_query = sa.select(price_tiers_table).where(price_tiers_table.c.business_id == business_id)
    if skus is not None:
        query = query.where(products_table.c.sku.in_(list(skus)))
        tiers_query = tiers_query.where(price_tiers_table.c.sku.in_(list(skus)))
    tiers: dict[str, list[PriceTier]] = {}
    for row in connection.execute(
        tiers_query.order_by(price_tiers_table.c.currency, price_tiers_table.c.minimum_quantity)
    ):
        tiers.setdefault(row.sku, []).append(
            PriceTier(row.currency, row.minimum_quantity, row.unit_price_minor)
        )
    return [
        Product(
            business_id=row.business_id,
            sku=row.sku,
            description=row.description,
            hs_code=row.hs_code,
            unit=row.unit,
            minimum_order_quantity=row.minimum_order_quantity,
            packing=packing_from_row(row),
            price_tiers=tuple(tiers.get(row.sku, ())),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in connection.execute(query.order_by(products_table.c.sku))
    ]


def exporter_from_row(row: Any) -> Exporter:
    return Exporter(
        business_id=row.business_id,
        name=row.name,
        address=row.address,
        city=row.city,
        ntn=row.ntn,
        email=row.email,
        phone=row.phone,
    )


def connector_from_row(row: Any) -> Connector:
    return Connector(
        id=row.id,
        business_id=row.business_id,
        name=row.name,
        app_key=row.app_key,
        created_at=row.created_at,
        pulled_until=row.pulled_until,
    )


def line_from_row(row: Any) -> OrderLine:
    return OrderLine(
        id=row.id,
        line_number=row.line_number,
        sku=row.sku,
        description=row.description,
        hs_code=row.hs_code,
        unit=row.unit,
        quantity=row.quantity,
        unit_price_minor=row.unit_price_minor,
        packing=packing_from_row(row),
    )


def order_from_row(row: Any, lines: Sequence[OrderLine]) -> Order:
    return Order(
        id=row.id,
        business_id=row.business_id,
        connector_id=row.connector_id,
        marketplace_order_id=row.marketplace_order_id,
        buyer=Buyer(
            company=row.buyer_company,
            contact_name=row.buyer_contact_name,
            email=row.buyer_email,
            country=row.buyer_country,
            address=row.buyer_address,
        ),
        incoterm=Incoterm(row.incoterm),
        incoterm_place=row.incoterm_place,
        currency=row.currency,
        goods_minor=row.goods_minor,
        shipping_minor=row.shipping_minor,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        lines=tuple(lines),
        paid_at=row.paid_at,
        payment_reference=row.payment_reference,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
        completed_at=row.completed_at,
        dispute_opened_at=row.dispute_opened_at,
        dispute_reason=row.dispute_reason,
        refund_minor=row.refund_minor,
        note=row.note,
        stock_reserved_at=row.stock_reserved_at,
        stock_released_at=row.stock_released_at,
        stock_fulfilled_at=row.stock_fulfilled_at,
        escrow_held_at=row.escrow_held_at,
        escrow_settled_at=row.escrow_settled_at,
        effects_due=bool(row.effects_due),
        effect_error=row.effect_error,
        version=row.version,
    )


def select_orders(connection: sa.Connection, where: Any, *, limit: int) -> list[Order]:
    rows = connection.execute(
        sa.select(orders_table).where(where).order_by(orders_table.c.id.desc()).limit(limit)
    ).all()
    if not rows:
        return []
    lines: dict[uuid.UUID, list[OrderLine]] = {}
    for line in connection.execute(
        sa.select(order_lines_table)
        .where(order_lines_table.c.order_id.in_([row.id for row in rows]))
        .order_by(order_lines_table.c.order_id, order_lines_table.c.line_number)
    ):
        lines.setdefault(line.order_id, []).append(line_from_row(line))
    return [order_from_row(row, lines.get(row.id, [])) for row in rows]


def event_from_row(row: Any) -> OrderEvent:
    return OrderEvent(
        seq=row.seq,
        order_id=row.order_id,
        from_status=OrderStatus(row.from_status) if row.from_status else None,
        to_status=OrderStatus(row.to_status),
        actor=row.actor,
        at=row.at,
        note=row.note,
    )


def tracking_event_from_row(row: Any) -> TrackingEvent:
    return TrackingEvent(
        seq=row.seq,
        shipment_id=row.shipment_id,
        event_key=row.event_key,
        carrier_status=row.carrier_status,
        status=TrackingStatus(row.status),
        location=row.location,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        source=row.source,
    )


def shipment_from_row(row: Any, events: Sequence[TrackingEvent] = ()) -> Shipment:
    return Shipment(
        id=row.id,
        business_id=row.business_id,
        order_id=row.order_id,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        mode=ShipmentMode(row.mode),
        transport_document_number=row.transport_document_number,
        port_of_loading=row.port_of_loading,
        port_of_discharge=row.port_of_discharge,
        shipped_at=row.shipped_at,
        status=TrackingStatus(row.status),
        status_at=row.status_at,
        events=tuple(events),
    )


def proceeds_from_row(row: Any) -> ExportProceeds:
    deductions = tuple(
        Deduction(kind, getattr(row, points_column), getattr(row, amount_column))
        for kind, (amount_column, points_column) in DEDUCTION_COLUMNS.items()
        if getattr(row, amount_column) is not None
    )
    return ExportProceeds(
        order_id=row.order_id,
        business_id=row.business_id,
        financial_instrument_reference=row.financial_instrument_reference,
        instrument=Instrument(row.instrument),
        realisation_case=RealisationCase(row.realisation_case),
        status=ProceedsStatus(row.status),
        currency=row.currency,
        invoiced_minor=row.invoiced_minor,
        created_at=row.created_at,
        shipment_mode=ShipmentMode(row.shipment_mode) if row.shipment_mode else None,
        shipped_at=row.shipped_at,
        deadline_at=row.deadline_at,
        realised_at=row.realised_at,
        realised_minor=row.realised_minor,
        converted_minor=row.converted_minor,
        conversion_rate=row.conversion_rate,
        deductions=deductions,
    )


def insert_event(
    connection: sa.Connection,
    order_id: uuid.UUID,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    actor: str,
    at: int,
    note: str = "",
) -> None:
    connection.execute(
        order_events_table.insert().values(
            order_id=order_id,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            actor=actor[:64],
            at=at,
            note=note[:400],
        )
    )
