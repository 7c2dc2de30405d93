"""Tables of normal, edge and erroneous cases for cldstats.ingest (Contract 1)."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from malformed_corpus import PERSONAL_VALUES, base_rows, csv_bytes, labels, write_xlsx  # noqa: E402

from cldstats.ingest import (
    DROPPED_FIELDS,
    FileIssue,
    Submission,
    list_submissions,
    parse_file_name,
    read_submission,
)
from cldstats.pseudonymise import PseudonymKey
from cldstats.spec import ValueStatus, load_spec

KEY = PseudonymKey(b"test key", "environment")
NAME = "E06000001_20240415T093000.csv"
V = ValueStatus


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
    assert records["person_id"].dtype == "string" and records["person_id"].notna().all()
    assert records["person_id"].nunique() == 3
    assert set(records["person_id_source"]) == {"NHS number"}
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
    ("  Female ", V.VALID_LOOSE, "Female", "matched only after trimming spaces: a warning (METHODOLOGY 3)"),
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
    spec = load_spec()
    hearing = spec.by_name["Hearing_Impairment"]
    alternative, canonical = next(iter(hearing.alternative_spellings.items()))
    rows = rows_with("Hearing Impairment", [alternative, canonical.replace(" ", "  "), canonical])
    sub = read_rows(tmp_path, rows)
    assert sub.status["Hearing_Impairment"].tolist() == [V.VALID_LOOSE, V.VALID_LOOSE, V.VALID]
    assert sub.records["Hearing_Impairment"].tolist() == [canonical] * 3


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
    assert sub.records["person_id"].nunique() == 3


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
        if value in ("Zebedee", "9434765919", "Peregrine"):
            continue  # sent in non-personal places on purpose: checked below
        assert value not in text, value
        assert value.replace("/", "-") not in text
    for dob in ("1941-03-17", "1958-11-02", "1936-02-29"):
        assert dob not in text
    # A name typed into a code field is shown to the council as an invalid code value (not personal
    # by field), but a header cell is only listed when it is an unknown label.
    assert "Zebedee" in sub.invalid_values["value"].tolist()


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
# cldstats.synth; if synth itself changes its output, regenerate these with the old ingest).
PINNED_DIGESTS = {
    "E06000001_20230730T175424.csv": (
        "cp1252", 93,
        "6c359d380a77677b3e8e07596cd9e1b6d82a2c8e4082cd83de4e83b7e9e270cd",
        "3df27313c0ed68db308a03c60f1f88c52fbb773d804b5e99c16491e07bdc7d69",
        "fa28dd5de715e99a8fa6742387636f3b18738b3ebfbf1b7c9d154ae08eac1b08",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20231008T164535.csv": (
        "cp1252", 133,
        "e3a5ddea735e4f09411653e4d42c3ff89ce8bbdb3a763766b3a68b029ffaa88a",
        "3df27313c0ed68db308a03c60f1f88c52fbb773d804b5e99c16491e07bdc7d69",
        "a8362ad0705ef84ba4351523c200892feb911fe5d96b0f095b2290427791765e",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20240205T152313.csv": (
        "cp1252", 180,
        "4b21c08e98b71967233b8c0d7f8b522e26565dd5feae3839e3e92a73e6d85ed2",
        "3df27313c0ed68db308a03c60f1f88c52fbb773d804b5e99c16491e07bdc7d69",
        "1f3edf1ddb0d99fca1b145f45457d410862600057b2f31e04ae4882aeeb2ba21",
        "0230c272242404a2e6206889c71b152927ccbff5c73560cde0993f2f3d75b78e",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    "E06000001_20240429T142939.csv": (
        "cp1252", 232,
        "3162e31a9d1fde4e78f462b06715d0e12b681f4158060bd107a448e6fc24d22d",
        "3df27313c0ed68db308a03c60f1f88c52fbb773d804b5e99c16491e07bdc7d69",
        "c69606604fce5cafc41c4a9da589294697fe8a2c93e2ff26ae3af843b728664e",
        "b8f5578067563854a2c4b1a4529cf6e426fb872a548c7f8271c1d115ac65b992",
        # issues: the missing_columns issue also lists the missing fields (FileIssue.fields)
        "736339da2c7a1a71c27c747a5e9ae8d5f80c6c000cab4a4e55008b2a35b26a7c",
    ),
    "E06000001_20240501T152939.csv": (
        "cp1252", 232,
        "d179a837548514affe374c0379eadfd597e30de83ad99ab8fc07a8c89c3824f1",
        "3df27313c0ed68db308a03c60f1f88c52fbb773d804b5e99c16491e07bdc7d69",
        "c9594106356febfd394046274a2df7c4c1da0339f4e9ddaa9c2dd7ddc0d6cb92",
        "65c4daf30c4e392dcb4d5478967d61f0f321f568d93606ae4c29f93e30224240",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
}


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_read_submission_output_is_pinned(tmp_path):
    from cldstats.synth import generate

    generate(tmp_path, councils=["E06000001"], workers=1)
    files = sorted((tmp_path / "submissions").iterdir())
    assert [f.name for f in files] == sorted(PINNED_DIGESTS)
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
