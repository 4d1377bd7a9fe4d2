"""Account balances come from the balance history: ledger_accounts keeps what never changes.

Every transfer row already carries both accounts' balances just after it (expiries too), so an
account's balances are those of its newest transfer, or zero before its first. Keeping them a
second time on the account row cost every batch an UPDATE of each account it touched, with the
row locks that go with it: about as much server time as inserting the transfers. The rows
lose their balance columns; the view `ledger_account_balances` has the account as before
(the same columns, the balances and last_transfer_timestamp read off the newest transfer),
for the ledger's reads and for anyone with psql.

Revision ID: 0013_ledger_balances
Revises: 0012_ledger_head
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_ledger_balances"
down_revision = "0012_ledger_head"
branch_labels = None
depends_on = None

BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
STATIC = "a.id, a.ledger, a.code, a.flags, a.owner_id, a.user_data_64, a.user_data_32"

# The newest transfer of either side: one backward scan of each side's index, on
# (debit_account_id, timestamp) and (credit_account_id, timestamp).
POSTGRESQL_BALANCES = ", ".join(
    f"COALESCE(CASE WHEN h.debit_account_id = a.id THEN h.debit_{b} ELSE h.credit_{b} END, 0) "
    f"AS {b}"
    for b in BALANCES
)
POSTGRESQL_VIEW = f"""
CREATE VIEW ledger_account_balances AS
SELECT {STATIC}, {POSTGRESQL_BALANCES},
  a.timestamp, COALESCE(h.timestamp, 0) AS last_transfer_timestamp
FROM ledger_accounts a
LEFT JOIN LATERAL (
  (SELECT * FROM ledger_transfers t WHERE t.debit_account_id = a.id
   ORDER BY t.timestamp DESC LIMIT 1)
  UNION ALL
  (SELECT * FROM ledger_transfers t WHERE t.credit_account_id = a.id
   ORDER BY t.timestamp DESC LIMIT 1)
  ORDER BY timestamp DESC LIMIT 1
) h ON true
"""

# SQLite has no LATERAL: each side's newest transfer by a correlated subquery, then the
# newer of the two.
SQLITE_BALANCES = ", ".join(
    f"CASE WHEN COALESCE(d.timestamp, -1) > COALESCE(c.timestamp, -1) THEN d.debit_{b} "
    f"ELSE COALESCE(c.credit_{b}, 0) END AS {b}"
    for b in BALANCES
)
SQLITE_VIEW = f"""
CREATE VIEW ledger_account_balances AS
SELECT {STATIC}, {SQLITE_BALANCES},
  a.timestamp, MAX(COALESCE(d.timestamp, 0), COALESCE(c.timestamp, 0)) AS last_transfer_timestamp
FROM ledger_accounts a
LEFT JOIN ledger_transfers d ON d.id = (
  SELECT t.id FROM ledger_transfers t WHERE t.debit_account_id = a.id
  ORDER BY t.timestamp DESC LIMIT 1)
LEFT JOIN ledger_transfers c ON c.id = (
  SELECT t.id FROM ledger_transfers t WHERE t.credit_account_id = a.id
  ORDER BY t.timestamp DESC LIMIT 1)
"""
COLUMNS = (*BALANCES, "last_transfer_timestamp")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("ledger_accounts") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
    op.execute(SQLITE_VIEW if sqlite else POSTGRESQL_VIEW)


def downgrade() -> None:
    for name in COLUMNS:
        op.add_column(
            "ledger_accounts",
            sa.Column(name, sa.BigInteger, nullable=False, server_default="0"),
        )
    op.execute(
        "UPDATE ledger_accounts SET "
        + ", ".join(
            f"{c} = (SELECT b.{c} FROM ledger_account_balances b WHERE b.id = ledger_accounts.id)"
            for c in COLUMNS
        )
    )
    op.execute("DROP VIEW ledger_account_balances")
