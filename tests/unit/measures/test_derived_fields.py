"""Field definitions (docs/methodology.md section 3) through the SQL the publication runs.

Each table holds normal, edge and erroneous cases, one row per case with the reason; the cases go
through the method's own SQL files (``person_ids.sql``, ``derived_fields.sql``, ``breakdowns.sql``)
on DuckDB with the reference data and params bound as in a release, so a change to a definition
in the SQL changes what these tests see.
"""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cldstats.measures import engine
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params

PARAMS = load_params("2024-03", today=dt.date(2024, 6, 1))
LA = "E06000001"

#: Every column of the rows person_ids.sql and derived_fields.sql read, with a usable default.
ROW_DEFAULTS = {
    "la_code": LA, "row_number": 2, "nhs_number_key": 1, "la_person_key": 2, "birth_year": 1950, "birth_month": 6,
    "Client_Type": "Service user", "Event_Type": "Service", "Service_Type": "Long term support: Community",
    "Assessment_Type_submitted": None, "Gender": "Female", "Ethnicity": "White: Irish",
    "Event_Start_Date": "2024-01-01", "Event_End_Date": None, "Event_End_Date_status": 0, "Date_of_Death": None,
}
DATE_COLUMNS = ("Event_Start_Date", "Event_End_Date", "Date_of_Death")


@pytest.fixture(scope="module")
def con():
    connection = engine.connect(threads=1)
    engine.bind_reference(connection, PARAMS, release_month_ends("2024-03"))
    for step in ("age", "attribute_choice", "breakdowns"):
        engine.run_step(connection, step)
    yield connection
    connection.close()


def _rows(cases: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{**ROW_DEFAULTS, "row_number": i + 2, **case} for i, case in enumerate(cases)])
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in ("nhs_number_key", "la_person_key"):
        frame[column] = frame[column].astype("Int64")
    frame["birth_year"] = frame["birth_year"].astype("Int16")
    frame["birth_month"] = frame["birth_month"].astype("Int8")
    frame["Event_End_Date_status"] = frame["Event_End_Date_status"].astype("int8")
    for column in ("Client_Type", "Event_Type", "Service_Type", "Assessment_Type_submitted", "Gender", "Ethnicity"):
        frame[column] = frame[column].astype("string")
    return frame


def derived(con, cases: list[dict]) -> pd.DataFrame:
    """The cases through person_ids.sql and derived_fields.sql, in case order."""
    con.register("_cases", _rows(cases))
    # Typed exactly as the store's records are read (engine._EMPTY_RECORDS), dates as DATE.
    con.execute(f"CREATE OR REPLACE TEMP TABLE submitted_rows AS {engine._EMPTY_RECORDS}")
    con.execute("INSERT INTO submitted_rows BY NAME SELECT * FROM _cases")
    con.unregister("_cases")
    engine.run_step(con, "person_ids")
    engine.run_step(con, "derived_fields")
    return con.execute("SELECT * FROM derived_rows ORDER BY row_number").df()


# ---------------------------------------------------------------------------------------------
# Person ID precedence (person_ids.sql)
# ---------------------------------------------------------------------------------------------
PERSON_ID_CASES = [
    # NHS key, LA key, expected ID, expected source, why
    (11, 101, 11, "NHS number", "rule 1: a valid NHS number is the ID"),
    (None, 101, 11, "NHS number via LA ID", "rule 2: the LA ID's one NHS number (row above)"),
    (12, None, 12, "NHS number", "rule 1 without an LA ID"),
    (21, 201, 21, "NHS number", "two NHS numbers with LA ID 201 ..."),
    (22, 201, 22, "NHS number", "... (the second)"),
    (None, 201, None, "ambiguous", "rule 2: two NHS numbers for the LA ID: ambiguous, no ID"),
    (None, 301, 301, "LA ID", "rule 3: LA ID never seen with an NHS number"),
    (None, None, None, "none", "rule 4: neither"),
]


def test_person_id_precedence(con):
    cases = [{"nhs_number_key": nhs, "la_person_key": la} for nhs, la, *_ in PERSON_ID_CASES]
    got = derived(con, cases)
    person_rows = con.execute("SELECT person_id, person_id_source FROM person_rows ORDER BY row_number").df()
    for (_, _, person_id, source, why), (_, row) in zip(PERSON_ID_CASES, person_rows.iterrows(), strict=True):
        assert row["person_id_source"] == source, why
        assert (pd.isna(row["person_id"]) and person_id is None) or row["person_id"] == person_id, why
    assert got["exclusion_reason"].iloc[5] == "ambiguous person ID"
    assert got["exclusion_reason"].iloc[7] == "no person ID"


def test_person_id_linking_stays_in_its_council(con):
    """An LA ID is linked to NHS numbers of the same council's file only."""
    got = derived(con, [
        {"la_code": "E06000001", "nhs_number_key": 11, "la_person_key": 101},
        {"la_code": "E06000002", "nhs_number_key": None, "la_person_key": 101},
    ])
    assert got["person_id"].tolist() == [11, 101]


# ---------------------------------------------------------------------------------------------
# Exclusions (derived_fields.sql)
# ---------------------------------------------------------------------------------------------
EXCLUSION_CASES = [
    # row fields, expected reason, why
    ({}, None, "open event, usable"),
    ({"Event_End_Date": "2024-01-01", "Event_End_Date_status": 1}, None, "one-day event, usable"),
    ({"Client_Type": "Unpaid carer", "Event_End_Date": "2024-02-01", "Event_End_Date_status": 1}, None, "carer rows are usable"),
    ({"Client_Type": "Unpaid carer known by association", "nhs_number_key": None, "la_person_key": None, "Event_Start_Date": None}, "Unpaid carer known by association (no event)", "first reason wins"),
    ({"nhs_number_key": None, "la_person_key": None, "Event_Start_Date": None}, "no person ID", "no ID beats blank start"),
    ({"Event_Start_Date": None}, "Event Start Date blank or invalid", "blank start"),
    ({"Event_End_Date_status": 3}, "Event End Date invalid", "invalid end"),
    ({"Event_End_Date_status": 4}, "Event End Date invalid", "ISO end"),
    ({"Event_End_Date_status": 5}, "Event End Date invalid", "Excel serial end"),
    ({"Event_Start_Date": "2024-01-02", "Event_End_Date": "2024-01-01", "Event_End_Date_status": 1}, "Event End Date before Event Start Date", "reversed"),
    ({"Client_Type": None}, None, "blank client type is not a carer by association"),
]


def test_exclusion_reasons(con):
    # Distinct person keys per case, so no case links to another's NHS number.
    cases = [{"nhs_number_key": 1000 + i, "la_person_key": 2000 + i, **fields}
             if "nhs_number_key" not in fields else fields for i, (fields, _, _) in enumerate(EXCLUSION_CASES)]
    got = derived(con, cases)["exclusion_reason"]
    for (_, expected, why), reason in zip(EXCLUSION_CASES, got, strict=True):
        assert (pd.isna(reason) and expected is None) or reason == expected, why


def test_row_accounting_counts_what_the_sql_read(con):
    derived(con, [fields for fields, _, _ in EXCLUSION_CASES])
    engine.run_step(con, "row_reasons")
    con.execute("CREATE OR REPLACE TEMP TABLE selected_row_reasons AS SELECT * FROM row_reasons")
    con.execute("CREATE OR REPLACE TEMP TABLE selection AS SELECT 'E06000001' AS la_code, 'f.csv' AS file, TRUE AS selected")
    engine.run_step(con, "row_accounting")
    accounting = con.execute("SELECT * FROM row_accounting").df().iloc[0]
    excluded = sum(1 for _, expected, _ in EXCLUSION_CASES if expected is not None)
    assert (accounting["rows_used"], accounting["rows_excluded"]) == (len(EXCLUSION_CASES) - excluded, excluded)


# ---------------------------------------------------------------------------------------------
# Age at a date (age_at in derived_fields.sql), groups and bands (breakdowns.sql)
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
    (1908, 3, "2024-03-31", None, "116 is over the maximum age 115: unknown"),
    (None, 3, "2024-03-31", None, "no birth year"),
    (2000, None, "2024-03-31", None, "no birth month"),
    (2000, 13, "2024-03-31", None, "impossible month"),
    (2000, 3, None, None, "no date"),
]


def test_age_at(con):
    derived(con, [{"birth_year": y, "birth_month": m, "nhs_number_key": 10 + i} for i, (y, m, *_) in enumerate(AGE_CASES)])
    dates = pd.DataFrame({"row_number": range(2, len(AGE_CASES) + 2),
                          "at_date": pd.to_datetime([c[2] for c in AGE_CASES]).date})
    con.register("_dates", dates)
    got = con.execute(
        "SELECT age_at(d.birth_month_start, CAST(t.at_date AS DATE)) AS age FROM derived_rows d "
        "JOIN _dates t USING (row_number) ORDER BY row_number"
    ).df()["age"]
    con.unregister("_dates")
    for (_, _, _, expected, why), age in zip(AGE_CASES, got, strict=True):
        assert (pd.isna(age) and expected is None) or age == expected, why


def test_age_at_reads_the_maximum_age_from_params(con):
    """The maximum age is a parameter: bound at 100, a 101-year-old is unknown."""
    other = engine.connect(threads=1)
    params = {**PARAMS, "method": {**PARAMS["method"], "max_age": 100}}
    engine.bind_reference(other, params, release_month_ends("2024-03"))
    engine.run_step(other, "age")
    assert other.execute("SELECT age_at(DATE '1923-01-01', DATE '2024-03-31')").fetchone()[0] is None
    assert other.execute("SELECT age_at(DATE '1924-01-01', DATE '2024-03-31')").fetchone()[0] == 100
    other.close()


BREAKDOWN_CASES = [
    # age, gender, ethnicity, expected (age group, age band, gender, ethnicity group, ethnicity), why
    (18, "Female", "White: Irish", ("18 to 64", "18 to 24", "Female", "White", "White: Irish"), "youngest adult"),
    (24, "Male", "No data: Refused", ("18 to 64", "18 to 24", "Male", "No data", "No data: Refused"), "top of a band; Refused is published as itself"),
    (25, "Other", "Asian or Asian British: Indian", ("18 to 64", "25 to 44", "Other", "Asian or Asian British", "Asian or Asian British: Indian"), "bottom of a band"),
    (64, "Female", "White: Irish", ("18 to 64", "45 to 64", "Female", "White", "White: Irish"), "last working age"),
    (65, "Female", "White: Irish", ("65 and above", "65 to 74", "Female", "White", "White: Irish"), "first older age"),
    (94, "Female", "White: Irish", ("65 and above", "85 to 94", "Female", "White", "White: Irish"), ""),
    (95, "Female", "White: Irish", ("65 and above", "95 and above", "Female", "White", "White: Irish"), "open top band"),
    (115, "Female", "White: Irish", ("65 and above", "95 and above", "Female", "White", "White: Irish"), "maximum age"),
    (None, None, None, ("Unknown", "Unknown", "Unknown", "No data", "No data: Undeclared or not known"), "everything unknown"),
    (40, "Unknown", "No data: Undeclared or not known", ("18 to 64", "25 to 44", "Unknown", "No data", "No data: Undeclared or not known"), "the code lists' own unknowns"),
    (17, "Female", "White: Irish", ("Unknown", "Unknown", "Female", "White", "White: Irish"), "a child has no adult band (the measures drop children first)"),
]


@pytest.mark.parametrize("case", range(len(BREAKDOWN_CASES)))
def test_breakdown_labels(con, case):
    age, gender, ethnicity, expected, why = BREAKDOWN_CASES[case]
    people = pd.DataFrame({"la_code": [LA], "period_end": [dt.date(2024, 3, 31)], "support_setting": ["Community"],
                           "age": pd.array([age], dtype="Int32"), "gender": [gender], "ethnicity": [ethnicity]})
    con.register("_people", people)
    con.execute("CREATE OR REPLACE TEMP TABLE case_people AS SELECT la_code, period_end, support_setting, age, "
                "CAST(gender AS gender_value) AS gender, CAST(ethnicity AS ethnicity_value) AS ethnicity FROM _people")
    con.unregister("_people")
    got = con.execute("SELECT breakdown, breakdown_value, value FROM breakdown_counts('case_people') "
                      "WHERE support_setting = 'Community'").df()
    labels = dict(zip(got["breakdown"], got["breakdown_value"], strict=True))
    assert set(got["value"]) == {1}, why
    assert (labels["Age group"], labels["Age band"], labels["Gender"], labels["Ethnicity group"],
            labels["Ethnicity"]) == expected, why
    assert labels["All"] == "All"


@pytest.mark.parametrize("value, known", [
    ("Female", True), ("Male", True), ("Other", True), ("Unknown", False), (None, False),
])
def test_gender_known(con, value, known):
    assert bool(derived(con, [{"Gender": value}])["gender_known"].iloc[0]) is known


@pytest.mark.parametrize("value, known", [
    ("White: English, Welsh, Scottish, Northern Irish or British", True),
    ("No data: Refused", True),
    ("No data: Undeclared or not known", False),
    (None, False),
])
def test_ethnicity_known(con, value, known):
    assert bool(derived(con, [{"Ethnicity": value}])["ethnicity_known"].iloc[0]) is known


# ---------------------------------------------------------------------------------------------
# Setting, rank, death-adjusted end, financial assessments (derived_fields.sql)
# ---------------------------------------------------------------------------------------------
SETTING_CASES = [
    ("Long term support: Nursing care", "Nursing care", 1),
    ("Long term support: Residential care", "Residential care", 2),
    ("Long term support: Community", "Community", 3),
    ("Long term support: Prison", "Prison", 4),
    ("Short term support: ST-Max", None, None),
    ("Unpaid carer support: Direct to unpaid carer", None, None),
    (None, None, None),
]


def test_setting_and_rank(con):
    got = derived(con, [{"Service_Type": service} for service, _, _ in SETTING_CASES])
    for (service, setting, rank), (_, row) in zip(SETTING_CASES, got.iterrows(), strict=True):
        assert (pd.isna(row["support_setting"]) and setting is None) or row["support_setting"] == setting, service
        assert (pd.isna(row["setting_rank"]) and rank is None) or row["setting_rank"] == rank, service


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


def test_death_adjusted_end(con):
    got = derived(con, [{"Event_End_Date": end, "Date_of_Death": death, "Event_End_Date_status": 1 if end else 0}
                        for end, death, _, _ in DEATH_CASES])["adjusted_end"]
    for (_, _, adjusted, why), value in zip(DEATH_CASES, got, strict=True):
        expected = None if adjusted is None else dt.date.fromisoformat(adjusted)
        assert (pd.isna(value) and expected is None) or pd.Timestamp(value).date() == expected, why


FINANCIAL_CASES = [
    # submitted Assessment Type, is a financial assessment, why
    ("Financial Assessment", True, "the bare value DHSC's code tests for, outside the assumed code list"),
    ("Financial Assessment - Full", True, "a listed financial assessment"),
    ("  financial assessment - light touch  ", True, "trimmed and in any case"),
    ("FINANCIAL ASSESSMENT - a kind not in the code list", True, "any value beginning so, listed or not"),
    ("Long term assessment", False, "not financial"),
    ("Assessment - Financial", False, "financial later in the value does not count"),
    (None, False, "blank: does not begin Financial Assessment"),
]


def test_financial_assessments_by_submitted_value(con):
    got = derived(con, [{"Event_Type": "Assessment", "Service_Type": None, "Assessment_Type_submitted": value}
                        for value, _, _ in FINANCIAL_CASES])["is_financial_assessment"]
    for (value, expected, why), flag in zip(FINANCIAL_CASES, got, strict=True):
        assert bool(flag) is expected, f"{value!r}: {why}"
