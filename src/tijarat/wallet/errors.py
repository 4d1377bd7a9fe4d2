"""Stable error codes of the wallet context, and the error a limit breach becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.wallet.model import PAKISTAN, LimitBreach


class WalletError(StrEnum):
    CUSTOMER_NOT_FOUND = "wallet_customer_not_found"
    CUSTOMER_EXISTS = "wallet_customer_exists"
    CUSTOMER_INVALID = "wallet_customer_invalid"
    CUSTOMER_BLOCKED = "wallet_customer_blocked"
    ACCOUNT_NOT_FOUND = "wallet_account_not_found"
    CURRENCY_NOT_SUPPORTED = "wallet_currency_not_supported"
    TIER_NOT_FOUND = "wallet_tier_not_found"
    TIER_INVALID = "wallet_tier_invalid"
    VERIFICATION_FAILED = "wallet_verification_failed"
    LIMIT_INVALID = "wallet_limit_invalid"
    LIMIT_EXCEEDED = "wallet_limit_exceeded"
    PAYEE_CANNOT_RECEIVE = "wallet_payee_cannot_receive"
    INSUFFICIENT_FUNDS = "wallet_insufficient_funds"
    AMOUNT_INVALID = "wallet_amount_invalid"
    DESTINATION_INVALID = "wallet_destination_invalid"
    SAME_ACCOUNT = "wallet_same_account"
    REQUEST_KEY_INVALID = "wallet_request_key_invalid"
    REQUEST_KEY_REUSED = "wallet_request_key_reused"
    REQUEST_INVALID = "wallet_request_invalid"
    PAYMENT_REJECTED = "wallet_payment_rejected"
    MOVEMENT_NOT_FOUND = "wallet_movement_not_found"
    RETURN_INVALID = "wallet_return_invalid"
    FX_RATE_MISSING = "wallet_fx_rate_missing"
    FX_RATES_INVALID = "wallet_fx_rates_invalid"
    PAYOUT_INVALID = "wallet_payout_invalid"
    PAYOUT_NOT_FOUND = "wallet_payout_not_found"
    SCREENING_HIT = "wallet_screening_hit"
    STATEMENT_INVALID = "wallet_statement_invalid"


def limit_error(breach: LimitBreach) -> DomainError:
    """A limit breach as the error a person reads: which limit, how much is left, when."""
    fields: dict[str, object] = {
        "limit": breach.kind.value,
        "limit_minor": breach.limit_minor,
        "used_minor": breach.used_minor,
        "remaining_minor": breach.remaining_minor,
    }
    when = ""
    if breach.resets_at is not None:
        resets = datetime.fromtimestamp(breach.resets_at // 1_000_000_000, tz=UTC)
        fields["resets_at"] = resets.isoformat()
        when = f"; it resets at {resets.astimezone(PAKISTAN):%Y-%m-%d %H:%M} PKT"
    return DomainError(
        WalletError.LIMIT_EXCEEDED,
        f"this exceeds the {breach.kind.value.replace('_', ' ')} limit of "
        f"{Money(breach.limit_minor, 'PKR')}: {Money(breach.remaining_minor, 'PKR')} remains{when}",
        status=422,
        fields=fields,
    )
