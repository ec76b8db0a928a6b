"""Cases that arrive from other systems (Open311 clients, the JSON API): the same filing as chat, no dialogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import Draft, Filed, file_case
from bot.grid.directory import UnitRef
from bot.grid.routing import Responsibility, category_duty
from bot.pipeline.identities import Actor
from bot.services import Services
from bot.understanding.rules import Category
from models import CaseKind, Resident

DEFAULT_ACCEPT_HOURS, DEFAULT_RESOLVE_HOURS = 24.0, 72.0
_NEW_RESIDENT = insert(Resident.__table__).returning(Resident.__table__.c.id)  # built once: filing is a hot path


@dataclass(frozen=True)
class ExternalReport:
    """A report handed over by another system, already validated and placed."""

    text: str
    unit: UnitRef
    category: Category | None  # None: the classifier decides, as it does for chat
    reporter_name: str = ""
    reporter_phone: str | None = None
    media: list[dict] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def duty_of(category: Category | None) -> tuple[Responsibility | None, float, float]:
    """Who a category's cases belong to, with its SLA hours (accept, resolve); no category goes to triage."""
    return category_duty(category) if category else (None, DEFAULT_ACCEPT_HOURS, DEFAULT_RESOLVE_HOURS)


async def file_external(session: AsyncSession, services: Services, report: ExternalReport, *, channel: str,
                        source_id: str, now: datetime) -> Filed:
    """Files the report as a case of the channel, with its reporter recorded (no chat identity), routed as chat is."""
    classifier = services.classifier.current()
    category, confidence, keywords = report.category, 1.0, []
    result = classifier.classify(report.text)
    if category is None:
        category, confidence = result.category, result.confidence
    keywords = list(result.keywords) if result.category == category else []
    duty, accept_hours, resolve_hours = duty_of(category)
    name = (report.reporter_name or f"{channel}用户")[:128]
    resident_id = (await session.execute(_NEW_RESIDENT, {"display_name": name, "phone": report.reporter_phone,
                                                         "home_unit_id": None, "created_at": now})).scalar_one()
    reporter = Actor("resident", resident_id, name, 0, phone=report.reporter_phone)
    draft = Draft(kind=CaseKind.REPORT, text=report.text, unit=report.unit,
                  category_code=category.code if category else None,
                  category_name=category.name if category else None, confidence=confidence, keywords=keywords,
                  duty=duty, sla_accept_hours=accept_hours, sla_resolve_hours=resolve_hours, media=report.media,
                  extras=report.extras)
    return await file_case(session, services.directory, draft, reporter, channel=channel, chat_id=source_id,
                           is_group=False, now=now, duplicate_window=services.duplicate_window,
                           duplicate_similarity=services.settings.duplicate_similarity)
