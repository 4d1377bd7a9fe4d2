"""The Skardu story, end to end, on one hub: what `tijarat demo` plays (and `serve` seeds).

Baltistan Orchards, a small exporter in Skardu, banks with Tijarat Wallet (a payment
institution on the Raast-style hub); its suppliers bank with Meezan and Habib in Karachi.
A buyer in Hamburg orders apricots and pashmina shawls through the marketplace; the
apricots are in stock, the shawls are bought from Karachi: purchase orders, a partial
receipt, bills matched three ways and paid from the wallet over the hub (one supplier by
Raast ID, one by IBAN). The order is confirmed (stock reserved), the buyer's dollars are
held in escrow, the goods ship with their paperwork, tracking says delivered, the buyer
confirms, escrow is released, converted to rupees, and the export deductions are posted.
A tourist pays the workshop's QR code. Every rupee and dollar moves through the ledger,
which verifies at the end.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tijarat.bootstrap import Container
from tijarat.identity.users import create_user
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money, format_money
from tijarat.supply.model import (
    BillLineInput,
    LandedCost,
    OrderLineInput,
    PaymentStatus,
    ReceiptLineInput,
)
from tijarat.switch import iso20022 as iso
from tijarat.switch import qr
from tijarat.switch.model import CreditTransfer, ParticipantCategory, PayeeDecision, Payment
from tijarat.trade.model import Incoterm, Instrument, OrderStatus, ShipmentMode, TrackingInput
from tijarat.trade.simulator import open_demo_business
from tijarat.wallet import files, statements

BANKS = (("MEZNPKKA", "Meezan Bank", "MEZN"), ("HABBPKKA", "Habib Bank", "HABB"))
USD_PKR = "278.45"  # the demo's imported rate table: one row, dated today
DEMO_USERS = (
    ("skardu", "skardu-demo-2026", "business"),
    ("operator", "operator-demo-2026", "operator"),
)


@dataclass
class StoryReport:
    steps: list[tuple[str, str, bool]] = field(default_factory=list)
    business_id: str = ""
    order_status: str = ""
    order_total: str = ""
    escrow_released_minor: int = 0
    escrow_currency: str = "USD"
    converted_minor: int = 0
    net_proceeds_minor: int = 0
    suppliers_paid: dict[str, Any] = field(default_factory=dict)
    stock_on_hand: dict[str, dict[str, int]] = field(default_factory=dict)
    wallet: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, str]] = field(default_factory=list)
    archived_files: int = 0

    @property
    def ok(self) -> bool:
        return all(ok for _, _, ok in self.steps)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(count))


def play(
    container: Container,
    clock: ManualClock,
    archive: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> StoryReport:
    report = StoryReport()
    say = progress or (lambda _text: None)
    # Fresh people per run (not secrets): a demo can run twice on one database.
    rng = random.Random()  # noqa: S311
    switch, wallet, supply, trade = (
        container.switch,
        container.wallet,
        container.supply,
        container.trade,
    )

    def step(title: str, outcome: str, ok: bool = True) -> None:
        report.steps.append((title, outcome, ok))
        say(f"{'✓' if ok else '✗'} {title}: {outcome}")

    # ------------------------------------------------------------------ the hub
    wallet.ensure_ready()
    for code, name, bank in BANKS:
        try:
            switch.participant(code)
        except DomainError:
            switch.register_participant(
                code, name, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
            )
        switch.fund(code, Money(50_000_000_00, "PKR"), uuid.uuid4())
        # Karachi's banks credit their customers at once (in-process transport).
        container.payments.connect(code, lambda _payment: PayeeDecision(accept=True))
    wallet.fund_settlement(20_000_000_00, uuid.uuid4())
    step(
        "The hub: Tijarat Wallet, Meezan and Habib prefund their settlement accounts",
        f"wallet position {format_money(wallet.switch.liquidity(wallet.institution.code))}",
    )

    # ------------------------------------------------------------------ people
    business = wallet.onboard_business(
        name="Baltistan Orchards (Pvt) Ltd",
        ntn=f"{_digits(rng, 7)}-{_digits(rng, 1)}",
        mobile=f"0355{_digits(rng, 7)}",
        address="Yadgar Chowk, Skardu, Gilgit-Baltistan",
        owners=["Karim Baig", "Shireen Baig"],
        owner_cnic=f"71501-{_digits(rng, 7)}-{rng.randint(1, 9)}",
    )
    report.business_id = str(business.id)
    pashmina_mobile = f"0300{_digits(rng, 7)}"
    pashmina_iban = make_pk_iban("MEZN", _digits(rng, 10)).compact
    switch.link_alias(
        "MEZNPKKA",
        pashmina_mobile,
        pashmina_iban,
        f"42101-{_digits(rng, 7)}-{rng.randint(1, 9)}",
        "Karachi Pashmina House",
    )
    packaging_iban = make_pk_iban("HABB", _digits(rng, 10)).compact
    step(
        "Baltistan Orchards opens a business wallet; its Karachi suppliers bank at Meezan "
        "(Raast ID) and Habib (IBAN)",
        f"IBAN {wallet.account(business.id).iban}, Raast ID {business.mobile}",
    )
    for username, password, role in DEMO_USERS:
        try:
            create_user(
                container.engine,
                username,
                password,
                role,
                business.id if role == "business" else None,
                clock=clock,
            )
            report.users.append({"username": username, "password": password, "role": role})
        except DomainError:
            pass  # seeded by an earlier run: its business keeps the user

    # Working capital arrives the Raast way: from the owners' account at Meezan.
    capital = container.payments.submit(
        "MEZNPKKA",
        _transfer(
            f"CAP{uuid.uuid4().hex[:20]}",
            2_500_000_00,
            "Karim Baig",
            make_pk_iban("MEZN", _digits(rng, 9)).compact,
            creditor_alias=business.mobile,
        ),
    )
    step(
        "Working capital: Rs 2,500,000 from the owners' Meezan account to the business's Raast ID",
        f"{capital.status.value}; wallet {format_money(wallet.balance(business.id))}",
        capital.status.value == "ACSC",
    )

    # ------------------------------------------------------------------ stock
    business_id = business.id
    supply.create_location(business_id, "SKD-WS", "Skardu workshop")
    supply.create_location(business_id, "KHI-WH", "Karachi warehouse")
    supply.create_item(business_id, "APR-DRY-1KG", "Sun-dried apricots, 1 kg pouch", unit="pouch")
    supply.create_item(business_id, "SHAWL-PASH", "Hand-woven pashmina shawl", unit="piece")
    supply.create_item(
        business_id,
        "BOX-GIFT",
        "Gift box for shawls",
        unit="piece",
        reorder_point=250,
        reorder_quantity=500,
    )
    supply.adjust_stock(
        business_id,
        "APR-DRY-1KG",
        "SKD-WS",
        2_000,
        "2026 harvest, dried and packed at the workshop",
        request_id=uuid.uuid4(),
        unit_cost_minor=450_00,
    )
    moved = supply.transfer_stock(
        business_id, "APR-DRY-1KG", 1_000, "SKD-WS", "KHI-WH", request_id=uuid.uuid4()
    )
    supply.receive_transfer(
        business_id,
        moved.id,
        landed_costs=[LandedCost("Freight Skardu-Karachi by road (Karakoram Highway)", 60_000_00)],
    )
    step(
        "Inventory: 2,000 pouches of apricots at the Skardu workshop, 1,000 trucked to Karachi",
        "moved through in-transit, freight added to their value",
    )

    # ------------------------------------------------------------------ the order
    marketplace = open_demo_business(trade, business_id, clock)
    wallet.import_rates(
        f"date,base,quote,rate\n{from_ns(clock.now_ns()).date()},USD,PKR,{USD_PKR}\n",
        "SBP weighted average (demo)",
    )
    message = marketplace.order_created(
        lines=[("APR-DRY-1KG", 600), ("SHAWL-PASH", 40)],
        incoterm=Incoterm.DAP,
    )
    marketplace.push_in_process(trade, message)
    trade.process_inbox()
    order = next(
        o for o in trade.orders(business_id) if o.marketplace_order_id == message.data["order_id"]
    )
    report.order_total = format_money(Money(order.total_minor, order.currency))
    step(
        "A buyer in Hamburg orders 600 pouches of apricots and 40 pashmina shawls "
        "(signed marketplace push)",
        f"order {order.marketplace_order_id}, {report.order_total}, {order.status.value}"
        + (" (shawls not in stock yet)" if order.status is OrderStatus.RECEIVED else ""),
    )

    # ------------------------------------------------------------------ purchasing
    pashmina = supply.create_supplier(
        business_id,
        "Karachi Pashmina House",
        raast_id=pashmina_mobile,
        contact_name="Imran Qureshi",
        payment_terms_days=15,
        lead_time_days=7,
    )
    packaging = supply.create_supplier(
        business_id, "Sindh Packaging Co", iban=packaging_iban, payment_terms_days=30
    )
    shawls_po = supply.create_purchase_order(
        business_id, pashmina.id, "KHI-WH", [OrderLineInput("SHAWL-PASH", 50, 9_500_00)]
    )
    boxes_po = supply.create_purchase_order(
        business_id, packaging.id, "KHI-WH", [OrderLineInput("BOX-GIFT", 200, 120_00)]
    )
    for purchase_order in (shawls_po, boxes_po):
        supply.send_purchase_order(business_id, purchase_order.id)
    supply.receive_goods(
        business_id,
        shawls_po.id,
        [ReceiptLineInput("SHAWL-PASH", 40)],
        request_id=uuid.uuid4(),
        delivery_note="first delivery: 40 of 50",
    )
    supply.receive_goods(
        business_id,
        boxes_po.id,
        [ReceiptLineInput("BOX-GIFT", 200)],
        request_id=uuid.uuid4(),
        landed_costs=[LandedCost("Local delivery, SITE to warehouse", 4_000_00)],
    )
    step(
        "Purchase orders to two Karachi suppliers; 40 of 50 shawls arrive (partial receipt), "
        "200 gift boxes in full",
        f"{shawls_po.number}, {boxes_po.number}",
    )
    bills = [
        supply.create_bill(
            business_id, shawls_po.id, "KPH-2026-118", [BillLineInput("SHAWL-PASH", 40, 9_500_00)]
        ),
        supply.create_bill(
            business_id, boxes_po.id, "SPC-7731", [BillLineInput("BOX-GIFT", 200, 120_00)]
        ),
    ]
    matched = [supply.match_bill(business_id, bill.id) for bill in bills]
    step(
        "Bills matched three ways (order, receipt, bill)",
        ", ".join("matched" if m.matched else "not matched" for m in matched),
        all(m.matched for m in matched),
    )
    paid = supply.pay_bills(business_id, [bill.id for bill in bills], uuid.uuid4())
    settled = [p for p in paid if p.status is PaymentStatus.SETTLED]
    report.suppliers_paid = {
        "count": len(settled),
        "amount_minor": sum(p.amount_minor for p in settled),
        "currency": "PKR",
        "by": ["Raast ID", "IBAN"],
    }
    step(
        "Both suppliers paid from the wallet over the hub: Raast ID (Meezan) and IBAN (Habib)",
        ", ".join(f"{p.bill_number} {p.status.value}" for p in paid),
        len(settled) == len(bills),
    )

    # ------------------------------------------------------------------ escrow and shipping
    if trade.order(business_id, order.id).status is OrderStatus.RECEIVED:
        trade.confirm_order(business_id, order.id, "Karim Baig")
        trade.request_payment(business_id, order.id, "Karim Baig")
    order = trade.order(business_id, order.id)
    step(
        "The order is confirmed: apricots and shawls reserved at the Karachi warehouse",
        order.status.value,
        order.status is OrderStatus.AWAITING_PAYMENT,
    )
    marketplace.push_in_process(trade, marketplace.order_paid(order.marketplace_order_id))
    trade.process_inbox()
    order = trade.order(business_id, order.id)
    step(
        "The buyer pays in dollars: held in escrow (a pending ledger transfer)",
        f"{order.status.value}, {report.order_total} held",
        order.status is OrderStatus.PAID,
    )
    trade.record_export_details(
        business_id,
        order.id,
        financial_instrument_reference=f"MCB-EXP-{order.marketplace_order_id}",
        instrument=Instrument.ADVANCE_PAYMENT,
    )
    trade.mark_packed(business_id, order.id, "Karim Baig")
    shipment = trade.ship_order(
        business_id,
        order.id,
        carrier="dhl",
        tracking_number=f"JD{_digits(rng, 10)}",
        mode=ShipmentMode.COURIER,
        transport_document_number=f"AWB{_digits(rng, 10)}",
        port_of_loading="Karachi (KHI)",
        port_of_discharge="Hamburg (HAM)",
        actor="Karim Baig",
    )
    step(
        "Packed and shipped by courier with its PSW financial instrument; stock leaves",
        f"{shipment.carrier} {shipment.tracking_number}",
    )
    clock.advance(timedelta(days=4))
    now = clock.now_ns()
    trade.record_tracking_events(
        business_id,
        shipment.id,
        [
            TrackingInput("transit", now - 3 * 86_400 * 10**9, "Dubai hub"),
            TrackingInput("out for delivery", now - 3_600 * 10**9, "Hamburg"),
            TrackingInput("delivered", now, "Hamburg", event_id=f"dhl-{shipment.id.hex[:8]}"),
        ],
    )
    marketplace.push_in_process(trade, marketplace.receipt_confirmed(order.marketplace_order_id))
    trade.process_inbox()
    order = trade.order(business_id, order.id)
    proceeds = trade.export_proceeds(business_id, order.id)
    report.order_status = order.status.value
    report.escrow_released_minor = proceeds.realised_minor or 0
    report.escrow_currency = order.currency
    report.converted_minor = proceeds.converted_minor or 0
    report.net_proceeds_minor = proceeds.net_minor or 0
    step(
        "Tracking says delivered; the buyer confirms; escrow is released and converted",
        f"{order.status.value}: {format_money(Money(report.escrow_released_minor, order.currency))}"
        f" -> {format_money(Money(report.converted_minor, 'PKR'))} at {USD_PKR}",
        order.status is OrderStatus.COMPLETED,
    )
    step(
        "Export Development Surcharge and withholding tax posted; proceeds realised on time",
        f"net {format_money(Money(report.net_proceeds_minor, 'PKR'))}",
        proceeds.status.value == "realised",
    )

    # ------------------------------------------------------------------ a tourist and the QR
    tourist = wallet.onboard_individual(
        name="Ayesha Siddiqui",
        cnic=f"35202-{_digits(rng, 7)}-{rng.randint(1, 9)}",
        mobile=f"0333{_digits(rng, 7)}",
    )
    wallet.deposit(tourist.id, 20_000_00, f"cash-{tourist.id}")
    payload = wallet.merchant_qr(business_id, amount_minor=3_500_00, bill_number="SKD-0042")
    paid_by_qr = wallet.pay_qr(tourist.id, payload, request_key=f"qr-{tourist.id}")
    fee = sum(m.amount_minor for m in paid_by_qr.movements if m.kind.value == "fee")
    step(
        "A tourist pays the workshop's QR code for two pouches and a shawl",
        f"{paid_by_qr.status.value}, merchant fee {format_money(Money(fee, 'PKR'))}",
        paid_by_qr.status.value == "completed",
    )

    # ------------------------------------------------------------------ the next order
    repeat = marketplace.order_created(lines=[("APR-DRY-1KG", 300)], incoterm=Incoterm.FCA)
    marketplace.push_in_process(trade, repeat)
    trade.process_inbox()
    second = next(
        o for o in trade.orders(business_id) if o.marketplace_order_id == repeat.data["order_id"]
    )
    marketplace.push_in_process(trade, marketplace.order_paid(second.marketplace_order_id))
    trade.process_inbox()
    second = trade.order(business_id, second.id)
    step(
        "A repeat order arrives, is reserved and paid into escrow: it waits to ship",
        f"{second.marketplace_order_id}, "
        f"{format_money(Money(second.total_minor, second.currency))}, {second.status.value}",
        second.status is OrderStatus.PAID,
    )

    # ------------------------------------------------------------------ the books
    for level in supply.stock_levels(business_id):
        report.stock_on_hand.setdefault(level.location, {})[level.sku] = level.quantity_on_hand
    report.wallet = {
        currency: format_money(wallet.balance(business_id, currency)) for currency in ("PKR", "USD")
    }
    reconciled = wallet.reconcile()
    step(
        "The wallet's book mirrors its settlement position at the hub",
        f"difference {reconciled['difference_minor']}",
        reconciled["difference_minor"] == 0,
    )
    if archive is not None:
        report.archived_files = _archive(container, business_id, order.id, payload, archive)
    return report


def _transfer(
    end_to_end_id: str,
    amount_minor: int,
    debtor_name: str,
    debtor_iban: str,
    *,
    creditor_alias: str,
) -> CreditTransfer:
    return CreditTransfer(
        msg_id=end_to_end_id,
        end_to_end_id=end_to_end_id,
        tx_id=end_to_end_id,
        uetr=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="PKR",
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        creditor_alias=creditor_alias,
        remittance_information="working capital",
    )


def _archive(
    container: Container, business_id: uuid.UUID, order_id: uuid.UUID, payload: str, folder: Path
) -> int:
    """Every ISO 20022 message of the story, the QR as PNG and SVG, and every PDF."""
    story = folder / "story"
    story.mkdir(parents=True, exist_ok=True)
    written = 0

    def put(name: str, content: bytes | str) -> None:
        nonlocal written
        path = story / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        written += 1

    wallet, trade, gateway = container.wallet, container.trade, container.gateway
    now = container.clock.now_ns()
    # The hub's payments of this story, as the ISO 20022 messages that carry them.
    payment_ids = {m.payment_id for m in wallet.history(business_id, limit=200) if m.payment_id}
    for index, payment_id in enumerate(sorted(payment_ids, key=str), start=1):
        payment: Payment = container.payments.payment(payment_id)
        if payment.payee_id is None:
            continue
        payee = container.switch.participant_by_id(payment.payee_id)
        payer = container.switch.participant_by_id(payment.payer_id)
        # In process, no XML was exchanged: these are the messages that would carry the
        # payment, built for the reader and not put in the hub's archive as if sent.
        advice = iso.parse_envelope(gateway.build_credit_advice(payee, payment).body)
        put(
            f"{index:02d}-pacs.008-{payment.request.end_to_end_id}.xml",
            iso.build_document(advice.document),
        )
        put(
            f"{index:02d}-pacs.008-{payment.request.end_to_end_id}.head.xml",
            iso.build_app_header(advice.header),
        )
        status = iso.parse_envelope(gateway.build_status_report(payer, payment).body)
        put(
            f"{index:02d}-pacs.002-{payment.request.end_to_end_id}.xml",
            iso.build_document(status.document),
        )
        put(
            f"{index:02d}-pacs.002-{payment.request.end_to_end_id}.head.xml",
            iso.build_app_header(status.header),
        )
    for payout in wallet.payouts(business_id):
        put(
            f"pain.002-supplier-payments-{payout.id.hex[:8]}.xml",
            files.payout_report_pain002(payout, files.utc(now)),
        )
        put(f"supplier-payments-{payout.id.hex[:8]}.csv", files.payout_report_csv(payout))
    for currency in ("PKR", "USD"):
        statement = wallet.statement(business_id, currency, 0, now + 86_400 * 10**9)
        put(
            f"camt.053-wallet-{currency}.xml",
            statements.to_camt053(statement, wallet.institution.code, now),
        )
        put(f"statement-{currency}.pdf", statements.to_pdf(statement, wallet.institution.name))
        put(f"statement-{currency}.csv", statements.to_csv(statement))
    put("commercial-invoice.pdf", trade.commercial_invoice(business_id, order_id))
    put("packing-list.pdf", trade.packing_list(business_id, order_id))
    put("qr-baltistan-orchards.png", qr.render_png(payload))
    put("qr-baltistan-orchards.svg", qr.render_svg(payload))
    put("qr-baltistan-orchards.txt", payload)
    return written
