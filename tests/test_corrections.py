"""Staff re-categorise a case (改类); the correction is recorded and teaches the rules only through a diff."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from models import CategoryCorrection
from tests.harness import Harness
from tests.test_cli import run
from tests.test_rules import SHIPPED

GROUP = "JT-TTC-01"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def corrections(bot: Harness) -> list[CategoryCorrection]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(CategoryCorrection))).all())


async def test_staff_recategorise_a_case_and_the_correction_is_kept(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    assert case.category_code == "street_light"
    answer = await bot.staff("S001", f"改类 {case.id} 电梯")
    assert "电梯" in answer and "已记录" in answer
    assert (await bot.case(case.id)).category_code == "lift"
    [row] = await corrections(bot)
    assert (row.old_code, row.new_code, row.staff_name, row.text) == ("street_light", "lift", "高建华", case.text)
    assert any(e.action == "recategorise" and "电梯" in e.note for e in await bot.events(case.id))


async def test_unknown_category_or_foreign_case_changes_nothing(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    assert "可选类别" in await bot.staff("S001", f"改类 {case.id} 火星事务")
    assert "未找到" in await bot.staff("S001", "改类 99999 电梯")
    assert "无需修改" in await bot.staff("S001", f"改类 {case.id} 路灯照明")
    assert await corrections(bot) == []
    assert (await bot.case(case.id)).category_code == "street_light"
    assert await bot.resident("R001", f"改类 {case.id} 电梯") == "" or (await bot.case(case.id)).category_code \
        == "street_light"


async def test_suggest_from_corrections_prints_a_diff_and_leaves_the_rules_alone(bot, database_url, tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(SHIPPED, rules)
    for text in ("路灯底下的共享单车倒了一地", "共享单车把路灯下面堵满了", "路灯杆旁边共享单车乱堆"):
        case = await bot.report("R001", text, group=GROUP)
        assert "已记录" in await bot.staff("S001", f"改类 {case.id} parking")
    env = {"GRIDBOT_DATABASE_URL": database_url, "GRIDBOT_RULES_PATH": str(rules)}
    result = run("rules", "suggest", "--from-corrections", env=env)
    assert result.returncode == 0, result.stderr
    assert "3 corrected cases" in result.stdout and "Nothing was changed" in result.stdout
    assert "+++ b/rules.yaml" in result.stdout and "共享单车" in result.stdout
    assert "0% as staff did now, 100% with this change" in result.stdout
    assert rules.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")
