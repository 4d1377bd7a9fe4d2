"""Suppliers, purchasing and inventory: plain data and the rules about it (no I/O).

Stock is kept like money in a double-entry ledger (Odoo's model): every quantity change is a
move from one location to another, and what a location holds is what moved in minus what
moved out. Besides the business's own (internal) locations there are virtual ones: where
goods come from (suppliers), where they go (customers), goods on the road (in transit), and
losses, gains and counting differences (adjustments).

Valuation is a moving average per item and internal location, kept as a total value rather
than a unit cost: a location's value is the value moved in minus the value moved out, in
integer minor units of the valuation currency. A move out takes its share of the value,
rounded half to even, and the last unit out takes exactly what is left, so an emptied
location is worth exactly zero and no paisa is ever made or lost by rounding.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from enum import StrEnum

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import (
    AMOUNT_MINOR_MAX,
    BASIS_POINTS_PER_WHOLE,
    Money,
    allocate,
    currency_exponent,
    divide_rounded,
)
from tijarat.supply.errors import SupplyError

# Bounds on everything that comes in.
SKU_LENGTH_MAX = 64
NAME_LENGTH_MAX = 140  # ISO 20022 Max140Text: supplier names travel in payments
UNIT_LENGTH_MAX = 16
LOCATION_CODE_LENGTH_MAX = 16
REFERENCE_LENGTH_MAX = 64  # a reservation's reference (trade's order line)
REASON_LENGTH_MAX = 200
NOTE_LENGTH_MAX = 140
INVOICE_NUMBER_LENGTH_MAX = 35
EMAIL_LENGTH_MAX = 254
PHONE_LENGTH_MAX = 32
RATE_TEXT_LENGTH_MAX = 24
QUANTITY_MAX = 1_000_000_000  # units of one item in one line or move
UNIT_PRICE_MINOR_MAX = 10**13  # Rs 100 billion a unit: far above anything real
# One line's quantity times price (Rs 10 trillion): keeps every sum far inside 64 bits.
LINE_AMOUNT_MINOR_MAX = 10**15
ORDER_LINES_MAX = 200
RECEIPT_LINES_MAX = 200
BILL_LINES_MAX = 200
LANDED_COSTS_MAX = 20
COUNT_LINES_MAX = 500
BILLS_PER_PAYMENT_MAX = 100
PAGE_SIZE_MAX = 500
PAGE_SIZE_DEFAULT = 100
PAYMENT_TERMS_DAYS_MAX = 365
LEAD_TIME_DAYS_MAX = 365
TOLERANCE_BASIS_POINTS_MAX = BASIS_POINTS_PER_WHOLE  # 100 %
QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT = 500  # 5 % over or under delivery is accepted
PRICE_TOLERANCE_BASIS_POINTS_DEFAULT = 0  # the bill's unit price must be the ordered one
# Stock is valued in the business's book currency; a Skardu business keeps books in PKR.
VALUATION_CURRENCY = "PKR"

_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_LOCATION_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()-]{5,}")
_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class LocationKind(StrEnum):
    INTERNAL = "internal"  # the business's own: a workshop, a warehouse
    SUPPLIER = "supplier"  # virtual: where purchased goods (and landed costs) come from
    CUSTOMER = "customer"  # virtual: where sold goods go
    IN_TRANSIT = "in_transit"  # virtual: between two internal locations
    ADJUSTMENT = "adjustment"  # virtual: losses, finds and counting differences

    @property
    def valued(self) -> bool:
        """Locations whose stock is the business's and counts in its stock value."""
        return self in (LocationKind.INTERNAL, LocationKind.IN_TRANSIT)


@dataclass(frozen=True, slots=True)
class VirtualLocation:
    code: str
    name: str
    kind: LocationKind
    allow_negative: bool


# Made for every business the first time it uses supply. Supplier, customer and adjustment
# locations are the outside world and go as negative as the goods they give; goods in
# transit are only ever what left a location, so transit may not go negative.
VIRTUAL_LOCATIONS = (
    VirtualLocation("SUPPLIERS", "Suppliers", LocationKind.SUPPLIER, allow_negative=True),
    VirtualLocation("CUSTOMERS", "Customers", LocationKind.CUSTOMER, allow_negative=True),
    VirtualLocation("TRANSIT", "In transit", LocationKind.IN_TRANSIT, allow_negative=False),
    VirtualLocation(
        "ADJUSTMENTS", "Losses and adjustments", LocationKind.ADJUSTMENT, allow_negative=True
    ),
)
SUPPLIERS_CODE = VIRTUAL_LOCATIONS[0].code
CUSTOMERS_CODE = VIRTUAL_LOCATIONS[1].code
TRANSIT_CODE = VIRTUAL_LOCATIONS[2].code
ADJUSTMENTS_CODE = VIRTUAL_LOCATIONS[3].code


class PurchaseOrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    BILLED = "billed"
    PAID = "paid"
    CANCELLED = "cancelled"


class BillStatus(StrEnum):
    OPEN = "open"
    PAYING = "paying"  # handed to the wallet, not settled yet
    PAID = "paid"  # settled over the switch
    CANCELLED = "cancelled"


class MatchStatus(StrEnum):
    UNMATCHED = "unmatched"  # not checked yet
    MATCHED = "matched"
    MISMATCHED = "mismatched"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SETTLED = "settled"
    REJECTED = "rejected"


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    FULFILLED = "fulfilled"


class TransferStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Supplier:
    id: uuid.UUID
    business_id: uuid.UUID
    name: str
    contact_name: str | None
    phone: str | None
    email: str | None
    ntn: str | None  # normalised by kernel Ntn
    raast_id: str | None  # E.164 mobile number; exactly one of raast_id and iban
    iban: str | None  # compact Pakistani IBAN
    currency: str
    payment_terms_days: int
    lead_time_days: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Item:
    id: uuid.UUID
    business_id: uuid.UUID
    sku: str
    name: str
    unit: str  # what one unit of quantity is: "piece", "kg", "box of 12"
    reorder_point: int
    reorder_quantity: int
    preferred_supplier_id: uuid.UUID | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Location:
    id: uuid.UUID
    business_id: uuid.UUID
    code: str
    name: str
    kind: LocationKind
    allow_negative: bool
    created_at: int

    @property
    def internal(self) -> bool:
        return self.kind is LocationKind.INTERNAL


@dataclass(frozen=True, slots=True)
class StockMove:
    """One row of the append-only stock-move ledger.

    `quantity` is in the item's unit and never negative; a zero-quantity move carries value
    only (a landed cost). `value_minor` is the exact value moved, in the valuation currency;
    `unit_cost_minor` is value / quantity rounded half to even, for people to read.
    """

    seq: int
    id: uuid.UUID
    business_id: uuid.UUID
    sku: str
    from_location: str
    to_location: str
    quantity: int
    unit_cost_minor: int
    value_minor: int
    currency: str
    reference: str
    reason: str
    at: int


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    location: str
    quantity_on_hand: int
    quantity_reserved: int
    quantity_incoming: int

    @property
    def quantity_available(self) -> int:
        return self.quantity_on_hand - self.quantity_reserved


@dataclass(frozen=True, slots=True)
class Reservation:
    id: uuid.UUID
    business_id: uuid.UUID
    reference: str
    sku: str
    location: str
    quantity: int
    status: ReservationStatus
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price_minor: int  # in the order's currency


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    id: uuid.UUID
    line_number: int
    sku: str
    quantity_ordered: int
    unit_price_minor: int
    quantity_received: int
    quantity_billed: int  # on bills that are not cancelled

    @property
    def amount_minor(self) -> int:
        return self.quantity_ordered * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    id: uuid.UUID
    business_id: uuid.UUID
    number: str
    supplier_id: uuid.UUID
    location: str  # where the goods are delivered
    status: PurchaseOrderStatus
    currency: str
    quantity_tolerance_basis_points: int
    price_tolerance_basis_points: int
    closed_short: bool  # the rest will not come: what was received is complete
    created_at: int
    sent_at: int | None
    lines: tuple[PurchaseOrderLine, ...]

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    def line_for(self, sku: str) -> PurchaseOrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


@dataclass(frozen=True, slots=True)
class LandedCost:
    """Freight, duty or insurance that brought goods here; adds to their value."""

    description: str
    amount_minor: int  # in the valuation currency


@dataclass(frozen=True, slots=True)
class ReceiptLineInput:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    purchase_order_line_id: uuid.UUID
    sku: str
    quantity: int
    value_minor: int  # purchase value in the valuation currency
    landed_cost_minor: int  # this line's share of the receipt's landed costs


@dataclass(frozen=True, slots=True)
class GoodsReceipt:
    id: uuid.UUID
    business_id: uuid.UUID
    number: str
    purchase_order_id: uuid.UUID
    location: str
    delivery_note: str | None
    valuation_rate: str | None  # valuation currency per unit of the order's currency
    received_at: int
    lines: tuple[ReceiptLine, ...]
    landed_costs: tuple[LandedCost, ...]


@dataclass(frozen=True, slots=True)
class BillLineInput:
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class BillLine:
    purchase_order_line_id: uuid.UUID | None  # None: the supplier billed something not ordered
    sku: str
    quantity: int
    unit_price_minor: int

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class Bill:
    id: uuid.UUID
    business_id: uuid.UUID
    number: str  # ours, e.g. BILL-000001: the payment's reference
    purchase_order_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_invoice_number: str
    currency: str
    total_minor: int
    status: BillStatus
    match_status: MatchStatus
    due_at: int
    created_at: int
    paid_at: int | None
    payment_status: PaymentStatus | None
    payment_reason: str | None
    payment_end_to_end_id: str | None
    payment_uetr: uuid.UUID | None
    lines: tuple[BillLine, ...]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    code: str  # not_ordered, quantity_not_received, price_mismatch, ...
    message: str
    sku: str | None = None
    expected: int | None = None
    actual: int | None = None


@dataclass(frozen=True, slots=True)
class MatchResult:
    bill_id: uuid.UUID
    matched: bool
    discrepancies: tuple[Discrepancy, ...]


@dataclass(frozen=True, slots=True)
class BillPayment:
    bill_id: uuid.UUID
    bill_number: str
    amount_minor: int
    currency: str
    status: PaymentStatus
    reason: str | None
    end_to_end_id: str | None
    uetr: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Transfer:
    id: uuid.UUID
    business_id: uuid.UUID
    number: str
    sku: str
    from_location: str
    to_location: str
    quantity: int
    quantity_received: int
    value_minor: int  # what left the source location
    landed_cost_minor: int
    status: TransferStatus
    dispatched_at: int
    received_at: int | None


@dataclass(frozen=True, slots=True)
class Valuation:
    """What one item at one location holds and is worth (at some moment)."""

    location: str
    sku: str
    quantity: int
    value_minor: int
    currency: str

    @property
    def average_unit_cost_minor(self) -> int:
        return average_unit_cost(self.quantity, self.value_minor)


@dataclass(frozen=True, slots=True)
class LowStockItem:
    sku: str
    name: str
    reorder_point: int
    reorder_quantity: int
    quantity_available: int  # over internal locations
    quantity_incoming: int  # on purchase orders sent and transfers on the road
    preferred_supplier_id: uuid.UUID | None

    @property
    def quantity_projected(self) -> int:
        return self.quantity_available + self.quantity_incoming

    @property
    def quantity_to_order(self) -> int:
        """At least the reorder quantity, and enough to be back at the reorder point."""
        return max(self.reorder_quantity, self.reorder_point - self.quantity_projected, 1)


@dataclass(frozen=True, slots=True)
class OrderLineProgress:
    """What status derivation needs to know about one order line."""

    quantity_ordered: int
    quantity_received: int
    quantity_billed: int  # on bills that are not cancelled
    quantity_paid: int  # on bills that are paid


@dataclass(slots=True)
class StockPosition:
    """Quantity and value of one item at one location, from the move ledger."""

    quantity: int = 0
    value_minor: int = 0


# ---------------------------------------------------------------------------- validation


def _invalid(code: SupplyError, message: str, **fields: object) -> DomainError:
    return DomainError(code, message, status=422, fields=dict(fields))


def clean_text(
    text: object, what: str, code: SupplyError, *, length_max: int, required: bool = True
) -> str | None:
    """Stripped text of at most `length_max` characters; None when optional and blank."""
    if text is None and not required:
        return None
    if not isinstance(text, str):
        raise _invalid(code, f"{what} must be text")
    cleaned = " ".join(text.split())
    if not cleaned:
        if required:
            raise _invalid(code, f"{what} must not be empty")
        return None
    if len(cleaned) > length_max:
        raise _invalid(code, f"{what} has at most {length_max} characters", value=cleaned[:40])
    return cleaned


def required_text(text: object, what: str, code: SupplyError, *, length_max: int) -> str:
    cleaned = clean_text(text, what, code, length_max=length_max)
    assert cleaned is not None
    return cleaned


def validate_sku(sku: object) -> str:
    if not isinstance(sku, str) or not _SKU.fullmatch(sku.strip()) or len(sku) > SKU_LENGTH_MAX:
        raise _invalid(
            SupplyError.ITEM_INVALID,
            f"SKU must be 1 to {SKU_LENGTH_MAX} letters, digits, '.', '_', '/' or '-'",
            sku=str(sku)[:SKU_LENGTH_MAX],
        )
    return sku.strip()


def validate_location_code(code: object) -> str:
    if not isinstance(code, str):
        raise _invalid(SupplyError.LOCATION_INVALID, "location code must be text")
    cleaned = code.strip().upper()
    if not _LOCATION_CODE.fullmatch(cleaned) or len(cleaned) > LOCATION_CODE_LENGTH_MAX:
        raise _invalid(
            SupplyError.LOCATION_INVALID,
            f"location code must be 1 to {LOCATION_CODE_LENGTH_MAX} letters, digits, '_' or '-'"
            " (e.g. KHI-WH)",
            location=code[:LOCATION_CODE_LENGTH_MAX],
        )
    return cleaned


def validate_quantity(quantity: object, what: str = "quantity", *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if type(quantity) is not int or not low <= quantity <= QUANTITY_MAX:
        raise _invalid(
            SupplyError.QUANTITY_INVALID,
            f"{what} must be a whole number from {low} to {QUANTITY_MAX}",
            value=str(quantity)[:20],
        )
    return quantity


def validate_unit_price(price: object, what: str = "unit_price_minor") -> int:
    if type(price) is not int or not 0 <= price <= UNIT_PRICE_MINOR_MAX:
        raise _invalid(
            SupplyError.PRICE_INVALID,
            f"{what} must be a whole number of minor units from 0 to {UNIT_PRICE_MINOR_MAX}",
            value=str(price)[:24],
        )
    return price


def validate_line_amount(quantity: int, unit_price_minor: int, sku: str) -> int:
    amount = quantity * unit_price_minor
    if amount > LINE_AMOUNT_MINOR_MAX:
        raise _invalid(
            SupplyError.PRICE_INVALID,
            f"{sku}: quantity times unit price is at most {LINE_AMOUNT_MINOR_MAX} minor units",
            sku=sku,
        )
    return amount


def validate_basis_points(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value <= TOLERANCE_BASIS_POINTS_MAX:
        raise _invalid(
            SupplyError.ORDER_INVALID,
            f"{what} must be basis points from 0 to {TOLERANCE_BASIS_POINTS_MAX}",
            value=str(value)[:20],
        )
    return value


def validate_days(value: object, what: str, maximum: int) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise _invalid(
            SupplyError.SUPPLIER_INVALID, f"{what} must be 0 to {maximum} days", value=value
        )
    return value


def validate_email(email: object) -> str | None:
    cleaned = clean_text(
        email, "email", SupplyError.SUPPLIER_INVALID, length_max=EMAIL_LENGTH_MAX, required=False
    )
    if cleaned is not None and not _EMAIL.fullmatch(cleaned):
        raise _invalid(SupplyError.SUPPLIER_INVALID, "email must look like name@example.pk")
    return cleaned


def validate_phone(phone: object) -> str | None:
    """A contact number (landlines too): digits, spaces, dashes, parentheses, a leading '+'."""
    cleaned = clean_text(
        phone, "phone", SupplyError.SUPPLIER_INVALID, length_max=PHONE_LENGTH_MAX, required=False
    )
    if cleaned is not None and not _PHONE.fullmatch(cleaned):
        raise _invalid(SupplyError.SUPPLIER_INVALID, "phone must be a telephone number")
    return cleaned


def validate_landed_costs(costs: Sequence[LandedCost]) -> tuple[LandedCost, ...]:
    if len(costs) > LANDED_COSTS_MAX:
        raise _invalid(SupplyError.RECEIPT_INVALID, f"at most {LANDED_COSTS_MAX} landed costs")
    cleaned = []
    for cost in costs:
        description = required_text(
            cost.description,
            "landed cost description",
            SupplyError.RECEIPT_INVALID,
            length_max=NAME_LENGTH_MAX,
        )
        if type(cost.amount_minor) is not int or not 0 < cost.amount_minor <= UNIT_PRICE_MINOR_MAX:
            raise _invalid(
                SupplyError.RECEIPT_INVALID,
                "a landed cost amount must be a positive whole number of minor units",
                description=description,
            )
        cleaned.append(LandedCost(description, cost.amount_minor))
    return tuple(cleaned)


def parse_valuation_rate(text: object) -> Decimal:
    """Units of the valuation currency per unit of another currency, as decimal text."""
    if (
        not isinstance(text, str)
        or len(text) > RATE_TEXT_LENGTH_MAX
        or not _RATE.fullmatch(text.strip())
    ):
        raise _invalid(
            SupplyError.VALUATION_RATE_INVALID,
            'valuation rate must be decimal text such as "278.45"',
            value=str(text)[:RATE_TEXT_LENGTH_MAX],
        )
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise _invalid(
            SupplyError.VALUATION_RATE_INVALID, "valuation rate is not a number"
        ) from None
    if rate <= 0:
        raise _invalid(SupplyError.VALUATION_RATE_INVALID, "valuation rate must be positive")
    return rate


# ---------------------------------------------------------------------------- purchasing rules


def tolerance_allowance(quantity_ordered: int, basis_points: int) -> int:
    """How many units more or fewer than ordered still count as the order delivered.

    Rounded down: a 5 % tolerance on 10 units allows 0 units, on 20 units 1 unit, so a
    tolerance never lets through more than it says.
    """
    return quantity_ordered * basis_points // BASIS_POINTS_PER_WHOLE


def check_delivery(
    sku: str, quantity_ordered: int, quantity_received: int, quantity_arriving: int, bp: int
) -> None:
    """Refuse a receipt that would take a line beyond its ordered quantity plus tolerance."""
    limit = quantity_ordered + tolerance_allowance(quantity_ordered, bp)
    if quantity_received + quantity_arriving > limit:
        raise DomainError(
            SupplyError.OVER_DELIVERY,
            f"{sku}: {quantity_received + quantity_arriving} received would exceed the "
            f"{quantity_ordered} ordered plus tolerance ({limit} at most); refuse the excess",
            status=409,
            fields={
                "sku": sku,
                "quantity_ordered": quantity_ordered,
                "quantity_received": quantity_received,
                "quantity_arriving": quantity_arriving,
                "quantity_max": limit,
            },
        )


def line_complete(quantity_ordered: int, quantity_received: int, bp: int) -> bool:
    """An under-delivery within tolerance counts as delivered."""
    return quantity_received >= quantity_ordered - tolerance_allowance(quantity_ordered, bp)


def purchase_order_status(
    current: PurchaseOrderStatus,
    lines: Sequence[OrderLineProgress],
    *,
    quantity_tolerance_basis_points: int,
    closed_short: bool,
) -> PurchaseOrderStatus:
    """The furthest stage every line has reached (drafts and cancelled orders stay so)."""
    if current in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
        return current
    received_any = any(line.quantity_received > 0 for line in lines)
    complete = closed_short or all(
        line_complete(
            line.quantity_ordered, line.quantity_received, quantity_tolerance_basis_points
        )
        for line in lines
    )
    if not complete:
        return PurchaseOrderStatus.PARTIALLY_RECEIVED if received_any else PurchaseOrderStatus.SENT
    if all(line.quantity_paid >= line.quantity_received for line in lines) and received_any:
        return PurchaseOrderStatus.PAID
    if all(line.quantity_billed >= line.quantity_received for line in lines) and received_any:
        return PurchaseOrderStatus.BILLED
    return PurchaseOrderStatus.RECEIVED


def three_way_match(
    order: PurchaseOrder, bill: Bill, quantity_billed_before: Mapping[uuid.UUID, int]
) -> MatchResult:
    """The bill against the order (prices) and the receipts (quantities).

    `quantity_billed_before` is, per order line, what other bills already committed to
    payment (paying or paid) charge for it: together they may not bill more than arrived.
    """
    found: list[Discrepancy] = []
    if order.status in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
        found.append(
            Discrepancy("order_not_open", f"purchase order {order.number} is {order.status}")
        )
    if bill.supplier_id != order.supplier_id:
        found.append(Discrepancy("supplier_mismatch", "the bill is from another supplier"))
    if bill.currency != order.currency:
        found.append(
            Discrepancy(
                "currency_mismatch", f"ordered in {order.currency}, billed in {bill.currency}"
            )
        )
    lines = {line.id: line for line in order.lines}
    for bill_line in bill.lines:
        ordered = (
            lines.get(bill_line.purchase_order_line_id)
            if bill_line.purchase_order_line_id
            else None
        )
        if ordered is None:
            found.append(
                Discrepancy(
                    "not_ordered",
                    f"{bill_line.sku} is not on purchase order {order.number}",
                    sku=bill_line.sku,
                    expected=0,
                    actual=bill_line.quantity,
                )
            )
            continue
        billable = ordered.quantity_received - quantity_billed_before.get(ordered.id, 0)
        if bill_line.quantity > billable:
            found.append(
                Discrepancy(
                    "quantity_not_received",
                    f"{bill_line.sku}: billed {bill_line.quantity}, received and not yet billed "
                    f"{max(billable, 0)}",
                    sku=bill_line.sku,
                    expected=max(billable, 0),
                    actual=bill_line.quantity,
                )
            )
        allowance = divide_rounded(
            ordered.unit_price_minor * order.price_tolerance_basis_points,
            BASIS_POINTS_PER_WHOLE,
            "floor",
        )
        if abs(bill_line.unit_price_minor - ordered.unit_price_minor) > allowance:
            found.append(
                Discrepancy(
                    "price_mismatch",
                    f"{bill_line.sku}: billed at {bill_line.unit_price_minor}, ordered at "
                    f"{ordered.unit_price_minor} (tolerance {allowance})",
                    sku=bill_line.sku,
                    expected=ordered.unit_price_minor,
                    actual=bill_line.unit_price_minor,
                )
            )
    return MatchResult(bill.id, matched=not found, discrepancies=tuple(found))


# ---------------------------------------------------------------------------- valuation rules


def average_unit_cost(quantity: int, value_minor: int) -> int:
    """Value per unit rounded half to even; 0 when nothing is held."""
    if quantity <= 0:
        return 0
    return divide_rounded(value_minor, quantity, "half_even")


def outgoing_value(
    quantity: int, quantity_on_hand: int, value_on_hand_minor: int, fallback_unit_cost_minor: int
) -> int:
    """The value `quantity` units take with them when they leave a location.

    Their share of the location's value, rounded half to even; the last units take exactly
    what is left. Beyond what is held (a location that may go negative) each extra unit
    goes at the location's average, or at `fallback_unit_cost_minor` when it holds nothing.
    """
    if quantity_on_hand <= 0:
        return quantity * fallback_unit_cost_minor
    if quantity >= quantity_on_hand:
        average = average_unit_cost(quantity_on_hand, value_on_hand_minor)
        return value_on_hand_minor + (quantity - quantity_on_hand) * average
    return divide_rounded(value_on_hand_minor * quantity, quantity_on_hand, "half_even")


def allocate_landed_cost(
    total_minor: int, line_values: Sequence[int], line_quantities: Sequence[int]
) -> list[int]:
    """Split a landed cost over receipt lines by their value, to the paisa.

    Largest remainder (kernel `allocate`), so the shares add up to the total exactly. Lines
    that are all free of charge share by quantity instead.
    """
    assert len(line_values) == len(line_quantities)
    if total_minor == 0:
        return [0] * len(line_values)
    ratios = list(line_values) if any(line_values) else list(line_quantities)
    shares = allocate(Money(total_minor, VALUATION_CURRENCY), ratios)
    return [share.amount_minor for share in shares]


def convert_to_valuation(amount_minor: int, currency: str, rate: Decimal | None) -> int:
    """An amount in `currency` in minor units of the valuation currency, half to even."""
    if currency == VALUATION_CURRENCY:
        return amount_minor
    assert rate is not None
    shift = currency_exponent(VALUATION_CURRENCY) - currency_exponent(currency)
    with localcontext() as context:
        context.prec = 60  # exact for every amount and rate we accept
        exact = Decimal(amount_minor) * rate * (Decimal(10) ** shift)
        converted = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if converted > AMOUNT_MINOR_MAX:
        raise _invalid(SupplyError.VALUATION_RATE_INVALID, "the converted value is too large")
    return converted
