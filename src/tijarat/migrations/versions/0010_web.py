"""The dashboard: users, their roles and businesses.

Revision ID: 0010_web
Revises: 0009_trade
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_web"
down_revision = "0009_trade"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
