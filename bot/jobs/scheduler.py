"""Cron jobs on APScheduler 3, each run once per time slot across every instance sharing the database.

A run first claims its slot with an INSERT into job_run (unique job + slot) holding a lease (JOB_LEASE) that the
running instance renews every HEARTBEAT: whichever instance inserts first runs it, the others see the row and
skip. A run whose owner died (kill -9, a crash mid-run) stops renewing; once its lease has run out the next
instance takes the slot over, on its catch-up pass at start or on the scheduler's takeover pass every minute.
The jobs are idempotent (they only enqueue keyed outbox rows), so a run taken over sends nothing twice. A run
that raised deletes its row so the next fire retries it. After downtime only the latest missed slot of each job
runs (within the job's catch-up window), so a missed run is caught up once, not many times.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete, or_, select, update

from bot.cases.figures import compact_day_figures
from bot.jobs import appointments
from bot.jobs.broadcasts import first_full_week, weekly_broadcast
from bot.jobs.digests import daily_digest
from bot.jobs.sla import TimerPolicy, sweep_case_timers
from bot.jobs.wishes import announce_campaign, campaign_summary, monthly_summary, sweep_claims
from bot.pipeline.offers import lapse_offers
from bot.reports.weekly import week_label, week_start
from bot.services import Services
from models import JobRun
from models.db import dialect_insert

log = logging.getLogger(__name__)

JOB_LEASE = timedelta(minutes=2)
HEARTBEAT = 30.0  # seconds between lease renewals: a few renewals fit in one lease
TAKEOVER_EVERY = 60  # seconds between the scheduler's passes over runs whose owner is gone
STALE_RUN = timedelta(minutes=15)  # a run claimed before leases were kept (no lease_until) is stale after this

JobBody = Callable[[Services, datetime, datetime], Awaitable[str]]


@dataclass(frozen=True)
class JobSpec:
    """A cron job: when it fires, how its slots are named, how late a missed slot may still run."""

    name: str
    trigger: CronTrigger
    period: timedelta  # the longest gap between two fires
    catch_up: timedelta
    slot: Callable[[datetime], str]  # the fire time (local) as the slot name
    body: JobBody

    def latest_fire(self, now: datetime) -> datetime | None:
        """The last fire time at or before `now`."""
        fire = self.trigger.get_next_fire_time(None, now - self.period - timedelta(seconds=1))
        latest = None
        while fire is not None and fire <= now:
            latest = fire
            fire = self.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return latest


async def _sweep(services: Services, fire: datetime, now: datetime) -> str:
    tally = await sweep_case_timers(services, now, policy=TimerPolicy.from_services(services))
    # Group offers nobody took lose their words on the same beat (issue 11).
    await lapse_offers(services.sessions, now, timedelta(minutes=services.settings.group_offer_ttl_minutes))
    async with services.sessions.begin() as session:  # and the day figures' added rows are folded
        _, services.day_figures_folded_to = await compact_day_figures(session, services.day_figures_folded_to)
    return str(tally)


async def _inbound_retry(services: Services, fire: datetime, now: datetime) -> str:
    from bot.pipeline.dispatcher import Dispatcher  # the handlers import the jobs' neighbours: built on use
    from bot.pipeline.retry import retry_failed
    from handlers import build_router

    return str(await retry_failed(Dispatcher(services, build_router()), now))


async def _digest(services: Services, fire: datetime, now: datetime) -> str:
    return f"digests {await daily_digest(services, fire.date(), now)}"


async def _weekly(services: Services, fire: datetime, now: datetime) -> str:
    week = week_label(fire.date() - timedelta(days=7))  # the whole week before the one it fires in
    first = await first_full_week(services)
    if first is None or week_start(week) < week_start(first):
        return f"{week}: skipped, before the first full week of data ({first or 'no cases yet'})"
    return f"{week}: {await weekly_broadcast(services, week, now)}"


async def _wishes(services: Services, fire: datetime, now: datetime) -> str:
    return f"groups {await announce_campaign(services, fire.year, fire.date(), now)}"


async def _wish_claims(services: Services, fire: datetime, now: datetime) -> str:
    return str(await sweep_claims(services, now))


async def _wish_campaign_summary(services: Services, fire: datetime, now: datetime) -> str:
    return f"notices {await campaign_summary(services, fire.date(), now)}"


async def _wish_monthly(services: Services, fire: datetime, now: datetime) -> str:
    month = (fire.date().replace(day=1) - timedelta(days=1)).replace(day=1)  # the month that just ended
    return f"{month:%Y-%m}: notices {await monthly_summary(services, month, now)}"


async def _appt_evening(services: Services, fire: datetime, now: datetime) -> str:
    return f"reminders {await appointments.evening_reminders(services, fire.date(), now)}"


async def _appt_hour(services: Services, fire: datetime, now: datetime) -> str:
    return f"reminders {await appointments.hour_reminders(services, now)}"


async def _appt_morning(services: Services, fire: datetime, now: datetime) -> str:
    return f"lists {await appointments.staff_day_lists(services, fire.date(), now)}"


def build_jobs(services: Services) -> list[JobSpec]:
    """The cron jobs the settings describe, in the service's time zone."""
    settings = services.settings
    tz = settings.tz
    digest_hour, digest_minute = (int(p) for p in settings.digest_time.split(":"))
    weekday, weekly_time = settings.weekly_report_at.split()
    weekly_hour, weekly_minute = (int(p) for p in weekly_time.split(":"))
    wish_day, wish_time = settings.wish_campaign_at.split()
    wish_month, wish_date = (int(p) for p in wish_day.split("-"))
    wish_hour, wish_minute = (int(p) for p in wish_time.split(":"))
    every = settings.sla_sweep_minutes
    return [
        JobSpec("sla", CronTrigger(minute=f"*/{every}", timezone=tz), timedelta(hours=1), timedelta(days=3650),
                lambda t: t.strftime("%Y-%m-%dT%H:%M"), _sweep),
        JobSpec("inbound_retry", CronTrigger(minute="*/5", timezone=tz), timedelta(hours=1), timedelta(days=3650),
                lambda t: t.strftime("%Y-%m-%dT%H:%M"), _inbound_retry),
        JobSpec("digest", CronTrigger(hour=digest_hour, minute=digest_minute, timezone=tz), timedelta(days=1),
                timedelta(hours=6), lambda t: t.date().isoformat(), _digest),
        JobSpec("weekly", CronTrigger(day_of_week=weekday, hour=weekly_hour, minute=weekly_minute, timezone=tz),
                timedelta(days=7), timedelta(days=2), lambda t: week_label(t.date() - timedelta(days=7)), _weekly),
        JobSpec("wishes", CronTrigger(month=wish_month, day=wish_date, hour=wish_hour, minute=wish_minute,
                                      timezone=tz), timedelta(days=366), timedelta(days=14),
                lambda t: str(t.year), _wishes),
        JobSpec("wish_claims", CronTrigger(minute=15, timezone=tz), timedelta(hours=1), timedelta(days=1),
                lambda t: t.strftime("%Y-%m-%dT%H"), _wish_claims),
        JobSpec("wish_campaign_summary", CronTrigger(hour=9, minute=30, timezone=tz), timedelta(days=1),
                timedelta(days=2), lambda t: t.date().isoformat(), _wish_campaign_summary),
        JobSpec("wish_monthly", CronTrigger(day=1, hour=9, minute=0, timezone=tz), timedelta(days=31),
                timedelta(days=5), lambda t: t.strftime("%Y-%m"), _wish_monthly),
        *appointment_jobs(tz),
    ]


def appointment_jobs(tz: ZoneInfo) -> list[JobSpec]:
    """Booking reminders (evening before, hour before) and staff day lists (bot/jobs/appointments.py)."""
    evening, morning = appointments.EVENING_AT, appointments.MORNING_AT
    every = appointments.HOURLY_EVERY_MINUTES
    return [
        JobSpec("appt-evening", CronTrigger(hour=evening.hour, minute=evening.minute, timezone=tz), timedelta(days=1),
                timedelta(hours=4), lambda t: t.date().isoformat(), _appt_evening),
        JobSpec("appt-hour", CronTrigger(minute=f"*/{every}", timezone=tz), timedelta(hours=1),
                timedelta(minutes=every), lambda t: t.strftime("%Y-%m-%dT%H:%M"), _appt_hour),
        JobSpec("appt-morning", CronTrigger(hour=morning.hour, minute=morning.minute, timezone=tz),
                timedelta(days=1), timedelta(hours=3), lambda t: t.date().isoformat(), _appt_morning),
    ]


class JobRunner:
    """Runs due jobs, each slot once across instances, recorded in job_run."""

    def __init__(self, services: Services, jobs: list[JobSpec] | None = None, *, instance: str | None = None) -> None:
        self.services = services
        self.jobs = jobs if jobs is not None else build_jobs(services)
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"

    async def run_due(self, now: datetime, *, only: str | None = None) -> list[tuple[str, str, str]]:
        """Runs the latest slot of each job that is due and not yet run; returns (job, slot, outcome) of each run."""
        ran = []
        tz: ZoneInfo = self.services.settings.tz
        await self.services.refresh_directory()
        for spec in self.jobs:
            if only is not None and spec.name != only:
                continue
            fire = spec.latest_fire(now)
            if fire is None or now - fire > spec.catch_up:
                continue
            slot = spec.slot(fire.astimezone(tz))
            if not await self._claim(spec.name, slot, now):
                continue
            heartbeat = asyncio.create_task(self._renew(spec.name, slot, now), name=f"lease:{spec.name}")
            try:
                outcome = await spec.body(self.services, fire.astimezone(tz), now)
            except Exception:
                log.exception("job %s slot %s failed; it will be retried", spec.name, slot)
                await self._release(spec.name, slot)
                continue
            except asyncio.CancelledError:  # stopped (shutdown): the slot is handed back for the next fire
                await self._release(spec.name, slot)
                raise
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
            await self._finish(spec.name, slot, outcome)
            log.info("job %s slot %s: %s", spec.name, slot, outcome)
            ran.append((spec.name, slot, outcome))
        return ran

    async def take_over(self, now: datetime) -> list[tuple[str, str, str]]:
        """Runs again the jobs whose latest run was left unfinished by an owner whose lease ran out."""
        async with self.services.sessions() as session:
            orphaned = set((await session.scalars(select(JobRun.job).where(
                JobRun.finished_at.is_(None),
                or_(JobRun.lease_until < now,
                    JobRun.lease_until.is_(None) & (JobRun.started_at <= now - STALE_RUN))))).all())
        ran = []
        for spec in self.jobs:
            if spec.name in orphaned:
                log.warning("job %s: the run of an instance that is gone is taken over", spec.name)
                ran += await self.run_due(now, only=spec.name)
        return ran

    async def _claim(self, job: str, slot: str, now: datetime) -> bool:
        """True when this instance may run the slot: it inserted the row, or took over an unfinished one whose
        owner's lease ran out."""
        async with self.services.sessions.begin() as session:
            inserted = await session.scalar(
                dialect_insert(session)(JobRun).values(job=job, slot=slot, started_at=now, instance=self.instance,
                                                        lease_until=now + JOB_LEASE, outcome="")
                .on_conflict_do_nothing(index_elements=["job", "slot"]).returning(JobRun.id))
            if inserted is not None:
                return True
            run = await session.scalar(select(JobRun).where(JobRun.job == job, JobRun.slot == slot))
            if run is None or run.finished_at is not None:
                return False
            lease = run.lease_until or run.started_at + STALE_RUN
            if now < lease:
                return False
            taken = await session.execute(
                update(JobRun).where(JobRun.id == run.id, JobRun.finished_at.is_(None),
                                     JobRun.instance == run.instance, JobRun.started_at == run.started_at)
                .values(started_at=now, instance=self.instance, lease_until=now + JOB_LEASE)
                .execution_options(synchronize_session=False))
            return taken.rowcount == 1

    async def _renew(self, job: str, slot: str, now: datetime) -> None:
        """Keeps this instance's lease on a running slot alive until cancelled (the run ended); the lease runs on
        the run's own time line (its `now` plus the time it has taken)."""
        started = time.monotonic()
        while True:
            await asyncio.sleep(HEARTBEAT)
            lease = now + timedelta(seconds=time.monotonic() - started) + JOB_LEASE
            try:
                async with self.services.sessions.begin() as session:
                    await session.execute(update(JobRun).where(
                        JobRun.job == job, JobRun.slot == slot, JobRun.instance == self.instance,
                        JobRun.finished_at.is_(None)).values(lease_until=lease))
            except Exception:  # a missed renewal only risks a takeover, which the jobs' keys make harmless
                log.exception("job %s slot %s: lease renewal failed", job, slot)

    async def _finish(self, job: str, slot: str, outcome: str) -> None:
        async with self.services.sessions.begin() as session:
            await session.execute(update(JobRun).where(JobRun.job == job, JobRun.slot == slot).values(
                finished_at=self.services.clock.now(), outcome=outcome[:2000]))

    async def _release(self, job: str, slot: str) -> None:
        async with self.services.sessions.begin() as session:
            await session.execute(delete(JobRun).where(JobRun.job == job, JobRun.slot == slot,
                                                       JobRun.finished_at.is_(None)))


class Scheduler:
    """APScheduler 3 firing each job on its cron trigger, plus one catch-up pass at start."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Starts firing jobs on the running event loop; the first pass catches up what was missed."""
        services = self.runner.services
        scheduler = AsyncIOScheduler(timezone=services.settings.tz)
        for spec in self.runner.jobs:
            scheduler.add_job(self._fire, spec.trigger, args=[spec.name], id=spec.name, coalesce=True,
                              max_instances=1, misfire_grace_time=int(spec.catch_up.total_seconds()))
        scheduler.add_job(self._fire, "date", args=[None], id="catch-up")
        scheduler.add_job(self._take_over, "interval", seconds=TAKEOVER_EVERY, id="takeover", coalesce=True,
                          max_instances=1)
        scheduler.start()
        self._scheduler = scheduler

    async def _fire(self, name: str | None) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.runner.run_due(self.runner.services.clock.now(), only=name)
        except Exception:  # a database outage must not stop the scheduler; the next fire catches up
            log.exception("scheduled run of %s failed", name or "every job")
        finally:
            self._running.discard(task)  # type: ignore[arg-type]

    async def _take_over(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.runner.take_over(self.runner.services.clock.now())
        except Exception:  # as _fire: the next pass tries again
            log.exception("takeover pass failed")
        finally:
            self._running.discard(task)  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Stops firing and cancels a run in progress (its slot is retried by whoever fires next)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
