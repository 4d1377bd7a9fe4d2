"""The business owner's pages: the home figures and chart, the wallet, the payment QR.

Every page works on the signed-in user's own business only: the business id comes from the
user record, never from the URL or a form, and the wallet checks that each movement, payout
or request named in a URL belongs to that business (another's answers 404).
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import segno
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tijarat.bootstrap import Container
from tijarat.identity.users import Role, User
from tijarat.kernel.clock import PAKISTAN, from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import CURRENCIES, Money, currency_exponent
from tijarat.supply.model import BillStatus
from tijarat.switch.model import PaymentRequest, RequestStatus
from tijarat.switch.requests import REQUEST_LIFETIME_S_MAX
from tijarat.trade.model import ACCOUNT_CODE_ESCROW, OrderStatus
from tijarat.wallet import files, statements
from tijarat.wallet.model import (
    PAGE_SIZE_MAX,
    PAYOUT_FILE_BYTES_MAX,
    Direction,
    MovementKind,
    MovementStatus,
    PayoutRowStatus,
)
from tijarat.wallet.service import REQUEST_LIFETIME_S_DEFAULT
from tijarat.web import queries
from tijarat.web.chart import DayPoint, chart_svg
from tijarat.web.errors import WebError
from tijarat.web.i18n import Formats
from tijarat.web.routing import Pages, download, error_text, redirect, site_of, text
from tijarat.web.site import flash, national_mobile, path_for

pages = Pages()
BUSINESS = (Role.BUSINESS,)
CHART_DAYS = 30
CHART_DAYS_MIN = 7  # a business younger than this still gets a week, not three bars
HISTORY_PAGE_SIZE = 20
RECENT_LINES = 5
PAYOUTS_SHOWN = 5
STATEMENT_DAYS_MAX = 366
STATEMENT_LINES_MAX = 10_000
QR_SCALE = 8
REQUEST_KEY_FIELD = "request_key"
FIGURES_COUNTED_MAX = 500  # the contexts' page size: a figure reads "500" at most
TO_SHIP = (OrderStatus.PAID, OrderStatus.PACKED)
# Movement kinds a business may send back (a refund of a payment it received).
REFUNDABLE = (MovementKind.RAAST_IN, MovementKind.REQUEST)
SENT_REQUESTS_SHOWN = 20
SENT_REQUESTS_COUNTED_MAX = PAGE_SIZE_MAX  # the wallet's page size: the home figure's reach
DAY_S = 86_400
REQUEST_DAYS_DEFAULT = REQUEST_LIFETIME_S_DEFAULT // DAY_S
REQUEST_DAYS_MAX = REQUEST_LIFETIME_S_MAX // DAY_S
NOT_SALES = (OrderStatus.CANCELLED,)  # an order counts as a sale from the day it arrives


def _business(user: User) -> uuid.UUID:
    assert user.business_id is not None  # the page guard admits business users only
    return user.business_id


def _request_key(form: FormData) -> str:
    key = text(form, REQUEST_KEY_FIELD, length_max=64)
    if not key:
        raise DomainError(
            WebError.FORM_INVALID,
            "the form is missing its request key: reload the page",
            status=422,
            fields={"field": REQUEST_KEY_FIELD},
        )
    return key


def _amount(form: FormData, name: str = "amount", currency: str = "PKR") -> int:
    return Money.parse(text(form, name, length_max=40), currency).amount_minor


# ---------------------------------------------------------------------- home
def chart_days(opened_ns: int, now_ns: int) -> int:
    """The chart's width in days: since the wallet opened, at least a week, at most 30."""
    opened = from_ns(opened_ns).astimezone(PAKISTAN).date()
    today = from_ns(now_ns).astimezone(PAKISTAN).date()
    return max(CHART_DAYS_MIN, min(CHART_DAYS, (today - opened).days + 1))


def _to_rupees(amount_minor: int, currency: str, rate: Decimal) -> int:
    exact = Money(amount_minor, currency).to_decimal() * rate
    return int(exact.scaleb(currency_exponent("PKR")).to_integral_value(ROUND_HALF_EVEN))


def _sales(
    container: Container, business_id: uuid.UUID, days: list[datetime]
) -> tuple[list[int], list[str]]:
    """Per day: the value of the marketplace orders received that day (less refunds, not
    cancelled), in rupees at the wallet's exchange rate for that day; and the currencies of
    orders left out because no rate to rupees was known on their day."""
    first = days[0].date()
    sales = [0] * len(days)
    rates: dict[tuple[str, date], Decimal | None] = {}
    missing: set[str] = set()
    for order in container.trade.orders(business_id, limit=FIGURES_COUNTED_MAX):
        day = from_ns(order.created_at).astimezone(PAKISTAN).date()
        index = (day - first).days
        if not 0 <= index < len(days) or order.status in NOT_SALES:
            continue
        amount_minor = order.seller_amount_minor
        if order.currency != "PKR":
            if (order.currency, day) not in rates:
                try:
                    rates[order.currency, day] = container.wallet.rate(
                        order.currency, "PKR", day
                    ).rate
                except DomainError:
                    rates[order.currency, day] = None
            rate = rates[order.currency, day]
            if rate is None:
                missing.add(order.currency)
                continue
            amount_minor = _to_rupees(amount_minor, order.currency, rate)
        sales[index] += amount_minor
    return sales, sorted(missing)


def _closing_cash(container: Container, business_id: uuid.UUID, days: list[datetime]) -> list[int]:
    """The PKR wallet's balance at the end of each day."""
    start = to_ns(days[0])
    ends = [to_ns(day + timedelta(days=1)) for day in days]
    # To the end of today, not to "now": the ledger may stamp a transfer a few nanoseconds
    # past the clock's reading (its timestamps never go backwards per account).
    statement = container.wallet.statement(
        business_id, "PKR", start, ends[-1], limit=STATEMENT_LINES_MAX
    )
    if statement.truncated:
        # More lines than one statement holds: ask the ledger for each day's closing instead.
        return [
            container.wallet.statement(business_id, "PKR", end, end, limit=1).opening_minor
            for end in ends[:-1]
        ] + [container.wallet.balance(business_id).amount_minor]
    closings = [statement.opening_minor] * len(days)
    index = 0
    balance = statement.opening_minor
    for line in statement.lines:
        while index < len(days) - 1 and line.at >= ends[index]:
            closings[index] = balance
            index += 1
        balance = line.balance_after_minor
    for rest in range(index, len(days)):
        closings[rest] = balance
    return closings


def _sales_and_cash(
    container: Container, business_id: uuid.UUID, opened_ns: int
) -> tuple[list[DayPoint], list[str]]:
    """The chart: sales per day (bars) and cash at each day's end (line), both in rupees."""
    now_ns = container.clock.now_ns()
    days = queries.days_back_ns(now_ns, chart_days(opened_ns, now_ns))
    sales, missing = _sales(container, business_id, days)
    closings = _closing_cash(container, business_id, days)
    points = [
        DayPoint(day.date(), sold, closing)
        for day, sold, closing in zip(days, sales, closings, strict=True)
    ]
    return points, missing


def _escrow(container: Container, business_id: uuid.UUID) -> list[Money]:
    """Buyers' money held for the business, per currency: trade's escrow accounts on the
    ledger (owned by the business), read where the money is."""
    ledger = container.ledger
    return [
        Money(account.balance.net_credit_posted, ledger.ledger_currency(account.ledger))
        for account in ledger.accounts_by_owner(business_id)
        if account.code == ACCOUNT_CODE_ESCROW and account.balance.net_credit_posted
    ]


def _trade_and_supply(container: Container, business_id: uuid.UUID) -> dict[str, Any]:
    trade, supply = container.trade, container.supply
    now = container.clock.now_ns()
    to_ship = sum(len(trade.orders(business_id, status, FIGURES_COUNTED_MAX)) for status in TO_SHIP)
    bills = supply.bills(business_id, status=BillStatus.OPEN, limit=FIGURES_COUNTED_MAX)
    due: dict[str, int] = {}
    for bill in bills:
        due[bill.currency] = due.get(bill.currency, 0) + bill.total_minor
    return {
        "escrow": _escrow(container, business_id),
        "to_ship": to_ship,
        "low_stock": len(supply.items_below_reorder_point(business_id)),
        "bills_due": [Money(amount, currency) for currency, amount in sorted(due.items())],
        "bills_open": len(bills),
        "bills_overdue": sum(1 for bill in bills if bill.due_at < now),
    }


def _home(container: Container, business_id: uuid.UUID) -> dict[str, Any]:
    wallet = container.wallet
    customer = wallet.customer(business_id)
    balances = [
        (account.currency, wallet.balance(business_id, account.currency))
        for account in wallet.accounts(business_id)
    ]
    pending_out = wallet.history(
        business_id, status=MovementStatus.PENDING, limit=HISTORY_PAGE_SIZE
    )
    awaited = [
        sent
        for sent in wallet.payment_requests_sent(business_id, limit=SENT_REQUESTS_COUNTED_MAX)
        if sent.status is RequestStatus.OPEN
    ]
    points, unconverted = _sales_and_cash(container, business_id, customer.created_at)
    return {
        "customer": customer,
        "cash": wallet.balance(business_id, "PKR"),
        "foreign": [(c, b) for c, b in balances if c != "PKR" and b.amount_minor],
        "pending_count": len(pending_out),
        "requests": wallet.request_inbox(business_id),
        "awaited_count": len(awaited),
        "awaited_minor": sum(sent.amount_minor for sent in awaited),
        "points": points,
        "unconverted": unconverted,
        "recent": wallet.history(business_id, limit=RECENT_LINES),
        **_trade_and_supply(container, business_id),
    }


@pages.page("/home", name="home", roles=BUSINESS)
async def home(request: Request, user: User) -> Response:
    site = site_of(request)
    context = await run_in_threadpool(_home, site.container, _business(user))
    language = request.state.language
    formats = Formats(language)
    context["chart"] = chart_svg(
        context["points"],
        title=site.translate(
            language,
            "Sales and cash over the last %(days)s days",
            days=formats.number(len(context["points"])),
        ),
        bar_name=site.translate(language, "Sales"),
        line_name=site.translate(language, "Cash at the end of the day"),
        amount_label=formats.compact_money,
        day_label=lambda day: formats.day(datetime(day.year, day.month, day.day, tzinfo=PAKISTAN)),
    )
    return site.render(request, "business/home.html", context)


# ---------------------------------------------------------------------- wallet
def _wallet(
    container: Container, business_id: uuid.UUID, before: tuple[int, uuid.UUID] | None
) -> dict[str, Any]:
    wallet = container.wallet
    history = wallet.history(business_id, limit=HISTORY_PAGE_SIZE, before=before)
    return {
        "customer": wallet.customer(business_id),
        "balances": [
            (account.currency, account.iban, wallet.balance(business_id, account.currency))
            for account in wallet.accounts(business_id)
        ],
        "requests": wallet.request_inbox(business_id),
        "sent": wallet.payment_requests_sent(business_id, limit=SENT_REQUESTS_SHOWN),
        "history": history,
        "next_cursor": queries.encode_cursor(history[-1].created_at, history[-1].id)
        if len(history) == HISTORY_PAGE_SIZE
        else None,
        "payouts": wallet.payouts(business_id, limit=PAYOUTS_SHOWN),
        "today": from_ns(container.clock.now_ns()).astimezone(PAKISTAN).date(),
    }


async def _wallet_page(
    request: Request,
    user: User,
    *,
    send: dict[str, str] | None = None,
    send_error: str | None = None,
    ask: dict[str, str] | None = None,
    ask_error: str | None = None,
    status: int = 200,
) -> Response:
    site = site_of(request)
    before = queries.decode_cursor(request.query_params.get("before"))
    context = await run_in_threadpool(_wallet, site.container, _business(user), before)
    context["send"] = send or {"to": "", "amount": "", "note": ""}
    context["send_error"] = send_error
    context["ask"] = ask or {
        "debtor": "",
        "amount": "",
        "reference": "",
        "days": str(REQUEST_DAYS_DEFAULT),
    }
    context["ask_error"] = ask_error
    context["request_days_max"] = REQUEST_DAYS_MAX
    context["currencies"] = sorted(CURRENCIES)
    context["week_ago"] = context["today"] - timedelta(days=7)
    return site.render(request, "business/wallet.html", context, status=status)


@pages.page("/wallet", name="wallet", roles=BUSINESS)
async def wallet_page(request: Request, user: User) -> Response:
    return await _wallet_page(request, user)


@pages.action("/wallet/send", name="wallet_send", roles=BUSINESS)
async def wallet_send(request: Request, user: User, form: FormData) -> Response:
    """Two steps, like a banking app: see who the money goes to, then pay."""
    site = site_of(request)
    wallet = site.container.wallet
    business_id = _business(user)
    values = {
        "to": text(form, "to", length_max=40),
        "amount": text(form, "amount", length_max=40),
        "note": text(form, "note", length_max=140),
    }
    try:
        amount_minor = _amount(form)
        if not form.get("confirm"):
            destination = await run_in_threadpool(wallet.resolve, business_id, values["to"])
            return site.render(
                request,
                "business/confirm.html",
                {
                    "values": values,
                    "amount_minor": amount_minor,
                    "destination": destination,
                    "request_key": str(uuid.uuid4()),
                },
            )
        outcome = await run_in_threadpool(
            lambda: wallet.pay(
                business_id,
                to=values["to"],
                amount_minor=amount_minor,
                request_key=_request_key(form),
                note=values["note"] or None,
            )
        )
    except DomainError as error:
        return await _wallet_page(
            request,
            user,
            send=values,
            send_error=error_text(request, error),
            status=error.status,
        )
    return _to_movement(request, outcome.movements)


def _to_movement(request: Request, movements: Any) -> Response:
    debit = next((m for m in movements if m.direction is Direction.DEBIT), movements[0])
    return redirect(request, "wallet_movement", movement_id=debit.id)


@pages.action("/wallet/qr", name="wallet_pay_qr", roles=BUSINESS)
async def wallet_pay_qr(request: Request, user: User, form: FormData) -> Response:
    site = site_of(request)
    payload = text(form, "payload", length_max=512)  # EMVCo: at most 512 characters
    amount_text = text(form, "amount", length_max=40)
    try:
        amount_minor = Money.parse(amount_text, "PKR").amount_minor if amount_text else None
        outcome = await run_in_threadpool(
            lambda: site.container.wallet.pay_qr(
                _business(user), payload, request_key=_request_key(form), amount_minor=amount_minor
            )
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "wallet")
    return _to_movement(request, outcome.movements)


def _days(raw: str) -> int:
    """Days to pay: a whole number from 1 to REQUEST_DAYS_MAX (Urdu digits welcome)."""
    if not raw:
        return REQUEST_DAYS_DEFAULT
    if not raw.isdecimal() or not 1 <= int(raw) <= REQUEST_DAYS_MAX:
        raise DomainError(
            WebError.DAYS_INVALID,
            f"days to pay is a whole number from 1 to {REQUEST_DAYS_MAX}",
            status=422,
            fields={"field": "days"},
        )
    return int(raw)


@pages.action("/wallet/payment-requests", name="wallet_request_money", roles=BUSINESS)
async def wallet_request_money(request: Request, user: User, form: FormData) -> Response:
    """Ask someone, by Raast ID, to pay the business (a pain.013 through the hub). Sent once
    per form: the wallet takes no request key yet, so the dashboard remembers its answer."""
    site = site_of(request)
    wallet = site.container.wallet
    business_id = _business(user)
    values = {
        "debtor": text(form, "debtor", length_max=40),
        "amount": text(form, "amount", length_max=40),
        "reference": text(form, "reference", length_max=140),
        "days": text(form, "days", length_max=8),
    }
    try:
        key = _request_key(form)
        amount_minor = _amount(form)
        days = _days(values["days"])

        def send() -> PaymentRequest:
            return wallet.request_payment(
                business_id,
                debtor=values["debtor"],
                amount_minor=amount_minor,
                reference=values["reference"] or None,
                expires_in_s=days * DAY_S,
                # The wallet makes the key act once across processes; `once` also makes a
                # concurrent double submit in this process wait for the first.
                request_key=key,
            )

        sent, _repeated = await run_in_threadpool(
            site.once.run, ("payment_request", business_id, key), send
        )
    except DomainError as error:
        return await _wallet_page(
            request, user, ask=values, ask_error=error_text(request, error), status=error.status
        )
    language = request.state.language
    flash(
        request,
        "ok",
        site.translate(
            language,
            "Request sent: %(amount)s from %(payer)s.",
            amount=Formats(language).money(sent.amount_minor, sent.currency),
            payer=national_mobile(sent.debtor_alias),
        ),
    )
    return RedirectResponse(path_for(request, "wallet") + "#requests-sent", status_code=303)


@pages.action("/wallet/requests/{request_id:uuid}/pay", name="wallet_request_pay", roles=BUSINESS)
async def wallet_request_pay(request: Request, user: User, form: FormData) -> Response:
    site = site_of(request)
    try:
        outcome = await run_in_threadpool(
            lambda: site.container.wallet.pay_request(
                _business(user), request.path_params["request_id"], request_key=_request_key(form)
            )
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "wallet")
    return _to_movement(request, outcome.movements)


@pages.action(
    "/wallet/requests/{request_id:uuid}/decline", name="wallet_request_decline", roles=BUSINESS
)
async def wallet_request_decline(
    request: Request,
    user: User,
    form: FormData,  # noqa: ARG001 - CSRF-checked by the guard
) -> Response:
    site = site_of(request)
    try:
        await run_in_threadpool(
            site.container.wallet.decline_request,
            _business(user),
            request.path_params["request_id"],
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
    else:
        flash(request, "ok", site.translate(request.state.language, "The request was declined."))
    return redirect(request, "wallet")


@pages.page("/wallet/movements/{movement_id:uuid}", name="wallet_movement", roles=BUSINESS)
async def wallet_movement(request: Request, user: User) -> Response:
    site = site_of(request)
    movement = await run_in_threadpool(
        site.container.wallet.movement, _business(user), request.path_params["movement_id"]
    )
    refundable = (
        movement.kind in REFUNDABLE
        and movement.status is MovementStatus.COMPLETED
        and movement.direction is Direction.CREDIT
    )
    return site.render(
        request,
        "business/movement.html",
        {"movement": movement, "refundable": refundable, "request_key": str(uuid.uuid4())},
    )


@pages.action("/wallet/movements/{movement_id:uuid}/refund", name="wallet_refund", roles=BUSINESS)
async def wallet_refund(request: Request, user: User, form: FormData) -> Response:
    site = site_of(request)
    movement_id = request.path_params["movement_id"]
    try:
        outcome = await run_in_threadpool(
            lambda: site.container.wallet.refund(
                _business(user), movement_id, _amount(form), request_key=_request_key(form)
            )
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "wallet_movement", movement_id=movement_id)
    return _to_movement(request, outcome.movements)


# ---------------------------------------------------------------------- bulk payouts
@pages.action("/wallet/payouts", name="wallet_payout_upload", roles=BUSINESS)
async def wallet_payout_upload(request: Request, user: User, form: FormData) -> Response:
    """A CSV or pain.001 file: every row checked and paid; the results per row follow."""
    site = site_of(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        flash(
            request, "error", site.translate(request.state.language, "Choose a payout file first.")
        )
        return redirect(request, "wallet")
    content = await upload.read(PAYOUT_FILE_BYTES_MAX + 1)
    name = upload.filename[-120:]
    try:
        payout = await run_in_threadpool(
            lambda: site.container.wallet.payout(_business(user), content, file_name=name)
        )
    except DomainError as error:
        flash(request, "error", error_text(request, error))
        return redirect(request, "wallet")
    return redirect(request, "wallet_payout", payout_id=payout.id)


@pages.page("/wallet/payouts/{payout_id:uuid}", name="wallet_payout", roles=BUSINESS)
async def wallet_payout(request: Request, user: User) -> Response:
    site = site_of(request)
    payout = await run_in_threadpool(
        site.container.wallet.payout_by_id, _business(user), request.path_params["payout_id"]
    )
    return site.render(
        request,
        "business/payout.html",
        {
            "payout": payout,
            "settled": payout.count(PayoutRowStatus.SETTLED),
            "pending": payout.count(PayoutRowStatus.PENDING),
            "rejected": payout.count(PayoutRowStatus.REJECTED),
        },
    )


@pages.page(
    "/wallet/payouts/{payout_id:uuid}/report.csv", name="wallet_payout_report", roles=BUSINESS
)
async def wallet_payout_report(request: Request, user: User) -> Response:
    site = site_of(request)
    payout = await run_in_threadpool(
        site.container.wallet.payout_by_id, _business(user), request.path_params["payout_id"]
    )
    return download(
        files.payout_report_csv(payout), "text/csv; charset=utf-8", f"payout-{payout.id}.csv"
    )


# ---------------------------------------------------------------------- statements
def _day(value: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(value) if value else fallback
    except ValueError:
        raise DomainError(
            WebError.FORM_INVALID, "dates are written 2026-11-24", status=422
        ) from None


STATEMENT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "pdf": ("application/pdf", "pdf"),
    "camt053": ("application/xml", "xml"),  # ISO 20022 camt.053, for accounting software
}


@pages.page("/wallet/statement", name="wallet_statement", roles=BUSINESS)
async def wallet_statement(request: Request, user: User) -> Response:
    """Booked lines of one wallet between two Pakistan dates (both included): CSV, PDF or
    camt.053, all rendered by the wallet from the same ledger history."""
    site = site_of(request)
    container = site.container
    today = from_ns(container.clock.now_ns()).astimezone(PAKISTAN).date()
    first = _day(request.query_params.get("from"), today - timedelta(days=30))
    last = _day(request.query_params.get("to"), today)
    currency = (request.query_params.get("currency") or "PKR").upper()[:3]
    kind = request.query_params.get("format") or "csv"
    if kind not in STATEMENT_FORMATS:
        raise DomainError(
            WebError.FORM_INVALID, f"format is one of {', '.join(STATEMENT_FORMATS)}", status=422
        )
    if not timedelta(0) <= last - first <= timedelta(days=STATEMENT_DAYS_MAX):
        raise DomainError(
            WebError.FORM_INVALID,
            f"a statement covers 1 to {STATEMENT_DAYS_MAX} days, oldest first",
            status=422,
        )
    start = to_ns(datetime(first.year, first.month, first.day, tzinfo=PAKISTAN))
    end = to_ns(datetime(last.year, last.month, last.day, tzinfo=PAKISTAN) + timedelta(days=1))
    wallet = container.wallet

    def render() -> bytes | str:
        found = wallet.statement(_business(user), currency, start, end, limit=STATEMENT_LINES_MAX)
        if kind == "pdf":
            return statements.to_pdf(found, wallet.institution.name)
        if kind == "camt053":
            return statements.to_camt053(found, wallet.institution.code, container.clock.now_ns())
        return statements.to_csv(found)

    body = await run_in_threadpool(render)
    media_type, extension = STATEMENT_FORMATS[kind]
    name = f"statement-{currency}-{first.isoformat()}-{last.isoformat()}.{extension}"
    return download(body, media_type, name)


# ---------------------------------------------------------------------- payment QR
def _qr_payload(request: Request, container: Container, business_id: uuid.UUID) -> str:
    amount_text = (request.query_params.get("amount") or "").strip()[:40]
    bill = (request.query_params.get("bill") or "").strip()[:25] or None
    amount_minor = Money.parse(amount_text, "PKR").amount_minor if amount_text else None
    return container.wallet.merchant_qr(business_id, amount_minor=amount_minor, bill_number=bill)


@pages.page("/qr", name="payment_qr", roles=BUSINESS)
async def payment_qr(request: Request, user: User) -> Response:
    """The business's own Raast QR to print: static, or for one amount (dynamic)."""
    site = site_of(request)
    container = site.container
    business_id = _business(user)

    def load() -> tuple[Any, str]:
        return container.wallet.customer(business_id), _qr_payload(request, container, business_id)

    customer, payload = await run_in_threadpool(load)
    code = segno.make(payload, error="m")
    svg = Markup(code.svg_inline(scale=QR_SCALE, border=4, omitsize=True))  # noqa: S704 - segno's own markup, no user text in it
    return site.render(
        request,
        "business/qr.html",
        {
            "customer": customer,
            "payload": payload,
            "svg": svg,
            "amount": (request.query_params.get("amount") or "")[:40],
            "bill": (request.query_params.get("bill") or "")[:25],
        },
    )


@pages.page("/qr.png", name="payment_qr_png", roles=BUSINESS)
async def payment_qr_png(request: Request, user: User) -> Response:
    site = site_of(request)
    payload = await run_in_threadpool(_qr_payload, request, site.container, _business(user))
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="png", scale=QR_SCALE, border=4)
    return download(out.getvalue(), "image/png", "raast-qr.png")
