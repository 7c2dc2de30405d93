"""The Great Expectations suites of a run: generating the field suite, loading the suites, the GX import.

Three suites stored as JSON in ``expectations/`` are validated on each submission's validation
frame (:func:`cldstats.quality.statuses.validation_frame`):

* ``cld_release1_fields`` (the name of its first version, kept so stored results still name it) --
  *generated* from the spec and the canonical code values (``python -m cldstats.quality
  --write-suites expectations``, ``make expectations``): one ``field_values`` expectation per
  field, allowing only the statuses that pass cleanly for that field's rules, and the LA code
  list of the councils (``cldstats/data/local_authorities.csv``);
* ``cld_submission`` -- hand-written, the submission-level checks the gate may block on (row
  count, LA code against the file name, one reporting period, share of bad start dates);
* ``cld_cross_field`` -- hand-written cross-field rules (dates against each other, the
  reporting period and the date of death; outcome per event type; plausible age).

Every expectation carries ``meta.check`` (a machine name), ``meta.field`` and
``meta.description`` (plain words). This is the only module that imports ``great_expectations``
(GX 1.x, through :func:`gx`, when a check first runs).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cldstats import reference
from cldstats.quality.statuses import NOT_APPLICABLE, PASSED_BLANK, PASSED_RELEASE1, PASSED_VALID, dq_column
from cldstats.reference.checks import (
    CROSS_FIELD_SUITE,
    EXPECTATIONS_DIR,
    FIELD_SUITE,
    SUBMISSION_SUITE,
    SUITE_NAMES,
    load_suite_definitions,
)
from cldstats.reference.spec import Field, Spec, load_spec

if TYPE_CHECKING:
    import great_expectations as gx_types

# Analytics must be off before great_expectations is imported: GX reads the variable at import.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

__all__ = [
    "CROSS_FIELD_SUITE",
    "EXPECTATIONS_DIR",
    "FIELD_SUITE",
    "SUBMISSION_SUITE",
    "SUITE_NAMES",
    "build_field_suite",
    "ephemeral_context",
    "gx",
    "load_suite_definitions",
    "load_suites",
    "main",
    "write_suites",
]


#: What each kind of field must hold to be valid, in plain words (suite descriptions).
_KIND_RULES = {
    "code": "a value from the field's code list",
    "la_code": "the GSS code of a council in the council list",
    "date": "a date written d/m/yyyy",
    "nhs_number": "10 digits with a valid modulus-11 check digit",
    "postcode": "a UK postcode",
    "ods_code": "a GP practice ODS code (one letter and five digits)",
    "cqc_id": "a CQC location ID ('1-' and digits)",
    "identifier": "any non-blank identifier",
    "text": "any non-blank text",
    "number": "a decimal number",
    "integer": "a whole number",
}



def gx():
    """``great_expectations``, imported when a check first runs.

    It takes seconds to import; the council data quality pages, a rerun from the submission store and
    the gate's list of check names need none of it.
    """
    import great_expectations  # lazy, on purpose: see the docstring

    return great_expectations


def ephemeral_context() -> Any:
    """A new ephemeral GX context with GX's own progress bars off.

    GX's own tqdm bars per validation would flood the terminal; the CLI shows one bar over files.
    """
    from great_expectations.data_context.types.base import ProgressBarsConfig  # lazy, as gx(): import time

    context = gx().get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# ---------------------------------------------------------------------------------------------
# Suites: generation, loading
# ---------------------------------------------------------------------------------------------
def _clean_statuses(spec_field: Field) -> list[str]:
    """Statuses that pass without any finding for a field, given its applicability rules.

    A code field's Release 1 value passes too where it is valid (a file of the Release 1 era); in the
    Release 2 era it is ``Failed: Release 1`` instead.
    """
    allowed = [PASSED_VALID, PASSED_RELEASE1] if spec_field.is_code else [PASSED_VALID]
    if spec_field.mandatory != "always":
        allowed.append(PASSED_BLANK)
    if spec_field.applies != "always":
        allowed.append(NOT_APPLICABLE)
    return allowed


def build_field_suite(spec: Spec | None = None) -> dict[str, Any]:
    """The generated field suite as a JSON-ready dict (the content of ``cld_release1_fields.json``).

    One ``expect_column_values_to_be_in_set`` per spec field on its ``<field>__dq`` column, allowing
    only ``Passed: Valid`` (and ``Passed: Valid (Release 1)`` for a code field), plus ``Passed: Blank
    (Not Mandatory)`` where the field is not always mandatory and ``Not applicable`` where it does
    not always apply; and the LA code checked against the council list. The result depends only on
    the spec and reference data, so regenerating it gives identical JSON.

    Parameters
    ----------
    spec : Spec, optional
        Defaults to :func:`cldstats.reference.spec.load_spec`.

    Returns
    -------
    dict
        ``name``, ``meta`` and ``expectations`` in GX 1.x suite JSON form.
    """
    spec = spec or load_spec()
    expectations: list[dict[str, Any]] = []
    rules: dict[str, dict[str, Any]] = {}
    for spec_field in spec.fields:
        rule = _KIND_RULES[spec_field.kind]
        description = (
            f"{spec_field.label}: {rule} where the field applies"
            + ("" if spec_field.mandatory == "always" else ", or blank where it is not mandatory")
            + ("" if spec_field.applies == "always" else "; blank where it does not apply")
        )
        # The rules sit in the suite's meta, not in each expectation's: GX copies and serialises an
        # expectation's meta many times per validation, and large metas made validation 60% slower.
        rules[spec_field.name] = {
            "label": spec_field.label,
            "kind": spec_field.kind,
            "description": description,
            "applies": spec_field.applies,
            "mandatory": spec_field.mandatory,
        }
        expectations.append(
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": dq_column(spec_field.name), "value_set": _clean_statuses(spec_field)},
                "meta": {"check": "field_values", "field": spec_field.name},
            }
        )
    expectations.append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "LA_Code", "value_set": sorted(reference.council_codes())},
            "meta": {
                "check": "la_code_unknown",
                "field": "LA_Code",
                "description": "LA Code is not the GSS code of a council in the council list",
            },
        }
    )
    return {
        "name": FIELD_SUITE,
        "meta": {
            "generated_by": "python -m cldstats.quality --write-suites expectations",
            "notes": (
                "Generated from cldstats/data/release1_spec.yaml, code_vocabulary.yaml (code lists: the "
                "canonical Release 2 values) and field_rules.yaml; do not edit by hand. Each field's "
                "<field>__dq column holds its data quality status per row "
                "(cldstats.quality.DQ_STATUSES); field_rules gives each field's rule in words and its "
                "applicability and mandatory conditions (field_rules.yaml language)."
            ),
            "field_rules": rules,
        },
        "expectations": expectations,
    }


def _suite_json(suite: Mapping[str, Any]) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def write_suites(directory: str | Path) -> list[Path]:
    """Write the generated suite(s) into ``directory`` (``make expectations``).

    Only the field suite is generated; the cross-field and submission suites are hand-written
    JSON files in the same folder and are left untouched.

    Returns
    -------
    list of Path
        The files written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{FIELD_SUITE}.json"
    path.write_text(_suite_json(build_field_suite()), encoding="utf-8")
    return [path]


def load_suites(directory: str | Path | None = None) -> dict[str, gx_types.ExpectationSuite]:
    """Load the run's suites from JSON as ``great_expectations.ExpectationSuite`` objects.

    Parameters
    ----------
    directory : path, optional
        Folder with ``<suite name>.json``; defaults to the repository's ``expectations/``.

    Returns
    -------
    dict
        Suite name -> suite, in :data:`SUITE_NAMES` order.

    Raises
    ------
    CldstatsError
        As :func:`load_suite_definitions`.
    """
    return {name: gx().ExpectationSuite(**raw) for name, raw in load_suite_definitions(directory).items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cldstats.quality --write-suites DIR``: regenerate the generated suite(s)."""
    parser = argparse.ArgumentParser(
        prog="python -m cldstats.quality",
        description="Data quality: Great Expectations suites, AGEM field statuses, council reports and the gate.",
    )
    parser.add_argument("--write-suites", type=Path, required=True, metavar="DIR",
                        help="folder to write the generated suite JSON into (expectations/)")
    args = parser.parse_args(argv)
    for path in write_suites(args.write_suites):
        print(f"wrote {path}")
    return 0
