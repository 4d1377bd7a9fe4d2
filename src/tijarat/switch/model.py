"""Participants and the alias directory (Raast ID): plain data and the rules about it.

A Raast ID is a Pakistani mobile number linked to exactly one IBAN, at most one per CNIC.
Moving it to another institution goes through a claim, as Brazil's Pix directory does:
the new institution claims, the customer confirms at the old one (or the claim completes by
itself after a resolution period), and every step is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber, mask_name

PARTICIPANT_CODE_LENGTH_MAX = 11  # a BIC is 8 or 11 characters
NAME_LENGTH_MAX = 140  # ISO 20022 Max140Text
CLAIM_RESOLUTION_S_DEFAULT = 7 * 86_400  # Pix gives the donor seven days
LOOKUPS_PER_MINUTE_DEFAULT = 600

# Hub ledger account codes (the kind of account, see ledger docs).
ACCOUNT_CODE_FUNDING = 1_001  # mirror of the hub's funding account at SBP (PRISM+)
ACCOUNT_CODE_SETTLEMENT = 1_002  # a participant's prefunded settlement position
# On-us payments (payer and payee at one participant) pass through it: the reservation holds
# the payer's funds there, and settlement hands them straight back. Always zero when idle.
ACCOUNT_CODE_ON_US = 1_003
# Hub transfer codes (why money moved).
TRANSFER_CODE_FUND_IN = 1_101
TRANSFER_CODE_FUND_OUT = 1_102


class ParticipantCategory(StrEnum):
    DIRECT_SETTLEMENT = "direct_settlement"
    DIRECT_NON_SETTLEMENT = "direct_non_settlement"
    PAYMENT_INITIATION = "payment_initiation_service_provider"
    INDIRECT = "indirect"  # settles through a sponsor

    @property
    def holds_accounts(self) -> bool:
        """PISPs start payments but hold no customer accounts, so no IBANs or aliases."""
        return self is not ParticipantCategory.PAYMENT_INITIATION

    @property
    def settles_through_sponsor(self) -> bool:
        """Raast: only direct settlement participants hold funds at SBP (PRISM+); indirect
        and direct non-settlement participants settle in their sponsor's account."""
        return self in (ParticipantCategory.INDIRECT, ParticipantCategory.DIRECT_NON_SETTLEMENT)


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    # Active in its own right, but its sponsor is suspended: it cannot settle, so it is
    # stopped as if suspended. Set and cleared by the hub with the sponsor's status, never
    # by an operator directly.
    SPONSOR_SUSPENDED = "sponsor_suspended"


@dataclass(frozen=True, slots=True)
class Participant:
    id: uuid.UUID
    code: str
    name: str
    category: ParticipantCategory
    bank_code: str | None  # the 4 letters in its customers' IBANs; none for a PISP
    sponsor_id: uuid.UUID | None  # set: it settles in its sponsor's account
    status: ParticipantStatus
    # Where its payments reserve, post and void: its own, or its sponsor's when it has one
    # (then its status and net debit cap on record follow the sponsor's too, see
    # SwitchService.set_status): one fact read by every payment path and guard.
    settlement_account_id: uuid.UUID
    created_at: int

    @property
    def active(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE


def same_settlement_account(payer: Participant, payee: Participant) -> bool:
    """Whether a payment between them is on us for settlement: one account pays itself, so
    it passes through the hub's on-us account (the ledger moves nothing to the same account)."""
    return payer.settlement_account_id == payee.settlement_account_id


@dataclass(frozen=True, slots=True)
class Alias:
    number: MobileNumber
    iban: Iban
    participant_id: uuid.UUID
    cnic: Cnic
    account_title: str
    linked_at: int

    @property
    def masked_title(self) -> str:
        return mask_name(self.account_title)


@dataclass(frozen=True, slots=True)
class AliasLookup:
    """What a lookup answers: enough to pay, never the full name or IBAN to a stranger."""

    number: str
    participant_code: str
    participant_name: str
    masked_title: str
    iban: str | None  # only for the participant that holds the alias


class ClaimStatus(StrEnum):
    OPEN = "open"  # waiting for the customer to confirm at the donor
    COMPLETED = "completed"
    REJECTED = "rejected"  # the customer refused at the donor
    CANCELLED = "cancelled"  # the claimant withdrew


@dataclass(frozen=True, slots=True)
class AliasClaim:
    id: uuid.UUID
    number: MobileNumber
    claimant_id: uuid.UUID
    donor_id: uuid.UUID
    iban: Iban
    account_title: str
    status: ClaimStatus
    created_at: int
    resolve_after: int  # completes by itself from this moment unless resolved before
    resolved_at: int | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    number: str
    action: str
    participant_id: uuid.UUID | None
    claim_id: uuid.UUID | None
    at: int
    detail: str


# ---------------------------------------------------------------------------- payments
PAYEE_TIMEOUT_S_DEFAULT = 20  # Raast: credit the customer within 20 s of the credit advice
TRANSFER_CODE_CREDIT_TRANSFER = 1_201
TRANSFER_CODE_RETURN = 1_202
TRANSFER_CODE_ON_US = 1_203  # an on-us payment's funds back from the on-us account
MAX35 = 35  # ISO 20022 Max35Text: MsgId, EndToEndId, TxId


class ReasonCode(StrEnum):
    """ISO 20022 external status reason codes the hub uses (ExternalStatusReason1Code)."""

    AC01 = "AC01"  # incorrect account number
    AC03 = "AC03"  # invalid creditor account number (unknown alias or IBAN)
    AC04 = "AC04"  # closed account
    AC06 = "AC06"  # blocked account
    AG01 = "AG01"  # transaction forbidden (participant suspended)
    AM02 = "AM02"  # amount not allowed (limits, caps)
    AM04 = "AM04"  # insufficient funds (payer participant's liquidity)
    AM05 = "AM05"  # duplication
    AM23 = "AM23"  # amount exceeds settlement limit (the participant's net debit cap)
    DUPL = "DUPL"  # duplicate payment: same ids, different content
    BE01 = "BE01"  # inconsistent with end customer
    RR04 = "RR04"  # regulatory reason (sandbox caps)
    AB05 = "AB05"  # timeout at the creditor agent
    AB06 = "AB06"  # timeout at the instructed agent
    FF01 = "FF01"  # invalid format
    CUST = "CUST"  # requested by the customer
    MD06 = "MD06"  # refund requested by the end customer
    FOCR = "FOCR"  # following a cancellation request


class PaymentStatus(StrEnum):
    """ISO 20022 transaction status: PDNG while the payee decides, then ACSC or RJCT."""

    PENDING = "PDNG"
    SETTLED = "ACSC"
    REJECTED = "RJCT"


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """What a payer participant asks the hub to do (the content of one pacs.008 transaction).

    The creditor is a Raast ID (`creditor_alias`) or an IBAN, exactly one of them.
    """

    msg_id: str
    end_to_end_id: str
    tx_id: str
    uetr: uuid.UUID
    amount_minor: int
    currency: str
    debtor_name: str
    debtor_iban: str
    creditor_alias: str | None = None
    creditor_iban: str | None = None
    creditor_name: str | None = None
    remittance_information: str | None = None
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    id: uuid.UUID  # also the id of its pending ledger transfer
    payer_id: uuid.UUID
    payee_id: uuid.UUID | None  # unknown when the creditor could not be resolved
    request: CreditTransfer
    creditor_iban: str | None
    status: PaymentStatus
    reason: ReasonCode | None
    created_at: int
    resolved_at: int | None
    returned_minor: int = 0


@dataclass(frozen=True, slots=True)
class PayeeDecision:
    """A payee participant's answer to a credit advice; None from a transport = no answer."""

    accept: bool
    reason: ReasonCode | None = None


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """A participant's settlement position over [from, to): what moved and why."""

    participant_code: str
    from_timestamp: int
    to_timestamp: int
    opening_minor: int  # settlement account: posted credits - posted debits
    closing_minor: int
    sent_count: int
    sent_minor: int
    received_count: int
    received_minor: int
    returned_out_minor: int  # returns this participant sent
    returned_in_minor: int  # returns this participant received
    funded_minor: int  # funds in less funds out


class RequestStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A request to pay (pain.013): a creditor asks a debtor, known by Raast ID, to pay.

    "Now" requests expire in minutes, "later" ones on a date; either way `expires_at` says
    when. Accepting one makes an ordinary credit transfer that names the request.
    """

    id: uuid.UUID
    creditor_participant_id: uuid.UUID
    debtor_participant_id: uuid.UUID
    creditor_name: str
    creditor_alias: str | None
    creditor_iban: str | None
    debtor_alias: str
    amount_minor: int
    currency: str
    reference: str | None
    expires_at: int
    status: RequestStatus
    reason: ReasonCode | None
    payment_id: uuid.UUID | None
    created_at: int
    end_to_end_id: str | None = None  # the creditor's id for it (pain.013 EndToEndId)


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    """One ISO 20022 envelope the hub received or sent, as the archive keeps it.

    Built first and archived later, in the same transaction as the change it belongs to
    (a payment row, a status), so a payment's messages cost no transactions of their own.
    """

    participant_id: uuid.UUID
    direction: str  # "in" or "out", seen from the hub
    message_type: str
    business_message_id: str
    body: bytes
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # the archive's id for it
    # A received message's Document MsgId, kept only where it differs from its AppHdr
    # BizMsgIdr (business_message_id): the duplicate MsgId check looks for both.
    document_message_id: str | None = None
