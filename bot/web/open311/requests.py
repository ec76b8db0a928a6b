"""Open311 service requests: reading cases as the spec's requests, and turning a POST into a case."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Text, cast, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.external import ExternalReport, file_external
from bot.grid.directory import GridDirectory
from bot.pipeline.identities import mask_phones_in
from bot.services import Services
from bot.web.keys import Caller
from bot.web.open311.catalog import BUILDING_ATTRIBUTE, needs_building, reportable
from bot.web.open311.formats import Open311Error
from bot.web.open311.places import Point, UnitPoints, place_request
from models import Case, CaseEvent, CaseKind, CaseStatus, EventKind, Open311Token, Staff, StaffRole

CHANNEL = "open311"
DEFAULT_DAYS, MAX_DAYS, MAX_REQUESTS = 90, 90, 1000
PUBLIC_NOTES = (EventKind.RESOLVE, EventKind.REJECT, EventKind.PROGRESS, EventKind.LINKED_DUPLICATE)
LIMITS = {"description": 4000, "first_name": 64, "last_name": 64, "phone": 32, "email": 128,
          "address_string": 256, "address_id": 64, "media_url": 1024, "device_id": 128, "account_id": 128}
MAX_FIELDS, MAX_ATTRIBUTE_CHARS = 64, 500
MAX_ID = 2**31 - 1  # case ids are 32-bit integers on PostgreSQL
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,64})\]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[+\d][\d\s()-]{4,30}$")


@dataclass(frozen=True)
class RequestForm:
    """A POSTed request after validation: nothing here is trusted before `parse_form` accepted it."""

    service_code: str
    description: str
    point: Point | None
    address_string: str | None
    address_id: str | None
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    media_url: str | None
    attributes: dict[str, str] = field(default_factory=dict)


def _one(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > LIMITS.get(name, 256):
        raise Open311Error(400, f"{name} is longer than {LIMITS.get(name, 256)} characters")
    return value or None


def _coordinate(form: Mapping[str, str], name: str, bound: float) -> float | None:
    raw = _one(form, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number in degrees") from None
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must be between -{bound:g} and {bound:g}")
    return value


def parse_form(form: Mapping[str, str], keys: list[str]) -> RequestForm:
    """Checks a POST's fields in the spec's terms; any problem is a 400 naming the field, before any write."""
    if len(keys) > MAX_FIELDS:
        raise Open311Error(400, f"too many fields: at most {MAX_FIELDS}")
    attributes: dict[str, str] = {}
    for key in keys:
        match = _ATTRIBUTE.match(key)
        if match:
            value = form.get(key, "").strip()
            if len(value) > MAX_ATTRIBUTE_CHARS:
                raise Open311Error(400, f"{key} is longer than {MAX_ATTRIBUTE_CHARS} characters")
            attributes[match.group(1)] = value
        elif key.startswith("attribute"):
            raise Open311Error(400, f"{key} is not of the form attribute[code]")
    service_code = _one(form, "service_code")
    if service_code is None:
        raise Open311Error(400, "service_code is required")
    description = _one(form, "description")
    if description is None:
        raise Open311Error(400, "description is required")
    latitude, longitude = _coordinate(form, "lat", 90.0), _coordinate(form, "long", 180.0)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat and long must be given together")
    point = Point(latitude, longitude) if latitude is not None and longitude is not None else None
    address_string, address_id = _one(form, "address_string"), _one(form, "address_id")
    if point is None and address_string is None and address_id is None:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    phone, email, media_url = _one(form, "phone"), _one(form, "email"), _one(form, "media_url")
    if phone is not None and not _PHONE.match(phone):
        raise Open311Error(400, "phone is not a telephone number")
    if email is not None and not _EMAIL.match(email):
        raise Open311Error(400, "email is not an e-mail address")
    if media_url is not None and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http or https URL")
    return RequestForm(service_code, description, point, address_string, address_id, _one(form, "first_name") or "",
                       _one(form, "last_name") or "", phone, email, media_url, attributes)


async def create_request(session: AsyncSession, services: Services, points: UnitPoints, caller: Caller,
                         form: RequestForm, *, now: datetime) -> dict[str, Any]:
    """Files the request as a case through the same intake as chat and answers the spec's POST response."""
    rules = services.classifier.current().rules
    category = next((c for c in reportable(rules) if c.code == form.service_code), None)
    if category is None:
        raise Open311Error(404, f"service_code {form.service_code!r} is not a service of this jurisdiction")
    allowed = {BUILDING_ATTRIBUTE} if needs_building(category) else set()
    unknown = sorted(set(form.attributes) - allowed)
    if unknown:
        raise Open311Error(400, f"attribute[{unknown[0]}] is not an attribute of service {category.code}")
    building = form.attributes.get(BUILDING_ATTRIBUTE) or None
    unit = await place_request(session, services.directory, points, address_id=form.address_id,
                               address_string=form.address_string, point=form.point, building=building)
    text = form.description
    if form.address_string:
        text = f"{text}（地址：{form.address_string}）"
    if building:
        text = f"{text}（楼栋：{building}）"
    name = f"{form.last_name}{form.first_name}".strip() if _is_cjk(form.last_name + form.first_name) \
        else f"{form.first_name} {form.last_name}".strip()
    extras: dict[str, Any] = {"open311": {"api_key": caller.name, "email": form.email, "media_url": form.media_url}}
    if form.point is not None:
        extras["open311"]["point"] = [form.point.latitude, form.point.longitude]
    filed = await file_external(session, services, ExternalReport(
        text=text, unit=unit, category=category, reporter_name=name, reporter_phone=form.phone,
        media=[{"kind": "photo", "url": form.media_url}] if form.media_url else [], extras=extras,
    ), channel=CHANNEL, source_id=f"key:{caller.key_id}", now=now)
    token = secrets.token_urlsafe(16)
    await session.execute(_NEW_TOKEN, {"token": token, "case_id": filed.case.id, "api_key_id": caller.key_id,
                                       "created_at": now})
    if filed.duplicate_of is not None:
        notice = f"已有相同问题在办（{filed.duplicate_of.number}），本请求已并入，进展一并更新。"
    elif filed.assignment is not None and filed.assignment.staff is not None:
        notice = f"已受理，编号 {filed.case.number}，承诺 {category.sla_accept_hours:g} 小时内响应。"
    else:
        notice = f"已受理，编号 {filed.case.number}，社区工作人员将尽快安排处理。"
    return {"service_request_id": str(filed.case.id), "token": token, "service_notice": notice, "account_id": None}


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests: ids, or services, dates and statuses."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()


def _w3c(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime such as 2026-11-30T09:00:00+08:00") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} must carry a time zone (Z or +08:00)")
    return value


def parse_query(query: Mapping[str, str]) -> RequestQuery:
    """Checks GET requests' parameters; a bad one is a 400 naming it."""
    ids: list[int] = []
    for part in (query.get("service_request_id") or "").split(","):
        if part.strip():
            if not part.strip().isdigit() or len(part.strip()) > 10 or int(part) > MAX_ID:
                raise Open311Error(400, f"service_request_id {part.strip()!r} is not a request id")
            ids.append(int(part))
    if len(ids) > MAX_REQUESTS:
        raise Open311Error(400, f"at most {MAX_REQUESTS} service_request_id values")
    statuses = tuple(s.strip() for s in (query.get("status") or "").split(",") if s.strip())
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status must be open, closed, or both separated by a comma")
    codes = tuple(c.strip() for c in (query.get("service_code") or "").split(",") if c.strip())
    start = _w3c(query["start_date"], "start_date") if query.get("start_date") else None
    end = _w3c(query["end_date"], "end_date") if query.get("end_date") else None
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    return RequestQuery(tuple(ids), codes, start, end, statuses)


_NEW_TOKEN = insert(Open311Token.__table__)
_CLOSED = (CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE)
# Media stays text: only requests filed through Open311 carry a media_url, so most rows never parse it.
_COLUMNS = (Case.id, Case.status, Case.category_code, Case.category_name, Case.text, Case.department, Case.unit_id,
            Case.place, cast(Case.media, Text).label("media"), Case.created_at, Case.updated_at,
            Case.resolve_due_at)


async def find_requests(session: AsyncSession, directory: GridDirectory, points: UnitPoints, q: RequestQuery, *,
                        now: datetime) -> list[dict[str, Any]]:
    """The requests the query selects, newest first: by id, else within 90 days (the default window)."""
    query = (select(*_COLUMNS, Staff.role, Staff.department.label("staff_department"))
             .outerjoin(Staff, Staff.id == Case.assignee_id).where(Case.kind == CaseKind.REPORT))
    if q.ids:
        query = query.where(Case.id.in_(q.ids))
    else:
        end = q.end or now
        start = q.start or end - timedelta(days=DEFAULT_DAYS)
        if end - start > timedelta(days=MAX_DAYS):
            start = end - timedelta(days=MAX_DAYS)
        query = query.where(Case.created_at >= start, Case.created_at <= end)
    if q.service_codes:
        query = query.where(Case.category_code.in_(q.service_codes))
    if q.statuses and len(q.statuses) == 1:
        closed = Case.status.in_(_CLOSED)
        query = query.where(closed if q.statuses[0] == "closed" else ~closed)
    connection = await session.connection()  # Core rows: the ORM's row machinery doubled the cost of a page
    rows = (await connection.execute(query.order_by(Case.created_at.desc(), Case.id.desc())
                                     .limit(MAX_REQUESTS))).all()
    notes = await _public_notes(session, [row.id for row in rows])
    located = await points.located(session, directory)
    return [as_request(row, notes.get(row.id), directory, located) for row in rows]


async def _public_notes(session: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    """The latest note residents may read of each case (a resolution, a refusal, progress)."""
    if not case_ids:
        return {}
    events = await session.execute(select(CaseEvent.case_id, CaseEvent.note)
                                   .where(CaseEvent.case_id.in_(case_ids), CaseEvent.action.in_(PUBLIC_NOTES),
                                          CaseEvent.note != "")
                                   .order_by(CaseEvent.id))
    return {row.case_id: mask_phones_in(row.note) for row in events}


def _iso(value: datetime | None) -> str | None:
    """A W3C datetime in UTC (…Z), which the spec allows and every client reads."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _media_url(media: str | None) -> str | None:
    if not media or '"url"' not in media:
        return None
    return next((m.get("url") for m in json.loads(media) if isinstance(m, dict) and m.get("url")), None)


def as_request(case: Row[Any], note: str | None, directory: GridDirectory,
               points: dict[int, Point]) -> dict[str, Any]:
    """One case row as a GET request item: nothing personal (no reporter, phones masked in the text)."""
    try:
        chain = directory.ancestors(directory.unit(case.unit_id))
    except KeyError:
        chain = []
    point = next((points[u.id] for u in reversed(chain) if u.id in points), None)
    agency = case.department or case.staff_department or (StaffRole(case.role).label if case.role else None) \
        or "社区网格"
    return {
        "service_request_id": str(case.id),
        "status": "closed" if case.status in _CLOSED else "open",
        "status_notes": note or case.status.label,
        "service_name": case.category_name or "",
        "service_code": case.category_code or "",
        "description": mask_phones_in(case.text),
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.resolve_due_at),
        "address": " ".join(u.name for u in chain[1:]) or case.place,
        "address_id": chain[-1].code if chain else "",
        "zipcode": None,
        "lat": point.latitude if point else None,
        "long": point.longitude if point else None,
        "media_url": _media_url(case.media),
    }


async def request_of_token(session: AsyncSession, token: str) -> dict[str, Any] | None:
    """tokens/{token}: the request id a POST's token stands for."""
    if len(token) > 64:
        return None
    case_id = await session.scalar(select(Open311Token.case_id).where(Open311Token.token == token))
    return None if case_id is None else {"service_request_id": str(case_id), "token": token}
