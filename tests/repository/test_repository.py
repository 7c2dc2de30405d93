"""Repository rules: the conda environment agrees with the pins, notebooks carry no outputs,
client-level data is ignored by git, CI runs the README's test command."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import REPO

ROOT = REPO


def _pins_from_pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    pins = {}
    for requirement in requirements:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^\s;]*)", requirement).groups()
        pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" in requirement, requirement


#: conda-forge packages whose name differs from the PyPI project's.
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for entry in env["dependencies"]:
        if isinstance(entry, str) and "=" in entry:
            name, version = entry.split("#")[0].strip().split("=", 1)
            conda[CONDA_TO_PYPI.get(name.lower(), name.lower())] = version
    pins = _pins_from_pyproject()
    assert {k: v for k, v in conda.items() if k != "python"} == pins
    assert "quarto" in env["dependencies"]
    python = conda["python"]
    assert python in {"3.11", "3.12"}


def test_notebooks_are_committed_without_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, path.name


def test_client_level_data_is_ignored_by_git():
    for path in ("data/submissions/E06000001_20240415T101500.csv", "reports/2024-03/data/x.csv", "bench/results.json"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode == 0, f"{path} is not ignored"


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_code_is_lint_clean():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--output-format", "concise", "cldstats", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
def test_a_run_that_collects_no_test_fails():
    """pytest exits 5 when it collects nothing: `make test-fast` (and `make test`, the same recipe)
    turns that into a failure that says so, instead of a green run that tested nothing."""
    done = subprocess.run(["make", "-s", "test-fast", "PYTEST_ARGS=-k no_test_is_named_this -p no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout[-2000:]
    assert "make test-fast: pytest collected no tests; failing on purpose" in done.stdout, done.stdout[-2000:]
