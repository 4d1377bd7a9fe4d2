"""End-to-end credit transfers through the hub's HTTP API, load generator on the same machine.

    python bench/switch_http.py --database-url postgresql://postgres@127.0.0.1/postgres

A fresh database; the server (uvicorn, WORKERS processes, `tijarat.asgi`; one by default:
one process keeps its ledger batches warm and its payment groups big, and measured faster
than two on this 2-core machine) in a subprocess;
two participants: the payer posts JSON credit transfers (`POST /v1/switch/payments`, HTTP
Basic), and the payee bank has an HTTP endpoint the hub pushes each credit advice to (signed
pacs.008), answered ACSC (pacs.002). Every answered request is an end-to-end payment:
authenticated, validated, routed, stored, reserved, delivered, accepted, posted, recorded,
with the final pacs.002 pushed to the payee, and all three messages archived.

The payee bank (bench/switch_payee.py) runs in its own process and answers without parsing
(its work is not the hub's); the load generator is asyncio over raw HTTP/1.1 keep-alive
connections, one per client, so that neither eats the cores the hub is measured on. Both
still share the machine: the CPU seconds each part used are printed with the figures.

Prints payments/s with p50/p99 latency for CLIENTS concurrent clients, and the baseline in
the same run: one client, one payment at a time. Durable throughout (synchronous commits).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import uvloop

from tijarat.cli.bench_ledger import fresh_database
from tijarat.kernel.identifiers import make_pk_iban
from tijarat.settings import DEVELOPMENT_OPERATOR_TOKEN

OPERATOR = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}
PAYEE_SCRIPT = Path(__file__).with_name("switch_payee.py")
CEILING_SCRIPT = Path(__file__).with_name("switch_ceiling.py")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
RESPONSE_BYTES_MAX = 1 << 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat; [0] here is field 3 (state).
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS_PER_S


def tree_cpu_seconds(root: int) -> float:
    """CPU of a process and all its live descendants (uvicorn's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu_seconds(pid)
        stack.extend(children.get(pid, ()))
    return total


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on the machine (the server is shared by the bench)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    total += cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def wait_until_up(base: str, path: str = "/readyz") -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == httpx.codes.OK:
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


CREDITORS = 5_000  # distinct creditor IBANs the payments go to


def payments(count: int, tag: str) -> list[bytes]:
    """`count` request bodies, made before the clock starts: the load generator shares the
    hub's two cores, so it does no work per request beyond sending it and reading the
    answer (making the IBANs with schwifty, per request, was most of its CPU)."""
    debtor = make_pk_iban("MEZN", "1").compact
    creditors = [make_pk_iban("HABB", str(1 + n)).compact for n in range(min(count, CREDITORS))]
    return [
        json.dumps(
            {
                "msg_id": f"{tag}{n}",
                "end_to_end_id": f"{tag}{n}",
                "tx_id": f"{tag}{n}",
                "uetr": str(uuid.uuid4()),
                "amount_minor": 100_00 + n % 997,
                "currency": "PKR",
                "debtor_name": "Skardu Crafts",
                "debtor_iban": debtor,
                "creditor_iban": creditors[n % len(creditors)],
                "creditor_name": "Karachi Supplier",
            }
        ).encode()
        for n in range(count)
    ]


async def client_loop(
    port: int, auth: tuple[str, str], bodies: list[bytes]
) -> tuple[list[float], int]:
    """One client on one keep-alive connection: its payments, one after the other."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    head = (
        "POST /v1/switch/payments HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"authorization: Basic {token}\r\ncontent-type: application/json\r\ncontent-length: "
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=RESPONSE_BYTES_MAX)
    latencies: list[float] = []
    settled = 0
    try:
        for body in bodies:
            began = time.perf_counter()
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            settled += headers.startswith(b"HTTP/1.1 200") and b'"status":"ACSC"' in answer
    finally:
        writer.close()
    return latencies, settled


def bodies_for(clients: int, per_client: int) -> list[list[bytes]]:
    """Each client's request bodies, made before a run (and outside its CPU figures)."""
    tag = uuid.uuid4().hex[:8]
    return [payments(per_client, f"{tag}{i}-") for i in range(clients)]


def load(port: int, auth: tuple[str, str], bodies: list[list[bytes]]) -> dict[str, float]:
    """One client per list of bodies, all at once: the run's figures."""

    async def run() -> list[tuple[list[float], int]]:
        return await asyncio.gather(*(client_loop(port, auth, mine) for mine in bodies))

    began = time.perf_counter()
    results = uvloop.run(run())  # less of the machine's CPU for the harness than asyncio's
    elapsed = time.perf_counter() - began
    latencies = sorted(latency for mine, _ in results for latency in mine)
    return {
        "payments": len(latencies),
        "settled": sum(settled for _, settled in results),
        "payments_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
        "seconds": round(elapsed, 2),
    }


def measured(
    server: subprocess.Popen[bytes],
    payee: subprocess.Popen[bytes],
    run: dict[str, float],
    before: tuple[float, float, float, float],
) -> dict[str, float]:
    """The run's figures with the CPU milliseconds per payment each part used."""
    after = cpu_sample(server, payee)
    names = ("hub_cpu_ms", "postgres_cpu_ms", "payee_cpu_ms", "load_generator_cpu_ms")
    spent = {
        name: round((end - start) * 1000 / run["payments"], 3)
        for name, start, end in zip(names, before, after, strict=True)
    }
    return {**run, **spent}


def cpu_sample(
    server: subprocess.Popen[bytes], payee: subprocess.Popen[bytes]
) -> tuple[float, float, float, float]:
    return (
        tree_cpu_seconds(server.pid),
        postgres_cpu_seconds(),
        cpu_seconds(payee.pid),
        time.process_time(),
    )


def measure_ceiling(
    payee: subprocess.Popen[bytes],
    payee_port: int,
    clients: int,
    per_client: int,
    *,
    payer_only: bool = False,
) -> dict[str, float]:
    """The same load against a hub that only does the network part (switch_ceiling.py);
    `payer_only`: only the payer's exchange, the payee never asked."""
    port = free_port()
    ceiling = subprocess.Popen(
        [
            sys.executable,
            str(CEILING_SCRIPT),
            str(port),
            str(payee_port),
            *(["--payer-only"] if payer_only else []),
        ],
        stdout=subprocess.PIPE,
    )
    assert ceiling.stdout is not None
    try:
        ceiling.stdout.readline()  # "ready"
        auth = ("ANY", "ANY")  # it checks nothing
        load(port, auth, bodies_for(4, 50))
        bodies = bodies_for(clients, per_client)
        before = cpu_sample(ceiling, payee)
        return measured(ceiling, payee, load(port, auth, bodies), before)
    finally:
        ceiling.terminate()
        ceiling.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=200)
    arguments = parser.parse_args()
    payee_port, port = free_port(), free_port()
    payee = subprocess.Popen(
        [sys.executable, str(PAYEE_SCRIPT), str(payee_port)], stdout=subprocess.PIPE
    )
    assert payee.stdout is not None
    payee.stdout.readline()  # "ready"
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
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=environment,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base)
            auth = set_up(base, f"http://127.0.0.1:{payee_port}/raast")
            load(port, auth, bodies_for(4, 50))  # warm-up: connections, caches, every worker
            bodies = bodies_for(1, arguments.baseline)
            before = cpu_sample(server, payee)
            baseline = measured(server, payee, load(port, auth, bodies), before)
            bodies = bodies_for(arguments.clients, arguments.per_client)
            before = cpu_sample(server, payee)
            concurrent = measured(server, payee, load(port, auth, bodies), before)
        finally:
            server.terminate()
            server.wait(timeout=30)
        ceiling = measure_ceiling(payee, payee_port, arguments.clients, arguments.per_client)
        payee.terminate()
        payee.wait(timeout=10)
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "workers": workers,
                "clients": arguments.clients,
                "concurrent": concurrent,
                "ceiling_network_only": ceiling,
                "baseline_one_client": baseline,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
