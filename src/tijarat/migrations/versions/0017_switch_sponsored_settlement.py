"""The switch: sponsored participants settle in their sponsor's settlement account.

An indirect (or direct non-settlement) participant has no account at SBP: its payments
reserve, post and void against its sponsor's settlement account, its status follows the
sponsor's (`sponsor_suspended`, hence the wider status column) and it carries its sponsor's
net debit cap (caps are per settlement account).

Participants registered with a sponsor before this had a settlement account of their own.
Each is moved onto its sponsor's account when its own is idle (no posted position, nothing
pending); the empty account stays in the ledger, unused. Money is never moved here: funds in
and out mirror movements at SBP, and an own account holding funds means the operator must
defund it (on the previous release) first, so the upgrade stops and names those accounts.
Direct non-settlement participants registered without a sponsor keep their own account: no
sponsor can be invented for them.

Revision ID: 0017_switch_sponsored_settlement
Revises: 0016_switch_request_origin
Create Date: 2026-11-26
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0017_switch_sponsored_settlement"
down_revision = "0016_switch_request_origin"
branch_labels = None
depends_on = None

# switch/service.py's HUB_NAMESPACE, frozen here: own accounts are uuid5(it, "settlement:<id>").
HUB_NAMESPACE = uuid.UUID("2b0d3c55-41f4-4c07-9a55-1f1f8d0a7a11")

participants = sa.table(
    "switch_participants",
    sa.column("id", sa.Uuid),
    sa.column("code", sa.String),
    sa.column("sponsor_id", sa.Uuid),
    sa.column("status", sa.String),
    sa.column("settlement_account_id", sa.Uuid),
)
caps = sa.table(
    "switch_net_debit_caps",
    sa.column("participant_id", sa.Uuid),
    sa.column("cap_minor", sa.BigInteger),
    sa.column("updated_at", sa.BigInteger),
)
accounts = sa.table(
    "ledger_account_balances",
    sa.column("id", sa.Uuid),
    sa.column("debits_pending", sa.BigInteger),
    sa.column("debits_posted", sa.BigInteger),
    sa.column("credits_pending", sa.BigInteger),
    sa.column("credits_posted", sa.BigInteger),
)


def upgrade() -> None:
    with op.batch_alter_table("switch_participants") as batch:
        batch.alter_column(
            "status", type_=sa.String(32), existing_type=sa.String(16), existing_nullable=False
        )
    connection = op.get_bind()
    sponsor = participants.alias("sponsor")
    legacy = connection.execute(
        sa.select(
            participants.c.id,
            participants.c.code,
            participants.c.status,
            participants.c.settlement_account_id,
            sponsor.c.id.label("sponsor_id"),
            sponsor.c.status.label("sponsor_status"),
            sponsor.c.settlement_account_id.label("sponsor_account_id"),
        )
        .join(sponsor, sponsor.c.id == participants.c.sponsor_id)
        .where(participants.c.settlement_account_id != sponsor.c.settlement_account_id)
    ).all()
    holding = []
    for row in legacy:
        balance = connection.execute(
            sa.select(accounts).where(accounts.c.id == row.settlement_account_id)
        ).first()
        if balance is not None and (
            balance.credits_posted != balance.debits_posted
            or balance.debits_pending
            or balance.credits_pending
        ):
            holding.append(
                f"{row.code} (posted {balance.credits_posted - balance.debits_posted},"
                f" pending {balance.debits_pending} out / {balance.credits_pending} in)"
            )
    if holding:
        raise RuntimeError(
            "sponsored participants still hold funds in settlement accounts of their own: "
            + ", ".join(holding)
            + ". Defund them to zero and let their pending payments finish on the previous "
            "release, then upgrade (the hub does not move money between institutions)."
        )
    for row in legacy:
        stopped = row.status == "active" and row.sponsor_status != "active"
        connection.execute(
            participants.update()
            .where(participants.c.id == row.id)
            .values(
                settlement_account_id=row.sponsor_account_id,
                status="sponsor_suspended" if stopped else row.status,
            )
        )
        # Its own cap gave way to its settlement account's: the sponsor's.
        connection.execute(caps.delete().where(caps.c.participant_id == row.id))
        cap = connection.execute(
            sa.select(caps.c.cap_minor, caps.c.updated_at).where(
                caps.c.participant_id == row.sponsor_id
            )
        ).first()
        if cap is not None:
            connection.execute(
                caps.insert().values(
                    participant_id=row.id, cap_minor=cap.cap_minor, updated_at=cap.updated_at
                )
            )


def downgrade() -> None:
    connection = op.get_bind()
    # A participant registered since 0017 has no account of its own to go back to: on the
    # old code it would fund, defund and pay from its sponsor's account under its own name.
    # Refuse, naming them, rather than leave them there (deregister or re-register them).
    sponsored = connection.execute(
        sa.select(participants.c.id, participants.c.code).where(
            participants.c.sponsor_id.is_not(None)
        )
    ).all()
    homeless = [
        row.code
        for row in sponsored
        if connection.execute(
            sa.select(accounts.c.id).where(
                accounts.c.id == uuid.uuid5(HUB_NAMESPACE, f"settlement:{row.id}")
            )
        ).first()
        is None
    ]
    if homeless:
        raise RuntimeError(
            "cannot downgrade below 0017: these sponsored participants have no settlement "
            f"account of their own on the old schema: {', '.join(sorted(homeless))}"
        )
    # The old code knows no sponsor_suspended: they stay stopped, as suspended.
    connection.execute(
        participants.update()
        .where(participants.c.status == "sponsor_suspended")
        .values(status="suspended")
    )
    # Back to their own (empty) accounts, which every one has (checked above). Their own
    # net debit caps are not restored: they carry their sponsor's, as on 0017.
    for row in sponsored:
        connection.execute(
            participants.update()
            .where(participants.c.id == row.id)
            .values(settlement_account_id=uuid.uuid5(HUB_NAMESPACE, f"settlement:{row.id}"))
        )
    with op.batch_alter_table("switch_participants") as batch:
        batch.alter_column(
            "status", type_=sa.String(16), existing_type=sa.String(32), existing_nullable=False
        )
