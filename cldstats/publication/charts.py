"""Charts of a month's published tables: PNG and SVG, each with alt text recorded beside it.

:func:`make_charts` takes the published frames (``long_term_support``, ``long_term_support_rates``,
``assessments``; DESIGN.md's output contract, every column a string) and writes to ``out_dir``:

* ``<name>.png`` (150 dpi, 8 x 4.5 in: report width) and ``<name>.svg``;
* ``<name>.txt``: the alt text, plain text, generated from the numbers charted;
* ``charts.json``: an index of every chart (name, title, alt text, longer description, files).

Alt text and long description (WCAG 2.2 AA, Analysis Function guidance on charts):

* the **alt text** is one or two sentences, at most :data:`ALT_TEXT_MAX` characters: what the chart
  shows (its type, measure, place and period) and its main finding, in published numbers;
* the **long description** (``Chart.description``, the report's "Chart description and data") gives
  the detail once: every series' numbers, gaps and the chart's notes. It never repeats the alt text,
  which a screen reader has already read out by then;
* the SVG is ``role="img"`` named by its ``<title>`` (the alt text, as the report's ``<img alt>``)
  and described by its ``<desc>`` (the long description). Its drawn text is glyph paths, so title
  and desc are all a screen reader can read in the file on its own.

The charts:

==========================  =====================================================================
``england_trend_by_setting``  England, people receiving long-term support at each month end, one line
                              per support setting (``All`` included), direct labels.
``rate_by_region``            latest month end, rate per 100,000 adults by region, sorted bars,
                              England reference line.
``council_rates_ranked``      latest month end, every council with a published rate as a dot,
                              ranked, England line; lowest, median and highest annotated.
``age_profile``               latest month end, England, age bands: all settings and the three
                              care settings as small multiples.
``ethnicity_profile``         latest month end, England, the six ethnicity groups.
``assessments_trend``         England, people assessed each month.
==========================  =====================================================================

Rules every chart keeps (docs/methodology.md section 7, Government Analysis Function guidance):

* Only published cells are drawn or quoted: a number (a rounded count, a whole-number rate) or a
  gap for ``[c]``, ``[x]`` and ``[z]``, never a zero. A cell that is neither is an error, and so is a
  count that is not a multiple of the rounding base: that is an unrounded table passed by mistake.
  Alt text quotes published numbers only (no sums, shares or averages of rounded cells).
* The Analysis Function categorical palette in its order, direct labels instead of legends, no
  unneeded gridlines, a sans-serif font (Arial if installed, else DejaVu Sans), text 9 pt or more,
  titles that state the main finding.
* Contrast: every text is near-black or dark grey (4.5:1 or more on white at any size); palette
  colours are kept for lines, bars and dots (graphics need 3:1, which every colour used meets) and
  never used for text: turquoise and orange text would be 3.2:1 and 3.0:1. A direct label is dark
  text beside a key in its series' colour.
* Deterministic files: the same frames give byte-identical PNG and SVG (Agg, fixed ``svg.hashsalt``,
  no dates or software versions that vary between runs in the metadata).
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager, style
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, DrawingArea
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cldstats import __version__, reference
from cldstats.reference import statements
from cldstats.reference.statements import CELL_SYMBOLS, CONFIDENTIAL, NOT_AVAILABLE, MethodFacts

__all__ = [
    "AF_PALETTE",
    "CHART_NAMES",
    "Chart",
    "make_charts",
]

# Government Analysis Function categorical palette, in the order it must be used.
AF_PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
REFERENCE_GREY = "#3D3D3D"
TEXT_COLOUR = "#0B0C0C"  # GOV.UK text colour: 19:1 on white
TEXT_GREY = "#505050"  # footnotes: 7:1 contrast on white, still visibly secondary to the data
ALT_TEXT_MAX = 250  # characters: alt text is one or two sentences; the detail is in the description
KEY_WIDTH_PT = 14.0  # the line sample beside a direct label

CHART_NAMES = (
    "england_trend_by_setting",
    "rate_by_region",
    "council_rates_ranked",
    "age_profile",
    "ethnicity_profile",
    "assessments_trend",
)
SETTINGS = reference.SETTINGS
SETTING_LABELS = {"All": "All settings"}
# Prison is a handful of people, mostly [c]: a panel of its own would be empty bars.
PROFILE_SETTINGS = tuple(s for s in reference.SETTINGS if s != "Prison")
AGE_BANDS = tuple(b.label for b in reference.AGE_BANDS)
# GOV.UK ethnicity style: the five groups in alphabetical order, then the records with no ethnicity.
ETHNICITY_GROUPS = (
    "Asian or Asian British",
    "Black, Black British, Caribbean or African",
    "Mixed or multiple ethnic groups",
    "White",
    "Other ethnic group",
    "No data",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

FIGSIZE = (8.0, 4.5)  # inches: a full report column
PNG_DPI = 150
BASE_FONT_PT = 10
SMALL_FONT_PT = 9  # the floor for any text on a chart
TITLE_WRAP = 68  # characters of 12 pt bold in 8 in
NOTE_WRAP = 105  # characters of 9 pt in 8 in
SOURCE_NOTE = "Source: Adult Social Care Client Level Data (CLD), official statistics in development."
# Notes drawn under a chart and repeated in its long description: the description carries all the
# chart says, for a reader who cannot see it. Their words about the method come from statements.
RATES_NOTE = statements.rate_rounding_sentence()


def _trend_note(facts: MethodFacts) -> str:
    """The trend charts' note: how counts are rounded, and that a suppressed month is a gap."""
    return f"Counts {statements.rounding_short(facts)}; suppressed months ({CONFIDENTIAL}) are gaps in the line."


def _counts_note(facts: MethodFacts) -> str:
    """``Counts rounded to the nearest <base>.``"""
    return f"Counts {statements.rounding_short(facts)}."


@dataclass(frozen=True)
class Chart:
    """One chart written by :func:`make_charts`.

    Attributes
    ----------
    name : str
        File stem, one of :data:`CHART_NAMES`.
    title : str
        The title drawn on the chart: a statement of the main finding.
    alt_text : str
        One or two sentences built from the published numbers: what the chart shows and its main
        finding, at most :data:`ALT_TEXT_MAX` characters; also written to ``<name>.txt``.
    png, svg : pathlib.Path
        The image files.
    description : str
        The long description for the report's "Chart description and data": every series'
        numbers, gaps and notes. Read after the alt text, so it never repeats it.
    """

    name: str
    title: str
    alt_text: str
    png: Path
    svg: Path
    description: str = ""

    @property
    def alt_text_file(self) -> Path:
        """The ``<name>.txt`` file beside the images."""
        return self.png.with_suffix(".txt")

    def index_entry(self) -> dict[str, object]:
        """This chart's entry in ``charts.json`` (file names relative to the charts folder)."""
        return {
            "name": self.name,
            "title": self.title,
            "alt_text": self.alt_text,
            "description": self.description,
            "files": {"png": self.png.name, "svg": self.svg.name, "alt_text": self.alt_text_file.name},
        }


# --------------------------------------------------------------------------------------------- #
# Reading published cells
# --------------------------------------------------------------------------------------------- #

def published_numbers(cells: pd.Series, *, rounding_base: int | None = None) -> pd.Series:
    """Numbers of published cells, NaN for ``[c]``, ``[x]`` and ``[z]``.

    Parameters
    ----------
    cells : pandas.Series
        Published cells: whole numbers as strings, or one of the symbols.
    rounding_base : int, optional
        For counts: every number must be a multiple of it. ``None`` for rates.

    Returns
    -------
    pandas.Series
        Float (NaN marks a gap), same index.

    Raises
    ------
    ValueError
        A cell that is not a published value (e.g. ``"12.4"``, ``""``), or a count off the
        rounding base: charts must never show unrounded figures.

    Examples
    --------
    >>> published_numbers(pd.Series(["15", "[c]", "0", "[x]"]), rounding_base=5).tolist()
    [15.0, nan, 0.0, nan]
    """
    text = cells.astype(str).str.strip()
    is_symbol = text.isin(CELL_SYMBOLS)
    is_number = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
    bad = ~(is_symbol | is_number)
    if bad.any():
        raise ValueError(f"not a published cell: {sorted(set(text[bad]))[:5]!r}")
    numbers = pd.to_numeric(text.where(is_number), errors="coerce").astype(float)
    if rounding_base:
        off_base = is_number & (numbers % rounding_base != 0)
        if off_base.any():
            raise ValueError(
                f"count not rounded to a multiple of {rounding_base}: {sorted(set(text[off_base]))[:5]!r}; "
                "charts take published tables only"
            )
    return numbers


def _fmt(value: float) -> str:
    """A published number with thousands separators (``13825`` -> ``13,825``)."""
    return f"{int(value):,}"


def _cell(value: float, symbol: str) -> str:
    """A number, or the published symbol where it is a gap."""
    return symbol if pd.isna(value) else _fmt(value)


def _month(date_or_month: str) -> str:
    """``2024-03-31`` or ``2024-03`` -> ``March 2024`` (no locale: fixed English names)."""
    year, month = date_or_month.split("-")[:2]
    return f"{MONTHS[int(month) - 1]} {year}"


def _day(date: str) -> str:
    """``2024-03-31`` -> ``31 March 2024``."""
    return f"{int(date[8:10])} {_month(date)}"


def _councils_note(councils_included: pd.Series) -> str:
    """A sentence on missing councils from ``councils_included`` (``"152 of 153"``), or ``""``."""
    parts = councils_included.dropna().astype(str).str.extract(r"^(\d+) of (\d+)$").dropna().astype(int)
    if parts.empty:
        return ""
    missing = parts[1] - parts[0]
    if (missing == 0).all():
        return ""
    worst = parts.loc[missing.idxmax()]
    if parts.drop_duplicates().shape[0] == 1:
        n_missing = int(worst[1] - worst[0])
        who = "1 council has no data and is" if n_missing == 1 else f"{n_missing} councils have no data and are"
        return f"Figures include {worst[0]} of {worst[1]} councils: {who} not included."
    return (f"Figures include as few as {worst[0]} of {worst[1]} councils in some months: "
            "councils with no data are not included.")


def _latest(frame: pd.DataFrame, column: str) -> str:
    """The latest period in ``column`` (ISO strings sort by date), ignoring ``Total``."""
    periods = frame[column].astype(str)
    periods = periods[periods.str.match(r"^\d{4}-\d{2}")]
    if periods.empty:
        raise ValueError(f"no periods in {column!r}")
    return periods.max()


def _select(frame: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows where each column equals the given string (one vectorised mask)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in equal.items():
        mask &= (frame[column].astype(str) == wanted).to_numpy()
    return frame.loc[mask]


# --------------------------------------------------------------------------------------------- #
# Style and files
# --------------------------------------------------------------------------------------------- #

@lru_cache(maxsize=1)
def _font_family() -> str:
    """Arial if installed (Analysis Function guidance), else DejaVu Sans (ships with matplotlib)."""
    try:
        font_manager.findfont(font_manager.FontProperties(family="Arial"), fallback_to_default=False)
    except ValueError:
        return "DejaVu Sans"
    return "Arial"


def _style() -> dict[str, object]:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [_font_family(), "DejaVu Sans"],
        "font.size": BASE_FONT_PT,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": BASE_FONT_PT,
        "axes.labelcolor": TEXT_COLOUR,
        "axes.edgecolor": "#6F777B",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=list(AF_PALETTE)),
        "xtick.labelsize": SMALL_FONT_PT + 1,
        "ytick.labelsize": SMALL_FONT_PT + 1,
        "xtick.color": TEXT_COLOUR,
        "ytick.color": TEXT_COLOUR,
        "text.color": TEXT_COLOUR,
        "legend.frameon": False,
        "grid.color": "#D9D9D9",
        "grid.linewidth": 0.6,
        "svg.hashsalt": "cldstats",  # fixed ids in the SVG: byte-identical reruns
        "svg.fonttype": "path",  # glyphs as paths: the SVG looks the same without the font installed
        "path.simplify": False,
    }


def _new_figure(figsize: tuple[float, float] = FIGSIZE, **subplots) -> tuple[Figure, object]:
    # Figure() directly, not pyplot: no global figure registry, no GUI backend, safe in notebooks.
    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    # Room at the bottom for the source and notes, which constrained layout does not manage.
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93), h_pad=0.06, w_pad=0.06)
    axes = fig.subplots(**subplots)
    return fig, axes


def _footnote(fig: Figure, *notes: str) -> None:
    lines = [line for note in (*notes, SOURCE_NOTE) if note for line in textwrap.wrap(note, NOTE_WRAP)]
    text = "\n".join(lines)
    # Bottom-left, growing upwards; the layout rect above keeps it clear of the axes.
    fig.text(0.01, 0.01, text, ha="left", va="bottom", fontsize=SMALL_FONT_PT, color=TEXT_GREY, wrap=False)
    lines = text.count("\n") + 1
    bottom = min(0.35, 0.03 + lines * (SMALL_FONT_PT * 1.35) / 72 / fig.get_figheight())
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom + 0.0))


def _title(fig: Figure, text: str) -> None:
    # A figure-level title, flush with the left edge whatever the axis labels' width; wrapped at a
    # width that fits 8 in at 12 pt bold.
    fig.suptitle("\n".join(textwrap.wrap(text, TITLE_WRAP)), x=0.01, ha="left", fontsize=12, fontweight="bold")


def _thousands(ax_axis) -> None:
    ax_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _save_chart(fig: Figure, out_dir: Path, name: str, title: str, alt_text: str, description: str) -> Chart:
    """Write ``<name>.png`` and ``<name>.svg`` deterministically and return the :class:`Chart`."""
    if len(alt_text) > ALT_TEXT_MAX:  # pragma: no cover - _alt_text keeps within it
        raise ValueError(f"alt text of {name} is {len(alt_text)} characters, over {ALT_TEXT_MAX}")
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, format="png", dpi=PNG_DPI, facecolor="white",
                metadata={"Software": None, "Title": title})
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", facecolor="white",
                # No "Title": matplotlib would write it as a second <title>, after the one that names the image.
                metadata={"Date": None, "Creator": f"cldstats {__version__}"})
    svg.write_text(_svg_with_alt_text(buffer.getvalue(), name, alt_text, description), encoding="utf-8")
    return Chart(name, title, alt_text, png, svg, description)


def _svg_with_alt_text(document: str, name: str, alt_text: str, description: str) -> str:
    """Give the SVG root ``role="img"``, named by ``<title>`` (the alt text) and described by ``<desc>``.

    The name is the alt text, as the report's ``<img alt>``, so a screen reader says the same of
    the chart in the report and in the file; the long description is offered after it
    (``aria-describedby``), not joined to the name. Ids carry the chart name: several SVGs can be
    inlined in one page.
    """
    head = re.search(r"<svg\b[^>]*>", document)
    if head is None:  # pragma: no cover - matplotlib always writes one
        return document
    opening = head.group(0)
    if "role=" not in opening:
        opening = opening[:-1] + f' role="img" aria-labelledby="{name}-title" aria-describedby="{name}-desc">'
    extra = (f'\n <title id="{name}-title">{escape(alt_text)}</title>'
             f'\n <desc id="{name}-desc">{escape(description)}</desc>')
    return document[: head.start()] + opening + extra + document[head.end():]


def _alt_text(what: str, *findings: str) -> str:
    """Alt text: the sentence saying what the chart shows, then the first of ``findings`` that fits.

    ``findings`` are versions of the main-finding sentence, fullest first (say, with and without the
    names of the areas at either end); the first that keeps the alt text within
    :data:`ALT_TEXT_MAX` characters is used, else none: the long description has the detail.
    """
    for finding in findings:
        if finding and len(what) + 1 + len(finding) <= ALT_TEXT_MAX:
            return f"{what} {finding}"
    return what


def _spread(positions: np.ndarray, gap: float) -> np.ndarray:
    """Push label positions (display units) apart to at least ``gap``, keeping their order.

    Examples
    --------
    >>> _spread(np.array([0.0, 1.0, 50.0]), 10).tolist()
    [0.0, 10.0, 50.0]
    """
    order = np.argsort(positions, kind="stable")
    placed = positions[order].astype(float).copy()
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def _direct_labels(fig: Figure, ax, x: float, ys: Sequence[float], texts: Sequence[str],
                   colors: Sequence[str], linewidths: Sequence[float], gap_pt: float) -> None:
    """Labels to the right of each line's last point, spread so they never overlap.

    Each label is dark text after a short sample of its line (colour and width): the colour
    identifies the series, and the text keeps 4.5:1 whatever the series' colour.
    """
    fig.draw_without_rendering()  # run the layout first: the axes' final size sets the spacing
    y_px = ax.transData.transform(np.column_stack([np.full(len(ys), x), ys]))[:, 1]
    gap_px = gap_pt * fig.dpi / 72
    placed = _spread(y_px, gap_px)
    for y, y_new, text, color, width in zip(ys, placed - y_px, texts, colors, linewidths, strict=True):
        offset_pt = y_new * 72 / fig.dpi
        key = DrawingArea(KEY_WIDTH_PT, 2 * width)  # points
        key.add_artist(Line2D([0, KEY_WIDTH_PT], [width, width], color=color, linewidth=width,
                              solid_capstyle="butt"))
        ax.add_artist(AnnotationBbox(key, (x, y), xybox=(6 + KEY_WIDTH_PT / 2, offset_pt), xycoords="data",
                                     boxcoords="offset points", frameon=False, pad=0, annotation_clip=False))
        ax.annotate(text, xy=(x, y), xytext=(10 + KEY_WIDTH_PT, offset_pt), textcoords="offset points",
                    va="center", ha="left", color=TEXT_COLOUR, fontsize=BASE_FONT_PT, fontweight="bold",
                    annotation_clip=False)


# --------------------------------------------------------------------------------------------- #
# The charts
# --------------------------------------------------------------------------------------------- #

def _trend_sentence(label: str, periods: Sequence[str], values: pd.Series, unit: str = "") -> str:
    """``Community: 9,760 in April 2023 to 9,855 in March 2024 (lowest ..., highest ...).``"""
    known = values.dropna()
    if known.empty:
        return f"{label}: every month suppressed or not available."
    first, last = known.index[0], known.index[-1]
    sentence = (f"{label}: {_fmt(known.iloc[0])}{unit} in {_month(periods[first])} to "
                f"{_fmt(known.iloc[-1])}{unit} in {_month(periods[last])}")
    low, high = known.idxmin(), known.idxmax()
    if known.iloc[0] != known.min() and known.iloc[-1] != known.min():
        sentence += f", lowest {_fmt(known[low])} in {_month(periods[low])}"
    if known.iloc[0] != known.max() and known.iloc[-1] != known.max():
        sentence += f", highest {_fmt(known[high])} in {_month(periods[high])}"
    gaps = int(values.isna().sum())
    if gaps:
        sentence += f"; {gaps} month{'s' if gaps > 1 else ''} suppressed or not available, shown as a gap"
    return sentence + "."


def _change(first: float, last: float) -> str:
    """``rose from 13,520 to 13,825``, ``fell from ...`` or ``stayed at 13,520``."""
    if first == last:
        return f"stayed at {_fmt(first)}"
    return f"{'rose' if last > first else 'fell'} from {_fmt(first)} to {_fmt(last)}"


def _sentence(text: str) -> str:
    """``text`` with a capital first letter (names such as ``community`` start a sentence)."""
    return text[:1].upper() + text[1:]


def _listing(items: Sequence[str]) -> str:
    """``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _who(table: pd.DataFrame, column: str, value: float, plural: str) -> str:
    """The ``area`` whose ``column`` is ``value``, or ``"3 councils"`` when several share it:
    whole-number rates tie often, and naming one of them would say it stands alone."""
    names = table.loc[table[column] == value, "area"]
    return names.iloc[0] if len(names) == 1 else f"{len(names)} {plural}"


def _label_room(n_periods: int, share: float) -> float:
    """Data units to add right of the last month so labels take ``share`` of the axis at any span."""
    return max(0.5, share * (n_periods - 0.7) / (1 - share))


def _month_axis(ax, periods: Sequence[str]) -> None:
    """Short month names, with the year under the first month and every January."""
    labels = []
    for i, period in enumerate(periods):
        year, month = period.split("-")[:2]
        name = MONTHS[int(month) - 1][:3]
        labels.append(f"{name}\n{year}" if i == 0 or month == "01" else name)
    ax.set_xticks(range(len(periods)), labels)
    ax.tick_params(axis="x", length=0)


def _england_trend_by_setting(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    name = "england_trend_by_setting"
    rows = _select(lts, area_level="England", breakdown="All", breakdown_value="All")
    rows = rows[rows["support_setting"].isin(SETTINGS)]
    periods = sorted(rows["reference_date"].astype(str).unique())
    if not periods:
        raise ValueError("long_term_support has no England rows")
    settings = [s for s in SETTINGS if s in set(rows["support_setting"])]
    rows = rows.assign(number=published_numbers(rows["value"], rounding_base=facts.rounding_base),
                       cell=rows["value"].astype(str))
    values = (rows.pivot_table(index="reference_date", columns="support_setting", values="number",
                               aggfunc="first", dropna=False)
              .reindex(index=periods, columns=settings).reset_index(drop=True))
    # The published symbol of each gap, for the description ([c] and [x] say different things).
    cells = (rows.pivot_table(index="reference_date", columns="support_setting", values="cell", aggfunc="first")
             .reindex(index=periods, columns=settings).fillna(NOT_AVAILABLE).reset_index(drop=True))
    first, last = _month(periods[0]), _month(periods[-1])

    total = values["All"].dropna() if "All" in values else pd.Series(dtype=float)
    if len(total) >= 2:
        title = (f"The number of people receiving long-term support in England {_change(total.iloc[0], total.iloc[-1])}"
                 f" between {first} and {last}")
    else:
        title = f"People receiving long-term support in England by support setting, {first} to {last}"

    fig, ax = _new_figure()
    x = np.arange(len(periods))
    ends, labels, colors, widths = [], [], [], []
    for setting, color in zip(values.columns, AF_PALETTE, strict=False):
        series = values[setting]
        width = 2.4 if setting == "All" else 1.8
        # NaN breaks the line: a suppressed month is a gap, never a drop to zero. Markers keep a
        # month between two gaps visible.
        ax.plot(x, series.to_numpy(), color=color, linewidth=width, marker="o", markersize=3.5,
                solid_capstyle="round")
        known = series.dropna()
        if not known.empty:
            ends.append((known.index[-1], known.iloc[-1]))
            labels.append(f"{SETTING_LABELS.get(setting, setting)}: {_fmt(known.iloc[-1])}")
            colors.append(color)
            widths.append(width)
    ax.set_ylim(bottom=0, top=max(1.0, np.nanmax(values.to_numpy(dtype=float), initial=0)) * 1.08)
    ax.set_xlim(-0.3, len(periods) - 1 + _label_room(len(periods), 0.19))  # room for the direct labels
    _monthly_axes(ax, periods, "People at the month end")
    _title(fig, title)
    notes = _councils_note(rows["councils_included"])
    trend_note = _trend_note(facts)
    _footnote(fig, trend_note, notes)
    # Labels at each series' last published month, nudged apart where lines are close.
    if ends:
        _direct_labels(fig, ax, len(periods) - 1, [y for _, y in ends], labels, colors, widths,
                       gap_pt=BASE_FONT_PT * 1.35)

    findings = []
    if len(total) >= 2:
        findings.append(f"all settings {_change(total.iloc[0], total.iloc[-1])}")
    latest = values.drop(columns="All", errors="ignore").iloc[-1].dropna()
    if len(latest) and (latest == latest.max()).sum() == 1:
        largest = SETTING_LABELS.get(latest.idxmax(), latest.idxmax()).lower()
        findings.append(f"{largest} was the largest setting, at {_fmt(latest.max())} in {last}")
    alt_text = _alt_text(
        f"Line chart of people receiving long-term support in England at each month end from {first} to {last}, "
        "by support setting.",
        *([_sentence("; ".join(findings)) + "."] if len(findings) == 2 else []),
        *(_sentence(f) + "." for f in findings),
    )
    description = " ".join(
        ["One line for all settings and one for each support setting."]
        + [_trend_sentence(SETTING_LABELS.get(s, s), periods, values[s]) for s in values.columns]
        + ["Monthly figures: " + "; ".join(
            f"{SETTING_LABELS.get(s, s)}: " + ", ".join(
                f"{_month(p)} {_cell(v, c)}" for p, v, c in zip(periods, values[s], cells[s], strict=True))
            for s in values.columns) + ".",
           trend_note]
        + ([notes] if notes else [])
    )
    return _save_chart(fig, out_dir, name, title, alt_text, description)


def _latest_rates(rates: pd.DataFrame, area_level: str) -> tuple[str, pd.DataFrame, float]:
    """The latest month end, its all-settings, all-people rate rows at one area level, and the
    England rate (NaN when not published) to draw as the reference line."""
    date = _latest(rates, "reference_date")
    latest = _select(rates, reference_date=date, support_setting="All", breakdown="All", breakdown_value="All")
    rows = latest[latest["area_level"].astype(str) == area_level]
    if rows.empty:
        raise ValueError(f"long_term_support_rates has no {area_level} rows for {date}")
    england = _select(latest, area_level="England")
    england_rate = published_numbers(england["rate"]).iloc[0] if len(england) else np.nan
    return date, rows, england_rate


def _monthly_axes(ax, periods, ylabel: str) -> None:
    """Axes of a monthly trend: month ticks, whole-number value axis with thousands separators and
    a light grid behind the lines."""
    _month_axis(ax, periods)
    ax.spines["bottom"].set_bounds(0, len(periods) - 1)
    _thousands(ax.yaxis)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.set_ylabel(ylabel)


def _rate_by_region(rates: pd.DataFrame, out_dir: Path) -> Chart:
    name = "rate_by_region"
    date, regions, england_rate = _latest_rates(rates, "Region")
    table = pd.DataFrame({
        "area": regions["area_name"].astype(str).to_numpy(),
        "cell": regions["rate"].astype(str).to_numpy(),
        "rate": published_numbers(regions["rate"]).to_numpy(),
        "councils": regions["councils_included"].astype(str).to_numpy(),
    })
    # Highest at the top; gaps after every number; ties by name, so the order never depends on input order.
    table = table.sort_values(["rate", "area"], ascending=[False, True], na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    known = table.dropna(subset=["rate"])

    day = _day(date)
    if len(known):
        title = (f"The rate of adults receiving long-term support ranged from {_fmt(known['rate'].min())} to "
                 f"{_fmt(known['rate'].max())} per 100,000 adults across regions at {day}")
    else:
        title = f"Adults receiving long-term support per 100,000 adults by region at {day}"

    fig, ax = _new_figure()
    y = np.arange(len(table))[::-1]  # first row at the top
    has_rate = table["rate"].notna().to_numpy()
    ax.barh(y[has_rate], table["rate"].to_numpy()[has_rate], height=0.65, color=AF_PALETTE[0])
    xmax = max(1.0, np.nanmax(np.append(table["rate"].to_numpy(dtype=float), england_rate)))
    for yi, rate, cell in zip(y, table["rate"], table["cell"], strict=True):
        # A gap is written as its symbol where the bar would be: absent, not zero.
        text = _fmt(rate) if pd.notna(rate) else f"{cell} not published"
        # White box: the England line passes behind a label that sits on it, never through it.
        ax.text((rate if pd.notna(rate) else 0) + xmax * 0.01, yi, text, va="center", ha="left",
                fontsize=SMALL_FONT_PT + 1, color=TEXT_COLOUR, zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
    ax.set_yticks(y, table["area"].to_list())
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, xmax * 1.15)
    ax.set_ylim(-0.6, len(table) - 0.4 + 0.8)
    if pd.notna(england_rate):
        ax.axvline(england_rate, color=REFERENCE_GREY, linestyle="--", linewidth=1.2, zorder=3)
        ax.text(england_rate, len(table) - 0.4 + 0.4, f" England: {_fmt(england_rate)}", ha="left", va="center",
                fontsize=SMALL_FONT_PT + 1, color=REFERENCE_GREY, fontweight="bold")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    _thousands(ax.xaxis)
    ax.set_xlabel("Adults receiving long-term support per 100,000 adults")
    _title(fig, title)
    partial = table[table["councils"].str.extract(r"^(\d+) of (\d+)$").astype(float).pipe(lambda p: p[0] < p[1])]
    partial_note = "; ".join(f"{r.area} includes {r.councils} councils" for r in partial.itertuples())
    _footnote(fig, RATES_NOTE, (partial_note + ".") if partial_note else "")

    england = f"England {_fmt(england_rate)}" if pd.notna(england_rate) else ""
    findings = []
    if len(known):
        low, high = known["rate"].min(), known["rate"].max()
        ends = (f"Highest {_who(known, 'rate', high, 'regions')} at {_fmt(high)}, "
                f"lowest {_who(known, 'rate', low, 'regions')} at {_fmt(low)}")
        findings = [f"{ends}; {england}." if england else f"{ends}.",
                    f"Rates ranged from {_fmt(low)} to {_fmt(high)}" + (f"; {england}." if england else ".")]
    alt_text = _alt_text(
        f"Bar chart of adults receiving long-term support per 100,000 adults in each region of England at {day}.",
        *findings)
    description = ["Regions from highest to lowest rate: "
                   + "; ".join(f"{r.area} {_cell(r.rate, r.cell)}" for r in table.itertuples()) + "."]
    if england:
        description.append(f"The dashed line is the rate for England, {_fmt(england_rate)}.")
    gaps = table[table["rate"].isna()]
    if len(gaps):
        description.append("Not published: " + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + ".")
    description.append(RATES_NOTE)
    if partial_note:
        description.append(_sentence(partial_note) + "; councils with no data are not included.")
    return _save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _council_rates_ranked(rates: pd.DataFrame, out_dir: Path, highlight: Sequence[str]) -> Chart:
    name = "council_rates_ranked"
    date, councils, england_rate = _latest_rates(rates, "Local Authority")
    table = pd.DataFrame({
        "code": councils["area_code"].astype(str).to_numpy(),
        "area": councils["area_name"].astype(str).to_numpy(),
        "cell": councils["rate"].astype(str).to_numpy(),
        "rate": published_numbers(councils["rate"]).to_numpy(),
    })
    gaps = table[table["rate"].isna()].sort_values("area", kind="stable")
    ranked = (table.dropna(subset=["rate"]).sort_values(["rate", "area"], kind="stable").reset_index(drop=True))
    day = _day(date)
    n = len(ranked)

    def who(rate: float) -> str:
        return _who(ranked, "rate", rate, "councils")

    if n:
        low, high = ranked["rate"].iloc[0], ranked["rate"].iloc[-1]
        # The lower median is a council's own published rate: never a half-way number nobody published.
        median = ranked["rate"].iloc[(n - 1) // 2]
        title = (f"Council rates of adults receiving long-term support ranged from {_fmt(low)} to {_fmt(high)} "
                 f"per 100,000 adults at {day}")
    else:
        title = f"Council rates of adults receiving long-term support at {day}"

    fig, ax = _new_figure()
    x = np.arange(1, n + 1)
    is_highlight = ranked["code"].isin(list(highlight)) | ranked["area"].isin(list(highlight))
    ax.scatter(x[~is_highlight.to_numpy()], ranked.loc[~is_highlight, "rate"], s=16, color=AF_PALETTE[0],
               linewidths=0, zorder=3)
    if is_highlight.any():
        ax.scatter(x[is_highlight.to_numpy()], ranked.loc[is_highlight, "rate"], s=40, color=AF_PALETTE[3],
                   linewidths=0, zorder=4)
        for xi, r in zip(x[is_highlight.to_numpy()], ranked[is_highlight].itertuples(), strict=True):
            # Dark text: the orange dot marks the council, orange text would be 3.0:1 on white.
            ax.annotate(f"{r.area}: {_fmt(r.rate)}", (xi, r.rate), xytext=(0, -16), textcoords="offset points",
                        ha="center", fontsize=SMALL_FONT_PT, color=TEXT_COLOUR, fontweight="bold")
    top = max(1.0, np.nanmax(np.append(ranked["rate"].to_numpy(dtype=float), england_rate)))
    ax.set_ylim(0, top * 1.22)
    ax.set_xlim(0, max(n, 1) + 1 + max(n, 10) * 0.12)  # right-hand room for the England label
    if pd.notna(england_rate):
        # The line stops short of its label, which sits clear of the dots at the right.
        ax.hlines(england_rate, 0.5, max(n, 1) + 0.5, color=REFERENCE_GREY, linestyle="--", linewidth=1.2, zorder=2)
        ax.text(max(n, 1) + 1.5, england_rate, f"England: {_fmt(england_rate)}", va="center", ha="left",
                fontsize=SMALL_FONT_PT + 1, color=REFERENCE_GREY, fontweight="bold")
    if n:
        # Annotate the three points that anchor the ranking; offsets alternate so labels do not collide.
        marks = [(1, low, f"Lowest: {who(low)}, {_fmt(low)}", (10, 22), "left"),
                 ((n - 1) // 2 + 1, median, f"Median: {_fmt(median)}", (0, 22), "center"),
                 (n, high, f"Highest: {who(high)}, {_fmt(high)}", (-8, 14), "right")]
        for xi, yi, text, offset, ha in marks:
            ax.annotate(text, (xi, yi), xytext=offset, textcoords="offset points", ha=ha, va="center",
                        fontsize=SMALL_FONT_PT + 1, color=TEXT_COLOUR,
                        arrowprops={"arrowstyle": "-", "color": TEXT_GREY, "linewidth": 0.8, "shrinkA": 0,
                                    "shrinkB": 3})
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlabel(f"{n} councils, ordered from lowest to highest rate")
    ax.set_ylabel("Per 100,000 adults")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    _thousands(ax.yaxis)
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    _title(fig, title)
    if len(gaps) == 0:
        gap_note = ""
    elif len(gaps) <= 4:
        gap_note = "Not shown: " + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + "."
    else:
        gap_note = f"Not shown: {len(gaps)} councils with no published rate ([c] or [x])."
    _footnote(fig, f"Each dot is one council. {RATES_NOTE}", gap_note)

    findings, description = [], [f"Each dot is one council. {RATES_NOTE}"]
    if n:
        ends = f"Lowest {who(low)} at {_fmt(low)}, median {_fmt(median)}, highest {who(high)} at {_fmt(high)}"
        spread = f"Rates ranged from {_fmt(low)} to {_fmt(high)}, median {_fmt(median)}"
        england = f"; England {_fmt(england_rate)}" if pd.notna(england_rate) else ""
        findings = [f"{ends}{england}.", f"{spread}{england}."]
    if pd.notna(england_rate):
        above = int((ranked["rate"] > england_rate).sum())
        below = int((ranked["rate"] < england_rate).sum())
        description.append(f"The dashed line is the rate for England, {_fmt(england_rate)}: {above} councils "
                           f"are above it and {below} below.")
    alt_text = _alt_text(
        f"Dot plot of adults receiving long-term support per 100,000 adults in each of {n} councils at {day}, "
        "ranked from lowest to highest.", *findings)
    if n:
        description.append("Councils from lowest to highest rate: "
                           + "; ".join(f"{r.area} {_fmt(r.rate)}" for r in ranked.itertuples()) + ".")
    if len(gaps):
        description.append(f"{len(gaps)} council{'s' if len(gaps) > 1 else ''} not shown, no published rate: "
                           + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + ".")
    return _save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _profile_table(lts: pd.DataFrame, date: str, breakdown: str, order: Sequence[str], settings: Sequence[str],
                   rounding_base: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """England at ``date``: numbers and cells, rows ``order`` x columns ``settings``; and the rows used."""
    rows = _select(lts, reference_date=date, area_level="England", breakdown=breakdown)
    rows = rows.assign(number=published_numbers(rows["value"], rounding_base=rounding_base),
                       cell=rows["value"].astype(str))
    numbers = rows.pivot_table(index="breakdown_value", columns="support_setting", values="number",
                               aggfunc="first", dropna=False).reindex(index=list(order), columns=list(settings))
    cells = (rows.pivot_table(index="breakdown_value", columns="support_setting", values="cell", aggfunc="first")
             .reindex(index=list(order), columns=list(settings)).fillna(NOT_AVAILABLE))
    return numbers, cells, rows


def _bars_with_labels(ax, labels: Sequence[str], numbers: pd.Series, cells: pd.Series, color: str,
                      xmax: float, fontsize: float) -> None:
    """Horizontal bars, first label at the top, each with its published value (or symbol) at its end."""
    y = np.arange(len(labels))[::-1]
    known = numbers.notna().to_numpy()
    ax.barh(y[known], numbers.to_numpy()[known], height=0.7, color=color)  # a gap gets no bar at all
    for yi, number, cell in zip(y, numbers, cells, strict=True):
        # Symbols are written where a bar would be, so a gap never reads as a zero.
        ax.text((number if pd.notna(number) else 0) + xmax * 0.02, yi, _cell(number, cell), va="center",
                ha="left", fontsize=fontsize, color=TEXT_COLOUR)
    ax.set_yticks(y, list(labels))
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, xmax * 1.35)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)


def _age_profile(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "age_profile"
    date = _latest(lts, "reference_date")
    numbers, cells, rows = _profile_table(lts, date, "Age band", AGE_BANDS, PROFILE_SETTINGS, rounding_base)
    totals_numbers, totals_cells, _ = _profile_table(lts, date, "All", ("All",), SETTINGS, rounding_base)
    totals = {s: _cell(totals_numbers.iloc[0][s], totals_cells.iloc[0][s]) for s in SETTINGS}
    unknown = _profile_table(lts, date, "Age band", ("Unknown",), SETTINGS, rounding_base)[1].iloc[0]
    day = _day(date)
    overall = numbers["All"].dropna()
    if len(overall):
        largest = overall.idxmax()
        title = (f"People aged {largest} were the largest age band receiving long-term support in England "
                 f"at {day} ({_fmt(overall.max())})")
    else:
        title = f"People receiving long-term support in England by age band at {day}"

    fig, axes = _new_figure(ncols=len(PROFILE_SETTINGS), sharey=True)
    for ax, setting, color in zip(axes, PROFILE_SETTINGS, AF_PALETTE, strict=False):
        xmax = max(1.0, np.nanmax(numbers[setting].to_numpy(dtype=float), initial=0))
        _bars_with_labels(ax, AGE_BANDS, numbers[setting], cells[setting], color, xmax, SMALL_FONT_PT)
        # The panel heading is the direct label: setting and its published total (dark text; the
        # bars carry the colour).
        ax.set_title(f"{SETTING_LABELS.get(setting, setting)}\n{totals[setting]} people",
                     fontsize=BASE_FONT_PT, fontweight="bold", color=TEXT_COLOUR, loc="left")
    _title(fig, title)
    notes = _councils_note(rows["councils_included"])
    age_note = (f"Each panel has its own scale. {_counts_note(facts)} "
                f"Unknown age (all settings): {unknown['All']}. Prison ({totals['Prison']} people) is not shown.")
    _footnote(fig, age_note, notes)

    panels = [SETTING_LABELS.get(s, s).lower() for s in PROFILE_SETTINGS]
    largest = {s: numbers[s].idxmax() for s in PROFILE_SETTINGS if numbers[s].notna().any()}
    findings = []
    if "All" in largest:
        overall = f"The largest age band was {largest['All']}, with {_fmt(numbers['All'].max())} people"
        other = [SETTING_LABELS.get(s, s).lower() for s, band in largest.items() if band != largest["All"]]
        # Name the other panels' largest band only when they share one: a list of bands is detail.
        other_bands = {band for band in largest.values() if band != largest["All"]}
        if other and len(other_bands) == 1:
            findings.append(f"{overall}; in {_listing(other)} it was {other_bands.pop()}.")
        findings.append(f"{overall}.")
    alt_text = _alt_text(
        f"Bar charts of people receiving long-term support in England by age band at {day}: {_listing(panels)}.",
        *findings)
    description = []
    for setting in PROFILE_SETTINGS:
        label = SETTING_LABELS.get(setting, setting)
        if setting not in largest:
            description.append(f"{label} ({totals[setting]} people): all age bands suppressed.")
            continue
        description.append(
            f"{label} ({totals[setting]} people), largest band {largest[setting]}: " + ", ".join(
                f"{b} {_cell(numbers.loc[b, setting], cells.loc[b, setting])}" for b in AGE_BANDS) + ".")
    description += [age_note] + ([notes] if notes else [])
    return _save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _ethnicity_profile(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "ethnicity_profile"
    date = _latest(lts, "reference_date")
    numbers, cells, rows = _profile_table(lts, date, "Ethnicity group", ETHNICITY_GROUPS, ("All",), rounding_base)
    total_numbers, total_cells, _ = _profile_table(lts, date, "All", ("All",), ("All",), rounding_base)
    total = _cell(total_numbers.iloc[0, 0], total_cells.iloc[0, 0])
    day = _day(date)
    known = numbers["All"].drop("No data").dropna()
    if len(known):
        title = (f"{known.idxmax()} was the largest ethnic group of people receiving long-term support in "
                 f"England at {day}")
    else:
        title = f"People receiving long-term support in England by ethnic group at {day}"

    fig, ax = _new_figure()
    labels = ["\n".join(textwrap.wrap(g, 26)) for g in ETHNICITY_GROUPS]
    xmax = max(1.0, np.nanmax(numbers["All"].to_numpy(dtype=float), initial=0))
    _bars_with_labels(ax, labels, numbers["All"], cells["All"], AF_PALETTE[0], xmax, BASE_FONT_PT)
    ax.set_xlim(0, xmax * 1.15)
    _title(fig, title)
    notes = _councils_note(rows["councils_included"])
    ethnicity_note = (f"All support settings: {total} people. {_counts_note(facts)} "
                      "No data: ethnicity refused, undeclared or not known.")
    _footnote(fig, ethnicity_note, notes)
    ranked = known.sort_values(ascending=False, kind="stable")
    findings = []
    # "largest" only when one group is: a tie is detail for the description.
    if len(ranked) == 1 or (len(ranked) > 1 and ranked.iloc[1] < ranked.iloc[0]):
        largest = f"{ranked.index[0]} was the largest group, with {_fmt(ranked.iloc[0])} people"
        if len(ranked) > 2 and ranked.iloc[2] < ranked.iloc[1]:
            findings.append(f"{largest}; the next was {ranked.index[1]}, with {_fmt(ranked.iloc[1])}.")
        findings.append(f"{largest}.")
    alt_text = _alt_text(
        f"Bar chart of people receiving long-term support in England at {day} by ethnic group, all settings.",
        *findings)
    description = ["Ethnic groups: " + "; ".join(
        f"{g} {_cell(v, c)}" for g, v, c in zip(ETHNICITY_GROUPS, numbers["All"], cells["All"], strict=True)) + ".",
        ethnicity_note] + ([notes] if notes else [])
    return _save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _assessments_trend(assessments: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "assessments_trend"
    rows = _select(assessments, area_level="England", breakdown="All", breakdown_value="All")
    months = rows["reference_month"].astype(str)
    monthly = rows[months.str.fullmatch(r"\d{4}-\d{2}")]
    periods = sorted(monthly["reference_month"].astype(str).unique())
    if not periods:
        raise ValueError("assessments has no England monthly rows")
    monthly = monthly.drop_duplicates("reference_month")
    cells = (pd.Series(monthly["value"].astype(str).to_numpy(), index=monthly["reference_month"].astype(str).to_numpy())
             .reindex(periods).fillna(NOT_AVAILABLE).reset_index(drop=True))
    values = published_numbers(cells, rounding_base=rounding_base)
    total_cells = rows.loc[months == "Total", "value"].astype(str)
    total_cell = total_cells.iloc[0] if len(total_cells) else ""
    year_total = published_numbers(total_cells, rounding_base=rounding_base).iloc[0] if len(total_cells) else np.nan
    first, last = _month(periods[0]), _month(periods[-1])
    known = values.dropna()
    if len(known):
        title = (f"Between {_fmt(known.min())} and {_fmt(known.max())} people were assessed each month in England "
                 f"from {first} to {last}")
    else:
        title = f"People assessed each month in England, {first} to {last}"

    fig, ax = _new_figure()
    x = np.arange(len(periods))
    ax.plot(x, values.to_numpy(), color=AF_PALETTE[0], linewidth=2.2, marker="o", markersize=4)
    ax.set_ylim(0, max(1.0, np.nanmax(values.to_numpy(dtype=float), initial=0)) * 1.15)
    ax.set_xlim(-0.3, len(periods) - 1 + _label_room(len(periods), 0.12))
    _monthly_axes(ax, periods, "People assessed in the month")
    _title(fig, title)
    if len(known):
        end = known.index[-1]
        ax.annotate(f"{_month(periods[end])[:3]}: {_fmt(known.iloc[-1])}", (end, known.iloc[-1]),
                    xytext=(8, 0), textcoords="offset points", va="center", ha="left", fontsize=BASE_FONT_PT,
                    fontweight="bold", color=AF_PALETTE[0])
    notes = _councils_note(rows["councils_included"])
    trend_note = _trend_note(facts)
    _footnote(fig, trend_note, notes)
    findings = []
    if len(known) >= 2:
        change = (f"The number {_change(known.iloc[0], known.iloc[-1])} between {_month(periods[known.index[0]])} "
                  f"and {_month(periods[known.index[-1]])}")
        extremes = known.iloc[[0, -1]]
        if known.min() < extremes.min() or known.max() > extremes.max():
            findings.append(f"{change}, ranging from {_fmt(known.min())} to {_fmt(known.max())}.")
        findings.append(f"{change}.")
    elif len(known) == 1:
        findings.append(f"{_fmt(known.iloc[0])} people were assessed in {_month(periods[known.index[0]])}.")
    alt_text = _alt_text(
        f"Line chart of people assessed in England each month from {first} to {last}: adults with no long-term "
        f"support in the {facts.look_back_phrase} before the assessment.", *findings)
    description = [
        _trend_sentence("People assessed", periods, values),
        "Monthly figures: " + ", ".join(
            f"{_month(p)} {_cell(v, c)}" for p, v, c in zip(periods, values, cells, strict=True)) + ".",
    ]
    if total_cell:
        description.append(f"Total of the months: {_cell(year_total, total_cell)}.")
    description += [trend_note] + ([notes] if notes else [])
    return _save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


# --------------------------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------------------------- #

def make_charts(published: Mapping[str, pd.DataFrame], out_dir: Path, *, facts: MethodFacts,
                highlight: Sequence[str] = ()) -> list[Chart]:
    """Draw the month's charts from the published tables and write them with their alt text.

    Parameters
    ----------
    published : Mapping[str, pandas.DataFrame]
        The published frames ``long_term_support``, ``long_term_support_rates`` and ``assessments``
        (DESIGN.md output contract: values are published cells, strings).
    out_dir : pathlib.Path
        The charts folder (``reports/<YYYY-MM>/charts``); created if absent.
    facts : cldstats.reference.statements.MethodFacts
        The run's method (:meth:`MethodFacts.from_params`): footnotes, long descriptions and alt
        text state its rounding and look-back, and every count charted must be a multiple of its
        ``rounding_base`` (a guard against charting unrounded tables).
    highlight : Sequence[str], optional
        Council codes or names to pick out in ``council_rates_ranked``; none by default.

    Returns
    -------
    list[Chart]
        One per chart, in the order of :data:`CHART_NAMES`.

    Raises
    ------
    KeyError
        A published frame is missing.
    ValueError
        A cell is not a published value, or a frame has none of the rows a chart needs.

    Notes
    -----
    Writes ``<name>.png``, ``<name>.svg`` and ``<name>.txt`` (alt text) per chart and
    ``charts.json`` (the index). The same frames give byte-identical files.
    """
    missing = [k for k in ("long_term_support", "long_term_support_rates", "assessments") if k not in published]
    if missing:
        raise KeyError(f"published frames missing: {', '.join(missing)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lts, rates = published["long_term_support"], published["long_term_support_rates"]

    with style.context("default"), matplotlib.rc_context(_style()):
        charts = [
            _england_trend_by_setting(lts, out_dir, facts),
            _rate_by_region(rates, out_dir),
            _council_rates_ranked(rates, out_dir, highlight),
            _age_profile(lts, out_dir, facts),
            _ethnicity_profile(lts, out_dir, facts),
            _assessments_trend(published["assessments"], out_dir, facts),
        ]
    for chart in charts:
        chart.alt_text_file.write_text(chart.alt_text + "\n", encoding="utf-8")
    index = {"charts": [chart.index_entry() for chart in charts]}
    (out_dir / "charts.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return charts
