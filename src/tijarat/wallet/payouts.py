"""Bulk payouts: a customer pays many payees at once, from one file.

A payout is a CSV (`name,raast_id,iban,amount,reference`) or an ISO 20022 pain.001 file, or
rows handed over by a caller (bills from supply). Every row is checked first — payee name,
amount, exactly one destination, duplicate references, screening, the destination resolves
(alias at the hub, IBAN's bank), then limits and funds in file order — and rejected with its
reason if a check fails; the others are paid: ours inside the book, the rest as one bulk
submission through the hub. The stored payout keeps a result per row (read back as a CSV or
pain.002 report, `files.payout_report_*`), pending rows brought up to date from their
movements. A payout is never paid twice: the same file (the same bytes) or the same key
answers its first payout and pays nothing again.

`PayoutsMixin` holds these use cases; `WalletService` inherits them. The attributes and
helpers of `WalletService` they use are declared on the mixin for the type checker only.
This module cannot import `service` at run time (service imports it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.ledger.model import CreateTransferResult, Transfer, TransferFlags
from tijarat.switch.model import CreditTransfer, PaymentStatus
from tijarat.wallet import files, store
from tijarat.wallet.errors import WalletError, limit_error
from tijarat.wallet.model import (
    NAMESPACE,
    PAGE_SIZE_MAX,
    TRANSFER_CODE_INTERNAL,
    TRANSFER_CODE_OUTGOING,
    Customer,
    CustomerStatus,
    Direction,
    LimitKind,
    Movement,
    MovementKind,
    MovementStatus,
    Payout,
    PayoutRow,
    PayoutRowResult,
    PayoutRowStatus,
    Usage,
    first_breach,
)

if TYPE_CHECKING:
    from tijarat.kernel.clock import Clock
    from tijarat.ledger.service import LedgerService
    from tijarat.switch.bulk import BulkPayments
    from tijarat.wallet.service import Destination, Institution, NameScreening

R = CreateTransferResult


class PayoutsMixin:
    """`WalletService`'s bulk payouts (the class inherits them; see the module docstring)."""

    if TYPE_CHECKING:
        # What the payouts use of WalletService, which defines (and overrides) all of it.
        engine: sa.Engine
        ledger: LedgerService
        clock: Clock
        bulk: BulkPayments
        institution: Institution
        screening: NameScreening | None

        @property
        def hub_mirror_id(self) -> uuid.UUID: ...

        def ensure_ready(self) -> None: ...

        def customer(self, customer_id: uuid.UUID) -> Customer: ...

        def account(self, customer_id: uuid.UUID, currency: str = "PKR") -> Any: ...

        def balance(self, customer_id: uuid.UUID, currency: str = "PKR") -> Money: ...

        def resolve(self, customer_id: uuid.UUID, to: str) -> Destination: ...

        def _effective_limits(
            self, connection: sa.Connection, customer: Customer
        ) -> dict[LimitKind, int | None]: ...

        def _usage(
            self,
            connection: sa.Connection | None,
            customer_id: uuid.UUID,
            direction: Direction,
            now: int,
        ) -> Usage: ...

        def _balance_for_cap(self, customer_id: uuid.UUID) -> int: ...

        def _lock_customer(self, connection: sa.Connection, customer_id: uuid.UUID) -> Customer: ...

        def _insert_movements(
            self, connection: sa.Connection, movements: Sequence[Movement]
        ) -> None: ...

        def _finish(
            self,
            ids: Sequence[uuid.UUID],
            status: MovementStatus,
            reason: str | None = None,
            payment_id: uuid.UUID | None = None,
        ) -> int: ...

        def _record_payment(self, movement_id: uuid.UUID, payment_id: uuid.UUID) -> None: ...

    def payout(
        self,
        customer_id: uuid.UUID,
        content: bytes,
        *,
        file_name: str = "payout.csv",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Payout:
        """Pay every row of a CSV or pain.001 file; each row checked first, then paid.

        A file already paid (same bytes) answers its first result and pays nothing again.
        Rows that fail a check (destination, amount, screening, limits, funds) are rejected
        with the reason; the others are paid: ours inside the book, the rest as one bulk
        submission through the hub.
        """
        digest = hashlib.sha256(content).hexdigest()
        before = self._payout_by_digest(customer_id, digest)
        if before is not None:
            return before
        return self.pay_rows(
            customer_id,
            files.parse_payout_file(content),
            key=digest,
            file_name=file_name,
            on_progress=on_progress,
        )

    def pay_rows(
        self,
        customer_id: uuid.UUID,
        rows: Sequence[PayoutRow],
        *,
        key: str,
        file_name: str,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Payout:
        """Pay many rows at once (a payout file's, or bills from supply); idempotent by key.

        `key` is 64 hex characters: a file's SHA-256, or the SHA-256 of a caller's request id.
        """
        self.ensure_ready()
        digest = key
        before = self._payout_by_digest(customer_id, digest)
        if before is not None:
            return before
        customer = self.customer(customer_id)
        account = self.account(customer_id, "PKR")
        payout_id = uuid.uuid5(NAMESPACE, f"payout:{customer_id}:{digest}")
        checked = self._check_payout_rows(customer, rows)
        total = len(rows)
        results: dict[int, PayoutRowResult] = {
            row.line: result for row, result, _ in checked if result is not None
        }
        plans = [
            (row, destination)
            for row, result, destination in checked
            if result is None and destination is not None
        ]
        results.update(self._pay_rows(customer, account, payout_id, plans, total, on_progress))
        ordered = tuple(results[row.line] for row in rows)
        payout = Payout(
            payout_id, customer_id, digest, file_name[:200], "PKR", self.clock.now_ns(), ordered
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    store.payouts_table.insert().values(
                        id=payout.id,
                        customer_id=customer_id,
                        file_sha256=digest,
                        file_name=payout.file_name,
                        currency="PKR",
                        created_at=payout.created_at,
                        results=json.dumps([_row_json(r) for r in ordered]),
                    )
                )
        except sa.exc.IntegrityError:
            again = self._payout_by_digest(customer_id, digest)
            assert again is not None
            return again
        if on_progress is not None:
            on_progress(total, total)
        return payout

    def _check_payout_rows(
        self, customer: Customer, rows: Sequence[PayoutRow]
    ) -> list[tuple[PayoutRow, PayoutRowResult | None, Destination | None]]:
        """Every row's own checks, then limits and funds in file order."""
        destinations: dict[int, Destination] = {}
        checked: list[tuple[PayoutRow, PayoutRowResult | None]] = []
        names = [row.name for row in rows]
        hits: list[str] = ["clear"] * len(rows)
        if self.screening is not None:
            screen_many = getattr(self.screening, "screen_many", None)
            if screen_many is not None:
                hits = [r.outcome for r in screen_many(names)]
            else:
                hits = [
                    self.screening.screen(n, subject="payee", reference=f"line {i}").outcome
                    for i, n in enumerate(names)
                ]
        seen_references: set[str] = set()
        for row, hit in zip(rows, hits, strict=True):
            problem: tuple[str, str] | None = None
            if not row.name:
                problem = (WalletError.PAYOUT_INVALID.value, "the row has no payee name")
            elif row.amount_minor <= 0:
                problem = (
                    WalletError.AMOUNT_INVALID.value,
                    "the amount is not a positive PKR amount",
                )
            elif (row.raast_id is None) == (row.iban is None):
                problem = (
                    WalletError.DESTINATION_INVALID.value,
                    "give exactly one of raast_id and iban",
                )
            elif row.reference and row.reference in seen_references:
                problem = ("DUPL", f"reference {row.reference} appears twice in the file")
            elif hit != "clear":
                problem = (
                    WalletError.SCREENING_HIT.value,
                    f"the payee name needs compliance review ({hit})",
                )
            else:
                try:
                    destinations[row.line] = self.resolve(
                        customer.id, row.raast_id or row.iban or ""
                    )
                except DomainError as error:
                    reason = (
                        "AC03"
                        if "not_found" in error.code
                        or error.code == WalletError.DESTINATION_INVALID
                        else "AC01"
                    )
                    problem = (reason, error.message)
            if row.reference:
                seen_references.add(row.reference)
            result = None
            if problem is not None:
                result = PayoutRowResult(
                    row.line,
                    row.name,
                    row.raast_id or row.iban or "",
                    max(row.amount_minor, 0),
                    row.reference,
                    PayoutRowStatus.REJECTED,
                    problem[0],
                    problem[1],
                    None,
                    None,
                )
            checked.append((row, result))
        # Limits and funds, in file order: a row that would break one is rejected, later
        # smaller rows may still fit.
        now = self.clock.now_ns()
        with self.engine.connect() as connection:
            limits = self._effective_limits(connection, customer)
            usage = self._usage(connection, customer.id, Direction.DEBIT, now)
        available = self.balance(customer.id, "PKR").amount_minor
        used = 0
        receivers = _Receivers(self, now)
        final: list[tuple[PayoutRow, PayoutRowResult | None, Destination | None]] = []
        for row, found in checked:
            result = found
            destination = destinations.get(row.line)
            if result is None:
                grown = Usage(
                    usage.day_minor + used, usage.month_minor + used, usage.year_minor + used
                )
                breach = first_breach(limits, Direction.DEBIT, row.amount_minor, grown, now)
                if breach is not None:
                    result = _row_rejected(
                        row, WalletError.LIMIT_EXCEEDED.value, limit_error(breach).message
                    )
                elif row.amount_minor > available - used:
                    result = _row_rejected(
                        row, "AM04", "the wallet's balance does not cover this row"
                    )
                elif destination is not None and destination.internal_account is not None:
                    # Our own payee's credit limits and balance cap apply as to any payment;
                    # the payer learns only that it was refused, not the payee's headroom.
                    refusal = receivers.take(destination.internal_account.customer_id, row)
                    if refusal is not None:
                        result = _row_rejected(row, *refusal)
                    else:
                        used += row.amount_minor
                else:
                    used += row.amount_minor
            final.append((row, result, destination))
        return final

    def _pay_rows(
        self,
        customer: Customer,
        account: Any,
        payout_id: uuid.UUID,
        plans: Sequence[tuple[PayoutRow, Destination]],
        total: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> dict[int, PayoutRowResult]:
        if not plans:
            return {}
        ledger_id = self.institution.ledger_id("PKR")
        now = self.clock.now_ns()
        movements: list[Movement] = []
        transfers: list[Transfer] = []
        outgoing: list[tuple[PayoutRow, Destination, Movement]] = []
        for row, destination in plans:
            movement_id = uuid.uuid5(NAMESPACE, f"{payout_id}:{row.line}")
            end_to_end_id = files.new_end_to_end_id(movement_id)
            debit = Movement(
                movement_id,
                customer.id,
                account.id,
                Direction.DEBIT,
                MovementKind.PAYOUT,
                row.amount_minor,
                "PKR",
                MovementStatus.PENDING,
                row.name,
                row.reference or None,
                None,
                None,
                end_to_end_id,
                payout_id,
                now,
                None,
            )
            movements.append(debit)
            if destination.internal_account is not None:
                payee = destination.internal_account
                movements.append(
                    replace(
                        debit,
                        id=uuid.uuid5(NAMESPACE, f"{payout_id}:{row.line}:credit"),
                        customer_id=payee.customer_id,
                        account_id=payee.id,
                        direction=Direction.CREDIT,
                        counterparty=customer.name,
                        end_to_end_id=None,
                    )
                )
                transfers.append(
                    Transfer(
                        movement_id,
                        account.id,
                        payee.id,
                        row.amount_minor,
                        ledger=ledger_id,
                        code=TRANSFER_CODE_INTERNAL,
                    )
                )
            else:
                transfers.append(
                    Transfer(
                        movement_id,
                        account.id,
                        self.hub_mirror_id,
                        row.amount_minor,
                        ledger=ledger_id,
                        code=TRANSFER_CODE_OUTGOING,
                        flags=TransferFlags.PENDING,
                    )
                )
                outgoing.append((row, destination, debit))
        with self.engine.begin() as connection:
            self._lock_customer(connection, customer.id)
            self._insert_movements(connection, movements)
        outcomes: dict[int, PayoutRowResult] = {}
        ledger_results: dict[uuid.UUID, CreateTransferResult] = {}
        for offset in range(0, len(transfers), 8_000):
            chunk = transfers[offset : offset + 8_000]
            for transfer, result in zip(chunk, self.ledger.create_transfers(chunk), strict=True):
                ledger_results[transfer.id] = result
        completed: list[uuid.UUID] = []
        failed: list[uuid.UUID] = []
        for row, destination in plans:
            movement_id = uuid.uuid5(NAMESPACE, f"{payout_id}:{row.line}")
            ids = [movement_id]
            if destination.internal_account is not None:
                ids.append(uuid.uuid5(NAMESPACE, f"{payout_id}:{row.line}:credit"))
            result = ledger_results[movement_id]
            if result not in (R.OK, R.EXISTS):
                failed += ids
                reason = "AM04" if result is R.EXCEEDS_CREDITS else result.value
                outcomes[row.line] = _row_rejected(row, reason, "the ledger refused the row")
            elif destination.internal_account is not None:
                completed += ids
                outcomes[row.line] = PayoutRowResult(
                    row.line,
                    row.name,
                    destination.iban or destination.raast_id or "",
                    row.amount_minor,
                    row.reference,
                    PayoutRowStatus.SETTLED,
                    None,
                    None,
                    files.new_end_to_end_id(movement_id),
                    None,
                )
        self._finish(completed, MovementStatus.COMPLETED)
        self._finish(failed, MovementStatus.FAILED, "ledger_refused")
        if on_progress is not None:
            on_progress(len(outcomes), total)
        sendable = [(row, d, m) for row, d, m in outgoing if row.line not in outcomes]
        chunk_size = 1_000
        for offset in range(0, len(sendable), chunk_size):
            batch = sendable[offset : offset + chunk_size]
            credit_transfers = [
                CreditTransfer(
                    msg_id=f"P{payout_id.hex[:20]}{offset // chunk_size:06d}",
                    end_to_end_id=m.end_to_end_id or "",
                    tx_id=m.end_to_end_id or "",
                    uetr=uuid.uuid4(),
                    amount_minor=row.amount_minor,
                    currency="PKR",
                    debtor_name=customer.name,
                    debtor_iban=account.iban,
                    creditor_alias=d.raast_id,
                    creditor_iban=d.iban if d.raast_id is None else None,
                    creditor_name=row.name,
                    remittance_information=row.reference or None,
                )
                for row, d, m in batch
            ]
            answered = self.bulk.submit(self.institution.code, credit_transfers)
            posts, voids = [], []
            for (row, d, m), payment in zip(batch, answered.payments, strict=True):
                status = PayoutRowStatus.PENDING
                if payment.status is PaymentStatus.SETTLED:
                    status = PayoutRowStatus.SETTLED
                    posts.append(m.id)
                elif payment.status is PaymentStatus.REJECTED:
                    status = PayoutRowStatus.REJECTED
                    voids.append(
                        (m.id, payment.reason.value if payment.reason else "RJCT", payment.id)
                    )
                else:
                    self._record_payment(m.id, payment.id)
                outcomes[row.line] = PayoutRowResult(
                    row.line,
                    row.name,
                    d.raast_id or d.iban or "",
                    row.amount_minor,
                    row.reference,
                    status,
                    payment.reason.value if payment.reason else None,
                    None,
                    m.end_to_end_id,
                    payment.request.uetr,
                )
            self._settle_many(posts, voids)
            if on_progress is not None:
                on_progress(len(outcomes), total)
        return outcomes

    def _settle_many(
        self, posts: Sequence[uuid.UUID], voids: Sequence[tuple[uuid.UUID, str, uuid.UUID]]
    ) -> None:
        """Post and void many reservations in one ledger batch (bulk answers)."""
        transfers = [
            Transfer(
                uuid.uuid5(NAMESPACE, f"post:{i}"),
                pending_id=i,
                flags=TransferFlags.POST_PENDING_TRANSFER,
            )
            for i in posts
        ] + [
            Transfer(
                uuid.uuid5(NAMESPACE, f"void:{i}"),
                pending_id=i,
                flags=TransferFlags.VOID_PENDING_TRANSFER,
            )
            for i, _, _ in voids
        ]
        if transfers:
            results = self.ledger.create_transfers(transfers)
            assert all(r in (R.OK, R.EXISTS) for r in results), results
        self._finish(posts, MovementStatus.COMPLETED)
        for movement_id, reason, payment_id in voids:
            self._finish([movement_id], MovementStatus.FAILED, reason, payment_id)

    def _current(self, payout: Payout) -> Payout:
        """A stored payout with its pending rows brought up to date from their movements."""
        waiting = {
            uuid.uuid5(NAMESPACE, f"{payout.id}:{row.line}"): row
            for row in payout.rows
            if row.status is PayoutRowStatus.PENDING
        }
        if not waiting:
            return payout
        table = store.movements_table
        with self.engine.connect() as connection:
            found = {
                r.id: r
                for r in connection.execute(
                    sa.select(table.c.id, table.c.status, table.c.reason).where(
                        table.c.id.in_(list(waiting))
                    )
                )
            }
        updated = {}
        for movement_id, row in waiting.items():
            movement = found.get(movement_id)
            if movement is None or movement.status == MovementStatus.PENDING.value:
                continue
            if movement.status == MovementStatus.COMPLETED.value:
                updated[row.line] = replace(row, status=PayoutRowStatus.SETTLED)
            else:
                updated[row.line] = replace(
                    row, status=PayoutRowStatus.REJECTED, reason=movement.reason
                )
        rows = tuple(updated.get(row.line, row) for row in payout.rows)
        return replace(payout, rows=rows)

    def payouts(self, customer_id: uuid.UUID, limit: int = 20) -> list[Payout]:
        table = store.payouts_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table)
                .where(table.c.customer_id == customer_id)
                .order_by(table.c.created_at.desc())
                .limit(max(1, min(limit, PAGE_SIZE_MAX)))
            ).all()
        return [self._current(_payout(row)) for row in rows]

    def payout_by_id(self, customer_id: uuid.UUID, payout_id: uuid.UUID) -> Payout:
        table = store.payouts_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.id == payout_id) & (table.c.customer_id == customer_id)
                )
            ).first()
        if row is None:
            raise DomainError(WalletError.PAYOUT_NOT_FOUND, f"no payout {payout_id}", status=404)
        return self._current(_payout(row))

    def _payout_by_digest(self, customer_id: uuid.UUID, digest: str) -> Payout | None:
        table = store.payouts_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.customer_id == customer_id) & (table.c.file_sha256 == digest)
                )
            ).first()
        return None if row is None else self._current(_payout(row))


class _Receivers:
    """Our own customers receiving payout rows: their credit limits and cap, row by row."""

    def __init__(self, wallet: PayoutsMixin, now: int) -> None:
        self.wallet = wallet
        self.now = now
        self.known: dict[uuid.UUID, tuple[Customer, dict[LimitKind, int | None], Usage, int]] = {}
        self.credited: dict[uuid.UUID, int] = {}

    def take(self, customer_id: uuid.UUID, row: PayoutRow) -> tuple[str, str] | None:
        """None if the row fits (and is counted), else (reason code, detail)."""
        if customer_id not in self.known:
            customer = self.wallet.customer(customer_id)
            with self.wallet.engine.connect() as connection:
                limits = self.wallet._effective_limits(connection, customer)  # noqa: SLF001
                usage = self.wallet._usage(  # noqa: SLF001
                    connection, customer_id, Direction.CREDIT, self.now
                )
            balance = self.wallet._balance_for_cap(customer_id)  # noqa: SLF001
            self.known[customer_id] = (customer, limits, usage, balance)
        customer, limits, usage, balance = self.known[customer_id]
        if customer.status is not CustomerStatus.ACTIVE:
            return "AC06", "the payee's wallet is blocked"
        extra = self.credited.get(customer_id, 0)
        grown = Usage(usage.day_minor + extra, usage.month_minor + extra, usage.year_minor + extra)
        after = balance + extra + row.amount_minor
        if first_breach(limits, Direction.CREDIT, row.amount_minor, grown, self.now, after):
            return "AM02", "the payee's wallet cannot receive this amount (its limits)"
        self.credited[customer_id] = extra + row.amount_minor
        return None


def _row_rejected(row: PayoutRow, reason: str, detail: str) -> PayoutRowResult:
    return PayoutRowResult(
        row.line,
        row.name,
        row.raast_id or row.iban or "",
        row.amount_minor,
        row.reference,
        PayoutRowStatus.REJECTED,
        reason,
        detail,
        None,
        None,
    )


def _row_json(row: PayoutRowResult) -> dict[str, object]:
    return {
        "line": row.line,
        "name": row.name,
        "destination": row.destination,
        "amount_minor": row.amount_minor,
        "reference": row.reference,
        "status": row.status.value,
        "reason": row.reason,
        "detail": row.detail,
        "end_to_end_id": row.end_to_end_id,
        "uetr": str(row.uetr) if row.uetr else None,
    }


def _payout(row: Any) -> Payout:
    rows = tuple(
        PayoutRowResult(
            r["line"],
            r["name"],
            r["destination"],
            r["amount_minor"],
            r["reference"],
            PayoutRowStatus(r["status"]),
            r["reason"],
            r["detail"],
            r["end_to_end_id"],
            uuid.UUID(r["uetr"]) if r["uetr"] else None,
        )
        for r in json.loads(row.results)
    )
    return Payout(
        row.id, row.customer_id, row.file_sha256, row.file_name, row.currency, row.created_at, rows
    )
