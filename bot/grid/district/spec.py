"""A district file's vocabulary and its validated form: units, staff, residents, groups, and the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from models import PlaceKind, StaffRole, UnitLevel

CHANNELS = frozenset({"console", "telegram", "wechat", "wecom"})
CONSOLE = "console"
MAX_BUILDINGS = 300

LEVEL_WORDS: dict[str, UnitLevel] = {
    **{level.value: level for level in UnitLevel}, **{level.label: level for level in UnitLevel},
    "镇": UnitLevel.STREET, "小区": UnitLevel.GRID,
}
ROLE_WORDS: dict[str, StaffRole] = {**{role.value: role for role in StaffRole}, **{role.label: role for role in StaffRole}}

TOP_KEYS = frozenset({"district", "units", "departments", "staff", "staff_csv", "residents", "groups",
                      "groups_csv", "claimers", "claimers_csv"})  # claimers: read by bot.community.claimers
UNIT_KEYS = frozenset({"code", "name", "level", "aliases", "children", "buildings", "group", "parent", "location",
                       "roads", "landmarks"})
PLACE_KEYS = frozenset({"name", "aliases", "communities"})
STAFF_KEYS = frozenset({"code", "name", "role", "unit", "department", "phone", "on_duty", "identities"})
RESIDENT_KEYS = frozenset({"code", "name", "phone", "home", "identities"})
GROUP_KEYS = frozenset({"channel", "chat_id", "unit", "title"})
STAFF_REQUIRED = frozenset({"code", "name", "role", "unit"})

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_TRUE = {"true", "yes", "1", "是", "y"}
_FALSE = {"false", "no", "0", "否", "n", ""}


class DistrictError(Exception):
    """A district file is wrong; every line of the message reads 'file:line: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class DistrictSummary:
    units: int
    staff: int
    groups: int
    residents: int


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a district file, for error messages."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class UnitSpec:
    code: str
    name: str
    level: UnitLevel | None  # None until inferred from the parent
    parent: str | None
    aliases: tuple[str, ...]
    where: Where
    location: tuple[float, float] | None = None  # (latitude, longitude), WGS-84


@dataclass(frozen=True)
class PlaceSpec:
    """A road (on a street, with the communities it runs through) or a landmark (on a street or community)."""

    kind: PlaceKind
    name: str
    aliases: tuple[str, ...]
    unit: str
    communities: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class StaffSpec:
    code: str
    name: str
    role: StaffRole
    unit: str
    department: str | None
    phone: str | None
    on_duty: bool
    identities: tuple[tuple[str, str], ...]
    where: Where


@dataclass(frozen=True)
class ResidentSpec:
    code: str
    name: str
    phone: str | None
    home: str | None
    identities: tuple[tuple[str, str], ...]
    where: Where


@dataclass(frozen=True)
class GroupSpec:
    channel: str
    chat_id: str
    unit: str
    title: str
    where: Where


@dataclass
class DistrictSpec:
    """A validated district: units parents first, then the people and groups bound to them."""

    units: list[UnitSpec] = field(default_factory=list)
    staff: list[StaffSpec] = field(default_factory=list)
    residents: list[ResidentSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
    places: list[PlaceSpec] = field(default_factory=list)
