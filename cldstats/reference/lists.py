"""Reference data: councils, regions, and the categories every published table uses.

One place for each fact:

* the councils (GSS code, name, region, adult populations, published national figures used to
  calibrate the synthetic data) come from ``data/local_authorities.csv``;
* region and England codes from ``data/regions.csv``;
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
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from cldstats.reference.spec import load_spec

__all__ = [
    "AGE_BANDS",
    "AGE_GROUPS",
    "AREA_LEVELS",
    "BREAKDOWNS",
    "ENGLAND_CODE",
    "ENGLAND_NAME",
    "ETHNICITY_NO_DATA_UNKNOWN",
    "SETTINGS",
    "SETTING_ALL",
    "SETTING_BY_SERVICE_TYPE",
    "SETTING_RANK",
    "TOTAL",
    "RATE_DENOMINATORS",
    "UNKNOWN",
    "AgeBand",
    "age_band_labels",
    "breakdown_template",
    "breakdown_values",
    "council_codes",
    "councils",
    "ethnicity_group",
    "ethnicity_groups",
    "ethnicity_subgroup_labels",
    "genders",
    "rate_denominator",
    "regions",
]

UNKNOWN = "Unknown"
#: The period label of a measure-2 total over the release's months.
TOTAL = "Total"
ENGLAND_CODE = "E92000001"
ENGLAND_NAME = "England"
AREA_LEVELS = ("England", "Region", "Local Authority")

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
# Rate denominators (docs/methodology.md section 4): which breakdown values have a population.
# ---------------------------------------------------------------------------------------------
#: (breakdown, value) -> population: ``adults`` 18+, ``older`` 65+, ``working_age`` 18+ minus 65+.
#: Every other breakdown value has no population, and its rate is published as ``[z]``.
RATE_DENOMINATORS = {
    ("All", "All"): "adults",
    ("Age group", "18 to 64"): "working_age",
    ("Age group", "65 and above"): "older",
}


def rate_denominator(breakdown: pd.Series, breakdown_value: pd.Series) -> pd.Series:
    """The population each row's rate divides by (a :data:`RATE_DENOMINATORS` value), missing
    where the breakdown value has none.

    >>> rate_denominator(pd.Series(["All", "Age group", "Gender"]), pd.Series(["All", "65 and above", "Male"])).tolist()
    ['adults', 'older', nan]
    """
    keys = pd.MultiIndex.from_arrays([breakdown.astype(str), breakdown_value.astype(str)])
    return pd.Series(keys.map(RATE_DENOMINATORS), index=breakdown.index, dtype=object)


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
def councils() -> pd.DataFrame:
    """The councils with adult social care responsibilities (:data:`COUNCILS_IN_ENGLAND` of them).

    Returns
    -------
    pandas.DataFrame
        One row per council, sorted by GSS code, with columns ``la_code``, ``la_name``, ``region``
        (name), ``region_code``, ``adults_18plus``, ``adults_65plus`` (ONS mid-2024, the rate
        denominators), ``lts_31mar2026`` and ``assessments_apr25_mar26`` (published national
        figures, rounded to 5, used only to calibrate synthetic data).

    Raises
    ------
    ValueError
        If the shipped file does not hold :data:`COUNCILS_IN_ENGLAND` councils with unique codes,
        each in a known region.
    """
    with _data_path("local_authorities.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(
            fh,
            dtype={"la_code": str, "la_name": str, "region": str},
        )
    codes = regions().set_index("area_name")["area_code"]
    frame["region_code"] = frame["region"].map(codes)
    if len(frame) != COUNCILS_IN_ENGLAND or frame["la_code"].duplicated().any() or frame["region_code"].isna().any():
        raise ValueError(f"local_authorities.csv must hold {COUNCILS_IN_ENGLAND} councils with unique codes in known "
                         "regions")
    for column in ("adults_18plus", "adults_65plus", "lts_31mar2026", "assessments_apr25_mar26"):
        frame[column] = frame[column].astype(np.int64)
    columns = ["la_code", "la_name", "region", "region_code", "adults_18plus", "adults_65plus",
               "lts_31mar2026", "assessments_apr25_mar26"]
    return frame[columns].sort_values("la_code").reset_index(drop=True)


def council_codes() -> list[str]:
    """GSS codes of the councils, sorted."""
    return councils()["la_code"].tolist()
