"""Cron jobs run once per slot across instances, and a missed run is caught up once after downtime."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.jobs.scheduler import JobRunner, JobSpec, build_jobs
from models import JobRun
from tests.harness import Harness


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


def spec(bot: Harness, name: str) -> JobSpec:
    return next(j for j in build_jobs(bot.services) if j.name == name)


async def test_latest_fire_follows_the_configured_time_zone(bot):
    weekly = spec(bot, "weekly")
    tuesday = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert weekly.latest_fire(tuesday) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 Shanghai
    assert spec(bot, "digest").latest_fire(tuesday) == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert spec(bot, "sla").latest_fire(tuesday + timedelta(minutes=7)) == tuesday + timedelta(minutes=5)


async def test_missed_runs_after_downtime_are_caught_up_once(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    runner = JobRunner(bot.services, instance="a")
    # down from Monday 08:00 to Tuesday 10:00 (Shanghai): Monday's and Tuesday's digests and the weekly report
    # were missed; the latest of each runs, once
    back = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    ran = {(job, slot) for job, slot, _ in await runner.run_due(back)}
    assert ("weekly", "2026-W48") in ran and ("digest", "2026-12-01") in ran and ("digest", "2026-11-30") not in ran
    assert ("sla", "2026-12-01T10:00") in ran
    again = await runner.run_due(back + timedelta(minutes=1))
    assert again == []
    rows = await bot.outbox()
    digests = [r.dedupe_key for r in rows if r.dedupe_key.startswith("digest:")]
    assert digests and all(k.startswith("digest:2026-12-01:") for k in digests)
    # the week before the first case is not reported on: broadcasts start with the first full week of data
    assert not [r for r in rows if r.dedupe_key.startswith("weekly:")]
    assert case.id
    later = await runner.run_due(back + timedelta(days=3))  # Friday: the weekly slot is past its catch-up window
    assert "weekly" not in {job for job, _, _ in later}


async def test_two_instances_run_each_slot_once(bot):
    first, second = JobRunner(bot.services, instance="a"), JobRunner(bot.services, instance="b")
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    ran_a = await first.run_due(now)
    ran_b = await second.run_due(now)
    assert ran_a and ran_b == []
    async with bot.services.sessions() as session:
        runs = (await session.scalars(select(JobRun))).all()
    assert {r.instance for r in runs} == {"a"} and all(r.finished_at is not None for r in runs)


async def test_a_crashed_run_is_taken_over_and_a_failed_one_retried(bot):
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    async with bot.services.sessions.begin() as session:
        session.add(JobRun(job="weekly", slot="2026-W48", started_at=now - timedelta(hours=1), instance="dead"))
    calls = []

    async def failing(services, fire, when):
        calls.append(when)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return "ok"

    weekly = spec(bot, "weekly")
    flaky = JobSpec(weekly.name, weekly.trigger, weekly.period, weekly.catch_up, weekly.slot, failing)
    runner = JobRunner(bot.services, [flaky], instance="b")
    assert await runner.run_due(now) == []  # took over the stale run, which then failed: slot released
    assert await runner.run_due(now) == [("weekly", "2026-W48", "ok")]
    assert await runner.run_due(now) == []
    assert len(calls) == 2


async def test_weekly_broadcasts_start_with_the_first_full_week_of_data(bot):
    """The first serve on a new database used to queue last week's report to every group and leader."""
    runner = JobRunner(bot.services, instance="a")
    monday = datetime(2026, 11, 30, 1, 5, tzinfo=UTC)  # Monday 09:05 Shanghai, the service's first morning
    [(_, slot, outcome)] = await runner.run_due(monday, only="weekly")
    assert slot == "2026-W48" and "skipped" in outcome
    await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")  # the first case, Monday 09:00 of W49
    [(_, slot, outcome)] = await runner.run_due(monday + timedelta(days=7), only="weekly")
    assert slot == "2026-W49" and "skipped" in outcome  # the week the data began in is not whole
    assert not [r for r in await bot.outbox() if r.dedupe_key.startswith("weekly:")]
    [(_, slot, outcome)] = await runner.run_due(monday + timedelta(days=14), only="weekly")
    assert slot == "2026-W50" and "skipped" not in outcome
    sent = [r for r in await bot.outbox() if r.dedupe_key.startswith("weekly:2026-W50:")]
    assert len([r for r in sent if ":group:" in r.dedupe_key]) > 5 and [r for r in sent if ":staff:" in r.dedupe_key]
