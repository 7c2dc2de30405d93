"""Params: defaults + month file + --params, deep merge, unknown keys rejected, months as strings."""

import datetime as dt
import re
from pathlib import Path

import pytest

from cldstats.params import ParamsError, default_cutoff, load_params, release_month_ends

PARAMS = Path(__file__).resolve().parents[1] / "params"


@pytest.mark.parametrize(
    ("month", "cutoff"),
    [
        ("2023-04", "2023-08-31"),
        ("2023-06", "2023-08-31"),
        ("2023-12", "2024-02-29"),
        ("2024-01", "2024-05-31"),
        ("2024-03", "2024-05-31"),
        ("2024-10", "2025-02-28"),
    ],
)
def test_default_cutoff(month, cutoff):
    assert default_cutoff(month).isoformat() == cutoff


def test_release_has_12_month_ends_but_none_before_april_2023():
    ends = release_month_ends("2024-03")
    assert len(ends) == 12 and ends[0] == dt.date(2023, 4, 30) and ends[-1] == dt.date(2024, 3, 31)
    assert [d.isoformat() for d in release_month_ends("2023-05")] == ["2023-04-30", "2023-05-31"]
    assert release_month_ends("2024-06")[0] == dt.date(2023, 7, 31)


def test_month_files_exist_for_the_published_months():
    for month in ("2023-12", "2024-01", "2024-02", "2024-03"):
        params = load_params(month, params_dir=PARAMS)
        assert params["month"] == month


def test_defaults_resolve_the_cutoff():
    params = load_params("2024-03", params_dir=PARAMS)
    assert params["cutoff"] == "2024-05-31"
    assert params["gate"]["min_coverage"] == 0.9


def test_override_file_merges_deeply(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text('gate:\n  min_coverage: 0.5\noverride:\n  reason: "agreed with the head of profession"\n')
    params = load_params("2024-03", extra, params_dir=PARAMS)
    assert params["gate"]["min_coverage"] == 0.5
    assert params["gate"]["max_month_change"] == 0.05  # untouched sibling key survives
    assert params["override"]["reason"].startswith("agreed")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gate:\n  min_coverge: 0.5\n", "unknown params key 'gate.min_coverge'"),
        ("colour: blue\n", "unknown params key 'colour'"),
        ("gate: 3\n", "must be a mapping"),
        ("gate:\n  min_coverage: lots\n", "must be a number"),
        ("cutoff: 31/05/2024\n", "must be a date"),
        ("month: \"2024-02\"\n", "sets month '2024-02'"),
        ("- a\n- b\n", "must hold a mapping"),
        ("gate: [\n", "not valid YAML"),
    ],
)
def test_bad_params_are_clear_errors(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ParamsError, match=message.replace("(", r"\(")):
        load_params("2024-03", bad, params_dir=PARAMS)


@pytest.mark.parametrize("month", ["2024-3", "2024-13", "March 2024", 202403])
def test_month_must_be_a_yyyy_mm_string(month):
    with pytest.raises(ParamsError, match="YYYY-MM"):
        load_params(month, params_dir=PARAMS)


def test_missing_params_file_is_a_clear_error(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params("2024-03", tmp_path / "nope.yaml", params_dir=PARAMS)


def test_unquoted_date_cutoff_is_accepted(tmp_path):
    extra = tmp_path / "cutoff.yaml"
    extra.write_text("cutoff: 2024-06-15\n")
    assert load_params("2024-03", extra, params_dir=PARAMS)["cutoff"] == "2024-06-15"


@pytest.mark.parametrize(
    ("month", "today", "message"),
    [
        ("2023-03", dt.date(2024, 6, 1), "month 2023-03 is before the collection started (2023-04)"),
        ("2022-12", dt.date(2024, 6, 1), "before the collection started"),
        ("2024-03", dt.date(2024, 3, 31), "month 2024-03 has not ended yet (today is 2024-03-31)"),
        ("2024-05", dt.date(2024, 5, 1), "has not ended yet"),
    ],
)
def test_month_must_be_publishable(month, today, message):
    with pytest.raises(ParamsError, match=re.escape(message)):
        load_params(month, params_dir=PARAMS, today=today)


def test_first_and_latest_publishable_months():
    assert load_params("2023-04", params_dir=PARAMS, today=dt.date(2023, 5, 1))["month"] == "2023-04"
    assert load_params("2024-03", params_dir=PARAMS, today=dt.date(2024, 4, 1))["month"] == "2024-03"


def test_collection_start_from_params_moves_the_first_month(tmp_path):
    extra = tmp_path / "later.yaml"
    extra.write_text('collection_start: "2023-07-01"\n')
    with pytest.raises(ParamsError, match=r"2023-06 is before the collection started \(2023-07\)"):
        load_params("2023-06", extra, params_dir=PARAMS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: blue\n", "unknown params key 'colour'"),
        ("gate:\n  min_coverage: lots\n", "'gate.min_coverage' must be a number"),
        ("cutoff: 31/05/2024\n", "'cutoff' must be a date"),
        ('override:\n  reason: "unfinished\ngate: [\n', "not valid YAML: while scanning a quoted scalar (line 2"),
        ("a: 1\n b: 2\n", "not valid YAML: mapping values are not allowed here (line 2, column 3)"),
    ],
)
def test_params_errors_are_one_line_naming_the_file(tmp_path, text, message):
    bad = tmp_path / "named.yaml"
    bad.write_text(text)
    with pytest.raises(ParamsError) as caught:
        load_params("2024-03", bad, params_dir=PARAMS)
    assert str(bad) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_params_file_that_is_not_text_or_not_a_file(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParamsError, match="is not UTF-8 text"):
        load_params("2024-03", binary, params_dir=PARAMS)
    with pytest.raises(ParamsError, match="cannot read params file .*: Is a directory"):
        load_params("2024-03", tmp_path, params_dir=PARAMS)
