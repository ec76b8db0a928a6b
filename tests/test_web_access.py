"""Access matrix: every staff route × every role × a case of their own unit and one of another, table-driven."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from models import Case, GridUnit, Identity, Staff, StaffRole, UnitLevel
from tests.conftest import table_counts
from tests.web_rig import WebRig

# Three cases: A in 铁塔厂家属院 1号楼 (姜谭街道), B in 石坝河 4号楼 (清姜路街道... another street), W a water cut
# in 秦机 (姜谭街道), which belongs to the 供水 department.
REPORTS = {"A": ("R001", "1号楼楼道灯坏了不亮"), "B": ("R005", "4号楼楼道灯坏了不亮"), "W": ("R004", "家里停水了一整天")}
# code → (cases seen, statistics page, staff management page)
MATRIX = {
    "W001": ({"A"}, True, False),  # 网格员, 铁塔厂家属院
    "W013": ({"B"}, True, False),  # 网格员, another street's grid
    "B001": ({"A"}, True, False),  # 楼栋长, 1号楼
    "H001": (set(), True, False),  # 党员中心户, a household of 3号楼: neither case
    "C001": ({"A"}, True, False),  # 社区工作人员, 市铁塔厂社区
    "S001": ({"A"}, True, True),  # 社区书记, 市铁塔厂社区
    "O001": ({"A", "W"}, True, True),  # 街道干部, 姜谭街道
    "O004": ({"B"}, True, True),  # 街道干部, another street
    "D007": ({"W"}, False, False),  # 职能部门 供水
    "V001": (set(), False, False),  # 志愿者: nothing not assigned to them
    "A001": ({"A", "B", "W"}, True, True),  # admin: a street officer placed at the district root
}
PAGES = ["/staff/", "/staff/cases.csv", "/staff/triage", "/staff/rules?text=路灯坏了", "/staff/stats", "/staff/people",
         "/staff/password"]


async def _rig(database_url: str) -> tuple[WebRig, dict[str, Case]]:
    rig = await WebRig.start(database_url)
    cases = {label: await rig.harness.report(who, text) for label, (who, text) in REPORTS.items()}
    async with rig.harness.services.sessions.begin() as session:
        root = await session.scalar(select(GridUnit.id).where(GridUnit.level == UnitLevel.DISTRICT))
        admin = (await session.execute(insert(Staff).values(
            code="A001", name="区管理员", role=StaffRole.STREET_OFFICER, unit_id=root, on_duty=True)
            .returning(Staff.id))).scalar_one()
        await session.execute(insert(Identity).values(channel="console", user_id="A001", display_name="区管理员",
                                                      private_chat_id="private:A001", staff_id=admin))
    return rig, cases


@pytest.fixture
async def matrix_rig(database_url: str):
    rig, cases = await _rig(database_url)
    yield rig, cases
    await rig.close()


async def test_cases_are_filed_where_the_matrix_expects(matrix_rig) -> None:
    rig, cases = matrix_rig
    directory = rig.harness.services.directory
    assert directory.unit(cases["A"].unit_id).code == "JT-TTC-01-B01"
    assert directory.unit(cases["B"].unit_id).code.startswith("QN-")
    assert cases["W"].department == "供水" and cases["W"].unit_path.startswith(directory.by_code("JT").path)
    assert all(c.assignee_id is None or c.assignee.code in {"W001", "W013", "D007", "C001", "C004", "C007"}
               for c in cases.values())


@pytest.mark.parametrize("code", sorted(MATRIX))
async def test_each_role_sees_and_acts_within_scope(matrix_rig, engine, code: str) -> None:
    rig, cases = matrix_rig
    seen, stats, people = MATRIX[code]
    seen = seen | {label for label, case in cases.items() if case.assignee is not None and case.assignee.code == code}
    await rig.login(code)
    listing = await (await rig.client.get("/staff/")).text()
    export = await (await rig.client.get("/staff/cases.csv")).text()
    for label, case in cases.items():
        visible = label in seen
        assert (f'href="/staff/cases/{case.id}"' in listing) is visible, (code, label)
        assert (f"\n{case.id}," in export) is visible, (code, label)
        assert (await rig.client.get(f"/staff/cases/{case.id}")).status == (200 if visible else 404), (code, label)
        if not visible:
            before = await table_counts(engine)
            refused = await rig.post_form(f"/staff/cases/{case.id}/act", {"action": "accept"})
            assert refused.status == 404, (code, label)
            assert await table_counts(engine) == before
    for page in PAGES:
        expected = {"/staff/stats": 200 if stats else 404, "/staff/people": 200 if people else 404}.get(page, 200)
        assert (await rig.client.get(page)).status == expected, (code, page)
    if stats:  # asking for another street's statistics shows one's own unit instead
        page = await (await rig.client.get("/staff/stats?unit=BY")).text()
        assert ("统计：八鱼" in page) is (code == "A001")


async def test_strangers_are_sent_to_the_login_page(matrix_rig) -> None:
    rig, cases = matrix_rig
    for page in [*PAGES, f"/staff/cases/{cases['A'].id}", "/staff/photos/1", "/staff/stats.csv?table=weeks"]:
        response = await rig.client.get(page, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"].startswith("/staff/login"), page
    await rig.csrf()
    for path in [f"/staff/cases/{cases['A'].id}/act", "/staff/cases/bulk", "/staff/people/W001", "/staff/logout/all"]:
        response = await rig.client.post(path, data={"_csrf": await rig.csrf(), "action": "accept"},
                                         allow_redirects=False)
        assert response.status == 403, path
