"""Accessible spreadsheets of a release (DESIGN.md output contract ``spreadsheets/*.xlsx``).

The published frames of :mod:`cldstats.disclosure` (the same frames that are written to
``data/*.csv``) become two workbooks built with ``gptables`` 2, following the Government
Analysis Function guidance on releasing statistics in spreadsheets:

* ``long_term_support.xlsx``: people receiving long-term support by age group, age band, gender,
  ethnicity group and ethnicity (each crossed with support setting), rates per 100,000 adults by
  the same breakdowns (age bands to ``85 and above``), the populations used as denominators, and
  the councils included in each area;
* ``assessments.xlsx``: people assessed by the same breakdowns (no support setting), with a
  ``Total`` column over the months, rates per 100,000 of that total with their populations, and
  the councils included in each area.

Each workbook has a cover sheet (title, period, status, source, coverage, publication date, next
update, contact), a contents sheet listing every sheet after it (the notes sheet included), a notes
sheet (definitions, coverage, symbols, rounding, revisions, override) and one table a sheet
(``Table_1``, ``Table_2``, ... as DHSC's CLD files). When cells of the workbook's tables were
revised, a last sheet ``Revisions`` lists each revised figure with its previous and revised value
(from :func:`cldstats.disclosure.revisions_table`). The document title and language (``en-GB``)
are set, no column is wider than :data:`MAX_COLUMN_WIDTH` characters (longer text wraps), and
every text cell goes through :mod:`cldstats.core.safe_output`, so none reads as a formula.

Decisions
---------
Two workbooks, not one
    The two measures have different periods (month ends against calendar months with a total)
    and different breakdowns (support setting); DHSC publishes them as two files and users of
    one rarely need the other. Each stays small enough to open quickly.

Wide layout, one header row
    One row per area x support setting x breakdown value and one column per period, headed
    like ``31 March 2024 [p]`` (assessments ``March 2024 [p]`` and
    ``Total April 2023 to March 2024 [p]``), as DHSC lays out its CLD tables. Every table has
    exactly one header row; titles, units and instructions sit above it in column A. Each
    breakdown table also holds its ``All`` rows (the total for the area and setting) so a
    sheet can be read on its own. Rows keep the order of the CSV (England, regions, councils;
    settings; breakdown values), columns run in time order.

Numbers stay numbers; ``[c]``, ``[x]``, ``[z]`` are text in numeric columns
    Counts, rates and populations are written as numeric cells (never as text that looks like
    a number). A cell with a symbol instead of a number holds the symbol as text in the same
    column, which the guidance allows for shorthand; ``gptables`` right-aligns a column whose
    entries are numbers once the ``[..]`` symbols are set aside, so symbol cells and numbers
    line up the same way.

``[p]`` in the column header
    Every cell of a month of a release is provisional, so ``[p]`` goes in the header of a
    period column when every cell of that period is flagged ``p`` (it is in this pipeline,
    but the header is driven by the flags, not assumed).

``[r]`` in a separate column, never beside a number
    A numeric cell cannot hold ``105 [r]``. Each table therefore ends with a text column
    ``Revised [r]`` that names, for that row, the periods whose cell was revised since the
    previous release, e.g. ``[r] 31 January 2024; 29 February 2024``, or ``Not revised``. The
    symbol ``[r]`` is in every such cell, so a search or a filter for ``[r]`` finds every row
    with a revision, and the named period locates the cell. The number of revised cells and the
    release they were compared with are stated on the cover and in the notes, and the
    ``Revisions`` sheet gives each revised figure's previous and revised value (cell, old, new).
    In the rates table ``[r]`` means the rate or its population changed.

Councils included in a table of its own, as numbers
    ``councils_included`` (``"152 of 153"``) describes an area in a period, not a breakdown
    value, so it is published once per area and period in the last table rather than repeated
    on every row. Text such as ``152 of 153`` in a numeric table cannot be summed or sorted, so
    it is two numbers: ``Councils in area`` (153, 12, 1: the same in every period, one column)
    and one ``Councils with data, <period>`` column per period.

Next update
    The cover gives the date of the next release (:func:`next_update`): ``publication.next_update``
    when set, else the publication date the next release's own params give (for the default
    quarterly cut-off, the next quarter's), else "To be announced". The Code of Practice asks
    for release dates to be pre-announced, and a user of a monthly series looks for it there.

Rates
    Every breakdown value with a population DHSC publishes has a rate (docs/methodology.md section
    4): age groups, age bands to ``85 and above``, Female and Male, ethnicity groups and subgroups.
    All of them go in one rates table with ``Breakdown`` and ``Breakdown value`` columns, rather
    than a sheet each: a user compares rates across breakdowns, and the values without a
    population stay visible as ``[z]``. The population does not depend on the support setting, so
    it is published once per area, breakdown value and period; its headers carry no ``[p]`` and it
    has no ``Revised [r]`` column (a changed population shows as ``[r]`` in the rates table, whose
    flag covers the rate and its population). The assessments' rates divide the ``Total`` only,
    so their two tables have one period column each.

Deterministic files
    Document properties are fixed (author, title, created date = the publication date given in
    :class:`ReleaseInfo`, never the clock) and xlsxwriter stamps zip members with a fixed
    date, so the same frames and release give identical XML parts (and, in practice, identical
    bytes). ``tests/unit/publication/test_tables.py`` compares the XML parts with committed goldens.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cldstats.core import safe_output
from cldstats.publication.release_info import ReleaseInfo
from cldstats.publication.tidy_tables import (
    AREA_COLUMNS,
    BREAKDOWNS,
    REVISION_VALUE_COLUMNS,
    count_revised_cells,
    long_date,
    ordered_periods,
    period_label,
    revisions_frame,
    table_frames,
)
from cldstats.publication.xlsx_writing import (
    DOCUMENT_LANGUAGE,
    capped_column_widths,
    document_language,
    fast_table_writing,
)
from cldstats.reference import statements
from cldstats.reference.statements import MethodFacts


# ---------------------------------------------------------------------------------------------
# Workbook text
# ---------------------------------------------------------------------------------------------
def _period_text(frame: pd.DataFrame, period_column: str) -> str:
    periods = [p for p in ordered_periods(frame[period_column]) if p != "Total"]
    return f"{period_label(periods[0])} to {period_label(periods[-1])}"


def _revisions_note(release: ReleaseInfo, revised_here: int, revisions: pd.DataFrame | None) -> str:
    """The notes sheet's revisions text: how many cells, against which release, where listed.

    Without a revisions table (``revisions`` None) and a named earlier release, the text is the one
    the golden workbooks hold.
    """
    text = (f"A table's Revised [r] column names, for each row, the periods whose figure differs from the "
            f"previous release, or says Not revised. {revised_here} cells in this workbook "
            f"({release.revised_cells} in the whole release) were revised.")
    if release.previous_release:
        text += f" Figures were compared with the {release.previous_release}."
    elif revisions is not None:
        text += " There is no earlier release of these figures to compare with."
    if revisions is not None and len(revisions):
        text += " The Revisions table lists each revised figure with its previous and revised value."
    return text


def _notes(release: ReleaseInfo, measure: str, revised_here: int,
           revisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Notes sheet rows: reference (used as ``$$ref$$`` in the tables), text.

    Every statement of the method comes from :mod:`cldstats.reference.statements` and ``release.facts``.
    """
    facts = release.facts
    override = (
        f"This release was published despite a publication-level stop of the data quality gate. Reason: "
        f"{release.override_reason}"
        if release.override_reason
        else f"No override was needed: {release.gate_message or 'the publication gate passed'}."
    )
    cells = statements.cell_symbols_phrase()
    rows = [
        ("definition", statements.definition(facts, measure)),
        ("areas", statements.areas_sentence(facts)),
        ("adass", statements.adass_sentence(facts)),
        ("coverage", f"{statements.coverage_sentence(facts, release.councils_selected)} A council without one is "
                     f"shown as {statements.NOT_AVAILABLE}; the councils included in each area are listed in the "
                     "last table."),
        ("rounding", f"{statements.rounding_sentence(facts)} {statements.independent_rounding_sentence()}"),
        ("symbols", f"{statements.symbol_list(facts, full=True)} {statements.PROVISIONAL} in a column header: every "
                    f"figure in that column is provisional. Cells holding {cells} are text; all other figures are "
                    "numbers."),
        ("revisions", _revisions_note(release, revised_here, revisions)),
        ("override", override),
    ]
    if release.selection_note:
        rows.append(("selection", release.selection_note))
    mapped = statements.mapped_values_sentence(release.values_mapped, release.fields_mapped, release.mappings_folder)
    if mapped:  # only when a value was mapped by hand: a release without mappings keeps its notes
        rows.append(("mappings", mapped))
    rows.append(("rates", f"{statements.rate_counts_sentence(measure)} {statements.rates_sentence(facts)} In the "
                          f"rates table, {statements.REVISED} marks a change in the rate or its population."))
    return pd.DataFrame(rows, columns=["Note reference", "Note text"])


def _cover(release: ReleaseInfo, title: str, period: str):
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    import gptables as gpt

    status = (
        "These are official statistics in development: they are new and still being developed, and are "
        "published to involve users and stakeholders in their development."
    )
    intro = [
        f"Reference period: {period}.",
        f"Published: {long_date(release.publication_date)}.",
        "Next update: " + (f"{long_date(release.next_update)}." if release.next_update else "To be announced."),
        status,
        "All figures are provisional [p] and may be revised in later releases.",
    ]
    about = [
        f"Source: {release.source}.",
        f"Coverage: {statements.coverage_sentence(release.facts, release.councils_selected)}",
        f"Revisions: {release.revised_cells} published figures have been revised [r] since the previous release"
        + (f" ({release.previous_release})." if release.previous_release else "."),
        "Data quality override: " + (release.override_reason or "none."),
        f"Symbols: {statements.symbol_list(release.facts)}",
        "Definitions, coverage, rounding, symbols and revisions are explained on the Notes worksheet.",
    ]
    contact = [f"Email: {release.contact_email}"]
    text = safe_output.neutralise_text
    return gpt.Cover(
        title=text(title),
        intro=[text(line) for line in intro],
        about=[text(line) for line in about],
        contact=[text(line) for line in contact],
    )


_INSTRUCTIONS = (
    "This worksheet contains one table with one row per {rows}. Some cells hold [c], [x] or [z] instead "
    "of a number; the Revised [r] column lists revised periods. Notes are on the Notes worksheet."
)


def _gptable(frame: pd.DataFrame, name: str, title: str, units: str, rows: str, source: str,
             notes: Sequence[str], instructions: str | None = None, number_columns: Sequence[str] | None = None):
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    import gptables as gpt

    # Note references go in the subtitle (not the column headers) so the header row stays plain.
    markers = "".join(f"$${n}$$" for n in notes)
    # Thousands separators on the period columns (or the ``number_columns`` given); a display
    # format only, so cells stay numbers and the text symbols are untouched.
    periods = (list(number_columns) if number_columns is not None else
               [c for c in frame.columns if re.match(r"(\d{1,2} )?[A-Z][a-z]+ \d{4}|Total ", str(c))])
    text = safe_output.neutralise_text
    return gpt.GPTable(
        table=safe_output.neutralise_frame(frame),
        table_name=name,
        title=text(title),
        subtitles=[text(f"{units}. Related notes: {markers}")],
        instructions=text(instructions or _INSTRUCTIONS.format(rows=rows)),
        source=text(f"Source: {source}"),
        index_columns={},
        additional_formatting=[
            {"column": {"columns": periods, "format": {"num_format": "#,##0"}, "include_names": False}}
        ],
    )


def _revisions_sheet(measure: str, revisions: pd.DataFrame, periods: Sequence[str], period: str,
                     release: ReleaseInfo):
    stem = "lts" if measure == "long_term_support" else "assessed"
    against = f" (compared with the {release.previous_release})" if release.previous_release else ""
    counts = statements.count_units(release.facts)
    units = (f"{counts}, rate per 100,000 adults or number of adults, as published"
             if measure == "long_term_support" else f"{counts}, as published")
    return _gptable(
        revisions_frame(revisions, periods), f"{stem}_revisions",
        f"Figures revised since the previous release{against}, {period}",
        units, "revised figure", release.source, ["revisions", "rounding", "symbols"],
        instructions=("This worksheet contains one table with one row per revised figure: the cell (period, area, "
                      "breakdown, figure), its value in the previous release and its revised value. Some cells "
                      "hold [c], [x] or [z] instead of a number. Notes are on the Notes worksheet."),
        number_columns=REVISION_VALUE_COLUMNS,
    )


def _workbook_sheets(measure: str, tables: Mapping[str, pd.DataFrame], period: str, source: str,
                     facts: MethodFacts, more_notes: Sequence[str] = ()) -> dict:
    """The table sheets; ``more_notes``: further notes the breakdown tables cite (``selection``,
    ``mappings``)."""
    noun = "People receiving long-term support" if measure == "long_term_support" else "People assessed"
    stem = "lts" if measure == "long_term_support" else "assessed"
    setting = " and support setting" if measure == "long_term_support" else ""
    count_units = statements.count_units(facts)
    sheets = {}
    number = 0
    for breakdown in BREAKDOWNS:
        number += 1
        slug = breakdown.lower().replace(" ", "_")
        sheets[f"Table_{number}"] = _gptable(
            tables[breakdown], f"{stem}_by_{slug}",
            f"{noun} by {breakdown.lower()}{setting}, England, regions and councils, {period}",
            count_units, f"area{', support setting' if setting else ''} and {breakdown.lower()}", source,
            ["definition", "areas", "adass", "coverage", "rounding", "symbols", "revisions", "override",
             *more_notes],
        )
    setting_rows = ", support setting" if setting else ""
    over = "" if measure == "long_term_support" else " over the release's months"
    number += 1
    sheets[f"Table_{number}"] = _gptable(
        tables["Rates"], f"{stem}_rates",
        f"{noun} per 100,000 adults{over} by age, gender and ethnicity{setting}, {period}",
        "Rate per 100,000 adults in the population of the breakdown value, whole numbers",
        f"area{setting_rows} and breakdown value", source, ["rates", "adass", "symbols", "revisions"],
    )
    number += 1
    sheets[f"Table_{number}"] = _gptable(
        tables["Population"], f"{stem}_rate_populations",
        f"Adult population used for the rates, by age, gender and ethnicity, {period}",
        "Number of adults", "area and breakdown value", source, ["rates", "adass"],
        instructions=("This worksheet contains one table with one row per area and breakdown value. Cells hold a "
                      "number, [x] (not available) or [z] (no population for that value or area)."),
    )
    number += 1
    councils = tables["Councils"]
    sheets[f"Table_{number}"] = _gptable(
        councils, f"{stem}_councils_included",
        f"Councils included in each area's figures, {period}",
        "Number of councils", "area", source, ["coverage"],
        instructions=("This worksheet contains one table with one row per area: the number of councils in the area "
                      "and, for each period, the number of those councils with data. Cells hold a number or [x] "
                      "(not available)."),
        number_columns=[c for c in councils.columns if c not in AREA_COLUMNS.values()],
    )
    return sheets
#: Text is written as text: a string starting ``=`` is never turned into a formula nor a string
#: that looks like a link into a hyperlink (text cells are also neutralised, :mod:`cldstats.core.safe_output`).
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}
NOTES_TITLE = "Notes on the figures in this workbook"


def _produce_workbook(path: Path, sheets: dict, cover, notes: pd.DataFrame):
    """``gptables.produce_workbook`` with the Notes sheet listed in the contents table.

    gptables builds its contents table from the table sheets only; here the notes table is built
    first and listed before the tables. Sheets: cover, contents, notes, the tables in order.
    """
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    from gptables.core.wrappers import GPWorkbook

    workbook = GPWorkbook(path.as_posix(), options=dict(WORKBOOK_OPTIONS))
    workbook.add_worksheet(cover.cover_label, gridlines="hide_all").write_cover(cover)
    workbook._update_annotations(sheets)  # note numbers in the order the tables first cite them
    notes_sheet = workbook.make_notesheet(
        notes, title=NOTES_TITLE,
        instructions="This worksheet contains one table with one row per note. Tables cite notes by number.",
    )
    contents = workbook.make_table_of_contents({"Notes": notes_sheet, **sheets}, title="Contents")
    for label, gptable in {"Contents": contents, "Notes": notes_sheet, **sheets}.items():
        workbook.add_worksheet(label, gridlines="hide_all").write_gptable(gptable, True, workbook._annotations)
    return workbook


def _write(path: Path, sheets: dict, cover, notes: pd.DataFrame, release: ReleaseInfo, title: str) -> None:
    with warnings.catch_warnings():
        # gptables warns about notes a workbook does not reference; every note here is referenced
        # or deliberately general, and the warning would only add noise to the run log.
        warnings.filterwarnings("ignore", message="The following notes are not referenced")
        # gptables 2.0.2 calls pandas APIs that pandas 3.1 deprecates (inplace=, copy=); the
        # warnings are about the library, not our data, and would flood every run's log.
        warnings.filterwarnings("ignore", module=r"gptables(\.|$)")
        with capped_column_widths(), fast_table_writing():
            workbook = _produce_workbook(path, sheets, cover, safe_output.neutralise_frame(notes))
    # Fixed properties: the created/modified date is the publication date, not the clock,
    # so two runs on the same inputs give the same docProps/core.xml.
    # xlsxwriter writes a naive datetime as UTC ("...T00:00:00Z") for both created and modified.
    created = dt.datetime.combine(release.publication_date, dt.time(0, 0))
    workbook.set_properties({
        "title": title,
        "subject": "Adult social care client level data, England: official statistics in development",
        "author": "cldstats",
        "company": "",
        "keywords": "adult social care, client level data, official statistics in development",
        "created": created,
    })
    with document_language(DOCUMENT_LANGUAGE):
        workbook.close()


def write_workbooks(published: Mapping[str, pd.DataFrame], release: ReleaseInfo, out_dir: Path,
                    revisions: pd.DataFrame | None = None) -> list[Path]:
    """Write the release's accessible spreadsheets.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        ``long_term_support``, ``long_term_support_rates`` and ``assessments``: the published
        frames exactly as written to ``data/*.csv`` (all columns strings).
    release : ReleaseInfo
        Cover and notes facts (period, coverage, override, revisions, publication date, contact).
    out_dir : pathlib.Path
        Folder to write to (created if missing), normally ``reports/<YYYY-MM>/spreadsheets``.
    revisions : pandas.DataFrame, optional
        :func:`cldstats.disclosure.revisions_table` of the release (``qa/revisions.csv``). With
        rows for a workbook's tables, the workbook gets a ``Revisions`` sheet after its tables, and
        its notes say it is there; the notes also name ``release.previous_release``.

    Returns
    -------
    list of pathlib.Path
        ``long_term_support.xlsx`` and ``assessments.xlsx``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = table_frames(published)
    written = []
    specs = {
        "long_term_support": ("People receiving long-term support", "reference_date", ("long_term_support",
                                                                                       "long_term_support_rates")),
        "assessments": ("People assessed", "reference_month", ("assessments", "assessments_rates")),
    }
    for measure, (noun, period_column, sources) in specs.items():
        period = _period_text(published[sources[0]], period_column)
        title = (f"{noun}: adult social care client level data, England, {period} "
                 "(official statistics in development)")
        revised_here = count_revised_cells({s: published[s] for s in sources})
        # The selection note, and the values mapped by hand only when there are any, are cited by
        # the breakdown tables.
        extra = (("selection",) if release.selection_note else ()) + (("mappings",) if release.values_mapped else ())
        sheets = _workbook_sheets(measure, frames[measure], period, release.source, release.facts, extra)
        here = None if revisions is None else revisions[revisions["table"].isin(sources)]
        if here is not None and len(here):
            periods = ordered_periods(published[sources[0]][period_column])
            sheets["Revisions"] = _revisions_sheet(measure, here, periods, period, release)
        path = out_dir / f"{measure}.xlsx"
        notes = _notes(release, measure, revised_here, here)
        _write(path, sheets, _cover(release, title, period), notes, release, title)
        written.append(path)
    return written


def read_table(path: Path, sheet: str) -> pd.DataFrame:
    """Read one table sheet back (for tests and QA): the header row is the first row whose first
    cell is ``Area code`` (``Period`` on the Revisions sheet)."""
    raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object)
    start = int(np.flatnonzero(raw.iloc[:, 0].isin(["Area code", "Period"]).to_numpy())[0])
    table = raw.iloc[start + 1:].reset_index(drop=True)
    table.columns = raw.iloc[start].tolist()
    return table


#: Public names of the cover and notes builders, for the DHSC-layout workbooks
#: (:mod:`cldstats.publication.dhsc_workbooks`), so both layouts say the same.
cover, notes_frame = _cover, _notes
