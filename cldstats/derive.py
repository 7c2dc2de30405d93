"""Derived fields (METHODOLOGY.md section 3): exclusions, age, age groups and bands, ethnicity and
gender labels, support setting and rank, death-adjusted end dates.

Every function is vectorised over pandas Series / numpy arrays and takes ``records`` columns as
architecture Contract 1 defines them (code fields as Categoricals of canonical values, missing when
blank or invalid; dates ``datetime64[s]``, NaT when blank or invalid).

Dates are turned into whole day numbers (days since 1970-01-01, ``int64``) for interval logic; an
open end is :data:`OPEN_END` (far after any real date) so that "blank or >= D" is one comparison.
The person ID fallback itself lives in :mod:`cldstats.pseudonymise`; here only its outcome
(``person_id_source``) is used to exclude rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldstats import reference

__all__ = [
    "EXCLUSION_REASONS",
    "MAX_AGE",
    "OPEN_END",
    "age_at",
    "age_band",
    "age_group",
    "birth_month_index",
    "day_numbers",
    "death_adjusted_end",
    "ethnicity_group_label",
    "ethnicity_known",
    "ethnicity_subgroup_label",
    "exclusion_reasons",
    "gender_known",
    "gender_label",
    "setting_rank",
    "support_setting",
]

#: Exclusion reasons in precedence order: a row is counted under the first that applies.
EXCLUSION_REASONS = (
    "Carer known by association (no event)",
    "no person ID",
    "ambiguous person ID",
    "Event Start Date blank or invalid",
    "Event End Date invalid",
    "Event End Date before Event Start Date",
)

#: An age above this at the date in question makes the birth month/year unknown.
MAX_AGE = 115

#: Day number standing for an open (blank) end date: after every representable real date.
OPEN_END = np.iinfo(np.int64).max // 4

#: First ``spec.ValueStatus`` value meaning "non-blank and invalid" (INVALID = 3 and above).
_FIRST_INVALID_STATUS = 3


# ---------------------------------------------------------------------------------------------
# Dates as day numbers
# ---------------------------------------------------------------------------------------------
def day_numbers(dates, missing: int | None = None) -> np.ndarray:
    """Whole days since 1970-01-01 of ``dates`` as ``int64``.

    Parameters
    ----------
    dates : array-like of datetime64, Series, date or Timestamp
        Values to convert; a scalar gives a 0-d array.
    missing : int, optional
        Value for NaT. Without it NaT raises ``ValueError`` (callers must decide what missing means).

    Examples
    --------
    >>> day_numbers(pd.Series(pd.to_datetime(["1970-01-02", None])), missing=-1).tolist()
    [1, -1]
    """
    values = np.asarray(pd.Series(dates) if np.ndim(dates) else [dates]).astype("datetime64[D]")
    if not np.ndim(dates):
        values = values.reshape(())
    nat = np.isnat(values)
    days = values.astype(np.int64)
    if nat.any():
        if missing is None:
            raise ValueError("missing dates given where none are allowed")
        days = np.where(nat, missing, days)
    return days


# ---------------------------------------------------------------------------------------------
# Text comparisons, once per category
# ---------------------------------------------------------------------------------------------
def _equals(values, value: str) -> np.ndarray:
    """``values == value`` as text, missing -> False.

    Code fields arrive as Categoricals: comparing the few categories and spreading the answer
    through the codes costs one take per row, where turning every row into text first (the plain
    path) cost seconds per million rows at national scale.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        hit = pd.Index(series.cat.categories).astype("string").to_numpy(dtype=object) == value
        # code -1 (missing) indexes the appended False
        return np.append(np.asarray(hit, dtype=bool), False)[series.cat.codes.to_numpy()]
    return series.astype("string").eq(value).fillna(False).to_numpy(dtype=bool)


def _mapped_codes(values, mapping: dict[str, str], categories: list[str]) -> np.ndarray:
    """Position in ``categories`` of ``mapping[value as text]`` per value (-1: missing or unmapped).

    Categoricals are mapped once per category (see :func:`_equals`); anything else row by row
    through pandas' vectorised ``map``.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        texts = pd.Index(series.cat.categories).astype("string")
        codes = pd.Index(categories).get_indexer(texts.map(mapping).astype(object))
        return np.append(codes, -1)[series.cat.codes.to_numpy()]
    mapped = series.astype("string").map(mapping, na_action="ignore")
    return pd.Index(categories).get_indexer(mapped.astype(object))


# ---------------------------------------------------------------------------------------------
# Exclusions
# ---------------------------------------------------------------------------------------------
def exclusion_reasons(records: pd.DataFrame, status: pd.DataFrame | None = None) -> pd.Series:
    """Why each row cannot be used in the measures, or missing when it can.

    Parameters
    ----------
    records : pandas.DataFrame
        Contract 1 records: ``Client_Type``, ``person_id_source``, ``Event_Start_Date``,
        ``Event_End_Date`` and, if present, ``person_id`` (a missing ``person_id`` on a row whose
        source is not ``ambiguous`` also counts as ``no person ID``).
    status : pandas.DataFrame, optional
        Contract 1 per-cell status (same index). ``status["Event_End_Date"]`` tells a blank end
        date (0, an open event) from an invalid one (>= 3), which ``records`` both hold as NaT.
        Without ``status`` every missing end date is taken as blank.

    Returns
    -------
    pandas.Series
        Categorical with categories :data:`EXCLUSION_REASONS`, same index as ``records``; the first
        reason that applies in that order, missing for a usable row.

    Examples
    --------
    >>> recs = pd.DataFrame({"Client_Type": ["Service User", "Service User"],
    ...     "person_id_source": ["NHS number", "none"],
    ...     "Event_Start_Date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...     "Event_End_Date": pd.to_datetime([None, None])})
    >>> exclusion_reasons(recs).tolist()
    [nan, 'no person ID']
    """
    start = records["Event_Start_Date"]
    end = records["Event_End_Date"]
    source = records["person_id_source"]
    end_missing = end.isna().to_numpy(dtype=bool)
    if status is not None:
        end_invalid = end_missing & (status["Event_End_Date"].to_numpy() >= _FIRST_INVALID_STATUS)
    else:
        end_invalid = np.zeros(len(records), dtype=bool)
    ambiguous = _equals(source, "ambiguous")
    # A missing person_id that is not "ambiguous" is treated as no ID whatever the source says,
    # so no row without an ID can reach the measures.
    no_id = _equals(source, "none")
    if "person_id" in records:
        no_id |= records["person_id"].isna().to_numpy(dtype=bool) & ~ambiguous
    conditions = [
        _equals(records["Client_Type"], "Carer known by association"),
        no_id,
        ambiguous,
        start.isna().to_numpy(dtype=bool),
        end_invalid,
        (end < start).fillna(False).to_numpy(dtype=bool),
    ]
    codes = np.full(len(records), -1, dtype=np.int8)
    # Assign in reverse order so that the earliest reason in the precedence list wins.
    for code in range(len(conditions) - 1, -1, -1):
        codes[np.asarray(conditions[code], dtype=bool)] = code
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(EXCLUSION_REASONS)),
        index=records.index,
        name="exclusion_reason",
    )


# ---------------------------------------------------------------------------------------------
# Age
# ---------------------------------------------------------------------------------------------
def birth_month_index(birth_year, birth_month) -> np.ndarray:
    """Months since January 1970 of the birth month (``int64``), ``-2**40`` where unknown.

    Examples
    --------
    >>> birth_month_index(pd.Series([1970, None], dtype="Int16"), pd.Series([2, 5], dtype="Int8")).tolist()
    [1, -1099511627776]
    """
    year = pd.Series(birth_year).astype("Int64")
    month = pd.Series(birth_month).astype("Int64")
    index = (year - 1970) * 12 + (month - 1)
    bad = month.lt(1) | month.gt(12)
    return index.mask(bad.fillna(True)).fillna(-(2**40)).to_numpy(dtype=np.int64)


UNKNOWN_BIRTH = -(2**40)


def age_at(birth_year, birth_month, at) -> pd.Series:
    """Age in whole years at date ``at``: ``floor((at - first day of birth month) / 365.25)``.

    The division is done in integers (``floor(4 * days / 1461)``) so no float rounding can move a
    birthday. A birth month starting after ``at``, or an age over :data:`MAX_AGE`, is unknown.

    Parameters
    ----------
    birth_year, birth_month : array-like of int (nullable)
        From Contract 1 ``birth_year`` (Int16) and ``birth_month`` (Int8); missing when unknown.
    at : date, Timestamp, or array-like of datetime64 (same length)
        The date the age is taken at (a month end, or each row's assessment end date).

    Returns
    -------
    pandas.Series
        ``Int16`` ages, missing where unknown (also where ``at`` is NaT).

    Examples
    --------
    >>> age_at(pd.Series([2000, 2000]), pd.Series([3, 4]), pd.Timestamp("2018-03-31")).tolist()
    [18, 17]
    """
    months = birth_month_index(birth_year, birth_month)
    first_day = np.where(months == UNKNOWN_BIRTH, 0, months).astype("datetime64[M]").astype("datetime64[D]")
    first_day = first_day.astype(np.int64)
    if np.ndim(at):
        at_days = day_numbers(at, missing=np.iinfo(np.int64).min)
        at_missing = at_days == np.iinfo(np.int64).min
    else:
        at_days = np.full(len(months), int(day_numbers(pd.Timestamp(at))))
        at_missing = np.zeros(len(months), dtype=bool)
    elapsed = at_days - first_day
    age = np.floor_divide(4 * np.where(at_missing, 0, elapsed), 1461)
    unknown = (months == UNKNOWN_BIRTH) | at_missing | (elapsed < 0) | (age > MAX_AGE)
    return pd.Series(pd.array(np.where(unknown, 0, age), dtype="Int16")).mask(unknown)


def _band_labels(age, bands) -> pd.Categorical:
    labels = reference.age_band_labels(bands)
    values = pd.Series(age).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    codes = np.full(len(values), len(bands), dtype=np.int8)  # Unknown
    for code, band in enumerate(bands):
        high = np.inf if band.high is None else band.high
        codes[(values >= band.low) & (values <= high)] = code
    return pd.Categorical.from_codes(codes, categories=labels)


def age_group(age) -> pd.Categorical:
    """``18 to 64``, ``65 and above`` or ``Unknown`` (missing age, or under 18).

    Examples
    --------
    >>> list(age_group(pd.Series([18, 64, 65, None, 17], dtype="Int16")))
    ['18 to 64', '18 to 64', '65 and above', 'Unknown', 'Unknown']
    """
    return _band_labels(age, reference.AGE_GROUPS)


def age_band(age) -> pd.Categorical:
    """``18 to 24`` ... ``95 and above``, or ``Unknown`` (missing age, or under 18).

    Examples
    --------
    >>> list(age_band(pd.Series([24, 25, 94, 95, None], dtype="Int16")))
    ['18 to 24', '25 to 44', '85 to 94', '95 and above', 'Unknown']
    """
    return _band_labels(age, reference.AGE_BANDS)


# ---------------------------------------------------------------------------------------------
# Ethnicity and gender
# ---------------------------------------------------------------------------------------------
def ethnicity_known(ethnicity) -> np.ndarray:
    """True where the value counts as known when choosing between rows: not blank/invalid and not
    ``No data - Undeclared or Not known`` (``No data - Refused`` is known)."""
    values = pd.Series(ethnicity).astype("string")
    return (values.notna() & values.ne(reference.ETHNICITY_NO_DATA_UNKNOWN)).fillna(False).to_numpy(dtype=bool)


def ethnicity_subgroup_label(ethnicity) -> pd.Categorical:
    """Published subgroup label (``White: Irish``); blank/invalid -> ``No data: Undeclared or Not known``.

    Examples
    --------
    >>> list(ethnicity_subgroup_label(pd.Series(["White - Irish", None, "No data - Refused"])))
    ['White: Irish', 'No data: Undeclared or Not known', 'No data: Refused']
    """
    labels = reference.ethnicity_subgroup_labels()
    values = pd.Series(ethnicity).astype("string").fillna(reference.ETHNICITY_NO_DATA_UNKNOWN)
    mapped = values.map(reference.ethnicity_subgroup_label, na_action="ignore")
    return pd.Categorical(mapped.astype(object), categories=labels).fillna(
        reference.ethnicity_subgroup_label(reference.ETHNICITY_NO_DATA_UNKNOWN)
    )


def ethnicity_group_label(ethnicity) -> pd.Categorical:
    """Published group (text before the first `` - ``); blank/invalid -> ``No data``.

    Examples
    --------
    >>> list(ethnicity_group_label(pd.Series(["Asian or Asian British - Indian", None])))
    ['Asian or Asian British', 'No data']
    """
    values = pd.Series(ethnicity).astype("string").fillna(reference.ETHNICITY_NO_DATA_UNKNOWN)
    mapped = values.map(reference.ethnicity_group, na_action="ignore")
    return pd.Categorical(mapped.astype(object), categories=reference.ethnicity_groups()).fillna("No data")


def gender_known(gender) -> np.ndarray:
    """True where the gender counts as known when choosing between rows (not blank/invalid/Unknown)."""
    values = pd.Series(gender).astype("string")
    return (values.notna() & values.ne(reference.UNKNOWN)).fillna(False).to_numpy(dtype=bool)


def gender_label(gender) -> pd.Categorical:
    """Published gender: ``Female``, ``Male``, ``Other``, ``Unknown`` (blank or invalid -> ``Unknown``).

    Examples
    --------
    >>> list(gender_label(pd.Series(["Male", None, "Other"])))
    ['Male', 'Unknown', 'Other']
    """
    values = pd.Series(gender).astype("string").astype(object)
    return pd.Categorical(values, categories=reference.genders()).fillna(reference.UNKNOWN)


# ---------------------------------------------------------------------------------------------
# Support setting and dates
# ---------------------------------------------------------------------------------------------
_LTS_SETTINGS = list(reference.SETTING_RANK)  # rank order: Nursing, Residential, Community, Prison
_LTS_SETTINGS_DTYPE = pd.CategoricalDtype(_LTS_SETTINGS)


def support_setting(service_type) -> pd.Categorical:
    """Support setting of a long-term ``Service Type``; missing for any other service type.

    Categories are in rank order (``Nursing care`` first), so the categorical codes + 1 are ranks.

    Examples
    --------
    >>> list(support_setting(pd.Series(["Long Term Support: Prison", "Short Term Support: ST-Max", None])))
    ['Prison', nan, nan]
    """
    codes = _mapped_codes(service_type, reference.SETTING_BY_SERVICE_TYPE, _LTS_SETTINGS)
    return pd.Categorical.from_codes(codes, dtype=_LTS_SETTINGS_DTYPE)


def setting_rank(service_type) -> np.ndarray:
    """Rank of the setting (1 nursing, 2 residential, 3 community, 4 prison), 0 if not long-term.

    Examples
    --------
    >>> setting_rank(pd.Series(["Long Term Support: Community", "Long Term Support: Nursing Care", None])).tolist()
    [3, 1, 0]
    """
    codes = support_setting(service_type).codes.astype(np.int8)
    return np.where(codes < 0, 0, codes + 1).astype(np.int8)


def death_adjusted_end(end_date, date_of_death) -> pd.Series:
    """End date, or the date of death where the end is blank or later than the death.

    Parameters
    ----------
    end_date, date_of_death : Series of datetime64
        Each row's ``Event_End_Date`` and ``Date_of_Death`` (NaT when blank).

    Returns
    -------
    pandas.Series
        ``datetime64[s]``; NaT only where both are blank (an open event).

    Examples
    --------
    >>> end = pd.Series(pd.to_datetime(["2024-03-31", None, "2024-01-01", None]))
    >>> death = pd.Series(pd.to_datetime(["2024-03-01", "2024-02-01", "2024-02-01", None]))
    >>> death_adjusted_end(end, death).dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-01', '2024-02-01', '2024-01-01', nan]
    """
    end = pd.Series(end_date).astype("datetime64[s]")
    death = pd.Series(date_of_death, index=end.index).astype("datetime64[s]")
    use_death = death.notna() & (end.isna() | (end > death))
    return end.mask(use_death, death)
