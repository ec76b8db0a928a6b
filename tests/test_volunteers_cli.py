"""`run.py volunteers`, `claimers --load` and `projects --load`: totals, CSV out, loading, one-line errors."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.community.claimers import load_district_claimers
from models import Claimer, ClaimerKind, ClaimerStatus, HoursStatus, VolunteerHours
from models.db import create_engine, session_factory
from tests.test_cli import run

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


async def seeded(tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/v.db"
    assert run("seed", env={"GRIDBOT_DATABASE_URL": url}).returncode == 0
    return url


async def test_volunteers_prints_confirmed_totals_and_writes_csv(tmp_path):
    url = await seeded(tmp_path)
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        claimer = await session.scalar(select(Claimer).where(Claimer.code == "P001"))
        assert claimer is not None and claimer.status is ClaimerStatus.APPROVED
        for hours, status, day in ((2.5, HoursStatus.CONFIRMED, date(2026, 3, 2)),
                                   (4.0, HoursStatus.CONFIRMED, date(2026, 5, 9)),
                                   (9.0, HoursStatus.LOGGED, date(2026, 5, 9)),
                                   (7.0, HoursStatus.CONFIRMED, date(2025, 5, 9))):
            session.add(VolunteerHours(claimer_id=claimer.id, community_id=claimer.community_id, hours=hours,
                                       worked_on=day, note="", status=status, logged_at=NOW))
    await engine.dispose()
    out = tmp_path / "hours.csv"
    result = run("volunteers", "--community", "JT-TTC", "--year", "2026", "--csv", str(out),
                 env={"GRIDBOT_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "6.5 小时" in result.stdout and "胡志远（P001）  6.5" in result.stdout and "市铁塔厂  6.5" in result.stdout
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["month"], r["person"], r["hours"]) for r in rows] == [("3", "胡志远（P001）", "2.5"),
                                                                    ("5", "胡志远（P001）", "4.0")]
    may = run("volunteers", "--community", "JT-TTC", "--year", "2026", "--month", "5", env={"GRIDBOT_DATABASE_URL": url})
    assert "4 小时" in may.stdout
    wrong = run("volunteers", "--community", "NOWHERE", "--year", "2026", env={"GRIDBOT_DATABASE_URL": url})
    assert wrong.returncode == 2 and wrong.stderr.strip() == "gridbot: no community called 'NOWHERE'"


async def test_claimers_and_projects_load_from_csv(tmp_path):
    url = await seeded(tmp_path)
    env = {"GRIDBOT_DATABASE_URL": url}
    people = tmp_path / "claimers.csv"
    people.write_text("code,name,kind,organisation,party_member,community,phone,staff,identities\n"
                      "P100,宋立,党员,市自来水公司,是,JT-TTC,13891700100,,telegram:777\n"
                      "U100,市自来水公司,单位,,,JT-TTC,,,\n", encoding="utf-8")
    result = run("claimers", "--load", str(people), env=env)
    assert result.returncode == 0 and "claimers loaded: 2" in result.stdout, result.stderr
    assert run("claimers", "--load", str(people), env=env).returncode == 0  # idempotent
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind,community\nP9,某人,党员,JT-TTC-01\n", encoding="utf-8")
    refused = run("claimers", "--load", str(bad), env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "not a community code" in refused.stderr
    ledger = tmp_path / "projects.csv"
    ledger.write_text("community,year,title,description,budget,owner,milestones\n"
                      "JT-TTC,2026,老旧小区加装电梯,两栋楼加装电梯,800000,C001,设计:20:100;施工:80:50\n"
                      "JT-TTC,2026,社区食堂,,,,\n", encoding="utf-8")
    loaded = run("projects", "--load", str(ledger), "--community", "JT-TTC", "--year", "2026", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "projects loaded: 2" in loaded.stdout and "老旧小区加装电梯 推进中 60%" in loaded.stdout
    assert "社区食堂 计划中 0%" in loaded.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("community,year,title,milestones\nJT-TTC,二〇二六,食堂,\n", encoding="utf-8")
    failed = run("projects", "--load", str(broken), env=env)
    assert failed.returncode == 2 and failed.stderr.startswith("gridbot: broken.csv:2")
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        loaded_people = (await session.scalars(select(Claimer).where(Claimer.code.in_(["P100", "U100"]))
                                               .order_by(Claimer.code))).unique().all()
        assert [(c.kind, c.party_member) for c in loaded_people] == [(ClaimerKind.PARTY_MEMBER, True),
                                                                     (ClaimerKind.UNIT, False)]
        assert await load_district_claimers(session, tmp_path / "claimers.csv", now=NOW) == 2
    await engine.dispose()
