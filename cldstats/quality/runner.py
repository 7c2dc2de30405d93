"""Checking submissions: :class:`QualityRunner` validates batches of submissions with GX.

How one submission is checked (docs/methodology.md section 6, architecture Contract 2):

1. its validation frame is built (:func:`cldstats.quality.statuses.validation_frame`);
2. the three suites (:mod:`cldstats.quality.suites`) are validated on the frames of a batch of
   submissions stacked together, in one ephemeral GX context per run (analytics off, progress bars
   off), and the file-level checks on the batch's :func:`check_frame`;
3. GX decides whether each check passed (the gate uses GX's verdicts); counts and the failing-row
   extracts come from the pandas mirror (:func:`cldstats.quality.mirror.failing_rows`), split by
   submission and checked against GX's batch totals;
4. the outcome is ``accepted``, ``accepted with warnings`` or ``rejected: <reason>``; which checks
   block is data (``params["gate"]["blocking_checks"]``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldstats.quality.mirror import columns_named, copies_frame, failing_rows
from cldstats.quality.releases import (
    RELEASE1_COLUMN,
    RELEASE1_SPELLING,
    RELEASE2_SPELLING,
    RELEASE_VALUES_CHECK,
    release1_values_fail,
    release_spelling_counts,
)
from cldstats.quality.results import SUMMARY_COLUMNS, QualityResult, failing_frame
from cldstats.quality.statuses import (
    ACCEPTED,
    ACCEPTED_WITH_WARNINGS,
    AGEM_OF_DQ,
    CHECK_BLOCKING,
    CHECK_PASSED,
    CHECK_WARNING,
    DETAIL_CHECK_OF_DQ,
    DQ_CODE,
    DQ_STATUSES,
    FAILED_FORMULA,
    FAILED_INVALID,
    FAILED_ISO,
    FAILED_SERIAL,
    REJECTED,
    dq_column,
    validation_frame,
)
from cldstats.quality.suites import ephemeral_context, gx, load_suites
from cldstats.reference.spec import AGEM_STATUSES, load_spec

__all__ = ["EXAMPLE_ROWS_SAVED", "FILES_FRAME", "QualityRunner", "check_frame", "check_submission"]

# Result format for GX: counts only. Unexpected values are never asked for, so no value of a
# submission (and so no personal data) can reach the saved results.
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}

#: Suite meta saying an expectation asserts on the per-submission check frame, not on the rows.
FILES_FRAME = "files"
#: Few unexpected spreadsheet row numbers kept per expectation in ``qa/validation/<file>.json``.
EXAMPLE_ROWS_SAVED = 5


def check_frame(frames: Sequence[pd.DataFrame], files: Sequence[str], parameters: Mapping[str, Any]) -> pd.DataFrame:
    """One row per submission with the file-level aggregates the gate checks (the *check frame*).

    The submission-level checks are aggregates (a file has rows, one reporting period, few bad
    start dates); computed here with pandas, one row per submission, GX then asserts on them row
    by row, so the unexpected rows of a batch name the failing files.

    Parameters
    ----------
    frames : sequence of pandas.DataFrame
        Validation frames (:func:`validation_frame`), one per submission.
    files : sequence of str
        File names, same order.
    parameters : mapping
        Unused today; kept so a future check can depend on run parameters.

    Returns
    -------
    pandas.DataFrame
        ``submission, rows, Reporting_Period_Start_Date_values, Reporting_Period_End_Date_values,
        bad_start_date_share, release1_value_cells`` (cells ``Failed: Release 1``, all fields).

    """
    bad = [DQ_CODE[s] for s in (FAILED_INVALID, FAILED_ISO, FAILED_SERIAL, FAILED_FORMULA)]
    rows, starts, ends, shares, release1 = [], [], [], [], []
    for frame in frames:
        n = len(frame)
        rows.append(n)
        release1.append(int(frame["release1_fields"].sum()) if "release1_fields" in frame.columns else 0)
        starts.append(int(frame["Reporting_Period_Start_Date"].nunique(dropna=True)))
        ends.append(int(frame["Reporting_Period_End_Date"].nunique(dropna=True)))
        codes = frame[dq_column("Event_Start_Date")].cat.codes.to_numpy()
        shares.append(float(np.isin(codes, bad).sum() / n) if n else 0.0)
    return pd.DataFrame(
        {
            "submission": pd.Series(list(files), dtype="object"),
            "rows": np.asarray(rows, dtype="int64"),
            "Reporting_Period_Start_Date_values": np.asarray(starts, dtype="int64"),
            "Reporting_Period_End_Date_values": np.asarray(ends, dtype="int64"),
            "bad_start_date_share": np.asarray(shares, dtype="float64"),
            "release1_value_cells": np.asarray(release1, dtype="int64"),
        }
    )


def _batch_fingerprints(fingerprints: np.ndarray, submission: int) -> np.ndarray:
    """Row fingerprints made distinct between submissions (duplicates count within a file only).

    XOR with a per-submission 64-bit constant (splitmix64 of the index): two rows of different files
    collide only with probability 2**-64, as two different rows of one file already may.
    """
    mask = 2**64 - 1  # Python integers, wrapped by hand: numpy warns on uint64 overflow
    z = (submission + 1) * 0x9E3779B97F4A7C15 & mask
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & mask
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & mask
    z ^= z >> 31
    return fingerprints ^ np.uint64(z)


@dataclass
class _Pending:
    """One submission between its per-file preparation and the batch verdicts."""

    submission: Any
    started: float
    summary_rows: list[tuple]
    #: (field, check, status, row numbers, event references) per listed check; one frame is
    #: built from them at the end (a small DataFrame per check cost ~1.5 ms, tens per file)
    failing_parts: list[tuple[str, str, str, np.ndarray, np.ndarray]]
    failed: dict[str, list[str]]
    invalid_values: pd.DataFrame
    frame: pd.DataFrame | None = None
    period: tuple[dt.date, dt.date] | None = None
    row_numbers: np.ndarray | None = None
    event_refs: np.ndarray | None = None
    gx_results: dict[str, Any] = field(default_factory=dict)


class QualityRunner:
    """One ephemeral GX context with the run's suites loaded; checks submissions in batches.

    GX costs about 5 ms per expectation and validation whatever the frame's size, so validating
    every file alone cost 0.4-0.8 s per file. Submissions are therefore checked in *batches*: the
    validation frames of many submissions are stacked (a ``submission`` column says whose row is
    whose) and each suite is validated once per batch; the file-level checks run on the small
    :func:`check_frame`. Per-submission counts, verdicts and row lists come from our own pandas
    mirror (:func:`failing_rows`) split by submission, and are checked against GX's batch totals.

    GX's pandas engine copies the *whole* frame for every metric of an expectation with a
    ``row_condition`` (``DataFrame.query``) or a column pair (``dropna``), several times per
    expectation. Those expectations are therefore validated on a narrow copy of the stacked frame
    holding only the columns they name (:attr:`narrow_columns`); the single-column expectations,
    which GX reads in place, run on the full frame. Measured on 613,000 rows: 3.6 s of GX CPU time
    as one suite on the full frame, 1.8 s split this way.

    Parameters
    ----------
    suites_dir : path, optional
        Folder of the suite JSON files (default: the repository's ``expectations/``).
    """

    def __init__(self, suites_dir: str | Path | None = None) -> None:
        self.spec = load_spec()
        self.context = ephemeral_context()
        source = self.context.data_sources.add_pandas("cld")
        self.batch_definition = source.add_dataframe_asset("submissions").add_batch_definition_whole_dataframe(
            "stacked submissions"
        )
        self.files_batch_definition = source.add_dataframe_asset("check frame").add_batch_definition_whole_dataframe(
            "one row per submission"
        )
        self.suites = {name: self.context.suites.add(suite) for name, suite in load_suites(suites_dir).items()}
        # Plain configurations, for the pandas mirror and the reports.
        self.configs = {
            name: [e.configuration.to_json_dict() for e in suite.expectations] for name, suite in self.suites.items()
        }
        # All suites validated as few per frame: GX hashes and sizes the whole frame once per
        # validation. meta.suite and meta.index say where each result belongs.
        rows, narrow, files = [], [], []
        narrow_columns: set[str] = set()
        wide_columns: set[str] | None = set()
        for name, configs in self.configs.items():
            for index, config in enumerate(configs):
                config = {k: v for k, v in config.items() if k != "id"}
                meta = config.get("meta", {})
                config["meta"] = {**meta, "suite": name, "index": index}
                if meta.get("frame") == FILES_FRAME:
                    files.append(config)
                elif copies_frame(config) and columns_named(config) is not None:
                    narrow.append(config)
                    narrow_columns |= columns_named(config)
                else:
                    rows.append(config)
                    named = columns_named(config)
                    wide_columns = None if not named or wide_columns is None else wide_columns | named
        self.run_suite = self.context.suites.add(gx().ExpectationSuite(name="cld_run", expectations=rows))
        self.narrow_suite = self.context.suites.add(gx().ExpectationSuite(name="cld_run_narrow", expectations=narrow))
        self.files_suite = self.context.suites.add(gx().ExpectationSuite(name="cld_run_files", expectations=files))
        #: Columns of the stacked frame the narrow suite reads (in a fixed order).
        self.narrow_columns = sorted(narrow_columns)
        #: Columns the other row expectations read (None: all, e.g. a table-level expectation).
        #: GX hashes every column of the frame it is given, so it is given only these.
        self.wide_columns = sorted(wide_columns) if wide_columns else None

    def check(self, submission: Any, params: Mapping[str, Any]) -> QualityResult:
        """Check one submission; see :func:`check_submission`."""
        return self.check_many([submission], params)[0]

    # -- per file, before GX -------------------------------------------------------------------
    def _prepare(self, submission: Any, params: Mapping[str, Any]) -> _Pending:
        blocking_checks = set(params["gate"]["blocking_checks"])
        pending = _Pending(
            submission=submission,
            started=time.perf_counter(),
            summary_rows=[],
            failing_parts=[],
            failed={},
            invalid_values=_invalid_value_counts(getattr(submission, "invalid_values", None)),
        )
        for issue in list(getattr(submission, "issues", []) or []):
            severity = CHECK_BLOCKING if issue.check in blocking_checks else CHECK_WARNING
            pending.summary_rows.append((issue.field or "", issue.check, severity, int(issue.count or 0)))
            pending.failed.setdefault(issue.check, []).append(issue.message)
        records, status = submission.records, submission.status
        if records is None or status is None:
            if "unreadable" not in pending.failed:
                pending.failed["unreadable"] = [f"{submission.file_name}: the file could not be read"]
                pending.summary_rows.append(("", "unreadable", _severity("unreadable", blocking_checks), 0))
            return pending
        pending.period = _reporting_period(records)
        release1_fails = release1_values_fail(
            submission.submitted_at, pending.period[1] if pending.period else None, params
        )
        frame = validation_frame(records, status, self.spec, release1_fails=release1_fails)
        pending.frame = frame
        pending.row_numbers = records["row_number"].to_numpy()
        pending.event_refs = (
            records["Event_Reference"].astype("string").to_numpy(dtype=object, na_value="")
            if "Event_Reference" in records.columns
            else np.full(len(records), "", dtype=object)
        )
        # A column missing from the file reads as all blank: its counts say so, but listing every
        # row as a failing record would bury the one finding that matters (missing_columns).
        absent = {name for issue in submission.issues if issue.check == "missing_columns" for name in issue.fields}
        # Field statuses: AGEM counts and detail checks from the status codes (bincount, no GX).
        for spec_field in self.spec.fields:
            codes = frame[dq_column(spec_field.name)].cat.codes.to_numpy()
            counts = np.bincount(codes, minlength=len(DQ_STATUSES))
            agem = Counter()
            for code, label in enumerate(DQ_STATUSES):
                if AGEM_OF_DQ[label] is not None:
                    agem[AGEM_OF_DQ[label]] += int(counts[code])
            for label in AGEM_STATUSES:
                pending.summary_rows.append((spec_field.name, "field_values", label, agem[label]))
            for label, check in DETAIL_CHECK_OF_DQ.items():
                count = int(counts[DQ_CODE[label]])
                if count:
                    record_status = AGEM_OF_DQ[label] if label.startswith("Failed") else CHECK_WARNING
                    if check not in ("blank_mandatory", "invalid", "release1_value"):  # AGEM statuses
                        pending.summary_rows.append((spec_field.name, check, CHECK_WARNING, count))
                    if spec_field.name not in absent:
                        self._list(pending, codes == DQ_CODE[label], spec_field.name, check, record_status, params)
        # The file's release as its cells and its header spell it: counts, never a finding.
        for name, release1_cells, release2_cells in release_spelling_counts(records, status, self.spec):
            pending.summary_rows.append((name, RELEASE_VALUES_CHECK, RELEASE1_SPELLING, release1_cells))
            pending.summary_rows.append((name, RELEASE_VALUES_CHECK, RELEASE2_SPELLING, release2_cells))
        for name in getattr(submission, "release1_columns", ()):
            pending.summary_rows.append((name, RELEASE_VALUES_CHECK, RELEASE1_COLUMN, 1))
        return pending

    @staticmethod
    def _list(pending: _Pending, mask: np.ndarray, field_name: str, check: str, record_status: str,
              params: Mapping[str, Any]) -> None:
        cap = int(params["quality"]["records_listed_per_check"])
        rows = np.flatnonzero(mask)[:cap]
        if len(rows):
            pending.failing_parts.append(
                (field_name, check, record_status, pending.row_numbers[rows], pending.event_refs[rows])
            )

    # -- a batch ---------------------------------------------------------------------------------
    def check_many(self, submissions: Sequence[Any], params: Mapping[str, Any]) -> list[QualityResult]:
        """Check several submissions with one GX validation per frame (see the class notes).

        Parameters
        ----------
        submissions : sequence of ingest.Submission
        params : mapping
            As for :func:`check_submission`.

        Returns
        -------
        list of QualityResult
            One per submission, same order; identical to checking each submission alone.

        Raises
        ------
        RuntimeError
            When GX's unexpected count over the batch differs from the sum of the per-submission
            counts of the pandas mirror (a bug in :func:`failing_rows`, never a data problem).
        """
        gate = params["gate"]
        pending = [self._prepare(s, params) for s in submissions]
        readable = [p for p in pending if p.frame is not None]
        if readable:
            self._validate_batch(readable, params, gate)
        return [self._finish(p, params) for p in pending]

    def _validate_batch(self, readable: list[_Pending], params: Mapping[str, Any], gate: Mapping[str, Any]) -> None:
        blocking_checks = set(gate["blocking_checks"])
        n_files = len(readable)
        sizes = np.array([len(p.frame) for p in readable], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        owner = np.repeat(np.arange(n_files, dtype=np.int32), sizes)
        parameters = {"max_bad_start_date_share": float(gate["max_bad_start_date_share"])}

        parts = []
        for number, p in enumerate(readable):
            part = p.frame.reset_index(drop=True)
            part["row_fingerprint"] = _batch_fingerprints(part["row_fingerprint"].to_numpy(), number)
            parts.append(part)
        rows = pd.concat(parts, ignore_index=True) if n_files > 1 else parts[0]
        del parts
        rows["submission"] = pd.Categorical.from_codes(owner, categories=range(n_files))
        # The row's LA code and its file name's, as categoricals over the same categories: GX's
        # pair check compares them with ``==`` (which needs identical categories), and copies
        # and compares integer codes instead of a string per row.
        file_codes = [p.submission.la_code or "(file name without an LA code)" for p in readable]
        la_codes = rows["LA_Code"]
        la_dtype = pd.CategoricalDtype(sorted(set(file_codes) | {str(v) for v in la_codes.dropna().unique()}))
        rows["LA_Code"] = pd.Categorical(la_codes, dtype=la_dtype)
        rows["file_la_code"] = pd.Categorical.from_codes(
            la_dtype.categories.get_indexer(file_codes)[owner], dtype=la_dtype, validate=False
        )
        files = check_frame([p.frame for p in readable], [p.submission.file_name for p in readable], parameters)

        verdicts = {}
        for suite, frame, definition in (
            (self.run_suite, rows[self.wide_columns] if self.wide_columns else rows, self.batch_definition),
            (self.narrow_suite, rows[self.narrow_columns] if self.narrow_suite.expectations else rows,
             self.batch_definition),
            (self.files_suite, files, self.files_batch_definition),
        ):
            if not suite.expectations:
                continue
            result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(
                suite, result_format=_RESULT_FORMAT, expectation_parameters=parameters
            )
            for expectation_result in result.results:
                meta = expectation_result.expectation_config.meta
                verdicts[(meta["suite"], meta["index"])] = expectation_result

        for suite_name, configs in self.configs.items():
            for index, config in enumerate(configs):
                gx_result = verdicts[(suite_name, index)]
                meta = config.get("meta", {})
                on_files = meta.get("frame") == FILES_FRAME
                mask = failing_rows(config, files if on_files else rows, parameters)
                per_file = mask.astype(np.int64) if on_files else np.bincount(owner[mask], minlength=n_files)
                gx_count = gx_result.result.get("unexpected_count")
                if gx_count is not None and int(gx_count) != int(per_file.sum()):
                    raise RuntimeError(
                        f"GX finds {gx_count} unexpected rows for {meta.get('check')} ({suite_name}) but the "
                        f"pandas mirror {int(per_file.sum())}: failing_rows does not mirror GX for this check"
                    )
                row_config = meta.get("rows")
                row_mask = None
                if row_config and row_config["type"] != "expect_column_unique_value_count_to_be_between":
                    row_mask = failing_rows(row_config, rows, parameters)  # row-wise: one pass per batch
                for number, p in enumerate(readable):
                    start, stop = starts[number], starts[number + 1]
                    failed_here = bool(per_file[number])
                    if on_files:
                        if row_mask is not None:
                            file_mask = row_mask[start:stop]
                        elif row_config and failed_here:
                            file_mask = failing_rows(row_config, p.frame, parameters)
                        else:
                            file_mask = np.zeros(stop - start, dtype=bool)
                    else:
                        file_mask = mask[start:stop]
                    count = int(file_mask.sum()) if row_config or not on_files else 0
                    self._record(p, suite_name, config, gx_result, not failed_here, file_mask, count,
                                 int(gx_count) if gx_count is not None else None, n_files, params, blocking_checks)

    def _record(self, p: _Pending, suite_name: str, config: Mapping[str, Any], gx_result: Any, success: bool,
                mask: np.ndarray, count: int, batch_count: int | None, n_files: int,
                params: Mapping[str, Any], blocking_checks: set[str]) -> None:
        """Book one expectation's verdict on one submission: summary, failing rows, saved result."""
        meta = config.get("meta", {})
        check, field_name = meta["check"], meta.get("field", "")
        n = len(mask)
        rows = np.flatnonzero(mask)
        saved = {
            "success": success,
            "expectation_config": {k: v for k, v in config.items() if k != "id"},
            "result": {
                "element_count": n,
                "unexpected_count": count,
                "unexpected_percent": 100.0 * count / n if n else None,
                "unexpected_rows": [int(r) for r in p.row_numbers[rows[:EXAMPLE_ROWS_SAVED]]],
            },
            # GX's own verdict over the whole batch this submission was validated in.
            "batch": {"submissions": n_files, "success": bool(gx_result.success), "unexpected_count": batch_count},
        }
        p.gx_results.setdefault(suite_name, []).append(saved)
        if check == "field_values":
            if not success:
                p.failed.setdefault(check, []).append(field_name)
            return  # counted and listed from the status codes
        if success:
            p.summary_rows.append((field_name, check, CHECK_PASSED, count))
            return
        severity = _severity(check, blocking_checks)
        p.summary_rows.append((field_name, check, severity, count))
        self._list(p, mask, field_name, check, severity, params)
        p.failed.setdefault(check, []).append(
            _reason_text(check, meta, mask, p.row_numbers, count, n, params["gate"])
        )

    # -- per file, after GX ----------------------------------------------------------------------
    def _finish(self, p: _Pending, params: Mapping[str, Any]) -> QualityResult:
        blocking_checks = set(params["gate"]["blocking_checks"])
        # Summary rows in suite order, as a file validated alone lists them.
        blocking = [check for check in p.failed if check in blocking_checks]
        warnings = [check for check in p.failed if check not in blocking_checks]
        if blocking:
            reasons = "; ".join(f"{check}: {p.failed[check][0]}" for check in blocking)
            outcome = f"{REJECTED}: {reasons}"
        elif warnings:
            outcome = ACCEPTED_WITH_WARNINGS
        else:
            outcome = ACCEPTED
        summary = pd.DataFrame(p.summary_rows, columns=list(SUMMARY_COLUMNS))
        summary["count"] = summary["count"].astype("int64")
        failing = failing_frame(p.failing_parts)
        submission = p.submission
        return QualityResult(
            file=submission.file_name,
            la_code=submission.la_code,
            submitted_at=submission.submitted_at,
            rows_read=int(submission.rows_read),
            outcome=outcome,
            blocking=blocking,
            warnings=warnings,
            summary=summary,
            failing_records=failing,
            gx_results=_suite_results(p.gx_results, list(self.suites)),
            reporting_period=p.period,
            records_cap=int(params["quality"]["records_listed_per_check"]),
            invalid_values=p.invalid_values,
            seconds=time.perf_counter() - p.started,
            sha256=submission.sha256 or None,
        )


def _suite_results(results: Mapping[str, list[dict[str, Any]]], suite_names: Sequence[str]) -> dict[str, Any]:
    """Per-suite results of one submission, in GX's result layout (counts only, no values)."""
    if not results:
        return {}
    out = {}
    for name in suite_names:
        suite_results = results.get(name, [])
        successful = sum(bool(r["success"]) for r in suite_results)
        out[name] = {
            "suite_name": name,
            "success": successful == len(suite_results),
            "statistics": {
                "evaluated_expectations": len(suite_results),
                "successful_expectations": successful,
                "unsuccessful_expectations": len(suite_results) - successful,
                "success_percent": 100.0 * successful / len(suite_results) if suite_results else None,
            },
            "results": suite_results,
        }
    return out


def _severity(check: str, blocking_checks: set[str]) -> str:
    return CHECK_BLOCKING if check in blocking_checks else CHECK_WARNING


def _example_rows(mask: np.ndarray, row_numbers: np.ndarray, limit: int = 5) -> str:
    rows = row_numbers[np.flatnonzero(mask)[:limit]]
    return ", ".join(str(int(r)) for r in rows)


def _reason_text(
    check: str,
    meta: Mapping[str, Any],
    mask: np.ndarray,
    row_numbers: np.ndarray,
    count: int,
    total: int,
    gate: Mapping[str, Any],
) -> str:
    """One line in plain words: what failed, on which field, how many rows, example row numbers."""
    text = meta.get("description", check)
    if check == "no_rows" or total == 0:
        return text
    if check == "bad_start_dates":
        limit = float(gate["max_bad_start_date_share"])
        detail = f"{count} of {total} rows, {count / total:.1%}; limit {limit:.0%}"
    else:
        detail = f"{count} row{'s' if count != 1 else ''}"
    if count:
        detail += f", e.g. rows {_example_rows(mask, row_numbers)}"
    return f"{text} ({detail})"


def _reporting_period(records: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """The file's reporting period: most common start and end dates; None if either is missing."""
    bounds = []
    for name in ("Reporting_Period_Start_Date", "Reporting_Period_End_Date"):
        if name not in records.columns:
            return None
        counts = records[name].value_counts(dropna=True)
        if counts.empty:
            return None
        bounds.append(pd.Timestamp(counts.index[0]).date())
    return bounds[0], bounds[1]


def _invalid_value_counts(invalid_values: pd.DataFrame | None) -> pd.DataFrame:
    """``field, value, count`` of the invalid code values a council sent (non-personal fields only);
    with ``mapped_to, mapping`` too when some were mapped by hand (missing for the others)."""
    if invalid_values is None or len(invalid_values) == 0:
        return pd.DataFrame({"field": pd.Series(dtype=object), "value": pd.Series(dtype=object),
                             "count": pd.Series(dtype="int64")})
    keys = [c for c in ("field", "value", "mapped_to", "mapping") if c in invalid_values.columns]
    counts = invalid_values.groupby(keys, observed=True, sort=True, dropna=False).size()
    return counts.rename("count").reset_index()


_DEFAULT_RUNNER: QualityRunner | None = None


def check_submission(submission: Any, params: Mapping[str, Any], runner: QualityRunner | None = None) -> QualityResult:
    """Validate one submission and decide its outcome (architecture Contract 2).

    Parameters
    ----------
    submission : ingest.Submission
        Contract 1 submission (``records``/``status`` may be None for an unreadable file).
    params : mapping
        Resolved params; uses ``gate.blocking_checks``, ``gate.max_bad_start_date_share`` and
        ``quality.records_listed_per_check``.
    runner : QualityRunner, optional
        The run's GX context and suites; a module-wide runner on the repository's suites is created
        on first use when omitted.

    Returns
    -------
    QualityResult
    """
    global _DEFAULT_RUNNER
    if runner is None:
        if _DEFAULT_RUNNER is None:
            _DEFAULT_RUNNER = QualityRunner()
        runner = _DEFAULT_RUNNER
    return runner.check(submission, params)
