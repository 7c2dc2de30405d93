"""Derived fields (METHODOLOGY.md section 3): tables of normal, edge and erroneous cases."""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cldstats import derive

# ---------------------------------------------------------------------------------------------
# Exclusions: client type, person id source, start, end, end status -> expected reason
# ---------------------------------------------------------------------------------------------
EXCLUSION_CASES = [
    # client type, id source, start, end, end status, expected, why
    ("Service User", "NHS number", "2024-01-01", None, 0, None, "open event, usable"),
    ("Service User", "LA ID", "2024-01-01", "2024-01-01", 1, None, "one-day event, usable"),
    ("Carer", "NHS number via LA ID", "2024-01-01", "2024-02-01", 1, None, "carer rows are usable"),
    ("Carer known by association", "none", None, None, 0, "Carer known by association (no event)", "first reason wins"),
    ("Service User", "none", None, None, 0, "no person ID", "no ID beats blank start"),
    ("Service User", "ambiguous", "2024-01-01", None, 0, "ambiguous person ID", "ambiguous"),
    ("Service User", "NHS number", None, None, 0, "Event Start Date blank or invalid", "blank start"),
    ("Service User", "NHS number", "2024-01-01", None, 3, "Event End Date invalid", "invalid end"),
    ("Service User", "NHS number", "2024-01-01", None, 4, "Event End Date invalid", "ISO end"),
    ("Service User", "NHS number", "2024-01-01", None, 5, "Event End Date invalid", "Excel serial end"),
    ("Service User", "NHS number", "2024-01-02", "2024-01-01", 1, "Event End Date before Event Start Date", "reversed"),
    (None, "NHS number", "2024-01-01", None, 0, None, "blank client type is not a carer by association"),
    ("Service User", None, "2024-01-01", None, 0, None, "missing source is not an exclusion reason"),
]


def _exclusion_frames():
    rows = pd.DataFrame(EXCLUSION_CASES, columns=["client", "source", "start", "end", "end_status", "expected", "why"])
    records = pd.DataFrame({
        "Client_Type": pd.Categorical(rows["client"], categories=["Service User", "Carer", "Carer known by association"]),
        "person_id_source": pd.Categorical(rows["source"], categories=["NHS number", "NHS number via LA ID", "LA ID", "ambiguous", "none"]),
        "Event_Start_Date": pd.to_datetime(rows["start"]).astype("datetime64[s]"),
        "Event_End_Date": pd.to_datetime(rows["end"]).astype("datetime64[s]"),
    })
    status = pd.DataFrame({"Event_End_Date": rows["end_status"].astype(np.int8)})
    return rows, records, status


@pytest.mark.parametrize("case", range(len(EXCLUSION_CASES)))
def test_exclusion_reason(case):
    rows, records, status = _exclusion_frames()
    got = derive.exclusion_reasons(records, status).iloc[case]
    expected = rows["expected"].iloc[case]
    assert (pd.isna(got) and pd.isna(expected)) or got == expected, rows["why"].iloc[case]


def test_missing_person_id_is_no_person_id():
    _, records, status = _exclusion_frames()
    records["person_id"] = pd.array(["x"] * len(records), dtype="string")
    records.loc[[0, 5], "person_id"] = pd.NA  # usable row without an ID; an ambiguous row
    reasons = derive.exclusion_reasons(records, status)
    assert reasons.iloc[0] == "no person ID"
    assert reasons.iloc[5] == "ambiguous person ID"


def test_exclusion_reasons_dtype_and_without_status():
    _, records, status = _exclusion_frames()
    reasons = derive.exclusion_reasons(records)
    assert isinstance(reasons.dtype, pd.CategoricalDtype)
    assert list(reasons.cat.categories) == list(derive.EXCLUSION_REASONS)
    # without status an invalid end date cannot be told from a blank one: the row is usable
    assert pd.isna(reasons.iloc[7])
    assert reasons.index.equals(records.index)


# ---------------------------------------------------------------------------------------------
# Age at a date
# ---------------------------------------------------------------------------------------------
AGE_CASES = [
    # birth year, birth month, date, expected age, why
    (2000, 3, "2018-03-31", 18, "month of 18th birthday: counts from the first of the month"),
    (2000, 3, "2018-03-01", 17, "first day of birthday month: 6574 days / 365.25 = 17.9986 (the formula, not the calendar)"),
    (2006, 3, "2024-03-01", 18, "first day of birthday month, 6575 days: 18.0014"),
    (2000, 3, "2018-02-28", 17, "day before the birthday month"),
    (2000, 2, "2018-02-01", 18, "born February 2000 (leap year)"),
    (2004, 2, "2022-02-28", 18, "born in February of a leap year, 29 Feb not in the target year"),
    (1996, 2, "2024-02-29", 28, "the date is 29 February"),
    (1996, 3, "2024-02-29", 27, "29 February is the day before the birthday month"),
    (1950, 1, "2024-03-31", 74, "ordinary"),
    (2024, 3, "2024-03-31", 0, "born in the month of the date"),
    (2024, 4, "2024-03-31", None, "birth month after the date: unknown"),
    (1909, 3, "2024-03-31", 115, "115 is a known age"),
    (1908, 4, "2024-03-31", 115, "115.997: still 115"),
    (1908, 3, "2024-03-31", None, "116 is over 115: unknown"),
    (None, 3, "2024-03-31", None, "no birth year"),
    (2000, None, "2024-03-31", None, "no birth month"),
    (2000, 13, "2024-03-31", None, "impossible month"),
    (2000, 3, None, None, "no date"),
]


def test_age_at_table():
    frame = pd.DataFrame(AGE_CASES, columns=["year", "month", "at", "expected", "why"])
    got = derive.age_at(frame["year"].astype("Int16"), frame["month"].astype("Int8"),
                        pd.to_datetime(frame["at"]).astype("datetime64[s]"))
    assert str(got.dtype) == "Int16"
    for (_, case), value in zip(frame.iterrows(), got, strict=True):
        expected = case["expected"]
        if pd.isna(expected):
            assert pd.isna(value), case["why"]
        else:
            assert value == expected, case["why"]


def test_age_at_scalar_date():
    got = derive.age_at(pd.Series([2000, 2000], dtype="Int16"), pd.Series([3, 4], dtype="Int8"), pd.Timestamp("2018-03-31"))
    assert got.tolist() == [18, 17]


@pytest.mark.parametrize("age, group, band", [
    (18, "18 to 64", "18 to 24"), (24, "18 to 64", "18 to 24"), (25, "18 to 64", "25 to 44"),
    (44, "18 to 64", "25 to 44"), (45, "18 to 64", "45 to 64"), (64, "18 to 64", "45 to 64"),
    (65, "65 and above", "65 to 74"), (74, "65 and above", "65 to 74"), (75, "65 and above", "75 to 84"),
    (85, "65 and above", "85 to 94"), (94, "65 and above", "85 to 94"), (95, "65 and above", "95 and above"),
    (115, "65 and above", "95 and above"), (None, "Unknown", "Unknown"), (17, "Unknown", "Unknown"),
])
def test_age_group_and_band(age, group, band):
    ages = pd.Series([age], dtype="Int16")
    assert list(derive.age_group(ages)) == [group]
    assert list(derive.age_band(ages)) == [band]


def test_band_categories_in_published_order():
    cats = list(derive.age_band(pd.Series([], dtype="Int16")).categories)
    assert cats[0] == "18 to 24" and cats[-2:] == ["95 and above", "Unknown"] and len(cats) == 8
    assert list(derive.age_group(pd.Series([], dtype="Int16")).categories) == ["18 to 64", "65 and above", "Unknown"]


# ---------------------------------------------------------------------------------------------
# Ethnicity, gender
# ---------------------------------------------------------------------------------------------
ETHNICITY_CASES = [
    # value, group, subgroup, known
    ("White - English, Welsh, Scottish, Northern Irish or British", "White", "White: English, Welsh, Scottish, Northern Irish or British", True),
    ("Black, Black British, Caribbean or African - Any other Black, Black British or Caribbean background",
     "Black, Black British, Caribbean or African",
     "Black, Black British, Caribbean or African: Any other Black, Black British or Caribbean background", True),
    ("No data - Refused", "No data", "No data: Refused", True),
    ("No data - Undeclared or Not known", "No data", "No data: Undeclared or Not known", False),
    (None, "No data", "No data: Undeclared or Not known", False),
]


@pytest.mark.parametrize("value, group, subgroup, known", ETHNICITY_CASES)
def test_ethnicity(value, group, subgroup, known):
    values = pd.Series([value], dtype="string")
    assert list(derive.ethnicity_group_label(values)) == [group]
    assert list(derive.ethnicity_subgroup_label(values)) == [subgroup]
    assert derive.ethnicity_known(values).tolist() == [known]


def test_ethnicity_categories_complete():
    assert len(derive.ethnicity_subgroup_label(pd.Series([], dtype="string")).categories) == 21
    assert len(derive.ethnicity_group_label(pd.Series([], dtype="string")).categories) == 6


@pytest.mark.parametrize("value, label, known", [
    ("Female", "Female", True), ("Male", "Male", True), ("Other", "Other", True),
    ("Unknown", "Unknown", False), (None, "Unknown", False),
])
def test_gender(value, label, known):
    values = pd.Series(pd.Categorical([value], categories=["Male", "Female", "Other", "Unknown"]))
    assert list(derive.gender_label(values)) == [label]
    assert derive.gender_known(values).tolist() == [known]


# ---------------------------------------------------------------------------------------------
# Setting, rank, death-adjusted end
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("service_type, setting, rank", [
    ("Long Term Support: Nursing Care", "Nursing care", 1),
    ("Long Term Support: Residential Care", "Residential care", 2),
    ("Long Term Support: Community", "Community", 3),
    ("Long Term Support: Prison", "Prison", 4),
    ("Short Term Support: ST-Max", None, 0),
    ("Carer Support: Direct to Carer", None, 0),
    (None, None, 0),
])
def test_setting_and_rank(service_type, setting, rank):
    values = pd.Series([service_type], dtype="string")
    got = derive.support_setting(values)[0]
    assert (pd.isna(got) and setting is None) or got == setting
    assert derive.setting_rank(values).tolist() == [rank]


DEATH_CASES = [
    # end, death, adjusted, why
    ("2024-03-31", None, "2024-03-31", "no death"),
    (None, None, None, "open, alive: stays open"),
    (None, "2024-02-01", "2024-02-01", "open, died: ends at death"),
    ("2024-03-31", "2024-02-01", "2024-02-01", "end after death: ends at death"),
    ("2024-01-01", "2024-02-01", "2024-01-01", "end before death: unchanged"),
    ("2024-02-01", "2024-02-01", "2024-02-01", "end on the day of death"),
    ("9999-12-31", "2024-02-01", "2024-02-01", "placeholder end date"),
]


def test_death_adjusted_end():
    frame = pd.DataFrame(DEATH_CASES, columns=["end", "death", "adjusted", "why"])
    got = derive.death_adjusted_end(pd.to_datetime(frame["end"]).astype("datetime64[s]"),
                                    pd.to_datetime(frame["death"]).astype("datetime64[s]"))
    assert str(got.dtype) == "datetime64[s]"
    expected = pd.to_datetime(frame["adjusted"]).astype("datetime64[s]")
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_day_numbers():
    dates = pd.Series(pd.to_datetime(["1970-01-01", "9999-12-31", None])).astype("datetime64[s]")
    assert derive.day_numbers(dates, missing=derive.OPEN_END).tolist() == [0, 2932896, derive.OPEN_END]
    with pytest.raises(ValueError):
        derive.day_numbers(dates)
