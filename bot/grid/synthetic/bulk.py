"""Bulk rows below the ORM: explicit ids, executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import JSON, Column, Enum, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from models import Case, CaseEvent, ChatGroup, GridPlace, GridUnit, Identity, Resident, Staff
from models.base import UTCDateTime

CHUNK = 5000


@dataclass
class Rows:
    """Rows to insert, per table, with the next free id of each."""

    next_id: dict[str, int]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def new_id(self, table: Table) -> int:
        row_id = self.next_id[table.name]
        self.next_id[table.name] = row_id + 1
        return row_id

    def add(self, table: Table, row: dict[str, Any]) -> int:
        row["id"] = self.new_id(table)
        self.tables.setdefault(table.name, []).append(row)
        return row["id"]


async def next_ids(session: AsyncSession) -> dict[str, int]:
    tables = (GridUnit, GridPlace, Staff, ChatGroup, Resident, Identity, Case, CaseEvent)
    return {t.__tablename__: (await session.scalar(select(func.max(t.id))) or 0) + 1 for t in tables}


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Writes rows below the ORM (executemany on SQLite, COPY on PostgreSQL); datetimes are naive UTC."""
    if not rows:
        return
    dialect = session.bind.dialect.name
    columns = list(table.columns)
    encoders = [_encoder(c.type, dialect) for c in columns]
    defaults = {c.name: _default(c) for c in columns if c.name not in rows[0]}
    names = [c.name for c in columns]
    connection = await session.connection()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = []
        for column, encode in zip(columns, encoders, strict=True):
            if column.name in defaults:
                raw = [defaults[column.name]] * len(chunk)
            else:
                raw = [row[column.name] for row in chunk]
            values.append([None if v is None else encode(v) for v in raw] if encode else raw)
        records = list(zip(*values, strict=True))
        if dialect == "postgresql":
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.copy_records_to_table(table.name, records=records, columns=names)
        else:
            quoted = ", ".join(f'"{n}"' for n in names)
            await connection.exec_driver_sql(
                f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})', records)


def _default(column: Column[Any]) -> Any:
    """The model's Python-side default for a column the rows leave out (the ORM is bypassed here)."""
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default is not None and default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]  # SQLAlchemy wraps zero-argument callables
    if column.nullable:
        return None
    raise ValueError(f"synthetic rows for {column.table.name} lack {column.name!r}, which has no default")


def _encoder(column_type: TypeEngine[Any], dialect: str) -> Callable[[Any], Any] | None:
    """What the column's SQLAlchemy type makes of a (non-null) value on each dialect we write to."""
    if isinstance(column_type, UTCDateTime):
        # SQLAlchemy's SQLite DATETIME text always carries microseconds, so strings compare in time order
        return None if dialect == "postgresql" else lambda v: v.isoformat(" ", "microseconds")
    if isinstance(column_type, JSON):
        return json.dumps
    if isinstance(column_type, Enum):
        return attrgetter("value")
    return None


async def move_sequences(session: AsyncSession) -> None:
    """Moves PostgreSQL id sequences past the explicit ids written here."""
    for table in (GridUnit, GridPlace, Staff, ChatGroup, Resident, Identity, Case, CaseEvent):
        name = table.__tablename__
        await session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM \"{name}\"), false)"
        ))
