"""``cldstats publish``: one release, from submissions to ``reports/<YYYY-MM>/`` (``--month``) or,
for a quarterly release as DHSC publishes it (``--quarter``), ``reports/data-to-<month>-<year>/``.

**Monthly and quarterly releases.** ``--month 2026-03`` publishes the release of reference month
March 2026 in ``reports/2026-03/``. ``--quarter 2026-03`` publishes the release DHSC calls "data
to March 2026": the quarter is named by its last month (March, June, September or December), the
tables hold the 12 month ends ending at it (:data:`cldstats.reference.calendar.QUARTER_RELEASE_MONTH_ENDS`,
so ``release_month_ends`` must be 12), each council's months come from its latest file as of the
as-of date (``selection.as_of``), and the release goes to ``reports/data-to-march-2026/``
(:func:`cldstats.reference.calendar.release_folder`: DHSC's words, which no month folder can take).
Its params are those of its last month (``params/2026-03.yaml``); its ``[r]`` flags compare it with
the latest earlier quarterly release. The two kinds never share a folder, a lock or a log name.
Below, "the month" of a quarterly release is its last month and its folder is ``data-to-…``.

The run, in order (DESIGN.md flow; docs/methodology.md sections 2 to 7):

1. resolve the params (``params/defaults.yaml`` + ``params/<month>.yaml`` + ``--params``);
2. refuse bad input before anything is written (params, data folder, key, a month with no
   submission in its window; ``make publish`` generates the synthetic data first, ``cldstats
   synth``);
3. validate the submissions that can matter for the month (submitted after its month end and on or
   before the cut-off), select one file per council and account for every row
   (:mod:`cldstats.pipeline.validation`, :mod:`cldstats.pipeline.accounting`: a file whose rows
   read are not the rows the method's SQL used plus those excluded stops the run, naming it);
   ``qa/submissions.csv`` lists every entry of the submissions folder (the others as not validated);
4. compute the two measures from the selected files, unrounded; an entry of the folder missing from
   ``qa/submissions.csv`` stops the run before anything is written;
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

**Run log** (:mod:`cldstats.pipeline.run_log`) and **manifest** (:mod:`cldstats.pipeline.manifest`):
each stage's start and finish go to ``reports/logs/<YYYY-MM>-<run id>.log``; ``manifest.json``
separates what two runs on the same inputs must reproduce from what may differ. The steps of a
release are :mod:`cldstats.pipeline.release`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from cldstats import ingest, reference
from cldstats.core.errors import CldstatsError, interrupts_held
from cldstats.ingest import pseudonymise
from cldstats.ingest.extract import split_extract
from cldstats.measures.selection import in_window
from cldstats.pipeline.accounting import folder_hand_matches
from cldstats.pipeline.release import PublishResult, Run, build_release
from cldstats.pipeline.run_log import LOG, failure_text, run_log
from cldstats.pipeline.runlock import MonthLock, build_folder, recover
from cldstats.pipeline.timing import StageTimer
from cldstats.reference.calendar import QUARTER_RELEASE_MONTH_ENDS, check_quarter, month_end, release_folder
from cldstats.reference.params import as_of, load_params

__all__ = ["DEFAULT_DATA_DIR", "PublishResult", "publish_month", "require_submissions", "run_cli", "window_files"]

#: The default data folder (``make publish`` fills it with synthetic data on a first run).
DEFAULT_DATA_DIR = Path("data")
#: Rejected files named in the command line's summary; the rest are counted.
REJECTED_NAMED = 5


def require_submissions(data_dir: Path) -> None:
    """Refuse a data folder without submissions, saying how to make synthetic ones.

    Raises
    ------
    CldstatsError
        ``data_dir/submissions`` is missing or empty.
    """
    submissions = data_dir / "submissions"
    if not (submissions.is_dir() and any(submissions.iterdir())):
        raise CldstatsError(f"no submissions in {submissions} (synthetic ones: cldstats synth --out {data_dir})")


def window_files(data_dir: Path, month: str, cutoff: dt.date) -> list[Path]:
    """Submission files that can be selected for ``month``: submitted after its month end and on or
    before the cut-off (by the time in the file name, :func:`cldstats.measures.selection.in_window`).
    Files whose name gives no time are kept, so the data quality report names them."""
    end = month_end(month)
    return [e.path for e in ingest.list_folder(data_dir) if e.is_submission and in_window(e.submitted_at, end, cutoff)]


def publish_month(
    month: str,
    *,
    params_file: Path | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
    out_dir: Path = Path("reports"),
    progress: bool = True,
    timer: StageTimer | None = None,
    store_dir: Path | None = None,
    quarterly: bool = False,
    extract: list[Path] | None = None,
) -> PublishResult:
    """Publish one reference month, or the quarterly release ending at it (see the module docstring
    for the steps).

    Parameters
    ----------
    month : str
        Reference month ``"YYYY-MM"``; with ``quarterly``, the last month of the quarter.
    params_file : Path, optional
        Params merged over ``params/defaults.yaml`` and ``params/<month>.yaml``.
    data_dir : Path
        Data folder with ``submissions/``.
    out_dir : Path
        Reports folder; the release goes to ``out_dir/<month>/``.
    progress : bool
        Show progress bars and the run log on stderr (the log file is written either way).
    timer : cldstats.pipeline.timing.StageTimer, optional
        Receives wall time, CPU time, peak memory and rows of each stage (``make bench``).
    store_dir : Path, optional
        The submission store (default ``data_dir/store``, or beside the first export with
        ``extract``): files stored by an earlier run are not read, pseudonymised or validated again.
    quarterly : bool
        Publish the quarterly release "data to <month>" in ``out_dir/data-to-<month>-<year>/``.
    extract : list of Path, optional
        Exports of NHS England's pseudonymised national table (CSV or Parquet), read instead of
        ``data_dir`` (:func:`cldstats.pipeline.validation.validate_extract`).

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
    if quarterly:
        check_quarter(month)  # before the params: the option is what is wrong
    params = load_params(month, params_file)
    if quarterly:
        _check_quarter_months(params)
    release = release_folder(month, quarterly)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    # Bad input is refused before the run takes the lock or writes anything.
    extract = tuple(Path(p) for p in extract or ())
    if extract:
        synthetic, key, window, parts = _refuse_bad_extract(month, params, extract, out_dir)
    else:
        synthetic, key, window = _refuse_bad_input(month, params, data_dir, out_dir)
        parts = None
    store_dir = store_dir if store_dir is not None or not extract else extract[0].parent / "store"

    started_at = dt.datetime.now(dt.UTC)
    run_id = started_at.strftime("%Y%m%dT%H%M%SZ")
    log_name = f"logs/{release}-{run_id}.log"
    lock = MonthLock(out_dir, release, details={"run_id": run_id, "log_file": log_name})
    with lock, run_log(out_dir / log_name, to_stderr=progress):
        LOG.info("publish %s: run %s (pid %d), %d submissions in the month's window, reports folder %s",
                 release, run_id, os.getpid(), len(window), out_dir)
        _log_stale_lock(lock)
        recover(out_dir, release)
        build = build_folder(out_dir, release, run_id)
        build.mkdir()
        run = Run(month, params, data_dir, out_dir, build, run_id, started, started_at, log_name, synthetic, key,
                  window, Path(store_dir) if store_dir is not None else data_dir / "store", quarterly=quarterly,
                  extract=extract, extract_parts=parts)
        result = _build_and_clean_up(run, timer, progress)
        LOG.info("published %s in %.0f s: release %s%s", release, time.perf_counter() - started, result.release_dir,
                 f"; the previous release is kept in {result.previous_release}" if result.previous_release else "")
        result.seconds = time.perf_counter() - started
        return result


def _check_quarter_months(params: dict) -> None:
    """A quarterly release shows DHSC's 12 months.

    Raises
    ------
    CldstatsError
        The params set ``release_month_ends`` to another number.
    """
    if int(params["release_month_ends"]) != QUARTER_RELEASE_MONTH_ENDS:
        raise CldstatsError(f"--quarter publishes DHSC's {QUARTER_RELEASE_MONTH_ENDS} monthly columns, but params key "
                            f"'release_month_ends' is {params['release_month_ends']}: leave it at "
                            f"{QUARTER_RELEASE_MONTH_ENDS} for a quarterly release")


def _refuse_bad_input(month: str, params: dict, data_dir: Path, out_dir: Path):
    """The data folder, the reports folder, the key and the month's window, checked before the run
    takes the lock: (synthetic data?, key, files in the month's window), or a one-line error."""
    require_submissions(data_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CldstatsError(f"cannot create the reports folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise CldstatsError(f"the reports folder {out_dir} is not writable")
    cutoff = as_of(params)
    synthetic = ingest.is_synthetic(data_dir)
    key = pseudonymise.load_key(params["pseudonymisation"]["key_file"] or None, synthetic=synthetic)
    # A hand entry naming no file stops the run here; a file included by hand is in the window.
    entries = ingest.list_folder(data_dir)
    hand = folder_hand_matches(entries, params)
    included = set(hand.loc[hand["hand"] == "include", "file"])
    window = window_files(data_dir, month, cutoff)
    window += [e.path for e in entries if e.name in included and e.path not in window]
    if not window:
        raise CldstatsError(
            f"no submission in {data_dir / 'submissions'} was made after {month_end(month)} and on or before "
            f"the cut-off {cutoff}: nothing can be published for {month}"
        )
    return synthetic, key, window


def _refuse_bad_extract(month: str, params: dict, extract: tuple[Path, ...], out_dir: Path):
    """As :func:`_refuse_bad_input` for the national extract: (synthetic?, key, the submissions in
    the month's window by name, every submission of the exports), or a one-line error."""
    parts = split_extract(extract)  # refuses clear personal columns and unmatched councils
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CldstatsError(f"cannot create the reports folder {out_dir}: {exc.strerror}") from None
    synthetic = all(ingest.is_synthetic(p.parent) for p in extract)
    key = pseudonymise.load_key(params["pseudonymisation"]["key_file"] or None, synthetic=synthetic)
    cutoff = as_of(params)
    window = [Path(p.name) for p in parts if in_window(p.submitted_at, month_end(month), cutoff)]
    if not window:
        raise CldstatsError(f"no submission in {extract[0]} was imported after {month_end(month)} and on or before "
                            f"the cut-off {cutoff}: nothing can be published for {month}")
    return synthetic, key, window, parts


def _log_stale_lock(lock: MonthLock) -> None:
    """Say in the run log that the month's lock was left by a run that is no longer running."""
    if lock.stale:
        LOG.warning(
            "recovery: the lock %s was left by run %s (pid %s on %s since %s, log %s), which is no "
            "longer running: taken over", lock.path.name, lock.stale.get("run_id", "?"), lock.stale.get("pid", "?"),
            lock.stale.get("host", "?"), lock.stale.get("since", "?"), lock.stale.get("log_file", "?"),
        )


def _build_and_clean_up(run: Run, timer: StageTimer, progress: bool) -> PublishResult:
    """Build the release; however the build ends, log how and leave no half-built folder behind."""
    try:
        return build_release(run, timer, progress)
    except CldstatsError as exc:
        LOG.error("run stopped: %s", exc)
        raise
    except BaseException as exc:
        LOG.error("run failed: %s", failure_text(exc))
        raise
    finally:
        # Whatever stopped the run, no half-built release is left behind (a gate stop has moved
        # its QA outputs aside and says where). Its notebook kernels have ended by now
        # (render.run_notebooks stops them even when interrupted): none runs in a deleted folder.
        with interrupts_held():
            if run.build.exists():
                shutil.rmtree(run.build, ignore_errors=True)


def run_cli(args) -> int:
    """``cldstats publish``: publish a month (``--month``) or a quarter (``--quarter``), from the data
    folder or the national extract (``--extract``), and say what was produced and where."""
    quarter = getattr(args, "quarter", None)
    result = publish_month(quarter or args.month, params_file=args.params, data_dir=args.data, out_dir=args.out,
                           store_dir=args.store, quarterly=quarter is not None, extract=getattr(args, "extract", None))
    release = result.release_dir
    # A month is named as it always was (2024-03); a quarter as DHSC names it (data to March 2026).
    named = result.title if quarter else result.month
    print(f"Published {named} in {result.seconds:.0f} s: {result.councils_selected} of "
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
