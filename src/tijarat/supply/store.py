"""Persistence for supply (SQLAlchemy Core): tables, row mappers and the stock queries.

Quantities and values are never stored as balances: they are sums over the stock-move
ledger (and reserved quantities sums over active reservations), so they cannot drift from
it. What serialises changes to one item at one location is a lock row per (business, SKU,
location), taken with SELECT ... FOR UPDATE in the transaction that checks and writes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tijarat.supply.model import (
    Bill,
    BillLine,
    BillStatus,
    Item,
    LandedCost,
    Location,
    LocationKind,
    MatchStatus,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    ReservationStatus,
    StockMove,
    StockPosition,
    Supplier,
    Transfer,
    TransferStatus,
)

metadata = sa.MetaData()

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")

suppliers_table = sa.Table(
    "supply_suppliers",
    metadata,
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

items_table = sa.Table(
    "supply_items",
    metadata,
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

locations_table = sa.Table(
    "supply_locations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("allow_negative", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("business_id", "code"),
)

stock_locks_table = sa.Table(
    "supply_stock_locks",
    metadata,
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.Uuid, primary_key=True),
)

stock_moves_table = sa.Table(
    "supply_stock_moves",
    metadata,
    # The sequence orders the ledger: two moves may share a clock reading.
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
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
    sa.Index("ix_supply_stock_moves_to", "business_id", "sku", "to_location_id"),
    sa.Index("ix_supply_stock_moves_from", "business_id", "sku", "from_location_id"),
    sa.Index("ix_supply_stock_moves_reference", "business_id", "reference"),
)

reservations_table = sa.Table(
    "supply_reservations",
    metadata,
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
    sa.Index("ix_supply_reservations_stock", "business_id", "sku", "location_id", "status"),
)

purchase_orders_table = sa.Table(
    "supply_purchase_orders",
    metadata,
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
    sa.Index("ix_supply_purchase_orders_status", "business_id", "status"),
)

purchase_order_lines_table = sa.Table(
    "supply_purchase_order_lines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("purchase_order_id", sa.Uuid, nullable=False),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity_ordered", sa.BigInteger, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("purchase_order_id", "sku"),
)

receipts_table = sa.Table(
    "supply_receipts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("purchase_order_id", sa.Uuid, nullable=False, index=True),
    sa.Column("location_id", sa.Uuid, nullable=False),
    sa.Column("delivery_note", sa.String(140), nullable=True),
    sa.Column("valuation_rate", sa.String(24), nullable=True),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("business_id", "number"),
)

receipt_lines_table = sa.Table(
    "supply_receipt_lines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("receipt_id", sa.Uuid, nullable=False, index=True),
    sa.Column("purchase_order_line_id", sa.Uuid, nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("value_minor", sa.BigInteger, nullable=False),
    sa.Column("landed_cost_minor", sa.BigInteger, nullable=False),
)

landed_costs_table = sa.Table(
    "supply_landed_costs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("receipt_id", sa.Uuid, nullable=True, index=True),
    sa.Column("transfer_id", sa.Uuid, nullable=True, index=True),
    sa.Column("description", sa.String(140), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)

bills_table = sa.Table(
    "supply_bills",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("purchase_order_id", sa.Uuid, nullable=False, index=True),
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
    sa.UniqueConstraint("business_id", "number"),
    # The same supplier invoice twice is the classic double payment: refused by the schema.
    sa.UniqueConstraint("business_id", "supplier_id", "supplier_invoice_number"),
)

bill_lines_table = sa.Table(
    "supply_bill_lines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("bill_id", sa.Uuid, nullable=False, index=True),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("purchase_order_line_id", sa.Uuid, nullable=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
)

bill_payments_table = sa.Table(
    "supply_bill_payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("business_id", sa.Uuid, nullable=False),
    sa.Column("request_id", sa.Uuid, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # order within the request
    sa.Column("bill_id", sa.Uuid, nullable=False, index=True),
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

transfers_table = sa.Table(
    "supply_transfers",
    metadata,
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
    sa.Index("ix_supply_transfers_status", "business_id", "status"),
)

requests_table = sa.Table(
    "supply_requests",
    metadata,
    # Client-chosen request ids make receipts, transfers and adjustments idempotent.
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("request_id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("result", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

sequences_table = sa.Table(
    "supply_sequences",
    metadata,
    sa.Column("business_id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


# ---------------------------------------------------------------------------- helpers


def _insert(connection: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (both dialects spell it the same)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_conflict(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: list[str]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: atomic on SQLite and PostgreSQL alike."""
    if rows:
        connection.execute(
            _insert(connection, table)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=keys)
        )


def next_number(connection: sa.Connection, business_id: uuid.UUID, name: str) -> int:
    """The business's next number in a named sequence (PO, BILL, GRN...): 1, 2, 3..."""
    statement = (
        _insert(connection, sequences_table)
        .values(business_id=business_id, name=name, value=1)
        .on_conflict_do_update(
            index_elements=["business_id", "name"],
            set_={"value": sequences_table.c.value + 1},
        )
        .returning(sequences_table.c.value)
    )
    value: int = connection.execute(statement).scalar_one()
    return value


def lock_stock(
    connection: sa.Connection, business_id: uuid.UUID, keys: Iterable[tuple[str, uuid.UUID]]
) -> None:
    """Serialise changes to each (SKU, location) until the transaction ends.

    Locks are taken in one sorted order, so two transactions that need the same pair of
    locations cannot deadlock. SQLite needs none of this (BEGIN IMMEDIATE serialises every
    writer), and FOR UPDATE renders as nothing there.
    """
    ordered = sorted(set(keys), key=lambda key: (key[0], str(key[1])))
    if not ordered:
        return
    insert_ignoring_conflict(
        connection,
        stock_locks_table,
        [{"business_id": business_id, "sku": sku, "location_id": loc} for sku, loc in ordered],
        ["business_id", "sku", "location_id"],
    )
    table = stock_locks_table
    for sku, location_id in ordered:
        connection.execute(
            sa.select(table.c.sku)
            .where(
                table.c.business_id == business_id,
                table.c.sku == sku,
                table.c.location_id == location_id,
            )
            .with_for_update()
        ).one()


def position(
    connection: sa.Connection,
    business_id: uuid.UUID,
    sku: str,
    location_id: uuid.UUID,
    *,
    at_ns: int | None = None,
) -> StockPosition:
    """Quantity and value of one item at one location: moved in minus moved out."""
    moves = stock_moves_table
    totals = StockPosition()
    for column, sign in ((moves.c.to_location_id, 1), (moves.c.from_location_id, -1)):
        query = sa.select(
            sa.func.coalesce(sa.func.sum(moves.c.quantity), 0),
            sa.func.coalesce(sa.func.sum(moves.c.value_minor), 0),
        ).where(moves.c.business_id == business_id, moves.c.sku == sku, column == location_id)
        if at_ns is not None:
            query = query.where(moves.c.at <= at_ns)
        quantity, value = connection.execute(query).one()
        # PostgreSQL sums BIGINT as NUMERIC: back to int.
        totals.quantity += sign * int(quantity)
        totals.value_minor += sign * int(value)
    return totals


def positions(
    connection: sa.Connection,
    business_id: uuid.UUID,
    *,
    sku: str | None = None,
    at_ns: int | None = None,
) -> dict[tuple[str, uuid.UUID], StockPosition]:
    """Every (SKU, location) the ledger has touched, with its quantity and value."""
    moves = stock_moves_table
    found: dict[tuple[str, uuid.UUID], StockPosition] = defaultdict(StockPosition)
    for column, sign in ((moves.c.to_location_id, 1), (moves.c.from_location_id, -1)):
        query = (
            sa.select(
                moves.c.sku,
                column,
                sa.func.sum(moves.c.quantity),
                sa.func.sum(moves.c.value_minor),
            )
            .where(moves.c.business_id == business_id)
            .group_by(moves.c.sku, column)
        )
        if sku is not None:
            query = query.where(moves.c.sku == sku)
        if at_ns is not None:
            query = query.where(moves.c.at <= at_ns)
        for row_sku, location_id, quantity, value in connection.execute(query):
            entry = found[(row_sku, location_id)]
            entry.quantity += sign * int(quantity)
            entry.value_minor += sign * int(value)
    return dict(found)


def reserved_quantity(
    connection: sa.Connection, business_id: uuid.UUID, sku: str, location_id: uuid.UUID
) -> int:
    table = reservations_table
    total = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(table.c.quantity), 0)).where(
            table.c.business_id == business_id,
            table.c.sku == sku,
            table.c.location_id == location_id,
            table.c.status == ReservationStatus.ACTIVE.value,
        )
    ).scalar_one()
    return int(total)


def reserved_quantities(
    connection: sa.Connection, business_id: uuid.UUID, *, sku: str | None = None
) -> dict[tuple[str, uuid.UUID], int]:
    table = reservations_table
    query = (
        sa.select(table.c.sku, table.c.location_id, sa.func.sum(table.c.quantity))
        .where(
            table.c.business_id == business_id,
            table.c.status == ReservationStatus.ACTIVE.value,
        )
        .group_by(table.c.sku, table.c.location_id)
    )
    if sku is not None:
        query = query.where(table.c.sku == sku)
    return {(row_sku, loc): int(total) for row_sku, loc, total in connection.execute(query)}


def received_quantities(
    connection: sa.Connection, line_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    table = receipt_lines_table
    if not line_ids:
        return {}
    rows = connection.execute(
        sa.select(table.c.purchase_order_line_id, sa.func.sum(table.c.quantity))
        .where(table.c.purchase_order_line_id.in_(line_ids))
        .group_by(table.c.purchase_order_line_id)
    )
    return {line_id: int(total) for line_id, total in rows}


def billed_quantities(
    connection: sa.Connection,
    line_ids: Sequence[uuid.UUID],
    statuses: Sequence[BillStatus],
    *,
    exclude_bill_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, int]:
    """Per order line, the quantity on bills in `statuses` (but not on `exclude_bill_id`)."""
    lines = bill_lines_table
    bills = bills_table
    if not line_ids:
        return {}
    query = (
        sa.select(lines.c.purchase_order_line_id, sa.func.sum(lines.c.quantity))
        .join(bills, bills.c.id == lines.c.bill_id)
        .where(
            lines.c.purchase_order_line_id.in_(line_ids),
            bills.c.status.in_([status.value for status in statuses]),
        )
        .group_by(lines.c.purchase_order_line_id)
    )
    if exclude_bill_id is not None:
        query = query.where(bills.c.id != exclude_bill_id)
    rows = connection.execute(query)
    return {line_id: int(total) for line_id, total in rows}


def incoming_quantities(
    connection: sa.Connection, business_id: uuid.UUID
) -> dict[tuple[str, uuid.UUID], int]:
    """Expected at each location: open purchase order lines not yet received, and transfers
    on the road to it."""
    orders = purchase_orders_table
    lines = purchase_order_lines_table
    received = (
        sa.select(
            receipt_lines_table.c.purchase_order_line_id.label("line_id"),
            sa.func.sum(receipt_lines_table.c.quantity).label("quantity"),
        )
        .where(receipt_lines_table.c.business_id == business_id)
        .group_by(receipt_lines_table.c.purchase_order_line_id)
        .subquery()
    )
    rows = connection.execute(
        sa.select(
            lines.c.sku,
            orders.c.location_id,
            lines.c.quantity_ordered,
            sa.func.coalesce(received.c.quantity, 0),
        )
        .join(orders, orders.c.id == lines.c.purchase_order_id)
        .outerjoin(received, received.c.line_id == lines.c.id)
        .where(
            orders.c.business_id == business_id,
            orders.c.closed_short.is_(False),
            orders.c.status.in_(
                [PurchaseOrderStatus.SENT.value, PurchaseOrderStatus.PARTIALLY_RECEIVED.value]
            ),
        )
    )
    found: dict[tuple[str, uuid.UUID], int] = defaultdict(int)
    for sku, location_id, ordered, got in rows:
        found[(sku, location_id)] += max(int(ordered) - int(got), 0)
    transfers = transfers_table
    for sku, location_id, quantity in connection.execute(
        sa.select(transfers.c.sku, transfers.c.to_location_id, transfers.c.quantity).where(
            transfers.c.business_id == business_id,
            transfers.c.status == TransferStatus.IN_TRANSIT.value,
        )
    ):
        found[(sku, location_id)] += int(quantity)
    return dict(found)


def insert_move(
    connection: sa.Connection,
    *,
    move_id: uuid.UUID,
    business_id: uuid.UUID,
    sku: str,
    from_location_id: uuid.UUID,
    to_location_id: uuid.UUID,
    quantity: int,
    unit_cost_minor: int,
    value_minor: int,
    currency: str,
    reference: str,
    reason: str,
    at: int,
) -> None:
    assert from_location_id != to_location_id
    assert quantity >= 0
    assert quantity > 0 or value_minor != 0, "a move carries goods or value"
    connection.execute(
        stock_moves_table.insert().values(
            id=move_id,
            business_id=business_id,
            sku=sku,
            from_location_id=from_location_id,
            to_location_id=to_location_id,
            quantity=quantity,
            unit_cost_minor=unit_cost_minor,
            value_minor=value_minor,
            currency=currency,
            reference=reference,
            reason=reason[:200],
            at=at,
        )
    )


# ---------------------------------------------------------------------------- row mappers


def supplier_from_row(row: Any) -> Supplier:
    return Supplier(
        id=row.id,
        business_id=row.business_id,
        name=row.name,
        contact_name=row.contact_name,
        phone=row.phone,
        email=row.email,
        ntn=row.ntn,
        raast_id=row.raast_id,
        iban=row.iban,
        currency=row.currency,
        payment_terms_days=row.payment_terms_days,
        lead_time_days=row.lead_time_days,
        created_at=row.created_at,
    )


def item_from_row(row: Any) -> Item:
    return Item(
        id=row.id,
        business_id=row.business_id,
        sku=row.sku,
        name=row.name,
        unit=row.unit,
        reorder_point=row.reorder_point,
        reorder_quantity=row.reorder_quantity,
        preferred_supplier_id=row.preferred_supplier_id,
        created_at=row.created_at,
    )


def location_from_row(row: Any) -> Location:
    return Location(
        id=row.id,
        business_id=row.business_id,
        code=row.code,
        name=row.name,
        kind=LocationKind(row.kind),
        allow_negative=bool(row.allow_negative),
        created_at=row.created_at,
    )


def move_from_row(row: Any, codes: Mapping[uuid.UUID, str]) -> StockMove:
    return StockMove(
        seq=row.seq,
        id=row.id,
        business_id=row.business_id,
        sku=row.sku,
        from_location=codes[row.from_location_id],
        to_location=codes[row.to_location_id],
        quantity=row.quantity,
        unit_cost_minor=row.unit_cost_minor,
        value_minor=row.value_minor,
        currency=row.currency,
        reference=row.reference,
        reason=row.reason,
        at=row.at,
    )


def reservation_from_row(row: Any, codes: Mapping[uuid.UUID, str]) -> Reservation:
    return Reservation(
        id=row.id,
        business_id=row.business_id,
        reference=row.reference,
        sku=row.sku,
        location=codes[row.location_id],
        quantity=row.quantity,
        status=ReservationStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def purchase_order_from_rows(
    row: Any,
    line_rows: Sequence[Any],
    codes: Mapping[uuid.UUID, str],
    received: Mapping[uuid.UUID, int],
    billed: Mapping[uuid.UUID, int],
) -> PurchaseOrder:
    return PurchaseOrder(
        id=row.id,
        business_id=row.business_id,
        number=row.number,
        supplier_id=row.supplier_id,
        location=codes[row.location_id],
        status=PurchaseOrderStatus(row.status),
        currency=row.currency,
        quantity_tolerance_basis_points=row.quantity_tolerance_basis_points,
        price_tolerance_basis_points=row.price_tolerance_basis_points,
        closed_short=bool(row.closed_short),
        created_at=row.created_at,
        sent_at=row.sent_at,
        lines=tuple(
            PurchaseOrderLine(
                id=line.id,
                line_number=line.line_number,
                sku=line.sku,
                quantity_ordered=line.quantity_ordered,
                unit_price_minor=line.unit_price_minor,
                quantity_received=received.get(line.id, 0),
                quantity_billed=billed.get(line.id, 0),
            )
            for line in sorted(line_rows, key=lambda line: line.line_number)
        ),
    )


def bill_from_rows(row: Any, line_rows: Sequence[Any]) -> Bill:
    return Bill(
        id=row.id,
        business_id=row.business_id,
        number=row.number,
        purchase_order_id=row.purchase_order_id,
        supplier_id=row.supplier_id,
        supplier_invoice_number=row.supplier_invoice_number,
        currency=row.currency,
        total_minor=row.total_minor,
        status=BillStatus(row.status),
        match_status=MatchStatus(row.match_status),
        due_at=row.due_at,
        created_at=row.created_at,
        paid_at=row.paid_at,
        payment_status=PaymentStatus(row.payment_status) if row.payment_status else None,
        payment_reason=row.payment_reason,
        payment_end_to_end_id=row.payment_end_to_end_id,
        payment_uetr=row.payment_uetr,
        lines=tuple(
            BillLine(
                purchase_order_line_id=line.purchase_order_line_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
            )
            for line in sorted(line_rows, key=lambda line: line.line_number)
        ),
    )


def landed_cost_from_row(row: Any) -> LandedCost:
    return LandedCost(description=row.description, amount_minor=row.amount_minor)


def transfer_from_row(row: Any, codes: Mapping[uuid.UUID, str]) -> Transfer:
    return Transfer(
        id=row.id,
        business_id=row.business_id,
        number=row.number,
        sku=row.sku,
        from_location=codes[row.from_location_id],
        to_location=codes[row.to_location_id],
        quantity=row.quantity,
        quantity_received=row.quantity_received,
        value_minor=row.value_minor,
        landed_cost_minor=row.landed_cost_minor,
        status=TransferStatus(row.status),
        dispatched_at=row.dispatched_at,
        received_at=row.received_at,
    )
