"""HTTP models of the wallet API. Amounts are integers in minor units (paisa, cents)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from tijarat.kernel.money import Money, format_money
from tijarat.switch.model import PaymentRequest
from tijarat.wallet.model import Customer, LimitKind, Movement, Payout
from tijarat.wallet.service import LimitView, PaymentOutcome, WalletStatement


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndividualIn(_In):
    kind: Literal["individual"] = "individual"
    name: str = Field(min_length=1, max_length=140)
    cnic: str = Field(min_length=13, max_length=15)
    mobile: str = Field(min_length=10, max_length=16)
    tier: str = "level0"


class BusinessIn(_In):
    kind: Literal["business"] = "business"
    name: str = Field(min_length=1, max_length=140)
    ntn: str = Field(min_length=7, max_length=16)
    mobile: str = Field(min_length=10, max_length=16)
    address: str = Field(min_length=1, max_length=400)
    owners: list[str] = Field(min_length=1, max_length=20)
    owner_cnic: str | None = Field(default=None, min_length=13, max_length=15)
    tier: str = "business"


class AccountOut(BaseModel):
    id: uuid.UUID
    currency: str
    iban: str | None
    available_minor: int
    available: str


class CustomerOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    mobile: str
    cnic: str | None
    ntn: str | None
    address: str | None
    owners: list[str]
    tier: str
    status: str
    accounts: list[AccountOut] = []

    @classmethod
    def of(cls, c: Customer, accounts: list[AccountOut] | None = None) -> CustomerOut:
        return cls(
            id=c.id,
            kind=c.kind.value,
            name=c.name,
            mobile=c.mobile,
            cnic=c.cnic,
            ntn=c.ntn,
            address=c.address,
            owners=list(c.owners),
            tier=c.tier,
            status=c.status.value,
            accounts=accounts or [],
        )


class TierUpgradeIn(_In):
    tier: str
    evidence: dict[str, str] = Field(
        description="what the verification provider needs, e.g. cnic, fingerprint_match_score"
    )


class LimitIn(_In):
    amount_minor: StrictInt | None = Field(description="null removes the limit set at this level")
    by_operator: bool = False


class LimitOut(BaseModel):
    kind: str
    tier_minor: int | None
    assigned_minor: int | None
    own_minor: int | None
    effective_minor: int | None
    used_minor: int
    remaining_minor: int | None

    @classmethod
    def of(cls, v: LimitView) -> LimitOut:
        return cls(
            kind=v.kind.value,
            tier_minor=v.tier_minor,
            assigned_minor=v.assigned_minor,
            own_minor=v.own_minor,
            effective_minor=v.effective_minor,
            used_minor=v.used_minor,
            remaining_minor=v.remaining_minor,
        )


class TierIn(_In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=80)
    effective_from: str = Field(description="Pakistan date YYYY-MM-DD")
    limits_minor: dict[LimitKind, StrictInt | None]


class TierOut(BaseModel):
    code: str
    name: str
    effective_from: str
    limits_minor: dict[str, int | None]


class AmountIn(_In):
    amount_minor: StrictInt = Field(gt=0)


class PaymentIn(_In):
    to: str = Field(min_length=10, max_length=34, description="Raast ID (mobile) or IBAN")
    amount_minor: StrictInt = Field(gt=0)
    payee_name: str | None = Field(default=None, max_length=140)
    note: str | None = Field(default=None, max_length=140)


class QrPaymentIn(_In):
    payload: str = Field(min_length=1, max_length=512)
    amount_minor: StrictInt | None = Field(default=None, gt=0)


class RefundIn(_In):
    movement_id: uuid.UUID
    amount_minor: StrictInt = Field(gt=0)


class ConversionIn(_In):
    amount_minor: StrictInt = Field(gt=0)
    from_currency: str = Field(min_length=3, max_length=3)
    to_currency: str = Field(min_length=3, max_length=3)


class ConversionOut(BaseModel):
    from_amount_minor: int
    from_currency: str
    to_amount_minor: int
    to_currency: str
    rate: str


class MovementOut(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    direction: str
    kind: str
    amount_minor: int
    amount: str
    currency: str
    status: str
    counterparty: str | None
    reference: str | None
    reason: str | None
    payment_id: uuid.UUID | None
    end_to_end_id: str | None
    group_id: uuid.UUID
    created_at: int
    completed_at: int | None
    fee_minor: int

    @classmethod
    def of(cls, m: Movement) -> MovementOut:
        return cls(
            id=m.id,
            account_id=m.account_id,
            direction=m.direction.value,
            kind=m.kind.value,
            amount_minor=m.amount_minor,
            amount=format_money(Money(m.amount_minor, m.currency)),
            currency=m.currency,
            status=m.status.value,
            counterparty=m.counterparty,
            reference=m.reference,
            reason=m.reason,
            payment_id=m.payment_id,
            end_to_end_id=m.end_to_end_id,
            group_id=m.group_id,
            created_at=m.created_at,
            completed_at=m.completed_at,
            fee_minor=m.fee_minor,
        )


class OutcomeOut(BaseModel):
    group_id: uuid.UUID
    status: str
    reason: str | None
    payment_id: uuid.UUID | None
    end_to_end_id: str | None
    replayed: bool
    movements: list[MovementOut]

    @classmethod
    def of(cls, o: PaymentOutcome) -> OutcomeOut:
        return cls(
            group_id=o.group_id,
            status=o.status.value,
            reason=o.reason,
            payment_id=o.payment_id,
            end_to_end_id=o.end_to_end_id,
            replayed=o.replayed,
            movements=[MovementOut.of(m) for m in o.movements],
        )


class PayoutRowOut(BaseModel):
    line: int
    name: str
    destination: str
    amount_minor: int
    reference: str
    status: str
    reason: str | None
    detail: str | None
    end_to_end_id: str | None
    uetr: uuid.UUID | None


class PayoutOut(BaseModel):
    id: uuid.UUID
    file_name: str
    file_sha256: str
    currency: str
    rows: int
    settled: int
    pending: int
    rejected: int
    settled_minor: int
    results: list[PayoutRowOut]

    @classmethod
    def of(cls, p: Payout) -> PayoutOut:
        from tijarat.wallet.model import PayoutRowStatus as S  # noqa: PLC0415

        return cls(
            id=p.id,
            file_name=p.file_name,
            file_sha256=p.file_sha256,
            currency=p.currency,
            rows=len(p.rows),
            settled=p.count(S.SETTLED),
            pending=p.count(S.PENDING),
            rejected=p.count(S.REJECTED),
            settled_minor=p.settled_minor,
            results=[
                PayoutRowOut(
                    line=r.line,
                    name=r.name,
                    destination=r.destination,
                    amount_minor=r.amount_minor,
                    reference=r.reference,
                    status=r.status.value,
                    reason=r.reason,
                    detail=r.detail,
                    end_to_end_id=r.end_to_end_id,
                    uetr=r.uetr,
                )
                for r in p.rows
            ],
        )


class StatementLineOut(BaseModel):
    at: int
    direction: str
    amount_minor: int
    balance_after_minor: int
    description: str
    transfer_id: uuid.UUID


class StatementOut(BaseModel):
    customer_id: uuid.UUID
    account_id: uuid.UUID
    currency: str
    from_ns: int
    to_ns: int
    opening_minor: int
    closing_minor: int
    truncated: bool
    lines: list[StatementLineOut]

    @classmethod
    def of(cls, s: WalletStatement) -> StatementOut:
        return cls(
            customer_id=s.customer.id,
            account_id=s.account.id,
            currency=s.account.currency,
            from_ns=s.from_ns,
            to_ns=s.to_ns,
            opening_minor=s.opening_minor,
            closing_minor=s.closing_minor,
            truncated=s.truncated,
            lines=[
                StatementLineOut(
                    at=line.at,
                    direction=line.direction.value,
                    amount_minor=line.amount_minor,
                    balance_after_minor=line.balance_after_minor,
                    description=line.description,
                    transfer_id=line.transfer_id,
                )
                for line in s.lines
            ],
        )


class FeeRuleIn(_In):
    fixed_minor: StrictInt = Field(ge=0)
    basis_points: StrictInt = Field(ge=0, le=10_000)
    maximum_minor: StrictInt | None = Field(default=None, ge=0)
    payer: Literal["debit", "credit"] = "credit"


class FundIn(_In):
    amount_minor: StrictInt = Field(gt=0)
    request_id: uuid.UUID


class PaymentRequestIn(_In):
    debtor: str = Field(min_length=10, max_length=16, description="the payer's Raast ID")
    amount_minor: StrictInt = Field(gt=0)
    reference: str | None = Field(default=None, max_length=140)
    expires_in_s: StrictInt = Field(default=7 * 86_400, gt=0, le=90 * 86_400)


class PaymentRequestOut(BaseModel):
    id: uuid.UUID
    debtor: str
    amount_minor: int
    currency: str
    reference: str | None
    status: str
    reason: str | None
    expires_at: int
    payment_id: uuid.UUID | None

    @classmethod
    def of(cls, r: PaymentRequest) -> PaymentRequestOut:
        return cls(
            id=r.id,
            debtor=r.debtor_alias,
            amount_minor=r.amount_minor,
            currency=r.currency,
            reference=r.reference,
            status=r.status.value,
            reason=r.reason.value if r.reason else None,
            expires_at=r.expires_at,
            payment_id=r.payment_id,
        )
