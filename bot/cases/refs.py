"""Cases as plain values, for code that reads a case without holding its ORM object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import CaseKind, CaseStatus


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A case as a value: its number, status and photos, read once (not an ORM object, so nothing is saved)."""

    id: int
    status: CaseStatus
    media: list[dict]

    @property
    def number(self) -> str:
        return f"#{self.id}"


@dataclass(frozen=True, slots=True)
class Reporter:
    id: int
    display_name: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class FiledCase:
    """A case as just filed: the values written, as much as its notices and the reply to the reporter read."""

    id: int
    kind: CaseKind
    status: CaseStatus
    text: str
    media: list[dict]
    category_name: str | None
    keywords: list[str]
    confidence: float
    place: str
    unit_id: int
    queue_unit_id: int | None
    reporter_id: int
    reporter: Reporter
    source_channel: str
    source_chat_id: str
    extras: dict[str, Any]
    created_at: datetime
    resolve_due_at: datetime | None

    @property
    def number(self) -> str:
        return f"#{self.id}"
