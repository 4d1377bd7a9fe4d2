"""/v1/trade: catalog, marketplace orders, escrow, shipments, paperwork, export proceeds.

The operator's bearer token plus `X-Business-Id: <uuid>` (the business the call is for) on
every /v1/trade route; `X-Actor` optionally names who acts (recorded in the order history).
The marketplace's push endpoint, /v1/marketplace/{connector}/push, is authenticated by its
HMAC signature alone.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tijarat.api.deps import ContainerDep, OperatorDep
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.trade.errors import TradeError
from tijarat.trade.model import (
    ACTOR_LENGTH_MAX,
    PAGE_SIZE_MAX,
    TRACKING_IMPORT_BYTES_MAX,
    OrderStatus,
)
from tijarat.trade.schemas import (
    ConfirmIn,
    ConnectorIn,
    ConnectorOut,
    ExportDetailsIn,
    ExporterIn,
    ExporterOut,
    ExportProceedsOut,
    InboxEntryOut,
    InboxReportOut,
    OrderEventOut,
    OrderOut,
    PaymentIn,
    ProceedsReportRowOut,
    ProductIn,
    ProductOut,
    PullIn,
    PullOut,
    PushAck,
    ReasonIn,
    ResolutionIn,
    ShipIn,
    ShipmentOut,
    SweepOut,
    TrackingEventsIn,
    TrackingImportOut,
    tiers_of,
    tracking_inputs,
)
from tijarat.trade.service import TradeService

router = APIRouter(tags=["trade"])
log = structlog.get_logger("tijarat.api.trade")
PDF = "application/pdf"


def _business(
    x_business_id: Annotated[str | None, Header(alias="X-Business-Id")] = None,
) -> uuid.UUID:
    try:
        return uuid.UUID(x_business_id or "")
    except ValueError:
        raise DomainError(
            TradeError.BUSINESS_REQUIRED,
            "send the business as 'X-Business-Id: <uuid>'",
            status=400,
        ) from None


def _actor(x_actor: Annotated[str | None, Header(alias="X-Actor")] = None) -> str:
    actor = (x_actor or "operator").strip()
    if not actor or len(actor) > ACTOR_LENGTH_MAX:
        raise DomainError(
            TradeError.ORDER_INVALID,
            f"X-Actor is 1 to {ACTOR_LENGTH_MAX} characters",
            status=422,
        )
    return actor


BusinessDep = Annotated[uuid.UUID, Depends(_business)]
ActorDep = Annotated[str, Depends(_actor)]


async def _body(request: Request, limit: int, code: TradeError) -> bytes:
    """The raw body, read no further than `limit` bytes (413 beyond it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DomainError(
                code, f"the body is limited to {limit} bytes", status=413, fields={"max": limit}
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _process_inbox(service: TradeService) -> None:
    """After the push is answered. A failure here is logged, never lost: the message stays
    in the inbox, unprocessed, for the next run."""
    try:
        service.process_inbox()
    except Exception:  # the background of a request: nobody is waiting for an answer
        log.exception("inbox processing failed")


# ---------------------------------------------------------------------- the marketplace
@router.post("/v1/marketplace/{connector}/push")
async def push(
    connector: str, request: Request, container: ContainerDep, background: BackgroundTasks
) -> PushAck:
    """A marketplace pushes an order message. Verified (size 413, HMAC 401, JSON 400),
    stored, answered at once; the order is created or updated after the answer."""
    service = container.trade
    body = await _body(request, service.settings.push_body_max_bytes, TradeError.PUSH_TOO_LARGE)
    receipt = await run_in_threadpool(
        service.receive_push,
        connector,
        body,
        request.headers.get("authorization"),
        request.headers.get("x-app-key"),
    )
    if not receipt.duplicate:
        background.add_task(_process_inbox, service)
    return PushAck(
        status="duplicate" if receipt.duplicate else "accepted", message_id=receipt.message_id
    )


# ---------------------------------------------------------------------- catalog
@router.put("/v1/trade/products/{sku}")
async def put_product(
    sku: str, body: ProductIn, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ProductOut:
    product = await run_in_threadpool(
        container.trade.put_product,
        business,
        sku,
        body.description,
        body.hs_code,
        body.unit,
        body.minimum_order_quantity,
        body.packing.to_model(),
        tiers_of(body),
    )
    return ProductOut.of(product)


@router.get("/v1/trade/products")
async def products(
    container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> list[ProductOut]:
    return [ProductOut.of(p) for p in await run_in_threadpool(container.trade.products, business)]


@router.get("/v1/trade/products/{sku}")
async def product(
    sku: str, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ProductOut:
    return ProductOut.of(await run_in_threadpool(container.trade.product, business, sku))


@router.put("/v1/trade/exporter")
async def put_exporter(
    body: ExporterIn, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ExporterOut:
    exporter = await run_in_threadpool(
        lambda: container.trade.set_exporter(business, **body.model_dump())
    )
    return ExporterOut.of(exporter)


@router.get("/v1/trade/exporter")
async def exporter(container: ContainerDep, _: OperatorDep, business: BusinessDep) -> ExporterOut:
    return ExporterOut.of(await run_in_threadpool(container.trade.exporter, business))


# ---------------------------------------------------------------------- connectors and inbox
@router.post("/v1/trade/connectors", status_code=201)
async def register_connector(
    body: ConnectorIn, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ConnectorOut:
    connector = await run_in_threadpool(
        container.trade.register_connector, business, body.name, body.app_key, body.app_secret
    )
    return ConnectorOut.of(connector)


@router.get("/v1/trade/connectors")
async def connectors(
    container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> list[ConnectorOut]:
    found = await run_in_threadpool(container.trade.connectors, business)
    return [ConnectorOut.of(connector) for connector in found]


@router.post("/v1/trade/connectors/{name}/pull")
async def pull(
    name: str,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    body: PullIn | None = None,
) -> PullOut:
    """Catch up on missed pushes by asking the marketplace (duplicates are ignored)."""
    since = body.since if body else None
    if since is not None and since.tzinfo is None:
        raise DomainError(TradeError.CONNECTOR_INVALID, "since needs a time zone", status=422)
    return PullOut.of(await run_in_threadpool(container.trade.pull_orders, business, name, since))


@router.get("/v1/trade/inbox")
async def inbox(
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = 100,
) -> list[InboxEntryOut]:
    entries = await run_in_threadpool(container.trade.inbox, business, limit)
    return [InboxEntryOut.of(entry) for entry in entries]


@router.post("/v1/trade/inbox/process")
async def process_inbox(container: ContainerDep, _: OperatorDep) -> InboxReportOut:
    """Apply every stored message now (also runs after each push)."""
    return InboxReportOut.of(await run_in_threadpool(container.trade.process_inbox))


@router.post("/v1/trade/inbox/{seq}/retry")
async def retry_inbox_entry(
    seq: int, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> InboxReportOut:
    """Apply a rejected message again, once its cause is fixed."""
    return InboxReportOut.of(
        await run_in_threadpool(container.trade.retry_inbox_entry, business, seq)
    )


@router.post("/v1/trade/sweep")
async def sweep(container: ContainerDep, _: OperatorDep) -> SweepOut:
    """Auto-release escrow, close unpaid orders, finish interrupted effects (run from cron)."""
    return SweepOut.of(await run_in_threadpool(container.trade.sweep))


# ---------------------------------------------------------------------- orders
@router.get("/v1/trade/orders")
async def orders(
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = 100,
) -> list[OrderOut]:
    found = await run_in_threadpool(container.trade.orders, business, status, limit)
    return [OrderOut.of(order) for order in found]


@router.get("/v1/trade/orders/{order_id}")
async def order(
    order_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> OrderOut:
    return OrderOut.of(await run_in_threadpool(container.trade.order, business, order_id))


@router.get("/v1/trade/orders/{order_id}/history")
async def history(
    order_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> list[OrderEventOut]:
    events = await run_in_threadpool(container.trade.history, business, order_id)
    return [OrderEventOut.of(event) for event in events]


@router.post("/v1/trade/orders/{order_id}/confirm")
async def confirm(
    order_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
    body: ConfirmIn | None = None,
) -> OrderOut:
    """Reserve stock for every line (409 from the stock when there is not enough)."""
    service = container.trade

    def run() -> OrderOut:
        confirmed = service.confirm_order(business, order_id, actor)
        if body is None or body.request_payment:
            confirmed = service.request_payment(business, order_id, actor)
        return OrderOut.of(confirmed)

    return await run_in_threadpool(run)


@router.post("/v1/trade/orders/{order_id}/request-payment")
async def request_payment(
    order_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    return OrderOut.of(
        await run_in_threadpool(container.trade.request_payment, business, order_id, actor)
    )


@router.post("/v1/trade/orders/{order_id}/payments")
async def record_payment(
    order_id: uuid.UUID,
    body: PaymentIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    """The buyer paid the whole order: held in escrow (a pending ledger transfer)."""
    amount = Money(body.amount_minor, body.currency)
    return OrderOut.of(
        await run_in_threadpool(
            container.trade.record_payment,
            business,
            order_id,
            amount,
            body.payment_reference,
            actor,
        )
    )


@router.post("/v1/trade/orders/{order_id}/pack")
async def pack(
    order_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    return OrderOut.of(
        await run_in_threadpool(container.trade.mark_packed, business, order_id, actor)
    )


@router.post("/v1/trade/orders/{order_id}/ship", status_code=201)
async def ship(
    order_id: uuid.UUID,
    body: ShipIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> ShipmentOut:
    shipment = await run_in_threadpool(
        lambda: container.trade.ship_order(business, order_id, actor=actor, **body.model_dump())
    )
    return ShipmentOut.of(shipment)


@router.post("/v1/trade/orders/{order_id}/deliver")
async def deliver(
    order_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    return OrderOut.of(
        await run_in_threadpool(container.trade.mark_delivered, business, order_id, actor)
    )


@router.post("/v1/trade/orders/{order_id}/receipt")
async def confirm_receipt(
    order_id: uuid.UUID,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    """The buyer confirmed receipt: escrow released to the seller, proceeds realised."""
    return OrderOut.of(
        await run_in_threadpool(container.trade.confirm_receipt, business, order_id, actor)
    )


@router.post("/v1/trade/orders/{order_id}/cancel")
async def cancel(
    order_id: uuid.UUID,
    body: ReasonIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    return OrderOut.of(
        await run_in_threadpool(
            container.trade.cancel_order, business, order_id, body.reason, actor
        )
    )


@router.post("/v1/trade/orders/{order_id}/disputes")
async def open_dispute(
    order_id: uuid.UUID,
    body: ReasonIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    return OrderOut.of(
        await run_in_threadpool(
            container.trade.open_dispute, business, order_id, body.reason, actor
        )
    )


@router.post("/v1/trade/orders/{order_id}/disputes/resolution")
async def resolve_dispute(
    order_id: uuid.UUID,
    body: ResolutionIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    actor: ActorDep,
) -> OrderOut:
    resolved = await run_in_threadpool(
        lambda: container.trade.resolve_dispute(
            business,
            order_id,
            body.outcome,
            refund_minor=body.refund_minor,
            note=body.note,
            actor=actor,
        )
    )
    return OrderOut.of(resolved)


# ---------------------------------------------------------------------- export
@router.put("/v1/trade/orders/{order_id}/export")
async def put_export_details(
    order_id: uuid.UUID,
    body: ExportDetailsIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
) -> ExportProceedsOut:
    """The PSW Financial Instrument and the SBP case that sets the realisation deadline."""
    proceeds = await run_in_threadpool(
        lambda: container.trade.record_export_details(business, order_id, **body.model_dump())
    )
    return ExportProceedsOut.of(proceeds)


@router.get("/v1/trade/orders/{order_id}/export")
async def export_details(
    order_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ExportProceedsOut:
    return ExportProceedsOut.of(
        await run_in_threadpool(container.trade.export_proceeds, business, order_id)
    )


@router.get("/v1/trade/orders/{order_id}/invoice.pdf", response_class=Response)
async def invoice_pdf(
    order_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> Response:
    document = await run_in_threadpool(container.trade.commercial_invoice, business, order_id)
    return Response(document, media_type=PDF)


@router.get("/v1/trade/orders/{order_id}/packing-list.pdf", response_class=Response)
async def packing_list_pdf(
    order_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> Response:
    document = await run_in_threadpool(container.trade.packing_list, business, order_id)
    return Response(document, media_type=PDF)


@router.get("/v1/trade/proceeds/report")
async def proceeds_report(
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
    warning_days: Annotated[int | None, Query(ge=0, le=365)] = None,
    include_on_time: bool = False,
) -> list[ProceedsReportRowOut]:
    """Shipped exports whose proceeds are overdue or due soon, nearest deadline first."""
    rows = await run_in_threadpool(
        lambda: container.trade.proceeds_report(
            business, warning_days=warning_days, include_on_time=include_on_time
        )
    )
    return [ProceedsReportRowOut.of(row) for row in rows]


# ---------------------------------------------------------------------- shipments
@router.post("/v1/trade/shipments/events/import")
async def import_tracking(
    request: Request, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> TrackingImportOut:
    """A CSV of carrier events: carrier,tracking_number,status,occurred_at[,location,event_id]."""
    body = await _body(request, TRACKING_IMPORT_BYTES_MAX, TradeError.TRACKING_IMPORT_INVALID)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(
            TradeError.TRACKING_IMPORT_INVALID, "the CSV must be UTF-8", status=422
        ) from None
    report = await run_in_threadpool(container.trade.import_tracking, business, text)
    return TrackingImportOut.of(report)


@router.get("/v1/trade/shipments/{shipment_id}")
async def shipment(
    shipment_id: uuid.UUID, container: ContainerDep, _: OperatorDep, business: BusinessDep
) -> ShipmentOut:
    return ShipmentOut.of(await run_in_threadpool(container.trade.shipment, business, shipment_id))


@router.post("/v1/trade/shipments/{shipment_id}/events")
async def tracking_events(
    shipment_id: uuid.UUID,
    body: TrackingEventsIn,
    container: ContainerDep,
    _: OperatorDep,
    business: BusinessDep,
) -> ShipmentOut:
    """Carrier tracking events (webhook): normalised; Delivered moves the order on."""
    events = tracking_inputs(body)
    return ShipmentOut.of(
        await run_in_threadpool(
            container.trade.record_tracking_events, business, shipment_id, events
        )
    )
