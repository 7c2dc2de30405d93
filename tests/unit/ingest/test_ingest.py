"""Tables of normal, edge and erroneous cases for cldstats.ingest (Contract 1)."""

from __future__ import annotations

import datetime as dt
import gzip
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cldstats import ingest, quality
from cldstats.ingest import FileIssue, Submission, csv_file, csv_parser, list_submissions, parse_file_name
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.ingest.records import DROPPED_FIELDS
from cldstats.pipeline import validation
from cldstats.reference.params import load_params
from cldstats.reference.spec import ValueStatus, load_spec
from cldstats.reference.vocabulary import load_vocabulary
from cldstats.tools.synth import generate
from tests.helpers.malformed_corpus import (  # noqa: E402
    PERSONAL_VALUES,
    base_rows,
    csv_bytes,
    labels,
    write_xlsx,
    xlsx_with_sheet_xml,
)

KEY = PseudonymKey(b"test key", "environment")
NAME = "E06000001_20240415T093000.csv"
V = ValueStatus
FINANCIAL_ASSESSMENT_PREFIX = load_params()["method"]["financial_assessment_prefix"]


def read_submission(path, key, placeholder_nhs_numbers=(), financial_assessment_prefix=FINANCIAL_ASSESSMENT_PREFIX):
    """:func:`cldstats.ingest.read_submission` with the default params' financial assessment prefix."""
    return ingest.read_submission(
        path, key, placeholder_nhs_numbers, financial_assessment_prefix=financial_assessment_prefix
    )


def reference_key(message: str, key: PseudonymKey = KEY) -> int:
    """The first 8 bytes of HMAC-SHA256(key, message), big-endian signed (the person keys' reading)."""
    return int.from_bytes(hmac.new(key.key, message.encode("utf-8"), "sha256").digest()[:8], "big", signed=True)


def read_rows(tmp_path: Path, rows: list[dict[str, str]], name: str = NAME, **csv_options) -> Submission:
    header = csv_options.pop("header", labels())
    path = tmp_path / name
    path.write_bytes(csv_bytes(header, rows, **csv_options))
    return read_submission(path, KEY)


def rows_with(field_label: str, values: list[str]) -> list[dict[str, str]]:
    template = base_rows(1)[0]
    return [dict(template, **{field_label: value}) for value in values]


# ---------------------------------------------------------------------------------------------
# File names and folders
# ---------------------------------------------------------------------------------------------

FILE_NAME_CASES = [
    ("E06000001_20240415T093000.csv", "E06000001", dt.datetime(2024, 4, 15, 9, 30)),
    ("E06000001_20240415T093000.csv.gz", "E06000001", dt.datetime(2024, 4, 15, 9, 30)),
    ("E10000003_20231231T235959.xlsx", "E10000003", dt.datetime(2023, 12, 31, 23, 59, 59)),
    ("e06000001_20240415t093000.CSV", "E06000001", dt.datetime(2024, 4, 15, 9, 30)),
    ("E06000001_20240230T093000.csv", "E06000001", None),  # 30 February
    ("E06000001_2024-04-15.csv", "E06000001", None),
    ("E06000001_20240415T093000.txt", "E06000001", None),
    ("Hartlepool.csv", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("name", "la_code", "submitted_at"), FILE_NAME_CASES)
def test_parse_file_name(name, la_code, submitted_at):
    assert parse_file_name(name) == (la_code, submitted_at)


def test_list_submissions(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("E2_x.csv", "E1_x.csv.gz", "E3_x.XLSX", "notes.txt", "E4_x.csv.bak"):
        (folder / name).write_bytes(b"")
    (folder / "sub.csv").mkdir()
    assert [p.name for p in list_submissions(tmp_path)] == ["E1_x.csv.gz", "E2_x.csv", "E3_x.XLSX"]
    assert list_submissions(tmp_path / "nowhere") == []


# ---------------------------------------------------------------------------------------------
# Contract: columns, dtypes, statuses
# ---------------------------------------------------------------------------------------------


def test_contract_columns_and_dtypes(tmp_path):
    sub = read_rows(tmp_path, base_rows(6))
    spec = load_spec()
    assert sub.issues == [] and sub.rows_read == 6 and sub.encoding == "utf-8"
    assert sub.la_code == "E06000001" and sub.submitted_at == dt.datetime(2024, 4, 15, 9, 30)
    assert len(sub.sha256) == 64
    records = sub.records
    assert list(records.index) == list(range(6))
    assert records["row_number"].dtype == "int32" and records["row_number"].tolist() == list(range(2, 8))
    assert "person_id" not in records and "person_id_source" not in records
    assert list(records.columns[:3]) == ["row_number", "nhs_number_key", "la_person_key"]
    for column in ("nhs_number_key", "la_person_key"):
        assert str(records[column].dtype) == "Int64" and records[column].notna().all(), column
        assert records[column].nunique() == 3, column
    assert records["nhs_number_key"][0] == reference_key("NHS:9434765919")
    assert records["Assessment_Type_submitted"].dtype == "string"
    assert str(records["birth_year"].dtype) == "Int16" and str(records["birth_month"].dtype) == "Int8"
    assert records["birth_year"].tolist()[:3] == [1941, 1958, 1936]
    assert records["birth_month"].tolist()[:3] == [3, 11, 2]
    for f in spec.fields:
        if f.handling == "drop" or f.handling == "birth_month_year" or f.kind == "nhs_number":
            assert f.name not in records
            continue
        column = records[f.name]
        expected = {
            "code": "category",
            "date": "datetime64[s]",
            "number": "float64",
            "integer": "Int32",
        }.get(f.kind, "string")
        assert str(column.dtype) == expected, f.name
        if f.kind == "code":
            assert list(column.cat.categories) == list(f.code_list), f.name
    assert list(sub.status.columns) == spec.names
    assert (sub.status.dtypes == np.int8).all() and sub.status.index.equals(records.index)
    assert list(sub.invalid_values.columns) == ["row_number", "field", "value"]
    assert set(DROPPED_FIELDS) & set(records.columns) == set()


def test_pseudonymised_columns(tmp_path):
    rows = base_rows(3)
    rows[0]["Adult 1 Linked Person_ID"] = "LAP-000456"
    sub = read_rows(tmp_path, rows)
    records = sub.records
    ids = records["LA_Person_Unique_Identifier"]
    assert ids.str.len().eq(32).all()
    assert records["Adult_1_Linked_Person_ID"][0] == ids[1]  # a linked ID matches the person's hash
    assert records["Adult_1_Linked_Person_ID"][1:].isna().all()


def test_la_code_from_rows_when_file_name_does_not_parse(tmp_path):
    rows = base_rows(2)
    sub_named = read_rows(tmp_path, rows)
    sub_unnamed = read_rows(tmp_path, rows, name="return.csv")
    assert "file_name" in sub_unnamed.checks()
    pd.testing.assert_series_equal(
        sub_named.records["LA_Person_Unique_Identifier"], sub_unnamed.records["LA_Person_Unique_Identifier"]
    )


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

DATE_CASES = [
    ("1/5/2023", V.VALID, "2023-05-01", "one-digit day and month"),
    ("01/05/2023", V.VALID, "2023-05-01", "two digits"),
    (" 01/05/2023 ", V.VALID, "2023-05-01", "surrounding spaces"),
    ("29/02/2024", V.VALID, "2024-02-29", "leap day"),
    ("29/02/2023", V.INVALID, None, "29 February in a non-leap year"),
    ("29/02/1900", V.INVALID, None, "1900 is not a leap year"),
    ("29/02/2000", V.VALID, "2000-02-29", "2000 is a leap year"),
    ("31/04/2023", V.INVALID, None, "31 April"),
    ("0/04/2023", V.INVALID, None, "day zero"),
    ("12/13/2023", V.INVALID, None, "month 13"),
    ("05/31/2023", V.INVALID, None, "US order"),
    ("1/5/23", V.INVALID, None, "two-digit year"),
    ("2023-05-01", V.INVALID_ISO_DATE, None, "ISO"),
    ("2023-05-01 00:00:00", V.INVALID_ISO_DATE, None, "ISO with time"),
    ("45047", V.INVALID_EXCEL_SERIAL, None, "Excel serial"),
    ("45047.5", V.INVALID_EXCEL_SERIAL, None, "Excel serial with time"),
    ("4504", V.INVALID, None, "four digits"),
    ("31/12/9999", V.VALID, "9999-12-31", "placeholder end date"),
    ("01/01/1900", V.VALID, "1900-01-01", "old date"),
    ("", V.BLANK, None, "blank"),
    ("   ", V.BLANK, None, "spaces only"),
    ("unknown", V.INVALID, None, "text"),
    ("=TODAY()", V.FORMULA, None, "formula"),
    ("-1", V.INVALID, None, "negative number"),
]


def test_date_parsing_table(tmp_path):
    sub = read_rows(tmp_path, rows_with("Event Start Date", [c[0] for c in DATE_CASES]))
    status = sub.status["Event_Start_Date"]
    values = sub.records["Event_Start_Date"]
    assert str(values.dtype) == "datetime64[s]"
    for i, (_text, expected_status, expected_date, case) in enumerate(DATE_CASES):
        assert status[i] == expected_status, case
        if expected_date is None:
            assert pd.isna(values[i]), case
        else:
            assert values[i] == pd.Timestamp(expected_date), case


def test_birth_month_year_only_from_valid_dates(tmp_path):
    sub = read_rows(tmp_path, rows_with("Date of Birth", ["17/03/1941", "1941-03-17", "", "31/02/1941"]))
    assert sub.records["birth_year"].tolist() == [1941, pd.NA, pd.NA, pd.NA]
    assert sub.records["birth_month"].tolist() == [3, pd.NA, pd.NA, pd.NA]
    assert sub.status["Date_of_Birth"].tolist() == [V.VALID, V.INVALID_ISO_DATE, V.BLANK, V.INVALID]


# ---------------------------------------------------------------------------------------------
# Codes and other kinds
# ---------------------------------------------------------------------------------------------

CODE_CASES = [
    ("Female", V.VALID, "Female", "exact"),
    ("female", V.VALID_LOOSE, "Female", "case"),
    ("  Female ", V.VALID_LOOSE, "Female", "trimmed only: a warning (docs/methodology.md section 3)"),
    ("FEMALE", V.VALID_LOOSE, "Female", "upper case"),
    ("Femal", V.INVALID, None, "misspelt"),
    ("F", V.INVALID, None, "abbreviation"),
    ("", V.BLANK, None, "blank"),
    ("=\"Female\"", V.FORMULA, None, "formula"),
    ("+Female", V.FORMULA, None, "plus"),
    ("-Female", V.FORMULA, None, "minus before text"),
]


def test_code_matching_table(tmp_path):
    sub = read_rows(tmp_path, rows_with("Gender", [c[0] for c in CODE_CASES]))
    for i, (_, expected_status, expected_value, case) in enumerate(CODE_CASES):
        assert sub.status["Gender"][i] == expected_status, case
        got = sub.records["Gender"][i]
        assert (pd.isna(got) and expected_value is None) or got == expected_value, case
    invalid = sub.invalid_values
    assert invalid["field"].tolist() == ["Gender", "Gender"]
    assert invalid["value"].tolist() == ["Femal", "F"] and invalid["row_number"].tolist() == [6, 7]
    assert "formula_cells" in sub.checks()


def test_code_inner_spaces_and_alternative_spelling(tmp_path):
    (hearing,) = [v for v in load_vocabulary()["Hearing_Impairment"].values if v.variants]
    alternative, canonical = hearing.variants[0], hearing.value
    rows = rows_with("Hearing Impairment", [alternative, canonical.replace(" ", "  "), canonical])
    sub = read_rows(tmp_path, rows)
    assert sub.status["Hearing_Impairment"].tolist() == [V.VALID_LOOSE, V.VALID_LOOSE, V.VALID]
    assert sub.records["Hearing_Impairment"].tolist() == [canonical] * 3


RELEASE_CASES = [
    # Client Type as sent, status, canonical value
    ("Service user", V.VALID, "Service user"),  # Release 2 spelling
    ("Service User", V.VALID_RELEASE1_CASE, "Service user"),  # Release 1 capitalisation of a Release 2 value
    (" Service User", V.VALID_LOOSE, "Service user"),  # the same, padded: loose in either release
    ("Unpaid carer", V.VALID, "Unpaid carer"),
    ("Carer", V.VALID_RELEASE1, "Unpaid carer"),  # Release 1 wording
    ("CARER", V.VALID_RELEASE1_LOOSE, "Unpaid carer"),  # Release 1 wording, another case
    (" Carer ", V.VALID_RELEASE1_LOOSE, "Unpaid carer"),  # Release 1 wording, padded
    ("service user", V.VALID_LOOSE, "Service user"),  # both fold alike: Release 2 wins
    ("Carer known by association", V.VALID_RELEASE1, "Unpaid carer known by association"),
    ("Customer", V.INVALID, None),
]


def test_code_values_of_either_release_read_to_one_canonical_value(tmp_path):
    sub = read_rows(tmp_path, rows_with("Client Type", [case[0] for case in RELEASE_CASES]))
    assert sub.status["Client_Type"].tolist() == [case[1] for case in RELEASE_CASES]
    got = sub.records["Client_Type"].astype(object).where(sub.records["Client_Type"].notna(), None).tolist()
    assert got == [case[2] for case in RELEASE_CASES]


OTHER_KIND_CASES = [
    # label, value, status, typed value (None: missing; ... : not in records)
    ("Unit Cost", "12.50", V.VALID, 12.5),
    ("Unit Cost", "-12.50", V.VALID, -12.5),
    ("Unit Cost", ".5", V.VALID, 0.5),
    ("Unit Cost", "1,200.00", V.INVALID, None),
    ("Unit Cost", "£12", V.INVALID, None),
    ("Unit Cost", "-", V.FORMULA, None),
    ("Unit Cost", "+12", V.FORMULA, None),
    ("No. of adults being cared for", "2", V.VALID, 2),
    ("No. of adults being cared for", "2.5", V.INVALID, None),
    ("No. of adults being cared for", "99999999999", V.INVALID, None),
    ("NHS Number", "943 476 5919", V.VALID, ...),
    ("NHS Number", "9434765918", V.INVALID, ...),
    ("Postcode", "ts24 8aa", V.VALID, ...),
    ("Postcode", "TS248AA", V.VALID, ...),
    ("Postcode", "NOT A POSTCODE", V.INVALID, ...),
    ("GP Practice Code", "A81001", V.VALID, "A81001"),
    ("GP Practice Code", "A8100", V.INVALID, None),  # may be a displaced personal value
    ("Provider CQC Location ID", "1-123456789", V.VALID, "1-123456789"),
    ("Provider CQC Location ID", "123456789", V.INVALID, None),
    ("LA Code", "E06000001", V.VALID, "E06000001"),
    ("LA Code", "e06000001", V.VALID_LOOSE, "E06000001"),
    ("LA Code", " E06000001 ", V.VALID_LOOSE, "E06000001"),
    ("LA Code", "E99999999", V.INVALID, "E99999999"),
    ("Event Reference", " EV1 ", V.VALID, "EV1"),
    ("Event Reference", "@EV1", V.FORMULA, None),
]


@pytest.mark.parametrize(
    ("label", "value", "status", "typed"), OTHER_KIND_CASES, ids=[f"{c[0]}={c[1]}" for c in OTHER_KIND_CASES]
)
def test_other_kinds(tmp_path, label, value, status, typed):
    name = load_spec().by_label[label].name
    sub = read_rows(tmp_path, rows_with(label, [value]))
    assert sub.status[name][0] == status
    if typed is ...:
        assert name not in sub.records
    elif typed is None:
        assert pd.isna(sub.records[name][0])
    else:
        assert sub.records[name][0] == typed


# ---------------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------------


def issues_of(sub: Submission, check: str) -> list[FileIssue]:
    return [i for i in sub.issues if i.check == check]


def test_header_loose_missing_extra_duplicate(tmp_path):
    header = labels()
    sent = [
        "event start date" if h == "Event Start Date" else "Service_Type" if h == "Service Type" else h
        for h in header
        if h not in ("Dementia", "Unit Cost")
    ] + ["Comments", "Gender"]
    spec_label = {"event start date": "Event Start Date", "Service_Type": "Service Type"}
    rows = [[r.get(spec_label.get(h, h), "x") for h in sent] for r in base_rows(2)]
    sub = read_rows(tmp_path, rows, header=sent)
    loose = issues_of(sub, "loose_label")
    assert {i.field for i in loose} == {"Event_Start_Date", "Service_Type"}
    assert all(NAME in i.message for i in sub.issues)
    (missing,) = issues_of(sub, "missing_columns")
    assert "'Dementia'" in missing.message and "'Unit Cost'" in missing.message and missing.count == 2
    (extra,) = issues_of(sub, "extra_columns")
    assert "'Comments'" in extra.message
    (duplicate,) = issues_of(sub, "duplicate_columns")
    assert duplicate.field == "Gender"
    # Missing columns read as all blank; the rest came through.
    assert sub.records["Dementia"].isna().all() and (sub.status["Unit_Cost"] == V.BLANK).all()
    assert sub.records["Gender"].notna().all() and sub.records["Event_Start_Date"].notna().all()


# ---------------------------------------------------------------------------------------------
# Encodings and formats
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "expected", "check"),
    [("cp1252", False, "cp1252", None), ("utf-8", False, "utf-8", None), ("utf-8", True, "utf-8-sig", "encoding_bom")],
)
def test_encodings(tmp_path, encoding, bom, expected, check):
    rows = rows_with("Provider CQC Location Name", ["Café Émile – “Care”"])
    if encoding == "cp1252":
        rows[0]["Provider CQC Location Name"] = "Café Émile"
    sub = read_rows(tmp_path, rows, encoding=encoding, bom=bom)
    assert sub.encoding == expected
    assert sub.records["Provider_CQC_Location_Name"][0] == rows[0]["Provider CQC Location Name"]
    assert sub.records["LA_Code"][0] == "E06000001"  # the BOM is not part of the first label
    assert (check in sub.checks()) if check else sub.issues == []


def test_csv_gz_reads_like_csv(tmp_path):
    plain = read_rows(tmp_path, base_rows(4))
    gz = tmp_path / "E06000001_20240415T093000.csv.gz"
    gz.write_bytes(gzip.compress(csv_bytes(labels(), base_rows(4))))
    zipped = read_submission(gz, KEY)
    assert zipped.issues == []
    pd.testing.assert_frame_equal(plain.records, zipped.records)
    pd.testing.assert_frame_equal(plain.status, zipped.status)


def test_xlsx_template(tmp_path):
    header = labels()
    rows = []
    for i, record in enumerate(base_rows(3)):
        cells: list[object] = list(record.values())
        cells[header.index("Event Start Date")] = dt.datetime(2023, 5, 1 + i)  # real Excel dates
        cells[header.index("Unit Cost")] = 12.5
        cells[header.index("No. of adults being cared for")] = 2
        rows.append(cells)
    rows[1][header.index("Event End Date")] = 45047  # a number in a date field: the paste-values fault
    rows[2][header.index("Unit Cost")] = "=1+1"  # openpyxl stores this as a formula
    path = tmp_path / "E06000001_20240415T093000.xlsx"
    write_xlsx(path, header, rows + [[None] * len(header)])
    sub = read_submission(path, KEY)
    assert sub.encoding is None and sub.rows_read == 3
    assert sub.records["Event_Start_Date"].tolist() == [pd.Timestamp(2023, 5, d) for d in (1, 2, 3)]
    assert sub.records["Unit_Cost"].tolist()[:2] == [12.5, 12.5]
    assert sub.records["No_of_adults_being_cared_for"].tolist() == [2, 2, 2]
    assert sub.status["Event_End_Date"].tolist() == [V.BLANK, V.INVALID_EXCEL_SERIAL, V.BLANK]
    assert sub.status["Unit_Cost"][2] == V.FORMULA
    (formula,) = issues_of(sub, "formula_cells")
    assert formula.rows == (4,) and "Unit Cost" in formula.message
    assert sub.records["nhs_number_key"].nunique() == sub.records["la_person_key"].nunique() == 3


# ---------------------------------------------------------------------------------------------
# Personal data never leaves ingest
# ---------------------------------------------------------------------------------------------


def all_text(sub: Submission) -> str:
    parts = [repr(sub.issues), sub.invalid_values.to_csv()]
    if sub.records is not None:
        parts.append(sub.records.to_csv())
        parts.append(" ".join(str(c) for c in sub.records.columns))
    return "\n".join(parts)


def test_no_personal_value_leaves_ingest(tmp_path):
    rows = base_rows(6)
    # Personal values also where they cause issues: formula-looking, in code fields, as labels.
    rows[0]["Gender"] = "Zebedee"
    rows[1]["First Name"] = "=Ottoline"
    rows[2]["Ethnicity"] = "9434765919"
    header = labels() + ["Peregrine"]
    sub = read_rows(tmp_path, [list(r.values()) + ["x"] for r in rows], header=header)
    assert sub.records is not None and sub.rows_read == 6
    text = all_text(sub)
    for value in PERSONAL_VALUES:
        if value == "Peregrine":
            continue  # sent as a header label on purpose: checked below
        assert value not in text, value
        assert value.replace("/", "-") not in text
    for dob in ("1941-03-17", "1958-11-02", "1936-02-29"):
        assert dob not in text
    # A name or an NHS number typed into a code field is shown to the council by its shape only;
    # a header cell is listed when it is an unknown label.
    assert sub.invalid_values["value"].tolist() == ["(text, 7 letters)", "(10 digits)"]


# Planted in code fields: (label, value sent, what the council report may show).
PLANTED_INVALID_VALUES = [
    ("Gender", "Zebedee", "(text, 7 letters)"),  # first names
    ("Gender", "Ottoline", "(text, 8 letters)"),
    ("Ethnicity", "Peregrine", "(text, 9 letters)"),
    ("Client Type", "Quixotic-Smythe", "(text, 14 letters)"),  # surnames
    ("Event Type", "Wolstenholme", "(text, 12 letters)"),
    ("Service Type", "O'Neill", "(text, 6 letters)"),
    ("LA Code", "9434765919", "(10 digits)"),  # NHS numbers: valid and invalid check digit
    ("LA Code", "943 476 5918", "(10 digits)"),
    ("Accommodation Status", "TS24 8AA", "(postcode-like)"),  # postcodes, with and without space
    ("Accommodation Status", "sw1a1aa", "(postcode-like)"),
    ("Dementia", "17/03/1941", "(date-like)"),  # dates
    ("Dementia", "1941-03-17", "(date-like)"),
    ("Has Unpaid Carer", "LAP-000123", "(text, 10 characters)"),  # LA person IDs
    ("Has Unpaid Carer", "774411", "(6 digits)"),
    ("Gender", "Femal", "Femal"),  # near misses of a code: shown as sent
    ("Service Type", "Long Term Support: Nursing", "Long Term Support: Nursing"),
    ("LA Code", "E0600001", "E0600001"),
    ("LA Code", "E99999999", "E99999999"),  # GSS-shaped: a council code, never personal
    ("Gender", "F", "F"),  # too short to be personal
    ("Has Unpaid Carer", "N/A", "N/A"),
    ("Dementia", "99", "99"),
]


def test_invalid_values_show_a_value_only_when_it_cannot_be_personal(tmp_path):
    rows = []
    for label, value, _ in PLANTED_INVALID_VALUES:
        row = base_rows(1)[0]
        row[label] = value
        rows.append(row)
    sub = read_rows(tmp_path, rows)
    spec = load_spec()
    expected = [(i + 2, spec.by_label[label].name, shown) for i, (label, _, shown) in enumerate(PLANTED_INVALID_VALUES)]
    got = list(sub.invalid_values[["row_number", "field", "value"]].itertuples(index=False, name=None))
    assert got == expected
    shown_to_council = repr(sub.issues) + sub.invalid_values.to_csv()
    text = all_text(sub)
    for _label, value, shown in PLANTED_INVALID_VALUES:
        if shown != value:
            assert value not in shown_to_council and value.replace(" ", "") not in shown_to_council, value
            assert value not in text, value
    # An unknown LA code stays in records for quality's LA code checks, personal ones by their shape.
    assert sub.records["LA_Code"][6:10].tolist() == ["(10 digits)", "(10 digits)", "E06000001", "E06000001"]
    assert sub.records["LA_Code"][16:18].tolist() == ["E0600001", "E99999999"]


def test_no_personal_value_leaks_from_displaced_cells(tmp_path):
    """A row missing a cell shifts names and postcodes into code and text columns."""
    header = labels()
    rows = [list(r.values()) for r in base_rows(6)]
    for i in range(3):
        del rows[i][header.index("First Name")]  # Last Name moves into First Name, and so on
    sub = read_rows(tmp_path, rows, header=header)
    assert "ragged_rows" in sub.checks() and sub.rows_read == 6
    text = all_text(sub)
    assert [value for value in PERSONAL_VALUES if value in text] == []
    # The intact rows still come through in full.
    assert sub.records["Provider_CQC_Location_Name"][3:].notna().all()


# ---------------------------------------------------------------------------------------------
# Pinned output: a speed-up of ingest must not change a single value
# ---------------------------------------------------------------------------------------------

# SHA-256 of records.to_csv(), the records dtypes, status.to_csv(), invalid_values.to_csv() and
# repr(issues) per file, computed with ingest as it was before the speed work (2024 layout of
# cldstats.tools.synth; if synth itself changes its output, regenerate these with the old ingest).
# The submission store replaced person_id/person_id_source by the person keys and Assessment_Type_submitted:
# the records and dtypes digests were regenerated then, after checking that every other column,
# the statuses, invalid values and issues were equal, and each old NHS-number person_id began with
# the hex of its row's nhs_number_key.
# Release 2 (issue 14): the Release 1 files of 2023/24 are byte for byte what they were; only the
# broken-header file's issues digest was regenerated, its message now counting "specification"
# columns. The Release 2 files (E06000001 keeps the two removed columns, E06000002 leaves them out;
# submitted after the October 2025 switch) were pinned then, with the ingest of that commit. Then
# Release 1's capitalisation of a Release 2 value (``Service User``) got its own status
# (VALID_RELEASE1_CASE, 9, was VALID_LOOSE): the status digests of the five Release 1 files were
# regenerated, every other digest unchanged.
PINNED_SPANS = {("2023-04", "2024-03"): ["E06000001"], ("2025-07", "2025-09"): ["E06000001", "E06000002"]}
PINNED_DIGESTS = {
    "E06000001_20230730T175424.csv": (
        "cp1252", 93,
        "e85a2bf4394561e76b6efd919bba5935cfd2acd830108f509da37e4b1a646036",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "7fd463d91465dd7c86cf627e7f346db3caa4f5d238d8267262796395c8f1bc50",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20231008T164535.csv": (
        "cp1252", 133,
        "df1c2138f897a18a011f11b8e9a45a61cd007387a527eb6bfa68fbacaa67a88a",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "68614e16bb0590b574f1299530804b71db093e36ba9971f2d1f3c21e834f9360",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20240205T152313.csv": (
        "cp1252", 180,
        "31edbed4ac8638693dff3028916bc076ae63218031b68191c1fd9e519f604ab9",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "8e10ffaedeb0f86d59886b21da056b162ac2e119a91eac84c091ffb48d569190",
        "0230c272242404a2e6206889c71b152927ccbff5c73560cde0993f2f3d75b78e",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20240429T142939.csv": (
        "cp1252", 232,
        "a3d8fddecb5166ac362d91120110963fa63987c9e981a7901689934629938e29",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "70b4d5c9adde4612525a70a531c0920e5082321bca02d700c10238252506dbae",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        # issues: the missing_columns issue also lists the missing fields (FileIssue.fields), and
        # counts "specification" columns (Release 2)
        "846f50dc6e0230ed43caea6039962659a63a785ed29338ce8f4f07f427e9894e",
    ),
    "E06000001_20240501T152939.csv": (
        "cp1252", 232,
        "530b816ae6f7e06f9801f2f604509e3874e690b238797aebfc7faee608571073",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "9a4da7beb4f63985952e666bb51f488d2d2dbe9df8287aa3eb8ca735fba9f8da",
        "65c4daf30c4e392dcb4d5478967d61f0f321f568d93606ae4c29f93e30224240",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    # Release 2 files, the broken-header one first
    "E06000001_20251028T165424.csv": (
        "cp1252", 226,
        "b9e85cfe56447e85bcf3798fb8f2d190458de3bb9c640d205251587efccffc12",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "775db8871d5ec7de81dcd50618f5d9f4a52ef335b0038ddb50bc478bd4f12944",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "16e0a3d77bcfe93816bff8c31f64be3d979c8030b072a33f19b276cb92075975",
    ),
    "E06000001_20251030T175424.csv": (
        "cp1252", 227,
        "263983d4d9b7505fe96d47b93286baa3206ca085072fb78f848698b3d4f4162f",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "1e5455c8bb462036600704a438b407083500a54dfb3d14f4f39e020d7ff5e704",
        "d92d31951eb959ef38206d738b89915921504fc734296c8123681432fdaaf8a9",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000002_20251017T081608.csv": (
        "cp1252", 399,
        "692eef8fccacee85cce9c8472d54ae6d92010c281f417be20f1c35963fe7b537",
        "d9a1f328824b559f153ce763f35ad9f1b2e790834afc4ef7286ee9690afba112",
        "bc299244990ce771fd78a83ada7221d5f06e420be84ab2a4cfe901e8a0437dcf",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
}


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_read_submission_output_is_pinned(tmp_path):
    files = []
    for (start, end), councils in PINNED_SPANS.items():
        generate(tmp_path / start, councils=councils, workers=1, start=start, end=end)
        files += sorted((tmp_path / start / "submissions").iterdir())
    assert sorted(f.name for f in files) == sorted(PINNED_DIGESTS)
    key = PseudonymKey(b"pin test key", "environment")
    for path in files:
        submission = read_submission(path, key)
        got = (
            submission.encoding,
            submission.rows_read,
            _digest(submission.records.to_csv(index=True)),
            _digest(repr(list(submission.records.dtypes.astype(str).items()))),
            _digest(submission.status.to_csv(index=True)),
            _digest(submission.invalid_values.to_csv(index=True)),
            _digest(repr(submission.issues)),
        )
        assert got == PINNED_DIGESTS[path.name], path.name


def test_gzip_members_padding_and_junk_read_as_the_gzip_module_does(tmp_path):
    good = csv_bytes(labels(), base_rows(4))
    plain = read_rows(tmp_path, base_rows(4))
    two_members = gzip.compress(good[:500]) + b"\0\0\0" + gzip.compress(good[500:])
    path = tmp_path / "E06000001_20240415T093000.csv.gz"
    path.write_bytes(two_members)
    assert gzip.decompress(two_members) == good
    zipped = read_submission(path, KEY)
    assert zipped.rows_read == 4 and zipped.records.equals(plain.records)
    for tail, check_word in ((b"junk", "not a valid gzip"), (gzip.compress(good)[:20], "truncated")):
        path.write_bytes(gzip.compress(good) + tail)
        messages = [issue.message for issue in read_submission(path, KEY).issues if issue.check == "unreadable"]
        assert len(messages) == 1 and check_word in messages[0]


def test_windows_1252_cells_are_transcoded(tmp_path):
    rows = rows_with("Event Reference", ["Zoë-€1", "plain"])
    path = tmp_path / NAME
    path.write_bytes(csv_bytes(labels(), rows, encoding="cp1252"))
    submission = read_submission(path, KEY)
    assert submission.encoding == "cp1252"
    assert submission.records["Event_Reference"].tolist() == ["Zoë-€1", "plain"]


# ---------------------------------------------------------------------------------------------
# Hardening: inside one file nothing is lost and nothing leaked
# ---------------------------------------------------------------------------------------------


def numbered_file(
    pieces: list[str | list[str]], line_ending: str = "\r\n", blank_lines_first: int = 0
) -> tuple[bytes, list[int]]:
    """A CSV file built piece by piece (``""`` a blank line, a list of cells one record) and the
    line on which each record starts, counted while it is built."""
    header = labels()
    text = line_ending * blank_lines_first + ",".join(header) + line_ending
    line, starts = 2 + blank_lines_first, []
    for piece in pieces:
        if isinstance(piece, str):
            text += piece + line_ending
            line += 1 + piece.count("\n")
            continue
        record = ",".join(
            '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell for cell in piece
        )
        starts.append(line)
        text += record + line_ending
        line += 1 + record.count("\n")
    return text.encode("utf-8"), starts


def records_with(n: int, **changes: dict[int, str]) -> list[list[str]]:
    """``n`` base records as cell lists; ``changes`` maps a label (underscores for spaces) to {index: value}."""
    rows = base_rows(n)
    for label, by_index in changes.items():
        for i, value in by_index.items():
            rows[i][label.replace("_", " ")] = value
    return [list(r.values()) for r in rows]


ROW_NUMBER_CASES = {  # case: (pieces from the records, blank lines before the header)
    "blank lines": (lambda records: records[:3] + ["", "", ""] + records[3:5] + [""] + records[5:], 0),
    "blank lines and quoted line breaks": (lambda records: records[:2] + [""] + records[2:], 0),
    "leading and trailing blank lines": (lambda records: records + ["", ""], 2),
    "ragged row after blank lines (csv module path)": (lambda records: records[:4] + ["", ""] + records[4:], 0),
}


@pytest.mark.parametrize("case", list(ROW_NUMBER_CASES))
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_row_numbers_are_the_files_own_lines(tmp_path, case, suffix):
    """A record's row number is the line it starts on (header = line 1), blank lines counted."""
    records = records_with(40, Event_Start_Date={35: "32/01/2023"}, Gender={20: "Femal"})
    if "quoted" in case:
        records[1][labels().index("Event Description")] = "first line\n\nthird line, after an empty one"
        records[30][labels().index("Event Description")] = "a\r\nb"
    if "ragged" in case:
        records[10] = records[10][:45]
    pieces, blank_lines_first = ROW_NUMBER_CASES[case]
    content, starts = numbered_file(pieces(records), blank_lines_first=blank_lines_first)
    path = tmp_path / f"E06000001_20240415T093000{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    sub = read_submission(path, KEY)
    assert sub.rows_read == 40
    assert sub.records["row_number"].tolist() == starts
    bad_date_row = starts[35]
    assert bad_date_row > 37 and sub.status["Event_Start_Date"][35] == V.INVALID
    assert sub.invalid_values["row_number"].tolist() == [starts[20]]
    if "ragged" in case:
        (ragged,) = issues_of(sub, "ragged_rows")
        assert ragged.rows == (starts[10],) and f"row {starts[10]} has 45" in ragged.message


@pytest.fixture(scope="module")
def quality_check():
    """Check one submission with the real GX suites and the default params."""
    runner, params = quality.QualityRunner(), load_params()
    return lambda submission: runner.check(submission, params)


@pytest.mark.slow
def test_row_numbers_follow_into_quality_failing_records(tmp_path, quality_check):
    """The council report's failing records give the same lines as the file."""
    records = records_with(40, Gender={35: "Femal"})
    lines = records[:30] + ["", "", "", "", ""] + records[30:]
    content, starts = numbered_file(lines)
    path = tmp_path / NAME
    path.write_bytes(content)
    failing = quality_check(read_submission(path, KEY)).failing_records
    bad = failing[(failing["field"] == "Gender") & (failing["check"] == "invalid")]
    assert bad["row_number"].tolist() == [starts[35]] == [42]
    assert bad["event_reference"].tolist() == ["EV000035"]


def test_lone_cr_line_endings_and_blank_lines(tmp_path):
    content, starts = numbered_file(records_with(5)[:2] + ["", ""] + records_with(5)[2:], line_ending="\r")
    path = tmp_path / NAME
    path.write_bytes(content)
    sub = read_submission(path, KEY)
    assert sub.rows_read == 5 and sub.records["row_number"].tolist() == starts == [2, 3, 6, 7, 8]


def test_unbalanced_quote_loses_no_record(tmp_path):
    """262 records, an unclosed quote in one and legitimate quoted commas later: 262 read."""
    location = labels().index("Provider CQC Location Name")
    records = records_with(262)
    records[200][location] = "Home, with a comma"  # quoted: its quote closes the unclosed one
    content, starts = numbered_file(records)
    opening = content.find(b"Sunny View Care Home", content.find(b"EV000040"))
    content = content[:opening] + b'"' + content[opening:]
    path = tmp_path / NAME
    path.write_bytes(content)
    sub = read_submission(path, KEY)
    assert sub.rows_read == 262 and sub.records["row_number"].tolist() == starts == list(range(2, 264))
    (issue,) = issues_of(sub, "ragged_rows")
    assert issue.rows == (42,) and "row 42, column 'Provider CQC Location Name'" in issue.message
    assert "never closed" in issue.message
    assert sub.records["Provider_CQC_Location_Name"][40] == '"Sunny View Care Home'
    assert sub.records["Provider_CQC_Location_Name"][200] == "Home, with a comma"
    assert sub.records["Event_Reference"].tolist() == [f"EV{i:06d}" for i in range(262)]
    assert sub.records["Gender"].notna().all() and sub.records["nhs_number_key"].notna().all()


def test_unclosed_quote_closed_by_the_next_lines_quote(tmp_path):
    """The next line's own quoted cell closes the quote: two records were read as one."""
    rows = base_rows(6)
    for row in rows:
        row["Ethnicity"] = "White - English, Welsh, Scottish, Northern Irish or British"  # quoted
    content = csv_bytes(labels(), rows)
    at = content.find(b"Sunny View", content.find(b"EV000002"))
    path = tmp_path / NAME
    path.write_bytes(content[:at] + b'"' + content[at:])
    sub = read_submission(path, KEY)
    assert sub.rows_read == 6 and sub.records["Event_Reference"].tolist() == [f"EV{i:06d}" for i in range(6)]
    (issue,) = issues_of(sub, "ragged_rows")
    assert issue.rows == (4,) and "row 4, column 'Provider CQC Location Name'" in issue.message
    assert sub.records["Ethnicity"].notna().all()


def test_several_unclosed_quotes_each_named(tmp_path):
    records = records_with(30)
    content, _ = numbered_file(records)
    for reference in (b"EV000025", b"EV000012", b"EV000003"):  # from the end: offsets stay valid
        at = content.find(b"Sunny View", content.find(reference))
        content = content[:at] + b'"' + content[at:]
    path = tmp_path / NAME
    path.write_bytes(content)
    sub = read_submission(path, KEY)
    assert sub.rows_read == 30 and sub.records["row_number"].tolist() == list(range(2, 32))
    (issue,) = issues_of(sub, "ragged_rows")
    assert issue.rows == (5, 14, 27) and "row 5," in issue.message and "rows 14, 27" in issue.message


def test_more_unclosed_quotes_than_repaired_are_blanked_and_said(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file, "_MAX_QUOTE_PASSES", 1)
    records = records_with(12)
    content, _ = numbered_file(records)
    # The quote of row 4 is closed by the one of row 10: one pass finds only the first.
    for reference in (b"EV000008", b"EV000002"):
        at = content.find(b"Sunny View", content.find(reference))
        content = content[:at] + b'"' + content[at:]
    path = tmp_path / NAME
    path.write_bytes(content)
    sub = read_submission(path, KEY)
    repaired, _ragged, blanked = issues_of(sub, "ragged_rows")
    assert repaired.rows == (4,) and "read as a character" in repaired.message
    assert blanked.rows == (10,) and "row 10" in blanked.message and "blanked" in blanked.message
    assert [value for value in PERSONAL_VALUES if value in all_text(sub)] == []


def duplicated_gender(tmp_path: Path, first: list[str], second: list[str]) -> Submission:
    header = labels() + ["Gender"]
    gender = labels().index("Gender")
    rows = []
    for record, a, b in zip(base_rows(len(first)), first, second, strict=True):
        cells = list(record.values())
        cells[gender] = a
        rows.append(cells + [b])
    return read_rows(tmp_path, rows, header=header)


def test_duplicate_columns_identical_use_the_first(tmp_path):
    sub = duplicated_gender(tmp_path, ["Male", "Female ", ""], ["Male", " Female", ""])
    (issue,) = issues_of(sub, "duplicate_columns")
    assert "columns 10, 51 with the same values" in issue.message
    assert sub.records["Gender"].tolist()[:2] == ["Male", "Female"] and sub.status["Gender"][1] == V.VALID_LOOSE


def test_duplicate_columns_blank_copy_does_not_blank_the_field(tmp_path):
    """A blank first copy fell the council's count to 0: the non-blank value is used, and said."""
    first = [""] * 40 + ["Male"]
    second = ["Female"] * 40 + [""]
    sub = duplicated_gender(tmp_path, first, second)
    assert sub.records["Gender"].tolist() == ["Female"] * 40 + ["Male"]
    (issue,) = issues_of(sub, "duplicate_columns")
    assert "on 41 rows (rows 2, 3, 4, 5, 6 ...)" in issue.message and "non-blank value is used" in issue.message
    assert "duplicate_columns_disagree" not in sub.checks()


def test_duplicate_columns_that_disagree_are_their_own_check(tmp_path):
    sub = duplicated_gender(tmp_path, ["Zebedee", "Male", "", "Male"], ["Female", "Male", "Male", "Ottoline"])
    (issue,) = issues_of(sub, "duplicate_columns_disagree")
    assert issue.field == "Gender" and issue.rows == (2, 5) and issue.count == 2
    assert "'Gender' appears in columns 10, 51 with different values on 2 rows (rows 2, 5)" in issue.message
    assert "Zebedee" not in issue.message and "Ottoline" not in issue.message
    assert "duplicate_columns" not in sub.checks()


@pytest.mark.slow
def test_duplicate_columns_disagree_blocks_the_file(tmp_path, quality_check):
    sub = duplicated_gender(tmp_path, ["Male", "Male"], ["Male", "Female"])
    result = quality_check(sub)
    assert result.outcome.startswith("rejected") and "duplicate_columns_disagree" in result.blocking


def test_placeholder_nhs_numbers_are_invalid_and_do_not_merge_people(tmp_path):
    """30 people on 0000000000 (which passes the check digit) stay 30 people."""
    rows = base_rows(33)
    for i in range(30):
        rows[i]["NHS Number"] = "0000000000" if i < 20 else "1000000060"
        rows[i]["LA Person Unique Identifier"] = f"LAP-{i:06d}"
    sub = read_rows(tmp_path, rows)
    assert (sub.status["NHS_Number"][:20] == V.INVALID).all()
    assert sub.records["nhs_number_key"][:20].isna().all()  # so the SQL falls back to the LA ID
    assert sub.records["la_person_key"][:20].nunique() == 20
    assert sub.records["nhs_number_key"][20:30].nunique() == 1  # not listed: still one person
    listed = read_submission(tmp_path / NAME, KEY, placeholder_nhs_numbers=["100 000 0060"])
    assert (listed.status["NHS_Number"][:30] == V.INVALID).all()
    assert listed.records["nhs_number_key"][:30].isna().all()
    assert listed.records["la_person_key"][:30].nunique() == 30
    assert (listed.status["NHS_Number"][30:] == V.VALID).all()


def test_person_keys_of_spellings_placeholders_and_blanks(tmp_path):
    """Two spellings of one NHS number give one key; a placeholder or an invalid number none; the
    LA key is the first 8 bytes of the row's LA_Person_Unique_Identifier hash; a blank ID none."""
    rows = base_rows(6)
    cells = [("9434765919", "LAP-1"), ("943 476 5919", " LAP-1 "), (" 9434765919", "LAP-2"),
             ("0000000000", "LAP-3"), ("9434765918", ""), ("", "   ")]
    for row, (number, la_id) in zip(rows, cells, strict=True):
        row["NHS Number"], row["LA Person Unique Identifier"] = number, la_id
    records = read_rows(tmp_path, rows).records
    a = reference_key("NHS:9434765919")
    assert records["nhs_number_key"].tolist() == [a, a, a, pd.NA, pd.NA, pd.NA]
    la_keys = [reference_key(f"LA:E06000001:{i}") for i in ("LAP-1", "LAP-1", "LAP-2", "LAP-3")]
    assert records["la_person_key"].tolist() == [*la_keys, pd.NA, pd.NA]
    hashes = records["LA_Person_Unique_Identifier"]
    assert [int(h[:16], 16) - (1 << 64 if int(h[:16], 16) >= 1 << 63 else 0) for h in hashes[:4]] == la_keys
    assert hashes[4:].isna().all()


def test_person_keys_without_a_file_name_la_code_use_each_rows_la_code(tmp_path):
    rows = base_rows(2)
    rows[1]["LA Code"] = "E06000002"
    records = read_rows(tmp_path, rows, name="Hartlepool return.csv").records
    assert records["la_person_key"].tolist() == [
        reference_key("LA:E06000001:LAP-000123"), reference_key("LA:E06000002:LAP-000456")]
    assert records["nhs_number_key"].tolist() == [reference_key("NHS:9434765919"), reference_key("NHS:4010232137")]


def test_person_keys_depend_on_the_key(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(csv_bytes(labels(), base_rows(1)))
    ours, theirs = (read_submission(path, k).records for k in (KEY, PseudonymKey(b"another key", "key file")))
    for column in ("nhs_number_key", "la_person_key"):
        assert ours[column][0] != theirs[column][0], column


# (Assessment Type as sent, kept in Assessment_Type_submitted, case)
SUBMITTED_ASSESSMENT_TYPE_CASES = [
    ("Long Term Assessment", "Long Term Assessment", "a code-list value"),
    ("  short term ASSESSMENT ", "short term ASSESSMENT", "a code-list value in another case, trimmed"),
    ("Long Term Assessment (review)", "Long Term Assessment (text, 8 characters)", "begins with a code-list value"),
    ("FINANCIAL ASSESSMENT - Mr Okonkwo", "FINANCIAL ASSESSMENT (text, 12 characters)", "the prefix, then a name"),
    ("Financial Assessment - Review", "Financial Assessment - Review", "longest start: the code-list value whole"),
    ("Financial Assessment", "Financial Assessment", "the prefix itself (not in the code list)"),
    ("financial assessment - review", "financial assessment - review", "begins with the prefix, any case"),
    ("Financial Assessment - Full", "Financial Assessment - Full", "an assumed code-list value"),
    ("Zebedee Wolstenholme", "(text, 19 letters)", "a name: its shape"),
    ("9434765919", "(10 digits)", "an NHS number: its shape"),
    ("TS24 8AA", "(postcode-like)", "a postcode: its shape"),
    ("Financial", "(text, 9 letters)", "shorter than the prefix: its shape"),
    ("Fin. Assessment", "(text, 13 letters)", "a near miss of the prefix: its shape"),
    ("=HYPERLINK(1)", "(text, 13 characters)", "a formula: its shape"),
    ("   ", None, "blank: missing"),
    ("", None, "empty: missing"),
]


def test_submitted_assessment_type_keeps_only_safe_text(tmp_path):
    rows = rows_with("Assessment Type", [c[0] for c in SUBMITTED_ASSESSMENT_TYPE_CASES])
    for row in rows:
        row["Event Type"] = "Assessment"
    sub = read_rows(tmp_path, rows)
    got = sub.records["Assessment_Type_submitted"]
    assert got.dtype == "string"
    for (_, expected, case), value in zip(SUBMITTED_ASSESSMENT_TYPE_CASES, got, strict=True):
        assert (pd.isna(value) and expected is None) or value == expected, case
    # The code-list column is unchanged: only code-list values (canonical spelling), else missing.
    assert sub.records["Assessment_Type"].tolist()[:2] == ["Long term assessment", "Short term assessment"]


def test_submitted_assessment_type_follows_the_prefix_of_params(tmp_path):
    path = tmp_path / NAME
    sent = ["Financial Assessment", "Means Test", "means test 2"]
    path.write_bytes(csv_bytes(labels(), rows_with("Assessment Type", sent)))
    other = read_submission(path, KEY, financial_assessment_prefix="Means test").records
    assert other["Assessment_Type_submitted"].tolist() == ["(text, 19 letters)", "Means Test", "means test (1 digit)"]


def test_submitted_assessment_type_is_masked_on_suspect_rows(tmp_path):
    """A ragged row's cells may be displaced (a name in the Assessment Type column): not kept."""
    rows = [list(r.values()) for r in rows_with("Assessment Type", ["Long Term Assessment"] * 2)]
    rows[0] = rows[0] + ["extra", "cells"]
    sub = read_rows(tmp_path, rows)
    assert "ragged_rows" in sub.checks()
    kept = sub.records["Assessment_Type_submitted"]
    assert kept.isna().tolist() == [True, False] and kept[1] == "Long Term Assessment"


def test_one_nhs_number_with_several_birth_dates_is_reported(tmp_path):
    rows = base_rows(9)
    for i in (2, 5, 8):  # person 3's number, each row a different person
        rows[i]["Date of Birth"] = f"0{i // 3 + 1}/0{i // 3 + 1}/19{40 + i}"
        rows[i]["LA Person Unique Identifier"] = f"LAP-9{i}"
    sub = read_rows(tmp_path, rows)
    (issue,) = issues_of(sub, "nhs_number_shared")
    assert issue.rows == (4, 7, 10) and issue.count == 3 and issue.field == "NHS_Number"
    assert "1 NHS number each given with different dates of birth" in issue.message
    assert [value for value in PERSONAL_VALUES if value in all_text(sub)] == []
    assert "nhs_number_shared" not in read_rows(tmp_path, base_rows(9)).checks()


def test_xlsx_with_a_value_at_xfd1048576_reads_in_seconds(tmp_path):
    """A real openpyxl workbook whose used range is the whole sheet; read in a child process, so a
    regression fails on the timeout instead of hanging the suite."""
    import subprocess
    import sys

    import openpyxl

    path = tmp_path / "E06000001_20240415T093000.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(labels())
    for record in base_rows(3):
        sheet.append(list(record.values()))
    sheet.cell(row=1_048_576, column=16_384, value="stray")
    workbook.save(path)
    program = (
        "import sys, time\n"
        "from cldstats.ingest.reader import read_submission\n"
        "from cldstats.ingest.pseudonymise import PseudonymKey\n"
        "started = time.perf_counter()\n"
        "s = read_submission(sys.argv[1], PseudonymKey(b'k', 'environment'), financial_assessment_prefix='F')\n"
        "print(round(time.perf_counter() - started, 2), s.rows_read, s.records['row_number'].tolist())\n"
        "print([i.message for i in s.issues if i.check == 'ragged_rows'][0])"
    )
    done = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    timing, message = done.stdout.splitlines()
    seconds, rows_read, row_numbers = timing.split(" ", 2)
    assert float(seconds) < 5 and rows_read == "3" and row_numbers == "[2, 3, 4]"
    assert "row 1048576" in message and "not read as records" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('<row r="3"', '<row r="2000000"', "row 2,000,000, beyond Excel's limit of 1,048,576 rows"),
        ('r="A3"', 'r="XFE3"', "cell in row 3 beyond Excel's limit of 16,384 columns"),
    ],
)
def test_xlsx_beyond_excel_limits_is_unreadable_with_one_line(tmp_path, old, new, expected):
    path = tmp_path / "E06000001_20240415T093000.xlsx"
    path.write_bytes(xlsx_with_sheet_xml(labels(), old, new))
    sub = read_submission(path, KEY)
    (issue,) = issues_of(sub, "unreadable")
    assert sub.records is None and expected in issue.message and "\n" not in issue.message
    assert issue.message.startswith(path.name)


def test_line_counting_matches_python_splitlines():
    """CRLF, LF and a lone CR each end a line, exactly as ``str.splitlines`` counts them."""
    import random

    rng = random.Random(11)
    for _ in range(3000):
        data = bytes(rng.choice(b"a,\r\n") for _ in range(rng.randint(1, 12)))
        lines = data.decode("ascii").splitlines()
        starts, empty = csv_parser.physical_lines(data)
        assert csv_parser._line_count(data) == len(lines) == len(starts), data
        assert empty.tolist() == [line == "" for line in lines], data
        assert [data[s : s + len(line)].decode() for s, line in zip(starts, lines, strict=True)] == lines, data


@pytest.mark.slow
def test_validation_reads_with_the_placeholder_numbers_of_params(tmp_path):
    """quality passes params ``pseudonymisation.placeholder_nhs_numbers`` to ingest."""
    rows = base_rows(12)
    for i in range(10):
        rows[i]["NHS Number"] = "1000000060"
        rows[i]["LA Person Unique Identifier"] = f"LAP-{i:06d}"
    (tmp_path / "data" / "submissions").mkdir(parents=True)
    (tmp_path / "data" / "submissions" / NAME).write_bytes(csv_bytes(labels(), rows))
    unlisted = read_submission(tmp_path / "data" / "submissions" / NAME, KEY)
    assert unlisted.records["nhs_number_key"][:10].notna().all()
    params = load_params()
    params["pseudonymisation"]["placeholder_nhs_numbers"] = ["100 000 0060"]
    run = validation.validate_folder(tmp_path / "data", tmp_path / "out", params, key=KEY, workers=1)
    stored = pd.read_parquet(run.catalogue.set_index("file").loc[NAME, "records_path"])
    assert stored["nhs_number_key"][:10].isna().all() and stored["nhs_number_key"][10:].notna().all()
