"""Councils and the file plan: which councils, which files each submits, when, and file-level faults.

The plan is drawn before any row is simulated, from a per-council random stream
(``default_rng([seed, council index, 1])``), so :func:`plan_submissions` lists the files
:func:`cldstats.tools.synth.generate` would write without simulating anything, each with the
release it follows (:mod:`cldstats.tools.synth.releases`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cldstats.core.errors import CldstatsError
from cldstats.reference.lists import councils as reference_councils
from cldstats.tools.synth.dates import (
    covered_month_ends,
    reporting_period_start,
    submission_cutoff,
    submission_deadline,
    to_date,
)
from cldstats.tools.synth.distributions import (
    FAULT_RATES,
    SHARE_AFTER_DEADLINE,
    SHARE_MONTHLY_COUNCILS,
    SHARE_RESUBMITTED,
    SUBMISSION_TIMING,
)
from cldstats.tools.synth.releases import file_release

__all__ = ["PlannedFile", "council_order", "plan_all", "plan_submissions"]


def council_order() -> list[str]:
    """The documented order in which ``--councils N`` picks councils.

    Regions in alphabetical order are visited round-robin; within a region councils alternate from
    the largest and the smallest by long-term support (largest, smallest, 2nd largest, 2nd
    smallest...). The first N councils are therefore spread over regions and sizes.

    Returns
    -------
    list of str
        The 153 GSS codes in that order.
    """
    frame = reference_councils()
    queues = []
    for _, group in sorted(frame.groupby("region"), key=lambda item: item[0]):
        ordered = group.sort_values(["lts_31mar2026", "la_code"], ascending=[False, True])["la_code"].tolist()
        spread = []
        while ordered:
            spread.append(ordered.pop(0))
            if ordered:
                spread.append(ordered.pop())
        queues.append(spread)
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def _select_councils(councils: int | list[str] | None) -> list[str]:
    all_codes = reference_councils()["la_code"].tolist()
    if councils is None:
        return all_codes
    if isinstance(councils, int):
        if not 1 <= councils <= len(all_codes):
            raise CldstatsError("--councils takes a number from 1 to 153 or GSS codes")
        chosen = set(council_order()[:councils])
    else:
        unknown = [c for c in councils if c not in all_codes]
        if unknown:
            raise CldstatsError(f"--councils: unknown GSS code(s) {', '.join(unknown)}")
        chosen = set(councils)
    return [c for c in all_codes if c in chosen]  # always in full-list (GSS) order


@dataclass
class PlannedFile:
    """One file of the plan: its council, reporting period, submission time, kind and file-level faults."""

    la_code: str
    period_start: int
    period_end: int
    submitted: int  # seconds since 1970-01-01 (local time, naive)
    kind: str  # quarterly, monthly, resubmission, broken_header
    index: int  # position in the council's plan (fault stream)
    faults: list[str] = field(default_factory=list)  # file-level fault kinds
    dropped_column: str | None = None
    release: int = 1  # the specification the file follows (cldstats.tools.synth.releases)
    keeps_removed_columns: bool = True  # the two Release 1-only columns are in the header

    @property
    def submitted_day(self) -> int:
        return self.submitted // 86400

    def name(self, compress: bool) -> str:
        stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=self.submitted)
        return f"{self.la_code}_{stamp:%Y%m%dT%H%M%S}.csv" + (".gz" if compress else "")


def _council_plan(
    la_code: str, council_index: int, seed: int, month_ends: list[int], faults: bool
) -> tuple[list[PlannedFile], list[dict]]:
    """Submission plan of one council: files and missing quarters (a per-council random stream)."""
    rng = np.random.default_rng([seed, council_index, 1])
    monthly = rng.random() < SHARE_MONTHLY_COUNCILS
    opens, closes = SUBMISSION_TIMING["upload_hours"]
    r0, r1 = SUBMISSION_TIMING["resubmission_days_later"]
    files: list[PlannedFile] = []
    missing: list[dict] = []
    for period_end in month_ends:
        # Draw the same random numbers for every month so that the plan does not shift with options.
        u_fate, u_day, u_resub, u_resub_day, u_sec = rng.random(5)
        is_quarter = to_date(period_end).month in (3, 6, 9, 12)
        if not (is_quarter or monthly):
            continue
        deadline, cutoff = submission_deadline(period_end), submission_cutoff(period_end)
        kinds: list[str] = []
        if faults and is_quarter and u_fate < FAULT_RATES["missing_submission"]:
            missing.append({"la_code": la_code, "period_end": to_date(period_end).isoformat()})
            continue
        if faults and is_quarter and u_fate < FAULT_RATES["missing_submission"] + FAULT_RATES["late_submission"]:
            day = cutoff + 1 + int(u_day * SUBMISSION_TIMING["late_days_after_cutoff"])
            kinds.append("late_submission")
        elif u_fate > 1 - SHARE_AFTER_DEADLINE:
            day = deadline + 1 + int(u_day * (cutoff - deadline - 1))
        else:
            first = SUBMISSION_TIMING["first_day_after_period_end"]
            day = period_end + first + int(u_day * (deadline - period_end - (first - 1)))
        seconds = day * 86400 + opens * 3600 + int(u_sec * (closes - opens) * 3600)
        period_start = reporting_period_start(period_end)
        files.append(
            PlannedFile(la_code, period_start, period_end, seconds, "quarterly" if is_quarter else "monthly", 0, kinds)
        )
        if u_resub < SHARE_RESUBMITTED and not kinds:
            later = seconds + (r0 + int(u_resub_day * (r1 - r0))) * 86400 + 3 * 3600 + 17
            files.append(PlannedFile(la_code, period_start, period_end, later, "resubmission", 0, []))
    files.sort(key=lambda f: f.submitted)
    for i, f in enumerate(files):
        f.index = i
    return files, missing


def _broken_header_target(plans: dict[str, list[PlannedFile]], last_quarter_end: int | None) -> str | None:
    """The council that gets the broken-header file: the first (GSS order) with a usable file for
    the last quarter; the broken file is an extra, earlier upload later corrected."""
    for code in sorted(plans):
        usable = [f for f in plans[code] if f.period_end == last_quarter_end and "late_submission" not in f.faults]
        if usable:
            return code
    return None


def plan_submissions(
    *,
    seed: int = 2023,
    start: str = "2023-04",
    end: str = "2026-03",
    councils: int | list[str] | None = None,
    faults: bool = True,
    compress: bool = False,
) -> pd.DataFrame:
    """The list of files ``generate`` would write, without simulating any rows.

    Parameters
    ----------
    seed, start, end, councils, faults, compress
        As :func:`generate`.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``la_code, file, kind, period_start, period_end, submitted_at, faults,
        release, keeps_removed_columns`` (ISO dates and times; ``faults`` is a ``;``-separated list
        of file-level fault kinds; ``release`` 1 or 2, the specification whose spellings the file
        writes; ``keeps_removed_columns`` whether its header has the two columns Release 2 removed).
    """
    plans, _ = plan_all(seed, start, end, councils, faults)
    rows = []
    for code in sorted(plans):
        for f in plans[code]:
            rows.append(
                {
                    "la_code": code,
                    "file": f.name(compress),
                    "kind": f.kind,
                    "period_start": to_date(f.period_start).isoformat(),
                    "period_end": to_date(f.period_end).isoformat(),
                    "submitted_at": (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=f.submitted)).isoformat(),
                    "faults": ";".join(f.faults),
                    "release": f.release,
                    "keeps_removed_columns": f.keeps_removed_columns,
                }
            )
    return pd.DataFrame(rows)


def plan_all(
    seed: int, start: str, end: str, councils: int | list[str] | None, faults: bool
) -> tuple[dict[str, list[PlannedFile]], list[dict]]:
    """The plans of the chosen councils (GSS code -> files in submission order, the broken-header
    file included, each with its release) and the missing quarters (``la_code, period_end``);
    arguments as ``generate``."""
    codes = _select_councils(councils)
    month_ends = covered_month_ends(start, end)
    full = reference_councils()["la_code"].tolist()
    plans, missing = {}, []
    for code in codes:
        files, gone = _council_plan(code, full.index(code), seed, month_ends, faults)
        plans[code], missing = files, missing + gone
    if faults:
        quarter_ends = [d for d in month_ends if to_date(d).month in (3, 6, 9, 12)]
        target = _broken_header_target(plans, quarter_ends[-1] if quarter_ends else None)
        if target is not None:
            first = next(f for f in plans[target] if f.period_end == quarter_ends[-1])
            broken = PlannedFile(
                target,
                first.period_start,
                first.period_end,
                first.submitted - 2 * 86400 - 3600,
                "broken_header",
                -1,
                ["broken_header"],
                dropped_column="Ethnicity",
            )
            plans[target] = sorted(plans[target] + [broken], key=lambda f: f.submitted)
    for code, files in plans.items():
        for f in files:
            f.release, f.keeps_removed_columns = file_release(seed, code, full.index(code), f.submitted)
    return plans, missing
