"""Declarative base with a stable constraint naming convention and a UTC timestamp type."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and returns them aware, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # The epoch arithmetic is value.replace(tzinfo=UTC) for a naive value, at a seventh of its CPU (replace
        # parses its keywords by name on Python 3.11: ~9,000 instructions a call, a dozen calls an update).
        return _AWARE_EPOCH + (value - _NAIVE_EPOCH) if value.tzinfo is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, process_bind_param and the dialect's formatting as one function: the front door binds a
        dozen datetimes an update, and the two steps (one building a dict for a %-format) were 2% of its CPU. Where
        the dialect's DateTime has no processor of its own (asyncpg takes the datetime), process_bind_param as one
        function too, instead of SQLAlchemy's wrapper calling it to call _naive_utc (three calls a datetime)."""
        if dialect.name != "sqlite":
            if self.impl_instance.bind_processor(dialect) is None:
                return _bound_naive_utc
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            # SQLAlchemy's SQLite storage format, "%Y-%m-%d %H:%M:%S.%f" with the microseconds always written. An
            # update binds its one `now` (and now + a lease or a time to live) many times, in several columns
            # (received_at, created_at, updated_at, due_at...): the texts are shared by every column's processor,
            # keyed by the instant (equal aware datetimes are one UTC instant, so one text).
            if value is None:
                return None
            text = _STORED_TEXTS.get(value)
            if text is None:
                text = _naive_utc(value).isoformat(" ", "microseconds")  # refuses a naive value: never cached
                if len(_STORED_TEXTS) >= _STORED_TEXTS_KEPT:
                    _STORED_TEXTS.clear()
                _STORED_TEXTS[value] = text
            return text

        return process


# The SQLite texts of the instants bound lately (UTCDateTime.bind_processor): isoformat is ~7k instructions a call.
_STORED_TEXTS: dict[datetime, str] = {}
_STORED_TEXTS_KEPT = 256
_AWARE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def _naive_utc(value: datetime) -> datetime:
    """An aware datetime as the naive UTC one stored; a naive one is refused (its zone is unknown)."""
    tz = value.tzinfo
    if tz is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    if tz is UTC:  # the clock's: the same as astimezone(UTC).replace(tzinfo=None), without replace's keyword parsing
        return _NAIVE_EPOCH + (value - _AWARE_EPOCH)
    return value.astimezone(UTC).replace(tzinfo=None)


def _bound_naive_utc(value: datetime | None) -> datetime | None:
    """UTCDateTime.process_bind_param in one call: None, or the naive UTC datetime stored."""
    if value is None:
        return None
    if value.tzinfo is UTC:
        return _NAIVE_EPOCH + (value - _AWARE_EPOCH)
    return _naive_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry their Chinese label beside their value: `NAME = "value", "标签"`."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def enum_column(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a VARCHAR(32) (no native type, so adding a member needs no migration)."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)
