"""/v1/switch: the hub's API. Operators manage participants; participants pay and look up.

Participants authenticate with HTTP Basic: their code and the secret issued at registration.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tijarat.api.deps import OperatorDep
from tijarat.api.errors import domain_problem
from tijarat.bootstrap import Container
from tijarat.kernel.clock import PAKISTAN, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.errors import SwitchError
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.model import (
    AliasClaim,
    ClaimStatus,
    Participant,
    ParticipantStatus,
    PayeeDecision,
    PaymentRequest,
    PaymentStatus,
    RequestStatus,
)
from tijarat.switch.payments import INCOMING_PAGE_MAX
from tijarat.switch.requests import REQUESTS_PAGE_MAX
from tijarat.switch.schemas import (
    AliasIn,
    AliasOut,
    AnswerIn,
    AuditEventOut,
    ClaimDetailOut,
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
    PaymentRequestOut,
    RegisteredOut,
    RequestAcceptIn,
    RequestRejectIn,
    ReturnIn,
    SettlementReportOut,
)
from tijarat.switch.service import CLAIMS_PAGE_DEFAULT, CLAIMS_PAGE_MAX

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
    def run() -> ClaimOut:
        opened = container.switch.open_claim(me.code, body.number, body.iban, body.account_title)
        return _claim_out(container, me, opened)

    return await run_in_threadpool(run)


@router.get("/claims")
async def claims(
    me: ParticipantDep,
    container: ContainerDep,
    status: ClaimStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=CLAIMS_PAGE_MAX)] = CLAIMS_PAGE_DEFAULT,
) -> list[ClaimOut]:
    """Claims the caller made or must answer as donor, newest first (`?status=open`: the
    donor's claims to put to its customers)."""

    def run() -> list[ClaimOut]:
        found = container.switch.claims_of(me.code, status, limit)
        return [_claim_out(container, me, one) for one in found]

    return await run_in_threadpool(run)


@router.get("/claims/{claim_id}")
async def claim_detail(
    claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep
) -> ClaimDetailOut:
    """A claim with its audit trail, to its claimant and its donor only."""

    def run() -> ClaimDetailOut:
        found, trail = container.switch.claim_of(me.code, claim_id)
        events = [
            AuditEventOut(
                action=entry.action,
                participant=(
                    container.switch.participant_by_id_cached(entry.participant_id).code
                    if entry.participant_id is not None
                    else None
                ),
                at=entry.at,
                detail=entry.detail,
            )
            for entry in trail
        ]
        shown = _claim_out(container, me, found)
        return ClaimDetailOut(**shown.model_dump(), audit=events)

    return await run_in_threadpool(run)


@router.post("/claims/{claim_id}/confirm")
async def confirm(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    """The donor's customer confirmed: the alias moves. Answers the completed claim as the
    donor sees it, not the new link: the claimant's customer's IBAN is not the donor's."""

    def run() -> ClaimOut:
        container.switch.confirm_claim(me.code, claim_id)
        return _claim_out(container, me, container.switch.claim(claim_id))

    return await run_in_threadpool(run)


@router.post("/claims/{claim_id}/reject")
async def reject(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    def run() -> ClaimOut:
        return _claim_out(container, me, container.switch.reject_claim(me.code, claim_id))

    return await run_in_threadpool(run)


@router.post("/claims/{claim_id}/cancel")
async def cancel(claim_id: uuid.UUID, me: ParticipantDep, container: ContainerDep) -> ClaimOut:
    def run() -> ClaimOut:
        return _claim_out(container, me, container.switch.cancel_claim(me.code, claim_id))

    return await run_in_threadpool(run)


def _claim_out(container: Container, me: Participant, found: AliasClaim) -> ClaimOut:
    # Blocks (participants not cached yet are read): call it on a worker thread.
    code_of = container.switch.participant_by_id_cached
    return ClaimOut.of(
        found,
        viewer_id=me.id,
        claimant_code=code_of(found.claimant_id).code,
        donor_code=code_of(found.donor_id).code,
    )


@router.post(PAYMENTS_PATH.removeprefix(router.prefix))
async def pay(body: CreditTransferIn, me: ParticipantDep, container: ContainerDep) -> PaymentOut:
    """Submit a credit transfer; answered ACSC, RJCT (with reason) or PDNG (payee deciding)."""
    # Most requests are answered by PaymentsFastPath (below), with the same _pay.
    return await _pay(container, me, body)


async def _pay(container: Container, me: Participant, body: CreditTransferIn) -> PaymentOut:
    # Carried out in a group with the payments that arrive meanwhile (switch/grouping.py).
    paid = await container.payment_queue.submit_async(me.code, body.to_model())
    return PaymentOut.of(paid, viewer_id=me.id)


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
    found = await run_in_threadpool(container.payments.status, me.code, end_to_end_id)
    return PaymentOut.of(found, viewer_id=me.id)


@router.post("/payments/{payment_id}/answer")
async def answer(
    payment_id: uuid.UUID, body: AnswerIn, me: ParticipantDep, container: ContainerDep
) -> PaymentOut:
    """The payee's answer to a credit advice: accept (settles) or reject with a reason."""
    decision = PayeeDecision(accept=body.accept, reason=body.reason)
    answered = await run_in_threadpool(container.payments.answer, me.code, payment_id, decision)
    return PaymentOut.of(answered, viewer_id=me.id)


@router.post("/payments/{payment_id}/returns")
async def give_back(
    payment_id: uuid.UUID, body: ReturnIn, me: ParticipantDep, container: ContainerDep
) -> PaymentOut:
    returned = await run_in_threadpool(
        container.payments.return_payment,
        me.code,
        payment_id,
        body.amount_minor,
        body.reason,
        body.return_id,
    )
    return PaymentOut.of(returned, viewer_id=me.id)


# ---------------------------------------------------------------------- requests to pay
@router.get("/requests/incoming")
async def requests_incoming(
    me: ParticipantDep,
    container: ContainerDep,
    status: Literal["open", "paid", "rejected", "expired", "all"] = "open",
    since_ns: Annotated[int, Query(ge=0)] = 0,
    after_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=REQUESTS_PAGE_MAX)] = 100,
) -> list[PaymentRequestOut]:
    """Requests to pay addressed to the caller's customers (their Raast IDs), oldest first:
    open ones by default, what it answers with /requests/{id}/accept or reject (or a
    pain.014). The next page: `since_ns` = the last one's `created_at`, `after_id` = its id."""
    chosen = None if status == "all" else RequestStatus(status)

    def run() -> list[PaymentRequestOut]:
        found = container.requests.incoming(
            me.code, status=chosen, since_ns=since_ns, after_id=after_id, limit=limit
        )
        return [_request_out(container, one) for one in found]

    return await run_in_threadpool(run)


@router.post("/requests/{request_id}/accept")
async def accept_request(
    request_id: uuid.UUID, body: RequestAcceptIn, me: ParticipantDep, container: ContainerDep
) -> PaymentRequestOut:
    """The debtor agreed: paid now from the IBAN its Raast ID links to (as a pain.014 ACCP
    does). A payment refused (e.g. AM04) leaves the request open with that reason."""

    def run() -> PaymentRequestOut:
        answered = container.requests.accept_linked(me.code, request_id, msg_id=body.msg_id)
        return _request_out(container, answered)

    return await run_in_threadpool(run)


@router.post("/requests/{request_id}/reject")
async def reject_request(
    request_id: uuid.UUID, body: RequestRejectIn, me: ParticipantDep, container: ContainerDep
) -> PaymentRequestOut:
    def run() -> PaymentRequestOut:
        refused = container.requests.reject(me.code, request_id, body.reason)
        return _request_out(container, refused)

    return await run_in_threadpool(run)


def _request_out(container: Container, request: PaymentRequest) -> PaymentRequestOut:
    # Blocks (a participant not cached yet is read): call it on a worker thread.
    creditor = container.switch.participant_by_id_cached(request.creditor_participant_id)
    return PaymentRequestOut.of(request, creditor_code=creditor.code)


# ---------------------------------------------------------------------- ISO 20022
XML = "application/xml"
JSON = "application/json"


@router.post(
    "/iso20022",
    response_class=Response,
    responses={
        200: {
            "content": {XML: {}, JSON: {}},
            "description": "the answering envelope (pacs.002, pain.002, pain.014), or the "
            "JSON form of its Document when the request was JSON or accepts only JSON",
        }
    },
)
async def iso20022(request: Request, me: ParticipantDep, container: ContainerDep) -> Response:
    """An envelope (head.001 AppHdr + Document) in, the answering envelope out.

    pacs.008 is answered with pacs.002 per transaction; pacs.028 with pacs.002. With
    `Content-Type: application/json` the body is the JSON form of a Document (its fields
    plus "message_type"): the hub wraps it in the AppHdr it implies (from the caller to
    RAASTHUB), validates it against the XSDs and handles it as the XML; the answer is then
    the JSON form of the answering Document.
    """
    body = await _body_at_most(request, iso.MESSAGE_BYTES_MAX)
    if _media_type(request.headers.get("content-type")) == JSON:
        data = _json_document(body)
        answered = await run_in_threadpool(container.gateway.receive_json, me, data)
        return JSONResponse(answered)
    answer, document = await run_in_threadpool(container.gateway.receive_message, me, body)
    if _prefers_json(request.headers.get("accept")):
        return JSONResponse(iso.to_json(document))
    return Response(answer, media_type=XML)


def _media_type(header: str | None) -> str:
    return (header or "").partition(";")[0].strip().lower()


def _prefers_json(accept: str | None) -> bool:
    """Whether Accept names JSON before XML (q-values are not weighed: a client that wants
    one form names that one)."""
    for item in (accept or "").split(","):
        media_type = _media_type(item)
        if media_type in (JSON, XML, "text/xml"):
            return media_type == JSON
    return False


def _json_document(body: bytes) -> object:
    """The body as JSON, strictly: UTF-8, no NaN or Infinity, no key given twice."""

    def refuse_constant(name: str) -> object:
        raise ValueError(f"{name} is not a JSON number")

    def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            twice = next(key for key in keys if keys.count(key) > 1)
            raise ValueError(f"the key {twice!r} is given twice")
        return dict(pairs)

    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=refuse_constant, object_pairs_hook=unique_keys
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DomainError(
            Iso20022Error.INVALID_JSON,
            f"the body is not a JSON document: {str(error)[:200]}",
            status=422,
            fields={"path": "$"},
        ) from None


async def _body_at_most(request: Request, limit: int) -> bytes:
    """The body, refused (413 iso20022_too_large) as soon as it passes `limit`: a message
    over the limit is never read whole to be found too large."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DomainError(
                Iso20022Error.TOO_LARGE,
                f"ISO 20022 messages are limited to {limit} bytes",
                status=413,
                fields={"size_max": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/messages")
async def messages(
    me: ParticipantDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, object]]:
    """The participant's archived ISO 20022 messages (sent and received), newest first; with
    `after` (the `position` of the last one read, `0` for the start), those archived since,
    oldest first: the inbox of a participant without an endpoint (its credit advices and
    status reports). Read forward, it misses none and repeats none."""
    rows = await run_in_threadpool(lambda: container.gateway.archive(me, limit, after=after))
    return [{**row, "id": str(row["id"])} for row in rows]


@router.get("/incoming")
async def incoming(
    me: ParticipantDep,
    container: ContainerDep,
    status: Literal["PDNG", "ACSC", "RJCT", "all"] = "PDNG",
    since_ns: Annotated[int, Query(ge=0)] = 0,
    after_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=INCOMING_PAGE_MAX)] = 100,
) -> list[PaymentOut]:
    """Payments to the caller, oldest first (pending ones by default: what it has to answer
    with POST /payments/{id}/answer or a pacs.002). The next page: `since_ns` = the last
    one's `created_at`, `after_id` = its id (a bulk file stores many under one time)."""
    chosen = None if status == "all" else PaymentStatus(status)
    found = await run_in_threadpool(
        lambda: container.payments.incoming(
            me.code, status=chosen, since_ns=since_ns, after_id=after_id, limit=limit
        )
    )
    return [PaymentOut.of(payment, viewer_id=me.id) for payment in found]


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


# ---------------------------------------------------------------------- settlement reports


@router.get("/settlement/report")
async def settlement_report(
    me: ParticipantDep, container: ContainerDep, start: str, end: str
) -> SettlementReportOut:
    """The caller's settlement position over a period: opening and closing positions, what
    was sent, received, returned and funded (counts and values).

    `start` and `end` are RFC 3339 times (with an offset) or dates; a date is a settlement
    day in Pakistan time, and an `end` date counts whole (`start=2026-11-24&end=2026-11-24`
    is that one day). The period is [start, end).
    """
    return await _report(container, me.code, start, end)


@router.get("/participants/{code}/settlement/report")
async def participant_settlement_report(
    code: str, container: ContainerDep, _: OperatorDep, start: str, end: str
) -> SettlementReportOut:
    """The operator's view of any participant's settlement report (same period rules)."""
    return await _report(container, code, start, end)


async def _report(container: Container, code: str, start: str, end: str) -> SettlementReportOut:
    start_ns, end_ns = _moment(start, "start", end=False), _moment(end, "end", end=True)
    if start_ns >= end_ns:
        raise _period_invalid("start must be before end", start=start[:64], end=end[:64])

    def run() -> SettlementReportOut:
        # The report reads the period's ledger statement page after page, however long.
        return SettlementReportOut.of(container.payments.settlement_report(code, start_ns, end_ns))

    return await run_in_threadpool(run)


def _moment(text: str, name: str, *, end: bool) -> int:
    """An RFC 3339 time with an offset, or a date (midnight in Pakistan; an end date counts
    whole, so its period ends at the next midnight)."""
    try:
        if len(text) == len("2026-11-24"):
            midnight = datetime.combine(date.fromisoformat(text), time(), PAKISTAN)
            moment = midnight + timedelta(days=1) if end else midnight
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _period_invalid(
            f"{name} must be an RFC 3339 time or a date", **{name: text[:64]}
        ) from None
    if moment.tzinfo is None:
        raise _period_invalid(
            f"{name} needs a time zone, e.g. 2026-11-24T00:00:00+05:00", **{name: text[:64]}
        )
    moment_ns = to_ns(moment)
    if not 0 <= moment_ns < 1 << 63:  # what the ledger's 64-bit timestamps can hold
        raise _period_invalid(f"{name} must be between 1970 and 2262", **{name: text[:64]})
    return moment_ns


def _period_invalid(message: str, **fields: object) -> DomainError:
    return DomainError(SwitchError.REPORT_PERIOD_INVALID, message, status=422, fields=fields)
