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
  written), or the whole file when it is rejected or not selected.

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
from cldstats.measures.selection import NOT_VALIDATED, same_time_files
from cldstats.pipeline.store import StoreContext, SubmissionStore
from cldstats.quality.results import QualityResult
from cldstats.reference.calendar import month_end
from cldstats.reference.params import as_of

__all__ = ["SUBMISSIONS_COLUMNS", "Accounts", "catalogue_row", "check_row_accounting", "not_validated_row",
           "select_and_account"]

#: Columns of ``qa/submissions.csv``: DESIGN.md's, then the files tied with the row's (same council
#: and submission time; ``select.same_time_files``).
SUBMISSIONS_COLUMNS = (
    "la_code", "file", "submitted_at", "rows_read", "rows_used", "rows_excluded", "outcome", "selected", "tie_with",
)



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
    """

    catalogue: pd.DataFrame
    submissions_table: pd.DataFrame
    exclusions: pd.DataFrame


def select_and_account(results: Sequence[QualityResult], store: SubmissionStore, context: StoreContext,
                       params: Mapping[str, Any], *, not_files: set[str], outside: Sequence[Any],
                       submissions_dir: Path) -> Accounts:
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

    Returns
    -------
    Accounts

    Raises
    ------
    CldstatsError
        A file whose rows do not add up (:func:`check_row_accounting`).
    """
    month = params["month"]
    derive_digest = engine.derive_digest(params)
    catalogue = pd.DataFrame([catalogue_row(r, store, context, derive_digest) for r in results])
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
    submissions_rows += [not_validated_row(e, month, end, cutoff) for e in outside]
    submissions_table = pd.DataFrame(
        sorted(submissions_rows, key=lambda row: row["file"]), columns=list(SUBMISSIONS_COLUMNS)
    )
    check_row_accounting(submissions_table, submissions_dir)
    exclusions = pd.DataFrame(exclusion_rows, columns=["la_code", "file", "reason", "rows"])
    return Accounts(catalogue=selected, submissions_table=submissions_table, exclusions=exclusions)


def _rows_of(result: QualityResult, row: Any, month: str, used: Mapping[str, int],
             reasons_of: Mapping[str, Mapping[str, int]]) -> tuple[int, dict[str, int]]:
    """A file's rows used (counted by the SQL) and its rows excluded by reason (reasons with rows)."""
    usable = 0
    if result.rejected:
        reasons = {f"submission rejected ({', '.join(result.blocking)})": result.rows_read}
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


def not_validated_row(entry: Any, month: str, end: dt.date, cutoff: dt.date) -> dict[str, Any]:
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
