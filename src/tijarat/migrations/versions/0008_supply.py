"""Supply: suppliers, purchase orders, receipts, bills, stock locations and the stock-move ledger.

Revision ID: 0008_supply
Revises: 0007_wallet_screening
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_supply"
down_revision = "0007_wallet_screening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
