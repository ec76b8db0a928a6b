"""Rules mined from labelled history (both encodings), checked, merged, and used by classify --rules."""

from __future__ import annotations

import csv
import json
import random

import pytest

from tests.test_cli import run
from tests.test_rules import SHIPPED

# Tiny labelled history: three handling departments, each with its own matters; words shared on purpose.
MATTERS = {
    "城管局": ["马路边流动摊贩占道经营", "楼顶私自加盖违章建筑", "夜市烧烤摊油烟扰民", "人行道被商户乱堆货物"],
    "人社局": ["公司拖欠工资不给发", "老板不签劳动合同也不交社保", "被无故辞退没有经济补偿", "加班不给加班费"],
    "教育局": ["孩子入学被划到很远的学校", "老师搞有偿补课", "学校强制购买教辅资料", "课后服务强制收费"],
}
FILLERS = ["", "您好，", "我要投诉，", "领导您好，我是附近居民，"]
ENDINGS = ["", "希望尽快处理。", "请相关部门核实。谢谢！", "已经反映多次了，望领导重视。"]


def history_rows(seed: int = 5, per_matter: int = 6) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(f"{rng.choice(FILLERS)}{matter}，{rng.choice(ENDINGS)}", label)
            for label, matters in MATTERS.items() for matter in matters for _ in range(per_matter)]


def write_history(path, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(history_rows())


def test_suggest_mines_readable_rules_from_a_gbk_csv(tmp_path):
    history, out = tmp_path / "history.csv", tmp_path / "mined.yaml"
    write_history(history, "gbk")
    result = run("rules", "suggest", "--from", str(history), "--out", str(out), "--per-category", "10")
    assert result.returncode == 0, result.stderr
    assert "gb18030" in result.stdout and "准确率" in result.stdout and "宏平均F1" in result.stdout
    assert "精确率≥90%" in result.stdout and "领先幅度阈值" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert "department: 人社局" in text and "name: 教育局" in text
    checked = run("rules", "check", str(out))
    assert checked.returncode == 0 and "ok" in checked.stdout, checked.stderr
    answer = run("classify", "--rules", str(out), "有个老板拖欠工资三个月了")
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["category"]["name"] == "人社局"


def test_suggest_reads_utf8_with_bom_and_measures_on_a_held_out_file(tmp_path):
    history, held, out = tmp_path / "history.csv", tmp_path / "held.csv", tmp_path / "mined.yaml"
    write_history(history, "utf-8-sig")
    with held.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), ("楼顶有人加盖违章建筑", "城管局"),
                                      ("公司不签劳动合同", "人社局"), ("老师搞有偿补课", "教育局"),
                                      ("烧烤摊油烟太大", "城管局"), ("辞退没有补偿", "人社局")])
    result = run("rules", "suggest", "--from", str(history), "--held-out", str(held), "--out", str(out),
                 "--method", "chi2")
    assert result.returncode == 0, result.stderr
    assert "utf-8" in result.stdout and "5 件留出案例" in result.stdout
    assert run("rules", "check", str(out)).returncode == 0


def test_suggest_refuses_bad_history_in_one_line(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("content,category\n路灯坏了,路灯\n", encoding="utf-8")
    result = run("rules", "suggest", "--from", str(wrong), "--out", str(tmp_path / "x.yaml"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "text and label" in result.stderr
    assert not (tmp_path / "x.yaml").exists()
    missing = run("rules", "suggest", "--from", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x.yaml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_check_names_file_and_line(tmp_path):
    broken = tmp_path / "rules.yaml"
    broken.write_text(SHIPPED.read_text(encoding="utf-8").replace("sla_hours: {accept: 24, resolve: 72}",
                                                                   "sla_hours: {accept: 24}", 1), encoding="utf-8")
    result = run("rules", "check", str(broken))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"{broken}:" in result.stderr and "resolve" in result.stderr


def test_merge_adds_mined_categories_and_keeps_intents_and_routing(tmp_path):
    history, mined, merged = tmp_path / "history.csv", tmp_path / "mined.yaml", tmp_path / "merged.yaml"
    write_history(history, "utf-8")
    assert run("rules", "suggest", "--from", str(history), "--out", str(mined)).returncode == 0
    result = run("rules", "merge", str(mined), "--into", str(SHIPPED), "--out", str(merged))
    assert result.returncode == 0, result.stderr
    from bot.understanding.classifier import Classifier, Intent
    from bot.understanding.rules import load_rules

    shipped, rules = load_rules(SHIPPED), load_rules(merged)
    assert {c.code for c in shipped.categories} < {c.code for c in rules.categories}
    assert rules.category("street_light").role == "grid_worker" and rules.taxonomy == shipped.taxonomy
    classifier = Classifier(rules)
    assert classifier.classify("/my").intent is Intent.STATUS
    assert classifier.classify("3号楼路灯坏了").category.code == "street_light"
    only = tmp_path / "only.yaml"
    assert run("rules", "merge", str(mined), "--into", str(SHIPPED), "--out", str(only), "--replace").returncode == 0
    assert {c.name for c in load_rules(only).categories} == set(MATTERS)


def test_classify_file_reads_gbk_and_uses_the_given_rules(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("id,text\n1,小区路灯坏了好几天\n", encoding="gbk")
    result = run("classify", "--rules", str(SHIPPED), "--file", str(source), "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert next(csv.DictReader(target.open(encoding="utf-8")))["category"] == "street_light"
    bad = run("classify", "--rules", str(tmp_path / "none.yaml"), "路灯坏了")
    assert bad.returncode == 2 and "none.yaml" in bad.stderr and "Traceback" not in bad.stderr


def test_offer_evidence_is_learnt_into_a_file_staff_can_read_and_offers_load(tmp_path):
    from bot.understanding.mining import mine_offer_evidence, write_offer_evidence
    from bot.understanding.offers import OfferEvidence

    lines = [(f"{place}的灯坏了好几天", True) for place in "东西南北中上下左"]
    lines += [(f"明天{town}拼车，有顺路的吗", False) for town in ["眉县", "岐山", "凤翔", "扶风", "千阳", "陇县"]]
    mined = mine_offer_evidence(lines)
    weights = dict(mined.weights)
    assert weights["坏"] > 0 and weights["拼车"] < 0
    path = tmp_path / "offer_evidence.yaml"
    write_offer_evidence(path, mined, "a test")
    text = path.read_text(encoding="utf-8")
    assert text.index("bias:") < text.index("real:") < text.index("\n  坏:") < text.index("chatter:") < text.index("  拼车:")
    loaded = OfferEvidence.load(path)
    assert loaded.score("楼道的灯坏了") > 0 > loaded.score("明天拼车去西安")
    # what the file says is what the regression learnt: the bias plus each word found, once
    line = "楼道的灯坏了好几天"
    assert loaded.score(line) == pytest.approx(mined.bias + sum(w for word, w in mined.weights if word in line), abs=1e-6)


def test_offer_evidence_learns_most_from_the_lines_the_grammar_offers():
    from bot.understanding.classifier import Classifier
    from bot.understanding.mining import grammar_offers, mine_offer_evidence
    from bot.understanding.offers import OfferEvidence
    from bot.understanding.rules import load_rules
    from config.settings import load_settings

    classifier = Classifier(load_rules(load_settings({}).rules_path))
    offered_chatter = "电梯钱的事说了半年 电梯坏了好几天了也没个结果"  # labelled chatter here, though the grammar offers it
    assert grammar_offers(classifier, offered_chatter) and not grammar_offers(classifier, "明天眉县拼车，有顺路的吗")
    lines = [(f"{place}的灯坏了好几天", True) for place in "东西南北中上下左"]
    lines += [(f"明天{town}拼车，有顺路的吗", False) for town in ["眉县", "岐山", "凤翔", "扶风", "千阳", "陇县"]]
    lines += [(offered_chatter, False), ("电梯的事说了半年", False)]
    plain = mine_offer_evidence(lines)
    emphasised = mine_offer_evidence(lines, [grammar_offers(classifier, text) for text, _ in lines])

    def score(mined, text):
        return OfferEvidence(dict(mined.weights), mined.bias).score(text)

    assert score(emphasised, offered_chatter) < score(plain, offered_chatter)


def test_offer_evidence_counts_each_word_once_and_staff_words_longer_than_mined_ones():
    from bot.understanding.offers import OfferEvidence

    evidence = OfferEvidence({"漏水": 2.0, "水": -1.0, "楼道漏水了": 0.5}, bias=-0.5)
    assert OfferEvidence().score("漏水") == 0 and evidence.score("") == -0.5
    assert evidence.score("漏水") == 0.5  # 漏水 and the 水 inside it, each weighed
    assert evidence.score("水，漏水，水") == 0.5  # each word once, however often it occurs
    assert evidence.score("楼道漏水了") == 1.0  # a phrase staff added is found as any word is


def test_the_offer_evidence_needs_both_kinds_of_line_and_says_so():
    from bot.understanding.mining import MiningError, mine_offer_evidence

    with pytest.raises(MiningError, match="both real and chatter"):
        mine_offer_evidence([("楼道灯坏了", True), ("路灯不亮了", True)])
