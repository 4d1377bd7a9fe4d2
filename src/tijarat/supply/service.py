"""Supply use cases: suppliers, purchasing, receipts, bills, inventory (see the package doc)."""

from __future__ import annotations

import sqlalchemy as sa

from tijarat.kernel.clock import Clock
from tijarat.ledger.service import LedgerService
from tijarat.supply.ports import SupplierPayer


class SupplyService:
    def __init__(
        self, engine: sa.Engine, ledger: LedgerService, clock: Clock, *, payer: SupplierPayer
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.payer = payer
