"""What trade needs from outside its room, as interfaces it owns.

The composition root passes the supply service (stock) and the wallet (seller accounts and
currency conversion); trade depends only on these shapes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


class StockReservations(Protocol):
    def reserve(
        self,
        business_id: uuid.UUID,
        reference: str,
        sku: str,
        quantity: int,
        location_code: str | None = None,
    ) -> str:
        """Reserve stock for one order line (`reference`); answers the location used.

        Without a location, the one that actually holds enough stock is chosen. Not enough
        anywhere (or at the named location) raises a DomainError (insufficient stock).
        Reserving the same reference again answers the existing reservation.
        """
        ...

    def release(self, business_id: uuid.UUID, reference: str) -> None:
        """Drop the reservation (order cancelled); nothing to release is not an error."""
        ...

    def fulfil(self, business_id: uuid.UUID, reference: str) -> None:
        """The reserved stock leaves for the customer (order shipped)."""
        ...


@dataclass(frozen=True, slots=True)
class Conversion:
    from_amount_minor: int
    from_currency: str
    to_amount_minor: int
    to_currency: str
    rate: str  # decimal text, units of `to_currency` per unit of `from_currency`


class SellerWallets(Protocol):
    def account_id(self, business_id: uuid.UUID, currency: str) -> uuid.UUID:
        """The ledger account of the business's wallet in `currency` (opened if needed)."""
        ...

    def convert(
        self,
        business_id: uuid.UUID,
        amount_minor: int,
        from_currency: str,
        to_currency: str,
        request_id: uuid.UUID,
    ) -> Conversion:
        """Convert within the business's wallets at the day's imported rate; idempotent."""
        ...
