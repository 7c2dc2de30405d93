"""Disclosure control, symbols, revisions and the published tables (docs/methodology.md section 7).

Pure functions: unrounded area tables from :mod:`cldstats.measures` in, the exact published frames
of DESIGN.md's output contract out (``data/long_term_support.csv``,
``data/long_term_support_rates.csv``, ``data/assessments.csv``, ``data/assessments_rates.csv``).
Writing files is not done here.

* Counts are rounded to the nearest ``rounding_base`` (5), halves up, in integer arithmetic
  (``floor((2x + b) / 2b) * b``), never banker's rounding; 1 to ``suppress_max`` (4) is ``[c]``;
  0 stays ``0``; no data is ``[x]``.
* Rates per 100,000 come from unrounded counts, rounded to a whole number halves up (again exact
  integer arithmetic); ``[c]`` where the count is ``[c]``, ``[z]`` where the breakdown value has no
  population or the area is an ADASS region (DHSC publishes no ADASS population), ``[x]`` where
  there is no data or no population for the area. The ``population`` column holds the denominator
  as a whole number, or ``[z]`` / ``[x]`` likewise.
* ``flags``: ``p`` on every cell (every month of a release is provisional), ``p r`` where the
  published cell differs from the same cell in the earlier release given (value for counts; rate
  or population for rates). A cell absent from the earlier release is not revised.
* ``councils_included`` is carried over from the unrounded table: ``"<n> of <N>"`` (see
  :mod:`cldstats.measures`).

:func:`revisions_table` lists every revised cell with its previous and new published value (the
restricted ``qa/revisions.csv`` and the spreadsheets' Revisions sheet), given the earlier release's
tables and its name (the pipeline finds them: :mod:`cldstats.pipeline.earlier_releases`).

:func:`consistency_frames` gives one frame per consistency check (one row per checked target with
the compared numbers and an ``ok`` column) for tests and Great Expectations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cldstats import reference
from cldstats.reference.statements import CONFIDENTIAL, NOT_APPLICABLE, NOT_AVAILABLE

__all__ = [
    "COMPARED_COLUMNS",
    "REVISION_COLUMNS",
    "consistency_frames",
    "disclosure_settings",
    "publish_counts",
    "publish_rates",
    "published_assessments",
    "published_assessments_rates",
    "published_long_term_support",
    "published_rates",
    "revision_flags",
    "revisions_table",
    "round_half_up_ratio",
    "round_to_base",
]

PROVISIONAL_FLAG, REVISED_FLAG = "p", "p r"

#: The published tables and the columns whose change marks a cell revised (:func:`revision_flags`).
COMPARED_COLUMNS = {
    "long_term_support": ("value",),
    "long_term_support_rates": ("rate", "population"),
    "assessments": ("value",),
    "assessments_rates": ("rate", "population"),
}
#: Columns of :func:`revisions_table` (``qa/revisions.csv``).
REVISION_COLUMNS = [
    "table", "reference_period", "area_level", "area_code", "area_name", "support_setting", "breakdown",
    "breakdown_value", "measure", "previous_value", "new_value", "previous_release",
]


def disclosure_settings(params: Mapping[str, Any] | None) -> dict[str, int]:
    """``rounding_base`` and ``suppress_max`` from resolved params (defaults 5 and 4)."""
    section = (params or {}).get("disclosure", {})
    return {"rounding_base": int(section.get("rounding_base", 5)), "suppress_max": int(section.get("suppress_max", 4))}


def round_to_base(counts, base: int = 5) -> np.ndarray:
    """Round non-negative integer counts to the nearest multiple of ``base``, halves up.

    Examples
    --------
    >>> round_to_base([0, 2, 3, 7, 8, 12, 13, 15, 17, 18]).tolist()
    [0, 0, 5, 5, 10, 10, 15, 15, 15, 20]
    >>> round_to_base([5, 15, 25], base=10).tolist()
    [10, 20, 30]
    """
    values = np.asarray(counts, dtype=np.int64)
    return (2 * values + base) // (2 * base) * base


def round_half_up_ratio(numerator, denominator) -> np.ndarray:
    """``numerator / denominator`` rounded to a whole number, halves up, exactly (integers).

    Examples
    --------
    >>> round_half_up_ratio([1, 3, 5, 0], [2, 2, 4, 7]).tolist()
    [1, 2, 1, 0]
    """
    num = np.asarray(numerator, dtype=np.int64)
    den = np.asarray(denominator, dtype=np.int64)
    return (2 * num + den) // (2 * den)


def publish_counts(values: pd.Series, rounding_base: int = 5, suppress_max: int = 4) -> pd.Series:
    """Published cells of unrounded counts.

    Parameters
    ----------
    values : pandas.Series
        Integer counts (nullable); missing means no data.

    Returns
    -------
    pandas.Series
        Strings: ``[x]`` for missing, ``0``, ``[c]`` for 1 to ``suppress_max``, else the count
        rounded to ``rounding_base`` (halves up).

    Examples
    --------
    >>> publish_counts(pd.Series([0, 1, 4, 5, 7, 8, 12, 13, None], dtype="Int64")).tolist()
    ['0', '[c]', '[c]', '5', '5', '10', '10', '15', '[x]']
    """
    counts = pd.Series(values).astype("Int64")
    missing = counts.isna().to_numpy()
    raw = counts.fillna(0).to_numpy(dtype=np.int64)
    rounded = round_to_base(raw, rounding_base).astype(str).astype(object)
    small = (raw >= 1) & (raw <= suppress_max)
    cells = np.where(missing, NOT_AVAILABLE, np.where(small, CONFIDENTIAL, rounded))
    return pd.Series(cells, index=counts.index, dtype=object)


def publish_rates(values: pd.Series, population: pd.Series, applicable: pd.Series,
                  suppress_max: int = 4) -> tuple[pd.Series, pd.Series]:
    """Published population and rate per 100,000 cells.

    Parameters
    ----------
    values : pandas.Series
        Unrounded counts (nullable; missing = no data).
    population : pandas.Series
        Denominators (nullable; missing where not applicable or no data).
    applicable : pandas.Series of bool
        Whether the breakdown value has a population at all.

    Returns
    -------
    (pandas.Series, pandas.Series)
        Population cells (whole number, ``[z]``, ``[x]``) and rate cells (whole number halves up,
        ``[c]``, ``[z]``, ``[x]``).

    Examples
    --------
    >>> p, r = publish_rates(pd.Series([3, 10, 7, 5, None], dtype="Int64"),
    ...     pd.Series([1000, 1000, 200000, None, None], dtype="Int64"),
    ...     pd.Series([True, True, True, False, True]))
    >>> p.tolist(), r.tolist()
    (['1000', '1000', '200000', '[z]', '[x]'], ['[c]', '1000', '4', '[z]', '[x]'])
    """
    counts = pd.Series(values).astype("Int64")
    pops = pd.Series(population, index=counts.index).astype("Int64")
    applicable = pd.Series(applicable, index=counts.index).astype(bool).to_numpy()
    no_data = counts.isna().to_numpy()
    raw = counts.fillna(0).to_numpy(dtype=np.int64)
    den = pops.fillna(0).to_numpy(dtype=np.int64)
    has_pop = applicable & ~no_data & (den > 0)
    rate = round_half_up_ratio(raw * 100_000, np.where(has_pop, den, 1)).astype(str).astype(object)
    small = (raw >= 1) & (raw <= suppress_max)
    rate_cells = np.where(
        ~applicable, NOT_APPLICABLE,
        np.where(no_data | ~has_pop, NOT_AVAILABLE, np.where(small, CONFIDENTIAL, rate)),
    )
    pop_cells = np.where(~applicable, NOT_APPLICABLE, np.where(no_data | ~has_pop, NOT_AVAILABLE, den.astype(str)))
    return (pd.Series(pop_cells, index=counts.index, dtype=object),
            pd.Series(rate_cells, index=counts.index, dtype=object))


def revision_flags(current: pd.DataFrame, previous: pd.DataFrame | None, keys: Sequence[str],
                   compare: Sequence[str] = ("value",)) -> pd.Series:
    """``p`` or ``p r`` per cell of ``current``.

    Parameters
    ----------
    current, previous : pandas.DataFrame
        Published frames of this and the most recent earlier release containing the cells (or
        None: nothing is revised).
    keys : sequence of str
        Columns identifying a cell (period, area code, setting, breakdown, breakdown value).
    compare : sequence of str
        Published columns whose change marks a revision.

    Returns
    -------
    pandas.Series
        Same index as ``current``: ``p r`` where the cell exists in ``previous`` and any compared
        column differs, else ``p``.

    Examples
    --------
    >>> cur = pd.DataFrame({"k": ["a", "b", "c"], "value": ["5", "[c]", "10"]})
    >>> old = pd.DataFrame({"k": ["a", "b"], "value": ["5", "5"]})
    >>> revision_flags(cur, old, ["k"]).tolist()
    ['p', 'p r', 'p']
    """
    flags = pd.Series(PROVISIONAL_FLAG, index=current.index, dtype=object)
    if previous is None or len(previous) == 0:
        return flags
    keys, compare = list(keys), list(compare)
    before = previous[keys + compare].drop_duplicates(keys).rename(columns={c: f"_old_{c}" for c in compare})
    merged = current[keys + compare].reset_index().merge(before, on=keys, how="left", indicator=True)
    changed = np.zeros(len(merged), dtype=bool)
    for column in compare:
        changed |= merged[column].astype(str).to_numpy() != merged[f"_old_{column}"].astype(str).to_numpy()
    revised = changed & (merged["_merge"] == "both").to_numpy()
    flags.loc[merged.loc[revised, "index"].to_numpy()] = REVISED_FLAG
    return flags


def revisions_table(published: Mapping[str, pd.DataFrame], previous: Mapping[str, pd.DataFrame | None],
                    previous_release: str | Mapping[str, str] = "") -> pd.DataFrame:
    """Every revised published cell with its value in the earlier release and now.

    The same comparison as :func:`revision_flags` (a cell absent from the earlier release is not
    revised), so the rows are exactly the cells flagged ``p r``; a rates cell whose rate and
    population both changed gives one row per measure. Published values only (rounded counts,
    rates, populations or symbols), never unrounded ones.

    Parameters
    ----------
    published : mapping of str to pandas.DataFrame
        This release's published frames, keyed as :data:`COMPARED_COLUMNS`; missing keys are skipped.
    previous : mapping of str to pandas.DataFrame or None
        The same tables in the most recent earlier release that contains them (None: no earlier
        release, nothing revised).
    previous_release : str or mapping of str to str
        What to call that release in the ``previous_release`` column (one label, or one per table).

    Returns
    -------
    pandas.DataFrame
        :data:`REVISION_COLUMNS`, all strings, in the published tables' row order (tables in
        :data:`COMPARED_COLUMNS` order): ``reference_period`` is the cell's reference date or month,
        ``support_setting`` is empty for assessments, ``measure`` the compared column (``value``,
        ``rate`` or ``population``). No rows when nothing is revised.

    Examples
    --------
    >>> cur = {"assessments": pd.DataFrame({"reference_month": ["2024-02", "2024-03"], "area_level": "England",
    ...     "area_code": "E92000001", "area_name": "England", "breakdown": "All", "breakdown_value": "All",
    ...     "value": ["15", "20"], "flags": ["p r", "p"]})}
    >>> old = {"assessments": cur["assessments"].assign(value=["10", "20"])}
    >>> rows = revisions_table(cur, old, "2024-03 release")
    >>> rows[["reference_period", "previous_value", "new_value"]].to_numpy().tolist()
    [['2024-02', '10', '15']]
    """
    frames = []
    for name, compare in COMPARED_COLUMNS.items():
        current, before = published.get(name), previous.get(name)
        if current is None or before is None or len(before) == 0 or len(current) == 0:
            continue
        keys = _cell_keys(current)
        old = before[keys + list(compare)].drop_duplicates(keys)
        # An inner merge keeps the order of the current table's rows.
        merged = current.merge(old, on=keys, how="inner", suffixes=("", "_previous"), sort=False)
        label = previous_release if isinstance(previous_release, str) else previous_release.get(name, "")
        for order, column in enumerate(compare):
            new, was = merged[column].astype(str), merged[f"{column}_previous"].astype(str)
            changed = merged[new.ne(was).to_numpy()]
            if changed.empty:
                continue
            frames.append(pd.DataFrame({
                "table": name,
                "reference_period": changed[keys[0]].astype(str).to_numpy(),
                "area_level": changed["area_level"].astype(str).to_numpy(),
                "area_code": changed["area_code"].astype(str).to_numpy(),
                "area_name": changed["area_name"].astype(str).to_numpy(),
                "support_setting": (changed["support_setting"].astype(str).to_numpy()
                                    if "support_setting" in changed else ""),
                "breakdown": changed["breakdown"].astype(str).to_numpy(),
                "breakdown_value": changed["breakdown_value"].astype(str).to_numpy(),
                "measure": column,
                "previous_value": was[changed.index].to_numpy(),
                "new_value": new[changed.index].to_numpy(),
                "previous_release": label,
                "_row": changed.index.to_numpy() * len(compare) + order,
            }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REVISION_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    tables = {name: i for i, name in enumerate(COMPARED_COLUMNS)}
    out = out.sort_values(["table", "_row"], key=lambda s: s.map(tables) if s.name == "table" else s,
                          kind="mergesort")
    return out[REVISION_COLUMNS].astype(object).reset_index(drop=True)


def _cell_keys(frame: pd.DataFrame) -> list[str]:
    period = "reference_date" if "reference_date" in frame else "reference_month"
    keys = [period, "area_code"]
    if "support_setting" in frame:
        keys.append("support_setting")
    return keys + ["breakdown", "breakdown_value"]


def _published(area: pd.DataFrame, previous: pd.DataFrame | None, rounding_base: int,
               suppress_max: int) -> pd.DataFrame:
    out = area.drop(columns=["value", "councils_included"]).copy()
    out["value"] = publish_counts(area["value"], rounding_base, suppress_max)
    out["flags"] = revision_flags(out, previous, _cell_keys(out))
    out["councils_included"] = area["councils_included"]
    return out.reset_index(drop=True)


def published_long_term_support(area: pd.DataFrame, previous: pd.DataFrame | None = None,
                                rounding_base: int = 5, suppress_max: int = 4) -> pd.DataFrame:
    """``data/long_term_support.csv`` from :func:`cldstats.measures.areas.area_table` of measure 1.

    Returns
    -------
    pandas.DataFrame
        ``reference_date, area_level, area_code, area_name, support_setting, breakdown,
        breakdown_value, value, flags, councils_included``, all strings, in the input order.
    """
    return _published(area, previous, rounding_base, suppress_max)


def published_assessments(area: pd.DataFrame, previous: pd.DataFrame | None = None,
                          rounding_base: int = 5, suppress_max: int = 4) -> pd.DataFrame:
    """``data/assessments.csv`` from :func:`cldstats.measures.areas.area_table` of measure 2.

    Returns
    -------
    pandas.DataFrame
        ``reference_month, area_level, area_code, area_name, breakdown, breakdown_value, value,
        flags, councils_included``.
    """
    return _published(area, previous, rounding_base, suppress_max)


def published_rates(rates: pd.DataFrame, previous: pd.DataFrame | None = None, suppress_max: int = 4) -> pd.DataFrame:
    """``data/long_term_support_rates.csv`` (or ``data/assessments_rates.csv``) from
    :func:`cldstats.measures.areas.rates_unrounded`.

    A row has a population (is applicable) when its breakdown value has a published population
    (:func:`cldstats.reference.rate_denominator`) and its area is not an ADASS region; otherwise
    its population and rate are ``[z]``.

    Returns
    -------
    pandas.DataFrame
        ``reference_date, area_level, area_code, area_name, support_setting, breakdown,
        breakdown_value, population, rate, flags, councils_included`` (people assessed:
        ``reference_month`` and no ``support_setting``).
    """
    applicable = (reference.rate_denominator(rates["breakdown"], rates["breakdown_value"]).notna()
                  & rates["area_level"].ne(reference.ADASS_LEVEL))
    population, rate = publish_rates(rates["value"], rates["population"], applicable, suppress_max)
    out = rates[[c for c in rates.columns if c not in ("value", "population", "rate", "councils_included")]].copy()
    out["population"] = population
    out["rate"] = rate
    out["flags"] = revision_flags(out, previous, _cell_keys(out), compare=("population", "rate"))
    out["councils_included"] = rates["councils_included"]
    return out.reset_index(drop=True)


def published_assessments_rates(rates: pd.DataFrame, previous: pd.DataFrame | None = None,
                                suppress_max: int = 4) -> pd.DataFrame:
    """``data/assessments_rates.csv`` from :func:`cldstats.measures.areas.rates_unrounded` of people
    assessed over the ``Total``: :func:`published_rates`.

    Returns
    -------
    pandas.DataFrame
        ``reference_month`` (``Total``), ``area_level, area_code, area_name, breakdown,
        breakdown_value, population, rate, flags, councils_included``.
    """
    return published_rates(rates, previous, suppress_max)


# ---------------------------------------------------------------------------------------------
# Consistency checks
# ---------------------------------------------------------------------------------------------
def _compare(total: pd.DataFrame, parts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    merged = total.merge(parts, on=keys, how="outer")
    merged["ok"] = merged["total"].astype("Int64").eq(merged["sum_of_parts"].astype("Int64")).fillna(False).astype(bool)
    return merged.sort_values(keys, kind="mergesort").reset_index(drop=True)


def consistency_frames(unrounded: pd.DataFrame, published: pd.DataFrame,
                       adass_assign: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Check frames for an unrounded area table and its published counterpart.

    Parameters
    ----------
    unrounded : pandas.DataFrame
        :func:`cldstats.measures.areas.area_table` output (long-term support or assessments).
    published : pandas.DataFrame
        The matching published frame (:func:`published_long_term_support` or
        :func:`published_assessments`).
    adass_assign : mapping, optional
        ``params: areas.adass_assign``, as given to the area table.

    Returns
    -------
    dict of str to pandas.DataFrame
        Each frame has an ``ok`` (bool) column, true on every row when the check passes:

        * ``settings_sum`` (long-term support only): ``All`` setting vs the sum of the 4 settings,
          per period, area, breakdown value;
        * ``breakdown_sum``: each breakdown's values summed vs its ``All``, per period, area,
          (setting), breakdown;
        * ``england_regions``: England vs the sum of the regions;
        * ``region_councils``: each region vs the sum of its councils;
        * ``adass_councils``: each ADASS region vs the sum of its councils;
        * ``months_total`` (assessments only): ``Total`` vs the sum of the months;
        * ``published_cells``: every published count is ``[c]``/``[x]``/``[z]``, 0, or a multiple of
          5 greater than 4 (``value``, ``numeric``, ``ok``): the default base and threshold, since
          this check does not read the run's ``disclosure`` params.

        Unrounded rows without data (``[x]``) take no part in the sums.
    """
    period = "reference_date" if "reference_date" in unrounded else "reference_month"
    has_setting = "support_setting" in unrounded
    cell = ["breakdown", "breakdown_value"]
    setting = ["support_setting"] if has_setting else []
    data = unrounded[unrounded["value"].notna()].copy()
    data["value"] = data["value"].astype(np.int64)
    frames: dict[str, pd.DataFrame] = {}

    if has_setting:
        keys = [period, "area_code", *cell]
        total = data[data["support_setting"].eq("All")].groupby(keys)["value"].sum().rename("total").reset_index()
        parts = (data[data["support_setting"].ne("All")].groupby(keys)["value"].sum()
                 .rename("sum_of_parts").reset_index())
        frames["settings_sum"] = _compare(total, parts, keys)

    keys = [period, "area_code", *setting, "breakdown"]
    total = (data[data["breakdown"].eq("All")].drop(columns="breakdown")
             .merge(pd.DataFrame({"breakdown": list(reference.BREAKDOWNS)}), how="cross")
             .groupby(keys)["value"].sum().rename("total").reset_index())
    parts = data.groupby(keys)["value"].sum().rename("sum_of_parts").reset_index()
    frames["breakdown_sum"] = _compare(total, parts, keys)

    keys = [period, *setting, *cell]
    total = data[data["area_level"].eq("England")].groupby(keys)["value"].sum().rename("total").reset_index()
    parts = data[data["area_level"].eq("Region")].groupby(keys)["value"].sum().rename("sum_of_parts").reset_index()
    frames["england_regions"] = _compare(total, parts, keys)

    region_of = reference.councils().set_index("la_code")["region_code"]
    councils = data[data["area_level"].eq("Local Authority")]
    councils = councils.assign(area_code=councils["area_code"].map(region_of))
    keys = [period, "area_code", *setting, *cell]
    total = data[data["area_level"].eq("Region")].groupby(keys)["value"].sum().rename("total").reset_index()
    parts = councils.groupby(keys)["value"].sum().rename("sum_of_parts").reset_index()
    frames["region_councils"] = _compare(total, parts, keys)

    adass_of = reference.adass_membership(adass_assign).set_index("la_code")["adass_code"]
    members = councils.assign(area_code=data.loc[councils.index, "area_code"].map(adass_of))
    total = (data[data["area_level"].eq(reference.ADASS_LEVEL)].groupby(keys)["value"].sum().rename("total")
             .reset_index())
    parts = members.groupby(keys)["value"].sum().rename("sum_of_parts").reset_index()
    frames["adass_councils"] = _compare(total, parts, keys)

    if period == "reference_month":
        keys = ["area_code", *cell]
        total = data[data[period].eq("Total")].groupby(keys)["value"].sum().rename("total").reset_index()
        parts = data[data[period].ne("Total")].groupby(keys)["value"].sum().rename("sum_of_parts").reset_index()
        frames["months_total"] = _compare(total, parts, keys)

    value = published["value"].astype(str)
    numeric = pd.to_numeric(value.where(~value.isin([CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE])), errors="coerce")
    symbol = value.isin([CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE])
    ok = symbol | (numeric.notna() & (numeric.mod(5).eq(0)) & ~numeric.between(1, 4))
    cells = published[[period, "area_code", *setting, *cell, "value"]].copy()
    cells["numeric"] = numeric.astype("Int64")
    cells["ok"] = ok.fillna(False).astype(bool).to_numpy()
    frames["published_cells"] = cells.reset_index(drop=True)
    return frames
