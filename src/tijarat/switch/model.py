"""Participants and the alias directory (Raast ID): plain data and the rules about it.

A Raast ID is a Pakistani mobile number linked to exactly one IBAN, at most one per CNIC.
Moving it to another institution goes through a claim, as Brazil's Pix directory does:
the new institution claims, the customer confirms at the old one (or the claim completes by
itself after a resolution period), and every step is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber, mask_name

PARTICIPANT_CODE_LENGTH_MAX = 11  # a BIC is 8 or 11 characters
NAME_LENGTH_MAX = 140  # ISO 20022 Max140Text
CLAIM_RESOLUTION_S_DEFAULT = 7 * 86_400  # Pix gives the donor seven days
LOOKUPS_PER_MINUTE_DEFAULT = 600

# Hub ledger account codes (the kind of account, see ledger docs).
ACCOUNT_CODE_FUNDING = 1_001  # mirror of the hub's funding account at SBP (PRISM+)
ACCOUNT_CODE_SETTLEMENT = 1_002  # a participant's prefunded settlement position
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


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Participant:
    id: uuid.UUID
    code: str
    name: str
    category: ParticipantCategory
    bank_code: str | None  # the 4 letters in its customers' IBANs; none for a PISP
    sponsor_id: uuid.UUID | None
    status: ParticipantStatus
    settlement_account_id: uuid.UUID
    created_at: int

    @property
    def active(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE


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
