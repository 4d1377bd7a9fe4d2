"""Bulk credit transfers (what a pain.001 carries): many payments, a few statements.

The same rules as one payment at a time (payments.py), applied set-wise: duplicates and
routes are looked up with one query each, every payment row is inserted with one statement,
all reservations are one ledger batch (8,190 at a time), and the payees' answers post or void
in one batch each. Rows are independent: one refused row never stops the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TypeVar

import sqlalchemy as sa

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.ledger.model import BATCH_MAX, CreateTransferResult, Transfer, TransferFlags
from tijarat.switch import store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    TRANSFER_CODE_CREDIT_TRANSFER,
    CreditTransfer,
    Participant,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import PayeeHandler, Payments, well_formed
from tijarat.switch.service import HUB_NAMESPACE

R = CreateTransferResult
T = TypeVar("T")
# Per row: its payment id, payee, resolved creditor IBAN, and refusal (None = routed).
Plan = tuple[uuid.UUID, Participant | None, str | None, ReasonCode | None]
BULK_ROWS_MAX = 100_000  # one file; larger payrolls are split by the sender
LOOKUP_ROWS_MAX = 5_000  # rows per lookup query (SQLite's IN lists stay well under its limit)


@dataclass(frozen=True, slots=True)
class BulkResult:
    payments: list[Payment]  # in input order

    @property
    def settled(self) -> int:
        return sum(p.status is PaymentStatus.SETTLED for p in self.payments)

    @property
    def rejected(self) -> int:
        return sum(p.status is PaymentStatus.REJECTED for p in self.payments)

    @property
    def pending(self) -> int:
        return sum(p.status is PaymentStatus.PENDING for p in self.payments)


class BulkPayments:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments
        self.directory = payments.directory
        self.engine = payments.engine
        self.ledger = payments.ledger
        self.clock = payments.clock

    def submit(self, payer_code: str, rows: Sequence[CreditTransfer]) -> BulkResult:
        payer = self.directory.participant(payer_code)
        if not payer.active:
            raise DomainError(
                SwitchError.PARTICIPANT_SUSPENDED, f"{payer.code} is suspended", status=403
            )
        if not 0 < len(rows) <= BULK_ROWS_MAX:
            raise DomainError(
                SwitchError.BULK_INVALID,
                f"a bulk file carries 1 to {BULK_ROWS_MAX} payments",
                status=422,
                fields={"rows": len(rows)},
            )
        participants = {p.id: p for p in self.directory.participants()}
        by_bank = {p.bank_code: p for p in participants.values() if p.bank_code}
        existing = self._existing(payer, rows)
        aliases = self._aliases(rows)
        now = self.clock.now_ns()
        seen: set[object] = set()
        room = self.directory.net_debit_room(payer)  # None: no cap
        plans: list[Plan] = []
        replays: dict[int, Payment] = {}  # rows sent before, unchanged: answered as stored
        for index, row in enumerate(rows):
            reason: ReasonCode | None = None
            payee: Participant | None = None
            creditor: str | None = None
            keys = (row.uetr, row.end_to_end_id)
            before = existing.get(row.uetr) or existing.get(row.end_to_end_id)
            if before is not None and before.payer_id == payer.id and before.request == row:
                if not seen & set(keys):
                    replays[index] = before
                reason = ReasonCode.DUPL
            elif before is not None or seen & set(keys):
                reason = ReasonCode.DUPL
            else:
                payee, creditor, reason = self._route(payer, row, aliases, by_bank, participants)
                if reason is None and room is not None:
                    if row.amount_minor > room:
                        reason = ReasonCode.AM23  # beyond the net debit cap, in file order
                    else:
                        room -= row.amount_minor
            seen.update(keys)
            plans.append((uuid.uuid4(), payee, creditor, reason))
        duplicates = {i for i, plan in enumerate(plans) if plan[3] is ReasonCode.DUPL}
        stored = [i for i in range(len(rows)) if i not in duplicates]
        values = self._insert(payer, rows, plans, stored, now)
        reserve = [i for i in stored if plans[i][3] is None]
        refused = self._reserve(payer, rows, plans, reserve)
        decisions: dict[int, PayeeDecision] = {}
        deliverers: dict[uuid.UUID, PayeeHandler | None] = {}  # one lookup per payee
        for i in reserve:
            if i in refused:
                continue
            payee = _routed(plans[i][1])
            if payee.id not in deliverers:
                deliverers[payee.id] = self.payments.deliverer(payee)
            handler = deliverers[payee.id]
            if handler is None:
                continue
            try:
                decision = handler(self._pending_view(payer, rows[i], plans[i], now))
            except Exception:  # a payee's failure is a non-answer
                decision = None
            if decision is not None:
                decisions[i] = decision
        elsewhere = self._answer(payer, rows, plans, decisions)
        for i in elsewhere:
            del decisions[i]  # posted or voided by another path first: its decision stands
        # Rows refused before reservation were stored decided; the rest are decided now.
        final: dict[int, tuple[PaymentStatus, ReasonCode | None]] = {}
        for i in reserve:
            reason = refused.get(i)
            if reason is not None:
                final[i] = (PaymentStatus.REJECTED, reason)
            elif i in decisions:
                decision = decisions[i]
                final[i] = (
                    (PaymentStatus.SETTLED, None)
                    if decision.accept
                    else (PaymentStatus.REJECTED, decision.reason or ReasonCode.BE01)
                )
        found = self._update(payer, rows, plans, final, values, now)
        for payment in self._load([plans[i][0] for i in elsewhere]):
            found[payment.id] = payment  # as that path decided it
        told = self._told([found[plans[i][0]] for i in stored])
        for i in stored:
            payment = found[plans[i][0]]
            if (i in final or plans[i][3] is not None) and told & {
                payment.payer_id,
                payment.payee_id,
            }:
                self.payments.notify(payment)
        results: list[Payment] = []
        for i, row in enumerate(rows):
            if i in replays:
                results.append(replays[i])
            elif i in duplicates:
                results.append(
                    Payment(
                        uuid.uuid4(),
                        payer.id,
                        None,
                        row,
                        None,
                        PaymentStatus.REJECTED,
                        ReasonCode.DUPL,
                        now,
                        now,
                    )
                )
            else:
                results.append(found[plans[i][0]])
        return BulkResult(results)

    # ------------------------------------------------------------------ steps
    def _existing(
        self, payer: Participant, rows: Sequence[CreditTransfer]
    ) -> dict[object, Payment]:
        """Stored payments sharing a UETR, or this payer's end-to-end id, with a row."""
        found: dict[object, Payment] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(rows, LOOKUP_ROWS_MAX):
                for row in store.payments_by_ids(
                    connection, payer.id, [r.uetr for r in chunk], [r.end_to_end_id for r in chunk]
                ):
                    payment = self.payments.from_row(row)
                    found[payment.request.uetr] = payment
                    if payment.payer_id == payer.id:
                        found[payment.request.end_to_end_id] = payment
        return found

    def _aliases(self, rows: Sequence[CreditTransfer]) -> dict[str, tuple[str, uuid.UUID]]:
        numbers = set()
        for row in rows:
            if row.creditor_alias is not None:
                try:
                    numbers.add(MobileNumber.parse(row.creditor_alias).e164)
                except DomainError:
                    continue
        found: dict[str, tuple[str, uuid.UUID]] = {}
        table = store.aliases_table
        with self.engine.connect() as connection:
            for chunk in _chunks(sorted(numbers), 5_000):
                for alias in connection.execute(
                    sa.select(table.c.number, table.c.iban, table.c.participant_id).where(
                        table.c.number.in_(chunk)
                    )
                ):
                    found[alias.number] = (alias.iban, alias.participant_id)
        return found

    def _route(
        self,
        payer: Participant,
        row: CreditTransfer,
        aliases: dict[str, tuple[str, uuid.UUID]],
        by_bank: dict[str, Participant],
        participants: dict[uuid.UUID, Participant],
    ) -> tuple[Participant | None, str | None, ReasonCode | None]:
        """The rules of Payments._route, on preloaded maps instead of one query per row."""
        if not well_formed(row):
            return None, None, ReasonCode.FF01
        if row.currency != "PKR" or not 0 < row.amount_minor < (1 << 63):
            return None, None, ReasonCode.AM02
        try:
            debtor = Iban.parse(row.debtor_iban)
            if row.creditor_alias is not None:
                number = MobileNumber.parse(row.creditor_alias).e164
                creditor_iban = None
            else:
                number = None
                creditor_iban = Iban.parse(row.creditor_iban or "")
        except DomainError:
            return None, None, ReasonCode.FF01
        if payer.bank_code is not None and debtor.bank_code != payer.bank_code:
            return None, None, ReasonCode.BE01
        if number is not None:
            if number not in aliases:
                return None, None, ReasonCode.AC03
            creditor, holder = aliases[number]
            payee = participants[holder]
        else:
            assert creditor_iban is not None
            payee_or_none = by_bank.get(creditor_iban.bank_code)
            if payee_or_none is None:
                return None, None, ReasonCode.AC03
            payee, creditor = payee_or_none, creditor_iban.compact
        if not payee.active:
            return payee, creditor, ReasonCode.AG01
        return payee, creditor, self.payments.policy.check(payer, payee, row)

    def _insert(
        self,
        payer: Participant,
        rows: Sequence[CreditTransfer],
        plans: list[Plan],
        stored: list[int],
        now: int,
    ) -> dict[int, dict[str, object]]:
        """Every stored row in one statement (a COPY on PostgreSQL); their values by index."""
        values = {
            i: self.payments.row_values(
                plans[i][0], payer, plans[i][1], rows[i], plans[i][2], plans[i][3], now
            )
            for i in stored
        }
        with self.engine.begin() as connection:
            store.insert_payment_rows(connection, list(values.values()))
        return values

    def _reserve(
        self,
        payer: Participant,
        rows: Sequence[CreditTransfer],
        plans: list[Plan],
        reserve: list[int],
    ) -> dict[int, ReasonCode]:
        refused: dict[int, ReasonCode] = {}
        payees = {i: plans[i][1] for i in reserve}
        for chunk in _chunks(reserve, BATCH_MAX):
            transfers = [
                Transfer(
                    plans[i][0],
                    payer.settlement_account_id,
                    self.directory.reservation_account(payer, _routed(payees[i])),
                    rows[i].amount_minor,
                    user_data_128=rows[i].uetr,
                    timeout=self.payments.payee_timeout_s,
                    ledger=self.directory.hub_ledger,
                    code=TRANSFER_CODE_CREDIT_TRANSFER,
                    flags=TransferFlags.PENDING,
                )
                for i in chunk
            ]
            for i, result in zip(chunk, self.ledger.create_transfers(transfers), strict=True):
                if result not in (R.OK, R.EXISTS):
                    refused[i] = ReasonCode.AM04 if result is R.EXCEEDS_CREDITS else ReasonCode.AC06
        return refused

    def _pending_view(
        self, payer: Participant, row: CreditTransfer, plan: Plan, now: int
    ) -> Payment:
        payment_id, payee, creditor, _ = plan
        return Payment(
            payment_id,
            payer.id,
            _routed(payee).id,
            row,
            creditor,
            PaymentStatus.PENDING,
            None,
            now,
            None,
        )

    def _answer(
        self,
        payer: Participant,
        rows: Sequence[CreditTransfer],
        plans: list[Plan],
        decisions: dict[int, PayeeDecision],
    ) -> set[int]:
        """Post the accepted reservations and void the refused ones; the rows another path
        (the payee answering over the API meanwhile, the timeout) posted or voided first."""
        elsewhere: set[int] = set()
        for accept in (True, False):
            chosen = [i for i, decision in decisions.items() if decision.accept is accept]
            kind = "post" if accept else "void"
            flag = (
                TransferFlags.POST_PENDING_TRANSFER
                if accept
                else TransferFlags.VOID_PENDING_TRANSFER
            )
            # One chunk's transfers stay under the ledger's batch size even when each on-us
            # post brings its hand-back.
            for chunk in _chunks(chosen, BATCH_MAX // 2):
                transfers: list[Transfer] = []
                firsts: list[int] = []  # each row's first transfer (an on-us post brings two)
                for i in chunk:
                    firsts.append(len(transfers))
                    post = Transfer(
                        uuid.uuid5(HUB_NAMESPACE, f"{kind}:{plans[i][0]}"),
                        pending_id=plans[i][0],
                        user_data_128=rows[i].uetr,
                        flags=flag,
                    )
                    payee = _routed(plans[i][1])
                    if accept and payee.id == payer.id:
                        transfers += self.payments.on_us_settlement(
                            payee, post, self._on_us_view(payer, rows[i], plans[i])
                        )
                    else:
                        transfers.append(post)
                results = self.ledger.create_transfers(transfers)
                for i, first in zip(chunk, firsts, strict=True):
                    result = results[first]
                    if result in (
                        R.PENDING_TRANSFER_ALREADY_POSTED,
                        R.PENDING_TRANSFER_ALREADY_VOIDED,
                    ):
                        elsewhere.add(i)
                    else:
                        assert result in (R.OK, R.EXISTS), (result, plans[i][0])
        return elsewhere

    @staticmethod
    def _on_us_view(payer: Participant, row: CreditTransfer, plan: Plan) -> Payment:
        return Payment(
            plan[0], payer.id, payer.id, row, plan[2], PaymentStatus.PENDING, None, 0, None
        )

    def _update(
        self,
        payer: Participant,
        rows: Sequence[CreditTransfer],
        plans: list[Plan],
        final: dict[int, tuple[PaymentStatus, ReasonCode | None]],
        values: dict[int, dict[str, object]],
        now: int,
    ) -> dict[uuid.UUID, Payment]:
        """Decide the reserved rows in one statement; every stored payment, by id.

        The payments are built from what was stored and decided here: only a row decided
        meanwhile by another path (the first decision stands) is read back.
        """
        with self.engine.begin() as connection:
            changed = store.decide_payment_rows(
                connection,
                [
                    (plans[i][0], status.value, reason.value if reason else None)
                    for i, (status, reason) in final.items()
                ],
                now,
            )
        found: dict[uuid.UUID, Payment] = {}
        for i, row in values.items():
            payment_id, payee, creditor, refusal = plans[i]
            if i in final and payment_id in changed:
                status, reason = final[i]
                resolved_at: int | None = now
            elif refusal is not None:
                status, reason, resolved_at = PaymentStatus.REJECTED, refusal, now
            else:
                status, reason, resolved_at = PaymentStatus.PENDING, None, None
            found[payment_id] = Payment(
                payment_id,
                payer.id,
                payee.id if payee else None,
                rows[i] if _stored_as_sent(rows[i], row) else _payment(row).request,
                creditor,
                status,
                reason,
                now,
                resolved_at,
            )
        stale = [plans[i][0] for i in final if plans[i][0] not in changed]
        for payment in self._load(stale):
            found[payment.id] = payment
        return found

    def _told(self, payments: Sequence[Payment]) -> set[uuid.UUID]:
        """The participants of these payments that hear of their outcomes (see notify)."""
        involved = {p.payer_id for p in payments} | {p.payee_id for p in payments}
        return {pid for pid in involved if pid is not None and self.payments.hears(pid)}

    def _load(self, ids: list[uuid.UUID]) -> list[Payment]:
        found: list[Payment] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(ids, LOOKUP_ROWS_MAX):
                rows = connection.execute(
                    sa.select(store.payments_table).where(store.payments_table.c.id.in_(chunk))
                ).all()
                found.extend(self.payments.from_row(row) for row in rows)
        return found


def _payment(values: dict[str, object]) -> Payment:
    return Payments.from_row(SimpleNamespace(**values))


def _stored_as_sent(row: CreditTransfer, values: dict[str, object]) -> bool:
    """The row's fields went into the database unchanged (row_values cut none of them)."""
    return all(
        values[name] == getattr(row, name)
        for name in ("msg_id", "end_to_end_id", "tx_id", "currency", "debtor_name", "debtor_iban")
    )


def _routed(payee: Participant | None) -> Participant:
    assert payee is not None  # only routed rows are reserved
    return payee


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[offset : offset + size] for offset in range(0, len(items), size)]
