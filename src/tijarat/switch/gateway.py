"""The hub's ISO 20022 face: envelopes in, envelopes out, every one archived.

A participant sends an envelope (head.001 AppHdr + Document, see iso20022.envelope) whose
header must name that participant as the sender. pacs.008 transactions become credit
transfers (payments.py, the same rules as the JSON form) and are answered with one pacs.002
listing each transaction's status and reason; pacs.028 status requests are answered with
pacs.002 too. Every message received or sent is kept, per participant, because regulators
require the record (`archive`, `message`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.clock import from_ns
from tijarat.kernel.errors import DomainError
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import CreditTransfer, Participant, Payment
from tijarat.switch.payments import Payments

HUB_MEMBER_ID = "RAASTHUB"  # the hub's own id in AppHdr Fr/To
ARCHIVE_PAGE_MAX = 500


class Gateway:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments
        self.engine = payments.engine
        self.clock = payments.clock

    def receive(self, participant: Participant, xml: bytes) -> bytes:
        """Handle one envelope from `participant`; returns the answering envelope."""
        envelope = iso.parse_envelope(xml)  # DomainError iso20022_* when malformed or invalid
        header = envelope.header
        sender = header.from_agent.member_id or header.from_agent.bic
        if sender is None or sender.upper() != participant.code:
            raise DomainError(
                SwitchError.HEADER_NOT_YOURS,
                "the AppHdr's sender (Fr) must be the authenticated participant",
                status=403,
                fields={"sender": sender, "participant": participant.code},
            )
        self._archive(
            participant, "in", header.message_definition_id, header.business_message_id, xml
        )
        document = envelope.document
        if isinstance(document, iso.CustomerCreditTransfer):
            statuses = [self._transfer(participant, document, tx) for tx in document.transactions]
            original = iso.OriginalGroupStatus(
                original_message_id=document.message_id,
                original_message_name=iso.MessageType.PACS_008.value,
            )
            answer = self._report((original,), statuses)
        elif isinstance(document, iso.PaymentStatusRequest):
            answer = self._report(
                (), [self._status(participant, tx) for tx in document.transactions]
            )
        else:
            raise DomainError(
                SwitchError.MESSAGE_NOT_ACCEPTED,
                f"the hub does not take {header.message_definition_id} from participants here",
                status=422,
                fields={"message_type": header.message_definition_id},
            )
        reply = iso.Envelope(
            iso.BusinessApplicationHeader(
                from_agent=iso.Agent(member_id=HUB_MEMBER_ID),
                to_agent=iso.Agent(member_id=participant.code),
                business_message_id=answer.message_id,
                message_definition_id=iso.MessageType.PACS_002.value,
                created_at=answer.created_at,
            ),
            answer,
        )
        out = iso.build_envelope(reply)
        self._archive(participant, "out", iso.MessageType.PACS_002.value, answer.message_id, out)
        return out

    # ------------------------------------------------------------------ archive
    def archive(self, participant: Participant, limit: int = 100) -> list[dict[str, Any]]:
        """The participant's messages, newest first, without their bodies."""
        table = store.messages_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    table.c.id,
                    table.c.direction,
                    table.c.message_type,
                    table.c.business_message_id,
                    table.c.created_at,
                )
                .where(table.c.participant_id == participant.id)
                .order_by(table.c.seq.desc())
                .limit(max(1, min(limit, ARCHIVE_PAGE_MAX)))
            ).all()
        return [dict(row._mapping) for row in rows]  # noqa: SLF001 - SQLAlchemy's public row API

    def message(self, participant: Participant, message_id: uuid.UUID) -> bytes:
        table = store.messages_table
        with self.engine.connect() as connection:
            body = connection.execute(
                sa.select(table.c.body).where(
                    (table.c.id == message_id) & (table.c.participant_id == participant.id)
                )
            ).scalar_one_or_none()
        if body is None:
            raise DomainError(SwitchError.MESSAGE_NOT_FOUND, f"no message {message_id}", status=404)
        return bytes(body)

    def _archive(
        self, participant: Participant, direction: str, kind: str, business_id: str, body: bytes
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                store.messages_table.insert().values(
                    id=uuid.uuid4(),
                    participant_id=participant.id,
                    direction=direction,
                    message_type=kind,
                    business_message_id=business_id[:35],
                    created_at=self.clock.now_ns(),
                    body=body,
                )
            )

    # ------------------------------------------------------------------ mapping
    def _transfer(
        self,
        participant: Participant,
        document: iso.CustomerCreditTransfer,
        tx: iso.CreditTransferTransaction,
    ) -> iso.TransactionStatus:
        creditor = tx.creditor_account
        request = CreditTransfer(
            msg_id=document.message_id,
            end_to_end_id=tx.end_to_end_id,
            tx_id=tx.transaction_id,
            uetr=tx.uetr,
            amount_minor=tx.amount.amount_minor,
            currency=tx.amount.currency,
            debtor_name=tx.debtor.name,
            debtor_iban=tx.debtor_account.iban.compact if tx.debtor_account.iban else "",
            creditor_alias=creditor.proxy.e164 if creditor.proxy else None,
            creditor_iban=creditor.iban.compact if creditor.iban and not creditor.proxy else None,
            creditor_name=tx.creditor.name,
            remittance_information=" ".join(tx.remittance_information)[:140] or None,
            purpose=tx.purpose,
        )
        return _status_of(self.payments.submit(participant.code, request))

    def _status(
        self, participant: Participant, tx: iso.StatusRequestTransaction
    ) -> iso.TransactionStatus:
        if tx.original_end_to_end_id is None:
            raise DomainError(
                SwitchError.PAYMENT_NOT_FOUND,
                "a status request names the original end-to-end id",
                status=422,
            )
        return _status_of(self.payments.status(participant.code, tx.original_end_to_end_id))

    def _report(
        self,
        groups: tuple[iso.OriginalGroupStatus, ...],
        statuses: list[iso.TransactionStatus],
    ) -> iso.PaymentStatusReport:
        now: datetime = from_ns(self.clock.now_ns())
        return iso.PaymentStatusReport(
            message_id=f"HUB{uuid.uuid4().hex[:29]}",
            created_at=now,
            original_groups=groups,
            transactions=tuple(statuses),
        )


def _status_of(payment: Payment) -> iso.TransactionStatus:
    reasons = (iso.Reason(code=iso.ReasonCode(payment.reason.value)),) if payment.reason else ()
    return iso.TransactionStatus(
        status=iso.PaymentStatus(payment.status.value),
        original_end_to_end_id=payment.request.end_to_end_id,
        original_transaction_id=payment.request.tx_id,
        original_uetr=payment.request.uetr,
        reasons=reasons,
    )
