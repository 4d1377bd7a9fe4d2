"""The hub pushes credit advices over HTTP to a participant's endpoint and reads its pacs.002.

The payee bank here is a real HTTP server in a thread: it checks the hub's signature, checks
the pacs.008 against the official XSD, and answers ACSC, or RJCT AC04 for a closed account.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    PayeeDecision,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.transport import SIGNATURE_HEADER, HttpTransport, signature

CLOSED_ACCOUNT_AMOUNT = 13_00


class PayeeBank:
    """A payee participant's endpoint: what arrived, and what it answered."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.secret = ""
        self.delay_s = delay_s
        self.advices: list[iso.CustomerCreditTransfer] = []
        self.reports: list[iso.PaymentStatusReport] = []
        self.returns: list[iso.PaymentReturn] = []
        self.bad_signatures = 0

    def answer(self, body: bytes, signed: str) -> bytes | None:
        if signed != signature(self.secret, body):
            self.bad_signatures += 1
            return None
        iso.validate(body)  # the XSDs of head.001 and of the document
        envelope = iso.parse_envelope(body)
        document = envelope.document
        if isinstance(document, iso.PaymentStatusReport):
            self.reports.append(document)
            return b""
        if isinstance(document, iso.PaymentReturn):
            self.returns.append(document)
            return b""
        assert isinstance(document, iso.CustomerCreditTransfer)
        self.advices.append(document)
        time.sleep(self.delay_s)
        tx = document.transactions[0]
        closed = tx.amount.amount_minor == CLOSED_ACCOUNT_AMOUNT
        status = iso.TransactionStatus(
            status=iso.PaymentStatus.RJCT if closed else iso.PaymentStatus.ACSC,
            original_end_to_end_id=tx.end_to_end_id,
            original_uetr=tx.uetr,
            reasons=(iso.Reason(code=iso.ReasonCode.AC04),) if closed else (),
        )
        report = iso.PaymentStatusReport(
            message_id="B" + uuid.uuid4().hex[:20],
            created_at=datetime.now(UTC),
            transactions=(status,),
        )
        return iso.build_envelope(iso.Envelope.of(report, sender="HABBPKKA", receiver="RAASTHUB"))


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the hub opens up to 32 connections at once (socketserver: 5)


def serve(bank: PayeeBank) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            reply = bank.answer(body, self.headers.get(SIGNATURE_HEADER, ""))
            try:
                self.send_response(401 if reply is None else 200)
                self.send_header("content-type", "application/xml")
                self.end_headers()
                self.wfile.write(reply or b"")
            except (BrokenPipeError, ConnectionResetError):
                return  # the hub gave up waiting: a late answer is no answer

        def log_message(self, *_args: object) -> None:
            return

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/raast"


@pytest.fixture
def hub(container: Container) -> Container:
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        container.switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        container.switch.fund(code, Money(1_000_000_00, "PKR"), uuid.uuid4())
    return container


def transfer(amount_minor: int) -> CreditTransfer:
    return CreditTransfer(
        msg_id="M" + uuid.uuid4().hex[:20],
        end_to_end_id="E" + uuid.uuid4().hex[:20],
        tx_id="T" + uuid.uuid4().hex[:20],
        uetr=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban("HABB", "2").compact,
        creditor_name="Karachi Dyes",
    )


def test_credit_advices_go_to_the_endpoint_and_its_answer_settles(hub: Container) -> None:
    bank = PayeeBank()
    server, url = serve(bank)
    try:
        bank.secret = hub.switch.set_endpoint("HABBPKKA", url) or ""
        settled = hub.payments.submit("MEZNPKKA", transfer(2_500_00))
        assert settled.status is PaymentStatus.SETTLED
        refused = hub.payments.submit("MEZNPKKA", transfer(CLOSED_ACCOUNT_AMOUNT))
        assert (refused.status, refused.reason) == (PaymentStatus.REJECTED, ReasonCode.AC04)
        assert len(bank.advices) == 2
        assert bank.bad_signatures == 0
        # Final statuses are pushed too (pacs.002), one per payment.
        assert [r.transactions[0].status for r in bank.reports] == [
            iso.PaymentStatus.ACSC,
            iso.PaymentStatus.RJCT,
        ]
        # Everything pushed and answered is in the payee's archive.
        kinds = [m["message_type"] for m in hub.gateway.archive(hub.switch.participant("HABBPKKA"))]
        assert kinds.count("pacs.008.001.08") == 2
        assert kinds.count("pacs.002.001.10") >= 4  # 2 answers in, 2 reports out
        # Without an endpoint, nothing is pushed: the payee answers over the API.
        hub.switch.set_endpoint("HABBPKKA", None)
        hub.switch._endpoints.clear()
        waiting = hub.payments.submit("MEZNPKKA", transfer(1_00))
        assert waiting.status is PaymentStatus.PENDING
        assert len(bank.advices) == 2
    finally:
        server.shutdown()
    assert hub.ledger.verify().ok


def test_a_return_is_pushed_to_the_payer_as_a_pacs004(hub: Container) -> None:
    payer_bank = PayeeBank()
    server, url = serve(payer_bank)
    try:
        payer_bank.secret = hub.switch.set_endpoint("MEZNPKKA", url) or ""
        hub.payments.connect("HABBPKKA", lambda _payment: PayeeDecision(accept=True))
        paid = hub.payments.submit("MEZNPKKA", transfer(2_500_00))
        assert paid.status is PaymentStatus.SETTLED
        hub.payments.return_payment("HABBPKKA", paid.id, 1_000_00, ReasonCode.CUST, uuid.uuid4())
        (returned,) = payer_bank.returns
        assert returned.transactions[0].original_uetr == paid.request.uetr
        assert returned.transactions[0].returned_amount == Money(1_000_00, "PKR")
        assert payer_bank.bad_signatures == 0
        archived = hub.gateway.archive(hub.switch.participant("MEZNPKKA"))
        assert [m["message_type"] for m in archived].count("pacs.004.001.09") == 1
    finally:
        server.shutdown()


def test_a_slow_or_unreachable_endpoint_is_a_non_answer_and_times_out(hub: Container) -> None:
    bank = PayeeBank(delay_s=1.0)
    server, url = serve(bank)
    hub.payments.remote = HttpTransport(hub.gateway, timeout_s=0.2)
    try:
        bank.secret = hub.switch.set_endpoint("HABBPKKA", url) or ""
        slow = hub.payments.submit("MEZNPKKA", transfer(7_00))
        assert slow.status is PaymentStatus.PENDING
        hub.switch.set_endpoint("HABBPKKA", "http://127.0.0.1:9/nobody-listens")
        hub.switch._endpoints.clear()
        unreachable = hub.payments.submit("MEZNPKKA", transfer(8_00))
        assert unreachable.status is PaymentStatus.PENDING
        hub.clock.advance(seconds=21)  # type: ignore[attr-defined]
        assert hub.payments.sweep_timeouts() == 2
        for payment in (slow, unreachable):
            after = hub.payments.payment(payment.id)
            assert (after.status, after.reason) == (PaymentStatus.REJECTED, ReasonCode.AB05)
    finally:
        server.shutdown()
    assert hub.switch.liquidity("MEZNPKKA").amount_minor == 1_000_000_00
    assert hub.ledger.verify().ok


@pytest.mark.parametrize(
    "url",
    [
        "ftp://bank.example/raast",
        "http:///raast",  # no host
        "http://bank.example:99999/raast",  # no such port
        "http://bank.example:https/raast",
        "http://bänk.example/raast",  # not ASCII: the IDNA form is
        "http://bank.example/ra ast",
        "http://bank.example/" + "x" * 400,
    ],
)
def test_an_endpoint_is_a_url_the_transport_can_post_to(hub: Container, url: str) -> None:
    with pytest.raises(DomainError) as refused:
        hub.switch.set_endpoint("HABBPKKA", url)
    assert refused.value.status == 422
    assert hub.switch.endpoint(hub.switch.participant("HABBPKKA").id) is None  # not stored


def test_an_endpoint_with_port_path_and_query_is_kept(hub: Container) -> None:
    url = "https://xn--bnk-qla.example:8443/raast/v1?tenant=7"
    secret = hub.switch.set_endpoint("HABBPKKA", url)
    assert hub.switch.endpoint(hub.switch.participant("HABBPKKA").id) == (url, secret)


def test_a_bulk_file_reaches_an_http_payee_all_at_once_and_is_archived(hub: Container) -> None:
    """A pain.001's rows go to an HTTP payee in rounds sent at once (not one POST after
    another); every advice, answer and status report is in the archive."""
    bank = PayeeBank()
    server, url = serve(bank)
    try:
        bank.secret = hub.switch.set_endpoint("HABBPKKA", url) or ""
        # 520 rows: a round of 512, then one of 8
        amounts = [CLOSED_ACCOUNT_AMOUNT if n % 10 == 0 else 1_00 + n for n in range(520)]
        result = hub.bulk.submit("MEZNPKKA", [transfer(amount) for amount in amounts])
        assert result.settled == 468
        assert [p.reason for p in result.payments if p.status is PaymentStatus.REJECTED] == [
            ReasonCode.AC04
        ] * 52
        assert len(bank.advices) == 520
        assert bank.bad_signatures == 0
        assert sorted(r.transactions[0].status for r in bank.reports) == sorted(
            [iso.PaymentStatus.ACSC] * 468 + [iso.PaymentStatus.RJCT] * 52
        )
        table = store.messages_table
        with hub.engine.connect() as connection:
            kinds = dict(
                connection.execute(
                    sa.select(table.c.message_type, sa.func.count())
                    .where(table.c.participant_id == hub.switch.participant("HABBPKKA").id)
                    .group_by(table.c.message_type)
                ).all()
            )
        assert kinds == {"pacs.008.001.08": 520, "pacs.002.001.10": 1_040}  # answers, reports
    finally:
        server.shutdown()
    settled = sum(
        p.request.amount_minor for p in result.payments if p.status is PaymentStatus.SETTLED
    )
    assert hub.switch.liquidity("HABBPKKA").amount_minor == 1_000_000_00 + settled
    assert hub.ledger.verify().ok


def test_a_bulk_file_gives_up_on_an_http_payee_that_does_not_answer(hub: Container) -> None:
    """An endpoint that hangs costs the file one round's deadline, not one per row: the rest
    of its rows are not sent, stay pending, and time out (AB05)."""
    bank = PayeeBank(delay_s=1.0)
    server, url = serve(bank)
    hub.payments.remote = HttpTransport(hub.gateway, timeout_s=0.2)
    try:
        bank.secret = hub.switch.set_endpoint("HABBPKKA", url) or ""
        began = time.monotonic()
        result = hub.bulk.submit("MEZNPKKA", [transfer(1_00) for _ in range(1_200)])
        took = time.monotonic() - began
        assert result.pending == 1_200
        assert len(bank.advices) <= 512  # the first round's, at most
        assert took < 60  # one POST after another would have taken 1,200 x 0.2 s
        hub.clock.advance(seconds=21)  # type: ignore[attr-defined]
        swept = 0
        while swept < 1_200 and (done := hub.payments.sweep_timeouts()):  # a batch at a time
            swept += done
        assert swept == 1_200
    finally:
        server.shutdown()
    assert {hub.payments.payment(p.id).reason for p in result.payments} == {ReasonCode.AB05}
    assert hub.switch.liquidity("MEZNPKKA").amount_minor == 1_000_000_00
    assert hub.ledger.verify().ok


def test_a_bulk_file_keeps_sending_to_a_payee_that_acknowledges_and_decides_later(
    hub: Container,
) -> None:
    """A payee may answer an advice with 202 and decide through the API: it answers, so it
    gets every row of the file (only a payee that sends no answer at all is given up on)."""
    received: list[bytes] = []

    class Acknowledging(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = Server(("127.0.0.1", 0), Acknowledging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hub.switch.set_endpoint("HABBPKKA", f"http://127.0.0.1:{server.server_address[1]}/")
        result = hub.bulk.submit("MEZNPKKA", [transfer(1_00) for _ in range(600)])
        assert result.pending == 600
        assert len(received) == 600
        for payment in result.payments[:3]:  # its status report is pushed to the endpoint
            hub.payments.answer("HABBPKKA", payment.id, PayeeDecision(accept=True))
            assert hub.payments.payment(payment.id).status is PaymentStatus.SETTLED
    finally:
        server.shutdown()
    assert hub.ledger.verify().ok
