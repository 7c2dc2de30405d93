"""Acceptance test of the method (docs/methodology.md sections 2 to 7) on a hand-built fixture.

The fixture's records are written as the submission store writes them and go through the same SQL
the publication runs (:func:`cldstats.measures.engine.run_method`): selection, person IDs, derived
fields, both measures and the row accounting.

About 30 people in three councils of the North East region (12 councils):

* A = E06000001 Hartlepool: two files; the later one (A2) is selected, A1 is superseded.
* B = E06000002 Middlesbrough: one file whose reporting period starts 1 October 2023, so month ends
  before 31 October 2023 are ``[x]`` for B.
* C = E06000003 Redcar and Cleveland: only a rejected file, so no data: ``[x]`` everywhere.

Reference month 2024-03: month ends 30/04/2023 ... 31/03/2024, cut-off 31/05/2024.
D1 = 29/02/2024, D2 = 31/03/2024. Every expected number below was worked out by hand; each
person's comment says why they count (or not). Ages use floor(days since the first of the birth
month / 365.25).
"""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cldstats import disclosure
from cldstats.measures import areas, engine
from cldstats.pipeline.store import records_table
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params
from cldstats.reference.spec import load_spec

A, B, C = "E06000001", "E06000002", "E06000003"
NORTH_EAST, ENGLAND = "E12000001", "E92000001"
MONTH_ENDS = release_month_ends("2024-03")
DATES = [d.isoformat() for d in MONTH_ENDS]
MONTHS = [d.strftime("%Y-%m") for d in MONTH_ENDS] + ["Total"]
D1, D2, JAN, APR23, SEP23 = "2024-02-29", "2024-03-31", "2024-01-31", "2023-04-30", "2023-09-30"

COM, RES, NUR, PRI = ("Long term support: Community", "Long term support: Residential care",
                      "Long term support: Nursing care", "Long term support: Prison")
WE = "White: English, Welsh, Scottish, Northern Irish or British"
IRISH = "White: Irish"


def row(pid, *, source="NHS number", client="Service user", event="Service", service=COM, start="2023-01-01",
        end=None, death=None, gender="Female", eth=WE, birth=(1950, 6), atype=None, end_status=None):
    """One record (Contract 1 names); ``end_status`` overrides the Event_End_Date status."""
    return {
        "person_id": pid, "person_id_source": source, "Client_Type": client, "Event_Type": event,
        "Service_Type": service if event == "Service" else None, "Assessment_Type": atype,
        "Event_Start_Date": start, "Event_End_Date": end, "Date_of_Death": death, "Gender": gender,
        "Ethnicity": eth, "birth_year": birth[0] if birth else None, "birth_month": birth[1] if birth else None,
        "_end_status": end_status if end_status is not None else (0 if end is None else 1),
    }


def assessment(pid, start, end, *, atype="Long term assessment", **kw):
    return row(pid, event="Assessment", atype=atype, start=start, end=end, **kw)


# --------------------------------------------------------------------------------------------
# Council A, file A2 (selected)
# --------------------------------------------------------------------------------------------
A2_ROWS = [
    # P01 community, open: counts at every month end. F, White: Irish, born 06/1950 -> 73 (65 to 74).
    row("P01", eth=IRISH),
    # P02 two settings at once: community since 01/2023 and nursing from 06/2023: nursing wins
    # from 30/06/2023 (community before). M, WE, born 01/1940 -> 84 at D1 and D2 (75 to 84).
    row("P02", service=COM, gender="Male", birth=(1940, 1)),
    row("P02", service=NUR, start="2023-06-01", gender="Male", birth=(1940, 1)),
    # P03 residential and community at once: residential. F, Mixed: White and Asian, 05/1980 -> 43.
    row("P03", service=RES, eth="Mixed or multiple ethnic groups: White and Asian", birth=(1980, 5)),
    row("P03", service=COM, eth="Mixed or multiple ethnic groups: White and Asian", birth=(1980, 5)),
    # P04 died ON D1 (open service): counts at D1, not at D2. M, 03/1945 -> 78 at D1 (75 to 84).
    row("P04", death="2024-02-29", gender="Male", birth=(1945, 3)),
    # P05 died BEFORE D1 (10/02/2024): counts at 31/01/2024, not at D1 or D2.
    row("P05", death="2024-02-10", gender="Male", birth=(1945, 3)),
    # P06 known only by LA ID: counts. Other, Asian: Indian, 01/1990 -> 34 (25 to 44).
    row("P06", source="LA ID", gender="Other", eth="Asian or Asian British: Indian", birth=(1990, 1)),
    # P07 NHS number on one row, blank on the other (ID via LA ID): the same person, counted once.
    # Residential until 15/03/2024 beats community at D1; community only at D2.
    # F, White: Any other White background, 07/1960 -> 63 (45 to 64).
    row("P07", start="2023-02-01", eth="White: Any other White background", birth=(1960, 7)),
    row("P07", source="NHS number via LA ID", service=RES, start="2023-03-01", end="2024-03-15",
        eth="White: Any other White background", birth=(1960, 7)),
    # P08 no person ID: excluded ("no person ID").
    row(None, source="none"),
    # P09 invalid end date (status 3): excluded; the person counts nowhere.
    row("P09", end_status=3),
    # P10 end before start: excluded.
    row("P10", start="2024-01-10", end="2024-01-05"),
    # P11 under 18 (born 01/2008 -> 16): not counted.
    row("P11", birth=(2008, 1)),
    # P12 unknown birth: counted with age Unknown. M, WE.
    row("P12", gender="Male", birth=None),
    # P13 born 01/1908 -> 116 at D1/D2, over 115: age Unknown. F, WE.
    row("P13", birth=(1908, 1)),
    # P14 known beats unknown: the later row has gender Unknown -> Male from the earlier row;
    # ethnicity "No data: Refused" is known and beats a blank. 03/1955 -> 68 at D1, 69 at D2.
    row("P14", start="2023-01-01", gender="Unknown", eth="No data: Refused", birth=(1955, 3)),
    row("P14", start="2022-01-01", gender="Male", eth=None, birth=(1955, 3)),
    # P15 latest start wins: from 01/06/2023 the later row (M, Black: African, 01/1970 -> 54, 45 to 64).
    # At 30/04/2023 only the first row qualifies (F, White: Irish, 01/1950 -> 73).
    row("P15", start="2023-01-01", gender="Female", eth=IRISH, birth=(1950, 1)),
    row("P15", start="2023-06-01", gender="Male", eth="Black, Black British, Caribbean or African: African",
        birth=(1970, 1)),
    # P16 remaining tie (same start): genders F/M -> Unknown; births 1960/1961 -> age Unknown;
    # ethnicity agrees -> White: Roma.
    row("P16", gender="Female", eth="White: Roma", birth=(1960, 1)),
    row("P16", gender="Male", eth="White: Roma", birth=(1961, 1)),
    # P17 nursing (gender Unknown) beats community (Female): attributes come from the nursing row
    # only -> gender Unknown; ethnicity blank -> No data: Undeclared; 05/1930 -> 93 (85 to 94).
    row("P17", service=NUR, gender="Unknown", eth=None, birth=(1930, 5)),
    row("P17", service=COM, gender="Female", eth=IRISH, birth=(1930, 5)),
    # P18 prison. M, Other: Arab, 01/1985 -> 39 (25 to 44).
    row("P18", service=PRI, gender="Male", eth="Other ethnic group: Arab", birth=(1985, 1)),
    # P19 carer known by association: excluded (no event).
    row("P19", client="Unpaid carer known by association", event="Service", service=None, start=None),
    # P20 community ending 15/03/2024: D1 yes, D2 no. M, WE, 01/1975 -> 49 (45 to 64).
    row("P20", end="2024-03-15", gender="Male", birth=(1975, 1)),
    # P21 community starting 01/03/2024: D2 only. F, White: Gypsy or Irish Traveller, 12/1999 -> 24.
    row("P21", start="2024-03-01", eth="White: Gypsy or Irish Traveller", birth=(1999, 12)),
    # P22 short-term service: not long-term support.
    row("P22", service="Short term support: ST-Max"),
    # P23 a Carer (not Service user) with a long-term service type: not counted.
    row("P23", client="Unpaid carer"),
    # P24 end date 30/06/2024 after death on D2: adjusted end = D2, so counts at D1 and D2.
    # F, WE, 01/1935 -> 89 (85 to 94).
    row("P24", end="2024-06-30", death="2024-03-31", birth=(1935, 1)),
    # P25 ambiguous ID: excluded.
    row(None, source="ambiguous"),
    # ---- assessments (council A) ----
    # P50 long-term assessment ending 10/03/2024, no support ever: March. F, Asian: Pakistani, 01/1980 -> 44.
    assessment("P50", "2024-03-01", "2024-03-10", eth="Asian or Asian British: Pakistani", birth=(1980, 1)),
    # P20 assessed 20/03/2024 after community support ending 15/03/2024: had support, not counted.
    assessment("P20", "2024-03-20", "2024-03-25", gender="Male", birth=(1975, 1)),
    # P51 support ended 31/12/2022, before (start 05/03/2024 - 365 days = 06/03/2023): March.
    # M, WE, 01/1950 -> 74 at 12/03/2024 (65 to 74).
    row("P51", start="2022-01-01", end="2022-12-31", gender="Male", birth=(1950, 1)),
    assessment("P51", "2024-03-05", "2024-03-12", gender="Male", birth=(1950, 1)),
    # P52 financial assessment only: not counted.
    assessment("P52", "2024-03-01", "2024-03-10", atype="Financial Assessment - Full"),
    # P59, P61 financial assessments by their submitted value, outside the code list (the bare
    # value DHSC's code tests for; another spelling, padded): not counted either.
    assessment("P59", "2024-03-01", "2024-03-10", atype="Financial Assessment"),
    assessment("P61", "2024-03-01", "2024-03-10", atype="  financial assessment - deferred payment "),
    # P53 assessed twice in March: counted once, attributes from the latest (ends 20/03: Male).
    # White: Irish, 06/1990 -> 33 (25 to 44).
    assessment("P53", "2024-03-01", "2024-03-05", gender="Female", eth=IRISH, birth=(1990, 6)),
    assessment("P53", "2024-03-10", "2024-03-20", atype="Short term assessment", gender="Male", eth=IRISH,
               birth=(1990, 6)),
    # P54 under 18 at the assessment end (01/2007 -> 17): dropped.
    assessment("P54", "2024-03-01", "2024-03-10", birth=(2007, 1)),
    # P55 support that starts after the assessment's start is not "previous": March assessment counts.
    # Also long-term support at D2 (community from 15/03/2024). F, White: Irish, 01/1960 -> 64.
    assessment("P55", "2024-03-01", "2024-03-08", eth=IRISH, birth=(1960, 1)),
    row("P55", start="2024-03-15", eth=IRISH, birth=(1960, 1)),
    # P56 assessed in February and again in March: once in each month, twice in Total.
    # M, WE, 05/1970 -> 53 (45 to 64).
    assessment("P56", "2024-02-01", "2024-02-20", gender="Male", birth=(1970, 5)),
    assessment("P56", "2024-03-02", "2024-03-03", gender="Male", birth=(1970, 5)),
    # P57 support ending exactly on (start 10/03/2024 - 365 days) = 11/03/2023: had support, not counted.
    row("P57", start="2022-01-01", end="2023-03-11"),
    assessment("P57", "2024-03-10", "2024-03-15"),
    # An assessment with no end date is in no month.
    assessment("P58", "2024-03-10", None),
]

# A1 (superseded by A2): nothing of it counts.
A1_ROWS = [row("P30"), assessment("P31", "2024-03-01", "2024-03-02")]

# B: period from 01/10/2023. P01 is supported by B too: counts in both councils (and twice in
# England). P40 residential, M, WE, 01/1945 -> 79 (75 to 84). P60 assessed in March with every
# attribute unknown.
B_ROWS = [
    row("P01", eth=IRISH),
    row("P40", service=RES, gender="Male", birth=(1945, 1)),
    assessment("P60", "2024-03-01", "2024-03-11", gender=None, eth=None, birth=None),
]

C_ROWS = [row("P70")]  # in a rejected file: C has no data


def _key(text):
    """A stand-in for ingest's 64-bit keyed hash of an identifier (any one-to-one map will do)."""
    return None if text is None else int.from_bytes(text.encode()[:7].ljust(7, b"_"), "big")


def person_keys(pid, source):
    """The (NHS number key, LA person key) ingest would give a row whose person ID rule is ``source``.

    Rows with an NHS number also carry an LA person ID ``LA-<pid>``, so a row of the same person
    with only the LA ID is linked to the NHS number (rule 2); an ``ambiguous`` row's LA ID is shared
    by two NHS numbers (the two Request rows of :data:`AMBIGUOUS_LINKS`).
    """
    if source == "NHS number":
        return _key(pid), _key(f"LA-{pid}")
    if source == "NHS number via LA ID":
        return None, _key(f"LA-{pid}")
    if source == "LA ID":
        return None, _key(pid)
    if source == "ambiguous":
        return None, _key("LA-AMB")
    return None, None


#: Two NHS numbers seen with one LA person ID, which makes the ``ambiguous`` row ambiguous.
AMBIGUOUS_LINKS = [
    {**row("AMB1", event="Request", service=None), "_la": "LA-AMB"},
    {**row("AMB2", event="Request", service=None), "_la": "LA-AMB"},
]


def build_records(rows, period_start="2023-04-01"):
    """Records and status (Contract 1 names, as the store keeps them) from the row dicts."""
    spec = load_spec().by_name
    frame = pd.DataFrame(rows)
    records = pd.DataFrame({"row_number": np.arange(2, len(frame) + 2, dtype=np.int32)})
    keys = [person_keys(pid, source) for pid, source in zip(frame["person_id"], frame["person_id_source"],
                                                             strict=True)]
    if "_la" in frame:
        keys = [(nhs, _key(la) if isinstance(la, str) else own) for (nhs, own), la in zip(keys, frame["_la"],
                                                                                         strict=True)]
    records["nhs_number_key"] = pd.array([k[0] for k in keys], dtype="Int64")
    records["la_person_key"] = pd.array([k[1] for k in keys], dtype="Int64")
    records["birth_year"] = frame["birth_year"].astype("Int16")
    records["birth_month"] = frame["birth_month"].astype("Int8")
    for name in ("Client_Type", "Event_Type", "Service_Type", "Assessment_Type", "Gender", "Ethnicity"):
        # As ingest types it: a value outside the code list is invalid, missing in the typed column.
        codes = list(spec[name].code_list)
        records[name] = pd.Categorical(frame[name].where(frame[name].isin(codes)), categories=codes)
    for name in ("Event_Start_Date", "Event_End_Date", "Date_of_Death"):
        records[name] = pd.to_datetime(frame[name]).astype("datetime64[s]")
    records["Assessment_Type_submitted"] = frame["Assessment_Type"].astype("string")
    records["Reporting_Period_Start_Date"] = pd.Timestamp(period_start).to_datetime64().astype("datetime64[s]")
    status = pd.DataFrame({"Event_End_Date": frame["_end_status"].astype(np.int8)})
    return records, status


CATALOGUE = pd.DataFrame({
    "la_code": [A, A, B, C],
    "file": ["A1", "A2", "B1", "C1"],
    "submitted_at": pd.to_datetime(["2024-04-05 10:00", "2024-05-20 09:30", "2024-04-10 12:00", "2024-04-11 12:00"]),
    "period_start": pd.to_datetime(["2023-04-01", "2023-04-01", "2023-10-01", "2023-04-01"]),
    "period_end": pd.to_datetime(["2024-03-31"] * 4),
    "outcome": ["accepted", "accepted with warnings", "accepted", "rejected: no_rows"],
})
FILE_ROWS = {"A1": A1_ROWS, "A2": A2_ROWS + AMBIGUOUS_LINKS, "B1": B_ROWS, "C1": C_ROWS}
PARAMS = load_params("2024-03", today=dt.date(2024, 6, 1))


def run_on(tmp_path, file_rows, catalogue=CATALOGUE):
    """Write each file's records as the store does and run the method's SQL over them."""
    paths, derived = [], []
    for entry in catalogue.itertuples():
        records, status = build_records(file_rows[entry.file], entry.period_start.date().isoformat())
        path = tmp_path / f"{entry.file}.parquet"
        pq.write_table(records_table(records, status, entry.la_code), path)
        paths.append(str(path))
        derived.append(str(tmp_path / f"{entry.file}.derived"))
    return engine.run_method(catalogue.assign(records_path=paths, derived_dir=derived), PARAMS, MONTH_ENDS)


@pytest.fixture(scope="module")
def method(tmp_path_factory):
    return run_on(tmp_path_factory.mktemp("store"), FILE_ROWS)


@pytest.fixture(scope="module")
def lts_council(method):
    return method.long_term_support


@pytest.fixture(scope="module")
def lts_area(lts_council):
    return areas.area_table(lts_council, DATES)


@pytest.fixture(scope="module")
def lts_published(lts_area):
    return disclosure.published_long_term_support(lts_area)


@pytest.fixture(scope="module")
def assessed_area(method):
    return areas.area_table(method.people_assessed, MONTHS)


@pytest.fixture(scope="module")
def assessed_published(assessed_area):
    return disclosure.published_assessments(assessed_area)


@pytest.fixture(scope="module")
def rates(lts_area):
    return areas.rates_unrounded(lts_area)


def cells(frame, period, area, setting=None):
    """{(breakdown, value): value} of one area, period (and setting)."""
    period_col = "reference_date" if "reference_date" in frame else "reference_month"
    pick = frame[(frame[period_col] == period) & (frame["area_code"] == area)]
    if setting is not None:
        pick = pick[pick["support_setting"] == setting]
    return {(b, v): x for b, v, x in zip(pick["breakdown"], pick["breakdown_value"], pick["value"], strict=True)}


def nonzero(d):
    return {k: v for k, v in d.items() if not pd.isna(v) and v != 0}


def test_selection_uses_latest_file(method):
    selected = method.selection[method.selection["selected"]]
    assert sorted(zip(selected["la_code"], selected["file"], strict=True)) == [(A, "A2"), (B, "B1")]


# --------------------------------------------------------------------------------------------
# Long-term support, unrounded, council A
# --------------------------------------------------------------------------------------------
A_D1_ALL = {
    ("All", "All"): 15,  # P01 P02 P03 P04 P06 P07 P12 P13 P14 P15 P16 P17 P18 P20 P24
    ("Age group", "18 to 64"): 6, ("Age group", "65 and above"): 6, ("Age group", "Unknown"): 3,
    ("Age band", "25 to 44"): 3,  # P03 P06 P18
    ("Age band", "45 to 64"): 3,  # P07 P15 P20
    ("Age band", "65 to 74"): 2,  # P01 P14
    ("Age band", "75 to 84"): 2,  # P02 P04
    ("Age band", "85 to 94"): 2,  # P17 P24
    ("Age band", "Unknown"): 3,  # P12 P13 P16
    ("Gender", "Female"): 5,  # P01 P03 P07 P13 P24
    ("Gender", "Male"): 7,  # P02 P04 P12 P14 P15 P18 P20
    ("Gender", "Other"): 1,  # P06
    ("Gender", "Unknown"): 2,  # P16 P17
    ("Ethnicity group", "White"): 9, ("Ethnicity group", "Mixed or multiple ethnic groups"): 1,
    ("Ethnicity group", "Asian or Asian British"): 1,
    ("Ethnicity group", "Black, Black British, Caribbean or African"): 1,
    ("Ethnicity group", "Other ethnic group"): 1, ("Ethnicity group", "No data"): 2,
    ("Ethnicity", "White: English, Welsh, Scottish, Northern Irish or British"): 6,  # P02 P04 P12 P13 P20 P24
    ("Ethnicity", "White: Irish"): 1, ("Ethnicity", "White: Any other White background"): 1,
    ("Ethnicity", "White: Roma"): 1, ("Ethnicity", "Mixed or multiple ethnic groups: White and Asian"): 1,
    ("Ethnicity", "Asian or Asian British: Indian"): 1,
    ("Ethnicity", "Black, Black British, Caribbean or African: African"): 1,
    ("Ethnicity", "Other ethnic group: Arab"): 1, ("Ethnicity", "No data: Refused"): 1,
    ("Ethnicity", "No data: Undeclared or not known"): 1,
}
A_D2_ALL = {
    ("All", "All"): 15,  # P01 P02 P03 P06 P07 P12 P13 P14 P15 P16 P17 P18 P21 P24 P55
    ("Age group", "18 to 64"): 7, ("Age group", "65 and above"): 5, ("Age group", "Unknown"): 3,
    ("Age band", "18 to 24"): 1,  # P21
    ("Age band", "25 to 44"): 3, ("Age band", "45 to 64"): 3,  # P07 P15 P55
    ("Age band", "65 to 74"): 2, ("Age band", "75 to 84"): 1,  # P02
    ("Age band", "85 to 94"): 2, ("Age band", "Unknown"): 3,
    ("Gender", "Female"): 7,  # P01 P03 P07 P13 P21 P24 P55
    ("Gender", "Male"): 5,  # P02 P12 P14 P15 P18
    ("Gender", "Other"): 1, ("Gender", "Unknown"): 2,
    ("Ethnicity group", "White"): 9, ("Ethnicity group", "Mixed or multiple ethnic groups"): 1,
    ("Ethnicity group", "Asian or Asian British"): 1,
    ("Ethnicity group", "Black, Black British, Caribbean or African"): 1,
    ("Ethnicity group", "Other ethnic group"): 1, ("Ethnicity group", "No data"): 2,
    ("Ethnicity", "White: English, Welsh, Scottish, Northern Irish or British"): 4,  # P02 P12 P13 P24
    ("Ethnicity", "White: Irish"): 2,  # P01 P55
    ("Ethnicity", "White: Any other White background"): 1, ("Ethnicity", "White: Roma"): 1,
    ("Ethnicity", "White: Gypsy or Irish Traveller"): 1,
    ("Ethnicity", "Mixed or multiple ethnic groups: White and Asian"): 1,
    ("Ethnicity", "Asian or Asian British: Indian"): 1,
    ("Ethnicity", "Black, Black British, Caribbean or African: African"): 1,
    ("Ethnicity", "Other ethnic group: Arab"): 1, ("Ethnicity", "No data: Refused"): 1,
    ("Ethnicity", "No data: Undeclared or not known"): 1,
}


def test_council_a_all_settings_at_d1_and_d2(lts_area):
    assert nonzero(cells(lts_area, D1, A, "All")) == A_D1_ALL
    assert nonzero(cells(lts_area, D2, A, "All")) == A_D2_ALL


@pytest.mark.parametrize("date, setting, expected", [
    (D1, "Nursing care", {("All", "All"): 2, ("Gender", "Male"): 1, ("Gender", "Unknown"): 1}),  # P02 P17
    (D1, "Residential care", {("All", "All"): 2, ("Gender", "Female"): 2}),  # P03 P07
    (D1, "Prison", {("All", "All"): 1, ("Age band", "25 to 44"): 1}),  # P18
    (D1, "Community", {("All", "All"): 10, ("Gender", "Male"): 5, ("Gender", "Female"): 3}),
    (D2, "Residential care", {("All", "All"): 1}),  # P03 (P07's residential ended 15/03)
    (D2, "Community", {("All", "All"): 11, ("Gender", "Female"): 6}),  # P01 P07 P13 P21 P24 P55
    (JAN, "All", {("All", "All"): 16}),  # D1's 15 + P05 (died 10/02/2024)
    (JAN, "Nursing care", {("All", "All"): 2}),
    (APR23, "All", {("All", "All"): 16}),  # as JAN; P02 still community-only, P15 only its first row
    (APR23, "Nursing care", {("All", "All"): 1}),  # P17
    (APR23, "Community", {("All", "All"): 12, ("Ethnicity", "White: Irish"): 2,  # P01 P15
                          ("Gender", "Male"): 6}),  # P02 P04 P05 P12 P14 P20 (P15 is Female here)
])
def test_council_a_settings(lts_area, date, setting, expected):
    got = cells(lts_area, date, A, setting)
    for key, value in expected.items():
        assert got[key] == value, (date, setting, key)


def test_council_b_and_england(lts_area):
    # B: P01 (community, 65 to 74) and P40 (residential, 75 to 84).
    assert nonzero(cells(lts_area, D2, B, "All")) == {
        ("All", "All"): 2, ("Age group", "65 and above"): 2, ("Age band", "65 to 74"): 1,
        ("Age band", "75 to 84"): 1, ("Gender", "Female"): 1, ("Gender", "Male"): 1,
        ("Ethnicity group", "White"): 2, ("Ethnicity", "White: Irish"): 1,
        ("Ethnicity", "White: English, Welsh, Scottish, Northern Irish or British"): 1,
    }
    # B's period starts 01/10/2023: no data before the October month end; C never has data.
    assert all(pd.isna(v) for v in cells(lts_area, SEP23, B).values())
    assert cells(lts_area, "2023-10-31", B, "All")[("All", "All")] == 2
    assert all(pd.isna(v) for d in DATES for v in cells(lts_area, d, C).values())
    # England and North East = A + B (P01 counted in both councils).
    for area in (ENGLAND, NORTH_EAST):
        assert cells(lts_area, D2, area, "All")[("All", "All")] == 17
        assert cells(lts_area, D2, area, "Community")[("All", "All")] == 12
        assert cells(lts_area, SEP23, area, "All")[("All", "All")] == 16  # A only at 30/09/2023
    # Regions with no council data are missing ([x]).
    assert pd.isna(cells(lts_area, D2, "E12000007", "All")[("All", "All")])
    # ADASS North East (its 12 councils, Hartlepool and Middlesbrough inferred) = A + B too.
    assert cells(lts_area, D2, "ADASS01", "All")[("All", "All")] == 17
    assert pd.isna(cells(lts_area, D2, "ADASS07", "All")[("All", "All")])


def test_councils_included(lts_area):
    def included(date, area):
        return set(lts_area.loc[(lts_area["reference_date"] == date) & (lts_area["area_code"] == area),
                                "councils_included"])
    assert included(D2, ENGLAND) == {"2 of 153"}
    assert included(SEP23, ENGLAND) == {"1 of 153"}
    assert included(D2, NORTH_EAST) == {"2 of 12"}
    assert included(D2, "ADASS01") == {"2 of 12"} and included(D2, "ADASS06") == {"0 of 12"}  # Eastern: + Milton Keynes
    assert included(D2, "E12000007") == {"0 of 33"}
    assert included(D2, A) == {"1 of 1"} and included(D2, C) == {"0 of 1"} and included(SEP23, B) == {"0 of 1"}


def test_council_table_shape(lts_council):
    # A: 12 month ends; B: 6 (Oct-Mar); 5 settings x 43 breakdown values each.
    assert len(lts_council) == (12 + 6) * 5 * 43
    assert not lts_council.duplicated(["reference_date", "la_code", "support_setting", "breakdown",
                                       "breakdown_value"]).any()
    assert list(lts_council.columns) == ["reference_date", "la_code", "support_setting", "breakdown",
                                         "breakdown_value", "value"]


# --------------------------------------------------------------------------------------------
# Published long-term support and rates
# --------------------------------------------------------------------------------------------
def test_published_cells(lts_published):
    assert list(lts_published.columns) == ["reference_date", "area_level", "area_code", "area_name", "support_setting",
                                           "breakdown", "breakdown_value", "value", "flags", "councils_included"]
    got = cells(lts_published, D2, A, "All")
    assert got[("All", "All")] == "15"
    assert got[("Age group", "18 to 64")] == "5"  # 7 -> 5
    assert got[("Age group", "65 and above")] == "5"
    assert got[("Gender", "Female")] == "5"  # 7
    assert got[("Gender", "Male")] == "5"
    assert got[("Gender", "Other")] == "[c]"
    assert got[("Age band", "95 and above")] == "0"
    assert cells(lts_published, D2, A, "Community")[("All", "All")] == "10"  # 11
    assert cells(lts_published, D2, A, "Nursing care")[("All", "All")] == "[c]"
    assert cells(lts_published, D2, ENGLAND, "All")[("All", "All")] == "15"  # 17
    assert cells(lts_published, D2, ENGLAND, "Community")[("All", "All")] == "10"  # 12
    assert cells(lts_published, D2, A, "All")[("Ethnicity group", "White")] == "10"  # 9
    assert set(cells(lts_published, D2, C).values()) == {"[x]"}
    assert set(cells(lts_published, SEP23, B).values()) == {"[x]"}
    assert set(lts_published["flags"]) == {"p"}


@pytest.mark.slow
def test_rates(rates):
    published = disclosure.published_rates(rates)
    def cell(date, area, breakdown, value):
        pick = published[(published["reference_date"] == date) & (published["area_code"] == area)
                         & (published["support_setting"] == "All") & (published["breakdown"] == breakdown)
                         & (published["breakdown_value"] == value)]
        assert len(pick) == 1
        return pick.iloc[0]["population"], pick.iloc[0]["rate"]
    # Hartlepool 18+ 77,090, 65+ 19,648; Middlesbrough 18+ 120,544, 65+ 25,981.
    assert cell(D2, A, "All", "All") == ("77090", "19")  # 15 / 77090 * 1e5 = 19.46
    assert cell(D2, A, "Age group", "65 and above") == ("19648", "25")  # 5 -> 25.45
    assert cell(D2, A, "Age group", "18 to 64") == ("57442", "12")  # 7 -> 12.19
    assert cell(D2, A, "Age group", "Unknown") == ("[z]", "[z]")
    # Published populations by gender, age band and ethnicity (data/published_populations.csv).
    assert cell(D2, A, "Gender", "Female") == ("40040", "17")  # 7 / 40040 = 17.48
    assert cell(D2, A, "Gender", "Other") == ("[z]", "[z]")
    assert cell(D2, A, "Age band", "85 and above") == ("2459", "[c]")  # 85 to 94 + 95 and above = 2
    assert cell(D2, A, "Age band", "45 to 64") == ("25212", "[c]")
    assert cell(D2, A, "Ethnicity group", "White") == ("70414", "13")  # 9 / 70414 = 12.78 (Census 2021)
    assert cell(D2, A, "Ethnicity group", "No data") == ("[z]", "[z]")
    # Councils have no subgroup population; England has one, but 2 of its 153 councils have data.
    assert cell(D2, A, "Ethnicity", "White: Irish") == ("[x]", "[x]")
    assert cell(D2, ENGLAND, "Ethnicity", "White: Irish") == ("[x]", "[x]")
    # ADASS regions have counts but no population, as DHSC.
    assert cell(D2, "ADASS01", "All", "All") == ("[z]", "[z]")
    assert not (published["breakdown_value"].isin(["85 to 94", "95 and above"])).any()
    assert cell(D2, B, "All", "All") == ("120544", "[c]")  # count 2
    assert cell(D2, C, "All", "All") == ("[x]", "[x]")
    assert cell(D2, ENGLAND, "All", "All") == ("197634", "9")  # 17 / (77090 + 120544) = 8.60
    assert cell(D2, ENGLAND, "Age group", "65 and above") == ("45629", "15")  # 7 / 45629 = 15.34
    assert cell(SEP23, ENGLAND, "All", "All") == ("77090", "21")  # 16 / 77090 = 20.75, A only
    unrounded = rates[(rates["reference_date"] == D2) & (rates["area_code"] == A) & (rates["support_setting"] == "All")
                      & (rates["breakdown"] == "All")]
    assert unrounded.iloc[0]["rate"] == pytest.approx(15 * 100_000 / 77090)


# --------------------------------------------------------------------------------------------
# People assessed
# --------------------------------------------------------------------------------------------
def test_assessed_council_a(assessed_area):
    assert nonzero(cells(assessed_area, "2024-03", A)) == {
        ("All", "All"): 5,  # P50 P51 P53 P55 P56
        ("Age group", "18 to 64"): 4, ("Age group", "65 and above"): 1,
        ("Age band", "25 to 44"): 2,  # P50 P53
        ("Age band", "45 to 64"): 2,  # P55 P56
        ("Age band", "65 to 74"): 1,  # P51
        ("Gender", "Female"): 2,  # P50 P55
        ("Gender", "Male"): 3,  # P51 P53 (latest assessment) P56
        ("Ethnicity group", "White"): 4, ("Ethnicity group", "Asian or Asian British"): 1,
        ("Ethnicity", "White: English, Welsh, Scottish, Northern Irish or British"): 2,  # P51 P56
        ("Ethnicity", "White: Irish"): 2,  # P53 P55
        ("Ethnicity", "Asian or Asian British: Pakistani"): 1,
    }
    feb = nonzero(cells(assessed_area, "2024-02", A))
    assert feb[("All", "All")] == 1 and feb[("Gender", "Male")] == 1  # P56
    total = cells(assessed_area, "Total", A)
    assert total[("All", "All")] == 6 and total[("Gender", "Male")] == 4
    assert cells(assessed_area, "2024-01", A)[("All", "All")] == 0


def test_assessed_b_england_and_published(assessed_area, assessed_published):
    assert nonzero(cells(assessed_area, "2024-03", B)) == {
        ("All", "All"): 1, ("Age group", "Unknown"): 1, ("Age band", "Unknown"): 1, ("Gender", "Unknown"): 1,
        ("Ethnicity group", "No data"): 1, ("Ethnicity", "No data: Undeclared or not known"): 1,
    }
    assert pd.isna(cells(assessed_area, "2023-09", B)[("All", "All")])
    assert cells(assessed_area, "Total", ENGLAND)[("All", "All")] == 7
    assert cells(assessed_area, "2024-03", NORTH_EAST)[("All", "All")] == 6
    assert list(assessed_published.columns) == ["reference_month", "area_level", "area_code", "area_name", "breakdown",
                                                "breakdown_value", "value", "flags", "councils_included"]
    assert cells(assessed_published, "2024-03", A)[("All", "All")] == "5"
    assert cells(assessed_published, "Total", A)[("All", "All")] == "5"  # 6 -> 5
    assert cells(assessed_published, "Total", ENGLAND)[("All", "All")] == "5"  # 7 -> 5
    assert cells(assessed_published, "2024-03", B)[("All", "All")] == "[c]"
    assert cells(assessed_published, "2024-03", C)[("All", "All")] == "[x]"
    assert assessed_published["reference_month"].iloc[-1] == "Total"
    total = assessed_area[(assessed_area["reference_month"] == "Total") & (assessed_area["area_code"] == ENGLAND)]
    assert set(total["councils_included"]) == {"2 of 153"}


# --------------------------------------------------------------------------------------------
# Exclusions and consistency
# --------------------------------------------------------------------------------------------
def test_exclusions(method):
    got = method.exclusions
    a2 = dict(zip(got.loc[got["file"] == "A2", "reason"], got.loc[got["file"] == "A2", "rows"], strict=True))
    assert a2 == {
        "Unpaid carer known by association (no event)": 1,  # P19
        "no person ID": 1,  # P08
        "ambiguous person ID": 1,  # P25
        "Event End Date invalid": 1,  # P09
        "Event End Date before Event Start Date": 1,  # P10
    }
    assert got.loc[got["file"] == "B1", "rows"].sum() == 0
    accounting = method.row_accounting.set_index("file")
    # Every row of a selected file is used or excluded, counted from the rows the SQL read.
    assert accounting.loc["A2", "rows_used"] + accounting.loc["A2", "rows_excluded"] == len(FILE_ROWS["A2"])
    assert accounting.loc["A2", "rows_excluded"] == 5
    assert accounting.loc["B1", "rows_used"] == len(B_ROWS) and accounting.loc["B1", "rows_excluded"] == 0


@pytest.mark.slow
def test_consistency_long_term_support(lts_area, lts_published):
    frames = disclosure.consistency_frames(lts_area, lts_published)
    assert set(frames) == {"settings_sum", "breakdown_sum", "england_regions", "region_councils", "adass_councils",
                           "published_cells"}
    for name, frame in frames.items():
        assert len(frame) > 0 and frame["ok"].all(), name


def test_consistency_assessments(assessed_area, assessed_published):
    frames = disclosure.consistency_frames(assessed_area, assessed_published)
    assert "months_total" in frames
    for name, frame in frames.items():
        assert len(frame) > 0 and frame["ok"].all(), name


def test_consistency_plain_pandas(lts_area, lts_published):
    """The same properties, written directly."""
    data = lts_area.dropna(subset=["value"])
    keys = ["reference_date", "area_code", "breakdown", "breakdown_value"]
    pivot = data.pivot_table(index=keys, columns="support_setting", values="value", aggfunc="sum")
    assert (pivot["All"] == pivot[["Community", "Residential care", "Nursing care", "Prison"]].sum(axis=1)).all()
    per_breakdown = data.groupby(["reference_date", "area_code", "support_setting", "breakdown"])["value"].sum()
    totals = per_breakdown.xs("All", level="breakdown")
    assert (per_breakdown.unstack("breakdown").sub(totals, axis=0) == 0).all().all()
    england = data[data["area_level"] == "England"].set_index(["reference_date", "support_setting", *keys[2:]])["value"]
    regions = data[data["area_level"] == "Region"].groupby(["reference_date", "support_setting", *keys[2:]])["value"].sum()
    assert england.sort_index().equals(regions.reindex(england.index).sort_index().astype(england.dtype))
    values = lts_published["value"]
    numeric = pd.to_numeric(values[~values.isin(["[c]", "[x]", "[z]"])])
    assert not numeric.between(1, 4).any() and (numeric % 5 == 0).all()


def test_zero_people_files_give_zeros(tmp_path):
    catalogue = CATALOGUE[CATALOGUE["file"] == "A2"]
    run = run_on(tmp_path, {"A2": [row("Q1", event="Request", service=None)]}, catalogue)
    lts = run.long_term_support
    assert len(lts) == 12 * 5 * 43 and lts["value"].eq(0).all()
    assessed = run.people_assessed
    assert len(assessed) == 13 * 43 and assessed["value"].eq(0).all()
