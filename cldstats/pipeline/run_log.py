"""The run log: logger ``"cldstats"``, written line by line to ``reports/logs/<YYYY-MM>-<run id>.log``.

Each stage's start and finish (seconds, rows, counts), recovery actions and the outcome go to
stderr (when the run shows progress) and to the log file, flushed record by record so the log
survives failed and killed runs. It holds stage names, counts, file names and cldstats's own
messages only, never a value read from a submission: for an unexpected error it records the
exception type, not its message (which could quote data). A record that cannot be written stops
the run with an OSError naming the log.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from cldstats.core.errors import CldstatsError, naming_path
from cldstats.pipeline.background import Background, Pending
from cldstats.pipeline.timing import StageResult, StageTimer

__all__ = ["LOG", "failure_logged", "failure_text", "finish_beside", "run_log", "stage", "start_beside"]

#: The run's logger; :func:`run_log` attaches the log file (and stderr) for one run.
LOG = logging.getLogger("cldstats")


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
def run_log(log_file: Path, *, to_stderr: bool) -> Iterator[Path]:
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


def failure_text(exc: BaseException) -> str:
    """An unexpected error for the log: its type, and for a file system error the reason and path;
    never an arbitrary message, which could quote a value read from a submission."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return type(exc).__name__


@contextmanager
def failure_logged(name: str) -> Iterator[None]:
    """Log how stage ``name`` ended when the block raises: stopped (a one-line reason) or failed."""
    try:
        yield
    except CldstatsError as exc:
        LOG.error("stage stopped: %s: %s", name, exc)
        raise
    except BaseException as exc:
        LOG.error("stage failed: %s: %s", name, failure_text(exc))
        raise


@contextmanager
def stage(timer: StageTimer, name: str, writes: Path | None = None) -> Iterator[StageResult]:
    """A timed stage whose start and finish are logged; set ``.rows`` and ``.notes`` for counts.
    ``writes``: the file or folder the stage writes, named by a file system error that names no
    path of its own (:func:`cldstats.core.errors.naming_path`)."""
    LOG.info("stage start: %s", name)
    with failure_logged(name), timer.stage(name) as result, (
        naming_path(writes) if writes is not None else nullcontext()
    ):
        yield result
    counts = [f"{result.rows:,} rows"] if result.rows is not None else []
    counts += [result.notes] if result.notes else []
    LOG.info("stage done: %s in %.1f s%s", name, result.wall_seconds, "; " + "; ".join(counts) if counts else "")


def start_beside(side: Background, name: str, func, *args, writes: Path, **kwargs) -> Pending:
    """Start stage ``name`` in the second process ``side``; :func:`finish_beside` waits for it."""
    LOG.info("stage start: %s", name)
    return side.submit(name, func, *args, writes=writes, **kwargs)


def finish_beside(timer: StageTimer, side: Background, pending: Pending):
    """Wait for a stage started by :func:`start_beside`; time it as the second process measured it
    and return its value."""
    with failure_logged(pending.name):
        value, figures = side.wait(pending)
    notes = (f"in a second process beside the next stages; the release waited "
             f"{figures['waited_seconds']:.1f} s for it")
    timer.results.append(StageResult(pending.name, figures["wall_seconds"], figures["cpu_seconds"],
                                     figures["peak_rss_mb"], notes=notes,
                                     peak_rss_mb_parent=figures["peak_rss_mb"]))
    LOG.info("stage done: %s in %.1f s; %s", pending.name, figures["wall_seconds"], notes)
    return value
