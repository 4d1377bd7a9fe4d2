"""camt.053 bank-to-customer statement: balances and entries of one or more accounts.

Amounts are signed in the model (a debit is negative) and written as a magnitude plus
CdtDbtInd; a zero amount is written as a credit. Each entry carries at most one transaction's
details: the hub books payments one by one, and a batched entry (several TxDtls) is refused
rather than half read.
"""

from __future__ import annotations

from tijarat.kernel.money import Money
from tijarat.switch.iso20022._common import (
    Codec,
    located,
    read_account,
    read_amount,
    read_date_or_datetime,
    read_datetime,
    read_enum,
    read_group_header,
    read_optional_account,
    read_optional_agent,
    read_optional_party,
    read_optional_uetr,
    read_party,
    read_remittance,
    write_account,
    write_agent,
    write_amount,
    write_date_or_datetime,
    write_group_header,
    write_party,
    write_remittance,
)
from tijarat.switch.iso20022._xml import (
    XmlElement,
    add,
    child,
    children,
    required,
    required_text,
    text_at,
)
from tijarat.switch.iso20022.model import (
    AccountStatement,
    Balance,
    BalanceType,
    BankToCustomerStatement,
    BankTransactionCode,
    EntryStatus,
    Party,
    StatementEntry,
)
from tijarat.switch.iso20022.values import datetime_to_text, invalid_field, number_from_text

_CREDIT = "CRDT"
_DEBIT = "DBIT"


def _write_signed_amount(parent: XmlElement, amount: Money) -> None:
    write_amount(parent, "Amt", abs(amount))
    add(parent, "CdtDbtInd", _DEBIT if amount.is_negative() else _CREDIT)


def _read_signed_amount(parent: XmlElement) -> Money:
    amount = read_amount(required(parent, "Amt"), "amount")
    return -amount if required_text(parent, "CdtDbtInd") == _DEBIT else amount


def _write_related_party(parent: XmlElement, local: str, party: Party) -> None:
    write_party(add(parent, local), "Pty", party)


def _read_related_party(parent: XmlElement, local: str) -> Party | None:
    element = child(parent, local)
    return None if element is None else read_optional_party(element, "Pty")


# ---------------------------------------------------------------------------- writing


def _write_balance(statement: XmlElement, balance: Balance) -> None:
    element = add(statement, "Bal")
    add(add(add(element, "Tp"), "CdOrPrtry"), "Cd", balance.type.value)
    _write_signed_amount(element, balance.amount)
    write_date_or_datetime(element, "Dt", balance.at)


def _write_entry(statement: XmlElement, entry: StatementEntry) -> None:
    element = add(statement, "Ntry")
    if entry.entry_reference is not None:
        add(element, "NtryRef", entry.entry_reference)
    _write_signed_amount(element, entry.amount)
    add(add(element, "Sts"), "Cd", entry.status.value)
    if entry.booking_date is not None:
        write_date_or_datetime(element, "BookgDt", entry.booking_date)
    if entry.value_date is not None:
        write_date_or_datetime(element, "ValDt", entry.value_date)
    if entry.account_servicer_reference is not None:
        add(element, "AcctSvcrRef", entry.account_servicer_reference)
    code = add(element, "BkTxCd")
    if entry.bank_transaction_code is not None:
        domain = add(code, "Domn")
        add(domain, "Cd", entry.bank_transaction_code.domain)
        family = add(domain, "Fmly")
        add(family, "Cd", entry.bank_transaction_code.family)
        add(family, "SubFmlyCd", entry.bank_transaction_code.sub_family)
    if entry.has_details:
        _write_entry_details(add(add(element, "NtryDtls"), "TxDtls"), entry)
    if entry.additional_information is not None:
        add(element, "AddtlNtryInf", entry.additional_information)


def _write_entry_details(details: XmlElement, entry: StatementEntry) -> None:
    if entry.end_to_end_id or entry.uetr or entry.transaction_id:
        references = add(details, "Refs")
        if entry.end_to_end_id is not None:
            add(references, "EndToEndId", entry.end_to_end_id)
        if entry.uetr is not None:
            add(references, "UETR", str(entry.uetr))
        if entry.transaction_id is not None:
            add(references, "TxId", entry.transaction_id)
    parties = (entry.debtor, entry.debtor_account, entry.creditor, entry.creditor_account)
    if any(party is not None for party in parties):
        related = add(details, "RltdPties")
        if entry.debtor is not None:
            _write_related_party(related, "Dbtr", entry.debtor)
        if entry.debtor_account is not None:
            write_account(related, "DbtrAcct", entry.debtor_account)
        if entry.creditor is not None:
            _write_related_party(related, "Cdtr", entry.creditor)
        if entry.creditor_account is not None:
            write_account(related, "CdtrAcct", entry.creditor_account)
    write_remittance(details, entry.remittance_information)


def _write_statement(body: XmlElement, statement: AccountStatement) -> None:
    element = add(body, "Stmt")
    add(element, "Id", statement.statement_id)
    if statement.electronic_sequence_number is not None:
        add(element, "ElctrncSeqNb", str(statement.electronic_sequence_number))
    if statement.created_at is not None:
        add(element, "CreDtTm", datetime_to_text(statement.created_at))
    if statement.period_start is not None and statement.period_end is not None:
        period = add(element, "FrToDt")
        add(period, "FrDtTm", datetime_to_text(statement.period_start))
        add(period, "ToDtTm", datetime_to_text(statement.period_end))
    account = write_account(element, "Acct", statement.account)
    if statement.account_owner is not None:
        write_party(account, "Ownr", statement.account_owner)
    if statement.account_servicer is not None:
        write_agent(account, "Svcr", statement.account_servicer)
    for balance in statement.balances:
        _write_balance(element, balance)
    for entry in statement.entries:
        _write_entry(element, entry)


def _write_camt053(body: XmlElement, message: BankToCustomerStatement) -> None:
    write_group_header(body, message.message_id, message.created_at)
    for statement in message.statements:
        _write_statement(body, statement)


# ---------------------------------------------------------------------------- reading


def _read_balance(element: XmlElement) -> Balance:
    with located(element):
        code = text_at(element, "Tp", "CdOrPrtry", "Cd")
        if code is None:
            raise invalid_field("type", "a balance type must be an ISO code (Tp/CdOrPrtry/Cd)")
        at = read_date_or_datetime(element, "Dt")
        assert at is not None  # Dt is mandatory in the XSD
        return Balance(
            type=read_enum(BalanceType, code, "type"),
            amount=_read_signed_amount(element),
            at=at,
        )


def _read_entry(element: XmlElement) -> StatementEntry:
    with located(element):
        status = text_at(element, "Sts", "Cd")
        if status is None:
            raise invalid_field("status", "an entry status must be an ISO code (Sts/Cd)")
        domain = child(required(element, "BkTxCd"), "Domn")
        code = None
        if domain is not None:
            code = BankTransactionCode(
                domain=required_text(domain, "Cd"),
                family=required_text(domain, "Fmly", "Cd"),
                sub_family=required_text(domain, "Fmly", "SubFmlyCd"),
            )
        details = [
            item
            for entry_details in children(element, "NtryDtls")
            for item in children(entry_details, "TxDtls")
        ]
        if len(details) > 1:
            raise invalid_field(
                "entry", "an entry with several transactions (a batch) is not supported"
            )
        detail = details[0] if details else None
        references = None if detail is None else child(detail, "Refs")
        related = None if detail is None else child(detail, "RltdPties")
        return StatementEntry(
            amount=_read_signed_amount(element),
            status=read_enum(EntryStatus, status, "status"),
            bank_transaction_code=code,
            booking_date=read_date_or_datetime(element, "BookgDt"),
            value_date=read_date_or_datetime(element, "ValDt"),
            entry_reference=text_at(element, "NtryRef"),
            account_servicer_reference=text_at(element, "AcctSvcrRef"),
            end_to_end_id=None if references is None else text_at(references, "EndToEndId"),
            transaction_id=None if references is None else text_at(references, "TxId"),
            uetr=None if references is None else read_optional_uetr(references, "UETR", "uetr"),
            debtor=None if related is None else _read_related_party(related, "Dbtr"),
            debtor_account=None if related is None else read_optional_account(related, "DbtrAcct"),
            creditor=None if related is None else _read_related_party(related, "Cdtr"),
            creditor_account=None
            if related is None
            else read_optional_account(related, "CdtrAcct"),
            remittance_information=() if detail is None else read_remittance(detail),
            additional_information=text_at(element, "AddtlNtryInf"),
        )


def _read_statement(element: XmlElement) -> AccountStatement:
    balances = tuple(_read_balance(item) for item in children(element, "Bal"))
    entries = tuple(_read_entry(item) for item in children(element, "Ntry"))
    with located(element):
        account = required(element, "Acct")
        sequence = text_at(element, "ElctrncSeqNb")
        period = child(element, "FrToDt")
        owner = child(account, "Ownr")
        return AccountStatement(
            statement_id=required_text(element, "Id"),
            account=read_account(account),
            balances=balances,
            entries=entries,
            created_at=read_datetime(element, "CreDtTm"),
            period_start=None if period is None else read_datetime(period, "FrDtTm"),
            period_end=None if period is None else read_datetime(period, "ToDtTm"),
            electronic_sequence_number=None
            if sequence is None
            else number_from_text(sequence, "electronic_sequence_number"),
            account_owner=None if owner is None else read_party(owner),
            account_servicer=read_optional_agent(account, "Svcr"),
        )


def _read_camt053(body: XmlElement) -> BankToCustomerStatement:
    header = required(body, "GrpHdr")
    statements = tuple(_read_statement(element) for element in children(body, "Stmt"))
    with located(header):
        return BankToCustomerStatement(
            **read_group_header(header),
            statements=statements,
        )


CAMT053 = Codec(BankToCustomerStatement, "BkToCstmrStmt", _write_camt053, _read_camt053)
