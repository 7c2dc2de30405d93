"""The same people published from council files and from the national extract give the same tables.

One synthetic world (four councils in four regions, April 2024 to March 2025, no faults) is
generated once, as council files, and written again by ``cldstats synth --extract`` as NHS
England's pseudonymised national table (every file stacked, superseded ones included; no names,
NHS numbers, dates of birth or postcodes: pseudonyms and birth year and month instead), as Parquet
and as CSV. Each input goes through the real pipeline: validation (ingest, the data quality suites,
the submission store, selection and row accounting) and the method's SQL on DuckDB; the unrounded
council tables are compared cell by cell.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest

from cldstats.measures import engine
from cldstats.pipeline import validation
from cldstats.tools import synth
from tests.helpers.months import month_ends_of, month_params

#: Hartlepool (North East), Rutland (East Midlands), Bath and North East Somerset (South West),
#: Barking and Dagenham (London).
COUNCILS = ["E06000001", "E06000017", "E06000022", "E09000002"]
MONTH = "2025-03"


@pytest.fixture(scope="module")
def params():
    return month_params(MONTH, today=dt.date(2025, 7, 1))


@pytest.fixture(scope="module")
def month_ends(params):
    return month_ends_of(params)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    meta = synth.generate(folder, councils=COUNCILS, scale=0.05, faults=False, start="2024-04", end="2025-03",
                          workers=1, extract="parquet")
    synth.write_extract(folder, "csv")
    return folder, meta


@pytest.fixture(scope="module")
def runs(generated, params, month_ends, tmp_path_factory):
    folder, _ = generated
    out = {}
    files = validation.validate_folder(folder, tmp_path_factory.mktemp("files"), params, workers=1,
                                       council_reports=False, window=True)
    out["files"] = (files, engine.run_method(files.catalogue, params, month_ends))
    for fmt in ("parquet", "csv"):
        where = tmp_path_factory.mktemp(fmt)
        run = validation.validate_extract([folder / f"national_extract.{fmt}"], where, params, window=True,
                                          store_dir=where / "store", council_reports=True)
        out[fmt] = (run, engine.run_method(run.catalogue, params, month_ends))
    return out


def sorted_table(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if c != "value"]
    return frame.sort_values(keys).reset_index(drop=True)


def test_the_extract_holds_every_file_and_no_clear_identifier(generated):
    folder, meta = generated
    table = pq.read_table(folder / "national_extract.parquet")
    assert meta["national_extract"]["submissions"] == meta["files"] and table.num_rows == meta["rows"]
    names = {name.casefold() for name in table.column_names}
    assert not names & {"first_name", "last_name", "nhs_number", "date_of_birth", "postcode"}
    imports = table.group_by(["ImportDate"]).aggregate([("ImportFileId", "count_distinct")])
    assert imports.num_rows == meta["files"] and max(imports["ImportFileId_count_distinct"].to_pylist()) == 1
    assert str(table.schema.field("ImportDate").type) == "timestamp[ms]"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_unrounded_council_tables_are_the_same(runs, fmt):
    (_, files), (_, extract) = runs["files"], runs[fmt]
    for table in ("long_term_support", "people_assessed"):
        pd.testing.assert_frame_equal(sorted_table(getattr(extract, table)), sorted_table(getattr(files, table)),
                                      obj=f"{fmt} {table}")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_same_submissions_are_selected_and_every_row_is_used_alike(runs, fmt):
    (files_run, files), (extract_run, extract) = runs["files"], runs[fmt]
    def chosen(run):
        frame = run.catalogue[run.catalogue["selected"].astype(bool)][["la_code", "submitted_at", "records"]].copy()
        frame["submitted_at"] = pd.to_datetime(frame["submitted_at"]).dt.floor("s")
        return frame.sort_values("la_code").reset_index(drop=True)
    pd.testing.assert_frame_equal(chosen(extract_run), chosen(files_run))
    assert sorted(extract.row_accounting["rows_used"]) == sorted(files.row_accounting["rows_used"])
    assert all("@national_extract" in name for name in extract.row_accounting["file"])


def test_the_tables_compared_are_not_trivial(runs, month_ends):
    lts = runs["files"][1].long_term_support
    alls = lts[lts["support_setting"].eq("All") & lts["breakdown"].eq("All")]
    by_council = alls.pivot_table(index="la_code", columns="reference_date", values="value")
    assert sorted(by_council.index) == COUNCILS and len(by_council.columns) == len(month_ends)
    assert (by_council > 10).all().all(), by_council
    assessed = runs["files"][1].people_assessed
    assert assessed["value"].sum() > 0


def test_the_council_report_says_which_checks_were_replaced(runs):
    run = runs["parquet"][0]
    pages = sorted((p for p in run.written if p.suffix == ".html"), key=str)
    assert pages
    text = pages[0].read_text(encoding="utf-8")
    assert "national table" in text and "modulus-11" in text and "pseudonym" in text
