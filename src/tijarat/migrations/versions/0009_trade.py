"""Trade: catalog, marketplace orders and pushes, escrow, shipments, export proceeds.

Revision ID: 0009_trade
Revises: 0008_supply
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_trade"
down_revision = "0008_supply"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
