"""integrations: API keys, Open311 request tokens, unit coordinates

Revision ID: o17_integrations
Revises: i15_appointments
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "o17_integrations"
down_revision: str | None = "i15_appointments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_api_key_staff_id_staff")),
        sa.ForeignKeyConstraint(["unit_id"], ["grid_unit.id"], name=op.f("fk_api_key_unit_id_grid_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
    )
    op.create_table(
        "open311_token",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name=op.f("fk_open311_token_api_key_id_api_key")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_open311_token_case_id_case")),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_open311_token")),
    )
    op.create_index(op.f("ix_open311_token_case_id"), "open311_token", ["case_id"], unique=False)
    with op.batch_alter_table("grid_unit") as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grid_unit") as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
    op.drop_index(op.f("ix_open311_token_case_id"), table_name="open311_token")
    op.drop_table("open311_token")
    op.drop_table("api_key")
