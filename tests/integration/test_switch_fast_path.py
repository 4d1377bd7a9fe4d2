"""The payment path's shortcuts keep the rules: caches, guarded inserts, batched archives.

A second SwitchService and Payments on the same database stand for another process: its
own caches, the same tables. What one changes, the other must obey at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tijarat.bootstrap import Container
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.ledger.model import Transfer, TransferFlags
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.model import (
    CreditTransfer,
    ParticipantCategory,
    ParticipantStatus,
    PayeeDecision,
    Payment,
    PaymentStatus,
    ReasonCode,
)
from tijarat.switch.payments import Payments
from tijarat.switch.service import HUB_NAMESPACE, SwitchService

DIRECT = ParticipantCategory.DIRECT_SETTLEMENT
ACCEPT = PayeeDecision(accept=True)


@pytest.fixture
def hub(container: Container) -> Container:
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
        container.switch.register_participant(code, code, DIRECT, bank_code=bank)
    for code in ("MEZNPKKA", "HABBPKKA"):
        container.switch.fund(code, Money(1_000_000_00, "PKR"), uuid.uuid4())
    return container


@pytest.fixture
def elsewhere(hub: Container) -> Payments:
    """Another process's view of the same hub: its own caches."""
    directory = SwitchService(hub.engine, hub.ledger, hub.clock)
    return Payments(directory, payee_timeout_s=hub.payments.payee_timeout_s)


def transfer(amount: int = 1_000_00, bank: str = "HABB", **changes: object) -> CreditTransfer:
    tag = uuid.uuid4().hex[:20]
    base = CreditTransfer(
        msg_id=f"M{tag}",
        end_to_end_id=f"E{tag}",
        tx_id=f"T{tag}",
        uetr=uuid.uuid4(),
        amount_minor=amount,
        currency="PKR",
        debtor_name="Skardu Crafts",
        debtor_iban=make_pk_iban("MEZN", "1").compact,
        creditor_iban=make_pk_iban(bank, "2").compact,
        creditor_name="Karachi Dyes",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_what_submit_answers_is_what_was_stored(hub: Container) -> None:
    payments = hub.payments
    payments.connect("HABBPKKA", lambda _payment: ACCEPT)
    answered = [
        payments.submit("MEZNPKKA", transfer()),  # settled
        payments.submit("MEZNPKKA", transfer(currency="USD")),  # refused at routing
        payments.submit("MEZNPKKA", transfer(bank="SADA")),  # pending: SADAPAY polls
        payments.submit("MEZNPKKA", transfer(2_000_000_00)),  # beyond liquidity: AM04
    ]
    assert [(p.status, p.reason) for p in answered] == [
        (PaymentStatus.SETTLED, None),
        (PaymentStatus.REJECTED, ReasonCode.AM02),
        (PaymentStatus.PENDING, None),
        (PaymentStatus.REJECTED, ReasonCode.AM04),
    ]
    assert answered == [payments.payment(p.id) for p in answered]


def test_a_suspension_made_elsewhere_stops_payments_at_once(
    hub: Container, elsewhere: Payments
) -> None:
    elsewhere.connect("HABBPKKA", lambda _payment: ACCEPT)
    assert elsewhere.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED  # cached
    hub.switch.set_status("MEZNPKKA", ParticipantStatus.SUSPENDED)
    request = transfer()
    with pytest.raises(DomainError) as refused:
        elsewhere.submit("MEZNPKKA", request)
    assert (refused.value.code, refused.value.status) == ("switch_participant_suspended", 403)
    with pytest.raises(DomainError):
        hub.payments.status("MEZNPKKA", request.end_to_end_id)  # nothing was stored
    hub.switch.set_status("MEZNPKKA", ParticipantStatus.ACTIVE)
    # Its cache still says suspended: it asks the database before refusing.
    assert elsewhere.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED
    # The payee's suspension, made elsewhere, is AG01 at once.
    hub.switch.set_status("HABBPKKA", ParticipantStatus.SUSPENDED)
    blocked = elsewhere.submit("MEZNPKKA", transfer())
    assert (blocked.status, blocked.reason) == (PaymentStatus.REJECTED, ReasonCode.AG01)
    hub.switch.set_status("HABBPKKA", ParticipantStatus.ACTIVE)
    assert elsewhere.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED
    assert hub.ledger.verify().ok


def test_a_cap_set_elsewhere_applies_to_the_next_payment(
    hub: Container, elsewhere: Payments
) -> None:
    elsewhere.connect("HABBPKKA", lambda _payment: ACCEPT)
    assert elsewhere.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED  # uncapped
    hub.switch.set_net_debit_cap("MEZNPKKA", 1_500_00)
    capped = elsewhere.submit("MEZNPKKA", transfer(1_000_00))
    assert (capped.status, capped.reason) == (PaymentStatus.REJECTED, ReasonCode.AM23)
    assert elsewhere.submit("MEZNPKKA", transfer(500_00)).status is PaymentStatus.SETTLED
    hub.switch.set_net_debit_cap("MEZNPKKA", None)
    assert elsewhere.submit("MEZNPKKA", transfer(1_000_00)).status is PaymentStatus.SETTLED


def test_authentication_is_cached_but_never_lenient(hub: Container) -> None:
    _, secret = hub.switch.register_participant("JSBLPKKA", "JS Bank", DIRECT, bank_code="JSBL")
    assert hub.switch.authenticate("jsblpkka", secret).code == "JSBLPKKA"
    assert hub.switch.authenticate_cached("JSBLPKKA", secret) is not None
    for code, given in (("JSBLPKKA", secret + "x"), ("JSBLPKKA", ""), ("NOSUCHBK", secret)):
        assert hub.switch.authenticate_cached(code, given) is None
        with pytest.raises(DomainError) as refused:
            hub.switch.authenticate(code, given)
        assert refused.value.status == 401


def test_the_sweep_finishes_payments_a_crash_left_after_the_ledger(
    hub: Container, clock: ManualClock
) -> None:
    """Posted or voided in the ledger, still pending in its row: the sweep decides it."""
    payments = hub.payments  # SADAPAY has no transport: its payments wait, reserved
    for kind, flag in (
        ("post", TransferFlags.POST_PENDING_TRANSFER),
        ("void", TransferFlags.VOID_PENDING_TRANSFER),
    ):
        hub.switch.fund("SADAPAY", Money(1_00, "PKR"), uuid.uuid4())
        waiting = payments.submit("MEZNPKKA", transfer(bank="SADA"))
        assert waiting.status is PaymentStatus.PENDING
        (result,) = hub.ledger.create_transfers(
            [
                Transfer(
                    uuid.uuid5(HUB_NAMESPACE, f"{kind}:{waiting.id}"),
                    pending_id=waiting.id,
                    user_data_128=waiting.request.uetr,
                    flags=flag,
                )
            ]
        )
        assert result == "ok"
    clock.advance(seconds=payments.payee_timeout_s + 1)
    assert payments.sweep_timeouts() == 2
    decided = [payments.status("MEZNPKKA", p.request.end_to_end_id) for p in payments_of(hub)]
    assert [(p.status, p.reason) for p in decided] == [
        (PaymentStatus.SETTLED, None),
        (PaymentStatus.REJECTED, ReasonCode.BE01),
    ]
    assert hub.ledger.verify().ok


def payments_of(hub: Container) -> list[Payment]:
    with hub.engine.connect() as connection:
        rows = connection.execute(
            store.payments_table.select().order_by(store.payments_table.c.created_at)
        ).all()
    return [Payments.from_row(row) for row in rows]


class Bank:
    """A payee endpoint: counts the connections it accepts, answers ACSC."""

    def __init__(self) -> None:
        self.connections = 0
        self.advices = 0
        self.sockets: list[socket.socket] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self) -> None:
                super().setup()
                server.connections += 1
                server.sockets.append(self.request)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                document = iso.parse_envelope(body).document
                reply = b""
                if isinstance(document, iso.CustomerCreditTransfer):
                    server.advices += 1
                    reply = acsc(document.transactions[0].end_to_end_id)
                self.send_response(200)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/raast"

    def stop(self) -> None:
        """Stop as a process would: the listener and every open connection close."""
        self.server.shutdown()
        self.server.server_close()
        for connection in self.sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.sockets.clear()


def acsc(end_to_end_id: str) -> bytes:
    report = iso.PaymentStatusReport(
        message_id="B" + uuid.uuid4().hex[:20],
        created_at=datetime.now(UTC),
        transactions=(
            iso.TransactionStatus(
                status=iso.PaymentStatus.ACSC, original_end_to_end_id=end_to_end_id
            ),
        ),
    )
    return iso.build_envelope(iso.Envelope.of(report, sender="HABBPKKA", receiver="RAASTHUB"))


@pytest.fixture
def bank() -> Iterator[Bank]:
    started = Bank()
    yield started
    started.stop()


def test_endpoint_connections_are_kept_alive_and_renewed_when_closed(
    hub: Container, bank: Bank
) -> None:
    hub.switch.set_endpoint("HABBPKKA", bank.url)
    for _ in range(3):
        assert hub.payments.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED
    assert (bank.advices, bank.connections) == (3, 1)  # advices and reports, one connection
    # The bank restarts on the same port: the idle connection is dead and must be replaced,
    # not written to (which would lose the advice or send it twice).
    port = bank.server.server_address[1]
    bank.stop()
    replacement = ThreadingHTTPServer(("127.0.0.1", port), bank.server.RequestHandlerClass)
    bank.server = replacement
    bank.connections = bank.advices = 0
    threading.Thread(target=replacement.serve_forever, daemon=True).start()
    assert hub.payments.submit("MEZNPKKA", transfer()).status is PaymentStatus.SETTLED
    assert (bank.advices, bank.connections) == (1, 1)


def test_an_advice_never_sent_leaves_no_trace_in_the_archive(hub: Container, bank: Bank) -> None:
    """The advice is archived with the payment row; a failed reservation takes it back out."""
    hub.switch.set_endpoint("HABBPKKA", bank.url)
    refused = hub.payments.submit("MEZNPKKA", transfer(2_000_000_00))  # beyond liquidity
    assert (refused.status, refused.reason) == (PaymentStatus.REJECTED, ReasonCode.AM04)
    settled = hub.payments.submit("MEZNPKKA", transfer())
    assert settled.status is PaymentStatus.SETTLED
    payee = hub.switch.participant("HABBPKKA")
    kinds = sorted(
        (m["direction"], m["message_type"]) for m in hub.gateway.archive(payee, limit=50)
    )
    # One advice (the settled payment's) and its answer; a status report for each payment.
    assert kinds == [
        ("in", "pacs.002.001.10"),
        ("out", "pacs.002.001.10"),
        ("out", "pacs.002.001.10"),
        ("out", "pacs.008.001.08"),
    ]
    assert bank.advices == 1
