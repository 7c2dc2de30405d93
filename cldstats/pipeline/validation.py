"""Validating a whole folder of submissions: ``cldstats validate`` and the first stage of ``publish``.

:func:`validate_folder` lists the submissions folder, reads and checks the files not yet in the
submission store (:mod:`cldstats.pipeline.validation_workers`: in batches, in worker processes,
each file stored by the process that read it), takes the stored results of the others, then
selects one submission per council and accounts for every row (:mod:`cldstats.pipeline.accounting`,
which stops the run when a file's rows do not add up) and writes the ``qa/`` outputs.

Every entry of ``submissions/`` (:func:`cldstats.ingest.list_folder`) is a row of
``qa/submissions.csv``: a submission file with its data quality outcome; any other entry (an
``.xls``, a name ending in a space, a directory, a FIFO, a broken symlink...) ``rejected:
<reason>`` without being opened; with ``window``, an entry outside the month's window ``not
validated: ...``. ``rows_used`` is counted by the method's SQL (rows with no exclusion reason), not
worked out from ``rows_read`` and ``rows_excluded``; files of one council with the same submission
time name each other in ``tie_with``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cldstats import ingest, reference
from cldstats.core import safe_output
from cldstats.core.errors import CldstatsError
from cldstats.ingest import extract, pseudonymise
from cldstats.measures.selection import NOT_VALIDATED, in_window, tie_findings
from cldstats.pipeline import timing
from cldstats.pipeline.accounting import Accounts, folder_hand_matches, select_and_account
from cldstats.pipeline.store import StoreContext, StoredEntry, SubmissionStore, keep_submission, sha256_of_files
from cldstats.pipeline.validation_workers import (
    PARALLEL_MIN_BYTES,
    PhaseClock,
    checked_batches,
    estimated_bytes,
    file_batches,
    phase_summary,
    validation_json_name,
    write_validation_json,
)
from cldstats.quality.council_reports import mapped_values_table, write_council_reports
from cldstats.quality.releases import RELEASE_COLUMNS, release_of_summary
from cldstats.quality.results import NOT_A_SUBMISSION, QualityResult, not_a_submission_result
from cldstats.quality.statuses import ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED
from cldstats.quality.suites import EXPECTATIONS_DIR
from cldstats.reference.calendar import month_end
from cldstats.reference.params import as_of, load_params

__all__ = ["ValidationRun", "run_cli", "validate_extract", "validate_folder"]

LOG = logging.getLogger("cldstats.pipeline.validation")


@dataclass
class ValidationRun:
    """Everything ``cldstats validate`` produced, for the publish step to reuse.

    Attributes
    ----------
    results : list of QualityResult
        One per submission file, in file order.
    catalogue : pandas.DataFrame
        ``la_code, file, submitted_at, period_start, period_end, outcome`` (Contract 3 input),
        ``records_path``, ``derived_dir`` and ``records`` (where the store keeps the file's
        records and derived rows; :data:`cldstats.measures.engine.CATALOGUE_COLUMNS`), plus
        ``candidate`` and ``selected`` after selection.
    submissions_table, exclusions : pandas.DataFrame
        The rows of ``qa/submissions.csv`` and ``qa/exclusions.csv``.
    reporting_periods, hand : pandas.DataFrame
        The rows of ``qa/reporting_periods.csv`` (every checked file's stated and derived period),
        and the files ``selection.exclude`` and ``selection.include`` name.
    month : str
        Reference month used for selection.
    written : list of Path
        Files written under ``OUT/qa``.
    seconds : float
        Wall time of the run.
    phases : dict
        Figures per phase of the run (see :func:`validate_folder`): ``workers``, ``note``,
        ``phases`` (list of ``stage, wall_seconds, cpu_seconds, peak_rss_mb, rows, notes, process``).
    entries : list of ingest.FolderEntry
        Every entry of the submissions folder as the run listed it (each one is a row of
        ``submissions_table``).
    ingested, from_store : int
        Submission files read and validated by this run, and those whose stored result was used.
    store_dir : Path
        The submission store.
    """

    results: list[QualityResult]
    catalogue: pd.DataFrame
    submissions_table: pd.DataFrame
    exclusions: pd.DataFrame
    month: str
    reporting_periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    hand: pd.DataFrame = field(default_factory=pd.DataFrame)
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    key_source: str = ""
    phases: dict[str, Any] = field(default_factory=dict)
    entries: list[Any] = field(default_factory=list)
    ingested: int = 0
    from_store: int = 0
    store_dir: Path | None = None

    @property
    def rows_read(self) -> int:
        """Rows read over all submissions."""
        return int(self.submissions_table["rows_read"].sum()) if len(self.submissions_table) else 0

    @property
    def not_validated(self) -> int:
        """Entries of the folder outside the month's window: listed, not validated."""
        return int(self.submissions_table["outcome"].str.startswith(NOT_VALIDATED).sum())

    def ties(self) -> list[str]:
        """One line per tie: files of one council with the same submission time
        (:func:`cldstats.measures.selection.tie_findings`)."""
        return tie_findings(self.submissions_table)

    def write_submissions(self, qa_dir: str | Path) -> Path:
        """Write :attr:`submissions_table` to ``qa_dir/submissions.csv``, :meth:`releases_table`
        to ``qa_dir/releases.csv`` and :attr:`reporting_periods` to ``qa_dir/reporting_periods.csv``."""
        path = Path(qa_dir) / "submissions.csv"
        safe_output.write_csv(self.submissions_table, path)
        safe_output.write_csv(self.releases_table(), Path(qa_dir) / "releases.csv")
        safe_output.write_csv(self.reporting_periods, Path(qa_dir) / "reporting_periods.csv")
        return path

    def releases_table(self) -> pd.DataFrame:
        """The release of every checked, readable submission (``qa/releases.csv``): ``la_code, file,
        selected`` and :data:`cldstats.quality.releases.RELEASE_COLUMNS`, by council and file."""
        selected = set(self.catalogue.loc[self.catalogue["selected"].astype(bool), "file"])
        rows = [
            {"la_code": r.la_code or "", "file": r.file, "selected": r.file in selected,
             **release_of_summary(r.summary)}
            for r in self.results
            if (r.summary["check"] == "field_values").any()  # files read into records only
        ]
        return pd.DataFrame(rows, columns=["la_code", "file", "selected", *RELEASE_COLUMNS]).sort_values(
            ["la_code", "file"], ignore_index=True
        )

    def outcome_counts(self) -> dict[str, int]:
        """Checked entries per outcome: accepted, accepted with warnings, rejected (entries of the
        folder that are not submission files are rejected; entries outside the window not counted)."""
        counts = {ACCEPTED: 0, ACCEPTED_WITH_WARNINGS: 0, REJECTED: 0}
        for result in self.results:
            counts[REJECTED if result.rejected else result.outcome] += 1
        return counts

    def councils_without_selected_file(self) -> list[str]:
        """GSS codes of the councils (the council list) with no selected file for the month."""
        selected = set(self.catalogue.loc[self.catalogue["selected"].astype(bool), "la_code"])
        return [code for code in reference.council_codes() if code not in selected]

    def top_failing_checks(self, limit: int = 5) -> list[tuple[str, int]]:
        """Checks failed by the most submissions (blocking and warnings)."""
        counter = Counter(check for r in self.results for check in (*r.blocking, *r.warnings))
        return counter.most_common(limit)


@dataclass
class _Folder:
    """The entries of the submissions folder a run lists, and which of them it validates."""

    entries: list[Any]
    considered: list[Any]
    outside: list[Any]
    paths: list[Path]
    #: The files ``selection.exclude`` and ``selection.include`` name (accounting.folder_hand_matches).
    hand: pd.DataFrame


def _list_folder(data_dir: Path, params: Mapping[str, Any], files: Iterable[str] | None, window: bool) -> _Folder:
    """The folder's entries (only ``files`` when given), split by the month's window (with ``window``);
    a file included by hand is in the window whatever its date.

    Raises
    ------
    CldstatsError
        The data folder is missing, no submission file is in the window, or a hand entry names no
        file of the folder.
    """
    if not data_dir.is_dir():
        raise CldstatsError(f"data folder {data_dir} does not exist")
    end, cutoff = month_end(params["month"]), as_of(params)
    entries = ingest.list_folder(data_dir)
    hand = folder_hand_matches(entries, params)
    if files is not None:
        wanted = set(files)
        entries = [e for e in entries if e.name in wanted]
    included = set(hand.loc[hand["hand"] == "include", "file"])
    placed = [not window or in_window(e.submitted_at, end, cutoff) or e.name in included for e in entries]
    considered = [e for e, inside in zip(entries, placed, strict=True) if inside]
    outside = [e for e, inside in zip(entries, placed, strict=True) if not inside]
    paths = [e.path for e in considered if e.is_submission]
    if not paths:
        others = [e for e in considered if not e.is_submission]
        raise CldstatsError(
            f"no submission files in {data_dir / 'submissions'} (expected <LA code>_<YYYYMMDDTHHMMSS>.csv files)"
            + (f": {len(others)} other entries, e.g. {others[0].name!r}: {others[0].reason}" if others else "")
        )
    return _Folder(entries=entries, considered=considered, outside=outside, paths=paths, hand=hand)


def _stored_entries(store: SubmissionStore, context: StoreContext, paths: Sequence[Path]) -> dict[str, StoredEntry]:
    """File name -> store entry of the files already stored (same bytes, name and context).

    Submissions never change: such a file is read from the store; only the others are read,
    pseudonymised and validated (and then stored).
    """
    digests = sha256_of_files(paths)
    stored = {}
    for path in paths:
        entry = store.get(context.entry_id(digests[path], path.name)) if digests[path] else None
        if entry is not None:
            stored[path.name] = entry
    return stored


@dataclass
class _Checked:
    """The results of the files a run read and checked, with the figures of each batch."""

    results: list[QualityResult]
    batch_figures: list[dict[str, Any]]
    workers: int


def _check_new_files(new_paths: list[Path], workers: int | None, suites_dir: str | Path | None, key: Any,
                     params: Mapping[str, Any], validation_dir: Path, keep: Any, parent: PhaseClock,
                     progress: bool) -> _Checked:
    """Read, check and store the files not in the store, in batches over ``workers`` processes
    (None: ``min(2, cpu count)`` above about 100 MB of input, else 1); results in file order."""
    if workers is None:
        total_bytes = sum(estimated_bytes(p) for p in new_paths)
        workers = min(2, os.cpu_count() or 1) if total_bytes > PARALLEL_MIN_BYTES else 1
    workers = max(1, int(workers))
    batches = file_batches(new_paths, workers) if new_paths else []
    workers = max(1, min(workers, len(batches)))
    checked = _Checked(results=[], batch_figures=[], workers=workers)
    batch_results = checked_batches(batches, workers, suites_dir, key, params, validation_dir, keep, parent)
    bar = None
    if progress and new_paths:
        from tqdm import tqdm  # third party, lazily: only a run with a progress bar needs it

        bar = tqdm(total=len(new_paths), desc="validating", unit="file", file=sys.stderr, dynamic_ncols=True)
    try:
        for results, figures in batch_results:
            checked.batch_figures.append(figures)
            checked.results.extend(results)
            if bar is not None:
                bar.update(len(results))
    finally:
        if bar is not None:
            bar.close()
        close = getattr(batch_results, "close", None)
        if close is not None:
            close()
    return checked


def _every_result(stored: Mapping[str, StoredEntry], checked: _Checked, folder: _Folder, params: Mapping[str, Any],
                  validation_dir: Path) -> tuple[list[QualityResult], list[Path]]:
    """Every considered entry's result in name order (stored, checked now, not a submission file),
    and the ``qa/validation`` files, the stored files' written now as their first run wrote them."""
    results = [QualityResult.from_stored(entry.quality()) for entry in stored.values()] + checked.results
    for result in results:
        if result.file in stored:
            write_validation_json(validation_dir, result)
    written = [validation_dir / validation_json_name(r.file) for r in results]
    # The entries that are not submission files are rejected without being opened, in name order
    # with the files (list_folder's order).
    others = [not_a_submission_result(e, params) for e in folder.considered if not e.is_submission]
    return sorted(results + others, key=lambda r: r.file), written


def _write_qa_tables(run: ValidationRun, qa_dir: Path, council_reports: bool) -> list[Path]:
    """``qa/submissions.csv``, ``qa/exclusions.csv``, ``qa/mapped_values.csv`` (only when a value was
    mapped by hand) and (with ``council_reports``) the council pages."""
    run.write_submissions(qa_dir)
    safe_output.write_csv(run.exclusions, qa_dir / "exclusions.csv")
    written = [qa_dir / "submissions.csv", qa_dir / "exclusions.csv"]
    mapped = mapped_values_table(run.results)
    if len(mapped):  # a release without mappings keeps its QA files
        written.append(safe_output.write_csv(mapped, qa_dir / "mapped_values.csv"))
    if council_reports:
        written += write_council_reports(run.results, qa_dir / "data_quality")
    return written


def _record_phases(checked: _Checked, parent: PhaseClock) -> dict[str, Any]:
    """``ValidationRun.phases``, also reported to a running :class:`cldstats.pipeline.timing.StageTimer`."""
    phases = phase_summary(checked.batch_figures, parent, checked.workers)
    timing.record_substages(
        phases["phases"],
        note=f"{phases['note']}; {phases['batches']} batches, {phases['bytes_handed_back'] / 2**20:,.0f} MB handed "
        f"back, worker peak memory (MB) {', '.join(f'{v:,.0f}' for v in phases['worker_peak_rss_mb'].values())}"
        if checked.workers > 1 else phases["note"],
    )
    return phases


def validate_folder(
    data_dir: str | Path,
    out_dir: str | Path,
    params: Mapping[str, Any],
    *,
    suites_dir: str | Path | None = None,
    progress: bool = False,
    key: Any = None,
    workers: int | None = None,
    files: Iterable[str] | None = None,
    window: bool = False,
    store_dir: str | Path | None = None,
    council_reports: bool = True,
) -> ValidationRun:
    """Validate every submission of a data folder, select, account for every row, write ``qa/``
    (module docstring). Results are in file order, whatever the number of workers.

    Parameters
    ----------
    data_dir, out_dir : path
        Data folder (``submissions/`` inside it, ``synthetic.json`` when synthetic); output folder
        (files go to ``out_dir/qa/``).
    params : mapping
        Resolved params (``load_params``); ``month`` and ``cutoff`` drive submission selection.
    suites_dir : path, optional
        Suite folder (default: the repository's ``expectations/``).
    progress : bool
        Show a tqdm progress bar over files on stderr.
    key : pseudonymise.PseudonymKey, optional
        Defaults to ``pseudonymise.load_key(params key_file, synthetic=data_dir/synthetic.json exists)``.
    workers : int or None
        Worker processes (``spawn``, each with its own GX context); None (default) picks
        ``min(2, cpu count)`` when the input is over about 100 MB of CSV, else 1.
    files : iterable of str, optional
        Only these entries of ``submissions/`` (for tests and partial runs); default all.
    window : bool
        Validate only the entries that can matter for ``params["month"]`` (``selection.in_window``).
    store_dir : path, optional
        The submission store (default ``data_dir/store``). A file already stored (same bytes, name,
        key and validation context) is not read again: its stored result is used.
    council_reports : bool
        Write the council data quality pages (``qa/data_quality/``); False: the caller does (``publish``).

    Returns
    -------
    ValidationRun
        With ``phases`` (:func:`~cldstats.pipeline.validation_workers.phase_summary`), also reported to
        a running :class:`cldstats.pipeline.timing.StageTimer` stage as sub-stages.

    Raises
    ------
    CldstatsError
        Data folder missing or without submissions; an invalid ``synthetic.json``; no
        pseudonymisation key for real data; a worker process died; a file whose rows do not add up.
    """
    started = time.perf_counter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    folder = _list_folder(data_dir, params, files, window)
    key = key if key is not None else pseudonymise.load_key(params["pseudonymisation"]["key_file"] or None,
                                                            synthetic=ingest.is_synthetic(data_dir))
    validation_dir = out_dir / "qa" / "validation"
    validation_dir.mkdir(parents=True, exist_ok=True)
    store = SubmissionStore(store_dir if store_dir is not None else data_dir / "store")
    context = StoreContext.of_run(key.key, params, Path(suites_dir) if suites_dir is not None else EXPECTATIONS_DIR)
    stored = _stored_entries(store, context, folder.paths)
    new_paths = [path for path in folder.paths if path.name not in stored]
    parent = PhaseClock()
    keep = functools.partial(keep_submission, store.root, context)
    checked = _check_new_files(new_paths, workers, suites_dir, key, params, validation_dir, keep, parent, progress)
    reports_started = parent.start()
    if new_paths:
        store.refresh_catalogue()
    results, written = _every_result(stored, checked, folder, params, validation_dir)
    accounts = select_and_account(results, store, context, params, outside=folder.outside,
                                  not_files={e.name for e in folder.considered if not e.is_submission},
                                  submissions_dir=data_dir / "submissions", hand=folder.hand)
    run = _validation_run(results, accounts, params, key, folder, len(new_paths), len(stored), store)
    written += _write_qa_tables(run, out_dir / "qa", council_reports)
    parent.stop("qa outputs (parent)", reports_started)
    run.written, run.phases, run.seconds = written, _record_phases(checked, parent), time.perf_counter() - started
    LOG.info("submissions: %d in the month's window, %d read and validated now, %d from the store %s",
             len(folder.paths), run.ingested, run.from_store, store.root)
    return run


def validate_extract(
    extract_paths: Iterable[str | Path],
    out_dir: str | Path,
    params: Mapping[str, Any],
    *,
    suites_dir: str | Path | None = None,
    progress: bool = False,
    key: Any = None,
    window: bool = False,
    store_dir: str | Path | None = None,
    council_reports: bool = True,
    parts: Sequence[Any] | None = None,
) -> ValidationRun:
    """Validate the submissions of NHS England's national extract as :func:`validate_folder` does a folder's.

    Each (council, ``ImportDate``) of the exports is one submission
    (:func:`cldstats.ingest.extract.split_extract`), read with the pseudonymised checks
    (:func:`cldstats.ingest.extract.read_part`), checked by the same suites, kept in the same store
    (by the digest of its rows and its name), selected and accounted for; ``qa/`` is written as for a
    folder, each submission named ``<GSS code>_<time>.<ms>@<export>``.

    Parameters
    ----------
    extract_paths : iterable of path
        CSV or Parquet exports of the national table.
    out_dir, params, suites_dir, progress, window, council_reports
        As for :func:`validate_folder`.
    key : pseudonymise.PseudonymKey, optional
        Defaults to ``pseudonymise.load_key(params key_file, synthetic=...)``, synthetic when every
        export's folder holds a ``synthetic.json`` saying so.
    store_dir : path, optional
        The submission store (default: ``store/`` beside the first export).
    parts : sequence of ExtractPart, optional
        The exports' submissions when the caller has split them already (``publish``).

    Returns
    -------
    ValidationRun
        ``entries`` are the extract's submissions (as folder entries).

    Raises
    ------
    CldstatsError
        An export refused (:func:`~cldstats.ingest.extract.split_extract`), no submission in the
        month's window, no key for real data, a submission whose rows do not add up.
    """
    started = time.perf_counter()
    paths, out_dir = [Path(p) for p in extract_paths], Path(out_dir)
    if not paths:
        raise CldstatsError("--extract needs at least one file")
    parts = list(parts) if parts is not None else extract.split_extract(paths)
    end, cutoff = month_end(params["month"]), as_of(params)
    entries = [ingest.FolderEntry(p.source, p.name, "file", None, p.la_code, p.submitted_at) for p in parts]
    # Hand entries name an extract's submissions by name or by council and ImportDate, as files.
    hand = folder_hand_matches(entries, params)
    included = set(hand.loc[hand["hand"] == "include", "file"])
    inside = [not window or in_window(p.submitted_at, end, cutoff) or p.name in included for p in parts]
    considered = [part for part, keep_it in zip(parts, inside, strict=True) if keep_it]
    outside = [entry for entry, keep_it in zip(entries, inside, strict=True) if not keep_it]
    if not considered:
        raise CldstatsError(f"{paths[0]}: no submission of the national extract was imported after {end} and on "
                            f"or before the cut-off {cutoff}")
    key = key if key is not None else pseudonymise.load_key(
        params["pseudonymisation"]["key_file"] or None, synthetic=all(ingest.is_synthetic(p.parent) for p in paths))
    validation_dir = out_dir / "qa" / "validation"
    validation_dir.mkdir(parents=True, exist_ok=True)
    store = SubmissionStore(store_dir if store_dir is not None else paths[0].parent / "store")
    context = StoreContext.of_run(key.key, params, Path(suites_dir) if suites_dir is not None else EXPECTATIONS_DIR)
    stored = {}
    for part in considered:
        entry = store.get(context.entry_id(part.sha256, part.name))
        if entry is not None:
            stored[part.name] = entry
    new_parts = [part for part in considered if part.name not in stored]
    parent = PhaseClock()
    keep = functools.partial(keep_submission, store.root, context)
    # One process: the parts are in this process's memory already (a worker would be handed them pickled).
    checked = _check_new_files(new_parts, 1, suites_dir, key, params, validation_dir, keep, parent, progress)
    reports_started = parent.start()
    if new_parts:
        store.refresh_catalogue()
    folder = _Folder(entries=entries, considered=[e for e, k in zip(entries, inside, strict=True) if k],
                     outside=outside, paths=[], hand=hand)
    results, written = _every_result(stored, checked, folder, params, validation_dir)
    accounts = select_and_account(results, store, context, params, outside=outside, not_files=set(),
                                  submissions_dir=paths[0].parent, hand=hand)
    run = _validation_run(results, accounts, params, key, folder, len(new_parts), len(stored), store)
    written += _write_qa_tables(run, out_dir / "qa", council_reports)
    parent.stop("qa outputs (parent)", reports_started)
    run.written, run.phases, run.seconds = written, _record_phases(checked, parent), time.perf_counter() - started
    LOG.info("national extract: %d submissions in the month's window, %d read and validated now, %d from the "
             "store %s", len(considered), run.ingested, run.from_store, store.root)
    return run


def _validation_run(results: list[QualityResult], accounts: Accounts, params: Mapping[str, Any], key: Any,
                    folder: _Folder, ingested: int, from_store: int, store: SubmissionStore) -> ValidationRun:
    return ValidationRun(
        results=results,
        catalogue=accounts.catalogue,
        submissions_table=accounts.submissions_table,
        exclusions=accounts.exclusions,
        month=params["month"],
        reporting_periods=accounts.reporting_periods,
        hand=accounts.hand,
        key_source=getattr(key, "source", ""),
        entries=folder.entries,
        ingested=ingested,
        from_store=from_store,
        store_dir=store.root,
    )


def _print_summary(run: ValidationRun, out_dir: Path) -> None:
    """The console summary of ``cldstats validate``."""
    counts = run.outcome_counts()
    missing = run.councils_without_selected_file()
    others = sum(1 for r in run.results if r.blocking == [NOT_A_SUBMISSION])
    lines = [
        f"Validated {len(run.results) - others} files ({run.rows_read:,} rows) in {run.seconds:.1f} s",
        f"  accepted: {counts[ACCEPTED]}   accepted with warnings: {counts[ACCEPTED_WITH_WARNINGS]}   "
        f"rejected: {counts[REJECTED]}"
        + (f" (of which {others} not submission files: see submissions.csv)" if others else ""),
    ]
    lines.append(f"  submission store: {run.ingested} read and validated now, {run.from_store} from the store "
                 f"({run.store_dir})")
    lines += [f"  tie: {line}" for line in run.ties()]
    top = run.top_failing_checks()
    if top:
        lines.append("  top failing checks (submissions): " + ", ".join(f"{c} ({n})" for c, n in top))
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    total = len(reference.councils())
    lines.append(f"  councils without a selected file for {run.month}: {len(missing)} of {total}" + (
        f" ({shown})" if missing else ""))
    lines.append(f"  reports: {out_dir / 'qa'} (submissions.csv, exclusions.csv, data_quality/, validation/)")
    print("\n".join(lines))


def run_cli(args: argparse.Namespace) -> int:
    """``cldstats validate --data DIR [--out DIR] [--month YYYY-MM] [--params FILE] [--store DIR]``.

    Returns 0 when the run completed (rejected files included); user errors raise
    :class:`~cldstats.core.errors.CldstatsError`, which the command line prints as one line.
    """
    params = load_params(args.month, args.params)
    out_dir = args.out if args.out is not None else Path("reports") / "validation"
    if getattr(args, "extract", None):
        run = validate_extract(args.extract, out_dir, params, progress=True, store_dir=args.store)
    else:
        run = validate_folder(args.data, out_dir, params, progress=True, workers=None, store_dir=args.store)
    _print_summary(run, Path(out_dir))
    return 0
