"""Inventory use cases: items, locations, reservations, transfers, adjustments, counts, reports.

Every change is one transaction that locks the (SKU, location) pairs it touches, reads
quantities and values from the move ledger, checks, and appends moves: so a check and the
write it allows cannot be separated by another writer (see store.lock_stock).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import new_id
from tijarat.supply import store
from tijarat.supply.common import SupplyBase, page_limit, validate_skus
from tijarat.supply.errors import SupplyError
from tijarat.supply.model import (
    COUNT_LINES_MAX,
    NAME_LENGTH_MAX,
    PAGE_SIZE_DEFAULT,
    REASON_LENGTH_MAX,
    REFERENCE_LENGTH_MAX,
    UNIT_LENGTH_MAX,
    VALUATION_CURRENCY,
    Item,
    LandedCost,
    Location,
    LocationKind,
    LowStockItem,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMove,
    StockPosition,
    Transfer,
    TransferStatus,
    Valuation,
    average_unit_cost,
    outgoing_value,
    required_text,
    validate_landed_costs,
    validate_location_code,
    validate_quantity,
    validate_sku,
    validate_unit_price,
)


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError(
            SupplyError.REASON_REQUIRED,
            "say why: adjustments, counts and losses need a reason",
            status=422,
        )
    return required_text(
        reason, "reason", SupplyError.REASON_REQUIRED, length_max=REASON_LENGTH_MAX
    )


def _reference(reference: object) -> str:
    return required_text(
        reference,
        "reservation reference",
        SupplyError.RESERVATION_INVALID,
        length_max=REFERENCE_LENGTH_MAX,
    )


def landed_reason(costs: Sequence[LandedCost]) -> str:
    return "landed cost: " + "; ".join(cost.description for cost in costs)


class Inventory(SupplyBase):
    # ------------------------------------------------------------------ locations
    def create_location(
        self, business_id: uuid.UUID, code: str, name: str, *, allow_negative: bool = False
    ) -> Location:
        """One of the business's own places that holds stock (a workshop, a warehouse)."""
        code = validate_location_code(code)
        name = required_text(name, "name", SupplyError.LOCATION_INVALID, length_max=NAME_LENGTH_MAX)
        self._ensure_business(business_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    store.locations_table.insert().values(
                        id=new_id(),
                        business_id=business_id,
                        code=code,
                        name=name,
                        kind=LocationKind.INTERNAL.value,
                        allow_negative=bool(allow_negative),
                        created_at=self.clock.now_ns(),
                    )
                )
                return self._location(connection, business_id, code)
        except sa.exc.IntegrityError:
            raise DomainError(
                SupplyError.LOCATION_EXISTS,
                f"the business already has a location {code}",
                status=409,
                fields={"location": code},
            ) from None

    def locations(self, business_id: uuid.UUID) -> list[Location]:
        self._ensure_business(business_id)
        with self.engine.connect() as connection:
            return self._locations(connection, business_id)

    # ------------------------------------------------------------------ items
    def create_item(
        self,
        business_id: uuid.UUID,
        sku: str,
        name: str,
        *,
        unit: str = "piece",
        reorder_point: int = 0,
        reorder_quantity: int = 0,
        preferred_supplier_id: uuid.UUID | None = None,
    ) -> Item:
        sku = validate_sku(sku)
        name = required_text(name, "name", SupplyError.ITEM_INVALID, length_max=NAME_LENGTH_MAX)
        unit = required_text(unit, "unit", SupplyError.ITEM_INVALID, length_max=UNIT_LENGTH_MAX)
        validate_quantity(reorder_point, "reorder_point", allow_zero=True)
        validate_quantity(reorder_quantity, "reorder_quantity", allow_zero=True)
        self._ensure_business(business_id)
        try:
            with self.engine.begin() as connection:
                if preferred_supplier_id is not None:
                    self._supplier(connection, business_id, preferred_supplier_id)
                connection.execute(
                    store.items_table.insert().values(
                        id=new_id(),
                        business_id=business_id,
                        sku=sku,
                        name=name,
                        unit=unit,
                        reorder_point=reorder_point,
                        reorder_quantity=reorder_quantity,
                        preferred_supplier_id=preferred_supplier_id,
                        created_at=self.clock.now_ns(),
                    )
                )
                return self._item(connection, business_id, sku)
        except sa.exc.IntegrityError:
            raise DomainError(
                SupplyError.ITEM_EXISTS,
                f"the business already has an item {sku}",
                status=409,
                fields={"sku": sku},
            ) from None

    def set_reorder(
        self,
        business_id: uuid.UUID,
        sku: str,
        *,
        reorder_point: int,
        reorder_quantity: int,
        preferred_supplier_id: uuid.UUID | None,
    ) -> Item:
        """Below `reorder_point` (available plus incoming) the item is low on stock."""
        validate_quantity(reorder_point, "reorder_point", allow_zero=True)
        validate_quantity(reorder_quantity, "reorder_quantity", allow_zero=True)
        with self.engine.begin() as connection:
            item = self._item(connection, business_id, sku)
            if preferred_supplier_id is not None:
                self._supplier(connection, business_id, preferred_supplier_id)
            connection.execute(
                store.items_table.update()
                .where(store.items_table.c.id == item.id)
                .values(
                    reorder_point=reorder_point,
                    reorder_quantity=reorder_quantity,
                    preferred_supplier_id=preferred_supplier_id,
                )
            )
            return self._item(connection, business_id, item.sku)

    def item(self, business_id: uuid.UUID, sku: str) -> Item:
        with self.engine.connect() as connection:
            return self._item(connection, business_id, sku)

    def items(self, business_id: uuid.UUID) -> list[Item]:
        table = store.items_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table).where(table.c.business_id == business_id).order_by(table.c.sku)
            ).all()
        return [store.item_from_row(row) for row in rows]

    # ------------------------------------------------------------------ reservations
    def reserve(
        self,
        business_id: uuid.UUID,
        reference: str,
        sku: str,
        quantity: int,
        location_code: str | None = None,
    ) -> str:
        """Reserve stock for one order line (`reference`); answers the location used.

        At a named location only if that location has the quantity available; without one,
        at the internal location with the most available stock that has enough (stock is
        never split). Reserving the same reference again answers the same location.
        """
        reference = _reference(reference)
        sku = validate_sku(sku)
        validate_quantity(quantity)
        code = validate_location_code(location_code) if location_code is not None else None
        self._ensure_business(business_id)
        try:
            return self._reserve(business_id, reference, sku, quantity, code)
        except sa.exc.IntegrityError:
            # A concurrent reserve of the same reference won: answer what it reserved.
            return self._reserve(business_id, reference, sku, quantity, code)

    def _reserve(
        self,
        business_id: uuid.UUID,
        reference: str,
        sku: str,
        quantity: int,
        code: str | None,
    ) -> str:
        table = store.reservations_table
        with self.engine.begin() as connection:
            self._item(connection, business_id, sku)
            row = connection.execute(
                sa.select(table)
                .where(table.c.business_id == business_id, table.c.reference == reference)
                .with_for_update()
            ).first()
            existing = None
            if row is not None:
                existing = store.reservation_from_row(row, self._codes(connection, business_id))
                released = existing.status is ReservationStatus.RELEASED
                if (
                    existing.sku != sku
                    or existing.quantity != quantity
                    or (not released and code is not None and code != existing.location)
                ):
                    raise DomainError(
                        SupplyError.RESERVATION_CONFLICT,
                        f"reservation {reference} is for {existing.quantity} {existing.sku} at "
                        f"{existing.location}; move it or release it instead",
                        status=409,
                        fields={"reference": reference},
                    )
                if not released:
                    return existing.location
            location = self._reservable(connection, business_id, sku, quantity, code)
            now = self.clock.now_ns()
            if existing is not None:  # released before: reserve it again
                connection.execute(
                    table.update()
                    .where(table.c.id == existing.id)
                    .values(
                        location_id=location.id,
                        status=ReservationStatus.ACTIVE.value,
                        updated_at=now,
                    )
                )
            else:
                connection.execute(
                    table.insert().values(
                        id=new_id(),
                        business_id=business_id,
                        reference=reference,
                        sku=sku,
                        location_id=location.id,
                        quantity=quantity,
                        status=ReservationStatus.ACTIVE.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
            return location.code

    def _reservable(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        sku: str,
        quantity: int,
        code: str | None,
    ) -> Location:
        """The location to reserve at, locked, with `quantity` available; else refused."""
        if code is not None:
            location = self._internal_location(connection, business_id, code)
            store.lock_stock(connection, business_id, [(sku, location.id)])
            self._refuse_negative(
                location, sku, self._available(connection, business_id, sku, location), quantity
            )
            return location
        # Rank on a snapshot, then lock and check again: another reservation may have taken
        # the stock between the two.
        held = store.positions(connection, business_id, sku=sku)
        reserved = store.reserved_quantities(connection, business_id, sku=sku)
        ranked = sorted(
            (
                (
                    held.get((sku, location.id), StockPosition()).quantity
                    - reserved.get((sku, location.id), 0),
                    location,
                )
                for location in self._locations(connection, business_id)
                if location.internal
            ),
            key=lambda pair: (-pair[0], pair[1].code),
        )
        for available, location in ranked:
            if available < quantity:
                break
            # Candidates are locked in order of stock, not in the global lock order: a lock
            # taken in a savepoint that is rolled back is released at once, so a refused
            # candidate is not held while the next one is tried (no deadlock).
            candidate = connection.begin_nested()
            store.lock_stock(connection, business_id, [(sku, location.id)])
            if self._available(connection, business_id, sku, location) >= quantity:
                candidate.commit()
                return location
            candidate.rollback()
        best = ranked[0] if ranked else (0, None)
        raise DomainError(
            SupplyError.INSUFFICIENT_STOCK,
            f"insufficient stock of {sku}: no location has {quantity} available"
            + (f" (most: {max(best[0], 0)} at {best[1].code})" if best[1] is not None else ""),
            status=409,
            fields={
                "sku": sku,
                "location": best[1].code if best[1] is not None else None,
                "quantity_available": max(best[0], 0),
                "quantity_requested": quantity,
            },
        )

    def _available(
        self, connection: sa.Connection, business_id: uuid.UUID, sku: str, location: Location
    ) -> int:
        held = self._position(connection, business_id, sku, location)
        return held.quantity - store.reserved_quantity(connection, business_id, sku, location.id)

    def _reservation_row(
        self, connection: sa.Connection, business_id: uuid.UUID, reference: str
    ) -> Reservation | None:
        table = store.reservations_table
        row = connection.execute(
            sa.select(table)
            .where(table.c.business_id == business_id, table.c.reference == reference)
            .with_for_update()
        ).first()
        if row is None:
            return None
        return store.reservation_from_row(row, self._codes(connection, business_id))

    def release(self, business_id: uuid.UUID, reference: str) -> None:
        """Drop the reservation (order cancelled); nothing to release is not an error."""
        reference = _reference(reference)
        with self.engine.begin() as connection:
            reservation = self._reservation_row(connection, business_id, reference)
            if reservation is None or reservation.status is ReservationStatus.RELEASED:
                return
            if reservation.status is ReservationStatus.FULFILLED:
                raise DomainError(
                    SupplyError.RESERVATION_STATUS,
                    f"reservation {reference} was fulfilled: the goods have left",
                    status=409,
                    fields={"reference": reference},
                )
            self._set_reservation(connection, reservation, ReservationStatus.RELEASED)

    def fulfil(self, business_id: uuid.UUID, reference: str) -> None:
        """The reserved stock leaves for the customer (order shipped); idempotent."""
        reference = _reference(reference)
        self._ensure_business(business_id)
        with self.engine.begin() as connection:
            reservation = self._reservation_row(connection, business_id, reference)
            if reservation is None:
                raise DomainError(
                    SupplyError.RESERVATION_NOT_FOUND,
                    f"no reservation {reference}",
                    status=404,
                    fields={"reference": reference},
                )
            if reservation.status is ReservationStatus.FULFILLED:
                return
            if reservation.status is ReservationStatus.RELEASED:
                raise DomainError(
                    SupplyError.RESERVATION_STATUS,
                    f"reservation {reference} was released; reserve again first",
                    status=409,
                    fields={"reference": reference},
                )
            location = self._location(connection, business_id, reservation.location)
            customers = self._virtual(connection, business_id, LocationKind.CUSTOMER)
            store.lock_stock(connection, business_id, [(reservation.sku, location.id)])
            held = self._position(connection, business_id, reservation.sku, location)
            # The reservation guarantees this unless the location may go negative.
            self._refuse_negative(location, reservation.sku, held.quantity, reservation.quantity)
            value = self._value_leaving(
                connection, business_id, reservation.sku, location, reservation.quantity
            )
            self._move(
                connection,
                business_id,
                reservation.sku,
                location,
                customers,
                reservation.quantity,
                value,
                reference=reference,
                reason="order fulfilled",
            )
            self._set_reservation(connection, reservation, ReservationStatus.FULFILLED)

    def move_reservation(
        self, business_id: uuid.UUID, reference: str, location_code: str
    ) -> Reservation:
        """Reserve at another location instead: only if the stock is available there."""
        reference = _reference(reference)
        with self.engine.begin() as connection:
            reservation = self._reservation_row(connection, business_id, reference)
            if reservation is None:
                raise DomainError(
                    SupplyError.RESERVATION_NOT_FOUND,
                    f"no reservation {reference}",
                    status=404,
                    fields={"reference": reference},
                )
            if reservation.status is not ReservationStatus.ACTIVE:
                raise DomainError(
                    SupplyError.RESERVATION_STATUS,
                    f"reservation {reference} is {reservation.status}; only an active one moves",
                    status=409,
                    fields={"reference": reference},
                )
            target = self._internal_location(connection, business_id, location_code)
            if target.code == reservation.location:
                return reservation
            source = self._location(connection, business_id, reservation.location)
            store.lock_stock(
                connection,
                business_id,
                [(reservation.sku, source.id), (reservation.sku, target.id)],
            )
            available = self._available(connection, business_id, reservation.sku, target)
            self._refuse_negative(
                target,
                reservation.sku,
                available,
                reservation.quantity,
                what=" to move the reservation",
            )
            connection.execute(
                store.reservations_table.update()
                .where(store.reservations_table.c.id == reservation.id)
                .values(location_id=target.id, updated_at=self.clock.now_ns())
            )
            return self._reservation(connection, business_id, reference)

    def _set_reservation(
        self, connection: sa.Connection, reservation: Reservation, status: ReservationStatus
    ) -> None:
        connection.execute(
            store.reservations_table.update()
            .where(store.reservations_table.c.id == reservation.id)
            .values(status=status.value, updated_at=self.clock.now_ns())
        )

    def _reservation(
        self, connection: sa.Connection, business_id: uuid.UUID, reference: str
    ) -> Reservation:
        table = store.reservations_table
        row = connection.execute(
            sa.select(table).where(
                table.c.business_id == business_id, table.c.reference == reference
            )
        ).first()
        if row is None:
            raise DomainError(
                SupplyError.RESERVATION_NOT_FOUND,
                f"no reservation {reference}",
                status=404,
                fields={"reference": reference},
            )
        return store.reservation_from_row(row, self._codes(connection, business_id))

    def reservation(self, business_id: uuid.UUID, reference: str) -> Reservation:
        with self.engine.connect() as connection:
            return self._reservation(connection, business_id, _reference(reference))

    def reservations(
        self,
        business_id: uuid.UUID,
        *,
        sku: str | None = None,
        status: ReservationStatus | None = ReservationStatus.ACTIVE,
        limit: int = PAGE_SIZE_DEFAULT,
    ) -> list[Reservation]:
        table = store.reservations_table
        query = sa.select(table).where(table.c.business_id == business_id)
        if sku is not None:
            query = query.where(table.c.sku == validate_sku(sku))
        if status is not None:
            query = query.where(table.c.status == ReservationStatus(status).value)
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
            page_limit(limit)
        )
        with self.engine.connect() as connection:
            codes = self._codes(connection, business_id)
            rows = connection.execute(query).all()
        return [store.reservation_from_row(row, codes) for row in rows]

    # ------------------------------------------------------------------ transfers
    def transfer_stock(
        self,
        business_id: uuid.UUID,
        sku: str,
        quantity: int,
        from_location_code: str,
        to_location_code: str,
        *,
        request_id: uuid.UUID,
    ) -> Transfer:
        """Dispatch stock to another internal location: it waits in transit until received.

        Only available stock leaves (reserved stock stays for its order); it takes its
        share of the source's value with it. Idempotent by request id.
        """
        sku = validate_sku(sku)
        validate_quantity(quantity)
        self._ensure_business(business_id)

        def work(connection: sa.Connection) -> str:
            self._item(connection, business_id, sku)
            source = self._internal_location(connection, business_id, from_location_code)
            target = self._internal_location(connection, business_id, to_location_code)
            if source.id == target.id:
                raise DomainError(
                    SupplyError.TRANSFER_INVALID,
                    "a transfer goes between two different locations",
                    status=422,
                )
            transit = self._virtual(connection, business_id, LocationKind.IN_TRANSIT)
            store.lock_stock(connection, business_id, [(sku, source.id)])
            available = self._available(connection, business_id, sku, source)
            self._refuse_negative(source, sku, available, quantity, what=" to transfer")
            value = self._value_leaving(connection, business_id, sku, source, quantity)
            number = self._number(connection, business_id, "TR")
            transfer_id = new_id()
            now = self.clock.now_ns()
            connection.execute(
                store.transfers_table.insert().values(
                    id=transfer_id,
                    business_id=business_id,
                    number=number,
                    sku=sku,
                    from_location_id=source.id,
                    to_location_id=target.id,
                    quantity=quantity,
                    quantity_received=0,
                    value_minor=value,
                    landed_cost_minor=0,
                    status=TransferStatus.IN_TRANSIT.value,
                    dispatched_at=now,
                    received_at=None,
                )
            )
            self._move(
                connection,
                business_id,
                sku,
                source,
                transit,
                quantity,
                value,
                reference=number,
                reason=f"transfer to {target.code}",
            )
            return str(transfer_id)

        return self._idempotent(
            business_id,
            request_id,
            "transfer",
            work,
            lambda connection, done: self._transfer(connection, business_id, uuid.UUID(done)),
        )

    def receive_transfer(
        self,
        business_id: uuid.UUID,
        transfer_id: uuid.UUID,
        *,
        quantity_received: int | None = None,
        landed_costs: Sequence[LandedCost] = (),
        reason: str | None = None,
    ) -> Transfer:
        """The goods arrive: into the target location at the value they left with, plus
        the landed costs of the journey (freight Skardu-Karachi). Fewer than sent is a loss
        in transit, written off to the adjustment location with a reason."""
        costs = validate_landed_costs(landed_costs)
        self._ensure_business(business_id)
        with self.engine.begin() as connection:
            transfer = self._transfer(connection, business_id, transfer_id, lock=True)
            if transfer.status is not TransferStatus.IN_TRANSIT:
                raise DomainError(
                    SupplyError.TRANSFER_STATUS,
                    f"transfer {transfer.number} was received already",
                    status=409,
                    fields={"transfer": transfer.number},
                )
            received = (
                transfer.quantity
                if quantity_received is None
                else validate_quantity(quantity_received, "quantity_received", allow_zero=True)
            )
            if received > transfer.quantity:
                raise DomainError(
                    SupplyError.TRANSFER_INVALID,
                    f"{transfer.quantity} were sent: at most {transfer.quantity} arrive",
                    status=422,
                    fields={"quantity": transfer.quantity, "quantity_received": received},
                )
            lost_reason = _reason(reason) if received < transfer.quantity else ""
            if costs and received == 0:
                raise DomainError(
                    SupplyError.TRANSFER_INVALID,
                    "landed costs need goods to land on: nothing arrived",
                    status=422,
                )
            target = self._location(connection, business_id, transfer.to_location)
            transit = self._virtual(connection, business_id, LocationKind.IN_TRANSIT)
            adjustments = self._virtual(connection, business_id, LocationKind.ADJUSTMENT)
            suppliers = self._virtual(connection, business_id, LocationKind.SUPPLIER)
            store.lock_stock(connection, business_id, [(transfer.sku, target.id)])
            value_arriving = outgoing_value(received, transfer.quantity, transfer.value_minor, 0)
            if received:
                self._move(
                    connection,
                    business_id,
                    transfer.sku,
                    transit,
                    target,
                    received,
                    value_arriving,
                    reference=transfer.number,
                    reason=f"transfer from {transfer.from_location}",
                )
            if received < transfer.quantity:
                self._move(
                    connection,
                    business_id,
                    transfer.sku,
                    transit,
                    adjustments,
                    transfer.quantity - received,
                    transfer.value_minor - value_arriving,
                    reference=transfer.number,
                    reason=f"lost in transit: {lost_reason}",
                )
            landed_minor = sum(cost.amount_minor for cost in costs)
            if landed_minor:
                self._move(
                    connection,
                    business_id,
                    transfer.sku,
                    suppliers,
                    target,
                    0,
                    landed_minor,
                    reference=transfer.number,
                    reason=landed_reason(costs),
                )
                store_landed_costs(connection, business_id, costs, transfer_id=transfer.id)
            connection.execute(
                store.transfers_table.update()
                .where(store.transfers_table.c.id == transfer.id)
                .values(
                    status=TransferStatus.RECEIVED.value,
                    quantity_received=received,
                    landed_cost_minor=landed_minor,
                    received_at=self.clock.now_ns(),
                )
            )
            return self._transfer(connection, business_id, transfer.id)

    def _transfer(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        transfer_id: uuid.UUID,
        *,
        lock: bool = False,
    ) -> Transfer:
        table = store.transfers_table
        query = sa.select(table).where(
            table.c.business_id == business_id, table.c.id == transfer_id
        )
        row = connection.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise DomainError(
                SupplyError.TRANSFER_NOT_FOUND,
                f"no transfer {transfer_id}",
                status=404,
                fields={"transfer_id": str(transfer_id)},
            )
        return store.transfer_from_row(row, self._codes(connection, business_id))

    def transfer(self, business_id: uuid.UUID, transfer_id: uuid.UUID) -> Transfer:
        with self.engine.connect() as connection:
            return self._transfer(connection, business_id, transfer_id)

    def transfers(
        self,
        business_id: uuid.UUID,
        *,
        status: TransferStatus | None = None,
        limit: int = PAGE_SIZE_DEFAULT,
    ) -> list[Transfer]:
        table = store.transfers_table
        query = sa.select(table).where(table.c.business_id == business_id)
        if status is not None:
            query = query.where(table.c.status == TransferStatus(status).value)
        query = query.order_by(table.c.dispatched_at.desc(), table.c.id.desc()).limit(
            page_limit(limit)
        )
        with self.engine.connect() as connection:
            codes = self._codes(connection, business_id)
            rows = connection.execute(query).all()
        return [store.transfer_from_row(row, codes) for row in rows]

    # ------------------------------------------------------------------ adjustments and counts
    def adjust_stock(
        self,
        business_id: uuid.UUID,
        sku: str,
        location_code: str,
        quantity_change: int,
        reason: str,
        *,
        request_id: uuid.UUID,
        unit_cost_minor: int | None = None,
    ) -> StockMove:
        """Stock found (positive) or lost, damaged, used up (negative), with a reason.

        Found stock is valued at `unit_cost_minor`, or at the location's average when not
        given. Only available stock can be written off: reserved stock belongs to an order
        (release or move the reservation first). Idempotent by request id.
        """
        sku = validate_sku(sku)
        if type(quantity_change) is not int or quantity_change == 0:
            raise DomainError(
                SupplyError.QUANTITY_INVALID,
                "quantity_change must be a non-zero whole number",
                status=422,
            )
        validate_quantity(abs(quantity_change), "quantity_change")
        why = _reason(reason)
        if unit_cost_minor is not None:
            validate_unit_price(unit_cost_minor, "unit_cost_minor")
        self._ensure_business(business_id)

        def work(connection: sa.Connection) -> str:
            self._item(connection, business_id, sku)
            location = self._internal_location(connection, business_id, location_code)
            adjustments = self._virtual(connection, business_id, LocationKind.ADJUSTMENT)
            store.lock_stock(connection, business_id, [(sku, location.id)])
            number = self._number(connection, business_id, "ADJ")
            self._adjust(
                connection,
                business_id,
                sku,
                location,
                adjustments,
                quantity_change,
                why,
                number,
                unit_cost_minor,
            )
            return number

        return self._idempotent(
            business_id,
            request_id,
            "adjustment",
            work,
            lambda connection, number: self._moves_by_reference(connection, business_id, number)[0],
        )

    def _adjust(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        sku: str,
        location: Location,
        adjustments: Location,
        quantity_change: int,
        reason: str,
        reference: str,
        unit_cost_minor: int | None,
    ) -> None:
        if quantity_change < 0:
            available = self._available(connection, business_id, sku, location)
            self._refuse_negative(
                location, sku, available, -quantity_change, what=" (reserved stock stays)"
            )
            value = self._value_leaving(connection, business_id, sku, location, -quantity_change)
            self._move(
                connection,
                business_id,
                sku,
                location,
                adjustments,
                -quantity_change,
                value,
                reference=reference,
                reason=reason,
            )
            return
        if unit_cost_minor is None:
            held = self._position(connection, business_id, sku, location)
            unit_cost_minor = average_unit_cost(held.quantity, held.value_minor)
        self._move(
            connection,
            business_id,
            sku,
            adjustments,
            location,
            quantity_change,
            quantity_change * unit_cost_minor,
            reference=reference,
            reason=reason,
        )

    def count_stock(
        self,
        business_id: uuid.UUID,
        location_code: str,
        counts: Mapping[str, int],
        reason: str,
        *,
        request_id: uuid.UUID,
    ) -> list[StockMove]:
        """A stock count: each SKU's counted quantity becomes its on-hand quantity.

        Differences are moves to or from the adjustment location (gains at the location's
        average cost). A count below what is reserved is refused: those reservations must
        be released or moved first, or available stock would go negative.
        """
        if not counts or len(counts) > COUNT_LINES_MAX:
            raise DomainError(
                SupplyError.COUNT_INVALID,
                f"a count has 1 to {COUNT_LINES_MAX} SKUs",
                status=422,
            )
        skus = validate_skus(list(counts))
        counted = {
            sku: validate_quantity(counts[original], f"count of {sku}", allow_zero=True)
            for sku, original in zip(skus, counts, strict=True)
        }
        why = _reason(reason)
        self._ensure_business(business_id)

        def work(connection: sa.Connection) -> str:
            location = self._internal_location(connection, business_id, location_code)
            adjustments = self._virtual(connection, business_id, LocationKind.ADJUSTMENT)
            for sku in skus:
                self._item(connection, business_id, sku)
            store.lock_stock(connection, business_id, [(sku, location.id) for sku in skus])
            number = self._number(connection, business_id, "CNT")
            for sku in sorted(skus):
                held = self._position(connection, business_id, sku, location)
                reserved = store.reserved_quantity(connection, business_id, sku, location.id)
                if counted[sku] < reserved:
                    raise DomainError(
                        SupplyError.COUNT_BELOW_RESERVED,
                        f"{sku}: counted {counted[sku]} but {reserved} are reserved at "
                        f"{location.code}; release or move those reservations first",
                        status=409,
                        fields={"sku": sku, "counted": counted[sku], "reserved": reserved},
                    )
                change = counted[sku] - held.quantity
                if change:
                    self._adjust(
                        connection,
                        business_id,
                        sku,
                        location,
                        adjustments,
                        change,
                        f"count: {why}",
                        number,
                        None,
                    )
            return number

        return self._idempotent(
            business_id,
            request_id,
            "count",
            work,
            lambda connection, number: self._moves_by_reference(connection, business_id, number),
        )

    def _moves_by_reference(
        self, connection: sa.Connection, business_id: uuid.UUID, reference: str
    ) -> list[StockMove]:
        moves = store.stock_moves_table
        rows = connection.execute(
            sa.select(moves)
            .where(moves.c.business_id == business_id, moves.c.reference == reference)
            .order_by(moves.c.seq)
        ).all()
        codes = self._codes(connection, business_id)
        return [store.move_from_row(row, codes) for row in rows]

    # ------------------------------------------------------------------ reports
    def stock_levels(
        self,
        business_id: uuid.UUID,
        *,
        sku: str | None = None,
        location_code: str | None = None,
    ) -> list[StockLevel]:
        """On hand, reserved, incoming and available per item and location (own locations
        and goods in transit), sorted by location then SKU."""
        sku = validate_sku(sku) if sku is not None else None
        self._ensure_business(business_id)
        with self.engine.connect() as connection:
            locations = {
                location.id: location
                for location in self._locations(connection, business_id)
                if location.kind.valued
            }
            if location_code is not None:
                wanted = self._location(connection, business_id, location_code)
                locations = {wanted.id: wanted} if wanted.id in locations else {}
            held = store.positions(connection, business_id, sku=sku)
            reserved = store.reserved_quantities(connection, business_id, sku=sku)
            incoming = store.incoming_quantities(connection, business_id)
        keys = {
            key
            for key in (*held, *reserved, *incoming)
            if key[1] in locations and (sku is None or key[0] == sku)
        }
        levels = [
            StockLevel(
                sku=key[0],
                location=locations[key[1]].code,
                quantity_on_hand=held[key].quantity if key in held else 0,
                quantity_reserved=reserved.get(key, 0),
                quantity_incoming=incoming.get(key, 0),
            )
            for key in keys
        ]
        levels = [
            level
            for level in levels
            if level.quantity_on_hand or level.quantity_reserved or level.quantity_incoming
        ]
        return sorted(levels, key=lambda level: (level.location, level.sku))

    def stock_moves(
        self,
        business_id: uuid.UUID,
        *,
        sku: str | None = None,
        location_code: str | None = None,
        before_seq: int | None = None,
        limit: int = PAGE_SIZE_DEFAULT,
    ) -> list[StockMove]:
        """The movement history, newest first; page with `before_seq` (the last seq seen)."""
        moves = store.stock_moves_table
        query = sa.select(moves).where(moves.c.business_id == business_id)
        if sku is not None:
            query = query.where(moves.c.sku == validate_sku(sku))
        if before_seq is not None:
            query = query.where(moves.c.seq < before_seq)
        self._ensure_business(business_id)
        with self.engine.connect() as connection:
            if location_code is not None:
                location = self._location(connection, business_id, location_code)
                query = query.where(
                    (moves.c.from_location_id == location.id)
                    | (moves.c.to_location_id == location.id)
                )
            rows = connection.execute(
                query.order_by(moves.c.seq.desc()).limit(page_limit(limit))
            ).all()
            codes = self._codes(connection, business_id)
        return [store.move_from_row(row, codes) for row in rows]

    def stock_valuation(
        self, business_id: uuid.UUID, *, at_ns: int | None = None
    ) -> list[Valuation]:
        """Quantity and value per location and item, now or as it was at `at_ns`."""
        self._ensure_business(business_id)
        with self.engine.connect() as connection:
            locations = {
                location.id: location
                for location in self._locations(connection, business_id)
                if location.kind.valued
            }
            held = store.positions(connection, business_id, at_ns=at_ns)
        found = [
            Valuation(
                location=locations[location_id].code,
                sku=sku,
                quantity=entry.quantity,
                value_minor=entry.value_minor,
                currency=VALUATION_CURRENCY,
            )
            for (sku, location_id), entry in held.items()
            if location_id in locations and (entry.quantity or entry.value_minor)
        ]
        return sorted(found, key=lambda valuation: (valuation.location, valuation.sku))

    def items_below_reorder_point(self, business_id: uuid.UUID) -> list[LowStockItem]:
        """Items whose available stock (all own locations) plus incoming is below their
        reorder point: the low-stock alerts."""
        self._ensure_business(business_id)
        with self.engine.connect() as connection:
            locations = {loc.id: loc for loc in self._locations(connection, business_id)}
            held = store.positions(connection, business_id)
            reserved = store.reserved_quantities(connection, business_id)
            incoming = store.incoming_quantities(connection, business_id)
            items = connection.execute(
                sa.select(store.items_table)
                .where(
                    store.items_table.c.business_id == business_id,
                    store.items_table.c.reorder_point > 0,
                )
                .order_by(store.items_table.c.sku)
            ).all()
        available: dict[str, int] = defaultdict(int)
        for (sku, location_id), entry in held.items():
            if locations[location_id].internal:
                available[sku] += entry.quantity
        for (sku, location_id), quantity in reserved.items():
            if locations[location_id].internal:
                available[sku] -= quantity
        expected: dict[str, int] = defaultdict(int)
        for (sku, _location_id), quantity in incoming.items():
            expected[sku] += quantity
        low = []
        for row in items:
            item = store.item_from_row(row)
            candidate = LowStockItem(
                sku=item.sku,
                name=item.name,
                reorder_point=item.reorder_point,
                reorder_quantity=item.reorder_quantity,
                quantity_available=available[item.sku],
                quantity_incoming=expected[item.sku],
                preferred_supplier_id=item.preferred_supplier_id,
            )
            if candidate.quantity_projected < item.reorder_point:
                low.append(candidate)
        return low

    def audit_stock(self, business_id: uuid.UUID) -> list[str]:
        """Check the invariants against the move ledger; answers what is wrong (nothing: [])."""
        self._ensure_business(business_id)
        problems: list[str] = []
        with self.engine.connect() as connection:
            locations = {loc.id: loc for loc in self._locations(connection, business_id)}
            held = store.positions(connection, business_id)
            reserved = store.reserved_quantities(connection, business_id)
            transfers = self.transfers_in_transit(connection, business_id)
        for (sku, location_id), entry in sorted(held.items(), key=lambda pair: str(pair[0])):
            location = locations[location_id]
            if not location.allow_negative and entry.quantity < 0:
                problems.append(f"{sku} at {location.code}: {entry.quantity} on hand")
            if location.kind.valued and entry.quantity == 0 and entry.value_minor != 0:
                problems.append(
                    f"{sku} at {location.code}: nothing held but worth {entry.value_minor}"
                )
        for (sku, location_id), quantity in sorted(reserved.items(), key=lambda pair: str(pair[0])):
            location = locations[location_id]
            on_hand = held[(sku, location_id)].quantity if (sku, location_id) in held else 0
            if not location.internal:
                problems.append(f"{sku}: {quantity} reserved at virtual location {location.code}")
            elif not location.allow_negative and quantity > on_hand:
                problems.append(f"{sku} at {location.code}: {quantity} reserved, {on_hand} on hand")
        transit = next(loc for loc in locations.values() if loc.kind is LocationKind.IN_TRANSIT)
        for sku in {key[0] for key in held if key[1] == transit.id} | set(transfers):
            entry = held.get((sku, transit.id), StockPosition())
            quantity, value = transfers.get(sku, (0, 0))
            if (entry.quantity, entry.value_minor) != (quantity, value):
                problems.append(
                    f"{sku} in transit: ledger {entry.quantity} worth {entry.value_minor}, "
                    f"open transfers {quantity} worth {value}"
                )
        return problems

    @staticmethod
    def transfers_in_transit(
        connection: sa.Connection, business_id: uuid.UUID
    ) -> dict[str, tuple[int, int]]:
        table = store.transfers_table
        rows = connection.execute(
            sa.select(table.c.sku, sa.func.sum(table.c.quantity), sa.func.sum(table.c.value_minor))
            .where(
                table.c.business_id == business_id,
                table.c.status == TransferStatus.IN_TRANSIT.value,
            )
            .group_by(table.c.sku)
        )
        return {sku: (int(quantity), int(value)) for sku, quantity, value in rows}


def store_landed_costs(
    connection: sa.Connection,
    business_id: uuid.UUID,
    costs: Sequence[LandedCost],
    *,
    receipt_id: uuid.UUID | None = None,
    transfer_id: uuid.UUID | None = None,
) -> None:
    for cost in costs:
        connection.execute(
            store.landed_costs_table.insert().values(
                id=new_id(),
                business_id=business_id,
                receipt_id=receipt_id,
                transfer_id=transfer_id,
                description=cost.description,
                amount_minor=cost.amount_minor,
                currency=VALUATION_CURRENCY,
            )
        )
