"""Stable error codes of the ledger context (results of single events are in model.py)."""

from __future__ import annotations

from enum import StrEnum


class LedgerError(StrEnum):
    BATCH_TOO_LARGE = "ledger_batch_too_large"
    BATCH_EMPTY = "ledger_batch_empty"
    EVENT_MALFORMED = "ledger_event_malformed"
    ACCOUNT_NOT_FOUND = "ledger_account_not_found"
    TRANSFER_NOT_FOUND = "ledger_transfer_not_found"
    LEDGER_NOT_FOUND = "ledger_not_found"
    LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY = "ledger_exists_with_different_currency"
    LEDGER_BUSY = "ledger_busy"
    COMMITTER_STOPPED = "ledger_committer_stopped"
