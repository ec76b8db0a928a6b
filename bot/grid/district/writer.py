"""Upserts a validated district into the database: units by code, staff, residents, identities, groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.district.reader import read_district
from bot.grid.district.spec import (
    CONSOLE,
    DistrictSummary,
    GroupSpec,
    PlaceSpec,
    ResidentSpec,
    StaffSpec,
    UnitSpec,
)
from bot.grid.version import mark_grid_changed
from models import Case, ChatGroup, GridPlace, GridUnit, Identity, Resident, Staff


async def load_district(session: AsyncSession, path: Path, *, now: datetime) -> DistrictSummary:
    """Validates the district file, then upserts it in the caller's transaction (flushed, not committed)."""
    spec = read_district(path)
    units = await _write_units(session, spec.units)
    await _write_places(session, spec.places, units)
    await _write_staff(session, spec.staff, units)
    await _write_residents(session, spec.residents, units, now)
    await _write_groups(session, spec.groups, units)
    await mark_grid_changed(session, now=now)
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


async def _write_places(session: AsyncSession, specs: list[PlaceSpec], units: dict[str, GridUnit]) -> None:
    """Upserts roads and landmarks by (unit, name)."""
    existing = {(p.unit_id, p.name): p for p in (await session.scalars(select(GridPlace))).all()}
    for spec in specs:
        unit_id = units[spec.unit].id
        place = existing.get((unit_id, spec.name))
        if place is None:
            place = GridPlace(unit_id=unit_id, name=spec.name)
            session.add(place)
        place.kind, place.aliases = spec.kind, list(spec.aliases)
        place.communities = [units[code].id for code in spec.communities]


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
