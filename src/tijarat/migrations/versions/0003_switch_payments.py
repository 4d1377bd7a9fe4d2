"""The switch: credit transfers and their returns.

Revision ID: 0003_switch_payments
Revises: 0002_switch_directory
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_switch_payments"
down_revision = "0002_switch_directory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_payments",
        sa.Column("id", sa.Uuid, primary_key=True),
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
    # The timeout sweep reads pending payments by age.
    op.create_index(
        "ix_switch_payments_status_created", "switch_payments", ["status", "created_at"]
    )
    op.create_table(
        "switch_returns",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(4), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_switch_returns_payment_id", "switch_returns", ["payment_id"])


def downgrade() -> None:
    op.drop_table("switch_returns")
    op.drop_table("switch_payments")
