"""Pakistani identifiers: mobile number, CNIC, NTN and IBAN, parsed strictly at the edges.

Each is a frozen value object holding one normalised field, so equality and hashing are by
the normalised value ("0300-1234567" and "+92 300 1234567" are the same MobileNumber).
`parse` is the lenient door for user input; the constructor accepts only the normalised
form, so an instance is always valid however it was made. Every refusal is a DomainError
with a stable code, status 422 and fields {"value": <the input, truncated>}.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Self

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from tijarat.kernel.errors import DomainError

# Inputs longer than this are refused before any library sees them.
IDENTIFIER_TEXT_LENGTH_MAX = 64
PAKISTAN_COUNTRY_CODE = 92
PK_IBAN_LENGTH = 24
PK_ACCOUNT_CODE_LENGTH = 16

# Digits in any script (phonenumbers folds Urdu/Arabic-Indic digits itself), spaces, dots,
# dashes, parentheses and one leading "+". No letters: phonenumbers would read "0300 CALLME1"
# as a vanity number and "ext. 5" as an extension, neither of which can receive a payment.
_MOBILE_TEXT = re.compile(r"\+?[\d\s().-]+")
_E164_PK_MOBILE = re.compile(r"\+923[0-9]{9}")
_CNIC_TEXT = re.compile(r"[0-9]{13}|[0-9]{5}-[0-9]{7}-[0-9]")
_CNIC_DIGITS = re.compile(r"[1-9][0-9]{12}")
_NTN_TEXT = re.compile(r"[0-9]{7,8}|[0-9]{7}-[0-9]")
_NTN_VALUE = re.compile(r"[0-9]{7}(?:-[0-9])?")
_PK_BANK_CODE = re.compile(r"[A-Z]{4}")
_ACCOUNT_DIGITS = re.compile(r"[0-9]{1,16}")


def _invalid(code: str, message: str, value: Any) -> DomainError:
    return DomainError(
        code,
        message,
        status=422,
        fields={"value": str(value)[:IDENTIFIER_TEXT_LENGTH_MAX]},
    )


def _ascii_digits(text: str) -> str:
    # Users typing in Urdu produce U+06F0..U+06F9; fold every decimal digit to 0-9.
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def _text_or_refuse(text: object, code: str, message: str) -> str:
    if not isinstance(text, str) or len(text) > IDENTIFIER_TEXT_LENGTH_MAX:
        raise _invalid(code, message, text)
    return text.strip()


# ---------------------------------------------------------------------------- mobile


_MOBILE_MESSAGE = "mobile number must be a Pakistani mobile number such as 0300 1234567"


@dataclass(frozen=True, slots=True)
class MobileNumber:
    """A Pakistani mobile number (+92 3nn nnnnnnn); the Raast ID of a customer."""

    e164: str  # "+923001234567"

    def __post_init__(self) -> None:
        if not isinstance(self.e164, str) or not _E164_PK_MOBILE.fullmatch(self.e164):
            raise _invalid("invalid_mobile_number", _MOBILE_MESSAGE, self.e164)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Accepts "03001234567", "0300-1234567", "+92 300 1234567", "923001234567"..."""
        cleaned = _text_or_refuse(text, "invalid_mobile_number", _MOBILE_MESSAGE)
        if not _MOBILE_TEXT.fullmatch(cleaned):
            raise _invalid("invalid_mobile_number", _MOBILE_MESSAGE, text)
        digits = _ascii_digits(re.sub(r"[\s().-]", "", cleaned))
        # "923001234567" without "+" would be read as a national number; it is the
        # international form with the plus left off, a common way to write it.
        if digits.startswith("923") and len(digits) == 12:
            digits = "+" + digits
        try:
            number = phonenumbers.parse(digits, "PK")
        except phonenumbers.NumberParseException:
            raise _invalid("invalid_mobile_number", _MOBILE_MESSAGE, text) from None
        if (
            number.country_code != PAKISTAN_COUNTRY_CODE
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
        ):
            # Raast IDs are domestic mobile numbers only: no landlines, no foreign numbers.
            raise _invalid("invalid_mobile_number", _MOBILE_MESSAGE, text)
        e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return cls(e164)

    @property
    def national(self) -> str:
        """ "0300 1234567", as written in Pakistan."""
        return f"0{self.e164[3:6]} {self.e164[6:]}"

    @property
    def international(self) -> str:
        """ "+92 300 1234567"."""
        return f"+92 {self.e164[3:6]} {self.e164[6:]}"

    def __str__(self) -> str:
        return self.e164


# ---------------------------------------------------------------------------- CNIC


_CNIC_MESSAGE = "CNIC must be 13 digits, written 12345-1234567-1"


@dataclass(frozen=True, slots=True)
class Cnic:
    """Computerised National Identity Card number: 13 digits, written 12345-1234567-1."""

    digits: str  # "1234512345671"

    def __post_init__(self) -> None:
        if not isinstance(self.digits, str) or not _CNIC_DIGITS.fullmatch(self.digits):
            raise _invalid("invalid_cnic", _CNIC_MESSAGE, self.digits)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Accepts "12345-1234567-1" or "1234512345671"; dashes only in their places."""
        cleaned = _ascii_digits(_text_or_refuse(text, "invalid_cnic", _CNIC_MESSAGE))
        if not _CNIC_TEXT.fullmatch(cleaned):
            raise _invalid("invalid_cnic", _CNIC_MESSAGE, text)
        digits = cleaned.replace("-", "")
        if digits[0] == "0":
            # The first digit is the province/region code; none is 0.
            raise _invalid("invalid_cnic", _CNIC_MESSAGE, text)
        return cls(digits)

    @property
    def formatted(self) -> str:
        return f"{self.digits[:5]}-{self.digits[5:12]}-{self.digits[12]}"

    def __str__(self) -> str:
        return self.formatted


# ---------------------------------------------------------------------------- NTN


_NTN_MESSAGE = "NTN must be 7 digits with an optional check digit, written 1234567-8"


@dataclass(frozen=True, slots=True)
class Ntn:
    """National Tax Number of a business: 7 digits plus an optional check digit.

    Normal form: "1234567-8" when the check digit is known, "1234567" when not. FBR does not
    publish the check-digit algorithm, so the check digit is kept but not verified.
    (Individuals now use their CNIC as NTN: parse those with `Cnic`.)
    """

    value: str  # "1234567-8" or "1234567"

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _NTN_VALUE.fullmatch(self.value):
            raise _invalid("invalid_ntn", _NTN_MESSAGE, self.value)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Accepts "1234567", "12345678" or "1234567-8"."""
        cleaned = _ascii_digits(_text_or_refuse(text, "invalid_ntn", _NTN_MESSAGE))
        if not _NTN_TEXT.fullmatch(cleaned):
            raise _invalid("invalid_ntn", _NTN_MESSAGE, text)
        digits = cleaned.replace("-", "")
        return cls(f"{digits[:7]}-{digits[7]}" if len(digits) == 8 else digits)

    @property
    def digits(self) -> str:
        return self.value.replace("-", "")

    @property
    def formatted(self) -> str:
        return self.value

    @property
    def check_digit(self) -> int | None:
        return int(self.value[8]) if len(self.value) == 9 else None

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------- IBAN


IBAN_CACHE_SIZE = 65_536
_IBAN_MESSAGE = "IBAN must be a Pakistani IBAN of 24 characters such as PK36SCBL0000001123456702"


def _pk_iban_compact(text: object) -> str:
    """The compact form of a valid Pakistani IBAN, checked by schwifty; else DomainError."""
    cleaned = _text_or_refuse(text, "invalid_iban", _IBAN_MESSAGE)
    return _pk_iban_compact_checked(cleaned, text)


@functools.lru_cache(maxsize=IBAN_CACHE_SIZE)
def _valid_compact(cleaned: str) -> str | None:
    """schwifty's verdict, remembered: a bulk file names the same IBANs over and over, and
    each check costs tens of microseconds. A pure function of its input, so safe to cache."""
    try:
        iban = IBAN(cleaned)
    except (SchwiftyException, ValueError):
        return None
    compact: str = iban.compact
    if iban.country_code != "PK" or len(compact) != PK_IBAN_LENGTH:
        return None
    return compact


def _pk_iban_compact_checked(cleaned: str, text: object) -> str:
    compact = _valid_compact(cleaned)
    if compact is None:
        raise _invalid("invalid_iban", _IBAN_MESSAGE, text)
    return compact


@dataclass(frozen=True, slots=True)
class Iban:
    """A Pakistani IBAN: "PK", 2 check digits, 4-letter bank code, 16-character account."""

    compact: str  # "PK36SCBL0000001123456702"

    def __post_init__(self) -> None:
        if _pk_iban_compact(self.compact) != self.compact:
            raise _invalid("invalid_iban", _IBAN_MESSAGE, self.compact)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Accepts the compact or the printed form (groups of 4), any letter case."""
        return cls(_pk_iban_compact(text))

    @property
    def formatted(self) -> str:
        """ "PK36 SCBL 0000 0011 2345 6702", as printed on statements and cheques."""
        return " ".join(self.compact[index : index + 4] for index in range(0, len(self.compact), 4))

    @property
    def check_digits(self) -> str:
        return self.compact[2:4]

    @property
    def bank_code(self) -> str:
        """The 4-letter bank code, e.g. "MEZN" (Meezan Bank), "SCBL" (Standard Chartered)."""
        return self.compact[4:8]

    @property
    def account_code(self) -> str:
        return self.compact[8:]

    def __str__(self) -> str:
        return self.compact


def make_pk_iban(bank_code: str, account_number_digits: str) -> Iban:
    """A valid Pakistani IBAN for a bank code and an account number of up to 16 digits.

    The account number is zero-padded on the left to 16 digits and schwifty computes the
    check digits. Meant for tests, fixtures and the demo; real IBANs come from the bank.
    """
    if not isinstance(bank_code, str) or not _PK_BANK_CODE.fullmatch(bank_code):
        raise _invalid(
            "invalid_iban", "bank code must be 4 capital letters such as MEZN", bank_code
        )
    if not isinstance(account_number_digits, str) or not _ACCOUNT_DIGITS.fullmatch(
        account_number_digits
    ):
        raise _invalid(
            "invalid_iban", "account number must be 1 to 16 digits", account_number_digits
        )
    account_code = account_number_digits.zfill(PK_ACCOUNT_CODE_LENGTH)
    try:
        iban = IBAN.generate("PK", bank_code=bank_code, account_code=account_code)
    except (SchwiftyException, ValueError):
        raise _invalid("invalid_iban", _IBAN_MESSAGE, bank_code + account_code) from None
    return Iban.parse(iban.compact)


# ---------------------------------------------------------------------------- names


def mask_name(full_name: str) -> str:
    """The account title shown to a payer before they confirm ("is this who you mean?").

    Rule: upper-case every word; every word except the last keeps its first 3 letters
    (first 2 when the word has at most 4 letters) followed by "***"; the last word is shown
    in full. "Muhammad Asif Khan" -> "MUH*** AS*** KHAN". A one-word name has no last name
    to show: its word is masked like the others, and keeps at most all letters but one
    ("Ayesha" -> "AYE***", "Ali" -> "AL***", "Al" -> "A***"), so that a lookup never
    answers a whole name. Whitespace-only input gives "".
    """
    words = full_name.upper().split()
    if len(words) == 1:
        (word,) = words
        return word[: min(_kept(word), len(word) - 1)] + "***"
    masked = [word[: _kept(word)] + "***" for word in words[:-1]]
    return " ".join([*masked, *words[-1:]])


def _kept(word: str) -> int:
    return 2 if len(word) <= 4 else 3
