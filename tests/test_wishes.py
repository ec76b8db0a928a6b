"""Micro-wishes end to end through the console: collected, reviewed, published, claimed, fulfilled, thanked."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.community.publishing import published_wishes
from models import Claim, ClaimStatus, CommunityEvent, Rating, Wish, WishStatus
from tests.harness import Harness

WISH = "我是王丽，住3号楼2单元501，电话13709171003。家里老人腿脚不好，希望周末有志愿者陪他去医院复查"
PERSONAL = ("王丽", "13709171003", "501", "3号楼", "2单元")


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def wishes(bot: Harness) -> list[Wish]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(Wish).order_by(Wish.id))).unique().all())


async def events(bot: Harness, wish_id: int) -> list[str]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(CommunityEvent.action).where(CommunityEvent.wish_id == wish_id)
                                           .order_by(CommunityEvent.id))).all())


async def make_wish(bot: Harness, who: str = "R003", text: str = WISH, **kwargs) -> Wish:  # type: ignore[no-untyped-def]
    answer = await bot.resident(who, f"#微心愿 {text}", **kwargs)
    assert "确认" in answer, answer
    answer = await bot.resident(who, "确认", **kwargs)
    assert "编号 W" in answer, answer
    return (await wishes(bot))[-1]


async def test_wish_from_collection_to_thanks(bot):
    wish = await make_wish(bot)
    assert wish.status is WishStatus.COLLECTED and bot.services.directory.unit(wish.community_id).code == "JT-WX"
    assert not any(p in wish.public_text + wish.public_title for p in PERSONAL), wish.public_text
    [review] = await bot.outbox("staff:S003") or await bot.outbox("staff:C003")
    assert "待审核" in review.text and "将公开的内容" in review.text

    answer = await bot.staff("C003", f"通过 {wish.number}")
    assert "已审核通过" in answer and "将公开的内容" in answer
    answer = await bot.staff("C003", f"发布 {wish.number}")
    assert "已发布" in answer and "已通知 2 位" in answer  # P004 and the hospital, both of 西岭(JT-WX)
    [announcement] = await bot.outbox("claimer:4")
    assert "认领 W1" in announcement.text and not any(p in announcement.text for p in PERSONAL)

    wall = await bot.resident("P004", "心愿墙")
    assert "W1" in wall and "待认领" in wall
    before = await bot.resident("P004", "心愿 W1")
    assert "老人" in before and "13709171003" not in before and "王丽" not in before
    answer = await bot.resident("P004", "认领 W1")
    assert "认领成功" in answer and "王丽" in answer and "137****1003" in answer and "13709171003" not in answer
    assert "王丽" in await bot.resident("P004", "心愿 W1")  # private details once the claim is approved
    assert (await wishes(bot))[0].status is WishStatus.CLAIMED

    assert "已记录" in await bot.resident("P004", "进展 W1 已联系家属，约好周六上午")
    assert "照片" in await bot.resident("P004", "实现 W1 已陪老人完成复查")
    assert "已标记为实现" in await bot.resident("P004", "", photos=1)
    done = (await wishes(bot))[0]
    assert done.status is WishStatus.FULFILLED and done.fulfil_media and "复查" in done.fulfil_note

    asked = [r for r in await bot.outbox("resident:" + str(done.wisher_id)) if "已实现" in r.text]
    assert asked and ["感谢", "感谢 W1"] in asked[0].extras["buttons"]
    assert "谢谢您的反馈" in await bot.resident("R003", "满意 W1 太感谢了")
    thanked = (await wishes(bot))[0]
    assert thanked.status is WishStatus.THANKED and thanked.rating is Rating.SATISFIED
    assert any("答谢" in r.text for r in await bot.outbox("claimer:4"))

    assert "已登记 2.5 小时" in await bot.resident("P004", "工时 W1 2.5 陪同就医")
    assert "已确认" in await bot.staff("C003", "确认工时 G1")
    assert await events(bot, 1) == ["collect", "approve", "publish", "claim", "progress", "fulfil", "thank",
                                    "log_hours", "confirm_hours"]
    async with bot.services.sessions() as session:
        [public] = await published_wishes(session, bot.services.directory, bot.services.directory.by_code("JT").id)
    assert public.status_label == "已答谢" and public.claimed_by == "渭滨区教育局党员" and public.progress == 3


async def test_review_edits_merges_and_declines(bot):
    first = await make_wish(bot)
    second = await make_wish(bot, text="希望有人周末陪老人去医院")
    third = await make_wish(bot, text="想申请低保")
    refused = await bot.staff("C003", f"公开 {first.number} 王丽的心愿｜陪老人复查")
    assert "个人信息" in refused and "王丽" in refused
    assert "已修改" in await bot.staff("C003", f"公开 {first.number} 陪老人复查｜老人腿脚不便，希望周末有人陪同复查")
    assert "已合并" in await bot.staff("C003", f"合并 {second.number} 到 {first.number}")
    assert "原因" in await bot.staff("C003", f"不采纳 {third.number}")
    assert "未采纳" in await bot.staff("C003", f"不采纳 {third.number} 低保请到社区窗口申请")
    statuses = [w.status for w in await wishes(bot)]
    assert statuses == [WishStatus.COLLECTED, WishStatus.MERGED, WishStatus.DECLINED]
    assert (await wishes(bot))[0].public_title == "陪老人复查"
    assert any("低保请到社区窗口" in r.text for r in await bot.outbox(f"resident:{third.wisher_id}"))
    assert "未找到您可管理" in await bot.staff("C001", f"发布 {first.number}")  # another community's staff


async def test_permissions(bot):
    wish = await make_wish(bot)
    assert "双报到" in await bot.resident("R003", "认领 W1")  # not published, and not a claimer anyway
    assert "认领" not in await bot.resident("P004", "心愿 W1") or "没有找到" in await bot.resident("P004", "心愿 W1")
    await bot.staff("C003", f"发布 {wish.number}")
    assert "先登记" in await bot.resident("R003", "认领 W1")  # a resident who never registered
    assert "本社区心愿墙上没有" in await bot.staff("V001", "认领 W1")  # a claimer of another community
    assert "未找到您可管理" in await bot.staff("W001", f"通过 {wish.number}")  # grid workers do not review

    # The community wants claims approved: the claimer sees private details only after approval.
    assert "需要社区审批" in await bot.staff("C003", "认领审批 开")
    answer = await bot.resident("P004", "认领 W1")
    assert "社区审批后" in answer and "王丽" not in answer
    assert "还在等社区审批" in await bot.resident("P004", "进展 W1 已联系")
    assert "王丽" not in await bot.resident("P004", "心愿 W1")
    assert "已批准" in await bot.staff("C003", "批准认领 W1")
    assert any("王丽" in r.text for r in await bot.outbox("claimer:4"))
    assert "王丽" in await bot.resident("P004", "心愿 W1")

    # A wisher who is also a registered claimer never claims their own wish.
    await bot.resident("R003", "双报到 王丽 渭滨区人民医院 党员")
    await bot.staff("C003", "通过 D7")
    own = await make_wish(bot, text="希望有人帮忙修一下自行车")
    await bot.staff("C003", f"发布 {own.number}")
    assert "不能认领自己" in await bot.resident("R003", f"认领 {own.number}")


async def test_two_claimers_at_once_exactly_one_wins(bot):
    wish = await make_wish(bot)
    await bot.staff("C003", f"发布 {wish.number}")
    # Two approved claimers of the community, the party member P004 and the hospital U002, press at once.
    replies = await asyncio.gather(bot.send(bot.inbound("P004", "认领 W1")), bot.send(bot.inbound("U002", "认领 W1")))
    texts = ["\n".join(r.text for r in rs) for rs in replies]
    assert sum("认领成功" in t for t in texts) == 1, texts
    assert sum("已被其他人认领" in t or "已有人认领" in t for t in texts) == 1, texts
    async with bot.services.sessions() as session:
        claims = (await session.scalars(select(Claim))).unique().all()
    assert len(claims) == 1 and claims[0].status is ClaimStatus.ACTIVE and claims[0].live_key == "wish:1"


async def test_a_volunteer_typing_the_wish_word_sees_the_wall(bot):
    wish = await make_wish(bot, "R001", "希望有人教老人用智能手机", group="JT-TTC-01")
    await bot.staff("C001", f"发布 {wish.number}")
    answer = await bot.staff("V001", "微心愿")
    assert "心愿墙" in answer and wish.number in answer
    assert "W1" in await bot.staff("H001", "心愿墙")  # the 党员中心户 of the same building is a claimer too
    assert "认领成功" in await bot.staff("H001", "认领 W1")
    assert "请说说您的微心愿" in await bot.resident("R001", "微心愿")  # a resident still makes a wish


async def test_the_database_holds_one_live_claim_per_wish(bot):
    wish = await make_wish(bot)
    await bot.staff("C003", f"发布 {wish.number}")
    await bot.resident("P004", "认领 W1")
    async with bot.services.sessions() as session:
        claim = (await session.scalars(select(Claim))).unique().one()
    with pytest.raises(IntegrityError):
        async with bot.services.sessions.begin() as session:
            session.add(Claim(wish_id=1, claimer_id=6, status=ClaimStatus.PENDING, live_key="wish:1",
                              claimed_at=claim.claimed_at, last_progress_at=claim.claimed_at, reminders=0,
                              end_note=""))
    assert "已放弃" in await bot.resident("P004", "放弃 W1 临时出差")
    assert (await wishes(bot))[0].status is WishStatus.PUBLISHED
    assert "认领成功" in await bot.resident("U002", "认领 W1")  # a released slot is free again
