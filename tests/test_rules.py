"""The rules file: the shipped rules are complete, and every kind of mistake is reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.rules import CASE_KINDS, STAFF_ROLES, RulesError, load_rules

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "rules.yaml"

# A small valid rules file; tests break one line of it at a time.
MINIMAL_RULES = """\
version: 1
intents:
  report: {commands: [/report], hashtags: ["#随手拍"], keywords: [坏了: 1.5, 不亮: 1.5]}
  wish: {commands: [/wish], hashtags: ["#微心愿"], keywords: [希望: 1.5]}
  appointment: {commands: [/book], keywords: [预约: 3]}
  status: {commands: [/my], keywords: [进度: 2.5]}
  rating: {keywords: [满意: 3]}
  help: {commands: [/help, /start], keywords: [帮助: 3]}
  cancel: {commands: [/cancel], keywords: [取消: 3]}
categories:
  - code: street_light
    name: 路灯照明
    kinds: [report]
    role: grid_worker
    department_only: false
    sla_hours: {accept: 4, resolve: 48}
    keywords: [路灯, 灯不亮: 2.5]
    negative: [车灯]
  - code: gas
    name: 燃气
    kinds: [report]
    department: 燃气
    department_only: true
    sla_hours: {accept: 1, resolve: 12}
    keywords: [燃气: 1.5, 漏气: 3]
"""


def write_rules(tmp_path: Path, text: str) -> Path:
    """Writes a rules file and returns its path."""
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_number(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing a fragment."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[occurrence - 1]


def expect_error(tmp_path: Path, text: str, line: int, *phrases: str) -> str:
    """Loads a broken file and checks the error names the file, the line and the phrases."""
    path = write_rules(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert f"{path}:{line}:" in message, message
    assert path.name in message
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_shipped_rules_are_complete() -> None:
    rules = load_rules(SHIPPED)
    assert len(rules.categories) >= 30
    assert set(rules.intents) >= {"report", "wish", "appointment", "status", "rating", "help", "cancel"}
    codes = [c.code for c in rules.categories]
    assert len(codes) == len(set(codes))
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for category in rules.categories:
        assert category.role or category.department, category.code
        assert category.role is None or category.role in STAFF_ROLES
        assert category.kinds and category.kinds <= CASE_KINDS
        assert 0 < category.sla_accept_hours <= category.sla_resolve_hours
        assert len(category.keywords) >= 5 and all(k.weight > 0 for k in category.keywords)
        assert not category.department_only or category.department
        assert lines[category.line - 1].strip() == f"- code: {category.code}"
        assert rules.category(category.code) is category
    assert rules.category("no_such_code") is None


def test_shipped_commands_and_hashtags() -> None:
    rules = load_rules(SHIPPED)
    assert rules.intents["report"].commands == ("/report",) and "#随手拍" in rules.intents["report"].hashtags
    assert "#微心愿" in rules.intents["wish"].hashtags
    assert "/book" in rules.intents["appointment"].commands and "#预约" in rules.intents["appointment"].hashtags
    assert rules.intents["status"].commands == ("/my",)
    assert set(rules.intents["help"].commands) == {"/help", "/start"}
    assert rules.intents["cancel"].commands == ("/cancel",)


def test_minimal_rules_load(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, MINIMAL_RULES))
    light, gas = rules.categories
    assert light.line == line_number(MINIMAL_RULES, "code: street_light")
    assert light.keywords[1].word == "灯不亮" and light.keywords[1].weight == 2.5
    assert light.keywords[0].weight == 1.0 and light.negative == ("车灯",)
    assert not light.department_only and light.department is None and light.role == "grid_worker"
    assert gas.department_only and gas.department == "燃气" and gas.role is None
    assert (gas.sla_accept_hours, gas.sla_resolve_hours) == (1.0, 12.0)


def test_malformed_yaml(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("    name: 路灯照明", "    name: 路灯: 照明")
    expect_error(tmp_path, text, line_number(text, "路灯: 照明"), "malformed YAML")


def test_unclosed_bracket_is_malformed(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("[路灯, 灯不亮: 2.5]", "[路灯, 灯不亮: 2.5")
    path = write_rules(tmp_path, text)
    with pytest.raises(RulesError, match="malformed YAML") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


def test_unknown_role(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("role: grid_worker", "role: janitor")
    expect_error(tmp_path, text, line_number(text, "role: janitor"), "category 'street_light'", "unknown role 'janitor'")


def test_duplicate_category_code(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("code: gas", "code: street_light")
    second = line_number(text, "code: street_light", occurrence=2)
    expect_error(tmp_path, text, second, "category 'street_light'", "already used", f"line {second - 8}")


def test_missing_keywords(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("    keywords: [燃气: 1.5, 漏气: 3]\n", "")
    expect_error(tmp_path, text, line_number(text, "code: gas"), "category 'gas'", "missing 'keywords'")


def test_empty_keywords(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("keywords: [燃气: 1.5, 漏气: 3]", "keywords: []")
    expect_error(tmp_path, text, line_number(text, "keywords: []"), "category 'gas'", "must not be empty")


def test_negative_sla(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("{accept: 4, resolve: 48}", "{accept: -4, resolve: 48}")
    expect_error(tmp_path, text, line_number(text, "accept: -4"), "category 'street_light': sla_hours.accept must be > 0")


def test_resolve_before_accept(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("{accept: 1, resolve: 12}", "{accept: 24, resolve: 12}")
    expect_error(tmp_path, text, line_number(text, "accept: 24"), "sla_hours.resolve must not be shorter")


def test_zero_keyword_weight(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("漏气: 3", "漏气: 0")
    expect_error(tmp_path, text, line_number(text, "漏气: 0"), "weight of keyword '漏气' must be > 0")


def test_department_only_needs_department(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("    department_only: false", "    department_only: true")
    expect_error(tmp_path, text, line_number(text, "department_only: true"), "department_only needs a department")


def test_no_role_nor_department(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("    role: grid_worker\n", "")
    expect_error(tmp_path, text, line_number(text, "code: street_light"), "needs a responsible role or department")


def test_unknown_field_is_a_typo(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("    negative: [车灯]", "    negatives: [车灯]")
    expect_error(tmp_path, text, line_number(text, "negatives:"), "unknown field 'negatives'")


def test_unknown_kind(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("kinds: [report]\n    department", "kinds: [complaint]\n    department")
    expect_error(tmp_path, text, line_number(text, "[complaint]"), "unknown kind 'complaint'")


def test_duplicate_keyword(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("[燃气: 1.5, 漏气: 3]", "[燃气: 1.5, 漏气: 3, 燃气]")
    expect_error(tmp_path, text, line_number(text, "漏气: 3, 燃气"), "keyword '燃气' listed twice")


def test_missing_intent(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("  cancel: {commands: [/cancel], keywords: [取消: 3]}\n", "")
    expect_error(tmp_path, text, line_number(text, "intents:"), "missing cancel")


def test_command_owned_twice(tmp_path: Path) -> None:
    text = MINIMAL_RULES.replace("commands: [/cancel]", "commands: [/report]")
    expect_error(tmp_path, text, line_number(text, "cancel:"), "already belongs to intent 'report'")


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    expect_error(tmp_path, "", 1, "empty")
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_taxonomy_and_courtesy_are_read_and_checked(tmp_path: Path) -> None:
    text = MINIMAL_RULES + "courtesy: [您好, 谢谢]\ntaxonomy:\n  城乡建设: [street_light, gas]\n"
    rules = load_rules(write_rules(tmp_path, text))
    assert rules.courtesy == ("您好", "谢谢") and rules.taxonomy == {"street_light": "城乡建设", "gas": "城乡建设"}
    unknown = MINIMAL_RULES + "taxonomy:\n  城乡建设: [street_light, water]\n"
    expect_error(tmp_path, unknown, line_number(unknown, "城乡建设"), "unknown category 'water'")
    twice = MINIMAL_RULES + "taxonomy:\n  城乡建设: [street_light]\n  环境保护: [street_light]\n"
    expect_error(tmp_path, twice, line_number(twice, "环境保护"), "already belongs")


def test_rating_grades_are_one_list_for_grading_and_for_cues(tmp_path):
    from models import Rating

    rules = load_rules(SHIPPED)
    assert rules.grade_in("不满意 3 又坏了") is Rating.DISSATISFIED and rules.grade_in("还行吧") is Rating.BASICALLY_SATISFIED
    cues = {k.word: k.weight for k in rules.intents["rating"].keywords}
    assert cues["满意"] == 3 and "还行" not in cues  # a bare grade word grades only
    graded = MINIMAL_RULES.replace("rating: {keywords: [满意: 3]}", "rating: {grades: {dissatisfied: [不满意: 3], "
                                   "basically_satisfied: [还行], satisfied: [满意: 3]}}")
    assert load_rules(write_rules(tmp_path, graded)).grade_in("还行") is Rating.BASICALLY_SATISFIED
    assert load_rules(write_rules(tmp_path, MINIMAL_RULES)).grade_in("基本满意") is Rating.BASICALLY_SATISFIED  # labels
    broken = graded.replace("basically_satisfied: [还行], ", "")
    expect_error(tmp_path, broken, line_number(broken, "rating:"), "grades must name each of")
    twice = graded.replace("rating: {grades:", "rating: {keywords: [满意: 2], grades:")
    expect_error(tmp_path, twice, line_number(twice, "rating:"), "listed twice")


def test_offers_word_lists_are_read_and_checked(tmp_path: Path) -> None:
    text = MINIMAL_RULES + "offers:\n  shared_things: [电梯, 井盖]\n  hearsay: [听说]\n"
    assert load_rules(write_rules(tmp_path, text)).offers == {"shared_things": ("电梯", "井盖"), "hearsay": ("听说",)}
    typo = MINIMAL_RULES + "offers:\n  shared_thing: [电梯]\n"
    expect_error(tmp_path, typo, line_number(typo, "shared_thing:"), "unknown field 'shared_thing'")
    twice = MINIMAL_RULES + "offers:\n  hearsay: [听说, 听说]\n"
    expect_error(tmp_path, twice, line_number(twice, "hearsay:"), "listed twice")
    wrongs = MINIMAL_RULES + "offers:\n  wrong_categories: [gas]\n"
    assert load_rules(write_rules(tmp_path, wrongs)).offers == {"wrong_categories": ("gas",)}
    unknown = MINIMAL_RULES + "offers:\n  wrong_categories: [street_lamp]\n"
    expect_error(tmp_path, unknown, line_number(unknown, "wrong_categories:"), "unknown category 'street_lamp'")
