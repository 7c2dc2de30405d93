"""``generate`` and ``cldstats synth``: the plan, one job per council in worker processes, the files,
``faults.csv.gz`` and ``synthetic.json``.

Each council job simulates its world once (:mod:`cldstats.tools.synth.simulate`) and renders every
planned file from it (:mod:`cldstats.tools.synth.render`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cldstats.core.errors import CldstatsError
from cldstats.ingest.files import is_synthetic
from cldstats.reference.lists import councils as reference_councils
from cldstats.tools.synth.codes import code_of
from cldstats.tools.synth.dates import covered_month_ends, to_day
from cldstats.tools.synth.distributions import FAULT_RATES, SETTING_SHARE
from cldstats.tools.synth.extract import write_extract
from cldstats.tools.synth.faults import FAULT_UNITS
from cldstats.tools.synth.plan import PlannedFile, plan_all, plan_submissions
from cldstats.tools.synth.releases import cohort_summary
from cldstats.tools.synth.render import render_file, write_bytes
from cldstats.tools.synth.simulate import simulate_world
from cldstats.tools.synth.world import World

__all__ = ["generate", "run_cli"]


def _lts_at(world: World, day: int) -> int:
    """People in long-term support at ``day`` in the simulated truth (for the run summary)."""
    E, P = world.events, world.persons
    codes = [code_of("Service_Type", s) for s in SETTING_SHARE]
    lts = np.isin(E["service_type"], codes) & (E["start"] <= day) & (E["end"] >= day)
    people = np.unique(E["person"][lts])
    return int((P["client_type"][people] == code_of("Client_Type", "Service User")).sum())


def _council_job(job: dict) -> dict:
    """Simulate one council and write all its files (runs in a worker process)."""
    council = pd.Series(job["council"])
    plans: list[PlannedFile] = job["plans"]
    first_day = min((f.period_start for f in plans), default=to_day("2023-04-01"))
    horizon = max((f.submitted_day for f in plans), default=first_day) + 1
    horizon = max(horizon, job["last_month_end"] + 1)
    world = simulate_world(council, job["index"], job["seed"], job["scale"], first_day, horizon, job["faults"])
    out_dir = Path(job["out"])
    fault_frames, files = [], []
    rows_total = 0
    for plan in plans:
        data, n, frame = render_file(world, plan, job["faults"], job["seed"], job["index"], job["compress"])
        name = plan.name(job["compress"])
        write_bytes(out_dir / name, data, job["compress"])
        rows_total += n
        files.append({"file": name, "rows": n, "kind": plan.kind})
        fault_frames.append(frame)
    faults = pd.concat(fault_frames, ignore_index=True) if fault_frames else None
    return {
        "la_code": job["council"]["la_code"],
        "index": job["index"],
        "files": files,
        "rows": rows_total,
        "faults": faults,
        "lts_last": _lts_at(world, job["last_month_end"]),
        "people": len(world.persons["dob"]),
    }


def generate(
    out: Path,
    *,
    scale: float = 0.02,
    seed: int = 2023,
    start: str = "2023-04",
    end: str = "2026-03",
    councils: int | list[str] | None = None,
    compress: bool = False,
    faults: bool = True,
    workers: int | None = None,
    extract: str | None = None,
) -> dict:
    """Write synthetic CLD submissions, ``synthetic.json`` and ``faults.csv.gz`` into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Output folder; files go to ``out/submissions/``. An existing folder is reused only if it is
        already synthetic (holds ``synthetic.json``) or has no submissions; old files are removed.
    scale : float
        Share of national volume (1.0 = about 680,000 people in long-term support at a month end).
    seed : int
        Random seed; the same seed and options give byte-identical files.
    start, end : str
        First and last month covered, ``YYYY-MM``; quarterly files for every quarter end between them,
        monthly files as well for about 15% of councils. The default span, April 2023 to March 2026,
        crosses the switch to Release 2 (files submitted from October 2025,
        :mod:`cldstats.tools.synth.releases`).
    councils : int, list of str or None
        None for all 153; a number N for the first N of :func:`council_order`; or GSS codes.
    compress : bool
        Write ``.csv.gz`` instead of ``.csv``.
    faults : bool
        Inject data quality faults (rates in :data:`FAULT_RATES`); False gives only valid values.
    workers : int or None
        Worker processes (None: ``min(2, cpu count)``). The output does not depend on it.
    extract : str or None
        ``"parquet"`` or ``"csv"``: also write the files stacked as NHS England's national table,
        ``out/national_extract.<extract>`` (:func:`cldstats.tools.synth.extract.write_extract`;
        recorded in ``synthetic.json`` under ``national_extract``).

    Returns
    -------
    dict
        The content written to ``synthetic.json``.

    Raises
    ------
    CldstatsError
        Bad month, unknown GSS code, end before start, or an output folder holding real data.
    """
    started = time.perf_counter()
    out = Path(out)
    if not scale > 0:
        raise CldstatsError("--scale must be greater than 0")
    month_ends = covered_month_ends(start, end)
    plans, missing = plan_all(seed, start, end, councils, faults)
    sub_dir = _prepare_folder(out)
    options = {"seed": seed, "scale": scale, "faults": faults, "compress": compress}
    results = _run_jobs(_council_jobs(plans, options, sub_dir, month_ends[-1]), workers)
    all_faults = _fault_table(results, missing)
    csv_text = all_faults.to_csv(index=False, lineterminator="\n")
    write_bytes(out / "faults.csv.gz", csv_text.encode("utf-8"), compress=True)
    files = sorted((f for r in results for f in r["files"]), key=lambda f: f["file"])
    plan_frame = plan_submissions(seed=seed, start=start, end=end, councils=councils, faults=faults, compress=compress)
    rows_by_file = {f["file"]: f["rows"] for f in files}
    plan_frame["rows"] = plan_frame["file"].map(rows_by_file).astype("int64")
    meta = {
        "synthetic": True,
        "generator": "cldstats.tools.synth",
        "seed": seed,
        "scale": scale,
        "start": start,
        "end": end,
        "councils": [r["la_code"] for r in results],
        "compress": compress,
        "faults_enabled": faults,
        "files": len(files),
        "rows": int(sum(r["rows"] for r in results)),
        "people_in_long_term_support_at_end": int(sum(r["lts_last"] for r in results)),
        "faults": _fault_summary(all_faults, missing) if faults else [],
        "release2": cohort_summary(seed, [r["la_code"] for r in results]),
        "submissions": plan_frame.to_dict(orient="records"),
    }
    (out / "synthetic.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if extract is not None:
        meta["national_extract"] = write_extract(out, extract)
    meta["_seconds"] = time.perf_counter() - started  # not written: the file holds no wall-clock data
    return meta


def _prepare_folder(out: Path) -> Path:
    """The submissions folder of ``out``, emptied of old CSV files; refuses a folder of real data."""
    sub_dir = out / "submissions"
    if sub_dir.exists() and any(sub_dir.iterdir()) and not is_synthetic(out):
        raise CldstatsError(
            f'{out} holds submissions but no synthetic.json saying "synthetic": true: refusing to overwrite real data'
        )
    sub_dir.mkdir(parents=True, exist_ok=True)
    for old in list(sub_dir.glob("*.csv")) + list(sub_dir.glob("*.csv.gz")):
        old.unlink()
    return sub_dir


def _council_jobs(plans: dict[str, list[PlannedFile]], options: dict, sub_dir: Path, last_month_end: int) -> list[dict]:
    """One job per council (its reference row, index in the full list, plan and the options),
    big councils first: better balance between the workers."""
    frame = reference_councils()
    full = frame["la_code"].tolist()
    jobs = []
    for code in plans:
        row = frame.loc[frame["la_code"] == code].iloc[0]
        jobs.append(
            {
                "council": row.to_dict(),
                "index": full.index(code),
                "plans": plans[code],
                **options,
                "out": str(sub_dir),
                "last_month_end": last_month_end,
            }
        )
    jobs.sort(key=lambda j: -float(j["council"]["lts_31mar2026"]))
    return jobs


def _run_jobs(jobs: list[dict], workers: int | None) -> list[dict]:
    """The council jobs' results in full-list order, run in ``workers`` spawned processes."""
    workers = min(2, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    if workers == 1 or len(jobs) == 1:
        results = [_council_job(j) for j in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(pool.imap_unordered(_council_job, jobs, chunksize=1))
    results.sort(key=lambda r: r["index"])
    return results


def _fault_table(results: list[dict], missing: list[dict]) -> pd.DataFrame:
    """The rows of ``faults.csv.gz``: the files' faults in council order, then the missing quarters."""
    fault_frames = [r["faults"] for r in results if r["faults"] is not None and len(r["faults"])]
    all_faults = (
        pd.concat(fault_frames, ignore_index=True)
        if fault_frames
        else pd.DataFrame({"file": [], "row_number": [], "field": [], "kind": []})
    )
    all_faults["row_number"] = all_faults["row_number"].astype("Int64")
    for item in missing:
        all_faults = pd.concat(
            [
                all_faults,
                pd.DataFrame(
                    {
                        "file": [f"{item['la_code']}_missing_{item['period_end']}"],
                        "row_number": [pd.NA],
                        "field": [""],
                        "kind": ["missing_submission"],
                    }
                ),
            ],
            ignore_index=True,
        )
    all_faults["row_number"] = all_faults["row_number"].astype("Int64")
    return all_faults


def _fault_summary(all_faults: pd.DataFrame, missing: list[dict]) -> list[dict]:
    """``synthetic.json``'s ``faults``: each kind's rate, unit, count and files."""
    fault_list = []
    for kind, rate in FAULT_RATES.items():
        sel = all_faults[all_faults["kind"] == kind]
        entry = {
            "kind": kind,
            "rate": rate,
            "unit": FAULT_UNITS.get(kind, "row"),
            "count": int(len(sel)),
            "files": sorted(set(sel["file"])),
        }
        if kind == "missing_submission":
            entry["missing"] = missing
            entry["files"] = []
        fault_list.append(entry)
    return fault_list


def run_cli(args) -> int:
    """``cldstats synth``: generate, then print a short summary; returns the exit code 0."""
    councils = args.councils
    meta = generate(
        Path(args.out),
        scale=args.scale,
        seed=args.seed,
        start=args.start,
        end=args.end,
        councils=councils,
        compress=args.compress,
        faults=not args.no_faults,
        extract=getattr(args, "extract", None),
    )
    size = sum(p.stat().st_size for p in (Path(args.out) / "submissions").iterdir())
    if "national_extract" in meta:
        size += (Path(args.out) / meta["national_extract"]["file"]).stat().st_size
    release2 = sum(1 for s in meta["submissions"] if s["release"] == 2)
    print(
        f"cldstats synth: {meta['files']} files ({meta['files'] - release2} Release 1, {release2} Release 2), "
        f"{meta['rows']:,} rows, {len(meta['councils'])} councils, "
        f"{meta['people_in_long_term_support_at_end']:,} people in long-term support at {args.end} month end, "
        f"{size / 1e6:,.1f} MB, {meta['_seconds']:.1f} s -> {args.out}"
        + (f" (and {meta['national_extract']['file']}: {meta['national_extract']['rows']:,} rows, every file "
           "stacked as NHS England's national table)" if "national_extract" in meta else "")
    )
    return 0
