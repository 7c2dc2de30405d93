"""The release a submission is written in: per code field, the cells spelled as Release 1 and as
Release 2 spell them, the Release 1-only columns of its header, a release guess, and whether the
file is of the Release 2 era (where a Release 1 value is ``Failed: Release 1``).

Nothing here decides a figure: the method reads canonical values whatever the release
(docs/methodology.md section 1). These counts are the ``release_values`` rows of a file's quality
summary, shown in its council data quality page and, per council, in ``qa/releases.csv``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cldstats.reference.spec import AGEM_STATUSES, Spec, ValueStatus, load_spec
from cldstats.reference.vocabulary import load_vocabulary

__all__ = [
    "RELEASE1_COLUMN",
    "RELEASE1_SPELLING",
    "RELEASE2_SPELLING",
    "RELEASE_COLUMNS",
    "RELEASE_VALUES_CHECK",
    "release1_values_fail",
    "release_guess",
    "release_of_summary",
    "release_spelling_counts",
]

#: Check name of the summary rows counting, per code field, the cells spelled as each release spells
#: them (:func:`release_spelling_counts`); they are counts, never findings.
RELEASE_VALUES_CHECK = "release_values"
RELEASE1_SPELLING = "Release 1 spelling"
RELEASE2_SPELLING = "Release 2 spelling"
#: Status of the summary row naming a Release 1-only column the header holds (count 1).
RELEASE1_COLUMN = "Release 1 column in header"


def release1_values_fail(submitted_at: dt.datetime | None, period_end: dt.date | None,
                         params: Mapping[str, Any]) -> bool:
    """True when a file is of the Release 2 era, where a Release 1 value is ``Failed: Release 1``.

    A file is of the Release 2 era when it was submitted on or after params
    ``release2.r1_values_fail_from``. A file whose name gives no submission time is judged by its
    reporting period end: a file is submitted after its period ends, so a period ending on or after
    the date means a submission after it (and an earlier one cannot be told: Release 1 era).

    Parameters
    ----------
    submitted_at : datetime or None
        The submission time in the file name.
    period_end : date or None
        The file's reporting period end (most common value).
    params : mapping
        Resolved params.

    Examples
    --------
    >>> params = {"release2": {"r1_values_fail_from": "2025-10-01"}}
    >>> release1_values_fail(dt.datetime(2025, 9, 30, 23, 59), None, params)
    False
    >>> release1_values_fail(None, dt.date(2025, 12, 31), params)
    True
    """
    start = dt.date.fromisoformat(str(params["release2"]["r1_values_fail_from"]))
    if submitted_at is not None:
        return submitted_at.date() >= start
    return period_end is not None and period_end >= start


@functools.cache
def _release2_only_positions() -> dict[str, np.ndarray]:
    """Per code field, whether each canonical value (category order) is spelled by Release 2 only."""
    vocabulary = load_vocabulary()
    return {name: np.array([v.releases == frozenset({2}) for v in field.values], dtype=bool)
            for name, field in vocabulary.items()}


def release_spelling_counts(records: pd.DataFrame, status: pd.DataFrame, spec: Spec | None = None
                            ) -> list[tuple[str, int, int]]:
    """Per code field, the cells spelled as Release 1 spells them and as only Release 2 does.

    A Release 1 spelling is any of ingest's Release 1 statuses (``Carer``, ``CARER``, ``Service
    User``); a Release 2 spelling is an exact spelling of a value Release 1 spells otherwise or not at
    all (``Unpaid carer``, ``Service user``). Values both releases spell alike (``Female``) count as
    neither: they say nothing of the release.

    Returns
    -------
    list of (field, release 1 cells, release 2 cells)
        Code fields in spec order, those with a cell of either kind only.
    """
    spec = spec or load_spec()
    release1 = np.array(ValueStatus.release1(), dtype=np.int8)
    only_release2 = _release2_only_positions()
    out = []
    for spec_field in spec.fields:
        if not spec_field.is_code or spec_field.name not in status.columns:
            continue
        cells = status[spec_field.name].to_numpy(dtype=np.int8)
        n_release1 = int(np.isin(cells, release1).sum())
        codes = records[spec_field.name].cat.codes.to_numpy() if spec_field.name in records.columns else None
        n_release2 = 0
        if codes is not None and spec_field.name in only_release2:
            exact = (cells == ValueStatus.VALID) & (codes >= 0)
            n_release2 = int(only_release2[spec_field.name][codes[exact]].sum())
        if n_release1 or n_release2:
            out.append((spec_field.name, n_release1, n_release2))
    return out


def release_guess(release1_columns: Sequence[str], release1_cells: int, release2_cells: int) -> str:
    """The release a file looks like, in words, from its values first and its header second.

    >>> release_guess(("GP_Practice_Name", "Provider_CQC_Location_Name"), 120, 0)
    'Release 1'
    >>> release_guess(("GP_Practice_Name", "Provider_CQC_Location_Name"), 0, 80)
    'Release 2 (Release 1 header)'
    >>> release_guess((), 3, 80)
    'Mixed: Release 1 and Release 2 values'
    """
    header = "Release 1" if release1_columns else "Release 2"
    if release1_cells and release2_cells:
        return "Mixed: Release 1 and Release 2 values"
    values = "Release 1" if release1_cells else "Release 2" if release2_cells else header
    return values if values == header else f"{values} ({header} header)"


_FAILED_RELEASE1 = AGEM_STATUSES[-1]

#: Columns of ``qa/releases.csv`` and of :func:`release_of_summary`'s answer (after ``la_code, file``).
RELEASE_COLUMNS = ("release", "release1_columns", "release1_cells", "release2_cells", "failed_release1_cells")


def release_of_summary(summary: pd.DataFrame) -> dict[str, Any]:
    """The release facts of one file from its quality summary (``field, check, status, count``).

    Returns
    -------
    dict
        :data:`RELEASE_COLUMNS`: the guess (:func:`release_guess`), the Release 1-only columns of
        the header (their labels' field names, ``;``-separated), the cells spelled as each release
        spells them, and the cells ``Failed: Release 1`` (AGEM counts, all fields).
    """
    rows = summary[summary["check"] == RELEASE_VALUES_CHECK]
    counts = pd.to_numeric(rows["count"], errors="coerce").fillna(0).astype("int64")
    columns = tuple(rows.loc[rows["status"] == RELEASE1_COLUMN, "field"])
    release1_cells = int(counts[rows["status"] == RELEASE1_SPELLING].sum())
    release2_cells = int(counts[rows["status"] == RELEASE2_SPELLING].sum())
    agem = summary[(summary["check"] == "field_values") & (summary["status"] == _FAILED_RELEASE1)]
    failed = int(pd.to_numeric(agem["count"], errors="coerce").fillna(0).sum())
    return {
        "release": release_guess(columns, release1_cells, release2_cells),
        "release1_columns": ";".join(columns),
        "release1_cells": release1_cells,
        "release2_cells": release2_cells,
        "failed_release1_cells": failed,
    }
