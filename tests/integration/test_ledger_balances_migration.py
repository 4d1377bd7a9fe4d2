"""Migration 0013: account balances move from the account rows to the balance history.

A database written before it (balances kept twice, on the account rows and in every transfer
row) upgrades to the same balances read off the history, keeps working, and downgrades to
account rows holding every balance the ledger reached meanwhile.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command

from tijarat.bootstrap import alembic_config, build, create_database_engine, migrate
from tijarat.ledger.model import Transfer, TransferFlags
from tijarat.settings import Settings

BEFORE = "0012_ledger_head"
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _write_before(engine: sa.Engine) -> None:
    """What the ledger wrote before 0013: A pays B 5, then B reserves 3 for A (pending)."""
    sqlite = engine.dialect.name == "sqlite"

    def key(value: uuid.UUID | None) -> Any:
        return value.hex if sqlite and value is not None else value

    tables = sa.MetaData()
    tables.reflect(
        engine,
        only=["ledger_ledgers", "ledger_accounts", "ledger_transfers", "ledger_pending_transfers"],
    )
    accounts = [
        (A, (0, 5, 3, 0), 11),
        (B, (3, 0, 0, 5), 11),
        (C, (0, 0, 0, 0), 0),
    ]
    transfers = [
        # id, debit, credit, amount, flags, timeout, timestamp, debit after, credit after
        (uuid.uuid4(), A, B, 5, 0, 0, 10, (0, 5, 0, 0), (0, 0, 0, 5)),
        (uuid.uuid4(), B, A, 3, int(TransferFlags.PENDING), 0, 11, (3, 0, 0, 5), (0, 5, 3, 0)),
    ]
    reserved = transfers[1]
    with engine.begin() as connection:
        connection.execute(
            tables.tables["ledger_pending_transfers"].insert(),
            [
                {
                    "id": key(reserved[0]),
                    "debit_account_id": key(B),
                    "credit_account_id": key(A),
                    "amount": 3,
                    "ledger": 1,
                    "code": 1,
                    "timestamp": 11,
                    "expires_at": 0,
                    "status": 1,
                    "resolved_by": None,
                }
            ],
        )
        connection.execute(
            tables.tables["ledger_ledgers"].insert(), [{"id": 1, "currency": "PKR", "name": "r"}]
        )
        connection.execute(
            tables.tables["ledger_accounts"].insert(),
            [
                {
                    "id": key(account),
                    "ledger": 1,
                    "code": 1,
                    "flags": 0,
                    "owner_id": None,
                    "user_data_64": 0,
                    "user_data_32": 0,
                    **dict(zip(BALANCES, balances, strict=True)),
                    "timestamp": 1,
                    "last_transfer_timestamp": last,
                }
                for account, balances, last in accounts
            ],
        )
        connection.execute(
            tables.tables["ledger_transfers"].insert(),
            [
                {
                    "id": key(tid),
                    "debit_account_id": key(debit),
                    "credit_account_id": key(credit),
                    "amount": amount,
                    "pending_id": None,
                    "user_data_128": None,
                    "user_data_64": 0,
                    "user_data_32": 0,
                    "timeout": timeout,
                    "ledger": 1,
                    "code": 1,
                    "flags": flags,
                    "timestamp": timestamp,
                    **{f"debit_{b}": v for b, v in zip(BALANCES, after_debit, strict=True)},
                    **{f"credit_{b}": v for b, v in zip(BALANCES, after_credit, strict=True)},
                }
                for (
                    tid,
                    debit,
                    credit,
                    amount,
                    flags,
                    timeout,
                    timestamp,
                    after_debit,
                    after_credit,
                ) in transfers
            ],
        )


def _balances(account: Any) -> tuple[int, int, int, int]:
    return tuple(getattr(account, b) for b in BALANCES)  # type: ignore[return-value]


def test_balances_survive_the_migration_both_ways(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        migrate(engine, BEFORE)
        _write_before(engine)
        container = build(Settings(database_url=database_url, environment="test"))
        try:
            a, b, c = container.ledger.lookup_accounts([A, B, C])
            assert (_balances(a), _balances(b), _balances(c)) == (
                (0, 5, 3, 0),
                (3, 0, 0, 5),
                (0, 0, 0, 0),
            )
            assert a.last_transfer_timestamp == b.last_transfer_timestamp == 11
            assert c.last_transfer_timestamp == 0
            assert container.ledger.verify().ok
            # The ledger goes on from there: C receives 2 from A.
            (result,) = container.ledger.create_transfers(
                [Transfer(uuid.uuid4(), A, C, 2, ledger=1, code=1)]
            )
            assert result.name == "OK"
            a, c = container.ledger.lookup_accounts([A, C])
            assert (_balances(a), _balances(c)) == ((0, 7, 3, 0), (0, 0, 0, 2))
            assert container.ledger.verify().ok
        finally:
            container.close()
        command.downgrade(alembic_config(engine), BEFORE)
        with engine.connect() as connection:
            rows = {
                uuid.UUID(str(row[0])): tuple(row[1:])
                for row in connection.execute(
                    sa.text(f"SELECT id, {', '.join(BALANCES)} FROM ledger_accounts")
                )
            }
        assert rows == {A: (0, 7, 3, 0), B: (3, 0, 0, 5), C: (0, 0, 0, 2)}
    finally:
        engine.dispose()
