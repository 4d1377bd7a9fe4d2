"""Request to pay (pain.013 / pain.014): a creditor asks, the debtor's institution answers.

The request reaches the participant that holds the debtor's Raast ID: the hub forwards it
as a pain.013, archived for that participant (its inbox if it polls) and pushed to its
endpoint if it has one. Accepting it makes an ordinary credit transfer (all the rules of
payments.py apply, and its end-to-end id is the request's id, so the two stay linked);
rejecting answers a reason code; a request not answered by its expiry is expired and can no
longer be paid. Each of these ends is told to the creditor's institution as a pain.014
(ACCP, RJCT with the reason, RJCT AEXR), archived and pushed the same way.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import structlog

from tijarat.kernel.clock import from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.advices import forwarded_request_envelope, request_outcome_envelope
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    MAX35,
    NAME_LENGTH_MAX,
    ArchivedMessage,
    CreditTransfer,
    Participant,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ReasonCode,
    RequestStatus,
)
from tijarat.switch.payments import Payments

log = structlog.get_logger("tijarat.switch.requests")
REQUEST_LIFETIME_S_MAX = 90 * 86_400  # a "later" request may wait up to 90 days
REQUESTS_PAGE_MAX = 500  # GET /requests/incoming
EXPIRE_BATCH_MAX = 1_000  # requests expired (and pain.014s built) per transaction


class PaymentRequests:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments
        self.directory = payments.directory
        self.engine = payments.engine
        self.clock = payments.clock

    def request(
        self,
        creditor_code: str,
        *,
        debtor_alias: str,
        amount_minor: int,
        creditor_name: str,
        creditor_alias: str | None = None,
        creditor_iban: str | None = None,
        reference: str | None = None,
        expires_in_s: int,
        end_to_end_id: str | None = None,
        original_message_id: str | None = None,
        original_payment_information_id: str | None = None,
    ) -> PaymentRequest:
        """Send a request to the institution holding the debtor's Raast ID.

        `original_message_id` and `original_payment_information_id` name the creditor's
        pain.013 (MsgId, PmtInfId), for the pain.014 that will tell it the outcome.
        """
        creditor = self.directory.participant(creditor_code)
        if not creditor.active:
            raise DomainError(
                SwitchError.PARTICIPANT_SUSPENDED, f"{creditor.code} is suspended", status=403
            )
        if (creditor_alias is None) == (creditor_iban is None):
            raise _invalid("name the creditor by exactly one of a Raast ID or an IBAN")
        if creditor_iban is not None:
            creditor_iban = Iban.parse(creditor_iban).compact
        if creditor_alias is not None:
            creditor_alias = MobileNumber.parse(creditor_alias).e164
        if type(amount_minor) is not int or amount_minor <= 0:
            raise _invalid("the amount is a positive integer of paisa", amount_minor=amount_minor)
        if not 0 < expires_in_s <= REQUEST_LIFETIME_S_MAX:
            raise _invalid(f"a request lives 1 s to {REQUEST_LIFETIME_S_MAX} s")
        if not 0 < len(creditor_name) <= NAME_LENGTH_MAX:
            raise _invalid("the creditor name is 1 to 140 characters")
        debtor = self.directory.alias(debtor_alias)  # 404 when the number is not a Raast ID
        if end_to_end_id:
            end_to_end_id = end_to_end_id[:MAX35]
            earlier = self._sent(creditor.id, end_to_end_id)
            if earlier is not None:
                # The creditor's end-to-end id names one request: the same one re-sent (a
                # retry) is that request, anything else under its id is refused. The expiry
                # is not compared: a retry computes its lifetime anew; the first one stands.
                same = (
                    earlier.debtor_alias == debtor.number.e164
                    and earlier.amount_minor == amount_minor
                    and earlier.creditor_name == creditor_name
                    and earlier.creditor_alias == creditor_alias
                    and earlier.creditor_iban == creditor_iban
                    and earlier.reference == reference
                )
                if same:
                    return earlier
                raise DomainError(
                    SwitchError.REQUEST_DUPLICATE,
                    f"the end-to-end id {end_to_end_id} names another request",
                    status=409,
                    fields={"end_to_end_id": end_to_end_id, "request_id": str(earlier.id)},
                )
        now = self.clock.now_ns()
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "creditor_participant_id": creditor.id,
            "debtor_participant_id": debtor.participant_id,
            "creditor_name": creditor_name,
            "creditor_alias": creditor_alias,
            "creditor_iban": creditor_iban,
            "debtor_alias": debtor.number.e164,
            "amount_minor": amount_minor,
            "currency": "PKR",
            "reference": reference,
            "end_to_end_id": end_to_end_id or None,
            "expires_at": now + expires_in_s * 1_000_000_000,
            "status": RequestStatus.OPEN.value,
            "reason": None,
            "payment_id": None,
            "created_at": now,
            "original_message_id": _id35(original_message_id),
            "original_payment_information_id": _id35(original_payment_information_id),
        }
        request = _request(SimpleNamespace(**values))  # what get() will read back
        debtor_participant = self.directory.participant_by_id_cached(debtor.participant_id)
        try:
            # Built before anything is stored: a request ISO 20022 cannot carry (a control
            # character in a name...) could never reach the debtor, so it is refused whole.
            forwarded = self._forwarded(request, creditor, debtor_participant, debtor.account_title)
        except DomainError as error:
            raise _invalid(
                f"the request cannot be sent as a pain.013: {error.message}",
                **{k: v for k, v in error.fields.items() if k in ("field", "path")},
            ) from None
        sent = [forwarded] if self._by_message(debtor_participant) else []
        with self.engine.begin() as connection:
            connection.execute(store.requests_table.insert().values(values))
            # In the same transaction: no request is stored without its message.
            store.insert_messages(connection, sent, now)
        self._push([(debtor_participant, message) for message in sent])
        return self.get(request.id)

    def _by_message(self, participant: Participant) -> bool:
        """Whether the participant learns of requests by message: it polls its archive or
        has an endpoint. One reached in process (a handler or listener, as the wallet)
        reads `inbox` and its requests' rows, and gets nothing archived, as for payments."""
        return self.payments.polls(participant) or (
            self.directory.endpoint(participant.id) is not None
        )

    def _forwarded(
        self,
        request: PaymentRequest,
        creditor: Participant,
        debtor: Participant,
        debtor_name: str,
    ) -> ArchivedMessage:
        """The pain.013 for the debtor's institution (see advices.forwarded_request_envelope)."""
        message_id = f"HUBRTP{request.id.hex[:29]}"  # one per request, 35 characters
        body = iso.build_envelope(
            forwarded_request_envelope(
                request,
                message_id=message_id,
                creditor=creditor,
                debtor=debtor,
                debtor_name=debtor_name[:NAME_LENGTH_MAX],
            )
        )
        kind = iso.MessageType.PAIN_013.value
        return ArchivedMessage(debtor.id, "out", kind, message_id, body)

    def _outcome(self, row: Any, payment: Payment | None) -> ArchivedMessage | None:
        """The pain.014 telling the creditor what became of its request; None for a creditor
        reached in process, or when it cannot be built (logged: it never stands in the way
        of the decision, which is stored regardless)."""
        request = _request(row)
        try:
            creditor = self.directory.participant_by_id_cached(request.creditor_participant_id)
            if not self._by_message(creditor):
                return None  # told in process (it reads its requests' rows)
            debtor = self.directory.participant_by_id_cached(request.debtor_participant_id)
            message_id = f"HUB{uuid.uuid4().hex[:29]}"
            body = iso.build_envelope(
                request_outcome_envelope(
                    request,
                    message_id=message_id,
                    created_at=from_ns(self.clock.now_ns()),
                    creditor=creditor,
                    debtor=debtor,
                    original_message_id=row.original_message_id,
                    original_payment_information_id=row.original_payment_information_id,
                    payment=payment,
                )
            )
        except Exception:  # best effort: the creditor can still ask (pain.013 sent again)
            log.exception("request outcome not built", request=str(request.id))
            return None
        kind = iso.MessageType.PAIN_014.value
        return ArchivedMessage(creditor.id, "out", kind, message_id, body)

    def _push(self, messages: Sequence[tuple[Participant, ArchivedMessage]]) -> None:
        """POST archived messages to the participants with an endpoint, best effort: a
        non-answer is fine, the message is in their archive (GET /v1/switch/messages)."""
        remote = self.payments.remote
        if remote is None:
            return
        pushed = [
            (participant, message)
            for participant, message in messages
            if self.directory.endpoint(participant.id) is not None
        ]
        if not pushed:
            return
        try:
            remote.push_many(pushed)
        except Exception:  # the archive holds it: never in the way of the request
            log.exception("request message not pushed")

    def get(self, request_id: uuid.UUID) -> PaymentRequest:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.requests_table).where(store.requests_table.c.id == request_id)
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.REQUEST_NOT_FOUND, f"no request to pay {request_id}", status=404
            )
        return _request(row)

    def _sent(self, creditor_id: uuid.UUID, end_to_end_id: str) -> PaymentRequest | None:
        """The creditor's request with this end-to-end id (ix_switch_payment_requests_e2e)."""
        table = store.requests_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table)
                .where(
                    (table.c.end_to_end_id == end_to_end_id)
                    & (table.c.creditor_participant_id == creditor_id)
                )
                .order_by(table.c.created_at)
                .limit(1)
            ).first()
        return None if row is None else _request(row)

    def for_debtor(self, debtor_id: uuid.UUID, end_to_end_id: str) -> PaymentRequest:
        """The request with this creditor end-to-end id addressed to `debtor_id`'s customers;
        for a request made without one, the hub's id for it (what its pain.013 carried)."""
        table = store.requests_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table)
                .where(
                    (table.c.end_to_end_id == end_to_end_id)
                    & (table.c.debtor_participant_id == debtor_id)
                )
                .order_by(table.c.created_at.desc())
            ).first()
            hub_id = _hub_id(end_to_end_id) if row is None else None
            if hub_id is not None:
                row = connection.execute(
                    sa.select(table).where(
                        (table.c.id == hub_id)
                        & (table.c.debtor_participant_id == debtor_id)
                        & table.c.end_to_end_id.is_(None)
                    )
                ).first()
        if row is None:
            raise DomainError(
                SwitchError.REQUEST_NOT_FOUND, f"no request to pay {end_to_end_id}", status=404
            )
        return _request(row)

    def inbox(self, debtor_code: str) -> list[PaymentRequest]:
        """Open requests for the customers of `debtor_code` (what its app shows them)."""
        return self.incoming(debtor_code, status=RequestStatus.OPEN, limit=None)

    def incoming(
        self,
        debtor_code: str,
        *,
        status: RequestStatus | None = RequestStatus.OPEN,
        since_ns: int = 0,
        after_id: uuid.UUID | None = None,
        limit: int | None = 100,
    ) -> list[PaymentRequest]:
        """Requests to `debtor_code`'s customers, oldest first (None: whatever their
        status), created at or after `since_ns` (after `after_id` there: see
        store.created_since); at most `limit` (REQUESTS_PAGE_MAX)."""
        participant = self.directory.participant(debtor_code)
        self.expire_due()
        table = store.requests_table
        query = (
            sa.select(table)
            .where(
                (table.c.debtor_participant_id == participant.id)
                & store.created_since(table, since_ns, after_id)
            )
            .order_by(table.c.created_at, table.c.id)
        )
        if status is not None:
            query = query.where(table.c.status == status.value)
        if limit is not None:
            query = query.limit(max(1, min(limit, REQUESTS_PAGE_MAX)))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_request(row) for row in rows]

    def accept(
        self,
        debtor_code: str,
        request_id: uuid.UUID,
        *,
        debtor_name: str,
        debtor_iban: str,
        msg_id: str | None,
        uetr: uuid.UUID | None,
    ) -> PaymentRequest:
        """The debtor agreed: pay it now, as a credit transfer named after the request (its
        MsgId and UETR the caller's, or derived from the request and the attempt when None).

        Paid once the payment settles: at once when its payee answers in time, else when it
        does (finish_due, from the sweep). Until then the request stays open with its
        payment under way, and accepting it again answers it as it stands. After a refused
        payment (e.g. AM04, no funds then) accepting again is a new attempt with ids of its
        own (a refused payment's ids are spent, as in Pix), unless it is the same accept
        again (the refused payment's MsgId): a retry is answered as it stands."""
        request = self._open(debtor_code, request_id)
        attempt = 0
        if request.payment_id is not None:
            previous = self.payments.payment(request.payment_id)
            if previous.status is PaymentStatus.PENDING:
                return request
            if previous.status is PaymentStatus.SETTLED:  # settled, not yet seen by finish_due
                return self._decide(request, RequestStatus.PAID, None, previous)
            if msg_id is not None and previous.request.msg_id == msg_id:
                return request  # the same accept again: a retry, not a new attempt
            attempt = attempt_of(request.id, previous.request.end_to_end_id) + 1
            if attempt > ATTEMPTS_MAX:
                return request  # open with its refusal's reason: the creditor may ask anew
        payer = self.directory.participant(debtor_code)
        end_to_end_id = attempt_end_to_end_id(request.id, attempt)
        transfer = CreditTransfer(
            msg_id=msg_id or attempt_msg_id(request.id, attempt),
            end_to_end_id=end_to_end_id,
            tx_id=end_to_end_id,
            uetr=uetr or request_uetr(payer, request.id, attempt),
            amount_minor=request.amount_minor,
            currency=request.currency,
            debtor_name=debtor_name,
            debtor_iban=debtor_iban,
            creditor_alias=request.creditor_alias,
            creditor_iban=request.creditor_iban,
            creditor_name=request.creditor_name,
            remittance_information=request.reference,
        )
        payment = self.payments.submit(payer.code, transfer)
        if payment.status is PaymentStatus.REJECTED and payment.reason is ReasonCode.DUPL:
            # Another accept of this attempt got there first (with other ids or MsgId): its
            # payment is this attempt's. A refusal of ids already used is never stored, so
            # recording it would point the request at no payment.
            stored = self.payments.stored_with_ids(payer.code, transfer)
            if stored is None or (stored.payer_id, stored.request.end_to_end_id) != (
                payer.id,
                end_to_end_id,
            ):  # the UETR the caller chose is another payment's: refused, nothing recorded
                return self._set(
                    request.id,
                    RequestStatus.OPEN,
                    ReasonCode.DUPL,
                    request.payment_id,
                    previous=request.payment_id,
                )
            payment = stored
        if payment.status is PaymentStatus.SETTLED:
            # Money moved: paid, even if an expiry or a refusal was recorded meanwhile.
            return self._decide(request, RequestStatus.PAID, None, payment)
        # Refused (the request stays open, with the reason), or under way (its payee has not
        # answered yet: the request waits, open, for finish_due). Only over what this accept
        # saw: an accept that recorded its payment meanwhile keeps it (compare-and-set).
        return self._set(
            request.id, RequestStatus.OPEN, payment.reason, payment.id, previous=request.payment_id
        )

    def finish_due(self) -> int:
        """Requests whose payment was under way when accepted and is decided since: paid
        (with the creditor's pain.014 ACCP) when it settled; open again with the reason when
        it was refused. The sweep calls it (through expire_due) every second."""
        requests, payments = store.requests_table, store.payments_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(requests.c.id, payments.c.status, payments.c.reason)
                .join(payments, payments.c.id == requests.c.payment_id)
                .where(
                    (requests.c.status == RequestStatus.OPEN.value)
                    & (payments.c.status != PaymentStatus.PENDING.value)
                    & (
                        (payments.c.status == PaymentStatus.SETTLED.value)
                        | requests.c.reason.is_(None)
                    )
                )
                .limit(EXPIRE_BATCH_MAX)
            ).all()
        for row in rows:
            request = self.get(row.id)
            assert request.payment_id is not None  # joined on it
            if row.status == PaymentStatus.SETTLED.value:
                payment = self.payments.payment(request.payment_id)
                try:
                    self._decide(request, RequestStatus.PAID, None, payment)
                except DomainError:  # paid meanwhile by another sweeper: it stands
                    continue
            else:
                self._set(
                    request.id,
                    RequestStatus.OPEN,
                    ReasonCode(row.reason),
                    request.payment_id,
                    previous=request.payment_id,
                )
        return len(rows)

    def accept_linked(
        self, debtor_code: str, request_id: uuid.UUID, *, msg_id: str | None = None
    ) -> PaymentRequest:
        """accept, paid from the IBAN the debtor's Raast ID links to, under its account
        title (what a pain.014 ACCP or POST /requests/{id}/accept does). The UETR is derived
        from the request, so every way of accepting it names one payment."""
        participant = self.directory.participant(debtor_code)
        request = self.get(request_id)
        if request.debtor_participant_id != participant.id:
            raise DomainError(
                SwitchError.REQUEST_NOT_FOUND, f"no request to pay {request_id}", status=404
            )
        alias = self.directory.alias(request.debtor_alias)
        return self.accept(
            participant.code,
            request.id,
            debtor_name=alias.account_title[:NAME_LENGTH_MAX],
            debtor_iban=alias.iban.compact,
            msg_id=msg_id,  # None: derived from the request and the attempt
            uetr=None,  # derived: every way of accepting an attempt names one payment
        )

    def reject(
        self, debtor_code: str, request_id: uuid.UUID, reason: ReasonCode = ReasonCode.CUST
    ) -> PaymentRequest:
        request = self._open(debtor_code, request_id)
        return self._decide(request, RequestStatus.REJECTED, reason, None)

    def expire_due(self) -> int:
        """Expire the open requests past their expiry; each creditor gets a pain.014 RJCT
        AEXR, archived with the expiry (exactly once: only the rows this call changed)."""
        table, payments = store.requests_table, store.payments_table
        self.finish_due()  # a request paid in time is paid, whatever its expiry
        # A request whose payment is under way is not expired: its payee may still accept.
        under_way = (
            sa.select(payments.c.id)
            .where(
                (payments.c.id == table.c.payment_id)
                & (payments.c.status == PaymentStatus.PENDING.value)
            )
            .exists()
        )
        expired = 0
        while True:
            now = self.clock.now_ns()
            with self.engine.connect() as connection:
                due = connection.execute(
                    sa.select(table)
                    .where(
                        (table.c.status == RequestStatus.OPEN.value)
                        & (table.c.expires_at <= now)
                        & ~under_way
                    )
                    .limit(EXPIRE_BATCH_MAX)
                ).all()
            if not due:
                return expired
            # Built before the write transaction: it reads participants (another connection).
            outcomes = {
                row.id: self._outcome(
                    SimpleNamespace(**{**row._mapping, "status": RequestStatus.EXPIRED.value}),  # noqa: SLF001
                    None,
                )
                for row in due
            }
            with self.engine.begin() as connection:
                changed = connection.execute(
                    table.update()
                    .where(
                        table.c.id.in_(list(outcomes))
                        & (table.c.status == RequestStatus.OPEN.value)
                        & ~under_way
                    )
                    .values(status=RequestStatus.EXPIRED.value)
                    .returning(table.c.id)
                ).scalars()
                sent = [
                    message
                    for request_id in changed
                    if (message := outcomes[request_id]) is not None
                ]
                store.insert_messages(connection, sent, now)
            expired += len(outcomes)
            self._push([(self._participant_of(message), message) for message in sent])
            if len(due) < EXPIRE_BATCH_MAX:
                return expired

    def _participant_of(self, message: ArchivedMessage) -> Participant:
        return self.directory.participant_by_id_cached(message.participant_id)

    def _open(self, debtor_code: str, request_id: uuid.UUID) -> PaymentRequest:
        participant = self.directory.participant(debtor_code)
        self.expire_due()
        request = self.get(request_id)
        if request.debtor_participant_id != participant.id:
            raise DomainError(
                SwitchError.REQUEST_NOT_FOUND, f"no request to pay {request_id}", status=404
            )
        if request.status is not RequestStatus.OPEN:
            raise DomainError(
                SwitchError.REQUEST_NOT_OPEN,
                f"the request is {request.status.value}",
                status=409,
                fields={"status": request.status.value},
            )
        return request

    def _set(
        self,
        request_id: uuid.UUID,
        status: RequestStatus,
        reason: ReasonCode | None,
        payment_id: uuid.UUID | None,
        *,
        previous: uuid.UUID | None,
    ) -> PaymentRequest:
        """An open request's state, if it is still open with the `previous` payment: a
        decision or another accept's payment recorded meanwhile stands (compare-and-set)."""
        table = store.requests_table
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(
                    (table.c.id == request_id)
                    & (table.c.status == RequestStatus.OPEN.value)
                    & (
                        table.c.payment_id.is_(None)
                        if previous is None
                        else table.c.payment_id == previous
                    )
                )
                .values(
                    status=status.value,
                    reason=reason.value if reason else None,
                    payment_id=payment_id,
                )
            )
        return self.get(request_id)

    def _decide(
        self,
        request: PaymentRequest,
        status: RequestStatus,
        reason: ReasonCode | None,
        payment: Payment | None,
    ) -> PaymentRequest:
        """Record the end of a request and, in the same transaction, the pain.014 that tells
        its creditor; then push it. A refusal applies to an open request only (a decision
        made meanwhile stands: 409); a payment to any request not paid yet."""
        table = store.requests_table
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.id == request.id)).one()
        decided = {
            "status": status.value,
            "reason": reason.value if reason else None,
            "payment_id": payment.id if payment else None,
        }
        outcome = self._outcome(SimpleNamespace(**{**row._mapping, **decided}), payment)  # noqa: SLF001
        guard = (
            table.c.status != RequestStatus.PAID.value
            if status is RequestStatus.PAID
            else table.c.status == RequestStatus.OPEN.value
        )
        with self.engine.begin() as connection:
            changed = connection.execute(
                table.update().where((table.c.id == request.id) & guard).values(decided)
            ).rowcount
            if changed and outcome is not None:
                store.insert_messages(connection, [outcome], self.clock.now_ns())
        if not changed:
            now = self.get(request.id)
            raise DomainError(
                SwitchError.REQUEST_NOT_OPEN,
                f"the request is {now.status.value}",
                status=409,
                fields={"status": now.status.value},
            )
        if outcome is not None:
            self._push([(self._participant_of(outcome), outcome)])
        return self.get(request.id)


def request_uetr(debtor: Participant, request_id: uuid.UUID, attempt: int = 0) -> uuid.UUID:
    """The UETR of the payment that pays a request: a UUIDv4 derived from the debtor's
    institution, the request and the attempt (stable, so accepting twice names one
    payment; a new one after a refusal)."""
    suffix = f":{attempt}" if attempt else ""
    digest = hashlib.sha256(f"{debtor.id}:rtp:{request_id}{suffix}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


ATTEMPTS_MAX = 99  # "-99" keeps the end-to-end id within ISO's 35 characters


def attempt_end_to_end_id(request_id: uuid.UUID, attempt: int) -> str:
    """The end-to-end id of a request's payment: the request's id (32 hex digits), with
    "-n" for the n-th try after refused ones."""
    if attempt > ATTEMPTS_MAX:
        raise DomainError(
            SwitchError.REQUEST_NOT_OPEN,
            f"request {request_id} was refused {ATTEMPTS_MAX} times: ask for a new one",
            status=409,
        )
    return request_id.hex if attempt == 0 else f"{request_id.hex}-{attempt}"


def attempt_msg_id(request_id: uuid.UUID, attempt: int) -> str:
    """The MsgId of a request's payment when the accept names none (35 characters at most)."""
    return f"RTP{request_id.hex}" if attempt == 0 else f"RTP{request_id.hex[:28]}-{attempt}"


def attempt_of(request_id: uuid.UUID, end_to_end_id: str) -> int:
    """Which try at paying the request a payment was (attempt_end_to_end_id's inverse)."""
    _, _, number = end_to_end_id.removeprefix(request_id.hex).partition("-")
    return int(number) if number.isdigit() else 0


def _hub_id(text: str) -> uuid.UUID | None:
    """The request id in a hub-made end-to-end id (32 hex digits), else None."""
    if len(text) != 32:  # uuid.hex
        return None
    try:
        return uuid.UUID(hex=text)
    except ValueError:
        return None


def _id35(text: str | None) -> str | None:
    return text[:MAX35] if text else None


def _request(row: Any) -> PaymentRequest:
    return PaymentRequest(
        id=row.id,
        creditor_participant_id=row.creditor_participant_id,
        debtor_participant_id=row.debtor_participant_id,
        creditor_name=row.creditor_name,
        creditor_alias=row.creditor_alias,
        creditor_iban=row.creditor_iban,
        debtor_alias=row.debtor_alias,
        amount_minor=row.amount_minor,
        currency=row.currency,
        reference=row.reference,
        expires_at=row.expires_at,
        status=RequestStatus(row.status),
        reason=ReasonCode(row.reason) if row.reason else None,
        payment_id=row.payment_id,
        created_at=row.created_at,
        end_to_end_id=row.end_to_end_id,
    )


def _invalid(message: str, **fields: object) -> DomainError:
    return DomainError(SwitchError.REQUEST_INVALID, message, status=422, fields=dict(fields))
