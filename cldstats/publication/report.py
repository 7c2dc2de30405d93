"""What the notebooks show: headline figures, commentary built from the numbers, display tables,
charts and the QA summaries of one release folder ``reports/<YYYY-MM>/``.

The notebooks in ``notebooks/`` are thin: a ``parameters`` cell of strings, narrative, and one call
of this module per step. Every function here returns an :class:`IPython.display.HTML` object (or a
pandas frame for tests to inspect) so that the executed notebook carries the finished HTML and the
renderer (Quarto or nbconvert, see :mod:`cldstats.publication.render`) only lays it out.

Two families, kept apart on purpose (docs/methodology.md section 7):

* **published** functions (headlines, commentary, publication tables, charts, notes) read
  ``data/*.csv``, ``charts/`` and the run's method (``manifest.json`` ``params``, as
  :attr:`Release.facts`, so every sentence about rounding, suppression, the adult age or the
  look-back comes from :mod:`cldstats.reference.statements`), never ``qa/*_unrounded.csv``: every number they
  quote is a published cell, or a difference or share of published cells;
* **QA** functions (``gate_summary``, ``folder_accounting``, ``ties``, ``rejected_submissions``,
  ``validation_by_suite``, ``council_summary``, ``main_failures``, ``month_changes``,
  ``revisions``, ``revision_summary``, ``qa_downloads``) read
  ``qa/`` and ``manifest.json``; their output belongs in the restricted QA report only, which is
  written under ``qa/`` (``qa/qa.html``, its executed notebook ``qa/notebooks/data_quality.ipynb``)
  so that everything quoting unrounded figures stays in the restricted folder.

Paths in the HTML are relative to where the reports are written: the published pages in
``<release>/html/`` and the QA report in ``<release>/qa/``, both one level below the release
(:data:`HTML_TO_RELEASE`), so a release folder can be moved or served as a whole.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats import reference
from cldstats.core.errors import CldstatsError
from cldstats.measures.selection import NOT_VALIDATED
from cldstats.reference import statements
from cldstats.reference.statements import CELL_SYMBOLS, PROVISIONAL, SYMBOLS, MethodFacts

#: From ``<release>/html/*.html`` (published pages) and ``<release>/qa/qa.html`` (the QA report)
#: back to the release folder: links to council reports, CSVs and spreadsheets are written relative
#: to the HTML so the folder works wherever it is copied.
HTML_TO_RELEASE = ".."

REPO = Path(__file__).resolve().parents[2]
ENGLAND = "England"

# Charts each notebook shows, by name (cldstats.publication.charts writes them with these names).
PUBLICATION_CHARTS = ("england_trend_by_setting", "rate_by_region", "assessments_trend")
LONG_TERM_SUPPORT_CHARTS = (
    "england_trend_by_setting", "rate_by_region", "council_rates_ranked", "age_profile", "ethnicity_profile",
)
ASSESSMENTS_CHARTS = ("assessments_trend",)


# ---------------------------------------------------------------------------------------------
# Opening a release
# ---------------------------------------------------------------------------------------------


@dataclass
class Release:
    """One release folder and its month; tables are read on first use and kept."""

    path: Path
    month: str
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def reference_date(self) -> str:
        """The month end ``YYYY-MM-DD`` of :attr:`month`."""
        year, mon = (int(part) for part in self.month.split("-"))
        first_next = dt.date(year + mon // 12, mon % 12 + 1, 1)
        return (first_next - dt.timedelta(days=1)).isoformat()

    def csv(self, relative: str) -> pd.DataFrame:
        """A CSV of the release read as strings (symbols such as ``[c]`` stay as they are)."""
        if relative not in self._cache:
            path = self.path / relative
            if not path.exists():
                raise CldstatsError(f"{path} is missing: is {self.path} a complete release?")
            self._cache[relative] = pd.read_csv(path, dtype=str, keep_default_na=False)
        return self._cache[relative]

    def manifest(self) -> dict:
        """``manifest.json`` (empty if the release has none yet: notebooks run before it is written)."""
        path = self.path / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def facts(self) -> MethodFacts:
        """The method of the run that made the release, from ``manifest.json``'s ``params``: every
        sentence the pages say about rounding, suppression, the adult age or the look-back.

        Raises
        ------
        CldstatsError
            The manifest is missing or has no ``params`` (the pages would state a method blind).
        """
        params = self.manifest().get("params")
        if not params:
            raise CldstatsError(f"{self.path / 'manifest.json'} has no params: the pages cannot state the method "
                                "the release was made with")
        return MethodFacts.from_params(params)


def open_release(release_dir: str, month: str) -> Release:
    """Open the release folder a notebook was given.

    Parameters
    ----------
    release_dir : str
        The release folder. A relative path is taken from the working directory, else from the
        repository root, so a notebook opened by hand in ``notebooks/`` finds ``reports/<month>``.
    month : str
        Reference month ``"YYYY-MM"``.

    Returns
    -------
    Release

    Raises
    ------
    CldstatsError
        The folder does not exist or the month is not ``YYYY-MM``.
    """
    if not isinstance(month, str) or len(month) != 7 or month[4] != "-":
        raise CldstatsError(f'month must be a "YYYY-MM" string, not {month!r}')
    path = Path(release_dir)
    if not path.is_dir() and not path.is_absolute() and (REPO / path).is_dir():
        path = REPO / path
    if not path.is_dir():
        raise CldstatsError(f"release folder {release_dir} not found (working directory {Path.cwd()})")
    return Release(path.resolve(), month)


# ---------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    """A published cell as a number, or None for a symbol or blank."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt_count(value: float) -> str:
    """Whole number with thousands separators: ``13825 -> "13,825"``."""
    return f"{int(round(value)):,}"


def fmt_day(iso_date: str) -> str:
    """``"2024-03-31" -> "31 March 2024"``."""
    day = dt.date.fromisoformat(iso_date)
    return f"{day.day} {day:%B %Y}"


def fmt_month(month: str) -> str:
    """``"2024-03" -> "March 2024"``."""
    return f"{dt.date.fromisoformat(month + '-01'):%B %Y}"


#: What each downloadable file holds, by file name without its suffix: the link text of the
#: publication report's downloads, the QA report's restricted files and the index of releases.
FILE_CONTENTS = {
    "long_term_support": "People receiving long-term support",
    "long_term_support_rates": "People receiving long-term support per 100,000 adults",
    "assessments": "People assessed",
    "long_term_support_unrounded": "People receiving long-term support, unrounded",
    "long_term_support_rates_unrounded": "Rates of long-term support, unrounded",
    "assessments_unrounded": "People assessed, unrounded",
    "submissions": "Submissions in the month's window and the data quality gate's outcome",
    "exclusions": "Records excluded, by council and reason",
    "revisions": "Revised figures, previous and new values",
}

#: How a link names each kind of file.
FILE_KINDS = {".xlsx": "spreadsheet, XLSX", ".ods": "spreadsheet, ODS", ".csv": "CSV", ".json": "JSON"}


def fmt_size(size: int) -> str:
    """A file size as GOV.UK writes an attachment's (1 KB = 1,024 bytes, one decimal):
    ``"950 bytes"``, ``"430.7 KB"``, ``"8.4 MB"``. The decimal also keeps a size from reading as a
    whole number that could be taken for a count."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 ** 2:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 ** 2:.1f} MB"


def file_label(path: Path) -> str:
    """The link text of a downloadable file: what it holds, its kind and its size, e.g.
    ``"People assessed, spreadsheet, XLSX, 430.7 KB"`` (a bare file name tells a reader neither).

    A file :data:`FILE_CONTENTS` does not know is described by its name, so none is left out.
    """
    path = Path(path)
    what = FILE_CONTENTS.get(path.stem) or path.stem.replace("_", " ").capitalize()
    kind = FILE_KINDS.get(path.suffix.lower(), path.suffix.lstrip(".").upper() or "file")
    return f"{what}, {kind}, {fmt_size(path.stat().st_size)}"


def _download_item(path: Path, href: str) -> str:
    # The file name stays visible beside the description: readers quote it, and it may wrap.
    return (f'<li><a href="{html.escape(href)}">{html.escape(file_label(path))}</a> '
            f'<span class="file-name">{html.escape(path.name)}</span></li>')


def change_phrase(now: float, before: float) -> str:
    """``"up 100 (0.7%)"``, ``"down 5 (less than 0.1%)"`` or ``"unchanged"``."""
    diff = now - before
    if diff == 0:
        return "unchanged"
    direction = "up" if diff > 0 else "down"
    if before == 0:
        return f"{direction} {fmt_count(abs(diff))}"
    share = abs(diff) / before * 100
    share_text = "less than 0.1%" if share < 0.05 else f"{share:.1f}%"
    return f"{direction} {fmt_count(abs(diff))} ({share_text})"


def _html(fragment: str):
    from IPython.display import HTML

    return HTML(fragment)


#: Ids of tables and charts: lower-case words joined by ``_``, never a hyphen. Quarto reads an id
#: ``<letters>-<rest>`` on a captioned table as a cross-reference label of type ``<letters>``
#: (``age-group`` is type ``age``, which is no table type, so it warns); ``fig-``, ``tbl-``,
#: ``sec-`` and its other reserved prefixes would be worse. An id with no hyphen cannot be one.
ELEMENT_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def _checked_id(element_id: str) -> str:
    if not isinstance(element_id, str) or not ELEMENT_ID.match(element_id):
        raise CldstatsError(f"element id {element_id!r} must be lower-case words joined by _ (no hyphen: Quarto "
                            "would read the part before a hyphen as a cross-reference type)")
    return element_id


def _cell(tag: str, text: str, value) -> str:
    numeric = _number(str(value).replace(",", "")) is not None or str(value) in CELL_SYMBOLS
    scope = ' scope="row"' if tag == "th" else ""
    return f'<{tag}{scope} class="num">{text}</{tag}>' if numeric else f"<{tag}{scope}>{text}</{tag}>"


def _table_html(frame: pd.DataFrame, caption: str, *, table_id: str, escape: bool = True) -> str:
    """An accessible table: caption, column headers with ``scope="col"``, the first column as row
    headers (``<th scope="row">``), no index, deterministic ids, inside a scroll region.

    The region (``div.table-scroll``, ``role="region"``, labelled by the caption, ``tabindex="0"``)
    scrolls on its own when the table is wider than the page, so the page itself never scrolls
    sideways at 320 px (WCAG 1.4.10) and keyboard users can scroll it. A pandas Styler would do the
    table, but it stamps a random id on every table; a fixed id keeps two renders identical.
    """
    table_id = _checked_id(table_id)
    caption_id = f"{table_id}_caption"
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):  # a display table of at most a few hundred rows
        cells = [_cell("th" if n == 0 else "td", html.escape(str(v)) if escape else str(v), v)
                 for n, v in enumerate(record)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) if rows else f'<tr><td colspan="{len(frame.columns)}">None.</td></tr>'
    return (
        f'<div class="table-scroll" role="region" aria-labelledby="{caption_id}" tabindex="0">'
        f'<table class="data-table" id="{table_id}"><caption id="{caption_id}">{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _display_count(text: str) -> str:
    value = _number(text)
    return fmt_count(value) if value is not None else text


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
            return _number(hit["value"].iloc[0])
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
    regional = at_date[at_date["area_level"] == "Region"].assign(rate_value=lambda f: f["rate"].map(_number))
    regional = regional.dropna(subset=["rate_value"]).sort_values(["rate_value", "area_name"])
    england_rate = at_date[at_date["area_level"] == ENGLAND]["rate"].map(_number)
    return Headline(
        reference_date=release.reference_date,
        value=_number(now["value"].iloc[0]),
        value_text=now["value"].iloc[0],
        previous_date=None if previous is None else previous["reference_date"],
        previous_value=None if previous is None else _number(previous["value"]),
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
    if now.empty or _number(now["value"].iloc[0]) is None:
        return f"<p>No published England figure for people assessed in {fmt_month(release.month)}.</p>"
    value = _number(now["value"].iloc[0])
    figure = (f'<strong class="headline-figure" data-measure="assessments" '
              f'data-reference="{release.month}">{fmt_count(value)}</strong>')
    text = f"In {fmt_month(release.month)}, {figure} people had an assessment completed"
    earlier = months[months["reference_month"] < release.month]
    if len(earlier) and _number(earlier["value"].iloc[-1]) is not None:
        last = earlier.iloc[-1]
        text += f", {change_phrase(value, _number(last['value']))} on {fmt_month(last['reference_month'])}"
    text += "."
    total = england[england["reference_month"] == "Total"]
    if len(total) and _number(total["value"].iloc[0]) is not None and len(months):
        text += (f" Over {fmt_month(months['reference_month'].iloc[0])} to {fmt_month(release.month)}, "
                 f"{fmt_count(_number(total['value'].iloc[0]))} people were assessed, counting each month "
                 "separately (someone assessed in two months counts in both).")
    return f'<p class="commentary">{text}</p>'


def headline(release: Release, measure: str = "long_term_support"):
    """Display the headline and commentary of ``measure`` (``long_term_support`` or ``assessments``)."""
    if measure == "long_term_support":
        return _html(long_term_support_commentary(release))
    if measure == "assessments":
        return _html(assessments_commentary(release))
    raise CldstatsError(f"unknown measure {measure!r}")


def _revised_cells(release: Release) -> int:
    """Published cells flagged ``r`` in the release's three CSV files."""
    return sum(int(release.csv(f"data/{name}.csv")["flags"].str.split().map(lambda flags: "r" in flags).sum())
               for name in ("long_term_support", "long_term_support_rates", "assessments"))


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
    revised = _revised_cells(release)
    if revised:
        items.append(f"<li>Revised since the previous release [r]: {revised:,} figures, marked r in the "
                     "CSV files and listed per row in the spreadsheets</li>")
    if manifest.get("synthetic_data"):
        items.append("<li><strong>Synthetic data</strong>: these figures are not real.</li>")
    if override:
        items.append(f"<li>Published despite a quality gate stop: {html.escape(override)}</li>")
    return _html('<ul class="release-summary">' + "".join(items) + "</ul>")


def downloads(release: Release):
    """Display links to the release's CSVs and spreadsheets, relative to the HTML folder, each
    saying what the file holds, its kind and size (:func:`file_label`)."""
    links = []
    for folder in ("spreadsheets", "data"):
        for path in sorted((release.path / folder).glob("*")):
            if path.suffix in (".csv", ".xlsx"):
                links.append(_download_item(path, f"{HTML_TO_RELEASE}/{folder}/{path.name}"))
    if not links:
        return _html("<p>No downloadable files in this release.</p>")
    return _html('<ul class="downloads">' + "".join(links) + "</ul>")


def chart(release: Release, name: str):
    """Display one chart from ``charts/`` as an embedded PNG with its recorded alt text.

    The PNG goes into the notebook output as a ``data:`` URI inside ``<img alt=...>`` so both
    renderers carry it into a self-contained HTML file with the alt text the chart module wrote;
    the chart's long description follows in a ``<details>`` element (closed on screen, opened for
    print by the page's print stylesheet and script, see :mod:`cldstats.publication.render`).
    """
    index_path = release.path / "charts" / "charts.json"
    if not index_path.exists():
        return _html(f'<p class="missing">Chart {html.escape(name)} not available in this release.</p>')
    entries = {c["name"]: c for c in json.loads(index_path.read_text(encoding="utf-8"))["charts"]}
    if name not in entries:
        return _html(f'<p class="missing">Chart {html.escape(name)} not available in this release.</p>')
    entry = entries[name]
    png_name = (entry.get("files") or {}).get("png") or entry.get("png") or f"{name}.png"
    png = release.path / "charts" / Path(png_name).name
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    description = entry.get("description") or ""
    return _html(
        f'<figure class="chart" id="{_checked_id("chart_" + name)}">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(entry["alt_text"], quote=True)}">'
        f"<figcaption>{html.escape(entry['title'])}</figcaption>"
        + (f'<details class="chart-description"><summary>Chart description and data</summary>'
           f"<p>{html.escape(description)}</p></details>" if description else "")
        + "</figure>"
    )


def charts(release: Release, names: tuple[str, ...]):
    """Display several charts (see :func:`chart`), skipping none silently: a missing one says so."""
    from IPython.display import HTML

    return HTML("".join(chart(release, name).data for name in names))


def england_trend_table(release: Release) -> pd.DataFrame:
    """England people receiving long-term support at each month end, by support setting (published)."""
    lts = release.csv("data/long_term_support.csv")
    rows = lts[(lts["area_level"] == ENGLAND) & (lts["breakdown"] == "All")]
    wide = rows.pivot(index="reference_date", columns="support_setting", values="value")
    order = [s for s in reference.SETTINGS if s in wide.columns]
    wide = wide[order].map(_display_count).reset_index()
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
    table["value"] = table["value"].map(_display_count)
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
    wide = wide[settings].map(_display_count).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"breakdown_value": breakdown, "All": "All settings"})


def assessments_table(release: Release, area_level: str = ENGLAND, breakdown: str = "All") -> pd.DataFrame:
    """People assessed each month (and ``Total``) for England or each region, published cells."""
    table = release.csv("data/assessments.csv")
    rows = table[(table["area_level"] == area_level) & (table["breakdown"] == breakdown)]
    wide = rows.pivot(index="reference_month", columns=["area_name", "breakdown_value"], values="value")
    wide.columns = [name if value == "All" else f"{name}: {value}" if area_level != ENGLAND else value
                    for name, value in wide.columns]
    wide = wide.map(_display_count).reset_index()
    wide["reference_month"] = wide["reference_month"].map(lambda m: m if m == "Total" else fmt_month(m))
    return wide.rename(columns={"reference_month": "Month"})


def table(frame: pd.DataFrame, caption: str, table_id: str):
    """Display a frame built by this module as an accessible HTML table."""
    return _html(_table_html(frame, caption, table_id=table_id))


def related_reports():
    """Display links from the publication report to the two topic pages rendered beside it."""
    return _html(
        '<ul class="related"><li><a href="long_term_support.html">People receiving long-term support: '
        "region, age, gender and ethnicity tables</a></li>"
        '<li><a href="assessments.html">People assessed: tables by month, age group and region</a></li></ul>'
    )


def introduction(release: Release):
    """Display the publication report's opening paragraph: what the statistics are and how counts
    are rounded (in the release's own method, :attr:`Release.facts`)."""
    return _html(
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
    return _html(f'<dl class="notes">{symbols}</dl><p>{html.escape(rounding)}</p>{definitions}'
                 f"<p>{html.escape(statements.areas_sentence(facts))}</p>")


# ---------------------------------------------------------------------------------------------
# QA (restricted: reads qa/ and manifest.json)
# ---------------------------------------------------------------------------------------------


def gate_summary(release: Release):
    """Display the publication gate: coverage, England month change, failures and any override."""
    gate = release.manifest().get("gate")
    if not gate:
        return _html("<p>No manifest yet: the gate decision is recorded when the release is placed.</p>")
    change = gate.get("month_change")
    rows = [
        ("Decision", gate.get("message", "")),
        ("Councils with a selected file", statements.councils_of_total(release.facts, gate.get("councils_selected"))),
        ("Coverage", f"{gate.get('coverage', 0):.1%}"),
        ("England month-on-month change (unrounded)", "not available" if change is None else f"{change:.2%}"),
        ("Gate failures", "; ".join(gate.get("failures") or []) or "none"),
        ("Override reason", gate.get("override_reason") or "none"),
    ]
    rows += [(f"Submissions {k}", str(v)) for k, v in sorted((gate.get("submission_outcomes") or {}).items())]
    frame = pd.DataFrame(rows, columns=["Item", "Value"])
    return _html(_table_html(frame, "Publication gate", table_id="gate"))


def validation_by_suite(release: Release) -> pd.DataFrame:
    """Great Expectations results of every submission aggregated per suite.

    Returns
    -------
    pandas.DataFrame
        One row per suite: submissions validated, submissions passing, expectations evaluated and
        failed, and the most frequent failing checks.
    """
    folder = release.path / "qa" / "validation"
    stats: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        for suite_name, suite in (result.get("suites") or {}).items():
            entry = stats.setdefault(suite_name, {"submissions": 0, "passed": 0, "evaluated": 0,
                                                  "failed": 0, "checks": {}})
            entry["submissions"] += 1
            entry["passed"] += bool(suite.get("success"))
            entry["evaluated"] += int(suite.get("statistics", {}).get("evaluated_expectations", 0))
            entry["failed"] += int(suite.get("statistics", {}).get("unsuccessful_expectations", 0))
            for item in suite.get("results", []):
                if item.get("success"):
                    continue
                config = item.get("expectation_config", {})
                meta = config.get("meta", {})
                label = meta.get("check") or config.get("type", "?")
                column = meta.get("field") or config.get("kwargs", {}).get("column")
                label = f"{label} ({column})" if column else label
                entry["checks"][label] = entry["checks"].get(label, 0) + 1
    rows = []
    for suite_name, e in sorted(stats.items()):
        top = sorted(e["checks"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        rows.append({
            "Suite": suite_name,
            "Submissions": e["submissions"],
            "Submissions passing": e["passed"],
            "Expectations evaluated": e["evaluated"],
            "Expectations failed": e["failed"],
            "Most frequent failures (submissions)": "; ".join(f"{k}: {v}" for k, v in top) or "none",
        })
    return pd.DataFrame(rows, columns=["Suite", "Submissions", "Submissions passing", "Expectations evaluated",
                                       "Expectations failed", "Most frequent failures (submissions)"])


def _failed_counts(release: Release) -> pd.DataFrame:
    """Field-level failures of the selected files from ``qa/data_quality/<LA>.csv``."""
    frames = []
    for path in sorted((release.path / "qa" / "data_quality").glob("E*.csv")):
        if path.stem.endswith("_records"):
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["la_code"] = path.stem
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["la_code", "file", "field", "label", "check", "status", "count"])
    frame = pd.concat(frames, ignore_index=True)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").fillna(0).astype(int)
    return frame[frame["status"].str.startswith("Failed") & (frame["count"] > 0)]


def council_summary(release: Release) -> pd.DataFrame:
    """Gate outcome per council: the selected file, its outcome, rows and failed field checks.

    Returns
    -------
    pandas.DataFrame
        One row per council of the 153, with a ``Report`` column holding an HTML link to the
        council's data quality report (relative to the HTML folder) where one exists.
    """
    from cldstats import reference

    councils = reference.councils()[["la_code", "la_name", "region"]]
    subs = _validated(release).copy()
    subs["selected"] = subs["selected"].str.lower() == "true"
    files = subs.groupby("la_code").size().rename("files")
    chosen = subs[subs["selected"]].drop_duplicates("la_code").set_index("la_code")
    failed = _failed_counts(release)
    selected_files = set(chosen["file"]) if len(chosen) else set()
    failed = failed[failed["file"].isin(selected_files)] if "file" in failed else failed
    failures = failed.groupby("la_code")["count"].sum()
    rows = []
    for c in councils.itertuples():
        if c.la_code in chosen.index:
            s = chosen.loc[c.la_code]
            outcome, used, excluded = s["outcome"], s["rows_used"], s["rows_excluded"]
        elif c.la_code in files.index:
            last = subs[subs["la_code"] == c.la_code].iloc[-1]
            outcome, used, excluded = f"not selected ({last['outcome']})", "0", last["rows_read"]
        else:
            outcome, used, excluded = "no submission [x]", "", ""
        report = release.path / "qa" / "data_quality" / f"{c.la_code}.html"
        link = (f'<a href="{HTML_TO_RELEASE}/qa/data_quality/{c.la_code}.html">{c.la_code}</a>'
                if report.exists() else "")
        rows.append({
            "Council": c.la_name, "Code": c.la_code, "Region": c.region,
            "Files": int(files.get(c.la_code, 0)), "Outcome": outcome, "Rows used": used,
            "Rows excluded": excluded, "Failed values": int(failures.get(c.la_code, 0)), "Report": link,
        })
    return pd.DataFrame(rows)


def _validated(release: Release) -> pd.DataFrame:
    """The rows of ``qa/submissions.csv`` considered for the month (not those outside its window)."""
    subs = release.csv("qa/submissions.csv")
    return subs[~subs["outcome"].str.startswith(NOT_VALIDATED)]


def folder_accounting(release: Release) -> pd.DataFrame:
    """Every entry of the submissions folder by outcome, with its rows: nothing left out.

    Returns
    -------
    pandas.DataFrame
        One row per outcome (``accepted``, ``accepted with warnings``, ``rejected``: by the data
        quality gate or not a submission file; ``not validated``: outside the month's window) with
        entries, files selected, rows read, used and excluded, and a ``Total`` row, from
        ``qa/submissions.csv``.
    """
    subs = release.csv("qa/submissions.csv")
    outcome = subs["outcome"].str.extract(r"^(accepted with warnings|accepted|rejected|not validated)")[0]
    counts = subs[["rows_read", "rows_used", "rows_excluded"]].apply(pd.to_numeric).astype("int64")
    frame = counts.assign(Outcome=outcome.fillna("other"), Entries=1,
                          Selected=subs["selected"].str.lower().eq("true").astype("int64"))
    order = ["accepted", "accepted with warnings", "rejected", "not validated", "other"]
    table = frame.groupby("Outcome").sum().reindex([o for o in order if o in set(frame["Outcome"])])
    table.loc["Total"] = table.sum()
    labels = {"rejected": "rejected (data quality gate, or not a submission file)",
              "not validated": "not validated (outside the month's window)"}
    table.index = [labels.get(o, o) for o in table.index]
    table = table.rename(columns={"rows_read": "Rows read", "rows_used": "Rows used", "rows_excluded": "Rows excluded"})
    return table.rename_axis("Outcome").reset_index()[
        ["Outcome", "Entries", "Selected", "Rows read", "Rows used", "Rows excluded"]]


def ties(release: Release):
    """Display one line per tie (files of one council with the same submission time) and the rule
    that resolved it (:func:`cldstats.measures.selection.tie_findings`)."""
    from cldstats.measures.selection import tie_findings

    subs = _validated(release)
    lines = tie_findings(subs) if "tie_with" in subs else []
    if not lines:
        return _html('<p class="ties">No two files of one council have the same submission time.</p>')
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return _html(f'<ul class="ties">{items}</ul>')


def rejected_submissions(release: Release) -> pd.DataFrame:
    """Every entry in the month's window that was rejected, with its reason: submissions the data
    quality gate rejected and entries of the folder that are not submission files.

    Returns
    -------
    pandas.DataFrame
        Council code (``unknown`` when the file name gives none), file, submission time, rows read
        and the reason, from ``qa/submissions.csv``.
    """
    subs = release.csv("qa/submissions.csv")
    rejected = subs[subs["outcome"].astype(str).str.startswith("rejected")]
    return pd.DataFrame({
        "Council": rejected["la_code"].astype(str).replace("", "unknown"),
        "File": rejected["file"],
        "Submitted": rejected["submitted_at"],
        "Rows read": rejected["rows_read"],
        "Reason": rejected["outcome"].astype(str).str.removeprefix("rejected: "),
    }).reset_index(drop=True)


def council_table(release: Release):
    """Display :func:`council_summary` with working links (the link column is HTML)."""
    frame = council_summary(release)
    escaped = frame.copy()
    for column in escaped.columns:
        if column != "Report":
            escaped[column] = escaped[column].map(lambda v: html.escape(str(v)))
    return _html(_table_html(escaped, "Data quality gate outcome per council", table_id="councils", escape=False))


def main_failures(release: Release, top: int = 15) -> pd.DataFrame:
    """The field checks failing most often across the selected files (values and councils)."""
    failed = _failed_counts(release)
    subs = release.csv("qa/submissions.csv")
    selected = set(subs.loc[subs["selected"].str.lower() == "true", "file"])
    failed = failed[failed["file"].isin(selected)]
    if failed.empty:
        return pd.DataFrame(columns=["Field", "Check", "Status", "Values", "Councils"])
    grouped = failed.groupby(["label", "check", "status"]).agg(Values=("count", "sum"), Councils=("la_code", "nunique"))
    grouped = grouped.reset_index().sort_values(["Values", "label"], ascending=[False, True]).head(top)
    return grouped.rename(columns={"label": "Field", "check": "Check", "status": "Status"})


def coverage_summary(release: Release) -> pd.DataFrame:
    """Councils with data per region at the reference date (from the unrounded long-term support table)."""
    from cldstats import reference

    councils = reference.councils()
    subs = release.csv("qa/submissions.csv")
    selected = set(subs.loc[subs["selected"].str.lower() == "true", "la_code"])
    councils["selected"] = councils["la_code"].isin(selected)
    table = councils.groupby("region").agg(Councils=("la_code", "size"), With_data=("selected", "sum")).reset_index()
    table["Coverage"] = (table["With_data"] / table["Councils"]).map(lambda v: f"{v:.0%}")
    table["Missing"] = [
        ", ".join(councils[(councils["region"] == r) & ~councils["selected"]]["la_name"]) or "none"
        for r in table["region"]
    ]
    return table.rename(columns={"region": "Region", "With_data": "Councils with data"})


def month_changes(release: Release, threshold: str = "0.05") -> pd.DataFrame:
    """Areas whose unrounded count moved more than ``threshold`` on the previous month (QA only).

    Parameters
    ----------
    release : Release
    threshold : str
        A share as a string (a notebook parameter), e.g. ``"0.05"`` for 5%.

    Returns
    -------
    pandas.DataFrame
        Long-term support at the reference date against the previous month end, and people
        assessed in the month against the previous month, for England, regions and councils
        (``All`` settings, no breakdown), beyond the threshold, largest first.
    """
    try:
        limit = float(threshold)
    except ValueError:
        raise CldstatsError(f"change threshold must be a number as a string, not {threshold!r}") from None
    out = []
    specs = (("Long-term support", "qa/long_term_support_unrounded.csv", "reference_date", {"support_setting": "All"}),
             ("Assessments", "qa/assessments_unrounded.csv", "reference_month", {}))
    for measure, path, period_col, match in specs:
        frame = release.csv(path)
        frame = frame[(frame["breakdown"] == "All") & (frame["breakdown_value"] == "All")]
        for key, value in match.items():
            frame = frame[frame[key] == value]
        periods = sorted(p for p in frame[period_col].unique() if p != "Total")
        current = release.reference_date if period_col == "reference_date" else release.month
        if current not in periods or periods.index(current) == 0:
            continue
        previous = periods[periods.index(current) - 1]
        now = frame[frame[period_col] == current].set_index("area_code")
        before = frame[frame[period_col] == previous].set_index("area_code")
        both = now.join(before[["value"]].rename(columns={"value": "value_previous"}), how="inner")
        both["now"] = pd.to_numeric(both["value"], errors="coerce")
        both["before"] = pd.to_numeric(both["value_previous"], errors="coerce")
        both = both.dropna(subset=["now", "before"])
        both = both[both["before"] > 0]
        both["change"] = (both["now"] - both["before"]) / both["before"]
        moved = both[both["change"].abs() > limit]
        for code, r in moved.iterrows():
            out.append({"Measure": measure, "Area": r["area_name"], "Level": r["area_level"], "Code": code,
                        "Previous": f"{int(r['before']):,}", "Current": f"{int(r['now']):,}",
                        "Change": f"{r['change']:+.1%}", "_abs": abs(r["change"])})
    frame = pd.DataFrame(out, columns=["Measure", "Area", "Level", "Code", "Previous", "Current", "Change", "_abs"])
    return frame.sort_values(["_abs", "Code"], ascending=[False, True]).drop(columns="_abs").reset_index(drop=True)


#: What each revised measure is called in the QA report, by published table and column.
_FIGURES = {
    ("long_term_support", "value"): "People",
    ("long_term_support_rates", "rate"): "Rate per 100,000 adults",
    ("long_term_support_rates", "population"): "Adult population",
    ("assessments", "value"): "People assessed",
}


def _revisions_csv(release: Release) -> pd.DataFrame | None:
    path = release.path / "qa" / "revisions.csv"
    return release.csv("qa/revisions.csv") if path.exists() else None


def revisions(release: Release) -> pd.DataFrame:
    """Revised cells with their previous and new published value, from ``qa/revisions.csv``.

    ``qa/revisions.csv`` is written by the run from the release it compared with (docs/methodology.md
    section 7: an earlier run of the same month, else the latest earlier month's release), so an
    old value is shown whichever release it came from.

    Returns
    -------
    pandas.DataFrame
        ``Table, Period, Area, Code, Cell, Figure, Previous, Revised``: one row per revised figure
        (a rate and its population are separate rows); empty when nothing was revised or the
        release has no ``qa/revisions.csv``.
    """
    columns = ["Table", "Period", "Area", "Code", "Cell", "Figure", "Previous", "Revised"]
    frame = _revisions_csv(release)
    if frame is None or frame.empty:
        return pd.DataFrame(columns=columns)
    cell = frame[["support_setting", "breakdown", "breakdown_value"]].apply(
        lambda r: " / ".join(v for v in r if v), axis=1)
    return pd.DataFrame({
        "Table": frame["table"] + ".csv",
        "Period": frame["reference_period"],
        "Area": frame["area_name"],
        "Code": frame["area_code"],
        "Cell": cell,
        "Figure": [_FIGURES.get(k, k[1]) for k in zip(frame["table"], frame["measure"], strict=True)],
        "Previous": frame["previous_value"],
        "Revised": frame["new_value"],
    }, columns=columns)


def revision_summary(release: Release):
    """Display how many published cells were revised [r] and against which release."""
    frame = _revisions_csv(release)
    if frame is None:
        return _html("<p>This release has no <code>qa/revisions.csv</code> (it was published before revisions "
                     "were listed): see the [r] flags in <code>data/*.csv</code>.</p>")
    flagged = _revised_cells(release)
    against = sorted(set(frame["previous_release"]) - {""})
    if frame.empty:
        text = ("No published cell differs from the release it was compared with (an earlier run of this month, "
                "else the latest earlier month's release, if there is one)." if flagged == 0
                else f"{flagged:,} cells are flagged [r] but qa/revisions.csv lists none: check the run.")
    else:
        both = (f" ({len(frame):,} revised figures: a rate and its population count separately)"
                if len(frame) != flagged else "")
        text = (f"{flagged:,} published cells are flagged [r]{both}, compared with the "
                f"{html.escape('; '.join(against))}.")
    label = html.escape(file_label(release.path / "qa" / "revisions.csv"))
    link = f'<a href="{HTML_TO_RELEASE}/qa/revisions.csv">{label}</a>'
    return _html(f'<p class="revisions">{text} All revised figures: {link} '
                 '(<span class="file-name">qa/revisions.csv</span>).</p>')


def qa_downloads(release: Release):
    """Display links to the restricted QA files (unrounded tables, submissions, revisions), each
    saying what the file holds, its kind and size (:func:`file_label`)."""
    links = [_download_item(path, f"{HTML_TO_RELEASE}/qa/{path.name}")
             for path in sorted((release.path / "qa").glob("*.csv"))]
    return _html('<ul class="downloads">' + "".join(links) + "</ul>" if links else "<p>No QA files.</p>")


def qa_table(frame: pd.DataFrame, caption: str, table_id: str, limit: int = 200):
    """Display a QA frame; long frames are cut at ``limit`` rows and say how many were left out."""
    shown = frame.head(limit)
    extra = (f"<p>{len(frame) - limit:,} more rows are in the QA files.</p>" if len(frame) > limit else "")
    if frame.empty:
        return _html(f"<p>{html.escape(caption)}: none.</p>")
    return _html(_table_html(shown, caption, table_id=table_id) + extra)
