"""Read one CLD submission into typed, pseudonymised records plus per-cell statuses.

This is Contract 1 of ``docs/architecture.md``: :func:`read_submission` turns one file into a
:class:`Submission` and never raises for a bad file. The steps, in order:

1. **Bytes.** ``.csv`` is read whole, once (the SHA-256 is of those bytes); ``.csv.gz`` is then
   decompressed, every member (a truncated gzip is unreadable); ``.xlsx`` goes to openpyxl instead
   (first sheet, header in row 1, values as text). Only the sheet cells that exist are read (the
   sheet's declared used range is ignored: one stray value at ``XFD1048576`` costs nothing); rows
   are bounded by the header's width (cells beyond it are ``ragged_rows``, and a row holding nothing
   else is not a record); a row beyond Excel's 1,048,576 or a cell beyond its 16,384 columns makes
   the file ``unreadable``.
2. **Encoding.** UTF-8 (a BOM is accepted with an ``encoding_bom`` warning), else Windows-1252.
   NUL bytes, UTF-16, zip or gzip content, binary junk and bytes undefined in Windows-1252 make the
   file ``unreadable``, with the byte offset and line. Everything downstream is UTF-8. A
   Windows-1252 file is not transcoded whole: CSV syntax is ASCII, so its cells are parsed as bytes
   and only the distinct values holding non-ASCII bytes are transcoded (the whole file is, first,
   only when the header itself is not ASCII or pyarrow refuses the file).
3. **Cells as text.** pyarrow's CSV reader (one thread: validation runs a process per core) with
   every column read as bytes and dictionary-encoded, so nothing is coerced before it is checked.
   When pyarrow refuses the file (rows with more or fewer
   cells than the header, a header without a final newline...), Python's ``csv`` module reads it
   instead: short rows are padded with blanks, cells beyond the header ignored, and every such row
   reported as ``ragged_rows`` (``rows_read`` counts them: nothing is dropped silently).
   **Unclosed quotes.** A quote that opens a cell and never closes makes both readers take the
   lines after it into that cell. Such a cell (one whose later lines hold records, or whose record
   is ragged) is found, its quote read as a character of its cell (which then ends on its line), and
   the file parsed again, until none is left (at most 10 passes; a cell still swallowing lines is
   then blanked): every line that is a record is read as one, and ``ragged_rows`` names the row and
   column of each quote.
4. **Header.** Labels matched to the spec exactly, else loosely (case, spaces, underscores; a
   ``loose_label`` warning); unknown labels are ``extra_columns``; absent fields are
   ``missing_columns`` and read as all blank, so the data quality report can still show the rest (the
   gate rejects the file). A field seen twice is compared copy by copy: equal after trimming, the
   first copy (``duplicate_columns``); differing only where one copy is blank, the non-blank value on
   each row (``duplicate_columns``, saying so); two different non-blank values on any row,
   ``duplicate_columns_disagree`` with the columns and example rows (blocking by default).
5. **Values.** Each column is dictionary-encoded and each *distinct* value checked once (code lists,
   ``d/m/yyyy`` dates, NHS numbers, ...), then statuses and typed values are spread back to the rows.
   Cells starting ``=``, ``+``, ``@`` or ``-`` (unless a number follows the minus) are formula cells:
   status ``FORMULA``, value missing, never evaluated, reported as ``formula_cells``. NHS numbers of
   ten equal digits and those listed in params (``pseudonymisation.placeholder_nhs_numbers``) are
   placeholders: invalid, although their check digit is right.
6. **Pseudonymisation.** LA person IDs and linked IDs become keyed hashes; each row gets two person
   keys, ``nhs_number_key`` (a valid NHS number's) and ``la_person_key`` (its LA person ID's),
   64-bit integers from the same keyed hashes, from which the method's SQL (``person_ids.sql``)
   takes the person ID; date of birth becomes birth month and year; names, NHS number, postcode, GP
   practice name and event description never reach ``records``. ``Assessment_Type_submitted`` keeps
   the submitted ``Assessment Type`` only when it begins with a code-list value or the financial
   assessment prefix, else its shape. One valid NHS number given with several birth dates is
   ``nhs_number_shared`` (count and rows). No issue message or ``invalid_values`` row ever holds a
   personal value: an invalid code is shown as sent only when it cannot be personal data (a near
   miss of a code, a GSS code, a value of at most three letters and digits), otherwise by its shape
   (``(10 digits)``, ``(postcode-like)``, ``(text, 7 letters)``); an unknown ``LA Code`` is kept in
   ``records`` the same way.

Row numbers are the file's own: for CSV and gzip the line on which the record starts (the header
is line 1; blank lines and line breaks inside quoted cells are counted, as a text editor counts
them), for xlsx the sheet's row. They come from pyarrow's parse, vectorised: ``i + 2`` when the file
has one line per record, else read off the file's non-empty lines (a record takes one line plus
one per run of line breaks in its cells); the ``csv`` module counts them itself.

Where each step lives: file names and the folder in :mod:`cldstats.ingest.files`; bytes and
encodings in :mod:`cldstats.ingest.decoding`; the CSV parsers and line numbers in
:mod:`cldstats.ingest.csv_parser`, unclosed quotes and ragged rows in :mod:`cldstats.ingest.csv_file`,
workbooks in :mod:`cldstats.ingest.xlsx_file` (all of them read into
:class:`~cldstats.ingest.cells.RawTable`); the header in :mod:`cldstats.ingest.header`; values in
:mod:`cldstats.ingest.values`; ``records``, statuses and invalid values in
:mod:`cldstats.ingest.records`; keyed hashes and person keys in :mod:`cldstats.ingest.pseudonymise`;
check names and :class:`~cldstats.ingest.issues.FileIssue` in :mod:`cldstats.ingest.issues`. This
module is the entry point: :func:`read_submission` and its :class:`Submission`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats.ingest.cells import RawTable
from cldstats.ingest.csv_file import read_csv_table
from cldstats.ingest.files import (
    FILE_NAME_PATTERN,
    parse_file_name,
    sha256_of_file,
)
from cldstats.ingest.issues import FileIssue, Unreadable
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.ingest.records import build_records, empty_invalid_values
from cldstats.ingest.xlsx_file import read_xlsx_table
from cldstats.reference.mappings import MappingTables


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
    #: The columns of Release 1 that Release 2 removed which the file's header holds (field names):
    #: a Release 1 header has both, a Release 2 header neither (both are optional).
    release1_columns: tuple[str, ...] = ()
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
    mappings: MappingTables | None = None,
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
    mappings : MappingTables, optional
        The hand-maintained mappings of invalid code values (params ``selection.mappings``,
        :mod:`cldstats.reference.mappings`), applied after the release mapping.

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
        issues.append(_file_name_issue(name, la_code, submitted_at))
    submission = Submission(path, name, la_code, submitted_at, sha256="", encoding=None, issues=issues)
    raw, failure = _read_cells(submission)
    if raw is None:
        submission = _reject(submission, failure)
    else:
        submission.encoding = raw.encoding
        submission.rows_read = len(raw.row_numbers)
        (submission.records, submission.status, submission.invalid_values, pseudonymise_seconds,
         submission.release1_columns) = build_records(
            raw, la_code, key, name, issues, tuple(str(number) for number in placeholder_nhs_numbers),
            financial_assessment_prefix, mappings,
        )
        submission.timings["pseudonymise"] = pseudonymise_seconds
    submission.timings["read"] = (time.perf_counter() - started[0], time.process_time() - started[1])
    return submission


def _file_name_issue(name: str, la_code: str | None, submitted_at: dt.datetime | None) -> FileIssue:
    """``file_name``: the name does not follow the convention (and what is unknown because of it)."""
    return FileIssue(
        "file_name",
        f"{name}: file name does not follow <LA code>_<YYYYMMDDTHHMMSS>.csv (or .csv.gz, .xlsx)"
        + ("" if la_code else "; LA code unknown")
        + ("" if submitted_at else "; submission time unknown"),
    )


def _read_cells(submission: Submission) -> tuple[RawTable | None, BaseException | None]:
    """The file's cells as text, or None and the error that stopped the reading (for :func:`_reject`).

    Sets ``submission.sha256`` whenever the bytes could be read. Issues go to ``submission.issues``.
    """
    path, name, issues = submission.path, submission.file_name, submission.issues
    raw = failure = None
    if name.lower().endswith(".xlsx"):
        with ThreadPoolExecutor(max_workers=1) as background:
            # hashlib releases the GIL: the file's SHA-256 is computed while it is parsed.
            sha256 = background.submit(sha256_of_file, path)
            try:
                raw = read_xlsx_table(path, name, issues)
            except Exception as error:  # noqa: BLE001 - sorted out by _reject, once the digest is known
                failure = error
            try:
                submission.sha256 = sha256.result()
            except OSError:
                pass
        return raw, failure
    try:
        # The file is read once: its digest and its content come from the same bytes.
        content = path.read_bytes()
    except Exception as error:  # noqa: BLE001 - sorted out by _reject
        return None, error
    submission.sha256 = hashlib.sha256(content).hexdigest()
    try:
        raw = read_csv_table(content, name, issues)
    except Exception as error:  # noqa: BLE001 - sorted out by _reject
        failure = error
    return raw, failure


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
