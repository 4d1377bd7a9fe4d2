"""The switch: the archive of every ISO 20022 message exchanged with a participant.

Revision ID: 0005_switch_messages
Revises: 0004_switch_requests
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_switch_messages"
down_revision = "0004_switch_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_messages",
        # A sequence orders the archive: a message and its answer may share a clock reading.
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.Uuid, nullable=False, unique=True),
        sa.Column("participant_id", sa.Uuid, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("message_type", sa.String(20), nullable=False),
        sa.Column("business_message_id", sa.String(35), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_switch_messages_participant", "switch_messages", ["participant_id", "seq"])


def downgrade() -> None:
    op.drop_table("switch_messages")
