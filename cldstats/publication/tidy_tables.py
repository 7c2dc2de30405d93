"""The tables of the two workbooks as plain frames (before ``gptables``), from the published frames
of :mod:`cldstats.disclosure`: one row per area x support setting x breakdown value and one column
per period headed like ``31 March 2024 [p]``, a ``Revised [r]`` column, the rates and their
populations (every breakdown in one table, with ``Breakdown`` and ``Breakdown value`` columns; the
assessments' rates of the ``Total`` with a ``Population`` column), the councils included as
numbers, and the Revisions sheet's table. The layout decisions are in
:mod:`cldstats.publication.workbooks`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from cldstats.reference.statements import CELL_SYMBOLS

NOT_REVISED = "Not revised"

# Breakdowns published as their own table, in order, with the header used for the value column.
BREAKDOWNS = ("Age group", "Age band", "Gender", "Ethnicity group", "Ethnicity")
AREA_COLUMNS = {"area_code": "Area code", "area_name": "Area name", "area_level": "Area level"}


def count_revised_cells(published: Mapping[str, pd.DataFrame]) -> int:
    """Number of published cells flagged ``r`` over all frames.

    Examples
    --------
    >>> count_revised_cells({"a": pd.DataFrame({"flags": ["p", "p r", "p r"]})})
    2
    """
    return int(sum(_has_flag(frame["flags"], "r").sum() for frame in published.values()))


def _has_flag(flags: pd.Series, flag: str) -> pd.Series:
    """Whether each space-separated ``flags`` string holds ``flag`` (``p``, ``r``)."""
    return flags.str.contains(rf"(?:^|\s){flag}(?:\s|$)", regex=True)


def long_date(day: dt.date) -> str:
    """``31 March 2024``: a date as the workbooks write it."""
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
        return long_date(dt.date.fromisoformat(period))
    return f"{dt.date.fromisoformat(period + '-01'):%B %Y}"


def ordered_periods(periods: pd.Series) -> list[str]:
    """The distinct periods in time order, the assessments ``Total`` last."""
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
    long: pd.DataFrame, period_column: str, value_column: str, keys: list[str], *, provisional_headers: bool = True,
    all_periods: Sequence[str] = (),
) -> pd.DataFrame:
    """Pivot ``long`` to one row per ``keys`` and one column per period, plus ``Revised [r]``.

    Rows keep their order of first appearance in ``long`` (the CSV's order). ``all_periods``: the
    periods the ``Total`` label spans, when ``long`` holds the ``Total`` only.
    """
    periods = ordered_periods(long[period_column])
    rows = long[keys].drop_duplicates()
    wide = long.pivot(index=keys, columns=period_column, values=value_column)
    wide = wide.reindex(index=pd.MultiIndex.from_frame(rows), columns=periods)
    cells = _as_cells(wide)

    provisional = _has_flag(long["flags"], "p").groupby(long[period_column]).all()
    revised = _has_flag(long["flags"], "r")
    labels = {p: period_label(p, list(all_periods) or periods) for p in periods}
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
    names = {**AREA_COLUMNS, "support_setting": "Support setting", "breakdown": BREAKDOWN_HEADER,
             "breakdown_value": breakdown_header}
    return frame.rename(columns=names)


#: Headers of the rate tables' breakdown columns: every breakdown is in one table.
BREAKDOWN_HEADER, BREAKDOWN_VALUE_HEADER = "Breakdown", "Breakdown value"



def _breakdown_rows(frame: pd.DataFrame, breakdown: str) -> pd.DataFrame:
    # Each breakdown table carries the area's "All" rows too, so a sheet can be read alone.
    return frame[frame["breakdown"].isin(["All", breakdown])]


def table_frames(published: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """The tables of each workbook as plain frames, before ``gptables`` formatting.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        ``long_term_support``, ``long_term_support_rates``, ``assessments`` and
        ``assessments_rates`` as in DESIGN.md's output contract (all columns strings).

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

    # Every breakdown with a population in one rates table (the ``[z]`` rows say which have none).
    rate_keys = area + ["support_setting", "breakdown", "breakdown_value"]
    rate_wide = _wide(rates, "reference_date", "rate", rate_keys)
    lts_tables["Rates"] = _rename(rate_wide, BREAKDOWN_VALUE_HEADER)

    # The denominator does not depend on the setting: one row per area and breakdown value.
    pop_keys = area + ["breakdown", "breakdown_value"]
    population = rates.drop_duplicates(pop_keys + ["reference_date", "population"])
    if population.duplicated(pop_keys + ["reference_date"]).any():
        raise ValueError("a population differs between support settings of the same area, breakdown and date")
    pop_wide = _wide(population, "reference_date", "population", pop_keys, provisional_headers=False)
    lts_tables["Population"] = _rename(pop_wide.drop(columns="Revised [r]"), BREAKDOWN_VALUE_HEADER)
    lts_tables["Councils"] = _councils(lts, "reference_date")

    assessed_tables = {}
    for breakdown in BREAKDOWNS:
        rows = _breakdown_rows(assessed, breakdown)
        wide = _wide(rows, "reference_month", "value", area + ["breakdown_value"])
        assessed_tables[breakdown] = _rename(wide, breakdown)
    # The assessments' rates divide the Total only: one period column, headed with the months it spans.
    assessed_rates = published["assessments_rates"]
    periods = ordered_periods(assessed["reference_month"])
    rate_keys = area + ["breakdown", "breakdown_value"]
    rate_wide = _wide(assessed_rates, "reference_month", "rate", rate_keys, all_periods=periods)
    assessed_tables["Rates"] = _rename(rate_wide, BREAKDOWN_VALUE_HEADER)
    pop_wide = _wide(assessed_rates, "reference_month", "population", rate_keys, provisional_headers=False,
                     all_periods=periods)
    assessed_tables["Population"] = _rename(pop_wide.drop(columns="Revised [r]"), BREAKDOWN_VALUE_HEADER)
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
    periods = ordered_periods(cells[period_column])
    rows = pd.MultiIndex.from_frame(cells[area].drop_duplicates())
    wide = cells.pivot(index=area, columns=period_column, values="with_data").reindex(index=rows, columns=periods)
    wide = wide.astype("Int64").astype(object).where(wide.notna(), "[x]")
    wide.columns = [COUNCILS_WITH_DATA.format(period=period_label(p, periods)) for p in periods]
    wide.insert(0, COUNCILS_IN_AREA, in_area.set_index(area)["in_area"].reindex(rows).astype(object).to_numpy())
    return _rename(wide.reset_index(), "")


#: What each revised measure is called on the Revisions sheet, by published table and column.
FIGURES = {
    ("long_term_support", "value"): "People",
    ("long_term_support_rates", "rate"): "Rate per 100,000 adults",
    ("long_term_support_rates", "population"): "Adult population",
    ("assessments", "value"): "People assessed",
    ("assessments_rates", "rate"): "Rate per 100,000 adults, total over the months",
    ("assessments_rates", "population"): "Adult population",
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


#: Public names of the cell rules above, for the DHSC-layout workbooks
#: (:mod:`cldstats.publication.dhsc_workbooks`), so both layouts write the same cells.
as_cells, has_flag = _as_cells, _has_flag
