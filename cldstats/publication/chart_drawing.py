"""How the charts are drawn and written (:mod:`cldstats.publication.charts`): the Analysis Function
palette and text colours, the matplotlib style, figures with title and footnote, axes, direct
labels and bars, and the deterministic PNG and SVG files of a :class:`Chart` (the SVG named by its
alt text and described by its long description).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, DrawingArea
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cldstats import __version__
from cldstats.publication.chart_text import ALT_TEXT_MAX, MONTHS, SOURCE_NOTE, cell_text, fmt_number

# Government Analysis Function categorical palette, in the order it must be used.
AF_PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
REFERENCE_GREY = "#3D3D3D"
TEXT_COLOUR = "#0B0C0C"  # GOV.UK text colour: 19:1 on white
TEXT_GREY = "#505050"  # footnotes: 7:1 contrast on white, still visibly secondary to the data
KEY_WIDTH_PT = 14.0  # the line sample beside a direct label

FIGSIZE = (8.0, 4.5)  # inches: a full report column
PNG_DPI = 150
BASE_FONT_PT = 10
SMALL_FONT_PT = 9  # the floor for any text on a chart
TITLE_WRAP = 68  # characters of 12 pt bold in 8 in
NOTE_WRAP = 105  # characters of 9 pt in 8 in


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


@lru_cache(maxsize=1)
def _font_family() -> str:
    """Arial if installed (Analysis Function guidance), else DejaVu Sans (ships with matplotlib)."""
    try:
        font_manager.findfont(font_manager.FontProperties(family="Arial"), fallback_to_default=False)
    except ValueError:
        return "DejaVu Sans"
    return "Arial"


def chart_style() -> dict[str, object]:
    """The matplotlib settings every chart is drawn with (fonts, sizes, colours, deterministic SVG)."""
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


def new_figure(figsize: tuple[float, float] = FIGSIZE, **subplots) -> tuple[Figure, object]:
    """A figure of ``figsize`` inches and its axes (``subplots`` as ``Figure.subplots``), room left for the footnote."""
    # Figure() directly, not pyplot: no global figure registry, no GUI backend, safe in notebooks.
    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    # Room at the bottom for the source and notes, which constrained layout does not manage.
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93), h_pad=0.06, w_pad=0.06)
    axes = fig.subplots(**subplots)
    return fig, axes


def add_footnote(fig: Figure, *notes: str) -> None:
    """``notes`` and the source, wrapped, at the bottom left of ``fig``, the layout kept clear of them."""
    lines = [line for note in (*notes, SOURCE_NOTE) if note for line in textwrap.wrap(note, NOTE_WRAP)]
    text = "\n".join(lines)
    # Bottom-left, growing upwards; the layout rect above keeps it clear of the axes.
    fig.text(0.01, 0.01, text, ha="left", va="bottom", fontsize=SMALL_FONT_PT, color=TEXT_GREY, wrap=False)
    lines = text.count("\n") + 1
    bottom = min(0.35, 0.03 + lines * (SMALL_FONT_PT * 1.35) / 72 / fig.get_figheight())
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom + 0.0))


def add_title(fig: Figure, text: str) -> None:
    """``text`` as the figure's title, bold, wrapped and flush left."""
    # A figure-level title, flush with the left edge whatever the axis labels' width; wrapped at a
    # width that fits 8 in at 12 pt bold.
    fig.suptitle("\n".join(textwrap.wrap(text, TITLE_WRAP)), x=0.01, ha="left", fontsize=12, fontweight="bold")


def thousands_axis(ax_axis) -> None:
    """Tick labels of ``ax_axis`` with thousands separators."""
    ax_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def save_chart(fig: Figure, out_dir: Path, name: str, title: str, alt_text: str, description: str) -> Chart:
    """Write ``<name>.png`` and ``<name>.svg`` deterministically and return the :class:`Chart`."""
    if len(alt_text) > ALT_TEXT_MAX:  # pragma: no cover - compose_alt_text keeps within it
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


def direct_labels(fig: Figure, ax, x: float, ys: Sequence[float], texts: Sequence[str],
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


def label_room(n_periods: int, share: float) -> float:
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


def monthly_axes(ax, periods, ylabel: str) -> None:
    """Axes of a monthly trend: month ticks, whole-number value axis with thousands separators and
    a light grid behind the lines."""
    _month_axis(ax, periods)
    ax.spines["bottom"].set_bounds(0, len(periods) - 1)
    thousands_axis(ax.yaxis)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.set_ylabel(ylabel)


def bars_with_labels(ax, labels: Sequence[str], numbers: pd.Series, cells: pd.Series, color: str,
                      xmax: float, fontsize: float) -> None:
    """Horizontal bars, first label at the top, each with its published value (or symbol) at its end."""
    y = np.arange(len(labels))[::-1]
    known = numbers.notna().to_numpy()
    ax.barh(y[known], numbers.to_numpy()[known], height=0.7, color=color)  # a gap gets no bar at all
    for yi, number, cell in zip(y, numbers, cells, strict=True):
        # Symbols are written where a bar would be, so a gap never reads as a zero.
        ax.text((number if pd.notna(number) else 0) + xmax * 0.02, yi, cell_text(number, cell), va="center",
                ha="left", fontsize=fontsize, color=TEXT_COLOUR)
    ax.set_yticks(y, list(labels))
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, xmax * 1.35)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)


def draw_ranked_dots(ax, ranked: pd.DataFrame, highlight: Sequence[str], england_rate: float,
                     marks: Sequence[tuple]) -> None:
    """Councils' rates as dots ranked from left to right (``ranked``: ``code``, ``area``, ``rate``),
    the ``highlight`` councils picked out and named, the England rate as a dashed line (none when
    NaN) and each of ``marks`` (x, y, text, offset in points, alignment) annotated.
    """
    n = len(ranked)
    x = np.arange(1, n + 1)
    is_highlight = ranked["code"].isin(list(highlight)) | ranked["area"].isin(list(highlight))
    ax.scatter(x[~is_highlight.to_numpy()], ranked.loc[~is_highlight, "rate"], s=16, color=AF_PALETTE[0],
               linewidths=0, zorder=3)
    if is_highlight.any():
        ax.scatter(x[is_highlight.to_numpy()], ranked.loc[is_highlight, "rate"], s=40, color=AF_PALETTE[3],
                   linewidths=0, zorder=4)
        for xi, r in zip(x[is_highlight.to_numpy()], ranked[is_highlight].itertuples(), strict=True):
            # Dark text: the orange dot marks the council, orange text would be 3.0:1 on white.
            ax.annotate(f"{r.area}: {fmt_number(r.rate)}", (xi, r.rate), xytext=(0, -16), textcoords="offset points",
                        ha="center", fontsize=SMALL_FONT_PT, color=TEXT_COLOUR, fontweight="bold")
    top = max(1.0, np.nanmax(np.append(ranked["rate"].to_numpy(dtype=float), england_rate)))
    ax.set_ylim(0, top * 1.22)
    ax.set_xlim(0, max(n, 1) + 1 + max(n, 10) * 0.12)  # right-hand room for the England label
    if pd.notna(england_rate):
        # The line stops short of its label, which sits clear of the dots at the right.
        ax.hlines(england_rate, 0.5, max(n, 1) + 0.5, color=REFERENCE_GREY, linestyle="--", linewidth=1.2, zorder=2)
        ax.text(max(n, 1) + 1.5, england_rate, f"England: {fmt_number(england_rate)}", va="center", ha="left",
                fontsize=SMALL_FONT_PT + 1, color=REFERENCE_GREY, fontweight="bold")
    for xi, yi, text, offset, ha in marks:
        ax.annotate(text, (xi, yi), xytext=offset, textcoords="offset points", ha=ha, va="center",
                    fontsize=SMALL_FONT_PT + 1, color=TEXT_COLOUR,
                    arrowprops={"arrowstyle": "-", "color": TEXT_GREY, "linewidth": 0.8, "shrinkA": 0, "shrinkB": 3})
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlabel(f"{n} councils, ordered from lowest to highest rate")
    ax.set_ylabel("Per 100,000 adults")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    thousands_axis(ax.yaxis)
    ax.grid(axis="y")
    ax.set_axisbelow(True)
