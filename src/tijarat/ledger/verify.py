"""Checks every invariant of a ledger database by replaying it from the first transfer.

- every account belongs to a registered ledger, has non-negative balances and keeps its flags;
- per ledger, posted debits equal posted credits and pending debits equal pending credits;
- replaying every transfer in time order reproduces each balance-history entry and every
  account's stored balances (so no balance moved without a transfer, and none was lost);
- every post or void resolves exactly one pending transfer of the same accounts, and the
  pending table agrees with the transfers that resolved it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from tijarat.ledger.model import (
    Account,
    AccountFlags,
    PendingState,
    PendingStatus,
    TransferFlags,
    TransferRecord,
    VerifyReport,
)

PROBLEMS_MAX = 200  # a broken database could yield millions; the first ones tell the story

_DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
_EXPIRY = int(TransferFlags.EXPIRY)


@dataclass(slots=True)
class _Replayed:
    amount: int
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    status: PendingStatus = PendingStatus.PENDING


class _Problems:
    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        self.count = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.report.problems) < PROBLEMS_MAX:
            self.report.problems.append(text)


def verify(
    ledgers: dict[int, str],
    accounts: Iterable[Account],
    records: Iterable[TransferRecord],
    pendings: Iterable[PendingState],
) -> VerifyReport:
    """`records` must come in timestamp order. Every input is streamed once."""
    report = VerifyReport(ledgers=len(ledgers))
    problems = _Problems(report)
    stored: dict[uuid.UUID, Account] = {}
    totals: dict[int, list[int]] = {}
    for a in accounts:
        stored[a.id] = a
        if a.ledger not in ledgers:
            problems.add(f"account {a.id}: ledger {a.ledger} is not registered")
        balances = (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        if min(balances) < 0:
            problems.add(f"account {a.id}: negative balance {balances}")
        if a.flags & _DMNEC and a.debits_pending + a.debits_posted > a.credits_posted:
            problems.add(f"account {a.id}: debits exceed credits despite its flag")
        if a.flags & _CMNED and a.credits_pending + a.credits_posted > a.debits_posted:
            problems.add(f"account {a.id}: credits exceed debits despite its flag")
        total = totals.setdefault(a.ledger, [0, 0, 0, 0])
        for index, value in enumerate(balances):
            total[index] += value
    report.accounts = len(stored)
    for ledger, (dp, dq, cp, cq) in sorted(totals.items()):
        if dq != cq:
            problems.add(f"ledger {ledger}: posted debits {dq} != posted credits {cq}")
        if dp != cp:
            problems.add(f"ledger {ledger}: pending debits {dp} != pending credits {cp}")

    replay: dict[uuid.UUID, list[int]] = {a: [0, 0, 0, 0] for a in stored}
    pending_seen: dict[uuid.UUID, _Replayed] = {}
    for record in records:
        report.transfers += 1
        t = record.transfer
        debit = replay.get(t.debit_account_id)  # type: ignore[arg-type]
        credit = replay.get(t.credit_account_id)  # type: ignore[arg-type]
        if debit is None or credit is None:
            problems.add(f"transfer {t.id}: an account does not exist")
            continue
        debit_account = stored[t.debit_account_id]  # type: ignore[index]
        credit_account = stored[t.credit_account_id]  # type: ignore[index]
        if not debit_account.ledger == credit_account.ledger == t.ledger:
            problems.add(f"transfer {t.id}: ledger differs from its accounts' ledger")
        amount = t.amount or 0
        if amount <= 0:
            problems.add(f"transfer {t.id}: amount {amount} is not positive")
        if t.flags & (_POST | _VOID):
            pending = pending_seen.get(t.pending_id)  # type: ignore[arg-type]
            if pending is None:
                problems.add(f"transfer {t.id}: resolves unknown pending {t.pending_id}")
                continue
            if pending.status is not PendingStatus.PENDING:
                problems.add(f"transfer {t.id}: pending {t.pending_id} was already resolved")
            if (pending.debit_account_id, pending.credit_account_id) != (
                t.debit_account_id,
                t.credit_account_id,
            ):
                problems.add(f"transfer {t.id}: accounts differ from its pending transfer")
            debit[0] -= pending.amount
            credit[2] -= pending.amount
            if t.flags & _POST:
                if amount > pending.amount:
                    problems.add(f"transfer {t.id}: posts more than was pending")
                debit[1] += amount
                credit[3] += amount
                pending.status = PendingStatus.POSTED
            else:
                expired = bool(t.flags & _EXPIRY)
                pending.status = PendingStatus.EXPIRED if expired else PendingStatus.VOIDED
        elif t.flags & _PENDING:
            debit[0] += amount
            credit[2] += amount
            pending_seen[t.id] = _Replayed(amount, t.debit_account_id, t.credit_account_id)  # type: ignore[arg-type]
        else:
            debit[1] += amount
            credit[3] += amount
        for side, replayed, after, account in (
            ("debit", debit, record.debit_balance, debit_account),
            ("credit", credit, record.credit_balance, credit_account),
        ):
            history = [
                after.debits_pending,
                after.debits_posted,
                after.credits_pending,
                after.credits_posted,
            ]
            if history != replayed:
                problems.add(
                    f"transfer {t.id}: {side} balance after is {history}, replay gives {replayed}"
                )
            if account.flags & _DMNEC and replayed[0] + replayed[1] > replayed[3]:
                problems.add(f"transfer {t.id}: account {account.id} debits exceeded credits")
            if account.flags & _CMNED and replayed[2] + replayed[3] > replayed[1]:
                problems.add(f"transfer {t.id}: account {account.id} credits exceeded debits")

    for account_id, replayed in replay.items():
        a = stored[account_id]
        actual = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
        if actual != replayed:
            problems.add(
                f"account {account_id}: balances {actual} but its transfers sum to {replayed}"
            )

    seen_rows: set[uuid.UUID] = set()
    for p in pendings:
        seen_rows.add(p.id)
        replayed_pending = pending_seen.get(p.id)
        if replayed_pending is None:
            problems.add(f"pending {p.id}: no pending transfer with that id")
        elif replayed_pending.status is not p.status:
            problems.add(
                f"pending {p.id}: status {p.status.name} but its transfers say "
                f"{replayed_pending.status.name}"
            )
    for pending_id in pending_seen.keys() - seen_rows:
        problems.add(f"pending transfer {pending_id}: missing from the pending table")
    if problems.count > len(report.problems):
        report.problems.append(f"... and {problems.count - len(report.problems)} more problems")
    return report
