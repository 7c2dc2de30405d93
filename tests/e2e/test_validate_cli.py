"""End to end: ``cldstats validate`` on a small synthetic folder, and every synthetic fault found."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cldstats import cli, ingest, quality
from cldstats.ingest.pseudonymise import load_key
from cldstats.pipeline import validation, validation_workers
from cldstats.pipeline.store import SubmissionStore
from cldstats.reference.params import load_params
from cldstats.tools import synth
from tests.helpers.paths import REPO
from tests.helpers.privacy import input_personal_values, personal_data_found

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

#: The params' prefix of a financial assessment (ingest keeps the submitted type text by it).
PREFIX = load_params("2024-03")["method"]["financial_assessment_prefix"]

COUNCILS = 5


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The year to March 2026 (``cldstats validate`` selects for the default month, 2026-03): files
    of both releases, since Release 2 starts with the October 2025 submissions."""
    data = tmp_path_factory.mktemp("synthetic")
    synth.generate(data, scale=0.02, councils=COUNCILS, start="2025-04", end="2026-03")
    return data


@pytest.fixture(scope="module")
def validated(synthetic, tmp_path_factory):
    """Run the command line once; tests below inspect what it wrote."""
    out = tmp_path_factory.mktemp("out")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)  # params/ is found relative to the working directory, as in `make validate`
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = cli.main(["validate", "--data", str(synthetic), "--out", str(out)])
    return code, buffer.getvalue(), out


def test_cli_writes_every_qa_file(validated, synthetic):
    code, printed, out = validated
    assert code == 0
    qa = out / "qa"
    files = sorted(p.name for p in (synthetic / "submissions").iterdir())
    submissions = pd.read_csv(qa / "submissions.csv")
    assert submissions.columns.tolist() == [
        "la_code", "file", "submitted_at", "rows_read", "rows_used", "rows_excluded", "outcome", "selected",
        "tie_with", "by_hand"]
    assert sorted(submissions["file"]) == files
    for name in files:
        assert (qa / "validation" / f"{name}.json").is_file()
    for la_code in submissions["la_code"].unique():
        for suffix in (".csv", "_records.csv", ".html"):
            assert (qa / "data_quality" / f"{la_code}{suffix}").is_file()
    assert "Validated" in printed and "rejected:" in printed and str(qa) in printed
    assert "councils without a selected file for 2026-03: 148 of 153" in printed


def test_every_row_is_accounted_for(validated):
    _, _, out = validated
    submissions = pd.read_csv(out / "qa" / "submissions.csv")
    exclusions = pd.read_csv(out / "qa" / "exclusions.csv")
    by_file = exclusions.groupby("file")["rows"].sum()
    assert by_file.reindex(submissions["file"], fill_value=0).tolist() == submissions["rows_excluded"].tolist()
    rejected = submissions[submissions["outcome"].str.startswith("rejected")]
    assert len(rejected) >= 1  # the synthetic broken header
    assert (rejected["rows_used"] == 0).all() and not rejected["selected"].any()
    assert submissions.groupby("la_code")["selected"].sum().eq(1).all()


def test_validation_json_holds_gx_results(validated):
    _, _, out = validated
    one = next((out / "qa" / "validation").glob("*.json"))
    saved = json.loads(one.read_text(encoding="utf-8"))
    assert set(saved["suites"]) == set(quality.SUITE_NAMES)
    for suite in saved["suites"].values():
        for result in suite["results"]:
            assert result["result"].get("partial_unexpected_list", []) == []


def test_no_personal_data_in_qa_outputs(validated, synthetic):
    _, _, out = validated
    assert personal_data_found(out / "qa", input_personal_values(synthetic)) == []


def test_validate_without_data_folder_fails_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert cli.main(["validate", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) != 0
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "empty").mkdir()
    assert cli.main(["validate", "--data", str(tmp_path / "empty"), "--out", str(tmp_path)]) != 0


def test_validate_real_data_without_key_fails(tmp_path, synthetic, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CLDSTATS_PSEUDO_KEY", raising=False)
    real = tmp_path / "real" / "submissions"
    real.mkdir(parents=True)
    first = sorted((synthetic / "submissions").iterdir())[0]
    (real / first.name).write_bytes(first.read_bytes())
    assert cli.main(["validate", "--data", str(tmp_path / "real"), "--out", str(tmp_path / "o")]) != 0
    assert "key" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Every fault the generator injects is found at its field and row
# ---------------------------------------------------------------------------------------------
#: Fault kind -> checks that report it. File-level kinds without cells (late or missing
#: submissions) are selection matters, not data quality checks, and are not in faults.csv rows.
FAULT_CHECKS = {
    "nhs_number_blank_person": {"blank_mandatory"},
    "nhs_number_blank_row": {"blank_mandatory"},
    "nhs_number_invalid_check_digit": {"invalid"},
    "code_case_or_space": {"loose_match"},
    "code_invalid": {"invalid"},
    "mandatory_blank": {"blank_mandatory"},
    "end_before_start": {"end_before_start"},
    "date_of_birth_future": {"birth_date_in_future", "invalid"},
    "date_of_birth_too_old": {"age_over_115"},
    "date_iso": {"invalid_iso_date"},
    "date_excel_serial": {"invalid_excel_serial"},
    "event_start_date_invalid": {"invalid", "invalid_iso_date", "invalid_excel_serial"},
    "duplicate_row": {"duplicate_row"},
}


def test_every_synthetic_fault_is_found(synthetic):
    faults = pd.read_csv(synthetic / "faults.csv.gz")
    params = load_params(params_dir=REPO / "params")
    params["quality"]["records_listed_per_check"] = 10**9  # list every failing record
    key = load_key(None, synthetic=True)
    runner = quality.QualityRunner()
    # Check the files holding the most fault kinds, so each kind is met at least once cheaply.
    kinds_per_file = faults.groupby("file")["kind"].nunique().sort_values(ascending=False)
    seen_kinds: set[str] = set()
    missed: list[str] = []
    for file_name in kinds_per_file.index:
        file_faults = faults[faults["file"] == file_name]
        if set(file_faults["kind"]) <= seen_kinds:
            continue
        submission = ingest.read_submission(synthetic / "submissions" / file_name, key,
                                            financial_assessment_prefix=PREFIX)
        result = runner.check(submission, params)
        if "broken_header" in set(file_faults["kind"]):
            assert "missing_columns" in result.blocking
            seen_kinds.add("broken_header")
            continue
        found = result.failing_records
        for fault in file_faults.itertuples():
            if fault.kind not in FAULT_CHECKS:
                continue
            rows = found[(found["row_number"] == fault.row_number) & found["check"].isin(FAULT_CHECKS[fault.kind])]
            if fault.kind not in ("duplicate_row", "end_before_start", "date_of_birth_future",
                                  "date_of_birth_too_old"):
                rows = rows[rows["field"] == fault.field]
            where = f"{fault.kind} at {fault.file} row {fault.row_number:.0f} field {fault.field}"
            if len(rows):
                seen_kinds.add(fault.kind)
            else:
                missed.append(where)
    assert not missed, missed[:20]
    assert set(faults["kind"]) - seen_kinds == set(), set(faults["kind"]) - seen_kinds


# ---------------------------------------------------------------------------------------------
# Batches and workers
# ---------------------------------------------------------------------------------------------
def test_batch_split_equals_each_file_validated_alone(synthetic):
    """Per file, the counts split out of one batch validation equal GX's for the file alone."""
    params = load_params(params_dir=REPO / "params")
    key = load_key(None, synthetic=True)
    runner = quality.QualityRunner()
    faults = pd.read_csv(synthetic / "faults.csv.gz")
    broken = set(faults.loc[faults["kind"] == "broken_header", "file"])
    paths = [p for p in ingest.list_submissions(synthetic) if p.name in broken][:1]
    paths += ingest.list_submissions(synthetic)[:5]  # a rejected file among accepted ones
    submissions = [ingest.read_submission(p, key, financial_assessment_prefix=PREFIX) for p in paths]
    batched = runner.check_many(submissions, params)
    assert len(batched) == len(submissions)
    for submission, together in zip(submissions, batched, strict=True):
        alone = runner.check(submission, params)
        assert together.outcome == alone.outcome
        pd.testing.assert_frame_equal(together.summary, alone.summary)
        pd.testing.assert_frame_equal(together.failing_records, alone.failing_records)
        for name, suite in together.gx_results.items():
            for split, own in zip(suite["results"], alone.gx_results[name]["results"], strict=True):
                assert own["batch"]["submissions"] == 1
                meta = split["expectation_config"]["meta"]
                if meta.get("frame") == quality.FILES_FRAME:  # GX counts failing files there
                    assert split["success"] == own["batch"]["success"], meta
                else:
                    assert split["result"]["unexpected_count"] == own["batch"]["unexpected_count"], meta
                    assert split["success"] == own["batch"]["success"], meta


def test_workers_give_the_same_outputs_in_the_same_order(synthetic, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    params = load_params("2024-03", params_dir=REPO / "params")
    monkeypatch.setattr(validation_workers, "_BATCH_BYTES", 2_000_000)  # several batches even on small data
    files = [p.name for p in ingest.list_submissions(synthetic)[:8]]
    one = validation.validate_folder(synthetic, tmp_path / "one", params, workers=1, files=files,
                                  store_dir=tmp_path / "store-one")
    two = validation.validate_folder(synthetic, tmp_path / "two", params, workers=2, files=files,
                                  store_dir=tmp_path / "store-two")
    assert [r.file for r in one.results] == [r.file for r in two.results]
    assert [r.outcome for r in one.results] == [r.outcome for r in two.results]
    pd.testing.assert_frame_equal(one.submissions_table, two.submissions_table)
    pd.testing.assert_frame_equal(one.exclusions, two.exclusions)
    for name in ("submissions.csv", "exclusions.csv"):
        assert (tmp_path / "one" / "qa" / name).read_bytes() == (tmp_path / "two" / "qa" / name).read_bytes()
    # Each worker stored what it read: the same entries, with the same records, as one process.
    kept = {r.file for r in two.results if not r.rejected}
    stored = {name: SubmissionStore(tmp_path / name).catalogue() for name in ("store-one", "store-two")}
    assert set(stored["store-two"]["file"]) == {r.file for r in two.results} and kept
    assert stored["store-one"].drop(columns="stored_at").sort_values("file").reset_index(drop=True).equals(
        stored["store-two"].drop(columns="stored_at").sort_values("file").reset_index(drop=True))
    # Each worker timed its own phases; the parent its own work after them.
    phases = {p["stage"]: p for p in two.phases["phases"]}
    assert two.phases["workers"] == 2 and "concurrently in 2 worker processes" in two.phases["note"]
    assert set(phases) == {"start-up", "ingest", "pseudonymise", "validate", "store", "hand back",
                           "hand back (parent)", "qa outputs (parent)"}
    assert phases["start-up"]["cpu_seconds"] > 0 and phases["start-up"]["wall_seconds"] > 0
    rows = int(two.submissions_table["rows_read"].sum())
    for name in ("ingest", "pseudonymise", "validate", "store", "hand back"):
        assert phases[name]["process"] == "workers" and phases[name]["rows"] == rows
        assert phases[name]["cpu_seconds"] > 0 and phases[name]["peak_rss_mb"] > 0
    assert len(two.phases["worker_peak_rss_mb"]) == 2 and two.phases["bytes_handed_back"] > 0
    assert [p["stage"] for p in one.phases["phases"]][:4] == ["start-up", "ingest", "pseudonymise", "validate"]
    assert one.phases["workers"] == 1


def test_the_store_keeps_what_the_method_reads(synthetic, tmp_path, monkeypatch):
    """A stored submission holds the columns the method's SQL reads, typed as it reads them, one
    row per record; a second run reads every file from the store and gives the same tables."""
    import duckdb

    from cldstats.measures import engine

    monkeypatch.chdir(REPO)
    params = load_params("2024-03", params_dir=REPO / "params")
    files = sorted({p.name.split("_")[0]: p.name for p in ingest.list_submissions(synthetic)}.values())[:4]
    first = validation.validate_folder(synthetic, tmp_path / "first", params, workers=1, files=files,
                                    store_dir=tmp_path / "store")
    again = validation.validate_folder(synthetic, tmp_path / "again", params, workers=1, files=files,
                                    store_dir=tmp_path / "store")
    assert (first.ingested, first.from_store) == (len(files), 0)
    assert (again.ingested, again.from_store) == (0, len(files))
    pd.testing.assert_frame_equal(first.submissions_table, again.submissions_table)
    pd.testing.assert_frame_equal(first.exclusions, again.exclusions)
    stored = first.catalogue.dropna(subset=["records_path"])
    assert len(stored) == sum(not r.rejected for r in first.results) > 0
    con = duckdb.connect()
    typed = engine._EMPTY_RECORDS.replace("CAST(NULL AS council_code)", "NULL::VARCHAR")
    expected = con.execute(f"DESCRIBE {typed}").df()[["column_name", "column_type"]]
    for row in stored.itertuples():
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{row.records_path}')").df()
        pd.testing.assert_frame_equal(described[["column_name", "column_type"]], expected)
        assert con.execute(f"SELECT count(*) FROM read_parquet('{row.records_path}')").fetchone()[0] == row.records
