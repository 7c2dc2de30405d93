"""The DHSC-layout sheets against the tidy CSV: every published count read back from a workbook
equals the same cell of ``data/*.csv`` (shared by the unit and end-to-end tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cldstats.publication import dhsc_workbooks, tables

UNITS_BACK = {unit: level for level, unit in dhsc_workbooks.AREA_UNITS.items()}


def period_of_header(header: str, csv_periods) -> str:
    """The CSV period a month column stands for (its header without `` [p]``)."""
    label = header.removesuffix(" [p]")
    for period in csv_periods:
        if (label == "Total" and period == "Total") or (
                period != "Total" and label == tables.period_label(period)):
            return period
    raise AssertionError(f"column {header!r} names no period of the CSV")


def cell_text(value) -> str:
    """A cell read back as the CSV writes it: ``105``, ``[c]``; an int never as ``105.0``."""
    assert not isinstance(value, float) or value.is_integer(), value
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


def _texts(cells: pd.Series) -> pd.Series:
    """:func:`cell_text` of each cell, each distinct value converted once."""
    codes, uniques = pd.factorize(cells.astype(object), use_na_sentinel=True)
    assert (codes >= 0).all(), "a period cell is empty"
    return pd.Series(np.array([cell_text(v) for v in uniques], dtype=object)[codes], index=cells.index, dtype=object)


def expected_rows(csv: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The CSV rows the dimension's sheet publishes, with the label each is published under."""
    sources = ("All",) + dhsc_workbooks.DIMENSIONS[dimension]
    rows = csv[csv["breakdown"].isin(sources)]
    # A label two breakdowns share (Unknown: an age group and an age band) is published from the first.
    order = rows["breakdown"].map({b: i for i, b in enumerate(sources)})
    return rows[order.eq(order.groupby(rows["breakdown_value"]).transform("min"))]


def assert_counts_equal_csv(path: Path, csv: pd.DataFrame, measure: str) -> set[str]:
    """Table_1 to Table_3 of a DHSC-layout workbook, melted to (area, setting, breakdown value,
    period), equal the CSV cell by cell, and every CSV cell the layout publishes is there.

    Returns the set of cell texts seen (to check the symbols reached the sheets).
    """
    period_column = "reference_date" if measure == "long_term_support" else "reference_month"
    setting = ["Support setting"] if measure == "long_term_support" else []
    cells: set[str] = set()
    csv_periods = list(pd.unique(csv[period_column]))
    # One read of the file for the three sheets (an ODS is parsed whole whatever the sheet asked for).
    names = [f"Table_{n}" for n in range(1, len(dhsc_workbooks.DIMENSIONS) + 1)]
    sheets = pd.read_excel(path, sheet_name=names, header=dhsc_workbooks.HEADER_ROW - 1, dtype=object,
                           engine="odf" if path.suffix == ".ods" else "openpyxl")
    for name, dimension in zip(names, dhsc_workbooks.DIMENSIONS, strict=True):
        sheet = sheets[name]
        ids = list(dhsc_workbooks.AREA_HEADERS) + setting + [dimension]
        assert list(sheet.columns[:len(ids)]) == ids
        periods = {c: period_of_header(c, csv_periods) for c in sheet.columns[len(ids):]}
        assert all(c.endswith(" [p]") for c in periods), list(periods)
        long = sheet.melt(id_vars=ids, value_vars=list(periods), var_name="header", value_name="cell")
        long = long.assign(period=long["header"].map(periods), area_level=long["Area unit"].map(UNITS_BACK),
                           cell=_texts(long["cell"]))
        keys_csv = ["area_level", "area_code", "breakdown_value", period_column] + (
            ["support_setting"] if setting else [])
        keys_sheet = ["area_level", "Area code", dimension, "period"] + setting
        merged = expected_rows(csv, dimension).merge(long, left_on=keys_csv, right_on=keys_sheet, how="outer",
                                                     indicator=True, validate="one_to_one")
        assert merged["_merge"].eq("both").all(), (path.name, dimension, merged[merged["_merge"].ne("both")].head())
        differ = merged["value"] != merged["cell"]
        assert not differ.any(), (path.name, dimension, merged[differ].head())
        assert (merged["area_name"] == merged["Area"]).all()
        cells |= set(merged["cell"])
    return cells
