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
from cldstats.core.errors import CldstatsError
from cldstats.reference.rules import submission_time

__all__ = ["DERIVED_PERIOD_MIN_EVENTS", "DERIVED_PERIOD_MIN_PERCENT", "DERIVED_PERIOD_TYPE_SLACK", "HAND_COLUMNS",
           "HAND_KEYS", "NOT_VALIDATED", "TIE_RULE", "coverage", "hand_matches", "hand_note", "in_window",
           "same_time_files", "tie_findings"]

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


# ---------------------------------------------------------------------------------------------
# Files excluded and included by hand (params selection.exclude, selection.include)
# ---------------------------------------------------------------------------------------------
#: The two lists of hand entries, by the word the catalogue's ``hand`` column holds.
HAND_KEYS = {"exclude": "selection.exclude", "include": "selection.include"}
#: Columns of :func:`hand_matches`.
HAND_COLUMNS = ("file", "la_code", "hand", "hand_reason", "entry")


def _entry_words(key: str, number: int, entry: dict) -> str:
    named = (f"file {entry['file']!r}" if "file" in entry
             else f"la_code {entry['la_code']} submitted_at {entry['submitted_at']}")
    return f"params key '{key}' item {number} ({named})"


def hand_matches(params: dict, files: pd.DataFrame) -> pd.DataFrame:
    """The files each hand entry of ``selection.exclude`` and ``selection.include`` names.

    An entry names a file by its name, or by its council and submission time (to the second); it
    is matched against every entry of the submissions folder, inside the month's window or not,
    so a standing exclusion of a known-bad file can stay in the params of later months.

    Parameters
    ----------
    params : mapping
        Resolved params (``selection.exclude``, ``selection.include``, already checked by their rules).
    files : pandas.DataFrame
        ``file``, ``la_code`` and ``submitted_at`` of every entry of the submissions folder.

    Returns
    -------
    pandas.DataFrame
        :data:`HAND_COLUMNS`: one row per file named, ``hand`` ``"exclude"`` or ``"include"``,
        ``hand_reason`` the entry's reason, ``entry`` the entry in words (``params key
        'selection.exclude' item 1 (file '...')``).

    Raises
    ------
    CldstatsError
        One line naming the entry: it matches no file; an inclusion matches two files (a tie: name
        the file); two inclusions name files of one council; a file is both excluded and included.
    """
    times = pd.to_datetime(files["submitted_at"], errors="coerce").dt.floor("s")
    rows = []
    for hand, key in HAND_KEYS.items():
        for number, entry in enumerate(params["selection"][hand], start=1):
            words = _entry_words(key, number, entry)
            if "file" in entry:
                found = files["file"] == entry["file"]
            else:
                at = pd.Timestamp(submission_time(entry["submitted_at"]))
                found = (files["la_code"] == entry["la_code"]) & (times == at)
            names = sorted(files.loc[found, "file"].astype(str))
            if not names:
                raise CldstatsError(f"{words} matches no file of the submissions folder: correct or remove it")
            if hand == "include" and len(names) > 1:
                raise CldstatsError(f"{words} matches {len(names)} files ({', '.join(names)}): name one by file")
            rows += [(name, files.loc[files["file"] == name, "la_code"].iloc[0], hand, str(entry["reason"]).strip(),
                      words) for name in names]
    matches = pd.DataFrame(rows, columns=list(HAND_COLUMNS))
    both = matches[matches.duplicated("file", keep=False)].sort_values("hand")
    if len(both):
        raise CldstatsError(f"{both['entry'].iloc[0]} and {both['entry'].iloc[-1]} both name {both['file'].iloc[0]}: "
                            "a file is excluded or included, not both")
    included = matches[matches["hand"] == "include"]
    twice = included[included.duplicated("la_code", keep=False)]
    if len(twice):
        raise CldstatsError(f"{twice['entry'].iloc[0]} and {twice['entry'].iloc[1]} both include a file of council "
                            f"{twice['la_code'].iloc[0]}: one file per council is selected")
    return matches


def hand_note(hand: str | None, reason: str | None) -> str:
    """``"excluded by hand: <reason>"`` (or included), ``""`` for a file no entry names: column
    ``by_hand`` of ``qa/submissions.csv`` and the row accounting's reason."""
    if hand not in HAND_KEYS or not isinstance(reason, str):
        return ""
    return f"{hand}d by hand ({HAND_KEYS[hand]}): {reason}"
