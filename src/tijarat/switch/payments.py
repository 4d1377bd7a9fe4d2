"""Credit transfers through the hub: validate, reserve, deliver, settle or reject; returns.

The payer participant's settlement funds are reserved as a pending ledger transfer whose
timeout is the payee's time to answer (Raast's 20-second crediting rule), so a payee that
never answers cannot hold funds: the ledger's own expiry voids the reservation, and the sweep
reports the payment rejected with AB05. Accept posts the reservation (ACSC); reject voids it
(RJCT with the payee's reason). Every refusal is an ISO 20022 reason code on a stored payment,
so a status request (pacs.028) can always answer.

Transactions per payment (a payee with an HTTP endpoint that accepts): the payment row with
the credit advice it is about to send; the reservation; the post; the status with the
payee's answer and the status reports about to be pushed. Participants and caps come from
caches; what a cache could get wrong (a participant suspended or a cap changed by another
process) is re-checked by the row's insert itself, in the same statement.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, NamedTuple, Protocol, TypeVar

import sqlalchemy as sa
import structlog

from tijarat.kernel.clock import NS_PER_S, from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.ledger.model import (
    BATCH_MAX,
    CreateTransferResult,
    PendingStatus,
    Statement,
    StatementEntry,
    Transfer,
    TransferFlags,
)
from tijarat.switch import qr, store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    MAX35,
    NAME_LENGTH_MAX,
    PAYEE_TIMEOUT_S_DEFAULT,
    TRANSFER_CODE_CREDIT_TRANSFER,
    TRANSFER_CODE_FUND_IN,
    TRANSFER_CODE_FUND_OUT,
    TRANSFER_CODE_ON_US,
    TRANSFER_CODE_RETURN,
    ArchivedMessage,
    CreditTransfer,
    Participant,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
    SettlementReport,
    same_settlement_account,
)
from tijarat.switch.service import HUB_NAMESPACE, SwitchService, suspended_message

R = CreateTransferResult
log = structlog.get_logger("tijarat.switch")
# A payment planned on cached participants is planned again on fresh ones when its insert
# finds that a cached fact changed; this bounds how often (a change racing every attempt).
PLAN_ATTEMPTS_MAX = 3
INCOMING_PAGE_MAX = 500  # payments listed at a time (incoming)
STATEMENT_PAGE = 10_000  # ledger statement entries read at a time (settlement_report)
SIDES_CHUNK = 1_000  # UETRs looked up at a time (a sponsored participant's report)
# Threads that ask in-process payees of a group at once (see Payments.submit_many); HTTP
# payees are asked at once from the group's own thread (HttpTransport.exchange_many).
DELIVERY_THREADS = 32
T = TypeVar("T")
U = TypeVar("U")

# How a credit advice reaches a payee participant. The in-process transport calls the
# participant's handler; None means no answer (yet): the timeout decides.
PayeeHandler = Callable[[Payment], PayeeDecision | None]
# How a status report (pacs.002, or a return's pacs.004) reaches a participant in process:
# called with the payment after it settled, was rejected or was returned, for payer and payee.
StatusListener = Callable[[Payment], None]
# A payee's answer to a credit advice: its decision (None: none yet) and the message, if any.
Delivered = tuple[PayeeDecision | None, ArchivedMessage | None]


class Exchanged(NamedTuple):
    """A credit advice POSTed: the payee's decision and message (None: no usable answer),
    and whether any HTTP answer came back at all (an endpoint may acknowledge with a 202 and
    decide later through the API; no answer at all is a timeout or a connection failure)."""

    decision: PayeeDecision | None
    received: ArchivedMessage | None
    reached: bool


class RemoteTransport(Protocol):
    """Delivery to a participant's own HTTP endpoint (the hub pushes, as Raast does).

    `report` archives what it sends itself; the others leave the archiving to the payment
    path (see Payments._finish). The `_many` forms send at once and wait for the answers
    before one deadline for the whole call.
    """

    def report(self, participant: Participant, payment: Payment) -> None: ...

    def advice(self, payee: Participant, payment: Payment) -> ArchivedMessage: ...

    def exchange(
        self, payee: Participant, payment: Payment, advice: ArchivedMessage
    ) -> tuple[PayeeDecision | None, ArchivedMessage | None]: ...

    def exchange_many(
        self, advices: Sequence[tuple[Participant, Payment, ArchivedMessage]]
    ) -> list[Exchanged]: ...

    def status_message(self, participant: Participant, payment: Payment) -> ArchivedMessage: ...

    def return_message(
        self,
        payer: Participant,
        payee: Participant,
        payment: Payment,
        returned: tuple[uuid.UUID, int, ReasonCode],
    ) -> ArchivedMessage:
        """The pacs.004 forwarding a return (id, amount, reason) to the original payer."""
        ...

    def push(self, participant: Participant, message: ArchivedMessage) -> None: ...

    def push_many(self, messages: Sequence[tuple[Participant, ArchivedMessage]]) -> None: ...

    def release(self) -> None:
        """Close the connections kept for the calling thread (it is about to end)."""


class PaymentPolicy(Protocol):
    """Participant limits and sandbox caps, consulted before funds are reserved.

    The switch owns this interface; the sandbox context implements it (the switch never
    imports the sandbox). Answer a reason code to refuse (AM02 for a limit, RR04 for a
    regulatory cap) or None to let the payment through.
    """

    def check(
        self, payer: Participant, payee: Participant, request: CreditTransfer
    ) -> ReasonCode | None: ...


class AllowAll:
    """The policy when no limits or caps are configured."""

    def check(
        self,
        payer: Participant,  # noqa: ARG002 - the interface's signature
        payee: Participant,  # noqa: ARG002
        request: CreditTransfer,  # noqa: ARG002
    ) -> ReasonCode | None:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """A payment as routed, before it is stored (see Payments._plan)."""

    payer: Participant
    payee: Participant | None
    reason: ReasonCode | None  # the refusal, stored with the row; None: it goes ahead
    guard: store.PaymentGuard
    values: dict[str, Any]  # the payments row
    payment: Payment  # the row as a Payment (pending, or rejected with `reason`)
    handler: PayeeHandler | None  # in-process delivery
    advice: ArchivedMessage | None  # HTTP delivery: the credit advice, archived with the row


class Payments:
    def __init__(
        self,
        directory: SwitchService,
        *,
        policy: PaymentPolicy | None = None,
        payee_timeout_s: int = PAYEE_TIMEOUT_S_DEFAULT,
        group_commit: bool = True,
    ) -> None:
        self.directory = directory
        self.engine = directory.engine
        self.ledger = directory.ledger
        self.clock = directory.clock
        self.policy: PaymentPolicy = policy or AllowAll()
        self.payee_timeout_s = payee_timeout_s
        self.handlers: dict[str, PayeeHandler] = {}
        self.listeners: dict[str, list[StatusListener]] = {}
        # The HTTP transport (switch/transport.py), for participants with an endpoint.
        self.remote: RemoteTransport | None = None
        self._codes: dict[uuid.UUID, str] = {}  # participant id -> code, for notifications
        # Reservations, posts and voids of concurrent payments share ledger commits (the
        # ledger's group commit); False applies each in a transaction of its own.
        self.group_commit = group_commit
        self._pool: ThreadPoolExecutor | None = None  # delivery threads, started when needed

    def connect(self, code: str, handler: PayeeHandler) -> None:
        """In-process transport: credit advices for `code` go to `handler`."""
        self.handlers[code.upper()] = handler

    def listen(self, code: str, listener: StatusListener) -> None:
        """In-process transport: status reports for payments of `code` go to `listener`."""
        self.listeners.setdefault(code.upper(), []).append(listener)

    def notify(self, payment: Payment) -> None:
        """Tell the payer's and the payee's listeners what became of `payment`.

        A listener's failure is logged, never raised: the participant catches up through a
        status request (pacs.028) or its own reconciliation.
        """
        if not self.listeners and self.remote is None:
            return
        for participant_id in {payment.payer_id, payment.payee_id} - {None}:
            assert participant_id is not None
            code = self._codes.get(participant_id)
            if code is None:
                code = self._participant_by_id(participant_id).code
                self._codes[participant_id] = code
            listeners = self.listeners.get(code, ())
            for listener in listeners:
                try:
                    listener(payment)
                except Exception:  # a participant's failure is its own to reconcile
                    log.exception("status listener failed", participant=code)
            remote = self.remote
            if not listeners and remote and self.directory.endpoint(participant_id):
                remote.report(self._participant_by_id(participant_id), payment)

    def hears(self, participant_id: uuid.UUID, *, answered: bool = False) -> bool:
        """Whether this participant is told of outcomes: by a listener, at its endpoint, or
        (it polls) in its archive, unless it has them in an answer already (`answered`)."""
        participant = self.directory.participant_by_id_cached(participant_id)
        if self.listeners.get(participant.code):
            return True
        return self.remote is not None and (
            self.directory.endpoint(participant_id) is not None
            or (not answered and self.polls(participant))
        )

    def polls(self, participant: Participant) -> bool:
        """Whether the participant has no way to be reached (no in-process handler or
        listener, no endpoint): it reads its archive (GET /v1/switch/messages), which is
        then its inbox, and answers through the API. Its credit advices and status reports
        are archived, not sent."""
        return (
            participant.code not in self.handlers
            and not self.listeners.get(participant.code)
            and self.directory.endpoint(participant.id) is None
        )

    # ------------------------------------------------------------------ submit
    def submit(self, payer_code: str, request: CreditTransfer) -> Payment:
        """One credit transfer from a payer participant; answers once it is decided or pending.

        The same request sent again (same UETR or end-to-end id, same content) answers the
        stored payment and moves nothing; the same ids with other content are rejected DUPL.
        """
        for attempt in range(PLAN_ATTEMPTS_MAX):
            payment = self._submit(payer_code, request, fresh=attempt > 0)
            if payment is not None:
                return payment
        raise DomainError(
            SwitchError.BUSY,
            "the participants of this payment kept changing while it was routed; try again",
            status=503,
        )

    def _submit(self, payer_code: str, request: CreditTransfer, *, fresh: bool) -> Payment | None:
        """Plan, store and carry out one payment; None when a cached fact proved stale."""
        plan = self._plan(payer_code, request, fresh=fresh)
        advice = plan.advice
        try:
            stored = store.insert_payment(
                self.engine, plan.values, plan.guard, [advice] if advice else []
            )
        except store.DuplicatePaymentError:  # these ids were used before (or concurrently)
            again = self._find_duplicate(plan.payer, request)
            if again is not None and again.request == request and again.payer_id == plan.payer.id:
                return again
            return self._transient_rejection(plan.payer, request, ReasonCode.DUPL)
        if not stored:
            return None  # a participant or cap changed since cached: plan again, fresh
        if plan.reason is not None:
            return plan.payment
        (result,) = self._apply([self._reservation(plan)])
        refused = self._refusal(plan, result)
        if refused is not None:
            return refused
        if plan.handler is None and plan.advice is None:
            self.inbox([(_routed(plan.payee), plan.payment)])
            return plan.payment  # the payee answers through the API, or the timeout decides
        decision, received = self._deliver(plan)
        if decision is None:
            if received is not None:
                self.keep([received])
            return plan.payment
        return self._decide(
            _routed(plan.payee), plan.payment, decision, received, answered=plan.payer.id
        )

    def _plan(self, payer_code: str, request: CreditTransfer, *, fresh: bool) -> _Plan:
        """Everything decided about a payment before it is stored: route, row, credit advice.

        Raises DomainError when the payer may not pay at all (unknown, suspended).
        """
        payer = self.directory.participant_cached(payer_code, fresh=fresh)
        if not payer.active and not fresh:  # refuse on the database's word, not the cache's
            payer = self.directory.participant_cached(payer_code, fresh=True)
        if not payer.active:
            raise DomainError(
                SwitchError.PARTICIPANT_SUSPENDED,
                f"{suspended_message(payer)}: no new payments",
                status=403,
            )
        payee, creditor_iban, reason, guard = self._route(payer, request, fresh=fresh)
        payment_id = uuid.uuid4()
        now = self.clock.now_ns()
        values = self.row_values(payment_id, payer, payee, request, creditor_iban, reason, now)
        payment = _payment(SimpleNamespace(**values))
        handler: PayeeHandler | None = None
        advice: ArchivedMessage | None = None
        if reason is None:
            assert payee is not None
            handler = self.handlers.get(payee.code)
            remote = self.remote
            if handler is None and remote and self.directory.endpoint(payee.id) is not None:
                # Built now so that it is archived with the row, before it is sent.
                try:
                    advice = remote.advice(payee, payment)
                except Exception:  # not deliverable: a non-answer, as a failed delivery is
                    log.exception("credit advice not built", payee=payee.code)
        return _Plan(payer, payee, reason, guard, values, payment, handler, advice)

    def _reservation(self, plan: _Plan) -> Transfer:
        """The pending transfer that holds the payer's funds while the payee decides."""
        request = plan.payment.request
        return Transfer(
            plan.payment.id,
            plan.payer.settlement_account_id,
            self.directory.reservation_account(plan.payer, _routed(plan.payee)),
            request.amount_minor,
            user_data_128=request.uetr,
            timeout=self.payee_timeout_s,
            ledger=self.directory.hub_ledger,
            code=TRANSFER_CODE_CREDIT_TRANSFER,
            flags=TransferFlags.PENDING,
        )

    def _refusal(
        self,
        plan: _Plan,
        result: CreateTransferResult,
        pushes: list[tuple[Participant, ArchivedMessage]] | None = None,
    ) -> Payment | None:
        """The payment rejected when its reservation failed (no funds: AM04); else None.
        With `pushes`, its status reports go there instead of out at once."""
        if result in (R.OK, R.EXISTS):
            return None
        refusal = ReasonCode.AM04 if result is R.EXCEEDS_CREDITS else ReasonCode.AC06
        return self._finish(
            plan.payment,
            PaymentStatus.REJECTED,
            refusal,
            unsent=plan.advice,
            pushes=pushes,
            answered=plan.payer.id,
        )

    def _deliver(self, plan: _Plan) -> tuple[PayeeDecision | None, ArchivedMessage | None]:
        """The credit advice to the payee (in process or over HTTP): its decision, if any,
        and the message it answered with. (None, None) without a transport: the payee
        answers through the API, or the timeout decides."""
        payee = _routed(plan.payee)
        if plan.handler is not None:
            return self._ask(plan.handler, payee, plan.payment), None
        if plan.advice is not None:
            assert self.remote is not None
            return self.remote.exchange(payee, plan.payment, plan.advice)
        return None, None

    # ------------------------------------------------------------------ submit, grouped
    def submit_many(self, items: Sequence[tuple[str, CreditTransfer]]) -> list[Payment | Exception]:
        """Concurrent payments (payer code, request) carried out together: for each, what
        `submit` answers, or the exception it raises. The rules are submit's; only the
        round trips are shared: the rows and their credit advices go in with one statement,
        the reservations are one ledger batch, the advices go out at once (HTTP payees
        concurrently), the posts and voids are one ledger batch and the decisions one
        statement. A payment the grouped path cannot finish as submit would (its ids taken,
        a cached fact stale, its reservation refused) goes through submit on its own.
        """
        answers, push = self.carry_out(items)
        push()
        return answers

    def carry_out(
        self, items: Sequence[tuple[str, CreditTransfer]]
    ) -> tuple[list[Payment | Exception], Callable[[], None]]:
        """submit_many, but for pushing the status reports to HTTP endpoints: that is the
        function returned, for the caller to call once the submitters have their answers
        (the reports are stored with the decisions already; pushing them is best effort)."""
        pushes: list[tuple[Participant, ArchivedMessage]] = []
        answers: list[Payment | Exception | None] = [None] * len(items)
        plans: list[tuple[int, _Plan]] = []
        for index, (payer_code, request) in enumerate(items):
            try:
                plans.append((index, self._plan(payer_code, request, fresh=False)))
            except DomainError as error:
                answers[index] = error
        stored = store.insert_payments(
            self.engine,
            [(p.values, p.guard, [p.advice] if p.advice else []) for _, p in plans],
        )
        going: list[tuple[int, _Plan]] = []
        for index, plan in plans:
            if plan.payment.id not in stored:
                continue  # a duplicate, or planned on a stale cache: one at a time, below
            if plan.reason is None:
                going.append((index, plan))
            else:
                answers[index] = plan.payment
        results = self._apply([self._reservation(plan) for _, plan in going]) if going else []
        asked: list[tuple[int, _Plan]] = []
        polled: list[_Plan] = []
        for (index, plan), result in zip(going, results, strict=True):
            refused = self._refusal(plan, result, pushes)
            if refused is not None:
                answers[index] = refused
            elif plan.handler is None and plan.advice is None:
                answers[index] = plan.payment  # no transport: the payee answers via the API
                polled.append(plan)
            else:
                asked.append((index, plan))
        self.inbox([(_routed(plan.payee), plan.payment) for plan in polled])
        decided: list[tuple[int, _Plan, PayeeDecision, ArchivedMessage | None]] = []
        for (index, plan), (decision, received) in zip(
            asked, self._deliver_many([plan for _, plan in asked]), strict=True
        ):
            if decision is None:
                if received is not None:
                    self.keep([received])
                answers[index] = plan.payment
            else:
                decided.append((index, plan, decision, received))
        settled = self._decide_many(
            [(plan, decision, received) for _, plan, decision, received in decided], pushes
        )
        for (index, *_), payment in zip(decided, settled, strict=True):
            answers[index] = payment
        for index, answer in enumerate(answers):
            if answer is None:
                try:
                    answers[index] = self.submit(*items[index])
                except Exception as error:  # this payment's own failure, not the group's
                    answers[index] = error
        done = [answer for answer in answers if answer is not None]
        assert len(done) == len(items)  # every payment was answered, one way or another
        remote = self.remote
        if remote is None or not pushes:
            return done, lambda: None
        return done, lambda: remote.push_many(pushes)

    def _decide_many(
        self,
        decided: Sequence[tuple[_Plan, PayeeDecision, ArchivedMessage | None]],
        pushes: list[tuple[Participant, ArchivedMessage]],
    ) -> list[Payment]:
        """_decide for many payments: one ledger batch, one statement; the status reports
        to push go to `pushes`."""
        if not decided:
            return []
        transfers: list[Transfer] = []
        firsts: list[int] = []  # each payment's first transfer (an on-us post brings two)
        for plan, decision, _ in decided:
            firsts.append(len(transfers))
            transfers += self._settlement(_routed(plan.payee), plan.payment, decision)
        results = self._apply(transfers)
        outcomes: list[
            tuple[Payment, PaymentStatus, ReasonCode | None, ArchivedMessage | None]
        ] = []
        elsewhere: set[int] = set()  # decided by another path first: answered as stored
        for index, ((plan, decision, received), first) in enumerate(
            zip(decided, firsts, strict=True)
        ):
            outcome = self.outcome(plan.payment, decision, results[first])
            if outcome is None:
                elsewhere.add(index)
                if received is not None:
                    self.keep([received])
            else:
                outcomes.append((plan.payment, *outcome, received))
        finished = iter(self._finish_many(outcomes, pushes))
        return [
            self.payment(plan.payment.id) if index in elsewhere else next(finished)
            for index, (plan, _, _) in enumerate(decided)
        ]

    def _finish_many(
        self,
        outcomes: Sequence[
            tuple[Payment, PaymentStatus, ReasonCode | None, ArchivedMessage | None]
        ],
        pushes: list[tuple[Participant, ArchivedMessage]],
    ) -> list[Payment]:
        """_finish for many payments: one statement; the status reports to push go to
        `pushes` (in-process listeners are told at once)."""
        now = self.clock.now_ns()
        entries: list[store.Decision] = []
        told: list[tuple[Payment, dict[uuid.UUID, ArchivedMessage]]] = []
        for payment, status, reason, received in outcomes:
            decided = dataclasses.replace(payment, status=status, reason=reason, resolved_at=now)
            reports = self._reports(decided, answered=payment.payer_id)
            entries.append(
                store.Decision(
                    payment.id,
                    status.value,
                    reason.value if reason else None,
                    [received] if received is not None else [],
                    [message for _, message in reports],
                )
            )
            told.append((decided, dict(reports)))
        changed = store.finish_payments(self.engine, entries, now)
        answers: list[Payment] = []
        for decided, built in told:
            if decided.id not in changed:
                answers.append(self.payment(decided.id))  # decided already, by another path
                continue
            answers.append(decided)
            pushes += self._tell(decided, built, push=False)
        return answers

    def _deliver_many(self, plans: Sequence[_Plan]) -> list[Delivered]:
        """_deliver for a group: the HTTP advices all at once from this thread (the
        transport multiplexes them), meanwhile the in-process payees on the delivery threads."""
        over_http: list[tuple[int, tuple[Participant, Payment, ArchivedMessage]]] = [
            (i, (_routed(p.payee), p.payment, p.advice))
            for i, p in enumerate(plans)
            if p.handler is None and p.advice is not None
        ]
        remote = self.remote
        if remote is None or not over_http:
            return self._concurrently(self._deliver, plans)
        answers: list[Delivered] = [(None, None)] * len(plans)
        in_process = [i for i, plan in enumerate(plans) if plan.handler is not None]
        asked = [self._delivery_pool().submit(self._deliver, plans[i]) for i in in_process]
        told = remote.exchange_many([advice for _, advice in over_http])
        for (index, _), answer in zip(over_http, told, strict=True):
            answers[index] = (answer.decision, answer.received)
        for index, future in zip(in_process, asked, strict=True):
            answers[index] = future.result()
        return answers

    def _concurrently(self, call: Callable[[T], U], items: Sequence[T]) -> list[U]:
        """call(item) for every item, on the delivery threads when there is more than one:
        a slow payee delays its own payments, not the others of the group."""
        if len(items) <= 1:
            return [call(item) for item in items]
        return list(self._delivery_pool().map(call, items))

    def _delivery_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="switch-deliver")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def way_to(self, payee: Participant) -> PayeeHandler | RemoteTransport | None:
        """How a credit advice reaches `payee`: its in-process handler, the HTTP transport
        (it has an endpoint), or None (it polls and answers through the API)."""
        handler = self.handlers.get(payee.code)
        if handler is not None:
            return handler
        remote = self.remote
        if remote is not None and self.directory.endpoint(payee.id) is not None:
            return remote
        return None

    @staticmethod
    def _ask(handler: PayeeHandler, payee: Participant, payment: Payment) -> PayeeDecision | None:
        try:
            return handler(payment)
        except Exception:  # a payee's failure is a non-answer, never the payer's problem
            log.exception("payee handler failed", payee=payee.code, payment=str(payment.id))
            return None

    def pay_qr(
        self,
        payer_code: str,
        payload: str,
        *,
        ids: tuple[str, str, str, uuid.UUID],
        debtor_name: str,
        debtor_iban: str,
        amount_minor: int | None = None,
    ) -> Payment:
        """Pay a merchant's QR code: the code names the payee (and, if dynamic, the amount).

        `ids` are the payer's (MsgId, EndToEndId, TxId, UETR). A static code needs the amount
        the customer typed; a dynamic code's amount cannot be overridden. An expired or
        damaged code is refused before anything is stored (its DomainError says why).
        """
        code = qr.parse(payload, now=from_ns(self.clock.now_ns()))
        if code.amount is not None:
            if amount_minor not in (None, code.amount.amount_minor):
                raise DomainError(
                    qr.QrError.qr_amount_not_allowed,
                    "a dynamic QR code fixes the amount",
                    status=422,
                    fields={"qr_amount_minor": code.amount.amount_minor},
                )
            amount_minor = code.amount.amount_minor
        if amount_minor is None:
            raise DomainError(
                qr.QrError.qr_amount_required,
                "a static QR code needs the amount to pay",
                status=422,
            )
        kind, value = code.payee
        msg_id, end_to_end_id, tx_id, uetr = ids
        reference = code.reference_label or code.bill_number
        return self.submit(
            payer_code,
            CreditTransfer(
                msg_id=msg_id,
                end_to_end_id=end_to_end_id,
                tx_id=tx_id,
                uetr=uetr,
                amount_minor=amount_minor,
                currency=code.currency,
                debtor_name=debtor_name,
                debtor_iban=debtor_iban,
                creditor_alias=value if kind == "alias" else None,
                creditor_iban=value if kind == "iban" else None,
                creditor_name=code.merchant_name,
                remittance_information=reference,
                purpose=code.purpose,
            ),
        )

    # ------------------------------------------------------------------ payee answers
    def answer(self, payee_code: str, payment_id: uuid.UUID, decision: PayeeDecision) -> Payment:
        """The payee accepts (funds post: ACSC) or rejects (funds return: RJCT)."""
        payee = self.directory.participant_cached(payee_code)
        payment = self.payment(payment_id)
        if payment.payee_id != payee.id:
            raise DomainError(
                SwitchError.PAYMENT_NOT_FOUND,
                f"no payment {payment_id} for {payee.code}",
                status=404,
            )
        if payment.status is not PaymentStatus.PENDING:
            return payment  # answered already (or timed out): the first decision stands
        return self._decide(payee, payment, decision, None, answered=payee.id)

    def _decide(
        self,
        payee: Participant,
        payment: Payment,
        decision: PayeeDecision,
        received: ArchivedMessage | None,
        *,
        answered: uuid.UUID,
    ) -> Payment:
        """Post or void the reservation as the payee decided, then record the outcome
        (`answered`: the participant whose request this answers; see _reports)."""
        results = self._apply(self._settlement(payee, payment, decision))
        outcome = self.outcome(payment, decision, results[0])
        if outcome is None:  # another path posted or voided it first: its decision stands
            if received is not None:
                self.keep([received])
            return self.payment(payment.id)
        return self._finish(payment, *outcome, received=received, answered=answered)

    def _settlement(
        self, payee: Participant, payment: Payment, decision: PayeeDecision
    ) -> list[Transfer]:
        """The post (accepted) or void (rejected) of a payment's reservation."""
        flag = (
            TransferFlags.POST_PENDING_TRANSFER
            if decision.accept
            else TransferFlags.VOID_PENDING_TRANSFER
        )
        kind = "post" if decision.accept else "void"
        post = Transfer(
            uuid.uuid5(HUB_NAMESPACE, f"{kind}:{payment.id}"),
            pending_id=payment.id,
            user_data_128=payment.request.uetr,
            flags=flag,
        )
        payer = self._participant_by_id(payment.payer_id)
        if decision.accept and same_settlement_account(payer, payee):
            return self.on_us_settlement(payee, post, payment)
        return [post]

    @staticmethod
    def outcome(
        payment: Payment, decision: PayeeDecision, result: CreateTransferResult
    ) -> tuple[PaymentStatus, ReasonCode | None] | None:
        """What a payee's decision made of a payment, given its post's or void's result;
        None when another path (two answers at once, the timeout) posted or voided the
        reservation first: that path records its decision, which stands."""
        if result in (R.OK, R.EXISTS):
            if decision.accept:
                return PaymentStatus.SETTLED, None
            return PaymentStatus.REJECTED, decision.reason or ReasonCode.BE01
        if result is R.PENDING_TRANSFER_EXPIRED:
            return PaymentStatus.REJECTED, ReasonCode.AB05
        if result in (R.PENDING_TRANSFER_ALREADY_POSTED, R.PENDING_TRANSFER_ALREADY_VOIDED):
            return None
        raise AssertionError(f"unexpected ledger result {result} settling {payment.id}")

    def on_us_settlement(
        self, participant: Participant, post: Transfer, payment: Payment
    ) -> list[Transfer]:
        """An on-us payment settles as the post of its reservation (into the on-us account)
        linked with the hand-back to the payee's settlement account, which is the payer's:
        the position does not move."""
        post.flags |= TransferFlags.LINKED
        return [
            post,
            Transfer(
                uuid.uuid5(HUB_NAMESPACE, f"on-us:{payment.id}"),
                self.directory.on_us_account_id,
                participant.settlement_account_id,
                payment.request.amount_minor,
                user_data_128=payment.request.uetr,
                ledger=self.directory.hub_ledger,
                code=TRANSFER_CODE_ON_US,
            ),
        ]

    def sweep_timeouts(self) -> int:
        """Reject (AB05) every pending payment whose payee did not answer in time.

        Also finishes payments a crash left between their row and their reservation (AB06):
        what the API acknowledged is never left undecided.
        """
        self.ledger.expire_due()
        deadline = self.clock.now_ns() - self.payee_timeout_s * NS_PER_S
        with self.engine.connect() as connection:
            ids = [
                row.id
                for row in connection.execute(
                    sa.select(store.payments_table.c.id).where(
                        (store.payments_table.c.status == PaymentStatus.PENDING.value)
                        & (store.payments_table.c.created_at <= deadline)
                    )
                )
            ]
        states: dict[uuid.UUID, Any] = {}
        for offset in range(0, len(ids), BATCH_MAX):
            chunk = ids[offset : offset + BATCH_MAX]
            states.update((p.id, p) for p in self.ledger.lookup_pending(chunk))
        swept = 0
        for payment_id in ids:
            state = states.get(payment_id)
            if state is None:
                self._resolve(payment_id, PaymentStatus.REJECTED, ReasonCode.AB06)
            elif state.status is PendingStatus.EXPIRED:
                self._resolve(payment_id, PaymentStatus.REJECTED, ReasonCode.AB05)
            elif state.status is PendingStatus.POSTED:
                # A crash came between the post and the status: the money moved, so it settled.
                self._resolve(payment_id, PaymentStatus.SETTLED, None)
            elif state.status is PendingStatus.VOIDED:
                # The same after a void: the payee refused (its reason was not recorded).
                self._resolve(payment_id, PaymentStatus.REJECTED, ReasonCode.BE01)
            else:
                continue
            swept += 1
        return swept

    # ------------------------------------------------------------------ returns (pacs.004)
    def return_payment(
        self,
        payee_code: str,
        payment_id: uuid.UUID,
        amount_minor: int,
        reason: ReasonCode,
        return_id: uuid.UUID,
    ) -> Payment:
        """Send back all or part of a settled payment (pacs.004), e.g. a customer refund."""
        payee = self.directory.participant_cached(payee_code)
        payment = self.payment(payment_id)
        if payment.payee_id != payee.id:
            raise DomainError(
                SwitchError.PAYMENT_NOT_FOUND,
                f"no payment {payment_id} for {payee.code}",
                status=404,
            )
        with self.engine.connect() as connection:
            done = connection.execute(
                sa.select(store.returns_table).where(store.returns_table.c.id == return_id)
            ).first()
        if done is not None:
            if done.payment_id == payment_id and done.amount_minor == amount_minor:
                return payment  # a retry: already returned
            raise DomainError(
                SwitchError.RETURN_INVALID, "this return id was used for another return", status=409
            )
        if payment.status is not PaymentStatus.SETTLED:
            raise DomainError(
                SwitchError.RETURN_INVALID, "only a settled payment can be returned", status=409
            )
        if reason not in (ReasonCode.CUST, ReasonCode.MD06, ReasonCode.FOCR, ReasonCode.AC04):
            raise DomainError(
                SwitchError.RETURN_INVALID, f"{reason} is not a return reason", status=422
            )
        remaining = payment.request.amount_minor - payment.returned_minor
        if not 0 < amount_minor <= remaining:
            raise DomainError(
                SwitchError.RETURN_INVALID,
                f"a return is 1 to {remaining} (what has not been returned yet)",
                status=422,
                fields={"remaining_minor": remaining},
            )
        payer = self._participant_by_id(payment.payer_id)
        # The original payer's institution is told with a pacs.004 (what came back, and
        # why), archived with the return: pushed to its endpoint, or its inbox if it polls.
        # Built before any money moves, so that a message that cannot be built moves none.
        forward = self._return_message(payer, payee, payment, (return_id, amount_minor, reason))
        # An on-us return (one settlement account) moves nothing in the hub's ledger: the
        # institutions settle it in their own books; the hub records the return.
        (result,) = (
            [R.OK]
            if same_settlement_account(payer, payee)
            else self.ledger.create_transfers(
                [
                    Transfer(
                        return_id,
                        payee.settlement_account_id,
                        payer.settlement_account_id,
                        amount_minor,
                        user_data_128=payment.request.uetr,
                        ledger=self.directory.hub_ledger,
                        code=TRANSFER_CODE_RETURN,
                    )
                ]
            )
        )
        if result is R.EXCEEDS_CREDITS:
            raise DomainError(
                SwitchError.INSUFFICIENT_LIQUIDITY,
                "the payee's settlement position does not cover the return",
                status=409,
            )
        if result not in (R.OK, R.EXISTS):
            raise AssertionError(f"unexpected ledger result {result} for return {return_id}")
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            if forward is not None:
                store.insert_messages(connection, [forward], now)
            connection.execute(
                store.returns_table.insert().values(
                    id=return_id,
                    payment_id=payment_id,
                    amount_minor=amount_minor,
                    reason=reason.value,
                    created_at=now,
                )
            )
            connection.execute(
                store.payments_table.update()
                .where(store.payments_table.c.id == payment_id)
                .values(returned_minor=store.payments_table.c.returned_minor + amount_minor)
            )
        returned = self.payment(payment_id)
        for listener in self.listeners.get(payer.code, ()):  # in process, as notify() does
            try:
                listener(returned)
            except Exception:  # a participant's failure is its own to reconcile
                log.exception("status listener failed", participant=payer.code)
        if forward is not None and self.remote is not None and self.directory.endpoint(payer.id):
            self.remote.push(payer, forward)
        return returned

    def _return_message(
        self,
        payer: Participant,
        payee: Participant,
        payment: Payment,
        returned: tuple[uuid.UUID, int, ReasonCode],
    ) -> ArchivedMessage | None:
        """The pacs.004 for the payer, unless it hears in process (or nothing can build it)."""
        remote = self.remote
        if remote is None or self.listeners.get(payer.code) or payer.id == payee.id:
            return None
        if self.directory.endpoint(payer.id) is None and not self.polls(payer):
            return None  # reached in process: it has no archive to read
        return remote.return_message(payer, payee, payment, returned)

    # ------------------------------------------------------------------ queries
    def payment(self, payment_id: uuid.UUID) -> Payment:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.payments_table).where(store.payments_table.c.id == payment_id)
            ).first()
        if row is None:
            raise DomainError(SwitchError.PAYMENT_NOT_FOUND, f"no payment {payment_id}", status=404)
        return _payment(row)

    def by_uetr(self, uetr: uuid.UUID) -> Payment:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.payments_table).where(store.payments_table.c.uetr == uetr)
            ).first()
        if row is None:
            raise DomainError(SwitchError.PAYMENT_NOT_FOUND, f"no payment {uetr}", status=404)
        return _payment(row)

    def status(self, participant_code: str, end_to_end_id: str) -> Payment:
        """A payer's payment by its end-to-end id (what a pacs.028 status request names)."""
        participant = self.directory.participant(participant_code)
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.payments_table).where(
                    (store.payments_table.c.payer_id == participant.id)
                    & (store.payments_table.c.end_to_end_id == end_to_end_id)
                )
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.PAYMENT_NOT_FOUND, f"no payment {end_to_end_id}", status=404
            )
        return _payment(row)

    def incoming(
        self,
        payee_code: str,
        *,
        status: PaymentStatus | None = PaymentStatus.PENDING,
        since_ns: int = 0,
        after_id: uuid.UUID | None = None,
        limit: int = INCOMING_PAGE_MAX,
    ) -> list[Payment]:
        """Payments to a payee created at `since_ns` or later, oldest first (`status` None:
        any): what a payee that polls answers (the pending ones), or reconciles. A page ends
        at `limit`; the next is asked with its last payment's `created_at` and id
        (store.created_since)."""
        payee = self.directory.participant(payee_code)
        table = store.payments_table
        query = (
            sa.select(table)
            .where((table.c.payee_id == payee.id) & store.created_since(table, since_ns, after_id))
            .order_by(table.c.created_at, table.c.id)
            .limit(max(1, min(limit, INCOMING_PAGE_MAX)))
        )
        if status is not None:
            query = query.where(table.c.status == status.value)
        with self.engine.connect() as connection:
            return [_payment(row) for row in connection.execute(query)]

    def settlement_report(
        self, code: str, from_timestamp: int, to_timestamp: int
    ) -> SettlementReport:
        """Counts and values for [from, to), reconciled with the settlement account's history.

        Built from the ledger statement of the participant's settlement account, so the
        figures are what actually moved: every entry is classified by its transfer code, and
        opening + movements = closing holds by construction (a test checks it anyway).

        A sponsor's report covers its whole account, with the payments of those it
        sponsors. A sponsored participant's counts only its own payments and returns (the
        entries of the shared account whose UETR is one of its payments, on its side);
        its opening and closing are the shared account's, the position it settles within,
        so for it opening + movements = closing does not hold, and funds in/out are none.
        """
        participant = self.directory.participant(code)
        booked = self.booked_entries(participant, from_timestamp, to_timestamp)
        sent = received = funded = returned_out = returned_in = 0
        sent_count = received_count = 0
        for entry in booked.entries:
            transfer = entry.transfer
            amount = transfer.amount or 0
            outgoing = entry.direction == "debit"
            if transfer.code == TRANSFER_CODE_CREDIT_TRANSFER:
                if outgoing:
                    sent, sent_count = sent + amount, sent_count + 1
                else:
                    received, received_count = received + amount, received_count + 1
            elif transfer.code == TRANSFER_CODE_ON_US:  # an on-us payment's hand-back
                received, received_count = received + amount, received_count + 1
            elif transfer.code == TRANSFER_CODE_RETURN:
                if outgoing:
                    returned_out += amount
                else:
                    returned_in += amount
            elif transfer.code in (TRANSFER_CODE_FUND_IN, TRANSFER_CODE_FUND_OUT):
                funded += -amount if outgoing else amount
        return SettlementReport(
            participant_code=participant.code,
            from_timestamp=from_timestamp,
            to_timestamp=to_timestamp,
            opening_minor=booked.opening_minor,
            closing_minor=booked.closing_minor,
            sent_count=sent_count,
            sent_minor=sent,
            received_count=received_count,
            received_minor=received,
            returned_out_minor=returned_out,
            returned_in_minor=returned_in,
            funded_minor=funded,
        )

    def booked_entries(
        self, participant: Participant, from_timestamp: int, to_timestamp: int
    ) -> Booked:
        """What was booked in [from, to) on the participant's settlement account (what its
        settlement report and camt.053 statement show), read page after page: posts, on-us
        hand-backs, returns, funds in and out; not reservations or their voids, which move no
        posted money. A sponsored participant gets only its own share of the shared account
        (see _sides); its opening and closing are the account's."""
        pages = list(
            self._statement_pages(participant.settlement_account_id, from_timestamp, to_timestamp)
        )
        two_phase = TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER
        entries = [e for page in pages for e in page.entries if not e.transfer.flags & two_phase]
        if participant.sponsor_id is not None:
            sides = self._sides(participant, entries)
            entries = [
                e for e in entries if _its_share(sides, e.transfer, outgoing=e.direction == "debit")
            ]
        return Booked(
            pages[0].opening.net_credit_posted, pages[-1].closing.net_credit_posted, entries
        )

    def _sides(
        self, participant: Participant, entries: Sequence[StatementEntry]
    ) -> dict[uuid.UUID, tuple[bool, bool]]:
        """(payer?, payee?) of `participant` by UETR, for its payments among `entries`."""
        uetrs = sorted(
            {e.transfer.user_data_128 for e in entries if e.transfer.user_data_128 is not None},
            key=str,
        )
        table = store.payments_table
        ours = (table.c.payer_id == participant.id) | (table.c.payee_id == participant.id)
        sides: dict[uuid.UUID, tuple[bool, bool]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(uetrs), SIDES_CHUNK):
                query = sa.select(table.c.uetr, table.c.payer_id, table.c.payee_id).where(
                    table.c.uetr.in_(uetrs[start : start + SIDES_CHUNK]) & ours
                )
                for row in connection.execute(query):
                    sides[row.uetr] = (
                        row.payer_id == participant.id,
                        row.payee_id == participant.id,
                    )
        return sides

    def _statement_pages(
        self, account_id: uuid.UUID, from_timestamp: int, to_timestamp: int
    ) -> Iterator[Statement]:
        """The account's statement for [from, to) page by page, however many entries it has
        (a busy participant's day is millions): each page starts after the last one's last
        entry (timestamps are unique per account)."""
        while True:
            page = self.ledger.statement(account_id, from_timestamp, to_timestamp, STATEMENT_PAGE)
            yield page
            if not page.truncated:
                return
            from_timestamp = page.entries[-1].transfer.timestamp + 1

    # ------------------------------------------------------------------ helpers
    def _route(
        self, payer: Participant, request: CreditTransfer, *, fresh: bool
    ) -> tuple[Participant | None, str | None, ReasonCode | None, store.PaymentGuard]:
        """(payee, creditor IBAN, refusal, guard): the first failing rule gives the reason.

        Participants and the cap come from caches unless `fresh`; the guard says what the
        row's insert must find unchanged in the database for this plan to stand.
        """
        unguarded = store.PaymentGuard(payer.id)
        if not well_formed(request):
            return None, None, ReasonCode.FF01, unguarded
        if request.currency != "PKR" or not 0 < request.amount_minor < (1 << 63):
            return None, None, ReasonCode.AM02, unguarded
        try:
            debtor = Iban.parse(request.debtor_iban)
        except DomainError:
            return None, None, ReasonCode.FF01, unguarded
        if debtor.bank_code != payer.bank_code and payer.bank_code is not None:
            # the debtor is not this participant's customer
            return None, None, ReasonCode.BE01, unguarded
        try:
            if request.creditor_alias is not None:
                alias = self.directory.alias(MobileNumber.parse(request.creditor_alias).e164)
                payee = self.directory.participant_by_id_cached(alias.participant_id)
                creditor = alias.iban.compact
            else:
                assert request.creditor_iban is not None
                iban = Iban.parse(request.creditor_iban)
                payee = self.directory.participant_by_bank_code_cached(iban.bank_code)
                creditor = iban.compact
        except DomainError as error:
            malformed = error.code in ("invalid_iban", "invalid_mobile_number")
            return None, None, ReasonCode.FF01 if malformed else ReasonCode.AC03, unguarded
        if fresh or not payee.active:  # refuse on the database's word, not the cache's
            payee = self.directory.participant_by_id(payee.id)
        if not payee.active:
            return payee, creditor, ReasonCode.AG01, unguarded
        refusal = self.policy.check(payer, payee, request)
        if refusal is not None:
            return payee, creditor, refusal, unguarded
        cap = self.directory.net_debit_cap_cached(payer.id, fresh=fresh)
        guard = store.PaymentGuard(payer.id, payee.id, cap_checked=True, cap_minor=cap)
        if cap is not None:
            room = cap - self.directory.net_debit_position(payer.id)
            if request.amount_minor > room:
                return payee, creditor, ReasonCode.AM23, guard  # beyond the net debit cap
        return payee, creditor, None, guard

    def stored_with_ids(self, payer_code: str, request: CreditTransfer) -> Payment | None:
        """The stored payment holding this transfer's UETR, or its end-to-end id from this
        payer, if any (what a DUPL refusal collided with)."""
        return self._find_duplicate(self.directory.participant_cached(payer_code), request)

    def _find_duplicate(self, payer: Participant, request: CreditTransfer) -> Payment | None:
        table = store.payments_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(
                    (table.c.uetr == request.uetr)
                    | (
                        (table.c.payer_id == payer.id)
                        & (table.c.end_to_end_id == request.end_to_end_id)
                    )
                )
            ).first()
        return None if row is None else _payment(row)

    @staticmethod
    def row_values(
        payment_id: uuid.UUID,
        payer: Participant,
        payee: Participant | None,
        request: CreditTransfer,
        creditor_iban: str | None,
        reason: ReasonCode | None,
        now: int,
    ) -> dict[str, Any]:
        """A payments row: pending when routed, rejected with its reason when not."""
        status = PaymentStatus.PENDING if reason is None else PaymentStatus.REJECTED
        return {
            "id": payment_id,
            "payer_id": payer.id,
            "payee_id": payee.id if payee else None,
            "msg_id": request.msg_id[:MAX35],
            "end_to_end_id": request.end_to_end_id[:MAX35],
            "tx_id": request.tx_id[:MAX35],
            "uetr": request.uetr,
            "amount_minor": request.amount_minor,
            "currency": request.currency[:3],
            "debtor_name": request.debtor_name[:NAME_LENGTH_MAX],
            "debtor_iban": request.debtor_iban[:34],
            "creditor_alias": request.creditor_alias,
            "creditor_iban": request.creditor_iban,
            "creditor_name": request.creditor_name,
            "remittance_information": request.remittance_information,
            "purpose": request.purpose,
            "resolved_iban": creditor_iban,
            "status": status.value,
            "reason": reason.value if reason else None,
            "created_at": now,
            "resolved_at": now if reason else None,
            "returned_minor": 0,
        }

    @staticmethod
    def from_row(row: Any) -> Payment:
        return _payment(row)

    def _resolve(
        self, payment_id: uuid.UUID, status: PaymentStatus, reason: ReasonCode | None
    ) -> Payment:
        return self._finish(self.payment(payment_id), status, reason)

    def _finish(
        self,
        payment: Payment,
        status: PaymentStatus,
        reason: ReasonCode | None,
        *,
        received: ArchivedMessage | None = None,
        unsent: ArchivedMessage | None = None,
        pushes: list[tuple[Participant, ArchivedMessage]] | None = None,
        answered: uuid.UUID | None = None,
    ) -> Payment:
        """Decide a pending payment, once: the first decision stands.

        One transaction: the status, the payee's answer (`received`) and the status reports
        about to be pushed go to the archive with it; a credit advice that was archived but
        never sent (`unsent`: the reservation failed) leaves it. Then the participants are
        told: in-process listeners are called, endpoints get their reports (or, given
        `pushes`, the reports go there for the caller to push).
        """
        now = self.clock.now_ns()
        decided = dataclasses.replace(payment, status=status, reason=reason, resolved_at=now)
        reports = self._reports(decided, answered=answered)
        changed = store.finish_payment(
            self.engine,
            payment.id,
            {
                "status": status.value,
                "reason": reason.value if reason else None,
                "resolved_at": now,
            },
            kept=[received] if received is not None else [],
            kept_if_changed=[message for _, message in reports],
            dropped=unsent.id if unsent is not None else None,
        )
        if not changed:
            return self.payment(payment.id)  # decided already, by another path
        # Only the status, reason and time of a pending payment's row change when it is
        # decided: the row is what we hold, with those three.
        if pushes is None:
            self._tell(decided, dict(reports))
        else:
            pushes += self._tell(decided, dict(reports), push=False)
        return decided

    def _parties(self, payment: Payment) -> list[tuple[Participant, Sequence[StatusListener]]]:
        """The payer and the payee, each with its in-process listeners."""
        parties: list[tuple[Participant, Sequence[StatusListener]]] = []
        for participant_id in {payment.payer_id, payment.payee_id} - {None}:
            assert participant_id is not None
            participant = self.directory.participant_by_id_cached(participant_id)
            parties.append((participant, self.listeners.get(participant.code, ())))
        return parties

    def _reports(
        self, payment: Payment, *, answered: uuid.UUID | None = None
    ) -> list[tuple[uuid.UUID, ArchivedMessage]]:
        """Status reports for the parties without a listener: to push to those with an
        endpoint, and for the archive of those who poll, unless this decision answers their
        own request (`answered`: they have the outcome already, in that answer)."""
        remote = self.remote
        if remote is None:
            return []
        reports = []
        for participant, listeners in self._parties(payment):
            if listeners:
                continue
            if self.directory.endpoint(participant.id) is None and (
                participant.id == answered or not self.polls(participant)
            ):
                continue
            try:
                reports.append((participant.id, remote.status_message(participant, payment)))
            except Exception:  # best effort, as their delivery is: never in the decision's way
                log.exception("status report not built", participant=participant.code)
        return reports

    def _tell(
        self, payment: Payment, reports: dict[uuid.UUID, ArchivedMessage], *, push: bool = True
    ) -> list[tuple[Participant, ArchivedMessage]]:
        """notify(), with the HTTP reports built and archived already. With push=False the
        reports are not sent but answered, for the caller to send (see _finish_many)."""
        unsent: list[tuple[Participant, ArchivedMessage]] = []
        if not self.listeners and not reports:
            return unsent
        for participant, listeners in self._parties(payment):
            for listener in listeners:
                try:
                    listener(payment)
                except Exception:  # a participant's failure is its own to reconcile
                    log.exception("status listener failed", participant=participant.code)
            report = reports.get(participant.id)
            if (
                report is not None
                and self.remote is not None
                and self.directory.endpoint(participant.id) is not None  # else: archived only
            ):
                if push:
                    self.remote.push(participant, report)
                else:
                    unsent.append((participant, report))
        return unsent

    def reports_of(
        self, payments: Sequence[Payment], *, answered: bool
    ) -> list[tuple[Payment, dict[uuid.UUID, ArchivedMessage]]]:
        """Each payment with the status reports for its parties (see _reports; `answered`:
        the payer has the outcome in its answer), built, for the caller to archive (with the
        decisions, ideally) and then `announce`."""
        return [
            (payment, dict(self._reports(payment, answered=payment.payer_id if answered else None)))
            for payment in payments
        ]

    def inbox(self, payments: Sequence[tuple[Participant, Payment]]) -> None:
        """Archive the credit advices of reserved payments to payees that poll (see polls):
        their archive is their inbox. Archived once the funds are reserved, so a refusal
        never shows them a payment; not sent anywhere."""
        remote = self.remote
        if remote is None:
            return
        advices = []
        for payee, payment in payments:
            if not self.polls(payee):
                continue
            try:
                advices.append(remote.advice(payee, payment))
            except Exception:  # not deliverable: the timeout decides, as for a failed delivery
                log.exception("credit advice not built", payee=payee.code)
        self.keep(advices)

    def announce(
        self, told: Sequence[tuple[Payment, dict[uuid.UUID, ArchivedMessage]]]
    ) -> Callable[[], None]:
        """notify() for many payments whose reports (see reports_of) are archived: the
        in-process listeners are called now; the reports are pushed, all at once (see
        RemoteTransport.push_many), by the function returned, for the caller to call once
        it has answered its own client."""
        pushes: list[tuple[Participant, ArchivedMessage]] = []
        for payment, reports in told:
            pushes += self._tell(payment, reports, push=False)
        remote = self.remote
        if remote is None or not pushes:
            return lambda: None
        return lambda: remote.push_many(pushes)

    def keep(self, messages: Sequence[ArchivedMessage]) -> None:
        """Archive messages, in one transaction."""
        if messages:
            with self.engine.begin() as connection:
                store.insert_messages(connection, messages, self.clock.now_ns())

    def _apply(self, transfers: list[Transfer]) -> list[CreateTransferResult]:
        if self.group_commit:
            return self.ledger.submit_transfers(transfers)
        return self.ledger.create_transfers(transfers)

    def _transient_rejection(
        self, payer: Participant, request: CreditTransfer, reason: ReasonCode
    ) -> Payment:
        """A refusal that cannot be stored: its ids belong to another payment already."""
        now = self.clock.now_ns()
        return Payment(
            uuid.uuid4(), payer.id, None, request, None, PaymentStatus.REJECTED, reason, now, now
        )

    def _participant_by_id(self, participant_id: uuid.UUID) -> Participant:
        return self.directory.participant_by_id_cached(participant_id)


class Booked(NamedTuple):
    """A settlement account's booked entries over a period (see Payments.booked_entries)."""

    opening_minor: int
    closing_minor: int
    entries: list[StatementEntry]


def _its_share(
    sides: dict[uuid.UUID, tuple[bool, bool]], transfer: Transfer, *, outgoing: bool
) -> bool:
    """Whether a shared account's entry is a sponsored participant's (see _sides): a
    payment it sent or received, a return it sent (as payee) or got back (as payer)."""
    uetr = transfer.user_data_128
    payer, payee = (False, False) if uetr is None else sides.get(uetr, (False, False))
    if transfer.code == TRANSFER_CODE_CREDIT_TRANSFER:
        return payer if outgoing else payee
    if transfer.code == TRANSFER_CODE_ON_US:  # an on-us payment's hand-back to its payee
        return payee
    if transfer.code == TRANSFER_CODE_RETURN:
        return payee if outgoing else payer
    return False  # funds in and out: the sponsor's


def _routed(payee: Participant | None) -> Participant:
    assert payee is not None  # only routed payments are reserved and delivered
    return payee


def well_formed(request: CreditTransfer) -> bool:
    ids = (request.msg_id, request.end_to_end_id, request.tx_id)
    if not all(0 < len(value) <= MAX35 for value in ids):
        return False
    if (request.creditor_alias is None) == (request.creditor_iban is None):
        return False  # exactly one creditor: a Raast ID or an IBAN
    if not 0 < len(request.debtor_name) <= NAME_LENGTH_MAX:
        return False
    if request.uetr.version != 4:  # a UETR is a UUIDv4 by definition
        return False
    return type(request.amount_minor) is int


# By value: a dict lookup, where calling the enum costs microseconds per row (bulk files).
_STATUSES = {status.value: status for status in PaymentStatus}
_REASONS = {reason.value: reason for reason in ReasonCode}


def _payment(row: Any) -> Payment:
    request = CreditTransfer(
        msg_id=row.msg_id,
        end_to_end_id=row.end_to_end_id,
        tx_id=row.tx_id,
        uetr=row.uetr,
        amount_minor=row.amount_minor,
        currency=row.currency,
        debtor_name=row.debtor_name,
        debtor_iban=row.debtor_iban,
        creditor_alias=row.creditor_alias,
        creditor_iban=row.creditor_iban,
        creditor_name=row.creditor_name,
        remittance_information=row.remittance_information,
        purpose=row.purpose,
    )
    return Payment(
        id=row.id,
        payer_id=row.payer_id,
        payee_id=row.payee_id,
        request=request,
        creditor_iban=row.resolved_iban,
        status=_STATUSES[row.status],
        reason=_REASONS[row.reason] if row.reason else None,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        returned_minor=row.returned_minor,
    )
