"""Inventory on SQLite and PostgreSQL: reservations where the stock is, moving them, transfers
through transit, adjustments and counts with reasons, negative stock, the append-only ledger."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.supply.model import (
    LandedCost,
    OrderLineInput,
    ReceiptLineInput,
    ReservationStatus,
    TransferStatus,
)
from tijarat.supply.service import SupplyService

BUSINESS = uuid.UUID("0190a7b2-3c4d-7e5f-8a9b-0c1d2e3f4a5c")
SKU = "SHAWL-PASHMINA"


@pytest.fixture
def supply(container: Container) -> SupplyService:
    """Skardu workshop holds 10 shawls worth Rs 4,000 each; Karachi holds none yet."""
    service = container.supply
    service.create_location(BUSINESS, "SKD-WS", "Skardu workshop")
    service.create_location(BUSINESS, "KHI-WH", "Karachi warehouse")
    service.create_item(BUSINESS, SKU, "Pashmina shawl")
    service.adjust_stock(
        BUSINESS,
        SKU,
        "SKD-WS",
        10,
        "opening stock",
        request_id=uuid.uuid4(),
        unit_cost_minor=4_000_00,
    )
    return service


def level(supply: SupplyService, location: str) -> tuple[int, int, int, int]:
    """(on hand, reserved, incoming, available) of the shawls at a location."""
    found = supply.stock_levels(BUSINESS, sku=SKU, location_code=location)
    if not found:
        return (0, 0, 0, 0)
    (entry,) = found
    return (
        entry.quantity_on_hand,
        entry.quantity_reserved,
        entry.quantity_incoming,
        entry.quantity_available,
    )


def code_of(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


def test_reservations_are_taken_where_the_stock_is(supply: SupplyService) -> None:
    # Karachi holds nothing: a named reservation there is refused with a clear error.
    with pytest.raises(DomainError) as error:
        supply.reserve(BUSINESS, "ORDER-1/1", SKU, 2, "KHI-WH")
    assert code_of(error) == "supply_insufficient_stock"
    assert error.value.status == 409
    assert error.value.fields == {
        "sku": SKU,
        "location": "KHI-WH",
        "quantity_available": 0,
        "quantity_requested": 2,
    }
    # Without a location the one that holds the stock is chosen.
    assert supply.reserve(BUSINESS, "ORDER-1/1", SKU, 2) == "SKD-WS"
    assert supply.reserve(BUSINESS, "ORDER-1/1", SKU, 2) == "SKD-WS"  # idempotent
    assert level(supply, "SKD-WS") == (10, 2, 0, 8)
    with pytest.raises(DomainError) as error:
        supply.reserve(BUSINESS, "ORDER-1/1", SKU, 3)
    assert code_of(error) == "supply_reservation_conflict"
    with pytest.raises(DomainError) as error:
        supply.reserve(BUSINESS, "ORDER-2/1", SKU, 9)
    assert code_of(error) == "supply_insufficient_stock"
    assert error.value.fields["quantity_available"] == 8
    for bad_location, code in (
        ("TRANSIT", "supply_location_not_internal"),
        ("LHR-WH", "supply_location_not_found"),
    ):
        with pytest.raises(DomainError) as error:
            supply.reserve(BUSINESS, "ORDER-3/1", SKU, 1, bad_location)
        assert code_of(error) == code
    with pytest.raises(DomainError) as error:
        supply.reserve(BUSINESS, "ORDER-3/1", "NO-SUCH-SKU", 1)
    assert code_of(error) == "supply_item_not_found"
    assert supply.audit_stock(BUSINESS) == []


def test_moving_a_reservation_checks_the_new_location(supply: SupplyService) -> None:
    supply.reserve(BUSINESS, "ORDER-1/1", SKU, 4, "SKD-WS")
    with pytest.raises(DomainError) as error:
        supply.move_reservation(BUSINESS, "ORDER-1/1", "KHI-WH")
    assert code_of(error) == "supply_insufficient_stock"
    assert error.value.fields["location"] == "KHI-WH"
    # Nothing changed: still reserved in Skardu, and Karachi's available is not negative.
    assert supply.reservation(BUSINESS, "ORDER-1/1").location == "SKD-WS"
    assert level(supply, "SKD-WS") == (10, 4, 0, 6)
    assert level(supply, "KHI-WH") == (0, 0, 0, 0)

    transfer = supply.transfer_stock(BUSINESS, SKU, 5, "SKD-WS", "KHI-WH", request_id=uuid.uuid4())
    supply.receive_transfer(BUSINESS, transfer.id)
    moved = supply.move_reservation(BUSINESS, "ORDER-1/1", "KHI-WH")
    assert (moved.location, moved.quantity, moved.status) == ("KHI-WH", 4, ReservationStatus.ACTIVE)
    assert level(supply, "KHI-WH") == (5, 4, 0, 1)
    assert level(supply, "SKD-WS") == (5, 0, 0, 5)
    # Karachi has 1 left available: another 2 cannot move there.
    supply.reserve(BUSINESS, "ORDER-2/1", SKU, 2, "SKD-WS")
    with pytest.raises(DomainError) as error:
        supply.move_reservation(BUSINESS, "ORDER-2/1", "KHI-WH")
    assert code_of(error) == "supply_insufficient_stock"
    assert supply.audit_stock(BUSINESS) == []


def test_release_and_fulfil(supply: SupplyService) -> None:
    supply.reserve(BUSINESS, "ORDER-1/1", SKU, 3)
    supply.release(BUSINESS, "ORDER-1/1")
    supply.release(BUSINESS, "ORDER-1/1")  # nothing to release is not an error
    supply.release(BUSINESS, "NEVER-RESERVED")
    assert level(supply, "SKD-WS") == (10, 0, 0, 10)
    with pytest.raises(DomainError) as error:
        supply.fulfil(BUSINESS, "ORDER-1/1")
    assert code_of(error) == "supply_reservation_status"
    assert supply.reserve(BUSINESS, "ORDER-1/1", SKU, 3) == "SKD-WS"  # reserved again

    supply.fulfil(BUSINESS, "ORDER-1/1")
    supply.fulfil(BUSINESS, "ORDER-1/1")  # idempotent: the goods left once
    assert level(supply, "SKD-WS") == (7, 0, 0, 7)
    assert supply.reservation(BUSINESS, "ORDER-1/1").status is ReservationStatus.FULFILLED
    (shipped, *_) = supply.stock_moves(BUSINESS, sku=SKU)
    assert (shipped.from_location, shipped.to_location, shipped.quantity) == (
        "SKD-WS",
        "CUSTOMERS",
        3,
    )
    assert (shipped.reference, shipped.value_minor) == ("ORDER-1/1", 12_000_00)
    with pytest.raises(DomainError) as error:
        supply.release(BUSINESS, "ORDER-1/1")
    assert code_of(error) == "supply_reservation_status"
    with pytest.raises(DomainError) as error:
        supply.fulfil(BUSINESS, "NEVER-RESERVED")
    assert code_of(error) == "supply_reservation_not_found"
    assert [
        r.reference for r in supply.reservations(BUSINESS, status=ReservationStatus.FULFILLED)
    ] == ["ORDER-1/1"]


def test_transfers_go_through_transit_with_their_value_and_freight(supply: SupplyService) -> None:
    supply.reserve(BUSINESS, "ORDER-1/1", SKU, 7, "SKD-WS")
    with pytest.raises(DomainError) as error:  # reserved stock stays for its order
        supply.transfer_stock(BUSINESS, SKU, 4, "SKD-WS", "KHI-WH", request_id=uuid.uuid4())
    assert code_of(error) == "supply_insufficient_stock"
    supply.release(BUSINESS, "ORDER-1/1")

    request_id = uuid.uuid4()
    transfer = supply.transfer_stock(BUSINESS, SKU, 4, "SKD-WS", "KHI-WH", request_id=request_id)
    assert (
        supply.transfer_stock(BUSINESS, SKU, 4, "SKD-WS", "KHI-WH", request_id=request_id)
        == transfer
    )
    assert (transfer.status, transfer.value_minor) == (TransferStatus.IN_TRANSIT, 16_000_00)
    assert level(supply, "SKD-WS") == (6, 0, 0, 6)
    assert level(supply, "TRANSIT") == (4, 0, 0, 4)
    assert level(supply, "KHI-WH") == (0, 0, 4, 0)  # incoming

    with pytest.raises(DomainError) as error:
        supply.receive_transfer(BUSINESS, transfer.id, quantity_received=3)
    assert code_of(error) == "supply_reason_required"
    arrived = supply.receive_transfer(
        BUSINESS,
        transfer.id,
        quantity_received=3,
        reason="one shawl soaked on the Karakoram Highway",
        landed_costs=[LandedCost("Freight Skardu-Karachi", 900_00)],
    )
    assert (arrived.status, arrived.quantity_received, arrived.landed_cost_minor) == (
        TransferStatus.RECEIVED,
        3,
        900_00,
    )
    with pytest.raises(DomainError) as error:
        supply.receive_transfer(BUSINESS, transfer.id)
    assert code_of(error) == "supply_transfer_status"
    assert level(supply, "TRANSIT") == (0, 0, 0, 0)
    worth = {(v.location, v.sku): v for v in supply.stock_valuation(BUSINESS)}
    karachi = worth[("KHI-WH", SKU)]
    assert (karachi.quantity, karachi.value_minor) == (3, 12_000_00 + 900_00)
    assert karachi.average_unit_cost_minor == 4_300_00
    assert worth[("SKD-WS", SKU)].value_minor == 24_000_00
    assert ("TRANSIT", SKU) not in worth
    lost = supply.stock_moves(BUSINESS, location_code="ADJUSTMENTS", limit=1)[0]
    assert (lost.from_location, lost.quantity, lost.value_minor) == ("TRANSIT", 1, 4_000_00)
    assert lost.reason.startswith("lost in transit: one shawl")
    with pytest.raises(DomainError) as error:
        supply.transfer_stock(BUSINESS, SKU, 1, "SKD-WS", "SKD-WS", request_id=uuid.uuid4())
    assert code_of(error) == "supply_transfer_invalid"
    assert supply.audit_stock(BUSINESS) == []


def test_adjustments_and_counts_need_a_reason_and_refuse_negative_stock(
    supply: SupplyService,
) -> None:
    for reason in ("", "   "):
        with pytest.raises(DomainError) as error:
            supply.adjust_stock(BUSINESS, SKU, "SKD-WS", -1, reason, request_id=uuid.uuid4())
        assert code_of(error) == "supply_reason_required"
    with pytest.raises(DomainError) as error:
        supply.adjust_stock(BUSINESS, SKU, "SKD-WS", -11, "moth damage", request_id=uuid.uuid4())
    assert code_of(error) == "supply_insufficient_stock"
    damaged = supply.adjust_stock(
        BUSINESS, SKU, "SKD-WS", -2, "moth damage", request_id=uuid.uuid4()
    )
    assert (damaged.to_location, damaged.quantity, damaged.value_minor) == (
        "ADJUSTMENTS",
        2,
        8_000_00,
    )

    # A location that allows negative stock (a market stall selling ahead of delivery) may go below.
    supply.create_location(BUSINESS, "STALL", "Market stall", allow_negative=True)
    assert supply.reserve(BUSINESS, "STALL-SALE", SKU, 2, "STALL") == "STALL"
    supply.fulfil(BUSINESS, "STALL-SALE")
    assert level(supply, "STALL") == (-2, 0, 0, -2)

    supply.reserve(BUSINESS, "ORDER-1/1", SKU, 5, "SKD-WS")
    with pytest.raises(DomainError) as error:
        supply.count_stock(BUSINESS, "SKD-WS", {SKU: 4}, "monthly count", request_id=uuid.uuid4())
    assert code_of(error) == "supply_count_below_reserved"
    with pytest.raises(DomainError) as error:
        supply.count_stock(BUSINESS, "SKD-WS", {SKU: 9}, "", request_id=uuid.uuid4())
    assert code_of(error) == "supply_reason_required"
    request_id = uuid.uuid4()
    (found,) = supply.count_stock(
        BUSINESS, "SKD-WS", {SKU: 9}, "monthly count", request_id=request_id
    )
    assert (found.from_location, found.to_location, found.quantity) == ("ADJUSTMENTS", "SKD-WS", 1)
    assert found.value_minor == 4_000_00  # a find is valued at the average
    assert supply.count_stock(
        BUSINESS, "SKD-WS", {SKU: 9}, "monthly count", request_id=request_id
    ) == [found]
    assert level(supply, "SKD-WS") == (9, 5, 0, 4)
    assert (
        supply.count_stock(BUSINESS, "SKD-WS", {SKU: 9}, "recount", request_id=uuid.uuid4()) == []
    )
    problems = supply.audit_stock(BUSINESS)
    assert problems == []


def test_the_move_ledger_is_append_only(container: Container, supply: SupplyService) -> None:
    for statement in (
        "UPDATE supply_stock_moves SET quantity = 1000",
        "DELETE FROM supply_stock_moves",
    ):
        with pytest.raises(sa.exc.DatabaseError), container.engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert sum(move.quantity for move in supply.stock_moves(BUSINESS)) == 10


def test_incoming_purchases_count_at_their_delivery_location(supply: SupplyService) -> None:
    seller = supply.create_supplier(BUSINESS, "Gilgit Wool", raast_id="0345 1112223")
    order = supply.create_purchase_order(
        BUSINESS, seller.id, "KHI-WH", [OrderLineInput(SKU, 6, 3_500_00)]
    )
    assert level(supply, "KHI-WH") == (0, 0, 0, 0)  # drafts are not incoming
    supply.send_purchase_order(BUSINESS, order.id)
    assert level(supply, "KHI-WH") == (0, 0, 6, 0)
    supply.receive_goods(BUSINESS, order.id, [ReceiptLineInput(SKU, 2)], request_id=uuid.uuid4())
    assert level(supply, "KHI-WH") == (2, 0, 4, 2)
    assert level(supply, "SKD-WS") == (10, 0, 0, 10)
    history = supply.stock_moves(BUSINESS, sku=SKU, limit=1)
    older = supply.stock_moves(BUSINESS, sku=SKU, before_seq=history[0].seq)
    assert [m.reason for m in history + older] == [
        f"received against {order.number}",
        "opening stock",
    ]
