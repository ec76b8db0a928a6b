"""Every staff action on a case, each refusal, and the audit trail they leave."""

import pytest

from models import CaseStatus, Rating
from tests.harness import Harness

GROUP = "JT-TTC-01"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


@pytest.fixture
async def case(bot):
    return await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)


async def test_progress_then_resolve_records_each_step(bot, case):
    await bot.staff("W001", f"接单 {case.id}")
    assert "处理中" in await bot.staff("W001", f"进展 {case.id} 已联系供电所，明天换灯")
    assert (await bot.case(case.id)).status is CaseStatus.IN_PROGRESS
    assert any("处理进展：已联系供电所" in row.text for row in await bot.outbox("resident:1"))
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.RESOLVED and case.resolved_at is not None
    notes = [(e.action, e.from_status, e.to_status, e.note) for e in await bot.events(case.id)]
    assert notes[-2:] == [("progress", "accepted", "in_progress", "已联系供电所，明天换灯"),
                          ("resolve", "in_progress", "resolved", "灯已换好")]


async def test_filing_records_who_filed_and_where_it_was_routed(bot, case):
    trail = [(e.action, e.from_status, e.to_status, e.actor_kind) for e in await bot.events(case.id)]
    assert trail == [("filed", None, "new", "resident"), ("routed", "new", "assigned", "system")]
    assert "派给" in (await bot.events(case.id))[1].note
    case = await bot.case(case.id)
    assert case.assignee is not None and case.assignee.code == "W001" and case.accept_due_at is not None
    notices = [r for r in await bot.outbox("staff:W001") if r.case_id == case.id]
    assert len(notices) == 1 and "137****1001" in notices[0].text and f"接单 {case.id}" in notices[0].text


async def test_an_unplaced_case_waits_in_the_community_queue_and_its_staff_are_told(bot):
    await bot.resident("R001", "#随手拍 有点事想反映一下")
    answer = await bot.resident("R001", "其他")
    assert "确认" in answer, answer
    assert "编号" in await bot.resident("R001", "确认")
    case = await bot.latest_case()
    assert case.status is CaseStatus.NEW and case.assignee_id is None and case.queue_unit_id is not None
    trail = [(e.action, e.from_status, e.to_status) for e in await bot.events(case.id)]
    assert trail == [("filed", None, "new"), ("routed", "new", "new")]
    triage = [r for r in await bot.outbox() if r.case_id == case.id]
    assert triage and all(r.recipient.startswith("staff:") and f"分派 {case.id}" in r.text for r in triage)


async def test_resolve_before_accept_is_refused(bot, case):
    assert "请先回复「接单" in await bot.staff("W001", f"办结 {case.id} 好了")
    assert (await bot.case(case.id)).status is CaseStatus.ASSIGNED


async def test_notes_are_required_where_they_matter(bot, case):
    await bot.staff("W001", f"接单 {case.id}")
    assert "办结说明" in await bot.staff("W001", f"办结 {case.id}")
    assert "退回原因" in await bot.staff("W001", f"退回 {case.id}")
    assert (await bot.case(case.id)).status is CaseStatus.ACCEPTED


async def test_transfer_to_a_department_waits_for_its_acceptance(bot, case):
    assert "已转派" in await bot.staff("W001", f"转派 {case.id} 城管 路灯归城管维护")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.TRANSFERRED and case.assignee.department == "城管"
    assert case.assignee.code == "D002"  # 姜谭街道's 城管 before the district's
    assert any(f"接单 {case.id}" in row.text for row in await bot.outbox("staff:D002"))
    assert "无权" in await bot.staff("W003", f"接单 {case.id}")
    assert "已接单" in await bot.staff("D002", f"接单 {case.id}")


async def test_transfer_to_an_unknown_target_is_refused(bot, case):
    assert "找不到" in await bot.staff("W001", f"转派 {case.id} 火星办 试试")
    assert "转给谁" in await bot.staff("W001", f"转派 {case.id}")
    assert (await bot.case(case.id)).status is CaseStatus.ASSIGNED


async def test_return_goes_to_triage_and_is_reassigned(bot, case):
    assert "已退回" in await bot.staff("W001", f"退回 {case.id} 不在我的网格")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.RETURNED and case.assignee is None
    assert any("不在我的网格" in row.text for row in await bot.outbox("staff:S001"))
    assert str(case.id) in await bot.staff("S001", "待分拣")
    assert "已派单" in await bot.staff("S001", f"分派 {case.id} W002")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.ASSIGNED and case.assignee.code == "W002"


async def test_reject_from_triage_tells_the_resident(bot, case):
    await bot.staff("W001", f"退回 {case.id} 重复")
    assert "不予受理" in await bot.staff("S001", f"不予受理 {case.id} 已由物业处理完毕")
    assert (await bot.case(case.id)).status is CaseStatus.REJECTED
    assert any("不予受理" in row.text for row in await bot.outbox("resident:1"))


async def test_worker_outside_the_unit_is_refused(bot, case):
    answer = await bot.staff("W003", f"接单 {case.id}")  # 发电厂生活区's worker
    assert "无权" in answer
    assert "无权" in await bot.staff("D001", f"办结 {case.id} 好了")  # a department not on the case
    assert "无权" in await bot.staff("W001", f"分派 {case.id} W002")  # grid workers do not triage
    assert (await bot.case(case.id)).status is CaseStatus.ASSIGNED


async def test_secretary_of_the_community_may_take_over(bot, case):
    assert "已接单" in await bot.staff("S001", f"接单 {case.id}")
    case = await bot.case(case.id)
    assert case.assignee.code == "S001"
    assert [e.note for e in await bot.events(case.id)][-1] == "代为接单"


async def test_unknown_case_number_is_a_clear_answer(bot):
    assert "未找到工单 #4242" in await bot.staff("W001", "接单 4242")


async def test_resident_cannot_use_staff_commands(bot, case):
    await bot.resident("R001", f"办结 {case.id} 好了")
    assert (await bot.case(case.id)).status is CaseStatus.ASSIGNED


async def test_only_the_reporter_rates_and_changes_only_within_the_window(bot, case):
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 好了")
    assert "没有找到" in await bot.resident("R002", f"满意 {case.id}")
    assert await bot.resident("R001", f"基本满意 {case.id}", group=GROUP) == ""  # asked privately, not here
    assert "基本满意" in await bot.resident("R001", f"基本满意 {case.id}")
    bot.clock.advance(hours=bot.services.settings.rating_change_hours + 1)
    assert "已评价" in await bot.resident("R001", f"不满意 {case.id} 又坏了")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.CLOSED and case.rating is Rating.BASICALLY_SATISFIED


async def test_dissatisfied_without_reason_asks_for_one(bot, case):
    await bot.staff("W001", f"接单 {case.id}")
    await bot.staff("W001", f"办结 {case.id} 好了")
    assert "哪里没有解决好" in await bot.resident("R001", "不满意")
    assert "重新打开" in await bot.resident("R001", "灯还是一闪一闪的")
    case = await bot.case(case.id)
    assert case.status is CaseStatus.REOPENED and case.rating_comment == "灯还是一闪一闪的"
    assert "已接单" in await bot.staff("W001", f"接单 {case.id}")


async def test_my_open_cases_lists_the_workers_cases(bot, case):
    answer = await bot.staff("W001", "我的工单")
    assert f"#{case.id}" in answer
    assert "没有待办" in await bot.staff("W002", "我的工单")
    detail = await bot.staff("W001", f"查看 {case.id}")
    assert "已提交" in detail and "137****1001" in detail
    assert "未找到" in await bot.staff("W003", f"查看 {case.id}")


async def test_duplicate_links_follows_and_raises_priority(bot, case):
    answer = await bot.resident("刘大妈", "#随手拍 3号楼门口那个路灯晚上不亮", group=GROUP)
    assert "确认" in answer
    answer = await bot.resident("刘大妈", "确认", group=GROUP)
    assert f"#{case.id}" in answer and "并入" in answer
    duplicate = await bot.latest_case()
    assert duplicate.status is CaseStatus.DUPLICATE and duplicate.duplicate_of_id == case.id
    original = await bot.case(case.id)
    assert original.priority == 1
    assert len([r for r in await bot.outbox("staff:W001") if "又有居民反映" in r.text]) == 1
    trail = [(e.action, e.from_status, e.to_status, e.actor_kind) for e in await bot.events(duplicate.id)]
    assert trail == [("filed", None, "new", "resident"), ("linked_duplicate", "new", "duplicate", "system")]
    assert [(e.action, e.note) for e in await bot.events(case.id)][-1] == (
        "duplicate_reported", f"#{duplicate.id} 反映同一问题")
    await bot.staff("W001", f"接单 {case.id}")
    follower_notices = await bot.outbox(f"resident:{duplicate.reporter_id}")
    assert any("接单" in row.text for row in follower_notices)
    assert f"并入 #{case.id}" in await bot.resident("刘大妈", f"查询 {duplicate.id}", group=GROUP,
                                                   mention=True)
