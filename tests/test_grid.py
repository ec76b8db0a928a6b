"""GridDirectory: lookups, ancestry, and placing messages by building, compound, group and home."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.grid.directory import (
    GROUP,
    HOME,
    TEXT_BUILDING,
    TEXT_COMPOUND,
    GridDirectory,
    UnitRef,
    building_mention,
    chinese_number,
)
from bot.grid.district import load_district, read_district
from models import UnitLevel

DEMO = Path(__file__).resolve().parents[1] / "config" / "district" / "demo.yaml"


def demo_directory() -> GridDirectory:
    """The demo district with ids given in file order, without a database."""
    spec = read_district(DEMO)
    refs: dict[str, UnitRef] = {}
    for unit_id, unit in enumerate(spec.units, start=1):
        parent = refs[unit.parent] if unit.parent else None
        assert unit.level is not None
        refs[unit.code] = UnitRef(unit_id, unit.code, unit.name, unit.level, parent.id if parent else None,
                                  f"{parent.path if parent else '/'}{unit_id}/", unit.aliases)
    return GridDirectory(refs.values())


@pytest.fixture(scope="module")
def grid() -> GridDirectory:
    return demo_directory()


def at(directory: GridDirectory, code: str) -> UnitRef:
    unit = directory.by_code(code)
    assert unit is not None, code
    return unit


def placed(directory: GridDirectory, text: str, *, group: str | None = None, home: str | None = None):
    location = directory.locate(text, group_unit=at(directory, group) if group else None,
                                home_unit=at(directory, home) if home else None)
    return None if location is None else (location.unit.code, location.source, location.matched)


# --- loading and lookups ---------------------------------------------------------------------------------


async def test_loads_the_same_tree_from_either_backend(sessions):
    async with sessions.begin() as session:
        await load_district(session, DEMO, now=datetime(2026, 11, 30, tzinfo=UTC))
    async with sessions() as session:
        loaded = await GridDirectory.load(session)

    expected = demo_directory()
    assert len(loaded) == len(expected) == 139
    building = at(loaded, "JT-TTC-01-B03")
    assert [u.code for u in loaded.ancestors(building)] == [
        "610302", "JT", "JT-TTC", "JT-TTC-01", "JT-TTC-01-B03"]
    assert building.path == "".join(f"{u.id}/" for u in loaded.ancestors(building)).join(["/", ""])
    assert at(loaded, "JT-TTC-01").aliases == ("铁塔厂", "老铁塔", "铁塔厂小区")
    assert placed(loaded, "3号楼路灯坏了", group="JT-TTC-01") == ("JT-TTC-01-B03", TEXT_BUILDING, "3号楼")


@pytest.mark.parametrize("ref, code", [
    ("JT-TTC-01", "JT-TTC-01"), ("jt-ttc-01", "JT-TTC-01"), ("610302", "610302"),
    ("铁塔厂家属院", "JT-TTC-01"), ("老铁塔", "JT-TTC-01"), (" 铁塔厂 ", "JT-TTC-01"),
    ("市铁塔厂社区", "JT-TTC"), ("铁塔厂社区", "JT-TTC"), ("姜谭街道", "JT"), ("八鱼镇", "BY"), ("渭滨区", "610302"),
])
def test_resolve_by_code_name_or_alias(grid, ref, code):
    assert grid.resolve(ref) == at(grid, code)


@pytest.mark.parametrize("ref", ["1号楼", "不存在的小区", "", "JT-NOPE"])
def test_resolve_refuses_unknown_or_ambiguous(grid, ref):
    assert grid.resolve(ref) is None


def test_ancestry_and_children(grid):
    household = at(grid, "JT-TTC-01-B03-H1")
    street = at(grid, "JT")

    assert grid.ancestor_at(household, UnitLevel.GRID) == at(grid, "JT-TTC-01")
    assert grid.ancestor_at(household, UnitLevel.HOUSEHOLD) == household
    assert grid.ancestor_at(street, UnitLevel.GRID) is None
    assert street.contains(household) and street.contains(street)
    assert not at(grid, "QN").contains(household)
    assert [u.code for u in grid.children(at(grid, "JT-TTC"))] == ["JT-TTC-01", "JT-TTC-02"]
    assert [u.name for u in grid.children(at(grid, "JT-WX-02"))] == ["1号楼", "2号楼", "3号楼"]
    assert grid.find_building(at(grid, "JT-TTC-01"), 8) == at(grid, "JT-TTC-01-B08")
    assert grid.find_building(at(grid, "JT-TTC-01"), 9) is None


# --- building mentions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("word, number", [
    ("一", 1), ("九", 9), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("九十九", 99),
    ("一百", None), ("十十", None), ("二二", None), ("", None), ("三十四五", None),
])
def test_chinese_numbers(word, number):
    assert chinese_number(word) == number


@pytest.mark.parametrize("text, words", [
    ("3号楼门口路灯坏了", "3号楼"), ("3栋楼道灯不亮", "3栋"), ("3幢漏水", "3幢"), ("三号楼门口", "三号楼"),
    ("3号楼2单元门口", "3号楼"), ("3#楼电梯", "3#楼"), ("3号栋", "3号栋"), ("住3-2-301，楼上漏水", "3-2-301"),
    ("３号楼", "3号楼"), ("3 号楼", "3号楼"),
])
def test_building_forms_in_a_grid_group(grid, text, words):
    assert placed(grid, text, group="JT-TTC-01") == ("JT-TTC-01-B03", TEXT_BUILDING, words)


def test_two_digit_and_chinese_numbers(grid):
    assert placed(grid, "十二号楼的电梯坏了", group="JT-QINJ-01")[:2] == ("JT-QINJ-01-B12", TEXT_BUILDING)
    assert placed(grid, "12栋的电梯坏了", group="JT-QINJ-01")[:2] == ("JT-QINJ-01-B12", TEXT_BUILDING)


@pytest.mark.parametrize("text", [
    "2单元门口堆满了杂物",  # an entrance, in some building we cannot tell
    "3楼的邻居装修太吵",  # a floor
    "3号那天停水了",  # a date
    "三栋楼都停电了",  # counting buildings
    "2024-11-30停水",  # a date, not building-entrance-room
])
def test_words_that_are_not_building_numbers(grid, text):
    assert placed(grid, text, group="JT-TTC-01") == ("JT-TTC-01", GROUP, "")


def test_building_mention_reads_the_first_building():
    assert building_mention("3号楼和5号楼之间的路灯") == (3, "3号楼")
    assert building_mention("门口路灯") is None


def test_a_building_the_grid_does_not_have_falls_back_to_the_grid(grid):
    assert placed(grid, "12号楼门口路灯坏了", group="JT-TTC-01") == ("JT-TTC-01", GROUP, "")
    assert placed(grid, "秦机小区20号楼漏水") == ("JT-QINJ-01", TEXT_COMPOUND, "秦机小区")


# --- compounds -------------------------------------------------------------------------------------------


def test_a_compound_named_in_the_text_places_its_building(grid):
    assert placed(grid, "老铁塔3号楼楼道漏水", group="QN-SBH-01") == ("JT-TTC-01-B03", TEXT_BUILDING, "老铁塔 3号楼")
    assert placed(grid, "发电厂生活区5号楼有人飞线充电") == ("JT-FDC-01-B05", TEXT_BUILDING, "发电厂生活区 5号楼")


def test_the_longest_name_wins(grid):
    assert placed(grid, "铁塔厂新村3号楼漏水")[:2] == ("JT-TTC-02-B03", TEXT_BUILDING)
    assert placed(grid, "秦机东区门口垃圾没人收", group="JT-QINJ-01") == ("JT-QINJ-02", TEXT_COMPOUND, "秦机东区")


def test_a_compound_named_without_a_building(grid):
    assert placed(grid, "铁塔厂家属院门口垃圾好几天没人收", group="JT-QINJ-01") == (
        "JT-TTC-01", TEXT_COMPOUND, "铁塔厂家属院")


@pytest.mark.parametrize("text, code, source, matched", [
    ("铁塔场家属院门口路灯坏了", "JT-TTC-01", TEXT_COMPOUND, "铁塔场家属院"),  # 场 for 厂
    ("铁塔场家属院3号楼门口", "JT-TTC-01-B03", TEXT_BUILDING, "铁塔场家属院 3号楼"),
    ("秦川机床家属院停水了", "JT-QINJ-01", TEXT_COMPOUND, "秦川机床家属院"),  # 厂 dropped from an alias
    ("卫校教师公遇门口", "JT-WX-02", TEXT_COMPOUND, "卫校教师公"),  # beats the exact alias 卫校 inside it
    ("铁塔厂新材3号楼", "JT-TTC-02-B03", TEXT_BUILDING, "铁塔厂新 3号楼"),
])
def test_compound_with_a_typo_matches_fuzzily(grid, text, code, source, matched):
    assert placed(grid, text, group="JT-FDC-01") == (code, source, matched)


def test_fuzzy_matching_stays_within_the_groups_street(grid):
    # 铁塔场家属院 is in 姜谭街道; a group in 桥南街道 does not reach it by a guess, a private chat does.
    assert placed(grid, "铁塔场家属院门口路灯坏了", group="QN-SBH-01") == ("QN-SBH-01", GROUP, "")
    assert placed(grid, "铁塔场家属院门口路灯坏了")[:2] == ("JT-TTC-01", TEXT_COMPOUND)


@pytest.mark.parametrize("text", [
    "大家早上好，今天降温了多穿点", "谁家的快递放错到我家门口了？顺丰的", "今天小区里的花开得真好",
    "晚上一起去广场跳舞吧", "家属院门口新开了一家面馆", "发电站那边在修路", "有没有人下午去医院", "好的，谢谢",
    "小区", "楼下超市打折", "卫生院几点开门", "铁路桥那边堵车了", "新村口的早餐不错",
])
def test_chatter_stays_with_the_group(grid, text):
    assert placed(grid, text, group="JT-TTC-01") == ("JT-TTC-01", GROUP, "")
    assert placed(grid, text) is None


def test_match_compound_alone(grid):
    assert grid.match_compound("去 卫校 家属院 看看") == (at(grid, "JT-WX-01"), "卫校家属院")
    assert grid.match_compound("没有地名的话") is None


# --- groups above a grid, homes, nothing ---------------------------------------------------------------


def test_community_group_places_buildings_only_with_a_compound(grid):
    assert placed(grid, "3号楼路灯坏了", group="JT-TTC") == ("JT-TTC", GROUP, "")
    assert placed(grid, "铁塔厂家属院3号楼路灯坏了", group="JT-TTC")[:2] == ("JT-TTC-01-B03", TEXT_BUILDING)


def test_home_is_the_last_resort(grid):
    assert placed(grid, "路灯坏了好几天了", home="JT-TTC-01-B03") == ("JT-TTC-01-B03", HOME, "")
    assert placed(grid, "路灯坏了好几天了", group="JT-FDC-01", home="JT-TTC-01-B03") == ("JT-FDC-01", GROUP, "")


def test_private_chat_building_number_is_read_in_the_home_grid(grid):
    assert placed(grid, "5号楼路灯坏了", home="JT-TTC-01-B03") == ("JT-TTC-01-B05", TEXT_BUILDING, "5号楼")
    assert placed(grid, "15号楼路灯坏了", home="JT-TTC-01-B03") == ("JT-TTC-01-B03", HOME, "")


def test_nothing_known_places_nothing(grid):
    assert placed(grid, "路灯坏了") is None
    assert placed(grid, "3号楼路灯坏了") is None
    assert placed(grid, "") is None
