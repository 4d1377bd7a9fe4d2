"""The business's stock and purchasing: inventory by location, suppliers, purchase orders,
bills (with the three-way match) and paying bills from the wallet.

Quantities come from the supply context's stock-move ledger; paying bills is the supply
service's `pay_bills`, which pays through the wallet and the hub, so a bill is paid only
when its payment settled.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from tijarat.bootstrap import Container
from tijarat.identity.users import Role, User
from tijarat.kernel.errors import DomainError
from tijarat.supply.model import BillStatus, PaymentStatus, PurchaseOrderStatus
from tijarat.web.routing import Pages, error_text, redirect, request_id, site_of
from tijarat.web.site import flash

pages = Pages()
BUSINESS = (Role.BUSINESS,)
LIST_SIZE = 50
BILLS_PAID_AT_ONCE_MAX = 100


def _business(user: User) -> uuid.UUID:
    assert user.business_id is not None  # the page guard admits business users only
    return user.business_id


# ---------------------------------------------------------------------- inventory
def _inventory(container: Container, business_id: uuid.UUID) -> dict[str, Any]:
    supply = container.supply
    items = {item.sku: item for item in supply.items(business_id)}
    levels_by_location: dict[str, list[Any]] = defaultdict(list)
    for level in supply.stock_levels(business_id):
        levels_by_location[level.location].append(level)
    value_by_location: dict[str, int] = defaultdict(int)
    for valuation in supply.stock_valuation(business_id):
        value_by_location[valuation.location] += valuation.value_minor
    locations = [location for location in supply.locations(business_id) if location.kind.valued]
    return {
        "items": items,
        "locations": locations,
        "levels": levels_by_location,
        "values": value_by_location,
        "low": supply.items_below_reorder_point(business_id),
    }


@pages.page("/inventory", name="inventory", roles=BUSINESS)
async def inventory(request: Request, user: User) -> Response:
    site = site_of(request)
    context = await run_in_threadpool(_inventory, site.container, _business(user))
    return site.render(request, "business/inventory.html", context)


# ---------------------------------------------------------------------- suppliers
def _suppliers(container: Container, business_id: uuid.UUID) -> dict[str, Any]:
    supply = container.supply
    suppliers = supply.suppliers(business_id)
    names = {supplier.id: supplier.name for supplier in suppliers}
    bills = supply.bills(business_id, limit=LIST_SIZE)
    return {
        "suppliers": suppliers,
        "names": names,
        "purchase_orders": supply.purchase_orders(business_id, limit=LIST_SIZE),
        "bills": sorted(bills, key=lambda bill: (bill.status is not BillStatus.OPEN, bill.due_at)),
        "now": container.clock.now_ns(),
    }


@pages.page("/suppliers", name="suppliers", roles=BUSINESS)
async def suppliers(request: Request, user: User) -> Response:
    site = site_of(request)
    context = await run_in_threadpool(_suppliers, site.container, _business(user))
    return site.render(request, "business/suppliers.html", context)


@pages.page(
    "/suppliers/purchase-orders/{purchase_order_id:uuid}", name="purchase_order", roles=BUSINESS
)
async def purchase_order(request: Request, user: User) -> Response:
    site = site_of(request)
    supply = site.container.supply
    business = _business(user)
    order_id: uuid.UUID = request.path_params["purchase_order_id"]

    def load() -> dict[str, Any]:
        found = supply.purchase_order(business, order_id)  # 404 for another business's
        return {
            "order": found,
            "supplier": supply.supplier(business, found.supplier_id),
            "receipts": supply.receipts(business, order_id),
            "bills": supply.bills(business, purchase_order_id=order_id, limit=LIST_SIZE),
            "statuses": PurchaseOrderStatus,
        }

    return site.render(request, "business/purchase_order.html", await run_in_threadpool(load))


@pages.action("/suppliers/bills/{bill_id:uuid}/match", name="bill_match", roles=BUSINESS)
async def bill_match(
    request: Request,
    user: User,
    form: FormData,  # noqa: ARG001 - CSRF-checked by the guard
) -> Response:
    """The three-way match: the bill against the order's prices and what was received."""
    site = site_of(request)
    language = request.state.language
    try:
        result = await run_in_threadpool(
            site.container.supply.match_bill, _business(user), request.path_params["bill_id"]
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
    else:
        if result.matched:
            flash(request, "ok", site.translate(language, "The bill matches the order."))
        else:
            reasons = "; ".join(discrepancy.message for discrepancy in result.discrepancies)
            flash(
                request,
                "error",
                site.translate(language, "The bill does not match: %(reasons)s", reasons=reasons),
            )
    return redirect(request, "suppliers")


@pages.action("/suppliers/bills/pay", name="bills_pay", roles=BUSINESS)
async def bills_pay(request: Request, user: User, form: FormData) -> Response:
    """Pay the ticked bills at once from the wallet (the form's request id pays them once)."""
    site = site_of(request)
    language = request.state.language
    chosen: list[uuid.UUID] = []
    for value in form.getlist("bill")[:BILLS_PAID_AT_ONCE_MAX]:
        try:
            chosen.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not chosen:
        flash(request, "error", site.translate(language, "Tick the bills to pay first."))
        return redirect(request, "suppliers")
    try:
        payments = await run_in_threadpool(
            site.container.supply.pay_bills, _business(user), chosen, request_id(form)
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "suppliers")
    counts = dict.fromkeys(PaymentStatus, 0)
    for payment in payments:
        counts[payment.status] += 1
    flash(
        request,
        "ok" if not counts[PaymentStatus.REJECTED] else "error",
        site.translate(
            language,
            "Bills paid: %(settled)s; waiting: %(pending)s; refused: %(rejected)s.",
            settled=counts[PaymentStatus.SETTLED],
            pending=counts[PaymentStatus.PENDING],
            rejected=counts[PaymentStatus.REJECTED],
        ),
    )
    return redirect(request, "suppliers")
