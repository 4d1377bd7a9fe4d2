"""`tijarat`: serve, demo, db, ledger and bench commands."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tijarat.bootstrap import build, create_database_engine, current_revision, migrate
from tijarat.cli import wallet as wallet_cli
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Tijarat: Pakistan's digital export supply chain.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
ledger_app = typer.Typer(no_args_is_help=True, help="The double-entry ledger.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print their figures.")
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(wallet_cli.app, name="wallet")
console = Console()
errors = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLite or PostgreSQL URL; default TIJARAT_DATABASE_URL or ./var/tijarat.db.",
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes (PostgreSQL only for > 1).")] = 1,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) after applying migrations."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings = _settings(database_url)
    engine = create_database_engine(settings.database_url)
    if workers > 1 and engine.dialect.name != "postgresql":
        errors.print("--workers > 1 needs PostgreSQL: SQLite has a single writer.")
        raise typer.Exit(2)
    migrate(engine)
    engine.dispose()
    os.environ["TIJARAT_DATABASE_URL"] = settings.database_url
    console.print(f"Tijarat on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "tijarat.asgi:create_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
    archive: Annotated[
        Path | None,
        typer.Option(help="Write every ISO 20022 message (Document + AppHdr) and QR here."),
    ] = None,
) -> None:
    """Play the Skardu story: the ledger chapter, then three institutions on the hub."""
    from tijarat.cli import demo_hub  # noqa: PLC0415
    from tijarat.cli.demo_ledger import play  # noqa: PLC0415

    clock = ManualClock(datetime.now(UTC))
    container = build(_settings(database_url), clock=clock)
    try:
        report = play(container, clock)
        hub = demo_hub.play(container, clock, archive)
        verified = container.ledger.verify()  # after both chapters
    finally:
        container.close()
    report.ledger_balanced = verified.ok
    report.problems = verified.problems
    hub_ok = all(ok for _, _, ok in hub.steps)
    if json_output:
        result = report.as_json()
        result["hub"] = {
            "steps": [{"title": t, "outcome": o, "ok": ok} for t, o, ok in hub.steps],
            "liquidity": hub.liquidity,
            "archived_files": hub.archived_files,
        }
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        table = Table(title="The Skardu story — ledger chapter", show_lines=False)
        table.add_column("", width=2)
        table.add_column("step")
        table.add_column("results")
        for step in report.steps:
            table.add_row("✓" if step.ok else "✗", step.title, ", ".join(step.results))
        console.print(table)
        balances = Table(title="Balances (credits - debits, posted)")
        balances.add_column("account")
        balances.add_column("balance", justify="right")
        for name, value in report.balances.items():
            balances.add_row(name, value)
        console.print(balances)
        steps = Table(title="The Skardu story — on the instant payment hub")
        steps.add_column("", width=2)
        steps.add_column("step")
        steps.add_column("outcome")
        for title, outcome, ok in hub.steps:
            steps.add_row("✓" if ok else "✗", title, outcome)
        console.print(steps)
        for name, value in hub.liquidity.items():
            console.print(f"  liquidity at the hub: {name}: {value}")
        if archive is not None:
            console.print(f"  {hub.archived_files} files written to {archive}")
        verdict = "[green]balanced[/]" if report.ledger_balanced else "[red]NOT balanced[/]"
        console.print(f"Ledger verify: {verdict}")
    if not report.ledger_balanced or not all(step.ok for step in report.steps) or not hub_ok:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations (serve and demo do this by themselves)."""
    engine = create_database_engine(_settings(database_url).database_url)
    migrate(engine, revision)
    console.print(f"database at revision {current_revision(engine)}")
    engine.dispose()


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print the database's migration revision."""
    engine = create_database_engine(_settings(database_url).database_url)
    console.print(current_revision(engine) or "empty (no migrations applied)")
    engine.dispose()


@ledger_app.command("verify")
def ledger_verify(database_url: DatabaseUrl = None, json_output: JsonOutput = False) -> None:
    """Check every ledger invariant; exits 1 and lists the problems when one fails."""
    container = build(_settings(database_url), run_migrations=False)
    try:
        report = container.ledger.verify()
    finally:
        container.close()
    if json_output:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "ledgers": report.ledgers,
                    "accounts": report.accounts,
                    "transfers": report.transfers,
                    "problems": report.problems,
                }
            )
        )
    elif report.ok:
        console.print(
            f"[green]ok[/]: {report.ledgers} ledgers, {report.accounts} accounts, "
            f"{report.transfers} transfers; every invariant holds"
        )
    else:
        errors.print(f"[red]{len(report.problems)} problem(s)[/]:")
        for problem in report.problems:
            errors.print(f"  - {problem}")
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("statement")
def ledger_statement(
    account_id: Annotated[str, typer.Argument(help="The account's UUID.")],
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(help="Entries at most.")] = 100,
) -> None:
    """Print an account's statement: opening balance, entries, closing balance."""
    try:
        account = uuid.UUID(account_id)
    except ValueError:
        errors.print(f"not a UUID: {account_id!r}")
        raise typer.Exit(2) from None
    container = build(_settings(database_url), run_migrations=False)
    try:
        statement = container.ledger.statement(account, 0, (1 << 63) - 1, limit)
    except DomainError as error:
        errors.print(f"{error.code}: {error.message}")
        raise typer.Exit(1) from None
    finally:
        container.close()
    table = Table(title=f"Statement of {account}")
    for column in ("time (UTC)", "side", "amount", "debits posted", "credits posted"):
        table.add_column(column)
    for entry in statement.entries:
        table.add_row(
            datetime.fromtimestamp(entry.transfer.timestamp / 1e9, UTC).isoformat(
                timespec="seconds"
            ),
            entry.direction,
            str(entry.transfer.amount),
            str(entry.balance_after.debits_posted),
            str(entry.balance_after.credits_posted),
        )
    console.print(table)


@bench_app.command("ledger")
def bench_ledger(
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
    batches: Annotated[int, typer.Option(help="Batches of 8,190 transfers.")] = 30,
    clients: Annotated[int, typer.Option(help="Concurrent single-transfer clients.")] = 20,
    singles: Annotated[int, typer.Option(help="Transfers per client.")] = 500,
    baseline: Annotated[int, typer.Option(help="Baseline transfers per client.")] = 100,
) -> None:
    """Measure batched and single-transfer throughput on a fresh database."""
    from tijarat.cli.bench_ledger import run  # noqa: PLC0415

    figures = run(
        database_url,
        batches=batches,
        clients=clients,
        singles_per_client=singles,
        baseline_per_client=baseline,
    )
    if json_output:
        print(json.dumps(figures))
        return
    table = Table(title="Ledger benchmark")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)


def main() -> None:
    try:
        app()
    except DomainError as error:
        errors.print(f"{error.code}: {error.message}")
        sys.exit(1)
