"""Many concurrent reservations for the last units, on PostgreSQL: exactly as many succeed as
there are units, the rest get "insufficient stock", and everything agrees with the move ledger.

Two containers on one database URL stand for two processes; each thread works through its
own pooled connection. A barrier releases the threads together so they really race.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container, build
from tijarat.kernel.errors import DomainError
from tijarat.settings import Settings
from tijarat.supply.model import ReservationStatus
from tijarat.supply.service import SupplyService

pytestmark = pytest.mark.postgres

BUSINESS = uuid.UUID("0190a7b2-3c4d-7e5f-8a9b-0c1d2e3f4a5d")
SKU = "CARPET-SILK-3X5"
PROCESSES = 2
THREADS = 20


@pytest.fixture
def services(pg_url: str) -> Iterator[list[SupplyService]]:
    containers: list[Container] = [
        build(Settings(database_url=pg_url, environment="test")) for _ in range(PROCESSES)
    ]
    try:
        yield [container.supply for container in containers]
    finally:
        for container in containers:
            container.close()


def race(
    services: list[SupplyService], calls: list[Callable[[SupplyService], object]]
) -> Counter[str]:
    """Run the calls at once, one thread each; count successes and error codes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int, call: Callable[[SupplyService], object]) -> None:
        barrier.wait()
        try:
            call(services[index % len(services)])
            outcome = "ok"
        except DomainError as error:
            outcome = error.code
        except Exception as error:  # anything else (a deadlock, a lost update) fails the test
            outcome = f"unexpected {type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return Counter(outcomes)


def levels(supply: SupplyService) -> dict[str, tuple[int, int]]:
    return {
        level.location: (level.quantity_on_hand, level.quantity_reserved)
        for level in supply.stock_levels(BUSINESS, sku=SKU)
    }


def ledger_on_hand(supply: SupplyService) -> dict[str, int]:
    """On hand recomputed straight from the move rows, independently of the service."""
    with supply.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT l.code, "
                " (SELECT COALESCE(SUM(quantity), 0) FROM supply_stock_moves m"
                "   WHERE m.to_location_id = l.id AND m.sku = :sku)"
                " - (SELECT COALESCE(SUM(quantity), 0) FROM supply_stock_moves m"
                "   WHERE m.from_location_id = l.id AND m.sku = :sku) "
                "FROM supply_locations l WHERE l.business_id = :business AND l.kind = 'internal'"
            ),
            {"sku": SKU, "business": BUSINESS},
        ).all()
    return {code: int(quantity) for code, quantity in rows}


def test_concurrent_reservations_never_oversell(services: list[SupplyService]) -> None:
    supply = services[0]
    supply.create_location(BUSINESS, "KHI-WH", "Karachi warehouse")
    supply.create_location(BUSINESS, "SKD-WS", "Skardu workshop")
    supply.create_item(BUSINESS, SKU, "Silk carpet 3x5")
    for location, quantity in (("KHI-WH", 5), ("SKD-WS", 3)):
        supply.adjust_stock(
            BUSINESS,
            SKU,
            location,
            quantity,
            "opening stock",
            request_id=uuid.uuid4(),
            unit_cost_minor=95_000_00,
        )

    # 1. Twenty orders race for the last 5 carpets at the Karachi warehouse.
    outcomes = race(
        services,
        [lambda s, n=n: s.reserve(BUSINESS, f"KHI-{n}", SKU, 1, "KHI-WH") for n in range(THREADS)],
    )
    assert outcomes == Counter({"ok": 5, "supply_insufficient_stock": THREADS - 5})
    assert levels(supply)["KHI-WH"] == (5, 5)
    active = supply.reservations(BUSINESS, sku=SKU)
    assert len(active) == 5
    assert {r.location for r in active} == {"KHI-WH"}

    # 2. Without a location: 3 left in Skardu, none in Karachi; twenty race for them.
    outcomes = race(
        services,
        [lambda s, n=n: s.reserve(BUSINESS, f"ANY-{n}", SKU, 1) for n in range(THREADS)],
    )
    assert outcomes == Counter({"ok": 3, "supply_insufficient_stock": THREADS - 3})
    assert levels(supply) == {"KHI-WH": (5, 5), "SKD-WS": (3, 3)}

    # 3. Fulfil two Karachi orders while every Skardu reservation tries to move to Karachi,
    # which then has nothing available: every move is refused, the fulfilments go through.
    skardu = [r.reference for r in supply.reservations(BUSINESS, sku=SKU) if r.location == "SKD-WS"]
    karachi = [
        r.reference for r in supply.reservations(BUSINESS, sku=SKU) if r.location == "KHI-WH"
    ]
    outcomes = race(
        services,
        [
            *[lambda s, ref=ref: s.move_reservation(BUSINESS, ref, "KHI-WH") for ref in skardu],
            *[lambda s, ref=ref: s.fulfil(BUSINESS, ref) for ref in karachi[:2]],
        ],
    )
    assert outcomes == Counter({"ok": 2, "supply_insufficient_stock": 3})

    # 4. Release two Karachi reservations and race the three Skardu ones to move into the
    # room they leave: exactly two move.
    for ref in karachi[2:4]:
        supply.release(BUSINESS, ref)
    outcomes = race(
        services,
        [lambda s, ref=ref: s.move_reservation(BUSINESS, ref, "KHI-WH") for ref in skardu],
    )
    assert outcomes == Counter({"ok": 2, "supply_insufficient_stock": 1})

    # Afterwards everything agrees with the ledger and with the reservation rows.
    assert ledger_on_hand(supply) == {"KHI-WH": 3, "SKD-WS": 3}
    assert levels(supply) == {"KHI-WH": (3, 3), "SKD-WS": (3, 1)}
    active = supply.reservations(BUSINESS, sku=SKU, status=ReservationStatus.ACTIVE)
    assert Counter(r.location for r in active) == Counter({"KHI-WH": 3, "SKD-WS": 1})
    assert supply.audit_stock(BUSINESS) == []
    shipped = supply.stock_moves(BUSINESS, location_code="CUSTOMERS")
    assert sorted(m.reference for m in shipped) == sorted(karachi[:2])
