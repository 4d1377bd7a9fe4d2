"""What the switch's HTTP tests share: the operator's header, funded participants, and the
JSON body of a credit transfer."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tijarat.bootstrap import Container
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.switch.model import ParticipantCategory, PayeeDecision

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}
FUNDED_MINOR = 500_000_00


def register(client: TestClient, code: str, bank: str) -> tuple[str, str]:
    """A direct settlement participant registered and funded Rs 500,000: its Basic auth."""
    response = client.post(
        "/v1/switch/participants",
        json={
            "code": code,
            "name": code.title(),
            "category": "direct_settlement",
            "bank_code": bank,
        },
        headers=OPERATOR,
    )
    assert response.status_code == 201, response.text
    funded = client.post(
        f"/v1/switch/participants/{code}/funds",
        json={"request_id": str(uuid.uuid4()), "amount_minor": FUNDED_MINOR},
        headers=OPERATOR,
    )
    assert funded.status_code == 200, funded.text
    assert funded.json()["available_minor"] == FUNDED_MINOR
    return code, response.json()["secret"]


def payment(creditor: dict[str, str], amount: int = 12_500_00) -> dict[str, object]:
    """A credit transfer from MEZN's customer (JSON form), to `creditor`'s alias or IBAN."""
    return {
        "msg_id": "M" + uuid.uuid4().hex[:20],
        "end_to_end_id": "E" + uuid.uuid4().hex[:20],
        "tx_id": "T" + uuid.uuid4().hex[:20],
        "uetr": str(uuid.uuid4()),
        "amount_minor": amount,
        "currency": "PKR",
        "debtor_name": "Skardu Crafts",
        "debtor_iban": make_pk_iban("MEZN", "1").compact,
        **creditor,
    }


def meezan_pays_habib(container: Container) -> tuple[str, str]:
    """Meezan (funded Rs 100,000) and Habib (Raast ID 0300 1234567, accepting every credit
    advice in process), registered directly: Meezan's Basic auth."""
    switch = container.switch
    meezan, secret = switch.register_participant(
        "MEZNPKKA", "Meezan", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )
    switch.register_participant(
        "HABBPKKA", "Habib", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="HABB"
    )
    switch.fund("MEZNPKKA", Money(100_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        "HABBPKKA", "03001234567", make_pk_iban("HABB", "7").compact, "35202-1234567-1", "Ali"
    )
    container.payments.connect("HABBPKKA", lambda _p: PayeeDecision(accept=True))
    return meezan.code, secret
