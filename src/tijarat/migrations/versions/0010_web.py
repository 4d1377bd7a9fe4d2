"""The dashboard: its users, their roles, businesses, languages and sign-in lockouts.

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
    op.create_table(
        "web_users",
        sa.Column("id", sa.Uuid, primary_key=True),
        # Stored folded to lower case, so "Skardu" and "skardu" are one user.
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),  # Argon2id, PHC string
        sa.Column("role", sa.String(16), nullable=False),
        # The wallet customer id of the business; operators have none.
        sa.Column("business_id", sa.Uuid, nullable=True, index=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        # Bumped when the password changes: sessions signed before then stop working.
        sa.Column("session_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_sign_in_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("role IN ('business', 'operator')", name="ck_web_users_role"),
        sa.CheckConstraint("locale IN ('en', 'ur')", name="ck_web_users_locale"),
        sa.CheckConstraint(
            "(role = 'business' AND business_id IS NOT NULL)"
            " OR (role = 'operator' AND business_id IS NULL)",
            name="ck_web_users_business",
        ),
    )


def downgrade() -> None:
    op.drop_table("web_users")
