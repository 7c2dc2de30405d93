"""Workbooks in DHSC's layout (``spreadsheets/*_dhsc.ods`` and ``.xlsx``), and ODS copies of the
accessible workbooks.

DHSC's "Adult social care client level data, England: quarterly update" publishes two workbooks
that third-party tools parse by their labels (``../shared/cld/background_dhsc_method.md`` sections
3.2, 3.3, 4, 5 and 6.1). From the same published frames as ``data/*.csv`` this writes
``long_term_support_dhsc`` and ``assessments_dhsc``, each as ODS and XLSX with the same cells:

* ``Cover``, ``Contents`` and ``Notes`` sheets as the Analysis Function asks (the cover and notes
  text of :mod:`cldstats.publication.workbooks` and :mod:`cldstats.reference.statements`);
* ``Table_1`` by age group, ``Table_2`` by gender, ``Table_3`` by ethnicity (groups and
  subgroups): columns ``Area``, ``Area code``, ``LA code``, ``Area unit``, [``Support setting``,
  long-term support only], the breakdown, then one column per month (``31 March 2026 [p]``;
  assessments ``March 2026 [p]`` and ``Total [p]``);
* ``Table_4`` to ``Table_6``, the rate tables by age group, gender and ethnicity: the same area
  columns, the breakdown, ``Population`` and ``Rate per 100,000 adults``, for the latest month end
  (long-term support) or the 12-month total (assessments, from ``assessments_rates``);
* ``Revisions``, when cells were revised: each revised figure with its previous and revised value.

Decisions
---------
Header on row 3 of every table sheet
    Row 1 is the title, row 2 the units, symbols and notes cited; the header is row 3, as DHSC's
    monthly sheets (``pandas.read_excel(..., header=2)`` reads any of them). No ``Revised [r]``
    column: DHSC's sheets have none and tools take every column after the breakdown for a
    period, so revised figures are listed on the ``Revisions`` sheet and counted in the notes.
The breakdowns of one dimension in one column
    ``Age group`` holds ``All``, the age groups (``18 to 64``, ``65 and above``), then the age
    bands and ``Unknown`` last; ``Ethnicity`` holds ``All``, the groups, then the subgroups
    (``Group: Subgroup``). A label published by two breakdowns of the CSV (``Unknown`` is an age
    group and an age band: the same people) is written once, from the first.
Rate tables: values with a population, no Prison
    DHSC's rate tables stop at ``85 and above`` and carry no Prison setting. A breakdown value
    whose population is not a number in any row (age bands above 85, ``Unknown``, ``Other``,
    ``No data``) has no rate anywhere and is left out; ADASS regions keep their rows with ``[z]``
    (DHSC publishes no ADASS population).
Area unit and LA code
    ``area_level`` maps to DHSC's ``Area unit`` (:data:`AREA_UNITS`); an unknown level is an error.
    ``LA code`` is the council's legacy code from the mapping given (``legacy_la_codes``), blank
    for England, regions, ADASS regions and councils without one, as DHSC leaves it.
One model, two writers
    Each workbook is built once as :class:`~cldstats.publication.ods_writing.Sheet` objects and
    written by :func:`~cldstats.publication.ods_writing.write_ods` and :func:`write_xlsx`, so the
    two files cannot differ in a value, a sheet name, a note or a header. The ODS copy of an
    accessible workbook is its XLSX read back cell by cell
    (:func:`~cldstats.publication.ods_writing.sheets_from_xlsx`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldstats.core import safe_output
from cldstats.publication import ods_writing
from cldstats.publication.ods_writing import Sheet
from cldstats.publication.release_info import ReleaseInfo
from cldstats.publication.tidy_tables import (
    as_cells,
    count_revised_cells,
    has_flag,
    long_date,
    ordered_periods,
    period_label,
    revisions_frame,
)
from cldstats.publication.workbooks import cover as workbook_cover
from cldstats.publication.workbooks import notes_frame
from cldstats.publication.xlsx_writing import DOCUMENT_LANGUAGE, document_language
from cldstats.reference import lists, statements

__all__ = [
    "AREA_UNITS",
    "DIMENSIONS",
    "dhsc_sheets",
    "read_dhsc_table",
    "write_dhsc_workbooks",
    "write_ods_copies",
    "write_xlsx",
]

#: DHSC's ``Area unit`` for each ``area_level`` of the published tables.
AREA_UNITS = {
    "England": "National",
    "Region": "Region",
    "ADASS region": "ADASS Region",
    "Local Authority": "Local Authority",
}
#: Each DHSC dimension (its column header) and the breakdowns of the CSV it holds, in order.
DIMENSIONS = {
    "Age group": ("Age group", "Age band"),
    "Gender": ("Gender",),
    "Ethnicity": ("Ethnicity group", "Ethnicity"),
}
AREA_HEADERS = ("Area", "Area code", "LA code", "Area unit")
SETTING_HEADER = "Support setting"
POPULATION_HEADER = "Population"
RATE_HEADER = "Rate per 100,000 adults"
#: The setting DHSC's rate tables leave out.
NO_RATE_SETTING = "Prison"
HEADER_ROW = 3  # 1-based: the row of every table sheet's header
SUFFIX = "_dhsc"


# ---------------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------------
def _dimension_rows(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The rows of one DHSC dimension with its label column ``label``, each label once.

    ``All`` first, then the breakdowns in :data:`DIMENSIONS` order, ``Unknown`` last; a label a
    later breakdown repeats is dropped (the same people).
    """
    sources = ("All",) + DIMENSIONS[dimension]
    rows = frame[frame["breakdown"].isin(sources)].copy()
    rank = rows["breakdown"].map({b: i for i, b in enumerate(sources)})
    rows["label"] = rows["breakdown_value"]
    first = rows.assign(rank=rank).groupby("label", sort=False)["rank"].transform("min")
    rows = rows[rank.eq(first)]
    # Label order: breakdown order, then the CSV's order within it, Unknown last.
    labels = rows.drop_duplicates("label")[["label", "breakdown"]]
    labels = labels.assign(rank=labels["breakdown"].map({b: i for i, b in enumerate(sources)}),
                           unknown=labels["label"].eq(lists.UNKNOWN), seen=range(len(labels)))
    order = labels.sort_values(["unknown", "rank", "seen"], kind="mergesort")["label"].tolist()
    rows["label_order"] = rows["label"].map({label: i for i, label in enumerate(order)})
    return rows


def _area_columns(rows: pd.DataFrame, legacy_la_codes: Mapping[str, str]) -> pd.DataFrame:
    unknown = sorted(set(rows["area_level"]) - set(AREA_UNITS))
    if unknown:
        raise ValueError(f"area_level {unknown[0]!r} has no DHSC Area unit (known: {', '.join(AREA_UNITS)})")
    council = rows["area_level"].eq("Local Authority")
    codes = {gss: str(code) for gss, code in legacy_la_codes.items() if code}
    legacy = rows["area_code"].map(codes).astype(object).where(council & rows["area_code"].isin(codes), None)
    return pd.DataFrame({
        "Area": rows["area_name"].to_numpy(),
        "Area code": rows["area_code"].to_numpy(),
        "LA code": legacy.astype(object).to_numpy(),
        "Area unit": rows["area_level"].map(AREA_UNITS).to_numpy(),
    })


def _periods(values: pd.Series) -> list[str]:
    """:func:`ordered_periods` of a long column, looking at its distinct values only."""
    return ordered_periods(pd.Series(pd.unique(values), dtype=object))


def _flagged(flags: pd.Series, flag: str) -> pd.Series:
    """:func:`has_flag` of a long column, each distinct flags string tested once."""
    distinct = pd.Series(pd.unique(flags), dtype=object)
    return flags.map(dict(zip(distinct, has_flag(distinct.astype(str), flag), strict=True))).astype(bool)


def _header(period: str, periods: Sequence[str], provisional: bool) -> str:
    label = "Total" if period == lists.TOTAL else period_label(period, periods)
    return label + (f" {statements.PROVISIONAL}" if provisional else "")


def _sorted_keys(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys`` in the CSV's area and setting order and the dimension's label order."""
    first = rows.drop_duplicates(keys).copy()
    first["area_order"] = first.groupby(["area_level", "area_code"], sort=False).ngroup()
    order = ["area_order"]
    if "support_setting" in keys:
        first["setting_order"] = first["support_setting"].map(
            {s: i for i, s in enumerate(pd.unique(rows["support_setting"]))})
        order.append("setting_order")
    return first.sort_values(order + ["label_order"], kind="mergesort")[keys + ["area_name"]]


def _count_table(frame: pd.DataFrame, dimension: str, period_column: str,
                 legacy_la_codes: Mapping[str, str]) -> pd.DataFrame:
    """One monthly sheet: area columns, [setting], the dimension, one column per period."""
    rows = _dimension_rows(frame, dimension)
    setting = ["support_setting"] if "support_setting" in frame.columns else []
    keys = ["area_level", "area_code"] + setting + ["label"]
    periods = _periods(rows[period_column])
    wide = rows.pivot(index=keys, columns=period_column, values="value")
    index = _sorted_keys(rows, keys)
    wide = wide.reindex(index=pd.MultiIndex.from_frame(index[keys]), columns=periods)
    cells = as_cells(wide).reset_index(drop=True)
    provisional = _flagged(rows["flags"], "p").groupby(rows[period_column]).all()
    cells.columns = [_header(p, periods, bool(provisional[p])) for p in periods]
    table = _area_columns(index.reset_index(drop=True), legacy_la_codes)
    if setting:
        table[SETTING_HEADER] = index["support_setting"].to_numpy()
    table[dimension] = index["label"].to_numpy()
    return pd.concat([table, cells], axis=1)


def _rate_table(rates: pd.DataFrame, dimension: str, legacy_la_codes: Mapping[str, str]) -> pd.DataFrame:
    """One rate sheet: area columns, [setting], the dimension, ``Population`` and the rate."""
    rows = _dimension_rows(rates, dimension)
    if "support_setting" in rows.columns:
        rows = rows[rows["support_setting"].ne(NO_RATE_SETTING)]
    # A value whose population is never a number has no rate anywhere (DHSC leaves it out).
    numeric = pd.to_numeric(rows["population"], errors="coerce").notna()
    rows = rows[numeric.groupby(rows["label"]).transform("any")]
    setting = ["support_setting"] if "support_setting" in rows.columns else []
    keys = ["area_level", "area_code"] + setting + ["label"]
    if rows.duplicated(keys).any():
        raise ValueError(f"the rates table has more than one row per area{', setting' if setting else ''} "
                         f"and {dimension.lower()} for one period")
    index = _sorted_keys(rows, keys)
    ordered = rows.set_index(keys).reindex(pd.MultiIndex.from_frame(index[keys]))
    values = as_cells(ordered[["population", "rate"]].reset_index(drop=True))
    provisional = bool(_flagged(rows["flags"], "p").all()) if len(rows) else False
    table = _area_columns(index.reset_index(drop=True), legacy_la_codes)
    if setting:
        table[SETTING_HEADER] = index["support_setting"].to_numpy()
    table[dimension] = index["label"].to_numpy()
    table[POPULATION_HEADER] = values["population"].to_numpy()
    table[RATE_HEADER + (f" {statements.PROVISIONAL}" if provisional else "")] = values["rate"].to_numpy()
    return table


def _latest(rates: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of the latest period of a rates table (month end, or the assessments ``Total``)."""
    column = "reference_date" if "reference_date" in rates.columns else "reference_month"
    period = _periods(rates[column])[-1]
    return rates[rates[column].eq(period)], period


# ---------------------------------------------------------------------------------------------
# The sheets
# ---------------------------------------------------------------------------------------------
_MEASURES = {
    "long_term_support": ("People receiving long-term support", "reference_date", "long_term_support_rates"),
    "assessments": ("People assessed", "reference_month", "assessments_rates"),
}


def _table_sheet(name: str, title: str, line: str, table: pd.DataFrame) -> Sheet:
    text = safe_output.neutralise_text
    return Sheet(name, above=[[text(title)], [text(line)]], table=safe_output.neutralise_frame(table))


def _note_refs(notes: pd.DataFrame, refs: Sequence[str]) -> str:
    numbers = {ref: i + 1 for i, ref in enumerate(notes["Note reference"])}
    cited = [f"[note {numbers[r]}]" for r in refs if r in numbers]
    return f" Notes: {' '.join(cited)} (on the Notes worksheet)." if cited else ""


def _dhsc_notes(release: ReleaseInfo, measure: str, revised_here: int, revisions: pd.DataFrame | None,
                rates_period: str | None) -> pd.DataFrame:
    """The Notes table: the accessible workbook's notes, with DHSC's layout, area units, LA code,
    rates and revisions explained for these sheets."""
    notes = notes_frame(release, measure, revised_here, revisions)
    facts = release.facts
    text = dict(zip(notes["Note reference"], notes["Note text"], strict=True))
    text["coverage"] = (f"{statements.coverage_sentence(facts, release.councils_selected)} A council without one "
                        f"is shown as {statements.NOT_AVAILABLE}.")
    listed = (" The Revisions worksheet lists each revised figure with its previous and revised value."
              if revisions is not None and len(revisions) else "")
    against = f" Figures were compared with the {release.previous_release}." if release.previous_release else ""
    text["revisions"] = (f"{revised_here} cells in this workbook ({release.revised_cells} in the whole release) "
                         f"were revised {statements.REVISED} since the previous release.{against}{listed}")
    text["layout"] = (
        "These tables are laid out as DHSC's client level data quarterly update: one row per area"
        + (", support setting" if measure == "long_term_support" else "")
        + " and breakdown value, one column per period. Area unit is National (England), Region (the ONS "
        "regions), ADASS Region or Local Authority; Area code is the area's GSS code (a code assigned by "
        "cldstats for an ADASS region); LA code is the council's legacy local authority code, blank for other "
        "areas and for councils without one. Each table holds its own All rows, so summing rows double-counts. "
        "The same figures are in data/*.csv and in the accessible workbook of this release."
    )
    rate_count = ("people receiving long-term support at " + period_label(rates_period)
                  if measure == "long_term_support" else "people assessed over the 12 months (the Total column)")
    if rates_period is not None:
        text["rate tables"] = (
            f"The rate tables divide the {rate_count} by the population of the area and breakdown value, per "
            f"100,000. {statements.rate_rounding_sentence()} They hold the breakdown values that have a "
            f"population and no Prison setting; ADASS regions have no population ({statements.NOT_APPLICABLE}). "
            "Where the ethnicity rates divide by a different population base from the age and gender rates "
            "(a census rather than mid-year estimates), they are not comparable with them."
        )
    # Numbered in the order the sheets first cite them: the layout after the areas, the rate
    # tables after the accessible workbook's notes.
    order = []
    for reference in notes["Note reference"]:
        order.append(reference)
        if reference == "areas":
            order.append("layout")
    order += [r for r in ("layout", "rate tables") if r in text and r not in order]
    return pd.DataFrame({"Note reference": order, "Note text": [text[r] for r in order]})


def dhsc_sheets(published: Mapping[str, pd.DataFrame], release: ReleaseInfo, measure: str,
                legacy_la_codes: Mapping[str, str], revisions: pd.DataFrame | None = None) -> tuple[str, list[Sheet]]:
    """The sheets of one DHSC-layout workbook, and its title.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        The published frames as written to ``data/*.csv`` (all columns strings):
        ``long_term_support`` and ``long_term_support_rates``, or ``assessments`` and (when the
        release has it) ``assessments_rates``.
    release : ReleaseInfo
        Cover and notes facts.
    measure : str
        ``long_term_support`` or ``assessments``.
    legacy_la_codes : mapping of str to str
        GSS code -> legacy LA code (``""`` or absent: none) for the ``LA code`` column.
    revisions : pandas.DataFrame, optional
        Rows of ``qa/revisions.csv``; with rows for this measure's tables, a ``Revisions`` sheet.

    Returns
    -------
    title, sheets
    """
    noun, period_column, rates_name = _MEASURES[measure]
    counts = published[measure]
    periods = _periods(counts[period_column])
    months = [p for p in periods if p != lists.TOTAL]
    period = f"{period_label(months[0])} to {period_label(months[-1])}"
    title = (f"{noun}: adult social care client level data, England, {period} "
             "(official statistics in development, DHSC layout)")
    sources = [measure] + ([rates_name] if rates_name in published else [])
    here = None if revisions is None else revisions[revisions["table"].isin(sources)]
    revised_here = count_revised_cells({s: published[s] for s in sources})
    rates, rates_period = _latest(published[rates_name]) if rates_name in published else (None, None)
    notes = _dhsc_notes(release, measure, revised_here, here, rates_period)
    units = statements.count_units(release.facts)
    symbols = f"Some cells hold {statements.cell_symbols_phrase()} instead of a number."
    setting = " and support setting" if measure == "long_term_support" else ""
    count_notes = ["definition", "areas", "layout", "coverage", "rounding", "symbols", "revisions", "override"]

    tables: list[tuple[str, str, str, pd.DataFrame]] = []
    for number, dimension in enumerate(DIMENSIONS, start=1):
        tables.append((
            f"Table_{number}",
            f"{noun} by {dimension.lower()}{setting}, England, regions, ADASS regions and councils, {period}",
            f"{units}. {symbols}" + _note_refs(notes, count_notes),
            _count_table(counts, dimension, period_column, legacy_la_codes),
        ))
    if rates is not None:
        at = (f"at {long_date(dt.date.fromisoformat(rates_period))}" if measure == "long_term_support"
              else f"over {period}")
        for number, dimension in enumerate(DIMENSIONS, start=len(DIMENSIONS) + 1):
            tables.append((
                f"Table_{number}",
                f"{noun} per 100,000 adults by {dimension.lower()}{setting}, {at}",
                f"Rate per 100,000 adults (whole numbers) and number of adults. {symbols}"
                + _note_refs(notes, ["rate tables", "rates", "layout", "symbols", "revisions"]),
                _rate_table(rates, dimension, legacy_la_codes),
            ))
    if here is not None and len(here):
        tables.append((
            "Revisions", f"Figures revised since the previous release, {period}",
            f"Figures as published. {symbols}" + _note_refs(notes, ["revisions", "rounding", "symbols"]),
            revisions_frame(here, periods),
        ))

    text = safe_output.neutralise_text
    cover = workbook_cover(release, title, period)
    about = [text(line) for line in cover.about] + [
        text("The tables follow the layout of DHSC's client level data quarterly update (Table_1 to Table_6)."),
    ]
    cover_rows = ([[cover.title], ["Introductory information"]] + [[line] for line in cover.intro]
                  + [["About these data"]] + [[line] for line in about]
                  + [["Contact"]] + [[line] for line in cover.contact])
    notes_table = pd.DataFrame({"Note number": range(1, len(notes) + 1), "Note text": notes["Note text"]},
                               dtype=object)
    notes_sheet = _table_sheet("Notes", "Notes", "This worksheet contains one table with one row per note. "
                               "Tables cite notes by number.", notes_table)
    contents = pd.DataFrame({"Sheet name": ["Notes"] + [t[0] for t in tables],
                             "Table description": ["Notes on the figures in this workbook"] + [t[1] for t in tables]},
                            dtype=object)
    contents_sheet = _table_sheet("Contents", "Contents", "This worksheet contains one table with one row per "
                                  "sheet after it; each sheet name links to the sheet.", contents)
    contents_sheet = Sheet(contents_sheet.name, contents_sheet.above, contents_sheet.table, ("Sheet name",))
    sheets = [Sheet("Cover", above=cover_rows), contents_sheet, notes_sheet]
    sheets += [_table_sheet(name, title_, line, table) for name, title_, line, table in tables]
    return title, sheets


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
SUBJECT = "Adult social care client level data, England: official statistics in development"


def write_xlsx(path: Path, sheets: Sequence[Sheet], *, title: str, created: dt.date, subject: str = SUBJECT) -> Path:
    """Write ``sheets`` as an XLSX workbook with ``xlsxwriter``: the same cells as
    :func:`~cldstats.publication.ods_writing.write_ods` writes, each table marked as an Excel table.
    """
    # xlsxwriter is imported when a workbook is written, not by every command that imports this.
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True, "font_size": 14})
    header_format = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    number = workbook.add_format({"num_format": "#,##0", "valign": "top"})
    wrap = workbook.add_format({"valign": "top"})
    for count, sheet in enumerate(sheets, start=1):
        worksheet = workbook.add_worksheet(sheet.name)
        worksheet.hide_gridlines(2)
        for col, width in enumerate(ods_writing.column_widths(sheet)):
            worksheet.set_column(col, col, width)
        for row, cells in enumerate(sheet.above):
            for col, value in enumerate(cells):
                _write_cell(worksheet, row, col, value, bold if row == 0 else wrap, number)
        if sheet.table is None:
            continue
        first = len(sheet.above)
        names = [str(c) for c in sheet.table.columns]
        columns = [sheet.table.iloc[:, i].to_numpy(dtype=object) for i in range(len(names))]
        kinds = [_kinds(values, names[col] in sheet.links) for col, values in enumerate(columns)]
        write_number, write_string, write_url = worksheet.write_number, worksheet.write_string, worksheet.write_url
        for row in range(len(sheet.table)):
            at = first + 1 + row
            for col, values in enumerate(columns):
                kind = kinds[col][row]
                if kind == _NUMBER:
                    write_number(at, col, values[row], number)
                elif kind == _TEXT:
                    write_string(at, col, values[row], wrap)
                elif kind == _LINK:
                    write_url(at, col, f"internal:'{values[row]}'!A1", string=values[row])
        worksheet.add_table(first, 0, first + max(len(sheet.table), 1), len(names) - 1, {
            "name": f"table_{count}", "columns": [{"header": n, "header_format": header_format} for n in names],
            "style": "Table Style Light 1", "autofilter": False,
        })
    workbook.set_properties({"title": title, "subject": subject, "author": "cldstats", "company": "",
                             "created": dt.datetime.combine(created, dt.time(0, 0))})
    with document_language(DOCUMENT_LANGUAGE):
        workbook.close()
    return Path(path)


_BLANK, _NUMBER, _TEXT, _LINK = range(4)


def _kinds(values, link: bool):
    """How each cell of a column is written (blank, number, text, link), each distinct value
    classified once."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    kinds = []
    for value in uniques:
        if ods_writing.is_missing(value) or value == "":
            kinds.append(_BLANK)
        elif isinstance(value, bool):
            raise TypeError(f"a workbook cell cannot be a boolean ({value!r})")
        elif isinstance(value, str):
            kinds.append(_LINK if link else _TEXT)
        elif isinstance(value, (int, float)) or hasattr(value, "dtype"):
            kinds.append(_NUMBER)
        else:
            raise TypeError(f"a workbook cell must be a number or text, got {type(value).__name__} ({value!r})")
    # Code -1 (a missing value) takes the last entry, a blank.
    return np.array(kinds + [_BLANK])[codes].tolist()


def _write_cell(worksheet, row: int, col: int, value: Any, text_format, number_format) -> None:
    if ods_writing.is_missing(value) or (isinstance(value, str) and value == ""):
        return
    if isinstance(value, bool):
        raise TypeError(f"a workbook cell cannot be a boolean ({value!r})")
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        worksheet.write_number(row, col, value, number_format)
    else:
        worksheet.write_string(row, col, str(value), text_format)


def write_dhsc_workbooks(published: Mapping[str, pd.DataFrame], release: ReleaseInfo, out_dir: Path,
                         legacy_la_codes: Mapping[str, str], revisions: pd.DataFrame | None = None) -> list[Path]:
    """Write ``long_term_support_dhsc`` and ``assessments_dhsc``, each as ``.ods`` and ``.xlsx``.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        The published frames (``data/*.csv``); ``assessments_rates`` is used when present (without
        it the assessments workbook has no rate tables).
    release : ReleaseInfo
        Cover and notes facts; its publication date is the files' created date.
    out_dir : pathlib.Path
        Folder to write to (created if missing).
    legacy_la_codes : mapping of str to str
        GSS code -> legacy LA code, for the ``LA code`` column.
    revisions : pandas.DataFrame, optional
        :func:`cldstats.disclosure.revisions_table` of the release.

    Returns
    -------
    list of pathlib.Path
        The four files, ODS before XLSX for each workbook.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for measure in _MEASURES:
        title, sheets = dhsc_sheets(published, release, measure, legacy_la_codes, revisions)
        stem = out_dir / f"{measure}{SUFFIX}"
        written.append(ods_writing.write_ods(stem.with_suffix(".ods"), sheets, title=title,
                                             created=release.publication_date, subject=SUBJECT))
        written.append(write_xlsx(stem.with_suffix(".xlsx"), sheets, title=title, created=release.publication_date))
    return written


def write_ods_copies(xlsx_paths: Sequence[Path], release: ReleaseInfo) -> list[Path]:
    """An ``.ods`` beside each XLSX workbook with its every sheet, value, note and header.

    The title is the XLSX's document title; the created date the publication date.
    """
    import openpyxl

    written = []
    for path in xlsx_paths:
        path = Path(path)
        workbook = openpyxl.load_workbook(path, read_only=True)
        try:
            title = workbook.properties.title or path.stem
        finally:
            workbook.close()
        sheets = ods_writing.sheets_from_xlsx(path)
        written.append(ods_writing.write_ods(path.with_suffix(".ods"), sheets, title=title,
                                             created=release.publication_date, subject=SUBJECT))
    return written


def read_dhsc_table(path: Path, sheet: str) -> pd.DataFrame:
    """Read one table sheet of a DHSC-layout workbook (ODS or XLSX) as DHSC's readers do: the
    header on row 3. Cells are objects: ints, symbols, and NaN for an empty cell."""
    engine = "odf" if Path(path).suffix == ".ods" else "openpyxl"
    return pd.read_excel(path, sheet_name=sheet, header=HEADER_ROW - 1, dtype=object, engine=engine)
