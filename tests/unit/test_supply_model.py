"""Supply's pure rules: tolerances, order status, the three-way match, valuation arithmetic."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tijarat.kernel.errors import DomainError
from tijarat.supply.model import (
    Bill,
    BillLine,
    BillStatus,
    MatchStatus,
    OrderLineProgress,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    allocate_landed_cost,
    average_unit_cost,
    check_delivery,
    convert_to_valuation,
    line_complete,
    outgoing_value,
    parse_valuation_rate,
    purchase_order_status,
    three_way_match,
    tolerance_allowance,
    validate_location_code,
    validate_quantity,
    validate_sku,
)

SUPPLIER = uuid.uuid4()
LINE_A = uuid.uuid4()
LINE_B = uuid.uuid4()


def order(
    received_a: int = 100,
    received_b: int = 50,
    *,
    price_bp: int = 0,
    status: PurchaseOrderStatus = PurchaseOrderStatus.RECEIVED,
) -> PurchaseOrder:
    return PurchaseOrder(
        id=uuid.uuid4(),
        business_id=uuid.uuid4(),
        number="PO-000001",
        supplier_id=SUPPLIER,
        location="KHI-WH",
        status=status,
        currency="PKR",
        quantity_tolerance_basis_points=500,
        price_tolerance_basis_points=price_bp,
        closed_short=False,
        created_at=0,
        sent_at=0,
        lines=(
            PurchaseOrderLine(LINE_A, 1, "APRICOT-1KG", 100, 1_200_00, received_a, 0),
            PurchaseOrderLine(LINE_B, 2, "BOX-GIFT", 50, 85_00, received_b, 0),
        ),
    )


def bill(*lines: BillLine, supplier: uuid.UUID = SUPPLIER, currency: str = "PKR") -> Bill:
    return Bill(
        id=uuid.uuid4(),
        business_id=uuid.uuid4(),
        number="BILL-000001",
        purchase_order_id=uuid.uuid4(),
        supplier_id=supplier,
        supplier_invoice_number="INV-7",
        currency=currency,
        total_minor=sum(line.amount_minor for line in lines),
        status=BillStatus.OPEN,
        match_status=MatchStatus.UNMATCHED,
        due_at=0,
        created_at=0,
        paid_at=None,
        payment_status=None,
        payment_reason=None,
        payment_end_to_end_id=None,
        payment_uetr=None,
        lines=lines,
    )


# ---------------------------------------------------------------------------- tolerance


def test_tolerance_rounds_down_so_it_never_allows_more_than_it_says() -> None:
    assert tolerance_allowance(10, 500) == 0  # 5 % of 10 is half a unit: none
    assert tolerance_allowance(20, 500) == 1
    assert tolerance_allowance(100, 500) == 5
    assert tolerance_allowance(100, 0) == 0


def test_over_delivery_within_tolerance_passes_and_beyond_it_is_refused() -> None:
    check_delivery("BOX", 100, 60, 45, 500)  # 105: the most 5 % allows
    with pytest.raises(DomainError) as refused:
        check_delivery("BOX", 100, 60, 46, 500)
    assert refused.value.code == "supply_over_delivery"
    assert refused.value.status == 409
    assert refused.value.fields["quantity_max"] == 105


def test_under_delivery_within_tolerance_completes_the_line() -> None:
    assert line_complete(100, 95, 500)
    assert not line_complete(100, 94, 500)
    assert not line_complete(100, 99, 0)


def test_order_status_follows_receipts_bills_and_payments() -> None:
    def status(*progress: OrderLineProgress, closed: bool = False) -> PurchaseOrderStatus:
        return purchase_order_status(
            PurchaseOrderStatus.SENT,
            progress,
            quantity_tolerance_basis_points=500,
            closed_short=closed,
        )

    assert status(OrderLineProgress(100, 0, 0, 0)) is PurchaseOrderStatus.SENT
    assert status(OrderLineProgress(100, 60, 60, 60)) is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert status(OrderLineProgress(100, 60, 0, 0), closed=True) is PurchaseOrderStatus.RECEIVED
    assert status(OrderLineProgress(100, 96, 0, 0)) is PurchaseOrderStatus.RECEIVED
    assert status(OrderLineProgress(100, 96, 96, 0)) is PurchaseOrderStatus.BILLED
    assert status(OrderLineProgress(100, 96, 96, 96)) is PurchaseOrderStatus.PAID
    # A line still short holds the whole order back.
    assert (
        status(OrderLineProgress(100, 100, 100, 100), OrderLineProgress(50, 10, 10, 10))
        is PurchaseOrderStatus.PARTIALLY_RECEIVED
    )
    for fixed in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
        assert (
            purchase_order_status(
                fixed,
                [OrderLineProgress(1, 1, 1, 1)],
                quantity_tolerance_basis_points=0,
                closed_short=False,
            )
            is fixed
        )


# ---------------------------------------------------------------------------- three-way match


def test_a_bill_for_what_arrived_at_the_ordered_price_matches() -> None:
    result = three_way_match(
        order(received_a=60),
        bill(
            BillLine(LINE_A, "APRICOT-1KG", 60, 1_200_00), BillLine(LINE_B, "BOX-GIFT", 50, 85_00)
        ),
        {},
    )
    assert result.matched
    assert result.discrepancies == ()


def test_billing_more_than_arrived_fails_the_match() -> None:
    result = three_way_match(
        order(received_a=60), bill(BillLine(LINE_A, "APRICOT-1KG", 61, 1_200_00)), {}
    )
    assert not result.matched
    (found,) = result.discrepancies
    assert (found.code, found.expected, found.actual) == ("quantity_not_received", 60, 61)


def test_what_other_bills_took_is_not_billable_again() -> None:
    result = three_way_match(
        order(received_a=60), bill(BillLine(LINE_A, "APRICOT-1KG", 20, 1_200_00)), {LINE_A: 50}
    )
    assert [d.code for d in result.discrepancies] == ["quantity_not_received"]
    assert result.discrepancies[0].expected == 10


def test_prices_must_agree_within_the_price_tolerance() -> None:
    over = bill(BillLine(LINE_A, "APRICOT-1KG", 10, 1_224_00))  # 2 % over
    assert [d.code for d in three_way_match(order(), over, {}).discrepancies] == ["price_mismatch"]
    assert three_way_match(order(price_bp=200), over, {}).matched
    under = bill(BillLine(LINE_A, "APRICOT-1KG", 10, 1_175_99))  # just beyond 2 % under
    assert not three_way_match(order(price_bp=200), under, {}).matched


def test_goods_not_ordered_another_supplier_or_currency_fail_the_match() -> None:
    result = three_way_match(
        order(),
        bill(BillLine(None, "WALNUT-500G", 5, 900_00), supplier=uuid.uuid4(), currency="USD"),
        {},
    )
    assert [d.code for d in result.discrepancies] == [
        "supplier_mismatch",
        "currency_mismatch",
        "not_ordered",
    ]


def test_a_cancelled_order_matches_no_bill() -> None:
    result = three_way_match(
        order(status=PurchaseOrderStatus.CANCELLED),
        bill(BillLine(LINE_A, "APRICOT-1KG", 1, 1_200_00)),
        {},
    )
    assert [d.code for d in result.discrepancies] == ["order_not_open"]


# ---------------------------------------------------------------------------- valuation


def test_landed_cost_is_split_by_value_to_the_paisa() -> None:
    # Rs 1,000.00 of freight over lines worth 2:1 -> 666.67 and 333.33.
    assert allocate_landed_cost(1_000_00, [120_000_00, 60_000_00], [100, 50]) == [666_67, 333_33]
    # Free goods share by quantity.
    assert allocate_landed_cost(100, [0, 0], [1, 3]) == [25, 75]
    assert allocate_landed_cost(0, [5, 5], [1, 1]) == [0, 0]


@given(
    total=st.integers(min_value=0, max_value=10**12),
    values=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=20),
)
def test_landed_cost_shares_always_add_up(total: int, values: list[int]) -> None:
    shares = allocate_landed_cost(total, values, [1] * len(values))
    assert sum(shares) == total
    assert all(share >= 0 for share in shares)


def test_units_leave_at_their_share_and_the_last_take_what_is_left() -> None:
    # 3 units worth 100 paisa: 1 unit takes 33 (100/3 rounded half to even), then 1 of the
    # remaining 2 (worth 67) takes 34 (33.5 -> 34, the even neighbour), the last takes 33.
    assert outgoing_value(1, 3, 100, 0) == 33
    assert outgoing_value(1, 2, 67, 0) == 34
    assert outgoing_value(1, 1, 33, 0) == 33
    assert outgoing_value(3, 3, 100, 0) == 100
    # Beyond what is held (a location that may go negative): the average, then the fallback.
    assert outgoing_value(5, 3, 300, 0) == 500
    assert outgoing_value(2, 0, 0, 70) == 140
    assert average_unit_cost(3, 100) == 33
    assert average_unit_cost(0, 100) == 0


@given(
    quantity=st.integers(min_value=1, max_value=10_000),
    value=st.integers(min_value=0, max_value=10**12),
    takes=st.lists(st.integers(min_value=1, max_value=10_000), max_size=30),
)
def test_taking_stock_out_piece_by_piece_never_makes_or_loses_a_paisa(
    quantity: int, value: int, takes: list[int]
) -> None:
    left_quantity, left_value, taken_value = quantity, value, 0
    for wanted in takes:
        take = min(wanted, left_quantity)
        if take == 0:
            break
        out = outgoing_value(take, left_quantity, left_value, 0)
        assert 0 <= out <= left_value
        left_quantity, left_value, taken_value = (
            left_quantity - take,
            left_value - out,
            taken_value + out,
        )
    assert taken_value + left_value == value
    if left_quantity == 0:
        assert left_value == 0


def test_foreign_prices_convert_half_to_even_at_the_receipt_rate() -> None:
    assert convert_to_valuation(12_345, "PKR", None) == 12_345
    assert convert_to_valuation(100_00, "USD", Decimal("278.45")) == 27_845_00
    assert convert_to_valuation(1, "USD", Decimal("0.5")) == 0  # 0.5 paisa: to even
    assert convert_to_valuation(3, "USD", Decimal("0.5")) == 2  # 1.5 paisa: to even
    assert convert_to_valuation(1_000, "JPY", Decimal("1.87")) == 1_870_00
    assert convert_to_valuation(1_000, "KWD", Decimal("905.1")) == 905_10  # 1.000 KWD


def test_bad_rates_skus_codes_and_quantities_are_refused_with_codes() -> None:
    for rate in ("0", "-1", "abc", "1e5", "1" * 30):
        with pytest.raises(DomainError) as refused:
            parse_valuation_rate(rate)
        assert refused.value.code == "supply_valuation_rate_invalid"
    for sku in ("", " ", "a b", "-x", "x" * 65):
        with pytest.raises(DomainError) as refused:
            validate_sku(sku)
        assert refused.value.code == "supply_item_invalid"
    assert validate_location_code(" khi-wh ") == "KHI-WH"
    with pytest.raises(DomainError):
        validate_location_code("KHI WH")
    for quantity in (0, -1, 1.5, True, 10**10):
        with pytest.raises(DomainError) as refused:
            validate_quantity(quantity)
        assert refused.value.code == "supply_quantity_invalid"
