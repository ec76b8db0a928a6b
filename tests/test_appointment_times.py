"""Natural times: any words are read without failing, and no offer is ever in the past or inside the notice."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.appointments.bookings import Offer, choose_offers
from bot.appointments.stations import load_network
from bot.appointments.when import read_wish
from bot.jobs.workdays import WorkCalendar
from config.settings import load_settings

TZ = ZoneInfo("Asia/Shanghai")
SETTINGS = load_settings({})
NETWORK = load_network(SETTINGS.services_path)
CALENDAR = WorkCalendar(TZ, holidays=frozenset({date(2027, 1, 1)}), extra_workdays=frozenset({date(2026, 12, 26)}))
MONDAY = date(2026, 11, 30)
WORDS = st.sampled_from(["明天", "后天", "大后天", "今天", "下周二", "下下周五", "周三", "星期日", "这周六", "上周一",
                         "上午", "下午", "晚上", "中午", "3点", "十点半", "9:30", "12月8日", "1月1号", "8号", "2026-12-31",
                         "随便", "都行", "十二月三十二日", "25点", "0点", "两点三刻", "13月1日", "#", "号", "点", " "])
PHRASES = st.one_of(st.text(max_size=40), st.lists(WORDS, max_size=5).map("".join))
NOW = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))


def test_examples_read_against_the_calendar():
    assert read_wish("下周二上午", MONDAY).day == date(2026, 12, 8)
    wish = read_wish("周三3点", MONDAY)
    assert (wish.day, wish.start.hour) == (date(2026, 12, 2), 15)
    assert read_wish("随便", MONDAY).said_anything is False
    assert read_wish("十二月八号", date(2026, 12, 20)).day == date(2027, 12, 8)


@settings(max_examples=300, deadline=None)
@given(text=PHRASES, now=NOW, station=st.sampled_from(NETWORK.stations), service=st.sampled_from(sorted(NETWORK.terms)))
def test_any_words_never_fail_and_never_offer_a_past_slot(text, now, station, service):
    wish = read_wish(text, now.astimezone(TZ).date())
    if not station.offers(service):
        return
    candidates = list(NETWORK.bookable(station, service, now, CALENDAR, TZ, first_day=wish.day))
    found = choose_offers([Offer(slot, slot.capacity) for slot in candidates], wish, TZ)
    earliest = now + timedelta(hours=NETWORK.terms_of(service).notice_hours)
    assert all(offer.slot.starts_at >= earliest > now for offer in found)
    assert len(found) <= 6
    if candidates:
        assert found, "someone asking gets free slots when there are any"


def test_public_holidays_close_stations_and_make_up_days_open_them():
    standard, extended = NETWORK.station("ST-FDC"), NETWORK.station("ST-TTC")
    assert standard.openings(date(2027, 1, 1), CALENDAR) == []  # 元旦, a Friday
    assert [o.periods for o in extended.openings(date(2027, 1, 1), CALENDAR)] == [extended.rest_day_hours]
    assert standard.openings(date(2026, 12, 26), CALENDAR)[0].periods == standard.hours  # a make-up Saturday
    assert standard.openings(date(2026, 12, 5), CALENDAR) == []  # an ordinary Saturday
    desk = NETWORK.station("RD-JT")
    [visit] = desk.openings(date(2026, 12, 5), CALENDAR)  # the roaming desk works Saturdays in 铁塔厂家属院
    assert visit.unit_code == "JT-TTC-01"
    evening = desk.openings(date(2026, 12, 2), CALENDAR)
    assert [o.extended for o in evening] == [False, True]  # Wednesday in 发电厂生活区, with extended hours


def test_building_and_room_numbers_are_not_dates():
    assert read_wish("我住3号楼，想约个时间", MONDAY).day is None
    assert read_wish("3-2-101室", MONDAY).day is None
