"""The switch: requests to pay.

Revision ID: 0004_switch_requests
Revises: 0003_switch_payments
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_switch_requests"
down_revision = "0003_switch_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_payment_requests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("creditor_participant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_participant_id", sa.Uuid, nullable=False),
        sa.Column("creditor_name", sa.String(140), nullable=False),
        sa.Column("creditor_alias", sa.String(16), nullable=True),
        sa.Column("creditor_iban", sa.String(34), nullable=True),
        sa.Column("debtor_alias", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(140), nullable=True),
        sa.Column("end_to_end_id", sa.String(35), nullable=True),  # the creditor's pain.013 id
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(4), nullable=True),
        sa.Column("payment_id", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_switch_payment_requests_debtor",
        "switch_payment_requests",
        ["debtor_participant_id", "status"],
    )
    op.create_index("ix_switch_payment_requests_e2e", "switch_payment_requests", ["end_to_end_id"])


def downgrade() -> None:
    op.drop_table("switch_payment_requests")
