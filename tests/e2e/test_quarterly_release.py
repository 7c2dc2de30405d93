"""A quarterly release as DHSC publishes it, with DHSC's selection options (docs/methodology.md
section 2): ``cldstats publish --quarter 2026-03`` on three synthetic councils, with an as-of date,
the derived reporting period, one file excluded and one included by hand.

The release goes to ``reports/data-to-march-2026/`` (never a month's folder), the index heads it
"Data to March 2026", its tables hold the 12 month ends April 2025 to March 2026, and the manifest,
the row accounting, the QA report and the notes sheet record how each council's file was chosen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from cldstats.ingest.pseudonymise import KEY_ENV_VAR
from cldstats.tools import synth
from tests.helpers.paths import REPO

pytestmark = pytest.mark.slow

EXCLUDED = "E09000005_20260418T173750.csv"  # the council's only good file in the window
INCLUDED = "E10000024_20260425T151630.csv"  # submitted after the as-of date
LATE = "E10000012_20260428T104758.csv"  # after the as-of date, not included: not validated
EXCLUDE_REASON = "known processing error in this test file"
INCLUDE_REASON = "resubmitted after the as-of date, agreed for this test"
PARAMS = f"""
selection:
  as_of: "2026-04-20"
  reporting_period: "derived"
  exclude:
    - {{file: "{EXCLUDED}", reason: "{EXCLUDE_REASON}"}}
  include:
    - {{la_code: "E10000024", submitted_at: "2026-04-25 15:16:30", reason: "{INCLUDE_REASON}"}}
override:
  reason: "a test release of 3 of 153 councils"
"""


def _run(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV_VAR}
    return subprocess.run([sys.executable, "-m", "cldstats", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    root = tmp_path_factory.mktemp("quarterly")
    data = root / "data"
    synth.generate(data, councils=3, scale=0.05, start="2025-04", end="2026-03")
    assert {EXCLUDED, INCLUDED, LATE} <= {p.name for p in (data / "submissions").iterdir()}
    params = root / "params.yaml"
    params.write_text(PARAMS, encoding="utf-8")
    done = _run("publish", "--quarter", "2026-03", "--params", str(params), "--data", str(data),
                "--out", str(root / "reports"))
    assert done.returncode == 0, done.stderr[-3000:]
    return root, data, params, done


def test_the_release_is_named_as_dhsc_names_it(quarter):
    root, _, _, done = quarter
    reports = root / "reports"
    assert (reports / "data-to-march-2026" / "manifest.json").exists()
    assert not (reports / "2026-03").exists()  # the monthly release's folder is not touched
    assert "Published data to March 2026" in done.stdout
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert ">Data to March 2026</h2>" in index and 'href="data-to-march-2026/html/publication.html"' in index
    assert [p.name for p in (reports / "logs").iterdir()][0].startswith("data-to-march-2026-")
    assert not list(reports.glob(".lock-*")) and not list(reports.glob(".building-*"))


def test_the_tables_hold_the_12_months_ending_at_the_quarter(quarter):
    release = quarter[0] / "reports" / "data-to-march-2026"
    lts = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str)
    assert sorted(lts["reference_date"].unique()) == [d.isoformat() for d in pd.date_range(
        "2025-04-30", "2026-03-31", freq="ME").date]
    assessed = pd.read_csv(release / "data" / "assessments.csv", dtype=str)
    months = {f"{d:%Y-%m}" for d in pd.date_range("2025-04", "2026-03", freq="MS")}
    assert set(assessed["reference_month"]) == months | {"Total"}


def test_the_manifest_records_the_release_and_the_selection(quarter):
    manifest = json.loads((quarter[0] / "reports" / "data-to-march-2026" / "manifest.json").read_text("utf-8"))
    assert manifest["release"] == {"folder": "data-to-march-2026", "title": "data to March 2026", "quarterly": True}
    assert manifest["month"] == "2026-03" and manifest["reference_date"] == "2026-03-31"
    selection = manifest["selection"]
    assert selection["as_of"] == "2026-04-20" and "as-of date" in selection["as_of_is"]
    assert selection["reporting_period"] == "derived"
    assert [(e["file"], e["reason"]) for e in selection["excluded"]] == [(EXCLUDED, EXCLUDE_REASON)]
    assert [(e["file"], e["reason"]) for e in selection["included"]] == [(INCLUDED, INCLUDE_REASON)]
    assert manifest["params"]["selection"]["as_of"] == "2026-04-20"
    assert manifest["gate"]["councils_selected"] == 1


def test_hand_entries_are_in_the_row_accounting_with_their_reasons(quarter):
    qa = quarter[0] / "reports" / "data-to-march-2026" / "qa"
    subs = pd.read_csv(qa / "submissions.csv", dtype=str, keep_default_na=False).set_index("file")
    excluded, included = subs.loc[EXCLUDED], subs.loc[INCLUDED]
    assert excluded["selected"] == "False" and excluded["rows_used"] == "0"
    assert excluded["rows_excluded"] == excluded["rows_read"] != "0"
    assert excluded["by_hand"] == f"excluded by hand (selection.exclude): {EXCLUDE_REASON}"
    assert included["selected"] == "True" and included["by_hand"].startswith("included by hand")
    assert subs.loc[LATE, "outcome"].startswith("not validated") and subs.loc[LATE, "selected"] == "False"
    exclusions = pd.read_csv(qa / "exclusions.csv", dtype=str)
    mine = exclusions[exclusions["file"] == EXCLUDED]
    assert mine["reason"].tolist() == [f"submission excluded by hand (selection.exclude): {EXCLUDE_REASON}"]
    assert mine["rows"].tolist() == [excluded["rows_read"]]


def test_the_qa_report_shows_both_periods_of_every_file_and_the_notes_state_the_selection(quarter):
    release = quarter[0] / "reports" / "data-to-march-2026"
    periods = pd.read_csv(release / "qa" / "reporting_periods.csv", dtype=str, keep_default_na=False)
    subs = pd.read_csv(release / "qa" / "submissions.csv", dtype=str, keep_default_na=False)
    validated = subs[~subs["outcome"].str.startswith("not validated")]
    assert sorted(periods["file"]) == sorted(validated["file"])
    assert (periods["used"] == "derived").all()
    read = periods[periods["events"].astype(int) >= 100]
    assert len(read) and (read["derived_rule"] == "from events").all() and (read["derived_end"] != "").all()
    qa = (release / "qa" / "qa.html").read_text(encoding="utf-8")
    assert "Reporting periods: stated, derived and used" in qa and INCLUDE_REASON in qa and EXCLUDE_REASON in qa
    notes = pd.read_excel(release / "spreadsheets" / "long_term_support.xlsx", sheet_name="Notes", header=None)
    text = " ".join(str(v) for v in notes.to_numpy().ravel())
    assert "20 April 2026 (the cut-off, DHSC's as-of date)" in text and "derived from its data" in text
    assert f"{EXCLUDED} ({EXCLUDE_REASON})" in text and f"{INCLUDED} ({INCLUDE_REASON})" in text


def test_a_hand_entry_matching_no_file_stops_the_run_before_anything_is_written(quarter, tmp_path):
    _, data, params, _ = quarter
    bad = tmp_path / "bad.yaml"
    bad.write_text(params.read_text(encoding="utf-8").replace(EXCLUDED, "E09000005_20260419T000000.csv"),
                   encoding="utf-8")
    done = _run("publish", "--quarter", "2026-03", "--params", str(bad), "--data", str(data),
                "--out", str(tmp_path / "reports"))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line
    assert "'selection.exclude' item 1 (file 'E09000005_20260419T000000.csv') matches no file" in line
    assert not (tmp_path / "reports" / "data-to-march-2026").exists()
