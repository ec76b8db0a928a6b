"""The ledger's offered rows by chat, sender and time (a partial index): the one-offer-per-sender window and the job
that lapses offers scanned the whole ledger, which keeps a row for every message a group carried, so an offer in a
busy group grew dearer with every message before it (1.0 ms per group line at 2,000 lines, 4.1 ms at 20,000).

Revision ID: 0015_offered_index
Revises: 0014_day_figures_inline
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_offered_index'
down_revision: str | None = '0014_day_figures_inline'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
OFFERED = "status = 'offered'"


def upgrade() -> None:
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_message_offered', ['channel', 'chat_id', 'sender_id', 'received_at'],
                              unique=False, postgresql_where=sa.text(OFFERED), sqlite_where=sa.text(OFFERED))


def downgrade() -> None:
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_message_offered')
