"""Migrations 0018 and 0019 of the message archive.

0018: messages archived before it carry only the BizMsgIdr; the upgrade reads the Document MsgId
out of every received message whose id must be unique and keeps it where the two differ, so a
Document MsgId reused under a new BizMsgIdr is refused even against messages received before.

0019: every message keeps the id of the transaction that wrote it, the forward read's order;
those archived before it read 0 and come first, in their old order.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command

from tijarat.bootstrap import alembic_config, create_database_engine, migrate

BEFORE = "0017_switch_sponsored_settlement"
AFTER = "0018_switch_document_message_ids"
POSITIONS = "0019_switch_message_positions"
NS = "urn:iso:std:iso:20022:tech:xsd"


def envelope(header_id: str, document_id: str, kind: str = "pacs.008.001.08") -> bytes:
    """Enough of an envelope for the upgrade to read (it reads the two ids, nothing else)."""
    return (
        f'<Envelope><AppHdr xmlns="{NS}:head.001.001.02"><BizMsgIdr>{header_id}</BizMsgIdr>'
        f'</AppHdr><Document xmlns="{NS}:{kind}"><FIToFICstmrCdtTrf><GrpHdr>'
        f"<MsgId> {document_id} </MsgId></GrpHdr></FIToFICstmrCdtTrf></Document></Envelope>"
    ).encode()


def test_received_messages_get_their_document_ids(database_url: str) -> None:
    engine = create_database_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"

    def key(value: uuid.UUID) -> Any:
        return value.hex if sqlite else value

    participant = uuid.uuid4()
    rows = [
        # (direction, type, header id, body): what the upgrade should keep as the Document id
        ("in", "pacs.008.001.08", "H-1", envelope("H-1", "D-1"), "D-1"),
        ("in", "pacs.008.001.08", "SAME", envelope("SAME", "SAME"), None),  # ids agree
        ("out", "pacs.008.001.08", "H-2", envelope("H-2", "D-2"), None),  # the hub's own
        ("in", "camt.053.001.08", "H-3", envelope("H-3", "D-3", "camt.053.001.08"), None),
        ("in", "pacs.008.001.08", "H-4", b"{not xml", None),  # unreadable: left alone
    ]
    try:
        migrate(engine, BEFORE)
        table = sa.Table("switch_messages", sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(
                table.insert(),
                [
                    {
                        "id": key(uuid.uuid4()),
                        "participant_id": key(participant),
                        "direction": direction,
                        "message_type": kind,
                        "business_message_id": header_id,
                        "created_at": n,
                        "body": body,
                    }
                    for n, (direction, kind, header_id, body, _) in enumerate(rows)
                ],
            )
        command.upgrade(alembic_config(engine), AFTER)
        with engine.connect() as connection:
            kept = dict(
                connection.execute(
                    sa.text("SELECT business_message_id, document_message_id FROM switch_messages")
                ).all()
            )
        assert kept == {header_id: expected for _, _, header_id, _, expected in rows}
        command.downgrade(alembic_config(engine), BEFORE)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("switch_messages")}
        assert "document_message_id" not in columns
    finally:
        engine.dispose()


def test_messages_archived_before_positions_come_first_in_their_order(database_url: str) -> None:
    engine = create_database_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    participant = uuid.uuid4()
    try:
        migrate(engine, AFTER)
        table = sa.Table("switch_messages", sa.MetaData(), autoload_with=engine)

        def write(names: list[str]) -> None:
            with engine.begin() as connection:
                connection.execute(
                    table.insert(),
                    [
                        {
                            "id": uuid.uuid4().hex if not postgres else uuid.uuid4(),
                            "participant_id": participant if postgres else participant.hex,
                            "direction": "out",
                            "message_type": "pacs.002.001.10",
                            "business_message_id": name,
                            "created_at": 1,
                            "body": b"<Document/>",
                        }
                        for name in names
                    ],
                )

        write(["OLD-1", "OLD-2"])
        command.upgrade(alembic_config(engine), POSITIONS)
        table = sa.Table("switch_messages", sa.MetaData(), autoload_with=engine)
        write(["NEW-1"])
        order = sa.text(
            "SELECT business_message_id, CAST(CAST(txid AS TEXT) AS BIGINT) FROM switch_messages "
            "ORDER BY txid, seq"
        )
        with engine.connect() as connection:
            rows = connection.execute(order).all()
        assert [name for name, _ in rows] == ["OLD-1", "OLD-2", "NEW-1"]
        assert [txid for _, txid in rows][:2] == [0, 0]
        assert (rows[2][1] > 0) is postgres  # the writing transaction's id; SQLite keeps 0
        command.downgrade(alembic_config(engine), AFTER)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("switch_messages")}
        assert "txid" not in columns
    finally:
        engine.dispose()
