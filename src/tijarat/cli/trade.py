"""`tijarat trade ...`: the catalog, marketplace orders, escrow, shipping, paperwork, proceeds.

Every command names its business with `--business` (the wallet customer id or the business's
mobile number; or TIJARAT_BUSINESS). Orders are named by their id or by the marketplace's
order id (AB...). `simulate` plays the marketplace: it signs pushes with the connector's
secret exactly as the marketplace does, and delivers them in process or to a running server.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import httpx
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from tijarat.bootstrap import Container, build
from tijarat.cli.supply import (
    BusinessOption,
    DatabaseUrl,
    JsonOutput,
    bounded,
    local_time,
    minor_units,
    money,
    open_business,
    print_json,
    settings_for,
    split_line,
    whole_number,
)
from tijarat.kernel.errors import DomainError
from tijarat.trade import store
from tijarat.trade.errors import TradeError
from tijarat.trade.marketplace import MarketplaceMessage
from tijarat.trade.model import (
    APP_SECRET_LENGTH_MIN,
    PAGE_SIZE_MAX,
    DisputeOutcome,
    ExportProceeds,
    Incoterm,
    Instrument,
    MessageType,
    Order,
    OrderStatus,
    RealisationCase,
    ShipmentMode,
)
from tijarat.trade.schemas import (
    ConnectorOut,
    ExporterOut,
    ExportProceedsOut,
    InboxEntryOut,
    InboxReportOut,
    OrderEventOut,
    OrderOut,
    ProceedsReportRowOut,
    ProductOut,
    ShipmentOut,
    TrackingImportOut,
)
from tijarat.trade.simulator import MarketplaceSimulator, SimulatedOrder, load_catalog

app = typer.Typer(
    no_args_is_help=True,
    help="Trade: catalog, marketplace orders, escrow, shipping, paperwork, export proceeds.",
)
catalog_app = typer.Typer(no_args_is_help=True, help="The products the business sells abroad.")
exporter_app = typer.Typer(no_args_is_help=True, help="The exporter as paperwork shows it.")
connector_app = typer.Typer(no_args_is_help=True, help="The business's apps at marketplaces.")
simulate_app = typer.Typer(
    no_args_is_help=True, help="Play the marketplace: signed pushes of orders and their events."
)
inbox_app = typer.Typer(no_args_is_help=True, help="Marketplace messages as they arrived.")
orders_app = typer.Typer(no_args_is_help=True, help="Marketplace orders.")
tracking_app = typer.Typer(no_args_is_help=True, help="Carrier tracking events.")
proceeds_app = typer.Typer(no_args_is_help=True, help="Export proceeds and SBP deadlines.")
app.add_typer(catalog_app, name="catalog")
app.add_typer(exporter_app, name="exporter")
app.add_typer(connector_app, name="connector")
app.add_typer(simulate_app, name="simulate")
app.add_typer(inbox_app, name="inbox")
app.add_typer(orders_app, name="orders")
app.add_typer(tracking_app, name="tracking")
app.add_typer(proceeds_app, name="proceeds")
console = Console()
errors = Console(stderr=True)

SIMULATED_ORDERS_MAX = 100  # orders one `simulate orders` pushes
HTTP_TIMEOUT_S = 10.0  # per push to a running server
GENERATED_SECRET_BYTES = 32  # 64 hex characters
ORDER_ID_DIGITS = 14  # simulated marketplace order ids: AB + 14 digits

OrderArg = Annotated[str, typer.Argument(help="Order id, or the marketplace's order id (AB...).")]
ActorOption = Annotated[str, typer.Option(help="Who acts (recorded in the order's history).")]
ConnectorOption = Annotated[
    str, typer.Option("--connector", help="The marketplace connector's name.")
]
AppKeyOption = Annotated[
    str | None, typer.Option("--app-key", help="Which app, if the connector has several.")
]
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--secret",
        envvar="TIJARAT_MARKETPLACE_SECRET",
        help="The app secret to sign with (default: the connector's, from the database).",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Push to a running server (e.g. http://127.0.0.1:8000) instead of in process.",
    ),
]


# ---------------------------------------------------------------------------- helpers
def _order(container: Container, business_id: uuid.UUID, text: str) -> Order:
    """An order by id or by its marketplace order id (among the latest PAGE_SIZE_MAX)."""
    try:
        return container.trade.order(business_id, uuid.UUID(text.strip()))
    except ValueError:
        pass
    wanted = text.strip()
    for order in container.trade.orders(business_id, limit=PAGE_SIZE_MAX):
        if order.marketplace_order_id == wanted:
            return order
    raise DomainError(
        TradeError.ORDER_NOT_FOUND,
        f"no order {wanted} (see `tijarat trade orders list`)",
        status=404,
    )


def _said(order: Order) -> None:
    """What became of an order after a command."""
    console.print(
        f"order {order.marketplace_order_id} is now [bold]{order.status.value}[/]"
        f"  ({money(order.total_minor, order.currency)})"
    )
    if order.note:
        console.print(f"  [yellow]note[/]: {order.note}")
    if order.effect_error:
        console.print(f"  [red]not finished[/] (the sweep retries): {order.effect_error}")


def _fresh_message_id() -> str:
    return f"MSG{uuid.uuid4().hex[:24].upper()}"


def _fresh(message: MarketplaceMessage, **changes: str) -> MarketplaceMessage:
    """The simulator's message with ids unique across runs (each run starts counting at 1)."""
    return MarketplaceMessage(
        _fresh_message_id(),
        message.message_type,
        message.occurred_at,
        {**message.data, **changes},
    )


def _simulator(
    container: Container,
    business_id: uuid.UUID,
    connector_name: str,
    app_key: str | None,
    secret: str | None,
    seed: int | None = None,
) -> MarketplaceSimulator:
    """The marketplace's side of the business's connector, with its catalog."""
    connector = next(
        (
            found
            for found in container.trade.connectors(business_id)
            if found.name == connector_name and app_key in (None, found.app_key)
        ),
        None,
    )
    if connector is None:
        raise DomainError(
            TradeError.CONNECTOR_NOT_FOUND,
            f"no {connector_name} connector"
            + (f" with app key {app_key}" if app_key else "")
            + " (register one with `tijarat trade connector register`)",
            status=404,
        )
    if secret is None:
        # The simulator stands in for the marketplace, which holds the same secret; on this
        # machine it is read where the connector keeps it (the API never returns it).
        table = store.connectors_table
        with container.engine.connect() as connection:
            secret = connection.execute(
                sa.select(table.c.app_secret).where(table.c.id == connector.id)
            ).scalar_one()
    return MarketplaceSimulator(
        connector.name,
        connector.app_key,
        secret,
        container.clock,
        seed=secrets.randbelow(1 << 31) if seed is None else seed,
        catalog=container.trade.products(business_id),
    )


def _deliver(
    container: Container,
    simulator: MarketplaceSimulator,
    messages: Sequence[MarketplaceMessage],
    url: str | None,
) -> list[dict[str, Any]]:
    """Push each message (in process, or over HTTP to `url`); in process, apply them too."""
    results: list[dict[str, Any]] = []
    if url is None:
        for message in messages:
            receipt = simulator.push_in_process(container.trade, message)
            results.append(_result(message, "duplicate" if receipt.duplicate else "accepted"))
        return results
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="--url")
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
            for message in messages:
                response = simulator.push(http, message)
                results.append(_result(message, _answer(response), response.status_code))
    except httpx.HTTPError as error:
        errors.print(f"cannot push to {url}: {error}")
        raise typer.Exit(1) from None
    return results


def _result(
    message: MarketplaceMessage, outcome: str, http_status: int | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "message_id": message.message_id,
        "message_type": message.message_type.value,
        "order_id": message.data.get("order_id"),
        "result": outcome,
    }
    if http_status is not None:
        result["http_status"] = http_status
    return result


def _answer(response: httpx.Response) -> str:
    """The push's answer: accepted or duplicate, or the problem's code and detail."""
    try:
        document = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(document, dict):
        return f"HTTP {response.status_code}"
    if response.is_success:
        return str(document.get("status", "accepted"))
    return f"{document.get('code', response.status_code)}: {document.get('detail', '')}".strip()


def _report_pushes(
    container: Container,
    business_id: uuid.UUID,
    results: list[dict[str, Any]],
    url: str | None,
    json_output: bool,
) -> None:
    """Apply what arrived (in process) and say what became of each message and order.

    Exits 1 when a push was refused, or (in process) its message was rejected by the order's
    rules (e.g. a payment for a cancelled order): the command did not do what it said.
    """
    report = None
    if url is None:
        report = container.trade.process_inbox()
        entries = {
            entry.message_id: entry for entry in container.trade.inbox(business_id, PAGE_SIZE_MAX)
        }
        for result in results:
            entry = entries.get(result["message_id"])
            if entry is not None:
                result["outcome"] = entry.outcome.value if entry.outcome else "waiting"
                result["error"] = entry.error
    wanted = {result["order_id"] for result in results}
    orders = [
        order
        for order in (
            container.trade.orders(business_id, limit=PAGE_SIZE_MAX) if url is None else []
        )
        if order.marketplace_order_id in wanted
    ]
    failed = [
        result
        for result in results
        if result["result"] not in ("accepted", "duplicate") or result.get("outcome") == "rejected"
    ]
    if json_output:
        print_json(
            {
                "messages": results,
                "inbox": InboxReportOut.of(report).model_dump(mode="json") if report else None,
                "orders": [OrderOut.of(order).model_dump(mode="json") for order in orders],
            }
        )
    else:
        table = Table(title="Pushed" + (f" to {url}" if url else " (in process)"))
        for column in ("message", "type", "order", "answer", "applied"):
            table.add_column(column, overflow="fold")
        for result in results:
            colour = "red" if result in failed else "green"
            table.add_row(
                result["message_id"],
                result["message_type"],
                str(result["order_id"]),
                f"[{colour}]{result['result']}[/]",
                " ".join(
                    str(part) for part in (result.get("outcome"), result.get("error")) if part
                ),
            )
        console.print(table)
        if report is None and len(failed) < len(results):
            console.print("the server applies them now: see `tijarat trade orders list`")
        for order in orders:
            _said(order)
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- catalog
@catalog_app.command("list")
def catalog_list(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """Products with HS codes, minimum order quantities and tiered prices."""
    with open_business(database_url, business) as (container, business_id):
        products = container.trade.products(business_id)
    if json_output:
        print_json([ProductOut.of(product).model_dump(mode="json") for product in products])
        return
    table = Table(title="Catalog")
    for column in ("SKU", "description", "HS code", "unit", "MOQ", "prices"):
        table.add_column(column, justify="right" if column == "MOQ" else "left")
    for product in products:
        table.add_row(
            product.sku,
            product.description,
            product.hs_code,
            product.unit,
            str(product.minimum_order_quantity),
            ", ".join(
                f"{tier.minimum_quantity}+: {money(tier.unit_price_minor, tier.currency)}"
                for tier in product.price_tiers
            ),
        )
    console.print(table)


@catalog_app.command("load-demo")
def catalog_load_demo(business: BusinessOption, database_url: DatabaseUrl = None) -> None:
    """Load the Skardu catalog: apricots, kernel oil, walnuts, pashmina shawls, Balti carpets."""
    with open_business(database_url, business) as (container, business_id):
        products = load_catalog(container.trade, business_id)
    console.print(
        f"[green]loaded[/] {len(products)} products: " + ", ".join(p.sku for p in products)
    )


# ---------------------------------------------------------------------------- exporter
@exporter_app.command("set")
def exporter_set(
    business: BusinessOption,
    name: Annotated[str, typer.Option(help="The exporter's legal name.")],
    address: Annotated[str, typer.Option(help="Street address.")],
    city: Annotated[str, typer.Option(help="City.")],
    ntn: Annotated[str, typer.Option(help="National Tax Number.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    phone: Annotated[str, typer.Option(help="Telephone number.")],
    database_url: DatabaseUrl = None,
) -> None:
    """The exporter's details, as the commercial invoice and packing list show them."""
    with open_business(database_url, business) as (container, business_id):
        exporter = container.trade.set_exporter(
            business_id, name=name, address=address, city=city, ntn=ntn, email=email, phone=phone
        )
    console.print(f"[green]saved[/] exporter {exporter.name}, {exporter.city} (NTN {exporter.ntn})")


@exporter_app.command("show")
def exporter_show(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """The exporter's details."""
    with open_business(database_url, business) as (container, business_id):
        exporter = container.trade.exporter(business_id)
    if json_output:
        print_json(ExporterOut.of(exporter).model_dump(mode="json"))
        return
    console.print(f"[bold]{exporter.name}[/]\n{exporter.address}, {exporter.city}")
    console.print(f"NTN {exporter.ntn}, {exporter.email}, {exporter.phone}")


# ---------------------------------------------------------------------------- connectors
@connector_app.command("register")
def connector_register(
    name: Annotated[str, typer.Argument(help='The marketplace, e.g. "alibaba".')],
    business: BusinessOption,
    app_key: Annotated[str, typer.Option("--app-key", help="The app key the marketplace gave.")],
    secret: Annotated[
        str | None,
        typer.Option(help="The app secret, if the marketplace chose it (default: generated)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register the business's app at a marketplace; a generated secret is printed once."""
    generated = secret is None
    app_secret = secret if secret is not None else secrets.token_hex(GENERATED_SECRET_BYTES)
    if len(app_secret) < APP_SECRET_LENGTH_MIN:
        raise typer.BadParameter(
            f"at least {APP_SECRET_LENGTH_MIN} characters", param_hint="--secret"
        )
    with open_business(database_url, business) as (container, business_id):
        connector = container.trade.register_connector(business_id, name, app_key, app_secret)
    console.print(
        f"[green]registered[/] {connector.name} app {connector.app_key}; pushes go to "
        f"/v1/marketplace/{connector.name}/push"
    )
    if generated:
        console.print("app secret (shown once; give it to the marketplace to sign pushes):")
        print(app_secret)  # on its own line, for copying


@connector_app.command("list")
def connector_list(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """The business's marketplace connectors (secrets are never shown)."""
    with open_business(database_url, business) as (container, business_id):
        connectors = container.trade.connectors(business_id)
    if json_output:
        print_json([ConnectorOut.of(c).model_dump(mode="json") for c in connectors])
        return
    table = Table(title="Connectors")
    for column in ("name", "app key", "push URL", "registered"):
        table.add_column(column)
    for connector in connectors:
        table.add_row(
            connector.name,
            connector.app_key,
            f"/v1/marketplace/{connector.name}/push",
            local_time(connector.created_at),
        )
    console.print(table)


# ---------------------------------------------------------------------------- the simulator
@simulate_app.command("orders")
def simulate_orders(
    business: BusinessOption,
    count: Annotated[
        int, typer.Option(min=1, max=SIMULATED_ORDERS_MAX, help="How many orders.")
    ] = 1,
    line: Annotated[
        list[str] | None,
        typer.Option(help="SKU:QUANTITY for every order (default: 1 to 3 random products)."),
    ] = None,
    incoterm: Annotated[Incoterm | None, typer.Option(help="Default: random.")] = None,
    seed: Annotated[int | None, typer.Option(help="Repeatable buyers and quantities.")] = None,
    connector: ConnectorOption = "alibaba",
    app_key: AppKeyOption = None,
    secret: SecretOption = None,
    url: UrlOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Push N realistic signed orders from buyers abroad for the business's catalog."""
    with open_business(database_url, business) as (container, business_id):
        simulator = _simulator(container, business_id, connector, app_key, secret, seed)
        skus = {product.sku for product in simulator.catalog}
        if not skus:
            raise DomainError(
                TradeError.PRODUCT_NOT_FOUND,
                "the catalog is empty: load it first (`tijarat trade catalog load-demo`)",
                status=404,
            )
        lines = None
        if line:
            lines = []
            for text in bounded(line, "--line"):
                sku, quantity = split_line(text, 2, "SKU:QUANTITY")
                if sku.upper() not in skus:
                    raise typer.BadParameter(
                        f"{sku} is not in the catalog ({', '.join(sorted(skus))})",
                        param_hint="--line",
                    )
                lines.append((sku.upper(), whole_number(quantity, "quantity")))
        messages = []
        for _ in range(count):
            order_id = f"AB{secrets.randbelow(10**ORDER_ID_DIGITS):0{ORDER_ID_DIGITS}d}"
            created = simulator.order_created(incoterm=incoterm, lines=lines)
            messages.append(_fresh(created, order_id=order_id))
        results = _deliver(container, simulator, messages, url)
        _report_pushes(container, business_id, results, url, json_output)


def _simulate_event(
    database_url: str | None,
    business: str,
    order_text: str,
    message_type: MessageType,
    options: tuple[str, str | None, str | None, str | None],
    reason: str = "",
    *,
    json_output: bool = False,
) -> None:
    connector, app_key, secret, url = options
    with open_business(database_url, business) as (container, business_id):
        order = _order(container, business_id, order_text)
        simulator = _simulator(container, business_id, connector, app_key, secret)
        marketplace_id = order.marketplace_order_id
        if message_type is MessageType.ORDER_PAID:
            simulator.orders[marketplace_id] = SimulatedOrder(marketplace_id, {}, order.total)
            message = _fresh(
                simulator.order_paid(marketplace_id),
                payment_reference=f"PAY{uuid.uuid4().hex[:16].upper()}",
            )
        elif message_type is MessageType.RECEIPT_CONFIRMED:
            message = _fresh(simulator.receipt_confirmed(marketplace_id))
        elif message_type is MessageType.DISPUTE_OPENED:
            message = _fresh(simulator.dispute_opened(marketplace_id, reason))
        else:
            message = _fresh(simulator.order_cancelled(marketplace_id, reason))
        results = _deliver(container, simulator, [message], url)
        _report_pushes(container, business_id, results, url, json_output)


@simulate_app.command("pay")
def simulate_pay(
    order: OrderArg,
    business: BusinessOption,
    connector: ConnectorOption = "alibaba",
    app_key: AppKeyOption = None,
    secret: SecretOption = None,
    url: UrlOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The buyer pays the order in full: the marketplace says so (into escrow)."""
    _simulate_event(
        database_url,
        business,
        order,
        MessageType.ORDER_PAID,
        (connector, app_key, secret, url),
        json_output=json_output,
    )


@simulate_app.command("receipt")
def simulate_receipt(
    order: OrderArg,
    business: BusinessOption,
    connector: ConnectorOption = "alibaba",
    app_key: AppKeyOption = None,
    secret: SecretOption = None,
    url: UrlOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The buyer confirms receipt on the marketplace (escrow is released)."""
    _simulate_event(
        database_url,
        business,
        order,
        MessageType.RECEIPT_CONFIRMED,
        (connector, app_key, secret, url),
        json_output=json_output,
    )


@simulate_app.command("dispute")
def simulate_dispute(
    order: OrderArg,
    business: BusinessOption,
    reason: Annotated[str, typer.Option(help="The buyer's claim.")],
    connector: ConnectorOption = "alibaba",
    app_key: AppKeyOption = None,
    secret: SecretOption = None,
    url: UrlOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The buyer opens a dispute on the marketplace (escrow is frozen)."""
    _simulate_event(
        database_url,
        business,
        order,
        MessageType.DISPUTE_OPENED,
        (connector, app_key, secret, url),
        reason,
        json_output=json_output,
    )


@simulate_app.command("cancel")
def simulate_cancel(
    order: OrderArg,
    business: BusinessOption,
    reason: Annotated[str, typer.Option(help="Why the buyer cancels.")] = "buyer changed plans",
    connector: ConnectorOption = "alibaba",
    app_key: AppKeyOption = None,
    secret: SecretOption = None,
    url: UrlOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The buyer cancels an unpaid order on the marketplace."""
    _simulate_event(
        database_url,
        business,
        order,
        MessageType.ORDER_CANCELLED,
        (connector, app_key, secret, url),
        reason,
        json_output=json_output,
    )


# ---------------------------------------------------------------------------- inbox
@inbox_app.command("process")
def inbox_process(database_url: DatabaseUrl = None) -> None:
    """Apply every stored marketplace message (all businesses), oldest first."""
    container = build(settings_for(database_url))
    try:
        report = container.trade.process_inbox()
    finally:
        container.close()
    console.print(
        f"inbox: {report.applied} applied, {report.already_applied} already applied, "
        f"{report.rejected} rejected, {report.waiting} waiting, {report.failed} failed"
    )


@inbox_app.command("list")
def inbox_list(
    business: BusinessOption,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_SIZE_MAX, help="At most.")] = 50,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The business's marketplace messages, newest first, with what became of each."""
    with open_business(database_url, business) as (container, business_id):
        entries = container.trade.inbox(business_id, limit)
    if json_output:
        print_json([InboxEntryOut.of(entry).model_dump(mode="json") for entry in entries])
        return
    table = Table(title="Inbox")
    for column in ("seq", "message", "type", "source", "received", "outcome", "error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            entry.message_id,
            entry.message_type,
            entry.source,
            local_time(entry.received_at),
            entry.outcome.value if entry.outcome else "waiting",
            entry.error or "",
        )
    console.print(table)


@inbox_app.command("retry")
def inbox_retry(
    seq: Annotated[int, typer.Argument(help="The rejected message's seq (see `inbox list`).")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply a rejected message again, once its cause is fixed (e.g. stock arrived)."""
    with open_business(database_url, business) as (container, business_id):
        report = container.trade.retry_inbox_entry(business_id, seq)
    outcome = next(
        (
            name
            for name in ("applied", "already_applied", "rejected", "waiting")
            if getattr(report, name)
        ),
        "failed",
    )
    console.print(f"message {seq}: {outcome}")


# ---------------------------------------------------------------------------- orders
@orders_app.command("list")
def orders_list(
    business: BusinessOption,
    status: Annotated[OrderStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_SIZE_MAX, help="At most.")] = 100,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Marketplace orders, newest first."""
    with open_business(database_url, business) as (container, business_id):
        orders = container.trade.orders(business_id, status, limit)
    if json_output:
        print_json([OrderOut.of(order).model_dump(mode="json") for order in orders])
        return
    table = Table(title="Orders")
    for column in ("order", "buyer", "country", "Incoterm", "total", "status", "received"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for order in orders:
        table.add_row(
            order.marketplace_order_id,
            order.buyer.company,
            order.buyer.country,
            f"{order.incoterm.value} {order.incoterm_place}",
            money(order.total_minor, order.currency),
            order.status.value,
            local_time(order.created_at),
        )
    console.print(table)


@orders_app.command("show")
def orders_show(
    order: OrderArg,
    business: BusinessOption,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """One order: buyer, lines, and its timeline (every transition and carrier event)."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        history = container.trade.history(business_id, found.id)
        shipment = container.trade.shipment_of_order(business_id, found.id)
        try:
            proceeds = container.trade.export_proceeds(business_id, found.id)
        except DomainError:
            proceeds = None
    if json_output:
        document = OrderOut.of(found).model_dump(mode="json")
        document["history"] = [OrderEventOut.of(e).model_dump(mode="json") for e in history]
        document["shipment"] = (
            ShipmentOut.of(shipment).model_dump(mode="json") if shipment else None
        )
        document["export"] = (
            ExportProceedsOut.of(proceeds).model_dump(mode="json") if proceeds else None
        )
        print_json(document)
        return
    buyer = found.buyer
    console.print(
        f"[bold]{found.marketplace_order_id}[/] ({found.invoice_number}, id {found.id}): "
        f"[bold]{found.status.value}[/]"
    )
    console.print(f"  buyer  {buyer.company}, {buyer.contact_name} <{buyer.email}>")
    console.print(f"         {buyer.address} ({buyer.country})")
    console.print(
        f"  terms  {found.incoterm.value} {found.incoterm_place}; goods "
        f"{money(found.goods_minor, found.currency)} + shipping "
        f"{money(found.shipping_minor, found.currency)} = "
        f"{money(found.total_minor, found.currency)}"
    )
    if found.note:
        console.print(f"  [yellow]note[/]   {found.note}")
    if found.effect_error:
        console.print(f"  [red]unfinished[/] {found.effect_error}")
    lines = Table(show_edge=False)
    for column in ("SKU", "description", "HS code", "quantity", "unit price", "amount"):
        lines.add_column(
            column, justify="right" if column in ("quantity", "unit price", "amount") else "left"
        )
    for item in found.lines:
        lines.add_row(
            item.sku,
            item.description,
            item.hs_code,
            f"{item.quantity} {item.unit}",
            money(item.unit_price_minor, found.currency),
            money(item.amount_minor, found.currency),
        )
    console.print(lines)
    timeline: list[tuple[int, str, str, str]] = [
        (
            event.at,
            f"{event.from_status.value if event.from_status else 'new'} -> {event.to_status.value}",
            event.actor,
            event.note,
        )
        for event in history
    ]
    if shipment is not None:
        timeline.extend(
            (
                event.occurred_at,
                f"tracking: {event.status.value}",
                f"carrier:{shipment.carrier}",
                " ".join(part for part in (event.carrier_status, event.location) if part),
            )
            for event in shipment.events
        )
    table = Table(title="Timeline")
    for column in ("time (PKT)", "what", "who", "note"):
        table.add_column(column)
    for at, what, who, note in sorted(timeline, key=lambda row: row[0]):
        table.add_row(local_time(at), what, who, note)
    console.print(table)
    if shipment is not None:
        console.print(
            f"  shipment {shipment.carrier} {shipment.tracking_number} by {shipment.mode.value}, "
            f"{shipment.mode.transport_document} {shipment.transport_document_number}, "
            f"{shipment.port_of_loading} -> {shipment.port_of_discharge}: {shipment.status.value}"
        )
    if proceeds is not None:
        _print_proceeds(proceeds)


def _print_proceeds(proceeds: ExportProceeds) -> None:
    console.print(
        f"  export  {proceeds.instrument.value}, "
        f"FI {proceeds.financial_instrument_reference or '-'}, {proceeds.status.value}"
        + (f", due by {local_time(proceeds.deadline_at)}" if proceeds.deadline_at else "")
    )
    if proceeds.realised_minor is not None and proceeds.converted_minor is not None:
        deductions = ", ".join(
            f"{d.kind.value} {money(d.amount_minor, 'PKR')}" for d in proceeds.deductions
        )
        console.print(
            f"          realised {money(proceeds.realised_minor, proceeds.currency)} -> "
            f"{money(proceeds.converted_minor, 'PKR')} at {proceeds.conversion_rate}; "
            f"{deductions}; net {money(proceeds.net_minor or 0, 'PKR')}"
            + (" [red](late)[/]" if proceeds.realised_late else "")
        )


def _transition(
    database_url: str | None, business: str, order_text: str, action: str, actor: str
) -> None:
    with open_business(database_url, business) as (container, business_id):
        order = _order(container, business_id, order_text)
        actions = {
            "confirm": container.trade.confirm_order,
            "pay-request": container.trade.request_payment,
            "pack": container.trade.mark_packed,
            "deliver": container.trade.mark_delivered,
            "confirm-receipt": container.trade.confirm_receipt,
        }
        changed = actions[action](business_id, order.id, actor)
        proceeds = (
            container.trade.export_proceeds(business_id, order.id)
            if action == "confirm-receipt" and changed.status is OrderStatus.COMPLETED
            else None
        )
    _said(changed)
    if proceeds is not None:
        _print_proceeds(proceeds)


@app.command("confirm")
def confirm(
    order: OrderArg,
    business: BusinessOption,
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Confirm an order: its stock is reserved (when it did not happen by itself)."""
    _transition(database_url, business, order, "confirm", actor)


@app.command("pay-request")
def pay_request(
    order: OrderArg,
    business: BusinessOption,
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Offer a confirmed order to the buyer for payment (into escrow)."""
    _transition(database_url, business, order, "pay-request", actor)


@app.command("pack")
def pack(
    order: OrderArg,
    business: BusinessOption,
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """The paid order is packed."""
    _transition(database_url, business, order, "pack", actor)


@app.command("deliver")
def deliver(
    order: OrderArg,
    business: BusinessOption,
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Delivered without a carrier event (e.g. the buyer collected it)."""
    _transition(database_url, business, order, "deliver", actor)


@app.command("confirm-receipt")
def confirm_receipt(
    order: OrderArg,
    business: BusinessOption,
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """The buyer confirms receipt: escrow is released, converted to rupees, deductions posted."""
    _transition(database_url, business, order, "confirm-receipt", actor)


@app.command("export")
def export_details(
    order: OrderArg,
    business: BusinessOption,
    instrument: Annotated[Instrument, typer.Option(help="The PSW Financial Instrument's kind.")],
    reference: Annotated[
        str | None, typer.Option(help="The Financial Instrument reference the bank issued.")
    ] = None,
    case: Annotated[
        RealisationCase, typer.Option(help="SBP's case that sets the realisation deadline.")
    ] = RealisationCase.GENERAL,
    database_url: DatabaseUrl = None,
) -> None:
    """Record the export's PSW Financial Instrument (needed before shipping)."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        proceeds = container.trade.record_export_details(
            business_id,
            found.id,
            financial_instrument_reference=reference,
            instrument=instrument,
            realisation_case=case,
        )
    console.print(
        f"[green]recorded[/] export details of {found.marketplace_order_id}: "
        f"{proceeds.instrument.value}, FI {proceeds.financial_instrument_reference or '-'}, "
        f"case {proceeds.realisation_case.value}"
    )


@app.command("ship")
def ship(
    order: OrderArg,
    business: BusinessOption,
    carrier: Annotated[str, typer.Option(help="dhl, fedex, ups, tcs, maersk ...")],
    tracking: Annotated[str, typer.Option(help="The carrier's tracking number.")],
    mode: Annotated[ShipmentMode, typer.Option(help="How the goods travel.")],
    document: Annotated[str, typer.Option(help="The AWB, B/L or CMR number.")],
    loading: Annotated[str, typer.Option(help="Port of loading, e.g. 'Karachi (KHI)'.")],
    discharge: Annotated[str, typer.Option(help="Port of discharge, e.g. 'Hamburg (HAM)'.")],
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Hand the goods to the carrier: reserved stock leaves, the SBP realisation clock starts."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        shipment = container.trade.ship_order(
            business_id,
            found.id,
            carrier=carrier,
            tracking_number=tracking,
            mode=mode,
            transport_document_number=document,
            port_of_loading=loading,
            port_of_discharge=discharge,
            actor=actor,
        )
        changed = container.trade.order(business_id, found.id)
        proceeds = container.trade.export_proceeds(business_id, found.id)
    console.print(
        f"[green]shipped[/] {shipment.carrier} {shipment.tracking_number} by {shipment.mode.value}"
        f" ({shipment.mode.transport_document} {shipment.transport_document_number}), "
        f"{shipment.port_of_loading} -> {shipment.port_of_discharge}"
    )
    _said(changed)
    if proceeds.deadline_at is not None:
        console.print(f"  proceeds due by {local_time(proceeds.deadline_at)} (PKT)")


@app.command("cancel")
def cancel(
    order: OrderArg,
    business: BusinessOption,
    reason: Annotated[str, typer.Option(help="Why.")],
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel before payment, or refund in full a paid order not yet shipped."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        changed = container.trade.cancel_order(business_id, found.id, reason, actor)
    _said(changed)


@app.command("dispute")
def dispute(
    order: OrderArg,
    business: BusinessOption,
    reason: Annotated[str, typer.Option(help="The buyer's claim.")],
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Open a dispute: escrow stays frozen until it is resolved."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        changed = container.trade.open_dispute(business_id, found.id, reason, actor)
    _said(changed)


@app.command("resolve")
def resolve(
    order: OrderArg,
    business: BusinessOption,
    outcome: Annotated[DisputeOutcome, typer.Option(help="Who gets the money.")],
    refund: Annotated[
        str | None, typer.Option(help="A partial refund, in the order's currency (e.g. 120.00).")
    ] = None,
    note: Annotated[str, typer.Option(help="How it was settled.")] = "",
    actor: ActorOption = "operator",
    database_url: DatabaseUrl = None,
) -> None:
    """Resolve a dispute: release to the seller, refund part, or refund all."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        refund_minor = minor_units(refund, found.currency) if refund is not None else None
        changed = container.trade.resolve_dispute(
            business_id, found.id, outcome, refund_minor=refund_minor, note=note, actor=actor
        )
    _said(changed)


# ---------------------------------------------------------------------------- tracking
@tracking_app.command("import")
def tracking_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV: carrier,tracking_number,status,occurred_at[,location,event_id]",
        ),
    ],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Import a carrier's tracking events; exits 1 if any row was refused."""
    text = file.read_text(encoding="utf-8")
    with open_business(database_url, business) as (container, business_id):
        report = container.trade.import_tracking(business_id, text)
    if json_output:
        print_json(TrackingImportOut.of(report).model_dump(mode="json"))
    else:
        console.print(f"imported {report.accepted} events ({report.duplicates} already known)")
        for problem in report.errors:
            errors.print(f"  [red]refused[/] {problem}")
    if report.errors:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- paperwork
def _write_pdf(
    database_url: str | None, business: str, order_text: str, kind: str, output: Path | None
) -> None:
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order_text)
        if kind == "invoice":
            content = container.trade.commercial_invoice(business_id, found.id)
        else:
            content = container.trade.packing_list(business_id, found.id)
    path = output or Path(f"{kind}-{found.marketplace_order_id}.pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    console.print(f"written {path} ({len(content):,} bytes)")


@app.command("invoice")
def invoice(
    order: OrderArg,
    business: BusinessOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: invoice-<order>.pdf")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the commercial invoice as PDF."""
    _write_pdf(database_url, business, order, "invoice", output)


@app.command("packing-list")
def packing_list(
    order: OrderArg,
    business: BusinessOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: packing-list-<order>.pdf")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the packing list as PDF."""
    _write_pdf(database_url, business, order, "packing-list", output)


# ---------------------------------------------------------------------------- proceeds
@proceeds_app.command("report")
def proceeds_report(
    business: BusinessOption,
    warning_days: Annotated[
        int | None, typer.Option(min=0, help="'Due soon' within this many days (default 15).")
    ] = None,
    all_outstanding: Annotated[
        bool, typer.Option("--all", help="Also those comfortably on time.")
    ] = False,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Shipped exports whose proceeds are not realised yet: overdue and due soon first."""
    with open_business(database_url, business) as (container, business_id):
        rows = container.trade.proceeds_report(
            business_id, warning_days=warning_days, include_on_time=all_outstanding
        )
    if json_output:
        print_json([ProceedsReportRowOut.of(row).model_dump(mode="json") for row in rows])
        return
    if not rows:
        console.print(
            "no export proceeds outstanding"
            if all_outstanding
            else "no export proceeds overdue or due soon (--all shows the rest)"
        )
        return
    table = Table(title="Export proceeds to realise")
    for column in (
        "order",
        "buyer",
        "invoiced",
        "FI",
        "shipped",
        "deadline",
        "days left",
        "standing",
    ):
        table.add_column(column, justify="right" if column in ("invoiced", "days left") else "left")
    colours = {"overdue": "red", "due_soon": "yellow"}
    for row in rows:
        colour = colours.get(row.standing.value, "green")
        table.add_row(
            row.marketplace_order_id,
            row.buyer_company,
            money(row.invoiced_minor, row.currency),
            row.financial_instrument_reference or "",
            local_time(row.shipped_at),
            local_time(row.deadline_at),
            str(row.days_left),
            f"[{colour}]{row.standing.value}[/]",
        )
    console.print(table)


@proceeds_app.command("show")
def proceeds_show(
    order: OrderArg,
    business: BusinessOption,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """One export's proceeds: deadline, realisation, conversion and deductions."""
    with open_business(database_url, business) as (container, business_id):
        found = _order(container, business_id, order)
        proceeds = container.trade.export_proceeds(business_id, found.id)
    if json_output:
        print_json(ExportProceedsOut.of(proceeds).model_dump(mode="json"))
        return
    console.print(f"[bold]{found.marketplace_order_id}[/]")
    _print_proceeds(proceeds)
