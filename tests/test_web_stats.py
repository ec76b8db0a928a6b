"""The statistics page: its tables (weeks, child units, categories, total) agree with the figures module."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import update

from bot.cases.figures import figures_for
from models import Case, UnitLevel
from tests.web_rig import WebRig


async def _table(rig: WebRig, table: str, unit: str = "") -> list[dict[str, str]]:
    body = await (await rig.client.get("/staff/stats.csv", params={"table": table, "unit": unit})).read()
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_stats_tables_are_the_figures_of_the_last_eight_weeks(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        harness = rig.harness
        lamp = await harness.report("R001", "1号楼楼道灯坏了不亮")
        water = await harness.report("R004", "家里停水了一整天")
        await harness.report("R005", "4号楼楼道灯坏了不亮")  # another street
        old = await harness.report("R001", "3号楼门口垃圾堆了好几天没人清")
        async with harness.services.sessions.begin() as session:
            await session.execute(update(Case).where(Case.id == old.id).values(
                created_at=harness.clock.now() - timedelta(weeks=10)))
        worker = lamp.assignee.code
        await harness.staff(worker, f"接单 {lamp.id}")
        await harness.staff(worker, f"办结 {lamp.id} 已更换灯泡")
        await rig.login("O001")  # 姜谭街道
        page = await (await rig.client.get("/staff/stats")).text()
        assert '<strong id="fig-total">2</strong>' in page and "统计期：近 8 周" in page
        weeks = await _table(rig, "weeks")
        assert len(weeks) == 8 and [int(w["total"]) for w in weeks][-1] == 2 and sum(int(w["done"]) for w in weeks) == 1
        directory = harness.services.directory
        since = harness.clock.now() - timedelta(weeks=8)
        async with harness.services.sessions() as session:
            for row in await _table(rig, "units"):
                child = directory.by_code(row["code"])
                expected = await figures_for(session, unit_path=child.path, since=since)
                assert (int(row["total"]), int(row["done"])) == (expected.cases, expected.done), row
        def community(case: Case) -> str:
            return next(u.code for u in directory.ancestors(directory.unit(case.unit_id))
                        if u.level is UnitLevel.COMMUNITY)

        units = {r["code"]: int(r["total"]) for r in await _table(rig, "units")}
        assert sum(units.values()) == 2 and units[community(lamp)] == 1
        categories = {r["label"]: int(r["total"]) for r in await _table(rig, "categories")}
        assert categories == {lamp.category_name: 1, water.category_name: 1}
        drilled = await _table(rig, "units", unit=community(water))
        assert sum(int(r["total"]) for r in drilled) == 1
    finally:
        await rig.close()
