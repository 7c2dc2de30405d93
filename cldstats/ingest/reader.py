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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import functools
import hashlib
import io
import json
import os
import re
import stat
import sys
import time
import warnings
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from cldstats.ingest.pseudonymise import (
    PseudonymKey,
    _as_arrow_text,
    _hash_distinct,
    _string_series,
    keys_of_hashes,
    nhs_number_keys,
    nhs_number_valid,
    shared_nhs_number_rows,
)
from cldstats.reference.spec import Field, Spec, ValueStatus, load_spec, normalise_label

__all__ = [
    "CHECKS",
    "sha256_of_file",
    "FileIssue",
    "FolderEntry",
    "SUBMISSION_SUFFIXES",
    "SYNTHETIC_MARKER",
    "Submission",
    "is_synthetic",
    "list_folder",
    "list_submissions",
    "parse_file_name",
    "read_submission",
]

#: Check names ingest reports (whether one blocks is the gate's decision, not ingest's).
CHECKS = (
    "unreadable",
    "no_rows",
    "missing_columns",
    "extra_columns",
    "duplicate_columns",
    "duplicate_columns_disagree",
    "loose_label",
    "encoding_bom",
    "file_name",
    "formula_cells",
    "ragged_rows",
    "nhs_number_shared",
)
SUBMISSION_SUFFIXES = (".csv", ".csv.gz", ".xlsx")
#: Example rows listed per issue.
MAX_EXAMPLE_ROWS = 20

#: Fields removed before ``records`` exists (their ``status`` columns stay).
DROPPED_FIELDS = (
    "NHS_Number",
    "First_Name",
    "Last_Name",
    "GP_Practice_Name",
    "Postcode",
    "Date_of_Birth",
    "Event_Description",
)

_FILE_NAME = re.compile(r"^(?P<la>[EWSN]\d{8})_(?P<time>\d{8}T\d{6})\.(?:csv|csv\.gz|xlsx)$", re.IGNORECASE)
_LA_PREFIX = re.compile(r"^(?P<la>[EWSN]\d{8})_", re.IGNORECASE)
# RE2 patterns (pyarrow.compute), applied to distinct values only.
_NUMBER = r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_INTEGER = r"^-?[0-9]+$"
_FORMULA_START = r"^[=+@-]"
_DMY_DATE = r"^(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
# Five digits: Excel serials 10000-99999 are 1927-05-18 to 2173-10-13, every plausible CLD date
# bar the oldest dates of birth; a time of day shows as a fraction.
_EXCEL_SERIAL = r"^[0-9]{5}(?:\.[0-9]+)?$"
_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"
_ODS_CODE = r"^[A-Z][0-9]{5}$"
_CQC_ID = r"^1-[0-9]+$"
# Control characters other than tab, CR and LF: a text file has (almost) none of them.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_PYARROW_BLOCK_SIZE = 16 << 20
_PYARROW_SMALL_BLOCK_SIZE = 1 << 20
#: pyarrow's reader threads: off, since validation already runs one process per core and a
#: single thread parses a file with the least CPU (measured: ~0.26 s vs ~0.37 s CPU, 145k rows).
_PYARROW_THREADS = False
_WORKERS = max(1, min(4, os.cpu_count() or 1))
#: Files with fewer rows read their fields in one thread (see ``_build``).
_THREADED_MIN_ROWS = 50_000


@dataclass(frozen=True)
class FileIssue:
    """One file-level finding.

    Attributes
    ----------
    check : str
        Machine name, one of :data:`CHECKS`.
    message : str
        One line naming the file and, where known, the row and field. Never holds a personal value.
    field : str or None
        Internal field name the issue is about, if one.
    count : int
        Cells, rows or columns concerned.
    rows : tuple of int
        Up to 20 example spreadsheet row numbers.
    fields : tuple of str
        Every internal field name concerned, when there are several (``missing_columns``).
    """

    check: str
    message: str
    field: str | None = None
    count: int = 0
    rows: tuple[int, ...] = ()
    fields: tuple[str, ...] = ()


def _empty_invalid_values() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_number": pd.Series([], dtype="int32"),
            "field": pd.Series([], dtype="string"),
            "value": pd.Series([], dtype="string"),
        }
    )


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
    invalid_values: pd.DataFrame = field(default_factory=_empty_invalid_values)
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


class _Unreadable(Exception):
    """Internal: the file cannot be read; the message follows the file name."""


@dataclass
class _RawTable:
    """Cells as text, one Arrow string array per header column."""

    header: list[str]
    columns: list[pa.Array | pa.ChunkedArray]
    row_numbers: np.ndarray
    encoding: str | None
    #: records whose cells may sit in the wrong columns (ragged rows): displaced values could be
    #: personal data, so their free-text values are not kept and their invalid codes not listed
    suspect: np.ndarray | None = None


# ---------------------------------------------------------------------------------------------
# File names and folders
# ---------------------------------------------------------------------------------------------


def parse_file_name(name: str) -> tuple[str | None, dt.datetime | None]:
    """LA code and submission time from ``<LA code>_<YYYYMMDDTHHMMSS>.csv`` (or ``.csv.gz``, ``.xlsx``).

    Parameters
    ----------
    name : str
        File name (a path is reduced to its name).

    Returns
    -------
    (la_code, submitted_at)
        ``la_code`` is the GSS code (upper case) when the name starts with one followed by ``_``,
        even if the rest does not parse; ``submitted_at`` is a naive datetime only when the whole
        name parses to a real date and time. Either is None otherwise.

    Examples
    --------
    >>> parse_file_name("E06000001_20240415T093000.csv.gz")
    ('E06000001', datetime.datetime(2024, 4, 15, 9, 30))
    >>> parse_file_name("E06000001_20241315T093000.csv")
    ('E06000001', None)
    >>> parse_file_name("hartlepool march.csv")
    (None, None)
    """
    name = Path(str(name)).name
    prefix = _LA_PREFIX.match(name)
    la_code = prefix.group("la").upper() if prefix else None
    full = _FILE_NAME.match(name)
    submitted_at = None
    if full:
        try:
            submitted_at = dt.datetime.strptime(full.group("time").upper(), "%Y%m%dT%H%M%S")
        except ValueError:
            submitted_at = None
    return la_code, submitted_at


def _has_submission_suffix(name: str) -> bool:
    return name.lower().endswith(SUBMISSION_SUFFIXES)


def list_submissions(data_dir: str | Path) -> list[Path]:
    """Submission files in ``data_dir/submissions/``, sorted by name.

    The entries of :func:`list_folder` that are submission files: regular files (or symlinks to
    one) named ``*.csv``, ``*.csv.gz`` or ``*.xlsx`` (any case). The other entries, with the reason
    each is not a submission, are in :func:`list_folder`. A missing folder gives an empty list (the
    caller decides whether that is an error).
    """
    return [entry.path for entry in list_folder(data_dir) if entry.is_submission]


@dataclass(frozen=True)
class FolderEntry:
    """One entry of a submissions folder, as found there (nothing is opened to find it).

    Attributes
    ----------
    path : Path
        The entry.
    name : str
        Its name in the folder.
    kind : str
        What it is: ``file`` (a regular file, or a symlink to one), ``directory``, ``FIFO``,
        ``socket``, ``device``, ``broken or looping symlink``, ``other``, or ``gone`` (listed, then
        removed before it could be looked at).
    reason : str or None
        Why the entry is not a submission file (one line, e.g. ``directory`` or ``not a submission
        file (.xls: save as .csv or .xlsx)``); None for a submission file.
    la_code, submitted_at : str or None, datetime or None
        From a name starting ``<LA code>_<YYYYMMDDTHHMMSS>``, whatever follows (so that an entry
        that is not a submission can still be placed in time and given to its council).
    """

    path: Path
    name: str
    kind: str
    reason: str | None
    la_code: str | None
    submitted_at: dt.datetime | None

    @property
    def is_submission(self) -> bool:
        """True for a regular file with a submission suffix (read by :func:`read_submission`)."""
        return self.reason is None


_NAME_TIME = re.compile(r"^(?P<la>[EWSN]\d{8})_(?P<time>\d{8}T\d{6})", re.IGNORECASE)
#: What a submission must be saved as, quoted to a sender whose file is of another type.
_SAVE_AS = "save as .csv or .xlsx"


def _name_time(name: str) -> tuple[str | None, dt.datetime | None]:
    """LA code and time from the start of a name, whatever follows (``E06000001_20240415T093000.xls``)."""
    la_code, _ = parse_file_name(name)
    match = _NAME_TIME.match(name)
    if not match:
        return la_code, None
    try:
        return la_code, dt.datetime.strptime(match.group("time").upper(), "%Y%m%dT%H%M%S")
    except ValueError:
        return la_code, None


def _kind_and_reason(path: Path) -> tuple[str, str | None]:
    """What a folder entry is, from ``stat`` alone: a FIFO is never opened (opening one blocks)."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a symlink to a good file is a submission
    except OSError as error:
        try:
            link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            return "gone", f"removed from the folder before it could be read ({error.strerror})"
        if link:
            return "broken or looping symlink", "broken or looping symlink"
        return "other", f"cannot be looked at ({error.strerror})"
    if stat.S_ISDIR(mode):
        return "directory", "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO", "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket", "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device", "device file"
    if not stat.S_ISREG(mode):
        return "other", "not a regular file"
    name = path.name
    if name != name.rstrip():
        # "X.csv " looks like a submission in most file browsers; it is not one.
        return "file", "file name ends in a space" if name.endswith(" ") else "file name ends in white space"
    if not _has_submission_suffix(name):
        suffix = "".join(Path(name).suffixes[-2:]).lower() if Path(name).suffix else ""
        what = suffix if suffix else "no file extension"
        return "file", f"not a submission file ({what}: {_SAVE_AS})"
    return "file", None


def list_folder(data_dir: str | Path) -> list[FolderEntry]:
    """Every entry of ``data_dir/submissions/``, sorted by name, each with its kind.

    Nothing is opened: each entry is classified by ``stat`` (so a FIFO, which blocks a reader, is
    safe to list) and every entry is returned, so that the caller can account for each one. A
    missing folder gives an empty list.

    Parameters
    ----------
    data_dir : str or Path
        The data folder (``submissions/`` inside it).

    Returns
    -------
    list of FolderEntry
        ``reason`` is None exactly for the submission files (:func:`list_submissions`).

    Examples
    --------
    An entry named like a submission but saved as ``.xls`` is listed with the reason it is not one:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (Path(tmp) / "submissions").mkdir()
    ...     _ = (Path(tmp) / "submissions" / "E06000001_20240415T093000.xls").write_bytes(b"")
    ...     [(e.kind, e.reason, e.la_code) for e in list_folder(tmp)]
    [('file', 'not a submission file (.xls: save as .csv or .xlsx)', 'E06000001')]
    """
    folder = Path(data_dir) / "submissions"
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        kind, reason = _kind_and_reason(path)
        la_code, submitted_at = _name_time(path.name)
        entries.append(FolderEntry(path, path.name, kind, reason, la_code, submitted_at))
    return entries


#: The file that marks a data folder as synthetic (written by ``cldstats synth``).
SYNTHETIC_MARKER = "synthetic.json"


def is_synthetic(data_dir: str | Path) -> bool:
    """Whether a data folder is marked synthetic: its ``synthetic.json`` says ``"synthetic": true``.

    Only then may the public development key pseudonymise its data (docs/methodology.md section 1). The
    marker's content decides, not its existence: ``{"synthetic": false}`` marks real data.

    Parameters
    ----------
    data_dir : str or Path
        The data folder.

    Returns
    -------
    bool
        False when there is no marker or it says ``"synthetic": false``; True when it says true.

    Raises
    ------
    CldstatsError
        The marker is not a regular file, cannot be read, is not JSON, or is not a JSON object whose
        ``"synthetic"`` is true or false (one line naming the file).
    """
    from cldstats.core.errors import CldstatsError

    path = Path(data_dir) / SYNTHETIC_MARKER
    expected = 'it must be a JSON object with "synthetic": true or false'
    if not os.path.lexists(path):
        return False
    if not path.is_file():  # a FIFO would block the read; a directory cannot be read
        raise CldstatsError(f"{path}: the synthetic-data marker is not a regular file; {expected}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise CldstatsError(f"{path}: the synthetic-data marker cannot be read ({reason}); {expected}") from None
    try:
        marker = json.loads(text)
    except json.JSONDecodeError as error:
        raise CldstatsError(
            f"{path}: the synthetic-data marker is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); {expected}"
        ) from None
    if not isinstance(marker, dict) or not isinstance(marker.get("synthetic"), bool):
        raise CldstatsError(f"{path}: the synthetic-data marker does not say whether the data is synthetic; {expected}")
    return marker["synthetic"]


# ---------------------------------------------------------------------------------------------
# Bytes, encodings and cells
# ---------------------------------------------------------------------------------------------


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB blocks (the one digest function of cldstats)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count(n: int, noun: str) -> str:
    """``"1 row"``, ``"2 rows"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset (counting LF, or CR in old Mac files)."""
    newlines = data.count(b"\n", 0, offset)
    return (newlines or data.count(b"\r", 0, offset)) + 1


def _gunzip(compressed: bytes) -> bytes:
    """Decompress every gzip member, as :mod:`gzip` does (zero padding between members allowed)."""
    parts = []
    rest = compressed
    while rest:
        try:
            decompressor = zlib.decompressobj(wbits=31)
            parts.append(decompressor.decompress(rest))
        except zlib.error as error:
            raise _Unreadable("is not a valid gzip file") from error
        if not decompressor.eof:
            raise _Unreadable("gzip file is truncated (compressed data ends early)")
        rest = decompressor.unused_data.lstrip(b"\x00")
        if rest and not rest.startswith(b"\x1f\x8b"):
            raise _Unreadable("is not a valid gzip file")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _decode(data: bytes, issues: list[FileIssue], name: str) -> tuple[bytes, str]:
    """Check the bytes are text and return them as UTF-8 with the encoding they came in."""
    if not data:
        raise _Unreadable("file is empty (0 bytes)")
    if data.startswith(b"PK\x03\x04"):
        raise _Unreadable("is a zip archive, not CSV text (an .xlsx workbook renamed to .csv?)")
    if data.startswith(b"\x1f\x8b"):
        raise _Unreadable("is gzip-compressed but not named .csv.gz")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Unreadable("is UTF-16 text; save it as UTF-8 or Windows-1252 CSV")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _Unreadable(
            f"contains NUL bytes (first at byte {nul}, line {_line_of(data, nul)}): binary data, not CSV text"
        )
    sample = data[: 1 << 16]
    control = len(sample.translate(None, _NOT_CONTROL_BYTES))
    if control > max(10, len(sample) // 100):
        raise _Unreadable(f"looks like binary data, not CSV text ({control} control bytes in the first 64 KB)")

    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8-sig"
        issues.append(
            FileIssue(
                "encoding_bom",
                f"{name}: starts with a UTF-8 byte order mark (the national portal refuses it); read as UTF-8",
            )
        )
    if data.isascii() or _is_utf8(data):
        return data, encoding
    if encoding == "utf-8-sig":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Unreadable(
                f"has a UTF-8 byte order mark but invalid UTF-8 at byte {error.start + 3} "
                f"(line {_line_of(data, error.start)})"
            ) from error
    # Windows-1252: still as sent; transcoded by the caller (see ``_read_csv``).
    return data, "cp1252"


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8 (Arrow's validator: no str is built)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _cp1252_unreadable(data: bytes) -> _Unreadable:
    bad = _CP1252_UNDEFINED.search(data)
    offset = bad.start() if bad else 0
    return _Unreadable(
        f"is neither UTF-8 nor Windows-1252: byte 0x{data[offset]:02X} at byte {offset} "
        f"(line {_line_of(data, offset)}) is undefined in Windows-1252"
    )


def _cp1252_to_utf8(data: bytes) -> bytes:
    """The whole file transcoded (the slow path: files pyarrow refuses, non-ASCII headers)."""
    try:
        return data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        raise _cp1252_unreadable(data) from None


@dataclass
class _Encoded:
    """A column read dictionary-encoded: distinct cells (UTF-8 text) and, per row, their index."""

    dictionary: pa.Array
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def plain(self) -> pa.Array:
        return self.dictionary.take(pa.array(self.indices))


def _parse_with_pyarrow(data: bytes, header: list[str], cp1252: bool) -> list[_Encoded] | None:
    """Every column dictionary-encoded, or None when pyarrow refuses the file.

    Cells are read as bytes (CSV syntax is ASCII, so Windows-1252 bytes parse as they are) and
    only the distinct values are made text: viewed as UTF-8 (the file was checked to be UTF-8), or
    transcoded from Windows-1252 when they hold non-ASCII bytes.
    """
    table = None
    # Small blocks parse faster (the memo tables stay in cache); a row bigger than a small block
    # makes pyarrow fail, so a refused file is tried again with the big blocks before giving up.
    for block_size in (_PYARROW_SMALL_BLOCK_SIZE, _PYARROW_BLOCK_SIZE):
        try:
            table = pa_csv.read_csv(
                pa.BufferReader(data),
                read_options=pa_csv.ReadOptions(use_threads=_PYARROW_THREADS, block_size=block_size),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types={label: pa.binary() for label in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            break
        except (pa.ArrowException, ValueError):
            if len(data) <= _PYARROW_SMALL_BLOCK_SIZE:
                return None
    if table is None:
        return None
    if table.num_columns != len(header) or list(table.column_names) != header:
        return None
    columns = []
    for i in range(table.num_columns):
        dictionary, indices = _dictionary_encode(table.column(i))
        columns.append(_Encoded(_cells_as_text(dictionary, data if cp1252 else None), indices))
    return columns


def _cells_as_text(cells: pa.Array, cp1252_data: bytes | None) -> pa.Array:
    """Distinct cells (bytes) as UTF-8 text; ``cp1252_data`` is the file when it is Windows-1252."""
    text = cells.view(pa.string()) if pa.types.is_binary(cells.type) else cells
    if cp1252_data is None:
        return text
    ascii_ = pc.string_is_ascii(text)
    if pc.all(ascii_).as_py() is not False:
        return text
    other = pc.invert(ascii_)
    try:
        transcoded = [value.decode("cp1252") for value in cells.filter(other).to_pylist()]
    except UnicodeDecodeError:
        raise _cp1252_unreadable(cp1252_data) from None
    return pc.replace_with_mask(text, other, pa.array(transcoded, type=pa.string()))


@dataclass
class _Parsed:
    """One parse of a CSV file: the cells of each header column and where each record starts."""

    header: list[str]
    columns: list[_Encoded]
    #: per record, the line of the file on which it starts (lines counted from 1, blank ones too)
    lines: np.ndarray
    #: records with more or fewer cells than the header (found by the csv module) and their cell counts
    ragged: np.ndarray
    ragged_lengths: np.ndarray
    #: lines in the file parsed (:func:`_line_count`)
    n_lines: int


def _parse_with_csv_module(text: str) -> _Parsed:
    """Python's csv reader: slower, but it accepts anything, sees ragged rows and counts lines."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # one cell may legitimately be megabytes
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    rows: list[list[str]] = []
    starts: list[int] = []
    line = 0
    for row in reader:
        if row:  # a blank line is an empty list: skipped, but its line is counted
            rows.append(row)
            starts.append(line + 1)
        line = reader.line_num
    if not rows:
        raise _Unreadable("has no header row (only blank lines)")
    header, body = rows[0], rows[1:]
    width = len(header)
    lengths = np.fromiter((len(row) for row in body), dtype=np.int64, count=len(body))
    ragged = np.flatnonzero(lengths != width)
    for i in ragged:
        row = body[i]
        body[i] = row[:width] if len(row) > width else row + [""] * (width - len(row))
    if body:
        columns = [pa.array(cells, type=pa.string()) for cells in zip(*body, strict=True)]
    else:
        columns = [pa.array([], type=pa.string()) for _ in header]
    return _Parsed(
        header,
        [_Encoded(*_dictionary_encode(column)) for column in columns],
        np.asarray(starts[1:], dtype=np.int64),
        ragged,
        lengths[ragged],
        n_lines=line,
    )


def _first_record(data: bytes) -> list[str]:
    """The header cells, parsed from the start of the file."""
    head = data[: 1 << 20].decode("utf-8", errors="replace")
    for row in csv.reader(io.StringIO(head, newline=""), strict=False):
        if row:
            return row
    return []


# A run of line breaks inside a cell: the lines between its breaks are empty.
_LINE_BREAK_RUN = r"(?:\r\n|\r|\n)+"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _line_count(data: bytes) -> int:
    """Lines of the file: CRLF, LF and a lone CR each end one; a last line without an end counts.

    numpy comparisons, not ``bytes.count`` (measured on a 40 MB file: 70 ms for the LFs and 90 ms
    more for the CRs of a CRLF file, against 100 ms per ``count`` and 230 ms for ``b"\\r\\n"``).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    breaks = int(np.count_nonzero(buf == 0x0A))
    if b"\r" in data:
        cr = np.flatnonzero(buf == 0x0D)
        breaks += int(np.count_nonzero(buf[np.minimum(cr + 1, len(buf) - 1)] != 0x0A))
    return breaks + (0 if data.endswith((b"\n", b"\r")) else 1)


def _physical_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Byte offset at which each line of the file starts, and whether the line is empty.

    Vectorised over the bytes (one comparison per byte value, no Python per line).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    lf = np.flatnonzero(buf == 0x0A)
    cr = np.flatnonzero(buf == 0x0D)
    last = len(buf) - 1
    lone_cr = cr[(cr == last) | (buf[np.minimum(cr + 1, last)] != 0x0A)]
    lf_after_cr = (lf > 0) & (buf[np.maximum(lf - 1, 0)] == 0x0D)
    ends = np.concatenate([lf, lone_cr])  # last byte of each line break
    firsts = np.concatenate([lf - lf_after_cr, lone_cr])  # first byte of it (the CR of a CRLF)
    order = np.argsort(ends, kind="stable")
    ends, firsts = ends[order], firsts[order]
    starts = np.concatenate([[0], ends + 1])
    empty = np.zeros(len(starts), dtype=bool)
    empty[: len(ends)] = firsts == starts[: len(ends)]
    if starts[-1] == len(buf):  # the file ends with a line break: no line after it
        starts, empty = starts[:-1], empty[:-1]
    return starts, empty


def _record_lines(data: bytes, header: list[str], columns: list[_Encoded], n_lines: int) -> np.ndarray | None:
    """The line on which each record pyarrow read starts, or None when the lines do not add up.

    With one line per record (no blank line, no line break in a cell: the usual file) record ``i``
    is on line ``i + 2``. Otherwise each record takes its first line and one more non-empty line
    per run of line breaks in its cells (the lines inside a run are empty), and blank lines between
    records are skipped: the record starts are then read off the file's non-empty lines.
    """
    n_rows = len(columns[0]) if columns else 0
    if n_lines == n_rows + 1:
        return np.arange(2, n_rows + 2, dtype=np.int64)
    consumed = np.ones(n_rows, dtype=np.int64)
    for column in columns:
        runs = pc.count_substring_regex(column.dictionary, _LINE_BREAK_RUN).to_numpy(zero_copy_only=False)
        if runs.any():
            consumed += runs[column.indices]
    header_consumed = 1 + sum(len(re.findall(_LINE_BREAK_RUN, label)) for label in header)
    starts, empty = _physical_lines(data)
    non_empty = np.flatnonzero(~empty) + 1
    if header_consumed + int(consumed.sum()) != len(non_empty):
        return None
    return non_empty[header_consumed + np.cumsum(consumed) - consumed]


def _parse(data: bytes, header: list[str], cp1252: bool) -> tuple[_Parsed, bytes, bool]:
    """pyarrow when it accepts the file (and its lines add up), else Python's csv module.

    Returns the parse and the bytes parsed, with whether they are still Windows-1252 (the csv
    module reads text, so a Windows-1252 file is transcoded for it).
    """
    columns = _parse_with_pyarrow(data, header, cp1252) if header and len(set(header)) == len(header) else None
    if columns is not None:
        n_lines = _line_count(data)
        lines = _record_lines(data, header, columns, n_lines)
        if lines is not None:
            none = np.zeros(0, dtype=np.int64)
            return _Parsed(header, columns, lines, none, none, n_lines), data, cp1252
    # Duplicate labels, ragged rows, a header without a newline, a cell bigger than a block...
    if cp1252:
        data, cp1252 = _cp1252_to_utf8(data), False
    return _parse_with_csv_module(data.decode("utf-8")), data, cp1252


def _swallowing_cells(parsed: _Parsed) -> list[tuple[int, int]]:
    """(record, column) of quoted cells spanning lines that hold records: an unclosed quote.

    A cell is taken to swallow records when one of its lines after the first holds at least half
    the header's delimiters (a record), or when its own record has more or fewer cells than the
    header (the quote closed on the next line, at that line's first quote, merging two records).
    A cell's own line breaks (an address, a note) give neither. Checked per distinct value.
    """
    min_delimiters = max(1, (len(parsed.header) - 1) // 2)
    ragged = np.zeros(len(parsed.lines), dtype=bool)
    ragged[parsed.ragged] = True
    hits: list[tuple[int, int]] = []
    for position, column in enumerate(parsed.columns):
        multiline = _matches(column.dictionary, r"[\r\n]")
        if not multiline.any():
            continue
        holds_records = np.zeros(len(column.dictionary), dtype=bool)
        for i in np.flatnonzero(multiline):
            lines = _LINE_BREAK.split(column.dictionary[int(i)].as_py())[1:]
            holds_records[i] = any(line.count(",") >= min_delimiters for line in lines)
        swallowing = holds_records[column.indices] | (multiline[column.indices] & ragged)
        hits.extend((int(record), position) for record in np.flatnonzero(swallowing))
    return sorted(hits)


# One CSV cell as both parsers read it: quoted ("" is a quote; text after the closing quote is
# kept) or unquoted up to the next comma or line break.
_CELL = re.compile(rb'"[^"]*(?:""[^"]*)*"[^,\r\n]*|[^,\r\n]*')
_CELL_END = re.compile(rb"[,\r\n]")


def _opening_quote(data: bytes, record_start: int, position: int) -> int | None:
    """Byte offset of the quote opening cell ``position`` of the record starting at ``record_start``."""
    offset = record_start
    for _ in range(position):
        end = _CELL.match(data, offset).end()
        if data[end : end + 1] != b",":
            return None
        offset = end + 1
    return offset if data[offset : offset + 1] == b'"' else None


def _unclosed_quotes(data: bytes, parsed: _Parsed, swallowing: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """``(byte offset, line, column label)`` of the quote opening each record's first swallowing cell.

    Only the first per record: a record starts where the parse is in step with the file, so its
    cells up to that one are where the parse says; a later one may be an artefact of the text the
    first swallowed. A quote that cannot be located is left out.
    """
    line_starts = _physical_lines(data)[0]
    first_of_record: dict[int, int] = {}
    for record, position in swallowing:
        first_of_record.setdefault(record, position)
    located = []
    for record, position in first_of_record.items():
        line = int(parsed.lines[record])
        offset = _opening_quote(data, int(line_starts[line - 1]), position)
        if offset is not None:
            located.append((offset, line, parsed.header[position]))
    return located


def _quotes_as_characters(data: bytes, offsets: list[int]) -> bytes:
    """The bytes with the quote at each offset made a character of its cell, which ends on its line."""
    pieces, done = [], 0
    for offset in sorted(offsets):
        end = _CELL_END.search(data, offset + 1)
        stop = end.start() if end else len(data)
        pieces += [data[done:offset], b'"', data[offset:stop].replace(b'"', b'""'), b'"']
        done = stop
    pieces.append(data[done:])
    return b"".join(pieces)


#: Passes over a file repairing unclosed quotes (each pass repairs every one it can locate and
#: parses the file again); cells still swallowing lines after that are blanked and reported.
_MAX_QUOTE_PASSES = 10


def _read_csv(content: bytes, name: str, issues: list[FileIssue]) -> _RawTable:
    data = _gunzip(content) if name.lower().endswith(".gz") else content
    data, encoding = _decode(data, issues, name)
    cp1252 = encoding == "cp1252"
    if re.fullmatch(rb"\s*", data[:4096]) and re.fullmatch(rb"\s*", data):  # no copy of the bytes
        raise _Unreadable("has no header row (only blank lines)")
    header = _first_record(data)
    if cp1252 and not all(label.isascii() for label in header):
        # The header itself needs transcoding: transcode the whole file first.
        data, cp1252 = _cp1252_to_utf8(data), False
        header = _first_record(data)
    # An unclosed quote makes both parsers read the lines after it into one cell. Each pass finds
    # such cells, makes their quotes characters of their cells and parses the file again (the
    # quotes after a repaired one may pair up differently), until none is left: every line that is
    # a record is then read as one.
    repaired: list[tuple[int, str]] = []
    for attempt in range(_MAX_QUOTE_PASSES + 1):
        parsed, data, cp1252 = _parse(data, header, cp1252)
        # A quoted cell holding line breaks is the only way a file has more lines than records
        # (bar blank lines); only then is it worth looking for an unclosed quote.
        maybe = b'"' in data and parsed.n_lines > len(parsed.lines) + 1
        swallowing = _swallowing_cells(parsed) if maybe else []
        if not swallowing or attempt == _MAX_QUOTE_PASSES:
            break
        located = _unclosed_quotes(data, parsed, swallowing)
        if not located:
            break
        data = _quotes_as_characters(data, [offset for offset, _, _ in located])
        repaired.extend((line, label) for _, line, label in located)
    repaired.sort()
    header, lines = parsed.header, parsed.lines
    columns: list = list(parsed.columns)
    if repaired:
        (first_line, first_label), others = repaired[0], [line for line, _ in repaired[1:]]
        shown = ", ".join(str(line) for line in others[:5]) + (" ..." if len(others) > 5 else "")
        issues.append(
            FileIssue(
                "ragged_rows",
                f"{name}: row {first_line}, column '{first_label}': a quote opens the cell and is never "
                "closed (unbalanced quote); it was read as a character of that cell and every line after "
                "it as its own record"
                + (f" (also {_count(len(others), 'more unclosed quote')}: rows {shown})" if others else ""),
                count=len(repaired),
                rows=tuple(line for line, _ in repaired[:MAX_EXAMPLE_ROWS]),
            )
        )
    n_rows = len(lines)
    width = len(header)
    if len(parsed.ragged):
        ragged, counts = parsed.ragged, parsed.ragged_lengths
        shorter = int((counts < width).sum())
        examples = ", ".join(f"row {lines[i]} has {n}" for i, n in zip(ragged[:5], counts[:5], strict=True))
        last_truncated = ragged[-1] == n_rows - 1 and counts[-1] < width and not data.endswith((b"\n", b"\r"))
        issues.append(
            FileIssue(
                "ragged_rows",
                f"{name}: {_count(len(ragged), 'row')} without the header's {width} cells ({examples}); "
                f"{_count(shorter, 'short row')} padded with blanks, extra cells ignored"
                + ("; the last line looks truncated" if last_truncated else ""),
                count=len(ragged),
                rows=tuple(int(lines[i]) for i in ragged[:MAX_EXAMPLE_ROWS]),
            )
        )
    suspect = np.zeros(n_rows, dtype=bool)
    suspect[parsed.ragged] = True
    if swallowing:
        # More unclosed quotes than are repaired (or one that cannot be located): the swallowed
        # cells hold other records' values, personal data included, so they are blanked.
        rows = sorted({record for record, _ in swallowing})
        for position in sorted({p for _, p in swallowing}):
            mask = np.zeros(n_rows, dtype=bool)
            mask[[record for record, p in swallowing if p == position]] = True
            columns[position] = pc.if_else(pa.array(mask), "", columns[position].plain())
        suspect[rows] = True
        first_record, first_position = swallowing[0]
        issues.append(
            FileIssue(
                "ragged_rows",
                f"{name}: row {lines[first_record]}, column '{header[first_position]}': a quote is never "
                "closed, so the lines after it were read into that cell instead of as records "
                f"(unbalanced quote; {_count(len(rows), 'such cell')} blanked)",
                count=len(rows),
                rows=tuple(int(lines[r]) for r in rows[:MAX_EXAMPLE_ROWS]),
            )
        )
    return _RawTable(header, columns, lines.astype(np.int32), encoding, suspect)


def _excel_text(value: object) -> str:
    """Text of one xlsx cell as the template would show it (dates as dd/mm/yyyy)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


#: Excel's sheet limits: a cell beyond them is not in any sheet Excel could have written.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384


def _existing_cells(workbook, sheet):
    """``(row number, [(column, value), ...])`` for each row of the sheet that exists, with only
    the cells that exist.

    openpyxl's ``iter_rows`` pads every row to the sheet's declared width and yields every row up
    to its declared height, so one stray value at ``XFD1048576`` means 17 billion empty cells.
    Its sheet parser (the one ``iter_rows`` itself uses, with the same value conversions) yields
    only what the sheet's XML holds.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    with sheet._get_source() as source, warnings.catch_warnings():
        # openpyxl warns, quoting the value, about a date cell it cannot convert (read as #VALUE!).
        warnings.simplefilter("ignore")
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for row_number, cells in parser.parse():
            if row_number > EXCEL_MAX_ROWS:
                raise _Unreadable(
                    f"first sheet has a row {row_number:,}, beyond Excel's limit of {EXCEL_MAX_ROWS:,} rows"
                )
            yield row_number, [(cell["column"], cell["value"]) for cell in cells if cell["value"] is not None]


def _read_xlsx(path: Path, name: str, issues: list[FileIssue]) -> _RawTable:
    import openpyxl  # only xlsx submissions pay for the import

    try:
        # data_only=False: a formula cell comes back as its formula text ("=A1"), which is flagged,
        # never a value some spreadsheet program computed.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # noqa: BLE001 - any failure to open means unreadable
        raise _Unreadable(f"is not a readable .xlsx workbook ({type(error).__name__})") from error
    body: list[list[str]] = []
    row_numbers: list[int] = []
    beyond: list[int] = []  # rows with cells right of the header
    only_beyond: list[int] = []  # ... and nothing within it: not records
    try:
        if not workbook.worksheets:
            raise _Unreadable("workbook has no worksheet")
        rows = _existing_cells(workbook, workbook.worksheets[0])
        try:
            first = next((row for row in rows if row[1]), None)
            if first is None:
                raise _Unreadable("first sheet is empty")
            if first[0] != 1:
                raise _Unreadable("first sheet has no header in row 1")
            labels = {column: _excel_text(value) for column, value in first[1]}
            labels = {column: text for column, text in labels.items() if text}
            width = max(labels, default=0)
            if width > EXCEL_MAX_COLUMNS:
                raise _Unreadable(f"first sheet's header goes beyond Excel's limit of {EXCEL_MAX_COLUMNS:,} columns")
            header = [labels.get(column, "") for column in range(1, width + 1)]
            for sheet_row, cells in rows:
                texts = [""] * width
                outside = False
                for column, value in cells:
                    if column > width:
                        if column > EXCEL_MAX_COLUMNS:
                            raise _Unreadable(
                                f"first sheet has a cell in row {sheet_row:,} beyond Excel's limit of "
                                f"{EXCEL_MAX_COLUMNS:,} columns"
                            )
                        outside = outside or _excel_text(value) != ""
                    else:
                        texts[column - 1] = _excel_text(value)
                if any(texts):
                    body.append(texts)
                    row_numbers.append(sheet_row)
                    if outside:
                        beyond.append(sheet_row)
                elif outside:
                    only_beyond.append(sheet_row)
        except _Unreadable:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged sheet part
            raise _Unreadable(f"first sheet cannot be read ({type(error).__name__})") from error
    finally:
        workbook.close()
    if beyond or only_beyond:
        ragged = sorted(beyond + only_beyond)
        issues.append(
            FileIssue(
                "ragged_rows",
                f"{name}: {_count(len(ragged), 'row')} with cells beyond the header's {width} columns "
                f"(first: row {ragged[0]}); those cells were ignored"
                + (
                    f"; {_count(len(only_beyond), 'row')} with nothing else (first: row {only_beyond[0]}) "
                    "not read as records"
                    if only_beyond
                    else ""
                ),
                count=len(ragged),
                rows=tuple(ragged[:MAX_EXAMPLE_ROWS]),
            )
        )
    columns = (
        [pa.array(cells, type=pa.string()) for cells in zip(*body, strict=True)]
        if body
        else [pa.array([], type=pa.string()) for _ in header]
    )
    return _RawTable(header, columns, np.asarray(row_numbers, dtype=np.int32), None)


# ---------------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------------


def _delimiter_hint(header: list[str]) -> str:
    if len(header) != 1:
        return ""
    for delimiter, shown in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        if header[0].count(delimiter) >= 2:
            return f" (the delimiter looks like {shown}, not a comma)"
    return ""


def _match_header(
    header: list[str], spec: Spec, name: str, issues: list[FileIssue]
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Field name -> first column index, and the indexes of every field seen more than once.

    Loose, extra and missing labels are reported here; duplicated fields by
    :func:`_merge_duplicate_columns`, which compares their values.
    """
    matched: dict[str, int] = {}
    extra: list[str] = []
    duplicates: dict[str, list[int]] = {}
    for index, label in enumerate(header):
        spec_field = spec.by_label.get(label)
        loose = False
        if spec_field is None:
            spec_field = spec.by_loose_label.get(normalise_label(label))
            loose = spec_field is not None
        if spec_field is None:
            extra.append(label)
            continue
        if spec_field.name in matched:
            duplicates.setdefault(spec_field.name, [matched[spec_field.name]]).append(index)
            continue
        matched[spec_field.name] = index
        if loose:
            issues.append(
                FileIssue(
                    "loose_label",
                    f"{name}: column {index + 1} label '{label}' read as '{spec_field.label}' "
                    "(differs in case, spaces or underscores)",
                    field=spec_field.name,
                    count=1,
                )
            )
    if extra:
        if matched:
            shown = ", ".join(f"'{label[:60]}'" if label else "(unnamed)" for label in extra[:10])
            more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
            text = f"{_count(len(extra), 'unrecognised column')} ignored: {shown}{more}"
        else:
            # Nothing matched: the "header" may be a data row, so its cells are not repeated here.
            text = f"none of the {len(extra)} header cells is a Release 1 label (is the header row missing?)"
        issues.append(FileIssue("extra_columns", f"{name}: {text}", count=len(extra)))
    missing = [f for f in spec.fields if f.name not in matched]
    if missing:
        shown = ", ".join(f"'{f.label}'" for f in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        issues.append(
            FileIssue(
                "missing_columns",
                f"{name}: {_count(len(missing), 'Release 1 column')} missing: {shown}{more}{_delimiter_hint(header)}",
                field=missing[0].name if len(missing) == 1 else None,
                count=len(missing),
                fields=tuple(f.name for f in missing),
            )
        )
    return matched, duplicates


def _rows_text(rows: np.ndarray, row_numbers: np.ndarray) -> str:
    """``"rows 4, 7, 9 ..."``: up to five example rows."""
    shown = ", ".join(str(int(r)) for r in row_numbers[rows[:5]])
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{' ...' if len(rows) > 5 else ''}"


def _merge_duplicate_columns(
    raw: _RawTable, duplicates: dict[str, list[int]], spec: Spec, name: str, issues: list[FileIssue]
) -> dict[str, pa.Array]:
    """One column per duplicated field, from its copies compared row by row (vectorised).

    Copies equal on every row (after trimming spaces): the first, with a ``duplicate_columns``
    warning. Copies that differ only where one is blank: per row the first non-blank value, with
    a ``duplicate_columns`` warning saying so (a blank first copy must not blank the field). Two
    different non-blank values on any row: ``duplicate_columns_disagree``, naming the columns and
    example rows (which copy is right cannot be told); the first non-blank value is read, for the
    data quality report. Messages hold column numbers and rows, never a value.
    """
    merged: dict[str, pa.Array] = {}
    n_rows = len(raw.row_numbers)
    for field_name, indexes in duplicates.items():
        label = spec.by_name[field_name].label
        where = f"'{label}' appears in columns {', '.join(str(i + 1) for i in indexes)}"
        copies = []
        for index in indexes:
            column = raw.columns[index]
            text = column.plain() if isinstance(column, _Encoded) else column
            if isinstance(text, pa.ChunkedArray):
                text = text.combine_chunks()
            trimmed = pc.utf8_trim_whitespace(text)
            copies.append((text, trimmed, pc.equal(trimmed, "").to_numpy(zero_copy_only=False)))
        value, value_trimmed, value_blank = copies[0]
        disagree = np.zeros(n_rows, dtype=bool)
        blank_in_one = np.zeros(n_rows, dtype=bool)
        for text, trimmed, blank in copies[1:]:
            equal = pc.equal(value_trimmed, trimmed).to_numpy(zero_copy_only=False)
            disagree |= ~value_blank & ~blank & ~equal
            blank_in_one |= value_blank != blank
            fill = value_blank & ~blank
            if fill.any():
                mask = pa.array(fill)
                value = pc.if_else(mask, text, value)
                value_trimmed = pc.if_else(mask, trimmed, value_trimmed)
                value_blank = value_blank & ~fill
        merged[field_name] = value
        if disagree.any() or blank_in_one.any():
            rows = np.flatnonzero(disagree if disagree.any() else blank_in_one)
            shown = f"{_count(len(rows), 'row')} ({_rows_text(rows, raw.row_numbers)})"
            examples = tuple(int(r) for r in raw.row_numbers[rows[:MAX_EXAMPLE_ROWS]])
        if disagree.any():
            issues.append(
                FileIssue(
                    "duplicate_columns_disagree",
                    f"{name}: {where} with different values on {shown}; which copy is right cannot be told: "
                    "send one column or copies that agree",
                    field=field_name,
                    count=len(rows),
                    rows=examples,
                )
            )
        elif blank_in_one.any():
            issues.append(
                FileIssue(
                    "duplicate_columns",
                    f"{name}: {where}; on {shown} one copy is blank where another has a value: the non-blank "
                    "value is used on every row",
                    field=field_name,
                    count=len(indexes),
                    rows=examples,
                )
            )
        else:
            issues.append(
                FileIssue(
                    "duplicate_columns",
                    f"{name}: {where} with the same values; the first (column {indexes[0] + 1}) is used",
                    field=field_name,
                    count=len(indexes),
                )
            )
    return merged


# ---------------------------------------------------------------------------------------------
# Values: every check runs on the distinct values of a column, then spreads to the rows
# ---------------------------------------------------------------------------------------------


@dataclass
class _Column:
    """One field read from the file: distinct values, their statuses, and the row -> distinct map."""

    distinct: pa.Array  # stripped text of each distinct value as sent (may repeat after stripping)
    indices: np.ndarray  # per row, index into ``distinct``
    distinct_status: np.ndarray  # int8 per distinct value
    padded: np.ndarray | None = None  # per distinct value: had spaces around it as sent

    @property
    def status(self) -> np.ndarray:
        return self.distinct_status[self.indices]

    def usable(self) -> np.ndarray:
        """Per distinct value: VALID or VALID_LOOSE."""
        return (self.distinct_status == ValueStatus.VALID) | (self.distinct_status == ValueStatus.VALID_LOOSE)


def _matches(values: pa.Array, pattern: str, ignore_case: bool = False) -> np.ndarray:
    found = pc.match_substring_regex(values, pattern, ignore_case=ignore_case)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _dictionary_encode(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct values and, per row, the index of its value (one hash pass, no per-row Python)."""
    encoded = column.dictionary_encode()
    if isinstance(encoded, pa.DictionaryArray):
        return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.num_chunks == 0:
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int32)
    # Chunks of one dictionary_encode share the final dictionary; unify only if they do not.
    last = encoded.chunk(encoded.num_chunks - 1).dictionary
    if not all(chunk.dictionary.equals(last) for chunk in encoded.chunks):
        encoded = encoded.unify_dictionaries()
        last = encoded.chunk(0).dictionary
    indices = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    return last, indices


def _encode(column: pa.Array | pa.ChunkedArray) -> _Column:
    """Strip, dictionary-encode, and mark blanks and formula-looking values.

    Values are encoded before stripping and stripped as distinct values (far fewer than cells).
    Values equal only after stripping are deliberately not merged: a code matched only after
    trimming spaces is a warning (docs/methodology.md section 3), so each keeps its own status.
    """
    if isinstance(column, _Encoded):
        raw_distinct, indices = column.dictionary, column.indices
    else:
        raw_distinct, indices = _dictionary_encode(column)
    distinct = pc.utf8_trim_whitespace(raw_distinct)
    padded = pc.not_equal(distinct, raw_distinct).to_numpy(zero_copy_only=False)
    status = np.full(len(distinct), ValueStatus.INVALID, dtype=np.int8)
    status[pc.equal(distinct, "").to_numpy(zero_copy_only=False)] = ValueStatus.BLANK
    formula = _matches(distinct, _FORMULA_START) & ~_matches(distinct, _NUMBER)
    status[formula] = ValueStatus.FORMULA
    return _Column(distinct, indices, status, padded)


def _check(column: _Column, valid: np.ndarray, loose: np.ndarray | None = None) -> None:
    """Set VALID / VALID_LOOSE on distinct values that are neither blank nor formulas."""
    open_ = column.distinct_status == ValueStatus.INVALID
    if loose is not None:
        column.distinct_status[open_ & loose] = ValueStatus.VALID_LOOSE
    column.distinct_status[open_ & valid] = ValueStatus.VALID


def _loose_code_key(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().casefold()


@functools.cache
def _code_lookups(field_name: str) -> tuple[dict[str, int], dict[str, int]]:
    """Exact and loose look-ups (value -> position in the code list) of one code field."""
    spec_field = load_spec().by_name[field_name]
    exact = {value: i for i, value in enumerate(spec_field.code_list)}
    loose = {_loose_code_key(value): i for i, value in enumerate(spec_field.code_list)}
    for alternative, canonical in spec_field.alternative_spellings.items():
        loose.setdefault(_loose_code_key(alternative), exact[canonical])
    return exact, loose


def _type_code(spec_field: Field, column: _Column) -> pd.Categorical:
    exact, loose = _code_lookups(spec_field.name)
    distinct = column.distinct.to_pylist()
    codes = np.full(len(distinct), -1, dtype=np.int16)
    is_exact = np.zeros(len(distinct), dtype=bool)
    is_loose = np.zeros(len(distinct), dtype=bool)
    for i, value in enumerate(distinct):
        position = exact.get(value)
        if position is not None:
            codes[i], is_exact[i] = position, True
            continue
        position = loose.get(_loose_code_key(value))
        if position is not None:
            codes[i], is_loose[i] = position, True
    if column.padded is not None:
        # exact only once the surrounding spaces are trimmed: accepted with a warning
        is_loose |= is_exact & column.padded
        is_exact &= ~column.padded
    _check(column, is_exact, is_loose)
    codes[~column.usable()] = -1
    # A cached dtype and validate=False: checking the categories again cost ~10 ms per file.
    return pd.Categorical.from_codes(codes[column.indices], dtype=_code_dtype(spec_field.code_list), validate=False)


@functools.cache
def _code_dtype(code_list: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of a code field (built once per code list)."""
    return pd.CategoricalDtype(list(code_list))


@functools.cache
def _council_codes() -> frozenset[str]:
    from cldstats.reference.lists import council_codes

    return frozenset(council_codes())


def _type_la_code(column: _Column) -> pa.Array:
    upper = pc.utf8_upper(column.distinct)
    councils = pa.array(sorted(_council_codes()), type=pa.string())
    exact = pc.fill_null(pc.is_in(column.distinct, value_set=councils), False).to_numpy(zero_copy_only=False)
    loose = pc.fill_null(pc.is_in(upper, value_set=councils), False).to_numpy(zero_copy_only=False)
    if column.padded is not None:
        exact = exact & ~column.padded
    _check(column, exact, loose)
    # Loosely matched codes are kept in canonical (upper) case; unknown codes are kept for the
    # quality module's "LA code not one of the 153" and "not the file name's" checks: as sent when
    # they cannot be personal data, else by their shape (an NHS number typed here is "(10 digits)").
    invalid = column.distinct_status == ValueStatus.INVALID
    sent = column.distinct
    if invalid.any():
        sent = pc.if_else(pa.array(invalid), pa.array(_shown_distinct(column, "LA_Code"), type=pa.string()), sent)
    keep = (column.distinct_status == ValueStatus.VALID) | invalid
    values = pc.if_else(pa.array(column.distinct_status == ValueStatus.VALID_LOOSE), upper, sent)
    return pc.if_else(pa.array(keep | (column.distinct_status == ValueStatus.VALID_LOOSE)), values, None)


def _type_date(column: _Column) -> np.ndarray:
    """Per distinct value: datetime64[s] (NaT unless a valid d/m/yyyy date); sets statuses."""
    parts = pc.extract_regex(column.distinct, _DMY_DATE)
    shaped = parts.is_valid().to_numpy(zero_copy_only=False)
    shaped_mask = pa.array(shaped)

    def part(label: str) -> np.ndarray:
        # Values that did not match hold no digits: substitute "1" before the cast.
        digits = pc.if_else(shaped_mask, pc.struct_field(parts, label), "1")
        return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)

    day, month, year = part("day"), part("month"), part("year")
    plausible = shaped & (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1)
    month_start = (
        (np.where(plausible, year, 1970) - 1970).astype("timedelta64[Y]") + np.datetime64("1970", "Y")
    ).astype("datetime64[M]") + (np.where(plausible, month, 1) - 1).astype("timedelta64[M]")
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    valid = plausible & (day <= days_in_month)
    dates = month_start.astype("datetime64[D]") + (np.where(valid, day, 1) - 1).astype("timedelta64[D]")
    dates = dates.astype("datetime64[s]")
    dates[~valid] = np.datetime64("NaT")
    _check(column, valid)
    still_invalid = column.distinct_status == ValueStatus.INVALID
    column.distinct_status[still_invalid & _matches(column.distinct, _ISO_DATE)] = ValueStatus.INVALID_ISO_DATE
    column.distinct_status[still_invalid & _matches(column.distinct, _EXCEL_SERIAL)] = (
        ValueStatus.INVALID_EXCEL_SERIAL
    )
    dates[~column.usable()] = np.datetime64("NaT")
    return dates


def _type_number(column: _Column, integer: bool) -> pd.api.extensions.ExtensionArray | np.ndarray:
    shaped = _matches(column.distinct, _INTEGER if integer else _NUMBER)
    values = np.full(len(column.distinct), np.nan)
    if shaped.any():
        values[shaped] = pc.cast(column.distinct.filter(pa.array(shaped)), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    valid = shaped & (np.abs(values) < 2**31 if integer else np.isfinite(values))
    _check(column, valid)
    values[~column.usable()] = np.nan
    return values


def _type_field(spec_field: Field, column: _Column, placeholders: tuple[str, ...] = ()) -> pd.Series | None:
    """Typed per-row values of one field (None for fields ingest does not type here).

    ``placeholders`` are the listed placeholder NHS numbers (invalid, as ten equal digits are).
    """
    kind = spec_field.kind
    if kind == "code":
        return pd.Series(_type_code(spec_field, column))
    if kind == "la_code":
        distinct = _type_la_code(column)
        return pd.Series(pd.array(distinct.take(pa.array(column.indices)), dtype="string"))
    if kind == "date":
        return pd.Series(_type_date(column)[column.indices])
    if kind in ("number", "integer"):
        values = _type_number(column, kind == "integer")[column.indices]
        if kind == "integer":
            return pd.Series(pd.array(values, dtype="Float64").astype("Int32"))
        return pd.Series(values, dtype="float64")
    if kind == "nhs_number":
        valid = nhs_number_valid(pd.Series(pd.array(column.distinct, dtype="string")), placeholders)
        _check(column, valid)
        return None
    if kind == "postcode":
        _check(column, _matches(column.distinct, _POSTCODE, ignore_case=True))
        return None
    # ods_code, cqc_id, identifier, text: kept as stripped text, missing when blank or a formula
    if kind == "ods_code":
        _check(column, _matches(column.distinct, _ODS_CODE))
        return _kept_text(column, valid_only=True)
    if kind == "cqc_id":
        _check(column, _matches(column.distinct, _CQC_ID))
        return _kept_text(column, valid_only=True)
    _check(column, np.ones(len(column.distinct), dtype=bool))
    return _kept_text(column)


def _kept_text(column: _Column, valid_only: bool = False) -> pd.Series:
    """Stripped text per row; missing when blank or a formula (or, if ``valid_only``, invalid).

    A GP practice code or CQC ID that is not of its format is not kept: it may be another
    column's (personal) value typed into the wrong cell.
    """
    if valid_only:
        keep = pa.array(column.usable())
    else:
        keep = pa.array(
            (column.distinct_status != ValueStatus.BLANK) & (column.distinct_status != ValueStatus.FORMULA)
        )
    distinct = pc.if_else(keep, column.distinct, pa.scalar(None, pa.string()))
    return pd.Series(pd.array(distinct.take(pa.array(column.indices)), dtype="string"))


def _kept_distinct(column: _Column) -> pa.Array:
    """Distinct stripped values, null when blank or a formula (what ``_kept_text`` keeps)."""
    keep = (column.distinct_status != ValueStatus.BLANK) & (column.distinct_status != ValueStatus.FORMULA)
    return pc.if_else(pa.array(keep), column.distinct, pa.scalar(None, pa.string()))


def _blank_column(n_rows: int) -> _Column:
    return _Column(
        pa.array([""], type=pa.string()),
        np.zeros(n_rows, dtype=np.int32),
        np.array([ValueStatus.BLANK], dtype=np.int8),
    )


def _formula_issues(
    status: dict[str, np.ndarray], row_numbers: np.ndarray, spec: Spec, name: str
) -> list[FileIssue]:
    issues = []
    for spec_field in spec.fields:
        rows = row_numbers[status[spec_field.name] == ValueStatus.FORMULA]
        if len(rows):
            shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
            issues.append(
                FileIssue(
                    "formula_cells",
                    f"{name}: {_count(len(rows), 'cell')} in '{spec_field.label}' starting with =, +, - or @ "
                    f"(spreadsheet formula; never evaluated, read as invalid), rows {shown}",
                    field=spec_field.name,
                    count=len(rows),
                    rows=tuple(int(r) for r in rows[:MAX_EXAMPLE_ROWS]),
                )
            )
    return issues


# Shapes of values that may be personal data (checked on distinct invalid values only).
_POSTCODE_LIKE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"[0-9]{1,4}\s*[/.-]\s*[0-9]{1,2}\s*[/.-]\s*[0-9]{1,4}")
_DIGITS_LIKE = re.compile(r"^[0-9][0-9\s-]*$")
_WORDS_LIKE = re.compile(r"^[^\W\d_]+(?:[\s'.-]+[^\W\d_]+)*$")  # letters only: a name, or words
_GSS_CODE = re.compile(r"^[EWSN][0-9]{8}$", re.IGNORECASE)
#: difflib ratio from which an invalid value is a near miss of a code (``Femal``: 0.91).
_NEAR_MISS_RATIO = 0.88
#: At most this many letters and digits: too short to be a name, an ID or a date (``F``, ``N/A``, ``99``).
_SHORT_VALUE_MAX = 3


def _value_shape(value: str) -> str:
    """What a value looks like, without the value: ``10 digits``, ``postcode-like``, ``text, 7 letters``."""
    if _POSTCODE_LIKE.match(value):
        return "postcode-like"
    if _DATE_LIKE.search(value):
        return "date-like"
    digits = sum(ch.isdigit() for ch in value)
    if _DIGITS_LIKE.match(value):
        return _count(digits, "digit")
    if _WORDS_LIKE.match(value):
        return f"text, {_count(sum(ch.isalpha() for ch in value), 'letter')}"
    return f"text, {_count(len(value), 'character')}"


def _shown_value(value: str, codes: tuple[str, ...], is_la_code: bool) -> str:
    """An invalid code value as the council report may show it: itself when it cannot be personal
    data, else its shape in brackets.

    Shown as sent: a near miss of one of ``codes`` (``Femal``, ``E0600001``), a GSS-shaped code in
    the LA code field, or a value of at most three letters and three digits that is not a word
    (``F``, ``N/A``, ``99``). Never: a postcode, date or digit string (NHS number, LA person ID),
    however near a code. Everything else (a name, a person ID) is shown as ``(text, 7 letters)``.
    """
    if _POSTCODE_LIKE.match(value) or _DATE_LIKE.search(value):
        return f"({_value_shape(value)})"
    digits_only = _DIGITS_LIKE.match(value) is not None
    if not digits_only and difflib.get_close_matches(value.casefold(), codes, n=1, cutoff=_NEAR_MISS_RATIO):
        return value
    if is_la_code and _GSS_CODE.match(value):
        return value
    letters = sum(ch.isalpha() for ch in value)
    digits = sum(ch.isdigit() for ch in value)
    word = letters >= 2 and _WORDS_LIKE.match(value) is not None
    if letters <= _SHORT_VALUE_MAX and digits <= _SHORT_VALUE_MAX and len(value) <= 4 * _SHORT_VALUE_MAX and not word:
        return value
    return f"({_value_shape(value)})"


@functools.cache
def _near_miss_codes(field_name: str) -> tuple[str, ...]:
    """Codes an invalid value of the field is compared with, case-folded (LA code: the councils)."""
    spec_field = load_spec().by_name[field_name]
    if spec_field.kind == "la_code":
        return tuple(sorted(code.casefold() for code in _council_codes()))
    return tuple(code.casefold() for code in spec_field.code_list)


def _shown_distinct(column: _Column, field_name: str) -> np.ndarray:
    """Per distinct value of a code or LA code field: :func:`_shown_value` of each invalid one
    (None for the others)."""
    codes = _near_miss_codes(field_name)
    is_la_code = field_name == "LA_Code"
    positions = np.flatnonzero(column.distinct_status == ValueStatus.INVALID)
    shown = np.full(len(column.distinct), None, dtype=object)
    shown[positions] = [
        _shown_value(value, codes, is_la_code) for value in column.distinct.take(pa.array(positions)).to_pylist()
    ]
    return shown


def _invalid_values(
    columns: dict[str, _Column], row_numbers: np.ndarray, suspect: np.ndarray, spec: Spec
) -> pd.DataFrame:
    """Invalid values of the non-personal code fields (code lists and LA code), row by row.

    The council's report shows them, so each distinct value is shown only when it cannot be
    personal data (a name typed into ``Gender``, an NHS number into ``LA Code``): see
    :func:`_shown_value`. Suspect (ragged) rows are left out: their cells may hold values of
    other, personal, columns.
    """
    parts = []
    for spec_field in spec.of_kind("code", "la_code"):
        column = columns[spec_field.name]
        invalid_distinct = column.distinct_status == ValueStatus.INVALID
        if not invalid_distinct.any():
            continue
        rows = np.flatnonzero(invalid_distinct[column.indices] & ~suspect)
        if not len(rows):
            continue
        shown = _shown_distinct(column, spec_field.name)
        parts.append(
            pd.DataFrame(
                {
                    "row_number": row_numbers[rows].astype(np.int32),
                    "field": pd.Series([spec_field.name] * len(rows), dtype="string"),
                    "value": pd.array(shown[column.indices[rows]], dtype="string"),
                }
            )
        )
    if not parts:
        return _empty_invalid_values()
    return pd.concat(parts, ignore_index=True).sort_values(["row_number", "field"], ignore_index=True)


def _la_id_hashes(
    column: _Column, ids: pd.Series, row_la_codes: pd.Series, file_la_code: str | None, key: PseudonymKey
) -> tuple[pa.Array, pa.Array]:
    """``hash("LA:" + LA code + ":" + ID)`` of an LA identifier field: the distinct hashes and, per
    row, the index of its hash (null when the ID is blank).

    The LA code is the file name's (``file_la_code``); when the name does not parse, each row's
    typed ``LA Code`` (``row_la_codes``), so the distinct texts hashed are those of code and ID
    (``ids``, the field's typed values) together.
    """
    if file_la_code:
        return _hash_distinct(key, f"LA:{file_la_code}:", _kept_distinct(column)), pa.array(column.indices)
    messages = _as_arrow_text(row_la_codes.fillna("") + ":" + ids).dictionary_encode()
    return _hash_distinct(key, "LA:", messages.dictionary), messages.indices


def _key_series(keys: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Person keys as an ``Int64`` Series, exactly (``pd.array(keys, dtype="Int64")`` goes through
    float64 when there are nulls, and 64-bit keys do not survive that)."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    values = pc.fill_null(keys, 0).to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(values, keys.is_null().to_numpy(zero_copy_only=False)))


#: The records column holding the submitted ``Assessment Type`` text (as safe to keep, see
#: :func:`_submitted_assessment_type`); the method tests it, not the code-list value.
SUBMITTED_ASSESSMENT_TYPE = "Assessment_Type_submitted"


def _submitted_assessment_type(column: _Column, spec_field: Field, financial_assessment_prefix: str) -> pd.Series:
    """The submitted ``Assessment Type`` per row, trimmed, as far as it is safe to keep.

    Measure 2 tests the value as submitted (does it begin with params
    ``method.financial_assessment_prefix``, in any case: docs/methodology.md section 5), whatever
    the code list says, so a value outside the code list must reach the method too. A value that
    is, case-folded, a code-list value or the prefix is kept as sent (trimmed). One that begins
    with one of them and goes on keeps that beginning as sent and the rest only as its shape
    (``Financial Assessment - Mr Smith`` -> ``Financial Assessment (text, 10 characters)``): the
    method reads the beginning, and the rest could be a name. Any other text is replaced by its
    shape (``(text, 7 letters)``), which begins with neither. Blank is missing. Decided once per
    distinct value.
    """
    # Longest first, so that "Financial Assessment - Review" is matched whole, not as the prefix.
    starts = sorted({*spec_field.code_list, financial_assessment_prefix}, key=len, reverse=True)
    folded = [start.casefold() for start in starts]

    def kept(value: str | None) -> str | None:
        if not value:
            return None
        for start in folded:
            if value[: len(start)].casefold() == start:
                beginning, rest = value[: len(start)], value[len(start) :].strip()
                return beginning if not rest else f"{beginning} ({_value_shape(rest)})"
        return f"({_value_shape(value)})"

    distinct = [kept(value) for value in column.distinct.to_pylist()]
    return _string_series(pa.array(distinct, type=pa.string()).take(pa.array(column.indices)))


def _build(
    raw: _RawTable,
    file_la_code: str | None,
    key: PseudonymKey,
    name: str,
    issues: list[FileIssue],
    placeholders: tuple[str, ...],
    financial_assessment_prefix: str,
):
    """Typed records, status frame and invalid values from the text cells."""
    spec = load_spec()
    n_rows = len(raw.row_numbers)
    matched, duplicates = _match_header(raw.header, spec, name, issues)
    merged = _merge_duplicate_columns(raw, duplicates, spec, name, issues)
    if n_rows == 0:
        issues.append(FileIssue("no_rows", f"{name}: header only, no data rows"))

    def read_field(spec_field: Field) -> tuple[_Column, pd.Series | None]:
        index = matched.get(spec_field.name)
        if spec_field.name in merged:
            column = _encode(merged[spec_field.name])
        else:
            column = _encode(raw.columns[index]) if index is not None else _blank_column(n_rows)
        return column, _type_field(spec_field, column, placeholders)

    # Arrow kernels release the GIL, so the fields of a big file are read in parallel threads; for
    # a small file starting the pool costs more than it saves (measured: ~30 ms per file).
    if n_rows >= _THREADED_MIN_ROWS and _WORKERS > 1:
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            results = list(pool.map(read_field, spec.fields))
    else:
        results = [read_field(spec_field) for spec_field in spec.fields]
    columns = {f.name: column for f, (column, _) in zip(spec.fields, results, strict=False)}
    typed = {f.name: values for f, (_, values) in zip(spec.fields, results, strict=False)}
    status = {name_: column.status for name_, column in columns.items()}
    issues.extend(_formula_issues(status, raw.row_numbers, spec, name))

    # Pseudonymisation. The LA code in the hash is the file name's when it parses, so the same
    # person keeps the same ID in every file of that LA even when a row's LA Code is mistyped.
    # Hashes are computed per distinct value and spread to the rows; the person keys are read off
    # the distinct hashes. The method's SQL applies the person ID precedence to the two keys.
    pseudonymise_started = time.perf_counter(), time.process_time()
    la_id_hashes = {
        spec_field.name: _la_id_hashes(
            columns[spec_field.name], typed[spec_field.name], typed["LA_Code"], file_la_code, key
        )
        for spec_field in spec.fields
        if spec_field.handling == "pseudonymise" and spec_field.kind == "identifier"
    }
    nhs_column = columns["NHS_Number"]
    nhs_number_key = nhs_number_keys(_kept_distinct(nhs_column), key, placeholders).take(pa.array(nhs_column.indices))
    la_hashes, la_indices = la_id_hashes["LA_Person_Unique_Identifier"]
    la_person_key = keys_of_hashes(la_hashes).take(la_indices)
    shared_issue = _shared_nhs_number_issue(
        nhs_column, columns["LA_Person_Unique_Identifier"], typed["Date_of_Birth"], placeholders, raw.row_numbers, name
    )
    if shared_issue is not None:
        issues.append(shared_issue)
    pseudonymise_seconds = (
        time.perf_counter() - pseudonymise_started[0], time.process_time() - pseudonymise_started[1]
    )

    records: dict[str, object] = {
        "row_number": pd.Series(raw.row_numbers, dtype="int32"),
        "nhs_number_key": _key_series(nhs_number_key),
        "la_person_key": _key_series(la_person_key),
    }
    birth = typed["Date_of_Birth"]
    records["birth_year"] = pd.Series(birth.dt.year, dtype="Int16")
    records["birth_month"] = pd.Series(birth.dt.month, dtype="Int8")
    for spec_field in spec.fields:
        if spec_field.handling == "keep":
            records[spec_field.name] = typed[spec_field.name]
        elif spec_field.name in la_id_hashes:
            hashes, indices = la_id_hashes[spec_field.name]
            records[spec_field.name] = _string_series(hashes.take(indices))
        if spec_field.name == "Assessment_Type":
            records[SUBMITTED_ASSESSMENT_TYPE] = _submitted_assessment_type(
                columns[spec_field.name], spec_field, financial_assessment_prefix
            )
    suspect = raw.suspect if raw.suspect is not None else np.zeros(n_rows, dtype=bool)
    if suspect.any():
        # Free text in a row whose cells may be displaced could be a name or a postcode.
        masked = [f.name for f in spec.of_kind("la_code", "identifier", "text") if f.handling == "keep"]
        for column_name in [*masked, SUBMITTED_ASSESSMENT_TYPE]:
            records[column_name] = records[column_name].mask(suspect)
    frame = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in records.items()})
    status_frame = pd.DataFrame(status, index=frame.index)
    return frame, status_frame, _invalid_values(columns, raw.row_numbers, suspect, spec), pseudonymise_seconds


def _shared_nhs_number_issue(
    nhs_column: _Column,
    la_id_column: _Column,
    birth_dates: pd.Series,
    placeholders: tuple[str, ...],
    row_numbers: np.ndarray,
    name: str,
) -> FileIssue | None:
    """``nhs_number_shared``: valid NHS numbers given with several birth dates (count and rows only)."""
    numbers, rows = shared_nhs_number_rows(
        _kept_distinct(nhs_column),
        nhs_column.indices,
        _kept_distinct(la_id_column),
        la_id_column.indices,
        birth_dates.to_numpy(),
        placeholders,
    )
    if not numbers:
        return None
    flagged = np.flatnonzero(rows)
    return FileIssue(
        "nhs_number_shared",
        f"{name}: {_count(numbers, 'NHS number')} each given with different dates of birth "
        f"(or different LA person IDs and dates of birth) on {_count(len(flagged), 'row')} "
        f"({_rows_text(flagged, row_numbers)}): one number for several people (a placeholder or a typing "
        "error?); the rows of each number are read as one person",
        field="NHS_Number",
        count=len(flagged),
        rows=tuple(int(r) for r in row_numbers[flagged[:MAX_EXAMPLE_ROWS]]),
    )


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


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
    if not _FILE_NAME.match(name) or submitted_at is None:
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
                raw = _read_xlsx(path, name, issues)
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
                raw = _read_csv(content, name, issues)
            except Exception as error:  # noqa: BLE001 - sorted out below
                failure = error
            del content
    if raw is None:
        submission = _reject(submission, failure)
    else:
        submission.encoding = raw.encoding
        submission.rows_read = len(raw.row_numbers)
        submission.records, submission.status, submission.invalid_values, pseudonymise_seconds = _build(
            raw, la_code, key, name, issues, tuple(str(number) for number in placeholder_nhs_numbers),
            financial_assessment_prefix,
        )
        submission.timings["pseudonymise"] = pseudonymise_seconds
    submission.timings["read"] = (time.perf_counter() - started[0], time.process_time() - started[1])
    return submission


def _reject(submission: Submission, error: BaseException) -> Submission:
    """The Submission of a file that could not be read; unexpected errors are re-raised (bugs)."""
    name = submission.file_name
    if isinstance(error, _Unreadable):
        reason = str(error)
    elif isinstance(error, OSError):
        reason = f"cannot be opened ({error.strerror or type(error).__name__})"
    elif isinstance(error, MemoryError):
        reason = "too large to read in the memory available"
    else:
        raise error
    submission.issues.append(FileIssue("unreadable", f"{name}: {reason}"))
    return submission
