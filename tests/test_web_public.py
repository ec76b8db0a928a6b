"""Public progress pages: district → street → community, nothing personal, cached, and `/` leads there."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.web.public.pages import public_wording
from models import CaseStatus, Resident, Staff
from tests.web_rig import WebRig

SCRIPT = "<script>alert('x')</script>"


async def _resolve(rig: WebRig, resident: str, text: str):
    case = await rig.harness.report(resident, text)
    assignee = case.assignee.code
    assert "已接单" in await rig.harness.staff(assignee, f"接单 {case.id}")
    await rig.harness.staff(assignee, f"办结 {case.id} 已处理完毕")
    return await rig.harness.case(case.id)


async def test_public_pages_show_progress_and_nothing_personal(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        done = await _resolve(rig, "R001", f"1号楼2单元301室门口路灯坏了 我是张桂兰 电话13709171001 {SCRIPT}")
        assert done.status is CaseStatus.RESOLVED
        await rig.harness.report("R005", "4号楼电梯坏了，找王师傅 13991112222")
        root = await rig.client.get("/", allow_redirects=False)
        assert root.status == 302 and root.headers["Location"] == "/public/"
        robots = await (await rig.client.get("/robots.txt")).text()
        assert "Disallow: /staff/" in robots and "Allow: /public/" in robots
        pages = {}
        for path in ["/public/", "/public/JT", "/public/JT-TTC", "/public/QN", "/public/QN-SBH"]:
            response = await rig.client.get(path)
            assert response.status == 200, path
            pages[path] = await response.text()
        assert "姜谭街道" in pages["/public/"] and 'href="/public/JT"' in pages["/public/"]
        assert 'href="/public/JT-TTC"' in pages["/public/JT"]
        community = pages["/public/JT-TTC"]
        assert "近期办结" in community and "路灯" in community and "铁塔厂家属院" in community
        assert "&lt;script&gt;" in community and SCRIPT not in community
        assert "姜谭街道流动办公桌" in community and "姜谭街道流动办公桌" not in pages["/public/QN-SBH"]  # the rota
        async with rig.harness.services.sessions() as session:
            residents = (await session.execute(select(Resident.display_name, Resident.phone))).all()
            staff = (await session.execute(select(Staff.name, Staff.phone))).all()
        for path, page in pages.items():
            visible = re.sub(r"<[^>]+>", " ", page)
            for name, phone in [*residents, *staff]:
                assert name not in visible, (path, name)
                assert not phone or phone not in visible, (path, phone)
            assert not re.search(r"1[3-9]\d{9}", visible), path
            assert "301" not in visible, path
        for missing in ["/public/JT-TTC-01", "/public/NOWHERE", "/public/JT-TTC-01-B01"]:
            assert (await rig.client.get(missing)).status == 404, missing
    finally:
        await rig.close()


async def test_public_pages_are_served_from_the_cache_until_it_expires(database_url: str) -> None:
    rig = await WebRig.start(database_url, web_public_cache_seconds=60)
    try:
        first = await (await rig.client.get("/public/JT-TTC")).text()
        await _resolve(rig, "R001", "1号楼楼道灯坏了不亮")
        assert await (await rig.client.get("/public/JT-TTC")).text() == first
        rig.harness.clock.advance(seconds=61)
        assert "楼道灯坏了不亮" in await (await rig.client.get("/public/JT-TTC")).text()
    finally:
        await rig.close()


async def test_a_script_in_a_report_is_text_on_staff_pages(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        case = await rig.harness.report("R001", f"1号楼楼道灯坏了 {SCRIPT}")
        await rig.login("S001")
        for path in ["/staff/", f"/staff/cases/{case.id}", "/staff/triage", f"/staff/rules?text={SCRIPT}"]:
            page = await (await rig.client.get(path)).text()
            assert SCRIPT not in page and "<script>alert" not in page, path
        assert "&lt;script&gt;" in await (await rig.client.get(f"/staff/cases/{case.id}")).text()
    finally:
        await rig.close()


def test_public_wording_removes_phones_house_numbers_and_names() -> None:
    wording = public_wording("我是李四，住5号楼3单元502室，电话 139-1234-5678，楼下王阿姨家漏水，3-2-301也漏",
                             frozenset({"李四"}))
    assert "李四" not in wording and "502" not in wording and "5678" not in wording
    assert "王阿姨" not in wording and "301" not in wording and "漏水" in wording and "5号楼" in wording


async def test_the_community_page_shows_its_wish_wall_and_projects_without_the_wisher(database_url: str) -> None:
    from tests.test_community import published

    rig = await WebRig.start(database_url)
    try:
        bot = rig.harness
        await bot.staff("C001", "新建实事 加装路灯｜5万｜为铁塔厂家属院加装路灯")
        await bot.staff("C001", "节点 P1 安装 1")
        await bot.staff("C001", "进度 P1 1 40")
        wish = await published(bot, "R001", "希望楼下能装一盏路灯，我是张桂兰 电话13709171001", group="JT-TTC-01")
        page = await (await rig.client.get("/public/JT-TTC")).text()
        assert 'id="wishes"' in page and wish.number in page and 'id="projects"' in page and "进度 40%" in page
        visible = re.sub(r"<[^>]+>", " ", page)
        assert "张桂兰" not in visible and "13709171001" not in visible
        elsewhere = await (await rig.client.get("/public/QN-SBH")).text()
        assert wish.number not in elsewhere and 'id="projects"' not in elsewhere
    finally:
        await rig.close()
