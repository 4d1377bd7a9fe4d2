"""The ledger's head: one row every ledger write transaction moves, so writers' caches can trust.

Each write transaction replaces `token` with a fresh random value, in the same transaction as
its changes. A process that remembers the token its last transaction left may evaluate the
next batch on the balances it holds in memory instead of locking and reading them; its write
names the token it expects (`expected`) and the CHECK rejects the write if anyone else moved
the head meanwhile (`previous`, the token replaced, must equal `expected`).

Revision ID: 0012_ledger_head
Revises: 0011_switch_net_debit_caps
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_ledger_head"
down_revision = "0011_switch_net_debit_caps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("previous", sa.BigInteger, nullable=False),
        sa.Column("expected", sa.BigInteger, nullable=False),
        sa.Column("batches", sa.BigInteger, nullable=False),
        sa.CheckConstraint("previous = expected", name="ck_ledger_head_guard"),
    )
    op.bulk_insert(head, [{"id": 1, "token": 0, "previous": 0, "expected": 0, "batches": 0}])


def downgrade() -> None:
    op.drop_table("ledger_head")
