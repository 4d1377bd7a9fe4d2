"""Money: integer minor units (paisa, cents) with an ISO 4217 currency. Never floats.

Amounts are exact integers; decimal text enters through `Money.parse` (via `decimal.Decimal`)
and leaves through `format_money` (via Babel). Splitting and percentages use integer
arithmetic only, so no paisa is ever created or lost by rounding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Self, get_args

from babel.core import UnknownLocaleError
from babel.numbers import format_currency

from tijarat.kernel.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Mapping

# Bounds. The ledger stores amounts in signed 64-bit columns (PostgreSQL BIGINT, SQLite
# INTEGER), so a Money that would not fit there is refused where it is made, not at commit.
AMOUNT_MINOR_MAX = (1 << 63) - 1
AMOUNT_TEXT_LENGTH_MAX = 64
ALLOCATE_PARTS_MAX = 10_000
BASIS_POINTS_PER_WHOLE = 10_000

Rounding = Literal["half_even", "half_up", "half_down", "down", "up", "floor", "ceiling"]
ROUNDINGS: frozenset[str] = frozenset(get_args(Rounding))


@dataclass(frozen=True, slots=True)
class Currency:
    code: str  # ISO 4217 alphabetic code, e.g. "PKR"
    numeric: int  # ISO 4217 numeric code, e.g. 586
    exponent: int  # digits after the decimal point (minor unit), e.g. 2


# A deliberately small table: the currencies a Pakistani exporter is paid in or pays with.
# Adding one is a reviewed change; exponents are checked against Babel (CLDR) in the tests.
CURRENCIES: Mapping[str, Currency] = MappingProxyType(
    {
        currency.code: currency
        for currency in (
            Currency("PKR", 586, 2),
            Currency("USD", 840, 2),
            Currency("EUR", 978, 2),
            Currency("GBP", 826, 2),
            Currency("AED", 784, 2),
            Currency("CNY", 156, 2),
            Currency("SAR", 682, 2),
            Currency("JPY", 392, 0),
            Currency("CAD", 124, 2),
            Currency("AUD", 36, 2),
            Currency("CHF", 756, 2),
            Currency("QAR", 634, 2),
            Currency("KWD", 414, 3),
            Currency("OMR", 512, 3),
            Currency("BHD", 48, 3),
        )
    }
)

# Plain digits, or groups of three ("1,250,000"), or South Asian lakh/crore groups
# ("12,50,000"); an optional sign; a decimal point followed by at least one digit.
_AMOUNT_TEXT = re.compile(
    r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})(?:\.[0-9]+)?"
)
# 0-9 -> U+06F0..U+06F9, the digits Urdu is written with.
_URDU_DIGITS = str.maketrans("0123456789", "".join(chr(0x06F0 + digit) for digit in range(10)))


def _out_of_range(currency: str) -> DomainError:
    return DomainError(
        "amount_out_of_range",
        "amount does not fit in a signed 64-bit integer of minor units",
        status=422,
        fields={"currency": currency},
    )


def currency_info(code: str) -> Currency:
    """The table entry for an ISO 4217 code; an unsupported code is a coded 422."""
    currency = CURRENCIES.get(code) if isinstance(code, str) else None
    if currency is None:
        raise DomainError(
            "unsupported_currency",
            f"currency must be one of {', '.join(sorted(CURRENCIES))}",
            status=422,
            fields={"currency": str(code)[:16]},
        )
    return currency


def currency_exponent(code: str) -> int:
    """Digits of the minor unit: 2 for PKR (paisa), 0 for JPY, 3 for KWD."""
    return currency_info(code).exponent


def currency_numeric(code: str) -> int:
    """ISO 4217 numeric code: 586 for PKR (ISO 20022 and EMV QR use it)."""
    return currency_info(code).numeric


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass and float is the bug we exist to prevent: refuse both.
        if type(self.amount_minor) is not int:
            raise TypeError(f"amount_minor must be an int, not {type(self.amount_minor).__name__}")
        currency_info(self.currency)
        if abs(self.amount_minor) > AMOUNT_MINOR_MAX:
            raise _out_of_range(self.currency)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Self:
        """Parse decimal text in major units: "1,250.50" PKR -> 125050 paisa.

        Trailing zeros beyond the currency's exponent are harmless ("1.500" PKR is exact);
        a non-zero digit beyond it is refused rather than rounded away.
        """
        if not isinstance(text, str):
            # Floats in particular: by the time a float arrives the paisa may be gone.
            raise TypeError(f"amount text must be a str, not {type(text).__name__}")
        code = currency.strip().upper() if isinstance(currency, str) else currency
        cleaned = text.strip()
        if len(cleaned) > AMOUNT_TEXT_LENGTH_MAX or not _AMOUNT_TEXT.fullmatch(cleaned):
            raise DomainError(
                "invalid_amount",
                'amount must be a decimal number such as "1,250.50"',
                status=422,
                fields={"value": text[:AMOUNT_TEXT_LENGTH_MAX]},
            )
        return cls.from_decimal(Decimal(cleaned.replace(",", "")), code)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Self:
        """Exact conversion of a Decimal in major units; refuses sub-minor-unit precision."""
        if not isinstance(value, Decimal):
            raise TypeError(f"value must be a Decimal, not {type(value).__name__}")
        exponent = currency_exponent(currency)
        if not value.is_finite():
            raise DomainError(
                "invalid_amount",
                "amount must be a finite number",
                status=422,
                fields={"value": str(value)},
            )
        # Scale with integers from the Decimal's own digits: Decimal arithmetic would round
        # to the context precision (28 digits) without telling anyone.
        sign, digits, decimal_exponent = value.as_tuple()
        assert isinstance(decimal_exponent, int)
        coefficient = int("".join(map(str, digits)) or "0")
        shift = decimal_exponent + exponent
        if coefficient == 0:
            amount_minor = 0
        elif value.adjusted() + exponent >= 19:
            # At least 10**19 minor units: checked before 10**shift, which could be huge.
            raise _out_of_range(currency)
        elif shift >= 0:
            amount_minor = coefficient * 10**shift
        else:
            # More fractional digits than the coefficient has means a non-zero remainder,
            # decided without computing 10**-shift (unbounded for "1E-999999").
            remainder = coefficient
            if -shift <= len(digits):
                amount_minor, remainder = divmod(coefficient, 10**-shift)
            if remainder:
                raise DomainError(
                    "amount_precision",
                    f"{currency} amounts have at most {exponent} decimal places",
                    status=422,
                    fields={"value": str(value)[:AMOUNT_TEXT_LENGTH_MAX], "currency": currency},
                )
        return cls(-amount_minor if sign else amount_minor, currency)

    # ------------------------------------------------------------------ views

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, with exactly the currency's number of decimals."""
        return Decimal(self._decimal_text())

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def __str__(self) -> str:
        # Unambiguous and locale-free, for logs: "PKR 1250.50". Users see format_money.
        return f"{self.currency} {self._decimal_text()}"

    def _decimal_text(self) -> str:
        exponent = self.exponent
        sign = "-" if self.amount_minor < 0 else ""
        major, minor = divmod(abs(self.amount_minor), 10**exponent)
        return f"{sign}{major}.{minor:0{exponent}d}" if exponent else f"{sign}{major}"

    # ------------------------------------------------------------------ arithmetic

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise DomainError(
                "currency_mismatch",
                f"cannot combine {self.currency} with {other.currency}",
                status=422,
                fields={"currency": self.currency, "other_currency": other.currency},
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            # Multiplying by a float or Decimal rate is FX or fees: use percent_of or the
            # FX service, which say how they round.
            return NotImplemented
        return Money(self.amount_minor * factor, self.currency)

    def __rmul__(self, factor: int) -> Money:
        return self.__mul__(factor)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __bool__(self) -> bool:
        # Like int and Decimal: zero is falsy. (A dataclass would otherwise always be truthy.)
        return self.amount_minor != 0

    # ------------------------------------------------------------------ ordering

    def _ordered_against(self, other: object) -> int | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other)
        return other.amount_minor

    def __lt__(self, other: Money) -> bool:
        amount = self._ordered_against(other)
        if amount is None:
            return NotImplemented
        return self.amount_minor < amount

    def __le__(self, other: Money) -> bool:
        amount = self._ordered_against(other)
        if amount is None:
            return NotImplemented
        return self.amount_minor <= amount

    def __gt__(self, other: Money) -> bool:
        amount = self._ordered_against(other)
        if amount is None:
            return NotImplemented
        return self.amount_minor > amount

    def __ge__(self, other: Money) -> bool:
        amount = self._ordered_against(other)
        if amount is None:
            return NotImplemented
        return self.amount_minor >= amount


def format_money(money: Money, locale: str = "en_PK", *, urdu_digits: bool = False) -> str:
    """Display text through Babel (CLDR): PKR in en_PK reads "Rs1,250.00".

    `urdu_digits=True` writes Urdu (Extended Arabic-Indic) digits and separators. Babel picks
    the separators for that numbering system but leaves the digits Latin, so we translate them.
    """
    try:
        text: str = format_currency(
            money.to_decimal(),
            money.currency,
            locale=locale,
            numbering_system="arabext" if urdu_digits else "latn",
        )
    except (UnknownLocaleError, ValueError, TypeError):
        raise DomainError(
            "unsupported_locale",
            "locale must be a CLDR locale such as en_PK or ur_PK",
            status=422,
            fields={"locale": str(locale)[:32]},
        ) from None
    return text.translate(_URDU_DIGITS) if urdu_digits else text


def allocate(money: Money, ratios: list[int]) -> list[Money]:
    """Split `money` by integer ratios without losing a paisa (largest remainder method).

    Each part gets floor(total * ratio / sum); the paisa left over go one each to the parts
    with the largest remainders, earlier parts first on ties. A negative amount is split
    as its absolute value and negated, so allocate(-m) == [-p for p in allocate(m)].
    """
    if not ratios:
        raise DomainError("invalid_ratios", "ratios must not be empty", status=422)
    if len(ratios) > ALLOCATE_PARTS_MAX:
        raise DomainError(
            "invalid_ratios",
            f"at most {ALLOCATE_PARTS_MAX} ratios",
            status=422,
            fields={"count": len(ratios)},
        )
    for ratio in ratios:
        if type(ratio) is not int:
            raise TypeError(f"ratios must be ints, not {type(ratio).__name__}")
        if ratio < 0:
            raise DomainError(
                "invalid_ratios", "ratios must not be negative", status=422, fields={"ratio": ratio}
            )
    ratio_total = sum(ratios)
    if ratio_total == 0:
        raise DomainError("invalid_ratios", "at least one ratio must be positive", status=422)

    total = abs(money.amount_minor)
    shares = [divmod(total * ratio, ratio_total) for ratio in ratios]
    parts = [quotient for quotient, _ in shares]
    leftover = total - sum(parts)
    assert 0 <= leftover < len(ratios)
    # sorted() is stable, so equal remainders keep index order: deterministic output.
    by_remainder = sorted(range(len(ratios)), key=lambda index: -shares[index][1])
    for index in by_remainder[:leftover]:
        parts[index] += 1
    assert sum(parts) == total
    sign = -1 if money.amount_minor < 0 else 1
    return [Money(sign * part, money.currency) for part in parts]


def percent_of(money: Money, basis_points: int, rounding: Rounding = "half_even") -> Money:
    """`basis_points`/10,000 of `money`, rounded to the minor unit: 0.25% is 25 bp.

    Integer arithmetic only. Rounding names follow `decimal`: half_even (banker's, the
    default), half_up / half_down (ties away from / towards zero), up / down (away from /
    towards zero), floor, ceiling.
    """
    if type(basis_points) is not int:
        raise TypeError(f"basis_points must be an int, not {type(basis_points).__name__}")
    amount = divide_rounded(money.amount_minor * basis_points, BASIS_POINTS_PER_WHOLE, rounding)
    return Money(amount, money.currency)


def divide_rounded(numerator: int, denominator: int, rounding: Rounding = "half_even") -> int:
    """numerator / denominator rounded to an integer by `rounding`, without floats."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {sorted(ROUNDINGS)}, not {rounding!r}")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)  # floor: 0 <= remainder < denominator
    if remainder == 0 or rounding == "floor":
        return quotient
    # From here the exact result lies strictly between quotient and quotient + 1.
    negative = numerator < 0
    if rounding == "ceiling":
        return quotient + 1
    if rounding == "down":  # towards zero
        return quotient + 1 if negative else quotient
    if rounding == "up":  # away from zero
        return quotient if negative else quotient + 1
    twice = 2 * remainder
    if twice < denominator:
        return quotient
    if twice > denominator:
        return quotient + 1
    # An exact tie.
    if rounding == "half_up":
        return quotient if negative else quotient + 1
    if rounding == "half_down":
        return quotient + 1 if negative else quotient
    return quotient if quotient % 2 == 0 else quotient + 1
