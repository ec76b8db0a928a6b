"""Concurrent messages on SQLite share one COMMIT (models/sqlite_driver.py): each is answered only once its rows
are committed, and one that fails loses only its own work."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.pipeline.dispatcher import FAILURE_REPLY, Dispatcher, HandlerRouter
from bot.understanding.classifier import Intent
from models import Case, InboundStatus, Resident
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ["3号楼门口路灯坏了", "5号楼楼道灯不亮", "7号楼门口垃圾没人清", "2号楼电梯又坏了"]


@pytest.fixture
async def bot(tmp_path: Path):
    # Every report its own case, none merged into a neighbour's.
    harness = await Harness.start(f"sqlite+aiosqlite:///{tmp_path}/gridbot.db", duplicate_window_hours=0)
    yield harness
    await harness.close()


def committed_ledger(path: Path) -> dict[str, str]:
    """The ledger as another process sees it (committed rows only): message id -> status."""
    other = sqlite3.connect(path)
    try:
        return dict(other.execute("SELECT platform_message_id, status FROM inbound_message").fetchall())
    finally:
        other.close()


def broken_dispatcher(bot: Harness, *, orm: bool) -> Dispatcher:
    """A dispatcher whose handler fails after writing: a resident through the ORM, or only the ledger row."""
    router = HandlerRouter("broken")

    @router.intent(Intent.CHATTER, Intent.REPORT)
    async def explode(ctx):
        if orm:
            ctx.session.add(Resident(display_name="半截", created_at=ctx.now))
            await ctx.session.flush()
        raise RuntimeError("handler bug")

    return Dispatcher(bot.services, router)


@pytest.mark.parametrize("orm", [False, True], ids=["prepared-only", "orm-work"])
async def test_concurrent_messages_are_answered_once_committed_and_a_failing_one_loses_only_its_own(
        bot, tmp_path, orm):
    database = tmp_path / "gridbot.db"
    broken = broken_dispatcher(bot, orm=orm)
    seen_at_answer: dict[str, str | None] = {}

    async def resident(n: int) -> list[str]:
        inbound = bot.inbound(f"居民{n}", f"#随手拍 铁塔厂家属院{REPORTS[n % len(REPORTS)]}（{n}）", name=f"居民{n}")
        dispatcher = broken if n == 7 else bot.runtime.dispatcher
        replies = await dispatcher.handle(inbound)
        # The moment the resident is answered, another process already sees the message's row.
        seen_at_answer[inbound.message_id] = committed_ledger(database).get(inbound.message_id)
        return [reply.text for reply in replies]

    answers = await asyncio.gather(*(resident(n) for n in range(16)))

    assert answers[7] == [FAILURE_REPLY]
    assert all("确认" in "\n".join(answer) for n, answer in enumerate(answers) if n != 7)
    assert sorted(seen_at_answer.values()) == ["failed"] + ["handled"] * 15
    rows = await bot.inbound_rows()
    assert len(rows) == 16 and sum(row.status is InboundStatus.FAILED for row in rows) == 1
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident).where(
            Resident.display_name == "半截")) == 0
    # The others' dialogues went on: each confirms and files its case.
    confirmations = await asyncio.gather(*(bot.resident(f"居民{n}", "确认") for n in range(16) if n != 7))
    assert all("编号 #" in answer for answer in confirmations)
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 15


async def test_a_transaction_that_cannot_join_commits_the_waiting_ones_first(bot, tmp_path):
    """ORM work outside `sessions.begin()` (a staff page, a report) begins while answers wait for their COMMIT."""
    database = tmp_path / "gridbot.db"
    answering = [asyncio.create_task(bot.resident(f"居民{n}", f"#随手拍 铁塔厂家属院{REPORTS[n % 4]}"))
                 for n in range(6)]
    await asyncio.sleep(0)
    async with bot.services.sessions() as session:  # an ORM session's own transaction, committed by itself
        session.add(Resident(display_name="工作人员录入", created_at=bot.clock.now()))
        await session.commit()
    answers = await asyncio.gather(*answering)
    assert all("确认" in answer for answer in answers)
    assert len(committed_ledger(database)) == 6
    other = sqlite3.connect(database)
    try:
        assert other.execute("SELECT count(*) FROM resident WHERE display_name = '工作人员录入'").fetchone() == (1,)
    finally:
        other.close()


_CRASHING = textwrap.dedent("""
    import asyncio, os, sys
    from tests.harness import Harness

    async def main(database, kill_after, tag):
        bot = await Harness.start(f"sqlite+aiosqlite:///{database}")

        async def resident(n, text):
            inbound = bot.inbound(f"{tag}居民{n}", text, name=f"{tag}居民{n}")
            replies = await bot.send(inbound)
            if replies:  # the reply goes out: the line is written before anything else runs
                os.write(1, f"answered {inbound.message_id}\\n".encode())

        async def crash():
            for _ in range(kill_after):
                await asyncio.sleep(0)
            os._exit(0)  # as a kill: nothing after this runs, nothing is committed on the way out

        for n in range(12):  # known residents first: their next messages need no ORM work, only the lean path
            await resident(n, "你好")
        await asyncio.gather(crash(), *(resident(n, f"#随手拍 铁塔厂家属院{n}号楼门口路灯坏了") for n in range(12)))

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
""")


@pytest.mark.reliability
def test_a_crash_while_answers_wait_for_their_commit_leaves_no_answer_for_lost_rows(tmp_path):
    """A process killed at any turn of the event loop: every answer it gave is for a message whose rows were
    committed (another process reads them after the crash)."""
    database = tmp_path / "gridbot.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answered_total = lost_total = 0
    for kill_after in range(6):
        done = subprocess.run([sys.executable, "-c", _CRASHING, str(database), str(kill_after), f"k{kill_after}"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        answered = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("answered ")}
        ledger = committed_ledger(database)
        assert answered <= set(ledger), (kill_after, answered - set(ledger))
        answered_total += len(answered)
        lost_total += 24 - len(answered)
    assert answered_total and lost_total  # killed both before and after some answers went out


def wal_commits(database: Path) -> tuple[bytes, int]:
    """The WAL's salt (a new one each time the log restarts) and how many transactions it holds: its frames that end
    a commit (a non-zero database size in the frame header) under that salt."""
    wal = (database.parent / f"{database.name}-wal").read_bytes()
    page_size, salt = int.from_bytes(wal[8:12], "big"), wal[16:24]
    commits = 0
    for at in range(32, len(wal) - 24, 24 + page_size):
        if wal[at + 8:at + 16] != salt:
            break  # frames left from before the log restarted
        commits += wal[at + 4:at + 8] != b"\0\0\0\0"
    return salt, commits


async def test_concurrent_confirmations_and_status_queries_share_their_commits(tmp_path):
    """Filing a case (a new one or a duplicate raising its original's priority) and listing one's cases run on
    prepared statements only: no ORM transaction of their own, so concurrent ones join one COMMIT."""
    harness = await Harness.start(f"sqlite+aiosqlite:///{tmp_path}/gridbot.db")
    database = tmp_path / "gridbot.db"
    try:
        await harness.report("先报的居民", "#随手拍 铁塔厂家属院3号楼门口路灯坏了")  # an original for the duplicates
        names = [f"居民{n}" for n in range(8)]
        for n, name in enumerate(names):
            await harness.resident(name, "你好")  # known residents: their next messages register no one
            await harness.resident(name, f"#随手拍 铁塔厂家属院{3 if n % 2 else n // 2 + 4}号楼门口路灯坏了")
        salt, before = wal_commits(database)
        answers = await asyncio.gather(*(harness.resident(name, "确认") for name in names))
        assert sum("已受理" in answer for answer in answers) == 4 and sum("已并入" in answer for answer in answers) == 4
        salt_after, after = wal_commits(database)
        assert salt_after == salt, "the WAL restarted during the test: count again"
        assert after - before < len(names), f"{after - before} commits for {len(names)} confirmations"
        statuses = await asyncio.gather(*(harness.resident(name, "我的诉求") for name in names))
        assert all("#" in status for status in statuses)
        assert wal_commits(database)[1] - after < len(names)
        cases = await harness.cases()
        assert sum(case.duplicate_of_id is not None for case in cases) == 4
    finally:
        await harness.close()


async def test_concurrent_offers_in_a_group_and_their_answers_share_their_commits(tmp_path):
    """Offering to file what a resident said in a group, and taking or declining the offer, run on prepared
    statements only: concurrent ones join one COMMIT."""
    harness = await Harness.start(f"sqlite+aiosqlite:///{tmp_path}/gridbot.db")
    database = tmp_path / "gridbot.db"
    try:
        names = [f"邻居{n}" for n in range(8)]
        for name in names:
            assert await harness.resident(name, "大家早上好", group="JT-TTC-01") == ""  # known residents
        salt, before = wal_commits(database)
        offers = await asyncio.gather(*(harness.resident(name, f"{n + 1}号楼门口的路灯坏了好几天了 晚上黑乎乎的",
                                                         group="JT-TTC-01") for n, name in enumerate(names)))
        assert all("需要帮您登记" in offer for offer in offers), offers
        salt_after, after = wal_commits(database)
        assert salt_after == salt, "the WAL restarted during the test: count again"
        assert after - before < len(names), f"{after - before} commits for {len(names)} offers"
        # Taken (the place read with the group's unit) by half of them, declined by the other half, each half at once.
        for answer, told, who in (("登记", "请确认", names[1::2]), ("不用", "不打扰", names[::2])):
            before = wal_commits(database)[1]
            replies = await asyncio.gather(*(harness.resident(name, answer, group="JT-TTC-01") for name in who))
            assert all(told in reply for reply in replies), replies
            assert wal_commits(database)[1] - before < len(who), f"{answer}: too many commits"
    finally:
        await harness.close()
