"""Fixtures of the quality tests: one GX runner and the repository's params per test module."""

from __future__ import annotations

import pytest

from cldstats import quality
from cldstats.reference.params import load_params
from tests.helpers.paths import REPO


@pytest.fixture(scope="module")
def runner():
    """The run's GX context with the repository's suites (seconds to build: once per module)."""
    return quality.QualityRunner()


@pytest.fixture(scope="module")
def params():
    """The resolved params of ``params/`` (the default month)."""
    return load_params(params_dir=REPO / "params")
