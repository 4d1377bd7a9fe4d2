"""The marketplace's side of the wire: signed pushes, their JSON shape, and pulls.

A push is JSON whose `Authorization` header is hex(HMAC-SHA256(key = app secret,
message = app key + raw body)), computed over the raw bytes as sent: never over a body parsed
and serialised again, which would not be the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tijarat.kernel.clock import to_ns
from tijarat.kernel.errors import DomainError
from tijarat.trade.errors import TradeError
from tijarat.trade.model import (
    ADDRESS_LENGTH_MAX,
    MARKETPLACE_ORDER_ID_LENGTH_MAX,
    MESSAGE_ID_LENGTH_MAX,
    NAME_LENGTH_MAX,
    NOTE_LENGTH_MAX,
    ORDER_LINES_MAX,
    PLACE_LENGTH_MAX,
    QUANTITY_MAX,
    Connector,
    Incoterm,
    MessageType,
)

APP_KEY_HEADER = "X-App-Key"
AMOUNT_TEXT_LENGTH_MAX = 32


def sign(app_secret: str, app_key: str, body: bytes) -> str:
    """The `Authorization` value for `body`: lower-case hex of the HMAC-SHA256."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def signature_matches(app_secret: str, app_key: str, body: bytes, given: str) -> bool:
    # compare_digest: the time taken must not tell a forger how many characters were right.
    expected = sign(app_secret, app_key, body)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


# ---------------------------------------------------------------------------- message shapes
class _Data(BaseModel):
    # Marketplaces add fields over time; unknown ones are kept in the raw body, not refused.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class BuyerData(_Data):
    company: str = Field(min_length=1, max_length=NAME_LENGTH_MAX)
    contact_name: str = Field(min_length=1, max_length=NAME_LENGTH_MAX)
    email: str = Field(min_length=3, max_length=NAME_LENGTH_MAX, pattern=r"^[^@\s]+@[^@\s]+$")
    country: str = Field(pattern="^[A-Z]{2}$")
    address: str = Field(min_length=1, max_length=ADDRESS_LENGTH_MAX)


class LineData(_Data):
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(gt=0, le=QUANTITY_MAX, strict=True)
    unit_price: str = Field(min_length=1, max_length=AMOUNT_TEXT_LENGTH_MAX)


class OrderCreatedData(_Data):
    order_id: str = Field(min_length=1, max_length=MARKETPLACE_ORDER_ID_LENGTH_MAX)
    buyer: BuyerData
    currency: str = Field(pattern="^[A-Z]{3}$")
    incoterm: Incoterm
    incoterm_place: str = Field(min_length=1, max_length=PLACE_LENGTH_MAX)
    lines: list[LineData] = Field(min_length=1, max_length=ORDER_LINES_MAX)
    shipping_fee: str = Field(default="0", max_length=AMOUNT_TEXT_LENGTH_MAX)
    total: str = Field(min_length=1, max_length=AMOUNT_TEXT_LENGTH_MAX)


class OrderPaidData(_Data):
    order_id: str = Field(min_length=1, max_length=MARKETPLACE_ORDER_ID_LENGTH_MAX)
    amount: str = Field(min_length=1, max_length=AMOUNT_TEXT_LENGTH_MAX)
    currency: str = Field(pattern="^[A-Z]{3}$")
    payment_reference: str = Field(min_length=1, max_length=64)


class OrderNoteData(_Data):
    """Cancellation, receipt and dispute messages: the order and, maybe, why."""

    order_id: str = Field(min_length=1, max_length=MARKETPLACE_ORDER_ID_LENGTH_MAX)
    reason: str = Field(default="", max_length=NOTE_LENGTH_MAX)


DATA_MODELS: Mapping[MessageType, type[_Data]] = {
    MessageType.ORDER_CREATED: OrderCreatedData,
    MessageType.ORDER_PAID: OrderPaidData,
    MessageType.ORDER_CANCELLED: OrderNoteData,
    MessageType.RECEIPT_CONFIRMED: OrderNoteData,
    MessageType.DISPUTE_OPENED: OrderNoteData,
}


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=1, max_length=MESSAGE_ID_LENGTH_MAX)
    message_type: MessageType
    app_key: str | None = Field(default=None, max_length=64)
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    message_id: str
    message_type: MessageType
    occurred_at: int  # ns
    data: _Data

    @property
    def order_id(self) -> str:
        order_id: str = self.data.order_id  # type: ignore[attr-defined]
        return order_id


def _malformed(message: str, **fields: object) -> DomainError:
    return DomainError(TradeError.PUSH_MALFORMED, message, status=400, fields=dict(fields))


def parse_message(body: bytes) -> ParsedMessage:
    """The message in a push body, checked against its shape; else a 400 naming the fault."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _malformed("the push body is not complete JSON", reason=str(error)[:200]) from None
    if not isinstance(document, dict):
        raise _malformed("the push body must be a JSON object")
    try:
        envelope = Envelope.model_validate(document)
        if envelope.occurred_at.tzinfo is None:
            raise _malformed("occurred_at needs a time zone", field="occurred_at")
        data = DATA_MODELS[envelope.message_type].model_validate(envelope.data)
    except ValidationError as error:
        problems = [
            {"location": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
            for item in error.errors()[:20]
        ]
        raise _malformed("the push does not match the message schema", errors=problems) from None
    return ParsedMessage(
        envelope.message_id, envelope.message_type, to_ns(envelope.occurred_at), data
    )


def app_key_in_body(body: bytes) -> str | None:
    """The app key a body names, for marketplaces that send it there instead of a header.

    Only a lookup key: the signature is still checked before anything else is believed.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    key = document.get("app_key") if isinstance(document, dict) else None
    return key if isinstance(key, str) and len(key) <= MESSAGE_ID_LENGTH_MAX else None


# ---------------------------------------------------------------------------- pulls
@dataclass(frozen=True, slots=True)
class MarketplaceMessage:
    """One message as a pull answers it: the same shape a push carries."""

    message_id: str
    message_type: MessageType
    occurred_at: datetime
    data: Mapping[str, Any]

    def body(self) -> bytes:
        return json.dumps(
            {
                "message_id": self.message_id,
                "message_type": self.message_type.value,
                "occurred_at": self.occurred_at.isoformat(),
                "data": self.data,
            },
            separators=(",", ":"),
        ).encode()


class MarketplaceClient(Protocol):
    def pull_orders(self, connector: Connector, since: datetime) -> Sequence[MarketplaceMessage]:
        """Messages about the connector's orders that happened at or after `since`, oldest
        first (to catch up on pushes that never arrived)."""
        ...
