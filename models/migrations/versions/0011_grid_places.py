"""grid places: roads and landmarks the district file names

Revision ID: i11_grid_places
Revises: w16_indexes
Create Date: 2026-12-02 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'i11_grid_places'
down_revision: str | None = 'w16_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'grid_place',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('road', 'landmark', name='placekind', native_enum=False, length=32),
                  nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('aliases', sa.JSON(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('communities', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['grid_unit.id'], name=op.f('fk_grid_place_unit_id_grid_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_place')),
        sa.UniqueConstraint('unit_id', 'name', name=op.f('uq_grid_place_unit_id_name')),
    )
    with op.batch_alter_table('grid_place', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_place_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('grid_place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_place_unit_id'))
    op.drop_table('grid_place')
