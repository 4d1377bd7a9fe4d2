"""HTTP models of the switch API (the JSON form; ISO 20022 XML carries the same content)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from tijarat.switch.iso20022.values import REFUSED_CHARACTER
from tijarat.switch.model import (
    Alias,
    AliasClaim,
    AliasLookup,
    CreditTransfer,
    Participant,
    ParticipantCategory,
    Payment,
    ReasonCode,
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
    id: uuid.UUID
    number: str
    status: str
    resolve_after: int

    @classmethod
    def of(cls, c: AliasClaim) -> ClaimOut:
        return cls(
            id=c.id, number=c.number.e164, status=c.status.value, resolve_after=c.resolve_after
        )


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
    creditor_iban: str | None
    returned_minor: int

    @classmethod
    def of(cls, p: Payment) -> PaymentOut:
        return cls(
            id=p.id,
            status=p.status.value,
            reason=p.reason.value if p.reason else None,
            end_to_end_id=p.request.end_to_end_id,
            uetr=p.request.uetr,
            amount_minor=p.request.amount_minor,
            currency=p.request.currency,
            creditor_iban=p.creditor_iban,
            returned_minor=p.returned_minor,
        )


class AnswerIn(_In):
    accept: bool
    reason: ReasonCode | None = None


class ReturnIn(_In):
    return_id: uuid.UUID
    amount_minor: int = Field(gt=0)
    reason: ReasonCode
