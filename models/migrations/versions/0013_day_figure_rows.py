"""case_day_figures as rows added, never updated: each tracked case write adds one row of differences, which a
reader sums (as it already did over days) and the SLA sweep folds together (bot.cases.figures.compact_day_figures).
The upserts of 0012 locked the day's row of a community and category until commit: filings of one community and
category queued behind each other on PostgreSQL, and two transactions updating cases of two such rows in opposite
orders deadlocked.

Revision ID: 0013_day_figure_rows
Revises: 0012_w16_rollup
Create Date: 2026-12-02 22:40:00
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_day_figure_rows'
down_revision: str | None = '0012_w16_rollup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0012 = importlib.import_module('models.migrations.versions.0012_w16_rollup')
COLUMNS, TRACKED = _0012.COLUMNS, _0012.TRACKED
LIVE = "status != 'duplicate'"
_INSERT = f"INSERT INTO case_day_figures (day, branch, category_name, {', '.join(COLUMNS)}) "


def _same_row(live_old: str, live_new: str) -> str:
    """Both versions of an updated case count, in the same day row (compared by their sources, a little stricter)."""
    return (f'{live_old} AND {live_new} AND OLD.created_at = NEW.created_at AND OLD.unit_path = NEW.unit_path '
            'AND OLD.category_name IS NOT DISTINCT FROM NEW.category_name')


def _add(key: list[str], values: list[str]) -> str:
    return f"{_INSERT} VALUES ({', '.join(key)}, {', '.join(values)})"


def _difference(new: list[str], old: list[str]) -> list[str]:
    return [f'({n}) - ({o})' for n, o in zip(new, old, strict=True)]


def _rebuild(with_id: bool) -> None:
    """The table again with or without a row id, its rows summed per key; its reader's index with the id."""
    key = ['day', 'branch', 'category_name']
    op.create_table(
        'case_day_figures_next',
        *([sa.Column('id', sa.Integer(), nullable=False)] if with_id else []),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('branch', sa.String(length=512), nullable=False),
        sa.Column('category_name', sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.Float() if c.endswith('_hours') else sa.Integer(), nullable=False) for c in COLUMNS),
        sa.PrimaryKeyConstraint(*(['id'] if with_id else key), name='pk_case_day_figures'
                                if op.get_bind().dialect.name == 'sqlite' else 'pk_case_day_figures_next'),
    )
    summed = ', '.join(f'sum({c})' for c in COLUMNS)
    op.execute(f"INSERT INTO case_day_figures_next (day, branch, category_name, {', '.join(COLUMNS)}) "
               f"SELECT day, branch, category_name, {summed} FROM case_day_figures GROUP BY 1, 2, 3")
    op.drop_table('case_day_figures')
    op.rename_table('case_day_figures_next', 'case_day_figures')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE case_day_figures RENAME CONSTRAINT pk_case_day_figures_next TO pk_case_day_figures')
        if with_id:
            op.execute('ALTER SEQUENCE case_day_figures_next_id_seq RENAME TO case_day_figures_id_seq')
    if with_id:
        op.create_index('ix_case_day_figures_key', 'case_day_figures', key)


def _sqlite_triggers(rows: list[tuple[str, str, str, str]]) -> None:
    for name, event, when, statement in rows:
        op.execute(f'CREATE TRIGGER case_day_figures_{name} AFTER {event} ON "case" WHEN {when} '
                   f'BEGIN {statement}; END')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild(with_id=True)
        key = _0012._pg_key
        new, old = _0012._pg_values('NEW'), _0012._pg_values('OLD')
        op.execute(f'CREATE OR REPLACE FUNCTION case_day_figures_add(r "case", sign integer) RETURNS void '
                   f"LANGUAGE sql AS $$ {_INSERT} SELECT {', '.join(key('r'))}, "
                   f"{', '.join(f'sign * ({v})' for v in _0012._pg_values('r'))} $$")
        op.execute(f"""CREATE OR REPLACE FUNCTION case_day_figures_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {_same_row(f'OLD.{LIVE}', f'NEW.{LIVE}')} THEN
                    {_add(key('NEW'), _difference(new, old))};
                    RETURN NULL;
                END IF;
                IF TG_OP <> 'INSERT' AND OLD.{LIVE} THEN PERFORM case_day_figures_add(OLD, -1); END IF;
                IF TG_OP <> 'DELETE' AND NEW.{LIVE} THEN PERFORM case_day_figures_add(NEW, 1); END IF;
                RETURN NULL;
            END $$""")
        return
    for name in ('insert', 'delete', 'update_old', 'update_new'):
        op.execute(f'DROP TRIGGER case_day_figures_{name}')  # before the swap: SQLite checks triggers on a rename
    _rebuild(with_id=True)
    key = _0012._sqlite_key
    new, old = _0012._sqlite_values('NEW'), _0012._sqlite_values('OLD')
    same = _same_row(f'OLD.{LIVE}', f'NEW.{LIVE}').replace('IS NOT DISTINCT FROM', 'IS')
    tracked = f"UPDATE OF {', '.join(TRACKED)}"
    _sqlite_triggers([
        ('insert', 'INSERT', f'NEW.{LIVE}', _add(key('NEW'), new)),
        ('delete', 'DELETE', f'OLD.{LIVE}', _add(key('OLD'), [f'-({v})' for v in old])),
        ('update_same', tracked, same, _add(key('NEW'), _difference(new, old))),
        ('update_old', tracked, f'OLD.{LIVE} AND NOT ({same})', _add(key('OLD'), [f'-({v})' for v in old])),
        ('update_new', tracked, f'NEW.{LIVE} AND NOT ({same})', _add(key('NEW'), new)),
    ])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild(with_id=False)
        op.execute(f'CREATE OR REPLACE FUNCTION case_day_figures_add(r "case", sign integer) RETURNS void '
                   f'LANGUAGE sql AS $$ {_0012._upsert(_0012._pg_key("r"), _0012._pg_values("r"), "sign * ", "case_day_figures.")} $$')
        op.execute(f"""CREATE OR REPLACE FUNCTION case_day_figures_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' AND OLD.{LIVE} THEN PERFORM case_day_figures_add(OLD, -1); END IF;
                IF TG_OP <> 'DELETE' AND NEW.{LIVE} THEN PERFORM case_day_figures_add(NEW, 1); END IF;
                RETURN NULL;
            END $$""")
        return
    for name in ('insert', 'delete', 'update_same', 'update_old', 'update_new'):
        op.execute(f'DROP TRIGGER case_day_figures_{name}')
    _rebuild(with_id=False)
    tracked = f"UPDATE OF {', '.join(TRACKED)}"
    _sqlite_triggers([(name, event, f'{row}.{LIVE}', _0012._upsert(_0012._sqlite_key(row), _0012._sqlite_values(row), sign, ''))
                      for name, event, row, sign in (('insert', 'INSERT', 'NEW', ''), ('delete', 'DELETE', 'OLD', '-'),
                                                     ('update_old', tracked, 'OLD', '-'),
                                                     ('update_new', tracked, 'NEW', ''))])
