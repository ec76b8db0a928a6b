"""The one definition of a case number as people type it: commands, queries and the classifier read it alike."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cases.numbers import NAMED as NAMED_FORM
from bot.cases.numbers import NUMBERED as NUMBERED_FORM
from bot.cases.numbers import case_number_in, may_name_a_case, without_case_number
from bot.understanding.classifier import Intent
from tests.test_classifier import shipped_classifier

NAMED = [("#12", 12), ("12号", 12), ("查询 12", 12), ("查询12号", 12), ("编号 7", 7),
         ("工单号 55", 55), ("案件 9", 9), ("进度 3", 3), ("办结 1号 已修好", 1)]
PLACES = ["3号楼电梯坏了", "查3号楼", "查 5栋", "进度 2单元", "12号院门口", "查询3.5"]


@pytest.mark.parametrize(("text", "number"), NAMED)
def test_each_written_form_names_the_case(text, number):
    assert case_number_in(text) == number


@pytest.mark.parametrize("text", PLACES)
def test_a_building_door_or_decimal_is_not_a_case_number(text):
    assert case_number_in(text) is None


def test_a_bare_number_counts_only_when_asked():
    assert case_number_in("满意 12") is None
    assert case_number_in("满意 12", bare=True) == 12
    assert without_case_number("满意 #12 很及时").split() == ["满意", "很及时"]


@pytest.mark.parametrize("text", ["编号 12 怎么样了", "#12 现在到哪一步了"])
def test_the_classifier_reads_a_named_number_as_a_status_question(text):
    assert shipped_classifier().classify(text).intent is Intent.STATUS


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["#", "号", "编号", "单号", "工单", "案件", "楼", " ", "\n", "12", "٣", "查询", "电梯"])
                | st.text(max_size=3), max_size=8).map("".join))
def test_the_classifier_skips_case_number_regexes_only_where_neither_matches(text):
    if NAMED_FORM.search(text) or NUMBERED_FORM.search(text):
        assert may_name_a_case(text)
