"""``cldstats publish``: one monthly release, from submissions to ``reports/<YYYY-MM>/``.

The run, in order (DESIGN.md flow; METHODOLOGY.md sections 2 to 7):

1. resolve the params (``params/defaults.yaml`` + ``params/<month>.yaml`` + ``--params``);
2. on a first run with the default data folder empty, generate the synthetic dataset;
3. validate the submissions that can matter for the month (submitted after its month end and on or
   before the cut-off), write the ``qa/`` data quality outputs, and select one file per council;
4. compute the two measures from the selected files, unrounded;
5. apply the publication-level gate (coverage, England month-on-month change, override);
6. apply disclosure control, with ``[r]`` against the most recent earlier release of each cell;
7. check the published tables' consistency with a Great Expectations suite;
8. write the tables and ``manifest.json``, all in a temporary folder that replaces
   ``reports/<YYYY-MM>/`` only when everything passed; the replaced release is kept under
   ``reports/<YYYY-MM>/releases/<its run time>/``.

Unrounded figures are written only under ``qa/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats import __version__
from cldstats.bench import StageTimer
from cldstats.errors import CldstatsError, GateStop
from cldstats.params import load_params, month_end, release_month_ends

__all__ = ["PublishResult", "ensure_data", "publish_month", "run_cli"]

#: The default data folder: generated with synthetic data on a first run when empty.
DEFAULT_DATA_DIR = Path("data")
#: Libraries whose versions the manifest records.
RECORDED_DEPENDENCIES = (
    "great-expectations", "gptables", "matplotlib", "nbclient", "nbconvert", "numpy", "pandas",
    "papermill", "pyarrow", "pyyaml",
)


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


def ensure_data(data_dir: Path, *, generate_if_empty: bool) -> bool:
    """Make sure ``data_dir`` holds submissions; generate synthetic data on a first run.

    Parameters
    ----------
    data_dir : Path
        The data folder.
    generate_if_empty : bool
        Generate the default synthetic dataset (scale 0.02, seed 2023, April 2023 to March 2024)
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
    from cldstats import synth

    print(f"No submissions in {submissions}: generating the synthetic dataset (first run only)...", flush=True)
    summary = synth.generate(data_dir)
    print(
        f"Generated {summary['files']} synthetic submissions ({summary['rows']:,} rows) "
        f"for {len(summary['councils'])} councils into {submissions}",
        flush=True,
    )
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[1]
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
    """Submissions that can be selected for ``month``: submitted after its month end and on or
    before the cut-off (by the date in the file name). Files whose name gives no date are kept, so
    the data quality report names them."""
    from cldstats import ingest

    end = month_end(month)
    kept = []
    for path in ingest.list_submissions(data_dir):
        _, submitted_at = ingest.parse_file_name(path.name)
        if submitted_at is None or end < submitted_at.date() <= cutoff:
            kept.append(path)
    return kept


def _england_totals(council_lts: pd.DataFrame, month_ends: list[dt.date]) -> dict[str, int]:
    """Unrounded England measure-1 totals at the last two month ends over the councils with data
    at both (METHODOLOGY.md section 6)."""
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
    """The published table ``name`` of the most recent earlier release that contains the cells:
    an earlier run of the same month, else the latest earlier month (METHODOLOGY.md section 7)."""
    same = out_dir / month / "data" / f"{name}.csv"
    if same.exists():
        return pd.read_csv(same, dtype=str, keep_default_na=False)
    earlier = sorted(
        p.name for p in out_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < month
    )
    for candidate in reversed(earlier):
        path = out_dir / candidate / "data" / f"{name}.csv"
        if path.exists():
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    return None


def _write_manifest(build_dir: Path, manifest: dict) -> None:
    (build_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed line ending and no index: the same inputs give byte-identical files.
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def _place_release(build_dir: Path, release_dir: Path, run_stamp: str) -> None:
    """Move the finished build into ``release_dir``, keeping the release it replaces.

    The old release is first renamed aside, so at every moment either the old or the new release
    is complete at ``release_dir``; its history and itself then move under ``releases/``.
    """
    aside = None
    if release_dir.exists():
        aside = release_dir.with_name(f".replaced-{release_dir.name}-{run_stamp}")
        release_dir.rename(aside)
    build_dir.rename(release_dir)
    if aside is not None:
        history = release_dir / "releases"
        history.mkdir(exist_ok=True)
        if (aside / "releases").is_dir():
            for old in sorted((aside / "releases").iterdir()):
                old.rename(history / old.name)
            (aside / "releases").rmdir()
        previous_stamp = "previous"
        manifest = aside / "manifest.json"
        if manifest.exists():
            previous_stamp = json.loads(manifest.read_text(encoding="utf-8"))["run"]["run_id"]
        aside.rename(history / previous_stamp)


def _disclose_and_check(params, out_dir: Path, month: str, lts_area, rates, assessed_area):
    """Published tables (with ``[r]`` against the previous release), their unrounded sources, and
    the Great Expectations consistency results over both (METHODOLOGY.md section 7)."""
    from cldstats import disclosure, quality

    settings = disclosure.disclosure_settings(params)
    published = {
        "long_term_support": disclosure.published_long_term_support(
            lts_area, _previous_release(out_dir, month, "long_term_support"), **settings
        ),
        "long_term_support_rates": disclosure.published_rates(
            rates, _previous_release(out_dir, month, "long_term_support_rates"), settings["suppress_max"]
        ),
        "assessments": disclosure.published_assessments(
            assessed_area, _previous_release(out_dir, month, "assessments"), **settings
        ),
    }
    unrounded = {"long_term_support": lts_area, "long_term_support_rates": rates, "assessments": assessed_area}
    checks = {}
    for name in ("long_term_support", "assessments"):
        for check, frame in disclosure.consistency_frames(unrounded[name], published[name]).items():
            checks[f"{name}: {check}"] = frame
    return published, unrounded, quality.check_output_consistency(checks)


def publish_month(
    month: str,
    *,
    params_file: Path | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
    out_dir: Path = Path("reports"),
    progress: bool = True,
    timer: StageTimer | None = None,
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
        Show progress on stderr.
    timer : cldstats.bench.StageTimer, optional
        Receives wall time, CPU time, peak memory and rows of each stage (``make bench``).

    Returns
    -------
    PublishResult

    Raises
    ------
    CldstatsError
        Bad params, no data, no key for real data, unwritable output folder.
    GateStop
        The publication-level gate stopped the run (its QA outputs are kept and named).
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
    run_stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    build_dir = out_dir / f".building-{month}-{run_stamp}-{os.getpid()}"
    build_dir.mkdir()
    try:
        return _build_release(
            month, params, data_dir, out_dir, build_dir, run_stamp, started, timer, progress
        )
    finally:
        # Whatever stopped the run, no half-built release is left behind (a gate stop has moved
        # its QA outputs aside and says where).
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)


def _build_release(month, params, data_dir, out_dir, build_dir, run_stamp, started, timer, progress):
    """The body of :func:`publish_month`, filling ``build_dir`` and moving it into place."""
    from cldstats import charts, disclosure, ingest, measures, pseudonymise, quality, render, tables
    from cldstats import select as selection

    cutoff = dt.date.fromisoformat(params["cutoff"])
    synthetic = (data_dir / "synthetic.json").exists()
    key = pseudonymise.load_key(params["pseudonymisation"]["key_file"] or None, synthetic=synthetic)
    window = _window_files(data_dir, month, cutoff)
    if not window:
        raise CldstatsError(
            f"no submission in {data_dir / 'submissions'} was made after {month_end(month)} and on or before "
            f"the cut-off {cutoff}: nothing can be published for {month}"
        )

    with timer.stage("ingest and validate (files in the month's window)") as stage:
        # Validation hands back what it read, so the selected files are not read twice.
        run = quality.validate_folder(
            data_dir, build_dir, params, progress=progress, key=key, files=[p.name for p in window],
            keep_submissions=True,
        )
        stage.rows = run.rows_read

    with timer.stage("select") as stage:
        catalogue = run.catalogue
        chosen = catalogue[catalogue["selected"].astype(bool)].sort_values("la_code")
        selected_files = []
        for row in chosen.itertuples():
            submission = run.submissions.get(row.file) or ingest.read_submission(run.paths[row.file], key)
            period_start = row.period_start if pd.notna(row.period_start) else None
            selected_files.append(
                measures.SelectedFile(row.la_code, row.file, submission.records, submission.status, period_start)
            )
        run.submissions.clear()  # the unselected ones are not needed any more
        stage.rows = sum(len(f.records) for f in selected_files)

    with timer.stage("measures") as stage:
        month_ends = release_month_ends(month, int(params["release_month_ends"]), params["collection_start"])
        council_lts = measures.long_term_support(selected_files, month_ends)
        council_assessed = measures.people_assessed(selected_files, month_ends)
        lts_periods = [d.isoformat() for d in month_ends]
        assessed_periods = [d.strftime("%Y-%m") for d in month_ends] + ["Total"]
        lts_area = measures.area_table(council_lts, lts_periods)
        rates = measures.rates_unrounded(lts_area)
        assessed_area = measures.area_table(council_assessed, assessed_periods)
        stage.rows = sum(len(f.records) for f in selected_files)

    councils_selected, share = selection.coverage(catalogue)
    decision = quality.publication_gate(share, _england_totals(council_lts, month_ends), params)
    if not decision.proceed:
        stopped = out_dir / f".stopped-{month}-{run_stamp}"
        build_dir.rename(stopped)
        raise GateStop(f"{decision.message()}; data quality outputs of this run are in {stopped / 'qa'}")

    with timer.stage("disclosure control and output checks"):
        published, unrounded, consistency = _disclose_and_check(
            params, out_dir, month, lts_area, rates, assessed_area
        )
    if not consistency["success"]:
        failed = ", ".join(consistency["failed_checks"])
        stopped = out_dir / f".stopped-{month}-{run_stamp}"
        build_dir.rename(stopped)
        raise CldstatsError(f"output consistency checks failed ({failed}); outputs kept in {stopped}")

    with timer.stage("write tables and QA outputs"):
        files: dict[str, Path] = {}
        for name, frame in published.items():
            files[f"data/{name}.csv"] = _write_csv(frame, build_dir / "data" / f"{name}.csv")
        for name, frame in unrounded.items():
            files[f"qa/{name}_unrounded.csv"] = _write_csv(frame, build_dir / "qa" / f"{name}_unrounded.csv")
        consistency_path = build_dir / "qa" / "output_consistency.json"
        consistency_path.write_text(json.dumps(consistency, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with timer.stage("accessible spreadsheets"):
        release_info = tables.ReleaseInfo(
            month=month,
            reference_date=month_end(month),
            councils_selected=councils_selected,
            publication_date=dt.date.fromisoformat(params["publication"]["date"]),
            revised_cells=tables.count_revised_cells(published),
            override_reason=decision.override_reason,
            gate_message=decision.message(),
            contact_email=params["publication"]["contact_email"],
        )
        for path in tables.write_workbooks(published, release_info, build_dir / "spreadsheets"):
            files[f"spreadsheets/{path.name}"] = path
    with timer.stage("charts"):
        rounding_base = disclosure.disclosure_settings(params)["rounding_base"]
        for chart in charts.make_charts(published, build_dir / "charts", rounding_base=rounding_base):
            files[f"charts/{chart.png.name}"] = chart.png
            files[f"charts/{chart.svg.name}"] = chart.svg
    with timer.stage("manifest"):
        selected_names = set(chosen["file"])
        manifest = {
            "month": month,
            "reference_date": month_end(month).isoformat(),
            "params": params,
            "synthetic_data": synthetic,
            "pseudonymisation_key": key.source,
            "inputs": [{"file": p.name, "sha256": _sha256(p), "selected": p.name in selected_names} for p in window],
            "versions": _versions(),
            "git_commit": _git_commit(),
            "gate": {
                "coverage": round(decision.coverage, 4),
                "councils_selected": councils_selected,
                "month_change": None if decision.month_change is None else round(decision.month_change, 6),
                "failures": list(decision.failures),
                "override_reason": decision.override_reason,
                "message": decision.message(),
                "submission_outcomes": run.outcome_counts(),
            },
            "outputs": {
                path.relative_to(build_dir).as_posix(): _sha256(path)
                for path in sorted(p for p in build_dir.rglob("*") if p.is_file())
            },
            # What may differ between two runs on the same inputs; everything else must match.
            "run": {"run_id": run_stamp, "host": platform.node(), "seconds": None, "argv": sys.argv[1:]},
            "may_differ_between_runs": [
                "run",
                "git_commit",
                "outputs of notebooks/*.ipynb (papermill records execution times)",
                "outputs of html/*.html (one declared run-time line)",
            ],
        }
        # Written now so the QA report's gate section can read it; rewritten below with the reports.
        _write_manifest(build_dir, manifest)

    with timer.stage("notebooks (papermill)"):
        executed = render.run_notebooks(
            build_dir, month, progress=progress, change_threshold=str(params["gate"]["max_month_change"]), inside=True
        )
    with timer.stage("HTML reports"):
        manifest["renderer"] = render.render_html(executed, build_dir / "html")
        manifest["outputs"] = {
            path.relative_to(build_dir).as_posix(): _sha256(path)
            for path in sorted(p for p in build_dir.rglob("*") if p.is_file() and p.name != "manifest.json")
        }
        manifest["run"]["seconds"] = round(time.perf_counter() - started, 1)
        _write_manifest(build_dir, manifest)

    release_dir = out_dir / month
    _place_release(build_dir, release_dir, run_stamp)
    render.write_index(out_dir)
    return PublishResult(
        month=month,
        release_dir=release_dir,
        files={k: release_dir / k for k in files},
        gate_message=decision.message(),
        councils_selected=councils_selected,
        seconds=time.perf_counter() - started,
        timer=timer,
    )


def run_cli(args) -> int:
    """``cldstats publish``: publish a month and say what was produced and where."""
    result = publish_month(args.month, params_file=args.params, data_dir=args.data, out_dir=args.out)
    release = result.release_dir
    print(f"Published {result.month} in {result.seconds:.0f} s: {result.councils_selected} of 153 councils selected.")
    print(f"  {result.gate_message}")
    print(f"  release folder:     {release}")
    print(f"  published tables:   {release / 'data'}")
    print(f"  spreadsheets:       {release / 'spreadsheets'}")
    print(f"  charts:             {release / 'charts'}")
    print(f"  data quality (QA):  {release / 'qa' / 'data_quality'}")
    print(f"  executed notebooks: {release / 'notebooks'}")
    print("HTML reports:")
    print(f"  publication report: {release / 'html' / 'publication.html'}")
    print(f"  QA report:          {release / 'html' / 'qa.html'}")
    print(f"  all releases:       {args.out / 'index.html'}")
    return 0
