"""Files the wallet reads and writes: payout files (CSV, pain.001), FX rate tables, reports.

Pure functions over bytes and text: no I/O beyond what they are given, so every rule about a
file is tested without a database.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money, currency_info
from tijarat.switch import iso20022
from tijarat.wallet.errors import WalletError
from tijarat.wallet.model import (
    NAME_LENGTH_MAX,
    PAYOUT_FILE_BYTES_MAX,
    PAYOUT_ROWS_MAX,
    FxRate,
    Payout,
    PayoutRow,
    PayoutRowStatus,
)

PAYOUT_COLUMNS = ("name", "raast_id", "iban", "amount", "reference")
RATE_COLUMNS = ("date", "base", "quote", "rate")
RATE_ROWS_MAX = 100_000
REFERENCE_LENGTH_MAX = 35  # it travels as the end-to-end id's companion (Max35Text)


def _payout_error(message: str, **fields: object) -> DomainError:
    return DomainError(WalletError.PAYOUT_INVALID, message, status=422, fields=fields)


def parse_payout_file(content: bytes, currency: str = "PKR") -> list[PayoutRow]:
    """A payout file's rows: CSV (with a header row) or an ISO 20022 pain.001.

    The file as a whole must be readable (else nothing is paid); each row's own problems
    (a bad IBAN, an unknown alias) are found later, row by row, and reported per row.
    """
    if not content.strip():
        raise _payout_error("the payout file is empty")
    if len(content) > PAYOUT_FILE_BYTES_MAX:
        raise _payout_error(
            f"a payout file is at most {PAYOUT_FILE_BYTES_MAX} bytes", size=len(content)
        )
    if content.lstrip()[:1] == b"<":
        return _parse_pain001(content, currency)
    return _parse_payout_csv(content, currency)


def _parse_payout_csv(content: bytes, currency: str) -> list[PayoutRow]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _payout_error("a payout CSV must be UTF-8 text") from error
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in ("name", "amount") if c not in header]
    if missing or not ({"raast_id", "iban"} & set(header)):
        raise _payout_error(
            "the header must name the columns name, amount, and raast_id and/or iban"
            " (reference is optional)",
            header=header,
            expected=list(PAYOUT_COLUMNS),
        )
    reader.fieldnames = header
    rows: list[PayoutRow] = []
    for record in reader:
        line = reader.line_num  # the physical line: blank lines are skipped, not renumbered
        if len(rows) >= PAYOUT_ROWS_MAX:
            raise _payout_error(f"a payout file has at most {PAYOUT_ROWS_MAX} rows")
        values = {key: (value or "").strip() for key, value in record.items() if key}
        if not any(values.values()):
            continue  # blank line
        amount_text = values.get("amount", "")
        try:
            amount = Money.parse(amount_text, currency).amount_minor
        except DomainError:
            amount = -1  # reported on the row: the file itself is fine
        rows.append(
            PayoutRow(
                line=line,
                name=values.get("name", "")[:NAME_LENGTH_MAX],
                raast_id=values.get("raast_id") or None,
                iban=values.get("iban") or None,
                amount_minor=amount,
                reference=values.get("reference", "")[:REFERENCE_LENGTH_MAX],
            )
        )
    if not rows:
        raise _payout_error("the payout file has no rows")
    return rows


def _parse_pain001(content: bytes, currency: str) -> list[PayoutRow]:
    message = iso20022.parse_pain001(content)
    rows: list[PayoutRow] = []
    line = 0
    for instruction in message.payment_instructions:
        for transaction in instruction.transactions:
            line += 1
            if transaction.amount.currency != currency:
                amount = -1
            else:
                amount = transaction.amount.amount_minor
            account = transaction.creditor_account
            rows.append(
                PayoutRow(
                    line=line,
                    name=(transaction.creditor.name or "")[:NAME_LENGTH_MAX],
                    raast_id=account.proxy.e164 if account.proxy else None,
                    iban=account.iban.compact if account.iban else None,
                    amount_minor=amount,
                    reference=transaction.end_to_end_id[:REFERENCE_LENGTH_MAX],
                )
            )
    if len(rows) > PAYOUT_ROWS_MAX:
        raise _payout_error(f"a payout file has at most {PAYOUT_ROWS_MAX} rows")
    return rows


def payout_report_csv(payout: Payout) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "line",
            "name",
            "destination",
            "amount",
            "reference",
            "status",
            "reason",
            "detail",
            "end_to_end_id",
            "uetr",
        ]
    )
    for row in payout.rows:
        writer.writerow(
            [
                row.line,
                row.name,
                row.destination,
                str(Money(row.amount_minor, payout.currency)) if row.amount_minor > 0 else "",
                row.reference,
                row.status.value,
                row.reason or "",
                row.detail or "",
                row.end_to_end_id or "",
                str(row.uetr) if row.uetr else "",
            ]
        )
    return out.getvalue()


def payout_report_pain002(payout: Payout, created_at: datetime) -> bytes:
    """A pain.002 customer payment status report: the group status and one per row."""
    statuses = []
    for row in payout.rows:
        status = _ROW_STATUS[row.status]
        reasons: tuple[iso20022.Reason, ...] = ()
        if row.reason is not None:
            known = row.reason in iso20022.ReasonCode.__members__
            reasons = (
                iso20022.Reason(
                    code=iso20022.ReasonCode(row.reason if known else "NARR"),
                    additional_information=((row.detail or row.reason)[:105],),
                ),
            )
        statuses.append(
            iso20022.TransactionStatus(
                status=status,
                original_end_to_end_id=(row.end_to_end_id or f"LINE{row.line}")[:35],
                original_uetr=row.uetr,
                reasons=reasons,
            )
        )
    rejected = payout.count(PayoutRowStatus.REJECTED)
    if rejected == len(payout.rows):
        group = iso20022.PaymentStatus.RJCT
    elif rejected == 0 and payout.count(PayoutRowStatus.PENDING) == 0:
        group = iso20022.PaymentStatus.ACSC
    else:
        group = iso20022.PaymentStatus.PART
    group_reasons: tuple[iso20022.Reason, ...] = ()
    if group is iso20022.PaymentStatus.RJCT:
        group_reasons = (
            iso20022.Reason(
                code=iso20022.ReasonCode.NARR,
                additional_information=("every row was rejected",),
            ),
        )
    report = iso20022.CustomerPaymentStatusReport(
        message_id=payout.id.hex[:35],
        created_at=created_at,
        original_group=iso20022.OriginalGroupStatus(
            original_message_id=payout.file_sha256[:35],
            original_message_name="pain.001.001.09",
            status=group,
            reasons=group_reasons,
        ),
        # An instruction status holds at most TRANSACTIONS_PER_MESSAGE_MAX rows: a large
        # payout is reported in several, in file order.
        payment_instructions=tuple(
            iso20022.PaymentInstructionStatus(
                original_payment_information_id=payout.file_sha256[:35],
                transactions=tuple(statuses[start : start + iso20022.TRANSACTIONS_PER_MESSAGE_MAX]),
            )
            for start in range(0, len(statuses), iso20022.TRANSACTIONS_PER_MESSAGE_MAX)
        ),
    )
    return iso20022.build_pain002(report)


_ROW_STATUS = {
    PayoutRowStatus.SETTLED: iso20022.PaymentStatus.ACSC,
    PayoutRowStatus.PENDING: iso20022.PaymentStatus.PDNG,
    PayoutRowStatus.REJECTED: iso20022.PaymentStatus.RJCT,
}


# ------------------------------------------------------------------------ FX rates
def parse_rates(text: str, source: str) -> list[FxRate]:
    """An FX rate table: CSV with date (YYYY-MM-DD), base, quote, rate (decimal text)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if any(column not in header for column in RATE_COLUMNS):
        raise DomainError(
            WalletError.FX_RATES_INVALID,
            "the header must name the columns date, base, quote, rate",
            status=422,
            fields={"header": header},
        )
    reader.fieldnames = header
    rates: dict[tuple[date, str, str], FxRate] = {}
    for record in reader:
        line = reader.line_num  # the physical line, blank lines counted
        if line > RATE_ROWS_MAX:
            raise _rates_error(line, f"a rate table has at most {RATE_ROWS_MAX} rows")
        try:
            day = date.fromisoformat((record.get("date") or "").strip())
            base = (record.get("base") or "").strip().upper()
            quote = (record.get("quote") or "").strip().upper()
            currency_info(base)
            currency_info(quote)
            rate = Decimal((record.get("rate") or "").strip())
        except (ValueError, InvalidOperation, DomainError) as error:
            raise _rates_error(line, f"line {line} is not a valid rate: {error}") from error
        if not rate.is_finite() or rate <= 0 or base == quote:
            raise _rates_error(
                line, f"line {line}: a rate is a positive number between two currencies"
            )
        rates[(day, base, quote)] = FxRate(day, base, quote, rate, source)
    if not rates:
        raise _rates_error(1, "the rate table has no rows")
    return list(rates.values())


def _rates_error(line: int, message: str) -> DomainError:
    return DomainError(WalletError.FX_RATES_INVALID, message, status=422, fields={"line": line})


def new_end_to_end_id(movement_id: uuid.UUID) -> str:
    """The end-to-end id the wallet gives a payment: derived from its movement (<= 35)."""
    return "TJW" + movement_id.hex[:32]


def utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)


def distinct_references(rows: Sequence[PayoutRow]) -> bool:
    references = [row.reference for row in rows if row.reference]
    return len(references) == len(set(references))
