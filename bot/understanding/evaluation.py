"""How well a rule set places labelled cases: accuracy, macro-F1, per label, and share placed vs precision."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.understanding.classifier import Classifier
from bot.understanding.decision import margin
from bot.understanding.mining import LabelledCase

TARGET_PRECISION = 0.9
MARGIN_STEPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Evaluation:
    cases: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, tuple[float, float, int]]  # label -> (precision, recall, cases)
    automatic_share: float  # share placed automatically at TARGET_PRECISION
    automatic_margin: float | None  # the smallest margin that reaches it
    trade_off: list[tuple[float, float, float]]  # (margin, share placed, precision of those)
    confused: list[tuple[str, str, int]] = field(default_factory=list)  # (truth, placed as, cases), worst first


def evaluate(classifier: Classifier, cases: list[LabelledCase], label_of: dict[str, str]) -> Evaluation:
    """Places each case with `categorize` (as a report) and compares the category's label with the truth."""
    outcomes: list[tuple[str, str, float]] = []
    for case in cases:
        result = classifier.categorize(case.text, "report")
        placed = label_of.get(result.category.code, "") if result.category else ""
        outcomes.append((case.label, placed, margin(result) if result.category else 0.0))
    right = sum(truth == placed for truth, placed, _ in outcomes)
    labels = sorted({truth for truth, _, _ in outcomes})
    per_label: dict[str, tuple[float, float, int]] = {}
    f1s = []
    for label in labels:
        tp = sum(t == label and p == label for t, p, _ in outcomes)
        placed_as = sum(p == label for _, p, _ in outcomes)
        truly = sum(t == label for t, _, _ in outcomes)
        precision = tp / placed_as if placed_as else 0.0
        recall = tp / truly if truly else 0.0
        per_label[label] = (precision, recall, truly)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    trade_off = []
    for step in MARGIN_STEPS:
        placed = [(t, p) for t, p, m in outcomes if p and m >= step]
        precision = sum(t == p for t, p in placed) / len(placed) if placed else 0.0
        trade_off.append((step, len(placed) / len(outcomes), precision))
    reaching = [(step, share) for step, share, precision in trade_off if precision >= TARGET_PRECISION and share > 0]
    confused = Counter((t, p or "（未分类）") for t, p, _ in outcomes if t != p)
    return Evaluation(
        cases=len(outcomes), accuracy=right / len(outcomes) if outcomes else 0.0,
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0, per_label=per_label,
        automatic_share=reaching[0][1] if reaching else 0.0, automatic_margin=reaching[0][0] if reaching else None,
        trade_off=trade_off, confused=[(t, p, n) for (t, p), n in confused.most_common(5)],
    )


def report_lines(evaluation: Evaluation, title: str) -> list[str]:
    """The evaluation as lines of a plain-text report (Chinese labels, figures in %)."""
    lines = [f"{title}：{evaluation.cases} 件留出案例，准确率 {evaluation.accuracy:.1%}，宏平均F1 {evaluation.macro_f1:.1%}"]
    lines.append("  类别                      精确率   召回率   案例数")
    for label, (precision, recall, count) in evaluation.per_label.items():
        lines.append(f"  {label:<20}\t{precision:6.1%}  {recall:6.1%}  {count:5d}")
    if evaluation.automatic_margin is None:
        lines.append(f"  没有阈值能让自动分类的精确率达到 {TARGET_PRECISION:.0%}")
    else:
        lines.append(f"  精确率≥{TARGET_PRECISION:.0%} 时可自动分类 {evaluation.automatic_share:.1%}"
                     f"（领先幅度阈值 {evaluation.automatic_margin:.1f}）")
    lines.append("  领先幅度阈值 → 自动分类占比 / 其精确率：" + "；".join(
        f"{step:.1f}→{share:.0%}/{precision:.0%}" for step, share, precision in evaluation.trade_off))
    if evaluation.confused:
        lines.append("  最难区分：" + "；".join(f"{t}→{p} {n}件" for t, p, n in evaluation.confused))
    return lines
