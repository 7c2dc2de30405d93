"""One small synthetic month, shared: publishing it takes most of a minute, so the tests that only
read a release (contract, artefact guarantees, reliability, render) share one (the session fixtures
of ``tests/conftest.py``). Never change these folders in a test: copy them first."""

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers.paths import REPO

SMALL_COUNCILS = 8
SMALL_MONTH = "2024-03"


def shared_folder(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """``make(folder)`` once for the whole session, also when pytest-xdist runs it in several
    worker processes: the first worker to get here makes it (under a file lock) and the others
    wait for it and use it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each xdist worker has its own base folder inside the session's
    folder, done = base / f"shared-{name}", base / f"shared-{name}.done"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed here left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def publish_month(data_dir: Path, params_file: Path, out: Path, month: str = SMALL_MONTH) -> Path:
    """``python -m cldstats publish`` of ``month`` in a new process, as a statistician runs it; the
    release folder ``out/<month>`` (the run must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "cldstats", "publish", "--month", month, "--params", str(params_file),
         "--data", str(data_dir), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / month
