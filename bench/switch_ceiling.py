"""The harness's ceiling: `python bench/switch_ceiling.py PORT PAYEE_PORT [--payer-only]` is a
hub that does only the network part of a payment (with `--payer-only`, only the payer's
exchange: the client is answered at once, the payee never asked).

For each `POST /v1/switch/payments` it does what the real hub sends and receives, with none of
its work: the credit advice (a real pacs.008 envelope, built once, with the request's
end-to-end id put in) is POSTed to the payee bank (bench/switch_payee.py) and its answer read,
a status report of the same size is POSTed and its acknowledgement read, and the client gets
`{"status":"ACSC"}`. No parsing beyond cutting the end-to-end id out of the JSON, no database,
no framework: asyncio streams, one payee connection per client connection.

`switch_http.py` runs its load against this server in the same run as against the hub, so the
hub's figures sit beside what the machine allows this harness at all (the load generator and
the payee share the same two cores).

Prints "ready" on stdout once it listens.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime

from switch_payee import listen, read_body
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.switch import iso20022 as iso

E2E_MARK = "E2E0000000000000000000000000000000000"[:35]


def advice_template() -> bytes:
    """A valid pacs.008 envelope, the size of the hub's, with a placeholder end-to-end id."""
    transaction = iso.CreditTransferTransaction(
        end_to_end_id=E2E_MARK,
        transaction_id="TX0000000000000000",
        uetr=uuid.uuid4(),
        amount=Money(100_00, "PKR"),
        debtor=iso.Party(name="Skardu Crafts"),
        debtor_account=iso.Account(iban=make_pk_iban("MEZN", "1")),
        debtor_agent=iso.Agent(member_id="MEZNPKKA"),
        creditor=iso.Party(name="Karachi Supplier"),
        creditor_account=iso.Account(iban=make_pk_iban("HABB", "2")),
        creditor_agent=iso.Agent(member_id="HABBPKKA"),
    )
    document = iso.CustomerCreditTransfer(
        message_id=f"HUB{uuid.uuid4().hex[:29]}",
        created_at=datetime.now(UTC),
        transactions=(transaction,),
    )
    return iso.build_envelope(iso.Envelope.of(document, sender="RAASTHUB", receiver="HABBPKKA"))


def main() -> None:
    port, payee_port = int(sys.argv[1]), int(sys.argv[2])
    payer_only = "--payer-only" in sys.argv[3:]
    before, _, after = advice_template().partition(E2E_MARK.encode())
    # The status report is not parsed by the payee either: the advice's bytes without the
    # pacs.008 marker stand in for it (the payee acknowledges anything else with a 200).
    report = (before + b"E2E" + after).replace(b"pacs.008", b"pacs.002")
    post = b"POST /raast HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/xml\r\n"
    answer = b'{"status":"ACSC"}'
    reply = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(answer)).encode()
        + b"\r\n\r\n"
        + answer
    )

    async def answer_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_body(reader)
            writer.write(reply)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        payee_reader, payee_writer = await asyncio.open_connection("127.0.0.1", payee_port)
        try:
            while True:
                body = await read_body(reader)
                start = body.index(b'"end_to_end_id"') + len(b'"end_to_end_id"')
                start = body.index(b'"', start + 1) + 1
                end_to_end_id = body[start : body.index(b'"', start)]
                advice = before + end_to_end_id + after
                for message in (advice, report):
                    payee_writer.write(
                        post + b"content-length: " + str(len(message)).encode() + b"\r\n\r\n"
                    )
                    payee_writer.write(message)
                    await read_body(payee_reader)
                writer.write(reply)
        finally:
            payee_writer.close()

    listen(port, answer_only if payer_only else serve)


if __name__ == "__main__":
    main()
