"""`tijarat supply ...`: suppliers, purchasing, bills and paying them, stock, at the command line.

Every command names its business with `--business` (the wallet customer id, or the business's
mobile number, its Raast ID; or TIJARAT_BUSINESS), opens the database (migrating it if needed),
does one thing and prints what happened. Money is typed as decimal text ("9500" or "1,250.50")
in the order's currency and handled as integer minor units. Purchase orders, bills and
transfers are named by their number (PO-000001, BILL-000001, TR-000001) or their id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import PAKISTAN, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import MobileNumber
from tijarat.kernel.money import Money, format_money
from tijarat.settings import Settings
from tijarat.supply.errors import SupplyError
from tijarat.supply.model import (
    COUNT_LINES_MAX,
    ORDER_LINES_MAX,
    PAGE_SIZE_MAX,
    QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
    VALUATION_CURRENCY,
    BillLineInput,
    BillStatus,
    LandedCost,
    OrderLineInput,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderStatus,
    ReceiptLineInput,
    Supplier,
    TransferStatus,
)
from tijarat.supply.schemas import (
    BillOut,
    BillPaymentOut,
    ItemOut,
    LocationOut,
    LowStockOut,
    MatchOut,
    PurchaseOrderOut,
    ReceiptOut,
    StockLevelOut,
    StockMoveOut,
    SupplierOut,
    TransferOut,
    ValuationOut,
)

app = typer.Typer(
    no_args_is_help=True, help="Supply: locations, items, suppliers, purchasing, bills, stock."
)
locations_app = typer.Typer(no_args_is_help=True, help="The business's own stock locations.")
items_app = typer.Typer(no_args_is_help=True, help="Items (SKUs) and their reorder points.")
suppliers_app = typer.Typer(no_args_is_help=True, help="Suppliers and how they are paid.")
po_app = typer.Typer(no_args_is_help=True, help="Purchase orders.")
bill_app = typer.Typer(no_args_is_help=True, help="Supplier bills and the three-way match.")
stock_app = typer.Typer(no_args_is_help=True, help="Stock levels, moves and valuation.")
transfer_app = typer.Typer(no_args_is_help=True, help="Stock transfers between locations.")
app.add_typer(locations_app, name="locations")
app.add_typer(items_app, name="items")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(po_app, name="po")
app.add_typer(bill_app, name="bill")
app.add_typer(stock_app, name="stock")
app.add_typer(transfer_app, name="transfer")
console = Console()

# Lines of one command: the service's own bounds (an order, a receipt, a bill, a count).
LINES_MAX = max(ORDER_LINES_MAX, COUNT_LINES_MAX)
MOVES_SHOWN_DEFAULT = 50
# In development the demo's Karachi banks answer credit advices at once, as they do for
# `tijarat serve`, so bills paid here settle like bills paid from the dashboard.
DEVELOPMENT_BANKS = ("MEZNPKKA", "HABBPKKA")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLite or PostgreSQL URL (default: ./var/tijarat.db)."),
]
BusinessOption = Annotated[
    str,
    typer.Option(
        "--business",
        "-b",
        envvar="TIJARAT_BUSINESS",
        help="The business: its wallet customer id or mobile number (Raast ID).",
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RequestIdOption = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        help="A UUID that makes the operation idempotent: the same id never does it twice.",
    ),
]
LandedOption = Annotated[
    list[str] | None,
    typer.Option(
        "--landed", help='A landed cost in rupees, "description:amount" (repeat for each).'
    ),
]


# ---------------------------------------------------------------------------- shared helpers
def settings_for(database_url: str | None, *, pays: bool = False) -> Settings:
    settings = Settings(database_url=database_url) if database_url else Settings()
    if pays and settings.environment == "development" and not settings.simulated_participants:
        settings = settings.model_copy(update={"simulated_participants": list(DEVELOPMENT_BANKS)})
    return settings


def resolve_business(container: Container, text: str) -> uuid.UUID:
    """A wallet customer by id or by mobile number; an unknown one is a coded error."""
    try:
        customer_id = uuid.UUID(text.strip())
    except ValueError:
        try:
            MobileNumber.parse(text)
        except DomainError:
            raise typer.BadParameter(
                f"{text!r} is neither a wallet customer id (UUID) nor a mobile number",
                param_hint="--business",
            ) from None
        return container.wallet.customer_by_mobile(text).id
    return container.wallet.customer(customer_id).id


@contextmanager
def open_business(
    database_url: str | None, business: str, *, pays: bool = False
) -> Iterator[tuple[Container, uuid.UUID]]:
    """The container for one command and the business it acts for; closed afterwards."""
    container = build(settings_for(database_url, pays=pays))
    try:
        yield container, resolve_business(container, business)
    finally:
        container.close()


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


def money(amount_minor: int, currency: str) -> str:
    return format_money(Money(amount_minor, currency))


def minor_units(text: str, currency: str) -> int:
    """Decimal text in major units ("1,250.50") as integer minor units (DomainError if bad)."""
    return Money.parse(text, currency).amount_minor


def local_time(ns: int | None) -> str:
    """A moment as people in Pakistan read it (PKT, UTC+5)."""
    if ns is None:
        return ""
    return from_ns(ns).astimezone(PAKISTAN).strftime("%Y-%m-%d %H:%M")


def parse_moment(text: str | None, option: str) -> int | None:
    """ISO 8601 with a zone ("2026-11-24T00:00:00+05:00") as nanoseconds; None if absent."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time such as 2026-11-24T00:00:00+05:00",
            param_hint=option,
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(
            "give the time zone too, e.g. 2026-11-24T00:00:00+05:00", param_hint=option
        )
    return to_ns(moment)


def request_id_of(text: str | None) -> uuid.UUID:
    if text is None:
        return uuid.uuid4()
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a UUID", param_hint="--request-id") from None


def split_line(text: str, parts: int, shape: str, option: str = "--line") -> list[str]:
    """'SKU:QTY:PRICE' into its parts; the last part may hold colons (descriptions)."""
    pieces = [piece.strip() for piece in text.split(":", parts - 1)]
    if len(pieces) != parts or not all(pieces):
        raise typer.BadParameter(f"{text!r} is not {shape}", param_hint=option)
    return pieces


def whole_number(text: str, what: str, option: str = "--line") -> int:
    try:
        return int(text.replace(",", ""))
    except ValueError:
        raise typer.BadParameter(
            f"{what} must be a whole number, not {text!r}", param_hint=option
        ) from None


def bounded(values: Sequence[str] | None, option: str, *, required: bool = True) -> list[str]:
    found = list(values or [])
    if required and not found:
        raise typer.BadParameter("give at least one", param_hint=option)
    if len(found) > LINES_MAX:
        raise typer.BadParameter(f"at most {LINES_MAX}", param_hint=option)
    return found


def landed_costs(values: Sequence[str] | None) -> list[LandedCost]:
    costs = []
    for text in bounded(values, "--landed", required=False):
        pieces = text.rsplit(":", 1)
        if len(pieces) != 2 or not pieces[0].strip() or not pieces[1].strip():
            raise typer.BadParameter(
                f'{text!r} is not "description:amount" (e.g. "Freight:12,000")',
                param_hint="--landed",
            )
        costs.append(
            LandedCost(pieces[0].strip(), minor_units(pieces[1].strip(), VALUATION_CURRENCY))
        )
    return costs


def _supplier(container: Container, business_id: uuid.UUID, text: str) -> Supplier:
    """A supplier by id or by name (case does not matter)."""
    try:
        return container.supply.supplier(business_id, uuid.UUID(text.strip()))
    except ValueError:
        pass
    wanted = " ".join(text.split()).casefold()
    for supplier in container.supply.suppliers(business_id):
        if supplier.name.casefold() == wanted:
            return supplier
    raise DomainError(
        SupplyError.SUPPLIER_NOT_FOUND,
        f"no supplier named {text!r} (see `tijarat supply suppliers list`)",
        status=404,
    )


def _purchase_order(container: Container, business_id: uuid.UUID, text: str) -> PurchaseOrder:
    """A purchase order by id or by number (among the latest PAGE_SIZE_MAX)."""
    try:
        return container.supply.purchase_order(business_id, uuid.UUID(text.strip()))
    except ValueError:
        pass
    number = text.strip().upper()
    for order in container.supply.purchase_orders(business_id, limit=PAGE_SIZE_MAX):
        if order.number == number:
            return order
    raise DomainError(
        SupplyError.ORDER_NOT_FOUND,
        f"no purchase order {number} (see `tijarat supply po list`)",
        status=404,
    )


def _bill_id(container: Container, business_id: uuid.UUID, text: str) -> uuid.UUID:
    """A bill by id or by number (among the latest PAGE_SIZE_MAX)."""
    try:
        return container.supply.bill(business_id, uuid.UUID(text.strip())).id
    except ValueError:
        pass
    number = text.strip().upper()
    for bill in container.supply.bills(business_id, limit=PAGE_SIZE_MAX):
        if bill.number == number:
            return bill.id
    raise DomainError(
        SupplyError.BILL_NOT_FOUND,
        f"no bill {number} (see `tijarat supply bill list`)",
        status=404,
    )


def _transfer_id(container: Container, business_id: uuid.UUID, text: str) -> uuid.UUID:
    try:
        return container.supply.transfer(business_id, uuid.UUID(text.strip())).id
    except ValueError:
        pass
    number = text.strip().upper()
    for transfer in container.supply.transfers(business_id, limit=PAGE_SIZE_MAX):
        if transfer.number == number:
            return transfer.id
    raise DomainError(
        SupplyError.TRANSFER_NOT_FOUND,
        f"no transfer {number} (see `tijarat supply transfer list`)",
        status=404,
    )


def _print_order(order: PurchaseOrder, supplier_name: str) -> None:
    console.print(
        f"[bold]{order.number}[/] to {supplier_name}, delivered to {order.location}: "
        f"[bold]{order.status.value}[/], {money(order.total_minor, order.currency)}"
    )
    table = Table(show_edge=False)
    for column in ("#", "SKU", "ordered", "received", "billed", "unit price", "amount"):
        table.add_column(column, justify="left" if column == "SKU" else "right")
    for line in order.lines:
        table.add_row(
            str(line.line_number),
            line.sku,
            str(line.quantity_ordered),
            str(line.quantity_received),
            str(line.quantity_billed),
            money(line.unit_price_minor, order.currency),
            money(line.amount_minor, order.currency),
        )
    console.print(table)


# ---------------------------------------------------------------------------- locations
@locations_app.command("add")
def locations_add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. KHI-WH.")],
    name: Annotated[str, typer.Argument(help="What people call it, e.g. 'Karachi warehouse'.")],
    business: BusinessOption,
    allow_negative: Annotated[
        bool, typer.Option(help="Let stock here go below zero (rarely wanted).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a stock location (a workshop, a warehouse)."""
    with open_business(database_url, business) as (container, business_id):
        location = container.supply.create_location(
            business_id, code, name, allow_negative=allow_negative
        )
    console.print(f"[green]added[/] location {location.code} ({location.name})")


@locations_app.command("list")
def locations_list(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """The business's locations, the virtual ones (suppliers, customers, transit) included."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.locations(business_id)
    if json_output:
        print_json([LocationOut.of(location).model_dump(mode="json") for location in found])
        return
    table = Table(title="Locations")
    for column in ("code", "name", "kind", "may go negative"):
        table.add_column(column)
    for location in found:
        table.add_row(
            location.code,
            location.name,
            location.kind.value,
            "yes" if location.allow_negative else "no",
        )
    console.print(table)


# ---------------------------------------------------------------------------- items
@items_app.command("add")
def items_add(
    sku: Annotated[str, typer.Argument(help="The item's SKU, e.g. SHAWL-PASH.")],
    name: Annotated[str, typer.Argument(help="What it is.")],
    business: BusinessOption,
    unit: Annotated[str, typer.Option(help="One unit of quantity: piece, kg, pouch ...")] = "piece",
    reorder_point: Annotated[
        int, typer.Option(min=0, help="Below this (available + incoming) it is low.")
    ] = 0,
    reorder_quantity: Annotated[int, typer.Option(min=0, help="How much to reorder.")] = 0,
    supplier: Annotated[
        str | None, typer.Option(help="Preferred supplier (name or id) for reorders.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an item the business stocks."""
    with open_business(database_url, business) as (container, business_id):
        preferred = _supplier(container, business_id, supplier).id if supplier else None
        item = container.supply.create_item(
            business_id,
            sku,
            name,
            unit=unit,
            reorder_point=reorder_point,
            reorder_quantity=reorder_quantity,
            preferred_supplier_id=preferred,
        )
    console.print(f"[green]added[/] item {item.sku}: {item.name} (per {item.unit})")


@items_app.command("list")
def items_list(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """Items with their reorder settings."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.items(business_id)
        names = {s.id: s.name for s in container.supply.suppliers(business_id)}
    if json_output:
        print_json([ItemOut.of(item).model_dump(mode="json") for item in found])
        return
    table = Table(title="Items")
    for column in ("SKU", "name", "unit", "reorder point", "reorder qty", "preferred supplier"):
        table.add_column(column, justify="right" if "reorder" in column else "left")
    for item in found:
        table.add_row(
            item.sku,
            item.name,
            item.unit,
            str(item.reorder_point),
            str(item.reorder_quantity),
            names.get(item.preferred_supplier_id, "") if item.preferred_supplier_id else "",
        )
    console.print(table)


@items_app.command("reorder")
def items_reorder(
    sku: Annotated[str, typer.Argument(help="The item's SKU.")],
    business: BusinessOption,
    point: Annotated[int, typer.Option("--point", min=0, help="The reorder point.")],
    quantity: Annotated[int, typer.Option("--quantity", min=0, help="The reorder quantity.")],
    supplier: Annotated[
        str | None, typer.Option(help="Preferred supplier (name or id); none if left out.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set an item's reorder point, reorder quantity and preferred supplier."""
    with open_business(database_url, business) as (container, business_id):
        preferred = _supplier(container, business_id, supplier) if supplier else None
        item = container.supply.set_reorder(
            business_id,
            sku,
            reorder_point=point,
            reorder_quantity=quantity,
            preferred_supplier_id=preferred.id if preferred else None,
        )
    console.print(
        f"{item.sku}: reorder below {item.reorder_point}, {item.reorder_quantity} at a time"
        + (f" from {preferred.name}" if preferred else "")
    )


# ---------------------------------------------------------------------------- suppliers
@suppliers_app.command("add")
def suppliers_add(
    name: Annotated[str, typer.Argument(help="The supplier's name.")],
    business: BusinessOption,
    raast_id: Annotated[
        str | None, typer.Option(help="Paid to this Raast ID (a mobile number)...")
    ] = None,
    iban: Annotated[str | None, typer.Option(help="... or to this IBAN (exactly one).")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact person.")] = None,
    phone: Annotated[str | None, typer.Option(help="Telephone number.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    ntn: Annotated[str | None, typer.Option(help="National Tax Number.")] = None,
    currency: Annotated[str, typer.Option(help="Currency it invoices in.")] = "PKR",
    terms: Annotated[int, typer.Option(help="Payment terms in days.")] = 0,
    lead_time: Annotated[int, typer.Option(help="Lead time in days.")] = 0,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a supplier, paid by Raast ID or by IBAN."""
    with open_business(database_url, business) as (container, business_id):
        supplier = container.supply.create_supplier(
            business_id,
            name,
            contact_name=contact,
            phone=phone,
            email=email,
            ntn=ntn,
            raast_id=raast_id,
            iban=iban,
            currency=currency,
            payment_terms_days=terms,
            lead_time_days=lead_time,
        )
    paid_by = f"Raast ID {supplier.raast_id}" if supplier.raast_id else f"IBAN {supplier.iban}"
    console.print(f"[green]added[/] supplier {supplier.name}, paid by {paid_by}")
    console.print(f"  id {supplier.id}")


@suppliers_app.command("list")
def suppliers_list(
    business: BusinessOption, database_url: DatabaseUrl = None, json_output: JsonOutput = False
) -> None:
    """Suppliers and how each is paid."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.suppliers(business_id)
    if json_output:
        print_json([SupplierOut.of(supplier).model_dump(mode="json") for supplier in found])
        return
    table = Table(title="Suppliers")
    for column in ("name", "paid by", "currency", "terms", "lead time", "id"):
        table.add_column(column, overflow="fold")
    for supplier in found:
        table.add_row(
            supplier.name,
            f"Raast ID {supplier.raast_id}" if supplier.raast_id else f"IBAN {supplier.iban}",
            supplier.currency,
            f"{supplier.payment_terms_days} d",
            f"{supplier.lead_time_days} d",
            str(supplier.id),
        )
    console.print(table)


# ---------------------------------------------------------------------------- purchase orders
@po_app.command("create")
def po_create(
    business: BusinessOption,
    supplier: Annotated[str, typer.Option(help="The supplier (name or id).")],
    location: Annotated[str, typer.Option(help="Where the goods are delivered (e.g. KHI-WH).")],
    line: Annotated[
        list[str],
        typer.Option(help="SKU:QUANTITY:UNIT_PRICE, the price in the supplier's currency."),
    ],
    quantity_tolerance: Annotated[
        int, typer.Option(help="Over or under delivery accepted, in basis points (500 = 5 %).")
    ] = QUANTITY_TOLERANCE_BASIS_POINTS_DEFAULT,
    price_tolerance: Annotated[
        int, typer.Option(help="A bill's unit price may differ by this, in basis points.")
    ] = 0,
    database_url: DatabaseUrl = None,
) -> None:
    """Draft a purchase order to one supplier (send it with `po send`)."""
    with open_business(database_url, business) as (container, business_id):
        found = _supplier(container, business_id, supplier)
        lines = []
        for text in bounded(line, "--line"):
            sku, quantity, price = split_line(text, 3, "SKU:QUANTITY:UNIT_PRICE")
            lines.append(
                OrderLineInput(
                    sku, whole_number(quantity, "quantity"), minor_units(price, found.currency)
                )
            )
        order = container.supply.create_purchase_order(
            business_id,
            found.id,
            location,
            lines,
            quantity_tolerance_basis_points=quantity_tolerance,
            price_tolerance_basis_points=price_tolerance,
        )
    _print_order(order, found.name)


def _order_transition(database_url: str | None, business: str, text: str, action: str) -> None:
    with open_business(database_url, business) as (container, business_id):
        order = _purchase_order(container, business_id, text)
        transitions = {
            "send": container.supply.send_purchase_order,
            "cancel": container.supply.cancel_purchase_order,
            "close": container.supply.close_purchase_order,
        }
        changed = transitions[action](business_id, order.id)
    console.print(f"{changed.number} is now [bold]{changed.status.value}[/]")


@po_app.command("send")
def po_send(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The supplier has the order: its quantities become incoming."""
    _order_transition(database_url, business, purchase_order, "send")


@po_app.command("cancel")
def po_cancel(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel a draft or sent order (nothing received yet)."""
    _order_transition(database_url, business, purchase_order, "cancel")


@po_app.command("close")
def po_close(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Close a partly delivered order short: the rest will not come."""
    _order_transition(database_url, business, purchase_order, "close")


@po_app.command("show")
def po_show(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """One order: its lines (ordered, received, billed), receipts and bills."""
    with open_business(database_url, business) as (container, business_id):
        order = _purchase_order(container, business_id, purchase_order)
        supplier = container.supply.supplier(business_id, order.supplier_id)
        receipts = container.supply.receipts(business_id, order.id)
        bills = container.supply.bills(business_id, purchase_order_id=order.id)
    if json_output:
        document = PurchaseOrderOut.of(order).model_dump(mode="json")
        document["supplier_name"] = supplier.name
        document["receipts"] = [ReceiptOut.of(r).model_dump(mode="json") for r in receipts]
        document["bills"] = [BillOut.of(b).model_dump(mode="json") for b in bills]
        print_json(document)
        return
    _print_order(order, supplier.name)
    for receipt in receipts:
        landed = sum(cost.amount_minor for cost in receipt.landed_costs)
        console.print(
            f"  {receipt.number} {local_time(receipt.received_at)}: "
            + ", ".join(f"{line.sku} {line.quantity}" for line in receipt.lines)
            + (f" (landed costs {money(landed, VALUATION_CURRENCY)})" if landed else "")
        )
    for bill in bills:
        console.print(
            f"  {bill.number} (invoice {bill.supplier_invoice_number}) "
            f"{money(bill.total_minor, bill.currency)}: {bill.status.value}, "
            f"{bill.match_status.value}"
        )


@po_app.command("list")
def po_list(
    business: BusinessOption,
    status: Annotated[PurchaseOrderStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_SIZE_MAX, help="At most.")] = 100,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Purchase orders, newest first."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.purchase_orders(business_id, status=status, limit=limit)
        names = {s.id: s.name for s in container.supply.suppliers(business_id)}
    if json_output:
        print_json([PurchaseOrderOut.of(order).model_dump(mode="json") for order in found])
        return
    table = Table(title="Purchase orders")
    for column in ("number", "supplier", "location", "status", "total", "created"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for order in found:
        table.add_row(
            order.number,
            names.get(order.supplier_id, str(order.supplier_id)),
            order.location,
            order.status.value,
            money(order.total_minor, order.currency),
            local_time(order.created_at),
        )
    console.print(table)


# ---------------------------------------------------------------------------- receipts
@app.command("receive")
def receive(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id.")],
    business: BusinessOption,
    line: Annotated[list[str], typer.Option(help="SKU:QUANTITY that arrived (repeat).")],
    landed: LandedOption = None,
    note: Annotated[str | None, typer.Option(help="The delivery note.")] = None,
    rate: Annotated[
        str | None, typer.Option(help="Rupees per unit of the order's currency, if not PKR.")
    ] = None,
    request_id: RequestIdOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Goods arrive against an order: all of it or part of it, with any landed costs."""
    lines = []
    for text in bounded(line, "--line"):
        sku, quantity = split_line(text, 2, "SKU:QUANTITY")
        lines.append(ReceiptLineInput(sku, whole_number(quantity, "quantity")))
    costs = landed_costs(landed)
    request = request_id_of(request_id)
    with open_business(database_url, business) as (container, business_id):
        order = _purchase_order(container, business_id, purchase_order)
        receipt = container.supply.receive_goods(
            business_id,
            order.id,
            lines,
            request_id=request,
            landed_costs=costs,
            delivery_note=note,
            valuation_rate=rate,
        )
        order = container.supply.purchase_order(business_id, order.id)
    console.print(f"[green]received[/] {receipt.number} into {receipt.location}")
    table = Table(show_edge=False)
    for column in ("SKU", "quantity", "value", "landed cost"):
        table.add_column(column, justify="left" if column == "SKU" else "right")
    for received in receipt.lines:
        table.add_row(
            received.sku,
            str(received.quantity),
            money(received.value_minor, VALUATION_CURRENCY),
            money(received.landed_cost_minor, VALUATION_CURRENCY),
        )
    console.print(table)
    console.print(f"{order.number} is now [bold]{order.status.value}[/]  (request {request})")


# ---------------------------------------------------------------------------- bills
@bill_app.command("create")
def bill_create(
    purchase_order: Annotated[str, typer.Argument(help="PO number or id the bill is for.")],
    business: BusinessOption,
    invoice: Annotated[str, typer.Option(help="The supplier's invoice number.")],
    line: Annotated[list[str], typer.Option(help="SKU:QUANTITY:UNIT_PRICE as billed (repeat).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Record a supplier's invoice against a purchase order."""
    with open_business(database_url, business) as (container, business_id):
        order = _purchase_order(container, business_id, purchase_order)
        lines = []
        for text in bounded(line, "--line"):
            sku, quantity, price = split_line(text, 3, "SKU:QUANTITY:UNIT_PRICE")
            lines.append(
                BillLineInput(
                    sku, whole_number(quantity, "quantity"), minor_units(price, order.currency)
                )
            )
        bill = container.supply.create_bill(business_id, order.id, invoice, lines)
    console.print(
        f"[green]recorded[/] {bill.number} (invoice {bill.supplier_invoice_number}) for "
        f"{order.number}: {money(bill.total_minor, bill.currency)}, due {local_time(bill.due_at)}"
    )


@bill_app.command("match")
def bill_match(
    bill: Annotated[str, typer.Argument(help="Bill number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """The three-way match: order, receipts, bill. Exits 1 when the bill does not match."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.bill(business_id, _bill_id(container, business_id, bill))
        result = container.supply.match_bill(business_id, found.id)
    if json_output:
        print_json(MatchOut.of(result).model_dump(mode="json"))
    elif result.matched:
        console.print(f"{found.number}: [green]matched[/] (order, receipts and bill agree)")
    else:
        console.print(f"{found.number}: [red]not matched[/]")
        for discrepancy in result.discrepancies:
            console.print(f"  {discrepancy.code}: {discrepancy.message}")
    if not result.matched:
        raise typer.Exit(1)


@bill_app.command("cancel")
def bill_cancel(
    bill: Annotated[str, typer.Argument(help="Bill number or id.")],
    business: BusinessOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Withdraw an open bill (the supplier sends a corrected one)."""
    with open_business(database_url, business) as (container, business_id):
        cancelled = container.supply.cancel_bill(
            business_id, _bill_id(container, business_id, bill)
        )
    console.print(f"{cancelled.number} is now [bold]{cancelled.status.value}[/]")


@bill_app.command("list")
def bill_list(
    business: BusinessOption,
    status: Annotated[BillStatus | None, typer.Option(help="Only this status.")] = None,
    purchase_order: Annotated[
        str | None, typer.Option("--po", help="Only the bills of this order.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_SIZE_MAX, help="At most.")] = 100,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Bills, newest first, with their match and payment."""
    with open_business(database_url, business) as (container, business_id):
        order_id = (
            _purchase_order(container, business_id, purchase_order).id if purchase_order else None
        )
        found = container.supply.bills(
            business_id, status=status, purchase_order_id=order_id, limit=limit
        )
        names = {s.id: s.name for s in container.supply.suppliers(business_id)}
    if json_output:
        print_json([BillOut.of(bill).model_dump(mode="json") for bill in found])
        return
    table = Table(title="Bills")
    for column in ("number", "supplier", "invoice", "total", "status", "match", "due", "payment"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for bill in found:
        table.add_row(
            bill.number,
            names.get(bill.supplier_id, ""),
            bill.supplier_invoice_number,
            money(bill.total_minor, bill.currency),
            bill.status.value,
            bill.match_status.value,
            local_time(bill.due_at),
            " ".join(
                part for part in (bill.payment_status, bill.payment_reason) if part is not None
            ),
        )
    console.print(table)


# ---------------------------------------------------------------------------- paying bills
@app.command("pay")
def pay(
    bills: Annotated[list[str], typer.Argument(help="Bill numbers or ids to pay together.")],
    business: BusinessOption,
    request_id: RequestIdOption = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Pay matched bills from the business's wallet over the hub (Raast ID or IBAN).

    Each bill is one payment; a bill is paid when its payment settled. Exits 1 if any was
    rejected. The same --request-id again asks about payments still pending.
    """
    request = request_id_of(request_id)
    with open_business(database_url, business, pays=True) as (container, business_id):
        ids = [_bill_id(container, business_id, text) for text in bills]
        payments = container.supply.pay_bills(business_id, ids, request)
        balance = container.wallet.balance(business_id, "PKR")
    if json_output:
        print_json(
            {
                "request_id": str(request),
                "payments": [BillPaymentOut.of(p).model_dump(mode="json") for p in payments],
                "wallet_balance_minor": balance.amount_minor,
            }
        )
    else:
        table = Table(title=f"Bill payments (request {request})")
        for column in ("bill", "amount", "status", "reason", "end-to-end id", "UETR"):
            table.add_column(
                column, overflow="fold", justify="right" if column == "amount" else "left"
            )
        colours = {PaymentStatus.SETTLED: "green", PaymentStatus.PENDING: "yellow"}
        for payment in payments:
            colour = colours.get(payment.status, "red")
            table.add_row(
                payment.bill_number,
                money(payment.amount_minor, payment.currency),
                f"[{colour}]{payment.status.value}[/]",
                payment.reason or "",
                payment.end_to_end_id or "",
                str(payment.uetr) if payment.uetr else "",
            )
        console.print(table)
        console.print(f"wallet balance {format_money(balance)}")
        if any(p.status is PaymentStatus.PENDING for p in payments):
            console.print(
                f"[yellow]some payments are pending[/]: run again with --request-id {request}"
            )
    if any(p.status is PaymentStatus.REJECTED for p in payments):
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- stock
@stock_app.command("levels")
def stock_levels(
    business: BusinessOption,
    sku: Annotated[str | None, typer.Option(help="Only this item.")] = None,
    location: Annotated[str | None, typer.Option(help="Only this location.")] = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """On hand, reserved, available and incoming, per location and item."""
    with open_business(database_url, business) as (container, business_id):
        levels = container.supply.stock_levels(business_id, sku=sku, location_code=location)
    if json_output:
        print_json([StockLevelOut.of(level).model_dump(mode="json") for level in levels])
        return
    table = Table(title="Stock")
    for column in ("location", "SKU", "on hand", "reserved", "available", "incoming"):
        table.add_column(column, justify="left" if column in ("location", "SKU") else "right")
    for level in levels:
        table.add_row(
            level.location,
            level.sku,
            str(level.quantity_on_hand),
            str(level.quantity_reserved),
            str(level.quantity_available),
            str(level.quantity_incoming),
        )
    console.print(table)


@stock_app.command("moves")
def stock_moves(
    sku: Annotated[str, typer.Argument(help="The item's SKU.")],
    business: BusinessOption,
    location: Annotated[str | None, typer.Option(help="Only moves in or out of here.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=PAGE_SIZE_MAX, help="At most.")
    ] = MOVES_SHOWN_DEFAULT,
    before: Annotated[int | None, typer.Option(help="Older than this move (its seq).")] = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """An item's moves between locations, newest first."""
    with open_business(database_url, business) as (container, business_id):
        moves = container.supply.stock_moves(
            business_id, sku=sku, location_code=location, before_seq=before, limit=limit
        )
    if json_output:
        print_json([StockMoveOut.of(move).model_dump(mode="json") for move in moves])
        return
    table = Table(title=f"Moves of {sku}")
    for column in ("seq", "time (PKT)", "from", "to", "quantity", "value", "reference", "reason"):
        table.add_column(column, justify="right" if column in ("quantity", "value") else "left")
    for move in moves:
        table.add_row(
            str(move.seq),
            local_time(move.at),
            move.from_location,
            move.to_location,
            str(move.quantity),
            money(move.value_minor, move.currency),
            move.reference,
            move.reason,
        )
    console.print(table)


@stock_app.command("valuation")
def stock_valuation(
    business: BusinessOption,
    at: Annotated[
        str | None, typer.Option(help="As it was then (ISO 8601 with a zone); default now.")
    ] = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """What the stock is worth, per location and item (moving average, landed costs in)."""
    at_ns = parse_moment(at, "--at")
    with open_business(database_url, business) as (container, business_id):
        rows = container.supply.stock_valuation(business_id, at_ns=at_ns)
    report = ValuationOut.of(at_ns, VALUATION_CURRENCY, rows)
    if json_output:
        print_json(report.model_dump(mode="json"))
        return
    table = Table(title=f"Stock value{' at ' + local_time(at_ns) if at_ns else ''}")
    for column in ("location", "SKU", "quantity", "value", "average unit cost"):
        table.add_column(column, justify="left" if column in ("location", "SKU") else "right")
    for location in report.locations:
        for item in location.items:
            table.add_row(
                location.location,
                item.sku,
                str(item.quantity),
                money(item.value_minor, VALUATION_CURRENCY),
                money(item.average_unit_cost_minor, VALUATION_CURRENCY),
            )
        table.add_row(
            f"[bold]{location.location}[/]",
            "",
            "",
            f"[bold]{money(location.value_minor, VALUATION_CURRENCY)}[/]",
            "",
        )
    console.print(table)
    console.print(f"total {money(report.total_value_minor, VALUATION_CURRENCY)}")


# ---------------------------------------------------------------------------- transfers
@transfer_app.command("send")
def transfer_send(
    sku: Annotated[str, typer.Argument(help="The item's SKU.")],
    quantity: Annotated[int, typer.Argument(min=1, help="How many units.")],
    from_location: Annotated[str, typer.Argument(help="From (e.g. SKD-WS).")],
    to_location: Annotated[str, typer.Argument(help="To (e.g. KHI-WH).")],
    business: BusinessOption,
    request_id: RequestIdOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Dispatch available stock to another location: it is in transit until received."""
    request = request_id_of(request_id)
    with open_business(database_url, business) as (container, business_id):
        transfer = container.supply.transfer_stock(
            business_id, sku, quantity, from_location, to_location, request_id=request
        )
    console.print(
        f"[green]dispatched[/] {transfer.number}: {transfer.quantity} {transfer.sku} "
        f"{transfer.from_location} -> {transfer.to_location}, worth "
        f"{money(transfer.value_minor, VALUATION_CURRENCY)}; in transit until received"
    )


@transfer_app.command("receive")
def transfer_receive(
    transfer: Annotated[str, typer.Argument(help="Transfer number (TR-...) or id.")],
    business: BusinessOption,
    quantity: Annotated[
        int | None, typer.Option(min=0, help="How many arrived (default: all sent).")
    ] = None,
    landed: LandedOption = None,
    reason: Annotated[str | None, typer.Option(help="Why fewer arrived.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The transfer arrives, with the journey's landed costs (freight) added to its value."""
    costs = landed_costs(landed)
    with open_business(database_url, business) as (container, business_id):
        done = container.supply.receive_transfer(
            business_id,
            _transfer_id(container, business_id, transfer),
            quantity_received=quantity,
            landed_costs=costs,
            reason=reason,
        )
    console.print(
        f"[green]received[/] {done.number}: {done.quantity_received} of {done.quantity} "
        f"{done.sku} at {done.to_location}; left worth "
        f"{money(done.value_minor, VALUATION_CURRENCY)}, landed costs "
        f"{money(done.landed_cost_minor, VALUATION_CURRENCY)}"
    )


@transfer_app.command("list")
def transfer_list(
    business: BusinessOption,
    status: Annotated[TransferStatus | None, typer.Option(help="Only this status.")] = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Transfers, newest first."""
    with open_business(database_url, business) as (container, business_id):
        found = container.supply.transfers(business_id, status=status)
    if json_output:
        print_json([TransferOut.of(transfer).model_dump(mode="json") for transfer in found])
        return
    table = Table(title="Transfers")
    for column in ("number", "SKU", "from", "to", "sent", "received", "status", "dispatched"):
        table.add_column(column)
    for transfer in found:
        table.add_row(
            transfer.number,
            transfer.sku,
            transfer.from_location,
            transfer.to_location,
            str(transfer.quantity),
            str(transfer.quantity_received),
            transfer.status.value,
            local_time(transfer.dispatched_at),
        )
    console.print(table)


# ---------------------------------------------------------------------------- adjustments
@app.command("adjust")
def adjust(
    sku: Annotated[str, typer.Argument(help="The item's SKU.")],
    location: Annotated[str, typer.Argument(help="Where (e.g. SKD-WS).")],
    business: BusinessOption,
    change: Annotated[
        int, typer.Option(help="Units found (+) or lost, damaged, used (-), e.g. --change -3.")
    ],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    unit_cost: Annotated[
        str | None, typer.Option(help="Rupees per unit of stock found (default: the average).")
    ] = None,
    request_id: RequestIdOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Stock found or lost at a location, with a reason."""
    cost = minor_units(unit_cost, VALUATION_CURRENCY) if unit_cost is not None else None
    request = request_id_of(request_id)
    with open_business(database_url, business) as (container, business_id):
        move = container.supply.adjust_stock(
            business_id, sku, location, change, reason, request_id=request, unit_cost_minor=cost
        )
    console.print(
        f"[green]adjusted[/] {move.sku} at {location.upper()} by {change:+d} "
        f"({move.from_location} -> {move.to_location}, "
        f"{money(move.value_minor, move.currency)}): {move.reason}"
    )


@app.command("count")
def count(
    location: Annotated[str, typer.Argument(help="The location counted.")],
    business: BusinessOption,
    line: Annotated[list[str], typer.Option(help="SKU:COUNTED (repeat).")],
    reason: Annotated[str, typer.Option(help="Why (e.g. 'monthly count').")],
    request_id: RequestIdOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A stock count: each counted quantity becomes the quantity on hand."""
    counts: dict[str, int] = {}
    for text in bounded(line, "--line"):
        sku, counted = split_line(text, 2, "SKU:COUNTED")
        counts[sku] = whole_number(counted, "the count")
    request = request_id_of(request_id)
    with open_business(database_url, business) as (container, business_id):
        moves = container.supply.count_stock(
            business_id, location, counts, reason, request_id=request
        )
    if not moves:
        console.print("counted: every quantity was already right")
    for move in moves:
        sign = "+" if move.from_location != location.strip().upper() else "-"
        console.print(f"  {move.sku}: {sign}{move.quantity} ({move.reason})")


# ---------------------------------------------------------------------------- reorder
@app.command("reorder")
def reorder(
    business: BusinessOption,
    draft: Annotated[
        bool, typer.Option("--draft", help="Draft purchase orders to preferred suppliers.")
    ] = False,
    location: Annotated[
        str | None, typer.Option(help="Deliver drafted orders here (default: as last time).")
    ] = None,
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
) -> None:
    """Items low on stock (available + incoming below the reorder point); --draft orders them."""
    with open_business(database_url, business) as (container, business_id):
        low = container.supply.items_below_reorder_point(business_id)
        drafted = (
            container.supply.draft_reorder_purchase_orders(business_id, location_code=location)
            if draft
            else []
        )
        names = {s.id: s.name for s in container.supply.suppliers(business_id)}
    if json_output:
        print_json(
            {
                "low_stock": [LowStockOut.of(item).model_dump(mode="json") for item in low],
                "drafted": [PurchaseOrderOut.of(o).model_dump(mode="json") for o in drafted],
            }
        )
        return
    if not low:
        console.print("no item is below its reorder point")
    else:
        table = Table(title="Low stock")
        for column in ("SKU", "name", "available", "incoming", "reorder point", "to order"):
            table.add_column(column, justify="left" if column in ("SKU", "name") else "right")
        for item in low:
            table.add_row(
                item.sku,
                item.name,
                str(item.quantity_available),
                str(item.quantity_incoming),
                str(item.reorder_point),
                str(item.quantity_to_order),
            )
        console.print(table)
    for order in drafted:
        _print_order(order, names.get(order.supplier_id, str(order.supplier_id)))
    if draft and not drafted:
        console.print("nothing drafted (no preferred supplier, or already on a draft)")
