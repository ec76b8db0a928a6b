"""Booking through Telegram with buttons: slot choice, confirmation, cancel with a reason, the reminder sent."""

from datetime import UTC, datetime

from sqlalchemy import select

from bot.jobs.scheduler import JobRunner
from fakes.telegram_api import private_chat, user
from models import Booking, BookingStatus, CaseKind, CaseStatus
from tests.test_telegram import close_world, keyboard_labels, open_world

RESIDENT = user(8101, "孙阿姨")


async def test_book_by_buttons_get_reminded_and_cancel_with_a_reason(database_url):
    world = await open_world(database_url, "webhook")
    try:
        chat = private_chat(RESIDENT["id"], "孙阿姨")
        asked = await world.say(chat, RESIDENT, "#预约 办理残疾证")
        assert "您希望什么时间" not in asked[-1]["text"]  # a new resident has no community: choose a station
        assert "请选择办理地点" in asked[-1]["text"] and keyboard_labels(asked[-1])[:2] == ["1", "2"]
        asked = await world.press(RESIDENT, asked[-1], "1")
        assert "您希望什么时间" in asked[-1]["text"]
        offers = await world.say(chat, RESIDENT, "明天下午")
        assert "12月1日（周二）14:00" in offers[-1]["text"] and "1" in keyboard_labels(offers[-1])
        confirm = await world.press(RESIDENT, offers[-1], "1")
        assert "请确认预约" in confirm[-1]["text"] and keyboard_labels(confirm[-1]) == ["确认", "重新选择"]
        done = await world.press(RESIDENT, confirm[-1], "确认")
        assert "预约成功，编号 #1" in done[0]["text"] and "请携带" in done[-1]["text"]
        assert keyboard_labels(done[-1]) == ["取消预约", "改约"]
        [case] = await world.cases()
        assert case.kind is CaseKind.APPOINTMENT

        runner = JobRunner(world.runtime.services, instance="a")
        world.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # 18:00 the evening before
        await runner.run_due(world.clock.now())
        await world.deliver()
        reminder = world.fake.sent_to(RESIDENT["id"])[-1]
        assert "明天有预约 #1" in reminder["text"]

        question = await world.press(RESIDENT, done[-1], "取消预约")
        assert "原因" in question[-1]["text"] and keyboard_labels(question[-1]) == ["确认取消", "保留"]
        cancelled = await world.say(chat, RESIDENT, "腿疼去不了", reply_to=question[-1])
        assert "已取消预约 #1" in cancelled[-1]["text"]
        [case] = await world.cases()
        assert case.status is CaseStatus.CLOSED
        async with world.sessions() as session:
            booking = (await session.scalars(select(Booking))).one()
        assert booking.status is BookingStatus.CANCELLED and booking.reason == "腿疼去不了"
    finally:
        await close_world(world)
