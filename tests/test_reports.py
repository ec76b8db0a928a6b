"""The weekly report: figures from one grouped query, rolled up the grid; its text, chart and command line."""

import io
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matplotlib import font_manager
from PIL import Image

from bot.reports.weekly import (
    CJK_FONTS,
    Figures,
    chart_for,
    chart_weeks,
    cjk_font,
    report_text,
    week_bounds,
    week_figures,
    weeks_before,
)
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[1]
GROUP = "JT-TTC-01"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


def run(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
               "GRIDBOT_DATABASE_URL": database_url, **env}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=120)


def test_weeks_are_iso_weeks_in_the_service_time_zone():
    from zoneinfo import ZoneInfo

    start, end = week_bounds("2026-W48", ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC) and (end - start).days == 7
    assert weeks_before("2026-W02", 3) == ["2025-W52", "2026-W01", "2026-W02"]
    with pytest.raises(ValueError, match="2026-W48"):
        week_bounds("48", ZoneInfo("Asia/Shanghai"))


def test_an_empty_week_says_so_kindly():
    assert "本周没有新的诉求" in report_text("铁塔厂家属院", "2026-W48", Figures())


async def test_figures_roll_up_from_buildings_to_grid_community_and_street(bot):
    first = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group=GROUP)
    bot.clock.advance(hours=2)
    await bot.staff("W001", f"接单 {first.id}")
    bot.clock.advance(hours=10)
    await bot.staff("W001", f"办结 {first.id} 已修好")
    await bot.resident("R001", f"基本满意 {first.id}")
    directory = bot.services.directory
    async with bot.services.sessions() as session:
        figures = await week_figures(session, directory, "2026-W49", bot.services.settings.tz)
    grid = directory.by_code(GROUP)
    community = directory.by_code("JT-TTC")
    street = directory.by_code("JT")
    for unit in (grid, community, street):
        mine = figures[unit.id]
        assert (mine.cases, mine.done, mine.rated, mine.pleased) == (2, 1, 1, 1)
        assert mine.closure_rate == 0.5 and mine.mean_accept_hours == pytest.approx(2.0)
        assert mine.mean_resolve_hours == pytest.approx(12.0)
    assert directory.by_code("JT-TTC-02").id not in figures
    text = report_text(grid.name, "2026-W49", figures[grid.id])
    assert "平均接单用时 2.0 小时，平均办结用时 12.0 小时" in text and "满意度 100%" in text


async def test_report_weekly_prints_the_report_and_writes_the_chart(bot, database_url, tmp_path):
    await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    chart = tmp_path / "weekly.png"
    result = run("report", "weekly", "--unit", "JT-TTC", "--week", "2026-W49", "--chart", str(chart),
                 database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "市铁塔厂社区·2026年第49周进展" in result.stdout and "新受理 1 件" in result.stdout
    assert chart.read_bytes().startswith(b"\x89PNG") and chart.stat().st_size > 5000
    bad = run("report", "weekly", "--unit", "没有这个社区", database_url=database_url)
    assert bad.returncode == 2 and "no unit" in bad.stderr
    wrong_week = run("report", "weekly", "--unit", "JT-TTC", "--week", "W49", database_url=database_url)
    assert wrong_week.returncode == 2 and "2026-W48" in wrong_week.stderr


def chart_title(png: bytes) -> str:
    """The title the chart carries in its PNG metadata (the same words as drawn above the plot)."""
    return Image.open(io.BytesIO(png)).text["Title"]


async def test_the_chart_draws_chinese_with_the_font_mplfonts_ships(bot):
    await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    assert cjk_font() == "Noto Sans CJK SC"
    directory = bot.services.directory
    async with bot.services.sessions() as session:
        labels, weeks = await chart_weeks(session, directory, "2026-W49", bot.services.settings.tz)
    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" for every character it would draw as a tofu box
        warnings.filterwarnings("error", message="Glyph", category=UserWarning)
        png = chart_for(directory, directory.by_code("JT-TTC"), labels, weeks)
    assert png.startswith(b"\x89PNG")
    assert chart_title(png) == "市铁塔厂社区 近8周诉求与办结率"


async def test_a_host_whose_font_cannot_be_loaded_gets_ascii_labels_not_boxes(bot, database_url, tmp_path):
    """An mplfonts whose font file is damaged stands in front of the real one: the chart is still drawn."""
    await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    fonts = tmp_path / "shadow" / "mplfonts" / "fonts"
    fonts.mkdir(parents=True)
    (fonts.parent / "__init__.py").write_text("")
    (fonts / "NotoSansCJKsc-Regular.otf").write_bytes(b"OTTO" + b"\0" * 64)
    chart = tmp_path / "weekly.png"
    result = run("report", "weekly", "--unit", "JT-TTC", "--week", "2026-W49", "--chart", str(chart),
                 database_url=database_url, PYTHONPATH=str(fonts.parent.parent))
    assert result.returncode == 0, result.stderr
    assert "cannot load the chart font" in result.stderr and "missing from font" not in result.stderr
    system_font = any(f.name in CJK_FONTS[:-1] and "mplfonts" not in f.fname for f in font_manager.fontManager.ttflist)
    title = chart_title(chart.read_bytes())
    assert title == ("市铁塔厂社区 近8周诉求与办结率" if system_font else "JT-TTC: new cases and closure rate, last 8 weeks")


async def test_scheduler_once_runs_what_is_due_and_only_once(bot, database_url):
    first = run("scheduler", "--once", database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "sla\t" in first.stdout
    second = run("scheduler", "--once", database_url=database_url)
    assert second.returncode == 0 and "digest" not in second.stdout
