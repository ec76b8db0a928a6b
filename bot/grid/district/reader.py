"""Turns a district file into a validated DistrictSpec: the unit tree, the people and groups bound to it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bot.grid.district.fields import FieldReader
from bot.grid.district.source import Entry, LineMapping
from bot.grid.district.spec import (
    CONSOLE,
    GROUP_KEYS,
    MAX_BUILDINGS,
    PLACE_KEYS,
    RESIDENT_KEYS,
    STAFF_KEYS,
    STAFF_REQUIRED,
    TOP_KEYS,
    UNIT_KEYS,
    DistrictError,
    DistrictSpec,
    GroupSpec,
    PlaceSpec,
    ResidentSpec,
    StaffSpec,
    UnitSpec,
    Where,
)
from models import PlaceKind, StaffRole, UnitLevel


class DistrictReader(FieldReader):
    """Turns a district file into a DistrictSpec, collecting every problem before giving up."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.spec = DistrictSpec()
        self.units: dict[str, UnitSpec] = {}
        self.rejected: set[str] = set()  # units refused for their nesting; their subtrees are not re-reported
        self.departments: set[str] | None = None

    def read(self) -> DistrictSpec:
        root = self._load_yaml()
        entry = Entry(root, self.file, root.line, root.key_lines)
        self._unknown_keys(entry, TOP_KEYS, "the district file")
        self.departments = self._departments(entry)
        district = root.get("district")
        if not isinstance(district, LineMapping):
            self.problem(entry.at("district") if "district" in root else entry.at(),
                         "'district' must be a mapping describing the root unit")
        else:
            self._unit(self._entry(district), None)
        for raw in self._records(entry, "units"):
            self._unit(raw, None, hung=True)
        self._link_units()
        self._check_places()
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

    def _departments(self, root: Entry) -> set[str] | None:
        names = root.get("departments")
        if names is None:
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            self.problem(root.at("departments"), "'departments' must be a list of names")
            return None
        return {n.strip() for n in names}

    # units

    def _unit(self, entry: Entry, parent: str | None, *, hung: bool = False) -> None:
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
        for kind, key in ((PlaceKind.ROAD, "roads"), (PlaceKind.LANDMARK, "landmarks")):
            self._places(entry, key, kind, code)
        for child in self._records(entry, "children"):
            self._unit(child, code)

    def _places(self, entry: Entry, key: str, kind: PlaceKind, unit: str) -> None:
        """`roads:` / `landmarks:` of a unit: plain names, or mappings with aliases (and a road's communities)."""
        items = entry.get(key)
        if items is None:
            return
        if not isinstance(items, list):
            self.problem(entry.at(key), f"unit {unit!r}: '{key}' must be a list")
            return
        for item in items:
            place = self._entry(item) if isinstance(item, LineMapping) else Entry({"name": item}, entry.file,
                                                                                 entry.at(key).line)
            what = f"unit {unit!r}: {key[:-1]}"
            self._unknown_keys(place, PLACE_KEYS if kind is PlaceKind.ROAD else PLACE_KEYS - {"communities"}, what)
            name = self._text(place, "name", what)
            communities = place.get("communities") or []
            if not isinstance(communities, list) or not all(isinstance(c, str) for c in communities):
                self.problem(place.at("communities"), f"{what}: 'communities' must be a list of community codes")
                communities = []
            if name is not None:
                if len(name) < 2:
                    self.problem(place.at("name"), f"{what}: name {name!r} is shorter than two characters")
                self.spec.places.append(PlaceSpec(kind, name, self._aliases(place, f"{what} {name!r}"), unit,
                                                  tuple(communities), place.at()))

    def _check_places(self) -> None:
        """Roads sit on streets, landmarks on streets or communities; a road's communities lie in its street."""
        seen: dict[tuple[str, str], Where] = {}
        for place in self.spec.places:
            level = self.units[place.unit].level if place.unit in self.units else None
            allowed = {UnitLevel.STREET} if place.kind is PlaceKind.ROAD else {UnitLevel.STREET, UnitLevel.COMMUNITY}
            what = f"{place.kind.value} {place.name!r}"
            if level not in allowed:
                self.problem(place.where, f"{what}: {place.kind.value}s belong on a "
                                          f"{' or '.join(sorted(a.value for a in allowed))}, not a {level}")
            if (place.unit, place.name) in seen:
                self.problem(place.where, f"{what}: named twice in {place.unit!r} (first at "
                                          f"{seen[(place.unit, place.name)]})")
            seen.setdefault((place.unit, place.name), place.where)
            for code in place.communities:
                community = self.units.get(code)
                if community is None or community.level is not UnitLevel.COMMUNITY or community.parent != place.unit:
                    self.problem(place.where, f"{what}: {code!r} is not a community of {place.unit!r}")

    def _add_unit(self, unit: UnitSpec, where: Where) -> bool:
        if unit.code in self.units:
            self.problem(where, f"duplicate unit code {unit.code!r} (first at {self.units[unit.code].where})")
            return False
        self.units[unit.code] = unit
        return True

    def _buildings(self, entry: Entry, grid: UnitSpec) -> None:
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

    def _staff(self, entry: Entry) -> None:
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
            if level is not None and level not in role.levels:
                allowed = " or ".join(sorted(v.value for v in role.levels))
                self.problem(entry.at("unit"), f"{what}: a {role.value} belongs on a {allowed}, "
                                               f"but {unit!r} is a {level.value}")
        if code is None or name is None or role is None or unit is None:
            return
        if CONSOLE not in {channel for channel, _ in identities}:
            identities = ((CONSOLE, code), *identities)
        self.spec.staff.append(StaffSpec(code, name, role, unit, department, phone, on_duty, identities,
                                         entry.at()))

    def _resident(self, entry: Entry) -> None:
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

    def _group(self, entry: Entry) -> None:
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


def read_district(path: Path) -> DistrictSpec:
    """Parses and validates a district file (and the CSV files it names) without touching the database."""
    return DistrictReader(path).read()
