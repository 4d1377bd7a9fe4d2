"""The wallet: customers, KYC tiers and limits, accounts, movements, payouts, FX, fees.

Revision ID: 0006_wallet
Revises: 0005_switch_messages
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_wallet"
down_revision = "0005_switch_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
