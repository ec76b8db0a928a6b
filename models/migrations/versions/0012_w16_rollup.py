"""web at 1,000,000 cases: the figures of each day, community and category kept by triggers (the statistics
page of a street or the district reads day rows, not 155,000 cases); the list's category filter by
(category_code, created_at, unit_id, assignee_id), which replaces the category_code index it starts with; open
cases by resolve deadline (the statistics page's overdue list walks it in order instead of sorting every open case)

Revision ID: 0012_w16_rollup
Revises: i11_grid_places
Create Date: 2026-12-02 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_w16_rollup'
down_revision: str | None = 'i11_grid_places'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The figures of bot.cases.figures._sums for one case (row R), in the Figures field order; tests/test_figures.py
# checks that the table and the direct query agree. The day is the filing day at UTC+8 (China Standard Time).
COLUMNS = ['cases', 'done', 'given', 'responded', 'accepted', 'accept_hours', 'resolved', 'resolve_hours', 'due',
           'on_time', 'rated', 'pleased', 'wishes_done']
# models.cases.OPEN_STATUSES in its order: a query names them as literals (open_filter) to use the partial index.
OPEN = "status IN ('new', 'assigned', 'accepted', 'in_progress', 'transferred', 'returned', 'reopened')"
TRACKED = ['status', 'kind', 'category_name', 'unit_path', 'created_at', 'assigned_at', 'accepted_at',
           'resolved_at', 'resolve_due_at', 'rating']


def _values(r: str, hours) -> list[str]:
    handed = f'coalesce({r}.assigned_at, {r}.created_at)'
    done = f"{r}.status IN ('resolved', 'closed')"
    timed_accept = f'{r}.accepted_at IS NOT NULL AND {r}.accepted_at >= {handed}'
    timed_resolve = f'{r}.resolved_at IS NOT NULL AND {r}.resolved_at >= {r}.created_at'
    due = f'{done} AND {r}.resolve_due_at IS NOT NULL AND {r}.resolved_at IS NOT NULL'

    def count(condition: str) -> str:
        return f'CASE WHEN {condition} THEN 1 ELSE 0 END'

    return ['1', count(done), count(f'{r}.assigned_at IS NOT NULL OR {r}.accepted_at IS NOT NULL'),
            count(f'{r}.accepted_at IS NOT NULL'), count(timed_accept),
            f'CASE WHEN {timed_accept} THEN {hours(f"{r}.accepted_at", handed)} ELSE 0.0 END',
            count(timed_resolve),
            f'CASE WHEN {timed_resolve} THEN {hours(f"{r}.resolved_at", f"{r}.created_at")} ELSE 0.0 END',
            count(due), count(f'{due} AND {r}.resolved_at <= {r}.resolve_due_at'), count(f'{r}.rating IS NOT NULL'),
            count(f"{r}.rating IN ('satisfied', 'basically_satisfied')"), count(f"{r}.kind = 'wish' AND {done}")]


def _sqlite_branch(path: str) -> str:
    """The path cut after its fourth slash (a community's, '/district/street/community/'), or the whole path."""
    second = f"(instr(substr({path}, 2), '/') + 1)"
    third = f"({second} + instr(substr({path}, {second} + 1), '/'))"
    fourth = f"({third} + instr(substr({path}, {third} + 1), '/'))"
    return f'substr({path}, 1, {fourth})'


def _sqlite_key(r: str) -> list[str]:
    return [f"date({r}.created_at, '+8 hours')", _sqlite_branch(f'{r}.unit_path'), f"coalesce({r}.category_name, '')"]


def _sqlite_values(r: str) -> list[str]:
    return _values(r, lambda later, earlier: f'(julianday({later}) - julianday({earlier})) * 24.0')


def _pg_key(r: str) -> list[str]:
    return [f"({r}.created_at + interval '8 hours')::date",
            f"coalesce(substring({r}.unit_path from '^((?:/[^/]+){{1,3}}/)'), {r}.unit_path)",
            f"coalesce({r}.category_name, '')"]


def _pg_values(r: str) -> list[str]:
    return _values(r, lambda later, earlier: f'(extract(epoch from ({later} - {earlier})) / 3600.0)::float8')


_INSERT = f"INSERT INTO case_day_figures (day, branch, category_name, {', '.join(COLUMNS)}) "


def _upsert(key: list[str], values: list[str], sign: str, table: str) -> str:
    """Adds one case's figures (times `sign`) to its row; `table` qualifies the existing row's columns."""
    return (f"{_INSERT} SELECT {', '.join(key)}, {', '.join(f'{sign}({v})' for v in values)} WHERE true "
            "ON CONFLICT (day, branch, category_name) DO UPDATE SET "
            + ', '.join(f'{c} = {table}{c} + excluded.{c}' for c in COLUMNS))


def _backfill(key: list[str], values: list[str]) -> str:
    """Every case's figures summed into the empty table, one grouped query."""
    return (f"{_INSERT} SELECT {', '.join(key)}, {', '.join(f'sum({v})' for v in values)} "
            "FROM \"case\" AS c WHERE c.status != 'duplicate' GROUP BY 1, 2, 3")


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_category_code')
        batch_op.create_index('ix_case_category_created', ['category_code', 'created_at', 'unit_id', 'assignee_id'],
                              unique=False)
        batch_op.create_index('ix_case_overdue', ['resolve_due_at'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_table(
        'case_day_figures',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('branch', sa.String(length=512), nullable=False),
        sa.Column('category_name', sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.Float() if c.endswith('_hours') else sa.Integer(), nullable=False) for c in COLUMNS),
        sa.PrimaryKeyConstraint('day', 'branch', 'category_name', name=op.f('pk_case_day_figures')),
    )
    live = "status != 'duplicate'"
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'CREATE FUNCTION case_day_figures_add(r "case", sign integer) RETURNS void LANGUAGE sql AS '
                   f'$$ {_upsert(_pg_key("r"), _pg_values("r"), "sign * ", "case_day_figures.")} $$')
        op.execute(f"""CREATE FUNCTION case_day_figures_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' AND OLD.{live} THEN PERFORM case_day_figures_add(OLD, -1); END IF;
                IF TG_OP <> 'DELETE' AND NEW.{live} THEN PERFORM case_day_figures_add(NEW, 1); END IF;
                RETURN NULL;
            END $$""")
        op.execute(f'CREATE TRIGGER case_day_figures_track AFTER INSERT OR DELETE OR UPDATE OF {", ".join(TRACKED)} '
                   f'ON "case" FOR EACH ROW EXECUTE FUNCTION case_day_figures_track()')
        op.execute(_backfill(_pg_key('c'), _pg_values('c')))
        return
    tracked = ', '.join(TRACKED)
    for name, event, row, sign in (('insert', 'INSERT', 'NEW', ''), ('delete', 'DELETE', 'OLD', '-'),
                                   ('update_old', f'UPDATE OF {tracked}', 'OLD', '-'),
                                   ('update_new', f'UPDATE OF {tracked}', 'NEW', '')):
        op.execute(f'CREATE TRIGGER case_day_figures_{name} AFTER {event} ON "case" WHEN {row}.{live} '
                   f'BEGIN {_upsert(_sqlite_key(row), _sqlite_values(row), sign, "")}; END')
    op.execute(_backfill(_sqlite_key('c'), _sqlite_values('c')))
    if op.get_bind().execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        for index in ('ix_case_category_created', 'ix_case_overdue'):  # an analysed database would misjudge them
            op.execute(f'ANALYZE {index}')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER case_day_figures_track ON "case"')
        op.execute('DROP FUNCTION case_day_figures_track()')
        op.execute('DROP FUNCTION case_day_figures_add("case", integer)')
    else:
        for name in ('insert', 'delete', 'update_old', 'update_new'):
            op.execute(f'DROP TRIGGER case_day_figures_{name}')
    op.drop_table('case_day_figures')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_overdue')
        batch_op.drop_index('ix_case_category_created')
        batch_op.create_index('ix_case_category_code', ['category_code'], unique=False)
