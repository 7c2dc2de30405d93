"""The release-level checks: the publication gate and the consistency of the published tables.

:func:`publication_gate` decides whether a release may be published (coverage of the councils, the
England month-on-month change, an override reason; docs/methodology.md section 6, publication
level); :func:`check_output_consistency` asserts the published tables' consistency checks with the
``cld_output_consistency`` suite, on pandas check frames.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cldstats import reference
from cldstats.core.errors import CldstatsError, GateStop
from cldstats.quality.suites import EXPECTATIONS_DIR, ephemeral_context, gx

__all__ = ["OUTPUT_SUITE", "GateDecision", "check_output_consistency", "publication_gate"]


@dataclass(frozen=True)
class GateDecision:
    """Whether a release may be published (docs/methodology.md section 6, publication level).

    Attributes
    ----------
    proceed : bool
        True when every check passed, or a check failed and ``override.reason`` is non-empty.
    failures : tuple of str
        One plain-words line per failed check.
    coverage : float
        Share of the councils (the council list) with a selected file.
    month_change : float or None
        Relative change of the England measure-1 total from the previous month end (None when
        there is no previous month or its total is zero).
    override_reason : str
        The params' override reason ('' when none); printed in the notes and the QA report.
    """

    proceed: bool
    failures: tuple[str, ...]
    coverage: float
    month_change: float | None
    override_reason: str = ""

    @property
    def overridden(self) -> bool:
        """True when a failed check was overridden."""
        return bool(self.failures) and self.proceed

    def message(self) -> str:
        """One line for the console, the notes sheet and the QA report."""
        if not self.failures:
            return "publication gate passed"
        failures = "; ".join(self.failures)
        if self.overridden:
            return f"publication gate overridden ({self.override_reason}): {failures}"
        return f"publication gate stopped the run: {failures} (set override.reason in params to publish anyway)"

    def raise_if_stopped(self) -> None:
        """Raise :class:`cldstats.core.errors.GateStop` when the release must not be published."""
        if not self.proceed:
            raise GateStop(self.message())


def publication_gate(
    coverage: float,
    england_totals_by_month: Mapping[Any, float] | pd.Series,
    params: Mapping[str, Any],
) -> GateDecision:
    """Decide whether the release may be published.

    Parameters
    ----------
    coverage : float
        Share of the councils (the council list) with a selected file (``select.coverage``).
    england_totals_by_month : mapping or pandas.Series
        Unrounded England measure-1 totals keyed by month end (any sortable key), computed over the
        councils present in both of the last two months. The last two keys in sorted order are
        compared: reference month ``E`` and ``E`` minus one month. Fewer than two entries: the
        change check is not applicable.
    params : mapping
        ``gate.min_coverage``, ``gate.max_month_change``, ``override.reason``.

    Returns
    -------
    GateDecision

    Examples
    --------
    >>> p = {"gate": {"min_coverage": 0.9, "max_month_change": 0.05}, "override": {"reason": ""}}
    >>> publication_gate(0.95, {"2024-02-29": 1000, "2024-03-31": 1100}, p).proceed
    False
    >>> p["override"]["reason"] = "known system migration in two councils"
    >>> publication_gate(0.95, {"2024-02-29": 1000, "2024-03-31": 1100}, p).overridden
    True
    """
    gate = params["gate"]
    failures = []
    min_coverage = float(gate["min_coverage"])
    if coverage < min_coverage:
        failures.append(f"only {coverage:.1%} of the {len(reference.councils())} councils have a selected file "
                        f"(minimum {min_coverage:.0%})")
    totals = pd.Series(england_totals_by_month, dtype="float64").sort_index()
    change = None
    if len(totals) >= 2:
        previous, current = totals.iloc[-2], totals.iloc[-1]
        if previous > 0:
            change = float(current / previous - 1.0)
            limit = float(gate["max_month_change"])
            if abs(change) > limit:
                failures.append(
                    f"England long-term support total moved {change:+.1%} from {totals.index[-2]} to "
                    f"{totals.index[-1]} (limit {limit:.0%})"
                )
    reason = str(params.get("override", {}).get("reason", "") or "").strip()
    return GateDecision(
        proceed=not failures or bool(reason),
        failures=tuple(failures),
        coverage=float(coverage),
        month_change=change,
        override_reason=reason,
    )


# ---------------------------------------------------------------------------------------------
# Output consistency (the published tables), asserted by GX on pandas check frames
# ---------------------------------------------------------------------------------------------
OUTPUT_SUITE = "cld_output_consistency"


def check_output_consistency(
    check_frames: Mapping[str, pd.DataFrame], suites_dir: str | Path | None = None
) -> dict[str, Any]:
    """Assert a release's consistency checks with the ``cld_output_consistency`` suite.

    Parameters
    ----------
    check_frames : mapping of str to pandas.DataFrame
        Check name -> frame from :func:`cldstats.disclosure.consistency_frames`. Names ending
        ``published_cells`` are published-cell frames (``value``, ``ok``); the others are sum
        frames (``total``, ``sum_of_parts``).
    suites_dir : path, optional
        Folder holding ``cld_output_consistency.json`` (default: the repository's ``expectations/``).

    Returns
    -------
    dict
        ``success`` (bool), ``failed_checks`` (names), and per check: ``success``, ``rows`` and one
        entry per expectation with GX's element and unexpected counts. JSON-serialisable; saved as
        ``qa/output_consistency.json``.
    """
    directory = Path(suites_dir) if suites_dir is not None else EXPECTATIONS_DIR
    path = directory / f"{OUTPUT_SUITE}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CldstatsError(f"expectation suite {path} is missing") from None
    context = ephemeral_context()
    batch_definition = (
        context.data_sources.add_pandas("release")
        .add_dataframe_asset("check frame")
        .add_batch_definition_whole_dataframe("one check")
    )
    suites = {}
    for frame_kind in ("sums", "cells"):
        configs = [{k: v for k, v in e.items() if k != "id"} for e in raw["expectations"]
                   if e["meta"]["frame"] == frame_kind]
        suites[frame_kind] = context.suites.add(
            gx().ExpectationSuite(name=f"{OUTPUT_SUITE} ({frame_kind})", expectations=configs)
        )
    summary: dict[str, Any] = {"success": True, "failed_checks": [], "checks": {}}
    for name, frame in check_frames.items():
        frame_kind = "cells" if name.endswith("published_cells") else "sums"
        data = frame.copy()
        for column in ("total", "sum_of_parts"):
            if column in data:  # nullable Int64 -> float64 (NaN), which GX's pandas engine compares natively
                data[column] = data[column].astype("float64")
        result = batch_definition.get_batch(batch_parameters={"dataframe": data}).validate(suites[frame_kind])
        summary["checks"][name] = {
            "success": bool(result.success),
            "rows": len(frame),
            "expectations": [
                {
                    "check": r.expectation_config.meta["check"],
                    "type": r.expectation_config.type,
                    "success": bool(r.success),
                    "element_count": r.result.get("element_count"),
                    "unexpected_count": r.result.get("unexpected_count"),
                }
                for r in result.results
            ],
        }
        if not result.success:
            summary["success"] = False
            summary["failed_checks"].append(name)
    return summary
