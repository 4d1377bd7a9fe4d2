"""The wallet's pure rules: limits and Pakistan-time windows, fees, FX rounding, files."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022
from tijarat.wallet import files
from tijarat.wallet.errors import WalletError, limit_error
from tijarat.wallet.model import (
    PAYOUT_FILE_BYTES_MAX,
    Direction,
    FeeRule,
    LimitBreach,
    LimitKind,
    MovementKind,
    Payout,
    PayoutRowResult,
    PayoutRowStatus,
    Period,
    Usage,
    convert_minor,
    first_breach,
    next_window_ns,
    pakistan_day,
    tighter,
    window_start_ns,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return to_ns(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


NOW = utc(2026, 1, 1, 10, 0)  # 15:00 in Pakistan
DEBIT_LIMITS: dict[LimitKind, int | None] = {
    LimitKind.DEBIT_TRANSACTION: 10_000_00,
    LimitKind.DEBIT_DAY: 15_000_00,
    LimitKind.DEBIT_MONTH: 40_000_00,
    LimitKind.DEBIT_YEAR: 60_000_00,
}
CREDIT_LIMITS: dict[LimitKind, int | None] = {
    LimitKind.CREDIT_TRANSACTION: 10_000_00,
    LimitKind.CREDIT_DAY: 15_000_00,
    LimitKind.CREDIT_MONTH: 40_000_00,
    LimitKind.CREDIT_YEAR: 60_000_00,
    LimitKind.BALANCE: 50_000_00,
}


# ---------------------------------------------------------------------------- limit kinds
def test_limit_kinds_name_their_direction_and_period() -> None:
    assert LimitKind.of(Direction.DEBIT, Period.DAY) is LimitKind.DEBIT_DAY
    assert LimitKind.of(Direction.CREDIT, Period.TRANSACTION) is LimitKind.CREDIT_TRANSACTION
    assert (LimitKind.CREDIT_YEAR.direction, LimitKind.CREDIT_YEAR.period) == (
        Direction.CREDIT,
        Period.YEAR,
    )
    assert (LimitKind.BALANCE.direction, LimitKind.BALANCE.period) == (None, None)
    every = {LimitKind.of(d, p) for d in Direction for p in Period} | {LimitKind.BALANCE}
    assert every == set(LimitKind)


def test_the_tightest_limit_applies_and_none_means_unlimited() -> None:
    assert tighter(25_000_00, None, 5_000_00) == 5_000_00
    assert tighter(None, 7) == 7
    assert tighter(None, None) is None
    assert tighter(0, 10) == 0  # a limit of zero forbids, it is not "unset"


# ---------------------------------------------------------------------------- first breach
@pytest.mark.parametrize("direction", list(Direction))
def test_each_period_passes_at_its_limit_and_fails_one_paisa_over(direction: Direction) -> None:
    limits = DEBIT_LIMITS if direction is Direction.DEBIT else CREDIT_LIMITS
    # Per transaction: nothing used yet.
    assert first_breach(limits, direction, 10_000_00, Usage(), NOW) is None
    breach = first_breach(limits, direction, 10_000_01, Usage(), NOW)
    assert breach == LimitBreach(
        LimitKind.of(direction, Period.TRANSACTION), 10_000_00, 0, 10_000_00, None
    )
    # Day, month and year: what is used counts; the window's end is when it resets.
    cases = [
        (Period.DAY, Usage(10_000_00, 10_000_00, 10_000_00), 15_000_00, utc(2026, 1, 1, 19)),
        (Period.MONTH, Usage(0, 35_000_00, 35_000_00), 40_000_00, utc(2026, 1, 31, 19)),
        (Period.YEAR, Usage(0, 0, 55_000_00), 60_000_00, utc(2026, 12, 31, 19)),
    ]
    for period, usage, limit, resets_at in cases:
        used = usage.for_period(period)
        assert first_breach(limits, direction, limit - used, usage, NOW) is None, period
        breach = first_breach(limits, direction, limit - used + 1, usage, NOW)
        assert breach == LimitBreach(
            LimitKind.of(direction, period), limit, used, limit - used, resets_at
        ), period


def test_the_first_limit_broken_is_reported_in_order() -> None:
    # Breaks the transaction, day and month limits at once: the transaction limit is named.
    usage = Usage(14_000_00, 39_000_00, 39_000_00)
    breach = first_breach(DEBIT_LIMITS, Direction.DEBIT, 12_000_00, usage, NOW)
    assert breach is not None
    assert breach.kind is LimitKind.DEBIT_TRANSACTION
    breach = first_breach(DEBIT_LIMITS, Direction.DEBIT, 2_000_00, usage, NOW)
    assert breach is not None
    assert breach.kind is LimitKind.DEBIT_DAY
    # Used beyond the limit already (a lowered limit): nothing remains, never a negative.
    over = first_breach(DEBIT_LIMITS, Direction.DEBIT, 1, Usage(20_000_00, 0, 0), NOW)
    assert over is not None
    assert (over.kind, over.remaining_minor) == (LimitKind.DEBIT_DAY, 0)


def test_debits_and_credits_are_limited_separately() -> None:
    spent = Usage(15_000_00, 15_000_00, 15_000_00)
    limits = DEBIT_LIMITS | CREDIT_LIMITS
    assert first_breach(limits, Direction.DEBIT, 1, spent, NOW) is not None
    # The same usage counted as debits says nothing about credits (separate Usage objects).
    assert first_breach(limits, Direction.CREDIT, 10_000_00, Usage(), NOW) is None
    assert first_breach(CREDIT_LIMITS, Direction.DEBIT, 10**12, spent, NOW) is None


def test_the_balance_cap_limits_credits_only() -> None:
    assert first_breach(CREDIT_LIMITS, Direction.CREDIT, 5_000_00, Usage(), NOW, 50_000_00) is None
    breach = first_breach(CREDIT_LIMITS, Direction.CREDIT, 5_000_00, Usage(), NOW, 50_000_01)
    assert breach == LimitBreach(LimitKind.BALANCE, 50_000_00, 45_000_01, 4_999_99, None)
    # A debit never breaks the cap, whatever the balance.
    capped: dict[LimitKind, int | None] = {LimitKind.BALANCE: 1}
    assert first_breach(capped, Direction.DEBIT, 5, Usage(), NOW, 10**9) is None
    # Without a known balance the cap is not checked.
    assert first_breach(capped, Direction.CREDIT, 5, Usage(), NOW) is None


def test_no_limits_means_no_breach() -> None:
    unlimited: dict[LimitKind, int | None] = dict.fromkeys(LimitKind)
    huge = Usage(10**15, 10**15, 10**15)
    for direction in Direction:
        assert first_breach(unlimited, direction, 10**15, huge, NOW, 10**16) is None


def test_usage_reads_each_period() -> None:
    usage = Usage(1, 2, 3)
    assert [usage.for_period(p) for p in (Period.DAY, Period.MONTH, Period.YEAR)] == [1, 2, 3]


def test_a_breach_becomes_an_error_that_names_the_limit_and_what_remains() -> None:
    breach = first_breach(DEBIT_LIMITS, Direction.DEBIT, 6_000_00, Usage(10_000_00, 0, 0), NOW)
    assert breach is not None
    error = limit_error(breach)
    assert (error.code, error.status) == (WalletError.LIMIT_EXCEEDED, 422)
    assert error.fields == {
        "limit": "debit_day",
        "limit_minor": 15_000_00,
        "used_minor": 10_000_00,
        "remaining_minor": 5_000_00,
        "resets_at": "2026-01-01T19:00:00+00:00",
    }
    assert "debit day limit of PKR 15000.00" in error.message
    assert "PKR 5000.00 remains" in error.message
    assert "resets at 2026-01-02 00:00 PKT" in error.message
    per_transaction = first_breach(DEBIT_LIMITS, Direction.DEBIT, 10_000_01, Usage(), NOW)
    assert per_transaction is not None
    assert "resets_at" not in limit_error(per_transaction).fields


# ---------------------------------------------------------------------------- Pakistan time
def test_the_day_turns_at_midnight_in_pakistan_which_is_19_00_utc() -> None:
    before = utc(2026, 1, 1, 18, 59, 59)
    at = utc(2026, 1, 1, 19)
    assert pakistan_day(before) == date(2026, 1, 1)
    assert pakistan_day(at) == date(2026, 1, 2)
    assert pakistan_day(utc(2026, 1, 1, 0)) == date(2026, 1, 1)  # 05:00 PKT
    assert window_start_ns(Period.DAY, before) == utc(2025, 12, 31, 19)
    assert window_start_ns(Period.DAY, at) == at
    assert next_window_ns(Period.DAY, before) == at
    assert next_window_ns(Period.DAY, at) == utc(2026, 1, 2, 19)


def test_months_and_years_turn_in_pakistan_time() -> None:
    # 31 January 23:59:59 PKT is still January; a second later it is February.
    assert window_start_ns(Period.MONTH, utc(2026, 1, 31, 18, 59, 59)) == utc(2025, 12, 31, 19)
    assert window_start_ns(Period.MONTH, utc(2026, 1, 31, 19)) == utc(2026, 1, 31, 19)
    assert next_window_ns(Period.MONTH, utc(2026, 1, 31, 19)) == utc(2026, 2, 28, 19)
    assert next_window_ns(Period.MONTH, utc(2028, 2, 10)) == utc(2028, 2, 29, 19)  # leap year
    assert next_window_ns(Period.MONTH, utc(2026, 12, 5)) == utc(2026, 12, 31, 19)
    # New Year's Eve, 19:00 UTC, is already the next year in Pakistan.
    assert window_start_ns(Period.YEAR, utc(2026, 12, 31, 18, 59, 59)) == utc(2025, 12, 31, 19)
    assert window_start_ns(Period.YEAR, utc(2026, 12, 31, 19)) == utc(2026, 12, 31, 19)
    assert next_window_ns(Period.YEAR, utc(2026, 6, 1)) == utc(2026, 12, 31, 19)


# ---------------------------------------------------------------------------- fees and FX
def test_merchant_fee_is_basis_points_rounded_half_up_and_capped() -> None:
    rule = FeeRule(MovementKind.MERCHANT, basis_points=50, maximum_minor=500_00)
    assert rule.fee_for(10_000_00) == 50_00
    assert rule.fee_for(100_000_00) == 500_00  # exactly at the cap
    assert rule.fee_for(200_000_00) == 500_00  # capped
    assert rule.fee_for(100) == 1  # 0.5 paisa rounds up
    assert rule.fee_for(99) == 0  # 0.495 paisa rounds down
    fixed = FeeRule(MovementKind.MERCHANT, fixed_minor=10_00, basis_points=10)
    assert fixed.fee_for(1_000_00) == 11_00
    assert fixed.fee_for(5_00) == 5_00  # a fee never exceeds the amount


def test_conversion_rounds_half_to_even_in_minor_units() -> None:
    rate = Decimal("280.125")
    assert convert_minor(100, rate, 2, 2) == 28_012  # 28,012.5 -> even below
    assert convert_minor(300, rate, 2, 2) == 84_038  # 84,037.5 -> even above
    assert convert_minor(12_345, rate, 2, 2) == 3_458_143  # 3,458,143.125
    assert convert_minor(1_001, Decimal("150.5"), 2, 0) == 1_507  # 1,506.505: not a tie
    assert convert_minor(100, Decimal("150.5"), 2, 0) == 150  # 150.5 -> even below (to yen)
    assert convert_minor(300, Decimal("150.5"), 2, 0) == 452  # 451.5 -> even above


# ---------------------------------------------------------------------------- rate tables
def test_a_rate_table_is_read_exactly() -> None:
    rates = files.parse_rates(
        "\ufeffDate,Base,Quote,Rate\n"
        "2026-01-01,usd,pkr,280.125\n"
        "2026-01-02,USD,PKR,281.5\n"
        "2026-01-02,USD,PKR,281.75\n",  # the same day again: the later row wins
        "SBP",
    )
    assert [(r.day, r.base, r.quote, r.rate, r.source) for r in rates] == [
        (date(2026, 1, 1), "USD", "PKR", Decimal("280.125"), "SBP"),
        (date(2026, 1, 2), "USD", "PKR", Decimal("281.75"), "SBP"),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("date,base,quote,rate\n2026-01-01,USD,PKR,280\n2026-01-02,USD,PKR,abc\n", 3),
        ("date,base,quote,rate\n2026-13-01,USD,PKR,280\n", 2),
        ("date,base,quote,rate\n2026-01-01,USD,PKR,280\n2026-01-02,USD,XYZ,1\n", 3),
        ("date,base,quote,rate\n2026-01-01,USD,PKR,0\n", 2),
        ("date,base,quote,rate\n2026-01-01,USD,PKR,-1.5\n", 2),
        ("date,base,quote,rate\n2026-01-01,USD,USD,1\n", 2),
        ("date,base,quote,rate\n2026-01-01,USD,PKR,NaN\n", 2),
        ("date,base,quote,rate\n", 1),
    ],
)
def test_a_bad_rate_table_names_the_line(text: str, line: int) -> None:
    with pytest.raises(DomainError) as caught:
        files.parse_rates(text, "SBP")
    assert caught.value.code == WalletError.FX_RATES_INVALID
    assert caught.value.fields == {"line": line}
    if line > 1:
        assert f"line {line}" in caught.value.message


def test_a_rate_table_without_its_columns_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        files.parse_rates("day,from,to,price\n2026-01-01,USD,PKR,280\n", "SBP")
    assert caught.value.code == WalletError.FX_RATES_INVALID
    assert caught.value.fields == {"header": ["day", "from", "to", "price"]}


# ---------------------------------------------------------------------------- payout files
def test_a_payout_csv_is_read_row_by_row() -> None:
    iban = make_pk_iban("MEZN", "12").compact
    content = (
        "\ufeffName,Raast_ID,IBAN,Amount,Reference\n"
        f'Karachi Wool,,{iban},"1,250.50",INV-1\n'
        ",,,,\n"  # an empty row is skipped
        "Lahore Cotton,03001234567,,99,\n"
        "Quetta Dates,,PK00BAD,12.345,INV-3\n"
    ).encode()
    rows = files.parse_payout_file(content)
    assert [(r.line, r.name, r.raast_id, r.iban, r.amount_minor, r.reference) for r in rows] == [
        (2, "Karachi Wool", None, iban, 125_050, "INV-1"),
        (4, "Lahore Cotton", "03001234567", None, 9_900, ""),
        (5, "Quetta Dates", None, "PK00BAD", -1, "INV-3"),  # checked later, row by row
    ]


def test_a_rate_error_after_a_blank_line_names_the_right_line() -> None:
    with pytest.raises(DomainError) as caught:
        files.parse_rates("date,base,quote,rate\n2026-01-01,USD,PKR,280\n\nbad,USD,PKR,1\n", "x")
    assert caught.value.fields == {"line": 4}


def test_a_payout_row_after_a_blank_line_keeps_its_line_number() -> None:
    rows = files.parse_payout_file(b"name,raast_id,amount\nA,03001234567,1\n\nB,03001234568,2\n")
    assert [r.line for r in rows] == [2, 4]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   \n",
        b"name,amount,reference\nKarachi Wool,100,INV-1\n",  # neither raast_id nor iban
        b"raast_id,amount\n03001234567,100\n",  # no name
        b"name,iban,amount\n",  # a header and no rows
        "name,iban,amount\nKarachi Wool,PK00,100\n".encode("utf-16"),
        b"x" * (PAYOUT_FILE_BYTES_MAX + 1),
    ],
)
def test_an_unreadable_payout_file_is_refused_as_a_whole(content: bytes) -> None:
    with pytest.raises(DomainError) as caught:
        files.parse_payout_file(content)
    assert (caught.value.code, caught.value.status) == (WalletError.PAYOUT_INVALID, 422)


def pain001(amounts: list[Money]) -> bytes:
    debtor = iso20022.Party("Skardu Apricot Traders")
    transactions = tuple(
        iso20022.InitiationTransaction(
            end_to_end_id=f"SUP-{index}",
            amount=amount,
            creditor=iso20022.Party(f"Supplier {index}"),
            creditor_account=(
                iso20022.Account(iban=make_pk_iban("MEZN", str(index)))
                if index % 2
                else iso20022.Account(proxy=MobileNumber.parse(f"0300{index:07d}"))
            ),
        )
        for index, amount in enumerate(amounts, start=1)
    )
    return iso20022.build_pain001(
        iso20022.CustomerCreditTransferInitiation(
            message_id="PAYOUT-1",
            created_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
            initiating_party=debtor,
            payment_instructions=(
                iso20022.PaymentInstruction(
                    payment_information_id="PMT-1",
                    requested_execution=date(2026, 1, 1),
                    debtor=debtor,
                    debtor_account=iso20022.Account(iban=make_pk_iban("TIJW", "1")),
                    debtor_agent=iso20022.Agent(member_id="TIJW"),
                    transactions=transactions,
                ),
            ),
        )
    )


def test_a_pain001_payout_file_is_read_like_a_csv() -> None:
    rows = files.parse_payout_file(
        pain001([Money(1_000_00, "PKR"), Money(2_500_50, "PKR"), Money(7_00, "USD")])
    )
    assert [(r.line, r.name, r.raast_id, r.iban, r.amount_minor, r.reference) for r in rows] == [
        (1, "Supplier 1", None, make_pk_iban("MEZN", "1").compact, 1_000_00, "SUP-1"),
        (2, "Supplier 2", "+923000000002", None, 2_500_50, "SUP-2"),
        (3, "Supplier 3", None, make_pk_iban("MEZN", "3").compact, -1, "SUP-3"),  # not PKR
    ]


# ---------------------------------------------------------------------------- reports
def row(line: int, status: PayoutRowStatus, reason: str | None = None) -> PayoutRowResult:
    settled_or_pending = status is not PayoutRowStatus.REJECTED
    return PayoutRowResult(
        line=line,
        name=f"Supplier {line}",
        destination=make_pk_iban("MEZN", str(line)).compact,
        amount_minor=1_000_00 + line,
        reference=f"INV-{line}",
        status=status,
        reason=reason,
        detail=None if reason is None else f"why line {line} failed",
        end_to_end_id=f"TJW{line:032d}" if settled_or_pending else None,
        uetr=uuid.uuid4() if settled_or_pending else None,
    )


def payout_of(*rows: PayoutRowResult) -> Payout:
    return Payout(
        uuid.uuid4(),
        uuid.uuid4(),
        "ab" * 32,
        "suppliers.csv",
        "PKR",
        to_ns(datetime.now(UTC)),
        rows,
    )


def test_the_payout_report_is_a_valid_pain002_with_a_status_per_row() -> None:
    payout = payout_of(
        row(2, PayoutRowStatus.SETTLED),
        row(3, PayoutRowStatus.PENDING),
        row(4, PayoutRowStatus.REJECTED, "AC03"),
        row(5, PayoutRowStatus.REJECTED, WalletError.AMOUNT_INVALID.value),
    )
    xml = files.payout_report_pain002(payout, datetime(2026, 1, 1, 10, tzinfo=UTC))
    iso20022.validate(xml, "pain.002.001.10")
    report = iso20022.parse_pain002(xml)
    assert report.original_group.status is iso20022.PaymentStatus.PART
    (instruction,) = report.payment_instructions
    statuses = [(t.status, [r.code for r in t.reasons]) for t in instruction.transactions]
    assert statuses == [
        (iso20022.PaymentStatus.ACSC, []),
        (iso20022.PaymentStatus.PDNG, []),
        (iso20022.PaymentStatus.RJCT, [iso20022.ReasonCode.AC03]),
        (iso20022.PaymentStatus.RJCT, [iso20022.ReasonCode.NARR]),  # a wallet code travels as text
    ]
    assert instruction.transactions[3].reasons[0].additional_information == ("why line 5 failed",)
    assert instruction.transactions[2].original_end_to_end_id == "LINE4"


def test_the_group_status_is_accepted_or_rejected_when_every_row_agrees() -> None:
    created = datetime(2026, 1, 1, 10, tzinfo=UTC)
    settled = files.payout_report_pain002(payout_of(row(2, PayoutRowStatus.SETTLED)), created)
    rejected = files.payout_report_pain002(
        payout_of(row(2, PayoutRowStatus.REJECTED, "AM04")), created
    )
    for xml in (settled, rejected):
        iso20022.validate(xml, "pain.002.001.10")
    assert iso20022.parse_pain002(settled).original_group.status is iso20022.PaymentStatus.ACSC
    assert iso20022.parse_pain002(rejected).original_group.status is iso20022.PaymentStatus.RJCT


def test_the_report_of_a_payout_with_more_than_5000_rows_can_be_built() -> None:
    rows = [row(line, PayoutRowStatus.SETTLED) for line in range(2, 5_003)]
    xml = files.payout_report_pain002(payout_of(*rows), datetime(2026, 1, 1, 10, tzinfo=UTC))
    iso20022.validate(xml, "pain.002.001.10")
    report = iso20022.parse_pain002(xml)
    reported = [t for p in report.payment_instructions for t in p.transactions]
    assert len(reported) == len(rows)
    assert {t.status for t in reported} == {iso20022.PaymentStatus.ACSC}
    assert report.original_group.status is iso20022.PaymentStatus.ACSC


def test_the_csv_report_has_a_line_per_row() -> None:
    payout = payout_of(row(2, PayoutRowStatus.SETTLED), row(3, PayoutRowStatus.REJECTED, "AC01"))
    lines = files.payout_report_csv(payout).splitlines()
    assert (
        lines[0] == "line,name,destination,amount,reference,status,reason,detail,end_to_end_id,uetr"
    )
    assert lines[1].startswith(
        f"2,Supplier 2,{make_pk_iban('MEZN', '2').compact},PKR 1000.02,INV-2,settled,,,TJW"
    )
    assert lines[2].startswith("3,Supplier 3,")
    assert ",rejected,AC01,why line 3 failed,," in lines[2]
    assert payout.settled_minor == 1_000_02
    assert payout.count(PayoutRowStatus.REJECTED) == 1
