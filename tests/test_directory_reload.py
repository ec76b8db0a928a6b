"""A running service sees a district loaded after it started (`run.py seed` in another process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "district" / "demo.yaml"
NEW_COMPOUND = "  - {parent: JT-TTC, code: JT-TTC-09, name: 铁塔阳光苑, aliases: [阳光苑], buildings: 4}\n"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


def seed(district: Path, database_url: str) -> None:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
               "GRIDBOT_DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "seed", "--district", str(district)],
                            capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


async def test_a_running_service_places_a_message_in_a_unit_seeded_after_start(bot, database_url, tmp_path):
    district = tmp_path / "district.yaml"
    text = DEMO.read_text(encoding="utf-8").replace("\nunits:\n", "\nunits:\n" + NEW_COMPOUND, 1)
    district.write_text(text, encoding="utf-8")
    for csv in DEMO.parent.glob("*.csv"):
        (tmp_path / csv.name).write_bytes(csv.read_bytes())
    assert bot.services.directory.by_code("JT-TTC-09") is None
    seed(district, database_url)
    bot.clock.advance(minutes=1)
    case = await bot.report("R001", "阳光苑3号楼楼道灯坏了")
    unit = bot.services.directory.unit(case.unit_id)
    assert (unit.code, unit.name) == ("JT-TTC-09-B03", "3号楼")
    assert case.place == "铁塔阳光苑3号楼"
