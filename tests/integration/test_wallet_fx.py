"""Foreign currency: imported rate tables, proceeds in USD, conversion to rupees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from test_wallet_support import (
    balance_minor,
    individual,
    new_key,
    own_account,
    refused,
)

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import Customer, Direction, convert_minor

# Statement windows end well after the last transfer (the ledger stamps transfers at
# increasing nanoseconds from the clock's reading, so "now" may be before the newest).
FAR = to_ns(datetime(2027, 1, 1, tzinfo=UTC))

RATES = "date,base,quote,rate\n2026-01-01,USD,PKR,280.125\n2026-01-02,USD,PKR,281.5\n"


@pytest.fixture
def exporter(container: Container) -> Customer:
    customer = individual(container, "Nadia Hussain")
    container.wallet.receive_foreign(
        customer.id, 1_000_00, "USD", new_key(), remitter="Hamburg Imports GmbH"
    )
    return customer


def net_credit(container: Container, account_id: uuid.UUID) -> int:
    return container.ledger.get_account(account_id).balance.net_credit_posted


def test_usd_converts_to_rupees_exactly_and_each_ledger_balances(
    container: Container, clock: ManualClock, exporter: Customer
) -> None:
    wallet = container.wallet
    assert wallet.import_rates(RATES, "SBP") == 2
    assert wallet.rate("USD", "PKR").rate == Decimal("280.125")

    # 1.00 USD -> 280.125 rupees = 28,012.5 paisa: half to even gives 28,012; 3.00 USD gives
    # 84,037.5 paisa -> 84,038.
    first = wallet.convert(exporter.id, 1_00, "USD", "PKR", uuid.uuid4())
    second = wallet.convert(exporter.id, 3_00, "usd", "pkr", uuid.uuid4())
    assert (first.to_amount_minor, first.rate) == (28_012, "280.125")
    assert (second.from_currency, second.to_amount_minor) == ("USD", 84_038)
    assert balance_minor(container, exporter, "USD") == 996_00
    assert balance_minor(container, exporter) == 112_050

    # Each currency's ledger balances on its own: wallet + FX position + nostro.
    usd_wallet = wallet.account_id(exporter.id, "USD")
    pkr_wallet = wallet.account_id(exporter.id, "PKR")
    assert net_credit(container, usd_wallet) == 996_00
    assert net_credit(container, own_account(container, "fx-position", "USD")) == 4_00
    assert net_credit(container, own_account(container, "foreign-nostro", "USD")) == -1_000_00
    assert net_credit(container, pkr_wallet) == 112_050
    assert net_credit(container, own_account(container, "fx-position", "PKR")) == -112_050
    assert container.ledger.verify().ok

    # The next Pakistan day uses that day's rate; the inverse serves PKR -> USD.
    clock.advance(seconds=19 * 3_600)
    assert wallet.rate("USD", "PKR").day == date(2026, 1, 2)
    third = wallet.convert(exporter.id, 1_00, "USD", "PKR", uuid.uuid4())
    assert (third.to_amount_minor, third.rate) == (28_150, "281.5")
    inverse = wallet.rate("PKR", "USD").rate
    assert inverse == (Decimal(1) / Decimal("281.5")).quantize(Decimal("1e-10"))
    back = wallet.convert(exporter.id, 100_000, "PKR", "USD", uuid.uuid4())
    assert back.to_amount_minor == convert_minor(100_000, inverse, 2, 2) == 355
    assert balance_minor(container, exporter, "USD") == 995_00 + 355
    assert balance_minor(container, exporter) == 112_050 + 28_150 - 100_000
    assert container.ledger.verify().ok

    # The dollar wallet's statement adds up like the rupee wallet's.
    statement = wallet.statement(exporter.id, "USD", 0, FAR)
    assert [(line.direction, line.amount_minor) for line in statement.lines] == [
        (Direction.CREDIT, 1_000_00),
        (Direction.DEBIT, 1_00),
        (Direction.DEBIT, 3_00),
        (Direction.DEBIT, 1_00),
        (Direction.CREDIT, 355),
    ]
    assert statement.opening_minor == 0
    assert statement.closing_minor == net_credit(container, usd_wallet) == 995_00 + 355
    assert all(line.movement is not None for line in statement.lines)


def test_a_missing_rate_or_a_bad_table_is_a_clear_error(
    container: Container, exporter: Customer
) -> None:
    wallet = container.wallet

    def convert() -> object:
        return wallet.convert(exporter.id, 1_00, "USD", "PKR", uuid.uuid4())

    error = refused(container, WalletError.FX_RATE_MISSING, convert)
    assert error.fields == {"base": "USD", "quote": "PKR", "day": "2026-01-01"}
    assert "no USD/PKR rate on or before 2026-01-01" in error.message

    # A bad line refuses the whole table, naming the line; nothing is imported.
    with pytest.raises(DomainError) as caught:
        wallet.import_rates(RATES + "2026-01-03,USD,PKR,two hundred\n", "SBP")
    assert (caught.value.code, caught.value.fields) == (WalletError.FX_RATES_INVALID, {"line": 4})
    assert "line 4" in caught.value.message
    refused(container, WalletError.FX_RATE_MISSING, convert)

    # A rate from tomorrow does not serve today.
    wallet.import_rates("date,base,quote,rate\n2026-01-02,USD,PKR,281.5\n", "SBP")
    refused(container, WalletError.FX_RATE_MISSING, convert)

    # A rate for a currency the wallet does not hold: the wallet refuses the currency.
    wallet.import_rates(RATES + "2026-01-01,EUR,PKR,305.5\n", "SBP")
    refused(
        container,
        WalletError.CURRENCY_NOT_SUPPORTED,
        lambda: wallet.convert(exporter.id, 1_00, "EUR", "PKR", uuid.uuid4()),
    )
    refused(
        container,
        WalletError.AMOUNT_INVALID,
        lambda: wallet.convert(exporter.id, 1, "PKR", "USD", uuid.uuid4()),  # rounds to nothing
    )
    # More dollars than the wallet holds: refused, and no money moves.
    usd_before = balance_minor(container, exporter, "USD")
    with pytest.raises(DomainError) as short:
        wallet.convert(exporter.id, 1_000_01, "USD", "PKR", uuid.uuid4())
    assert short.value.code == WalletError.INSUFFICIENT_FUNDS
    assert balance_minor(container, exporter, "USD") == usd_before
    assert balance_minor(container, exporter) == 0
    assert container.ledger.verify().ok
