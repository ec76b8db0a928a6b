"""The weekly progress report: figures for every grid unit from one grouped query, its text, and its chart.

Figures describe the cases filed in a week (Monday 00:00 to Monday 00:00 in the service's time zone), as
they stand when the report is made: new cases (duplicates count in the case they joined), done (resolved or
closed), closure rate (办结率 = done / new), mean hours from assignment to acceptance and from filing to
resolution, satisfaction (满意 + 基本满意 of rated cases), the top categories and the wishes fulfilled.
One GROUP BY over the week's cases (index on created_at) gives figures per case unit; they are summed up the
tree in memory, so the 639 groups of a district cost one query, not 639.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.grid.directory import GridDirectory, UnitRef
from models import Case, CaseKind, CaseStatus, Rating, UnitLevel

DONE = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
PLEASED = (Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value)
CHART_WEEKS = 8
LEGEND_COLUMNS = 6
TOP_CATEGORIES = 3
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei",
             "PingFang SC", "DejaVu Sans"]
# The CJK font the `mplfonts` dependency ships inside its package, so a fresh virtualenv draws Chinese without
# any system font package. Registered with matplotlib the first time a chart needs a font, never at import.
BUNDLED_FONT = ("mplfonts", ("fonts", "NotoSansCJKsc-Regular.otf"))

log = logging.getLogger(__name__)
_font_lock = threading.Lock()
_bundled_font_tried = False


@dataclass
class Figures:
    """Counts and sums for the cases of one unit in one week; means and rates are derived."""

    new: int = 0
    done: int = 0
    accepted: int = 0
    accept_hours: float = 0.0
    resolved: int = 0
    resolve_hours: float = 0.0
    rated: int = 0
    pleased: int = 0
    wishes_done: int = 0
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        """Adds another unit's figures into these."""
        self.new += other.new
        self.done += other.done
        self.accepted += other.accepted
        self.accept_hours += other.accept_hours
        self.resolved += other.resolved
        self.resolve_hours += other.resolve_hours
        self.rated += other.rated
        self.pleased += other.pleased
        self.wishes_done += other.wishes_done
        self.categories.update(other.categories)

    @property
    def closure_rate(self) -> float | None:
        return self.done / self.new if self.new else None

    @property
    def mean_accept_hours(self) -> float | None:
        return self.accept_hours / self.accepted if self.accepted else None

    @property
    def mean_resolve_hours(self) -> float | None:
        return self.resolve_hours / self.resolved if self.resolved else None

    @property
    def satisfaction(self) -> float | None:
        return self.pleased / self.rated if self.rated else None


# weeks -------------------------------------------------------------------------------------------------


def week_label(day: date) -> str:
    """The ISO week a day falls in, as 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(label: str) -> date:
    """The Monday of an ISO week written 2026-W48; ValueError for anything else."""
    try:
        return datetime.strptime(label + "-1", "%G-W%V-%u").date()
    except ValueError:
        raise ValueError(f"a week is written like 2026-W48, not {label!r}") from None


def previous_week(now: datetime, tz: ZoneInfo) -> str:
    """The last whole week before `now`, in the service's time zone."""
    return week_label(now.astimezone(tz).date() - timedelta(days=7))


def week_bounds(label: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of a week, in UTC."""
    monday = week_start(label)
    start = datetime.combine(monday, datetime.min.time(), tz)
    return start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC)


def weeks_before(label: str, count: int) -> list[str]:
    """`count` weeks ending with `label`, oldest first."""
    monday = week_start(label)
    return [week_label(monday - timedelta(days=7 * back)) for back in range(count - 1, -1, -1)]


# figures -----------------------------------------------------------------------------------------------


def _hours(session: AsyncSession, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """later - earlier in hours, in the session's SQL dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


async def unit_figures(session: AsyncSession, since: datetime, until: datetime) -> dict[int, Figures]:
    """Figures per case unit (building or grid) for cases filed in [since, until), from one grouped query."""
    accepted = Case.accepted_at.is_not(None) & Case.assigned_at.is_not(None)
    resolved = Case.resolved_at.is_not(None)
    query = (
        select(
            Case.unit_id, Case.category_name, func.count(),
            func.sum(case((Case.status.in_(DONE), 1), else_=0)),
            func.sum(case((accepted, 1), else_=0)),
            func.sum(case((accepted, _hours(session, Case.accepted_at, Case.assigned_at)), else_=0.0)),
            func.sum(case((resolved, 1), else_=0)),
            func.sum(case((resolved, _hours(session, Case.resolved_at, Case.created_at)), else_=0.0)),
            func.sum(case((Case.rating.is_not(None), 1), else_=0)),
            func.sum(case((Case.rating.in_(PLEASED), 1), else_=0)),
            func.sum(case(((Case.kind == CaseKind.WISH) & Case.status.in_(DONE), 1), else_=0)),
        )
        .where(Case.created_at >= since, Case.created_at < until, Case.status != CaseStatus.DUPLICATE)
        .group_by(Case.unit_id, Case.category_name)
    )
    figures: dict[int, Figures] = {}
    for row in (await session.execute(query)).all():
        unit_id, category, new, done, acc, acc_h, res, res_h, rated, pleased, wishes = row
        target = figures.setdefault(unit_id, Figures())
        target.add(Figures(new, int(done or 0), int(acc or 0), float(acc_h or 0), int(res or 0), float(res_h or 0),
                           int(rated or 0), int(pleased or 0), int(wishes or 0),
                           Counter({category or "未分类": new})))
    return figures


def roll_up(directory: GridDirectory, by_case_unit: dict[int, Figures]) -> dict[int, Figures]:
    """Figures for every unit: each case unit's figures added to it and to all of its ancestors."""
    totals: dict[int, Figures] = {}
    for unit_id, figures in by_case_unit.items():
        try:
            chain = directory.ancestors(directory.unit(unit_id))
        except KeyError:
            continue
        for ancestor in chain:
            totals.setdefault(ancestor.id, Figures()).add(figures)
    return totals


async def week_figures(session: AsyncSession, directory: GridDirectory, label: str, tz: ZoneInfo) -> dict[int, Figures]:
    """Figures of every grid unit for one week."""
    since, until = week_bounds(label, tz)
    return roll_up(directory, await unit_figures(session, since, until))


# text --------------------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _hours_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 60:.0f} 分钟" if value < 1 else f"{value:.1f} 小时"


# `community`: the wishes-and-projects lines of bot.community.publishing.weekly_section(s), added as they are.
def report_text(unit_name: str, label: str, figures: Figures, community: str = "") -> str:
    """The weekly report in a few lines of Chinese: only counts, rates and category names, never a person."""
    monday = week_start(label)
    sunday = monday + timedelta(days=6)
    year, week = label.split("-W")
    lines = [f"【{unit_name}·{year}年第{int(week)}周进展】（{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日）"]
    if not figures.new:
        lines.append("本周没有新的诉求。有问题请在群里 #随手拍，有心愿请 #微心愿。")
        return "\n".join(lines + ([community] if community else []))
    lines.append(f"新受理 {figures.new} 件，已办结 {figures.done} 件，办结率 {_percent(figures.closure_rate)}")
    lines.append(f"平均接单用时 {_hours_text(figures.mean_accept_hours)}，平均办结用时 {_hours_text(figures.mean_resolve_hours)}")
    if figures.rated:
        lines.append(f"满意度 {_percent(figures.satisfaction)}（{figures.rated} 件已评价）")
    top = "、".join(f"{name} {count}" for name, count in figures.categories.most_common(TOP_CATEGORIES))
    lines.append(f"主要问题：{top}")
    if figures.wishes_done:
        lines.append(f"实现微心愿 {figures.wishes_done} 个")
    if community:
        lines.append(community)
    lines.append("感谢大家参与！有问题请在群里 #随手拍。")
    return "\n".join(lines)


# chart -------------------------------------------------------------------------------------------------


def chart_parts(directory: GridDirectory, unit: UnitRef) -> list[UnitRef]:
    """The units a chart compares: a street's communities, a community's grids, else the unit alone."""
    if unit.level in (UnitLevel.DISTRICT, UnitLevel.STREET, UnitLevel.COMMUNITY):
        return directory.children(unit) or [unit]
    return [unit]


def bundled_font_file() -> Path | None:
    """Where the font file of BUNDLED_FONT lies, or None when its package is not installed.

    The package is located, not imported: importing mplfonts would pull in its font-manager helpers, and none
    of its code is needed to read one file out of its folder."""
    package, parts = BUNDLED_FONT
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def register_font_file(path: Path) -> bool:
    """Adds one font file to matplotlib's font list for this process (the user's font cache and matplotlibrc
    are left alone); False, with a warning, when the file cannot be read as a font."""
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(str(path))
    except (OSError, RuntimeError, ValueError) as exc:  # FreeType's errors arrive as RuntimeError
        log.warning("cannot load the chart font %s: %s", path, exc)
        return False
    return True


def _register_bundled_font() -> None:
    """Registers the bundled CJK font once per process; later calls, from any thread, return at once."""
    global _bundled_font_tried
    if _bundled_font_tried:
        return
    with _font_lock:
        if _bundled_font_tried:
            return
        path = bundled_font_file()
        if path is None:
            log.warning("no bundled CJK font (%s/%s not installed); charts use an installed font or ASCII",
                        BUNDLED_FONT[0], "/".join(BUNDLED_FONT[1]))
        else:
            register_font_file(path)
        _bundled_font_tried = True


def cjk_font() -> str | None:
    """The first font that can draw Chinese, the bundled one included, or None (then charts are labelled in
    ASCII, which every host can draw)."""
    from matplotlib import font_manager

    _register_bundled_font()
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS[:-1] if name in installed), None)


@dataclass(frozen=True, slots=True)
class ChartLabels:
    title: str
    cases: str
    closure: str
    parts: tuple[str, ...]


def render_chart(labels: Sequence[str], words: ChartLabels, cases: Sequence[Sequence[int]],
                 closure: Sequence[float | None], font: str | None) -> bytes:
    """A PNG: stacked bars of new cases per week by part, and the closure rate as a line on a second axis.

    The legend of the parts sits below the plot, outside it, so neither the bars nor the closure line (which
    runs along the top when most cases are done) can cover it; the title is also written into the PNG's
    metadata. A Figure of its own rather than pyplot: charts are drawn in worker threads."""
    from matplotlib import colormaps, rc_context
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with rc_context({"font.sans-serif": [font] if font else ["DejaVu Sans"], "axes.unicode_minus": False}):
        figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
        bars = figure.add_subplot()
        # ten distinct colours, or twenty (in light/dark pairs) for a community of more than ten grids
        palette = colormaps["tab20" if len(words.parts) > 10 else "tab10"].colors
        bottom = [0] * len(labels)
        for number, (name, counts) in enumerate(zip(words.parts, cases, strict=True)):
            bars.bar(labels, counts, bottom=bottom, label=name, color=palette[number % len(palette)])
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        bars.set_ylim(bottom=0, top=max([*bottom, 1]) * 1.15)
        bars.yaxis.set_major_locator(MaxNLocator(integer=True))  # cases are whole numbers
        bars.set_ylabel(words.cases)
        rate = bars.twinx()
        rate.plot(labels, [None if r is None else r * 100 for r in closure], color="black", marker="o")
        rate.set_ylim(0, 105)
        rate.set_ylabel(words.closure)
        bars.set_title(words.title)
        if len(words.parts) > 1:
            figure.legend(loc="outside lower center", ncol=min(len(words.parts), LEGEND_COLUMNS), fontsize=8,
                          frameon=False)
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Title": words.title, "Software": "gridbot"})
    return out.getvalue()


def chart_for(directory: GridDirectory, unit: UnitRef, labels: Sequence[str],
              weeks: Sequence[dict[int, Figures]]) -> bytes:
    """The eight-week chart of a unit, from that many weeks of rolled-up figures (oldest first)."""
    parts = chart_parts(directory, unit)
    cases = [[week.get(part.id, Figures()).new for week in weeks] for part in parts]
    closure = [week.get(unit.id, Figures()).closure_rate for week in weeks]
    short = [label.split("-")[1] for label in labels]
    font = cjk_font()
    if font:
        words = ChartLabels(f"{unit.name} 近{len(labels)}周诉求与办结率", "新受理（件）", "办结率（%）",
                            tuple(p.name for p in parts))
    else:  # no Chinese font on this host: codes and English rather than empty boxes
        words = ChartLabels(f"{unit.code}: new cases and closure rate, last {len(labels)} weeks", "new cases",
                            "closure rate (%)", tuple(p.code for p in parts))
    return render_chart(short, words, cases, closure, font)


async def chart_weeks(session: AsyncSession, directory: GridDirectory, label: str, tz: ZoneInfo,
                      count: int = CHART_WEEKS) -> tuple[list[str], list[dict[int, Figures]]]:
    """The week labels ending with `label` and each week's figures for every unit."""
    labels = weeks_before(label, count)
    return labels, [await week_figures(session, directory, week, tz) for week in labels]

