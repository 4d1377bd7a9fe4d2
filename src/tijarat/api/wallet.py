"""/v1/wallet: the payment institution's API for its back office and apps.

Authenticated with the operator bearer token (the institution's staff or its app backend).
Every call that moves money takes an `Idempotency-Key` header: the same key answers the
first outcome and moves nothing again.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tijarat.api.deps import ContainerDep, OperatorDep
from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money, format_money
from tijarat.switch import qr
from tijarat.wallet import files, statements
from tijarat.wallet.model import (
    PAYOUT_FILE_BYTES_MAX,
    Direction,
    FeeRule,
    LimitKind,
    MovementKind,
    MovementStatus,
    Tier,
)
from tijarat.wallet.schemas import (
    AccountOut,
    AmountIn,
    BusinessIn,
    ConversionIn,
    ConversionOut,
    CustomerOut,
    FeeRuleIn,
    FundIn,
    IndividualIn,
    LimitIn,
    LimitOut,
    MovementOut,
    OutcomeOut,
    PaymentIn,
    PaymentRequestIn,
    PaymentRequestOut,
    PayoutOut,
    QrPaymentIn,
    RefundIn,
    StatementOut,
    TierIn,
    TierOut,
    TierUpgradeIn,
)
from tijarat.wallet.service import WalletService

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        description="Your id for this request: a retry with the same key moves money once",
    ),
]


def _wallet(container: ContainerDep) -> WalletService:
    return container.wallet


def _accounts(wallet: WalletService, customer_id: uuid.UUID) -> list[AccountOut]:
    out = []
    for row in wallet.accounts(customer_id):
        available = wallet.balance(customer_id, row.currency)
        out.append(
            AccountOut(
                id=row.id,
                currency=row.currency,
                iban=row.iban,
                available_minor=available.amount_minor,
                available=format_money(available),
            )
        )
    return out


# ---------------------------------------------------------------------- customers
@router.post("/customers", status_code=201)
async def onboard(
    body: IndividualIn | BusinessIn, container: ContainerDep, _: OperatorDep
) -> CustomerOut:
    wallet = _wallet(container)

    def run() -> CustomerOut:
        if isinstance(body, IndividualIn):
            customer = wallet.onboard_individual(
                name=body.name, cnic=body.cnic, mobile=body.mobile, tier=body.tier
            )
        else:
            customer = wallet.onboard_business(
                name=body.name,
                ntn=body.ntn,
                mobile=body.mobile,
                address=body.address,
                owners=body.owners,
                owner_cnic=body.owner_cnic,
                tier=body.tier,
            )
        return CustomerOut.of(customer, _accounts(wallet, customer.id))

    return await run_in_threadpool(run)


@router.get("/customers")
async def customers(
    container: ContainerDep,
    _: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CustomerOut]:
    found = await run_in_threadpool(_wallet(container).customers, limit, offset)
    return [CustomerOut.of(c) for c in found]


@router.get("/customers/{customer_id}")
async def customer(customer_id: uuid.UUID, container: ContainerDep, _: OperatorDep) -> CustomerOut:
    wallet = _wallet(container)

    def run() -> CustomerOut:
        return CustomerOut.of(wallet.customer(customer_id), _accounts(wallet, customer_id))

    return await run_in_threadpool(run)


@router.post("/customers/{customer_id}/tier")
async def upgrade_tier(
    customer_id: uuid.UUID, body: TierUpgradeIn, container: ContainerDep, _: OperatorDep
) -> CustomerOut:
    """Move to a higher KYC tier after verification (simulated biometrics in development)."""
    done = await run_in_threadpool(
        _wallet(container).upgrade_tier, customer_id, body.tier, body.evidence
    )
    return CustomerOut.of(done)


@router.get("/customers/{customer_id}/limits")
async def limits(customer_id: uuid.UUID, container: ContainerDep, _: OperatorDep) -> list[LimitOut]:
    return [LimitOut.of(v) for v in await run_in_threadpool(_wallet(container).limits, customer_id)]


@router.put("/customers/{customer_id}/limits/{kind}")
async def set_limit(
    customer_id: uuid.UUID, kind: LimitKind, body: LimitIn, container: ContainerDep, _: OperatorDep
) -> list[LimitOut]:
    """Lower (or raise within the tier) the customer's own limit; operators assign limits."""
    views = await run_in_threadpool(
        lambda: _wallet(container).set_limit(
            customer_id, kind, body.amount_minor, by_operator=body.by_operator
        )
    )
    return [LimitOut.of(v) for v in views]


@router.get("/tiers")
async def tiers(container: ContainerDep, _: OperatorDep) -> list[TierOut]:
    return [_tier_out(t) for t in await run_in_threadpool(_wallet(container).tier_history)]


@router.post("/tiers", status_code=201)
async def publish_tier(body: TierIn, container: ContainerDep, _: OperatorDep) -> TierOut:
    try:
        effective = date.fromisoformat(body.effective_from)
    except ValueError as error:
        raise DomainError(
            "wallet_tier_invalid", "effective_from is a date YYYY-MM-DD", status=422
        ) from error
    tier = Tier(body.code, body.name, effective, dict(body.limits_minor))
    return _tier_out(await run_in_threadpool(_wallet(container).publish_tier, tier))


def _tier_out(tier: Tier) -> TierOut:
    return TierOut(
        code=tier.code,
        name=tier.name,
        effective_from=tier.effective_from.isoformat(),
        limits_minor={k.value: v for k, v in tier.limits_minor.items()},
    )


# ---------------------------------------------------------------------- money movement
@router.post("/customers/{customer_id}/deposits", status_code=201)
async def deposit(
    customer_id: uuid.UUID,
    body: AmountIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    """Cash in at an agent."""
    done = await run_in_threadpool(_wallet(container).deposit, customer_id, body.amount_minor, key)
    return OutcomeOut.of(done)


@router.post("/customers/{customer_id}/withdrawals", status_code=201)
async def withdraw(
    customer_id: uuid.UUID,
    body: AmountIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    done = await run_in_threadpool(_wallet(container).withdraw, customer_id, body.amount_minor, key)
    return OutcomeOut.of(done)


@router.post("/customers/{customer_id}/payments", status_code=201)
async def pay(
    customer_id: uuid.UUID,
    body: PaymentIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    """Pay a Raast ID or IBAN; answers when the hub has confirmed or rejected (or pending)."""
    done = await run_in_threadpool(
        lambda: _wallet(container).pay(
            customer_id,
            to=body.to,
            amount_minor=body.amount_minor,
            request_key=key,
            payee_name=body.payee_name,
            note=body.note,
        )
    )
    return OutcomeOut.of(done)


@router.post("/customers/{customer_id}/qr-payments", status_code=201)
async def pay_qr(
    customer_id: uuid.UUID,
    body: QrPaymentIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    done = await run_in_threadpool(
        lambda: _wallet(container).pay_qr(
            customer_id, body.payload, request_key=key, amount_minor=body.amount_minor
        )
    )
    return OutcomeOut.of(done)


@router.get("/customers/{customer_id}/qr")
async def merchant_qr(
    customer_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    amount_minor: Annotated[int | None, Query(gt=0)] = None,
    bill_number: Annotated[str | None, Query(max_length=25)] = None,
    image: Literal["png", "svg", "text"] = "png",
) -> Response:
    """The business's own payment QR (static, or dynamic with an amount) to print or show."""
    payload = await run_in_threadpool(
        lambda: _wallet(container).merchant_qr(
            customer_id, amount_minor=amount_minor, bill_number=bill_number
        )
    )
    if image == "text":
        return Response(payload, media_type="text/plain")
    if image == "svg":
        return Response(qr.render_svg(payload), media_type="image/svg+xml")
    return Response(qr.render_png(payload), media_type="image/png")


@router.get("/customers/{customer_id}/requests")
async def request_inbox(
    customer_id: uuid.UUID, container: ContainerDep, _: OperatorDep
) -> list[dict[str, object]]:
    found = await run_in_threadpool(_wallet(container).request_inbox, customer_id)
    return [
        {
            "id": str(r.id),
            "creditor_name": r.creditor_name,
            "amount_minor": r.amount_minor,
            "currency": r.currency,
            "reference": r.reference,
            "expires_at": r.expires_at,
        }
        for r in found
    ]


@router.post("/customers/{customer_id}/payment-requests", status_code=201)
async def request_payment(
    customer_id: uuid.UUID,
    body: PaymentRequestIn,
    container: ContainerDep,
    _: OperatorDep,
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
) -> PaymentRequestOut:
    """Ask someone, by Raast ID, to pay this customer (a request to pay, pain.013).

    With an `Idempotency-Key`, a retry answers the request already sent.
    """
    sent = await run_in_threadpool(
        lambda: _wallet(container).request_payment(
            customer_id,
            debtor=body.debtor,
            amount_minor=body.amount_minor,
            reference=body.reference,
            expires_in_s=body.expires_in_s,
            request_key=key,
        )
    )
    return PaymentRequestOut.of(sent)


@router.get("/customers/{customer_id}/payment-requests")
async def payment_requests_sent(
    customer_id: uuid.UUID, container: ContainerDep, _: OperatorDep
) -> list[PaymentRequestOut]:
    """The requests this customer sent, newest first: open, paid, rejected or expired."""
    found = await run_in_threadpool(_wallet(container).payment_requests_sent, customer_id)
    return [PaymentRequestOut.of(r) for r in found]


@router.post("/customers/{customer_id}/requests/{request_id}/pay", status_code=201)
async def pay_request(
    customer_id: uuid.UUID,
    request_id: uuid.UUID,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    done = await run_in_threadpool(
        lambda: _wallet(container).pay_request(customer_id, request_id, request_key=key)
    )
    return OutcomeOut.of(done)


@router.post("/customers/{customer_id}/requests/{request_id}/decline")
async def decline_request(
    customer_id: uuid.UUID, request_id: uuid.UUID, container: ContainerDep, _: OperatorDep
) -> dict[str, str]:
    done = await run_in_threadpool(_wallet(container).decline_request, customer_id, request_id)
    return {"id": str(done.id), "status": done.status.value}


@router.post("/customers/{customer_id}/refunds", status_code=201)
async def refund(
    customer_id: uuid.UUID,
    body: RefundIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> OutcomeOut:
    """Return all or part of a payment the customer received (pacs.004, MD06)."""
    done = await run_in_threadpool(
        lambda: _wallet(container).refund(
            customer_id, body.movement_id, body.amount_minor, request_key=key
        )
    )
    return OutcomeOut.of(done)


@router.post("/customers/{customer_id}/conversions", status_code=201)
async def convert(
    customer_id: uuid.UUID,
    body: ConversionIn,
    key: IdempotencyKey,
    container: ContainerDep,
    _: OperatorDep,
) -> ConversionOut:
    done = await run_in_threadpool(
        _wallet(container).convert,
        customer_id,
        body.amount_minor,
        body.from_currency,
        body.to_currency,
        key,
    )
    return ConversionOut(
        from_amount_minor=done.from_amount_minor,
        from_currency=done.from_currency,
        to_amount_minor=done.to_amount_minor,
        to_currency=done.to_currency,
        rate=done.rate,
    )


@router.post("/customers/{customer_id}/payouts", status_code=201)
async def payout(
    customer_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    _: OperatorDep,
    file_name: Annotated[str, Query(max_length=200)] = "payout.csv",
) -> PayoutOut:
    """Upload a payout file as the request body (text/csv or a pain.001 XML).

    Every row is checked first, then paid; the answer has a result per row. The same file
    uploaded again answers the first payout and pays nothing twice.
    """
    content = await request.body()
    if len(content) > PAYOUT_FILE_BYTES_MAX:
        raise DomainError("request_too_large", "a payout file is at most 4 MiB", status=413)
    done = await run_in_threadpool(
        lambda: _wallet(container).payout(customer_id, content, file_name=file_name)
    )
    return PayoutOut.of(done)


@router.get("/customers/{customer_id}/payouts")
async def payouts(
    customer_id: uuid.UUID, container: ContainerDep, _: OperatorDep
) -> list[PayoutOut]:
    return [
        PayoutOut.of(p) for p in await run_in_threadpool(_wallet(container).payouts, customer_id)
    ]


@router.get("/customers/{customer_id}/payouts/{payout_id}/report")
async def payout_report(
    customer_id: uuid.UUID,
    payout_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    report: Literal["csv", "pain.002"] = "csv",
) -> Response:
    wallet = _wallet(container)
    found = await run_in_threadpool(wallet.payout_by_id, customer_id, payout_id)
    if report == "csv":
        return Response(files.payout_report_csv(found), media_type="text/csv")
    xml = files.payout_report_pain002(found, files.utc(wallet.clock.now_ns()))
    return Response(xml, media_type="application/xml")


# ---------------------------------------------------------------------- history and statements
@router.get("/customers/{customer_id}/movements")
async def movements(
    customer_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    search: Annotated[str | None, Query(max_length=80)] = None,
    kind: MovementKind | None = None,
    status: MovementStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_at: int | None = None,
    before_id: uuid.UUID | None = None,
) -> list[MovementOut]:
    """Newest first. Next page: before_at/before_id of the last line you have."""
    before = (before_at, before_id) if before_at is not None and before_id is not None else None
    found = await run_in_threadpool(
        lambda: _wallet(container).history(
            customer_id,
            search=search,
            kind=kind,
            status=status,
            from_ns=to_ns(since) if since else None,
            to_ns=to_ns(until) if until else None,
            limit=limit,
            before=before,
        )
    )
    return [MovementOut.of(m) for m in found]


@router.get("/customers/{customer_id}/statement", response_model=None)
async def statement(
    customer_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    since: datetime,
    until: datetime,
    currency: Annotated[str, Query(min_length=3, max_length=3)] = "PKR",
    output: Literal["json", "csv", "pdf", "camt.053"] = "json",
) -> StatementOut | Response:
    """A statement over [since, until): JSON, CSV, PDF or ISO 20022 camt.053."""
    wallet = _wallet(container)
    if since.tzinfo is None or until.tzinfo is None:
        raise DomainError(
            "wallet_statement_invalid", "give since and until with a time zone", status=422
        )
    found = await run_in_threadpool(
        wallet.statement, customer_id, currency.upper(), to_ns(since), to_ns(until)
    )
    name = f"statement-{found.account.currency}-{since:%Y%m%d}-{until:%Y%m%d}"
    if output == "csv":
        return Response(
            statements.to_csv(found),
            media_type="text/csv",
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    if output == "pdf":
        pdf = await run_in_threadpool(statements.to_pdf, found, wallet.institution.name)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"content-disposition": f'attachment; filename="{name}.pdf"'},
        )
    if output == "camt.053":
        xml = statements.to_camt053(found, wallet.institution.code, wallet.clock.now_ns())
        return Response(xml, media_type="application/xml")
    return StatementOut.of(found)


# ---------------------------------------------------------------------- institution
@router.post("/fx-rates", status_code=201)
async def import_rates(
    request: Request,
    container: ContainerDep,
    _: OperatorDep,
    source: Annotated[str, Query(min_length=1, max_length=80)] = "import",
) -> dict[str, int]:
    """Import a dated rate table: CSV with date, base, quote, rate (decimal text)."""
    text = (await request.body()).decode("utf-8", errors="replace")
    count = await run_in_threadpool(_wallet(container).import_rates, text, source)
    return {"imported": count}


@router.get("/fx-rates/{base}/{quote}")
async def rate(base: str, quote: str, container: ContainerDep, _: OperatorDep) -> dict[str, str]:
    found = await run_in_threadpool(_wallet(container).rate, base.upper(), quote.upper())
    return {
        "day": found.day.isoformat(),
        "base": found.base,
        "quote": found.quote,
        "rate": str(found.rate),
        "source": found.source,
    }


@router.put("/fees/{kind}")
async def set_fee(
    kind: MovementKind, body: FeeRuleIn, container: ContainerDep, _: OperatorDep
) -> dict[str, object]:
    rule = FeeRule(
        kind, body.fixed_minor, body.basis_points, body.maximum_minor, Direction(body.payer)
    )
    await run_in_threadpool(_wallet(container).set_fee_rule, rule)
    return {"kind": kind.value, "fixed_minor": rule.fixed_minor, "basis_points": rule.basis_points}


@router.post("/settlement/funds")
async def fund_settlement(
    body: FundIn, container: ContainerDep, _: OperatorDep
) -> dict[str, object]:
    """Place the institution's money at the hub (prefunding), mirrored in its own book."""
    left: Money = await run_in_threadpool(
        _wallet(container).fund_settlement, body.amount_minor, body.request_id
    )
    return {"available_minor": left.amount_minor, "currency": left.currency}


@router.get("/reconciliation")
async def reconciliation(container: ContainerDep, _: OperatorDep) -> dict[str, int]:
    """Our settlement position at the hub against our own book's mirror of it."""
    return await run_in_threadpool(_wallet(container).reconcile)
