"""Customer-to-bank messages: pain.001 bulk credit transfer initiation and its pain.002 status
report, pain.013 request to pay and its pain.014 response. Only credit transfers (PmtMtd TRF)
are modelled: cheques have no place on an instant payment hub."""

from __future__ import annotations

from tijarat.kernel.errors import DomainError
from tijarat.kernel.money import Money
from tijarat.switch.iso20022._common import (
    Codec,
    account_of,
    located,
    read_account,
    read_agent,
    read_amount_at,
    read_count,
    read_date_or_datetime,
    read_enum,
    read_group_header,
    read_group_status,
    read_optional_account,
    read_optional_agent,
    read_optional_party,
    read_optional_uetr,
    read_party,
    read_reasons,
    read_remittance,
    read_transaction_status,
    write_account,
    write_agent,
    write_amount,
    write_date_or_datetime,
    write_group_header,
    write_group_status,
    write_party,
    write_purpose,
    write_reason,
    write_remittance,
    write_transaction_status,
)
from tijarat.switch.iso20022._xml import (
    Field,
    Flattener,
    MessageType,
    XmlElement,
    add,
    child,
    children,
    required,
    required_text,
    text_at,
)
from tijarat.switch.iso20022.model import (
    Agent,
    ChargeBearer,
    CustomerCreditTransferInitiation,
    CustomerPaymentStatusReport,
    InitiationTransaction,
    Party,
    PaymentInstruction,
    PaymentInstructionStatus,
    PaymentStatus,
    RequestToPay,
    RequestToPayInstruction,
    RequestToPayResponse,
    RequestToPayTransaction,
)
from tijarat.switch.iso20022.values import (
    amount_from_text,
    boolean_from_text,
    boolean_to_text,
    decimal_equal,
    decimal_sum_text,
    invalid_field,
    uetr_from_text,
)

_TRANSFER = "TRF"


def _write_counts(parent: XmlElement, amounts: list[Money]) -> None:
    add(parent, "NbOfTxs", str(len(amounts)))
    add(parent, "CtrlSum", decimal_sum_text(amounts))


def _check_counts(parent: XmlElement, amounts: list[Money], field: str) -> None:
    """NbOfTxs and CtrlSum, when present, must match the transactions they summarise."""
    read_count(parent, "NbOfTxs", len(amounts), field)
    control_sum = text_at(parent, "CtrlSum")
    if control_sum is not None and not decimal_equal(control_sum, amounts):
        with located(parent):
            raise invalid_field(
                field, "CtrlSum does not equal the sum of the transactions", control_sum
            )


def _check_transfer(parent: XmlElement) -> None:
    method = required_text(parent, "PmtMtd")
    if method != _TRANSFER:
        with located(parent):
            raise invalid_field(
                "payment_method", "only credit transfers (TRF) are accepted", method
            )


def _read_purpose(element: XmlElement) -> str | None:
    if child(element, "Purp") is not None and text_at(element, "Purp", "Cd") is None:
        with located(element):
            raise invalid_field("purpose", "a purpose must be an ISO code (Purp/Cd)")
    return text_at(element, "Purp", "Cd")


def _write_payment_id(parent: XmlElement, transaction: _Identified) -> None:
    identification = add(parent, "PmtId")
    if transaction.instruction_id is not None:
        add(identification, "InstrId", transaction.instruction_id)
    add(identification, "EndToEndId", transaction.end_to_end_id)
    if transaction.uetr is not None:
        add(identification, "UETR", str(transaction.uetr))


_Identified = InitiationTransaction | RequestToPayTransaction


def _read_instructed_amount(element: XmlElement) -> Money:
    amount = required(element, "Amt")
    if child(amount, "InstdAmt") is None:
        with located(amount):
            raise invalid_field("amount", "the amount must be Amt/InstdAmt")
    return read_amount_at(amount, "InstdAmt", "amount")


# ---------------------------------------------------------------------------- pain.001


def _write_pain001(body: XmlElement, message: CustomerCreditTransferInitiation) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    _write_counts(header, [tx.amount for tx in message.transactions])
    write_party(header, "InitgPty", message.initiating_party)
    for instruction in message.payment_instructions:
        element = add(body, "PmtInf")
        add(element, "PmtInfId", instruction.payment_information_id)
        add(element, "PmtMtd", _TRANSFER)
        if instruction.batch_booking is not None:
            add(element, "BtchBookg", boolean_to_text(instruction.batch_booking))
        _write_counts(element, [tx.amount for tx in instruction.transactions])
        write_date_or_datetime(element, "ReqdExctnDt", instruction.requested_execution)
        write_party(element, "Dbtr", instruction.debtor)
        write_account(element, "DbtrAcct", instruction.debtor_account)
        write_agent(element, "DbtrAgt", instruction.debtor_agent)
        if instruction.charge_bearer is not None:
            add(element, "ChrgBr", instruction.charge_bearer.value)
        for transaction in instruction.transactions:
            _write_initiation_transaction(add(element, "CdtTrfTxInf"), transaction)


def _write_initiation_transaction(element: XmlElement, transaction: InitiationTransaction) -> None:
    _write_payment_id(element, transaction)
    write_amount(add(element, "Amt"), "InstdAmt", transaction.amount)
    if transaction.creditor_agent is not None:
        write_agent(element, "CdtrAgt", transaction.creditor_agent)
    write_party(element, "Cdtr", transaction.creditor)
    write_account(element, "CdtrAcct", transaction.creditor_account)
    write_purpose(element, transaction.purpose)
    write_remittance(element, transaction.remittance_information)


def _read_initiation_transaction(element: XmlElement) -> InitiationTransaction:
    identification = required(element, "PmtId")
    with located(element):
        return InitiationTransaction(
            end_to_end_id=required_text(identification, "EndToEndId"),
            amount=_read_instructed_amount(element),
            creditor=read_party(required(element, "Cdtr")),
            creditor_account=read_account(required(element, "CdtrAcct")),
            creditor_agent=read_optional_agent(element, "CdtrAgt"),
            instruction_id=text_at(identification, "InstrId"),
            uetr=read_optional_uetr(identification, "UETR", "uetr"),
            purpose=_read_purpose(element),
            remittance_information=read_remittance(element),
        )


# What _read_initiation_transaction reads, lifted from every CdtTrfTxInf in one pass.
_TRANSACTION_FIELDS = (
    Field("end_to_end_id", ("PmtId", "EndToEndId")),
    Field("instruction_id", ("PmtId", "InstrId")),
    Field("uetr", ("PmtId", "UETR")),
    Field("amount", ("Amt", "InstdAmt")),
    Field("currency", ("Amt", "InstdAmt", "@Ccy")),
    Field("creditor", ("Cdtr", "Nm")),
    Field("iban", ("CdtrAcct", "Id", "IBAN")),
    Field("other_id", ("CdtrAcct", "Id", "Othr", "Id")),
    Field("other_scheme", ("CdtrAcct", "Id", "Othr", "SchmeNm", "Prtry")),
    Field("proxy", ("CdtrAcct", "Prxy"), "present"),
    Field("proxy_type", ("CdtrAcct", "Prxy", "Tp", "Prtry")),
    Field("proxy_id", ("CdtrAcct", "Prxy", "Id")),
    Field("agent", ("CdtrAgt",), "present"),
    Field("agent_bic", ("CdtrAgt", "FinInstnId", "BICFI")),
    Field("agent_member", ("CdtrAgt", "FinInstnId", "ClrSysMmbId", "MmbId")),
    Field("agent_name", ("CdtrAgt", "FinInstnId", "Nm")),
    Field("purpose", ("Purp",), "present"),
    Field("purpose_code", ("Purp", "Cd")),
    Field("remittance", ("RmtInf", "Ustrd")),
    Field("remittance_lines", ("RmtInf", "Ustrd"), "count"),
)
_FLAT_TRANSACTIONS = Flattener(
    MessageType.PAIN_001.namespace, "PmtInf", "CdtTrfTxInf", _TRANSACTION_FIELDS
)


def _initiation_of(fields: dict[str, str]) -> InitiationTransaction | None:
    """_read_initiation_transaction on the transaction's flat fields; None for what the flat
    form does not carry (an element the reader requires missing, several remittance lines):
    the element reader then reads it, and says where any error is."""
    lines = int(fields.get("remittance_lines", "0"))  # absent: no RmtInf
    if lines > 1 or not {"end_to_end_id", "amount", "creditor"} <= fields.keys():
        return None
    if "purpose" in fields and "purpose_code" not in fields:
        return None
    if "iban" not in fields and "other_id" not in fields:
        return None
    get = fields.get
    uetr = get("uetr")
    return InitiationTransaction(
        end_to_end_id=fields["end_to_end_id"],
        amount=amount_from_text(fields["amount"], get("currency") or "", "amount"),
        creditor=Party(fields["creditor"]),
        creditor_account=account_of(
            get("iban"),
            None if "iban" in fields else (fields["other_id"], get("other_scheme")),
            (get("proxy_type"), get("proxy_id")) if "proxy" in fields else None,
        ),
        creditor_agent=Agent(
            bic=get("agent_bic"), member_id=get("agent_member"), name=get("agent_name")
        )
        if "agent" in fields
        else None,
        instruction_id=get("instruction_id"),
        uetr=None if uetr is None else uetr_from_text(uetr, "uetr"),
        purpose=get("purpose_code"),
        remittance_information=(fields["remittance"],) if lines else (),
    )


def _read_transactions(
    element: XmlElement, flat: list[dict[str, str]]
) -> tuple[InitiationTransaction, ...]:
    """A payment instruction's transactions from their flat fields; any the flat form
    cannot carry or refuses are read from their elements (which locate the refusal)."""
    transactions: list[InitiationTransaction] = []
    elements: list[XmlElement] | None = None
    for index, fields in enumerate(flat):
        try:
            transaction = _initiation_of(fields)
        except DomainError:
            transaction = None
        if transaction is None:
            if elements is None:
                elements = children(element, "CdtTrfTxInf")
            transaction = _read_initiation_transaction(elements[index])
        transactions.append(transaction)
    return tuple(transactions)


def _read_payment_instruction(
    element: XmlElement, flat: list[dict[str, str]]
) -> PaymentInstruction:
    _check_transfer(element)
    transactions = _read_transactions(element, flat)
    _check_counts(element, [tx.amount for tx in transactions], "transactions")
    with located(element):
        execution = read_date_or_datetime(element, "ReqdExctnDt")
        assert execution is not None  # ReqdExctnDt is mandatory in the XSD
        batch_booking = text_at(element, "BtchBookg")
        charge_bearer = text_at(element, "ChrgBr")
        return PaymentInstruction(
            payment_information_id=required_text(element, "PmtInfId"),
            requested_execution=execution,
            debtor=read_party(required(element, "Dbtr")),
            debtor_account=read_account(required(element, "DbtrAcct")),
            debtor_agent=read_agent(required(element, "DbtrAgt")),
            transactions=transactions,
            batch_booking=None
            if batch_booking is None
            else boolean_from_text(batch_booking, "batch_booking"),
            charge_bearer=None
            if charge_bearer is None
            else read_enum(ChargeBearer, charge_bearer, "charge_bearer"),
        )


def _read_pain001(body: XmlElement) -> CustomerCreditTransferInitiation:
    header = required(body, "GrpHdr")
    instructions = tuple(
        _read_payment_instruction(element, flat)
        for element, flat in zip(children(body, "PmtInf"), _FLAT_TRANSACTIONS(body), strict=True)
    )
    _check_counts(
        header,
        [tx.amount for instruction in instructions for tx in instruction.transactions],
        "payment_instructions",
    )
    with located(header):
        return CustomerCreditTransferInitiation(
            **read_group_header(header),
            initiating_party=read_party(required(header, "InitgPty")),
            payment_instructions=instructions,
        )


PAIN001 = Codec(CustomerCreditTransferInitiation, "CstmrCdtTrfInitn", _write_pain001, _read_pain001)


# ---------------------------------------------------------------------------- pain.002 / 014


def _write_instruction_statuses(
    body: XmlElement, instructions: tuple[PaymentInstructionStatus, ...]
) -> None:
    for instruction in instructions:
        element = add(body, "OrgnlPmtInfAndSts")
        add(element, "OrgnlPmtInfId", instruction.original_payment_information_id)
        if instruction.status is not None:
            add(element, "PmtInfSts", instruction.status.value)
        for reason in instruction.reasons:
            write_reason(element, "StsRsnInf", reason)
        for transaction in instruction.transactions:
            write_transaction_status(element, transaction, interbank=False)


def _read_instruction_status(element: XmlElement) -> PaymentInstructionStatus:
    transactions = tuple(read_transaction_status(item) for item in children(element, "TxInfAndSts"))
    with located(element):
        status = text_at(element, "PmtInfSts")
        return PaymentInstructionStatus(
            original_payment_information_id=required_text(element, "OrgnlPmtInfId"),
            status=None if status is None else read_enum(PaymentStatus, status, "status"),
            reasons=read_reasons(element, "StsRsnInf"),
            transactions=transactions,
        )


def _write_pain002(body: XmlElement, message: CustomerPaymentStatusReport) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    if message.initiating_party is not None:
        write_party(header, "InitgPty", message.initiating_party)
    write_group_status(body, message.original_group)
    _write_instruction_statuses(body, message.payment_instructions)


def _read_pain002(body: XmlElement) -> CustomerPaymentStatusReport:
    header = required(body, "GrpHdr")
    group = read_group_status(required(body, "OrgnlGrpInfAndSts"))
    instructions = tuple(
        _read_instruction_status(element) for element in children(body, "OrgnlPmtInfAndSts")
    )
    with located(header):
        return CustomerPaymentStatusReport(
            **read_group_header(header),
            original_group=group,
            payment_instructions=instructions,
            initiating_party=read_optional_party(header, "InitgPty"),
        )


PAIN002 = Codec(CustomerPaymentStatusReport, "CstmrPmtStsRpt", _write_pain002, _read_pain002)


def _write_pain014(body: XmlElement, message: RequestToPayResponse) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    write_party(header, "InitgPty", message.initiating_party)
    write_group_status(body, message.original_group)
    _write_instruction_statuses(body, message.payment_instructions)


def _read_pain014(body: XmlElement) -> RequestToPayResponse:
    header = required(body, "GrpHdr")
    group = read_group_status(required(body, "OrgnlGrpInfAndSts"))
    instructions = tuple(
        _read_instruction_status(element) for element in children(body, "OrgnlPmtInfAndSts")
    )
    with located(header):
        return RequestToPayResponse(
            **read_group_header(header),
            initiating_party=read_party(required(header, "InitgPty")),
            original_group=group,
            payment_instructions=instructions,
        )


PAIN014 = Codec(RequestToPayResponse, "CdtrPmtActvtnReqStsRpt", _write_pain014, _read_pain014)


# ---------------------------------------------------------------------------- pain.013


def _write_pain013(body: XmlElement, message: RequestToPay) -> None:
    header = write_group_header(body, message.message_id, message.created_at)
    _write_counts(header, [tx.amount for tx in message.transactions])
    write_party(header, "InitgPty", message.initiating_party)
    for instruction in message.payment_instructions:
        element = add(body, "PmtInf")
        if instruction.payment_information_id is not None:
            add(element, "PmtInfId", instruction.payment_information_id)
        add(element, "PmtMtd", _TRANSFER)
        write_date_or_datetime(element, "ReqdExctnDt", instruction.requested_execution)
        if instruction.expiry is not None:
            write_date_or_datetime(element, "XpryDt", instruction.expiry)
        write_party(element, "Dbtr", instruction.debtor)
        if instruction.debtor_account is not None:
            write_account(element, "DbtrAcct", instruction.debtor_account)
        write_agent(element, "DbtrAgt", instruction.debtor_agent)
        for transaction in instruction.transactions:
            item = add(element, "CdtTrfTx")
            _write_payment_id(item, transaction)
            write_amount(add(item, "Amt"), "InstdAmt", transaction.amount)
            add(item, "ChrgBr", transaction.charge_bearer.value)
            write_agent(item, "CdtrAgt", transaction.creditor_agent)
            write_party(item, "Cdtr", transaction.creditor)
            write_account(item, "CdtrAcct", transaction.creditor_account)
            write_purpose(item, transaction.purpose)
            write_remittance(item, transaction.remittance_information)


def _read_request_transaction(element: XmlElement) -> RequestToPayTransaction:
    identification = required(element, "PmtId")
    with located(element):
        return RequestToPayTransaction(
            end_to_end_id=required_text(identification, "EndToEndId"),
            amount=_read_instructed_amount(element),
            creditor=read_party(required(element, "Cdtr")),
            creditor_account=read_account(required(element, "CdtrAcct")),
            creditor_agent=read_agent(required(element, "CdtrAgt")),
            instruction_id=text_at(identification, "InstrId"),
            uetr=read_optional_uetr(identification, "UETR", "uetr"),
            charge_bearer=read_enum(
                ChargeBearer, required_text(element, "ChrgBr"), "charge_bearer"
            ),
            purpose=_read_purpose(element),
            remittance_information=read_remittance(element),
        )


def _read_request_instruction(element: XmlElement) -> RequestToPayInstruction:
    _check_transfer(element)
    transactions = tuple(_read_request_transaction(item) for item in children(element, "CdtTrfTx"))
    with located(element):
        execution = read_date_or_datetime(element, "ReqdExctnDt")
        assert execution is not None  # ReqdExctnDt is mandatory in the XSD
        return RequestToPayInstruction(
            requested_execution=execution,
            debtor=read_party(required(element, "Dbtr")),
            debtor_agent=read_agent(required(element, "DbtrAgt")),
            transactions=transactions,
            payment_information_id=text_at(element, "PmtInfId"),
            expiry=read_date_or_datetime(element, "XpryDt"),
            debtor_account=read_optional_account(element, "DbtrAcct"),
        )


def _read_pain013(body: XmlElement) -> RequestToPay:
    header = required(body, "GrpHdr")
    instructions = tuple(_read_request_instruction(element) for element in children(body, "PmtInf"))
    _check_counts(
        header,
        [tx.amount for instruction in instructions for tx in instruction.transactions],
        "payment_instructions",
    )
    with located(header):
        return RequestToPay(
            **read_group_header(header),
            initiating_party=read_party(required(header, "InitgPty")),
            payment_instructions=instructions,
        )


PAIN013 = Codec(RequestToPay, "CdtrPmtActvtnReq", _write_pain013, _read_pain013)
