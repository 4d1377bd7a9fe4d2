"""End-to-end credit transfers through the hub's HTTP API, load generator on the same machine.

    python bench/switch_http.py --database-url postgresql://postgres@127.0.0.1/postgres

A fresh database; the server (`tijarat serve`, uvicorn, WORKERS processes) in a subprocess;
two participants: the payer posts JSON credit transfers (`POST /v1/switch/payments`, HTTP
Basic), and the payee bank is a small HTTP server in this process that the hub pushes each
credit advice to (signed pacs.008) and that answers ACSC (pacs.002). Every answered request
is an end-to-end payment: validated, reserved, delivered, accepted, posted, reported.

Prints payments/s with p50/p99 latency for CLIENTS concurrent clients, and the baseline in
the same run: one client, one payment at a time. Durable throughout (synchronous commits).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tijarat.cli.bench_ledger import fresh_database
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN
from tijarat.switch import iso20022 as iso

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}
PORT = 8765


def payee_server() -> tuple[ThreadingHTTPServer, str]:
    """The payee bank: accepts every credit advice with a pacs.002 ACSC."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            document = iso.parse_envelope(body).document
            reply = b""
            if isinstance(document, iso.CustomerCreditTransfer):
                tx = document.transactions[0]
                report = iso.PaymentStatusReport(
                    message_id="B" + uuid.uuid4().hex[:20],
                    created_at=datetime.now(UTC),
                    transactions=(
                        iso.TransactionStatus(
                            status=iso.PaymentStatus.ACSC,
                            original_end_to_end_id=tx.end_to_end_id,
                            original_uetr=tx.uetr,
                        ),
                    ),
                )
                reply = iso.build_envelope(
                    iso.Envelope(
                        iso.BusinessApplicationHeader(
                            from_agent=iso.Agent(member_id="HABBPKKA"),
                            to_agent=iso.Agent(member_id="RAASTHUB"),
                            business_message_id=report.message_id,
                            message_definition_id="pacs.002.001.10",
                            created_at=report.created_at,
                        ),
                        report,
                    )
                )
            self.send_response(200)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/raast"


def wait_until_up(base: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def set_up(base: str, payee_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base, headers=OPERATOR, timeout=30) as client:
        secrets = {}
        for code, bank in (("MEZNPKKA", "MEZN"), ("HABBPKKA", "HABB")):
            registered = client.post(
                "/v1/switch/participants",
                json={
                    "code": code,
                    "name": code,
                    "category": "direct_settlement",
                    "bank_code": bank,
                },
            )
            registered.raise_for_status()
            secrets[code] = registered.json()["secret"]
            client.post(
                f"/v1/switch/participants/{code}/funds",
                json={"request_id": str(uuid.uuid4()), "amount_minor": 10**15},
            ).raise_for_status()
    httpx.put(
        f"{base}/v1/switch/endpoint",
        json={"url": payee_url},
        auth=("HABBPKKA", secrets["HABBPKKA"]),
    ).raise_for_status()
    return "MEZNPKKA", secrets["MEZNPKKA"]


def payment(n: int, tag: str) -> dict[str, object]:
    return {
        "msg_id": f"{tag}{n}",
        "end_to_end_id": f"{tag}{n}",
        "tx_id": f"{tag}{n}",
        "uetr": str(uuid.uuid4()),
        "amount_minor": 100_00 + n % 997,
        "currency": "PKR",
        "debtor_name": "Skardu Crafts",
        "debtor_iban": make_pk_iban("MEZN", "1").compact,
        "creditor_iban": make_pk_iban("HABB", str(1 + n % 5000)).compact,
        "creditor_name": "Karachi Supplier",
    }


def load(base: str, auth: tuple[str, str], clients: int, per_client: int) -> dict[str, float]:
    latencies: list[float] = []
    settled = 0
    lock = threading.Lock()
    tag = uuid.uuid4().hex[:8]

    def client_loop(index: int) -> None:
        nonlocal settled
        mine: list[float] = []
        ok = 0
        with httpx.Client(base_url=base, auth=auth, timeout=60) as client:
            for n in range(per_client):
                began = time.perf_counter()
                response = client.post("/v1/switch/payments", json=payment(n, f"{tag}{index}-"))
                mine.append(time.perf_counter() - began)
                ok += response.status_code == 200 and response.json()["status"] == "ACSC"
        with lock:
            latencies.extend(mine)
            settled += ok

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "payments": len(latencies),
        "settled": settled,
        "payments_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=200)
    arguments = parser.parse_args()
    payee, payee_url = payee_server()
    with fresh_database(arguments.database_url) as url:
        workers = arguments.workers if url.startswith("postgresql") else 1
        environment = {**os.environ, "TIJARAT_DATABASE_URL": url, "TIJARAT_LOG_LEVEL": "WARNING"}
        subprocess.run(
            [sys.executable, "-m", "tijarat.cli", "db", "upgrade"],
            env=environment,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tijarat.asgi:create_from_environment",
                "--factory",
                "--port",
                str(PORT),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env=environment,
        )
        base = f"http://127.0.0.1:{PORT}"
        try:
            wait_until_up(base)
            auth = set_up(base, payee_url)
            load(base, auth, 4, 20)  # warm-up: connections, caches
            baseline = load(base, auth, 1, arguments.baseline)
            concurrent = load(base, auth, arguments.clients, arguments.per_client)
        finally:
            server.terminate()
            server.wait(timeout=30)
            payee.shutdown()
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "workers": workers,
                "clients": arguments.clients,
                "concurrent": concurrent,
                "baseline_one_client": baseline,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
