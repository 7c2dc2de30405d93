"""Which specification each file follows: the councils' release cohorts and each file's release.

DHSC processes every submission from October 2025 on as Release 2 (``release2.switch_date`` in
``cldstats/data/synth_distributions.yaml``, which holds every date and share used here). Councils
did not all switch on that day, so the generator draws three cohorts once per seed over the full,
GSS-sorted list of every council (a ``--councils`` subset keeps each council's cohort):

* **early adopters** (``share_early_adopters``): Release 2 from ``early_adoption_date``, during the
  voluntary year 2024/25;
* **late Release 1** (``share_late_release1``): Release 1 values throughout, after the switch as
  well, under the Release 1 or the Release 2 header (drawn per file);
* **the others**: Release 1 before the switch, Release 2 from it.

Among the councils with Release 2 files (all but the late ones), ``share_keeping_removed_columns``
keep the two columns Release 2 removed (``GP Practice Name``, ``Provider CQC Location Name``) in
their Release 2 files. A file's release and columns follow from its council's cohort and its
submission time only (:func:`file_release`), so they do not shift with ``--start``, ``--end`` or
the other files of the plan.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cldstats.reference.lists import councils as reference_councils
from cldstats.tools.synth.dates import to_day
from cldstats.tools.synth.distributions import RELEASE2

__all__ = ["Cohorts", "cohort_summary", "cohorts", "file_release"]

#: The random stream of the release draws (streams 1, 2, 3 and 5 are the plan's, the world's, the
#: faults' and the services').
RELEASE_STREAM = 6


@dataclass(frozen=True)
class Cohorts:
    """The councils of each release cohort (GSS codes)."""

    early_adopters: frozenset[str]
    late_release1: frozenset[str]
    keeping_removed_columns: frozenset[str]


@functools.cache
def cohorts(seed: int) -> Cohorts:
    """The release cohorts of ``seed``, drawn over every council of the council list.

    Parameters
    ----------
    seed : int
        The generator's seed.

    Returns
    -------
    Cohorts
        Early adopters and late Release 1 councils (disjoint), and the councils with Release 2
        files that keep the removed columns (never a late one).
    """
    codes = reference_councils()["la_code"].to_numpy()
    n = len(codes)
    # Keyed by an index past the last council's, so that no council's own streams are reused.
    rng = np.random.default_rng([seed, n, RELEASE_STREAM])
    order = rng.permutation(n)
    n_early = round(RELEASE2["share_early_adopters"] * n)
    n_late = round(RELEASE2["share_late_release1"] * n)
    early, late = order[:n_early], order[n_early : n_early + n_late]
    with_release2 = np.sort(np.concatenate([early, order[n_early + n_late :]]))
    n_keep = round(RELEASE2["share_keeping_removed_columns"] * len(with_release2))
    keep = rng.choice(with_release2, size=n_keep, replace=False)
    return Cohorts(frozenset(codes[early]), frozenset(codes[late]), frozenset(codes[keep]))


def file_release(seed: int, la_code: str, council_index: int, submitted: int) -> tuple[int, bool]:
    """The release of one file and whether it keeps the two columns Release 2 removed.

    Parameters
    ----------
    seed : int
        The generator's seed.
    la_code : str
        The council's GSS code.
    council_index : int
        The council's position in the full, GSS-sorted list (its random streams).
    submitted : int
        The file's submission time, seconds since 1970-01-01.

    Returns
    -------
    tuple of (int, bool)
        ``(1, True)`` for a Release 1 file under the Release 1 header; ``(1, False)`` for a late
        council's Release 1 values under the Release 2 header; ``(2, keeps)`` for a Release 2 file.
    """
    chosen = cohorts(seed)
    day = submitted // 86400
    switch = to_day(RELEASE2["switch_date"])
    if la_code in chosen.late_release1:
        if day < switch:
            return 1, True
        # One draw per file, keyed by its submission time: the same file gets the same header
        # whatever else the plan holds.
        u = np.random.default_rng([seed, council_index, RELEASE_STREAM, submitted]).random()
        return 1, bool(u < RELEASE2["share_late_release1_header"])
    adopts = to_day(RELEASE2["early_adoption_date"]) if la_code in chosen.early_adopters else switch
    if day < adopts:
        return 1, True
    return 2, la_code in chosen.keeping_removed_columns


def cohort_summary(seed: int, la_codes: list[str]) -> dict:
    """``synthetic.json``'s ``release2`` entry: the dates and the cohorts among ``la_codes``.

    Parameters
    ----------
    seed : int
        The generator's seed.
    la_codes : list of str
        The councils generated.

    Returns
    -------
    dict
        ``switch_date``, ``early_adoption_date``, and the sorted GSS codes of ``early_adopters``,
        ``late_release1`` and ``keeping_removed_columns`` among ``la_codes``.
    """
    chosen = cohorts(seed)
    return {
        "switch_date": RELEASE2["switch_date"],
        "early_adoption_date": RELEASE2["early_adoption_date"],
        "early_adopters": sorted(set(la_codes) & chosen.early_adopters),
        "late_release1": sorted(set(la_codes) & chosen.late_release1),
        "keeping_removed_columns": sorted(set(la_codes) & chosen.keeping_removed_columns),
    }
