"""Element writers and readers shared by the messages: agents, parties, accounts, reasons.

The 2019 message versions used here share these component types (PartyIdentification135,
CashAccount38, BranchAndFinancialInstitutionIdentification6, StatusReasonInformation12...),
so one writer serves every message; `add` puts each child in its parent's namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.kernel.money import Money
from tijarat.switch.iso20022._xml import (
    MessageType,
    XmlElement,
    add,
    child,
    children,
    coded_error,
    required,
    required_text,
    split_tag,
    text_at,
)
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.iso20022.model import (
    HUB_ACCOUNT_SCHEME,
    RAAST_ALIAS_PROXY_TYPE,
    Account,
    Agent,
    Message,
    OriginalGroupReference,
    OriginalGroupStatus,
    Party,
    PaymentStatus,
    Reason,
    ReasonCode,
    TransactionStatus,
)
from tijarat.switch.iso20022.values import (
    amount_from_text,
    amount_to_text,
    date_from_text,
    date_to_text,
    datetime_from_text,
    datetime_to_text,
    invalid_field,
    number_from_text,
    uetr_from_text,
)

M = TypeVar("M", bound=Message)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Codec(Generic[M]):
    """How one message type maps to XML: the element under Document, a writer, a reader."""

    model: type[M]
    root: str  # e.g. "FIToFICstmrCdtTrf"
    write: Callable[[XmlElement, M], None]
    read: Callable[[XmlElement], M]

    @property
    def message_type(self) -> MessageType:
        return self.model.MESSAGE_TYPE


class located:  # noqa: N801 - used as a function: `with located(element):`
    """Errors raised while reading `element` carry its line; kernel refusals (a bad IBAN, a
    foreign mobile number, too many decimals) become iso20022_invalid_field.

    A class rather than a @contextmanager generator: readers enter one per element, and the
    generator's machinery cost several times the work it guards."""

    __slots__ = ("element",)

    def __init__(self, element: XmlElement) -> None:
        self.element = element

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, _: object) -> None:
        if not isinstance(error, DomainError):
            return  # None: anything else (or nothing) goes on as it was
        element = self.element
        if error.code == Iso20022Error.INVALID_FIELD:
            error.fields.setdefault("line", element.sourceline)
            return
        raise coded_error(
            Iso20022Error.INVALID_FIELD,
            error.message,
            **error.fields,
            reason=error.code,
            element=split_tag(element)[1],
            line=element.sourceline,
        ) from None


# ---------------------------------------------------------------------------- simple values


def write_amount(parent: XmlElement, local: str, money: Money) -> None:
    add(parent, local, amount_to_text(money)).set("Ccy", money.currency)


def read_amount(element: XmlElement, field: str) -> Money:
    with located(element):
        return amount_from_text(element.text or "", element.get("Ccy") or "", field)


def read_amount_at(parent: XmlElement, local: str, field: str) -> Money:
    return read_amount(required(parent, local), field)


def read_optional_amount(parent: XmlElement, local: str, field: str) -> Money | None:
    element = child(parent, local)
    return None if element is None else read_amount(element, field)


def read_datetime(parent: XmlElement, *path: str) -> datetime | None:
    text = text_at(parent, *path)
    if text is None:
        return None
    with located(parent):
        return datetime_from_text(text, path[-1])


def read_required_datetime(parent: XmlElement, *path: str) -> datetime:
    with located(parent):
        return datetime_from_text(required_text(parent, *path), path[-1])


def read_date(parent: XmlElement, *path: str) -> date | None:
    text = text_at(parent, *path)
    if text is None:
        return None
    with located(parent):
        return date_from_text(text, path[-1])


def write_date_or_datetime(parent: XmlElement, local: str, value: date | datetime) -> None:
    """DateAndDateTime2Choice: Dt for a date, DtTm for a date-time."""
    choice = add(parent, local)
    if isinstance(value, datetime):
        add(choice, "DtTm", datetime_to_text(value))
    else:
        add(choice, "Dt", date_to_text(value))


def read_date_or_datetime(parent: XmlElement, local: str) -> date | datetime | None:
    choice = child(parent, local)
    if choice is None:
        return None
    moment = read_datetime(choice, "DtTm")
    return moment if moment is not None else read_date(choice, "Dt")


def read_optional_uetr(parent: XmlElement, local: str, field: str) -> UUID | None:
    text = text_at(parent, local)
    if text is None:
        return None
    with located(parent):
        return uetr_from_text(text, field)


def read_enum(enum_type: type[E], text: str, field: str) -> E:
    try:
        return enum_type(text)
    except ValueError:
        raise invalid_field(field, f"{field} must be one of {', '.join(enum_type)}", text) from None


def read_count(parent: XmlElement, local: str, actual: int, field: str) -> None:
    """NbOfTxs, when present, must count what the message holds."""
    text = text_at(parent, local)
    if text is None:
        return
    with located(parent):
        if number_from_text(text, field) != actual:
            raise invalid_field(field, f"{local} says {text} but the message holds {actual}")


# ---------------------------------------------------------------------------- agents, parties


def write_agent(parent: XmlElement, local: str, agent: Agent) -> None:
    """BranchAndFinancialInstitutionIdentification6: BICFI, ClrSysMmbId/MmbId, Nm."""
    institution = add(add(parent, local), "FinInstnId")
    if agent.bic is not None:
        add(institution, "BICFI", agent.bic)
    if agent.member_id is not None:
        add(add(institution, "ClrSysMmbId"), "MmbId", agent.member_id)
    if agent.name is not None:
        add(institution, "Nm", agent.name)


def read_agent(element: XmlElement) -> Agent:
    institution = required(element, "FinInstnId")
    with located(element):
        return Agent(
            bic=text_at(institution, "BICFI"),
            member_id=text_at(institution, "ClrSysMmbId", "MmbId"),
            name=text_at(institution, "Nm"),
        )


def read_optional_agent(parent: XmlElement, local: str) -> Agent | None:
    element = child(parent, local)
    return None if element is None else read_agent(element)


def write_party(parent: XmlElement, local: str, party: Party) -> None:
    add(add(parent, local), "Nm", party.name)


def read_party(element: XmlElement) -> Party:
    with located(element):
        return Party(required_text(element, "Nm"))


def read_optional_party(parent: XmlElement, local: str) -> Party | None:
    element = child(parent, local)
    return None if element is None else read_party(element)


# ---------------------------------------------------------------------------- accounts


def write_account(parent: XmlElement, local: str, account: Account) -> XmlElement:
    """CashAccount38: Id/IBAN, or the alias as Id/Othr; then Prxy for a Raast ID."""
    element = add(parent, local)
    identification = add(element, "Id")
    if account.iban is not None:
        add(identification, "IBAN", account.iban.compact)
    elif account.hub_account is not None:
        other = add(identification, "Othr")
        add(other, "Id", account.hub_account)
        add(add(other, "SchmeNm"), "Prtry", HUB_ACCOUNT_SCHEME)
    else:
        assert account.proxy is not None  # Account guarantees an IBAN or an alias
        other = add(identification, "Othr")
        add(other, "Id", account.proxy.e164)
        add(add(other, "SchmeNm"), "Prtry", RAAST_ALIAS_PROXY_TYPE)
    if account.proxy is not None:
        proxy = add(element, "Prxy")
        add(add(proxy, "Tp"), "Prtry", RAAST_ALIAS_PROXY_TYPE)
        add(proxy, "Id", account.proxy.e164)
    return element


def read_account(element: XmlElement) -> Account:
    with located(element):
        identification = required(element, "Id")
        iban = text_at(identification, "IBAN")
        other: tuple[str, str | None] | None = None
        if iban is None:
            other = (
                required_text(identification, "Othr", "Id"),
                text_at(identification, "Othr", "SchmeNm", "Prtry"),
            )
        proxy_element = child(element, "Prxy")
        proxy = None
        if proxy_element is not None:
            proxy = (text_at(proxy_element, "Tp", "Prtry"), text_at(proxy_element, "Id"))
        return account_of(iban, other, proxy)


def account_of(
    iban_text: str | None,
    other: tuple[str, str | None] | None,
    proxy: tuple[str | None, str | None] | None,
) -> Account:
    """CashAccount38 from its texts: Id/IBAN; else Id/Othr (Id, SchmeNm/Prtry); and Prxy
    (Tp/Prtry, Id) when there is one. Shared by the element and the flat readers."""
    iban = None if iban_text is None else Iban.parse(iban_text)
    alias = None
    if iban is None:
        if other is None:
            raise invalid_field("account", "an account is an IBAN (Id/IBAN) or Id/Othr")
        other_id, scheme = other
        if scheme == HUB_ACCOUNT_SCHEME:
            return Account(hub_account=other_id)
        if scheme != RAAST_ALIAS_PROXY_TYPE:
            raise invalid_field(
                "account",
                f"an account is an IBAN or a Raast ID (SchmeNm/Prtry {RAAST_ALIAS_PROXY_TYPE})",
                other_id,
            )
        alias = MobileNumber.parse(other_id)
    if proxy is not None:
        proxy_type, proxy_id = proxy
        if proxy_type != RAAST_ALIAS_PROXY_TYPE:
            raise invalid_field(
                "proxy", f"a proxy must be a Raast ID (Tp/Prtry {RAAST_ALIAS_PROXY_TYPE})"
            )
        if proxy_id is None:
            raise invalid_field("proxy", "a proxy must have an Id")
        number = MobileNumber.parse(proxy_id)
        if alias is not None and number != alias:
            raise invalid_field("proxy", "the account's alias and its proxy differ", number)
        alias = number
    return Account(iban=iban, proxy=alias)


def read_optional_account(parent: XmlElement, local: str) -> Account | None:
    element = child(parent, local)
    return None if element is None else read_account(element)


# ---------------------------------------------------------------------------- remittance


def write_purpose(parent: XmlElement, purpose: str | None) -> None:
    if purpose is not None:
        add(add(parent, "Purp"), "Cd", purpose)


def write_remittance(parent: XmlElement, lines: tuple[str, ...]) -> None:
    if lines:
        remittance = add(parent, "RmtInf")
        for line in lines:
            add(remittance, "Ustrd", line)


def read_remittance(parent: XmlElement) -> tuple[str, ...]:
    remittance = child(parent, "RmtInf")
    if remittance is None:
        return ()
    return tuple(line.text or "" for line in children(remittance, "Ustrd"))


# ---------------------------------------------------------------------------- reasons, groups


def write_reason(parent: XmlElement, local: str, reason: Reason) -> None:
    """StatusReasonInformation12 / PaymentReturnReason6: Rsn/(Cd|Prtry), AddtlInf*."""
    element = add(parent, local)
    choice = add(element, "Rsn")
    if reason.code is not None:
        add(choice, "Cd", reason.code.value)
    else:
        assert reason.proprietary is not None  # Reason guarantees exactly one of the two
        add(choice, "Prtry", reason.proprietary)
    for line in reason.additional_information:
        add(element, "AddtlInf", line)


def read_reason(element: XmlElement) -> Reason:
    with located(element):
        code = text_at(element, "Rsn", "Cd")
        proprietary = text_at(element, "Rsn", "Prtry")
        if code is None and proprietary is None:
            raise invalid_field("reason", "a reason needs Rsn/Cd or Rsn/Prtry")
        return Reason(
            code=None if code is None else read_enum(ReasonCode, code, "reason"),
            proprietary=proprietary,
            additional_information=tuple(line.text or "" for line in children(element, "AddtlInf")),
        )


def read_reasons(parent: XmlElement, local: str) -> tuple[Reason, ...]:
    return tuple(read_reason(element) for element in children(parent, local))


def write_original_group(parent: XmlElement, local: str, group: OriginalGroupReference) -> None:
    element = add(parent, local)
    add(element, "OrgnlMsgId", group.original_message_id)
    add(element, "OrgnlMsgNmId", group.original_message_name)
    if group.original_created_at is not None:
        add(element, "OrgnlCreDtTm", datetime_to_text(group.original_created_at))


def read_original_group(element: XmlElement) -> OriginalGroupReference:
    with located(element):
        return OriginalGroupReference(
            original_message_id=required_text(element, "OrgnlMsgId"),
            original_message_name=required_text(element, "OrgnlMsgNmId"),
            original_created_at=read_datetime(element, "OrgnlCreDtTm"),
        )


def read_optional_original_group(parent: XmlElement, local: str) -> OriginalGroupReference | None:
    element = child(parent, local)
    return None if element is None else read_original_group(element)


def write_group_status(parent: XmlElement, group: OriginalGroupStatus) -> None:
    """OrgnlGrpInfAndSts (OriginalGroupHeader17 / OriginalGroupInformation30)."""
    element = add(parent, "OrgnlGrpInfAndSts")
    add(element, "OrgnlMsgId", group.original_message_id)
    add(element, "OrgnlMsgNmId", group.original_message_name)
    if group.original_created_at is not None:
        add(element, "OrgnlCreDtTm", datetime_to_text(group.original_created_at))
    if group.status is not None:
        add(element, "GrpSts", group.status.value)
    for reason in group.reasons:
        write_reason(element, "StsRsnInf", reason)


def read_group_status(element: XmlElement) -> OriginalGroupStatus:
    with located(element):
        status = text_at(element, "GrpSts")
        return OriginalGroupStatus(
            original_message_id=required_text(element, "OrgnlMsgId"),
            original_message_name=required_text(element, "OrgnlMsgNmId"),
            original_created_at=read_datetime(element, "OrgnlCreDtTm"),
            status=None if status is None else read_enum(PaymentStatus, status, "status"),
            reasons=read_reasons(element, "StsRsnInf"),
        )


def write_transaction_status(
    parent: XmlElement, transaction: TransactionStatus, *, interbank: bool
) -> None:
    """TxInfAndSts: PaymentTransaction110 (pacs.002) when `interbank`, else 105/104 (pain)."""
    element = add(parent, "TxInfAndSts")
    if transaction.status_id is not None:
        add(element, "StsId", transaction.status_id)
    if interbank and transaction.original_group is not None:
        write_original_group(element, "OrgnlGrpInf", transaction.original_group)
    if transaction.original_instruction_id is not None:
        add(element, "OrgnlInstrId", transaction.original_instruction_id)
    if transaction.original_end_to_end_id is not None:
        add(element, "OrgnlEndToEndId", transaction.original_end_to_end_id)
    if interbank and transaction.original_transaction_id is not None:
        add(element, "OrgnlTxId", transaction.original_transaction_id)
    if transaction.original_uetr is not None:
        add(element, "OrgnlUETR", str(transaction.original_uetr))
    add(element, "TxSts", transaction.status.value)
    for reason in transaction.reasons:
        write_reason(element, "StsRsnInf", reason)
    if transaction.acceptance_datetime is not None:
        add(element, "AccptncDtTm", datetime_to_text(transaction.acceptance_datetime))


def read_transaction_status(element: XmlElement) -> TransactionStatus:
    with located(element):
        return TransactionStatus(
            status=read_enum(PaymentStatus, required_text(element, "TxSts"), "status"),
            original_end_to_end_id=text_at(element, "OrgnlEndToEndId"),
            original_transaction_id=text_at(element, "OrgnlTxId"),
            original_uetr=read_optional_uetr(element, "OrgnlUETR", "original_uetr"),
            original_instruction_id=text_at(element, "OrgnlInstrId"),
            original_group=read_optional_original_group(element, "OrgnlGrpInf"),
            status_id=text_at(element, "StsId"),
            reasons=read_reasons(element, "StsRsnInf"),
            acceptance_datetime=read_datetime(element, "AccptncDtTm"),
        )


# ---------------------------------------------------------------------------- group header


def write_group_header(body: XmlElement, message_id: str, created_at: datetime) -> XmlElement:
    """GrpHdr with MsgId and CreDtTm, the two fields every message here starts with."""
    header = add(body, "GrpHdr")
    add(header, "MsgId", message_id)
    add(header, "CreDtTm", datetime_to_text(created_at))
    return header


def read_group_header(header: XmlElement) -> dict[str, Any]:
    """MsgId and CreDtTm as the keyword arguments every message dataclass takes."""
    return {
        "message_id": required_text(header, "MsgId"),
        "created_at": read_required_datetime(header, "CreDtTm"),
    }
