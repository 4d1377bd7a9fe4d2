"""The two messages the hub writes for every payment, from templates.

A credit advice (the pacs.008 to the payee) and a status report (the pacs.002 of one
payment's state) are the hub's most frequent messages: one of each per payment, thousands
a second at peak. Each is defined once, as a model built from a flat record (`Advice`,
`Report`) and written by `iso.build_envelope`; `ADVICES` and `REPORTS` write the same bytes
from a template per shape (iso20022/template.py) after the same checks, made directly on the
record (`check_advice`, `check_report`: the model's checks in the model's order, without its
objects; tests hold both to the same refusals).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime

from tijarat.kernel.clock import from_ns
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.iso20022.template import Templates
from tijarat.switch.iso20022.values import (
    MAX35,
    MAX140,
    amount_to_text,
    check_amount,
    check_code,
    check_datetime,
    check_enum,
    check_optional,
    check_text,
    check_uetr,
    datetime_to_text,
    invalid_field,
)
from tijarat.switch.model import (
    CreditTransfer,
    Participant,
    Payment,
    PaymentRequest,
    RequestStatus,
)

HUB_MEMBER_ID = "RAASTHUB"  # the hub's own id in AppHdr Fr/To


def reply_envelope(
    to_member: str,
    answer: iso.PaymentStatusReport | iso.CustomerPaymentStatusReport | iso.RequestToPayResponse,
) -> iso.Envelope:
    """An answer from the hub to a participant, under its AppHdr."""
    return iso.Envelope.of(answer, sender=HUB_MEMBER_ID, receiver=to_member)


# ------------------------------------------------------------------- credit advice
@dataclass(frozen=True, slots=True)
class Advice:
    """What a credit advice says: one transaction, from the hub to the payee."""

    message_id: str
    created_at: datetime
    payer: str  # member ids
    payee: str
    end_to_end_id: str
    tx_id: str
    uetr: uuid.UUID
    amount: Money
    debtor_name: str
    debtor_iban: Iban
    creditor_name: str
    creditor_iban: Iban
    purpose: str | None
    remittance: str | None


def advice_envelope(advice: Advice) -> iso.Envelope:
    transaction = iso.CreditTransferTransaction(
        end_to_end_id=advice.end_to_end_id,
        transaction_id=advice.tx_id,
        uetr=advice.uetr,
        amount=advice.amount,
        debtor=iso.Party(name=advice.debtor_name),
        debtor_account=iso.Account(iban=advice.debtor_iban),
        debtor_agent=iso.Agent(member_id=advice.payer),
        creditor=iso.Party(name=advice.creditor_name),
        creditor_account=iso.Account(iban=advice.creditor_iban),
        creditor_agent=iso.Agent(member_id=advice.payee),
        purpose=advice.purpose,
        remittance_information=(advice.remittance,) if advice.remittance is not None else (),
    )
    document = iso.CustomerCreditTransfer(
        message_id=advice.message_id, created_at=advice.created_at, transactions=(transaction,)
    )
    return iso.Envelope.of(document, sender=HUB_MEMBER_ID, receiver=advice.payee)


def check_advice(advice: Advice) -> None:
    """What building `advice_envelope(advice)` checks, in the order it checks it (the same
    refusal, code and field, for the same input), without making the dozen objects of the
    model: the template's check on every credit advice (17 -> ~3 us). Tests hold the two to
    the same answers (tests/unit/test_iso20022_template.py)."""
    check_text(advice.debtor_name, "name", MAX140)
    _check_iban(advice.debtor_iban)
    _check_member(advice.payer)
    check_text(advice.creditor_name, "name", MAX140)
    _check_iban(advice.creditor_iban)
    _check_member(advice.payee)
    check_text(advice.end_to_end_id, "end_to_end_id", MAX35)
    check_text(advice.tx_id, "transaction_id", MAX35)
    check_uetr(advice.uetr, "uetr")
    check_amount(advice.amount, "amount")
    if advice.purpose is not None:
        check_code(advice.purpose, "purpose")
    if advice.remittance is not None:
        check_text(advice.remittance, "remittance_information", MAX140)
    check_text(advice.message_id, "message_id", MAX35)
    check_datetime(advice.created_at, "created_at")


def _check_iban(iban: object) -> None:
    """Account(iban=...)'s checks."""
    if iban is None:
        raise invalid_field("account", "an account needs an IBAN, a Raast ID or a hub id")
    check_optional(iban, Iban, "iban")


def _check_member(member_id: object) -> None:
    """Agent(member_id=...)'s checks."""
    if member_id is None:
        raise invalid_field("agent", "an agent needs a BIC or a member id")
    check_text(member_id, "member_id", MAX35)


def build_advice(advice: Advice) -> bytes:
    return iso.build_envelope(advice_envelope(advice))


def _advice_shape(advice: Advice) -> Hashable:
    return advice.amount.currency, advice.purpose is None, advice.remittance is None


# Distinctive values of the advice's fields: none is inside another or in the fixed text.
_MARKED_AT = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
_MARKED_UETR = uuid.UUID("0f1e2d3c-4b5a-4987-a6b5-c4d3e2f1a0b9")


def _advice_markers(advice: Advice) -> Advice:
    return Advice(
        message_id="MARKMSGID",
        created_at=_MARKED_AT,
        payer="MARKPAYER",
        payee="MARKPAYEE",
        end_to_end_id="MARKENDTOEND",
        tx_id="MARKTXID",
        uetr=_MARKED_UETR,
        amount=Money(98_765_432_101, advice.amount.currency),
        debtor_name="MARKDEBTORNAME",
        debtor_iban=make_pk_iban("MRKD", "1357913579"),
        creditor_name="MARKCREDITORNAME",
        creditor_iban=make_pk_iban("MRKC", "2468024680"),
        purpose=None if advice.purpose is None else "QZ9X",
        remittance=None if advice.remittance is None else "MARKREMITTANCE",
    )


ADVICES: Templates[Advice] = Templates(
    build=build_advice,
    holes=(
        lambda a: a.message_id,
        lambda a: datetime_to_text(a.created_at),
        lambda a: a.payer,
        lambda a: a.payee,
        lambda a: a.end_to_end_id,
        lambda a: a.tx_id,
        lambda a: str(a.uetr),
        lambda a: amount_to_text(a.amount),
        lambda a: a.debtor_name,
        lambda a: a.debtor_iban.compact,
        lambda a: a.creditor_name,
        lambda a: a.creditor_iban.compact,
        lambda a: a.purpose or "",
        lambda a: a.remittance or "",
    ),
    shape=_advice_shape,
    markers=_advice_markers,
    check=check_advice,
)


# ------------------------------------------------------------------- status report
@dataclass(frozen=True, slots=True)
class Report:
    """What a status report says: one payment's status, from the hub to a participant."""

    message_id: str
    created_at: datetime
    to: str  # member id
    status: iso.PaymentStatus
    reason: iso.ReasonCode | None
    end_to_end_id: str
    tx_id: str
    uetr: uuid.UUID


def report_envelope(report: Report) -> iso.Envelope:
    reasons = (iso.Reason(code=report.reason),) if report.reason is not None else ()
    answer = iso.PaymentStatusReport(
        message_id=report.message_id,
        created_at=report.created_at,
        transactions=(
            iso.TransactionStatus(
                status=report.status,
                original_end_to_end_id=report.end_to_end_id,
                original_transaction_id=report.tx_id,
                original_uetr=report.uetr,
                reasons=reasons,
            ),
        ),
    )
    return reply_envelope(report.to, answer)


def check_report(report: Report) -> None:
    """What building `report_envelope(report)` checks, in its order (see check_advice)."""
    if report.reason is not None:
        check_enum(report.reason, iso.ReasonCode, "code")
    check_enum(report.status, iso.PaymentStatus, "status")
    for value, field in (
        (report.end_to_end_id, "original_end_to_end_id"),
        (report.tx_id, "original_transaction_id"),
    ):
        if value is not None:
            check_text(value, field, MAX35)
    if report.uetr is not None:
        check_uetr(report.uetr, "original_uetr")
    if report.end_to_end_id is None and report.tx_id is None and report.uetr is None:
        raise invalid_field(
            "original_end_to_end_id",
            "a transaction status names its transaction: end-to-end id, TxId or UETR",
        )
    if report.status is iso.PaymentStatus.RJCT and report.reason is None:
        raise invalid_field("reasons", "a rejection must say why")
    check_text(report.message_id, "message_id", MAX35)
    check_datetime(report.created_at, "created_at")
    _check_member(report.to)


def build_report(report: Report) -> bytes:
    return iso.build_envelope(report_envelope(report))


def _report_markers(report: Report) -> Report:
    return Report(
        message_id="MARKMSGID",
        created_at=_MARKED_AT,
        to="MARKRECEIVER",
        status=report.status,
        reason=report.reason,
        end_to_end_id="MARKENDTOEND",
        tx_id="MARKTXID",
        uetr=_MARKED_UETR,
    )


REPORTS: Templates[Report] = Templates(
    build=build_report,
    holes=(
        lambda r: r.message_id,
        lambda r: datetime_to_text(r.created_at),
        lambda r: r.to,
        lambda r: r.end_to_end_id,
        lambda r: r.tx_id,
        lambda r: str(r.uetr),
    ),
    shape=lambda r: (r.status, r.reason),
    markers=_report_markers,
    check=check_report,
)


# ------------------------------------------------------------------- payment return
def return_envelope(
    *,
    message_id: str,
    created_at: datetime,
    payer: str,
    payee: str,
    original: CreditTransfer,
    return_id: uuid.UUID,
    returned: Money,
    reason: iso.ReasonCode,
) -> iso.Envelope:
    """The pacs.004 the hub forwards to the original payer's institution when the payee's
    returns (part of) a settled payment: which payment, how much comes back, and why."""
    document = iso.PaymentReturn(
        message_id=message_id,
        created_at=created_at,
        transactions=(
            iso.ReturnTransaction(
                return_id=return_id.hex,  # 32 characters: within Max35Text
                original_end_to_end_id=original.end_to_end_id,
                original_transaction_id=original.tx_id,
                original_uetr=original.uetr,
                returned_amount=returned,
                original_amount=Money(original.amount_minor, original.currency),
                original_group=iso.OriginalGroupReference(
                    original_message_id=original.msg_id,
                    original_message_name=iso.MessageType.PACS_008.value,
                ),
                reason=iso.Reason(code=reason),
            ),
        ),
        instructing_agent=iso.Agent(member_id=payee),
        instructed_agent=iso.Agent(member_id=payer),
    )
    return iso.Envelope.of(document, sender=HUB_MEMBER_ID, receiver=payer)


# ------------------------------------------------------------------- request to pay
def request_end_to_end_id(request: PaymentRequest) -> str:
    """How a request is named to both institutions: the creditor's end-to-end id, else (a
    request made without one) the hub's id for it, which the debtor may answer with."""
    return request.end_to_end_id or request.id.hex


def forwarded_request_envelope(
    request: PaymentRequest,
    *,
    message_id: str,
    creditor: Participant,
    debtor: Participant,
    debtor_name: str,
) -> iso.Envelope:
    """The pain.013 the hub forwards to the debtor's institution, built from the stored
    request: who asks, how much, where to pay it, until when. PmtInfId and InstrId carry the
    hub's request id (what the JSON routes name it by)."""
    creditor_account = iso.Account(
        iban=Iban.parse(request.creditor_iban) if request.creditor_iban else None,
        proxy=MobileNumber.parse(request.creditor_alias) if request.creditor_alias else None,
    )
    created_at = from_ns(request.created_at)
    document = iso.RequestToPay(
        message_id=message_id,
        created_at=created_at,
        initiating_party=iso.Party(name=creditor.name),
        payment_instructions=(
            iso.RequestToPayInstruction(
                payment_information_id=request.id.hex,
                requested_execution=created_at,  # payable at once, until it expires
                expiry=from_ns(request.expires_at),
                debtor=iso.Party(name=debtor_name),
                debtor_account=iso.Account(proxy=MobileNumber.parse(request.debtor_alias)),
                debtor_agent=iso.Agent(member_id=debtor.code),
                transactions=(
                    iso.RequestToPayTransaction(
                        end_to_end_id=request_end_to_end_id(request),
                        instruction_id=request.id.hex,
                        amount=Money(request.amount_minor, request.currency),
                        creditor=iso.Party(name=request.creditor_name),
                        creditor_account=creditor_account,
                        creditor_agent=iso.Agent(member_id=creditor.code),
                        remittance_information=(
                            (request.reference,) if request.reference is not None else ()
                        ),
                    ),
                ),
            ),
        ),
    )
    return iso.Envelope.of(document, sender=HUB_MEMBER_ID, receiver=debtor.code)


def request_outcome_envelope(
    request: PaymentRequest,
    *,
    message_id: str,
    created_at: datetime,
    creditor: Participant,
    debtor: Participant,
    original_message_id: str | None,
    original_payment_information_id: str | None,
    payment: Payment | None,
) -> iso.Envelope:
    """The pain.014 telling the creditor's institution what became of its request: ACCP
    (paid; OrgnlUETR is the payment's UETR and StsId its end-to-end id, to follow it with a
    pacs.028), RJCT with the debtor's reason, or RJCT AEXR once it expired unanswered."""
    end_to_end_id = request_end_to_end_id(request)
    if request.status is RequestStatus.PAID:
        if payment is None:
            raise ValueError(f"request {request.id} is paid: its payment is needed")
        status = iso.TransactionStatus(
            status=iso.PaymentStatus.ACCP,
            original_end_to_end_id=end_to_end_id,
            original_uetr=payment.request.uetr,
            status_id=payment.request.end_to_end_id,
            acceptance_datetime=from_ns(payment.resolved_at or payment.created_at),
        )
    elif request.status is RequestStatus.REJECTED:
        code = request.reason.value if request.reason is not None else "CUST"
        status = iso.TransactionStatus(
            status=iso.PaymentStatus.RJCT,
            original_end_to_end_id=end_to_end_id,
            reasons=(iso.Reason(code=iso.ReasonCode(code)),),
        )
    elif request.status is RequestStatus.EXPIRED:
        status = iso.TransactionStatus(
            status=iso.PaymentStatus.RJCT,
            original_end_to_end_id=end_to_end_id,
            reasons=(
                iso.Reason(
                    code=iso.ReasonCode.AEXR,
                    additional_information=("the request expired before the debtor answered",),
                ),
            ),
        )
    else:
        raise ValueError(f"request {request.id} is still open: nothing to tell")
    document = iso.RequestToPayResponse(
        message_id=message_id,
        created_at=created_at,
        initiating_party=iso.Party(name=debtor.name),  # the debtor side answers
        original_group=iso.OriginalGroupStatus(
            original_message_id=original_message_id or request.id.hex,
            original_message_name=iso.MessageType.PAIN_013.value,
        ),
        payment_instructions=(
            iso.PaymentInstructionStatus(
                original_payment_information_id=original_payment_information_id or request.id.hex,
                transactions=(status,),
            ),
        ),
    )
    return iso.Envelope.of(document, sender=HUB_MEMBER_ID, receiver=creditor.code)
