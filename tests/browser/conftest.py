"""A served dashboard for the browser: uvicorn in a thread on a free port, over SQLite in a
temporary directory, seeded with a Skardu business, its suppliers and a second bank; and
Debian's Chromium driven by Playwright (its own browser download does not work offline).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tijarat.asgi import create
from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.settings import Settings
from tijarat.supply.model import BillLineInput, OrderLineInput, ReceiptLineInput
from tijarat.switch.model import CreditTransfer, ParticipantCategory, PayeeDecision
from tijarat.trade.model import Incoterm
from tijarat.trade.simulator import SKARDU_CATALOG, MarketplaceSimulator, open_demo_business
from tijarat.web.users import create_user

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
REFRESH_SCREENSHOTS = os.environ.get("TIJARAT_REFRESH_SCREENSHOTS") == "1"
BUSINESS_PASSWORD = "apricots-from-skardu"
OPERATOR_PASSWORD = "hub-operator-password"
BANK = "MEZNPKKA"
SUPPLIER_NUMBER = "0300 1112223"
BUYER_NUMBER = "0345 7654321"
SEED_DAYS = 21


@dataclass
class Served:
    url: str
    container: Container
    business_id: uuid.UUID
    business_login: tuple[str, str] = ("skardu", BUSINESS_PASSWORD)
    operator_login: tuple[str, str] = ("operator", OPERATOR_PASSWORD)
    supplier_number: str = SUPPLIER_NUMBER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _buyer_pays(container: Container, business_mobile: str, amount_minor: int, note: str) -> None:
    """A buyer at another bank pays the business's Raast ID over the hub."""
    container.payments.submit(
        BANK,
        CreditTransfer(
            msg_id="M" + uuid.uuid4().hex[:20],
            end_to_end_id="E" + uuid.uuid4().hex[:20],
            tx_id="T" + uuid.uuid4().hex[:20],
            uetr=uuid.uuid4(),
            amount_minor=amount_minor,
            currency="PKR",
            debtor_name="Gilgit Dry Fruits",
            debtor_iban=make_pk_iban("MEZN", "5005").compact,
            creditor_alias=business_mobile,
            remittance_information=note,
        ),
    )


def _stock_and_suppliers(
    container: Container, business_id: uuid.UUID, clock: ManualClock
) -> MarketplaceSimulator:
    """A workshop and a warehouse with stock, a supplier with a matched bill, a catalog."""
    supply = container.supply
    supply.create_location(business_id, "SKD", "Skardu workshop")
    supply.create_location(business_id, "ISB", "Islamabad warehouse")
    supplier = supply.create_supplier(
        business_id, "Karachi Wool House", raast_id=SUPPLIER_NUMBER, payment_terms_days=30
    )
    for index, item in enumerate(SKARDU_CATALOG):
        supply.create_item(business_id, item.sku, item.description[:60], unit=item.unit)
        supply.adjust_stock(
            business_id,
            item.sku,
            "SKD" if index % 2 == 0 else "ISB",
            4_000,
            "opening count",
            request_id=uuid.uuid4(),
            unit_cost_minor=250_00,
        )
    supply.create_item(business_id, "BOX-GIFT", "Gift box", reorder_point=100, reorder_quantity=400)
    purchase = supply.create_purchase_order(
        business_id, supplier.id, "SKD", [OrderLineInput("BOX-GIFT", 60, 85_00)]
    )
    supply.send_purchase_order(business_id, purchase.id)
    supply.receive_goods(
        business_id, purchase.id, [ReceiptLineInput("BOX-GIFT", 60)], request_id=uuid.uuid4()
    )
    bill = supply.create_bill(
        business_id, purchase.id, "KWH-778", [BillLineInput("BOX-GIFT", 60, 85_00)]
    )
    supply.match_bill(business_id, bill.id)
    return open_demo_business(container.trade, business_id, clock)


def _marketplace_order(
    container: Container, business_id: uuid.UUID, marketplace: MarketplaceSimulator, *, paid: bool
) -> None:
    """A buyer abroad orders on the marketplace (and pays, into escrow)."""
    trade = container.trade
    message = marketplace.order_created(incoterm=Incoterm.DAP)
    marketplace.push_in_process(trade, message)
    if paid:
        marketplace.push_in_process(trade, marketplace.order_paid(message.data["order_id"]))
    trade.process_inbox()


def seed(container: Container, clock: ManualClock) -> uuid.UUID:
    """Three weeks of a Skardu business: marketplace orders, buyers paying in at home,
    suppliers paid out, stock at two places, a bill to pay."""
    switch, wallet = container.switch, container.wallet
    wallet.ensure_ready()
    wallet.fund_settlement(5_000_000_00, uuid.uuid4())
    switch.register_participant(
        BANK, "Meezan Bank", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    switch.fund(BANK, Money(10_000_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        BANK,
        SUPPLIER_NUMBER,
        make_pk_iban("MEZN", "2002").compact,
        "42101-1111111-1",
        "Karachi Wool House",
    )
    container.payments.connect(BANK, lambda _payment: PayeeDecision(accept=True))
    business = wallet.onboard_business(
        name="Skardu Apricot Traders",
        ntn="1234567-8",
        mobile="0355 1234567",
        address="Satpara Road, Skardu",
        owners=["Ali Raza"],
        owner_cnic="71101-1234567-1",
    )
    wallet.onboard_individual(name="Karim Khan", cnic="42101-7654321-3", mobile=BUYER_NUMBER)
    wallet.deposit(business.id, 150_000_00, "seed-opening-cash")
    marketplace = _stock_and_suppliers(container, business.id, clock)
    for day in range(SEED_DAYS):
        clock.advance(timedelta(days=1))
        if day % 4 == 0:
            _marketplace_order(container, business.id, marketplace, paid=day % 8 == 0)
        if day % 3 != 1:
            _buyer_pays(container, business.mobile, (18_000 + 2_500 * (day % 5)) * 100, f"PO {day}")
        if day % 4 == 2:
            wallet.pay(
                business.id,
                to=SUPPLIER_NUMBER,
                amount_minor=(9_000 + 1_000 * (day % 3)) * 100,
                request_key=f"seed-supplier-{day}",
                note="wool",
            )
    create_user(container.engine, "skardu", BUSINESS_PASSWORD, "business", business.id)
    create_user(container.engine, "operator", OPERATOR_PASSWORD, "operator")
    return business.id


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    directory = tmp_path_factory.mktemp("served")
    clock = ManualClock(datetime.now(UTC) - timedelta(days=SEED_DAYS, hours=1))
    container = build(
        Settings(database_url=f"sqlite:///{directory}/tijarat.db", environment="test"),
        clock=clock,
    )
    business_id = seed(container, clock)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", container, business_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Any, str], None]:
    """Save a full-page screenshot: into docs/screenshots/ only when refreshing them."""

    def save(page: Any, name: str) -> None:
        target = SCREENSHOTS if REFRESH_SCREENSHOTS else tmp_path
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True)

    return save


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()
