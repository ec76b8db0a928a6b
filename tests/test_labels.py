"""Every status and name carries its Chinese label beside its value; residents and staff read only labels."""

from __future__ import annotations

import re

import pytest

from bot.jobs.sla import sweep_case_timers
from models import CaseKind, CaseStatus, EventKind, LabelledEnum, Rating, StaffRole, UnitLevel
from tests.harness import Harness

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("names", [EventKind, CaseStatus, CaseKind, Rating, StaffRole, UnitLevel])
def test_every_value_has_a_chinese_label_of_its_own(names: type[LabelledEnum]):
    labels = [member.label for member in names]
    assert all(CJK.search(label) for label in labels), labels
    assert len(set(labels)) == len(labels), labels
    assert all(names(member.value) is member for member in names)


def test_roles_sit_where_routing_looks_for_them():
    for role in StaffRole:
        assert role.home_level in role.levels


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def test_a_residents_query_and_a_workers_view_show_labels_never_event_names(bot):
    case = await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    bot.clock.advance(days=3)
    assert (await sweep_case_timers(bot.services, bot.clock.now())).escalations >= 1
    events = await bot.events(case.id)
    assert EventKind.ESCALATED in {e.action for e in events}
    assert all(isinstance(e.action, EventKind) for e in events)
    answer = await bot.resident("R001", f"查询 {case.id}")
    assert EventKind.ESCALATED.label in answer
    worker = await bot.staff("W001", f"查看 {case.id}")
    assert EventKind.ESCALATED.label in worker, worker
    for shown in (answer, worker):
        words = set(re.findall(r"[a-z_]{3,}", shown))
        assert not words & {kind.value for kind in EventKind}, shown
        assert not words & {status.value for status in CaseStatus}, shown
