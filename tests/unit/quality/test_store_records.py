"""The stored records as the method's SQL reads them: column types, and person IDs from ingest's keys.

A submission goes the way a release takes it: :func:`cldstats.ingest.read_submission`,
:func:`cldstats.pipeline.store.records_table`, a Parquet file, :func:`cldstats.measures.engine.bind_submitted_rows`
and ``person_ids.sql`` on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import hmac

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cldstats import ingest
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.measures import engine
from cldstats.pipeline import store
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params
from tests.helpers.malformed_corpus import base_rows, csv_bytes, labels  # noqa: E402
from tests.helpers.paths import REPO

KEY = PseudonymKey(b"store records key", "environment")
LA = "E06000001"
NAME = f"{LA}_20240415T093000.csv"
PARAMS = load_params("2024-03", today=dt.date(2024, 6, 1))
PREFIX = PARAMS["method"]["financial_assessment_prefix"]


def reference_key(message: str) -> int:
    """The first 8 bytes of HMAC-SHA256(key, message), big-endian signed."""
    return int.from_bytes(hmac.new(KEY.key, message.encode("utf-8"), "sha256").digest()[:8], "big", signed=True)


@pytest.fixture()
def con():
    connection = engine.connect(threads=1)
    engine.bind_reference(connection, PARAMS, release_month_ends("2024-03"))
    yield connection
    connection.close()


def stored(tmp_path, rows, name=NAME, la_code=LA):
    """Read rows as a submission file and store its records as the store does; the Parquet path."""
    path = tmp_path / name
    path.write_bytes(csv_bytes(labels(), rows))
    submission = ingest.read_submission(path, KEY, PARAMS["pseudonymisation"]["placeholder_nhs_numbers"],
                                        financial_assessment_prefix=PREFIX)
    parquet = tmp_path / f"{name}.parquet"
    pq.write_table(store.records_table(submission.records, submission.status, la_code), parquet)
    return parquet, submission


def test_stored_records_have_the_types_the_sql_declares(tmp_path, con):
    rows = base_rows(4)
    rows[0]["NHS Number"], rows[0]["LA Person Unique Identifier"] = "", ""  # missing keys
    rows[1]["Date of Birth"] = ""  # missing birth year and month
    rows[2]["Event Type"], rows[2]["Assessment Type"] = "Assessment", "Financial Assessment"
    parquet, _ = stored(tmp_path, rows)
    engine.bind_submitted_rows(con, [parquet])
    got = con.execute("DESCRIBE submitted_rows").df()[["column_name", "column_type"]]
    expected = con.execute(f"DESCRIBE {engine._EMPTY_RECORDS}").df()[["column_name", "column_type"]]
    assert got.values.tolist() == expected.values.tolist()
    assert pq.read_schema(parquet).names[0] == "la_code"
    first = con.execute("SELECT la_code, nhs_number_key, la_person_key FROM submitted_rows ORDER BY row_number").df()
    assert first["la_code"].astype(str).tolist() == [LA] * 4
    assert pd.isna(first["nhs_number_key"][0]) and first["nhs_number_key"][1] == reference_key("NHS:4010232137")


def test_records_table_keeps_an_all_missing_key_column_typed(tmp_path, con):
    rows = base_rows(2)
    for row in rows:
        row["NHS Number"], row["LA Person Unique Identifier"], row["Date of Birth"] = "", "", ""
    parquet, _ = stored(tmp_path, rows)
    schema = pq.read_schema(parquet)
    assert [str(schema.field(c).type) for c in ("nhs_number_key", "la_person_key", "birth_year", "birth_month")] == [
        "int64", "int64", "int16", "int8"]


def rules_1_to_4(records: pd.DataFrame) -> pd.DataFrame:
    """docs/methodology.md section 3, rules 1-4, in plain pandas on the two keys of one file."""
    nhs, la = records["nhs_number_key"], records["la_person_key"]
    pairs = records.loc[nhs.notna() & la.notna(), ["la_person_key", "nhs_number_key"]].drop_duplicates()
    numbers_of_la_id = pairs.groupby("la_person_key")["nhs_number_key"].agg(["nunique", "min"])
    linked = la.map(numbers_of_la_id["nunique"]).fillna(0)
    linked_key = la.map(numbers_of_la_id["min"])
    source = np.select(
        [nhs.notna(), la.notna() & (linked == 1), la.notna() & (linked >= 2), la.notna()],
        ["NHS number", "NHS number via LA ID", "ambiguous", "LA ID"],
        default="none",
    )
    person_id = np.select(
        [source == "NHS number", source == "NHS number via LA ID", source == "LA ID"],
        [nhs.fillna(0).astype("int64"), linked_key.astype("Int64").fillna(0).astype("int64"),
         la.fillna(0).astype("int64")],
        default=0,
    )
    return pd.DataFrame({"row_number": records["row_number"], "person_id_source": source,
                         "person_id": pd.array(np.where(source != "ambiguous", person_id, 0), dtype="Int64")})


def test_person_ids_from_ingests_keys_agree_with_rules_1_to_4(tmp_path, con):
    """A small synthetic file with every rule (and spellings, placeholders, blanks) through ingest,
    the store's Parquet and person_ids.sql: every row's person ID as rules 1-4 give it."""
    cells = [
        ("9434765919", "P1"), ("943 476 5919", "P1"), ("", "P1"), ("9434765918", "P1"),  # rules 1, 2
        ("4010232137", "P2"), ("4859102304", "P2"), ("", "P2"),  # two numbers: ambiguous
        ("", "P3"), ("0000000000", " P3 "), ("1000000060", ""),  # rule 3; rule 1 without an LA ID
        ("", ""), ("9999999999", "  "),  # rule 4
    ]
    rows = base_rows(len(cells))
    for row, (number, la_id) in zip(rows, cells, strict=True):
        row["NHS Number"], row["LA Person Unique Identifier"] = number, la_id
    parquet, submission = stored(tmp_path, rows)
    engine.bind_submitted_rows(con, [parquet])
    engine.run_step(con, "person_ids")
    got = con.execute("SELECT row_number, person_id_source, person_id FROM person_rows ORDER BY row_number").df()
    expected = rules_1_to_4(submission.records)
    assert got["person_id_source"].tolist() == expected["person_id_source"].tolist() == [
        "NHS number", "NHS number", "NHS number via LA ID", "NHS number via LA ID",
        "NHS number", "NHS number", "ambiguous", "LA ID", "LA ID", "NHS number", "none", "none"]
    identified = expected["person_id_source"].isin(["NHS number", "NHS number via LA ID", "LA ID"]).to_numpy()
    assert got["person_id"][~identified].isna().all()
    assert got["person_id"][identified].astype("int64").tolist() == expected["person_id"][identified].tolist()
    a, p3 = reference_key("NHS:9434765919"), reference_key(f"LA:{LA}:P3")
    assert got["person_id"][:4].tolist() == [a] * 4 and got["person_id"][7:9].tolist() == [p3] * 2


def test_person_ids_of_a_synthetic_council_agree_with_rules_1_to_4(tmp_path, con):
    """Every row of every file synth writes for one council: SQL and plain pandas agree."""
    from cldstats.tools.synth import generate

    generate(tmp_path, councils=[LA], workers=1, start="2025-04", end="2025-12")  # both releases' files
    checked = 0
    for path in sorted((tmp_path / "submissions").iterdir()):
        submission = ingest.read_submission(path, KEY, financial_assessment_prefix=PREFIX)
        parquet = tmp_path / f"{path.name}.parquet"
        pq.write_table(store.records_table(submission.records, submission.status, LA), parquet)
        engine.bind_submitted_rows(con, [parquet])
        engine.run_step(con, "person_ids")
        got = con.execute("SELECT person_id_source, person_id FROM person_rows ORDER BY row_number").df()
        expected = rules_1_to_4(submission.records)
        assert got["person_id_source"].tolist() == expected["person_id_source"].tolist(), path.name
        identified = expected["person_id_source"].isin(["NHS number", "NHS number via LA ID", "LA ID"]).to_numpy()
        assert got["person_id"][~identified].isna().all(), path.name
        assert got["person_id"][identified].astype("int64").tolist() == expected["person_id"][identified].tolist()
        checked += len(got)
    assert checked > 500


def test_the_financial_assessment_prefix_is_part_of_the_store_context():
    """The prefix shapes what ingest keeps of Assessment Type, so another prefix is another entry."""
    import copy

    other = copy.deepcopy(PARAMS)
    other["method"]["financial_assessment_prefix"] = "Means test"
    suites = REPO / "expectations"
    contexts = [store.StoreContext.of_run(KEY.key, p, suites) for p in (PARAMS, other)]
    assert contexts[0].digest != contexts[1].digest
    name = "E06000001_20240410T120000.csv"
    assert contexts[0].entry_id("0" * 64, name) != contexts[1].entry_id("0" * 64, name)
