"""A payee bank for benchmarks: `python bench/switch_payee.py PORT` answers credit advices.

It runs in its own process, so that its work is not charged to the hub or to the load
generator, and answers each pacs.008 the hub pushes with a pacs.002 ACSC naming the same
end-to-end id, over HTTP/1.1 keep-alive (one connection per hub thread, no per-request
handshake). It does not parse or validate what it receives: the end-to-end id is cut out of
the bytes and put into an answer built (and XSD-validated) once at start. A real bank would
verify the signature and read the message; that is its cost, not the hub's, and the hub
still parses and validates every answer it receives. Status reports (pacs.002) it receives
are acknowledged with an empty 200.

Prints "ready" on stdout once it listens.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import uvloop  # the harness' own CPU is not the hub's: uvloop spends less of it

from tijarat.switch import iso20022 as iso

HEADERS_BYTES_MAX = 16_384
E2E_MARK = "E2E0000000000000000000000000000000000"  # placeholder in the answer template
MSG_MARK = "MSG00000000000000000000"


def template() -> bytes:
    """A valid pacs.002 ACSC envelope with placeholders for the message and end-to-end ids."""
    report = iso.PaymentStatusReport(
        message_id=MSG_MARK,
        created_at=datetime.now(UTC),
        transactions=(
            iso.TransactionStatus(
                status=iso.PaymentStatus.ACSC, original_end_to_end_id=E2E_MARK[:35]
            ),
        ),
    )
    return iso.build_envelope(iso.Envelope.of(report, sender="HABBPKKA", receiver="RAASTHUB"))


def main() -> None:
    port = int(sys.argv[1])
    head, _, rest = template().partition(E2E_MARK[:35].encode())
    pieces = head.split(MSG_MARK.encode())  # the header's BizMsgIdr and the report's MsgId
    counter = itertools.count()
    tag = uuid.uuid4().hex[:8].upper()

    def answer(body: bytes) -> bytes:
        start = body.find(b"<EndToEndId>")
        if start < 0 or b"pacs.008" not in body[:2_000]:
            return b""  # a status report: acknowledged, nothing to say
        start += len(b"<EndToEndId>")
        end_to_end_id = body[start : body.index(b"</EndToEndId>", start)]
        message_id = f"P{tag}{next(counter):014d}".encode()
        return message_id.join(pieces) + end_to_end_id + rest

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            reply = answer(await read_body(reader))
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: "
                + str(len(reply)).encode()
                + b"\r\n\r\n"
                + reply
            )
            await writer.drain()

    listen(port, serve)


async def read_body(reader: asyncio.StreamReader) -> bytes:
    """The next HTTP/1.1 message's body (its headers read and dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEADERS_BYTES_MAX:
        raise ConnectionError("headers too large")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return await reader.readexactly(length)


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def listen(port: int, serve: Serve) -> None:
    """Serve connections on 127.0.0.1:port until killed; "ready" on stdout once listening.
    A connection ends when the peer closes it."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    uvloop.run(run())


if __name__ == "__main__":
    main()
