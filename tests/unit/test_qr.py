"""EMVCo merchant-presented QR: build, parse, validation codes, expiry and rendering.

Oracles that are not our own code: the CRC check value of the CRC catalogue, the CRC of the
example BR Code (Pix) published by Brazil's central bank, payloads assembled here by hand
data object by data object, and zbar (`zbarimg`) decoding the PNG images we render, Urdu
included.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from tijarat.kernel.clock import PAKISTAN
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch.qr import (
    DEFAULT_TEMPLATE,
    PAYLOAD_LENGTH_MAX,
    LanguageTemplate,
    MerchantAccountTemplate,
    MerchantQr,
    Payee,
    QrError,
    build,
    crc16_ccitt_false,
    is_expired,
    parse,
    render_png,
    render_svg,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ALIAS = MobileNumber("+923001234567")
# A Pakistani IBAN published as an example (Standard Chartered).
IBAN = Iban("PK36SCBL0000001123456702")
EXPIRY = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
URDU_NAME = "اسکردو خوبانی"  # "Skardu Apricots"
URDU_CITY = "اسکردو"
GUID_OBJECT = "0008PK.RAAST"


def static_qr(**changes: Any) -> MerchantQr:
    fields: dict[str, Any] = {
        "account": ALIAS,
        "merchant_name": "Skardu Apricots",
        "merchant_city": "Skardu",
        "merchant_category_code": "5499",
    }
    return MerchantQr(**(fields | changes))


def dynamic_qr(**changes: Any) -> MerchantQr:
    fields: dict[str, Any] = {
        "point_of_initiation": "dynamic",
        "amount": Money(125_000, "PKR"),
        "reference_label": "ORD-7",
        "expiry": EXPIRY,
    }
    return static_qr(**(fields | changes))


# ---------------------------------------------------------------------------- by hand


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def with_crc(body: str) -> str:
    head = body + "6304"
    return head + f"{crc16_ccitt_false(head.encode('utf-8')):04X}"


def raw_body(changes: dict[str, str | None] | None = None) -> str:
    """The data objects of `static_qr()` written by hand; a change replaces or (None) drops one."""
    objects: dict[str, str | None] = {
        "00": "01",
        "01": "11",
        "26": GUID_OBJECT + tlv("01", "+923001234567"),
        "52": "5499",
        "53": "586",
        "58": "PK",
        "59": "Skardu Apricots",
        "60": "Skardu",
    }
    objects.update(changes or {})
    return "".join(tlv(tag, value) for tag, value in sorted(objects.items()) if value is not None)


def raw(changes: dict[str, str | None] | None = None) -> str:
    return with_crc(raw_body(changes))


def raw_dynamic(changes: dict[str, str | None] | None = None) -> str:
    dynamic: dict[str, str | None] = {"01": "12", "54": "1250.00"}
    return raw(dynamic | (changes or {}))


def expiry_template(text: str, guid_object: str = GUID_OBJECT) -> str:
    return tlv("50", guid_object + tlv("01", text))


def refusal(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        call()
    assert excinfo.value.status == 422
    return excinfo.value


# ---------------------------------------------------------------------------- CRC


def test_crc_check_value() -> None:
    # The check value of CRC-16/CCITT-FALSE in the CRC catalogue.
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_crc_of_the_published_br_code_example() -> None:
    # Brazil's Pix (an EMVCo MPM scheme) publishes this static code with its CRC.
    payload = (
        "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
        "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
    )
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == "1D3D"


# ---------------------------------------------------------------------------- layout


def test_static_alias_code_is_written_tag_by_tag() -> None:
    payload = build(static_qr())
    assert payload == raw()
    assert payload == (
        "000201010211"
        "26290008PK.RAAST0113+923001234567"
        "52045499530358658"
        "02PK5915Skardu Apricots6006Skardu"
        "6304E8F4"
    )


def test_dynamic_iban_code_with_everything_is_written_tag_by_tag() -> None:
    qr = dynamic_qr(
        account=IBAN,
        bill_number="INV-1",
        purpose="Apricots",
        language=LanguageTemplate(merchant_name=URDU_NAME, merchant_city=URDU_CITY),
    )
    additional = (
        tlv("01", "INV-1")
        + tlv("05", "ORD-7")
        + tlv("08", "Apricots")
        # Our convention: 62/50 opens with the scheme GUID; 01 is the expiry in UTC.
        + expiry_template("20260101120000")
    )
    language = tlv("00", "UR") + tlv("01", URDU_NAME) + tlv("02", URDU_CITY)
    expected = raw_dynamic(
        {
            "26": GUID_OBJECT + tlv("02", "PK36SCBL0000001123456702"),
            "62": additional,
            "64": language,
        }
    )
    assert build(qr) == expected
    assert parse(expected) == qr
    # Lengths count characters, not UTF-8 bytes: the Urdu name is 13 characters.
    assert "0113" + URDU_NAME in expected


def test_amounts_are_written_with_the_currencys_decimals() -> None:
    assert "54071250.00" in build(dynamic_qr())
    assert "54041250" in build(
        dynamic_qr(currency="JPY", amount=Money(1250, "JPY")),
    )
    assert "5303392" in build(dynamic_qr(currency="JPY", amount=Money(1250, "JPY")))
    assert "54051.250" in build(dynamic_qr(currency="KWD", amount=Money(1250, "KWD")))


@pytest.mark.parametrize(
    ("text", "amount_minor"),
    [("1250.00", 125_000), ("1250.5", 125_050), ("1250", 125_000), ("0.01", 1)],
)
def test_amounts_are_read_with_up_to_the_currencys_decimals(text: str, amount_minor: int) -> None:
    assert parse(raw_dynamic({"54": text})).amount == Money(amount_minor, "PKR")


# ---------------------------------------------------------------------------- roundtrip


def ans_text(max_size: int) -> st.SearchStrategy[str]:
    printable_ascii = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    return st.text(printable_ascii, min_size=1, max_size=max_size).filter(str.strip)


urdu_letters = st.one_of(
    st.characters(min_codepoint=0x0627, max_codepoint=0x063A),
    st.characters(min_codepoint=0x0641, max_codepoint=0x064A),
    st.sampled_from(" \u200c\u0679\u0688\u0691\u06a9\u06af\u06ba\u06be\u06cc\u06d2"),
)
accounts = st.one_of(
    st.from_regex(r"\+923[0-9]{9}", fullmatch=True).map(MobileNumber),
    st.builds(
        make_pk_iban,
        st.sampled_from(["MEZN", "SCBL", "HABB"]),
        st.from_regex(r"[0-9]{1,16}", fullmatch=True),
    ),
)
# Three references of 12 characters and the expiry template together fit 62's 99 characters.
references = st.none() | ans_text(12)
expiries = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, PAKISTAN, timezone(timedelta(hours=-3, minutes=-30))]),
)
languages = st.none() | st.builds(
    LanguageTemplate,
    merchant_name=st.text(urdu_letters, min_size=1, max_size=25).filter(str.strip),
    merchant_city=st.none() | st.text(urdu_letters, min_size=1, max_size=15).filter(str.strip),
)


@st.composite
def merchant_qrs(draw: st.DrawFn) -> MerchantQr:
    dynamic = draw(st.booleans())
    return MerchantQr(
        account=draw(accounts),
        merchant_name=draw(ans_text(25)),
        merchant_city=draw(ans_text(15)),
        merchant_category_code=draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
        point_of_initiation="dynamic" if dynamic else "static",
        amount=Money(draw(st.integers(1, 999_999_999_999)), "PKR") if dynamic else None,
        bill_number=draw(references),
        reference_label=draw(references),
        purpose=draw(references),
        expiry=draw(st.none() | expiries) if dynamic else None,
        language=draw(languages),
    )


@given(merchant_qrs())
def test_parse_reads_back_what_build_writes(qr: MerchantQr) -> None:
    payload = build(qr)
    assert len(payload) <= PAYLOAD_LENGTH_MAX
    assert payload.startswith("000201")
    assert payload[-8:-4] == "6304"
    parsed = parse(payload)
    assert parsed == qr
    assert build(parsed) == payload
    assert parsed.payee == Payee(
        "alias" if isinstance(qr.account, MobileNumber) else "iban", str(qr.account)
    )


@given(merchant_qrs(), st.data())
def test_any_changed_character_is_a_crc_mismatch(qr: MerchantQr, data: st.DataObject) -> None:
    payload = build(qr)
    # Every ASCII character but the "6304" announcing the CRC (changing that is
    # qr_crc_missing). A CRC-16 catches every error burst of up to 16 bits, so changing one
    # byte is always caught; replacing a 2-byte Urdu letter would shift the bytes after it
    # and be caught only with probability 1 - 2**-16, so those positions are left out.
    positions = [
        index
        for index, char in enumerate(payload)
        if char.isascii() and not len(payload) - 8 <= index < len(payload) - 4
    ]
    position = data.draw(st.sampled_from(positions))
    replacement = data.draw(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E).filter(
            lambda char: char != payload[position]
        )
    )
    tampered = payload[:position] + replacement + payload[position + 1 :]
    assert refusal(lambda: parse(tampered)).code == QrError.qr_crc_mismatch


def test_payee_says_where_the_money_goes() -> None:
    assert static_qr().payee == Payee("alias", "+923001234567")
    assert static_qr(account=IBAN).payee == Payee("iban", "PK36SCBL0000001123456702")
    parsed = parse(build(dynamic_qr(account=IBAN)))
    assert (parsed.payee.kind, parsed.amount, parsed.currency, parsed.reference_label) == (
        "iban",
        Money(125_000, "PKR"),
        "PKR",
        "ORD-7",
    )
    assert parsed.is_dynamic
    assert not static_qr().is_dynamic


# ---------------------------------------------------------------------------- every code


def crc_inside_a_value() -> str:
    # Ends in "6304" and a correct CRC, but they are the tail of the merchant name's value.
    head = raw_body({"59": None, "60": None}) + tlv("60", "Skardu") + "5912Shop6304"
    return head + f"{crc16_ccitt_false(head.encode()):04X}"


REFUSALS: list[tuple[QrError, str, Callable[[], object]]] = [
    (QrError.qr_malformed_tlv, "empty", lambda: parse("")),
    (QrError.qr_malformed_tlv, "length runs past the end", lambda: parse(with_crc("00020159"))),
    (QrError.qr_malformed_tlv, "length 00", lambda: parse(with_crc("0002015900"))),
    (QrError.qr_malformed_tlv, "letters for a length", lambda: parse(with_crc("0002015OAB"))),
    (
        QrError.qr_malformed_tlv,
        "template runs past its end",
        lambda: parse(raw({"26": GUID_OBJECT + "0199+92"})),
    ),
    (QrError.qr_too_long, "513 characters", lambda: parse("0" * 513)),
    (
        QrError.qr_too_long,
        "62 longer than 99",
        lambda: dynamic_qr(bill_number="B" * 25, reference_label="R" * 25, purpose="P" * 25),
    ),
    (QrError.qr_crc_missing, "no CRC", lambda: parse(raw_body())),
    (QrError.qr_crc_missing, "CRC inside a value", lambda: parse(crc_inside_a_value())),
    (QrError.qr_crc_mismatch, "wrong CRC", lambda: parse(raw()[:-4] + "0000")),
    (QrError.qr_crc_mismatch, "lower-case CRC", lambda: parse(raw()[:-4] + raw()[-4:].lower())),
    (QrError.qr_invalid_format_indicator, "00 = 02", lambda: parse(raw({"00": "02"}))),
    (
        QrError.qr_invalid_format_indicator,
        "00 not first",
        lambda: parse(with_crc(tlv("01", "11") + raw_body({"01": None}))),
    ),
    (QrError.qr_duplicate_field, "59 twice", lambda: parse(with_crc(raw_body() + tlv("59", "X")))),
    (
        QrError.qr_duplicate_field,
        "63 twice",
        lambda: parse(with_crc(raw_body() + tlv("63", "ABCD"))),
    ),
    (
        QrError.qr_duplicate_field,
        "unknown field twice",
        lambda: static_qr(unknown_fields=(("80", "a"), ("80", "b"))),
    ),
    (QrError.qr_missing_field, "no 59", lambda: parse(raw({"59": None}))),
    (QrError.qr_missing_field, "no 01", lambda: parse(raw({"01": None}))),
    (QrError.qr_missing_field, "no account template", lambda: parse(raw({"26": None}))),
    (QrError.qr_missing_field, "no 64/01", lambda: parse(raw({"64": tlv("00", "UR")}))),
    (
        QrError.qr_missing_field,
        "62/50 without expiry",
        lambda: parse(raw_dynamic({"62": tlv("50", GUID_OBJECT)})),
    ),
    (QrError.qr_invalid_field, "01 = 13", lambda: parse(raw({"01": "13"}))),
    (QrError.qr_invalid_field, "name of 26", lambda: parse(raw({"59": "N" * 26}))),
    (QrError.qr_invalid_field, "Urdu in 59", lambda: parse(raw({"59": URDU_NAME}))),
    (QrError.qr_invalid_field, "MCC of 3 digits", lambda: parse(raw({"52": "549"}))),
    (
        QrError.qr_invalid_field,
        "language ur",
        lambda: static_qr(language=LanguageTemplate(language="ur", merchant_name=URDU_NAME)),
    ),
    (
        QrError.qr_invalid_field,
        "unknown field on 59",
        lambda: static_qr(unknown_fields=(("59", "x"),)),
    ),
    (QrError.qr_invalid_field, "render scale 0", lambda: render_png(raw(), scale=0)),
    (
        QrError.qr_invalid_merchant_account,
        "another GUID",
        lambda: parse(raw({"26": tlv("00", "PK.OTHER") + tlv("01", "+923001234567")})),
    ),
    (
        QrError.qr_invalid_merchant_account,
        "alias and IBAN",
        lambda: parse(raw({"26": GUID_OBJECT + tlv("01", "+923001234567") + tlv("02", str(IBAN))})),
    ),
    (QrError.qr_invalid_merchant_account, "neither", lambda: parse(raw({"26": GUID_OBJECT}))),
    (
        QrError.qr_invalid_merchant_account,
        "national form of the alias",
        lambda: parse(raw({"26": GUID_OBJECT + tlv("01", "03001234567")})),
    ),
    (
        QrError.qr_invalid_merchant_account,
        "IBAN check digits",
        lambda: parse(raw({"26": GUID_OBJECT + tlv("02", "PK37SCBL0000001123456702")})),
    ),
    (QrError.qr_invalid_currency, "999", lambda: parse(raw({"53": "999"}))),
    (QrError.qr_invalid_currency, "alphabetic", lambda: parse(raw({"53": "PKR"}))),
    (QrError.qr_invalid_currency, "model", lambda: static_qr(currency="XYZ")),
    (QrError.qr_invalid_amount, "3 decimals", lambda: parse(raw_dynamic({"54": "1250.001"}))),
    (QrError.qr_invalid_amount, "comma", lambda: parse(raw_dynamic({"54": "1,250.00"}))),
    (QrError.qr_invalid_amount, "zero", lambda: parse(raw_dynamic({"54": "0.00"}))),
    (QrError.qr_invalid_amount, "negative", lambda: parse(raw_dynamic({"54": "-1.00"}))),
    (QrError.qr_invalid_amount, "no integer part", lambda: parse(raw_dynamic({"54": ".50"}))),
    (QrError.qr_invalid_amount, "14 characters", lambda: parse(raw_dynamic({"54": "1" * 14}))),
    (QrError.qr_invalid_amount, "other currency", lambda: dynamic_qr(amount=Money(1, "USD"))),
    (QrError.qr_invalid_country, "IN", lambda: parse(raw({"58": "IN"}))),
    (
        QrError.qr_invalid_expiry,
        "month 13",
        lambda: parse(raw_dynamic({"62": expiry_template("20261301120000")})),
    ),
    (
        QrError.qr_invalid_expiry,
        "with an offset",
        lambda: parse(raw_dynamic({"62": expiry_template("2026-01-01T12:00:00+05:00")})),
    ),
    (
        QrError.qr_invalid_expiry,
        "naive datetime",
        lambda: dynamic_qr(expiry=datetime(2026, 1, 1)),  # noqa: DTZ001
    ),
    (QrError.qr_amount_required, "dynamic without 54", lambda: parse(raw({"01": "12"}))),
    (QrError.qr_amount_not_allowed, "static with 54", lambda: parse(raw({"54": "1250.00"}))),
    (
        QrError.qr_expiry_not_allowed,
        "static with expiry",
        lambda: parse(raw({"62": expiry_template("20260101120000")})),
    ),
    (
        QrError.qr_expired,
        "parsed at the expiry",
        lambda: parse(raw_dynamic({"62": expiry_template("20260101120000")}), now=EXPIRY),
    ),
]


@pytest.mark.parametrize(
    ("code", "call"),
    [pytest.param(code, call, id=f"{code}: {case}") for code, case, call in REFUSALS],
)
def test_refusals_have_stable_codes(code: QrError, call: Callable[[], object]) -> None:
    assert refusal(call).code == code


def test_every_code_is_reached() -> None:
    assert {code for code, _, _ in REFUSALS} == set(QrError)


def test_refusals_name_the_data_object() -> None:
    assert refusal(lambda: parse(raw({"59": None}))).fields == {"tag": "59"}
    assert refusal(lambda: parse(raw({"64": tlv("00", "UR")}))).fields == {"tag": "64.01"}
    error = refusal(lambda: parse(raw({"26": GUID_OBJECT + tlv("01", "03001234567")})))
    assert error.fields == {"tag": "26.01", "reason": "invalid_mobile_number"}


# ---------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("field", "length_max"),
    [("merchant_name", 25), ("merchant_city", 15), ("bill_number", 25), ("reference_label", 25)],
)
def test_text_fields_at_their_length_limits(field: str, length_max: int) -> None:
    qr = static_qr(**{field: "A" * length_max})
    assert parse(build(qr)) == qr
    error = refusal(lambda: static_qr(**{field: "A" * (length_max + 1)}))
    assert (error.code, error.fields["field"]) == (QrError.qr_invalid_field, field)


def test_urdu_lengths_count_characters_not_bytes() -> None:
    name = "خ" * 25  # 50 bytes of UTF-8
    qr = static_qr(language=LanguageTemplate(merchant_name=name, merchant_city="ک" * 15))
    assert parse(build(qr)) == qr
    assert refusal(lambda: LanguageTemplate(merchant_name=name + "خ")).code == (
        QrError.qr_invalid_field
    )


def test_amount_at_its_length_limit() -> None:
    qr = dynamic_qr(amount=Money(999_999_999_999, "PKR"))  # "9999999999.99", 13 characters
    assert parse(build(qr)) == qr
    error = refusal(lambda: dynamic_qr(amount=Money(1_000_000_000_000, "PKR")))
    assert error.code == QrError.qr_invalid_amount


def padded(length: int) -> MerchantQr:
    """static_qr() with unknown top-level data objects (80-99) making its payload `length` long."""
    missing = length - len(build(static_qr()))
    unknown = []
    for tag in range(80, 100):
        if missing == 0:
            break
        size = min(99, missing - 4)
        if 0 < missing - (size + 4) < 5:  # what is left must still make an object
            size -= 5
        unknown.append((str(tag), "x" * size))
        missing -= size + 4
    return static_qr(unknown_fields=tuple(unknown))


def test_payload_of_512_characters_is_accepted_and_513_refused() -> None:
    qr = padded(PAYLOAD_LENGTH_MAX)
    payload = build(qr)
    assert len(payload) == PAYLOAD_LENGTH_MAX
    assert parse(payload) == qr
    error = refusal(lambda: padded(PAYLOAD_LENGTH_MAX + 1))
    assert (error.code, error.fields["length"]) == (QrError.qr_too_long, 513)


# ---------------------------------------------------------------------------- static, dynamic


def test_static_code_carries_no_amount_and_no_expiry() -> None:
    assert refusal(lambda: static_qr(amount=Money(1, "PKR"))).code == (
        QrError.qr_amount_not_allowed
    )
    assert refusal(lambda: static_qr(expiry=EXPIRY)).code == QrError.qr_expiry_not_allowed
    assert parse(build(static_qr())).amount is None


def test_dynamic_code_needs_an_amount_but_not_an_expiry() -> None:
    assert refusal(lambda: dynamic_qr(amount=None)).code == QrError.qr_amount_required
    qr = dynamic_qr(expiry=None)
    assert parse(build(qr)) == qr
    assert not is_expired(qr, datetime(2999, 1, 1, tzinfo=UTC))


# ---------------------------------------------------------------------------- expiry


def test_expiry_is_kept_in_utc_to_the_second() -> None:
    local = datetime(2026, 1, 1, 17, 0, 0, 999_999, tzinfo=PAKISTAN)
    qr = dynamic_qr(expiry=local)
    assert qr.expiry == EXPIRY
    assert qr.expiry is not None
    assert qr.expiry.tzinfo is UTC
    assert expiry_template("20260101120000") in build(qr)


def test_is_expired_from_the_expiry_instant_on() -> None:
    qr = dynamic_qr()
    assert not is_expired(qr, EXPIRY - timedelta(seconds=1))
    assert is_expired(qr, EXPIRY)
    assert is_expired(qr, EXPIRY + timedelta(days=1))
    # The same instant in Pakistan time.
    assert is_expired(qr, datetime(2026, 1, 1, 17, 0, tzinfo=PAKISTAN))
    assert not is_expired(static_qr(), datetime(2999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(qr, datetime(2026, 1, 1))  # noqa: DTZ001


def test_parse_with_now_refuses_only_expired_codes() -> None:
    payload = build(dynamic_qr())
    assert parse(payload, now=EXPIRY - timedelta(seconds=1)) == dynamic_qr()
    error = refusal(lambda: parse(payload, now=EXPIRY))
    assert (error.code, error.fields) == (QrError.qr_expired, {"expiry": EXPIRY.isoformat()})
    assert parse(build(static_qr()), now=datetime(2999, 1, 1, tzinfo=UTC)) == static_qr()


# ---------------------------------------------------------------------------- unknown fields


def test_unknown_data_objects_are_preserved_in_place() -> None:
    payload = with_crc(
        "000201"
        + tlv("01", "12")
        + tlv("02", "4111111111111111")  # a card network's primitive account
        + tlv("26", GUID_OBJECT + tlv("01", "+923001234567") + tlv("03", "BRANCH-9"))
        + tlv("27", tlv("00", "com.example.other") + tlv("01", "X1"))  # another scheme
        + tlv("52", "5499")
        + tlv("53", "586")
        + tlv("54", "1250.00")
        + tlv("55", "01")  # tip indicator
        + tlv("58", "PK")
        + tlv("59", "Skardu Apricots")
        + tlv("60", "Skardu")
        + tlv("61", "16100")  # postal code
        + tlv(
            "62",
            tlv("05", "ORD-7")
            + tlv("07", "TILL-2")  # terminal label
            + tlv("50", GUID_OBJECT + tlv("01", "20260101120000") + tlv("02", "v2"))
            + tlv("51", tlv("00", "com.example.other") + tlv("01", "Y")),
        )
        + tlv("64", tlv("00", "UR") + tlv("01", URDU_NAME) + tlv("03", "x"))
        + tlv("80", tlv("00", "com.example.loyalty") + tlv("01", "42"))
    )
    qr = parse(payload)
    assert qr.unknown_fields == (
        ("02", "4111111111111111"),
        ("26.03", "BRANCH-9"),
        ("27", tlv("00", "com.example.other") + tlv("01", "X1")),
        ("55", "01"),
        ("61", "16100"),
        ("62.07", "TILL-2"),
        ("62.50.02", "v2"),
        ("62.51", tlv("00", "com.example.other") + tlv("01", "Y")),
        ("64.03", "x"),
        ("80", tlv("00", "com.example.loyalty") + tlv("01", "42")),
    )
    assert (qr.expiry, qr.reference_label, qr.payee.value) == (EXPIRY, "ORD-7", "+923001234567")
    assert build(qr) == payload


def test_another_schemes_62_50_is_kept_whole_and_gives_no_expiry() -> None:
    foreign = tlv("00", "com.example.other") + tlv("01", "20200101000000")
    qr = parse(raw({"62": tlv("50", foreign)}))
    assert qr.expiry is None
    assert qr.unknown_fields == (("62.50", foreign),)


@pytest.mark.parametrize(
    "unknown_fields",
    [
        (("62.05", "x"),),  # reference label is ours
        (("26.01", "x"),),  # the alias place
        (("64.03", "x"),),  # no language template to put it in
        (("62.50.02", "x"),),  # no expiry template to put it in
        (("80.01", "x"),),  # 80 is not a template we write
        (("8", "x"),),
        (("80", ""),),
        (("80", "x" * 100),),
        (("80", "a\nb"),),
    ],
)
def test_unknown_fields_cannot_take_our_places(unknown_fields: tuple[tuple[str, str], ...]) -> None:
    assert refusal(lambda: static_qr(unknown_fields=unknown_fields)).code == (
        QrError.qr_invalid_field
    )


# ---------------------------------------------------------------------------- template


def test_merchant_account_template_is_configurable() -> None:
    template = MerchantAccountTemplate(tag=28, guid="pk.org.example", alias_subtag=3, iban_subtag=4)
    qr = dynamic_qr(template=template)
    payload = build(qr)
    assert tlv("28", tlv("00", "pk.org.example") + tlv("03", "+923001234567")) in payload
    assert tlv("50", tlv("00", "pk.org.example") + tlv("01", "20260101120000")) in payload
    assert parse(payload, template=template) == qr
    error = refusal(lambda: parse(payload))
    assert (error.code, error.fields) == (QrError.qr_missing_field, {"tag": "26"})
    assert MerchantAccountTemplate(26, "PK.RAAST", 1, 2) == DEFAULT_TEMPLATE


@pytest.mark.parametrize(
    "changes",
    [
        {"tag": 25},
        {"tag": 52},
        {"guid": ""},
        {"guid": "G" * 33},
        {"guid": "PK.راست"},
        {"alias_subtag": 2},
        {"alias_subtag": 0},
        {"iban_subtag": 100},
    ],
)
def test_merchant_account_template_stays_within_emvco(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        MerchantAccountTemplate(**changes)


# ---------------------------------------------------------------------------- render


def zbar_decode(png: bytes, tmp_path: Path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is missing: install Debian's zbar-tools (./run-tests does)")
    image = tmp_path / "code.png"
    image.write_bytes(png)
    result = subprocess.run(
        [zbarimg, "--raw", "-q", str(image)], capture_output=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8").removesuffix("\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "qr",
    [
        pytest.param(static_qr(), id="static alias"),
        pytest.param(dynamic_qr(account=IBAN, bill_number="INV-1"), id="dynamic IBAN"),
        pytest.param(
            dynamic_qr(language=LanguageTemplate(merchant_name=URDU_NAME, merchant_city=URDU_CITY)),
            id="Urdu language template",
        ),
        pytest.param(padded(PAYLOAD_LENGTH_MAX), id="512 characters"),
    ],
)
def test_zbar_decodes_the_png_to_the_payload(qr: MerchantQr, tmp_path: Path) -> None:
    payload = build(qr)
    png = render_png(payload, scale=4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = zbar_decode(png, tmp_path)
    assert decoded == payload
    assert parse(decoded) == qr


def test_svg_is_well_formed_xml() -> None:
    svg = render_svg(build(dynamic_qr(language=LanguageTemplate(merchant_name=URDU_NAME))))
    assert not svg.startswith("<?xml")  # inlinable in HTML
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_render_refuses_a_damaged_payload() -> None:
    damaged = build(static_qr()).replace("Skardu", "Skarde", 1)
    assert refusal(lambda: render_png(damaged)).code == QrError.qr_crc_mismatch
    assert refusal(lambda: render_svg(damaged)).code == QrError.qr_crc_mismatch
