"""The national-scale benchmark behind ``make bench`` (``cldstats bench --scale S``).

Benchmarks are not tests: this module measures, per stage, wall time, CPU time, peak resident memory
and rows processed, and writes them to ``bench/results.json`` (git-ignored), together with the time of a
plain ``pyarrow.csv`` read of the same files (the floor any pipeline pays). The synthetic dataset for a
scale is generated once into ``bench/data-scale-<S>/`` and reused by later runs; its generation time is
recorded when it happens.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["StageResult", "StageTimer", "run_benchmark", "run_cli"]


def _rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class StageResult:
    """Figures for one stage. CPU time includes finished child processes (worker pools)."""

    stage: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rows: int | None = None
    notes: str = ""

    @property
    def rows_per_second(self) -> float | None:
        """Throughput, when rows were counted and the stage took long enough to measure (0.5 s)."""
        return self.rows / self.wall_seconds if self.rows and self.wall_seconds >= 0.5 else None


@dataclass
class StageTimer:
    """Times stages and samples this process's peak memory while each one runs.

    ``ru_maxrss`` only gives the lifetime peak of a process, so a sampling thread reads the current
    resident size every ``interval`` seconds to get each stage's own peak. Worker processes report
    their peak through ``RUSAGE_CHILDREN`` once they end; the larger of the two is recorded.
    """

    interval: float = 0.05
    results: list[StageResult] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, rows: int | None = None, notes: str = "") -> Iterator[StageResult]:
        """Measure the ``with`` block as stage ``name``; set ``.rows`` on the yielded result."""
        result = StageResult(name, 0.0, 0.0, 0.0, rows, notes)
        peak = [_rss_bytes()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                peak[0] = max(peak[0], _rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        wall0, cpu0, child0 = time.perf_counter(), _self_cpu_seconds(), _children_cpu_seconds()
        sampler.start()
        try:
            yield result
        finally:
            stop.set()
            sampler.join()
            result.wall_seconds = round(time.perf_counter() - wall0, 3)
            result.cpu_seconds = round(_self_cpu_seconds() - cpu0 + _children_cpu_seconds() - child0, 3)
            children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            result.peak_rss_mb = round(max(peak[0], _rss_bytes(), children_peak) / 2**20, 1)
            self.results.append(result)


def _machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _plain_read_rows(paths: list[Path]) -> int:
    """Rows of ``paths`` read with a plain ``pyarrow.csv`` read: the floor any pipeline pays."""
    import pyarrow.csv as pacsv

    options = pacsv.ReadOptions(encoding="cp1252")
    return sum(pacsv.read_csv(path, read_options=options).num_rows for path in paths)


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
        rows), ``publication_wall_seconds``, ``floor_wall_seconds`` and their ratio.
    """
    from cldstats import publish, synth
    from cldstats.params import load_params

    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / f"data-scale-{scale:g}"
    timer = StageTimer()
    if not (data_dir / "synthetic.json").exists():
        with timer.stage("synth (generate dataset, once per scale)") as stage:
            summary = synth.generate(data_dir, scale=scale, seed=seed, compress=True)
            stage.rows = int(summary["rows"])
    params = load_params(month)
    window = publish._window_files(data_dir, month, dt.date.fromisoformat(params["cutoff"]))
    with timer.stage("plain pyarrow.csv read of the month's files (floor)") as stage:
        stage.rows = _plain_read_rows(window)
    floor = timer.results[-1]
    first_publication_stage = len(timer.results)
    publish.publish_month(month, data_dir=data_dir, out_dir=out / "reports", progress=False, timer=timer)
    publication = timer.results[first_publication_stage:]
    publication_wall = round(sum(r.wall_seconds for r in publication), 3)
    stages = [asdict(r) | {"rows_per_second": r.rows_per_second} for r in timer.results]
    results = {
        "scale": scale,
        "seed": seed,
        "month": month,
        "dataset": str(data_dir),
        "files_in_month_window": len(window),
        "machine": _machine(),
        "stages": stages,
        "publication_wall_seconds": publication_wall,
        "publication_peak_rss_mb": max(r.peak_rss_mb for r in publication),
        "floor_wall_seconds": floor.wall_seconds,
        "publication_over_floor": round(publication_wall / floor.wall_seconds, 2) if floor.wall_seconds else None,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def run_cli(args) -> int:
    """``cldstats bench``: run the benchmark and print each stage's figures."""
    results = run_benchmark(args.scale, args.out, args.seed)
    for stage in results["stages"]:
        rate = f", {stage['rows_per_second']:,.0f} rows/s" if stage["rows_per_second"] else ""
        print(
            f"{stage['stage']}: {stage['wall_seconds']:.1f} s wall, {stage['cpu_seconds']:.1f} s CPU, "
            f"peak {stage['peak_rss_mb']:,.0f} MB{rate}"
        )
    print(
        f"publication: {results['publication_wall_seconds']:.1f} s, peak {results['publication_peak_rss_mb']:,.0f} MB, "
        f"{results['publication_over_floor']}x the plain read"
    )
    print(f"figures written to {args.out / 'results.json'}")
    return 0
