"""Internal notes and messages to the resident: on the case page and in chat, audited, scoped, notes never shown."""

from __future__ import annotations

from sqlalchemy import select

from models import EventKind, WebAudit
from tests.conftest import table_counts
from tests.web_rig import WebRig

NOTE = "居民情绪激动，先电话安抚再上门"
MESSAGE = "明天上午九点电工上门，请家里留人"


async def test_note_stays_with_staff_and_message_reaches_the_resident(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", "1号楼楼道灯坏了不亮")
        page = f"/staff/cases/{case.id}"
        await rig.login(case.assignee.code)
        before = len(await rig.harness.outbox(f"resident:{case.reporter_id}"))
        assert (await rig.post_form(f"{page}/remark", {"kind": "note", "text": NOTE}, page=page)).status == 302
        shown = await (await rig.client.get(page)).text()
        assert "内部备注：已完成" in shown and NOTE in shown
        assert len(await rig.harness.outbox(f"resident:{case.reporter_id}")) == before
        await rig.post_form(f"{page}/remark", {"kind": "message", "text": MESSAGE}, page=page)
        sent = (await rig.harness.outbox(f"resident:{case.reporter_id}"))[before:]
        assert [n.text for n in sent] == [f"关于您反映的 {case.number}，网格员{case.assignee.name}留言：{MESSAGE}"]
        events = [e for e in await rig.harness.events(case.id) if e.action in (EventKind.NOTE, EventKind.MESSAGE)]
        assert [(e.action, e.note, e.from_status, e.to_status) for e in events] == [
            (EventKind.NOTE, NOTE, case.status, case.status), (EventKind.MESSAGE, MESSAGE, case.status, case.status)]
        async with rig.harness.services.sessions() as session:
            audited = (await session.scalars(select(WebAudit).where(WebAudit.case_id == case.id)
                                             .order_by(WebAudit.id))).all()
        assert [(a.action, a.channel, a.case_event_id) for a in audited] == [
            ("note", "web", events[0].id), ("message", "web", events[1].id)]
        status = await rig.harness.resident("R001", f"查询 {case.id}")
        assert f"工作人员留言：{MESSAGE}" in status and NOTE not in status and "内部备注" not in status
        await rig.post_form(f"{page}/act", {"action": "accept"}, page=page)
        await rig.post_form(f"{page}/act", {"action": "resolve", "note": "已更换灯泡"}, page=page)
        assert NOTE not in await (await rig.client.get("/public/JT-TTC")).text()
        assert NOTE not in await (await rig.client.get(f"/open311/v2/requests/{case.id}.json")).text()
        empty = await rig.post_form(f"{page}/remark", {"kind": "message", "text": "  "}, page=page)
        assert empty.status == 302 and "请写上内容" in await (await rig.client.get(page)).text()
        await rig.post_form(f"{page}/remark", {"kind": "delete", "text": "x"}, page=page)
        assert "未知的操作" in await (await rig.client.get(page)).text()
        forged = await rig.client.post(f"{page}/remark", data={"kind": "note", "text": "x"}, allow_redirects=False)
        assert forged.status == 403
    finally:
        await rig.close()


async def test_another_grid_cannot_remark_by_url(database_url: str, engine) -> None:
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", "1号楼楼道灯坏了不亮")
        await rig.login("W013")  # a grid worker of another street
        before = await table_counts(engine)
        for kind in ("note", "message"):
            refused = await rig.post_form(f"/staff/cases/{case.id}/remark", {"kind": kind, "text": "看看"})
            assert refused.status == 404
        assert await table_counts(engine) == before
    finally:
        await rig.close()


async def test_note_and_message_in_chat(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        harness = rig.harness
        case = await harness.report("R001", "1号楼楼道灯坏了不亮")
        worker = case.assignee.code
        assert "仅工作人员可见" in await harness.staff(worker, f"备注 {case.id} {NOTE}")
        assert "已给" in await harness.staff(worker, f"留言 {case.id}：{MESSAGE}")
        assert "请写上内容" in await harness.staff(worker, f"留言 {case.id}")
        assert "未找到" in await harness.staff("W013", f"留言 {case.id} 你好")
        assert "未找到" in await harness.staff("W013", f"备注 {case.id} 你好")
        actions = [(e.action, e.note) for e in await harness.events(case.id)]
        assert actions[-2:] == [(EventKind.NOTE, NOTE), (EventKind.MESSAGE, MESSAGE)]
        notices = [n.text for n in await harness.outbox(f"resident:{case.reporter_id}")]
        assert any(MESSAGE in text for text in notices) and not any(NOTE in text for text in notices)
        answer = await harness.resident("R001", f"查询 {case.id}")
        assert MESSAGE in answer and NOTE not in answer
        assert NOTE in await harness.staff(worker, f"查看 {case.id}")
    finally:
        await rig.close()
