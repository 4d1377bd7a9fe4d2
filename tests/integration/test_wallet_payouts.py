"""Bulk payouts: a CSV or pain.001 file paid row by row, reported per row, never paid twice."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from test_wallet_support import (
    ACCEPT,
    OTHER_BANK,
    OTHER_BANK_CODE,
    OtherBank,
    assert_books_agree,
    balance_minor,
    business,
    connect_other_bank,
    individual,
    new_key,
    refused,
    snapshot,
)

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022
from tijarat.wallet import files
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import (
    Customer,
    LimitKind,
    MovementKind,
    MovementStatus,
    PayoutRowStatus,
)

SUPPLIERS = 1_000
OTHER_BANK_NUMBERS = 20  # Raast IDs of suppliers at the other bank
CREATED = datetime(2026, 1, 1, 10, tzinfo=UTC)


def csv_file(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "raast_id", "iban", "amount", "reference"])
    writer.writerows(rows)
    return out.getvalue().encode()


def broken_iban(index: int) -> str:
    """A MEZN IBAN with a wrong check digit."""
    good = make_pk_iban(OTHER_BANK_CODE, str(index)).compact
    digits = (int(good[2:4]) + 1) % 100
    return f"PK{digits:02d}{good[4:]}"


@pytest.fixture
def bank(container: Container) -> OtherBank:
    return connect_other_bank(container)


def test_a_payout_to_1000_suppliers_reports_every_row_and_pays_once(
    sqlite_container: Container,
) -> None:
    """SQLite only, to keep the suite fast; the smaller payouts below run on both databases."""
    container = sqlite_container
    bank = connect_other_bank(container)
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")
    wallet.deposit(firm.id, 2_000_000_00, new_key())
    ours = [business(container, f"Wallet Supplier {n}") for n in range(5)]
    numbers = [f"0333{n:07d}" for n in range(OTHER_BANK_NUMBERS)]
    for n, number in enumerate(numbers):
        container.switch.link_alias(
            OTHER_BANK,
            number,
            make_pk_iban(OTHER_BANK_CODE, str(900_000 + n)).compact,
            f"61101{n:07d}5",
            f"Supplier By Number {n}",
        )
    bad = {3: "bad IBAN", 5: "zero amount", 7: "unknown Raast ID"}
    rows: list[tuple[str, str, str, str, str]] = []
    to_other_bank = 0
    to_ours: Counter[uuid.UUID] = Counter()
    for index in range(1, SUPPLIERS + 1):
        amount_minor = 1_000_00 + index
        amount = str(Money(amount_minor, "PKR")).removeprefix("PKR ")
        name, reference = f"Supplier {index}", f"INV-{index}"
        payee = ours[index % len(ours)]
        if index == 3:
            rows.append((name, "", broken_iban(index), amount, reference))
        elif index == 5:
            rows.append((name, "", make_pk_iban(OTHER_BANK_CODE, "5").compact, "0.00", reference))
        elif index == 7:
            rows.append((name, "03009999999", "", amount, reference))
        elif index % 2 == 0:  # half at the other bank, by IBAN
            rows.append(
                (name, "", make_pk_iban(OTHER_BANK_CODE, str(index)).compact, amount, reference)
            )
            to_other_bank += amount_minor
        elif index % 10 == 1:  # by Raast ID: ours and the other bank's
            if index % 20 == 1:
                rows.append((name, payee.mobile, "", amount, reference))
                to_ours[payee.id] += amount_minor
            else:
                rows.append((name, numbers[index % len(numbers)], "", amount, reference))
                to_other_bank += amount_minor
        else:  # the rest to wallets of ours, by IBAN
            iban = wallet.account(payee.id).iban
            rows.append((name, "", Iban.parse(iban).formatted, amount, reference))
            to_ours[payee.id] += amount_minor
    content = csv_file(rows)
    theirs_before = bank.liquidity_minor()

    payout = wallet.payout(firm.id, content, file_name="suppliers-january.csv")

    assert [r.line for r in payout.rows] == list(range(2, SUPPLIERS + 2))
    rejected = {r.line - 1: (r.reason, r.status) for r in payout.rows if r.reason is not None}
    assert rejected == {
        3: ("AC01", PayoutRowStatus.REJECTED),
        5: (WalletError.AMOUNT_INVALID.value, PayoutRowStatus.REJECTED),
        7: ("AC03", PayoutRowStatus.REJECTED),
    }, bad
    assert payout.count(PayoutRowStatus.SETTLED) == SUPPLIERS - len(bad)
    assert payout.settled_minor == to_other_bank + sum(to_ours.values())
    assert balance_minor(container, firm) == 2_000_000_00 - payout.settled_minor
    assert bank.liquidity_minor() == theirs_before + to_other_bank
    for payee in ours:
        assert balance_minor(container, payee) == to_ours[payee.id]
    paid = wallet.history(firm.id, kind=MovementKind.PAYOUT, limit=200)
    assert all(m.status is MovementStatus.COMPLETED for m in paid)
    assert_books_agree(container)

    # The same file again: the same payout, and nothing paid again.
    before = snapshot(container)
    again = wallet.payout(firm.id, content, file_name="suppliers-january (1).csv")
    assert (again.id, again.rows) == (payout.id, payout.rows)
    assert snapshot(container) == before
    assert [p.id for p in wallet.payouts(firm.id)] == [payout.id]
    assert wallet.payout_by_id(firm.id, payout.id).rows == payout.rows

    # The report: a pain.002 valid against the XSD, one status per row.
    xml = files.payout_report_pain002(payout, CREATED)
    iso20022.validate(xml, "pain.002.001.10")
    report = iso20022.parse_pain002(xml)
    assert report.original_group.status is iso20022.PaymentStatus.PART
    statuses = Counter(t.status for t in report.payment_instructions[0].transactions)
    assert statuses == {
        iso20022.PaymentStatus.ACSC: SUPPLIERS - len(bad),
        iso20022.PaymentStatus.RJCT: len(bad),
    }


def pain001_file(transactions: list[iso20022.InitiationTransaction]) -> bytes:
    debtor = iso20022.Party("Skardu Apricot Traders")
    return iso20022.build_pain001(
        iso20022.CustomerCreditTransferInitiation(
            message_id="PAYOUT-2026-01",
            created_at=CREATED,
            initiating_party=debtor,
            payment_instructions=(
                iso20022.PaymentInstruction(
                    payment_information_id="PMT-1",
                    requested_execution=date(2026, 1, 1),
                    debtor=debtor,
                    debtor_account=iso20022.Account(iban=make_pk_iban("TIJW", "1")),
                    debtor_agent=iso20022.Agent(member_id="TIJW"),
                    transactions=tuple(transactions),
                ),
            ),
        )
    )


def test_a_pain001_file_is_paid_like_a_csv(container: Container, bank: OtherBank) -> None:
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")
    wallet.deposit(firm.id, 100_000_00, new_key())
    packer = business(container, "Gilgit Packaging")

    def pay_to(
        reference: str, amount: Money, account: iso20022.Account
    ) -> iso20022.InitiationTransaction:
        return iso20022.InitiationTransaction(
            end_to_end_id=reference,
            amount=amount,
            creditor=iso20022.Party(f"Payee {reference}"),
            creditor_account=account,
        )

    content = pain001_file(
        [
            pay_to(
                "SUP-1",
                Money(1_000_00, "PKR"),
                iso20022.Account(iban=make_pk_iban(OTHER_BANK_CODE, "11")),
            ),
            pay_to(
                "SUP-2",
                Money(2_000_00, "PKR"),
                iso20022.Account(proxy=MobileNumber.parse("03219876543")),
            ),
            pay_to(
                "SUP-3",
                Money(3_000_00, "PKR"),
                iso20022.Account(iban=Iban.parse(wallet.account(packer.id).iban)),
            ),
            pay_to(
                "SUP-4", Money(4_000_00, "USD"), iso20022.Account(iban=make_pk_iban("MEZN", "44"))
            ),
        ]
    )
    theirs_before = bank.liquidity_minor()
    payout = wallet.payout(firm.id, content, file_name="payout.xml")
    assert [(r.line, r.reference, r.status, r.reason) for r in payout.rows] == [
        (1, "SUP-1", PayoutRowStatus.SETTLED, None),
        (2, "SUP-2", PayoutRowStatus.SETTLED, None),
        (3, "SUP-3", PayoutRowStatus.SETTLED, None),
        (4, "SUP-4", PayoutRowStatus.REJECTED, WalletError.AMOUNT_INVALID.value),
    ]
    assert bank.liquidity_minor() == theirs_before + 3_000_00
    assert balance_minor(container, packer) == 3_000_00
    assert balance_minor(container, firm) == 94_000_00
    iso20022.validate(files.payout_report_pain002(payout, CREATED), "pain.002.001.10")
    assert_books_agree(container)


def test_rows_beyond_a_limit_or_the_balance_are_rejected_and_later_rows_still_paid(
    container: Container, bank: OtherBank
) -> None:
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")
    wallet.deposit(firm.id, 15_000_00, new_key())
    wallet.set_limit(firm.id, LimitKind.DEBIT_DAY, 10_000_00, by_operator=True)

    def supplier(n: int, rupees: str) -> tuple[str, str, str, str, str]:
        return (f"Supplier {n}", "", make_pk_iban(OTHER_BANK_CODE, str(n)).compact, rupees, "")

    payout = wallet.payout(
        firm.id,
        csv_file(
            [supplier(1, "6000"), supplier(2, "5000"), supplier(3, "4000"), supplier(4, "0.01")]
        ),
    )
    assert [(r.status, r.reason) for r in payout.rows] == [
        (PayoutRowStatus.SETTLED, None),
        (PayoutRowStatus.REJECTED, WalletError.LIMIT_EXCEEDED.value),
        (PayoutRowStatus.SETTLED, None),
        (PayoutRowStatus.REJECTED, WalletError.LIMIT_EXCEEDED.value),
    ]
    assert "debit day limit" in (payout.rows[1].detail or "")
    assert balance_minor(container, firm) == 5_000_00

    other = business(container, "Hunza Dry Fruits")  # no limits; Rs 5,000 to spend
    wallet.deposit(other.id, 5_000_00, new_key())
    payout = wallet.payout(
        other.id, csv_file([supplier(5, "3000"), supplier(6, "3000"), supplier(7, "2000")])
    )
    assert [(r.status, r.reason) for r in payout.rows] == [
        (PayoutRowStatus.SETTLED, None),
        (PayoutRowStatus.REJECTED, "AM04"),
        (PayoutRowStatus.SETTLED, None),
    ]
    assert balance_minor(container, other) == 0
    # An unreadable file pays nothing at all.
    refused(
        container,
        WalletError.PAYOUT_INVALID,
        lambda: wallet.payout(other.id, b"payee;amount\nSomeone;100\n"),
    )
    assert_books_agree(container)


def test_a_payout_row_to_our_wallet_respects_the_payees_credit_limits(
    container: Container,
) -> None:
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")
    wallet.deposit(firm.id, 100_000_00, new_key())
    payee: Customer = individual(container, "Level Zero Supplier")  # Rs 25,000 a day in
    iban = wallet.account(payee.id).iban
    payout = wallet.payout(firm.id, csv_file([("Level Zero Supplier", "", iban, "30000", "")]))
    (row,) = payout.rows
    # AM02, not the payee's limit figures: the payer must not learn the payee's headroom.
    assert (row.status, row.reason) == (PayoutRowStatus.REJECTED, "AM02")
    assert balance_minor(container, payee) == 0


def test_a_pending_payout_row_is_reported_settled_once_the_payee_accepts(
    container: Container, bank: OtherBank
) -> None:
    wallet = container.wallet
    firm = business(container, "Skardu Apricot Traders")
    wallet.deposit(firm.id, 10_000_00, new_key())
    bank.decision = None  # the payee does not answer at once
    iban = make_pk_iban(OTHER_BANK_CODE, "1").compact
    payout = wallet.payout(firm.id, csv_file([("Supplier 1", "", iban, "100", "INV-1")]))
    (row,) = payout.rows
    assert row.status is PayoutRowStatus.PENDING
    assert row.uetr is not None
    container.payments.answer(OTHER_BANK, container.payments.by_uetr(row.uetr).id, ACCEPT)
    (movement,) = wallet.history(firm.id, kind=MovementKind.PAYOUT)
    assert movement.status is MovementStatus.COMPLETED  # the money has gone ...
    (stored,) = wallet.payout_by_id(firm.id, payout.id).rows
    assert stored.status is PayoutRowStatus.SETTLED  # ... and the payout should say so
