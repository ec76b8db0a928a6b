"""job lease and inbound retry: a running job's slot is held under a lease its runner renews, taken over when it
runs out; a failed inbound message keeps what it needs to be handled again, its attempts and when next; each
bot's send budget shared by every instance

Revision ID: i10_job_lease
Revises: w16_web
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "i10_job_lease"
down_revision: str | None = "w16_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("bot", sa.String(length=128), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("bot", name=op.f("pk_send_budget")),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.create_index("ix_inbound_message_retry_at", ["retry_at"], unique=False)


def downgrade() -> None:
    op.drop_table("send_budget")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_message_retry_at")
        batch_op.drop_column("payload")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
