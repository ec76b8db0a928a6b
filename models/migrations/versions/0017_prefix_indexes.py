"""Three single-column indexes on case dropped, each the first column of a composite one (status of ix_case_sla_next,
unit_id of ix_case_unit_created, assignee_id of ix_case_open_assignee), which serves every lookup they served: each
was one more B-tree page to change, and write to the WAL, with every case filed and every status changed.

Revision ID: 0017_prefix_indexes
Revises: 0016_open_originals_index
Create Date: 2026-12-05 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0017_prefix_indexes'
down_revision: str | None = '0016_open_originals_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
DROPPED = {"ix_case_status": "status", "ix_case_unit_id": "unit_id", "ix_case_assignee_id": "assignee_id"}


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        for name in DROPPED:
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        for name, column in DROPPED.items():
            batch_op.create_index(name, [column], unique=False)
