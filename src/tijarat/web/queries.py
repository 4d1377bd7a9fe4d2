"""Read-only views over the hub for the operator pages: lists the switch has no use case for.

Everything here only reads (SELECTs on the switch's tables, balances from the ledger); every
change still goes through the switch's services. Lists are newest first and paged by a
keyset cursor, never by OFFSET, so a page costs the same however deep it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from tijarat.bootstrap import Container
from tijarat.kernel.clock import NS_PER_S, PAKISTAN, from_ns, to_ns
from tijarat.ledger.model import BATCH_MAX
from tijarat.switch import store
from tijarat.switch.model import Participant, Payment, PaymentStatus

PAGE_SIZE = 50
MESSAGES_SCANNED_MAX = 200  # messages searched for one payment's ids
MESSAGE_WINDOW_BEFORE_S = 60  # a payment's request may be archived just before the payment


@dataclass(frozen=True, slots=True)
class ParticipantLine:
    participant: Participant
    available_minor: int  # may still be sent
    reserved_minor: int  # held by payments waiting for their payee


@dataclass(frozen=True, slots=True)
class PaymentLine:
    id: uuid.UUID
    created_at: int
    payer_code: str
    payee_code: str | None
    amount_minor: int
    currency: str
    status: str
    reason: str | None
    end_to_end_id: str
    creditor: str  # the Raast ID or IBAN the payer named
    returned_minor: int


@dataclass(frozen=True, slots=True)
class MessageLine:
    id: uuid.UUID
    seq: int
    participant_code: str
    direction: str
    message_type: str
    business_message_id: str
    created_at: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class ReturnLine:
    id: uuid.UUID
    payment_id: uuid.UUID
    created_at: int
    amount_minor: int
    reason: str
    end_to_end_id: str
    returned_by: str  # the payee of the original payment sends the return
    returned_to: str


@dataclass(frozen=True, slots=True)
class HubFigures:
    participants: int
    participants_active: int
    liquidity_minor: int
    settled_today: int
    settled_today_minor: int
    rejected_today: int
    pending: int
    returns_today: int
    returns_today_minor: int


def start_of_day_ns(now_ns: int) -> int:
    """Midnight in Pakistan (UTC+5): the hub's business day, not UTC's."""
    local = from_ns(now_ns).astimezone(PAKISTAN)
    return to_ns(local.replace(hour=0, minute=0, second=0, microsecond=0))


def days_back_ns(now_ns: int, days: int) -> list[datetime]:
    """The last `days` Pakistani midnights, oldest first, ending with today's."""
    today = from_ns(start_of_day_ns(now_ns)).astimezone(PAKISTAN)
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def participant_lines(container: Container) -> list[ParticipantLine]:
    participants = list(container.switch.participants())
    balances = {}
    ids = [p.settlement_account_id for p in participants]
    for start in range(0, len(ids), BATCH_MAX):
        for account in container.ledger.lookup_accounts(ids[start : start + BATCH_MAX]):
            balances[account.id] = account.balance
    lines = []
    for participant in participants:
        balance = balances.get(participant.settlement_account_id)
        lines.append(
            ParticipantLine(
                participant,
                balance.available_credit if balance else 0,
                balance.debits_pending if balance else 0,
            )
        )
    return lines


def hub_figures(container: Container) -> HubFigures:
    lines = participant_lines(container)
    today = start_of_day_ns(container.clock.now_ns())
    payments, returns = store.payments_table, store.returns_table
    with container.engine.connect() as connection:
        by_status: dict[str, tuple[int, int]] = {
            # int(): PostgreSQL's SUM of a BIGINT is NUMERIC, a Decimal in Python.
            row.status: (int(row.payments), int(row.total or 0))
            for row in connection.execute(
                sa.select(
                    payments.c.status,
                    sa.func.count().label("payments"),
                    sa.func.sum(payments.c.amount_minor).label("total"),
                )
                .where(payments.c.created_at >= today)
                .group_by(payments.c.status)
            )
        }
        pending = connection.execute(
            sa.select(sa.func.count()).where(payments.c.status == PaymentStatus.PENDING.value)
        ).scalar_one()
        returned = connection.execute(
            sa.select(sa.func.count(), sa.func.sum(returns.c.amount_minor)).where(
                returns.c.created_at >= today
            )
        ).one()
    settled = by_status.get(PaymentStatus.SETTLED.value, (0, 0))
    return HubFigures(
        participants=len(lines),
        participants_active=sum(line.participant.active for line in lines),
        # Per settlement account: sponsored participants show their sponsor's, once.
        liquidity_minor=sum(
            {
                line.participant.settlement_account_id: line.available_minor for line in lines
            }.values()
        ),
        settled_today=settled[0],
        settled_today_minor=settled[1],
        rejected_today=by_status.get(PaymentStatus.REJECTED.value, (0, 0))[0],
        pending=pending,
        returns_today=int(returned[0]),
        returns_today_minor=int(returned[1] or 0),
    )


def _codes() -> tuple[NamedFromClause, NamedFromClause]:
    return store.participants_table.alias("payer"), store.participants_table.alias("payee")


def payment_lines(
    container: Container,
    *,
    status: str | None = None,
    participant_id: uuid.UUID | None = None,
    before: tuple[int, uuid.UUID] | None = None,
    limit: int = PAGE_SIZE,
) -> list[PaymentLine]:
    """Payments newest first; `before` is the (created_at, id) of the last one seen."""
    table = store.payments_table
    payer, payee = _codes()
    query = (
        sa.select(
            table,
            payer.c.code.label("payer_code"),
            payee.c.code.label("payee_code"),
        )
        .join(payer, payer.c.id == table.c.payer_id)
        .outerjoin(payee, payee.c.id == table.c.payee_id)
    )
    if status is not None:
        query = query.where(table.c.status == status)
    if participant_id is not None:
        query = query.where(
            (table.c.payer_id == participant_id) | (table.c.payee_id == participant_id)
        )
    if before is not None:
        created_at, payment_id = before
        query = query.where(
            (table.c.created_at < created_at)
            | ((table.c.created_at == created_at) & (table.c.id < payment_id))
        )
    query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
        max(1, min(limit, PAGE_SIZE))
    )
    with container.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        PaymentLine(
            id=row.id,
            created_at=row.created_at,
            payer_code=row.payer_code,
            payee_code=row.payee_code,
            amount_minor=row.amount_minor,
            currency=row.currency,
            status=row.status,
            reason=row.reason,
            end_to_end_id=row.end_to_end_id,
            creditor=row.creditor_alias or row.creditor_iban or "",
            returned_minor=row.returned_minor,
        )
        for row in rows
    ]


def _message_query() -> sa.Select[tuple[object, ...]]:
    table = store.messages_table
    participants = store.participants_table
    return sa.select(
        table.c.id,
        table.c.seq,
        participants.c.code.label("participant_code"),
        table.c.direction,
        table.c.message_type,
        table.c.business_message_id,
        table.c.created_at,
        sa.func.length(table.c.body).label("size_bytes"),
    ).join(participants, participants.c.id == table.c.participant_id)


def _message_line(row: sa.Row[tuple[object, ...]]) -> MessageLine:
    values = row._mapping  # noqa: SLF001 - SQLAlchemy's public row API
    return MessageLine(
        id=values["id"],
        seq=values["seq"],
        participant_code=values["participant_code"],
        direction=values["direction"],
        message_type=values["message_type"],
        business_message_id=values["business_message_id"],
        created_at=values["created_at"],
        size_bytes=values["size_bytes"],
    )


def message_lines(
    container: Container,
    *,
    participant_id: uuid.UUID | None = None,
    message_type: str | None = None,
    before_seq: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[MessageLine]:
    table = store.messages_table
    query = _message_query()
    if participant_id is not None:
        query = query.where(table.c.participant_id == participant_id)
    if message_type is not None:
        query = query.where(table.c.message_type == message_type)
    if before_seq is not None:
        query = query.where(table.c.seq < before_seq)
    query = query.order_by(table.c.seq.desc()).limit(max(1, min(limit, PAGE_SIZE)))
    with container.engine.connect() as connection:
        return [_message_line(row) for row in connection.execute(query).all()]


def message(container: Container, message_id: uuid.UUID) -> tuple[MessageLine, bytes] | None:
    table = store.messages_table
    query = _message_query().add_columns(table.c.body).where(table.c.id == message_id)
    with container.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return _message_line(row), bytes(row._mapping["body"])  # noqa: SLF001


def payment_messages(container: Container, payment: Payment) -> list[MessageLine]:
    """The archived messages that name this payment (its UETR or end-to-end id).

    Looks at the payer's and payee's messages from just before the payment on, at most
    MESSAGES_SCANNED_MAX of them. A payment made through the JSON API has none.
    """
    table = store.messages_table
    owners = [payment.payer_id] + ([payment.payee_id] if payment.payee_id else [])
    since = payment.created_at - MESSAGE_WINDOW_BEFORE_S * NS_PER_S
    uetr = str(payment.request.uetr).encode()
    end_to_end = f">{escape(payment.request.end_to_end_id)}</".encode()
    query = (
        _message_query()
        .add_columns(table.c.body)
        .where(table.c.participant_id.in_(owners) & (table.c.created_at >= since))
        .order_by(table.c.seq)
        .limit(MESSAGES_SCANNED_MAX)
    )
    with container.engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for row in rows:
        body = bytes(row._mapping["body"])  # noqa: SLF001
        if uetr in body or end_to_end in body:
            found.append(_message_line(row))
    return found


def return_lines(
    container: Container,
    *,
    payment_id: uuid.UUID | None = None,
    before: tuple[int, uuid.UUID] | None = None,
    limit: int = PAGE_SIZE,
) -> list[ReturnLine]:
    returns, payments = store.returns_table, store.payments_table
    payer, payee = _codes()
    query = (
        sa.select(
            returns,
            payments.c.end_to_end_id,
            payer.c.code.label("payer_code"),
            payee.c.code.label("payee_code"),
        )
        .join(payments, payments.c.id == returns.c.payment_id)
        .join(payer, payer.c.id == payments.c.payer_id)
        .outerjoin(payee, payee.c.id == payments.c.payee_id)
    )
    if payment_id is not None:
        query = query.where(returns.c.payment_id == payment_id)
    if before is not None:
        created_at, return_id = before
        query = query.where(
            (returns.c.created_at < created_at)
            | ((returns.c.created_at == created_at) & (returns.c.id < return_id))
        )
    query = query.order_by(returns.c.created_at.desc(), returns.c.id.desc()).limit(
        max(1, min(limit, PAGE_SIZE))
    )
    with container.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        ReturnLine(
            id=row.id,
            payment_id=row.payment_id,
            created_at=row.created_at,
            amount_minor=row.amount_minor,
            reason=row.reason,
            end_to_end_id=row.end_to_end_id,
            returned_by=row.payee_code or "",
            returned_to=row.payer_code,
        )
        for row in rows
    ]


def participant_codes(container: Container) -> dict[uuid.UUID, str]:
    return {p.id: p.code for p in container.switch.participants()}


def encode_cursor(created_at: int, item_id: uuid.UUID) -> str:
    return f"{created_at}_{item_id}"


def decode_cursor(text: str | None) -> tuple[int, uuid.UUID] | None:
    """A cursor from a query string; anything malformed means the first page."""
    if not text:
        return None
    created_at, _, item_id = text.partition("_")
    try:
        return int(created_at), uuid.UUID(item_id)
    except ValueError:
        return None
