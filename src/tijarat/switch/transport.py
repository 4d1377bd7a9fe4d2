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
import select
import socket
import ssl
import threading
import weakref
from urllib.parse import urlsplit

import httptools
import httpx
import structlog

from tijarat.kernel.errors import DomainError
from tijarat.switch.gateway import Gateway
from tijarat.switch.model import ArchivedMessage, Participant, PayeeDecision, Payment

log = structlog.get_logger("tijarat.switch.transport")
DELIVERY_TIMEOUT_S = 5.0  # well inside the payee's 20 s: a slow endpoint is a non-answer
SIGNATURE_HEADER = "X-Tijarat-Signature"
ANSWER_BYTES_MAX = 1 << 20  # an answer is one pacs.002; the envelope parser's own limit


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Connection:
    """One keep-alive HTTP/1.1 connection to an endpoint."""

    __slots__ = ("__weakref__", "host", "sock")

    def __init__(self, sock: socket.socket, host: str) -> None:
        self.sock = sock
        self.host = host  # the Host header: the URL's netloc

    def close(self) -> None:
        self.sock.close()


class _Answer:
    """httptools' callbacks for one response: its body, and whether and how it ended."""

    __slots__ = ("body", "complete", "delimited", "headers_done", "keep_alive", "parser", "size")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.keep_alive = False
        self.body: list[bytes] = []
        self.size = 0
        self.complete = False
        self.headers_done = False
        self.delimited = False  # a length or chunks say where the body ends (else: at EOF)

    def on_header(self, name: bytes, _value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.delimited = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # Asked now: once the message is complete the parser has reset for the next one.
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        if self.size <= ANSWER_BYTES_MAX:
            self.body.append(data)
        self.size += len(data)

    def on_message_complete(self) -> None:
        self.complete = True


class _KeepAlive:
    """HTTP/1.1 keep-alive connections to endpoints, one per (thread, endpoint).

    Plain sockets with httptools' C parser (uvicorn's) for the answers: on the payment
    path, which makes two POSTs per payment, httpx cost five times the CPU of http.client
    and http.client's header parsing (the email package) most of a POST's remaining CPU
    (docs/PERFORMANCE.md). A connection the endpoint closed while it was idle is noticed
    before reuse (its socket reads as ready) and replaced, so a request is never sent twice.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._local = threading.local()
        # Weak: a worker thread that ends takes its connections with it.
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        connections: dict[tuple[str, str], _Connection] = (
            getattr(self._local, "connections", None) or self._new_table()
        )
        connection = connections.get(key)
        if connection is not None and _stale(connection.sock):
            connection.close()
            connection = None
        if connection is None:
            connection = self._connect(parts.scheme, parts.netloc, parts.hostname, parts.port)
            connections[key] = connection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {connection.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "", ""]
        try:
            connection.sock.sendall("\r\n".join(lines).encode("latin-1") + body)
            return self._answer(connection)
        except BaseException:
            connection.close()  # a half-done exchange leaves the connection unusable
            raise

    @staticmethod
    def _answer(connection: _Connection) -> tuple[int, bytes]:
        answer = _Answer()
        try:
            while not answer.complete and answer.size <= ANSWER_BYTES_MAX:
                data = connection.sock.recv(65_536)
                if not data:
                    if answer.headers_done and not answer.delimited:
                        break  # a body that ends with the connection
                    raise ConnectionError("the endpoint closed the connection mid-answer")
                answer.parser.feed_data(data)
        except httptools.HttpParserError as error:
            raise ConnectionError(f"the endpoint's answer is not HTTP: {error}") from error
        if not (answer.complete and answer.keep_alive):
            connection.close()
        return answer.parser.get_status_code(), b"".join(answer.body)

    def _new_table(self) -> dict[tuple[str, str], _Connection]:
        table: dict[tuple[str, str], _Connection] = {}
        self._local.connections = table
        return table

    def _connect(
        self, scheme: str, netloc: str, hostname: str | None, port: int | None
    ) -> _Connection:
        host = hostname or ""
        sock = socket.create_connection(
            (host, port or (443 if scheme == "https" else 80)), timeout=self.timeout_s
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            if self._context is None:
                self._context = ssl.create_default_context()
            sock = self._context.wrap_socket(sock, server_hostname=host)
        connection = _Connection(sock, netloc)
        with self._lock:
            self._all.add(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            connections = list(self._all)
        for connection in connections:
            connection.close()


def _stale(sock: socket.socket) -> bool:
    """An idle keep-alive socket that reads as ready was closed by the other end."""
    if sock.fileno() < 0:
        return True
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


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
        # An httpx client given by the caller (tests, proxies) is used as given.
        self.client = client
        self._connections = _KeepAlive(timeout_s)

    def _post(self, participant: Participant, body: bytes) -> tuple[int, bytes] | None:
        """(status, body) of POSTing `body` to the participant's endpoint; None if none or
        unreachable (logged)."""
        endpoint = self.directory.endpoint(participant.id)
        if endpoint is None:
            return None
        url, secret = endpoint
        headers = {"content-type": "application/xml", SIGNATURE_HEADER: signature(secret, body)}
        try:
            if self.client is not None:
                response = self.client.post(url, content=body, headers=headers)
                return response.status_code, response.content
            return self._connections.post(url, body, headers)
        except (httpx.HTTPError, OSError) as error:
            log.warning("endpoint unreachable", participant=participant.code, error=str(error))
            return None

    def deliver(self, payee: Participant, payment: Payment) -> PayeeDecision | None:
        """Push a credit advice and read the answer, archiving each in its own transaction."""
        advice = self.advice(payee, payment)
        self.gateway.keep(advice)
        decision, received = self.exchange(payee, payment, advice)
        if received is not None:
            self.gateway.keep(received)
        return decision

    def report(self, participant: Participant, payment: Payment) -> None:
        self._post(participant, self.gateway.status_report(participant, payment))

    # The payment path's form: messages are built here and archived by the caller, in the
    # transactions that change the payment (see Payments).
    def advice(self, payee: Participant, payment: Payment) -> ArchivedMessage:
        return self.gateway.build_credit_advice(payee, payment)

    def exchange(
        self, payee: Participant, payment: Payment, advice: ArchivedMessage
    ) -> tuple[PayeeDecision | None, ArchivedMessage | None]:
        """POST the advice; the payee's decision (None: no usable answer) and its message."""
        response = self._post(payee, advice.body)
        if response is None or response[0] != httpx.codes.OK:
            return None, None
        try:
            return self.gateway.decision_of(payee, payment, response[1])
        except DomainError as error:  # an unreadable answer is no answer
            log.warning("unreadable answer", participant=payee.code, code=error.code)
            return None, None

    def status_message(self, participant: Participant, payment: Payment) -> ArchivedMessage:
        return self.gateway.build_status_report(participant, payment)

    def push(self, participant: Participant, message: ArchivedMessage) -> None:
        """POST an archived status report (best effort: a participant that missed it asks)."""
        self._post(participant, message.body)

    def close(self) -> None:
        self._connections.close()
        if self.client is not None:
            self.client.close()
