"""Appointments end to end through the console: book by natural time, confirm, cancel, reschedule, waiting list."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.appointments.seats import slot_id, take_seat
from bot.jobs.scheduler import JobRunner
from models import Booking, BookingStatus, CaseKind, CaseStatus, SlotSeats
from tests.harness import Harness

# The harness starts on Monday 2026-11-30 09:00 in Asia/Shanghai. R001 张桂兰 lives in 市铁塔厂社区 (station ST-TTC).


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def bookings(bot: Harness) -> list[Booking]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(Booking).order_by(Booking.id))).all())


async def book(bot: Harness, who: str, service_words: str, when: str, pick: str = "1") -> str:
    await bot.resident(who, service_words)
    offers = await bot.resident(who, when)
    assert "回复数字" in offers, offers
    confirm = await bot.resident(who, pick)
    assert "请确认" in confirm, confirm
    return await bot.resident(who, "确认")


async def test_natural_time_books_a_real_slot_and_status_shows_it(bot):
    answer = await bot.resident("R001", "我想预约办理残疾证")
    assert "残疾人服务" in answer and "市铁塔厂社区党群服务站" in answer
    offers = await bot.resident("R001", "下周二下午")
    assert "12月8日（周二）14:00" in offers and "1." in offers
    confirm = await bot.resident("R001", "1")
    assert "请携带" in confirm and "身份证原件" in confirm
    done = await bot.resident("R001", "确认")
    assert "预约成功，编号 #1" in done and "12月8日（周二）14:00-14:30" in done
    assert "取消预约 1" in done and "改约 1" in done
    case = await bot.case(1)
    assert case.kind is CaseKind.APPOINTMENT and case.extras["appointment"]["station"] == "ST-TTC"
    assert case.assignee is not None  # community staff serve it
    [booking] = await bookings(bot)
    assert booking.status is BookingStatus.BOOKED
    shown = await bot.resident("R001", "查询 1")
    assert "预约时段：12月8日（周二）14:00-14:30" in shown


async def test_nonsense_time_gets_the_free_slots_not_a_booking(bot):
    await bot.resident("R001", "#预约 医保报销")
    answer = await bot.resident("R001", "随便")
    assert "没能识别您说的时间" in answer and "1." in answer
    assert await bookings(bot) == [] and await bot.cases() == []


async def test_cancel_asks_a_reason_and_frees_the_seat(bot):
    await book(bot, "R001", "我想预约法律咨询", "12月8日上午")
    question = await bot.resident("R001", "取消预约 1")
    assert "原因" in question
    answer = await bot.resident("R001", "临时有事")
    assert "已取消预约 #1" in answer
    case = await bot.case(1)
    assert case.status is CaseStatus.CLOSED
    [booking] = await bookings(bot)
    assert booking.status is BookingStatus.CANCELLED and booking.reason == "临时有事"
    async with bot.services.sessions() as session:
        seats = (await session.scalars(select(SlotSeats))).one()
    assert seats.taken == 0
    assert "没有找到预约 #1" in await bot.resident("R002", "取消预约 1")  # not theirs


async def test_my_bookings_and_cancel_or_move_without_a_number(bot):
    assert "没有待办的预约" in await bot.resident("R001", "我的预约")
    await book(bot, "R001", "我想预约法律咨询", "12月8日上午")
    listed = await bot.resident("R001", "我的预约")  # not a new booking
    assert "#1 法律咨询" in listed and "12月8日" in listed and "请问要预约哪项服务" not in listed
    question = await bot.resident("R001", "取消预约")  # the one booking: asked, never cancelled unasked
    assert "确定取消预约 #1" in question
    assert "保留不变" in await bot.resident("R001", "保留")
    await book(bot, "R001", "我想预约开证明", "明天上午")
    answer = await bot.resident("R001", "改约")  # two: which one
    assert "2 个预约" in answer and "#1" in answer and "#2" in answer and "改约 编号" in answer
    assert [b.status for b in await bookings(bot)] == [BookingStatus.BOOKED, BookingStatus.BOOKED]
    # In the middle of a booking dialogue a bare 取消预约 abandons the dialogue, not a booking.
    await bot.resident("R001", "#预约")
    assert "已取消" in await bot.resident("R001", "取消预约")
    assert [b.status for b in await bookings(bot)] == [BookingStatus.BOOKED, BookingStatus.BOOKED]


async def test_reschedule_moves_the_seat(bot):
    await book(bot, "R001", "我想预约开证明", "明天上午")
    await bot.resident("R001", "改约 1")
    await bot.resident("R001", "后天下午3点")
    await bot.resident("R001", "1")
    answer = await bot.resident("R001", "确认")
    assert "改约成功，编号 #1" in answer and "12月2日（周三）15:00" in answer
    async with bot.services.sessions() as session:
        counts = {s.starts_at: s.taken for s in (await session.scalars(select(SlotSeats))).all()}
    assert counts[datetime(2026, 12, 2, 7, 0, tzinfo=UTC)] == 1 and sorted(counts.values()) == [0, 1]


async def test_full_slot_puts_resident_on_the_waiting_list_and_a_cancellation_offers_it(bot):
    await book(bot, "R001", "我想预约法律咨询", "12月8日上午9点")  # legal aid: one seat per slot
    await bot.resident("R002", "我想预约法律咨询")
    offers = await bot.resident("R002", "12月8日上午9点")
    # R002 lives in 市发电厂社区: their own station; switch to R001's to meet the full slot
    assert "回复数字" in offers
    await bot.resident("R002", "换地点")
    await bot.resident("R002", "1")
    full = await bot.resident("R002", "12月8日9点")
    assert "已约满" in full
    queued = await bot.resident("R002", "1")
    assert "候补" in queued and "第 1 位" in queued
    await bot.resident("R001", "取消预约 1 不需要了")
    [offer] = [row for row in await bot.outbox() if "候补" in row.text and "有空位" in row.text]
    assert offer.chat_id == "private:R002"
    payload = offer.extras["buttons"][0][1]
    taken = await bot.resident("R002", payload)
    assert "预约成功" in taken
    async with bot.services.sessions() as session:
        seats = (await session.scalars(select(SlotSeats).where(SlotSeats.taken > 0))).one()
    assert (seats.taken, seats.held) == (1, 0)


async def test_two_residents_taking_the_last_seat_at_once_one_wins(bot):
    # legal aid has one seat per slot: both pick the same slot, then confirm at the same moment
    for who in ("R001", "R007"):
        await bot.resident(who, "我想预约法律咨询")
        await bot.resident(who, "12月8日上午9点")
        assert "请确认" in await bot.resident(who, "1")
    answers = await asyncio.gather(bot.resident("R001", "确认"), bot.resident("R007", "确认"))
    assert sum("预约成功" in a for a in answers) == 1, answers
    assert sum("刚刚被约满" in a for a in answers) == 1, answers
    assert len(await bookings(bot)) == 1 and len(await bot.cases()) == 1
    async with bot.services.sessions() as session:
        assert [(s.taken, s.capacity) for s in (await session.scalars(select(SlotSeats))).all()] == [(1, 1)]


async def test_many_concurrent_takers_never_overbook(bot):
    slot = next(bot.services.network.bookable(bot.services.network.station("ST-TTC"), "certificates",
                                              bot.clock.now(), bot.services.calendar, bot.services.settings.tz))

    async def take() -> bool:
        async with bot.services.sessions.begin() as session:
            return await take_seat(session, await slot_id(session, slot))

    results = await asyncio.gather(*(take() for _ in range(12)))
    assert sum(results) == slot.capacity == 3


async def test_staff_book_for_a_walk_in_and_mark_no_shows(bot):
    answer = await bot.staff("C001", "代约 赵大爷 13912345678")
    assert "139****5678" in answer and "13912345678" not in answer
    await bot.staff("C001", "5")  # 证明开具
    await bot.staff("C001", "明天上午10点")
    await bot.staff("C001", "1")
    done = await bot.staff("C001", "确认")
    assert "预约成功，编号 #1" in done
    case = await bot.case(1)
    assert case.reporter.display_name == "赵大爷" and case.extras["appointment"]["station"] == "ST-TTC"
    assert "登记爽约" in await bot.staff("C001", "爽约 1")
    assert "无权" in await bot.staff("C003", "到场 1") or "不能再" in await bot.staff("C003", "到场 1")
    await bot.staff("C001", "代约 赵大爷 13912345678")
    await bot.staff("C001", "5")
    await bot.staff("C001", "后天上午")
    await bot.staff("C001", "1")
    await bot.staff("C001", "确认")
    flagged = await bot.staff("C001", "爽约 2")
    assert "累计爽约 2 次" in flagged
    assert "累计爽约 2 次" in await bot.staff("C001", "代约 13912345678")
    listing = await bot.staff("C001", "预约名单 后天")
    assert "赵大爷（139****5678）" in listing and "爽约" in listing
    assert (await bot.case(2)).status is CaseStatus.CLOSED


async def test_the_same_slot_twice_is_refused_and_writes_nothing(bot):
    await book(bot, "R001", "#预约 开证明", "12月8日10点")
    await bot.resident("R001", "#预约 开证明")
    await bot.resident("R001", "12月8日10点")
    await bot.resident("R001", "1")
    assert "无需重复预约" in await bot.resident("R001", "确认")
    assert len(await bookings(bot)) == 1 and len(await bot.cases()) == 1


async def test_a_group_booking_uses_the_groups_community_station(bot):
    answer = await bot.resident("新邻居", "#预约 养老金认证", group="JT-QINJ-01")
    assert "秦机社区党群服务站" in answer
    assert "回复数字" in await bot.resident("新邻居", "后天上午", group="JT-QINJ-01")
    await bot.resident("新邻居", "1", group="JT-QINJ-01")
    assert "预约成功" in await bot.resident("新邻居", "确认", group="JT-QINJ-01")
    assert await bot.resident("路人", "1", group="JT-QINJ-01") == ""  # chatter after it is not taken as a choice


async def test_an_offer_nobody_takes_up_passes_to_the_next_in_line(bot):
    await book(bot, "R001", "我想预约法律咨询", "12月8日上午9点")  # one seat per slot
    for who in ("R005", "R006"):
        await bot.resident(who, "我想预约法律咨询")
        await bot.resident(who, "换地点")
        await bot.resident(who, "1")  # 市铁塔厂社区党群服务站
        assert "已约满" in await bot.resident(who, "12月8日9点")
        assert "候补" in await bot.resident(who, "1")
    await bot.resident("R001", "取消预约 1 有事")
    offers = [row for row in await bot.outbox() if "有空位" in row.text]
    assert [row.chat_id for row in offers] == ["private:R005"]
    bot.clock.advance(hours=2, minutes=10)
    await JobRunner(bot.services, instance="a").run_due(bot.clock.now())
    offers = [row for row in await bot.outbox() if "有空位" in row.text]
    assert [row.chat_id for row in offers] == ["private:R005", "private:R006"]
    late = offers[0].extras["buttons"][0][1]
    assert "保留时间已过" in await bot.resident("R005", late)
    assert "预约成功" in await bot.resident("R006", offers[1].extras["buttons"][0][1])
    async with bot.services.sessions() as session:
        seats = (await session.scalars(select(SlotSeats).where(SlotSeats.capacity == 1))).all()
    assert [(s.taken, s.held) for s in seats] == [(1, 0)]


async def test_a_time_said_before_the_service_is_known_is_kept_and_an_elder_card_is_an_elder_service(bot):
    menu = await bot.resident("R001", "想约个时间周四下午去社区办点事")
    assert "回复数字" in menu and "证明开具" in menu, menu
    offers = await bot.resident("R001", "5")  # 证明开具: the time said first is not asked again
    assert "为您找到以下时段" in offers and "12月3日（周四）14:" in offers, offers
    answer = await bot.resident("R002", "我想预约办老年优待证")
    assert "养老服务" in answer, answer


async def test_a_new_report_or_wish_typed_at_a_bookings_list_puts_the_booking_down_and_is_taken_in(bot):
    stations = await bot.resident("小赵", "我想预约办理残疾证")  # no home: the stations are listed
    assert "请选择办理地点" in stations, stations
    answer = await bot.resident("小赵", "楼道灯坏了好几天了 黑咕隆咚的 老人上下楼害怕")
    assert "「残疾人服务」还没选完，已先放下" in answer and "哪个小区" in answer, answer
    assert "请回复列表中的数字" not in answer
    await bot.resident("R001", "我想预约办理残疾证")  # R001's home station: the time is asked
    answer = await bot.resident("R001", "我想给楼下独居的王奶奶许个微心愿 她想要个助听器")
    assert "已先放下" in answer and "心愿" in answer, answer
    assert await bookings(bot) == []
    still = await bot.resident("R002", "我想预约办理残疾证")
    assert "什么时间" in still, still
    assert "回复数字" in await bot.resident("R002", "随便吧")  # not a new matter: the free slots, the booking kept
