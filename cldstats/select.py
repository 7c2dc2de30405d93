"""Submission selection per reference month (METHODOLOGY.md section 2, architecture Contract 3).

Councils resubmit their whole rolling period each time and never delete older files, so for each
reference month exactly one file per council is chosen: the latest acceptable submission made after
the month end and on or before the cut-off date. All month ends of a release come from that file.

Decisions where METHODOLOGY.md is silent
----------------------------------------
* Two candidates of one council with the same submission time: the one whose ``file`` name sorts
  last (plain string order) wins, so the choice never depends on catalogue row order.
* A submission with a missing ``submitted_at`` or ``period_end`` cannot be placed and is never a
  candidate.
* ``outcome`` is compared after trimming spaces and ignoring case (``Rejected: ...`` is rejected);
  a missing outcome is never a candidate (the quality gate must have run on a selectable file).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["COUNCIL_COUNT", "coverage", "select_submissions"]

#: Councils with adult social care responsibilities (the coverage denominator).
COUNCIL_COUNT = 153

CATALOGUE_COLUMNS = ("la_code", "file", "submitted_at", "period_start", "period_end", "outcome")


def _as_day(values: pd.Series) -> pd.Series:
    """Calendar date of each value as ``datetime64[s]`` at midnight (NaT stays NaT)."""
    return pd.to_datetime(values, errors="coerce").dt.normalize().astype("datetime64[s]")


def select_submissions(catalogue: pd.DataFrame, month_end: dt.date, cutoff: dt.date) -> pd.DataFrame:
    """Mark the candidate and selected submission of each council for one reference month.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        One row per submission: ``la_code``, ``file``, ``submitted_at`` (datetime), ``period_start``
        and ``period_end`` (date or NaT), ``outcome`` (``accepted``, ``accepted with warnings`` or
        ``rejected: <reason>``).
    month_end : datetime.date
        Last day of the reference month ``E``.
    cutoff : datetime.date
        Last submission date considered.

    Returns
    -------
    pandas.DataFrame
        A copy of ``catalogue`` (same index and row order) with two bool columns:
        ``candidate`` -- submission *date* after ``month_end`` and on or before ``cutoff``,
        ``period_end >= month_end`` and outcome not starting ``rejected``; ``selected`` -- the
        candidate with the latest ``submitted_at`` per council (ties: the last ``file`` name).

    Raises
    ------
    KeyError
        If a catalogue column is missing.

    Examples
    --------
    >>> cat = pd.DataFrame({
    ...     "la_code": ["E1", "E1", "E1"], "file": ["a", "b", "c"],
    ...     "submitted_at": pd.to_datetime(["2024-04-02 09:00", "2024-05-31 23:59", "2024-06-01 00:00"]),
    ...     "period_start": pd.to_datetime(["2023-04-01"] * 3),
    ...     "period_end": pd.to_datetime(["2024-03-31"] * 3),
    ...     "outcome": ["accepted"] * 3})
    >>> select_submissions(cat, dt.date(2024, 3, 31), dt.date(2024, 5, 31))[["candidate", "selected"]]
       candidate  selected
    0       True     False
    1       True      True
    2      False     False
    """
    missing = [c for c in CATALOGUE_COLUMNS if c not in catalogue.columns]
    if missing:
        raise KeyError(f"catalogue lacks columns {missing}")
    result = catalogue.copy()
    end = np.datetime64(pd.Timestamp(month_end).date(), "s")
    last = np.datetime64(pd.Timestamp(cutoff).date(), "s")

    submitted_day = _as_day(result["submitted_at"])
    period_end = _as_day(result["period_end"])
    outcome = result["outcome"].astype("string").str.strip().str.lower()
    not_rejected = outcome.notna() & ~outcome.str.startswith("rejected").fillna(True)

    candidate = (
        submitted_day.gt(end).fillna(False)
        & submitted_day.le(last).fillna(False)
        & period_end.ge(end).fillna(False)
        & not_rejected
    )
    result["candidate"] = candidate.astype(bool).to_numpy()

    # Latest submission time per council; ties broken by the file name sorting last.
    ranked = result.loc[result["candidate"], ["la_code", "file", "submitted_at"]].copy()
    ranked["_at"] = pd.to_datetime(ranked["submitted_at"])
    ranked["_file"] = ranked["file"].astype(str)
    ranked = ranked.sort_values(["la_code", "_at", "_file"], kind="mergesort")
    winners = ranked.groupby("la_code", sort=False).tail(1).index
    result["selected"] = result.index.isin(winners)
    return result


def coverage(selection: pd.DataFrame, council_count: int = COUNCIL_COUNT) -> tuple[int, float]:
    """Councils with a selected file and their share of all councils.

    Parameters
    ----------
    selection : pandas.DataFrame
        Output of :func:`select_submissions`.
    council_count : int
        Denominator, the 153 councils by default.

    Returns
    -------
    (int, float)
        Number of distinct councils with a selected file, and that number over ``council_count``.

    Examples
    --------
    >>> coverage(pd.DataFrame({"la_code": ["A", "A", "B"], "selected": [True, False, False]}))
    (1, 0.006535947712418301)
    """
    councils_with_file = int(selection.loc[selection["selected"].astype(bool), "la_code"].nunique())
    return councils_with_file, councils_with_file / council_count
