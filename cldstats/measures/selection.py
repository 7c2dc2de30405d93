"""What surrounds submission selection: the month's window, ties, coverage (architecture Contract 3).

Councils resubmit their whole rolling period each time and never delete older files, so for each
reference month exactly one file per council is chosen: the latest acceptable submission made after
the month end and on or before the cut-off date. All month ends of a release come from that file.
The rule itself is the method's SQL, ``cldstats/measures/sql/selection.sql`` (docs/methodology.md
section 2); this module holds the window a run validates, the reporting of ties and the coverage.

Decisions docs/methodology.md records
-------------------------------------
* Two candidates of one council with the same submission time (a *tie*, e.g. ``X.csv`` and
  ``X.csv.gz``): the one whose ``file`` name sorts last (plain string order) wins, so the choice
  never depends on catalogue row order (:data:`TIE_RULE`; ``X.csv.gz`` over ``X.csv``, ``X.xlsx``
  over both). A tie is a finding, not a silent choice: :func:`same_time_files` names each file's
  partners (``qa/submissions.csv`` column ``tie_with``) and :func:`tie_findings` gives the line the
  QA report and the command line print for each tie.
* The month's window (:func:`in_window`) is the candidate date rule alone; a submission whose name
  gives no time cannot be placed, so it is considered (and reported) for every month.
* A submission with a missing ``submitted_at`` or ``period_end`` cannot be placed and is never a
  candidate.
* ``outcome`` is compared after trimming spaces and ignoring case (``Rejected: ...`` is rejected);
  a missing outcome is never a candidate (the quality gate must have run on a selectable file).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cldstats import reference

__all__ = ["DERIVED_PERIOD_MIN_EVENTS", "DERIVED_PERIOD_MIN_PERCENT", "DERIVED_PERIOD_TYPE_SLACK", "NOT_VALIDATED",
           "TIE_RULE", "coverage", "in_window", "same_time_files", "tie_findings"]

#: Outcome (prefix) of an entry of the submissions folder outside the month's window: listed in
#: ``qa/submissions.csv``, not validated.
NOT_VALIDATED = "not validated"

#: DHSC's derived reporting period (``reporting_periods.sql``; DHSC's ``REF_Submission_Reporting_Periods``):
#: a file with fewer events ending before its submission month keeps its stated period; a month
#: holding under this percentage of them is dropped; and so is a month with fewer event types than
#: the file's busiest month less this many.
DERIVED_PERIOD_MIN_EVENTS = 100
DERIVED_PERIOD_MIN_PERCENT = 2
DERIVED_PERIOD_TYPE_SLACK = 1

#: How a tie between files of one council with the same submission time is resolved.
TIE_RULE = "ties are resolved by file name: the name sorting last is chosen"


def coverage(selection: pd.DataFrame, council_count: int | None = None) -> tuple[int, float]:
    """Councils with a selected file and their share of all councils.

    Parameters
    ----------
    selection : pandas.DataFrame
        The selection (``la_code``, ``selected``): ``cldstats.measures.engine.run_method``'s.
    council_count : int, optional
        Denominator; by default every council with adult social care responsibilities
        (:func:`cldstats.reference.councils`).

    Returns
    -------
    (int, float)
        Number of distinct councils with a selected file, and that number over ``council_count``.

    Examples
    --------
    >>> coverage(pd.DataFrame({"la_code": ["A", "A", "B"], "selected": [True, False, False]}))
    (1, 0.006535947712418301)
    """
    council_count = council_count if council_count is not None else len(reference.councils())
    councils_with_file = int(selection.loc[selection["selected"].astype(bool), "la_code"].nunique())
    return councils_with_file, councils_with_file / council_count


def in_window(submitted_at: dt.datetime | None, month_end: dt.date, cutoff: dt.date) -> bool:
    """Whether a submission made at ``submitted_at`` can be a candidate for the month ending
    ``month_end``: its date is after the month end and on or before the cut-off.

    A submission whose time is unknown (None) cannot be placed in time, so it is in every month's
    window: it is validated and reported for each month (and never selected).

    Examples
    --------
    >>> in_window(dt.datetime(2024, 4, 15, 9, 30), dt.date(2024, 3, 31), dt.date(2024, 5, 31))
    True
    >>> in_window(dt.datetime(2024, 6, 1), dt.date(2024, 3, 31), dt.date(2024, 5, 31))
    False
    >>> in_window(None, dt.date(2024, 3, 31), dt.date(2024, 5, 31))
    True
    """
    return submitted_at is None or month_end < submitted_at.date() <= cutoff


def same_time_files(catalogue: pd.DataFrame) -> pd.Series:
    """For each submission, the other files of its council with the same submission time.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        ``la_code``, ``file`` and ``submitted_at`` per submission file (rows without a council or
        a time cannot tie).

    Returns
    -------
    pandas.Series
        Same index; the partners' file names joined by ``"; "``, or ``""`` when there is no tie.

    Examples
    --------
    >>> cat = pd.DataFrame({"la_code": ["E1", "E1", "E1"], "file": ["a.csv", "a.csv.gz", "b.csv"],
    ...     "submitted_at": pd.to_datetime(["2024-04-15 09:30", "2024-04-15 09:30", "2024-04-16 10:00"])})
    >>> same_time_files(cat).tolist()
    ['a.csv.gz', 'a.csv', '']
    """
    partners = pd.Series("", index=catalogue.index, dtype=object)
    keyed = catalogue.loc[catalogue["la_code"].notna() & catalogue["submitted_at"].notna(), ["la_code", "file"]]
    keyed = keyed.assign(_at=pd.to_datetime(catalogue["submitted_at"]))
    tied = keyed[keyed.groupby(["la_code", "_at"])["file"].transform("size") > 1]
    for _, group in tied.groupby(["la_code", "_at"]):  # per tie, never per row of data
        names = group["file"].astype(str).tolist()
        for index, name in zip(group.index, names, strict=True):
            partners[index] = "; ".join(other for other in names if other != name)
    return partners


def tie_findings(table: pd.DataFrame) -> list[str]:
    """One line per tie of a submissions table: the files, their time and which one was chosen.

    Parameters
    ----------
    table : pandas.DataFrame
        ``qa/submissions.csv`` (as read, text, or as written): ``la_code``, ``file``,
        ``submitted_at``, ``selected`` and ``tie_with``.

    Returns
    -------
    list of str
        In council and time order; empty when no two files of one council share a submission time.

    Examples
    --------
    >>> table = pd.DataFrame({"la_code": ["E1", "E1"], "file": ["a.csv", "a.csv.gz"],
    ...     "submitted_at": ["2024-04-15 09:30:00"] * 2, "selected": ["False", "True"],
    ...     "tie_with": ["a.csv.gz", "a.csv"]})
    >>> tie_findings(table)  # doctest: +NORMALIZE_WHITESPACE
    ['E1: a.csv and a.csv.gz have the same submission time (2024-04-15 09:30:00); a.csv.gz was chosen
      (ties are resolved by file name: the name sorting last is chosen)']
    """
    tie_with = table["tie_with"].fillna("").astype(str)
    tied = table[tie_with != ""]
    lines = []
    for (la_code, submitted_at), group in tied.groupby(["la_code", "submitted_at"], sort=True):
        names = sorted(group["file"].astype(str))
        chosen = group.loc[group["selected"].astype(str).str.lower() == "true", "file"].astype(str).tolist()
        outcome = f"{chosen[0]} was chosen" if chosen else "none of them was selected"
        files = ", ".join(names[:-1]) + f" and {names[-1]}"
        lines.append(f"{la_code}: {files} have the same submission time ({submitted_at}); {outcome} ({TIE_RULE})")
    return lines
