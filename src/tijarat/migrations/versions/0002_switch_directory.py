"""The switch: participants, the alias directory, alias claims and their audit trail.

Revision ID: 0002_switch_directory
Revises: 0001_ledger
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_switch_directory"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_participants",
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
    op.create_table(
        "switch_aliases",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("iban", sa.String(24), nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=False),
        sa.Column("cnic", sa.String(13), nullable=False, unique=True),
        sa.Column("account_title", sa.String(140), nullable=False),
        sa.Column("linked_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_switch_aliases_participant_id", "switch_aliases", ["participant_id"])
    op.create_table(
        "switch_alias_claims",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("claimant_id", sa.Uuid, nullable=False),
        sa.Column("donor_id", sa.Uuid, nullable=False),
        sa.Column("iban", sa.String(24), nullable=False),
        sa.Column("account_title", sa.String(140), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("resolve_after", sa.BigInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_switch_alias_claims_number", "switch_alias_claims", ["number"])
    # At most one open claim per number, whatever races between institutions.
    open_claim = sa.text("status = 'open'")
    op.create_index(
        "ux_switch_alias_claims_open",
        "switch_alias_claims",
        ["number"],
        unique=True,
        postgresql_where=open_claim,
        sqlite_where=open_claim,
    )
    op.create_table(
        "switch_alias_audit",
        # A sequence orders the trail: two steps may share a clock reading.
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=True),
        sa.Column("claim_id", sa.Uuid, nullable=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.String(400), nullable=False),
    )
    op.create_index("ix_switch_alias_audit_number", "switch_alias_audit", ["number"])
    op.create_table(
        "switch_lookup_windows",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("switch_lookup_windows")
    op.drop_table("switch_alias_audit")
    op.drop_table("switch_alias_claims")
    op.drop_table("switch_aliases")
    op.drop_table("switch_participants")
