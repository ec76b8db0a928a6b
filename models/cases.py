"""Cases (reports, wishes, appointments) and their audit trail."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TextClause,
    bindparam,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, LabelledEnum, UTCDateTime
from models.grid import GridUnit, Resident, Staff, _enum


class CaseKind(LabelledEnum):
    REPORT = "report", "随手拍"
    WISH = "wish", "微心愿"
    APPOINTMENT = "appointment", "预约"


class CaseStatus(LabelledEnum):
    NEW = "new", "待分派"  # filed, waiting in a triage queue for a human
    ASSIGNED = "assigned", "已派单"
    ACCEPTED = "accepted", "已接单"
    IN_PROGRESS = "in_progress", "处理中"
    RESOLVED = "resolved", "已办结"
    CLOSED = "closed", "已关闭"
    TRANSFERRED = "transferred", "已转派"  # handed to another assignee, waiting for them to accept
    RETURNED = "returned", "已退回"  # sent back by the assignee with a reason, waiting for triage
    DUPLICATE = "duplicate", "已合并"
    REJECTED = "rejected", "不予受理"
    REOPENED = "reopened", "重新办理中"

    @property
    def is_open(self) -> bool:
        return self not in {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.DUPLICATE, CaseStatus.REJECTED}


OPEN_STATUSES = tuple(s for s in CaseStatus if s.is_open)


class Rating(LabelledEnum):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


class EventKind(LabelledEnum):
    """What a CaseEvent records; the label is what residents and staff read in a case's history."""

    FILED = "filed", "已提交"
    ROUTED = "routed", "已派单"
    LINKED_DUPLICATE = "linked_duplicate", "并入同类诉求"
    DUPLICATE_REPORTED = "duplicate_reported", "又有居民反映"
    ACCEPT = "accept", "已接单"
    PROGRESS = "progress", "有新进展"
    RESOLVE = "resolve", "已办结"
    TRANSFER = "transfer", "已转派"
    RETURN = "return", "已退回重派"
    ASSIGN = "assign", "已分派"
    REJECT = "reject", "不予受理"
    CLAIM = "claim", "已认领"
    RATED = "rated", "已评价"
    CLOSED = "closed", "已关闭"
    AUTO_CLOSED = "auto_closed", "未评价，自动归档"
    ESCALATED = "escalated", "超时督办"
    BOOKED_FOR = "booked_for", "工作人员代约"
    CANCELLED = "cancelled", "已取消预约"
    RESCHEDULED = "rescheduled", "已改约"
    ATTENDED = "attended", "已到场"
    NO_SHOW = "no_show", "爽约"
    RECATEGORISE = "recategorise", "已更正类别"
    NOTE = "note", "内部备注"  # staff only: never shown to the resident, on public pages or in Open311
    MESSAGE = "message", "工作人员留言"
    MERGE = "merge", "合并工单"  # on the kept case
    MERGED_INTO = "merged_into", "已并入其他工单"  # on the case merged into it
    SPLIT = "split", "拆出单独办理"  # on the report split off
    SPLIT_OFF = "split_off", "拆出并入的反映"  # on the case it was split from
    SUPPLEMENT = "supplement", "居民补充"
    RESIDENT_REPLY = "resident_reply", "居民回复"
    URGE = "urge", "居民催办"
    RATING_CHANGED = "rating_changed", "已改评价"

    @property
    def note_for_residents(self) -> bool:
        """Whether the reporter reads this event's note in their case's history (staff-only notes stay hidden)."""
        return self in _RESIDENT_NOTES


_RESIDENT_NOTES = frozenset({EventKind.PROGRESS, EventKind.RESOLVE, EventKind.REJECT, EventKind.SUPPLEMENT, EventKind.MESSAGE,
                             EventKind.RESIDENT_REPLY, EventKind.RATED, EventKind.RATING_CHANGED})


class Case(Base):
    """One resident request; its id is the short number residents quote (#id)."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))  # indexed first in ix_case_sla_next
    text: Mapped[str] = mapped_column(Text)
    media: Mapped[list[dict]] = mapped_column(JSON, default=list)
    category_code: Mapped[str | None] = mapped_column(String(64))
    category_name: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"))  # indexed first in ix_case_unit_created
    unit_path: Mapped[str] = mapped_column(String(512), index=True)
    place: Mapped[str] = mapped_column(String(256), default="", server_default="")  # the unit as residents say it, at filing time
    reporter_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    source_channel: Mapped[str] = mapped_column(String(16))
    source_chat_id: Mapped[str] = mapped_column(String(128))
    source_is_group: Mapped[bool] = mapped_column(default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # indexed first in ix_case_open_assignee
    department: Mapped[str | None] = mapped_column(String(64))
    queue_unit_id: Mapped[int | None] = mapped_column(ForeignKey("grid_unit.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # The SLA sweep's bookkeeping (bot/jobs/sla.py): the last timer step taken, and when to look at the case next.
    sla_stage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extras: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[Rating | None] = mapped_column(_enum(Rating))
    rating_comment: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[GridUnit] = relationship(foreign_keys=[unit_id], lazy="joined")
    reporter: Mapped[Resident] = relationship(lazy="joined")
    assignee: Mapped[Staff | None] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"#{self.id}"


class CaseEvent(Base):
    """One step in a case's life: who did what, when, with which note (责任追溯)."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))  # resident | staff | system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[EventKind] = mapped_column(_enum(EventKind))
    from_status: Mapped[CaseStatus | None] = mapped_column(_enum(CaseStatus))
    to_status: Mapped[CaseStatus | None] = mapped_column(_enum(CaseStatus))
    note: Mapped[str] = mapped_column(Text, default="")


class CaseDayFigures(Base):
    """Figures (bot.cases.figures) of the cases filed on one day at UTC+8 under one community (or at a street or
    the district itself, `branch` then being that unit's path) in one category ('' for none): the sum of a key's
    rows is its figures. Database triggers on `case` add a row of differences for every tracked write, in the same
    transaction (migrations 0012_w16_rollup, 0013_day_figure_rows, 0014_day_figures_inline): adding, never
    updating, so no write waits on another's row. bot.cases.figures.compact_day_figures folds a key's rows into one."""

    __tablename__ = "case_day_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column()
    branch: Mapped[str] = mapped_column(String(512))
    category_name: Mapped[str] = mapped_column(String(64))
    cases: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    given: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    accept_hours: Mapped[float] = mapped_column(Float)
    resolved: Mapped[int] = mapped_column(Integer)
    resolve_hours: Mapped[float] = mapped_column(Float)
    due: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    rated: Mapped[int] = mapped_column(Integer)
    pleased: Mapped[int] = mapped_column(Integer)
    wishes_done: Mapped[int] = mapped_column(Integer)


Index("ix_case_open_assignee", Case.assignee_id, Case.status)
Index("ix_case_day_figures_key", CaseDayFigures.day, CaseDayFigures.branch, CaseDayFigures.category_name)
# The list's category filter in a window of filing time, with the scope's columns tested in the index.
Index("ix_case_category_created", Case.category_code, Case.created_at, Case.unit_id, Case.assignee_id)


def open_original_filter() -> TextClause:
    """Open reports that are no one's duplicate, in the very words of ix_case_open_originals' condition: SQLite
    matches a partial index's condition to a query's term by term, never to a bound parameter or an IN list of them."""
    return _OPEN_ORIGINAL_SQL


def open_filter() -> ColumnElement[bool]:
    """status IN OPEN_STATUSES with the statuses written out, so both databases can use ix_case_overdue."""
    return Case.status.in_(bindparam("open_statuses", [s.value for s in OPEN_STATUSES], expanding=True,
                                     literal_execute=True))


# Open cases in deadline order: the statistics page's overdue list reads the earliest, not every open case sorted.
_OPEN_SQL = text(f"status IN ({', '.join(repr(s.value) for s in OPEN_STATUSES)})")
Index("ix_case_overdue", Case.resolve_due_at, postgresql_where=_OPEN_SQL, sqlite_where=_OPEN_SQL)
# Open originals by category and place: the duplicate search reads only the cases a new report could join, where
# every report of a popular fault (a lift out all day, a hundred reports) stays in the table as a duplicate.
_OPEN_ORIGINAL_SQL = text(f"kind = '{CaseKind.REPORT.value}' AND duplicate_of_id IS NULL AND {_OPEN_SQL.text}")
Index("ix_case_open_originals", Case.category_code, Case.unit_path, Case.created_at,
      postgresql_where=_OPEN_ORIGINAL_SQL, sqlite_where=_OPEN_ORIGINAL_SQL)
Index("ix_case_sla_next", Case.status, Case.sla_next_at)
Index("ix_case_event_to_status_at", CaseEvent.to_status, CaseEvent.at)
# Every column bot.cases.figures reads, after created_at: a period's figures come from the index alone.
Index("ix_case_figures", Case.created_at, Case.unit_path, Case.status, Case.kind, Case.category_name, Case.assigned_at,
      Case.accepted_at, Case.resolved_at, Case.resolve_due_at, Case.rating)
