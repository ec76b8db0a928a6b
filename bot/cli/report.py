"""`report weekly`: a unit's weekly progress report as the broadcast would send it, and its chart."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.grid.directory import GridDirectory
from bot.reports.weekly import Figures, chart_for, chart_weeks, previous_week, report_text, week_figures
from config.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Adds report weekly."""
    report = commands.add_parser("report", help="preview a report")
    report_kinds = report.add_subparsers(dest="report_kind", required=True)
    weekly = report_kinds.add_parser("weekly", help="print a unit's weekly progress report")
    weekly.add_argument("--unit", required=True, help="unit code or name, e.g. JT-TTC or JT-TTC-01")
    weekly.add_argument("--week", help="ISO week such as 2026-W48 (default: last week)")
    weekly.add_argument("--chart", type=Path, help="also write the eight-week chart to this PNG")
    weekly.set_defaults(run=report_command)


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints the report of --unit for --week."""
    return await preview_weekly(settings, args.unit, args.week, args.chart, sys.stdout)


async def preview_weekly(settings: Settings, unit_ref: str, week: str | None, chart: Path | None, out: TextIO) -> int:
    """`run.py report weekly`: prints a unit's report as the broadcast would send it, and writes its chart."""
    from bot.clock import SystemClock
    from models.db import create_engine, migrate, session_factory

    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            directory = await GridDirectory.load(session)
            unit = directory.resolve(unit_ref)
            if unit is None:
                print(f"gridbot: no unit called {unit_ref!r}", file=sys.stderr)
                return 2
            try:
                label = week or previous_week(SystemClock().now(), settings.tz)
                figures = await week_figures(session, directory, label, settings.tz)
            except ValueError as exc:
                print(f"gridbot: {exc}", file=sys.stderr)
                return 2
            print(report_text(unit.name, label, figures.get(unit.id) or Figures()), file=out)
            if chart is not None:
                labels, weeks = await chart_weeks(session, directory, label, settings.tz)
                png = await asyncio.to_thread(chart_for, directory, unit, labels, weeks)
                await asyncio.to_thread(chart.write_bytes, png)
                print(f"chart: {chart}", file=out)
    finally:
        await engine.dispose()
    return 0
