"""``cldstats publish``: one monthly release, from submissions to ``reports/<YYYY-MM>/``.

The run, in order (DESIGN.md flow; docs/methodology.md sections 2 to 7):

1. resolve the params (``params/defaults.yaml`` + ``params/<month>.yaml`` + ``--params``);
2. on a first run with the default data folder empty, generate the synthetic dataset;
3. validate the submissions that can matter for the month (submitted after its month end and on or
   before the cut-off), write the ``qa/`` data quality outputs, and select one file per council;
   ``qa/submissions.csv`` lists every entry of the submissions folder (the others as not validated);
4. compute the two measures from the selected files, unrounded, and account for every entry and row
   (:func:`_check_row_accounting`: a file whose rows read are not the rows the measures used plus
   those excluded, or an entry missing from the table, stops the run before anything is written);
5. apply the publication-level gate (coverage, England month-on-month change, override);
6. apply disclosure control, with ``[r]`` against the most recent earlier release of each cell;
7. check the published tables' consistency with a Great Expectations suite;
8. write the tables and ``manifest.json``, all in a temporary folder that replaces
   ``reports/<YYYY-MM>/`` only when everything passed; the replaced release is kept under
   ``reports/<YYYY-MM>/releases/<its run id>/``.

Unrounded figures are written only under ``qa/``.

**One run per month, and nothing lost when a run dies** (:mod:`cldstats.pipeline.runlock` has the folder
layout). Bad input (params, data folder, key, a month with no submissions in its window) is refused
before anything is written. The run then takes the month's lock ``reports/.lock-<YYYY-MM>`` (a second
run is refused, exit code 4, naming the holder's pid, host and start time; a lock left by a killed
run is stale and taken over), cleans up after any killed earlier run of the month, builds in
``reports/.building-<YYYY-MM>-<run id>-<pid>/`` and moves the result into place with two renames.
Killed at any moment, the previous release stays complete at ``reports/<YYYY-MM>/`` (or, between
the two renames, at ``reports/.replaced-<YYYY-MM>-<run id>/``, which the next run moves back).
Interrupted (Ctrl-C, exit code 130), a run first stops its notebook kernel (:func:`cldstats.publication.render.
run_notebooks`), then removes its build folder (further Ctrl-Cs held) and releases the lock.

**File system errors name their path.** Each stage names the file or folder it writes
(:func:`cldstats.core.errors.naming_path`), so a full disk ends with one line such as ``No space left on
device: reports/.building-…/spreadsheets/long_term_support.xlsx``, even where the writer (pandas,
xlsxwriter, matplotlib, papermill) raised it without a file name or wrapped it in its own error. A
run log record that cannot be written stops the run with an OSError naming the log.

**Run log.** Logger ``"cldstats"``: each stage's start and finish (seconds, rows, counts), recovery
actions and the outcome go to stderr (when ``progress``) and to ``reports/logs/<YYYY-MM>-<run
id>.log``, written line by line so it survives failed and killed runs. It holds stage names, counts,
file names and cldstats's own messages only, never a value read from a submission; for an
unexpected error it records the exception type, not its message (which could quote data).

**Manifest.** ``manifest.json`` separates what must match from what may differ. At the top level,
everything that two runs on the same inputs, params and code must reproduce exactly: ``month``,
``reference_date``, ``params``, ``synthetic_data``, ``pseudonymisation_key``, ``inputs`` (file,
SHA-256 as ingest computed it from the bytes it read, or null with the reason in ``not_hashed``;
selected), ``versions``, ``git_commit``, ``gate``, ``renderer`` and ``outputs`` (SHA-256 of
every file except the executed notebooks and the rendered reports). Under ``may_differ``:
``run_id``, ``host``, ``pid``, ``started_at``, ``seconds``, ``argv``, ``log_file`` (relative to the
reports folder) and ``outputs`` with the SHA-256 of every ``*.ipynb`` (papermill records execution
times and paths) and of every HTML report holding the run-time line ``<p class="run-time">`` (by
which alone two runs' reports may differ).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats import __version__, reference
from cldstats.core.errors import CldstatsError, GateStop, interrupts_held, naming_path
from cldstats.ingest.reader import sha256_of_file
from cldstats.pipeline import validation
from cldstats.pipeline.background import Background, Pending
from cldstats.pipeline.runlock import MonthLock, build_folder, place_release, recover
from cldstats.pipeline.timing import StageResult, StageTimer
from cldstats.reference.params import load_params, month_end, release_month_ends

__all__ = ["PublishResult", "ensure_data", "publish_month", "run_cli"]

#: The default data folder: generated with synthetic data on a first run when empty.
DEFAULT_DATA_DIR = Path("data")
#: Libraries whose versions the manifest records.
RECORDED_DEPENDENCIES = (
    "duckdb", "great-expectations", "gptables", "matplotlib", "nbclient", "nbconvert", "numpy", "pandas",
    "papermill", "pyarrow", "pyyaml",
)
#: The one line an HTML report may differ by between two runs on the same inputs (render.py).
RUN_TIME_LINE = b'<p class="run-time">'
#: Rejected files named in the command line's summary; the rest are counted.
REJECTED_NAMED = 5

LOG = logging.getLogger("cldstats")


@dataclass
class PublishResult:
    """What one publication run produced."""

    month: str
    release_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    gate_message: str = ""
    councils_selected: int = 0
    seconds: float = 0.0
    timer: StageTimer = field(default_factory=StageTimer)
    run_id: str = ""
    log_file: Path | None = None
    #: Submissions in the month's window per outcome: accepted, accepted with warnings, rejected.
    submission_outcomes: dict[str, int] = field(default_factory=dict)
    rejected_files: list[str] = field(default_factory=list)
    #: Where the release this one replaced was filed (``releases/<run id>``), if any.
    previous_release: Path | None = None
    #: Entries of the submissions folder (all in ``qa/submissions.csv``) and those outside the
    #: month's window (listed, not validated).
    folder_entries: int = 0
    not_validated: int = 0
    #: One line per tie (files of one council with the same submission time).
    ties: list[str] = field(default_factory=list)
    #: Submission files this run read and validated, those whose stored result it used, and the store.
    ingested: int = 0
    from_store: int = 0
    store_dir: Path | None = None


class _UTCFormatter(logging.Formatter):
    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class _RunLogFile(logging.FileHandler):
    """The run log file. A record that cannot be written (a full disk) stops the run with an
    OSError naming the log, where logging's own handling would print a traceback on stderr and go
    on without the record."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            raise OSError(error.errno, error.strerror, self.baseFilename) from None
        super().handleError(record)

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            pass  # what is still buffered cannot be written: the failed record already said why


@contextmanager
def _run_log(log_file: Path, *, to_stderr: bool) -> Iterator[Path]:
    """Send the ``cldstats`` logger to ``log_file`` (and stderr) for one run."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # A FileHandler flushes every record: the log is complete up to the moment a run is killed.
    handlers: list[logging.Handler] = [_RunLogFile(log_file, encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = _UTCFormatter("%(asctime)s %(levelname)s %(message)s")
    level = LOG.level
    LOG.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(formatter)
        LOG.addHandler(handler)
    try:
        yield log_file
    finally:
        for handler in handlers:
            LOG.removeHandler(handler)
            handler.close()
        LOG.setLevel(level)


def _failure(exc: BaseException) -> str:
    """An unexpected error for the log: its type, and for a file system error the reason and path;
    never an arbitrary message, which could quote a value read from a submission."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return type(exc).__name__


@contextmanager
def _failure_logged(name: str) -> Iterator[None]:
    """Log how stage ``name`` ended when the block raises: stopped (a one-line reason) or failed."""
    try:
        yield
    except CldstatsError as exc:
        LOG.error("stage stopped: %s: %s", name, exc)
        raise
    except BaseException as exc:
        LOG.error("stage failed: %s: %s", name, _failure(exc))
        raise


@contextmanager
def _stage(timer: StageTimer, name: str, writes: Path | None = None) -> Iterator[StageResult]:
    """A timed stage whose start and finish are logged; set ``.rows`` and ``.notes`` for counts.
    ``writes``: the file or folder the stage writes, named by a file system error that names no
    path of its own (:func:`cldstats.core.errors.naming_path`)."""
    LOG.info("stage start: %s", name)
    with _failure_logged(name), timer.stage(name) as result, (
        naming_path(writes) if writes is not None else nullcontext()
    ):
        yield result
    counts = [f"{result.rows:,} rows"] if result.rows is not None else []
    counts += [result.notes] if result.notes else []
    LOG.info("stage done: %s in %.1f s%s", name, result.wall_seconds, "; " + "; ".join(counts) if counts else "")


def ensure_data(data_dir: Path, *, generate_if_empty: bool) -> bool:
    """Make sure ``data_dir`` holds submissions; generate synthetic data on a first run.

    Parameters
    ----------
    data_dir : Path
        The data folder.
    generate_if_empty : bool
        Generate the default synthetic dataset (``cldstats synth``'s defaults)
        when the folder has no submissions; only ever for the default data folder, so that a
        mistyped ``--data`` is an error rather than a silent synthetic release.

    Returns
    -------
    bool
        True when data was generated.
    """
    submissions = data_dir / "submissions"
    has_files = submissions.is_dir() and any(submissions.iterdir())
    if has_files:
        return False
    if not generate_if_empty:
        raise CldstatsError(f"no submissions in {submissions}")
    from cldstats.tools import synth

    print(f"No submissions in {submissions}: generating the synthetic dataset (first run only)...", flush=True)
    summary = synth.generate(data_dir)
    print(
        f"Generated {summary['files']} synthetic submissions ({summary['rows']:,} rows) "
        f"for {len(summary['councils'])} councils into {submissions}",
        flush=True,
    )
    return True


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() + ("-modified" if dirty else "")


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "cldstats": __version__}
    for name in RECORDED_DEPENDENCIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _window_files(data_dir: Path, month: str, cutoff: dt.date) -> list[Path]:
    """Submission files that can be selected for ``month``: submitted after its month end and on or
    before the cut-off (by the time in the file name, :func:`cldstats.measures.selection.in_window`). Files
    whose name gives no time are kept, so the data quality report names them."""
    from cldstats import ingest
    from cldstats.measures.selection import in_window

    end = month_end(month)
    return [e.path for e in ingest.list_folder(data_dir) if e.is_submission and in_window(e.submitted_at, end, cutoff)]


def _check_row_accounting(run, data_dir: Path, row_accounting: pd.DataFrame) -> None:
    """Account for every entry and every row before anything is published; else stop the run.

    Sets ``rows_used`` of ``run.submissions_table`` to the rows the method's SQL counted as used in
    this run (``row_accounting``: ``file, rows_used`` per selected file, 0 for a file not
    selected), then checks that every entry of the submissions folder, listed again now, is in the
    table, and that each row of the table has ``rows_read = rows_used + rows_excluded``
    (``rows_excluded`` from the exclusion reasons validation counted).

    Raises
    ------
    CldstatsError
        One line naming the first entry not in the table, or the first file whose rows do not add
        up (exit code 2).
    """
    from cldstats import ingest

    table = run.submissions_table
    listed = set(table["file"])
    missing = [entry for entry in ingest.list_folder(data_dir) if entry.name not in listed]
    if missing:
        raise CldstatsError(
            f"{missing[0].path}: this entry of the submissions folder is not in qa/submissions.csv (it appeared "
            f"during the run?)" + (f", nor are {len(missing) - 1} more" if len(missing) > 1 else "")
            + "; nothing was published: run again"
        )
    used_by_measures = dict(zip(row_accounting["file"], row_accounting["rows_used"], strict=True))
    table["rows_used"] = table["file"].map(used_by_measures).fillna(0).astype("int64")
    unaccounted = table[table["rows_read"] != table["rows_used"] + table["rows_excluded"]]
    if len(unaccounted):
        first = unaccounted.iloc[0]
        raise CldstatsError(
            f"{data_dir / 'submissions' / first['file']}: rows do not add up: {first['rows_read']:,} read, "
            f"{first['rows_used']:,} used by the measures, {first['rows_excluded']:,} excluded"
            + (f" (and {len(unaccounted) - 1} more files)" if len(unaccounted) > 1 else "")
            + "; nothing was published"
        )


def _manifest_inputs(results, selected_names: set[str]) -> list[dict]:
    """The manifest's ``inputs``: every entry considered for the month with the SHA-256 ingest
    computed from the bytes it read (nothing is read again); null, with the reason, for a file that
    could not be read or an entry that is not a submission file."""
    inputs = []
    for result in results:
        entry = {"file": result.file, "sha256": result.sha256, "selected": result.file in selected_names}
        if result.sha256 is None:
            entry["not_hashed"] = result.outcome
        inputs.append(entry)
    return inputs


def _england_totals(council_lts: pd.DataFrame, month_ends: list[dt.date]) -> dict[str, int]:
    """Unrounded England measure-1 totals at the last two month ends over the councils with data
    at both (docs/methodology.md section 6)."""
    if len(month_ends) < 2:
        return {}
    last_two = [d.isoformat() for d in month_ends[-2:]]
    alls = council_lts[
        council_lts["reference_date"].isin(last_two)
        & council_lts["support_setting"].eq("All")
        & council_lts["breakdown"].eq("All")
    ]
    by_council = alls.pivot_table(index="la_code", columns="reference_date", values="value", aggfunc="sum")
    both = by_council.dropna()
    return {date: int(both[date].sum()) for date in last_two if date in both}


def _previous_release(out_dir: Path, month: str, name: str) -> pd.DataFrame | None:
    """The published table ``name`` of the most recent earlier release that contains the cells
    (:func:`cldstats.disclosure.previous_release_folder`), as text."""
    from cldstats.disclosure.control import previous_release_folder

    folder = previous_release_folder(out_dir, month, name)
    return None if folder is None else pd.read_csv(folder / "data" / f"{name}.csv", dtype=str, keep_default_na=False)


def _write_manifest(build_dir: Path, manifest: dict) -> None:
    (build_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    # Fixed line ending and no index: the same inputs give byte-identical files; formula-like
    # text is neutralised (CSV injection).
    from cldstats.core import safe_output

    return safe_output.write_csv(frame, path)


def _may_differ(path: Path) -> bool:
    """Executed notebooks (papermill's execution times) and HTML with a run-time line."""
    if path.suffix == ".ipynb":
        return True
    return path.suffix == ".html" and RUN_TIME_LINE in path.read_bytes()


def _output_digests(build: Path) -> tuple[dict[str, str], dict[str, str]]:
    """SHA-256 of every file of the build but the manifest: (must match, may differ)."""
    must, may = {}, {}
    for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != "manifest.json"):
        (may if _may_differ(path) else must)[path.relative_to(build).as_posix()] = sha256_of_file(path)
    return must, may


def _rejected_files(table: pd.DataFrame) -> list[str]:
    if not len(table):
        return []
    rejected = table["outcome"].astype(str).str.startswith("rejected")
    return table.loc[rejected, "file"].astype(str).tolist()


def _disclose_and_check(params, out_dir: Path, month: str, lts_area, rates, assessed_area):
    """Published tables (with ``[r]`` against the previous release), their unrounded sources, the
    previous release's tables they were compared with (read once, for the revisions table too), and
    the Great Expectations consistency results over both (docs/methodology.md section 7)."""
    from cldstats import disclosure, quality

    settings = disclosure.disclosure_settings(params)
    names = ("long_term_support", "long_term_support_rates", "assessments")
    previous = {name: _previous_release(out_dir, month, name) for name in names}
    published = {
        "long_term_support": disclosure.published_long_term_support(
            lts_area, previous["long_term_support"], **settings
        ),
        "long_term_support_rates": disclosure.published_rates(
            rates, previous["long_term_support_rates"], settings["suppress_max"]
        ),
        "assessments": disclosure.published_assessments(assessed_area, previous["assessments"], **settings),
    }
    unrounded = {"long_term_support": lts_area, "long_term_support_rates": rates, "assessments": assessed_area}
    checks = {}
    for name in ("long_term_support", "assessments"):
        for check, frame in disclosure.consistency_frames(unrounded[name], published[name]).items():
            checks[f"{name}: {check}"] = frame
    return published, unrounded, previous, quality.check_output_consistency(checks)


def publish_month(
    month: str,
    *,
    params_file: Path | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
    out_dir: Path = Path("reports"),
    progress: bool = True,
    timer: StageTimer | None = None,
    store_dir: Path | None = None,
) -> PublishResult:
    """Publish one reference month (see the module docstring for the steps).

    Parameters
    ----------
    month : str
        Reference month ``"YYYY-MM"``.
    params_file : Path, optional
        Params merged over ``params/defaults.yaml`` and ``params/<month>.yaml``.
    data_dir : Path
        Data folder with ``submissions/``; the default folder is filled with synthetic data when
        empty.
    out_dir : Path
        Reports folder; the release goes to ``out_dir/<month>/``.
    progress : bool
        Show progress bars and the run log on stderr (the log file is written either way).
    timer : cldstats.pipeline.timing.StageTimer, optional
        Receives wall time, CPU time, peak memory and rows of each stage (``make bench``).
    store_dir : Path, optional
        The submission store (default ``data_dir/store``): files stored by an earlier run are not
        read, pseudonymised or validated again.

    Returns
    -------
    PublishResult

    Raises
    ------
    CldstatsError
        Bad params, no data, no key for real data, unwritable output folder.
    GateStop
        The publication-level gate stopped the run (its QA outputs are kept and named).
    cldstats.pipeline.runlock.RunLocked
        Another run is publishing the same month (exit code 4; the message names it).
    """

    started = time.perf_counter()
    timer = timer if timer is not None else StageTimer()
    params = load_params(month, params_file)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    ensure_data(data_dir, generate_if_empty=data_dir == DEFAULT_DATA_DIR)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CldstatsError(f"cannot create the reports folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise CldstatsError(f"the reports folder {out_dir} is not writable")
    # Bad input is refused before the run takes the lock or writes anything.
    cutoff = dt.date.fromisoformat(params["cutoff"])
    from cldstats import ingest
    from cldstats.ingest import pseudonymise

    synthetic = ingest.is_synthetic(data_dir)

    key = pseudonymise.load_key(params["pseudonymisation"]["key_file"] or None, synthetic=synthetic)
    window = _window_files(data_dir, month, cutoff)
    if not window:
        raise CldstatsError(
            f"no submission in {data_dir / 'submissions'} was made after {month_end(month)} and on or before "
            f"the cut-off {cutoff}: nothing can be published for {month}"
        )

    started_at = dt.datetime.now(dt.UTC)
    run_id = started_at.strftime("%Y%m%dT%H%M%SZ")
    log_name = f"logs/{month}-{run_id}.log"
    lock = MonthLock(out_dir, month, details={"run_id": run_id, "log_file": log_name})
    with lock, _run_log(out_dir / log_name, to_stderr=progress):
        LOG.info("publish %s: run %s (pid %d), %d submissions in the month's window, reports folder %s",
                 month, run_id, os.getpid(), len(window), out_dir)
        if lock.stale:
            LOG.warning(
                "recovery: the lock %s was left by run %s (pid %s on %s since %s, log %s), which is no "
                "longer running: taken over", lock.path.name, lock.stale.get("run_id", "?"), lock.stale.get("pid", "?"),
                lock.stale.get("host", "?"), lock.stale.get("since", "?"), lock.stale.get("log_file", "?"),
            )
        recover(out_dir, month)
        build = build_folder(out_dir, month, run_id)
        build.mkdir()
        run = _Run(month, params, data_dir, out_dir, build, run_id, started, started_at, log_name, synthetic, key,
                   window, Path(store_dir) if store_dir is not None else data_dir / "store")
        try:
            result = _build_release(run, timer, progress)
        except CldstatsError as exc:
            LOG.error("run stopped: %s", exc)
            raise
        except BaseException as exc:
            LOG.error("run failed: %s", _failure(exc))
            raise
        finally:
            # Whatever stopped the run, no half-built release is left behind (a gate stop has
            # moved its QA outputs aside and says where). Its notebook kernels have ended by now
            # (render.run_notebooks stops them even when interrupted): none runs in a deleted folder.
            with interrupts_held():
                if build.exists():
                    shutil.rmtree(build, ignore_errors=True)
        LOG.info("published %s in %.0f s: release %s%s", month, time.perf_counter() - started, result.release_dir,
                 f"; the previous release is kept in {result.previous_release}" if result.previous_release else "")
        result.seconds = time.perf_counter() - started
        return result


@dataclass
class _Run:
    """What :func:`publish_month` settled before building: the inputs of :func:`_build_release`."""

    month: str
    params: dict
    data_dir: Path
    out_dir: Path
    build: Path
    run_id: str
    started: float
    started_at: dt.datetime
    log_name: str
    synthetic: bool
    key: object
    window: list[Path]
    store_dir: Path


def _build_release(r: _Run, timer: StageTimer, progress: bool) -> PublishResult:
    """The body of :func:`publish_month`, filling ``r.build`` and moving it into place.

    The council data quality pages and the workbooks are written in a second process
    (:mod:`cldstats.pipeline.background`) beside the stages after them; the second process has ended
    (killed, when the run failed) before this returns or raises.
    """
    with Background() as side:
        return _build_in(r, timer, progress, side)


def _submit(side: Background, name: str, func, *args, writes: Path, **kwargs) -> Pending:
    """Start stage ``name`` in the second process; :func:`_finish` waits for it."""
    LOG.info("stage start: %s", name)
    return side.submit(name, func, *args, writes=writes, **kwargs)


def _finish(timer: StageTimer, side: Background, pending: Pending):
    """Wait for a stage started by :func:`_submit`; time it as the second process measured it."""
    with _failure_logged(pending.name):
        value, figures = side.wait(pending)
    notes = (f"in a second process beside the next stages; the release waited "
             f"{figures['waited_seconds']:.1f} s for it")
    timer.results.append(StageResult(pending.name, figures["wall_seconds"], figures["cpu_seconds"],
                                     figures["peak_rss_mb"], notes=notes,
                                     peak_rss_mb_parent=figures["peak_rss_mb"]))
    LOG.info("stage done: %s in %.1f s; %s", pending.name, figures["wall_seconds"], notes)
    return value


def _build_in(r: _Run, timer: StageTimer, progress: bool, side: Background) -> PublishResult:
    """:func:`_build_release` with its second process ``side``."""
    from cldstats import disclosure, quality
    from cldstats.measures import areas, engine, selection
    from cldstats.publication import charts, render, tables
    from cldstats.reference import statements

    month, params, data_dir, out_dir, build_dir, key, window = (
        r.month, r.params, r.data_dir, r.out_dir, r.build, r.key, r.window
    )

    with _stage(timer, "ingest and validate (files in the month's window)", writes=build_dir / "qa") as stage:
        # Every entry of the folder is listed; those outside the month's window are not validated.
        # Files already in the submission store are not read again: their stored results are used.
        run = validation.validate_folder(
            data_dir, build_dir, params, progress=progress, key=key, window=True, store_dir=r.store_dir,
            council_reports=False,
        )
        stage.rows = run.rows_read
        outcomes = run.outcome_counts()
        rejected_files = _rejected_files(run.submissions_table)
        stage.notes = (f"{len(run.entries)} folder entries, {len(run.results)} in the month's window "
                       f"({run.ingested} read now, {run.from_store} from the store): "
                       + ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
                       + f"; {len(run.ties())} ties")
    # Read by the QA notebook only, and kept when the gate stops the run: waited for before either.
    pages_dir = build_dir / "qa" / "data_quality"
    council_pages = _submit(side, "council data quality pages", quality.write_council_reports,
                            run.results, pages_dir, writes=pages_dir)
    catalogue = run.catalogue
    chosen = catalogue[catalogue["selected"].astype(bool)].sort_values("la_code")
    if chosen.empty:
        # No override can publish a release with no council in it: the QA outputs say why.
        _finish(timer, side, council_pages)
        stopped = out_dir / f".stopped-{month}-{r.run_id}"
        build_dir.rename(stopped)
        raise CldstatsError(
            f"no submission can be selected for {month}: {len(window)} in the month's window, "
            f"{outcomes.get('rejected', 0)} rejected by the data quality gate; nothing can be published "
            f"(see {stopped / 'qa' / 'submissions.csv'})"
        )

    with _stage(timer, "measures: the method's SQL on the stored submissions (DuckDB)") as stage:
        month_ends = release_month_ends(month, int(params["release_month_ends"]), params["collection_start"])
        method = engine.run_method(catalogue, params, month_ends)
        council_lts, council_assessed = method.long_term_support, method.people_assessed
        stage.rows = int(chosen["records"].sum())
        stage.notes = (f"{len(chosen)} files selected, {method.derived} derived now; SQL steps (wall s): "
                       + ", ".join(f"{k} {v:.2f}" for k, v in method.seconds.items() if not k.endswith("(CPU)")))
    with _stage(timer, "measures: regions, England and rates") as stage:
        lts_periods = [d.isoformat() for d in month_ends]
        assessed_periods = [d.strftime("%Y-%m") for d in month_ends] + ["Total"]
        lts_area = areas.area_table(council_lts, lts_periods)
        rates = areas.rates_unrounded(lts_area)
        assessed_area = areas.area_table(council_assessed, assessed_periods)
        stage.rows = len(council_lts) + len(council_assessed)
        stage.notes = f"{len(lts_area):,} long-term support cells, {len(assessed_area):,} assessment cells"
    with _stage(timer, "row accounting") as stage:
        # Before anything is published: every entry listed, every row read used or excluded.
        _check_row_accounting(run, data_dir, method.row_accounting)
        run.write_submissions(build_dir / "qa")
        stage.rows = int(run.submissions_table["rows_read"].sum())
        stage.notes = f"{len(run.submissions_table)} folder entries accounted for"
    _finish(timer, side, council_pages)

    councils_selected, share = selection.coverage(catalogue)
    decision = quality.publication_gate(share, _england_totals(council_lts, month_ends), params)
    LOG.info("gate: %s", decision.message())
    if not decision.proceed:
        stopped = out_dir / f".stopped-{month}-{r.run_id}"
        build_dir.rename(stopped)
        raise GateStop(f"{decision.message()}; data quality outputs of this run are in {stopped / 'qa'}")

    with _stage(timer, "disclosure control and output checks"):
        published, unrounded, previous, consistency = _disclose_and_check(
            params, out_dir, month, lts_area, rates, assessed_area
        )
    if not consistency["success"]:
        failed = ", ".join(consistency["failed_checks"])
        stopped = out_dir / f".stopped-{month}-{r.run_id}"
        build_dir.rename(stopped)
        raise CldstatsError(f"output consistency checks failed ({failed}); outputs kept in {stopped}")

    # Revisions (docs/methodology.md section 7): each [r] cell with its published value in the release
    # it was compared with and now; header only when nothing is revised. Restricted: QA reads it.
    compared_with = disclosure.previous_release_label(out_dir, month)
    revisions = disclosure.revisions_table(published, previous, compared_with)
    # The words about the method (rounding, suppression, adult age, look-back) come from the run's params.
    facts = statements.MethodFacts.from_params(params)
    release_info = tables.ReleaseInfo(
        month=month,
        reference_date=month_end(month),
        councils_selected=councils_selected,
        publication_date=dt.date.fromisoformat(params["publication"]["date"]),
        facts=facts,
        revised_cells=tables.count_revised_cells(published),
        override_reason=decision.override_reason,
        gate_message=decision.message(),
        contact_email=params["publication"]["contact_email"],
        previous_release=compared_with,
        next_update=tables.next_update(params),
    )
    # Written beside the CSV files and the charts; the manifest and the notebooks wait for them.
    workbooks = _submit(side, "accessible spreadsheets", tables.write_workbooks, published, release_info,
                        build_dir / "spreadsheets", revisions=revisions, writes=build_dir / "spreadsheets")
    with _stage(timer, "write tables and QA outputs", writes=build_dir) as stage:
        files: dict[str, Path] = {}
        for name, frame in published.items():
            files[f"data/{name}.csv"] = _write_csv(frame, build_dir / "data" / f"{name}.csv")
        for name, frame in unrounded.items():
            files[f"qa/{name}_unrounded.csv"] = _write_csv(frame, build_dir / "qa" / f"{name}_unrounded.csv")
        consistency_path = build_dir / "qa" / "output_consistency.json"
        consistency_path.write_text(json.dumps(consistency, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        files["qa/revisions.csv"] = _write_csv(revisions, build_dir / "qa" / "revisions.csv")
        stage.notes = f"{len(files)} CSV files; {len(revisions)} revisions"
    with _stage(timer, "charts", writes=build_dir / "charts") as stage:
        made = charts.make_charts(published, build_dir / "charts", facts=facts)
        for chart in made:
            files[f"charts/{chart.png.name}"] = chart.png
            files[f"charts/{chart.svg.name}"] = chart.svg
        stage.notes = f"{len(made)} charts"
    # The pages list the workbooks with their sizes, and the manifest their digests.
    for path in _finish(timer, side, workbooks):
        files[f"spreadsheets/{path.name}"] = path
    with _stage(timer, "manifest", writes=build_dir / "manifest.json"):
        selected_names = set(chosen["file"])
        manifest = {
            "month": month,
            "reference_date": month_end(month).isoformat(),
            "params": params,
            "synthetic_data": r.synthetic,
            "pseudonymisation_key": key.source,
            "inputs": _manifest_inputs(run.results, selected_names),
            "versions": _versions(),
            "git_commit": _git_commit(),
            "gate": {
                "coverage": round(decision.coverage, 4),
                "councils_selected": councils_selected,
                # To 0.01%: enough to audit the gate, too coarse to rebuild unrounded England totals.
                "month_change": None if decision.month_change is None else round(decision.month_change, 4),
                "failures": list(decision.failures),
                "override_reason": decision.override_reason,
                "message": decision.message(),
                "submission_outcomes": outcomes,
            },
            "outputs": _output_digests(build_dir)[0],
            # Everything above must match between two runs on the same inputs, params and code;
            # only what is below may differ (module docstring).
            "may_differ": {
                "run_id": r.run_id,
                "host": platform.node(),
                "pid": os.getpid(),
                "started_at": r.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "seconds": None,
                "argv": sys.argv[1:],
                "log_file": r.log_name,
                # How many files this run read and how many came from the store differs between a
                # first run and a rerun; the published outputs do not.
                "submission_store": {"folder": str(run.store_dir), "read_and_validated": run.ingested,
                                     "from_store": run.from_store},
                "outputs": {},
            },
        }
        # Written now so the QA report's gate section can read it; rewritten below with the reports.
        _write_manifest(build_dir, manifest)

    with _stage(timer, "notebooks (papermill)", writes=build_dir) as stage:
        executed = render.run_notebooks(
            build_dir, month, progress=progress, change_threshold=str(params["gate"]["max_month_change"]), inside=True
        )
        stage.notes = f"{len(executed)} notebooks executed"
    with _stage(timer, "HTML reports", writes=build_dir) as stage:
        renderer = render.render_html(executed, build_dir / "html")
        may_differ = manifest.pop("may_differ")
        manifest["renderer"] = renderer
        manifest["outputs"], may_differ["outputs"] = _output_digests(build_dir)
        may_differ["seconds"] = round(time.perf_counter() - r.started, 1)
        manifest["may_differ"] = may_differ  # kept last
        _write_manifest(build_dir, manifest)
        stage.notes = f"rendered by {renderer}"

    release_dir = out_dir / month
    LOG.info("placing the release: %s -> %s", build_dir.name, month)
    previous = place_release(build_dir, release_dir, r.run_id)
    with naming_path(out_dir / "index.html"):
        render.write_index(out_dir)
    return PublishResult(
        month=month,
        release_dir=release_dir,
        files={k: release_dir / k for k in files},
        gate_message=decision.message(),
        councils_selected=councils_selected,
        seconds=time.perf_counter() - r.started,
        timer=timer,
        run_id=r.run_id,
        log_file=out_dir / r.log_name,
        submission_outcomes=outcomes,
        rejected_files=rejected_files,
        previous_release=previous,
        folder_entries=len(run.submissions_table),
        not_validated=run.not_validated,
        ties=run.ties(),
        ingested=run.ingested,
        from_store=run.from_store,
        store_dir=run.store_dir,
    )


def run_cli(args) -> int:
    """``cldstats publish``: publish a month and say what was produced and where."""
    result = publish_month(args.month, params_file=args.params, data_dir=args.data, out_dir=args.out,
                           store_dir=args.store)
    release = result.release_dir
    print(f"Published {result.month} in {result.seconds:.0f} s: {result.councils_selected} of "
          f"{len(reference.councils())} councils selected.")
    print(f"  {result.gate_message}")
    outcomes = result.submission_outcomes
    print(f"  submissions:        {sum(outcomes.values())} in the month's window: "
          f"{outcomes.get('accepted', 0)} accepted, {outcomes.get('accepted with warnings', 0)} accepted with "
          f"warnings, {outcomes.get('rejected', 0)} rejected")
    print(f"  submission store:   {result.ingested} read and validated now, {result.from_store} from the store "
          f"({result.store_dir})")
    where = release / "qa" / "submissions.csv"
    if result.rejected_files:
        named = ", ".join(result.rejected_files[:REJECTED_NAMED])
        more = len(result.rejected_files) - REJECTED_NAMED
        print(f"  rejected:           {named}" + (f" and {more} more, see {where}" if more > 0 else f" (see {where})"))
    print(f"  folder entries:     {result.folder_entries}, all listed in {where}: {result.not_validated} outside the "
          f"month's window (not validated)")
    for line in result.ties:
        print(f"  tie:                {line}")
    print(f"  release folder:     {release}")
    print(f"  published tables:   {release / 'data'}")
    print(f"  spreadsheets:       {release / 'spreadsheets'}")
    print(f"  charts:             {release / 'charts'}")
    print(f"  data quality (QA):  {release / 'qa' / 'data_quality'}")
    print(f"  executed notebooks: {release / 'notebooks'} (QA: {release / 'qa' / 'notebooks'})")
    print("HTML reports:")
    print(f"  publication report: {release / 'html' / 'publication.html'}")
    print(f"  QA report:          {release / 'qa' / 'qa.html'} (restricted)")
    print(f"  all releases:       {args.out / 'index.html'}")
    if result.previous_release is not None:
        print(f"  previous release:   {result.previous_release}")
    print(f"  run log:            {result.log_file}")
    return 0
