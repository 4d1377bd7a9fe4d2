from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from schwifty import IBAN

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import (
    Cnic,
    Iban,
    MobileNumber,
    Ntn,
    make_pk_iban,
    mask_name,
)

URDU_DIGITS = "".join(chr(0x06F0 + digit) for digit in range(10))
# A Pakistani IBAN published as an example (Standard Chartered), checked by schwifty below.
EXAMPLE_IBAN = "PK36SCBL0000001123456702"


def assert_refused(excinfo: pytest.ExceptionInfo[DomainError], code: str, value: object) -> None:
    assert excinfo.value.code == code
    assert excinfo.value.status == 422
    assert excinfo.value.fields == {"value": str(value)[:64]}


# ---------------------------------------------------------------------------- mobile


@pytest.mark.parametrize(
    "text",
    [
        "03001234567",
        "0300 1234567",
        "0300-1234567",
        "(0300) 123-4567",
        "+92 300 1234567",
        "+923001234567",
        "923001234567",
        "92 300 1234567",
        "0092 300 1234567",
        "+92 0300 1234567",
        "3001234567",
        " 03001234567 ",
        "0300.123.4567",
        "0300" + "1234567".translate(str.maketrans("0123456789", URDU_DIGITS)),
    ],
)
def test_mobile_number_accepts_pakistani_mobiles(text: str) -> None:
    number = MobileNumber.parse(text)
    assert number.e164 == "+923001234567"
    assert number.national == "0300 1234567"
    assert number.international == "+92 300 1234567"
    assert str(number) == "+923001234567"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "+",
        "0300123456",  # one digit short
        "030012345678",  # one digit long
        "0213 1234567",  # Karachi landline
        "051 1234567",  # Islamabad landline
        "+92 21 1234567",
        "+1 202 555 0123",  # valid, but not Pakistani
        "+44 7700 900123",  # a UK mobile
        "+971 50 123 4567",  # a UAE mobile
        "0300 CALLME1",  # vanity letters
        "03001234567 ext 5",
        "03001234567;ext=5",
        "0300+1234567",
        "++923001234567",
        "0300/1234567",
        "1" * 65,
        "0" * 11,
    ],
)
def test_mobile_number_refuses(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        MobileNumber.parse(text)
    assert_refused(excinfo, "invalid_mobile_number", text)


@pytest.mark.parametrize("value", [None, 3001234567, b"03001234567"])
def test_mobile_number_refuses_non_text(value: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        MobileNumber.parse(value)  # type: ignore[arg-type]
    assert_refused(excinfo, "invalid_mobile_number", value)


def test_mobile_number_constructor_takes_only_the_normal_form() -> None:
    assert MobileNumber("+923001234567") == MobileNumber.parse("0300 1234567")
    for text in ("03001234567", "+92 300 1234567", "+922131234567", "+12025550123"):
        with pytest.raises(DomainError):
            MobileNumber(text)


def test_mobile_number_equality_and_hash_by_normal_form() -> None:
    numbers = {MobileNumber.parse("03001234567"), MobileNumber.parse("+92 300 1234567")}
    assert len(numbers) == 1
    assert MobileNumber.parse("03001234567") != MobileNumber.parse("03001234568")
    with pytest.raises(AttributeError):
        MobileNumber.parse("03001234567").e164 = "+923001234568"  # type: ignore[misc]


# Prefixes 300-349 are allocated to the mobile networks (Jazz, Zong, Telenor, Ufone).
mobile_national = st.builds(
    lambda prefix, subscriber: f"03{prefix:02d}{subscriber:07d}",
    st.integers(min_value=0, max_value=49),
    st.integers(min_value=0, max_value=9_999_999),
)


@given(mobile_national)
def test_mobile_number_agrees_with_phonenumbers(national: str) -> None:
    oracle = phonenumbers.parse(national, "PK")
    is_mobile = (
        phonenumbers.is_valid_number(oracle)
        and phonenumbers.number_type(oracle) == phonenumbers.PhoneNumberType.MOBILE
    )
    try:
        number = MobileNumber.parse(national)
    except DomainError:
        assert not is_mobile
        return
    assert is_mobile
    assert number.e164 == phonenumbers.format_number(oracle, phonenumbers.PhoneNumberFormat.E164)
    assert number.national == phonenumbers.format_number(
        oracle, phonenumbers.PhoneNumberFormat.NATIONAL
    )
    # Every written form parses back to the same number.
    assert MobileNumber.parse(number.national) == number
    assert MobileNumber.parse(number.international) == number
    assert MobileNumber.parse(number.e164.removeprefix("+")) == number
    assert MobileNumber(number.e164) == number


# ---------------------------------------------------------------------------- CNIC


@pytest.mark.parametrize("text", ["12345-1234567-1", "1234512345671", " 12345-1234567-1\n"])
def test_cnic_accepts_both_written_forms(text: str) -> None:
    cnic = Cnic.parse(text)
    assert cnic.digits == "1234512345671"
    assert cnic.formatted == "12345-1234567-1"
    assert str(cnic) == "12345-1234567-1"


def test_cnic_accepts_urdu_digits() -> None:
    urdu = "35202-1234567-9".translate(str.maketrans("0123456789", URDU_DIGITS))
    assert Cnic.parse(urdu) == Cnic.parse("35202-1234567-9")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123451234567",  # 12 digits
        "12345123456712",  # 14 digits
        "02345-1234567-1",  # leading zero
        "0234512345671",
        "12345-123456-71",  # dashes in the wrong places
        "1234-51234567-1",
        "12345-1234567-",
        "12345--1234567-1",
        "12345 1234567 1",
        "1234512345671-",
        "12345-1234567-X",
        "ABCDE-FGHIJKL-M",
        "12345_1234567_1",
        "+234512345671",
    ],
)
def test_cnic_refuses(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Cnic.parse(text)
    assert_refused(excinfo, "invalid_cnic", text)


def test_cnic_constructor_takes_only_digits() -> None:
    assert Cnic("1234512345671") == Cnic.parse("12345-1234567-1")
    for text in ("12345-1234567-1", "0234512345671", "123"):
        with pytest.raises(DomainError):
            Cnic(text)


@given(st.integers(min_value=10**12, max_value=10**13 - 1))
def test_cnic_roundtrip(number: int) -> None:
    cnic = Cnic.parse(str(number))
    assert Cnic.parse(cnic.formatted) == cnic
    assert hash(Cnic.parse(cnic.formatted)) == hash(cnic)
    assert cnic.formatted.replace("-", "") == str(number)
    assert [len(part) for part in cnic.formatted.split("-")] == [5, 7, 1]


# ---------------------------------------------------------------------------- NTN


@pytest.mark.parametrize(
    ("text", "value", "check_digit"),
    [
        ("1234567-8", "1234567-8", 8),
        ("12345678", "1234567-8", 8),
        ("1234567", "1234567", None),
        (" 0712345-0 ", "0712345-0", 0),
    ],
)
def test_ntn_accepts_and_normalises(text: str, value: str, check_digit: int | None) -> None:
    ntn = Ntn.parse(text)
    assert ntn.value == value
    assert ntn.formatted == value
    assert str(ntn) == value
    assert ntn.digits == value.replace("-", "")
    assert ntn.check_digit == check_digit


def test_ntn_equality_by_normal_form() -> None:
    assert Ntn.parse("12345678") == Ntn.parse("1234567-8")
    assert len({Ntn.parse("12345678"), Ntn.parse("1234567-8")}) == 1
    # Without the check digit it is a different (less complete) value.
    assert Ntn.parse("1234567") != Ntn.parse("1234567-8")


@pytest.mark.parametrize(
    "text",
    ["", "123456", "123456789", "123456-78", "1234567-", "1234567-89", "ABCDEFG", "1234567 8"],
)
def test_ntn_refuses(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Ntn.parse(text)
    assert_refused(excinfo, "invalid_ntn", text)


def test_ntn_constructor_takes_only_the_normal_form() -> None:
    assert Ntn("1234567-8") == Ntn.parse("12345678")
    with pytest.raises(DomainError):
        Ntn("12345678")


# ---------------------------------------------------------------------------- IBAN


def test_example_iban_is_valid_for_schwifty() -> None:
    assert IBAN(EXAMPLE_IBAN).country_code == "PK"


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE_IBAN,
        "PK36 SCBL 0000 0011 2345 6702",
        "pk36scbl0000001123456702",
        "  PK36SCBL0000001123456702 ",
    ],
)
def test_iban_accepts_compact_and_printed_forms(text: str) -> None:
    iban = Iban.parse(text)
    assert iban.compact == EXAMPLE_IBAN
    assert iban.formatted == "PK36 SCBL 0000 0011 2345 6702"
    assert iban.check_digits == "36"
    assert iban.bank_code == "SCBL"
    assert iban.account_code == "0000001123456702"
    assert str(iban) == EXAMPLE_IBAN


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PK37SCBL0000001123456702",  # wrong check digits
        "PK36SCBL0000001123456703",  # one digit changed
        "PK36SCBL000000112345670",  # 23 characters
        "PK36SCBL00000011234567021",  # 25 characters
        "PK36-SCBL-0000-0011-2345-6702",
        "GB82WEST12345698765432",  # valid, but British
        "DE89370400440532013000",  # valid, but German
        "ES9121000418450200051332",  # valid and 24 characters, but Spanish
        "CZ6508000000192000145399",  # valid and 24 characters, but Czech
        "PK3612340000001123456702",  # digits where the bank code goes
        "SCBL0000001123456702",
        "X" * 65,
    ],
)
def test_iban_refuses(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Iban.parse(text)
    assert_refused(excinfo, "invalid_iban", text)


def test_iban_constructor_takes_only_the_compact_form() -> None:
    assert Iban(EXAMPLE_IBAN) == Iban.parse("pk36 scbl 0000 0011 2345 6702")
    for text in (
        "PK36 SCBL 0000 0011 2345 6702",
        "pk36scbl0000001123456702",
        "PK37SCBL0000001123456702",
    ):
        with pytest.raises(DomainError):
            Iban(text)


def test_make_pk_iban_matches_schwifty_generate() -> None:
    iban = make_pk_iban("MEZN", "1234567890123")
    expected = IBAN.generate("PK", bank_code="MEZN", account_code="0001234567890123")
    assert iban.compact == expected.compact
    assert iban.bank_code == "MEZN"
    assert iban.account_code == "0001234567890123"
    assert len(iban.compact) == 24


@pytest.mark.parametrize(
    ("bank_code", "account"),
    [
        ("MEZ", "1"),
        ("MEZNB", "1"),
        ("mezn", "1"),
        ("ME1N", "1"),
        ("MEZN", ""),
        ("MEZN", "12345678901234567"),
        ("MEZN", "12345A"),
        ("MEZN", "-1"),
    ],
)
def test_make_pk_iban_refuses(bank_code: str, account: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        make_pk_iban(bank_code, account)
    assert excinfo.value.code == "invalid_iban"


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4, max_size=4),
    st.text(alphabet="0123456789", min_size=1, max_size=16),
)
def test_generated_ibans_roundtrip_and_satisfy_schwifty(bank_code: str, account: str) -> None:
    iban = make_pk_iban(bank_code, account)
    oracle = IBAN(iban.compact)  # an independent check of length, structure and mod 97
    assert oracle.country_code == "PK"
    assert oracle.bank_code == iban.bank_code == bank_code
    assert oracle.account_code == iban.account_code == account.zfill(16)
    assert Iban.parse(iban.formatted) == iban
    assert Iban.parse(iban.compact.lower()) == iban
    assert iban.formatted.replace(" ", "") == iban.compact
    assert all(len(group) == 4 for group in iban.formatted.split(" "))


@given(st.integers(min_value=4, max_value=23), st.sampled_from("0123456789"))
def test_any_single_digit_change_is_caught(position: int, replacement: str) -> None:
    original = make_pk_iban("HABB", "12345678901234")
    if original.compact[position] == replacement or not original.compact[position].isdigit():
        return
    tampered = original.compact[:position] + replacement + original.compact[position + 1 :]
    with pytest.raises(DomainError):
        Iban.parse(tampered)


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Muhammad Asif Khan", "MUH*** AS*** KHAN"),
        ("muhammad  asif   khan", "MUH*** AS*** KHAN"),
        ("Ayesha Siddiqui", "AYE*** SIDDIQUI"),
        ("Ali Raza", "AL*** RAZA"),
        ("Syed Ali Raza Naqvi", "SY*** AL*** RA*** NAQVI"),
        ("M. Ali", "M.*** ALI"),
        ("A B", "A*** B"),
        ("Zainab", "ZAI***"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_name_boundaries_between_two_and_three_letters() -> None:
    # 4 letters keep 2; 5 letters keep 3.
    assert mask_name("Asif X") == "AS*** X"
    assert mask_name("Aslam X") == "ASL*** X"


@given(
    st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12), min_size=2)
)
def test_mask_name_hides_all_but_the_last_word(words: list[str]) -> None:
    masked = mask_name(" ".join(words)).split(" ")
    assert len(masked) == len(words)
    assert masked[-1] == words[-1].upper()
    for word, shown in zip(words[:-1], masked[:-1], strict=True):
        assert shown.endswith("***")
        kept = shown.removesuffix("***")
        assert word.upper().startswith(kept)
        assert len(kept) == (min(2, len(word)) if len(word) <= 4 else 3)
