"""Trade use cases: catalog, marketplace orders, escrow, shipments, export proceeds."""

from __future__ import annotations

import sqlalchemy as sa

from tijarat.kernel.clock import Clock
from tijarat.ledger.service import LedgerService
from tijarat.trade.ports import SellerWallets, StockReservations


class TradeService:
    def __init__(
        self,
        engine: sa.Engine,
        ledger: LedgerService,
        clock: Clock,
        *,
        stock: StockReservations,
        wallets: SellerWallets,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.stock = stock
        self.wallets = wallets
