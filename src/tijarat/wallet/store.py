"""Persistence of the wallet (SQLAlchemy Core). Balances live in the ledger, never here."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

tiers_table = sa.Table(
    "wallet_tiers",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("effective_from", sa.Date, primary_key=True),  # a Pakistan date
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    # One column per LimitKind; NULL = no limit at this tier.
    *(
        sa.Column(f"{kind}_minor", sa.BigInteger, nullable=True)
        for kind in (
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
    ),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

customers_table = sa.Table(
    "wallet_customers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("mobile", sa.String(16), nullable=False, unique=True),
    sa.Column("cnic", sa.String(13), nullable=True, unique=True),
    sa.Column("ntn", sa.String(16), nullable=True, unique=True),
    sa.Column("address", sa.String(400), nullable=True),
    sa.Column("owners", sa.String(1000), nullable=False),  # JSON list of names
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Limits below the tier's: assigned by the operator (businesses) or chosen by the customer.
customer_limits_table = sa.Table(
    "wallet_customer_limits",
    metadata,
    sa.Column("customer_id", sa.Uuid, primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),  # "operator" | "customer"
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

verifications_table = sa.Table(
    "wallet_verifications",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False, index=True),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("from_tier", sa.String(32), nullable=False),
    sa.Column("to_tier", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

accounts_table = sa.Table(
    "wallet_accounts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # = the ledger account id
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("ledger", sa.Integer, nullable=False),
    sa.Column("iban", sa.String(24), nullable=True, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("customer_id", "currency"),
)

movements_table = sa.Table(
    "wallet_movements",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # the ledger transfer (or reservation)
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("account_id", sa.Uuid, nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("counterparty", sa.String(140), nullable=True),
    sa.Column("reference", sa.String(140), nullable=True),
    sa.Column("reason", sa.String(40), nullable=True),
    sa.Column("payment_id", sa.Uuid, nullable=True, index=True),
    sa.Column("end_to_end_id", sa.String(35), nullable=True),
    sa.Column("group_id", sa.Uuid, nullable=False, index=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
    sa.Index("ix_wallet_movements_usage", "customer_id", "direction", "created_at"),
)

# A client's request key (Idempotency-Key) per customer: the same key answers the first
# outcome; the same key with other content is refused.
requests_table = sa.Table(
    "wallet_requests",
    metadata,
    sa.Column("customer_id", sa.Uuid, primary_key=True),
    sa.Column("request_key", sa.String(64), primary_key=True),
    sa.Column("operation", sa.String(24), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("group_id", sa.Uuid, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

fee_rules_table = sa.Table(
    "wallet_fee_rules",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("fixed_minor", sa.BigInteger, nullable=False),
    sa.Column("basis_points", sa.Integer, nullable=False),
    sa.Column("maximum_minor", sa.BigInteger, nullable=True),
    sa.Column("payer", sa.String(8), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

fx_rates_table = sa.Table(
    "wallet_fx_rates",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("base", sa.String(3), primary_key=True),
    sa.Column("quote", sa.String(3), primary_key=True),
    sa.Column("rate", sa.String(32), nullable=False),  # decimal text: exact, never a float
    sa.Column("source", sa.String(80), nullable=False),
    sa.Column("imported_at", sa.BigInteger, nullable=False),
)

payouts_table = sa.Table(
    "wallet_payouts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(200), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("results", sa.Text, nullable=False),  # JSON: one object per row
    sa.UniqueConstraint("customer_id", "file_sha256"),  # a re-uploaded file does not pay twice
)
