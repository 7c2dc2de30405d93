"""Errors a user can act on: the command line prints them as one line and exits non-zero.

Exit codes of ``cldstats`` (the full table is in :mod:`cldstats.cli`): 0 done; 1 internal error (a
bug: one line, the traceback with ``--debug``); 2 bad input, bad params or a file system error;
3 publication gate stop; 4 another run holds the month's lock (:class:`cldstats.pipeline.runlock.RunLocked`);
130 interrupted.

File system errors are not wrapped: an OSError reaches the command line as it is, and
:func:`naming_path` makes sure it names the path being written.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager


class CldstatsError(Exception):
    """A failure with a one-line reason for the person running cldstats (bad input, bad params,
    a gate stop). The reason names the file, folder or option at fault. Anything else is a bug:
    the command line reports it as an internal error, with the traceback under ``--debug``."""

    exit_code = 2


class ParamsError(CldstatsError, ValueError):
    """A params file is missing, unreadable, or names an unknown or mistyped key."""


class GateStop(CldstatsError):
    """The publication-level quality gate stopped the run (docs/methodology.md section 6)."""

    exit_code = 3


def os_error_in(exc: BaseException) -> OSError | None:
    """The file system error behind ``exc``: ``exc`` itself, or the OSError a library wrapped in its
    own exception (xlsxwriter's ``FileCreateError(oserror)``, ``raise ... from oserror``)."""
    if isinstance(exc, OSError):
        return exc
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and (cause is exc.__cause__ or cause in exc.args):
        return cause
    return None


def path_of(exc: OSError) -> str | None:
    """The file an OSError is about: its own ``filename``, else the file being written in the
    innermost frames of its traceback (``write()`` on a full disk raises ENOSPC without a name):
    a file object opened for writing (closed or not: the error may come from its ``close()``) or a
    zip file being written (an xlsx). None when there is no such file: a path is not guessed.

    Files opened for reading are passed over: copying a temporary file into a workbook holds both,
    and the full disk is the destination's.
    """
    if exc.filename is not None:
        path = os.fsdecode(exc.filename) if isinstance(exc.filename, (str, bytes, os.PathLike)) else str(exc.filename)
        if exc.filename2 is not None:
            path += f" -> {os.fsdecode(exc.filename2)}"
        return path
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames[-4:]):
        for value in frame.f_locals.values():
            name, mode = getattr(value, "name", None), getattr(value, "mode", None)
            writing = isinstance(mode, str) and bool(set(mode) & set("wax+"))
            if isinstance(value, io.IOBase) and isinstance(name, str) and writing:
                return name
            if isinstance(value, zipfile.ZipFile) and value.mode != "r" and isinstance(value.filename, str):
                return value.filename
    return None


@contextmanager
def naming_path(path: str | os.PathLike) -> Iterator[None]:
    """Make a file system error raised inside the block name the path it was writing.

    ``path`` is the file the block writes, or the folder a writer fills. An error that names its
    own file is left alone; one that names none (``write()`` on a full disk) names the file found
    being written (:func:`path_of`), else ``path``; one a library wrapped (:func:`os_error_in`)
    becomes that OSError again, so the command line reports it as a file system error (exit code
    2) and not as an internal error.
    """
    try:
        yield
    except Exception as exc:
        error = os_error_in(exc)
        if error is None or (error is exc and exc.filename is not None):
            raise
        found = path_of(error)
        where = found if found is not None else os.fspath(path)
        if error is exc:
            exc.filename = where
            raise
        raise OSError(error.errno, error.strerror, error.filename or where) from exc


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) for the block: clean-up that must finish (stopping a kernel, removing
    a build folder) is not cut short by a second Ctrl-C, which takes effect (KeyboardInterrupt) as
    soon as the block ends.

    The Python handler is swapped for one that only notes the signal: blocking the signal with
    ``pthread_sigmask`` would not do, since the kernel may deliver it to any other thread (kernel
    client channels, progress bars), whose C handler still interrupts the main thread. Outside the
    main thread (where Python handles no signals) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if noted and callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt
