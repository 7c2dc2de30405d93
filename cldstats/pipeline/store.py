"""The submission store: every submission ingested and validated once, kept as typed Parquet.

Submissions are append-only and never change, so reading, pseudonymising and validating a file is
done once: a run looks each file of the month's window up in the store by what would change its
stored content, and ingests only the files that are not there yet. A rerun with new publication
parameters starts from the store.

Layout of a store folder (default ``data/store/``, beside ``data/submissions/``)::

    entries/<entry id>/records.parquet   Contract 1 records and per-cell statuses (``<field>_status``),
                                         pseudonymised: nothing in it is a clear identifier
    entries/<entry id>/quality.json      the quality outcome, blocking and warning checks, reporting
                                         period, GX results (counts only)
    entries/<entry id>/summary.parquet, failing_records.parquet, invalid_values.parquet
                                         the findings the council data quality report shows
    entries/<entry id>/entry.json        the catalogue row of the entry (written last)
    catalogue.parquet                    one row per entry, rebuilt from the entries' entry.json
    .lock                                serialises catalogue rebuilds

**Keys.** An entry id is the SHA-256 of: the file's SHA-256, the pseudonymisation key's
fingerprint (an HMAC of a fixed text under the key, never the key), and the *context digest*: the
store format version and the bytes of everything else that shapes the stored content (the spec,
the code lists and field rules, the expectation suites, the params ingest and validation read:
:data:`CONTEXT_PARAMS`, and the hand-maintained value mappings of ``mappings/`` when there are
any). A file whose bytes change is a new submission; a new key, spec or validation setting gives
new entries, and the old ones stay as they were.

**Atomic writes.** An entry is written into ``entries/.tmp-<id>-<pid>/``, every file fsynced, then
renamed into place in one step: a run killed while storing leaves no partial entry (the next store
operation removes stale temporary folders). Two runs storing the same entry at once both write
their own temporary folder; the first rename wins and the second is discarded (same content). The
catalogue is rewritten under ``.lock`` (``fcntl.flock``) as a temporary file renamed into place.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cldstats.ingest.extract import is_extract_submission
from cldstats.ingest.files import sha256_of_file
from cldstats.measures.engine import RECORD_COLUMNS
from cldstats.reference.mappings import mappings_of_params

__all__ = [
    "CATALOGUE_COLUMNS",
    "CONTEXT_PARAMS",
    "FORMAT_VERSION",
    "StoreContext",
    "StoredEntry",
    "SubmissionStore",
    "key_fingerprint",
    "keep_submission",
    "records_table",
    "sha256_of_files",
]

#: Bumped whenever what ingest or validation stores changes shape or meaning.
FORMAT_VERSION = "2"

#: Params that change what ingest and validation store (dotted keys). Every other params key
#: only changes what is computed from the store.
CONTEXT_PARAMS = (
    "pseudonymisation.placeholder_nhs_numbers",
    "method.financial_assessment_prefix",
    "extract.person_id_precedence",
    "gate.blocking_checks",
    "gate.max_bad_start_date_share",
    "quality.records_listed_per_check",
    "release2.r1_values_fail_from",
)

#: Package data and project files whose bytes shape the stored content.
_CONTEXT_DATA = ("release1_spec.yaml", "r1_to_r2_mapping.yaml", "code_vocabulary.yaml", "field_rules.yaml")

CATALOGUE_COLUMNS = (
    "entry_id", "file", "la_code", "submitted_at", "period_start", "period_end", "outcome", "rows_read",
    "records", "sha256", "bytes", "key_fingerprint", "context_digest", "format_version", "stored_at",
)

_RECORDS, _QUALITY, _ENTRY = "records.parquet", "quality.json", "entry.json"

#: Suffix of the per-cell status column of a field in ``records.parquet`` (``Event_End_Date_status``).
STATUS_SUFFIX = "_status"


#: Arrow types of the stored record columns that pandas could hold otherwise (e.g. an all-missing
#: column read as ``object``): as ``engine.RECORD_COLUMNS`` are read (BIGINT, SMALLINT, TINYINT).
_RECORD_TYPES = {
    "row_number": pa.int32(),
    "nhs_number_key": pa.int64(),
    "la_person_key": pa.int64(),
    "birth_year": pa.int16(),
    "birth_month": pa.int8(),
}


def records_table(records: pd.DataFrame, status: pd.DataFrame | None, la_code: str) -> pa.Table:
    """The Arrow table stored as ``records.parquet``: Contract 1 records, typed for the SQL.

    The first column is ``la_code``, the council of the submission (from its file name), so a
    scan over many stored files knows each row's council. Code fields (Categoricals) become
    strings, dates calendar dates (``date32``), the person keys ``int64``, birth year and month
    ``int16`` and ``int8``, and each ``status`` column is added as ``<field>_status`` (``int8``).

    Parameters
    ----------
    records : pandas.DataFrame
        Contract 1 records (:mod:`cldstats.ingest`).
    status : pandas.DataFrame or None
        Contract 1 per-cell statuses (same index).
    la_code : str
        The submission's council (GSS code from the file name).
    """
    arrays = [pa.repeat(pa.scalar(la_code, type=pa.string()), len(records))]
    names = ["la_code"]
    for name in records.columns:
        array = pa.Array.from_pandas(records[name])
        if name in _RECORD_TYPES:
            array = array.cast(_RECORD_TYPES[name])
        elif pa.types.is_dictionary(array.type) or pa.types.is_large_string(array.type):
            array = array.cast(pa.string())
        elif pa.types.is_timestamp(array.type):
            array = array.cast(pa.date32())
        arrays.append(array)
        names.append(name)
    if status is not None:
        for name in status.columns:
            arrays.append(pa.array(status[name].to_numpy(dtype="int8"), type=pa.int8()))
            names.append(f"{name}{STATUS_SUFFIX}")
    return pa.table(arrays, names=names)


_FRAMES = ("summary", "failing_records", "invalid_values")
#: A temporary entry folder older than this is a killed run's, whatever its pid says.
_STALE_TMP_SECONDS = 6 * 3600


def key_fingerprint(secret: bytes) -> str:
    """A short public fingerprint of a pseudonymisation key (an HMAC under it, never the key)."""
    return hmac.new(secret, b"cldstats store key fingerprint", hashlib.sha256).hexdigest()[:16]


def _dotted(params: Mapping[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class StoreContext:
    """What, besides a file's bytes, shapes its stored content.

    Attributes
    ----------
    key_fingerprint : str
        :func:`key_fingerprint` of the run's pseudonymisation key.
    digest : str
        SHA-256 of the format version, the spec, code lists, field rules and expectation suites,
        the params of :data:`CONTEXT_PARAMS` and the hand-maintained value mappings (params
        ``selection.mappings``, :attr:`cldstats.reference.mappings.MappingTables.digest`), when any.
    """

    key_fingerprint: str
    digest: str

    @classmethod
    def of_run(cls, secret: bytes, params: Mapping[str, Any], suites_dir: Path) -> StoreContext:
        """The context of a run: its key, the package's data, the suites (``suites_dir``) and the params."""
        digest = hashlib.sha256(f"format {FORMAT_VERSION}\n".encode())
        data = resources.files("cldstats").joinpath("data")
        for name in _CONTEXT_DATA:
            digest.update(name.encode() + b"\n" + data.joinpath(name).read_bytes())
        for path in sorted(Path(suites_dir).glob("*.json")):
            digest.update(path.name.encode() + b"\n" + path.read_bytes())
        chosen = {name: _dotted(params, name) for name in CONTEXT_PARAMS}
        digest.update(json.dumps(chosen, sort_keys=True, default=str).encode())
        # The hand-maintained value mappings shape the statuses and values stored; none adds nothing,
        # so a store made before them (or without any) stays valid.
        mapped = mappings_of_params(params).digest
        if mapped:
            digest.update(f"mappings {mapped}\n".encode())
        return cls(key_fingerprint(secret), digest.hexdigest())

    def entry_id(self, sha256: str, file_name: str) -> str:
        """The entry id of a file with this SHA-256 and name in this context (the name gives the
        council and the submission time, so the same bytes under another name are another submission)."""
        text = f"{sha256}\n{file_name}\n{self.key_fingerprint}\n{self.digest}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class StoredEntry:
    """One stored submission: its catalogue row and where its parts are."""

    folder: Path
    row: dict[str, Any]

    @property
    def entry_id(self) -> str:
        return self.row["entry_id"]

    @property
    def records_path(self) -> Path | None:
        """The records Parquet file, None for a submission stored without records (unreadable)."""
        path = self.folder / _RECORDS
        return path if path.exists() else None

    def quality(self) -> dict[str, Any]:
        """The stored quality outcome and findings (``quality.json`` plus the frames)."""
        stored = json.loads((self.folder / _QUALITY).read_text(encoding="utf-8"))
        for name in _FRAMES:
            path = self.folder / f"{name}.parquet"
            stored[name] = pq.read_table(path).to_pandas() if path.exists() else None
        return stored


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SubmissionStore:
    """A store folder (see the module docstring).

    Parameters
    ----------
    root : path
        The store folder; created on first write.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.entries = self.root / "entries"

    # -- reading ------------------------------------------------------------------------------
    def get(self, entry_id: str) -> StoredEntry | None:
        """The entry with this id, or None when it is not stored (``entry.json`` is written last)."""
        folder = self.entries / entry_id
        try:
            row = json.loads((folder / _ENTRY).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return StoredEntry(folder, row)

    def entries_found(self) -> list[StoredEntry]:
        """Every complete entry, by entry id."""
        if not self.entries.is_dir():
            return []
        found = []
        for folder in sorted(p for p in self.entries.iterdir() if p.is_dir() and not p.name.startswith(".")):
            entry = self.get(folder.name)
            if entry is not None:
                found.append(entry)
        return found

    def catalogue(self) -> pd.DataFrame:
        """The catalogue (one row per entry, :data:`CATALOGUE_COLUMNS`), rebuilt if missing."""
        path = self.root / "catalogue.parquet"
        if not path.exists():
            return self.refresh_catalogue()
        return pq.read_table(path).to_pandas()

    # -- writing ------------------------------------------------------------------------------
    def put(self, entry_id: str, row: Mapping[str, Any], quality: Mapping[str, Any],
            frames: Mapping[str, pd.DataFrame | None], records: pa.Table | None) -> StoredEntry:
        """Store one submission atomically; an entry already stored is kept as it is.

        Parameters
        ----------
        entry_id : str
            :meth:`StoreContext.entry_id` of the file.
        row : mapping
            Its catalogue row (:data:`CATALOGUE_COLUMNS` but ``entry_id`` and ``stored_at``).
        quality : mapping
            JSON-serialisable quality outcome (``quality.json``).
        frames : mapping
            ``summary``, ``failing_records``, ``invalid_values`` DataFrames (or None).
        records : pyarrow.Table or None
            The records and statuses; None for a file that could not be read.
        """
        existing = self.get(entry_id)
        if existing is not None:
            return existing
        self.entries.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        tmp = self.entries / f".tmp-{entry_id}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            written = []
            if records is not None:
                pq.write_table(records, tmp / _RECORDS, compression="zstd", compression_level=1)
                written.append(tmp / _RECORDS)
            for name in _FRAMES:
                frame = frames.get(name)
                if frame is not None:
                    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / f"{name}.parquet")
                    written.append(tmp / f"{name}.parquet")
            (tmp / _QUALITY).write_text(json.dumps(quality, indent=1, default=str) + "\n", encoding="utf-8")
            written.append(tmp / _QUALITY)
            full_row = {**row, "entry_id": entry_id,
                        "stored_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            (tmp / _ENTRY).write_text(json.dumps(full_row, indent=1, default=str) + "\n", encoding="utf-8")
            written.append(tmp / _ENTRY)
            for path in written:
                _fsync_file(path)
            _fsync_dir(tmp)
            try:
                os.rename(tmp, self.entries / entry_id)
            except OSError:
                # Another run stored the same entry first: its content is the same.
                if self.get(entry_id) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
            _fsync_dir(self.entries)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.get(entry_id)

    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def refresh_catalogue(self) -> pd.DataFrame:
        """Rewrite ``catalogue.parquet`` from the entries (under the store's lock) and return it."""
        with self._locked():
            rows = [entry.row for entry in self.entries_found()]
            frame = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS))
            for column in ("file", "la_code", "outcome", "sha256", "key_fingerprint", "context_digest",
                           "format_version", "entry_id", "submitted_at", "period_start", "period_end",
                           "stored_at"):
                frame[column] = frame[column].astype("string")
            for column in ("rows_read", "records", "bytes"):
                frame[column] = frame[column].astype("Int64")
            path = self.root / "catalogue.parquet"
            tmp = path.with_name(f".catalogue-{os.getpid()}.parquet")
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
            _fsync_file(tmp)
            os.replace(tmp, path)
            _fsync_dir(self.root)
        return frame

    def _remove_stale_temporaries(self) -> None:
        """Remove temporary entry folders of runs that are no longer running (killed)."""
        now = time.time()
        for tmp in self.entries.glob(".tmp-*"):
            pid = tmp.name.rsplit("-", 1)[-1]
            alive = pid.isdigit() and _pid_alive(int(pid)) and int(pid) != os.getpid()
            try:
                age = now - tmp.stat().st_mtime
            except FileNotFoundError:
                continue  # another run has just moved its entry into place (or removed it)
            if not alive or age > _STALE_TMP_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)

    # -- checking -----------------------------------------------------------------------------
    def verify(self, submissions_dir: Path | None = None, rehash: bool = False) -> list[str]:
        """Problems found in the store, one line each (empty when sound).

        Checks every entry folder has its ``entry.json`` and parts, that the catalogue lists exactly
        the entries, and with ``rehash`` that each entry's file (in ``submissions_dir``) still has
        the stored SHA-256 (a changed file is a new submission: the old entry is then reported).
        """
        problems = []
        if not self.entries.is_dir():
            return problems
        for folder in sorted(self.entries.iterdir()):
            if folder.name.startswith(".tmp-"):
                problems.append(f"{folder}: temporary folder left by a run that did not finish")
                continue
            entry = self.get(folder.name)
            if entry is None:
                problems.append(f"{folder}: no entry.json (incomplete entry)")
                continue
            if not (folder / _QUALITY).exists():
                problems.append(f"{folder}: quality.json missing")
            if entry.row.get("records") and entry.records_path is None:
                problems.append(f"{folder}: records.parquet missing")
            elif entry.records_path is not None:
                rows = pq.ParquetFile(entry.records_path).metadata.num_rows
                if rows != entry.row.get("records"):
                    problems.append(f"{folder}: records.parquet holds {rows:,} rows, the entry says "
                                    f"{entry.row.get('records')}")
            # A submission of the national extract has no file of its own to re-hash (its digest is of its rows).
            if rehash and submissions_dir is not None and not is_extract_submission(entry.row["file"]):
                path = Path(submissions_dir) / entry.row["file"]
                if not path.exists():
                    problems.append(f"{folder}: its file {entry.row['file']} is no longer in {submissions_dir}")
                elif sha256_of_file(path) != entry.row["sha256"]:
                    problems.append(f"{folder}: {entry.row['file']} has changed since it was stored "
                                    "(its new content is a new submission)")
        listed = set(self.catalogue()["entry_id"].dropna())
        found = {e.entry_id for e in self.entries_found()}
        for missing in sorted(found - listed):
            problems.append(f"{self.root / 'catalogue.parquet'}: entry {missing} not listed")
        for extra in sorted(listed - found):
            problems.append(f"{self.root / 'catalogue.parquet'}: lists {extra}, which is not stored")
        return problems


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sha256_of_files(paths: Iterable[Path], threads: int = 2) -> dict[Path, str | None]:
    """SHA-256 of each file (None when it cannot be read), hashed in threads (hashlib frees the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> str | None:
        try:
            return sha256_of_file(path)
        except OSError:
            return None

    paths = list(paths)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return dict(zip(paths, pool.map(one, paths), strict=True))


def keep_submission(root: str | Path, context: StoreContext, submission: Any, result: Any) -> StoredEntry | None:
    """Store one checked submission (called by validation as soon as a file is checked).

    The records of a submission the gate did not reject are stored with the columns the method
    reads (:data:`cldstats.measures.engine.RECORD_COLUMNS`); a rejected or unreadable one keeps
    only its quality outcome and findings (nothing reads its records). The entry id uses the
    SHA-256 of the bytes ingest read, so a file changed since it was listed is stored as what was read.

    Parameters
    ----------
    root : path
        The store folder.
    context : StoreContext
        The run's context.
    submission : cldstats.ingest.Submission
    result : cldstats.quality.QualityResult

    Returns
    -------
    StoredEntry or None
        None for a file whose bytes could not be read (it is read again by the next run).
    """
    if not submission.sha256:  # its bytes could not be read: nothing to key it by, read again next run
        return None
    records = None
    if submission.records is not None and not result.rejected:
        wanted = [c for c in RECORD_COLUMNS if c in submission.records.columns]
        status = [c[: -len(STATUS_SUFFIX)] for c in RECORD_COLUMNS if c.endswith(STATUS_SUFFIX)]
        records = records_table(submission.records[wanted], submission.status[status], result.la_code)
        records = records.select([c for c in RECORD_COLUMNS if c in records.column_names])
    quality, frames = result.stored()
    start, end = result.reporting_period if result.reporting_period else (None, None)
    row = {
        "file": result.file,
        "la_code": result.la_code,
        "submitted_at": result.submitted_at.isoformat(sep=" ") if result.submitted_at else None,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "outcome": result.outcome,
        "rows_read": int(result.rows_read),
        # The records ingest made, counted before they are written: the SQL's row accounting
        # (rows used + rows excluded) is checked against this, so a row lost on the way is found.
        "records": len(submission.records) if records is not None else 0,
        "sha256": submission.sha256,
        "bytes": _size(submission.path),
        "key_fingerprint": context.key_fingerprint,
        "context_digest": context.digest,
        "format_version": FORMAT_VERSION,
    }
    return SubmissionStore(root).put(context.entry_id(submission.sha256, result.file), row, quality, frames, records)


def _size(path: Path) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def run_cli(args: Any) -> int:
    """``cldstats store [--data DIR] [--store DIR] [--verify]``: list the stored submissions and
    check the store; exit code 1 when a problem is found (each printed on one line)."""
    root = Path(args.store) if args.store is not None else Path(args.data) / "store"
    store = SubmissionStore(root)
    catalogue = store.refresh_catalogue() if store.entries.is_dir() else pd.DataFrame(columns=list(CATALOGUE_COLUMNS))
    print(f"Submission store {root}: {len(catalogue)} stored submissions, "
          f"{int(catalogue['rows_read'].fillna(0).sum()) if len(catalogue) else 0:,} rows read")
    if len(catalogue):
        by_outcome = catalogue["outcome"].fillna("").str.split(":").str[0].value_counts()
        print("  " + ", ".join(f"{count} {outcome}" for outcome, count in by_outcome.items()))
        listing = catalogue.sort_values(["la_code", "submitted_at", "file"])
        for row in listing.itertuples(index=False):
            print(f"  {row.file}  {row.la_code}  submitted {row.submitted_at}  period {row.period_start} to "
                  f"{row.period_end}  {row.rows_read:,} rows  {row.outcome}  sha256 {str(row.sha256)[:12]}")
    problems = store.verify(Path(args.data) / "submissions", rehash=args.verify)
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{'verified (re-hashed every file): ' if args.verify else 'checked: '}"
          f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0
