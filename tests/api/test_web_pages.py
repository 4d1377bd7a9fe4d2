"""The dashboard over HTTP (the served app, API and pages together): sign-in, sessions, CSRF,
roles, one business's data only, English and Urdu, the wallet pages, the operator pages."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tijarat.asgi import create
from tijarat.bootstrap import Container
from tijarat.identity import users
from tijarat.identity.users import LOCKOUT_S, SIGN_IN_FAILURES_MAX, create_user, set_password
from tijarat.kernel.clock import PAKISTAN, ManualClock, from_ns
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money, format_money
from tijarat.supply.model import BillLineInput, OrderLineInput, ReceiptLineInput
from tijarat.switch import iso20022 as iso
from tijarat.switch.model import CreditTransfer, ParticipantCategory, PayeeDecision
from tijarat.trade.model import Incoterm, Order
from tijarat.trade.simulator import SKARDU_CATALOG, MarketplaceSimulator, open_demo_business
from tijarat.web.i18n import Formats

PASSWORD = "apricots-from-skardu"
BANK = "MEZNPKKA"
SUPPLIER = "0300 1112223"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="request_key" value="([^"]+)"')
DAY_NS = 86_400 * 10**9


@dataclass
class World:
    container: Container
    clock: ManualClock
    business_id: uuid.UUID
    business_mobile: str
    other_business_id: uuid.UUID


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", lambda: fast)


def make_world(container: Container, clock: ManualClock) -> World:
    """A wallet provider and a bank on the hub; two businesses; an operator."""
    switch, wallet = container.switch, container.wallet
    wallet.ensure_ready()
    wallet.fund_settlement(1_000_000_00, uuid.uuid4())
    switch.register_participant(
        BANK, "Meezan Bank", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    switch.fund(BANK, Money(1_000_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        BANK, SUPPLIER, make_pk_iban("MEZN", "2002").compact, "42101-1111111-1", "Karachi Wool"
    )
    container.payments.connect(BANK, lambda _payment: PayeeDecision(accept=True))
    business = wallet.onboard_business(
        name="Skardu Apricot Traders",
        ntn="1234567-8",
        mobile="0355 1234567",
        address="Skardu",
        owners=["Ali Raza"],
        owner_cnic="71101-1234567-1",
    )
    other = wallet.onboard_business(
        name="Hunza Gems",
        ntn="7654321-0",
        mobile="0355 7654321",
        address="Karimabad",
        owners=["Sana Baig"],
        owner_cnic="71101-7654321-2",
    )
    wallet.deposit(business.id, 100_000_00, "opening-cash")
    wallet.deposit(other.id, 5_000_00, "other-cash")
    create_user(container.engine, "skardu", PASSWORD, "business", business.id)
    create_user(container.engine, "hunza", PASSWORD, "business", other.id)
    create_user(container.engine, "operator", PASSWORD, "operator")
    clock.advance(timedelta(hours=1))
    return World(container, clock, business.id, business.mobile, other.id)


@pytest.fixture
def world(sqlite_container: Container, clock: ManualClock) -> World:
    return make_world(sqlite_container, clock)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create(world.container)) as test_client:
        yield test_client


def token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs in; answers the session's CSRF token for the forms that follow."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token(form.text)},
    )
    assert answer.status_code == 200, answer.text
    return token(answer.text)


def pay_in(world: World, amount_minor: int, *, iso20022: bool = False) -> None:
    """The bank's customer pays the business's Raast ID (JSON form, or a pacs.008)."""
    end_to_end = "E" + uuid.uuid4().hex[:20]
    if not iso20022:
        world.container.payments.submit(
            BANK,
            CreditTransfer(
                msg_id="M" + uuid.uuid4().hex[:20],
                end_to_end_id=end_to_end,
                tx_id="T" + uuid.uuid4().hex[:20],
                uetr=uuid.uuid4(),
                amount_minor=amount_minor,
                currency="PKR",
                debtor_name="Gilgit Dry Fruits",
                debtor_iban=make_pk_iban("MEZN", "5005").compact,
                creditor_alias=world.business_mobile,
            ),
        )
        return
    now = from_ns(world.clock.now_ns())
    document = iso.CustomerCreditTransfer(
        message_id="M" + uuid.uuid4().hex[:20],
        created_at=now,
        transactions=(
            iso.CreditTransferTransaction(
                end_to_end_id=end_to_end,
                transaction_id="T" + uuid.uuid4().hex[:20],
                uetr=uuid.uuid4(),
                amount=Money(amount_minor, "PKR"),
                debtor=iso.Party(name="Gilgit Dry Fruits"),
                debtor_account=iso.Account(iban=Iban.parse(make_pk_iban("MEZN", "5005").compact)),
                debtor_agent=iso.Agent(member_id=BANK),
                creditor=iso.Party(name="Skardu Apricot Traders"),
                creditor_account=iso.Account(proxy=MobileNumber.parse(world.business_mobile)),
                creditor_agent=iso.Agent(member_id="RAASTHUB"),
                remittance_information=("apricot order 7",),
            ),
        ),
    )
    envelope = iso.Envelope(
        iso.BusinessApplicationHeader(
            from_agent=iso.Agent(member_id=BANK),
            to_agent=iso.Agent(member_id="RAASTHUB"),
            business_message_id=document.message_id,
            message_definition_id=iso.MessageType.PACS_008.value,
            created_at=now,
        ),
        document,
    )
    bank = world.container.switch.participant(BANK)
    world.container.gateway.receive(bank, iso.build_envelope(envelope))


# ---------------------------------------------------------------------- sign-in and sessions
def test_pages_need_sign_in_and_come_back_after_it(client: TestClient) -> None:
    answer = client.get("/wallet?before=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fwallet%3Fbefore%3Dx"
    form = client.get(answer.headers["location"])
    assert 'name="next" value="/wallet?before=x"' in form.text
    signed_in = client.post(
        "/sign-in",
        data={
            "username": "skardu",
            "password": PASSWORD,
            "next": "/wallet?before=x",
            "csrf_token": token(form.text),
        },
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/wallet?before=x"
    cookie = signed_in.headers["set-cookie"]
    assert "tijarat_session=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    # Never off-site after signing in, whatever `next` says.
    client.post("/sign-out", data={"csrf_token": token(client.get("/wallet").text)})
    form = client.get("/sign-in")
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        again = client.post(
            "/sign-in",
            data={
                "username": "skardu",
                "password": PASSWORD,
                "next": elsewhere,
                "csrf_token": token(form.text),
            },
            follow_redirects=False,
        )
        assert again.headers["location"] == "/home"
        form = client.get("/sign-in", follow_redirects=True)


def test_bad_credentials_are_refused_and_repeated_failures_lock_out(
    client: TestClient, world: World
) -> None:
    form = token(client.get("/sign-in").text)
    for _ in range(SIGN_IN_FAILURES_MAX):
        refused = client.post(
            "/sign-in", data={"username": "skardu", "password": "guess", "csrf_token": form}
        )
        assert refused.status_code == 401
        assert "Wrong username or password." in refused.text
        assert 'value="skardu"' in refused.text  # the name is kept, the password is not
    locked = client.post(
        "/sign-in", data={"username": "skardu", "password": PASSWORD, "csrf_token": form}
    )
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    world.clock.advance(timedelta(seconds=LOCKOUT_S))
    assert sign_in(client, "skardu")


def test_a_post_without_the_session_token_or_from_another_site_changes_nothing(
    client: TestClient, world: World
) -> None:
    own = sign_in(client, "skardu")
    before = world.container.wallet.balance(world.business_id)
    pay = {"to": SUPPLIER, "amount": "10.00", "confirm": "1", "request_key": "k-1"}
    refused = [
        client.post("/wallet/send", data=pay),
        client.post("/wallet/send", data={**pay, "csrf_token": "forged"}),
        client.post(
            "/wallet/send",
            data={**pay, "csrf_token": own},
            headers={"origin": "https://evil.example"},
        ),
    ]
    with TestClient(create(world.container)) as stranger:
        refused.append(stranger.post("/wallet/send", data={**pay, "csrf_token": own}))
    assert [answer.status_code for answer in refused[:3]] == [403, 403, 403]
    assert "This form has expired" in refused[0].text
    assert refused[3].url.path == "/sign-in"  # no session at all: sign in first
    assert world.container.wallet.balance(world.business_id) == before
    # The same form with its token (sent as the header script would use) goes through.
    done = client.post(
        "/wallet/send", data={**pay, "request_key": "k-2"}, headers={"x-csrf-token": own}
    )
    assert done.url.path.startswith("/wallet/movements/")


def test_pages_carry_security_headers_and_are_never_cached(client: TestClient) -> None:
    sign_in(client, "skardu")
    page = client.get("/home")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers.get("content-encoding") == "gzip"  # slow links: compressed


def test_static_files_are_versioned_and_cached(client: TestClient) -> None:
    page = client.get("/sign-in").text
    (css,) = re.findall(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page)
    first = client.get(css)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert first.headers["content-type"] == "text/css; charset=utf-8"
    again = client.get(css, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/nothing.css").status_code == 404
    # The whole page with its style and script stays small for a phone on a slow link.
    script = client.get(re.findall(r'src="(/static/app\.js\?v=[0-9a-f]+)"', page)[0])
    assert len(page) + len(first.content) + len(script.content) < 16_000


def test_a_new_password_ends_the_old_sessions(client: TestClient, world: World) -> None:
    sign_in(client, "skardu")
    assert client.get("/home").url.path == "/home"
    set_password(world.container.engine, "skardu", "a different password")
    assert client.get("/home").url.path == "/sign-in"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    own = sign_in(client, "skardu")
    client.post("/sign-out", data={"csrf_token": own})
    assert client.get("/home").url.path == "/sign-in"


# ---------------------------------------------------------------------- roles and businesses
def test_each_role_sees_only_its_own_pages(client: TestClient) -> None:
    sign_in(client, "skardu")
    assert client.get("/", follow_redirects=False).headers["location"] == "/home"
    forbidden = client.get("/operator/payments")
    assert forbidden.status_code == 403
    assert "This page is not for your account." in forbidden.text
    assert 'href="/operator' not in client.get("/home").text
    client.cookies.clear()
    sign_in(client, "operator")
    assert client.get("/", follow_redirects=False).headers["location"] == "/operator"
    assert client.get("/wallet").status_code == 403
    assert client.get("/home").status_code == 403


def test_a_business_sees_only_its_own_money(client: TestClient, world: World) -> None:
    wallet = world.container.wallet
    theirs = wallet.history(world.other_business_id)[0]
    with io.BytesIO(b"name,raast_id,amount\nKarachi Wool,03001112223,1.00\n") as file:
        their_payout = wallet.payout(world.other_business_id, file.read(), file_name="x.csv")
    sign_in(client, "skardu")
    home = client.get("/home").text
    assert "Skardu Apricot Traders" in home
    assert "Hunza Gems" not in home
    assert client.get(f"/wallet/movements/{theirs.id}").status_code == 404
    assert client.get(f"/wallet/payouts/{their_payout.id}").status_code == 404
    assert client.get(f"/wallet/payouts/{their_payout.id}/report.csv").status_code == 404
    statement = client.get("/wallet/statement").text
    assert "100000.00" in statement
    assert "5000.00" not in statement  # the other business's deposit


# ---------------------------------------------------------------------- languages
def test_visitors_and_users_choose_their_language(client: TestClient) -> None:
    assert 'lang="en" dir="ltr"' in client.get("/sign-in").text
    urdu = client.get("/sign-in", headers={"accept-language": "ur-PK,ur;q=0.9,en;q=0.5"})
    assert 'lang="ur" dir="rtl"' in urdu.text
    assert "صارف نام" in urdu.text
    chosen = client.post(
        "/language",
        data={"language": "ur", "next": "/sign-in", "csrf_token": token(urdu.text)},
        follow_redirects=False,
    )
    assert chosen.headers["location"] == "/sign-in"
    assert "tijarat_language=ur" in chosen.headers["set-cookie"]
    assert 'dir="rtl"' in client.get("/sign-in").text
    own = sign_in(client, "skardu")  # the user's own choice (English) wins over the cookie
    assert 'lang="en"' in client.get("/home").text
    client.post("/language", data={"language": "ur", "next": "/wallet", "csrf_token": own})
    page = client.get("/wallet").text
    assert 'lang="ur" dir="rtl"' in page
    assert "رقم بھیجیں" in page  # "Send money"
    client.cookies.clear()  # another device: the choice travels with the user
    sign_in(client, "skardu")
    assert 'dir="rtl"' in client.get("/home").text


# ---------------------------------------------------------------------- the wallet
def test_send_money_after_seeing_who_receives_it_once(client: TestClient, world: World) -> None:
    own = sign_in(client, "skardu")
    before = world.container.wallet.balance(world.business_id)
    review = client.post(
        "/wallet/send",
        data={"to": SUPPLIER, "amount": "2,500.75", "note": "wool", "csrf_token": own},
    )
    assert review.status_code == 200
    assert "KAR*** WOOL" in review.text  # the masked title, never the full name
    assert "Karachi Wool" not in review.text
    assert world.container.wallet.balance(world.business_id) == before  # nothing moved yet
    pay = {
        "to": SUPPLIER,
        "amount": "2,500.75",
        "note": "wool",
        "confirm": "1",
        "request_key": KEY.findall(review.text)[0],
        "csrf_token": own,
    }
    paid = client.post("/wallet/send", data=pay)
    assert paid.url.path.startswith("/wallet/movements/")
    assert '<span class="badge completed">completed</span>' in paid.text
    again = client.post("/wallet/send", data=pay)  # a double tap, a reload: paid once
    assert again.url.path == paid.url.path
    assert before - world.container.wallet.balance(world.business_id) == Money(2_500_75, "PKR")


def test_a_refused_payment_keeps_the_form_and_says_why(client: TestClient, world: World) -> None:
    own = sign_in(client, "skardu")
    bad_amount = client.post(
        "/wallet/send", data={"to": SUPPLIER, "amount": "12.345", "csrf_token": own}
    )
    assert bad_amount.status_code == 422
    assert "Rupee amounts have at most two decimal places." in bad_amount.text
    assert 'value="12.345"' in bad_amount.text
    too_much = client.post(
        "/wallet/send",
        data={
            "to": SUPPLIER,
            "amount": "900,000",
            "confirm": "1",
            "request_key": "too-much",
            "csrf_token": own,
        },
    )
    assert too_much.status_code >= 400
    assert 'class="flash error"' in too_much.text
    assert world.container.wallet.balance(world.business_id) == Money(100_000_00, "PKR")


def test_a_bulk_payout_reports_every_row(client: TestClient, world: World) -> None:
    own = sign_in(client, "skardu")
    content = (
        "name,raast_id,iban,amount,reference\n"
        f"Karachi Wool,{SUPPLIER},,1200.00,INV-7\n"
        "Nobody,0333 0000001,,50.00,INV-8\n"
        "Broken,not-a-number,,5.00,INV-9\n"
    )
    answer = client.post(
        "/wallet/payouts",
        data={"csrf_token": own},
        files={"file": ("payroll.csv", content.encode(), "text/csv")},
    )
    assert answer.url.path.startswith("/wallet/payouts/")
    rows = re.findall(r'<span class="badge (\w+)">', answer.text)
    assert rows == ["settled", "rejected", "rejected"]
    assert world.container.wallet.balance(world.business_id) == Money(98_800_00, "PKR")
    report = client.get(answer.url.path + "/report.csv")
    assert report.headers["content-disposition"].startswith("attachment;")
    lines = list(csv.reader(io.StringIO(report.text)))
    assert [line[5] for line in lines[1:]] == ["settled", "rejected", "rejected"]
    empty = client.post("/wallet/payouts", data={"csrf_token": own})
    assert empty.url.path == "/wallet"
    assert "Choose a payout file first." in empty.text


def test_the_statement_reconciles_in_every_format(client: TestClient, world: World) -> None:
    pay_in(world, 7_000_00)
    world.container.wallet.pay(
        world.business_id, to=SUPPLIER, amount_minor=1_500_00, request_key="wool-1"
    )
    sign_in(client, "skardu")
    answer = client.get("/wallet/statement")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].endswith('.csv"')

    def rupees(text: str) -> Decimal:
        return Decimal(text.removeprefix("PKR ")) if text else Decimal(0)

    opening, *lines, closing = list(csv.DictReader(io.StringIO(answer.text)))
    total = rupees(opening["balance"])
    for line in lines:
        total += rupees(line["credit"]) - rupees(line["debit"])
        assert rupees(line["balance"]) == total
    assert rupees(closing["balance"]) == total == Decimal("105500.00")
    pdf = client.get("/wallet/statement?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    camt = client.get("/wallet/statement?format=camt053")
    assert b"camt.053.001.08" in camt.content
    for wrong in ("from=2026-02-01&to=2026-01-01", "from=yesterday", "format=docx"):
        assert client.get(f"/wallet/statement?{wrong}").status_code == 422


def test_the_home_page_shows_the_business_figures(client: TestClient, world: World) -> None:
    world.clock.advance(timedelta(days=1))
    pay_in(world, 7_000_00)
    sign_in(client, "skardu")
    home = client.get("/home").text
    cash = world.container.wallet.balance(world.business_id)
    assert re.search(r'id="figure-cash".*?<span class="num">(.*?)</span>', home, re.DOTALL).group(
        1
    ) == format_money(cash, "en_PK")
    assert "Raast payment received" in home
    # A new business: a week of chart, cash on the line, no sales yet (money in is not sales).
    assert "Sales and cash over the last 7 days" in home
    assert home.count('<rect class="sales"') == 0


def test_the_chart_shows_sales_by_order_value_in_rupees(client: TestClient, world: World) -> None:
    shop = open_shop(world)  # three marketplace orders in dollars, today
    world.container.trade.cancel_order(world.business_id, shop.orders[2].id, "no stock", "test")
    sign_in(client, "skardu")
    home = client.get("/home").text
    assert home.count('<rect class="sales"') == 0  # no dollar rate known: not guessed
    assert "Orders in USD are left out: no exchange rate to rupees for their day." in home
    today = from_ns(world.clock.now_ns()).astimezone(PAKISTAN).date()
    world.container.wallet.import_rates(
        f"date,base,quote,rate\n{today},USD,PKR,280.00\n", "test rates"
    )
    home = client.get("/home").text
    assert "left out" not in home
    (bar,) = re.findall(r'<rect class="sales"[^>]*><title>(.*?)</title>', home)
    sold_usd = sum(order.total_minor for order in shop.orders[:2])  # the cancelled one is not
    assert bar.endswith("Sales: " + Formats("en").compact_money(sold_usd * 280))


def test_requests_to_pay_are_paid_or_declined(client: TestClient, world: World) -> None:
    requests = world.container.requests
    for amount in (3_000_00, 4_000_00):
        requests.request(
            BANK,
            debtor_alias=world.business_mobile,
            amount_minor=amount,
            creditor_name="Karachi Wool",
            creditor_alias=SUPPLIER,
            reference="wool invoice",
            expires_in_s=3_600,
        )
    own = sign_in(client, "skardu")
    wallet = client.get("/wallet").text
    first, second = re.findall(r"/wallet/requests/([0-9a-f-]{36})/pay", wallet)
    paid = client.post(
        f"/wallet/requests/{first}/pay", data={"request_key": str(uuid.uuid4()), "csrf_token": own}
    )
    assert paid.url.path.startswith("/wallet/movements/")
    declined = client.post(f"/wallet/requests/{second}/decline", data={"csrf_token": own})
    assert "The request was declined." in declined.text
    assert "/wallet/requests/" not in declined.text  # nothing left open
    paid_minor = requests.get(uuid.UUID(first)).amount_minor
    assert world.container.wallet.balance(world.business_id) == Money(
        100_000_00 - paid_minor, "PKR"
    )


def _request_form(page: str) -> str:
    section = re.search(r'<section class="card" id="request-money">.*?</section>', page, re.DOTALL)
    assert section, "the wallet has no request money form"
    return KEY.findall(section.group(0))[0]


def _sent(page: str) -> list[str]:
    """The requests sent, as listed: one line of text each."""
    section = re.search(r'<section id="requests-sent">.*?</section>', page, re.DOTALL).group(0)
    items = re.findall(r'<li class="sent-request">(.*?)</li>', section, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_a_business_requests_money_and_sees_what_became_of_it(
    client: TestClient, world: World
) -> None:
    own = sign_in(client, "skardu")
    requests, wallet = world.container.requests, world.container.wallet
    ask = {
        "debtor": SUPPLIER,
        "amount": "1,250.50",
        "reference": "INV-42",
        "days": "3",
        "request_key": _request_form(client.get("/wallet").text),
        "csrf_token": own,
    }
    sent = client.post("/wallet/payment-requests", data=ask)
    assert sent.url.path == "/wallet"
    assert "Request sent: Rs1,250.50 from 0300 1112223." in sent.text
    (line,) = _sent(sent.text)
    assert line.startswith("0300 1112223 INV-42 Rs1,250.50 Sent ")
    assert line.endswith(
        " open · pay by " + Formats("en").short_moment(world.clock.now_ns() + 3 * DAY_NS)
    )
    again = client.post("/wallet/payment-requests", data=ask)  # a double tap: sent once
    assert len(_sent(again.text)) == 1
    (request,) = requests.inbox(BANK)  # it reached the payer's bank, as a request to pay
    assert request.amount_minor == 1_250_50
    assert request.reference == "INV-42"
    assert request.debtor_alias == MobileNumber.parse(SUPPLIER).e164
    assert request.creditor_iban == wallet.account(world.business_id).iban
    assert request.expires_at == request.created_at + 3 * DAY_NS
    home = client.get("/home").text
    awaited = re.search(r'id="figure-requests-sent".*?</li>', home, re.DOTALL).group(0)
    assert "Rs1,250.50" in awaited
    assert "1 open requests" in awaited

    # Refused, the form says why and keeps what was typed; nothing is sent.
    for wrong, reason in (
        ({"days": "0"}, "Days to pay is a whole number from 1 to 90."),
        ({"days": "91"}, "Days to pay is a whole number from 1 to 90."),
        ({"debtor": world.business_mobile}, "That is your own Raast ID."),
        ({"debtor": "0333 0000001"}, "No account is linked to that Raast ID."),
        ({"debtor": "12"}, "That mobile number is not valid (03XX XXXXXXX)."),
        ({"amount": "0"}, "Enter an amount more than zero."),
        ({"request_key": ""}, "Some fields are missing or too long."),
    ):
        refused = client.post(
            "/wallet/payment-requests", data={**ask, "request_key": str(uuid.uuid4()), **wrong}
        )
        assert refused.status_code in {404, 422}, wrong
        assert reason in refused.text, wrong
        assert 'value="INV-42"' in refused.text  # the form keeps what was typed
    assert len(wallet.payment_requests_sent(world.business_id)) == 1

    # The payer's bank pays it: the money arrives and the request reads "paid".
    requests.accept(
        BANK,
        request.id,
        debtor_name="Karachi Wool",
        debtor_iban=make_pk_iban("MEZN", "2002").compact,
        msg_id="M" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
    )
    assert wallet.balance(world.business_id) == Money(100_000_00 + 1_250_50, "PKR")
    # Two more: one declined by the payer, one left to expire.
    for amount in ("10", "20"):
        world.clock.advance(timedelta(minutes=1))
        key = _request_form(client.get("/wallet").text)
        client.post(
            "/wallet/payment-requests",
            data={**ask, "amount": amount, "days": "1", "request_key": key},
        )
    declined, _ = requests.inbox(BANK)
    requests.reject(BANK, declined.id)
    world.clock.advance(timedelta(days=1, seconds=1))
    lines = _sent(client.get("/wallet").text)
    assert [line.split(" Sent ")[0] for line in lines] == [
        "0300 1112223 INV-42 Rs20.00",
        "0300 1112223 INV-42 Rs10.00",
        "0300 1112223 INV-42 Rs1,250.50",
    ]
    assert [re.findall(r"\b(open|paid|rejected|expired)\b", line) for line in lines] == [
        ["expired"],
        ["rejected"],
        ["paid"],
    ]
    assert "CUST requested by the customer" in lines[1]
    client.cookies.clear()
    sign_in(client, "hunza")  # another business sees none of it
    assert _sent(client.get("/wallet").text) == []


def test_the_payment_qr_scans_as_the_wallets_own_code(client: TestClient, world: World) -> None:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg (zbar-tools) is not installed")
    sign_in(client, "skardu")
    page = client.get("/qr?amount=1500&bill=INV-9")
    assert "<svg" in page.text
    image = client.get("/qr.png?amount=1500&bill=INV-9")
    assert image.headers["content-type"] == "image/png"
    decoded = (
        subprocess.run(
            [zbarimg, "--quiet", "--raw", "-"], input=image.content, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    assert decoded == world.container.wallet.merchant_qr(
        world.business_id, amount_minor=1_500_00, bill_number="INV-9"
    )
    assert client.get("/qr?amount=abc").status_code == 422


# ---------------------------------------------------------------------- the operator
def test_the_operator_admits_funds_and_suspends_participants(
    client: TestClient, world: World
) -> None:
    own = sign_in(client, "operator")
    page = client.get("/operator/participants").text
    assert "MEZNPKKA" in page
    assert "TIJWPKKA" in page
    registered = client.post(
        "/operator/participants",
        data={
            "code": "HABBPKKA",
            "name": "Habib Bank",
            "category": "direct_settlement",
            "bank_code": "HABB",
            "csrf_token": own,
        },
    )
    assert registered.status_code == 201
    assert "shown only this once" in registered.text
    request_id = str(uuid.uuid4())
    for _ in range(2):  # the same form twice funds once
        funded = client.post(
            "/operator/participants/HABBPKKA/liquidity",
            data={
                "amount": "250,000",
                "direction": "in",
                "request_id": request_id,
                "csrf_token": own,
            },
        )
    assert "HABBPKKA can now send Rs250,000.00." in funded.text
    assert world.container.switch.liquidity("HABBPKKA") == Money(250_000_00, "PKR")
    too_much = client.post(
        "/operator/participants/HABBPKKA/liquidity",
        data={
            "amount": "300,000",
            "direction": "out",
            "request_id": str(uuid.uuid4()),
            "csrf_token": own,
        },
    )
    assert "The settlement position does not cover this." in too_much.text
    suspended = client.post(
        "/operator/participants/HABBPKKA/status", data={"status": "suspended", "csrf_token": own}
    )
    assert "HABBPKKA is suspended." in suspended.text
    assert not world.container.switch.participant("HABBPKKA").active
    client.post(
        "/operator/participants/HABBPKKA/status", data={"status": "active", "csrf_token": own}
    )
    assert world.container.switch.participant("HABBPKKA").active
    taken = client.post(
        "/operator/participants",
        data={"code": "HABBPKKA", "name": "Again", "bank_code": "HABX", "csrf_token": own},
    )
    assert "That participant code is taken." in taken.text


def test_the_operator_follows_a_payment_to_its_iso20022_messages(
    client: TestClient, world: World
) -> None:
    pay_in(world, 7_000_00, iso20022=True)
    pay_in(world, 1_000_00)
    sign_in(client, "operator")
    overview = client.get("/operator").text
    assert "Rs8,000.00" in overview  # settled today
    listed = client.get("/operator/payments?status=ACSC&participant=meznpkka").text
    links = re.findall(r'href="(/operator/payments/[0-9a-f-]{36})"', listed)
    assert len(links) == 2
    assert client.get("/operator/payments?status=RJCT").text.count("/operator/payments/") == 0
    # Same clock reading for both: tell them apart by the pacs.008's remittance text.
    by_iso, by_json = sorted(
        (client.get(link).text for link in links), key=lambda page: "apricot order 7" not in page
    )
    assert "No archived message names this payment" in by_json
    kinds = re.findall(r">(pac[a-z]\.\d{3}\.\d{3}\.\d{2})<", by_iso)
    assert sorted(kinds) == ["pacs.002.001.10", "pacs.008.001.08"]
    message = re.findall(r'href="(/operator/messages/[0-9a-f-]{36})"', by_iso)[0]
    shown = client.get(message).text
    assert "&lt;AppHdr" in shown  # the XML, escaped into the page
    xml = client.get(message + "/xml")
    assert xml.headers["content-type"] == "application/xml"
    assert xml.content.lstrip().startswith(b"<")
    archive = client.get("/operator/messages?type=pacs.008.001.08").text
    assert archive.count("pacs.008.001.08</a>") == 1
    assert client.get(f"/operator/messages/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/operator/payments/{uuid.uuid4()}").status_code == 404


def test_a_refund_shows_among_the_operators_returns(client: TestClient, world: World) -> None:
    pay_in(world, 7_000_00)
    own = sign_in(client, "skardu")
    received = next(
        m for m in world.container.wallet.history(world.business_id) if m.kind.value == "raast_in"
    )
    movement = client.get(f"/wallet/movements/{received.id}").text
    refunded = client.post(
        f"/wallet/movements/{received.id}/refund",
        data={"amount": "2,000", "request_key": KEY.findall(movement)[0], "csrf_token": own},
    )
    assert refunded.url.path.startswith("/wallet/movements/")
    client.cookies.clear()
    sign_in(client, "operator")
    returns = client.get("/operator/returns").text
    assert "Rs2,000.00" in returns
    assert "MD06" in returns


# ---------------------------------------------------------------------- the API beside it
def test_the_api_keeps_its_own_routes_and_errors(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    page = client.get("/nothing-here", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "<html" in page.text


def test_the_dashboard_runs_on_both_databases(container: Container, clock: ManualClock) -> None:
    world = make_world(container, clock)
    pay_in(world, 7_000_00, iso20022=True)
    shop = open_shop(world)
    with TestClient(create(container)) as client:
        sign_in(client, "operator")
        for path in (
            "/operator",
            "/operator/participants",
            "/operator/payments",
            "/operator/messages",
            "/operator/returns",
        ):
            assert client.get(path).status_code == 200, path
        link = re.findall(
            r'href="(/operator/payments/[0-9a-f-]{36})"', client.get("/operator").text
        )
        assert "pacs.008.001.08" in client.get(link[0]).text
        client.cookies.clear()
        sign_in(client, "skardu")
        for path in (
            "/home",
            "/wallet",
            "/qr",
            "/wallet/statement",
            "/orders",
            f"/orders/{shop.orders[0].id}",
            "/inventory",
            "/suppliers",
        ):
            assert client.get(path).status_code == 200, path
        asked = client.post(
            "/wallet/payment-requests",
            data={
                "debtor": SUPPLIER,
                "amount": "500",
                "days": "2",
                "request_key": _request_form(client.get("/wallet").text),
                "csrf_token": token(client.get("/wallet").text),
            },
        )
        assert _sent(asked.text)[0].startswith("0300 1112223 Rs500.00 Sent ")


def test_every_page_renders_in_urdu(client: TestClient, world: World) -> None:
    pay_in(world, 7_000_00, iso20022=True)
    shop = open_shop(world)
    purchase = world.container.supply.purchase_orders(world.business_id)[0]
    for username, paths in (
        (
            "skardu",
            (
                "/home",
                "/wallet",
                "/qr",
                "/orders",
                f"/orders/{shop.orders[0].id}",
                "/inventory",
                "/suppliers",
                f"/suppliers/purchase-orders/{purchase.id}",
            ),
        ),
        (
            "operator",
            (
                "/operator",
                "/operator/participants",
                "/operator/payments",
                "/operator/messages",
                "/operator/returns",
            ),
        ),
    ):
        client.cookies.clear()
        own = sign_in(client, username)
        client.post("/language", data={"language": "ur", "csrf_token": own})
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, path
            assert 'dir="rtl"' in page.text
        client.post("/language", data={"language": "en", "csrf_token": token(page.text)})


# ---------------------------------------------------------------------- trade and supply
@dataclass
class Shop:
    orders: list[Order]
    bill_id: uuid.UUID
    marketplace: MarketplaceSimulator


def open_shop(world: World) -> Shop:
    """Stock at a Skardu workshop, a wool supplier with a matched bill, and three marketplace
    orders (auto-confirmed, so their stock is reserved), the first one paid into escrow."""
    supply, trade, business = world.container.supply, world.container.trade, world.business_id
    supply.create_location(business, "SKD", "Skardu workshop")
    supplier = supply.create_supplier(
        business, "Karachi Wool House", raast_id=SUPPLIER, payment_terms_days=30
    )
    for item in SKARDU_CATALOG:
        supply.create_item(business, item.sku, item.description[:60], unit=item.unit)
        supply.adjust_stock(
            business,
            item.sku,
            "SKD",
            5_000,
            "opening count",
            request_id=uuid.uuid4(),
            unit_cost_minor=300_00,
        )
    supply.create_item(business, "BOX-GIFT", "Gift box", reorder_point=100, reorder_quantity=400)
    purchase = supply.create_purchase_order(
        business, supplier.id, "SKD", [OrderLineInput("BOX-GIFT", 60, 85_00)]
    )
    supply.send_purchase_order(business, purchase.id)
    supply.receive_goods(
        business, purchase.id, [ReceiptLineInput("BOX-GIFT", 60)], request_id=uuid.uuid4()
    )
    bill = supply.create_bill(
        business, purchase.id, "KWH-778", [BillLineInput("BOX-GIFT", 60, 85_00)]
    )
    marketplace = open_demo_business(trade, business, world.clock)
    for _ in range(3):
        marketplace.push_in_process(trade, marketplace.order_created(incoterm=Incoterm.DAP))
    trade.process_inbox()
    orders = sorted(trade.orders(business), key=lambda order: order.marketplace_order_id)
    marketplace.push_in_process(trade, marketplace.order_paid(orders[0].marketplace_order_id))
    trade.process_inbox()
    return Shop(orders, bill.id, marketplace)


def test_orders_show_their_timeline_and_take_their_next_steps(
    client: TestClient, world: World
) -> None:
    shop = open_shop(world)
    paid = shop.orders[0]
    own = sign_in(client, "skardu")
    listed = client.get("/orders").text
    assert listed.count('href="/orders/') == 3
    assert client.get("/orders?status=paid").text.count('href="/orders/') == 1
    page = client.get(f"/orders/{paid.id}").text
    timeline = re.search(r'<ol class="timeline".*?</ol>', page, re.DOTALL).group(0)
    for status in ("received", "confirmed", "awaiting payment", "paid"):
        assert f"<strong>{status}</strong>" in timeline
    assert "Mark packed" in page
    client.post(f"/orders/{paid.id}/steps/pack", data={"csrf_token": own})
    client.post(
        f"/orders/{paid.id}/steps/export_details",
        data={
            "financial_instrument_reference": "MCB-EXP-77",
            "instrument": "advance_payment",
            "realisation_case": "general",
            "csrf_token": own,
        },
    )
    shipped = client.post(
        f"/orders/{paid.id}/steps/ship",
        data={
            "carrier": "dhl",
            "tracking_number": "JD0001",
            "mode": "courier",
            "transport_document_number": "AWB0001",
            "port_of_loading": "Islamabad (ISB)",
            "port_of_discharge": "Hamburg (HAM)",
            "csrf_token": own,
        },
    )
    assert "Done." in shipped.text
    assert world.container.trade.order(world.business_id, paid.id).status.value == "shipped"
    assert "<strong>shipped</strong>" in shipped.text
    assert "MCB-EXP-77" in shipped.text
    refused = client.post(f"/orders/{shop.orders[1].id}/steps/deliver", data={"csrf_token": own})
    assert 'class="flash error"' in refused.text  # awaiting payment cannot be delivered
    invoice = client.get(f"/orders/{paid.id}/invoice.pdf")
    assert invoice.content.startswith(b"%PDF")
    client.cookies.clear()
    sign_in(client, "hunza")
    assert client.get(f"/orders/{paid.id}").status_code == 404
    assert client.get("/orders").text.count('href="/orders/') == 0


def test_inventory_shows_each_location_and_what_runs_low(client: TestClient, world: World) -> None:
    shop = open_shop(world)
    sign_in(client, "skardu")
    page = client.get("/inventory").text
    section = re.search(r'<section id="location-SKD">.*?</section>', page, re.DOTALL).group(0)
    assert section.count('<li class="stock">') == len(SKARDU_CATALOG) + 1
    reserved = sum(line.quantity for order in shop.orders for line in order.lines)
    assert reserved > 0
    low = re.search(r'<section class="card" id="low-stock">.*?</section>', page, re.DOTALL)
    assert "BOX-GIFT" in low.group(0)


def test_bills_are_matched_and_paid_from_the_wallet(client: TestClient, world: World) -> None:
    shop = open_shop(world)
    own = sign_in(client, "skardu")
    home = client.get("/home").text
    escrow = re.search(r'id="figure-escrow".*?</li>', home, re.DOTALL).group(0)
    assert (
        format_money(
            Money(shop.orders[0].goods_minor + shop.orders[0].shipping_minor, "USD"), "en_PK"
        )
        in escrow
    )
    assert re.search(r'id="figure-low-stock".*?class="value num">1<', home, re.DOTALL)
    assert re.search(r'id="figure-to-ship".*?class="value num">1<', home, re.DOTALL)
    assert "Rs5,100.00" in re.search(r'id="figure-bills".*?</li>', home, re.DOTALL).group(0)
    page = client.get("/suppliers").text
    assert "Karachi Wool House" in page
    assert "KWH-778" in page
    checked = client.post(f"/suppliers/bills/{shop.bill_id}/match", data={"csrf_token": own})
    assert "The bill matches the order." in checked.text
    # The API beside the dashboard has a route named "suppliers" too: ours must win.
    assert checked.url.path == "/suppliers"
    request_id = re.search(r'name="request_id" value="([^"]+)"', checked.text).group(1)
    before = world.container.wallet.balance(world.business_id)
    for _ in range(2):  # ticked and sent twice: paid once
        paid = client.post(
            "/suppliers/bills/pay",
            data={"bill": str(shop.bill_id), "request_id": request_id, "csrf_token": own},
        )
    assert "Bills paid: 1; waiting: 0; refused: 0." in paid.text
    assert before - world.container.wallet.balance(world.business_id) == Money(5_100_00, "PKR")
    assert world.container.supply.bill(world.business_id, shop.bill_id).status.value == "paid"
    nothing = client.post(
        "/suppliers/bills/pay", data={"request_id": request_id, "csrf_token": own}
    )
    assert "Tick the bills to pay first." in nothing.text


def test_an_endless_upload_is_cut_off(client: TestClient, world: World) -> None:
    """No Content-Length (chunked): the body is counted as it arrives and refused at the limit."""
    sign_in(client, "skardu")
    limit = world.container.settings.request_body_max_bytes
    chunk = b"x" * 65_536

    def endless() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    answer = client.post(
        "/wallet/payouts",
        content=endless(),
        headers={"content-type": "multipart/form-data; boundary=b", "accept": "text/html"},
    )
    assert answer.status_code == 413
    assert world.container.wallet.payouts(world.business_id) == []
