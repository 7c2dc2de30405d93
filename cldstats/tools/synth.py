"""Realistic synthetic national CLD submissions (``cldstats synth``).

The generator works in two steps per council:

1. **Simulate a world once.** People (stable NHS number, LA person ID, names, birth date, gender,
   ethnicity, postcode...) and their events with *true* start and end dates: long-term support
   spells drawn from a stationary stock-flow model (exponential durations by setting, a stock at
   the start drawn from the same law, so month-end counts are stable), the request -> assessment ->
   (ST-Max) -> long-term service chains of new clients, reviews and reassessments, setting changes,
   deaths, short-term support, people who only ask for advice, carers and carers known by
   association. Every event also has a *recording lag*: the days after the event before the council
   records it.
2. **Render each submission as a view of that world**: the events visible in the file's reporting
   period as known at its submission time (a service still running at the period end is open;
   requests, assessments and reviews appear once completed inside the period; a death appears once
   recorded). A resubmission a few weeks later therefore knows a few more events: realistic
   revisions. Data quality faults are injected at this step only, and every faulty cell is listed
   in ``faults.csv.gz``.

Everything is vectorised with numpy; CSV text is built column-wise with pyarrow compute (each
column a dictionary of strings plus an index per row), then transcoded to Windows-1252 in bulk.

Outputs in ``DIR``:

* ``submissions/<GSS code>_<YYYYMMDDTHHMMSS>.csv`` (or ``.csv.gz``): Release 1 layout, the 50 spec
  labels as header, dates ``dd/mm/yyyy``, Windows-1252;
* ``synthetic.json``: seed, scale, period, councils, the file plan and the faults injected; it marks
  the folder as synthetic (docs/methodology.md section 1);
* ``faults.csv.gz``: ``file,row_number,field,kind`` for every injected fault cell (``row_number`` is
  the spreadsheet row, header = 1; blank for file-level faults).

Determinism: council ``i`` (its position in the full, GSS-sorted list of 153) draws everything from
``numpy.random.default_rng([seed, i, stream])``, so a ``--councils`` subset reproduces the same bytes
for those councils, and the output does not depend on the number of worker processes.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
import json
import multiprocessing
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.core.errors import CldstatsError
from cldstats.ingest.reader import is_synthetic
from cldstats.reference.lists import councils as reference_councils
from cldstats.reference.spec import load_spec

__all__ = ["FAULT_RATES", "council_order", "generate", "plan_submissions", "run_cli"]

# =============================================================================================
# Calibration constants: every rate, duration and mix of the simulation lives here.
# Figures from cld/background_dhsc_method.md section 9 (national picture, 2025/26) and SALT.
# Durations are in days; rates per person-year unless stated.
# =============================================================================================
LTS = "Long Term Support: "
#: Share of people in long-term support by setting (LTS at 30 June 2025: 71.3 / 20.6 / 8.1 %, prison 260).
SETTING_SHARE = {
    LTS + "Community": 0.7127,
    LTS + "Residential Care": 0.2056,
    LTS + "Nursing Care": 0.0813,
    LTS + "Prison": 260 / 676_250,
}
#: Mean length of a long-term support spell by setting (exponential, so the stock is stationary).
SPELL_MEAN_DAYS = {
    LTS + "Community": 1000.0,
    LTS + "Residential Care": 800.0,
    LTS + "Nursing Care": 450.0,
    LTS + "Prison": 250.0,
}
#: What happens when a spell ends: probability of death, and of moving to another setting.
DEATH_AT_EXIT = {
    LTS + "Community": 0.33,
    LTS + "Residential Care": 0.60,
    LTS + "Nursing Care": 0.75,
    LTS + "Prison": 0.02,
}
TRANSITION_AT_EXIT = {  # from setting -> {to setting: probability}
    LTS + "Community": {LTS + "Residential Care": 0.10, LTS + "Nursing Care": 0.04},
    LTS + "Residential Care": {LTS + "Nursing Care": 0.08},
}
#: Share aged 18-64 by setting, and the 65+ age law: min age + gamma(shape, scale), capped at 108.
SHARE_18_64 = {
    LTS + "Community": 0.45,
    LTS + "Residential Care": 0.14,
    LTS + "Nursing Care": 0.07,
    LTS + "Prison": 0.90,
}
OLD_AGE_LAW = {
    LTS + "Community": (65.0, 5.0, 3.3),
    LTS + "Residential Care": (72.0, 6.0, 2.3),
    LTS + "Nursing Care": (72.0, 6.0, 2.2),
    LTS + "Prison": (65.0, 1.5, 4.0),
}
SHARE_TRANSITION_AGE_17 = 0.006  # new community clients aged 17 (planned entry, transition)
SHARE_CONCURRENT_ROW = 0.12  # community spells with a second concurrent row (e.g. DP + home support)
SHARE_SPLIT_PACKAGE = 0.15  # spells reported as two consecutive rows (package changed)
NEW_CLIENT_ASSESSED = 0.90  # new long-term clients with a request + assessment chain
NEW_CLIENT_VIA_STMAX = 0.25  # ... of which through ST-Max (reablement) first
FINANCIAL_ASSESSMENT = 0.60  # new long-term clients with a financial assessment
PLANNED_REVIEWS_PER_YEAR = 0.9
UNPLANNED_REVIEWS_PER_YEAR = 0.25
REASSESSMENTS_PER_YEAR = 0.08
FINANCIAL_REVIEWS_PER_YEAR = 0.15
REQUESTS_ONLY_PER_ASSESSED = 1.2  # requests ending in advice or nothing, per new-client assessment
CARERS_PER_LTS = 0.10  # carers (own events) per person in long-term support
CARER_SPELL_MEAN_DAYS = 400.0
CARERS_BY_ASSOCIATION_PER_LTS = 0.06
#: Recording lags (exponential means, days) and submission timing.
LAG_MEAN = {"service_start": 7.0, "service_end": 14.0, "other": 5.0, "death": 10.0}
SHARE_MONTHLY_COUNCILS = 0.15
SHARE_RESUBMITTED = 0.10
SHARE_AFTER_DEADLINE = 0.10  # submitted after the deadline but by the cut-off
COLLECTION_START = "2023-04"  # the CLD collection started on 1 April 2023

#: Data quality faults: per row, per person (``person``) or per council-quarter (``file``).
FAULT_RATES: dict[str, float] = {
    "nhs_number_blank_person": 0.004,
    "nhs_number_blank_row": 0.002,
    "nhs_number_invalid_check_digit": 0.001,
    "code_case_or_space": 0.003,
    "code_invalid": 0.0008,
    "mandatory_blank": 0.002,
    "end_before_start": 0.0005,
    "date_of_birth_future": 0.0003,
    "date_of_birth_too_old": 0.0005,
    "date_iso": 0.0005,
    "date_excel_serial": 0.0005,
    "event_start_date_invalid": 0.0003,
    "duplicate_row": 0.001,
    "late_submission": 0.012,
    "missing_submission": 0.008,
    "broken_header": 1.0,
}
FAULT_UNITS = {
    "nhs_number_blank_person": "person",
    "date_of_birth_future": "person",
    "date_of_birth_too_old": "person",
    "late_submission": "council-quarter",
    "missing_submission": "council-quarter",
    "broken_header": "one file per run",
}

# Categorical mixes (values must be in the spec code lists; checked when drawn).
GENDER_MIX = {"Female": 0.570, "Male": 0.420, "Other": 0.003, "Unknown": 0.007}
#: Share "White - English, Welsh, Scottish, Northern Irish or British" by region (older, whiter than
#: the census population); the rest follows MINORITY_MIX (London's own mix for London).
WHITE_BRITISH_BY_REGION = {
    "North East": 0.92,
    "North West": 0.85,
    "Yorkshire and The Humber": 0.84,
    "East Midlands": 0.84,
    "West Midlands": 0.78,
    "East of England": 0.86,
    "London": 0.42,
    "South East": 0.86,
    "South West": 0.92,
}
NO_DATA_MIX = {"No data - Undeclared or Not known": 0.025, "No data - Refused": 0.005}
MINORITY_MIX = {
    "White - Irish": 6,
    "White - Gypsy or Irish Traveller": 0.5,
    "White - Roma": 0.3,
    "White - Any other White background": 20,
    "Mixed or multiple ethnic groups - White and Black Caribbean": 3,
    "Mixed or multiple ethnic groups - White and Black African": 1,
    "Mixed or multiple ethnic groups - White and Asian": 1.5,
    "Mixed or multiple ethnic groups - Any other Mixed or multiple ethnic background": 1.5,
    "Asian or Asian British - Indian": 12,
    "Asian or Asian British - Pakistani": 12,
    "Asian or Asian British - Bangladeshi": 4,
    "Asian or Asian British - Chinese": 2,
    "Asian or Asian British - Any other Asian background": 5,
    "Black, Black British, Caribbean or African - African": 7,
    "Black, Black British, Caribbean or African - Caribbean": 9,
    "Black, Black British, Caribbean or African - Any other Black, Black British or Caribbean background": 2,
    "Other ethnic group - Arab": 1.5,
    "Other ethnic group - Any other ethnic group": 4,
}
LONDON_MINORITY_MIX = dict(
    MINORITY_MIX,
    **{
        "White - Irish": 6,
        "White - Any other White background": 22,
        "Asian or Asian British - Bangladeshi": 8,
        "Black, Black British, Caribbean or African - African": 16,
        "Black, Black British, Caribbean or African - Caribbean": 15,
        "Asian or Asian British - Pakistani": 6,
    },
)
PSR_MIX_YOUNG = {
    "Learning Disability Support": 40,
    "Mental Health Support": 22,
    "Physical Support: Personal care support": 25,
    "Physical Support: Access & mobility only": 4,
    "Sensory Support: Support for visual impairment": 1,
    "Sensory Support: Support for hearing impairment": 1,
    "Sensory Support: Support for dual impairment": 0.2,
    "Support with Memory & Cognition": 1,
    "Social Support: Substance misuse support": 2,
    "Social Support: Asylum seeker support": 0.3,
    "Social Support: Support for Social Isolation/Other": 2.5,
    "Unknown": 1,
}
PSR_MIX_OLD = {
    "Physical Support: Personal care support": 62,
    "Physical Support: Access & mobility only": 6,
    "Support with Memory & Cognition": 20,
    "Mental Health Support": 5,
    "Learning Disability Support": 1.5,
    "Sensory Support: Support for visual impairment": 1.5,
    "Sensory Support: Support for hearing impairment": 0.7,
    "Sensory Support: Support for dual impairment": 0.3,
    "Social Support: Support for Social Isolation/Other": 2,
    "Unknown": 1,
}
ACCOMMODATION_COMMUNITY = {
    "Owner occupier or shared ownership scheme": 35,
    "Tenant": 22,
    "Tenant - private landlord": 7,
    "Settled mainstream housing with family / friends": 13,
    "Supported accommodation / supported lodgings / supported group home": 8,
    "Shared Lives scheme": 1,
    "Sheltered housing / extra care housing / other sheltered housing": 8,
    "Staying with family / friends as a short-term guest": 0.5,
    "Rough sleeper / squatting": 0.2,
    "Other temporary accommodation": 0.3,
    "Unknown": 5,
}
ACCOMMODATION_BY_SETTING = {
    LTS + "Residential Care": "Registered care home",
    LTS + "Nursing Care": "Registered nursing home",
    LTS + "Prison": "Prison / Young offenders institution / detention centre",
}
EMPLOYMENT_YOUNG = {
    "Not in Paid Employment (not actively seeking work / retired)": 68,
    "Not in Paid Employment (seeking work)": 8,
    "Not in Paid Employment (voluntary work only)": 4,
    "Paid: Less than 16 hours a week": 6,
    "Paid: 16 or more hours a week": 3,
    "Paid: Hours per week unknown": 1,
    "Unknown": 10,
}
EMPLOYMENT_OLD = {"Not in Paid Employment (not actively seeking work / retired)": 90, "Unknown": 10}
FUNDING_MIX = {
    "Fully Social Care Funded": 45,
    "Joint Client and Social Care Funded": 38,
    "18(3) (full cost client)": 3,
    "Unknown - Individual Level": 6,
    "Joint Health and Social Care Funded": 6,
    "Fully Health Funded": 1,
    "Self-funder - Metering Only": 1,
}
UNPAID_CARER_MIX = {"Yes": 40, "No": 45, "Unknown": 15}
YES_NO_UNKNOWN_ASD = {"Yes": 3, "No": 85, "Unknown": 12}
DEMENTIA_MIX = {"Yes": 18, "No": 70, "Unknown": 12}
VISUAL_MIX = {
    "No visual impairment": 80,
    "Partial sight/sight impaired": 5,
    "Blind/severely sight impaired": 2,
    "Visual impairment - severity unknown": 1,
    "Unknown": 12,
}
HEARING_MIX = {
    "No hearing impairment": 78,
    "Hard of hearing": 8,
    "Deaf with speech": 1,
    "Deaf without speech": 0.5,
    "Hearing impairment: Severity unknown": 0.5,
    "Unknown": 12,
}
ROUTE_NEW_CLIENT = {
    "Discharge from Hospital": 30,
    "Community / Other route": 50,
    "Diversion from Hospital Services": 5,
    "Self-Funder": 3,
    "Transfer from Other LA": 2,
    "Discharge from Reablement": 10,
}
REQUEST_ONLY_OUTCOMES = {
    "NFA - Information & Advice / Signposting only": 55,
    "NFA - Support declined": 10,
    "NFA - No services offered: Other reason": 15,
    "NFA - Self-funded client (Inc. 12wk disregard)": 5,
    "NFA- Other": 10,
    "NFA - Moved to another LA": 2,
    "Admitted to hospital": 3,
}
NEW_ASSESSED_OUTCOMES = {
    "NFA - Information & Advice / Signposting only": 14,
    "NFA - Support declined": 8,
    "NFA - No services offered: Other reason": 10,
    "NFA - Self-funded client (Inc. 12wk disregard)": 5,
    "NFA- Other": 4,
    "Admitted to hospital": 2,
    "Progress to Reablement/ST-Max": 25,
    "Progress to Support Planning / Services": 32,
}
SPELL_END_OUTCOMES = {
    "NFA - Support ended: Other reason": 40,
    "Service ended as planned": 20,
    "NFA - Moved to another LA": 15,
    "NFA - 100% NHS funded care": 10,
    "NFA - Self-funded client (Inc. 12wk disregard)": 15,
}
REVIEW_OUTCOMES = {
    "No change in package": 70,
    "Progress to Support Planning / Services": 17,
    "Progress to Re-assessment / Unplanned Review": 5,
    "Admitted to hospital": 3,
    "Progress to End of Life Care": 2,
    "NFA - Support ended: Other reason": 3,
}
ASSESSMENT_METHOD = {
    "Face to face": 60,
    "Telephone": 22,
    "Video call": 6,
    "Supported self-assessment": 4,
    "Self-assessment": 2,
    "Paper based or correspondence": 3,
    "Other": 3,
}
UNPLANNED_REVIEW_REASONS = {
    "Unplanned - Hospital (Planned and unplanned episodes)": 40,
    "Unplanned - Carer related": 15,
    "Unplanned - Safeguarding concern": 10,
    "Unplanned - Other Reason": 30,
    "Unplanned - Provider Failure": 2,
    "Unplanned - Change in Commissioning arrangements": 3,
}
REVIEW_ACHIEVED = {"Fully Met": 55, "Partially Met": 35, "Not Met": 10}
REVIEW_METHOD = {"Service user only": 40, "Service user and carer": 50, "Carer only": 10}
CARER_HOURS = {"1 to 19 hours": 25, "20 to 34 hours": 15, "35 to 49 hours": 15, "50 or more hours": 35, "Unknown": 10}
#: Community long-term components: weight, cost frequency, unit cost range, planned units range.
COMMUNITY_COMPONENTS = {
    "Home Support": (50, "Hourly", (18.0, 32.0), (3.0, 35.0)),
    "Direct Payment": (20, "Weekly", (80.0, 650.0), (1.0, 1.0)),
    "Community Supported Living": (10, "Weekly", (300.0, 1600.0), (1.0, 1.0)),
    "Day Support": (5, "Per session", (30.0, 90.0), (1.0, 5.0)),
    "Extra care housing": (4, "Weekly", (100.0, 400.0), (1.0, 1.0)),
    "Shared Lives": (2, "Weekly", (300.0, 650.0), (1.0, 1.0)),
    "Meals": (2, "Per session", (4.0, 8.0), (5.0, 14.0)),
    "Other Long Term Support": (3, "Weekly", (50.0, 300.0), (1.0, 1.0)),
    "Professional Support": (2, "Hourly", (30.0, 60.0), (1.0, 4.0)),
    "Transport": (1, "Per session", (10.0, 30.0), (2.0, 10.0)),
    "Learning/Education/Employment Support": (1, "Per session", (25.0, 70.0), (1.0, 5.0)),
}
CARE_HOME_COST = {LTS + "Residential Care": (650.0, 1150.0), LTS + "Nursing Care": (850.0, 1500.0)}

# Small built-in name lists (not real people); some non-ASCII letters in Windows-1252.
FIRST_NAMES_FEMALE = (
    "Margaret",
    "Joan",
    "Patricia",
    "Susan",
    "Dorothy",
    "Jean",
    "Irene",
    "Mary",
    "Elizabeth",
    "Sarah",
    "Emily",
    "Grace",
    "Olivia",
    "Amelia",
    "Fatima",
    "Aisha",
    "Priya",
    "Amira",
    "Nkechi",
    "Mei",
    "Chloé",
    "Zoë",
    "Renée",
    "Siân",
    "Ana",
    "Beatriz",
    "Agnès",
    "Hélène",
)
FIRST_NAMES_MALE = (
    "John",
    "David",
    "Peter",
    "Michael",
    "James",
    "Robert",
    "George",
    "William",
    "Thomas",
    "Kevin",
    "Liam",
    "Noah",
    "Mohammed",
    "Ahmed",
    "Rajesh",
    "Arjun",
    "Kwame",
    "Chen",
    "Tomás",
    "José",
    "Andrés",
    "Björn",
    "François",
    "Jürgen",
    "Ñaki",
    "Raphaël",
    "Stefan",
    "Ian",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Hughes",
    "Green",
    "Hall",
    "Patel",
    "Khan",
    "Ali",
    "Begum",
    "Hussain",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
    "O'Brien",
    "Murphy",
    "Muñoz",
    "Brontë",
    "Côté",
    "Müller",
    "Ng",
    "Wong",
    "Santos",
    "Ferreira",
    "Læssøe",
    "Doyle",
    "Clarke",
    "Kelly",
    "Shah",
)
PLACE_WORDS = (
    "Oak",
    "Elm",
    "Willow",
    "Beech",
    "Ash",
    "Cedar",
    "Rowan",
    "Holly",
    "Maple",
    "Birch",
    "Larch",
    "Meadow",
    "River",
    "Park",
    "Hill",
    "Church",
    "Mill",
    "Brook",
    "Grange",
    "Abbey",
)
POSTCODE_AREAS = {
    "North East": ("NE", "SR", "DH", "TS", "DL"),
    "North West": ("M", "L", "PR", "BL", "WN", "CA", "LA", "CH"),
    "Yorkshire and The Humber": ("LS", "BD", "S", "HU", "YO", "HD", "WF", "DN"),
    "East Midlands": ("NG", "DE", "LE", "LN", "NN"),
    "West Midlands": ("B", "CV", "WV", "ST", "WS", "DY"),
    "East of England": ("CB", "NR", "IP", "CO", "CM", "LU", "SG", "PE"),
    "London": ("E", "N", "SE", "SW", "W", "NW", "EN", "IG", "CR", "HA"),
    "South East": ("ME", "CT", "BN", "GU", "RG", "OX", "MK", "SO", "PO", "TN"),
    "South West": ("BS", "BA", "EX", "PL", "TR", "TA", "GL", "BH", "SN"),
}
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed in the inward unit

# =============================================================================================
# Calendar helpers: days since 1970-01-01 as int64 everywhere.
# =============================================================================================
DATE_TABLE_FIRST = "1899-01-01"
DATE_TABLE_LAST = "2040-12-31"
NEVER = 10**7  # "no end within the simulated horizon" (open service, alive person)
EXCEL_EPOCH_OFFSET = 25569  # Excel serial number of 1970-01-01


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


DAY0 = _day(DATE_TABLE_FIRST)


def _month_end(year: int, month: int) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}", "M") + 1).astype("datetime64[D]").astype(np.int64)) - 1


def _date_of(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


@functools.cache
def _date_strings() -> pa.Array:
    """``dd/mm/yyyy`` for every day of the table, indexed by ``day - DAY0``."""
    days = np.arange(DAY0, _day(DATE_TABLE_LAST) + 1).astype("datetime64[D]")
    return pc.strftime(pa.array(days).cast(pa.timestamp("s")), format="%d/%m/%Y")


def _parse_month(text: str, option: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CldstatsError(f"{option} must be a month YYYY-MM, not {text!r}")
    return int(match.group(1)), int(match.group(2))


# =============================================================================================
# Code lists: one source of truth, the spec.
# =============================================================================================
@functools.cache
def _codes(field_name: str) -> tuple[str, ...]:
    return load_spec().by_name[field_name].code_list


def _code(field_name: str, value: str) -> int:
    """Index of ``value`` in the spec code list of ``field_name`` (ValueError if absent)."""
    return _codes(field_name).index(value)


def _draw(rng: np.random.Generator, field_name: str, mix: dict[str, float], n: int) -> np.ndarray:
    """``n`` code-list indices of ``field_name`` drawn from the weights ``mix`` (insertion order)."""
    index = np.array([_code(field_name, v) for v in mix], dtype=np.int32)
    weights = np.array(list(mix.values()), dtype=float)
    return index[rng.choice(len(index), size=n, p=weights / weights.sum())]


# =============================================================================================
# Councils and the file plan
# =============================================================================================
def council_order() -> list[str]:
    """The documented order in which ``--councils N`` picks councils.

    Regions in alphabetical order are visited round-robin; within a region councils alternate from
    the largest and the smallest by long-term support (largest, smallest, 2nd largest, 2nd
    smallest...). The first N councils are therefore spread over regions and sizes.

    Returns
    -------
    list of str
        The 153 GSS codes in that order.
    """
    frame = reference_councils()
    queues = []
    for _, group in sorted(frame.groupby("region"), key=lambda item: item[0]):
        ordered = group.sort_values(["lts_31mar2026", "la_code"], ascending=[False, True])["la_code"].tolist()
        spread = []
        while ordered:
            spread.append(ordered.pop(0))
            if ordered:
                spread.append(ordered.pop())
        queues.append(spread)
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def _select_councils(councils: int | list[str] | None) -> list[str]:
    all_codes = reference_councils()["la_code"].tolist()
    if councils is None:
        return all_codes
    if isinstance(councils, int):
        if not 1 <= councils <= len(all_codes):
            raise CldstatsError("--councils takes a number from 1 to 153 or GSS codes")
        chosen = set(council_order()[:councils])
    else:
        unknown = [c for c in councils if c not in all_codes]
        if unknown:
            raise CldstatsError(f"--councils: unknown GSS code(s) {', '.join(unknown)}")
        chosen = set(councils)
    return [c for c in all_codes if c in chosen]  # always in full-list (GSS) order


def _month_ends(start: str, end: str) -> list[int]:
    y0, m0 = _parse_month(start, "--start")
    y1, m1 = _parse_month(end, "--end")
    if (y0, m0) < _parse_month(COLLECTION_START, "start"):
        raise CldstatsError(f"--start {start} is before the collection started ({COLLECTION_START})")
    if (y1, m1) < (y0, m0):
        raise CldstatsError(f"--end {end} is before --start {start}")
    if (y1 - y0) * 12 + (m1 - m0) > 120:
        raise CldstatsError("--start to --end spans more than 10 years")
    out, y, m = [], y0, m0
    while (y, m) <= (y1, m1):
        out.append(_month_end(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _period_start(period_end: int) -> int:
    """Year to date from 1 April 2023 in 2023/24, rolling 12 months afterwards."""
    end = _date_of(period_end)
    rolling_start = _month_end(end.year - 1, end.month) + 1
    return max(_day("2023-04-01"), rolling_start)


def _cutoff(period_end: int) -> int:
    """Last day of the 2nd month after the end of the quarter containing ``period_end``."""
    end = _date_of(period_end)
    quarter_end_month = ((end.month - 1) // 3) * 3 + 3
    month = quarter_end_month + 2
    year = end.year + (month - 1) // 12
    return _month_end(year, (month - 1) % 12 + 1)


def _deadline(period_end: int) -> int:
    end = _date_of(period_end)
    month = end.month + 1
    return _month_end(end.year + (month - 1) // 12, (month - 1) % 12 + 1)


@dataclass
class _PlannedFile:
    la_code: str
    period_start: int
    period_end: int
    submitted: int  # seconds since 1970-01-01 (local time, naive)
    kind: str  # quarterly, monthly, resubmission, broken_header
    index: int  # position in the council's plan (fault stream)
    faults: list[str] = field(default_factory=list)  # file-level fault kinds
    dropped_column: str | None = None

    @property
    def submitted_day(self) -> int:
        return self.submitted // 86400

    def name(self, compress: bool) -> str:
        stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=self.submitted)
        return f"{self.la_code}_{stamp:%Y%m%dT%H%M%S}.csv" + (".gz" if compress else "")


def _council_plan(
    la_code: str, council_index: int, seed: int, month_ends: list[int], faults: bool
) -> tuple[list[_PlannedFile], list[dict]]:
    """Submission plan of one council: files and missing quarters (a per-council random stream)."""
    rng = np.random.default_rng([seed, council_index, 1])
    monthly = rng.random() < SHARE_MONTHLY_COUNCILS
    files: list[_PlannedFile] = []
    missing: list[dict] = []
    for period_end in month_ends:
        # Draw the same random numbers for every month so that the plan does not shift with options.
        u_fate, u_day, u_resub, u_resub_day, u_sec = rng.random(5)
        is_quarter = _date_of(period_end).month in (3, 6, 9, 12)
        if not (is_quarter or monthly):
            continue
        deadline, cutoff = _deadline(period_end), _cutoff(period_end)
        kinds: list[str] = []
        if faults and is_quarter and u_fate < FAULT_RATES["missing_submission"]:
            missing.append({"la_code": la_code, "period_end": _date_of(period_end).isoformat()})
            continue
        if faults and is_quarter and u_fate < FAULT_RATES["missing_submission"] + FAULT_RATES["late_submission"]:
            day = cutoff + 1 + int(u_day * 45)
            kinds.append("late_submission")
        elif u_fate > 1 - SHARE_AFTER_DEADLINE:
            day = deadline + 1 + int(u_day * (cutoff - deadline - 1))
        else:
            day = period_end + 8 + int(u_day * (deadline - period_end - 7))
        seconds = day * 86400 + 8 * 3600 + int(u_sec * 10 * 3600)
        period_start = _period_start(period_end)
        files.append(
            _PlannedFile(la_code, period_start, period_end, seconds, "quarterly" if is_quarter else "monthly", 0, kinds)
        )
        if u_resub < SHARE_RESUBMITTED and not kinds:
            later = seconds + (5 + int(u_resub_day * 30)) * 86400 + 3 * 3600 + 17
            files.append(_PlannedFile(la_code, period_start, period_end, later, "resubmission", 0, []))
    files.sort(key=lambda f: f.submitted)
    for i, f in enumerate(files):
        f.index = i
    return files, missing


def _broken_header_target(plans: dict[str, list[_PlannedFile]], last_quarter_end: int | None) -> str | None:
    """The council that gets the broken-header file: the first (GSS order) with a usable file for
    the last quarter; the broken file is an extra, earlier upload later corrected."""
    for code in sorted(plans):
        usable = [f for f in plans[code] if f.period_end == last_quarter_end and "late_submission" not in f.faults]
        if usable:
            return code
    return None


def plan_submissions(
    *,
    seed: int = 2023,
    start: str = "2023-04",
    end: str = "2024-03",
    councils: int | list[str] | None = None,
    faults: bool = True,
    compress: bool = False,
) -> pd.DataFrame:
    """The list of files ``generate`` would write, without simulating any rows.

    Parameters
    ----------
    seed, start, end, councils, faults, compress
        As :func:`generate`.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``la_code, file, kind, period_start, period_end, submitted_at, faults``
        (ISO dates and times; ``faults`` is a ``;``-separated list of file-level fault kinds).
    """
    plans, _ = _plan_all(seed, start, end, councils, faults)
    rows = []
    for code in sorted(plans):
        for f in plans[code]:
            rows.append(
                {
                    "la_code": code,
                    "file": f.name(compress),
                    "kind": f.kind,
                    "period_start": _date_of(f.period_start).isoformat(),
                    "period_end": _date_of(f.period_end).isoformat(),
                    "submitted_at": (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=f.submitted)).isoformat(),
                    "faults": ";".join(f.faults),
                }
            )
    return pd.DataFrame(rows)


def _plan_all(seed, start, end, councils, faults):
    codes = _select_councils(councils)
    month_ends = _month_ends(start, end)
    full = reference_councils()["la_code"].tolist()
    plans, missing = {}, []
    for code in codes:
        files, gone = _council_plan(code, full.index(code), seed, month_ends, faults)
        plans[code], missing = files, missing + gone
    if faults:
        quarter_ends = [d for d in month_ends if _date_of(d).month in (3, 6, 9, 12)]
        target = _broken_header_target(plans, quarter_ends[-1] if quarter_ends else None)
        if target is not None:
            first = next(f for f in plans[target] if f.period_end == quarter_ends[-1])
            broken = _PlannedFile(
                target,
                first.period_start,
                first.period_end,
                first.submitted - 2 * 86400 - 3600,
                "broken_header",
                -1,
                ["broken_header"],
                dropped_column="Ethnicity",
            )
            plans[target] = sorted(plans[target] + [broken], key=lambda f: f.submitted)
    return plans, missing


# =============================================================================================
# The world of one council
# =============================================================================================
class _Columns:
    """Accumulates blocks of columns (arrays or scalars) and concatenates them with defaults."""

    def __init__(self, defaults: dict[str, Any]):
        self.defaults = defaults
        self.blocks: list[tuple[int, dict[str, Any]]] = []

    def add(self, n: int, **cols: Any) -> None:
        unknown = set(cols) - set(self.defaults)
        if unknown:
            raise KeyError(sorted(unknown))
        if n:
            self.blocks.append((n, cols))

    def build(self) -> dict[str, np.ndarray]:
        out = {}
        for name, default in self.defaults.items():
            dtype = np.float64 if isinstance(default, float) else np.int64
            parts = [np.broadcast_to(np.asarray(cols.get(name, default), dtype=dtype), (n,)) for n, cols in self.blocks]
            out[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        return out


EVENT_DEFAULTS: dict[str, Any] = {
    "person": -1,
    "etype": -1,
    "start": -1,
    "end": NEVER,
    "lag_start": 0,
    "lag_end": 0,
    "outcome": -1,
    "route": -1,
    "assess_type": -1,
    "eligible": -1,
    "assess_method": -1,
    "service_type": -1,
    "component": -1,
    "delivery": -1,
    "provider": -1,
    "review_reason": -1,
    "review_achieved": -1,
    "review_method": -1,
    "cost_freq": -1,
    "psr_blank": 0,
    "death_blank_end": 0,
    "description": -1,
    "unit_cost": np.nan,
    "units": np.nan,
}
PERSON_DEFAULTS: dict[str, Any] = {
    "client_type": 0,
    "dob": 0,
    "dod": NEVER,
    "dod_lag": 0,
    "gender": -1,
    "ethnicity": -1,
    "psr": -1,
    "accommodation": -1,
    "employment": -1,
    "unpaid_carer": -1,
    "asd": -1,
    "visual": -1,
    "hearing": -1,
    "dementia": -1,
    "funding": -1,
    "carer_hours": -1,
    "n_adults": -1,
    "linked1": -1,
    "linked2": -1,
    "gp": -1,
    "nhs_blank": 0,
    "dob_fault": 0,
}
EVENT_TYPES = ("Request", "Assessment", "Service", "Review")
DESCRIPTIONS = (
    "Initial contact",
    "Needs assessment",
    "Care package",
    "Annual review",
    "Package change",
    "Reablement",
    "Carer support",
    "Hospital discharge",
)


@dataclass
class _World:
    la_code: str
    region: str
    persons: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    strings: dict[str, pa.Array]  # per-person / per-event / pool strings
    horizon: int


def _lag(rng, mean: float, n: int) -> np.ndarray:
    return np.floor(rng.exponential(mean, n)).astype(np.int64)


def _ages(rng, setting: str, n: int, share_young: float | None = None) -> np.ndarray:
    """Ages in years (float) of people in ``setting``."""
    young = rng.random(n) < (SHARE_18_64[setting] if share_young is None else share_young)
    low, shape, scale = OLD_AGE_LAW[setting]
    old_age = np.minimum(low + rng.gamma(shape, scale, n), 108.0)
    young_age = 18.0 + rng.beta(1.3, 1.2, n) * 47.0
    return np.where(young, young_age, old_age)


def _uniform_days(rng, low, high, n) -> np.ndarray:
    """Integer days uniform in [low, high] (inclusive), arrays allowed."""
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    return low + np.floor(rng.random(n) * (np.maximum(high - low, 0) + 1)).astype(np.int64)


def _new_people(
    rng,
    persons: _Columns,
    n: int,
    ages: np.ndarray,
    at_day: np.ndarray | int,
    region: str,
    client_type: str,
    settings: np.ndarray | None = None,
) -> np.ndarray:
    """Add ``n`` people aged ``ages`` (years) at ``at_day``; returns their person indices."""
    start = sum(k for k, _ in persons.blocks)
    ages = np.minimum(ages, 105.0)  # nonsense ages are faults, injected elsewhere
    young = ages < 65
    dob = np.asarray(at_day, dtype=np.int64) - np.floor(ages * 365.25).astype(np.int64)
    eth_mix = dict(NO_DATA_MIX)
    white = WHITE_BRITISH_BY_REGION.get(region, 0.85)
    minority = LONDON_MINORITY_MIX if region == "London" else MINORITY_MIX
    rest = 1 - white - sum(NO_DATA_MIX.values())
    total = sum(minority.values())
    eth_mix["White - English, Welsh, Scottish, Northern Irish or British"] = white
    eth_mix.update({k: rest * v / total for k, v in minority.items()})
    psr = np.where(
        young,
        _draw(rng, "Primary_Support_Reason", PSR_MIX_YOUNG, n),
        _draw(rng, "Primary_Support_Reason", PSR_MIX_OLD, n),
    )
    accommodation = _draw(rng, "Accommodation_Status", ACCOMMODATION_COMMUNITY, n)
    if settings is not None:
        for setting, value in ACCOMMODATION_BY_SETTING.items():
            accommodation = np.where(
                settings == _code("Service_Type", setting), _code("Accommodation_Status", value), accommodation
            )
    is_su = client_type == "Service User"
    if not is_su:
        psr = np.full(n, _code("Primary_Support_Reason", "Social Support: Support to Carer"))
    persons.add(
        n,
        client_type=_code("Client_Type", client_type),
        dob=dob,
        gender=_draw(rng, "Gender", GENDER_MIX, n),
        ethnicity=_draw(rng, "Ethnicity", eth_mix, n),
        psr=psr,
        accommodation=accommodation,
        employment=np.where(
            young,
            _draw(rng, "Employment_Status", EMPLOYMENT_YOUNG, n),
            _draw(rng, "Employment_Status", EMPLOYMENT_OLD, n),
        ),
        unpaid_carer=_draw(rng, "Has_Unpaid_Carer", UNPAID_CARER_MIX, n),
        asd=_draw(rng, "Autism_Spectrum_Disorder_ASD", YES_NO_UNKNOWN_ASD, n) if is_su else -1,
        visual=_draw(rng, "Visual_Impairment", VISUAL_MIX, n) if is_su else -1,
        hearing=_draw(rng, "Hearing_Impairment", HEARING_MIX, n) if is_su else -1,
        dementia=_draw(rng, "Dementia", DEMENTIA_MIX, n) if is_su else -1,
        funding=_draw(rng, "Client_Funding_Status", FUNDING_MIX, n) if is_su else -1,
        gp=np.where(rng.random(n) < 0.97, rng.integers(0, 25, n), -1),
    )
    return np.arange(start, start + n)


def _service_details(rng, service_type: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Component, delivery mechanism, provider and costs for long-term service rows."""
    component = np.full(n, -1, dtype=np.int64)
    delivery = np.full(n, -1, dtype=np.int64)
    provider = np.full(n, -1, dtype=np.int64)
    cost_freq = np.full(n, -1, dtype=np.int64)
    unit_cost = np.full(n, np.nan)
    units = np.full(n, np.nan)
    community = service_type == _code("Service_Type", LTS + "Community")
    names = list(COMMUNITY_COMPONENTS)
    weights = np.array([COMMUNITY_COMPONENTS[k][0] for k in names], float)
    pick = rng.choice(len(names), size=n, p=weights / weights.sum())
    u_cost, u_units, u_deliv = rng.random(n), rng.random(n), rng.random(n)
    for i, name in enumerate(names):
        mask = community & (pick == i)
        _, freq, (c0, c1), (q0, q1) = COMMUNITY_COMPONENTS[name]
        component[mask] = _code("Service_Component", name)
        cost_freq[mask] = _code("Cost_Frequency_Unit_Type", freq)
        unit_cost[mask] = np.round(c0 + u_cost[mask] * (c1 - c0), 2)
        units[mask] = np.round((q0 + u_units[mask] * (q1 - q0)) * 2) / 2
    is_dp = community & (component == _code("Service_Component", "Direct Payment"))
    delivery[is_dp] = _code("Delivery_Mechanism", "Direct Payment")
    other = community & ~is_dp
    delivery[other] = np.where(
        u_deliv[other] < 0.7,
        _code("Delivery_Mechanism", "CASSR Commissioned Support"),
        _code("Delivery_Mechanism", "CASSR Managed Personal Budget"),
    )
    home = community & (component == _code("Service_Component", "Home Support")) & (u_deliv < 0.6)
    provider[home] = 40 + rng.integers(0, 20, int(home.sum()))
    for setting, comp in (
        (LTS + "Residential Care", "Long Term Residential Care"),
        (LTS + "Nursing Care", "Long Term Nursing Care"),
    ):
        mask = service_type == _code("Service_Type", setting)
        c0, c1 = CARE_HOME_COST[setting]
        component[mask] = _code("Service_Component", comp)
        cost_freq[mask] = _code("Cost_Frequency_Unit_Type", "Weekly")
        unit_cost[mask] = np.round(c0 + u_cost[mask] * (c1 - c0), 2)
        units[mask] = 1.0
        provider[mask] = rng.integers(0, 40, int(mask.sum()))
        deliv = mask & (u_deliv < 0.5)
        delivery[deliv] = _code("Delivery_Mechanism", "CASSR Commissioned Support")
    prison = service_type == _code("Service_Type", LTS + "Prison")
    component[prison] = _code("Service_Component", "Professional Support")
    delivery[prison] = _code("Delivery_Mechanism", "CASSR Commissioned Support")
    return {
        "component": component,
        "delivery": delivery,
        "provider": provider,
        "cost_freq": cost_freq,
        "unit_cost": unit_cost,
        "units": units,
    }


def _within(rng, lo: np.ndarray, hi: np.ndarray, rate_per_year: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson event days in [lo, hi) per interval: (interval index per event, day)."""
    length = np.maximum(hi - lo, 0)
    counts = rng.poisson(length * rate_per_year / 365.25)
    owner = np.repeat(np.arange(len(lo)), counts)
    day = lo[owner] + np.floor(rng.random(len(owner)) * length[owner]).astype(np.int64)
    return owner, day


def _simulate_world(
    council: pd.Series, council_index: int, seed: int, scale: float, first_day: int, horizon: int, faults: bool
) -> _World:
    """Simulate people and events of one council from ``first_day`` to ``horizon`` (days)."""
    rng = np.random.default_rng([seed, council_index, 2])
    region = str(council["region"])
    persons = _Columns(PERSON_DEFAULTS)
    events = _Columns(EVENT_DEFAULTS)
    T0, T1 = first_day, horizon
    window = T1 - T0
    st = functools.partial(_code, "Service_Type")
    ev = functools.partial(_code, "Event_Type")
    outcome = functools.partial(_code, "Event_Outcome")
    setting_names = list(SETTING_SHARE)

    # ---- long-term support spells: stock at T0, fresh arrivals, setting transitions ----------
    stock_total = max(1, int(round(scale * float(council["lts_31mar2026"]))))
    shares = np.array([SETTING_SHARE[s] for s in setting_names])
    stock = rng.multinomial(stock_total, shares / shares.sum())
    means = np.array([SPELL_MEAN_DAYS[s] for s in setting_names])
    inflow = stock_total * shares / means  # per day, the stationary entry rate by setting
    moved_in = np.zeros(len(setting_names))
    for i, s in enumerate(setting_names):
        for target, p in TRANSITION_AT_EXIT.get(s, {}).items():
            # a move happens only at an exit that is not a death
            moved_in[setting_names.index(target)] += inflow[i] * (1 - DEATH_AT_EXIT[s]) * p
    fresh_rate = np.maximum(inflow - moved_in, 0)
    sp_setting, sp_start, sp_origin, sp_age = [], [], [], []
    for i, s in enumerate(setting_names):
        n0 = int(stock[i])
        n1 = int(rng.poisson(fresh_rate[i] * window))
        sp_setting.append(np.full(n0 + n1, st(s)))
        sp_start.append(
            np.concatenate(
                [T0 - np.floor(rng.exponential(means[i], n0)).astype(np.int64) - 1, rng.integers(T0, T1, n1)]
            )
        )
        sp_origin.append(np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)]))
        age = _ages(rng, s, n0 + n1)
        if s == LTS + "Community":  # a few young people entering from children's services
            teen = (np.arange(n0 + n1) >= n0) & (rng.random(n0 + n1) < SHARE_TRANSITION_AGE_17)
            age[teen] = 17.0 + rng.random(int(teen.sum())) * 0.9
        sp_age.append(age)
    setting = np.concatenate(sp_setting)
    start = np.concatenate(sp_start)
    origin = np.concatenate(sp_origin)
    age = np.concatenate(sp_age)
    # Each initial or fresh spell is a new person; age is at T0 for the stock, at start for arrivals.
    age_day = np.where(origin == 0, T0, start)
    person = _new_people(rng, persons, len(setting), age, age_day, region, "Service User", settings=setting)
    mean_lookup = np.ones(len(_codes("Service_Type")))
    for s_name, days in SPELL_MEAN_DAYS.items():
        mean_lookup[st(s_name)] = days
    duration = np.floor(rng.exponential(mean_lookup[setting])).astype(np.int64) + 1
    end = np.where(origin == 0, T0 + duration - 1, start + duration)
    spells = {"setting": setting, "start": start, "end": end, "person": person, "origin": origin}
    all_spells = {k: [v] for k, v in spells.items()}
    death_by_code = np.zeros(len(_codes("Service_Type")))
    for s_name, p in DEATH_AT_EXIT.items():
        death_by_code[st(s_name)] = p
    exit_kind = []  # per spell: 0 still open at the horizon, 1 death, 2 moved to another setting, 3 other end
    current = spells
    for round_number in range(4):  # community -> residential -> nursing at most
        n = len(current["start"])
        u, v = rng.random(n), rng.random(n)
        kind = np.where(current["end"] >= T1, 0, np.where(u < death_by_code[current["setting"]], 1, 3))
        new_setting = np.full(n, -1)
        for s_name, targets in TRANSITION_AT_EXIT.items():
            cum = 0.0
            for target, p in targets.items():
                hit = (kind == 3) & (current["setting"] == st(s_name)) & (v >= cum) & (v < cum + p)
                if round_number < 3:
                    new_setting[hit] = st(target)
                    kind[hit] = 2
                cum += p
        exit_kind.append(kind)
        moved = kind == 2
        if not moved.any():
            break
        nxt_setting = new_setting[moved]
        nxt_start = current["end"][moved] + 1
        current = {
            "setting": nxt_setting,
            "start": nxt_start,
            "end": nxt_start + np.floor(rng.exponential(mean_lookup[nxt_setting])).astype(np.int64),
            "person": current["person"][moved],
            "origin": np.full(int(moved.sum()), 2),
        }
        for k, val in current.items():
            all_spells[k].append(val)
    spells = {k: np.concatenate(v) for k, v in all_spells.items()}
    exit_kind = np.concatenate(exit_kind)
    n_sp = len(spells["start"])
    spells["end"] = np.where(exit_kind == 0, NEVER, spells["end"])
    died = exit_kind == 1
    person_dod = np.full(sum(k for k, _ in persons.blocks), NEVER, dtype=np.int64)
    person_dod[spells["person"][died]] = spells["end"][died]
    # People who move to a care home now live there (latest known address is used on every row).
    person_setting = np.full(len(person_dod), -1, dtype=np.int64)
    person_setting[spells["person"]] = spells["setting"]  # last spell wins (transitions come later)

    # closing outcomes of spells
    spell_outcome = np.where(
        died,
        outcome("NFA - Deceased"),
        np.where(
            exit_kind == 2,
            outcome("Progress to Support Planning / Services"),
            _draw(rng, "Event_Outcome", SPELL_END_OUTCOMES, n_sp),
        ),
    )

    # ---- service rows of the spells: base row, concurrent extra rows, split packages ---------
    details = _service_details(rng, spells["setting"], n_sp)
    death_lag = _lag(rng, LAG_MEAN["death"], n_sp) + 1
    death_blank = died & (rng.random(n_sp) < 0.3)

    def add_service_rows(idx, row_start, row_end, row_outcome, det):
        k = len(idx)
        is_death_end = died[idx] & (row_end == spells["end"][idx])
        lag_end = np.where(is_death_end, death_lag[idx], _lag(rng, LAG_MEAN["service_end"], k))
        events.add(
            k,
            person=spells["person"][idx],
            etype=ev("Service"),
            start=row_start,
            end=row_end,
            lag_start=_lag(rng, LAG_MEAN["service_start"], k),
            lag_end=lag_end,
            outcome=row_outcome,
            service_type=spells["setting"][idx],
            death_blank_end=(death_blank[idx] & is_death_end),
            description=np.where(rng.random(k) < 0.2, 2, -1),
            **{c: v[idx] for c, v in det.items()},
        )

    split = (rng.random(n_sp) < SHARE_SPLIT_PACKAGE) & (np.minimum(spells["end"], T1) - spells["start"] > 60)
    split_day = (
        spells["start"]
        + 30
        + np.floor(rng.random(n_sp) * np.maximum(np.minimum(spells["end"], T1) - spells["start"] - 60, 1)).astype(
            np.int64
        )
    )
    whole = np.flatnonzero(~split)
    add_service_rows(whole, spells["start"][whole], spells["end"][whole], spell_outcome[whole], details)
    parts = np.flatnonzero(split)
    add_service_rows(
        parts,
        spells["start"][parts],
        split_day[parts] - 1,
        np.full(len(parts), outcome("Service ended as planned")),
        details,
    )
    repriced = {k: v.copy() for k, v in details.items()}
    repriced["unit_cost"] = np.round(repriced["unit_cost"] * (1.0 + 0.1 * rng.random(n_sp)), 2)
    add_service_rows(parts, split_day[parts], spells["end"][parts], spell_outcome[parts], repriced)
    concurrent = np.flatnonzero(
        (spells["setting"] == st(LTS + "Community")) & (rng.random(n_sp) < SHARE_CONCURRENT_ROW)
    )
    extra = _service_details(rng, spells["setting"], n_sp)
    dp = _code("Service_Component", "Direct Payment")
    home = _code("Service_Component", "Home Support")
    base_dp = details["component"] == dp
    # the second row is a direct payment beside commissioned support, or home support beside a DP
    extra_dp = _service_details(np.random.default_rng([seed, council_index, 5]), spells["setting"], n_sp)
    for k in extra:
        extra[k] = np.where(base_dp, extra[k], extra_dp[k])
    extra["component"] = np.where(base_dp, home, dp)
    extra["delivery"] = np.where(
        base_dp,
        _code("Delivery_Mechanism", "CASSR Commissioned Support"),
        _code("Delivery_Mechanism", "Direct Payment"),
    )
    extra["cost_freq"] = np.where(
        base_dp, _code("Cost_Frequency_Unit_Type", "Hourly"), _code("Cost_Frequency_Unit_Type", "Weekly")
    )
    extra["unit_cost"] = np.where(
        base_dp, np.round(18 + 14 * rng.random(n_sp), 2), np.round(80 + 500 * rng.random(n_sp), 2)
    )
    extra["units"] = np.where(base_dp, np.round((2 + 20 * rng.random(n_sp)) * 2) / 2, 1.0)
    extra["provider"] = np.where(base_dp, 40 + rng.integers(0, 20, n_sp), -1)
    add_service_rows(
        concurrent, spells["start"][concurrent], spells["end"][concurrent], spell_outcome[concurrent], extra
    )

    # ---- reviews, reassessments, financial reviews during spells ------------------------------
    lo = np.maximum(spells["start"], T0 - 60)
    hi = np.minimum(spells["end"], T1)
    for rate, planned in ((PLANNED_REVIEWS_PER_YEAR, True), (UNPLANNED_REVIEWS_PER_YEAR, False)):
        owner, day = _within(rng, lo, hi, rate)
        k = len(owner)
        reason = (
            np.full(k, _code("Review_Reason", "Planned"))
            if planned
            else _draw(rng, "Review_Reason", UNPLANNED_REVIEW_REASONS, k)
        )
        achieved = _draw(rng, "Review_Outcomes_Achieved", REVIEW_ACHIEVED, k)
        if not planned:
            achieved = np.where(rng.random(k) < 0.5, achieved, -1)
        events.add(
            k,
            person=spells["person"][owner],
            etype=ev("Review"),
            start=day - rng.integers(0, 21, k),
            end=day,
            lag_end=_lag(rng, LAG_MEAN["other"], k),
            outcome=_draw(rng, "Event_Outcome", REVIEW_OUTCOMES, k),
            review_reason=reason,
            review_achieved=achieved,
            review_method=_draw(rng, "Method_of_Review", REVIEW_METHOD, k),
            description=np.where(rng.random(k) < 0.2, 3, -1),
        )
    owner, day = _within(rng, lo, hi, REASSESSMENTS_PER_YEAR)
    k = len(owner)
    events.add(
        k,
        person=spells["person"][owner],
        etype=ev("Assessment"),
        start=day - rng.integers(0, 30, k),
        end=day,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome("Progress to Support Planning / Services"),
        assess_type=_code("Assessment_Type", "Long Term Assessment"),
        eligible=_code("Eligible_Needs_Identified", "Yes"),
        assess_method=_draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )
    owner, day = _within(rng, lo, hi, FINANCIAL_REVIEWS_PER_YEAR)
    k = len(owner)
    events.add(
        k,
        person=spells["person"][owner],
        etype=ev("Assessment"),
        start=day - rng.integers(0, 30, k),
        end=day,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        assess_type=_code("Assessment_Type", "Financial Assessment - Review"),
    )
    # a reassessment before each move to a care home
    moved = np.flatnonzero(spells["origin"] == 2)
    k = len(moved)
    a_end = spells["start"][moved] - rng.integers(1, 21, k)
    events.add(
        k,
        person=spells["person"][moved],
        etype=ev("Assessment"),
        start=a_end - rng.integers(0, 21, k),
        end=a_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome("Progress to Support Planning / Services"),
        assess_type=_code("Assessment_Type", "Long Term Assessment"),
        eligible=_code("Eligible_Needs_Identified", "Yes"),
        assess_method=_draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )

    # ---- the new-client chains of fresh spells --------------------------------------------------
    assessed_per_day = scale * float(council["assessments_apr25_mar26"]) / 365.25
    fresh = np.flatnonzero(spells["origin"] == 1)
    fresh_per_day = len(fresh) / max(window, 1)
    p_chain = min(NEW_CLIENT_ASSESSED, 0.85 * assessed_per_day / fresh_per_day) if fresh_per_day > 0 else 0.0
    chained = fresh[rng.random(len(fresh)) < p_chain]
    k = len(chained)
    via_stmax = rng.random(k) < NEW_CLIENT_VIA_STMAX
    stmax_len = rng.integers(14, 57, k)
    stmax_start = spells["start"][chained] - stmax_len
    a_end = np.where(via_stmax, stmax_start - rng.integers(0, 11, k), spells["start"][chained] - rng.integers(1, 29, k))
    a_start = a_end - np.minimum(np.floor(rng.exponential(10, k)).astype(np.int64), 60)
    r_end = a_start - rng.integers(0, 15, k)
    route = _draw(rng, "Request_Route_of_Access", ROUTE_NEW_CLIENT, k)
    ages_now = (spells["start"][chained] - persons_dob(persons)[spells["person"][chained]]) / 365.25
    route = np.where(ages_now < 18, _code("Request_Route_of_Access", "Planned Entry (Transition)"), route)
    route = np.where(
        spells["setting"][chained] == st(LTS + "Prison"), _code("Request_Route_of_Access", "Prison"), route
    )
    who = spells["person"][chained]
    events.add(
        k,
        person=who,
        etype=ev("Request"),
        start=r_end - rng.integers(0, 4, k),
        end=r_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome("Progress to Assessment"),
        route=route,
        psr_blank=(rng.random(k) < 0.6),
        description=np.where(rng.random(k) < 0.2, 0, -1),
    )
    events.add(
        k,
        person=who,
        etype=ev("Assessment"),
        start=a_start,
        end=a_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=np.where(
            via_stmax, outcome("Progress to Reablement/ST-Max"), outcome("Progress to Support Planning / Services")
        ),
        assess_type=np.where(
            via_stmax,
            _code("Assessment_Type", "Short Term Assessment"),
            _code("Assessment_Type", "Long Term Assessment"),
        ),
        eligible=_code("Eligible_Needs_Identified", "Yes"),
        assess_method=_draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
        description=np.where(rng.random(k) < 0.2, 1, -1),
    )
    s_idx = np.flatnonzero(via_stmax)
    m = len(s_idx)
    events.add(
        m,
        person=who[s_idx],
        etype=ev("Service"),
        start=stmax_start[s_idx],
        end=spells["start"][chained][s_idx] - 1,
        lag_start=_lag(rng, LAG_MEAN["service_start"], m),
        lag_end=_lag(rng, LAG_MEAN["service_end"], m),
        outcome=outcome("Progress to Support Planning / Services"),
        service_type=st("Short Term Support: ST-Max"),
        component=_code("Service_Component", "Reablement"),
        delivery=_code("Delivery_Mechanism", "CASSR Commissioned Support"),
        description=np.where(rng.random(m) < 0.3, 5, -1),
    )
    # financial assessments of new long-term clients (no outcome, no method)
    fin = fresh[rng.random(len(fresh)) < FINANCIAL_ASSESSMENT]
    k = len(fin)
    f_start = spells["start"][fin] + rng.integers(0, 31, k)
    f_end = f_start + rng.integers(1, 41, k)
    keep = f_end < spells["end"][fin]
    fin, f_start, f_end = fin[keep], f_start[keep], f_end[keep]
    k = len(fin)
    events.add(
        k,
        person=spells["person"][fin],
        etype=ev("Assessment"),
        start=f_start,
        end=f_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        assess_type=np.where(
            rng.random(k) < 0.65,
            _code("Assessment_Type", "Financial Assessment - Full"),
            _code("Assessment_Type", "Financial Assessment - Light Touch"),
        ),
    )

    # ---- new clients assessed who do not go on to long-term support -----------------------------
    chained_per_day = len(chained) / max(window, 1)
    other_rate = max(assessed_per_day - chained_per_day, 0.1 * assessed_per_day)
    lead = 60
    k = int(rng.poisson(other_rate * (window + lead)))
    a_end = rng.integers(T0 - lead, T1, k) if k else np.zeros(0, np.int64)
    old = rng.random(k) < 0.7
    ages = np.where(old, 65 + rng.gamma(2.6, 6.5, k), 18 + rng.random(k) * 47)
    who = _new_people(rng, persons, k, ages, a_end, region, "Service User")
    a_start = a_end - np.minimum(np.floor(rng.exponential(10, k)).astype(np.int64), 60)
    r_end = a_start - rng.integers(0, 15, k)
    a_outcome = _draw(rng, "Event_Outcome", NEW_ASSESSED_OUTCOMES, k)
    events.add(
        k,
        person=who,
        etype=ev("Request"),
        start=r_end - rng.integers(0, 4, k),
        end=r_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome("Progress to Assessment"),
        route=_draw(rng, "Request_Route_of_Access", ROUTE_NEW_CLIENT, k),
        psr_blank=(rng.random(k) < 0.6),
    )
    progress = (a_outcome == outcome("Progress to Reablement/ST-Max")) | (
        a_outcome == outcome("Progress to Support Planning / Services")
    )
    events.add(
        k,
        person=who,
        etype=ev("Assessment"),
        start=a_start,
        end=a_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=a_outcome,
        assess_type=np.where(
            rng.random(k) < 0.7,
            _code("Assessment_Type", "Long Term Assessment"),
            _code("Assessment_Type", "Short Term Assessment"),
        ),
        eligible=np.where(
            progress | (rng.random(k) < 0.4),
            _code("Eligible_Needs_Identified", "Yes"),
            _code("Eligible_Needs_Identified", "No"),
        ),
        assess_method=_draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )
    # short-term support after those assessments
    is_stmax = a_outcome == outcome("Progress to Reablement/ST-Max")
    is_plan = a_outcome == outcome("Progress to Support Planning / Services")
    s_start = a_end + rng.integers(1, 15, k)
    s_len = np.where(is_stmax, rng.integers(14, 57, k), rng.integers(7, 120, k))
    kind_u = rng.random(k)
    s_type = np.where(
        is_stmax,
        st("Short Term Support: ST-Max"),
        np.where(kind_u < 0.5, st("Short Term Support: Ongoing Low Level"), st("Short Term Support: Other Short Term")),
    )
    comp_c = functools.partial(_code, "Service_Component")
    s_comp = np.where(
        is_stmax,
        comp_c("Reablement"),
        np.where(
            kind_u < 0.3,
            comp_c("Equipment"),
            np.where(
                kind_u < 0.5,
                comp_c("Professional Support"),
                np.where(kind_u < 0.75, comp_c("Short Term Residential Care"), comp_c("Other Short Term Support")),
            ),
        ),
    )
    st_res = s_comp == comp_c("Short Term Residential Care")
    sel = np.flatnonzero(is_stmax | is_plan)
    m = len(sel)
    events.add(
        m,
        person=who[sel],
        etype=ev("Service"),
        start=s_start[sel],
        end=s_start[sel] + s_len[sel],
        lag_start=_lag(rng, LAG_MEAN["service_start"], m),
        lag_end=_lag(rng, LAG_MEAN["service_end"], m),
        outcome=outcome("Service ended as planned"),
        service_type=s_type[sel],
        component=s_comp[sel],
        delivery=_code("Delivery_Mechanism", "CASSR Commissioned Support"),
        provider=np.where(st_res[sel], rng.integers(0, 40, m), -1),
        cost_freq=np.where(st_res[sel], _code("Cost_Frequency_Unit_Type", "Weekly"), -1),
        unit_cost=np.where(st_res[sel], np.round(600 + 500 * rng.random(m), 2), np.nan),
        units=np.where(st_res[sel], 1.0, np.nan),
    )

    # ---- requests ending in advice or nothing --------------------------------------------------
    k = int(rng.poisson(REQUESTS_ONLY_PER_ASSESSED * assessed_per_day * (window + 10)))
    r_end = rng.integers(T0 - 10, T1, k) if k else np.zeros(0, np.int64)
    ages = np.where(rng.random(k) < 0.65, 65 + rng.gamma(2.6, 6.5, k), 18 + rng.random(k) * 47)
    who = _new_people(rng, persons, k, ages, r_end, region, "Service User")
    events.add(
        k,
        person=who,
        etype=ev("Request"),
        start=r_end - rng.integers(0, 4, k),
        end=r_end,
        lag_end=_lag(rng, LAG_MEAN["other"], k),
        outcome=_draw(rng, "Event_Outcome", REQUEST_ONLY_OUTCOMES, k),
        route=_draw(
            rng,
            "Request_Route_of_Access",
            {
                "Community / Other route": 70,
                "Discharge from Hospital": 15,
                "Self-Funder": 10,
                "Diversion from Hospital Services": 5,
            },
            k,
        ),
        psr_blank=(rng.random(k) < 0.6),
        description=np.where(rng.random(k) < 0.2, 0, -1),
    )

    # ---- carers with their own events ---------------------------------------------------------
    lts_people = spells["person"]
    carer_stock = int(round(CARERS_PER_LTS * stock_total))
    n_new = int(rng.poisson(carer_stock / CARER_SPELL_MEAN_DAYS * window))
    k = carer_stock + n_new
    c_start = np.concatenate(
        [
            T0 - np.floor(rng.exponential(CARER_SPELL_MEAN_DAYS, carer_stock)).astype(np.int64) - 1,
            rng.integers(T0, T1, n_new),
        ]
    )
    c_end = c_start + np.floor(rng.exponential(CARER_SPELL_MEAN_DAYS, k)).astype(np.int64) + 1
    c_end = np.where(c_start < T0, np.maximum(c_end, T0), c_end)
    c_end = np.where(c_end >= T1, NEVER, c_end)
    who = _new_people(rng, persons, k, 30 + rng.gamma(4, 8, k), c_start, region, "Carer")
    _carer_person_fields(rng, persons, who, lts_people)
    is_new = np.arange(k) >= carer_stock
    nw = np.flatnonzero(is_new)
    kk = len(nw)
    a_end = c_start[nw] - rng.integers(1, 21, kk)
    events.add(
        kk,
        person=who[nw],
        etype=ev("Request"),
        start=a_end - rng.integers(10, 40, kk),
        end=a_end - rng.integers(5, 10, kk),
        lag_end=_lag(rng, LAG_MEAN["other"], kk),
        outcome=outcome("Progress to Assessment"),
        route=_code("Request_Route_of_Access", "Community / Other route"),
    )
    events.add(
        kk,
        person=who[nw],
        etype=ev("Assessment"),
        start=a_end - rng.integers(0, 5, kk),
        end=a_end,
        lag_end=_lag(rng, LAG_MEAN["other"], kk),
        outcome=outcome("Progress to Support Planning / Services"),
        assess_type=_code("Assessment_Type", "Long Term Assessment"),
        eligible=_code("Eligible_Needs_Identified", "Yes"),
        assess_method=_draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, kk),
    )
    u = rng.random(k)
    direct = u < 0.7
    c_type = np.where(
        direct, st("Carer Support: Direct to Carer"), st("Carer Support: Support involving the person cared-for")
    )
    c_comp = np.where(
        direct,
        np.where(
            u < 0.35,
            comp_c("Direct Payment"),
            np.where(u < 0.5, comp_c("Carer Universal Services"), comp_c("Other Carer Support")),
        ),
        np.where(u < 0.85, comp_c("Carer Respite"), comp_c("Carer Sitting Service")),
    )
    c_dp = c_comp == comp_c("Direct Payment")
    events.add(
        k,
        person=who,
        etype=ev("Service"),
        start=c_start,
        end=c_end,
        lag_start=_lag(rng, LAG_MEAN["service_start"], k),
        lag_end=_lag(rng, LAG_MEAN["service_end"], k),
        outcome=outcome("Service ended as planned"),
        service_type=c_type,
        component=c_comp,
        delivery=np.where(
            c_dp,
            _code("Delivery_Mechanism", "Direct Payment"),
            _code("Delivery_Mechanism", "CASSR Managed Personal Budget"),
        ),
        cost_freq=np.where(
            c_dp, _code("Cost_Frequency_Unit_Type", "One-off"), _code("Cost_Frequency_Unit_Type", "Weekly")
        ),
        unit_cost=np.round(np.where(c_dp, 150 + 350 * rng.random(k), 40 + 200 * rng.random(k)), 2),
        units=1.0,
        description=np.where(rng.random(k) < 0.2, 6, -1),
    )
    owner, day = _within(rng, np.maximum(c_start, T0 - 60), np.minimum(c_end, T1), 1.0)
    kk = len(owner)
    events.add(
        kk,
        person=who[owner],
        etype=ev("Review"),
        start=day - rng.integers(0, 14, kk),
        end=day,
        lag_end=_lag(rng, LAG_MEAN["other"], kk),
        outcome=_draw(rng, "Event_Outcome", REVIEW_OUTCOMES, kk),
        review_reason=_code("Review_Reason", "Planned"),
        review_achieved=_draw(rng, "Review_Outcomes_Achieved", REVIEW_ACHIEVED, kk),
        review_method=_code("Method_of_Review", "Carer only"),
    )

    # ---- carers known by association: one row per file while the cared-for person's spell shows --
    k = int(round(CARERS_BY_ASSOCIATION_PER_LTS * stock_total))
    linked_spell = rng.integers(0, n_sp, k) if n_sp else np.zeros(0, np.int64)
    who = _new_people(
        rng, persons, k, 35 + rng.gamma(4, 8, k), spells["start"][linked_spell], region, "Carer known by association"
    )
    _carer_person_fields(rng, persons, who, spells["person"][linked_spell], single=True)
    events.add(
        k,
        person=who,
        etype=-1,
        start=spells["start"][linked_spell],
        end=spells["end"][linked_spell],
        lag_start=_lag(rng, LAG_MEAN["service_start"], k),
        lag_end=_lag(rng, LAG_MEAN["service_end"], k),
    )

    # ---- assemble, then person-level attributes that depend on events ---------------------------
    P = persons.build()
    E = events.build()
    n_people = len(P["dob"])
    dod = np.full(n_people, NEVER, dtype=np.int64)
    dod[: len(person_dod)] = person_dod
    P["dod"] = dod
    P["dod_lag"] = np.zeros(n_people, np.int64)
    died_people = spells["person"][died]
    P["dod_lag"][died_people] = death_lag[died]
    acc = P["accommodation"]
    for s, value in ACCOMMODATION_BY_SETTING.items():
        in_setting = np.zeros(n_people, bool)
        in_setting[: len(person_setting)] = person_setting == st(s)
        acc[in_setting] = _code("Accommodation_Status", value)
    # events of a person after their death do not happen
    alive = E["start"] <= P["dod"][E["person"]]
    E = {k: v[alive] for k, v in E.items()}
    # person-level faults (persistent across files)
    if faults:
        u = rng.random((n_people, 3))
        P["nhs_blank"] = (u[:, 0] < FAULT_RATES["nhs_number_blank_person"]).astype(np.int64)
        P["dob_fault"] = np.where(
            u[:, 1] < FAULT_RATES["date_of_birth_future"],
            1,
            np.where(u[:, 2] < FAULT_RATES["date_of_birth_too_old"], 2, 0),
        )
    strings = _world_strings(rng, council, region, n_people, len(E["start"]), E)
    return _World(str(council["la_code"]), region, P, E, strings, T1)


def persons_dob(persons: _Columns) -> np.ndarray:
    """Birth days of the people added so far (used while the world is being built)."""
    return np.concatenate([np.broadcast_to(np.asarray(c["dob"]), (n,)) for n, c in persons.blocks])


def _carer_person_fields(rng, persons: _Columns, who: np.ndarray, cared_for: np.ndarray, single: bool = False) -> None:
    """Carer fields of the last added block (``who``): hours, adults cared for, linked IDs."""
    k = len(who)
    if not k or not len(cared_for):
        return
    n, cols = persons.blocks[-1]
    has_link = np.ones(k, bool) if single else rng.random(k) < 0.75
    linked = np.where(has_link, cared_for[rng.integers(0, len(cared_for), k)] if not single else cared_for, -1)
    two = (~np.asarray(single)) & has_link & (rng.random(k) < 0.08)
    cols["linked1"] = linked
    cols["linked2"] = np.where(two, cared_for[rng.integers(0, len(cared_for), k)], -1)
    cols["n_adults"] = np.where(two, 2, 1)
    cols["carer_hours"] = _draw(rng, "Total_Hrs_Caring_per_week", CARER_HOURS, k)
    cols["unpaid_carer"] = _code("Has_Unpaid_Carer", "Unknown")
    cols["employment"] = np.where(rng.random(k) < 0.5, -1, cols["employment"])


def _nhs_numbers(rng, n: int) -> np.ndarray:
    """``n`` distinct 10-digit NHS numbers (prefix 400-799) with a valid modulus-11 check digit."""
    base = rng.choice(400_000_000, size=int(n * 1.2) + 10, replace=False) + 400_000_000
    digits = (base[:, None] // (10 ** np.arange(8, -1, -1))) % 10
    total = (digits * np.arange(10, 1, -1)).sum(axis=1)
    check = (11 - total % 11) % 11
    ok = check != 10
    return (base[ok] * 10 + check[ok])[:n]


def _world_strings(rng, council: pd.Series, region: str, n_people: int, n_events: int, E) -> dict[str, pa.Array]:
    """Per-person and per-event strings, and the council's pools of GP practices and providers."""
    nhs = _nhs_numbers(rng, n_people)
    la_ids = rng.choice(9_000_000, size=n_people, replace=False) + 1_000_000
    areas = POSTCODE_AREAS.get(region, ("LS",))
    council_areas = [areas[i] for i in rng.choice(len(areas), size=min(2, len(areas)), replace=False)]
    area = pa.array(np.array(council_areas, dtype=object)[rng.integers(0, len(council_areas), n_people)], pa.string())
    letters = np.array(list(POSTCODE_UNIT_LETTERS), dtype=object)
    district = pa.array(rng.integers(1, 30, n_people)).cast(pa.string())
    sector = pa.array(rng.integers(0, 10, n_people)).cast(pa.string())
    unit = pc.binary_join_element_wise(
        pa.array(letters[rng.integers(0, 20, n_people)], pa.string()),
        pa.array(letters[rng.integers(0, 20, n_people)], pa.string()),
        "",
    )
    outward = pc.binary_join_element_wise(area, district, "")
    inward = pc.binary_join_element_wise(sector, unit, "")
    postcode = pc.binary_join_element_wise(outward, inward, " ")
    gp_letter = "ABCDEFGHJKLMNPY"[int(rng.integers(0, 15))]
    gp_codes = [f"{gp_letter}{c:05d}" for c in rng.choice(90_000, size=25, replace=False) + 10_000]
    words = rng.permutation(len(PLACE_WORDS))
    gp_names = [
        f"{PLACE_WORDS[words[i % len(words)]]} {('Surgery', 'Medical Centre', 'Health Centre', 'Practice')[i % 4]}"
        for i in range(25)
    ]
    cqc_ids = [f"1-{c}" for c in rng.choice(9_000_000_000, size=60, replace=False) + 100_000_000]
    provider_names = [
        f"{PLACE_WORDS[words[i % len(words)]]} {('House', 'Lodge', 'Court', 'Manor')[i % 4]}" for i in range(40)
    ] + [f"{PLACE_WORDS[words[i % len(words)]]} Homecare Ltd" for i in range(20)]
    ref = rng.choice(90_000_000, size=n_events, replace=False) + 10_000_000
    return {
        "nhs": pa.array(nhs).cast(pa.string()),
        "la_id": pc.binary_join_element_wise("P", pa.array(la_ids).cast(pa.string()), ""),
        "postcode": postcode,
        "gp_code": pa.array(gp_codes, pa.string()),
        "gp_name": pa.array(gp_names, pa.string()),
        "cqc_id": pa.array(cqc_ids, pa.string()),
        "cqc_name": pa.array(provider_names, pa.string()),
        "event_ref": pc.binary_join_element_wise("EV", pa.array(ref).cast(pa.string()), ""),
        "unit_cost": pc.cast(pa.array(E["unit_cost"], from_pandas=True), pa.string()),
        "units": pc.cast(pa.array(E["units"], from_pandas=True), pa.string()),
        "first_female": pa.array(FIRST_NAMES_FEMALE, pa.string()),
        "first_male": pa.array(FIRST_NAMES_MALE, pa.string()),
        "first_index": pa.array(rng.integers(0, len(FIRST_NAMES_FEMALE), n_people)),
        "last_index": pa.array(rng.integers(0, len(LAST_NAMES), n_people)),
    }


# =============================================================================================
# Rendering one submission
# =============================================================================================
@dataclass
class _FileResult:
    name: str
    rows: int
    faults: pd.DataFrame  # file,row_number,field,kind


@functools.cache
def _code_strings(field_name: str) -> pa.Array:
    return pa.array(list(_codes(field_name)), pa.string())


def _csv_escape(values: pa.Array) -> pa.Array:
    """Quote values that hold a comma, quote or line break, as Excel does when saving CSV."""
    needs = pc.match_substring_regex(values, r'[,"\r\n]')
    if not pc.any(needs).as_py():
        return values
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def _view(world: _World, period_start: int, period_end: int, known_by: int):
    """Events visible in a file: (event index per row, shown end day or -1, death shown per row)."""
    E, P = world.events, world.persons
    etype = E["etype"]
    is_service_like = (etype == _code("Event_Type", "Service")) | (etype == -1)
    service_visible = (
        is_service_like
        & (E["start"] <= period_end)
        & (E["start"] + E["lag_start"] <= known_by)
        & (E["end"] >= period_start)
    )
    completed_visible = (
        ~is_service_like & (E["end"] >= period_start) & (E["end"] <= period_end) & (E["end"] + E["lag_end"] <= known_by)
    )
    rows = np.flatnonzero(service_visible | completed_visible)
    person = E["person"][rows]
    # Rows grouped by person (in LA person ID order), then by event start: like an extract from a case system.
    order = np.lexsort((rows, E["start"][rows], person))
    rows = rows[order]
    person = person[order]
    end = E["end"][rows]
    end_known = (end <= period_end) & (end + E["lag_end"][rows] <= known_by)
    dod = P["dod"][person]
    death_known = (dod <= period_end) & (dod + P["dod_lag"][person] <= known_by)
    shown_end = np.where(end_known & ~(E["death_blank_end"][rows].astype(bool) & death_known), end, -1)
    return rows, shown_end, death_known


def _build_columns(
    world: _World, rows: np.ndarray, shown_end: np.ndarray, death_known: np.ndarray, period_start: int, period_end: int
) -> dict[str, list]:
    """Every spec field as [dictionary of strings, index per row (-1 = blank), needs escaping]."""
    E, P, S = world.events, world.persons, world.strings
    n = len(rows)
    person = E["person"][rows]
    etype = E["etype"][rows]
    client = P["client_type"][person]
    su = client == _code("Client_Type", "Service User")
    carer_like = ~su  # both carer client types
    event_row = etype >= 0
    dates = _date_strings()
    blank = np.full(n, -1, dtype=np.int64)

    def ev_code(field_name, values):
        return [_code_strings(field_name), values, True]

    def date(days, mask=None):
        idx = np.asarray(days, dtype=np.int64) - DAY0
        if mask is not None:
            idx = np.where(mask, idx, -1)
        return [dates, idx, False]

    gender = P["gender"][person]
    first_idx = np.asarray(S["first_index"])[person]
    female = gender == _code("Gender", "Female")
    male_or = ~female
    first_dict = pa.concat_arrays([S["first_female"], S["first_male"]])
    first = np.where(
        female | ((gender != _code("Gender", "Male")) & (first_idx % 2 == 0)),
        first_idx,
        len(FIRST_NAMES_FEMALE) + first_idx % len(FIRST_NAMES_MALE),
    )
    del male_or
    dob = P["dob"][person]
    dob = np.where(P["dob_fault"][person] == 1, period_end + 400 + person % 300, dob)
    dob = np.where(P["dob_fault"][person] == 2, _day("1900-01-01"), dob)
    is_service = etype == _code("Event_Type", "Service")
    outcome = E["outcome"][rows]
    open_service = is_service & (shown_end < 0)
    outcome = np.where(
        open_service,
        np.where(
            death_known & E["death_blank_end"][rows].astype(bool),
            _code("Event_Outcome", "NFA - Deceased"),
            _code("Event_Outcome", "Provision of service"),
        ),
        outcome,
    )
    is_request = etype == _code("Event_Type", "Request")
    psr = np.where(is_request & (E["psr_blank"][rows] == 1), -1, P["psr"][person])
    provider = E["provider"][rows]
    cost_present = ~np.isnan(E["unit_cost"][rows])
    linked = [np.where(carer_like & (P[k][person] >= 0), P[k][person], -1) for k in ("linked1", "linked2")]
    cols: dict[str, list] = {
        "LA_Code": [pa.array([world.la_code]), np.zeros(n, np.int64), False],
        "Reporting_Period_Start_Date": date(np.full(n, period_start)),
        "Reporting_Period_End_Date": date(np.full(n, period_end)),
        "NHS_Number": [S["nhs"], person.copy(), False],
        "LA_Person_Unique_Identifier": [S["la_id"], person.copy(), False],
        "First_Name": [first_dict, first, True],
        "Last_Name": [pa.array(LAST_NAMES, pa.string()), np.asarray(S["last_index"])[person], True],
        "GP_Practice_Name": [S["gp_name"], P["gp"][person], True],
        "GP_Practice_Code": [S["gp_code"], P["gp"][person], False],
        "Gender": ev_code("Gender", gender),
        "Ethnicity": ev_code("Ethnicity", P["ethnicity"][person]),
        "Date_of_Birth": date(dob),
        "Date_of_Death": date(P["dod"][person], death_known),
        "Client_Type": ev_code("Client_Type", client),
        "Primary_Support_Reason": ev_code("Primary_Support_Reason", psr),
        "Postcode": [S["postcode"], person.copy(), False],
        "Accommodation_Status": ev_code("Accommodation_Status", P["accommodation"][person]),
        "Employment_Status": ev_code("Employment_Status", P["employment"][person]),
        "Has_Unpaid_Carer": ev_code("Has_Unpaid_Carer", P["unpaid_carer"][person]),
        "Autism_Spectrum_Disorder_ASD": ev_code("Autism_Spectrum_Disorder_ASD", np.where(su, P["asd"][person], -1)),
        "Visual_Impairment": ev_code("Visual_Impairment", np.where(su, P["visual"][person], -1)),
        "Hearing_Impairment": ev_code("Hearing_Impairment", np.where(su, P["hearing"][person], -1)),
        "Dementia": ev_code("Dementia", np.where(su, P["dementia"][person], -1)),
        "Client_Funding_Status": ev_code("Client_Funding_Status", np.where(su & ~is_request, P["funding"][person], -1)),
        "Event_Type": ev_code("Event_Type", etype),
        "Event_Reference": [S["event_ref"], np.where(event_row, rows, -1), False],
        "Event_Start_Date": date(E["start"][rows], event_row),
        "Event_End_Date": date(shown_end, shown_end >= 0),
        "Event_Description": [pa.array(DESCRIPTIONS, pa.string()), E["description"][rows], True],
        "Event_Outcome": ev_code("Event_Outcome", outcome),
        "Request_Route_of_Access": ev_code("Request_Route_of_Access", E["route"][rows]),
        "Assessment_Type": ev_code("Assessment_Type", E["assess_type"][rows]),
        "Eligible_Needs_Identified": ev_code("Eligible_Needs_Identified", E["eligible"][rows]),
        "Method_of_Assessment": ev_code("Method_of_Assessment", E["assess_method"][rows]),
        "Total_Hrs_Caring_per_week": ev_code(
            "Total_Hrs_Caring_per_week", np.where(carer_like, P["carer_hours"][person], -1)
        ),
        "No_of_adults_being_cared_for": [
            pa.array(["1", "2", "3"]),
            np.where(carer_like & (P["n_adults"][person] > 0), P["n_adults"][person] - 1, -1),
            False,
        ],
        "Adult_1_Linked_Person_ID": [S["la_id"], linked[0], False],
        "Adult_2_Linked_Person_ID": [S["la_id"], linked[1], False],
        "Adult_3_Linked_Person_ID": [S["la_id"], blank, False],
        "Service_Type": ev_code("Service_Type", E["service_type"][rows]),
        "Service_Component": ev_code("Service_Component", E["component"][rows]),
        "Delivery_Mechanism": ev_code("Delivery_Mechanism", E["delivery"][rows]),
        "Provider_CQC_Location_Name": [S["cqc_name"], provider, True],
        "Provider_CQC_Location_ID": [S["cqc_id"], provider, False],
        "Review_Reason": ev_code("Review_Reason", E["review_reason"][rows]),
        "Review_Outcomes_Achieved": ev_code("Review_Outcomes_Achieved", E["review_achieved"][rows]),
        "Method_of_Review": ev_code("Method_of_Review", E["review_method"][rows]),
        "Unit_Cost": [S["unit_cost"], np.where(cost_present, rows, -1), False],
        "Cost_Frequency_Unit_Type": ev_code("Cost_Frequency_Unit_Type", E["cost_freq"][rows]),
        "Planned_units_per_week": [S["units"], np.where(cost_present, rows, -1), False],
    }
    return cols


# ----------------------------------------------------------------------------------------------
# Cell faults
# ----------------------------------------------------------------------------------------------
MANDATORY_ALWAYS = ("Gender", "Ethnicity", "Postcode", "Accommodation_Status", "Has_Unpaid_Carer", "Date_of_Birth")
INVALID_SPELLINGS = {
    ("Gender", "Female"): "Femail",
    ("Gender", "Male"): "Mael",
    ("Client_Type", "Service User"): "Servce User",
    ("Event_Type", "Assessment"): "Assesment",
    ("Has_Unpaid_Carer", "Yes"): "Y",
}
LOOSE_FAULT_FIELDS = (
    "Gender",
    "Client_Type",
    "Event_Type",
    "Has_Unpaid_Carer",
    "Dementia",
    "Ethnicity",
    "Service_Type",
    "Accommodation_Status",
)
INVALID_FAULT_FIELDS = (
    "Gender",
    "Client_Type",
    "Event_Type",
    "Has_Unpaid_Carer",
    "Service_Type",
    "Event_Outcome",
    "Primary_Support_Reason",
)


def _normalised(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip()).casefold()


def _misspell(field_name: str, value: str) -> str:
    if (field_name, value) in INVALID_SPELLINGS:
        return INVALID_SPELLINGS[(field_name, value)]
    codes = {_normalised(c) for c in _codes(field_name)} | {
        _normalised(a) for a in load_spec().by_name[field_name].alternative_spellings
    }
    middle = len(value) // 2
    candidate = value[:middle] + value[middle + 1 :]
    return candidate if _normalised(candidate) not in codes else value + "x"


class _FaultLog:
    def __init__(self):
        self.rows: list[np.ndarray] = []
        self.fields: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []

    def add(self, row_index: np.ndarray, field_name: str | np.ndarray, kind: str) -> None:
        row_index = np.asarray(row_index, dtype=np.int64)
        if not len(row_index):
            return
        self.rows.append(row_index)
        self.fields.append(np.broadcast_to(np.asarray(field_name, dtype=object), row_index.shape))
        self.kinds.append(np.full(len(row_index), kind, dtype=object))

    def frame(self, file_name: str) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame({"file": [], "row_number": [], "field": [], "kind": []})
        rows = np.concatenate(self.rows)
        return pd.DataFrame(
            {
                "file": file_name,
                "row_number": rows + 2,
                "field": np.concatenate(self.fields),
                "kind": np.concatenate(self.kinds),
            }
        )


def _set_values(col: list, row_index: np.ndarray, values: list[str]) -> None:
    """Point cells at new strings appended to the column's dictionary."""
    base = len(col[0])
    col[0] = pa.concat_arrays([col[0], pa.array(values, pa.string())])
    col[1] = col[1].copy()
    col[1][row_index] = base + np.arange(len(values))


def _pick(rng, candidates: np.ndarray, rate: float) -> np.ndarray:
    k = int(rng.binomial(len(candidates), rate)) if len(candidates) else 0
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else np.zeros(0, np.int64)


def _inject_cell_faults(
    rng, cols: dict[str, list], world: _World, person: np.ndarray, period_end: int, log: _FaultLog
) -> None:
    n = len(person)
    everyone = np.arange(n)
    dates = _date_strings()
    P = world.persons
    # person-level faults, persistent across files
    rows = np.flatnonzero(P["nhs_blank"][person] == 1)
    cols["NHS_Number"][1][rows] = -1
    log.add(rows, "NHS_Number", "nhs_number_blank_person")
    for code, kind in ((1, "date_of_birth_future"), (2, "date_of_birth_too_old")):
        log.add(np.flatnonzero(P["dob_fault"][person] == code), "Date_of_Birth", kind)
    touched = np.zeros(n, bool)  # one cell fault per row at most, so each fault is unambiguous
    touched[rows] = True
    touched[P["dob_fault"][person] > 0] = True

    def free(candidates):
        return candidates[~touched[candidates]]

    rows = _pick(rng, free(np.flatnonzero(cols["NHS_Number"][1] >= 0)), FAULT_RATES["nhs_number_blank_row"])
    cols["NHS_Number"][1][rows] = -1
    log.add(rows, "NHS_Number", "nhs_number_blank_row")
    touched[rows] = True
    rows = _pick(rng, free(np.flatnonzero(cols["NHS_Number"][1] >= 0)), FAULT_RATES["nhs_number_invalid_check_digit"])
    if len(rows):
        good = cols["NHS_Number"][0].take(pa.array(cols["NHS_Number"][1][rows])).to_pylist()
        bad = [v[:9] + str((int(v[9]) + 1 + int(rng.integers(0, 8))) % 10) for v in good]
        _set_values(cols["NHS_Number"], rows, bad)
        log.add(rows, "NHS_Number", "nhs_number_invalid_check_digit")
        touched[rows] = True
    for kind, fields in (("code_case_or_space", LOOSE_FAULT_FIELDS), ("code_invalid", INVALID_FAULT_FIELDS)):
        rows = _pick(rng, free(everyone), FAULT_RATES[kind])
        which = rng.integers(0, len(fields), len(rows))
        for j, field_name in enumerate(fields):
            sel = rows[(which == j) & (cols[field_name][1][rows] >= 0)]
            if not len(sel):
                continue
            values = cols[field_name][0].take(pa.array(cols[field_name][1][sel])).to_pylist()
            if kind == "code_invalid":
                new = [_misspell(field_name, v) for v in values]
            else:
                new = [
                    (v.lower() if v.lower() != v else f" {v} ") if i % 2 == 0 else f" {v} "
                    for i, v in enumerate(values)
                ]
            _set_values(cols[field_name], sel, new)
            log.add(sel, field_name, kind)
            touched[sel] = True
    rows = _pick(rng, free(everyone), FAULT_RATES["mandatory_blank"])
    which = rng.integers(0, len(MANDATORY_ALWAYS), len(rows))
    for j, field_name in enumerate(MANDATORY_ALWAYS):
        sel = rows[(which == j) & (cols[field_name][1][rows] >= 0)]
        cols[field_name][1][sel] = -1
        log.add(sel, field_name, "mandatory_blank")
        touched[sel] = True
    # end before start, on rows with both dates
    start_idx, end_idx = cols["Event_Start_Date"][1], cols["Event_End_Date"][1]
    rows = _pick(rng, free(np.flatnonzero((start_idx >= 0) & (end_idx >= 0))), FAULT_RATES["end_before_start"])
    end_idx[rows] = start_idx[rows] - rng.integers(1, 40, len(rows))
    log.add(rows, "Event_End_Date", "end_before_start")
    touched[rows] = True
    for kind in ("date_iso", "date_excel_serial"):
        rows = _pick(rng, free(np.flatnonzero(start_idx >= 0)), FAULT_RATES[kind])
        which = rng.integers(0, 3, len(rows))
        for j, field_name in enumerate(("Event_Start_Date", "Event_End_Date", "Date_of_Birth")):
            col = cols[field_name]
            sel = rows[(which == j) & (col[1][rows] >= 0) & (col[1][rows] < len(dates))]
            if not len(sel):
                continue
            days = col[1][sel] + DAY0
            if kind == "date_iso":
                new = [_date_of(d).isoformat() for d in days]
            else:
                new = [str(int(d) + EXCEL_EPOCH_OFFSET) for d in days]
            _set_values(col, sel, new)
            log.add(sel, field_name, kind)
            touched[sel] = True
    rows = _pick(rng, free(np.flatnonzero(start_idx >= 0)), FAULT_RATES["event_start_date_invalid"])
    bad_dates = ("31/02/2023", "00/00/0000", "TBC", "31/09/2023", "32/01/2024")
    _set_values(cols["Event_Start_Date"], rows, [bad_dates[i % len(bad_dates)] for i in range(len(rows))])
    log.add(rows, "Event_Start_Date", "event_start_date_invalid")


def _render(
    world: _World, plan: _PlannedFile, faults: bool, seed: int, council_index: int, compress: bool
) -> tuple[bytes, int, pd.DataFrame]:
    """The bytes of one submission file, its row count and its fault log."""
    spec = load_spec()
    known_by = plan.submitted_day
    rows, shown_end, death_known = _view(world, plan.period_start, plan.period_end, known_by)
    log = _FaultLog()
    name = plan.name(compress)
    inject = faults and plan.kind != "broken_header"
    rng = np.random.default_rng([seed, council_index, 3, plan.index + 1])
    if inject:  # duplicated rows: the copy sits right after its original
        dup = _pick(rng, np.arange(len(rows)), FAULT_RATES["duplicate_row"])
        order = np.sort(np.concatenate([np.arange(len(rows)), dup]), kind="stable")
        rows, shown_end, death_known = rows[order], shown_end[order], death_known[order]
        positions = np.searchsorted(order, dup, side="right") - 1  # the copy is the later of the two
        log.add(positions, "", "duplicate_row")
    cols = _build_columns(world, rows, shown_end, death_known, plan.period_start, plan.period_end)
    person = world.events["person"][rows]
    if inject:
        _inject_cell_faults(rng, cols, world, person, plan.period_end, log)
    names = [f.name for f in spec.fields if f.name != plan.dropped_column]
    labels = [spec.by_name[n].label for n in names]
    n = len(rows)
    arrays = []
    for field_name in names:
        dictionary, index, escape = cols[field_name]
        if escape:
            dictionary = _csv_escape(dictionary)
        index = np.asarray(index, dtype=np.int64)
        arrays.append(dictionary.take(pa.array(index, mask=index < 0)))
    header = ",".join(labels) + "\n"
    if n:
        last = pc.binary_join_element_wise(pc.fill_null(arrays[-1], ""), "\n", "")
        lines = pc.binary_join_element_wise(*arrays[:-1], last, ",", null_handling="replace", null_replacement="")
        offset_type = np.int64 if pa.types.is_large_string(lines.type) else np.int32
        offsets = np.frombuffer(lines.buffers()[1], dtype=offset_type)[lines.offset : lines.offset + n + 1]
        body = memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])].tobytes()
    else:
        body = b""
    text = header.encode("utf-8") + body
    try:
        data = text.decode("utf-8").encode("cp1252")
    except UnicodeEncodeError as exc:  # a bug: every generated string must fit Windows-1252
        raise AssertionError(f"{name}: value not representable in Windows-1252") from exc
    fault_frame = log.frame(name)
    if plan.kind == "broken_header":
        fault_frame = pd.DataFrame(
            {"file": [name], "row_number": [pd.NA], "field": [plan.dropped_column], "kind": ["broken_header"]}
        )
    elif "late_submission" in plan.faults:
        extra = pd.DataFrame({"file": [name], "row_number": [pd.NA], "field": [""], "kind": ["late_submission"]})
        fault_frame = pd.concat([extra, fault_frame], ignore_index=True)
    return data, n, fault_frame


def _write_bytes(path: Path, data: bytes, compress: bool) -> None:
    if compress:
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
            gz.write(data)
        data = buffer.getvalue()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _lts_at(world: _World, day: int) -> int:
    """People in long-term support at ``day`` in the simulated truth (for the run summary)."""
    E, P = world.events, world.persons
    codes = [_code("Service_Type", s) for s in SETTING_SHARE]
    lts = np.isin(E["service_type"], codes) & (E["start"] <= day) & (E["end"] >= day)
    people = np.unique(E["person"][lts])
    return int((P["client_type"][people] == _code("Client_Type", "Service User")).sum())


def _council_job(job: dict) -> dict:
    """Simulate one council and write all its files (runs in a worker process)."""
    council = pd.Series(job["council"])
    plans: list[_PlannedFile] = job["plans"]
    first_day = min((f.period_start for f in plans), default=_day("2023-04-01"))
    horizon = max((f.submitted_day for f in plans), default=first_day) + 1
    horizon = max(horizon, job["last_month_end"] + 1)
    world = _simulate_world(council, job["index"], job["seed"], job["scale"], first_day, horizon, job["faults"])
    out_dir = Path(job["out"])
    fault_frames, files = [], []
    rows_total = 0
    for plan in plans:
        data, n, frame = _render(world, plan, job["faults"], job["seed"], job["index"], job["compress"])
        name = plan.name(job["compress"])
        _write_bytes(out_dir / name, data, job["compress"])
        rows_total += n
        files.append({"file": name, "rows": n, "kind": plan.kind})
        fault_frames.append(frame)
    faults = pd.concat(fault_frames, ignore_index=True) if fault_frames else None
    return {
        "la_code": job["council"]["la_code"],
        "index": job["index"],
        "files": files,
        "rows": rows_total,
        "faults": faults,
        "lts_last": _lts_at(world, job["last_month_end"]),
        "people": len(world.persons["dob"]),
    }


# =============================================================================================
# Public API
# =============================================================================================
def generate(
    out: Path,
    *,
    scale: float = 0.02,
    seed: int = 2023,
    start: str = "2023-04",
    end: str = "2024-03",
    councils: int | list[str] | None = None,
    compress: bool = False,
    faults: bool = True,
    workers: int | None = None,
) -> dict:
    """Write synthetic CLD submissions, ``synthetic.json`` and ``faults.csv.gz`` into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Output folder; files go to ``out/submissions/``. An existing folder is reused only if it is
        already synthetic (holds ``synthetic.json``) or has no submissions; old files are removed.
    scale : float
        Share of national volume (1.0 = about 680,000 people in long-term support at a month end).
    seed : int
        Random seed; the same seed and options give byte-identical files.
    start, end : str
        First and last month covered, ``YYYY-MM``; quarterly files for every quarter end between them,
        monthly files as well for about 15% of councils.
    councils : int, list of str or None
        None for all 153; a number N for the first N of :func:`council_order`; or GSS codes.
    compress : bool
        Write ``.csv.gz`` instead of ``.csv``.
    faults : bool
        Inject data quality faults (rates in :data:`FAULT_RATES`); False gives only valid values.
    workers : int or None
        Worker processes (None: ``min(2, cpu count)``). The output does not depend on it.

    Returns
    -------
    dict
        The content written to ``synthetic.json``.

    Raises
    ------
    CldstatsError
        Bad month, unknown GSS code, end before start, or an output folder holding real data.
    """
    started = time.perf_counter()
    out = Path(out)
    if not scale > 0:
        raise CldstatsError("--scale must be greater than 0")
    month_ends = _month_ends(start, end)
    plans, missing = _plan_all(seed, start, end, councils, faults)
    sub_dir = out / "submissions"
    if sub_dir.exists() and any(sub_dir.iterdir()) and not is_synthetic(out):
        raise CldstatsError(
            f'{out} holds submissions but no synthetic.json saying "synthetic": true: refusing to overwrite real data'
        )
    sub_dir.mkdir(parents=True, exist_ok=True)
    for old in list(sub_dir.glob("*.csv")) + list(sub_dir.glob("*.csv.gz")):
        old.unlink()
    frame = reference_councils()
    full = frame["la_code"].tolist()
    jobs = []
    for code in plans:
        row = frame.loc[frame["la_code"] == code].iloc[0]
        jobs.append(
            {
                "council": row.to_dict(),
                "index": full.index(code),
                "plans": plans[code],
                "seed": seed,
                "scale": scale,
                "faults": faults,
                "compress": compress,
                "out": str(sub_dir),
                "last_month_end": month_ends[-1],
            }
        )
    jobs.sort(key=lambda j: -float(j["council"]["lts_31mar2026"]))  # big councils first: better balance
    workers = min(2, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    if workers == 1 or len(jobs) == 1:
        results = [_council_job(j) for j in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(pool.imap_unordered(_council_job, jobs, chunksize=1))
    results.sort(key=lambda r: r["index"])
    fault_frames = [r["faults"] for r in results if r["faults"] is not None and len(r["faults"])]
    all_faults = (
        pd.concat(fault_frames, ignore_index=True)
        if fault_frames
        else pd.DataFrame({"file": [], "row_number": [], "field": [], "kind": []})
    )
    all_faults["row_number"] = all_faults["row_number"].astype("Int64")
    for item in missing:
        all_faults = pd.concat(
            [
                all_faults,
                pd.DataFrame(
                    {
                        "file": [f"{item['la_code']}_missing_{item['period_end']}"],
                        "row_number": [pd.NA],
                        "field": [""],
                        "kind": ["missing_submission"],
                    }
                ),
            ],
            ignore_index=True,
        )
    all_faults["row_number"] = all_faults["row_number"].astype("Int64")
    csv_text = all_faults.to_csv(index=False, lineterminator="\n")
    _write_bytes(out / "faults.csv.gz", csv_text.encode("utf-8"), compress=True)
    fault_list = []
    if faults:
        for kind, rate in FAULT_RATES.items():
            sel = all_faults[all_faults["kind"] == kind]
            entry = {
                "kind": kind,
                "rate": rate,
                "unit": FAULT_UNITS.get(kind, "row"),
                "count": int(len(sel)),
                "files": sorted(set(sel["file"])),
            }
            if kind == "missing_submission":
                entry["missing"] = missing
                entry["files"] = []
            fault_list.append(entry)
    files = sorted((f for r in results for f in r["files"]), key=lambda f: f["file"])
    plan_frame = plan_submissions(seed=seed, start=start, end=end, councils=councils, faults=faults, compress=compress)
    rows_by_file = {f["file"]: f["rows"] for f in files}
    plan_frame["rows"] = plan_frame["file"].map(rows_by_file).astype("int64")
    meta = {
        "synthetic": True,
        "generator": "cldstats.tools.synth",
        "seed": seed,
        "scale": scale,
        "start": start,
        "end": end,
        "councils": [r["la_code"] for r in results],
        "compress": compress,
        "faults_enabled": faults,
        "files": len(files),
        "rows": int(sum(r["rows"] for r in results)),
        "people_in_long_term_support_at_end": int(sum(r["lts_last"] for r in results)),
        "faults": fault_list,
        "submissions": plan_frame.to_dict(orient="records"),
    }
    (out / "synthetic.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta["_seconds"] = time.perf_counter() - started  # not written: the file holds no wall-clock data
    return meta


def run_cli(args) -> int:
    """``cldstats synth``: generate, then print a short summary; returns the exit code 0."""
    councils = args.councils
    meta = generate(
        Path(args.out),
        scale=args.scale,
        seed=args.seed,
        start=args.start,
        end=args.end,
        councils=councils,
        compress=args.compress,
        faults=not args.no_faults,
    )
    size = sum(p.stat().st_size for p in (Path(args.out) / "submissions").iterdir())
    print(
        f"cldstats synth: {meta['files']} files, {meta['rows']:,} rows, {len(meta['councils'])} councils, "
        f"{meta['people_in_long_term_support_at_end']:,} people in long-term support at {args.end} month end, "
        f"{size / 1e6:,.1f} MB, {meta['_seconds']:.1f} s -> {args.out}"
    )
    return 0
