"""The least a hub's HTTP front can do on this stack: `uvicorn switch_front:app`.

For `bench/switch_floor.py`: an ASGI app that does for each `POST /v1/switch/payments` only
what every front built from uvicorn and Pydantic must: read the body, check the HTTP Basic
credentials (a dictionary look-up), validate the JSON as the hub's `CreditTransferIn`, and
answer the hub's `PaymentOut` as JSON. No routing framework, no middleware, no payment: the
answer is the same settled payment every time.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from pydantic import ValidationError

from tijarat.switch.model import CreditTransfer, Payment, PaymentStatus
from tijarat.switch.schemas import CreditTransferIn, PaymentOut

CREDENTIALS = {"MEZNPKKA": "front-secret"}  # what switch_floor.py's load generator sends
_PAYER = uuid.uuid4()
_SETTLED = Payment(
    uuid.uuid4(),
    _PAYER,
    uuid.uuid4(),
    CreditTransfer(
        msg_id="M",
        end_to_end_id="E",
        tx_id="T",
        uetr=uuid.uuid4(),
        amount_minor=100_00,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban="PK00MEZN0000000000000001",
    ),
    None,
    PaymentStatus.SETTLED,
    None,
    0,
    0,
)
_ANSWER = PaymentOut.of(_SETTLED, viewer_id=_PAYER)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    status, body = 200, b""
    if scope["path"] == "/readyz":  # what the bench waits for
        await _answer(send, status, body)
        return
    headers = dict(scope["headers"])
    try:
        code, _, secret = (
            base64.b64decode(headers.get(b"authorization", b"")[6:]).decode().partition(":")
        )
        if CREDENTIALS.get(code) != secret:
            status = 401
        else:
            transfer = CreditTransferIn.model_validate_json(b"".join(chunks))
            answer = _ANSWER.model_copy(update={"end_to_end_id": transfer.end_to_end_id})
            body = answer.model_dump_json().encode()
    except (binascii.Error, UnicodeDecodeError, ValidationError):
        status = 422
    await _answer(send, status, body)


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),  # not chunked: the load
            ],  # generator reads by length
        }
    )
    await send({"type": "http.response.body", "body": body})
