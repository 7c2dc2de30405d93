"""Accessible spreadsheets of a release (DESIGN.md output contract ``spreadsheets/*.xlsx``).

The published frames of :mod:`cldstats.disclosure` (the same frames that are written to
``data/*.csv``) become two workbooks built with ``gptables`` 2, following the Government
Analysis Function guidance on releasing statistics in spreadsheets:

* ``long_term_support.xlsx``: people receiving long-term support by age group, age band, gender,
  ethnicity group and ethnicity (each crossed with support setting), rates per 100,000 adults,
  the adult populations used as denominators, and the councils included in each area;
* ``assessments.xlsx``: people assessed by the same breakdowns (no support setting), with a
  ``Total`` column over the months, and the councils included in each area.

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
    Only the ``All`` and ``Age group`` breakdowns have populations (docs/methodology.md section 4);
    every other breakdown's rate and population are ``[z]`` (``[x]`` without data) in the CSV, so the rates and
    population tables carry those two breakdowns only. The population does not depend on the
    support setting, so it is published once per area, age group and period; its headers carry no
    ``[p]`` and it has no ``Revised [r]`` column (a changed population shows as ``[r]`` in the rates
    table, whose flag covers the rate and its population).

Deterministic files
    Document properties are fixed (author, title, created date = the publication date given in
    :class:`ReleaseInfo`, never the clock) and xlsxwriter stamps zip members with a fixed
    date, so the same frames and release give identical XML parts (and, in practice, identical
    bytes). ``tests/test_tables.py`` compares the XML parts with committed goldens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldstats.core import safe_output
from cldstats.reference import statements
from cldstats.reference.statements import CELL_SYMBOLS, MethodFacts

__all__ = [
    "PLACEHOLDER_CONTACT",
    "ReleaseInfo",
    "TO_BE_ANNOUNCED",
    "count_revised_cells",
    "next_update",
    "period_label",
    "read_table",
    "revisions_frame",
    "table_frames",
    "write_workbooks",
]

#: A clearly-not-real address: the lead sets the real one (e.g. from params) in ``ReleaseInfo``.
PLACEHOLDER_CONTACT = "cld-statistics@example.org"
DEFAULT_SOURCE = (
    "Adult Social Care Client Level Data (CLD) submitted by councils in England, "
    "processed by the cldstats pipeline"
)
NOT_REVISED = "Not revised"

# Breakdowns published as their own table, in order, with the header used for the value column.
BREAKDOWNS = ("Age group", "Age band", "Gender", "Ethnicity group", "Ethnicity")
AREA_COLUMNS = {"area_code": "Area code", "area_name": "Area name", "area_level": "Area level"}


@dataclass(frozen=True)
class ReleaseInfo:
    """What the cover and notes sheets say about a release.

    Attributes
    ----------
    month : str
        Reference month, ``"YYYY-MM"``.
    reference_date : datetime.date
        Last day of the reference month.
    councils_selected : int
        Councils with a selected submission (the publication gate's coverage).
    publication_date : datetime.date
        Date of publication: a fixed input, also used as the workbooks' created date so two runs
        give identical files (never the clock).
    facts : cldstats.reference.statements.MethodFacts
        The run's method (rounding, suppression, adult age, look-back, councils in England): every
        sentence of the cover and notes about the method is built from it.
    revised_cells : int
        Cells revised since the previous release, over all published tables
        (see :func:`count_revised_cells`).
    override_reason : str
        Non-empty when the release was published despite a publication-level stop.
    gate_message : str
        The publication gate's one-line decision.
    contact_email : str
        Contact address on the cover; the default is a placeholder to be set from params.
    previous_release : str
        The release the cells were compared with for ``[r]`` (e.g. ``"2024-03 release of run
        20240601T090000Z"``, :func:`cldstats.disclosure.previous_release_label`); empty when not
        known or there is none.
    source : str
        Source statement on the cover and under every table.
    next_update : datetime.date or None
        Date of the next release, on the cover (:func:`next_update`); None: "To be announced".
    """

    month: str
    reference_date: dt.date
    councils_selected: int
    publication_date: dt.date
    facts: MethodFacts
    revised_cells: int = 0
    override_reason: str = ""
    gate_message: str = "publication gate passed"
    contact_email: str = PLACEHOLDER_CONTACT
    previous_release: str = ""
    source: str = DEFAULT_SOURCE
    next_update: dt.date | None = None

    @property
    def coverage(self) -> float:
        """Share of councils with a selected submission."""
        return self.councils_selected / self.facts.councils_total

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        published: Mapping[str, pd.DataFrame],
        publication_date: dt.date,
        **fields: Any,
    ) -> ReleaseInfo:
        """Build from a release's ``manifest.json`` content and its published frames.

        Parameters
        ----------
        manifest : mapping
            Needs ``month``, ``reference_date``, ``params`` (for :class:`MethodFacts`) and ``gate``
            (``councils_selected``, ``override_reason``, ``message``).
        published : mapping of str to pandas.DataFrame
            The published frames (for the revised-cell count).
        publication_date : datetime.date
            Fixed publication date.
        **fields
            Other :class:`ReleaseInfo` fields (``contact_email``, ``source``, ``next_update``).
        """
        gate = manifest["gate"]
        return cls(
            month=manifest["month"],
            reference_date=dt.date.fromisoformat(str(manifest["reference_date"])),
            councils_selected=int(gate["councils_selected"]),
            publication_date=publication_date,
            facts=MethodFacts.from_params(manifest["params"]),
            revised_cells=count_revised_cells(published),
            override_reason=gate.get("override_reason", "") or "",
            gate_message=gate.get("message", "") or "",
            **fields,
        )


def count_revised_cells(published: Mapping[str, pd.DataFrame]) -> int:
    """Number of published cells flagged ``r`` over all frames.

    Examples
    --------
    >>> count_revised_cells({"a": pd.DataFrame({"flags": ["p", "p r", "p r"]})})
    2
    """
    return int(sum(_has_flag(frame["flags"], "r").sum() for frame in published.values()))


#: ``publication.next_update`` value for a next release whose date is not yet set.
TO_BE_ANNOUNCED = "to be announced"
#: How far ahead :func:`next_update` looks for the next release.
NEXT_UPDATE_HORIZON_MONTHS = 12


def next_update(params: Mapping[str, Any], params_dir: Path | None = None) -> dt.date | None:
    """Date of the next release, for the cover's "Next update" line.

    ``publication.next_update`` in params decides:

    * ``"YYYY-MM-DD"``: that date, which must come after ``publication.date``;
    * ``"to be announced"``: None (the cover says so);
    * blank (the default): derived from the params of the next release, i.e. the publication date
      of the first later month whose own params (``defaults.yaml`` and its month file, resolved by
      :func:`cldstats.reference.params.load_params`, so a blank date is 14 days after its cut-off) fall after
      this release's. Months of one quarter share a default cut-off and so a publication date: they
      are one release, and the next update is the next quarter's. None if no month in the next
      :data:`NEXT_UPDATE_HORIZON_MONTHS` is published later.

    Parameters
    ----------
    params : mapping
        The run's resolved params (:func:`cldstats.reference.params.load_params`).
    params_dir : pathlib.Path, optional
        Folder of ``defaults.yaml`` and the month files (default: the one the run used,
        :func:`cldstats.reference.params.default_params_dir`).

    Raises
    ------
    cldstats.reference.params.ParamsError
        ``publication.next_update`` is neither blank, a date nor "to be announced", or is not after
        the publication date.
    """
    from cldstats.reference.params import ParamsError, load_params, month_end

    published = dt.date.fromisoformat(params["publication"]["date"])
    setting = str(params["publication"].get("next_update", "") or "").strip()
    if setting.lower() == TO_BE_ANNOUNCED:
        return None
    if setting:
        try:
            day = dt.date.fromisoformat(setting)
        except ValueError:
            raise ParamsError(f"params key 'publication.next_update' must be a date 'YYYY-MM-DD', "
                              f"'{TO_BE_ANNOUNCED}' or blank, got {setting!r}") from None
        if day <= published:
            raise ParamsError(f"params key 'publication.next_update' ({day.isoformat()}) must be after "
                              f"the publication date {published.isoformat()}")
        return day
    for ahead in range(1, NEXT_UPDATE_HORIZON_MONTHS + 1):
        later = str(pd.Period(params["month"], freq="M") + ahead)
        # `today` just after that month: the check that a month has ended guards publishing it,
        # not planning its date.
        planned = load_params(later, params_dir=params_dir, today=month_end(later) + dt.timedelta(days=1))
        day = dt.date.fromisoformat(planned["publication"]["date"])
        if day > published:
            return day
    return None


def _has_flag(flags: pd.Series, flag: str) -> pd.Series:
    """Whether each space-separated ``flags`` string holds ``flag`` (``p``, ``r``)."""
    return flags.str.contains(rf"(?:^|\s){flag}(?:\s|$)", regex=True)


def _long_date(day: dt.date) -> str:
    # Built by hand: strftime's no-padding day (%-d) is platform-specific.
    return f"{day.day} {day:%B %Y}"


def period_label(period: str, periods: Sequence[str] = ()) -> str:
    """Header text of a period: ``31 March 2024`` for a date, ``March 2024`` for a month,
    ``Total April 2023 to March 2024`` for the assessments total over ``periods``.

    Examples
    --------
    >>> period_label("2024-02-29")
    '29 February 2024'
    >>> period_label("2024-03")
    'March 2024'
    >>> period_label("Total", ["2023-04", "2024-03", "Total"])
    'Total April 2023 to March 2024'
    """
    if period == "Total":
        months = sorted(p for p in periods if p != "Total")
        return f"Total {period_label(months[0])} to {period_label(months[-1])}" if months else "Total"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
        return _long_date(dt.date.fromisoformat(period))
    return f"{dt.date.fromisoformat(period + '-01'):%B %Y}"


def _ordered_periods(periods: pd.Series) -> list[str]:
    # ISO dates and months sort in time order; the assessments "Total" goes last.
    unique = sorted(set(periods))
    return [p for p in unique if p != "Total"] + [p for p in unique if p == "Total"]


def _as_cells(values: pd.DataFrame) -> pd.DataFrame:
    """Numbers as Python ints (numeric cells); ``[c]``/``[x]``/``[z]`` kept as text.

    A missing cell (a row without that period) is ``[x]``: the guidance asks for no blank cells.
    """
    values = values.fillna("[x]")
    numbers = values.apply(pd.to_numeric, errors="coerce")
    # Published counts, rates and populations are whole numbers; anything else is a bug upstream.
    unknown = (numbers.isna() & ~values.isin(CELL_SYMBOLS)) | numbers.mod(1).fillna(0).ne(0)
    if unknown.to_numpy().any():
        bad = sorted(set(values.to_numpy()[unknown.to_numpy()]))[:5]
        raise ValueError(f"published values must be whole numbers or {', '.join(CELL_SYMBOLS)}: found {bad}")
    # Int64 -> object gives Python ints, which xlsxwriter writes as numbers.
    cells = numbers.astype("Int64").astype(object)
    return cells.where(numbers.notna(), values)


def _wide(
    long: pd.DataFrame, period_column: str, value_column: str, keys: list[str], *, provisional_headers: bool = True
) -> pd.DataFrame:
    """Pivot ``long`` to one row per ``keys`` and one column per period, plus ``Revised [r]``.

    Rows keep their order of first appearance in ``long`` (the CSV's order).
    """
    periods = _ordered_periods(long[period_column])
    rows = long[keys].drop_duplicates()
    wide = long.pivot(index=keys, columns=period_column, values=value_column)
    wide = wide.reindex(index=pd.MultiIndex.from_frame(rows), columns=periods)
    cells = _as_cells(wide)

    provisional = _has_flag(long["flags"], "p").groupby(long[period_column]).all()
    revised = _has_flag(long["flags"], "r")
    labels = {p: period_label(p, periods) for p in periods}
    headers = {p: labels[p] + (" [p]" if provisional_headers and provisional[p] else "") for p in periods}
    cells.columns = [headers[p] for p in periods]

    # Per row, the periods with a revised cell, in time order (vectorised: filter, sort, join).
    hits = long.loc[revised, keys + [period_column]].copy()
    hits["order"] = hits[period_column].map({p: i for i, p in enumerate(periods)})
    hits["label"] = hits[period_column].map(labels)
    hits = hits.sort_values("order", kind="mergesort")
    listed = hits.groupby(keys, sort=False)["label"].agg("; ".join)
    revised_text = ("[r] " + listed).reindex(cells.index).fillna(NOT_REVISED)
    cells["Revised [r]"] = revised_text.to_numpy()
    return cells.reset_index()


def _rename(frame: pd.DataFrame, breakdown_header: str) -> pd.DataFrame:
    names = {**AREA_COLUMNS, "support_setting": "Support setting", "breakdown_value": breakdown_header}
    return frame.rename(columns=names)


def _breakdown_rows(frame: pd.DataFrame, breakdown: str) -> pd.DataFrame:
    # Each breakdown table carries the area's "All" rows too, so a sheet can be read alone.
    return frame[frame["breakdown"].isin(["All", breakdown])]


def table_frames(published: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """The tables of each workbook as plain frames, before ``gptables`` formatting.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        ``long_term_support``, ``long_term_support_rates`` and ``assessments`` as in
        DESIGN.md's output contract (all columns strings).

    Returns
    -------
    dict
        ``{"long_term_support": {table key: frame}, "assessments": {...}}``; counts, rates and
        populations are Python ints or ``[c]``/``[x]``/``[z]`` strings.
    """
    lts = published["long_term_support"]
    rates = published["long_term_support_rates"]
    assessed = published["assessments"]
    area = list(AREA_COLUMNS)

    lts_tables = {}
    for breakdown in BREAKDOWNS:
        rows = _breakdown_rows(lts, breakdown)
        wide = _wide(rows, "reference_date", "value", area + ["support_setting", "breakdown_value"])
        lts_tables[breakdown] = _rename(wide, breakdown)

    rate_rows = _breakdown_rows(rates, "Age group")
    rate_wide = _wide(rate_rows, "reference_date", "rate", area + ["support_setting", "breakdown_value"])
    lts_tables["Rates"] = _rename(rate_wide, "Age group")

    # The denominator does not depend on the setting: one row per area and age group.
    population = rate_rows.drop_duplicates(area + ["breakdown_value", "reference_date", "population"])
    if population.duplicated(area + ["breakdown_value", "reference_date"]).any():
        raise ValueError("a population differs between support settings of the same area, age group and date")
    pop_wide = _wide(population, "reference_date", "population", area + ["breakdown_value"],
                     provisional_headers=False)
    lts_tables["Population"] = _rename(pop_wide.drop(columns="Revised [r]"), "Age group")
    lts_tables["Councils"] = _councils(lts, "reference_date")

    assessed_tables = {}
    for breakdown in BREAKDOWNS:
        rows = _breakdown_rows(assessed, breakdown)
        wide = _wide(rows, "reference_month", "value", area + ["breakdown_value"])
        assessed_tables[breakdown] = _rename(wide, breakdown)
    assessed_tables["Councils"] = _councils(assessed, "reference_month")
    return {"long_term_support": lts_tables, "assessments": assessed_tables}


COUNCILS_IN_AREA = "Councils in area"
COUNCILS_WITH_DATA = "Councils with data, {period}"


def _councils(frame: pd.DataFrame, period_column: str) -> pd.DataFrame:
    """Councils included per area: ``Councils in area`` and, per period, ``Councils with data``.

    ``councils_included`` (``"152 of 153"``) becomes two numbers: the councils in the area (the
    same in every period, so one column) and, for each period, the councils with data. A period
    without a row for the area is ``[x]``.
    """
    area = list(AREA_COLUMNS)
    cells = frame.drop_duplicates(area + [period_column])
    parts = cells["councils_included"].str.extract(r"^(\d+) of (\d+)$")
    if parts.isna().any().any():
        bad = sorted(set(cells.loc[parts.isna().any(axis=1), "councils_included"].astype(str)))[:5]
        raise ValueError(f"councils_included must read '<n> of <N>': found {bad}")
    cells = cells.assign(with_data=parts[0].astype(int), in_area=parts[1].astype(int))
    in_area = cells.drop_duplicates(area + ["in_area"])
    if in_area.duplicated(area).any():
        raise ValueError("the number of councils in an area differs between periods")
    periods = _ordered_periods(cells[period_column])
    rows = pd.MultiIndex.from_frame(cells[area].drop_duplicates())
    wide = cells.pivot(index=area, columns=period_column, values="with_data").reindex(index=rows, columns=periods)
    wide = wide.astype("Int64").astype(object).where(wide.notna(), "[x]")
    wide.columns = [COUNCILS_WITH_DATA.format(period=period_label(p, periods)) for p in periods]
    wide.insert(0, COUNCILS_IN_AREA, in_area.set_index(area)["in_area"].reindex(rows).astype(object).to_numpy())
    return _rename(wide.reset_index(), "")


# ---------------------------------------------------------------------------------------------
# Workbook text
# ---------------------------------------------------------------------------------------------
def _period_text(frame: pd.DataFrame, period_column: str) -> str:
    periods = [p for p in _ordered_periods(frame[period_column]) if p != "Total"]
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
    if measure == "long_term_support":
        rows.append(("rates", f"{statements.rates_sentence(facts)} In the rates table, {statements.REVISED} marks "
                              "a change in the rate or its population."))
    return pd.DataFrame(rows, columns=["Note reference", "Note text"])


def _cover(release: ReleaseInfo, title: str, period: str):
    import gptables as gpt

    status = (
        "These are official statistics in development: they are new and still being developed, and are "
        "published to involve users and stakeholders in their development."
    )
    intro = [
        f"Reference period: {period}.",
        f"Published: {_long_date(release.publication_date)}.",
        "Next update: " + (f"{_long_date(release.next_update)}." if release.next_update else "To be announced."),
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


#: What each revised measure is called on the Revisions sheet, by published table and column.
FIGURES = {
    ("long_term_support", "value"): "People",
    ("long_term_support_rates", "rate"): "Rate per 100,000 adults",
    ("long_term_support_rates", "population"): "Adult population",
    ("assessments", "value"): "People assessed",
}
REVISION_VALUE_COLUMNS = ("Previous value", "Revised value")


def revisions_frame(revisions: pd.DataFrame, periods: Sequence[str] = ()) -> pd.DataFrame:
    """The Revisions sheet's table from :func:`cldstats.disclosure.revisions_table` rows.

    Parameters
    ----------
    revisions : pandas.DataFrame
        Rows of ``qa/revisions.csv`` for one workbook's tables.
    periods : sequence of str
        The periods of the workbook's tables (for the assessments ``Total`` label).

    Returns
    -------
    pandas.DataFrame
        ``Period, Area code, Area name, Area level, [Support setting,] Breakdown, Breakdown value,
        Figure, Previous value, Revised value``: values as numbers, or ``[c]``/``[x]``/``[z]`` text.
        ``Support setting`` only when some row has one.

    Examples
    --------
    >>> rows = pd.DataFrame({"table": ["assessments"], "reference_period": ["2024-03"], "area_level": ["England"],
    ...     "area_code": ["E92000001"], "area_name": ["England"], "support_setting": [""], "breakdown": ["All"],
    ...     "breakdown_value": ["All"], "measure": ["value"], "previous_value": ["[c]"], "new_value": ["10"]})
    >>> revisions_frame(rows).iloc[0].tolist()
    ['March 2024', 'E92000001', 'England', 'England', 'All', 'All', 'People assessed', '[c]', 10]
    """
    periods = list(periods) or list(revisions["reference_period"])
    frame = pd.DataFrame({
        "Period": [period_label(p, periods) for p in revisions["reference_period"]],
        "Area code": revisions["area_code"].to_numpy(),
        "Area name": revisions["area_name"].to_numpy(),
        "Area level": revisions["area_level"].to_numpy(),
        "Support setting": revisions["support_setting"].to_numpy(),
        "Breakdown": revisions["breakdown"].to_numpy(),
        "Breakdown value": revisions["breakdown_value"].to_numpy(),
        "Figure": [FIGURES.get(key, key[1]) for key in zip(revisions["table"], revisions["measure"], strict=True)],
    })
    if not revisions["support_setting"].astype(str).ne("").any():
        frame = frame.drop(columns="Support setting")
    values = _as_cells(pd.DataFrame({
        REVISION_VALUE_COLUMNS[0]: revisions["previous_value"].astype(str).to_numpy(),
        REVISION_VALUE_COLUMNS[1]: revisions["new_value"].astype(str).to_numpy(),
    }))
    return pd.concat([frame, values], axis=1)


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
                     facts: MethodFacts) -> dict:
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
            ["definition", "areas", "coverage", "rounding", "symbols", "revisions", "override"],
        )
    if measure == "long_term_support":
        number += 1
        sheets[f"Table_{number}"] = _gptable(
            tables["Rates"], "lts_rates_by_age_group",
            f"{noun} per 100,000 adults by age group and support setting, {period}",
            "Rate per 100,000 adults, whole numbers", "area, support setting and age group", source,
            ["rates", "symbols", "revisions"],
        )
        number += 1
        sheets[f"Table_{number}"] = _gptable(
            tables["Population"], "lts_rate_populations",
            f"Adult population used for the rates, by age group, {period}",
            "Number of adults", "area and age group", source, ["rates"],
            instructions=("This worksheet contains one table with one row per area and age group. Cells hold a "
                          "number or [z] (no population for that age group)."),
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


# ---------------------------------------------------------------------------------------------
# Writing the tables: gptables' own layout, less Python per cell
# ---------------------------------------------------------------------------------------------
_WHITESPACE_ONLY = re.compile(r"^\s*$")


def _plain_table(gptable: Any) -> dict[str, np.ndarray] | None:
    """The table's columns as object arrays when :func:`_write_table_elements` writes exactly
    what gptables' own ``GPWorksheet._write_table_elements`` would, else None (gptables' then).

    Plain: no index columns, only ``column`` additional formatting, unique string column names,
    and every cell a Python ``str`` or ``int`` that gptables would neither blank (whitespace only)
    nor refuse (no letter or digit: gptables raises, and still does through its own method). The
    tables of :func:`_workbook_sheets` are plain; the contents and notes sheets (links) are not.
    """
    table = gptable.table
    if gptable.index_columns or gptable.index_levels or len(table) == 0 or not table.columns.is_unique:
        return None
    if not all(isinstance(name, str) for name in table.columns):
        return None
    if any(set(item) != {"column"} for item in gptable.additional_formatting or []):
        return None
    columns = {}
    strings: set[str] = set()
    for name in table.columns:
        values = table[name].to_numpy(dtype=object)
        types = set(map(type, values))
        if not types <= {str, int}:
            return None
        if str in types:
            strings.update(v for v in pd.unique(values) if type(v) is str)
        columns[name] = values
    distinct = list(strings)
    if any(_WHITESPACE_ONLY.search(s) for s in distinct):
        return None
    if pd.Series(distinct, dtype=object).astype("string").str.contains("^[^a-zA-Z0-9]*$").any():
        return None
    return columns


def _write_table_elements(worksheet: Any, pos: list, gptable: Any, auto_width: bool, original: Any) -> list:
    """``GPWorksheet._write_table_elements`` for a plain table (:func:`_plain_table`), else ``original``.

    gptables builds a DataFrame of one format dict per cell (a row at a time), then writes and
    measures each cell through several Python calls: at national scale 10 of the 15 seconds the
    two workbooks took. Here the cells of a column share its two format dicts (gptables' were
    equal dicts): the same theme, alignment and additional formats applied in the same order,
    registered with the workbook in the same order (the header's, then the data's, column by
    column, as gptables' row-by-row writing first meets them), every cell written through
    xlsxwriter's own type dispatch (``Worksheet._write``, what ``Worksheet.write`` calls), column
    widths from gptables' own width functions over each column's distinct values, and the Excel
    table marked by gptables' own method. The workbook is byte-for-byte the same (measured on the
    national-scale release; ``tests/test_tables.py`` compares the XML with the goldens).
    """
    columns = _plain_table(gptable)
    if columns is None:
        return original(worksheet, pos, gptable, auto_width)
    theme = worksheet.theme
    names = list(gptable.table.columns)
    n_rows = len(gptable.table)
    header = [dict(theme.column_heading_format) for _ in names]
    data = [dict(theme.data_format) for _ in names]
    # Alignment by gptables' own method, on a stand-in holding the header row and each column's
    # distinct values (its type inference looks at nothing else), with the two rows of formats.
    distinct = {name: pd.unique(values) for name, values in columns.items()}
    longest = max(len(values) for values in distinct.values())
    stand_in = pd.DataFrame(
        [names] + [[distinct[n][i] if i < len(distinct[n]) else np.nan for n in names] for i in range(longest)],
        columns=names, dtype=object,
    )
    worksheet._apply_column_alignments(stand_in, pd.DataFrame([header, data], columns=names, dtype=object), [])
    for item in gptable.additional_formatting or []:
        description = item["column"]
        for position in (names.index(c) if isinstance(c, str) else c for c in description["columns"]):
            if description.get("include_names", True):
                header[position].update(description["format"])
            data[position].update(description["format"])

    workbook = worksheet._workbook
    header_formats = [workbook.add_format(d) for d in header]
    data_formats = [workbook.add_format(d) for d in data]
    first = gptable.data_range[0]
    write = worksheet._write
    for col, name in enumerate(names):
        write(first, col, name, header_formats[col])
    arrays = [columns[n] for n in names]
    for row in range(n_rows):
        for col, values in enumerate(arrays):
            write(first + 1 + row, col, values[row], data_formats[col])

    if auto_width:
        from xlsxwriter.utility import cell_autofit_width

        def width(value: Any, format_dict: dict) -> int:
            line = worksheet._get_longest_line(value)
            return math.ceil(cell_autofit_width(line) * worksheet._get_scaling_factor(format_dict, line))

        worksheet._set_column_widths([
            max([width(name, header[col])] + [width(v, data[col]) for v in distinct[name]])
            for col, name in enumerate(names)
        ])
    worksheet._mark_data_as_worksheet_table(gptable, pd.DataFrame([header], columns=names, dtype=object))
    return [first + n_rows + 1, 0]


@contextlib.contextmanager
def _fast_table_writing() -> Iterator[None]:
    """gptables' worksheets write their tables with :func:`_write_table_elements` inside the block."""
    from gptables.core.wrappers import GPWorksheet

    original = GPWorksheet._write_table_elements

    def write_table_elements(self, pos, gptable, auto_width):
        return _write_table_elements(self, pos, gptable, auto_width, original)

    GPWorksheet._write_table_elements = write_table_elements
    try:
        yield
    finally:
        GPWorksheet._write_table_elements = original


#: Excel's own limit is 255 characters; a column this wide (characters of the default font) is
#: already hard to read, and every data cell wraps (gptables' theme), so longer text wraps instead.
MAX_COLUMN_WIDTH = 100
# xlsxwriter's conversion of a width in characters to pixels (7 per character plus 5 of padding).
MAX_COLUMN_PIXELS = MAX_COLUMN_WIDTH * 7 + 5
#: The document language (``dc:language`` in ``docProps/core.xml``), read out by screen readers.
DOCUMENT_LANGUAGE = "en-GB"
#: Text is written as text: a string starting ``=`` is never turned into a formula nor a string
#: that looks like a link into a hyperlink (text cells are also neutralised, :mod:`cldstats.core.safe_output`).
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}
NOTES_TITLE = "Notes on the figures in this workbook"


@contextlib.contextmanager
def _capped_column_widths() -> Iterator[None]:
    """gptables' automatic column widths are capped at :data:`MAX_COLUMN_PIXELS` inside the block."""
    from gptables.core.wrappers import GPWorksheet

    original = GPWorksheet._set_column_widths

    def set_column_widths(self, widths):
        return original(self, [min(width, MAX_COLUMN_PIXELS) for width in widths])

    GPWorksheet._set_column_widths = set_column_widths
    try:
        yield
    finally:
        GPWorksheet._set_column_widths = original


@contextlib.contextmanager
def _document_language(language: str) -> Iterator[None]:
    """xlsxwriter writes ``<dc:language>`` in ``docProps/core.xml`` inside the block.

    xlsxwriter 3.x has no document-language property; its packager builds the core part with the
    ``Core`` class it imports, so a subclass adding the element after the last one it writes is
    put in its place for the block.
    """
    from xlsxwriter import packager
    from xlsxwriter.core import Core

    class CoreWithLanguage(Core):
        def _write_cp_content_status(self) -> None:
            super()._write_cp_content_status()
            self._xml_data_element("dc:language", language)

    packager.Core = CoreWithLanguage
    try:
        yield
    finally:
        packager.Core = Core


def _produce_workbook(path: Path, sheets: dict, cover, notes: pd.DataFrame):
    """``gptables.produce_workbook`` with the Notes sheet listed in the contents table.

    gptables builds its contents table from the table sheets only; here the notes table is built
    first and listed before the tables. Sheets: cover, contents, notes, the tables in order.
    """
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
        with _capped_column_widths(), _fast_table_writing():
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
    with _document_language(DOCUMENT_LANGUAGE):
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
        "assessments": ("People assessed", "reference_month", ("assessments",)),
    }
    for measure, (noun, period_column, sources) in specs.items():
        period = _period_text(published[sources[0]], period_column)
        title = (f"{noun}: adult social care client level data, England, {period} "
                 "(official statistics in development)")
        revised_here = count_revised_cells({s: published[s] for s in sources})
        sheets = _workbook_sheets(measure, frames[measure], period, release.source, release.facts)
        here = None if revisions is None else revisions[revisions["table"].isin(sources)]
        if here is not None and len(here):
            periods = _ordered_periods(published[sources[0]][period_column])
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
