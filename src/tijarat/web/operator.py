"""The payment institution operator's pages: participants, liquidity, payments, returns.

Each payment shows the ISO 20022 messages that carried it; the message archive is browsable.
"""

from __future__ import annotations

import uuid

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tijarat.identity.users import Role, User
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.switch.model import ParticipantCategory, ParticipantStatus, PaymentStatus
from tijarat.web import queries
from tijarat.web.i18n import Formats
from tijarat.web.routing import (
    Pages,
    download,
    error_text,
    redirect,
    request_id,
    site_of,
    text,
)
from tijarat.web.site import flash

pages = Pages()
OPERATOR = (Role.OPERATOR,)
MESSAGE_TYPES = (
    "pacs.008.001.08",
    "pacs.002.001.10",
    "pacs.004.001.09",
    "pacs.028.001.03",
    "pain.001.001.09",
    "pain.002.001.10",
    "pain.013.001.07",
    "pain.014.001.07",
    "camt.053.001.08",
)
XML_PREVIEW_BYTES_MAX = 200_000  # larger messages are downloaded, not shown inline


def _participant_id(request: Request, code: str) -> uuid.UUID | None:
    if not code:
        return None
    for participant in site_of(request).container.switch.participants():
        if participant.code == code.upper():
            return participant.id
    return uuid.UUID(int=0)  # an unknown code matches nothing (an empty list, not an error)


@pages.page("/operator", name="operator_home", roles=OPERATOR)
async def overview(request: Request, user: User) -> Response:  # noqa: ARG001 - guard's signature
    site = site_of(request)
    container = site.container
    figures = await run_in_threadpool(queries.hub_figures, container)
    latest = await run_in_threadpool(lambda: queries.payment_lines(container, limit=10))
    return site.render(request, "operator/home.html", {"figures": figures, "payments": latest})


@pages.page("/operator/participants", name="operator_participants", roles=OPERATOR)
async def participants(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    lines = await run_in_threadpool(queries.participant_lines, site.container)
    return site.render(
        request,
        "operator/participants.html",
        {
            "lines": lines,
            "categories": list(ParticipantCategory),
            "registered": None,
        },
    )


@pages.action("/operator/participants", name="operator_register", roles=OPERATOR)
async def register(request: Request, user: User, form: FormData) -> Response:  # noqa: ARG001
    site = site_of(request)
    container = site.container
    try:
        category = ParticipantCategory(text(form, "category", length_max=40))
    except ValueError:
        category = ParticipantCategory.DIRECT_SETTLEMENT
    bank_code = text(form, "bank_code", length_max=4) or None
    sponsor_code = text(form, "sponsor_code", length_max=11) or None
    try:
        participant, secret = await run_in_threadpool(
            lambda: container.switch.register_participant(
                text(form, "code", length_max=11),
                text(form, "name", length_max=140),
                category,
                bank_code=bank_code,
                sponsor_code=sponsor_code,
            )
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "operator_participants")
    lines = await run_in_threadpool(queries.participant_lines, container)
    # The secret is shown on this response only: it never goes into a cookie or a log.
    return site.render(
        request,
        "operator/participants.html",
        {
            "lines": lines,
            "categories": list(ParticipantCategory),
            "registered": (participant, secret),
        },
        status=201,
    )


@pages.action(
    "/operator/participants/{code}/status", name="operator_participant_status", roles=OPERATOR
)
async def participant_status(
    request: Request,
    user: User,  # noqa: ARG001
    form: FormData,
) -> Response:
    site = site_of(request)
    code = request.path_params["code"]
    wanted = text(form, "status", length_max=16)
    status = ParticipantStatus.SUSPENDED if wanted == "suspended" else ParticipantStatus.ACTIVE
    try:
        await run_in_threadpool(site.container.switch.set_status, code, status)
    except DomainError as error:
        flash(request, "error", error_text(request, error))
    else:
        language, shown = request.state.language, code.upper()
        if status is ParticipantStatus.SUSPENDED:
            done = site.translate(language, "%(code)s is suspended.", code=shown)
        else:
            done = site.translate(language, "%(code)s is active again.", code=shown)
        flash(request, "ok", done)
    return redirect(request, "operator_participants")


@pages.action(
    "/operator/participants/{code}/liquidity",
    name="operator_participant_liquidity",
    roles=OPERATOR,
)
async def participant_liquidity(
    request: Request,
    user: User,  # noqa: ARG001
    form: FormData,
) -> Response:
    """Funds in (from the participant's SBP account) or out; idempotent by the form's id."""
    site = site_of(request)
    code = request.path_params["code"]
    outgoing = text(form, "direction", length_max=4) == "out"
    try:
        amount = Money.parse(text(form, "amount", length_max=40), "PKR")
        move = site.container.switch.defund if outgoing else site.container.switch.fund
        left = await run_in_threadpool(move, code, amount, request_id(form))
    except DomainError as error:
        flash(request, "error", error_text(request, error))
    else:
        formats = Formats(request.state.language)
        flash(
            request,
            "ok",
            site.translate(
                request.state.language,
                "%(code)s can now send %(amount)s.",
                code=code.upper(),
                amount=formats.money(left.amount_minor, left.currency),
            ),
        )
    return redirect(request, "operator_participants")


@pages.page("/operator/payments", name="operator_payments", roles=OPERATOR)
async def payments(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    container = site.container
    status = request.query_params.get("status") or None
    if status not in {s.value for s in PaymentStatus}:
        status = None
    code = (request.query_params.get("participant") or "")[:11].strip()
    before = queries.decode_cursor(request.query_params.get("before"))

    def load() -> list[queries.PaymentLine]:
        return queries.payment_lines(
            container, status=status, participant_id=_participant_id(request, code), before=before
        )

    lines = await run_in_threadpool(load)
    after = (
        queries.encode_cursor(lines[-1].created_at, lines[-1].id)
        if len(lines) == queries.PAGE_SIZE
        else None
    )
    return site.render(
        request,
        "operator/payments.html",
        {
            "lines": lines,
            "status": status,
            "participant": code.upper(),
            "statuses": list(PaymentStatus),
            "next_cursor": after,
        },
    )


@pages.page("/operator/payments/{payment_id:uuid}", name="operator_payment", roles=OPERATOR)
async def payment(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    container = site.container
    payment_id: uuid.UUID = request.path_params["payment_id"]

    def load() -> dict[str, object]:
        found = container.payments.payment(payment_id)  # 404 DomainError when unknown
        codes = queries.participant_codes(container)
        return {
            "payment": found,
            "payer_code": codes.get(found.payer_id, ""),
            "payee_code": codes.get(found.payee_id, "") if found.payee_id else "",
            "returns": queries.return_lines(container, payment_id=payment_id),
            "messages": queries.payment_messages(container, found),
        }

    return site.render(request, "operator/payment.html", await run_in_threadpool(load))


@pages.page("/operator/messages", name="operator_messages", roles=OPERATOR)
async def messages(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    container = site.container
    code = (request.query_params.get("participant") or "")[:11].strip()
    message_type = request.query_params.get("type") or None
    if message_type not in MESSAGE_TYPES:
        message_type = None
    before_text = request.query_params.get("before") or ""
    before = int(before_text) if before_text.isdigit() else None

    def load() -> list[queries.MessageLine]:
        return queries.message_lines(
            container,
            participant_id=_participant_id(request, code),
            message_type=message_type,
            before_seq=before,
        )

    lines = await run_in_threadpool(load)
    return site.render(
        request,
        "operator/messages.html",
        {
            "lines": lines,
            "participant": code.upper(),
            "message_type": message_type,
            "message_types": MESSAGE_TYPES,
            "next_cursor": lines[-1].seq if len(lines) == queries.PAGE_SIZE else None,
        },
    )


@pages.page("/operator/messages/{message_id:uuid}", name="operator_message", roles=OPERATOR)
async def message(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    found = await run_in_threadpool(
        queries.message, site.container, request.path_params["message_id"]
    )
    if found is None:
        raise HTTPException(404)
    line, body = found
    return site.render(
        request,
        "operator/message.html",
        {
            "line": line,
            "xml": body.decode("utf-8", "replace") if len(body) <= XML_PREVIEW_BYTES_MAX else None,
        },
    )


@pages.page("/operator/messages/{message_id:uuid}/xml", name="operator_message_xml", roles=OPERATOR)
async def message_xml(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    found = await run_in_threadpool(
        queries.message, site.container, request.path_params["message_id"]
    )
    if found is None:
        raise HTTPException(404)
    line, body = found
    return download(body, "application/xml", f"{line.message_type}-{line.business_message_id}.xml")


@pages.page("/operator/returns", name="operator_returns", roles=OPERATOR)
async def returns(request: Request, user: User) -> Response:  # noqa: ARG001
    site = site_of(request)
    container = site.container
    before = queries.decode_cursor(request.query_params.get("before"))
    lines = await run_in_threadpool(lambda: queries.return_lines(container, before=before))
    after = (
        queries.encode_cursor(lines[-1].created_at, lines[-1].id)
        if len(lines) == queries.PAGE_SIZE
        else None
    )
    return site.render(request, "operator/returns.html", {"lines": lines, "next_cursor": after})
