"""预约办事: service → station → time (natural words or a number) → slot → confirm; cancel, reschedule, waiting list."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.appointments import bookings
from bot.appointments.bookings import BookingRefused
from bot.appointments.labels import find_slot, place_of, slot_label
from bot.appointments.seats import slot_id
from bot.appointments.stations import Station
from bot.appointments.waitlist import give_up, join
from bot.appointments.when import read_wish
from bot.grid.catalogue import Service
from bot.pipeline.dispatcher import Context, Handler, HandlerRouter
from bot.pipeline.identities import Actor
from bot.pipeline.messages import Button
from bot.understanding.classifier import Intent
from handlers.intake import (
    STARTERS,
    YES,
    begin_intake,
    draft_waiting,
    group_unit,
    home_unit,
    moved_on,
    strip_triggers,
)
from models import CaseKind, SlotSeats, WaitlistEntry, WaitStatus

router = HandlerRouter("appointment")
FLOW = "appointment"
CANCEL_FLOW = "appointment_cancel"
CANCEL = re.compile(r"^\s*取消预约\s*#?\s*(\d{1,9})\s*(.*)$", re.DOTALL)
MOVE = re.compile(r"^\s*(?:改约|改期|改时间)\s*#?\s*(\d{1,9})\s*$")
MY_BOOKINGS = r"^\s*(?:我的预约|查预约|查看预约|预约记录|我约的)[?？。]*\s*$"
# 取消预约 / 改约 with no number: the one booking the resident has, or which of them
UNNUMBERED = re.compile(r"^\s*(取消预约|改约|改期|改时间)[?？。]*\s*$")
TAKE_OFFER = re.compile(r"^\s*确认候补\s*#?\s*(\d{1,9})\s*$")
DROP_OFFER = re.compile(r"^\s*放弃候补\s*#?\s*(\d{1,9})\s*$")
KEEP = re.compile(r"^(保留|不取消|不用取消|不了|先不取消)[!！。.\s]*$")
NO_REASON = re.compile(r"^(确认取消|确认|确定|是|是的|好|好的|没有|无|不说了|不用了)[!！。.\s]*$")


def _service(ctx: Context) -> Service:
    code = ctx.state.values["service_code"]
    return next(s for s in ctx.services.catalogue.services if s.code == code)


def put_down_booking(ctx: Context, *kinds: Intent) -> bool:
    """A new matter of one of these kinds typed where the booking waits for a pick: the booking is put down
    (handlers/intake.py moved_on), an unfinished move keeping the old booking."""
    service = _service(ctx).name if ctx.state.values.get("service_code") else ""
    moving = ctx.state.values.get("reschedule")
    return moved_on(ctx, f"刚才的{'改约' if moving else '预约'}{f'「{service}」' if service else ''}还没选完，已先放下"
                    + ("，原预约不变" if moving else "") + "；需要时再说「预约」。", *kinds)


def _station(ctx: Context) -> Station:
    station = ctx.services.network.station(ctx.state.values["station"])
    assert station is not None
    return station


async def _booker_unit(ctx: Context) -> int | None:
    """Whose community decides the default station: the resident booked for (else the staff member's), the
    group's, or the resident's home."""
    if ctx.state.values.get("for_resident"):
        return ctx.state.values.get("for_unit_id") or ctx.actor.unit_id
    unit = await group_unit(ctx) or home_unit(ctx)
    return unit.id if unit is not None else None


def for_resident_of(ctx: Context) -> dict[str, Any]:
    """Keeps the resident a staff member is booking for when the booking dialogue (re)starts."""
    return {k: v for k, v in ctx.state.values.items() if k.startswith("for_")} if ctx.state.flow == FLOW else {}


@router.intent(Intent.APPOINTMENT)
async def start_appointment(ctx: Context) -> bool:
    """Starts a booking; recognises the service (and a time) from the words, else shows the list. A described
    report or wish still waiting is not dropped: the resident is asked which to keep."""
    body = strip_triggers(ctx, ctx.text)
    if body and draft_waiting(ctx):
        begin_intake(ctx, CaseKind.APPOINTMENT, "")
        return True
    await begin_booking(ctx, body)
    return True


async def begin_booking(ctx: Context, body: str) -> None:
    """Opens the booking with the resident's words: the service (and a time) they name, else the list."""
    ctx.start(FLOW, "service", **for_resident_of(ctx))
    service = ctx.services.catalogue.find(body) if body else None
    if service is None:
        if body:
            ctx.state.values["said"] = body  # a time said with it (下周二上午) is kept for when the service is known
        ctx.reply("请问要预约哪项服务？回复数字：\n" + ctx.services.catalogue.menu())
        return
    await take_service(ctx, service, body)


STARTERS[CaseKind.APPOINTMENT] = begin_booking


@router.step(FLOW, "service")
async def on_service(ctx: Context) -> bool:
    """Takes the service the resident picked."""
    service = ctx.services.catalogue.find(ctx.text) if ctx.text else None
    if service is None:
        if ctx.in_group or put_down_booking(ctx, Intent.REPORT, Intent.WISH):
            return False
        ctx.reply("没有找到这项服务，请回复列表中的数字（回复「取消」放弃预约）：\n" + ctx.services.catalogue.menu())
        return True
    await take_service(ctx, service, ctx.state.values.get("said", ""))
    return True


async def take_service(ctx: Context, service: Service, said: str) -> None:
    ctx.state.values["service_code"] = service.code
    stations = ctx.services.network.offering(service.code)
    if not stations:
        ctx.finish()
        ctx.reply(f"「{service.name}」暂不支持在线预约，请直接联系社区。")
        return
    station = bookings.home_station(ctx.services, service, await _booker_unit(ctx))
    if station is None:
        ctx.state.values["said"] = said
        ctx.goto("station")
        ctx.reply(f"预约「{service.name}」。请选择办理地点，回复数字：\n" + _station_menu(stations),
                  buttons=_number_buttons(len(stations)))
        return
    ctx.state.values["station"] = station.code
    if read_wish(said, _today(ctx)).said_anything:
        await show_offers(ctx, said)
        return
    ctx.goto("time")
    ctx.reply(f"预约「{service.name}」，地点：{station.name}（如需换地点请回复「换地点」）。\n"
              "您希望什么时间？例如：明天下午、下周二上午、周三3点、12月8日。")


def _station_menu(stations: list[Station]) -> str:
    return "\n".join(f"{i}. {s.name}" + ("（流动办公桌）" if s.roaming else "") for i, s in enumerate(stations, 1))


def _number_buttons(count: int) -> tuple[Button, ...]:
    return tuple(Button(str(i), str(i)) for i in range(1, min(count, 9) + 1))


def _today(ctx: Context) -> Any:
    return ctx.now.astimezone(ctx.services.settings.tz).date()


@router.step(FLOW, "station")
async def on_station(ctx: Context) -> bool:
    """Takes the station picked by number or by name."""
    stations = ctx.services.network.offering(ctx.state.values["service_code"])
    text = ctx.text.strip()
    chosen = None
    if text.isdigit() and 1 <= int(text) <= len(stations):
        chosen = stations[int(text) - 1]
    else:
        chosen = next((s for s in stations if text and (text in s.name or s.name in text)), None)
    if chosen is None:
        if ctx.in_group or put_down_booking(ctx, Intent.REPORT, Intent.WISH, Intent.APPOINTMENT):
            return False
        ctx.reply("请回复列表中的数字选择办理地点（回复「取消」放弃预约）：\n" + _station_menu(stations),
                  buttons=_number_buttons(len(stations)))
        return True
    ctx.state.values["station"] = chosen.code
    said = ctx.state.values.get("said", "")
    if said and read_wish(said, _today(ctx)).said_anything:
        await show_offers(ctx, said)
        return True
    ctx.goto("time")
    ctx.reply(f"地点：{chosen.name}。您希望什么时间？例如：明天下午、下周二上午、周三3点。")
    return True


@router.step(FLOW, "time")
async def on_time(ctx: Context) -> bool:
    """Reads the wanted time and offers the nearest free slots (the list of free ones when it reads no time)."""
    if not ctx.text or not read_wish(ctx.text, _today(ctx)).said_anything and put_down_booking(
            ctx, Intent.REPORT, Intent.WISH):
        return False
    if not _change_station(ctx):
        await show_offers(ctx, ctx.text)
    return True


def _change_station(ctx: Context) -> bool:
    """换地点: back to the list of stations offering the service."""
    if "换地点" not in ctx.text and "换站" not in ctx.text or ctx.state.values.get("reschedule"):
        return False
    stations = ctx.services.network.offering(ctx.state.values["service_code"])
    ctx.goto("station")
    ctx.reply("请选择办理地点，回复数字：\n" + _station_menu(stations), buttons=_number_buttons(len(stations)))
    return True


async def show_offers(ctx: Context, said: str) -> None:
    wish = read_wish(said, _today(ctx))
    station, service = _station(ctx), _service(ctx)
    found = await bookings.offers(ctx.session, ctx.services, station, service, wish, now=ctx.now)
    if not found:
        ctx.finish()
        ctx.reply(f"{station.name}近期没有可预约的「{service.name}」时段，请换个地点或稍后再试。")
        return
    tz = ctx.services.settings.tz
    ctx.goto("slot", offers=[[o.slot.starts_at.isoformat(), o.free] for o in found])
    lines = []
    for i, offer in enumerate(found, 1):
        note = f"（剩 {offer.free} 个名额）" if offer.free > 0 else "（已约满，可排队候补）"
        lines.append(f"{i}. {slot_label(offer.slot, tz)}{note}")
    if not wish.said_anything:
        head = "没能识别您说的时间。以下是最近可预约的时段，回复数字选择："
    elif wish.day is not None and all(o.slot.starts_at.astimezone(tz).date() != wish.day for o in found):
        head = f"{wish.day.month}月{wish.day.day}日没有可约的时段，以下是最近的，回复数字选择："
    else:
        head = "为您找到以下时段，回复数字选择："
    ctx.reply(f"{head}\n" + "\n".join(lines) + "\n也可以换个时间说，例如「后天上午」。",
              buttons=_number_buttons(len(found)))


@router.step(FLOW, "slot")
async def on_slot(ctx: Context) -> bool:
    """Takes a slot by number; other words are read as another time."""
    text = ctx.text.strip()
    shown: list[list[Any]] = ctx.state.values.get("offers") or []
    if not (text.isdigit() and 1 <= int(text) <= len(shown)):
        if not text or not read_wish(text, _today(ctx)).said_anything and (
                ctx.in_group or put_down_booking(ctx, Intent.REPORT, Intent.WISH)):
            return False
        if not _change_station(ctx):
            await show_offers(ctx, text)
        return True
    starts_at, free = shown[int(text) - 1]
    found = find_slot(ctx.services, ctx.state.values["station"], ctx.state.values["service_code"],
                      datetime.fromisoformat(starts_at))
    if found is None:
        await show_offers(ctx, "")
        return True
    station, slot = found
    if free <= 0:
        await _wait_for(ctx, station, slot)
        return True
    ctx.goto("confirm", chosen=starts_at)
    terms = ctx.services.network.terms_of(slot.service_code)
    lines = [f"请确认{'改约' if ctx.state.values.get('reschedule') else '预约'}：",
             f"事项：{_service(ctx).name}", f"时间：{slot_label(slot, ctx.services.settings.tz)}",
             f"地点：{place_of(ctx.services, station, slot)}"]
    if terms.documents:
        lines.append(f"请携带：{'、'.join(terms.documents)}")
    if ctx.state.values.get("for_name"):
        lines.append(f"预约人：{ctx.state.values['for_name']}")
    lines.append("回复「确认」完成预约，回复其他时间重新选择，「取消」放弃。")
    ctx.reply("\n".join(lines), buttons=(Button("确认", "确认"), Button("重新选择", "换个时间")))
    return True


async def _wait_for(ctx: Context, station: Station, slot: Any) -> None:
    booker = await _booker(ctx)
    seats = await slot_id(ctx.session, slot)
    place = await join(ctx.session, ctx.services, seats, booker.id, channel=ctx.inbound.channel,
                       chat_id=ctx.inbound.chat_id, unit_id=ctx.services.directory.by_code(station.unit_code
                                                                                      if not station.roaming
                                                                                      else slot.unit_code).id,
                       now=ctx.now)
    ctx.finish()
    ctx.reply(f"{slot_label(slot, ctx.services.settings.tz)}已约满，已为您排队候补，目前第 {place} 位。"
              "有人取消时会第一时间通知您。")


async def _booker(ctx: Context) -> Actor:
    """The resident the booking is for: the sender, or the resident a staff member books for."""
    values = ctx.state.values
    if values.get("for_resident"):
        return Actor("resident", values["for_resident"], values["for_name"], 0, unit_id=values.get("for_unit_id"),
                     phone=values.get("for_phone"))
    return ctx.actor


@router.step(FLOW, "confirm")
async def on_confirm(ctx: Context) -> bool:
    """Books on yes (or moves the booking); a full slot by then gets a fresh list."""
    if not YES.match(ctx.text):
        if not ctx.text or (ctx.in_group and not read_wish(ctx.text, _today(ctx)).said_anything):
            return False
        await show_offers(ctx, "" if "换" in ctx.text else ctx.text)
        return True
    found = find_slot(ctx.services, ctx.state.values["station"], ctx.state.values["service_code"],
                      datetime.fromisoformat(ctx.state.values["chosen"]))
    if found is None:
        await show_offers(ctx, "")
        return True
    station, slot = found
    moving = ctx.state.values.get("reschedule")
    try:
        if moving:
            case = await bookings.reschedule(ctx.session, ctx.services, ctx.actor, moving, station, slot, now=ctx.now)
        else:
            case = await bookings.book(ctx.session, ctx.services, await _booker(ctx), station, slot, _service(ctx),
                                       channel=ctx.inbound.channel, chat_id=ctx.inbound.chat_id,
                                       is_group=ctx.in_group, now=ctx.now,
                                       by_staff=ctx.actor if ctx.actor.is_staff else None)
    except BookingRefused as refusal:
        ctx.finish()
        ctx.reply(str(refusal), alert=True)
        return True
    if case is None:
        ctx.reply("很抱歉，这个时段刚刚被约满了。")
        await show_offers(ctx, "")
        return True
    ctx.case_id = case.id
    ctx.finish()
    await _confirmed(ctx, case, station, slot, moved=bool(moving))
    return True


async def _confirmed(ctx: Context, case: Any, station: Station, slot: Any, *, moved: bool) -> None:
    terms = ctx.services.network.terms_of(slot.service_code)
    # Two replies: after a button press Telegram edits the pressed message with the first, and sends the
    # details as a new message that keeps its buttons (取消预约, 改约).
    ctx.reply(f"{'改约' if moved else '预约'}成功，编号 {case.number}。")
    lines = [f"预约 {case.number}", f"事项：{case.extras['service']}", f"时间：{slot_label(slot, ctx.services.settings.tz)}",
             f"地点：{place_of(ctx.services, station, slot)}"]
    if terms.documents:
        lines.append(f"请携带：{'、'.join(terms.documents)}")
    lines.append(f"我们会在前一天晚上和开始前一小时提醒您。取消请回复「取消预约 {case.id}」，"
                 f"改时间请回复「改约 {case.id}」。")
    if ctx.actor.is_staff:
        missed = await bookings.no_shows(ctx.session, case.reporter_id)
        if missed >= bookings.REPEATED_NO_SHOWS:
            lines.append(f"注意：该居民已累计爽约 {missed} 次。")
    ctx.reply("\n".join(lines), buttons=(Button("取消预约", f"取消预约 {case.id}"), Button("改约", f"改约 {case.id}")))


async def resident_command(ctx: Context) -> bool:
    """取消预约 N, 改约 N, 确认候补 N, 放弃候补 N, and the open cancel question; False when the words are none."""
    text = ctx.text.strip()
    if ctx.state.flow == CANCEL_FLOW:
        return await _on_cancel_reason(ctx)
    if match := CANCEL.match(text):
        return await _cancel(ctx, int(match.group(1)), match.group(2).strip(" ,，。:："))
    if match := MOVE.match(text):
        return await _move(ctx, int(match.group(1)))
    if not ctx.actor.is_staff and not ctx.state.is_open and (match := UNNUMBERED.match(text)):
        # (in the middle of a dialogue a bare 取消预约 abandons the dialogue, as 取消 does)
        return await _unnumbered(ctx, match.group(1))
    if (match := TAKE_OFFER.match(text)) or (drop := DROP_OFFER.match(text)):
        entry_id = int((match or drop).group(1))  # type: ignore[union-attr]
        return await _answer_offer(ctx, entry_id, take=match is not None)
    return False


@router.aside(MY_BOOKINGS)
async def show_bookings(ctx: Context) -> bool:
    """Lists the resident's bookings still to come, with how to cancel or move each."""
    if ctx.actor.is_staff:
        return False
    cases = await bookings.live_bookings(ctx.session, ctx.actor.id, now=ctx.now)
    if not cases:
        ctx.reply("您目前没有待办的预约。要预约办事请发「#预约」。")
        return True
    ctx.reply("您的预约：\n" + "\n".join(_booking_line(case) for case in cases)
              + "\n取消请回复「取消预约 编号」，改时间请回复「改约 编号」。", private=True)
    return True


def _booking_line(case: Any) -> str:
    return f"{case.number} {case.extras.get('service', '')}：{case.extras['appointment']['label']}"


async def _unnumbered(ctx: Context, command: str) -> bool:
    """取消预约 or 改约 with no number: the resident's one booking to come, else which one (never a guess)."""
    cases = await bookings.live_bookings(ctx.session, ctx.actor.id, now=ctx.now)
    if len(cases) == 1:
        return await (_cancel(ctx, cases[0].id, "") if command == "取消预约" else _move(ctx, cases[0].id))
    if not cases:
        ctx.reply("您目前没有待办的预约。要预约办事请发「#预约」。")
        return True
    word = "取消预约" if command == "取消预约" else "改约"
    ctx.reply(f"您有 {len(cases)} 个预约，请回复「{word} 编号」：\n"
              + "\n".join(_booking_line(case) for case in cases))
    return True


async def _cancel(ctx: Context, case_id: int, reason: str) -> bool:
    try:
        case, _ = await bookings.booking_of(ctx.session, ctx.services, ctx.actor, case_id, action="cancel")
    except BookingRefused as refusal:
        ctx.reply(str(refusal), alert=True)
        return True
    if reason:
        return await _do_cancel(ctx, case_id, reason)
    ctx.start(CANCEL_FLOW, "reason", case_id=case_id)
    ctx.reply(f"确定取消预约 {case.number}（{case.extras['appointment']['label']}）吗？\n"
              "可以顺便告诉我们原因（选填），直接回复原因即可；回复「确认取消」直接取消，「保留」不取消。",
              buttons=(Button("确认取消", "确认取消"), Button("保留", "保留")))
    return True


async def _on_cancel_reason(ctx: Context) -> bool:
    text = ctx.text.strip()
    case_id = ctx.state.values["case_id"]
    if not text:
        return False
    if KEEP.match(text):
        ctx.finish()
        ctx.reply(f"好的，预约 #{case_id} 保留不变。")
        return True
    ctx.finish()
    return await _do_cancel(ctx, case_id, "" if NO_REASON.match(text) else text[:200])


async def _do_cancel(ctx: Context, case_id: int, reason: str) -> bool:
    try:
        case = await bookings.cancel(ctx.session, ctx.services, ctx.actor, case_id, reason, now=ctx.now)
    except BookingRefused as refusal:
        ctx.reply(str(refusal), alert=True)
        return True
    ctx.case_id = case.id
    ctx.reply(f"已取消预约 {case.number}（{case.extras['appointment']['label']}）。需要时可随时重新预约。")
    return True


async def _move(ctx: Context, case_id: int) -> bool:
    try:
        case, _ = await bookings.booking_of(ctx.session, ctx.services, ctx.actor, case_id, action="reschedule")
    except BookingRefused as refusal:
        ctx.reply(str(refusal), alert=True)
        return True
    data = case.extras["appointment"]
    ctx.start(FLOW, "time", service_code=data["service"], station=data["station"], reschedule=case.id)
    ctx.reply(f"预约 {case.number} 目前是 {data['label']}。想改到什么时间？例如：明天下午、下周二上午。")
    return True


async def _answer_offer(ctx: Context, entry_id: int, *, take: bool) -> bool:
    entry = await ctx.session.get(WaitlistEntry, entry_id)
    if entry is None or ctx.actor.is_staff or entry.resident_id != ctx.actor.id:
        ctx.reply(f"没有找到您的候补 #{entry_id}。", alert=True)
        return True
    if not take:
        if entry.status in (WaitStatus.WAITING, WaitStatus.OFFERED):
            await give_up(ctx.session, ctx.services, entry, now=ctx.now)
        ctx.reply("已放弃候补。")
        return True
    if entry.status is not WaitStatus.OFFERED or (entry.offered_until and entry.offered_until <= ctx.now):
        ctx.reply("这个空位的保留时间已过或已让给他人，请重新预约。", alert=True)
        return True
    seats = await ctx.session.get(SlotSeats, entry.slot_id)
    found = find_slot(ctx.services, seats.station_code, seats.service_code, seats.starts_at) if seats else None
    service = next((s for s in ctx.services.catalogue.services if seats and s.code == seats.service_code), None)
    if found is None or service is None:
        ctx.reply("这个时段已不再开放，请重新预约。", alert=True)
        return True
    station, slot = found
    case = await bookings.book(ctx.session, ctx.services, ctx.actor, station, slot, service,
                               channel=ctx.inbound.channel, chat_id=ctx.inbound.chat_id, is_group=ctx.in_group,
                               now=ctx.now, held=True)
    if case is None:
        ctx.reply("这个空位已不在了，请重新预约。", alert=True)
        return True
    entry.status = WaitStatus.BOOKED
    ctx.case_id = case.id
    await _confirmed(ctx, case, station, slot, moved=False)
    return True


def with_commands(handler: Handler) -> Handler:
    """An intent handler that first lets the appointment commands take the words."""
    async def handle(ctx: Context) -> bool:
        if await resident_command(ctx):
            return True
        return await handler(ctx)
    handle.__doc__ = handler.__doc__
    return handle


router.step(CANCEL_FLOW, "reason")(_on_cancel_reason)
