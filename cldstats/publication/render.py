"""Run the release notebooks with papermill and render them to self-contained HTML.

Flow (DESIGN.md): ``params -> papermill -> notebooks/*.ipynb executed -> Quarto (or nbconvert) -> HTML``.

* :func:`run_notebooks` executes ``notebooks/<name>.ipynb`` for one release with papermill's Python
  API (explicit kernel, working directory and timeout) after :func:`check_parameters` has checked
  the parameters against the notebook's ``parameters`` cell (papermill itself only warns). The
  executed copies are the audit record: the published notebooks go to ``<release>/notebooks/``,
  the restricted QA notebook to ``<release>/qa/notebooks/`` (:data:`RESTRICTED`).
* :func:`render_html` turns the executed notebooks into ``<release>/html/*.html`` (published) and
  ``<release>/qa/qa.html`` (the restricted QA report): with Quarto when
  ``quarto`` is on PATH (project file ``reports/_quarto.yml``: ``execute: enabled: false``,
  ``echo: false``, ``embed-resources: true``), else with nbconvert's ``basic`` template (input
  cells and prompts removed) inside a small accessible page with the CSS inlined. Either way the
  file loads nothing from the network: charts are ``data:`` URIs written by :mod:`cldstats.publication.report`;
  Quarto is given every HTML output as a raw HTML cell (:func:`quarto_notebook`), so it has no
  reason to add require.js and jQuery from a CDN, and :func:`strip_network_loads` removes any
  such tag it adds all the same; no page is written while :func:`network_loads` finds anything.
  Each page's title names the publication and the month (:func:`page_title`), and a tiny inline
  script (:data:`PRINT_SCRIPT`) opens the chart descriptions for printing.
  The nbconvert output is byte-identical between two renders (and two executions of the same
  release) except the one line ``<p class="run-time">``.
* :func:`write_index` writes ``reports/index.html`` listing every release, newest first.

Kernels: :func:`run_notebooks` executes the notebooks at once (:data:`PARALLEL_NOTEBOOKS`), each
with papermill in a worker thread of its own and its own kernel, and owns each kernel manager
(papermill's ``km``). A kernel is shut down gracefully when its notebook is done; on Ctrl-C every
running kernel is killed at once and waited for before the interrupt goes on (a busy kernel asked
to shut down prints tracebacks on our stderr), with further Ctrl-Cs held meanwhile
(:func:`cldstats.core.errors.interrupts_held`).

Which notebook becomes which page (all four are rendered; the publication report links the two
topic pages, which hold the detailed tables):

================== ================================= =========================================
notebook           HTML (executed notebook)          audience
================== ================================= =========================================
publication        ``html/publication.html``         the publication report (published figures)
                   (``notebooks/publication.ipynb``)
long_term_support  ``html/long_term_support.html``   topic page, published figures
assessments        ``html/assessments.html``         topic page, published figures
data_quality       ``qa/qa.html``                    the QA report: restricted, quotes unrounded
                   (``qa/notebooks/...``)            data, so it stays under ``qa/``
================== ================================= =========================================

Unrounded figures exist only under ``qa/`` (docs/methodology.md section 7): DESIGN.md's output contract
put the QA report in ``html/`` and its notebook in ``notebooks/``; keeping them under ``qa/`` is a
deliberate refinement, so ``html/`` and ``notebooks/`` can be released as they are. The published
pages' navigation does not link the QA report; the QA report links the published pages
(``../html/<page>``).

Working directory: papermill runs each notebook with ``cwd = <release>.parent.parent`` (the
repository root for ``reports/<month>``) and passes ``release_dir`` relative to it, e.g.
``"reports/2024-03"``: the executed audit record then names the release the way a person would,
and the notebooks' default ``release_dir`` works when run by hand from the repository root.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from cldstats.core.errors import CldstatsError, interrupts_held, naming_path
from cldstats.reference import statements
from cldstats.reference.statements import MethodFacts

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
QUARTO_PROJECT = REPO / "reports" / "_quarto.yml"
CSS_FILE = REPO / "reports" / "cldstats.css"

#: Executed in this order: the QA report first, so a data problem shows there before anything else.
NOTEBOOKS = ("data_quality", "long_term_support", "assessments", "publication")

#: Notebooks executed at once by :func:`run_notebooks`: all of them. Each reads the release folder
#: and writes only its own executed copy, so none depends on another; the work is in the kernels
#: (separate processes), and four at once keep both cores busy while kernels start and import.
PARALLEL_NOTEBOOKS = len(NOTEBOOKS)

#: Notebooks whose executed copy and HTML are restricted: written under ``<release>/qa/``.
RESTRICTED = ("data_quality",)

#: The HTML file each notebook becomes (under ``<release>/html/``, or ``<release>/qa/`` if restricted).
HTML_NAMES = {
    "data_quality": "qa.html",
    "long_term_support": "long_term_support.html",
    "assessments": "assessments.html",
    "publication": "publication.html",
}

#: Page titles, also used in the index and the navigation between pages.
TITLES = {
    "publication": "Publication report",
    "long_term_support": "Long-term support",
    "assessments": "Assessments",
    "data_quality": "QA report (restricted)",
}

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: The publication every page belongs to: each page's ``<title>`` names it and the month.
PUBLICATION = "Adult social care client level data"

#: Opens every closed ``<details>`` (the chart descriptions) for printing and closes them again
#: afterwards: Chromium prints a closed ``<details>`` without its content. The print stylesheet
#: does the same through ``::details-content`` where a browser supports it; this covers the rest.
#: Inline and tiny: it loads nothing.
PRINT_SCRIPT = (
    "<script>\n"
    "(function () {\n"
    "  var opened = [];\n"
    "  window.addEventListener('beforeprint', function () {\n"
    "    opened = Array.prototype.slice.call(document.querySelectorAll('details:not([open])'));\n"
    "    opened.forEach(function (d) { d.open = true; });\n"
    "  });\n"
    "  window.addEventListener('afterprint', function () {\n"
    "    opened.forEach(function (d) { d.open = false; });\n"
    "    opened = [];\n"
    "  });\n"
    "}());\n"
    "</script>"
)


# Used if reports/cldstats.css is not shipped with an installed (non-editable) package.
_FALLBACK_CSS = "body{font-family:Arial,Helvetica,sans-serif;max-width:60rem;margin:0 auto;padding:1rem}"


# ---------------------------------------------------------------------------------------------
# Parameters and execution
# ---------------------------------------------------------------------------------------------


def check_parameters(notebook_path: Path, parameters: dict) -> None:
    """Fail unless ``parameters`` names exactly the notebook's parameters, all as strings.

    Parameters
    ----------
    notebook_path : Path
        A notebook with a cell tagged ``parameters``.
    parameters : dict
        The values papermill will inject.

    Raises
    ------
    CldstatsError
        Naming the notebook and every unknown, missing or non-string parameter; also when the
        notebook has no ``parameters`` cell.
    """
    import papermill

    notebook_path = Path(notebook_path)
    if not notebook_path.exists():
        raise CldstatsError(f"notebook {notebook_path} not found")
    declared = papermill.inspect_notebook(str(notebook_path))
    if not declared:
        raise CldstatsError(f"notebook {notebook_path.name} has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(declared))
    missing = sorted(set(declared) - set(parameters))
    not_strings = sorted(k for k, v in parameters.items() if not isinstance(v, str))
    problems = []
    if unknown:
        problems.append("unknown parameter(s) " + ", ".join(unknown))
    if missing:
        problems.append("missing parameter(s) " + ", ".join(missing))
    if not_strings:
        problems.append("parameter(s) not strings: " + ", ".join(
            f"{k}={parameters[k]!r} ({type(parameters[k]).__name__})" for k in not_strings))
    if problems:
        raise CldstatsError(f"notebook {notebook_path.name}: " + "; ".join(problems))


def executed_path(release_dir: Path, name: str) -> Path:
    """Where the executed copy of notebook ``name`` goes: ``<release>/notebooks/<name>.ipynb``, or
    ``<release>/qa/notebooks/<name>.ipynb`` for a restricted notebook (:data:`RESTRICTED`)."""
    folder = Path(release_dir) / ("qa/notebooks" if name in RESTRICTED else "notebooks")
    return folder / f"{name}.ipynb"


def _fix_injected_cell_id(path: Path) -> None:
    # papermill gives its injected-parameters cell a random id, which nbconvert writes into the
    # HTML (id="cell-id=..."): a fixed id keeps two executions' HTML identical.
    nb = nbformat.read(path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    if injected and any(c.get("id") != "injected-parameters" for c in injected):
        for number, cell in enumerate(injected):
            cell["id"] = "injected-parameters" + (f"-{number}" if number else "")
        nbformat.write(nb, path)


def notebook_parameters(
    release_dir: Path, month: str, *, change_threshold: str = "0.05", inside: bool = False
) -> dict[str, dict]:
    """The parameters each notebook gets for one release (see the module docstring for paths).

    With ``inside`` the notebooks run in the release folder itself and get ``release_dir = "."``:
    the executed notebooks then record the same parameters wherever the folder is built.
    """
    release_dir = Path(release_dir).resolve()
    relative = "." if inside else release_dir.relative_to(release_dir.parent.parent).as_posix()
    common = {"month": month, "release_dir": relative}
    return {name: dict(common, **({"change_threshold": change_threshold} if name == "data_quality" else {}))
            for name in NOTEBOOKS}


def run_notebooks(
    release_dir: Path,
    month: str,
    *,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    kernel_name: str = "cldstats",
    timeout: int = 600,
    progress: bool = True,
    change_threshold: str = "0.05",
    inside: bool = False,
    parallel: int = PARALLEL_NOTEBOOKS,
) -> list[Path]:
    """Execute every notebook of :data:`NOTEBOOKS` for one release with papermill.

    Parameters
    ----------
    release_dir : Path
        The release folder ``reports/<month>`` (or a build folder beside it) holding ``data/``,
        ``qa/``, ``charts/`` and ideally ``manifest.json`` (the QA report's gate section reads it).
    month : str
        Reference month ``"YYYY-MM"``.
    notebooks_dir : Path
        Where the source notebooks are.
    kernel_name : str
        Jupyter kernel (``make setup`` registers ``cldstats`` inside the virtual environment).
    timeout : int
        Seconds allowed per cell.
    progress : bool
        Show papermill's progress bar (one per notebook running).
    change_threshold : str
        The QA report's month-on-month change threshold, a share as a string.
    inside : bool
        Run in the release folder with ``release_dir = "."`` (what publish does: the folder is
        built under a temporary name and moved into place afterwards).
    parallel : int
        Notebooks executed at once, each in its own kernel (:data:`PARALLEL_NOTEBOOKS`); 1 runs
        them one after the other in :data:`NOTEBOOKS` order. The executed notebooks are the same.

    Returns
    -------
    list of Path
        The executed notebooks (:func:`executed_path`: ``<release>/notebooks/<name>.ipynb``, the QA
        notebook under ``<release>/qa/notebooks/``), in :data:`NOTEBOOKS` order.

    Raises
    ------
    CldstatsError
        Bad month or parameters, or a notebook failed: the message names the notebook (the first
        failing one in :data:`NOTEBOOKS` order), the failing cell and its error; the partly
        executed notebook is kept for inspection.
    OSError
        Writing an executed notebook failed (a full disk): the error names the notebook's path.
    KeyboardInterrupt
        Ctrl-C: raised once every running kernel has been killed and its process has ended, so no
        kernel outlives the run or runs on in a folder that is being removed.
    """
    import threading

    if not isinstance(month, str) or not MONTH.match(month):
        raise CldstatsError(f'month must be a "YYYY-MM" string, not {month!r}')
    if parallel < 1:
        raise CldstatsError(f"parallel must be at least 1 notebook, not {parallel!r}")
    release_dir = Path(release_dir).resolve()
    if not release_dir.is_dir():
        raise CldstatsError(f"release folder {release_dir} not found")
    cwd = release_dir if inside else release_dir.parent.parent
    all_parameters = notebook_parameters(release_dir, month, change_threshold=change_threshold, inside=inside)
    runs = []
    for name in NOTEBOOKS:  # every notebook's parameters are checked before any kernel starts
        source = Path(notebooks_dir) / f"{name}.ipynb"
        check_parameters(source, all_parameters[name])
        runs.append(_NotebookRun(name, source, executed_path(release_dir, name), all_parameters[name]))
    slots = threading.BoundedSemaphore(parallel)
    stopping = threading.Event()
    settings = {"kernel_name": kernel_name, "cwd": cwd, "timeout": timeout, "progress": progress}
    threads = [threading.Thread(target=_execute_in_thread, args=(run, settings, slots, stopping),
                                name=f"notebook {run.name}", daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # a short wait: Ctrl-C reaches this (main) thread at once
    except BaseException:
        # Ctrl-C (or SystemExit) in this thread: each worker is interrupted inside its own event
        # loop, as Ctrl-C interrupts a single run, kills its kernel and waits for it; this thread
        # waits for all of them, holding further Ctrl-Cs, before the interrupt goes on.
        with interrupts_held():
            stopping.set()
            while any(thread.is_alive() for thread in threads):
                for run in runs:
                    if run.loop is not None:
                        run.loop.call_soon_threadsafe(_interrupt_if_executing, run)
                for thread in threads:
                    thread.join(0.2)
        raise
    for run in runs:  # NOTEBOOKS order: the QA report's failure first, as a single run would give it
        if run.error is not None:
            raise run.error from None
    return [run.target for run in runs]


class _NotebookRun:
    """One notebook of :func:`run_notebooks`, executed in a worker thread: its kernel manager, the
    thread's event loop (where an interrupt is raised), whether papermill is executing it, and how
    it ended (``error`` None: executed)."""

    def __init__(self, name: str, source: Path, target: Path, parameters: dict):
        self.name, self.source, self.target, self.parameters = name, source, target, parameters
        self.loop = None
        self.executing = False
        self.error: BaseException | None = None


def _interrupt_if_executing(run: _NotebookRun) -> None:
    # Called in the worker's own event loop (call_soon_threadsafe), so ``executing`` cannot change
    # under it: a KeyboardInterrupt raised by a loop callback leaves run_until_complete, exactly as
    # a Ctrl-C does in a single-threaded run; outside papermill (stopping the kernel) it does nothing.
    if run.executing:
        raise KeyboardInterrupt


def _execute_in_thread(run: _NotebookRun, settings: dict, slots, stopping) -> None:
    """Execute ``run``'s notebook in this (worker) thread with a kernel of its own; the outcome goes
    to ``run.error``. The kernel is stopped before the thread ends, killed at once when interrupted."""
    import papermill
    from jupyter_core.utils import ensure_event_loop
    from papermill.exceptions import PapermillExecutionError

    run.loop = ensure_event_loop()  # the loop papermill (nbclient's run_sync) runs in this thread
    with slots:
        if stopping.is_set():
            run.error = KeyboardInterrupt()
            return
        run.target.parent.mkdir(parents=True, exist_ok=True)
        kernel = _kernel_manager(settings["kernel_name"])
        interrupted = False
        try:
            run.executing = True
            with naming_path(run.target):
                # The kernel's working directory through nbclient's resources, not papermill's
                # ``cwd``: that one changes the whole process's directory, which threads share.
                papermill.execute_notebook(
                    str(run.source), str(run.target), parameters=run.parameters,
                    kernel_name=settings["kernel_name"], resources={"metadata": {"path": str(settings["cwd"])}},
                    execution_timeout=settings["timeout"], progress_bar=settings["progress"],
                    request_save_on_cell_execute=False, log_output=False, km=kernel,
                )
        except PapermillExecutionError as exc:
            run.error = CldstatsError(
                f"notebook {run.name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
                f"the partly executed notebook is {run.target}"
            )
        except OSError as exc:
            run.error = exc  # a file system error: the command line names its path
        except Exception as exc:  # kernel missing or dead, timeout: all mean the notebook did not run
            run.error = CldstatsError(f"notebook {run.name} did not run: {type(exc).__name__}: {exc}")
        except BaseException as exc:
            interrupted = True  # interrupted (run_notebooks' thread had Ctrl-C): the work is abandoned
            run.error = exc
        finally:
            run.executing = False
            _stop_kernel(kernel, now=interrupted)
        if run.error is None:
            try:
                with naming_path(run.target):
                    _fix_injected_cell_id(run.target)
            except Exception as exc:
                run.error = exc


def _kernel_manager(kernel_name: str):
    """A kernel manager that run_notebooks owns, and that remembers the clients made for it.

    papermill (nbclient) stops a kernel it started itself gracefully, even when interrupted: it
    asks the busy kernel to shut down, and the kernel, closing its sockets under a running cell,
    prints a traceback on our stderr (or, once publish has removed the build folder it runs in,
    one about its deleted working directory). Owning the manager lets :func:`_stop_kernel` end the
    kernel on our terms, before anything else happens to its folder.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _OwnedKernelManager(AsyncKernelManager):
        def client(self, **kwargs):
            made = super().client(**kwargs)
            self.made_clients.append(made)
            return made

    manager = _OwnedKernelManager(kernel_name=kernel_name)
    manager.made_clients = []
    return manager


def _stop_kernel(kernel, *, now: bool) -> None:
    """Stop ``kernel`` (killed at once when ``now``: interrupted), wait until its process has ended,
    close its clients' channels and settle what the interrupted execution left in the event loop.

    SIGINT is held meanwhile: a second Ctrl-C must not leave a kernel behind; it is delivered (as
    KeyboardInterrupt) once the kernel is gone.
    """
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    async def stop() -> None:
        if kernel.has_kernel:
            await kernel.shutdown_kernel(now=now)  # waits for the process to end (kills it if needed)
        for client in kernel.made_clients:
            client.stop_channels()

    with interrupts_held():
        loop = ensure_event_loop()
        loop.run_until_complete(stop())
        # An interrupt leaves nbclient's cell execution pending in the loop; cancel it and collect
        # its end, or asyncio prints "Task exception was never retrieved" when it is collected.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


# ---------------------------------------------------------------------------------------------
# Nothing from the network: find, strip and refuse
# ---------------------------------------------------------------------------------------------

#: A URL that reaches the network: ``http(s)``, ``ftp`` or ``ws(s)``, or protocol-relative ``//``.
_NETWORK_URL = re.compile(r"^\s*(?:(?:https?|ftp|wss?):)?//", re.I)
#: CSS that would fetch from the network: ``url(...)`` or ``@import "..."`` of such a URL.
_NETWORK_CSS = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:(?:https?|ftp):)?//""", re.I)
#: An ``@import`` rule of a network stylesheet, removed from ``<style>`` as a whole.
_NETWORK_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?\s*(?:(?:https?|ftp):)?//[^;]*;[ \t]*\n?""", re.I)
#: Attributes whose URL the browser fetches by itself (``href`` except on links a reader follows).
_LOADING_ATTRIBUTES = ("src", "href", "xlink:href", "poster", "data", "background", "manifest")
#: The AMD shim Quarto writes after require.js (``define('jquery', ...)``): without require.js it
#: throws, so it goes with it.
_JQUERY_SHIM = re.compile(r"""^\s*define\(\s*['"]jquery['"]\s*,\s*\[\]\s*,\s*function\s*\(\)\s*"""
                          r"""\{\s*return\s+window\.jQuery;?\s*\}\s*\)\s*;?\s*$""")


def _data_uri_text(uri: str) -> str:
    """The text a ``data:`` URI holds (base64 or percent-encoded); empty if it cannot be read."""
    header, _, payload = uri.partition(",")
    try:
        if header.lower().endswith(";base64"):
            raw = base64.b64decode(payload)
        else:
            raw = urllib.parse.unquote_to_bytes(payload)
    except ValueError:
        return ""
    return raw.decode("utf-8", errors="replace")


class _NetworkScan(HTMLParser):
    """One pass over a page: every network load it holds (``findings``), and the spans of the
    elements :func:`strip_network_loads` may remove (renderer boilerplate, never content): scripts
    and ``<link>`` elements from the network and the jQuery shim that needs them."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=False)
        self.page = page
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", page)]
        self.findings: list[str] = []
        self.removable: list[tuple[int, int]] = []
        self.style_contents: list[tuple[int, int]] = []
        self._raw: tuple | None = None  # the open <script> or <style>: (tag, start, content start, from network)
        self._text: list[str] = []
        self.feed(page)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    @staticmethod
    def _loads(tag: str, attrs: list[tuple[str, str | None]]) -> list[str]:
        found = []
        for name, value in attrs:
            value = value or ""
            if name == "href" and tag in ("a", "area"):
                continue  # a link the reader may follow, not a load
            if name in _LOADING_ATTRIBUTES and _NETWORK_URL.match(value):
                found.append(f'<{tag} {name}="{value[:100]}">')
            elif name in ("srcset", "imagesrcset") and any(_NETWORK_URL.match(c) for c in value.split(",")):
                found.append(f'<{tag} {name}="{value[:100]}">')
            elif name == "style" and _NETWORK_CSS.search(value):
                found.append(f'<{tag} style="{value[:100]}">')
            elif name == "href" and value.lower().startswith("data:text/css"):
                # A stylesheet embedded by the renderer can still import or point at the network.
                match = _NETWORK_CSS.search(_data_uri_text(value))
                if match:
                    found.append(f'<{tag} href="data:text/css..."> {match.group(0)[:100]}')
            elif (tag == "meta" and name == "content" and dict(attrs).get("http-equiv", "").lower() == "refresh"
                  and re.search(r"url\s*=\s*['\"]?\s*(?:(?:https?|ftp):)?//", value, re.I)):
                found.append(f'<meta http-equiv="refresh" content="{value[:100]}">')
        return found

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        end = start + len(self.get_starttag_text())
        self.findings += self._loads(tag, attrs)
        # Only an element whose own URL is the network is the renderer's and goes.
        from_network = any(_NETWORK_URL.match(value or "") for name, value in attrs if name in ("src", "href"))
        if tag in ("script", "style"):
            self._raw, self._text = (tag, start, end, from_network), []
        elif tag == "link" and from_network:
            self.removable.append((start, end))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):  # <script/> is not void in HTML, but close what we opened
            self._raw = None

    def handle_data(self, data):
        if self._raw:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self._raw or tag != self._raw[0]:
            return
        raw_tag, start, content_start, from_network = self._raw
        content_end = self._offset()
        end = self.page.index(">", content_end) + 1
        text = "".join(self._text)
        if raw_tag == "style":
            self.findings += [f"<style> {m.group(0)[:100]}" for m in _NETWORK_CSS.finditer(text)]
            self.style_contents.append((content_start, content_end))
        elif from_network or _JQUERY_SHIM.match(text):
            self.removable.append((start, end))
        self._raw = None


def network_loads(page: str) -> list[str]:
    """What a page would fetch from the network by itself, one short line each; empty if nothing.

    Checked: ``src``, ``href`` (not on ``<a>``/``<area>``: a link is the reader's choice),
    ``srcset``, ``poster``, ``data`` and the other loading attributes, ``<meta http-equiv=refresh>``,
    ``url(...)`` and ``@import`` in ``<style>`` and ``style=`` attributes; a network URL is
    ``http(s)``, ``ftp``, ``ws(s)`` or protocol-relative ``//``. ``data:`` URIs (the charts and the
    renderer's embedded scripts and styles) are not network loads.
    """
    return _NetworkScan(page).findings


def strip_network_loads(page: str) -> str:
    """``page`` without what a renderer adds from the network, its own content untouched.

    Removed: every ``<script src=...>`` and ``<link href=...>`` with a network URL (Quarto writes
    require.js and jQuery from a CDN into the head of every page with a ``text/html`` notebook
    output, and ``embed-resources`` cannot inline them offline), the jQuery ``define`` shim that
    needs require.js, and ``@import`` rules of network stylesheets in ``<style>``. Whatever else
    loads from the network is content and is left for :func:`network_loads` to report.
    """
    scan = _NetworkScan(page)
    pieces, position = [], 0
    cuts = sorted(scan.removable + [(start, end) for start, end in scan.style_contents
                                     if _NETWORK_IMPORT.search(page, start, end)])
    for start, end in cuts:
        if start < position:
            continue
        pieces.append(page[position:start])
        if (start, end) in scan.style_contents:
            pieces.append(_NETWORK_IMPORT.sub("", page[start:end]))
        elif page.startswith("\n", end) and (start == 0 or page[start - 1] == "\n"):
            end += 1  # the element was a line of its own: take the line
        position = end
    pieces.append(page[position:])
    return "".join(pieces)


def _write_page(path: Path, page: str, name: str | None = None) -> None:
    """Write a page only if it loads nothing from the network (whatever renderer wrote it); the
    error names the page as ``name`` (default: the file's name)."""
    loads = network_loads(page)
    if loads:
        raise CldstatsError(f"{name or path.name} would load {len(loads)} resource(s) from the network, "
                            f"first {loads[0]}: a report must be self-contained")
    path.write_text(page, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------


def _quarto_version(quarto: str) -> str:
    done = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _html_name(notebook: Path) -> str:
    return HTML_NAMES.get(notebook.stem, f"{notebook.stem}.html")


def _css() -> str:
    return CSS_FILE.read_text(encoding="utf-8") if CSS_FILE.exists() else _FALLBACK_CSS


def _report_notebook(path: Path) -> nbformat.NotebookNode:
    """The executed notebook as the reader sees it: no stderr streams (warnings stay in the audit
    record, not the report)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return nb


def _heading(nb: nbformat.NotebookNode, stem: str) -> str:
    if nb.metadata.get("title"):
        return str(nb.metadata["title"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return TITLES.get(stem, stem)


def page_title(heading: str, month: str | None = None) -> str:
    """A page's ``<title>``: its heading, the publication and the month, e.g. ``"People assessed –
    Adult social care client level data, March 2024"`` (a heading that already starts with the
    publication's name is not repeated: ``"Adult social care client level data: monthly
    statistics, March 2024"``)."""
    from cldstats.publication.report import fmt_month

    title = heading if heading.startswith(PUBLICATION) else f"{heading} – {PUBLICATION}"
    return f"{title}, {fmt_month(month)}" if month and MONTH.match(month) else title


def _title(nb: nbformat.NotebookNode, stem: str) -> str:
    month = ((nb.metadata.get("papermill") or {}).get("parameters") or {}).get("month")
    return page_title(_heading(nb, stem), month)


def _nav(current: str, names: list[str]) -> str:
    """Links between the pages of a release: a published page links the published pages only; the
    restricted QA report (under ``qa/``) links them as ``../html/<page>`` and itself."""
    items = []
    restricted = current in RESTRICTED
    for stem in names:
        if stem in RESTRICTED and stem != current:
            continue
        label = html.escape(TITLES.get(stem, stem))
        href = HTML_NAMES.get(stem, f"{stem}.html")
        if restricted and stem not in RESTRICTED:
            href = f"../html/{href}"
        if stem == current:
            items.append(f'<li><a href="{href}" aria-current="page">{label}</a></li>')
        else:
            items.append(f'<li><a href="{href}">{label}</a></li>')
    return '<nav aria-label="Reports of this release"><ul>' + "".join(items) + "</ul></nav>"


def _page(title: str, body: str, nav: str, css: str, run_line: str, *, restricted: bool) -> str:
    banner = ('<p class="restricted" role="note">Restricted: quotes unrounded figures for quality '
              "assurance. Not for publication.</p>" if restricted else "")
    header = f"<header>{nav}{banner}</header>\n" if nav or banner else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        '<a class="skip-link" href="#main">Skip to main content</a>\n'
        f"{header}"
        f'<main id="main">\n{body}\n</main>\n'
        f"<footer>\n{run_line}\n</footer>\n{PRINT_SCRIPT}\n</body>\n</html>\n"
    )


def _render_nbconvert(executed: list[Path], html_dir: Path, qa_dir: Path) -> str:
    import nbconvert
    from nbconvert import HTMLExporter

    # ``basic`` is the body without the page shell: the ``lab``/``classic`` shells load require.js
    # and MathJax from a CDN, which a self-contained report must not do.
    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        exclude_anchor_links=True, embed_images=True,
    )
    renderer = f"nbconvert {nbconvert.__version__}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_line = f'<p class="run-time">Rendered {stamp} by {html.escape(renderer)}.</p>'
    # Navigation in reading order: the publication report first, the restricted QA report last.
    order = ("publication", "long_term_support", "assessments", "data_quality")
    stems = sorted((p.stem for p in executed), key=lambda s: order.index(s) if s in order else len(order))
    css = _css()
    for path in executed:
        nb = _report_notebook(path)
        body, _ = exporter.from_notebook_node(nb)
        restricted = path.stem in RESTRICTED
        page = _page(_title(nb, path.stem), body, _nav(path.stem, stems), css, run_line, restricted=restricted)
        _write_page((qa_dir if restricted else html_dir) / _html_name(path), page)
    return renderer


def _html_fragment(output: dict) -> str | None:
    """The ``text/html`` of a display or result output, else None."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None
    fragment = (output.get("data") or {}).get("text/html")
    return "".join(fragment) if isinstance(fragment, list) else fragment


def quarto_notebook(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """The executed notebook as Quarto is given it: each ``text/html`` output becomes a raw HTML
    cell, and a front-matter cell sets the page title.

    Quarto's Jupyter engine writes ``<script src=...>`` tags for require.js and jQuery from a CDN
    into the head of any page whose notebook has a ``text/html`` or ``application/javascript``
    display output (``extractJupyterWidgetDependencies`` in Quarto's ``widgets.ts``); every
    fragment of :mod:`cldstats.publication.report` is such an output. A raw cell with ``raw_mimetype:
    text/html`` reaches the page as the same HTML (a ``{=html}`` block) and triggers nothing.
    Other outputs stay in their code cell. Ids are derived from the cell ids, so the scratch
    notebook, like the page, is the same on every run.
    """
    front_matter = f"---\npagetitle: {json.dumps(title, ensure_ascii=False)}\n---"  # a JSON string is YAML
    cells = [nbformat.v4.new_raw_cell(front_matter, id="front_matter")]
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        # Runs of HTML and of other outputs, in their order: each HTML output a raw cell, each
        # run of other outputs a code cell of its own (its code is hidden: ``echo: false``).
        numbered = list(enumerate(cell.get("outputs", [])))
        for is_html, run in itertools.groupby(numbered, key=lambda item: _html_fragment(item[1]) is not None):
            run = list(run)
            if is_html:
                cells += [nbformat.v4.new_raw_cell(_html_fragment(output), id=f"{cell.id}_html_{number}",
                                                   metadata={"raw_mimetype": "text/html"}) for number, output in run]
            else:
                code = nbformat.v4.new_code_cell(cell.source, id=f"{cell.id}_outputs_{run[0][0]}")
                code.metadata, code.outputs = cell.metadata, [output for _, output in run]
                cells.append(code)
    converted = nbformat.v4.new_notebook(metadata=nb.metadata, cells=cells)
    converted.nbformat, converted.nbformat_minor = nb.nbformat, max(nb.nbformat_minor, 5)
    return converted


def _render_quarto(quarto: str, executed: list[Path], html_dir: Path, qa_dir: Path) -> str:
    # Quarto renders a project: copy the project file, the CSS and the executed notebooks (under
    # their HTML names) into a scratch folder so nothing is written beside the audit record; the
    # pages are rendered into the scratch folder too and then written to their folders, the QA
    # report to ``qa_dir``, once nothing in them loads from the network.
    with tempfile.TemporaryDirectory(prefix="cldstats-quarto-") as scratch:
        project = Path(scratch) / "project"
        rendered = Path(scratch) / "html"
        project.mkdir()
        shutil.copy(QUARTO_PROJECT, project / "_quarto.yml")
        shutil.copy(CSS_FILE, project / CSS_FILE.name)
        for path in executed:
            nb = _report_notebook(path)
            nbformat.write(quarto_notebook(nb, _title(nb, path.stem)),
                           project / (Path(_html_name(path)).stem + ".ipynb"))
        # The same single declared run-time line as the nbconvert pages, and no other date: two
        # runs on the same inputs must give the same HTML apart from that line.
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        renderer = f"quarto {_quarto_version(quarto)}"
        (project / "run-time.html").write_text(
            f'<p class="run-time">Rendered {stamp} by {html.escape(renderer)}.</p>\n{PRINT_SCRIPT}\n',
            encoding="utf-8",
        )
        command = [quarto, "render", str(project), "--to", "html", "--no-execute",
                   "--output-dir", str(rendered), "-M", "include-after-body:run-time.html"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise CldstatsError("quarto render failed: " + " | ".join(tail))
        for path in executed:
            page = (rendered / _html_name(path)).read_text(encoding="utf-8")
            target = (qa_dir if path.stem in RESTRICTED else html_dir) / _html_name(path)
            _write_page(target, strip_network_loads(page))
    return renderer


def render_html(executed: list[Path], html_dir: Path, qa_dir: Path | None = None) -> str:
    """Render executed notebooks to self-contained HTML files in ``html_dir`` (and ``qa_dir``).

    Parameters
    ----------
    executed : list of Path
        Executed notebooks (from :func:`run_notebooks`); each becomes ``HTML_NAMES[stem]``.
    html_dir : Path
        Output folder of the published pages, usually ``<release>/html``; created if needed.
    qa_dir : Path, optional
        Output folder of the restricted QA report (:data:`RESTRICTED`); default ``html_dir``'s
        sibling ``qa`` (``<release>/qa``), so the QA report never lands among the published pages.

    Returns
    -------
    str
        The renderer that ran, ``"quarto <version>"`` or ``"nbconvert <version>"``, for the manifest.

    Raises
    ------
    CldstatsError
        A notebook is missing or Quarto failed.
    """
    executed = [Path(p) for p in executed]
    for path in executed:
        if not path.exists():
            raise CldstatsError(f"executed notebook {path} not found")
    html_dir = Path(html_dir)
    qa_dir = html_dir.parent / "qa" if qa_dir is None else Path(qa_dir)
    html_dir.mkdir(parents=True, exist_ok=True)
    if any(p.stem in RESTRICTED for p in executed):
        qa_dir.mkdir(parents=True, exist_ok=True)
    quarto = shutil.which("quarto")
    if quarto:
        return _render_quarto(quarto, executed, html_dir, qa_dir)
    return _render_nbconvert(executed, html_dir, qa_dir)


# ---------------------------------------------------------------------------------------------
# Index of releases
# ---------------------------------------------------------------------------------------------


def _links(release: Path, folder: str, pattern: str) -> list[str]:
    from cldstats.publication.report import file_label

    links = []
    for path in sorted((release / folder).glob(pattern)):
        href = f"{release.name}/{folder}/{path.name}"
        if folder in ("html", "qa"):
            stem = next((k for k, v in HTML_NAMES.items() if v == path.name), path.stem)
            label = TITLES.get(stem, path.stem)
        else:
            label = file_label(path)  # what, kind and size: a bare file name says neither
        links.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
    return links


def write_index(reports_dir: Path) -> Path:
    """Write ``reports_dir/index.html``: every ``YYYY-MM`` release, newest first, with links.

    Parameters
    ----------
    reports_dir : Path
        The reports folder holding ``<YYYY-MM>/`` releases.

    Returns
    -------
    Path
        The index file (self-contained: inline CSS, relative links only). Spreadsheets and CSV
        files are linked by what they hold, kind and size (:func:`cldstats.publication.report.file_label`).
    """
    from cldstats.publication.report import fmt_month

    reports_dir = Path(reports_dir)
    months = sorted((p for p in reports_dir.iterdir() if p.is_dir() and MONTH.match(p.name)), reverse=True)
    sections = []
    for release in months:
        manifest_path = release / "manifest.json"
        note = ""
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            gate = manifest.get("gate") or {}
            # The councils in England are reference data, the same whatever the run's params.
            councils = statements.councils_of_total(MethodFacts(), gate.get("councils_selected", "?"))
            note = (f"<p>Reference date {html.escape(str(manifest.get('reference_date', '')))}; "
                    f"{html.escape(councils)}."
                    + (" Synthetic data." if manifest.get("synthetic_data") else "") + "</p>")
        rows = []
        for label, folder, pattern in (("Reports", "html", "*.html"), ("Spreadsheets", "spreadsheets", "*.xlsx"),
                                       ("CSV files", "data", "*.csv"), ("Restricted", "qa", "qa.html")):
            links = _links(release, folder, pattern)
            if links:
                rows.append(f"<dt>{label}</dt><dd><ul>" + "".join(f"<li>{a}</li>" for a in links) + "</ul></dd>")
        files = "".join(rows) or "<dt>Files</dt><dd>none yet</dd>"
        sections.append(f'<section aria-labelledby="m-{release.name}"><h2 id="m-{release.name}">'
                        f"{html.escape(fmt_month(release.name))}</h2>{note}<dl>{files}</dl></section>")
    heading = f"{PUBLICATION}: releases"
    title = f"Releases – {PUBLICATION}" + (f", latest {fmt_month(months[0].name)}" if months else "")
    body = f"<h1>{html.escape(heading)}</h1>" + ("".join(sections) if sections else "<p>No releases yet.</p>")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = _page(title, body, "", _css(), f'<p class="run-time">Index written {stamp}.</p>', restricted=False)
    target = reports_dir / "index.html"
    tmp = target.with_name(f".index-{os.getpid()}.html.tmp")  # per process: two months may run at once
    _write_page(tmp, page, target.name)
    os.replace(tmp, target)  # readers never see a half-written index
    return target
