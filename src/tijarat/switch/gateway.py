"""The hub's ISO 20022 face: envelopes in, envelopes out, every one archived.

A participant sends an envelope (head.001 AppHdr + Document, see iso20022.envelope) whose
header must name that participant as the sender. pacs.008 transactions become credit
transfers (payments.py, the same rules as the JSON form) and are answered with one pacs.002
listing each transaction's status and reason; pacs.028 status requests and pacs.004 returns
(from the payee) are answered with pacs.002 too; a pain.001 bulk file goes through bulk.py
and is answered with pain.002; a pain.013 request to pay is answered with pain.014, and the
debtor institution's pain.014 (accept or reject) with the pacs.002 of the resulting payment.
Every message received or sent is kept, per participant, because regulators require the
record (`archive`, `message`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.clock import NS_PER_S, PAKISTAN, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.advices import (
    ADVICES,
    HUB_MEMBER_ID,
    REPORTS,
    Advice,
    Report,
    reply_envelope,
)
from tijarat.switch.bulk import BulkPayments
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    TRANSFER_CODE_CREDIT_TRANSFER,
    TRANSFER_CODE_FUND_IN,
    TRANSFER_CODE_FUND_OUT,
    TRANSFER_CODE_RETURN,
    ArchivedMessage,
    CreditTransfer,
    Participant,
    PayeeDecision,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ReasonCode,
    RequestStatus,
)
from tijarat.switch.payments import Payments
from tijarat.switch.requests import PaymentRequests

REQUEST_LIFETIME_S_DEFAULT = 3_600  # a pain.013 without an expiry is a "now" request
RETURN_NAMESPACE = uuid.UUID("5f0d7c1e-9b2a-4c3d-8e4f-a1b2c3d4e5f6")
_ENTRY_KINDS = {
    TRANSFER_CODE_CREDIT_TRANSFER: "credit transfer",
    TRANSFER_CODE_RETURN: "payment return",
    TRANSFER_CODE_FUND_IN: "funds in",
    TRANSFER_CODE_FUND_OUT: "funds out",
}
ARCHIVE_PAGE_MAX = 500
STATUS_LOOKBACK_S = 35 * 86_400  # a payee's pacs.028 without a UETR: payments this recent
# The messages whose MsgId must not be reused (per sender and type) for a different message:
# the ones the hub acts on. Answers name the original by MsgId, so two messages under one id
# would make every report about them ambiguous.
_UNIQUE_MESSAGE_IDS = {
    iso.MessageType.PACS_002.value,  # a polling payee's decisions
    iso.MessageType.PACS_008.value,
    iso.MessageType.PACS_004.value,
    iso.MessageType.PACS_028.value,
    iso.MessageType.PAIN_001.value,
    iso.MessageType.PAIN_013.value,
    iso.MessageType.PAIN_014.value,
}
# Return reasons payments.return_payment carries out.
_RETURN_REASONS = frozenset({ReasonCode.CUST, ReasonCode.MD06, ReasonCode.FOCR, ReasonCode.AC04})
# ISO reasons the hub records as one of its own: MS02 ("not specified, customer generated")
# is a return or refusal the customer asked for, which is what CUST says.
_REASON_EQUIVALENTS = {iso.ReasonCode.MS02: ReasonCode.CUST}
_NOT_FOUND_TEXT = "no payment with these ids was sent or received by you"
# What the hub answers a participant's message with.
Answer = iso.PaymentStatusReport | iso.CustomerPaymentStatusReport | iso.RequestToPayResponse


class Gateway:
    def __init__(self, payments: Payments, bulk: BulkPayments, requests: PaymentRequests) -> None:
        self.payments = payments
        self.bulk = bulk
        self.requests = requests
        self.engine = payments.engine
        self.clock = payments.clock

    def receive(self, participant: Participant, xml: bytes) -> bytes:
        """Handle one envelope from `participant`; returns the answering envelope."""
        return self.receive_message(participant, xml)[0]

    def receive_json(self, participant: Participant, data: object) -> dict[str, Any]:
        """The JSON form of a Document from `participant` (iso20022.json_form): made the
        envelope it stands for (AppHdr from the participant to the hub, BizMsgIdr = MsgId),
        so it is XSD-validated, archived and carried out as that XML would be; answered
        with the JSON form of the answering Document."""
        document = iso.from_json(data)  # iso20022_invalid_json with the path when wrong
        xml = iso.build_envelope(
            iso.Envelope.of(document, sender=participant.code, receiver=HUB_MEMBER_ID)
        )
        return iso.to_json(self.receive_message(participant, xml)[1])

    def receive_message(self, participant: Participant, xml: bytes) -> tuple[bytes, Answer]:
        """receive, with the answering Document as well as its envelope."""
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
        document = envelope.document
        earlier = self._archive_inbound(participant, header, document, xml)
        if earlier is not None and not _same_message(earlier, xml, document):
            # A different message under a MsgId this sender used already: refused as a whole
            # (group status RJCT, DUPL), nothing carried out. An identical one is a retry and
            # goes on: each step below is idempotent by its own ids (UETR, end-to-end id...).
            refusal = self._duplicate(participant, document)
            return self._reply(participant, refusal), refusal
        answer: Answer
        if isinstance(document, iso.CustomerCreditTransfer):
            # The message's transactions are carried out as one group (Payments.submit_many).
            outcomes = self.payments.submit_many(
                [(participant.code, _request(document, tx)) for tx in document.transactions]
            )
            statuses = []
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome  # the payer may not pay (e.g. suspended): the message fails
                statuses.append(_status_of(outcome))
            original = iso.OriginalGroupStatus(
                original_message_id=document.message_id,
                original_message_name=iso.MessageType.PACS_008.value,
            )
            answer = self._report((original,), statuses)
        elif isinstance(document, iso.PaymentStatusReport):
            # A payee that polls answers the credit advices in its archive (Payments.polls).
            answer = self._report(
                (), [self._answer(participant, tx) for tx in document.transactions]
            )
        elif isinstance(document, iso.PaymentStatusRequest):
            answer = self._report(
                (), [self._status(participant, tx) for tx in document.transactions]
            )
        elif isinstance(document, iso.PaymentReturn):
            answer = self._report(
                (), [self._return(participant, tx) for tx in document.transactions]
            )
        elif isinstance(document, iso.CustomerCreditTransferInitiation):
            answer = self._bulk(participant, document)
        elif isinstance(document, iso.RequestToPay):
            answer = self._request_to_pay(participant, document)
        elif isinstance(document, iso.RequestToPayResponse):
            answer = self._report((), self._request_answers(participant, document))
        else:
            raise DomainError(
                SwitchError.MESSAGE_NOT_ACCEPTED,
                f"the hub does not take {header.message_definition_id} from participants here",
                status=422,
                fields={"message_type": header.message_definition_id},
            )
        return self._reply(participant, answer), answer

    def _reply(
        self,
        participant: Participant,
        answer: iso.PaymentStatusReport
        | iso.CustomerPaymentStatusReport
        | iso.RequestToPayResponse,
    ) -> bytes:
        message = self._envelope_for(participant, answer)
        self.keep(message)
        return message.body

    @staticmethod
    def _envelope_for(
        participant: Participant,
        answer: iso.PaymentStatusReport
        | iso.CustomerPaymentStatusReport
        | iso.RequestToPayResponse,
    ) -> ArchivedMessage:
        out = iso.build_envelope(reply_envelope(participant.code, answer))
        kind = answer.MESSAGE_TYPE.value
        return ArchivedMessage(participant.id, "out", kind, answer.message_id, out)

    def _bulk(
        self, participant: Participant, document: iso.CustomerCreditTransferInitiation
    ) -> iso.CustomerPaymentStatusReport:
        """pain.001: every payee of every instruction through bulk.py; pain.002 answers each."""
        rows: list[CreditTransfer] = []
        owners: list[str] = []
        for instruction in document.payment_instructions:
            account = instruction.debtor_account
            debtor_iban = account.iban.compact if account.iban else ""
            for tx in instruction.transactions:
                creditor = tx.creditor_account
                rows.append(
                    CreditTransfer(
                        msg_id=document.message_id,
                        end_to_end_id=tx.end_to_end_id,
                        tx_id=tx.instruction_id or tx.end_to_end_id,
                        # A pain.001 may omit the UETR: derive a stable one, so a re-sent file
                        # names the same payments (and moves money once).
                        uetr=tx.uetr or _uetr(participant, tx.end_to_end_id),
                        amount_minor=tx.amount.amount_minor,
                        currency=tx.amount.currency,
                        debtor_name=instruction.debtor.name,
                        debtor_iban=debtor_iban,
                        creditor_alias=creditor.proxy.e164 if creditor.proxy else None,
                        creditor_iban=(
                            creditor.iban.compact if creditor.iban and not creditor.proxy else None
                        ),
                        creditor_name=tx.creditor.name,
                        remittance_information=" ".join(tx.remittance_information)[:140] or None,
                        purpose=tx.purpose,
                    )
                )
                owners.append(instruction.payment_information_id)
        result = self.bulk.submit(participant.code, rows)
        by_instruction: dict[str, list[iso.TransactionStatus]] = {}
        for owner, payment in zip(owners, result.payments, strict=True):
            # pain.002 names transactions by end-to-end id only (no TxId in its schema).
            by_instruction.setdefault(owner, []).append(_status_of(payment, with_tx_id=False))
        return iso.CustomerPaymentStatusReport(
            message_id=_hub_message_id(),
            created_at=from_ns(self.clock.now_ns()),
            original_group=iso.OriginalGroupStatus(
                original_message_id=document.message_id,
                original_message_name=iso.MessageType.PAIN_001.value,
            ),
            payment_instructions=tuple(
                iso.PaymentInstructionStatus(
                    original_payment_information_id=owner, transactions=tuple(statuses)
                )
                for owner, statuses in by_instruction.items()
            ),
        )

    def _request_to_pay(
        self, participant: Participant, document: iso.RequestToPay
    ) -> iso.RequestToPayResponse:
        """pain.013 from a creditor's institution: one request per transaction; pain.014 back.

        The debtor is named by the Raast ID in the instruction's debtor account. Each request
        answers PDNG (delivered, the debtor decides) or RJCT with why it could not be sent.
        """
        groups: list[iso.PaymentInstructionStatus] = []
        for number, instruction in enumerate(document.payment_instructions):
            lifetime = _request_lifetime_s(instruction.expiry, self.clock.now_ns())
            debtor = instruction.debtor_account
            instruction_id = instruction.payment_information_id or f"PMTINF{number + 1}"
            statuses = []
            for tx in instruction.transactions:
                creditor = tx.creditor_account
                if debtor is None or debtor.proxy is None:  # a request goes to a Raast ID
                    statuses.append(_rejected(tx.end_to_end_id, "FF01"))
                    continue
                if lifetime is None:
                    # Expired before it arrived: nobody could pay it (AEXR, RTP expired).
                    statuses.append(_rejected(tx.end_to_end_id, "AEXR"))
                    continue
                try:
                    request = self.requests.request(
                        participant.code,
                        debtor_alias=debtor.proxy.e164,
                        amount_minor=tx.amount.amount_minor,
                        creditor_name=tx.creditor.name,
                        creditor_alias=creditor.proxy.e164 if creditor.proxy else None,
                        creditor_iban=(
                            creditor.iban.compact if creditor.iban and not creditor.proxy else None
                        ),
                        reference=" ".join(tx.remittance_information)[:140] or None,
                        expires_in_s=lifetime,
                        end_to_end_id=tx.end_to_end_id,
                        # Named by the pain.014 that tells this creditor the outcome.
                        original_message_id=document.message_id,
                        original_payment_information_id=instruction_id,
                    )
                    # A re-sent request is the one stored: answered with where it is now.
                    statuses.append(_request_status(tx.end_to_end_id, request))
                except DomainError as error:
                    code = {
                        "switch_alias_not_found": "AC03",
                        SwitchError.REQUEST_DUPLICATE: "DUPL",  # names another request
                    }.get(error.code, "FF01")
                    statuses.append(_rejected(tx.end_to_end_id, code))
            groups.append(
                iso.PaymentInstructionStatus(
                    original_payment_information_id=instruction_id,
                    transactions=tuple(statuses),
                )
            )
        return iso.RequestToPayResponse(
            message_id=_hub_message_id(),
            created_at=from_ns(self.clock.now_ns()),
            initiating_party=iso.Party(name=participant.name),
            original_group=iso.OriginalGroupStatus(
                original_message_id=document.message_id,
                original_message_name=iso.MessageType.PAIN_013.value,
            ),
            payment_instructions=tuple(groups),
        )

    def _request_answers(
        self, participant: Participant, document: iso.RequestToPayResponse
    ) -> list[iso.TransactionStatus]:
        """pain.014 from the debtor's institution: accepted requests are paid, now."""
        statuses: list[iso.TransactionStatus] = []
        for group in document.payment_instructions:
            for tx in group.transactions:
                try:
                    statuses.append(self._request_answer(participant, document, tx))
                except DomainError as error:
                    # A request unknown or decided already is refused alone: the message's
                    # other answers go on (and were carried out: failing the message would
                    # leave its sender without their statuses).
                    reason = _request_refusal(error)
                    if reason is None:
                        raise
                    statuses.append(_refused(tx, reason, error.message))
        return statuses

    def _request_answer(
        self,
        participant: Participant,
        document: iso.RequestToPayResponse,
        tx: iso.TransactionStatus,
    ) -> iso.TransactionStatus:
        """One answer of a pain.014: a refusal recorded, or an acceptance paid."""
        end_to_end_id = tx.original_end_to_end_id or ""
        request = self.requests.for_debtor(participant.id, end_to_end_id)
        if tx.status is iso.PaymentStatus.RJCT:
            code = tx.reasons[0].code if tx.reasons and tx.reasons[0].code else None
            reason = _refusal_reason(code)
            self.requests.reject(participant.code, request.id, reason)
            recorded = iso.Reason(
                code=iso.ReasonCode(reason.value),
                # Say so when the debtor agent's code was recorded as another.
                additional_information=(
                    (f"{code.value} recorded as {reason.value}",)
                    if code is not None and code.value != reason.value
                    else ()
                ),
            )
            return iso.TransactionStatus(
                status=iso.PaymentStatus.RJCT,
                original_end_to_end_id=end_to_end_id,
                reasons=(recorded,),
            )
        # The debtor pays from the IBAN its Raast ID links to.
        paid = self.requests.accept_linked(participant.code, request.id, msg_id=document.message_id)
        if paid.payment_id is None:  # refused before any payment (its UETR taken)
            code = iso.ReasonCode(paid.reason.value) if paid.reason else iso.ReasonCode.DUPL
            return iso.TransactionStatus(
                status=iso.PaymentStatus.RJCT,
                original_end_to_end_id=end_to_end_id,
                reasons=(iso.Reason(code=code),),
            )
        return _status_of(self.payments.payment(paid.payment_id))

    def _return(self, participant: Participant, tx: iso.ReturnTransaction) -> iso.TransactionStatus:
        """pacs.004 from the payee: send back (part of) the payment the UETR names."""
        payment = self.payments.by_uetr(tx.original_uetr)
        code = tx.reason.code
        reason = _hub_reason(code) if code is not None else ReasonCode.CUST
        if reason is None or reason not in _RETURN_REASONS:
            # Any code ISO allows may arrive (AM09, MS03...); the hub returns money for the
            # reasons it carries only. This return is refused, the message's others go on.
            # AG03: this kind of transaction (a return for that reason) is not supported.
            return _refused(
                tx,
                iso.ReasonCode.AG03,
                f"return reason {code.value if code else '-'} not accepted: use "
                + ", ".join(sorted(_RETURN_REASONS))
                + " or MS02",
            )
        updated = self.payments.return_payment(
            participant.code,
            payment.id,
            tx.returned_amount.amount_minor,
            reason,
            uuid.uuid5(RETURN_NAMESPACE, f"{participant.id}:{tx.return_id}"),
        )
        return _status_of(updated)

    def settlement_statement(self, participant: Participant, start_ns: int, end_ns: int) -> bytes:
        """camt.053 of the participant's settlement account over [start, end): booked entries.

        Built from the ledger's statement (Payments.booked_entries, the settlement report's
        too), so it shows what the ledger holds, however many entries: reservations and
        their voids are not bookings and are left out; posts, returns and funds in/out are
        entries, credits positive and debits negative, with the payment's UETR. A sponsored
        participant sees its own entries of its sponsor's account, not the others'.
        """
        booked = self.payments.booked_entries(participant, start_ns, end_ns)
        entries = []
        for entry in booked.entries:
            transfer = entry.transfer
            amount = transfer.amount or 0
            uetr = transfer.user_data_128
            entries.append(
                iso.StatementEntry(
                    amount=Money(amount if entry.direction == "credit" else -amount, "PKR"),
                    status=iso.EntryStatus.BOOK,
                    booking_date=from_ns(transfer.timestamp),
                    entry_reference=transfer.id.hex[:35],
                    uetr=uetr if uetr is not None and uetr.version == 4 else None,
                    additional_information=_ENTRY_KINDS.get(transfer.code, "hub transfer"),
                )
            )
        now = from_ns(self.clock.now_ns())
        period_end = from_ns(min(end_ns, self.clock.now_ns()))
        document = iso.BankToCustomerStatement(
            message_id=_hub_message_id(),
            created_at=now,
            statements=(
                iso.AccountStatement(
                    statement_id=f"{participant.code}-{start_ns // 1_000_000_000}",
                    account=iso.Account(hub_account=participant.code),
                    balances=(
                        iso.Balance(
                            iso.BalanceType.OPBD,
                            Money(booked.opening_minor, "PKR"),
                            from_ns(start_ns).date(),
                        ),
                        iso.Balance(
                            iso.BalanceType.CLBD,
                            Money(booked.closing_minor, "PKR"),
                            period_end.date(),
                        ),
                    ),
                    entries=tuple(entries),
                    created_at=now,
                    period_start=from_ns(start_ns),
                    period_end=period_end,
                ),
            ),
        )
        reply = iso.Envelope(
            iso.BusinessApplicationHeader(
                from_agent=iso.Agent(member_id=HUB_MEMBER_ID),
                to_agent=iso.Agent(member_id=participant.code),
                business_message_id=document.message_id,
                message_definition_id=iso.MessageType.CAMT_053.value,
                created_at=now,
            ),
            document,
        )
        out = iso.build_envelope(reply)
        self._archive(participant, "out", iso.MessageType.CAMT_053.value, document.message_id, out)
        return out

    # ------------------------------------------------------------------ to participants
    def build_credit_advice(self, payee: Participant, payment: Payment) -> ArchivedMessage:
        """The pacs.008 for `payee`, not archived yet: the caller archives it with its change."""
        request = payment.request
        payer = self.payments.directory.participant_by_id_cached(payment.payer_id)
        message_id = f"HUB{payment.id.hex[:29]}"
        advice = Advice(
            message_id=message_id,
            created_at=from_ns(self.clock.now_ns()),
            payer=payer.code,
            payee=payee.code,
            end_to_end_id=request.end_to_end_id,
            tx_id=request.tx_id,
            uetr=request.uetr,
            amount=Money(request.amount_minor, request.currency),
            debtor_name=request.debtor_name,
            debtor_iban=Iban.parse(request.debtor_iban),
            creditor_name=request.creditor_name or "-",
            creditor_iban=Iban.parse(payment.creditor_iban or request.creditor_iban or ""),
            purpose=request.purpose,
            remittance=request.remittance_information or None,
        )
        out = ADVICES.write(advice)
        return ArchivedMessage(payee.id, "out", iso.MessageType.PACS_008.value, message_id, out)

    def read_decision(
        self, payee: Participant, payment: Payment, xml: bytes
    ) -> PayeeDecision | None:
        """The payee's pacs.002 answer to a credit advice: accept, reject with a reason, or
        nothing usable (None: the timeout decides). Archived as received."""
        decision, received = self.decision_of(payee, payment, xml)
        self.keep(received)
        return decision

    def decision_of(
        self, payee: Participant, payment: Payment, xml: bytes
    ) -> tuple[PayeeDecision | None, ArchivedMessage]:
        """read_decision without archiving: the decision and the message to archive.

        The answer is parsed and validated against its XSDs (it comes from outside); a
        malformed one raises the iso20022_* DomainError and is not kept.
        """
        envelope = iso.parse_envelope(xml)
        received = _received(payee, envelope.header, envelope.document, xml)
        return self._decision(payment, envelope.document), received

    @staticmethod
    def _decision(payment: Payment, report: object) -> PayeeDecision | None:
        if not isinstance(report, iso.PaymentStatusReport):
            return None
        for status in report.transactions:
            if status.original_end_to_end_id not in (None, payment.request.end_to_end_id):
                continue
            decision = _decision_of(status)
            if decision is not None:
                return decision
        return None

    def status_report(self, participant: Participant, payment: Payment) -> bytes:
        """A pacs.002 telling a participant the final status of a payment (archived)."""
        answer = self._report((), [_status_of(payment)])
        return self._reply(participant, answer)

    def build_status_report(self, participant: Participant, payment: Payment) -> ArchivedMessage:
        """status_report, not archived yet: the caller archives it with the status change."""
        report = Report(
            message_id=_hub_message_id(),
            created_at=from_ns(self.clock.now_ns()),
            to=participant.code,
            status=iso.PaymentStatus(payment.status.value),
            reason=iso.ReasonCode(payment.reason.value) if payment.reason else None,
            end_to_end_id=payment.request.end_to_end_id,
            tx_id=payment.request.tx_id,
            uetr=payment.request.uetr,
        )
        out = REPORTS.write(report)
        kind = iso.MessageType.PACS_002.value
        return ArchivedMessage(participant.id, "out", kind, report.message_id, out)

    # ------------------------------------------------------------------ archive
    def archive(
        self, participant: Participant, limit: int = 100, *, after: str | None = None
    ) -> list[dict[str, Any]]:
        """The participant's messages without their bodies, each with its `position`: the
        newest first, or, given `after` (the `position` of the last one read; "0" is the
        start), those archived since, oldest first. That is how a participant that polls
        reads its inbox: never a message twice, never one missed, though the hub's writers
        commit in any order (store.archive_page)."""
        position = None
        if after is not None:
            try:
                position = store.Position.parse(after)
            except ValueError:
                raise DomainError(
                    SwitchError.ARCHIVE_POSITION_INVALID,
                    "after must be the position of an archived message, or 0 for the start",
                    status=422,
                    fields={"after": after},
                ) from None
        with self.engine.connect() as connection:
            return store.archive_page(
                connection, participant.id, max(1, min(limit, ARCHIVE_PAGE_MAX)), position
            )

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
        self.keep(ArchivedMessage(participant.id, direction, kind, business_id, body))

    def _archive_inbound(
        self,
        participant: Participant,
        header: iso.BusinessApplicationHeader,
        document: iso.Message,
        body: bytes,
    ) -> bytes | None:
        """Archive a received envelope; returns the body of the first earlier one from the
        same sender, of the same type, under the same message id (None: the id is new).

        Every message is archived, a refused duplicate too (the record is complete); the
        comparison is with the first, so a refused duplicate re-sent stays refused. One
        indexed lookup (ix_switch_messages_business_id), in the archive's own transaction.
        """
        kind = header.message_definition_id
        message = _received(participant, header, document, body)
        with self.engine.begin() as connection:
            earlier = None
            if kind in _UNIQUE_MESSAGE_IDS:
                # The Document's MsgId is what answers name, the AppHdr's id what the archive
                # files the message under; both are looked for among both of the archive's.
                earlier = store.first_inbound_message(
                    connection,
                    participant.id,
                    kind,
                    {document.message_id, header.business_message_id},
                )
            store.insert_messages(connection, [message], self.clock.now_ns())
        return earlier

    def _duplicate(
        self, participant: Participant, document: iso.Message
    ) -> iso.PaymentStatusReport | iso.CustomerPaymentStatusReport | iso.RequestToPayResponse:
        """The answer to a reused MsgId: the whole message rejected, DUPL (ISO's way)."""
        kind = document.MESSAGE_TYPE
        group = iso.OriginalGroupStatus(
            original_message_id=document.message_id,
            original_message_name=kind.value,
            status=iso.PaymentStatus.RJCT,
            reasons=(
                iso.Reason(
                    code=iso.ReasonCode.DUPL,
                    additional_information=(
                        "this message id was used for a different message: nothing was done",
                    ),
                ),
            ),
        )
        now = from_ns(self.clock.now_ns())
        if kind is iso.MessageType.PAIN_001:  # a pain.001 is answered by pain.002
            return iso.CustomerPaymentStatusReport(
                message_id=_hub_message_id(), created_at=now, original_group=group
            )
        if kind is iso.MessageType.PAIN_013:  # a pain.013 by pain.014
            return iso.RequestToPayResponse(
                message_id=_hub_message_id(),
                created_at=now,
                initiating_party=iso.Party(name=participant.name),
                original_group=group,
            )
        return self._report((group,), [])  # the others by pacs.002

    def keep(self, *messages: ArchivedMessage) -> None:
        """Archive messages in a transaction of their own."""
        with self.engine.begin() as connection:
            store.insert_messages(connection, messages, self.clock.now_ns())

    # ------------------------------------------------------------------ mapping
    def _status(
        self, participant: Participant, tx: iso.StatusRequestTransaction
    ) -> iso.TransactionStatus:
        """pacs.028: the status of a payment the asker sent or received, found by whichever
        of UETR, end-to-end id and TxId it names (all that it names must match)."""
        payment_id = self._payment_asked(participant, tx)
        if payment_id is None:
            # Answered for this transaction alone (AG09, payment not received); the
            # message's others are answered too.
            return _refused(tx, iso.ReasonCode.AG09, _NOT_FOUND_TEXT)
        return _status_of(self.payments.payment(payment_id))

    def _answer(self, payee: Participant, tx: iso.TransactionStatus) -> iso.TransactionStatus:
        """pacs.002 from a payee: its decision on a payment to it, answered with the
        payment's status after it (the first decision stands; an unknown one is AG09)."""
        decision = _decision_of(tx)
        payment_id = self._payment_asked(payee, tx, payee_only=True)
        if payment_id is None or decision is None:
            reason = iso.ReasonCode.AG09 if payment_id is None else iso.ReasonCode.FF01
            text = (
                _NOT_FOUND_TEXT if payment_id is None else "a decision is ACSC, ACCC, ACSP or RJCT"
            )
            return _refused(tx, reason, text)
        return _status_of(self.payments.answer(payee.code, payment_id, decision))

    def _payment_asked(
        self,
        participant: Participant,
        tx: iso.StatusRequestTransaction | iso.TransactionStatus,
        *,
        payee_only: bool = False,
    ) -> uuid.UUID | None:
        table = store.payments_table
        named = []
        if tx.original_uetr is not None:
            named.append(table.c.uetr == tx.original_uetr)
        if tx.original_end_to_end_id is not None:
            named.append(table.c.end_to_end_id == tx.original_end_to_end_id)
        if tx.original_transaction_id is not None:
            named.append(table.c.tx_id == tx.original_transaction_id)
        # The payer's own ids first: (payer, end-to-end id) is unique and indexed, as is the
        # UETR. A payee's end-to-end ids are the payers', so several may match: ambiguous.
        # Without a UETR, a payee's payments are searched over the last STATUS_LOOKBACK_S
        # only (on the payee's (payee_id, created_at) index): no status request scans a
        # participant's whole history.
        recent = (table.c.payee_id == participant.id) & (
            table.c.created_at >= self.clock.now_ns() - STATUS_LOOKBACK_S * NS_PER_S
        )
        sides = (
            [table.c.payer_id == participant.id, recent]
            if tx.original_uetr is None
            else [(table.c.payer_id == participant.id) | (table.c.payee_id == participant.id)]
        )
        if payee_only:
            sides = [recent if tx.original_uetr is None else table.c.payee_id == participant.id]
        with self.engine.connect() as connection:
            for side in sides:
                found = connection.execute(sa.select(table.c.id).where(side, *named).limit(2)).all()
                if found:
                    return found[0].id if len(found) == 1 else None
        return None

    def _report(
        self,
        groups: tuple[iso.OriginalGroupStatus, ...],
        statuses: list[iso.TransactionStatus],
    ) -> iso.PaymentStatusReport:
        now: datetime = from_ns(self.clock.now_ns())
        return iso.PaymentStatusReport(
            message_id=_hub_message_id(),
            created_at=now,
            original_groups=groups,
            transactions=tuple(statuses),
        )


def _received(
    sender: Participant, header: iso.BusinessApplicationHeader, document: iso.Message, body: bytes
) -> ArchivedMessage:
    """A received envelope as the archive keeps it: filed under its AppHdr BizMsgIdr, with
    the Document's MsgId beside it where the two differ (what the duplicate check reads)."""
    message_id = document.message_id
    return ArchivedMessage(
        sender.id,
        "in",
        header.message_definition_id,
        header.business_message_id,
        body,
        document_message_id=message_id if message_id != header.business_message_id else None,
    )


def _hub_message_id() -> str:
    return f"HUB{uuid.uuid4().hex[:29]}"


def _uetr(participant: Participant, end_to_end_id: str) -> uuid.UUID:
    """A UUIDv4-shaped UETR derived from the sender and its end-to-end id (stable)."""
    digest = hashlib.sha256(f"{participant.id}:{end_to_end_id}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def _same_message(earlier: bytes, body: bytes, document: iso.Message) -> bool:
    """Whether a message under a used MsgId is the earlier one re-sent (a retry).

    The same bytes, or the same Document but for its creation time: a sender that builds
    its retry again stamps it anew (the AppHdr, PssblDplct included, may differ too).
    """
    if earlier == body:
        return True
    try:
        before = iso.parse_envelope(earlier).document
    except DomainError:  # archived under older rules: not the same message
        return False
    if type(before) is not type(document):
        return False
    return before == dataclasses.replace(document, created_at=before.created_at)


def _request_lifetime_s(expiry: date | None, now_ns: int) -> int | None:
    """How long a pain.013 request lives, in seconds; None if its expiry has passed."""
    if expiry is None:
        return REQUEST_LIFETIME_S_DEFAULT
    if isinstance(expiry, datetime):
        end_ns = to_ns(expiry)
    else:
        # A date-only XpryDt/Dt: payable all that day, a business day in Pakistan time.
        end_ns = to_ns(datetime.combine(expiry + timedelta(days=1), time(), PAKISTAN))
    remaining_ns = end_ns - now_ns
    if remaining_ns <= 0:
        return None
    return max(1, remaining_ns // NS_PER_S)  # a request lives whole seconds


def _request_status(end_to_end_id: str, request: PaymentRequest) -> iso.TransactionStatus:
    """pain.014's status of a stored request: PDNG while open, ACCP once paid, else RJCT."""
    if request.status is RequestStatus.OPEN:
        return iso.TransactionStatus(
            status=iso.PaymentStatus.PDNG, original_end_to_end_id=end_to_end_id
        )
    if request.status is RequestStatus.PAID:
        return iso.TransactionStatus(
            status=iso.PaymentStatus.ACCP, original_end_to_end_id=end_to_end_id
        )
    # Refused with its reason; expired, as one that arrives expired (see _request_to_pay).
    reason = (
        request.reason.value
        if request.status is RequestStatus.REJECTED and request.reason
        else "AEXR"
    )
    return _rejected(end_to_end_id, reason)


# The hub's statuses and reasons as ISO's, converted once rather than for every row.
_STATUSES = {status: iso.PaymentStatus(status.value) for status in PaymentStatus}
_REASONS = {reason: iso.Reason(code=iso.ReasonCode(reason.value)) for reason in ReasonCode}


def _request_refusal(error: DomainError) -> iso.ReasonCode | None:
    """The reason a pain.014 answer about a request is refused alone (None: not about one):
    unknown AG09, expired AEXR, paid already DUPL, refused already AG01."""
    if error.code == SwitchError.REQUEST_NOT_FOUND:
        return iso.ReasonCode.AG09
    if error.code == SwitchError.REQUEST_NOT_OPEN:
        return {
            RequestStatus.EXPIRED.value: iso.ReasonCode.AEXR,
            RequestStatus.PAID.value: iso.ReasonCode.DUPL,
        }.get(str(error.fields.get("status")), iso.ReasonCode.AG01)
    return None


def _refused(
    tx: iso.StatusRequestTransaction | iso.TransactionStatus | iso.ReturnTransaction,
    code: iso.ReasonCode,
    text: str,
) -> iso.TransactionStatus:
    """One transaction of a message refused (RJCT with a reason and why), named by its
    original ids; the message's other transactions are answered as they go."""
    return iso.TransactionStatus(
        status=iso.PaymentStatus.RJCT,
        original_end_to_end_id=tx.original_end_to_end_id,
        original_transaction_id=tx.original_transaction_id,
        original_uetr=tx.original_uetr,
        reasons=(iso.Reason(code=code, additional_information=(text,)),),
    )


def _decision_of(status: iso.TransactionStatus) -> PayeeDecision | None:
    """A payee's decision in a pacs.002: ACSC, ACCC or ACSP accept; RJCT rejects with its
    reason (BE01 when the hub has no such code); anything else (PDNG) decides nothing."""
    if status.status in (iso.PaymentStatus.ACSC, iso.PaymentStatus.ACCC, iso.PaymentStatus.ACSP):
        return PayeeDecision(accept=True)
    if status.status is iso.PaymentStatus.RJCT:
        code = status.reasons[0].code if status.reasons and status.reasons[0].code else None
        reason = ReasonCode(code.value) if code and code.value in ReasonCode.__members__ else None
        return PayeeDecision(accept=False, reason=reason or ReasonCode.BE01)
    return None


def _hub_reason(code: iso.ReasonCode) -> ReasonCode | None:
    """The hub's reason for an ISO one: the same code, its equivalent, or None."""
    if code.value in ReasonCode.__members__:
        return ReasonCode(code.value)
    return _REASON_EQUIVALENTS.get(code)


def _refusal_reason(code: iso.ReasonCode | None) -> ReasonCode:
    """Why a debtor's institution refused a request to pay, in the hub's codes.

    The refusal stands whatever code it carries (rejecting it would leave a request open that
    its debtor declined), so a code the hub has no equivalent for (AM09, FRAD...) is recorded
    as CUST: declined for the debtor customer, all the creditor needs to learn.
    """
    if code is None:
        return ReasonCode.CUST
    return _hub_reason(code) or ReasonCode.CUST


def _rejected(end_to_end_id: str, code: str) -> iso.TransactionStatus:
    return iso.TransactionStatus(
        status=iso.PaymentStatus.RJCT,
        original_end_to_end_id=end_to_end_id,
        reasons=(iso.Reason(code=iso.ReasonCode(code)),),
    )


def _request(
    document: iso.CustomerCreditTransfer, tx: iso.CreditTransferTransaction
) -> CreditTransfer:
    """A pacs.008 transaction as the switch's credit transfer."""
    creditor = tx.creditor_account
    return CreditTransfer(
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


def _status_of(payment: Payment, *, with_tx_id: bool = True) -> iso.TransactionStatus:
    """A payment's status as ISO 20022 names it (pain.002 and pain.014 have no TxId)."""
    reasons = (_REASONS[payment.reason],) if payment.reason else ()
    return iso.TransactionStatus(
        status=_STATUSES[payment.status],
        original_end_to_end_id=payment.request.end_to_end_id,
        original_transaction_id=payment.request.tx_id if with_tx_id else None,
        original_uetr=payment.request.uetr,
        reasons=reasons,
    )
