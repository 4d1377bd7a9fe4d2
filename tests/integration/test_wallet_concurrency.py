"""Payments from one wallet at once, on PostgreSQL (where workers really run in parallel)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from test_wallet_support import (
    SUPPLIER_NUMBER,
    assert_books_agree,
    balance_minor,
    business,
    connect_other_bank,
    new_key,
)

from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.settings import Settings
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import Customer, Direction, LimitKind, MovementStatus
from tijarat.wallet.service import WalletService

pytestmark = pytest.mark.postgres
THREADS = 8
DAY_LIMIT_MINOR = 10_000_00
SPENT_MINOR = 4_000_00
PAYMENT_MINOR = 1_000_00


@pytest.fixture
def pg_container(pg_url: str, clock: ManualClock) -> Iterator[Container]:
    built = build(Settings(database_url=pg_url, environment="test"), clock=clock)
    try:
        yield built
    finally:
        built.close()


def run_at_once(calls: list[tuple[Customer, str]], container: Container) -> list[object]:
    """Each (payer, to) pays PAYMENT_MINOR from its own thread, all released together."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def pay(index: int, payer: Customer, to: str) -> None:
        start.wait()
        try:
            results[index] = container.wallet.pay(
                payer.id, to=to, amount_minor=PAYMENT_MINOR, request_key=new_key()
            )
        except Exception as error:  # collected: the test says which were expected
            results[index] = error

    threads = [
        threading.Thread(target=pay, args=(index, payer, to))
        for index, (payer, to) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_payments_at_once_never_spend_more_than_the_day_limit_leaves(
    pg_container: Container,
) -> None:
    container = pg_container
    wallet = container.wallet
    connect_other_bank(container)
    firm = business(container, "Skardu Apricot Traders")
    packer = business(container, "Gilgit Packaging")
    wallet.deposit(firm.id, 50_000_00, new_key())
    wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, DAY_LIMIT_MINOR, by_operator=True)
    wallet.pay(firm.id, to=packer.mobile, amount_minor=SPENT_MINOR, request_key=new_key())

    # Rs 6,000 left today; eight payments of Rs 1,000 at once, half inside, half over the hub.
    destinations = [packer.mobile if i % 2 else SUPPLIER_NUMBER for i in range(THREADS)]
    results = run_at_once([(firm, to) for to in destinations], container)

    paid = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, Exception)]
    fits = (DAY_LIMIT_MINOR - SPENT_MINOR) // PAYMENT_MINOR
    assert len(paid) == fits, results
    assert all(
        isinstance(r, DomainError) and r.code == WalletError.LIMIT_EXCEEDED for r in refusals
    )
    for refusal in refusals:
        assert isinstance(refusal, DomainError)
        assert refusal.fields["limit"] == "debit_day"
        assert refusal.fields["remaining_minor"] < PAYMENT_MINOR
    assert all(getattr(r, "status", None) is MovementStatus.COMPLETED for r in paid)
    views = {v.kind: v for v in wallet.limits(firm.id)}
    assert views[LimitKind.DEBIT_DAY].used_minor == DAY_LIMIT_MINOR
    assert balance_minor(container, firm) == 50_000_00 - DAY_LIMIT_MINOR
    assert_books_agree(container)


def test_two_customers_paying_each_other_at_once_both_succeed(
    pg_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = pg_container
    wallet = container.wallet
    first = business(container, "Alpha Traders")
    second = business(container, "Beta Traders")
    for customer in (first, second):
        wallet.deposit(customer.id, 10_000_00, new_key())

    # Make the race certain rather than likely: each payment waits, holding its payer's lock,
    # until the other holds its own (or 3 s pass, when the locks are taken in one order).
    both_locked = threading.Barrier(2, timeout=3)
    check_limits = WalletService._check_limits

    def check_then_wait(
        self: WalletService,
        connection: sa.Connection,
        customer: Customer,
        direction: Direction,
        amount_minor: int,
        currency: str,
        balance_before_minor: int | None = None,
    ) -> None:
        check_limits(
            self, connection, customer, direction, amount_minor, currency, balance_before_minor
        )
        if direction is Direction.DEBIT:
            with contextlib.suppress(threading.BrokenBarrierError):
                both_locked.wait()

    monkeypatch.setattr(WalletService, "_check_limits", check_then_wait)
    results = run_at_once([(first, second.mobile), (second, first.mobile)], container)
    assert [type(r).__name__ for r in results] == ["PaymentOutcome", "PaymentOutcome"], results
    assert balance_minor(container, first) == balance_minor(container, second) == 10_000_00
