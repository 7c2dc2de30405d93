"""Reading and checking a folder's new files in batches, in worker processes, with their timing.

Files are grouped into batches of consecutive files (:func:`file_batches`); each batch is read
(:func:`cldstats.ingest.read_submission`, or for a submission of the national extract
:func:`cldstats.ingest.extract.read_part`), checked with one GX validation per suite
(:class:`cldstats.quality.QualityRunner`), its GX results saved as ``qa/validation/<file>.json``
and each file kept in the submission store by the process that read it (records never travel
between processes). Batches run in ``spawn`` worker processes, or in this one
(:func:`checked_batches`); each phase of the work is timed (:data:`PHASES`, :func:`phase_summary`).
"""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cldstats import ingest
from cldstats.core.errors import CldstatsError
from cldstats.ingest import extract
from cldstats.ingest.extract import ExtractPart
from cldstats.quality.results import QualityResult
from cldstats.quality.runner import QualityRunner
from cldstats.reference.mappings import mappings_of_params

__all__ = [
    "PARALLEL_MIN_BYTES",
    "PHASES",
    "PhaseClock",
    "checked_batches",
    "estimated_bytes",
    "file_batches",
    "phase_summary",
    "validation_json_name",
    "write_validation_json",
]

#: Batch size, in estimated uncompressed bytes of input (about 1 million rows of CLD): bounds a
#: worker's memory (records, statuses and the stacked frame) while keeping GX's fixed cost per batch.
_BATCH_BYTES = 400_000_000
#: Inputs smaller than this (estimated uncompressed bytes) are checked in one process: starting a
#: worker (importing pandas and GX, a GX context) costs a few seconds.
PARALLEL_MIN_BYTES = 100_000_000
#: gzip ratio assumed for CSV (measured ~10 on synthetic CLD; a low guess only makes batches smaller).
_GZIP_RATIO = 8
_WORKER: dict[str, Any] = {}


def estimated_bytes(path: Path | ExtractPart) -> int:
    """A file's size uncompressed, estimated (gzip files at :data:`_GZIP_RATIO`); 0 when it is gone.
    A submission of the national extract counts its rows' Arrow bytes."""
    if isinstance(path, ExtractPart):
        return int(path.table.nbytes)
    try:
        size = Path(path).stat().st_size
    except OSError:  # gone since it was listed: ingest reports it as unreadable
        return 0
    return size * _GZIP_RATIO if str(path).lower().endswith(".gz") else size


def file_batches(paths: Sequence[Path], workers: int) -> list[list[Path]]:
    """Consecutive files grouped into batches of about ``_BATCH_BYTES``, at least 2 per worker.

    Consecutive groups keep the output order the file order; several batches per worker let the
    pool balance uneven file sizes.
    """
    sizes = [estimated_bytes(p) for p in paths]
    budget = min(_BATCH_BYTES, max(1, sum(sizes) // (2 * workers))) if workers > 1 else _BATCH_BYTES
    batches: list[list[Path]] = []
    current: list[Path] = []
    used = 0
    for path, size in zip(paths, sizes, strict=True):
        if current and used + size > budget:
            batches.append(current)
            current, used = [], 0
        current.append(path)
        used += size
    if current:
        batches.append(current)
    return batches


#: Sub-stages of validation measured inside each worker (``ValidationRun.phases``), in order.
PHASES = ("start-up", "ingest", "pseudonymise", "validate", "store", "hand back")
_PHASE_NOTES = {
    "start-up": "starting each worker process: importing pandas, pyarrow and Great Expectations, and building "
                "its GX context with the suites",
    "ingest": "read, decompress, decode, parse and type the cells, per-cell statuses (ingest.read_submission "
              "less its pseudonymisation step)",
    "pseudonymise": "keyed hashes of the identifiers and the person keys (inside ingest.read_submission)",
    "validate": "validation frames, Great Expectations batch validation, council results, qa/validation JSON",
    "store": "writing each submission's records, statuses and findings to the submission store (Parquet, "
             "fsynced, renamed into place)",
    "hand back": "serialising each batch's results for the parent process (in the worker)",
}


class PhaseClock:
    """Wall and CPU seconds of this process per named phase.

    CPU is ``time.process_time``: every thread of the process (ingest reads a big file's fields in
    threads), not of the children.
    """

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, float]] = {}

    def add(self, name: str, wall: float, cpu: float, rows: int = 0) -> None:
        entry = self.figures.setdefault(name, {"wall_seconds": 0.0, "cpu_seconds": 0.0, "rows": 0})
        entry["wall_seconds"] += wall
        entry["cpu_seconds"] += cpu
        entry["rows"] += rows

    def start(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def stop(self, name: str, started: tuple[float, float], rows: int = 0) -> None:
        self.add(name, time.perf_counter() - started[0], time.process_time() - started[1], rows)


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``; kilobytes on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check_batch(
    paths: Sequence[Path], runner: QualityRunner, key: Any, params: Mapping[str, Any], validation_dir: Path,
    keep: Callable[[Any, QualityResult], None] | None,
) -> tuple[list[QualityResult], dict[str, Any]]:
    """Read and check a batch of files (one GX validation per suite), save each file's GX results.

    ``keep(submission, result)`` is called for each file as soon as it is checked (the submission
    store writes it there, in the process that read it: records never travel between processes).
    Returns each file's result, and the batch's figures: wall and CPU seconds and rows of each
    phase of :data:`PHASES` (``hand back`` is added by the worker), the process id and its peak memory.
    """
    clock = PhaseClock()
    placeholders = params["pseudonymisation"]["placeholder_nhs_numbers"]
    prefix = params["method"]["financial_assessment_prefix"]
    # Read only for the national extract: a run of council files needs no extract params.
    precedence = params["extract"]["person_id_precedence"] if any(isinstance(p, ExtractPart) for p in paths) else None
    mappings = mappings_of_params(params)  # the tables the store context was keyed by, checked again
    submissions = [
        extract.read_part(path, key, placeholders, financial_assessment_prefix=prefix, precedence=precedence,
                          mappings=mappings)
        if isinstance(path, ExtractPart)
        else ingest.read_submission(path, key, placeholders, financial_assessment_prefix=prefix, mappings=mappings)
        for path in paths
    ]
    rows = sum(int(s.rows_read) for s in submissions)
    read = np.array([s.timings.get("read", (0.0, 0.0)) for s in submissions]).reshape(-1, 2).sum(axis=0)
    hashing = np.array([s.timings.get("pseudonymise", (0.0, 0.0)) for s in submissions]).reshape(-1, 2).sum(axis=0)
    clock.add("ingest", float(read[0] - hashing[0]), float(read[1] - hashing[1]), rows)
    clock.add("pseudonymise", float(hashing[0]), float(hashing[1]), rows)

    started = clock.start()
    results = runner.check_many(submissions, params)
    for result in results:
        write_validation_json(validation_dir, result)
    clock.stop("validate", started, rows)
    if keep is not None:
        started = clock.start()
        for submission, result in zip(submissions, results, strict=True):
            keep(submission, result)
        clock.stop("store", started, rows)
    del submissions
    figures = {"pid": os.getpid(), "files": len(paths), "rows": rows, "phases": clock.figures,
               "peak_rss_mb": _peak_rss_mb()}
    return results, figures


def _process_age() -> tuple[float, float]:
    """(wall, CPU) seconds since this process started (Linux ``/proc``; (0, CPU) elsewhere)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22: start time
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        wall = max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        wall = 0.0
    return wall, usage.ru_utime + usage.ru_stime


def _worker_init(suites_dir: Any, key: Any, params: Mapping[str, Any], validation_dir: Path,
                 keep: Callable[[Any, QualityResult], None] | None) -> None:
    _WORKER.update(runner=QualityRunner(suites_dir), key=key, params=params, validation_dir=validation_dir, keep=keep)
    # Reported with the worker's first batch: the time from its spawn to being ready.
    _WORKER["start-up"] = _process_age()


def _worker_check(paths: list[Path]) -> bytes:
    """A batch checked in a worker process, pickled here so the worker can time handing it back
    (``ProcessPoolExecutor`` would pickle it after this function returns, out of sight)."""
    w = _WORKER
    out, figures = _check_batch(paths, w["runner"], w["key"], w["params"], w["validation_dir"], w["keep"])
    started = time.perf_counter(), time.process_time()
    payload = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    figures["phases"]["hand back"] = {
        "wall_seconds": time.perf_counter() - started[0],
        "cpu_seconds": time.process_time() - started[1],
        "rows": figures["rows"],
    }
    figures["bytes_handed_back"] = len(payload)
    figures["peak_rss_mb"] = _peak_rss_mb()
    if "start-up" in w:
        wall, cpu = w.pop("start-up")
        figures["phases"]["start-up"] = {"wall_seconds": wall, "cpu_seconds": cpu, "rows": 0}
    return pickle.dumps((payload, figures), protocol=pickle.HIGHEST_PROTOCOL)


def checked_batches(
    batches: list[list[Path]], workers: int, suites_dir: Any, key: Any, params: Mapping[str, Any],
    validation_dir: Path, keep: Callable[[Any, QualityResult], None] | None, receive: PhaseClock,
) -> Iterable[tuple[list[QualityResult], dict[str, Any]]]:
    """Results and figures of every batch, in batch order, from ``workers`` processes (or this one).

    ``receive`` collects the parent's own time spent unpickling what the workers hand back.
    """
    if workers <= 1:
        started = time.perf_counter(), time.process_time()
        runner = QualityRunner(suites_dir)
        startup = {"wall_seconds": time.perf_counter() - started[0], "cpu_seconds": time.process_time() - started[1],
                   "rows": 0}
        for batch in batches:
            out, figures = _check_batch(batch, runner, key, params, validation_dir, keep)
            if startup is not None:
                figures["phases"]["start-up"], startup = startup, None
            yield out, figures
        return
    import concurrent.futures
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    # spawn: a fresh interpreter per worker. Forking a parent that holds threads (pyarrow's pools,
    # GX) can deadlock a child; a dead worker makes the pool raise BrokenProcessPool, not hang.
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(suites_dir, key, dict(params), validation_dir, keep),
    )
    futures = [executor.submit(_worker_check, batch) for batch in batches]
    try:
        for batch, future in zip(batches, futures, strict=True):
            try:
                handed_back = future.result()
            except BrokenProcessPool as error:
                raise CldstatsError(
                    f"a validation worker process stopped unexpectedly (killed or out of memory?) while "
                    f"checking {len(batch)} files from {batch[0].name}; rerun with fewer workers"
                ) from error
            started = receive.start()
            payload, figures = pickle.loads(handed_back)
            del handed_back
            out = pickle.loads(payload)
            del payload
            receive.stop("hand back (parent)", started, figures["rows"])
            yield out, figures
    finally:
        for future in futures:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def phase_summary(batch_figures: Sequence[Mapping[str, Any]], parent: PhaseClock, workers: int) -> dict[str, Any]:
    """``ValidationRun.phases``: each phase summed over batches and workers, plus the parent's.

    Worker phases ran concurrently in ``workers`` processes, so their wall times add up across
    workers (the sum can exceed the stage's wall time); CPU seconds are what each phase cost.
    """
    by_worker: dict[int, float] = {}
    for figures in batch_figures:
        pid = int(figures["pid"])
        by_worker[pid] = max(by_worker.get(pid, 0.0), float(figures["peak_rss_mb"]))
    phases = []
    names = [p for p in PHASES if any(p in f["phases"] for f in batch_figures)]
    for name in names:
        entries = [f["phases"][name] for f in batch_figures if name in f["phases"]]
        phases.append({
            "stage": name,
            "wall_seconds": round(sum(e["wall_seconds"] for e in entries), 3),
            "cpu_seconds": round(sum(e["cpu_seconds"] for e in entries), 3),
            "peak_rss_mb": round(max(by_worker.values()), 1) if by_worker else None,
            "rows": int(sum(e["rows"] for e in entries)) or None,
            "notes": _PHASE_NOTES[name] if name != "start-up" or workers > 1 else "building the GX context",
            "process": "workers" if workers > 1 else "this process",
        })
    for name, entry in parent.figures.items():
        phases.append({
            "stage": name,
            "wall_seconds": round(entry["wall_seconds"], 3),
            "cpu_seconds": round(entry["cpu_seconds"], 3),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "rows": int(entry["rows"]) or None,
            "notes": {
                "hand back (parent)": "unpickling each batch handed back by a worker",
                "qa outputs (parent)": "selection and row accounting (SQL, deriving new submissions' rows), "
                                       "qa/submissions.csv, qa/exclusions.csv and the council data quality "
                                       "reports, after the last batch",
            }.get(name, ""),
            "process": "parent",
        })
    return {
        "workers": workers,
        "batches": len(batch_figures),
        "worker_peak_rss_mb": {str(pid): round(mb, 1) for pid, mb in sorted(by_worker.items())},
        "bytes_handed_back": int(sum(f.get("bytes_handed_back", 0) for f in batch_figures)),
        "note": (
            "start-up, ingest, pseudonymise, validate, store and hand back ran concurrently in "
            f"{workers} worker process{'es' if workers != 1 else ''}: their wall seconds are summed over the "
            "workers (each worker timed its own phases), so they add up to more than the stage's wall time; "
            "CPU seconds are each phase's cost"
            if workers > 1 else "all phases ran one after the other in this process"
        ),
        "phases": phases,
    }


def validation_json_name(file_name: str) -> str:
    """``qa/validation/<file name>.json``: the whole name, so ``X.csv`` and ``X.csv.gz`` (a tie)
    keep one file each."""
    return f"{file_name}.json"


def write_validation_json(validation_dir: Path, result: QualityResult) -> None:
    """``qa/validation/<file>.json``: the file's outcome and its GX results (counts only)."""
    (validation_dir / validation_json_name(result.file)).write_text(
        json.dumps({"file": result.file, "outcome": result.outcome, "suites": result.gx_results}, indent=1,
                   default=str),
        encoding="utf-8",
    )
