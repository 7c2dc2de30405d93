"""Values mapped by hand through the real pipeline: validation (ingest, checks, the submission
store, selection) and the method's SQL on DuckDB.

One synthetic council's files are planted with an invalid ``Service Type`` in place of residential
care (``Resi care``, in no release's list): without a mapping those services are not long-term
support, so the council's residential care count falls to 0; with the mapping ``Resi care ->
Long term support: Residential care`` the unrounded tables are those of the files as generated.
Changing what the tables map makes the store read the files again; rewording a reason, or
removing the table again, does not (the entries of each context are kept).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cldstats.measures import engine
from cldstats.pipeline import manifest, validation
from cldstats.quality.council_reports import mapped_values_table
from cldstats.reference.mappings import MAPPING_COLUMNS, mappings_of_params
from cldstats.tools import synth
from tests.helpers.months import month_ends_of, month_params
from tests.helpers.paths import REPO

COUNCIL = "E06000001"
MONTH = "2026-03"
PLANTED = "Resi care"
HEADER = ",".join(MAPPING_COLUMNS) + "\n"
ROW = f"Service Type,{PLANTED},Long term support: Residential care,"


def _cells(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="cp1252")


@pytest.fixture(scope="module")
def params():
    return month_params(MONTH, today=dt.date(2026, 7, 1))


@pytest.fixture(scope="module")
def month_ends(params):
    return month_ends_of(params)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The generated folder and its planted copy (how many cells were planted, per file)."""
    generated = tmp_path_factory.mktemp("generated")
    synth.generate(generated, councils=[COUNCIL], scale=0.05, faults=False, start="2025-04", end="2026-03",
                   workers=1)
    planted = tmp_path_factory.mktemp("planted")
    (planted / "submissions").mkdir()
    (planted / "synthetic.json").write_bytes((generated / "synthetic.json").read_bytes())
    counts = {}
    for path in sorted((generated / "submissions").iterdir()):
        cells = _cells(path)
        residential = cells["Service Type"].str.casefold() == "long term support: residential care"
        cells.loc[residential, "Service Type"] = PLANTED
        cells.to_csv(planted / "submissions" / path.name, index=False, encoding="cp1252", lineterminator="\r\n")
        counts[path.name] = int(residential.sum())
    assert sum(counts.values()) > 0
    return generated, planted, counts


def _with_table(params, tmp_path: Path, name: str, body: str) -> dict:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "services.csv").write_text(body, encoding="utf-8")
    return {**params, "selection": {**params["selection"], "mappings": str(folder)}}


def _residential(method: engine.MethodRun) -> int:
    lts = method.long_term_support
    rows = lts[lts["breakdown"].eq("All") & lts["support_setting"].eq("Residential care")]
    return int(rows["value"].sum())


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """A method table in one row order (the SQL's order is not part of its result)."""
    keys = [c for c in frame.columns if c != "value"]
    return frame.sort_values(keys).reset_index(drop=True)


def _run(data: Path, out: Path, params, month_ends):
    run = validation.validate_folder(data, out, params, workers=1, council_reports=False)
    return run, engine.run_method(run.catalogue, params, month_ends)


def test_a_mapped_value_counts_and_the_store_follows_the_tables(folders, params, month_ends, tmp_path):
    generated, planted, counts = folders
    blank = {**params, "selection": {**params["selection"], "mappings": ""}}
    _, reference = _run(generated, tmp_path / "generated", blank, month_ends)
    assert _residential(reference) > 0

    without, without_method = _run(planted, tmp_path / "without", blank, month_ends)
    assert _residential(without_method) == 0  # the planted services are no long-term support
    files = len(without.results)
    assert without.ingested == files

    mapped = _with_table(params, tmp_path, "one", HEADER + ROW + "planted by the test\n")
    run, method = _run(planted, tmp_path / "mapped", mapped, month_ends)
    assert run.ingested == files and run.from_store == 0  # the tables changed what is stored
    pd.testing.assert_frame_equal(_sorted(method.long_term_support), _sorted(reference.long_term_support))
    pd.testing.assert_frame_equal(_sorted(method.people_assessed), _sorted(reference.people_assessed))

    # Every use counted: per file, the planted cells (the QA listing and the manifest)
    uses = mapped_values_table(run.results)
    assert uses.groupby("file")["count"].sum().to_dict() == {f: n for f, n in counts.items() if n}
    # the value sent is shown by its shape: two words could be a name (the rule of invalid values)
    assert set(uses["mapping"]) == {"services.csv:2"} and set(uses["value"]) == {"(text, 8 letters)"}
    assert (tmp_path / "mapped" / "qa" / "mapped_values.csv").exists()
    assert not (tmp_path / "without" / "qa" / "mapped_values.csv").exists()
    selected = set(run.catalogue.query("selected")["file"])
    record = manifest.manifest_mappings(mappings_of_params(mapped), run.results, selected)
    assert record["values_mapped"] == 1 and record["fields_mapped"] == 1
    assert record["uses"] == [{
        "mapping": "services.csv:2", "field": "Service_Type", "submitted_value": PLANTED,
        "valid_value": "Long term support: Residential care",
        "cells": sum(counts[f] for f in selected), "submissions": sum(1 for f in selected if counts[f]),
    }]
    assert [f["file"] for f in record["files"]] == ["services.csv"] and len(record["files"][0]["sha256"]) == 64

    # The same mappings, a reworded reason: nothing read again.
    reworded = _with_table(params, tmp_path, "two", HEADER + ROW + "reviewed again\n")
    again, _ = _run(planted, tmp_path / "reworded", reworded, month_ends)
    assert (again.ingested, again.from_store) == (0, files)
    # No mapping again: the entries stored without one are used, and the figures are theirs.
    removed, removed_method = _run(planted, tmp_path / "removed", blank, month_ends)
    assert (removed.ingested, removed.from_store) == (0, files)
    assert _residential(removed_method) == 0
    assert manifest.manifest_mappings(mappings_of_params(blank), removed.results, selected)["values_mapped"] == 0


def test_the_store_context_follows_what_is_mapped(params, tmp_path):
    """An empty table (the shipped template) keys the store as no table does; a mapping changes the
    key; a reworded reason does not."""
    from cldstats.pipeline.store import StoreContext

    suites = REPO / "expectations"

    def digest(run_params) -> str:
        return StoreContext.of_run(b"secret", run_params, suites).digest

    blank = {**params, "selection": {**params["selection"], "mappings": ""}}
    assert digest(params) == digest(blank) == digest(_with_table(params, tmp_path, "empty", HEADER))
    one = digest(_with_table(params, tmp_path, "one", HEADER + ROW + "a reason\n"))
    assert one != digest(blank)
    assert one == digest(_with_table(params, tmp_path, "reworded", HEADER + ROW + "another reason\n"))
    assert one != digest(_with_table(params, tmp_path, "other", HEADER + ROW.replace("Residential care", "Nursing care")
                                     + "a reason\n"))


def test_the_notes_sheet_says_how_many_values_were_mapped():
    from cldstats.publication.release_info import ReleaseInfo
    from cldstats.publication.workbooks import _notes
    from cldstats.reference.statements import MethodFacts

    base = dict(month=MONTH, reference_date=dt.date(2026, 3, 31), councils_selected=150,
                publication_date=dt.date(2026, 5, 15), facts=MethodFacts())
    plain = _notes(ReleaseInfo(**base), "assessments", 0)
    assert "mappings" not in set(plain["Note reference"])  # a release without mappings keeps its notes
    noted = _notes(ReleaseInfo(**base, values_mapped=3, fields_mapped=2, mappings_folder="mappings"), "assessments", 0)
    text = noted.set_index("Note reference").loc["mappings", "Note text"]
    assert text.startswith("3 submitted values in 2 fields were mapped by hand to valid values (mappings/)")
    assert len(noted) == len(plain) + 1
