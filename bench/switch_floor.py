"""What two shared cores allow the parts every hub payment is made of, each measured alone.

    python bench/switch_floor.py --database-url postgresql://postgres@127.0.0.1/postgres

A credit transfer through the hub over HTTP (bench/switch_http.py) is made of parts that any
hub built on this stack (uvicorn and Pydantic, lxml and the official XSDs, PostgreSQL with
synchronous commits) must have, whatever else it does:

- harness: the load generator and the payee bank (bench/switch_payee.py);
- network: the hub's side of the three HTTP exchanges (the payer's request, the credit
  advice and its answer, the status report and its acknowledgement) on raw asyncio streams
  with no parsing (bench/switch_ceiling.py, the `ceiling_network_only` of switch_http.py);
- front: uvicorn reading the payer's request, the credentials checked, the JSON validated
  as `CreditTransferIn` and a `PaymentOut` answered (bench/switch_front.py, no framework);
- iso20022: the credit advice built, the payee's pacs.002 parsed and validated against its
  XSDs, the status report built (the hub's own `Gateway` methods, in process);
- ledger: the payment's two transfers (the reservation, then its post), in batches of
  GROUP as the hub's payment groups send them (`LedgerService.submit_transfers`);
- rows: the payment's row, its status and its three archived messages, in groups of GROUP
  (`store.insert_payments`, `store.finish_payments`: the hub's two switch statements).

Each part runs alone and prints the CPU it costs per payment, summed over every process that
does its work (this one, uvicorn, the payee, PostgreSQL). The parts do not overlap, so their
sum bounds what a payment costs from below, and 2 cores divided by it bounds payments per
second from above: the most any hub made of these parts could do on this machine before its
own logic (routing, the payment's checks and records, queues, threads) costs anything.

The same for a bulk file's row (`bulk`): the pain.001 read (one 3,000-row envelope parsed,
XSD-validated and read into the model, per row) and the row's two ledger transfers in the
bulk path's batches (PIPELINE_ROWS reservations, then as many posts, one transaction each).
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
from dataclasses import replace
from pathlib import Path

from ledger_cpu import postgres_cpu_s  # bench/ is the script's directory, so on sys.path
from switch_bulk import pain001
from switch_bulk import rows as bulk_rows
from switch_front import CREDENTIALS
from switch_http import (
    PAYEE_SCRIPT,
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
from tijarat.switch.model import CreditTransfer, ParticipantCategory, PaymentStatus

GROUP = 32  # payments per group: what the hub's groups hold at 64 clients
CORES = 2
FRONT_SCRIPT = Path(__file__).with_name("switch_front.py")


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
    python, postgres = time.process_time(), postgres_cpu_s()
    yield spent
    spent["python"] = time.process_time() - python
    spent["postgres"] = postgres_cpu_s() - postgres


def per_payment(spent: dict[str, float], payments: int) -> dict[str, float]:
    return {f"{name}_cpu_ms": round(s * 1000 / payments, 3) for name, s in spent.items()}


def front(payee_clients: int, per_client: int) -> dict[str, float]:
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
        load(port, auth, 4, 50)
        before = tree_cpu_seconds(server.pid)
        run = load(port, auth, payee_clients, per_client)
        spent = tree_cpu_seconds(server.pid) - before
        return {
            "front_cpu_ms": round(spent * 1000 / run["payments"], 3),
            "payments_per_s": run["payments_per_s"],
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def hub_with_two_banks(url: str, payee_url: str) -> Container:
    container = build(Settings(database_url=url, environment="test"))
    switch = container.switch
    for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
        switch.register_participant(
            code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
        )
        switch.fund(code, Money(10**15, "PKR"), uuid.uuid4())
    switch.set_endpoint("HABBPKKA", payee_url)  # the advices are built for an HTTP payee
    return container


def iso20022(container: Container, payments: int) -> dict[str, float]:
    """The messages of `payments` payments, in process: advice, answer read, report."""
    payee = container.switch.participant("HABBPKKA")
    gateway, hub = container.gateway, container.payments
    planned = [
        hub._plan("MEZNPKKA", request, fresh=False).payment  # noqa: SLF001 - a bench's look inside
        for request in transfers(payments, uuid.uuid4().hex[:8])
    ]
    head, _, rest = answer_template().partition(b"E2E0000000000000000000000000000000000"[:35])
    answers = [head + p.request.end_to_end_id.encode() + rest for p in planned]
    with cpu_of_this_and_postgres() as spent:
        for payment, answer in zip(planned, answers, strict=True):
            gateway.build_credit_advice(payee, payment)
            decision, _ = gateway.decision_of(payee, payment, answer)
            assert decision is not None
            assert decision.accept
            settled = replace(payment, status=PaymentStatus.SETTLED)
            gateway.build_status_report(payee, settled)
    return per_payment(spent, payments)


def posts(pending_ids: list[uuid.UUID]) -> list[Transfer]:
    """The posts of these pending transfers as the hub makes them: accounts, ledger, code
    and amount taken from each pending transfer (the full amount)."""
    return [
        Transfer(uuid.uuid4(), pending_id=i, flags=TransferFlags.POST_PENDING_TRANSFER)
        for i in pending_ids
    ]


def ledger(container: Container, payments: int) -> dict[str, float]:
    """Each payment's reservation and post, GROUP payments to a batch, as groups send them."""
    service = container.ledger
    service.create_ledger(99, "PKR", "floor")
    payer, payee = uuid.uuid4(), uuid.uuid4()
    service.create_accounts([Account(payer, 99, 1), Account(payee, 99, 1)])

    def group() -> None:
        ids = [uuid.uuid4() for _ in range(GROUP)]
        reserved = service.submit_transfers(
            [
                Transfer(i, payer, payee, 100_00, ledger=99, code=1, flags=TransferFlags.PENDING)
                for i in ids
            ]
        )
        assert set(reserved) == {"ok"}, set(reserved)
        posted = service.submit_transfers(posts(ids))  # as the hub posts: the full amount
        assert set(posted) == {"ok"}, set(posted)

    for _ in range(10):
        group()
    with cpu_of_this_and_postgres() as spent:
        for _ in range(payments // GROUP):
            group()
    return per_payment(spent, payments // GROUP * GROUP)


def rows(container: Container, payments: int) -> dict[str, float]:
    """Each payment's row with its advice, then its status with the answer and the report
    (the hub's two switch statements), GROUP payments to a statement."""
    payee = container.switch.participant("HABBPKKA")
    gateway, hub = container.gateway, container.payments
    groups = []
    for _ in range(payments // GROUP + 10):
        plans = [
            hub._plan("MEZNPKKA", request, fresh=False)  # noqa: SLF001 - a bench's look inside
            for request in transfers(GROUP, uuid.uuid4().hex[:8])
        ]
        head, _, rest = answer_template().partition(b"E2E0000000000000000000000000000000000"[:35])
        decisions = []
        for plan in plans:
            answer = head + plan.payment.request.end_to_end_id.encode() + rest
            _, received = gateway.decision_of(payee, plan.payment, answer)
            report = gateway.build_status_report(
                payee, replace(plan.payment, status=PaymentStatus.SETTLED)
            )
            decisions.append(store.Decision(plan.payment.id, "ACSC", None, [received], [report]))
        groups.append(
            ([(p.values, p.guard, [p.advice] if p.advice else []) for p in plans], decisions)
        )
    engine = container.engine

    def write(group: tuple[list[store.Stored], list[store.Decision]]) -> None:
        stored, decided = group
        assert len(store.insert_payments(engine, stored)) == len(stored)
        assert len(store.finish_payments(engine, decided, time.time_ns())) == len(decided)

    for group in groups[:10]:
        write(group)
    with cpu_of_this_and_postgres() as spent:
        for group in groups[10:]:
            write(group)
    return per_payment(spent, payments // GROUP * GROUP)


def ledger_in_bulk(container: Container, payments: int) -> dict[str, float]:
    """Each row's reservation and post in the bulk path's batches (one transaction each)."""
    service = container.ledger
    service.create_ledger(98, "PKR", "floor, bulk")
    payer, payee = uuid.uuid4(), uuid.uuid4()
    service.create_accounts([Account(payer, 98, 1), Account(payee, 98, 1)])

    def chunk() -> None:
        ids = [uuid.uuid4() for _ in range(PIPELINE_ROWS)]
        reserved = service.create_transfers(
            [
                Transfer(i, payer, payee, 100_00, ledger=98, code=1, flags=TransferFlags.PENDING)
                for i in ids
            ]
        )
        assert set(reserved) == {"ok"}, set(reserved)
        posted = service.create_transfers(posts(ids))
        assert set(posted) == {"ok"}, set(posted)

    chunk()
    chunks = max(1, payments // PIPELINE_ROWS)
    with cpu_of_this_and_postgres() as spent:
        for _ in range(chunks):
            chunk()
    return per_payment(spent, chunks * PIPELINE_ROWS)


def pain001_read(_: Container, payments: int) -> dict[str, float]:
    """A 3,000-row pain.001 envelope parsed, validated and read into the model, per row."""
    size = 3_000
    files = [
        pain001(bulk_rows(size, uuid.uuid4().hex[:8])) for _ in range(max(1, payments // size))
    ]
    iso.parse_envelope(files[0])
    with cpu_of_this_and_postgres() as spent:
        for body in files:
            iso.parse_envelope(body)
    return per_payment(spent, len(files) * size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--payments", type=int, default=9_600)
    parser.add_argument("--bulk-rows", type=int, default=60_000)
    arguments = parser.parse_args()
    payee_port = free_port()
    payee = subprocess.Popen(
        [sys.executable, str(PAYEE_SCRIPT), str(payee_port)], stdout=subprocess.PIPE
    )
    assert payee.stdout is not None
    payee.stdout.readline()  # "ready"
    try:
        network = measure_ceiling(payee, payee_port, arguments.clients, arguments.per_client)
        http = front(arguments.clients, arguments.per_client)
        with fresh_database(arguments.database_url) as url:
            container = hub_with_two_banks(url, f"http://127.0.0.1:{payee_port}/raast")
            tune_collector()
            try:
                parts: dict[str, Callable[[Container, int], dict[str, float]]] = {
                    "iso20022": iso20022,
                    "ledger": ledger,
                    "rows": rows,
                }
                measured = {
                    name: part(container, arguments.payments) for name, part in parts.items()
                }
                bulk = {
                    "pain001": pain001_read(container, arguments.bulk_rows),
                    "ledger": ledger_in_bulk(container, arguments.bulk_rows),
                }
            finally:
                container.close()
    finally:
        payee.terminate()
        payee.wait(timeout=10)
    costs = {
        "harness": network["payee_cpu_ms"] + network["load_generator_cpu_ms"],
        "network": network["hub_cpu_ms"],
        "front": http["front_cpu_ms"],
        **{name: sum(values.values()) for name, values in measured.items()},
    }
    total = sum(costs.values())
    bulk_costs = {name: sum(values.values()) for name, values in bulk.items()}
    bulk_total = sum(bulk_costs.values())
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "cpu_ms_per_payment": {name: round(ms, 3) for name, ms in costs.items()},
                "parts": {"network": network, "front": http, **measured},
                "sum_cpu_ms": round(total, 3),
                "payments_per_s_at_most": round(CORES * 1000 / total),
                "bulk": {
                    "cpu_ms_per_row": {name: round(ms, 4) for name, ms in bulk_costs.items()},
                    "parts": bulk,
                    "sum_cpu_ms": round(bulk_total, 4),
                    "rows_per_s_at_most": round(CORES * 1000 / bulk_total),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("TIJARAT_LOG_LEVEL", "WARNING")
    main()
