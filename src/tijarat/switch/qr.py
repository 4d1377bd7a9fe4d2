"""EMVCo merchant-presented QR codes, as SBP's Raast QR uses them: build, parse, render.

A payload is a string of data objects: a 2-digit ID, a 2-digit length (in characters, not
bytes) and the value; templates nest data objects inside a value. At most 512 characters,
"00" (payload format indicator "01") first and "63" (CRC-16/CCITT-FALSE over the UTF-8
bytes of everything before the CRC value, "6304" included) last.

Tags this module writes (EMVCo, except where marked "ours"):

    00     payload format indicator, "01"
    01     point of initiation: "11" static, "12" dynamic (optional in EMVCo; required here
           because the static/dynamic rules below depend on it)
    26     merchant account information template (tag configurable, 26-51), see
           `MerchantAccountTemplate`: 00 scheme GUID, then the Raast alias (E.164 mobile
           number, "+923001234567") at 01 OR the IBAN (compact) at 02 (sub-IDs configurable)
    52     merchant category code, 4 digits
    53     currency, ISO 4217 numeric ("586" for PKR)
    54     amount in major units with the currency's decimals ("1250.00"): dynamic codes only
    58     country, "PK"
    59     merchant name, <= 25 characters of printable ASCII (EMVCo "ans")
    60     merchant city, <= 15 characters of printable ASCII
    62     additional data: 01 bill number, 05 reference label, 08 purpose (each <= 25)
    62/50  ours: a payment-system-specific template (EMVCo reserves 62/50-99 for them, each
           starting with a GUID at 00): 00 the scheme GUID, 01 expiry of a dynamic code as UTC
           "YYYYMMDDHHMMSS". SBP's field-level tags are not public; this is our convention
           and lives in the constants below so it can follow SBP's once known.
    64     language template: 00 language ("UR"), 01 merchant name, 02 merchant city, in any
           Unicode script (EMVCo "S" format, lengths in characters)
    63     CRC, 4 uppercase hex digits

Unknown data objects are preserved, never silently dropped: every object this module does not
interpret is kept in `MerchantQr.unknown_fields` under its ID path ("55", "62.07",
"64.03"), wherever it appears: at the top level or inside a template this module reads
(the merchant account template, 62, 64, our 62/50). A template this module does not read
(another scheme's account template, 80-99, another scheme's 62/51) is kept whole as one raw
value. `build` writes data objects in ascending ID order, so `build(parse(p)) == p` for any
payload written in that order.

Every refusal is a DomainError with a `QrError` code and status 422. Configuration mistakes
(a `MerchantAccountTemplate` outside EMVCo's ranges) are ValueErrors: they are caught at
start-up, not answered to a client.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, NamedTuple

import segno

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.kernel.money import CURRENCIES, Money, currency_numeric

if TYPE_CHECKING:
    from collections.abc import Mapping

# ---------------------------------------------------------------------------- limits

PAYLOAD_LENGTH_MAX = 512
VALUE_LENGTH_MAX = 99  # two decimal digits of length
GUID_LENGTH_MAX = 32  # EMVCo: AID, UUID without hyphens or reverse domain name
MERCHANT_NAME_LENGTH_MAX = 25
MERCHANT_CITY_LENGTH_MAX = 15
ADDITIONAL_DATA_LENGTH_MAX = 25  # each of 62/01, 62/05, 62/08
AMOUNT_LENGTH_MAX = 13
RENDER_SCALE_MAX = 32
# ISO/IEC 18004 asks for a quiet zone of 4 modules; scanners fail more often without it.
QUIET_ZONE_MODULES = 4

# ---------------------------------------------------------------------------- tags

TAG_PAYLOAD_FORMAT = "00"
TAG_POINT_OF_INITIATION = "01"
TAG_MERCHANT_CATEGORY = "52"
TAG_CURRENCY = "53"
TAG_AMOUNT = "54"
TAG_COUNTRY = "58"
TAG_MERCHANT_NAME = "59"
TAG_MERCHANT_CITY = "60"
TAG_ADDITIONAL_DATA = "62"
TAG_CRC = "63"
TAG_LANGUAGE = "64"

SUBTAG_GUID = "00"
SUBTAG_BILL_NUMBER = "01"
SUBTAG_REFERENCE_LABEL = "05"
SUBTAG_PURPOSE = "08"
# Ours (see the module docstring): the payment-system-specific template inside 62 that
# carries a dynamic code's expiry, and the expiry's sub-ID within it.
SUBTAG_PAYMENT_SYSTEM = "50"
SUBTAG_EXPIRY = "01"
SUBTAG_LANGUAGE_PREFERENCE = "00"
SUBTAG_LANGUAGE_NAME = "01"
SUBTAG_LANGUAGE_CITY = "02"

PAYLOAD_FORMAT_INDICATOR = "01"
COUNTRY_CODE = "PK"
CRC_HEADER = TAG_CRC + "04"

PointOfInitiation = Literal["static", "dynamic"]
_POINT_OF_INITIATION_CODES: Mapping[PointOfInitiation, str] = MappingProxyType(
    {"static": "11", "dynamic": "12"}
)
_POINTS_OF_INITIATION: Mapping[str, PointOfInitiation] = MappingProxyType(
    {"11": "static", "12": "dynamic"}
)
_CURRENCY_BY_NUMERIC: Mapping[str, str] = MappingProxyType(
    {f"{currency.numeric:03d}": code for code, currency in CURRENCIES.items()}
)

_HEADER = re.compile(r"[0-9]{4}")
_ANS = re.compile(r"[\x20-\x7E]+")  # EMVCo's common character set: printable ASCII
_MERCHANT_CATEGORY = re.compile(r"[0-9]{4}")
_LANGUAGE = re.compile(r"[A-Z]{2}")
_AMOUNT_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_EXPIRY_TEXT = re.compile(r"[0-9]{14}")
_UNKNOWN_PATH = re.compile(r"[0-9]{2}(?:\.[0-9]{2}){0,2}")

_STATUS = 422


class QrError(StrEnum):
    """Stable codes of refused QR payloads, roughly in the order `parse` checks them."""

    qr_malformed_tlv = "qr_malformed_tlv"
    qr_too_long = "qr_too_long"
    qr_crc_missing = "qr_crc_missing"
    qr_crc_mismatch = "qr_crc_mismatch"
    qr_invalid_format_indicator = "qr_invalid_format_indicator"
    qr_duplicate_field = "qr_duplicate_field"
    qr_missing_field = "qr_missing_field"
    qr_invalid_field = "qr_invalid_field"
    qr_invalid_merchant_account = "qr_invalid_merchant_account"
    qr_invalid_currency = "qr_invalid_currency"
    qr_invalid_amount = "qr_invalid_amount"
    qr_invalid_country = "qr_invalid_country"
    qr_invalid_expiry = "qr_invalid_expiry"
    qr_amount_required = "qr_amount_required"
    qr_amount_not_allowed = "qr_amount_not_allowed"
    qr_expiry_not_allowed = "qr_expiry_not_allowed"
    qr_expired = "qr_expired"


def _refuse(code: QrError, message: str, **fields: object) -> DomainError:
    return DomainError(code, message, status=_STATUS, fields=dict(fields))


# ---------------------------------------------------------------------------- CRC


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def _crc_text(payload_before_crc_value: str) -> str:
    return f"{crc16_ccitt_false(payload_before_crc_value.encode('utf-8')):04X}"


# ---------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class MerchantAccountTemplate:
    """Where a scheme keeps the payee inside the payload: SBP has not published its tags.

    `tag` is the merchant account information template (EMVCo 26-51), `guid` the scheme's
    globally unique identifier at sub-ID 00 (the default is a placeholder until SBP's is
    known); the alias goes at `alias_subtag`, the IBAN at `iban_subtag`. The same GUID opens
    our payment-system-specific template 62/50, so one setting names the scheme everywhere.
    """

    tag: int = 26
    guid: str = "PK.RAAST"
    alias_subtag: int = 1
    iban_subtag: int = 2

    def __post_init__(self) -> None:
        if type(self.tag) is not int or not 26 <= self.tag <= 51:
            raise ValueError("merchant account template tag must be within 26-51")
        if (
            not isinstance(self.guid, str)
            or not 1 <= len(self.guid) <= GUID_LENGTH_MAX
            or not _ANS.fullmatch(self.guid)
        ):
            raise ValueError(f"guid must be 1-{GUID_LENGTH_MAX} characters of printable ASCII")
        subtags = (self.alias_subtag, self.iban_subtag)
        if (
            not all(type(subtag) is int and 1 <= subtag <= 99 for subtag in subtags)
            or len(set(subtags)) != 2
        ):
            # 00 is the GUID's place in every EMVCo template.
            raise ValueError("alias and IBAN sub-IDs must be distinct and within 01-99")

    @property
    def tag_id(self) -> str:
        return f"{self.tag:02d}"

    @property
    def alias_id(self) -> str:
        return f"{self.alias_subtag:02d}"

    @property
    def iban_id(self) -> str:
        return f"{self.iban_subtag:02d}"


DEFAULT_TEMPLATE = MerchantAccountTemplate()


def _check_unicode_text(value: object, length_max: int, name: str, tag: str) -> None:
    # Urdu needs format characters such as ZERO WIDTH NON-JOINER, so only controls are
    # refused; lengths count characters, as EMVCo's "S" format says.
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= length_max
        or not value.strip()
        or any(unicodedata.category(char) == "Cc" for char in value)
    ):
        raise _refuse(
            QrError.qr_invalid_field,
            f"{name} must be 1-{length_max} characters of text",
            field=name,
            tag=tag,
        )


def _check_ans_text(value: object, length_max: int, name: str, tag: str) -> None:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= length_max
        or not _ANS.fullmatch(value)
        or not value.strip()
    ):
        raise _refuse(
            QrError.qr_invalid_field,
            f"{name} must be 1-{length_max} characters of printable ASCII",
            field=name,
            tag=tag,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageTemplate:
    """Tag 64: the merchant's name (and city) in a second language, Urdu by default."""

    language: str = "UR"  # ISO 639-1, upper case as in EMVCo's examples
    merchant_name: str
    merchant_city: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.language, str) or not _LANGUAGE.fullmatch(self.language):
            raise _refuse(
                QrError.qr_invalid_field,
                "language must be 2 capital letters (ISO 639-1) such as UR",
                field="language",
                tag="64.00",
            )
        _check_unicode_text(self.merchant_name, MERCHANT_NAME_LENGTH_MAX, "merchant_name", "64.01")
        if self.merchant_city is not None:
            _check_unicode_text(
                self.merchant_city, MERCHANT_CITY_LENGTH_MAX, "merchant_city", "64.02"
            )


class Payee(NamedTuple):
    """Whom a payment started from this code goes to."""

    kind: Literal["alias", "iban"]
    value: str  # E.164 mobile number for an alias, compact IBAN otherwise


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantQr:
    """A merchant-presented QR code; every instance builds into a valid payload.

    `expiry` is stored in UTC, truncated to the second (the precision the payload carries),
    so that `parse(build(qr)) == qr`. `unknown_fields` is kept sorted by path.
    """

    account: MobileNumber | Iban
    merchant_name: str
    merchant_city: str
    merchant_category_code: str
    currency: str = "PKR"
    point_of_initiation: PointOfInitiation = "static"
    amount: Money | None = None
    country: Literal["PK"] = "PK"
    bill_number: str | None = None
    reference_label: str | None = None
    purpose: str | None = None
    expiry: datetime | None = None
    language: LanguageTemplate | None = None
    template: MerchantAccountTemplate = DEFAULT_TEMPLATE
    unknown_fields: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.template, MerchantAccountTemplate):
            raise TypeError("template must be a MerchantAccountTemplate")
        if self.point_of_initiation not in _POINT_OF_INITIATION_CODES:
            raise _refuse(
                QrError.qr_invalid_field,
                "point of initiation must be static or dynamic",
                field="point_of_initiation",
                tag=TAG_POINT_OF_INITIATION,
            )
        if not isinstance(self.account, MobileNumber | Iban):
            raise _refuse(
                QrError.qr_invalid_merchant_account,
                "account must be a Raast alias (mobile number) or an IBAN",
                field="account",
                tag=self.template.tag_id,
            )
        if not isinstance(self.merchant_category_code, str) or not _MERCHANT_CATEGORY.fullmatch(
            self.merchant_category_code
        ):
            raise _refuse(
                QrError.qr_invalid_field,
                "merchant category code must be 4 digits",
                field="merchant_category_code",
                tag=TAG_MERCHANT_CATEGORY,
            )
        if not isinstance(self.currency, str) or self.currency not in CURRENCIES:
            raise _refuse(
                QrError.qr_invalid_currency,
                f"currency must be one of {', '.join(sorted(CURRENCIES))}",
                field="currency",
                tag=TAG_CURRENCY,
            )
        self._check_amount()
        if self.country != COUNTRY_CODE:
            raise _refuse(
                QrError.qr_invalid_country,
                f"country must be {COUNTRY_CODE}",
                field="country",
                tag=TAG_COUNTRY,
            )
        _check_ans_text(
            self.merchant_name, MERCHANT_NAME_LENGTH_MAX, "merchant_name", TAG_MERCHANT_NAME
        )
        _check_ans_text(
            self.merchant_city, MERCHANT_CITY_LENGTH_MAX, "merchant_city", TAG_MERCHANT_CITY
        )
        for name, subtag in (
            ("bill_number", SUBTAG_BILL_NUMBER),
            ("reference_label", SUBTAG_REFERENCE_LABEL),
            ("purpose", SUBTAG_PURPOSE),
        ):
            value = getattr(self, name)
            if value is not None:
                _check_ans_text(
                    value, ADDITIONAL_DATA_LENGTH_MAX, name, f"{TAG_ADDITIONAL_DATA}.{subtag}"
                )
        self._normalise_expiry()
        if self.language is not None and not isinstance(self.language, LanguageTemplate):
            raise TypeError("language must be a LanguageTemplate")
        self._normalise_unknown_fields()
        self._check_initiation_rules()
        # Every template must fit its two-digit length and the whole payload 512 characters;
        # checking here means `build` cannot fail.
        _payload_before_crc_value(self)

    def _check_amount(self) -> None:
        if self.amount is None:
            return
        if not isinstance(self.amount, Money) or self.amount.currency != self.currency:
            raise _refuse(
                QrError.qr_invalid_amount,
                "amount must be Money in the code's currency",
                field="amount",
                tag=TAG_AMOUNT,
            )
        if not self.amount.is_positive():
            raise _refuse(
                QrError.qr_invalid_amount,
                "amount must be positive",
                field="amount",
                tag=TAG_AMOUNT,
            )
        if len(_amount_text(self.amount)) > AMOUNT_LENGTH_MAX:
            raise _refuse(
                QrError.qr_invalid_amount,
                f"amount must be at most {AMOUNT_LENGTH_MAX} characters long",
                field="amount",
                tag=TAG_AMOUNT,
            )

    def _normalise_expiry(self) -> None:
        if self.expiry is None:
            return
        if not isinstance(self.expiry, datetime) or self.expiry.utcoffset() is None:
            raise _refuse(
                QrError.qr_invalid_expiry,
                "expiry must be a timezone-aware datetime",
                field="expiry",
                tag=_EXPIRY_PATH,
            )
        # Rounding down: a code expires at most a second early, never late.
        normalised = self.expiry.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "expiry", normalised)

    def _normalise_unknown_fields(self) -> None:
        reserved = _reserved_paths(self)
        parents = _open_parents(self)
        seen: set[str] = set()
        for item in self.unknown_fields:
            path, value = item if isinstance(item, tuple) and len(item) == 2 else ("", None)
            if (
                not isinstance(path, str)
                or not _UNKNOWN_PATH.fullmatch(path)
                or path in reserved
                or ("." in path and path.rsplit(".", 1)[0] not in parents)
            ):
                raise _refuse(
                    QrError.qr_invalid_field,
                    "unknown field path must be an unused ID path such as 55 or 62.07",
                    field="unknown_fields",
                    tag=str(path)[:8],
                )
            if path in seen:
                raise _refuse(QrError.qr_duplicate_field, "data object appears twice", tag=path)
            seen.add(path)
            if (
                not isinstance(value, str)
                or not 1 <= len(value) <= VALUE_LENGTH_MAX
                or any(unicodedata.category(char) == "Cc" for char in value)
            ):
                raise _refuse(
                    QrError.qr_invalid_field,
                    f"unknown field value must be 1-{VALUE_LENGTH_MAX} characters of text",
                    field="unknown_fields",
                    tag=path,
                )
        object.__setattr__(self, "unknown_fields", tuple(sorted(self.unknown_fields)))

    def _check_initiation_rules(self) -> None:
        if self.point_of_initiation == "dynamic":
            if self.amount is None:
                raise _refuse(
                    QrError.qr_amount_required,
                    "a dynamic code must carry an amount",
                    field="amount",
                    tag=TAG_AMOUNT,
                )
            return
        if self.amount is not None:
            raise _refuse(
                QrError.qr_amount_not_allowed,
                "a static code carries no amount: the payer enters it",
                field="amount",
                tag=TAG_AMOUNT,
            )
        if self.expiry is not None:
            raise _refuse(
                QrError.qr_expiry_not_allowed,
                "a static code does not expire",
                field="expiry",
                tag=_EXPIRY_PATH,
            )

    @property
    def payee(self) -> Payee:
        if isinstance(self.account, MobileNumber):
            return Payee("alias", self.account.e164)
        return Payee("iban", self.account.compact)

    @property
    def is_dynamic(self) -> bool:
        return self.point_of_initiation == "dynamic"


_EXPIRY_PATH = f"{TAG_ADDITIONAL_DATA}.{SUBTAG_PAYMENT_SYSTEM}.{SUBTAG_EXPIRY}"
_PAYMENT_SYSTEM_PATH = f"{TAG_ADDITIONAL_DATA}.{SUBTAG_PAYMENT_SYSTEM}"


def _reserved_paths(qr: MerchantQr) -> frozenset[str]:
    """The ID paths this module writes itself for `qr`: no unknown field may take them."""
    tag = qr.template.tag_id
    paths = {
        TAG_PAYLOAD_FORMAT,
        TAG_POINT_OF_INITIATION,
        tag,
        TAG_MERCHANT_CATEGORY,
        TAG_CURRENCY,
        TAG_AMOUNT,
        TAG_COUNTRY,
        TAG_MERCHANT_NAME,
        TAG_MERCHANT_CITY,
        TAG_ADDITIONAL_DATA,
        TAG_CRC,
        TAG_LANGUAGE,
        f"{tag}.{SUBTAG_GUID}",
        f"{tag}.{qr.template.alias_id}",
        f"{tag}.{qr.template.iban_id}",
        f"{TAG_ADDITIONAL_DATA}.{SUBTAG_BILL_NUMBER}",
        f"{TAG_ADDITIONAL_DATA}.{SUBTAG_REFERENCE_LABEL}",
        f"{TAG_ADDITIONAL_DATA}.{SUBTAG_PURPOSE}",
        f"{TAG_LANGUAGE}.{SUBTAG_LANGUAGE_PREFERENCE}",
        f"{TAG_LANGUAGE}.{SUBTAG_LANGUAGE_NAME}",
        f"{TAG_LANGUAGE}.{SUBTAG_LANGUAGE_CITY}",
    }
    if qr.expiry is not None:
        paths |= {_PAYMENT_SYSTEM_PATH, f"{_PAYMENT_SYSTEM_PATH}.{SUBTAG_GUID}", _EXPIRY_PATH}
    return frozenset(paths)


def _open_parents(qr: MerchantQr) -> frozenset[str]:
    """Templates this module writes for `qr`, into which unknown sub-fields can go."""
    parents = {qr.template.tag_id, TAG_ADDITIONAL_DATA}
    # 64 without a language and 62/50 without an expiry would lack their mandatory fields.
    if qr.language is not None:
        parents.add(TAG_LANGUAGE)
    if qr.expiry is not None:
        parents.add(_PAYMENT_SYSTEM_PATH)
    return frozenset(parents)


# ---------------------------------------------------------------------------- build

# A template is a mapping of IDs to values or to nested templates.
_Tree = dict[str, "str | _Tree"]


def _amount_text(amount: Money) -> str:
    # to_decimal has exactly the currency's decimals: "1250.00" PKR, "1250" JPY.
    return f"{amount.to_decimal():f}"


def _expiry_text(expiry: datetime) -> str:
    moment = expiry.astimezone(UTC)
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )


def _tree(qr: MerchantQr) -> _Tree:
    template = qr.template
    account_id = template.alias_id if isinstance(qr.account, MobileNumber) else template.iban_id
    tree: _Tree = {
        TAG_PAYLOAD_FORMAT: PAYLOAD_FORMAT_INDICATOR,
        TAG_POINT_OF_INITIATION: _POINT_OF_INITIATION_CODES[qr.point_of_initiation],
        template.tag_id: {SUBTAG_GUID: template.guid, account_id: str(qr.account)},
        TAG_MERCHANT_CATEGORY: qr.merchant_category_code,
        TAG_CURRENCY: f"{currency_numeric(qr.currency):03d}",
        TAG_COUNTRY: qr.country,
        TAG_MERCHANT_NAME: qr.merchant_name,
        TAG_MERCHANT_CITY: qr.merchant_city,
    }
    if qr.amount is not None:
        tree[TAG_AMOUNT] = _amount_text(qr.amount)
    additional: _Tree = {}
    for subtag, value in (
        (SUBTAG_BILL_NUMBER, qr.bill_number),
        (SUBTAG_REFERENCE_LABEL, qr.reference_label),
        (SUBTAG_PURPOSE, qr.purpose),
    ):
        if value is not None:
            additional[subtag] = value
    if qr.expiry is not None:
        additional[SUBTAG_PAYMENT_SYSTEM] = {
            SUBTAG_GUID: template.guid,
            SUBTAG_EXPIRY: _expiry_text(qr.expiry),
        }
    if additional:
        tree[TAG_ADDITIONAL_DATA] = additional
    if qr.language is not None:
        language: _Tree = {
            SUBTAG_LANGUAGE_PREFERENCE: qr.language.language,
            SUBTAG_LANGUAGE_NAME: qr.language.merchant_name,
        }
        if qr.language.merchant_city is not None:
            language[SUBTAG_LANGUAGE_CITY] = qr.language.merchant_city
        tree[TAG_LANGUAGE] = language
    for path, value in qr.unknown_fields:
        *parents, leaf = path.split(".")
        node = tree
        for parent in parents:
            child = node.setdefault(parent, {})
            # _normalise_unknown_fields admits only parents that are templates we write.
            assert isinstance(child, dict)
            node = child
        node[leaf] = value
    return tree


def _encode(tree: _Tree, path: str) -> str:
    parts = []
    for tag in sorted(tree):
        value = tree[tag]
        tag_path = f"{path}.{tag}" if path else tag
        text = value if isinstance(value, str) else _encode(value, tag_path)
        if len(text) > VALUE_LENGTH_MAX:
            raise _refuse(
                QrError.qr_too_long,
                f"data object {tag_path} would be longer than {VALUE_LENGTH_MAX} characters",
                tag=tag_path,
                length=len(text),
                length_max=VALUE_LENGTH_MAX,
            )
        parts.append(f"{tag}{len(text):02d}{text}")
    return "".join(parts)


def _payload_before_crc_value(qr: MerchantQr) -> str:
    text = _encode(_tree(qr), "") + CRC_HEADER
    if len(text) + 4 > PAYLOAD_LENGTH_MAX:
        raise _refuse(
            QrError.qr_too_long,
            f"payload would be longer than {PAYLOAD_LENGTH_MAX} characters",
            length=len(text) + 4,
            length_max=PAYLOAD_LENGTH_MAX,
        )
    return text


def build(qr: MerchantQr) -> str:
    """The payload text of `qr`, CRC last."""
    text = _payload_before_crc_value(qr)
    return text + _crc_text(text)


# ---------------------------------------------------------------------------- parse


def _split(text: str, path: str) -> list[tuple[str, str]]:
    """The data objects of `text`, in order; `path` names the enclosing template in errors."""
    objects = []
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        length = int(header[2:]) if _HEADER.fullmatch(header) else 0
        end = position + 4 + length
        if length == 0 or end > len(text):
            raise _refuse(
                QrError.qr_malformed_tlv,
                "data objects must be a 2-digit ID, a 2-digit length (01-99) and the value",
                tag=path or None,
                position=position,
            )
        objects.append((header[:2], text[position + 4 : end]))
        position = end
    return objects


def _unique(objects: list[tuple[str, str]], path: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for tag, value in objects:
        if tag in fields:
            tag_path = f"{path}.{tag}" if path else tag
            raise _refuse(QrError.qr_duplicate_field, "data object appears twice", tag=tag_path)
        fields[tag] = value
    return fields


def _template(fields: dict[str, str], tag: str, path: str = "") -> dict[str, str]:
    tag_path = f"{path}.{tag}" if path else tag
    return _unique(_split(fields.pop(tag), tag_path), tag_path)


def _required(fields: dict[str, str], tag: str, path: str = "") -> str:
    tag_path = f"{path}.{tag}" if path else tag
    value = fields.pop(tag, None)
    if value is None:
        raise _refuse(QrError.qr_missing_field, f"data object {tag_path} is required", tag=tag_path)
    return value


def _leftovers(fields: dict[str, str], path: str) -> list[tuple[str, str]]:
    return [(f"{path}.{tag}" if path else tag, value) for tag, value in fields.items()]


def _check_envelope(payload: object) -> list[tuple[str, str]]:
    """Length, CRC and TLV structure; returns the top-level data objects without the CRC."""
    if not isinstance(payload, str) or not payload:
        raise _refuse(QrError.qr_malformed_tlv, "payload must be non-empty text")
    if len(payload) > PAYLOAD_LENGTH_MAX:
        raise _refuse(
            QrError.qr_too_long,
            f"payload must be at most {PAYLOAD_LENGTH_MAX} characters",
            length=len(payload),
            length_max=PAYLOAD_LENGTH_MAX,
        )
    # The CRC is checked before the structure so that any damaged scan, wherever the damage,
    # gets the same answer: scan again.
    if payload[-8:-4] != CRC_HEADER:
        raise _refuse(QrError.qr_crc_missing, f"payload must end with {CRC_HEADER} and a CRC")
    if payload[-4:] != _crc_text(payload[:-4]):
        raise _refuse(QrError.qr_crc_mismatch, "CRC does not match: the code is damaged")
    objects = _split(payload, "")
    if objects[0] != (TAG_PAYLOAD_FORMAT, PAYLOAD_FORMAT_INDICATOR):
        raise _refuse(
            QrError.qr_invalid_format_indicator,
            f'payload must start with data object 00 = "{PAYLOAD_FORMAT_INDICATOR}"',
        )
    if objects[-1][0] != TAG_CRC or len(objects[-1][1]) != 4:
        # "6304" found at the end, but inside another object's value.
        raise _refuse(QrError.qr_crc_missing, "the last data object must be the CRC (63)")
    if any(tag == TAG_CRC for tag, _ in objects[:-1]):
        raise _refuse(QrError.qr_duplicate_field, "data object appears twice", tag=TAG_CRC)
    return objects[:-1]


def _parse_account(
    fields: dict[str, str], template: MerchantAccountTemplate
) -> tuple[MobileNumber | Iban, list[tuple[str, str]]]:
    tag = template.tag_id
    if tag not in fields:
        raise _refuse(QrError.qr_missing_field, f"data object {tag} is required", tag=tag)
    account_fields = _template(fields, tag)
    if account_fields.pop(SUBTAG_GUID, None) != template.guid:
        raise _refuse(
            QrError.qr_invalid_merchant_account,
            f"merchant account template {tag} must start with GUID {template.guid}",
            tag=f"{tag}.{SUBTAG_GUID}",
        )
    alias = account_fields.pop(template.alias_id, None)
    iban = account_fields.pop(template.iban_id, None)
    if (alias is None) == (iban is None):
        raise _refuse(
            QrError.qr_invalid_merchant_account,
            "merchant account must carry either a Raast alias or an IBAN",
            tag=tag,
        )
    try:
        # The constructors accept only the normal forms we write: E.164, compact IBAN.
        account = MobileNumber(alias) if alias is not None else Iban(str(iban))
    except DomainError as error:
        subtag = template.alias_id if alias is not None else template.iban_id
        raise _refuse(
            QrError.qr_invalid_merchant_account,
            error.message,
            tag=f"{tag}.{subtag}",
            reason=error.code,
        ) from None
    return account, _leftovers(account_fields, tag)


def _parse_amount(text: str | None, currency: str) -> Money | None:
    if text is None:
        return None
    if len(text) > AMOUNT_LENGTH_MAX or not _AMOUNT_TEXT.fullmatch(text):
        raise _refuse(
            QrError.qr_invalid_amount,
            'amount must be digits with an optional decimal point, such as "1250.00"',
            tag=TAG_AMOUNT,
        )
    try:
        return Money.parse(text, currency)
    except DomainError as error:
        raise _refuse(
            QrError.qr_invalid_amount, error.message, tag=TAG_AMOUNT, reason=error.code
        ) from None


def _parse_expiry(text: str) -> datetime:
    invalid = _refuse(
        QrError.qr_invalid_expiry,
        "expiry must be a UTC time written YYYYMMDDHHMMSS",
        tag=_EXPIRY_PATH,
    )
    if not _EXPIRY_TEXT.fullmatch(text):
        raise invalid
    try:
        return datetime.strptime(text + "+0000", "%Y%m%d%H%M%S%z").astimezone(UTC)
    except ValueError:
        raise invalid from None


class _AdditionalData(NamedTuple):
    bill_number: str | None
    reference_label: str | None
    purpose: str | None
    expiry: datetime | None
    unknown: list[tuple[str, str]]


def _parse_additional_data(
    fields: dict[str, str], template: MerchantAccountTemplate
) -> _AdditionalData:
    if TAG_ADDITIONAL_DATA not in fields:
        return _AdditionalData(None, None, None, None, [])
    additional = _template(fields, TAG_ADDITIONAL_DATA)
    expiry = None
    unknown: list[tuple[str, str]] = []
    # 62/50 is ours when it opens with our GUID (EMVCo puts the GUID first), and then read
    # strictly: a damaged expiry must not pass for a code that never expires. Another
    # scheme's 62/50 is kept as it is.
    guid_object = f"{SUBTAG_GUID}{len(template.guid):02d}{template.guid}"
    if additional.get(SUBTAG_PAYMENT_SYSTEM, "").startswith(guid_object):
        system = _template(additional, SUBTAG_PAYMENT_SYSTEM, TAG_ADDITIONAL_DATA)
        del system[SUBTAG_GUID]
        expiry = _parse_expiry(_required(system, SUBTAG_EXPIRY, _PAYMENT_SYSTEM_PATH))
        unknown = _leftovers(system, _PAYMENT_SYSTEM_PATH)
    return _AdditionalData(
        bill_number=additional.pop(SUBTAG_BILL_NUMBER, None),
        reference_label=additional.pop(SUBTAG_REFERENCE_LABEL, None),
        purpose=additional.pop(SUBTAG_PURPOSE, None),
        expiry=expiry,
        unknown=_leftovers(additional, TAG_ADDITIONAL_DATA) + unknown,
    )


def _parse_language(
    fields: dict[str, str],
) -> tuple[LanguageTemplate | None, list[tuple[str, str]]]:
    if TAG_LANGUAGE not in fields:
        return None, []
    language_fields = _template(fields, TAG_LANGUAGE)
    language = LanguageTemplate(
        language=_required(language_fields, SUBTAG_LANGUAGE_PREFERENCE, TAG_LANGUAGE),
        merchant_name=_required(language_fields, SUBTAG_LANGUAGE_NAME, TAG_LANGUAGE),
        merchant_city=language_fields.pop(SUBTAG_LANGUAGE_CITY, None),
    )
    return language, _leftovers(language_fields, TAG_LANGUAGE)


def parse(
    payload: str,
    *,
    template: MerchantAccountTemplate = DEFAULT_TEMPLATE,
    now: datetime | None = None,
) -> MerchantQr:
    """The code a payload describes, fully validated; with `now`, an expired code is refused.

    Checks, in order: length, CRC present and correct, TLV structure, format indicator first,
    CRC last, no duplicate IDs, then each field (see `QrError`).
    """
    fields = _unique(_check_envelope(payload), "")
    del fields[TAG_PAYLOAD_FORMAT]
    initiation_code = _required(fields, TAG_POINT_OF_INITIATION)
    point_of_initiation = _POINTS_OF_INITIATION.get(initiation_code)
    if point_of_initiation is None:
        raise _refuse(
            QrError.qr_invalid_field,
            'point of initiation must be "11" (static) or "12" (dynamic)',
            tag=TAG_POINT_OF_INITIATION,
        )
    account, unknown = _parse_account(fields, template)
    merchant_category_code = _required(fields, TAG_MERCHANT_CATEGORY)
    currency = _CURRENCY_BY_NUMERIC.get(_required(fields, TAG_CURRENCY))
    if currency is None:
        raise _refuse(
            QrError.qr_invalid_currency,
            "currency must be the ISO 4217 numeric code of a supported currency",
            tag=TAG_CURRENCY,
        )
    amount = _parse_amount(fields.pop(TAG_AMOUNT, None), currency)
    if _required(fields, TAG_COUNTRY) != COUNTRY_CODE:
        raise _refuse(
            QrError.qr_invalid_country, f"country must be {COUNTRY_CODE}", tag=TAG_COUNTRY
        )
    merchant_name = _required(fields, TAG_MERCHANT_NAME)
    merchant_city = _required(fields, TAG_MERCHANT_CITY)
    additional = _parse_additional_data(fields, template)
    language, language_unknown = _parse_language(fields)
    qr = MerchantQr(
        account=account,
        merchant_name=merchant_name,
        merchant_city=merchant_city,
        merchant_category_code=merchant_category_code,
        currency=currency,
        point_of_initiation=point_of_initiation,
        amount=amount,
        bill_number=additional.bill_number,
        reference_label=additional.reference_label,
        purpose=additional.purpose,
        expiry=additional.expiry,
        language=language,
        template=template,
        unknown_fields=tuple(
            unknown + additional.unknown + language_unknown + _leftovers(fields, "")
        ),
    )
    if now is not None and is_expired(qr, now):
        assert qr.expiry is not None
        raise _refuse(
            QrError.qr_expired,
            "this payment code has expired: ask the merchant for a new one",
            expiry=qr.expiry.isoformat(),
        )
    return qr


def is_expired(qr: MerchantQr, now: datetime) -> bool:
    """True from the expiry instant on; a code without an expiry never expires."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return qr.expiry is not None and now >= qr.expiry


# ---------------------------------------------------------------------------- render


def _symbol(payload: str, scale: int) -> segno.QRCode:
    _check_envelope(payload)
    if type(scale) is not int or not 1 <= scale <= RENDER_SCALE_MAX:
        raise _refuse(
            QrError.qr_invalid_field,
            f"scale must be a whole number of pixels per module within 1-{RENDER_SCALE_MAX}",
            field="scale",
        )
    # Byte mode is ISO-8859-1 unless told otherwise: a payload with Urdu declares UTF-8
    # (ECI 26) so that strict readers do not decode it as Latin-1. Error correction stays at
    # M (boost_error=False) as the scheme asks, not whatever level happens to fit.
    return segno.make_qr(
        payload,
        error="m",
        boost_error=False,
        encoding="utf-8",
        eci=not payload.isascii(),
    )


def render_png(payload: str, *, scale: int = 8) -> bytes:
    """A PNG image of `payload` (checked first: length, CRC, structure)."""
    buffer = io.BytesIO()
    _symbol(payload, scale).save(buffer, kind="png", scale=scale, border=QUIET_ZONE_MODULES)
    return buffer.getvalue()


def render_svg(payload: str, *, scale: int = 8) -> str:
    """An SVG image of `payload`, without an XML declaration so it can be inlined in HTML."""
    buffer = io.BytesIO()
    _symbol(payload, scale).save(
        buffer, kind="svg", scale=scale, border=QUIET_ZONE_MODULES, xmldecl=False
    )
    return buffer.getvalue().decode("utf-8")
