"""pacs.002 envelopes read in one libxslt pass: the hub reads one per payment.

Every payee answers every credit advice with a pacs.002 in an envelope; read element by
element (a Python proxy and a look-up per field, ~33 of them), that was the largest share
of the hub's time per payment. `read_status_envelope` lifts the AppHdr's, the group
header's and each status's fields in one pass (`RecordFlattener`) and builds the very same
models with the very same checks from them. The element readers stay the reference: what
the flat form does not carry (several reasons, a party that is not an institution, a field
the readers require missing) answers None, any refusal is left to them to make and locate,
and tests prove both readings give the same model (tests/unit/test_iso20022_flat.py).
"""

from __future__ import annotations

from tijarat.switch.iso20022._common import read_enum
from tijarat.switch.iso20022._xml import (
    ENVELOPE_NAMESPACE,
    Field,
    MessageType,
    RecordFlattener,
    Records,
    XmlElement,
)
from tijarat.switch.iso20022.model import (
    Agent,
    BusinessApplicationHeader,
    OriginalGroupReference,
    OriginalGroupStatus,
    PaymentStatus,
    PaymentStatusReport,
    Reason,
    ReasonCode,
    TransactionStatus,
)
from tijarat.switch.iso20022.values import (
    boolean_from_text,
    datetime_from_text,
    invalid_field,
    uetr_from_text,
)

Fields = dict[str, str]


def _agent_fields(key: str, *path: str) -> tuple[Field, ...]:
    """An agent (BranchAndFinancialInstitutionIdentification6) at `path`, as read_agent."""
    institution = (*path, "FinInstnId")
    return (
        Field(key, path, "present"),
        Field(f"{key}_institution", institution, "present"),
        Field(f"{key}_bic", (*institution, "BICFI")),
        Field(f"{key}_member", (*institution, "ClrSysMmbId", "MmbId")),
        Field(f"{key}_name", (*institution, "Nm")),
    )


# One reason (StsRsnInf) with at most one line of additional information; more: None.
_REASON_FIELDS = (
    Field("reasons", ("StsRsnInf",), "count"),
    Field("reason_code", ("StsRsnInf", "Rsn", "Cd")),
    Field("reason_proprietary", ("StsRsnInf", "Rsn", "Prtry")),
    Field("reason_lines", ("StsRsnInf", "AddtlInf"), "count"),
    Field("reason_line", ("StsRsnInf", "AddtlInf")),
)
_HEADER = Records(
    "h",
    "/*/h:AppHdr",
    "h",
    (
        *_agent_fields("from", "Fr", "FIId"),
        *_agent_fields("to", "To", "FIId"),
        Field("id", ("BizMsgIdr",)),
        Field("definition", ("MsgDefIdr",)),
        Field("created", ("CreDt",)),
        Field("service", ("BizSvc",)),
        Field("duplicate", ("PssblDplct",)),
    ),
)
_BODY = "/*/d:Document/d:FIToFIPmtStsRpt"
_GROUP_HEADER = Records(
    "g",
    f"{_BODY}/d:GrpHdr",
    "d",
    (
        Field("id", ("MsgId",)),
        Field("created", ("CreDtTm",)),
        *_agent_fields("instructing", "InstgAgt"),
        *_agent_fields("instructed", "InstdAgt"),
    ),
)
_GROUP_STATUSES = Records(
    "o",
    f"{_BODY}/d:OrgnlGrpInfAndSts",
    "d",
    (
        Field("id", ("OrgnlMsgId",)),
        Field("name", ("OrgnlMsgNmId",)),
        Field("created", ("OrgnlCreDtTm",)),
        Field("status", ("GrpSts",)),
        *_REASON_FIELDS,
    ),
)
_STATUSES = Records(
    "t",
    f"{_BODY}/d:TxInfAndSts",
    "d",
    (
        Field("status_id", ("StsId",)),
        Field("group", ("OrgnlGrpInf",), "present"),
        Field("group_id", ("OrgnlGrpInf", "OrgnlMsgId")),
        Field("group_name", ("OrgnlGrpInf", "OrgnlMsgNmId")),
        Field("group_created", ("OrgnlGrpInf", "OrgnlCreDtTm")),
        Field("instruction_id", ("OrgnlInstrId",)),
        Field("end_to_end_id", ("OrgnlEndToEndId",)),
        Field("transaction_id", ("OrgnlTxId",)),
        Field("uetr", ("OrgnlUETR",)),
        Field("status", ("TxSts",)),
        *_REASON_FIELDS,
        Field("accepted", ("AccptncDtTm",)),
    ),
)
_FLATTEN = RecordFlattener(
    {
        "e": ENVELOPE_NAMESPACE,
        "h": MessageType.HEAD_001.namespace,
        "d": MessageType.PACS_002.namespace,
    },
    (_HEADER, _GROUP_HEADER, _GROUP_STATUSES, _STATUSES),
)


class _NotCarriedError(Exception):
    """What the flat form does not carry: the element readers read it."""


def read_status_envelope(
    root: XmlElement,
) -> tuple[BusinessApplicationHeader, PaymentStatusReport] | None:
    """The AppHdr and pacs.002 of an XSD-valid envelope, as the element readers would read
    them; None when the flat form does not carry the message. Raises a DomainError where
    the element readers would refuse, unlocated: the caller reads again with them."""
    found = _FLATTEN(root)
    try:
        (header,) = found["h"]
        (group,) = found["g"]
        return _header_of(header), PaymentStatusReport(
            message_id=_required(group, "id"),
            created_at=datetime_from_text(_required(group, "created"), "CreDtTm"),
            original_groups=tuple(_group_status_of(fields) for fields in found["o"]),
            transactions=tuple(_status_of(fields) for fields in found["t"]),
            instructing_agent=_optional_agent(group, "instructing"),
            instructed_agent=_optional_agent(group, "instructed"),
        )
    except _NotCarriedError:
        return None


def _required(fields: Fields, key: str) -> str:
    value = fields.get(key)
    if value is None:
        raise _NotCarriedError(key)  # the element reader names what is missing, and where
    return value


def _header_of(fields: Fields) -> BusinessApplicationHeader:
    duplicate = fields.get("duplicate")
    return BusinessApplicationHeader(
        from_agent=_agent(fields, "from"),
        to_agent=_agent(fields, "to"),
        business_message_id=_required(fields, "id"),
        message_definition_id=_required(fields, "definition"),
        created_at=datetime_from_text(_required(fields, "created"), "CreDt"),
        business_service=fields.get("service"),
        possible_duplicate=duplicate is not None
        and boolean_from_text(duplicate, "possible_duplicate"),
    )


def _agent(fields: Fields, key: str) -> Agent:
    if key not in fields or f"{key}_institution" not in fields:
        raise _NotCarriedError(key)  # not an institution (FIId), or no FinInstnId
    return Agent(
        bic=fields.get(f"{key}_bic"),
        member_id=fields.get(f"{key}_member"),
        name=fields.get(f"{key}_name"),
    )


def _optional_agent(fields: Fields, key: str) -> Agent | None:
    return _agent(fields, key) if key in fields else None


def _reasons(fields: Fields) -> tuple[Reason, ...]:
    count = int(fields.get("reasons", "0"))
    if count == 0:
        return ()
    if count > 1 or int(fields.get("reason_lines", "0")) > 1:
        raise _NotCarriedError("reasons")
    code, proprietary = fields.get("reason_code"), fields.get("reason_proprietary")
    if code is None and proprietary is None:
        raise invalid_field("reason", "a reason needs Rsn/Cd or Rsn/Prtry")
    line = fields.get("reason_line")
    return (
        Reason(
            code=None if code is None else read_enum(ReasonCode, code, "reason"),
            proprietary=proprietary,
            additional_information=() if line is None else (line,),
        ),
    )


def _group_status_of(fields: Fields) -> OriginalGroupStatus:
    status, created = fields.get("status"), fields.get("created")
    return OriginalGroupStatus(
        original_message_id=_required(fields, "id"),
        original_message_name=_required(fields, "name"),
        original_created_at=None
        if created is None
        else datetime_from_text(created, "OrgnlCreDtTm"),
        status=None if status is None else read_enum(PaymentStatus, status, "status"),
        reasons=_reasons(fields),
    )


def _status_of(fields: Fields) -> TransactionStatus:
    get = fields.get
    uetr, accepted = get("uetr"), get("accepted")
    group: OriginalGroupReference | None = None
    if "group" in fields:
        created = get("group_created")
        group = OriginalGroupReference(
            original_message_id=_required(fields, "group_id"),
            original_message_name=_required(fields, "group_name"),
            original_created_at=None
            if created is None
            else datetime_from_text(created, "OrgnlCreDtTm"),
        )
    return TransactionStatus(
        status=read_enum(PaymentStatus, _required(fields, "status"), "status"),
        original_end_to_end_id=get("end_to_end_id"),
        original_transaction_id=get("transaction_id"),
        original_uetr=None if uetr is None else uetr_from_text(uetr, "original_uetr"),
        original_instruction_id=get("instruction_id"),
        original_group=group,
        status_id=get("status_id"),
        reasons=_reasons(fields),
        acceptance_datetime=None
        if accepted is None
        else datetime_from_text(accepted, "AccptncDtTm"),
    )
