"""Stable error codes of the switch context."""

from __future__ import annotations

from enum import StrEnum


class SwitchError(StrEnum):
    PARTICIPANT_NOT_FOUND = "switch_participant_not_found"
    PARTICIPANT_EXISTS = "switch_participant_exists"
    PARTICIPANT_SUSPENDED = "switch_participant_suspended"
    PARTICIPANT_INVALID = "switch_participant_invalid"
    BANK_CODE_TAKEN = "switch_bank_code_taken"
    SPONSOR_REQUIRED = "switch_sponsor_required"
    UNAUTHENTICATED = "switch_unauthenticated"
    INSUFFICIENT_LIQUIDITY = "switch_insufficient_liquidity"
    AMOUNT_INVALID = "switch_amount_invalid"
    ALIAS_NOT_FOUND = "switch_alias_not_found"
    ALIAS_TAKEN = "switch_alias_taken"
    CNIC_HAS_ALIAS = "switch_cnic_has_alias"
    IBAN_NOT_OURS = "switch_iban_not_owned_by_participant"
    NOT_ALIAS_OWNER = "switch_not_alias_owner"
    LOOKUP_RATE_LIMITED = "switch_lookup_rate_limited"
    CLAIM_NOT_FOUND = "switch_claim_not_found"
    CLAIM_NOT_OPEN = "switch_claim_not_open"
    CLAIM_OPEN = "switch_claim_already_open"
    CLAIM_SAME_PARTICIPANT = "switch_claim_same_participant"
    PAYMENT_NOT_FOUND = "switch_payment_not_found"
    RETURN_INVALID = "switch_return_invalid"
    REQUEST_NOT_FOUND = "switch_request_not_found"
    REQUEST_NOT_OPEN = "switch_request_not_open"
    REQUEST_INVALID = "switch_request_invalid"
    REQUEST_DUPLICATE = "switch_request_duplicate"  # its end-to-end id names another request
    REPORT_PERIOD_INVALID = "switch_report_period_invalid"
    BULK_INVALID = "switch_bulk_invalid"
    HEADER_NOT_YOURS = "switch_header_not_yours"
    MESSAGE_NOT_ACCEPTED = "switch_message_not_accepted"
    MESSAGE_NOT_FOUND = "switch_message_not_found"
    ARCHIVE_POSITION_INVALID = "switch_archive_position_invalid"
    BUSY = "switch_busy"  # participants kept changing while a payment was routed: retry
