"""Interbank messages: pacs.008 credit transfer, pacs.002 status, pacs.028 status request,
pacs.004 return. Writers emit elements in the XSD's sequence order; readers take the modelled
subset and check the group header's counts and totals against the transactions."""

from __future__ import annotations

from typing import Any

from tijarat.switch.iso20022._common import (
    Codec,
    located,
    read_account,
    read_agent,
    read_amount_at,
    read_count,
    read_date,
    read_enum,
    read_group_header,
    read_group_status,
    read_optional_agent,
    read_optional_amount,
    read_optional_original_group,
    read_optional_uetr,
    read_original_group,
    read_party,
    read_reason,
    read_remittance,
    read_transaction_status,
    write_account,
    write_agent,
    write_amount,
    write_group_header,
    write_group_status,
    write_original_group,
    write_party,
    write_purpose,
    write_reason,
    write_remittance,
    write_transaction_status,
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
    ChargeBearer,
    CreditTransferTransaction,
    CustomerCreditTransfer,
    PaymentReturn,
    PaymentStatusReport,
    PaymentStatusRequest,
    ReturnTransaction,
    SettlementMethod,
    StatusRequestTransaction,
)
from tijarat.switch.iso20022.values import date_to_text, invalid_field


def _write_group_header_agents(header: XmlElement, message: _WithAgents) -> None:
    if message.instructing_agent is not None:
        write_agent(header, "InstgAgt", message.instructing_agent)
    if message.instructed_agent is not None:
        write_agent(header, "InstdAgt", message.instructed_agent)


def _read_group_header_agents(header: XmlElement) -> dict[str, Any]:
    return {
        "instructing_agent": read_optional_agent(header, "InstgAgt"),
        "instructed_agent": read_optional_agent(header, "InstdAgt"),
    }


_WithAgents = CustomerCreditTransfer | PaymentStatusReport | PaymentStatusRequest | PaymentReturn


def _check_total(header: XmlElement, local: str, expected_minor: int, currency: str) -> None:
    """A group total, when present, must add up: a mismatch means a corrupted message."""
    total = read_optional_amount(header, local, "total")
    if total is not None and (total.currency, total.amount_minor) != (currency, expected_minor):
        with located(header):
            raise invalid_field(
                "total", f"{local} does not equal the sum of the transactions", total
            )


# ---------------------------------------------------------------------------- pacs.008


def _write_pacs008(body: XmlElement, message: CustomerCreditTransfer) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    add(header, "NbOfTxs", str(len(message.transactions)))
    write_amount(header, "TtlIntrBkSttlmAmt", message.total)
    if message.settlement_date is not None:
        add(header, "IntrBkSttlmDt", date_to_text(message.settlement_date))
    add(add(header, "SttlmInf"), "SttlmMtd", message.settlement_method.value)
    _write_group_header_agents(header, message)
    for transaction in message.transactions:
        _write_credit_transfer(add(body, "CdtTrfTxInf"), transaction)


def _write_credit_transfer(element: XmlElement, transaction: CreditTransferTransaction) -> None:
    identification = add(element, "PmtId")
    if transaction.instruction_id is not None:
        add(identification, "InstrId", transaction.instruction_id)
    add(identification, "EndToEndId", transaction.end_to_end_id)
    add(identification, "TxId", transaction.transaction_id)
    add(identification, "UETR", str(transaction.uetr))
    if transaction.local_instrument is not None:
        add(add(add(element, "PmtTpInf"), "LclInstrm"), "Prtry", transaction.local_instrument)
    write_amount(element, "IntrBkSttlmAmt", transaction.amount)
    add(element, "ChrgBr", transaction.charge_bearer.value)
    write_party(element, "Dbtr", transaction.debtor)
    write_account(element, "DbtrAcct", transaction.debtor_account)
    write_agent(element, "DbtrAgt", transaction.debtor_agent)
    write_agent(element, "CdtrAgt", transaction.creditor_agent)
    write_party(element, "Cdtr", transaction.creditor)
    write_account(element, "CdtrAcct", transaction.creditor_account)
    write_purpose(element, transaction.purpose)
    write_remittance(element, transaction.remittance_information)


def _read_pacs008(body: XmlElement) -> CustomerCreditTransfer:
    header = required(body, "GrpHdr")
    transactions = tuple(
        _read_credit_transfer(element) for element in children(body, "CdtTrfTxInf")
    )
    read_count(header, "NbOfTxs", len(transactions), "transactions")
    with located(header):
        message = CustomerCreditTransfer(
            **read_group_header(header),
            transactions=transactions,
            settlement_method=read_enum(
                SettlementMethod,
                required_text(header, "SttlmInf", "SttlmMtd"),
                "settlement_method",
            ),
            settlement_date=read_date(header, "IntrBkSttlmDt"),
            **_read_group_header_agents(header),
        )
    total = message.total
    _check_total(header, "TtlIntrBkSttlmAmt", total.amount_minor, total.currency)
    return message


def _read_credit_transfer(element: XmlElement) -> CreditTransferTransaction:
    identification = required(element, "PmtId")
    with located(element):
        uetr = read_optional_uetr(identification, "UETR", "uetr")
        transaction_id = text_at(identification, "TxId")
        if uetr is None or transaction_id is None:
            raise invalid_field("uetr", "the hub requires PmtId/TxId and PmtId/UETR")
        purpose = child(element, "Purp")
        if purpose is not None and text_at(purpose, "Cd") is None:
            raise invalid_field("purpose", "a purpose must be an ISO code (Purp/Cd)")
        return CreditTransferTransaction(
            end_to_end_id=required_text(identification, "EndToEndId"),
            transaction_id=transaction_id,
            uetr=uetr,
            amount=read_amount_at(element, "IntrBkSttlmAmt", "amount"),
            debtor=read_party(required(element, "Dbtr")),
            debtor_account=read_account(required(element, "DbtrAcct")),
            debtor_agent=read_agent(required(element, "DbtrAgt")),
            creditor=read_party(required(element, "Cdtr")),
            creditor_account=read_account(required(element, "CdtrAcct")),
            creditor_agent=read_agent(required(element, "CdtrAgt")),
            instruction_id=text_at(identification, "InstrId"),
            charge_bearer=read_enum(
                ChargeBearer, required_text(element, "ChrgBr"), "charge_bearer"
            ),
            local_instrument=text_at(element, "PmtTpInf", "LclInstrm", "Prtry"),
            purpose=text_at(element, "Purp", "Cd"),
            remittance_information=read_remittance(element),
        )


PACS008 = Codec(CustomerCreditTransfer, "FIToFICstmrCdtTrf", _write_pacs008, _read_pacs008)


# ---------------------------------------------------------------------------- pacs.002


def _write_pacs002(body: XmlElement, message: PaymentStatusReport) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    _write_group_header_agents(header, message)
    for group in message.original_groups:
        write_group_status(body, group)
    for transaction in message.transactions:
        write_transaction_status(body, transaction, interbank=True)


def _read_pacs002(body: XmlElement) -> PaymentStatusReport:
    header = required(body, "GrpHdr")
    original_groups = tuple(
        read_group_status(element) for element in children(body, "OrgnlGrpInfAndSts")
    )
    transactions = tuple(
        read_transaction_status(element) for element in children(body, "TxInfAndSts")
    )
    with located(header):
        return PaymentStatusReport(
            **read_group_header(header),
            original_groups=original_groups,
            transactions=transactions,
            **_read_group_header_agents(header),
        )


PACS002 = Codec(PaymentStatusReport, "FIToFIPmtStsRpt", _write_pacs002, _read_pacs002)


# ---------------------------------------------------------------------------- pacs.028


def _write_pacs028(body: XmlElement, message: PaymentStatusRequest) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    _write_group_header_agents(header, message)
    for group in message.original_groups:
        write_original_group(body, "OrgnlGrpInf", group)
    for transaction in message.transactions:
        element = add(body, "TxInf")
        if transaction.status_request_id is not None:
            add(element, "StsReqId", transaction.status_request_id)
        if transaction.original_group is not None:
            write_original_group(element, "OrgnlGrpInf", transaction.original_group)
        if transaction.original_instruction_id is not None:
            add(element, "OrgnlInstrId", transaction.original_instruction_id)
        if transaction.original_end_to_end_id is not None:
            add(element, "OrgnlEndToEndId", transaction.original_end_to_end_id)
        if transaction.original_transaction_id is not None:
            add(element, "OrgnlTxId", transaction.original_transaction_id)
        if transaction.original_uetr is not None:
            add(element, "OrgnlUETR", str(transaction.original_uetr))


def _read_status_request_transaction(element: XmlElement) -> StatusRequestTransaction:
    with located(element):
        return StatusRequestTransaction(
            original_end_to_end_id=text_at(element, "OrgnlEndToEndId"),
            original_transaction_id=text_at(element, "OrgnlTxId"),
            original_uetr=read_optional_uetr(element, "OrgnlUETR", "original_uetr"),
            original_instruction_id=text_at(element, "OrgnlInstrId"),
            original_group=read_optional_original_group(element, "OrgnlGrpInf"),
            status_request_id=text_at(element, "StsReqId"),
        )


def _read_pacs028(body: XmlElement) -> PaymentStatusRequest:
    header = required(body, "GrpHdr")
    original_groups = tuple(
        read_original_group(element) for element in children(body, "OrgnlGrpInf")
    )
    transactions = tuple(
        _read_status_request_transaction(element) for element in children(body, "TxInf")
    )
    with located(header):
        return PaymentStatusRequest(
            **read_group_header(header),
            original_groups=original_groups,
            transactions=transactions,
            **_read_group_header_agents(header),
        )


PACS028 = Codec(PaymentStatusRequest, "FIToFIPmtStsReq", _write_pacs028, _read_pacs028)


# ---------------------------------------------------------------------------- pacs.004


def _write_pacs004(body: XmlElement, message: PaymentReturn) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    add(header, "NbOfTxs", str(len(message.transactions)))
    write_amount(header, "TtlRtrdIntrBkSttlmAmt", message.total)
    if message.settlement_date is not None:
        add(header, "IntrBkSttlmDt", date_to_text(message.settlement_date))
    add(add(header, "SttlmInf"), "SttlmMtd", message.settlement_method.value)
    _write_group_header_agents(header, message)
    for transaction in message.transactions:
        element = add(body, "TxInf")
        add(element, "RtrId", transaction.return_id)
        if transaction.original_group is not None:
            write_original_group(element, "OrgnlGrpInf", transaction.original_group)
        if transaction.original_instruction_id is not None:
            add(element, "OrgnlInstrId", transaction.original_instruction_id)
        add(element, "OrgnlEndToEndId", transaction.original_end_to_end_id)
        add(element, "OrgnlTxId", transaction.original_transaction_id)
        add(element, "OrgnlUETR", str(transaction.original_uetr))
        if transaction.original_amount is not None:
            write_amount(element, "OrgnlIntrBkSttlmAmt", transaction.original_amount)
        write_amount(element, "RtrdIntrBkSttlmAmt", transaction.returned_amount)
        if transaction.charge_bearer is not None:
            add(element, "ChrgBr", transaction.charge_bearer.value)
        write_reason(element, "RtrRsnInf", transaction.reason)


def _read_return_transaction(element: XmlElement) -> ReturnTransaction:
    with located(element):
        reasons = children(element, "RtrRsnInf")
        if len(reasons) != 1:
            raise invalid_field("reason", "a return carries exactly one RtrRsnInf", len(reasons))
        uetr = read_optional_uetr(element, "OrgnlUETR", "original_uetr")
        if uetr is None:
            raise invalid_field("original_uetr", "the hub requires OrgnlUETR on a return")
        charge_bearer = text_at(element, "ChrgBr")
        return ReturnTransaction(
            return_id=required_text(element, "RtrId"),
            original_end_to_end_id=required_text(element, "OrgnlEndToEndId"),
            original_transaction_id=required_text(element, "OrgnlTxId"),
            original_uetr=uetr,
            returned_amount=read_amount_at(element, "RtrdIntrBkSttlmAmt", "returned_amount"),
            reason=read_reason(reasons[0]),
            original_amount=read_optional_amount(element, "OrgnlIntrBkSttlmAmt", "original_amount"),
            original_instruction_id=text_at(element, "OrgnlInstrId"),
            original_group=read_optional_original_group(element, "OrgnlGrpInf"),
            charge_bearer=None
            if charge_bearer is None
            else read_enum(ChargeBearer, charge_bearer, "charge_bearer"),
        )


def _read_pacs004(body: XmlElement) -> PaymentReturn:
    header = required(body, "GrpHdr")
    transactions = tuple(_read_return_transaction(element) for element in children(body, "TxInf"))
    read_count(header, "NbOfTxs", len(transactions), "transactions")
    with located(header):
        message = PaymentReturn(
            **read_group_header(header),
            transactions=transactions,
            settlement_method=read_enum(
                SettlementMethod,
                required_text(header, "SttlmInf", "SttlmMtd"),
                "settlement_method",
            ),
            settlement_date=read_date(header, "IntrBkSttlmDt"),
            **_read_group_header_agents(header),
        )
    total = message.total
    _check_total(header, "TtlRtrdIntrBkSttlmAmt", total.amount_minor, total.currency)
    return message


PACS004 = Codec(PaymentReturn, "PmtRtr", _write_pacs004, _read_pacs004)
