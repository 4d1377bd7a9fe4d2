"""Adapters from the wallet to the interfaces trade and supply own (composition-root glue).

Trade and supply never import the wallet; each says what it needs as a Protocol, and these
classes answer it with the wallet's own use cases.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from tijarat.supply.ports import SupplierPayment, SupplierPaymentResult
from tijarat.trade.ports import Conversion
from tijarat.wallet.model import PayoutRow
from tijarat.wallet.service import WalletService


class SellerWalletsAdapter:
    def __init__(self, wallet: WalletService) -> None:
        self.wallet = wallet

    def account_id(self, business_id: uuid.UUID, currency: str) -> uuid.UUID:
        return self.wallet.account_id(business_id, currency)

    def convert(
        self,
        business_id: uuid.UUID,
        amount_minor: int,
        from_currency: str,
        to_currency: str,
        request_id: uuid.UUID,
    ) -> Conversion:
        done = self.wallet.convert(
            business_id, amount_minor, from_currency, to_currency, request_id
        )
        return Conversion(
            done.from_amount_minor,
            done.from_currency,
            done.to_amount_minor,
            done.to_currency,
            done.rate,
        )


class SupplierPayerAdapter:
    def __init__(self, wallet: WalletService) -> None:
        self.wallet = wallet

    def pay_suppliers(
        self,
        business_id: uuid.UUID,
        payments: Sequence[SupplierPayment],
        request_id: uuid.UUID,
    ) -> Sequence[SupplierPaymentResult]:
        """Bills become rows of one wallet payout, idempotent by the caller's request id."""
        rows = [
            PayoutRow(
                line=index,
                name=payment.payee_name,
                raast_id=payment.raast_id,
                iban=payment.iban,
                # The wallet pays suppliers in rupees; another currency is refused per row.
                amount_minor=payment.amount_minor if payment.currency == "PKR" else -1,
                reference=payment.reference,
            )
            for index, payment in enumerate(payments, start=1)
        ]
        key = hashlib.sha256(f"supplier-payments:{request_id}".encode()).hexdigest()
        payout = self.wallet.pay_rows(
            business_id, rows, key=key, file_name=f"supplier payments {request_id}"
        )
        return [
            SupplierPaymentResult(
                reference=row.reference,
                status=row.status.value,
                reason=row.reason,
                end_to_end_id=row.end_to_end_id,
                uetr=row.uetr,
            )
            for row in payout.rows
        ]
