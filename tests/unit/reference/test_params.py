"""Params: defaults + month file + --params, deep merge, unknown keys rejected, months as strings."""

import datetime as dt
import json
import re

import pytest

from cldstats import ingest
from cldstats.reference import checks, params
from cldstats.reference.calendar import default_cutoff, release_month_ends
from cldstats.reference.params import ParamsError, load_params
from tests.helpers.paths import REPO

PARAMS = REPO / "params"


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
    assert params["selection"]["as_of"] == "2024-05-31"
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
    extra.write_text("selection:\n  as_of: 2024-06-15\n")
    assert load_params("2024-03", extra, params_dir=PARAMS)["selection"]["as_of"] == "2024-06-15"


def test_an_old_params_file_setting_cutoff_sets_the_as_of_date(tmp_path):
    """The cut-off moved to ``selection.as_of`` (DHSC's name); an older file's ``cutoff`` still works."""
    extra = tmp_path / "old.yaml"
    extra.write_text('cutoff: "2024-06-15"\n')
    params = load_params("2024-03", extra, params_dir=PARAMS)
    assert params["selection"]["as_of"] == "2024-06-15" and "cutoff" not in params
    assert params["publication"]["date"] == "2024-06-29"  # 14 days after it, as before
    extra.write_text('cutoff: "2024-06-15"\nselection:\n  as_of: "2024-06-16"\n')
    with pytest.raises(ParamsError, match=r"sets both 'cutoff' and 'selection.as_of'"):
        load_params("2024-03", extra, params_dir=PARAMS)


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
        ("cutoff: 31/05/2024\n", "'selection.as_of' must be a date"),
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


# ---------------------------------------------------------------------------------------------
# Every value is checked for sense (cldstats.reference.params.RULES), not only for type
# ---------------------------------------------------------------------------------------------
def _leaf_keys(mapping, where=""):
    keys = []
    for key, value in mapping.items():
        keys += _leaf_keys(value, f"{where}{key}.") if isinstance(value, dict) else [f"{where}{key}"]
    return keys


def test_every_key_of_the_defaults_has_a_rule():
    import yaml

    from cldstats.reference.params import RULES

    keys = _leaf_keys(yaml.safe_load((PARAMS / "defaults.yaml").read_text(encoding="utf-8")))
    assert len(keys) >= 17  # the walk found the nested keys too
    assert [key for key in keys if key not in RULES] == [], "give each new params key a rule in params.RULES"


def test_adass_assign_lists_exactly_the_councils_with_a_blank_membership(tmp_path):
    from cldstats.reference import lists

    params = load_params("2024-03", params_dir=PARAMS)
    assert sorted(params["areas"]["adass_assign"]) == lists.adass_blank_codes() == ["E06000063", "E06000064"]
    # A council whose membership the shipped table gives cannot be reassigned: the key is unknown.
    extra, load = _load_with(tmp_path, 'areas:\n  adass_assign:\n    E06000001: "North West"\n')
    with pytest.raises(ParamsError, match="unknown params key 'areas.adass_assign.E06000001'"):
        load()


def test_a_key_without_a_rule_is_a_bug_not_a_pass():
    from cldstats.reference.params import check_params

    params = load_params("2024-03", params_dir=PARAMS)
    params["gate"]["new_threshold"] = 0.5
    with pytest.raises(RuntimeError, match="gate.new_threshold"):
        check_params(params)


def _load_with(tmp_path, text, month="2024-03", today=dt.date(2024, 7, 1)):
    extra = tmp_path / "run.yaml"
    extra.write_text(text, encoding="utf-8")
    return extra, lambda: load_params(month, extra, params_dir=PARAMS, today=today)


NONSENSE = [
    # (params text, the words the one line must hold after "params key '<key>' ")
    ("release_month_ends: 0\n", "'release_month_ends' must be a whole number from 1 to 24, got 0"),
    ("release_month_ends: -3\n", "'release_month_ends' must be a whole number from 1 to 24, got -3"),
    ("release_month_ends: 120\n", "'release_month_ends' must be a whole number from 1 to 24, got 120"),
    ("release_month_ends: 2.5\n", "'release_month_ends' must be a whole number"),
    ("release_month_ends: true\n", "'release_month_ends' must be a whole number from 1 to 24, got True"),
    ("disclosure:\n  rounding_base: 0\n", "'disclosure.rounding_base' must be a whole number from 1 to 100, got 0"),
    ("disclosure:\n  rounding_base: 5.5\n", "'disclosure.rounding_base' must be a whole number"),
    ("disclosure:\n  suppress_max: -1\n", "'disclosure.suppress_max' must be a whole number from "
                                         "disclosure.rounding_base - 1 (4) to 100, got -1"),
    ("disclosure:\n  suppress_max: 2\n", "'disclosure.suppress_max' must be a whole number from "
                                        "disclosure.rounding_base - 1 (4) to 100, got 2"),
    ("gate:\n  blocking_checks: [unreadable, missing_column, no_rows]\n",
     "'gate.blocking_checks' has an unknown check 'missing_column' (did you mean 'missing_columns'?); the checks "
     "are: "),
    ("gate:\n  blocking_checks: [unreadable, no_rows, bad_start_dates]\n",
     "'gate.blocking_checks' must include missing_columns: "),
    ("gate:\n  blocking_checks: []\n", "'gate.blocking_checks' must include unreadable, missing_columns, no_rows"),
    ("gate:\n  blocking_checks: [unreadable, missing_columns, no_rows, no_rows]\n",
     "'gate.blocking_checks' lists the check 'no_rows' twice"),
    ("gate:\n  blocking_checks: [unreadable, missing_columns, no_rows, 7]\n",
     "'gate.blocking_checks' must be a list of check names"),
    ("gate:\n  blocking_checks: [unreadable, missing_columns, no_rows, invalid]\n",
     "'gate.blocking_checks' has an unknown check 'invalid'"),  # always a warning: blocking it would block nothing
    ("gate:\n  min_coverage: 0\n", "'gate.min_coverage' must be a number greater than 0 and at most 1, got 0"),
    ("gate:\n  min_coverage: 90\n", "'gate.min_coverage' must be a number greater than 0 and at most 1, got 90"),
    ("gate:\n  max_month_change: -0.05\n", "'gate.max_month_change' must be a number from 0 to 1, got -0.05"),
    ("gate:\n  max_month_change: .nan\n", "'gate.max_month_change' must be a number from 0 to 1, got nan"),
    ("gate:\n  max_bad_start_date_share: 5\n", "'gate.max_bad_start_date_share' must be a number from 0 to 1, got 5"),
    ('cutoff: "2024-03-31"\n', "'selection.as_of' must be after the end of month (2024-03-31), got '2024-03-31'"),
    ('cutoff: "2024-03-15"\n', "'selection.as_of' must be after the end of month (2024-03-31)"),
    ('cutoff: "2025-04-30"\n', "'selection.as_of' must be within 12 months of the end of month (2024-03-31), "
                               "on or before 2025-03-31, got '2025-04-30'"),
    ('selection:\n  as_of: "2024-02-30"\n', "'selection.as_of' must be a date 'YYYY-MM-DD', got '2024-02-30'"),
    ('selection:\n  as_of: "20240531"\n', "'selection.as_of' must be a date 'YYYY-MM-DD', got '20240531'"),
    ('selection:\n  as_of: "2024-W22-5"\n', "'selection.as_of' must be a date 'YYYY-MM-DD', got '2024-W22-5'"),
    ("cutoff: 2024-05-31T10:00:00\n", "'selection.as_of' must be a date 'YYYY-MM-DD'"),
    ('publication:\n  date: "2024-05-30"\n', "'publication.date' must be on or after selection.as_of (2024-05-31), "
                                            "got '2024-05-30'"),
    ('publication:\n  date: "2204-06-14"\n',
     "'publication.date' must be within 12 months of selection.as_of (2024-05-31)"),
    ('publication:\n  contact_email: "statistics team"\n',
     "'publication.contact_email' must be an e-mail address such as name@example.org, got 'statistics team'"),
    ('publication:\n  contact_email: "a@b"\n', "'publication.contact_email' must be an e-mail address"),
    ('override:\n  reason: "ok"\n', "'override.reason' must be blank or a reason on one line of 10 to 500 "
                                    "characters, got 'ok'"),
    ('override:\n  reason: "agreed with the head\\nof profession"\n', "'override.reason' must be blank or a reason "
                                                                       "on one line"),
    ('pseudonymisation:\n  key_file: "keys/a\\nb"\n', "'pseudonymisation.key_file' must be blank or a file path on "
                                                       "one line"),
    ('collection_start: "2023-04-15"\n', "'collection_start' must be the first day of a month, got '2023-04-15'"),
    ("quality:\n  records_listed_per_check: -1\n",
     "'quality.records_listed_per_check' must be a whole number of at least 0, got -1"),
    ('publication:\n  next_update: "next month"\n',
     "'publication.next_update' must be blank, 'to be announced' or a date 'YYYY-MM-DD', got 'next month'"),
    ('publication:\n  next_update: "2024-06-14"\n',
     "'publication.next_update' must be after publication.date (2024-06-14), got '2024-06-14'"),
    ('publication:\n  next_update: "2025-07-01"\n',
     "'publication.next_update' must be within 12 months of publication.date (2024-06-14)"),
    ("pseudonymisation:\n  placeholder_nhs_numbers: [0000000000]\n",  # YAML reads it as the number 0
     "'pseudonymisation.placeholder_nhs_numbers' item 1 must be a quoted 10-digit NHS number, got 0"),
    ('pseudonymisation:\n  placeholder_nhs_numbers: ["4010232137", "40102321"]\n',
     "'pseudonymisation.placeholder_nhs_numbers' item 2 must be a quoted 10-digit NHS number, got '40102321'"),
    ('pseudonymisation:\n  placeholder_nhs_numbers: ["4010232137", "4010232137"]\n',
     "'pseudonymisation.placeholder_nhs_numbers' lists '4010232137' twice"),
    ('selection:\n  reporting_period: "Derived"\n',
     "'selection.reporting_period' must be 'stated' or 'derived', got 'Derived'"),
    ('selection:\n  exclude: "E06000001_20240410T100000.csv"\n', "'selection.exclude' must be a list"),
    ('selection:\n  exclude:\n    - {file: "E06000001_20240410T100000.csv"}\n',
     "'selection.exclude' item 1 must give a reason"),
    ('selection:\n  exclude:\n    - {file: "a.csv", reason: "bad"}\n',
     "'selection.exclude' item 1 reason must be a reason on one line of 10 to 500 characters, got 'bad'"),
    ('selection:\n  include:\n    - {la_code: "E06000001", reason: "resubmitted after the as-of date"}\n',
     "'selection.include' item 1 submitted_at must be a time 'YYYY-MM-DD HH:MM:SS', got None"),
    ('selection:\n  include:\n    - {la_code: "E99999999", submitted_at: "2024-04-10 10:00:00", '
     'reason: "resubmitted after the as-of date"}\n',
     "'selection.include' item 1 la_code must be the GSS code of a council, got 'E99999999'"),
    ('selection:\n  include:\n    - {file: "a.csv", la_code: "E06000001", reason: "resubmitted late"}\n',
     "'selection.include' item 1 must name its file either by file or by la_code and submitted_at (not both)"),
    ('selection:\n  include:\n    - {file: "data/a.csv", reason: "resubmitted late"}\n',
     "'selection.include' item 1 file must be a file name in the submissions folder"),
    ('selection:\n  include:\n    - {file: "a.csv", reason: "resubmitted late", why: "x"}\n',
     "'selection.include' item 1 has an unknown key 'why'"),
    ('selection:\n  exclude:\n    - {la_code: "E06000001", submitted_at: "20240410T100000", '
     'reason: "a known bad file"}\n'
     '    - {la_code: "E06000001", submitted_at: 2024-04-10 10:00:00, reason: "the same file again"}\n',
     "'selection.exclude' item 2 names the same file as item 1"),
    ('areas:\n  adass_assign:\n    E06000063: "North East England"\n',
     "'areas.adass_assign.E06000063' must be blank or an ADASS region name (North East, North West, "),
]


@pytest.mark.parametrize(("text", "words"), NONSENSE, ids=[t.strip().replace("\n", " ") for t, _ in NONSENSE])
def test_values_that_make_no_sense_are_one_line_naming_the_key_and_file(tmp_path, text, words):
    extra, load = _load_with(tmp_path, text)
    with pytest.raises(ParamsError) as caught:
        load()
    line = str(caught.value)
    assert line.startswith(f"params file {extra}: params key {words}"), line
    assert "\n" not in line


@pytest.mark.parametrize(
    "text",
    [
        "release_month_ends: 1\n",
        "release_month_ends: 24\n",
        "disclosure:\n  rounding_base: 10\n  suppress_max: 9\n",
        "disclosure:\n  rounding_base: 5\n  suppress_max: 9\n",  # suppressing more than the base: a common policy
        "disclosure:\n  rounding_base: 1\n  suppress_max: 0\n",
        "gate:\n  min_coverage: 1\n  max_month_change: 0\n  max_bad_start_date_share: 1\n",
        "gate:\n  blocking_checks: [unreadable, missing_columns, no_rows, end_before_start, duplicate_row]\n",
        'cutoff: "2024-04-01"\npublication:\n  date: "2024-04-01"\n',
        'selection:\n  as_of: "2024-04-01"\n  reporting_period: "derived"\n',
        'selection:\n  exclude:\n    - {file: "E06000001_20240410T100000.csv", reason: "known processing error"}\n'
        '  include:\n    - {la_code: "E06000002", submitted_at: 2024-06-10 09:00:00, reason: "late resubmission"}\n',
        'cutoff: "2025-03-31"\n',
        "cutoff: 2024-06-15\n",
        'override:\n  reason: "agreed with the head of profession"\n',
        "quality:\n  records_listed_per_check: 0\n",
        'publication:\n  contact_email: "asc.statistics@dhsc.gov.uk"\n',
        'publication:\n  next_update: "To be announced"\n',
        'publication:\n  next_update: "2024-06-15"\n',
        'pseudonymisation:\n  placeholder_nhs_numbers: ["4010232137", "100 000 0060"]\n',
        'areas:\n  adass_assign:\n    E06000063: "North East"\n    E06000064: "Eastern"\n',
    ],
)
def test_values_at_the_edges_of_their_rules_are_accepted(tmp_path, text):
    load_params("2024-03", _load_with(tmp_path, text)[0], params_dir=PARAMS, today=dt.date(2024, 7, 1))


def test_a_bound_from_another_file_names_both_files(tmp_path):
    extra, load = _load_with(tmp_path, "disclosure:\n  rounding_base: 10\n")
    with pytest.raises(ParamsError) as caught:
        load()
    assert str(caught.value) == (
        f"params file {PARAMS / 'defaults.yaml'}: params key 'disclosure.suppress_max' must be a whole number from "
        f"disclosure.rounding_base - 1 (9) to 100, got 4; disclosure.rounding_base is set in params file {extra}"
    )


def test_the_month_from_the_command_line_names_no_file_but_the_collection_start_file(tmp_path):
    extra, load = _load_with(tmp_path, 'collection_start: "2024-04-01"\n')
    with pytest.raises(ParamsError) as caught:
        load()
    assert str(caught.value).startswith("month 2024-03 is before the collection started (2024-04)")
    assert str(caught.value).endswith(f"; collection_start is set in params file {extra}")


def test_blocking_check_names_come_from_the_code(tmp_path, monkeypatch):
    """The allowed names are ingest's checks and the submission suites' checks, not a second list:
    a check added to ingest's checks can be made blocking at once, and every suite check is allowed."""
    suite_checks = set()
    for name in checks.SUITE_NAMES:
        suite = json.loads((checks.EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        suite_checks |= {e["meta"]["check"] for e in suite["expectations"]}
    assert ingest.CHECKS == checks.INGEST_CHECKS  # what ingest reports is what the rules accept
    assert params.gate_check_names() == frozenset(ingest.CHECKS) | suite_checks
    assert {"end_before_start", "field_values", "la_code_unknown", "ragged_rows"} <= params.gate_check_names()

    text = "gate:\n  blocking_checks: [unreadable, missing_columns, no_rows, columns_disagree]\n"
    with pytest.raises(ParamsError, match="unknown check 'columns_disagree'"):
        _load_with(tmp_path, text)[1]()
    monkeypatch.setattr(checks, "INGEST_CHECKS", (*checks.INGEST_CHECKS, "columns_disagree"))
    checks.check_names.cache_clear()
    try:
        loaded = _load_with(tmp_path, text)[1]()
    finally:
        monkeypatch.undo()
        checks.check_names.cache_clear()
    assert "columns_disagree" in loaded["gate"]["blocking_checks"]


# ---------------------------------------------------------------------------------------------
# Params files are small, plain YAML
# ---------------------------------------------------------------------------------------------
ANCHOR_BOMB = "".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)]
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (ANCHOR_BOMB, "YAML aliases (*a) are not allowed in params (line 2, column 8)"),
        ('x: &reason "agreed"\noverride:\n  reason: *reason\n', "YAML aliases (*reason) are not allowed in params"),
        ("gate:\n  min_coverage: 0.5\n  min_coverage: 0.9\n",
         "key 'min_coverage' is given twice in one mapping (line 3, column 3)"),
        ("gate:\n  <<: {min_coverage: 0.5}\n  min_coverage: 0.9\n",
         "YAML merge keys (<<) are not allowed in params (line 2, column 3)"),
    ],
    ids=["anchor bomb", "alias", "key twice", "merge key"],
)
def test_aliases_and_repeated_keys_are_refused_naming_the_file(tmp_path, text, words):
    extra, load = _load_with(tmp_path, text)
    with pytest.raises(ParamsError) as caught:
        load()
    assert str(caught.value).startswith(f"params file {extra}: ") and words in str(caught.value), str(caught.value)


def test_params_files_that_are_too_big_or_too_deep_are_refused(tmp_path):
    import time

    started = time.monotonic()
    with pytest.raises(ParamsError, match=r"params file /dev/zero is over 1024 KB: not a params file"):
        load_params("2024-03", "/dev/zero", params_dir=PARAMS)
    assert time.monotonic() - started < 5
    deep = tmp_path / "deep.yaml"
    deep.write_text("gate: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=rf"params file {re.escape(str(deep))} is nested too deeply to be params"):
        load_params("2024-03", deep, params_dir=PARAMS)


def test_hand_entries_times_are_recorded_in_one_spelling(tmp_path):
    extra = tmp_path / "hand.yaml"
    extra.write_text('selection:\n  include:\n    - {la_code: "E06000002", submitted_at: 2024-06-10 09:00:00, '
                     'reason: "late resubmission"}\n    - {la_code: "E06000003", submitted_at: "20240611T093000", '
                     'reason: "late resubmission"}\n')
    include = load_params("2024-03", extra, params_dir=PARAMS, today=dt.date(2024, 7, 1))["selection"]["include"]
    assert [entry["submitted_at"] for entry in include] == ["2024-06-10 09:00:00", "2024-06-11 09:30:00"]
    json.dumps(include)  # the manifest records params as JSON
