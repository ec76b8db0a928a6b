"""`run.py demo`: a scripted day in the demo district, printed as a transcript with a summary at the end."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.cases.figures import case_figures
from bot.channels.console import ConsoleChannel
from bot.clock import FrozenClock
from bot.jobs.scheduler import JobRunner
from bot.runtime import Runtime, start
from config.settings import Settings
from models import CaseStatus, Outbox

DEMO_DAY = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


JOBS = "@jobs"  # a script line that runs the due scheduled jobs and shows the reminders they queued


@dataclass(frozen=True)
class Line:
    minutes: int  # minutes after the previous line
    who: str  # resident code or new resident name, or a staff code
    name: str
    text: str
    group: str | None = None  # grid code of the group chat; None is a private chat


SCRIPT = [
    Line(2, "R001", "张桂兰", "大家早上好，今天降温了多穿点", "JT-TTC-01"),
    Line(1, "邻居老王", "邻居老王", "谁家的快递放错到我家门口了？顺丰的", "JT-TTC-01"),
    Line(3, "R001", "张桂兰", "#随手拍 3号楼门口路灯坏了好几天了，晚上黑乎乎的 [图片]", "JT-TTC-01"),
    Line(1, "R001", "张桂兰", "确认", "JT-TTC-01"),
    Line(6, "刘大妈", "刘大妈", "@网格助手 3号楼门口那个路灯晚上还是不亮", "JT-TTC-01"),
    Line(1, "刘大妈", "刘大妈", "确认", "JT-TTC-01"),
    Line(4, "R002", "李卫东", "发电厂生活区5号楼楼道里有人飞线充电，电动车就停在楼梯口，太危险了"),
    Line(1, "R002", "李卫东", "确认"),
    Line(5, "R005", "刘芳", "石坝河小区2号楼下水道堵了，污水冒到路上了"),
    Line(1, "R005", "刘芳", "确认"),
    Line(3, "R003", "王丽", "#微心愿 家里老人腿脚不好，希望周末有志愿者能陪他去医院复查"),
    Line(1, "R003", "王丽", "确认"),
    Line(4, "R004", "陈志强", "我想预约办理医保报销"),
    Line(1, "R004", "陈志强", "周三上午"),
    Line(1, "R004", "陈志强", "1"),
    Line(1, "R004", "陈志强", "确认"),
    Line(10, "W001", "李娟", "我的工单"),
    Line(1, "W001", "李娟", "接单 1"),
    Line(12, "W003", "王磊", "接单 3"),
    Line(40, "W001", "李娟", "办结 1 已联系供电维修，更换灯泡，恢复照明"),
    Line(5, "R001", "张桂兰", "满意 谢谢李娟"),
    Line(30, "W003", "王磊", "办结 3 已拆除飞线，张贴安全提示"),
    Line(20, "R002", "李卫东", "不满意 晚上楼道里还是有人拉线充电"),
    Line(5, "R004", "陈志强", "我的诉求"),
    Line(2, "W002", "杨帆", "接单 4"),
    # 预约办事: a booking for tomorrow, a reschedule, the evening reminder, and a no-show the next day
    Line(20, "R003", "王丽", "#预约 开居住证明"),
    Line(1, "R003", "王丽", "明天上午10点"),
    Line(1, "R003", "王丽", "1"),
    Line(1, "R003", "王丽", "确认"),
    Line(30, "R004", "陈志强", "改约 6"),
    Line(1, "R004", "陈志强", "周四下午3点"),
    Line(1, "R004", "陈志强", "1"),
    Line(1, "R004", "陈志强", "确认"),
    Line(540, JOBS, "", ""),  # 18:00: the evening reminders go out
    Line(990, "C003", "贾明", "预约名单"),  # the next morning, after the booked time
    Line(1, "C003", "贾明", "爽约 7"),
]


async def show_reminders(runtime: Runtime, runner: JobRunner, out: TextIO) -> None:
    """Runs the jobs due now and prints the appointment reminders they queued."""
    now = runtime.services.clock.now()
    await runner.run_due(now)
    async with runtime.services.sessions() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.dedupe_key.like("appt:%:eve:%"))
                                      .order_by(Outbox.id))).all()
    out.write(f"\n[{now.astimezone(runtime.services.settings.tz):%H:%M}] 定时任务：发出预约提醒 {len(rows)} 条\n")
    for row in rows:
        out.write(f"  → {row.recipient}：{row.text}\n")


def fresh_demo_database(path: Path) -> str:
    """Removes the previous demo's SQLite files so every run starts from the same empty district."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path}"


async def run_demo(settings: Settings, out: TextIO, *, database_url: str | None = None) -> int:
    """Plays the script against a fresh database and prints the transcript and the day's figures."""
    if database_url is None:
        database_url = await asyncio.to_thread(fresh_demo_database, Path("var/demo.db"))
    settings = settings.model_copy(update={"database_url": database_url})
    clock = FrozenClock(DEMO_DAY)
    runtime = await start(settings, clock)
    tz = settings.tz
    try:
        console = ConsoleChannel(runtime.dispatcher, out)
        out.write(f"gridbot 演示：{settings.district_path.name} 的一天（{DEMO_DAY:%Y-%m-%d}）\n")
        runner = JobRunner(runtime.services, instance="demo")
        for line in SCRIPT:
            clock.advance(minutes=line.minutes)
            if line.who == JOBS:
                await show_reminders(runtime, runner, out)
                continue
            where = f"{runtime.services.directory.by_code(line.group).name}居民群" if line.group else "私聊"
            out.write(f"\n[{clock.now().astimezone(tz):%H:%M}] {line.name}（{where}）：{line.text}\n")
            replies = await console.say(line.text, user_id=line.who, user_name=line.name,
                                        group_chat=f"group:{line.group}" if line.group else None)
            if not replies and line.group:
                out.write("  （群聊闲谈，机器人不回复）\n")
        async with runtime.services.sessions() as session:
            figures = await case_figures(session)
        out.write("\n—— 今日汇总 ——\n")
        for status in CaseStatus:
            if figures.by_status.get(status.value):
                out.write(f"{status.label}：{figures.by_status[status.value]}\n")
        out.write(f"诉求总数（不含合并）：{figures.total}；办结率：{figures.closure_rate:.0%}\n")
        if figures.mean_hours_to_accept is not None:
            out.write(f"平均接单用时：{figures.mean_hours_to_accept * 60:.0f} 分钟\n")
        if figures.satisfaction is not None:
            out.write(f"满意率：{figures.satisfaction:.0%}\n")
    finally:
        await runtime.close()
    return 0


def register(commands) -> None:
    """Adds demo."""
    demo = commands.add_parser("demo", help="run a scripted day in the demo district and print the transcript")
    demo.add_argument("--database", help="database URL (default: a fresh SQLite file var/demo.db)")
    demo.set_defaults(run=demo_command)


async def demo_command(settings: Settings, args: argparse.Namespace) -> int:
    return await run_demo(settings, sys.stdout, database_url=args.database)
