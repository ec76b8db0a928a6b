"""Prepared statements (models.db.Prepared) run in the session's own transaction, however they reach the driver:
what the transaction rolls back goes with it, and a statement after the transaction ended runs in the next one.
And what they bind is what SQLAlchemy would have bound."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from models import Conversation, InboundMessage, InboundStatus
from models.base import UTCDateTime
from models.db import Prepared
from tests.harness import TEST_DRIVERS

_LEDGER = InboundMessage.__table__
_INSERT = Prepared(lambda insert: insert(_LEDGER).on_conflict_do_nothing(
    index_elements=["channel", "platform_message_id"]).returning(_LEDGER.c.id),
    ("channel", "platform_message_id", "chat_id", "sender_id", "received_at", "status", "text", "attempts"))
_INSERT_PLAIN = Prepared(lambda insert: insert(_LEDGER), _INSERT._keys)  # a second same row breaks the unique key
_CONVERSATION = Conversation.__table__
_STATE = Prepared(lambda insert: (upsert := insert(_CONVERSATION)).on_conflict_do_update(
    index_elements=["channel", "chat_id", "user_id"], set_={"step": upsert.excluded.step}),
    ("channel", "chat_id", "user_id", "flow", "step", "state", "updated_at"))
_TEXT_OF = Prepared(lambda insert: _LEDGER.update().where(_LEDGER.c.platform_message_id == bindparam("message_id"))
                    .values(text=bindparam("new_text")), ("message_id", "new_text"))
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
SQLITE = sqlite.dialect()


def row(message_id: str) -> dict[str, object]:
    return {"channel": "test", "platform_message_id": message_id, "chat_id": "c", "sender_id": "s",
            "received_at": NOW, "status": InboundStatus.HANDLED, "text": "x", "attempts": 0}


async def stored(sessions) -> set[str]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return set((await session.scalars(select(InboundMessage.platform_message_id))).all())


class Rollback(Exception):
    pass


async def test_the_statements_after_the_first_are_rolled_back_with_their_transaction(sessions):
    with pytest.raises(Rollback):
        async with sessions.begin() as session:
            for n in range(3):
                assert await _INSERT.execute(session, row(f"m{n}"))
            raise Rollback
    assert await stored(sessions) == set()


async def test_a_statement_after_a_commit_runs_in_the_sessions_next_transaction(sessions):
    async with sessions() as session:
        await _INSERT.execute(session, row("first"))
        await _INSERT.execute(session, row("second"))
        await session.commit()
        await _INSERT.execute(session, row("third"))  # a new transaction: rolled back below, not left committed
        await session.rollback()
        await _INSERT.execute(session, row("fourth"))
        await session.commit()
    assert await stored(sessions) == {"first", "second", "fourth"}


async def test_pending_orm_rows_are_written_before_a_prepared_statement(sessions):
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("prepared"))
        session.add(InboundMessage(**row("orm")))  # autoflushed before the next statement, as Session.execute would
        assert await _INSERT.execute(session, row("orm")) == []  # the ORM row is there: nothing inserted
        count = await session.scalar(select(func.count()).select_from(InboundMessage))
    assert count == 2
    assert await stored(sessions) == {"prepared", "orm"}


async def test_orm_work_and_prepared_statements_in_a_block_are_rolled_back_together(sessions):
    for orm_first in (True, False):
        with pytest.raises(Rollback):
            async with sessions.begin() as session:
                if orm_first:
                    session.add(InboundMessage(**row("orm")))
                    await session.flush()
                await _INSERT.execute(session, row("prepared"))
                if not orm_first:
                    session.add(InboundMessage(**row("orm")))
                    await session.flush()
                await _INSERT.execute(session, row("after"))
                raise Rollback
        assert await stored(sessions) == set()


async def test_orm_rows_left_unflushed_are_committed_with_the_blocks_prepared_statements(sessions):
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("prepared"))
        session.add(InboundMessage(**row("orm")))
    assert await stored(sessions) == {"prepared", "orm"}


async def test_blocks_queueing_for_the_connection_all_commit_whether_or_not_they_do_orm_work(sessions):
    async def block(n: int) -> None:
        async with sessions.begin() as session:
            await _INSERT.execute(session, row(f"p{n}"))
            await asyncio.sleep(0)  # the others queue for the connection meanwhile
            if n % 3 == 0:
                session.add(InboundMessage(**row(f"o{n}")))
                await session.flush()
            if n % 3 == 1:
                await session.scalar(select(func.count()).select_from(InboundMessage))
            await _INSERT.execute(session, row(f"q{n}"))

    await asyncio.gather(*(block(n) for n in range(12)))
    assert await stored(sessions) == {f"p{n}" for n in range(12)} | {f"q{n}" for n in range(12)} | {
        f"o{n}" for n in range(0, 12, 3)}


async def test_a_block_cancelled_mid_transaction_writes_nothing_and_the_next_one_commits(sessions):
    began = asyncio.Event()

    async def cancelled() -> None:
        async with sessions.begin() as session:
            await _INSERT.execute(session, row("cancelled"))
            began.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(cancelled())
    await began.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("next"))
    assert await stored(sessions) == {"next"}


@pytest.mark.skipif(TEST_DRIVERS != "fast", reason="the stock drivers run SQLAlchemy's own transaction")
async def test_a_block_runs_lean_on_either_backend_until_orm_work_joins_it(sessions):
    async with sessions.begin() as session:
        lean = session.sync_session.gridbot_lean
        await _INSERT.execute(session, row("prepared"))
        assert lean.fairy is not None and lean.connection is None  # no SQLAlchemy Connection or SessionTransaction
        assert session.sync_session._transaction is None
        session.add(InboundMessage(**row("orm")))
        await session.flush()
        assert lean.connection is not None and lean.connection.connection is lean.fairy
        await _INSERT.execute(session, row("after"))
    assert await stored(sessions) == {"prepared", "orm", "after"}


async def test_a_failed_statement_rolls_the_block_back_and_the_connection_serves_the_next(sessions, engine):
    for orm_first in (False, True):
        with pytest.raises(engine.dialect.loaded_dbapi.IntegrityError, match="(?i)unique|duplicate"):
            async with sessions.begin() as session:
                if orm_first:
                    session.add(InboundMessage(**row("orm")))
                    await session.flush()
                await _INSERT.execute(session, row("prepared"))
                await _INSERT_PLAIN.execute(session, row("prepared"))
        assert await stored(sessions) == set()
    for n in range(3):  # on PostgreSQL a connection left in the aborted transaction would refuse these
        async with sessions.begin() as session:
            await _INSERT.execute(session, row(f"next{n}"))
    assert await stored(sessions) == {"next0", "next1", "next2"}


async def test_a_batch_run_alone_writes_all_its_rows_or_none(sessions, engine):
    with pytest.raises(engine.dialect.loaded_dbapi.IntegrityError, match="(?i)unique|duplicate"):
        await _INSERT_PLAIN.execute_alone(sessions, [row("a"), row("b"), row("a")])
    assert await stored(sessions) == set()
    for n in range(3):
        await _INSERT_PLAIN.execute_alone(sessions, [row(f"c{n}"), row(f"d{n}")])
    assert await stored(sessions) == {"c0", "d0", "c1", "d1", "c2", "d2"}


async def test_a_block_cancelled_while_its_statement_waits_writes_nothing(sessions, engine):
    """On PostgreSQL the statement waits for another transaction's row lock (the same unique key), the cancellation
    reaching asyncpg mid-statement; on SQLite's single connection the block waits for the connection."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with sessions.begin() as session:
            await _INSERT.execute(session, row("held"))
            holding.set()
            await release.wait()

    async def waiting() -> None:
        async with sessions.begin() as session:
            await _INSERT.execute(session, row("waiting"))
            await _INSERT.execute(session, row("held"))

    held = asyncio.create_task(holder())
    await holding.wait()
    task = asyncio.create_task(waiting())
    await _until_its_statement_waits(engine, task)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await held
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("next"))
    assert await stored(sessions) == {"held", "next"}


async def _until_its_statement_waits(engine, task) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        await asyncio.sleep(0)  # the block runs up to its wait for the one connection
    else:
        while not task.done() and not await _waiting_on_a_lock(engine):
            pass
    assert not task.done()


async def _waiting_on_a_lock(engine) -> bool:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:  # a transaction of its own: pg_stat_activity is read once in one
        return bool(await connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def state(user: str, step: str) -> dict[str, object]:
    return {"channel": "test", "chat_id": "c", "user_id": user, "flow": "report", "step": step, "state": {},
            "updated_at": NOW}


async def steps(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return {user: step for user, step in (await session.execute(select(Conversation.user_id, Conversation.step))).all()}


async def test_writes_left_for_later_are_committed_with_the_block_whatever_follows_them(sessions):
    """execute_later's writes (sent with the next statement on PostgreSQL) land as if run at once, in their order:
    before a later write of another table or their own, a read, ORM work, or the commit."""
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("m0"))
        await _STATE.execute_later(session, state("u1", "one"))
        await _TEXT_OF.execute_later(session, {"message_id": "m0", "new_text": "changed"})
        assert await _INSERT.execute(session, row("m1"))  # a plain insert into the ledger the update changes
        await _STATE.execute_later(session, state("u2", "one"))
        await _STATE.execute_later(session, state("u2", "two"))  # the same row upserted again: after the first
        await _INSERT_PLAIN.execute_later(session, row("m2"))
        await _TEXT_OF.execute_later(session, {"message_id": "m2", "new_text": "changed"})  # the row just inserted
        assert await session.scalar(select(Conversation.step).where(Conversation.user_id == "u2")) == "two"
        await _INSERT_PLAIN.execute_later(session, row("m3"))
        await _STATE.execute_later(session, state("u3", "one"))
        await _INSERT.execute(session, row("m4"))  # numbered after the row written before it
        await _STATE.execute_later(session, state("u4", "one"))  # left for the commit alone
    assert await steps(sessions) == {"u1": "one", "u2": "two", "u3": "one", "u4": "one"}
    async with sessions() as session:
        assert [tuple(ledger) for ledger in (await session.execute(select(
            InboundMessage.platform_message_id, InboundMessage.text).order_by(InboundMessage.id))).all()] == [
            ("m0", "changed"), ("m1", "x"), ("m2", "changed"), ("m3", "x"), ("m4", "x")]
    async with sessions.begin() as session:  # ORM work after them
        await _STATE.execute_later(session, state("u5", "one"))
        session.add(InboundMessage(**row("orm")))
    assert (await steps(sessions))["u5"] == "one" and "orm" in await stored(sessions)


async def test_a_write_left_for_later_that_fails_rolls_the_whole_block_back(sessions, engine):
    for then in ("insert", "commit"):
        with pytest.raises(engine.dialect.loaded_dbapi.IntegrityError, match="(?i)unique|duplicate"):
            async with sessions.begin() as session:
                await _INSERT.execute(session, row("kept?"))
                await _STATE.execute_later(session, state("u1", "one"))
                await _INSERT_PLAIN.execute_later(session, row("kept?"))  # the ledger's unique key: fails
                if then == "insert":
                    await _INSERT.execute(session, row("after"))
        assert await stored(sessions) == set() and await steps(sessions) == {}
    with pytest.raises(Rollback):
        async with sessions.begin() as session:
            await _STATE.execute_later(session, state("u1", "one"))
            raise Rollback
    assert await steps(sessions) == {}


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3))])))
def test_sqlite_stores_a_datetime_as_sqlalchemys_own_format_does(moment):
    """UTCDateTime's own SQLite binding writes the text SQLAlchemy's DateTime would (rows compare as text there)."""
    ours = UTCDateTime().bind_processor(SQLITE)
    stock = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours(moment) == stock(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3))])))
def test_postgresql_binds_a_datetime_as_naive_utc_and_reads_it_back_aware(moment):
    """UTCDateTime hands asyncpg the naive UTC datetime (exactly a datetime: asyncpg refuses subclasses) and reads a
    stored one back as the same instant in UTC."""
    dialect = postgresql.asyncpg.dialect()
    bound = UTCDateTime().bind_processor(dialect)(moment)
    assert type(bound) is datetime and bound.tzinfo is None
    assert bound == moment.astimezone(UTC).replace(tzinfo=None)
    read = UTCDateTime().result_processor(dialect, None)(bound)
    assert read == moment and read.tzinfo is UTC and read.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().bind_processor(dialect)(bound)


async def test_orm_work_first_reached_after_a_blocks_prepared_statements_runs_in_their_transaction(sessions):
    """The Session is made on first ORM use, joined to the block's transaction: it reads the block's own rows,
    and goes back with them."""
    with pytest.raises(Rollback):
        async with sessions.begin() as session:
            await _INSERT.execute(session, row("prepared"))
            await _STATE.execute_later(session, state("u1", "one"))
            assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 1
            assert await session.scalar(select(Conversation.step).where(Conversation.user_id == "u1")) == "one"
            raise Rollback
    assert await stored(sessions) == set() and await steps(sessions) == {}
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("prepared"))
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        session.add(InboundMessage(**row("orm")))
    assert await stored(sessions) == {"prepared", "orm"}


async def test_a_session_that_never_did_orm_work_answers_for_its_bind_and_serves_after_its_block(sessions, engine):
    session = sessions()
    assert session.get_bind() is engine.sync_engine
    await session.close()  # nothing to close
    async with sessions() as unused:
        pass
    assert unused.get_bind() is engine.sync_engine
    async with sessions.begin() as session:
        await _INSERT.execute(session, row("prepared"))
    # after the block the session is an ordinary one: its next statement begins a transaction of its own
    assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    await session.close()
    assert await stored(sessions) == {"prepared"}


async def test_a_statement_prepared_before_its_table_changed_fails_once_then_is_prepared_again(sessions, db_backend):
    """On asyncpg a statement the connection has prepared runs straight on its protocol (models.postgres_driver
    .bound), recovering as asyncpg's own fetch does: when a column's type changed under the prepared statement, the
    transaction that runs it fails (PostgreSQL's cached plan must not change its result type) and the next one
    prepares it again."""
    if db_backend != "postgres":
        pytest.skip("asyncpg's prepared statements")
    from sqlalchemy import Column, Integer, MetaData, Table

    from models.db import PreparedQuery

    table = Table("scratch_stale_plan", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer))
    query = PreparedQuery(select(table.c.v).where(table.c.id == bindparam("id")), ("id",))

    async def value() -> object:
        async with sessions.begin() as session:
            return (await query.first_row(session, {"id": 1})).v

    async with sessions.begin() as session:
        await session.execute(text("CREATE TABLE scratch_stale_plan (id integer PRIMARY KEY, v integer)"))
        await session.execute(text("INSERT INTO scratch_stale_plan VALUES (1, 7)"))
    try:
        assert [await value() for _ in range(3)] == [7, 7, 7]  # prepared, then found in the statement cache
        async with sessions.begin() as session:
            await session.execute(text("ALTER TABLE scratch_stale_plan ALTER COLUMN v TYPE bigint"))
        with pytest.raises(Exception, match="cached statement plan is invalid"):
            await value()
        assert await value() == 7
        assert await value() == 7
    finally:
        async with sessions.begin() as session:
            await session.execute(text("DROP TABLE scratch_stale_plan"))
