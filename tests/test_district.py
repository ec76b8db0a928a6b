"""Loading a district file: the demo on both backends, idempotent reloads, and every validation error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.grid.district import DistrictError, DistrictSummary, load_district, read_district
from models import (
    Case,
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
from tests.conftest import table_counts

DEMO = Path(__file__).resolve().parents[1] / "config" / "district" / "demo.yaml"
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

BASE = """\
district:
  code: "610302"
  name: 渭滨区
  children:
    - code: JT
      name: 姜谭街道
      children:
        - code: JT-TTC
          name: 市铁塔厂社区
          children:
            - {code: JT-TTC-01, name: 铁塔厂家属院, aliases: [铁塔厂], buildings: 3, group: 铁塔厂家属院居民群}
            - {code: JT-TTC-02, name: 铁塔新村, buildings: 2}
    - {code: QN, name: 桥南街道}
departments: [城管, 司法所]
"""
STAFF = """\
staff:
  - {code: W001, name: 李娟, role: grid_worker, unit: JT-TTC-01, phone: "13891701001"}
"""


async def load(sessions, path: Path) -> DistrictSummary:
    async with sessions.begin() as session:
        return await load_district(session, path, now=NOW)


def write(tmp_path: Path, text: str, name: str = "district.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the first line holding `marker`."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if marker in line)


def refused(path: Path) -> list[str]:
    with pytest.raises(DistrictError) as caught:
        read_district(path)
    return caught.value.problems


def assert_problem(problems: list[str], file: Path, line: int, *phrases: str) -> None:
    """Exactly one problem names this file and line and says all the phrases."""
    located = [p for p in problems if f"{file.name}:{line}: " in p]
    assert located, f"nothing reported at {file.name}:{line}: {problems}"
    assert any(all(phrase in p for phrase in phrases) for p in located), problems


# --- the demo district -----------------------------------------------------------------------------------


async def test_demo_district_loads(sessions):
    summary = await load(sessions, DEMO)

    assert summary == DistrictSummary(units=139, staff=71, groups=18, residents=7)
    async with sessions() as session:
        units = {u.code: u for u in (await session.scalars(select(GridUnit))).all()}
        staff = (await session.scalars(select(Staff))).unique().all()
        groups = (await session.scalars(select(ChatGroup))).unique().all()
        identities = (await session.scalars(select(Identity))).all()
        residents = {r.id: r for r in (await session.scalars(select(Resident))).all()}
    levels = [u.level for u in units.values()]
    assert (levels.count(UnitLevel.STREET), levels.count(UnitLevel.COMMUNITY), levels.count(UnitLevel.GRID),
            levels.count(UnitLevel.HOUSEHOLD)) == (8, 7, 15, 3)
    assert {u.name for u in units.values() if u.level is UnitLevel.STREET} >= {"姜谭街道", "神农镇", "八鱼镇"}
    assert units["JT-TTC-01"].aliases == ["铁塔厂", "老铁塔", "铁塔厂小区"]
    assert [units[f"JT-TTC-01-B{n:02d}"].name for n in (1, 8)] == ["1号楼", "8号楼"]
    grids = {u.id for u in units.values() if u.level is UnitLevel.GRID}
    workers = {s.unit_id for s in staff if s.role is StaffRole.GRID_WORKER}
    assert grids <= workers
    bound = {g.unit_id for g in groups if g.channel == "console" and g.chat_id == f"group:{g.unit.code}"}
    assert grids <= bound
    assert all(s.department for s in staff if s.role is StaffRole.DEPARTMENT)
    console = {i.user_id: i for i in identities if i.channel == "console"}
    assert all(console[s.code].staff_id == s.id for s in staff)
    assert console["W001"].private_chat_id == "private:W001"
    zhang = residents[console["R001"].resident_id]
    home = units["JT-TTC-01-B03"].id
    assert (zhang.display_name, zhang.phone, zhang.home_unit_id) == ("张桂兰", "13709171001", home)


async def test_demo_paths_run_from_the_root(sessions):
    await load(sessions, DEMO)
    async with sessions() as session:
        units = {u.id: u for u in (await session.scalars(select(GridUnit))).all()}

    for unit in units.values():
        parent_path = units[unit.parent_id].path if unit.parent_id else "/"
        assert unit.path == f"{parent_path}{unit.id}/"
    household = next(u for u in units.values() if u.code == "JT-TTC-01-B03-H1")
    assert [units[int(i)].code for i in household.path.strip("/").split("/")] == [
        "610302", "JT", "JT-TTC", "JT-TTC-01", "JT-TTC-01-B03", "JT-TTC-01-B03-H1"]


async def snapshot(sessions) -> dict[str, list[tuple]]:
    async with sessions() as session:
        return {
            "units": sorted(tuple(r) for r in (await session.execute(select(
                GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.level, GridUnit.parent_id,
                GridUnit.path)))
                .all()),
            "staff": sorted((await session.execute(select(
                Staff.id, Staff.code, Staff.role, Staff.unit_id, Staff.department, Staff.phone))).all()),
            "identities": sorted((await session.execute(select(
                Identity.id, Identity.channel, Identity.user_id, Identity.staff_id, Identity.resident_id)))
                .all()),
            "residents": sorted((await session.execute(select(
                Resident.id, Resident.display_name, Resident.home_unit_id))).all()),
            "groups": sorted((await session.execute(select(
                ChatGroup.id, ChatGroup.channel, ChatGroup.chat_id, ChatGroup.unit_id, ChatGroup.title)))
                .all()),
        }


async def test_loading_twice_leaves_the_same_rows(sessions, engine):
    first = await load(sessions, DEMO)
    before, counts = await snapshot(sessions), await table_counts(engine)

    second = await load(sessions, DEMO)

    assert second == first
    assert await snapshot(sessions) == before
    assert await table_counts(engine) == counts


async def test_reload_updates_in_place_and_moves_case_paths(sessions, tmp_path):
    path = write(tmp_path, BASE + STAFF)
    await load(sessions, path)
    async with sessions.begin() as session:
        building = await session.scalar(select(GridUnit).where(GridUnit.code == "JT-TTC-02-B01"))
        resident = Resident(display_name="张桂兰", created_at=NOW)
        session.add(resident)
        await session.flush()
        session.add(Case(kind=CaseKind.REPORT, status=CaseStatus.NEW, text="路灯坏了", unit_id=building.id,
                         unit_path=building.path, reporter_id=resident.id, source_channel="console",
                         source_chat_id="private:R1", created_at=NOW, updated_at=NOW))
    moved = BASE.replace("            - {code: JT-TTC-02, name: 铁塔新村, buildings: 2}\n", "").replace(
        "    - {code: QN, name: 桥南街道}\n",
        "    - code: QN\n      name: 桥南街道\n      children:\n        - code: QN-SBH\n          name: 石坝河社区\n"
        "          children:\n            - {code: JT-TTC-02, name: 铁塔新村小区, buildings: 2}\n")
    write(tmp_path, moved + STAFF.replace("李娟", "李娟娟"))

    await load(sessions, path)

    async with sessions() as session:
        units = {u.code: u for u in (await session.scalars(select(GridUnit))).all()}
        case = await session.scalar(select(Case))
        worker = await session.scalar(select(Staff).where(Staff.code == "W001"))
    assert units["JT-TTC-02"].name == "铁塔新村小区"
    assert units["JT-TTC-02"].parent_id == units["QN-SBH"].id
    assert units["JT-TTC-02-B01"].path.startswith(units["QN-SBH"].path)
    assert case.unit_path == units["JT-TTC-02-B01"].path
    assert worker.name == "李娟娟"


async def test_an_identity_first_seen_as_a_resident_becomes_staff(sessions, tmp_path):
    async with sessions.begin() as session:
        resident = Resident(display_name="李娟", created_at=NOW)
        session.add(resident)
        await session.flush()
        session.add(Identity(channel="telegram", user_id="5012345678", resident_id=resident.id))
    staff = STAFF.replace('phone: "13891701001"}', "identities: {telegram: 5012345678}}")
    path = write(tmp_path, BASE + staff)

    await load(sessions, path)

    async with sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == "5012345678"))
        worker = await session.scalar(select(Staff).where(Staff.code == "W001"))
    assert (identity.staff_id, identity.resident_id) == (worker.id, None)


async def test_a_refused_file_writes_nothing(sessions, engine, tmp_path):
    before = await table_counts(engine)
    path = write(tmp_path, BASE + STAFF.replace("JT-TTC-01,", "JT-XX-01,"))

    with pytest.raises(DistrictError):
        await load(sessions, path)

    assert await table_counts(engine) == before


# --- validation ------------------------------------------------------------------------------------------


def test_every_department_the_rules_route_to_has_demo_staff():
    rules = yaml.safe_load((DEMO.parents[1] / "rules.yaml").read_text(encoding="utf-8"))
    routed = {c["department"] for c in rules["categories"] if c.get("department")}

    staffed = {s.department for s in read_district(DEMO).staff if s.role is StaffRole.DEPARTMENT}

    assert routed <= staffed
    assert staffed >= {"城管", "物业", "司法所", "供水", "供电", "燃气", "市场监管", "派出所", "人社", "医保", "民政"}


def test_unknown_parent(tmp_path):
    text = BASE + "units:\n  - {parent: JT-NOPE, code: JT-NOPE-01, name: 某小区}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "JT-NOPE-01"), "'JT-NOPE-01'",
                   "parent 'JT-NOPE' does not exist")


def test_duplicate_code(tmp_path):
    street = "    - {code: QN, name: 桥南街道}"
    text = BASE.replace(street, f"{street}\n    - {{code: QN, name: 桥南}}")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "name: 桥南}"), "duplicate unit code 'QN'",
                   f"{path.name}:{line_of(text, '桥南街道')})")


def test_generated_building_codes_count_as_duplicates(tmp_path):
    text = BASE + "units:\n  - {parent: JT-TTC-01, code: JT-TTC-01-B02, name: 二号楼}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "二号楼"), "duplicate unit code 'JT-TTC-01-B02'")


def test_unknown_level(tmp_path):
    text = BASE.replace("{code: QN, name: 桥南街道}", "{code: QN, name: 桥南街道, level: town}")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "level: town"), "unknown level 'town'")


def test_building_directly_under_a_street(tmp_path):
    text = BASE.replace("{code: QN, name: 桥南街道}", "{code: QN, name: 桥南街道, children: [\n"
                                                     "        {code: QN-B01, name: 1号楼, level: building}]}")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "QN-B01"),
                   "a building cannot sit directly under street 'QN'", "expected a community")


def test_buildings_count_on_a_street(tmp_path):
    text = BASE.replace("{code: QN, name: 桥南街道}", "{code: QN, name: 桥南街道,\n       buildings: 4}")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "buildings: 4"), "'QN-B01'",
                   "cannot sit directly under street")


def test_staff_bound_to_a_missing_unit(tmp_path):
    text = BASE + STAFF + "  - {code: W009, name: 孙悦, role: grid_worker, unit: JT-XX-01}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "W009"), "staff 'W009': unit 'JT-XX-01' does not exist")


def test_staff_on_the_wrong_level(tmp_path):
    text = BASE + STAFF + "  - {code: W002, name: 孙悦, role: 网格员, unit: JT-TTC}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "W002"), "a grid_worker belongs on a grid",
                   "'JT-TTC' is a community")


def test_unknown_role(tmp_path):
    text = BASE + STAFF + "  - {code: X001, name: 孙悦, role: janitor, unit: JT-TTC}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "X001"), "unknown role 'janitor'")


def test_department_staff_without_department(tmp_path):
    text = BASE + STAFF + "  - code: D001\n    name: 彭晓东\n    role: department\n    unit: JT\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "D001"), "department staff need 'department'")


def test_department_not_in_the_list(tmp_path):
    text = BASE + STAFF + "  - {code: D001, name: 彭晓东, role: department, unit: JT,\n     department: 城官}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "城官"), "department '城官' is not in 'departments'")


def test_group_bound_to_a_missing_unit(tmp_path):
    text = BASE + STAFF + "groups:\n  - {channel: telegram, chat_id: '-1001', unit: JT-XX, title: 某群}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "-1001"), "group '-1001': unit 'JT-XX' does not exist")


def test_duplicate_identity(tmp_path):
    text = BASE + STAFF.replace('phone: "13891701001"}', "identities: {telegram: 501}}") + (
        "residents:\n  - {code: R001, name: 张桂兰, home: JT-TTC-01-B01, identities: {telegram: 501}}\n")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "R001"), "resident 'R001'",
                   "duplicate identity telegram:501",
                   "already 'W001' at", f"{path.name}:{line_of(text, 'W001')})")


def test_a_resident_code_that_is_a_staff_code_is_refused(tmp_path):
    text = BASE + STAFF + "residents:\n  - {code: W001, name: 张桂兰}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "张桂兰"), "resident 'W001': duplicate code")


def test_duplicate_group(tmp_path):
    text = BASE + "groups:\n  - {channel: console, chat_id: 'group:JT-TTC-01', unit: JT-TTC-01}\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "chat_id: 'group:JT-TTC-01'"),
                   "duplicate console group",
                   f"{path.name}:{line_of(text, 'group: 铁塔厂家属院居民群')})")


@pytest.mark.parametrize("phone", ["1389170100", "23891701001", "138-9170-1001x", "电话13891701001"])
def test_malformed_phone(tmp_path, phone):
    text = BASE + STAFF.replace('"13891701001"', f'"{phone}"')
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "W001"), "staff 'W001': malformed phone")


@pytest.mark.parametrize("phone", ["13891701001", "138 9170 1001", "0917-3211001", "09173211001"])
def test_well_formed_phones(tmp_path, phone):
    path = write(tmp_path, BASE + STAFF.replace('"13891701001"', f'"{phone}"'))

    assert read_district(path).staff[0].phone == phone.replace(" ", "")


def test_unknown_key(tmp_path):
    text = BASE.replace("{code: QN, name: 桥南街道}", "{code: QN, name: 桥南街道, chidren: []}")
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "chidren"), "unknown key 'chidren'")


def test_invalid_yaml_names_the_line(tmp_path):
    text = BASE + "staff:\n  - {code: W001, name: 李娟\n"
    path = write(tmp_path, text)

    problems = refused(path)

    assert len(problems) == 1 and "invalid YAML" in problems[0]
    assert f"{path.name}:{len(text.splitlines()) + 1}: " in problems[0]


def test_duplicate_yaml_key_is_refused(tmp_path):
    text = BASE + "staff:\n  - code: W001\n    name: 李娟\n    name: 李娟娟\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "李娟娟"), "duplicate key 'name'")


def test_every_problem_is_reported_at_once(tmp_path):
    text = BASE + STAFF + (
        "  - {code: W002, name: 孙悦, role: grid_worker, unit: JT-XX-01}\n"
        "  - {code: W003, name: 马俊, role: grid_worker, unit: JT-TTC-02, phone: '123'}\n")
    path = write(tmp_path, text)

    problems = refused(path)

    assert len(problems) == 2
    assert_problem(problems, path, line_of(text, "W002"), "does not exist")
    assert_problem(problems, path, line_of(text, "W003"), "malformed phone")


# --- CSV -------------------------------------------------------------------------------------------------

STAFF_CSV = """\
code,name,role,unit,department,phone,on_duty,identities
D001,彭晓东,department,610302,城管,0917-3260001,true,telegram:5010001;wecom:pengxd
D002,邹海波,department,JT,司法所,13891707005,否,
"""
GROUPS_CSV = """\
channel,chat_id,unit,title
telegram,-1001700000001,JT-TTC-01,铁塔厂家属院居民群
wecom,wrOgQhDgAAAbc,JT-TTC-02,铁塔新村居民群
"""


def test_csv_tables_load_beside_the_yaml(tmp_path):
    write(tmp_path, STAFF_CSV, "staff.csv")
    write(tmp_path, GROUPS_CSV, "groups.csv")
    path = write(tmp_path, BASE + "staff_csv: staff.csv\ngroups_csv: groups.csv\n")

    spec = read_district(path)

    peng, zou = spec.staff
    assert (peng.unit, peng.department, peng.on_duty) == ("610302", "城管", True)
    assert peng.identities == (("console", "D001"), ("telegram", "5010001"), ("wecom", "pengxd"))
    assert (zou.on_duty, zou.where.file.endswith("staff.csv"), zou.where.line) == (False, True, 3)
    assert {(g.channel, g.chat_id, g.unit) for g in spec.groups} >= {
        ("telegram", "-1001700000001", "JT-TTC-01"), ("wecom", "wrOgQhDgAAAbc", "JT-TTC-02")}


def test_csv_errors_name_the_csv_and_its_row(tmp_path):
    staff_csv = write(tmp_path, STAFF_CSV + "D003,江涛,department,JT-XX,派出所,1389170,true,\n", "staff.csv")
    groups_csv = write(tmp_path, GROUPS_CSV + "telegram,-1001700000009,JT-NOPE,\n", "groups.csv")
    path = write(tmp_path, BASE + "staff_csv: staff.csv\ngroups_csv: groups.csv\n")

    problems = refused(path)

    assert_problem(problems, staff_csv, 4, "staff 'D003': unit 'JT-XX' does not exist")
    assert_problem(problems, staff_csv, 4, "staff 'D003': malformed phone")
    assert_problem(problems, staff_csv, 4, "department '派出所' is not in 'departments'")
    assert_problem(problems, groups_csv, 4, "unit 'JT-NOPE' does not exist")


def test_csv_with_unknown_columns(tmp_path):
    staff_csv = write(tmp_path, "code,name,role,unit,mobile\n", "staff.csv")
    path = write(tmp_path, BASE + "staff_csv: staff.csv\n")

    assert_problem(refused(path), staff_csv, 1, "unknown columns mobile")


def test_missing_csv_file(tmp_path):
    text = BASE + "staff_csv: nowhere.csv\n"
    path = write(tmp_path, text)

    assert_problem(refused(path), path, line_of(text, "nowhere.csv"), "cannot read")
