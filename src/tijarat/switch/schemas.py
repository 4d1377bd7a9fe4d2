"""HTTP models of the switch API (the JSON form; ISO 20022 XML carries the same content)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from tijarat.kernel.clock import from_ns
from tijarat.kernel.identifiers import mask_name
from tijarat.switch.iso20022.values import REFUSED_CHARACTER
from tijarat.switch.model import (
    Alias,
    AliasClaim,
    AliasLookup,
    CreditTransfer,
    Participant,
    ParticipantCategory,
    Payment,
    PaymentRequest,
    ReasonCode,
    SettlementReport,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _iso_text(value: str) -> str:
    """What ISO 20022 text allows (iso20022.values.check_text): refused here, at the door,
    rather than when the credit advice is built and the payment can only time out."""
    if not value.strip():
        raise ValueError("must not be blank")
    if REFUSED_CHARACTER.search(value):
        raise ValueError("must not contain control characters")
    return value


Text35 = Annotated[str, Field(min_length=1, max_length=35), AfterValidator(_iso_text)]
Text140 = Annotated[str, Field(min_length=1, max_length=140), AfterValidator(_iso_text)]


class ParticipantIn(_In):
    code: str = Field(min_length=4, max_length=11)
    name: str = Field(min_length=1, max_length=140)
    category: ParticipantCategory
    bank_code: str | None = Field(default=None, min_length=4, max_length=4)
    sponsor_code: str | None = None


class ParticipantOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    category: str
    bank_code: str | None
    status: str
    settlement_account_id: uuid.UUID

    @classmethod
    def of(cls, p: Participant) -> ParticipantOut:
        return cls(
            id=p.id,
            code=p.code,
            name=p.name,
            category=p.category.value,
            bank_code=p.bank_code,
            status=p.status.value,
            settlement_account_id=p.settlement_account_id,
        )


class RegisteredOut(BaseModel):
    participant: ParticipantOut
    secret: str = Field(description="HTTP Basic password of the participant; shown once")


class EndpointIn(_In):
    url: str | None = Field(max_length=400, description="http(s) URL; null removes it")


class NetDebitCapIn(_In):
    cap_minor: StrictInt | None = Field(ge=0, description="null removes the cap")


class LiquidityIn(_In):
    request_id: uuid.UUID
    amount_minor: int = Field(gt=0)
    currency: str = Field(default="PKR", pattern="^[A-Z]{3}$")


class LiquidityOut(BaseModel):
    participant: str
    available_minor: int
    currency: str


class AliasIn(_In):
    number: str = Field(max_length=32)
    iban: str = Field(max_length=40)
    cnic: str = Field(max_length=20)
    account_title: str = Field(min_length=1, max_length=140)


class AliasOut(BaseModel):
    number: str
    iban: str
    account_title: str
    linked_at: int

    @classmethod
    def of(cls, a: Alias) -> AliasOut:
        return cls(
            number=a.number.e164,
            iban=a.iban.compact,
            account_title=a.account_title,
            linked_at=a.linked_at,
        )


class LookupOut(BaseModel):
    number: str
    participant_code: str
    participant_name: str
    masked_title: str
    iban: str | None

    @classmethod
    def of(cls, found: AliasLookup) -> LookupOut:
        return cls(
            number=found.number,
            participant_code=found.participant_code,
            participant_name=found.participant_name,
            masked_title=found.masked_title,
            iban=found.iban,
        )


class ClaimIn(_In):
    number: str = Field(max_length=32)
    iban: str = Field(max_length=40)
    account_title: str = Field(min_length=1, max_length=140)


class ClaimOut(BaseModel):
    """A portability claim as one of its two sides sees it.

    The claimant's customer's IBAN and full title are shown to the claimant alone: the
    donor learns who claims the number and a masked title, enough to put the claim to its
    customer, and no more than a lookup would give it.
    """

    id: uuid.UUID
    number: str
    status: str
    claimant: str = Field(description="code of the participant claiming the number")
    donor: str = Field(description="code of the participant that held it when claimed")
    masked_title: str
    iban: str | None = Field(description="the claimant's customer's IBAN; claimant only")
    account_title: str | None = Field(description="the full title; claimant only")
    created_at: int
    resolve_after: int
    resolved_at: int | None

    @classmethod
    def of(
        cls, c: AliasClaim, *, viewer_id: uuid.UUID, claimant_code: str, donor_code: str
    ) -> ClaimOut:
        mine = viewer_id == c.claimant_id
        return cls(
            id=c.id,
            number=c.number.e164,
            status=c.status.value,
            claimant=claimant_code,
            donor=donor_code,
            masked_title=mask_name(c.account_title),
            iban=c.iban.compact if mine else None,
            account_title=c.account_title if mine else None,
            created_at=c.created_at,
            resolve_after=c.resolve_after,
            resolved_at=c.resolved_at,
        )


class AuditEventOut(BaseModel):
    action: str
    participant: str | None = Field(description="who acted; null when the hub did")
    at: int
    detail: str


class ClaimDetailOut(ClaimOut):
    audit: list[AuditEventOut] = Field(description="the claim's steps, in order")


class CreditTransferIn(_In):
    msg_id: Text35
    end_to_end_id: Text35
    tx_id: Text35
    uetr: uuid.UUID
    amount_minor: int
    currency: str = Field(pattern="^[A-Z]{3}$")
    debtor_name: Text140
    debtor_iban: str = Field(max_length=40)
    creditor_alias: str | None = Field(default=None, max_length=32)
    creditor_iban: str | None = Field(default=None, max_length=40)
    creditor_name: Text140 | None = None
    remittance_information: Text140 | None = None
    purpose: str | None = Field(
        default=None, pattern="^[A-Z0-9]{1,4}$", description="ISO 20022 purpose code"
    )

    def to_model(self) -> CreditTransfer:
        return CreditTransfer(**self.model_dump())


class PaymentOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="ISO 20022 transaction status: PDNG, ACSC or RJCT")
    reason: str | None = Field(description="ISO 20022 status reason code when rejected")
    end_to_end_id: str
    uetr: uuid.UUID
    amount_minor: int
    currency: str
    creditor_iban: str | None = Field(
        description="to the payee, and to a payer that paid to an IBAN; never a payer's "
        "answer for a payment to a Raast ID"
    )
    returned_minor: int

    @classmethod
    def of(cls, p: Payment, *, viewer_id: uuid.UUID) -> PaymentOut:
        # A payer that named a Raast ID sees no IBAN, whatever the outcome: else sending
        # impossible payments (AM04) would turn numbers into IBANs past the lookup limit.
        shown = viewer_id == p.payee_id or p.request.creditor_alias is None
        return cls(
            id=p.id,
            status=p.status.value,
            reason=p.reason.value if p.reason else None,
            end_to_end_id=p.request.end_to_end_id,
            uetr=p.request.uetr,
            amount_minor=p.request.amount_minor,
            currency=p.request.currency,
            creditor_iban=p.creditor_iban if shown else None,
            returned_minor=p.returned_minor,
        )


class AnswerIn(_In):
    accept: bool
    reason: ReasonCode | None = None


class ReturnIn(_In):
    return_id: uuid.UUID
    amount_minor: int = Field(gt=0)
    reason: ReasonCode


class RequestAcceptIn(_In):
    """Accept a request to pay: the debtor pays from the IBAN its Raast ID links to."""

    msg_id: Text35 | None = Field(
        default=None, description="the payment's message id (default: from the request)"
    )


class RequestRejectIn(_In):
    reason: ReasonCode = ReasonCode.CUST


class PaymentRequestOut(BaseModel):
    """A request to pay as its debtor's institution sees it (GET /requests/incoming)."""

    id: uuid.UUID
    end_to_end_id: str = Field(description="the creditor's end-to-end id, else the request id")
    creditor_participant: str
    creditor_name: str
    creditor_alias: str | None
    creditor_iban: str | None
    debtor_alias: str
    amount_minor: int
    currency: str
    reference: str | None
    status: str = Field(description="open, paid, rejected or expired")
    reason: str | None
    payment_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, r: PaymentRequest, *, creditor_code: str) -> PaymentRequestOut:
        return cls(
            id=r.id,
            end_to_end_id=r.end_to_end_id or r.id.hex,
            creditor_participant=creditor_code,
            creditor_name=r.creditor_name,
            creditor_alias=r.creditor_alias,
            creditor_iban=r.creditor_iban,
            debtor_alias=r.debtor_alias,
            amount_minor=r.amount_minor,
            currency=r.currency,
            reference=r.reference,
            status=r.status.value,
            reason=r.reason.value if r.reason else None,
            payment_id=r.payment_id,
            created_at=from_ns(r.created_at),
            expires_at=from_ns(r.expires_at),
        )


class SettlementReportOut(BaseModel):
    """A participant's settlement position over [start, end), in PKR minor units."""

    participant: str
    currency: str
    start: datetime
    end: datetime
    from_timestamp: int
    to_timestamp: int
    opening_minor: int
    closing_minor: int
    sent_count: int
    sent_minor: int
    received_count: int
    received_minor: int
    returned_out_minor: int
    returned_in_minor: int
    funded_minor: int

    @classmethod
    def of(cls, r: SettlementReport) -> SettlementReportOut:
        return cls(
            participant=r.participant_code,
            currency="PKR",
            start=from_ns(r.from_timestamp),
            end=from_ns(r.to_timestamp),
            from_timestamp=r.from_timestamp,
            to_timestamp=r.to_timestamp,
            opening_minor=r.opening_minor,
            closing_minor=r.closing_minor,
            sent_count=r.sent_count,
            sent_minor=r.sent_minor,
            received_count=r.received_count,
            received_minor=r.received_minor,
            returned_out_minor=r.returned_out_minor,
            returned_in_minor=r.returned_in_minor,
            funded_minor=r.funded_minor,
        )
