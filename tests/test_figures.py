"""The figures leaders read: one definition, the same in the weekly report, the demo summary and the API."""

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from bot.cases.figures import (
    NO_DATA,
    ROLLUP_ZONE,
    Figures,
    compact_day_figures,
    figures_by_category,
    figures_by_period,
    figures_by_period_child_category,
    figures_for,
    hours_text,
    rate_text,
)
from bot.reports.weekly import report_text, week_bounds, week_figures
from models import Case, CaseDayFigures, CaseStatus, UnitLevel
from tests.harness import Harness

GROUP = "JT-TTC-01"
WEEK = "2026-W49"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def figures_everywhere(bot: Harness, unit_code: str) -> list[Figures]:
    """The same cases' figures as the weekly report, the API for a subtree and the per-week API give them."""
    directory = bot.services.directory
    unit = directory.by_code(unit_code)
    since, until = week_bounds(WEEK, bot.services.settings.tz)
    async with bot.services.sessions() as session:
        weekly = (await week_figures(session, directory, WEEK, bot.services.settings.tz))[unit.id]
        subtree = await figures_for(session, unit_path=unit.path, since=since, until=until)
        (by_week,) = await figures_by_period(session, [since, until], unit_path=unit.path)
    return [weekly, subtree, by_week]


def same(figures: list[Figures]) -> Figures:
    first = figures[0]
    assert all(f == first for f in figures[1:]), figures
    return first


async def test_a_reopened_case_restarts_its_accept_clock_and_no_figure_goes_negative(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.advance(minutes=30)
    await bot.staff("W001", f"接单 {case.id}")
    bot.clock.advance(hours=2)
    await bot.staff("W001", f"办结 {case.id} 灯已换好")
    bot.clock.advance(hours=1)
    await bot.resident("R001", f"不满意 {case.id} 还是不亮")
    for unit in (GROUP, "JT-TTC", "JT"):
        reopened = same(await figures_everywhere(bot, unit))
        # waiting for acceptance again: it was answered once, but has no time to accept and is not done
        assert (reopened.cases, reopened.done, reopened.given, reopened.responded) == (1, 0, 1, 1)
        assert reopened.mean_accept_hours is None and reopened.mean_resolve_hours is None
        assert reopened.closure_rate == 0 and reopened.response_rate == 1
        assert (reopened.rated, reopened.pleased, reopened.satisfaction) == (1, 0, 0)
    text = report_text("市铁塔厂社区", WEEK, reopened)
    assert "平均接单用时 暂无数据" in text and "-" not in text.split("\n", 1)[1]
    bot.clock.advance(minutes=45)
    await bot.staff("W001", f"接单 {case.id}")
    again = same(await figures_everywhere(bot, GROUP))
    assert again.mean_accept_hours == pytest.approx(0.75)  # the new wait: from the reopening to the acceptance
    bot.clock.advance(hours=3)
    await bot.staff("W001", f"办结 {case.id} 换了新灯")
    done = same(await figures_everywhere(bot, GROUP))
    assert done.done == 1 and done.mean_resolve_hours == pytest.approx(0.5 + 2 + 1 + 0.75 + 3)
    assert all(getattr(done, name) >= 0 for name in vars(done) if name != "categories")


async def test_a_transfer_restarts_the_accept_clock_for_the_new_assignee(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.advance(minutes=20)
    await bot.staff("W001", f"接单 {case.id}")
    bot.clock.advance(hours=1)
    assert "转" in await bot.staff("W001", f"转派 {case.id} W002 不在我的网格")
    waiting = same(await figures_everywhere(bot, GROUP))
    assert waiting.mean_accept_hours is None and waiting.response_rate == 1
    bot.clock.advance(minutes=6)
    await bot.staff("W002", f"接单 {case.id}")
    assert same(await figures_everywhere(bot, GROUP)).mean_accept_hours == pytest.approx(0.1)


async def test_no_cases_is_no_data_everywhere(bot):
    async with bot.services.sessions() as session:
        empty = await figures_for(session)
        assert await figures_by_category(session) == {}
    assert empty == Figures()
    for rate in (empty.closure_rate, empty.response_rate, empty.on_time_rate, empty.satisfaction):
        assert rate is None and rate_text(rate) == NO_DATA
    assert hours_text(empty.mean_accept_hours) == NO_DATA == hours_text(empty.mean_resolve_hours)


async def test_weeks_and_categories_add_up_to_the_period(bot):
    first = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    await bot.staff("W001", f"接单 {first.id}")
    await bot.staff("W001", f"办结 {first.id} 已修好")
    await bot.resident("R001", f"满意 {first.id}")
    bot.clock.advance(days=7)
    await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group=GROUP)
    since, _ = week_bounds(WEEK, bot.services.settings.tz)
    bounds = [since + timedelta(days=7 * n) for n in range(4)]
    async with bot.services.sessions() as session:
        weeks = await figures_by_period(session, bounds)
        whole = await figures_for(session, since=bounds[0], until=bounds[-1])
        categories = await figures_by_category(session, since=bounds[0], until=bounds[-1])
    assert [w.cases for w in weeks] == [1, 1, 0]
    assert (weeks[0].closure_rate, weeks[0].on_time_rate, weeks[0].satisfaction) == (1, 1, 1)
    assert weeks[2].closure_rate is None
    total = Figures()
    for week in weeks:
        total.add(week)
    assert total == whole
    assert sum(c.cases for c in categories.values()) == whole.cases == 2
    assert categories["路灯照明"].done == 1


async def test_the_day_table_and_the_cases_give_the_same_figures(bot):
    """case_day_figures, kept by triggers through the lifecycle and plain UPDATEs, agrees with the cases."""
    lamp = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    bot.clock.advance(minutes=30)
    await bot.staff("W001", f"接单 {lamp.id}")
    bot.clock.advance(hours=2)
    await bot.staff("W001", f"办结 {lamp.id} 灯已换好")
    await bot.resident("R001", f"不满意 {lamp.id} 还是不亮")
    bot.clock.advance(days=1)
    water = await bot.report("R004", "家里停水了一整天")
    other = await bot.report("R005", "4号楼楼道灯坏了不亮")
    bot.clock.advance(hours=5)
    await bot.staff("W001", f"接单 {lamp.id}")
    await bot.staff("W001", f"办结 {lamp.id} 换了新灯")
    await bot.resident("R001", f"满意 {lamp.id}")
    bot.clock.advance(days=3)
    rubbish = await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group=GROUP)
    await bot.staff("W001", f"接单 {rubbish.id}")
    assert "转" in await bot.staff("W001", f"转派 {rubbish.id} W002 不在我的网格")
    async with bot.services.sessions.begin() as session:  # writes that bypass the lifecycle
        await session.execute(update(Case).where(Case.id == water.id).values(
            created_at=bot.clock.now() - timedelta(days=9), category_name="别的类别"))
        await session.execute(update(Case).where(Case.id == other.id).values(status=CaseStatus.DUPLICATE))
    directory = bot.services.directory
    district, street = directory.units(UnitLevel.DISTRICT)[0], directory.by_code("JT")
    since, _ = week_bounds(WEEK, bot.services.settings.tz)
    bounds = [since + timedelta(days=7 * n) for n in range(-2, 4)]

    async def agree(cases: int) -> None:
        async with bot.services.sessions() as session:
            for unit in (district, street):
                paths = [child.path for child in directory.children(unit)]
                both = [await figures_by_period_child_category(session, bounds, paths, unit_path=unit.path,
                                                               direct=direct) for direct in (True, False)]
                direct, rolled = ({(period, child, next(iter(f.categories))): f for period, child, f in rows}
                                  for rows in both)
                assert direct.keys() == rolled.keys() and sum(f.cases for f in direct.values()) == cases
                for key, expected in direct.items():
                    got = rolled[key]
                    assert [getattr(got, n) for n in vars(got) if not n.endswith("hours")] == [
                        getattr(expected, n) for n in vars(expected) if not n.endswith("hours")], key
                    assert (got.accept_hours, got.resolve_hours) == pytest.approx(
                        (expected.accept_hours, expected.resolve_hours)), key

    async def keys() -> tuple[int, int]:
        async with bot.services.sessions() as session:
            rows = (await session.execute(select(CaseDayFigures.day, CaseDayFigures.branch,
                                                 CaseDayFigures.category_name))).all()
        return len(rows), len(set(rows))

    await agree(cases=3)
    added, distinct = await keys()
    assert added > distinct > 0
    async with bot.services.sessions.begin() as session:  # the SLA sweep folds each key's added rows into one
        folded, top = await compact_day_figures(session)
        assert folded > 0
        nothing, top = await compact_day_figures(session, top)  # the fold's own rows come after its `top`
        assert nothing == 0
    assert await keys() == (distinct, distinct)
    await agree(cases=3)
    await bot.staff("W002", f"接单 {rubbish.id}")
    async with bot.services.sessions.begin() as session:  # a later fold looks only at keys written since
        assert (await compact_day_figures(session, top))[0] == 1
    assert await keys() == (distinct, distinct)
    await agree(cases=3)
    async with bot.services.sessions.begin() as session:  # the default path did read the table
        await session.execute(delete(CaseDayFigures))
        assert await figures_by_period_child_category(session, bounds, [], unit_path=street.path) == []


async def test_writes_to_one_day_row_never_wait_on_each_other(bot, db_backend):
    """Two open transactions filing and progressing cases of the same day, community and category both go
    through at once: the day figures are rows added, not one row updated under a lock held until commit."""
    if db_backend != "postgres":
        pytest.skip("SQLite has one writer at a time: nothing to wait on")
    first = await bot.report("R001", "3号楼门口路灯坏了", group=GROUP)
    second = await bot.report("R002", "5号楼门口路灯也不亮", group=GROUP)
    sessions = bot.services.sessions
    async with sessions.begin() as holding:
        await holding.execute(update(Case).where(Case.id == first.id).values(status=CaseStatus.ACCEPTED,
                                                                             accepted_at=bot.clock.now()))
        async with sessions.begin() as other:  # would wait for `holding` (then time out) on a shared row
            await other.execute(text("SET LOCAL lock_timeout = '2s'"))
            await other.execute(update(Case).where(Case.id == second.id).values(
                status=CaseStatus.ACCEPTED, accepted_at=bot.clock.now()))
    async with sessions() as session:
        unit = bot.services.directory.by_code("JT")
        today = datetime.combine(bot.clock.now().astimezone(ROLLUP_ZONE).date(), time(), ROLLUP_ZONE)
        (_, _, figures), = await figures_by_period_child_category(session, [today, today + timedelta(days=1)], [],
                                                                  unit_path=unit.path)  # read from the day rows
    assert figures.responded == 2
