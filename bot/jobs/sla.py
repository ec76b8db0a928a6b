"""The SLA timers: reminders, escalations, rating requests and auto-closing, each step taken once.

Jobs decide what is due and enqueue outbox rows with deterministic dedupe keys, nothing more.

A job that fires twice, or in two instances at once, therefore sends once: the second run finds the same
keys already queued. The case timers also move a case's `sla_stage` with a conditional UPDATE, so one step
(its audit event and its notices) is taken once even when two sweeps race.

Case timers, one ladder per case (stage numbers only grow):
  accept chain (assigned, transferred, reopened):  1 reminder · 2 community secretary · 3 street officer
  resolve chain (accepted, in progress):           4 reminder · 5 community secretary · 6 street officer
  rating (resolved):                                7 asked again · 8 closed without a rating
A case sent back to waiting for acceptance after its accept chain (reopened by a 不满意 rating, or transferred)
starts a new round of the same ladder ten stages up (11-18, 21-28 ...), its deadlines counted afresh.
A reminder comes `sla_reminder_hours` (at most a quarter of the SLA) before the deadline; the first
escalation at the deadline, the second `sla_escalation_step_hours` later. Acceptance moves the case off the
accept chain, which is how it stops the escalation. Deadlines are read in working time (bot/jobs/workdays.py),
by one function, case_deadlines, which the daily digest's 已超时 uses too.
`sla_next_at` says when a case needs looking at next, so a sweep reads the cases that are due, not every
open case; new cases (sla_next_at still empty) are picked up on the first sweep after they are filed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.notices import case_summary, notify_reporter, notify_staff, rating_buttons, worker_buttons
from bot.grid.directory import GridDirectory
from bot.grid.routing import escalation_staff
from bot.jobs.workdays import WorkCalendar
from bot.pipeline.dialogue import offer_rating
from bot.services import Services
from models import Case, CaseEvent, CaseStatus, EventKind

log = logging.getLogger(__name__)

S = CaseStatus
ACCEPT_WAIT = (S.ASSIGNED, S.TRANSFERRED, S.REOPENED)
WORKING = (S.ACCEPTED, S.IN_PROGRESS)
TIMED = (*ACCEPT_WAIT, *WORKING, S.RESOLVED)
RECHECK = timedelta(days=1)  # a case with no step ahead is looked at again daily, in case its status moved
SWEEP_BATCH = 200
DEFAULT_ACCEPT_SPAN = timedelta(hours=24)  # a reopened case's accept deadline, counted from its reopening

ACCEPT_BASE, RESOLVE_BASE, RATING_ASKED, RATING_CLOSED = 0, 3, 7, 8  # stage offsets within a round
ROUND = 10  # a case reopened by a dissatisfied rating runs the ladder again, in stages 11-18, 21-28 ...
REMIND, ESCALATE, ASK_RATING, AUTO_CLOSE = "remind", "escalate", "ask_rating", "auto_close"


@dataclass(frozen=True, slots=True)
class TimerPolicy:
    """How the case timers read deadlines and when they act."""

    calendar: WorkCalendar
    remind_before: timedelta
    escalation_step: timedelta
    rating_followup: timedelta
    autoclose: timedelta

    @classmethod
    def from_services(cls, services: Services) -> TimerPolicy:
        settings = services.settings
        return cls(
            calendar=WorkCalendar.from_settings(settings),
            remind_before=timedelta(hours=settings.sla_reminder_hours),
            escalation_step=timedelta(hours=settings.sla_escalation_step_hours),
            rating_followup=timedelta(hours=settings.rating_followup_hours),
            autoclose=timedelta(days=settings.rating_autoclose_days),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One timer step of a case: the stage it reaches, when, what it does, against which deadline."""

    stage: int
    at: datetime
    action: str
    chain: str  # accept | resolve | rating
    deadline: datetime | None = None
    level: int = 0  # the escalation level (1 community secretary, 2 street officer) an escalation reaches


class Timed(Protocol):
    """What a case's deadlines are read from: a Case, or a row with these columns."""

    status: CaseStatus
    sla_stage: int
    created_at: datetime
    assigned_at: datetime | None
    accepted_at: datetime | None
    accept_due_at: datetime | None
    resolve_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class Due:
    """One SLA clock of a case: `span` of working time counted from `start`, ending `at`."""

    start: datetime
    span: timedelta
    at: datetime


@dataclass(frozen=True, slots=True)
class Deadlines:
    """A case's current deadlines: to accept (response) and to resolve (resolution)."""

    response: Due | None
    resolution: Due | None

    def current(self, status: CaseStatus) -> Due | None:
        """The deadline the case is held to in its status: the response while it waits for acceptance."""
        if status in ACCEPT_WAIT and self.response is not None:
            return self.response
        return self.resolution


def round_base(case: Timed) -> int:
    """The first stage of the case's current round: a case back on a chain it has already passed in this round
    (reopened, or transferred, whether or not a sweep saw it waiting) starts a new one."""
    base = case.sla_stage // ROUND * ROUND
    chain_end = ACCEPT_BASE + 3 if case.status in ACCEPT_WAIT else RESOLVE_BASE + 3 if case.status in WORKING else None
    if chain_end is not None and case.sla_stage - base > chain_end:
        base += ROUND
    return base


def case_deadlines(case: Timed, calendar: WorkCalendar) -> Deadlines:
    """The one reading of a case's deadlines, for the SLA sweep and the digest alike.

    Response: the category's accept hours from the latest hand-over (assignment, transfer or reopening); a
    hand-over after the filed accept deadline (a reopening) gets DEFAULT_ACCEPT_SPAN. Resolution: the category's
    resolve hours from filing, or, in a round after a reopening, from the re-acceptance."""
    response = resolution = None
    if case.accept_due_at is not None:
        start = case.assigned_at or case.created_at
        span = case.accept_due_at - start if case.accept_due_at > start else DEFAULT_ACCEPT_SPAN
        response = Due(start, span, calendar.deadline(start, span))
    if case.resolve_due_at is not None and case.resolve_due_at > case.created_at:
        reopened = round_base(case) > 0
        start = (case.accepted_at or case.assigned_at or case.created_at) if reopened else case.created_at
        span = case.resolve_due_at - case.created_at
        resolution = Due(start, span, calendar.deadline(start, span))
    return Deadlines(response, resolution)


def _chain(base: int, chain: str, due: Due, policy: TimerPolicy) -> list[Step]:
    lead = min(policy.remind_before, due.span / 4)
    return [
        Step(base + 1, due.at - lead, REMIND, chain, due.at),
        Step(base + 2, due.at, ESCALATE, chain, due.at, 1),
        Step(base + 3, due.at + policy.escalation_step, ESCALATE, chain, due.at, 2),
    ]


def accept_steps(case: Case, policy: TimerPolicy) -> list[Step]:
    """The accept chain, against the case's response deadline."""
    due = case_deadlines(case, policy.calendar).response
    return [] if due is None else _chain(round_base(case) + ACCEPT_BASE, "accept", due, policy)


def resolve_steps(case: Case, policy: TimerPolicy) -> list[Step]:
    """The resolve chain, against the case's resolution deadline."""
    due = case_deadlines(case, policy.calendar).resolution
    return [] if due is None else _chain(round_base(case) + RESOLVE_BASE, "resolve", due, policy)


def timeline(case: Case, policy: TimerPolicy) -> list[Step]:
    """Every timer step of the case in its current status, in stage order."""
    if case.status in ACCEPT_WAIT:
        return accept_steps(case, policy)
    if case.status in WORKING:
        return resolve_steps(case, policy)
    if case.status is S.RESOLVED and case.resolved_at is not None:
        base = round_base(case)
        return [Step(base + RATING_ASKED, case.resolved_at + policy.rating_followup, ASK_RATING, "rating"),
                Step(base + RATING_CLOSED, case.resolved_at + policy.autoclose, AUTO_CLOSE, "rating")]
    return []


@dataclass(frozen=True, slots=True)
class Plan:
    """What the sweep does to one case now, and when it looks again."""

    steps: tuple[Step, ...]
    stage: int
    next_at: datetime | None


def plan(case: Case, policy: TimerPolicy, now: datetime) -> Plan:
    """The steps due now (a reminder or a second request is dropped once its deadline has passed)."""
    pending = [s for s in timeline(case, policy) if s.stage > case.sla_stage]
    due = [s for s in pending if s.at <= now]
    if any(s.action in (ESCALATE, AUTO_CLOSE) for s in due):
        due = [s for s in due if s.action not in (REMIND, ASK_RATING)]
    ahead = [s.at for s in pending if s.at > now]
    if case.status in ACCEPT_WAIT:  # once accepted, the resolve reminder must not wait for a recheck
        ahead += [s.at for s in resolve_steps(case, policy) if s.at > now][:1]
    next_at = min(ahead) if ahead else (now + RECHECK if case.status in TIMED else None)
    stage = max([case.sla_stage, *(s.stage for s in due)])
    return Plan(tuple(due), stage, next_at)


# the sweep ---------------------------------------------------------------------------------------------


@dataclass
class SweepTally:
    looked_at: int = 0
    reminders: int = 0
    escalations: int = 0
    rating_requests: int = 0
    closed: int = 0

    def __str__(self) -> str:
        return (f"looked at {self.looked_at}, reminders {self.reminders}, escalations {self.escalations}, "
                f"rating requests {self.rating_requests}, auto-closed {self.closed}")


async def sweep_case_timers(services: Services, now: datetime, *, policy: TimerPolicy | None = None) -> SweepTally:
    """Takes every timer step that is due: reminders, escalations, rating requests, auto-closing."""
    policy = policy or TimerPolicy.from_services(services)
    tally = SweepTally()
    for unscheduled in (True, False):
        while True:
            async with services.sessions.begin() as session:
                cases = await _due_cases(session, now, unscheduled=unscheduled)
                progressed = 0
                for case in cases:
                    progressed += await _advance(session, services.directory, case, policy, now, tally)
            tally.looked_at += len(cases)
            if len(cases) < SWEEP_BATCH or not progressed:
                break
    return tally


async def _due_cases(session: AsyncSession, now: datetime, *, unscheduled: bool) -> list[Case]:
    """A batch of timed cases that are due (or were never scheduled); locked rows of another sweep are skipped."""
    if unscheduled:  # no ORDER BY: any order serves, and it lets PostgreSQL seek ix_case_sla_next directly
        query = select(Case).where(Case.status.in_(TIMED), Case.sla_next_at.is_(None))
    else:
        query = select(Case).where(Case.status.in_(TIMED), Case.sla_next_at <= now).order_by(Case.sla_next_at)
    query = query.limit(SWEEP_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Case)
    return list((await session.scalars(query)).unique().all())


async def _advance(session: AsyncSession, directory: GridDirectory, case: Case, policy: TimerPolicy,
                   now: datetime, tally: SweepTally) -> int:
    """Moves one case to its planned stage and takes the due steps; 0 when another sweep got there first."""
    planned = plan(case, policy, now)
    values: dict = {"sla_stage": planned.stage, "sla_next_at": planned.next_at}
    levels = [s.level for s in planned.steps if s.level]
    if levels:
        values["escalation_level"] = max(case.escalation_level, *levels)
    if any(s.action == AUTO_CLOSE for s in planned.steps):
        values.update(status=S.CLOSED, closed_at=now, updated_at=now)
    moved = await session.execute(
        update(Case).where(Case.id == case.id, Case.sla_stage == case.sla_stage, Case.status == case.status)
        .values(**values).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return 0
    for step in planned.steps:
        await _take(session, directory, case, step, policy, now, tally)
    return 1


async def _take(session: AsyncSession, directory: GridDirectory, case: Case, step: Step, policy: TimerPolicy,
                now: datetime, tally: SweepTally) -> None:
    if step.action == REMIND:
        await _remind(session, case, step, policy, now)
        tally.reminders += 1
    elif step.action == ESCALATE:
        await _escalate(session, directory, case, step, policy, now)
        tally.escalations += 1
    elif step.action == ASK_RATING:
        await _ask_rating(session, case, step, now)
        tally.rating_requests += 1
    else:
        session.add(CaseEvent(case_id=case.id, at=now, actor_kind="system", actor_name="系统", action=EventKind.AUTO_CLOSED,
                              from_status=S.RESOLVED.value, to_status=S.CLOSED.value,
                              note=f"办结后{_span_text(now - case.resolved_at) if case.resolved_at else ''}未评价，自动归档"))
        tally.closed += 1


def _span_text(span: timedelta) -> str:
    """A duration as residents and staff read it: 2天3小时, 3小时20分钟, 15分钟."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟"


def _what(step: Step) -> str:
    return "接单" if step.chain == "accept" else "办结"


def local_text(moment: datetime, calendar: WorkCalendar) -> str:
    """A moment in the service's time zone, as 12月1日 18:00."""
    local = moment.astimezone(calendar.tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


async def _remind(session: AsyncSession, case: Case, step: Step, policy: TimerPolicy, now: datetime) -> None:
    if case.assignee is None or step.deadline is None:
        return
    text = (f"【时限提醒】{case.number} 请在 {local_text(step.deadline, policy.calendar)} 前{_what(step)}（还剩 {_span_text(step.deadline - now)}）。\n"
            f"{case_summary(case, for_staff=True)}")
    await notify_staff(session, case.assignee, case, text, key=f"sla:{case.id}:{step.stage}", now=now,
                       buttons=worker_buttons(case))


async def _escalate(session: AsyncSession, directory: GridDirectory, case: Case, step: Step, policy: TimerPolicy,
                    now: datetime) -> None:
    """An audit event and notices up the grid: the community secretary first, then the street officer."""
    assert step.deadline is not None
    targets = await escalation_staff(session, directory, directory.unit(case.unit_id), step.level)
    late = _span_text(now - step.deadline)
    names = "、".join(f"{t.role.label}{t.name}" for t in targets) or "（无在岗人员）"
    session.add(CaseEvent(
        case_id=case.id, at=now, actor_kind="system", actor_name="系统", action=EventKind.ESCALATED,
        from_status=case.status.value, to_status=case.status.value,
        note=f"超过{_what(step)}时限 {late}，第{step.level}级督办：上报{names}",
    ))
    holder = f"{case.assignee.role.label}{case.assignee.name}" if case.assignee else "无"
    text = (f"【超时督办·第{step.level}级】{case.number} 已超过{_what(step)}时限 {late}"
            f"（时限 {local_text(step.deadline, policy.calendar)}），当前承办：{holder}。请督促办理。\n{case_summary(case, for_staff=True)}")
    key = f"sla:{case.id}:{step.stage}"
    for person in targets:
        if person.id != case.assignee_id:
            await notify_staff(session, person, case, text, key=key, now=now)
    if case.assignee is not None:
        await notify_staff(session, case.assignee, case,
                           f"【超时提醒】{case.number} 已超过{_what(step)}时限 {late}，已上报{names}。请尽快处理。",
                           key=key, now=now, buttons=worker_buttons(case))


async def _ask_rating(session: AsyncSession, case: Case, step: Step, now: datetime) -> None:
    key = f"rating:{case.id}:followup" if step.stage == RATING_ASKED else f"rating:{case.id}:followup:{step.stage}"
    identity = await notify_reporter(
        session, case, f"您反映的 {case.number} 已办结，还没收到您的评价。请回复：满意 / 基本满意 / 不满意（可附意见）。",
        key=key, now=now, buttons=rating_buttons(case))
    if identity is not None:
        chat = identity.private_chat_id or case.source_chat_id
        await offer_rating(session, case.source_channel, chat, identity.user_id, case.id, now=now)
