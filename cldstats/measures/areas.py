"""Regions, England and rates from the council tables the SQL writes (docs/methodology.md section 4,
"Areas" and "Rates").

* :func:`area_table` -- every council (missing where it has no data, published ``[x]``), the 9 ONS
  regions, the 9 ADASS regions and England as sums of their councils with data, with
  ``councils_included``;
* :func:`rates_unrounded` -- populations and rates per 100,000 of an area table (long-term support
  at every month end; people assessed over the release's ``Total``), by every breakdown with a
  published population, the age bands ending ``85 and above``.

Sort order of every table: period (chronological, ``Total`` last), area level (England, Region,
ADASS region, Local Authority), area code, support setting (``All``, Community, Residential care,
Nursing care, Prison), breakdown (``reference.BREAKDOWNS`` order), breakdown value (published order:
age groups/bands ascending then ``Unknown``; genders ``Female, Male, Other, Unknown``; ethnicity in
spec order). ``councils_included`` is ``"<n> of <N>"``: councils with data for that period out of
all councils (England), out of the region's councils (Region, ADASS region), ``1 of 1`` / ``0 of
1`` for a council.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def sort_published(frame: pd.DataFrame, template: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deterministic published order (module docstring); ``template`` gives the breakdown values'
    order (default :func:`cldstats.reference.breakdown_template`, the count tables')."""
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
    template = reference.breakdown_template() if template is None else template
    order = pd.Series(range(len(template)), index=pd.MultiIndex.from_frame(template))
    keys["_value"] = pd.Series(
        order.reindex(pd.MultiIndex.from_frame(frame[["breakdown", "breakdown_value"]])).to_numpy(), index=frame.index
    )
    ordered = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort").index
    return frame.loc[ordered].reset_index(drop=True)


def area_table(council_table: pd.DataFrame, periods: Sequence[str],
               adass_assign: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every council (missing value where it has no data), ONS region, ADASS region and England, unrounded.

    Parameters
    ----------
    council_table : pandas.DataFrame
        Output of :func:`long_term_support` or :func:`people_assessed`.
    periods : sequence of str
        Every period of the release as labelled in ``council_table`` (ISO month ends, or
        ``YYYY-MM`` months plus ``Total``), so that a period no council has is still shown.
    adass_assign : mapping, optional
        ``params: areas.adass_assign`` (:func:`cldstats.reference.adass_membership`).

    Returns
    -------
    pandas.DataFrame
        Period column, ``area_level, area_code, area_name``, (``support_setting``), ``breakdown,
        breakdown_value, value`` (``Int64``; missing = no data, published as ``[x]``),
        ``councils_included`` (``"<n> of <N>"``), sorted in published order. Regions, ADASS
        regions and England are sums over their councils with data in that period; with none,
        missing.
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
    membership = reference.adass_membership(adass_assign)
    grid["adass_code"] = grid["la_code"].map(membership.set_index("la_code")["adass_code"])

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
    adass = summed([period, "adass_code", *cells]).rename(columns={"adass_code": "area_code"})
    adass["area_level"] = reference.ADASS_LEVEL
    adass["area_name"] = adass["area_code"].map(reference.adass_regions().set_index("area_code")["area_name"])
    adass["of"] = adass["area_code"].map(membership.groupby("adass_code").size())
    england = summed(keys)
    england["area_level"] = "England"
    england["area_code"] = reference.ENGLAND_CODE
    england["area_name"] = reference.ENGLAND_NAME
    england["of"] = len(councils)

    columns = [period, "area_level", "area_code", "area_name", *cells, "value", "has_data", "of"]
    frame = pd.concat([england[columns], regions[columns], adass[columns], council_rows[columns]], ignore_index=True)
    frame["value"] = frame["value"].astype("Int64")
    frame["councils_included"] = frame["has_data"].astype(str) + " of " + frame["of"].astype(str)
    return sort_published(frame.drop(columns=["has_data", "of"]))


def _rate_cells(area: pd.DataFrame) -> pd.DataFrame:
    """The area table's rows in the rate tables' breakdowns: each rate age band (``85 and above``)
    the sum of the count bands it covers (missing when all of them are), the other rows as they are."""
    band_of = {part: band.label for band in reference.RATE_AGE_BANDS for part in reference.rate_band_parts(band)}
    band_of[reference.UNKNOWN] = reference.UNKNOWN
    is_band = area["breakdown"].eq("Age band")
    bands = area[is_band].assign(breakdown_value=area.loc[is_band, "breakdown_value"].map(band_of))
    keys = [c for c in area.columns if c != "value"]
    bands = bands.groupby(keys, sort=False, dropna=False)["value"].sum(min_count=1).reset_index()
    return pd.concat([area[~is_band], bands[area.columns]], ignore_index=True)


def rates_unrounded(area: pd.DataFrame, periods: Sequence[str] | None = None) -> pd.DataFrame:
    """Populations and rates per 100,000 of an :func:`area_table` (either measure).

    Every breakdown value with a published population (:func:`cldstats.reference.rate_denominator`:
    ``data/published_populations.csv``) has one: a council's own; a region's or England's the sum
    over its councils with data in that period, except where councils have none (the ethnicity
    subgroups, published for regions and England only): there the area's published population when
    every council of the area has data, else missing. ADASS regions have no population.

    Parameters
    ----------
    area : pandas.DataFrame
        :func:`area_table` of long-term support (``reference_date``) or people assessed
        (``reference_month``).
    periods : sequence of str, optional
        The periods to keep (default: all; for people assessed, ``["Total"]``).

    Returns
    -------
    pandas.DataFrame
        The area table's columns with ``population`` (``Int64``) and ``rate`` (``Float64`` =
        value / population * 100,000, unrounded) after ``value``, in the rate tables' breakdowns
        (:func:`cldstats.reference.rate_breakdown_template`), sorted in published order.
        ``population`` is missing where the breakdown value has none (published ``[z]``), the area
        has no data or no population for it (``[x]``) or is an ADASS region (``[z]``).
    """
    period = _period_column(area)
    if periods is not None:
        area = area[area[period].isin(list(periods))]
    frame = _rate_cells(area)
    dimension = reference.rate_denominator(frame["breakdown"], frame["breakdown_value"])
    published = reference.published_populations()
    lookup = published.set_index(["area_code", "dimension", "dimension_value"])["population"]
    wanted = pd.MultiIndex.from_arrays([frame["area_code"], dimension.astype(object), frame["breakdown_value"]])
    own = pd.Series(lookup.reindex(wanted).to_numpy(), index=frame.index).astype("Int64")

    level = frame["area_level"]
    is_council = level.eq("Local Authority")
    # A council's population counts only where it has data (so regions sum the councils with data).
    council_pop = own.where(is_council & frame["value"].notna())
    region_of = reference.councils().set_index("la_code")["region_code"]
    cell = [c for c in (period, "support_setting", "breakdown", "breakdown_value") if c in frame]
    councils = frame.loc[is_council, cell].assign(population=council_pop[is_council])
    regional = (councils.assign(area_code=frame.loc[is_council, "area_code"].map(region_of))
                .groupby([*cell, "area_code"], sort=False)["population"].sum(min_count=1))
    national = councils.groupby(cell, sort=False)["population"].sum(min_count=1).reset_index()
    national["area_code"] = reference.ENGLAND_CODE
    sums = (pd.concat([national, regional.reset_index()], ignore_index=True)
            .set_index([*cell, "area_code"])["population"])
    summed = pd.Series(
        sums.reindex(pd.MultiIndex.from_frame(frame[[*cell, "area_code"]])).to_numpy(), index=frame.index
    ).astype("Int64")
    # "<n> of <N>" has a few hundred distinct values: parsed once each, not once per row.
    distinct = pd.Series(frame["councils_included"].unique())
    parts = distinct.str.extract(r"^(\d+) of (\d+)$").astype(float)
    whole = pd.Series((parts[0].eq(parts[1]) & parts[0].gt(0)).to_numpy(), index=distinct.to_numpy())
    complete = frame["councils_included"].map(whole).astype(bool)
    is_sum = level.isin(["England", "Region"])
    population = council_pop.where(is_council, summed.where(is_sum))
    # No council population (the subgroups): the area's own published figure, if all its councils have data.
    fallback = is_sum & population.isna() & complete & frame["value"].notna()
    population = population.mask(fallback, own)
    frame["population"] = population.astype("Int64")
    frame["rate"] = frame["value"].astype("Float64") * 100_000 / frame["population"].astype("Float64")
    columns = [c for c in area.columns if c not in ("value", "councils_included")]
    columns += ["value", "population", "rate", "councils_included"]
    return sort_published(frame[columns], reference.rate_breakdown_template())
