"""The submission store (cldstats.pipeline.store): keyed entries, atomic writes, concurrent runs, checks,
and what validation and publication read from it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from cldstats import cli, ingest
from cldstats.pipeline import validation
from cldstats.pipeline.store import CATALOGUE_COLUMNS, StoreContext, SubmissionStore, key_fingerprint
from cldstats.reference.params import load_params
from tests.helpers.paths import REPO
from tests.helpers.stand_ins import tables_only

SUITES = REPO / "expectations"


def _row(name: str, **extra) -> dict:
    return {"file": name, "la_code": "E06000001", "submitted_at": "2024-04-10 12:00:00", "period_start": "2023-04-01",
            "period_end": "2024-03-31", "outcome": "accepted", "rows_read": 3, "records": 3, "sha256": "ab" * 32,
            "bytes": 100, "key_fingerprint": "f" * 16, "context_digest": "c" * 64, "format_version": "1", **extra}


def _records() -> pa.Table:
    return pa.table({"la_code": ["E06000001"] * 3, "row_number": pa.array([2, 3, 4], pa.int32())})


def test_context_keys_change_with_the_bytes_the_name_the_key_and_the_params():
    params = load_params("2024-03", params_dir=REPO / "params")
    context = StoreContext.of_run(b"secret", params, SUITES)
    one = context.entry_id("ab" * 32, "E06000001_20240410T120000.csv")
    assert one == StoreContext.of_run(b"secret", params, SUITES).entry_id("ab" * 32, "E06000001_20240410T120000.csv")
    assert one != context.entry_id("ac" * 32, "E06000001_20240410T120000.csv")  # other bytes
    assert one != context.entry_id("ab" * 32, "E06000001_20240411T120000.csv")  # other name
    assert one != StoreContext.of_run(b"other", params, SUITES).entry_id("ab" * 32, "E06000001_20240410T120000.csv")
    stricter = {**params, "gate": {**params["gate"], "max_bad_start_date_share": 0.01}}
    assert one != StoreContext.of_run(b"secret", stricter, SUITES).entry_id("ab" * 32, "E06000001_20240410T120000.csv")
    # A params key only the publication reads does not change what is stored.
    rounding = {**params, "disclosure": {**params["disclosure"], "rounding_base": 10, "suppress_max": 9}}
    assert one == StoreContext.of_run(b"secret", rounding, SUITES).entry_id("ab" * 32, "E06000001_20240410T120000.csv")
    # The key's fingerprint is not the key and does not show it.
    assert key_fingerprint(b"secret") != key_fingerprint(b"other") and "secret" not in key_fingerprint(b"secret")


def test_put_is_once_and_the_catalogue_lists_every_entry(tmp_path):
    store = SubmissionStore(tmp_path / "store")
    first = store.put("e1", _row("a.csv"), {"outcome": "accepted"}, {}, _records())
    again = store.put("e1", _row("a.csv", outcome="rejected: other"), {"outcome": "rejected"}, {}, None)
    assert again.row == first.row and again.records_path is not None  # the stored entry is kept as it was
    store.put("e2", _row("b.csv", records=0), {"outcome": "rejected"}, {"summary": pd.DataFrame({"n": [1]})}, None)
    catalogue = store.refresh_catalogue()
    assert list(catalogue.columns) == list(CATALOGUE_COLUMNS)
    assert sorted(catalogue["file"]) == ["a.csv", "b.csv"] and store.verify() == []
    assert store.get("e2").quality()["summary"]["n"].tolist() == [1]


@pytest.mark.slow
def test_a_run_killed_while_storing_leaves_no_entry(tmp_path):
    """A real process killed (SIGKILL) between writing an entry's files and renaming its folder
    into place: no entry, the temporary folder is reported, and the next write removes it."""
    root = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, sys, time
        import pyarrow as pa
        from tests.unit.pipeline.test_store import _records, _row
        from cldstats.pipeline.store import SubmissionStore
        real_rename = os.rename
        def stall(src, dst):
            print("writing", flush=True)
            time.sleep(600)
        os.rename = stall
        SubmissionStore({str(root)!r}).put("killed", _row("a.csv"), {{"outcome": "accepted"}}, {{}}, _records())
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    store = SubmissionStore(root)
    assert store.get("killed") is None and store.entries_found() == []
    problems = store.verify()
    assert len(problems) == 1 and "temporary folder left by a run that did not finish" in problems[0]
    store.put("other", _row("b.csv"), {"outcome": "accepted"}, {}, _records())
    assert [p.name for p in store.entries.iterdir()] == ["other"]
    assert any("entry other not listed" in p for p in store.verify())  # the catalogue is behind ...
    store.refresh_catalogue()
    assert store.verify() == []  # ... until it is rebuilt, as every run that stores does


@pytest.mark.slow
def test_runs_storing_at_once_do_not_corrupt_the_store(tmp_path):
    """Four processes store 20 entries each, the same ids in two of them, refreshing the catalogue
    after each: every entry is whole and listed once."""
    root = tmp_path / "store"
    script = textwrap.dedent(f"""
        import sys
        from tests.unit.pipeline.test_store import _records, _row
        from cldstats.pipeline.store import SubmissionStore
        store = SubmissionStore({str(root)!r})
        group = int(sys.argv[1])
        for i in range(20):
            entry = f"e-{{i}}" if group < 2 else f"g{{group}}-{{i}}"
            store.put(entry, _row(f"{{entry}}.csv"), {{"outcome": "accepted"}}, {{}}, _records())
            store.refresh_catalogue()
    """)
    children = [subprocess.Popen([sys.executable, "-c", script, str(g)], cwd=REPO) for g in range(4)]
    assert [child.wait(timeout=300) for child in children] == [0, 0, 0, 0]
    store = SubmissionStore(root)
    catalogue = store.catalogue()
    assert len(catalogue) == catalogue["entry_id"].nunique() == 20 + 20 + 20  # e-* (stored by two runs), g2-*, g3-*
    assert store.verify() == []


def _small_folder(tmp_path: Path, councils: int = 3) -> Path:
    from cldstats.tools import synth

    data = tmp_path / "data"
    synth.generate(data, councils=councils, faults=False)
    return data


@pytest.mark.slow
def test_validation_reads_a_file_once_and_a_changed_file_again(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    data = _small_folder(tmp_path)
    params = load_params("2024-03", params_dir=REPO / "params")
    files = [p.name for p in ingest.list_submissions(data)][:5]
    first = validation.validate_folder(data, tmp_path / "one", params, workers=1, files=files)
    assert (first.ingested, first.from_store) == (5, 0) and first.store_dir == data / "store"
    second = validation.validate_folder(data, tmp_path / "two", params, workers=1, files=files)
    assert (second.ingested, second.from_store) == (0, 5)
    for name in ("submissions.csv", "exclusions.csv"):
        assert (tmp_path / "one" / "qa" / name).read_bytes() == (tmp_path / "two" / "qa" / name).read_bytes()
    # Submissions never change; a file whose bytes do is a new submission.
    changed = data / "submissions" / files[0]
    changed.write_bytes(changed.read_bytes() + b"\n")
    third = validation.validate_folder(data, tmp_path / "three", params, workers=1, files=files)
    assert (third.ingested, third.from_store) == (1, 4)
    assert len(SubmissionStore(data / "store").catalogue()) == 6  # the old content stays stored too


@pytest.mark.slow
def test_store_command_lists_and_verifies(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    data = _small_folder(tmp_path, councils=2)
    params = load_params("2024-03", params_dir=REPO / "params")
    files = [p.name for p in ingest.list_submissions(data)][:3]
    validation.validate_folder(data, tmp_path / "out", params, workers=1, files=files)
    assert cli.main(["store", "--data", str(data), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "3 stored submissions" in out and all(name in out for name in files) and "0 problems" in out
    changed = data / "submissions" / files[1]
    changed.write_bytes(changed.read_bytes() + b"\n")
    assert cli.main(["store", "--data", str(data)]) == 0  # without --verify nothing is re-hashed
    assert cli.main(["store", "--data", str(data), "--verify"]) == 1
    out = capsys.readouterr().out
    assert f"{files[1]} has changed since it was stored" in out and "1 problem" in out
    # A store with a part missing is reported without --verify.
    entry = next(p for p in (data / "store" / "entries").iterdir() if (p / "records.parquet").exists())
    (entry / "records.parquet").unlink()
    assert cli.main(["store", "--data", str(data)]) == 1
    assert "records.parquet missing" in capsys.readouterr().out


@pytest.mark.slow
def test_a_second_publication_reads_nothing_and_a_new_store_gives_the_same_tables(
    small_data_dir, small_run_params, small_reports, tmp_path, capsys
):
    """The shared small release was published with the store in its data folder: publishing the
    month again ingests 0 files and says so (summary line, run log, manifest); publishing it with a
    new, empty store gives byte-identical tables."""
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    arguments = ["publish", "--month", "2024-03", "--params", str(small_run_params), "--data", str(data)]
    # The command line in this process, without the stages after the tables (they read no store).
    with tables_only():
        assert cli.main([*arguments, "--out", str(tmp_path / "again")]) == 0
    again = capsys.readouterr().out
    window = json.loads((small_reports / "2024-03" / "manifest.json").read_text())["gate"]["submission_outcomes"]
    in_window = sum(window.values())
    assert f"submission store:   0 read and validated now, {in_window} from the store" in again
    manifest = json.loads((tmp_path / "again" / "2024-03" / "manifest.json").read_text())
    assert manifest["may_differ"]["submission_store"]["read_and_validated"] == 0
    assert manifest["may_differ"]["submission_store"]["from_store"] == in_window
    log = next((tmp_path / "again" / "logs").glob("2024-03-*.log")).read_text()
    assert f"0 read and validated now, {in_window} from the store" in log

    shutil.rmtree(data / "store")
    with tables_only():
        assert cli.main([*arguments, "--out", str(tmp_path / "fresh"), "--store", str(tmp_path / "new-store")]) == 0
    assert f"{in_window} read and validated now, 0 from the store" in capsys.readouterr().out
    for release in (tmp_path / "again", tmp_path / "fresh"):
        for table in sorted((small_reports / "2024-03" / "data").glob("*.csv")):
            digest = hashlib.sha256((release / "2024-03" / "data" / table.name).read_bytes()).hexdigest()
            assert digest == hashlib.sha256(table.read_bytes()).hexdigest(), (release.name, table.name)
        for table in sorted((small_reports / "2024-03" / "qa").glob("*_unrounded.csv")):
            assert (release / "2024-03" / "qa" / table.name).read_bytes() == table.read_bytes(), table.name
