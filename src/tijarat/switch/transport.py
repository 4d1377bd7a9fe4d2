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

import contextlib
import hashlib
import hmac
import select
import selectors
import socket
import ssl
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

import httptools
import structlog

from tijarat.kernel.clock import from_ns
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso
from tijarat.switch.advices import return_envelope
from tijarat.switch.gateway import Gateway
from tijarat.switch.model import (
    ArchivedMessage,
    Participant,
    PayeeDecision,
    Payment,
    ReasonCode,
)
from tijarat.switch.payments import Exchanged

log = structlog.get_logger("tijarat.switch.transport")
DELIVERY_TIMEOUT_S = 5.0  # well inside the payee's 20 s: a slow endpoint is a non-answer
SIGNATURE_HEADER = "X-Tijarat-Signature"
ANSWER_BYTES_MAX = 1 << 20  # an answer is one pacs.002; the envelope parser's own limit
HTTP_OK = 200
# Requests in flight at once to one endpoint, each on its own connection (HTTP/1.1).
ENDPOINT_CONNECTIONS_MAX = 32


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


Request = tuple[str, bytes, dict[str, str]]  # url, body, headers
Result = tuple[int, bytes] | OSError  # (status, body), or why there is none


Key = tuple[str, str]  # (scheme, netloc): one endpoint's connections


class _Exchange:
    """One request in flight on its own connection, until its answer is read."""

    __slots__ = ("answer", "connection", "fd", "index", "key", "reusable")

    def __init__(self, index: int, key: Key, connection: _Connection) -> None:
        self.index = index
        self.key = key
        self.connection = connection
        self.fd = connection.sock.fileno()  # kept: a closed socket answers -1
        self.answer = _Answer()
        self.reusable = True

    def read(self) -> bool:
        """Read what has arrived; True once the answer is whole (or cut at the limit).

        The socket is non-blocking while its answer is awaited: a TLS socket can read as
        ready and still hold no whole record, and must not block the other exchanges."""
        answer, sock = self.answer, self.connection.sock
        try:
            data = sock.recv(65_536)
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                data += sock.recv(65_536)  # decrypted already: the selector will not say so
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        if not data:
            self.reusable = False
            if answer.headers_done and not answer.delimited:
                return True  # a body that ends with the connection
            raise ConnectionError("the endpoint closed the connection mid-answer")
        try:
            answer.parser.feed_data(data)
        except Exception as error:  # HttpParserError, HttpParserUpgrade (a 101): no answer
            self.reusable = False
            if answer.complete:
                return True  # bytes after a whole answer: the answer stands, not the connection
            raise ConnectionError(f"the endpoint's answer is not HTTP: {error}") from error
        if answer.size > ANSWER_BYTES_MAX:
            self.reusable = False
            return True
        return answer.complete


class _KeepAlive:
    """HTTP/1.1 keep-alive connections to endpoints, kept per thread and endpoint.

    `post_many` sends a group's requests at once from the calling thread and reads the
    answers as they arrive (selectors): no thread hand-off per request, which measured as
    dozens of context switches per payment when each POST had a delivery thread of its own.
    HTTP/1.1 has one exchange in flight per connection, so each request takes an idle
    connection, at most ENDPOINT_CONNECTIONS_MAX in flight per endpoint; the rest wait for
    one to come back. The connections a group lacks are opened in parallel on a small pool
    (name lookup, TCP and TLS handshakes block; in steady state none is opened), and each
    waiting request goes out as soon as a connection to its endpoint opens.
    One deadline covers the whole call, queued requests included, so an unreachable or slow
    endpoint costs at most the timeout once, never per request, and a fast one is answered
    as fast as it answers. Answers are read with httptools' C parser (uvicorn's):
    http.client's header parsing was most of a POST's CPU, httpx five times it
    (docs/PERFORMANCE.md). A connection the endpoint closed while it was idle is noticed
    before reuse (its socket reads as ready) and replaced, so a request is never written
    into a dead socket.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._local = threading.local()
        # Weak: a worker thread that ends takes its connections with it.
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._openers: ThreadPoolExecutor | None = None

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        (result,) = self.post_many([(url, body, headers)])
        if isinstance(result, OSError):
            raise result
        return result

    def post_many(self, requests: Sequence[Request]) -> list[Result]:
        """Every request POSTed, each answered (status, body) or with the OSError it met."""
        return _Call(self, requests).run()

    def send(self, connection: _Connection, target: str, request: Request) -> None:
        """Write one POST on an idle connection, then leave it non-blocking for the answer."""
        _, body, headers = request
        lines = [f"POST {target} HTTP/1.1", f"Host: {connection.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "", ""]
        try:
            connection.sock.sendall("\r\n".join(lines).encode("latin-1") + body)
            connection.sock.settimeout(0)  # the answer is read as it comes (see _Exchange)
        except OSError:
            connection.close()  # a half-sent request leaves the connection unusable
            raise

    def idle(self, key: Key) -> list[_Connection]:
        """This thread's idle connections to an endpoint."""
        table: dict[Key, list[_Connection]] | None = getattr(self._local, "idle", None)
        if table is None:
            table = self._local.idle = {}
        return table.setdefault(key, [])

    def fresh(self, key: Key) -> list[_Connection]:
        """idle, less the connections the endpoint closed meanwhile (closed here too)."""
        idle = self.idle(key)
        fresh = [connection for connection in idle if not _stale(connection.sock)]
        for connection in idle:
            if connection not in fresh:
                connection.close()
        idle[:] = fresh
        return idle

    def opener(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._openers is None:
                self._openers = ThreadPoolExecutor(
                    ENDPOINT_CONNECTIONS_MAX, thread_name_prefix="switch-connect"
                )
            return self._openers

    def connect(self, key: Key) -> _Connection:
        scheme, netloc = key
        parts = urlsplit(f"{scheme}://{netloc}")
        host = parts.hostname or ""
        sock = socket.create_connection(
            (host, parts.port or (443 if scheme == "https" else 80)), timeout=self.timeout_s
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            with self._lock:
                if self._context is None:
                    self._context = ssl.create_default_context()
            sock = self._context.wrap_socket(sock, server_hostname=host)
        connection = _Connection(sock, netloc)
        with self._lock:
            self._all.add(connection)
        return connection

    def release(self) -> None:
        """Close the idle connections kept for the calling thread (it is about to end)."""
        table: dict[Key, list[_Connection]] | None = getattr(self._local, "idle", None)
        if table is not None:
            for connections in table.values():
                for connection in connections:
                    connection.close()
            table.clear()

    def close(self) -> None:
        with self._lock:
            connections = list(self._all)
        for connection in connections:
            connection.close()
        if self._openers is not None:
            self._openers.shutdown(wait=False)


class _Call:
    """One `_KeepAlive.post_many`: its requests, queued per endpoint, sent on connections as
    they are free or open, and answered before one deadline. Runs on the calling thread;
    only the connections it opens are made on the pool, and announced on a socket pair
    so that one `select` waits for answers and openings alike."""

    def __init__(self, pool: _KeepAlive, requests: Sequence[Request]) -> None:
        self.pool = pool
        self.requests = requests
        self.deadline = time.monotonic() + pool.timeout_s
        self.results: list[Result | None] = [None] * len(requests)
        self.targets: list[str] = [""] * len(requests)
        self.waiting: dict[Key, deque[int]] = {}
        for index, (url, _, _) in enumerate(requests):
            try:
                key, self.targets[index] = _address(url)
            except ValueError as error:
                self.results[index] = ConnectionError(f"not an endpoint: {error}")
                continue
            self.waiting.setdefault(key, deque()).append(index)
        self.busy: dict[Key, int] = dict.fromkeys(self.waiting, 0)  # exchanges in flight
        self.opening: dict[Key, int] = dict.fromkeys(self.waiting, 0)
        self.jobs: dict[Future[_Connection], Key] = {}  # connections being opened
        self.refused: dict[Key, OSError] = {}  # why an endpoint's connection did not open
        self.in_flight: dict[int, _Exchange] = {}
        self.selector = selectors.DefaultSelector()
        self.pair: list[socket.socket] = []  # made only when a connection is opened

    def run(self) -> list[Result]:
        try:
            for key in self.waiting:
                self.pool.fresh(key)
                self._open_for(key)
                self._start_next(key)
            while (self.in_flight or self.jobs) and (left := self.deadline - time.monotonic()) > 0:
                for ready, _ in self.selector.select(left):
                    exchange = ready.data
                    if exchange is None:
                        self._opened()
                        continue
                    try:
                        if exchange.read():
                            self._finish(exchange, None)
                    except OSError as error:
                        self._finish(exchange, error)
            late = TimeoutError("the endpoint did not answer in time")
            for queue in self.waiting.values():  # first: finishing an exchange starts these
                while queue:
                    self.results[queue.popleft()] = late
            for exchange in list(self.in_flight.values()):
                self._finish(exchange, late)
        finally:  # also on an unexpected error: no socket is left half-used or open
            for exchange in self.in_flight.values():
                exchange.connection.close()
            for job in self.jobs:
                job.add_done_callback(_close_opened)  # too late for this call
            self.selector.close()
            for end in self.pair:
                end.close()
        return [result for result in self.results if result is not None]

    def _open_for(self, key: Key) -> None:
        """Open, on the pool, the connections this endpoint's waiting requests lack."""
        wanted = min(len(self.waiting[key]), ENDPOINT_CONNECTIONS_MAX) - self.busy[key]
        idle = self.pool.idle(key)
        for _ in range(wanted - len(idle) - self.opening[key]):
            if not self.pair:
                self.pair.extend(socket.socketpair())
                self.pair[0].settimeout(0.0)
                self.selector.register(self.pair[0], selectors.EVENT_READ, None)
            job = self.pool.opener().submit(self.pool.connect, key)
            self.jobs[job] = key
            self.opening[key] += 1
            job.add_done_callback(self._woken)

    def _woken(self, _: Future[_Connection]) -> None:
        with contextlib.suppress(OSError, IndexError):  # the call is over: nobody listens
            self.pair[1].send(b"\0")

    def _opened(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self.pair[0].recv(4096):
                pass
        for job in [job for job in self.jobs if job.done()]:
            key = self.jobs.pop(job)
            self.opening[key] -= 1
            error = job.exception()
            if error is None:
                self.pool.idle(key).append(job.result())
            else:
                failure = error if isinstance(error, OSError) else ConnectionError(str(error))
                self.refused.setdefault(key, failure)
            self._start_next(key)

    def _start_next(self, key: Key) -> None:
        """Send what waits for this endpoint on its idle connections, up to its share."""
        queue, idle = self.waiting[key], self.pool.idle(key)
        while queue and self.busy[key] < ENDPOINT_CONNECTIONS_MAX and idle:
            index = queue.popleft()
            connection = idle.pop()
            try:
                self.pool.send(connection, self.targets[index], self.requests[index])
            except OSError as error:
                self.results[index] = error
                continue
            exchange = _Exchange(index, key, connection)
            self.busy[key] += 1
            self.in_flight[exchange.fd] = exchange
            self.selector.register(connection.sock, selectors.EVENT_READ, exchange)
        if queue and key not in self.refused:
            # Connections the endpoint closed after answering (no keep-alive) are replaced.
            self._open_for(key)
        if queue and not (self.busy[key] or self.opening[key] or idle):  # the endpoint is down
            down = self.refused.get(key) or ConnectionError("no connection to the endpoint")
            while queue:
                self.results[queue.popleft()] = down

    def _finish(self, exchange: _Exchange, error: OSError | None) -> None:
        self.selector.unregister(exchange.connection.sock)
        del self.in_flight[exchange.fd]
        self.busy[exchange.key] -= 1
        answer = exchange.answer
        if error is None and exchange.reusable and answer.complete and answer.keep_alive:
            exchange.connection.sock.settimeout(self.pool.timeout_s)
            self.pool.idle(exchange.key).append(exchange.connection)
        else:
            exchange.connection.close()
        self.results[exchange.index] = error or (
            answer.parser.get_status_code(),
            b"".join(answer.body),
        )
        self._start_next(exchange.key)


def _address(url: str) -> tuple[Key, str]:
    """(scheme, netloc) and the request target of an endpoint URL; ValueError if it is not
    one we can POST to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an endpoint is an http(s) URL with a host")
    _ = parts.port  # ValueError when out of range or not a number
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not url.isascii():
        raise ValueError("an endpoint URL is ASCII (IDNA host, percent-encoded path)")
    return (parts.scheme, parts.netloc), target


def _close_opened(job: Future[_Connection]) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result().close()


def _stale(sock: socket.socket) -> bool:
    """An idle keep-alive socket that reads as ready was closed by the other end."""
    if sock.fileno() < 0:
        return True
    # poll, not select: select cannot watch a descriptor numbered 1024 or more, and a busy
    # hub holds that many sockets.
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class HttpTransport:
    def __init__(self, gateway: Gateway, *, timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
        self.gateway = gateway
        self.directory = gateway.payments.directory
        self._connections = _KeepAlive(timeout_s)

    def _post_many(
        self, messages: Sequence[tuple[Participant, bytes]]
    ) -> list[tuple[int, bytes] | None]:
        """(status, body) of POSTing each body to its participant's endpoint, all at once;
        None where there is no endpoint or it could not be reached (logged)."""
        answers: list[tuple[int, bytes] | None] = [None] * len(messages)
        requests: list[Request] = []
        sent: list[int] = []
        for index, (participant, body) in enumerate(messages):
            endpoint = self.directory.endpoint(participant.id)
            if endpoint is None:
                continue
            url, secret = endpoint
            signed = {"content-type": "application/xml", SIGNATURE_HEADER: signature(secret, body)}
            requests.append((url, body, signed))
            sent.append(index)
        for index, result in zip(sent, self._connections.post_many(requests), strict=True):
            if isinstance(result, OSError):
                participant = messages[index][0]
                log.warning("endpoint unreachable", participant=participant.code, error=str(result))
            else:
                answers[index] = result
        return answers

    def report(self, participant: Participant, payment: Payment) -> None:
        self._post_many([(participant, self.gateway.status_report(participant, payment))])

    # The payment path's form: messages are built here and archived by the caller, in the
    # transactions that change the payment (see Payments).
    def advice(self, payee: Participant, payment: Payment) -> ArchivedMessage:
        return self.gateway.build_credit_advice(payee, payment)

    def exchange(
        self, payee: Participant, payment: Payment, advice: ArchivedMessage
    ) -> tuple[PayeeDecision | None, ArchivedMessage | None]:
        """POST the advice; the payee's decision (None: no usable answer) and its message."""
        (answer,) = self.exchange_many([(payee, payment, advice)])
        return answer.decision, answer.received

    def exchange_many(
        self, advices: Sequence[tuple[Participant, Payment, ArchivedMessage]]
    ) -> list[Exchanged]:
        """exchange for many advices, sent at once and answered as the payees answer."""
        responses = self._post_many([(payee, advice.body) for payee, _, advice in advices])
        answers: list[Exchanged] = []
        for (payee, payment, _), response in zip(advices, responses, strict=True):
            if response is None or response[0] != HTTP_OK:
                answers.append(Exchanged(None, None, reached=response is not None))
                continue
            try:
                decision, received = self.gateway.decision_of(payee, payment, response[1])
            except DomainError as error:  # an unreadable answer is no answer
                log.warning("unreadable answer", participant=payee.code, code=error.code)
                answers.append(Exchanged(None, None, reached=True))
                continue
            answers.append(Exchanged(decision, received, reached=True))
        return answers

    def status_message(self, participant: Participant, payment: Payment) -> ArchivedMessage:
        return self.gateway.build_status_report(participant, payment)

    def return_message(
        self,
        payer: Participant,
        payee: Participant,
        payment: Payment,
        returned: tuple[uuid.UUID, int, ReasonCode],
    ) -> ArchivedMessage:
        return_id, amount_minor, reason = returned
        message_id = f"RTR{return_id.hex[:29]}"  # the same for a retried return
        body = iso.build_envelope(
            return_envelope(
                message_id=message_id,
                created_at=from_ns(self.gateway.clock.now_ns()),
                payer=payer.code,
                payee=payee.code,
                original=payment.request,
                return_id=return_id,
                returned=Money(amount_minor, payment.request.currency),
                reason=iso.ReasonCode(reason.value),
            )
        )
        return ArchivedMessage(payer.id, "out", iso.MessageType.PACS_004.value, message_id, body)

    def push(self, participant: Participant, message: ArchivedMessage) -> None:
        """POST an archived status report (best effort: a participant that missed it asks)."""
        self.push_many([(participant, message)])

    def push_many(self, messages: Sequence[tuple[Participant, ArchivedMessage]]) -> None:
        self._post_many([(participant, message.body) for participant, message in messages])

    def release(self) -> None:
        self._connections.release()

    def close(self) -> None:
        self._connections.close()
