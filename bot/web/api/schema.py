"""The JSON API's request and response shapes; the OpenAPI document is generated from these models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from models import CaseKind, CaseStatus

ACTIONS = ("accept", "progress", "resolve", "transfer", "return", "reject")
_STATUS = "|".join(s.value for s in CaseStatus)
STATUS_LIST = rf"^({_STATUS})(,({_STATUS}))*$"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_only(value: Any) -> Any:
    """Query dates are ISO 8601 text with a zone, not the numbers pydantic would read as Unix times."""
    if not isinstance(value, datetime) and not (isinstance(value, str) and _ISO_DATE.match(value)):
        raise ValueError("a date-time such as 2026-11-30T09:00:00+08:00")
    return value


QueryTime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


class Problem(BaseModel):
    """An error: a stable code and a message a person can act on."""

    code: str = Field(description="machine-readable reason, e.g. bad_request, not_found, forbidden")
    message: str


class ErrorBody(BaseModel):
    error: Problem


class CaseFilters(BaseModel):
    """Query parameters of GET /cases (the dashboard's filters)."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = Field(None, max_length=200, pattern=STATUS_LIST,
                               description="statuses, comma-separated (new,assigned,...)")
    kind: CaseKind | None = None
    category: str | None = Field(None, max_length=64, description="category code")
    unit: str | None = Field(None, max_length=64, description="unit code; its whole subtree is included")
    assignee: str | None = Field(None, max_length=64, description="staff code of the assignee")
    overdue: bool | None = Field(None, description="only cases past their response or resolution deadline")
    created_after: QueryTime | None = None
    created_before: QueryTime | None = None
    q: str | None = Field(None, max_length=100, description="words the case text contains")
    sort: Literal["newest", "oldest"] = "newest"
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page")


class StaffOut(BaseModel):
    code: str
    name: str
    role: str
    role_label: str


class CaseOut(BaseModel):
    """A case as other systems see it: the reporter never, phone numbers in the text masked."""

    id: int
    number: str
    kind: CaseKind
    status: CaseStatus
    status_label: str
    category_code: str | None
    category_name: str | None
    text: str
    unit_code: str
    place: str
    assignee: StaffOut | None
    department: str | None
    created_at: datetime
    updated_at: datetime
    accept_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool
    escalation_level: int
    rating: str | None
    duplicate_of: int | None


class EventOut(BaseModel):
    at: datetime
    actor_kind: str
    actor_name: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str


class CaseDetail(CaseOut):
    events: list[EventOut]
    duplicates: list[int] = Field(description="cases merged into this one")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


class CaseCreate(BaseModel):
    """A case handed over by another system (e.g. the 12345 hotline)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    category_code: str | None = Field(None, max_length=64, description="omit to let the rules classify the text")
    unit_code: str | None = Field(None, max_length=64, description="where, as a unit code")
    address: str | None = Field(None, max_length=256, description="where, in words the grid directory can place")
    reporter_name: str | None = Field(None, max_length=64)
    reporter_phone: str | None = Field(None, max_length=32, pattern=r"^[+\d][\d\s()-]{4,30}$")
    external_id: str | None = Field(None, max_length=64, description="the case's id in the calling system")


class ActionIn(BaseModel):
    """A staff action on a case, with the same rules and notices as the chat commands."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "progress", "resolve", "transfer", "return", "reject"]
    note: str = Field("", max_length=2000)
    target: str | None = Field(None, max_length=64, description="transfer: the staff code or department")


class CategoryOut(BaseModel):
    code: str
    name: str
    kinds: list[str]
    role: str | None
    department: str | None
    department_only: bool
    sla_accept_hours: float
    sla_resolve_hours: float


class UnitOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None


class StatisticsFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    unit: str | None = Field(None, max_length=64, description="unit code (default: the caller's whole scope)")
    since: QueryTime | None = None
    until: QueryTime | None = None


class StatisticsOut(BaseModel):
    unit_code: str
    since: datetime | None
    until: datetime | None
    figures: dict[str, Any] = Field(description="the figures of the weekly report, from the one figures module")


class WishFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    unit: str | None = Field(None, max_length=64, description="unit code (default: the caller's whole scope)")
    limit: int = Field(100, ge=1, le=200)


class WishOut(BaseModel):
    """A published wish as the public wall shows it: no wisher's name, phone or house number."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    title: str
    text: str
    status: str
    status_label: str
    community: str
    claimed_by: str | None = Field(description="a unit's name, or 党员 / 志愿者; never a private person's name")
    progress: int = Field(description="0 published, 1 claimed, 2 in progress, 3 fulfilled")
    published_at: datetime | None
    fulfilled_at: datetime | None


class ProjectFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    community: str = Field(max_length=64, description="the community's unit code")
    year: int = Field(ge=2000, le=2100)


class MilestoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    title: str
    weight: float
    progress: int


class ProjectOut(BaseModel):
    """A community project (为民办十件实事) with its progress rolled up from its milestones."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    title: str
    description: str
    budget: float | None
    status_label: str
    progress: float
    milestones: list[MilestoneOut]
    claimed_by: list[str]
    wishes: int
