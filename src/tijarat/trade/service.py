"""Trade use cases: catalog, marketplace orders, escrow, shipments, export proceeds.

Two kinds of work, kept apart:
- State changes in trade's own tables, each in one short transaction (`engine.begin()`),
  with the order row locked (PostgreSQL `FOR UPDATE`; SQLite has one writer at a time).
- Effects outside those tables (stock reservations, ledger transfers, currency conversion).
  They never run inside a trade transaction: the ledger commits on its own, and on SQLite a
  second writer inside our transaction would wait for itself. A state change that needs an
  effect sets `effects_due` in the same transaction; `_settle` then does what the order's
  state requires and records when each effect was done. Every effect is idempotent (derived
  transfer ids, request ids, stock references), so a crash in between is finished by the
  next `sweep()` without doing anything twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog

from tijarat.kernel.clock import Clock, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Ntn
from tijarat.kernel.ids import new_id
from tijarat.kernel.money import Money, currency_info
from tijarat.ledger.service import LedgerService
from tijarat.trade import paperwork, store
from tijarat.trade.errors import TradeError
from tijarat.trade.escrow import Escrow, derived_id
from tijarat.trade.marketplace import (
    MarketplaceClient,
    OrderCreatedData,
    OrderNoteData,
    OrderPaidData,
    ParsedMessage,
    app_key_in_body,
    parse_message,
    signature_matches,
)
from tijarat.trade.model import (
    ACTOR_SYSTEM,
    ADDRESS_LENGTH_MAX,
    CARRIER_LENGTH_MAX,
    CONNECTOR_NAME_LENGTH_MAX,
    DAY_NS,
    ESCROW_HELD,
    INBOX_BATCH_MAX,
    NAME_LENGTH_MAX,
    PAGE_SIZE_MAX,
    PLACE_LENGTH_MAX,
    PULL_MESSAGES_MAX,
    SWEEP_BATCH_MAX,
    TRACKING_EVENTS_MAX,
    TRACKING_IMPORT_BYTES_MAX,
    TRACKING_NUMBER_LENGTH_MAX,
    UNPAID,
    Connector,
    DisputeOutcome,
    Exporter,
    ExportProceeds,
    InboxEntry,
    InboxOutcome,
    InboxReport,
    Instrument,
    MessageType,
    Order,
    OrderEvent,
    OrderStatus,
    Packing,
    PriceTier,
    ProceedsReportRow,
    ProceedsStanding,
    ProceedsStatus,
    Product,
    PullReport,
    PushReceipt,
    RealisationCase,
    Shipment,
    ShipmentMode,
    SweepReport,
    TrackingImportReport,
    TrackingInput,
    TrackingStatus,
    TradeSettings,
    check_actor,
    check_connector,
    check_export_details,
    check_note,
    check_product,
    check_transition,
    compute_deductions,
    invalid,
    normalise_tracking_status,
    pakistan_date,
    parse_sku,
    realisation_deadline,
)
from tijarat.trade.ports import SellerWallets, StockReservations
from tijarat.trade.store import (
    DEDUCTION_COLUMNS,
    connectors_table,
    exporters_table,
    inbox_table,
    order_events_table,
    order_lines_table,
    orders_table,
    price_tiers_table,
    proceeds_table,
    products_table,
    shipments_table,
    tracking_events_table,
)

log = structlog.get_logger("tijarat.trade")

# The marketplace retries a push for about 6 hours: a message about an order we have not
# received yet waits that long for the order to arrive, then is rejected.
INBOX_WAIT_NS = 6 * 3_600 * 1_000_000_000
TRACKING_IMPORT_ROWS_MAX = 10_000
REPORT_ROWS_MAX = 5_000
_WAITING = "waiting"
_FAILED = "failed"
_E = TypeVar("_E", bound=Enum)
# Verifying against this when the connector is unknown keeps the answer's timing the same.
_NO_SECRET = "no connector has this secret"  # noqa: S105 - a placeholder, never a credential


class _FollowUp(Enum):
    CONFIRM = "confirm"  # a new marketplace order: reserve its stock
    SETTLE = "settle"  # a state change with effects outside trade's tables


def _not_found(code: TradeError, what: str, **fields: object) -> DomainError:
    return DomainError(
        code, f"no {what}", status=404, fields={k: str(v) for k, v in fields.items()}
    )


class TradeService:
    def __init__(
        self,
        engine: sa.Engine,
        ledger: LedgerService,
        clock: Clock,
        *,
        stock: StockReservations,
        wallets: SellerWallets,
        settings: TradeSettings | None = None,
        marketplaces: Mapping[str, MarketplaceClient] | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.stock = stock
        self.wallets = wallets
        self.settings = settings or TradeSettings()
        # Clients that pull from a marketplace, by connector name ("alibaba").
        self.marketplaces: dict[str, MarketplaceClient] = dict(marketplaces or {})
        self.escrow = Escrow(ledger)

    # ================================================================== catalog
    def put_product(
        self,
        business_id: uuid.UUID,
        sku: str,
        description: str,
        hs_code: str,
        unit: str,
        minimum_order_quantity: int,
        packing: Packing,
        price_tiers: Sequence[PriceTier],
    ) -> Product:
        """Create or replace a product and its whole price table."""
        sku, description, hs_code, unit, moq, tiers = check_product(
            sku, description, hs_code, unit, minimum_order_quantity, packing, price_tiers
        )
        now = self.clock.now_ns()
        values = {
            "description": description,
            "hs_code": hs_code,
            "unit": unit,
            "minimum_order_quantity": moq,
            **store.packing_values(packing),
            "updated_at": now,
        }
        key = (products_table.c.business_id == business_id) & (products_table.c.sku == sku)
        with self.engine.begin() as connection:
            exists = connection.execute(sa.select(products_table.c.sku).where(key)).first()
            if exists:
                connection.execute(products_table.update().where(key).values(**values))
            else:
                connection.execute(
                    products_table.insert().values(
                        business_id=business_id, sku=sku, created_at=now, **values
                    )
                )
            connection.execute(
                price_tiers_table.delete().where(
                    (price_tiers_table.c.business_id == business_id)
                    & (price_tiers_table.c.sku == sku)
                )
            )
            connection.execute(
                price_tiers_table.insert(),
                [
                    {
                        "business_id": business_id,
                        "sku": sku,
                        "currency": tier.currency,
                        "minimum_quantity": tier.minimum_quantity,
                        "unit_price_minor": tier.unit_price_minor,
                    }
                    for tier in tiers
                ],
            )
            return store.select_products(connection, business_id, [sku])[0]

    def product(self, business_id: uuid.UUID, sku: str) -> Product:
        clean = parse_sku(sku)
        with self.engine.connect() as connection:
            found = store.select_products(connection, business_id, [clean])
        if not found:
            raise _not_found(TradeError.PRODUCT_NOT_FOUND, f"product {clean}", sku=clean)
        return found[0]

    def products(self, business_id: uuid.UUID) -> list[Product]:
        with self.engine.connect() as connection:
            return store.select_products(connection, business_id)

    # ================================================================== exporter
    def set_exporter(
        self,
        business_id: uuid.UUID,
        *,
        name: str,
        address: str,
        city: str,
        ntn: str,
        email: str,
        phone: str,
    ) -> Exporter:
        """The seller as export paperwork shows it."""
        code = TradeError.EXPORTER_INVALID
        fields = {
            "name": _clean(name, "name", NAME_LENGTH_MAX, code),
            "address": _clean(address, "address", ADDRESS_LENGTH_MAX, code),
            "city": _clean(city, "city", PLACE_LENGTH_MAX, code),
            "ntn": Ntn.parse(ntn).value,
            "email": _clean(email, "email", NAME_LENGTH_MAX, code),
            "phone": _clean(phone, "phone", 32, code),
        }
        if "@" not in fields["email"]:
            raise invalid(code, "email must be an email address", field="email")
        now = self.clock.now_ns()
        key = exporters_table.c.business_id == business_id
        with self.engine.begin() as connection:
            if connection.execute(sa.select(exporters_table.c.business_id).where(key)).first():
                connection.execute(
                    exporters_table.update().where(key).values(updated_at=now, **fields)
                )
            else:
                connection.execute(
                    exporters_table.insert().values(
                        business_id=business_id, updated_at=now, **fields
                    )
                )
        return Exporter(business_id=business_id, **fields)

    def exporter(self, business_id: uuid.UUID) -> Exporter:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(exporters_table).where(exporters_table.c.business_id == business_id)
            ).first()
        if row is None:
            raise DomainError(
                TradeError.EXPORTER_MISSING,
                "set the exporter's details first (PUT /v1/trade/exporter)",
                status=409,
            )
        return store.exporter_from_row(row)

    # ================================================================== connectors
    def register_connector(
        self, business_id: uuid.UUID, name: str, app_key: str, app_secret: str
    ) -> Connector:
        """The business's app at a marketplace: pushes are verified with its secret."""
        name, app_key, app_secret = check_connector(name, app_key, app_secret)
        connector_id = new_id()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    connectors_table.insert().values(
                        id=connector_id,
                        business_id=business_id,
                        name=name,
                        app_key=app_key,
                        app_secret=app_secret,
                        created_at=self.clock.now_ns(),
                        pulled_until=0,
                    )
                )
        except sa.exc.IntegrityError:
            raise DomainError(
                TradeError.CONNECTOR_EXISTS,
                f"a {name} connector with this app key is registered",
                status=409,
                fields={"name": name, "app_key": app_key},
            ) from None
        return self.connector(business_id, name)

    def connectors(self, business_id: uuid.UUID) -> list[Connector]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(connectors_table)
                .where(connectors_table.c.business_id == business_id)
                .order_by(connectors_table.c.name)
            ).all()
        return [store.connector_from_row(row) for row in rows]

    def connector(self, business_id: uuid.UUID, name: str) -> Connector:
        for connector in self.connectors(business_id):
            if connector.name == name:
                return connector
        raise _not_found(TradeError.CONNECTOR_NOT_FOUND, f"{name} connector", name=name)

    # ================================================================== pushes and the inbox
    def receive_push(
        self, connector_name: str, body: bytes, signature: str | None, app_key: str | None = None
    ) -> PushReceipt:
        """Verify and store one push; the work it asks for happens in `process_inbox`.

        Order of checks: size (413), signature over the raw bytes (401), JSON shape (400).
        Nothing is stored unless all pass; the same message again stores nothing new.
        """
        if len(body) > self.settings.push_body_max_bytes:
            raise DomainError(
                TradeError.PUSH_TOO_LARGE,
                f"a push is at most {self.settings.push_body_max_bytes} bytes",
                status=413,
                fields={"max_bytes": self.settings.push_body_max_bytes},
            )
        key = app_key if app_key is not None else app_key_in_body(body)
        row = None
        if key is not None and len(connector_name) <= CONNECTOR_NAME_LENGTH_MAX:
            with self.engine.connect() as connection:
                row = connection.execute(
                    sa.select(connectors_table).where(
                        (connectors_table.c.name == connector_name)
                        & (connectors_table.c.app_key == key)
                    )
                ).first()
        secret = row.app_secret if row is not None else _NO_SECRET
        verified = signature_matches(secret, key or "", body, signature or "")
        if row is None or not signature or not verified:
            raise DomainError(
                TradeError.PUSH_UNAUTHENTICATED,
                "the Authorization header must be hex(HMAC-SHA256(app secret, app key + body))",
                status=401,
            )
        message = parse_message(body)
        connector = store.connector_from_row(row)
        return self._store_message(connector, message, body, "push")

    def _store_message(
        self, connector: Connector, message: ParsedMessage, body: bytes, source: str
    ) -> PushReceipt:
        key = (inbox_table.c.connector_id == connector.id) & (
            inbox_table.c.message_id == message.message_id
        )
        try:
            with self.engine.begin() as connection:
                if connection.execute(sa.select(inbox_table.c.seq).where(key)).first():
                    return PushReceipt(message.message_id, duplicate=True)
                connection.execute(
                    inbox_table.insert().values(
                        connector_id=connector.id,
                        business_id=connector.business_id,
                        message_id=message.message_id,
                        message_type=message.message_type.value,
                        source=source,
                        body=body,
                        received_at=self.clock.now_ns(),
                    )
                )
        except sa.exc.IntegrityError:  # the same message arrived twice at the same moment
            return PushReceipt(message.message_id, duplicate=True)
        return PushReceipt(message.message_id, duplicate=False)

    def process_inbox(self, limit: int = INBOX_BATCH_MAX) -> InboxReport:
        """Apply stored messages, oldest first. Idempotent and crash-safe: each message is
        marked processed in the same transaction as its effect on the order."""
        with self.engine.connect() as connection:
            seqs = connection.execute(
                sa.select(inbox_table.c.seq)
                .where(inbox_table.c.processed_at.is_(None))
                # Fresh messages first: those waiting for their order must not crowd them out.
                .order_by(inbox_table.c.error.is_not(None), inbox_table.c.seq)
                .limit(max(1, min(limit, INBOX_BATCH_MAX)))
            ).scalars()
            pending = list(seqs)
        counts: Counter[str] = Counter()
        for seq in pending:
            try:
                counts[self._process_one(seq)] += 1
            except Exception as error:  # one bad message must not stop the queue behind it
                log.exception("inbox message failed", seq=seq)
                self._note_failure(seq, error)
                counts[_FAILED] += 1
        return InboxReport(
            applied=counts[InboxOutcome.APPLIED],
            already_applied=counts[InboxOutcome.ALREADY_APPLIED],
            rejected=counts[InboxOutcome.REJECTED],
            waiting=counts[_WAITING],
            failed=counts[_FAILED],
        )

    def _note_failure(self, seq: int, error: Exception) -> None:
        """Say why on the (rolled back, still unprocessed) row; it is tried again later,
        after the fresh messages."""
        with self.engine.begin() as connection:
            connection.execute(
                inbox_table.update()
                .where((inbox_table.c.seq == seq) & inbox_table.c.processed_at.is_(None))
                .values(error=f"failed, will retry: {type(error).__name__}: {error}"[:400])
            )

    def _process_one(self, seq: int) -> str:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(inbox_table).where(inbox_table.c.seq == seq)).first()
            if row is None or row.processed_at is not None:
                return "skipped"
            connector = store.connector_from_row(
                connection.execute(
                    sa.select(connectors_table).where(connectors_table.c.id == row.connector_id)
                ).one()
            )
        refusal: DomainError | None = None
        message: ParsedMessage | None = None
        try:
            message = parse_message(row.body)
            if isinstance(message.data, OrderPaidData):
                # Ledger accounts are opened outside the transaction (the ledger commits alone).
                self.escrow.accounts(self.wallets, connector.business_id, message.data.currency)
        except DomainError as error:
            refusal = error
        follow_up: _FollowUp | None = None
        order_id: uuid.UUID | None = None
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            locked = connection.execute(
                sa.select(inbox_table.c.seq)
                .where((inbox_table.c.seq == seq) & inbox_table.c.processed_at.is_(None))
                .with_for_update(skip_locked=True)
            ).first()
            if locked is None:
                return "skipped"  # another worker has it, or has done it
            outcome: str = InboxOutcome.REJECTED
            error_text: str | None = None
            if refusal is None and message is not None:
                try:
                    with connection.begin_nested():  # a refusal leaves no half-applied change
                        outcome, order_id, follow_up = self._apply_message(
                            connection, connector, message
                        )
                except DomainError as error:
                    refusal = error
            if refusal is not None:
                outcome, follow_up = InboxOutcome.REJECTED, None
                error_text = f"{refusal.code}: {refusal.message}"[:400]
            if outcome == _WAITING and row.received_at + INBOX_WAIT_NS <= now:
                outcome = InboxOutcome.REJECTED
                error_text = "trade_order_not_found: the order this message is about never arrived"
            if outcome == _WAITING:
                connection.execute(
                    inbox_table.update()
                    .where(inbox_table.c.seq == seq)
                    .values(error="waiting for the order to arrive")
                )
            else:
                connection.execute(
                    inbox_table.update()
                    .where(inbox_table.c.seq == seq)
                    .values(processed_at=now, outcome=outcome, error=error_text, order_id=order_id)
                )
        if order_id is not None and follow_up is _FollowUp.CONFIRM and self.settings.auto_confirm:
            self._auto_confirm(connector.business_id, order_id)
        elif order_id is not None and follow_up is _FollowUp.SETTLE:
            self._settle(order_id)
        return outcome

    def _apply_message(
        self, connection: sa.Connection, connector: Connector, message: ParsedMessage
    ) -> tuple[str, uuid.UUID | None, _FollowUp | None]:
        actor = f"marketplace:{connector.name}"
        existing = self._marketplace_order(connection, connector, message.order_id)
        data = message.data
        if isinstance(data, OrderCreatedData):
            if existing is not None:
                return InboxOutcome.ALREADY_APPLIED, existing.id, None
            order_id = self._insert_order(connection, connector, data, actor)
            return InboxOutcome.APPLIED, order_id, _FollowUp.CONFIRM
        if existing is None:
            return _WAITING, None, None
        kind = message.message_type
        if isinstance(data, OrderPaidData):
            if existing.paid_at is not None:
                return InboxOutcome.ALREADY_APPLIED, existing.id, None
            if existing.status in {OrderStatus.RECEIVED, OrderStatus.CONFIRMED}:
                # Paid before its stock is reserved (being confirmed now, or waiting for
                # stock): the payment is applied once the order awaits it.
                return _WAITING, None, None
            amount = Money.parse(data.amount, data.currency)
            self._pay(connection, existing, amount, data.payment_reference, actor)
        elif isinstance(data, OrderNoteData) and kind is MessageType.ORDER_CANCELLED:
            if existing.status in {OrderStatus.CANCELLED, OrderStatus.REFUNDED}:
                return InboxOutcome.ALREADY_APPLIED, existing.id, None
            self._cancel(connection, existing, data.reason or "cancelled by the buyer", actor)
        elif isinstance(data, OrderNoteData) and kind is MessageType.RECEIPT_CONFIRMED:
            if existing.completed_at is not None:
                return InboxOutcome.ALREADY_APPLIED, existing.id, None
            self._confirm_receipt(connection, existing, actor)
        elif isinstance(data, OrderNoteData) and kind is MessageType.DISPUTE_OPENED:
            if existing.dispute_opened_at is not None:
                return InboxOutcome.ALREADY_APPLIED, existing.id, None
            self._open_dispute(connection, existing, data.reason or "opened by the buyer", actor)
        return InboxOutcome.APPLIED, existing.id, _FollowUp.SETTLE

    def _marketplace_order(
        self, connection: sa.Connection, connector: Connector, marketplace_order_id: str
    ) -> Order | None:
        found = store.select_orders(
            connection,
            (orders_table.c.business_id == connector.business_id)
            & (orders_table.c.connector_id == connector.id)
            & (orders_table.c.marketplace_order_id == marketplace_order_id),
            limit=1,
        )
        return found[0] if found else None

    def _insert_order(
        self,
        connection: sa.Connection,
        connector: Connector,
        data: OrderCreatedData,
        actor: str,
    ) -> uuid.UUID:
        """A new order from the marketplace, checked against the catalog before anything is
        written: known SKUs, at least the minimum order quantity, totals that add up."""
        currency = currency_info(data.currency).code
        skus = [parse_sku(line.sku) for line in data.lines]
        products = {
            product.sku: product
            for product in store.select_products(connection, connector.business_id, skus)
        }
        rows: list[dict[str, Any]] = []
        order_id = new_id()
        goods = Money.zero(currency)
        for number, (line, sku) in enumerate(zip(data.lines, skus, strict=True), start=1):
            product = products.get(sku)
            if product is None:
                raise invalid(
                    TradeError.PRODUCT_NOT_FOUND, f"line {number}: no product {sku}", sku=sku
                )
            product.unit_price(currency, line.quantity)  # refuses below the MOQ or no price
            price = Money.parse(line.unit_price, currency)
            if not price.is_positive():
                raise invalid(TradeError.ORDER_INVALID, f"line {number}: price must be positive")
            goods += price * line.quantity
            rows.append(
                {
                    "id": new_id(),
                    "order_id": order_id,
                    "line_number": number,
                    "sku": sku,
                    "description": product.description,
                    "hs_code": product.hs_code,
                    "unit": product.unit,
                    "quantity": line.quantity,
                    "unit_price_minor": price.amount_minor,
                    **store.packing_values(product.packing),
                }
            )
        shipping = Money.parse(data.shipping_fee, currency)
        total = Money.parse(data.total, currency)
        if shipping.is_negative() or goods + shipping != total:
            raise invalid(
                TradeError.ORDER_INVALID,
                f"the lines ({goods}) and shipping ({shipping}) do not add up to {total}",
                goods=str(goods),
                shipping=str(shipping),
                total=str(total),
            )
        now = self.clock.now_ns()
        buyer = data.buyer
        connection.execute(
            orders_table.insert().values(
                id=order_id,
                business_id=connector.business_id,
                connector_id=connector.id,
                marketplace_order_id=data.order_id,
                buyer_company=buyer.company,
                buyer_contact_name=buyer.contact_name,
                buyer_email=buyer.email,
                buyer_country=buyer.country,
                buyer_address=buyer.address,
                incoterm=data.incoterm.value,
                incoterm_place=data.incoterm_place,
                currency=currency,
                goods_minor=goods.amount_minor,
                shipping_minor=shipping.amount_minor,
                status=OrderStatus.RECEIVED.value,
                created_at=now,
                updated_at=now,
                refund_minor=0,
                effects_due=False,
                version=1,
            )
        )
        connection.execute(order_lines_table.insert(), rows)
        store.insert_event(
            connection, order_id, None, OrderStatus.RECEIVED, actor, now, f"order {data.order_id}"
        )
        return order_id

    def inbox(self, business_id: uuid.UUID, limit: int = 100) -> list[InboxEntry]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(inbox_table)
                .where(inbox_table.c.business_id == business_id)
                .order_by(inbox_table.c.seq.desc())
                .limit(max(1, min(limit, PAGE_SIZE_MAX)))
            ).all()
        return [
            InboxEntry(
                seq=row.seq,
                connector_id=row.connector_id,
                message_id=row.message_id,
                message_type=row.message_type,
                source=row.source,
                received_at=row.received_at,
                processed_at=row.processed_at,
                outcome=InboxOutcome(row.outcome) if row.outcome else None,
                error=row.error,
                order_id=row.order_id,
            )
            for row in rows
        ]

    def retry_inbox_entry(self, business_id: uuid.UUID, seq: int) -> InboxReport:
        """Apply a rejected message again (after the cause was fixed, e.g. stock arrived)."""
        with self.engine.begin() as connection:
            updated = connection.execute(
                inbox_table.update()
                .where(
                    (inbox_table.c.seq == seq)
                    & (inbox_table.c.business_id == business_id)
                    & (inbox_table.c.outcome == InboxOutcome.REJECTED.value)
                )
                .values(
                    processed_at=None, outcome=None, error=None, received_at=self.clock.now_ns()
                )
            )
        if updated.rowcount != 1:
            raise _not_found(
                TradeError.INBOX_ENTRY_NOT_FOUND, f"rejected inbox entry {seq}", seq=seq
            )
        outcome = self._process_one(seq)
        return InboxReport(
            applied=int(outcome == InboxOutcome.APPLIED),
            already_applied=int(outcome == InboxOutcome.ALREADY_APPLIED),
            rejected=int(outcome == InboxOutcome.REJECTED),
            waiting=int(outcome == _WAITING),
        )

    def pull_orders(
        self, business_id: uuid.UUID, connector_name: str, since: datetime | None = None
    ) -> PullReport:
        """Catch up on pushes that never arrived: ask the marketplace, store what is new in
        the inbox (duplicates of pushes are recognised by message id), then process it."""
        connector = self.connector(business_id, connector_name)
        client = self.marketplaces.get(connector.name)
        if client is None:
            raise DomainError(
                TradeError.MARKETPLACE_UNAVAILABLE,
                f"no client to pull from {connector.name} is configured",
                status=503,
                fields={"name": connector.name},
            )
        start = since if since is not None else from_ns(connector.pulled_until)
        messages = list(client.pull_orders(connector, start))[:PULL_MESSAGES_MAX]
        received = duplicates = 0
        newest = connector.pulled_until
        for pulled in messages:
            body = pulled.body()
            try:
                message = parse_message(body)
            except DomainError as error:
                log.warning(
                    "pulled message malformed", message_id=pulled.message_id, error=error.message
                )
                continue
            receipt = self._store_message(connector, message, body, "pull")
            duplicates += receipt.duplicate
            received += not receipt.duplicate
            newest = max(newest, message.occurred_at)
        with self.engine.begin() as connection:
            connection.execute(
                connectors_table.update()
                .where(connectors_table.c.id == connector.id)
                .values(pulled_until=newest)
            )
        return PullReport(received, duplicates, newest, self.process_inbox())

    # ================================================================== orders: reading
    def order(self, business_id: uuid.UUID, order_id: uuid.UUID) -> Order:
        with self.engine.connect() as connection:
            return self._get(connection, business_id, order_id)

    def orders(
        self, business_id: uuid.UUID, status: OrderStatus | None = None, limit: int = 100
    ) -> list[Order]:
        where = orders_table.c.business_id == business_id
        if status is not None:
            where &= orders_table.c.status == status.value
        with self.engine.connect() as connection:
            return store.select_orders(connection, where, limit=max(1, min(limit, PAGE_SIZE_MAX)))

    def history(self, business_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderEvent]:
        """Every transition of the order: from, to, who and when, in order."""
        with self.engine.connect() as connection:
            self._get(connection, business_id, order_id)
            rows = connection.execute(
                sa.select(order_events_table)
                .where(order_events_table.c.order_id == order_id)
                .order_by(order_events_table.c.seq)
            ).all()
        return [store.event_from_row(row) for row in rows]

    def _get(
        self,
        connection: sa.Connection,
        business_id: uuid.UUID | None,
        order_id: uuid.UUID,
        *,
        lock: bool = False,
    ) -> Order:
        where = orders_table.c.id == order_id
        if business_id is not None:
            where &= orders_table.c.business_id == business_id
        if lock:
            # Lock the row first (PostgreSQL): whoever changes the order next waits for us.
            connection.execute(sa.select(orders_table.c.id).where(where).with_for_update()).first()
        found = store.select_orders(connection, where, limit=1)
        if not found:
            raise _not_found(TradeError.ORDER_NOT_FOUND, f"order {order_id}", order_id=order_id)
        return found[0]

    # ================================================================== orders: changing
    def _move(
        self,
        connection: sa.Connection,
        order: Order,
        target: OrderStatus,
        actor: str,
        event_note: str = "",
        *,
        effects: bool = False,
        **values: Any,
    ) -> Order:
        """One transition: checked, written with its history entry, in the caller's
        transaction. `effects` says the new state needs work outside trade's tables."""
        check_transition(order.status, target)
        now = self.clock.now_ns()
        changes: dict[str, Any] = {
            "status": target.value,
            "updated_at": now,
            "version": order.version + 1,
            **values,
        }
        if effects:
            changes["effects_due"] = True
        result = connection.execute(
            orders_table.update()
            .where((orders_table.c.id == order.id) & (orders_table.c.version == order.version))
            .values(**changes)
        )
        if result.rowcount != 1:
            raise DomainError(
                TradeError.ORDER_CHANGED,
                "the order changed at the same time; read it again and retry",
                status=409,
                fields={"order_id": str(order.id)},
            )
        store.insert_event(connection, order.id, order.status, target, actor, now, event_note)
        return self._get(connection, None, order.id)

    def _change(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        action: Callable[[sa.Connection, Order], Order],
    ) -> Order:
        with self.engine.begin() as connection:
            order = action(connection, self._get(connection, business_id, order_id, lock=True))
        return self._settle(order.id) if order.effects_due else order

    def confirm_order(
        self, business_id: uuid.UUID, order_id: uuid.UUID, actor: str = "operator"
    ) -> Order:
        """Reserve stock for every line, then confirm. Not enough stock for any line: the
        lines reserved so far are released, the order stays received with a note saying
        why, and the stock's error is raised."""
        actor = check_actor(actor)
        order = self.order(business_id, order_id)
        check_transition(order.status, OrderStatus.CONFIRMED)
        reserved: list[str] = []
        try:
            for line in order.lines:
                self.stock.reserve(business_id, str(line.id), line.sku, line.quantity)
                reserved.append(str(line.id))
        except DomainError as error:
            for reference in reserved:
                self.stock.release(business_id, reference)
            with self.engine.begin() as connection:
                connection.execute(
                    orders_table.update()
                    .where(
                        (orders_table.c.id == order.id)
                        & (orders_table.c.status == OrderStatus.RECEIVED.value)
                    )
                    .values(note=f"not confirmed: {error.message}"[:400])
                )
            raise
        now = self.clock.now_ns()
        try:
            return self._change(
                business_id,
                order_id,
                lambda connection, current: self._move(
                    connection,
                    current,
                    OrderStatus.CONFIRMED,
                    actor,
                    "stock reserved",
                    stock_reserved_at=now,
                    note=None,
                ),
            )
        except DomainError:
            if self.order(business_id, order_id).status is OrderStatus.CANCELLED:
                for reference in reserved:  # cancelled meanwhile: give the stock back
                    self.stock.release(business_id, reference)
            raise

    def request_payment(
        self, business_id: uuid.UUID, order_id: uuid.UUID, actor: str = "operator"
    ) -> Order:
        """The confirmed order is offered to the buyer for payment (into escrow)."""
        actor = check_actor(actor)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._move(
                connection,
                order,
                OrderStatus.AWAITING_PAYMENT,
                actor,
                "payment requested from the buyer",
            ),
        )

    def _auto_confirm(self, business_id: uuid.UUID, order_id: uuid.UUID) -> None:
        try:
            self.confirm_order(business_id, order_id, ACTOR_SYSTEM)
            self.request_payment(business_id, order_id, ACTOR_SYSTEM)
        except DomainError as error:
            # The order waits, received, with a note; the seller confirms when stock arrives.
            log.info("order not confirmed", order_id=str(order_id), code=error.code)
        except Exception:  # the stock service is down: the sweep confirms it later
            log.exception("order confirmation failed", order_id=str(order_id))

    def record_payment(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        amount: Money,
        payment_reference: str,
        actor: str = "operator",
    ) -> Order:
        """The buyer paid the whole order; the money is held in escrow for the seller."""
        actor = check_actor(actor)
        self.escrow.accounts(self.wallets, business_id, amount.currency)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._pay(
                connection, order, amount, payment_reference, actor
            ),
        )

    def _pay(
        self,
        connection: sa.Connection,
        order: Order,
        amount: Money,
        payment_reference: str,
        actor: str,
    ) -> Order:
        check_transition(order.status, OrderStatus.PAID)
        if amount.currency != order.currency or amount.amount_minor != order.total_minor:
            raise invalid(
                TradeError.PAYMENT_MISMATCH,
                f"the order is paid in full, {order.total}, not {amount}",
                expected=str(order.total),
                paid=str(amount),
            )
        reference = _clean(payment_reference, "payment_reference", 64, TradeError.ORDER_INVALID)
        return self._move(
            connection,
            order,
            OrderStatus.PAID,
            actor,
            f"paid into escrow, reference {reference}",
            effects=True,
            paid_at=self.clock.now_ns(),
            payment_reference=reference,
        )

    def mark_packed(
        self, business_id: uuid.UUID, order_id: uuid.UUID, actor: str = "operator"
    ) -> Order:
        actor = check_actor(actor)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._move(connection, order, OrderStatus.PACKED, actor),
        )

    def ship_order(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        *,
        carrier: str,
        tracking_number: str,
        mode: ShipmentMode,
        transport_document_number: str,
        port_of_loading: str,
        port_of_discharge: str,
        actor: str = "operator",
    ) -> Shipment:
        """Hand the goods to the carrier: the reserved stock leaves, the realisation clock
        starts. Needs the export details (PSW Financial Instrument) recorded first."""
        actor = check_actor(actor)
        code = TradeError.SHIPMENT_INVALID
        carrier = _clean(carrier, "carrier", CARRIER_LENGTH_MAX, code).lower()
        tracking_number = _clean(
            tracking_number, "tracking_number", TRACKING_NUMBER_LENGTH_MAX, code
        )
        document = _clean(
            transport_document_number, "transport_document_number", TRACKING_NUMBER_LENGTH_MAX, code
        )
        loading = _clean(port_of_loading, "port_of_loading", PLACE_LENGTH_MAX, code)
        discharge = _clean(port_of_discharge, "port_of_discharge", PLACE_LENGTH_MAX, code)
        mode = _member(ShipmentMode, mode, "mode", code)
        shipment_id = new_id()
        now = self.clock.now_ns()

        def ship(connection: sa.Connection, order: Order) -> Order:
            check_transition(order.status, OrderStatus.SHIPPED)
            proceeds = connection.execute(
                sa.select(proceeds_table).where(proceeds_table.c.order_id == order.id)
            ).first()
            if proceeds is None:
                raise DomainError(
                    TradeError.EXPORT_DETAILS_MISSING,
                    "record the export details (PSW Financial Instrument) before shipping",
                    status=409,
                    fields={"order_id": str(order.id)},
                )
            if order.incoterm.sea_only and mode is not ShipmentMode.SEA:
                raise invalid(
                    code,
                    f"{order.incoterm.value} is a sea-only Incoterm; this shipment goes by "
                    f"{mode.value}",
                    incoterm=order.incoterm.value,
                    mode=mode.value,
                )
            connection.execute(
                shipments_table.insert().values(
                    id=shipment_id,
                    business_id=business_id,
                    order_id=order.id,
                    carrier=carrier,
                    tracking_number=tracking_number,
                    mode=mode.value,
                    transport_document_number=document,
                    port_of_loading=loading,
                    port_of_discharge=discharge,
                    shipped_at=now,
                    status=TrackingStatus.INFO_RECEIVED.value,
                    status_at=now,
                )
            )
            deadline = realisation_deadline(
                now, RealisationCase(proceeds.realisation_case), self.settings.realisation_days
            )
            connection.execute(
                proceeds_table.update()
                .where(proceeds_table.c.order_id == order.id)
                .values(
                    status=ProceedsStatus.OUTSTANDING.value,
                    shipment_mode=mode.value,
                    shipped_at=now,
                    deadline_at=deadline,
                )
            )
            return self._move(
                connection,
                order,
                OrderStatus.SHIPPED,
                actor,
                f"{carrier} {tracking_number}",
                effects=True,
                shipped_at=now,
            )

        try:
            self._change(business_id, order_id, ship)
        except sa.exc.IntegrityError:
            raise DomainError(
                TradeError.SHIPMENT_INVALID,
                f"{carrier} tracking number {tracking_number} is already in use",
                status=409,
                fields={"carrier": carrier, "tracking_number": tracking_number},
            ) from None
        return self.shipment(business_id, shipment_id)

    def mark_delivered(
        self, business_id: uuid.UUID, order_id: uuid.UUID, actor: str = "operator"
    ) -> Order:
        """Delivered without a carrier event (e.g. the buyer collected the goods)."""
        actor = check_actor(actor)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._move(
                connection,
                order,
                OrderStatus.DELIVERED,
                actor,
                delivered_at=self.clock.now_ns(),
            ),
        )

    def confirm_receipt(
        self, business_id: uuid.UUID, order_id: uuid.UUID, actor: str = "operator"
    ) -> Order:
        """The buyer confirms receipt: escrow is released to the seller and converted."""
        actor = check_actor(actor)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._confirm_receipt(connection, order, actor),
        )

    def _confirm_receipt(self, connection: sa.Connection, order: Order, actor: str) -> Order:
        if order.status is OrderStatus.DISPUTED:
            raise DomainError(
                TradeError.ILLEGAL_TRANSITION,
                "a disputed order's escrow is released only by resolving the dispute",
                status=409,
                fields={"from": order.status.value, "to": OrderStatus.COMPLETED.value},
            )
        now = self.clock.now_ns()
        if order.status is OrderStatus.SHIPPED:
            order = self._move(
                connection,
                order,
                OrderStatus.DELIVERED,
                actor,
                "receipt confirmed by the buyer",
                delivered_at=now,
            )
        return self._move(
            connection,
            order,
            OrderStatus.COMPLETED,
            actor,
            "receipt confirmed: escrow released",
            effects=True,
            completed_at=now,
        )

    def cancel_order(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        reason: str,
        actor: str = "operator",
    ) -> Order:
        """Before payment: cancelled, stock released. Paid but not shipped: refunded in
        full. After shipping, only a dispute can give money back."""
        actor = check_actor(actor)
        reason = _clean(reason, "reason", 400, TradeError.ORDER_INVALID)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._cancel(connection, order, reason, actor),
        )

    def _cancel(self, connection: sa.Connection, order: Order, reason: str, actor: str) -> Order:
        if order.status in {OrderStatus.PAID, OrderStatus.PACKED}:
            return self._move(
                connection,
                order,
                OrderStatus.REFUNDED,
                actor,
                f"cancelled after payment, refunded in full: {reason}",
                effects=True,
                refund_minor=order.total_minor,
                completed_at=self.clock.now_ns(),
            )
        return self._move(connection, order, OrderStatus.CANCELLED, actor, reason, effects=True)

    def open_dispute(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        reason: str,
        actor: str = "operator",
    ) -> Order:
        """The buyer claims (Trade Assurance): escrow is frozen until the dispute is
        resolved. Possible while in transit and up to 30 days after receipt."""
        actor = check_actor(actor)
        reason = _clean(reason, "reason", 400, TradeError.ORDER_INVALID)
        return self._change(
            business_id,
            order_id,
            lambda connection, order: self._open_dispute(connection, order, reason, actor),
        )

    def _open_dispute(
        self, connection: sa.Connection, order: Order, reason: str, actor: str
    ) -> Order:
        check_transition(order.status, OrderStatus.DISPUTED)
        now = self.clock.now_ns()
        window_ns = self.settings.dispute_window_days * DAY_NS
        if order.delivered_at is not None and now > order.delivered_at + window_ns:
            raise DomainError(
                TradeError.DISPUTE_WINDOW_CLOSED,
                f"claims are possible up to {self.settings.dispute_window_days} days after receipt",
                status=409,
                fields={"delivered_at": from_ns(order.delivered_at).isoformat()},
            )
        return self._move(
            connection,
            order,
            OrderStatus.DISPUTED,
            actor,
            reason,
            dispute_opened_at=now,
            dispute_reason=reason,
        )

    def resolve_dispute(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        outcome: DisputeOutcome,
        *,
        refund_minor: int | None = None,
        note: str = "",
        actor: str = "operator",
    ) -> Order:
        """Release to the seller, refund part (the seller keeps the rest), or refund all."""
        actor = check_actor(actor)
        note = check_note(note)
        outcome = _member(DisputeOutcome, outcome, "outcome", TradeError.REFUND_INVALID)

        def resolve(connection: sa.Connection, order: Order) -> Order:
            if order.status is not OrderStatus.DISPUTED:
                check_transition(order.status, OrderStatus.PARTIALLY_REFUNDED)  # raises
            now = self.clock.now_ns()
            if outcome is DisputeOutcome.PARTIAL_REFUND:
                if type(refund_minor) is not int or not 0 < refund_minor < order.total_minor:
                    raise invalid(
                        TradeError.REFUND_INVALID,
                        "a partial refund is more than 0 and less than the order total "
                        f"({order.total_minor} minor units)",
                        refund_minor=refund_minor,
                    )
                return self._move(
                    connection,
                    order,
                    OrderStatus.PARTIALLY_REFUNDED,
                    actor,
                    note or "dispute resolved: partial refund",
                    effects=True,
                    refund_minor=refund_minor,
                    completed_at=now,
                )
            if refund_minor is not None:
                raise invalid(
                    TradeError.REFUND_INVALID,
                    "refund_minor goes with a partial refund only",
                    outcome=outcome.value,
                )
            if outcome is DisputeOutcome.RELEASE:
                return self._move(
                    connection,
                    order,
                    OrderStatus.COMPLETED,
                    actor,
                    note or "dispute resolved: released to the seller",
                    effects=True,
                    completed_at=now,
                )
            return self._move(
                connection,
                order,
                OrderStatus.REFUNDED,
                actor,
                note or "dispute resolved: refunded in full",
                effects=True,
                refund_minor=order.total_minor,
                completed_at=now,
            )

        return self._change(business_id, order_id, resolve)

    # ================================================================== effects
    def _settle(self, order_id: uuid.UUID) -> Order:
        """Do what the order's state requires outside trade's tables, once each."""
        with self.engine.connect() as connection:
            order = self._get(connection, None, order_id)
        if not order.effects_due:
            return order
        now = self.clock.now_ns()
        marks: dict[str, int] = {}
        failure: str | None = None
        try:
            if order.paid_at is not None:
                accounts = self.escrow.accounts(self.wallets, order.business_id, order.currency)
                if order.escrow_held_at is None:
                    self.escrow.hold(accounts, order)
                    marks["escrow_held_at"] = now
                if order.escrow_settled_at is None and order.status not in ESCROW_HELD:
                    if order.status is OrderStatus.COMPLETED:
                        self.escrow.release(order)
                    elif order.status is OrderStatus.PARTIALLY_REFUNDED:
                        self.escrow.refund_in_part(accounts, order)
                    else:
                        self.escrow.refund_in_full(accounts, order)
                    marks["escrow_settled_at"] = now
            if order.shipped_at is not None and order.stock_fulfilled_at is None:
                for line in order.lines:
                    self.stock.fulfil(order.business_id, str(line.id))
                marks["stock_fulfilled_at"] = now
            if (
                order.status in {OrderStatus.CANCELLED, OrderStatus.REFUNDED}
                and order.shipped_at is None
                and order.stock_released_at is None
            ):
                for line in order.lines:
                    self.stock.release(order.business_id, str(line.id))
                marks["stock_released_at"] = now
            if order.paid_at is not None and order.status in {
                OrderStatus.COMPLETED,
                OrderStatus.PARTIALLY_REFUNDED,
            }:
                self._realise(order)
            if order.status is OrderStatus.REFUNDED:
                self._proceeds_refunded(order)
        except Exception as error:  # an outside service failed: recorded, retried by sweep()
            failure = (
                f"{error.code}: {error.message}"
                if isinstance(error, DomainError)
                else f"{type(error).__name__}: {error}"
            )[:400]
            log.warning("order effects not finished", order_id=str(order.id), error=failure)
        with self.engine.begin() as connection:
            values: dict[str, Any] = {**marks, "effect_error": failure}
            connection.execute(
                orders_table.update().where(orders_table.c.id == order.id).values(**values)
            )
            if failure is None:
                # Only if nothing changed meanwhile: a newer state has effects of its own.
                connection.execute(
                    orders_table.update()
                    .where(
                        (orders_table.c.id == order.id) & (orders_table.c.version == order.version)
                    )
                    .values(effects_due=False)
                )
            return self._get(connection, None, order.id)

    def _realise(self, order: Order) -> None:
        """The seller's proceeds: converted to rupees in the wallet, deductions posted."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(proceeds_table).where(proceeds_table.c.order_id == order.id)
            ).first()
        if row is not None and row.status == ProceedsStatus.REALISED.value:
            return
        home = self.settings.home_currency
        amount = order.seller_amount_minor
        if order.currency == home:
            converted, rate = amount, "1"
        else:
            conversion = self.wallets.convert(
                order.business_id, amount, order.currency, home, derived_id(order.id, "conversion")
            )
            converted, rate = conversion.to_amount_minor, conversion.rate
        # The rates in force on the day escrow was settled: the same on every retry.
        day = pakistan_date(order.completed_at or self.clock.now_ns())
        deductions = compute_deductions(
            Money(converted, home),
            day,
            self.settings.deduction_rates,
            self.settings.deduction_rounding,
        )
        self.escrow.post_deductions(self.wallets, order, home, deductions)
        values: dict[str, Any] = {
            "status": ProceedsStatus.REALISED.value,
            "realised_at": self.clock.now_ns(),
            "realised_minor": amount,
            "converted_minor": converted,
            "conversion_rate": rate[:32],
        }
        for deduction in deductions:
            amount_column, points_column = DEDUCTION_COLUMNS[deduction.kind]
            values[amount_column] = deduction.amount_minor
            values[points_column] = deduction.basis_points
        with self.engine.begin() as connection:
            if row is None:  # shipped before details were required: the general case
                self._insert_proceeds(
                    connection, order, None, Instrument.OPEN_ACCOUNT, RealisationCase.GENERAL
                )
            connection.execute(
                proceeds_table.update()
                .where(
                    (proceeds_table.c.order_id == order.id)
                    & (proceeds_table.c.status != ProceedsStatus.REALISED.value)
                )
                .values(**values)
            )

    def _proceeds_refunded(self, order: Order) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                proceeds_table.update()
                .where(proceeds_table.c.order_id == order.id)
                .values(status=ProceedsStatus.REFUNDED.value)
            )

    def sweep(self) -> SweepReport:
        """The clock's work: release escrow N days after delivery, close orders unpaid for
        20 days, and finish effects a crash left undone. Safe to run from many workers."""
        inbox = self.process_inbox()  # messages that waited for their order's next step
        now = self.clock.now_ns()
        release_before = now - self.settings.auto_release_days * DAY_NS
        close_before = now - self.settings.unpaid_close_days * DAY_NS
        with self.engine.connect() as connection:
            to_release = connection.execute(
                sa.select(orders_table.c.id, orders_table.c.business_id)
                .where(
                    (orders_table.c.status == OrderStatus.DELIVERED.value)
                    & (orders_table.c.delivered_at <= release_before)
                )
                .limit(SWEEP_BATCH_MAX)
            ).all()
            to_close = connection.execute(
                sa.select(orders_table.c.id, orders_table.c.business_id)
                .where(
                    orders_table.c.status.in_([status.value for status in UNPAID])
                    & (orders_table.c.created_at <= close_before)
                )
                .limit(SWEEP_BATCH_MAX)
            ).all()
        released = sum(
            self._sweep_one(
                row.business_id,
                row.id,
                {OrderStatus.DELIVERED},
                OrderStatus.COMPLETED,
                f"released automatically {self.settings.auto_release_days} days after delivery",
            )
            for row in to_release
        )
        closed = sum(
            self._sweep_one(
                row.business_id,
                row.id,
                UNPAID,
                OrderStatus.CANCELLED,
                f"unpaid for {self.settings.unpaid_close_days} days: closed",
            )
            for row in to_close
        )
        with self.engine.connect() as connection:
            due = connection.execute(
                sa.select(orders_table.c.id)
                .where(orders_table.c.effects_due.is_(True))
                .limit(SWEEP_BATCH_MAX)
            ).scalars()
            due_ids = list(due)
        finished = sum(not self._settle(order_id).effects_due for order_id in due_ids)
        return SweepReport(
            auto_released=released,
            closed_unpaid=closed,
            effects_finished=finished,
            auto_confirmed=self._confirm_forgotten() if self.settings.auto_confirm else 0,
            inbox_applied=inbox.applied,
        )

    def _confirm_forgotten(self) -> int:
        """Marketplace orders still received with no note: the process stopped between
        storing the order and reserving its stock. (A failed attempt leaves a note; those
        wait for the seller, who knows when stock arrives.)"""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(orders_table.c.id, orders_table.c.business_id)
                .where(
                    (orders_table.c.status == OrderStatus.RECEIVED.value)
                    & orders_table.c.note.is_(None)
                    & orders_table.c.connector_id.is_not(None)
                )
                .limit(SWEEP_BATCH_MAX)
            ).all()
        for row in rows:
            self._auto_confirm(row.business_id, row.id)
        with self.engine.connect() as connection:
            confirmed = connection.execute(
                sa.select(sa.func.count())
                .select_from(orders_table)
                .where(
                    orders_table.c.id.in_([row.id for row in rows])
                    & (orders_table.c.status != OrderStatus.RECEIVED.value)
                )
            ).scalar_one()
        return int(confirmed)

    def _sweep_one(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        expected: frozenset[OrderStatus] | set[OrderStatus],
        target: OrderStatus,
        note: str,
    ) -> bool:
        def move(connection: sa.Connection, order: Order) -> Order:
            if order.status not in expected:  # changed since it was selected (e.g. disputed)
                return order
            extra = {"completed_at": self.clock.now_ns()} if target is OrderStatus.COMPLETED else {}
            return self._move(connection, order, target, ACTOR_SYSTEM, note, effects=True, **extra)

        return self._change(business_id, order_id, move).status is target

    # ================================================================== shipments
    def shipment(self, business_id: uuid.UUID, shipment_id: uuid.UUID) -> Shipment:
        with self.engine.connect() as connection:
            return self._shipment(connection, business_id, shipments_table.c.id == shipment_id)

    def shipment_of_order(self, business_id: uuid.UUID, order_id: uuid.UUID) -> Shipment | None:
        with self.engine.connect() as connection:
            try:
                return self._shipment(
                    connection, business_id, shipments_table.c.order_id == order_id
                )
            except DomainError:
                return None

    def _shipment(self, connection: sa.Connection, business_id: uuid.UUID, where: Any) -> Shipment:
        row = connection.execute(
            sa.select(shipments_table).where(where & (shipments_table.c.business_id == business_id))
        ).first()
        if row is None:
            raise _not_found(TradeError.SHIPMENT_NOT_FOUND, "such shipment")
        events = connection.execute(
            sa.select(tracking_events_table)
            .where(tracking_events_table.c.shipment_id == row.id)
            .order_by(tracking_events_table.c.occurred_at, tracking_events_table.c.seq)
        ).all()
        return store.shipment_from_row(row, [store.tracking_event_from_row(e) for e in events])

    def record_tracking_events(
        self,
        business_id: uuid.UUID,
        shipment_id: uuid.UUID,
        events: Sequence[TrackingInput],
        source: str = "webhook",
    ) -> Shipment:
        """Carrier events (a webhook's batch): each normalised, stored once; Delivered moves
        a shipped order to delivered."""
        if not 0 < len(events) <= TRACKING_EVENTS_MAX:
            raise invalid(
                TradeError.SHIPMENT_INVALID, f"send 1 to {TRACKING_EVENTS_MAX} events at a time"
            )
        shipment = self.shipment(business_id, shipment_id)
        self._record_tracking(shipment, events, source)
        return self.shipment(business_id, shipment_id)

    def _record_tracking(
        self, shipment: Shipment, events: Sequence[TrackingInput], source: str
    ) -> tuple[int, int]:
        normalised = [
            (event, normalise_tracking_status(shipment.carrier, event.carrier_status))
            for event in events
        ]  # every event checked before any is stored
        now = self.clock.now_ns()
        inserted = duplicates = 0
        delivered_at: int | None = None
        with self.engine.begin() as connection:
            order = self._get(connection, shipment.business_id, shipment.order_id, lock=True)
            for event, status in normalised:
                key = (
                    event.event_id
                    or hashlib.sha256(
                        f"{event.occurred_at}|{event.carrier_status}|{event.location}".encode()
                    ).hexdigest()[:32]
                )
                exists = connection.execute(
                    sa.select(tracking_events_table.c.seq).where(
                        (tracking_events_table.c.shipment_id == shipment.id)
                        & (tracking_events_table.c.event_key == key[:64])
                    )
                ).first()
                if exists:
                    duplicates += 1
                    continue
                connection.execute(
                    tracking_events_table.insert().values(
                        shipment_id=shipment.id,
                        event_key=key[:64],
                        carrier_status=event.carrier_status.strip()[:64],
                        status=status.value,
                        location=event.location.strip()[:140],
                        occurred_at=event.occurred_at,
                        received_at=now,
                        source=source,
                    )
                )
                inserted += 1
                if status is TrackingStatus.DELIVERED:
                    # Delivered "in the future" is a carrier clock error: receipt is now.
                    delivered_at = min(event.occurred_at, now)
            latest = connection.execute(
                sa.select(tracking_events_table.c.status, tracking_events_table.c.occurred_at)
                .where(tracking_events_table.c.shipment_id == shipment.id)
                .order_by(
                    tracking_events_table.c.occurred_at.desc(), tracking_events_table.c.seq.desc()
                )
                .limit(1)
            ).first()
            if latest is not None:
                connection.execute(
                    shipments_table.update()
                    .where(shipments_table.c.id == shipment.id)
                    .values(status=latest.status, status_at=latest.occurred_at)
                )
            if delivered_at is not None and order.status is OrderStatus.SHIPPED:
                self._move(
                    connection,
                    order,
                    OrderStatus.DELIVERED,
                    f"carrier:{shipment.carrier}",
                    f"{shipment.carrier} {shipment.tracking_number} delivered",
                    delivered_at=delivered_at,
                )
        return inserted, duplicates

    def import_tracking(self, business_id: uuid.UUID, text: str) -> TrackingImportReport:
        """A carrier's CSV export: carrier, tracking_number, status, occurred_at (ISO 8601
        with a zone), location, event_id (optional). Bad rows are reported and skipped."""
        if len(text.encode()) > TRACKING_IMPORT_BYTES_MAX:
            raise DomainError(
                TradeError.TRACKING_IMPORT_INVALID,
                f"an import is at most {TRACKING_IMPORT_BYTES_MAX} bytes",
                status=413,
            )
        reader = csv.DictReader(io.StringIO(text))
        needed = {"carrier", "tracking_number", "status", "occurred_at"}
        if reader.fieldnames is None or not needed <= set(reader.fieldnames):
            raise invalid(
                TradeError.TRACKING_IMPORT_INVALID,
                f"the header must name {', '.join(sorted(needed))} (and may name location, "
                "event_id)",
            )
        errors: list[str] = []
        by_shipment: dict[uuid.UUID, tuple[Shipment, list[TrackingInput]]] = {}
        shipments: dict[tuple[str, str], Shipment | None] = {}
        for count, row in enumerate(reader, start=1):
            # The physical line (DictReader skips blank lines, so counting rows would drift).
            number = reader.line_num
            if count > TRACKING_IMPORT_ROWS_MAX:
                errors.append(f"rows after {TRACKING_IMPORT_ROWS_MAX} were not read")
                break
            try:
                key = (
                    (row["carrier"] or "").strip().lower(),
                    (row["tracking_number"] or "").strip(),
                )
                if key not in shipments:
                    shipments[key] = self._shipment_by_tracking(business_id, *key)
                shipment = shipments[key]
                if shipment is None:
                    errors.append(f"row {number}: no shipment {key[0]} {key[1]}")
                    continue
                occurred = datetime.fromisoformat((row["occurred_at"] or "").strip())
                if occurred.tzinfo is None:
                    errors.append(f"row {number}: occurred_at needs a time zone")
                    continue
                status_text = (row["status"] or "").strip()
                normalise_tracking_status(shipment.carrier, status_text)
                event = TrackingInput(
                    carrier_status=status_text,
                    occurred_at=to_ns(occurred),
                    location=(row.get("location") or "").strip(),
                    event_id=(row.get("event_id") or "").strip() or None,
                )
            except DomainError as error:
                errors.append(f"row {number}: {error.message}")
                continue
            except ValueError as error:
                errors.append(f"row {number}: {error}"[:200])
                continue
            by_shipment.setdefault(shipment.id, (shipment, []))[1].append(event)
        accepted = duplicates = 0
        for shipment, events in by_shipment.values():
            for start in range(0, len(events), TRACKING_EVENTS_MAX):
                inserted, repeated = self._record_tracking(
                    shipment, events[start : start + TRACKING_EVENTS_MAX], "import"
                )
                accepted += inserted
                duplicates += repeated
        return TrackingImportReport(accepted, duplicates, tuple(errors))

    def _shipment_by_tracking(
        self, business_id: uuid.UUID, carrier: str, tracking_number: str
    ) -> Shipment | None:
        with self.engine.connect() as connection:
            try:
                return self._shipment(
                    connection,
                    business_id,
                    (shipments_table.c.carrier == carrier)
                    & (shipments_table.c.tracking_number == tracking_number),
                )
            except DomainError:
                return None

    # ================================================================== export proceeds
    def record_export_details(
        self,
        business_id: uuid.UUID,
        order_id: uuid.UUID,
        *,
        financial_instrument_reference: str | None,
        instrument: Instrument,
        realisation_case: RealisationCase = RealisationCase.GENERAL,
    ) -> ExportProceeds:
        """The PSW Financial Instrument the bank issued for this export, and which of SBP's
        cases sets its realisation deadline. May be corrected until proceeds are realised."""
        instrument = _member(Instrument, instrument, "instrument", TradeError.EXPORT_INVALID)
        case = _member(
            RealisationCase, realisation_case, "realisation_case", TradeError.EXPORT_INVALID
        )
        with self.engine.begin() as connection:
            order = self._get(connection, business_id, order_id, lock=True)
            if order.status in {OrderStatus.CANCELLED, OrderStatus.REFUNDED}:
                raise DomainError(
                    TradeError.EXPORT_INVALID,
                    f"the order is {order.status.value}: nothing will be exported",
                    status=409,
                )
            reference = check_export_details(
                financial_instrument_reference, instrument, case, order.total
            )
            row = connection.execute(
                sa.select(proceeds_table).where(proceeds_table.c.order_id == order.id)
            ).first()
            if row is None:
                self._insert_proceeds(connection, order, reference, instrument, case)
            elif row.status in {ProceedsStatus.REALISED.value, ProceedsStatus.REFUNDED.value}:
                raise DomainError(
                    TradeError.EXPORT_INVALID,
                    f"the proceeds are {row.status}: the details are final",
                    status=409,
                )
            else:
                deadline = (
                    realisation_deadline(order.shipped_at, case, self.settings.realisation_days)
                    if order.shipped_at is not None
                    else None
                )
                connection.execute(
                    proceeds_table.update()
                    .where(proceeds_table.c.order_id == order.id)
                    .values(
                        financial_instrument_reference=reference,
                        instrument=instrument.value,
                        realisation_case=case.value,
                        deadline_at=deadline,
                    )
                )
        return self.export_proceeds(business_id, order_id)

    def _insert_proceeds(
        self,
        connection: sa.Connection,
        order: Order,
        reference: str | None,
        instrument: Instrument,
        case: RealisationCase,
    ) -> None:
        connection.execute(
            proceeds_table.insert().values(
                order_id=order.id,
                business_id=order.business_id,
                financial_instrument_reference=reference,
                instrument=instrument.value,
                realisation_case=case.value,
                status=(
                    ProceedsStatus.OUTSTANDING
                    if order.shipped_at
                    else ProceedsStatus.AWAITING_SHIPMENT
                ).value,
                currency=order.currency,
                invoiced_minor=order.total_minor,
                created_at=self.clock.now_ns(),
                shipped_at=order.shipped_at,
                deadline_at=(
                    realisation_deadline(order.shipped_at, case, self.settings.realisation_days)
                    if order.shipped_at
                    else None
                ),
            )
        )

    def export_proceeds(self, business_id: uuid.UUID, order_id: uuid.UUID) -> ExportProceeds:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(proceeds_table).where(
                    (proceeds_table.c.order_id == order_id)
                    & (proceeds_table.c.business_id == business_id)
                )
            ).first()
        if row is None:
            raise _not_found(
                TradeError.EXPORT_DETAILS_MISSING, f"export details for order {order_id}"
            )
        return store.proceeds_from_row(row)

    def proceeds_report(
        self,
        business_id: uuid.UUID,
        *,
        warning_days: int | None = None,
        include_on_time: bool = False,
    ) -> list[ProceedsReportRow]:
        """Shipped exports whose proceeds are not realised yet, nearest deadline first:
        overdue, due within `warning_days`, and (if asked) the rest."""
        warning = self.settings.proceeds_warning_days if warning_days is None else warning_days
        now = self.clock.now_ns()
        today = pakistan_date(now)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    proceeds_table,
                    orders_table.c.marketplace_order_id,
                    orders_table.c.buyer_company,
                )
                .join(orders_table, orders_table.c.id == proceeds_table.c.order_id)
                .where(
                    (proceeds_table.c.business_id == business_id)
                    & (proceeds_table.c.status == ProceedsStatus.OUTSTANDING.value)
                )
                .order_by(proceeds_table.c.deadline_at)
                .limit(REPORT_ROWS_MAX)
            ).all()
        report = []
        for row in rows:
            days_left = (pakistan_date(row.deadline_at) - today).days
            if now > row.deadline_at:
                standing = ProceedsStanding.OVERDUE
            elif days_left <= warning:
                standing = ProceedsStanding.DUE_SOON
            else:
                standing = ProceedsStanding.ON_TIME
            if standing is ProceedsStanding.ON_TIME and not include_on_time:
                continue
            report.append(
                ProceedsReportRow(
                    order_id=row.order_id,
                    marketplace_order_id=row.marketplace_order_id,
                    buyer_company=row.buyer_company,
                    invoiced_minor=row.invoiced_minor,
                    currency=row.currency,
                    financial_instrument_reference=row.financial_instrument_reference,
                    realisation_case=RealisationCase(row.realisation_case),
                    shipped_at=row.shipped_at,
                    deadline_at=row.deadline_at,
                    days_left=days_left,
                    standing=standing,
                )
            )
        return report

    # ================================================================== paperwork
    def commercial_invoice(self, business_id: uuid.UUID, order_id: uuid.UUID) -> bytes:
        """The commercial invoice as PDF."""
        order, exporter, shipment = self._paperwork_facts(business_id, order_id)
        try:
            proceeds: ExportProceeds | None = self.export_proceeds(business_id, order_id)
        except DomainError:
            proceeds = None
        return paperwork.commercial_invoice(order, exporter, shipment, proceeds)

    def packing_list(self, business_id: uuid.UUID, order_id: uuid.UUID) -> bytes:
        """The packing list as PDF."""
        order, exporter, shipment = self._paperwork_facts(business_id, order_id)
        return paperwork.packing_list(order, exporter, shipment)

    def _paperwork_facts(
        self, business_id: uuid.UUID, order_id: uuid.UUID
    ) -> tuple[Order, Exporter, Shipment | None]:
        order = self.order(business_id, order_id)
        if order.status is OrderStatus.CANCELLED:
            raise DomainError(
                TradeError.ORDER_INVALID,
                "a cancelled order is not exported: no paperwork",
                status=409,
            )
        return order, self.exporter(business_id), self.shipment_of_order(business_id, order_id)


def _member(kind: type[_E], value: object, name: str, code: TradeError) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise invalid(code, f"{name} must be one of {allowed}", field=name) from None


def _clean(value: object, name: str, limit: int, code: TradeError) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise invalid(code, f"{name} must be 1 to {limit} characters", field=name)
    return " ".join(value.split())
