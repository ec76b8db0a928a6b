"""Issue 11: the case as a conversation (查询 with notes, 补充, 回复, 催办, which case to rate, changing a rating) and
the staff points (whose case it is, real refusals, staff help, a transfer's reason), through the console channel."""

import pytest

from models import CaseStatus, EventKind, Rating
from tests.harness import Harness

GROUP = "JT-TTC-01"  # 铁塔厂家属院, grid worker W001 李娟, secretary S001 高建华, street officer O001


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def working_case(bot: Harness, text: str = "3号楼门口路灯坏了"):
    case = await bot.report("R001", text)
    await bot.staff("W001", f"接单 {case.id}")
    return case


async def test_status_shows_the_progress_note_with_private_phones_masked(bot):
    case = await working_case(bot)
    await bot.staff("W001", f"进展 {case.id} 电工明天上午来修，有事打我电话13891701001，楼长13891704002也知道")
    answer = await bot.resident("R001", f"查询 {case.id}")
    assert "有新进展：电工明天上午来修" in answer
    assert "13891701001" in answer  # a grid worker's number is public (StaffRole.phone_is_public)
    assert "13891704002" not in answer and "138****4002" in answer  # a building lead's is not
    notice = [r for r in await bot.outbox("resident:1") if "处理进展" in r.text][-1]
    assert "138****4002" in notice.text and "补充" in notice.text


async def test_supplement_and_reply_go_into_the_case_and_to_the_assignee(bot):
    case = await working_case(bot)
    answer = await bot.resident("R001", f"补充 {case.id} 晚上七点以后家里有人", photos=1)
    assert f"已补充到 #{case.id}" in answer and "李娟" in answer
    answer = await bot.resident("R001", f"回复 {case.id} 好的，明天上午在家")
    assert "已补充" in answer
    events = await bot.events(case.id)
    assert [e.action for e in events][-2:] == [EventKind.SUPPLEMENT, EventKind.RESIDENT_REPLY]
    assert len((await bot.case(case.id)).media) == 1
    to_worker = [r.text for r in await bot.outbox("staff:W001")]
    assert any("【居民补充】" in t and "七点以后" in t for t in to_worker)
    assert any("【居民回复】" in t and "明天上午在家" in t for t in to_worker)
    assert "没有找到" in await bot.resident("R002", f"补充 {case.id} 不是我的")
    assert "补充" in await bot.resident("R001", "补充")  # asks for the words (one open case)


async def test_a_reply_quoting_a_case_notice_goes_into_that_case(bot):
    case = await working_case(bot)
    notice = [r for r in await bot.outbox("resident:1") if r.case_id == case.id][-1]
    async with bot.services.sessions.begin() as session:  # what a platform sender records when it sends
        row = await session.get(type(notice), notice.id)
        row.platform_message_id = "555"
    assert notice.chat_id == "private:R001"
    other = bot.inbound("R001", "师傅下午几点来？", name="R001", extras={"reply_to": "554"})
    assert "已补充" not in "\n".join(r.text for r in await bot.send(other))  # not a notice of theirs
    reply = bot.inbound("R001", "师傅下午几点来？", name="R001", extras={"reply_to": "555"})
    answer = "\n".join(r.text for r in await bot.send(reply))
    assert f"已补充到 #{case.id}" in answer
    assert (await bot.events(case.id))[-1].action is EventKind.RESIDENT_REPLY


async def test_urging_tells_the_assignee_then_climbs_the_grid_with_a_minimum_interval(bot):
    case = await working_case(bot)
    assert "已催办" in await bot.resident("R001", f"催办 {case.id}")
    assert "催办过" in await bot.resident("R001", f"催办 {case.id}")  # spamming does nothing more
    urges = [e for e in await bot.events(case.id) if e.action is EventKind.URGE]
    assert len(urges) == 1 and len([r for r in await bot.outbox("staff:W001") if "居民催办" in r.text]) == 1
    assert not [r for r in await bot.outbox("staff:S001") if "催办" in r.text]
    bot.clock.advance(hours=bot.services.settings.urge_interval_hours + 1)
    assert "社区书记高建华" in await bot.resident("R001", f"催办 {case.id} 都三天了")
    assert any("催办督办·第1级" in r.text for r in await bot.outbox("staff:S001"))
    bot.clock.advance(hours=bot.services.settings.urge_interval_hours + 1)
    answer = await bot.resident("R001", "催办")  # the one open case
    assert "第3次" in answer and "街道干部" in answer
    assert (await bot.case(case.id)).escalation_level == 2
    assert [e.action for e in await bot.events(case.id)].count(EventKind.ESCALATED) == 2


async def test_which_case_to_rate_and_changing_a_rating_within_the_window(bot):
    first = await working_case(bot)
    second = await working_case(bot, "5号楼楼道里垃圾没人清")
    for case in (first, second):
        await bot.staff("W001", f"办结 {case.id} 已处理")
    answer = await bot.resident("R001", "满意")
    assert "给哪一件" in answer and f"#{first.id}" in answer and f"#{second.id}" in answer
    assert (await bot.case(second.id)).rating is None  # nothing rated without asking
    assert "已关闭" in await bot.resident("R001", str(first.id))
    assert (await bot.case(first.id)).rating is Rating.SATISFIED
    answer = await bot.resident("R001", f"不满意 {first.id} 灯又不亮了")
    assert "改为「不满意」" in answer and "重新打开" in answer
    reopened = await bot.case(first.id)
    assert reopened.status is CaseStatus.REOPENED and reopened.rating is Rating.DISSATISFIED
    assert (await bot.events(first.id))[-1].action is EventKind.RATING_CHANGED
    assert "感谢您的评价" in await bot.resident("R001", f"基本满意 {second.id}")
    bot.clock.advance(hours=bot.services.settings.rating_change_hours + 1)
    assert "现在不能再改" in await bot.resident("R001", f"不满意 {second.id} 其实没修好")


async def test_staff_act_only_on_their_own_cases_and_hear_the_real_reason(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了")  # assigned to W001
    await bot.staff("W001", f"转派 {case.id} W002 不是我的网格")
    notice = [r.text for r in await bot.outbox("staff:W002")][-1]
    assert "原因：不是我的网格" in notice  # the transfer's reason reaches the new assignee
    answer = await bot.staff("W001", f"接单 {case.id}")
    assert "已派给网格员杨帆" in answer and "社区书记" in answer
    assert "无权退回" in await bot.staff("W001", f"退回 {case.id} 不归我")
    answer = await bot.staff("W002", f"不予受理 {case.id} 重复")
    assert "网格员无权不予受理" in answer and f"退回 {case.id}" in answer
    answer = await bot.staff("S001", f"不予受理 {case.id} 重复")
    assert "请先「退回" in answer
    assert "已退回" in await bot.staff("S001", f"退回 {case.id} 重复反映")
    told = [r.text for r in await bot.outbox("staff:W002")][-1]
    assert "高建华" in told and "退回" in told  # the assignee hears when someone else acts on their case
    assert (await bot.case(case.id)).status is CaseStatus.RETURNED
    answer = await bot.staff("W001", "接单")
    assert "请带上工单编号" in answer and "随手拍" not in answer
    assert "工作人员指令" in await bot.staff("W001", "这个怎么弄")
    lift = await bot.report("R001", "3号楼电梯坏了，按钮按了没反应")
    assert lift.assignee.code == "D003"  # 物业
    assert "已派给职能部门许文静" in await bot.staff("W001", f"接单 {lift.id}")  # never taken by a grid worker
    assert (await bot.case(lift.id)).assignee.code == "D003"
    own = await working_case(bot, "5号楼楼道里垃圾没人清")
    assert "已办结" in await bot.staff("W001", f"办结 {own.id}号 已修好")  # 1号 is a case number


async def test_a_new_report_while_a_draft_waits_asks_which_to_keep(bot):
    assert "请确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了")
    answer = await bot.resident("R001", "#随手拍 5号楼楼道里垃圾没人清")
    assert "未提交" in answer and "3号楼门口路灯坏了" in answer and "5号楼楼道里垃圾" in answer
    assert "请确认" in await bot.resident("R001", "1")  # keeps the waiting one
    assert "未提交" in await bot.resident("R001", "#随手拍 5号楼楼道里垃圾没人清")
    # A third while the choice waits replaces neither: the resident is told it was not taken.
    answer = await bot.resident("R001", "#随手拍 8号楼楼顶漏水")
    assert "8号楼楼顶漏水" in answer and "没有登记" in answer and "再把新的发一次" in answer
    answer = await bot.resident("R001", "3")  # both: the waiting one is filed, then the new one is confirmed
    assert "已受理" in answer and "请确认" in answer and "垃圾" in answer
    assert "已受理" in await bot.resident("R001", "确认")
    assert "没有等您确认的事项" in await bot.resident("R001", "确认")  # said twice: nothing waits, not "没太明白"
    assert [c.text for c in await bot.cases()] == ["3号楼门口路灯坏了", "5号楼楼道里垃圾没人清"]
    await bot.resident("R001", "#随手拍 7号楼楼道灯坏了")
    await bot.resident("R001", "#随手拍 7号楼门口路面塌了")
    answer = await bot.resident("R001", "2")  # the new one instead; the draft is dropped
    assert "请确认" in answer and "路面塌了" in answer
    await bot.resident("R001", "确认")
    assert [c.text for c in await bot.cases()][-1] == "7号楼门口路面塌了" and len(await bot.cases()) == 3


async def test_a_booking_or_a_wish_while_a_report_waits_for_its_place_asks_which_to_keep(bot):
    assert "哪个小区" in await bot.resident("小钱", "路灯坏了好几天了")  # a new resident: the place is asked
    answer = await bot.resident("小钱", "我想预约办理残疾证")  # no place: another matter, not "没有找到这个地点"
    assert "未提交" in answer and "路灯坏了好几天了" in answer and "我想预约办理残疾证" in answer, answer
    assert "残疾人服务" in await bot.resident("小钱", "2")  # the booking instead; the report dropped
    assert "请确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了")
    answer = await bot.resident("R001", "#预约 法律咨询")  # a booking typed explicitly is not swapped in silently
    assert "未提交" in answer and "两条都登记" in answer, answer
    answer = await bot.resident("R001", "3")  # both: the report filed, then the booking begun
    assert "已受理" in answer and "法律咨询" in answer, answer
    assert [c.text for c in await bot.cases()] == ["3号楼门口路灯坏了"]
    assert "请确认" in await bot.resident("R002", "#随手拍 5号楼楼道灯坏了")
    answer = await bot.resident("R002", "想给楼下独居的王奶奶许个微心愿 她想要个助听器")
    assert "未提交" in answer and "助听器" in answer, answer
    assert "请确认您的微心愿" in await bot.resident("R003", "#微心愿 想给楼下独居的李爷爷要个助行器")
    answer = await bot.resident("R003", "3号楼门口的路灯坏了好几天了 黑得很")  # a report where a wish waits
    assert "未提交" in answer and "路灯坏了" in answer, answer
