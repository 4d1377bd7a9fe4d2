"""The switch: the archive is read forward in its writers' transaction order, not seq order.

A participant that polls reads its archive forward from the last message it read. Ordered
by `seq` alone it could miss a message for good: a writer that drew its `seq` first may
commit after another one, whose later `seq` the reader has already passed. Each message now
keeps the id of the transaction that wrote it (`txid`: PostgreSQL's `pg_current_xact_id()`);
a forward read takes only messages of transactions older than every writer still running
and orders them by (txid, seq), which no later commit can come before. On SQLite, one writer
at a time commits in `seq` order already: `txid` stays 0 there and (0, seq) is seq order.

Messages archived before this keep txid 0: they come first, in seq order, as before. The
participant index becomes (participant, txid, seq), the forward read's order. On SQLite the
table is made again with AUTOINCREMENT, so that a deleted newest row's seq (a credit advice
taken back when its reservation failed) is never given to the next message: a reader past it
would miss that one. The downgrade keeps AUTOINCREMENT (it only makes seq stricter).

Revision ID: 0019_switch_message_positions
Revises: 0018_switch_document_message_ids
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_switch_message_positions"
down_revision = "0018_switch_document_message_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A constant default first (no table rewrite: the existing rows read 0), then the
        # writing transaction's id for every row written from now on.
        op.execute("ALTER TABLE switch_messages ADD COLUMN txid xid8 NOT NULL DEFAULT '0'")
        op.execute("ALTER TABLE switch_messages ALTER COLUMN txid SET DEFAULT pg_current_xact_id()")
    else:
        with op.batch_alter_table(
            "switch_messages", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch:
            batch.add_column(sa.Column("txid", sa.BigInteger, nullable=False, server_default="0"))
    op.drop_index("ix_switch_messages_participant", table_name="switch_messages")
    op.create_index(
        "ix_switch_messages_participant", "switch_messages", ["participant_id", "txid", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_switch_messages_participant", table_name="switch_messages")
    with op.batch_alter_table("switch_messages") as batch:
        batch.drop_column("txid")
    op.create_index("ix_switch_messages_participant", "switch_messages", ["participant_id", "seq"])
