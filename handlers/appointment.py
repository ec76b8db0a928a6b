"""预约办事: a resident books a community service (elderly care, medical insurance, legal aid ...) for a time."""

from __future__ import annotations

from bot.pipeline.router import Context, HandlerRouter
from bot.understanding.classifier import Intent
from handlers.intake import ask_place_or_confirm, on_confirm, on_location, strip_triggers
from models import CaseKind

router = HandlerRouter("appointment")


@router.intent(Intent.APPOINTMENT)
async def start_appointment(ctx: Context) -> bool:
    """Starts a booking; recognises the service from the words, else shows the list."""
    ctx.start("appointment", "service", kind=CaseKind.APPOINTMENT.value, extras={})
    body = strip_triggers(ctx, ctx.text)
    ctx.state.values["text"] = body
    service = ctx.services.catalogue.find(body) if body else None
    if service is None:
        ctx.reply("请问要预约哪项服务？回复数字：\n" + ctx.services.catalogue.menu())
        return True
    take_service(ctx, service)
    return True


@router.step("appointment", "service")
async def on_service(ctx: Context) -> bool:
    """Takes the service the resident picked."""
    service = ctx.services.catalogue.find(ctx.text) if ctx.text else None
    if service is None:
        if ctx.in_group:
            return False
        ctx.reply("没有找到这项服务，请回复列表中的数字：\n" + ctx.services.catalogue.menu())
        return True
    take_service(ctx, service)
    return True


def take_service(ctx: Context, service) -> None:  # type: ignore[no-untyped-def]
    ctx.state.values.update(service_code=service.code, category_name=service.name)
    ctx.state.values["extras"]["service"] = service.name
    ctx.goto("time")
    ctx.reply(f"预约「{service.name}」。您希望什么时间？例如：周三上午、明天下午三点。")


@router.step("appointment", "time")
async def on_time(ctx: Context) -> bool:
    """Takes the preferred time as the resident said it; staff confirm the exact slot."""
    if not ctx.text:
        return False
    ctx.state.values["extras"]["preferred_time"] = ctx.text[:100]
    if not ctx.state.values.get("text"):
        ctx.state.values["text"] = f"预约{ctx.state.values['extras']['service']}"
    await ask_place_or_confirm(ctx)
    return True


router.step("appointment", "location")(on_location)
router.step("appointment", "confirm")(on_confirm)
