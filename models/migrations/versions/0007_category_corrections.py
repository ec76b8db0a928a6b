"""category corrections (改类) recorded for rule suggestions

Revision ID: i13_corrections
Revises: i9_grid_version
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = 'i13_corrections'
down_revision: str | None = 'i9_grid_version'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'category_correction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('at', models.base.UTCDateTime(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('staff_name', sa.String(length=128), nullable=False),
        sa.Column('old_code', sa.String(length=64), nullable=True),
        sa.Column('new_code', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('category_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_category_correction_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_category_correction_new_code'), ['new_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('category_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_category_correction_new_code'))
        batch_op.drop_index(batch_op.f('ix_category_correction_case_id'))
    op.drop_table('category_correction')
