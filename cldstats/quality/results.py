"""The data quality verdict on one submission (:class:`QualityResult`, architecture Contract 2).

Nothing in a result holds personal data: failing records are named by spreadsheet row number and
``Event Reference`` only; GX results are kept without any unexpected values. The submission store
keeps a result as ``quality.json`` and three Parquet frames (:meth:`QualityResult.stored`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cldstats.quality.statuses import CHECK_BLOCKING, REJECTED

__all__ = ["FAILING_COLUMNS", "NOT_A_SUBMISSION", "SUMMARY_COLUMNS", "QualityResult", "failing_frame",
           "not_a_submission_result"]

#: Columns of :attr:`QualityResult.summary` and of :attr:`QualityResult.failing_records`.
SUMMARY_COLUMNS = ("field", "check", "status", "count")
FAILING_COLUMNS = ("field", "check", "status", "row_number", "event_reference")


@dataclass
class QualityResult:
    """The data quality verdict on one submission (architecture Contract 2).

    Attributes
    ----------
    file, la_code, submitted_at, rows_read
        From the submission (``la_code``/``submitted_at`` None when the file name does not parse).
    outcome : str
        ``accepted``, ``accepted with warnings`` or ``rejected: <reason>``.
    blocking : list of str
        Blocking checks that failed (empty unless rejected).
    warnings : list of str
        Non-blocking checks that failed.
    summary : pandas.DataFrame
        ``field, check, status, count``: the four AGEM statuses per field, field-level detail
        checks with findings, every other check (``Passed``, ``Warning`` or ``Failed (blocking)``)
        and the file-level issues from ingest.
    failing_records : pandas.DataFrame
        ``field, check, status, row_number, event_reference``, at most ``records_cap`` rows per
        field and check.
    gx_results : dict
        Suite name -> GX validation result (``to_json_dict()``), counts only.
    reporting_period : tuple of date, or None
        The file's reporting period (the most common start and end dates), None when missing.
    records_cap : int
        Failing records listed per field and check.
    invalid_values : pandas.DataFrame
        ``field, value, count`` of invalid values of non-personal code fields.
    seconds : float
        Time spent checking.
    sha256 : str or None
        SHA-256 of the file's bytes as ingest read them; None when they could not be read (or the
        entry is not a submission file): nothing reads a file again to hash it.
    """

    file: str
    la_code: str | None
    submitted_at: dt.datetime | None
    rows_read: int
    outcome: str
    blocking: list[str]
    warnings: list[str]
    summary: pd.DataFrame
    failing_records: pd.DataFrame
    gx_results: dict[str, Any]
    reporting_period: tuple[dt.date, dt.date] | None
    records_cap: int
    invalid_values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["field", "value", "count"]))
    seconds: float = 0.0
    sha256: str | None = None

    @property
    def rejected(self) -> bool:
        """True when the gate rejected the submission."""
        return self.outcome.startswith(REJECTED)

    #: The frames of a result, stored as Parquet beside ``quality.json`` (:mod:`cldstats.pipeline.store`).
    FRAMES = ("summary", "failing_records", "invalid_values")

    def stored(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        """The result as the submission store keeps it: ``quality.json`` and its frames.

        Counts, check names and the file's own facts only: the frames are the ones the council
        report shows (no personal value is in them, :mod:`cldstats.ingest` masks invalid values).
        """
        start, end = self.reporting_period if self.reporting_period else (None, None)
        quality = {
            "file": self.file,
            "la_code": self.la_code,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "rows_read": int(self.rows_read),
            "outcome": self.outcome,
            "blocking": list(self.blocking),
            "warnings": list(self.warnings),
            "gx_results": self.gx_results,
            "reporting_period": [start.isoformat(), end.isoformat()] if start else None,
            "records_cap": int(self.records_cap),
            "seconds": float(self.seconds),
            "sha256": self.sha256,
        }
        return quality, {name: getattr(self, name) for name in self.FRAMES}

    @classmethod
    def from_stored(cls, quality: Mapping[str, Any]) -> QualityResult:
        """The result :meth:`stored` kept (``quality`` holds ``quality.json`` and the frames)."""
        period = quality["reporting_period"]
        frames = {name: quality.get(name) for name in cls.FRAMES}
        if frames["invalid_values"] is None:
            frames["invalid_values"] = pd.DataFrame(columns=["field", "value", "count"])
        return cls(
            file=quality["file"],
            la_code=quality["la_code"],
            submitted_at=dt.datetime.fromisoformat(quality["submitted_at"]) if quality["submitted_at"] else None,
            rows_read=int(quality["rows_read"]),
            outcome=quality["outcome"],
            blocking=list(quality["blocking"]),
            warnings=list(quality["warnings"]),
            summary=frames["summary"],
            failing_records=frames["failing_records"],
            gx_results=quality["gx_results"],
            reporting_period=(dt.date.fromisoformat(period[0]), dt.date.fromisoformat(period[1])) if period else None,
            records_cap=int(quality["records_cap"]),
            invalid_values=frames["invalid_values"],
            seconds=float(quality["seconds"]),
            sha256=quality["sha256"],
        )


def failing_frame(parts: Sequence[tuple[str, str, str, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """``field, check, status, row_number, event_reference``: one row per listed failing record."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in FAILING_COLUMNS})
    lengths = [len(part[3]) for part in parts]
    labels = {
        name: np.repeat(np.array([part[i] for part in parts], dtype=object), lengths)
        for i, name in enumerate(FAILING_COLUMNS[:3])
    }
    return pd.DataFrame(
        {
            **labels,
            "row_number": np.concatenate([part[3] for part in parts]),
            "event_reference": np.concatenate([part[4] for part in parts]),
        }
    )


#: Blocking check of an entry of the submissions folder that is not a submission file.
NOT_A_SUBMISSION = "not_a_submission"


def not_a_submission_result(entry: Any, params: Mapping[str, Any]) -> QualityResult:
    """The verdict on an entry of the submissions folder that is not a submission file (a directory,
    a FIFO, an ``.xls``...): rejected with its reason, without being opened."""
    summary = pd.DataFrame([("", NOT_A_SUBMISSION, CHECK_BLOCKING, 0)], columns=list(SUMMARY_COLUMNS))
    summary["count"] = summary["count"].astype("int64")
    return QualityResult(
        file=entry.name,
        la_code=entry.la_code,
        submitted_at=entry.submitted_at,
        rows_read=0,
        outcome=f"{REJECTED}: {entry.reason}",
        blocking=[NOT_A_SUBMISSION],
        warnings=[],
        summary=summary,
        failing_records=failing_frame([]),
        gx_results={},
        reporting_period=None,
        records_cap=int(params["quality"]["records_listed_per_check"]),
    )
