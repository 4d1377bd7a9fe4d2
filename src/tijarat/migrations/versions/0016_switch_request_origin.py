"""The switch: remember which pain.013 a request to pay came in.

The hub answers the creditor's institution with a pain.014 when its request is paid,
refused or expires; that answer names the original message (OrgnlGrpInfAndSts/OrgnlMsgId)
and payment instruction (OrgnlPmtInfId), so both are kept with the request. Null for a
request made through the JSON API or in process (the answer then names the request's id).

Revision ID: 0016_switch_request_origin
Revises: 0015_switch_claim_parties
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_switch_request_origin"
down_revision = "0015_switch_claim_parties"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("switch_payment_requests") as batch:
        batch.add_column(sa.Column("original_message_id", sa.String(35), nullable=True))
        batch.add_column(sa.Column("original_payment_information_id", sa.String(35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("switch_payment_requests") as batch:
        batch.drop_column("original_payment_information_id")
        batch.drop_column("original_message_id")
