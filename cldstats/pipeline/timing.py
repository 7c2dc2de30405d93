"""Timing of the stages of a run: wall and CPU seconds, peak memory and rows of each stage.

``publish`` times every stage with a :class:`StageTimer` (the run log's seconds, ``make bench``'s
figures); validation workers report the phases they timed themselves to the running stage through
:func:`record_substages`. Kept apart from :mod:`cldstats.tools.bench`, which drives whole runs, so that
the stages that are timed import no benchmark.

Peak memory is sampled every 50 ms over the whole process tree (this process and its live
children, e.g. validation workers and the notebook kernels, at the same moment), so it is what the
machine had to hold; ``peak_rss_mb_parent`` is this process alone.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StageResult", "StageTimer", "record_substages"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process now (Linux ``/proc``; 0 where unavailable or gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _children(pid: int | str) -> list[str]:
    """Process ids of the live children of ``pid`` (``/proc/<pid>/task/*/children``)."""
    found: list[str] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                found += fh.read().split()
        except OSError:
            continue
    return found


def _tree_rss_bytes() -> tuple[int, int]:
    """(resident bytes of this process and all its live descendants, of this process alone)."""
    own = _rss_bytes()
    total, pending, seen = own, _children(os.getpid()), set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        pending += _children(pid)
    return total, own


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class StageResult:
    """Figures for one stage.

    CPU time includes finished child processes (worker pools, the notebook kernel). Peak memory is
    the largest resident size of this process and its live children together (sampled);
    ``peak_rss_mb_parent`` is this process alone. ``substages`` holds parts the stage measured
    itself (see :func:`record_substages`).
    """

    stage: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rows: int | None = None
    notes: str = ""
    peak_rss_mb_parent: float = 0.0
    substages: list[dict[str, Any]] = field(default_factory=list)
    #: How the sub-stages ran (e.g. concurrently in N worker processes); kept apart from
    #: ``notes``, which the code timing the stage may set.
    substages_note: str = ""

    @property
    def rows_per_second(self) -> float | None:
        """Throughput, when rows were counted and the stage took long enough to measure (0.5 s)."""
        return self.rows / self.wall_seconds if self.rows and self.wall_seconds >= 0.5 else None


#: The stages now running (innermost last), for :func:`record_substages`.
_RUNNING: list[StageResult] = []


def record_substages(substages: Sequence[Mapping[str, Any]], note: str = "") -> bool:
    """Attach externally measured sub-stages to the innermost stage a :class:`StageTimer` is timing.

    Code that measures its own parts (validation's worker processes time ingest, pseudonymise and
    validate) calls this; outside a timed stage it does nothing, so the caller needs no timer.

    Parameters
    ----------
    substages : sequence of mapping
        Each at least ``stage``, ``wall_seconds``, ``cpu_seconds``; usually also ``peak_rss_mb``,
        ``rows``, ``notes``, ``process``.
    note : str
        Appended to the stage's notes (e.g. that the sub-stages ran concurrently in N workers).

    Returns
    -------
    bool
        True when a running stage received them.
    """
    if not _RUNNING:
        return False
    return StageTimer.add_substages(_RUNNING[-1], substages, note)


@dataclass
class StageTimer:
    """Times stages and samples peak memory while each one runs.

    ``ru_maxrss`` only gives the lifetime peak of a process, so a sampling thread reads the current
    resident size of this process and its live children every ``interval`` seconds to get each
    stage's own peak (children that start and end between two samples are caught, for their own
    peak, through ``RUSAGE_CHILDREN`` when they end).
    """

    interval: float = 0.05
    results: list[StageResult] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, rows: int | None = None, notes: str = "") -> Iterator[StageResult]:
        """Measure the ``with`` block as stage ``name``; set ``.rows`` on the yielded result."""
        result = StageResult(name, 0.0, 0.0, 0.0, rows, notes)
        tree, own = _tree_rss_bytes()
        peak, peak_own = [tree], [own]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                tree, own = _tree_rss_bytes()
                peak[0], peak_own[0] = max(peak[0], tree), max(peak_own[0], own)

        sampler = threading.Thread(target=sample, daemon=True)
        children_peak0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        wall0, cpu0, child0 = time.perf_counter(), _self_cpu_seconds(), _children_cpu_seconds()
        sampler.start()
        _RUNNING.append(result)
        try:
            yield result
        finally:
            for position in range(len(_RUNNING) - 1, -1, -1):  # by identity: results compare by value
                if _RUNNING[position] is result:
                    del _RUNNING[position]
                    break
            stop.set()
            sampler.join()
            result.wall_seconds = round(time.perf_counter() - wall0, 3)
            result.cpu_seconds = round(_self_cpu_seconds() - cpu0 + _children_cpu_seconds() - child0, 3)
            # A child's lifetime peak counts only when a child of this stage raised it.
            children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            child_bytes = children_peak * 1024 if children_peak > children_peak0 else 0
            tree, own = _tree_rss_bytes()
            result.peak_rss_mb = round(max(peak[0], tree, child_bytes) / 2**20, 1)
            result.peak_rss_mb_parent = round(max(peak_own[0], own) / 2**20, 1)
            self.results.append(result)

    @staticmethod
    def add_substages(result: StageResult, substages: Sequence[Mapping[str, Any]], note: str = "") -> bool:
        """Record sub-stages measured elsewhere (worker processes) on ``result``; see :func:`record_substages`."""
        result.substages.extend(dict(s) for s in substages)
        if note:
            result.substages_note = f"{result.substages_note}; {note}" if result.substages_note else note
        return True
