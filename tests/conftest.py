"""Shared test set-up: the small synthetic month and its release, made once per test session
(:mod:`tests.helpers.small_release`).

Helpers import as ``tests.helpers.<name>``: ``pythonpath = ["."]`` in ``pyproject.toml`` puts the
checkout on the import path, so no test edits ``sys.path``.
"""

from pathlib import Path

import pytest

from cldstats.tools import synth
from tests.helpers.small_release import SMALL_COUNCILS, publish_month, shared_folder


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """Synthetic submissions of 8 councils (the default synthetic months and faults): April 2023 to
    March 2026, so Release 1 files, Release 2 files from October 2025 and the cohorts' exceptions
    (the first 8 councils include two early adopters, a late Release 1 council and one whose Release
    2 files keep the removed columns); 2024-03, the month the tests publish, and 2026-03, the default
    month, both have their submissions."""
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
