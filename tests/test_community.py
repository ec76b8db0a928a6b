"""The community around wishes: registration, projects, hours totals, jobs, and what the public may see."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.community.hours import hours_totals
from bot.community.publishing import community_projects, published_wishes, weekly_section, weekly_sections
from bot.jobs.scheduler import JobRunner
from bot.jobs.wishes import announce_campaign, campaign_summary, monthly_summary, sweep_claims
from bot.reports.weekly import Figures, report_text, week_bounds
from models import Claim, Claimer, ClaimerStatus, ClaimStatus, Resident, Wish, WishStatus
from tests.harness import Harness
from tests.test_wishes import PERSONAL, WISH, make_wish, wishes

PHONE = re.compile(r"1[3-9]\d{9}")
HOUSE = re.compile(r"\d+\s*(号楼|单元|室)|\d{3,4}(?!年)")


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def published(bot: Harness, who: str = "R003", text: str = WISH, **kwargs) -> Wish:  # type: ignore[no-untyped-def]
    wish = await make_wish(bot, who, text, **kwargs)
    community = bot.services.directory.unit(wish.community_id).code
    staff = {"JT-WX": "C003", "JT-TTC": "C001"}[community]
    assert "已发布" in await bot.staff(staff, f"发布 {wish.number}")
    return wish


def clean(text: str, names: list[str]) -> None:
    """No wisher's name, phone or house number."""
    assert not PHONE.search(text), text
    assert not any(name in text for name in names), text
    assert not any(piece in text for piece in PERSONAL), text


async def resident_names(bot: Harness) -> list[str]:
    async with bot.services.sessions() as session:
        return [n for n in (await session.scalars(select(Resident.display_name))).all() if len(n) >= 2]


async def test_registration_from_a_group_is_approved_by_the_community(bot):
    answer = await bot.resident("张明", "双报到 张明 市供电公司 党员", group="JT-TTC-01", mention=True)
    assert "已提交双报到登记 D7" in answer and "铁塔厂社区" in answer
    assert "待审核，通过后才能认领" in await bot.resident("张明", "认领 W1")
    review = await bot.staff("C001", "待审核")
    assert "D7" in review and "张明" in review
    assert "未找到您可审核" in await bot.staff("C003", "通过 D7")  # another community's staff
    assert "已通过" in await bot.staff("C001", "通过 D7")
    [welcome] = [r for r in await bot.outbox("claimer:7") if "已通过" in r.text]
    assert "心愿墙" in welcome.text  # volunteers are told wishes exist
    assert "已登记双报到" in await bot.resident("张明", "双报到 张明 市供电公司 党员")
    assert "请回复您的姓名" in await bot.resident("李红", "双报到")
    assert "到哪个社区" in await bot.resident("李红", "李红 志愿者")  # a new person: no home, no group
    assert "D8" in await bot.resident("李红", "秦机社区")
    assert "居民群里发送「心愿墙」" in await bot.resident("李红", "心愿墙")  # not approved yet, no home: a hint
    assert "未通过" in await bot.staff("C004", "不通过 D8 请先到社区登记身份")


async def test_projects_from_chat_roll_up_progress_and_units_claim_them(bot):
    assert "只有社区工作人员" in await bot.staff("W001", "新建实事 加装路灯｜50000")
    assert "P1" in await bot.staff("C001", "新建实事 加装路灯｜5万｜为铁塔厂家属院加装路灯")
    await bot.staff("C001", "节点 P1 采购 1")
    await bot.staff("C001", "节点 P1 安装 3")
    assert "进度 75%" in await bot.staff("C001", "进度 P1 2 100")
    assert "0 到 100" in await bot.staff("C001", "进度 P1 1 150")
    assert "未找到您可管理" in await bot.staff("C003", "进度 P1 1 50")
    assert "已认领实事项目 P1" in await bot.resident("U001", "认领 P1")
    assert "您已认领" in await bot.resident("U001", "认领 P1")
    assert "本社区没有" in await bot.resident("U002", "认领 P1")
    wish = await published(bot, "R001", "希望楼下能装一盏路灯", group="JT-TTC-01")
    assert "已关联" in await bot.staff("C001", f"关联 {wish.number} P1")
    async with bot.services.sessions() as session:
        [project] = await community_projects(session, bot.services.directory.by_code("JT-TTC").id, 2026)
    assert project.progress == 75.0 and project.budget == 50000 and project.status_label == "推进中"
    assert project.claimed_by == ("国网渭滨供电分公司",) and project.wishes == 1
    assert "进度 75%" in await bot.resident("R001", "实事", group="JT-TTC-01", mention=True)


async def test_hours_count_only_when_the_organiser_confirms(bot):
    wish = await published(bot)
    await bot.resident("P004", f"认领 {wish.number}")
    assert "0 到 24" in await bot.resident("P004", "工时 W1 30 通宵")
    assert "没有认领" in await bot.resident("U002", "工时 W1 2 帮忙")
    await bot.resident("P004", "工时 W1 2 联系家属")
    await bot.resident("P004", "工时 W1 1.5 陪同")
    assert "未找到需要您确认" in await bot.staff("C001", "确认工时 G1")
    assert "未找到需要您确认" in await bot.staff("S003", "确认工时 G1")  # the organiser is C003, who published
    await bot.staff("C003", "确认工时 G1")
    await bot.staff("C003", "退回工时 G2 时间不对")
    async with bot.services.sessions() as session:
        totals = await hours_totals(session, wish.community_id, 2026)
    assert totals.total == 2 and dict(totals.by_unit) == {"渭滨区教育局": 2} and dict(totals.by_month) == {11: 2}


async def test_a_claim_without_progress_is_reminded_then_released(bot):
    wish = await published(bot)
    await bot.resident("P004", f"认领 {wish.number}")
    bot.clock.advance(days=3, minutes=1)
    assert await sweep_claims(bot.services, bot.clock.now()) == {"reminded": 1, "released": 0}
    assert await sweep_claims(bot.services, bot.clock.now()) == {"reminded": 0, "released": 0}
    assert any("没有进展" in r.text for r in await bot.outbox("claimer:4"))
    bot.clock.advance(days=4)
    assert await sweep_claims(bot.services, bot.clock.now()) == {"reminded": 0, "released": 1}
    assert (await wishes(bot))[0].status is WishStatus.PUBLISHED
    async with bot.services.sessions() as session:
        claim = (await session.scalars(select(Claim))).unique().one()
    assert claim.status is ClaimStatus.RELEASED and claim.live_key is None
    assert "认领成功" in await bot.resident("U002", f"认领 {wish.number}")


async def test_progress_restarts_the_reminder_clock(bot):
    wish = await published(bot)
    await bot.resident("P004", f"认领 {wish.number}")
    bot.clock.advance(days=2)
    await bot.resident("P004", "进展 W1 已电话联系")
    bot.clock.advance(days=2)
    assert await sweep_claims(bot.services, bot.clock.now()) == {"reminded": 0, "released": 0}


async def test_campaign_is_announced_with_its_deadline_and_summed_up(bot):
    bot.clock.set(datetime(2027, 1, 5, 1, 0, tzinfo=UTC))  # 09:00 Shanghai on the configured day
    ran = await JobRunner(bot.services, instance="a").run_due(bot.clock.now())
    assert ("wishes", "2027") in {(job, slot) for job, slot, _ in ran}
    calls = [r for r in await bot.outbox() if r.dedupe_key.startswith("wishes:2027:group:")]
    assert calls and all("1月31日前" in r.text for r in calls)
    assert await announce_campaign(bot.services, 2027, date(2027, 1, 5), bot.clock.now()) == len(calls)
    assert len([r for r in await bot.outbox() if r.dedupe_key.startswith("wishes:2027:group:")]) == len(calls)
    wish = await published(bot)
    assert wish.campaign_id is not None
    bot.clock.set(datetime(2027, 2, 1, 2, 0, tzinfo=UTC))
    assert await campaign_summary(bot.services, date(2027, 2, 1), bot.clock.now()) > 0
    summaries = [r for r in await bot.outbox() if r.dedupe_key.startswith("wishes:2027:summary:")]
    assert summaries and all("新收集 1，发布 1，认领 0，实现 0" in r.text for r in summaries)
    names = await resident_names(bot)
    for row in summaries + calls:
        clean(row.text, names)
    assert await monthly_summary(bot.services, date(2027, 1, 1), bot.clock.now()) > 0
    months = [r for r in await bot.outbox() if r.dedupe_key.startswith("wishes:month:2027-01:")]
    assert months and "2027年1月微心愿月报" in months[0].text


async def test_public_outputs_never_carry_a_wishers_personal_data(bot):
    wish = await published(bot)
    await make_wish(bot, "R001", "我叫张桂兰，住铁塔厂家属院3号楼101，电话13709171001，想要一个助行器", group="JT-TTC-01")
    await bot.resident("P004", f"认领 {wish.number}")
    await bot.resident("P004", "实现 W1 已完成 [图片]", photos=1)
    directory = bot.services.directory
    names = await resident_names(bot)
    async with bot.services.sessions() as session:
        wall = await published_wishes(session, directory, directory.by_code("610302").id)
        start, end = week_bounds("2026-W49", bot.services.settings.tz)
        section = await weekly_section(session, directory, directory.by_code("JT-WX"), start - timedelta(days=7), end)
        units = [directory.by_code("JT-WX").id, directory.by_code("JT-WX-01").id]
        sections = await weekly_sections(session, directory, units, start - timedelta(days=7), end)
    assert sections[units[0]] == sections[units[1]] == section
    assert [w.number for w in wall] == ["W1"]  # W2 is not reviewed yet: not public
    for item in wall:
        clean(f"{item.title}{item.text}{item.claimed_by}{item.community}", names)
    assert "微心愿：新收集 1，发布 1，认领 1，实现 1" in section
    report = report_text("宝鸡卫校社区", "2026-W49", Figures(), section)
    assert section in report
    clean(report, names)
    groups = [r for r in await bot.outbox() if r.recipient.startswith("group:") or r.recipient.startswith("claimer:")]
    for row in groups:
        if "仅供您联系心愿人" not in row.text:  # the approved claimer's own copy of the private details
            clean(row.text, names)
    # A group's own confirmation repeats only what would be public.
    answer = await bot.resident("R001", "#微心愿 我是张桂兰，电话13709171001，3号楼101，想学用智能手机",
                                group="JT-TTC-01")
    assert "智能手机" in answer
    clean(answer, names)


async def test_registered_claimers_are_loaded_from_the_district_file(bot):
    async with bot.services.sessions() as session:
        claimers = (await session.scalars(select(Claimer).order_by(Claimer.id))).unique().all()
    assert [c.code for c in claimers] == ["P001", "P002", "P003", "P004", "U001", "U002"]
    assert all(c.status is ClaimerStatus.APPROVED for c in claimers)
    assert claimers[0].staff_id is not None and claimers[3].resident_id is not None


async def test_who_a_wisher_is_stays_in_the_public_wording_and_their_name_does_not(bot):
    wish = await make_wish(bot, "R003", "我是独居老人，冬天屋里太冷，想要个电暖器")
    assert wish.public_text.startswith("我是独居老人"), wish.public_text  # no name: who they are is the wish's reason
    named = await make_wish(bot, "R003", "我是王秀英，腿脚不好，想要个助行器")
    assert "王秀英" not in named.public_text and "助行器" in named.public_text, named.public_text
    answer = await bot.staff("C003", "公开 W1 独居老人想要电暖器｜我是独居老人，冬天屋里太冷，想要个电暖器")
    assert "已修改 W1 的公开内容" in answer and "个人信息" not in answer, answer  # the reviewer's wording is not refused
