"""`tijarat`: serve, demo, db, ledger and bench commands."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tijarat.bootstrap import build, create_database_engine, current_revision, migrate
from tijarat.cli import supply as supply_cli
from tijarat.cli import trade as trade_cli
from tijarat.cli import wallet as wallet_cli
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money, format_money
from tijarat.logs import configure_logging
from tijarat.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Tijarat: Pakistan's digital export supply chain.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
ledger_app = typer.Typer(no_args_is_help=True, help="The double-entry ledger.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print their figures.")
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(wallet_cli.app, name="wallet")
app.add_typer(supply_cli.app, name="supply")
app.add_typer(trade_cli.app, name="trade")
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
    seed: Annotated[
        bool, typer.Option(help="Play the Skardu story into an empty database first.")
    ] = True,
) -> None:
    """Run the API and the dashboard (OpenAPI docs at /docs) after applying migrations.

    On first run the database is seeded with the Skardu story, so a newcomer signs in to a
    living business (the credentials are printed).
    """
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings = _settings(database_url)
    engine = create_database_engine(settings.database_url)
    if workers > 1 and engine.dialect.name != "postgresql":
        errors.print("--workers > 1 needs PostgreSQL: SQLite has a single writer.")
        raise typer.Exit(2)
    migrate(engine)
    engine.dispose()
    if seed:
        _seed(settings)
    os.environ["TIJARAT_DATABASE_URL"] = settings.database_url
    if settings.environment == "development":
        # The demo's Karachi banks answer credit advices at once in every worker process.
        os.environ.setdefault("TIJARAT_SIMULATED_PARTICIPANTS", '["MEZNPKKA", "HABBPKKA"]')
    console.print(f"Tijarat on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "tijarat.asgi:create_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _seed(settings: Settings) -> None:
    """The Skardu story into an empty database: a living business on first run."""
    from tijarat.cli import demo_story  # noqa: PLC0415

    # The story takes a few days of shipping: play it in the recent past, so every later
    # real-time transfer comes after it.
    clock = ManualClock(datetime.now(UTC) - timedelta(days=6))
    container = build(settings, clock=clock)
    try:
        if container.wallet.customers(1):
            return
        console.print("First run: seeding the Skardu story ...")
        report = demo_story.play(container, clock)
    finally:
        container.close()
    for user in report.users:
        console.print(
            f"  sign in as [bold]{user['username']}[/] / {user['password']} ({user['role']})"
        )


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    json_output: JsonOutput = False,
    archive: Annotated[
        Path | None,
        typer.Option(help="Write every ISO 20022 message, QR image and PDF of the story here."),
    ] = None,
) -> None:
    """Play the Skardu story end to end, then the hub's other paths and the ledger's rules."""
    from tijarat.cli import demo_hub, demo_story  # noqa: PLC0415
    from tijarat.cli.demo_ledger import play  # noqa: PLC0415

    clock = ManualClock(datetime.now(UTC))
    container = build(_settings(database_url), clock=clock)
    quiet = json_output
    try:
        with console.status("The Skardu story", spinner="dots") as status:

            def progress(text: str) -> None:
                if not quiet:
                    console.print(f"  {text}")
                status.update(text[:80])

            if not quiet:
                console.rule("The Skardu story")
            story = demo_story.play(container, clock, archive, progress)
            if not quiet:
                console.rule(
                    "The hub's other paths: QR, request to pay, rejection, timeout, return"
                )
            hub = demo_hub.play(container, clock, archive)
            for title, outcome, ok in hub.steps:
                progress(f"{'✓' if ok else '✗'} {title}: {outcome}")
            report = play(container, clock)
            verified = container.ledger.verify()  # after every chapter
    finally:
        container.close()
    report.ledger_balanced = verified.ok
    report.problems = verified.problems
    hub_ok = all(ok for _, _, ok in hub.steps)
    ok = verified.ok and story.ok and hub_ok and all(s.ok for s in report.steps)
    if json_output:
        result = {
            "order_status": story.order_status,
            "order_total": story.order_total,
            "escrow_released_minor": story.escrow_released_minor,
            "escrow_currency": story.escrow_currency,
            "converted_minor": story.converted_minor,
            "net_proceeds_minor": story.net_proceeds_minor,
            "suppliers_paid": story.suppliers_paid,
            "stock_on_hand": story.stock_on_hand,
            "wallet": story.wallet,
            "ledger_balanced": verified.ok,
            "problems": verified.problems,
            "business_id": story.business_id,
            "story": [{"title": t, "outcome": o, "ok": k} for t, o, k in story.steps],
            "hub": {
                "steps": [{"title": t, "outcome": o, "ok": k} for t, o, k in hub.steps],
                "liquidity": hub.liquidity,
            },
            "ledger_chapter": report.as_json(),
            "archived_files": story.archived_files + hub.archived_files,
        }
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _summary(story, hub, report, archive)
    if not ok:
        raise typer.Exit(1)


def _summary(story: Any, hub: Any, report: Any, archive: Path | None) -> None:
    console.rule("Summary")
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    paid = story.suppliers_paid
    table.add_row("order", f"{story.order_status}, {story.order_total}")
    table.add_row(
        "escrow released",
        f"{format_money(Money(story.escrow_released_minor, story.escrow_currency))}"
        f" -> {format_money(Money(story.converted_minor, 'PKR'))}, net"
        f" {format_money(Money(story.net_proceeds_minor, 'PKR'))} after EDS and taxes",
    )
    table.add_row(
        "suppliers paid",
        f"{paid['count']} over the hub, {format_money(Money(paid['amount_minor'], 'PKR'))}",
    )
    for location, levels in story.stock_on_hand.items():
        table.add_row(f"stock at {location}", ", ".join(f"{k} {v}" for k, v in levels.items()))
    table.add_row("wallet", ", ".join(f"{k} {v}" for k, v in story.wallet.items()))
    for name, value in hub.liquidity.items():
        table.add_row("hub liquidity", f"{name}: {value}")
    ledger_steps = sum(1 for s in report.steps if s.ok)
    table.add_row("ledger chapter", f"{ledger_steps}/{len(report.steps)} rules shown")
    verdict = "[green]balanced[/]" if report.ledger_balanced else "[red]NOT balanced[/]"
    table.add_row("ledger verify", verdict)
    if archive is not None:
        table.add_row("archive", f"{story.archived_files + hub.archived_files} files in {archive}")
    console.print(table)


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
    batch_clients: Annotated[
        int, typer.Option(help="Threads sending those batches at once.", min=1)
    ] = 2,
    clients: Annotated[int, typer.Option(help="Concurrent single-transfer clients.")] = 20,
    singles: Annotated[int, typer.Option(help="Transfers per client.")] = 500,
    baseline: Annotated[int, typer.Option(help="Baseline transfers per client.")] = 100,
) -> None:
    """Measure batched and single-transfer throughput on a fresh database."""
    from tijarat.cli.bench_ledger import run  # noqa: PLC0415

    figures = run(
        database_url,
        batches=batches,
        batch_clients=batch_clients,
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
    # Commands report what they did themselves; the log carries warnings and errors only
    # (serve logs at the configured level once its app starts).
    configure_logging(Settings(), level_name="WARNING")
    try:
        app()
    except DomainError as error:
        errors.print(f"{error.code}: {error.message}")
        sys.exit(1)
