"""Revisions end to end (docs/methodology.md section 7): ``[r]``, ``qa/revisions.csv``,
the spreadsheets' notes and Revisions sheet, and the QA report, over real publication runs.

One synthetic dataset of 8 councils (the coverage gate is overridden), published for 2024-03 four
times in a row into the same reports folder:

1. the first release (nothing to compare with);
2. an unchanged rerun: no ``r`` flag anywhere and a header-only ``qa/revisions.csv``;
3. a rerun after one council resubmitted (a later file, within the cut-off, without some of its
   service rows): the cells whose published value changed, and only those, are ``p r`` and listed
   with old and new values; the notebooks run for this release so the QA report can be checked;
4. a rerun with an earlier cut-off that excludes the resubmission again: the same cells change back.

Only run 3 writes everything checked here (spreadsheets, charts, and the QA and publication
notebooks and HTML); the other runs skip those stages, which take most of a run's time and depend
only on the published tables (the unchanged case's spreadsheet notes are covered in
``tests/unit/publication/test_tables.py``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cldstats.pipeline.publish import publish_month
from cldstats.publication import tables
from cldstats.tools import synth
from tests.helpers.stand_ins import tables_only

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH = "2024-03"
NAMES = ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates")
KEYS = {
    "long_term_support": ["reference_date", "area_code", "support_setting", "breakdown", "breakdown_value"],
    "long_term_support_rates": ["reference_date", "area_code", "support_setting", "breakdown", "breakdown_value"],
    "assessments": ["reference_month", "area_code", "breakdown", "breakdown_value"],
    "assessments_rates": ["reference_month", "area_code", "breakdown", "breakdown_value"],
}
COMPARED = {"long_term_support": ("value",), "long_term_support_rates": ("rate", "population"),
            "assessments": ("value",), "assessments_rates": ("rate", "population")}
OVERRIDE = 'override:\n  reason: "test run on 8 of 153 councils"\n'
#: The resubmission's file name date: after every synthetic file of the window, before the cut-off.
RESUBMITTED_AT = "20240520T090000"


def _keep(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path.name).write_bytes(path.read_bytes())
    return folder / path.name


def _workbook(path: Path) -> dict[str, list[tuple]]:
    """The rows of the cover, contents and notes sheets and of the Revisions sheet, if any (read-only
    mode: the large table sheets are not parsed)."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        wanted = [name for name in book.sheetnames if not name.startswith("Table_")]
        sheets = {name: list(book[name].iter_rows(values_only=True)) for name in wanted}
        sheets["_names"] = [tuple(book.sheetnames)]
        return sheets
    finally:
        book.close()


def _text(rows: list[tuple]) -> str:
    return " ".join(str(v) for row in rows for v in row if v is not None)


def _tables(release: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_csv(release / "data" / f"{n}.csv", dtype=str, keep_default_na=False) for n in NAMES}


def _revisions(release: Path) -> pd.DataFrame:
    return pd.read_csv(release / "qa" / "revisions.csv", dtype=str, keep_default_na=False)


def _changed_cells(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> set[tuple]:
    """(table, measure, cell keys..., old, new) of every published value that differs."""
    changed = set()
    for name in NAMES:
        keys = KEYS[name]
        both = after[name].merge(before[name], on=keys, suffixes=("", "_old"))
        for column in COMPARED[name]:
            diff = both[both[column] != both[f"{column}_old"]]
            for row in diff.itertuples(index=False):
                row = row._asdict()
                changed.add((name, column, *(row[k] for k in keys), row[f"{column}_old"], row[column]))
    return changed


def _listed_cells(revisions: pd.DataFrame) -> set[tuple]:
    listed = set()
    for row in revisions.to_dict("records"):
        cell = [row["reference_period"], row["area_code"]]
        cell += [row["support_setting"]] if "support_setting" in KEYS[row["table"]] else []
        cell += [row["breakdown"], row["breakdown_value"]]
        listed.add((row["table"], row["measure"], *cell, row["previous_value"], row["new_value"]))
    return listed


def _tables_only(full: bool):
    """Skip the stages after the tables (spreadsheets, charts, notebooks, HTML) unless ``full``;
    with ``full``, run only the QA and publication notebooks."""
    return tables_only(notebooks=("data_quality", "publication") if full else None)


def _revised_flags(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {n: f[f["flags"].str.contains(r"(?:^|\s)r(?:\s|$)")] for n, f in frames.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The four releases, each copied aside (``data/``, ``qa/``, ``spreadsheets/``) before the next run."""
    tmp = tmp_path_factory.mktemp("revisions")
    data, out = tmp / "data", tmp / "reports"
    synth.generate(data, councils=8, start="2023-04", end="2024-03")  # the year MONTH needs
    params = tmp / "params.yaml"
    params.write_text(OVERRIDE, encoding="utf-8")
    snapshots, seconds = {}, {}

    def publish(label: str, *, full: bool = False, params_file: Path = params) -> None:
        started = time.perf_counter()
        with _tables_only(full):
            result = publish_month(MONTH, params_file=params_file, data_dir=data, out_dir=out, progress=False)
        seconds[label] = time.perf_counter() - started
        release = result.release_dir
        snapshots[label] = {"tables": _tables(release), "revisions": _revisions(release)}
        if full:
            snapshots[label]["spreadsheets"] = {w: release / "spreadsheets" / f"{w}.xlsx"
                                                for w in ("long_term_support", "assessments")}
            snapshots[label]["qa_html"] = (release / "qa" / "qa.html").read_text(encoding="utf-8")
            snapshots[label]["publication_html"] = (release / "html" / "publication.html").read_text(encoding="utf-8")

    publish("first")
    publish("unchanged")

    # A council resubmits: its selected file again, later, without every third long-term service row.
    submissions = pd.read_csv(out / MONTH / "qa" / "submissions.csv", dtype=str, keep_default_na=False)
    selected = submissions[submissions["selected"].str.lower() == "true"].sort_values("rows_used")
    council, file = selected.iloc[-1][["la_code", "file"]]  # the largest: its changes reach England
    source = pd.read_csv(data / "submissions" / file, dtype=str, keep_default_na=False, encoding="cp1252")
    services = source.index[source["Event Type"].eq("Service")
                            & source["Service Type"].str.casefold().str.startswith("long term support")]
    revised = source.drop(services[::3])
    revised.to_csv(data / "submissions" / f"{council}_{RESUBMITTED_AT}.csv", index=False, encoding="cp1252")
    publish("resubmitted", full=True)
    # The spreadsheets of run 3 are read after run 4 has filed the release under releases/.
    snapshots["resubmitted"]["spreadsheets"] = {
        w: _keep(p, tmp / "resubmitted") for w, p in snapshots["resubmitted"]["spreadsheets"].items()}

    # An earlier cut-off excludes the resubmission again (it is dated 20 May 2024).
    cutoff = tmp / "cutoff.yaml"
    cutoff.write_text(OVERRIDE + 'cutoff: "2024-05-19"\n', encoding="utf-8")
    publish("cutoff", params_file=cutoff)
    return {"snapshots": snapshots, "council": council, "dropped": len(services[::3]), "seconds": seconds,
            "release": out / MONTH}


def test_first_release_has_nothing_to_compare(runs):
    first = runs["snapshots"]["first"]
    assert first["revisions"].empty
    assert list(first["revisions"].columns) == [
        "table", "reference_period", "area_level", "area_code", "area_name", "support_setting", "breakdown",
        "breakdown_value", "measure", "previous_value", "new_value", "previous_release"]
    assert all(frame.empty for frame in _revised_flags(first["tables"]).values())


def test_unchanged_rerun_revises_nothing(runs):
    first, again = runs["snapshots"]["first"], runs["snapshots"]["unchanged"]
    for name in NAMES:
        assert again["tables"][name].equals(first["tables"][name]), name
        assert set(again["tables"][name]["flags"]) == {"p"}, name
    assert again["revisions"].empty
    assert (runs["release"] / "qa" / "revisions.csv").exists()


def test_resubmission_flags_exactly_the_changed_cells(runs):
    before, after = runs["snapshots"]["unchanged"], runs["snapshots"]["resubmitted"]
    changed = _changed_cells(before["tables"], after["tables"])
    assert runs["dropped"] > 0 and changed, "the resubmission changed no published cell"
    # qa/revisions.csv lists exactly the cells whose published value changed, with old and new.
    assert _listed_cells(after["revisions"]) == changed
    assert after["revisions"]["previous_release"].str.fullmatch(rf"{MONTH} release of run \d{{8}}T\d{{6}}Z").all()
    # ... and exactly those cells are flagged p r.
    flagged = _revised_flags(after["tables"])
    for name in NAMES:
        keys = KEYS[name]
        listed = after["revisions"][after["revisions"]["table"] == name]
        flagged_keys = set(map(tuple, flagged[name][keys].to_numpy()))
        cell_columns = ["reference_period", "area_code"] + (["support_setting"] if "support_setting" in keys else [])
        listed_keys = set(map(tuple, listed[cell_columns + ["breakdown", "breakdown_value"]].to_numpy()))
        assert flagged_keys == listed_keys, name
        assert set(flagged[name]["flags"]) <= {"p r"}
    # One council changed: its cells, its region's, its ADASS region's and England's, nothing else.
    from cldstats import reference

    region = reference.councils().set_index("la_code").loc[runs["council"], "region_code"]
    adass = reference.adass_membership().set_index("la_code").loc[runs["council"], "adass_code"]
    lts = flagged["long_term_support"]
    assert set(lts["area_code"]) == {runs["council"], region, adass, "E92000001"}
    at_month_end = lts[(lts["reference_date"] == "2024-03-31") & (lts["support_setting"] == "All")
                       & (lts["breakdown"] == "All")]
    assert set(at_month_end["area_code"]) == {runs["council"], region, adass, "E92000001"}
    # Published values only: every old and new value is a published cell, never an unrounded count.
    counts = after["revisions"][after["revisions"]["measure"] == "value"]
    for column in ("previous_value", "new_value"):
        assert counts[column].str.fullmatch(r"\[[cxz]\]|0|\d*[05]").all(), column


def test_spreadsheets_agree_with_revisions_csv(runs):
    after = runs["snapshots"]["resubmitted"]
    revisions = after["revisions"]
    for workbook, sources in (("long_term_support", ("long_term_support", "long_term_support_rates")),
                              ("assessments", ("assessments", "assessments_rates"))):
        book = _workbook(after["spreadsheets"][workbook])
        sheetnames = list(book["_names"][0])
        here = revisions[revisions["table"].isin(sources)]
        flagged = sum(len(_revised_flags(after["tables"])[s]) for s in sources)
        notes = _text(book["Notes"])
        assert f"{flagged} cells in this workbook" in notes, workbook
        assert re.search(rf"compared with the {MONTH} release of run \d{{8}}T\d{{6}}Z", notes), workbook
        if here.empty:
            assert "Revisions" not in sheetnames
            continue
        assert "The Revisions table lists each revised figure" in notes
        assert sheetnames[-1] == "Revisions"
        assert "Revisions" in _text(book["Contents"])
        rows = book["Revisions"]
        start = next(i for i, row in enumerate(rows) if row[0] == "Period")
        sheet = pd.DataFrame(rows[start + 1:], columns=rows[start])
        assert len(sheet) == len(here), workbook
        expected = tables.revisions_frame(here.reset_index(drop=True),
                                          after["tables"][sources[0]].iloc[:, 0].unique())
        for column in ("Area code", "Figure", "Previous value", "Revised value"):
            assert sheet[column].tolist() == expected[column].tolist(), (workbook, column)
        # Numbers are stored as numbers, symbols as text.
        for value in sheet["Previous value"].tolist() + sheet["Revised value"].tolist():
            assert isinstance(value, int) or value in ("[c]", "[x]", "[z]"), value


def test_qa_report_shows_revisions_and_publication_report_does_not(runs):
    after = runs["snapshots"]["resubmitted"]
    page = after["qa_html"]
    flagged = sum(len(frame) for frame in _revised_flags(after["tables"]).values())
    assert f"{flagged:,} published cells are flagged [r]" in page
    assert 'id="revisions"' in page
    for row in after["revisions"].head(20).itertuples():
        assert f"<td>{row.area_name}</td><td>{row.area_code}</td>" in page
    assert page.count("<tr>") > len(after["revisions"].head(200))
    assert 'href="../qa/revisions.csv"' in page
    # The publication report says how many figures were revised, nothing more.
    assert f"Revised since the previous release [r]: {flagged:,} figures" in after["publication_html"]


def test_changed_cutoff_revises_the_cells_back(runs):
    resubmitted, cutoff = runs["snapshots"]["resubmitted"], runs["snapshots"]["cutoff"]
    changed = _changed_cells(resubmitted["tables"], cutoff["tables"])
    assert changed and _listed_cells(cutoff["revisions"]) == changed
    # Excluding the resubmission restores the release before it: the same cells, old and new swapped.
    back = {(t, m, *cell, new, old) for (t, m, *cell, old, new) in _listed_cells(resubmitted["revisions"])}
    assert changed == back
    for name in NAMES:
        assert cutoff["tables"][name].drop(columns="flags").equals(
            runs["snapshots"]["unchanged"]["tables"][name].drop(columns="flags")), name


def test_timing_is_reported(runs, capsys):
    with capsys.disabled():
        print("\npublish runs: " + ", ".join(f"{k} {v:.1f} s" for k, v in runs["seconds"].items())
              + f"; revised figures in the resubmission run: {len(runs['snapshots']['resubmitted']['revisions'])}")
