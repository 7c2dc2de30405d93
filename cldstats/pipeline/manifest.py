"""``manifest.json``: what a release was made from and what it holds.

It separates what must match from what may differ. At the top level, everything that two runs on
the same inputs, params and code must reproduce exactly: ``month``, ``reference_date``, ``release``
(its folder, its title, e.g. "data to March 2026", and whether it is quarterly), ``params``,
``synthetic_data``, ``pseudonymisation_key``, ``inputs`` (file, SHA-256 as ingest computed it from
the bytes it read, or null with the reason in ``not_hashed``; selected), ``mappings`` (the
hand-maintained value mapping tables, their digests and uses: :func:`manifest_mappings`), ``versions``,
``git_commit``, ``gate``, ``selection`` (:func:`selection_record`: the cut-off by its DHSC name too,
the reporting period used, the files excluded and included by hand with their reasons, and how
many files' derived period differs from their stated one), ``renderer`` and ``outputs`` (SHA-256
of every file except the executed notebooks and the rendered reports). Under ``may_differ``:
``run_id``, ``host``, ``pid``, ``started_at``, ``seconds``, ``argv``, ``log_file`` (relative to the reports folder),
``submission_store`` and ``outputs`` with the SHA-256 of every ``*.ipynb`` (papermill records
execution times and paths) and of every HTML report holding the run-time line
``<p class="run-time">`` (by which alone two runs' reports may differ).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from cldstats import __version__
from cldstats.ingest.files import sha256_of_file
from cldstats.reference import statements

__all__ = ["RECORDED_DEPENDENCIES", "RUN_TIME_LINE", "git_commit", "manifest_inputs", "manifest_mappings",
           "output_digests", "run_details", "selection_record", "versions", "write_manifest"]

#: Libraries whose versions the manifest records.
RECORDED_DEPENDENCIES = (
    "duckdb", "great-expectations", "gptables", "matplotlib", "nbclient", "nbconvert", "numpy", "pandas",
    "papermill", "pyarrow", "pyyaml",
)
#: The one line an HTML report may differ by between two runs on the same inputs (render.py).
RUN_TIME_LINE = b'<p class="run-time">'


def git_commit() -> str:
    """The checkout's commit, with ``-modified`` when tracked files differ from it; ``unknown``
    outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() + ("-modified" if dirty else "")


def versions() -> dict[str, str]:
    """Python's, cldstats's and each :data:`RECORDED_DEPENDENCIES` library's version."""
    found = {"python": platform.python_version(), "cldstats": __version__}
    for name in RECORDED_DEPENDENCIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def manifest_inputs(results, selected_names: set[str]) -> list[dict]:
    """The manifest's ``inputs``: every entry considered for the month with the SHA-256 ingest
    computed from the bytes it read (nothing is read again); null, with the reason, for a file that
    could not be read or an entry that is not a submission file."""
    inputs = []
    for result in results:
        entry = {"file": result.file, "sha256": result.sha256, "selected": result.file in selected_names}
        if result.sha256 is None:
            entry["not_hashed"] = result.outcome
        inputs.append(entry)
    return inputs


def selection_record(params: dict[str, Any], hand, reporting_periods) -> dict[str, Any]:
    """The manifest's ``selection``: how each council's submission was chosen (params ``selection``).

    Parameters
    ----------
    params : dict
        Resolved params.
    hand : pandas.DataFrame
        The files hand entries name (:func:`cldstats.pipeline.accounting.folder_hand_matches`).
    reporting_periods : pandas.DataFrame
        ``qa/reporting_periods.csv``'s rows (:data:`cldstats.pipeline.accounting.REPORTING_PERIOD_COLUMNS`).
    """
    selection = params["selection"]

    def named(kind: str) -> list[dict[str, str]]:
        rows = hand[hand["hand"] == kind] if len(hand) else hand
        return [{"file": str(r.file), "reason": str(r.hand_reason), "entry": str(r.entry)}
                for r in rows.sort_values("file").itertuples()]

    periods = reporting_periods
    differ = 0
    if len(periods):
        differ = int(((periods["derived_start"].astype(str) != periods["stated_start"].astype(str))
                      | (periods["derived_end"].astype(str) != periods["stated_end"].astype(str))).sum())
    return {
        "as_of": selection["as_of"],
        "as_of_is": f"the cut-off: DHSC's {statements.AS_OF_NAME}",
        "reporting_period": selection["reporting_period"],
        "excluded": named("exclude"),
        "included": named("include"),
        "files_whose_derived_period_differs": differ,
    }


def manifest_mappings(tables: Any, results, selected_names: set[str]) -> dict[str, Any]:
    """The manifest's ``mappings``: the hand-maintained value mapping tables of the run
    (:class:`cldstats.reference.mappings.MappingTables`: folder, each file with its SHA-256 and
    rows, the digest) and their uses in the selected files: per mapping used, its row (``file:row``),
    field, submitted and valid value, cells and submissions; ``values_mapped`` and ``fields_mapped``
    count the mappings used and their fields (the notes sheet's statement)."""
    by_source = tables.by_source()
    cells: dict[str, int] = {}
    files: dict[str, set[str]] = {}
    for result in results:
        used = result.invalid_values
        if result.file not in selected_names or "mapping" not in used.columns:
            continue
        for source, count in used.dropna(subset=["mapping"]).groupby("mapping")["count"].sum().items():
            cells[source] = cells.get(source, 0) + int(count)
            files.setdefault(source, set()).add(result.file)
    uses = []
    for source in sorted(cells, key=lambda s: (s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1]))):
        mapping = by_source.get(source)
        uses.append({
            "mapping": source,
            "field": mapping.field if mapping else None,
            "submitted_value": mapping.submitted_value if mapping else None,
            "valid_value": mapping.valid_value if mapping else None,
            "cells": cells[source],
            "submissions": len(files[source]),
        })
    return {**tables.record(), "uses": uses, "values_mapped": len(uses),
            "fields_mapped": len({use["field"] for use in uses})}


def _may_differ(path: Path) -> bool:
    """Executed notebooks (papermill's execution times) and HTML with a run-time line."""
    if path.suffix == ".ipynb":
        return True
    return path.suffix == ".html" and RUN_TIME_LINE in path.read_bytes()


def output_digests(build: Path) -> tuple[dict[str, str], dict[str, str]]:
    """SHA-256 of every file of the build but the manifest: (must match, may differ)."""
    must, may = {}, {}
    for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != "manifest.json"):
        (may if _may_differ(path) else must)[path.relative_to(build).as_posix()] = sha256_of_file(path)
    return must, may


def run_details(run_id: str, started_at, log_name: str, store: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``may_differ`` part before the reports are rendered (``seconds`` and the
    ``outputs`` that may differ are filled in last)."""
    return {
        "run_id": run_id,
        "host": platform.node(),
        "pid": os.getpid(),
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": None,
        "argv": sys.argv[1:],
        "log_file": log_name,
        # How many files this run read and how many came from the store differs between a first
        # run and a rerun; the published outputs do not.
        "submission_store": store,
        "outputs": {},
    }


def write_manifest(build_dir: Path, manifest: dict) -> None:
    """Write ``manifest.json`` into the build folder."""
    (build_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
