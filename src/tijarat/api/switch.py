"""/v1/switch: the hub's API. Operators manage participants; participants pay and look up.

Participants authenticate with HTTP Basic: their code and the secret issued at registration.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tijarat.api.deps import OperatorDep
from tijarat.api.errors import domain_problem
from tijarat.bootstrap import Container
from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.switch.model import Participant, ParticipantStatus, PayeeDecision
from tijarat.switch.schemas import (
    AliasIn,
    AliasOut,
    AnswerIn,
    ClaimIn,
    ClaimOut,
    CreditTransferIn,
    EndpointIn,
    LiquidityIn,
    LiquidityOut,
    LookupOut,
    NetDebitCapIn,
    ParticipantIn,
    ParticipantOut,
    PaymentOut,
    RegisteredOut,
    ReturnIn,
)

router = APIRouter(prefix="/v1/switch", tags=["switch"])
PAYMENTS_PATH = "/v1/switch/payments"
_basic = HTTPBasic(auto_error=False)


async def _container(request: Request) -> Container:
    # async: FastAPI runs a plain `def` dependency on a worker thread, a round trip per
    # request that cost more than the payment's own routing (see docs/PERFORMANCE.md).
    built: Container = request.app.state.container
    return built


ContainerDep = Annotated[Container, Depends(_container)]


async def _participant(
    container: ContainerDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Participant:
    if credentials is None:
        raise DomainError(
            "switch_unauthenticated",
            "authenticate with HTTP Basic: participant code and secret",
            status=401,
        )
    # A participant seen before is checked in memory, without a worker thread's round trip.
    known = container.switch.authenticate_cached(credentials.username, credentials.password)
    if known is not None:
        return known
    return await run_in_threadpool(
        container.switch.authenticate, credentials.username, credentials.password
    )


ParticipantDep = Annotated[Participant, Depends(_participant)]


# ---------------------------------------------------------------------- operator
@router.post("/participants", status_code=201)
async def register(body: ParticipantIn, container: ContainerDep, _: OperatorDep) -> RegisteredOut:
    participant, secret = await run_in_threadpool(
        lambda: container.switch.register_participant(
            body.code,
            body.name,
            body.category,
            bank_code=body.bank_code,
            sponsor_code=body.sponsor_code,
        )
    )
    return RegisteredOut(participant=ParticipantOut.of(participant), secret=secret)


@router.get("/participants")
async def participants(container: ContainerDep, _: OperatorDep) -> list[ParticipantOut]:
    return [ParticipantOut.of(p) for p in await run_in_threadpool(container.switch.participants)]


@router.post("/participants/{code}/suspend")
async def suspend(code: str, container: ContainerDep, _: OperatorDep) -> ParticipantOut:
    return ParticipantOut.of(
        await run_in_threadpool(container.switch.set_status, code, ParticipantStatus.SUSPENDED)
    )


@router.post("/participants/{code}/reactivate")
async def reactivate(code: str, container: ContainerDep, _: OperatorDep) -> ParticipantOut:
    return ParticipantOut.of(
        await run_in_threadpool(container.switch.set_status, code, ParticipantStatus.ACTIVE)
    )


@router.post("/participants/{code}/funds")
async def fund(
    code: str, body: LiquidityIn, container: ContainerDep, _: OperatorDep
) -> LiquidityOut:
    """Funds in from the participant's SBP account (idempotent by request_id)."""
    left = await run_in_threadpool(
        container.switch.fund, code, Money(body.amount_minor, body.currency), body.request_id
    )
    return LiquidityOut(participant=code.upper(), available_minor=left.amount_minor, currency="PKR")


@router.post("/participants/{code}/withdrawals")
async def defund(
    code: str, body: LiquidityIn, container: ContainerDep, _: OperatorDep
) -> LiquidityOut:
    left = await run_in_threadpool(
        container.switch.defund, code, Money(body.amount_minor, body.currency), body.request_id
    )
    return LiquidityOut(participant=code.upper(), available_minor=left.amount_minor, currency="PKR")


@router.put("/participants/{code}/net-debit-cap")
async def net_debit_cap(
    code: str, body: NetDebitCapIn, container: ContainerDep, _: OperatorDep
) -> dict[str, object]:
    """Cap how far a participant may send more than it receives in a settlement day (AM23)."""
    cap = await run_in_threadpool(container.switch.set_net_debit_cap, code, body.cap_minor)
    participant = await run_in_threadpool(container.switch.participant, code)
    room = await run_in_threadpool(container.switch.net_debit_room, participant)
    return {"participant": participant.code, "cap_minor": cap, "room_minor": room}


# ---------------------------------------------------------------------- participants
@router.put("/endpoint")
async def set_endpoint(
    body: EndpointIn, me: ParticipantDep, container: ContainerDep
) -> dict[str, str | None]:
    """Have the hub push credit advices (pacs.008) and status reports (pacs.002) to `url`.

    Answers the signing secret once: every push carries
    `X-Tijarat-Signature: hex(HMAC-SHA256(secret, body))`. A null url removes the endpoint.
    """
    secret = await run_in_threadpool(container.switch.set_endpoint, me.code, body.url)
    return {"participant": me.code, "url": body.url, "signing_secret": secret}


@router.get("/liquidity")
async def liquidity(me: ParticipantDep, container: ContainerDep) -> LiquidityOut:
    left = await run_in_threadpool(container.switch.liquidity, me.code)
    return LiquidityOut(participant=me.code, available_minor=left.amount_minor, currency="PKR")


@router.post("/aliases", status_code=201)
async def link(body: AliasIn, me: ParticipantDep, container: ContainerDep) -> AliasOut:
    alias = await run_in_threadpool(
        container.switch.link_alias, me.code, body.number, body.iban, body.cnic, body.account_title
    )
    return AliasOut.of(alias)


@router.get("/aliases/{number}")
async def lookup(number: str, me: ParticipantDep, container: ContainerDep) -> LookupOut:
    return LookupOut.of(await run_in_threadpool(container.switch.lookup_alias, me.code, number))


@router.delete("/aliases/{number}", status_code=204)
async def unlink(number: str, me: ParticipantDep, container: ContainerDep) -> Response:
    await run_in_threadpool(container.switch.unlink_alias, me.code, number)
    return Response(status_code=204)


@router.post("/claims", status_code=201)
async def claim(body: ClaimIn, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    return ClaimOut.of(
        await run_in_threadpool(
            container.switch.open_claim, me.code, body.number, body.iban, body.account_title
        )
    )


@router.post("/claims/{claim_id}/confirm")
async def confirm(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> AliasOut:
    return AliasOut.of(await run_in_threadpool(container.switch.confirm_claim, me.code, claim_id))


@router.post("/claims/{claim_id}/reject")
async def reject(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    return ClaimOut.of(await run_in_threadpool(container.switch.reject_claim, me.code, claim_id))


@router.post("/claims/{claim_id}/cancel")
async def cancel(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    return ClaimOut.of(await run_in_threadpool(container.switch.cancel_claim, me.code, claim_id))


@router.post(PAYMENTS_PATH.removeprefix(router.prefix))
async def pay(body: CreditTransferIn, me: ParticipantDep, container: ContainerDep) -> PaymentOut:
    """Submit a credit transfer; answered ACSC, RJCT (with reason) or PDNG (payee deciding)."""
    # Most requests are answered by PaymentsFastPath (below), with the same _pay.
    return await _pay(container, me, body)


async def _pay(container: Container, me: Participant, body: CreditTransferIn) -> PaymentOut:
    # Carried out in a group with the payments that arrive meanwhile (switch/grouping.py).
    return PaymentOut.of(await container.payment_queue.submit_async(me.code, body.to_model()))


class PaymentsFastPath:
    """`POST /v1/switch/payments` answered without FastAPI's routing and dependencies.

    It is the hub's hottest request, and FastAPI's route matching over every route of the
    app, its dependency solving and its response validation cost more per payment than the
    request's own work (docs/PERFORMANCE.md). This ASGI layer answers the common case itself
    (JSON, HTTP Basic credentials this process knows, a body that validates) through the
    same `_pay` as the route; anything else goes on to the route with the body replayed, so
    every refusal of a request (401, 422...) is still made in one place.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PAYMENTS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = await _body(receive)
        container: Container | None = scope["app"].state.container
        recognised = _recognised(container, scope, body) if not more else None
        if container is None or recognised is None:
            await self.app(scope, _replaying(body, more, receive), send)
            return
        scope["route"] = _PAYMENTS_ROUTE  # what Edges labels the latency metric with
        me, transfer = recognised
        response: Response
        try:
            paid = await _pay(container, me, transfer)
        except DomainError as error:
            response = domain_problem(error, PAYMENTS_PATH)
        else:
            response = Response(paid.model_dump_json(), media_type="application/json")
        await response(scope, receive, send)


@dataclass(frozen=True)
class _Route:
    path: str


_PAYMENTS_ROUTE = _Route(PAYMENTS_PATH)


async def _body(receive: Receive) -> tuple[bytes, bool]:
    """The request's body, and whether more was coming when the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed or more:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _recognised(
    container: Container | None, scope: Scope, body: bytes
) -> tuple[Participant, CreditTransferIn] | None:
    """The sender and its transfer when the request is the common case, else None."""
    if container is None:
        return None
    headers = Headers(scope=scope)
    if headers.get("content-type") != "application/json":
        return None
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        code, colon, secret = (
            base64.b64decode(encoded, validate=True).decode("ascii").partition(":")
        )
        transfer = CreditTransferIn.model_validate_json(body)
    except (binascii.Error, UnicodeDecodeError, ValidationError):
        return None
    me = container.switch.authenticate_cached(code, secret) if colon else None
    return (me, transfer) if me is not None else None


@router.get("/payments/{end_to_end_id}")
async def status(end_to_end_id: str, me: ParticipantDep, container: ContainerDep) -> PaymentOut:
    return PaymentOut.of(await run_in_threadpool(container.payments.status, me.code, end_to_end_id))


@router.post("/payments/{payment_id}/answer")
async def answer(
    payment_id: uuid.UUID, body: AnswerIn, me: ParticipantDep, container: ContainerDep
) -> PaymentOut:
    """The payee's answer to a credit advice: accept (settles) or reject with a reason."""
    decision = PayeeDecision(accept=body.accept, reason=body.reason)
    return PaymentOut.of(
        await run_in_threadpool(container.payments.answer, me.code, payment_id, decision)
    )


@router.post("/payments/{payment_id}/returns")
async def give_back(
    payment_id: uuid.UUID, body: ReturnIn, me: ParticipantDep, container: ContainerDep
) -> PaymentOut:
    return PaymentOut.of(
        await run_in_threadpool(
            container.payments.return_payment,
            me.code,
            payment_id,
            body.amount_minor,
            body.reason,
            body.return_id,
        )
    )


# ---------------------------------------------------------------------- ISO 20022
XML = "application/xml"


@router.post(
    "/iso20022",
    response_class=Response,
    responses={200: {"content": {XML: {}}, "description": "the answering envelope (pacs.002)"}},
)
async def iso20022(request: Request, me: ParticipantDep, container: ContainerDep) -> Response:
    """An envelope (head.001 AppHdr + Document) in, the answering envelope out.

    pacs.008 is answered with pacs.002 per transaction; pacs.028 with pacs.002.
    """
    body = await request.body()
    answer = await run_in_threadpool(container.gateway.receive, me, body)
    return Response(answer, media_type=XML)


@router.get("/messages")
async def messages(
    me: ParticipantDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, object]]:
    """The participant's archived ISO 20022 messages, newest first."""
    rows = await run_in_threadpool(container.gateway.archive, me, limit)
    return [{**row, "id": str(row["id"])} for row in rows]


@router.get("/messages/{message_id}", response_class=Response)
async def message(message_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> Response:
    return Response(
        await run_in_threadpool(container.gateway.message, me, message_id), media_type=XML
    )


@router.get("/statement", response_class=Response)
async def statement(
    me: ParticipantDep,
    container: ContainerDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> Response:
    """camt.053 of the caller's settlement account, in an envelope (default: everything)."""
    for moment in (start, end):
        if moment is not None and moment.tzinfo is None:
            raise DomainError(
                "switch_statement_invalid",
                "from and to need a time zone, e.g. 2026-11-24T00:00:00+05:00",
                status=422,
            )
    start_ns = to_ns(start) if start else 0
    end_ns = to_ns(end) if end else (1 << 63) - 1
    body = await run_in_threadpool(container.gateway.settlement_statement, me, start_ns, end_ns)
    return Response(body, media_type=XML)
