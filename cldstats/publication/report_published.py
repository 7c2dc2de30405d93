"""The published family of notebook helpers (docs/methodology.md section 7): headlines and
commentary, the release summary and downloads, charts, display tables and notes of the published
pages, all from ``data/*.csv``, ``charts/`` and the run's method, never ``qa/``.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cldstats import reference
from cldstats.core.errors import CldstatsError
from cldstats.publication.report_format import (
    cell_number,
    change_phrase,
    checked_id,
    display_count,
    display_html,
    download_item,
    fmt_count,
    fmt_day,
    fmt_month,
    table_html,
)
from cldstats.publication.report_release import ENGLAND, HTML_TO_RELEASE, Release
from cldstats.reference import statements
from cldstats.reference.statements import PROVISIONAL, SYMBOLS

# Charts each notebook shows, by name (cldstats.publication.charts writes them with these names).
PUBLICATION_CHARTS = ("england_trend_by_setting", "rate_by_region", "assessments_trend")
LONG_TERM_SUPPORT_CHARTS = (
    "england_trend_by_setting", "rate_by_region", "council_rates_ranked", "age_profile", "ethnicity_profile",
)
ASSESSMENTS_CHARTS = ("assessments_trend",)


# ---------------------------------------------------------------------------------------------
# Published figures (data/*.csv only)
# ---------------------------------------------------------------------------------------------


def _lts_england(release: Release, setting: str = "All") -> pd.DataFrame:
    lts = release.csv("data/long_term_support.csv")
    rows = lts[
        (lts["area_level"] == ENGLAND) & (lts["support_setting"] == setting)
        & (lts["breakdown"] == "All") & (lts["breakdown_value"] == "All")
    ]
    return rows.sort_values("reference_date")


def _year_earlier(release: Release, table: str, column: str, period: str, **match: str) -> float | None:
    """The published value of the same cell a year earlier: in this release if it reaches back
    that far, else in a sibling release ``reports/<month>/`` holding that period."""
    year, rest = period.split("-", 1)
    earlier = f"{int(year) - 1}-{rest}"
    if column == "reference_date":
        # Month ends: 29 February has no twin, so compare month ends by month.
        earlier_month = earlier[:7]
    else:
        earlier_month = earlier
    candidates = [release.path / "data" / table]
    siblings = sorted(release.path.parent.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/data/" + table), reverse=True)
    candidates += [p for p in siblings if p.parent.parent != release.path and p.parent.parent.name < release.month]
    for path in candidates:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        hit = frame[frame[column].str.startswith(earlier_month)]
        for key, value in match.items():
            hit = hit[hit[key] == value]
        if len(hit):
            return cell_number(hit["value"].iloc[0])
    return None


@dataclass
class Headline:
    """The England long-term support figure at the reference date and its comparisons (published)."""

    reference_date: str
    value: float | None
    value_text: str
    previous_date: str | None
    previous_value: float | None
    year_earlier_value: float | None
    councils_included: str
    regional_low: tuple[str, float] | None
    regional_high: tuple[str, float] | None
    england_rate: float | None


def long_term_support_headline(release: Release) -> Headline:
    """Numbers behind the long-term support headline, from published cells only.

    Parameters
    ----------
    release : Release

    Returns
    -------
    Headline
        England ``All``/``All`` at the reference date, the previous month end in the release, the
        same month a year earlier if any release holds it, and the lowest and highest regional
        published rates per 100,000 adults.
    """
    england = _lts_england(release)
    now = england[england["reference_date"] == release.reference_date]
    if now.empty:
        raise CldstatsError(f"data/long_term_support.csv has no England row at {release.reference_date}")
    earlier = england[england["reference_date"] < release.reference_date]
    previous = earlier.iloc[-1] if len(earlier) else None
    rates = release.csv("data/long_term_support_rates.csv")
    at_date = rates[
        (rates["reference_date"] == release.reference_date) & (rates["support_setting"] == "All")
        & (rates["breakdown"] == "All") & (rates["breakdown_value"] == "All")
    ]
    regional = at_date[at_date["area_level"] == "Region"].assign(rate_value=lambda f: f["rate"].map(cell_number))
    regional = regional.dropna(subset=["rate_value"]).sort_values(["rate_value", "area_name"])
    england_rate = at_date[at_date["area_level"] == ENGLAND]["rate"].map(cell_number)
    return Headline(
        reference_date=release.reference_date,
        value=cell_number(now["value"].iloc[0]),
        value_text=now["value"].iloc[0],
        previous_date=None if previous is None else previous["reference_date"],
        previous_value=None if previous is None else cell_number(previous["value"]),
        year_earlier_value=_year_earlier(
            release, "long_term_support.csv", "reference_date", release.reference_date,
            area_level=ENGLAND, support_setting="All", breakdown="All", breakdown_value="All",
        ),
        councils_included=now["councils_included"].iloc[0],
        regional_low=None if regional.empty else (regional["area_name"].iloc[0], regional["rate_value"].iloc[0]),
        regional_high=None if regional.empty else (regional["area_name"].iloc[-1], regional["rate_value"].iloc[-1]),
        england_rate=england_rate.iloc[0] if len(england_rate) else None,
    )


def long_term_support_commentary(release: Release) -> str:
    """Sentences for the long-term support headline, built from :func:`long_term_support_headline`.

    Returns
    -------
    str
        An HTML fragment: the level (in a ``headline-figure`` element the tests read), the change on
        the previous month end and on the year, and the regional range of rates.
    """
    h = long_term_support_headline(release)
    if h.value is None:
        return (f"<p>The England figure at {fmt_day(h.reference_date)} is not published "
                f"(shown as {html.escape(h.value_text)}).</p>")
    figure = (f'<strong class="headline-figure" data-measure="long_term_support" '
              f'data-reference="{h.reference_date}">{fmt_count(h.value)}</strong>')
    parts = [f"At {fmt_day(h.reference_date)}, {figure} people were receiving long-term support "
             f"from the councils with data ({html.escape(h.councils_included)} councils)"]
    if h.previous_value is not None:
        parts.append(f"{change_phrase(h.value, h.previous_value)} on {fmt_day(h.previous_date)}")
    sentences = [", ".join(parts) + "."]
    if h.year_earlier_value is not None:
        sentences.append(f"This was {change_phrase(h.value, h.year_earlier_value)} on a year earlier.")
    else:
        sentences.append(statements.no_year_earlier_sentence(release.facts))
    if h.regional_low and h.regional_high:
        england = "" if h.england_rate is None else f" (England {fmt_count(h.england_rate)})"
        sentences.append(
            f"Rates ranged from {fmt_count(h.regional_low[1])} per 100,000 adults in "
            f"{html.escape(h.regional_low[0])} to {fmt_count(h.regional_high[1])} in "
            f"{html.escape(h.regional_high[0])}{england}."
        )
    sentences.append(f"Figures are provisional {PROVISIONAL}, {statements.rounding_short(release.facts)}, and "
                     "changes are worked out from the rounded figures.")
    return '<p class="commentary">' + " ".join(sentences) + "</p>"


def assessments_commentary(release: Release) -> str:
    """Sentences for people assessed in the reference month and the year to date (published cells).

    Returns
    -------
    str
        HTML fragment with the month's England figure, its change on the previous month and the
        ``Total`` over the release's months.
    """
    table = release.csv("data/assessments.csv")
    england = table[(table["area_level"] == ENGLAND) & (table["breakdown"] == "All")]
    months = england[england["reference_month"] != "Total"].sort_values("reference_month")
    now = months[months["reference_month"] == release.month]
    if now.empty or cell_number(now["value"].iloc[0]) is None:
        return f"<p>No published England figure for people assessed in {fmt_month(release.month)}.</p>"
    value = cell_number(now["value"].iloc[0])
    figure = (f'<strong class="headline-figure" data-measure="assessments" '
              f'data-reference="{release.month}">{fmt_count(value)}</strong>')
    text = f"In {fmt_month(release.month)}, {figure} people had an assessment completed"
    earlier = months[months["reference_month"] < release.month]
    if len(earlier) and cell_number(earlier["value"].iloc[-1]) is not None:
        last = earlier.iloc[-1]
        text += f", {change_phrase(value, cell_number(last['value']))} on {fmt_month(last['reference_month'])}"
    text += "."
    total = england[england["reference_month"] == "Total"]
    if len(total) and cell_number(total["value"].iloc[0]) is not None and len(months):
        text += (f" Over {fmt_month(months['reference_month'].iloc[0])} to {fmt_month(release.month)}, "
                 f"{fmt_count(cell_number(total['value'].iloc[0]))} people were assessed, counting each month "
                 "separately (someone assessed in two months counts in both).")
    return f'<p class="commentary">{text}</p>'


def headline(release: Release, measure: str = "long_term_support"):
    """Display the headline and commentary of ``measure`` (``long_term_support`` or ``assessments``)."""
    if measure == "long_term_support":
        return display_html(long_term_support_commentary(release))
    if measure == "assessments":
        return display_html(assessments_commentary(release))
    raise CldstatsError(f"unknown measure {measure!r}")


def revised_cells(release: Release) -> int:
    """Published cells flagged ``r`` in the release's CSV files."""
    return sum(int(release.csv(f"data/{name}.csv")["flags"].str.split().map(lambda flags: "r" in flags).sum())
               for name in ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates"))


def release_summary(release: Release):
    """Display what the release is: month, reference date, councils, status and the files."""
    lts = _lts_england(release)
    at_date = lts[lts["reference_date"] == release.reference_date]
    councils = at_date["councils_included"].iloc[0] if len(at_date) else "unknown"
    manifest = release.manifest()
    override = (manifest.get("gate") or {}).get("override_reason") or ""
    items = [
        f"<li>Reference date: {fmt_day(release.reference_date)}</li>",
        f"<li>Councils with data: {html.escape(councils)}</li>",
        f"<li>Status: official statistics in development; every figure is provisional {PROVISIONAL}</li>",
    ]
    revised = revised_cells(release)
    if revised:
        items.append(f"<li>Revised since the previous release [r]: {revised:,} figures, marked r in the "
                     "CSV files and listed per row in the spreadsheets</li>")
    if manifest.get("synthetic_data"):
        items.append("<li><strong>Synthetic data</strong>: these figures are not real.</li>")
    if override:
        items.append(f"<li>Published despite a quality gate stop: {html.escape(override)}</li>")
    return display_html('<ul class="release-summary">' + "".join(items) + "</ul>")


def downloads(release: Release):
    """Display links to the release's CSVs and spreadsheets, relative to the HTML folder, each
    saying what the file holds, its kind and size (:func:`file_label`)."""
    links = []
    for folder in ("spreadsheets", "data"):
        for path in sorted((release.path / folder).glob("*")):
            if path.suffix in (".csv", ".ods", ".xlsx"):
                links.append(download_item(path, f"{HTML_TO_RELEASE}/{folder}/{path.name}"))
    if not links:
        return display_html("<p>No downloadable files in this release.</p>")
    return display_html('<ul class="downloads">' + "".join(links) + "</ul>")


def chart(release: Release, name: str):
    """Display one chart from ``charts/`` as an embedded PNG with its recorded alt text.

    The PNG goes into the notebook output as a ``data:`` URI inside ``<img alt=...>`` so both
    renderers carry it into a self-contained HTML file with the alt text the chart module wrote;
    the chart's long description follows in a ``<details>`` element (closed on screen, opened for
    print by the page's print stylesheet and script, see :mod:`cldstats.publication.render`).
    """
    index_path = release.path / "charts" / "charts.json"
    if not index_path.exists():
        return display_html(f'<p class="missing">Chart {html.escape(name)} not available in this release.</p>')
    entries = {c["name"]: c for c in json.loads(index_path.read_text(encoding="utf-8"))["charts"]}
    if name not in entries:
        return display_html(f'<p class="missing">Chart {html.escape(name)} not available in this release.</p>')
    entry = entries[name]
    png_name = (entry.get("files") or {}).get("png") or entry.get("png") or f"{name}.png"
    png = release.path / "charts" / Path(png_name).name
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    description = entry.get("description") or ""
    return display_html(
        f'<figure class="chart" id="{checked_id("chart_" + name)}">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(entry["alt_text"], quote=True)}">'
        f"<figcaption>{html.escape(entry['title'])}</figcaption>"
        + (f'<details class="chart-description"><summary>Chart description and data</summary>'
           f"<p>{html.escape(description)}</p></details>" if description else "")
        + "</figure>"
    )


def charts(release: Release, names: tuple[str, ...]):
    """Display several charts (see :func:`chart`), skipping none silently: a missing one says so."""
    return display_html("".join(chart(release, name).data for name in names))


def england_trend_table(release: Release) -> pd.DataFrame:
    """England people receiving long-term support at each month end, by support setting (published)."""
    lts = release.csv("data/long_term_support.csv")
    rows = lts[(lts["area_level"] == ENGLAND) & (lts["breakdown"] == "All")]
    wide = rows.pivot(index="reference_date", columns="support_setting", values="value")
    order = [s for s in reference.SETTINGS if s in wide.columns]
    wide = wide[order].map(display_count).reset_index()
    wide.columns.name = None
    wide["reference_date"] = wide["reference_date"].map(fmt_day)
    return wide.rename(columns={"reference_date": "Month end", "All": "All settings"})


def region_table(release: Release) -> pd.DataFrame:
    """Regions at the reference date: people receiving long-term support and rate per 100,000 adults."""
    lts = release.csv("data/long_term_support.csv")
    rates = release.csv("data/long_term_support_rates.csv")
    keys = ["area_code", "area_name", "councils_included"]

    def pick(frame):
        return frame[
            (frame["reference_date"] == release.reference_date) & (frame["area_level"].isin([ENGLAND, "Region"]))
            & (frame["support_setting"] == "All") & (frame["breakdown"] == "All")
        ]

    table = pick(lts)[keys + ["value"]].merge(pick(rates)[["area_code", "rate"]], on="area_code", how="left")
    table["value"] = table["value"].map(display_count)
    table = table.rename(columns={
        "area_name": "Area", "value": "People", "rate": "Rate per 100,000 adults",
        "councils_included": "Councils included",
    })
    return table[["Area", "People", "Rate per 100,000 adults", "Councils included"]]


def breakdown_table(release: Release, breakdown: str) -> pd.DataFrame:
    """England at the reference date by ``breakdown`` (rows) and support setting (columns), published."""
    lts = release.csv("data/long_term_support.csv")
    rows = lts[
        (lts["reference_date"] == release.reference_date) & (lts["area_level"] == ENGLAND)
        & (lts["breakdown"] == breakdown)
    ]
    if rows.empty:
        raise CldstatsError(f"no England rows for breakdown {breakdown!r} at {release.reference_date}")
    order = list(dict.fromkeys(rows["breakdown_value"]))
    wide = rows.pivot(index="breakdown_value", columns="support_setting", values="value").reindex(order)
    settings = [s for s in reference.SETTINGS if s in wide.columns]
    wide = wide[settings].map(display_count).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"breakdown_value": breakdown, "All": "All settings"})


def assessments_table(release: Release, area_level: str = ENGLAND, breakdown: str = "All") -> pd.DataFrame:
    """People assessed each month (and ``Total``) for England or each region, published cells."""
    table = release.csv("data/assessments.csv")
    rows = table[(table["area_level"] == area_level) & (table["breakdown"] == breakdown)]
    wide = rows.pivot(index="reference_month", columns=["area_name", "breakdown_value"], values="value")
    wide.columns = [name if value == "All" else f"{name}: {value}" if area_level != ENGLAND else value
                    for name, value in wide.columns]
    wide = wide.map(display_count).reset_index()
    wide["reference_month"] = wide["reference_month"].map(lambda m: m if m == "Total" else fmt_month(m))
    return wide.rename(columns={"reference_month": "Month"})


def table(frame: pd.DataFrame, caption: str, table_id: str):
    """Display a frame built by this module as an accessible HTML table."""
    return display_html(table_html(frame, caption, table_id=table_id))


def related_reports():
    """Display links from the publication report to the two topic pages rendered beside it."""
    return display_html(
        '<ul class="related"><li><a href="long_term_support.html">People receiving long-term support: '
        "region, age, gender and ethnicity tables</a></li>"
        '<li><a href="assessments.html">People assessed: tables by month, age group and region</a></li></ul>'
    )


def introduction(release: Release):
    """Display the publication report's opening paragraph: what the statistics are and how counts
    are rounded (in the release's own method, :attr:`Release.facts`)."""
    return display_html(
        "<p>Official statistics in development from the Adult Social Care Client Level Data (CLD) that councils "
        "in England submit each quarter. Every figure below is published in the CSV files and spreadsheets of "
        f"this release; counts are {html.escape(statements.rounding_short(release.facts))}.</p>"
    )


def notes(release: Release):
    """Display the notes every report carries: the symbols and their meanings, rounding and
    suppression, and the definitions of the two measures, all in the release's own method."""
    facts = release.facts
    symbols = "".join(f"<dt>{html.escape(s.symbol)}</dt><dd>{html.escape(s.meaning(facts))}</dd>"
                      for s in SYMBOLS.values())
    rounding = " ".join((statements.rounding_sentence(facts), statements.rate_rounding_sentence(),
                         statements.independent_rounding_sentence()))
    definitions = "".join(f"<p>{html.escape(statements.definition(facts, measure))}</p>"
                          for measure in ("long_term_support", "assessments"))
    return display_html(f'<dl class="notes">{symbols}</dl><p>{html.escape(rounding)}</p>{definitions}'
                 f"<p>{html.escape(statements.areas_sentence(facts))}</p>")
