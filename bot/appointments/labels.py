"""How slots and places are written for residents and staff, and how a case carries its slot."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.appointments.stations import Slot, Station
from bot.services import Services

WEEKDAY_LABELS = "一二三四五六日"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAY_LABELS[day.weekday()]}）"


def slot_label(slot: Slot, tz: Any) -> str:
    """12月8日（周二）09:00-09:30, with 延时 for a roaming desk's extended hours."""
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    return f"{day_label(start.date())}{start:%H:%M}-{end:%H:%M}" + ("（延时服务）" if slot.extended else "")


def place_of(services: Services, station: Station, slot: Slot) -> str:
    """Where a slot takes place as residents say it: the station and address, or the compound a desk visits."""
    if station.roaming:
        unit = services.directory.by_code(slot.unit_code)
        return f"{station.name}（{unit.name if unit else slot.unit_code}）"
    return f"{station.name}（{station.address}）" if station.address else station.name


def slot_data(services: Services, station: Station, slot: Slot) -> dict[str, Any]:
    """The slot as a case carries it in extras["appointment"]."""
    return {"station": station.code, "service": slot.service_code, "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(), "unit": slot.unit_code, "extended": slot.extended,
            "label": slot_label(slot, services.settings.tz), "place": place_of(services, station, slot)}


def slot_of(data: dict[str, Any], capacity: int) -> Slot:
    return Slot(data["station"], data["service"], datetime.fromisoformat(data["starts_at"]),
                datetime.fromisoformat(data["ends_at"]), capacity, data["unit"], bool(data.get("extended")))


def find_slot(services: Services, station_code: str, service_code: str, starts_at: datetime) -> tuple[Station, Slot] | None:
    """The derived slot of a station and service that starts at that moment, if the plans still have it."""
    station = services.network.station(station_code)
    if station is None:
        return None
    day = starts_at.astimezone(services.settings.tz).date()
    for slot in services.network.slots(station, service_code, day, services.calendar, services.settings.tz):
        if slot.starts_at == starts_at:
            return station, slot
    return None
