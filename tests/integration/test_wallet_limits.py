"""Wallet limits: every limit refuses with which limit and how much remains, moving nothing.

ManualClock starts at 2026-01-01 00:00 UTC, which is 05:00 in Pakistan (UTC+5); 19:00 UTC is
midnight in Pakistan, when the day's limits reset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from test_wallet_support import (
    balance_minor,
    business,
    individual,
    new_key,
    publish_tier,
    refused,
)

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import Customer, Direction, LimitKind, Period, Tier

EXCEEDED = WalletError.LIMIT_EXCEEDED
TRANSACTION_MINOR = 10_000_00
DAY_MINOR = 15_000_00
MONTH_MINOR = 40_000_00
YEAR_MINOR = 60_000_00


def advance_to(
    clock: ManualClock, year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
    """Move the clock forward to a moment given in UTC."""
    target = to_ns(datetime(year, month, day, hour, minute, second, tzinfo=UTC))
    assert target >= clock.now_ns()
    clock.advance(seconds=(target - clock.now_ns()) / 1_000_000_000)


def assert_breach(
    error: DomainError,
    kind: LimitKind,
    limit_minor: int,
    used_minor: int,
    resets_at: str | None,
) -> None:
    assert error.status == 422
    expected: dict[str, object] = {
        "limit": kind.value,
        "limit_minor": limit_minor,
        "used_minor": used_minor,
        "remaining_minor": limit_minor - used_minor,
    }
    if resets_at is not None:
        expected["resets_at"] = resets_at
    assert error.fields == expected
    assert f"{kind.value.replace('_', ' ')} limit" in error.message


def view(container: Container, customer: Customer) -> dict[LimitKind, tuple[int | None, int]]:
    """Each limit's (effective, used)."""
    return {v.kind: (v.effective_minor, v.used_minor) for v in container.wallet.limits(customer.id)}


# ---------------------------------------------------------------------------- the ladder
@pytest.mark.parametrize("direction", list(Direction))
def test_transaction_day_month_and_year_limits_in_pakistan_time(
    container: Container, clock: ManualClock, direction: Direction
) -> None:
    """The same walk for money leaving (payments) and arriving (cash in), counted apart."""
    wallet = container.wallet
    limits = {
        LimitKind.of(direction, Period.TRANSACTION): TRANSACTION_MINOR,
        LimitKind.of(direction, Period.DAY): DAY_MINOR,
        LimitKind.of(direction, Period.MONTH): MONTH_MINOR,
        LimitKind.of(direction, Period.YEAR): YEAR_MINOR,
    }
    publish_tier(container, "probe", limits)
    customer = individual(container, "Ayesha Khan", tier="probe")
    move: Callable[[int], object]
    if direction is Direction.DEBIT:
        payee = business(container, "Hunza Dry Fruits")
        wallet.deposit(customer.id, 100_000_00, new_key())  # no credit limits at this tier

        def move(amount_minor: int) -> object:
            return wallet.pay(
                customer.id, to=payee.mobile, amount_minor=amount_minor, request_key=new_key()
            )
    else:

        def move(amount_minor: int) -> object:
            return wallet.deposit(customer.id, amount_minor, new_key())

    def refuse(amount_minor: int) -> DomainError:
        return refused(container, EXCEEDED, lambda: move(amount_minor))

    kind = {p: LimitKind.of(direction, p) for p in Period}
    start_balance = balance_minor(container, customer)

    # 1 January (PKT): the transaction limit, then the day limit, each exactly and one paisa over.
    error = refuse(TRANSACTION_MINOR + 1)
    assert_breach(error, kind[Period.TRANSACTION], TRANSACTION_MINOR, 0, None)
    assert "PKR 10000.00 remains" in error.message
    move(TRANSACTION_MINOR)
    error = refuse(5_000_01)
    assert_breach(
        error, kind[Period.DAY], DAY_MINOR, 10_000_00, resets_at="2026-01-01T19:00:00+00:00"
    )
    assert "PKR 5000.00 remains; it resets at 2026-01-02 00:00 PKT" in error.message
    move(5_000_00)
    assert view(container, customer)[kind[Period.DAY]] == (DAY_MINOR, DAY_MINOR)
    assert_breach(refuse(1), kind[Period.DAY], DAY_MINOR, DAY_MINOR, "2026-01-01T19:00:00+00:00")

    # 23:59:59 in Pakistan the day is still spent; at midnight (19:00 UTC) it resets.
    advance_to(clock, 2026, 1, 1, 18, 59, 59)
    assert_breach(refuse(1), kind[Period.DAY], DAY_MINOR, DAY_MINOR, "2026-01-01T19:00:00+00:00")
    clock.advance(seconds=1)
    assert view(container, customer)[kind[Period.DAY]] == (DAY_MINOR, 0)
    move(10_000_00)  # 2 January: month 25,000

    clock.advance(timedelta(days=1))  # 3 January: month 40,000, exactly its limit
    move(10_000_00)
    move(5_000_00)
    clock.advance(timedelta(days=1))  # 4 January: the day is fresh, the month is not
    month_resets = "2026-01-31T19:00:00+00:00"
    assert_breach(refuse(1), kind[Period.MONTH], MONTH_MINOR, MONTH_MINOR, month_resets)
    advance_to(clock, 2026, 1, 31, 18, 59, 59)  # 23:59:59 on 31 January in Pakistan
    assert_breach(refuse(1), kind[Period.MONTH], MONTH_MINOR, MONTH_MINOR, month_resets)
    clock.advance(seconds=1)  # 1 February in Pakistan
    move(10_000_00)  # year 50,000
    clock.advance(timedelta(days=1))
    move(10_000_00)  # 2 February: year 60,000, exactly its limit
    clock.advance(timedelta(days=1))
    year_resets = "2026-12-31T19:00:00+00:00"
    assert_breach(refuse(1), kind[Period.YEAR], YEAR_MINOR, YEAR_MINOR, year_resets)

    used = view(container, customer)
    assert used[kind[Period.DAY]] == (DAY_MINOR, 0)
    assert used[kind[Period.MONTH]] == (MONTH_MINOR, 20_000_00)
    assert used[kind[Period.YEAR]] == (YEAR_MINOR, YEAR_MINOR)
    other = Direction.CREDIT if direction is Direction.DEBIT else Direction.DEBIT
    if direction is Direction.CREDIT:  # the other direction counted nothing
        assert used[LimitKind.of(other, Period.YEAR)] == (None, 0)
    moved = YEAR_MINOR if direction is Direction.CREDIT else -YEAR_MINOR
    assert balance_minor(container, customer) == start_balance + moved
    assert container.ledger.verify().ok


def test_the_balance_cap_and_the_payees_credit_limits_refuse_credits(container: Container) -> None:
    wallet = container.wallet
    publish_tier(container, "capped", {LimitKind.BALANCE: 50_000_00})
    customer = individual(container, "Bilal Ahmed", tier="capped")
    payer = business(container, "Gilgit Gems")
    wallet.deposit(payer.id, 100_000_00, new_key())
    wallet.deposit(customer.id, 30_000_00, new_key())
    wallet.pay(payer.id, to=customer.mobile, amount_minor=20_000_00, request_key=new_key())
    assert balance_minor(container, customer) == 50_000_00  # exactly at the cap
    error = refused(container, EXCEEDED, lambda: wallet.deposit(customer.id, 1, new_key()))
    assert_breach(error, LimitKind.BALANCE, 50_000_00, 50_000_00, None)
    # A payment to the capped wallet is refused to the payer, and nothing moves either.
    error = refused(
        container,
        WalletError.PAYEE_CANNOT_RECEIVE,
        lambda: wallet.pay(payer.id, to=customer.mobile, amount_minor=1, request_key=new_key()),
    )
    assert error.fields == {"reason": "AM02"}  # not the payee's balance or cap
    wallet.withdraw(customer.id, 1_000_00, new_key())
    error = refused(container, EXCEEDED, lambda: wallet.deposit(customer.id, 1_000_01, new_key()))
    assert_breach(error, LimitKind.BALANCE, 50_000_00, 49_000_00, None)
    wallet.deposit(customer.id, 1_000_00, new_key())
    assert balance_minor(container, customer) == 50_000_00

    # The payee's credit limits bind a payment to them too.
    payee = individual(container, "Saima Noor")  # level0: Rs 25,000 a day in
    wallet.pay(payer.id, to=payee.mobile, amount_minor=20_000_00, request_key=new_key())
    # The payer is told the payee cannot receive it (AM02), never the payee's figures.
    error = refused(
        container,
        WalletError.PAYEE_CANNOT_RECEIVE,
        lambda: wallet.pay(payer.id, to=payee.mobile, amount_minor=5_000_01, request_key=new_key()),
    )
    assert error.fields == {"reason": "AM02"}
    wallet.pay(payer.id, to=payee.mobile, amount_minor=5_000_00, request_key=new_key())
    assert balance_minor(container, payee) == 25_000_00


# ---------------------------------------------------------------------------- own limits
def test_a_customer_lowers_a_limit_then_raises_it_within_the_tier(container: Container) -> None:
    wallet = container.wallet
    customer = individual(container, "Zainab Ali")  # level0: Rs 25,000 a day out
    payee = business(container, "Hunza Dry Fruits")
    wallet.deposit(customer.id, 25_000_00, new_key())

    views = {v.kind: v for v in wallet.set_limit(customer.id, LimitKind.DEBIT_DAY, 1_000_00)}
    lowered = views[LimitKind.DEBIT_DAY]
    assert (lowered.tier_minor, lowered.own_minor, lowered.effective_minor) == (
        25_000_00,
        1_000_00,
        1_000_00,
    )

    def pay(amount_minor: int) -> object:
        return wallet.pay(
            customer.id, to=payee.mobile, amount_minor=amount_minor, request_key=new_key()
        )

    error = refused(container, EXCEEDED, lambda: pay(1_000_01))
    assert_breach(error, LimitKind.DEBIT_DAY, 1_000_00, 0, "2026-01-01T19:00:00+00:00")
    pay(1_000_00)

    # Raise it again, at most to the tier's limit.
    wallet.set_limit(customer.id, LimitKind.DEBIT_DAY, 25_000_00)
    pay(24_000_00)
    error = refused(
        container,
        WalletError.LIMIT_INVALID,
        lambda: wallet.set_limit(customer.id, LimitKind.DEBIT_DAY, 25_000_01),
    )
    assert error.fields == {"kind": "debit_day", "maximum_minor": 25_000_00}
    assert view(container, customer)[LimitKind.DEBIT_DAY] == (25_000_00, 25_000_00)
    for bad in (-1, 1.5, "100"):
        with pytest.raises(DomainError) as caught:
            wallet.set_limit(customer.id, LimitKind.DEBIT_DAY, bad)  # type: ignore[arg-type]
        assert caught.value.code == WalletError.LIMIT_INVALID
    # Cleared: the tier's limit again.
    views = {v.kind: v for v in wallet.set_limit(customer.id, LimitKind.DEBIT_DAY, None)}
    assert views[LimitKind.DEBIT_DAY].own_minor is None
    assert views[LimitKind.DEBIT_DAY].effective_minor == 25_000_00


def test_an_operator_assigns_a_business_its_own_limits(container: Container) -> None:
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")  # the business tier has no limits
    supplier = business(container, "Karachi Packaging")
    assert all(v.effective_minor is None for v in wallet.limits(firm.id))
    wallet.deposit(firm.id, 1_000_000_00, new_key())

    wallet.set_limit(firm.id, LimitKind.DEBIT_TRANSACTION, 50_000_00, by_operator=True)
    wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, 100_000_00, by_operator=True)
    wallet.set_limit(firm.id, LimitKind.CREDIT_DAY, 1_200_000_00, by_operator=True)
    views = {v.kind: v for v in wallet.limits(firm.id)}
    assert (views[LimitKind.DEBIT_DAY].assigned_minor, views[LimitKind.DEBIT_DAY].tier_minor) == (
        100_000_00,
        None,
    )

    def pay(amount_minor: int) -> object:
        return wallet.pay(
            firm.id, to=supplier.mobile, amount_minor=amount_minor, request_key=new_key()
        )

    error = refused(container, EXCEEDED, lambda: pay(50_000_01))
    assert_breach(error, LimitKind.DEBIT_TRANSACTION, 50_000_00, 0, None)
    pay(50_000_00)
    # The business may not raise itself above what the operator assigned ...
    error = refused(
        container,
        WalletError.LIMIT_INVALID,
        lambda: wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, 100_000_01),
    )
    assert error.fields == {"kind": "debit_day", "maximum_minor": 100_000_00}
    # ... but may lower itself below it.
    wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, 60_000_00)
    error = refused(container, EXCEEDED, lambda: pay(10_000_01))
    assert_breach(error, LimitKind.DEBIT_DAY, 60_000_00, 50_000_00, "2026-01-01T19:00:00+00:00")
    pay(10_000_00)
    # An operator may raise what it assigned; the business's own lower limit still binds.
    wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, 300_000_00, by_operator=True)
    assert view(container, firm)[LimitKind.DEBIT_DAY] == (60_000_00, 60_000_00)
    error = refused(
        container,
        EXCEEDED,
        lambda: wallet.deposit(firm.id, 300_000_01, new_key()),
    )
    assert_breach(
        error, LimitKind.CREDIT_DAY, 1_200_000_00, 1_000_000_00, "2026-01-01T19:00:00+00:00"
    )


# ---------------------------------------------------------------------------- tier versions
def test_a_new_tier_version_applies_from_its_pakistan_date(
    container: Container, clock: ManualClock
) -> None:
    wallet = container.wallet
    customer = individual(container, "Hamza Iqbal")
    payee = business(container, "Hunza Dry Fruits")
    wallet.deposit(customer.id, 25_000_00, new_key())
    today = wallet.tier("level0")
    tomorrow = date(2026, 1, 2)  # Pakistan date; today is 1 January
    limits = dict(today.limits_minor)
    limits[LimitKind.DEBIT_TRANSACTION] = 5_000_00
    wallet.publish_tier(Tier("level0", "Level 0 (2026 rules)", tomorrow, limits))

    assert wallet.tier("level0") == today  # not in force yet
    assert wallet.tier("level0", on=tomorrow).limit(LimitKind.DEBIT_TRANSACTION) == 5_000_00
    assert [t.effective_from for t in wallet.tier_history() if t.code == "level0"] == [
        date(2024, 1, 1),
        tomorrow,
    ]

    def pay(amount_minor: int) -> object:
        return wallet.pay(
            customer.id, to=payee.mobile, amount_minor=amount_minor, request_key=new_key()
        )

    pay(10_000_00)
    advance_to(clock, 2026, 1, 1, 18, 59, 59)  # still 1 January in Pakistan
    pay(5_000_01)
    clock.advance(seconds=1)  # 2 January in Pakistan: the new version is in force
    error = refused(container, EXCEEDED, lambda: pay(5_000_01))
    assert_breach(error, LimitKind.DEBIT_TRANSACTION, 5_000_00, 0, None)
    pay(5_000_00)
    view_now = {v.kind: v for v in wallet.limits(customer.id)}
    assert view_now[LimitKind.DEBIT_TRANSACTION].tier_minor == 5_000_00
    # A customer's own limit may not exceed the new version either.
    with pytest.raises(DomainError) as caught:
        wallet.set_limit(customer.id, LimitKind.DEBIT_TRANSACTION, 5_000_01)
    assert caught.value.fields["maximum_minor"] == 5_000_00
    # One version per tier and date.
    with pytest.raises(DomainError) as again:
        wallet.publish_tier(Tier("level0", "Level 0 (again)", tomorrow, limits))
    assert again.value.code == WalletError.TIER_INVALID
