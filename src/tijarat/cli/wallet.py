"""`tijarat wallet ...`: the payment institution's back office at the command line.

Each command opens the database (migrating it if needed), does one thing, and prints what
happened. Money is typed as decimal text ("1250.50") and handled as integer paisa.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tijarat.bootstrap import Container, build
from tijarat.kernel.clock import to_ns
from tijarat.kernel.money import Money, format_money
from tijarat.settings import Settings
from tijarat.switch import qr
from tijarat.wallet import files, statements
from tijarat.wallet.model import LimitKind, PayoutRowStatus
from tijarat.wallet.service import PaymentOutcome

app = typer.Typer(no_args_is_help=True, help="The wallet: customers, payments, payouts.")
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLite or PostgreSQL URL (default: ./var/tijarat.db)."),
]
CustomerArg = Annotated[str, typer.Argument(help="Customer id (UUID) or mobile number.")]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key: the same key never moves money twice."),
]


def _container(database_url: str | None) -> Container:
    settings = Settings(database_url=database_url) if database_url else Settings()
    return build(settings)


def _customer_id(container: Container, text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        return container.wallet.customer_by_mobile(text).id


def _paisa(text: str, currency: str = "PKR") -> int:
    return Money.parse(text, currency).amount_minor


def _print_outcome(outcome: PaymentOutcome) -> None:
    colour = {"completed": "green", "pending": "yellow"}.get(outcome.status.value, "red")
    console.print(
        f"[{colour}]{outcome.status.value}[/] {outcome.reason or ''}"
        f"{'  (a retry: nothing new moved)' if outcome.replayed else ''}"
    )
    for movement in outcome.movements:
        console.print(
            f"  {movement.direction.value:6} {movement.kind.value:10} "
            f"{format_money(Money(movement.amount_minor, movement.currency)):>16}  "
            f"{movement.counterparty or ''}"
        )


@app.command("onboard")
def onboard(
    name: Annotated[str, typer.Option(help="Full name or business name.")],
    mobile: Annotated[str, typer.Option(help="Pakistani mobile number (the Raast ID).")],
    cnic: Annotated[str | None, typer.Option(help="CNIC of an individual.")] = None,
    ntn: Annotated[str | None, typer.Option(help="NTN of a business.")] = None,
    address: Annotated[str | None, typer.Option(help="Business address.")] = None,
    owner: Annotated[list[str] | None, typer.Option(help="Business owner (repeat).")] = None,
    owner_cnic: Annotated[str | None, typer.Option(help="Principal owner's CNIC.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Onboard an individual (--cnic) or a business (--ntn --address --owner)."""
    container = _container(database_url)
    try:
        wallet = container.wallet
        if ntn:
            customer = wallet.onboard_business(
                name=name,
                ntn=ntn,
                mobile=mobile,
                address=address or "",
                owners=owner or [],
                owner_cnic=owner_cnic,
            )
        else:
            if not cnic:
                raise typer.BadParameter("an individual needs --cnic (a business --ntn)")
            customer = wallet.onboard_individual(name=name, cnic=cnic, mobile=mobile)
        account = wallet.account(customer.id, "PKR")
    finally:
        container.close()
    console.print(f"[green]onboarded[/] {customer.name} ({customer.kind.value}, {customer.tier})")
    console.print(f"  id     {customer.id}\n  IBAN   {account.iban}\n  Raast  {customer.mobile}")


@app.command("deposit")
def deposit(
    customer: CustomerArg,
    amount: Annotated[str, typer.Argument(help="Rupees, e.g. 25000 or 1250.50.")],
    key: KeyOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cash in at an agent."""
    container = _container(database_url)
    try:
        outcome = container.wallet.deposit(
            _customer_id(container, customer), _paisa(amount), key or uuid.uuid4().hex
        )
    finally:
        container.close()
    _print_outcome(outcome)


@app.command("pay")
def pay(
    customer: CustomerArg,
    to: Annotated[str, typer.Argument(help="Raast ID (mobile) or IBAN.")],
    amount: Annotated[str, typer.Argument(help="Rupees.")],
    payee_name: Annotated[str | None, typer.Option(help="Account title (IBAN payments).")] = None,
    note: Annotated[str | None, typer.Option(help="Remittance information.")] = None,
    key: KeyOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a Raast ID or an IBAN (inside the institution, or through the hub)."""
    container = _container(database_url)
    try:
        outcome = container.wallet.pay(
            _customer_id(container, customer),
            to=to,
            amount_minor=_paisa(amount),
            request_key=key or uuid.uuid4().hex,
            payee_name=payee_name,
            note=note,
        )
    finally:
        container.close()
    _print_outcome(outcome)


@app.command("payout")
def payout(
    customer: CustomerArg,
    file: Annotated[
        Path, typer.Argument(help="CSV (name,raast_id,iban,amount,reference) or pain.001.")
    ],
    report: Annotated[
        Path | None, typer.Option(help="Write the per-row report (CSV) here.")
    ] = None,
    pain002: Annotated[Path | None, typer.Option(help="Write the pain.002 report here.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay every row of a bulk file, with a progress bar; the same file never pays twice."""
    content = file.read_bytes()
    container = _container(database_url)
    try:
        with Progress(
            TextColumn("[bold]paying[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("payout", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = container.wallet.payout(
                _customer_id(container, customer),
                content,
                file_name=file.name,
                on_progress=advance,
            )
        created = files.utc(container.clock.now_ns())
    finally:
        container.close()
    table = Table(title=f"Payout {result.id}")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for status in PayoutRowStatus:
        table.add_row(status.value, str(result.count(status)))
    console.print(table)
    console.print(f"settled {format_money(Money(result.settled_minor, 'PKR'))}")
    for row in [r for r in result.rows if r.status is PayoutRowStatus.REJECTED][:20]:
        console.print(f"  line {row.line}: {row.name}: {row.reason} {row.detail or ''}")
    if report is not None:
        report.write_text(files.payout_report_csv(result), encoding="utf-8")
    if pain002 is not None:
        pain002.write_bytes(files.payout_report_pain002(result, created))


@app.command("statement")
def statement(
    customer: CustomerArg,
    days: Annotated[int, typer.Option(help="The last N days.")] = 30,
    currency: Annotated[str, typer.Option(help="PKR or USD.")] = "PKR",
    output: Annotated[
        Path | None, typer.Option(help="Write .csv, .pdf or .xml (camt.053).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a statement, or write it as CSV, PDF or camt.053 (by the file's extension)."""
    container = _container(database_url)
    try:
        now = container.clock.now_ns()
        since = to_ns(datetime.now(UTC) - timedelta(days=days))
        found = container.wallet.statement(
            _customer_id(container, customer), currency.upper(), min(since, now), now + 1
        )
        name = container.wallet.institution.name
        code = container.wallet.institution.code
    finally:
        container.close()
    if output is not None:
        suffix = output.suffix.lower()
        if suffix == ".pdf":
            output.write_bytes(statements.to_pdf(found, name))
        elif suffix == ".xml":
            output.write_bytes(statements.to_camt053(found, code, now))
        else:
            output.write_text(statements.to_csv(found), encoding="utf-8")
        console.print(f"written {output}")
        return
    table = Table(title=f"{found.customer.name} — {found.account.currency}")
    for column in ("description", "amount", "balance"):
        table.add_column(column)
    cur = found.account.currency
    table.add_row("opening balance", "", format_money(Money(found.opening_minor, cur)))
    for line in found.lines:
        sign = "" if line.direction.value == "credit" else "-"
        table.add_row(
            line.description,
            sign + format_money(Money(line.amount_minor, cur)),
            format_money(Money(line.balance_after_minor, cur)),
        )
    table.add_row("closing balance", "", format_money(Money(found.closing_minor, cur)))
    console.print(table)


@app.command("rates")
def import_rates(
    file: Annotated[Path, typer.Argument(help="CSV: date,base,quote,rate")],
    source: Annotated[str, typer.Option(help="Where the rates come from.")] = "import",
    database_url: DatabaseUrl = None,
) -> None:
    """Import a dated FX rate table (e.g. a bank's or SBP's published rates)."""
    container = _container(database_url)
    try:
        count = container.wallet.import_rates(file.read_text(encoding="utf-8"), source)
    finally:
        container.close()
    console.print(f"imported {count} rates from {source}")


@app.command("customers")
def customers(
    database_url: DatabaseUrl = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List customers with their PKR balance."""
    container = _container(database_url)
    try:
        rows = [(c, container.wallet.balance(c.id, "PKR")) for c in container.wallet.customers(200)]
    finally:
        container.close()
    if json_output:
        print(
            json.dumps(
                [
                    {
                        "id": str(c.id),
                        "name": c.name,
                        "mobile": c.mobile,
                        "pkr_minor": b.amount_minor,
                    }
                    for c, b in rows
                ]
            )
        )
        return
    table = Table(title="Customers")
    for column in ("id", "name", "kind", "tier", "mobile", "PKR"):
        table.add_column(column)
    for c, balance in rows:
        table.add_row(str(c.id), c.name, c.kind.value, c.tier, c.mobile, format_money(balance))
    console.print(table)


@app.command("pay-qr")
def pay_qr(
    customer: CustomerArg,
    payload: Annotated[str, typer.Argument(help="The QR code's text (EMVCo payload).")],
    amount: Annotated[str | None, typer.Argument(help="Rupees, for a static code.")] = None,
    key: KeyOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a merchant's QR code (a dynamic code carries its amount)."""
    container = _container(database_url)
    try:
        outcome = container.wallet.pay_qr(
            _customer_id(container, customer),
            payload,
            request_key=key or uuid.uuid4().hex,
            amount_minor=_paisa(amount) if amount else None,
        )
    finally:
        container.close()
    _print_outcome(outcome)


@app.command("qr")
def merchant_qr(
    customer: CustomerArg,
    output: Annotated[Path, typer.Option(help="Write the QR image here (.png or .svg).")],
    amount: Annotated[str | None, typer.Option(help="Rupees: a dynamic code.")] = None,
    bill: Annotated[str | None, typer.Option(help="Bill number on a dynamic code.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The business's own payment QR code, to print or show."""
    container = _container(database_url)
    try:
        payload = container.wallet.merchant_qr(
            _customer_id(container, customer),
            amount_minor=_paisa(amount) if amount else None,
            bill_number=bill,
        )
    finally:
        container.close()
    if output.suffix.lower() == ".svg":
        output.write_text(qr.render_svg(payload), encoding="utf-8")
    else:
        output.write_bytes(qr.render_png(payload))
    console.print(f"written {output}")
    print(payload)  # on its own line, for copying (or for a script)


@app.command("request")
def request_payment(
    customer: CustomerArg,
    debtor: Annotated[str, typer.Argument(help="The payer's Raast ID (mobile number).")],
    amount: Annotated[str, typer.Argument(help="Rupees.")],
    reference: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    days: Annotated[int, typer.Option(help="Days the payer has to pay.")] = 7,
    database_url: DatabaseUrl = None,
) -> None:
    """Send a request to pay (pain.013) to someone's Raast ID."""
    container = _container(database_url)
    try:
        sent = container.wallet.request_payment(
            _customer_id(container, customer),
            debtor=debtor,
            amount_minor=_paisa(amount),
            reference=reference,
            expires_in_s=days * 86_400,
        )
    finally:
        container.close()
    console.print(f"[green]sent[/] request {sent.id} to {sent.debtor_alias}: {sent.status.value}")


@app.command("limits")
def limits(customer: CustomerArg, database_url: DatabaseUrl = None) -> None:
    """Every limit: the tier's, the operator's, the customer's own, used and remaining."""
    container = _container(database_url)
    try:
        views = container.wallet.limits(_customer_id(container, customer))
    finally:
        container.close()
    table = Table(title="Limits (PKR)")
    for column in ("limit", "tier", "assigned", "own", "effective", "used", "remaining"):
        table.add_column(column, justify="right" if column != "limit" else "left")

    def show(value: int | None) -> str:
        return "-" if value is None else format_money(Money(value, "PKR"))

    for view in views:
        table.add_row(
            view.kind.value,
            show(view.tier_minor),
            show(view.assigned_minor),
            show(view.own_minor),
            show(view.effective_minor),
            show(view.used_minor),
            show(view.remaining_minor),
        )
    console.print(table)


@app.command("set-limit")
def set_limit(
    customer: CustomerArg,
    kind: Annotated[LimitKind, typer.Argument(help="e.g. debit_day, credit_month, balance.")],
    amount: Annotated[str | None, typer.Argument(help="Rupees; omit to remove.")] = None,
    operator: Annotated[bool, typer.Option(help="An operator-assigned limit.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Lower (or raise within the tier) the customer's own limit; --operator assigns one."""
    container = _container(database_url)
    try:
        container.wallet.set_limit(
            _customer_id(container, customer),
            kind,
            _paisa(amount) if amount else None,
            by_operator=operator,
        )
    finally:
        container.close()
    console.print(f"[green]set[/] {kind.value}: {amount or 'removed'}")


@app.command("upgrade")
def upgrade(
    customer: CustomerArg,
    tier: Annotated[str, typer.Option(help="The tier to move to, e.g. level1.")],
    cnic: Annotated[str, typer.Option(help="The CNIC presented.")],
    score: Annotated[int, typer.Option(help="The fingerprint match score (0-100).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Upgrade a customer's KYC tier after biometric verification (simulated in development)."""
    container = _container(database_url)
    try:
        done = container.wallet.upgrade_tier(
            _customer_id(container, customer),
            tier,
            {"cnic": cnic, "fingerprint_match_score": str(score)},
        )
    finally:
        container.close()
    console.print(f"[green]verified[/]: {done.name} is now {done.tier}")
