"""The names of every check a submission can fail: ingest's and the expectation suites'.

The submission gate blocks on checks named in params (``gate.blocking_checks``); the params rules
accept exactly the names defined here (:func:`check_names`), so a check added to ingest or to a suite
can be made blocking at once and a misspelt name is refused. The suites are JSON files in
``expectations/``, reviewed in git like code; this module reads them as JSON (Great Expectations,
which :mod:`cldstats.quality` runs them with, is not imported for their names).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from cldstats.core.errors import CldstatsError

__all__ = ["CROSS_FIELD_SUITE", "EXPECTATIONS_DIR", "FIELD_SUITE", "INGEST_CHECKS", "SUBMISSION_SUITE",
           "SUITE_NAMES", "check_names", "load_suite_definitions"]

#: Check names ingest reports (whether one blocks is the gate's decision, not ingest's).
INGEST_CHECKS = (
    "unreadable",
    "no_rows",
    "missing_columns",
    "extra_columns",
    "duplicate_columns",
    "duplicate_columns_disagree",
    "loose_label",
    "encoding_bom",
    "file_name",
    "formula_cells",
    "ragged_rows",
    "nhs_number_shared",
)

#: Where the suites live in the repository (reviewed in git like code).
EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"

FIELD_SUITE = "cld_release1_fields"
SUBMISSION_SUITE = "cld_submission"
CROSS_FIELD_SUITE = "cld_cross_field"
#: The suites of a run, in the order they are validated and reported.
SUITE_NAMES = (SUBMISSION_SUITE, FIELD_SUITE, CROSS_FIELD_SUITE)


def load_suite_definitions(directory: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the run's suites as their JSON (no Great Expectations import: the gate's check names
    come from here).

    Parameters
    ----------
    directory : path, optional
        Folder with ``<suite name>.json``; defaults to the repository's ``expectations/``.

    Returns
    -------
    dict
        Suite name -> the suite's JSON object (without its ``id``), in :data:`SUITE_NAMES` order.

    Raises
    ------
    CldstatsError
        A suite file is missing or is not valid JSON, or an expectation lacks ``meta.check``.
    """
    directory = Path(directory) if directory is not None else EXPECTATIONS_DIR
    definitions = {}
    for name in SUITE_NAMES:
        path = directory / f"{name}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CldstatsError(f"expectation suite {path} is missing (run `make expectations`)") from None
        except json.JSONDecodeError as exc:
            raise CldstatsError(f"expectation suite {path} is not valid JSON: {exc}") from None
        for number, expectation in enumerate(raw.get("expectations", []), start=1):
            if not expectation.get("meta", {}).get("check"):
                raise CldstatsError(f"expectation {number} of {path} has no meta.check")
        raw.pop("id", None)
        definitions[name] = raw
    return definitions


@functools.cache
def check_names() -> frozenset[str]:
    """Every check the submission gate can block on: what ingest reports (:data:`INGEST_CHECKS`) and
    the ``meta.check`` of every expectation of the suites each submission is validated with
    (:data:`SUITE_NAMES`: the submission, field and cross-field suites).

    Field-level detail checks (``invalid``, ``loose_match``...) are not among them: they are always
    warnings, so naming one in ``gate.blocking_checks`` would block nothing.
    """
    suites = load_suite_definitions()
    return frozenset(INGEST_CHECKS) | {
        expectation["meta"]["check"] for suite in suites.values() for expectation in suite.get("expectations", [])
    }
