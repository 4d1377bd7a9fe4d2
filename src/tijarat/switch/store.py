"""Persistence for participants and the alias directory (SQLAlchemy Core; not a hot path)."""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import base as postgresql_base

from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber
from tijarat.switch.model import (
    Alias,
    AliasClaim,
    ArchivedMessage,
    AuditEntry,
    ClaimStatus,
    Participant,
    ParticipantCategory,
    ParticipantStatus,
)

metadata = sa.MetaData()

participants_table = sa.Table(
    "switch_participants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("code", sa.String(11), nullable=False, unique=True),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("bank_code", sa.String(4), nullable=True, unique=True),
    sa.Column("sponsor_id", sa.Uuid, nullable=True),
    sa.Column("status", sa.String(32), nullable=False),  # 32: "sponsor_suspended" (0017)
    sa.Column("settlement_account_id", sa.Uuid, nullable=False),
    sa.Column("credential_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

aliases_table = sa.Table(
    "switch_aliases",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),  # E.164: one alias per number
    sa.Column("iban", sa.String(24), nullable=False),
    sa.Column("participant_id", sa.Uuid, nullable=False, index=True),
    sa.Column("cnic", sa.String(13), nullable=False, unique=True),  # one Raast ID per CNIC
    sa.Column("account_title", sa.String(140), nullable=False),
    sa.Column("linked_at", sa.BigInteger, nullable=False),
)

claims_table = sa.Table(
    "switch_alias_claims",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("claimant_id", sa.Uuid, nullable=False),
    sa.Column("donor_id", sa.Uuid, nullable=False),
    sa.Column("iban", sa.String(24), nullable=False),
    sa.Column("account_title", sa.String(140), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("resolve_after", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
)

audit_table = sa.Table(
    "switch_alias_audit",
    metadata,
    # A sequence, not a timestamp, orders the trail: two steps may share a clock reading.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("participant_id", sa.Uuid, nullable=True),
    sa.Column("claim_id", sa.Uuid, nullable=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
)

lookup_windows_table = sa.Table(
    "switch_lookup_windows",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)


def participant_from_row(row: Any) -> Participant:
    return Participant(
        id=row.id,
        code=row.code,
        name=row.name,
        category=ParticipantCategory(row.category),
        bank_code=row.bank_code,
        sponsor_id=row.sponsor_id,
        status=ParticipantStatus(row.status),
        settlement_account_id=row.settlement_account_id,
        created_at=row.created_at,
    )


def alias_from_row(row: Any) -> Alias:
    return Alias(
        number=MobileNumber(row.number),
        iban=Iban(row.iban),
        participant_id=row.participant_id,
        cnic=Cnic(row.cnic),
        account_title=row.account_title,
        linked_at=row.linked_at,
    )


def claim_from_row(row: Any) -> AliasClaim:
    return AliasClaim(
        id=row.id,
        number=MobileNumber(row.number),
        claimant_id=row.claimant_id,
        donor_id=row.donor_id,
        iban=Iban(row.iban),
        account_title=row.account_title,
        status=ClaimStatus(row.status),
        created_at=row.created_at,
        resolve_after=row.resolve_after,
        resolved_at=row.resolved_at,
    )


def audit_from_row(row: Any) -> AuditEntry:
    return AuditEntry(
        number=row.number,
        action=row.action,
        participant_id=row.participant_id,
        claim_id=row.claim_id,
        at=row.at,
        detail=row.detail,
    )


def insert_audit(
    connection: sa.Connection,
    number: str,
    action: str,
    at: int,
    *,
    participant_id: uuid.UUID | None = None,
    claim_id: uuid.UUID | None = None,
    detail: str = "",
) -> None:
    connection.execute(
        audit_table.insert().values(
            number=number,
            action=action,
            participant_id=participant_id,
            claim_id=claim_id,
            at=at,
            detail=detail[:400],
        )
    )


def count_lookup(connection: sa.Connection, participant_id: uuid.UUID, window_start: int) -> int:
    """Count one lookup in the participant's current window; returns the window's count.

    One upsert, atomic on SQLite and PostgreSQL alike, so every worker process shares the
    same counter (an in-memory bucket per process would multiply the limit by the workers).
    """
    dialect = connection.dialect.name
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415
    else:
        from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415
    statement = insert(lookup_windows_table).values(
        participant_id=participant_id, window_start=window_start, count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["participant_id", "window_start"],
        set_={"count": lookup_windows_table.c.count + 1},
    ).returning(lookup_windows_table.c.count)
    count: int = connection.execute(statement).scalar_one()
    return count


def prune_lookup_windows(connection: sa.Connection, before: int) -> None:
    connection.execute(
        lookup_windows_table.delete().where(lookup_windows_table.c.window_start < before)
    )


def select_participants(connection: sa.Connection) -> Sequence[Participant]:
    rows = connection.execute(
        sa.select(participants_table).order_by(participants_table.c.code)
    ).all()
    return [participant_from_row(row) for row in rows]


payments_table = sa.Table(
    "switch_payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # also the id of the pending ledger transfer
    sa.Column("payer_id", sa.Uuid, nullable=False),
    sa.Column("payee_id", sa.Uuid, nullable=True),
    sa.Column("msg_id", sa.String(35), nullable=False),
    sa.Column("end_to_end_id", sa.String(35), nullable=False),
    sa.Column("tx_id", sa.String(35), nullable=False),
    sa.Column("uetr", sa.Uuid, nullable=False, unique=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("debtor_name", sa.String(140), nullable=False),
    sa.Column("debtor_iban", sa.String(34), nullable=False),
    sa.Column("creditor_alias", sa.String(16), nullable=True),
    sa.Column("creditor_iban", sa.String(34), nullable=True),
    sa.Column("creditor_name", sa.String(140), nullable=True),
    sa.Column("remittance_information", sa.String(140), nullable=True),
    sa.Column("purpose", sa.String(35), nullable=True),
    sa.Column("resolved_iban", sa.String(34), nullable=True),
    sa.Column("status", sa.String(4), nullable=False),
    sa.Column("reason", sa.String(4), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Column("returned_minor", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("payer_id", "end_to_end_id", name="ux_switch_payments_e2e"),
)

returns_table = sa.Table(
    "switch_returns",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # the client's return id = ledger transfer id
    sa.Column("payment_id", sa.Uuid, nullable=False, index=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(4), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)


requests_table = sa.Table(
    "switch_payment_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("creditor_participant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_participant_id", sa.Uuid, nullable=False, index=True),
    sa.Column("creditor_name", sa.String(140), nullable=False),
    sa.Column("creditor_alias", sa.String(16), nullable=True),
    sa.Column("creditor_iban", sa.String(34), nullable=True),
    sa.Column("debtor_alias", sa.String(16), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reference", sa.String(140), nullable=True),
    sa.Column("end_to_end_id", sa.String(35), nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(4), nullable=True),
    sa.Column("payment_id", sa.Uuid, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # The creditor's pain.013 MsgId and PmtInfId, named by the pain.014 that answers it
    # (migration 0016); null for a request made through the JSON API or in process.
    sa.Column("original_message_id", sa.String(35), nullable=True),
    sa.Column("original_payment_information_id", sa.String(35), nullable=True),
)


messages_table = sa.Table(
    "switch_messages",
    metadata,
    # A sequence orders the archive: a message and its answer may share a clock reading.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("id", sa.Uuid, nullable=False, unique=True),
    sa.Column("participant_id", sa.Uuid, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),  # "in" or "out", seen from the hub
    sa.Column("message_type", sa.String(20), nullable=False),
    sa.Column("business_message_id", sa.String(35), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    # A received message's Document MsgId where it differs from its AppHdr BizMsgIdr (NULL
    # otherwise, nearly always; migration 0018): the duplicate check looks for both ids.
    sa.Column("document_message_id", sa.String(35), nullable=True),
    # The id of the transaction that wrote it (PostgreSQL: xid8, pg_current_xact_id() by
    # default; SQLite: 0), never written by the hub: a forward read goes in (txid, seq)
    # order, which no later commit can come before (see archive_page; migration 0019).
    sa.Column("txid", sa.BigInteger, nullable=False, server_default="0"),
    # SQLite: a seq is never given twice (a deleted newest row's would be, without it), so a
    # reader past one never misses the message that would have reused it.
    sqlite_autoincrement=True,
)

# An optional risk limit per participant: how far its payments sent may exceed those received
# within one settlement day (Pakistan time). Liquidity is the hard limit; the cap is the
# operator's softer one, refused with AM23 before funds are reserved.
net_debit_caps_table = sa.Table(
    "switch_net_debit_caps",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("cap_minor", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Where the hub delivers a participant's credit advices and status reports over HTTP, and the
# secret it signs them with (HMAC-SHA256; kept in clear because the hub must sign with it).
endpoints_table = sa.Table(
    "switch_endpoints",
    metadata,
    sa.Column("participant_id", sa.Uuid, primary_key=True),
    sa.Column("url", sa.String(400), nullable=False),
    sa.Column("signing_secret", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)


def message_values(message: ArchivedMessage, created_at: int) -> dict[str, Any]:
    """A switch_messages row for `message`."""
    return {
        "id": message.id,
        "participant_id": message.participant_id,
        "direction": message.direction,
        "message_type": message.message_type,
        "business_message_id": message.business_message_id[:35],
        "created_at": created_at,
        "body": message.body,
        "document_message_id": (
            None if message.document_message_id is None else message.document_message_id[:35]
        ),
    }


def insert_messages(
    connection: sa.Connection, messages: Sequence[ArchivedMessage], created_at: int
) -> None:
    if not messages:
        return
    rows = [message_values(m, created_at) for m in messages]
    if connection.dialect.name != "postgresql":
        connection.execute(messages_table.insert(), rows)  # SQLite: a loop in C, no round trip
    elif len(rows) <= MESSAGES_PER_VALUES:
        # One multi-row INSERT ... VALUES (an executemany costs a pipeline sync).
        connection.execute(messages_table.insert().values(rows))
    else:  # a bulk file's: compiling VALUES for thousands of rows cost more than sending them
        _copy_rows(connection, messages_table, MESSAGE_COLUMNS, rows)


MESSAGES_PER_VALUES = 16


class _Xid8(sa.types.UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id type, for casts only (read back as bigint)."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "xid8"


# Reflection (alembic's comparisons, sa.inspect) names the archive's txid column's type
# instead of warning that it does not know it.
postgresql_base.ischema_names.setdefault("xid8", _Xid8)


# The oldest transaction of this database still running when the page's snapshot was taken
# (or the first id not yet given, if none is): its messages, and every later one's, may still
# come. The snapshot's running ids include other databases' on the same server, which can
# never write here; those pg_stat_activity says are elsewhere are left out, so that a long
# transaction there does not hold this archive back (one it cannot place is counted).
_OLDEST_RUNNING_TXID: sa.ColumnClause[Any] = sa.literal_column(
    "(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot())) "
    "FROM pg_snapshot_xip(pg_current_snapshot()) AS x WHERE NOT EXISTS "
    "(SELECT 1 FROM pg_stat_activity AS a "
    "WHERE a.datname <> current_database() AND a.backend_xid = xid(x)))"
)


POSITION_PART_MAX = (1 << 63) - 1  # both parts are bigint in the database


class Position(NamedTuple):
    """Where a forward read of the archive stands: after the message (txid, seq)."""

    txid: int
    seq: int

    @classmethod
    def parse(cls, text: str) -> Position:
        """'TXID.SEQ' as archive_page lists it, or '0': the start.

        A bare number other than 0 is refused: before positions a reader passed the `seq` of
        the last message read, and taken as (0, seq) it would read everything again."""
        if text == "0":
            return cls(0, 0)
        txid, dot, seq = text.partition(".")
        if not (dot and txid.isdigit() and seq.isdigit()):
            raise ValueError(f"not an archive position: {text!r}")
        position = cls(int(txid), int(seq))
        if max(position) > POSITION_PART_MAX:
            raise ValueError(f"not an archive position: {text!r}")
        return position

    def __str__(self) -> str:
        return f"{self.txid}.{self.seq}"


_ARCHIVE_FIELDS = ("seq", "id", "direction", "message_type", "business_message_id", "created_at")


def archive_page(
    connection: sa.Connection, participant_id: uuid.UUID, limit: int, after: Position | None
) -> list[dict[str, Any]]:
    """A participant's archived messages without their bodies, each with its `position`:
    the newest first, or, given `after`, those after that position, oldest first.

    A forward read must never pass a message that commits later: writers draw their `seq`
    in one order and commit in another. On PostgreSQL a page holds only messages of
    transactions older than the oldest of this database's still running (whose ids are all
    decided: committed or rolled back), in (txid, seq) order, so a message that commits
    later always comes after the page. A long-running writer holds pages back until it
    ends; it never makes the reader skip. The newest-first listing stops at the same limit,
    so any position it shows is safe to read forward from. SQLite commits one writer at a
    time, in seq order (and never reuses a seq: AUTOINCREMENT), so its txid stays 0 and the
    position's seq alone orders it.
    """
    table = messages_table
    postgres = connection.dialect.name == "postgresql"
    txid: Any = sa.cast(sa.cast(table.c.txid, sa.Text), sa.BigInteger) if postgres else table.c.txid
    query = sa.select(*(table.c[name] for name in _ARCHIVE_FIELDS), txid.label("txid")).where(
        table.c.participant_id == participant_id
    )
    if postgres:
        query = query.where(table.c.txid < _OLDEST_RUNNING_TXID)
    if after is None:
        query = query.order_by(table.c.txid.desc(), table.c.seq.desc())
    elif postgres:
        as_txid = sa.cast(sa.cast(sa.literal(after.txid), sa.Text), _Xid8())
        query = query.where(
            sa.tuple_(table.c.txid, table.c.seq) > sa.tuple_(as_txid, sa.literal(after.seq))
        ).order_by(table.c.txid, table.c.seq)
    else:  # txid is 0 throughout; SQLite would seek a row comparison on its first column only
        query = query.where((table.c.txid == 0) & (table.c.seq > after.seq)).order_by(table.c.seq)
    rows = connection.execute(query.limit(limit)).all()
    return [
        {name: getattr(row, name) for name in _ARCHIVE_FIELDS}
        | {"position": str(Position(int(row.txid), row.seq))}
        for row in rows
    ]


def first_inbound_message(
    connection: sa.Connection,
    participant_id: uuid.UUID,
    message_type: str,
    business_message_ids: Collection[str],
) -> bytes | None:
    """The body of the participant's first message of this type received under one of these
    business message ids, if any (the gateway's duplicate MsgId check).

    A message is found by either of its ids (AppHdr BizMsgIdr, Document MsgId) under either
    of the earlier one's: ix_switch_messages_business_id and the small partial
    ix_switch_messages_document_id (participant, Document MsgId where it differs). On
    PostgreSQL it first takes a transaction lock on each (participant, type, id), so two
    different messages sent under one id at the same moment are checked one after the
    other: the second finds the first once its archive transaction commits (with SQLite's
    single writer they were one after the other already). Locks in sorted order: no
    deadlock between two messages naming the same ids.
    """
    table = messages_table
    ids = sorted(business_message_ids)
    if connection.dialect.name == "postgresql":
        for business_message_id in ids:  # every id it carries: one shared id makes them wait
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"{participant_id}/{message_type}/{business_message_id}"},
            )

    def under(column: sa.Column[Any]) -> sa.Select[Any]:
        return sa.select(table.c.seq, table.c.body).where(
            (table.c.participant_id == participant_id)
            & column.in_(ids)
            & (table.c.direction == "in")
            & (table.c.message_type == message_type)
        )

    # Two indexed look-ups, not one OR: SQLite, without statistics, scans the participant's
    # whole archive for the OR (PostgreSQL ORs the two indexes either way).
    found = sa.union_all(
        under(table.c.business_message_id), under(table.c.document_message_id)
    ).subquery()
    body = connection.execute(
        sa.select(found.c.body).order_by(found.c.seq).limit(1)
    ).scalar_one_or_none()
    return None if body is None else bytes(body)


def created_since(
    table: sa.Table, since_ns: int, after_id: uuid.UUID | None
) -> sa.ColumnElement[bool]:
    """A page's keyset on (created_at, id): rows created at `since_ns` or later, or, given
    `after_id` (the last row of the page before, created at `since_ns`), those after it.
    A bulk file stores thousands of rows under one created_at, so the time alone cannot
    say where a page ended; order pages by (created_at, id)."""
    if after_id is None:
        return table.c.created_at >= since_ns
    return (table.c.created_at > since_ns) | (
        (table.c.created_at == since_ns) & (table.c.id > after_id)
    )


# ---------------------------------------------------------------------------- the payment path
# A payment's two switch transactions: its row (with the credit advice about to be sent) and
# its decision (with the messages of the exchange). On PostgreSQL each is one statement (data-
# modifying CTEs) on the raw driver: psycopg sends the BEGIN with it, then the COMMIT, two
# round trips in all; on SQLite, where a round trip is a function call, SQLAlchemy Core.
# Plain str (SQLAlchemy names are a str subclass, which orjson refuses as a key).
PAYMENT_COLUMNS = tuple(str(column.name) for column in payments_table.columns)
MESSAGE_COLUMNS = tuple(
    str(c.name) for c in messages_table.columns if c.name not in {"seq", "txid"}
)
NO_CAP = -1  # caps are >= 0: the guard's stand-in for "uncapped"


class DuplicatePaymentError(Exception):
    """The payment's UETR, or its payer's end-to-end id, is stored already."""


@dataclass(frozen=True, slots=True)
class PaymentGuard:
    """What a payment row's insert checks again in the database, in the same statement.

    The payer is always checked active; the payee too when the payment goes ahead; and
    when the payment was checked against the payer's net debit cap, the cap must still be
    the one it used (None: uncapped). What the caches could get wrong is caught here.
    """

    payer_id: uuid.UUID
    payee_id: uuid.UUID | None = None
    cap_checked: bool = False
    cap_minor: int | None = None

    def parameters(self) -> dict[str, Any]:
        return {
            "guard_payer_id": self.payer_id,
            "guard_payee_id": self.payee_id,
            "guard_cap_minor": NO_CAP if self.cap_minor is None else self.cap_minor,
        }


def insert_payment(
    engine: sa.Engine,
    values: dict[str, Any],
    guard: PaymentGuard,
    messages: Sequence[ArchivedMessage],
) -> bool:
    """Store a payment row and its messages if the guard holds: False if it did not.

    Raises DuplicatePaymentError when the ids are taken (nothing is stored then).
    """
    parameters = {f"row_{name}": values[name] for name in PAYMENT_COLUMNS}
    parameters.update(guard.parameters())
    created_at = values["created_at"]
    if engine.dialect.name == "postgresql":
        parameters.update(_message_parameters(messages, created_at))
        sql = _pg_insert_payment(
            guard.payee_id is not None, cap=guard.cap_checked, messages=len(messages)
        )
        try:
            return bool(_pg_run(engine, sql, parameters))
        except Exception as error:
            if _unique_violation(error):
                raise DuplicatePaymentError from error
            raise
    try:
        with engine.begin() as connection:
            statement = _insert_payment(guard.payee_id is not None, cap=guard.cap_checked)
            if connection.execute(statement, parameters).first() is None:
                return False
            insert_messages(connection, messages, created_at)
    except sa.exc.IntegrityError as error:
        raise DuplicatePaymentError from error
    return True


def finish_payment(
    engine: sa.Engine,
    payment_id: uuid.UUID,
    change: dict[str, Any],
    *,
    kept: Sequence[ArchivedMessage],
    kept_if_changed: Sequence[ArchivedMessage],
    dropped: uuid.UUID | None,
) -> bool:
    """Decide a pending payment (`change`: status, reason, resolved_at), archiving `kept`
    in any case and `kept_if_changed` only if this decided it; `dropped` leaves the archive.

    True when this decided it; False when it was decided already (the first decision stands).
    """
    resolved_at = change["resolved_at"]
    if engine.dialect.name == "postgresql":
        parameters = {
            "payment_id": payment_id,
            "pending": PENDING,
            "dropped": dropped,
            **change,
            **_message_parameters([*kept, *kept_if_changed], resolved_at),
        }
        sql = _pg_finish_payment(len(kept), len(kept_if_changed), dropped=dropped is not None)
        return bool(_pg_run(engine, sql, parameters))
    table = payments_table
    with engine.begin() as connection:
        changed = (
            connection.execute(
                table.update()
                .where((table.c.id == payment_id) & (table.c.status == PENDING))
                .values(**change)
                .returning(table.c.id)
            ).first()
            is not None
        )
        insert_messages(connection, [*kept, *kept_if_changed] if changed else kept, resolved_at)
        if dropped is not None:
            connection.execute(messages_table.delete().where(messages_table.c.id == dropped))
    return changed


def _pg_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return "uuid"
    if isinstance(kind, sa.BigInteger):
        return "bigint"
    if isinstance(kind, sa.Integer):
        return "integer"
    if isinstance(kind, sa.LargeBinary):
        return "bytea"
    return "text"


# ---------------------------------------------------------------------------- grouped
# Payments.submit_many: the two switch transactions of many concurrent payments, each one
# statement for the whole group on PostgreSQL; on SQLite, one payment at a time (a single
# writer: nothing to share).
Stored = tuple[dict[str, Any], "PaymentGuard", Sequence[ArchivedMessage]]


@dataclass(frozen=True, slots=True)
class Decision:
    """One payment's decision for finish_payments (see finish_payment for `kept`)."""

    payment_id: uuid.UUID
    status: str
    reason: str | None
    kept: Sequence[ArchivedMessage]
    kept_if_changed: Sequence[ArchivedMessage]


def insert_payments(engine: sa.Engine, payments: Sequence[Stored]) -> set[uuid.UUID]:
    """insert_payment for many (row, guard, messages): the ids stored.

    A row whose guard fails, or whose ids are taken (stored before, or earlier in the same
    group), is left out, and so are its messages; the caller finds out why one at a time.
    """
    if not payments:
        return set()
    if engine.dialect.name != "postgresql":
        stored = set()
        for values, guard, messages in payments:
            try:
                if insert_payment(engine, values, guard, messages):
                    stored.add(values["id"])
            except DuplicatePaymentError:
                continue
        return stored
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for values, guard, messages in payments:
        row = {name: values[name] for name in PAYMENT_COLUMNS}
        row.update(
            g_payer=guard.payer_id,
            g_payee=guard.payee_id,
            g_cap=guard.cap_minor,
            g_checked=guard.cap_checked,
        )
        rows.append(row)
        kept += [
            _message_row(values["id"], m, values["created_at"], always=False) for m in messages
        ]
    return set(_pg_run_all(engine, _PG_INSERT_PAYMENTS, _json_parameters(rows, kept)))


def finish_payments(
    engine: sa.Engine, decisions: Sequence[Decision], resolved_at: int
) -> set[uuid.UUID]:
    """finish_payment for many pending payments: the ids this decided (no `dropped`)."""
    if not decisions:
        return set()
    if engine.dialect.name != "postgresql":
        return {
            d.payment_id
            for d in decisions
            if finish_payment(
                engine,
                d.payment_id,
                {"status": d.status, "reason": d.reason, "resolved_at": resolved_at},
                kept=d.kept,
                kept_if_changed=d.kept_if_changed,
                dropped=None,
            )
        }
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for d in decisions:
        rows.append({"id": d.payment_id, "status": d.status, "reason": d.reason})
        for always, messages in ((True, d.kept), (False, d.kept_if_changed)):
            kept += [_message_row(d.payment_id, m, resolved_at, always=always) for m in messages]
    parameters = _json_parameters(rows, kept)
    parameters.update({"resolved_at": resolved_at, "pending": PENDING})
    return set(_pg_run_all(engine, _PG_FINISH_PAYMENTS, parameters))


# A group travels as two JSON parameters (rows, messages) read by jsonb_to_recordset: the
# statement's text is the same for every group, so psycopg converts it once and the server
# prepares it once (with a placeholder per value, converting the text cost more than running
# it). Message bodies go as base64: bytes, whatever their encoding.
def _recordset(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


_MESSAGE_FIELDS = [("owner", "uuid"), ("always", "boolean")] + [
    (name, "text" if name == "body" else _pg_type(messages_table.c[name]))
    for name in MESSAGE_COLUMNS
]
_MESSAGES_KEPT = (
    f"INSERT INTO switch_messages ({', '.join(MESSAGE_COLUMNS)}) SELECT "
    + ", ".join("decode(m.body, 'base64')" if n == "body" else f"m.{n}" for n in MESSAGE_COLUMNS)
    + f" FROM jsonb_to_recordset(%(messages)s::jsonb) AS m({_recordset(_MESSAGE_FIELDS)})"
)
_PAYMENT_FIELDS = [(name, _pg_type(payments_table.c[name])) for name in PAYMENT_COLUMNS] + [
    ("g_payer", "uuid"),
    ("g_payee", "uuid"),
    ("g_cap", "bigint"),
    ("g_checked", "boolean"),
]
_PG_INSERT_PAYMENTS = (
    "WITH v AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) "
    f"AS v({_recordset(_PAYMENT_FIELDS)})), "
    f"inserted AS (INSERT INTO switch_payments ({', '.join(PAYMENT_COLUMNS)}) "
    f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM v WHERE "
    "EXISTS (SELECT 1 FROM switch_participants WHERE id = v.g_payer AND status = 'active') "
    "AND (v.g_payee IS NULL OR EXISTS (SELECT 1 FROM switch_participants "
    "WHERE id = v.g_payee AND status = 'active')) "
    "AND (NOT v.g_checked OR coalesce((SELECT cap_minor FROM switch_net_debit_caps "
    f"WHERE participant_id = v.g_payer), {NO_CAP}) = coalesce(v.g_cap, {NO_CAP})) "
    "ON CONFLICT DO NOTHING RETURNING id), "
    f"kept AS ({_MESSAGES_KEPT} WHERE m.owner IN (SELECT id FROM inserted)) "
    "SELECT id FROM inserted"
)
_PG_FINISH_PAYMENTS = (
    "WITH changed AS (UPDATE switch_payments AS p SET status = v.status, reason = v.reason, "
    "resolved_at = %(resolved_at)s FROM jsonb_to_recordset(%(rows)s::jsonb) "
    "AS v(id uuid, status text, reason text) "
    "WHERE p.id = v.id AND p.status = %(pending)s RETURNING p.id), "
    f"kept AS ({_MESSAGES_KEPT} WHERE m.always OR m.owner IN (SELECT id FROM changed)) "
    "SELECT id FROM changed"
)


def _message_row(
    owner: uuid.UUID, message: ArchivedMessage, created_at: int, *, always: bool
) -> dict[str, Any]:
    return {"owner": owner, "always": always, **message_values(message, created_at)}


def _json_parameters(rows: list[dict[str, Any]], messages: list[dict[str, Any]]) -> dict[str, Any]:
    # orjson: a sixth of the json module's time for a group's rows (UUIDs written natively).
    return {
        "rows": orjson.dumps(rows, default=_json).decode(),
        "messages": orjson.dumps(messages, default=_json).decode(),
    }


def _json(value: Any) -> Any:
    """What JSON cannot carry by itself: bytes, as base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _pg_run_all(engine: sa.Engine, sql: str, parameters: dict[str, Any]) -> list[Any]:
    """One statement in a transaction of its own; its rows' first values."""
    return [row[0] for row in _pg_execute(engine, sql, parameters, prepare=True)]


PENDING = "PDNG"


def _insert_payment(payee: bool, *, cap: bool) -> Any:
    """INSERT ... SELECT <row> WHERE <guard> RETURNING id, in SQLAlchemy Core (SQLite)."""
    statement = _INSERTS.get((payee, cap))
    if statement is None:
        statement = _INSERTS.setdefault((payee, cap), _build_insert_payment(payee, cap=cap))
    return statement


def _build_insert_payment(payee: bool, *, cap: bool) -> Any:
    participants = participants_table
    caps = net_debit_caps_table

    def is_active(name: str) -> Any:
        return sa.exists().where(
            (participants.c.id == sa.bindparam(name, type_=sa.Uuid))
            & (participants.c.status == "active")
        )

    conditions = [is_active("guard_payer_id")]
    if payee:
        conditions.append(is_active("guard_payee_id"))
    if cap:
        current = (
            sa.select(caps.c.cap_minor)
            .where(caps.c.participant_id == sa.bindparam("guard_payer_id", type_=sa.Uuid))
            .scalar_subquery()
        )
        conditions.append(
            sa.func.coalesce(current, NO_CAP)
            == sa.bindparam("guard_cap_minor", type_=sa.BigInteger)
        )
    row = sa.select(
        *(
            sa.bindparam(f"row_{name}", type_=payments_table.c[name].type)
            for name in PAYMENT_COLUMNS
        )
    ).where(sa.and_(*conditions))
    # RETURNING, because an INSERT ... SELECT's rowcount is not reported by every driver.
    return (
        payments_table.insert()
        .from_select(list(PAYMENT_COLUMNS), row)
        .returning(payments_table.c.id)
    )


_INSERTS: dict[tuple[bool, bool], Any] = {}


_PG_ACTIVE = (
    "EXISTS (SELECT 1 FROM switch_participants WHERE id = %({name})s::uuid AND status = 'active')"
)


def _pg_messages(count: int, *, first: int = 0) -> str:
    """Messages first .. first+count-1 as VALUES rows of scalar parameters (a Python list
    as an array parameter costs psycopg more than the statement)."""
    return ", ".join(
        "("
        + ", ".join(
            f"%(message_{n}_{name})s::{_pg_type(messages_table.c[name])}"
            for name in MESSAGE_COLUMNS
        )
        + ")"
        for n in range(first, first + count)
    )


def _message_parameters(messages: Sequence[ArchivedMessage], created_at: int) -> dict[str, Any]:
    return {
        f"message_{n}_{name}": value
        for n, message in enumerate(messages)
        for name, value in message_values(message, created_at).items()
    }


@functools.cache
def _pg_insert_payment(payee: bool, *, cap: bool, messages: int) -> str:
    conditions = [_PG_ACTIVE.format(name="guard_payer_id")]
    if payee:
        conditions.append(_PG_ACTIVE.format(name="guard_payee_id"))
    if cap:
        conditions.append(
            "coalesce((SELECT cap_minor FROM switch_net_debit_caps "
            f"WHERE participant_id = %(guard_payer_id)s::uuid), {NO_CAP}) "
            "= %(guard_cap_minor)s::bigint"
        )
    row = ", ".join(
        f"%(row_{name})s::{_pg_type(payments_table.c[name])}" for name in PAYMENT_COLUMNS
    )
    kept = ""
    if messages:
        kept = (
            f", kept AS (INSERT INTO switch_messages ({', '.join(MESSAGE_COLUMNS)}) "
            f"SELECT m.* FROM (VALUES {_pg_messages(messages)}) AS m "
            "WHERE EXISTS (SELECT 1 FROM inserted))"
        )
    return (
        f"WITH inserted AS (INSERT INTO switch_payments ({', '.join(PAYMENT_COLUMNS)}) "
        f"SELECT {row} WHERE {' AND '.join(conditions)} RETURNING id){kept} "
        "SELECT count(*) FROM inserted"
    )


@functools.cache
def _pg_finish_payment(kept: int, kept_if_changed: int, *, dropped: bool) -> str:
    """The status change and the archive's changes as one statement (data-modifying CTEs):
    `kept` messages in any case, the next `kept_if_changed` only if the status changed."""
    columns = ", ".join(MESSAGE_COLUMNS)
    change = (
        "WITH changed AS (UPDATE switch_payments SET status = %(status)s, reason = %(reason)s, "
        "resolved_at = %(resolved_at)s WHERE id = %(payment_id)s::uuid AND status = %(pending)s "
        "RETURNING id)"
    )
    parts = [change]
    if kept:
        parts.append(
            f"kept AS (INSERT INTO switch_messages ({columns}) VALUES {_pg_messages(kept)})"
        )
    if kept_if_changed:
        parts.append(
            f"reported AS (INSERT INTO switch_messages ({columns}) SELECT m.* FROM "
            f"(VALUES {_pg_messages(kept_if_changed, first=kept)}) AS m "
            "WHERE EXISTS (SELECT 1 FROM changed))"
        )
    if dropped:
        parts.append("dropped AS (DELETE FROM switch_messages WHERE id = %(dropped)s::uuid)")
    return ", ".join(parts) + " SELECT count(*) FROM changed"


def _pg_run(engine: sa.Engine, sql: str, parameters: dict[str, Any]) -> Any:
    """One statement in a transaction of its own (two round trips); its single value."""
    rows = _pg_execute(engine, sql, parameters, prepare=True)
    return rows[0][0] if rows else None


def _pg_execute(
    engine: sa.Engine, sql: str, parameters: dict[str, Any], *, prepare: bool
) -> list[Any]:
    """Execute and commit on a pooled raw connection; the rows."""
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        try:
            rows: list[Any] = connection.execute(sql, parameters, prepare=prepare).fetchall()
            connection.commit()
        except BaseException:
            if connection.closed or connection.broken:
                raw.invalidate()  # a broken connection is thrown away, never reused
            else:
                connection.rollback()
            raise
        return rows
    finally:
        raw.close()


def _unique_violation(error: BaseException) -> bool:
    import psycopg.errors  # noqa: PLC0415 - PostgreSQL only

    return isinstance(error, psycopg.errors.UniqueViolation)


# ---------------------------------------------------------------------------- bulk
def payments_by_ids(
    connection: sa.Connection,
    payer_id: uuid.UUID,
    uetrs: Sequence[uuid.UUID],
    end_to_end_ids: Sequence[str],
) -> list[Any]:
    """Stored payments with one of these UETRs, or this payer and one of these end-to-end ids.

    On PostgreSQL each list is one array parameter (`= ANY`): an IN list of thousands of
    placeholders cost more to build and parse than the query took to run.
    """
    table = payments_table
    if connection.dialect.name == "postgresql":
        uetr_match = table.c.uetr == sa.any_(sa.bindparam("uetrs", type_=ARRAY(sa.Uuid)))
        e2e_match = table.c.end_to_end_id == sa.any_(sa.bindparam("e2e", type_=ARRAY(sa.String)))
        return list(
            connection.execute(
                sa.select(table).where(uetr_match | ((table.c.payer_id == payer_id) & e2e_match)),
                {"uetrs": list(uetrs), "e2e": list(end_to_end_ids)},
            )
        )
    return list(
        connection.execute(
            sa.select(table).where(
                table.c.uetr.in_(uetrs)
                | ((table.c.payer_id == payer_id) & table.c.end_to_end_id.in_(end_to_end_ids))
            )
        )
    )


def insert_payment_rows(connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Many payment rows in one statement: a binary COPY on PostgreSQL."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(payments_table.insert(), list(rows))
        return
    _copy_rows(connection, payments_table, PAYMENT_COLUMNS, rows)


def _copy_rows(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Rows into a PostgreSQL table with one binary COPY, in the connection's transaction."""
    driver: Any = connection.connection.driver_connection
    names = ", ".join(columns)
    types = [_pg_type(table.c[name]) for name in columns]
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        write_row = copy.write_row
        for row in rows:
            write_row([row[name] for name in columns])


def decide_payment_rows(
    connection: sa.Connection,
    decisions: Sequence[tuple[uuid.UUID, str, str | None]],
    resolved_at: int,
) -> set[uuid.UUID]:
    """Decide many pending payments (id, status, reason) at once; the ids this decided.

    A payment no longer pending keeps its first decision (and is not in the answer).
    """
    if not decisions:
        return set()
    table = payments_table
    if connection.dialect.name == "postgresql":
        # Text array literals: psycopg adapts a Python list element by element, in Python.
        # Statuses and reasons are ISO codes (letters and digits): nothing to escape. No
        # RETURNING: turning every id back into a UUID cost more than the rare check below.
        ids = "{" + ",".join([f"{d[0].int:032x}" for d in decisions]) + "}"
        statuses = "{" + ",".join([d[1] for d in decisions]) + "}"
        reasons = "{" + ",".join([d[2] or "NULL" for d in decisions]) + "}"
        count = connection.exec_driver_sql(
            "UPDATE switch_payments AS p SET status = v.status, reason = v.reason, "
            "resolved_at = %(resolved_at)s "
            "FROM unnest(%(ids)s::uuid[], %(statuses)s::text[], %(reasons)s::text[]) "
            "AS v(id, status, reason) WHERE p.id = v.id AND p.status = %(pending)s",
            {
                "resolved_at": resolved_at,
                "ids": ids,
                "statuses": statuses,
                "reasons": reasons,
                "pending": PENDING,
            },
        ).rowcount
    else:
        statement = (
            table.update()
            .where((table.c.id == sa.bindparam("payment_id")) & (table.c.status == PENDING))
            .values(
                status=sa.bindparam("new_status"),
                reason=sa.bindparam("new_reason"),
                resolved_at=resolved_at,
            )
        )
        count = connection.execute(
            statement,
            [
                {"payment_id": payment_id, "new_status": status, "new_reason": reason}
                for payment_id, status, reason in decisions
            ],
        ).rowcount
    wanted = {payment_id: (status, reason) for payment_id, status, reason in decisions}
    if count == len(decisions):
        return set(wanted)
    # Some were decided elsewhere meanwhile: ask which are now as this decided them.
    found = set()
    ids_wanted = list(wanted)
    for offset in range(0, len(ids_wanted), IDS_PER_QUERY_MAX):
        chunk = ids_wanted[offset : offset + IDS_PER_QUERY_MAX]
        for row in connection.execute(
            sa.select(table.c.id, table.c.status, table.c.reason, table.c.resolved_at).where(
                table.c.id.in_(chunk)
            )
        ):
            if (row.status, row.reason) == wanted[row.id] and row.resolved_at == resolved_at:
                found.add(row.id)
    return found


IDS_PER_QUERY_MAX = 5_000  # SQLite's IN lists: well under its 32,766 variables
