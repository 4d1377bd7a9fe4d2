"""Plain data and the rules about it: no I/O.

The catalog (products with HS codes and tiered prices), marketplace orders and their state
machine, shipments with normalised tracking, export proceeds with SBP's realisation deadlines
and the deductions on realisation. Everything that depends on a regulation (deadlines, rates)
is configuration in `TradeSettings`, never a literal in a use case.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from tijarat.kernel.clock import NS_PER_S, PAKISTAN, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money, Rounding, currency_info, percent_of
from tijarat.trade.errors import TradeError

# ---------------------------------------------------------------------------- limits
SKU_LENGTH_MAX = 40
DESCRIPTION_LENGTH_MAX = 250
NAME_LENGTH_MAX = 140
ADDRESS_LENGTH_MAX = 400
PLACE_LENGTH_MAX = 100
NOTE_LENGTH_MAX = 400
ACTOR_LENGTH_MAX = 64
PRICE_TIERS_MAX = 20  # per product, all currencies together
ORDER_LINES_MAX = 200
QUANTITY_MAX = 10_000_000
WEIGHT_GRAMS_MAX = 100_000_000  # 100 tonnes a unit is already absurd
DIMENSION_MM_MAX = 20_000  # a 40-foot container is ~12 m long
PAGE_SIZE_MAX = 500
MARKETPLACE_ORDER_ID_LENGTH_MAX = 64
MESSAGE_ID_LENGTH_MAX = 64
CONNECTOR_NAME_LENGTH_MAX = 32
APP_KEY_LENGTH_MAX = 64
APP_SECRET_LENGTH_MIN = 16
APP_SECRET_LENGTH_MAX = 128
PUSH_BODY_MAX_BYTES = 256 * 1024  # an order with 200 lines is ~60 KiB of JSON
INBOX_BATCH_MAX = 200  # inbox rows processed per call
PULL_MESSAGES_MAX = 500  # messages taken from one pull
SWEEP_BATCH_MAX = 500  # orders one sweep moves per rule
TRACKING_EVENTS_MAX = 500  # per webhook call or import file
TRACKING_IMPORT_BYTES_MAX = 1024 * 1024
CARRIER_LENGTH_MAX = 32
TRACKING_NUMBER_LENGTH_MAX = 40
FINANCIAL_INSTRUMENT_LENGTH_MAX = 35
DAY_NS = 86_400 * NS_PER_S

# ---------------------------------------------------------------------------- ledger codes
# Account codes of trade's own accounts (the kind of account; the wallet uses 2xxx).
ACCOUNT_CODE_COLLECTION = 4_001  # what buyers paid through the marketplace (nostro, asset)
ACCOUNT_CODE_ESCROW = 4_002  # buyers' money held for one seller until release
ACCOUNT_CODE_SURCHARGE_PAYABLE = 4_011  # Export Development Surcharge owed
ACCOUNT_CODE_WITHHOLDING_TAX_PAYABLE = 4_012  # income tax withheld, s.154(1)
ACCOUNT_CODE_ADVANCE_TAX_PAYABLE = 4_013  # advance tax, s.147(6C)
# Transfer codes (why money moved).
TRANSFER_CODE_BUYER_PAYMENT = 4_101  # collection -> escrow, posted
TRANSFER_CODE_ESCROW_HOLD = 4_102  # escrow -> seller wallet, pending until release
TRANSFER_CODE_REFUND = 4_103  # escrow -> collection: back to the buyer
TRANSFER_CODE_SURCHARGE = 4_111
TRANSFER_CODE_WITHHOLDING_TAX = 4_112
TRANSFER_CODE_ADVANCE_TAX = 4_113

# The actors that are not people.
ACTOR_SYSTEM = "system"


# ---------------------------------------------------------------------------- errors
def invalid(code: TradeError, message: str, **fields: object) -> DomainError:
    return DomainError(code, message, status=422, fields=dict(fields))


def _text(value: object, name: str, limit: int, code: TradeError, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise invalid(code, f"{name} must be text", field=name)
    cleaned = " ".join(value.split())
    if (required and not cleaned) or len(cleaned) > limit:
        raise invalid(code, f"{name} must be 1 to {limit} characters", field=name)
    return cleaned


def _whole(value: object, name: str, low: int, high: int, code: TradeError) -> int:
    if type(value) is not int or not low <= value <= high:
        raise invalid(code, f"{name} must be a whole number from {low} to {high}", field=name)
    return value


# ---------------------------------------------------------------------------- catalog
HS_CODE_LENGTH = 8  # Pakistan Customs Tariff (PCT): the 6-digit HS plus 2 national digits
_HS_TEXT = re.compile(r"[0-9]{4}\.?[0-9]{2}\.?[0-9]{2}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
UNITS = frozenset(
    {"piece", "pair", "set", "dozen", "kg", "g", "litre", "metre", "square_metre", "carton", "bag"}
)


def parse_hs_code(text: object) -> str:
    """ "0813.10.00", "0813.1000" or "08131000" -> "08131000" (8-digit PCT code).

    The first two digits are the HS chapter: 01 to 97, chapter 77 being reserved.
    """
    if not isinstance(text, str) or not _HS_TEXT.fullmatch(text.strip()):
        raise invalid(
            TradeError.PRODUCT_INVALID,
            "HS code must be the 8-digit Pakistan Customs Tariff code such as 0813.10.00",
            field="hs_code",
            value=str(text)[:20],
        )
    digits = text.strip().replace(".", "")
    chapter = int(digits[:2])
    if not 1 <= chapter <= 97 or chapter == 77:
        raise invalid(
            TradeError.PRODUCT_INVALID,
            "HS chapter must be 01 to 97 (77 is reserved)",
            field="hs_code",
            value=digits,
        )
    return digits


def format_hs_code(digits: str) -> str:
    """ "08131000" -> "0813.10.00", as printed on invoices and goods declarations."""
    return f"{digits[:4]}.{digits[4:6]}.{digits[6:]}"


def parse_sku(text: object) -> str:
    if not isinstance(text, str) or not (
        0 < len(text.strip()) <= SKU_LENGTH_MAX and _SKU.fullmatch(text.strip())
    ):
        raise invalid(
            TradeError.PRODUCT_INVALID,
            f"SKU must be 1 to {SKU_LENGTH_MAX} letters, digits, '.', '_', '/' or '-'",
            field="sku",
            value=str(text)[:SKU_LENGTH_MAX],
        )
    return text.strip().upper()


@dataclass(frozen=True, slots=True)
class PriceTier:
    """From `minimum_quantity` units up, each unit costs `unit_price_minor` in `currency`."""

    currency: str
    minimum_quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class Packing:
    """How one unit is weighed and packed: what the packing list is computed from."""

    unit_net_weight_grams: int
    unit_gross_weight_grams: int
    units_per_package: int
    package_length_mm: int
    package_width_mm: int
    package_height_mm: int

    def check(self) -> Packing:
        code = TradeError.PRODUCT_INVALID
        _whole(self.unit_net_weight_grams, "unit_net_weight_grams", 1, WEIGHT_GRAMS_MAX, code)
        _whole(self.unit_gross_weight_grams, "unit_gross_weight_grams", 1, WEIGHT_GRAMS_MAX, code)
        if self.unit_gross_weight_grams < self.unit_net_weight_grams:
            raise invalid(code, "gross weight includes the packing: not below net weight")
        _whole(self.units_per_package, "units_per_package", 1, QUANTITY_MAX, code)
        for name in ("package_length_mm", "package_width_mm", "package_height_mm"):
            _whole(getattr(self, name), name, 1, DIMENSION_MM_MAX, code)
        return self

    def packages(self, quantity: int) -> int:
        """Whole packages for `quantity` units: the last one may be part full."""
        return -(-quantity // self.units_per_package)

    @property
    def package_volume_cubic_mm(self) -> int:
        return self.package_length_mm * self.package_width_mm * self.package_height_mm


@dataclass(frozen=True, slots=True)
class Product:
    business_id: uuid.UUID
    sku: str
    description: str
    hs_code: str  # 8-digit PCT code, digits only
    unit: str
    minimum_order_quantity: int
    packing: Packing
    price_tiers: tuple[PriceTier, ...]
    created_at: int
    updated_at: int

    @property
    def hs6(self) -> str:
        """The international 6-digit HS subheading the PCT code sits on."""
        return self.hs_code[:6]

    def unit_price(self, currency: str, quantity: int) -> Money:
        """The tier price for `quantity` units: the tier with the largest minimum reached."""
        if quantity < self.minimum_order_quantity:
            raise invalid(
                TradeError.BELOW_MINIMUM_ORDER_QUANTITY,
                f"{self.sku} sells from {self.minimum_order_quantity} {self.unit}",
                sku=self.sku,
                quantity=quantity,
                minimum_order_quantity=self.minimum_order_quantity,
            )
        reached = [
            tier
            for tier in self.price_tiers
            if tier.currency == currency and tier.minimum_quantity <= quantity
        ]
        if not reached:
            raise invalid(
                TradeError.PRICE_MISSING,
                f"{self.sku} has no {currency} price for {quantity} {self.unit}",
                sku=self.sku,
                currency=currency,
            )
        tier = max(reached, key=lambda candidate: candidate.minimum_quantity)
        return Money(tier.unit_price_minor, currency)


def check_product(
    sku: object,
    description: object,
    hs_code: object,
    unit: object,
    minimum_order_quantity: object,
    packing: Packing,
    price_tiers: Sequence[PriceTier],
) -> tuple[str, str, str, str, int, tuple[PriceTier, ...]]:
    """The normalised fields of a product, or a DomainError naming the first bad one."""
    code = TradeError.PRODUCT_INVALID
    clean_sku = parse_sku(sku)
    clean_description = _text(description, "description", DESCRIPTION_LENGTH_MAX, code)
    clean_hs = parse_hs_code(hs_code)
    if unit not in UNITS:
        raise invalid(code, f"unit must be one of {', '.join(sorted(UNITS))}", field="unit")
    assert isinstance(unit, str)
    moq = _whole(minimum_order_quantity, "minimum_order_quantity", 1, QUANTITY_MAX, code)
    packing.check()
    if not 0 < len(price_tiers) <= PRICE_TIERS_MAX:
        raise invalid(code, f"a product has 1 to {PRICE_TIERS_MAX} price tiers", field="prices")
    seen: set[tuple[str, int]] = set()
    by_currency: dict[str, list[PriceTier]] = {}
    for tier in price_tiers:
        currency_info(tier.currency)
        _whole(tier.minimum_quantity, "minimum_quantity", 1, QUANTITY_MAX, code)
        _whole(tier.unit_price_minor, "unit_price_minor", 1, (1 << 53), code)
        if (tier.currency, tier.minimum_quantity) in seen:
            raise invalid(code, "one price per currency and minimum quantity", field="prices")
        seen.add((tier.currency, tier.minimum_quantity))
        by_currency.setdefault(tier.currency, []).append(tier)
    for currency, tiers in by_currency.items():
        ordered = sorted(tiers, key=lambda tier: tier.minimum_quantity)
        if ordered[0].minimum_quantity > moq:
            # Otherwise a quantity between the MOQ and the first tier would have no price.
            raise invalid(
                code,
                f"the first {currency} tier must start at or below the minimum order quantity",
                field="prices",
                currency=currency,
            )
        for smaller, larger in itertools.pairwise(ordered):
            if larger.unit_price_minor > smaller.unit_price_minor:
                raise invalid(
                    code,
                    "bulk tiers must not cost more per unit",
                    field="prices",
                    currency=currency,
                )
    tiers_sorted = tuple(sorted(price_tiers, key=lambda t: (t.currency, t.minimum_quantity)))
    return clean_sku, clean_description, clean_hs, unit, moq, tiers_sorted


@dataclass(frozen=True, slots=True)
class Exporter:
    """The seller as it appears on export paperwork."""

    business_id: uuid.UUID
    name: str
    address: str
    city: str
    ntn: str  # National Tax Number, normalised by kernel.identifiers.Ntn
    email: str
    phone: str


# ---------------------------------------------------------------------------- connectors
_CONNECTOR_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_APP_KEY = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Connector:
    """A business's account at one marketplace. The secret is kept out of this object."""

    id: uuid.UUID
    business_id: uuid.UUID
    name: str  # "alibaba"
    app_key: str
    created_at: int
    pulled_until: int  # the newest event time a pull has taken, ns; 0 = never pulled


def check_connector(name: object, app_key: object, app_secret: object) -> tuple[str, str, str]:
    code = TradeError.CONNECTOR_INVALID
    if not isinstance(name, str) or not (
        len(name) <= CONNECTOR_NAME_LENGTH_MAX and _CONNECTOR_NAME.fullmatch(name)
    ):
        raise invalid(code, "connector name: lowercase letters, digits, '_' or '-'", field="name")
    if not isinstance(app_key, str) or not (
        len(app_key) <= APP_KEY_LENGTH_MAX and _APP_KEY.fullmatch(app_key)
    ):
        raise invalid(code, "app key: up to 64 letters, digits, '.', '_' or '-'", field="app_key")
    if not isinstance(app_secret, str) or not (
        APP_SECRET_LENGTH_MIN <= len(app_secret) <= APP_SECRET_LENGTH_MAX
        and app_secret.isascii()
        and app_secret.isprintable()
    ):
        raise invalid(
            code,
            f"app secret: {APP_SECRET_LENGTH_MIN} to {APP_SECRET_LENGTH_MAX} printable ASCII",
            field="app_secret",
        )
    return name, app_key, app_secret


class MessageType(StrEnum):
    """What a marketplace message says happened (Alibaba's statuses in brackets)."""

    ORDER_CREATED = "order_created"  # unpay
    ORDER_PAID = "order_paid"  # paid: the buyer's money is with the marketplace
    ORDER_CANCELLED = "order_cancelled"  # trade_close before payment
    RECEIPT_CONFIRMED = "receipt_confirmed"  # trade_success: the buyer confirms receipt
    DISPUTE_OPENED = "dispute_opened"  # frozen


# ---------------------------------------------------------------------------- orders
class Incoterm(StrEnum):
    """Incoterms 2020."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"

    @property
    def sea_only(self) -> bool:
        """FAS, FOB, CFR and CIF are for sea and inland waterway transport only."""
        return self in {Incoterm.FAS, Incoterm.FOB, Incoterm.CFR, Incoterm.CIF}


class OrderStatus(StrEnum):
    RECEIVED = "received"
    CONFIRMED = "confirmed"  # stock reserved
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"  # the buyer's money is in escrow
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"  # escrow released to the seller
    CANCELLED = "cancelled"  # before payment: nothing to give back
    DISPUTED = "disputed"  # escrow frozen until resolved
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"

    @property
    def terminal(self) -> bool:
        return not TRANSITIONS[self]


S = OrderStatus
# The whole state machine: every legal move, and nothing else.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        S.RECEIVED: frozenset({S.CONFIRMED, S.CANCELLED}),
        S.CONFIRMED: frozenset({S.AWAITING_PAYMENT, S.CANCELLED}),
        S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
        # A seller who cannot ship after payment refunds in full.
        S.PAID: frozenset({S.PACKED, S.REFUNDED}),
        S.PACKED: frozenset({S.SHIPPED, S.REFUNDED}),
        S.SHIPPED: frozenset({S.DELIVERED, S.DISPUTED}),
        S.DELIVERED: frozenset({S.COMPLETED, S.DISPUTED}),
        S.DISPUTED: frozenset({S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.COMPLETED: frozenset(),
        S.CANCELLED: frozenset(),
        S.REFUNDED: frozenset(),
        S.PARTIALLY_REFUNDED: frozenset(),
    }
)
# The states in which the buyer's money sits in escrow.
ESCROW_HELD = frozenset({S.PAID, S.PACKED, S.SHIPPED, S.DELIVERED, S.DISPUTED})
UNPAID = frozenset({S.RECEIVED, S.CONFIRMED, S.AWAITING_PAYMENT})


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Refuse a move the state machine does not have, with a clear 409."""
    if target not in TRANSITIONS[current]:
        allowed = sorted(status.value for status in TRANSITIONS[current])
        raise DomainError(
            TradeError.ILLEGAL_TRANSITION,
            f"an order that is {current.value} cannot become {target.value}"
            + (f" (it may become: {', '.join(allowed)})" if allowed else " (it is final)"),
            status=409,
            fields={"from": current.value, "to": target.value, "allowed": allowed},
        )


@dataclass(frozen=True, slots=True)
class Buyer:
    company: str
    contact_name: str
    email: str
    country: str  # ISO 3166-1 alpha-2
    address: str  # the shipping address, lines joined with ", "


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line, with the catalog facts copied in when the order arrived (paperwork later
    must show what was sold, even if the catalog has changed since)."""

    id: uuid.UUID  # the stock reservation's reference
    line_number: int
    sku: str
    description: str
    hs_code: str
    unit: str
    quantity: int
    unit_price_minor: int
    packing: Packing

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor

    @property
    def net_weight_grams(self) -> int:
        return self.quantity * self.packing.unit_net_weight_grams

    @property
    def gross_weight_grams(self) -> int:
        return self.quantity * self.packing.unit_gross_weight_grams

    @property
    def packages(self) -> int:
        return self.packing.packages(self.quantity)


@dataclass(frozen=True, slots=True)
class Order:
    id: uuid.UUID
    business_id: uuid.UUID
    connector_id: uuid.UUID | None
    marketplace_order_id: str
    buyer: Buyer
    incoterm: Incoterm
    incoterm_place: str
    currency: str
    goods_minor: int
    shipping_minor: int
    status: OrderStatus
    created_at: int
    updated_at: int
    lines: tuple[OrderLine, ...]
    paid_at: int | None = None
    payment_reference: str | None = None
    shipped_at: int | None = None
    delivered_at: int | None = None
    completed_at: int | None = None
    dispute_opened_at: int | None = None
    dispute_reason: str | None = None
    refund_minor: int = 0
    note: str | None = None  # why the order waits (e.g. not enough stock to confirm)
    stock_reserved_at: int | None = None
    stock_released_at: int | None = None
    stock_fulfilled_at: int | None = None
    escrow_held_at: int | None = None
    escrow_settled_at: int | None = None
    effects_due: bool = False
    effect_error: str | None = None
    version: int = 1

    @property
    def total_minor(self) -> int:
        return self.goods_minor + self.shipping_minor

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)

    @property
    def seller_amount_minor(self) -> int:
        """What the seller keeps once escrow is settled (all of it unless refunded)."""
        return self.total_minor - self.refund_minor

    @property
    def invoice_number(self) -> str:
        # The random tail of the UUIDv7: unique in practice, short enough to print.
        return f"INV-{self.id.hex[-10:].upper()}"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    seq: int
    order_id: uuid.UUID
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    at: int
    note: str


class DisputeOutcome(StrEnum):
    RELEASE = "release"  # the seller keeps everything
    PARTIAL_REFUND = "partial_refund"
    FULL_REFUND = "full_refund"


def check_actor(actor: object) -> str:
    return _text(actor, "actor", ACTOR_LENGTH_MAX, TradeError.ORDER_INVALID)


def check_note(note: object, name: str = "note") -> str:
    return _text(note, name, NOTE_LENGTH_MAX, TradeError.ORDER_INVALID, required=False)


# ---------------------------------------------------------------------------- shipments
class ShipmentMode(StrEnum):
    SEA = "sea"
    AIR = "air"
    COURIER = "courier"  # express air (DHL, FedEx, UPS): an air waybill too
    ROAD = "road"  # e.g. through Khunjerab or Torkham

    @property
    def transport_document(self) -> str:
        if self is ShipmentMode.SEA:
            return "B/L"
        if self is ShipmentMode.ROAD:
            return "CMR"
        return "AWB"


class TrackingStatus(StrEnum):
    """The normalised carrier statuses (AfterShip's set)."""

    INFO_RECEIVED = "InfoReceived"
    IN_TRANSIT = "InTransit"
    OUT_FOR_DELIVERY = "OutForDelivery"
    ATTEMPT_FAIL = "AttemptFail"
    DELIVERED = "Delivered"
    AVAILABLE_FOR_PICKUP = "AvailableForPickup"
    EXCEPTION = "Exception"
    EXPIRED = "Expired"
    PENDING = "Pending"


T = TrackingStatus
# What carriers say, per carrier, lower-cased; the normalised names are accepted from all.
CARRIER_STATUSES: Mapping[str, Mapping[str, TrackingStatus]] = MappingProxyType(
    {
        # DHL Shipment Tracking - Unified API: status.statusCode
        "dhl": MappingProxyType(
            {
                "pre-transit": T.INFO_RECEIVED,
                "transit": T.IN_TRANSIT,
                "delivered": T.DELIVERED,
                "failure": T.EXCEPTION,
                "unknown": T.PENDING,
                "out for delivery": T.OUT_FOR_DELIVERY,
                "delivery attempted": T.ATTEMPT_FAIL,
                "ready for pickup": T.AVAILABLE_FOR_PICKUP,
            }
        ),
        # FedEx Track API: latestStatusDetail.code
        "fedex": MappingProxyType(
            {
                "oc": T.INFO_RECEIVED,  # label created
                "pu": T.IN_TRANSIT,  # picked up
                "it": T.IN_TRANSIT,
                "ar": T.IN_TRANSIT,  # arrived at facility
                "dp": T.IN_TRANSIT,  # departed facility
                "cc": T.IN_TRANSIT,  # cleared customs
                "od": T.OUT_FOR_DELIVERY,
                "da": T.ATTEMPT_FAIL,  # delivery attempted
                "dl": T.DELIVERED,
                "hl": T.AVAILABLE_FOR_PICKUP,  # hold at location
                "de": T.EXCEPTION,  # delivery exception
                "se": T.EXCEPTION,  # shipment exception
                "ca": T.EXCEPTION,  # cancelled
            }
        ),
        # UPS Tracking API: currentStatus.type
        "ups": MappingProxyType(
            {
                "m": T.INFO_RECEIVED,  # manifest
                "p": T.IN_TRANSIT,  # pickup
                "i": T.IN_TRANSIT,
                "o": T.OUT_FOR_DELIVERY,
                "d": T.DELIVERED,
                "x": T.EXCEPTION,
                "rs": T.EXCEPTION,  # returned to sender
                "mv": T.EXPIRED,  # manifest voided
                "np": T.PENDING,  # no tracking information yet
            }
        ),
        # TCS (Pakistan) tracking statuses
        "tcs": MappingProxyType(
            {
                "booked": T.INFO_RECEIVED,
                "arrived at origin": T.IN_TRANSIT,
                "departed": T.IN_TRANSIT,
                "arrived at destination": T.IN_TRANSIT,
                "out for delivery": T.OUT_FOR_DELIVERY,
                "delivered": T.DELIVERED,
                "refused": T.ATTEMPT_FAIL,
                "consignee not available": T.ATTEMPT_FAIL,
                "returned to shipper": T.EXCEPTION,
            }
        ),
        # Ocean carriers (DCSA Track & Trace event codes)
        "maersk": MappingProxyType(
            {
                "rece": T.INFO_RECEIVED,  # received for shipment
                "load": T.IN_TRANSIT,
                "depa": T.IN_TRANSIT,
                "arri": T.IN_TRANSIT,
                "disc": T.IN_TRANSIT,  # discharged at port of discharge
                "avpu": T.AVAILABLE_FOR_PICKUP,
                "dlvr": T.DELIVERED,
            }
        ),
    }
)
_NORMALISED = {status.value.lower(): status for status in TrackingStatus}


def normalise_tracking_status(carrier: str, carrier_status: str) -> TrackingStatus:
    """Map a carrier's status text to the normalised set; an unknown status is refused
    (422) rather than guessed, so a new carrier status is noticed, not mis-filed."""
    key = " ".join(carrier_status.strip().lower().split())
    found = _NORMALISED.get(key.replace(" ", "")) or CARRIER_STATUSES.get(
        carrier.strip().lower(), {}
    ).get(key)
    if found is None:
        raise invalid(
            TradeError.TRACKING_STATUS_UNKNOWN,
            f"unknown status {carrier_status!r} for carrier {carrier!r}",
            carrier=carrier[:CARRIER_LENGTH_MAX],
            carrier_status=carrier_status[:64],
        )
    return found


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    seq: int
    shipment_id: uuid.UUID
    event_key: str
    carrier_status: str
    status: TrackingStatus
    location: str
    occurred_at: int
    received_at: int
    source: str  # "webhook" or "import"


@dataclass(frozen=True, slots=True)
class Shipment:
    id: uuid.UUID
    business_id: uuid.UUID
    order_id: uuid.UUID
    carrier: str
    tracking_number: str
    mode: ShipmentMode
    transport_document_number: str  # the B/L, AWB or CMR number
    port_of_loading: str
    port_of_discharge: str
    shipped_at: int
    status: TrackingStatus
    status_at: int
    events: tuple[TrackingEvent, ...] = ()


# ---------------------------------------------------------------------------- export proceeds
class Instrument(StrEnum):
    """The kind of PSW Financial Instrument the bank issued for the export."""

    LETTER_OF_CREDIT = "letter_of_credit"
    CONTRACT = "contract"  # collection documents: D/P, D/A, CAD
    ADVANCE_PAYMENT = "advance_payment"
    OPEN_ACCOUNT = "open_account"
    E_COMMERCE = "e_commerce"  # B2C: no E-Form up to the threshold


class RealisationCase(StrEnum):
    """The cases of SBP's rule on when export proceeds must be realised."""

    GENERAL = "general"  # 120 days
    SIGHT = "sight"  # sight, D/P, CAD: 45 days
    USANCE = "usance"  # 120-day usance: 135 days
    DISCOUNTED = "discounted"  # receivable discounted through a bank: 180 days
    B2C_ECOMMERCE = "b2c_ecommerce"  # 60 days


class ProceedsStatus(StrEnum):
    AWAITING_SHIPMENT = "awaiting_shipment"
    OUTSTANDING = "outstanding"  # shipped, proceeds not yet realised
    REALISED = "realised"
    REFUNDED = "refunded"  # everything went back to the buyer: nothing to realise


class DeductionKind(StrEnum):
    EXPORT_DEVELOPMENT_SURCHARGE = "export_development_surcharge"
    WITHHOLDING_TAX = "withholding_tax"  # income tax, s.154(1)
    ADVANCE_TAX = "advance_tax"  # s.147(6C)


@dataclass(frozen=True, slots=True)
class DeductionRate:
    kind: DeductionKind
    basis_points: int  # 25 = 0.25 %
    effective_from: date
    effective_until: date | None = None  # exclusive; None = still in force

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )


DEFAULT_DEDUCTION_RATES: tuple[DeductionRate, ...] = (
    DeductionRate(DeductionKind.EXPORT_DEVELOPMENT_SURCHARGE, 25, date(1991, 7, 1)),
    DeductionRate(DeductionKind.WITHHOLDING_TAX, 100, date(2001, 7, 1)),
    DeductionRate(DeductionKind.ADVANCE_TAX, 100, date(2024, 7, 1)),
)
DEFAULT_REALISATION_DAYS: Mapping[RealisationCase, int] = MappingProxyType(
    {
        RealisationCase.GENERAL: 120,
        RealisationCase.SIGHT: 45,
        RealisationCase.USANCE: 135,
        RealisationCase.DISCOUNTED: 180,
        RealisationCase.B2C_ECOMMERCE: 60,
    }
)


@dataclass(frozen=True, slots=True)
class Deduction:
    kind: DeductionKind
    basis_points: int
    amount_minor: int


def compute_deductions(
    gross: Money, on: date, rates: Sequence[DeductionRate], rounding: Rounding
) -> tuple[Deduction, ...]:
    """Each deduction in force on `on`, as integer minor units of `gross` rounded by
    `rounding` one deduction at a time (each is a separate payable)."""
    found: list[Deduction] = []
    for kind in DeductionKind:
        rate = next((rate for rate in rates if rate.kind is kind and rate.applies_on(on)), None)
        if rate is None:
            continue
        amount = percent_of(gross, rate.basis_points, rounding).amount_minor
        found.append(Deduction(kind, rate.basis_points, amount))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class ExportProceeds:
    order_id: uuid.UUID
    business_id: uuid.UUID
    financial_instrument_reference: str | None
    instrument: Instrument
    realisation_case: RealisationCase
    status: ProceedsStatus
    currency: str
    invoiced_minor: int
    created_at: int
    shipment_mode: ShipmentMode | None = None
    shipped_at: int | None = None
    deadline_at: int | None = None
    realised_at: int | None = None
    realised_minor: int | None = None  # in the order's currency
    converted_minor: int | None = None  # PKR, before deductions
    conversion_rate: str | None = None
    deductions: tuple[Deduction, ...] = ()

    @property
    def deductions_minor(self) -> int:
        return sum(deduction.amount_minor for deduction in self.deductions)

    @property
    def net_minor(self) -> int | None:
        """PKR the seller keeps after the deductions."""
        return (
            None if self.converted_minor is None else self.converted_minor - self.deductions_minor
        )

    @property
    def realised_late(self) -> bool:
        return (
            self.realised_at is not None
            and self.deadline_at is not None
            and self.realised_at > self.deadline_at
        )


E_FORM_EXEMPT_USD_MINOR = 5_000_00  # B2C e-commerce: no E-Form up to USD 5,000 a consignment


def check_export_details(
    reference: str | None,
    instrument: Instrument,
    case: RealisationCase,
    total: Money,
) -> str | None:
    """The Financial Instrument reference is required, except for a B2C e-commerce export
    of up to USD 5,000 (no E-Form, so no instrument)."""
    exempt = (
        case is RealisationCase.B2C_ECOMMERCE
        and total.currency == "USD"
        and total.amount_minor <= E_FORM_EXEMPT_USD_MINOR
    )
    if case is RealisationCase.B2C_ECOMMERCE and instrument is not Instrument.E_COMMERCE:
        raise invalid(
            TradeError.EXPORT_INVALID, "a B2C e-commerce export uses the e_commerce instrument"
        )
    if reference is None or not reference.strip():
        if exempt:
            return None
        raise invalid(
            TradeError.EXPORT_INVALID,
            "the PSW Financial Instrument reference is required for this export",
            field="financial_instrument_reference",
        )
    cleaned = reference.strip().upper()
    if len(cleaned) > FINANCIAL_INSTRUMENT_LENGTH_MAX or not re.fullmatch(
        r"[A-Z0-9][A-Z0-9/-]*", cleaned
    ):
        raise invalid(
            TradeError.EXPORT_INVALID,
            "the Financial Instrument reference is up to 35 letters, digits, '/' or '-'",
            field="financial_instrument_reference",
        )
    return cleaned


def realisation_deadline(
    shipped_at: int, case: RealisationCase, days: Mapping[RealisationCase, int]
) -> int:
    """Proceeds are due by the end of the day (Pakistan time) `days[case]` days after the
    shipment date."""
    last_day = pakistan_date(shipped_at) + timedelta(days=days[case])
    return to_ns(datetime.combine(last_day, time.max, PAKISTAN))


class ProceedsStanding(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ON_TIME = "on_time"


@dataclass(frozen=True, slots=True)
class ProceedsReportRow:
    order_id: uuid.UUID
    marketplace_order_id: str
    buyer_company: str
    invoiced_minor: int
    currency: str
    financial_instrument_reference: str | None
    realisation_case: RealisationCase
    shipped_at: int
    deadline_at: int
    days_left: int  # negative once overdue
    standing: ProceedsStanding


def pakistan_date(ns: int) -> date:
    return from_ns(ns).astimezone(PAKISTAN).date()


# ---------------------------------------------------------------------------- settings
@dataclass(frozen=True, slots=True)
class TradeSettings:
    """Every rule that is policy rather than logic (SBP, FBR, the marketplace)."""

    auto_release_days: int = 15  # escrow released this long after delivery if nobody acts
    unpaid_close_days: int = 20  # the marketplace closes unpaid orders after 20 days
    dispute_window_days: int = 30  # a buyer may claim up to 30 days after receipt
    realisation_days: Mapping[RealisationCase, int] = field(
        default_factory=lambda: DEFAULT_REALISATION_DAYS
    )
    deduction_rates: tuple[DeductionRate, ...] = DEFAULT_DEDUCTION_RATES
    # Each deduction is rounded to the paisa, ties away from zero (as FBR's calculators do).
    deduction_rounding: Rounding = "half_up"
    proceeds_warning_days: int = 15  # "nearing the deadline" in the report
    home_currency: str = "PKR"
    auto_confirm: bool = True  # confirm (reserve stock) as soon as a marketplace order arrives
    push_body_max_bytes: int = PUSH_BODY_MAX_BYTES


# ---------------------------------------------------------------------------- use-case results
class InboxOutcome(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"  # the same event came again (push and pull, retries)
    REJECTED = "rejected"  # checked and refused: the error says why


@dataclass(frozen=True, slots=True)
class PushReceipt:
    message_id: str
    duplicate: bool  # already in the inbox: nothing new was stored


@dataclass(frozen=True, slots=True)
class InboxEntry:
    seq: int
    connector_id: uuid.UUID
    message_id: str
    message_type: str
    source: str
    received_at: int
    processed_at: int | None
    outcome: InboxOutcome | None
    error: str | None
    order_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class InboxReport:
    applied: int = 0
    already_applied: int = 0
    rejected: int = 0
    waiting: int = 0  # about an order not yet received: tried again later
    failed: int = 0  # an unexpected error (database, a bug): left unprocessed, tried again


@dataclass(frozen=True, slots=True)
class PullReport:
    received: int
    duplicates: int
    pulled_until: int
    processed: InboxReport


@dataclass(frozen=True, slots=True)
class SweepReport:
    auto_released: int
    closed_unpaid: int
    effects_finished: int
    auto_confirmed: int = 0  # marketplace orders a crash left unconfirmed
    inbox_applied: int = 0  # inbox messages applied by the sweep (they had been waiting)


@dataclass(frozen=True, slots=True)
class TrackingInput:
    carrier_status: str
    occurred_at: int
    location: str = ""
    event_id: str | None = None  # the carrier's own id for the event, when it has one


@dataclass(frozen=True, slots=True)
class TrackingImportReport:
    accepted: int
    duplicates: int
    errors: tuple[str, ...]
