"""The transport's keep-alive client against endpoints that answer in every way HTTP allows."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
from collections.abc import Iterator

import pytest

from tijarat.switch import transport
from tijarat.switch.transport import ANSWER_BYTES_MAX, _KeepAlive


class Endpoint:
    """A raw TCP server: reads one request at a time, sends the next canned answer."""

    def __init__(self, answers: list[bytes], *, close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/raast?v=1"

    def _serve(self) -> None:
        while self.answers:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection, contextlib.suppress(OSError):  # a client that hung up early
                while self.answers:
                    request = self._request(connection)
                    if request is None:
                        break
                    self.requests.append(request)
                    connection.sendall(self.answers.pop(0))
                    if self.close_after:
                        break

    @staticmethod
    def _request(connection: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65_536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65_536)
        return data

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def client() -> Iterator[_KeepAlive]:
    keep_alive = _KeepAlive(timeout_s=5.0)
    yield keep_alive
    keep_alive.close()


def post(client: _KeepAlive, endpoint: Endpoint, body: bytes = b"<x/>") -> tuple[int, bytes]:
    return client.post(endpoint.url, body, {"content-type": "application/xml", "X-Sig": "ab"})


def test_a_request_is_one_post_with_its_headers_and_answers_reuse_the_connection(
    client: _KeepAlive,
) -> None:
    endpoint = Endpoint(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n"
            ),
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ]
    )
    assert post(client, endpoint, b"<a>1</a>") == (200, b"first")
    assert post(client, endpoint) == (200, b"second")
    assert post(client, endpoint) == (202, b"")
    assert endpoint.connections == 1
    head, _, body = endpoint.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /raast?v=1 HTTP/1.1"
    assert {b"content-type: application/xml", b"X-Sig: ab", b"Content-Length: 8"} <= set(lines)
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)
    assert body == b"<a>1</a>"
    endpoint.close()


def test_answers_that_end_the_connection_are_read_and_the_next_post_reconnects(
    client: _KeepAlive,
) -> None:
    endpoint = Endpoint(
        [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.0 200 OK\r\n\r\nuntil the end",  # no length: the body ends at EOF
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ],
        close_after=True,
    )
    assert post(client, endpoint) == (200, b"ok")
    assert post(client, endpoint) == (200, b"until the end")
    assert post(client, endpoint) == (200, b"ok")
    assert endpoint.connections == 3
    endpoint.close()


def test_a_truncated_or_garbled_answer_is_an_error_and_the_connection_is_dropped(
    client: _KeepAlive,
) -> None:
    endpoint = Endpoint(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ],
        close_after=True,
    )
    with pytest.raises(ConnectionError, match="mid-answer"):
        post(client, endpoint)
    with pytest.raises(ConnectionError, match="not HTTP"):
        post(client, endpoint)
    assert post(client, endpoint) == (200, b"ok")
    endpoint.close()


def test_an_oversized_answer_is_cut_after_the_limit_and_its_connection_closed(
    client: _KeepAlive,
) -> None:
    size = ANSWER_BYTES_MAX * 2
    endpoint = Endpoint(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]
    )
    status, body = post(client, endpoint)
    assert status == 200
    assert ANSWER_BYTES_MAX < len(body) < size  # more than the limit: refused by the caller
    assert post(client, endpoint) == (200, b"ok")
    assert endpoint.connections == 2  # the cut connection was not reused
    endpoint.close()


def test_an_endpoint_that_is_not_there_is_an_os_error(client: _KeepAlive) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(OSError):
        client.post(f"http://127.0.0.1:{port}/", b"x", {})


def test_a_group_outlasting_connections_the_endpoint_closes_opens_new_ones(
    client: _KeepAlive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint without keep-alive (HTTP/1.0 style) closes each connection after its
    answer: the requests still queued get new connections, not 'endpoint down'."""
    monkeypatch.setattr(transport, "ENDPOINT_CONNECTIONS_MAX", 2)
    ok = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    endpoint = Endpoint([ok] * 6, close_after=True)
    assert client.post_many([(endpoint.url, b"<x/>", {}) for _ in range(6)]) == [(200, b"ok")] * 6
    assert endpoint.connections == 6
    endpoint.close()


class Gathering:
    """An endpoint that answers only once `parties` requests are in, each on its own thread."""

    def __init__(self, parties: int, *, silent: bool = False) -> None:
        self.barrier = threading.Barrier(parties, timeout=5)
        self.silent = silent
        self.most_at_once = 0
        self._at_once = 0
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError, threading.BrokenBarrierError):
            while Endpoint._request(connection) is not None:
                with self._lock:
                    self._at_once += 1
                    self.most_at_once = max(self.most_at_once, self._at_once)
                if self.silent:
                    continue  # reads, never answers
                self.barrier.wait()
                with self._lock:
                    self._at_once -= 1
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        self.listener.close()


def test_a_groups_requests_are_in_flight_together_on_one_thread(client: _KeepAlive) -> None:
    endpoint = Gathering(8)  # answers nobody until all eight wait: sequential would hang
    requests = [(endpoint.url, b"<x/>", {}) for _ in range(8)]
    assert client.post_many(requests) == [(200, b"ok")] * 8
    assert endpoint.most_at_once == 8
    endpoint.barrier.reset()
    assert client.post_many(requests) == [(200, b"ok")] * 8  # on the same, idle connections
    endpoint.close()


def test_an_endpoint_gets_at_most_its_share_of_connections(
    client: _KeepAlive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "ENDPOINT_CONNECTIONS_MAX", 2)
    endpoint = Gathering(2)
    answers = client.post_many([(endpoint.url, b"<x/>", {}) for _ in range(6)])
    assert answers == [(200, b"ok")] * 6
    assert endpoint.most_at_once == 2
    endpoint.close()


def test_a_silent_endpoint_times_out_alone() -> None:
    # The timeout is generous: the healthy answers must come within it on a loaded machine.
    client = _KeepAlive(timeout_s=2.0)
    silent, talking = Gathering(1, silent=True), Gathering(1)
    answers = client.post_many(
        [(silent.url, b"<x/>", {}), (talking.url, b"<x/>", {}), (talking.url, b"<y/>", {})]
    )
    assert isinstance(answers[0], TimeoutError)
    assert answers[1:] == [(200, b"ok"), (200, b"ok")]
    client.close()
    silent.close()
    talking.close()


def test_connections_numbered_past_select_s_limit_are_checked_and_reused(
    client: _KeepAlive,
) -> None:
    """A busy hub holds over 1,024 descriptors; select() cannot watch those, poll() can."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1_200:
        pytest.skip("this machine allows fewer than 1,200 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1_200), hard))
    filler = [socket.socket() for _ in range(1_100)]  # push the next descriptors past 1,024
    try:
        endpoint = Endpoint([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"] * 2)
        assert post(client, endpoint) == (200, b"ok")
        assert post(client, endpoint) == (200, b"ok")  # reused: its idle check ran
        assert endpoint.connections == 1
        endpoint.close()
    finally:
        for sock in filler:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_one_deadline_covers_queued_requests_which_are_then_never_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A silent endpoint costs the timeout once per call, not once per round of requests."""
    monkeypatch.setattr(transport, "ENDPOINT_CONNECTIONS_MAX", 2)
    client = _KeepAlive(timeout_s=0.3)
    silent = Gathering(1, silent=True)
    answers = client.post_many([(silent.url, b"<x/>", {}) for _ in range(6)])
    assert all(isinstance(answer, TimeoutError) for answer in answers)
    assert silent.most_at_once == 2  # the four queued behind were never sent
    client.close()
    silent.close()


def test_an_endpoint_that_does_not_accept_delays_no_other() -> None:
    """Connections are opened in parallel, and sending starts as each opens."""
    full = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = full.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the accept queue: further handshakes go unanswered
        filler = socket.socket()
        filler.setblocking(False)  # noqa: FBT003
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    healthy = Gathering(1)
    client = _KeepAlive(timeout_s=2.0)
    answers = client.post_many(
        [(f"http://127.0.0.1:{port}/", b"<x/>", {})] * 3 + [(healthy.url, b"<x/>", {})]
    )
    assert all(isinstance(answer, TimeoutError) for answer in answers[:3])
    assert answers[3] == (200, b"ok")
    client.close()
    healthy.close()
    full.close()
    for filler in fillers:
        filler.close()


def test_strange_endpoints_and_answers_fail_only_their_own_requests(
    client: _KeepAlive,
) -> None:
    upgrade = Endpoint(
        [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"]
    )
    extra = Endpoint(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]
    )
    healthy = Gathering(1)
    answers = client.post_many(
        [
            ("http://127.0.0.1:99999/", b"<x/>", {}),  # no such port
            ("http://127.0.0.1:80/ü", b"<x/>", {}),  # not ASCII
            ("ftp://127.0.0.1/", b"<x/>", {}),
            (upgrade.url, b"<x/>", {}),
            (extra.url, b"<x/>", {}),
            (healthy.url, b"<x/>", {}),
        ]
    )
    assert [type(answer) for answer in answers[:3]] == [ConnectionError] * 3
    assert answers[3] == (101, b"")  # no exception escapes; not a 200, so not a decision
    assert answers[4] == (200, b"ok")  # bytes after a whole answer: it stands
    assert answers[5] == (200, b"ok")
    assert post(client, extra) == (200, b"ok")
    assert extra.connections == 2  # the connection that carried garbage was not reused
    upgrade.close()
    extra.close()
    healthy.close()
