"""Appointment jobs and the command line: reminders once across instances, day lists, roaming announcements, .ics."""

import io
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from bot.cli.appointments import print_day
from bot.jobs.scheduler import JobRunner
from tests.harness import Harness
from tests.test_cli import run


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def booked(bot: Harness) -> int:
    """R001 books 证明开具 on Tuesday 2026-12-01 at 10:00 (Shanghai); returns the case number."""
    await bot.resident("R001", "我想预约开证明")
    await bot.resident("R001", "明天上午10点")
    await bot.resident("R001", "1")
    answer = await bot.resident("R001", "确认")
    assert "预约成功" in answer and "10:00" in answer
    return (await bot.latest_case()).id


async def test_reminders_the_evening_before_and_an_hour_before_exactly_once(bot):
    case_id = await booked(bot)
    first, second = JobRunner(bot.services, instance="a"), JobRunner(bot.services, instance="b")
    evening = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 18:00 Shanghai
    await first.run_due(evening)
    await second.run_due(evening)
    await first.run_due(evening)
    reminders = [r for r in await bot.outbox() if r.dedupe_key.startswith(f"appt:{case_id}:eve")]
    assert len(reminders) == 1 and "明天有预约" in reminders[0].text and reminders[0].chat_id == "private:R001"
    hour = datetime(2026, 12, 1, 1, 10, tzinfo=UTC)  # 09:10 Shanghai, the slot is at 10:00
    await first.run_due(hour)
    await second.run_due(hour)
    await first.run_due(datetime(2026, 12, 1, 1, 20, tzinfo=UTC))
    soon = [r for r in await bot.outbox() if r.dedupe_key.startswith(f"appt:{case_id}:hour")]
    assert len(soon) == 1 and "10:00 开始" in soon[0].text


async def test_staff_day_list_each_morning_and_roaming_desk_announced_the_day_before(bot):
    await booked(bot)
    runner = JobRunner(bot.services, instance="a")
    await runner.run_due(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # Tuesday 07:30 Shanghai
    lists = [r for r in await bot.outbox() if r.dedupe_key.startswith("appt:day:2026-12-01")]
    assert len(lists) == 1 and "张桂兰（137****1001）" in lists[0].text and "13709171001" not in lists[0].text
    friday_evening = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # the desk visits 铁塔厂家属院 on Saturdays
    await runner.run_due(friday_evening)
    announced = [r for r in await bot.outbox() if r.dedupe_key.startswith("appt:roam:RD-JT:2026-12-05")]
    assert announced and all(r.chat_id == "group:JT-TTC-01" for r in announced)
    assert "姜谭街道流动办公桌" in announced[0].text and "#预约" in announced[0].text


async def test_day_list_command_masks_phones_and_writes_ics(bot, database_url, tmp_path):
    case_id = await booked(bot)
    out = io.StringIO()
    settings = bot.services.settings
    assert await print_day(settings, "ST-TTC", "2026-12-01", tmp_path / "ics", out) == 0
    text = out.getvalue()
    assert f"10:00-10:15 #{case_id} 证明开具 张桂兰（137****1001） 已预约" in text
    assert "13709171001" not in text
    event = Calendar.from_ical((tmp_path / "ics" / f"booking-{case_id}.ics").read_bytes()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_appointments_command_errors_are_one_line(tmp_path):
    result = run("appointments", "--station", "NOPE", "--date", "2026-12-08",
                 env={"GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "no station 'NOPE'" in result.stderr
    result = run("appointments", "--station", "ST-TTC", "--date", "下周二",
                 env={"GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2 and "--date" in result.stderr
