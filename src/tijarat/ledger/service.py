"""The ledger's use cases: the only way money moves in Tijarat.

Two ways in for transfers, with one set of rules:
- `create_transfers(batch)`: the caller's batch is applied as one transaction, now, in the
  caller's thread (bulk jobs, other contexts' multi-leg postings).
- `submit_transfers(transfers)`: the request joins the group commit and shares a commit with
  whatever other callers are waiting (APIs serving many concurrent single payments).
Both answer only once the batch is durable.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future

from tijarat.kernel.errors import DomainError
from tijarat.ledger.committer import GroupCommitter
from tijarat.ledger.engine import check_shapes
from tijarat.ledger.errors import LedgerError
from tijarat.ledger.model import (
    BATCH_MAX,
    Account,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
    PendingState,
    Statement,
    Transfer,
    TransferRecord,
    VerifyReport,
)
from tijarat.ledger.store import LedgerStore

CURRENCY_CODE_LENGTH = 3
SHARE_COMMIT_BELOW = 256  # events: smaller batches join a shared commit when the ledger is busy


class LedgerService:
    def __init__(self, store: LedgerStore, *, commit_workers: int = 1) -> None:
        self.store = store
        self._commit_workers = commit_workers
        self._committer: GroupCommitter | None = None
        self._committer_lock = threading.Lock()

    # ------------------------------------------------------------------ ledgers
    def create_ledger(self, ledger_id: int, currency: str, name: str) -> bool:
        if not 0 < ledger_id < (1 << 31):
            raise DomainError(
                LedgerError.LEDGER_NOT_FOUND,
                "a ledger id is a positive 32-bit integer",
                status=422,
                fields={"ledger": ledger_id},
            )
        code = currency.upper()
        if len(code) != CURRENCY_CODE_LENGTH or not code.isalpha():
            raise DomainError(
                LedgerError.EVENT_MALFORMED,
                "currency must be an ISO 4217 code such as PKR",
                status=422,
                fields={"currency": currency},
            )
        return self.store.create_ledger(Ledger(ledger_id, code, name))

    def ledgers(self) -> list[Ledger]:
        return self.store.ledgers()

    def ledger_currency(self, ledger_id: int) -> str:
        for ledger in self.store.ledgers():
            if ledger.id == ledger_id:
                return ledger.currency
        raise DomainError(
            LedgerError.LEDGER_NOT_FOUND,
            f"no ledger {ledger_id}",
            status=404,
            fields={"ledger": ledger_id},
        )

    # ------------------------------------------------------------------ accounts
    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        _check_batch_size(len(accounts))
        return self.store.create_accounts(accounts)

    def lookup_accounts(self, ids: Sequence[uuid.UUID]) -> list[Account]:
        _check_batch_size(len(ids))
        return self.store.lookup_accounts(ids)

    def get_account(self, account_id: uuid.UUID) -> Account:
        found = self.store.lookup_accounts([account_id])
        if not found:
            raise DomainError(
                LedgerError.ACCOUNT_NOT_FOUND,
                f"no account {account_id}",
                status=404,
                fields={"account_id": str(account_id)},
            )
        return found[0]

    def accounts_by_owner(self, owner_id: uuid.UUID) -> list[Account]:
        return self.store.accounts_by_owner(owner_id)

    def close_account(self, account_id: uuid.UUID) -> Account:
        """No new transfers and no posts; pending transfers may still be voided or expire."""
        return self.store.set_account_closed(account_id, closed=True)

    def reopen_account(self, account_id: uuid.UUID) -> Account:
        return self.store.set_account_closed(account_id, closed=False)

    # ------------------------------------------------------------------ transfers
    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Apply a batch as one transaction; results line up with the input.

        A small batch that finds the ledger busy joins the next shared commit instead
        (the same rules, still one transaction for the whole batch): a process' batches
        commit one after another (see store.py), so many threads each committing a few
        transfers alone would queue for a commit each.
        """
        _check_batch_size(len(transfers))
        if 0 < len(transfers) < SHARE_COMMIT_BELOW and self.store.busy():
            check_shapes(transfers)
            return self._group_committer().apply(transfers)
        return self.store.create_transfers(transfers)

    def submit_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Apply through the group commit; blocks until the shared commit is durable."""
        _check_batch_size(len(transfers))
        check_shapes(transfers)  # a malformed request must not fail the callers it joins
        return self._group_committer().apply(transfers)

    def submit_transfers_async(
        self, transfers: Sequence[Transfer]
    ) -> Future[list[CreateTransferResult]]:
        _check_batch_size(len(transfers))
        check_shapes(transfers)  # a malformed request must not fail the callers it joins
        return self._group_committer().submit(transfers)

    def _group_committer(self) -> GroupCommitter:
        committer = self._committer
        if committer is None:
            with self._committer_lock:  # many first callers at once must share one
                committer = self._committer
                if committer is None:
                    committer = GroupCommitter(
                        self.store.create_transfers,
                        workers=self._commit_workers,
                        on_worker_start=self.store.pin_connection,
                        on_worker_stop=self.store.unpin_connection,
                    )
                    self._committer = committer
        return committer

    def lookup_transfers(self, ids: Sequence[uuid.UUID]) -> list[TransferRecord]:
        _check_batch_size(len(ids))
        return self.store.lookup_transfers(ids)

    def get_transfer(self, transfer_id: uuid.UUID) -> TransferRecord:
        found = self.store.lookup_transfers([transfer_id])
        if not found:
            raise DomainError(
                LedgerError.TRANSFER_NOT_FOUND,
                f"no transfer {transfer_id}",
                status=404,
                fields={"transfer_id": str(transfer_id)},
            )
        return found[0]

    def lookup_pending(self, ids: Sequence[uuid.UUID]) -> list[PendingState]:
        _check_batch_size(len(ids))
        return self.store.lookup_pending(ids)

    def expire_due(self) -> int:
        """Void pending transfers whose timeout has passed (the clock decides)."""
        return self.store.expire_due()

    # ------------------------------------------------------------------ history
    def statement(
        self, account_id: uuid.UUID, from_timestamp: int, to_timestamp: int, limit: int
    ) -> Statement:
        if from_timestamp > to_timestamp:
            raise DomainError(
                LedgerError.EVENT_MALFORMED,
                "a statement's start must not be after its end",
                status=422,
                fields={"from": from_timestamp, "to": to_timestamp},
            )
        return self.store.statement(account_id, from_timestamp, to_timestamp, limit)

    def verify(self) -> VerifyReport:
        return self.store.verify()

    def close(self) -> None:
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()


def _check_batch_size(count: int) -> None:
    if count > BATCH_MAX:
        raise DomainError(
            LedgerError.BATCH_TOO_LARGE,
            f"a batch carries at most {BATCH_MAX} events, not {count}",
            status=422,
            fields={"count": count, "max": BATCH_MAX},
        )
