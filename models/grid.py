"""The five-level grid and the people on it: units, staff, residents, their channel identities, groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, LabelledEnum, UTCDateTime
from models.base import enum_column as _enum


class UnitLevel(LabelledEnum):
    DISTRICT = "district", "区"
    STREET = "street", "街道"  # 街道 or 镇
    COMMUNITY = "community", "社区"
    GRID = "grid", "网格"  # usually one compound 小区
    BUILDING = "building", "楼栋"
    HOUSEHOLD = "household", "党员中心户"

    @property
    def depth(self) -> int:
        return _DEPTHS[self]


_DEPTHS = {level: depth for depth, level in enumerate(UnitLevel)}


class StaffRole(LabelledEnum):
    GRID_WORKER = "grid_worker", "网格员"
    BUILDING_LEAD = "building_lead", "楼栋长"
    HOUSEHOLD_LEAD = "household_lead", "党员中心户"
    COMMUNITY_STAFF = "community_staff", "社区工作人员"
    COMMUNITY_SECRETARY = "community_secretary", "社区书记"
    STREET_OFFICER = "street_officer", "街道干部"
    DEPARTMENT = "department", "职能部门"  # 城管, 物业, 司法所, 供水 ...
    VOLUNTEER = "volunteer", "志愿者"  # and 双报到党员

    @property
    def levels(self) -> frozenset[UnitLevel]:
        """The grid levels a person of this role is bound to (the district loader refuses any other)."""
        return ROLE_LEVELS[self]

    @property
    def phone_is_public(self) -> bool:
        """Whether residents may read this role's phone number (a post's number on the community's notice board);
        the others (residents who serve: building and household leads, volunteers) are shown masked."""
        return self in PUBLIC_PHONE_ROLES

    @property
    def home_level(self) -> UnitLevel:
        """The level routing looks for this role's people at: the case unit's ancestor of that level."""
        return max(ROLE_LEVELS[self], key=lambda level: level.depth)


PUBLIC_PHONE_ROLES = frozenset({StaffRole.GRID_WORKER, StaffRole.COMMUNITY_STAFF, StaffRole.COMMUNITY_SECRETARY,
                                StaffRole.STREET_OFFICER, StaffRole.DEPARTMENT})
# Where each role sits, so routing (which looks staff up at the case unit's ancestor of the role's level) finds it.
ROLE_LEVELS: dict[StaffRole, frozenset[UnitLevel]] = {
    StaffRole.GRID_WORKER: frozenset({UnitLevel.GRID}),
    StaffRole.BUILDING_LEAD: frozenset({UnitLevel.BUILDING}),
    StaffRole.HOUSEHOLD_LEAD: frozenset({UnitLevel.HOUSEHOLD}),
    StaffRole.COMMUNITY_STAFF: frozenset({UnitLevel.COMMUNITY}),
    StaffRole.COMMUNITY_SECRETARY: frozenset({UnitLevel.COMMUNITY}),
    StaffRole.STREET_OFFICER: frozenset({UnitLevel.STREET}),
    StaffRole.DEPARTMENT: frozenset({UnitLevel.DISTRICT, UnitLevel.STREET}),
    StaffRole.VOLUNTEER: frozenset({UnitLevel.COMMUNITY}),
}


class GridUnit(Base):
    """One node of the grid tree; `path` holds the ids from the root (/1/4/17/) for subtree queries."""

    __tablename__ = "grid_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[UnitLevel] = mapped_column(_enum(UnitLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), index=True, default="/")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Where the unit is (WGS-84), when the district file says: Open311 places a lat/long at the nearest unit.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[GridUnit | None] = relationship(remote_side=[id], lazy="raise")

    def contains(self, other: GridUnit) -> bool:
        return other.path.startswith(self.path)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[GridUnit] = relationship(lazy="joined")


class Resident(Base):
    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("grid_unit.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Identity(Base):
    """A person's account on one channel; belongs to exactly one staff member or one resident."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    private_chat_id: Mapped[str | None] = mapped_column(String(128))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatGroup(Base):
    """A resident group chat bound to a grid unit."""

    __tablename__ = "chat_group"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(128), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    extras: Mapped[dict] = mapped_column(JSON, default=dict)

    unit: Mapped[GridUnit] = relationship(lazy="joined")


Index("ix_staff_role_unit", Staff.role, Staff.unit_id)


class PlaceKind(LabelledEnum):
    ROAD = "road", "道路"
    LANDMARK = "landmark", "公共场所"  # squares, parks, markets, stations: named places that are not compounds


class GridPlace(Base):
    """A road or landmark the district file names: reports about it land at its unit (a street or community).

    `communities` lists the communities a road runs through (unit ids), so a report can land at the one the
    resident lives in."""

    __tablename__ = "grid_place"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PlaceKind] = mapped_column(_enum(PlaceKind))
    name: Mapped[str] = mapped_column(String(128))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"), index=True)
    communities: Mapped[list[int]] = mapped_column(JSON, default=list)


class GridVersion(Base):
    """One row counting changes to the grid units, so running services see a district loaded after they started."""

    __tablename__ = "grid_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
