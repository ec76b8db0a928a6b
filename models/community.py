"""Micro-wishes (微心愿), 双报到 claimers and their claims, community projects (为民办十件实事), volunteer hours."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime
from models.cases import Rating
from models.grid import GridUnit, Resident, Staff, _enum


class WishStatus(enum.StrEnum):
    COLLECTED = "collected"  # 待审核
    REVIEWED = "reviewed"  # 已审核
    PUBLISHED = "published"  # 已发布
    CLAIMED = "claimed"  # 已认领
    IN_PROGRESS = "in_progress"  # 实现中
    FULFILLED = "fulfilled"  # 已实现
    THANKED = "thanked"  # 已答谢
    MERGED = "merged"  # 已合并
    DECLINED = "declined"  # 未采纳

    @property
    def label(self) -> str:
        return WISH_STATUS_LABELS[self]


WISH_STATUS_LABELS = {
    WishStatus.COLLECTED: "待审核", WishStatus.REVIEWED: "已审核", WishStatus.PUBLISHED: "已发布",
    WishStatus.CLAIMED: "已认领", WishStatus.IN_PROGRESS: "实现中", WishStatus.FULFILLED: "已实现",
    WishStatus.THANKED: "已答谢", WishStatus.MERGED: "已合并", WishStatus.DECLINED: "未采纳",
}
PUBLIC_WISH_STATUSES = (WishStatus.PUBLISHED, WishStatus.CLAIMED, WishStatus.IN_PROGRESS, WishStatus.FULFILLED,
                        WishStatus.THANKED)


class ClaimerKind(enum.StrEnum):
    PARTY_MEMBER = "party_member"  # 在职党员
    UNIT = "unit"  # 驻区单位 / 包抓单位
    VOLUNTEER = "volunteer"  # 志愿者

    @property
    def label(self) -> str:
        return {"party_member": "党员", "unit": "单位", "volunteer": "志愿者"}[self.value]


class ClaimerStatus(enum.StrEnum):
    PENDING = "pending"  # 待审核
    APPROVED = "approved"  # 已通过
    REJECTED = "rejected"  # 未通过

    @property
    def label(self) -> str:
        return {"pending": "待审核", "approved": "已通过", "rejected": "未通过"}[self.value]


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"  # 待审批
    ACTIVE = "active"  # 认领中
    RELEASED = "released"  # 已释放
    REJECTED = "rejected"  # 未批准
    DONE = "done"  # 已完成

    @property
    def label(self) -> str:
        return {"pending": "待审批", "active": "认领中", "released": "已释放", "rejected": "未批准",
                "done": "已完成"}[self.value]

    @property
    def is_live(self) -> bool:
        return self in (ClaimStatus.PENDING, ClaimStatus.ACTIVE)


class ProjectStatus(enum.StrEnum):
    PLANNED = "planned"  # 计划中
    IN_PROGRESS = "in_progress"  # 推进中
    DONE = "done"  # 已完成

    @property
    def label(self) -> str:
        return {"planned": "计划中", "in_progress": "推进中", "done": "已完成"}[self.value]


class HoursStatus(enum.StrEnum):
    LOGGED = "logged"  # 待确认
    CONFIRMED = "confirmed"  # 已确认
    REJECTED = "rejected"  # 未确认

    @property
    def label(self) -> str:
        return {"logged": "待确认", "confirmed": "已确认", "rejected": "未确认"}[self.value]


class WishCampaign(Base):
    """The annual call for wishes of one year (年度微心愿征集), with its deadline."""

    __tablename__ = "wish_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(128))
    starts_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Claimer(Base):
    """A party member, unit or volunteer registered through 双报到 with a community, approved by its staff."""

    __tablename__ = "claimer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[ClaimerKind] = mapped_column(_enum(ClaimerKind))
    organisation: Mapped[str] = mapped_column(String(128), default="")
    party_member: Mapped[bool] = mapped_column(default=False)
    community_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), unique=True)
    status: Mapped[ClaimerStatus] = mapped_column(_enum(ClaimerStatus))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    community: Mapped[GridUnit] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"D{self.id}"


class CommunityPolicy(Base):
    """How a community runs its wish line: whether claims wait for a staff member's approval."""

    __tablename__ = "community_policy"

    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), primary_key=True)
    claim_approval: Mapped[bool] = mapped_column(default=False)


class Project(Base):
    """One of a community's projects of the year (为民办十件实事); progress rolls up from its milestones."""

    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("community_id", "year", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[ProjectStatus] = mapped_column(_enum(ProjectStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    owner: Mapped[Staff | None] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"P{self.id}"


class Milestone(Base):
    __tablename__ = "project_milestone"
    __table_args__ = (UniqueConstraint("project_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, 0..100
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Wish(Base):
    """A resident's micro-wish: private details for staff (and an approved claimer), public wording for all."""

    __tablename__ = "wish"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[WishStatus] = mapped_column(_enum(WishStatus), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("wish_campaign.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"))
    unit_path: Mapped[str] = mapped_column(String(512), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    place: Mapped[str] = mapped_column(String(256), default="")
    wisher_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    source_channel: Mapped[str] = mapped_column(String(16))
    source_chat_id: Mapped[str] = mapped_column(String(128))
    private_text: Mapped[str] = mapped_column(Text)
    media: Mapped[list[dict]] = mapped_column(JSON, default=list)
    category_code: Mapped[str | None] = mapped_column(String(64))
    category_name: Mapped[str | None] = mapped_column(String(64))
    public_title: Mapped[str] = mapped_column(String(128), default="")
    public_text: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("wish.id"))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # who reviewed it; certifies hours
    decline_reason: Mapped[str | None] = mapped_column(Text)
    fulfil_note: Mapped[str | None] = mapped_column(Text)
    fulfil_media: Mapped[list[dict]] = mapped_column(JSON, default=list)
    thanks: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[Rating | None] = mapped_column(_enum(Rating))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thanked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    wisher: Mapped[Resident] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"W{self.id}"


class Claim(Base):
    """A claimer's claim on a wish or a project."""

    __tablename__ = "claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wish.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    claimer_id: Mapped[int] = mapped_column(ForeignKey("claimer.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(_enum(ClaimStatus), index=True)
    # Set only while the claim is live; its uniqueness holds one live claim per wish (wish:<id>) and one per
    # claimer and project (project:<id>:<claimer id>), whoever commits first.
    live_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_progress_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_note: Mapped[str] = mapped_column(Text, default="")

    claimer: Mapped[Claimer] = relationship(lazy="joined")


class VolunteerHours(Base):
    """Hours a claimer logged on a wish or project; they count only once the organiser confirmed them."""

    __tablename__ = "volunteer_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    claimer_id: Mapped[int] = mapped_column(ForeignKey("claimer.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wish.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    hours: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False))
    worked_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HoursStatus] = mapped_column(_enum(HoursStatus))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    claimer: Mapped[Claimer] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"G{self.id}"


class CommunityEvent(Base):
    """One step in the life of a wish, claim, project, registration or hours entry (责任追溯)."""

    __tablename__ = "community_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wish.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    claimer_id: Mapped[int | None] = mapped_column(ForeignKey("claimer.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))  # resident | staff | claimer | system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


Index("ix_claim_live_progress", Claim.status, Claim.last_progress_at)
Index("ix_hours_totals", VolunteerHours.community_id, VolunteerHours.status, VolunteerHours.worked_on)
