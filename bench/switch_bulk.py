"""Bulk credit transfers through the hub: `python bench/switch_bulk.py [--database-url URL]`.

Three participants on a fresh database; one payer sends files of ROWS payments by IBAN to the
other two, whose in-process handlers accept every credit advice. Prints payments per second
for the whole file (validation, routing, reservation, delivery, settlement), the CPU this
process and PostgreSQL spent on them, and the same rows sent one `submit` at a time as the
baseline, in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa

from ledger_cpu import postgres_cpu_s  # bench/ is the script's directory, so on sys.path
from switch_http import PAYEE_SCRIPT, free_port
from tijarat.bootstrap import build, tune_collector
from tijarat.cli.bench_ledger import fresh_database
from tijarat.kernel.identifiers import Iban, make_pk_iban
from tijarat.kernel.money import Money
from tijarat.settings import Settings
from tijarat.switch import iso20022 as iso
from tijarat.switch import store
from tijarat.switch.model import CreditTransfer, ParticipantCategory, PayeeDecision, PaymentStatus

ROWS = 20_000
FILES = 3
BASELINE_ROWS = 1_000


def rows(count: int, tag: str) -> list[CreditTransfer]:
    debtor = make_pk_iban("MEZN", "1").compact
    return [
        CreditTransfer(
            msg_id=f"{tag}-{count}",
            end_to_end_id=f"{tag}-{n}",
            tx_id=f"{tag}-{n}",
            uetr=uuid.uuid4(),
            amount_minor=100_00 + n % 1000,
            currency="PKR",
            debtor_name="Skardu Crafts",
            debtor_iban=debtor,
            creditor_iban=make_pk_iban("HABB" if n % 2 else "SADA", str(n)).compact,
        )
        for n in range(count)
    ]


def pain001(file: list[CreditTransfer]) -> bytes:
    """The rows as one pain.001 envelope from the payer (one instruction, IBAN creditors)."""
    first = file[0]
    initiation = iso.CustomerCreditTransferInitiation(
        message_id=first.msg_id,
        created_at=datetime.now(UTC),
        initiating_party=iso.Party(name=first.debtor_name),
        payment_instructions=(
            iso.PaymentInstruction(
                payment_information_id="PAYROLL",
                requested_execution=date(2026, 11, 25),
                debtor=iso.Party(name=first.debtor_name),
                debtor_account=iso.Account(iban=Iban.parse(first.debtor_iban)),
                debtor_agent=iso.Agent(member_id="MEZNPKKA"),
                transactions=tuple(
                    iso.InitiationTransaction(
                        end_to_end_id=row.end_to_end_id,
                        uetr=row.uetr,
                        amount=Money(row.amount_minor, row.currency),
                        creditor=iso.Party(name="Supplier"),
                        creditor_account=iso.Account(iban=Iban.parse(row.creditor_iban or "")),
                    )
                    for row in file
                ),
            ),
        ),
    )
    return iso.build_envelope(iso.Envelope.of(initiation, sender="MEZNPKKA", receiver="RAASTHUB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=ROWS, help="payments per file")
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument(
        "--pain001",
        action="store_true",
        help="send each file as a pain.001 envelope through the gateway (what the ISO 20022 "
        "API runs: parse, validate, bulk, pain.002 answer); at most ~4,400 rows fit its 1 MiB",
    )
    parser.add_argument(
        "--http-payees",
        action="store_true",
        help="the payees answer over HTTP (bench/switch_payee.py in its own process)",
    )
    parser.add_argument(
        "--collector",
        choices=("served", "default"),
        default="served",
        help="the garbage collector as `tijarat serve` tunes it (default), or Python's own",
    )
    arguments = parser.parse_args()
    payee = None
    if arguments.http_payees:
        port = free_port()
        payee = subprocess.Popen(
            [sys.executable, str(PAYEE_SCRIPT), str(port)], stdout=subprocess.PIPE
        )
        assert payee.stdout is not None
        payee.stdout.readline()  # "ready"
    try:
        run(
            arguments.database_url,
            (arguments.rows, arguments.files),
            payee_port=port if payee else None,
            collector=arguments.collector,
            iso_files=arguments.pain001,
        )
    finally:
        if payee is not None:
            payee.terminate()
            payee.wait()


def run(
    url: str | None,
    size: tuple[int, int],
    *,
    payee_port: int | None,
    collector: str,
    iso_files: bool,
) -> None:
    count, files_count = size
    with fresh_database(url) as fresh:
        container = build(Settings(database_url=fresh))
        try:
            switch = container.switch
            for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB"), ("SADAPAY", "SADA")):
                switch.register_participant(
                    code, code, ParticipantCategory.DIRECT_SETTLEMENT, bank_code=bank
                )
            switch.fund("MEZNPKKA", Money(10**15, "PKR"), uuid.uuid4())
            for code in ("HABBPKKA", "SADAPAY"):
                if payee_port is None:
                    container.payments.connect(code, lambda _payment: PayeeDecision(accept=True))
                else:
                    switch.set_endpoint(code, f"http://127.0.0.1:{payee_port}/raast")
            files = [rows(count, f"F{n}") for n in range(files_count)]
            envelopes = [pain001(file) for file in files] if iso_files else []
            payer = switch.participant("MEZNPKKA")
            if collector == "served":
                tune_collector()  # as `tijarat serve` does: the bulk API runs in that process
            began, own, server = time.perf_counter(), time.process_time(), postgres_cpu_s()
            settled = 0
            for envelope in envelopes:
                container.gateway.receive(payer, envelope)  # answers a pain.002
            for file in [] if iso_files else files:
                settled += container.bulk.submit("MEZNPKKA", file).settled
            bulk_seconds = time.perf_counter() - began
            own, server = time.process_time() - own, postgres_cpu_s() - server
            if iso_files:
                with container.engine.connect() as connection:
                    settled = connection.execute(
                        sa.select(sa.func.count()).where(
                            store.payments_table.c.status == PaymentStatus.SETTLED.value
                        )
                    ).scalar_one()
            single = rows(BASELINE_ROWS, "S")
            began = time.perf_counter()
            for request in single:
                container.payments.submit("MEZNPKKA", request)
            single_seconds = time.perf_counter() - began
            report = container.ledger.verify()
            print(
                json.dumps(
                    {
                        "database": container.engine.dialect.name,
                        "payees": "http" if payee_port else "in process",
                        "collector": collector,
                        "files": "pain.001 through the gateway" if iso_files else "bulk.submit",
                        "bulk_rows": count * files_count,
                        "bulk_settled": settled,
                        "bulk_payments_per_s": round(count * files_count / bulk_seconds),
                        # CPU per 1,000 bulk payments: this process, and PostgreSQL's
                        "bulk_python_cpu_ms_per_1000": round(own * 1e6 / (count * files_count)),
                        "bulk_postgres_cpu_ms_per_1000": round(
                            server * 1e6 / (count * files_count)
                        ),
                        "baseline_submit_one_by_one_per_s": round(BASELINE_ROWS / single_seconds),
                        "ledger_balanced": report.ok,
                    }
                )
            )
        finally:
            container.close()


if __name__ == "__main__":
    main()
