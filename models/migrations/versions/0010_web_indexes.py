"""web at 1,000,000 cases: case events by the status they led to (the statistics page's reopened list), and
every column the figures read beside created_at (the statistics page reads the index, not the wide rows)

Revision ID: w16_indexes
Revises: i10_job_lease
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'w16_indexes'
down_revision: str | None = 'i10_job_lease'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
FIGURES_COLUMNS = ['created_at', 'unit_path', 'status', 'kind', 'category_name', 'assigned_at', 'accepted_at',
                   'resolved_at', 'resolve_due_at', 'rating']


def upgrade() -> None:
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index('ix_case_event_to_status_at', ['to_status', 'at'], unique=False)
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_figures', FIGURES_COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index('ix_case_event_to_status_at')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_figures')
