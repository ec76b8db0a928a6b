"""Working time: which days and hours count towards an SLA deadline, after the 12345 hotline's convention.

A category's SLA is stored as a span of hours (the case's due time minus its start). The calendar reads it:
- spans shorter than `natural_below` (urgent matters: 2 h for a lift with people inside) run round the clock;
- whole days count in working days, and the day of receipt does not count (受理当日不计): a case received
  on a working day before the end of work is due at the end of work on the N-th working day after; one
  received after work, on a weekend or a holiday counts as received on the next working day;
- other spans count in working hours inside the configured work periods.
A deadline in working time is never earlier than the span in plain hours, which the SLA sweep relies on.

Public holidays (法定节假日) and make-up working days (调休上班) come from the State Council's yearly notice as
packaged by chinesecalendar; the settings' `holidays` and `extra_workdays` lists override it either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from config.settings import Settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = timedelta(days=1)
# The State Council publishes a year's holidays in the autumn before it; a quarter's notice leaves time to
# upgrade chinesecalendar (or list the days by hand) before deadlines reach the uncovered year.
COVERAGE_LOOKAHEAD = timedelta(days=90)
OFFICIAL_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
OFFICIAL_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
OFFICIAL_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)

log = logging.getLogger("gridbot.workdays")


def parse_weekdays(spec: str) -> frozenset[int]:
    """'mon-fri,sat' as weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in spec.lower().split(","):
        first, _, last = part.strip().partition("-")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(start, end + 1))
    return frozenset(days)


def parse_periods(spec: str) -> tuple[tuple[time, time], ...]:
    """'09:00-12:00,14:00-18:00' as ordered (start, end) pairs."""
    periods = []
    for part in spec.split(","):
        start, end = (time.fromisoformat(t) for t in part.split("-"))
        if end <= start:
            raise ValueError(f"work period {part!r} ends before it starts")
        periods.append((start, end))
    return tuple(sorted(periods))


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours in the service's time zone, with holidays and make-up working days."""

    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(14), time(18)))
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    natural_below: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        """The calendar the settings describe: the official holidays and make-up days, the settings' lists
        overriding them."""
        holidays, extra_workdays = configured_days(settings)
        return cls(
            tz=settings.tz, periods=parse_periods(settings.work_hours),
            weekdays=parse_weekdays(settings.work_weekdays),
            holidays=(OFFICIAL_HOLIDAYS - extra_workdays) | holidays,
            extra_workdays=(OFFICIAL_WORKDAYS - holidays) | extra_workdays,
            natural_below=timedelta(hours=settings.sla_natural_below_hours),
        )

    def is_workday(self, day: date) -> bool:
        """True on a working day: a working weekday that is no holiday, or a make-up day."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, self.tz).astimezone(UTC)

    def end_of_work(self, day: date) -> datetime:
        return self._at(day, self.periods[-1][1])

    def receipt_day(self, start: datetime) -> date:
        """The working day a case received at `start` counts as received on."""
        local = start.astimezone(self.tz)
        day = local.date()
        if self.is_workday(day) and local.timetz().replace(tzinfo=None) < self.periods[-1][1]:
            return day
        day += DAY
        while not self.is_workday(day):
            day += DAY
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of work on the `days`-th working day after the day of receipt."""
        day = self.receipt_day(start)
        for _ in range(days):
            day += DAY
            while not self.is_workday(day):
                day += DAY
        return self.end_of_work(day)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start`."""
        left = timedelta(hours=hours)
        cursor = start.astimezone(UTC)
        day = cursor.astimezone(self.tz).date()
        for _ in range(3660):  # ten years of days: a calendar with no working time at all must not hang
            if self.is_workday(day):
                for begin, end in self.periods:
                    period_start, period_end = max(self._at(day, begin), cursor), self._at(day, end)
                    if period_end <= period_start:
                        continue
                    if period_end - period_start >= left:
                        return period_start + left
                    left -= period_end - period_start
            day += DAY
        raise ValueError("the work calendar has no working time")

    def deadline(self, start: datetime, span: timedelta) -> datetime:
        """When an SLA of `span` started at `start` runs out, in working time (never before start + span)."""
        if span < self.natural_below:
            return start + span
        whole_days, rest = divmod(span, DAY)
        if not rest:
            return max(self.add_working_days(start, whole_days), start + span)
        return self.add_working_hours(start, span.total_seconds() / 3600)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def configured_days(settings: Settings) -> tuple[frozenset[date], frozenset[date]]:
    """The holidays and make-up working days listed by hand in the settings."""
    return (frozenset(date.fromisoformat(d) for d in settings.holidays),
            frozenset(date.fromisoformat(d) for d in settings.extra_workdays))


def uncovered_years(settings: Settings, now: datetime) -> list[int]:
    """The years from now to COVERAGE_LOOKAHEAD ahead that neither the installed holiday data nor the settings'
    lists cover."""
    today = now.astimezone(settings.tz).date()
    by_hand = {day.year for days in configured_days(settings) for day in days}
    years = range(today.year, (today + COVERAGE_LOOKAHEAD).year + 1)
    return [year for year in years if year not in OFFICIAL_YEARS and year not in by_hand]


def warn_if_uncovered(settings: Settings, now: datetime) -> None:
    """Logs a warning at start-up when the coming year's holidays are unknown: its deadlines would count
    public holidays as working days."""
    for year in uncovered_years(settings, now):
        log.warning("no public holiday data for %s in chinesecalendar %s (it covers %s-%s): SLA deadlines will "
                    "count that year's holidays as working days; upgrade chinesecalendar or list the days in "
                    "GRIDBOT_HOLIDAYS and GRIDBOT_EXTRA_WORKDAYS", year, chinese_calendar.__version__,
                    OFFICIAL_YEARS.start, OFFICIAL_YEARS.stop - 1)
