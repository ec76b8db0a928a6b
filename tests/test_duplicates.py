"""Issue 11, duplicates: another building is another problem; staff merge and split by chat and on the web;
followers hear every notice the reporter hears."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import CaseEvent, CaseStatus, EventKind, WebAudit
from tests.harness import Harness
from tests.plans import statement_plan
from tests.web_rig import WebRig

QINJ = "JT-QINJ-01"  # 秦机小区: grid workers W008 张伟 and W009 孙悦


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def notices_to(bot: Harness, resident_id: int) -> list[str]:
    return [n.text for n in await bot.outbox(f"resident:{resident_id}")]


async def test_another_building_or_road_is_another_problem_and_followers_hear_everything(bot):
    five = await bot.report("甲", "秦机小区5号楼门口路灯不亮")
    three = await bot.report("乙", "秦机小区3号楼门口路灯不亮")
    assert three.duplicate_of_id is None and three.status is not CaseStatus.DUPLICATE
    whole = await bot.report("丁", "秦机小区门口路灯不亮")  # the compound, no building: not building 5's case
    assert whole.duplicate_of_id is None
    again = await bot.report("丙", "秦机小区5号楼门口的路灯不亮了")
    assert again.duplicate_of_id == five.id
    in_group = await bot.report("戊", "3号楼门口路灯不亮", group=QINJ)  # the same building, said in its group
    assert in_group.duplicate_of_id == three.id
    road = await bot.report("己", "经二路路灯坏了")
    assert (await bot.report("庚", "红旗路路灯坏了")).duplicate_of_id is None
    assert (await bot.report("辛", "经二路的路灯坏了不亮")).duplicate_of_id == road.id
    # Every notice the reporter gets reaches the follower too.
    assignee = five.assignee.code
    await bot.staff(assignee, f"接单 {five.id}")
    await bot.staff(assignee, f"进展 {five.id} 已联系电工，明天上午更换")
    await bot.staff(assignee, f"办结 {five.id} 已更换灯具")
    follower = await notices_to(bot, again.reporter_id)
    assert any("接单，正在处理" in t for t in follower)
    assert any(f"（已并入 {five.number}）处理进展：已联系电工，明天上午更换" in t for t in follower)
    assert any("已办结：已更换灯具" in t for t in follower)


async def test_staff_merge_and_split_by_chat_are_audited_and_residents_told(bot):
    five = await bot.report("甲", "秦机小区5号楼门口路灯不亮")
    lamp = await bot.report("乙", "秦机小区6号楼门口路灯也不亮")  # another building: not merged by itself
    assert lamp.duplicate_of_id is None
    assert "无权" in await bot.staff("W001", f"合并 {five.id} {lamp.id}")  # 铁塔厂家属院's worker
    assert "两个不同" in await bot.staff("W008", f"合并 {five.id} {five.id}")
    # A grid worker merges only cases they hold; the community's secretary merges any in the community.
    assert lamp.assignee_id != five.assignee_id  # the compound's two grid workers share its cases
    assert "只有承办人或社区书记" in await bot.staff(five.assignee.code, f"合并 {five.id} {lamp.id}")
    answer = await bot.staff("S004", f"合并 {five.id} {lamp.id} 同一盏灯")
    assert f"#{lamp.id} 已并入 {five.number}" in answer
    merged = await bot.case(lamp.id)
    assert merged.status is CaseStatus.DUPLICATE and merged.duplicate_of_id == five.id
    assert [e.action for e in await bot.events(lamp.id)][-1] is EventKind.MERGED_INTO
    assert [e.action for e in await bot.events(five.id)][-1] is EventKind.MERGE
    assert any("工作人员已将两单合并" in t for t in await notices_to(bot, lamp.reporter_id))
    await bot.staff(five.assignee.code, f"接单 {five.id}")
    await bot.staff(five.assignee.code, f"进展 {five.id} 在查线路")
    assert any("处理进展：在查线路" in t for t in await notices_to(bot, lamp.reporter_id))
    # Split it off again: by the report's number, or by its reporter's name.
    assert "没有找到「老李」" in await bot.staff("S004", f"拆分 {five.id} 老李")
    answer = await bot.staff("S004", f"拆分 {five.id} 乙 不是同一盏灯")
    assert f"#{lamp.id} 已拆出单独办理" in answer
    split = await bot.case(lamp.id)
    assert split.duplicate_of_id is None and split.status is CaseStatus.ASSIGNED and split.assignee is not None
    assert [e.action for e in await bot.events(lamp.id)][-2:] == [EventKind.SPLIT, EventKind.ROUTED]
    assert EventKind.SPLIT_OFF in [e.action for e in await bot.events(five.id)]
    assert any("不是同一问题，已单独立案" in t for t in await notices_to(bot, lamp.reporter_id))
    # 拆分 with the merged report's own number works too.
    again = await bot.report("丙", "秦机小区5号楼门口的路灯不亮了")
    assert again.duplicate_of_id == five.id
    assert "已拆出" in await bot.staff(five.assignee.code, f"拆分 {again.id}")  # the holder splits their own


async def test_merge_and_split_on_the_web_case_page(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        five = await rig.harness.report("甲", "秦机小区5号楼门口路灯不亮")
        lamp = await rig.harness.report("乙", "秦机小区6号楼门口路灯也不亮")
        await rig.login("S004")  # 秦机社区's secretary
        page = f"/staff/cases/{five.id}"
        html = await (await rig.client.get(page)).text()
        assert 'data-action="merge"' in html
        forged = await rig.client.post(f"{page}/merge", data={"_csrf": "forged", "other": str(lamp.id)})
        assert forged.status == 403 and (await rig.harness.case(lamp.id)).duplicate_of_id is None
        assert (await rig.post_form(f"{page}/merge", {"other": "abc"}, page=page)).status == 302
        assert "请填写要并入本单的工单编号" in await (await rig.client.get(page)).text()
        response = await rig.post_form(f"{page}/merge", {"other": f"#{lamp.id}", "note": "同一盏灯"}, page=page)
        assert response.status == 302
        assert (await rig.harness.case(lamp.id)).duplicate_of_id == five.id
        html = await (await rig.client.get(page)).text()
        assert f"拆出 #{lamp.id}" in html and "合并工单" in html
        response = await rig.post_form(f"{page}/split", {"which": str(lamp.id), "note": "不是一盏"}, page=page)
        assert response.status == 302 and response.headers["Location"] == f"/staff/cases/{lamp.id}"
        assert (await rig.harness.case(lamp.id)).duplicate_of_id is None
        async with rig.harness.services.sessions() as session:
            audited = (await session.execute(select(WebAudit.action, CaseEvent.action).join(
                CaseEvent, CaseEvent.id == WebAudit.case_event_id).where(WebAudit.case_id == five.id))).all()
        assert [tuple(row) for row in audited] == [("merge", EventKind.MERGE), ("split", EventKind.SPLIT_OFF)]
        assert any("已单独立案" in t for t in await notices_to(rig.harness, lamp.reporter_id))
        # Another community's secretary sees neither the page nor the actions.
        await rig.login("S001")
        assert (await rig.post_form(f"{page}/merge", {"other": str(lamp.id)})).status == 404
    finally:
        await rig.close()


async def test_the_duplicate_search_reads_the_scopes_open_originals_by_their_index(engine):
    """A popular fault's hundred duplicates and every closed case stay in the table: the search must read only the
    scope's cases a report can join."""
    from datetime import datetime

    from bot.cases.lifecycle import DUPLICATE_CANDIDATES_QUERY

    plan = await statement_plan(engine, DUPLICATE_CANDIDATES_QUERY, {
        "category_code": "01", "scope_from": "1/2/", "scope_to": "1/2/~", "since": datetime(2026, 1, 1)})
    assert "ix_case_open_originals" in plan, plan
