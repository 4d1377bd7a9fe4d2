"""Marketplace orders through the trade service, on SQLite and PostgreSQL: pushes and the
inbox, stock, escrow on the ledger (release, auto-release, every dispute outcome, refunds),
shipments and tracking, export proceeds with conversion and deductions, paperwork."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pypdf
import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.ledger.model import PendingStatus
from tijarat.trade.escrow import collection_account_id, derived_id, escrow_account_id
from tijarat.trade.model import (
    DisputeOutcome,
    InboxReport,
    Incoterm,
    Instrument,
    Order,
    OrderStatus,
    ProceedsStanding,
    ProceedsStatus,
    RealisationCase,
    ShipmentMode,
    TrackingInput,
)
from tijarat.trade.service import TradeService
from tijarat.trade.simulator import (
    FixedRateWallets,
    MarketplaceSimulator,
    SimulatedStock,
    open_demo_business,
)

RATE = "278.50"  # PKR per USD, fixed for the test
DAY = timedelta(days=1)


@dataclass
class Shop:
    container: Container
    trade: TradeService
    clock: ManualClock
    stock: SimulatedStock
    wallets: FixedRateWallets
    business_id: uuid.UUID
    marketplace: MarketplaceSimulator

    def new_order(self, **options: object) -> Order:
        """A marketplace order pushed, processed and (automatically) confirmed."""
        message = self.marketplace.order_created(incoterm=Incoterm.DAP, **options)  # type: ignore[arg-type]
        assert not self.marketplace.push_in_process(self.trade, message).duplicate
        self.trade.process_inbox()
        return self.by_marketplace_id(message.data["order_id"])

    def by_marketplace_id(self, marketplace_order_id: str) -> Order:
        for order in self.trade.orders(self.business_id):
            if order.marketplace_order_id == marketplace_order_id:
                return order
        raise AssertionError(marketplace_order_id)

    def push(self, message: object) -> InboxReport:
        self.marketplace.push_in_process(self.trade, message)  # type: ignore[arg-type]
        return self.trade.process_inbox()

    def paid(self, order: Order) -> Order:
        self.push(self.marketplace.order_paid(order.marketplace_order_id))
        return self.trade.order(self.business_id, order.id)

    def shipped(self, order: Order) -> Order:
        order = self.paid(order)
        self.trade.record_export_details(
            self.business_id,
            order.id,
            financial_instrument_reference=f"MCB-EXP-{order.marketplace_order_id}",
            instrument=Instrument.ADVANCE_PAYMENT,
        )
        self.trade.mark_packed(self.business_id, order.id)
        self.trade.ship_order(
            self.business_id,
            order.id,
            carrier="dhl",
            tracking_number=f"JD{order.marketplace_order_id}",
            mode=ShipmentMode.COURIER,
            transport_document_number=f"AWB{order.marketplace_order_id}",
            port_of_loading="Islamabad (ISB)",
            port_of_discharge="Hamburg (HAM)",
        )
        return self.trade.order(self.business_id, order.id)

    def delivered(self, order: Order) -> Order:
        order = self.shipped(order)
        return self.trade.mark_delivered(self.business_id, order.id, "courier desk")

    def balance(self, currency: str) -> int:
        return self.wallets.balance_minor(self.business_id, currency)

    def escrow_balance(self, currency: str = "USD") -> int:
        ledger_id = self.wallets.ledger_id(currency)
        account = self.container.ledger.get_account(escrow_account_id(self.business_id, ledger_id))
        return account.balance.net_credit_posted

    def check_books(self) -> None:
        report = self.container.ledger.verify()
        assert report.ok, report.problems


@pytest.fixture
def shop(container: Container, clock: ManualClock) -> Shop:
    stock = SimulatedStock()
    wallets = FixedRateWallets(container.ledger, {("USD", "PKR"): RATE})
    container.trade.stock = stock
    container.trade.wallets = wallets
    business_id = uuid.uuid4()
    marketplace = open_demo_business(container.trade, business_id, clock, stock=stock)
    return Shop(container, container.trade, clock, stock, wallets, business_id, marketplace)


def test_the_whole_order_story(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    order = shop.new_order(lines=[("APR-DRY-1KG", 600), ("SHAWL-PASH", 40)])
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert order.goods_minor == 600 * 590 + 40 * 3_800  # the 500+ tier for apricots
    assert [shop.stock.state(business, str(line.id)) for line in order.lines] == ["reserved"] * 2
    assert shop.stock.available(business, "APR-DRY-1KG") == 10_000 - 600

    order = shop.paid(order)
    assert order.status is OrderStatus.PAID
    assert order.escrow_held_at is not None
    (hold,) = shop.container.ledger.lookup_pending([derived_id(order.id, "hold")])
    assert hold.status is PendingStatus.PENDING
    assert hold.amount == order.total_minor
    assert shop.escrow_balance() == order.total_minor
    assert shop.balance("USD") == 0  # held, not yet the seller's

    order = shop.shipped(order)
    assert order.status is OrderStatus.SHIPPED
    assert shop.stock.on_hand(business, "APR-DRY-1KG") == 10_000 - 600
    shipment = trade.shipment_of_order(business, order.id)
    assert shipment is not None
    shop.clock.advance(4 * DAY)
    now = shop.clock.now_ns()
    trade.record_tracking_events(
        business,
        shipment.id,
        [
            TrackingInput("transit", now - 3 * 86_400 * 10**9, "Dubai"),
            TrackingInput("delivered", now, "Hamburg", event_id="dhl-evt-9"),
        ],
    )
    order = trade.order(business, order.id)
    assert order.status is OrderStatus.DELIVERED
    assert order.delivered_at == now

    report = shop.push(shop.marketplace.receipt_confirmed(order.marketplace_order_id))
    assert report.applied == 1
    order = trade.order(business, order.id)
    assert order.status is OrderStatus.COMPLETED
    assert not order.effects_due
    assert order.effect_error is None
    (hold,) = shop.container.ledger.lookup_pending([derived_id(order.id, "hold")])
    assert hold.status is PendingStatus.POSTED

    proceeds = trade.export_proceeds(business, order.id)
    assert proceeds.status is ProceedsStatus.REALISED
    assert proceeds.realised_minor == order.total_minor
    converted = order.total_minor * 27_850 // 100  # cents x 278.50 = paisa, exact here
    assert proceeds.converted_minor == converted
    assert [d.basis_points for d in proceeds.deductions] == [25, 100, 100]
    surcharge = (converted * 25 + 5_000) // 10_000  # half up
    tax = (converted * 100 + 5_000) // 10_000
    assert [d.amount_minor for d in proceeds.deductions] == [surcharge, tax, tax]
    assert shop.balance("USD") == 0  # all converted
    assert shop.balance("PKR") == converted - surcharge - 2 * tax == proceeds.net_minor
    assert shop.escrow_balance() == 0
    collection = shop.container.ledger.get_account(
        collection_account_id(shop.wallets.ledger_id("USD"))
    )
    assert collection.balance.net_debit_posted == order.total_minor
    shop.check_books()

    history = trade.history(business, order.id)
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, OrderStatus.RECEIVED),
        (OrderStatus.RECEIVED, OrderStatus.CONFIRMED),
        (OrderStatus.CONFIRMED, OrderStatus.AWAITING_PAYMENT),
        (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID),
        (OrderStatus.PAID, OrderStatus.PACKED),
        (OrderStatus.PACKED, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        (OrderStatus.DELIVERED, OrderStatus.COMPLETED),
    ]
    assert [e.actor for e in history] == [
        "marketplace:alibaba",
        "system",
        "system",
        "marketplace:alibaba",
        "operator",
        "operator",
        "carrier:dhl",
        "marketplace:alibaba",
    ]

    invoice = pypdf.PdfReader(io.BytesIO(trade.commercial_invoice(business, order.id)))
    text = "\n".join(page.extract_text() for page in invoice.pages)
    for expected in (
        "COMMERCIAL INVOICE",
        "Baltistan Orchards (Pvt) Ltd",
        "NTN: 4271935-6",
        order.buyer.company,
        order.invoice_number,
        order.marketplace_order_id,
        f"AWB No. AWB{order.marketplace_order_id}",
        "Country of origin Pakistan",
        f"Incoterms 2020 DAP {order.incoterm_place}",
        "0813.10.00",
        "6214.20.00",
        "600.000",  # net kg of apricots
        "Total invoice value USD",
        f"MCB-EXP-{order.marketplace_order_id}",
    ):
        assert expected in text, expected
    packing = pypdf.PdfReader(io.BytesIO(trade.packing_list(business, order.id)))
    text = "\n".join(page.extract_text() for page in packing.pages)
    for expected in ("PACKING LIST", "1-30", "31-32", "Total packages 32", "50 x 40 x 30"):
        assert expected in text, expected


def test_release_on_receipt_and_automatically_after_delivery(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    confirmed_by_buyer = shop.delivered(shop.new_order())
    quiet = shop.delivered(shop.new_order())
    released = trade.confirm_receipt(business, confirmed_by_buyer.id, "buyer")
    assert released.status is OrderStatus.COMPLETED
    assert shop.balance("USD") == 0  # released and converted in one go
    days = trade.settings.auto_release_days
    shop.clock.advance((days - 1) * DAY)
    assert trade.sweep().auto_released == 0
    assert trade.order(business, quiet.id).status is OrderStatus.DELIVERED
    shop.clock.advance(DAY)
    assert trade.sweep().auto_released == 1
    quiet = trade.order(business, quiet.id)
    assert quiet.status is OrderStatus.COMPLETED
    assert trade.history(business, quiet.id)[-1].actor == "system"
    assert trade.export_proceeds(business, quiet.id).status is ProceedsStatus.REALISED
    assert trade.sweep().auto_released == 0  # done once
    pkr = sum(
        trade.export_proceeds(business, order.id).net_minor or 0
        for order in (confirmed_by_buyer, quiet)
    )
    assert shop.balance("PKR") == pkr
    shop.check_books()


def test_every_dispute_outcome(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    released = shop.delivered(shop.new_order())
    partial = shop.delivered(shop.new_order())
    refunded = shop.shipped(shop.new_order())  # in transit: "never arrived"
    for order in (released, partial, refunded):
        disputed = trade.open_dispute(business, order.id, "goods damaged", "buyer")
        assert disputed.status is OrderStatus.DISPUTED
    held = sum(order.total_minor for order in (released, partial, refunded))
    assert shop.escrow_balance() == held
    # Frozen: neither time nor the buyer's receipt releases a disputed order.
    shop.clock.advance(60 * DAY)
    assert trade.sweep().auto_released == 0
    with pytest.raises(DomainError) as refused:
        trade.confirm_receipt(business, released.id)
    assert refused.value.code == "trade_illegal_transition"

    done = trade.resolve_dispute(business, released.id, DisputeOutcome.RELEASE, note="photos")
    assert done.status is OrderStatus.COMPLETED
    refund = partial.total_minor // 4
    done = trade.resolve_dispute(
        business, partial.id, DisputeOutcome.PARTIAL_REFUND, refund_minor=refund
    )
    assert (done.status, done.refund_minor) == (OrderStatus.PARTIALLY_REFUNDED, refund)
    done = trade.resolve_dispute(business, refunded.id, DisputeOutcome.FULL_REFUND)
    assert (done.status, done.refund_minor) == (OrderStatus.REFUNDED, refunded.total_minor)

    ledger = shop.container.ledger
    statuses = {
        order.id: ledger.lookup_pending([derived_id(order.id, "hold")])[0]
        for order in (released, partial, refunded)
    }
    assert statuses[released.id].status is PendingStatus.POSTED
    assert statuses[partial.id].status is PendingStatus.POSTED
    assert statuses[refunded.id].status is PendingStatus.VOIDED
    assert shop.escrow_balance() == 0
    collection = ledger.get_account(collection_account_id(shop.wallets.ledger_id("USD")))
    kept = released.total_minor + partial.total_minor - refund
    assert collection.balance.net_debit_posted == kept  # the refunds went back out
    realised = trade.export_proceeds(business, partial.id)
    assert realised.realised_minor == partial.total_minor - refund
    assert trade.export_proceeds(business, refunded.id).status is ProceedsStatus.REFUNDED
    assert shop.stock.state(business, str(refunded.lines[0].id)) == "fulfilled"  # shipped
    shop.check_books()

    for outcome, amount in (
        (DisputeOutcome.PARTIAL_REFUND, None),
        (DisputeOutcome.FULL_REFUND, 100),
        (DisputeOutcome.RELEASE, None),
    ):
        with pytest.raises(DomainError):
            trade.resolve_dispute(business, refunded.id, outcome, refund_minor=amount)


def test_disputes_only_within_30_days_of_receipt(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    trade.settings = type(trade.settings)(auto_release_days=45)
    late = shop.delivered(shop.new_order())
    in_time = shop.delivered(shop.new_order())
    shop.clock.advance(30 * DAY)
    assert trade.open_dispute(business, in_time.id, "wrong colour").status is OrderStatus.DISPUTED
    shop.clock.advance(timedelta(seconds=1))
    with pytest.raises(DomainError) as refused:
        trade.open_dispute(business, late.id, "wrong colour")
    assert (refused.value.code, refused.value.status) == ("trade_dispute_window_closed", 409)
    assert trade.order(business, late.id).status is OrderStatus.DELIVERED
    # A dispute pushed by the marketplace goes through the same rule.
    report = shop.push(shop.marketplace.dispute_opened(late.marketplace_order_id, "too late"))
    assert report.rejected == 1
    entry = trade.inbox(business, 1)[0]
    assert entry.error is not None
    assert entry.error.startswith("trade_dispute_window_closed")


def test_unpaid_orders_close_after_20_days_and_cancelling_releases_or_refunds(
    shop: Shop,
) -> None:
    trade, business = shop.trade, shop.business_id
    unpaid = shop.new_order(lines=[("WAL-INSHELL", 1_000)])
    cancelled_paid = shop.paid(shop.new_order(lines=[("WAL-INSHELL", 500)]))
    assert shop.stock.available(business, "WAL-INSHELL") == 10_000 - 1_500
    refunded = trade.cancel_order(business, cancelled_paid.id, "out of season", "seller")
    assert (refunded.status, refunded.refund_minor) == (
        OrderStatus.REFUNDED,
        cancelled_paid.total_minor,
    )
    (hold,) = shop.container.ledger.lookup_pending([derived_id(refunded.id, "hold")])
    assert hold.status is PendingStatus.VOIDED
    assert shop.escrow_balance() == 0
    assert shop.stock.available(business, "WAL-INSHELL") == 10_000 - 1_000
    shop.clock.advance(20 * DAY - timedelta(seconds=1))
    assert trade.sweep().closed_unpaid == 0
    shop.clock.advance(timedelta(seconds=1))
    assert trade.sweep().closed_unpaid == 1
    closed = trade.order(business, unpaid.id)
    assert closed.status is OrderStatus.CANCELLED
    assert trade.history(business, closed.id)[-1].note == "unpaid for 20 days: closed"
    assert shop.stock.available(business, "WAL-INSHELL") == 10_000
    # A payment arriving for a closed order is refused and recorded, not applied.
    report = shop.push(shop.marketplace.order_paid(unpaid.marketplace_order_id))
    assert report.rejected == 1
    assert trade.order(business, unpaid.id).paid_at is None
    shop.check_books()


def test_illegal_transitions_change_nothing(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    order = shop.new_order()
    before = trade.history(business, order.id)
    attempts = [
        lambda: trade.mark_packed(business, order.id),
        lambda: trade.confirm_receipt(business, order.id),
        lambda: trade.mark_delivered(business, order.id),
        lambda: trade.open_dispute(business, order.id, "why not"),
        lambda: trade.resolve_dispute(business, order.id, DisputeOutcome.RELEASE),
        lambda: trade.confirm_order(business, order.id),
        lambda: trade.ship_order(
            business,
            order.id,
            carrier="dhl",
            tracking_number="T1",
            mode=ShipmentMode.AIR,
            transport_document_number="A1",
            port_of_loading="ISB",
            port_of_discharge="HAM",
        ),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert (refused.value.code, refused.value.status) == ("trade_illegal_transition", 409)
    with pytest.raises(DomainError) as wrong_amount:
        trade.record_payment(business, order.id, Money(1, "USD"), "P-1")
    assert wrong_amount.value.code == "trade_payment_mismatch"
    paid = trade.record_payment(business, order.id, order.total, "P-1", "bank desk")
    with pytest.raises(DomainError) as twice:
        trade.record_payment(business, order.id, order.total, "P-2")
    assert twice.value.code == "trade_illegal_transition"
    assert trade.history(business, order.id)[: len(before)] == before
    assert len(trade.history(business, order.id)) == len(before) + 1
    assert trade.order(business, order.id).version == paid.version
    with pytest.raises(DomainError) as other_business:
        trade.order(uuid.uuid4(), order.id)
    assert other_business.value.status == 404


def test_insufficient_stock_leaves_the_order_received_until_stock_arrives(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    waiting = shop.new_order(lines=[("SHAWL-PASH", 40), ("CARPET-WOOL-4X6", 10_001)])
    assert waiting.status is OrderStatus.RECEIVED
    assert waiting.note is not None
    assert "CARPET-WOOL-4X6" in waiting.note
    # The line that could be reserved was given back: nothing is held for a waiting order.
    assert shop.stock.available(business, "SHAWL-PASH") == 10_000
    # The buyer pays anyway: the payment waits until the order is ready to take it.
    assert shop.push(shop.marketplace.order_paid(waiting.marketplace_order_id)) == InboxReport(
        waiting=1
    )
    shop.stock.receive(business, "CARPET-WOOL-4X6", 1)
    confirmed = trade.confirm_order(business, waiting.id, "store keeper")
    assert confirmed.status is OrderStatus.CONFIRMED
    assert confirmed.note is None
    assert shop.stock.available(business, "CARPET-WOOL-4X6") == 0
    assert trade.sweep().inbox_applied == 0  # confirmed, but payment not yet requested
    trade.request_payment(business, waiting.id, "store keeper")
    assert trade.sweep().inbox_applied == 1
    assert trade.order(business, waiting.id).status is OrderStatus.PAID


def test_the_inbox_deduplicates_waits_for_orders_and_catches_up_by_pulling(shop: Shop) -> None:
    trade, business, marketplace = shop.trade, shop.business_id, shop.marketplace
    created = marketplace.order_created(incoterm=Incoterm.CIF)
    paid = marketplace.order_paid(created.data["order_id"])
    # The payment's push arrives first; the order's push is lost on the way.
    assert not marketplace.push_in_process(trade, paid).duplicate
    assert marketplace.push_in_process(trade, paid).duplicate  # replayed: nothing new
    assert trade.process_inbox() == InboxReport(waiting=1)
    assert trade.process_inbox() == InboxReport(waiting=1)
    pulled = trade.pull_orders(business, "alibaba")
    assert (pulled.received, pulled.duplicates) == (1, 1)
    assert pulled.processed.applied == 2  # the order, then the waiting payment
    order = shop.by_marketplace_id(created.data["order_id"])
    assert order.status is OrderStatus.PAID
    assert order.incoterm is Incoterm.CIF
    assert trade.pull_orders(business, "alibaba").received == 0  # nothing new since
    again = trade.pull_orders(business, "alibaba", from_ns(0))
    assert (again.received, again.duplicates) == (0, 2)
    assert trade.process_inbox() == InboxReport()
    assert len(trade.inbox(business)) == 2
    # The same event under a new message id (marketplaces do resend) is recognised.
    report = shop.push(marketplace.order_paid(created.data["order_id"]))
    assert report == InboxReport(already_applied=1)
    assert shop.escrow_balance() == order.total_minor  # paid once


def test_a_rejected_message_can_be_retried_once_its_cause_is_fixed(shop: Shop) -> None:
    trade, business, marketplace = shop.trade, shop.business_id, shop.marketplace
    message = marketplace.order_created(lines=[("WAL-INSHELL", 400)], incoterm=Incoterm.FOB)
    message.data["lines"][0]["sku"] = "SAFFRON"  # type: ignore[index]
    assert shop.push(message) == InboxReport(rejected=1)
    entry = trade.inbox(business, 1)[0]
    assert entry.error is not None
    assert entry.error.startswith("trade_product_not_found")
    assert trade.orders(business) == []
    with pytest.raises(DomainError):
        trade.retry_inbox_entry(uuid.uuid4(), entry.seq)
    trade.put_product(
        business,
        "SAFFRON",
        "Baltistan saffron",
        "0910.20.00",
        "g",
        200,
        shop.marketplace.catalog[0].packing,
        shop.marketplace.catalog[2].price_tiers,
    )
    shop.stock.receive(business, "SAFFRON", 400)
    assert trade.retry_inbox_entry(business, entry.seq) == InboxReport(applied=1)
    assert trade.orders(business)[0].status is OrderStatus.AWAITING_PAYMENT


def test_effects_interrupted_by_a_failure_are_finished_by_the_sweep(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    order = shop.delivered(shop.new_order())
    working = shop.wallets
    trade.wallets = FixedRateWallets(shop.container.ledger, {})  # no rate today
    trade.wallets.account_id = working.account_id  # type: ignore[method-assign]
    done = trade.confirm_receipt(business, order.id, "buyer")
    assert done.status is OrderStatus.COMPLETED  # the state change stands
    assert done.effects_due
    assert done.effect_error is not None
    assert done.effect_error.startswith("trade_conversion_unavailable")
    assert done.escrow_settled_at is not None  # released; only the conversion is missing
    assert trade.export_proceeds(business, order.id).status is ProceedsStatus.OUTSTANDING
    assert trade.sweep().effects_finished == 0
    trade.wallets = working
    assert trade.sweep().effects_finished == 1
    done = trade.order(business, order.id)
    assert (done.effects_due, done.effect_error) == (False, None)
    assert trade.export_proceeds(business, order.id).status is ProceedsStatus.REALISED
    assert trade.sweep().effects_finished == 0
    shop.check_books()


def test_tracking_by_webhook_and_csv_import(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    first = shop.shipped(shop.new_order())
    second = shop.shipped(shop.new_order())
    shipment = trade.shipment_of_order(business, first.id)
    assert shipment is not None
    with pytest.raises(DomainError) as unknown:
        trade.record_tracking_events(business, shipment.id, [TrackingInput("teleported", 1)])
    assert unknown.value.code == "trade_tracking_status_unknown"
    assert trade.shipment(business, shipment.id).events == ()
    shop.clock.advance(DAY)
    csv = "\n".join(
        [
            "carrier,tracking_number,status,occurred_at,location",
            f"dhl,JD{first.marketplace_order_id},transit,2026-01-01T20:00:00+05:00,Karachi",
            f"dhl,JD{first.marketplace_order_id},failure,2026-01-02T01:00:00+05:00,Dubai",
            f"dhl,JD{second.marketplace_order_id},delivered,2026-01-01T22:00:00+00:00,Hamburg",
            f"dhl,JD{second.marketplace_order_id},delivered,2026-01-01T22:00:00+00:00,Hamburg",
            "",
            "dhl,NO-SUCH-NUMBER,transit,2026-01-01T20:00:00+05:00,Karachi",
            f"dhl,JD{first.marketplace_order_id},lost,2026-01-01T20:00:00+05:00,Karachi",
            f"dhl,JD{first.marketplace_order_id},transit,yesterday,Karachi",
        ]
    )
    report = trade.import_tracking(business, csv)
    assert (report.accepted, report.duplicates) == (3, 1)
    assert [error.split(":")[0] for error in report.errors] == ["row 7", "row 8", "row 9"]
    tracked = trade.shipment(business, shipment.id)
    assert tracked.status.value == "Exception"
    assert [event.status.value for event in tracked.events] == ["InTransit", "Exception"]
    assert trade.order(business, first.id).status is OrderStatus.SHIPPED
    assert trade.order(business, second.id).status is OrderStatus.DELIVERED
    assert trade.import_tracking(business, csv).accepted == 0  # all seen before


def test_the_proceeds_report_lists_orders_nearing_or_past_their_deadline(shop: Shop) -> None:
    trade, business = shop.trade, shop.business_id
    general = shop.shipped(shop.new_order())
    b2c = shop.new_order(lines=[("SHAWL-PASH", 20)])
    b2c = shop.paid(b2c)
    proceeds = trade.record_export_details(
        business,
        b2c.id,
        financial_instrument_reference=None,
        instrument=Instrument.E_COMMERCE,
        realisation_case=RealisationCase.B2C_ECOMMERCE,
    )
    assert proceeds.financial_instrument_reference is None
    trade.mark_packed(business, b2c.id)
    trade.ship_order(
        business,
        b2c.id,
        carrier="tcs",
        tracking_number="TCS-1",
        mode=ShipmentMode.COURIER,
        transport_document_number="TCS-AWB-1",
        port_of_loading="Skardu",
        port_of_discharge="Toronto",
    )
    assert trade.proceeds_report(business) == []
    assert len(trade.proceeds_report(business, include_on_time=True)) == 2
    shop.clock.advance(50 * DAY)
    (row,) = trade.proceeds_report(business)
    assert (row.order_id, row.standing, row.days_left) == (b2c.id, ProceedsStanding.DUE_SOON, 10)
    shop.clock.advance(11 * DAY)
    (row,) = trade.proceeds_report(business)
    assert (row.standing, row.days_left) == (ProceedsStanding.OVERDUE, -1)
    shop.clock.advance(50 * DAY)  # day 111: the general case is due in 9 days
    rows = trade.proceeds_report(business)
    assert [(r.order_id, r.standing) for r in rows] == [
        (b2c.id, ProceedsStanding.OVERDUE),
        (general.id, ProceedsStanding.DUE_SOON),
    ]
    shop.clock.advance(20 * DAY)
    late = trade.confirm_receipt(business, general.id, "buyer")
    assert trade.export_proceeds(business, late.id).realised_late
    assert [r.order_id for r in trade.proceeds_report(business)] == [b2c.id]


def test_a_crash_while_processing_loses_nothing_and_applies_nothing_twice(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    trade, business, marketplace = shop.trade, shop.business_id, shop.marketplace
    created = marketplace.order_created(incoterm=Incoterm.DDP)
    marketplace.push_in_process(trade, created)
    real_insert = trade._insert_order

    def crash_after_writing(*arguments: object) -> uuid.UUID:
        real_insert(*arguments)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    monkeypatch.setattr(trade, "_insert_order", crash_after_writing)
    assert trade.process_inbox() == InboxReport(failed=1)
    # The order's rows and the inbox marker were one transaction: both are gone.
    assert trade.orders(business) == []
    (entry,) = trade.inbox(business)
    assert entry.processed_at is None
    assert entry.error == "failed, will retry: RuntimeError: power cut"
    monkeypatch.undo()
    # The process stops again, this time after storing the order but before reserving stock.
    trade.settings = type(trade.settings)(auto_confirm=False)
    assert trade.process_inbox() == InboxReport(applied=1)
    assert trade.process_inbox() == InboxReport()
    (order,) = trade.orders(business)
    assert order.status is OrderStatus.RECEIVED
    trade.settings = type(trade.settings)()
    assert trade.sweep().auto_confirmed == 1
    assert trade.order(business, order.id).status is OrderStatus.AWAITING_PAYMENT
    assert trade.sweep().auto_confirmed == 0


def test_the_store_describes_the_schema_the_migration_made(sqlite_container: Container) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from tijarat.trade.store import metadata

    with sqlite_container.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)

    def about_trade(difference: object) -> bool:
        return "trade_" in repr(difference)

    assert [d for d in differences if about_trade(d)] == []
