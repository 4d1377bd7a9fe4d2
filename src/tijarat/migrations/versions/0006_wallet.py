"""The wallet: customers, KYC tiers and limits, accounts, movements, payouts, FX, fees.

Revision ID: 0006_wallet
Revises: 0005_switch_messages
Create Date: 2026-11-24
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006_wallet"
down_revision = "0005_switch_messages"
branch_labels = None
depends_on = None


TABLES = (
    "wallet_payouts",
    "wallet_fx_rates",
    "wallet_fee_rules",
    "wallet_requests",
    "wallet_movements",
    "wallet_accounts",
    "wallet_verifications",
    "wallet_customer_limits",
    "wallet_customers",
    "wallet_tiers",
)
EFFECTIVE_FROM = dt.date(2024, 1, 1)


def upgrade() -> None:
    op.create_table(
        "wallet_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ledger", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "currency"),
        sa.UniqueConstraint("iban"),
    )
    op.create_table(
        "wallet_customer_limits",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "source", "kind"),
    )
    op.create_table(
        "wallet_customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("mobile", sa.String(length=16), nullable=False),
        sa.Column("cnic", sa.String(length=13), nullable=True),
        sa.Column("ntn", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("owners", sa.String(length=1000), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cnic"),
        sa.UniqueConstraint("mobile"),
        sa.UniqueConstraint("ntn"),
    )
    op.create_table(
        "wallet_fee_rules",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fixed_minor", sa.BigInteger(), nullable=False),
        sa.Column("basis_points", sa.Integer(), nullable=False),
        sa.Column("maximum_minor", sa.BigInteger(), nullable=True),
        sa.Column("payer", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    op.create_table(
        "wallet_fx_rates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "base", "quote"),
    )
    op.create_table(
        "wallet_movements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("counterparty", sa.String(length=140), nullable=True),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_wallet_movements_group_id"), "wallet_movements", ["group_id"], unique=False
    )
    op.create_index(
        op.f("ix_wallet_movements_payment_id"), "wallet_movements", ["payment_id"], unique=False
    )
    op.create_index(
        "ix_wallet_movements_usage",
        "wallet_movements",
        ["customer_id", "direction", "created_at"],
        unique=False,
    )
    op.create_table(
        "wallet_payouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "file_sha256"),
    )
    op.create_table(
        "wallet_requests",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=24), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "request_key"),
    )
    op.create_table(
        "wallet_tiers",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_transaction_minor", sa.BigInteger(), nullable=True),
        sa.Column("debit_day_minor", sa.BigInteger(), nullable=True),
        sa.Column("debit_month_minor", sa.BigInteger(), nullable=True),
        sa.Column("debit_year_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_transaction_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_day_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_month_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_year_minor", sa.BigInteger(), nullable=True),
        sa.Column("balance_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", "effective_from"),
    )
    op.create_table(
        "wallet_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("from_tier", sa.String(length=32), nullable=False),
        sa.Column("to_tier", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_wallet_verifications_customer_id"),
        "wallet_verifications",
        ["customer_id"],
        unique=False,
    )
    # SBP branchless-banking tiers as published by banks in 2024 (../shared/DOMAIN.md),
    # debits and credits counted separately; a single payment may use a whole day's limit.
    # Operators add new versions with a later effective date; these rows stay as history.
    tiers = sa.table(
        "wallet_tiers",
        *(sa.column(name) for name in ("code", "effective_from", "name", "currency", "created_at")),
        *(sa.column(f"{kind}_minor") for kind in LIMIT_KINDS),
    )
    rows = []
    for code, name, day, month, year, balance in (
        ("level0", "Level 0 (CNIC and mobile)", 25_000, 50_000, 200_000, 200_000),
        ("level1", "Level 1 (biometric verified)", 50_000, 80_000, 800_000, 400_000),
        ("business", "Business (full due diligence)", None, None, None, None),
    ):
        row = {
            "code": code,
            "effective_from": EFFECTIVE_FROM,
            "name": name,
            "currency": "PKR",
            "created_at": 0,
        }
        for direction in ("debit", "credit"):
            for period, rupees in (
                ("transaction", day),
                ("day", day),
                ("month", month),
                ("year", year),
            ):
                row[f"{direction}_{period}_minor"] = None if rupees is None else rupees * 100
        row["balance_minor"] = None if balance is None else balance * 100
        rows.append(row)
    op.bulk_insert(tiers, rows)
    fees = sa.table(
        "wallet_fee_rules",
        *(
            sa.column(name)
            for name in (
                "kind",
                "fixed_minor",
                "basis_points",
                "maximum_minor",
                "payer",
                "updated_at",
            )
        ),
    )
    # P2P is free (SBP); merchants pay 0.5% of a QR payment, at most Rs 500.
    op.bulk_insert(
        fees,
        [
            {
                "kind": "merchant",
                "fixed_minor": 0,
                "basis_points": 50,
                "maximum_minor": 50_000,
                "payer": "credit",
                "updated_at": 0,
            }
        ],
    )


LIMIT_KINDS = (
    "debit_transaction",
    "debit_day",
    "debit_month",
    "debit_year",
    "credit_transaction",
    "credit_day",
    "credit_month",
    "credit_year",
    "balance",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
