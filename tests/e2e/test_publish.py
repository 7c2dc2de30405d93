"""End to end: ``cldstats publish`` on a small synthetic dataset writes the output contract."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from cldstats import cli
from cldstats.pipeline.publish import publish_month

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

COUNCILS = 8
DESIGN_COLUMNS = {
    "data/long_term_support.csv": "reference_date,area_level,area_code,area_name,support_setting,breakdown,"
    "breakdown_value,value,flags,councils_included",
    "data/long_term_support_rates.csv": "reference_date,area_level,area_code,area_name,support_setting,breakdown,"
    "breakdown_value,population,rate,flags,councils_included",
    "data/assessments.csv": "reference_month,area_level,area_code,area_name,breakdown,breakdown_value,value,flags,"
    "councils_included",
    "data/assessments_rates.csv": "reference_month,area_level,area_code,area_name,breakdown,breakdown_value,"
    "population,rate,flags,councils_included",
    # DESIGN.md's columns, then the files tied with the row's and the hand entry naming the file.
    "qa/submissions.csv": "la_code,file,submitted_at,rows_read,rows_used,rows_excluded,outcome,selected,tie_with,"
                          "by_hand",
    "qa/exclusions.csv": "la_code,file,reason,rows",
}
PUBLISHED_CELL = re.compile(r"^(\[c\]|\[x\]|\[z\]|0|[1-9][0-9]*[05]|5)$")


@pytest.fixture(scope="module")
def data_dir(small_data_dir) -> Path:
    return small_data_dir


@pytest.fixture(scope="module")
def release(small_reports) -> Path:
    # Published through the command line, as a statistician runs it (tests/conftest.py).
    return small_reports / "2024-03"


def test_contract_files_exist_with_their_columns(release):
    for name, header in DESIGN_COLUMNS.items():
        assert (release / name).read_text(encoding="utf-8").splitlines()[0] == header, name
    for name in ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates"):
        assert (release / "qa" / f"{name}_unrounded.csv").exists()
    assert list((release / "qa" / "validation").glob("*.json"))
    assert list((release / "qa" / "data_quality").glob("*.html"))
    assert (release / "manifest.json").exists()
    html = sorted(p.name for p in (release / "html").iterdir())
    assert html == ["assessments.html", "long_term_support.html", "publication.html"]
    notebooks = sorted(p.stem for p in (release / "notebooks").glob("*.ipynb"))
    assert notebooks == ["assessments", "long_term_support", "publication"]
    # The QA report quotes unrounded figures: it and its executed notebook stay under qa/.
    assert (release / "qa" / "qa.html").exists() and (release / "qa" / "notebooks" / "data_quality.ipynb").exists()
    assert (release / "qa" / "revisions.csv").read_text(encoding="utf-8").splitlines() == [
        "table,reference_period,area_level,area_code,area_name,support_setting,breakdown,breakdown_value,measure,"
        "previous_value,new_value,previous_release"]  # a first release: header only
    assert "2024-03" in (release.parent / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["renderer"].startswith(("nbconvert ", "quarto "))
    assert "html/publication.html" in manifest["may_differ"]["outputs"]  # its run-time line differs
    assert "data/long_term_support.csv" in manifest["outputs"]
    workbooks = sorted(p.name for p in (release / "spreadsheets").iterdir())
    assert workbooks == ["assessments.ods", "assessments.xlsx", "assessments_dhsc.ods", "assessments_dhsc.xlsx",
                         "long_term_support.ods", "long_term_support.xlsx", "long_term_support_dhsc.ods",
                         "long_term_support_dhsc.xlsx"]
    index = json.loads((release / "charts" / "charts.json").read_text(encoding="utf-8"))["charts"]
    assert len(index) >= 6
    for name in ("england_trend_by_setting", "rate_by_region", "council_rates_ranked"):
        for suffix in (".png", ".svg", ".txt"):
            assert (release / "charts" / f"{name}{suffix}").stat().st_size > 0


def test_spreadsheet_equals_csv(release):
    # CSV = spreadsheet, cell by cell, for the age group table (Table_1) of the long-term support workbook
    from cldstats.publication import tables

    csv = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    csv = csv[csv["breakdown"].isin(["All", "Age group"])]
    sheet = tables.read_table(release / "spreadsheets" / "long_term_support.xlsx", "Table_1")
    periods = [c for c in sheet.columns if str(c).endswith("[p]")]
    long = sheet.melt(
        id_vars=["Area code", "Support setting", "Age group"], value_vars=periods, var_name="period", value_name="cell"
    )
    dates = pd.to_datetime(csv["reference_date"])
    csv = csv.assign(period=dates.dt.day.astype(str) + dates.dt.strftime(" %B %Y [p]"))
    merged = csv.merge(
        long, left_on=["area_code", "support_setting", "breakdown_value", "period"],
        right_on=["Area code", "Support setting", "Age group", "period"], how="outer", indicator=True,
    )
    assert (merged["_merge"] == "both").all()
    assert (merged["value"] == merged["cell"].astype(str)).all()


def test_dhsc_layout_counts_equal_csv(release):
    # Every published count of the DHSC-layout sheets equals the same cell of data/*.csv, read from the
    # XLSX (the unit tests read both formats and compare the ODS with the XLSX cell by cell; pandas
    # takes tens of seconds to parse an ODS of this size).
    from tests.helpers import dhsc_layout

    for measure in ("long_term_support", "assessments"):
        csv = pd.read_csv(release / "data" / f"{measure}.csv", dtype=str, keep_default_na=False)
        cells = dhsc_layout.assert_counts_equal_csv(release / "spreadsheets" / f"{measure}_dhsc.xlsx", csv, measure)
        assert "[x]" in cells and any(c.isdigit() and c != "0" for c in cells)


def test_published_cells_are_rounded_or_symbols(release):
    for name in ("long_term_support", "assessments"):
        frame = pd.read_csv(release / "data" / f"{name}.csv", dtype=str, keep_default_na=False)
        bad = frame.loc[~frame["value"].str.match(PUBLISHED_CELL), "value"]
        assert bad.empty, bad.head().tolist()
        assert set(frame["flags"]) == {"p"}  # a first release revises nothing


def test_published_equals_rounded_unrounded(release):
    published = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    unrounded = pd.read_csv(release / "qa" / "long_term_support_unrounded.csv", dtype={"value": "Int64"})
    assert len(published) == len(unrounded)
    value = unrounded["value"]
    # nearest multiple of 5, halves up: floor((v + 2.5) / 5) * 5 == floor((2v + 5) / 10) * 5
    suppressed = value.between(1, 4).fillna(False)
    expected = (((2 * value + 5) // 10) * 5).astype("string").mask(suppressed, "[c]").fillna("[x]")
    assert published["value"].tolist() == expected.tolist()


def test_england_and_councils_included(release):
    published = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    england = published[published["area_level"].eq("England")]
    assert set(england["councils_included"]) <= {f"{n} of 153" for n in range(COUNCILS + 1)}
    councils = published[published["area_level"].eq("Local Authority")]
    assert councils["area_code"].nunique() == 153  # every council has rows; most are [x]
    assert (councils.loc[councils["councils_included"].eq("0 of 1"), "value"] == "[x]").all()


def test_rows_are_accounted_for(release):
    submissions = pd.read_csv(release / "qa" / "submissions.csv")
    assert (submissions["rows_read"] == submissions["rows_used"] + submissions["rows_excluded"]).all()
    exclusions = pd.read_csv(release / "qa" / "exclusions.csv")
    per_file = exclusions.groupby("file")["rows"].sum()
    excluded = submissions.set_index("file")["rows_excluded"]
    assert per_file.reindex(excluded.index, fill_value=0).tolist() == excluded.tolist()


def test_manifest_records_inputs_outputs_and_gate(release, data_dir):
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["month"] == "2024-03" and manifest["params"]["month"] == "2024-03"
    assert manifest["synthetic_data"] is True
    assert manifest["pseudonymisation_key"].startswith("development key")
    assert manifest["gate"]["override_reason"] == "test run on 8 of 153 councils"
    assert manifest["gate"]["councils_selected"] <= COUNCILS
    for entry in manifest["inputs"]:
        path = data_dir / "submissions" / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    for name, digest in {**manifest["outputs"], **manifest["may_differ"]["outputs"]}.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name
    assert (release.parent / manifest["may_differ"]["log_file"]).exists()
    assert manifest["versions"]["pandas"] == "3.1.1"


def test_output_consistency_suite_passed(release):
    consistency = json.loads((release / "qa" / "output_consistency.json").read_text(encoding="utf-8"))
    assert consistency["success"] is True
    assert {"long_term_support: settings_sum", "assessments: months_total"} <= set(consistency["checks"])


def test_unrounded_figures_only_under_qa(release):
    for path in release.rglob("*_unrounded.csv"):
        assert path.parent.name == "qa"


def test_gate_stops_without_override(data_dir, tmp_path, capsys):
    status = cli.main(["publish", "--month", "2024-03", "--data", str(data_dir), "--out", str(tmp_path / "r")])
    message = capsys.readouterr().err
    assert status == 3
    assert "councils have a selected file" in message and "override.reason" in message
    assert not (tmp_path / "r" / "2024-03").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["publish", "--month", "2024-13"], "YYYY-MM"),
        (["publish", "--month", "2024-03", "--params", "/nonexistent/params.yaml"], "params file not found"),
    ],
)
def test_bad_invocations_are_one_line_errors(argv, message, capsys, tmp_path):
    status = cli.main([*argv, "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert status != 0 and message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_missing_data_folder_is_an_error_not_a_synthetic_release(tmp_path, capsys):
    status = cli.main(["publish", "--month", "2024-03", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert status == 2 and "no submissions" in capsys.readouterr().err


def test_the_small_data_crosses_the_switch_to_release_2(data_dir, release):
    """The shared data has both releases' files, and the window of 2024-03 holds the early
    adopters' Release 2 files among the Release 1 ones: all read, none rejected."""
    meta = json.loads((data_dir / "synthetic.json").read_text(encoding="utf-8"))
    assert all(meta["release2"][cohort] for cohort in ("early_adopters", "late_release1", "keeping_removed_columns"))
    release_of = {entry["file"]: entry["release"] for entry in meta["submissions"]}
    assert set(release_of.values()) == {1, 2}
    submissions = pd.read_csv(release / "qa" / "submissions.csv", dtype=str, keep_default_na=False)
    read = submissions[~submissions["outcome"].str.startswith("not validated")]
    assert {release_of[name] for name in read["file"]} == {1, 2}
    release2 = read[read["file"].map(release_of) == 2]
    assert release2["outcome"].str.startswith("accepted").all()
    assert set(release2["la_code"]) == set(meta["release2"]["early_adopters"])


def test_month_with_no_submissions_in_its_window(data_dir, small_run_params, tmp_path, capsys):
    # The data ends with the quarter to March 2026, its last files uploaded by mid-July 2026.
    status = cli.main(["publish", "--month", "2026-09", "--data", str(data_dir), "--out", str(tmp_path),
                       "--params", str(small_run_params)])
    assert status == 2 and "nothing can be published for 2026-09" in capsys.readouterr().err


def test_a_failed_run_leaves_no_build_folder(data_dir, small_run_params, tmp_path, monkeypatch):
    from cldstats.measures import areas

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure in the measures")

    monkeypatch.setattr(areas, "area_table", broken)
    with pytest.raises(RuntimeError, match="simulated failure"):
        publish_month("2024-03", params_file=small_run_params, data_dir=data_dir, out_dir=tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["logs"]  # no build folder, no lock: only the run's log
    (log,) = (tmp_path / "logs").iterdir()
    text = log.read_text(encoding="utf-8")
    # The failure is logged by type: an unexpected error's message could quote a submission's value.
    assert "stage failed: measures: regions, England and rates: RuntimeError" in text
    assert "simulated failure" not in text
