"""A wallet statement as CSV, PDF (fpdf2) and ISO 20022 camt.053.

All three render the same `WalletStatement`, built from the ledger's balance history, so
they always agree with each other and with the ledger.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fpdf import FPDF

from tijarat.kernel.clock import NS_PER_S as NS
from tijarat.kernel.identifiers import Iban
from tijarat.kernel.money import Money, format_money
from tijarat.switch import iso20022
from tijarat.wallet.model import PAKISTAN, Direction
from tijarat.wallet.service import WalletStatement


def _moment(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)


def _pk_time(ns: int) -> str:
    return f"{_moment(ns).astimezone(PAKISTAN):%Y-%m-%d %H:%M}"


def _signed(statement: WalletStatement, amount_minor: int, direction: Direction) -> Money:
    return Money(
        amount_minor if direction is Direction.CREDIT else -amount_minor, _currency(statement)
    )


def _currency(statement: WalletStatement) -> str:
    currency: str = statement.account.currency
    return currency


def to_csv(statement: WalletStatement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    currency = _currency(statement)
    writer.writerow(["date (PKT)", "description", "debit", "credit", "balance", "reference"])
    writer.writerow(
        ["", "opening balance", "", "", str(Money(statement.opening_minor, currency)), ""]
    )
    for line in statement.lines:
        amount = str(Money(line.amount_minor, currency))
        writer.writerow(
            [
                _pk_time(line.at),
                line.description,
                amount if line.direction is Direction.DEBIT else "",
                amount if line.direction is Direction.CREDIT else "",
                str(Money(line.balance_after_minor, currency)),
                line.transfer_id,
            ]
        )
    writer.writerow(
        ["", "closing balance", "", "", str(Money(statement.closing_minor, currency)), ""]
    )
    return out.getvalue()


def _latin(text: str) -> str:
    """fpdf2's core fonts are Latin-1: anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(statement: WalletStatement, institution_name: str) -> bytes:
    currency = _currency(statement)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(f"{institution_name} - account statement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    customer = statement.customer
    iban = statement.account.iban or str(statement.account.id)
    for text in (
        f"Customer: {customer.name}",
        f"Account: {iban} ({currency})",
        f"Period: {_pk_time(statement.from_ns)} to {_pk_time(statement.to_ns)} (Pakistan time)",
        f"Opening balance: {format_money(Money(statement.opening_minor, currency))}",
        f"Closing balance: {format_money(Money(statement.closing_minor, currency))}",
    ):
        pdf.cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (32, 78, 26, 26, 28)
    pdf.set_font("Helvetica", "B", 8)
    for width, title in zip(
        widths, ("Date (PKT)", "Description", "Debit", "Credit", "Balance"), strict=True
    ):
        pdf.cell(width, 6, title, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for line in statement.lines:
        amount = format_money(Money(line.amount_minor, currency))
        cells = (
            _pk_time(line.at),
            line.description[:60],
            amount if line.direction is Direction.DEBIT else "",
            amount if line.direction is Direction.CREDIT else "",
            format_money(Money(line.balance_after_minor, currency)),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 5, _latin(text), border=1)
        pdf.ln()
    if statement.truncated:
        pdf.cell(
            0, 6, "More entries exist: request a shorter period.", new_x="LMARGIN", new_y="NEXT"
        )
    return bytes(pdf.output())


def to_camt053(statement: WalletStatement, institution_code: str, now_ns: int) -> bytes:
    """camt.053.001.08: booked entries, credits positive and debits negative."""
    currency = _currency(statement)
    account = (
        iso20022.Account(iban=Iban.parse(statement.account.iban))
        if statement.account.iban
        else iso20022.Account(hub_account=str(statement.account.id.hex)[:34])
    )
    entries = tuple(
        iso20022.StatementEntry(
            amount=_signed(statement, line.amount_minor, line.direction),
            status=iso20022.EntryStatus.BOOK,
            booking_date=_moment(line.at),
            entry_reference=line.transfer_id.hex[:35],
            end_to_end_id=line.movement.end_to_end_id if line.movement else None,
            additional_information=line.description[:500] or None,
        )
        for line in statement.lines
    )
    period_end = _moment(min(statement.to_ns, now_ns))
    created = _moment(now_ns)
    document = iso20022.BankToCustomerStatement(
        message_id=f"STMT{statement.account.id.hex[:16]}{now_ns // NS}"[:35],
        created_at=created,
        statements=(
            iso20022.AccountStatement(
                statement_id=f"{statement.account.id.hex[:20]}-{statement.from_ns // NS}"[:35],
                account=account,
                balances=(
                    iso20022.Balance(
                        iso20022.BalanceType.OPBD,
                        Money(statement.opening_minor, currency),
                        _moment(statement.from_ns).date(),
                    ),
                    iso20022.Balance(
                        iso20022.BalanceType.CLBD,
                        Money(statement.closing_minor, currency),
                        period_end.date(),
                    ),
                ),
                entries=entries,
                created_at=created,
                period_start=_moment(statement.from_ns),
                period_end=max(period_end, _moment(statement.from_ns)),
                account_owner=iso20022.Party(name=statement.customer.name[:140]),
                account_servicer=iso20022.Agent(member_id=institution_code),
            ),
        ),
    )
    return iso20022.build_camt053(document)
