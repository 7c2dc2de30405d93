"""Bad input end to end: broken files, bad invocations, failing file systems.

* The malformed-file corpus (``malformed_corpus.build_corpus``: 35 broken or awkward files of
  Hartlepool) goes into a data folder beside good synthetic submissions of 8 councils, and
  ``cldstats publish`` runs on it: the month publishes (exit 0), the summary says how many files were
  rejected, every other council's figures are those of a run without the corpus, every corpus file
  is accounted for in ``qa/submissions.csv`` and named in the QA reports, and no personal value of
  the corpus reaches the reports folder (logs included).
* A data folder holding only rejected files stops with one line and a non-zero exit.
* Each bad invocation (params file missing, not YAML or with an unknown key; a month that is not a
  month, before the collection or not over yet, or with no submissions in its window; a data folder
  that does not exist; real data without a pseudonymisation key; an output folder that cannot be
  written, a read-only or a full file system) exits non-zero with exactly one line on stderr naming
  the problem, and no traceback unless ``--debug``. So do unexpected errors: an OSError names its
  path (exit 2), anything else is an "internal error" (exit 1) whose message is not printed.

The two ``cldstats publish`` runs are started together as subprocesses (``python -m cldstats``) to
share the two cores, beside the baseline (the good submissions alone, published in-process without
workbooks, charts and notebooks); the quick error cases run through ``cli.main`` or a subprocess each.
"""

from __future__ import annotations

import datetime as dt
import errno
import gc
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cldstats import cli
from cldstats.ingest.pseudonymise import KEY_ENV_VAR
from cldstats.pipeline import publish, run_log
from cldstats.tools import synth
from tests.helpers.malformed_corpus import PERSONAL_VALUES, build_corpus
from tests.helpers.paths import REPO
from tests.helpers.privacy import values_found
from tests.helpers.stand_ins import tables_only

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH = "2024-03"
# Eight councils fail the coverage gate: the override says why. Three month ends instead of twelve
# make each run a third as long; what the corpus tests does not depend on the release's length.
PARAMS = 'override:\n  reason: "test run on 8 of 153 councils"\nrelease_month_ends: 3\n'
# Checks that ingest itself makes blocking (docs/methodology.md section 6): such a file is always rejected.
INGEST_BLOCKING = ("unreadable", "missing_columns", "no_rows")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV_VAR}
    env.update(extra)
    return env


def _cldstats(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cldstats", *argv], cwd=REPO, env=env or _env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------
# Data folders and the three publish runs
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture(scope="module")
def params_file(folder) -> Path:
    path = folder / "small.yaml"
    path.write_text(PARAMS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clean_data(folder) -> Path:
    data = folder / "clean"
    synth.generate(data, councils=8, start="2023-04", end="2024-03")  # the year MONTH needs
    return data


@pytest.fixture(scope="module")
def corpus(folder, clean_data):
    """The good submissions of 8 councils plus the corpus (submitted 15 April 2024: in the
    window of 2024-03, after its month end and before the 31 May cut-off)."""
    data = folder / "with_corpus"
    shutil.copytree(clean_data, data)
    cases = build_corpus(data / "submissions")
    assert len(cases) >= 25
    return data, cases


@pytest.fixture(scope="module")
def rejected_only(folder) -> Path:
    """Real (no synthetic.json) data whose every file fails ingest's blocking checks."""
    data = folder / "rejected_only"
    cases = build_corpus(data / "submissions")
    for case in cases:
        if case.check not in INGEST_BLOCKING:
            (data / "submissions" / case.file_name).unlink()
    assert len(list((data / "submissions").iterdir())) >= 10
    return data


def _publish_tables_only(data: Path, out: Path, params_file: Path) -> Path:
    """The month's published CSVs from ``data``, without workbooks, charts and notebooks (which do
    not change ``data/*.csv``): the baseline costs a third of a full run."""
    with tables_only(index=False):
        result = publish.publish_month(MONTH, params_file=params_file, data_dir=data, out_dir=out, progress=False)
    return result.release_dir


@pytest.fixture(scope="module")
def runs(folder, params_file, clean_data, corpus, rejected_only) -> dict[str, tuple[int, str, str, Path]]:
    """name -> (exit code, stdout, stderr, reports folder) of ``cldstats publish`` on the corpus
    and on the rejected files alone, run side by side; "clean" holds the baseline's release."""
    started = {}
    for name, data, env in (
        ("corpus", corpus[0], _env()),
        ("rejected_only", rejected_only, _env(**{KEY_ENV_VAR: "a test key, not a secret"})),
    ):
        out = folder / f"reports_{name}"
        started[name] = (out, _cldstats("publish", "--month", MONTH, "--params", str(params_file), "--data",
                                        str(data), "--out", str(out), env=env))
    try:
        baseline = _publish_tables_only(clean_data, folder / "reports_clean", params_file)
    finally:
        done = {}
        for name, (out, process) in started.items():
            stdout, stderr = process.communicate(timeout=900)
            done[name] = (process.returncode, stdout, stderr, out)
    done["clean"] = (0, "", "", baseline.parent)
    return done


@pytest.fixture(scope="module")
def corpus_release(runs) -> Path:
    status, stdout, stderr, out = runs["corpus"]
    assert status == 0, stderr[-3000:]
    return out / MONTH


@pytest.fixture(scope="module")
def submissions(corpus_release) -> pd.DataFrame:
    return pd.read_csv(corpus_release / "qa" / "submissions.csv", dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------------------------
# The corpus beside good data: the month publishes, nothing is lost, nothing personal leaks
# ---------------------------------------------------------------------------------------------
def test_the_month_publishes_and_the_summary_counts_the_rejected_files(runs, submissions):
    status, stdout, stderr, _ = runs["corpus"]
    assert status == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    selected = (submissions["selected"] == "True").sum()
    rejected = submissions.loc[submissions["outcome"].str.startswith("rejected"), "file"].tolist()
    assert len(rejected) >= 15
    assert stdout.startswith(f"Published {MONTH} in ")
    assert f"{selected} of 153 councils selected" in stdout
    assert re.search(rf"\b{len(rejected)} rejected\b", stdout), stdout
    assert rejected[0] in stdout  # the summary names rejected files (the rest: see qa/submissions.csv)


def test_every_other_council_publishes_as_without_the_corpus(runs, corpus_release, clean_data):
    clean_status, _, clean_err, clean_out = runs["clean"]
    assert clean_status == 0, clean_err[-3000:]
    councils = json.loads((clean_data / "synthetic.json").read_text(encoding="utf-8"))["councils"]
    assert len(councils) == 8 and "E06000001" not in councils

    def council_rows(release: Path) -> pd.DataFrame:
        table = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
        return table[table["area_code"].isin(councils)].reset_index(drop=True)

    with_corpus, without = council_rows(corpus_release), council_rows(clean_out / MONTH)
    pd.testing.assert_frame_equal(with_corpus, without)
    numbers = with_corpus[with_corpus["value"].str.fullmatch(r"\d+") & with_corpus["breakdown"].eq("All")]
    assert set(numbers["area_code"]) == set(councils)  # each council has figures, not just [x]


def test_every_corpus_file_is_accounted_for_with_its_outcome(corpus, submissions, corpus_release):
    _, cases = corpus
    rows = submissions.set_index("file")
    for case in cases:
        assert case.file_name in rows.index, case.description
        row = rows.loc[case.file_name]
        outcome = row["outcome"]
        assert outcome in ("accepted", "accepted with warnings") or re.fullmatch(r"rejected: \S.*", outcome), outcome
        if case.check in INGEST_BLOCKING:
            assert outcome.startswith(f"rejected: {case.check}"), (case.description, outcome)
        if outcome.startswith("rejected"):
            assert row["selected"] == "False" and row["rows_used"] == "0", case.description
    by_tag = {int(c.file_name[-6:-4]): c.file_name for c in cases if c.file_name.startswith("E06000001_")
              and c.file_name.endswith(".csv")}
    for tag, check in ((13, "la_code_mismatch"), (14, "reporting_period_inconsistent"), (16, "bad_start_dates"),
                       (17, "bad_start_dates")):
        assert rows.loc[by_tag[tag], "outcome"].startswith(f"rejected: {check}"), by_tag[tag]
    assert rows.loc["Hartlepool March return.csv", "outcome"].startswith("rejected: ")

    # Nothing silently lost, in every file of the window, good or bad.
    counts = submissions[["rows_read", "rows_used", "rows_excluded"]].astype(int)
    assert (counts["rows_read"] == counts["rows_used"] + counts["rows_excluded"]).all()
    exclusions = pd.read_csv(corpus_release / "qa" / "exclusions.csv")
    per_file = exclusions.groupby("file")["rows"].sum()
    excluded = counts.set_index(submissions["file"])["rows_excluded"]
    assert per_file.reindex(excluded.index, fill_value=0).tolist() == excluded.tolist()
    rejected_reasons = exclusions.loc[exclusions["reason"].str.startswith("submission rejected"), "file"]
    rejected_with_rows = submissions.loc[submissions["outcome"].str.startswith("rejected")
                                         & counts["rows_read"].gt(0), "file"]
    assert set(rejected_with_rows) <= set(rejected_reasons)


def _qa_report(release: Path) -> Path:
    """The restricted QA report, found by its title wherever it is written (qa/qa.html; html/qa.html
    before it moved under qa/)."""
    found = [
        p for p in sorted(release.rglob("*.html"))
        if "data_quality" not in p.parts and "releases" not in p.parts
        and re.search(r"<title>[^<]*quality assurance[^<]*</title>", p.read_text(encoding="utf-8"), re.I)
    ]
    assert len(found) == 1, found
    return found[0]


def test_every_bad_file_is_named_in_the_qa_reports(corpus, submissions, corpus_release):
    _, cases = corpus
    # Every corpus file in its council's data quality report (the unparseable name: "unknown").
    council_reports = " ".join(
        html.unescape(p.read_text(encoding="utf-8")) for p in (corpus_release / "qa" / "data_quality").glob("*.html")
    )
    assert [c.file_name for c in cases if c.file_name not in council_reports] == []
    # Every rejected file, with its reason, in the QA report the reviewers read.
    report = html.unescape(_qa_report(corpus_release).read_text(encoding="utf-8"))
    rejected = submissions[submissions["outcome"].str.startswith("rejected")]
    missing = [f for f in rejected["file"] if f not in report]
    assert missing == [], f"{len(missing)} rejected files not named in {_qa_report(corpus_release).name}"
    reasons = rejected["outcome"].str.extract(r"^rejected: (\w+)")[0].unique()
    assert [r for r in reasons if r not in report] == []


def test_no_personal_value_of_the_corpus_in_the_reports_folder(runs):
    _, _, _, out = runs["corpus"]
    assert list(out.rglob("*.log")), "the run log is part of what is scanned"
    # The corpus's values as sent, and as they could be re-spaced (943 476 5919, TS248AA, ZEBEDEE);
    # tests/e2e/test_artefact_guarantees.py scans a release for the synthetic input's personal data.
    values = set(PERSONAL_VALUES)
    values |= {f"{v[:3]} {v[3:6]} {v[6:]}" for v in PERSONAL_VALUES if v.isdigit() and len(v) == 10}
    values |= {v.replace(" ", "") for v in PERSONAL_VALUES} | {v.upper() for v in PERSONAL_VALUES}
    assert values_found(out, sorted(values)) == []
    _, _, _, rejected_out = runs["rejected_only"]
    assert values_found(rejected_out, sorted(values)) == []


def test_only_rejected_files_stop_the_run_with_one_line(runs):
    status, stdout, stderr, out = runs["rejected_only"]
    line = _last_line(stderr)
    assert status not in (0, 1), f"exit {status}: {line}"  # a reason for the user, not a crash
    assert "Traceback" not in stderr
    assert line.startswith("cldstats publish: ") and "rejected" in line and MONTH in line, line
    assert not (out / MONTH).exists()


# ---------------------------------------------------------------------------------------------
# Bad invocations: non-zero exit, one line naming the problem, traceback only with --debug
# ---------------------------------------------------------------------------------------------
def _month_after(today: dt.date, months: int) -> str:
    index = today.year * 12 + today.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.fixture(scope="module")
def bad_params(folder) -> dict[str, Path]:
    texts = {
        "bad_yaml": 'override:\n  reason: "unfinished\ngate: [\n',
        "unknown_key": "gate:\n  min_coverge: 0.5\n",
        # These type-check, and ended as "internal error" or published wrong figures.
        "no_month_ends": "release_month_ends: 0\n",
        "negative_month_ends": "release_month_ends: -3\n",
        "rounding_base_0": "disclosure:\n  rounding_base: 0\n",
        "misspelt_check": "gate:\n  blocking_checks: [unreadable, missing_column, no_rows]\n",
        # Ten lines that expand to 9**10 check names.
        "anchor_bomb": "gate:\n  blocking_checks:\n    - &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"    - &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)),
    }
    files = {}
    for name, text in texts.items():
        files[name] = folder / f"{name}.yaml"
        files[name].write_text(text, encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def real_data(folder, clean_data) -> Path:
    """One synthetic submission without the synthetic.json marker: real data, as far as cldstats knows."""
    data = folder / "real" / "submissions"
    data.mkdir(parents=True)
    first = sorted((clean_data / "submissions").glob("*.csv"))[-1]
    shutil.copy(first, data / first.name)
    return data.parent


CASES = {
    # name: (argv after "publish", texts the one line must contain). tests/e2e/test_publish.py has
    # --month 2024-13 and a missing params file through cli.main; here they run as a process.
    "missing params file": (["--params", "{folder}/nope.yaml"], ["params file not found", "nope.yaml"]),
    "params not YAML": (["--params", "{bad_yaml}"], ["bad_yaml.yaml", "not valid YAML", "quoted scalar (line 2"]),
    "unknown params key": (["--params", "{unknown_key}"], ["unknown_key.yaml", "'gate.min_coverge'"]),
    "no month ends": (["--params", "{no_month_ends}"],
                      ["no_month_ends.yaml: params key 'release_month_ends' must be a whole number from 1 to 24"]),
    "negative month ends": (["--params", "{negative_month_ends}"],
                            ["negative_month_ends.yaml: params key 'release_month_ends'", "got -3"]),
    "rounding base 0": (["--params", "{rounding_base_0}"],
                        ["rounding_base_0.yaml: params key 'disclosure.rounding_base' must be a whole number from 1"]),
    "misspelt blocking check": (["--params", "{misspelt_check}"],
                                ["misspelt_check.yaml: params key 'gate.blocking_checks' has an unknown check "
                                 "'missing_column' (did you mean 'missing_columns'?)"]),
    "YAML anchor bomb": (["--params", "{anchor_bomb}"],
                         ["anchor_bomb.yaml: YAML aliases (*a) are not allowed in params (line 4"]),
    "month in words": (["--month", "March"], ["--month 'March'", "YYYY-MM"]),
    "month before the collection": (["--month", "2023-03"], ["2023-03", "before the collection started"]),
    "month not over": (["--month", "{next_month}"], ["{next_month}", "has not ended"]),
    "month with no data": (["--month", "2026-09"], ["nothing can be published for 2026-09", "submissions"]),
    "data folder missing": (["--data", "{folder}/no_such_data"], ["no_such_data"]),
    "real data without a key": (["--data", "{real}"], [KEY_ENV_VAR, "synthetic.json"]),
    "out below a file": (["--out", "{params_file}/reports"], ["small.yaml/reports", "Not a directory"]),
    "out in /proc": (["--out", "/proc/cldstats-reports"], ["/proc/cldstats-reports"]),
}
SUBPROCESS = {"missing params file", "month in words", "month before the collection", "real data without a key",
              "no month ends", "YAML anchor bomb",
              "out below a file", "data folder missing"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_invocation_is_one_line_without_traceback(
    name, folder, params_file, clean_data, bad_params, real_data, capsys, monkeypatch
):
    values = {"folder": folder, "params_file": params_file, "real": real_data, **bad_params,
              "next_month": _month_after(dt.date.today(), 1)}
    argv, expected = CASES[name]
    argv = [a.format(**values) for a in argv]
    expected = [e.format(**values) for e in expected]
    defaults = {"--month": MONTH, "--params": str(params_file), "--data": str(clean_data),
                "--out": str(folder / "reports_errors")}
    for option, value in defaults.items():
        if option not in argv:
            argv += [option, value]
    if name in SUBPROCESS:
        process = _cldstats("publish", *argv)
        _, err = process.communicate(timeout=120)
        status = process.returncode
    else:
        monkeypatch.delenv(KEY_ENV_VAR, raising=False)
        status = cli.main(["publish", *argv])
        err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cldstats publish: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert not (folder / "reports_errors" / MONTH).exists()


def test_debug_shows_the_traceback_then_the_line(params_file, clean_data, folder):
    process = _cldstats("--debug", "publish", "--month", "2023-03", "--params", str(params_file), "--data",
                        str(clean_data), "--out", str(folder / "reports_errors"))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.startswith("Traceback (most recent call last):")
    assert "ParamsError" in err
    assert _last_line(err).startswith("cldstats publish: month 2023-03 is before the collection started")


def test_bad_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["publish", "--month"])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and err == (
        "cldstats publish: argument --month: expected one argument (see cldstats publish --help)"
    )


# ---------------------------------------------------------------------------------------------
# Unexpected errors: a file system error names its path; a bug says where, not what it quoted
# ---------------------------------------------------------------------------------------------
def _failing_publish(monkeypatch, exc: BaseException):
    def fail(*args, **kwargs):
        where = Path("/srv/reports/2024-03/data/long_term_support.csv")  # noqa: F841 - a path, not a file written
        raise exc

    monkeypatch.setattr(publish, "publish_month", fail)


@pytest.mark.parametrize(
    ("exc", "status", "line"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/srv/reports/.building/qa/x.json"), 2,
         "cldstats publish: No space left on device: /srv/reports/.building/qa/x.json"),
        # Naming no file, outside any writer (publish names what each stage writes): no path is guessed.
        (OSError(errno.ENOSPC, "No space left on device"), 2,
         "cldstats publish: No space left on device (OSError, no file named)"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/reports/.lock-2024-03"), 2,
         "cldstats publish: Permission denied: /srv/reports/.lock-2024-03"),
        (KeyboardInterrupt(), 130, "cldstats publish: interrupted"),
    ],
)
def test_system_errors_are_one_line(exc, status, line, monkeypatch, capsys):
    _failing_publish(monkeypatch, exc)
    assert cli.main(["publish"]) == status
    assert capsys.readouterr().err.strip() == line


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_is_an_internal_error_that_quotes_no_data(debug, monkeypatch, capsys):
    _failing_publish(monkeypatch, ValueError("invalid literal for int(): 'Zebedee 943 476 5919'"))
    assert cli.main(["--debug", "publish"] if debug else ["publish"]) == 1
    err = capsys.readouterr().err
    line = _last_line(err)
    assert re.fullmatch(
        r"cldstats publish: internal error: ValueError at cldstats/pipeline/publish\.py:\d+ \(run_cli\); "
        + ("the traceback is above" if debug else r"run again with --debug for the traceback"),
        line,
    ), line
    assert ("Traceback" in err) is debug
    if not debug:
        assert err.strip() == line and "Zebedee" not in err and "5919" not in err


def _full_file(folder: Path, name: str) -> Path:
    """``folder/name`` as a link to ``/dev/full``, where every write fails with ENOSPC (no file name
    in the error): a full disk for one file, without root."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/full")
    return path


# xlsxwriter leaves its zip file open after the failure; closing it when collected fails again.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_workbook_on_a_full_disk_is_a_file_system_error_naming_it(tmp_path, monkeypatch, capsys):
    """xlsxwriter wraps the OSError in its own FileCreateError (an "internal error" before), and
    copies its temporary parts (open for reading) into the file that fills the disk."""
    import xlsxwriter

    from cldstats.core.errors import naming_path

    workbook_path = _full_file(tmp_path / "spreadsheets", "long_term_support.xlsx")

    def write_workbook(*args, **kwargs):
        with naming_path(tmp_path / "spreadsheets"):
            workbook = xlsxwriter.Workbook(str(workbook_path))
            workbook.add_worksheet().write(0, 0, "x" * 1000)
            workbook.close()

    monkeypatch.setattr(publish, "publish_month", write_workbook)
    assert cli.main(["publish"]) == 2
    assert capsys.readouterr().err.strip() == f"cldstats publish: No space left on device: {workbook_path}"
    gc.collect()  # the open zip file is collected here, under this test's warning filter


@pytest.mark.parametrize("writes", ["file", "folder"])
def test_a_write_on_a_full_disk_names_the_file_being_written(writes, tmp_path):
    from cldstats.core.errors import naming_path

    full = _full_file(tmp_path / "charts", "chart.png")
    source = tmp_path / "source.txt"
    source.write_text("read, not written")
    with pytest.raises(OSError) as caught:
        with naming_path(full if writes == "file" else tmp_path / "charts"), source.open() as read:
            with full.open("wb") as written:
                written.write(read.read().encode() * 10000)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(full)


def test_a_run_log_that_cannot_be_written_stops_the_run_naming_the_log(tmp_path, capsys):
    log_file = _full_file(tmp_path / "logs", "2024-03-run.log")
    with pytest.raises(OSError) as caught:
        with run_log.run_log(log_file, to_stderr=False):
            run_log.LOG.info("stage start: charts")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(log_file)
    assert "Logging error" not in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Real file systems refusing writes (Linux, root: a private mount namespace, nothing left behind)
# ---------------------------------------------------------------------------------------------
def _in_private_mount(mount_options: str, target: Path, argv: list[str]) -> subprocess.CompletedProcess:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("needs Linux unshare")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a mount namespace here (not root?)")
    target.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o {mount_options} tmpfs "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(target), sys.executable,
         "-m", "cldstats", *argv],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("reports", "cannot create the reports folder {target}/reports: Read-only file system"),
        ("", "the reports folder {target} is not writable"),
    ],
    ids=["out below a read-only mount", "out is a read-only mount"],
)
def test_read_only_output_folder(out, expected, folder, params_file, clean_data):
    target = folder / f"read_only_{out or 'root'}"
    done = _in_private_mount("ro,size=1m", target, ["publish", "--month", MONTH, "--params", str(params_file), "--data",
                                                    str(clean_data), "--out", str(target / out)])
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == "cldstats publish: " + expected.format(target=target)


def test_full_disk_names_the_file_it_was_writing(folder, params_file, clean_data):
    target = folder / "full_disk"
    done = _in_private_mount("size=192k", target, ["publish", "--month", MONTH, "--params", str(params_file), "--data",
                                                   str(clean_data), "--out", str(target / "reports")])
    line = _last_line(done.stderr)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Logging error" not in done.stderr
    assert re.fullmatch(rf"cldstats publish: No space left on device: {re.escape(str(target))}/reports/\S+", line), line


# The disk fills during a chosen stage: the run is started in a private mount namespace on a tmpfs,
# frozen (SIGSTOP) when the stage starts, the tmpfs filled to the last byte from outside (through
# /proc/<pid>/root), and let go. Both writers below failed without naming a path (xlsxwriter's
# wrapped OSError even as an "internal error"): the one line must name the file being written.
FULL_DURING = {
    "accessible spreadsheets": r"spreadsheets/\w+\.(?:xlsx|ods)",
    "notebooks (papermill)": r"(?:qa/)?notebooks/\w+\.ipynb",
}
#: The workbooks are written in the run's second process (cldstats.pipeline.background) while the run writes
#: the CSV files and charts: a full disk is met by whichever writes first, and the run must name
#: that stage and the file it was writing.
BESIDE = {
    "accessible spreadsheets": {"write tables and QA outputs": r"(?:data|qa)/[\w.]+\.(?:csv|json)",
                                "charts": r"charts/[\w.-]+\.(?:png|svg|json)"},
}


@pytest.fixture(scope="module")
def disk_filled_during(folder, params_file, clean_data) -> dict[str, tuple[int, list[str], str]]:
    """stage -> (exit code, stderr lines, mount point) of a run whose disk filled in that stage;
    the runs go side by side."""
    import signal
    import threading
    import time

    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("needs Linux unshare")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a mount namespace here (not root?)")
    runs = {}
    for number, stage in enumerate(FULL_DURING):
        target = folder / f"full_during_{number}"
        target.mkdir()
        script = 'mount -t tmpfs -o size=300m tmpfs "$1" && shift && exec "$@"'
        # unshare and sh exec into python: the process is the run itself, in the new namespace.
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(target),
             sys.executable, "-m", "cldstats", "publish", "--month", MONTH, "--params", str(params_file),
             "--data", str(clean_data),
             "--out", str(target / "reports")],
            cwd=REPO, env=_env(PYTHONUNBUFFERED="1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda s=process.stderr, out=lines: out.extend(
            raw.decode("utf-8", errors="replace").rstrip() for raw in iter(s.readline, b"")), daemon=True)
        reader.start()
        runs[stage] = (process, lines, reader, target)
    waiting, deadline = set(runs), time.monotonic() + 600
    while waiting and time.monotonic() < deadline:
        for stage in sorted(waiting):
            process, lines, _, target = runs[stage]
            if any(line.endswith(f"stage start: {stage}") for line in list(lines)):
                os.kill(process.pid, signal.SIGSTOP)
                try:
                    with open(f"/proc/{process.pid}/root{target}/filler", "wb") as filler:
                        while True:
                            filler.write(bytes(1 << 20))
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                finally:
                    os.kill(process.pid, signal.SIGCONT)
                waiting.discard(stage)
            elif process.poll() is not None:
                waiting.discard(stage)  # ended before the stage: the test below says how
        time.sleep(0.1)
    done = {}
    for stage, (process, lines, reader, target) in runs.items():
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        done[stage] = (process.returncode, lines, str(target))
    return done


@pytest.mark.parametrize("stage", sorted(FULL_DURING))
def test_disk_full_during_a_stage_names_the_file_it_was_writing(stage, disk_filled_during):
    status, lines, target = disk_filled_during[stage]
    stderr = "\n".join(lines)
    assert any(line.endswith(f"stage start: {stage}") for line in lines), stderr[-3000:]
    assert status == 2, stderr[-3000:]
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr[-3000:]
    failed = re.findall(r"ERROR stage failed: (.+?): OSError: No space left on device: (\S+)$", stderr, re.MULTILINE)
    assert len(failed) == 1, stderr[-3000:]
    (failed_stage, path), = failed
    written = {stage: FULL_DURING[stage], **BESIDE.get(stage, {})}
    assert failed_stage in written, stderr[-3000:]
    assert re.fullmatch(rf"{re.escape(target)}/reports/\.building-{MONTH}-[^/]+/{written[failed_stage]}", path), path
    # The one line says the same as the run log.
    assert _last_line(stderr) == f"cldstats publish: No space left on device: {path}"
