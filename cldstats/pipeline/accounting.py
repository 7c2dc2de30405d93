"""Selection and row accounting of a folder's checked submissions: ``qa/submissions.csv`` and
``qa/exclusions.csv`` (docs/methodology.md section 6, "Nothing is silently lost").

Validation returns results; this module selects one submission per council and accounts for every
row. Both run the method's SQL (:func:`cldstats.measures.engine.run_method`, selection and row
accounting only) on the stored records. For each entry of the folder:

* ``rows_read``: the rows ingest read;
* ``rows_used``: the stored records the SQL read and kept (no exclusion reason), as the SQL
  counted them (``row_accounting.sql``); 0 for a file not selected;
* ``rows_excluded``: the rows excluded, each with its reason: the SQL's reasons, the rows ingest read
  but could not turn into records (against the record count stored before the records were
  written), or the whole file when it is rejected, excluded by hand (``selection.exclude``, with
  the entry's reason) or not selected;
* ``by_hand``: ``excluded by hand (selection.exclude): <reason>`` or ``included by hand
  (selection.include): <reason>`` for a file a hand entry names (:func:`folder_hand_matches`).

:func:`check_row_accounting` then checks ``rows_read = rows_used + rows_excluded`` for every file,
before anything is written: a record lost between ingest and the SQL, or a miscount by the SQL,
stops the run naming the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cldstats.core.errors import CldstatsError
from cldstats.measures import engine
from cldstats.measures.selection import HAND_COLUMNS, NOT_VALIDATED, hand_matches, hand_note, same_time_files
from cldstats.pipeline.store import StoreContext, SubmissionStore
from cldstats.quality.results import QualityResult
from cldstats.reference.calendar import month_end
from cldstats.reference.params import as_of

__all__ = ["REPORTING_PERIOD_COLUMNS", "SUBMISSIONS_COLUMNS", "Accounts", "catalogue_row", "check_row_accounting",
           "folder_hand_matches", "not_validated_row", "select_and_account"]

#: Columns of ``qa/submissions.csv``: DESIGN.md's, then the files tied with the row's (same council
#: and submission time; ``select.same_time_files``) and the hand entry naming the file, if any.
SUBMISSIONS_COLUMNS = (
    "la_code", "file", "submitted_at", "rows_read", "rows_used", "rows_excluded", "outcome", "selected", "tie_with",
    "by_hand",
)
#: Columns of ``qa/reporting_periods.csv``: every checked submission's stated and derived
#: reporting period (``reporting_periods.sql``), the one the selection used and whether it was selected.
REPORTING_PERIOD_COLUMNS = (
    "la_code", "file", "stated_start", "stated_end", "derived_start", "derived_end", "derived_rule", "events",
    "event_types", "used", "selected",
)


def folder_hand_matches(entries: Sequence[Any], params: Mapping[str, Any]) -> pd.DataFrame:
    """The entries of the submissions folder that ``selection.exclude`` and ``selection.include``
    name (:func:`cldstats.measures.selection.hand_matches`; an entry naming none stops the run).

    Parameters
    ----------
    entries : sequence of ingest.FolderEntry
        Every entry of the submissions folder (``name``, ``la_code``, ``submitted_at``).
    params : mapping
        Resolved params.
    """
    files = pd.DataFrame({
        "file": [e.name for e in entries],
        "la_code": [e.la_code for e in entries],
        "submitted_at": pd.to_datetime(pd.Series([e.submitted_at for e in entries], dtype=object), errors="coerce"),
    })
    return hand_matches(params, files)



@dataclass
class Accounts:
    """The selection and the row accounting of a folder's checked submissions.

    Attributes
    ----------
    catalogue : pandas.DataFrame
        :func:`catalogue_row` per result, with ``candidate`` and ``selected``.
    submissions_table, exclusions : pandas.DataFrame
        The rows of ``qa/submissions.csv`` (:data:`SUBMISSIONS_COLUMNS`, in file order) and of
        ``qa/exclusions.csv`` (``la_code, file, reason, rows``).
    reporting_periods : pandas.DataFrame
        The rows of ``qa/reporting_periods.csv`` (:data:`REPORTING_PERIOD_COLUMNS`).
    hand : pandas.DataFrame
        The files hand entries name (:data:`cldstats.measures.selection.HAND_COLUMNS`).
    """

    catalogue: pd.DataFrame
    submissions_table: pd.DataFrame
    exclusions: pd.DataFrame
    reporting_periods: pd.DataFrame
    hand: pd.DataFrame


def select_and_account(results: Sequence[QualityResult], store: SubmissionStore, context: StoreContext,
                       params: Mapping[str, Any], *, not_files: set[str], outside: Sequence[Any],
                       submissions_dir: Path, hand: pd.DataFrame | None = None) -> Accounts:
    """Select one submission per council and account for every row of every entry.

    Parameters
    ----------
    results : sequence of QualityResult
        Every checked entry, in file order (entries that are not submission files included).
    store, context : SubmissionStore, StoreContext
        Where the checked files are stored, and the run's validation context.
    params : mapping
        Resolved params (``month``, ``cutoff``).
    not_files : set of str
        Names of the entries that are not submission files (never tied with another).
    outside : sequence of ingest.FolderEntry
        Entries outside the month's window: listed as not validated.
    submissions_dir : Path
        The submissions folder (names the file in an error).
    hand : pandas.DataFrame, optional
        The files hand entries name (:func:`folder_hand_matches`); default none.

    Returns
    -------
    Accounts

    Raises
    ------
    CldstatsError
        A file whose rows do not add up (:func:`check_row_accounting`); a file included by hand that
        the data quality gate rejected.
    """
    month = params["month"]
    hand = hand if hand is not None else pd.DataFrame(columns=list(HAND_COLUMNS))
    derive_digest = engine.derive_digest(params)
    catalogue = pd.DataFrame([catalogue_row(r, store, context, derive_digest) for r in results])
    by_file = hand.set_index("file")
    catalogue["hand"] = catalogue["file"].map(by_file["hand"]) if len(catalogue) else None
    catalogue["hand_reason"] = catalogue["file"].map(by_file["hand_reason"]) if len(catalogue) else None
    _refuse_rejected_inclusions(results, hand, submissions_dir)
    method = engine.run_method(catalogue, params, [], measures=False)
    selected = catalogue.merge(method.selection[["file", "candidate", "selected"]], on="file", how="left")
    selected[["candidate", "selected"]] = selected[["candidate", "selected"]].fillna(False).astype(bool)
    submission_files = ~selected["file"].isin(not_files)
    tie_with = pd.Series("", index=selected.index, dtype=object)
    tie_with[submission_files] = same_time_files(selected[submission_files])
    used = dict(zip(method.row_accounting["file"], method.row_accounting["rows_used"].astype(int), strict=True))
    reasons_of = {file: dict(zip(group["reason"], group["rows"].astype(int), strict=True))
                  for file, group in method.exclusions.groupby("file")}
    submissions_rows, exclusion_rows = [], []
    for result, row, ties in zip(results, selected.itertuples(index=False), tie_with, strict=True):
        usable, reasons = _rows_of(result, row, month, used, reasons_of)
        submissions_rows.append(_submission_row(result, row, ties, usable, reasons))
        exclusion_rows += [
            {"la_code": result.la_code, "file": result.file, "reason": reason, "rows": rows}
            for reason, rows in reasons.items()
        ]
    end, cutoff = month_end(month), as_of(params)
    submissions_rows += [not_validated_row(e, month, end, cutoff, _note_of(hand, e.name)) for e in outside]
    submissions_table = pd.DataFrame(
        sorted(submissions_rows, key=lambda row: row["file"]), columns=list(SUBMISSIONS_COLUMNS)
    )
    check_row_accounting(submissions_table, submissions_dir)
    exclusions = pd.DataFrame(exclusion_rows, columns=["la_code", "file", "reason", "rows"])
    periods = method.reporting_periods.merge(selected[["file", "selected"]], on="file", how="left")
    return Accounts(catalogue=selected, submissions_table=submissions_table, exclusions=exclusions,
                    reporting_periods=periods.loc[:, list(REPORTING_PERIOD_COLUMNS)], hand=hand)


def _note_of(hand: pd.DataFrame, file: str) -> str:
    """The ``by_hand`` words of ``file`` (``""`` when no hand entry names it)."""
    named = hand[hand["file"] == file]
    return hand_note(named["hand"].iloc[0], named["hand_reason"].iloc[0]) if len(named) else ""


def _refuse_rejected_inclusions(results: Sequence[QualityResult], hand: pd.DataFrame, submissions_dir: Path) -> None:
    """A file included by hand must be one the data quality gate accepted: a rejected file (a
    missing column, an unreadable file) cannot give figures, whatever the reason to want it."""
    included = dict(zip(hand.loc[hand["hand"] == "include", "file"], hand.loc[hand["hand"] == "include", "entry"],
                        strict=True))
    for result in results:
        if result.file in included and result.rejected:
            raise CldstatsError(f"{included[result.file]} names {submissions_dir / result.file}, which the data "
                                f"quality gate rejected ({', '.join(result.blocking)}): it cannot be included")


def _rows_of(result: QualityResult, row: Any, month: str, used: Mapping[str, int],
             reasons_of: Mapping[str, Mapping[str, int]]) -> tuple[int, dict[str, int]]:
    """A file's rows used (counted by the SQL) and its rows excluded by reason (reasons with rows)."""
    usable = 0
    if result.rejected:
        reasons = {f"submission rejected ({', '.join(result.blocking)})": result.rows_read}
    elif not row.selected and row.hand == "exclude":
        reasons = {f"submission {hand_note(row.hand, row.hand_reason)}": result.rows_read}
    elif not row.selected:
        reasons = {f"submission not selected for {month}": result.rows_read}
    else:
        # Counted by the SQL from the rows it read (row_reasons.sql, row_accounting.sql); rows ingest
        # counted but could not turn into records are a reason of their own.
        reasons = dict(reasons_of.get(result.file, {}))
        usable = int(used.get(result.file, 0))
        unread = int(result.rows_read) - int(row.records)
        if unread > 0:
            reasons["row not read into records"] = unread
    return usable, {reason: rows for reason, rows in reasons.items() if rows}


def _submission_row(result: QualityResult, row: Any, ties: str, usable: int,
                    reasons: Mapping[str, int]) -> dict[str, Any]:
    """The ``qa/submissions.csv`` row of a checked entry."""
    return {
        "la_code": result.la_code,
        "file": result.file,
        "submitted_at": result.submitted_at.isoformat(sep=" ") if result.submitted_at else "",
        "rows_read": result.rows_read,
        "rows_used": usable,
        "rows_excluded": sum(reasons.values()),
        "outcome": result.outcome,
        "selected": bool(row.selected),
        "tie_with": ties,
        "by_hand": hand_note(row.hand, row.hand_reason),
    }


def check_row_accounting(submissions_table: pd.DataFrame, submissions_dir: Path) -> None:
    """Check ``rows_read = rows_used + rows_excluded`` for every file; else stop the run.

    ``rows_used`` is what the method's SQL counted from the stored records it read, so the check
    fails when a record was lost between ingest and the SQL or the SQL miscounted. Run on every
    release and every ``cldstats validate``, before ``qa/submissions.csv`` or any output of the
    release is written.

    Parameters
    ----------
    submissions_table : pandas.DataFrame
        ``file, rows_read, rows_used, rows_excluded`` per entry of the folder.
    submissions_dir : Path
        The submissions folder (the error names the file in it).

    Raises
    ------
    CldstatsError
        One line naming the first file whose rows do not add up, with its three counts (exit code 2).
    """
    counts = submissions_table[["rows_read", "rows_used", "rows_excluded"]].astype("int64")
    unaccounted = submissions_table[counts["rows_read"] != counts["rows_used"] + counts["rows_excluded"]]
    if len(unaccounted):
        first = unaccounted.iloc[0]
        raise CldstatsError(
            f"{submissions_dir / first['file']}: rows do not add up: {int(first['rows_read']):,} read, "
            f"{int(first['rows_used']):,} used by the measures, {int(first['rows_excluded']):,} excluded"
            + (f" (and {len(unaccounted) - 1} more files)" if len(unaccounted) > 1 else "")
            + "; nothing was published"
        )


def not_validated_row(entry: Any, month: str, end: dt.date, cutoff: dt.date, by_hand: str = "") -> dict[str, Any]:
    """The ``qa/submissions.csv`` row of an entry outside the month's window: listed, not read."""
    return {
        "la_code": entry.la_code,
        "file": entry.name,
        "submitted_at": entry.submitted_at.isoformat(sep=" "),
        "rows_read": 0,
        "rows_used": 0,
        "rows_excluded": 0,
        "outcome": f"{NOT_VALIDATED}: submitted {entry.submitted_at.date()}, outside the window of {month} "
                   f"(after {end}, on or before the cut-off {cutoff})",
        "selected": False,
        "tie_with": "",
        "by_hand": by_hand,
    }


def catalogue_row(result: QualityResult, store: SubmissionStore, context: StoreContext,
                   derive_digest: str) -> dict[str, Any]:
    """The method's catalogue row of a result (engine.CATALOGUE_COLUMNS): where its stored records
    are, the folder of its derived rows for this definition of the method, and its record count."""
    start, end = result.reporting_period if result.reporting_period else (None, None)
    entry = store.get(context.entry_id(result.sha256, result.file)) if result.sha256 else None
    records = entry.records_path if entry is not None else None
    return {
        "la_code": result.la_code,
        "file": result.file,
        "submitted_at": pd.Timestamp(result.submitted_at) if result.submitted_at else pd.NaT,
        "period_start": pd.Timestamp(start) if start else pd.NaT,
        "period_end": pd.Timestamp(end) if end else pd.NaT,
        "outcome": result.outcome,
        "records_path": str(records) if records is not None else None,
        "derived_dir": str(entry.folder / f"derived-{derive_digest}") if records is not None else None,
        "records": int(entry.row.get("records") or 0) if entry is not None else 0,
    }
