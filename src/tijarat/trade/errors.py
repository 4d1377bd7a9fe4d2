"""Stable error codes of the trade context."""

from __future__ import annotations

from enum import StrEnum


class TradeError(StrEnum):
    BUSINESS_REQUIRED = "trade_business_required"
    PRODUCT_INVALID = "trade_product_invalid"
    PRODUCT_NOT_FOUND = "trade_product_not_found"
    PRICE_MISSING = "trade_price_missing"
    BELOW_MINIMUM_ORDER_QUANTITY = "trade_below_minimum_order_quantity"
    EXPORTER_INVALID = "trade_exporter_invalid"
    EXPORTER_MISSING = "trade_exporter_missing"
    CONNECTOR_INVALID = "trade_connector_invalid"
    CONNECTOR_EXISTS = "trade_connector_exists"
    CONNECTOR_NOT_FOUND = "trade_connector_not_found"
    MARKETPLACE_UNAVAILABLE = "trade_marketplace_unavailable"
    PUSH_UNAUTHENTICATED = "trade_push_unauthenticated"
    PUSH_TOO_LARGE = "trade_push_too_large"
    PUSH_MALFORMED = "trade_push_malformed"
    ORDER_INVALID = "trade_order_invalid"
    ORDER_NOT_FOUND = "trade_order_not_found"
    ILLEGAL_TRANSITION = "trade_illegal_transition"
    ORDER_CHANGED = "trade_order_changed"  # a concurrent change won: read again and retry
    PAYMENT_MISMATCH = "trade_payment_mismatch"
    DISPUTE_WINDOW_CLOSED = "trade_dispute_window_closed"
    REFUND_INVALID = "trade_refund_invalid"
    INBOX_ENTRY_NOT_FOUND = "trade_inbox_entry_not_found"
    SHIPMENT_INVALID = "trade_shipment_invalid"
    SHIPMENT_NOT_FOUND = "trade_shipment_not_found"
    TRACKING_STATUS_UNKNOWN = "trade_tracking_status_unknown"
    TRACKING_IMPORT_INVALID = "trade_tracking_import_invalid"
    EXPORT_INVALID = "trade_export_invalid"
    EXPORT_DETAILS_MISSING = "trade_export_details_missing"
    LEDGER_REFUSED = "trade_ledger_refused"
    INSUFFICIENT_STOCK = "trade_insufficient_stock"  # the simulated stock's refusal
    CONVERSION_UNAVAILABLE = "trade_conversion_unavailable"  # the simulated wallet's refusal
