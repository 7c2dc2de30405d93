"""End to end: ``cldstats synth --extract`` and ``cldstats validate --extract`` from the command line."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cldstats import cli
from tests.helpers.privacy import input_personal_values, personal_data_found

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Three councils, with faults, the year to March 2026, and the same files as the national table."""
    data = tmp_path_factory.mktemp("synthetic")
    code = cli.main(["synth", "--out", str(data), "--councils", "3", "--scale", "0.02", "--start", "2025-04",
                     "--end", "2026-03", "--extract"])
    assert code == 0
    return data


@pytest.fixture(scope="module")
def validated(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    code = cli.main(["validate", "--extract", str(synthetic / "national_extract.parquet"), "--out", str(out),
                     "--month", "2026-03"])
    assert code == 0
    return out


def test_synth_records_the_extract(synthetic):
    meta = json.loads((synthetic / "synthetic.json").read_text(encoding="utf-8"))
    record = meta["national_extract"]
    assert record["file"] == "national_extract.parquet" and record["submissions"] == meta["files"]
    assert pq.read_metadata(synthetic / "national_extract.parquet").num_rows == meta["rows"] == record["rows"]


def test_every_submission_of_the_extract_is_listed_and_three_are_selected(synthetic, validated):
    table = pd.read_csv(validated / "qa" / "submissions.csv")
    meta = json.loads((synthetic / "synthetic.json").read_text(encoding="utf-8"))
    assert len(table) == meta["files"] and table["file"].str.contains("@national_extract.parquet").all()
    assert table["selected"].sum() == 3
    page = next((validated / "qa" / "data_quality").glob("*.html")).read_text(encoding="utf-8")
    assert "Read from the national table" in page and "modulus-11" in page


def test_no_personal_value_of_the_councils_files_or_pseudonym_reaches_the_outputs(synthetic, validated):
    pseudonyms = pq.read_table(synthetic / "national_extract.parquet",
                               columns=["Der_NHS_Number_Pseudo", "LA_Person_Unique_Identifier"])
    literals = [v for column in pseudonyms.columns for v in column.drop_null().unique().to_pylist()[:50]]
    assert personal_data_found(validated, input_personal_values(synthetic), literals) == []


def test_an_extract_with_a_clear_personal_column_is_refused_in_one_line(synthetic, tmp_path, capsys):
    table = pq.read_table(synthetic / "national_extract.parquet").slice(0, 10)
    bad = tmp_path / "with_names.parquet"
    pq.write_table(table.append_column("First_Name", pa.array(["Ann"] * 10)), bad)
    code = cli.main(["validate", "--extract", str(bad), "--out", str(tmp_path / "out"), "--month", "2026-03"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "with_names.parquet: column 'First_Name' holds clear personal data" in err and "Ann" not in err
