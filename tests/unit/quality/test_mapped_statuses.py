"""A planted file with values mapped by hand (``mappings/``) through real ingest, the real quality
runner and the council pages: the status ``Failed: Invalid (mapped by hand)`` (AGEM ``Failed:
Invalid``), the ``mapped_by_hand`` rows, the council page's table and ``qa/mapped_values.csv``'s frame,
and what changes when the table is removed."""

from __future__ import annotations

from cldstats import ingest
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.quality.council_reports import MAPPED_COLUMNS, mapped_values_table, write_council_reports
from cldstats.quality.results import QualityResult
from cldstats.quality.statuses import DQ_STATUSES, FAILED_MAPPED, field_status_codes
from cldstats.reference.mappings import MappingTables
from cldstats.reference.spec import AGEM_STATUSES
from tests.helpers.malformed_corpus import base_rows, csv_bytes, labels

KEY = PseudonymKey(b"test key", "environment")
NAME = "E06000001_20250415T093000.csv"
# Gender as sent, row by row (spreadsheet rows 2 to 7): three cells mapped by hand, one left invalid.
GENDERS = ["Female", "Femail", "Male", "femail ", "Femal", "F"]
TABLES = MappingTables.from_rows([
    ("Gender", "Femail", "Female", "misspelling"),
    ("Gender", "F", "Female", "initial"),
], file_name="gender.csv")


def _read(tmp_path, mappings):
    path = tmp_path / NAME
    template = base_rows(1)[0]
    path.write_bytes(csv_bytes(labels(), [dict(template, Gender=g) for g in GENDERS]))
    return ingest.read_submission(path, KEY, financial_assessment_prefix="Financial Assessment", mappings=mappings)


def _count(result: QualityResult, check: str, status: str) -> int:
    s = result.summary
    return int(s[(s["field"] == "Gender") & (s["check"] == check) & (s["status"] == status)]["count"].sum())


def test_mapped_cells_fail_as_sent_but_are_their_own_check(tmp_path, runner, params):
    submission = _read(tmp_path, TABLES)
    codes = field_status_codes(submission.records, submission.status)["Gender"]
    assert [DQ_STATUSES[c] for c in codes].count(FAILED_MAPPED) == 3
    result = runner.check(submission, params)
    failed_invalid = AGEM_STATUSES[3]
    assert failed_invalid == "Failed: Invalid"
    # AGEM's view of what the council sent: four invalid cells, three of them mapped by hand
    assert _count(result, "field_values", failed_invalid) == 4
    assert _count(result, "mapped_by_hand", "Warning") == 3
    listed = result.failing_records
    assert sorted(listed[listed["check"] == "mapped_by_hand"]["row_number"]) == [3, 5, 7]
    assert list(listed[(listed["check"] == "invalid") & (listed["field"] == "Gender")]["row_number"]) == [6]
    assert "field_values" in result.warnings and not result.rejected

    table = mapped_values_table([result])
    assert list(table.columns) == list(MAPPED_COLUMNS)
    assert table[["field", "value", "mapped_to", "mapping", "count"]].values.tolist() == [
        ["Gender", "(text, 6 letters)", "Female", "gender.csv:2", 2],
        ["Gender", "F", "Female", "gender.csv:3", 1],
    ]

    # The same file without the table: the three cells are plain invalid values again.
    without = runner.check(_read(tmp_path, None), params)
    assert _count(without, "field_values", failed_invalid) == 4 and _count(without, "mapped_by_hand", "Warning") == 0
    assert len(mapped_values_table([without])) == 0


def test_the_council_page_counts_each_use_and_survives_the_store(tmp_path, runner, params):
    result = runner.check(_read(tmp_path, TABLES), params)
    # as the submission store keeps it and gives it back
    quality, frames = result.stored()
    stored = QualityResult.from_stored({**quality, **frames})
    write_council_reports([stored], tmp_path / "data_quality")
    page = (tmp_path / "data_quality" / "E06000001.html").read_text(encoding="utf-8")
    assert "Code values mapped by hand in " + NAME in page and "3 cells held a value" in page
    mapped_table = page.split("Code values mapped by hand in")[1].split("</table>")[0]
    assert mapped_table.count("<tr>") == 3  # header and the two values sent
    assert "gender.csv:2</td><td class=\"num\">2</td>" in mapped_table
    assert "gender.csv:3</td><td class=\"num\">1</td>" in mapped_table
    invalid_table = page.split("Invalid code values in")[1].split("</table>")[0]
    assert "Femal" in invalid_table and "Female" not in invalid_table  # the one left invalid, only
    # a result without mapped values (or stored before mappings existed) shows no such table
    plain = runner.check(_read(tmp_path, None), params)
    write_council_reports([plain], tmp_path / "plain")
    assert "mapped by hand" not in (tmp_path / "plain" / "E06000001.html").read_text(encoding="utf-8")
