"""The ledger: ledgers, accounts, transfers with balance history, pending transfers.

Revision ID: 0001_ledger
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

BALANCES = (
    "debit_debits_pending",
    "debit_debits_posted",
    "debit_credits_pending",
    "debit_credits_posted",
    "credit_debits_pending",
    "credit_debits_posted",
    "credit_credits_pending",
    "credit_credits_posted",
)


def upgrade() -> None:
    op.create_table(
        "ledger_ledgers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("ledger", sa.Integer, nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("owner_id", sa.Uuid, nullable=True),
        sa.Column("user_data_64", sa.BigInteger, nullable=False),
        sa.Column("user_data_32", sa.Integer, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_transfer_timestamp", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_accounts_owner_id", "ledger_accounts", ["owner_id"])
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("debit_account_id", sa.Uuid, nullable=False),
        sa.Column("credit_account_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("pending_id", sa.Uuid, nullable=True),
        sa.Column("user_data_128", sa.Uuid, nullable=True),
        sa.Column("user_data_64", sa.BigInteger, nullable=False),
        sa.Column("user_data_32", sa.Integer, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("ledger", sa.Integer, nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in BALANCES),
    )
    op.create_index(
        "ix_ledger_transfers_debit", "ledger_transfers", ["debit_account_id", "timestamp"]
    )
    op.create_index(
        "ix_ledger_transfers_credit", "ledger_transfers", ["credit_account_id", "timestamp"]
    )
    op.create_table(
        "ledger_pending_transfers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("debit_account_id", sa.Uuid, nullable=False),
        sa.Column("credit_account_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("ledger", sa.Integer, nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("resolved_by", sa.Uuid, nullable=True),
    )
    due = sa.text("status = 1 AND expires_at > 0")
    op.create_index(
        "ix_ledger_pending_due",
        "ledger_pending_transfers",
        ["expires_at"],
        postgresql_where=due,
        sqlite_where=due,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Balance updates rewrite every touched account row each batch: leave room on each
        # page so they stay HOT updates (no index churn; balances are not indexed).
        op.execute("ALTER TABLE ledger_accounts SET (fillfactor = 70)")
        op.execute("ALTER TABLE ledger_pending_transfers SET (fillfactor = 80)")


def downgrade() -> None:
    op.drop_table("ledger_pending_transfers")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
    op.drop_table("ledger_ledgers")
