"""Request to pay reaches the debtor's institution, and the creditor's learns the answer.

The hub forwards each request as a pain.013 to the participant holding the debtor's Raast ID
(archived: the inbox of one that polls; pushed to its endpoint if it has one), and tells the
creditor's institution what became of it with a pain.014: ACCP when paid, RJCT with the
reason when refused, RJCT AEXR when it expired. Everything archived is read back through
iso.parse_envelope, so it is valid against the official XSDs.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock, from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.model import (
    ParticipantCategory,
    PayeeDecision,
    Payment,
    ReasonCode,
    RequestStatus,
)
from tijarat.switch.transport import SIGNATURE_HEADER, signature

XML = {"content-type": "application/xml"}
DEBTOR_NUMBER = "03211234567"
CREDITOR_IBAN = make_pk_iban("MEZN", "1").compact

Auth = tuple[str, str]


class Hub:
    def __init__(self, container: Container, client: TestClient, creditor: Auth, debtor: Auth):
        self.container = container
        self.client = client
        self.creditor = creditor  # MEZNPKKA: the merchant's bank
        self.debtor = debtor  # SADAPAY: holds the customer's Raast ID

    def envelopes(self, code: str, kind: str) -> list[iso.Envelope]:
        """What the hub archived for `code` (sent to it) of this type, oldest first, each
        parsed and validated against its XSDs."""
        gateway = self.container.gateway
        participant = self.container.switch.participant(code)
        return [
            iso.parse_envelope(gateway.message(participant, entry["id"]))
            for entry in gateway.archive(participant, after="0")
            if entry["direction"] == "out" and entry["message_type"] == kind
        ]

    def forwarded(self) -> list[iso.RequestToPay]:
        found = []
        for envelope in self.envelopes("SADAPAY", "pain.013.001.07"):
            assert envelope.header.from_agent.member_id == "RAASTHUB"
            assert envelope.header.to_agent.member_id == "SADAPAY"
            assert isinstance(envelope.document, iso.RequestToPay)
            found.append(envelope.document)
        return found

    def outcomes(self) -> list[iso.RequestToPayResponse]:
        """The pain.014s telling the creditor an outcome: the debtor side's (InitgPty), not
        the hub's answers to its own pain.013s, which are archived too."""
        found = []
        for envelope in self.envelopes("MEZNPKKA", "pain.014.001.07"):
            assert envelope.header.to_agent.member_id == "MEZNPKKA"
            assert isinstance(envelope.document, iso.RequestToPayResponse)
            if envelope.document.initiating_party.name == "SadaPay":
                found.append(envelope.document)
        return found

    def ask(self, *, end_to_end_id: str | None = None, expires_in_s: int = 600) -> uuid.UUID:
        return self.container.requests.request(
            "MEZNPKKA",
            debtor_alias=DEBTOR_NUMBER,
            amount_minor=5_000_00,
            creditor_name="Skardu Crafts",
            creditor_iban=CREDITOR_IBAN,
            reference="Rug order 42",
            expires_in_s=expires_in_s,
            end_to_end_id=end_to_end_id,
        ).id


@pytest.fixture
def hub(container: Container) -> Iterator[Hub]:
    """Two participants that poll (no endpoint, no handler): the archive is their inbox."""
    switch = container.switch
    meezan = switch.register_participant(
        "MEZNPKKA", "Meezan", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="MEZN"
    )[1]
    sada = switch.register_participant(
        "SADAPAY", "SadaPay", ParticipantCategory.DIRECT_SETTLEMENT, bank_code="SADA"
    )[1]
    switch.fund("SADAPAY", Money(50_000_00, "PKR"), uuid.uuid4())
    switch.link_alias(
        "SADAPAY", DEBTOR_NUMBER, make_pk_iban("SADA", "8").compact, "35202-7654321-1", "Sana Baig"
    )
    with TestClient(create_app(container)) as client:
        yield Hub(container, client, ("MEZNPKKA", meezan), ("SADAPAY", sada))


def post_xml(hub: Hub, document: iso.Message, auth: Auth) -> iso.Message:
    body = iso.build_envelope(iso.Envelope.of(document, sender=auth[0], receiver="RAASTHUB"))
    response = hub.client.post("/v1/switch/iso20022", content=body, headers=XML, auth=auth)
    assert response.status_code == 200, response.text
    return iso.parse_envelope(response.content).document


def pain013(clock: ManualClock, end_to_end_id: str) -> iso.RequestToPay:
    return iso.RequestToPay(
        message_id="RTP" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Skardu Crafts"),
        payment_instructions=(
            iso.RequestToPayInstruction(
                payment_information_id="I-" + end_to_end_id,
                requested_execution=from_ns(clock.now_ns()),
                expiry=from_ns(clock.now_ns()) + timedelta(hours=1),
                debtor=iso.Party(name="Customer"),
                debtor_account=iso.Account(proxy=MobileNumber.parse(DEBTOR_NUMBER)),
                debtor_agent=iso.Agent(member_id="RAASTHUB"),
                transactions=(
                    iso.RequestToPayTransaction(
                        end_to_end_id=end_to_end_id,
                        amount=Money(5_000_00, "PKR"),
                        creditor=iso.Party(name="Skardu Crafts"),
                        creditor_account=iso.Account(iban=Iban.parse(CREDITOR_IBAN)),
                        creditor_agent=iso.Agent(member_id="MEZNPKKA"),
                        remittance_information=("Rug order 42",),
                    ),
                ),
            ),
        ),
    )


def pain014(
    end_to_end_id: str, status: iso.PaymentStatus, reason: iso.ReasonCode | None = None
) -> iso.RequestToPayResponse:
    return iso.RequestToPayResponse(
        message_id="ANS" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name="Sana Baig"),
        original_group=iso.OriginalGroupStatus(
            original_message_id="HUBRTP", original_message_name="pain.013.001.07"
        ),
        payment_instructions=(
            iso.PaymentInstructionStatus(
                original_payment_information_id="P1",
                transactions=(
                    iso.TransactionStatus(
                        status=status,
                        original_end_to_end_id=end_to_end_id,
                        reasons=(iso.Reason(code=reason),) if reason else (),
                    ),
                ),
            ),
        ),
    )


def only_status(answer: iso.RequestToPayResponse) -> iso.TransactionStatus:
    (group,) = answer.payment_instructions
    (status,) = group.transactions
    return status


def test_a_pain013_reaches_the_polling_debtor_and_its_acceptance_the_creditor(
    hub: Hub, clock: ManualClock
) -> None:
    asked = pain013(clock, "RTP-1")
    answer = post_xml(hub, asked, hub.creditor)
    assert isinstance(answer, iso.RequestToPayResponse)
    assert only_status(answer).status is iso.PaymentStatus.PDNG
    # The debtor finds the request in its inbox, as a pain.013 from the hub.
    inbox = hub.client.get("/v1/switch/messages", params={"after": 0}, auth=hub.debtor).json()
    assert [(m["direction"], m["message_type"]) for m in inbox] == [("out", "pain.013.001.07")]
    body = hub.client.get(f"/v1/switch/messages/{inbox[0]['id']}", auth=hub.debtor).content
    forwarded = iso.parse_envelope(body).document
    assert isinstance(forwarded, iso.RequestToPay)
    (request,) = hub.container.requests.inbox("SADAPAY")
    (instruction,) = forwarded.payment_instructions
    (tx,) = instruction.transactions
    assert instruction.debtor_account == iso.Account(proxy=MobileNumber.parse(DEBTOR_NUMBER))
    assert instruction.debtor_agent.member_id == "SADAPAY"
    assert instruction.debtor.name == "Sana Baig"
    assert instruction.expiry == from_ns(request.expires_at)
    assert (instruction.payment_information_id, tx.instruction_id) == (
        request.id.hex,
        request.id.hex,
    )
    assert (tx.end_to_end_id, tx.amount, tx.creditor.name) == (
        "RTP-1",
        Money(5_000_00, "PKR"),
        "Skardu Crafts",
    )
    assert tx.creditor_account == iso.Account(iban=Iban.parse(CREDITOR_IBAN))
    assert tx.creditor_agent.member_id == "MEZNPKKA"
    assert tx.remittance_information == ("Rug order 42",)
    assert hub.outcomes() == []  # nothing decided yet
    # The debtor accepts with a pain.014: the payment waits for the creditor's institution,
    # which polls; once it accepts, the creditor is told ACCP with the payment's ids.
    paid = post_xml(hub, pain014("RTP-1", iso.PaymentStatus.ACCP), hub.debtor)
    assert isinstance(paid, iso.PaymentStatusReport)
    assert paid.transactions[0].status is iso.PaymentStatus.PDNG
    assert hub.outcomes() == []  # not paid yet
    payment = settle(hub, request.id)
    (told,) = hub.outcomes()
    assert told.original_group.original_message_id == asked.message_id
    assert told.original_group.original_message_name == "pain.013.001.07"
    assert told.payment_instructions[0].original_payment_information_id == "I-RTP-1"
    status = only_status(told)
    assert status.status is iso.PaymentStatus.ACCP
    assert status.original_end_to_end_id == "RTP-1"
    assert status.original_uetr == payment.request.uetr
    assert status.status_id == payment.request.end_to_end_id
    # The same pain.013 again is the same request: not forwarded twice.
    post_xml(hub, asked, hub.creditor)
    assert len(hub.forwarded()) == 1


def settle(hub: Hub, request_id: uuid.UUID) -> Payment:
    """The creditor's institution (it polls) accepts the payment paying a request; the
    sweep then marks the request paid. The payment, settled."""
    payment_id = hub.container.requests.get(request_id).payment_id
    assert payment_id is not None
    settled = hub.container.payments.answer("MEZNPKKA", payment_id, PayeeDecision(accept=True))
    hub.container.requests.expire_due()
    assert hub.container.requests.get(request_id).status is RequestStatus.PAID
    return settled


def test_the_debtor_lists_accepts_and_rejects_over_json(hub: Hub, clock: ManualClock) -> None:
    refused_id = hub.ask(end_to_end_id="E-REFUSE")
    clock.advance(seconds=1)  # listed oldest first
    paid_id = hub.ask()  # no end-to-end id: named by the hub's id
    listed = hub.client.get("/v1/switch/requests/incoming", auth=hub.debtor)
    assert listed.status_code == 200, listed.text
    assert [(r["id"], r["end_to_end_id"], r["status"]) for r in listed.json()] == [
        (str(refused_id), "E-REFUSE", "open"),
        (str(paid_id), paid_id.hex, "open"),
    ]
    first = listed.json()[0]
    assert (first["creditor_participant"], first["amount_minor"], first["creditor_iban"]) == (
        "MEZNPKKA",
        5_000_00,
        CREDITOR_IBAN,
    )
    assert hub.client.get("/v1/switch/requests/incoming", auth=hub.creditor).json() == []
    # Refusals: a reason the hub does not know, a stranger, an unknown request.
    bad = hub.client.post(
        f"/v1/switch/requests/{refused_id}/reject", json={"reason": "XXXX"}, auth=hub.debtor
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    stranger = hub.client.post(
        f"/v1/switch/requests/{refused_id}/reject", json={}, auth=hub.creditor
    )
    assert (stranger.status_code, stranger.json()["code"]) == (404, "switch_request_not_found")
    unknown = hub.client.post(
        f"/v1/switch/requests/{uuid.uuid4()}/accept", json={}, auth=hub.debtor
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "switch_request_not_found")
    assert hub.outcomes() == []
    rejected = hub.client.post(
        f"/v1/switch/requests/{refused_id}/reject", json={"reason": "AM02"}, auth=hub.debtor
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "AM02")
    again = hub.client.post(f"/v1/switch/requests/{refused_id}/reject", json={}, auth=hub.debtor)
    assert (again.status_code, again.json()["code"]) == (409, "switch_request_not_open")
    accepted = hub.client.post(
        f"/v1/switch/requests/{paid_id}/accept", json={"msg_id": "MSG-ACCEPT-1"}, auth=hub.debtor
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "open"  # its payment waits for the creditor's bank
    payment = settle(hub, paid_id)
    assert payment.request.msg_id == "MSG-ACCEPT-1"
    assert payment.request.debtor_iban == make_pk_iban("SADA", "8").compact
    # The creditor learns both ends, each once, in the order they happened.
    refused, paid = hub.outcomes()
    assert refused.original_group.original_message_id == refused_id.hex  # no pain.013 to name
    assert (only_status(refused).status, only_status(refused).reasons[0].code) == (
        iso.PaymentStatus.RJCT,
        iso.ReasonCode.AM02,
    )
    assert only_status(refused).original_end_to_end_id == "E-REFUSE"
    assert only_status(paid).status is iso.PaymentStatus.ACCP
    assert only_status(paid).original_end_to_end_id == paid_id.hex
    assert only_status(paid).original_uetr == payment.request.uetr
    every = hub.client.get(
        "/v1/switch/requests/incoming", params={"status": "all"}, auth=hub.debtor
    ).json()
    assert [r["status"] for r in every] == ["rejected", "paid"]
    assert hub.client.get("/v1/switch/requests/incoming", auth=hub.debtor).json() == []
    wrong = hub.client.get("/v1/switch/requests/incoming?status=later", auth=hub.debtor)
    assert wrong.status_code == 422


def test_a_request_made_without_end_to_end_id_is_answered_by_the_hub_id(hub: Hub) -> None:
    request_id = hub.ask()
    (forwarded,) = hub.forwarded()
    named = forwarded.payment_instructions[0].transactions[0].end_to_end_id
    assert named == request_id.hex
    answer = post_xml(hub, pain014(named, iso.PaymentStatus.RJCT, iso.ReasonCode.AM09), hub.debtor)
    assert isinstance(answer, iso.PaymentStatusReport)
    assert hub.container.requests.get(request_id).status is RequestStatus.REJECTED
    (told,) = hub.outcomes()
    assert only_status(told).reasons[0].code is iso.ReasonCode.CUST  # AM09 recorded as CUST


def test_an_expired_request_is_told_to_the_creditor_once(hub: Hub, clock: ManualClock) -> None:
    request_id = hub.ask(end_to_end_id="E-LATE", expires_in_s=60)
    clock.advance(seconds=61)
    assert hub.container.sweep()["requests_expired"] == 1
    assert hub.container.sweep()["requests_expired"] == 0
    assert hub.container.requests.get(request_id).status is RequestStatus.EXPIRED
    (told,) = hub.outcomes()
    status = only_status(told)
    assert (status.status, status.reasons[0].code, status.original_end_to_end_id) == (
        iso.PaymentStatus.RJCT,
        iso.ReasonCode.AEXR,
        "E-LATE",
    )
    late = hub.client.post(f"/v1/switch/requests/{request_id}/accept", json={}, auth=hub.debtor)
    assert (late.status_code, late.json()["code"]) == (409, "switch_request_not_open")
    assert len(hub.outcomes()) == 1


def test_a_request_iso_cannot_carry_is_refused_whole(hub: Hub) -> None:
    with pytest.raises(DomainError) as refused:
        hub.container.requests.request(
            "MEZNPKKA",
            debtor_alias=DEBTOR_NUMBER,
            amount_minor=100,
            creditor_name="Skardu\x07Crafts",
            creditor_iban=CREDITOR_IBAN,
            expires_in_s=60,
        )
    assert (refused.value.code, refused.value.status) == ("switch_request_invalid", 422)
    with hub.container.engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(store.requests_table))
        assert stored.scalar() == 0
    assert hub.forwarded() == []


def test_an_in_process_debtor_works_as_before_and_gets_nothing_archived(hub: Hub) -> None:
    hub.container.payments.connect("SADAPAY", lambda _payment: PayeeDecision(accept=True))
    request_id = hub.ask(end_to_end_id="E-WALLET")
    assert [r.id for r in hub.container.requests.inbox("SADAPAY")] == [request_id]
    assert hub.forwarded() == []
    hub.container.requests.reject("SADAPAY", request_id)
    assert len(hub.outcomes()) == 1  # the creditor still polls: it is told


class Endpoint:
    """A participant's endpoint: the envelopes pushed to it, signature checked."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[iso.Envelope] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/raast"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get(SIGNATURE_HEADER) == signature(endpoint.secret, body):
                    endpoint.received.append(iso.parse_envelope(body))
                self.send_response(202)  # decided later, through the API
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_endpoints_get_the_pain013_and_the_pain014_pushed(hub: Hub) -> None:
    debtor, creditor = Endpoint(), Endpoint()
    try:
        debtor.secret = hub.container.switch.set_endpoint("SADAPAY", debtor.url) or ""
        creditor.secret = hub.container.switch.set_endpoint("MEZNPKKA", creditor.url) or ""
        request_id = hub.ask(end_to_end_id="E-PUSH")
        (pushed,) = debtor.received
        assert isinstance(pushed.document, iso.RequestToPay)
        assert pushed.document == hub.forwarded()[0]  # pushed and archived alike
        hub.container.requests.reject("SADAPAY", request_id)
        (told,) = creditor.received
        assert isinstance(told.document, iso.RequestToPayResponse)
        assert only_status(told.document).original_end_to_end_id == "E-PUSH"
        assert told.document == hub.outcomes()[0]
        # An endpoint that does not answer: the request is made, and in the archive.
        debtor.close()
        hub.ask(end_to_end_id="E-DOWN")
        assert len(hub.forwarded()) == 2
        assert len(hub.container.requests.inbox("SADAPAY")) == 1
    finally:
        creditor.close()


def test_a_request_is_paid_only_once_its_payment_settles(hub: Hub, clock: ManualClock) -> None:
    """The creditor's institution polls: the payment that pays the request waits for its
    answer. The request is not paid (nor its creditor told ACCP) until it settles; it does
    not expire meanwhile; a refusal leaves it open with the reason."""
    requests, payments = hub.container.requests, hub.container.payments
    refused_id = hub.ask()
    waiting = requests.accept_linked("SADAPAY", refused_id)
    assert waiting.status is RequestStatus.OPEN
    assert waiting.payment_id is not None
    assert requests.accept_linked("SADAPAY", refused_id).payment_id == waiting.payment_id
    assert hub.outcomes() == []
    payments.answer(
        "MEZNPKKA", waiting.payment_id, PayeeDecision(accept=False, reason=ReasonCode.AC04)
    )
    requests.expire_due()  # the sweep: finishes requests whose payment was decided
    refused = requests.get(refused_id)
    assert (refused.status, refused.reason) == (RequestStatus.OPEN, ReasonCode.AC04)

    paid_id = hub.ask(expires_in_s=5)
    under_way = requests.accept_linked("SADAPAY", paid_id)
    assert under_way.payment_id is not None
    clock.advance(seconds=10)  # past the request's expiry, within the payee's 20 s
    requests.expire_due()
    assert requests.get(paid_id).status is RequestStatus.OPEN  # its payment is under way
    payments.answer("MEZNPKKA", under_way.payment_id, PayeeDecision(accept=True))
    requests.expire_due()
    assert requests.get(paid_id).status is RequestStatus.PAID
    (told,) = hub.outcomes()
    assert told.payment_instructions[0].transactions[0].status is iso.PaymentStatus.ACCP
