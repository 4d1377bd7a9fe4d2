"""Supply use cases: suppliers, purchase orders, goods receipts, bills and paying them.

Inventory (items, locations, reservations, transfers, counts, reports) is in inventory.py;
SupplyService is both. Purchasing in one picture:

    draft -> sent -> partially_received -> received -> billed -> paid      (or cancelled)

A receipt moves goods from the suppliers location into the order's location at the ordered
price (plus its share of the landed costs); a bill is the supplier's invoice against the
order; the three-way match compares the bill with the order (prices) and the receipts
(quantities) and must pass before the bill is paid; paying hands the bills to the wallet,
which pays each over the switch, and a bill is paid only once its payment settled.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.clock import NS_PER_S, Clock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, Ntn
from tijarat.kernel.ids import new_id
from tijarat.kernel.money import currency_info
from tijarat.ledger.service import LedgerService
from tijarat.supply import store
from tijarat.supply.common import page_limit, validate_skus
from tijarat.supply.errors import SupplyError
from tijarat.supply.inventory import Inventory, landed_reason, store_landed_costs
from tijarat.supply.model import (
    BILL_LINES_MAX,
    BILLS_PER_PAYMENT_MAX,
    INVOICE_NUMBER_LENGTH_MAX,
    LEAD_TIME_DAYS_MAX,
    NAME_LENGTH_MAX,
    NOTE_LENGTH_MAX,
    ORDER_LINES_MAX,
    PAGE_SIZE_DEFAULT,
    PAYMENT_TERMS_DAYS_MAX,
    PRICE_TOLERANCE_BASIS_POINTS_DEFAULT,
    QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
    RECEIPT_LINES_MAX,
    VALUATION_CURRENCY,
    Bill,
    BillLineInput,
    BillPayment,
    BillStatus,
    GoodsReceipt,
    LandedCost,
    Location,
    LocationKind,
    MatchResult,
    MatchStatus,
    OrderLineInput,
    OrderLineProgress,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderStatus,
    ReceiptLine,
    ReceiptLineInput,
    Supplier,
    allocate_landed_cost,
    check_delivery,
    clean_text,
    convert_to_valuation,
    parse_valuation_rate,
    purchase_order_status,
    required_text,
    three_way_match,
    validate_basis_points,
    validate_days,
    validate_email,
    validate_landed_costs,
    validate_line_amount,
    validate_phone,
    validate_quantity,
    validate_unit_price,
)
from tijarat.supply.ports import SupplierPayer, SupplierPayment, SupplierPaymentResult

SECONDS_PER_DAY = 86_400
# Bills that count against the quantity received: not cancelled.
_LIVE_BILLS = (BillStatus.OPEN, BillStatus.PAYING, BillStatus.PAID)
# Bills whose quantities are taken: the match of another bill must leave them room.
_COMMITTED_BILLS = (BillStatus.PAYING, BillStatus.PAID)
_RECEIVABLE = (
    PurchaseOrderStatus.SENT,
    PurchaseOrderStatus.PARTIALLY_RECEIVED,
    PurchaseOrderStatus.RECEIVED,
)


@dataclass(frozen=True, slots=True)
class _PaymentRow:
    bill_id: uuid.UUID
    reference: str
    payee_name: str
    raast_id: str | None
    iban: str | None
    amount_minor: int
    currency: str
    status: PaymentStatus

    def to_payment(self) -> SupplierPayment:
        return SupplierPayment(
            reference=self.reference,
            payee_name=self.payee_name,
            raast_id=self.raast_id,
            iban=self.iban,
            amount_minor=self.amount_minor,
            currency=self.currency,
        )


def _bad(code: SupplyError, message: str, **fields: object) -> DomainError:
    return DomainError(code, message, status=422, fields=dict(fields))


class SupplyService(Inventory):
    def __init__(
        self, engine: sa.Engine, ledger: LedgerService, clock: Clock, *, payer: SupplierPayer
    ) -> None:
        super().__init__(engine, clock)
        self.ledger = ledger
        self.payer = payer

    # ------------------------------------------------------------------ suppliers
    def create_supplier(
        self,
        business_id: uuid.UUID,
        name: str,
        *,
        contact_name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        ntn: str | None = None,
        raast_id: str | None = None,
        iban: str | None = None,
        currency: str = VALUATION_CURRENCY,
        payment_terms_days: int = 0,
        lead_time_days: int = 0,
    ) -> Supplier:
        """A supplier and how to pay it: a Raast ID (mobile number) or an IBAN, not both."""
        name = required_text(name, "name", SupplyError.SUPPLIER_INVALID, length_max=NAME_LENGTH_MAX)
        contact = clean_text(
            contact_name,
            "contact_name",
            SupplyError.SUPPLIER_INVALID,
            length_max=NAME_LENGTH_MAX,
            required=False,
        )
        if (raast_id is None) == (iban is None):
            raise _bad(
                SupplyError.SUPPLIER_INVALID,
                "give the supplier's Raast ID (mobile number) or IBAN to pay it: exactly one",
            )
        values: dict[str, Any] = {
            "id": new_id(),
            "business_id": business_id,
            "name": name,
            "contact_name": contact,
            "phone": validate_phone(phone),
            "email": validate_email(email),
            "ntn": Ntn.parse(ntn).value if ntn is not None else None,
            "raast_id": MobileNumber.parse(raast_id).e164 if raast_id is not None else None,
            "iban": Iban.parse(iban).compact if iban is not None else None,
            "currency": currency_info(currency.strip().upper()).code,
            "payment_terms_days": validate_days(
                payment_terms_days, "payment_terms_days", PAYMENT_TERMS_DAYS_MAX
            ),
            "lead_time_days": validate_days(lead_time_days, "lead_time_days", LEAD_TIME_DAYS_MAX),
            "created_at": self.clock.now_ns(),
        }
        self._ensure_business(business_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(store.suppliers_table.insert().values(**values))
                return self._supplier(connection, business_id, values["id"])
        except sa.exc.IntegrityError:
            raise DomainError(
                SupplyError.SUPPLIER_EXISTS,
                f"the business already has a supplier named {name}",
                status=409,
                fields={"name": name},
            ) from None

    def supplier(self, business_id: uuid.UUID, supplier_id: uuid.UUID) -> Supplier:
        with self.engine.connect() as connection:
            return self._supplier(connection, business_id, supplier_id)

    def suppliers(self, business_id: uuid.UUID) -> list[Supplier]:
        table = store.suppliers_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table).where(table.c.business_id == business_id).order_by(table.c.name)
            ).all()
        return [store.supplier_from_row(row) for row in rows]

    # ------------------------------------------------------------------ purchase orders
    def create_purchase_order(
        self,
        business_id: uuid.UUID,
        supplier_id: uuid.UUID,
        location_code: str,
        lines: Sequence[OrderLineInput],
        *,
        quantity_tolerance_basis_points: int = QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
        price_tolerance_basis_points: int = PRICE_TOLERANCE_BASIS_POINTS_DEFAULT,
    ) -> PurchaseOrder:
        """A draft order to one supplier, delivered to one of the business's locations.

        Prices are in the supplier's currency. Tolerances: how far a delivery may be over
        or under the ordered quantity, and a bill's unit price off the ordered one.
        """
        validate_basis_points(quantity_tolerance_basis_points, "quantity_tolerance_basis_points")
        validate_basis_points(price_tolerance_basis_points, "price_tolerance_basis_points")
        cleaned = self._order_lines(lines)
        self._ensure_business(business_id)
        with self.engine.begin() as connection:
            supplier = self._supplier(connection, business_id, supplier_id)
            location = self._internal_location(connection, business_id, location_code)
            order_id = self._insert_order(
                connection,
                business_id,
                supplier,
                location,
                cleaned,
                quantity_tolerance_basis_points,
                price_tolerance_basis_points,
            )
            return self._order(connection, business_id, order_id)

    @staticmethod
    def _order_lines(lines: Sequence[OrderLineInput]) -> list[OrderLineInput]:
        if not 1 <= len(lines) <= ORDER_LINES_MAX:
            raise _bad(SupplyError.ORDER_INVALID, f"an order has 1 to {ORDER_LINES_MAX} lines")
        skus = validate_skus([line.sku for line in lines])
        cleaned = []
        for sku, line in zip(skus, lines, strict=True):
            quantity = validate_quantity(line.quantity)
            price = validate_unit_price(line.unit_price_minor)
            validate_line_amount(quantity, price, sku)
            cleaned.append(OrderLineInput(sku, quantity, price))
        return cleaned

    def _insert_order(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        supplier: Supplier,
        location: Location,
        lines: Sequence[OrderLineInput],
        quantity_tolerance_basis_points: int,
        price_tolerance_basis_points: int,
    ) -> uuid.UUID:
        for line in lines:
            self._item(connection, business_id, line.sku)
        order_id = new_id()
        now = self.clock.now_ns()
        connection.execute(
            store.purchase_orders_table.insert().values(
                id=order_id,
                business_id=business_id,
                number=self._number(connection, business_id, "PO"),
                supplier_id=supplier.id,
                location_id=location.id,
                status=PurchaseOrderStatus.DRAFT.value,
                currency=supplier.currency,
                quantity_tolerance_basis_points=quantity_tolerance_basis_points,
                price_tolerance_basis_points=price_tolerance_basis_points,
                closed_short=False,
                created_at=now,
                sent_at=None,
                updated_at=now,
            )
        )
        connection.execute(
            store.purchase_order_lines_table.insert(),
            [
                {
                    "id": new_id(),
                    "business_id": business_id,
                    "purchase_order_id": order_id,
                    "line_number": number,
                    "sku": line.sku,
                    "quantity_ordered": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                }
                for number, line in enumerate(lines, start=1)
            ],
        )
        return order_id

    def send_purchase_order(
        self, business_id: uuid.UUID, purchase_order_id: uuid.UUID
    ) -> PurchaseOrder:
        """draft -> sent: the supplier has the order; its quantities are now incoming."""
        return self._order_transition(
            business_id,
            purchase_order_id,
            (PurchaseOrderStatus.DRAFT,),
            PurchaseOrderStatus.SENT,
        )

    def cancel_purchase_order(
        self, business_id: uuid.UUID, purchase_order_id: uuid.UUID
    ) -> PurchaseOrder:
        """Only before anything arrived; after that, close it short instead."""
        return self._order_transition(
            business_id,
            purchase_order_id,
            (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT),
            PurchaseOrderStatus.CANCELLED,
        )

    def close_purchase_order(
        self, business_id: uuid.UUID, purchase_order_id: uuid.UUID
    ) -> PurchaseOrder:
        """The rest will not come: what arrived is the delivery (no longer incoming)."""
        with self.engine.begin() as connection:
            order = self._order(connection, business_id, purchase_order_id, lock=True)
            if order.status is not PurchaseOrderStatus.PARTIALLY_RECEIVED:
                raise self._wrong_status(order, "closed short (only a partial delivery can be)")
            connection.execute(
                store.purchase_orders_table.update()
                .where(store.purchase_orders_table.c.id == order.id)
                .values(closed_short=True, updated_at=self.clock.now_ns())
            )
            self._refresh_order_status(connection, business_id, order.id)
            return self._order(connection, business_id, order.id)

    def _order_transition(
        self,
        business_id: uuid.UUID,
        purchase_order_id: uuid.UUID,
        allowed: tuple[PurchaseOrderStatus, ...],
        target: PurchaseOrderStatus,
    ) -> PurchaseOrder:
        with self.engine.begin() as connection:
            order = self._order(connection, business_id, purchase_order_id, lock=True)
            if order.status is target:
                return order
            if order.status not in allowed:
                raise self._wrong_status(order, str(target))
            now = self.clock.now_ns()
            values: dict[str, Any] = {"status": target.value, "updated_at": now}
            if target is PurchaseOrderStatus.SENT:
                values["sent_at"] = now
            connection.execute(
                store.purchase_orders_table.update()
                .where(store.purchase_orders_table.c.id == order.id)
                .values(**values)
            )
            return self._order(connection, business_id, order.id)

    @staticmethod
    def _wrong_status(order: PurchaseOrder, wanted: str) -> DomainError:
        return DomainError(
            SupplyError.ORDER_STATUS,
            f"purchase order {order.number} is {order.status}: it cannot be {wanted}",
            status=409,
            fields={"purchase_order": order.number, "status": order.status.value},
        )

    def _order(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        purchase_order_id: uuid.UUID,
        *,
        lock: bool = False,
    ) -> PurchaseOrder:
        table = store.purchase_orders_table
        query = sa.select(table).where(
            table.c.business_id == business_id, table.c.id == purchase_order_id
        )
        row = connection.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise DomainError(
                SupplyError.ORDER_NOT_FOUND,
                f"no purchase order {purchase_order_id}",
                status=404,
                fields={"purchase_order_id": str(purchase_order_id)},
            )
        lines_table = store.purchase_order_lines_table
        line_rows = connection.execute(
            sa.select(lines_table).where(lines_table.c.purchase_order_id == row.id)
        ).all()
        line_ids = [line.id for line in line_rows]
        return store.purchase_order_from_rows(
            row,
            line_rows,
            self._codes(connection, business_id),
            store.received_quantities(connection, line_ids),
            store.billed_quantities(connection, line_ids, _LIVE_BILLS),
        )

    def _refresh_order_status(
        self, connection: sa.Connection, business_id: uuid.UUID, purchase_order_id: uuid.UUID
    ) -> None:
        order = self._order(connection, business_id, purchase_order_id)
        paid = store.billed_quantities(
            connection, [line.id for line in order.lines], (BillStatus.PAID,)
        )
        status = purchase_order_status(
            order.status,
            [
                OrderLineProgress(
                    quantity_ordered=line.quantity_ordered,
                    quantity_received=line.quantity_received,
                    quantity_billed=line.quantity_billed,
                    quantity_paid=paid.get(line.id, 0),
                )
                for line in order.lines
            ],
            quantity_tolerance_basis_points=order.quantity_tolerance_basis_points,
            closed_short=order.closed_short,
        )
        if status is not order.status:
            connection.execute(
                store.purchase_orders_table.update()
                .where(store.purchase_orders_table.c.id == order.id)
                .values(status=status.value, updated_at=self.clock.now_ns())
            )

    def purchase_order(self, business_id: uuid.UUID, purchase_order_id: uuid.UUID) -> PurchaseOrder:
        with self.engine.connect() as connection:
            return self._order(connection, business_id, purchase_order_id)

    def purchase_orders(
        self,
        business_id: uuid.UUID,
        *,
        status: PurchaseOrderStatus | None = None,
        limit: int = PAGE_SIZE_DEFAULT,
    ) -> list[PurchaseOrder]:
        table = store.purchase_orders_table
        query = sa.select(table.c.id).where(table.c.business_id == business_id)
        if status is not None:
            query = query.where(table.c.status == PurchaseOrderStatus(status).value)
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
            page_limit(limit)
        )
        with self.engine.connect() as connection:
            ids = connection.execute(query).scalars().all()
            return [self._order(connection, business_id, order_id) for order_id in ids]

    # ------------------------------------------------------------------ goods receipts
    def receive_goods(
        self,
        business_id: uuid.UUID,
        purchase_order_id: uuid.UUID,
        lines: Sequence[ReceiptLineInput],
        *,
        request_id: uuid.UUID,
        landed_costs: Sequence[LandedCost] = (),
        delivery_note: str | None = None,
        valuation_rate: str | None = None,
    ) -> GoodsReceipt:
        """Goods arrive against an order: all of it or part of it (partial receipts).

        Each line may take its order line up to the ordered quantity plus the tolerance;
        beyond that the receipt is refused whole. The goods enter the order's location at
        the ordered unit price (converted at `valuation_rate` when the order is not in the
        valuation currency) plus their share of the landed costs, split by value.
        Idempotent by request id.
        """
        if not 1 <= len(lines) <= RECEIPT_LINES_MAX:
            raise _bad(SupplyError.RECEIPT_INVALID, f"a receipt has 1 to {RECEIPT_LINES_MAX} lines")
        skus = validate_skus([line.sku for line in lines])
        quantities = [validate_quantity(line.quantity) for line in lines]
        costs = validate_landed_costs(landed_costs)
        note = clean_text(
            delivery_note,
            "delivery_note",
            SupplyError.RECEIPT_INVALID,
            length_max=NOTE_LENGTH_MAX,
            required=False,
        )
        self._ensure_business(business_id)

        def work(connection: sa.Connection) -> str:
            order = self._order(connection, business_id, purchase_order_id, lock=True)
            if order.status not in _RECEIVABLE or order.closed_short:
                raise self._wrong_status(order, "received against")
            rate = None
            if order.currency != VALUATION_CURRENCY:
                if valuation_rate is None:
                    raise _bad(
                        SupplyError.VALUATION_RATE_INVALID,
                        f"the order is in {order.currency}: give the valuation rate "
                        f"({VALUATION_CURRENCY} per {order.currency}) of this receipt",
                    )
                rate = parse_valuation_rate(valuation_rate)
            elif valuation_rate is not None:
                raise _bad(
                    SupplyError.VALUATION_RATE_INVALID,
                    f"the order is in {VALUATION_CURRENCY}: no valuation rate is needed",
                )
            order_lines = []
            for sku, quantity in zip(skus, quantities, strict=True):
                line = order.line_for(sku)
                if line is None:
                    raise _bad(
                        SupplyError.RECEIPT_INVALID,
                        f"{sku} is not on purchase order {order.number}",
                        sku=sku,
                    )
                check_delivery(
                    sku,
                    line.quantity_ordered,
                    line.quantity_received,
                    quantity,
                    order.quantity_tolerance_basis_points,
                )
                order_lines.append(line)
            values = [
                convert_to_valuation(quantity * line.unit_price_minor, order.currency, rate)
                for quantity, line in zip(quantities, order_lines, strict=True)
            ]
            shares = allocate_landed_cost(
                sum(cost.amount_minor for cost in costs), values, quantities
            )
            location = self._location(connection, business_id, order.location)
            suppliers = self._virtual(connection, business_id, LocationKind.SUPPLIER)
            store.lock_stock(connection, business_id, [(sku, location.id) for sku in skus])
            number = self._number(connection, business_id, "GRN")
            receipt_id = new_id()
            connection.execute(
                store.receipts_table.insert().values(
                    id=receipt_id,
                    business_id=business_id,
                    number=number,
                    purchase_order_id=order.id,
                    location_id=location.id,
                    delivery_note=note,
                    valuation_rate=str(rate) if rate is not None else None,
                    received_at=self.clock.now_ns(),
                )
            )
            for sku, quantity, line, value, share in zip(
                skus, quantities, order_lines, values, shares, strict=True
            ):
                connection.execute(
                    store.receipt_lines_table.insert().values(
                        id=new_id(),
                        business_id=business_id,
                        receipt_id=receipt_id,
                        purchase_order_line_id=line.id,
                        sku=sku,
                        quantity=quantity,
                        value_minor=value,
                        landed_cost_minor=share,
                    )
                )
                self._move(
                    connection,
                    business_id,
                    sku,
                    suppliers,
                    location,
                    quantity,
                    value,
                    reference=number,
                    reason=f"received against {order.number}",
                )
                if share:
                    self._move(
                        connection,
                        business_id,
                        sku,
                        suppliers,
                        location,
                        0,
                        share,
                        reference=number,
                        reason=landed_reason(costs),
                    )
            store_landed_costs(connection, business_id, costs, receipt_id=receipt_id)
            self._refresh_order_status(connection, business_id, order.id)
            return str(receipt_id)

        return self._idempotent(
            business_id,
            request_id,
            "receipt",
            work,
            lambda connection, done: self._receipt(connection, business_id, uuid.UUID(done)),
        )

    def _receipt(
        self, connection: sa.Connection, business_id: uuid.UUID, receipt_id: uuid.UUID
    ) -> GoodsReceipt:
        table = store.receipts_table
        row = connection.execute(
            sa.select(table).where(table.c.business_id == business_id, table.c.id == receipt_id)
        ).first()
        if row is None:
            raise DomainError(
                SupplyError.RECEIPT_INVALID,
                f"no receipt {receipt_id}",
                status=404,
                fields={"receipt_id": str(receipt_id)},
            )
        lines = store.receipt_lines_table
        line_rows = connection.execute(
            sa.select(lines).where(lines.c.receipt_id == row.id).order_by(lines.c.sku)
        ).all()
        costs = store.landed_costs_table
        cost_rows = connection.execute(
            sa.select(costs).where(costs.c.receipt_id == row.id).order_by(costs.c.id)
        ).all()
        return GoodsReceipt(
            id=row.id,
            business_id=row.business_id,
            number=row.number,
            purchase_order_id=row.purchase_order_id,
            location=self._codes(connection, business_id)[row.location_id],
            delivery_note=row.delivery_note,
            valuation_rate=row.valuation_rate,
            received_at=row.received_at,
            lines=tuple(
                ReceiptLine(
                    purchase_order_line_id=line.purchase_order_line_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    value_minor=line.value_minor,
                    landed_cost_minor=line.landed_cost_minor,
                )
                for line in line_rows
            ),
            landed_costs=tuple(store.landed_cost_from_row(cost) for cost in cost_rows),
        )

    def receipt(self, business_id: uuid.UUID, receipt_id: uuid.UUID) -> GoodsReceipt:
        with self.engine.connect() as connection:
            return self._receipt(connection, business_id, receipt_id)

    def receipts(self, business_id: uuid.UUID, purchase_order_id: uuid.UUID) -> list[GoodsReceipt]:
        table = store.receipts_table
        with self.engine.connect() as connection:
            ids = (
                connection.execute(
                    sa.select(table.c.id)
                    .where(
                        table.c.business_id == business_id,
                        table.c.purchase_order_id == purchase_order_id,
                    )
                    .order_by(table.c.received_at, table.c.number)
                )
                .scalars()
                .all()
            )
            return [self._receipt(connection, business_id, receipt_id) for receipt_id in ids]

    # ------------------------------------------------------------------ bills
    def create_bill(
        self,
        business_id: uuid.UUID,
        purchase_order_id: uuid.UUID,
        supplier_invoice_number: str,
        lines: Sequence[BillLineInput],
    ) -> Bill:
        """Record the supplier's invoice against an order, as billed (not yet matched).

        The same supplier invoice number twice is refused. Lines for goods not on the order
        are kept (the match then fails on them) rather than silently dropped.
        """
        invoice = required_text(
            supplier_invoice_number,
            "supplier_invoice_number",
            SupplyError.BILL_INVALID,
            length_max=INVOICE_NUMBER_LENGTH_MAX,
        )
        if not 1 <= len(lines) <= BILL_LINES_MAX:
            raise _bad(SupplyError.BILL_INVALID, f"a bill has 1 to {BILL_LINES_MAX} lines")
        skus = validate_skus([line.sku for line in lines])
        cleaned = []
        for sku, line in zip(skus, lines, strict=True):
            quantity = validate_quantity(line.quantity)
            price = validate_unit_price(line.unit_price_minor)
            validate_line_amount(quantity, price, sku)
            cleaned.append(BillLineInput(sku, quantity, price))
        try:
            with self.engine.begin() as connection:
                order = self._order(connection, business_id, purchase_order_id, lock=True)
                if order.status in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
                    raise self._wrong_status(order, "billed")
                supplier = self._supplier(connection, business_id, order.supplier_id)
                bill_id = new_id()
                now = self.clock.now_ns()
                connection.execute(
                    store.bills_table.insert().values(
                        id=bill_id,
                        business_id=business_id,
                        number=self._number(connection, business_id, "BILL"),
                        purchase_order_id=order.id,
                        supplier_id=supplier.id,
                        supplier_invoice_number=invoice,
                        currency=order.currency,
                        total_minor=sum(line.quantity * line.unit_price_minor for line in cleaned),
                        status=BillStatus.OPEN.value,
                        match_status=MatchStatus.UNMATCHED.value,
                        due_at=now + supplier.payment_terms_days * SECONDS_PER_DAY * NS_PER_S,
                        created_at=now,
                    )
                )
                connection.execute(
                    store.bill_lines_table.insert(),
                    [
                        {
                            "id": new_id(),
                            "business_id": business_id,
                            "bill_id": bill_id,
                            "line_number": number,
                            "purchase_order_line_id": ordered.id
                            if (ordered := order.line_for(line.sku))
                            else None,
                            "sku": line.sku,
                            "quantity": line.quantity,
                            "unit_price_minor": line.unit_price_minor,
                        }
                        for number, line in enumerate(cleaned, start=1)
                    ],
                )
                self._refresh_order_status(connection, business_id, order.id)
                return self._bill(connection, business_id, bill_id)
        except sa.exc.IntegrityError:
            raise DomainError(
                SupplyError.BILL_DUPLICATE,
                f"invoice {invoice} of this supplier is already recorded",
                status=409,
                fields={"supplier_invoice_number": invoice},
            ) from None

    def match_bill(self, business_id: uuid.UUID, bill_id: uuid.UUID) -> MatchResult:
        """The three-way match: the bill's prices against the order's, its quantities
        against what was received and not billed on bills already paid or being paid."""
        with self.engine.begin() as connection:
            bill = self._bill(connection, business_id, bill_id, lock=True)
            order = self._order(connection, business_id, bill.purchase_order_id)
            result = self._match(connection, order, bill, {})
            if bill.status is BillStatus.OPEN:
                status = MatchStatus.MATCHED if result.matched else MatchStatus.MISMATCHED
                connection.execute(
                    store.bills_table.update()
                    .where(store.bills_table.c.id == bill.id)
                    .values(match_status=status.value)
                )
            return result

    @staticmethod
    def _match(
        connection: sa.Connection,
        order: PurchaseOrder,
        bill: Bill,
        taken_in_this_payment: dict[uuid.UUID, int],
    ) -> MatchResult:
        taken = store.billed_quantities(
            connection,
            [line.id for line in order.lines],
            _COMMITTED_BILLS,
            exclude_bill_id=bill.id,
        )
        for line_id, quantity in taken_in_this_payment.items():
            taken[line_id] = taken.get(line_id, 0) + quantity
        return three_way_match(order, bill, taken)

    def cancel_bill(self, business_id: uuid.UUID, bill_id: uuid.UUID) -> Bill:
        """An open bill withdrawn (the supplier sends a corrected one)."""
        with self.engine.begin() as connection:
            bill = self._bill(connection, business_id, bill_id, lock=True)
            if bill.status is BillStatus.CANCELLED:
                return bill
            if bill.status is not BillStatus.OPEN:
                raise DomainError(
                    SupplyError.BILL_STATUS,
                    f"bill {bill.number} is {bill.status}: only an open bill can be cancelled",
                    status=409,
                    fields={"bill": bill.number},
                )
            connection.execute(
                store.bills_table.update()
                .where(store.bills_table.c.id == bill.id)
                .values(status=BillStatus.CANCELLED.value)
            )
            self._refresh_order_status(connection, business_id, bill.purchase_order_id)
            return self._bill(connection, business_id, bill.id)

    def _bill(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        bill_id: uuid.UUID,
        *,
        lock: bool = False,
    ) -> Bill:
        table = store.bills_table
        query = sa.select(table).where(table.c.business_id == business_id, table.c.id == bill_id)
        row = connection.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise DomainError(
                SupplyError.BILL_NOT_FOUND,
                f"no bill {bill_id}",
                status=404,
                fields={"bill_id": str(bill_id)},
            )
        lines = store.bill_lines_table
        line_rows = connection.execute(sa.select(lines).where(lines.c.bill_id == row.id)).all()
        return store.bill_from_rows(row, line_rows)

    def bill(self, business_id: uuid.UUID, bill_id: uuid.UUID) -> Bill:
        with self.engine.connect() as connection:
            return self._bill(connection, business_id, bill_id)

    def bills(
        self,
        business_id: uuid.UUID,
        *,
        status: BillStatus | None = None,
        purchase_order_id: uuid.UUID | None = None,
        limit: int = PAGE_SIZE_DEFAULT,
    ) -> list[Bill]:
        table = store.bills_table
        query = sa.select(table.c.id).where(table.c.business_id == business_id)
        if status is not None:
            query = query.where(table.c.status == BillStatus(status).value)
        if purchase_order_id is not None:
            query = query.where(table.c.purchase_order_id == purchase_order_id)
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
            page_limit(limit)
        )
        with self.engine.connect() as connection:
            ids = connection.execute(query).scalars().all()
            return [self._bill(connection, business_id, bill_id) for bill_id in ids]

    # ------------------------------------------------------------------ paying bills
    def pay_bills(
        self, business_id: uuid.UUID, bill_ids: Sequence[uuid.UUID], request_id: uuid.UUID
    ) -> list[BillPayment]:
        """Pay one bill or many at once from the business's wallet (its bulk payout).

        Every bill must be open and pass the three-way match, or nothing is paid. Each bill
        becomes one payment (reference: the bill number; payee: the supplier's Raast ID or
        IBAN); a bill is paid only when its payment settled; a rejected one is open again.
        The same request id again answers the same payments and asks the wallet about any
        still pending (the wallet never pays one request id twice).
        """
        ids = list(bill_ids)
        if not 1 <= len(ids) <= BILLS_PER_PAYMENT_MAX or len(set(ids)) != len(ids):
            raise _bad(
                SupplyError.PAYMENT_INVALID,
                f"pay 1 to {BILLS_PER_PAYMENT_MAX} different bills at once",
            )
        if not isinstance(request_id, uuid.UUID):
            raise _bad(SupplyError.REQUEST_INVALID, "request_id must be a UUID")
        existing = self._payment_rows(business_id, request_id)
        if not existing:
            try:
                existing = self._claim_bills(business_id, ids, request_id)
            except sa.exc.IntegrityError:  # the same request id, concurrently: it went first
                existing = self._payment_rows(business_id, request_id)
                if not existing:
                    raise
            else:
                self._send(business_id, request_id, existing, first=True)
                return self.bill_payments(business_id, request_id)
        if {row.bill_id for row in existing} != set(ids):
            raise DomainError(
                SupplyError.REQUEST_REUSED,
                f"request {request_id} paid other bills",
                status=409,
                fields={"request_id": str(request_id)},
            )
        if any(row.status is PaymentStatus.PENDING for row in existing):
            self._send(business_id, request_id, existing, first=False)
        return self.bill_payments(business_id, request_id)

    def _claim_bills(
        self, business_id: uuid.UUID, ids: list[uuid.UUID], request_id: uuid.UUID
    ) -> list[_PaymentRow]:
        """Check every bill and mark them paying, in one transaction: all or none."""
        rows: list[_PaymentRow] = []
        with self.engine.begin() as connection:
            table = store.bills_table
            # Lock in one order (by id) so two payments of overlapping bills cannot deadlock.
            connection.execute(
                sa.select(table.c.id)
                .where(table.c.business_id == business_id, table.c.id.in_(ids))
                .order_by(table.c.id)
                .with_for_update()
            ).all()
            taken: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
            now = self.clock.now_ns()
            for position, bill_id in enumerate(ids):
                bill = self._bill(connection, business_id, bill_id)
                self._refuse_unpayable(bill)
                order = self._order(connection, business_id, bill.purchase_order_id)
                result = self._match(connection, order, bill, taken[order.id])
                if not result.matched:
                    raise DomainError(
                        SupplyError.BILL_NOT_MATCHED,
                        f"bill {bill.number} fails the three-way match: "
                        + "; ".join(found.message for found in result.discrepancies),
                        status=409,
                        fields={
                            "bill": bill.number,
                            "discrepancies": [found.code for found in result.discrepancies],
                        },
                    )
                for line in bill.lines:
                    if line.purchase_order_line_id is not None:
                        line_id = line.purchase_order_line_id
                        taken[order.id][line_id] = taken[order.id].get(line_id, 0) + line.quantity
                supplier = self._supplier(connection, business_id, bill.supplier_id)
                row = _PaymentRow(
                    bill_id=bill.id,
                    reference=bill.number,
                    payee_name=supplier.name,
                    raast_id=supplier.raast_id,
                    iban=None if supplier.raast_id else supplier.iban,
                    amount_minor=bill.total_minor,
                    currency=bill.currency,
                    status=PaymentStatus.PENDING,
                )
                connection.execute(
                    store.bill_payments_table.insert().values(
                        id=new_id(),
                        business_id=business_id,
                        request_id=request_id,
                        position=position,
                        bill_id=bill.id,
                        reference=row.reference,
                        payee_name=row.payee_name,
                        raast_id=row.raast_id,
                        iban=row.iban,
                        amount_minor=row.amount_minor,
                        currency=row.currency,
                        status=PaymentStatus.PENDING.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
                connection.execute(
                    table.update()
                    .where(table.c.id == bill.id)
                    .values(
                        status=BillStatus.PAYING.value,
                        match_status=MatchStatus.MATCHED.value,
                        payment_status=PaymentStatus.PENDING.value,
                        payment_reason=None,
                    )
                )
                rows.append(row)
        return rows

    @staticmethod
    def _refuse_unpayable(bill: Bill) -> None:
        if bill.status is BillStatus.PAID:
            raise DomainError(
                SupplyError.BILL_ALREADY_PAID,
                f"bill {bill.number} is paid already",
                status=409,
                fields={"bill": bill.number, "end_to_end_id": bill.payment_end_to_end_id},
            )
        if bill.status is BillStatus.PAYING:
            raise DomainError(
                SupplyError.BILL_PAYMENT_IN_PROGRESS,
                f"bill {bill.number} is being paid; ask again with that request id",
                status=409,
                fields={"bill": bill.number},
            )
        if bill.status is not BillStatus.OPEN:
            raise DomainError(
                SupplyError.BILL_STATUS,
                f"bill {bill.number} is {bill.status}",
                status=409,
                fields={"bill": bill.number},
            )
        if bill.total_minor <= 0:
            raise _bad(SupplyError.PAYMENT_INVALID, f"bill {bill.number} is for nothing")

    def _send(
        self,
        business_id: uuid.UUID,
        request_id: uuid.UUID,
        rows: list[_PaymentRow],
        *,
        first: bool,
    ) -> None:
        """Hand the payments to the wallet (outside any transaction of ours) and record."""
        try:
            results = self.payer.pay_suppliers(
                business_id, [row.to_payment() for row in rows], request_id
            )
        except DomainError as error:
            if first:
                # The wallet refused the request as a whole: nothing was paid.
                self._record(
                    business_id,
                    request_id,
                    [
                        SupplierPaymentResult(row.reference, "rejected", error.code, None, None)
                        for row in rows
                    ],
                )
            raise
        self._record(business_id, request_id, results)

    def _record(
        self,
        business_id: uuid.UUID,
        request_id: uuid.UUID,
        results: Sequence[SupplierPaymentResult],
    ) -> None:
        payments = store.bill_payments_table
        bills = store.bills_table
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            rows = {
                row.reference: row
                for row in connection.execute(
                    sa.select(payments)
                    .where(
                        payments.c.business_id == business_id, payments.c.request_id == request_id
                    )
                    .with_for_update()
                )
            }
            orders: set[uuid.UUID] = set()
            for result in results:
                row = rows.get(result.reference)
                if row is None or row.status != PaymentStatus.PENDING.value:
                    continue  # not ours, or final already
                status = PaymentStatus(result.status)
                reason = result.reason[:64] if result.reason else None
                connection.execute(
                    payments.update()
                    .where(payments.c.id == row.id)
                    .values(
                        status=status.value,
                        reason=reason,
                        end_to_end_id=result.end_to_end_id,
                        uetr=result.uetr,
                        updated_at=now,
                    )
                )
                values: dict[str, Any] = {
                    "payment_status": status.value,
                    "payment_reason": reason,
                    "payment_end_to_end_id": result.end_to_end_id,
                    "payment_uetr": result.uetr,
                }
                if status is PaymentStatus.SETTLED:
                    values |= {"status": BillStatus.PAID.value, "paid_at": now}
                elif status is PaymentStatus.REJECTED:
                    values |= {"status": BillStatus.OPEN.value}
                connection.execute(bills.update().where(bills.c.id == row.bill_id).values(**values))
                if status is PaymentStatus.SETTLED:
                    orders.add(
                        connection.execute(
                            sa.select(bills.c.purchase_order_id).where(bills.c.id == row.bill_id)
                        ).scalar_one()
                    )
            for order_id in sorted(orders):
                self._refresh_order_status(connection, business_id, order_id)

    def _payment_rows(self, business_id: uuid.UUID, request_id: uuid.UUID) -> list[_PaymentRow]:
        payments = store.bill_payments_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(payments)
                .where(payments.c.business_id == business_id, payments.c.request_id == request_id)
                .order_by(payments.c.position)
            ).all()
        return [
            _PaymentRow(
                bill_id=row.bill_id,
                reference=row.reference,
                payee_name=row.payee_name,
                raast_id=row.raast_id,
                iban=row.iban,
                amount_minor=row.amount_minor,
                currency=row.currency,
                status=PaymentStatus(row.status),
            )
            for row in rows
        ]

    def bill_payments(self, business_id: uuid.UUID, request_id: uuid.UUID) -> list[BillPayment]:
        """The payments of one pay_bills request, in the order they were asked."""
        payments = store.bill_payments_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(payments)
                .where(payments.c.business_id == business_id, payments.c.request_id == request_id)
                .order_by(payments.c.position)
            ).all()
        return [
            BillPayment(
                bill_id=row.bill_id,
                bill_number=row.reference,
                amount_minor=row.amount_minor,
                currency=row.currency,
                status=PaymentStatus(row.status),
                reason=row.reason,
                end_to_end_id=row.end_to_end_id,
                uetr=row.uetr,
            )
            for row in rows
        ]

    # ------------------------------------------------------------------ reordering
    def draft_reorder_purchase_orders(
        self, business_id: uuid.UUID, *, location_code: str | None = None
    ) -> list[PurchaseOrder]:
        """Draft one order per preferred supplier for the items below their reorder point.

        Each line orders the larger of the reorder quantity and what brings the item back
        to its reorder point, at the last price ordered from that supplier. Items already on
        a draft, or without a preferred supplier, are left out. Delivered to
        `location_code`, else where that supplier delivered last, else the first location.
        """
        low = self.items_below_reorder_point(business_id)
        created: list[uuid.UUID] = []
        with self.engine.begin() as connection:
            orders = store.purchase_orders_table
            lines = store.purchase_order_lines_table
            on_drafts = set(
                connection.execute(
                    sa.select(lines.c.sku)
                    .join(orders, orders.c.id == lines.c.purchase_order_id)
                    .where(
                        orders.c.business_id == business_id,
                        orders.c.status == PurchaseOrderStatus.DRAFT.value,
                    )
                ).scalars()
            )
            by_supplier: dict[uuid.UUID, list[OrderLineInput]] = defaultdict(list)
            for item in low:
                if item.preferred_supplier_id is None or item.sku in on_drafts:
                    continue
                price = connection.execute(
                    sa.select(lines.c.unit_price_minor)
                    .join(orders, orders.c.id == lines.c.purchase_order_id)
                    .where(
                        orders.c.business_id == business_id,
                        orders.c.supplier_id == item.preferred_supplier_id,
                        orders.c.status != PurchaseOrderStatus.CANCELLED.value,
                        lines.c.sku == item.sku,
                    )
                    .order_by(orders.c.created_at.desc())
                    .limit(1)
                ).scalar()
                by_supplier[item.preferred_supplier_id].append(
                    OrderLineInput(item.sku, item.quantity_to_order, int(price or 0))
                )
            for supplier_id, order_lines in sorted(by_supplier.items(), key=lambda p: str(p[0])):
                supplier = self._supplier(connection, business_id, supplier_id)
                location = self._reorder_location(connection, business_id, supplier, location_code)
                created.append(
                    self._insert_order(
                        connection,
                        business_id,
                        supplier,
                        location,
                        order_lines,
                        QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
                        PRICE_TOLERANCE_BASIS_POINTS_DEFAULT,
                    )
                )
            return [self._order(connection, business_id, order_id) for order_id in created]

    def _reorder_location(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID,
        supplier: Supplier,
        location_code: str | None,
    ) -> Location:
        if location_code is not None:
            return self._internal_location(connection, business_id, location_code)
        orders = store.purchase_orders_table
        last = connection.execute(
            sa.select(orders.c.location_id)
            .where(orders.c.business_id == business_id, orders.c.supplier_id == supplier.id)
            .order_by(orders.c.created_at.desc())
            .limit(1)
        ).scalar()
        internal = [loc for loc in self._locations(connection, business_id) if loc.internal]
        for location in internal:
            if location.id == last:
                return location
        if not internal:
            raise DomainError(
                SupplyError.LOCATION_NOT_FOUND,
                "the business has no location to deliver to: create one first",
                status=404,
            )
        return internal[0]
