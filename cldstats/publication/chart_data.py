"""The published cells the charts draw (:mod:`cldstats.publication.charts`): numbers of published
cells with gaps for the symbols, checked to be published (:func:`published_numbers`), the rows of
one area, breakdown or period, and the categories charted in their order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cldstats import reference
from cldstats.reference.statements import CELL_SYMBOLS, NOT_AVAILABLE

SETTINGS = reference.SETTINGS
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


def latest_period(frame: pd.DataFrame, column: str) -> str:
    """The latest period in ``column`` (ISO strings sort by date), ignoring ``Total``."""
    periods = frame[column].astype(str)
    periods = periods[periods.str.match(r"^\d{4}-\d{2}")]
    if periods.empty:
        raise ValueError(f"no periods in {column!r}")
    return periods.max()


def select_rows(frame: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows where each column equals the given string (one vectorised mask)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in equal.items():
        mask &= (frame[column].astype(str) == wanted).to_numpy()
    return frame.loc[mask]


def latest_rates(rates: pd.DataFrame, area_level: str) -> tuple[str, pd.DataFrame, float]:
    """The latest month end, its all-settings, all-people rate rows at one area level, and the
    England rate (NaN when not published) to draw as the reference line."""
    date = latest_period(rates, "reference_date")
    latest = select_rows(rates, reference_date=date, support_setting="All", breakdown="All", breakdown_value="All")
    rows = latest[latest["area_level"].astype(str) == area_level]
    if rows.empty:
        raise ValueError(f"long_term_support_rates has no {area_level} rows for {date}")
    england = select_rows(latest, area_level="England")
    england_rate = published_numbers(england["rate"]).iloc[0] if len(england) else np.nan
    return date, rows, england_rate


def profile_table(lts: pd.DataFrame, date: str, breakdown: str, order: Sequence[str], settings: Sequence[str],
                   rounding_base: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """England at ``date``: numbers and cells, rows ``order`` x columns ``settings``; and the rows used."""
    rows = select_rows(lts, reference_date=date, area_level="England", breakdown=breakdown)
    rows = rows.assign(number=published_numbers(rows["value"], rounding_base=rounding_base),
                       cell=rows["value"].astype(str))
    numbers = rows.pivot_table(index="breakdown_value", columns="support_setting", values="number",
                               aggfunc="first", dropna=False).reindex(index=list(order), columns=list(settings))
    cells = (rows.pivot_table(index="breakdown_value", columns="support_setting", values="cell", aggfunc="first")
             .reindex(index=list(order), columns=list(settings)).fillna(NOT_AVAILABLE))
    return numbers, cells, rows
