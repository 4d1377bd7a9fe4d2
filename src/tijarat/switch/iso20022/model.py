"""The ISO 20022 messages the hub speaks, as frozen dataclasses: the subset Tijarat uses.

Each message models the elements the hub reads and writes; parsing ignores optional elements
outside that subset (a tolerant reader), and building always writes XML that the official
XSD accepts. Every instance is checked when it is made, so a message that exists can be
built: identifiers fit Max35Text, names Max140Text, UETRs are version 4 UUIDs, amounts are
positive Money of at most 18 digits, date-times carry a UTC offset. A refusal is a
DomainError "iso20022_invalid_field" naming the field.

Sequences are tuples, so messages are hashable and immutable like the rest.

Accounts: an IBAN (the kernel's Pakistani Iban) and/or a Raast ID (the kernel's
MobileNumber). In XML the alias travels as Prxy (Tp/Prtry "MSISDN", Id "+923001234567");
CashAccount38 requires an Id as well, so an account known only by its alias also carries
the alias as Id/Othr/Id with SchmeNm/Prtry "MSISDN".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.kernel.money import Money
from tijarat.switch.iso20022._xml import MessageType, coded_error
from tijarat.switch.iso20022.errors import Iso20022Error
from tijarat.switch.iso20022.values import (
    AMOUNT_MINOR_XML_MAX,
    MAX35,
    MAX105,
    MAX140,
    MAX500,
    check_amount,
    check_bic,
    check_code,
    check_control_sum,
    check_date,
    check_date_or_datetime,
    check_datetime,
    check_enum,
    check_instance,
    check_items,
    check_lines,
    check_message_name,
    check_one_currency,
    check_optional,
    check_optional_datetime,
    check_optional_text,
    check_optional_uetr,
    check_signed_amount,
    check_text,
    check_uetr,
    invalid_field,
)

# Limits: a message is at most 1 MiB; these bounds stop an oversized one before it is built.
TRANSACTIONS_PER_MESSAGE_MAX = 5_000
PAYMENT_INSTRUCTIONS_PER_MESSAGE_MAX = 1_000
REMITTANCE_LINES_MAX = 10
REASONS_MAX = 10
REASON_LINES_MAX = 10
BALANCES_PER_STATEMENT_MAX = 20
STATEMENTS_PER_MESSAGE_MAX = 100
RAAST_ALIAS_PROXY_TYPE = "MSISDN"  # Prxy/Tp/Prtry of a Raast ID (a mobile number)
HUB_ACCOUNT_SCHEME = "HUBSTL"  # Othr/SchmeNm/Prtry of an account held at the hub


class SettlementMethod(StrEnum):
    CLRG = "CLRG"  # through the clearing system: the hub's way
    INDA = "INDA"
    INGA = "INGA"
    COVE = "COVE"


class ChargeBearer(StrEnum):
    SLEV = "SLEV"  # following the service level: the hub's way
    DEBT = "DEBT"
    CRED = "CRED"
    SHAR = "SHAR"


class PaymentStatus(StrEnum):
    """ISO ExternalPaymentTransactionStatus1Code / ExternalPaymentGroupStatus1Code values."""

    ACSC = "ACSC"  # accepted, settlement completed
    ACSP = "ACSP"  # accepted, settlement in process
    ACCC = "ACCC"  # accepted, creditor account credited
    ACCP = "ACCP"  # accepted, customer profile checked
    ACTC = "ACTC"  # accepted, technical validation passed
    ACWC = "ACWC"  # accepted with change
    PART = "PART"  # some transactions of a group accepted (group status only)
    PDNG = "PDNG"  # pending
    RCVD = "RCVD"  # received
    RJCT = "RJCT"  # rejected


class ReasonCode(StrEnum):
    """ISO status and return reason codes (ExternalStatusReason1Code, ExternalReturnReason1Code)
    an instant credit transfer meets."""

    AB03 = "AB03"  # settlement aborted: timeout
    AB04 = "AB04"  # settlement aborted: fatal error
    AB05 = "AB05"  # timeout at the creditor agent
    AB06 = "AB06"  # timeout at the instructed agent
    AB07 = "AB07"  # agent offline
    AB08 = "AB08"  # creditor agent offline
    AB09 = "AB09"  # error at the creditor agent
    AB10 = "AB10"  # error at the instructed agent
    AC01 = "AC01"  # incorrect account number
    AC02 = "AC02"  # invalid debtor account number
    AC03 = "AC03"  # invalid creditor account number
    AC04 = "AC04"  # closed account number
    AC05 = "AC05"  # closed debtor account number
    AC06 = "AC06"  # blocked account
    AC07 = "AC07"  # closed creditor account number
    AEXR = "AEXR"  # request to pay already expired
    AG01 = "AG01"  # transaction forbidden
    AG03 = "AG03"  # transaction type not supported
    AG09 = "AG09"  # payment not received
    AM01 = "AM01"  # zero amount
    AM02 = "AM02"  # amount not allowed
    AM03 = "AM03"  # currency not allowed
    AM04 = "AM04"  # insufficient funds
    AM05 = "AM05"  # duplication
    AM09 = "AM09"  # wrong amount
    AM23 = "AM23"  # amount exceeds settlement limit
    BE01 = "BE01"  # inconsistent with end customer
    BE04 = "BE04"  # missing creditor address
    BE05 = "BE05"  # unrecognised initiating party
    CNOR = "CNOR"  # creditor agent not registered
    CUST = "CUST"  # requested by customer
    DNOR = "DNOR"  # debtor agent not registered
    DUPL = "DUPL"  # duplicate payment
    FF01 = "FF01"  # invalid file format
    FOCR = "FOCR"  # following cancellation request
    FRAD = "FRAD"  # fraudulent origin
    MD06 = "MD06"  # refund requested by end customer
    MS02 = "MS02"  # reason not specified, customer generated
    MS03 = "MS03"  # reason not specified, agent generated
    NARR = "NARR"  # narrative: see the additional information
    RC01 = "RC01"  # bank identifier incorrect
    RR04 = "RR04"  # regulatory reason
    TM01 = "TM01"  # received after the cut-off time


class BalanceType(StrEnum):
    OPBD = "OPBD"  # opening booked
    CLBD = "CLBD"  # closing booked
    ITBD = "ITBD"  # interim booked
    OPAV = "OPAV"  # opening available
    CLAV = "CLAV"  # closing available
    ITAV = "ITAV"  # interim available
    FWAV = "FWAV"  # forward available
    PRCD = "PRCD"  # previously closed booked


class EntryStatus(StrEnum):
    BOOK = "BOOK"
    PDNG = "PDNG"
    INFO = "INFO"


# ---------------------------------------------------------------------------- building blocks


@dataclass(frozen=True, slots=True)
class Agent:
    """A financial institution (BranchAndFinancialInstitutionIdentification6/FinInstnId):
    a participant known by its BIC, its hub member id (ClrSysMmbId/MmbId), or both."""

    bic: str | None = None
    member_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.bic is None and self.member_id is None:
            raise invalid_field("agent", "an agent needs a BIC or a member id")
        if self.bic is not None:
            check_bic(self.bic, "bic")
        check_optional_text(self.member_id, "member_id", MAX35)
        check_optional_text(self.name, "name", MAX140)


@dataclass(frozen=True, slots=True)
class Party:
    """A debtor, creditor or initiating party (PartyIdentification135): its name."""

    name: str

    def __post_init__(self) -> None:
        check_text(self.name, "name", MAX140)


@dataclass(frozen=True, slots=True)
class Account:
    """A cash account (CashAccount38): an IBAN, a Raast ID (alias), or both; or an account
    held at the hub itself (a participant's settlement account), named by `hub_account`."""

    iban: Iban | None = None
    proxy: MobileNumber | None = None
    hub_account: str | None = None  # Id/Othr/Id with SchmeNm/Prtry HUB_ACCOUNT_SCHEME

    def __post_init__(self) -> None:
        check_optional(self.iban, Iban, "iban")
        check_optional(self.proxy, MobileNumber, "proxy")
        check_optional_text(self.hub_account, "hub_account", 34)
        if self.iban is None and self.proxy is None and self.hub_account is None:
            raise invalid_field("account", "an account needs an IBAN, a Raast ID or a hub id")
        if self.hub_account is not None and (self.iban is not None or self.proxy is not None):
            raise invalid_field("account", "a hub account has no IBAN or Raast ID")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why (StsRsnInf / RtrRsnInf): an ISO code or a proprietary one, plus free text."""

    code: ReasonCode | None = None
    proprietary: str | None = None
    additional_information: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.code is None) == (self.proprietary is None):
            raise invalid_field("reason", "a reason has either a code or a proprietary code")
        if self.code is not None:
            check_enum(self.code, ReasonCode, "code")
        check_optional_text(self.proprietary, "proprietary", MAX35)
        check_lines(self.additional_information, "additional_information", MAX105, REASON_LINES_MAX)


@dataclass(frozen=True, slots=True)
class OriginalGroupReference:
    """The message a status, request or return refers to (OrgnlGrpInf)."""

    original_message_id: str
    original_message_name: str  # e.g. "pacs.008.001.08"
    original_created_at: datetime | None = None

    def __post_init__(self) -> None:
        check_text(self.original_message_id, "original_message_id", MAX35)
        check_message_name(self.original_message_name, "original_message_name")
        check_optional_datetime(self.original_created_at, "original_created_at")


def _check_agents(instructing: object, instructed: object) -> None:
    check_optional(instructing, Agent, "instructing_agent")
    check_optional(instructed, Agent, "instructed_agent")


def _check_total(amounts: list[Money], field: str) -> None:
    check_one_currency(amounts, field)
    if sum(amount.amount_minor for amount in amounts) > AMOUNT_MINOR_XML_MAX:
        raise invalid_field(field, f"the total of {field} has more than 18 digits")


# ---------------------------------------------------------------------------- pacs.008


@dataclass(frozen=True, slots=True)
class CreditTransferTransaction:
    """One customer credit transfer (CdtTrfTxInf). The hub requires TxId and UETR."""

    end_to_end_id: str
    transaction_id: str
    uetr: UUID
    amount: Money
    debtor: Party
    debtor_account: Account
    debtor_agent: Agent
    creditor: Party
    creditor_account: Account
    creditor_agent: Agent
    instruction_id: str | None = None
    charge_bearer: ChargeBearer = ChargeBearer.SLEV
    local_instrument: str | None = None  # PmtTpInf/LclInstrm/Prtry, e.g. "P2P", "P2M"
    purpose: str | None = None  # Purp/Cd, an ISO purpose code such as "SALA"
    remittance_information: tuple[str, ...] = ()  # RmtInf/Ustrd lines

    def __post_init__(self) -> None:
        check_text(self.end_to_end_id, "end_to_end_id", MAX35)
        check_text(self.transaction_id, "transaction_id", MAX35)
        check_uetr(self.uetr, "uetr")
        check_amount(self.amount, "amount")
        for field in ("debtor", "creditor"):
            check_instance(getattr(self, field), Party, field)
        for field in ("debtor_account", "creditor_account"):
            check_instance(getattr(self, field), Account, field)
        for field in ("debtor_agent", "creditor_agent"):
            check_instance(getattr(self, field), Agent, field)
        check_optional_text(self.instruction_id, "instruction_id", MAX35)
        check_enum(self.charge_bearer, ChargeBearer, "charge_bearer")
        check_optional_text(self.local_instrument, "local_instrument", MAX35)
        if self.purpose is not None:
            check_code(self.purpose, "purpose")
        check_lines(
            self.remittance_information, "remittance_information", MAX140, REMITTANCE_LINES_MAX
        )


@dataclass(frozen=True, slots=True)
class CustomerCreditTransfer:
    """pacs.008.001.08 FIToFICstmrCdtTrf: credit transfers in one settlement currency."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PACS_008

    message_id: str
    created_at: datetime
    transactions: tuple[CreditTransferTransaction, ...]
    settlement_method: SettlementMethod = SettlementMethod.CLRG
    settlement_date: date | None = None
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_items(
            self.transactions,
            CreditTransferTransaction,
            "transactions",
            1,
            TRANSACTIONS_PER_MESSAGE_MAX,
        )
        _check_total([transaction.amount for transaction in self.transactions], "transactions")
        check_enum(self.settlement_method, SettlementMethod, "settlement_method")
        if self.settlement_date is not None:
            check_date(self.settlement_date, "settlement_date")
        _check_agents(self.instructing_agent, self.instructed_agent)

    @property
    def total(self) -> Money:
        """TtlIntrBkSttlmAmt: the sum of the transactions."""
        currency = self.transactions[0].amount.currency
        return Money(sum(tx.amount.amount_minor for tx in self.transactions), currency)


# ---------------------------------------------------------------------------- statuses


@dataclass(frozen=True, slots=True)
class OriginalGroupStatus:
    """OrgnlGrpInfAndSts: the status of a whole original message."""

    original_message_id: str
    original_message_name: str
    original_created_at: datetime | None = None
    status: PaymentStatus | None = None
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.original_message_id, "original_message_id", MAX35)
        check_message_name(self.original_message_name, "original_message_name")
        check_optional_datetime(self.original_created_at, "original_created_at")
        check_optional(self.status, PaymentStatus, "status")
        check_items(self.reasons, Reason, "reasons", 0, REASONS_MAX)
        if self.status is PaymentStatus.RJCT and not self.reasons:
            raise invalid_field("reasons", "a rejection must say why")


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """TxInfAndSts: the status of one original transaction, found by its original ids.

    `original_group` and `original_transaction_id` exist in pacs.002 only; pain.002 and
    pain.014 have no place for them, so PaymentInstructionStatus refuses them.
    """

    status: PaymentStatus
    original_end_to_end_id: str | None = None
    original_transaction_id: str | None = None
    original_uetr: UUID | None = None
    original_instruction_id: str | None = None
    original_group: OriginalGroupReference | None = None
    status_id: str | None = None
    reasons: tuple[Reason, ...] = ()
    acceptance_datetime: datetime | None = None

    def __post_init__(self) -> None:
        check_enum(self.status, PaymentStatus, "status")
        check_optional_text(self.original_end_to_end_id, "original_end_to_end_id", MAX35)
        check_optional_text(self.original_transaction_id, "original_transaction_id", MAX35)
        check_optional_uetr(self.original_uetr, "original_uetr")
        check_optional_text(self.original_instruction_id, "original_instruction_id", MAX35)
        if (
            self.original_end_to_end_id is None
            and self.original_transaction_id is None
            and self.original_uetr is None
        ):
            raise invalid_field(
                "original_end_to_end_id",
                "a transaction status names its transaction: end-to-end id, TxId or UETR",
            )
        check_optional(self.original_group, OriginalGroupReference, "original_group")
        check_optional_text(self.status_id, "status_id", MAX35)
        check_items(self.reasons, Reason, "reasons", 0, REASONS_MAX)
        if self.status is PaymentStatus.RJCT and not self.reasons:
            raise invalid_field("reasons", "a rejection must say why")
        check_optional_datetime(self.acceptance_datetime, "acceptance_datetime")


@dataclass(frozen=True, slots=True)
class PaymentStatusReport:
    """pacs.002.001.10 FIToFIPmtStsRpt."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PACS_002

    message_id: str
    created_at: datetime
    original_groups: tuple[OriginalGroupStatus, ...] = ()
    transactions: tuple[TransactionStatus, ...] = ()
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_items(self.original_groups, OriginalGroupStatus, "original_groups", 0, REASONS_MAX)
        check_items(
            self.transactions, TransactionStatus, "transactions", 0, TRANSACTIONS_PER_MESSAGE_MAX
        )
        if not self.original_groups and not self.transactions:
            raise invalid_field("transactions", "a status report reports on something")
        _check_agents(self.instructing_agent, self.instructed_agent)


# ---------------------------------------------------------------------------- pacs.028


@dataclass(frozen=True, slots=True)
class StatusRequestTransaction:
    """TxInf of a status request: which transaction the sender asks about."""

    original_end_to_end_id: str | None = None
    original_transaction_id: str | None = None
    original_uetr: UUID | None = None
    original_instruction_id: str | None = None
    original_group: OriginalGroupReference | None = None
    status_request_id: str | None = None

    def __post_init__(self) -> None:
        check_optional_text(self.original_end_to_end_id, "original_end_to_end_id", MAX35)
        check_optional_text(self.original_transaction_id, "original_transaction_id", MAX35)
        check_optional_uetr(self.original_uetr, "original_uetr")
        check_optional_text(self.original_instruction_id, "original_instruction_id", MAX35)
        if (
            self.original_end_to_end_id is None
            and self.original_transaction_id is None
            and self.original_uetr is None
        ):
            raise invalid_field(
                "original_end_to_end_id",
                "a status request names its transaction: end-to-end id, TxId or UETR",
            )
        check_optional(self.original_group, OriginalGroupReference, "original_group")
        check_optional_text(self.status_request_id, "status_request_id", MAX35)


@dataclass(frozen=True, slots=True)
class PaymentStatusRequest:
    """pacs.028.001.03 FIToFIPmtStsReq."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PACS_028

    message_id: str
    created_at: datetime
    original_groups: tuple[OriginalGroupReference, ...] = ()
    transactions: tuple[StatusRequestTransaction, ...] = ()
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_items(self.original_groups, OriginalGroupReference, "original_groups", 0, REASONS_MAX)
        check_items(
            self.transactions,
            StatusRequestTransaction,
            "transactions",
            0,
            TRANSACTIONS_PER_MESSAGE_MAX,
        )
        if not self.original_groups and not self.transactions:
            raise invalid_field("transactions", "a status request asks about something")
        _check_agents(self.instructing_agent, self.instructed_agent)


# ---------------------------------------------------------------------------- pacs.004


@dataclass(frozen=True, slots=True)
class ReturnTransaction:
    """TxInf of a payment return: the original payment, the amount sent back, and why."""

    return_id: str
    original_end_to_end_id: str
    original_transaction_id: str
    original_uetr: UUID
    returned_amount: Money
    reason: Reason
    original_amount: Money | None = None
    original_instruction_id: str | None = None
    original_group: OriginalGroupReference | None = None
    charge_bearer: ChargeBearer | None = ChargeBearer.SLEV

    def __post_init__(self) -> None:
        check_text(self.return_id, "return_id", MAX35)
        check_text(self.original_end_to_end_id, "original_end_to_end_id", MAX35)
        check_text(self.original_transaction_id, "original_transaction_id", MAX35)
        check_uetr(self.original_uetr, "original_uetr")
        check_amount(self.returned_amount, "returned_amount")
        check_instance(self.reason, Reason, "reason")
        if self.original_amount is not None:
            check_amount(self.original_amount, "original_amount")
            check_one_currency([self.original_amount, self.returned_amount], "returned_amount")
            if self.returned_amount.amount_minor > self.original_amount.amount_minor:
                raise invalid_field("returned_amount", "a return cannot exceed the original amount")
        check_optional_text(self.original_instruction_id, "original_instruction_id", MAX35)
        check_optional(self.original_group, OriginalGroupReference, "original_group")
        check_optional(self.charge_bearer, ChargeBearer, "charge_bearer")


@dataclass(frozen=True, slots=True)
class PaymentReturn:
    """pacs.004.001.09 PmtRtr: returns in one settlement currency."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PACS_004

    message_id: str
    created_at: datetime
    transactions: tuple[ReturnTransaction, ...]
    settlement_method: SettlementMethod = SettlementMethod.CLRG
    settlement_date: date | None = None
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_items(
            self.transactions, ReturnTransaction, "transactions", 1, TRANSACTIONS_PER_MESSAGE_MAX
        )
        _check_total([tx.returned_amount for tx in self.transactions], "transactions")
        check_enum(self.settlement_method, SettlementMethod, "settlement_method")
        if self.settlement_date is not None:
            check_date(self.settlement_date, "settlement_date")
        _check_agents(self.instructing_agent, self.instructed_agent)

    @property
    def total(self) -> Money:
        """TtlRtrdIntrBkSttlmAmt: the sum of the returned amounts."""
        currency = self.transactions[0].returned_amount.currency
        return Money(sum(tx.returned_amount.amount_minor for tx in self.transactions), currency)


# ---------------------------------------------------------------------------- pain.001


@dataclass(frozen=True, slots=True)
class InitiationTransaction:
    """CdtTrfTxInf of a pain.001 payment instruction: one payee."""

    end_to_end_id: str
    amount: Money
    creditor: Party
    creditor_account: Account
    creditor_agent: Agent | None = None
    instruction_id: str | None = None
    uetr: UUID | None = None
    purpose: str | None = None
    remittance_information: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.end_to_end_id, "end_to_end_id", MAX35)
        check_amount(self.amount, "amount")
        check_instance(self.creditor, Party, "creditor")
        check_instance(self.creditor_account, Account, "creditor_account")
        check_optional(self.creditor_agent, Agent, "creditor_agent")
        check_optional_text(self.instruction_id, "instruction_id", MAX35)
        check_optional_uetr(self.uetr, "uetr")
        if self.purpose is not None:
            check_code(self.purpose, "purpose")
        check_lines(
            self.remittance_information, "remittance_information", MAX140, REMITTANCE_LINES_MAX
        )


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    """PmtInf of a pain.001: one debit account paying many payees."""

    payment_information_id: str
    requested_execution: date | datetime  # ReqdExctnDt/Dt or ReqdExctnDt/DtTm
    debtor: Party
    debtor_account: Account
    debtor_agent: Agent
    transactions: tuple[InitiationTransaction, ...]
    batch_booking: bool | None = None
    charge_bearer: ChargeBearer | None = ChargeBearer.SLEV

    def __post_init__(self) -> None:
        check_text(self.payment_information_id, "payment_information_id", MAX35)
        check_date_or_datetime(self.requested_execution, "requested_execution")
        check_instance(self.debtor, Party, "debtor")
        check_instance(self.debtor_account, Account, "debtor_account")
        check_instance(self.debtor_agent, Agent, "debtor_agent")
        check_items(
            self.transactions,
            InitiationTransaction,
            "transactions",
            1,
            TRANSACTIONS_PER_MESSAGE_MAX,
        )
        check_optional(self.batch_booking, bool, "batch_booking")
        check_optional(self.charge_bearer, ChargeBearer, "charge_bearer")


@dataclass(frozen=True, slots=True)
class CustomerCreditTransferInitiation:
    """pain.001.001.09 CstmrCdtTrfInitn: a bulk payments file."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PAIN_001

    message_id: str
    created_at: datetime
    initiating_party: Party
    payment_instructions: tuple[PaymentInstruction, ...]

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_instance(self.initiating_party, Party, "initiating_party")
        check_instruction_batch(
            self.payment_instructions, PaymentInstruction, self.transactions, "file"
        )

    @property
    def transactions(self) -> list[InitiationTransaction]:
        return [tx for instruction in self.payment_instructions for tx in instruction.transactions]


def check_instruction_batch(
    instructions: tuple[Any, ...], kind: type, transactions: list[Any], noun: str
) -> None:
    """pain.001 and pain.013 alike: 1 to N instructions, at most M payees in all, and the
    amounts must add up (the control sum written in the group header)."""
    check_items(instructions, kind, "payment_instructions", 1, PAYMENT_INSTRUCTIONS_PER_MESSAGE_MAX)
    if len(transactions) > TRANSACTIONS_PER_MESSAGE_MAX:
        raise invalid_field(
            "payment_instructions",
            f"a {noun} holds at most {TRANSACTIONS_PER_MESSAGE_MAX} transactions",
            len(transactions),
        )
    check_control_sum([tx.amount for tx in transactions], "payment_instructions")


# ---------------------------------------------------------------------------- pain.002/014


@dataclass(frozen=True, slots=True)
class PaymentInstructionStatus:
    """OrgnlPmtInfAndSts: the status of one original payment instruction and its payees."""

    original_payment_information_id: str
    status: PaymentStatus | None = None
    reasons: tuple[Reason, ...] = ()
    transactions: tuple[TransactionStatus, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.original_payment_information_id, "original_payment_information_id", MAX35)
        check_optional(self.status, PaymentStatus, "status")
        check_items(self.reasons, Reason, "reasons", 0, REASONS_MAX)
        if self.status is PaymentStatus.RJCT and not self.reasons:
            raise invalid_field("reasons", "a rejection must say why")
        check_items(
            self.transactions, TransactionStatus, "transactions", 0, TRANSACTIONS_PER_MESSAGE_MAX
        )
        for transaction in self.transactions:
            if (
                transaction.original_group is not None
                or transaction.original_transaction_id is not None
            ):
                raise invalid_field(
                    "transactions",
                    "a customer status report has no original group or TxId per transaction",
                )


@dataclass(frozen=True, slots=True)
class CustomerPaymentStatusReport:
    """pain.002.001.10 CstmrPmtStsRpt: the bank's answer to a pain.001."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PAIN_002

    message_id: str
    created_at: datetime
    original_group: OriginalGroupStatus
    payment_instructions: tuple[PaymentInstructionStatus, ...] = ()
    initiating_party: Party | None = None

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_instance(self.original_group, OriginalGroupStatus, "original_group")
        check_items(
            self.payment_instructions,
            PaymentInstructionStatus,
            "payment_instructions",
            0,
            PAYMENT_INSTRUCTIONS_PER_MESSAGE_MAX,
        )
        check_optional(self.initiating_party, Party, "initiating_party")


@dataclass(frozen=True, slots=True)
class RequestToPayResponse:
    """pain.014.001.07 CdtrPmtActvtnReqStsRpt: the payer side's answer to a request to pay."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PAIN_014

    message_id: str
    created_at: datetime
    initiating_party: Party
    original_group: OriginalGroupStatus
    payment_instructions: tuple[PaymentInstructionStatus, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_instance(self.initiating_party, Party, "initiating_party")
        check_instance(self.original_group, OriginalGroupStatus, "original_group")
        check_items(
            self.payment_instructions,
            PaymentInstructionStatus,
            "payment_instructions",
            0,
            PAYMENT_INSTRUCTIONS_PER_MESSAGE_MAX,
        )


# ---------------------------------------------------------------------------- pain.013


@dataclass(frozen=True, slots=True)
class RequestToPayTransaction:
    """CdtTrfTx of a request to pay: what the payee asks for and where to pay it."""

    end_to_end_id: str
    amount: Money
    creditor: Party
    creditor_account: Account
    creditor_agent: Agent
    instruction_id: str | None = None
    uetr: UUID | None = None
    charge_bearer: ChargeBearer = ChargeBearer.SLEV
    purpose: str | None = None
    remittance_information: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.end_to_end_id, "end_to_end_id", MAX35)
        check_amount(self.amount, "amount")
        check_instance(self.creditor, Party, "creditor")
        check_instance(self.creditor_account, Account, "creditor_account")
        check_instance(self.creditor_agent, Agent, "creditor_agent")
        check_optional_text(self.instruction_id, "instruction_id", MAX35)
        check_optional_uetr(self.uetr, "uetr")
        check_enum(self.charge_bearer, ChargeBearer, "charge_bearer")
        if self.purpose is not None:
            check_code(self.purpose, "purpose")
        check_lines(
            self.remittance_information, "remittance_information", MAX140, REMITTANCE_LINES_MAX
        )


@dataclass(frozen=True, slots=True)
class RequestToPayInstruction:
    """PmtInf of a request to pay: the payer, when to pay, and until when the request holds."""

    requested_execution: date | datetime
    debtor: Party
    debtor_agent: Agent
    transactions: tuple[RequestToPayTransaction, ...]
    payment_information_id: str | None = None
    expiry: date | datetime | None = None
    debtor_account: Account | None = None

    def __post_init__(self) -> None:
        check_date_or_datetime(self.requested_execution, "requested_execution")
        check_instance(self.debtor, Party, "debtor")
        check_instance(self.debtor_agent, Agent, "debtor_agent")
        check_items(
            self.transactions,
            RequestToPayTransaction,
            "transactions",
            1,
            TRANSACTIONS_PER_MESSAGE_MAX,
        )
        check_optional_text(self.payment_information_id, "payment_information_id", MAX35)
        if self.expiry is not None:
            check_date_or_datetime(self.expiry, "expiry")
        check_optional(self.debtor_account, Account, "debtor_account")


@dataclass(frozen=True, slots=True)
class RequestToPay:
    """pain.013.001.07 CdtrPmtActvtnReq: a payee asks a payer to pay ("now" or "later")."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PAIN_013

    message_id: str
    created_at: datetime
    initiating_party: Party
    payment_instructions: tuple[RequestToPayInstruction, ...]

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_instance(self.initiating_party, Party, "initiating_party")
        check_instruction_batch(
            self.payment_instructions, RequestToPayInstruction, self.transactions, "request"
        )

    @property
    def transactions(self) -> list[RequestToPayTransaction]:
        return [tx for instruction in self.payment_instructions for tx in instruction.transactions]


# ---------------------------------------------------------------------------- camt.053


@dataclass(frozen=True, slots=True)
class Balance:
    """Bal: a signed amount (negative = DBIT, zero and positive = CRDT) at a date."""

    type: BalanceType
    amount: Money
    at: date | datetime  # Dt/Dt or Dt/DtTm

    def __post_init__(self) -> None:
        check_enum(self.type, BalanceType, "type")
        check_signed_amount(self.amount, "amount")
        check_date_or_datetime(self.at, "at")


@dataclass(frozen=True, slots=True)
class BankTransactionCode:
    """BkTxCd/Domn: ISO domain, family and sub-family, e.g. PMNT / RCDT / ESCT."""

    domain: str
    family: str
    sub_family: str

    def __post_init__(self) -> None:
        check_code(self.domain, "domain")
        check_code(self.family, "family")
        check_code(self.sub_family, "sub_family")


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """Ntry: one movement on the account; a credit is positive, a debit negative."""

    amount: Money
    status: EntryStatus
    bank_transaction_code: BankTransactionCode | None = None
    booking_date: date | datetime | None = None
    value_date: date | datetime | None = None
    entry_reference: str | None = None
    account_servicer_reference: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: UUID | None = None
    debtor: Party | None = None
    debtor_account: Account | None = None
    creditor: Party | None = None
    creditor_account: Account | None = None
    remittance_information: tuple[str, ...] = ()
    additional_information: str | None = None

    def __post_init__(self) -> None:
        check_signed_amount(self.amount, "amount")
        check_enum(self.status, EntryStatus, "status")
        check_optional(self.bank_transaction_code, BankTransactionCode, "bank_transaction_code")
        for field in ("booking_date", "value_date"):
            if getattr(self, field) is not None:
                check_date_or_datetime(getattr(self, field), field)
        for field in (
            "entry_reference",
            "account_servicer_reference",
            "end_to_end_id",
            "transaction_id",
        ):
            check_optional_text(getattr(self, field), field, MAX35)
        check_optional_uetr(self.uetr, "uetr")
        check_optional(self.debtor, Party, "debtor")
        check_optional(self.debtor_account, Account, "debtor_account")
        check_optional(self.creditor, Party, "creditor")
        check_optional(self.creditor_account, Account, "creditor_account")
        check_lines(
            self.remittance_information, "remittance_information", MAX140, REMITTANCE_LINES_MAX
        )
        check_optional_text(self.additional_information, "additional_information", MAX500)

    @property
    def has_details(self) -> bool:
        """Whether the entry carries transaction details (NtryDtls/TxDtls)."""
        return any(
            value is not None
            for value in (
                self.end_to_end_id,
                self.transaction_id,
                self.uetr,
                self.debtor,
                self.debtor_account,
                self.creditor,
                self.creditor_account,
            )
        ) or bool(self.remittance_information)


@dataclass(frozen=True, slots=True)
class AccountStatement:
    """Stmt: one account's balances and entries over a period, all in one currency."""

    statement_id: str
    account: Account
    balances: tuple[Balance, ...]
    entries: tuple[StatementEntry, ...] = ()
    created_at: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    electronic_sequence_number: int | None = None
    account_owner: Party | None = None
    account_servicer: Agent | None = None

    def __post_init__(self) -> None:
        check_text(self.statement_id, "statement_id", MAX35)
        check_instance(self.account, Account, "account")
        check_items(self.balances, Balance, "balances", 1, BALANCES_PER_STATEMENT_MAX)
        check_items(self.entries, StatementEntry, "entries", 0, TRANSACTIONS_PER_MESSAGE_MAX)
        check_one_currency(
            [balance.amount for balance in self.balances]
            + [entry.amount for entry in self.entries],
            "statement",
        )
        check_optional_datetime(self.created_at, "created_at")
        if (self.period_start is None) != (self.period_end is None):
            raise invalid_field("period_start", "a period has both a start and an end")
        check_optional_datetime(self.period_start, "period_start")
        check_optional_datetime(self.period_end, "period_end")
        if (
            self.period_start is not None
            and self.period_end is not None
            and self.period_start > self.period_end
        ):
            raise invalid_field("period_end", "a period cannot end before it starts")
        if self.electronic_sequence_number is not None and (
            type(self.electronic_sequence_number) is not int
            or not 0 <= self.electronic_sequence_number <= AMOUNT_MINOR_XML_MAX
        ):
            raise invalid_field(
                "electronic_sequence_number",
                "the sequence number is a whole number of at most 18 digits",
                self.electronic_sequence_number,
            )
        check_optional(self.account_owner, Party, "account_owner")
        check_optional(self.account_servicer, Agent, "account_servicer")


@dataclass(frozen=True, slots=True)
class BankToCustomerStatement:
    """camt.053.001.08 BkToCstmrStmt."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.CAMT_053

    message_id: str
    created_at: datetime
    statements: tuple[AccountStatement, ...]

    def __post_init__(self) -> None:
        check_text(self.message_id, "message_id", MAX35)
        check_datetime(self.created_at, "created_at")
        check_items(self.statements, AccountStatement, "statements", 1, STATEMENTS_PER_MESSAGE_MAX)


# ---------------------------------------------------------------------------- head.001


@dataclass(frozen=True, slots=True)
class BusinessApplicationHeader:
    """head.001.001.02 AppHdr: who sends which message to whom."""

    from_agent: Agent  # Fr/FIId
    to_agent: Agent  # To/FIId
    business_message_id: str  # BizMsgIdr, usually the document's MsgId
    message_definition_id: str  # MsgDefIdr, e.g. "pacs.008.001.08"
    created_at: datetime  # CreDt
    business_service: str | None = None  # BizSvc, e.g. a scheme's service name
    possible_duplicate: bool = False  # PssblDplct, set when resending

    def __post_init__(self) -> None:
        check_instance(self.from_agent, Agent, "from_agent")
        check_instance(self.to_agent, Agent, "to_agent")
        check_text(self.business_message_id, "business_message_id", MAX35)
        check_message_name(self.message_definition_id, "message_definition_id")
        check_datetime(self.created_at, "created_at")
        check_optional_text(self.business_service, "business_service", MAX35)
        check_instance(self.possible_duplicate, bool, "possible_duplicate")


Message = (
    CustomerCreditTransfer
    | PaymentStatusReport
    | PaymentStatusRequest
    | PaymentReturn
    | CustomerCreditTransferInitiation
    | CustomerPaymentStatusReport
    | RequestToPay
    | RequestToPayResponse
    | BankToCustomerStatement
)
MESSAGE_CLASSES: tuple[type[Message], ...] = (
    CustomerCreditTransfer,
    PaymentStatusReport,
    PaymentStatusRequest,
    PaymentReturn,
    CustomerCreditTransferInitiation,
    CustomerPaymentStatusReport,
    RequestToPay,
    RequestToPayResponse,
    BankToCustomerStatement,
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An AppHdr and the Document it describes, travelling together (see transport)."""

    header: BusinessApplicationHeader
    document: Message

    @classmethod
    def of(cls, document: Message, *, sender: str, receiver: str) -> Envelope:
        """The document under the AppHdr it implies: from one member id to another, its
        own message id, type and creation time."""
        return cls(
            BusinessApplicationHeader(
                from_agent=Agent(member_id=sender),
                to_agent=Agent(member_id=receiver),
                business_message_id=document.message_id,
                message_definition_id=document.MESSAGE_TYPE.value,
                created_at=document.created_at,
            ),
            document,
        )

    def __post_init__(self) -> None:
        check_instance(self.header, BusinessApplicationHeader, "header")
        check_instance(self.document, MESSAGE_CLASSES, "document")
        if self.header.message_definition_id != self.document.MESSAGE_TYPE.value:
            raise coded_error(
                Iso20022Error.HEADER_MISMATCH,
                "the header's MsgDefIdr must name the document's message type",
                message_definition_id=self.header.message_definition_id,
                message_type=self.document.MESSAGE_TYPE.value,
            )
