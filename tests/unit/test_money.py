from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import (
    AMOUNT_MINOR_MAX,
    CURRENCIES,
    Money,
    allocate,
    currency_exponent,
    currency_numeric,
    divide_rounded,
    format_money,
    percent_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

# Amounts that stay well inside the 64-bit bound even after arithmetic in the properties.
reasonable_minor = st.integers(min_value=-(10**15), max_value=10**15)
currency_codes = st.sampled_from(sorted(CURRENCIES))
roundings = st.sampled_from(["half_even", "half_up", "half_down", "down", "up", "floor", "ceiling"])
# The oracle for our integer rounding: the decimal module's own rounding modes.
DECIMAL_ROUNDING = {
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_up": decimal.ROUND_HALF_UP,
    "half_down": decimal.ROUND_HALF_DOWN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}


def pkr(amount_minor: int) -> Money:
    return Money(amount_minor, "PKR")


# ---------------------------------------------------------------------------- currencies


def test_currency_table_matches_iso_4217() -> None:
    assert currency_exponent("PKR") == 2
    assert currency_numeric("PKR") == 586
    assert currency_numeric("USD") == 840
    assert currency_numeric("EUR") == 978
    assert currency_numeric("GBP") == 826
    assert currency_numeric("AED") == 784
    assert currency_numeric("CNY") == 156
    assert currency_numeric("SAR") == 682
    assert currency_numeric("JPY") == 392
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3


@pytest.mark.parametrize("code", sorted(CURRENCIES))
def test_currency_exponents_agree_with_cldr(code: str) -> None:
    # Babel's CLDR data is an independent source for the minor unit of each currency.
    assert currency_exponent(code) == get_currency_precision(code)


def test_currency_numeric_codes_are_unique() -> None:
    numerics = [currency.numeric for currency in CURRENCIES.values()]
    assert len(numerics) == len(set(numerics))


@pytest.mark.parametrize("code", ["XXX", "pkr", "", "PKRR", "RS"])
def test_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        currency_exponent(code)
    assert excinfo.value.code == "unsupported_currency"
    assert excinfo.value.status == 422
    with pytest.raises(DomainError):
        Money(100, code)


# ---------------------------------------------------------------------------- construction


@pytest.mark.parametrize("amount", [1.0, 0.1, True, False, Decimal(1), "100", None, Fraction(1)])
def test_non_int_amounts_are_refused(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "PKR")  # type: ignore[arg-type]


def test_amount_bounds_are_signed_64_bit() -> None:
    assert pkr(AMOUNT_MINOR_MAX).amount_minor == 2**63 - 1
    assert pkr(-AMOUNT_MINOR_MAX).amount_minor == -(2**63) + 1
    for amount in (AMOUNT_MINOR_MAX + 1, -AMOUNT_MINOR_MAX - 1, 10**30):
        with pytest.raises(DomainError) as excinfo:
            pkr(amount)
        assert excinfo.value.code == "amount_out_of_range"


def test_overflowing_arithmetic_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        _ = pkr(AMOUNT_MINOR_MAX) + pkr(1)
    assert excinfo.value.code == "amount_out_of_range"
    with pytest.raises(DomainError):
        _ = pkr(AMOUNT_MINOR_MAX) * 2


def test_money_is_frozen_and_hashable() -> None:
    money = pkr(100)
    with pytest.raises(AttributeError):
        money.amount_minor = 5  # type: ignore[misc]
    assert {pkr(100), pkr(100), Money(100, "USD")} == {pkr(100), Money(100, "USD")}
    assert not hasattr(money, "__dict__")  # slots


def test_zero_and_sign_predicates() -> None:
    assert Money.zero("JPY") == Money(0, "JPY")
    assert Money.zero("PKR").is_zero()
    assert not Money.zero("PKR")
    assert pkr(1)
    assert pkr(1).is_positive()
    assert not pkr(0).is_positive()
    assert pkr(-1).is_negative()
    assert not pkr(0).is_negative()


# ---------------------------------------------------------------------------- arithmetic


def test_addition_and_subtraction_within_a_currency() -> None:
    assert pkr(125_050) + pkr(50) == pkr(125_100)
    assert pkr(100) - pkr(250) == pkr(-150)
    assert -pkr(100) == pkr(-100)
    assert abs(pkr(-100)) == pkr(100)
    assert +pkr(7) == pkr(7)


@pytest.mark.parametrize("operation", ["add", "sub", "lt", "le", "gt", "ge"])
def test_mixing_currencies_is_a_currency_mismatch(operation: str) -> None:
    left, right = pkr(100), Money(100, "USD")
    operations: dict[str, Callable[[], object]] = {
        "add": lambda: left + right,
        "sub": lambda: left - right,
        "lt": lambda: left < right,
        "le": lambda: left <= right,
        "gt": lambda: left > right,
        "ge": lambda: left >= right,
    }
    with pytest.raises(DomainError) as excinfo:
        operations[operation]()
    assert excinfo.value.code == "currency_mismatch"
    assert excinfo.value.fields == {"currency": "PKR", "other_currency": "USD"}


def test_different_currencies_are_unequal_not_an_error() -> None:
    assert pkr(100) != Money(100, "USD")


def test_multiplication_by_int_only() -> None:
    assert pkr(250) * 3 == pkr(750)
    assert 3 * pkr(250) == pkr(750)
    assert pkr(250) * -2 == pkr(-500)
    assert pkr(250) * 0 == pkr(0)
    for factor in (1.5, True, Decimal(2), Fraction(1, 2)):
        with pytest.raises(TypeError):
            _ = pkr(250) * factor  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = factor * pkr(250)  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = pkr(2) * pkr(3)  # type: ignore[operator]


def test_adding_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = pkr(100) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = pkr(100) - 1.0  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = pkr(100) < 5  # type: ignore[operator]


def test_ordering_within_a_currency() -> None:
    assert pkr(1) < pkr(2)
    assert pkr(2) <= pkr(2)
    assert pkr(3) > pkr(2)
    assert pkr(2) >= pkr(2)
    assert not pkr(2) < pkr(2)
    assert sorted([pkr(3), pkr(-1), pkr(2)]) == [pkr(-1), pkr(2), pkr(3)]
    assert max(pkr(3), pkr(9)) == pkr(9)


@given(reasonable_minor, reasonable_minor, reasonable_minor)
def test_addition_is_associative_and_subtraction_inverts_it(a: int, b: int, c: int) -> None:
    x, y, z = pkr(a), pkr(b), pkr(c)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert (x + y) - y == x
    assert x - x == Money.zero("PKR")
    assert (x < y) == (a < b)


# ---------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1,250.50", "PKR", 125_050),
        ("1250.50", "PKR", 125_050),
        ("1250.5", "PKR", 125_050),
        ("1250", "PKR", 125_000),
        ("0.01", "PKR", 1),
        ("0", "PKR", 0),
        ("-0.00", "PKR", 0),
        ("-12.34", "PKR", -1_234),
        ("+12.34", "PKR", 1_234),
        ("  1,000,000.00 ", "PKR", 100_000_000),
        ("12,50,000", "PKR", 125_000_000),  # lakh grouping, common in Pakistan
        ("1,00,00,000.00", "PKR", 1_000_000_000),  # one crore
        ("1250.500", "PKR", 125_050),  # trailing zeros lose nothing
        ("1250", "JPY", 1_250),
        ("1250.0", "JPY", 1_250),
        ("1.234", "KWD", 1_234),
        ("1,250.50", "pkr", 125_050),
        ("92233720368547758.07", "PKR", AMOUNT_MINOR_MAX),
    ],
)
def test_parse_accepts(text: str, currency: str, expected: int) -> None:
    assert Money.parse(text, currency) == Money(expected, currency.upper())


@pytest.mark.parametrize(
    ("text", "currency"),
    [("0.001", "PKR"), ("1250.505", "PKR"), ("1.5", "JPY"), ("1.2345", "KWD"), ("-0.009", "PKR")],
)
def test_parse_refuses_more_decimals_than_the_currency_has(text: str, currency: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Money.parse(text, currency)
    assert excinfo.value.code == "amount_precision"
    assert excinfo.value.status == 422


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1e3",
        "1E3",
        "NaN",
        "Infinity",
        "-inf",
        "1.",
        ".5",
        "1,2,3",
        "1,2345",
        ",100",
        "100,",
        "1 250",
        "1_250",
        "Rs 1,250",
        "--1",
        "1.2.3",
        "1,250.5,0",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: Decimal would accept them; amounts are ASCII
        "9" * 65,
    ],
)
def test_parse_refuses_malformed_text(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Money.parse(text, "PKR")
    assert excinfo.value.code == "invalid_amount"
    assert excinfo.value.status == 422


@pytest.mark.parametrize("text", ["92233720368547758.08", "99999999999999999999", "-1" + "0" * 30])
def test_parse_refuses_amounts_beyond_64_bits(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Money.parse(text, "PKR")
    assert excinfo.value.code == "amount_out_of_range"


def test_parse_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(TypeError):
        Money.parse(1250.5, "PKR")  # type: ignore[arg-type]
    with pytest.raises(DomainError) as excinfo:
        Money.parse("1", "XYZ")
    assert excinfo.value.code == "unsupported_currency"


def test_from_decimal_is_exact_and_bounded() -> None:
    assert Money.from_decimal(Decimal("1250.50"), "PKR") == pkr(125_050)
    assert Money.from_decimal(Decimal("1.25E+3"), "PKR") == pkr(125_000)
    assert Money.from_decimal(Decimal("0E-30"), "PKR") == pkr(0)
    assert Money.from_decimal(Decimal("-5.000000000000000000000000000000"), "PKR") == pkr(-500)
    # Thirty significant digits: beyond the default context precision, still exact.
    assert Money.from_decimal(Decimal("92233720368547758.0700000000000"), "PKR") == pkr(
        AMOUNT_MINOR_MAX
    )
    with pytest.raises(DomainError) as excinfo:
        Money.from_decimal(Decimal("1E-999999"), "PKR")
    assert excinfo.value.code == "amount_precision"
    with pytest.raises(DomainError) as excinfo:
        Money.from_decimal(Decimal("1E+999999"), "PKR")
    assert excinfo.value.code == "amount_out_of_range"
    for special in ("NaN", "sNaN", "Infinity", "-Infinity"):
        with pytest.raises(DomainError) as excinfo:
            Money.from_decimal(Decimal(special), "PKR")
        assert excinfo.value.code == "invalid_amount"
    with pytest.raises(TypeError):
        Money.from_decimal(1.5, "PKR")  # type: ignore[arg-type]


@given(st.integers(min_value=-AMOUNT_MINOR_MAX, max_value=AMOUNT_MINOR_MAX), currency_codes)
def test_decimal_roundtrip(amount_minor: int, currency: str) -> None:
    money = Money(amount_minor, currency)
    assert Money.parse(str(money.to_decimal()), currency) == money
    assert Money.from_decimal(money.to_decimal(), currency) == money
    # to_decimal carries exactly the currency's number of decimals.
    assert -money.to_decimal().as_tuple().exponent == currency_exponent(currency)  # type: ignore[operator]


@given(st.integers(min_value=0, max_value=10**15))
def test_grouped_text_roundtrip(amount_minor: int) -> None:
    grouped = f"{Decimal(amount_minor).scaleb(-2):,.2f}"
    assert Money.parse(grouped, "PKR") == pkr(amount_minor)


def test_str_is_plain_and_unambiguous() -> None:
    assert str(pkr(125_050)) == "PKR 1250.50"
    assert str(pkr(-5)) == "PKR -0.05"
    assert str(Money(1250, "JPY")) == "JPY 1250"
    assert str(Money(1, "KWD")) == "KWD 0.001"


# ---------------------------------------------------------------------------- format


def test_format_pkr_in_english_and_urdu() -> None:
    # CLDR (through Babel) writes the rupee symbol without a space in en_PK and ur_PK.
    assert format_money(pkr(125_000)) == "Rs1,250.00"
    assert format_money(pkr(125_050), locale="en_PK") == "Rs1,250.50"
    assert format_money(pkr(-125_050)) == "-Rs1,250.50"
    assert format_money(pkr(1)) == "Rs0.01"
    assert format_money(pkr(125_000), locale="ur_PK") == "Rs1,250.00"


def test_format_with_urdu_digits() -> None:
    text = format_money(pkr(125_050), locale="ur_PK", urdu_digits=True)
    assert text == "Rs\u06f1\u066c\u06f2\u06f5\u06f0\u066b\u06f5\u06f0"
    assert not any(char in "0123456789" for char in text)


def test_format_other_currencies_use_their_minor_units() -> None:
    assert format_money(Money(1250, "JPY"), locale="en_US") == "¥1,250"
    # CLDR has no symbol for the dinar in en_US; only the three decimals matter here.
    assert format_money(Money(1_250_500, "KWD"), locale="en_US").endswith("1,250.500")
    assert format_money(Money(125_050, "USD"), locale="en_US") == "$1,250.50"


def test_format_with_an_unknown_locale_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        format_money(pkr(1), locale="xx_YY")
    assert excinfo.value.code == "unsupported_locale"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_parse_roundtrip(amount_minor: int) -> None:
    text = format_money(pkr(amount_minor), locale="en_PK")
    assert Money.parse(text.replace("Rs", ""), "PKR") == pkr(amount_minor)


# ---------------------------------------------------------------------------- allocate


def test_allocate_examples() -> None:
    assert allocate(pkr(100), [1, 1, 1]) == [pkr(34), pkr(33), pkr(33)]
    assert allocate(pkr(5), [3, 7]) == [pkr(2), pkr(3)]  # 1.5 and 3.5: tie, first wins
    assert allocate(pkr(10), [1]) == [pkr(10)]
    assert allocate(pkr(0), [1, 2]) == [pkr(0), pkr(0)]
    assert allocate(pkr(7), [0, 1]) == [pkr(0), pkr(7)]
    assert allocate(pkr(2), [1, 1, 1]) == [pkr(1), pkr(1), pkr(0)]
    # 70/20/10 split of Rs 1,000.01: the odd paisa goes to the largest remainder.
    assert allocate(pkr(100_001), [70, 20, 10]) == [pkr(70_001), pkr(20_000), pkr(10_000)]
    assert allocate(pkr(-100), [1, 1, 1]) == [pkr(-34), pkr(-33), pkr(-33)]


def test_allocate_refuses_bad_ratios() -> None:
    for ratios in ([], [0, 0], [1, -1], [0] * 3):
        with pytest.raises(DomainError) as excinfo:
            allocate(pkr(100), ratios)
        assert excinfo.value.code == "invalid_ratios"
    with pytest.raises(DomainError):
        allocate(pkr(100), [1] * 10_001)
    with pytest.raises(TypeError):
        allocate(pkr(100), [1.5, 1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        allocate(pkr(100), [True, 1])


@given(
    reasonable_minor,
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=50).filter(any),
    currency_codes,
)
def test_allocate_never_loses_a_minor_unit(amount: int, ratios: list[int], currency: str) -> None:
    money = Money(amount, currency)
    parts = allocate(money, ratios)
    assert len(parts) == len(ratios)
    assert sum(part.amount_minor for part in parts) == amount
    assert all(part.currency == currency for part in parts)
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Fraction(amount * ratio, total)
        # Each part is its exact share rounded one way or the other, never further away.
        assert abs(part.amount_minor - exact) < 1
        if ratio == 0:
            assert part.amount_minor == 0


@given(
    reasonable_minor, st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=20)
)
def test_allocate_is_symmetric_in_sign(amount: int, ratios: list[int]) -> None:
    assert allocate(pkr(-amount), ratios) == [-part for part in allocate(pkr(amount), ratios)]


# ---------------------------------------------------------------------------- percent_of


def test_percent_of_examples() -> None:
    # Export Development Surcharge 0.25% of Rs 1,000,000.
    assert percent_of(pkr(100_000_000), 25) == pkr(250_000)
    assert percent_of(pkr(10_000), 100) == pkr(100)  # 1%
    assert percent_of(pkr(10_000), 10_000) == pkr(10_000)  # 100%
    assert percent_of(pkr(10_000), 0) == pkr(0)
    # 0.25% of Rs 1.00 = 0.25 paisa -> 0; of Rs 2.00 = 0.5 paisa -> 0 (half to even)
    assert percent_of(pkr(100), 25) == pkr(0)
    assert percent_of(pkr(200), 25) == pkr(0)
    assert percent_of(pkr(600), 25) == pkr(2)  # 1.5 -> 2 (even)
    assert percent_of(pkr(200), 25, rounding="half_up") == pkr(1)
    assert percent_of(pkr(200), 25, rounding="half_down") == pkr(0)
    assert percent_of(pkr(100), 25, rounding="up") == pkr(1)
    assert percent_of(pkr(100), 25, rounding="ceiling") == pkr(1)
    assert percent_of(pkr(-100), 25, rounding="ceiling") == pkr(0)
    assert percent_of(pkr(-100), 25, rounding="floor") == pkr(-1)
    assert percent_of(pkr(-200), 25, rounding="half_up") == pkr(-1)
    assert percent_of(Money(1000, "JPY"), 25) == Money(2, "JPY")  # 2.5 -> 2


def test_percent_of_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError):
        percent_of(pkr(100), 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(pkr(100), basis_points=True)
    with pytest.raises(ValueError, match="rounding"):
        percent_of(pkr(100), 25, rounding="bankers")  # type: ignore[arg-type]


@given(reasonable_minor, st.integers(min_value=-20_000, max_value=20_000), roundings)
def test_percent_of_matches_decimal_rounding(amount: int, basis_points: int, rounding: str) -> None:
    with decimal.localcontext() as context:
        context.prec = 60
        exact = Decimal(amount) * Decimal(basis_points) / Decimal(10_000)
        expected = int(exact.quantize(Decimal(1), rounding=DECIMAL_ROUNDING[rounding]))
    result = percent_of(pkr(amount), basis_points, rounding=rounding)  # type: ignore[arg-type]
    assert result == pkr(expected)


@given(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=1, max_value=10**12),
    roundings,
)
def test_divide_rounded_matches_decimal(numerator: int, denominator: int, rounding: str) -> None:
    with decimal.localcontext() as context:
        context.prec = 100
        exact = Decimal(numerator) / Decimal(denominator)
        expected = int(exact.quantize(Decimal(1), rounding=DECIMAL_ROUNDING[rounding]))
    assert divide_rounded(numerator, denominator, rounding) == expected  # type: ignore[arg-type]


def test_divide_rounded_needs_a_positive_denominator() -> None:
    with pytest.raises(ValueError, match="denominator"):
        divide_rounded(1, 0)
    with pytest.raises(ValueError, match="denominator"):
        divide_rounded(1, -3)
