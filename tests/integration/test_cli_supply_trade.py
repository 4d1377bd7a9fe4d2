"""`tijarat supply ...` and `tijarat trade ...` as a person at the Skardu business types them.

One SQLite file per module, seeded by `tijarat demo` (the hub, the Karachi banks, the business,
its suppliers, catalog and marketplace connector). Most commands run in process through Typer's
CliRunner (fast); the refusals run as real processes, to see the exit code and the one-line
"code: message" a person sees, and one test pushes over HTTP to a running `tijarat serve`.
Every story is checked against the services themselves (wallet, hub, ledger, stock audit).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing
from click.testing import Result
from pypdf import PdfReader
from typer.testing import CliRunner

from tijarat.bootstrap import Container, build
from tijarat.cli.main import app
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.settings import Settings

TIJARAT = [sys.executable, "-m", "tijarat.cli"]
SERVER_START_S = 60  # bounded waits: a loaded machine starts the server slowly
ORDERS_APPEAR_S = 20


@dataclass(frozen=True)
class Demo:
    url: str
    business_id: str
    mobile: str  # as a person types it: 0355 1234567
    folder: Path

    @property
    def by_id(self) -> str:
        return f"--business {self.business_id}"

    @property
    def by_mobile(self) -> str:
        return f"-b {shlex.quote(self.mobile)}"


def _environment(url: str) -> dict[str, str | None]:
    # Development defaults (the demo's Karachi banks answer), whatever the caller's shell says.
    return {
        "TIJARAT_DATABASE_URL": url,
        "TIJARAT_ENVIRONMENT": None,
        "TIJARAT_SIMULATED_PARTICIPANTS": None,
        "TIJARAT_BUSINESS": None,
        "TIJARAT_MARKETPLACE_SECRET": None,
        "COLUMNS": "200",
    }


def _invoke(url: str, command: str) -> Result:
    # Logs are the process's stderr in `main()`; in process they would mix into stdout.
    with structlog.testing.capture_logs():
        return CliRunner().invoke(app, shlex.split(command), env=_environment(url))


def _cli(demo: Demo, command: str, *, code: int = 0) -> str:
    """Run one command line (after `tijarat`) in process; check its exit code; its output."""
    result = _invoke(demo.url, command)
    assert result.exit_code == code, (command, result.output, result.exception)
    return result.stdout


def _json(demo: Demo, command: str, *, code: int = 0) -> Any:
    return json.loads(_cli(demo, f"{command} --json", code=code))


def _process(demo: Demo, command: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TIJARAT_")
    }
    environment.update({"TIJARAT_DATABASE_URL": demo.url, "COLUMNS": "200"})
    return subprocess.run(
        [*TIJARAT, *shlex.split(command)],
        cwd=demo.folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _services(demo: Demo) -> Container:
    return build(Settings(database_url=demo.url, environment="test"))


def _play_demo(url: str, folder: Path) -> Demo:
    played = _invoke(url, "demo --json")
    assert played.exit_code == 0, played.output
    business_id = json.loads(played.stdout)["business_id"]
    container = build(Settings(database_url=url, environment="test"))
    try:
        mobile = container.wallet.customer(uuid.UUID(business_id)).mobile
    finally:
        container.close()
    local = "0" + mobile.removeprefix("+92")
    return Demo(url, business_id, f"{local[:4]} {local[4:]}", folder)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("cli")
    return _play_demo(f"sqlite:///{folder}/tijarat.db", folder)


# ---------------------------------------------------------------------------- supply
def test_purchase_to_two_karachi_suppliers_received_in_part_matched_and_paid_over_the_hub(
    demo: Demo,
) -> None:
    _purchase_story(demo)


@pytest.mark.postgres
def test_the_purchase_story_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    # The same commands on PostgreSQL: bills paid over the hub (the trade services have their
    # own PostgreSQL tests; the CLI adds nothing database-specific to them).
    _purchase_story(_play_demo(pg_url, tmp_path))


def _purchase_story(demo: Demo) -> None:
    b = demo.by_id
    iban = make_pk_iban("HABB", f"{uuid.uuid4().int % 10**10:010d}").compact
    _cli(demo, f'supply suppliers add "Karachi Dyes and Threads" {b} --iban {iban} --terms 10')
    suppliers = {s["name"]: s for s in _json(demo, f"supply suppliers list {b}")}
    assert suppliers["Karachi Pashmina House"]["raast_id"]  # the demo's, at Meezan
    assert suppliers["Karachi Dyes and Threads"]["iban"] == iban
    _cli(demo, f'supply items add THREAD-SILK "Silk thread, 100 g cone" {b} --unit cone')

    # Two purchase orders, typed as people type: supplier names in any case, amounts with commas.
    _cli(
        demo,
        f'supply po create {b} --supplier "karachi pashmina house" --location KHI-WH '
        "--line SHAWL-PASH:30:9,500",
    )
    _cli(
        demo,
        f'supply po create {b} --supplier "Karachi Dyes and Threads" --location skd-ws '
        "--line THREAD-SILK:100:45.50",
    )
    drafts = {o["supplier_id"]: o for o in _json(demo, f"supply po list {b} --status draft")}
    shawls = drafts[suppliers["Karachi Pashmina House"]["id"]]["number"]
    thread = drafts[suppliers["Karachi Dyes and Threads"]["id"]]["number"]
    assert drafts[suppliers["Karachi Dyes and Threads"]["id"]]["total_minor"] == 4_550_00
    for number in (shawls, thread):
        assert "is now sent" in _cli(demo, f"supply po send {number.lower()} {b}")

    # 20 of 30 shawls arrive with their freight; the thread arrives in full.
    _cli(
        demo,
        f"supply receive {shawls} {b} --line SHAWL-PASH:20 "
        '--landed "Freight Karachi-Skardu: 2,500" --note "first 20 of 30"',
    )
    _cli(demo, f"supply receive {thread} {b} --line THREAD-SILK:100")
    shown = _json(demo, f"supply po show {shawls} {b}")
    assert shown["status"] == "partially_received"
    assert shown["lines"][0]["quantity_received"] == 20
    assert shown["receipts"][0]["lines"][0]["landed_cost_minor"] == 2_500_00

    _cli(demo, f"supply bill create {shawls} {b} --invoice KPH-2026-201 --line SHAWL-PASH:20:9500")
    _cli(demo, f"supply bill create {thread} {b} --invoice KDT-55 --line THREAD-SILK:100:45.50")
    bills = sorted(bill["number"] for bill in _json(demo, f"supply bill list {b} --status open"))
    assert len(bills) == 2
    for number in bills:
        assert _json(demo, f"supply bill match {number} {b}")["matched"] is True

    services = _services(demo)
    try:
        business = uuid.UUID(demo.business_id)
        wallet_before = services.wallet.balance(business).amount_minor
        meezan_before = services.switch.liquidity("MEZNPKKA").amount_minor
        habib_before = services.switch.liquidity("HABBPKKA").amount_minor
        paid = _json(demo, f"supply pay {' '.join(bills)} {b}")
        assert [p["status"] for p in paid["payments"]] == ["settled", "settled"]
        assert all(p["end_to_end_id"] and p["uetr"] for p in paid["payments"])
        # The money left the wallet and reached both Karachi banks over the hub.
        assert services.wallet.balance(business).amount_minor == wallet_before - 194_550_00
        assert paid["wallet_balance_minor"] == wallet_before - 194_550_00
        assert services.switch.liquidity("MEZNPKKA").amount_minor == meezan_before + 190_000_00
        assert services.switch.liquidity("HABBPKKA").amount_minor == habib_before + 4_550_00
        assert services.ledger.verify().ok
    finally:
        services.close()
    assert {bill["status"] for bill in _json(demo, f"supply bill list {b} --po {thread}")} == {
        "paid"
    }
    assert _json(demo, f"supply po show {thread} {b}")["status"] == "paid"

    # A bill for shawls that never came does not match, and cannot be paid.
    _cli(demo, f"supply bill create {shawls} {b} --invoice KPH-2026-202 --line SHAWL-PASH:10:9500")
    (extra,) = _json(demo, f"supply bill list {b} --status open")
    refused = _json(demo, f"supply bill match {extra['number']} {b}", code=1)
    assert [d["code"] for d in refused["discrepancies"]] == ["quantity_not_received"]
    not_paid = _process(demo, f"supply pay {extra['number']} {demo.by_mobile}")
    assert not_paid.returncode == 1
    assert not_paid.stderr.startswith("supply_bill_not_matched:"), not_paid.stderr
    assert "Traceback" not in not_paid.stderr

    (khi,) = _json(demo, f"supply stock levels {b} --sku SHAWL-PASH --location KHI-WH")
    assert khi["quantity_on_hand"] == 20  # the demo's 40 shipped; these 20 arrived
    assert khi["quantity_incoming"] == 20  # 10 still due on the demo's order, 10 on ours


def test_transfers_adjustments_counts_valuation_and_reorders(demo: Demo) -> None:
    b = demo.by_mobile  # the business by its mobile number, as a person types it
    levels = "supply stock levels " + b
    before = {(s["location"], s["sku"]): s["quantity_on_hand"] for s in _json(demo, levels)}
    _cli(demo, f"supply transfer send APR-DRY-1KG 100 SKD-WS KHI-WH {b}")
    (moving,) = _json(demo, f"supply transfer list {b} --status in_transit")
    arrived = _cli(
        demo,
        f'supply transfer receive {moving["number"]} {b} --quantity 98 --reason "2 pouches torn" '
        '--landed "Truck Skardu-Karachi:5000"',
    )
    assert "98 of 100" in arrived
    moves = _json(demo, f"supply stock moves APR-DRY-1KG {b} --limit 4")
    assert {m["reason"] for m in moves} >= {
        "lost in transit: 2 pouches torn",
        "landed cost: Truck Skardu-Karachi",
    }

    _cli(demo, f'supply adjust APR-DRY-1KG KHI-WH {b} --change -3 --reason "moth damage"')
    _cli(demo, f'supply count SKD-WS {b} --line APR-DRY-1KG:890 --reason "monthly count"')
    after = {(s["location"], s["sku"]): s["quantity_on_hand"] for s in _json(demo, levels)}
    assert after["KHI-WH", "APR-DRY-1KG"] == before["KHI-WH", "APR-DRY-1KG"] + 98 - 3
    assert after["SKD-WS", "APR-DRY-1KG"] == 890

    valuation = _json(demo, f"supply stock valuation {b}")
    assert valuation["total_value_minor"] == sum(
        location["value_minor"] for location in valuation["locations"]
    )
    assert valuation["total_value_minor"] > 0

    # Gift boxes are below their reorder point: a reorder is drafted to the preferred supplier.
    _cli(
        demo,
        f"supply items reorder BOX-GIFT {b} --point 250 --quantity 500 "
        '--supplier "Sindh Packaging Co"',
    )
    reorder = _json(demo, f"supply reorder {b} --draft")
    assert [item["sku"] for item in reorder["low_stock"]] == ["BOX-GIFT"]
    (drafted,) = reorder["drafted"]
    assert drafted["status"] == "draft"
    assert [(line["sku"], line["quantity_ordered"]) for line in drafted["lines"]] == [
        ("BOX-GIFT", 500)
    ]
    assert _json(demo, f"supply reorder {b} --draft")["drafted"] == []  # not twice

    services = _services(demo)
    try:
        assert services.supply.audit_stock(uuid.UUID(demo.business_id)) == []
    finally:
        services.close()


# ---------------------------------------------------------------------------- trade
def test_a_marketplace_order_from_push_to_proceeds(demo: Demo, tmp_path: Path) -> None:
    b = demo.by_id
    assert "CARPET-WOOL-4X6" in {p["sku"] for p in _json(demo, f"trade catalog list {b}")}

    # A buyer orders carpets the business has not made yet: the order waits, received.
    pushed = _json(demo, f"trade simulate orders {b} --line CARPET-WOOL-4X6:5 --incoterm DAP")
    assert [(m["result"], m["outcome"]) for m in pushed["messages"]] == [("accepted", "applied")]
    (order,) = pushed["orders"]
    number = order["marketplace_order_id"]
    assert order["status"] == "received"
    assert "CARPET-WOOL-4X6" in order["note"]
    assert order["total_minor"] == 5 * 210_00 + order["shipping_minor"]

    # The workshop weaves eight; the seller confirms and asks for payment.
    _cli(demo, f'supply items add CARPET-WOOL-4X6 "Balti wool carpet, 4 x 6 ft" {b}')
    _cli(
        demo,
        f"supply adjust CARPET-WOOL-4X6 SKD-WS {b} --change 8 "
        '--reason "woven at the workshop" --unit-cost 30,000',
    )
    assert "is now confirmed" in _cli(demo, f"trade confirm {number} {b}")
    assert "is now awaiting_payment" in _cli(demo, f"trade pay-request {number} {b}")

    # The buyer pays through the marketplace (the simulator signs the push): escrow.
    paid = _json(demo, f"trade simulate pay {number} {b}")
    assert paid["orders"][0]["status"] == "paid"
    assert paid["orders"][0]["escrow_held_at"] is not None

    _cli(
        demo,
        f"trade export {number} {b} --instrument advance_payment --reference HBL-EXP-2026-000042",
    )
    _cli(demo, f'trade pack {number} {b} --actor "store keeper"')
    tracking = f"JD{uuid.uuid4().int % 10**10:010d}"
    shipped = _cli(
        demo,
        f"trade ship {number} {b} --carrier dhl --tracking {tracking} --mode courier "
        '--document 1234567890 --loading "Islamabad (ISB)" --discharge "Hamburg (HAM)"',
    )
    assert "proceeds due by" in shipped
    events = tmp_path / "dhl.csv"
    events.write_text(
        "carrier,tracking_number,status,occurred_at,location\n"
        f"dhl,{tracking},transit,2026-03-05T10:00:00+05:00,Dubai hub\n"
        f"dhl,{tracking},teleported,2026-03-06T10:00:00+05:00,Hamburg\n",
        encoding="utf-8",
    )
    imported = _json(demo, f"trade tracking import {shlex.quote(str(events))} {b}", code=1)
    assert imported["accepted"] == 1
    assert "teleported" in imported["errors"][0]

    _cli(demo, f"trade deliver {number} {b}")
    released = _cli(demo, f"trade confirm-receipt {number} {b}")
    assert "is now completed" in released
    assert "realised" in released

    shown = _json(demo, f"trade orders show {number} {b}")
    assert [event["to_status"] for event in shown["history"]] == [
        "received",
        "confirmed",
        "awaiting_payment",
        "paid",
        "packed",
        "shipped",
        "delivered",
        "completed",
    ]
    assert shown["history"][4]["actor"] == "store keeper"
    assert [e["status"] for e in shown["shipment"]["events"]] == ["InTransit"]
    export = shown["export"]
    assert export["status"] == "realised"
    assert export["realised_minor"] == order["total_minor"]
    assert 0 < export["net_minor"] < export["converted_minor"]
    assert _json(demo, f"trade proceeds show {number} {b}")["status"] == "realised"
    outstanding = _json(demo, f"trade proceeds report {b} --all")
    assert number not in {row["marketplace_order_id"] for row in outstanding}

    invoice = tmp_path / "papers" / "invoice.pdf"
    _cli(demo, f"trade invoice {number} {b} --output {shlex.quote(str(invoice))}")
    text = "".join(page.extract_text() for page in PdfReader(invoice).pages)
    assert number in text
    assert shown["invoice_number"] in text
    packing = tmp_path / "packing.pdf"
    _cli(demo, f"trade packing-list {number} {b} -o {shlex.quote(str(packing))}")
    assert packing.read_bytes().startswith(b"%PDF")

    carpets = _json(demo, f"supply stock levels {b} --sku CARPET-WOOL-4X6")
    assert [(level["location"], level["quantity_on_hand"]) for level in carpets] == [("SKD-WS", 3)]
    services = _services(demo)
    try:
        assert services.ledger.verify().ok
    finally:
        services.close()


def test_a_new_connector_prints_its_secret_once_and_pushes_signed_with_it(demo: Demo) -> None:
    b = demo.by_id
    app_key = f"skardu-{uuid.uuid4().hex[:8]}"
    output = _cli(demo, f"trade connector register daraz {b} --app-key {app_key}")
    secret = output.strip().splitlines()[-1]
    assert len(secret) == 64
    assert secret not in json.dumps(_json(demo, f"trade connector list {b}"))  # never again
    pushed = _json(
        demo,
        f"trade simulate orders {b} --connector daraz --secret {secret} --count 2 "
        "--line APR-DRY-1KG:100 --incoterm FCA",
    )
    assert [m["result"] for m in pushed["messages"]] == ["accepted", "accepted"]
    assert {o["status"] for o in pushed["orders"]} == {"awaiting_payment"}
    first = pushed["orders"][0]["id"]
    cancelled = _json(demo, f"trade simulate cancel {first} {b} --connector daraz")
    assert cancelled["orders"][0]["status"] == "cancelled"
    assert cancelled["messages"][0]["outcome"] == "applied"
    # The buyer's payment for the cancelled order arrives: the order refuses it, and says why.
    late = _json(demo, f"trade simulate pay {first} {b} --connector daraz", code=1)
    assert late["messages"][0]["outcome"] == "rejected"
    assert late["messages"][0]["error"].startswith("trade_illegal_transition")
    assert late["orders"][0]["status"] == "cancelled"
    inbox = _json(demo, f"trade inbox list {b} --limit 3")
    assert [entry["message_type"] for entry in inbox[:2]] == ["order_paid", "order_cancelled"]
    assert [entry["outcome"] for entry in inbox[:2]] == ["rejected", "applied"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(demo: Demo) -> Iterator[str]:
    port = _free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TIJARAT_")
    }
    process = subprocess.Popen(
        [*TIJARAT, "serve", "--no-seed", "--port", str(port), "--database-url", demo.url],
        cwd=demo.folder,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert process.poll() is None, "the server stopped"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_simulated_pushes_over_http_verify_at_a_running_server(demo: Demo, server: str) -> None:
    b = demo.by_id
    pushed = _json(
        demo,
        f"trade simulate orders {b} --count 2 --line APR-DRY-1KG:100 --incoterm FCA --url {server}",
    )
    assert [(m["http_status"], m["result"]) for m in pushed["messages"]] == [
        (200, "accepted"),
        (200, "accepted"),
    ]
    numbers = {m["order_id"] for m in pushed["messages"]}

    def arrived() -> list[dict[str, Any]]:
        orders = _json(demo, f"trade orders list {b}")
        return [o for o in orders if o["marketplace_order_id"] in numbers]

    deadline = time.monotonic() + ORDERS_APPEAR_S
    while len(arrived()) < 2 or {o["status"] for o in arrived()} != {"awaiting_payment"}:
        assert time.monotonic() < deadline, arrived()
        time.sleep(0.3)

    # A push signed with the wrong secret is refused by the server: nothing is stored.
    forged = _json(
        demo, f"trade simulate orders {b} --secret not-the-real-secret --url {server}", code=1
    )
    assert forged["messages"][0]["http_status"] == 401
    assert forged["messages"][0]["result"].startswith("trade_push_unauthenticated")


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("command", "code", "says"),
    [
        (
            (
                'supply po create --supplier "Sindh Packaging Co" --location KHI-WH '
                "--line BOX-GIFT:ten:120"
            ),
            2,
            "quantity must be a whole number",
        ),
        ("supply stock levels --business somebody", 2, "neither a wallet customer id"),
        ("supply pay BILL-999999", 1, "supply_bill_not_found: no bill BILL-999999"),
        ("supply stock valuation --at yesterday", 2, "not an ISO 8601 time"),
        ("trade confirm AB-NO-SUCH-ORDER", 1, "trade_order_not_found:"),
        (
            "trade simulate orders --secret not-the-real-secret",
            1,
            "trade_push_unauthenticated:",
        ),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_code(
    demo: Demo, command: str, code: int, says: str
) -> None:
    done = _process(demo, command if "--business" in command else f"{command} {demo.by_id}")
    assert done.returncode == code, (done.stdout, done.stderr)
    assert says in " ".join(done.stderr.split()), done.stderr
    assert "Traceback" not in done.stderr
