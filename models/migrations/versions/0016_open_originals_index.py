"""The duplicate search's index holds open originals only (a partial index on category, unit path and filing time):
ordered by filing time, the search walked every case of its category filed in the window across the district,
duplicates and closed cases included (135 us a report at 3,000 cases), and the full index it was meant to use went
unread.

Revision ID: 0016_open_originals_index
Revises: 0015_offered_index
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_open_originals_index'
down_revision: str | None = '0015_offered_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
OPEN_ORIGINAL = ("kind = 'report' AND duplicate_of_id IS NULL AND status IN ('new', 'assigned', 'accepted', "
                 "'in_progress', 'transferred', 'returned', 'reopened')")


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_dup_lookup')
        batch_op.create_index('ix_case_open_originals', ['category_code', 'unit_path', 'created_at'], unique=False,
                              postgresql_where=sa.text(OPEN_ORIGINAL), sqlite_where=sa.text(OPEN_ORIGINAL))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_open_originals')
        batch_op.create_index('ix_case_dup_lookup', ['category_code', 'unit_path', 'created_at'], unique=False)
