"""Reading NHS England's pseudonymised national table: refusals, councils, submissions, person keys."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cldstats.core.errors import CldstatsError
from cldstats.ingest import extract, pseudonymise
from cldstats.reference.spec import ValueStatus

KEY = pseudonymise.load_key(None, synthetic=True)
PREFIX = "Financial Assessment"
P1, P2 = "A" * 64, "B" * 64


def _table(**overrides) -> pa.Table:
    """Six rows: Hartlepool by code (two imports), City of London by code, Stoke by CLD spelling only."""
    columns = {
        "LA_Code": ["111", "111", "111", "714", None, "111"],
        "LA_Name": ["Hartlepool", "Hartlepool", "Hartlepool", "City of London", "Stoke on Trent", "Hartlepool"],
        "ImportDate": pa.array([dt.datetime(2025, 4, 20, 9, 0, 0, 123000)] * 2 + [dt.datetime(2025, 5, 2, 8, 0)]
                               + [dt.datetime(2025, 4, 21, 10, 0)] * 2 + [dt.datetime(2025, 4, 20, 9, 0, 0, 123000)],
                               type=pa.timestamp("ms")),
        "Der_Unique_Record_ID": [3, 1, 4, 5, 6, 2],
        "Der_NHS_Number_Traced_Pseudo": [P1, None, P1, None, P2, None],
        "der_nhs_number_pseudo": [P1, P2, None, None, None, "NULL"],
        "Der_LA_Person_Unique_Identifier_Pseudo": ["L1", "L2", "L1", "L9", "L5", "L1"],
        "Der_Birth_Year": pa.array([1950, 1960, 1950, 1940, 1930, 1950], type=pa.int16()),
        "Der_Birth_Month": pa.array([7, 13, 7, 1, 2, 7], type=pa.int8()),
        "Event_Start_Date": pa.array([dt.date(2025, 1, 5)] * 6, type=pa.date32()),
        "Event_End_Date": ["2025-02-01", "", "NULL", "31/12/2024", "2025-13-01", None],
        "Client_Type": ["Service User"] * 6,
        "Der_Postcode_Sector": ["TS24 7", None, "TS24 7", "EC2 1", None, "TS24 7"],
    }
    columns.update(overrides)
    return pa.table(columns)


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "national.parquet"
    pq.write_table(_table(), path)
    return path


def test_one_submission_per_council_and_import_date_in_record_order(parquet):
    parts = extract.split_extract([parquet])
    assert [(p.la_code, p.rows) for p in parts] == [("E06000001", 3), ("E06000001", 1), ("E06000021", 1),
                                                     ("E09000001", 1)]
    first = parts[0]
    assert first.name == "E06000001_20250420T090000.123@national.parquet"
    assert first.submitted_at == dt.datetime(2025, 4, 20, 9, 0, 0, 123000)
    assert first.table["Der_Unique_Record_ID"].to_pylist() == [1, 2, 3]
    assert extract.is_extract_submission(first.name) and not extract.is_extract_submission("E06000001_x.csv")


def test_a_csv_export_reads_as_the_parquet_one(parquet, tmp_path):
    table = _table()
    as_text = table.set_column(2, "ImportDate", pa.array(
        [t.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] for t in table["ImportDate"].to_pylist()]))
    path = tmp_path / "national.csv"
    pacsv.write_csv(as_text, path)
    from_csv, from_parquet = extract.split_extract([path]), extract.split_extract([parquet])
    assert [(p.la_code, p.submitted_at, p.rows) for p in from_csv] == [
        (p.la_code, p.submitted_at, p.rows) for p in from_parquet]
    got = extract.read_part(from_csv[0], KEY, financial_assessment_prefix=PREFIX).records
    expected = extract.read_part(from_parquet[0], KEY, financial_assessment_prefix=PREFIX).records
    assert got.equals(expected)


@pytest.mark.parametrize("column", ["NHS_Number", "Date of Birth", "first_name", "LAST_NAME", "Postcode"])
def test_an_export_with_a_clear_personal_column_is_refused(tmp_path, column):
    path = tmp_path / "national.parquet"
    pq.write_table(_table(**{column: ["x"] * 6}), path)
    with pytest.raises(CldstatsError, match=rf"national.parquet: column '{column}' holds clear personal data"):
        extract.split_extract([path])


def test_an_unmatched_council_is_named_with_the_file(tmp_path):
    path = tmp_path / "national.parquet"
    pq.write_table(_table(LA_Code=["111", "111", "111", "999", None, "111"],
                          LA_Name=["Hartlepool"] * 3 + ["Atlantis", "Stoke on Trent", "Hartlepool"]), path)
    with pytest.raises(CldstatsError, match=r"national.parquet: council LA_Code '999', LA_Name 'Atlantis' \(1 rows\)"):
        extract.split_extract([path])


def test_a_submission_in_two_files_is_refused(parquet, tmp_path):
    other = tmp_path / "again.parquet"
    pq.write_table(_table(), other)
    with pytest.raises(CldstatsError, match="is also in"):
        extract.split_extract([parquet, other])


def test_cells_are_read_as_a_council_file_holds_them(parquet):
    part = extract.split_extract([parquet])[0]  # Hartlepool, rows 1, 2, 3 (record order)
    submission = extract.read_part(part, KEY, financial_assessment_prefix=PREFIX)
    records, status = submission.records, submission.status
    assert records["LA_Code"].tolist() == ["E06000001"] * 3
    assert records["birth_year"].tolist()[1:] == [1950, 1950] and records["birth_month"].tolist()[1:] == [7, 7]
    assert records["birth_month"].isna().tolist() == [True, False, False]  # month 13: invalid
    assert status["Date_of_Birth"].tolist() == [ValueStatus.INVALID, ValueStatus.VALID, ValueStatus.VALID]
    assert records["Event_Start_Date"].notna().all()
    assert status["Event_End_Date"].tolist() == [ValueStatus.BLANK, ValueStatus.BLANK, ValueStatus.VALID]
    assert status["Postcode"].tolist() == [ValueStatus.BLANK, ValueStatus.VALID, ValueStatus.VALID]
    assert (status["First_Name"] == ValueStatus.VALID).all()
    # the NHS number's status is the pseudonym's: row 1 has the submitted one, row 2 only the literal NULL
    assert status["NHS_Number"].tolist() == [ValueStatus.VALID, ValueStatus.BLANK, ValueStatus.VALID]
    assert submission.issues and submission.issues[0].check == "missing_columns"
    text = records.astype(str).to_string()
    assert P1 not in text and "L1" not in text  # pseudonyms are keyed again, never stored as given


def test_invalid_iso_and_other_dates_stay_invalid(parquet):
    part = [p for p in extract.split_extract([parquet]) if p.la_code == "E06000021"][0]
    status = extract.read_part(part, KEY, financial_assessment_prefix=PREFIX).status
    assert status["Event_End_Date"].tolist() == [ValueStatus.INVALID]  # 2025-13-01


def _ids(part, precedence):
    records = extract.read_part(part, KEY, financial_assessment_prefix=PREFIX, precedence=precedence).records
    return records["nhs_number_key"], records["la_person_key"]


def test_the_dhsc_precedence_traced_then_submitted_then_la_id(parquet):
    part = extract.split_extract([parquet])[0]  # rows: (-, P2 submitted, L2), (-, NULL, L1), (P1, P1, L1)
    nhs, la = _ids(part, "dhsc")
    assert nhs.notna().tolist() == [True, False, True]
    assert la.notna().tolist() == [False, True, False]  # an LA key only where no NHS pseudonym
    assert nhs.iloc[0] != nhs.iloc[2]


def test_the_nhse_precedence_ignores_submitted_and_drops_la_ids_seen_with_a_traced_one(parquet):
    part = extract.split_extract([parquet])[0]
    nhs, la = _ids(part, "nhse")
    assert nhs.notna().tolist() == [False, False, True]
    # row 1: L2, never with a traced pseudonym: its LA ID; row 2: L1, seen with P1 traced: no ID
    assert la.notna().tolist() == [True, False, False]


def test_person_keys_refuse_an_unknown_precedence():
    with pytest.raises(CldstatsError, match="person_id_precedence"):
        extract.person_keys(pa.array([None], pa.string()), pa.array([None], pa.string()), np.zeros(1, np.int64),
                            np.zeros(1, bool), KEY, "council")


def test_the_same_pseudonym_is_the_same_person_in_two_submissions(parquet):
    parts = extract.split_extract([parquet])
    first, later = _ids(parts[0], "dhsc")[0], _ids(parts[1], "dhsc")[0]
    assert first.iloc[2] == later.iloc[0]  # P1 traced in both imports


def test_a_submission_has_the_same_digest_wherever_it_sits_in_the_export(parquet, tmp_path):
    # The store keys a submission by this digest: a later export, holding more rows before it,
    # must find it stored rather than read and validate it again.
    table = _table()
    later = tmp_path / "later" / "national.parquet"
    later.parent.mkdir()
    pq.write_table(pa.concat_tables([table.filter(pa.compute.equal(table["LA_Code"], "714")), table]).slice(1), later)
    digests = {(p.la_code, p.submitted_at): p.sha256 for p in extract.split_extract([parquet])}
    again = {(p.la_code, p.submitted_at): p.sha256 for p in extract.split_extract([later])}
    assert again == digests and len(set(digests.values())) == 4
