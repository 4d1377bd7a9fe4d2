"""Persistence for sanctions screening and transaction monitoring (SQLAlchemy Core).

The migration 0007_wallet_screening creates the same tables; keep the two in step.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# A sequence, not a timestamp, orders trails: two steps may share a clock reading.
_SEQUENCE = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# ---------------------------------------------------------------------- screening
lists_table = sa.Table(
    "wallet_screening_lists",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("entry_count", sa.Integer, nullable=False),
    # Only the newest version of a source is matched; older ones stay for the record.
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("imported_at", sa.BigInteger, nullable=False),
    sa.Column("imported_by", sa.String(100), nullable=False),
    sa.UniqueConstraint("source", "version", name="uq_wallet_screening_lists_version"),
)

entries_table = sa.Table(
    "wallet_screening_entries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("list_id", sa.Uuid, sa.ForeignKey("wallet_screening_lists.id"), nullable=False),
    sa.Column("entry_ref", sa.String(64), nullable=False),  # the list's own id of the entry
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("aliases", sa.JSON, nullable=False),
    sa.Column("entry_type", sa.String(16), nullable=False),
    sa.Column("programme", sa.String(200), nullable=False),
    sa.Column("country", sa.String(100), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # SHA-256 of the content
    sa.UniqueConstraint("list_id", "entry_ref", name="uq_wallet_screening_entries_ref"),
)

reviews_table = sa.Table(
    "wallet_screening_reviews",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("normalised_name", sa.String(400), nullable=False),
    sa.Column("subject", sa.String(32), nullable=False),
    sa.Column("reference", sa.String(140), nullable=False),
    sa.Column("list_id", sa.Uuid, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("list_version", sa.Integer, nullable=False),
    sa.Column("entry_id", sa.Uuid, nullable=False),
    sa.Column("entry_ref", sa.String(64), nullable=False),
    sa.Column("entry_name", sa.String(400), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("matched_name", sa.String(400), nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_hit_at", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Column("resolved_by", sa.String(100), nullable=True),
    sa.Column("note", sa.String(1000), nullable=True),
    # One review per name and list entry (an entry belongs to one list version).
    sa.UniqueConstraint("normalised_name", "entry_id", name="uq_wallet_screening_reviews_hit"),
    sa.Index("ix_wallet_screening_reviews_status", "status", "created_at"),
)

review_events_table = sa.Table(
    "wallet_screening_review_events",
    metadata,
    sa.Column("seq", _SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("review_id", sa.Uuid, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("subject", sa.String(32), nullable=False),
    sa.Column("reference", sa.String(140), nullable=False),
    sa.Column("note", sa.String(1000), nullable=False),
)

# ---------------------------------------------------------------------- monitoring
monitored_customers_table = sa.Table(
    "wallet_monitoring_customers",
    metadata,
    # One row per customer, updated first by every observation: it serialises the rule
    # evaluation of one customer across processes (a row lock on PostgreSQL).
    sa.Column("customer_id", sa.Uuid, primary_key=True),
    sa.Column("last_observed_at", sa.BigInteger, nullable=False),
)

observations_table = sa.Table(
    "wallet_monitoring_observations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("direction", sa.String(6), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("per_transaction_limit_minor", sa.BigInteger, nullable=True),
    sa.Column("reference", sa.String(140), nullable=False),
    sa.Column("observed_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint(
        "customer_id", "direction", "reference", name="uq_wallet_monitoring_observations_ref"
    ),
    sa.Index("ix_wallet_monitoring_observations_customer", "customer_id", "observed_at"),
)

alerts_table = sa.Table(
    "wallet_monitoring_alerts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("direction", sa.String(6), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("observation_count", sa.Integer, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("closed_at", sa.BigInteger, nullable=True),
    sa.Column("closed_by", sa.String(100), nullable=True),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Index("ix_wallet_monitoring_alerts_customer", "customer_id", "rule", "status"),
    sa.Index("ix_wallet_monitoring_alerts_status", "status", "created_at"),
)

alert_observations_table = sa.Table(
    "wallet_monitoring_alert_observations",
    metadata,
    sa.Column("alert_id", sa.Uuid, primary_key=True),
    sa.Column("observation_id", sa.Uuid, primary_key=True),
    sa.Index("ix_wallet_monitoring_alert_observations_observation", "observation_id"),
)
