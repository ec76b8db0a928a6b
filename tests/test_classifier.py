"""The classifier against the labelled table of resident messages, plus the behaviours others rely on."""

from __future__ import annotations

import csv
import os
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.understanding.classifier import Classifier, Intent, ReloadingClassifier, normalize
from bot.understanding.rules import RulesError, load_rules
from tests.test_rules import MINIMAL_RULES, SHIPPED

CASES = Path(__file__).resolve().parent / "data" / "classifier_cases.csv"
# Measured on the 590-row table: intent 96.6%, category 92.7%. Caveat: rows 1-526 (three batches) were used
# while writing config/rules.yaml, so they measure regressions, not generalisation. The last 64 rows were
# written afterwards and not tuned on: measured fresh, intent 75.0% and category 59.6% (intent 76.6% after one
# generic fuzzy-matching fix they prompted). Expect figures near those for phrasings nobody has seen yet.
INTENT_FLOOR = 0.94
CATEGORY_FLOOR = 0.90


@cache
def shipped_classifier() -> Classifier:
    """One classifier over the shipped rules for the whole module."""
    return Classifier(load_rules(SHIPPED))


@pytest.fixture
def classifier() -> Classifier:
    return shipped_classifier()


def load_cases() -> list[dict[str, str]]:
    with CASES.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_case_table_is_well_formed() -> None:
    rows = load_cases()
    rules = load_rules(SHIPPED)
    assert len(rows) >= 220
    assert {row["intent"] for row in rows} == {intent.value for intent in Intent}
    for row in rows:
        assert row["text"], row
        if row["category"]:
            assert rules.category(row["category"]) is not None, row
            assert row["intent"] in rules.category(row["category"]).kinds, row
        else:
            assert row["intent"] not in {"report", "wish", "appointment"} or row["text"].startswith("/"), row


def test_accuracy_on_case_table(classifier: Classifier) -> None:
    rows = load_cases()
    intent_right: Counter[str] = Counter()
    intent_total: Counter[str] = Counter()
    category_right = category_total = 0
    misses = []
    for row in rows:
        result = classifier.classify(row["text"])
        intent_total[row["intent"]] += 1
        intent_right[row["intent"]] += result.intent.value == row["intent"]
        if row["category"]:
            category_total += 1
            got = result.category.code if result.category else ""
            category_right += got == row["category"]
            if got != row["category"]:
                misses.append(f"  {row['text']!r}: want {row['category']}, got {got or '-'}")
    intent_accuracy = sum(intent_right.values()) / len(rows)
    category_accuracy = category_right / category_total
    print(f"\nclassifier on {len(rows)} messages: intent accuracy {intent_accuracy:.1%}, "
          f"category accuracy {category_accuracy:.1%} ({category_total} with a category)")
    for intent in sorted(intent_total):
        print(f"  {intent:<12} {intent_right[intent]}/{intent_total[intent]}")
    print("category misses:\n" + "\n".join(misses))
    assert intent_accuracy >= INTENT_FLOOR
    assert category_accuracy >= CATEGORY_FLOOR


@pytest.mark.parametrize(("text", "code"), [
    ("路等不亮", "street_light"),
    ("电题坏了", "lift"),
    ("听水", "water_supply"),
])
def test_homophone_typos_land(classifier: Classifier, text: str, code: str) -> None:
    result = classifier.classify(text)
    assert result.intent is Intent.REPORT
    assert result.category is not None and result.category.code == code


@pytest.mark.parametrize(("text", "code"), [
    ("路燈壞了", "street_light"),
    ("電梯停運了", "lift"),
    ("停電了，整棟樓都黑了", "power"),
])
def test_traditional_characters(classifier: Classifier, text: str, code: str) -> None:
    result = classifier.classify(text)
    assert result.intent is Intent.REPORT and result.category.code == code


def test_full_width_text_is_folded(classifier: Classifier) -> None:
    assert normalize("ＨＥＬＰ　／ｒｅｐｏｒｔ") == "help /report"
    assert classifier.classify("／ｒｅｐｏｒｔ 路灯坏了").intent is Intent.REPORT


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "灯", "好", "1", "?", "😀", "😂😂😂", "\x00"])
def test_empty_and_one_character_messages_match_nothing(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent is Intent.CHATTER
    assert result.category is None and result.keywords == () and result.candidates == ()


@pytest.mark.parametrize("text", ["电梯今天好干净啊", "楼下路灯真好看", "晚上一起去广场跳舞"])
def test_chatter_that_mentions_a_topic(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent is Intent.CHATTER or result.confidence < 0.6


def test_negative_keyword_vetoes(classifier: Classifier) -> None:
    # Both contain the street-light keyword 灯坏了; only the second also holds the negative 车灯.
    assert classifier.classify("路灯坏了").category.code == "street_light"
    result = classifier.classify("车灯坏了")
    assert all(match.category.code != "street_light" for match in result.candidates)
    assert classifier.categorize("车灯坏了", "report").category is None


def test_department_only_flags(classifier: Classifier) -> None:
    rules = classifier.rules
    for code in ("gas", "power", "food_safety", "illegal_construction", "social_security", "medical_insurance",
                 "household_registration", "water_supply", "heating", "public_security"):
        category = rules.category(code)
        assert category.department_only and category.department, code
    for code in ("street_light", "sanitation", "noise", "parking", "neighbour_dispute", "ebike_charging"):
        category = rules.category(code)
        assert not category.department_only and category.role == "grid_worker", code


@pytest.mark.parametrize(("text", "intent", "code"), [
    ("/report@gridbot 路灯坏了", Intent.REPORT, "street_light"),
    ("/report@gridbot路灯坏了", Intent.REPORT, "street_light"),
    ("/report 垃圾桶满了好几天", Intent.REPORT, "sanitation"),
    ("/book@gridbot 残疾证", Intent.APPOINTMENT, "disability"),
    ("/wish", Intent.WISH, None),
    ("/my@gridbot", Intent.STATUS, None),
    ("/my 123", Intent.STATUS, None),
    ("/help", Intent.HELP, None),
    ("/start@gridbot", Intent.HELP, None),
    ("/cancel", Intent.CANCEL, None),
    ("#随手拍 三号楼后面下水道堵了", Intent.REPORT, "drainage"),
    ("#微心愿 孩子需要一个新书包", Intent.WISH, "hardship_help"),
    ("＃预约 下周二想办医保", Intent.APPOINTMENT, "medical_insurance"),
])
def test_commands_and_hashtags(classifier: Classifier, text: str, intent: Intent, code: str | None) -> None:
    result = classifier.classify(text)
    assert result.intent is intent
    assert (result.category.code if result.category else None) == code


def test_unknown_command_gets_help(classifier: Classifier) -> None:
    assert classifier.classify("/weather 宝鸡").intent is Intent.HELP


def test_case_number_is_a_status_query(classifier: Classifier) -> None:
    assert classifier.classify("#123 进度咋样了").intent is Intent.STATUS
    assert classifier.classify("诉求编号45，麻烦查一下").intent is Intent.STATUS
    assert classifier.classify("5号楼路灯坏了").intent is Intent.REPORT


def test_categorize_restricts_to_kind(classifier: Classifier) -> None:
    report = classifier.categorize("路灯坏了", "report")
    assert report.intent is Intent.REPORT and report.category.code == "street_light"
    appointment = classifier.categorize("我想办医保", "appointment")
    assert appointment.intent is Intent.APPOINTMENT and appointment.category.code == "medical_insurance"
    # Street lights are not an appointment matter, so nothing of that kind matches.
    assert classifier.categorize("路灯坏了", "appointment").category is None
    with pytest.raises(ValueError):
        classifier.categorize("路灯坏了", "status")


def test_confidence_is_high_for_a_clear_match_and_low_for_a_tie(classifier: Classifier) -> None:
    clear = classifier.classify("电梯困人了！快来人")
    assert clear.category.code == "lift" and clear.confidence >= 0.8
    tie = classifier.classify("路灯和电梯都坏了")
    assert tie.confidence < 0.6
    assert {m.category.code for m in tie.candidates[:2]} == {"street_light", "lift"}
    assert len(tie.candidates) <= 3
    assert [m.score for m in tie.candidates] == sorted((m.score for m in tie.candidates), reverse=True)


def test_keywords_are_reported_as_written(classifier: Classifier) -> None:
    result = classifier.classify("小区门口自来水管爆了")
    assert "水管爆" in result.keywords
    data = result.as_dict()
    assert data["intent"] == "report"
    assert data["category"] == {"code": "water_supply", "name": "供水"}
    assert 0 <= data["confidence"] <= 1 and data["keywords"] == list(result.keywords)
    assert classifier.classify("今天天气真好").as_dict()["category"] is None


@pytest.mark.parametrize("text", [
    "路灯坏了" * 2500,
    "x" * 10_000,
    "\x00\x01路灯\x07坏了\u200b\ufeff\x1b[31m",
    "<script>alert('路灯坏了')</script><b>电梯</b>",
    "\ud800\udfff半个代理对",
    "🔦" * 5000,
    "/report@",
    "/" * 100,
    "#" * 100,
    "号" * 50 + "#1",
])
def test_hostile_input_does_not_raise(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert 0.0 <= result.confidence <= 1.0
    assert len(result.candidates) <= 3


def test_control_characters_and_html_are_stripped(classifier: Classifier) -> None:
    assert classifier.classify("\x00路灯\x07坏了\u200b").category.code == "street_light"
    assert classifier.classify("<b>路灯</b>坏了").category.code == "street_light"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_classifies(text: str) -> None:
    result = shipped_classifier().classify(text)
    assert 0.0 <= result.confidence <= 1.0
    assert result.intent in Intent



def test_reloading_classifier_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(MINIMAL_RULES, encoding="utf-8")
    reloading = ReloadingClassifier(path)
    first = reloading.current()
    assert reloading.current() is first  # unchanged file: no reload
    assert first.classify("燃气漏气了").category.code == "gas"
    assert first.classify("暖气不热").category is None

    bump_mtime(path, MINIMAL_RULES + HEATING)
    second = reloading.current()
    assert second is not first and reloading.last_error is None
    assert second.classify("暖气不热了").category.code == "heating"

    broken = MINIMAL_RULES + HEATING.replace("accept: 4", "accept: -4")
    bump_mtime(path, broken)
    assert reloading.current() is second
    assert reloading.last_error is not None
    assert f"{path}:" in reloading.last_error and "sla_hours.accept must be > 0" in reloading.last_error
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "accept: -4" in text)
    assert f":{line}:" in reloading.last_error
    assert reloading.current() is second  # the broken file is not re-read until it changes again

    bump_mtime(path, MINIMAL_RULES)
    assert reloading.current() is not second and reloading.last_error is None


def test_reloading_classifier_refuses_a_broken_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("intents: [", encoding="utf-8")
    with pytest.raises(RulesError):
        ReloadingClassifier(path)


HEATING = """\
  - code: heating
    name: 供暖
    kinds: [report]
    department: 热力
    department_only: true
    sla_hours: {accept: 4, resolve: 48}
    keywords: [暖气: 1.5, 暖气不热: 3]
"""


def bump_mtime(path: Path, text: str) -> None:
    """Rewrites a file and moves its mtime a second on, so the change is seen without sleeping."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    later = before + 1_000_000_000
    os.utime(path, ns=(later, later))


LONG_COMPLAINT = ("我们小区东门外的化工厂每天夜里偷偷排放废气，味道非常刺鼻。小区里住着很多老人和孩子，孩子每天上学放学"
                  "都要从厂门口经过，学校的老师也说班上好几个学生咳嗽，家长们都很担心。我们找过物业，也找过社区，"
                  "大家都说不归他们管。已经反映了好几次，一直没有下文。")


@pytest.mark.parametrize("greeting", ["您好，", "领导您好！", "尊敬的领导，你好。"])
def test_greetings_and_sign_offs_never_decide_a_long_complaint(classifier: Classifier, greeting: str) -> None:
    result = classifier.classify(greeting + LONG_COMPLAINT + "望领导重视，谢谢！")
    assert result.intent is Intent.REPORT
    assert result.category.code == "industrial_pollution"
    assert classifier.classify("您好").intent is Intent.HELP  # a bare greeting is still a greeting


def test_a_long_text_follows_its_first_sentence_not_its_many_passing_mentions(classifier: Classifier) -> None:
    result = classifier.categorize(LONG_COMPLAINT, "report")
    assert result.category.code == "industrial_pollution"
    assert "school_affairs" not in {m.category.code for m in result.candidates[:1]}


def test_scores_saturate_instead_of_growing_with_length(classifier: Classifier) -> None:
    once = classifier.categorize("路灯不亮，楼道灯也坏了，庭院灯一闪一闪的", "report").candidates[0].score
    many = classifier.categorize("路灯不亮，楼道灯也坏了，庭院灯一闪一闪的，" * 20, "report").candidates[0].score
    assert many <= once * 1.6


def test_placement_is_automatic_only_with_a_clear_lead(classifier: Classifier) -> None:
    from bot.understanding.decision import placement

    clear = placement(classifier.classify("电梯困人了！快来人"), min_margin=0.3)
    assert clear.automatic and clear.category.code == "lift"
    tie = placement(classifier.classify("路灯和电梯都坏了"), min_margin=0.3)
    assert not tie.automatic and tie.category is None
    assert {c.code for c in tie.suggestions[:2]} == {"street_light", "lift"} and len(tie.suggestions) <= 3


def test_every_category_belongs_to_one_first_level_class(classifier: Classifier) -> None:
    classes = {"城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "卫生计生", "商贸旅游", "政法/公共安全"}
    rules = classifier.rules
    assert set(rules.taxonomy.values()) == classes
    assert {c.code for c in rules.categories} == set(rules.taxonomy)
