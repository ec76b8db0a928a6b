"""The JSON API's case endpoints: list with the dashboard's filters, one case with its timeline, create, act."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.actions import staff_action
from bot.cases.external import ExternalReport, file_external
from bot.cases.lifecycle import CaseRefused, NoteRequired
from bot.cases.queries import case_events
from bot.pipeline.identities import mask_phones_in
from bot.services import Services
from bot.web.api.access import ApiError, ApiScope
from bot.web.api.schema import (
    ActionIn,
    CaseCreate,
    CaseDetail,
    CaseFilters,
    CaseOut,
    CasePage,
    EventOut,
    StaffOut,
)
from models import Case, CaseStatus, Staff

CHANNEL = "api"
OPEN = tuple(s for s in CaseStatus if s.is_open)


def encode_cursor(created_at: datetime, case_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{case_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, case_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), int(case_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "cursor is not a next_cursor this API gave") from None


def case_out(case: Case, now: datetime, staff: Staff | None, model: type[CaseOut] = CaseOut, **more: Any) -> CaseOut:
    """A case as the API shows it: no reporter, phones in the text masked."""
    overdue = case.status.is_open and any(due is not None and due < now for due in (
        case.accept_due_at if case.accepted_at is None else None, case.resolve_due_at))
    assignee = None if staff is None else StaffOut(code=staff.code, name=staff.name, role=staff.role.value,
                                                   role_label=staff.role.label)
    return model(
        id=case.id, number=case.number, kind=case.kind, status=case.status, status_label=case.status.label,
        category_code=case.category_code, category_name=case.category_name, text=mask_phones_in(case.text),
        unit_code=case.unit.code, place=case.place, assignee=assignee, department=case.department,
        created_at=case.created_at, updated_at=case.updated_at, accept_due_at=case.accept_due_at,
        resolve_due_at=case.resolve_due_at, overdue=overdue, escalation_level=case.escalation_level,
        rating=case.rating.value if case.rating else None, duplicate_of=case.duplicate_of_id, **more)


async def list_cases(session: AsyncSession, services: Services, scope: ApiScope, filters: CaseFilters) -> CasePage:
    """A page of the caller's cases, newest (or oldest) first, by keyset on (created_at, id)."""
    query = select(Case).where(scope.where())
    if filters.status:
        query = query.where(Case.status.in_([CaseStatus(s) for s in filters.status.split(",")]))
    if filters.kind:
        query = query.where(Case.kind == filters.kind)
    if filters.category:
        query = query.where(Case.category_code == filters.category)
    if filters.unit:
        unit = services.directory.by_code(filters.unit)
        if unit is None:
            raise ApiError(404, "not_found", f"no unit with code {filters.unit!r}")
        query = query.where(Case.unit_path.startswith(unit.path))
    if filters.assignee:
        query = query.join(Staff, Staff.id == Case.assignee_id).where(Staff.code == filters.assignee)
    now = services.clock.now()
    if filters.overdue is not None:
        late = and_(Case.status.in_(OPEN), or_(and_(Case.accepted_at.is_(None), Case.accept_due_at < now),
                                              Case.resolve_due_at < now))
        query = query.where(late if filters.overdue else ~late)
    for bound, check in ((filters.created_after, lambda v: Case.created_at >= v),
                         (filters.created_before, lambda v: Case.created_at < v)):
        if bound is not None:
            query = query.where(check(bound))
    if filters.q:
        query = query.where(Case.text.contains(filters.q, autoescape=True))
    newest = filters.sort == "newest"
    if filters.cursor:
        at, case_id = decode_cursor(filters.cursor)
        after = (or_(Case.created_at < at, and_(Case.created_at == at, Case.id < case_id)) if newest
                 else or_(Case.created_at > at, and_(Case.created_at == at, Case.id > case_id)))
        query = query.where(after)
    order = (Case.created_at.desc(), Case.id.desc()) if newest else (Case.created_at.asc(), Case.id.asc())
    cases = list((await session.scalars(query.order_by(*order).limit(filters.limit + 1))).unique().all())
    more = len(cases) > filters.limit
    cases = cases[:filters.limit]
    items = [case_out(c, now, c.assignee) for c in cases]
    next_cursor = encode_cursor(cases[-1].created_at, cases[-1].id) if more and cases else None
    return CasePage(items=items, next_cursor=next_cursor)


async def one_case(session: AsyncSession, services: Services, scope: ApiScope, case_id: int, *,
                   check_scope: bool = True) -> CaseDetail:
    """One of the caller's cases with its whole timeline; 404 for a case outside the scope (no hint it exists).

    `check_scope` is off only to answer an action or a creation the caller just made."""
    case = await session.get(Case, case_id)
    if case is None or (check_scope and not scope.sees(case)):
        raise ApiError(404, "not_found", f"no case {case_id} in this key's scope")
    events = [EventOut(at=e.at, actor_kind=e.actor_kind, actor_name=e.actor_name, action=e.action,
                       from_status=e.from_status, to_status=e.to_status, note=mask_phones_in(e.note))
              for e in await case_events(session, case_id)]
    duplicates = list((await session.scalars(select(Case.id).where(Case.duplicate_of_id == case_id)
                                             .order_by(Case.id))).all())
    detail = case_out(case, services.clock.now(), case.assignee, CaseDetail, events=events, duplicates=duplicates)
    assert isinstance(detail, CaseDetail)
    return detail


async def create_case(session: AsyncSession, services: Services, scope: ApiScope, body: CaseCreate) -> int:
    """Files a case handed over by the caller, placed by unit code or address within the caller's scope."""
    directory = services.directory
    unit = None
    if body.unit_code:
        unit = directory.by_code(body.unit_code)
        if unit is None:
            raise ApiError(400, "bad_request", f"no unit with code {body.unit_code!r}")
    elif body.address:
        located = directory.locate(body.address, group_unit=None, home_unit=None)
        unit = located.unit if located else None
        if unit is None:
            raise ApiError(400, "bad_request", "address could not be placed in the district; give unit_code")
    else:
        raise ApiError(400, "bad_request", "give unit_code or address")
    if scope.unit is not None and not scope.unit.contains(unit):
        raise ApiError(403, "forbidden", f"{unit.code} is outside this key's scope")
    category = None
    if body.category_code:
        rules = services.classifier.current().rules
        category = rules.category(body.category_code)
        if category is None:
            raise ApiError(400, "bad_request", f"no category with code {body.category_code!r}")
    filed = await file_external(session, services, ExternalReport(
        text=body.text, unit=unit, category=category, reporter_name=body.reporter_name or "",
        reporter_phone=body.reporter_phone,
        extras={"api": {"key": scope.caller.name, "external_id": body.external_id}},
    ), channel=CHANNEL, source_id=f"key:{scope.caller.key_id}", now=services.clock.now())
    return filed.case.id


async def act(session: AsyncSession, services: Services, scope: ApiScope, case_id: int, body: ActionIn) -> None:
    """A staff member's action through their own key, by the chat's rules and with its notices."""
    if scope.actor is None:
        raise ApiError(403, "forbidden", "an integration key cannot act on cases; use a staff member's key")
    case = await session.get(Case, case_id)
    if case is None or not scope.sees(case):
        raise ApiError(404, "not_found", f"no case {case_id} in this key's scope")
    try:
        await staff_action(session, services.directory, scope.actor, case_id, body.action,
                           now=services.clock.now(), note=body.note, target=body.target,
                           rules=services.classifier.current().rules)
    except NoteRequired as exc:
        raise ApiError(400, "note_required", str(exc)) from None
    except CaseRefused as exc:
        raise ApiError(409, "refused", str(exc)) from None


def web_json(model: Any, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")
