"""Safe release folders: one run per month at a time, atomic placement, recovery after a kill.

Everything lives in the reports folder (``reports/`` by default):

==================================== ============================================================
path                                 what it is
==================================== ============================================================
``<YYYY-MM>/``                       the current release of the month (always complete)
``<YYYY-MM>/releases/<run id>/``     each earlier release of the month, as it was published
``.lock-<YYYY-MM>``                  the month's lock while a run holds it: pid, host, start time
``.building-<YYYY-MM>-<run id>-<pid>/`` a run's build folder; renamed to ``<YYYY-MM>/`` when done
``.replaced-<YYYY-MM>-<run id>/``    the previous release during the two renames of placement
``.stopped-<YYYY-MM>-<run id>/``     the QA outputs of a run the gate stopped (kept, never reused)
``logs/<YYYY-MM>-<run id>.log``      each run's log (see :mod:`cldstats.pipeline.publish`)
==================================== ============================================================

A quarterly release (``cldstats publish --quarter``) has the same layout under its own name,
``data-to-<month>-<year>`` (:func:`cldstats.reference.calendar.release_folder`) in place of
``<YYYY-MM>``: its own folder, lock, build folders and logs, which no month's can match.

**Lock.** :class:`MonthLock` takes ``fcntl.flock`` on ``.lock-<month>`` (non-blocking) and writes
the holder's pid, host and start time into it. The kernel releases a flock when its process dies,
however it dies, so a lock file left by a SIGKILLed run is *stale*: the next run gets the lock,
logs whose it was and goes on. A run that finds the lock held is refused with :class:`RunLocked`
(exit code 4), naming the holder. The lock file is removed when the run ends; its descriptor is
not inherited by child processes (Python opens files non-inheritable), so an orphaned notebook
kernel or worker cannot keep a month locked.

**Placement.** :func:`place_release` renames the current release aside to ``.replaced-…``, renames
the build folder to ``<month>/``, then files the old release under ``<month>/releases/<its run
id>/``. Renames within one folder are atomic, so at every moment ``<month>/`` is either absent (only
between the two renames) or a complete release; it is never a half-built one.

**Recovery.** :func:`recover` runs once the lock is taken, so no other run of the month can be
using these folders: it deletes ``.building-<month>-*`` folders of killed runs and, for a
``.replaced-<month>-*`` folder, moves it back to ``<month>/`` when no release is there (the kill
fell between the two renames) or files it under ``<month>/releases/`` when the new release is in
place (the kill fell after them).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import platform
import shutil
import time
from pathlib import Path

from cldstats.core.errors import CldstatsError

__all__ = ["MonthLock", "RunLocked", "build_folder", "place_release", "recover", "release_run_id"]

log = logging.getLogger("cldstats")


class RunLocked(CldstatsError):
    """Another run holds the month's lock: the message names it (pid, host, since)."""

    exit_code = 4


def build_folder(out_dir: Path, month: str, run_id: str) -> Path:
    """The hidden folder a run builds its release in."""
    return Path(out_dir) / f".building-{month}-{run_id}-{os.getpid()}"


def _aside_dir(release_dir: Path, run_id: str) -> Path:
    return release_dir.with_name(f".replaced-{release_dir.name}-{run_id}")


# ---------------------------------------------------------------------------------------------
# Lock
# ---------------------------------------------------------------------------------------------


class MonthLock:
    """An exclusive, crash-safe lock on one month of a reports folder (see the module docstring).

    Parameters
    ----------
    out_dir : Path
        The reports folder.
    month : str
        Reference month ``"YYYY-MM"``.
    details : dict, optional
        More about the holder, written into the lock file beside pid, host and start time (publish
        adds its run id and log file, so the run that takes over a stale lock can name them).

    Attributes
    ----------
    path : Path
        ``out_dir/.lock-<month>``.
    stale : dict or None
        After :meth:`acquire`: what a dead earlier holder had written (pid, host, since…), else None.
    """

    def __init__(self, out_dir: Path, month: str, details: dict | None = None) -> None:
        self.path = Path(out_dir) / f".lock-{month}"
        self.month = month
        self.details = dict(details or {})
        self.stale: dict | None = None
        self._fd: int | None = None

    def _read_holder(self, fd: int) -> dict:
        # The holder writes its details just after taking the lock: give it a moment.
        for _ in range(20):
            text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
            if text:
                try:
                    return json.loads(text)
                except ValueError:
                    pass
            time.sleep(0.05)
        return {}

    def acquire(self) -> MonthLock:
        """Take the lock, or raise :class:`RunLocked` naming the run that holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                holder = self._read_holder(fd)
                os.close(fd)
                raise RunLocked(
                    f"another run is publishing {self.month}: pid {holder.get('pid', '?')} on "
                    f"{holder.get('host', '?')} since {holder.get('since', '?')} (lock {self.path}); "
                    "wait for it to finish"
                ) from None
            # The previous holder removes the file as it releases the lock: if we locked a file
            # that has since been unlinked or replaced, start again on the one at the path.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
        if text:
            try:
                self.stale = json.loads(text)
            except ValueError:
                self.stale = {"pid": "?", "host": "?", "since": "?"}
        holder = {
            "pid": os.getpid(),
            "host": platform.node(),
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "month": self.month,
            **self.details,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (in that order: see :meth:`acquire`)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> MonthLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


# ---------------------------------------------------------------------------------------------
# Placement and recovery
# ---------------------------------------------------------------------------------------------


def release_run_id(folder: Path) -> str:
    """The run id recorded in a release's ``manifest.json`` (``"previous"`` if none is readable)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "previous"
    # ``may_differ.run_id`` since the manifest separated what may differ; ``run.run_id`` before.
    run = manifest.get("may_differ") or manifest.get("run") or {}
    return str(run.get("run_id") or "previous")


def _file_aside(aside: Path, release_dir: Path) -> Path:
    """Move a replaced release (and the history it carried) under ``release_dir/releases/``.

    Idempotent: a kill half-way through leaves a state this function finishes.
    """
    history = release_dir / "releases"
    history.mkdir(exist_ok=True)
    if (aside / "releases").is_dir():
        for old in sorted((aside / "releases").iterdir()):
            old.rename(_free_name(history, old.name))
        (aside / "releases").rmdir()
    target = _free_name(history, release_run_id(aside))
    aside.rename(target)
    return target


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/name-2``, ``-3``… if taken: two releases never overwrite."""
    target, suffix = folder / name, 1
    while target.exists():
        suffix += 1
        target = folder / f"{name}-{suffix}"
    return target


def place_release(build: Path, release_dir: Path, run_id: str) -> Path | None:
    """Move the finished ``build`` folder to ``release_dir``, keeping the release it replaces.

    Parameters
    ----------
    build : Path
        The complete build folder.
    release_dir : Path
        ``reports/<month>``.
    run_id : str
        This run's id (names the aside folder).

    Returns
    -------
    Path or None
        Where the replaced release was filed, ``release_dir/releases/<its run id>``; None for a
        first release.
    """
    aside = None
    if release_dir.exists():
        aside = _aside_dir(release_dir, run_id)
        release_dir.rename(aside)
    build.rename(release_dir)
    if aside is None:
        return None
    return _file_aside(aside, release_dir)


def _remove(folder: Path) -> bool:
    # An orphaned kernel of the killed run may still be writing for up to a second: try again.
    for attempt in range(3):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return True
        time.sleep(0.5 * (attempt + 1))
    return False


def recover(out_dir: Path, month: str) -> list[str]:
    """Clean up after killed runs of ``month``; call only while holding its :class:`MonthLock`.

    Parameters
    ----------
    out_dir : Path
        The reports folder.
    month : str
        Reference month ``"YYYY-MM"``.

    Returns
    -------
    list of str
        One line per action taken (also logged), empty when there was nothing to recover.
    """
    out_dir = Path(out_dir)
    release_dir = out_dir / month
    actions = []
    for build in sorted(out_dir.glob(f".building-{month}-*")):
        if _remove(build):
            actions.append(f"removed the build folder {build.name} of an interrupted run")
        else:
            actions.append(f"could not remove the build folder {build.name} of an interrupted run")
    asides = sorted(p for p in out_dir.glob(f".replaced-{month}-*") if p.is_dir())
    if asides and not release_dir.exists():
        newest = asides.pop()
        newest.rename(release_dir)
        actions.append(f"restored the release {release_run_id(release_dir)} from {newest.name} to {month}/ "
                       "(the interrupted run stopped while placing its release)")
    for aside in asides:
        filed = _file_aside(aside, release_dir)
        actions.append(f"filed the replaced release {aside.name} under {month}/releases/{filed.name}")
    for action in actions:
        log.warning("recovery: %s", action)
    return actions
