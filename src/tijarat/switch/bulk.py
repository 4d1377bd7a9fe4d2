"""Bulk credit transfers (what a pain.001 carries): many payments, a few statements.

The same rules as one payment at a time (payments.py), applied set-wise: duplicates and
routes are looked up with one query each, every payment row is inserted with one statement,
and the rest goes chunk by chunk through a two-stage pipeline (see _carry_out): one ledger
batch reserves a chunk while the chunk before is delivered (HTTP payees' advices all at once),
posted or voided in one batch and decided in one statement. Rows are independent: one refused
row never stops the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NamedTuple, TypeVar

import sqlalchemy as sa
import structlog

from tijarat.kernel.clock import NS_PER_S
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.ledger.model import BATCH_MAX, CreateTransferResult, Transfer, TransferFlags
from tijarat.switch import store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    TRANSFER_CODE_CREDIT_TRANSFER,
    ArchivedMessage,
    CreditTransfer,
    Participant,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
    same_settlement_account,
)
from tijarat.switch.payments import (
    Exchanged,
    PayeeHandler,
    Payments,
    RemoteTransport,
    well_formed,
)
from tijarat.switch.service import HUB_NAMESPACE, suspended_message

R = CreateTransferResult
log = structlog.get_logger("tijarat.switch")
T = TypeVar("T")
# Per row: its payment id, payee, resolved creditor IBAN, and refusal (None = routed).
Plan = tuple[uuid.UUID, Participant | None, str | None, ReasonCode | None]
BULK_ROWS_MAX = 100_000  # one file; larger payrolls are split by the sender
LOOKUP_ROWS_MAX = 5_000  # rows per lookup query (SQLite's IN lists stay well under its limit)
# Rows per pipeline chunk (see _carry_out): its posts, each on-us one with its hand-back, fit
# one ledger batch. Smaller chunks overlap sooner but pay a batch's fixed costs more often.
PIPELINE_ROWS = BATCH_MAX // 2
HTTP_ROUND_ROWS = 512  # advices per HTTP payee and round: 16 per connection (see _exchange)
RESERVED_AHEAD = 2  # chunks reserved before the one that waits for its payees is settled


@dataclass(slots=True)
class _File:
    """One file's rows, plans and stored values, and what its chunks learn of the payees."""

    payer: Participant
    rows: Sequence[CreditTransfer]
    plans: list[Plan]
    now: int  # when it came
    values: dict[int, dict[str, object]]  # the rows stored so far, by index
    ways: dict[uuid.UUID, PayeeHandler | RemoteTransport | None] = field(default_factory=dict)
    unresponsive: set[uuid.UUID] = field(default_factory=set)  # HTTP payees given up on
    hearing: dict[uuid.UUID, bool] = field(default_factory=dict)  # see BulkPayments._hears


class _Answered(NamedTuple):
    """A chunk delivered, posted and voided: what became of each row decided, and the rows
    another path decided first."""

    outcomes: dict[int, tuple[PaymentStatus, ReasonCode | None]]
    elsewhere: set[int]


class _Settled(NamedTuple):
    """A chunk's decisions stored: its payments as decided here, the status reports built
    (and archived) for them, and the rows another path decided first (read back)."""

    decided: list[Payment]
    told: list[tuple[Payment, dict[uuid.UUID, ArchivedMessage]]]
    elsewhere: set[int]


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
                SwitchError.PARTICIPANT_SUSPENDED, suspended_message(payer), status=403
            )
        if not 0 < len(rows) <= BULK_ROWS_MAX:
            raise DomainError(
                SwitchError.BULK_INVALID,
                f"a bulk file carries 1 to {BULK_ROWS_MAX} payments",
                status=422,
                fields={"rows": len(rows)},
            )
        now = self.clock.now_ns()
        plans, replays = self._plan(payer, rows)
        duplicates = {i for i, plan in enumerate(plans) if plan[3] is ReasonCode.DUPL}
        stored = [i for i in range(len(rows)) if i not in duplicates]
        file = _File(payer, rows, plans, now, {})
        # The refusals are stored now, decided; the routed rows chunk by chunk, each just
        # before its reservation (see _carry_out).
        self._insert(file, [i for i in stored if plans[i][3] is not None], now)
        settled, failure = self._carry_out(file, [i for i in stored if plans[i][3] is None])
        # Tell the participants what became of every row decided here, even when a later
        # chunk failed (its rows stay pending: the timeout sweep decides and tells them).
        # A chunk's status reports were archived with its decisions; the refusals' are now.
        refusals = self.payments.reports_of(
            [
                self._payment_of(file, i, PaymentStatus.REJECTED, plans[i][3], now)
                for i in stored
                if plans[i][3] is not None and self._hears(file, i)
            ],
            answered=True,  # the payer: in the pain.002
        )
        self.payments.keep([message for _, built in refusals for message in built.values()])
        push = self.payments.announce([told for chunk in settled for told in chunk.told] + refusals)
        if failure is not None:
            push()
            raise failure
        found = {payment.id: payment for chunk in settled for payment in chunk.decided}
        elsewhere = [file.plans[i][0] for chunk in settled for i in chunk.elsewhere]
        for payment in self._load(elsewhere):
            found[payment.id] = payment  # as the path that decided it first stored it
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
            elif (known := found.get(plans[i][0])) is not None:
                results.append(known)
            elif plans[i][3] is not None:
                results.append(self._payment_of(file, i, PaymentStatus.REJECTED, plans[i][3], now))
            else:  # no decision yet: the payee answers through the API, or the timeout decides
                results.append(self._payment_of(file, i, PaymentStatus.PENDING, None, None))
        push()
        return BulkResult(results)

    def _carry_out(
        self, file: _File, routed: list[int]
    ) -> tuple[list[_Settled], BaseException | None]:
        """Store, reserve, deliver and settle the routed rows, PIPELINE_ROWS at a time, as a
        three-stage pipeline: this thread stores and reserves chunk after chunk, in file
        order; a second delivers the chunks reserved and posts or voids them; a third stores
        their decisions. While one stage waits on the database (or on payees) another
        computes, so a file takes about as long as its longest stage instead of the sum.

        A chunk's rows are stored just before their reservation, so none waits unreserved
        for long (the timeout sweep rejects a pending row without a reservation once the
        payee timeout has passed since it was stored: a crash's leftover, AB06). A chunk is
        stored and reserved only once the chunk RESERVED_AHEAD before it is settled, so
        reservations never run far ahead of their payees; and a void in an earlier chunk may
        free funds for a later one, as for payments sent one after another. The stages'
        threads are the file's own: a slow payee delays its file only, and a payee handler
        may itself send a file. Answers the chunks settled and the first failure, if any:
        after it no chunk is stored, and the ones under way finish.
        """
        answering: list[Future[_Answered]] = []
        deciding: list[Future[_Settled]] = []
        failure: BaseException | None = None
        with (
            ThreadPoolExecutor(1, thread_name_prefix="switch-bulk-settle") as settler,
            ThreadPoolExecutor(1, thread_name_prefix="switch-bulk-decide") as decider,
        ):
            for k, chunk in enumerate(_chunks(routed, PIPELINE_ROWS)):
                if k >= RESERVED_AHEAD:
                    wait([answering[k - RESERVED_AHEAD]])
                if any(job.done() and job.exception() for job in answering + deciding):
                    break  # a chunk failed: store and reserve no more
                try:
                    self._insert(file, chunk, self.clock.now_ns())
                    refused = self._reserve(file, chunk)
                except Exception as error:  # raised by submit, once the chunks before are told
                    failure = error
                    break
                answering.append(
                    settler.submit(self._settle, file, chunk, refused, self.clock.now_ns())
                )
                deciding.append(decider.submit(self._decide, file, answering[-1]))
            remote = self.payments.remote
            if remote is not None:
                settler.submit(remote.release)  # the settle thread's connections end with it
        settled: list[_Settled] = []
        for job in deciding:
            try:
                settled.append(job.result())
            except Exception as error:  # the same
                failure = failure or error
        return settled, failure

    def _settle(
        self, file: _File, chunk: Sequence[int], refused: dict[int, ReasonCode], reserved_at: int
    ) -> _Answered:
        """Deliver a reserved chunk's credit advices and post or void as the payees decide:
        what became of each row decided, and the rows another path decided first. Rows
        refused at reservation are rejected; rows without an answer stay pending."""
        decisions = self._deliver(file, [i for i in chunk if i not in refused], reserved_at)
        outcomes: dict[int, tuple[PaymentStatus, ReasonCode | None]] = {
            i: (PaymentStatus.REJECTED, reason) for i, reason in refused.items()
        }
        elsewhere: set[int] = set()
        for i, outcome in self._answer(file, decisions).items():
            if outcome is None:
                elsewhere.add(i)  # posted or voided by another path first: its decision stands
            else:
                outcomes[i] = outcome
        return _Answered(outcomes, elsewhere)

    def _decide(self, file: _File, answered: Future[_Answered]) -> _Settled:
        """Store a settled chunk's decisions in one transaction, with the status reports
        about to be pushed to the participants told over HTTP (as Payments._finish does)."""
        outcomes, elsewhere = answered.result()  # its failure is this chunk's
        now = self.clock.now_ns()
        ids = {file.plans[i][0]: i for i in outcomes}
        # Built before the transaction: the reports' endpoints may have to be read, and on
        # SQLite a second connection inside the write transaction would wait on it.
        decided = {pid: self._payment_of(file, i, *outcomes[i], now) for pid, i in ids.items()}
        hearing = [p for pid, p in decided.items() if self._hears(file, ids[pid])]
        told = {p.id: (p, built) for p, built in self.payments.reports_of(hearing, answered=True)}
        with self.engine.begin() as connection:
            changed = store.decide_payment_rows(
                connection,
                [
                    (payment_id, status.value, reason.value if reason else None)
                    for payment_id, (status, reason) in zip(ids, outcomes.values(), strict=True)
                ],
                now,
            )
            reports = [m for pid in changed if pid in told for m in told[pid][1].values()]
            store.insert_messages(connection, reports, now)
        # A row this did not change was decided meanwhile by another path: read as stored.
        return _Settled(
            [decided[pid] for pid in ids if pid in changed],
            [told[pid] for pid in ids if pid in changed and pid in told],
            elsewhere | {ids[pid] for pid in ids.keys() - changed},
        )

    # ------------------------------------------------------------------ steps
    def _plan(
        self, payer: Participant, rows: Sequence[CreditTransfer]
    ) -> tuple[list[Plan], dict[int, Payment]]:
        """Every row routed or refused, in file order; and the rows sent before, unchanged
        (answered as stored). Duplicates within the file and the net debit cap are decided
        here, over the whole file, before anything is stored."""
        participants = {p.id: p for p in self.directory.participants()}
        by_bank = {p.bank_code: p for p in participants.values() if p.bank_code}
        existing = self._existing(payer, rows)
        aliases = self._aliases(rows)
        seen: set[object] = set()
        room = self.directory.net_debit_room(payer)  # None: no cap
        plans: list[Plan] = []
        replays: dict[int, Payment] = {}
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
        return plans, replays

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

    def _insert(self, file: _File, indexes: Sequence[int], now: int) -> None:
        """These rows stored in one statement (a COPY on PostgreSQL), created `now`."""
        payer, rows, plans = file.payer, file.rows, file.plans
        values = {
            i: self.payments.row_values(
                plans[i][0], payer, plans[i][1], rows[i], plans[i][2], plans[i][3], now
            )
            for i in indexes
        }
        with self.engine.begin() as connection:
            store.insert_payment_rows(connection, list(values.values()))
        file.values.update(values)

    def _reserve(self, file: _File, chunk: Sequence[int]) -> dict[int, ReasonCode]:
        """One ledger batch of pending transfers; the rows refused (no funds: AM04)."""
        payer, rows, plans = file.payer, file.rows, file.plans
        transfers = [
            Transfer(
                plans[i][0],
                payer.settlement_account_id,
                self.directory.reservation_account(payer, _routed(plans[i][1])),
                rows[i].amount_minor,
                user_data_128=rows[i].uetr,
                timeout=self.payments.payee_timeout_s,
                ledger=self.directory.hub_ledger,
                code=TRANSFER_CODE_CREDIT_TRANSFER,
                flags=TransferFlags.PENDING,
            )
            for i in chunk
        ]
        refused: dict[int, ReasonCode] = {}
        for i, result in zip(chunk, self.ledger.create_transfers(transfers), strict=True):
            if result not in (R.OK, R.EXISTS):
                refused[i] = ReasonCode.AM04 if result is R.EXCEEDS_CREDITS else ReasonCode.AC06
        return refused

    def _deliver(
        self, file: _File, asked: Sequence[int], reserved_at: int
    ) -> dict[int, PayeeDecision]:
        """Each row's credit advice to its payee: the decisions. In-process payees are asked
        row by row; HTTP payees get theirs all at once (see _exchange). A row without a
        decision stays pending."""
        decisions: dict[int, PayeeDecision] = {}
        over_http: dict[uuid.UUID, list[int]] = {}
        polled: list[int] = []
        for i in asked:
            payee = _routed(file.plans[i][1])
            if payee.id not in file.ways:
                file.ways[payee.id] = self.payments.way_to(payee)
            way = file.ways[payee.id]
            if way is None:
                polled.append(i)  # the payee answers through the API, or the timeout decides
                continue
            if way is self.payments.remote:
                over_http.setdefault(payee.id, []).append(i)
                continue
            assert callable(way)
            try:
                decision = way(self._pending_view(file, i))
            except Exception:  # a payee's failure is a non-answer
                log.exception("payee handler failed", payee=payee.code)
                decision = None
            if decision is not None:
                decisions[i] = decision
        if over_http:
            self._exchange(file, over_http, decisions, reserved_at)
        # Payees that poll find theirs in their archive (Payments.inbox).
        self.payments.inbox(
            [(_routed(file.plans[i][1]), self._pending_view(file, i)) for i in polled]
        )
        return decisions

    def _exchange(
        self,
        file: _File,
        rows_by_payee: dict[uuid.UUID, list[int]],
        decisions: dict[int, PayeeDecision],
        reserved_at: int,
    ) -> None:
        """The HTTP payees' advices, in rounds of up to HTTP_ROUND_ROWS per payee: each
        round's advices are archived, then sent at once (the transport multiplexes them, with
        one deadline per round), and the answers archived as they come back.

        A payee that sent no HTTP answer at all to a round (timeouts, refused connections)
        gets no more of this file, and no round starts once half the reservations' life is
        gone: those rows stay pending and the timeout rejects them (AB05). So an endpoint
        that hangs costs the file one deadline, not one per row, and no advice goes out for
        a reservation about to expire.
        """
        remote = self.payments.remote
        assert remote is not None
        last_start = reserved_at + self.payments.payee_timeout_s * NS_PER_S // 2
        queues = dict(rows_by_payee)
        while queues and self.clock.now_ns() < last_start:
            round_: list[tuple[int, Participant, Payment, ArchivedMessage]] = []
            for payee_id in list(queues):
                if payee_id in file.unresponsive:
                    del queues[payee_id]
                    continue
                taken, queues[payee_id] = (
                    queues[payee_id][:HTTP_ROUND_ROWS],
                    queues[payee_id][HTTP_ROUND_ROWS:],
                )
                if not queues[payee_id]:
                    del queues[payee_id]
                for i in taken:
                    payee = _routed(file.plans[i][1])
                    payment = self._pending_view(file, i)
                    try:
                        round_.append((i, payee, payment, remote.advice(payee, payment)))
                    except Exception:  # not deliverable: a non-answer, as a failed delivery is
                        log.exception("credit advice not built", payee=payee.code)
            if not round_:
                continue
            self.payments.keep([advice for *_, advice in round_])  # archived before sent
            try:
                answers = remote.exchange_many([(payee, p, a) for _, payee, p, a in round_])
            except Exception:  # the transport's own failure: nobody was heard this round
                log.exception("credit advices not delivered", rows=len(round_))
                answers = [Exchanged(None, None, reached=False)] * len(round_)
            self.payments.keep([answer.received for answer in answers if answer.received])
            reached: set[uuid.UUID] = set()
            for (i, payee, _, _), answer in zip(round_, answers, strict=True):
                if answer.decision is not None:
                    decisions[i] = answer.decision
                if answer.reached:
                    reached.add(payee.id)
            file.unresponsive |= {payee.id for _, payee, _, _ in round_} - reached

    @staticmethod
    def _pending_view(file: _File, i: int) -> Payment:
        payment_id, payee, creditor, _ = file.plans[i]
        return Payment(
            payment_id,
            file.payer.id,
            _routed(payee).id,
            file.rows[i],
            creditor,
            PaymentStatus.PENDING,
            None,
            _created_at(file, i),
            None,
        )

    def _answer(
        self, file: _File, decisions: dict[int, PayeeDecision]
    ) -> dict[int, tuple[PaymentStatus, ReasonCode | None] | None]:
        """Post the accepted reservations and void the refused ones, one ledger batch each:
        what became of each row (Payments.outcome; None for a row another path, the payee
        answering over the API meanwhile or the timeout, posted or voided first)."""
        payer, rows, plans = file.payer, file.rows, file.plans
        outcomes: dict[int, tuple[PaymentStatus, ReasonCode | None] | None] = {}
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
                    if accept and same_settlement_account(payer, payee):
                        transfers += self.payments.on_us_settlement(
                            payee, post, self._on_us_view(file, i)
                        )
                    else:
                        transfers.append(post)
                results = self.ledger.create_transfers(transfers)
                for i, first in zip(chunk, firsts, strict=True):
                    outcomes[i] = self.payments.outcome(
                        self._pending_view(file, i), decisions[i], results[first]
                    )
        return outcomes

    @staticmethod
    def _on_us_view(file: _File, i: int) -> Payment:
        payment_id, payee, creditor, _ = file.plans[i]
        return Payment(
            payment_id,
            file.payer.id,
            _routed(payee).id,  # the payer itself, or another in its settlement account
            file.rows[i],
            creditor,
            PaymentStatus.PENDING,
            None,
            0,
            None,
        )

    @staticmethod
    def _payment_of(
        file: _File,
        i: int,
        status: PaymentStatus,
        reason: ReasonCode | None,
        resolved_at: int | None,
    ) -> Payment:
        """Row i's payment as stored and decided here (built, not read back)."""
        payment_id, payee, creditor, _ = file.plans[i]
        row, values = file.rows[i], file.values[i]
        return Payment(
            payment_id,
            file.payer.id,
            payee.id if payee else None,
            row if _stored_as_sent(row, values) else _payment(values).request,
            creditor,
            status,
            reason,
            _created_at(file, i),
            resolved_at,
        )

    def _hears(self, file: _File, i: int) -> bool:
        """Whether row i's payer or payee hears of an outcome decided in the file (see
        Payments.hears; the payer has those in the pain.002 answer)."""
        payee = file.plans[i][1]
        for participant_id in (file.payer.id, payee.id if payee else None):
            if participant_id is None:
                continue
            if participant_id not in file.hearing:
                file.hearing[participant_id] = self.payments.hears(
                    participant_id, answered=participant_id == file.payer.id
                )
            if file.hearing[participant_id]:
                return True
        return False

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


def _created_at(file: _File, i: int) -> int:
    created_at = file.values[i]["created_at"]
    assert isinstance(created_at, int)
    return created_at


def _routed(payee: Participant | None) -> Participant:
    assert payee is not None  # only routed rows are reserved
    return payee


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[offset : offset + size] for offset in range(0, len(items), size)]
