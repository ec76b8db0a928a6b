"""Working time: which days and hours count towards an SLA deadline, after the 12345 hotline's convention.

A category's SLA is stored as a span of hours (the case's due time minus its start). The calendar reads it:
- spans shorter than `natural_below` (urgent matters: 2 h for a lift with people inside) run round the clock;
- whole days count in working days, and the day of receipt does not count (受理当日不计): a case received
  on a working day before the end of work is due at the end of work on the N-th working day after; one
  received after work, on a weekend or a holiday counts as received on the next working day;
- other spans count in working hours inside the configured work periods.
A deadline in working time is never earlier than the span in plain hours, which the SLA sweep relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.settings import Settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = timedelta(days=1)


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
        """The calendar the settings describe."""
        return cls(
            tz=settings.tz, periods=parse_periods(settings.work_hours),
            weekdays=parse_weekdays(settings.work_weekdays),
            holidays=frozenset(date.fromisoformat(d) for d in settings.holidays),
            extra_workdays=frozenset(date.fromisoformat(d) for d in settings.extra_workdays),
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
