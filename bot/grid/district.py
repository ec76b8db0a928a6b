"""Loads a district (units, staff, residents, groups) from YAML and CSV into the database; validates first.

The file format is documented at the top of config/district/demo.yaml. Loading adds and updates rows (units
and staff by code, identities by (channel, user_id), groups by (channel, chat_id)); it never deletes, because
cases keep pointing at units and people that a later file may leave out.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Case, ChatGroup, GridUnit, Identity, Resident, Staff, StaffRole, UnitLevel

CHANNELS = frozenset({"console", "telegram", "wechat", "wecom"})
CONSOLE = "console"
MAX_BUILDINGS = 300

# Where each role has to sit for routing to find it (bot.grid.routing looks staff up at the case unit's ancestor
# of the role's level), so a grid worker bound to a community would silently never get a case.
ROLE_UNIT_LEVELS: dict[StaffRole, frozenset[UnitLevel]] = {
    StaffRole.GRID_WORKER: frozenset({UnitLevel.GRID}),
    StaffRole.BUILDING_LEAD: frozenset({UnitLevel.BUILDING}),
    StaffRole.HOUSEHOLD_LEAD: frozenset({UnitLevel.HOUSEHOLD}),
    StaffRole.COMMUNITY_STAFF: frozenset({UnitLevel.COMMUNITY}),
    StaffRole.COMMUNITY_SECRETARY: frozenset({UnitLevel.COMMUNITY}),
    StaffRole.STREET_OFFICER: frozenset({UnitLevel.STREET}),
    StaffRole.DEPARTMENT: frozenset({UnitLevel.DISTRICT, UnitLevel.STREET}),
    StaffRole.VOLUNTEER: frozenset({UnitLevel.COMMUNITY}),
}

LEVEL_WORDS: dict[str, UnitLevel] = {
    **{level.value: level for level in UnitLevel},
    "区": UnitLevel.DISTRICT, "街道": UnitLevel.STREET, "镇": UnitLevel.STREET, "社区": UnitLevel.COMMUNITY,
    "网格": UnitLevel.GRID, "小区": UnitLevel.GRID, "楼栋": UnitLevel.BUILDING, "党员中心户": UnitLevel.HOUSEHOLD,
}
ROLE_WORDS: dict[str, StaffRole] = {
    **{role.value: role for role in StaffRole},
    "网格员": StaffRole.GRID_WORKER, "楼栋长": StaffRole.BUILDING_LEAD, "党员中心户": StaffRole.HOUSEHOLD_LEAD,
    "社区工作人员": StaffRole.COMMUNITY_STAFF, "社区书记": StaffRole.COMMUNITY_SECRETARY,
    "街道干部": StaffRole.STREET_OFFICER, "职能部门": StaffRole.DEPARTMENT, "志愿者": StaffRole.VOLUNTEER,
}

TOP_KEYS = frozenset({"district", "units", "departments", "staff", "staff_csv", "residents", "groups",
                      "groups_csv"})
UNIT_KEYS = frozenset({"code", "name", "level", "aliases", "children", "buildings", "group", "parent", "location"})
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


# --- reading YAML with line numbers ----------------------------------------------------------------------


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader whose mappings carry line numbers and refuse duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class _Entry:
    """One record (a YAML mapping or a CSV row) with where each of its fields was written."""

    values: Mapping[str, Any]
    file: str
    line: int
    key_lines: Mapping[str, int] = field(default_factory=dict)

    def at(self, key: str | None = None) -> Where:
        return Where(self.file, self.key_lines.get(key, self.line) if key else self.line)

    def get(self, key: str) -> Any:
        return self.values.get(key)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- parsing ---------------------------------------------------------------------------------------------


class _Reader:
    """Turns a district file into a DistrictSpec, collecting every problem before giving up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = _display(path)
        self.problems: list[str] = []
        self.spec = DistrictSpec()
        self.units: dict[str, UnitSpec] = {}
        self.rejected: set[str] = set()  # units refused for their nesting; their subtrees are not re-reported
        self.departments: set[str] | None = None

    def problem(self, where: Where, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def read(self) -> DistrictSpec:
        root = self._load_yaml()
        entry = _Entry(root, self.file, root.line, root.key_lines)
        self._unknown_keys(entry, TOP_KEYS, "the district file")
        self.departments = self._departments(entry)
        district = root.get("district")
        if not isinstance(district, _Mapping):
            self.problem(entry.at("district") if "district" in root else entry.at(),
                         "'district' must be a mapping describing the root unit")
        else:
            self._unit(self._entry(district), None)
        for raw in self._records(entry, "units"):
            self._unit(raw, None, hung=True)
        self._link_units()
        for raw in self._records(entry, "staff"):
            self._staff(raw)
        for raw in self._csv(entry, "staff_csv", STAFF_KEYS, STAFF_REQUIRED):
            self._staff(raw)
        for raw in self._records(entry, "residents"):
            self._resident(raw)
        for raw in self._records(entry, "groups"):
            self._group(raw)
        for raw in self._csv(entry, "groups_csv", GROUP_KEYS, GROUP_KEYS - {"title"}):
            self._group(raw)
        self._check_people()
        if self.problems:
            raise DistrictError(self.problems)
        return self.spec

    def _load_yaml(self) -> _Mapping:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DistrictError([f"{self.file}:1: cannot read the district file: {exc.strerror}"]) from None
        try:
            root = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: builds plain data only
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise DistrictError([f"{self.file}:{line}: invalid YAML: {exc.problem or exc.context}"]) from None
        if not isinstance(root, _Mapping):
            raise DistrictError([f"{self.file}:1: a district file must be a mapping with a 'district' key"])
        return root

    def _entry(self, mapping: _Mapping) -> _Entry:
        return _Entry(mapping, self.file, mapping.line, mapping.key_lines)

    def _records(self, parent: _Entry, key: str) -> Iterator[_Entry]:
        items = parent.get(key)
        if items is None:
            return
        if not isinstance(items, list):
            self.problem(parent.at(key), f"'{key}' must be a list")
            return
        for item in items:
            if isinstance(item, _Mapping):
                yield self._entry(item)
            else:
                self.problem(parent.at(key), f"every item of '{key}' must be a mapping, got {item!r}")

    def _unknown_keys(self, entry: _Entry, allowed: frozenset[str], what: str) -> None:
        for key in entry.values:
            if key not in allowed:
                self.problem(entry.at(str(key)), f"{what}: unknown key {key!r} (expected one of "
                                                 f"{', '.join(sorted(allowed))})")

    def _text(self, entry: _Entry, key: str, what: str, *, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None or value == "":
            if required:
                self.problem(entry.at(key), f"{what}: '{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problem(entry.at(key), f"{what}: '{key}' must be text, got {value!r}")
            return None
        return str(value).strip()

    def _departments(self, root: _Entry) -> set[str] | None:
        names = root.get("departments")
        if names is None:
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            self.problem(root.at("departments"), "'departments' must be a list of names")
            return None
        return {n.strip() for n in names}

    # units

    def _unit(self, entry: _Entry, parent: str | None, *, hung: bool = False) -> None:
        """One unit and its subtree; a `hung` unit (from `units:`) names its parent itself."""
        self._unknown_keys(entry, UNIT_KEYS if hung else UNIT_KEYS - {"parent"}, "unit")
        code = self._code(entry, "code", "unit")
        what = f"unit {code!r}" if code else "unit"
        name = self._text(entry, "name", what)
        if hung:
            parent = self._text(entry, "parent", what)
            if parent is None:
                return
        level = self._level(entry, what)
        aliases = self._aliases(entry, what)
        if code is None or name is None:
            return
        unit = UnitSpec(code, name, level, parent, aliases, entry.at(), self._location(entry, what))
        if not self._add_unit(unit, entry.at("code")):
            return
        self._buildings(entry, unit)
        title = self._text(entry, "group", what, required=False)
        if title:
            self.spec.groups.append(GroupSpec(CONSOLE, f"group:{code}", code, title, entry.at("group")))
        for child in self._records(entry, "children"):
            self._unit(child, code)

    def _add_unit(self, unit: UnitSpec, where: Where) -> bool:
        if unit.code in self.units:
            self.problem(where, f"duplicate unit code {unit.code!r} (first at {self.units[unit.code].where})")
            return False
        self.units[unit.code] = unit
        return True

    def _code(self, entry: _Entry, key: str, what: str) -> str | None:
        code = self._text(entry, key, what)
        if code is not None and not _CODE.match(code):
            self.problem(entry.at(key), f"{what}: code {code!r} may hold only letters, digits, '-', '_', '.'")
            return None
        return code

    def _level(self, entry: _Entry, what: str) -> UnitLevel | None:
        word = entry.get("level")
        if word is None:
            return None
        level = LEVEL_WORDS.get(str(word).strip())
        if level is None:
            self.problem(entry.at("level"), f"{what}: unknown level {word!r} (expected one of "
                                            f"{', '.join(v.value for v in UnitLevel)})")
        return level

    def _location(self, entry: _Entry, what: str) -> tuple[float, float] | None:
        """`location: [latitude, longitude]` in degrees, when the file gives one."""
        raw = entry.get("location")
        if raw is None:
            return None
        if (not isinstance(raw, list) or len(raw) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
                or not (-90 <= raw[0] <= 90 and -180 <= raw[1] <= 180)):
            self.problem(entry.at("location"), f"{what}: 'location' must be [latitude, longitude] in degrees")
            return None
        return float(raw[0]), float(raw[1])

    def _aliases(self, entry: _Entry, what: str) -> tuple[str, ...]:
        raw = entry.get("aliases")
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
            self.problem(entry.at("aliases"), f"{what}: 'aliases' must be a list of names")
            return ()
        aliases = tuple(dict.fromkeys(a.strip() for a in items))
        for alias in aliases:
            if len(alias) < 2:  # one character would match half of all chatter
                self.problem(entry.at("aliases"), f"{what}: alias {alias!r} is shorter than two characters")
        return aliases

    def _buildings(self, entry: _Entry, grid: UnitSpec) -> None:
        """Expands `buildings: 8` (1号楼…8号楼) or `buildings: [1, 2, 5]` into building units."""
        raw = entry.get("buildings")
        if raw is None:
            return
        where = entry.at("buildings")
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= MAX_BUILDINGS:
            numbers = list(range(1, raw + 1))
        elif isinstance(raw, list) and raw and all(
            isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_BUILDINGS for n in raw
        ) and len(set(raw)) == len(raw):
            numbers = raw
        else:
            self.problem(where, f"unit {grid.code!r}: 'buildings' must be a count (1–{MAX_BUILDINGS}) "
                                f"or a list of distinct building numbers")
            return
        for number in numbers:
            code = f"{grid.code}-B{number:02d}"
            self._add_unit(UnitSpec(code, f"{number}号楼", UnitLevel.BUILDING, grid.code, (), where), where)

    def _link_units(self) -> None:
        """Checks parents, infers levels from the root down, orders units parents first."""
        children: dict[str | None, list[UnitSpec]] = defaultdict(list)
        for unit in self.units.values():
            if unit.parent is not None and unit.parent not in self.units:
                self.problem(unit.where, f"unit {unit.code!r}: parent {unit.parent!r} does not exist")
                continue
            children[unit.parent].append(unit)
        roots = children.get(None, [])
        if not roots:
            return  # the 'district' mapping is missing or broken, which is reported already
        (root,) = roots  # only the 'district' mapping may lack a parent
        if root.level not in (None, UnitLevel.DISTRICT):
            self.problem(root.where, f"unit {root.code!r}: the root must be a district, not {root.level}")
        root.level = UnitLevel.DISTRICT
        order = [root]
        for unit in order:  # grows while iterating: breadth first from the root
            assert unit.level is not None
            for child in children.get(unit.code, []):
                if not self._nest(unit, child):
                    continue
                order.append(child)
        self._unreached({u.code for u in order})
        self.spec.units = order

    def _unreached(self, reached: set[str]) -> None:
        """Reports units cut off from the root by a parent cycle; other cut-offs were reported already."""
        for unit in self.units.values():
            seen: set[str] = set()
            current = unit
            while current.code not in reached and current.code not in self.rejected:
                if current.parent is None or current.parent not in self.units:
                    break
                if current.code in seen:
                    self.problem(unit.where, f"unit {unit.code!r}: its parents form a cycle")
                    break
                seen.add(current.code)
                current = self.units[current.parent]

    def _nest(self, parent: UnitSpec, child: UnitSpec) -> bool:
        assert parent.level is not None
        if parent.level is UnitLevel.HOUSEHOLD:
            self.problem(child.where, f"unit {child.code!r}: nothing can sit under household {parent.code!r}")
            self.rejected.add(child.code)
            return False
        expected = list(UnitLevel)[parent.level.depth + 1]
        if child.level is None:
            child.level = expected
        elif child.level is not expected:
            self.problem(child.where, f"unit {child.code!r}: a {child.level} cannot sit directly under "
                                      f"{parent.level} {parent.code!r} (expected a {expected} there)")
            self.rejected.add(child.code)
            return False
        return True

    # people and groups

    def _staff(self, entry: _Entry) -> None:
        self._unknown_keys(entry, STAFF_KEYS, "staff")
        code = self._code(entry, "code", "staff")
        what = f"staff {code!r}" if code else "staff"
        name = self._text(entry, "name", what)
        role = self._role(entry, what)
        unit = self._text(entry, "unit", what)
        department = self._text(entry, "department", what, required=False)
        phone = self._phone(entry, what)
        on_duty = self._flag(entry, "on_duty", what, default=True)
        identities = self._identities(entry, what)
        if role is StaffRole.DEPARTMENT and department is None:
            self.problem(entry.at(), f"{what}: department staff need 'department' (e.g. 城管, 供水, 司法所)")
        if department is not None and self.departments is not None and department not in self.departments:
            self.problem(entry.at("department"), f"{what}: department {department!r} is not in 'departments'")
        if unit is not None and unit not in self.units:
            self.problem(entry.at("unit"), f"{what}: unit {unit!r} does not exist")
        elif unit is not None and role is not None:
            level = self.units[unit].level
            if level is not None and level not in ROLE_UNIT_LEVELS[role]:
                allowed = " or ".join(sorted(v.value for v in ROLE_UNIT_LEVELS[role]))
                self.problem(entry.at("unit"), f"{what}: a {role.value} belongs on a {allowed}, "
                                               f"but {unit!r} is a {level.value}")
        if code is None or name is None or role is None or unit is None:
            return
        if CONSOLE not in {channel for channel, _ in identities}:
            identities = ((CONSOLE, code), *identities)
        self.spec.staff.append(StaffSpec(code, name, role, unit, department, phone, on_duty, identities,
                                         entry.at()))

    def _resident(self, entry: _Entry) -> None:
        self._unknown_keys(entry, RESIDENT_KEYS, "resident")
        code = self._code(entry, "code", "resident")
        what = f"resident {code!r}" if code else "resident"
        name = self._text(entry, "name", what)
        phone = self._phone(entry, what)
        home = self._text(entry, "home", what, required=False)
        identities = self._identities(entry, what)
        if home is not None and home not in self.units:
            self.problem(entry.at("home"), f"{what}: home unit {home!r} does not exist")
        if code is None or name is None:
            return
        if CONSOLE not in {channel for channel, _ in identities}:
            identities = ((CONSOLE, code), *identities)
        self.spec.residents.append(ResidentSpec(code, name, phone, home, identities, entry.at()))

    def _group(self, entry: _Entry) -> None:
        self._unknown_keys(entry, GROUP_KEYS, "group")
        channel = self._channel(entry, "channel", "group")
        chat_id = self._text(entry, "chat_id", "group")
        what = f"group {chat_id!r}" if chat_id else "group"
        unit = self._text(entry, "unit", what)
        title = self._text(entry, "title", what, required=False) or ""
        if unit is not None and unit not in self.units:
            self.problem(entry.at("unit"), f"{what}: unit {unit!r} does not exist")
        if channel and chat_id and unit:
            self.spec.groups.append(GroupSpec(channel, chat_id, unit, title, entry.at()))

    def _role(self, entry: _Entry, what: str) -> StaffRole | None:
        word = self._text(entry, "role", what)
        if word is None:
            return None
        role = ROLE_WORDS.get(word)
        if role is None:
            self.problem(entry.at("role"), f"{what}: unknown role {word!r} (expected one of "
                                           f"{', '.join(r.value for r in StaffRole)})")
        return role

    def _phone(self, entry: _Entry, what: str) -> str | None:
        raw = self._text(entry, "phone", what, required=False)
        if raw is None:
            return None
        phone = re.sub(r"\s", "", raw)
        if not _PHONE.match(phone):
            self.problem(entry.at("phone"), f"{what}: malformed phone {raw!r} (expected an 11-digit mobile "
                                            f"number or an area-code landline such as 0917-3212345)")
            return None
        return phone

    def _flag(self, entry: _Entry, key: str, what: str, *, default: bool) -> bool:
        value = entry.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        self.problem(entry.at(key), f"{what}: '{key}' must be true or false, got {value!r}")
        return default

    def _channel(self, entry: _Entry, key: str, what: str) -> str | None:
        channel = self._text(entry, key, what)
        if channel is not None and channel not in CHANNELS:
            self.problem(entry.at(key), f"{what}: unknown channel {channel!r} (expected one of "
                                        f"{', '.join(sorted(CHANNELS))})")
            return None
        return channel

    def _identities(self, entry: _Entry, what: str) -> tuple[tuple[str, str], ...]:
        """`identities: {telegram: 12345, wecom: lisi}` in YAML, `telegram:12345;wecom:lisi` in CSV."""
        raw = entry.get("identities")
        if raw is None or raw == "":
            return ()
        if isinstance(raw, str):
            pairs = [part.split(":", 1) for part in raw.split(";") if part.strip()]
            if not all(len(p) == 2 for p in pairs):
                self.problem(entry.at("identities"), f"{what}: identities must read 'channel:user_id;…'")
                return ()
            raw = {c.strip(): u.strip() for c, u in pairs}
        if not isinstance(raw, Mapping):
            self.problem(entry.at("identities"), f"{what}: 'identities' must map channel to user id")
            return ()
        found = []
        for channel, user_id in raw.items():
            if channel not in CHANNELS:
                self.problem(entry.at("identities"), f"{what}: unknown channel {channel!r} (expected one of "
                                                     f"{', '.join(sorted(CHANNELS))})")
            elif isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
                self.problem(entry.at("identities"), f"{what}: {channel} user id must be text")
            else:
                found.append((str(channel), str(user_id).strip()))
        return tuple(found)

    def _check_people(self) -> None:
        """Refuses duplicate staff or resident codes, identities claimed twice and groups declared twice."""
        codes: dict[str, Where] = {}
        for person in [*self.spec.staff, *self.spec.residents]:
            kind = "staff" if isinstance(person, StaffSpec) else "resident"
            if person.code in codes:
                self.problem(person.where,
                             f"{kind} {person.code!r}: duplicate code (first at {codes[person.code]})")
            codes.setdefault(person.code, person.where)
        owners: dict[tuple[str, str], tuple[str, Where]] = {}
        for person in [*self.spec.staff, *self.spec.residents]:
            kind = "staff" if isinstance(person, StaffSpec) else "resident"
            for identity in person.identities:
                if identity in owners and owners[identity][0] != person.code:
                    first_code, first_where = owners[identity]
                    self.problem(person.where, f"{kind} {person.code!r}: duplicate identity {identity[0]}:"
                                               f"{identity[1]} (already {first_code!r} at {first_where})")
                owners.setdefault(identity, (person.code, person.where))
        groups: dict[tuple[str, str], Where] = {}
        for group in self.spec.groups:
            key = (group.channel, group.chat_id)
            if key in groups:
                self.problem(group.where, f"group {group.chat_id!r}: duplicate {group.channel} group "
                                          f"(first at {groups[key]})")
            groups.setdefault(key, group.where)

    # CSV

    def _csv(self, root: _Entry, key: str, columns: frozenset[str],
             required: frozenset[str]) -> Iterator[_Entry]:
        """Rows of a CSV named by `key`, beside the YAML; errors name the CSV file and the row's line."""
        name = root.get(key)
        if name is None:
            return
        if not isinstance(name, str) or not name.strip():
            self.problem(root.at(key), f"'{key}' must name a CSV file beside the district file")
            return
        path = self.path.parent / name
        display = _display(path)
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            self.problem(root.at(key), f"'{key}': cannot read {display}: {exc.strerror}")
            return
        with handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            unknown = [h for h in header if h not in columns]
            missing = sorted(required - set(header))
            if unknown or missing:
                self.problem(Where(display, 1), f"{key}: " + "; ".join(filter(None, [
                    f"unknown columns {', '.join(unknown)}" if unknown else "",
                    f"missing columns {', '.join(missing)}" if missing else "",
                ])))
                return
            reader.fieldnames = header
            for row in reader:
                if None in row:
                    self.problem(Where(display, reader.line_num), f"{key}: more fields than columns")
                    continue
                values = {k: v.strip() for k, v in row.items() if v is not None and v.strip()}
                if values:
                    yield _Entry(values, display, reader.line_num)


def read_district(path: Path) -> DistrictSpec:
    """Parses and validates a district file (and the CSV files it names) without touching the database."""
    return _Reader(path).read()


# --- writing ---------------------------------------------------------------------------------------------


async def load_district(session: AsyncSession, path: Path, *, now: datetime) -> DistrictSummary:
    """Validates the district file, then upserts it in the caller's transaction (flushed, not committed)."""
    spec = read_district(path)
    units = await _write_units(session, spec.units)
    await _write_staff(session, spec.staff, units)
    await _write_residents(session, spec.residents, units, now)
    await _write_groups(session, spec.groups, units)
    await session.flush()
    return DistrictSummary(units=len(spec.units), staff=len(spec.staff), groups=len(spec.groups),
                           residents=len(spec.residents))


async def _write_units(session: AsyncSession, specs: list[UnitSpec]) -> dict[str, GridUnit]:
    """Upserts units by code, a tree level at a time so parents have ids, then sets every path."""
    existing = {u.code: u for u in (await session.scalars(select(GridUnit))).all()}
    old_paths = {code: unit.path for code, unit in existing.items()}
    units: dict[str, GridUnit] = {}
    by_depth: dict[int, list[UnitSpec]] = defaultdict(list)
    for spec in specs:
        assert spec.level is not None
        by_depth[spec.level.depth].append(spec)
    for depth in sorted(by_depth):
        for spec in by_depth[depth]:
            unit = existing.get(spec.code) or GridUnit(code=spec.code, path="/")
            unit.name, unit.aliases = spec.name, list(spec.aliases)
            unit.latitude, unit.longitude = spec.location or (None, None)
            unit.level = spec.level  # type: ignore[assignment]  # set by read_district
            unit.parent_id = units[spec.parent].id if spec.parent else None
            if unit.id is None:
                session.add(unit)
            units[spec.code] = unit
        await session.flush()
    for spec in specs:
        unit = units[spec.code]
        unit.path = (units[spec.parent].path if spec.parent else "/") + f"{unit.id}/"
    moved = [unit for code, unit in units.items() if code in old_paths and old_paths[code] != unit.path]
    for unit in moved:  # Case.unit_path mirrors the unit's path for subtree queries
        await session.execute(update(Case).where(Case.unit_id == unit.id).values(unit_path=unit.path))
    await session.flush()
    return units


async def _identities(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Identity]:
    """Existing identities for (channel, user_id) keys, fetched in chunks that stay under parameter limits."""
    keys = list(dict.fromkeys(keys))
    found: dict[tuple[str, str], Identity] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        key = tuple_(Identity.channel, Identity.user_id)
        rows = await session.scalars(select(Identity).where(key.in_(chunk)))
        found.update({(i.channel, i.user_id): i for i in rows.all()})
    return found


def _bind_identity(session: AsyncSession, found: dict[tuple[str, str], Identity], key: tuple[str, str],
                   name: str, *, staff_id: int | None = None, resident_id: int | None = None) -> None:
    identity = found.get(key)
    if identity is None:
        identity = Identity(channel=key[0], user_id=key[1])
        session.add(identity)
        found[key] = identity
    identity.display_name = name
    identity.staff_id, identity.resident_id = staff_id, resident_id
    if key[0] == CONSOLE and identity.private_chat_id is None:
        identity.private_chat_id = f"private:{key[1]}"  # the console channel's private chat id


async def _write_staff(session: AsyncSession, specs: list[StaffSpec], units: dict[str, GridUnit]) -> None:
    existing = {s.code: s for s in (await session.scalars(select(Staff))).unique().all()}
    rows: list[tuple[StaffSpec, Staff]] = []
    for spec in specs:
        staff = existing.get(spec.code) or Staff(code=spec.code)
        staff.name, staff.role, staff.unit_id = spec.name, spec.role, units[spec.unit].id
        staff.department, staff.phone, staff.on_duty = spec.department, spec.phone, spec.on_duty
        if staff.id is None:
            session.add(staff)
        rows.append((spec, staff))
    await session.flush()
    found = await _identities(session, (key for spec in specs for key in spec.identities))
    for spec, staff in rows:
        for key in spec.identities:
            _bind_identity(session, found, key, spec.name, staff_id=staff.id)


async def _write_residents(session: AsyncSession, specs: list[ResidentSpec], units: dict[str, GridUnit],
                           now: datetime) -> None:
    """Upserts residents, recognising one already loaded by any of their identities."""
    found = await _identities(session, (key for spec in specs for key in spec.identities))
    rows: list[tuple[ResidentSpec, Resident]] = []
    for spec in specs:
        owners = (found[k].resident_id for k in spec.identities if k in found)
        known = next((owner for owner in owners if owner), None)
        resident = await session.get(Resident, known) if known else None
        if resident is None:
            resident = Resident(created_at=now)
            session.add(resident)
        resident.display_name, resident.phone = spec.name, spec.phone
        resident.home_unit_id = units[spec.home].id if spec.home else None
        rows.append((spec, resident))
    await session.flush()
    for spec, resident in rows:
        for key in spec.identities:
            _bind_identity(session, found, key, spec.name, resident_id=resident.id)


async def _write_groups(session: AsyncSession, specs: list[GroupSpec], units: dict[str, GridUnit]) -> None:
    existing = {(g.channel, g.chat_id): g for g in (await session.scalars(select(ChatGroup))).unique().all()}
    for spec in specs:
        group = existing.get((spec.channel, spec.chat_id))
        if group is None:
            group = ChatGroup(channel=spec.channel, chat_id=spec.chat_id, extras={})
            session.add(group)
        group.title, group.unit_id = spec.title, units[spec.unit].id
