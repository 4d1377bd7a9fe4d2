"""Concurrency on PostgreSQL: two orders racing for the last units never oversell, and
several workers draining one inbox apply each message once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.settings import Settings
from tijarat.trade.model import Incoterm, OrderStatus, TradeSettings
from tijarat.trade.simulator import FixedRateWallets, SimulatedStock, open_demo_business

pytestmark = pytest.mark.postgres


class PostgresStock:
    """The smallest stock that is safe under concurrency: one row per SKU, locked with
    SELECT ... FOR UPDATE while the available quantity is checked and the reservation taken.
    (The real inventory lives in supply and proves its own concurrency.)"""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE race_stock (business_id uuid, sku text, on_hand integer NOT NULL,"
                " PRIMARY KEY (business_id, sku))"
            )
            connection.exec_driver_sql(
                "CREATE TABLE race_reservations (business_id uuid, reference text, sku text,"
                " quantity integer NOT NULL, state text NOT NULL,"
                " PRIMARY KEY (business_id, reference))"
            )

    def receive(self, business_id: uuid.UUID, sku: str, quantity: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO race_stock VALUES (:b, :s, :q) ON CONFLICT (business_id, sku)"
                    " DO UPDATE SET on_hand = race_stock.on_hand + :q"
                ),
                {"b": business_id, "s": sku, "q": quantity},
            )

    def reserve(
        self,
        business_id: uuid.UUID,
        reference: str,
        sku: str,
        quantity: int,
        location_code: str | None = None,
    ) -> str:
        with self.engine.begin() as connection:
            on_hand = connection.execute(
                sa.text(
                    "SELECT on_hand FROM race_stock WHERE business_id = :b AND sku = :s FOR UPDATE"
                ),
                {"b": business_id, "s": sku},
            ).scalar_one_or_none()
            existing = connection.execute(
                sa.text(
                    "SELECT state FROM race_reservations WHERE business_id = :b AND reference = :r"
                ),
                {"b": business_id, "r": reference},
            ).scalar_one_or_none()
            if existing == "reserved":
                return "MAIN"
            reserved = connection.execute(
                sa.text(
                    "SELECT coalesce(sum(quantity), 0) FROM race_reservations"
                    " WHERE business_id = :b AND sku = :s AND state = 'reserved'"
                ),
                {"b": business_id, "s": sku},
            ).scalar_one()
            if (on_hand or 0) - reserved < quantity:
                raise DomainError(
                    "insufficient_stock",
                    f"{sku}: {quantity} wanted, {(on_hand or 0) - reserved} available",
                    status=409,
                )
            connection.execute(
                sa.text(
                    "INSERT INTO race_reservations VALUES (:b, :r, :s, :q, 'reserved')"
                    " ON CONFLICT (business_id, reference) DO UPDATE SET state = 'reserved'"
                ),
                {"b": business_id, "r": reference, "s": sku, "q": quantity},
            )
        return "MAIN"

    def release(self, business_id: uuid.UUID, reference: str) -> None:
        self._set(business_id, reference, "released")

    def fulfil(self, business_id: uuid.UUID, reference: str) -> None:
        self._set(business_id, reference, "fulfilled")

    def _set(self, business_id: uuid.UUID, reference: str, state: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE race_reservations SET state = :t"
                    " WHERE business_id = :b AND reference = :r AND state = 'reserved'"
                ),
                {"b": business_id, "r": reference, "t": state},
            )

    def reserved(self, business_id: uuid.UUID, sku: str) -> int:
        with self.engine.connect() as connection:
            total: int = connection.execute(
                sa.text(
                    "SELECT coalesce(sum(quantity), 0) FROM race_reservations"
                    " WHERE business_id = :b AND sku = :s AND state = 'reserved'"
                ),
                {"b": business_id, "s": sku},
            ).scalar_one()
        return total


@pytest.fixture
def pg_container(pg_url: str, clock: ManualClock) -> Iterator[Container]:
    built = build(Settings(database_url=pg_url, environment="test"), clock=clock)
    try:
        yield built
    finally:
        built.close()


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each on its own thread; answers or errors in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_orders_racing_for_the_last_units_never_oversell(
    pg_container: Container, clock: ManualClock
) -> None:
    trade = pg_container.trade
    stock = PostgresStock(pg_container.engine)
    trade.stock = stock
    trade.wallets = FixedRateWallets(pg_container.ledger, {("USD", "PKR"): "278.50"})
    trade.settings = TradeSettings(auto_confirm=False)  # the race is run by hand below
    business = uuid.uuid4()
    marketplace = open_demo_business(trade, business, clock)
    for round_number in range(1, 5):
        stock.receive(business, "CARPET-WOOL-4X6", 6)  # six more: enough for one order
        pair = []
        for _ in range(2):
            message = marketplace.order_created(
                lines=[("CARPET-WOOL-4X6", 6)], incoterm=Incoterm.DAP
            )
            marketplace.push_in_process(trade, message)
            trade.process_inbox()
            pair.append(
                next(
                    o
                    for o in trade.orders(business)
                    if o.marketplace_order_id == message.data["order_id"]
                )
            )
        results = together(
            *(
                lambda order=order: trade.confirm_order(business, order.id, "clerk")
                for order in pair
            )
        )
        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, DomainError)]
        assert len(won) == 1, results
        assert len(lost) == 1, results
        assert lost[0].code == "insufficient_stock"
        assert won[0].status is OrderStatus.CONFIRMED
        statuses = sorted(trade.order(business, order.id).status.value for order in pair)
        assert statuses == ["confirmed", "received"]
        loser = next(o for o in pair if o.id != won[0].id)
        assert trade.order(business, loser.id).note is not None
        assert stock.reserved(business, "CARPET-WOOL-4X6") == 6 * round_number


def test_workers_draining_one_inbox_apply_each_message_once(
    pg_container: Container, clock: ManualClock
) -> None:
    trade = pg_container.trade
    stock = SimulatedStock()
    trade.stock = stock
    trade.wallets = FixedRateWallets(pg_container.ledger, {("USD", "PKR"): "278.50"})
    business = uuid.uuid4()
    marketplace = open_demo_business(trade, business, clock, stock=stock)
    messages = [marketplace.order_created(incoterm=Incoterm.FCA) for _ in range(12)]
    messages += [marketplace.order_paid(m.data["order_id"]) for m in messages[:6]]
    for message in messages:
        marketplace.push_in_process(trade, message)
    reports = together(*([trade.process_inbox] * 4))
    assert not [r for r in reports if isinstance(r, Exception)], reports
    applied = sum(report.applied for report in reports)
    waiting = sum(report.waiting for report in reports)
    trade.process_inbox()  # a payment processed before its order (on another worker) waits
    orders = trade.orders(business)
    assert len(orders) == 12
    assert applied + waiting >= 18
    assert sorted(o.status.value for o in orders).count("paid") == 6
    entries = trade.inbox(business)
    assert len(entries) == 18
    assert all(entry.outcome is not None and entry.outcome.value == "applied" for entry in entries)
    assert pg_container.ledger.verify().ok
