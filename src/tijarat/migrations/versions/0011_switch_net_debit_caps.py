"""The switch: net debit caps, the indexes their check reads, and participants' endpoints.

Revision ID: 0011_switch_net_debit_caps
Revises: 0010_web
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_switch_net_debit_caps"
down_revision = "0010_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_net_debit_caps",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("cap_minor", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "switch_endpoints",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("url", sa.String(400), nullable=False),
        sa.Column("signing_secret", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_switch_payments_payer_day", "switch_payments", ["payer_id", "created_at"])
    op.create_index("ix_switch_payments_payee_day", "switch_payments", ["payee_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_switch_payments_payee_day", "switch_payments")
    op.drop_index("ix_switch_payments_payer_day", "switch_payments")
    op.drop_table("switch_endpoints")
    op.drop_table("switch_net_debit_caps")
