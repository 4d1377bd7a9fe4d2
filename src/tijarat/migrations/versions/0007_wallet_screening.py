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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
