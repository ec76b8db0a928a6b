"""`appointments --station X --date D [--ics DIR]`: a station's day list (phones masked), and .ics per booking."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from bot.cli import CommandError
from config.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Adds appointments."""
    parser = commands.add_parser("appointments", help="print a station's bookings of a day")
    parser.add_argument("--station", required=True, help="station code, e.g. ST-TTC (see config/stations.yaml)")
    parser.add_argument("--date", required=True, help="the day, e.g. 2026-12-08")
    parser.add_argument("--ics", type=Path, help="also write one .ics calendar file per booking into this folder")
    parser.set_defaults(run=appointments_command)


async def appointments_command(settings: Settings, args: argparse.Namespace) -> int:
    return await print_day(settings, args.station, args.date, args.ics, sys.stdout)


async def print_day(settings: Settings, station_code: str, day_text: str, ics: Path | None, out: TextIO) -> int:
    """Prints the day's bookings of a station, by time; writes their .ics files when asked."""
    from bot.appointments.bookings import day_list
    from bot.appointments.labels import day_label
    from bot.appointments.stations import StationsError, load_network
    from bot.pipeline.identities import mask_phone
    from models.db import create_engine, migrate, session_factory

    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise CommandError(f"--date must look like 2026-12-08, not {day_text!r}") from None
    try:
        network = load_network(settings.services_path)
    except StationsError as exc:
        raise CommandError(str(exc)) from None
    station = network.station(station_code)
    if station is None:
        known = ", ".join(s.code for s in network.stations)
        raise CommandError(f"no station {station_code!r}; known: {known}")
    if ics is not None:
        try:
            await asyncio.to_thread(ics.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot write to {ics}: {exc.strerror}") from None
    tz = settings.tz
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            start = datetime.combine(day, time(0), tz)
            rows = await day_list(session, station.code, start, start + timedelta(days=1))
    finally:
        await engine.dispose()
    print(f"{station.name} {day_label(day)}：{len(rows)} 个预约", file=out)
    for booking, case, resident, seats in rows:
        phone = f"（{mask_phone(resident.phone)}）" if resident.phone else ""
        print(f"{seats.starts_at.astimezone(tz):%H:%M}-{seats.ends_at.astimezone(tz):%H:%M} {case.number} "
              f"{case.category_name} {resident.display_name}{phone} {booking.status.label}", file=out)
        if ics is not None:
            path = ics / f"booking-{case.id}.ics"
            await asyncio.to_thread(path.write_bytes, calendar_file(case, seats, station.name))
            print(f"  ics: {path}", file=out)
    return 0


def calendar_file(case, seats, station_name: str) -> bytes:  # type: ignore[no-untyped-def]
    """One booking as an iCalendar event (RFC 5545); the resident's name only, never their phone."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//gridbot//appointments//ZH")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"booking-{case.id}@gridbot")
    event.add("dtstamp", case.created_at)
    event.add("dtstart", seats.starts_at)
    event.add("dtend", seats.ends_at)
    event.add("summary", f"{case.category_name}：{case.reporter.display_name}（{case.number}）")
    event.add("location", case.extras.get("appointment", {}).get("place", station_name))
    calendar.add_component(event)
    return calendar.to_ical()
