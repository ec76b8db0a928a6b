"""Fifty residents completing reports at the same moment: fifty cases, fifty numbers, fifty assignments."""

import asyncio

from models import CaseStatus
from tests.harness import Harness

GRIDS = ["铁塔厂家属院", "铁塔新村", "发电厂生活区", "电厂南苑小区", "卫校家属楼", "姜谭花园小区", "秦机小区",
         "秦机东区", "红旗路小区", "宝烟家属院", "石坝河小区", "渭水花园", "峪泉小区", "宝桥家属院"]


async def test_fifty_simultaneous_reports_are_all_filed_and_assigned(database_url):
    bot = await Harness.start(database_url, duplicate_window_hours=0)
    try:
        async def one_resident(n: int) -> str:
            name = f"居民{n:02d}"
            # every compound here has buildings 1-4 (卫校家属楼 has four): a missing one would be asked about
            await bot.resident(name, f"{GRIDS[n % len(GRIDS)]}{n % 4 + 1}号楼门口路灯坏了")
            return await bot.resident(name, "确认")

        answers = await asyncio.gather(*(one_resident(n) for n in range(50)))
        assert all("编号 #" in answer for answer in answers), answers
        cases = await bot.cases()
        assert len(cases) == 50
        assert len({case.id for case in cases}) == 50
        numbers = sorted(int(answer.split("编号 #")[1].split("。")[0]) for answer in answers)
        assert numbers == sorted(case.id for case in cases)
        assert all(case.status is CaseStatus.ASSIGNED and case.assignee_id for case in cases)
        assignments = [row for row in await bot.outbox() if row.recipient.startswith("staff:W")]
        assert len(assignments) == 50
    finally:
        await bot.close()
