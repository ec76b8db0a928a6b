"""Each job's output for a given clock and data set: SLA reminders and escalation, digest, ratings, broadcasts."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.jobs.broadcasts import weekly_broadcast
from bot.jobs.digests import daily_digest
from bot.jobs.sla import sweep_case_timers
from bot.jobs.wishes import announce_campaign
from bot.jobs.workdays import WorkCalendar
from config.settings import load_settings
from models import CaseStatus, Rating, Resident, Staff, UnitLevel
from tests.harness import Harness

GROUP = "JT-TTC-01"
PHONE = re.compile(r"1[3-9]\d{9}|1[3-9]\d\*{4}\d{4}|\d{4}-\d{7}")


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def sweep(bot: Harness, **advance: float):
    if advance:
        bot.clock.advance(**advance)
    return await sweep_case_timers(bot.services, bot.clock.now())


def keys(rows, prefix: str) -> list[str]:
    return sorted(r.dedupe_key for r in rows if r.dedupe_key.startswith(prefix))


async def test_assignee_is_reminded_before_the_accept_deadline_once(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)  # street light: accept 24 h (Mon 09:00)
    assert (await sweep(bot)).reminders == 0
    # 24 h is one working day: due at the end of Tuesday's work (18:00 Shanghai = 10:00 UTC); reminder 2 h before
    bot.clock.set(datetime(2026, 12, 1, 7, 59, tzinfo=UTC))
    assert (await sweep(bot)).reminders == 0
    bot.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert (await sweep(bot)).reminders == 1
    assert (await sweep(bot, minutes=5)).reminders == 0
    [row] = [r for r in await bot.outbox("staff:W001") if r.dedupe_key.startswith(f"sla:{case.id}:")]
    assert row.dedupe_key == f"sla:{case.id}:1:staff:{row.dedupe_key.rsplit(':', 1)[1]}"
    assert "12月1日 18:00 前接单" in row.text and "还剩 2小时" in row.text


async def test_breach_climbs_the_grid_each_step_audited_until_accepted(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=UTC))  # 3 h after the deadline: straight to escalation
    tally = await sweep(bot)
    assert (tally.reminders, tally.escalations) == (0, 1)
    escalated = [e for e in await bot.events(case.id) if e.action == "escalated"]
    assert len(escalated) == 1 and "超过接单时限 3小时" in escalated[0].note and "社区书记" in escalated[0].note
    assert (await bot.case(case.id)).escalation_level == 1
    secretary = [r for r in await bot.outbox() if r.dedupe_key.startswith(f"sla:{case.id}:2:")
                 and r.recipient != "staff:W001"]
    assert secretary and all("已超过接单时限 3小时" in r.text for r in secretary)
    assert (await sweep(bot, hours=1)).escalations == 0
    tally = await sweep(bot, hours=24)  # a day later still not taken: the street officer
    assert tally.escalations == 1
    assert (await bot.case(case.id)).escalation_level == 2
    notes = [e.note for e in await bot.events(case.id) if e.action == "escalated"]
    assert len(notes) == 2 and "街道干部" in notes[1]


async def test_acceptance_stops_the_escalation_chain(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.set(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    assert (await sweep(bot)).escalations == 1
    await bot.staff("W001", f"接单 {case.id}")
    bot.clock.advance(days=1, hours=1)
    assert (await sweep(bot)).escalations == 0
    assert [e.action for e in await bot.events(case.id)].count("escalated") == 1
    assert (await bot.case(case.id)).escalation_level == 1


async def test_weekend_does_not_count_towards_a_working_day_deadline(bot):
    bot.clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday 17:00 in Shanghai
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.set(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))  # Sunday: 51 h later, still not due
    assert (await sweep(bot)).escalations == 0
    bot.clock.set(datetime(2026, 12, 7, 10, 1, tzinfo=UTC))  # Monday 18:01: due
    assert (await sweep(bot)).escalations == 1
    assert (await bot.case(case.id)).escalation_level == 1


async def test_a_double_or_racing_sweep_takes_each_step_once(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    first = await sweep_case_timers(bot.services, bot.clock.now())
    second = await sweep_case_timers(bot.services, bot.clock.now())
    assert (first.escalations, second.escalations) == (1, 0)
    assert [e.action for e in await bot.events(case.id)].count("escalated") == 1


async def test_unrated_case_is_asked_again_after_a_day_then_closed(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    await sweep(bot, hours=23)
    assert keys(await bot.outbox(), f"rating:{case.id}") == []
    assert (await sweep(bot, hours=1, minutes=1)).rating_requests == 1
    [row] = [r for r in await bot.outbox() if r.dedupe_key.startswith(f"rating:{case.id}")]
    assert row.recipient == f"resident:{case.reporter_id}" and "评价" in row.text
    assert (await sweep(bot, days=1)).rating_requests == 0
    tally = await sweep(bot, days=6)
    assert tally.closed == 1
    closed = await bot.case(case.id)
    assert closed.status is CaseStatus.CLOSED and closed.rating is None
    assert (await bot.events(case.id))[-1].action == "auto_closed"


async def test_rated_case_is_not_asked_again(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    await bot.resident("R001", f"满意 {case.id}")
    assert (await bot.case(case.id)).rating is Rating.SATISFIED
    tally = await sweep(bot, days=8)
    assert (tally.rating_requests, tally.closed) == (0, 0)


async def test_daily_digest_counts_open_due_today_and_overdue(bot):
    first = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.advance(hours=1)
    second = await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group=GROUP)
    bot.clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))  # Tuesday 08:30: both accept deadlines are today
    assert await daily_digest(bot.services, date(2026, 12, 1), bot.clock.now()) >= 1
    [row] = [r for r in await bot.outbox("staff:W001") if r.dedupe_key.startswith("digest:")]
    assert row.dedupe_key.startswith("digest:2026-12-01:staff:")
    assert "未办结工单 2 件" in row.text and f"#{first.id}" in row.text and f"#{second.id}" in row.text
    assert "今日到期 2 件" in row.text and "已超时 0 件" in row.text
    await daily_digest(bot.services, date(2026, 12, 1), bot.clock.now())  # a second fire: still one row
    assert len([r for r in await bot.outbox("staff:W001") if r.dedupe_key.startswith("digest:")]) == 1
    bot.clock.set(datetime(2026, 12, 2, 0, 30, tzinfo=UTC))
    await daily_digest(bot.services, date(2026, 12, 2), bot.clock.now())
    latest = [r for r in await bot.outbox("staff:W001") if r.dedupe_key.startswith("digest:2026-12-02")]
    assert "已超时 2 件" in latest[0].text


async def test_weekly_broadcast_reaches_every_group_without_personal_data(bot):
    await bot.report("R001", "3号楼门口路灯坏了，我电话13709171001", group=GROUP)
    case = await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 已清理")
    await bot.resident("R001", f"满意 {case.id}")
    bot.clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # the next Monday 09:00
    tally = await weekly_broadcast(bot.services, "2026-W49", bot.clock.now())
    again = await weekly_broadcast(bot.services, "2026-W49", bot.clock.now())
    assert again.groups == tally.groups
    rows = await bot.outbox()
    groups = [r for r in rows if r.dedupe_key.startswith("weekly:2026-W49:group:")]
    assert len(groups) == tally.groups > 5
    ours = next(r for r in groups if r.chat_id == f"group:{GROUP}")
    assert "新受理 2 件，已办结 1 件，办结率 50%" in ours.text and "满意度 100%" in ours.text
    assert "路灯照明" in ours.text
    async with bot.services.sessions() as session:
        names = [n for n in (await session.scalars(select(Resident.display_name))).all()]
        names += [n for n in (await session.scalars(select(Staff.name))).all()]
    for row in groups:
        assert not PHONE.search(row.text), row.text
        assert not any(name in row.text for name in names), row.text
    leaders = [r for r in rows if r.dedupe_key.startswith("weekly:2026-W49:staff:")]
    assert leaders and all(r.extras["image"]["png_base64"].startswith("iVBORw0KGgo") for r in leaders)


async def test_wish_campaign_calls_every_group_once_a_year(bot):
    today = bot.clock.now().date()
    count = await announce_campaign(bot.services, 2027, today, bot.clock.now())
    assert count == await announce_campaign(bot.services, 2027, today, bot.clock.now())
    rows = [r for r in await bot.outbox() if r.dedupe_key.startswith("wishes:2027:group:")]
    assert len(rows) == count > 0 and all("微心愿征集" in r.text and "#微心愿" in r.text for r in rows)


def test_work_calendar_counts_working_days_and_hours_and_skips_holidays():
    calendar = WorkCalendar.from_settings(load_settings({}, holidays="2026-12-01"))
    assert not calendar.is_workday(date(2026, 12, 1)) and calendar.is_workday(date(2026, 12, 2))
    start = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00
    assert calendar.deadline(start, timedelta(hours=2)) == start + timedelta(hours=2)  # urgent: round the clock
    assert calendar.deadline(start, timedelta(hours=24)) == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # Wed 18:00
    # 13 working hours: Monday's 7, Tuesday off, Wednesday 09-12 and 14-17
    assert calendar.deadline(start, timedelta(hours=13)) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    late = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 22:00 counts as received on Wednesday
    assert calendar.deadline(late, timedelta(hours=24)) == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


async def test_a_case_reopened_after_its_rating_request_is_chased_again(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    assert (await sweep(bot, hours=25)).rating_requests == 1
    await bot.resident("R001", f"不满意 {case.id} 还是不亮")
    reopened = await bot.case(case.id)
    assert reopened.status is CaseStatus.REOPENED and reopened.sla_stage == 7
    bot.clock.advance(hours=33)  # Wednesday 19:00: one working day after the reopening, and an hour
    tally = await sweep(bot)
    assert tally.escalations == 1
    assert (await bot.case(case.id)).sla_stage == 12
    assert keys(await bot.outbox(), f"sla:{case.id}:12:")
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 换了新灯")
    tally = await sweep(bot, days=1, hours=1)
    assert tally.rating_requests == 1
    assert keys(await bot.outbox(), f"rating:{case.id}:followup:17")


async def test_digest_and_sweep_agree_on_a_reopened_case_s_deadline(bot):
    """Re-accepted after a 不满意 rating, the case is held to a resolution deadline counted from re-acceptance by
    both the digest's 已超时 and the SLA sweep (the digest used to count from filing)."""
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    assert (await sweep(bot, hours=25)).rating_requests == 1
    bot.clock.set(datetime(2026, 12, 4, 2, 0, tzinfo=UTC))  # Friday 10:00
    await bot.resident("R001", f"不满意 {case.id} 还是不亮")
    await bot.staff("W001", f"接单 {case.id}")
    await sweep(bot)
    calendar = WorkCalendar.from_settings(bot.services.settings)
    filed = await bot.case(case.id)
    span = filed.resolve_due_at - filed.created_at
    from_filing = calendar.deadline(filed.created_at, span)
    from_reacceptance = calendar.deadline(filed.accepted_at, span)
    assert from_filing < bot.clock.now() < from_reacceptance

    async def overdue_in_digest() -> str:
        day = bot.clock.now().astimezone(calendar.tz).date()
        await daily_digest(bot.services, day, bot.clock.now())
        [row] = [r for r in await bot.outbox("staff:W001") if r.dedupe_key.startswith(f"digest:{day}")]
        return re.search(r"已超时 (\d+) 件", row.text).group(1)

    bot.clock.set(from_reacceptance - timedelta(minutes=1))
    assert (await sweep(bot)).escalations == 0 and await overdue_in_digest() == "0"
    bot.clock.set(from_reacceptance + timedelta(days=1))
    assert (await sweep(bot)).escalations >= 1 and await overdue_in_digest() == "1"


async def test_weekly_report_links_to_the_community_public_page(database_url):
    bot = await Harness.start(database_url, public_url="https://gridbot.example.cn/")
    try:
        await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
        bot.clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
        await weekly_broadcast(bot.services, "2026-W49", bot.clock.now(), charts=False)
        ours = next(r for r in await bot.outbox() if r.dedupe_key.startswith("weekly:2026-W49:group:")
                    and r.chat_id == f"group:{GROUP}")
        community = bot.services.directory.ancestor_at(bot.services.directory.resolve(GROUP), UnitLevel.COMMUNITY)
        assert ours.text.endswith(f"详情：https://gridbot.example.cn/public/{community.code}")
    finally:
        await bot.close()
