"""`volunteers` (confirmed volunteer hours per person, unit and month; CSV out), `claimers --load`, `projects`."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.errors import CommandError
from bot.clock import SystemClock
from bot.community.claimers import ClaimerFileError, load_claimers, read_claimer_file
from bot.community.common import Refused
from bot.community.hours import HoursTotals, hours_totals
from bot.community.projects import load_projects_csv
from bot.community.publishing import community_projects
from bot.grid.directory import GridDirectory, UnitRef
from models import UnitLevel
from models.db import create_engine, migrate, session_factory

CSV_COLUMNS = ("community", "year", "month", "person", "unit", "kind", "hours")


def register(commands: argparse._SubParsersAction) -> None:
    """Adds volunteers, claimers and projects."""
    volunteers = commands.add_parser("volunteers", help="confirmed volunteer hours of a community and year")
    volunteers.add_argument("--community", required=True, help="community code or name, e.g. JT-TTC")
    volunteers.add_argument("--year", type=int, required=True)
    volunteers.add_argument("--month", type=int, choices=range(1, 13), metavar="1-12")
    volunteers.add_argument("--csv", type=Path, help="also write one row per month, person and unit to this CSV")
    volunteers.set_defaults(run=volunteers_command)
    claimers = commands.add_parser("claimers", help="load 双报到 claimers from a district YAML or a CSV")
    claimers.add_argument("--load", type=Path, required=True,
                          help="a YAML with claimers: or a CSV with code,name,kind,organisation,party_member,"
                               "community,phone,staff,identities")
    claimers.set_defaults(run=claimers_command)
    projects = commands.add_parser("projects", help="list or load a community's projects (为民办十件实事)")
    projects.add_argument("--load", type=Path, help="a CSV: community,year,title,description,budget,owner,milestones")
    projects.add_argument("--community", help="community code or name, to list its projects")
    projects.add_argument("--year", type=int)
    projects.set_defaults(run=projects_command)


@asynccontextmanager
async def _database(settings) -> AsyncIterator[tuple[AsyncSession, GridDirectory]]:  # type: ignore[no-untyped-def]
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            yield session, await GridDirectory.load(session)
    finally:
        await engine.dispose()


def _community(directory: GridDirectory, ref: str) -> UnitRef:
    unit = directory.resolve(ref)
    if unit is None or unit.level is not UnitLevel.COMMUNITY:
        raise CommandError(f"no community called {ref!r}")
    return unit


def print_totals(name: str, totals: HoursTotals, out: TextIO, month: int | None) -> None:
    period = f"{totals.year}年{month}月" if month else f"{totals.year}年"
    print(f"{name} {period}志愿服务时长（仅计已确认）：{totals.total:g} 小时", file=out)
    for title, table in (("按人", totals.by_person), ("按单位", totals.by_unit)):
        print(f"{title}：", file=out)
        for key, hours in sorted(table.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key}  {hours:g}", file=out)
    print("按月：", file=out)
    for m, hours in sorted(totals.by_month.items()):
        print(f"  {m}月  {hours:g}", file=out)


async def volunteers_command(settings, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Prints the confirmed hours of --community in --year (and --month), and writes --csv."""
    async with _database(settings) as (session, directory):
        community = _community(directory, args.community)
        totals = await hours_totals(session, community.id, args.year, month=args.month)
    print_totals(community.name, totals, sys.stdout, args.month)
    if args.csv is not None:
        with args.csv.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for month, person, unit, kind, hours in totals.rows:
                writer.writerow((community.code, args.year, month, person, unit, kind, hours))
        print(f"csv: {args.csv}")
    return 0


async def claimers_command(settings, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Loads claimers as approved 双报到 registrations."""
    if not args.load.is_file():
        raise CommandError(f"no such file: {args.load}")
    try:
        records = read_claimer_file(args.load)
        async with _database(settings) as (session, directory):
            loaded = await load_claimers(session, directory, records, source=args.load.name,
                                         now=SystemClock().now())
    except (ClaimerFileError, ValueError, UnicodeDecodeError) as error:
        raise CommandError(str(error).splitlines()[0]) from error
    print(f"claimers loaded: {loaded}")
    return 0


async def projects_command(settings, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Loads --load, then lists --community's projects of --year."""
    if args.load is None and args.community is None:
        raise CommandError("give --load FILE or --community CODE --year YEAR")
    if args.load is not None and not args.load.is_file():
        raise CommandError(f"no such file: {args.load}")
    async with _database(settings) as (session, directory):
        if args.load is not None:
            try:
                loaded = await load_projects_csv(session, directory, args.load, SystemClock().now())
            except (Refused, UnicodeDecodeError, KeyError) as error:
                raise CommandError(str(error)) from error
            print(f"projects loaded: {loaded}")
        if args.community is not None:
            community = _community(directory, args.community)
            year = args.year or SystemClock().now().astimezone(settings.tz).year
            for project in await community_projects(session, community.id, year):
                claimed = f"；认领：{'、'.join(project.claimed_by)}" if project.claimed_by else ""
                print(f"{project.number} {project.title} {project.status_label} {project.progress:.0f}%{claimed}")
    return 0
