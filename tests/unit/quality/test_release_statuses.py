"""A planted file through real ingest and the real quality runner: per-cell release statuses, the
``Failed: Release 1`` counts either side of ``release2.r1_values_fail_from``, the ``release1_values``
check (a warning, blocking when the gate names it), the release guess and the council page.

The file holds, in two code fields, cells spelled as Release 1 rewords them, as Release 1 only
capitalises them, as Release 2 spells them, and one invalid value; every other code field holds a
value both releases spell alike (or nothing), so every count below is known from the plant alone.
"""

from __future__ import annotations

import copy

from cldstats import ingest, quality
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.quality.releases import release_of_summary
from cldstats.reference.spec import ValueStatus, load_spec
from cldstats.reference.vocabulary import load_vocabulary
from tests.helpers.malformed_corpus import base_rows, csv_bytes

V = ValueStatus
KEY = PseudonymKey(b"test key", "environment")
SPEC = load_spec()
BEFORE = "E06000001_20250930T235959.csv"  # the last second of the Release 1 era (default date)
AFTER = "E06000001_20251001T000000.csv"  # the first second of the Release 2 era

# Client Type and Ethnicity as sent, row by row, with ingest's status and what each cell is.
CLIENT_TYPE = ["Carer", "Unpaid carer", "Service User", "CARER", "Service user", "Customer"]
CLIENT_TYPE_STATUS = [V.VALID_RELEASE1, V.VALID, V.VALID_RELEASE1_CASE, V.VALID_RELEASE1_LOOSE, V.VALID, V.INVALID]
ETHNICITY = ["White - Irish", "White: Irish", "White - Irish", "White: Irish", "White: Irish", "White: Irish"]
ETHNICITY_STATUS = [V.VALID_RELEASE1, V.VALID, V.VALID_RELEASE1, V.VALID, V.VALID, V.VALID]
# In the Release 2 era: the reworded Release 1 values fail (Carer, CARER; White - Irish twice), on
# rows 2, 4 and 5 of the spreadsheet (row 1 is the header); the capitalisation alone does not.
FAILED_CELLS = {"Client_Type": 2, "Ethnicity": 2}
FAILED_ROWS = [2, 4, 5]


def planted_rows() -> list[dict[str, str]]:
    vocabulary = load_vocabulary()
    rows = base_rows(len(CLIENT_TYPE))
    for spec_field in SPEC.fields:
        if not spec_field.is_code or spec_field.name in ("Client_Type", "Ethnicity"):
            continue
        alike = [v.value for v in vocabulary[spec_field.name].values if v.releases == frozenset({1, 2})
                 and not v.release1]
        for row in rows:
            row[spec_field.label] = alike[0] if alike else ""
    for row, client_type, ethnicity in zip(rows, CLIENT_TYPE, ETHNICITY, strict=True):
        row[SPEC.by_name["Client_Type"].label] = client_type
        row[SPEC.by_name["Ethnicity"].label] = ethnicity
    return rows


def read(tmp_path, name, release1_header=False):
    header = [f.label for f in SPEC.fields if release1_header or not f.release1_only_column]
    path = tmp_path / name
    path.write_bytes(csv_bytes(header, planted_rows()))
    return ingest.read_submission(path, KEY, (), financial_assessment_prefix="Financial Assessment")


def agem(result, field_name, status):
    s = result.summary
    return int(s[(s["field"] == field_name) & (s["check"] == "field_values") & (s["status"] == status)]["count"].sum())


def test_each_cell_records_how_it_was_spelled(tmp_path):
    sub = read(tmp_path, AFTER)
    assert sub.status["Client_Type"].tolist() == CLIENT_TYPE_STATUS
    assert sub.status["Ethnicity"].tolist() == ETHNICITY_STATUS
    assert sub.records["Client_Type"].astype(object).tolist()[:5] == [
        "Unpaid carer", "Unpaid carer", "Service user", "Unpaid carer", "Service user"]
    # A Release 2 header (without the two columns Release 2 removed) is whole
    assert "missing_columns" not in sub.checks() and sub.release1_columns == ()
    assert read(tmp_path, BEFORE, release1_header=True).release1_columns == (
        "GP_Practice_Name", "Provider_CQC_Location_Name")


def test_release1_values_fail_only_in_the_release2_era(tmp_path, runner, params):
    before = runner.check(read(tmp_path, BEFORE, release1_header=True), params)
    after = runner.check(read(tmp_path, AFTER), params)
    for name, failed in FAILED_CELLS.items():
        assert agem(before, name, "Failed: Release 1") == 0
        assert agem(after, name, "Failed: Release 1") == failed
    # Before: every matched value valid; after: the failed cells leave Passed: Valid, nothing else moves
    assert agem(before, "Client_Type", "Passed: Valid") == 5 and agem(after, "Client_Type", "Passed: Valid") == 3
    assert agem(before, "Client_Type", "Failed: Invalid") == agem(after, "Client_Type", "Failed: Invalid") == 1
    assert agem(before, "Ethnicity", "Passed: Valid") == 6 and agem(after, "Ethnicity", "Passed: Valid") == 4

    # The submission-level check: passed before, a warning after, naming the rows
    assert "release1_values" not in before.warnings
    assert "release1_values" in after.warnings and not after.rejected
    listed = after.failing_records[after.failing_records["check"] == "release1_values"]
    assert sorted(listed["row_number"].tolist()) == FAILED_ROWS
    cells = after.failing_records[after.failing_records["check"] == "release1_value"]
    assert sorted(cells["row_number"].tolist()) == [2, 2, 4, 5]
    assert set(cells["status"]) == {"Failed: Release 1"}


def test_the_gate_can_make_release1_values_blocking(tmp_path, runner, params):
    strict = copy.deepcopy(params)
    strict["gate"]["blocking_checks"] = [*strict["gate"]["blocking_checks"], "release1_values"]
    assert runner.check(read(tmp_path, AFTER), strict).outcome.startswith("rejected: release1_values: ")
    assert not runner.check(read(tmp_path, BEFORE), strict).rejected
    # ... and the date is a parameter: moved a month earlier, the September file fails too
    earlier = copy.deepcopy(params)
    earlier["release2"]["r1_values_fail_from"] = "2025-09-01"
    assert agem(runner.check(read(tmp_path, BEFORE), earlier), "Ethnicity", "Failed: Release 1") == 2


def test_release_guess_and_council_page(tmp_path, runner, params):
    after = runner.check(read(tmp_path, AFTER), params)
    facts = release_of_summary(after.summary)
    # Release 1 spellings: Carer, Service User, CARER, White - Irish x2; Release 2-only spellings:
    # Unpaid carer, Service user, White: Irish x4
    assert facts == {"release": "Mixed: Release 1 and Release 2 values", "release1_columns": "",
                     "release1_cells": 5, "release2_cells": 6, "failed_release1_cells": 4}
    before = runner.check(read(tmp_path, BEFORE, release1_header=True), params)
    assert release_of_summary(before.summary)["release1_columns"] == "GP_Practice_Name;Provider_CQC_Location_Name"
    assert release_of_summary(before.summary)["failed_release1_cells"] == 0

    quality.write_council_reports([after, before], tmp_path / "pages")
    page = (tmp_path / "pages" / "E06000001.html").read_text(encoding="utf-8")
    assert page.count("<h3>Release</h3>") == 2
    assert "Mixed: Release 1 and Release 2 values" in page
    assert "has neither of the two columns Release 2 removed" in page
    assert "holds the Release 1 columns" in page
    # the counts are not findings
    assert "release_values" not in page
