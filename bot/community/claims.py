"""Claims on wishes and projects: one live claim per wish, held by the database; approval, progress, release."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.common import (
    SYSTEM,
    Refused,
    Who,
    may_manage,
    notify_claimer,
    notify_managers,
    notify_staff_member,
    notify_wisher,
    record,
)
from bot.community.wishes import load_wish, managed_wish, private_lines, public_lines
from bot.grid.directory import GridDirectory
from bot.pipeline.identities import Actor
from models import (
    Claim,
    Claimer,
    ClaimerStatus,
    ClaimStatus,
    CommunityPolicy,
    Project,
    ProjectStatus,
    Staff,
    Wish,
    WishStatus,
)
from models.db import dialect_insert

W = WishStatus
HELD = (W.CLAIMED, W.IN_PROGRESS)


def approved(claimer: Claimer | None) -> Claimer:
    """The claimer, when their 双报到 registration was approved."""
    if claimer is None:
        raise Refused("认领心愿需要先登记「双报到」：发送「双报到」登记，社区审核通过后即可认领。")
    if claimer.status is not ClaimerStatus.APPROVED:
        raise Refused(f"您的双报到登记{claimer.status.label}，通过后才能认领。")
    return claimer


async def needs_approval(session: AsyncSession, community_id: int) -> bool:
    return bool(await session.scalar(select(CommunityPolicy.claim_approval)
                                     .where(CommunityPolicy.unit_id == community_id)))


async def set_claim_approval(session: AsyncSession, community_id: int, on: bool) -> None:
    policy = await session.get(CommunityPolicy, community_id)
    if policy is None:
        session.add(CommunityPolicy(unit_id=community_id, claim_approval=on))
    else:
        policy.claim_approval = on


async def _take_slot(session: AsyncSession, key: str, values: dict) -> int | None:
    """Inserts a live claim under its slot key; None when someone else holds the slot (the database decides)."""
    return await session.scalar(dialect_insert(session)(Claim).values(live_key=key, **values)
                                .on_conflict_do_nothing(index_elements=["live_key"]).returning(Claim.id))


async def claim_wish(session: AsyncSession, claimer: Claimer | None, wish_id: int, now: datetime) -> Claim:
    """Claims a published wish of the claimer's community; waits for staff approval where the community asks."""
    claimer = approved(claimer)
    wish = await load_wish(session, wish_id)
    if wish is None or wish.community_id != claimer.community_id or wish.status in (W.COLLECTED, W.REVIEWED):
        raise Refused(f"本社区心愿墙上没有 W{wish_id}。发送「心愿墙」查看可认领的心愿。")
    if claimer.resident_id is not None and claimer.resident_id == wish.wisher_id:
        raise Refused("不能认领自己提出的心愿。")
    if wish.status is not W.PUBLISHED:
        raise Refused(f"{wish.number} {wish.status.label}，已有人认领或已不可认领。")
    pending = await needs_approval(session, wish.community_id)
    status = ClaimStatus.PENDING if pending else ClaimStatus.ACTIVE
    claim_id = await _take_slot(session, f"wish:{wish.id}", {
        "wish_id": wish.id, "claimer_id": claimer.id, "status": status, "claimed_at": now,
        "approved_at": None if pending else now, "last_progress_at": now, "reminders": 0, "end_note": ""})
    if claim_id is None:
        raise Refused(f"{wish.number} 刚刚已被其他人认领。")
    taken = await session.execute(update(Wish).where(Wish.id == wish.id, Wish.status == W.PUBLISHED)
                                  .values(status=W.CLAIMED, claimed_at=now, updated_at=now)
                                  .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise Refused(f"{wish.number} 刚刚已被其他人认领。")
    await session.refresh(wish)
    record(session, Who.claimer(claimer), "claim", now, wish_id=wish.id, claimer_id=claimer.id, before=W.PUBLISHED,
           after=W.CLAIMED, note=status.label)
    claim = await session.get(Claim, claim_id)
    assert claim is not None
    who = f"{claimer.organisation or claimer.kind.label}（{claimer.name}）"
    if pending:
        await notify_managers(session, wish.community_id, f"{who} 申请认领 {wish.number}「{wish.public_title}」，"
                              f"请审批：回复「批准认领 {wish.number}」或「驳回认领 {wish.number} 原因」。",
                              key=f"claim:{claim.id}:asked", now=now,
                              buttons=[["批准", f"批准认领 {wish.number}"], ["驳回", f"驳回认领 {wish.number}"]])
    else:
        await _welcome(session, claim, wish, now, tell_claimer=False)  # the reply to the claim tells them
    await notify_wisher(session, wish, f"好消息：您的微心愿 {wish.number} 已被认领"
                        + ("，社区审批后开始实现。" if pending else "，将有党员志愿者与您联系。"),
                        key=f"wish:{wish.id}:claimed:{claim.id}", now=now)
    return claim


async def _welcome(session: AsyncSession, claim: Claim, wish: Wish, now: datetime, *, tell_claimer: bool = True) -> None:
    """Sends an approved claimer the private details, and tells the organiser."""
    if tell_claimer:
        await notify_claimer(session, claim.claimer, f"您已认领 {wish.number}，以下信息仅供您联系心愿人，请勿外传：\n"
                             f"{public_lines(wish)}\n{private_lines(wish)}\n"
                             f"进展请回复「进展 {wish.number} 内容」，实现后回复「实现 {wish.number} 说明」并附照片。",
                             key=f"claim:{claim.id}:approved", now=now)
    if wish.organiser_id is not None and (organiser := await session.get(Staff, wish.organiser_id)):
        await notify_staff_member(session, organiser, f"{claim.claimer.name}（{claim.claimer.organisation or '个人'}）"
                                  f"认领了 {wish.number}「{wish.public_title}」。", key=f"claim:{claim.id}:organiser",
                                  now=now)


async def live_claims_of(session: AsyncSession, claimer_id: int) -> list[Claim]:
    return list((await session.scalars(select(Claim).where(
        Claim.claimer_id == claimer_id, Claim.status.in_([ClaimStatus.PENDING, ClaimStatus.ACTIVE]))
        .order_by(Claim.id))).unique())


async def live_claim(session: AsyncSession, wish_id: int) -> Claim | None:
    return await session.scalar(select(Claim).where(Claim.live_key == f"wish:{wish_id}"))


async def decide_claim(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int, approve: bool,
                       reason: str, now: datetime) -> Claim:
    """Staff approve a pending claim (the claimer then sees the private details) or turn it down."""
    wish = await managed_wish(session, directory, actor, wish_id)
    claim = await live_claim(session, wish.id)
    if claim is None or claim.status is not ClaimStatus.PENDING:
        raise Refused(f"{wish.number} 没有待审批的认领。")
    if approve:
        claim.status, claim.approved_at, claim.last_progress_at = ClaimStatus.ACTIVE, now, now
        record(session, Who.of(actor), "approve_claim", now, wish_id=wish.id, claimer_id=claim.claimer_id)
        await _welcome(session, claim, wish, now)
        return claim
    await _end(session, claim, wish, ClaimStatus.REJECTED, Who.of(actor), reason or "社区未批准", now)
    await notify_claimer(session, claim.claimer, f"您对 {wish.number} 的认领未获批准：{reason or '社区另有安排'}。",
                         key=f"claim:{claim.id}:rejected", now=now)
    return claim


async def _end(session: AsyncSession, claim: Claim, wish: Wish, status: ClaimStatus, who: Who, note: str,
               now: datetime) -> None:
    """Ends a live claim; an unfinished wish goes back on the wall."""
    claim.status, claim.live_key, claim.ended_at, claim.end_note = status, None, now, note
    if status is not ClaimStatus.DONE and wish.status in HELD:
        before, wish.status, wish.updated_at = wish.status, W.PUBLISHED, now
        record(session, who, "release" if status is ClaimStatus.RELEASED else "reject_claim", now, wish_id=wish.id,
               claimer_id=claim.claimer_id, before=before, after=W.PUBLISHED, note=note)


async def claim_of(session: AsyncSession, claimer: Claimer | None, wish_id: int, *, active: bool = True) -> Claim:
    """The claimer's live claim on the wish (approved, when `active`)."""
    claimer = approved(claimer)
    claim = await live_claim(session, wish_id)
    if claim is None or claim.claimer_id != claimer.id:
        raise Refused(f"您没有认领 W{wish_id}。")
    if active and claim.status is not ClaimStatus.ACTIVE:
        raise Refused(f"您对 W{wish_id} 的认领还在等社区审批。")
    return claim


async def release(session: AsyncSession, claimer: Claimer | None, wish_id: int, note: str, now: datetime) -> Wish:
    """The claimer gives a wish back; it returns to the wall."""
    claim = await claim_of(session, claimer, wish_id, active=False)
    wish = await load_wish(session, wish_id)
    assert wish is not None
    await _end(session, claim, wish, ClaimStatus.RELEASED, Who.claimer(claim.claimer), note or "认领人放弃", now)
    await notify_managers(session, wish.community_id, f"{claim.claimer.name} 放弃了 {wish.number}"
                          f"「{wish.public_title}」，心愿已回到心愿墙。{note}", key=f"claim:{claim.id}:released", now=now)
    return wish


async def post_progress(session: AsyncSession, claimer: Claimer | None, wish_id: int, note: str,
                        now: datetime) -> Wish:
    """Progress from the claimer: the wisher hears it, and the reminder clock starts again."""
    if not note:
        raise Refused(f"请写进展内容，例如：进展 W{wish_id} 已联系心愿人，约好周六上门。")
    claim = await claim_of(session, claimer, wish_id)
    wish = await load_wish(session, wish_id)
    assert wish is not None
    before = wish.status
    wish.status, wish.updated_at = W.IN_PROGRESS, now
    claim.last_progress_at, claim.reminders = now, 0
    record(session, Who.claimer(claim.claimer), "progress", now, wish_id=wish.id, claimer_id=claim.claimer_id,
           before=before, after=W.IN_PROGRESS, note=note)
    await notify_wisher(session, wish, f"您的微心愿 {wish.number} 有新进展：{note}",
                        key=f"wish:{wish.id}:progress:{now.isoformat()}", now=now)
    return wish


async def fulfil(session: AsyncSession, claimer: Claimer | None, wish_id: int, note: str, media: list[dict],
                 now: datetime) -> Wish:
    """The claimer marks the wish fulfilled with a note and a photo; the wisher is asked to thank or rate."""
    claim = await claim_of(session, claimer, wish_id)
    if not media:
        raise Refused("请附上一张实现心愿的照片。")
    wish = await load_wish(session, wish_id)
    assert wish is not None
    before = wish.status
    wish.status, wish.fulfil_note, wish.fulfil_media = W.FULFILLED, note or "心愿已实现", media
    wish.fulfilled_at = wish.updated_at = now
    await _end(session, claim, wish, ClaimStatus.DONE, Who.claimer(claim.claimer), note, now)
    record(session, Who.claimer(claim.claimer), "fulfil", now, wish_id=wish.id, claimer_id=claim.claimer_id,
           before=before, after=W.FULFILLED, note=wish.fulfil_note)
    await notify_wisher(session, wish, f"您的微心愿 {wish.number} 已实现：{wish.fulfil_note}\n"
                        f"回复「感谢 {wish.number} 想说的话」答谢，或评价「满意 / 基本满意 / 不满意 {wish.number}」。",
                        key=f"wish:{wish.id}:fulfilled", now=now,
                        buttons=[["感谢", f"感谢 {wish.number}"], ["满意", f"满意 {wish.number}"],
                                 ["不满意", f"不满意 {wish.number}"]])
    if wish.organiser_id is not None and (organiser := await session.get(Staff, wish.organiser_id)):
        await notify_staff_member(session, organiser, f"{wish.number}「{wish.public_title}」已由 {claim.claimer.name} "
                                  f"实现：{wish.fulfil_note}", key=f"wish:{wish.id}:fulfilled", now=now)
    return wish


async def claim_project(session: AsyncSession, claimer: Claimer | None, project_id: int, now: datetime) -> Claim:
    """A claimer (usually a unit) joins a project of its community; several may, each once."""
    claimer = approved(claimer)
    project = await session.get(Project, project_id)
    if project is None or project.community_id != claimer.community_id:
        raise Refused(f"本社区没有实事项目 P{project_id}。")
    if project.status is ProjectStatus.DONE:
        raise Refused(f"{project.number} 已完成。")
    claim_id = await _take_slot(session, f"project:{project.id}:{claimer.id}", {
        "project_id": project.id, "claimer_id": claimer.id, "status": ClaimStatus.ACTIVE, "claimed_at": now,
        "approved_at": now, "last_progress_at": now, "reminders": 0, "end_note": ""})
    if claim_id is None:
        raise Refused(f"您已认领 {project.number}。")
    record(session, Who.claimer(claimer), "claim", now, project_id=project.id, claimer_id=claimer.id)
    if project.owner is not None:
        await notify_staff_member(session, project.owner, f"{claimer.organisation or claimer.name} 认领了实事项目 "
                                  f"{project.number}「{project.title}」。", key=f"claim:{claim_id}:project", now=now)
    claim = await session.get(Claim, claim_id)
    assert claim is not None
    return claim


async def due_claims(session: AsyncSession, before: datetime) -> list[Claim]:
    """Approved wish claims with no progress since `before`."""
    return list((await session.scalars(select(Claim).where(
        Claim.status == ClaimStatus.ACTIVE, Claim.wish_id.is_not(None), Claim.last_progress_at <= before)
        .order_by(Claim.id))).unique())


async def remind_or_release(session: AsyncSession, claim: Claim, *, remind_after: timedelta,
                            release_after: timedelta, now: datetime) -> str | None:
    """Reminds a claim left without progress, then releases it; returns what was done."""
    wish = await load_wish(session, claim.wish_id or 0)
    assert wish is not None
    idle = now - claim.last_progress_at
    if idle >= release_after:
        await _end(session, claim, wish, ClaimStatus.RELEASED, SYSTEM, "长时间没有进展，自动释放", now)
        await notify_claimer(session, claim.claimer, f"{wish.number}「{wish.public_title}」长时间没有进展，"
                             f"认领已自动释放，心愿回到心愿墙。", key=f"claim:{claim.id}:auto-released", now=now)
        await notify_managers(session, wish.community_id, f"{wish.number} 的认领因长时间没有进展已自动释放。",
                              key=f"claim:{claim.id}:auto-released", now=now)
        return "released"
    if idle >= remind_after and claim.reminders == 0:
        claim.reminders = 1
        record(session, SYSTEM, "remind", now, wish_id=wish.id, claimer_id=claim.claimer_id)
        await notify_claimer(session, claim.claimer, f"您认领的 {wish.number}「{wish.public_title}」已 "
                             f"{idle.days} 天没有进展了。请回复「进展 {wish.number} 内容」，如无法完成请回复"
                             f"「放弃 {wish.number}」。", key=f"claim:{claim.id}:remind", now=now)
        return "reminded"
    return None


def may_see_private(directory: GridDirectory, actor: Actor, wish: Wish, claim: Claim | None,
                    claimer: Claimer | None) -> bool:
    """Staff who manage the wish, its wisher, and the claimer once their claim is approved."""
    if may_manage(directory, actor, wish.community_id):
        return True
    if not actor.is_staff and actor.id == wish.wisher_id:
        return True
    return (claim is not None and claimer is not None and claim.claimer_id == claimer.id
            and claim.status is ClaimStatus.ACTIVE)
