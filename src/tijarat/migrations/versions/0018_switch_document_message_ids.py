"""The switch: the archive keeps a received message's Document MsgId beside its AppHdr id.

The duplicate check looks a new message's two ids (AppHdr BizMsgIdr and Document MsgId) up in
the archive. The archive kept only the BizMsgIdr, so a Document MsgId reused under a new
BizMsgIdr went unnoticed when the first message's two ids differed. `document_message_id` is
set only where they differ (NULL otherwise, which is nearly always): its partial index stays
small and the payment path writes nothing new to it.

Received messages archived before this are read once, here, to fill it (lxml; a received
envelope is at most 1 MiB, and only the message types whose ids must be unique are read).

Revision ID: 0018_switch_document_message_ids
Revises: 0017_switch_sponsored_settlement
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from lxml import etree  # type: ignore[import-untyped]

revision = "0018_switch_document_message_ids"
down_revision = "0017_switch_sponsored_settlement"
branch_labels = None
depends_on = None

# switch/gateway.py's _UNIQUE_MESSAGE_IDS, frozen here.
UNIQUE_MESSAGE_IDS = (
    "pacs.002.001.10",
    "pacs.008.001.08",
    "pacs.004.001.09",
    "pacs.028.001.03",
    "pain.001.001.09",
    "pain.013.001.07",
    "pain.014.001.07",
)
BATCH = 1_000

messages = sa.table(
    "switch_messages",
    sa.column("seq", sa.BigInteger),
    sa.column("direction", sa.String),
    sa.column("message_type", sa.String),
    sa.column("business_message_id", sa.String),
    sa.column("document_message_id", sa.String),
    sa.column("body", sa.LargeBinary),
)


def upgrade() -> None:
    with op.batch_alter_table("switch_messages") as batch:
        batch.add_column(sa.Column("document_message_id", sa.String(35), nullable=True))
    op.create_index(
        "ix_switch_messages_document_id",
        "switch_messages",
        ["participant_id", "document_message_id"],
        postgresql_where=sa.text("document_message_id IS NOT NULL"),
        sqlite_where=sa.text("document_message_id IS NOT NULL"),
    )
    connection = op.get_bind()
    after = -1
    while True:
        rows = connection.execute(
            sa.select(messages.c.seq, messages.c.business_message_id, messages.c.body)
            .where(
                (messages.c.seq > after)
                & (messages.c.direction == "in")
                & messages.c.message_type.in_(UNIQUE_MESSAGE_IDS)
            )
            .order_by(messages.c.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        after = rows[-1].seq
        for row in rows:
            message_id = document_message_id(bytes(row.body))
            if message_id is not None and message_id != row.business_message_id:
                connection.execute(
                    messages.update()
                    .where(messages.c.seq == row.seq)
                    .values(document_message_id=message_id[:35])
                )


def document_message_id(body: bytes) -> str | None:
    """The Document's GrpHdr/MsgId of an archived envelope (None: not found, or not XML).

    Every type above carries it there; an archived JSON-form message was stored as the
    envelope the hub made of it, so it is XML too."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    found = root.xpath(
        "//*[local-name()='Document']/*/*[local-name()='GrpHdr']/*[local-name()='MsgId']/text()"
    )
    return str(found[0]).strip() if found else None


def downgrade() -> None:
    op.drop_index("ix_switch_messages_document_id", table_name="switch_messages")
    with op.batch_alter_table("switch_messages") as batch:
        batch.drop_column("document_message_id")
