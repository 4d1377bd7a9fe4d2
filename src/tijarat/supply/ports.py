"""What supply needs from outside its room, as interfaces it owns.

Paying suppliers is the wallet's job (each payment goes through the switch); the composition
root adapts the wallet to `SupplierPayer`, so supply never imports the wallet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class SupplierPayment:
    """One supplier payment: to a Raast ID or an IBAN (exactly one of them)."""

    reference: str  # unique within one call (e.g. the bill number); becomes the end-to-end id
    payee_name: str
    raast_id: str | None
    iban: str | None
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class SupplierPaymentResult:
    reference: str
    status: Literal["settled", "pending", "rejected"]
    reason: str | None  # ISO 20022 reason code (or the wallet's error code) when rejected
    end_to_end_id: str | None
    uetr: uuid.UUID | None


class SupplierPayer(Protocol):
    def pay_suppliers(
        self,
        business_id: uuid.UUID,
        payments: Sequence[SupplierPayment],
        request_id: uuid.UUID,
    ) -> Sequence[SupplierPaymentResult]:
        """Pay every row from the business's wallet; the same request_id never pays twice."""
        ...
