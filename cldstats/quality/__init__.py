"""Data quality of one submission: the Great Expectations suites, their pandas mirror, statuses, the
publication gate and the council data quality pages.

Modules: :mod:`~cldstats.quality.statuses` (field statuses, the validation frame),
:mod:`~cldstats.quality.suites` (suite generation and loading, the GX import),
:mod:`~cldstats.quality.mirror` (GX's semantics in pandas), :mod:`~cldstats.quality.results`
(:class:`QualityResult`), :mod:`~cldstats.quality.runner` (:class:`QualityRunner`),
:mod:`~cldstats.quality.gate` (publication gate, output consistency) and
:mod:`~cldstats.quality.council_reports`. Validating a whole folder (reading, storing, selecting,
accounting for rows) is the pipeline's: :mod:`cldstats.pipeline.validation`.
"""

from cldstats.quality.council_reports import write_council_reports
from cldstats.quality.gate import GateDecision, check_output_consistency, publication_gate
from cldstats.quality.mirror import failing_rows
from cldstats.quality.results import QualityResult
from cldstats.quality.runner import FILES_FRAME, QualityRunner, check_frame, check_submission
from cldstats.quality.statuses import AGEM_OF_DQ, DQ_STATUSES, dq_column, field_status_codes, validation_frame
from cldstats.quality.suites import (
    EXPECTATIONS_DIR,
    FIELD_SUITE,
    SUITE_NAMES,
    build_field_suite,
    load_suite_definitions,
    load_suites,
    main,
    write_suites,
)

__all__ = [
    "AGEM_OF_DQ",
    "DQ_STATUSES",
    "EXPECTATIONS_DIR",
    "FIELD_SUITE",
    "FILES_FRAME",
    "SUITE_NAMES",
    "GateDecision",
    "QualityResult",
    "QualityRunner",
    "build_field_suite",
    "check_frame",
    "check_output_consistency",
    "check_submission",
    "dq_column",
    "failing_rows",
    "field_status_codes",
    "load_suite_definitions",
    "load_suites",
    "main",
    "publication_gate",
    "validation_frame",
    "write_council_reports",
    "write_suites",
]
