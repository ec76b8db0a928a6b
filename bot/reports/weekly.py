"""The weekly progress report: every unit's figures for a week (bot/cases/figures.py), its text, and its chart.

A week runs Monday 00:00 to Monday 00:00 in the service's time zone; the figures are those of the cases filed
in it, as they stand when the report is made, defined once in bot/cases/figures.py. One GROUP BY over the
week's cases (index on created_at) gives figures per case unit; they are summed up the tree in memory, so the
639 groups of a district cost one query, not 639.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.figures import Figures, figures_by_unit, hours_text, rate_text
from bot.grid.directory import GridDirectory, UnitRef
from models import UnitLevel

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


async def week_figures(session: AsyncSession, directory: GridDirectory, label: str, tz: ZoneInfo) -> dict[int, Figures]:
    """Figures of every grid unit for one week."""
    since, until = week_bounds(label, tz)
    return await figures_by_unit(session, directory, since, until)


# text --------------------------------------------------------------------------------------------------


PUBLIC_PAGE_LEVELS = (UnitLevel.COMMUNITY, UnitLevel.STREET, UnitLevel.DISTRICT)


def public_page(public_url: str | None, directory: GridDirectory, unit: UnitRef) -> str | None:
    """The public progress page (/public/<code>) of the unit's community, or of the nearest unit above that has one."""
    if not public_url:
        return None
    for level in PUBLIC_PAGE_LEVELS:
        page_unit = directory.ancestor_at(unit, level)
        if page_unit is not None:
            return f"{public_url.rstrip('/')}/public/{page_unit.code}"
    return None


# `community`: the wishes-and-projects lines of bot.community.publishing.weekly_section(s), added as they are.
def report_text(unit_name: str, label: str, figures: Figures, community: str = "") -> str:
    """The weekly report in a few lines of Chinese: only counts, rates and category names, never a person."""
    monday = week_start(label)
    sunday = monday + timedelta(days=6)
    year, week = label.split("-W")
    lines = [f"【{unit_name}·{year}年第{int(week)}周进展】（{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日）"]
    if not figures.cases:
        lines.append("本周没有新的诉求。有问题请在群里 #随手拍，有心愿请 #微心愿。")
        return "\n".join(lines + ([community] if community else []))
    lines.append(f"新受理 {figures.cases} 件，已办结 {figures.done} 件，办结率 {rate_text(figures.closure_rate)}")
    lines.append(f"响应率 {rate_text(figures.response_rate)}，按时办结率 {rate_text(figures.on_time_rate)}")
    lines.append(f"平均接单用时 {hours_text(figures.mean_accept_hours)}，"
                 f"平均办结用时 {hours_text(figures.mean_resolve_hours)}")
    if figures.rated:
        lines.append(f"满意度 {rate_text(figures.satisfaction)}（{figures.rated} 件已评价）")
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
    cases = [[week.get(part.id, Figures()).cases for week in weeks] for part in parts]
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

