"""Statements: opening balance + booked lines = closing balance = what the ledger holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_wallet_support import (
    ACCEPT,
    OTHER_BANK,
    SUPPLIER_NUMBER,
    business,
    connect_other_bank,
    individual,
    new_key,
    posted_minor,
)

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.switch.model import PayeeDecision, ReasonCode
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import Customer, Direction, MovementKind
from tijarat.wallet.service import WalletStatement

DAY_NS = 86_400 * 1_000_000_000
# The ledger stamps transfers at distinct, increasing nanoseconds from the clock's reading:
# a window ending "now" could miss the latest; every window here ends well after.
FAR = to_ns(datetime(2027, 1, 1, tzinfo=UTC))


def signed(statement: WalletStatement) -> int:
    return sum(
        line.amount_minor if line.direction is Direction.CREDIT else -line.amount_minor
        for line in statement.lines
    )


def assert_adds_up(statement: WalletStatement) -> None:
    running = statement.opening_minor
    for line in statement.lines:
        running += line.amount_minor if line.direction is Direction.CREDIT else -line.amount_minor
        assert line.balance_after_minor == running, line
        assert line.amount_minor > 0
    assert statement.closing_minor == statement.opening_minor + signed(statement) == running
    assert not statement.truncated


def test_a_statement_adds_up_and_matches_the_ledger(
    container: Container, clock: ManualClock
) -> None:
    wallet = container.wallet
    bank = connect_other_bank(container)
    customer: Customer = individual(container, "Imran Shah")
    friend = business(container, "Hunza Dry Fruits")
    wallet.deposit(friend.id, 50_000_00, new_key())
    start = clock.now_ns()

    # Day 1 (PKT): cash in, a wallet payment each way, a settled Raast payment.
    wallet.deposit(customer.id, 20_000_00, new_key())
    wallet.pay(customer.id, to=friend.mobile, amount_minor=1_250_50, request_key=new_key())
    wallet.pay(friend.id, to=customer.mobile, amount_minor=300_00, request_key=new_key())
    wallet.pay(customer.id, to=SUPPLIER_NUMBER, amount_minor=2_000_00, request_key=new_key())
    clock.advance(seconds=19 * 3_600)  # day 2
    day_two = clock.now_ns()
    # Day 2: a rejected payment (reserved, then voided: no booking), money received.
    bank.decision = PayeeDecision(accept=False, reason=ReasonCode.AC04)
    wallet.pay(customer.id, to=SUPPLIER_NUMBER, amount_minor=700_00, request_key=new_key())
    bank.send(customer.mobile, 4_000_00)
    wallet.withdraw(customer.id, 500_00, new_key())
    clock.advance(seconds=DAY_NS // 1_000_000_000)  # day 3
    day_three = clock.now_ns()

    account_id = wallet.account_id(customer.id, "PKR")
    whole = wallet.statement(customer.id, "PKR", start, FAR)
    assert_adds_up(whole)
    assert whole.opening_minor == 0
    assert whole.closing_minor == posted_minor(container, account_id)
    assert whole.closing_minor == 20_000_00 - 1_250_50 + 300_00 - 2_000_00 + 4_000_00 - 500_00
    kinds = [(line.movement.kind if line.movement else None) for line in whole.lines]
    assert kinds == [
        MovementKind.DEPOSIT,
        MovementKind.INTERNAL,
        MovementKind.INTERNAL,
        MovementKind.RAAST_OUT,
        MovementKind.RAAST_IN,
        MovementKind.WITHDRAWAL,
    ]

    # Windows chain: each opens where the one before closed.
    first = wallet.statement(customer.id, "PKR", start, day_two)
    second = wallet.statement(customer.id, "PKR", day_two, day_three)
    for part in (first, second):
        assert_adds_up(part)
    assert (first.opening_minor, first.closing_minor) == (0, second.opening_minor)
    assert second.closing_minor == whole.closing_minor
    assert len(first.lines) + len(second.lines) == len(whole.lines)

    # Day 3: a payment waits for the payee. Its reservation is not a booking ...
    bank.decision = None
    pending = wallet.pay(
        customer.id, to=SUPPLIER_NUMBER, amount_minor=900_00, request_key=new_key()
    )
    waiting = wallet.statement(customer.id, "PKR", day_three, FAR)
    assert (waiting.lines, waiting.closing_minor) == ((), whole.closing_minor)
    assert wallet.balance(customer.id).amount_minor == whole.closing_minor - 900_00
    # ... until the payee accepts: then it is booked.
    assert pending.payment_id is not None
    container.payments.answer(OTHER_BANK, pending.payment_id, ACCEPT)
    third = wallet.statement(customer.id, "PKR", day_three, FAR)
    assert_adds_up(third)
    assert [(line.direction, line.amount_minor) for line in third.lines] == [
        (Direction.DEBIT, 900_00)
    ]
    assert third.lines[0].movement is not None
    assert third.lines[0].movement.id == pending.movements[0].id
    assert third.closing_minor == posted_minor(container, account_id)
    assert wallet.statement(customer.id, "PKR", start, FAR).closing_minor == third.closing_minor

    with pytest.raises(DomainError) as caught:
        wallet.statement(customer.id, "PKR", day_three, day_two)
    assert caught.value.code == WalletError.STATEMENT_INVALID
