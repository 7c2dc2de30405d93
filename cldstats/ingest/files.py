"""Submission files on disk: their names (LA code and submission time), the submissions folder and
the kind of each entry in it, the digest of a file, and the synthetic-data marker of a data folder.

Nothing here opens a submission: a folder entry is classified by ``stat`` alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cldstats.core.errors import CldstatsError

SUBMISSION_SUFFIXES = (".csv", ".csv.gz", ".xlsx")
#: A submission's file name: ``<LA code>_<YYYYMMDDTHHMMSS>.csv`` (or ``.csv.gz``, ``.xlsx``), any case.
FILE_NAME_PATTERN = re.compile(r"^(?P<la>[EWSN]\d{8})_(?P<time>\d{8}T\d{6})\.(?:csv|csv\.gz|xlsx)$", re.IGNORECASE)
_LA_PREFIX = re.compile(r"^(?P<la>[EWSN]\d{8})_", re.IGNORECASE)


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
    full = FILE_NAME_PATTERN.match(name)
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
        """True for a regular file with a submission suffix (read by :func:`~cldstats.ingest.read_submission`)."""
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


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB blocks (the one digest function of cldstats)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
