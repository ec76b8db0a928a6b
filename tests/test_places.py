"""Issue 11, places: roads, intersections, landmarks, street names, a home registered in chat, a missing building."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.grid.directory import GridDirectory
from bot.grid.district import DistrictError, read_district
from models import Resident, UnitLevel
from tests.harness import Harness


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


def unit_code(bot: Harness, unit_id: int) -> str:
    return bot.services.directory.unit(unit_id).code


ROADS = [
    ("经二路路灯坏了", "红旗路社区经二路", "JEL-HQL"),  # the road runs through one community
    ("姜谭路和清姜路十字路口井盖没了", "姜谭街道姜谭路与清姜路交叉口", "JT"),  # two streets: the first road's
    ("清姜路与姜谭路交叉口井盖没了", "清姜街道清姜路与姜谭路交叉口", "QJ"),
    ("秦川大道上的路灯坏了", "秦机社区秦川路", "JT-QINJ"),  # 秦川路 with another road suffix
    ("姜谭广场的路灯坏了好几天", "姜谭街道姜谭公园", "JT"),  # a landmark's alias
    ("石坝河游园里路灯不亮", "石坝河社区石坝河游园", "QN-SBH"),  # the park, not the compound 石坝河
    ("姜谭街道路灯坏了", "姜谭街道", "JT"),  # the street, not a road 姜谭街
]


async def test_roads_intersections_and_landmarks_are_places(bot):
    for n, (text, place, unit) in enumerate(ROADS):
        answer = await bot.resident(f"新来的{n}", f"#随手拍 {text}")
        assert f"地点：{place}" in answer, answer
        await bot.resident(f"新来的{n}", "确认")
        case = await bot.latest_case()
        assert case.place == place and unit_code(bot, case.unit_id) == unit, text
        assert bool(case.extras.get("spot")) is (place != "姜谭街道")
    # A road through several communities lands in the resident's own, else at its street.
    answer = await bot.resident("R001", "#随手拍 姜谭路上路灯坏了")  # R001 lives in 市铁塔厂社区
    assert "地点：市铁塔厂社区姜谭路" in answer
    answer = await bot.resident("R002", "#随手拍 姜谭路上路灯坏了")  # R002 in 市发电厂社区
    assert "地点：市发电厂社区姜谭路" in answer
    answer = await bot.resident("新来的", "#随手拍 姜谭路上路灯坏了")  # no home: the street
    assert "地点：姜谭街道姜谭路" in answer
    assert any("姜谭路与清姜路交叉口" in n.text for n in await bot.outbox())  # whoever has it hears where
    async with bot.services.sessions() as session:
        directory = await GridDirectory.load(session)
    names = {p.name for p in directory.places.places.values()}  # the demo district file's roads and landmarks
    assert {"姜谭路", "经二路", "清姜路", "姜谭公园", "石坝河游园"} <= names
    assert all(directory.unit(p.unit_id).level in (UnitLevel.STREET, UnitLevel.COMMUNITY)
               for p in directory.places.places.values())


async def test_the_place_question_takes_roads_home_words_and_refuses_the_district(bot):
    assert "请问是在哪个小区" in await bot.resident("新来的", "#随手拍 路灯坏了")
    answer = await bot.resident("新来的", "渭滨区")
    assert "范围太大" in answer
    answer = await bot.resident("新来的", "就在我家门口")
    assert "还没有登记住址" in answer and "我家住" in answer
    answer = await bot.resident("新来的", "经九路口")
    assert "没有找到「经九路」" in answer
    answer = await bot.resident("新来的", "姜谭路和清姜路十字路口")
    assert "地点：姜谭街道姜谭路与清姜路交叉口" in answer
    # A registered home answers 就在我家门口.
    assert "请问是在哪个小区" not in await bot.resident("R007", "#随手拍 路灯坏了")  # home 铁塔厂家属院
    await bot.resident("R007", "取消")
    await bot.resident("新来的2", "#随手拍 路灯坏了")
    await bot.resident("新来的2", "我家住秦机小区5号楼")  # the answer to "where": the draft takes it
    assert (await bot.resident("新来的2", "确认")).startswith("已受理")
    assert (await bot.latest_case()).place == "秦机小区5号楼"
    # Street names are one rule in groups and private chats.
    private = await bot.resident("新来的5", "#随手拍 姜谭街道这边路灯坏了")
    grouped = await bot.resident("邻居", "#随手拍 姜谭街道这边路灯坏了", group="JT")
    assert "地点：姜谭街道" in private and "地点：姜谭街道" in grouped
    assert "地点：秦机社区" in await bot.resident("新来的3", "#随手拍 秦机社区门口路灯坏了")  # not the compound 秦机
    assert "范围太大" in await bot.resident("新来的4", "#随手拍 渭滨区路灯坏了")


async def test_a_building_the_compound_lacks_is_asked_about(bot):
    answer = await bot.resident("老张", "#随手拍 12号楼楼道灯坏了", group="JT-TTC-01")  # 8 buildings
    assert "铁塔厂家属院没有12号楼" in answer and "1–8号楼" in answer and "确认" in answer
    assert "没有9号楼" in await bot.resident("老张", "9号楼", group="JT-TTC-01")
    answer = await bot.resident("老张", "2号楼", group="JT-TTC-01")
    assert "地点：铁塔厂家属院2号楼" in answer
    await bot.resident("老张", "确认", group="JT-TTC-01")
    assert unit_code(bot, (await bot.latest_case()).unit_id) == "JT-TTC-01-B02"
    await bot.resident("老王", "#随手拍 12号楼楼道灯坏了", group="JT-TTC-01")
    assert "地点：铁塔厂家属院\n" in await bot.resident("老王", "确认", group="JT-TTC-01")  # the whole compound
    assert (await bot.resident("老王", "确认", group="JT-TTC-01")).startswith("已受理")
    # In a community's group a bare building number names no compound: ask which.
    answer = await bot.resident("小李", "#随手拍 7号楼门口垃圾没人清", group="JT-QINJ")
    assert "哪个小区的7号楼" in answer
    assert "地点：秦机东区7号楼" in await bot.resident("小李", "秦机东区", group="JT-QINJ")
    # An emergency is never held up by the question: it is filed at the compound at once.
    answer = await bot.resident("老赵", "#随手拍 12号楼电梯里困了人出不来", group="JT-TTC-01")
    assert "96333" in answer and "已受理" in answer
    assert unit_code(bot, (await bot.latest_case()).unit_id) == "JT-TTC-01"


async def test_a_resident_registers_and_changes_their_home_in_chat(bot):
    answer = await bot.resident("新来的", "我家住秦机小区5号楼")
    assert "登记为「秦机小区5号楼」" in answer and "确认" in answer
    assert "已保存您的住址：秦机小区5号楼" in await bot.resident("新来的", "确认")
    answer = await bot.resident("新来的", "#随手拍 就在我家门口路灯坏了")
    assert "地点：秦机小区5号楼" in answer
    await bot.resident("新来的", "取消")
    assert "请告诉我您的住址" in await bot.resident("新来的", "改一下我家地址")
    assert "没有12号楼" in await bot.resident("新来的", "铁塔厂家属院12号楼")
    answer = await bot.resident("新来的", "铁塔新村2号楼")
    assert "由「秦机小区5号楼」改为「铁塔新村2号楼」" in answer
    await bot.resident("新来的", "确认")
    for form in ["我住在电厂南苑3号楼", "我家是宝烟家属院1号楼", "我的住址是卫校家属楼2号楼"]:
        assert "确认" in await bot.resident("别人", form), form
        await bot.resident("别人", "取消")
    assert "没有找到" in await bot.resident("别人", "我家住经二路街道")  # a street is not a home
    await bot.resident("别人", "取消")
    async with bot.services.sessions() as session:
        home_id = await session.scalar(select(Resident.home_unit_id).where(Resident.display_name == "新来的"))
    assert unit_code(bot, home_id) == "JT-TTC-02-B02"
    # In a compound's group a bare building is in that compound; words that place nothing there are chatter.
    assert "登记为「铁塔厂家属院3号楼」" in await bot.resident("邻居", "我家住3号楼", group="JT-TTC-01")
    assert await bot.resident("老邻居", "我住在这个小区十年了", group="JT-TTC-01") == ""
    # A comma ends the form: this is a report, placed at the home.
    assert "类别：电梯" in await bot.resident("新来的", "我家在3号楼，电梯坏了")


def test_the_district_file_checks_its_roads_and_landmarks(tmp_path):
    path = tmp_path / "district.yaml"
    path.write_text("""district:
  code: D
  name: 某区
  children:
    - code: S
      name: 某街道
      roads: [长青路, {name: 长青路}, {name: 西关路, communities: [S-C, X]}, {name: 东关路, color: red}]
      children:
        - {code: S-C, name: 某社区, roads: [北关路], landmarks: [{name: 人民广场, aliases: [广]}]}
""", encoding="utf-8")
    with pytest.raises(DistrictError) as caught:
        read_district(path)
    problems = "\n".join(caught.value.problems)
    assert "district.yaml:7: road '长青路': named twice" in problems
    assert "'X' is not a community of 'S'" in problems
    assert "unknown" in problems and "color" in problems
    assert "district.yaml:9: road '北关路': roads belong on a street, not a community" in problems
    assert "alias '广' is shorter than two characters" in problems


async def test_a_report_typed_while_a_home_awaits_its_yes_is_taken_in_and_the_home_left_unsaved(bot):
    assert "登记为「秦机小区5号楼」" in await bot.resident("小周", "我家住秦机小区5号楼")
    answer = await bot.resident("小周", "楼道灯不亮了 黑咕隆咚的")  # not a place: a report
    assert "住址还没保存，已先放下" in answer and "哪个小区" in answer, answer
    assert "没有找到「楼道灯不亮了" not in answer
    answer = await bot.resident("小周", "秦机小区5号楼")
    assert "请确认您的问题" in answer and "秦机小区5号楼" in answer, answer
    async with bot.services.sessions() as session:
        assert await session.scalar(select(Resident.home_unit_id).where(Resident.display_name == "小周")) is None
    assert "请告诉我您的住址" in await bot.resident("小王", "改一下我家地址")
    answer = await bot.resident("小王", "我想预约办理残疾证")  # a booking asked where the home is asked for
    assert "已先放下" in answer and "残疾人服务" in answer, answer
