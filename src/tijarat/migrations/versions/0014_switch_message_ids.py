"""The switch: find a participant's archived messages by their business message id.

The gateway refuses a message that reuses the MsgId of a different earlier one from the same
sender (ISO 20022's DUPL); each inbound message costs one lookup on this index.

Revision ID: 0014_switch_message_ids
Revises: 0013_ledger_balances
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0014_switch_message_ids"
down_revision = "0013_ledger_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_switch_messages_business_id",
        "switch_messages",
        ["participant_id", "business_message_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_switch_messages_business_id", table_name="switch_messages")
