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

import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import style
from matplotlib.ticker import MaxNLocator

from cldstats.publication.chart_data import (
    AGE_BANDS,
    ETHNICITY_GROUPS,
    PROFILE_SETTINGS,
    SETTINGS,
    latest_period,
    latest_rates,
    profile_table,
    published_numbers,
    select_rows,
)
from cldstats.publication.chart_drawing import (
    AF_PALETTE,
    BASE_FONT_PT,
    REFERENCE_GREY,
    SMALL_FONT_PT,
    TEXT_COLOUR,
    Chart,
    add_footnote,
    add_title,
    bars_with_labels,
    chart_style,
    direct_labels,
    draw_ranked_dots,
    label_room,
    monthly_axes,
    new_figure,
    save_chart,
    thousands_axis,
)
from cldstats.publication.chart_text import (
    ALT_TEXT_MAX,
    RATES_NOTE,
    SETTING_LABELS,
    capitalised,
    cell_text,
    change_text,
    compose_alt_text,
    councils_footnote,
    counts_footnote,
    day_text,
    fmt_number,
    listing,
    month_text,
    trend_footnote,
    trend_sentence,
    who_has,
)
from cldstats.reference.statements import NOT_AVAILABLE, MethodFacts

__all__ = [
    "AF_PALETTE",
    "ALT_TEXT_MAX",
    "CHART_NAMES",
    "Chart",
    "make_charts",
]


CHART_NAMES = (
    "england_trend_by_setting",
    "rate_by_region",
    "council_rates_ranked",
    "age_profile",
    "ethnicity_profile",
    "assessments_trend",
)


def _england_trend_by_setting(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    name = "england_trend_by_setting"
    rows = select_rows(lts, area_level="England", breakdown="All", breakdown_value="All")
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
    first, last = month_text(periods[0]), month_text(periods[-1])

    total = values["All"].dropna() if "All" in values else pd.Series(dtype=float)
    if len(total) >= 2:
        title = (f"The number of people receiving long-term support in England "
                 f"{change_text(total.iloc[0], total.iloc[-1])} between {first} and {last}")
    else:
        title = f"People receiving long-term support in England by support setting, {first} to {last}"

    fig, ax = new_figure()
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
            labels.append(f"{SETTING_LABELS.get(setting, setting)}: {fmt_number(known.iloc[-1])}")
            colors.append(color)
            widths.append(width)
    ax.set_ylim(bottom=0, top=max(1.0, np.nanmax(values.to_numpy(dtype=float), initial=0)) * 1.08)
    ax.set_xlim(-0.3, len(periods) - 1 + label_room(len(periods), 0.19))  # room for the direct labels
    monthly_axes(ax, periods, "People at the month end")
    add_title(fig, title)
    notes = councils_footnote(rows["councils_included"])
    trend_note = trend_footnote(facts)
    add_footnote(fig, trend_note, notes)
    # Labels at each series' last published month, nudged apart where lines are close.
    if ends:
        direct_labels(fig, ax, len(periods) - 1, [y for _, y in ends], labels, colors, widths,
                       gap_pt=BASE_FONT_PT * 1.35)

    findings = []
    if len(total) >= 2:
        findings.append(f"all settings {change_text(total.iloc[0], total.iloc[-1])}")
    latest = values.drop(columns="All", errors="ignore").iloc[-1].dropna()
    if len(latest) and (latest == latest.max()).sum() == 1:
        largest = SETTING_LABELS.get(latest.idxmax(), latest.idxmax()).lower()
        findings.append(f"{largest} was the largest setting, at {fmt_number(latest.max())} in {last}")
    alt_text = compose_alt_text(
        f"Line chart of people receiving long-term support in England at each month end from {first} to {last}, "
        "by support setting.",
        *([capitalised("; ".join(findings)) + "."] if len(findings) == 2 else []),
        *(capitalised(f) + "." for f in findings),
    )
    description = " ".join(
        ["One line for all settings and one for each support setting."]
        + [trend_sentence(SETTING_LABELS.get(s, s), periods, values[s]) for s in values.columns]
        + ["Monthly figures: " + "; ".join(
            f"{SETTING_LABELS.get(s, s)}: " + ", ".join(
                f"{month_text(p)} {cell_text(v, c)}" for p, v, c in zip(periods, values[s], cells[s], strict=True))
            for s in values.columns) + ".",
           trend_note]
        + ([notes] if notes else [])
    )
    return save_chart(fig, out_dir, name, title, alt_text, description)


def _rate_by_region(rates: pd.DataFrame, out_dir: Path) -> Chart:
    name = "rate_by_region"
    date, regions, england_rate = latest_rates(rates, "Region")
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

    day = day_text(date)
    if len(known):
        title = (f"The rate of adults receiving long-term support ranged from {fmt_number(known['rate'].min())} to "
                 f"{fmt_number(known['rate'].max())} per 100,000 adults across regions at {day}")
    else:
        title = f"Adults receiving long-term support per 100,000 adults by region at {day}"

    fig, ax = new_figure()
    y = np.arange(len(table))[::-1]  # first row at the top
    has_rate = table["rate"].notna().to_numpy()
    ax.barh(y[has_rate], table["rate"].to_numpy()[has_rate], height=0.65, color=AF_PALETTE[0])
    xmax = max(1.0, np.nanmax(np.append(table["rate"].to_numpy(dtype=float), england_rate)))
    for yi, rate, cell in zip(y, table["rate"], table["cell"], strict=True):
        # A gap is written as its symbol where the bar would be: absent, not zero.
        text = fmt_number(rate) if pd.notna(rate) else f"{cell} not published"
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
        ax.text(england_rate, len(table) - 0.4 + 0.4, f" England: {fmt_number(england_rate)}", ha="left", va="center",
                fontsize=SMALL_FONT_PT + 1, color=REFERENCE_GREY, fontweight="bold")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    thousands_axis(ax.xaxis)
    ax.set_xlabel("Adults receiving long-term support per 100,000 adults")
    add_title(fig, title)
    partial = table[table["councils"].str.extract(r"^(\d+) of (\d+)$").astype(float).pipe(lambda p: p[0] < p[1])]
    partial_note = "; ".join(f"{r.area} includes {r.councils} councils" for r in partial.itertuples())
    add_footnote(fig, RATES_NOTE, (partial_note + ".") if partial_note else "")

    england = f"England {fmt_number(england_rate)}" if pd.notna(england_rate) else ""
    findings = []
    if len(known):
        low, high = known["rate"].min(), known["rate"].max()
        ends = (f"Highest {who_has(known, 'rate', high, 'regions')} at {fmt_number(high)}, "
                f"lowest {who_has(known, 'rate', low, 'regions')} at {fmt_number(low)}")
        findings = [f"{ends}; {england}." if england else f"{ends}.",
                    f"Rates ranged from {fmt_number(low)} to {fmt_number(high)}"
                    + (f"; {england}." if england else ".")]
    alt_text = compose_alt_text(
        f"Bar chart of adults receiving long-term support per 100,000 adults in each region of England at {day}.",
        *findings)
    description = ["Regions from highest to lowest rate: "
                   + "; ".join(f"{r.area} {cell_text(r.rate, r.cell)}" for r in table.itertuples()) + "."]
    if england:
        description.append(f"The dashed line is the rate for England, {fmt_number(england_rate)}.")
    gaps = table[table["rate"].isna()]
    if len(gaps):
        description.append("Not published: " + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + ".")
    description.append(RATES_NOTE)
    if partial_note:
        description.append(capitalised(partial_note) + "; councils with no data are not included.")
    return save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _council_rates_ranked(rates: pd.DataFrame, out_dir: Path, highlight: Sequence[str]) -> Chart:
    name = "council_rates_ranked"
    date, councils, england_rate = latest_rates(rates, "Local Authority")
    table = pd.DataFrame({
        "code": councils["area_code"].astype(str).to_numpy(),
        "area": councils["area_name"].astype(str).to_numpy(),
        "cell": councils["rate"].astype(str).to_numpy(),
        "rate": published_numbers(councils["rate"]).to_numpy(),
    })
    gaps = table[table["rate"].isna()].sort_values("area", kind="stable")
    ranked = (table.dropna(subset=["rate"]).sort_values(["rate", "area"], kind="stable").reset_index(drop=True))
    day = day_text(date)
    n = len(ranked)

    def who(rate: float) -> str:
        return who_has(ranked, "rate", rate, "councils")

    if n:
        low, high = ranked["rate"].iloc[0], ranked["rate"].iloc[-1]
        # The lower median is a council's own published rate: never a half-way number nobody published.
        median = ranked["rate"].iloc[(n - 1) // 2]
        title = (f"Council rates of adults receiving long-term support ranged from {fmt_number(low)} to "
                 f"{fmt_number(high)} per 100,000 adults at {day}")
        # Annotate the three points that anchor the ranking; offsets alternate so labels do not collide.
        marks = [(1, low, f"Lowest: {who(low)}, {fmt_number(low)}", (10, 22), "left"),
                 ((n - 1) // 2 + 1, median, f"Median: {fmt_number(median)}", (0, 22), "center"),
                 (n, high, f"Highest: {who(high)}, {fmt_number(high)}", (-8, 14), "right")]
    else:
        title = f"Council rates of adults receiving long-term support at {day}"
        marks = []

    fig, ax = new_figure()
    draw_ranked_dots(ax, ranked, highlight, england_rate, marks)
    add_title(fig, title)
    if len(gaps) == 0:
        gap_note = ""
    elif len(gaps) <= 4:
        gap_note = "Not shown: " + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + "."
    else:
        gap_note = f"Not shown: {len(gaps)} councils with no published rate ([c] or [x])."
    add_footnote(fig, f"Each dot is one council. {RATES_NOTE}", gap_note)

    findings, description = [], [f"Each dot is one council. {RATES_NOTE}"]
    if n:
        ends = (f"Lowest {who(low)} at {fmt_number(low)}, median {fmt_number(median)}, "
                f"highest {who(high)} at {fmt_number(high)}")
        spread = f"Rates ranged from {fmt_number(low)} to {fmt_number(high)}, median {fmt_number(median)}"
        england = f"; England {fmt_number(england_rate)}" if pd.notna(england_rate) else ""
        findings = [f"{ends}{england}.", f"{spread}{england}."]
    if pd.notna(england_rate):
        above = int((ranked["rate"] > england_rate).sum())
        below = int((ranked["rate"] < england_rate).sum())
        description.append(f"The dashed line is the rate for England, {fmt_number(england_rate)}: {above} councils "
                           f"are above it and {below} below.")
    alt_text = compose_alt_text(
        f"Dot plot of adults receiving long-term support per 100,000 adults in each of {n} councils at {day}, "
        "ranked from lowest to highest.", *findings)
    if n:
        description.append("Councils from lowest to highest rate: "
                           + "; ".join(f"{r.area} {fmt_number(r.rate)}" for r in ranked.itertuples()) + ".")
    if len(gaps):
        description.append(f"{len(gaps)} council{'s' if len(gaps) > 1 else ''} not shown, no published rate: "
                           + ", ".join(f"{r.area} ({r.cell})" for r in gaps.itertuples()) + ".")
    return save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _age_profile(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "age_profile"
    date = latest_period(lts, "reference_date")
    numbers, cells, rows = profile_table(lts, date, "Age band", AGE_BANDS, PROFILE_SETTINGS, rounding_base)
    totals_numbers, totals_cells, _ = profile_table(lts, date, "All", ("All",), SETTINGS, rounding_base)
    totals = {s: cell_text(totals_numbers.iloc[0][s], totals_cells.iloc[0][s]) for s in SETTINGS}
    unknown = profile_table(lts, date, "Age band", ("Unknown",), SETTINGS, rounding_base)[1].iloc[0]
    day = day_text(date)
    overall = numbers["All"].dropna()
    if len(overall):
        largest = overall.idxmax()
        title = (f"People aged {largest} were the largest age band receiving long-term support in England "
                 f"at {day} ({fmt_number(overall.max())})")
    else:
        title = f"People receiving long-term support in England by age band at {day}"

    fig, axes = new_figure(ncols=len(PROFILE_SETTINGS), sharey=True)
    for ax, setting, color in zip(axes, PROFILE_SETTINGS, AF_PALETTE, strict=False):
        xmax = max(1.0, np.nanmax(numbers[setting].to_numpy(dtype=float), initial=0))
        bars_with_labels(ax, AGE_BANDS, numbers[setting], cells[setting], color, xmax, SMALL_FONT_PT)
        # The panel heading is the direct label: setting and its published total (dark text; the
        # bars carry the colour).
        ax.set_title(f"{SETTING_LABELS.get(setting, setting)}\n{totals[setting]} people",
                     fontsize=BASE_FONT_PT, fontweight="bold", color=TEXT_COLOUR, loc="left")
    add_title(fig, title)
    notes = councils_footnote(rows["councils_included"])
    age_note = (f"Each panel has its own scale. {counts_footnote(facts)} "
                f"Unknown age (all settings): {unknown['All']}. Prison ({totals['Prison']} people) is not shown.")
    add_footnote(fig, age_note, notes)

    panels = [SETTING_LABELS.get(s, s).lower() for s in PROFILE_SETTINGS]
    largest = {s: numbers[s].idxmax() for s in PROFILE_SETTINGS if numbers[s].notna().any()}
    findings = []
    if "All" in largest:
        overall = f"The largest age band was {largest['All']}, with {fmt_number(numbers['All'].max())} people"
        other = [SETTING_LABELS.get(s, s).lower() for s, band in largest.items() if band != largest["All"]]
        # Name the other panels' largest band only when they share one: a list of bands is detail.
        other_bands = {band for band in largest.values() if band != largest["All"]}
        if other and len(other_bands) == 1:
            findings.append(f"{overall}; in {listing(other)} it was {other_bands.pop()}.")
        findings.append(f"{overall}.")
    alt_text = compose_alt_text(
        f"Bar charts of people receiving long-term support in England by age band at {day}: {listing(panels)}.",
        *findings)
    description = []
    for setting in PROFILE_SETTINGS:
        label = SETTING_LABELS.get(setting, setting)
        if setting not in largest:
            description.append(f"{label} ({totals[setting]} people): all age bands suppressed.")
            continue
        description.append(
            f"{label} ({totals[setting]} people), largest band {largest[setting]}: " + ", ".join(
                f"{b} {cell_text(numbers.loc[b, setting], cells.loc[b, setting])}" for b in AGE_BANDS) + ".")
    description += [age_note] + ([notes] if notes else [])
    return save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _ethnicity_profile(lts: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "ethnicity_profile"
    date = latest_period(lts, "reference_date")
    numbers, cells, rows = profile_table(lts, date, "Ethnicity group", ETHNICITY_GROUPS, ("All",), rounding_base)
    total_numbers, total_cells, _ = profile_table(lts, date, "All", ("All",), ("All",), rounding_base)
    total = cell_text(total_numbers.iloc[0, 0], total_cells.iloc[0, 0])
    day = day_text(date)
    known = numbers["All"].drop("No data").dropna()
    if len(known):
        title = (f"{known.idxmax()} was the largest ethnic group of people receiving long-term support in "
                 f"England at {day}")
    else:
        title = f"People receiving long-term support in England by ethnic group at {day}"

    fig, ax = new_figure()
    labels = ["\n".join(textwrap.wrap(g, 26)) for g in ETHNICITY_GROUPS]
    xmax = max(1.0, np.nanmax(numbers["All"].to_numpy(dtype=float), initial=0))
    bars_with_labels(ax, labels, numbers["All"], cells["All"], AF_PALETTE[0], xmax, BASE_FONT_PT)
    ax.set_xlim(0, xmax * 1.15)
    add_title(fig, title)
    notes = councils_footnote(rows["councils_included"])
    ethnicity_note = (f"All support settings: {total} people. {counts_footnote(facts)} "
                      "No data: ethnicity refused, undeclared or not known.")
    add_footnote(fig, ethnicity_note, notes)
    ranked = known.sort_values(ascending=False, kind="stable")
    findings = []
    # "largest" only when one group is: a tie is detail for the description.
    if len(ranked) == 1 or (len(ranked) > 1 and ranked.iloc[1] < ranked.iloc[0]):
        largest = f"{ranked.index[0]} was the largest group, with {fmt_number(ranked.iloc[0])} people"
        if len(ranked) > 2 and ranked.iloc[2] < ranked.iloc[1]:
            findings.append(f"{largest}; the next was {ranked.index[1]}, with {fmt_number(ranked.iloc[1])}.")
        findings.append(f"{largest}.")
    alt_text = compose_alt_text(
        f"Bar chart of people receiving long-term support in England at {day} by ethnic group, all settings.",
        *findings)
    description = ["Ethnic groups: " + "; ".join(
        f"{g} {cell_text(v, c)}" for g, v, c in zip(ETHNICITY_GROUPS, numbers["All"], cells["All"], strict=True)) + ".",
        ethnicity_note] + ([notes] if notes else [])
    return save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


def _assessments_trend(assessments: pd.DataFrame, out_dir: Path, facts: MethodFacts) -> Chart:
    rounding_base = facts.rounding_base
    name = "assessments_trend"
    rows = select_rows(assessments, area_level="England", breakdown="All", breakdown_value="All")
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
    first, last = month_text(periods[0]), month_text(periods[-1])
    known = values.dropna()
    if len(known):
        title = (f"Between {fmt_number(known.min())} and {fmt_number(known.max())} people were assessed each month "
                 f"in England from {first} to {last}")
    else:
        title = f"People assessed each month in England, {first} to {last}"

    fig, ax = new_figure()
    x = np.arange(len(periods))
    ax.plot(x, values.to_numpy(), color=AF_PALETTE[0], linewidth=2.2, marker="o", markersize=4)
    ax.set_ylim(0, max(1.0, np.nanmax(values.to_numpy(dtype=float), initial=0)) * 1.15)
    ax.set_xlim(-0.3, len(periods) - 1 + label_room(len(periods), 0.12))
    monthly_axes(ax, periods, "People assessed in the month")
    add_title(fig, title)
    if len(known):
        end = known.index[-1]
        ax.annotate(f"{month_text(periods[end])[:3]}: {fmt_number(known.iloc[-1])}", (end, known.iloc[-1]),
                    xytext=(8, 0), textcoords="offset points", va="center", ha="left", fontsize=BASE_FONT_PT,
                    fontweight="bold", color=AF_PALETTE[0])
    notes = councils_footnote(rows["councils_included"])
    trend_note = trend_footnote(facts)
    add_footnote(fig, trend_note, notes)
    findings = []
    if len(known) >= 2:
        change = (f"The number {change_text(known.iloc[0], known.iloc[-1])} between "
                  f"{month_text(periods[known.index[0]])} and {month_text(periods[known.index[-1]])}")
        extremes = known.iloc[[0, -1]]
        if known.min() < extremes.min() or known.max() > extremes.max():
            findings.append(f"{change}, ranging from {fmt_number(known.min())} to {fmt_number(known.max())}.")
        findings.append(f"{change}.")
    elif len(known) == 1:
        findings.append(f"{fmt_number(known.iloc[0])} people were assessed in {month_text(periods[known.index[0]])}.")
    alt_text = compose_alt_text(
        f"Line chart of people assessed in England each month from {first} to {last}: adults with no long-term "
        f"support in the {facts.look_back_phrase} before the assessment.", *findings)
    description = [
        trend_sentence("People assessed", periods, values),
        "Monthly figures: " + ", ".join(
            f"{month_text(p)} {cell_text(v, c)}" for p, v, c in zip(periods, values, cells, strict=True)) + ".",
    ]
    if total_cell:
        description.append(f"Total of the months: {cell_text(year_total, total_cell)}.")
    description += [trend_note] + ([notes] if notes else [])
    return save_chart(fig, out_dir, name, title, alt_text, " ".join(description))


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

    with style.context("default"), matplotlib.rc_context(chart_style()):
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
