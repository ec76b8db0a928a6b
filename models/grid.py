"""The five-level grid and the people on it: units, staff, residents, their channel identities, groups."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class UnitLevel(enum.StrEnum):
    DISTRICT = "district"
    STREET = "street"  # 街道 or 镇
    COMMUNITY = "community"  # 社区
    GRID = "grid"  # 网格, usually one compound 小区
    BUILDING = "building"  # 楼栋
    HOUSEHOLD = "household"  # 党员中心户

    @property
    def depth(self) -> int:
        return _DEPTHS[self]


_DEPTHS = {level: depth for depth, level in enumerate(UnitLevel)}


class StaffRole(enum.StrEnum):
    GRID_WORKER = "grid_worker"  # 网格员
    BUILDING_LEAD = "building_lead"  # 楼栋长
    HOUSEHOLD_LEAD = "household_lead"  # 党员中心户
    COMMUNITY_STAFF = "community_staff"  # 社区工作人员
    COMMUNITY_SECRETARY = "community_secretary"  # 社区书记
    STREET_OFFICER = "street_officer"  # 街道干部
    DEPARTMENT = "department"  # 职能部门: 城管, 物业, 司法所, 供水 ...
    VOLUNTEER = "volunteer"  # 志愿者 / 双报到党员


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
