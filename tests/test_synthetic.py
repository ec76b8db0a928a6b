"""The synthetic Weibin-scale district and its historical cases, on both backends."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot.grid.directory import TEXT_BUILDING, TEXT_PLACE, GridDirectory
from bot.grid.district import DistrictSummary
from bot.grid.synthetic import MATTERS, generate_synthetic
from models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    ChatGroup,
    GridUnit,
    Identity,
    Resident,
    Staff,
    StaffRole,
    UnitLevel,
)
from models.db import create_engine, migrate, session_factory

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


async def test_weibin_scale_district_with_cases(sessions):
    summary = await generate_synthetic(sessions, now=NOW, cases=500)

    async with sessions() as session:
        levels = dict((await session.execute(
            select(GridUnit.level, func.count()).group_by(GridUnit.level))).all())
        roles = dict((await session.execute(select(Staff.role, func.count()).group_by(Staff.role))).all())
        groups = (await session.execute(select(ChatGroup.channel, ChatGroup.unit_id))).all()
        grid_ids = set((await session.scalars(
            select(GridUnit.id).where(GridUnit.level == UnitLevel.GRID))).all())
        buildings = Counter((await session.scalars(
            select(GridUnit.parent_id).where(GridUnit.level == UnitLevel.BUILDING))).all())
        worked = set((await session.scalars(
            select(Staff.unit_id).where(Staff.role == StaffRole.GRID_WORKER))).all())
        streets = set((await session.scalars(
            select(GridUnit.name).where(GridUnit.level == UnitLevel.STREET))).all())
        residents = await session.scalar(select(func.count()).select_from(Resident))
    assert summary == DistrictSummary(units=sum(levels.values()), staff=sum(roles.values()), groups=639,
                                      residents=residents)
    assert (levels[UnitLevel.DISTRICT], levels[UnitLevel.STREET], levels[UnitLevel.COMMUNITY],
            levels[UnitLevel.GRID]) == (1, 8, 56, 639)
    assert streets == {"经二路街道", "清姜街道", "姜谭街道", "桥南街道", "金陵街道", "神农镇", "高家镇", "八鱼镇"}
    assert 7000 <= levels[UnitLevel.BUILDING] <= 9500
    assert set(buildings) == grid_ids and all(6 <= n <= 20 for n in buildings.values())
    assert worked == grid_ids and roles[StaffRole.GRID_WORKER] > 639
    assert roles[StaffRole.COMMUNITY_SECRETARY] == 56 and roles[StaffRole.COMMUNITY_STAFF] == 112
    assert roles[StaffRole.STREET_OFFICER] == 8
    assert roles[StaffRole.DEPARTMENT] > 0
    assert len(groups) == 639 and {unit for _, unit in groups} == grid_ids
    assert {channel for channel, _ in groups} == {"telegram", "wecom"}


async def test_cases_are_consistent_with_their_units(sessions):
    await generate_synthetic(sessions, now=NOW, cases=500)
    unit = aliased(GridUnit)

    async with sessions() as session:
        cases = (await session.scalars(select(Case))).unique().all()
        mismatched = await session.scalar(
            select(func.count()).select_from(Case).join(unit, unit.id == Case.unit_id)
            .where(Case.unit_path != unit.path))
        events = (await session.execute(select(CaseEvent.case_id, CaseEvent.action, CaseEvent.at))).all()
        recent = await session.scalar(select(func.count()).select_from(Case)
                                      .where(Case.created_at >= NOW - timedelta(days=30)))
        assigned_to_staff = await session.scalar(select(func.count()).select_from(Case).join(Staff))

    assert len(cases) == 500 and mismatched == 0
    statuses = Counter(c.status for c in cases)
    finished = statuses[CaseStatus.CLOSED] + statuses[CaseStatus.RESOLVED]
    assert finished / len(cases) > 0.8
    assert sum(n for s, n in statuses.items() if s.is_open) > 0
    overdue = [c for c in cases if c.status.is_open and c.resolve_due_at and c.resolve_due_at < NOW]
    assert overdue and all(c.escalation_level > 0 for c in overdue if c.status is not CaseStatus.NEW)
    assert all(NOW - timedelta(weeks=52) <= c.created_at <= NOW for c in cases)
    assert {c.category_code for c in cases if c.kind is CaseKind.REPORT} <= {m.code for m in MATTERS}
    assert all(c.extras.get("service") for c in cases if c.kind is CaseKind.APPOINTMENT)
    assert Counter(c.kind for c in cases)[CaseKind.REPORT] > 300
    by_case = Counter(case_id for case_id, _, _ in events)
    assert set(by_case) == {c.id for c in cases}
    actions = Counter(action for _, action, _ in events)
    assert actions["filed"] == 500
    assert actions["routed"] > 0 and actions["accept"] > 0 and actions["resolve"] > 0
    closed = [c for c in cases if c.status is CaseStatus.CLOSED]
    assert all(c.created_at <= c.assigned_at <= c.accepted_at <= c.resolved_at <= c.closed_at <= NOW
               for c in closed)
    assert all(c.rating is not None and c.assignee is not None for c in closed)
    # datetimes written below the ORM compare like ORM-written ones
    assert recent == sum(1 for c in cases if c.created_at >= NOW - timedelta(days=30))
    assert assigned_to_staff == sum(1 for c in cases if c.assignee_id is not None)


def test_category_codes_are_the_rules_codes():
    rules = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "rules.yaml").read_text("utf-8"))
    categories = {c["code"]: c for c in rules["categories"]}

    for matter in MATTERS:
        if matter.code is not None:
            assert matter.code in categories and matter.kind.value in categories[matter.code]["kinds"], matter


async def test_rows_can_be_added_after_generation(sessions):
    await generate_synthetic(sessions, now=NOW, cases=20)

    async with sessions.begin() as session:
        grid = await session.scalar(select(GridUnit).where(GridUnit.level == UnitLevel.GRID).limit(1))
        resident = Resident(display_name="新居民", created_at=NOW)
        session.add(resident)
        await session.flush()
        session.add(Identity(channel="console", user_id="R-new", resident_id=resident.id))
        case = Case(kind=CaseKind.REPORT, status=CaseStatus.NEW, text="路灯坏了", unit_id=grid.id,
                    unit_path=grid.path, reporter_id=resident.id, source_channel="console",
                    source_chat_id="private:R-new", created_at=NOW, updated_at=NOW)
        session.add(case)
        await session.flush()
        session.add(CaseEvent(case_id=case.id, at=NOW, actor_kind="system", action="filed"))
        biggest = await session.scalar(select(func.max(Case.id)))

    assert case.id == biggest


async def test_the_directory_works_at_weibin_scale(sessions):
    await generate_synthetic(sessions, now=NOW)

    async with sessions() as session:
        directory = await GridDirectory.load(session)
        grid_id, name = (await session.execute(
            select(GridUnit.id, GridUnit.name).where(GridUnit.code == "JT-02-03"))).one()

    grid = directory.unit(grid_id)
    location = directory.locate(f"{name}3号楼门口路灯坏了", group_unit=None, home_unit=None)
    assert location is not None and location.source == TEXT_BUILDING
    assert location.unit == directory.find_building(grid, 3)
    assert directory.resolve("JT-02") is not None and directory.resolve("市铁塔厂社区").code == "JT-02"
    road = directory.locate("红旗路和经二路路口井盖没了", group_unit=None, home_unit=None)  # the generated roads
    assert road is not None and road.source == TEXT_PLACE and road.spot.label == "红旗路与经二路交叉口"
    assert road.unit.code == "JEL-02"  # the community both roads run through
    park = directory.locate("桥南公园的路灯坏了", group_unit=None, home_unit=None)
    assert park is not None and park.unit.code == "QN"


async def test_generation_needs_an_empty_grid(sessions):
    await generate_synthetic(sessions, now=NOW)

    with pytest.raises(ValueError, match="empty"):
        await generate_synthetic(sessions, now=NOW)


async def test_the_same_seed_gives_the_same_district(tmp_path: Path):
    async def names(path: Path, seed: int) -> list[tuple[str, str]]:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(engine)
            sessions = session_factory(engine)
            await generate_synthetic(sessions, now=NOW, cases=50, seed=seed)
            async with sessions() as session:
                units = (await session.execute(
                    select(GridUnit.code, GridUnit.name).order_by(GridUnit.code))).all()
                chats = (await session.execute(
                    select(ChatGroup.chat_id, ChatGroup.title).order_by(ChatGroup.id))).all()
                texts = (await session.execute(select(Case.text, Case.status).order_by(Case.id))).all()
            return [tuple(r) for r in [*units, *chats, *texts]]
        finally:
            await engine.dispose()

    first = await names(tmp_path / "a.db", 7)
    assert first == await names(tmp_path / "b.db", 7)
    assert first != await names(tmp_path / "c.db", 8)
