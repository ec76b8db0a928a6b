"""Stations, roaming desks and booking terms, read from the stations file and services.yaml; slots derived."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.jobs.workdays import WEEKDAYS, parse_periods
from config import yamlfile

Periods = tuple[tuple[time, time], ...]
DAY = timedelta(days=1)


class StationsError(Exception):
    """The stations or services file is malformed; the message names the file and the entry."""


class WorkdayCalendar(Protocol):
    """What slot derivation needs of the working-day calendar (bot/jobs/workdays.py)."""

    def is_workday(self, day: date) -> bool: ...


@dataclass(frozen=True, slots=True)
class Terms:
    """How a service is booked: length, seats per slot, how far ahead, least notice, what to bring."""

    minutes: int = 30
    capacity: int = 1
    window_days: int = 14
    notice_hours: float = 2.0
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Visit:
    """One entry of a roaming desk's rota: a compound on a date or on a weekday, with optional extended hours."""

    compound: str
    on_date: date | None
    weekday: int | None
    hours: Periods
    extended: Periods = ()

    def falls_on(self, day: date) -> bool:
        return day == self.on_date if self.on_date is not None else day.weekday() == self.weekday


@dataclass(frozen=True, slots=True)
class Opening:
    """A station's hours on one day and where it sits then (a roaming desk moves from compound to compound)."""

    periods: Periods
    unit_code: str
    extended: bool = False


@dataclass(frozen=True)
class Station:
    """A community service station (服务站) or a roaming service desk (流动办公桌)."""

    code: str
    name: str
    unit_code: str  # the community it serves; a roaming desk: its first compound
    address: str = ""
    services: frozenset[str] | None = None  # None: every service
    roaming: bool = False
    hours: Periods = ()
    rest_day_hours: Periods = ()
    closed: frozenset[date] = frozenset()
    extra: dict[date, Periods] = field(default_factory=dict)
    visits: tuple[Visit, ...] = ()

    def offers(self, service_code: str) -> bool:
        return self.services is None or service_code in self.services

    def openings(self, day: date, calendar: WorkdayCalendar) -> list[Opening]:
        """Its hours on that day: dated extra hours, else the rota or the plan, never on a closed day."""
        if day in self.closed:
            return []
        if day in self.extra:
            return [Opening(self.extra[day], self.unit_code)]
        if self.roaming:
            found = []
            for visit in self.visits:
                if visit.falls_on(day):
                    found.append(Opening(visit.hours, visit.compound))
                    if visit.extended:
                        found.append(Opening(visit.extended, visit.compound, extended=True))
            return found
        hours = self.hours if calendar.is_workday(day) else self.rest_day_hours
        return [Opening(hours, self.unit_code)] if hours else []


@dataclass(frozen=True, slots=True)
class Slot:
    """One bookable time at a station for a service (derived, never stored until someone books it)."""

    station_code: str
    service_code: str
    starts_at: datetime  # UTC
    ends_at: datetime
    capacity: int
    unit_code: str  # where it takes place
    extended: bool = False


@dataclass(frozen=True)
class Network:
    """Every station and roaming desk, and each service's booking terms."""

    stations: tuple[Station, ...]
    terms: dict[str, Terms]

    def station(self, code: str) -> Station | None:
        return next((s for s in self.stations if s.code == code), None)

    def offering(self, service_code: str) -> list[Station]:
        return [s for s in self.stations if s.offers(service_code)]

    def terms_of(self, service_code: str) -> Terms:
        return self.terms.get(service_code, Terms())

    def slots(self, station: Station, service_code: str, day: date, calendar: WorkdayCalendar, tz: Any) -> list[Slot]:
        """The day's slots of a service at a station, cut from its openings by the service's length."""
        terms = self.terms_of(service_code)
        length = timedelta(minutes=terms.minutes)
        found = []
        for opening in station.openings(day, calendar):
            for begin, end in opening.periods:
                start = datetime.combine(day, begin, tz)
                stop = datetime.combine(day, end, tz)
                while start + length <= stop:
                    found.append(Slot(station.code, service_code, start.astimezone(UTC), (start + length).astimezone(UTC),
                                      terms.capacity, opening.unit_code, opening.extended))
                    start += length
        return found

    def bookable(self, station: Station, service_code: str, now: datetime, calendar: WorkdayCalendar, tz: Any,
                 *, first_day: date | None = None) -> Iterator[Slot]:
        """Slots from `first_day` (default today) to the end of the booking window, respecting the least notice."""
        terms = self.terms_of(service_code)
        today = now.astimezone(tz).date()
        earliest = now + timedelta(hours=terms.notice_hours)
        day = max(first_day or today, today)
        last = today + timedelta(days=terms.window_days)
        while day <= last:
            for slot in self.slots(station, service_code, day, calendar, tz):
                if slot.starts_at >= earliest:
                    yield slot
            day += DAY


def _periods(value: Any, where: str) -> Periods:
    try:
        return parse_periods(str(value)) if value else ()
    except (ValueError, TypeError) as exc:
        raise StationsError(f"{where}: bad hours {value!r}: {exc}") from None


def _date(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise StationsError(f"{where}: bad date {value!r}") from None


def _services(value: Any, known: set[str], where: str) -> frozenset[str] | None:
    if value in (None, "all"):
        return None
    codes = frozenset(map(str, value))
    if unknown := codes - known:
        raise StationsError(f"{where}: unknown services {sorted(unknown)}")
    return codes


def _terms(item: dict[str, Any], where: str) -> Terms:
    raw = item.get("booking") or {}
    try:
        terms = Terms(int(raw.get("minutes", 30)), int(raw.get("capacity", 1)), int(raw.get("window_days", 14)),
                      float(raw.get("notice_hours", 2)), tuple(map(str, raw.get("documents") or ())))
    except (TypeError, ValueError) as exc:
        raise StationsError(f"{where}: bad booking terms: {exc}") from None
    if terms.minutes <= 0 or terms.capacity <= 0 or terms.window_days < 0 or terms.notice_hours < 0:
        raise StationsError(f"{where}: booking minutes and capacity must be positive")
    return terms


def _read(path: Path) -> dict[str, Any]:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StationsError(f"{path}: cannot read: {exc}".replace("\n", " ")) from None


def load_network(services_path: Path) -> Network:
    """Reads the booking terms from services.yaml and the stations file it names."""
    services = _read(services_path)
    terms = {str(item["code"]): _terms(item, f"{services_path}: service {item.get('code')}")
             for item in services.get("services") or [] if "code" in item}
    if not services.get("stations"):
        return Network((), terms)
    path = services_path.parent / str(services["stations"])
    raw = _read(path)
    known = set(terms)
    plans = {str(name): (_periods(plan.get("hours"), f"{path}: plan {name}"),
                         _periods(plan.get("rest_day_hours"), f"{path}: plan {name}"))
             for name, plan in (raw.get("plans") or {}).items()}
    stations = []
    for item in raw.get("stations") or []:
        where = f"{path}: station {item.get('code', '?')}"
        if item.get("plan") not in plans:
            raise StationsError(f"{where}: unknown plan {item.get('plan')!r}")
        hours, rest = plans[item["plan"]]
        try:
            stations.append(Station(
                str(item["code"]), str(item["name"]), str(item["unit"]), str(item.get("address") or ""),
                _services(item.get("services"), known, where), False, hours, rest,
                frozenset(_date(d, where) for d in item.get("closed") or []),
                {_date(e["date"], where): _periods(e["hours"], where) for e in item.get("extra") or []},
            ))
        except KeyError as exc:
            raise StationsError(f"{where}: missing {exc.args[0]}") from None
    for item in raw.get("roaming") or []:
        where = f"{path}: roaming desk {item.get('code', '?')}"
        visits = []
        for entry in item.get("rota") or []:
            on = entry.get("day")
            weekday = WEEKDAYS.index(str(on).lower()) if str(on).lower() in WEEKDAYS else None
            visits.append(Visit(str(entry["compound"]), None if weekday is not None else _date(on, where), weekday,
                                _periods(entry.get("hours"), where), _periods(entry.get("extended"), where)))
        if not visits:
            raise StationsError(f"{where}: a roaming desk needs a rota")
        stations.append(Station(
            str(item["code"]), str(item["name"]), visits[0].compound, "", _services(item.get("services"), known, where),
            True, closed=frozenset(_date(d, where) for d in item.get("closed") or []), visits=tuple(visits)))
    codes = [s.code for s in stations]
    if len(codes) != len(set(codes)):
        raise StationsError(f"{path}: station codes repeat")
    return Network(tuple(stations), terms)
