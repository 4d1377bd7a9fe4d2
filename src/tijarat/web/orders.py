"""The business's marketplace orders: the list, one order with its timeline, the next steps.

Every step is the trade service's own use case (confirm, ask for payment, pack, record the
PSW Financial Instrument, ship, mark delivered, cancel); the page only offers the ones the
order's state machine allows next, and a refused step is shown with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from tijarat.bootstrap import Container
from tijarat.identity.users import Role, User
from tijarat.kernel.errors import DomainError
from tijarat.trade.model import (
    TRANSITIONS,
    Instrument,
    Order,
    OrderStatus,
    RealisationCase,
    ShipmentMode,
)
from tijarat.trade.service import TradeService
from tijarat.web.errors import WebError
from tijarat.web.routing import Pages, download, error_text, redirect, site_of, text
from tijarat.web.site import flash

pages = Pages()
BUSINESS = (Role.BUSINESS,)
ORDERS_PAGE_SIZE = 100
ACTOR_PREFIX = "dashboard:"  # who moved the order, in its timeline
# Steps the page offers when the state machine allows the target state.
NEXT_STEPS = {
    OrderStatus.CONFIRMED: "confirm",
    OrderStatus.AWAITING_PAYMENT: "request_payment",
    OrderStatus.PACKED: "pack",
    OrderStatus.DELIVERED: "deliver",
}
CANCELLABLE = frozenset(
    {OrderStatus.RECEIVED, OrderStatus.CONFIRMED, OrderStatus.AWAITING_PAYMENT,
     OrderStatus.PAID, OrderStatus.PACKED}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: int
    title: str  # a status or a carrier status
    detail: str
    actor: str


def _business(user: User) -> uuid.UUID:
    assert user.business_id is not None  # the page guard admits business users only
    return user.business_id


def _actor(user: User) -> str:
    return f"{ACTOR_PREFIX}{user.username}"[:64]


@pages.page("/orders", name="orders", roles=BUSINESS)
async def orders(request: Request, user: User) -> Response:
    site = site_of(request)
    wanted = request.query_params.get("status") or None
    status = OrderStatus(wanted) if wanted in {s.value for s in OrderStatus} else None
    found = await run_in_threadpool(
        lambda: site.container.trade.orders(_business(user), status, ORDERS_PAGE_SIZE)
    )
    return site.render(
        request,
        "business/orders.html",
        {"orders": found, "status": status, "statuses": list(OrderStatus)},
    )


def _order_page(
    container: Container, business_id: uuid.UUID, order_id: uuid.UUID
) -> dict[str, Any]:
    trade = container.trade
    order = trade.order(business_id, order_id)  # 404 for another business's order
    shipment = trade.shipment_of_order(business_id, order_id)
    # A carrier's event comes before the status change it caused at the same moment
    # ("delivered" by the carrier, then the order delivered, then completed).
    timeline = [
        (
            event.occurred_at,
            0,
            TimelineEntry(event.occurred_at, event.status.value, event.location, event.source),
        )
        for event in (shipment.events if shipment is not None else ())
    ] + [
        (event.at, 1, TimelineEntry(event.at, event.to_status.value, event.note, event.actor))
        for event in trade.history(business_id, order_id)
    ]
    try:
        proceeds = trade.export_proceeds(business_id, order_id)
    except DomainError:
        proceeds = None  # no export details recorded yet
    return {
        "order": order,
        "shipment": shipment,
        "proceeds": proceeds,
        "timeline": [entry for _at, _rank, entry in sorted(timeline, key=lambda item: item[:2])],
        "next_steps": [
            step for target, step in NEXT_STEPS.items() if target in TRANSITIONS[order.status]
        ],
        "can_ship": OrderStatus.SHIPPED in TRANSITIONS[order.status]
        and order.status is OrderStatus.PACKED,
        "can_cancel": order.status in CANCELLABLE,
        "modes": list(ShipmentMode),
        "instruments": list(Instrument),
        "cases": list(RealisationCase),
    }


@pages.page("/orders/{order_id:uuid}", name="order", roles=BUSINESS)
async def order(request: Request, user: User) -> Response:
    site = site_of(request)
    context = await run_in_threadpool(
        _order_page, site.container, _business(user), request.path_params["order_id"]
    )
    return site.render(request, "business/order.html", context)


def _steps(
    trade: TradeService, business: uuid.UUID, order_id: uuid.UUID, actor: str, form: FormData
) -> dict[str, Callable[[], object]]:
    """The steps a business may take on its order, by name (each evaluated only when taken)."""
    return {
        "confirm": lambda: trade.confirm_order(business, order_id, actor),
        "request_payment": lambda: trade.request_payment(business, order_id, actor),
        "pack": lambda: trade.mark_packed(business, order_id, actor),
        "deliver": lambda: trade.mark_delivered(business, order_id, actor),
        "cancel": lambda: trade.cancel_order(
            business,
            order_id,
            text(form, "reason", length_max=400) or "cancelled by the seller",
            actor,
        ),
        "export_details": lambda: trade.record_export_details(
            business,
            order_id,
            financial_instrument_reference=text(form, "financial_instrument_reference") or None,
            instrument=Instrument(text(form, "instrument", length_max=40)),
            realisation_case=RealisationCase(text(form, "realisation_case", length_max=40)),
        ),
        "ship": lambda: trade.ship_order(
            business,
            order_id,
            carrier=text(form, "carrier", length_max=40),
            tracking_number=text(form, "tracking_number", length_max=60),
            mode=ShipmentMode(text(form, "mode", length_max=16)),
            transport_document_number=text(form, "transport_document_number", length_max=60),
            port_of_loading=text(form, "port_of_loading", length_max=100),
            port_of_discharge=text(form, "port_of_discharge", length_max=100),
            actor=actor,
        ),
    }


@pages.action("/orders/{order_id:uuid}/steps/{step}", name="order_step", roles=BUSINESS)
async def order_step(request: Request, user: User, form: FormData) -> Response:
    site = site_of(request)
    order_id: uuid.UUID = request.path_params["order_id"]
    steps = _steps(site.container.trade, _business(user), order_id, _actor(user), form)
    step = steps.get(request.path_params["step"])
    if step is None:
        raise DomainError(WebError.NOT_FOUND, "no such step", status=404)
    try:
        await run_in_threadpool(step)
    except DomainError as error:
        flash(request, "error", error_text(request, error))
    except ValueError:  # an option the form never offered (instrument, mode, case)
        flash(
            request,
            "error",
            site.translate(request.state.language, "Some fields are missing or too long."),
        )
    else:
        flash(request, "ok", site.translate(request.state.language, "Done."))
    return redirect(request, "order", order_id=order_id)


def _paperwork(kind: str) -> Callable[[Request, User], Awaitable[Response]]:
    async def handler(request: Request, user: User) -> Response:
        site = site_of(request)
        order_id: uuid.UUID = request.path_params["order_id"]
        trade = site.container.trade
        make = trade.commercial_invoice if kind == "invoice" else trade.packing_list
        found: Order = await run_in_threadpool(trade.order, _business(user), order_id)
        body = await run_in_threadpool(make, _business(user), order_id)
        name = f"{kind.replace('_', '-')}-{found.marketplace_order_id}.pdf"
        return download(body, "application/pdf", name)

    return handler


pages.page("/orders/{order_id:uuid}/invoice.pdf", name="order_invoice", roles=BUSINESS)(
    _paperwork("invoice")
)
pages.page("/orders/{order_id:uuid}/packing-list.pdf", name="order_packing_list", roles=BUSINESS)(
    _paperwork("packing_list")
)
