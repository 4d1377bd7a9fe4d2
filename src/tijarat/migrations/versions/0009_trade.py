"""Trade: catalog, marketplace orders and pushes, escrow, shipments, export proceeds.

Revision ID: 0009_trade
Revises: 0008_supply
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_trade"
down_revision = "0008_supply"
branch_labels = None
depends_on = None

# SQLite autoincrements only an INTEGER primary key.
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _packing_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("unit_net_weight_grams", sa.BigInteger, nullable=False),
        sa.Column("unit_gross_weight_grams", sa.BigInteger, nullable=False),
        sa.Column("units_per_package", sa.Integer, nullable=False),
        sa.Column("package_length_mm", sa.Integer, nullable=False),
        sa.Column("package_width_mm", sa.Integer, nullable=False),
        sa.Column("package_height_mm", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "trade_products",
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
    op.create_table(
        "trade_price_tiers",
        sa.Column("business_id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("minimum_quantity", sa.Integer, primary_key=True),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "trade_exporters",
        sa.Column("business_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(140), nullable=False),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("ntn", sa.String(9), nullable=False),
        sa.Column("email", sa.String(140), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "trade_connectors",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("app_key", sa.String(64), nullable=False),
        sa.Column("app_secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("pulled_until", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", "app_key", name="ux_trade_connectors_name_app_key"),
    )
    op.create_index("ix_trade_connectors_business_id", "trade_connectors", ["business_id"])
    op.create_table(
        "trade_inbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("connector_id", sa.Uuid, nullable=False),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("processed_at", sa.BigInteger, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error", sa.String(400), nullable=True),
        sa.Column("order_id", sa.Uuid, nullable=True),
        sa.UniqueConstraint("connector_id", "message_id", name="ux_trade_inbox_message"),
    )
    # process_inbox() looks for unprocessed rows, oldest first.
    op.create_index("ix_trade_inbox_unprocessed", "trade_inbox", ["processed_at", "seq"])
    op.create_index("ix_trade_inbox_business", "trade_inbox", ["business_id", "seq"])
    op.create_table(
        "trade_orders",
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
        sa.Column("stock_reserved_at", sa.BigInteger, nullable=True),
        sa.Column("stock_released_at", sa.BigInteger, nullable=True),
        sa.Column("stock_fulfilled_at", sa.BigInteger, nullable=True),
        sa.Column("escrow_held_at", sa.BigInteger, nullable=True),
        sa.Column("escrow_settled_at", sa.BigInteger, nullable=True),
        sa.Column("effects_due", sa.Boolean, nullable=False),
        sa.Column("effect_error", sa.String(400), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint(
            "business_id",
            "connector_id",
            "marketplace_order_id",
            name="ux_trade_orders_marketplace",
        ),
    )
    op.create_index("ix_trade_orders_business_status", "trade_orders", ["business_id", "status"])
    op.create_index("ix_trade_orders_status_updated", "trade_orders", ["status", "updated_at"])
    op.create_table(
        "trade_order_lines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("line_number", sa.Integer, nullable=False),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("description", sa.String(250), nullable=False),
        sa.Column("hs_code", sa.String(8), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
        *_packing_columns(),
    )
    op.create_index("ix_trade_order_lines_order_id", "trade_order_lines", ["order_id"])
    op.create_table(
        "trade_order_events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("note", sa.String(400), nullable=False),
    )
    op.create_index("ix_trade_order_events_order_id", "trade_order_events", ["order_id"])
    op.create_table(
        "trade_shipments",
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
    op.create_table(
        "trade_tracking_events",
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
    op.create_table(
        "trade_export_proceeds",
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
    )
    op.create_index(
        "ix_trade_export_proceeds_status_deadline",
        "trade_export_proceeds",
        ["business_id", "status", "deadline_at"],
    )


def downgrade() -> None:
    for table in (
        "trade_export_proceeds",
        "trade_tracking_events",
        "trade_shipments",
        "trade_order_events",
        "trade_order_lines",
        "trade_orders",
        "trade_inbox",
        "trade_connectors",
        "trade_exporters",
        "trade_price_tiers",
        "trade_products",
    ):
        op.drop_table(table)
