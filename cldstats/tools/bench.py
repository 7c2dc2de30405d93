"""The national-scale benchmark behind ``make bench`` (``cldstats bench --scale S``).

Benchmarks are not tests: this module measures, per stage, wall time, CPU time, peak resident memory
and rows processed, and writes them to ``bench/results.json`` (git-ignored), together with the time of a
plain ``pyarrow.csv`` read of the same files (the floor any pipeline pays; read twice in the same run,
the faster read counts). The synthetic dataset for a
scale is generated once into ``bench/data-scale-<S>/`` and reused by later runs; its generation time is
recorded when it happens.

Two views of the same run are written:

* ``stages``: each stage as ``publish`` times it (:class:`cldstats.pipeline.timing.StageTimer`),
  with ``substages`` where a stage measured its own parts. Validation runs in worker processes,
  which time their own phases (ingest, pseudonymise, validate, hand back) and report them through
  :func:`cldstats.pipeline.timing.record_substages`;
  those ran *concurrently* in N workers, so their wall times are sums over the workers.
* ``summary``: the stages (ingest, pseudonymise, validate, store, measures, outputs, notebooks,
  render), each the sum of the stages or sub-stages it covers, with the publication total and the
  plain-read floor. :data:`SUMMARY_STAGES` says which is which.

The month is published twice in one run: first with an empty submission store (``publication``:
every file read, pseudonymised, validated and stored), then again with the store warm
(``rerun``: what a statistician pays to republish with new parameters). Both are compared with the
floor. ``store_query`` times an analyst's DuckDB query straight over the store's Parquet files:
the people in long-term support at the month end, for all councils.

Each stage's figures are measured as :mod:`cldstats.pipeline.timing` says (peak memory over the whole
process tree, sampled every 50 ms).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.csv as pacsv

from cldstats.measures.engine import derive_digest
from cldstats.pipeline import publish
from cldstats.pipeline.timing import StageResult, StageTimer
from cldstats.reference.calendar import month_end
from cldstats.reference.lists import SETTING_ALL
from cldstats.reference.params import as_of, load_params
from cldstats.tools import synth

__all__ = [
    "SUMMARY_STAGES",
    "format_table",
    "run_benchmark",
    "run_cli",
    "summarise",
]


def _machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def _plain_read_rows(paths: list[Path]) -> int:
    """Rows of ``paths`` read with a plain ``pyarrow.csv`` read: the floor any pipeline pays."""
    options = pacsv.ReadOptions(encoding="cp1252")
    return sum(pacsv.read_csv(path, read_options=options).num_rows for path in paths)


# ---------------------------------------------------------------------------------------------
# The summary view: ingest, pseudonymise, validate, store, measures, outputs, notebooks, render
# ---------------------------------------------------------------------------------------------
#: Summary stage -> what it covers (sub-stage names of the validation stage, or words that the
#: publication's own stage names contain). Publication stages matched by none go to ``outputs``.
SUMMARY_STAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "ingest": {"substages": ("ingest",)},
    "pseudonymise": {"substages": ("pseudonymise",)},
    "validate": {"substages": ("start-up", "validate", "hand back", "hand back (parent)", "qa outputs (parent)")},
    # Storing each submission (Parquet, fsynced) in the worker that read it; a rerun stores nothing.
    "store": {"substages": ("store",)},
    # Selection is the first step of the method's SQL.
    "measures": {"stages": ("measure",)},
    "outputs": {"stages": ()},
    "notebooks": {"stages": ("notebook", "papermill")},
    "render": {"stages": ("html", "render", "quarto")},
}
_FLOOR = "plain pyarrow.csv read"
_SYNTH = "synth"


def _kind(stage: StageResult) -> str:
    """Summary stage of a publication stage: ``parallel`` for the one that has sub-stages."""
    if stage.substages:
        return "parallel"
    name = stage.stage.lower()
    for summary, covers in SUMMARY_STAGES.items():
        if any(word in name for word in covers.get("stages", ())):
            return summary
    return "outputs"


def summarise(publication: Sequence[StageResult]) -> list[dict[str, Any]]:
    """The issue's eight stages from the publication's stages and sub-stages.

    Parameters
    ----------
    publication : sequence of StageResult
        The stages of one publication run (no floor, no dataset generation).

    Returns
    -------
    list of dict
        One per :data:`SUMMARY_STAGES` entry: ``stage, wall_seconds, cpu_seconds, peak_rss_mb, rows,
        covers`` (what it sums) and ``notes``. The first three come from sub-stages: their wall
        seconds are summed over concurrent workers (see the note), and ``peak_rss_mb`` is then
        the largest worker's.
    """
    parallel = [s for s in publication if _kind(s) == "parallel"]
    out = []
    for summary, covers in SUMMARY_STAGES.items():
        if "substages" in covers:
            parts = [
                (stage, sub) for stage in parallel for sub in stage.substages if sub.get("stage") in covers["substages"]
            ]
            peaks = [sub.get("peak_rss_mb") for _, sub in parts if sub.get("peak_rss_mb") is not None]
            rows = [sub.get("rows") for _, sub in parts if sub.get("process") != "parent" and sub.get("rows")]
            workers = {stage.substages_note for stage, _ in parts}
            out.append({
                "stage": summary,
                "wall_seconds": round(sum(float(sub["wall_seconds"]) for _, sub in parts), 3),
                "cpu_seconds": round(sum(float(sub["cpu_seconds"]) for _, sub in parts), 3),
                "peak_rss_mb": max(peaks) if peaks else None,
                "rows": max(rows) if rows else None,
                "covers": [f"{stage.stage} / {sub['stage']}" for stage, sub in parts],
                "notes": "; ".join(sorted(n for n in workers if n)),
            })
            continue
        stages = [s for s in publication if _kind(s) == summary]
        rows = [s.rows for s in stages if s.rows]
        out.append({
            "stage": summary,
            "wall_seconds": round(sum(s.wall_seconds for s in stages), 3),
            "cpu_seconds": round(sum(s.cpu_seconds for s in stages), 3),
            "peak_rss_mb": max((s.peak_rss_mb for s in stages), default=None),
            "rows": max(rows) if rows else None,
            "covers": [s.stage for s in stages],
            "notes": "",
        })
    return out


def _results(timer: StageTimer, first_publication_stage: int, publication_wall: float, **info: Any) -> dict[str, Any]:
    """The content of ``results.json`` from a timer holding the floor and the publication's stages.

    ``publication_wall`` is the publication's elapsed time, measured around it: not the sum of its
    stages, which leaves out the set-up before the first stage and counts twice the stages that
    ran in the second process beside others (:mod:`cldstats.pipeline.background`).
    """
    floor = min((r for r in timer.results if r.stage.startswith(_FLOOR)), key=lambda r: r.wall_seconds)
    publication = timer.results[first_publication_stage:]
    publication_wall = round(publication_wall, 3)
    return {
        **info,
        "machine": _machine(),
        "stages": [asdict(r) | {"rows_per_second": r.rows_per_second} for r in timer.results],
        "summary": summarise(publication),
        "publication_wall_seconds": publication_wall,
        "publication_cpu_seconds": round(sum(r.cpu_seconds for r in publication), 3),
        "publication_peak_rss_mb": max(r.peak_rss_mb for r in publication),
        "floor_stage": floor.stage,
        "floor_wall_seconds": floor.wall_seconds,
        "floor_cpu_seconds": floor.cpu_seconds,
        "publication_over_floor": round(publication_wall / floor.wall_seconds, 2) if floor.wall_seconds else None,
    }


def run_benchmark(scale: float, out: Path, seed: int = 2023, month: str = "2024-03") -> dict[str, object]:
    """Publish ``month`` at ``scale`` and return the figures written to ``results.json``.

    Parameters
    ----------
    scale : float
        Share of national volume (1.0 = all of England).
    out : Path
        Folder for the reusable dataset, the benchmark's reports and ``results.json``.
    seed : int
        Seed of the synthetic dataset.
    month : str
        Reference month published.

    Returns
    -------
    dict
        ``scale``, ``machine``, ``stages`` (one entry per stage: wall and CPU seconds, peak memory,
        rows, sub-stages), ``summary`` (the issue's eight stages), ``publication_wall_seconds``,
        ``floor_wall_seconds`` and their ratio.
    """
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / f"data-scale-{scale:g}"
    timer = StageTimer()
    if not (data_dir / "synthetic.json").exists():
        with timer.stage(f"{_SYNTH} (generate dataset, once per scale)") as stage:
            # The year the month's release reads, as the benchmark always generated: its figures stay
            # comparable, and the default span (to March 2026) would triple the generation.
            summary = synth.generate(data_dir, scale=scale, seed=seed, compress=True, start="2023-04", end=month)
            stage.rows = int(summary["rows"])
    params = load_params(month)
    window = publish.window_files(data_dir, month, as_of(params))
    # The floor is read twice and the faster read counts: on a shared machine a single read can
    # be slowed by other work, which would flatter the pipeline's ratio to it.
    for attempt in (1, 2):
        with timer.stage(f"{_FLOOR} of the month's files (floor, read {attempt} of 2)") as stage:
            stage.rows = _plain_read_rows(window)
    first_publication_stage = len(timer.results)
    store_dir = out / f"store-scale-{scale:g}"
    # The first publication of the month starts from an empty store: every file is read.
    shutil.rmtree(store_dir, ignore_errors=True)
    publication_started = time.perf_counter()
    publish.publish_month(month, data_dir=data_dir, out_dir=out / "reports", progress=False, timer=timer,
                          store_dir=store_dir)
    publication_wall = time.perf_counter() - publication_started
    rerun = StageTimer()
    rerun_started = time.perf_counter()
    publish.publish_month(month, data_dir=data_dir, out_dir=out / "reports", progress=False, timer=rerun,
                          store_dir=store_dir)
    rerun_wall = round(time.perf_counter() - rerun_started, 3)
    results = _results(
        timer,
        first_publication_stage,
        publication_wall,
        scale=scale,
        seed=seed,
        month=month,
        dataset=str(data_dir),
        files_in_month_window=len(window),
    )
    results["rerun"] = {
        "wall_seconds": rerun_wall,
        "cpu_seconds": round(sum(r.cpu_seconds for r in rerun.results), 3),
        "peak_rss_mb": max(r.peak_rss_mb for r in rerun.results),
        "over_floor": round(rerun_wall / results["floor_wall_seconds"], 2) if results["floor_wall_seconds"] else None,
        "stages": [asdict(r) for r in rerun.results],
    }
    results["measures_sql"] = _stage_figures(timer.results[first_publication_stage:], "the method's SQL")
    results["store_query"] = store_query(store_dir, params, out / "reports" / month)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def _stage_figures(stages: Sequence[StageResult], words: str) -> dict[str, Any]:
    """Wall and CPU seconds and peak memory of the one stage whose name contains ``words``."""
    stage = next(s for s in stages if words in s.stage)
    return {"stage": stage.stage, "wall_seconds": stage.wall_seconds, "cpu_seconds": stage.cpu_seconds,
            "peak_rss_mb": stage.peak_rss_mb, "notes": stage.notes}


#: An analyst's query over the submission store: people in long-term support at the month end,
#: per council, from the latest usable submission of each council in the month's window. It reads
#: the store's catalogue and the derived rows the method stored, with no cldstats code.
STORE_QUERY = """
WITH latest AS (
    SELECT la_code, entry_id
    FROM read_parquet($catalogue)
    WHERE NOT starts_with(outcome, 'rejected')
        AND CAST(submitted_at AS DATE) > $month_end AND CAST(submitted_at AS DATE) <= $cutoff
        AND CAST(period_end AS DATE) >= $month_end
    QUALIFY row_number() OVER (PARTITION BY la_code ORDER BY submitted_at DESC, file DESC) = 1
),
rows AS (
    SELECT split_part(filename, '/entries/', 2)[:32] AS entry_id, la_code, person_id, start_date,
           adjusted_end, setting_rank, birth_month_start
    FROM read_parquet($measure_rows, filename = true)
)
SELECT count(*) AS people, count(DISTINCT la_code) AS councils
FROM (
    SELECT DISTINCT rows.la_code, person_id
    FROM rows JOIN latest USING (entry_id)
    WHERE setting_rank IS NOT NULL
        AND start_date <= $month_end
        AND (adjusted_end IS NULL OR adjusted_end >= $month_end)
        AND (birth_month_start IS NULL
             OR date_diff('day', birth_month_start, $month_end) / $days_per_year >= $adult_age)
)
"""


def store_query(store_dir: Path, params: Mapping[str, Any], release_dir: Path) -> dict[str, Any]:
    """Time :data:`STORE_QUERY` on DuckDB over ``store_dir`` and compare it with the release.

    Returns
    -------
    dict
        ``seconds``, ``people`` and ``councils`` from the query, and ``published_unrounded``: the
        England all-settings total at the month end in the release's unrounded QA table (the query
        reads every row's own birth month where the method chooses one per person, so the two may
        differ by a few people with conflicting birth months).
    """
    end = month_end(params["month"])
    started = time.perf_counter()
    con = duckdb.connect()
    people, councils = con.execute(STORE_QUERY, {
        "catalogue": str(store_dir / "catalogue.parquet"),
        "measure_rows": str(store_dir / "entries" / "*" / f"derived-{derive_digest(params)}" / "measure_rows.parquet"),
        "month_end": end, "cutoff": as_of(params),
        "days_per_year": float(params["method"]["days_per_year"]), "adult_age": int(params["method"]["adult_age"]),
    }).fetchone()
    seconds = round(time.perf_counter() - started, 3)
    con.close()
    table = pd.read_csv(release_dir / "qa" / "long_term_support_unrounded.csv", dtype=str)
    england = table[(table["area_level"] == "England") & (table["reference_date"] == end.isoformat())
                    & (table["breakdown"] == SETTING_ALL) & (table["support_setting"] == SETTING_ALL)]
    return {"seconds": seconds, "people": int(people), "councils": int(councils),
            "published_unrounded": int(england["value"].iloc[0]) if len(england) else None,
            "query": " ".join(STORE_QUERY.split())}


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def format_table(results: Mapping[str, Any]) -> str:
    """The figures of ``results.json`` as a plain-text table (what ``cldstats bench`` prints)."""
    header = f"{'stage':<58} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'rows':>11}"
    lines = [header, "-" * len(header)]

    def line(name: str, item: Mapping[str, Any]) -> str:
        return (
            f"{name[:58]:<58} {_fmt(item['wall_seconds'], '8.1f')} {_fmt(item['cpu_seconds'], '8.1f')} "
            f"{_fmt(item.get('peak_rss_mb'), '8,.0f')} {_fmt(item.get('rows'), '11,')}"
        )

    for stage in results["stages"]:
        lines.append(line(stage["stage"], stage))
        for sub in stage.get("substages", []):
            # Parent-side phases already say so in their names; worker phases get "(workers)".
            where = sub.get("process", "")
            label = sub["stage"] if not where or f"({where})" in sub["stage"] else f"{sub['stage']} ({where})"
            lines.append(line(f"  - {label}", sub))
        if stage.get("substages_note"):
            lines.append(f"    ({stage['substages_note']})")
    lines.append("")
    lines.append("by the issue's stages (ingest, pseudonymise, validate: summed over concurrent workers)")
    lines.append(header)
    lines.append("-" * len(header))
    for item in results["summary"]:
        lines.append(line(item["stage"], item))
    lines.append(line("publication (total)", {
        "wall_seconds": results["publication_wall_seconds"], "cpu_seconds": results["publication_cpu_seconds"],
        "peak_rss_mb": results["publication_peak_rss_mb"], "rows": None,
    }))
    lines.append(line("plain pyarrow.csv read (floor)", {
        "wall_seconds": results["floor_wall_seconds"], "cpu_seconds": results["floor_cpu_seconds"],
        "peak_rss_mb": None, "rows": None,
    }))
    lines.append(f"publication / floor: {results['publication_over_floor']}x")
    if "rerun" in results:
        rerun = results["rerun"]
        lines.append(line("rerun of the month (store warm)", {**rerun, "rows": None}))
        lines.append(f"rerun / floor: {rerun['over_floor']}x")
    if "measures_sql" in results:
        lines.append(line("measures: the method's SQL (first publication)", {**results["measures_sql"], "rows": None}))
    if "store_query" in results:
        query = results["store_query"]
        lines.append(f"DuckDB query over the store (month-end people, all councils): {query['seconds']:.2f} s, "
                     f"{query['people']:,} people in {query['councils']} councils "
                     f"(published unrounded England total: {query['published_unrounded']})")
    return "\n".join(lines)


def run_cli(args) -> int:
    """``cldstats bench``: run the benchmark and print each stage's figures."""
    results = run_benchmark(args.scale, args.out, args.seed)
    print(format_table(results))
    print(f"figures written to {args.out / 'results.json'}")
    return 0
