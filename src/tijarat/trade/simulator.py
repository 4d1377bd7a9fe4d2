"""A marketplace simulator, so the whole order story can be tried without the real one.

- `MarketplaceSimulator` plays the marketplace: it makes realistic orders for a business's
  catalog (buyer companies abroad, quantities at or above the MOQ, prices from the tier
  table, an Incoterm and a shipping address), signs each push as the marketplace does
  (hex HMAC-SHA256 of app key + raw body with the app secret), pushes over HTTP (any
  `httpx.Client`, FastAPI's `TestClient` included) or in-process, and answers pulls
  (`MarketplaceClient`) with every message it has sent, as the real one answers a catch-up.
- `SimulatedStock` and `FixedRateWallets` stand in for the supply and wallet contexts when
  trade runs on its own (tests, a demo without them): stock on a shelf in memory, and wallet
  accounts on real ledger accounts converting at fixed rates the caller gives.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from tijarat.kernel.clock import Clock, from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money, currency_exponent, currency_numeric, divide_rounded
from tijarat.ledger.model import TRANSFER_SUCCESS, Account, AccountFlags, Transfer, TransferFlags
from tijarat.ledger.service import LedgerService
from tijarat.trade.errors import TradeError
from tijarat.trade.marketplace import APP_KEY_HEADER, MarketplaceMessage, sign
from tijarat.trade.model import (
    Connector,
    Incoterm,
    MessageType,
    Packing,
    PriceTier,
    Product,
    PushReceipt,
)
from tijarat.trade.ports import Conversion
from tijarat.trade.service import TradeService

SIMULATOR_NAMESPACE = uuid.UUID("0b7e4f0c-6d2a-4e1b-8c3d-9f8e7a6b5c4d")
ORDER_LINES_SIMULATED_MAX = 3
QUANTITY_STEPS_MAX = 4  # quantities run from the MOQ to this many MOQs


# ---------------------------------------------------------------------------- the catalog
@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    description: str
    hs_code: str
    unit: str
    minimum_order_quantity: int
    packing: Packing
    price_tiers: tuple[PriceTier, ...]


def _usd(*tiers: tuple[int, str]) -> tuple[PriceTier, ...]:
    return tuple(
        PriceTier("USD", quantity, Money.parse(price, "USD").amount_minor)
        for quantity, price in tiers
    )


# What a small Skardu business sells abroad: Baltistan's apricots, walnuts and crafts.
SKARDU_CATALOG: tuple[CatalogItem, ...] = (
    CatalogItem(
        "APR-DRY-1KG",
        "Sun-dried Skardu apricots, 1 kg pouch",
        "0813.10.00",
        "kg",
        100,
        Packing(1_000, 1_050, 20, 500, 400, 300),
        _usd((100, "6.50"), (500, "5.90"), (2_000, "5.20")),
    ),
    CatalogItem(
        "APR-KERNEL-OIL",
        "Cold-pressed apricot kernel oil, 100 ml glass bottle",
        "1515.90.90",
        "piece",
        200,
        Packing(92, 180, 48, 400, 300, 200),
        _usd((200, "4.80"), (1_000, "4.20")),
    ),
    CatalogItem(
        "WAL-INSHELL",
        "Baltistan walnuts in shell",
        "0802.31.00",
        "kg",
        200,
        Packing(1_000, 1_020, 25, 600, 400, 250),
        _usd((200, "3.90"), (1_000, "3.40")),
    ),
    CatalogItem(
        "SHAWL-PASH",
        "Hand-woven pashmina shawl, 70 x 200 cm",
        "6214.20.00",
        "piece",
        20,
        Packing(250, 320, 20, 500, 400, 300),
        _usd((20, "38.00"), (100, "33.00")),
    ),
    CatalogItem(
        "CARPET-WOOL-4X6",
        "Hand-knotted Balti wool carpet, 4 x 6 ft",
        "5701.10.10",
        "piece",
        5,
        Packing(9_000, 9_600, 1, 1_300, 300, 300),
        _usd((5, "210.00"), (20, "185.00")),
    ),
)


def load_catalog(
    service: TradeService,
    business_id: uuid.UUID,
    items: Sequence[CatalogItem] = SKARDU_CATALOG,
) -> list[Product]:
    return [
        service.put_product(
            business_id,
            item.sku,
            item.description,
            item.hs_code,
            item.unit,
            item.minimum_order_quantity,
            item.packing,
            item.price_tiers,
        )
        for item in items
    ]


@dataclass(frozen=True, slots=True)
class SimulatedBuyer:
    company: str
    contact_name: str
    email: str
    country: str
    address: str
    port: str


BUYERS: tuple[SimulatedBuyer, ...] = (
    SimulatedBuyer(
        "Alpenkost Feinkost GmbH",
        "Katrin Vogel",
        "einkauf@alpenkost.example",
        "DE",
        "Hafenstraße 12, 20457 Hamburg",
        "Hamburg",
    ),
    SimulatedBuyer(
        "Nordic Pantry AB",
        "Johan Lindqvist",
        "orders@nordicpantry.example",
        "SE",
        "Frihamnen 4, 417 70 Göteborg",
        "Gothenburg",
    ),
    SimulatedBuyer(
        "Gulf Fine Foods LLC",
        "Omar Al Mansoori",
        "buying@gulffinefoods.example",
        "AE",
        "Warehouse 7, Jebel Ali Free Zone, Dubai",
        "Jebel Ali",
    ),
    SimulatedBuyer(
        "Maple & Stone Trading Ltd",
        "Priya Natarajan",
        "purchasing@maplestone.example",
        "CA",
        "220 Export Blvd, Mississauga ON L5S 1Y3",
        "Toronto",
    ),
    SimulatedBuyer(
        "Harbour Road Imports Ltd",
        "Tom Whitfield",
        "tom@harbourroad.example",
        "GB",
        "Unit 3, Harbour Road, Felixstowe IP11 3SX",
        "Felixstowe",
    ),
    SimulatedBuyer(
        "Sakura Natural Co., Ltd.",
        "Yuki Tanaka",
        "import@sakuranatural.example",
        "JP",
        "2-1 Kaigan, Minato-ku, Tokyo 105-0022",
        "Tokyo",
    ),
)
# Named places: at origin for the F and E terms, at destination for the C and D terms.
_ORIGIN_TERMS = {
    Incoterm.EXW: "Skardu",
    Incoterm.FCA: "Karachi",
    Incoterm.FAS: "Karachi Port",
    Incoterm.FOB: "Karachi Port",
}


# ---------------------------------------------------------------------------- the marketplace
@dataclass(slots=True)
class SimulatedOrder:
    order_id: str
    data: dict[str, Any]
    total: Money


@dataclass(slots=True)
class MarketplaceSimulator:
    """One business's app at a simulated marketplace."""

    name: str
    app_key: str
    app_secret: str
    clock: Clock
    seed: int = 2026
    catalog: list[Product] = field(default_factory=list)  # what order_created picks from
    orders: dict[str, SimulatedOrder] = field(default_factory=dict)
    messages: list[MarketplaceMessage] = field(default_factory=list)
    _random: random.Random = field(init=False)
    _serial: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - simulated orders, not secrets

    def _next(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self.seed % 10_000:04d}{self._serial:07d}"

    def _message(self, message_type: MessageType, data: Mapping[str, Any]) -> MarketplaceMessage:
        message = MarketplaceMessage(
            message_id=self._next("MSG"),
            message_type=message_type,
            occurred_at=from_ns(self.clock.now_ns()),
            data=data,
        )
        self.messages.append(message)
        return message

    # ------------------------------------------------------------------ orders and events
    def order_created(
        self,
        catalog: Sequence[Product] | None = None,
        *,
        currency: str = "USD",
        incoterm: Incoterm | None = None,
        lines: Sequence[tuple[str, int]] | None = None,
        shipping_fee: Money | None = None,
        buyer: SimulatedBuyer | None = None,
    ) -> MarketplaceMessage:
        """A new order: by default 1 to 3 random products at MOQ-or-more quantities (whole
        packages), priced from the tier table."""
        priced = [
            product
            for product in (self.catalog if catalog is None else catalog)
            if any(t.currency == currency for t in product.price_tiers)
        ]
        if not priced:
            raise ValueError(f"no product in the catalog has a {currency} price")
        by_sku = {product.sku: product for product in priced}
        if lines is None:
            chosen = self._random.sample(
                priced, k=min(len(priced), self._random.randint(1, ORDER_LINES_SIMULATED_MAX))
            )
            lines = [(product.sku, self._quantity(product)) for product in chosen]
        buyer = buyer or self._random.choice(BUYERS)
        incoterm = incoterm or self._random.choice(list(Incoterm))
        if shipping_fee is None:
            # C and D terms: the seller pays the carriage and charges it on the invoice.
            carriage = incoterm.value[0] in {"C", "D"}
            shipping_fee = Money(self._random.randint(80, 400) * 100 if carriage else 0, currency)
        order_lines = []
        goods = Money.zero(currency)
        for sku, quantity in lines:
            price = by_sku[sku].unit_price(currency, quantity)
            goods += price * quantity
            order_lines.append({"sku": sku, "quantity": quantity, "unit_price": _text(price)})
        total = goods + shipping_fee
        order_id = self._next("AB")
        data: dict[str, Any] = {
            "order_id": order_id,
            "buyer": {
                "company": buyer.company,
                "contact_name": buyer.contact_name,
                "email": buyer.email,
                "country": buyer.country,
                "address": buyer.address,
            },
            "currency": currency,
            "incoterm": incoterm.value,
            "incoterm_place": _ORIGIN_TERMS.get(incoterm, buyer.port),
            "lines": order_lines,
            "shipping_fee": _text(shipping_fee),
            "total": _text(total),
        }
        self.orders[order_id] = SimulatedOrder(order_id, data, total)
        return self._message(MessageType.ORDER_CREATED, data)

    def _quantity(self, product: Product) -> int:
        steps = self._random.randint(1, QUANTITY_STEPS_MAX)
        quantity = product.minimum_order_quantity * steps
        per_package = product.packing.units_per_package
        return -(-quantity // per_package) * per_package  # whole packages

    def order_paid(self, order_id: str) -> MarketplaceMessage:
        order = self.orders[order_id]
        return self._message(
            MessageType.ORDER_PAID,
            {
                "order_id": order_id,
                "amount": _text(order.total),
                "currency": order.total.currency,
                "payment_reference": self._next("PAY"),
            },
        )

    def order_cancelled(
        self, order_id: str, reason: str = "buyer changed plans"
    ) -> MarketplaceMessage:
        return self._message(MessageType.ORDER_CANCELLED, {"order_id": order_id, "reason": reason})

    def receipt_confirmed(self, order_id: str) -> MarketplaceMessage:
        return self._message(MessageType.RECEIPT_CONFIRMED, {"order_id": order_id})

    def dispute_opened(self, order_id: str, reason: str) -> MarketplaceMessage:
        return self._message(MessageType.DISPUTE_OPENED, {"order_id": order_id, "reason": reason})

    # ------------------------------------------------------------------ pushing
    def signed(
        self, message: MarketplaceMessage, *, app_key_in_header: bool = True
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers of a push, signed as the marketplace signs it."""
        document = json.loads(message.body())
        if not app_key_in_header:
            document["app_key"] = self.app_key
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": sign(self.app_secret, self.app_key, body),
        }
        if app_key_in_header:
            headers[APP_KEY_HEADER] = self.app_key
        return body, headers

    def push(self, http: httpx.Client, message: MarketplaceMessage) -> httpx.Response:
        """POST the signed push to /v1/marketplace/{name}/push on `http`'s base URL."""
        body, headers = self.signed(message)
        return http.post(f"/v1/marketplace/{self.name}/push", content=body, headers=headers)

    def push_in_process(self, service: TradeService, message: MarketplaceMessage) -> PushReceipt:
        body, headers = self.signed(message)
        return service.receive_push(self.name, body, headers["Authorization"], self.app_key)

    # ------------------------------------------------------------------ MarketplaceClient
    def pull_orders(self, connector: Connector, since: datetime) -> Sequence[MarketplaceMessage]:
        if connector.app_key != self.app_key:
            return []
        return [message for message in self.messages if message.occurred_at >= since]


def _text(money: Money) -> str:
    return str(money.to_decimal())


# ---------------------------------------------------------------------------- a whole business
DEMO_EXPORTER: Mapping[str, str] = {
    "name": "Baltistan Orchards (Pvt) Ltd",
    "address": "Near Yadgar Chowk, College Road",
    "city": "Skardu",
    "ntn": "4271935-6",
    "email": "exports@baltistanorchards.example",
    "phone": "+92 5815 450123",
}


def open_demo_business(
    service: TradeService,
    business_id: uuid.UUID,
    clock: Clock,
    *,
    stock: SimulatedStock | None = None,
    units_on_hand: int = 10_000,
    connector_name: str = "alibaba",
    seed: int = 2026,
) -> MarketplaceSimulator:
    """A Skardu exporter ready to sell: catalog, exporter details, a marketplace connector
    (registered with a fresh secret), stock on the shelf when `stock` is given, and the
    simulator answering the service's pulls for that connector."""
    products = load_catalog(service, business_id)
    service.set_exporter(business_id, **DEMO_EXPORTER)
    app_key = f"app-{business_id.hex[:16]}"
    app_secret = secrets.token_hex(32)
    service.register_connector(business_id, connector_name, app_key, app_secret)
    if stock is not None:
        for product in products:
            stock.receive(business_id, product.sku, units_on_hand)
    simulator = MarketplaceSimulator(
        connector_name, app_key, app_secret, clock, seed=seed, catalog=products
    )
    marketplace = service.marketplaces.get(connector_name)
    if not isinstance(marketplace, SimulatedMarketplace):
        marketplace = SimulatedMarketplace()
        service.marketplaces[connector_name] = marketplace
    marketplace.apps[app_key] = simulator
    return simulator


class SimulatedMarketplace:
    """The marketplace as a `MarketplaceClient` for every business's app on it."""

    def __init__(self) -> None:
        self.apps: dict[str, MarketplaceSimulator] = {}

    def pull_orders(self, connector: Connector, since: datetime) -> Sequence[MarketplaceMessage]:
        app = self.apps.get(connector.app_key)
        return app.pull_orders(connector, since) if app is not None else []


# ---------------------------------------------------------------------------- stock
LOCATION_SIMULATED = "SKARDU-MAIN"


@dataclass(slots=True)
class _Reservation:
    sku: str
    quantity: int
    state: str  # reserved, released, fulfilled


class SimulatedStock:
    """Stock on one shelf, in memory (thread-safe); implements `StockReservations`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on_hand: dict[tuple[uuid.UUID, str], int] = {}
        self._reservations: dict[tuple[uuid.UUID, str], _Reservation] = {}

    def receive(self, business_id: uuid.UUID, sku: str, quantity: int) -> None:
        with self._lock:
            key = (business_id, sku)
            self._on_hand[key] = self._on_hand.get(key, 0) + quantity

    def on_hand(self, business_id: uuid.UUID, sku: str) -> int:
        with self._lock:
            return self._on_hand.get((business_id, sku), 0)

    def available(self, business_id: uuid.UUID, sku: str) -> int:
        with self._lock:
            return self._available(business_id, sku)

    def _available(self, business_id: uuid.UUID, sku: str) -> int:
        reserved = sum(
            reservation.quantity
            for (business, _), reservation in self._reservations.items()
            if business == business_id
            and reservation.sku == sku
            and reservation.state == "reserved"
        )
        return self._on_hand.get((business_id, sku), 0) - reserved

    def reserve(
        self,
        business_id: uuid.UUID,
        reference: str,
        sku: str,
        quantity: int,
        location_code: str | None = None,
    ) -> str:
        with self._lock:
            existing = self._reservations.get((business_id, reference))
            if existing is not None and existing.state != "released":
                return LOCATION_SIMULATED
            available = self._available(business_id, sku)
            if location_code not in (None, LOCATION_SIMULATED) or available < quantity:
                raise DomainError(
                    TradeError.INSUFFICIENT_STOCK,
                    f"{sku}: {quantity} wanted, {max(available, 0)} available",
                    status=409,
                    fields={"sku": sku, "wanted": quantity, "available": max(available, 0)},
                )
            self._reservations[(business_id, reference)] = _Reservation(sku, quantity, "reserved")
            return LOCATION_SIMULATED

    def release(self, business_id: uuid.UUID, reference: str) -> None:
        with self._lock:
            reservation = self._reservations.get((business_id, reference))
            if reservation is not None and reservation.state == "reserved":
                reservation.state = "released"

    def fulfil(self, business_id: uuid.UUID, reference: str) -> None:
        with self._lock:
            reservation = self._reservations.get((business_id, reference))
            if reservation is None or reservation.state == "released":
                raise DomainError(
                    TradeError.INSUFFICIENT_STOCK,
                    f"nothing reserved for {reference}",
                    status=409,
                    fields={"reference": reference},
                )
            if reservation.state == "reserved":
                reservation.state = "fulfilled"
                key = (business_id, reservation.sku)
                self._on_hand[key] = self._on_hand.get(key, 0) - reservation.quantity

    def state(self, business_id: uuid.UUID, reference: str) -> str | None:
        with self._lock:
            reservation = self._reservations.get((business_id, reference))
            return reservation.state if reservation else None


# ---------------------------------------------------------------------------- wallets
SIMULATED_LEDGER_BASE = 90_000  # simulated wallet book: ledger 90_000 + ISO 4217 numeric
ACCOUNT_CODE_SIMULATED_WALLET = 4_901
ACCOUNT_CODE_SIMULATED_FX_POSITION = 4_902
TRANSFER_CODE_SIMULATED_FX = 4_911


class FixedRateWallets:
    """Seller wallets on real ledger accounts, converting at fixed rates (`SellerWallets`).

    `rates[("USD", "PKR")] = Decimal("278.50")` means 1 USD buys 278.50 PKR. A conversion
    is two linked transfers: the seller's wallet to the FX position in one currency, the FX
    position to the seller's wallet in the other, with ids derived from the request id.
    """

    def __init__(
        self,
        ledger: LedgerService,
        rates: Mapping[tuple[str, str], Decimal | str],
        *,
        ledger_base: int = SIMULATED_LEDGER_BASE,
    ) -> None:
        self.ledger = ledger
        self.rates = {pair: Decimal(rate) for pair, rate in rates.items()}
        self.ledger_base = ledger_base
        self._ready: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    def ledger_id(self, currency: str) -> int:
        return self.ledger_base + currency_numeric(currency)

    def _open(
        self, account_id: uuid.UUID, currency: str, code: int, flags: int, owner: uuid.UUID | None
    ) -> uuid.UUID:
        with self._lock:
            if account_id in self._ready:
                return account_id
        ledger_id = self.ledger_id(currency)
        self.ledger.create_ledger(ledger_id, currency, f"simulated wallet book ({currency})")
        (result,) = self.ledger.create_accounts(
            [Account(account_id, ledger_id, code, flags, owner_id=owner)]
        )
        assert result in ("ok", "exists"), result
        with self._lock:
            self._ready.add(account_id)
        return account_id

    def account_id(self, business_id: uuid.UUID, currency: str) -> uuid.UUID:
        return self._open(
            uuid.uuid5(SIMULATOR_NAMESPACE, f"wallet:{business_id}:{currency}"),
            currency,
            ACCOUNT_CODE_SIMULATED_WALLET,
            AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            business_id,
        )

    def fx_position_id(self, currency: str) -> uuid.UUID:
        return self._open(
            uuid.uuid5(SIMULATOR_NAMESPACE, f"fx:{currency}"),
            currency,
            ACCOUNT_CODE_SIMULATED_FX_POSITION,
            AccountFlags.NONE,
            None,
        )

    def balance_minor(self, business_id: uuid.UUID, currency: str) -> int:
        return self.ledger.get_account(
            self.account_id(business_id, currency)
        ).balance.net_credit_posted

    def convert(
        self,
        business_id: uuid.UUID,
        amount_minor: int,
        from_currency: str,
        to_currency: str,
        request_id: uuid.UUID,
    ) -> Conversion:
        rate = self.rates.get((from_currency, to_currency))
        if rate is None or amount_minor <= 0:
            raise DomainError(
                TradeError.CONVERSION_UNAVAILABLE,
                f"no {from_currency}/{to_currency} rate, or nothing to convert",
                status=422,
                fields={"from": from_currency, "to": to_currency},
            )
        numerator, denominator = rate.as_integer_ratio()
        shift = currency_exponent(to_currency) - currency_exponent(from_currency)
        to_minor = divide_rounded(
            amount_minor * numerator * 10 ** max(shift, 0),
            denominator * 10 ** max(-shift, 0),
            "half_even",
        )
        results = self.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(request_id, "sell"),
                    self.account_id(business_id, from_currency),
                    self.fx_position_id(from_currency),
                    amount_minor,
                    ledger=self.ledger_id(from_currency),
                    code=TRANSFER_CODE_SIMULATED_FX,
                    flags=TransferFlags.LINKED,
                ),
                Transfer(
                    uuid.uuid5(request_id, "buy"),
                    self.fx_position_id(to_currency),
                    self.account_id(business_id, to_currency),
                    to_minor,
                    ledger=self.ledger_id(to_currency),
                    code=TRANSFER_CODE_SIMULATED_FX,
                ),
            ]
        )
        if any(result not in TRANSFER_SUCCESS for result in results):
            raise DomainError(
                TradeError.CONVERSION_UNAVAILABLE,
                f"the conversion was refused: {', '.join(results)}",
                status=409,
                fields={"results": [str(result) for result in results]},
            )
        return Conversion(amount_minor, from_currency, to_minor, to_currency, str(rate))
