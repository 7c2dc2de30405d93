"""The submissions folder, entry by entry: every entry accounted for, nothing read twice.

* ``ingest.list_folder`` classifies every entry of a submissions folder from ``stat`` alone (a FIFO
  is never opened: opening one blocks), and ``ingest.is_synthetic`` reads the marker's content.
* End to end, the folder corpus (``malformed_corpus.build_folder_corpus``: an ``.xls``, a name
  ending in a space, directories, a FIFO, broken and looping symlinks, a file whose read fails, a
  ``chmod 000`` file, a tie, a note, an entry outside the month's window...) goes beside the good
  submissions of two synthetic councils, and the real ``cldstats validate`` and ``cldstats
  publish`` run on it side by side: every entry is a row of ``qa/submissions.csv`` with its
  outcome, the tie is a finding in the table, the QA report and the summary, the file that cannot
  be read does not crash the manifest (its digest is null, with the reason), and no personal value
  of the corpus reaches the reports.
* The publication run's row accounting stops the run (exit 2, one line naming the file) when a
  file's rows do not add up or an entry of the folder is not in the table.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from cldstats import cli, ingest
from cldstats.core.errors import CldstatsError
from cldstats.ingest.pseudonymise import KEY_ENV_VAR
from cldstats.measures import engine
from cldstats.measures import selection as select
from cldstats.pipeline import accounting, publish, store, validation, validation_workers
from cldstats.reference.params import load_params
from cldstats.tools import synth
from tests.helpers.malformed_corpus import FOLDER_MONTH, PERSONAL_VALUES, build_folder_corpus
from tests.helpers.paths import REPO
from tests.helpers.privacy import values_found

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

COUNCILS = 2
PARAMS = 'override:\n  reason: "test run on 4 of 153 councils"\nrelease_month_ends: 3\n'


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != KEY_ENV_VAR}


# ---------------------------------------------------------------------------------------------
# Listing a folder
# ---------------------------------------------------------------------------------------------
def _listed_within(data_dir: Path, seconds: float = 30) -> list[ingest.FolderEntry]:
    """``list_folder`` in a daemon thread: a listing that opened the FIFO would block, and the
    test fails instead of hanging."""
    found: list = []
    worker = threading.Thread(target=lambda: found.append(ingest.list_folder(data_dir)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert found, "list_folder did not return: did it open the FIFO?"
    return found[0]


def test_every_entry_is_listed_with_its_kind_without_opening_it(tmp_path):
    cases = build_folder_corpus(tmp_path / "submissions")
    entries = {e.name: e for e in _listed_within(tmp_path)}
    assert sorted(entries) == sorted(os.listdir(tmp_path / "submissions"))
    for case in cases:
        entry = entries[case.file_name]
        if case.outcome.startswith("rejected: ") and not case.outcome.startswith("rejected: unreadable"):
            assert entry.reason == case.outcome.removeprefix("rejected: "), case.description
            assert not entry.is_submission
        else:  # a submission file, read by ingest (which says when it cannot be read)
            assert entry.is_submission and entry.kind == "file", case.description
    assert entries["E06000001_20240415T090103.csv"].kind == "FIFO"
    # An entry named like a submission is placed in time and given to its council, whatever it is.
    xls = entries["E06000001_20240415T090100.xls"]
    assert (xls.la_code, str(xls.submitted_at)) == ("E06000001", "2024-04-15 09:01:00")
    assert entries["notes.txt"].submitted_at is None
    assert [p.name for p in ingest.list_submissions(tmp_path)] == sorted(
        name for name, e in entries.items() if e.is_submission)


def test_an_entry_removed_before_it_is_listed_again_is_gone(tmp_path):
    """Simulated: the file is removed between ``iterdir`` and ``stat``."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    doomed = folder / "E06000001_20240415T093000.csv"
    doomed.write_bytes(b"x")
    real_iterdir = Path.iterdir

    def iterdir_then_remove(self):
        listed = list(real_iterdir(self))
        doomed.unlink()
        return iter(listed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "iterdir", iterdir_then_remove)
        [entry] = ingest.list_folder(tmp_path)
    assert entry.kind == "gone" and "removed from the folder" in entry.reason


def test_a_file_removed_between_listing_and_reading_is_a_rejected_submission(tmp_path, monkeypatch):
    """Simulated: the folder is listed, then one file disappears before its batch is read (the
    size estimate and ingest both meet the missing file). Before the fix the size estimate raised
    FileNotFoundError and the run crashed."""
    monkeypatch.chdir(REPO)
    data = tmp_path / "data"
    synth.generate(data, councils=1, scale=0.005, start="2024-03", end="2024-04")
    doomed = sorted((data / "submissions").iterdir())[0]
    real_batches = validation_workers.file_batches

    def remove_then_batch(paths, workers):
        doomed.unlink()
        return real_batches(paths, workers)

    monkeypatch.setattr(validation, "file_batches", remove_then_batch)
    params = load_params(FOLDER_MONTH, params_dir=REPO / "params")
    run = validation.validate_folder(data, tmp_path / "out", params, workers=1)
    row = run.submissions_table.set_index("file").loc[doomed.name]
    assert row["outcome"].startswith(f"rejected: unreadable: {doomed.name}: cannot be opened (No such file")
    assert (row["rows_read"], row["selected"]) == (0, False)
    assert next(r for r in run.results if r.file == doomed.name).sha256 is None


# ---------------------------------------------------------------------------------------------
# The synthetic marker: its content decides
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "synthetic"),
    [(None, False), ('{"synthetic": true, "seed": 1}', True), ('{"synthetic": false}', False)],
)
def test_the_marker_content_decides(tmp_path, content, synthetic):
    if content is not None:
        (tmp_path / ingest.SYNTHETIC_MARKER).write_text(content, encoding="utf-8")
    assert ingest.is_synthetic(tmp_path) is synthetic


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('["synthetic"]', "does not say whether the data is synthetic"),
        ('{"seed": 2023}', "does not say whether the data is synthetic"),
        ('{"synthetic": "yes"}', "does not say whether the data is synthetic"),
        (b"\xff\xfe{", "cannot be read (not UTF-8 text)"),
        ("directory", "not a regular file"),
        ("fifo", "not a regular file"),
    ],
)
def test_a_bad_marker_is_one_line_naming_the_file(tmp_path, content, expected):
    marker = tmp_path / ingest.SYNTHETIC_MARKER
    if content == "directory":
        marker.mkdir()
    elif content == "fifo":
        os.mkfifo(marker)  # must not be opened: the read would block
    elif isinstance(content, bytes):
        marker.write_bytes(content)
    else:
        marker.write_text(content, encoding="utf-8")
    with pytest.raises(CldstatsError) as raised:
        ingest.is_synthetic(tmp_path)
    message = str(raised.value)
    assert str(marker) in message and expected in message and "\n" not in message


@pytest.fixture(scope="module")
def two_councils(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("two_councils")
    synth.generate(data, councils=COUNCILS)
    return data


def _real_by_marker(source: Path, target: Path, marker: str) -> Path:
    shutil.copytree(source / "submissions", target / "submissions")
    (target / "synthetic.json").write_text(marker, encoding="utf-8")  # the marker named in DESIGN.md
    return target


@pytest.mark.parametrize("command", ["validate", "publish"])
def test_a_false_marker_means_real_data_that_needs_a_key(command, two_councils, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    data = _real_by_marker(two_councils, tmp_path / "data", '{"synthetic": false}')
    argv = [command, "--data", str(data), "--out", str(tmp_path / "out")] + (
        ["--month", FOLDER_MONTH] if command == "publish" else [])
    assert cli.main(argv) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and KEY_ENV_VAR in line and '"synthetic": true' in line


@pytest.mark.parametrize("command", ["validate", "publish"])
def test_an_invalid_marker_stops_with_one_line(command, two_councils, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    data = _real_by_marker(two_councils, tmp_path / "data", "synthetic: yes")
    argv = [command, "--data", str(data), "--out", str(tmp_path / "out")] + (
        ["--month", FOLDER_MONTH] if command == "publish" else [])
    assert cli.main(argv) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and str(data / "synthetic.json") in line and "not valid JSON" in line


def test_synth_writes_a_marker_that_reads_as_synthetic(two_councils):
    assert json.loads((two_councils / "synthetic.json").read_text(encoding="utf-8"))["synthetic"] is True
    assert ingest.is_synthetic(two_councils)


# ---------------------------------------------------------------------------------------------
# Ties
# ---------------------------------------------------------------------------------------------
def test_same_time_files_name_each_other_within_a_council():
    catalogue = pd.DataFrame({
        "la_code": ["E1", "E1", "E1", "E2", None, None],
        "file": ["E1_a.csv", "E1_a.csv.gz", "E1_a.xlsx", "E2_a.csv", "x.csv", "y.csv"],
        "submitted_at": pd.to_datetime(["2024-04-15 09:30"] * 4 + [None, None]),
    })
    assert select.same_time_files(catalogue).tolist() == [
        "E1_a.csv.gz; E1_a.xlsx", "E1_a.csv; E1_a.xlsx", "E1_a.csv; E1_a.csv.gz", "", "", ""]


# ---------------------------------------------------------------------------------------------
# End to end: the folder corpus beside two councils, validated and published
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_folder(two_councils, tmp_path_factory):
    root = tmp_path_factory.mktemp("folder_corpus")
    data = root / "data"
    shutil.copytree(two_councils, data)
    cases = build_folder_corpus(data / "submissions")
    params = root / "params.yaml"
    params.write_text(PARAMS, encoding="utf-8")
    return data, cases, params


@pytest.fixture(scope="module")
def runs(corpus_folder):
    """``cldstats validate`` and ``cldstats publish`` on the corpus folder, side by side (a FIFO
    opened by either would block it until the timeout)."""
    data, _, params = corpus_folder
    out = data.parent
    argvs = {
        "validate": ["validate", "--month", FOLDER_MONTH, "--data", str(data), "--out", str(out / "validation")],
        "publish": ["publish", "--month", FOLDER_MONTH, "--params", str(params), "--data", str(data),
                    "--out", str(out / "reports")],
    }
    started = {name: subprocess.Popen([sys.executable, "-m", "cldstats", *argv], cwd=REPO, env=_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, argv in argvs.items()}
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=900)
        done[name] = (process.returncode, stdout, stderr)
    return done, {"validate": out / "validation", "publish": out / "reports" / FOLDER_MONTH}


def _ran(runs, command: str) -> tuple[str, Path]:
    """The stdout and output folder of a run that must have succeeded."""
    done, folders = runs
    status, stdout, stderr = done[command]
    assert status == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    return stdout, folders[command]


def _table(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "qa" / "submissions.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("command", ["validate", "publish"])
def test_every_entry_of_the_folder_is_in_the_table_with_its_outcome(command, runs, corpus_folder):
    data, cases, _ = corpus_folder
    _, folder = _ran(runs, command)
    table = _table(folder)
    assert sorted(table["file"]) == sorted(os.listdir(data / "submissions"))  # each entry once
    rows = table.set_index("file")
    for case in cases:
        expected = case.outcome if command == "validate" else case.month_outcome
        assert rows.loc[case.file_name, "outcome"].startswith(expected), (case.number, case.description)
        assert rows.loc[case.file_name, "tie_with"] == case.tie_with, case.description
    # Entries that are not submission files are never read: no rows, never selected.
    not_files = [c.file_name for c in cases if c.outcome.startswith("rejected: ")]
    assert (rows.loc[not_files, ["rows_read", "selected"]] == ["0", "False"]).all().all()
    if command == "publish":
        # The synthetic councils' files outside the window are listed too, not validated.
        outside = table[table["outcome"].str.startswith("not validated: ")]
        assert len(outside) >= 10 and (outside["rows_read"] == "0").all()


def test_the_tie_is_resolved_by_the_stated_rule_and_reported(runs, corpus_folder):
    _, cases, _ = corpus_folder
    tied = [c.file_name for c in cases if c.tie_with]
    assert len(tied) == 2
    chosen = max(tied)  # the rule: the file name sorting last (X.csv.gz over X.csv)
    assert select.TIE_RULE == "ties are resolved by file name: the name sorting last is chosen"
    for command in ("validate", "publish"):
        stdout, folder = _ran(runs, command)
        rows = _table(folder).set_index("file")
        assert rows.loc[chosen, "selected"] == "True" and rows.loc[min(tied), "selected"] == "False"
        # Both files keep their own validation results (a name stem would have given them one).
        for name in tied:
            assert (folder / "qa" / "validation" / f"{name}.json").is_file()
        tie_lines = [line for line in stdout.splitlines() if "tie:" in line]
        assert len(tie_lines) == 1 and all(name in tie_lines[0] for name in tied), stdout
        assert f"{chosen} was chosen ({select.TIE_RULE})" in tie_lines[0]
    report = html.unescape((folder / "qa" / "qa.html").read_text(encoding="utf-8"))
    line = next(x for x in re.findall(r"<li>([^<]*)</li>", report) if "same submission time" in x)
    assert all(name in line for name in tied) and f"{chosen} was chosen" in line


def test_the_qa_report_accounts_for_every_entry(runs, corpus_folder):
    data, cases, _ = corpus_folder
    stdout, release = _ran(runs, "publish")
    report = html.unescape((release / "qa" / "qa.html").read_text(encoding="utf-8"))
    table = _table(release)
    # The folder accounting table: its total is every entry of the folder.
    total = re.search(r"<t[hd][^>]*>Total</t[hd]>\s*<td class=\"num\">(\d+)</td>", report)
    assert total and int(total.group(1)) == len(os.listdir(data / "submissions")), "no Total row of entries"
    # Every rejected entry, with its reason, in the rejected table.
    for case in cases:
        if case.month_outcome.startswith("rejected: "):
            reason = table.set_index("file").loc[case.file_name, "outcome"].removeprefix("rejected: ")
            assert f"<td>{case.file_name}</td>" in report and reason in report, case.description
    # The command line's summary counts the entries and names the rejected files.
    assert f"folder entries:     {len(table)}, all listed in" in stdout
    assert re.search(rf"{(table['outcome'].str.startswith('not validated')).sum()} outside the month's window",
                     stdout)


def test_a_file_that_cannot_be_read_is_not_read_again_for_the_manifest(runs, corpus_folder):
    """Case 66 (a read that fails with EIO, as any user) and case 67 (chmod 000: unreadable unless
    root) are rejected at ingest; the manifest records the digest ingest computed, or null with
    the reason: before the fix, the manifest step hashed every input again and the run crashed."""
    data, cases, _ = corpus_folder
    _, release = _ran(runs, "publish")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    inputs = {entry["file"]: entry for entry in manifest["inputs"]}
    table = _table(release).set_index("file")
    in_window = set(table.index[~table["outcome"].str.startswith("not validated")])
    assert set(inputs) == in_window
    for name, entry in inputs.items():
        if entry["sha256"] is None:
            assert entry["not_hashed"] == table.loc[name, "outcome"]
        else:
            assert "not_hashed" not in entry
            assert entry["sha256"] == hashlib.sha256((data / "submissions" / name).read_bytes()).hexdigest()
    unreadable = [c.file_name for c in cases if c.month_outcome == "rejected: unreadable"]
    assert unreadable and all(inputs[name]["sha256"] is None for name in unreadable)
    assert all(inputs[c.file_name]["sha256"] is None for c in cases if c.outcome.startswith("rejected: ")
               and c.outcome != "rejected: unreadable" and c.file_name in inputs)


def test_no_personal_value_of_the_corpus_reaches_the_outputs(runs):
    _, folders = runs
    for command in ("validate", "publish"):
        _ran(runs, command)
        assert values_found(folders[command], PERSONAL_VALUES) == []


# ---------------------------------------------------------------------------------------------
# Row accounting stops a publication run that cannot account for every row and entry
# ---------------------------------------------------------------------------------------------
def _publish_in_process(data: Path, tmp_path: Path) -> Path:
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS, encoding="utf-8")
    out = tmp_path / "reports"
    # A store of its own: a test that changes what ingest or the store does must not be handed
    # another test's stored results.
    publish.publish_month(FOLDER_MONTH, params_file=params, data_dir=data, out_dir=out, progress=False,
                          store_dir=tmp_path / "store")
    return out


def test_a_row_lost_before_the_measures_stops_the_run(two_councils, tmp_path, monkeypatch):
    """Each stored file loses one record between ingest and the measures (simulated where the store
    writes the records): the rows the SQL counts no longer add up to the rows ingest read, and
    nothing is published. Before the check,
    ``rows_used`` was ``rows_read - rows_excluded`` and the run published without a word."""
    monkeypatch.chdir(REPO)
    real_table = store.records_table
    dropped = []

    def lose_a_row(*args, **kwargs):
        table = real_table(*args, **kwargs)
        dropped.append(table.num_rows)
        return table.slice(1)  # a record dropped on its way to the store

    monkeypatch.setattr(store, "records_table", lose_a_row)
    with pytest.raises(CldstatsError) as raised:
        _publish_in_process(two_councils, tmp_path)
    message = str(raised.value)
    assert dropped and raised.value.exit_code == 2 and "\n" not in message
    named = message.split(":")[0]
    assert named.startswith(str(two_councils / "submissions")) and "rows do not add up" in message
    assert "nothing was published" in message
    assert not (tmp_path / "reports" / FOLDER_MONTH).exists()


def test_a_miscount_by_the_sql_stops_the_run_naming_the_file(two_councils, tmp_path, monkeypatch):
    """The method's SQL counts one row used too many for every selected file (its row accounting
    step changed through monkeypatching): rows read no longer equal rows used plus rows excluded,
    and the run stops naming the first such file with its three counts, before any output is written."""
    monkeypatch.chdir(REPO)
    real_sql = engine.step_sql

    def one_too_many(step):
        text = real_sql(step)
        if step != "row_accounting":
            return text
        counted = "coalesce(sum(r.rows) FILTER (WHERE r.reason IS NULL), 0) AS rows_used"
        assert counted in text
        return text.replace(counted, counted.replace(", 0)", ", 0) + 1"))

    monkeypatch.setattr(engine, "step_sql", one_too_many)
    with pytest.raises(CldstatsError) as raised:
        _publish_in_process(two_councils, tmp_path)
    message = str(raised.value)
    assert raised.value.exit_code == 2 and "\n" not in message
    found = re.fullmatch(r"(.+): rows do not add up: ([\d,]+) read, ([\d,]+) used by the measures, "
                         r"([\d,]+) excluded( \(and \d+ more files\))?; nothing was published", message)
    assert found, message
    path = Path(found.group(1))
    assert path.parent == two_councils / "submissions" and path.is_file()
    read, used, excluded = (int(found.group(i).replace(",", "")) for i in (2, 3, 4))
    assert used + excluded == read + 1
    assert not (tmp_path / "reports" / FOLDER_MONTH).exists()
    assert not list((tmp_path / "reports").glob(f"*{FOLDER_MONTH}*/qa/submissions.csv"))


def test_the_row_accounting_check_runs_in_a_normal_publish(two_councils, tmp_path, monkeypatch):
    """A publication run checks rows read = rows used + rows excluded for every file of the folder,
    once, before qa/submissions.csv is written; the release then holds the checked counts."""
    monkeypatch.chdir(REPO)
    real_check = accounting.check_row_accounting
    checked = []

    def check(table, submissions_dir):
        assert not list((tmp_path / "reports").glob("**/qa/submissions.csv"))  # nothing written yet
        real_check(table, submissions_dir)
        checked.append(table.copy())

    monkeypatch.setattr(accounting, "check_row_accounting", check)
    out = _publish_in_process(two_councils, tmp_path)
    assert len(checked) == 1
    table = checked[0]
    assert sorted(table["file"]) == sorted(os.listdir(two_councils / "submissions"))
    selected = table[table["selected"]]
    assert len(selected) == COUNCILS and (selected["rows_used"] > 0).all()
    published = pd.read_csv(out / FOLDER_MONTH / "qa" / "submissions.csv")
    assert published[["file", "rows_read", "rows_used", "rows_excluded"]].equals(
        table[["file", "rows_read", "rows_used", "rows_excluded"]].astype({"rows_read": "int64", "rows_used": "int64",
                                                                           "rows_excluded": "int64"}))


def test_an_entry_that_appears_during_the_run_stops_it(two_councils, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    data = tmp_path / "data"
    shutil.copytree(two_councils, data)
    late = data / "submissions" / "E06000001_20240416T090000.csv"
    real_validate = validation.validate_folder

    def validate_then_a_file_arrives(*args, **kwargs):
        run = real_validate(*args, **kwargs)
        late.write_bytes(b"arrived during the run\n")
        return run

    monkeypatch.setattr(validation, "validate_folder", validate_then_a_file_arrives)
    with pytest.raises(CldstatsError) as raised:
        _publish_in_process(data, tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{late}: this entry of the submissions folder is not in qa/submissions.csv")
    assert raised.value.exit_code == 2 and "\n" not in message
    assert not (tmp_path / "reports" / FOLDER_MONTH).exists()
