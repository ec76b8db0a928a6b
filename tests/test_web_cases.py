"""Staff work cases on the web: filters and keyset pages, actions through the lifecycle, bulk, CSV, photos."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from aiohttp import web
from PIL import Image
from sqlalchemy import select, update

from bot.web.common import actor_for
from bot.web.staff.queries import CaseQuery, count_by_status, fetch_page
from models import Case, CaseEvent, CasePhoto, CaseStatus, Staff, WebAudit
from tests.web_rig import WebRig

LAMPS = ["1号楼楼道灯坏了不亮", "2号楼门口路灯不亮了", "5号楼楼道灯一闪一闪的", "7号楼下水道堵了污水漫出来",
         "3号楼门口垃圾堆了好几天没人清"]


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/staff/cases/(\d+)" class="case-link"', page)]


async def test_filters_and_keyset_pages(database_url: str) -> None:
    rig = await WebRig.start(database_url, web_session_hours=24 * 30)
    try:
        filed = [await rig.harness.report("R001", text) for text in LAMPS]
        rig.harness.clock.advance(minutes=1)
        other = await rig.harness.report("R005", "4号楼电梯坏了")
        await rig.login("S001")
        seen, url = [], "/staff/?size=2"
        while url:
            page = await (await rig.client.get(url.replace("&amp;", "&"))).text()
            seen += _ids(page)
            found = re.search(r'href="([^"]+)" id="next-page"', page)
            url = found.group(1) if found else None
        assert seen == sorted(c.id for c in filed)[::-1] and other.id not in seen
        oldest = _ids(await (await rig.client.get("/staff/?sort=oldest")).text())
        assert oldest == sorted(c.id for c in filed)
        searched = _ids(await (await rig.client.get("/staff/", params={"q": "下水道"})).text())
        assert searched == [filed[3].id]
        by_number = _ids(await (await rig.client.get("/staff/", params={"q": f"#{filed[1].id}"})).text())
        assert by_number == [filed[1].id]
        building = _ids(await (await rig.client.get("/staff/", params={"unit": "JT-TTC-01-B05"})).text())
        assert building == [filed[2].id]
        category = _ids(await (await rig.client.get("/staff/", params={"category": filed[0].category_code})).text())
        assert filed[0].id in category and filed[3].id not in category
        status = filed[0].status.value
        same_status = _ids(await (await rig.client.get("/staff/", params={"status": status})).text())
        assert filed[0].id in same_status
        assert _ids(await (await rig.client.get("/staff/?overdue=1")).text()) == []
        rig.harness.clock.advance(days=10)
        assert set(_ids(await (await rig.client.get("/staff/?overdue=1")).text())) == {
            c.id for c in filed if c.status.is_open}
        today = rig.harness.clock.now().date().isoformat()
        assert _ids(await (await rig.client.get(f"/staff/?since={today}")).text()) == []
        for bad in ["?status=nonsense", "?unit=NOWHERE", "?since=yesterday", "?after=garbage"]:
            response = await rig.client.get(f"/staff/{bad}")
            assert response.status == 400, bad
    finally:
        await rig.close()


async def test_accept_and_resolve_on_the_web_tell_the_resident(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", "1号楼楼道灯坏了不亮")
        assignee = case.assignee.code
        await rig.login(assignee)
        page = f"/staff/cases/{case.id}"
        refused = await rig.post_form(f"{page}/act", {"action": "resolve", "note": "已修好"}, page=page)
        assert refused.status == 302
        assert "还未接单" in await (await rig.client.get(page)).text()
        assert (await rig.post_form(f"{page}/act", {"action": "accept"}, page=page)).status == 302
        empty = await rig.post_form(f"{page}/act", {"action": "resolve", "note": "  "}, page=page)
        assert empty.status == 302 and "请写明" in await (await rig.client.get(page)).text()
        await rig.post_form(f"{page}/act", {"action": "resolve", "note": "已更换灯泡"}, page=page)
        assert (await rig.harness.case(case.id)).status is CaseStatus.RESOLVED
        notices = await rig.harness.outbox(f"resident:{case.reporter_id}")
        assert any("已办结：已更换灯泡" in n.text for n in notices)
        async with rig.harness.services.sessions() as session:
            audit = (await session.scalars(select(WebAudit).where(WebAudit.case_id == case.id)
                                           .order_by(WebAudit.id))).all()
            resolve_event = await session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                         CaseEvent.action == "resolve"))
        assert [a.action for a in audit] == ["accept", "resolve"] and {a.channel for a in audit} == {"web"}
        assert audit[-1].case_event_id == resolve_event.id and resolve_event.note == "已更换灯泡"
        shown = await (await rig.client.get(page)).text()
        assert "已更换灯泡" in shown and "已办结" in shown and "办理记录" in shown
    finally:
        await rig.close()


async def test_bulk_transfer_goes_through_the_lifecycle(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        first = await rig.harness.report("R001", "1号楼楼道灯坏了不亮")
        second = await rig.harness.report("R001", "7号楼下水道堵了污水漫出来")
        outside = await rig.harness.report("R005", "4号楼电梯坏了")
        await rig.login("S001")
        response = await rig.post_form("/staff/cases/bulk", {
            "action": "transfer", "target": "W002", "note": "片区调整", "case": [str(first.id), str(second.id),
                                                                             str(outside.id)]})
        assert response.status == 302
        flash = await (await rig.client.get("/staff/")).text()
        assert "已处理 2 件" in flash and f"#{outside.id}" in flash
        for case in (first, second):
            moved = await rig.harness.case(case.id)
            assert moved.assignee.code == "W002" and moved.status is CaseStatus.TRANSFERRED
        assert (await rig.harness.case(outside.id)).assignee_id == outside.assignee_id
    finally:
        await rig.close()


async def test_csv_export_has_bom_masks_phones_and_defuses_formulas(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", "1号楼楼道灯坏了 联系我13709171001")
        async with rig.harness.services.sessions.begin() as session:
            await session.execute(update(Case).where(Case.id == case.id).values(text="=HYPERLINK(1) 路灯 13709171001"))
        await rig.login("O001")  # 街道干部: phones masked
        body = await (await rig.client.get("/staff/cases.csv")).read()
        assert body.startswith("\ufeff".encode()) and "编号".encode() in body
        text = body.decode("utf-8-sig")
        assert "13709171001" not in text and "137****1001" in text and "'=HYPERLINK" in text
        await rig.login("W001")  # 网格员 calls residents back: phones shown
        assert "13709171001" in (await (await rig.client.get("/staff/cases.csv")).read()).decode("utf-8-sig")
    finally:
        await rig.close()


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 21.0, 0.0), "E", (107.0, 8.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def _telegram_files(photo: bytes) -> tuple[web.AppRunner, str]:
    """A Bot API stand-in serving getFile and the file itself: one real photo, one file that is no image."""
    async def get_file(request: web.Request) -> web.Response:
        file_id = request.query["file_id"]
        return web.json_response({"ok": True, "result": {"file_id": file_id, "file_path": f"photos/{file_id}.jpg"}})

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=photo if "good" in request.match_info["path"] else b"<html>not an image</html>")

    app = web.Application()
    app.router.add_get("/botTOKEN/getFile", get_file)
    app.router.add_get("/file/botTOKEN/{path:.*}", file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/bot"


async def test_photos_are_fetched_once_stripped_and_served_by_scope(database_url: str, tmp_path) -> None:
    runner, base = await _telegram_files(_jpeg_with_gps())
    rig = await WebRig.start(database_url, telegram_token="TOKEN", telegram_api_base=base, photo_dir=tmp_path)
    try:
        case = await rig.harness.report("R001", "1号楼楼道灯坏了不亮")
        async with rig.harness.services.sessions.begin() as session:
            await session.execute(update(Case).where(Case.id == case.id).values(media=[
                {"kind": "photo", "ref": "good-1", "channel": "telegram"},
                {"kind": "photo", "ref": "bad-2", "channel": "telegram"}]))
        await rig.login("W001")
        page = await (await rig.client.get(f"/staff/cases/{case.id}")).text()
        assert "未能取得" in page
        await rig.client.get(f"/staff/cases/{case.id}")  # a second view downloads nothing again
        async with rig.harness.services.sessions() as session:
            photos = (await session.scalars(select(CasePhoto).order_by(CasePhoto.id))).all()
        assert [(p.ref, bool(p.file_name), p.error is not None) for p in photos] == [
            ("good-1", True, False), ("bad-2", False, True)]
        served = await rig.client.get(f"/staff/photos/{photos[0].id}")
        assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
        stored = Image.open(io.BytesIO(await served.read()))
        assert stored.size == (64, 48) and not stored.getexif().get_ifd(0x8825) and "exif" not in stored.info
        await rig.login("W013")  # another street's grid worker
        assert (await rig.client.get(f"/staff/photos/{photos[0].id}")).status == 404
    finally:
        await rig.close()
        await runner.cleanup()


async def test_text_search_reads_windows_and_a_cut_short_page_goes_on_where_it_stopped(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        filed = [await rig.harness.report("R001", text) for text in LAMPS * 2]
        now = rig.harness.clock.now()
        async with rig.harness.services.sessions.begin() as session:  # spread over a year, two on one instant
            for n, case in enumerate(filed):
                await session.execute(update(Case).where(Case.id == case.id).values(
                    created_at=now - timedelta(days=[0, 3, 3, 20, 45, 90, 91, 200, 300, 364][n])))
        lamps = {c.id for c in filed if "灯" in c.text}
        services = rig.harness.services
        await rig.login("S001")
        seen, url = [], "/staff/?size=2&q=灯"
        while url:
            page = await (await rig.client.get(url.replace("&amp;", "&"))).text()
            seen += _ids(page)
            found = re.search(r'href="([^"]+)" id="next-page"', page)
            url = found.group(1) if found else None
        assert len(seen) == len(lamps) and set(seen) == lamps
        assert "按内容搜索，不统计件数" in page and "共 <strong id=\"total\">" in await (await rig.client.get("/staff/")).text()
        for sort in ("newest", "oldest"):
            query = CaseQuery.parse({"q": "灯", "sort": sort}, services.directory)
            async with services.sessions() as session:  # the page's own clauses, as S001 sees them
                staff = await session.scalar(select(Staff).where(Staff.code == "S001"))
                clauses = query.where(services.directory, actor_for(staff), now=now, tz=services.settings.tz)
                walked, cursor, pages = [], "start", 0
                while cursor is not None:
                    rows, cursor = await fetch_page(session, query, clauses, 3, budget=0.0)  # every page cut short
                    walked += [(r.created_at, r.id) for r in rows]
                    pages += 1
                    if cursor is not None:
                        query = CaseQuery.parse({"q": "灯", "sort": sort, "after": cursor}, services.directory)
            assert sorted(walked, reverse=sort == "newest") == walked and {i for _, i in walked} == lamps
            assert len(walked) == len(lamps) and pages > len(lamps) // 3
        async with services.sessions() as session:
            everything = CaseQuery().where(services.directory, actor_for(staff), now=now, tz=services.settings.tz)
            assert sum((await count_by_status(session, everything)).values()) == len(filed)
            assert await count_by_status(session, everything, cap=len(filed) - 1) is None  # "more than", not a count
    finally:
        await rig.close()


async def test_a_department_only_matter_is_not_transferred_to_a_grid_worker_on_the_web(database_url: str) -> None:
    """The web goes through the same rule as chat: 供水 belongs to its department, never to a grid worker."""
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", "#随手拍 1号楼停水两天了，自来水一直没来")
        assert (await rig.harness.case(case.id)).category_code == "water_supply"
        await rig.login("S001")
        response = await rig.post_form(f"/staff/cases/{case.id}/act", {"action": "transfer", "target": "W002",
                                                                       "note": "试试"})
        assert response.status in (200, 302, 409)
        assert (await rig.harness.case(case.id)).assignee.code != "W002"
    finally:
        await rig.close()
