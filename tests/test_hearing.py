"""Issue 11: residents are heard where they talk — reports in group chatter, triggers as typed."""

import pytest
from sqlalchemy import select

from models import InboundMessage, InboundStatus
from tests.harness import Harness
from tests.plans import statement_plan

GROUP = "JT-TTC-01"  # 铁塔厂家属院居民群, grid worker W001 李娟


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def ledger(bot: Harness) -> list[InboundMessage]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(InboundMessage).order_by(InboundMessage.id))).all())


async def test_a_report_in_group_chatter_gets_one_offer_and_can_be_filed(bot):
    answer = await bot.resident("老张", "6号楼电梯又停了，我妈上不去楼，谁来管管", group=GROUP)
    assert "登记" in answer and "不用" in answer
    [row] = await ledger(bot)
    assert row.status is InboundStatus.OFFERED and row.text  # kept while the offer stands
    answer = await bot.resident("老张", "登记", group=GROUP)
    assert "请确认" in answer and "6号楼" in answer and "电梯" in answer
    answer = await bot.resident("老张", "确认", group=GROUP)
    assert "已受理" in answer
    case = await bot.latest_case()
    assert case.text.startswith("6号楼电梯又停了") and case.assignee is not None
    assert (await ledger(bot))[0].status is InboundStatus.HANDLED


async def test_chatter_and_bare_topics_get_no_offer(bot):
    for text in ["电梯今天好干净啊", "有人明天拼车去西安吗", "谁捡到一串钥匙，上面有个小熊", "听说隔壁小区停水了",
                 "谢谢师傅，路灯已经修好了"]:
        assert await bot.resident("邻居", text, group=GROUP) == "", text
    assert all(r.status is InboundStatus.IGNORED and r.text is None for r in await ledger(bot))


async def test_topics_notices_sales_and_denied_faults_get_no_offer_but_problem_phrases_do(bot):
    quiet = ["今晚有人一起打车去万达吗", "书法班开课了，每周三下午两点", "闲置跑步机低价出，自提",
             "明天几点停电啊", "我家的灯没坏，是跳闸了", "狗狗打完疫苗了"]
    for n, text in enumerate(quiet):
        assert await bot.resident(f"邻居{n}", text, group=GROUP) == "", text
    heard = ["小区围墙倒了一截", "楼上空调水滴到我家窗台上一晚上", "低保被取消了，也没人通知",
             "有车停在消防通道上好几天了"]
    for n, text in enumerate(heard):
        assert "登记" in await bot.resident(f"居民{n}", text, group=GROUP), text


async def test_one_offer_per_sender_per_window_and_a_declined_offer_drops_the_words(bot):
    assert "登记" in await bot.resident("老张", "楼下下水道堵了，脏水漫了一地", group=GROUP)
    assert "不打扰" in await bot.resident("老张", "不用", group=GROUP)
    assert await bot.resident("老张", "2号楼路灯坏了好几天了", group=GROUP) == ""  # within the window
    rows = await ledger(bot)
    assert rows[0].status is InboundStatus.OFFERED and rows[0].text is None
    assert rows[-1].status is InboundStatus.IGNORED and rows[-1].text is None
    assert "登记" in await bot.resident("王姐", "2号楼路灯坏了好几天了", group=GROUP)  # another sender
    bot.clock.advance(hours=3)
    assert "登记" in await bot.resident("老张", "5号楼门口垃圾好几天没人清了", group=GROUP)


async def test_an_offer_nobody_takes_lapses_and_its_words_are_dropped(bot):
    from datetime import timedelta

    from bot.pipeline.offers import lapse_offers  # the SLA sweep's beat runs this

    assert "登记" in await bot.resident("老张", "楼道里有人飞线充电，太危险了", group=GROUP)
    assert await lapse_offers(bot.services.sessions, bot.clock.now(), timedelta(minutes=30)) == 0
    bot.clock.advance(minutes=31)
    assert await lapse_offers(bot.services.sessions, bot.clock.now(), timedelta(minutes=30)) == 1
    assert (await ledger(bot))[0].text is None
    assert await bot.resident("老张", "登记", group=GROUP) == ""  # the offer is gone: plain chatter again


@pytest.mark.parametrize("typed", ["＃随手拍 3号楼门口路灯坏了", "# 随手拍 3号楼门口路灯坏了", "#随手拍：3号楼门口路灯坏了",
                                   "＃随手拍：3号楼门口路灯坏了", "＃＃随手拍 3号楼门口路灯坏了", "#随手拍# 3号楼门口路灯坏了"])
async def test_hashtags_as_input_methods_type_them(bot, typed):
    answer = await bot.resident("老张", typed, group=GROUP)
    assert "请确认" in answer and "内容：3号楼门口路灯坏了" in answer
    answer = await bot.resident("小王", typed.replace("3号楼", "秦机小区3号楼"))
    assert "内容：秦机小区3号楼门口路灯坏了" in answer


async def test_a_hashtag_with_nothing_after_it_asks_for_the_description(bot):
    for typed in ["＃＃随手拍", "#随手拍#", "#随手拍："]:
        assert "请描述您要反映的问题" in await bot.resident("小王", typed), typed
        await bot.resident("小王", "取消")
    # A description that names no category is not asked "which kind" with 其他 as the only choice.
    answer = await bot.resident("小王", "#随手拍 秦机小区5号楼那个东西又出问题了")
    assert "属于哪一类" not in answer and "请确认" in answer
    await bot.resident("小王", "取消")
    # Asked the kind, words that say more are read again rather than refused.
    answer = await bot.resident("小李", "#随手拍 秦机小区5号楼墙上")
    assert "属于哪一类" in answer and "路灯照明" not in answer
    answer = await bot.resident("小李", "就是楼道里的灯，晚上黑乎乎的")
    assert "请回复 1 到" not in answer and "路灯照明" in answer
    assert "内容：秦机小区5号楼墙上，就是楼道里的灯，晚上黑乎乎的" in await bot.resident("小李", "1")


async def test_every_hashtag_in_the_rules_file_is_stripped(bot):
    answer = await bot.resident("小王", "#心愿 希望秦机小区5号楼楼下放几把长椅")
    assert "内容：希望秦机小区5号楼楼下放几把长椅" in answer and "#心愿" not in answer


async def test_what_the_bot_tells_residents_to_type_works_in_the_group(bot):
    await bot.report("老张", "3号楼门口路灯坏了", group=GROUP)
    assert "#1" in await bot.resident("老张", "我的诉求", group=GROUP)
    assert "#1" in await bot.resident("老张", "查询 1", group=GROUP)
    assert "#随手拍" in await bot.resident("老张", "帮助", group=GROUP)


async def test_a_cut_utf8_character_is_kept_and_answered_never_a_failure(bot):
    """A cut character read with surrogateescape (what stdin gives for invalid UTF-8) reaches the ledger as U+FFFD."""
    answer = await bot.resident("小王", "秦机小区5号楼路灯坏了\udce5\udc95")
    assert "请确认" in answer and "系统暂时出错" not in answer
    [row] = await ledger(bot)
    assert row.status is InboundStatus.HANDLED and row.text.endswith("\ufffd\ufffd")


def test_console_chat_survives_invalid_utf8(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "run.py"), "chat"], input="小区路灯坏了".encode() + b"\xe5\x95\n",
        capture_output=True, cwd=root, timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"})
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr and "哪个小区".encode() in result.stdout


async def test_a_private_message_that_may_be_a_problem_is_offered_to_be_filed(bot):
    answer = await bot.resident("小王", "外面那个灯不行了")
    assert "帮您登记" in answer and "路灯" in answer and "取消" in answer
    answer = await bot.resident("小李", "今天天气不错")
    assert "没太明白" in answer and "人工" in answer  # no dead end: the resident is told what else works


async def test_thanks_and_asking_for_a_person(bot):
    assert "不客气" in await bot.resident("R001", "谢谢")
    answer = await bot.resident("R001", "人工")
    assert "会尽快联系您" in answer
    worker = answer.split("已转告")[1].split("，")[0]
    [notice] = [row for row in await bot.outbox() if "请求人工联系" in row.text]
    assert notice.recipient.startswith("staff:") and worker[-2:] in worker
    answer = await bot.resident("小李", "找人 秦机小区 家里水表的事想问问")
    assert "会尽快联系您" in answer
    assert any("家里水表的事想问问" in row.text for row in await bot.outbox())
    answer = await bot.resident("小李", "秦机小区的网格员电话多少")
    assert "网格员是" in answer and "人工" in answer
    answer = await bot.resident("小赵", "请问一下，秦机小区网格员的联系方式是多少呀")
    assert "网格员是" in answer


async def test_asides_in_the_middle_of_a_report_are_answered_and_the_question_kept(bot):
    assert "哪个小区" in await bot.resident("新来的", "#随手拍 路灯坏了，黑乎乎的")  # no home: asked where
    for aside, answered in [("谢谢", "不客气"), ("我的诉求", "还没有提交过诉求"), ("人工", "住在哪个小区")]:
        answer = await bot.resident("新来的", aside)
        assert answered in answer and "还没办完" in answer and "没有找到" not in answer, aside
    answer = await bot.resident("新来的", "查询 7")
    assert "没有找到您的诉求 #7" in answer and "还没办完" in answer
    answer = await bot.resident("新来的", "铁塔厂家属院3号楼")
    assert "地点：铁塔厂家属院3号楼" in answer and "内容：路灯坏了，黑乎乎的" in answer
    answer = await bot.resident("新来的", "铁塔厂家属院的网格员电话多少？")  # at the confirmation
    assert "网格员是" in answer and "还没办完" in answer
    assert (await bot.resident("新来的", "确认")).startswith("已受理")
    # A report that mentions the worker's phone is a report, not the question; no dialogue open, no reminder.
    answer = await bot.resident("小王", "#随手拍 网格员电话打不通，秦机小区3号楼路灯坏了好几天")
    assert "网格员是" not in answer and "路灯" in answer and "还没办完" not in answer
    assert "还没办完" not in await bot.resident("小李", "谢谢")


async def test_staff_write_case_numbers_as_they_like(bot):
    await bot.report("老张", "3号楼门口路灯坏了", group=GROUP)
    assert "已接单" in await bot.staff("W001", "接单 1号")
    assert "已办结" in await bot.staff("W001", "办结 1号 已修好")
    assert (await bot.case(1)).status.value == "resolved"


async def test_the_one_offer_window_reads_the_ledger_by_its_offered_index(engine):
    """The ledger keeps a row for every message a group carried: the offer window must not scan them all."""
    from datetime import datetime

    from bot.pipeline.offers import OFFERED_SINCE_QUERY

    plan = await statement_plan(engine, OFFERED_SINCE_QUERY, {"channel": "telegram", "chat_id": "-100", "sender_id": "42",
                                                        "since": datetime(2026, 1, 1)})
    assert "ix_inbound_message_offered" in plan, plan
