"""The command line: classify (text and CSV), chat through stdin, seed, demo, outbox."""

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.delivery.outbox import Notice, SendResult, claim_due, enqueue, record_result
from models.db import create_engine, session_factory

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, stdin: str = "", env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
               **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], input=stdin, capture_output=True,
                          text=True, env=environ, cwd=cwd, timeout=120)


def test_classify_prints_one_json_object():
    result = run("classify", "小区3号楼门口路灯坏了")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"intent", "category", "confidence", "keywords"}
    assert answer["intent"] == "report"
    assert answer["category"]["code"] == "street_light" and answer["category"]["name"]
    assert 0.6 <= answer["confidence"] <= 1 and answer["keywords"]


def test_classify_csv_adds_columns(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,电题坏了好几天\n2,今天天气真好\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    result = run("classify", "--file", str(source), "--out", str(target))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["category"] == "lift" and rows[0]["intent"] == "report" and float(rows[0]["confidence"]) > 0
    assert rows[1]["intent"] == "not_for_bot" and rows[1]["category"] == ""


def test_classify_csv_without_text_column_is_refused(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("message\nhello\n", encoding="utf-8")
    result = run("classify", "--file", str(source), "--out", str(tmp_path / "out.csv"))
    assert result.returncode == 2 and "text" in result.stderr


def test_chat_reads_stdin_and_acts_as_resident_then_staff(tmp_path):
    env = {"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/chat.db"}
    resident = run("chat", "--group", "JT-TTC-01", "--user", "R001", env=env,
                   stdin="大家好\n#随手拍 3号楼门口路灯坏了\n确认\n")
    assert resident.returncode == 0, resident.stderr
    assert "编号 #1" in resident.stdout and "通知 W001" in resident.stdout
    assert resident.stdout.count("bot：") == 2  # the greeting got no reply
    worker = run("chat", "--staff", "W001", env=env, stdin="接单 1\n办结 1 已修复\n")
    assert worker.returncode == 0, worker.stderr
    assert "已接单" in worker.stdout and "已办结" in worker.stdout and "通知 R001" in worker.stdout


def test_chat_with_unknown_group_is_refused(tmp_path):
    result = run("chat", "--group", "NOPE", env={"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"})
    assert result.returncode == 2 and "NOPE" in result.stderr


def test_seed_loads_the_demo_district_and_is_idempotent(tmp_path):
    env = {"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/seed.db"}
    first = run("seed", env=env)
    second = run("seed", env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert json.loads(first.stdout)["staff"] > 40


def test_seed_with_a_broken_district_names_file_and_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("district:\n  code: X\n  name: 测试区\nstaff:\n  - {code: W1, name: 甲, role: grid_worker, "
                      "unit: NOWHERE}\n", encoding="utf-8")
    result = run("seed", "--district", str(broken), env={"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"})
    assert result.returncode == 2
    assert "broken.yaml:5" in result.stderr and "NOWHERE" in result.stderr


def test_demo_runs_the_scripted_day(tmp_path):
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "（群聊闲谈，机器人不回复）" in out
    assert "已并入" in out  # the duplicate report
    assert "已重新打开" in out or "重新打开" in out  # the unhappy resident
    assert "无权处理" in out  # a worker outside the unit
    assert "办结率" in out and "平均接单用时" in out
    assert "W1 已发布到心愿墙" in out and "认领成功" in out and "已标记为实现" in out and "答谢" in out
    assert "已确认志愿时长 3 小时" in out and "进度 58%" in out
    assert (tmp_path / "var" / "demo.db").exists()


async def test_outbox_lists_pending_and_dead_and_requeues_dead(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/o.db"
    assert run("migrate", env={"GRIDBOT_DATABASE_URL": url}).returncode == 0
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        for key in ("to-telegram", "blocked"):
            await enqueue(session, Notice(key, "telegram", "42", "staff:W001", f"通知 {key}", {}), now=now)
    [_, blocked] = await claim_due(sessions, "telegram", now=now)
    await record_result(sessions, blocked, SendResult(ok=False, permanent=True, error="403 blocked"), now=now)
    await engine.dispose()

    env = {"GRIDBOT_DATABASE_URL": url}
    listing = run("outbox", env=env)
    assert listing.returncode == 0
    states = sorted(line.split("\t")[1] for line in listing.stdout.splitlines())
    assert states == ["dead", "sending"]
    assert "403 blocked" in listing.stdout
    retry = run("outbox", "--retry", str(blocked.id), env=env)
    assert retry.stdout.strip() == "re-queued 1"
    assert run("outbox", "--retry", "all-dead", env=env).stdout.strip() == "re-queued 0"


def test_seed_synthetic_builds_weibin_scale(tmp_path):
    result = run("seed", "--synthetic", env={"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"})
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["groups"] == 639 and counts["units"] > 7000 and counts["staff"] > 700
