"""Wallet use cases: the payment institution's customers, accounts and payments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tijarat.kernel.clock import Clock
from tijarat.ledger.service import LedgerService
from tijarat.switch.payments import Payments


@dataclass(frozen=True, slots=True)
class ConversionResult:
    from_amount_minor: int
    from_currency: str
    to_amount_minor: int
    to_currency: str
    rate: str


class WalletService:
    def __init__(
        self, engine: sa.Engine, ledger: LedgerService, clock: Clock, *, payments: Payments
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.payments = payments

    def account_id(self, customer_id: uuid.UUID, currency: str) -> uuid.UUID:
        raise NotImplementedError

    def convert(
        self,
        customer_id: uuid.UUID,
        amount_minor: int,
        from_currency: str,
        to_currency: str,
        request_id: uuid.UUID,
    ) -> ConversionResult:
        raise NotImplementedError

    def pay_many(
        self, customer_id: uuid.UUID, rows: Sequence[object], request_id: uuid.UUID
    ) -> None:
        raise NotImplementedError
