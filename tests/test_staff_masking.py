"""Phone numbers a resident types into a report are masked in everything staff are shown in chat (issue 10, 12)."""

import pytest

from tests.harness import Harness

GROUP = "JT-TTC-01"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def test_a_phone_in_the_report_text_is_masked_in_the_workers_notice_and_case_detail(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了，电话13812345678", group=GROUP)
    assert "13812345678" in case.text  # the case keeps the resident's words
    notices = [r for r in await bot.outbox("staff:W001") if r.case_id == case.id]
    assert notices and all("13812345678" not in r.text for r in notices)
    assert "电话138****5678" in notices[0].text
    detail = await bot.staff("W001", f"查看 {case.id}")
    assert "电话138****5678" in detail and "13812345678" not in detail


async def test_a_phone_in_a_duplicate_and_a_dissatisfied_comment_is_masked_for_the_worker(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.resident("刘大妈", "#随手拍 3号楼门口那个路灯晚上不亮，联系我13912345678", group=GROUP)
    await bot.resident("刘大妈", "确认", group=GROUP)
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    assert "哪里没有解决好" in await bot.resident("R001", "不满意")
    await bot.resident("R001", "灯还是不亮，打我电话13612345678")
    shown = "\n".join(r.text for r in await bot.outbox("staff:W001"))
    shown += await bot.staff("W001", f"查看 {case.id}")
    assert "139****5678" in shown and "136****5678" in shown
    assert "13912345678" not in shown and "13612345678" not in shown
    resident_side = "\n".join(r.text for r in await bot.outbox("resident:1"))
    assert "13612345678" not in resident_side


async def test_a_phone_the_resident_typed_is_masked_in_what_the_bot_shows_them_in_private_too(bot):
    confirm = await bot.resident("R001", "#随手拍 3号楼门口路灯坏了 有事打我13812345678")
    assert "138****5678" in confirm and "13812345678" not in confirm, confirm
    await bot.resident("R001", "确认")
    case = await bot.latest_case()
    detail = await bot.resident("R001", f"查询 {case.id}")
    assert "138****5678" in detail and "13812345678" not in detail, detail
    wish = await bot.resident("R001", "#微心愿 想要个助听器 我耳朵背 联系我13912345678")
    assert "139****5678" in wish and "13912345678" not in wish, wish
