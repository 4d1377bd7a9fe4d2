"""The JSON form of a message, for developers: the same dataclasses as plain dicts.

    {"message_type": "pacs.008.001.08", "message_id": "...", "created_at": "2025-...+05:00",
     "transactions": [{"amount": {"amount_minor": 125000, "currency": "PKR"}, ...}], ...}

Field names are the dataclasses' own; amounts are {"amount_minor": int, "currency": str}
(never a float or decimal text); IBANs and Raast IDs are strings; date-times ISO 8601 with
their offset; UUIDs and codes strings; None is null; tuples are lists. `from_json` is strict:
unknown keys, wrong JSON types and missing required fields are iso20022_invalid_json with the
path of the offending value, and every value then passes the same checks as in Python.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.kernel.money import Money
from tijarat.switch.iso20022._xml import coded_error
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.iso20022.model import MESSAGE_CLASSES, Message

_MODEL_BY_TYPE: dict[str, type[Message]] = {
    model.MESSAGE_TYPE.value: model for model in MESSAGE_CLASSES
}
# Kernel value objects are dataclasses too, but their JSON form is a scalar or an amount.
_VALUE_TYPES: frozenset[type] = frozenset({Money, Iban, MobileNumber})
_TEXT_LENGTH_MAX = 4_096  # no JSON string this codec accepts is longer (Max2048Text at most)


def _invalid(path: str, message: str) -> DomainError:
    return coded_error(Iso20022Error.INVALID_JSON, message, path=path or "$")


def _at_path(error: DomainError, path: str) -> DomainError:
    """The error with the JSON path of the value; a kernel refusal (a bad IBAN, an unknown
    currency) becomes iso20022_invalid_field, as it does when read from XML."""
    if error.code.startswith("iso20022_"):
        error.fields.setdefault("path", path or "$")
        return error
    return coded_error(
        Iso20022Error.INVALID_FIELD, error.message, **error.fields, reason=error.code, path=path
    )


# ---------------------------------------------------------------------------- to JSON


def to_json(message: Message) -> dict[str, Any]:
    """The JSON form: the message's fields plus "message_type"."""
    if not isinstance(message, MESSAGE_CLASSES):
        raise TypeError(f"not an ISO 20022 message: {type(message).__name__}")
    encoded = _encode(message)
    assert isinstance(encoded, dict)
    return {"message_type": message.MESSAGE_TYPE.value, **encoded}


def _encode(value: object) -> Any:
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Money):
        return {"amount_minor": value.amount_minor, "currency": value.currency}
    if isinstance(value, Iban):
        return value.compact
    if isinstance(value, MobileNumber):
        return value.e164
    if isinstance(value, date):  # datetime too: both have isoformat
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    raise TypeError(f"no JSON form for {type(value).__name__}")


# ---------------------------------------------------------------------------- from JSON


def from_json(data: object) -> Message:
    """The message a JSON form describes; the inverse of `to_json`."""
    if not isinstance(data, dict):
        raise _invalid("", "a message is a JSON object")
    message_type = data.get("message_type")
    model = _MODEL_BY_TYPE.get(message_type) if isinstance(message_type, str) else None
    if model is None:
        raise coded_error(
            Iso20022Error.UNSUPPORTED_MESSAGE,
            f"message_type must be one of {', '.join(sorted(_MODEL_BY_TYPE))}",
            message_type=str(message_type)[:64],
        )
    fields = {key: value for key, value in data.items() if key != "message_type"}
    message: Message = _decode_dataclass(model, fields, "")
    return message


_HINTS: dict[type, dict[str, Any]] = {}  # resolved once per dataclass


def _hints(model: type) -> dict[str, Any]:
    hints = _HINTS.get(model)
    if hints is None:
        hints = _HINTS[model] = typing.get_type_hints(model)
    return hints


def _decode_dataclass(model: type[Any], data: object, path: str) -> Any:
    if not isinstance(data, dict):
        raise _invalid(path, f"{model.__name__} is a JSON object")
    fields = {field.name: field for field in dataclasses.fields(model)}
    unknown = sorted(str(key) for key in data if key not in fields)
    if unknown:
        raise _invalid(f"{path}.{unknown[0]}" if path else unknown[0], "unknown field")
    hints = _hints(model)
    arguments: dict[str, Any] = {}
    for name, field in fields.items():
        field_path = f"{path}.{name}" if path else name
        if name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise _invalid(field_path, "required field is missing")
            continue
        arguments[name] = _decode(hints[name], data[name], field_path)
    try:
        return model(**arguments)
    except DomainError as error:
        # The model names the refused field; the path then points at the value itself.
        refused_field = error.fields.get("field")
        if isinstance(refused_field, str) and refused_field in fields:
            path = f"{path}.{refused_field}" if path else refused_field
        raise _at_path(error, path) from None


def _decode(hint: Any, value: object, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        return _decode_union(typing.get_args(hint), value, path)
    if origin is tuple:
        (item_hint, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise _invalid(path, "expected a JSON array")
        return tuple(
            _decode(item_hint, item, f"{path}[{index}]") for index, item in enumerate(value)
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint not in _VALUE_TYPES:
        return _decode_dataclass(hint, value, path)
    return _decode_scalar(hint, value, path)


def _decode_union(options: tuple[Any, ...], value: object, path: str) -> Any:
    if value is None:
        if type(None) not in options:
            raise _invalid(path, "must not be null")
        return None
    remaining = [option for option in options if option is not type(None)]
    if set(remaining) == {date, datetime}:
        # DateAndDateTime2Choice: a date-time has a time part, a date has none.
        return _decode_scalar(
            datetime if isinstance(value, str) and "T" in value else date, value, path
        )
    if len(remaining) != 1:
        raise TypeError(f"no JSON form for the union {options}")
    return _decode(remaining[0], value, path)


def _text(value: object, path: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > _TEXT_LENGTH_MAX:
        raise _invalid(path, f"expected {what} as a JSON string")
    return value


def _decode_scalar(hint: Any, value: object, path: str) -> Any:
    try:
        if hint is str:
            return _text(value, path, "text")
        if hint is bool:
            if not isinstance(value, bool):
                raise _invalid(path, "expected true or false")
            return value
        if hint is int:
            if type(value) is not int:
                raise _invalid(path, "expected a whole number")
            return value
        if hint is Money:
            return _decode_money(value, path)
        if hint is Iban:
            return Iban.parse(_text(value, path, "an IBAN"))
        if hint is MobileNumber:
            return MobileNumber.parse(_text(value, path, "a mobile number"))
        if hint is datetime:
            return datetime.fromisoformat(_text(value, path, "an ISO 8601 date-time"))
        if hint is date:
            return date.fromisoformat(_text(value, path, "an ISO 8601 date"))
        if hint is UUID:
            return UUID(_text(value, path, "a UUID"))
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(_text(value, path, f"a {hint.__name__} code"))
    except ValueError:
        raise _invalid(path, f"not a valid {getattr(hint, '__name__', hint)}") from None
    except DomainError as error:
        raise _at_path(error, path) from None
    raise TypeError(f"no JSON form for {hint}")


def _decode_money(value: object, path: str) -> Money:
    if not isinstance(value, dict) or set(value) != {"amount_minor", "currency"}:
        raise _invalid(path, 'an amount is {"amount_minor": int, "currency": "PKR"}')
    amount_minor, currency = value["amount_minor"], value["currency"]
    if type(amount_minor) is not int:
        raise _invalid(f"{path}.amount_minor", "expected a whole number of minor units")
    return Money(amount_minor, _text(currency, f"{path}.currency", "a currency code"))
