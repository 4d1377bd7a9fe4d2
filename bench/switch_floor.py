"""What two shared cores allow the parts this hub's payments are made of, each measured alone.

    python bench/switch_floor.py --database-url postgresql://postgres@127.0.0.1/postgres

A credit transfer through the hub over HTTP (bench/switch_http.py) is made of parts that the
hub must have, whatever else it does, on its stack (uvicorn and Pydantic, lxml and the
official XSDs, PostgreSQL with synchronous commits) and in its design (the issue's two-phase
settlement, an archive of every message):

- harness: the load generator and the payee bank (bench/switch_payee.py);
- payee_exchanges: the hub's side of the credit advice and its answer and of the status
  report and its acknowledgement, on raw asyncio streams with no parsing (the network-only
  hub of bench/switch_ceiling.py, less the same hub answering the payer alone);
- front: uvicorn reading the payer's request (its exchange included), the credentials
  checked, the JSON validated as `CreditTransferIn` and a `PaymentOut` answered
  (bench/switch_front.py, no framework);
- iso20022: the credit advice built and the status report built (the hub's templates), the
  payee's pacs.002 parsed and validated against its two XSDs and its status and end-to-end id
  read (the least a reader does; this hub's own reader, which builds the whole model, is
  printed beside it as `iso20022_read_by_the_hub`);
- ledger: the reservation and its post, GROUP payments to a batch, as the groups send them;
- rows: the payment's row, its status and its three archived messages, GROUP payments to a
  statement (the hub's two switch statements).

For a bulk file's row (`bulk`): the pain.001 read (3,000-row envelopes parsed, validated and
read into the model, per row) and the row's two ledger transfers in the bulk path's batches
(PIPELINE_ROWS reservations, then as many posts, one transaction each).

Each part runs alone and is charged the CPU of every process doing its work (this one,
uvicorn, the payee, every PostgreSQL process), REPEATS times; a part's cost is its cheapest
round. The parts do not overlap, so their sum bounds a payment's CPU from below, and 2 cores
divided by it bounds payments per second from above: the most a hub made of these parts could
do on this machine with both cores at 100 % and its own logic (routing, checks, groups,
queues, threads, the records' encoding) free. PostgreSQL's figures count the whole server:
`postgres_sessions_elsewhere` says how many other sessions were running at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ledger_cpu import postgres_cpu_s  # bench/ is the script's directory, so on sys.path
from switch_bulk import pain001
from switch_bulk import rows as bulk_rows
from switch_front import CREDENTIALS
from switch_http import (
    PAYEE_SCRIPT,
    bodies_for,
    free_port,
    load,
    measure_ceiling,
    tree_cpu_seconds,
    wait_until_up,
)
from switch_payee import template as answer_template
from tijarat.bootstrap import Container, build, tune_collector
from tijarat.cli.bench_ledger import fresh_database
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.kernel.money import Money
from tijarat.ledger.model import Account, Transfer, TransferFlags
from tijarat.settings import Settings
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.bulk import PIPELINE_ROWS
from tijarat.switch.iso20022 import _xml
from tijarat.switch.model import CreditTransfer, ParticipantCategory, Payment, PaymentStatus

GROUP = 32  # payments per group: what the hub's groups hold at 64 clients
CORES = 2
FRONT_SCRIPT = Path(__file__).with_name("switch_front.py")
E2E_MARK = b"E2E0000000000000000000000000000000000"[:35]  # switch_payee's answer template
PACS_002 = "{urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10}"
HUB_LEDGER, BULK_LEDGER = 99, 98


def transfers(count: int, tag: str) -> list[CreditTransfer]:
    debtor = make_pk_iban("MEZN", "1").compact
    creditors = [make_pk_iban("HABB", str(1 + n)).compact for n in range(min(count, 500))]
    return [
        CreditTransfer(
            msg_id=f"{tag}{n}",
            end_to_end_id=f"{tag}{n}",
            tx_id=f"{tag}{n}",
            uetr=uuid.uuid4(),
            amount_minor=100_00 + n % 997,
            currency="PKR",
            debtor_name="Skardu Crafts",
            debtor_iban=debtor,
            creditor_iban=creditors[n % len(creditors)],
            creditor_name="Karachi Supplier",
        )
        for n in range(count)
    ]


@contextmanager
def cpu_of_this_and_postgres() -> Iterator[dict[str, float]]:
    """CPU seconds of this process (all its threads) and of every PostgreSQL process."""
    spent: dict[str, float] = {}
    postgres = postgres_cpu_s()  # first: its own reading of /proc is not this part's
    python = time.process_time()
    yield spent
    spent["python"] = time.process_time() - python
    spent["postgres"] = postgres_cpu_s() - postgres


def per_payment(spent: dict[str, float], payments: int) -> dict[str, float]:
    return {f"{name}_cpu_ms": round(s * 1000 / payments, 4) for name, s in spent.items()}


def settled_all(run: dict[str, float], what: str) -> None:
    if run["settled"] != run["payments"]:
        raise SystemExit(f"{what}: {run['settled']} of {run['payments']} answers were ACSC")


# ---------------------------------------------------------------------------- over HTTP
def payee_exchanges(
    payee: subprocess.Popen[bytes], payee_port: int, clients: int, per_client: int
) -> dict[str, float]:
    """The network-only hub, less the same hub answering the payer alone: the hub's side of
    the two exchanges with the payee; and the harness (payee and load generator)."""
    full = measure_ceiling(payee, payee_port, clients, per_client)
    alone = measure_ceiling(payee, payee_port, clients, per_client, payer_only=True)
    settled_all(full, "network-only hub")
    settled_all(alone, "network-only hub, payer alone")
    return {
        "payee_exchanges_cpu_ms": round(full["hub_cpu_ms"] - alone["hub_cpu_ms"], 4),
        "harness_cpu_ms": round(full["payee_cpu_ms"] + full["load_generator_cpu_ms"], 4),
    }


def front(clients: int, per_client: int) -> dict[str, float]:
    """uvicorn with bench/switch_front.py under the load generator: its CPU per payment."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "switch_front:app",
            "--app-dir",
            str(FRONT_SCRIPT.parent),
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        auth = next(iter(CREDENTIALS.items()))
        settled_all(load(port, auth, bodies_for(4, 50)), "front")
        bodies = bodies_for(clients, per_client)
        before = tree_cpu_seconds(server.pid)
        run = load(port, auth, bodies)
        spent = tree_cpu_seconds(server.pid) - before
        settled_all(run, "front")
        return {"front_cpu_ms": round(spent * 1000 / run["payments"], 4)}
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---------------------------------------------------------------------------- in process
@dataclass
class Hub:
    container: Container
    hub_accounts: tuple[uuid.UUID, uuid.UUID]  # a payer's and a payee's, for the ledger parts
    bulk_accounts: tuple[uuid.UUID, uuid.UUID]

    def plans(self, count: int) -> list[Any]:
        """`count` payments from MEZN to HABB as the hub plans them: row, guard, advice."""
        hub = self.container.payments
        return [
            hub._plan("MEZNPKKA", request, fresh=False)  # noqa: SLF001 - a bench's look inside
            for request in transfers(count, uuid.uuid4().hex[:8])
        ]

    def planned(self, count: int) -> list[Payment]:
        return [plan.payment for plan in self.plans(count)]


def hub_with_two_banks(url: str, payee_url: str) -> Hub:
    container = build(Settings(database_url=url, environment="test"))
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        switch.fund(code, Money(10**15, "PKR"), uuid.uuid4())
    switch.set_endpoint("HABBPKKA", payee_url)  # the advices are built for an HTTP payee
    ledger = container.ledger
    accounts = []
    for number in (HUB_LEDGER, BULK_LEDGER):
        ledger.create_ledger(number, "PKR", f"floor {number}")
        pair = (uuid.uuid4(), uuid.uuid4())
        ledger.create_accounts([Account(i, number, 1) for i in pair])
        accounts.append(pair)
    return Hub(container, accounts[0], accounts[1])


def answers_to(payments: list[Payment]) -> list[bytes]:
    """The payee's pacs.002 ACSC to each payment (switch_payee.py's template)."""
    head, _, rest = answer_template().partition(E2E_MARK)
    return [head + p.request.end_to_end_id.encode() + rest for p in payments]


def read_least(answer: bytes) -> tuple[str | None, str | None]:
    """The least a hub reads of a payee's answer: parsed, both parts XSD-valid, the status
    and the end-to-end id it names."""
    root = _xml.parse_root(answer)
    header, document = _xml.envelope_parts(root)
    _xml.validate_element(header, iso.MessageType.HEAD_001)
    _xml.validate_element(document, iso.MessageType.PACS_002)
    return document.findtext(f".//{PACS_002}TxSts"), document.findtext(
        f".//{PACS_002}OrgnlEndToEndId"
    )


def iso20022(hub: Hub, payments: int) -> dict[str, float]:
    """The messages of `payments` payments, in process: advice, answer read, report. A few
    groups' payments at a time, as the hub holds them (not thousands alive at once, which
    the collector makes dearer)."""
    payee = hub.container.switch.participant("HABBPKKA")
    gateway = hub.container.gateway
    chunk = 8 * GROUP
    least = hubs = 0.0
    for _ in range(max(1, payments // chunk)):
        planned = hub.planned(chunk)
        answers = answers_to(planned)
        began = time.process_time()  # no PostgreSQL here: this process alone
        for payment, answer in zip(planned, answers, strict=True):
            gateway.build_credit_advice(payee, payment)
            status, end_to_end_id = read_least(answer)
            assert status == "ACSC"
            assert end_to_end_id == payment.request.end_to_end_id
            gateway.build_status_report(payee, replace(payment, status=PaymentStatus.SETTLED))
        middle = time.process_time()
        for payment, answer in zip(planned, answers, strict=True):
            decision, _ = gateway.decision_of(payee, payment, answer)
            assert decision is not None
            assert decision.accept
        least, hubs = least + middle - began, hubs + time.process_time() - middle
    count = max(1, payments // chunk) * chunk
    return {
        "python_cpu_ms": round(least * 1000 / count, 4),
        "iso20022_read_by_the_hub_cpu_ms": round(hubs * 1000 / count, 4),
    }


def posts(pending_ids: list[uuid.UUID]) -> list[Transfer]:
    """The posts of these pending transfers as the hub makes them: accounts, ledger, code
    and amount taken from each pending transfer (the full amount)."""
    return [
        Transfer(uuid.uuid4(), pending_id=i, flags=TransferFlags.POST_PENDING_TRANSFER)
        for i in pending_ids
    ]


def two_phase(
    apply: Callable[[list[Transfer]], list[object]],
    accounts: tuple[uuid.UUID, uuid.UUID],
    ledger: int,
    size: int,
) -> None:
    """`size` reservations in one call, then their posts in another; every one ok."""
    payer, payee = accounts
    ids = [uuid.uuid4() for _ in range(size)]
    pending = TransferFlags.PENDING
    reserved = apply(
        [Transfer(i, payer, payee, 100_00, ledger=ledger, code=1, flags=pending) for i in ids]
    )
    assert set(reserved) == {"ok"}, set(reserved)
    posted = apply(posts(ids))
    assert set(posted) == {"ok"}, set(posted)


def measured_two_phase(
    apply: Callable[[list[Transfer]], list[object]],
    accounts: tuple[uuid.UUID, uuid.UUID],
    ledger: int,
    size: int,
    count: int,
) -> dict[str, float]:
    """two_phase in batches of `size` for about `count` payments, after one to warm up."""
    batches = max(1, count // size)
    two_phase(apply, accounts, ledger, size)
    with cpu_of_this_and_postgres() as spent:
        for _ in range(batches):
            two_phase(apply, accounts, ledger, size)
    return per_payment(spent, batches * size)


def ledger(hub: Hub, payments: int) -> dict[str, float]:
    """Each payment's reservation and post, GROUP to a batch, as the groups send them."""
    submit = hub.container.ledger.submit_transfers
    return measured_two_phase(submit, hub.hub_accounts, HUB_LEDGER, GROUP, payments)


def rows(hub: Hub, payments: int) -> dict[str, float]:
    """Each payment's row with its advice, then its status with the answer and the report
    (the hub's two switch statements), GROUP payments to a statement."""
    payee = hub.container.switch.participant("HABBPKKA")
    gateway = hub.container.gateway
    groups: list[tuple[list[store.Stored], list[store.Decision]]] = []
    for _ in range(max(1, payments // GROUP) + 1):
        plans = hub.plans(GROUP)
        decisions = []
        for plan, answer in zip(plans, answers_to([p.payment for p in plans]), strict=True):
            _, received = gateway.decision_of(payee, plan.payment, answer)
            report = gateway.build_status_report(
                payee, replace(plan.payment, status=PaymentStatus.SETTLED)
            )
            decisions.append(store.Decision(plan.payment.id, "ACSC", None, [received], [report]))
        stored = [(p.values, p.guard, [p.advice] if p.advice else []) for p in plans]
        groups.append((stored, decisions))
    engine = hub.container.engine

    def write(group: tuple[list[store.Stored], list[store.Decision]]) -> None:
        stored, decided = group
        assert len(store.insert_payments(engine, stored)) == len(stored)
        assert len(store.finish_payments(engine, decided, time.time_ns())) == len(decided)

    write(groups[0])
    with cpu_of_this_and_postgres() as spent:
        for group in groups[1:]:
            write(group)
    return per_payment(spent, (len(groups) - 1) * GROUP)


def ledger_in_bulk(hub: Hub, rows_count: int) -> dict[str, float]:
    """Each row's reservation and post in the bulk path's batches (one transaction each)."""
    create = hub.container.ledger.create_transfers
    return measured_two_phase(create, hub.bulk_accounts, BULK_LEDGER, PIPELINE_ROWS, rows_count)


def pain001_read(_: Hub, rows_count: int) -> dict[str, float]:
    """A 3,000-row pain.001 envelope parsed, validated and read into the model, per row."""
    size = 3_000
    files = [
        pain001(bulk_rows(size, uuid.uuid4().hex[:8])) for _ in range(max(1, rows_count // size))
    ]
    iso.parse_envelope(files[0])
    with cpu_of_this_and_postgres() as spent:
        for body in files:
            envelope = iso.parse_envelope(body)
            assert isinstance(envelope.document, iso.CustomerCreditTransferInitiation)
            read = sum(len(p.transactions) for p in envelope.document.payment_instructions)
            assert read == size
    return per_payment(spent, len(files) * size)


# ---------------------------------------------------------------------------- the run
def sessions_elsewhere(url: str) -> int:
    """Other sessions running a statement on the server now: they would be charged here."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def cost(part: dict[str, float]) -> float:
    return sum(
        v for name, v in part.items() if name.endswith("_cpu_ms") and "by_the_hub" not in name
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--payments", type=int, default=6_400, help="per in-process part")
    parser.add_argument("--bulk-rows", type=int, default=48_000)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; a part costs its least")
    arguments = parser.parse_args()
    elsewhere = sessions_elsewhere(arguments.database_url)
    payee_port = free_port()
    payee = subprocess.Popen(
        [sys.executable, str(PAYEE_SCRIPT), str(payee_port)], stdout=subprocess.PIPE
    )
    assert payee.stdout is not None
    payee.stdout.readline()  # "ready"
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        with fresh_database(arguments.database_url) as url:
            hub = hub_with_two_banks(url, f"http://127.0.0.1:{payee_port}/raast")
            tune_collector()
            try:
                for _ in range(arguments.repeats):
                    network = payee_exchanges(
                        payee, payee_port, arguments.clients, arguments.per_client
                    )
                    rounds.append(
                        {
                            "harness": {"harness_cpu_ms": network["harness_cpu_ms"]},
                            "payee_exchanges": {
                                "payee_exchanges_cpu_ms": network["payee_exchanges_cpu_ms"]
                            },
                            "front": front(arguments.clients, arguments.per_client),
                            "iso20022": iso20022(hub, arguments.payments),
                            "ledger": ledger(hub, arguments.payments),
                            "rows": rows(hub, arguments.payments),
                            "bulk_pain001": pain001_read(hub, arguments.bulk_rows),
                            "bulk_ledger": ledger_in_bulk(hub, arguments.bulk_rows),
                        }
                    )
            finally:
                hub.container.close()
    finally:
        payee.terminate()
        payee.wait(timeout=10)
    least = {name: min(cost(r[name]) for r in rounds) for name in rounds[0]}
    payment_parts = ("harness", "payee_exchanges", "front", "iso20022", "ledger", "rows")
    total = sum(least[name] for name in payment_parts)
    bulk_total = least["bulk_pain001"] + least["bulk_ledger"]
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "postgres_sessions_elsewhere": elsewhere,
                "cpu_ms_per_payment": {name: round(least[name], 4) for name in payment_parts},
                "sum_cpu_ms": round(total, 4),
                "payments_per_s_at_most": round(CORES * 1000 / total),
                "bulk": {
                    "cpu_ms_per_row": {
                        "pain001": round(least["bulk_pain001"], 4),
                        "ledger": round(least["bulk_ledger"], 4),
                    },
                    "sum_cpu_ms": round(bulk_total, 4),
                    "rows_per_s_at_most": round(CORES * 1000 / bulk_total),
                    "ledger_alone_rows_per_s_at_most": round(CORES * 1000 / least["bulk_ledger"]),
                },
                "rounds": rounds,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("TIJARAT_LOG_LEVEL", "WARNING")
    main()
