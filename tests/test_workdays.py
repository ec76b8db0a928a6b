"""Working days follow the State Council's public holidays and make-up working days; the settings' lists win."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.jobs.workdays import WorkCalendar
from bot.runtime import start
from config.settings import load_settings
from tests.harness import TEST_DRIVERS

SPRING_FESTIVAL_2026_WEEKDAYS = [date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
                                 date(2026, 2, 20), date(2026, 2, 23)]
MAKE_UP_SATURDAYS_2026 = [date(2026, 2, 14), date(2026, 2, 28)]


def calendar(**settings: str) -> WorkCalendar:
    return WorkCalendar.from_settings(load_settings({}, **settings))


@pytest.mark.parametrize("day", SPRING_FESTIVAL_2026_WEEKDAYS)
def test_spring_festival_weekdays_are_not_working_days(day):
    assert day.weekday() < 5
    assert not calendar().is_workday(day)


@pytest.mark.parametrize("day", MAKE_UP_SATURDAYS_2026)
def test_a_make_up_saturday_is_a_working_day(day):
    assert day.weekday() == 5
    assert calendar().is_workday(day)


def test_a_two_day_deadline_skips_the_spring_festival_but_counts_the_make_up_saturday():
    work = calendar()
    received = datetime(2026, 2, 13, 10, 0, tzinfo=work.tz)  # Friday morning, the last day before the festival
    # Day one is the make-up Saturday 14 February, day two the first working day after the festival.
    assert work.deadline(received, timedelta(days=2)) == datetime(2026, 2, 24, 18, 0, tzinfo=work.tz)


def test_the_settings_lists_override_the_official_calendar():
    work = calendar(holidays="2026-02-14", extra_workdays="2026-02-16")
    assert not work.is_workday(date(2026, 2, 14))  # an official make-up day, given off by hand
    assert work.is_workday(date(2026, 2, 16))  # an official holiday, worked by hand
    assert not work.is_workday(date(2026, 2, 17))


def test_years_past_the_installed_data_fall_back_to_the_weekdays_and_the_settings():
    work = calendar(holidays="2099-01-01")
    assert not work.is_workday(date(2099, 1, 1))
    assert work.is_workday(date(2099, 1, 2))  # a Friday
    assert not work.is_workday(date(2099, 1, 3))


@pytest.mark.parametrize(("now", "by_hand", "warned"), [
    (datetime(2026, 12, 2, 2, 0), {}, True),  # weeks before the first year the data does not cover
    (datetime(2026, 6, 1, 2, 0), {}, False),
    (datetime(2026, 12, 2, 2, 0), {"holidays": "2027-01-01,2027-02-08"}, False),
])
async def test_start_up_warns_when_the_coming_year_has_no_holiday_data(database_url, caplog, now, by_hand, warned):
    settings = load_settings({}, database_url=database_url, database_drivers=TEST_DRIVERS, **by_hand)
    with caplog.at_level(logging.WARNING, logger="gridbot"):
        runtime = await start(settings, FrozenClock(now.replace(tzinfo=settings.tz)), load_demo_if_empty=False)
        await runtime.close()
    warnings = [record.getMessage() for record in caplog.records if "public holiday data" in record.getMessage()]
    assert bool(warnings) == warned
    assert all("2027" in message for message in warnings)
