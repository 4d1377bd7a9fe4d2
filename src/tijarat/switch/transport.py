"""The hub's HTTP transport: it pushes credit advices and status reports to participants.

A participant that registers an endpoint receives each credit advice as a pacs.008 envelope
POSTed to it, signed `X-Tijarat-Signature: hex(HMAC-SHA256(signing secret, body))`, and
answers in the response body with a pacs.002 (ACSC to accept, RJCT with a reason). No
answer, an error or a late answer is a non-answer: the payment stays pending until the payee
answers through the API or the 20-second timeout rejects it (AB05). Final statuses go to the
payer's and payee's endpoints as pacs.002, best effort (a participant that missed one asks
with a pacs.028). Every message is archived like those that arrive.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
import structlog

from tijarat.kernel.errors import DomainError
from tijarat.switch.gateway import Gateway
from tijarat.switch.model import Participant, PayeeDecision, Payment

log = structlog.get_logger("tijarat.switch.transport")
DELIVERY_TIMEOUT_S = 5.0  # well inside the payee's 20 s: a slow endpoint is a non-answer
SIGNATURE_HEADER = "X-Tijarat-Signature"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpTransport:
    def __init__(
        self,
        gateway: Gateway,
        *,
        timeout_s: float = DELIVERY_TIMEOUT_S,
        client: httpx.Client | None = None,
    ) -> None:
        self.gateway = gateway
        self.directory = gateway.payments.directory
        self.client = client or httpx.Client(timeout=timeout_s)

    def _post(self, participant: Participant, body: bytes) -> httpx.Response | None:
        endpoint = self.directory.endpoint(participant.id)
        if endpoint is None:
            return None
        url, secret = endpoint
        try:
            return self.client.post(
                url,
                content=body,
                headers={
                    "content-type": "application/xml",
                    SIGNATURE_HEADER: signature(secret, body),
                },
            )
        except httpx.HTTPError as error:
            log.warning("endpoint unreachable", participant=participant.code, error=str(error))
            return None

    def deliver(self, payee: Participant, payment: Payment) -> PayeeDecision | None:
        response = self._post(payee, self.gateway.credit_advice(payee, payment))
        if response is None or response.status_code != httpx.codes.OK:
            return None
        try:
            return self.gateway.read_decision(payee, payment, response.content)
        except DomainError as error:  # an unreadable answer is no answer
            log.warning("unreadable answer", participant=payee.code, code=error.code)
            return None

    def report(self, participant: Participant, payment: Payment) -> None:
        self._post(participant, self.gateway.status_report(participant, payment))

    def close(self) -> None:
        self.client.close()
