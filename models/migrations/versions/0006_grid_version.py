"""grid version: a counter of grid changes, so running services reload their directory

Revision ID: i9_grid_version
Revises: w14_community
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "i9_grid_version"
down_revision: str | None = "w14_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grid_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_version")),
    )


def downgrade() -> None:
    op.drop_table("grid_version")
