"""The benchmark's bookkeeping (:mod:`cldstats.tools.bench`): stages, sub-stages and ``results.json``.

A whole ``cldstats bench`` run takes minutes even on a tiny dataset (the workbooks and notebooks
cost the same at any scale), so these tests drive :class:`~cldstats.pipeline.timing.StageTimer` directly,
and validation of a small synthetic folder inside a timed stage.
"""

from __future__ import annotations

import json
import time

import pytest

from cldstats.pipeline import timing, validation
from cldstats.reference.params import load_params
from cldstats.tools import bench, synth
from tests.helpers.paths import REPO

#: The stages publish times, in its order (names as publish.py gives them).
PUBLICATION = (
    "ingest and validate (files in the month's window)",
    "measures: the method's SQL on the stored submissions (DuckDB)",
    "measures: regions, England and rates",
    "disclosure control and output checks",
    "write tables and QA outputs",
    "accessible spreadsheets",
    "charts",
    "manifest",
    "notebooks (papermill)",
    "HTML reports",
)
SUBSTAGES = [
    {"stage": "ingest", "wall_seconds": 4.0, "cpu_seconds": 3.0, "peak_rss_mb": 900.0, "rows": 1000,
     "process": "workers"},
    {"stage": "pseudonymise", "wall_seconds": 1.0, "cpu_seconds": 1.0, "peak_rss_mb": 900.0, "rows": 1000,
     "process": "workers"},
    {"stage": "validate", "wall_seconds": 3.0, "cpu_seconds": 2.5, "peak_rss_mb": 950.0, "rows": 1000,
     "process": "workers"},
    {"stage": "store", "wall_seconds": 0.75, "cpu_seconds": 0.5, "peak_rss_mb": 950.0, "rows": 1000,
     "process": "workers"},
    {"stage": "hand back", "wall_seconds": 0.5, "cpu_seconds": 0.5, "peak_rss_mb": 950.0, "rows": 1000,
     "process": "workers"},
    {"stage": "hand back (parent)", "wall_seconds": 0.25, "cpu_seconds": 0.25, "peak_rss_mb": 500.0, "rows": 1000,
     "process": "parent"},
    {"stage": "qa outputs (parent)", "wall_seconds": 0.25, "cpu_seconds": 0.25, "peak_rss_mb": 500.0, "rows": None,
     "process": "parent"},
]


def _timed_publication() -> tuple[timing.StageTimer, int]:
    """A timer holding a floor stage and stages named as publish names them, with sub-stages."""
    timer = timing.StageTimer(interval=0.01)
    with timer.stage("plain pyarrow.csv read of the month's files (floor)") as stage:
        stage.rows = 1000
        time.sleep(0.01)  # a floor of 0 s (rounded) would leave the ratio undefined
    first = len(timer.results)
    for name in PUBLICATION:
        with timer.stage(name) as stage:
            if name.startswith("ingest"):
                assert timing.record_substages(SUBSTAGES, note="ran concurrently in 2 worker processes")
                stage.rows = 1000
                stage.notes = "170 files"  # what the timed code may set: the sub-stages' note survives
            time.sleep(0.01)
    return timer, first


def test_stage_records_wall_cpu_memory_and_rows():
    timer = timing.StageTimer(interval=0.01)
    with timer.stage("busy") as stage:
        sum(i * i for i in range(200_000))
        stage.rows = 7
    (result,) = timer.results
    assert result.stage == "busy" and result.rows == 7
    assert result.wall_seconds > 0 and result.cpu_seconds > 0
    assert result.peak_rss_mb >= result.peak_rss_mb_parent > 0
    assert result.substages == []


def test_substages_go_to_the_innermost_running_stage_only():
    assert timing.record_substages(SUBSTAGES) is False  # no stage running: nothing to attach to
    timer = timing.StageTimer(interval=0.01)
    with timer.stage("outer") as outer:
        with timer.stage("inner") as inner:
            assert timing.record_substages(SUBSTAGES[:2], note="concurrent")
        assert timing.record_substages(SUBSTAGES[2:3])
    assert [s["stage"] for s in inner.substages] == ["ingest", "pseudonymise"]
    assert inner.substages_note == "concurrent" and inner.notes == ""
    assert [s["stage"] for s in outer.substages] == ["validate"]
    assert timing.record_substages(SUBSTAGES) is False  # both stages have ended


def test_summary_has_the_issues_eight_stages():
    timer, first = _timed_publication()
    summary = bench.summarise(timer.results[first:])
    assert [s["stage"] for s in summary] == [
        "ingest", "pseudonymise", "validate", "store", "measures", "outputs", "notebooks", "render"]
    by_name = {s["stage"]: s for s in summary}
    assert by_name["ingest"]["cpu_seconds"] == 3.0 and by_name["ingest"]["rows"] == 1000
    # validate = the worker phase, handing back (both sides) and the parent's QA outputs
    assert by_name["validate"]["wall_seconds"] == pytest.approx(4.0)
    assert by_name["validate"]["peak_rss_mb"] == 950.0
    assert "concurrently in 2 worker processes" in by_name["validate"]["notes"]
    assert by_name["outputs"]["covers"] == [
        "disclosure control and output checks", "write tables and QA outputs", "accessible spreadsheets", "charts",
        "manifest"]
    assert by_name["notebooks"]["covers"] == ["notebooks (papermill)"]
    assert by_name["render"]["covers"] == ["HTML reports"]
    assert by_name["store"]["wall_seconds"] == pytest.approx(0.75) and by_name["store"]["rows"] == 1000
    assert by_name["measures"]["covers"] == ["measures: the method's SQL on the stored submissions (DuckDB)",
                                             "measures: regions, England and rates"]


def test_results_json_structure_and_table():
    timer, first = _timed_publication()
    results = bench._results(timer, first, 12.5, scale=0.01, seed=1, month="2024-03", dataset="x",
                             files_in_month_window=3)
    json.loads(json.dumps(results))  # plain JSON
    for key in ("scale", "machine", "stages", "summary", "publication_wall_seconds", "publication_cpu_seconds",
                "publication_peak_rss_mb", "floor_wall_seconds", "floor_cpu_seconds", "publication_over_floor"):
        assert key in results, key
    assert len(results["stages"]) == 1 + len(PUBLICATION)
    for stage in results["stages"]:
        for key in ("stage", "wall_seconds", "cpu_seconds", "peak_rss_mb", "rows", "substages", "substages_note",
                    "rows_per_second"):
            assert key in stage
    parallel = results["stages"][1]
    assert [s["stage"] for s in parallel["substages"]] == [s["stage"] for s in SUBSTAGES]
    # The elapsed time measured around the publication, not a sum of its stages (some overlap).
    assert results["publication_wall_seconds"] == 12.5
    floor = min(s["wall_seconds"] for s in results["stages"] if s["stage"].startswith("plain pyarrow.csv read"))
    assert results["publication_over_floor"] == round(12.5 / floor, 2)
    table = bench.format_table(results)
    for name in ("ingest", "pseudonymise", "validate", "store", "measures", "outputs", "notebooks", "render",
                 "publication (total)", "floor"):
        assert name in table


@pytest.mark.slow
def test_validation_reports_its_worker_phases_to_a_timed_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    data = tmp_path / "data"
    synth.generate(data, scale=0.005, councils=2, start="2023-04", end="2024-03")  # the year 2024-03 needs
    params = load_params("2024-03", params_dir=REPO / "params")
    timer = timing.StageTimer()
    with timer.stage("ingest and validate") as stage:
        run = validation.validate_folder(data, tmp_path / "out", params, workers=1)
        stage.rows = run.rows_read
    (result,) = timer.results
    names = [s["stage"] for s in result.substages]
    assert names[:4] == ["start-up", "ingest", "pseudonymise", "validate"] and "qa outputs (parent)" in names
    assert all(s["rows"] == run.rows_read for s in result.substages[1:4])
    assert result.substages_note  # says how the phases ran
    summary = {s["stage"]: s for s in bench.summarise(timer.results)}
    assert summary["ingest"]["rows"] == run.rows_read > 0
