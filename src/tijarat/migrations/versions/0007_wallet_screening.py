"""Wallet screening: sanctions lists, screening hits and their review queue, monitoring alerts.

Revision ID: 0007_wallet_screening
Revises: 0006_wallet
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_wallet_screening"
down_revision = "0006_wallet"
branch_labels = None
depends_on = None

# A sequence orders trails: two steps may share a clock reading.
_SEQUENCE = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "wallet_screening_lists",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("entry_count", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("imported_at", sa.BigInteger, nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("source", "version", name="uq_wallet_screening_lists_version"),
    )
    op.create_table(
        "wallet_screening_entries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("list_id", sa.Uuid, sa.ForeignKey("wallet_screening_lists.id"), nullable=False),
        sa.Column("entry_ref", sa.String(64), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("entry_type", sa.String(16), nullable=False),
        sa.Column("programme", sa.String(200), nullable=False),
        sa.Column("country", sa.String(100), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.UniqueConstraint("list_id", "entry_ref", name="uq_wallet_screening_entries_ref"),
    )
    op.create_table(
        "wallet_screening_reviews",
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
    )
    op.create_index(
        "ix_wallet_screening_reviews_status", "wallet_screening_reviews", ["status", "created_at"]
    )
    op.create_table(
        "wallet_screening_review_events",
        sa.Column("seq", _SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("review_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(140), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False),
    )
    op.create_index(
        "ix_wallet_screening_review_events_review_id",
        "wallet_screening_review_events",
        ["review_id"],
    )
    op.create_table(
        "wallet_monitoring_customers",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("last_observed_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "wallet_monitoring_observations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("per_transaction_limit_minor", sa.BigInteger, nullable=True),
        sa.Column("reference", sa.String(140), nullable=False),
        sa.Column("observed_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "customer_id",
            "direction",
            "reference",
            name="uq_wallet_monitoring_observations_ref",
        ),
    )
    op.create_index(
        "ix_wallet_monitoring_observations_customer",
        "wallet_monitoring_observations",
        ["customer_id", "observed_at"],
    )
    op.create_table(
        "wallet_monitoring_alerts",
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
    )
    op.create_index(
        "ix_wallet_monitoring_alerts_customer",
        "wallet_monitoring_alerts",
        ["customer_id", "rule", "status"],
    )
    op.create_index(
        "ix_wallet_monitoring_alerts_status", "wallet_monitoring_alerts", ["status", "created_at"]
    )
    op.create_table(
        "wallet_monitoring_alert_observations",
        sa.Column("alert_id", sa.Uuid, primary_key=True),
        sa.Column("observation_id", sa.Uuid, primary_key=True),
    )
    op.create_index(
        "ix_wallet_monitoring_alert_observations_observation",
        "wallet_monitoring_alert_observations",
        ["observation_id"],
    )


def downgrade() -> None:
    for index, table in (
        (
            "ix_wallet_monitoring_alert_observations_observation",
            "wallet_monitoring_alert_observations",
        ),
        ("ix_wallet_monitoring_alerts_status", "wallet_monitoring_alerts"),
        ("ix_wallet_monitoring_alerts_customer", "wallet_monitoring_alerts"),
        ("ix_wallet_monitoring_observations_customer", "wallet_monitoring_observations"),
        ("ix_wallet_screening_review_events_review_id", "wallet_screening_review_events"),
        ("ix_wallet_screening_reviews_status", "wallet_screening_reviews"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "wallet_monitoring_alert_observations",
        "wallet_monitoring_alerts",
        "wallet_monitoring_observations",
        "wallet_monitoring_customers",
        "wallet_screening_review_events",
        "wallet_screening_reviews",
        "wallet_screening_entries",
        "wallet_screening_lists",
    ):
        op.drop_table(table)
