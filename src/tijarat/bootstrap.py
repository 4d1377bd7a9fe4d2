"""The composition root: settings -> database engine -> migrations -> services."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tijarat.adapters import SellerWalletsAdapter, SupplierPayerAdapter
from tijarat.kernel.clock import Clock, SystemClock
from tijarat.ledger.service import LedgerService
from tijarat.ledger.store import LedgerStore
from tijarat.settings import Settings, normalise_database_url
from tijarat.supply.service import SupplyService
from tijarat.switch.bulk import BulkPayments
from tijarat.switch.gateway import Gateway
from tijarat.switch.grouping import PaymentQueue
from tijarat.switch.model import PayeeDecision, Payment
from tijarat.switch.payments import Payments
from tijarat.switch.requests import PaymentRequests
from tijarat.switch.service import SwitchService
from tijarat.switch.transport import HttpTransport
from tijarat.trade.service import TradeService
from tijarat.wallet.monitoring import Monitoring
from tijarat.wallet.screening import Screening
from tijarat.wallet.service import WalletService

# Objects allocated between young collections. CPython's 700 suits scripts; a server that
# allocates a payment's objects thousands of times a second collects young objects
# constantly and, each time the older generations fill, walks its whole heap.
GC_YOUNG_THRESHOLD = 50_000
GC_OLD_THRESHOLDS = (50, 1_000)


def tune_collector() -> None:
    """Fewer, bigger collections, and none of what startup built (frozen: never scanned):
    for a long-running process that moves many payments (`tijarat serve`, the benches).

    Reference counting frees a payment's objects as it goes; the collector only finds
    cycles. Measured on the hub (docs/PERFORMANCE.md): full collections were its p99
    latency (126-135 ms -> 51-55 ms at 32 clients) and ~8 % of its throughput.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *GC_OLD_THRESHOLDS)


MIGRATIONS = Path(__file__).parent / "migrations"
POOL_SIZE = 20


def create_database_engine(url: str) -> sa.Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            # We issue BEGIN IMMEDIATE ourselves: the driver must not open transactions.
            connect_args={"isolation_level": None, "check_same_thread": False},
            pool_size=POOL_SIZE,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL: readers never block the writer. synchronous=FULL: fsync on every commit,
            # so an acknowledged transfer survives a power cut, not just a process crash.
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")
            dbapi_connection.execute("PRAGMA busy_timeout=10000")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            # Take the write lock up front: a deferred transaction that read first cannot
            # become a writer once another connection has committed (WAL snapshot rule).
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it costs a round trip per checkout. A connection found broken is
    # invalidated where it fails, and the ledger retries the batch on a fresh one.
    return sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=10)


def alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@dataclass
class Container:
    """Everything a process needs, built once from settings."""

    settings: Settings
    engine: sa.Engine
    clock: Clock
    ledger: LedgerService
    switch: SwitchService
    payments: Payments
    payment_queue: PaymentQueue  # the API's credit transfers, carried out in groups
    requests: PaymentRequests
    bulk: BulkPayments
    gateway: Gateway
    transport: HttpTransport
    wallet: WalletService
    screening: Screening
    monitoring: Monitoring
    supply: SupplyService
    trade: TradeService

    def sweep(self) -> dict[str, int]:
        """Everything that happens because time passed: timeouts, expiries, due claims.

        Run by the server's sweeper thread every second; idempotent, so several processes
        may run it at once.
        """
        swept = {
            "payments_timed_out": self.payments.sweep_timeouts(),
            "requests_expired": self.requests.expire_due(),
            "claims_completed": self.switch.complete_due_claims(),
            "wallet_movements_settled": self.wallet.settle_pending(),
        }
        trade = self.trade.sweep()
        swept["escrow_auto_released"] = trade.auto_released
        swept["orders_closed_unpaid"] = trade.closed_unpaid
        swept["trade_effects_finished"] = trade.effects_finished + trade.inbox_applied
        return swept

    def close(self) -> None:
        self.payment_queue.close()
        self.payments.close()
        self.transport.close()
        self.ledger.close()
        self.engine.dispose()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    run_migrations: bool = True,
) -> Container:
    settings = settings or Settings()
    engine = create_database_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    clock = clock or SystemClock()
    workers = settings.commit_workers if engine.dialect.name == "postgresql" else 1
    ledger = LedgerService(LedgerStore(engine, clock), commit_workers=workers)
    switch = SwitchService(
        engine,
        ledger,
        clock,
        claim_resolution_s=settings.claim_resolution_s,
        lookups_per_minute=settings.alias_lookups_per_minute,
    )
    payments = Payments(switch, payee_timeout_s=settings.payee_timeout_s)
    bulk = BulkPayments(payments)
    requests = PaymentRequests(payments)
    gateway = Gateway(payments, bulk, requests)
    transport = HttpTransport(gateway)
    payments.remote = transport  # participants with an endpoint get pushed to over HTTP
    for code in settings.simulated_participants:
        payments.connect(code, _accept_at_once)
    screening = Screening(engine, clock)
    monitoring = Monitoring(engine, clock)
    wallet = WalletService(
        engine,
        ledger,
        clock,
        payments=payments,
        requests=requests,
        bulk=bulk,
        screening=screening,
        monitoring=monitoring,
        gateway=gateway,
    )
    supply = SupplyService(engine, ledger, clock, payer=SupplierPayerAdapter(wallet))
    return Container(
        settings=settings,
        engine=engine,
        clock=clock,
        ledger=ledger,
        switch=switch,
        payments=payments,
        payment_queue=PaymentQueue(payments),
        requests=requests,
        bulk=bulk,
        gateway=gateway,
        transport=transport,
        wallet=wallet,
        screening=screening,
        monitoring=monitoring,
        supply=supply,
        trade=TradeService(
            engine, ledger, clock, stock=supply, wallets=SellerWalletsAdapter(wallet)
        ),
    )


def _accept_at_once(_payment: Payment) -> PayeeDecision:
    """A simulated participant (development): credits its customer at once."""
    return PayeeDecision(accept=True)
