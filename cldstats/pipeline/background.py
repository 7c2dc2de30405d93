"""Stages of a release that run in a second process while the release goes on.

A rerun from the submission store is mostly single-threaded Python (workbooks, council data quality
pages) on a machine with two cores or more. Work whose output no later stage reads until the release
is assembled runs in one spare process instead, beside the stages that follow it: the council data
quality pages beside the measures, the workbooks beside the charts and notebooks. The outputs are
the same bytes (the same functions, the same inputs); only the wall time changes.

The process is started with ``spawn`` (a fresh interpreter: forking a parent that holds DuckDB's and
pyarrow's threads can deadlock the child). It runs what it is given one call at a time, in order. A
process that dies (killed, out of memory) is an error naming the stage, never a wait without end;
leaving the :class:`Background` block kills and waits for it when the block raised, and it ends
by itself when the run is killed, so nothing writes into a build folder that is being removed.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cldstats.core.errors import CldstatsError, naming_path

__all__ = ["Background", "Pending"]

#: Seconds between checks that the second process is still alive while waiting for it.
_POLL_SECONDS = 0.2


def _run_timed(func: Callable[..., Any], writes: str, args: tuple, kwargs: dict) -> tuple[Any, dict[str, float]]:
    """``func(*args, **kwargs)`` with its wall and CPU seconds and the process's peak memory (MB)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with naming_path(writes):
        value = func(*args, **kwargs)
    return value, {
        "wall_seconds": round(time.perf_counter() - wall0, 3),
        "cpu_seconds": round(time.process_time() - cpu0, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _end_with(parent_pid: int) -> None:
    """End this process when the run that started it has died (SIGKILL, the OOM killer): an orphan
    must not go on writing into a build folder that the next run removes."""
    while os.getppid() == parent_pid:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def _serve(connection, parent_pid: int) -> None:
    """The second process: run each call received, send back its value or its exception."""
    # Ctrl-C reaches the whole process group: the run handles it, and kills this process on its way
    # out (Background.__exit__), so here it is ignored rather than printed as a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent_pid,), daemon=True, name="end-with-the-run").start()
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the release closed its end: nothing more to do
            return
        if message is None:
            return
        number, call = message
        try:
            reply = (number, "value", _run_timed(*call))
        except BaseException as exc:  # sent back and raised in the release, whatever it is
            reply = (number, "error", exc)
        try:
            connection.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            # An exception that cannot be pickled still reaches the release, as its type and text.
            connection.send((number, "error", CldstatsError(f"{type(reply[2]).__name__}: {reply[2]}")))


@dataclass
class Pending:
    """A call running in the second process: :meth:`Background.wait` gives its value."""

    name: str
    number: int
    done: Any = None  # the reply, once received (or at once, without a second process)


class Background:
    """One spare process for the stages of a release that can run beside the others.

    Use as a context manager around the stages. With ``enabled=False`` (and by default on a machine
    with one CPU) each call runs at once, in this process, when it is submitted.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = (os.cpu_count() or 1) > 1 if enabled is None else enabled
        self._process = None
        self._connection = None
        self._submitted = 0
        self._replies: dict[int, tuple] = {}

    def __enter__(self) -> Background:
        if self.enabled:
            context = multiprocessing.get_context("spawn")
            self._connection, child_end = context.Pipe()
            # Started now so that its start-up (an interpreter, pandas) overlaps the first stages.
            self._process = context.Process(target=_serve, args=(child_end, os.getpid()), name="cldstats-background",
                                            daemon=True)
            self._process.start()
            child_end.close()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._process is None:
            return
        try:
            if exc_type is None:
                self._connection.send(None)
                self._process.join()
            else:
                self._process.kill()
                self._process.join()
        finally:
            self._connection.close()
            self._process = self._connection = None

    def submit(self, name: str, func: Callable[..., Any], *args: Any, writes: Path, **kwargs: Any) -> Pending:
        """Start ``func(*args, **kwargs)`` (a module-level function; the arguments are pickled).

        ``writes`` is the file or folder it fills: a file system error that names no path names it.
        """
        self._submitted += 1
        call = (func, str(writes), args, kwargs)
        pending = Pending(name, self._submitted)
        if self._process is None:
            try:
                pending.done = (pending.number, "value", _run_timed(*call))
            except Exception as exc:  # raised by wait(), as with a second process
                pending.done = (pending.number, "error", exc)
        else:
            self._connection.send((pending.number, call))
        return pending

    def wait(self, pending: Pending) -> tuple[Any, dict[str, float]]:
        """The value of a submitted call (its exception re-raised here) and its figures.

        Returns
        -------
        value, figures
            ``figures``: ``wall_seconds`` and ``cpu_seconds`` of the call where it ran,
            ``peak_rss_mb`` of that process so far, and ``waited_seconds``: how long this waited.

        Raises
        ------
        CldstatsError
            The second process died before answering (killed, out of memory).
        """
        waited0 = time.perf_counter()
        while pending.done is None:
            if pending.number in self._replies:
                pending.done = self._replies.pop(pending.number)
            elif self._connection.poll(_POLL_SECONDS):
                try:
                    reply = self._connection.recv()
                except EOFError:  # its end closed: it has ended or is ending
                    self._process.join(_POLL_SECONDS * 10)
                    raise self._died(pending) from None
                self._replies[reply[0]] = reply
            elif not self._process.is_alive():
                raise self._died(pending)
        _, kind, payload = pending.done
        if kind == "error":
            raise payload
        value, figures = payload
        return value, {**figures, "waited_seconds": round(time.perf_counter() - waited0, 3)}

    def _died(self, pending: Pending) -> CldstatsError:
        return CldstatsError(
            f"{pending.name}: the run's second process ended (exit code {self._process.exitcode}) before "
            "finishing it; nothing was published"
        )
