"""Issue 11: emergencies get the right number at once, the grid worker and the secretary hear of them at the same
moment, and their SLA runs in minutes round the clock."""

from datetime import timedelta

import pytest

from models import CaseStatus
from tests.harness import Harness

GROUP = "JT-TTC-01"  # 铁塔厂家属院: grid worker W001 李娟, community secretary S001 高建华


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def test_people_trapped_in_a_lift_get_the_number_and_everyone_hears_at_once(bot):
    bot.clock.advance(hours=14)  # 23:00 local: outside working hours
    answer = await bot.resident("老张", "2号楼电梯卡住了，里面关着个小孩，快来人", group=GROUP, mention=True)
    assert "96333" in answer and "已受理" in answer and "分钟内响应" in answer
    case = await bot.latest_case()
    assert case.priority > 0 and case.extras["emergency"] == "trapped_in_lift"
    assert case.accept_due_at - case.created_at == timedelta(minutes=10)
    told = {row.recipient for row in await bot.outbox() if "【紧急】" in row.text or row.recipient ==
            f"staff:{case.assignee.code}"}
    assert {"staff:W001", "staff:S001"} <= told
    answer = await bot.staff("W001" if case.assignee.code == "W001" else case.assignee.code, f"退回 {case.id}")
    assert (await bot.case(case.id)).status is not CaseStatus.RETURNED  # never without a reason


async def test_someone_missing_is_an_emergency_not_an_eight_hour_matter(bot):
    answer = await bot.resident("王阿姨", "#随手拍 秦机小区5号楼 家里老人早上出门到现在都找不到了")
    assert "110" in answer and "已受理" in answer
    case = await bot.latest_case()
    assert case.accept_due_at - case.created_at == timedelta(minutes=10)


async def test_an_emergency_overheard_in_a_group_gets_the_number_with_the_offer(bot):
    answer = await bot.resident("老张", "楼道里一股煤气味，呛得很", group=GROUP)
    assert "119" in answer and "登记" in answer


async def test_emergency_numbers_are_configured_per_district(database_url):
    bot = await Harness.start(database_url, emergency_numbers="gas:0917-3210000,lift:0917-96333")
    try:
        answer = await bot.resident("王阿姨", "秦机小区5号楼楼道里有股天然气味，好像漏气了")
        assert "0917-3210000" in answer
    finally:
        await bot.close()


async def test_hypotheticals_and_safety_notices_are_not_emergencies(bot):
    assert await bot.resident("物业", "转：消防知识，遇到火灾怎么逃生", group=GROUP) == ""
    answer = await bot.resident("小王", "#随手拍 秦机小区5号楼有人飞线充电，着火了怎么办")
    assert "119" not in answer and "请确认" in answer
