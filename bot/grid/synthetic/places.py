"""The synthetic district's units, staff and groups: 8 streets and towns, 56 communities, 639 grids."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.grid.places import ROAD_SUFFIXES
from bot.grid.synthetic.bulk import Rows
from bot.grid.synthetic.matters import (
    ALIAS_KINDS,
    DISTRICT_DEPARTMENTS,
    GIVEN,
    GRIDS_TOTAL,
    KINDS,
    PREFIXES,
    STREET_DEPARTMENTS,
    STREETS,
    SURNAMES,
)
from models import ChatGroup, GridPlace, GridUnit, Identity, PlaceKind, Staff, StaffRole, UnitLevel

DISTRICT_CODE = "610302"


@dataclass(frozen=True, slots=True)
class Grid:
    id: int
    path: str
    name: str
    street_code: str
    buildings: tuple[tuple[int, str, str], ...]  # (id, path, name)
    channel: str
    chat_id: str
    workers: tuple[tuple[int, str], ...]  # (staff id, name)
    community_staff: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Community:
    id: int
    path: str
    street_code: str
    staff: tuple[tuple[int, str], ...]  # community staff (id, name), who take wishes and appointments


@dataclass
class District:
    grids: list[Grid] = field(default_factory=list)
    workers: int = 0  # grid workers so far, for their codes
    departments: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (street or "", dept)
    units: int = 0
    staff: int = 0
    groups: int = 0


class Names:
    """Deterministic person names and phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phones = 0

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def phone(self, prefix: str) -> str:
        self.phones += 1
        return f"{prefix}{self.phones:08d}"

def _unit(rows: Rows, code: str, name: str, level: UnitLevel, parent: tuple[int, str] | None,
          aliases: Sequence[str] = ()) -> tuple[int, str]:
    """Adds a unit row; returns (id, path)."""
    unit_id = rows.next_id[GridUnit.__tablename__]
    path = (parent[1] if parent else "/") + f"{unit_id}/"
    rows.add(GridUnit.__table__, {
        "code": code, "name": name, "level": level, "parent_id": parent[0] if parent else None, "path": path,
        "aliases": list(aliases),
    })
    return unit_id, path


def _staff(rows: Rows, names: Names, code: str, role: StaffRole, unit_id: int, *,
           department: str | None = None, channel: str | None = None) -> tuple[int, str]:
    """Adds a staff member with a console identity (user id = code) and optionally one on a chat channel."""
    name = names.person()
    staff_id = rows.add(Staff.__table__, {
        "code": code, "name": name, "role": role, "unit_id": unit_id, "department": department,
        "phone": names.phone("139"), "on_duty": True,
    })
    add_identity(rows, "console", code, name, f"private:{code}", staff_id=staff_id)
    if channel == "telegram":
        user_id = str(5_000_000_000 + staff_id)
        add_identity(rows, channel, user_id, name, user_id, staff_id=staff_id)
    elif channel == "wecom":
        add_identity(rows, channel, f"wg{code.lower()}", name, f"wg{code.lower()}", staff_id=staff_id)
    return staff_id, name


def add_identity(rows: Rows, channel: str, user_id: str, name: str, private_chat_id: str | None, *,
              staff_id: int | None = None, resident_id: int | None = None) -> None:
    rows.add(Identity.__table__, {"channel": channel, "user_id": user_id, "display_name": name,
                                  "private_chat_id": private_chat_id, "staff_id": staff_id,
                                  "resident_id": resident_id, "last_seen_at": None})


def _grid_names(rng: random.Random) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Distinct compound names with the aliases residents use, in a seeded order."""
    combos = [(prefix, kind) for prefix in PREFIXES for kind in KINDS]
    rng.shuffle(combos)
    for prefix, kind in combos:
        name = prefix + kind
        yield name, ((name + "小区",) if kind in ALIAS_KINDS else ())


def _grids_per_community() -> list[int]:
    communities = sum(len(street[3]) for street in STREETS)
    base, extra = divmod(GRIDS_TOTAL, communities)
    return [base + (1 if i < extra else 0) for i in range(communities)]


def build_district(rows: Rows, rng: random.Random, names: Names) -> District:
    district = District()
    root = _unit(rows, DISTRICT_CODE, "渭滨区", UnitLevel.DISTRICT, None, ["渭滨"])
    grid_names = _grid_names(rng)
    grid_counts = iter(_grids_per_community())
    community_no = 0
    for d, department in enumerate(DISTRICT_DEPARTMENTS, start=1):
        for k in (1, 2):
            person = _staff(rows, names, f"D{d:02d}-{k}", StaffRole.DEPARTMENT, root[0],
                            department=department)
            district.departments.setdefault(("", department), person)
    for street_code, street_name, street_alias, cores in STREETS:
        street = _unit(rows, street_code, street_name, UnitLevel.STREET, root, [street_alias])
        _staff(rows, names, f"O-{street_code}", StaffRole.STREET_OFFICER, street[0])
        for d, department in enumerate(STREET_DEPARTMENTS, start=1):
            district.departments[(street_code, department)] = _staff(
                rows, names, f"D-{street_code}-{d}", StaffRole.DEPARTMENT, street[0], department=department)
        communities: list[tuple[str, int]] = []
        for c, core in enumerate(cores, start=1):
            community_no += 1
            code = f"{street_code}-{c:02d}"
            aliases = [f"{core[1:]}社区"] if core.startswith("市") else []  # 市铁塔厂社区 is 铁塔厂社区 to residents
            community = _unit(rows, code, f"{core}社区", UnitLevel.COMMUNITY, street, aliases)
            _staff(rows, names, f"S{community_no:03d}", StaffRole.COMMUNITY_SECRETARY, community[0])
            staff = tuple(
                _staff(rows, names, f"C{community_no:03d}-{k}", StaffRole.COMMUNITY_STAFF, community[0])
                for k in (1, 2)
            )
            _staff(rows, names, f"V{community_no:03d}", StaffRole.VOLUNTEER, community[0])
            communities.append((core, community[0]))
            home = Community(community[0], community[1], street_code, staff)
            for g in range(1, next(grid_counts) + 1):
                _grid(rows, rng, names, district, home, f"{code}-{g:02d}", next(grid_names))
        _places(rows, street[0], street_alias, communities)
    district.units = len(rows.tables[GridUnit.__tablename__])
    district.staff = len(rows.tables[Staff.__tablename__])
    district.groups = len(rows.tables[ChatGroup.__tablename__])
    return district


def _grid(rows: Rows, rng: random.Random, names: Names, district: District, community: Community,
          code: str, naming: tuple[str, tuple[str, ...]]) -> None:
    """Adds one grid with its buildings, a household or none, its workers and its bound group."""
    name, aliases = naming
    grid = _unit(rows, code, name, UnitLevel.GRID, (community.id, community.path), aliases)
    buildings = []
    for number in range(1, rng.randint(6, 20) + 1):
        building = _unit(rows, f"{code}-B{number:02d}", f"{number}号楼", UnitLevel.BUILDING, grid)
        buildings.append((building[0], building[1], f"{name}{number}号楼"))
    channel = "wecom" if rng.random() < 0.55 else "telegram"
    group_no = len(district.grids) + 1
    chat_id = f"-100{1_700_000_000 + group_no}" if channel == "telegram" else f"wr{rng.getrandbits(64):016x}"
    rows.add(ChatGroup.__table__, {"channel": channel, "chat_id": chat_id, "title": f"{name}居民群",
                                   "unit_id": grid[0], "extras": {}})
    workers = []
    for _ in range(2 if len(buildings) >= 14 and rng.random() < 0.4 else 1):
        district.workers += 1
        workers.append(_staff(rows, names, f"W{district.workers:04d}", StaffRole.GRID_WORKER, grid[0],
                              channel=channel))
    if group_no % 3 == 0:
        lead = names.person()
        household = _unit(rows, f"{code}-B01-H1", f"{lead}党员中心户", UnitLevel.HOUSEHOLD,
                          (buildings[0][0], buildings[0][1]))
        _staff(rows, names, f"H{group_no:04d}", StaffRole.HOUSEHOLD_LEAD, household[0])
    district.grids.append(Grid(grid[0], grid[1], name, community.street_code, tuple(buildings), channel,
                                chat_id, tuple(workers), community.staff))


def _places(rows: Rows, street_id: int, alias: str, communities: list[tuple[str, int]]) -> None:
    """A street's roads (the communities named after a road: it runs through that one and the next) and a park."""
    for index, (core, community_id) in enumerate(communities):
        if core.endswith(ROAD_SUFFIXES):
            through = [community_id] + [c for _, c in communities[index + 1:index + 2]]
            rows.add(GridPlace.__table__, {"kind": PlaceKind.ROAD, "name": core, "aliases": [], "unit_id": street_id,
                                           "communities": through})
    rows.add(GridPlace.__table__, {"kind": PlaceKind.LANDMARK, "name": f"{alias}公园", "aliases": [f"{alias}广场"],
                                   "unit_id": street_id, "communities": []})
