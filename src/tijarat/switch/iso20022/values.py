"""Field values: checks for the ISO 20022 simple types, and exact text conversions.

Amounts: ISO 20022 writes major units as decimal text ("1250.00" with Ccy="PKR"); Tijarat
keeps integer minor units (Money). The conversion goes through the currency's exponent with
integers and Decimal only, so no paisa is ever created or lost.

Date-times are written with their UTC offset, always. A received date-time without an offset
is read as Pakistan Standard Time (UTC+05:00, no daylight saving): ISO 20022 calls such a
value local time, and the hub's local time is Pakistan's.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import CURRENCIES, Money
from tijarat.switch.iso20022._xml import coded_error
from tijarat.switch.iso20022.errors import Iso20022Error

MAX35 = 35  # Max35Text: message and transaction identifiers
MAX70 = 70
MAX105 = 105  # reason additional information
MAX140 = 140  # names, unstructured remittance lines
MAX500 = 500
# ActiveCurrencyAndAmount has totalDigits 18: with minor units below 10**18 the decimal text
# never has more than 18 digits whatever the currency's exponent (at most 3 here).
AMOUNT_MINOR_XML_MAX = 10**18 - 1
PAKISTAN_TIME = timezone(timedelta(hours=5), "PKT")
OFFSET_MAX = timedelta(hours=14)  # xs:dateTime allows offsets within +-14:00
ERROR_VALUE_LENGTH_MAX = 64

_EXTERNAL_CODE = re.compile(r"[A-Z0-9]{1,4}")
_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_MESSAGE_NAME = re.compile(r"[a-z]{4}\.[0-9]{3}\.[0-9]{3}\.[0-9]{2}")
_DECIMAL_TEXT = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_TIME_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
# Characters XML 1.0 cannot carry, plus controls (tab, newline) that have no place in a
# name or identifier and that XML parsers would normalise, breaking an exact round trip.
# That is Unicode's categories Cc (U+0000-001F, U+007F-009F) and Cs (the surrogates), and
# the noncharacters U+FFFE and U+FFFF: one character class, searched in C (test_iso20022.py
# checks it against unicodedata for every code point).
REFUSED_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def invalid_field(field: str, message: str, value: object = None, **extra: Any) -> DomainError:
    fields: dict[str, Any] = {"field": field, **extra}
    if value is not None:
        fields["value"] = str(value)[:ERROR_VALUE_LENGTH_MAX]
    return coded_error(Iso20022Error.INVALID_FIELD, message, **fields)


# ---------------------------------------------------------------------------- checks


def check_text(value: object, field: str, length_max: int) -> None:
    """MaxNNText: 1..length_max characters, not blank, no control characters."""
    if not isinstance(value, str):
        raise invalid_field(field, f"{field} must be text", value)
    if not value.strip() or len(value) > length_max:
        raise invalid_field(field, f"{field} must be 1 to {length_max} characters", value)
    if REFUSED_CHARACTER.search(value):
        raise invalid_field(
            field,
            f"{field} must not contain control characters",
            value.encode(errors="backslashreplace"),
        )


def check_optional_text(value: object, field: str, length_max: int) -> None:
    if value is not None:
        check_text(value, field, length_max)


def check_lines(values: object, field: str, length_max: int, count_max: int) -> None:
    if not isinstance(values, tuple):
        raise invalid_field(field, f"{field} must be a tuple of text")
    if len(values) > count_max:
        raise invalid_field(field, f"{field} has at most {count_max} lines", len(values))
    for value in values:
        check_text(value, field, length_max)


def check_code(value: object, field: str) -> None:
    """An ISO external code (purpose, bank transaction code): 1 to 4 capitals or digits."""
    if not isinstance(value, str) or not _EXTERNAL_CODE.fullmatch(value):
        raise invalid_field(field, f"{field} must be 1 to 4 capital letters or digits", value)


def check_bic(value: object, field: str) -> None:
    if not isinstance(value, str) or not _BIC.fullmatch(value):
        raise invalid_field(field, f"{field} must be a BIC of 8 or 11 characters", value)


def check_message_name(value: object, field: str) -> None:
    if not isinstance(value, str) or not _MESSAGE_NAME.fullmatch(value):
        raise invalid_field(field, f'{field} must name a message such as "pacs.008.001.08"', value)


_MINUTE = timedelta(minutes=1)


def check_datetime(value: object, field: str) -> None:
    if not isinstance(value, datetime):
        raise invalid_field(field, f"{field} must be a datetime", value)
    offset = value.utcoffset()
    if offset is None:
        raise invalid_field(field, f"{field} must carry a UTC offset", value)
    # UTC (a zero offset, falsy), the hub's own and the common case, needs no arithmetic.
    if offset and (offset % _MINUTE or abs(offset) > OFFSET_MAX):
        raise invalid_field(field, f"{field} must have a whole-minute offset within 14 h", value)


def check_optional_datetime(value: object, field: str) -> None:
    if value is not None:
        check_datetime(value, field)


def check_date(value: object, field: str) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise invalid_field(field, f"{field} must be a date", value)


def check_date_or_datetime(value: object, field: str) -> None:
    if isinstance(value, datetime):
        check_datetime(value, field)
    else:
        check_date(value, field)


def check_uetr(value: object, field: str) -> None:
    # UUIDv4Identifier: version 4, RFC 4122 variant (UUID.version is None for other variants).
    if not isinstance(value, UUID) or value.version != 4:
        raise invalid_field(field, f"{field} must be a version 4 UUID", value)


def check_optional_uetr(value: object, field: str) -> None:
    if value is not None:
        check_uetr(value, field)


def check_amount(value: object, field: str, *, positive: bool = True) -> None:
    """An ActiveCurrencyAndAmount: non-negative (positive for a payment), at most 18 digits."""
    if not isinstance(value, Money):
        raise invalid_field(field, f"{field} must be Money", value)
    if value.amount_minor < (1 if positive else 0):
        raise invalid_field(
            field, f"{field} must be {'positive' if positive else 'zero or more'}", value
        )
    if value.amount_minor > AMOUNT_MINOR_XML_MAX:
        raise invalid_field(field, f"{field} has more than 18 digits", value)


def check_signed_amount(value: object, field: str) -> None:
    """A balance or entry amount: the sign is written as CdtDbtInd, the magnitude as Amt."""
    if not isinstance(value, Money):
        raise invalid_field(field, f"{field} must be Money", value)
    check_amount(abs(value), field, positive=False)


def check_enum(value: object, enum_type: type, field: str) -> None:
    if not isinstance(value, enum_type):
        raise invalid_field(field, f"{field} must be a {enum_type.__name__}", value)


def check_optional(value: object, kind: type, field: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise invalid_field(field, f"{field} must be a {kind.__name__} or None", value)


def check_instance(value: object, kind: type | tuple[type, ...], field: str) -> None:
    if not isinstance(value, kind):
        names = [kind.__name__] if isinstance(kind, type) else [item.__name__ for item in kind]
        raise invalid_field(field, f"{field} must be a {' or '.join(names)}", value)


def check_items(values: object, kind: type, field: str, count_min: int, count_max: int) -> None:
    if not isinstance(values, tuple) or not all(isinstance(item, kind) for item in values):
        raise invalid_field(field, f"{field} must be a tuple of {kind.__name__}")
    if not count_min <= len(values) <= count_max:
        raise invalid_field(
            field, f"{field} must have {count_min} to {count_max} items", len(values)
        )


def check_one_currency(amounts: list[Money], field: str) -> None:
    currencies = {amount.currency for amount in amounts}
    if len(currencies) > 1:
        raise invalid_field(
            field, f"all amounts in {field} must share one currency", sorted(currencies)
        )


# ---------------------------------------------------------------------------- amounts


def amount_to_text(money: Money) -> str:
    """Money(125000, "PKR") -> "1250.00": exact, with the currency's number of decimals."""
    check_amount(money, "amount", positive=False)
    return format(money.to_decimal(), "f")


def amount_from_text(text: str, currency: str, field: str = "amount") -> Money:
    """("1250.00", "PKR") -> Money(125000, "PKR"); refuses digits below the minor unit."""
    cleaned = text.strip()  # xs:decimal collapses whitespace
    if not _DECIMAL_TEXT.fullmatch(cleaned) or len(cleaned) > ERROR_VALUE_LENGTH_MAX:
        raise invalid_field(field, f"{field} must be a non-negative decimal number", text)
    if currency not in CURRENCIES:
        raise invalid_field(
            field, f"currency must be one of {', '.join(sorted(CURRENCIES))}", currency
        )
    try:
        money = Money.from_decimal(Decimal(cleaned), currency)
    except (DomainError, InvalidOperation) as error:
        code = error.code if isinstance(error, DomainError) else "invalid_amount"
        raise invalid_field(
            field, f"{field} is not an exact {currency} amount", text, reason=code
        ) from None
    check_amount(money, field, positive=False)
    return money


def _decimal_sum(amounts: list[Money]) -> Decimal:
    """The plain decimal sum of the amounts, whatever their currencies: the minor units added
    as integers per number of decimals, one Decimal each (not one per amount: a 3,000-row
    pain.001 is checked twice)."""
    minors: dict[int, int] = {}
    for amount in amounts:
        minors[amount.exponent] = minors.get(amount.exponent, 0) + amount.amount_minor
    return sum((Decimal(total).scaleb(-exponent) for exponent, total in minors.items()), Decimal(0))


def decimal_sum_text(amounts: list[Money]) -> str:
    """CtrlSum: the plain decimal sum of the amounts, whatever their currencies (as ISO says)."""
    return format(_decimal_sum(amounts), "f")


def check_control_sum(amounts: list[Money], field: str) -> None:
    """CtrlSum is a DecimalNumber: at most 18 digits."""
    if len(decimal_sum_text(amounts).replace(".", "").lstrip("0")) > 18:
        raise invalid_field(field, f"the control sum of {field} has more than 18 digits")


def decimal_equal(text: str, amounts: list[Money]) -> bool:
    try:
        return Decimal(text.strip()) == _decimal_sum(amounts)
    except InvalidOperation:
        return False


# ---------------------------------------------------------------------------- dates


def datetime_to_text(value: datetime) -> str:
    """ISODateTime with the offset: "2025-06-01T10:00:00+05:00"; "Z" for UTC."""
    text = value.isoformat()
    return text.removesuffix("+00:00") + "Z" if value.utcoffset() == timedelta(0) else text


def datetime_from_text(text: str, field: str) -> datetime:
    match = _DATE_TIME_TEXT.fullmatch(text.strip())
    if match is None:
        raise invalid_field(field, f"{field} must be an ISO 8601 date-time", text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    # Beyond microseconds only the first six digits are kept: no clock here is finer.
    microsecond = int((fraction or "").ljust(6, "0")[:6])
    if zone is None:
        tzinfo: timezone = PAKISTAN_TIME
    elif zone == "Z":
        tzinfo = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset > OFFSET_MAX:
            raise invalid_field(field, f"{field} has an offset beyond 14 hours", text)
        tzinfo = timezone(sign * offset)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            microsecond,
            tzinfo=tzinfo,
        )
    except ValueError:
        # Year 0, 24:00:00 and leap seconds are valid lexical forms we do not accept.
        raise invalid_field(field, f"{field} is not a date-time we accept", text) from None


def date_to_text(value: date) -> str:
    return value.isoformat()


def date_from_text(text: str, field: str) -> date:
    # A business date's optional zone ("2025-06-01+05:00") does not change which day it is.
    match = _DATE_TEXT.fullmatch(text.strip())
    if match is None:
        raise invalid_field(field, f"{field} must be an ISO 8601 date", text)
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise invalid_field(field, f"{field} is not a date we accept", text) from None


def uetr_from_text(text: str, field: str) -> UUID:
    try:
        value = UUID(text)
    except ValueError:
        raise invalid_field(field, f"{field} must be a UUID", text) from None
    check_uetr(value, field)
    return value


def number_from_text(text: str, field: str) -> int:
    """Max15NumericText and Number (no fraction): a non-negative integer."""
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 18:
        raise invalid_field(field, f"{field} must be a whole number", text)
    return int(cleaned)


def boolean_from_text(text: str, field: str) -> bool:
    cleaned = text.strip()
    if cleaned in {"true", "1"}:
        return True
    if cleaned in {"false", "0"}:
        return False
    raise invalid_field(field, f"{field} must be true or false", text)


def boolean_to_text(value: bool) -> str:
    return "true" if value else "false"
