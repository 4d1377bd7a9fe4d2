"""The dashboard in Chromium over the seeded Skardu story: sign in, home figures, pay,
request money, bulk payout, Urdu, every page on a phone, the operator.

Screenshots of the key pages go to docs/screenshots/ when TIJARAT_REFRESH_SCREENSHOTS=1 (so
an ordinary run never dirties the tree); otherwise to the test's temporary directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tijarat.kernel.identifiers import MobileNumber, mask_name
from tijarat.kernel.money import Money, format_money

Served = Any  # the `served` fixture (tests/browser/conftest.py)
Shoot = Any
REFRESH_SCREENSHOTS = os.environ.get("TIJARAT_REFRESH_SCREENSHOTS") == "1"

PHONE = {"width": 390, "height": 844}  # a common phone; the layout is designed for it first
DESKTOP = {"width": 1100, "height": 800}
BUSINESS_PAGES = ("/home", "/orders", "/inventory", "/suppliers", "/wallet", "/qr")
OPERATOR_PAGES = (
    "/operator",
    "/operator/participants",
    "/operator/payments",
    "/operator/messages",
    "/operator/returns",
)
DETAIL_LINKS = (  # one page of each kind reached from the lists
    "#orders li a",
    "#purchase-orders li a",
    "#history li a",
    "#payout-list li a",
    "main table a.mono",
)
# What pokes out sideways: the page itself, or a box that scrolls sideways inside it.
SIDEWAYS = """() => {
  const out = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) out.push("page " + page.scrollWidth);
  for (const box of document.querySelectorAll(".scroll, pre:not(.xml)")) {
    if (box.scrollWidth > box.clientWidth + 1) out.push(box.className + " " + box.scrollWidth);
  }
  return out;
}"""


def _console_errors(page: Any) -> list[str]:
    """What the browser complains about (a blocked script or style breaks the CSP, say)."""
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _sign_in(browser: Any, login: tuple[str, str], url: str, viewport: Any = None) -> Any:
    username, password = login
    page = browser.new_page(viewport=viewport or PHONE)
    page.goto(url + "/")
    assert page.url.endswith("/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def test_sign_in_shows_the_home_figures(browser: Any, served: Served, shoot: Shoot) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    errors = _console_errors(page)
    assert page.url.endswith("/home")
    cash = served.container.wallet.balance(served.business_id)
    assert page.inner_text("#figure-cash .value") == format_money(cash, "en_PK")
    assert page.locator("svg.chart rect.sales").count() == 2  # the two marketplace orders
    assert page.get_attribute("html", "dir") == "ltr"
    shoot(page, "home")
    for path in ("/wallet", "/qr", "/orders", "/inventory", "/suppliers"):
        page.goto(served.url + path)
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px", path  # styled
    assert errors == []  # no script, style or policy error on any of them
    page.close()


def test_send_a_payment_over_raast(browser: Any, served: Served, shoot: Shoot) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    before = served.container.wallet.balance(served.business_id)
    page.click("nav.main >> text=Wallet")
    shoot(page, "wallet")
    page.fill("#send input[name=to]", served.supplier_number)
    page.fill("#send input[name=amount]", "2,500.75")
    page.fill("#send input[name=note]", "shawls")
    page.click("#send button[type=submit]")
    assert mask_name(served.supplier_name) in page.inner_text("main")  # the masked title first
    page.click("#confirm button[type=submit]")
    assert re.search(r"/wallet/movements/[0-9a-f-]{36}$", page.url)
    assert page.inner_text("#movement .badge") == "completed"
    after = served.container.wallet.balance(served.business_id)
    assert before - after == Money(2_500_75, "PKR")
    page.close()


def test_request_money_and_see_it_listed(browser: Any, served: Served, shoot: Shoot) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    page.goto(served.url + "/wallet")
    form = page.locator("#request-money")
    form.locator("input[name=debtor]").fill(served.supplier_number)
    form.locator("input[name=amount]").fill("12,500")
    form.locator("input[name=reference]").fill("Deposit for 2027 harvest boxes")
    form.locator("input[name=days]").fill("5")
    form.locator("button[type=submit]").click()
    assert page.url.endswith("/wallet#requests-sent")
    assert "Request sent: Rs12,500.00" in page.inner_text("main .flash.ok")
    sent = page.locator("#requests-sent li")
    assert sent.count() == 1
    assert MobileNumber.parse(served.supplier_number).national in sent.nth(0).inner_text()
    assert sent.nth(0).locator(".badge").inner_text() == "open"
    shoot(page, "wallet-requests", "#request-money, #requests-sent")
    page.close()


def test_upload_a_bulk_payout(browser: Any, served: Served, tmp_path: Path) -> None:
    payroll = tmp_path / "payroll.csv"
    payroll.write_text(
        "name,raast_id,iban,amount,reference\n"
        f"{served.supplier_name},{served.supplier_number},,1200.00,INV-7\n"
        "Nobody,0333 0000001,,50.00,INV-8\n",
        encoding="utf-8",
    )
    page = _sign_in(browser, served.business_login, served.url)
    page.goto(served.url + "/wallet")
    page.set_input_files("input[type=file][name=file]", str(payroll))
    page.click("#payouts button[type=submit]")
    assert "/wallet/payouts/" in page.url
    rows = page.locator("#payout-rows tbody tr")
    assert rows.count() == 2
    assert "settled" in rows.nth(0).inner_text()
    assert "rejected" in rows.nth(1).inner_text()
    assert page.inner_text("#payout-settled .value") == "1"
    page.close()


def test_switch_to_urdu_lays_the_page_out_right_to_left(
    browser: Any, served: Served, shoot: Shoot
) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    page.click("header button[name=language]")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ur"
    assert page.inner_text("nav.main a[aria-current=page]") == "ہوم"
    direction = page.evaluate("getComputedStyle(document.querySelector('main')).direction")
    assert direction == "rtl"
    shoot(page, "home-urdu")
    # The choice is the user's: it is still Urdu after signing in again elsewhere.
    again = _sign_in(browser, served.business_login, served.url)
    assert again.get_attribute("html", "dir") == "rtl"
    again.click("header button[name=language]")  # back to English for the other tests
    assert again.get_attribute("html", "dir") == "ltr"
    again.close()
    page.close()


def test_orders_and_their_timeline(browser: Any, served: Served, shoot: Shoot) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    page.click("nav.main >> text=Orders")
    orders = page.locator("#orders li")
    assert orders.count() == len(served.container.trade.orders(served.business_id))
    shoot(page, "orders")
    orders.nth(0).locator("a").click()
    assert page.locator("#timeline li").count() >= 2  # received, confirmed, ...
    page.close()


def _pages_with_details(page: Any, url: str, paths: tuple[str, ...]) -> list[str]:
    found = list(paths)
    for path in paths:
        page.goto(url + path)
        for selector in DETAIL_LINKS:
            link = page.locator(selector)
            if link.count():
                found.append(link.nth(0).get_attribute("href"))
    return list(dict.fromkeys(found))


@pytest.mark.parametrize("role", ["business", "operator"])
def test_every_page_fits_a_phone_in_both_languages(browser: Any, served: Served, role: str) -> None:
    login = served.business_login if role == "business" else served.operator_login
    page = _sign_in(browser, login, served.url)
    errors = _console_errors(page)
    paths = _pages_with_details(
        page, served.url, BUSINESS_PAGES if role == "business" else OPERATOR_PAGES
    )
    assert len(paths) > (7 if role == "business" else 5)  # detail pages were found
    for language in ("en", "ur"):
        if page.get_attribute("html", "lang") != language:
            page.click("header button[name=language]")
        for path in paths:
            response = page.goto(served.url + path)
            assert response.status == 200, (language, path)
            assert page.evaluate(SIDEWAYS) == [], (language, path)
    page.click("header button[name=language]")  # back to English for the other tests
    assert page.get_attribute("html", "lang") == "en"
    assert errors == []
    page.close()


def test_the_operator_sees_payments_and_their_messages(
    browser: Any, served: Served, shoot: Shoot
) -> None:
    page = _sign_in(browser, served.operator_login, served.url, DESKTOP)
    assert page.url.endswith("/operator")
    page.click("nav.main >> text=Payments")
    assert page.locator("main table tbody tr").count() > 0
    shoot(page, "operator-payments")
    page.click("main table tbody tr >> nth=0 >> a.mono")
    assert "UETR" in page.inner_text("main")
    page.close()


@pytest.mark.skipif(not REFRESH_SCREENSHOTS, reason="only when refreshing screenshots")
def test_screenshot_the_payment_qr(browser: Any, served: Served, shoot: Shoot) -> None:
    page = _sign_in(browser, served.business_login, served.url)
    page.goto(served.url + "/qr")
    shoot(page, "payment-qr")
    page.close()
