"""TODO reader."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats.ingest.csv_file import read_csv_table
from cldstats.ingest.files import (
    FILE_NAME_PATTERN,
    is_synthetic,  # noqa: F401  (not used here: cldstats.tools.synth still imports it from this module)
    parse_file_name,
    sha256_of_file,
)
from cldstats.ingest.issues import FileIssue, Unreadable
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.ingest.records import build_records, empty_invalid_values
from cldstats.ingest.xlsx_file import read_xlsx_table


@dataclass
class Submission:
    """One submission file as read by :func:`read_submission` (Contract 1).

    ``records`` and ``status`` are None only when the file could not be read at all; an
    ``unreadable`` issue then says why.
    """

    path: Path
    file_name: str
    la_code: str | None
    submitted_at: dt.datetime | None
    sha256: str
    encoding: str | None
    rows_read: int = 0
    issues: list[FileIssue] = field(default_factory=list)
    records: pd.DataFrame | None = None
    status: pd.DataFrame | None = None
    invalid_values: pd.DataFrame = field(default_factory=empty_invalid_values)
    #: Wall and CPU seconds (``time.process_time``: every thread of the process) spent in
    #: :func:`read_submission` (``read``, all of it) and in its pseudonymisation step
    #: (``pseudonymise``, part of ``read``), for the benchmark's per-stage figures.
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        """False when the file could not be read at all."""
        return self.records is not None

    def checks(self) -> set[str]:
        """Names of the checks that found something."""
        return {issue.check for issue in self.issues}


def read_submission(
    path: str | Path,
    key: PseudonymKey,
    placeholder_nhs_numbers: Iterable[object] = (),
    *,
    financial_assessment_prefix: str,
) -> Submission:
    """Read one submission file into a :class:`Submission`; never raises for a bad file.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz`` or ``.xlsx`` file named ``<LA code>_<YYYYMMDDTHHMMSS>.<ext>``.
        Any other name is read as CSV (``.xlsx`` by suffix) with a ``file_name`` warning.
    key : PseudonymKey
        The HMAC key for the keyed hashes and person keys (:func:`cldstats.ingest.pseudonymise.load_key`).
    placeholder_nhs_numbers : iterable of str, optional
        Params ``pseudonymisation.placeholder_nhs_numbers``: NHS numbers read as invalid (as are
        ten equal digits), so they give no ``nhs_number_key``.
    financial_assessment_prefix : str
        Params ``method.financial_assessment_prefix``: a submitted ``Assessment Type`` beginning
        with it (any case) is kept as sent in ``Assessment_Type_submitted``, as one beginning with
        a code-list value is; any other is kept only as its shape. Required, so that what ingest
        keeps always follows the run's params (the store keys entries by it).

    Returns
    -------
    Submission
        ``records`` is None (with an ``unreadable`` issue naming the file and the reason) only when
        the file cannot be read at all. See the module docstring for what each step reports.
    """
    started = time.perf_counter(), time.process_time()
    path = Path(path)
    name = path.name
    issues: list[FileIssue] = []
    la_code, submitted_at = parse_file_name(name)
    if not FILE_NAME_PATTERN.match(name) or submitted_at is None:
        issues.append(
            FileIssue(
                "file_name",
                f"{name}: file name does not follow <LA code>_<YYYYMMDDTHHMMSS>.csv (or .csv.gz, .xlsx)"
                + ("" if la_code else "; LA code unknown")
                + ("" if submitted_at else "; submission time unknown"),
            )
        )
    submission = Submission(path, name, la_code, submitted_at, sha256="", encoding=None, issues=issues)
    raw = None
    if name.lower().endswith(".xlsx"):
        with ThreadPoolExecutor(max_workers=1) as background:
            # hashlib releases the GIL: the file's SHA-256 is computed while it is parsed.
            sha256 = background.submit(sha256_of_file, path)
            try:
                raw = read_xlsx_table(path, name, issues)
            except Exception as error:  # noqa: BLE001 - sorted out below, once the digest is known
                failure = error
            try:
                submission.sha256 = sha256.result()
            except OSError:
                pass
    else:
        try:
            # The file is read once: its digest and its content come from the same bytes.
            content = path.read_bytes()
        except Exception as error:  # noqa: BLE001 - sorted out by _reject
            failure = error
        else:
            submission.sha256 = hashlib.sha256(content).hexdigest()
            try:
                raw = read_csv_table(content, name, issues)
            except Exception as error:  # noqa: BLE001 - sorted out below
                failure = error
            del content
    if raw is None:
        submission = _reject(submission, failure)
    else:
        submission.encoding = raw.encoding
        submission.rows_read = len(raw.row_numbers)
        submission.records, submission.status, submission.invalid_values, pseudonymise_seconds = build_records(
            raw, la_code, key, name, issues, tuple(str(number) for number in placeholder_nhs_numbers),
            financial_assessment_prefix,
        )
        submission.timings["pseudonymise"] = pseudonymise_seconds
    submission.timings["read"] = (time.perf_counter() - started[0], time.process_time() - started[1])
    return submission


def _reject(submission: Submission, error: BaseException) -> Submission:
    """The Submission of a file that could not be read; unexpected errors are re-raised (bugs)."""
    name = submission.file_name
    if isinstance(error, Unreadable):
        reason = str(error)
    elif isinstance(error, OSError):
        reason = f"cannot be opened ({error.strerror or type(error).__name__})"
    elif isinstance(error, MemoryError):
        reason = "too large to read in the memory available"
    else:
        raise error
    submission.issues.append(FileIssue("unreadable", f"{name}: {reason}"))
    return submission
