"""Reruns and faults: the same inputs give the same release; a killed run loses nothing.

* Determinism: a month published twice (once in this process, once by the command line in a fresh
  interpreter, so hash seeds differ) gives identical CSVs, JSON, charts, spreadsheet XML parts,
  notebook cells, HTML apart from its one run-time line, and manifests apart from ``may_differ``.
* Faults, with real processes: ``python -m cldstats publish`` is SIGKILLed during validation, during
  the spreadsheets and during the notebooks, in a reports folder that already holds a release. Each
  time the previous release must stay byte for byte what it was and no half-built release may be
  visible; the next run recovers (stale lock, build folders, a release left aside between the two
  renames of placement) and files the previous release under ``releases/``.
* Lock: a second run while the first holds the lock is refused (exit 4, one line naming the holder).
* Ctrl-C during the notebooks: exit 130 with one line, the kernel stopped (and waited for) before the
  build folder goes, no traceback from any child, the previous release intact; an interrupt at any
  moment of ``render.run_notebooks`` leaves no kernel running.

Runs share one synthetic dataset and one first release (module fixtures) to stay within a few minutes.
"""

from __future__ import annotations

import _thread
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from cldstats.pipeline import runlock
from tests.helpers.paths import REPO

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

ROOT = REPO
MONTH = "2024-03"
RUN_TIME = re.compile(r'<p class="run-time">.*</p>')
STAGE_VALIDATE = "ingest and validate (files in the month's window)"
STAGE_SPREADSHEETS = "accessible spreadsheets"
STAGE_NOTEBOOKS = "notebooks (papermill)"
ASIDE_FROM_A_KILL = f".replaced-{MONTH}-20240101T000000Z"

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _digests(folder: Path, *, skip: tuple[str, ...] = ("releases/",)) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path (earlier releases left out)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)
    }


def _manifest(release: Path) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def _descendants(pid: int) -> list[int]:
    children, found, todo = _children(), [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited, its parent just has not reaped it


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _default_sigint() -> None:
    """In the child before it runs cldstats: Ctrl-C back to its default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Publish:
    """``python -m cldstats publish`` in a subprocess whose stderr log is watched line by line."""

    def __init__(self, out: Path, data: Path, params: Path, *, own_group: bool = False):
        self.argv = [sys.executable, "-m", "cldstats", "publish", "--month", MONTH, "--params", str(params),
                     "--data", str(data), "--out", str(out)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # own_group: the run leads its own process group, as a command typed in a terminal does,
        # so that a Ctrl-C can be sent the way the terminal sends it (to the whole group).
        # With Ctrl-C's default action, as a shell starts a command: a test worker may itself run with
        # SIGINT ignored, which the run would inherit (Python keeps an ignored SIGINT ignored).
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=own_group, preexec_fn=_default_sigint)
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stderr, self.stderr), (self.proc.stdout, self.stdout))]
        for reader in self._readers:
            reader.start()
        self.orphans: dict[int, str] = {}
        # What an earlier killed run left, for checking this run's recovery.
        lock = out / f".lock-{MONTH}"
        self.stale_pid = json.loads(lock.read_text())["pid"] if lock.exists() else None
        self.stale_builds = sorted(p.name for p in out.glob(f".building-{MONTH}-*"))

    def _read(self, stream, lines: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._changed:
                lines.append(raw.decode("utf-8", errors="replace").rstrip())
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 240) -> None:
        """Block until a stderr line contains ``text``; fail if the run ends first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.stderr):
                if not self._readers[0].is_alive():  # stderr closed: the run has ended
                    pytest.fail(f"the run ended (exit {self.proc.wait(30)}) before {text!r}:\n"
                                + "\n".join(self.stderr[-20:]))
                if time.monotonic() > deadline:
                    pytest.fail(f"no {text!r} within {timeout} s:\n" + "\n".join(self.stderr[-20:]))
                self._changed.wait(0.5)

    def running_stages(self) -> list[str]:
        """The stages started and not finished, from the log lines so far, in the order they
        started (more than one when a stage runs in the second process beside the others)."""
        running: list[str] = []
        with self._changed:
            for line in self.stderr:
                if match := re.search(r"stage start: (.+)$", line):
                    running.append(match.group(1))
                else:
                    running = [stage for stage in running if f"stage done: {stage} in " not in line]
        return running

    def kill(self) -> list[str]:
        """SIGKILL the main process only (as the OOM killer would); returns the stages it was in."""
        self.orphans = {pid: _cmdline(pid) for pid in _descendants(self.proc.pid)}
        stage = self.running_stages()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=10)
        return stage

    def finish(self, timeout: float = 600) -> int:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return self.proc.returncode

    def assert_recovered(self) -> None:
        """This run took over the stale lock and removed the build folders of the killed run."""
        log = "\n".join(self.stderr)
        if self.stale_pid is not None:
            assert f"(pid {self.stale_pid} on " in log and "no longer running: taken over" in log, log
        for build in self.stale_builds:
            assert f"recovery: removed the build folder {build} of an interrupted run" in log, log

    def orphans_gone(self, timeout: float = 15) -> list[int]:
        """Wait for the killed run's child processes to end; returns (and ends) any left."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(p) for p in self.orphans):
            time.sleep(0.2)
        left = [p for p in self.orphans if _alive(p)]
        for pid in left:  # our own children: end them by pid so they cannot disturb later tests
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


# ---------------------------------------------------------------------------------------------
# Fixtures: one dataset, one first release (in this process), one reports folder to attack
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(small_data_dir) -> Path:
    return small_data_dir


@pytest.fixture(scope="module")
def params_file(small_run_params) -> Path:
    return small_run_params


@pytest.fixture(scope="module")
def first(small_reports) -> Path:
    """A first release, published through the command line (tests/conftest.py); tests copy it,
    never change it."""
    return small_reports / MONTH


@pytest.fixture(scope="module")
def original(first) -> dict[str, str]:
    return _digests(first)


@pytest.fixture(scope="module")
def attacked(first, tmp_path_factory) -> Path:
    """A reports folder holding a copy of the first release; the kill tests run against it."""
    out = tmp_path_factory.mktemp("attacked")
    shutil.copytree(first, out / MONTH)
    return out


def _assert_previous_release_intact(out: Path, original: dict[str, str]) -> None:
    release = out / MONTH
    assert _digests(release, skip=()) == original, "the previous release changed"
    # The manifest's own record of the outputs agrees with the bytes.
    manifest = _manifest(release)
    for name, digest in {**manifest["outputs"], **manifest["may_differ"]["outputs"]}.items():
        assert original[name] == digest, name
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible in ([MONTH, "logs"], [MONTH, "index.html", "logs"]), visible


def _assert_killed(run: Publish, out: Path, stage: list[str], expected: str) -> None:
    assert run.proc.returncode == -signal.SIGKILL
    assert expected in stage, f"killed in {stage!r}, meant {expected!r}"
    # The half-built release is hidden, and the lock the kernel released is left for the next run.
    assert list(out.glob(f".building-{MONTH}-*"))
    lock = json.loads((out / f".lock-{MONTH}").read_text(encoding="utf-8"))
    assert lock["pid"] == run.proc.pid
    # The run log survived the kill and ends where the run died.
    log = (out / lock["log_file"]).read_text(encoding="utf-8").splitlines()
    started = [n for n, line in enumerate(log) if line.endswith(f"stage start: {expected}")]
    assert started and not any(f"stage done: {expected} in " in line for line in log[started[-1]:]), log[-3:]
    if stage[-1] == expected:  # nothing else had started since: the log ends where the run died
        assert log[-1].endswith(f"stage start: {expected}"), log[-3:]
    assert run.orphans_gone() == [], "a child process of the killed run outlived it"
    # What the kill left on disk (shown with pytest -s): the lock, the hidden build, the log.
    (build,) = out.glob(f".building-{MONTH}-*")
    children = sorted("ipykernel" if "ipykernel" in c else c for c in run.orphans.values())
    print(f"\nkilled in {stage!r}: {sorted(p.name for p in out.iterdir())}; build folder holds "
          f"{sum(1 for p in build.rglob('*') if p.is_file())} files in {sorted(p.name for p in build.iterdir())}; "
          f"child processes at the kill: {children}")


# ---------------------------------------------------------------------------------------------
# 1. Deterministic outputs
# ---------------------------------------------------------------------------------------------


def test_same_inputs_give_the_same_release(first, data_dir, params_file, tmp_path):
    run = Publish(tmp_path, data_dir, params_file)
    assert run.finish() == 0, "\n".join(run.stderr[-20:])
    second = tmp_path / MONTH
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    today = time.strftime("%Y-%m-%d", time.gmtime())
    checked = {"bytes": 0, "xlsx": 0, "html": 0, "ipynb": 0, "manifest": 0}
    for name in files:
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(first / name) as za, zipfile.ZipFile(second / name) as zb:
                assert za.namelist() == zb.namelist(), name
                for member in za.namelist():
                    part = za.read(member)
                    assert part == zb.read(member), f"{name}: {member}"
                    assert today.encode() not in part, f"{name}: {member} holds today's date"
                core = za.read("docProps/core.xml").decode("utf-8")
                assert {za.getinfo(m).date_time[0] for m in za.namelist()} == {1980}  # xlsxwriter's fixed stamp
            assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]+)<", core) == ["2024-06-14T00:00:00Z"] * 2
            checked["xlsx"] += 1
        elif name.endswith(".html") and RUN_TIME.search(a.decode("utf-8")):
            # A rendered report: identical apart from its one declared run-time line.
            text_a, text_b = a.decode("utf-8"), b.decode("utf-8")
            assert len(RUN_TIME.findall(text_a)) == 1, f"{name}: one run-time line"
            assert RUN_TIME.sub("", text_a) == RUN_TIME.sub("", text_b), name
            assert name in json.loads((first / "manifest.json").read_text())["may_differ"]["outputs"]
            checked["html"] += 1
        elif name.endswith(".ipynb"):
            # The audit record's cells (sources, outputs, ids) repeat; only papermill's execution
            # times and paths in the metadata may differ.
            def cells(raw: bytes) -> list:
                return [{k: v for k, v in c.items() if k != "metadata"} for c in json.loads(raw)["cells"]]

            assert cells(a) == cells(b), name
            checked["ipynb"] += 1
        elif name == "manifest.json":
            ma, mb = json.loads(a), json.loads(b)
            assert set(ma["may_differ"]) == {"run_id", "host", "pid", "started_at", "seconds", "argv", "log_file",
                                             "submission_store", "outputs"}
            assert ma.pop("may_differ")["run_id"] != mb.pop("may_differ")["run_id"]
            assert ma == mb
            checked["manifest"] += 1
        else:  # CSV, JSON, charts (PNG, SVG, alt text): byte for byte
            assert a == b, name
            checked["bytes"] += 1
    assert checked["xlsx"] == 4 and checked["html"] >= 4 and checked["ipynb"] == 4 and checked["manifest"] == 1
    assert {n for n in files if n.startswith("charts/") and n.endswith((".png", ".svg"))}


# ---------------------------------------------------------------------------------------------
# 2. Lock, kills, recovery
# ---------------------------------------------------------------------------------------------


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from cldstats.pipeline.runlock import MonthLock; "
         f"MonthLock(sys.argv[1], {MONTH!r}, details={{'run_id': 'r1'}}).acquire(); print('locked', flush=True); "
         "time.sleep(120)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(runlock.RunLocked, match=rf"pid {holder.pid} on .+ since \d{{4}}-") as refused:
            runlock.MonthLock(tmp_path, MONTH).acquire()
        assert refused.value.exit_code == 4
    finally:
        holder.kill()
        holder.wait()
    lock = runlock.MonthLock(tmp_path, MONTH).acquire()
    assert lock.stale["pid"] == holder.pid and lock.stale["run_id"] == "r1"
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    lock.release()
    assert not lock.path.exists()


def test_killed_during_validation(attacked, data_dir, params_file, original):
    run = Publish(attacked, data_dir, params_file)
    run.wait_for(f"stage start: {STAGE_VALIDATE}")
    run.assert_recovered()
    time.sleep(0.2)
    stage = run.kill()
    _assert_killed(run, attacked, stage, STAGE_VALIDATE)
    _assert_previous_release_intact(attacked, original)


def test_second_run_refused_then_first_killed_during_spreadsheets(attacked, data_dir, params_file, original):
    run = Publish(attacked, data_dir, params_file)
    run.wait_for(f"stage start: {STAGE_SPREADSHEETS}")
    run.assert_recovered()
    time.sleep(0.2)
    # Frozen (SIGSTOP) in the stage, the first run keeps its lock while the second one is refused.
    os.kill(run.proc.pid, signal.SIGSTOP)
    second = Publish(attacked, data_dir, params_file)
    assert second.finish(timeout=120) == 4
    err = [line for line in second.stderr if line.strip()]
    assert len(err) == 1, err
    assert re.fullmatch(
        rf"cldstats publish: another run is publishing {MONTH}: pid {run.proc.pid} on \S+ since "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(lock .+\); wait for it to finish", err[0]), err[0]
    stage = run.kill()
    _assert_killed(run, attacked, stage, STAGE_SPREADSHEETS)
    _assert_previous_release_intact(attacked, original)


def test_killed_during_notebooks_with_a_kernel_running(attacked, data_dir, params_file, original):
    run = Publish(attacked, data_dir, params_file)
    run.wait_for(f"stage start: {STAGE_NOTEBOOKS}")
    run.assert_recovered()
    deadline = time.monotonic() + 120
    while not any("ipykernel" in _cmdline(p) for p in _descendants(run.proc.pid)):
        assert time.monotonic() < deadline and run.proc.poll() is None, "no kernel started"
        time.sleep(0.2)
    time.sleep(1.0)
    stage = run.kill()
    assert any("ipykernel" in cmdline for cmdline in run.orphans.values()), run.orphans
    _assert_killed(run, attacked, stage, STAGE_NOTEBOOKS)
    _assert_previous_release_intact(attacked, original)


def test_next_run_recovers_and_keeps_the_previous_release(attacked, first, data_dir, params_file, original):
    # Also the worst moment of placement: killed between its two renames, the previous release
    # is only in the aside folder.
    (attacked / MONTH).rename(attacked / ASIDE_FROM_A_KILL)
    run = Publish(attacked, data_dir, params_file)
    assert run.finish() == 0, "\n".join(run.stderr[-20:])
    run.assert_recovered()
    release = attacked / MONTH
    previous_id = _manifest(first)["may_differ"]["run_id"]
    assert sorted(p.name for p in (release / "releases").iterdir()) == [previous_id]
    assert _digests(release / "releases" / previous_id, skip=()) == original
    assert not [p.name for p in attacked.iterdir() if p.name.startswith(".")]  # nothing left behind
    manifest = _manifest(release)
    # An unchanged rerun publishes the same figures (its notes name the release compared with).
    tables = {k: v for k, v in manifest["outputs"].items() if k.startswith("data/")}
    assert len(tables) == 4 and tables == {k: original[k] for k in tables}
    log = (attacked / manifest["may_differ"]["log_file"]).read_text(encoding="utf-8")
    assert f"restored the release {previous_id} from {ASIDE_FROM_A_KILL}" in log
    assert "published 2024-03" in log
    # The summary names the outcomes and the rejected files.
    out = "\n".join(run.stdout)
    counts = manifest["gate"]["submission_outcomes"]
    assert (f"{counts['accepted']} accepted, {counts['accepted with warnings']} accepted with warnings, "
            f"{counts['rejected']} rejected") in out
    import pandas as pd

    table = pd.read_csv(release / "qa" / "submissions.csv")
    for name in table.loc[table["outcome"].str.startswith("rejected"), "file"].head(5):
        assert name in out
    assert f"releases/{previous_id}" in out


# ---------------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------------
#: What stderr may show after a Ctrl-C: run log lines and papermill's progress bar; the one line last.
RUN_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?:INFO|WARNING|ERROR) .*")


def test_ctrl_c_during_notebooks_stops_the_kernel_before_the_build_goes(first, data_dir, params_file, original,
                                                                       tmp_path):
    out = tmp_path / "reports"
    # The Ctrl-C must fall while a kernel runs cells; on a fast machine the notebooks take a few
    # seconds, so a run that left the stage before the signal was sent is tried again (at most 3 times).
    for _attempt in range(3):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(first, out / MONTH)
        run = Publish(out, data_dir, params_file, own_group=True)
        run.wait_for(f"stage start: {STAGE_NOTEBOOKS}", timeout=600)
        deadline = time.monotonic() + 120
        while not any("ipykernel" in _cmdline(p) for p in _descendants(run.proc.pid)):
            assert time.monotonic() < deadline and run.proc.poll() is None, "no kernel started"
            time.sleep(0.1)
        time.sleep(0.5)  # the kernel is executing cells
        if run.proc.poll() is None and not any(f"stage done: {STAGE_NOTEBOOKS}" in line for line in run.stderr):
            break
        run.finish(timeout=120)
    else:
        pytest.fail("the notebooks ended before a Ctrl-C could be sent in 3 runs")
    children = {pid: _cmdline(pid) for pid in _descendants(run.proc.pid)}
    assert any("ipykernel" in cmdline for cmdline in children.values()), children
    seen = len(run.stderr)
    os.killpg(run.proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    status = run.finish(timeout=120)
    # At once, without waiting for an orphan to notice its parent has gone: the kernel was stopped.
    left = {pid: cmdline for pid, cmdline in children.items() if _alive(pid)}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert status == 130, "\n".join(run.stderr[-20:])
    assert left == {}, f"still running after the interrupted run ended: {left}"
    stderr = "\n".join(run.stderr)
    assert "Traceback" not in stderr and "Task exception" not in stderr and "Exception in" not in stderr, stderr
    after = [line for line in run.stderr[seen:] if line.strip()]
    assert after and after[-1] == "cldstats publish: interrupted", after
    # Nothing else on stderr, before the Ctrl-C either: e.g. no kernel warning about its transport.
    every_line = [line for line in run.stderr if line.strip()]
    unexpected = [line for line in every_line[:-1]
                  if not RUN_LOG_LINE.fullmatch(line) and not line.lstrip("\r").startswith("Executing:")]
    assert unexpected == [], unexpected
    assert [line for line in run.stderr if line.startswith("cldstats publish:")] == ["cldstats publish: interrupted"]
    # Nothing left behind: no build folder, no lock; the previous release byte for byte.
    assert not list(out.glob(".building-*")) and not (out / f".lock-{MONTH}").exists()
    _assert_previous_release_intact(out, original)
    (log,) = (out / "logs").glob(f"{MONTH}-*.log")
    assert log.read_text(encoding="utf-8").splitlines()[-1].endswith("ERROR run failed: KeyboardInterrupt")


def _kernels_running() -> list[int]:
    return [pid for pid in _descendants(os.getpid()) if "ipykernel" in _cmdline(pid) and _alive(pid)]


def _interrupt_when(condition, stop: threading.Event) -> None:
    """Interrupt the main thread (as Ctrl-C does) as soon as ``condition()`` holds."""
    while not stop.is_set():
        if condition():
            _thread.interrupt_main()
            return
        time.sleep(0.05)


def test_an_interrupt_at_any_moment_of_the_notebooks_leaves_no_kernel(first, tmp_path, capfd):
    """In this process, so that the interrupt can fall at chosen moments, each found by watching the
    kernels rather than by a fixed delay: while the first kernels start, while they run cells, and
    in a later notebook (one notebook at a time: after the first kernel has gone, the next runs)."""
    import gc

    from cldstats.publication import render

    release = tmp_path / MONTH
    shutil.copytree(first, release, ignore=shutil.ignore_patterns("releases", "html"))
    assert _kernels_running() == []
    # Python's own Ctrl-C handler, as in a terminal: a test worker may run with SIGINT ignored, and
    # then an interrupt of the main thread would be dropped.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_at_each_moment(render, release)
    finally:
        signal.signal(signal.SIGINT, previous)
    gc.collect()  # an abandoned asyncio task reports its exception when it is collected
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Task exception" not in err, err


def _interrupt_at_each_moment(render, release: Path) -> None:
    for moment in ("while the first kernels start", "while kernels run cells", "in a later notebook"):
        parallel = 1 if moment == "in a later notebook" else render.PARALLEL_NOTEBOOKS
        t0, seen = time.monotonic(), set()

        def condition(moment=moment, t0=t0, seen=seen) -> bool:
            if moment == "while the first kernels start":
                return time.monotonic() - t0 > 0.3
            seen.update(_kernels_running())
            return len(seen) >= (2 if moment == "in a later notebook" else 1)

        stop = threading.Event()
        watcher = threading.Thread(target=_interrupt_when, args=(condition, stop), daemon=True)
        watcher.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                render.run_notebooks(release, MONTH, progress=False, inside=True, parallel=parallel)
        finally:
            stop.set()
            watcher.join()
        assert _kernels_running() == [], f"a kernel outlived an interrupt {moment}"


# ---------------------------------------------------------------------------------------------
# The rename window, state by state
# ---------------------------------------------------------------------------------------------


def _fake_release(source: Path, target: Path, run_id: str) -> Path:
    shutil.copytree(source, target)
    manifest = _manifest(target)
    manifest["may_differ"]["run_id"] = run_id
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def test_recover_aside_without_release(first, original, tmp_path):
    shutil.copytree(first, tmp_path / f".replaced-{MONTH}-20990101T000000Z")
    (tmp_path / f".building-{MONTH}-20990101T000000Z-123").mkdir()
    (tmp_path / ".building-2024-04-20990101T000000Z-123").mkdir()  # another month: not ours
    (tmp_path / f".stopped-{MONTH}-20980101T000000Z").mkdir()  # a gate stop's QA outputs are kept
    actions = runlock.recover(tmp_path, MONTH)
    assert len(actions) == 2
    assert _digests(tmp_path / MONTH, skip=()) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".building-2024-04-20990101T000000Z-123", f".stopped-{MONTH}-20980101T000000Z", MONTH]


def test_recover_aside_beside_the_new_release(first, original, tmp_path):
    previous_id = _manifest(first)["may_differ"]["run_id"]
    aside = shutil.copytree(first, tmp_path / f".replaced-{MONTH}-20990101T000000Z")
    # The aside carries the month's history; the kill fell after one of it had been moved over.
    _fake_release(first, aside / "releases" / "20230101T000000Z", "20230101T000000Z")
    new = _fake_release(first, tmp_path / MONTH, "20990101T000000Z")
    _fake_release(first, new / "releases" / "20220101T000000Z", "20220101T000000Z")
    new_digests = _digests(new)
    runlock.recover(tmp_path, MONTH)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MONTH]
    assert _digests(new) == new_digests
    assert sorted(p.name for p in (new / "releases").iterdir()) == [
        "20220101T000000Z", "20230101T000000Z", previous_id]
    assert _digests(new / "releases" / previous_id, skip=()) == original
    assert runlock.recover(tmp_path, MONTH) == []  # nothing left to do


def test_release_run_id_reads_both_manifest_layouts(tmp_path):
    (tmp_path / "manifest.json").write_text('{"run": {"run_id": "20240101T000000Z"}}')
    assert runlock.release_run_id(tmp_path) == "20240101T000000Z"
    (tmp_path / "manifest.json").write_text('{"may_differ": {"run_id": "20250101T000000Z"}}')
    assert runlock.release_run_id(tmp_path) == "20250101T000000Z"
    (tmp_path / "manifest.json").unlink()
    assert runlock.release_run_id(tmp_path) == "previous"
