"""Supply: suppliers, purchase orders, receipts, bills, stock locations and the stock-move ledger.

Revision ID: 0008_supply
Revises: 0007_wallet_screening
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_supply"
down_revision = "0007_wallet_screening"
branch_labels = None
depends_on = None

TABLES = (
    "supply_bill_lines",
    "supply_bill_payments",
    "supply_bills",
    "supply_items",
    "supply_landed_costs",
    "supply_locations",
    "supply_purchase_order_lines",
    "supply_purchase_orders",
    "supply_receipt_lines",
    "supply_receipts",
    "supply_requests",
    "supply_reservations",
    "supply_sequences",
    "supply_stock_locks",
    "supply_stock_moves",
    "supply_suppliers",
    "supply_transfers",
)


def upgrade() -> None:
    op.create_table(
        "supply_bill_lines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("bill_id", sa.Uuid, nullable=False),
        sa.Column("line_number", sa.Integer, nullable=False),
        sa.Column("purchase_order_line_id", sa.Uuid, nullable=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_supply_bill_lines_bill_id", "supply_bill_lines", ["bill_id"])
    op.create_table(
        "supply_bill_payments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("bill_id", sa.Uuid, nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("payee_name", sa.String(140), nullable=False),
        sa.Column("raast_id", sa.String(16), nullable=True),
        sa.Column("iban", sa.String(24), nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("end_to_end_id", sa.String(35), nullable=True),
        sa.Column("uetr", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "request_id", "bill_id"),
    )
    op.create_index("ix_supply_bill_payments_bill_id", "supply_bill_payments", ["bill_id"])
    op.create_table(
        "supply_bills",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("purchase_order_id", sa.Uuid, nullable=False),
        sa.Column("supplier_id", sa.Uuid, nullable=False),
        sa.Column("supplier_invoice_number", sa.String(35), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("match_status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("paid_at", sa.BigInteger, nullable=True),
        sa.Column("payment_status", sa.String(16), nullable=True),
        sa.Column("payment_reason", sa.String(64), nullable=True),
        sa.Column("payment_end_to_end_id", sa.String(35), nullable=True),
        sa.Column("payment_uetr", sa.Uuid, nullable=True),
        sa.UniqueConstraint("business_id", "supplier_id", "supplier_invoice_number"),
        sa.UniqueConstraint("business_id", "number"),
    )
    op.create_index("ix_supply_bills_purchase_order_id", "supply_bills", ["purchase_order_id"])
    op.create_table(
        "supply_items",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(140), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("reorder_point", sa.BigInteger, nullable=False),
        sa.Column("reorder_quantity", sa.BigInteger, nullable=False),
        sa.Column("preferred_supplier_id", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "sku"),
    )
    op.create_table(
        "supply_landed_costs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("receipt_id", sa.Uuid, nullable=True),
        sa.Column("transfer_id", sa.Uuid, nullable=True),
        sa.Column("description", sa.String(140), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index("ix_supply_landed_costs_receipt_id", "supply_landed_costs", ["receipt_id"])
    op.create_index("ix_supply_landed_costs_transfer_id", "supply_landed_costs", ["transfer_id"])
    op.create_table(
        "supply_locations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(140), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("allow_negative", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "code"),
    )
    op.create_table(
        "supply_purchase_order_lines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("purchase_order_id", sa.Uuid, nullable=False),
        sa.Column("line_number", sa.Integer, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity_ordered", sa.BigInteger, nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("purchase_order_id", "sku"),
    )
    op.create_table(
        "supply_purchase_orders",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("supplier_id", sa.Uuid, nullable=False),
        sa.Column("location_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quantity_tolerance_basis_points", sa.Integer, nullable=False),
        sa.Column("price_tolerance_basis_points", sa.Integer, nullable=False),
        sa.Column("closed_short", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "number"),
    )
    op.create_index(
        "ix_supply_purchase_orders_status", "supply_purchase_orders", ["business_id", "status"]
    )
    op.create_table(
        "supply_receipt_lines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("receipt_id", sa.Uuid, nullable=False),
        sa.Column("purchase_order_line_id", sa.Uuid, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("value_minor", sa.BigInteger, nullable=False),
        sa.Column("landed_cost_minor", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_supply_receipt_lines_purchase_order_line_id",
        "supply_receipt_lines",
        ["purchase_order_line_id"],
    )
    op.create_index("ix_supply_receipt_lines_receipt_id", "supply_receipt_lines", ["receipt_id"])
    op.create_table(
        "supply_receipts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("purchase_order_id", sa.Uuid, nullable=False),
        sa.Column("location_id", sa.Uuid, nullable=False),
        sa.Column("delivery_note", sa.String(140), nullable=True),
        sa.Column("valuation_rate", sa.String(24), nullable=True),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "number"),
    )
    op.create_index(
        "ix_supply_receipts_purchase_order_id", "supply_receipts", ["purchase_order_id"]
    )
    op.create_table(
        "supply_requests",
        sa.Column("business_id", sa.Uuid, primary_key=True),
        sa.Column("request_id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "supply_reservations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "reference"),
    )
    op.create_index(
        "ix_supply_reservations_stock",
        "supply_reservations",
        ["business_id", "sku", "location_id", "status"],
    )
    op.create_table(
        "supply_sequences",
        sa.Column("business_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "supply_stock_locks",
        sa.Column("business_id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("location_id", sa.Uuid, primary_key=True),
    )
    op.create_table(
        "supply_stock_moves",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.Uuid, nullable=False, unique=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("from_location_id", sa.Uuid, nullable=False),
        sa.Column("to_location_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger, nullable=False),
        sa.Column("value_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_supply_stock_moves_from",
        "supply_stock_moves",
        ["business_id", "sku", "from_location_id"],
    )
    op.create_index(
        "ix_supply_stock_moves_reference", "supply_stock_moves", ["business_id", "reference"]
    )
    op.create_index(
        "ix_supply_stock_moves_to", "supply_stock_moves", ["business_id", "sku", "to_location_id"]
    )
    op.create_table(
        "supply_suppliers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(140), nullable=False),
        sa.Column("contact_name", sa.String(140), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("ntn", sa.String(9), nullable=True),
        sa.Column("raast_id", sa.String(16), nullable=True),
        sa.Column("iban", sa.String(24), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("lead_time_days", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("business_id", "name"),
    )
    op.create_table(
        "supply_transfers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("business_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("from_location_id", sa.Uuid, nullable=False),
        sa.Column("to_location_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("quantity_received", sa.BigInteger, nullable=False),
        sa.Column("value_minor", sa.BigInteger, nullable=False),
        sa.Column("landed_cost_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispatched_at", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("business_id", "number"),
    )
    op.create_index("ix_supply_transfers_status", "supply_transfers", ["business_id", "status"])
    _append_only("supply_stock_moves")


def _append_only(table: str) -> None:
    """The move ledger is append-only: the database itself refuses UPDATE and DELETE."""
    message = f"{table} is append-only: correct a move with another move"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS supply_stock_moves_append_only()")
