"""帮助 and 取消, and the answer to messages the bot does not understand."""

from __future__ import annotations

from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.offers import settle_offer
from bot.understanding.classifier import Intent
from bot.understanding.emergencies import emergency_in
from handlers.intake import YES, media_of
from handlers.person import ASK_FOR_CONTACT, name_the_worker
from handlers.report import take_description
from models import CaseKind

router = HandlerRouter("help")
router.addressed_by(r"^(帮助|使用说明|菜单)[?？!！。]*$")

RESIDENT_HELP = (
    "您好，我是社区网格助手，可以帮您：\n"
    "1. 随手拍：发送「#随手拍 问题描述」，可附照片，例如：#随手拍 3号楼门口路灯坏了\n"
    "2. 微心愿：发送「#微心愿 心愿内容」\n"
    "3. 预约办事：发送「#预约」，养老、医保、社保、法律咨询、开证明等；已约的发「我的预约」查看\n"
    "4. 查进度：发送「我的诉求」或「查询 编号」，微心愿发送「我的心愿」\n"
    "5. 双报到：党员、单位和志愿者发送「双报到」登记，通过后发「心愿墙」认领居民的微心愿，「实事」看为民办实事进展\n"
    "6. 登记住址：发送「我家住秦机小区5号楼」，以后反映问题不说地点也能登记\n"
    "办结后回复「满意 / 基本满意 / 不满意」评价。随时回复「取消」结束当前操作。"
)
STAFF_HELP = (
    "工作人员指令：\n"
    "接单 编号｜进展 编号 内容｜办结 编号 说明\n"
    "转派 编号 工号或部门 原因｜退回 编号 原因\n"
    "分派 编号 工号｜不予受理 编号 原因｜认领 编号\n"
    "我的工单｜待分拣｜查看 编号｜合并 主单编号 并入单编号｜拆分 主单编号 并入单编号或反映人\n"
    "微心愿：待审核｜心愿 W编号｜公开 W编号 标题｜内容｜通过 W编号｜发布 W编号｜合并 W编号 W编号｜"
    "不采纳 W编号 原因｜批准认领 / 驳回认领 W编号｜通过 / 不通过 D编号（双报到）｜确认工时 / 退回工时 G编号｜"
    "认领审批 开/关\n"
    "实事：新建实事 标题｜预算｜说明｜节点 P编号 名称 权重｜进度 P编号 节点序号 百分比｜关联 W编号 P编号｜实事"
)
GROUP_HINT = "需要帮忙请发「#随手拍 问题描述」「#微心愿」「#预约」，或私聊我。"


@router.intent(Intent.HELP)
async def show_help(ctx: Context) -> bool:
    """Explains what the bot does; briefly in a group, fully in private."""
    if ctx.actor.is_staff:
        ctx.reply(STAFF_HELP, private=True)
    elif ctx.in_group:
        ctx.reply(GROUP_HINT)
    else:
        ctx.reply(RESIDENT_HELP)
    return True


@router.intent(Intent.CANCEL)
async def cancel(ctx: Context) -> bool:
    """Ends the open dialogue without filing anything."""
    if ctx.state.flow == "offer":
        await decline_offer(ctx)
        ctx.reply("好的，不打扰了。")
    elif ctx.state.is_open:
        ctx.finish()
        ctx.reply("已取消，没有提交任何内容。")
    else:
        ctx.reply("当前没有进行中的事项。")
    return True


@router.intent(Intent.CHATTER)
async def not_understood(ctx: Context) -> bool:
    """Answers a private message it could not place; stays silent in groups unless addressed."""
    if ctx.in_group and not (ctx.inbound.mentions_bot or ctx.inbound.reply_to_bot or ctx.text.startswith("/")):
        return False
    emergency = emergency_in(ctx.text) if ctx.text else None  # heard whatever words the rules lack
    if ctx.in_group and emergency is None:
        ctx.reply(GROUP_HINT)
        return True
    if emergency is not None:
        await file_what_may_be_a_problem(ctx)
        return True
    if not ctx.text and not ctx.inbound.media:
        ctx.reply("没有收到文字内容。请用文字描述您的问题，或发送「帮助」查看用法。")
        return True
    if ctx.actor.is_staff:
        ctx.reply("抱歉，我没太明白这条指令。\n" + STAFF_HELP)
        return True
    if ASK_FOR_CONTACT.search(ctx.text):  # said with more words than the aside takes (你好，请问…网格员电话多少)
        await name_the_worker(ctx)
        return True
    if YES.match(ctx.text):
        ctx.reply("现在没有等您确认的事项。已提交的请发「我的诉求」查看；要反映新问题请直接描述。")
        return True
    if ctx.classifier.categorize(ctx.text, CaseKind.REPORT.value).candidates:
        await file_what_may_be_a_problem(ctx)
        return True
    ctx.reply("抱歉，我没太明白。想反映问题请直接描述，例如「3号楼楼道灯坏了」；需要人帮忙请回复「人工」；"
              "发送「帮助」查看全部用法。")
    return True


async def file_what_may_be_a_problem(ctx: Context) -> None:
    """Starts filing a message that may be a problem (the category among the top three) rather than end here."""
    ctx.start(CaseKind.REPORT.value, "describe", kind=CaseKind.REPORT.value, media=media_of(ctx))
    ctx.reply("看起来您要反映问题，我来帮您登记（不需要请回复「取消」）。")
    await take_description(ctx, ctx.text)


async def decline_offer(ctx: Context) -> None:
    """Closes a group offer the resident turned down, dropping the words it was about."""
    await settle_offer(ctx.session, ctx.inbound.channel, ctx.state.values["message_id"], taken=False)
    ctx.finish()
