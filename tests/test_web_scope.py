"""Scope: the SQL filter and the per-case check agree for every staff member, and follow the role rules."""

from __future__ import annotations

from sqlalchemy import select

from bot.cases.scope import case_filter, may_see, may_see_phones
from models import Case, Staff, StaffRole
from tests.harness import Harness

REPORTS = [("R001", "3号楼门口路灯坏了不亮"), ("R002", "5号楼楼道垃圾堆了好几天没人清"),
           ("R004", "7号楼下水道堵了污水漫出来"), ("R005", "4号楼电梯坏了")]


async def test_filter_and_check_agree_for_every_staff_member(database_url: str) -> None:
    harness = await Harness.start(database_url)
    try:
        for resident, text in REPORTS:
            await harness.report(resident, text)
        directory = harness.services.directory
        async with harness.services.sessions() as session:
            staff = list((await session.scalars(select(Staff))).unique().all())
            cases = list((await session.scalars(select(Case))).unique().all())
            for person in staff:
                listed = set((await session.scalars(select(Case.id).where(case_filter(directory, person)))).all())
                assert listed == {c.id for c in cases if may_see(directory, person, c)}, person.code
        by_code = {s.code: s for s in staff}
        ttc = next(c for c in cases if c.reporter.display_name == "张桂兰")
        sbh = next(c for c in cases if c.reporter.display_name == "刘芳")
        assert may_see(directory, by_code["S001"], ttc) and not may_see(directory, by_code["S001"], sbh)
        assert may_see(directory, by_code["O001"], ttc) and not may_see(directory, by_code["O001"], sbh)
        assert not may_see(directory, by_code["V001"], ttc)
        if ttc.assignee_id is not None:
            assert may_see(directory, by_code[ttc.assignee.code], ttc)
        assert may_see_phones(by_code["S001"]) and not may_see_phones(by_code["O001"])
        assert {p.role for p in staff if may_see_phones(p)} <= {StaffRole.GRID_WORKER, StaffRole.COMMUNITY_STAFF,
                                                                 StaffRole.COMMUNITY_SECRETARY, StaffRole.DEPARTMENT}
    finally:
        await harness.close()
