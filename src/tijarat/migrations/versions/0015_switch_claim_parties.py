"""The switch: find a participant's alias claims, as claimant or as donor.

`GET /v1/switch/claims` lists the claims a participant made or must answer; each side is
one index range (the two are OR-ed), newest first.

Revision ID: 0015_switch_claim_parties
Revises: 0014_switch_message_ids
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0015_switch_claim_parties"
down_revision = "0014_switch_message_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_switch_alias_claims_claimant", "switch_alias_claims", ["claimant_id", "created_at"]
    )
    op.create_index(
        "ix_switch_alias_claims_donor", "switch_alias_claims", ["donor_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_switch_alias_claims_donor", table_name="switch_alias_claims")
    op.drop_index("ix_switch_alias_claims_claimant", table_name="switch_alias_claims")
