"""What every supply use case shares: the business's locations, lookups, idempotent requests
and writing a move to the stock ledger with its value."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from tijarat.kernel.clock import Clock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import new_id
from tijarat.supply import store
from tijarat.supply.errors import SupplyError
from tijarat.supply.model import (
    PAGE_SIZE_MAX,
    REASON_LENGTH_MAX,
    VALUATION_CURRENCY,
    VIRTUAL_LOCATIONS,
    Item,
    Location,
    LocationKind,
    StockPosition,
    Supplier,
    average_unit_cost,
    outgoing_value,
    validate_location_code,
    validate_sku,
)

T = TypeVar("T")
# Number formats of the documents a business sees: PO-000042, BILL-000007 ...
NUMBER_DIGITS = 6


class SupplyBase:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._ready: set[uuid.UUID] = set()
        self._ready_lock = threading.Lock()

    # ------------------------------------------------------------------ the business
    def _ensure_business(self, business_id: uuid.UUID) -> None:
        """Create the business's virtual locations the first time it is seen (idempotent)."""
        if not isinstance(business_id, uuid.UUID):
            raise DomainError(
                SupplyError.BUSINESS_REQUIRED, "business_id must be a UUID", status=422
            )
        with self._ready_lock:
            if business_id in self._ready:
                return
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            store.insert_ignoring_conflict(
                connection,
                store.locations_table,
                [
                    {
                        "id": new_id(),
                        "business_id": business_id,
                        "code": virtual.code,
                        "name": virtual.name,
                        "kind": virtual.kind.value,
                        "allow_negative": virtual.allow_negative,
                        "created_at": now,
                    }
                    for virtual in VIRTUAL_LOCATIONS
                ],
                ["business_id", "code"],
            )
        with self._ready_lock:
            self._ready.add(business_id)

    # ------------------------------------------------------------------ lookups
    def _locations(self, connection: sa.Connection, business_id: uuid.UUID) -> list[Location]:
        table = store.locations_table
        rows = connection.execute(
            sa.select(table)
            .where(table.c.business_id == business_id)
            .order_by(table.c.created_at, table.c.code)
        ).all()
        return [store.location_from_row(row) for row in rows]

    def _codes(self, connection: sa.Connection, business_id: uuid.UUID) -> dict[uuid.UUID, str]:
        return {location.id: location.code for location in self._locations(connection, business_id)}

    def _location(self, connection: sa.Connection, business_id: uuid.UUID, code: str) -> Location:
        code = validate_location_code(code)
        table = store.locations_table
        row = connection.execute(
            sa.select(table).where(table.c.business_id == business_id, table.c.code == code)
        ).first()
        if row is None:
            raise DomainError(
                SupplyError.LOCATION_NOT_FOUND,
                f"no location {code}",
                status=404,
                fields={"location": code},
            )
        return store.location_from_row(row)

    def _internal_location(
        self, connection: sa.Connection, business_id: uuid.UUID, code: str
    ) -> Location:
        location = self._location(connection, business_id, code)
        if not location.internal:
            raise DomainError(
                SupplyError.LOCATION_NOT_INTERNAL,
                f"{location.code} is a virtual location ({location.kind}); name one of the "
                "business's own locations",
                status=422,
                fields={"location": location.code},
            )
        return location

    def _virtual(
        self, connection: sa.Connection, business_id: uuid.UUID, kind: LocationKind
    ) -> Location:
        table = store.locations_table
        row = connection.execute(
            sa.select(table).where(table.c.business_id == business_id, table.c.kind == kind.value)
        ).first()
        assert row is not None, "virtual locations are made by _ensure_business"
        return store.location_from_row(row)

    def _item(self, connection: sa.Connection, business_id: uuid.UUID, sku: str) -> Item:
        sku = validate_sku(sku)
        table = store.items_table
        row = connection.execute(
            sa.select(table).where(table.c.business_id == business_id, table.c.sku == sku)
        ).first()
        if row is None:
            raise DomainError(
                SupplyError.ITEM_NOT_FOUND, f"no item {sku}", status=404, fields={"sku": sku}
            )
        return store.item_from_row(row)

    def _supplier(
        self, connection: sa.Connection, business_id: uuid.UUID, supplier_id: uuid.UUID
    ) -> Supplier:
        table = store.suppliers_table
        row = connection.execute(
            sa.select(table).where(table.c.business_id == business_id, table.c.id == supplier_id)
        ).first()
        if row is None:
            raise DomainError(
                SupplyError.SUPPLIER_NOT_FOUND,
                f"no supplier {supplier_id}",
                status=404,
                fields={"supplier_id": str(supplier_id)},
            )
        return store.supplier_from_row(row)

    @staticmethod
    def _number(connection: sa.Connection, business_id: uuid.UUID, prefix: str) -> str:
        return f"{prefix}-{store.next_number(connection, business_id, prefix):0{NUMBER_DIGITS}d}"

    # ------------------------------------------------------------------ idempotency
    def _idempotent(
        self,
        business_id: uuid.UUID,
        request_id: uuid.UUID,
        kind: str,
        work: Callable[[sa.Connection], str],
        answer: Callable[[sa.Connection, str], T],
    ) -> T:
        """Run `work` once per (business, request id); a repeat gets the first answer.

        The request row is written first, so a concurrent duplicate waits on it and then
        fails its insert, and reads the answer the first one committed.
        """
        if not isinstance(request_id, uuid.UUID):
            raise DomainError(SupplyError.REQUEST_INVALID, "request_id must be a UUID", status=422)
        table = store.requests_table
        try:
            with self.engine.begin() as connection:
                done = self._claimed(connection, business_id, request_id, kind)
                if done is None:
                    connection.execute(
                        table.insert().values(
                            business_id=business_id,
                            request_id=request_id,
                            kind=kind,
                            result="",
                            created_at=self.clock.now_ns(),
                        )
                    )
                    done = work(connection)
                    connection.execute(
                        table.update()
                        .where(table.c.business_id == business_id, table.c.request_id == request_id)
                        .values(result=done)
                    )
                return answer(connection, done)
        except sa.exc.IntegrityError:
            with self.engine.connect() as connection:
                done = self._claimed(connection, business_id, request_id, kind)
                if done is None:
                    raise
                return answer(connection, done)

    @staticmethod
    def _claimed(
        connection: sa.Connection, business_id: uuid.UUID, request_id: uuid.UUID, kind: str
    ) -> str | None:
        table = store.requests_table
        row = connection.execute(
            sa.select(table.c.kind, table.c.result).where(
                table.c.business_id == business_id, table.c.request_id == request_id
            )
        ).first()
        if row is None:
            return None
        if row.kind != kind:
            raise DomainError(
                SupplyError.REQUEST_REUSED,
                f"request {request_id} was already used for a {row.kind}",
                status=409,
                fields={"request_id": str(request_id), "kind": row.kind},
            )
        result: str = row.result
        return result

    # ------------------------------------------------------------------ the move ledger
    def _position(
        self, connection: sa.Connection, business_id: uuid.UUID, sku: str, location: Location
    ) -> StockPosition:
        return store.position(connection, business_id, sku, location.id)

    def _value_leaving(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        sku: str,
        location: Location,
        quantity: int,
    ) -> int:
        """The value `quantity` units take out of a valued location (moving average)."""
        held = self._position(connection, business_id, sku, location)
        fallback = 0
        if quantity > held.quantity:
            fallback = self._last_unit_cost(connection, business_id, sku, location)
        return outgoing_value(quantity, held.quantity, held.value_minor, fallback)

    @staticmethod
    def _last_unit_cost(
        connection: sa.Connection, business_id: uuid.UUID, sku: str, location: Location
    ) -> int:
        """The unit cost stock last came in at, for going below zero where that is allowed."""
        moves = store.stock_moves_table
        cost = connection.execute(
            sa.select(moves.c.unit_cost_minor)
            .where(
                moves.c.business_id == business_id,
                moves.c.sku == sku,
                moves.c.to_location_id == location.id,
                moves.c.quantity > 0,
            )
            .order_by(moves.c.seq.desc())
            .limit(1)
        ).scalar()
        return int(cost or 0)

    def _move(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        sku: str,
        source: Location,
        destination: Location,
        quantity: int,
        value_minor: int,
        *,
        reference: str,
        reason: str,
    ) -> uuid.UUID:
        move_id = new_id()
        store.insert_move(
            connection,
            move_id=move_id,
            business_id=business_id,
            sku=sku,
            from_location_id=source.id,
            to_location_id=destination.id,
            quantity=quantity,
            unit_cost_minor=average_unit_cost(quantity, value_minor),
            value_minor=value_minor,
            currency=VALUATION_CURRENCY,
            reference=reference,
            reason=reason[:REASON_LENGTH_MAX],
            at=self.clock.now_ns(),
        )
        return move_id

    def _refuse_negative(
        self,
        location: Location,
        sku: str,
        quantity_available: int,
        quantity_requested: int,
        *,
        what: str = "",
    ) -> None:
        """Negative stock is refused unless the location allows it."""
        if location.allow_negative or quantity_available >= quantity_requested:
            return
        raise insufficient_stock(sku, location.code, quantity_available, quantity_requested, what)


def insufficient_stock(
    sku: str, location_code: str, quantity_available: int, quantity_requested: int, what: str = ""
) -> DomainError:
    return DomainError(
        SupplyError.INSUFFICIENT_STOCK,
        f"insufficient stock of {sku} at {location_code}: {max(quantity_available, 0)} "
        f"available, {quantity_requested} needed{what}",
        status=409,
        fields={
            "sku": sku,
            "location": location_code,
            "quantity_available": quantity_available,
            "quantity_requested": quantity_requested,
        },
    )


def validate_skus(skus: list[str]) -> list[str]:
    cleaned = [validate_sku(sku) for sku in skus]
    if len(set(cleaned)) != len(cleaned):
        raise DomainError(
            SupplyError.LINES_INVALID,
            "each SKU at most once: add the quantities up into one line",
            status=422,
        )
    return cleaned


def page_limit(limit: int) -> int:
    if type(limit) is not int or not 1 <= limit <= PAGE_SIZE_MAX:
        raise DomainError(
            SupplyError.PAGE_INVALID, f"limit must be 1 to {PAGE_SIZE_MAX}", status=422
        )
    return limit
