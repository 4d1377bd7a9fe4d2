"""Supply pays its bills from the business's real wallet, over the switch (no fakes)."""

from __future__ import annotations

import uuid

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.supply.model import (
    BillLineInput,
    BillStatus,
    OrderLineInput,
    PaymentStatus,
    ReceiptLineInput,
)
from tijarat.switch.model import ParticipantCategory, PayeeDecision


def test_two_karachi_suppliers_are_paid_from_the_wallet_over_the_hub(
    container: Container,
) -> None:
    switch, wallet, supply = container.switch, container.wallet, container.supply
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        container.payments.connect(code, lambda _p: PayeeDecision(accept=True))
    wool_iban = make_pk_iban("MEZN", "2002").compact
    switch.link_alias("MEZNPKKA", "03001234567", wool_iban, "42101-1111111-1", "Karachi Wool House")
    wallet.fund_settlement(1_000_000_00, uuid.uuid4())
    business = wallet.onboard_business(
        name="Skardu Crafts",
        ntn="1234567-8",
        mobile="03551234567",
        address="Skardu",
        owners=["Karim Baig"],
        owner_cnic="71501-1234567-1",
    )
    wallet.deposit(business.id, 500_000_00, "capital")
    supply.create_location(business.id, "KHI-WH", "Karachi warehouse")
    supply.create_item(business.id, "WOOL-KG", "Wool, kg", unit="kg")
    supply.create_item(business.id, "DYE-L", "Natural dye, litre", unit="litre")
    wool = supply.create_supplier(business.id, "Karachi Wool House", raast_id="0300 1234567")
    dye = supply.create_supplier(
        business.id, "Habib Dyes", iban=make_pk_iban("HABB", "3003").compact
    )
    bills = []
    for seller, sku, quantity, price in (
        (wool, "WOOL-KG", 100, 900_00),
        (dye, "DYE-L", 20, 1_500_00),
    ):
        order = supply.create_purchase_order(
            business.id, seller.id, "KHI-WH", [OrderLineInput(sku, quantity, price)]
        )
        supply.send_purchase_order(business.id, order.id)
        supply.receive_goods(
            business.id, order.id, [ReceiptLineInput(sku, quantity)], request_id=uuid.uuid4()
        )
        bill = supply.create_bill(
            business.id, order.id, f"INV-{sku}", [BillLineInput(sku, quantity, price)]
        )
        supply.match_bill(business.id, bill.id)
        bills.append(bill)
    request_id = uuid.uuid4()
    paid = supply.pay_bills(business.id, [b.id for b in bills], request_id)
    assert [p.status for p in paid] == [PaymentStatus.SETTLED, PaymentStatus.SETTLED]
    assert all(p.end_to_end_id for p in paid)
    assert [supply.bill(business.id, b.id).status for b in bills] == [BillStatus.PAID] * 2
    # Paying again with the same request pays nothing twice.
    supply.pay_bills(business.id, [b.id for b in bills], request_id)
    spent = 100 * 900_00 + 20 * 1_500_00
    assert wallet.balance(business.id) == Money(500_000_00 - spent, "PKR")
    assert switch.liquidity("MEZNPKKA").amount_minor == 100 * 900_00
    assert wallet.reconcile()["difference_minor"] == 0
    assert container.ledger.verify().ok
