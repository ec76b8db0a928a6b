"""Failed messages are handled again by a job, with backoff and a bounded number of attempts, then listed for
staff (issue 10, defect 5)."""

import argparse
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cli.inbound import inbound_command
from bot.jobs.scheduler import JobRunner
from bot.pipeline.dispatcher import FAILURE_REPLY, Dispatcher, HandlerRouter
from bot.pipeline.retry import RETRY_AFTER, retry_failed
from bot.understanding.classifier import Intent
from models import Case, InboundStatus
from tests.harness import Harness


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


def broken(bot: Harness) -> Dispatcher:
    """The service with a bug in its report handler (fixed by the next deploy)."""
    router = HandlerRouter("broken")

    @router.intent(Intent.CHATTER, Intent.REPORT)
    async def explode(ctx):
        raise RuntimeError("handler bug")

    return Dispatcher(bot.services, router)


async def test_a_failed_report_is_handled_again_by_the_retry_job_and_the_resident_answered(bot):
    inbound = bot.inbound("R001", "#随手拍 3号楼门口路灯坏了", group="JT-TTC-01", name="R001")
    assert [r.text for r in await broken(bot).handle(inbound)] == [FAILURE_REPLY]
    [row] = await bot.inbound_rows()
    assert row.status is InboundStatus.FAILED and row.retry_at == bot.clock.now() + RETRY_AFTER[0]

    runner = JobRunner(bot.services, instance="scheduler")
    [(_, _, outcome)] = await runner.run_due(bot.clock.now() + timedelta(minutes=1), only="inbound_retry")
    assert outcome.startswith("handled 0")  # not yet due
    [(_, _, outcome)] = await runner.run_due(bot.clock.now() + timedelta(minutes=5), only="inbound_retry")
    assert outcome.startswith("handled 1")
    [row] = await bot.inbound_rows()
    assert row.status is InboundStatus.HANDLED
    [answer] = [r for r in await bot.outbox() if r.dedupe_key.startswith(f"reply:console:{inbound.message_id}#retry1")]
    assert "确认" in answer.text and answer.chat_id == inbound.chat_id
    assert "编号" in await bot.resident("R001", "确认", group="JT-TTC-01")  # the dialogue the retry opened goes on
    async with bot.services.sessions() as session:
        assert len((await session.scalars(select(Case))).unique().all()) == 1
    [(_, _, outcome)] = await runner.run_due(bot.clock.now() + timedelta(minutes=10), only="inbound_retry")
    assert outcome.startswith("handled 0")  # nothing is handled twice


async def test_a_message_that_keeps_failing_is_tried_a_bounded_number_of_times_then_left_for_staff(bot, capsys):
    failing = broken(bot)
    await failing.handle(bot.inbound("R002", "发电厂生活区5号楼电梯坏了，电话13812345678"))
    now = bot.clock.now()
    for wait in RETRY_AFTER:
        assert str(await retry_failed(failing, now + wait - timedelta(seconds=1))).startswith("handled 0, failed again 0")
        now += wait
        await retry_failed(failing, now)
    [row] = await bot.inbound_rows()
    assert row.status is InboundStatus.FAILED and row.attempts == len(RETRY_AFTER) and row.retry_at is None
    assert "handler bug" in row.error
    assert str(await retry_failed(failing, now + timedelta(days=30))) == "handled 0, failed again 0, left for staff 0"
    await inbound_command(bot.services.settings, argparse.Namespace(failed=True, limit=100))
    listing = capsys.readouterr().out
    assert "handler bug" in listing and "138****5678" in listing and "1 failed message(s)" in listing


async def test_messages_over_the_sender_limit_are_not_retried(database_url):
    bot = await Harness.start(database_url, inbound_per_sender_per_minute=1)
    try:
        for _ in range(3):
            await bot.send(bot.inbound("R900", "我的诉求"))
        assert [r.retry_at for r in await bot.inbound_rows() if r.status is InboundStatus.FAILED] == [None, None]
    finally:
        await bot.close()
