"""Regions, England and rates from the council tables the SQL writes (docs/methodology.md section 4,
"Areas" and "Rates").

* :func:`area_table` -- every council (missing where it has no data, published ``[x]``), the 9
  regions and England as sums of their councils with data, with ``councils_included``;
* :func:`rates_unrounded` -- populations and rates per 100,000 of a long-term support area table.

Sort order of every table: period (chronological, ``Total`` last), area level (England, Region,
Local Authority), area code, support setting (``All``, Community, Residential care, Nursing care,
Prison), breakdown (``reference.BREAKDOWNS`` order), breakdown value (published order: age
groups/bands ascending then ``Unknown``; genders ``Female, Male, Other, Unknown``; ethnicity in spec
order). ``councils_included`` is ``"<n> of <N>"``: councils with data for that period out of all
councils (England), out of the region's councils (Region), ``1 of 1`` / ``0 of 1`` for a council.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cldstats import reference

__all__ = ["area_table", "rates_unrounded", "sort_published"]

# ---------------------------------------------------------------------------------------------
# Areas, populations and rates
# ---------------------------------------------------------------------------------------------
_AREA_LEVEL_ORDER = {level: i for i, level in enumerate(reference.AREA_LEVELS)}


def _period_column(frame: pd.DataFrame) -> str:
    return "reference_date" if "reference_date" in frame.columns else "reference_month"


def sort_published(frame: pd.DataFrame) -> pd.DataFrame:
    """Deterministic published order (module docstring)."""
    period = _period_column(frame)
    keys: dict[str, pd.Series] = {
        "_period": frame[period].astype(str).where(frame[period].ne(reference.TOTAL), "9999"),
    }
    if "area_level" in frame:
        keys["_level"] = frame["area_level"].map(_AREA_LEVEL_ORDER)
        keys["_area"] = frame["area_code"]
    else:
        keys["_area"] = frame["la_code"]
    if "support_setting" in frame:
        keys["_setting"] = frame["support_setting"].map({s: i for i, s in enumerate(reference.SETTINGS)})
    template = reference.breakdown_template()
    order = pd.Series(range(len(template)), index=pd.MultiIndex.from_frame(template))
    keys["_value"] = pd.Series(
        order.reindex(pd.MultiIndex.from_frame(frame[["breakdown", "breakdown_value"]])).to_numpy(), index=frame.index
    )
    ordered = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort").index
    return frame.loc[ordered].reset_index(drop=True)


def area_table(council_table: pd.DataFrame, periods: Sequence[str]) -> pd.DataFrame:
    """Every council (missing value where it has no data), region and England, unrounded.

    Parameters
    ----------
    council_table : pandas.DataFrame
        Output of :func:`long_term_support` or :func:`people_assessed`.
    periods : sequence of str
        Every period of the release as labelled in ``council_table`` (ISO month ends, or
        ``YYYY-MM`` months plus ``Total``), so that a period no council has is still shown.

    Returns
    -------
    pandas.DataFrame
        Period column, ``area_level, area_code, area_name``, (``support_setting``), ``breakdown,
        breakdown_value, value`` (``Int64``; missing = no data, published as ``[x]``),
        ``councils_included`` (``"<n> of <N>"``), sorted in published order. Regions and England
        are sums over their councils with data in that period; with none, missing.
    """
    period = _period_column(council_table)
    cells = ["support_setting"] if "support_setting" in council_table else []
    cells += ["breakdown", "breakdown_value"]
    councils = reference.councils()[["la_code", "la_name", "region_code"]]
    template = reference.breakdown_template()
    if cells[0] == "support_setting":
        template = pd.DataFrame({"support_setting": list(reference.SETTINGS)}).merge(template, how="cross")
    grid = (
        pd.DataFrame({period: list(periods)})
        .merge(councils[["la_code"]], how="cross")
        .merge(template, how="cross")
    )
    grid = grid.merge(council_table[[period, "la_code", *cells, "value"]], on=[period, "la_code", *cells], how="left")
    grid["value"] = grid["value"].astype("Int64")
    has_data = (
        council_table[[period, "la_code"]].drop_duplicates().assign(has_data=1)
    )
    grid = grid.merge(has_data, on=[period, "la_code"], how="left")
    grid["has_data"] = grid["has_data"].fillna(0).astype(np.int64)
    grid = grid.merge(councils, on="la_code", how="left")

    council_rows = grid.assign(
        area_level="Local Authority", area_code=grid["la_code"], area_name=grid["la_name"], of=1
    )
    region_sizes = councils.groupby("region_code").size()
    region_names = reference.regions().set_index("area_code")["area_name"]

    def summed(by: list[str]) -> pd.DataFrame:
        grouped = grid.groupby(by, sort=False, observed=True)
        return pd.DataFrame({
            "value": grouped["value"].sum(min_count=1),  # no council with data -> missing ([x])
            "has_data": grouped["has_data"].sum(),
        }).reset_index()

    keys = [period, *cells]
    regions = summed([period, "region_code", *cells]).rename(columns={"region_code": "area_code"})
    regions["area_level"] = "Region"
    regions["area_name"] = regions["area_code"].map(region_names)
    regions["of"] = regions["area_code"].map(region_sizes)
    england = summed(keys)
    england["area_level"] = "England"
    england["area_code"] = reference.ENGLAND_CODE
    england["area_name"] = reference.ENGLAND_NAME
    england["of"] = len(councils)

    columns = [period, "area_level", "area_code", "area_name", *cells, "value", "has_data", "of"]
    frame = pd.concat([england[columns], regions[columns], council_rows[columns]], ignore_index=True)
    frame["value"] = frame["value"].astype("Int64")
    frame["councils_included"] = frame["has_data"].astype(str) + " of " + frame["of"].astype(str)
    return sort_published(frame.drop(columns=["has_data", "of"]))


def _council_population(breakdown: pd.Series, value: pd.Series, la_code: pd.Series) -> pd.Series:
    """Council population for each row: 18+ for ``All``, 65+ and 18-64 for the age groups, else NA."""
    pops = reference.councils().set_index("la_code")
    adults = la_code.map(pops["adults_18plus"])
    older = la_code.map(pops["adults_65plus"])
    population = pd.Series(pd.NA, index=value.index, dtype="Int64")
    # The denominator depends on the (breakdown, value) pair only: looked up once per distinct
    # pair (43) and spread to the rows (400,000 council rows at national scale).
    pairs = pd.DataFrame({"breakdown": breakdown.to_numpy(), "value": value.to_numpy()})
    distinct = pairs.drop_duplicates(ignore_index=True)
    position = pd.MultiIndex.from_frame(distinct).get_indexer(pd.MultiIndex.from_frame(pairs))
    denominator = pd.Series(
        reference.rate_denominator(distinct["breakdown"], distinct["value"]).to_numpy(dtype=object)[position],
        index=value.index,
    )
    for kind, values in (("adults", adults), ("older", older), ("working_age", adults - older)):
        rows = (denominator == kind).to_numpy()
        population[rows] = values[rows]
    return population


def rates_unrounded(area: pd.DataFrame) -> pd.DataFrame:
    """Populations and rates per 100,000 for a long-term support :func:`area_table`.

    Returns
    -------
    pandas.DataFrame
        ``reference_date, area_level, area_code, area_name, support_setting, breakdown,
        breakdown_value, value, population, rate, councils_included``: ``population`` (``Int64``)
        is the sum over the area's councils with data in that period, missing where the breakdown
        value has no population (published ``[z]``) or the area has no data (``[x]``); ``rate``
        (``Float64``) = value / population * 100,000, unrounded.
    """
    period = _period_column(area)
    councils = reference.councils()
    council_rows = area[area["area_level"].eq("Local Authority")]
    population = _council_population(
        council_rows["breakdown"], council_rows["breakdown_value"], council_rows["area_code"]
    )
    population = population.mask(council_rows["value"].isna())
    by_council = council_rows[[period, "area_code", "support_setting", "breakdown", "breakdown_value"]].assign(
        population=population
    )
    region_of = councils.set_index("la_code")["region_code"]
    keys = [period, "support_setting", "breakdown", "breakdown_value"]
    regional = (
        by_council.assign(area_code=by_council["area_code"].map(region_of))
        .groupby([*keys, "area_code"], sort=False)["population"].sum(min_count=1).reset_index()
    )
    national = by_council.groupby(keys, sort=False)["population"].sum(min_count=1).reset_index()
    national["area_code"] = reference.ENGLAND_CODE
    populations = pd.concat([national, regional, by_council], ignore_index=True)
    merged = area.merge(populations, on=[*keys, "area_code"], how="left")
    merged["population"] = merged["population"].astype("Int64")
    merged["rate"] = (merged["value"].astype("Float64") * 100_000 / merged["population"].astype("Float64"))
    columns = [period, "area_level", "area_code", "area_name", "support_setting", "breakdown", "breakdown_value",
               "value", "population", "rate", "councils_included"]
    return sort_published(merged[columns])
