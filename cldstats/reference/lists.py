"""Reference data: councils, regions, and the categories every published table uses.

One place for each fact:

* the councils (GSS code, name, region, adult populations, published national figures used to
  calibrate the synthetic data) come from ``data/local_authorities.csv``;
* region and England codes from ``data/regions.csv``;
* ADASS regions (their project-assigned codes, ``data/adass_region_codes.csv``) and each council's
  ADASS membership with its confidence (``data/adass_regions.csv``), a blank membership being
  assigned by ``params: areas.adass_assign`` (:func:`adass_membership`);
* the rate-table populations DHSC publishes (``data/published_populations.csv``: ONS mid-2024 by
  age and gender, Census 2021 by ethnicity), also the source of the councils' adult populations;
* gender values and the 21 ethnicity values from the Release 1 spec (:mod:`cldstats.reference.spec`), from
  which the 6 published ethnicity groups and the ``Group: Subgroup`` labels are derived;
* age groups and bands, support settings and their ranking are defined here (docs/methodology.md
  section 3); the disclosure symbols and their meanings are in :mod:`cldstats.reference.statements`.

Examples
--------
>>> len(councils())
153
>>> SETTING_BY_SERVICE_TYPE["Long term support: Nursing care"]
'Nursing care'
>>> ethnicity_subgroup_labels()[1]
'White: Irish'
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from cldstats.reference.spec import load_spec

__all__ = [
    "ADASS_LEVEL",
    "AGE_BANDS",
    "AGE_GROUPS",
    "AREA_LEVELS",
    "POPULATION_DIMENSIONS",
    "POPULATION_SOURCES",
    "RATE_AGE_BANDS",
    "BREAKDOWNS",
    "ENGLAND_CODE",
    "ENGLAND_NAME",
    "ETHNICITY_NO_DATA_UNKNOWN",
    "SETTINGS",
    "SETTING_ALL",
    "SETTING_BY_SERVICE_TYPE",
    "SETTING_RANK",
    "TOTAL",
    "UNKNOWN",
    "AgeBand",
    "adass_blank_codes",
    "adass_membership",
    "adass_region_names",
    "adass_regions",
    "age_band_labels",
    "breakdown_template",
    "breakdown_values",
    "council_codes",
    "councils",
    "ethnicity_group",
    "ethnicity_groups",
    "ethnicity_subgroup_labels",
    "genders",
    "published_populations",
    "rate_band_parts",
    "rate_breakdown_template",
    "rate_breakdown_values",
    "rate_denominator",
    "regions",
]

UNKNOWN = "Unknown"
#: The period label of a measure-2 total over the release's months.
TOTAL = "Total"
ENGLAND_CODE = "E92000001"
ENGLAND_NAME = "England"
#: The area level of ADASS regions: the Association of Directors of Adult Social Services' regions,
#: which DHSC publishes beside the ONS regions (an overlapping geography with no GSS codes).
ADASS_LEVEL = "ADASS region"
#: Area levels in published order: the values of every tidy table's ``area_level`` column.
AREA_LEVELS = ("England", "Region", ADASS_LEVEL, "Local Authority")

#: Published breakdowns (docs/methodology.md section 4), in table order.
BREAKDOWNS = ("All", "Age group", "Age band", "Gender", "Ethnicity group", "Ethnicity")

# ---------------------------------------------------------------------------------------------
# Support settings (docs/methodology.md section 3): long-term service types, setting labels, ranks.
# The lowest rank wins when a person has several settings at one date (NHS England's SALT order).
# ---------------------------------------------------------------------------------------------
SETTING_ALL = "All"
SETTING_BY_SERVICE_TYPE = {
    "Long term support: Nursing care": "Nursing care",
    "Long term support: Residential care": "Residential care",
    "Long term support: Community": "Community",
    "Long term support: Prison": "Prison",
}
SETTING_RANK = {"Nursing care": 1, "Residential care": 2, "Community": 3, "Prison": 4}
#: Settings in published order (``All`` first, then by the order DESIGN.md lists them).
SETTINGS = (SETTING_ALL, "Community", "Residential care", "Nursing care", "Prison")


@dataclass(frozen=True)
class AgeBand:
    """A closed age interval ``[low, high]`` in whole years; ``high`` None means no upper bound."""

    label: str
    low: int
    high: int | None


#: Age groups and bands (docs/methodology.md section 3); ``Unknown`` is added by the functions below.
AGE_GROUPS = (AgeBand("18 to 64", 18, 64), AgeBand("65 and above", 65, None))
AGE_BANDS = (
    AgeBand("18 to 24", 18, 24),
    AgeBand("25 to 44", 25, 44),
    AgeBand("45 to 64", 45, 64),
    AgeBand("65 to 74", 65, 74),
    AgeBand("75 to 84", 75, 84),
    AgeBand("85 to 94", 85, 94),
    AgeBand("95 and above", 95, None),
)


def age_band_labels(bands: tuple[AgeBand, ...]) -> list[str]:
    """Labels of ``bands`` followed by ``Unknown``, in published order."""
    return [b.label for b in bands] + [UNKNOWN]


# ---------------------------------------------------------------------------------------------
# Gender and ethnicity: values from the spec, published labels derived from them.
# ---------------------------------------------------------------------------------------------
ETHNICITY_NO_DATA_UNKNOWN = "No data: Undeclared or not known"


def genders() -> list[str]:
    """Published gender values: the spec's list (``Female``, ``Male``, ``Other``, ``Unknown``), sorted
    as DHSC publishes them (alphabetical, ``Unknown`` last)."""
    values = list(load_spec().by_name["Gender"].code_list)
    return sorted(v for v in values if v != UNKNOWN) + [UNKNOWN]


def ethnicity_group(value: str) -> str:
    """The published group of a canonical ethnicity value: the text before the first ``": "``.

    >>> ethnicity_group("Black, Black British, Caribbean or African: African")
    'Black, Black British, Caribbean or African'
    """
    return value.split(": ", 1)[0]


def ethnicity_groups() -> list[str]:
    """The 6 published ethnicity groups, in spec order (``No data`` last)."""
    return list(dict.fromkeys(ethnicity_group(v) for v in load_spec().by_name["Ethnicity"].code_list))


def ethnicity_subgroup_labels() -> list[str]:
    """The 21 published ethnicity subgroup labels, in spec order: the canonical (Release 2) values
    themselves (``White: Irish``), as DHSC publishes them."""
    return list(load_spec().by_name["Ethnicity"].code_list)


def breakdown_values() -> dict[str, list[str]]:
    """Each published breakdown (:data:`BREAKDOWNS`) and its values, in table order."""
    return {
        "All": ["All"],
        "Age group": age_band_labels(AGE_GROUPS),
        "Age band": age_band_labels(AGE_BANDS),
        "Gender": genders(),
        "Ethnicity group": ethnicity_groups(),
        "Ethnicity": ethnicity_subgroup_labels(),
    }


def breakdown_template() -> pd.DataFrame:
    """The (breakdown, breakdown_value) pairs of every published table (43), in published order."""
    pairs = [(b, v) for b, values in breakdown_values().items() for v in values]
    return pd.DataFrame(pairs, columns=["breakdown", "breakdown_value"])


# ---------------------------------------------------------------------------------------------
# Rate tables (docs/methodology.md section 4, "Rates"): their breakdowns and populations.
# ---------------------------------------------------------------------------------------------
#: Age bands of the rate tables: the count bands up to 84, then ``85 and above`` (DHSC's
#: populations stop there), whose count is the sum of the count bands it covers (:func:`rate_band_parts`).
RATE_AGE_BANDS = (*(b for b in AGE_BANDS if b.high is not None and b.high < 85), AgeBand("85 and above", 85, None))


def rate_band_parts(band: AgeBand) -> list[str]:
    """The count bands (:data:`AGE_BANDS`) whose ages lie inside ``band``; their counts sum to its count.

    >>> rate_band_parts(RATE_AGE_BANDS[-1])
    ['85 to 94', '95 and above']
    """
    def inside(part: AgeBand) -> bool:
        above = part.low >= band.low
        below = band.high is None or (part.high is not None and part.high <= band.high)
        return above and below

    parts = [b.label for b in AGE_BANDS if inside(b)]
    covered = sorted((b.low, b.high) for b in AGE_BANDS if b.label in parts)
    # The parts must tile the band exactly, or the rate band's count would not be the sum of them.
    tiles = bool(covered) and covered[0][0] == band.low and covered[-1][1] == band.high and all(
        a[1] is not None and a[1] + 1 == b[0] for a, b in zip(covered, covered[1:], strict=False))
    if not tiles:
        raise ValueError(f"rate age band {band.label!r} is not a union of the count bands")
    return parts


def rate_breakdown_values() -> dict[str, list[str]]:
    """Each breakdown of the rate tables and its values: :func:`breakdown_values` with the age
    bands of :data:`RATE_AGE_BANDS`."""
    return {**breakdown_values(), "Age band": age_band_labels(RATE_AGE_BANDS)}


def rate_breakdown_template() -> pd.DataFrame:
    """The (breakdown, breakdown_value) pairs of the rate tables, in published order."""
    pairs = [(b, v) for b, values in rate_breakdown_values().items() for v in values]
    return pd.DataFrame(pairs, columns=["breakdown", "breakdown_value"])


#: The ``dimension`` of ``data/published_populations.csv`` each breakdown's rates divide by; the
#: ``All`` breakdown's value ``All`` is the age dimension's ``All`` (adults 18 and over).
POPULATION_DIMENSIONS = {
    "All": "age_group", "Age group": "age_group", "Age band": "age_group", "Gender": "gender",
    "Ethnicity group": "ethnicity", "Ethnicity": "ethnicity",
}
#: What each population dimension is (published_populations.md): the age and gender populations are
#: ONS mid-year estimates, the ethnicity ones a Census 2021 base, so the two kinds of rate differ.
POPULATION_SOURCES = {
    "age_group": "ONS mid-2024 population estimates",
    "gender": "ONS mid-2024 population estimates",
    "ethnicity": "Census 2021",
}
_AREA_UNITS = {"National": "England", "Region": "Region", "Local Authority": "Local Authority"}


@functools.cache
def published_populations() -> pd.DataFrame:
    """DHSC's rate-table populations (``data/published_populations.csv``, base ``published``).

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_level`` (``England``, ``Region``, ``Local Authority``), ``dimension``
        (``age_group``, ``gender``, ``ethnicity``), ``dimension_value`` (our breakdown labels:
        ``18 to 64``, ``Female``, ``White: Irish``...), ``population`` (int64). Councils have
        ethnicity groups only; regions and England have the subgroups too.

    Raises
    ------
    ValueError
        The shipped file is not the one expected: another base, an unknown area or level, a key
        given twice, or a council without an adult population.
    """
    with _data_path("published_populations.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    if set(frame["population_base"]) != {"published"}:
        raise ValueError("published_populations.csv must hold the population_base 'published' only")
    frame["area_level"] = frame["area_unit"].map(_AREA_UNITS)
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce")
    known = set(regions()["area_code"]) | set(_council_frame()["la_code"])
    keys = ["area_code", "dimension", "dimension_value"]
    bad = (frame["area_level"].isna() | ~frame["area_code"].isin(known) | frame["population"].isna()
           | frame.duplicated(keys, keep=False))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise ValueError(f"published_populations.csv row {row}: unknown area or level, missing population or a "
                         "key given twice")
    frame["population"] = frame["population"].astype(np.int64)
    return frame[["area_code", "area_level", *keys[1:], "population"]].reset_index(drop=True)


def rate_denominator(breakdown: pd.Series, breakdown_value: pd.Series) -> pd.Series:
    """The population dimension each row's rate divides by (``age_group``, ``gender`` or
    ``ethnicity``: :data:`POPULATION_DIMENSIONS`), missing where the breakdown value has no
    published population (``Unknown``, ``Other``, ``No data``, the count-only age bands), whose
    rate is published as ``[z]``.

    >>> rate_denominator(pd.Series(["All", "Age band", "Gender", "Gender"]),
    ...                  pd.Series(["All", "85 and above", "Male", "Other"])).tolist()
    ['age_group', 'age_group', 'gender', nan]
    """
    england = published_populations().query("area_level == 'England'")
    has = pd.MultiIndex.from_frame(england[["dimension", "dimension_value"]])
    dimension = breakdown.astype(str).map(POPULATION_DIMENSIONS)
    found = pd.MultiIndex.from_arrays([dimension.astype(object), breakdown_value.astype(str)]).isin(has)
    return pd.Series(dimension.where(found, np.nan).to_numpy(dtype=object), index=breakdown.index, dtype=object)


# ---------------------------------------------------------------------------------------------
# Councils and regions
# ---------------------------------------------------------------------------------------------
def _data_path(name: str):
    return resources.files("cldstats").joinpath("data").joinpath(name)


@functools.cache
def regions() -> pd.DataFrame:
    """The 9 ONS regions and England.

    Returns
    -------
    pandas.DataFrame
        Columns ``area_code``, ``area_name``, ``area_level`` (``England`` or ``Region``), England
        first, then regions in GSS code order.
    """
    with _data_path("regions.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str)
    is_region = frame["area_level"].ne("England")
    ordered = frame.assign(_region=is_region).sort_values(["_region", "area_code"])
    return ordered.drop(columns="_region").reset_index(drop=True)


#: Councils with adult social services responsibilities in England since April 2023: the shipped
#: council list must hold exactly this many (a check on the data file; everything else counts the list).
COUNCILS_IN_ENGLAND = 153


@functools.cache
def _council_frame() -> pd.DataFrame:
    """``data/local_authorities.csv`` as read, checked: :data:`COUNCILS_IN_ENGLAND` unique codes in known regions."""
    with _data_path("local_authorities.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype={"la_code": str, "la_name": str, "region": str})
    codes = regions().set_index("area_name")["area_code"]
    frame["region_code"] = frame["region"].map(codes)
    if len(frame) != COUNCILS_IN_ENGLAND or frame["la_code"].duplicated().any() or frame["region_code"].isna().any():
        raise ValueError(f"local_authorities.csv must hold {COUNCILS_IN_ENGLAND} councils with unique codes in known "
                         "regions")
    for column in ("lts_31mar2026", "assessments_apr25_mar26"):
        frame[column] = frame[column].astype(np.int64)
    return frame.sort_values("la_code").reset_index(drop=True)


@functools.cache
def councils() -> pd.DataFrame:
    """The councils with adult social care responsibilities (:data:`COUNCILS_IN_ENGLAND` of them).

    Returns
    -------
    pandas.DataFrame
        One row per council, sorted by GSS code, with columns ``la_code``, ``la_name``, ``region``
        (name), ``region_code``, ``adults_18plus``, ``adults_65plus`` (ONS mid-2024: the age
        ``All`` and ``65 and above`` rows of :func:`published_populations`, their one source),
        ``lts_31mar2026`` and ``assessments_apr25_mar26`` (published national figures, rounded to
        5, used only to calibrate synthetic data).

    Raises
    ------
    ValueError
        If the shipped file does not hold :data:`COUNCILS_IN_ENGLAND` councils with unique codes,
        each in a known region with both adult populations.
    """
    frame = _council_frame()
    ages = published_populations().query("area_level == 'Local Authority' and dimension == 'age_group'")
    ages = ages.set_index(["area_code", "dimension_value"])["population"]
    for column, value in (("adults_18plus", "All"), ("adults_65plus", "65 and above")):
        population = frame["la_code"].map(ages.xs(value, level="dimension_value"))
        if population.isna().any():
            raise ValueError(f"published_populations.csv has no age_group {value!r} population for council "
                             f"{frame.loc[population.isna(), 'la_code'].iloc[0]}")
        frame[column] = population.astype(np.int64)
    columns = ["la_code", "la_name", "region", "region_code", "adults_18plus", "adults_65plus",
               "lts_31mar2026", "assessments_apr25_mar26"]
    return frame[columns]


def council_codes() -> list[str]:
    """GSS codes of the councils, sorted."""
    return councils()["la_code"].tolist()


# ---------------------------------------------------------------------------------------------
# ADASS regions (docs/methodology.md section 4, "Areas")
# ---------------------------------------------------------------------------------------------
@functools.cache
def adass_regions() -> pd.DataFrame:
    """The 9 ADASS regions: ``area_code`` (project-assigned, ``ADASS01``.. ``ADASS09``: no GSS
    code exists, so these are not ONS codes), ``area_name`` (ADASS's names: ``Eastern``,
    ``Yorkshire and Humber``...) and ``ons_region_code`` (the ONS region of the same name or
    territory, whose name a blank membership defaults to), in code order."""
    with _data_path("adass_region_codes.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"adass_code": "area_code", "adass_region": "area_name"})
    if (frame["area_code"].str.match(r"^[EWSN]\d{8}$").any() or frame["area_code"].duplicated().any()
            or not frame["ons_region_code"].isin(regions()["area_code"]).all()):
        raise ValueError("adass_region_codes.csv: codes must be unique and not GSS-shaped, each with a known ONS "
                         "region")
    return frame.sort_values("area_code").reset_index(drop=True)


def adass_region_names() -> list[str]:
    """The 9 ADASS region names, in code order."""
    return adass_regions()["area_name"].tolist()


@functools.cache
def _adass_table() -> pd.DataFrame:
    """``data/adass_regions.csv`` checked: every council once, each ADASS region known or blank."""
    with _data_path("adass_regions.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    bad = (~frame["la_code"].isin(council_codes()) | frame["la_code"].duplicated()
           | ~frame["adass_region"].isin([*adass_region_names(), ""])
           | frame["confidence"].ne("").ne(frame["adass_region"].ne("")))
    if bad.any() or len(frame) != COUNCILS_IN_ENGLAND:
        row = int(bad.to_numpy().nonzero()[0][0]) + 2 if bad.any() else len(frame) + 1
        raise ValueError(f"adass_regions.csv row {row}: every council once, with a known ADASS region and its "
                         "confidence, or both blank")
    return frame.sort_values("la_code").reset_index(drop=True)


def adass_blank_codes() -> list[str]:
    """GSS codes of the councils whose ADASS region the shipped table leaves blank (the sources
    conflict): ``params: areas.adass_assign`` assigns them."""
    table = _adass_table()
    return table.loc[table["adass_region"].eq(""), "la_code"].tolist()


def adass_membership(assign: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Each council's ADASS region.

    Parameters
    ----------
    assign : mapping of str to str, optional
        ``params: areas.adass_assign``: GSS code of a council with a blank membership -> ADASS
        region name, or ``""`` for the default, the ADASS region of the council's ONS region.

    Returns
    -------
    pandas.DataFrame
        One row per council in GSS code order: ``la_code, la_name, adass_code, adass_region,
        membership`` (``confirmed``, ``inferred`` or ``assigned``), ``assigned_by`` (``params``,
        ``ONS region`` or ``""``).

    Raises
    ------
    ValueError
        ``assign`` names a council whose membership is not blank, or a region that is not an ADASS
        region.

    Examples
    --------
    >>> m = adass_membership({"E06000063": "North East"}).set_index("la_code")
    >>> columns = ["adass_region", "membership", "assigned_by"]
    >>> m.loc[["E06000063", "E06000064", "E06000047"], columns].to_numpy().tolist()
    [['North East', 'assigned', 'params'], ['North West', 'assigned', 'ONS region'], ['North East', 'inferred', '']]
    """
    assign = {code: str(region).strip() for code, region in (assign or {}).items()}
    blank = set(adass_blank_codes())
    for code, region in assign.items():
        if code not in blank:
            raise ValueError(f"areas.adass_assign names {code}, which is not a council with a blank ADASS membership "
                             f"({', '.join(sorted(blank))})")
        if region and region not in adass_region_names():
            raise ValueError(f"areas.adass_assign: {region!r} for {code} is not an ADASS region "
                             f"({', '.join(adass_region_names())})")
    table = _adass_table()
    adass = adass_regions()
    ons_default = councils().set_index("la_code")["region_code"].map(
        adass.set_index("ons_region_code")["area_name"])
    region = table["adass_region"].copy()
    by_params = table["la_code"].map(assign).fillna("")
    is_blank = region.eq("")
    region = region.where(~is_blank, by_params.where(by_params.ne(""), table["la_code"].map(ons_default)))
    frame = pd.DataFrame({
        "la_code": table["la_code"],
        "la_name": table["la_code"].map(councils().set_index("la_code")["la_name"]),
        "adass_code": region.map(adass.set_index("area_name")["area_code"]),
        "adass_region": region,
        "membership": table["confidence"].where(~is_blank, "assigned"),
        "assigned_by": np.where(is_blank, np.where(by_params.ne(""), "params", "ONS region"), ""),
    })
    return frame.reset_index(drop=True)
