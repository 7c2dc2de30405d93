"""Tests of cldstats.quality: suites, AGEM statuses, the submission gate, the publication gate and
the council reports.

Submissions are hand-built here to architecture Contract 1 (typed ``records`` + int8 ``status``),
so these tests do not depend on ingest; integration tests through ingest and synth follow at the
end and are skipped while those modules are missing.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cldstats import quality
from cldstats.core.errors import GateStop
from cldstats.quality import suites
from cldstats.reference.spec import AGEM_STATUSES, ValueStatus, load_spec
from cldstats.reference.vocabulary import Spelling, load_vocabulary
from tests.helpers.paths import REPO

SPEC = load_spec()
VOCABULARY = load_vocabulary()
LA = "E06000001"
PERIOD = ("2023-04-01", "2024-03-31")

# A clean Service User row of a costed long-term community service: every field valid where it
# applies, and blank where it does not.
CLEAN_SERVICE = {
    "LA_Code": LA,
    "LA_Person_Unique_Identifier": "a1b2c3",
    "Reporting_Period_Start_Date": PERIOD[0],
    "Reporting_Period_End_Date": PERIOD[1],
    "Gender": "Female",
    "Ethnicity": "White - Irish",
    "Client_Type": "Service User",
    "Primary_Support_Reason": "Physical Support: Personal care support",
    "Accommodation_Status": "Tenant",
    "Employment_Status": "Paid: Less than 16 hours a week",
    "Has_Unpaid_Carer": "No",
    "Autism_Spectrum_Disorder_ASD": None,
    "Client_Funding_Status": "Fully Social Care Funded",
    "Event_Type": "Service",
    "Event_Reference": "EV-1",
    "Event_Start_Date": "2023-05-01",
    "Event_Outcome": "Provision of service",
    "Service_Type": "Long Term Support: Community",
    "Service_Component": "Home Support",
    "Delivery_Mechanism": "Direct Payment",
    "Unit_Cost": 100.0,
    "Cost_Frequency_Unit_Type": "Weekly",
    "Planned_units_per_week": 1.0,
    "birth_year": 1950,
    "birth_month": 5,
}
CLEAN_ASSESSMENT = {
    **{k: v for k, v in CLEAN_SERVICE.items() if k not in {
        "Service_Type", "Service_Component", "Delivery_Mechanism", "Unit_Cost", "Cost_Frequency_Unit_Type",
        "Planned_units_per_week"}},
    "Event_Type": "Assessment",
    "Event_Reference": "EV-2",
    "Event_End_Date": "2023-06-01",
    "Event_Outcome": "Progress to Support Planning / Services",
    "Assessment_Type": "Long Term Assessment",
    "Method_of_Assessment": "Face to face",
}
# Fields removed by ingest: only their status column exists. Valid unless a test says otherwise.
DROPPED = ("NHS_Number", "First_Name", "Last_Name", "GP_Practice_Name", "Postcode", "Date_of_Birth",
           "Event_Description")
DROPPED_DEFAULT = {"NHS_Number": 1, "First_Name": 1, "Last_Name": 1, "Postcode": 1, "Date_of_Birth": 1}


@dataclass
class FakeIssue:
    check: str
    message: str
    field: str | None = None
    count: int = 0
    rows: tuple = ()
    fields: tuple = ()


@dataclass
class FakeSubmission:
    """Contract 1 ``Submission`` look-alike."""

    path: Path
    file_name: str
    la_code: str | None
    submitted_at: dt.datetime | None
    records: pd.DataFrame | None
    status: pd.DataFrame | None
    rows_read: int
    issues: list = field(default_factory=list)
    sha256: str = "0" * 64
    encoding: str | None = "cp1252"
    invalid_values: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"row_number": [], "field": [], "value": []})
    )


# How ingest records a code value by how it matched (cldstats.reference.vocabulary.Spelling).
STATUS_OF_SPELLING = {
    Spelling.RELEASE2: ValueStatus.VALID,
    Spelling.FOLDED: ValueStatus.VALID_LOOSE,
    Spelling.RELEASE1: ValueStatus.VALID_RELEASE1,
    Spelling.RELEASE1_FOLDED: ValueStatus.VALID_RELEASE1_LOOSE,
    Spelling.RELEASE1_CASE: ValueStatus.VALID_RELEASE1_CASE,
}


def make_submission(rows: list[dict[str, Any]], la_code: str = LA, submitted: str = "20240415T120000",
                    issues: list | None = None) -> FakeSubmission:
    """Records and status per Contract 1 from rows of submitted values, as ingest would read them.

    A row dict gives values by field name (missing key or None: blank); a code value in either
    release's spelling is recorded as its canonical value with the status ingest gives its spelling
    (the rows above are written in Release 1's). A key ``status`` maps field names to a
    ``ValueStatus`` overriding the default (VALID where a value is given, BLANK otherwise); a
    non-blank status with no value is an invalid cell.
    """
    n = len(rows)
    records: dict[str, Any] = {"row_number": pd.array(np.arange(2, n + 2), dtype="int32")}
    records["person_id"] = pd.array([f"p{i}" for i in range(n)], dtype="string")
    records["person_id_source"] = pd.Categorical(["NHS number"] * n, categories=[
        "NHS number", "NHS number via LA ID", "LA ID", "ambiguous", "none"])
    records["birth_year"] = pd.array([r.get("birth_year") for r in rows], dtype="Int16")
    records["birth_month"] = pd.array([r.get("birth_month") for r in rows], dtype="Int8")
    status: dict[str, np.ndarray] = {}
    for f in SPEC.fields:
        values = [r.get(f.name) for r in rows]
        overrides = [r.get("status", {}).get(f.name) for r in rows]
        if f.name in DROPPED:
            default = DROPPED_DEFAULT.get(f.name, 0)
            status[f.name] = np.array([o if o is not None else default for o in overrides], dtype=np.int8)
            continue
        defaults = [1 if v is not None else 0 for v in values]
        if f.kind == "code":
            hits = [VOCABULARY[f.name].match(v) if v is not None else None for v in values]
            values = [VOCABULARY[f.name].canonical[h[0]] if h else None for h in hits]
            defaults = [STATUS_OF_SPELLING[h[1]] if h else d for h, d in zip(hits, defaults, strict=True)]
        status[f.name] = np.array(
            [o if o is not None else d for d, o in zip(defaults, overrides, strict=True)], dtype=np.int8,
        )
        if f.handling == "pseudonymise":
            records[f.name] = pd.array(values, dtype="string")
        elif f.kind == "code":
            records[f.name] = pd.Categorical(values, categories=list(f.code_list))
        elif f.kind == "date":
            records[f.name] = pd.to_datetime(pd.Series(values, dtype="object"), format="%Y-%m-%d").astype(
                "datetime64[s]").to_numpy()
        elif f.kind == "number":
            records[f.name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        elif f.kind == "integer":
            records[f.name] = pd.array(values, dtype="Int32")
        else:
            records[f.name] = pd.array(values, dtype="string")
    file_name = f"{la_code}_{submitted}.csv"
    return FakeSubmission(
        path=Path(file_name),
        file_name=file_name,
        la_code=la_code,
        submitted_at=dt.datetime.strptime(submitted, "%Y%m%dT%H%M%S"),
        records=pd.DataFrame(records),
        status=pd.DataFrame(status),
        rows_read=n,
        issues=list(issues or []),
    )


def rows_of(*rows: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
    """Deep copies of rows, repeated ``count`` times, with unique event references."""
    out = []
    for i in range(count):
        for row in rows:
            copied = copy.deepcopy(row)
            copied["Event_Reference"] = f"{row.get('Event_Reference', 'EV')}-{i}"
            out.append(copied)
    return out


def check(runner, params, rows, **kwargs):
    return runner.check(make_submission(rows, **kwargs), params)


def findings(result, check_name):
    return result.failing_records[result.failing_records["check"] == check_name]


def summary_count(result, field_name, check_name, status=None):
    s = result.summary
    s = s[(s["field"] == field_name) & (s["check"] == check_name)]
    if status is not None:
        s = s[s["status"] == status]
    return int(s["count"].sum())


# ---------------------------------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------------------------------
def test_generated_suite_in_git_matches_generator():
    committed = (REPO / "expectations" / f"{quality.FIELD_SUITE}.json").read_text(encoding="utf-8")
    assert committed == suites._suite_json(quality.build_field_suite()), (
        "expectations/ is stale: run `make expectations` and commit the result"
    )


def test_write_suites_is_reproducible(tmp_path):
    first = quality.write_suites(tmp_path / "a")[0].read_bytes()
    second = quality.write_suites(tmp_path / "b")[0].read_bytes()
    assert first == second


@pytest.mark.slow
def test_every_expectation_is_mirrored_and_described(runner):
    assert list(runner.suites) == list(quality.SUITE_NAMES)
    frame = quality.validation_frame(make_submission([CLEAN_SERVICE]).records,
                                     make_submission([CLEAN_SERVICE]).status)
    files = quality.check_frame([frame], ["a.csv"], {})
    frame["file_la_code"] = LA
    params = {"max_bad_start_date_share": 0.05}
    field_rules = quality.build_field_suite()["meta"]["field_rules"]
    for name, configs in runner.configs.items():
        assert configs, name
        for config in configs:
            meta = config["meta"]
            assert meta["check"]
            assert meta.get("description") or field_rules[meta["field"]]["description"]
            on_files = meta.get("frame") == quality.FILES_FRAME
            # raises for an unmirrored type
            assert not quality.failing_rows(config, files if on_files else frame, params).any(), meta
            if meta.get("rows"):
                quality.failing_rows(meta["rows"], frame, params)


def test_field_suite_covers_every_field():
    suite = quality.build_field_suite()
    fields = [e["meta"]["field"] for e in suite["expectations"] if e["meta"]["check"] == "field_values"]
    assert fields == SPEC.names


@pytest.mark.slow
def test_gx_counts_equal_pandas_mirror(runner, params):
    """The failing-row extracts (pandas) agree with GX's own unexpected counts on every check."""
    bad = rows_of(
        {**CLEAN_SERVICE, "Event_End_Date": "2023-04-01"},  # end before start
        {**CLEAN_ASSESSMENT, "Event_Outcome": "Provision of service", "Event_End_Date": "2024-05-01"},
        {**CLEAN_SERVICE, "Date_of_Death": "2023-04-15", "birth_year": 1900, "birth_month": 1},
        {**CLEAN_SERVICE, "Reporting_Period_Start_Date": "2023-05-01", "LA_Code": "E06000002"},
        count=3,
    )
    result = check(runner, params, bad)
    for suite_result in result.gx_results.values():
        for r in suite_result["results"]:
            config = r["expectation_config"]
            if config["meta"]["check"] in ("field_values", "no_rows", "reporting_period_inconsistent"):
                continue
            summary = result.summary
            row = summary[(summary["check"] == config["meta"]["check"]) & (summary["field"] == config["meta"]["field"])]
            assert int(row["count"].sum()) == r["result"]["unexpected_count"], config["meta"]


# ---------------------------------------------------------------------------------------------
# AGEM statuses
# ---------------------------------------------------------------------------------------------
def test_clean_submission_is_accepted(runner, params):
    result = check(runner, params, rows_of(CLEAN_SERVICE, CLEAN_ASSESSMENT, count=5))
    assert result.outcome == "accepted", (result.warnings, result.failing_records.head())
    assert result.failing_records.empty
    assert all(r["success"] for r in result.gx_results.values())
    assert result.reporting_period == (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    agem = result.summary[result.summary["check"] == "field_values"]
    assert set(agem["status"]) == set(AGEM_STATUSES)
    assert agem[agem["status"].str.startswith("Failed")]["count"].sum() == 0
    # Service_Type applies to the 5 service rows only; assessment rows are not counted.
    assert summary_count(result, "Service_Type", "field_values") == 5
    assert summary_count(result, "Gender", "field_values", "Passed: Valid") == 10


def test_status_codes_follow_the_applicability_matrix():
    rows = [
        {**CLEAN_SERVICE},
        {**CLEAN_SERVICE, "Service_Type": None},  # mandatory on services: Failed blank
        {**CLEAN_ASSESSMENT, "Service_Type": "Long Term Support: Community"},  # not applicable, given
        {**CLEAN_SERVICE, "status": {"Gender": ValueStatus.INVALID}, "Gender": None},
    ]
    sub = make_submission(rows)
    codes = quality.field_status_codes(sub.records, sub.status)
    labels = {name: [quality.DQ_STATUSES[c] for c in values] for name, values in codes.items()}
    # The rows are in Release 1 spellings, valid in a file of the Release 1 era
    release1 = "Passed: Valid (Release 1)"
    assert labels["Service_Type"] == [release1, "Failed: Blank (Mandatory)", "Not applicable: value given", release1]
    assert labels["Gender"][3] == "Failed: Invalid"
    assert labels["Gender"][0] == "Passed: Valid"  # spelled alike in both releases
    assert labels["Assessment_Type"] == ["Not applicable", "Not applicable", release1, "Not applicable"]
    assert labels["Event_End_Date"][0] == "Passed: Blank (Not Mandatory)"
    # In a file of the Release 2 era, a reworded Release 1 value fails; Release 1's capitalisation of
    # a Release 2 value (Long Term Support: Community) is a loose match, as AGEM compares case-blind
    codes = quality.field_status_codes(sub.records, sub.status, release1_fails=True)
    labels = {name: [quality.DQ_STATUSES[c] for c in values] for name, values in codes.items()}
    assert labels["Ethnicity"][:3] == ["Failed: Release 1"] * 3  # White - Irish
    assert labels["Service_Type"][0] == "Passed: Valid (loose match)"
    assert labels["Gender"][0] == "Passed: Valid"


def test_employment_status_mandatory_by_age_and_reason():
    learning = {**CLEAN_SERVICE, "Primary_Support_Reason": "Learning Disability Support", "Employment_Status": None}
    rows = [
        {**learning, "birth_year": 1990, "birth_month": 1},  # 34 at period end: mandatory
        {**learning, "birth_year": 1950, "birth_month": 1},  # 74: optional
        {**learning, "birth_year": None, "birth_month": None},  # unknown age: optional
    ]
    sub = make_submission(rows)
    codes = quality.field_status_codes(sub.records, sub.status)["Employment_Status"]
    assert [quality.DQ_STATUSES[c] for c in codes] == [
        "Failed: Blank (Mandatory)", "Passed: Blank (Not Mandatory)", "Passed: Blank (Not Mandatory)"]


@pytest.mark.slow
def test_blank_mandatory_is_a_warning_naming_field_and_row(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=4)
    rows[2]["Gender"] = None
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings"
    assert summary_count(result, "Gender", "field_values", "Failed: Blank (Mandatory)") == 1
    listed = findings(result, "blank_mandatory")
    assert listed[["field", "row_number", "event_reference", "status"]].values.tolist() == [
        ["Gender", 4, "EV-1-2", "Failed: Blank (Mandatory)"]]


@pytest.mark.slow
def test_invalid_code_is_reported(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=3)
    rows[0]["Ethnicity"] = None
    rows[0]["status"] = {"Ethnicity": ValueStatus.INVALID}
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings"
    assert summary_count(result, "Ethnicity", "field_values", "Failed: Invalid") == 1
    listed = findings(result, "invalid")
    assert listed[["field", "row_number"]].values.tolist() == [["Ethnicity", 2]]


@pytest.mark.slow
def test_loose_code_is_a_warning_not_a_failure(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=3)
    rows[1]["status"] = {"Gender": ValueStatus.VALID_LOOSE}
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings"
    assert summary_count(result, "Gender", "field_values", "Passed: Valid") == 3
    assert summary_count(result, "Gender", "field_values", "Failed: Invalid") == 0
    assert summary_count(result, "Gender", "loose_match", "Warning") == 1
    assert findings(result, "loose_match")[["field", "row_number", "status"]].values.tolist() == [
        ["Gender", 3, "Warning"]]


@pytest.mark.slow
def test_iso_date_is_invalid_and_named(runner, params):
    rows = rows_of(CLEAN_ASSESSMENT, count=30)
    rows[5]["Event_End_Date"] = None
    rows[5]["status"] = {"Event_End_Date": ValueStatus.INVALID_ISO_DATE}
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings"
    assert summary_count(result, "Event_End_Date", "field_values", "Failed: Invalid") == 1
    assert summary_count(result, "Event_End_Date", "invalid_iso_date") == 1
    assert findings(result, "invalid_iso_date")[["field", "row_number", "status"]].values.tolist() == [
        ["Event_End_Date", 7, "Failed: Invalid"]]


def test_value_where_field_does_not_apply_is_its_own_warning(runner, params):
    rows = rows_of(CLEAN_ASSESSMENT, count=2)
    rows[0]["Request_Route_of_Access"] = "Community / Other route"
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings"
    assert summary_count(result, "Request_Route_of_Access", "value_not_applicable", "Warning") == 1
    # not-applicable cells are not counted in the AGEM statuses
    assert summary_count(result, "Request_Route_of_Access", "field_values") == 0


def test_nhs_number_failing_check_digit_is_invalid(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=2)
    rows[1]["status"] = {"NHS_Number": ValueStatus.INVALID}
    result = check(runner, params, rows)
    assert summary_count(result, "NHS_Number", "field_values", "Failed: Invalid") == 1
    assert findings(result, "invalid")["field"].tolist() == ["NHS_Number"]


# ---------------------------------------------------------------------------------------------
# Cross-field checks (warnings)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "check_name", "field_name"),
    [
        ({"Event_End_Date": "2023-04-15"}, "end_before_start", "Event_End_Date"),
        ({"Event_Start_Date": "2024-04-02"}, "start_after_period_end", "Event_Start_Date"),
        ({"Event_Start_Date": "2023-01-01", "Event_End_Date": "2023-02-01"}, "end_before_period_start",
         "Event_End_Date"),
        ({"Date_of_Death": "2023-04-20"}, "start_after_death", "Date_of_Death"),
        ({"Date_of_Death": "2023-05-10", "Event_End_Date": "2023-06-01"}, "end_after_death", "Date_of_Death"),
        ({"birth_year": 1900, "birth_month": 1}, "age_over_115", "Date_of_Birth"),
        ({"birth_year": 2024, "birth_month": 6}, "birth_date_in_future", "Date_of_Birth"),
    ],
)
@pytest.mark.slow
def test_cross_field_checks_name_field_and_row(runner, params, change, check_name, field_name):
    rows = rows_of(CLEAN_SERVICE, count=4)
    rows[3].update(change)
    result = check(runner, params, rows)
    assert result.outcome == "accepted with warnings", result.outcome
    assert check_name in result.warnings
    listed = findings(result, check_name)
    assert listed[["field", "row_number", "event_reference", "status"]].values.tolist() == [
        [field_name, 5, "EV-1-3", "Warning"]]


def test_request_ending_after_period_end_but_service_may(runner, params):
    rows = rows_of(CLEAN_ASSESSMENT, {**CLEAN_SERVICE, "Event_End_Date": "2024-06-30"}, count=1)
    rows[0]["Event_End_Date"] = "2024-04-30"
    result = check(runner, params, rows)
    assert findings(result, "end_after_period_end")["row_number"].tolist() == [2]


@pytest.mark.slow
def test_outcome_allowed_for_event_type(runner, params):
    rows = rows_of(CLEAN_SERVICE, CLEAN_ASSESSMENT, count=1)
    # DHSC merged Release 1's "Provision of service" (services) and "No change in package" (reviews)
    # into one Release 2 value: either spelling, on an assessment, is found; on a review it is not.
    for outcome in ("Provision of service", "No change in package", "Continuation of support or services"):
        rows[1]["Event_Outcome"] = outcome
        result = check(runner, params, rows)
        assert findings(result, "continuation_not_on_service_or_review")["row_number"].tolist() == [3], outcome
        assert not result.rejected
    review = {**CLEAN_ASSESSMENT, "Event_Type": "Review", "Event_Outcome": "Continuation of support or services"}
    result = check(runner, params, rows_of(CLEAN_SERVICE, review, count=1))
    assert findings(result, "continuation_not_on_service_or_review").empty


# ---------------------------------------------------------------------------------------------
# Blocking checks
# ---------------------------------------------------------------------------------------------
def test_two_reporting_periods_reject(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=5)
    rows[4]["Reporting_Period_End_Date"] = "2024-02-29"
    result = check(runner, params, rows)
    assert result.outcome.startswith("rejected: reporting_period_inconsistent")
    assert "Reporting Period End Date" in result.outcome and "rows 6" in result.outcome
    assert findings(result, "reporting_period_inconsistent")["row_number"].tolist() == [6]


def test_missing_reporting_period_rejects(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=3)
    rows[0]["Reporting_Period_Start_Date"] = None
    result = check(runner, params, rows)
    assert result.blocking == ["reporting_period_missing"]
    assert findings(result, "reporting_period_missing")[["field", "row_number"]].values.tolist() == [
        ["Reporting_Period_Start_Date", 2]]


def test_reversed_reporting_period_rejects(runner, params):
    rows = rows_of({**CLEAN_SERVICE, "Reporting_Period_Start_Date": "2024-04-01"}, count=2)
    result = check(runner, params, rows)
    assert "reporting_period_reversed" in result.blocking


def test_la_code_mismatch_with_file_name_rejects(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=3)
    rows[1]["LA_Code"] = "E06000002"
    result = check(runner, params, rows)
    assert result.blocking == ["la_code_mismatch"]
    assert result.outcome.startswith("rejected: la_code_mismatch: LA Code differs from the LA code in the file name")
    assert findings(result, "la_code_mismatch")["row_number"].tolist() == [3]


def test_unknown_la_code_rejects(runner, params):
    rows = rows_of({**CLEAN_SERVICE, "LA_Code": "E99999999",
                    "status": {"LA_Code": ValueStatus.INVALID}}, count=2)
    result = check(runner, params, rows, la_code="E99999999")
    assert result.blocking == ["la_code_unknown"]
    assert findings(result, "la_code_unknown")["row_number"].tolist() == [2, 3]


@pytest.mark.slow
def test_bad_start_date_share_above_threshold_rejects(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=20)
    rows[0]["Event_Start_Date"] = None
    rows[0]["status"] = {"Event_Start_Date": ValueStatus.INVALID_EXCEL_SERIAL}
    assert not check(runner, params, rows).rejected  # 1 in 20 = 5%: at the limit, accepted
    rows[1]["Event_Start_Date"] = None
    rows[1]["status"] = {"Event_Start_Date": ValueStatus.INVALID}
    result = check(runner, params, rows)
    assert result.blocking == ["bad_start_dates"]
    assert "2 of 20 rows" in result.outcome and "rows 2, 3" in result.outcome
    assert findings(result, "bad_start_dates")["row_number"].tolist() == [2, 3]


@pytest.mark.slow
def test_threshold_comes_from_params(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=20)
    for i in range(2):
        rows[i]["Event_Start_Date"] = None
        rows[i]["status"] = {"Event_Start_Date": ValueStatus.INVALID}
    looser = copy.deepcopy(params)
    looser["gate"]["max_bad_start_date_share"] = 0.2
    assert not check(runner, looser, rows).rejected
    warn_only = copy.deepcopy(params)
    warn_only["gate"]["blocking_checks"] = [c for c in params["gate"]["blocking_checks"] if c != "bad_start_dates"]
    result = check(runner, warn_only, rows)
    assert result.outcome == "accepted with warnings" and "bad_start_dates" in result.warnings


def test_zero_rows_rejects(runner, params):
    result = check(runner, params, [])
    assert result.outcome.startswith("rejected: no_rows")
    assert result.rows_read == 0


def test_missing_column_issue_rejects(runner, params):
    issue = FakeIssue("missing_columns", "E06000001_20240415T120000.csv: column 'Gender' is missing",
                      field="Gender", count=1)
    result = check(runner, params, rows_of(CLEAN_SERVICE, count=2), issues=[issue])
    assert result.blocking == ["missing_columns"]
    assert result.outcome == "rejected: missing_columns: " + issue.message


def test_missing_column_is_one_finding_not_a_failing_record_per_row(runner, params):
    rows = rows_of({**CLEAN_SERVICE, "Gender": None}, count=5)  # ingest reads an absent column as blank
    issue = FakeIssue("missing_columns", "x.csv: 1 specification column missing: 'Gender'", field="Gender", count=1,
                      fields=("Gender",))
    result = check(runner, params, rows, issues=[issue])
    assert result.blocking == ["missing_columns"]
    assert "Gender" not in set(result.failing_records["field"])
    counts = result.summary[(result.summary["field"] == "Gender") & (result.summary["check"] == "field_values")]
    assert counts.set_index("status").loc["Failed: Blank (Mandatory)", "count"] == 5


def test_unreadable_submission_rejects(runner, params):
    sub = make_submission([])
    sub.records = sub.status = None
    sub.issues = [FakeIssue("unreadable", "x.csv: not a CSV file")]
    result = runner.check(sub, params)
    assert result.outcome == "rejected: unreadable: x.csv: not a CSV file"
    assert result.gx_results == {}


@pytest.mark.slow
def test_extra_column_issue_is_a_warning(runner, params):
    issue = FakeIssue("extra_columns", "file has an unrecognised column 'Notes' (ignored)", count=1)
    result = check(runner, params, rows_of(CLEAN_SERVICE, count=2), issues=[issue])
    assert result.outcome == "accepted with warnings"


@pytest.mark.slow
def test_failing_records_are_capped(runner, params):
    rows = rows_of(CLEAN_SERVICE, count=12)
    for row in rows:
        row["Gender"] = None
    small_cap = copy.deepcopy(params)
    small_cap["quality"]["records_listed_per_check"] = 5
    result = check(runner, small_cap, rows)
    assert len(findings(result, "blank_mandatory")) == 5
    assert summary_count(result, "Gender", "field_values", "Failed: Blank (Mandatory)") == 12


# ---------------------------------------------------------------------------------------------
# Publication gate
# ---------------------------------------------------------------------------------------------
def test_publication_gate(params):
    ok = quality.publication_gate(0.95, {"2024-02-29": 1000.0, "2024-03-31": 1040.0}, params)
    assert ok.proceed and not ok.failures and ok.month_change == pytest.approx(0.04)
    low = quality.publication_gate(0.8, {"2024-02-29": 1000.0, "2024-03-31": 1000.0}, params)
    assert not low.proceed and "80.0%" in low.failures[0]
    with pytest.raises(GateStop):
        low.raise_if_stopped()
    jump = quality.publication_gate(1.0, pd.Series({"2024-03-31": 900.0, "2024-02-29": 1000.0}), params)
    assert not jump.proceed and "-10.0%" in jump.failures[0]
    overridden = copy.deepcopy(params)
    overridden["override"]["reason"] = "two councils migrated case systems"
    decision = quality.publication_gate(0.8, {"2024-03-31": 1.0}, overridden)
    assert decision.proceed and decision.overridden
    assert "two councils migrated case systems" in decision.message()
    assert quality.publication_gate(1.0, {}, params).month_change is None


# ---------------------------------------------------------------------------------------------
# Council reports
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_council_reports(tmp_path, runner, params):
    older = check(runner, params, rows_of(CLEAN_SERVICE, count=3), submitted="20240405T090000")
    rows = rows_of(CLEAN_SERVICE, count=3)
    rows[0]["Gender"] = None
    newer = check(runner, params, rows, submitted="20240420T090000")
    written = quality.write_council_reports([older, newer], tmp_path)
    assert sorted(p.name for p in written) == [f"{LA}.csv", f"{LA}.html", f"{LA}_records.csv"]
    summary = pd.read_csv(tmp_path / f"{LA}.csv")
    assert summary.columns.tolist() == ["file", "field", "label", "check", "status", "count"]
    assert summary["file"].iloc[0] == newer.file  # newest first
    records = pd.read_csv(tmp_path / f"{LA}_records.csv")
    assert records.columns.tolist() == ["file", "row_number", "event_reference", "field", "check", "status"]
    assert records.values.tolist() == [
        [newer.file, 2, "EV-1-0", "Gender", "blank_mandatory", "Failed: Blank (Mandatory)"]]
    page = (tmp_path / f"{LA}.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "<script" not in page and "http" not in page.replace('http-equiv', '')
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    assert page.index(newer.file) < page.index(older.file)
    assert "At most 1,000 records are listed" in page
    assert re.search(r"<h1>Data quality report: Hartlepool", page)


# ---------------------------------------------------------------------------------------------
# Output consistency suite (published tables)
# ---------------------------------------------------------------------------------------------
def test_output_consistency_passes_on_consistent_frames_and_names_failures():
    good_sums = pd.DataFrame({"total": pd.array([10, 20], dtype="Int64"), "sum_of_parts": [10, 20], "ok": True})
    bad_sums = pd.DataFrame({"total": pd.array([10, 20], dtype="Int64"), "sum_of_parts": [10, 21], "ok": False})
    missing_part = pd.DataFrame({"total": pd.array([10, 5], dtype="Int64"),
                                 "sum_of_parts": pd.array([10, None], dtype="Int64")})
    good_cells = pd.DataFrame({"value": ["5", "[c]", "0", "[x]"], "ok": [True] * 4})
    bad_cells = pd.DataFrame({"value": ["5", "3", "007"], "ok": [True, False, True]})
    result = quality.check_output_consistency({
        "lts: settings_sum": good_sums,
        "lts: breakdown_sum": bad_sums,
        "lts: england_regions": missing_part,
        "lts: published_cells": good_cells,
        "assessments: published_cells": bad_cells,
    })
    assert result["success"] is False
    assert result["failed_checks"] == ["lts: breakdown_sum", "lts: england_regions", "assessments: published_cells"]
    by_check = {e["check"]: e for e in result["checks"]["assessments: published_cells"]["expectations"]}
    assert by_check["cell_disclosure"]["unexpected_count"] == 1  # the 3
    assert by_check["cell_form"]["unexpected_count"] == 1  # the 007
    sums = {e["check"]: e for e in result["checks"]["lts: breakdown_sum"]["expectations"]}
    assert sums["total_equals_sum_of_parts"]["unexpected_count"] == 1
    assert result["checks"]["lts: settings_sum"]["success"] is True
    json.dumps(result)  # saved as qa/output_consistency.json
