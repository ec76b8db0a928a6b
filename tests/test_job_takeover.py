"""A job run whose process died mid-run is taken over once its lease runs out, and sends nothing twice
(issue 10, defect 4)."""

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs.scheduler import JOB_LEASE, JobRunner, build_jobs
from models import JobRun
from tests.harness import Harness


class Killed(BaseException):
    """A process killed mid-run: nothing after it runs, no handler cleans up."""


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def test_a_weekly_run_whose_process_died_is_taken_over_after_the_lease_and_sent_once(bot):
    await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")  # Monday of W49: W50's report has data
    monday = bot.clock.now() + timedelta(days=14, minutes=1)  # Monday 09:01 of W50, the weekly report is due
    weekly = next(job for job in build_jobs(bot.services) if job.name == "weekly")

    async def queues_the_report_then_dies(services, fire, now):  # killed after queuing, before marking the run done
        await weekly.body(services, fire, now)
        raise Killed

    dying = JobRunner(bot.services, [replace(weekly, body=queues_the_report_then_dies)], instance="dead:1")
    with pytest.raises(Killed):
        await dying.run_due(monday, only="weekly")
    first = Counter(r.dedupe_key for r in await bot.outbox() if r.dedupe_key.startswith("weekly:2026-W50:"))
    assert first and set(first.values()) == {1}

    restarted = JobRunner(bot.services, instance="alive:2")
    assert await restarted.run_due(monday + timedelta(minutes=1), only="weekly") == []  # the lease still holds
    assert await restarted.take_over(monday + timedelta(minutes=1)) == []
    async with bot.services.sessions() as session:  # renewed while the run lived, if it ran past a heartbeat
        lease = await session.scalar(select(JobRun.lease_until).where(JobRun.job == "weekly",
                                                                     JobRun.slot == "2026-W50"))
    assert lease >= monday + JOB_LEASE
    later = lease + timedelta(seconds=1)
    [(job, slot, outcome)] = await restarted.take_over(later)
    assert (job, slot) == ("weekly", "2026-W50") and "skipped" not in outcome
    assert await restarted.take_over(later + timedelta(minutes=5)) == []  # finished: nothing left to take over

    sent = Counter(r.dedupe_key for r in await bot.outbox() if r.dedupe_key.startswith("weekly:2026-W50:"))
    assert sent == first  # every group and leader once, none twice
    groups = Counter(r.chat_id for r in await bot.outbox() if r.dedupe_key.startswith("weekly:2026-W50:group:"))
    assert len(groups) > 5 and set(groups.values()) == {1}
    async with bot.services.sessions() as session:
        [run] = (await session.scalars(select(JobRun).where(JobRun.job == "weekly", JobRun.slot == "2026-W50"))).all()
    assert run.instance == "alive:2" and run.finished_at is not None
