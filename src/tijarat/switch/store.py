"""Persistence for participants and the alias directory (SQLAlchemy Core; not a hot path)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber
from tijarat.switch.model import (
    Alias,
    AliasClaim,
    AuditEntry,
    ClaimStatus,
    Participant,
    ParticipantCategory,
    ParticipantStatus,
)

metadata = sa.MetaData()

participants_table = sa.Table(
    "switch_participants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("code", sa.String(11), nullable=False, unique=True),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("bank_code", sa.String(4), nullable=True, unique=True),
    sa.Column("sponsor_id", sa.Uuid, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settlement_account_id", sa.Uuid, nullable=False),
    sa.Column("credential_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

aliases_table = sa.Table(
    "switch_aliases",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),  # E.164: one alias per number
    sa.Column("iban", sa.String(24), nullable=False),
    sa.Column("participant_id", sa.Uuid, nullable=False, index=True),
    sa.Column("cnic", sa.String(13), nullable=False, unique=True),  # one Raast ID per CNIC
    sa.Column("account_title", sa.String(140), nullable=False),
    sa.Column("linked_at", sa.BigInteger, nullable=False),
)

claims_table = sa.Table(
    "switch_alias_claims",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("claimant_id", sa.Uuid, nullable=False),
    sa.Column("donor_id", sa.Uuid, nullable=False),
    sa.Column("iban", sa.String(24), nullable=False),
    sa.Column("account_title", sa.String(140), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("resolve_after", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
)

audit_table = sa.Table(
    "switch_alias_audit",
    metadata,
    # A sequence, not a timestamp, orders the trail: two steps may share a clock reading.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("participant_id", sa.Uuid, nullable=True),
    sa.Column("claim_id", sa.Uuid, nullable=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
)

lookup_windows_table = sa.Table(
    "switch_lookup_windows",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)


def participant_from_row(row: Any) -> Participant:
    return Participant(
        id=row.id,
        code=row.code,
        name=row.name,
        category=ParticipantCategory(row.category),
        bank_code=row.bank_code,
        sponsor_id=row.sponsor_id,
        status=ParticipantStatus(row.status),
        settlement_account_id=row.settlement_account_id,
        created_at=row.created_at,
    )


def alias_from_row(row: Any) -> Alias:
    return Alias(
        number=MobileNumber(row.number),
        iban=Iban(row.iban),
        participant_id=row.participant_id,
        cnic=Cnic(row.cnic),
        account_title=row.account_title,
        linked_at=row.linked_at,
    )


def claim_from_row(row: Any) -> AliasClaim:
    return AliasClaim(
        id=row.id,
        number=MobileNumber(row.number),
        claimant_id=row.claimant_id,
        donor_id=row.donor_id,
        iban=Iban(row.iban),
        account_title=row.account_title,
        status=ClaimStatus(row.status),
        created_at=row.created_at,
        resolve_after=row.resolve_after,
        resolved_at=row.resolved_at,
    )


def audit_from_row(row: Any) -> AuditEntry:
    return AuditEntry(
        number=row.number,
        action=row.action,
        participant_id=row.participant_id,
        claim_id=row.claim_id,
        at=row.at,
        detail=row.detail,
    )


def insert_audit(
    connection: sa.Connection,
    number: str,
    action: str,
    at: int,
    *,
    participant_id: uuid.UUID | None = None,
    claim_id: uuid.UUID | None = None,
    detail: str = "",
) -> None:
    connection.execute(
        audit_table.insert().values(
            number=number,
            action=action,
            participant_id=participant_id,
            claim_id=claim_id,
            at=at,
            detail=detail[:400],
        )
    )


def count_lookup(connection: sa.Connection, participant_id: uuid.UUID, window_start: int) -> int:
    """Count one lookup in the participant's current window; returns the window's count.

    One upsert, atomic on SQLite and PostgreSQL alike, so every worker process shares the
    same counter (an in-memory bucket per process would multiply the limit by the workers).
    """
    dialect = connection.dialect.name
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415
    else:
        from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415
    statement = insert(lookup_windows_table).values(
        participant_id=participant_id, window_start=window_start, count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["participant_id", "window_start"],
        set_={"count": lookup_windows_table.c.count + 1},
    ).returning(lookup_windows_table.c.count)
    count: int = connection.execute(statement).scalar_one()
    return count


def prune_lookup_windows(connection: sa.Connection, before: int) -> None:
    connection.execute(
        lookup_windows_table.delete().where(lookup_windows_table.c.window_start < before)
    )


def select_participants(connection: sa.Connection) -> Sequence[Participant]:
    rows = connection.execute(
        sa.select(participants_table).order_by(participants_table.c.code)
    ).all()
    return [participant_from_row(row) for row in rows]


payments_table = sa.Table(
    "switch_payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # also the id of the pending ledger transfer
    sa.Column("payer_id", sa.Uuid, nullable=False),
    sa.Column("payee_id", sa.Uuid, nullable=True),
    sa.Column("msg_id", sa.String(35), nullable=False),
    sa.Column("end_to_end_id", sa.String(35), nullable=False),
    sa.Column("tx_id", sa.String(35), nullable=False),
    sa.Column("uetr", sa.Uuid, nullable=False, unique=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("debtor_name", sa.String(140), nullable=False),
    sa.Column("debtor_iban", sa.String(34), nullable=False),
    sa.Column("creditor_alias", sa.String(16), nullable=True),
    sa.Column("creditor_iban", sa.String(34), nullable=True),
    sa.Column("creditor_name", sa.String(140), nullable=True),
    sa.Column("remittance_information", sa.String(140), nullable=True),
    sa.Column("purpose", sa.String(35), nullable=True),
    sa.Column("resolved_iban", sa.String(34), nullable=True),
    sa.Column("status", sa.String(4), nullable=False),
    sa.Column("reason", sa.String(4), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Column("returned_minor", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("payer_id", "end_to_end_id", name="ux_switch_payments_e2e"),
)

returns_table = sa.Table(
    "switch_returns",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # the client's return id = ledger transfer id
    sa.Column("payment_id", sa.Uuid, nullable=False, index=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(4), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)


requests_table = sa.Table(
    "switch_payment_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("creditor_participant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_participant_id", sa.Uuid, nullable=False, index=True),
    sa.Column("creditor_name", sa.String(140), nullable=False),
    sa.Column("creditor_alias", sa.String(16), nullable=True),
    sa.Column("creditor_iban", sa.String(34), nullable=True),
    sa.Column("debtor_alias", sa.String(16), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reference", sa.String(140), nullable=True),
    sa.Column("end_to_end_id", sa.String(35), nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(4), nullable=True),
    sa.Column("payment_id", sa.Uuid, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)


messages_table = sa.Table(
    "switch_messages",
    metadata,
    # A sequence orders the archive: a message and its answer may share a clock reading.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("id", sa.Uuid, nullable=False, unique=True),
    sa.Column("participant_id", sa.Uuid, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),  # "in" or "out", seen from the hub
    sa.Column("message_type", sa.String(20), nullable=False),
    sa.Column("business_message_id", sa.String(35), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

# An optional risk limit per participant: how far its payments sent may exceed those received
# within one settlement day (Pakistan time). Liquidity is the hard limit; the cap is the
# operator's softer one, refused with AM23 before funds are reserved.
net_debit_caps_table = sa.Table(
    "switch_net_debit_caps",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("cap_minor", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Where the hub delivers a participant's credit advices and status reports over HTTP, and the
# secret it signs them with (HMAC-SHA256; kept in clear because the hub must sign with it).
endpoints_table = sa.Table(
    "switch_endpoints",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("url", sa.String(400), nullable=False),
    sa.Column("signing_secret", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
