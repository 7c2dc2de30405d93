"""Shared test set-up: test helper modules (``malformed_corpus``, ``privacy``) import by name."""

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib, which does not put tests/ on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


# ---------------------------------------------------------------------------------------------
# One small synthetic month, shared: publishing it takes most of a minute, so the tests that only
# read a release (contract, artefact guarantees, reliability, render) share one. Never change these
# folders in a test: copy them first.
# ---------------------------------------------------------------------------------------------

SMALL_COUNCILS = 8
SMALL_MONTH = "2024-03"
REPO = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """Synthetic submissions of 8 councils (the default synthetic months and faults)."""
    from cldstats import synth

    return shared_folder(tmp_path_factory, "small-data", lambda data: synth.generate(data, councils=SMALL_COUNCILS))


@pytest.fixture(scope="session")
def small_run_params(tmp_path_factory) -> Path:
    """Params for the small month: 8 councils are 5% of England, so the coverage gate must be
    overridden, and say why."""
    folder = shared_folder(tmp_path_factory, "small-params", lambda folder: (folder / "small.yaml").write_text(
        'override:\n  reason: "test run on 8 of 153 councils"\n', encoding="utf-8"))
    return folder / "small.yaml"


@pytest.fixture(scope="session")
def small_reports(small_data_dir, small_run_params, tmp_path_factory) -> Path:
    """The reports folder after ``python -m cldstats publish`` of 2024-03 for the 8 councils: run as
    a statistician runs it (a new process, the real kernel and papermill), so its log is written."""
    folder = shared_folder(tmp_path_factory, "small-reports",
                           lambda folder: publish_month(small_data_dir, small_run_params, folder / "reports"))
    return folder / "reports"


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
