"""Bad input gets a clear answer and loses nothing."""

import pytest
from sqlalchemy import func, select

from bot.pipeline.dispatcher import FAILURE_REPLY, Dispatcher, HandlerRouter
from bot.understanding.classifier import Intent
from models import InboundStatus, Resident
from tests.harness import Harness


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07\x1b", "\u200b\u200b"])
async def test_empty_private_message_gets_a_clear_answer(bot, text):
    answer = await bot.resident("空白", text)
    assert "没有收到文字" in answer


async def test_empty_group_message_is_silent(bot):
    assert await bot.resident("空白", "   ", group="JT-TTC-01") == ""


async def test_very_long_text_is_cut_with_a_notice_and_kept_whole_in_the_ledger(bot):
    text = "3号楼门口路灯坏了。" + "真的很黑" * 2500
    answer = await bot.resident("R001", "#随手拍 " + text, group="JT-TTC-01")
    assert "消息过长" in answer and "2000" in answer
    [row] = await bot.inbound_rows()
    assert len(row.text) == len("#随手拍 " + text)
    await bot.resident("R001", "确认", group="JT-TTC-01")
    case = await bot.latest_case()
    assert len(case.text) <= 2000


async def test_control_characters_are_dropped(bot):
    answer = await bot.resident("R002", "发电厂生活区5号楼\x00电梯\x1b坏了")
    assert "\x00" not in answer and "\x1b" not in answer and "电梯坏了" in answer


async def test_emoji_only_message_is_answered_not_filed(bot):
    answer = await bot.resident("表情", "😂😂👍")
    assert "没太明白" in answer or "帮助" in answer
    assert await bot.cases() == []


async def test_html_is_stored_verbatim_and_never_interpreted(bot):
    script = "<script>alert('x')</script>"
    answer = await bot.resident("R002", f"发电厂生活区5号楼电梯坏了 {script}")
    assert script in answer  # plain text back to a chat client, exactly as typed
    await bot.resident("R002", "确认")
    case = await bot.latest_case()
    assert script in case.text


async def test_cancel_files_nothing(bot):
    await bot.resident("R002", "发电厂生活区5号楼电梯坏了")
    assert "已取消" in await bot.resident("R002", "取消")
    assert await bot.cases() == []
    assert "没有进行中" in await bot.resident("R002", "取消")


async def test_unknown_case_number_in_status(bot):
    assert "没有找到" in await bot.resident("R002", "查询 123456789")


async def test_every_message_is_in_the_ledger(bot):
    await bot.resident("R002", "帮助")
    await bot.resident("R002", "😂")
    assert [row.status for row in await bot.inbound_rows()] == [InboundStatus.HANDLED, InboundStatus.HANDLED]


async def test_a_failing_handler_loses_nothing(bot):
    """A bug in a handler: the resident is told, the message stays in the ledger, no half-written case."""
    router = HandlerRouter("broken")

    @router.intent(Intent.CHATTER, Intent.REPORT)
    async def explode(ctx):
        await bot_files_half_a_case(ctx)
        raise RuntimeError("handler bug")

    async def bot_files_half_a_case(ctx):
        ctx.session.add(Resident(display_name="半截", created_at=ctx.now))
        await ctx.session.flush()

    broken = Dispatcher(bot.services, router)
    replies = await broken.handle(bot.inbound("R002", "发电厂生活区5号楼电梯坏了"))
    assert [r.text for r in replies] == [FAILURE_REPLY]
    [row] = await bot.inbound_rows()
    assert row.status is InboundStatus.FAILED and row.text == "发电厂生活区5号楼电梯坏了" and "handler bug" in row.error
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident).where(
            Resident.display_name == "半截")) == 0
