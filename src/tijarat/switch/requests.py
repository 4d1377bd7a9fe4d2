"""Request to pay (pain.013 / pain.014): a creditor asks, the debtor's institution answers.

The request reaches the participant that holds the debtor's Raast ID. Accepting it makes an
ordinary credit transfer (all the rules of payments.py apply, and its end-to-end id is the
request's id, so the two stay linked); rejecting answers a reason code; a request not
answered by its expiry is expired and can no longer be paid.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.switch import store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    MAX35,
    NAME_LENGTH_MAX,
    CreditTransfer,
    PaymentRequest,
    ReasonCode,
    RequestStatus,
)
from tijarat.switch.payments import Payments

REQUEST_LIFETIME_S_MAX = 90 * 86_400  # a "later" request may wait up to 90 days


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
    ) -> PaymentRequest:
        """Send a request to the institution holding the debtor's Raast ID."""
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
        request_id = uuid.uuid4()
        with self.engine.begin() as connection:
            connection.execute(
                store.requests_table.insert().values(
                    id=request_id,
                    creditor_participant_id=creditor.id,
                    debtor_participant_id=debtor.participant_id,
                    creditor_name=creditor_name,
                    creditor_alias=creditor_alias,
                    creditor_iban=creditor_iban,
                    debtor_alias=debtor.number.e164,
                    amount_minor=amount_minor,
                    currency="PKR",
                    reference=reference,
                    end_to_end_id=end_to_end_id or None,
                    expires_at=now + expires_in_s * 1_000_000_000,
                    status=RequestStatus.OPEN.value,
                    reason=None,
                    payment_id=None,
                    created_at=now,
                )
            )
        return self.get(request_id)

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
        """The request with this creditor end-to-end id addressed to `debtor_id`'s customers."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.requests_table)
                .where(
                    (store.requests_table.c.end_to_end_id == end_to_end_id)
                    & (store.requests_table.c.debtor_participant_id == debtor_id)
                )
                .order_by(store.requests_table.c.created_at.desc())
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.REQUEST_NOT_FOUND, f"no request to pay {end_to_end_id}", status=404
            )
        return _request(row)

    def inbox(self, debtor_code: str) -> list[PaymentRequest]:
        """Open requests for the customers of `debtor_code` (what its app shows them)."""
        participant = self.directory.participant(debtor_code)
        self.expire_due()
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(store.requests_table)
                .where(
                    (store.requests_table.c.debtor_participant_id == participant.id)
                    & (store.requests_table.c.status == RequestStatus.OPEN.value)
                )
                .order_by(store.requests_table.c.created_at)
            ).all()
        return [_request(row) for row in rows]

    def accept(
        self,
        debtor_code: str,
        request_id: uuid.UUID,
        *,
        debtor_name: str,
        debtor_iban: str,
        msg_id: str,
        uetr: uuid.UUID,
    ) -> PaymentRequest:
        """The debtor agreed: pay it now, as a credit transfer named after the request."""
        request = self._open(debtor_code, request_id)
        payer = self.directory.participant(debtor_code)
        payment = self.payments.submit(
            payer.code,
            CreditTransfer(
                msg_id=msg_id,
                end_to_end_id=request.id.hex[:35],
                tx_id=request.id.hex[:35],
                uetr=uetr,
                amount_minor=request.amount_minor,
                currency=request.currency,
                debtor_name=debtor_name,
                debtor_iban=debtor_iban,
                creditor_alias=request.creditor_alias,
                creditor_iban=request.creditor_iban,
                creditor_name=request.creditor_name,
                remittance_information=request.reference,
            ),
        )
        if payment.reason is not None:  # the transfer was refused: the request stays open
            return self._set(request.id, RequestStatus.OPEN, payment.reason, payment.id)
        return self._set(request.id, RequestStatus.PAID, None, payment.id)

    def reject(
        self, debtor_code: str, request_id: uuid.UUID, reason: ReasonCode = ReasonCode.CUST
    ) -> PaymentRequest:
        request = self._open(debtor_code, request_id)
        return self._set(request.id, RequestStatus.REJECTED, reason, None)

    def expire_due(self) -> int:
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            result = connection.execute(
                store.requests_table.update()
                .where(
                    (store.requests_table.c.status == RequestStatus.OPEN.value)
                    & (store.requests_table.c.expires_at <= now)
                )
                .values(status=RequestStatus.EXPIRED.value)
            )
        return result.rowcount

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
    ) -> PaymentRequest:
        with self.engine.begin() as connection:
            connection.execute(
                store.requests_table.update()
                .where(store.requests_table.c.id == request_id)
                .values(
                    status=status.value,
                    reason=reason.value if reason else None,
                    payment_id=payment_id,
                )
            )
        return self.get(request_id)


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
