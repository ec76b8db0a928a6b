"""The plan a database makes for one of the service's statements, as the service sends it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable


async def statement_plan(engine: AsyncEngine, statement: Executable, values: dict[str, Any]) -> str:
    """The plan for `statement` with `values` bound, not written into its text: SQLite's for the statement as sent,
    PostgreSQL's generic plan, the one it falls back to for a statement prepared and run again and again (neither
    matches a bound value to a partial index's condition). Sequential scans are off on PostgreSQL: the tables are
    empty, and an index's use must show."""
    compiled = statement.compile(dialect=engine.dialect)
    bound = compiled.construct_params(values)
    arguments = [bound[name] for name in compiled.positiontup]
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))
            await conn.execute(text("SET plan_cache_mode = force_generic_plan"))
            await conn.exec_driver_sql(f"PREPARE planned AS {compiled}")
            listed = ", ".join(f"'{argument}'" for argument in arguments)
            return " ".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN EXECUTE planned({listed})"))
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(arguments))
        return " ".join(row[-1] for row in rows)
