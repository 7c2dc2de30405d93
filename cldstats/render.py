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
  file loads nothing from the network: charts are ``data:`` URIs written by :mod:`cldstats.report`.
  The nbconvert output is byte-identical between two renders (and two executions of the same
  release) except the one line ``<p class="run-time">``.
* :func:`write_index` writes ``reports/index.html`` listing every release, newest first.

Kernels: :func:`run_notebooks` owns each notebook's kernel manager (papermill's ``km``). A kernel is
shut down gracefully when its notebook is done; on Ctrl-C it is killed at once and waited for
before the interrupt goes on (a busy kernel asked to shut down prints tracebacks on our stderr),
with further Ctrl-Cs held meanwhile (:func:`cldstats.errors.interrupts_held`).

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

Unrounded figures exist only under ``qa/`` (METHODOLOGY.md section 7): DESIGN.md's output contract
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

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat

from cldstats.errors import CldstatsError, interrupts_held, naming_path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
QUARTO_PROJECT = REPO / "reports" / "_quarto.yml"
CSS_FILE = REPO / "reports" / "cldstats.css"

#: Executed in this order: the QA report first, so a data problem shows there before anything else.
NOTEBOOKS = ("data_quality", "long_term_support", "assessments", "publication")

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
        Show papermill's progress bar.
    change_threshold : str
        The QA report's month-on-month change threshold, a share as a string.
    inside : bool
        Run in the release folder with ``release_dir = "."`` (what publish does: the folder is
        built under a temporary name and moved into place afterwards).

    Returns
    -------
    list of Path
        The executed notebooks (:func:`executed_path`: ``<release>/notebooks/<name>.ipynb``, the QA
        notebook under ``<release>/qa/notebooks/``), in :data:`NOTEBOOKS` order.

    Raises
    ------
    CldstatsError
        Bad month or parameters, or a notebook failed: the message names the notebook, the failing
        cell and its error; the partly executed notebook is kept for inspection.
    OSError
        Writing an executed notebook failed (a full disk): the error names the notebook's path.
    KeyboardInterrupt
        Ctrl-C: raised once the running kernel has been killed and its process has ended, so no
        kernel outlives the run or runs on in a folder that is being removed.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(month, str) or not MONTH.match(month):
        raise CldstatsError(f'month must be a "YYYY-MM" string, not {month!r}')
    release_dir = Path(release_dir).resolve()
    if not release_dir.is_dir():
        raise CldstatsError(f"release folder {release_dir} not found")
    cwd = release_dir if inside else release_dir.parent.parent
    all_parameters = notebook_parameters(release_dir, month, change_threshold=change_threshold, inside=inside)
    executed = []
    for name in NOTEBOOKS:
        source = Path(notebooks_dir) / f"{name}.ipynb"
        parameters = all_parameters[name]
        check_parameters(source, parameters)
        target = executed_path(release_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        kernel = _kernel_manager(kernel_name)
        interrupted = False
        try:
            with naming_path(target):
                papermill.execute_notebook(
                    str(source), str(target), parameters=parameters, kernel_name=kernel_name, cwd=str(cwd),
                    execution_timeout=timeout, progress_bar=progress, request_save_on_cell_execute=False,
                    log_output=False, km=kernel,
                )
        except PapermillExecutionError as exc:
            raise CldstatsError(
                f"notebook {name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
                f"the partly executed notebook is {target}"
            ) from None
        except OSError:
            raise  # a file system error: the command line names its path
        except Exception as exc:  # kernel missing or dead, timeout: all mean the notebook did not run
            raise CldstatsError(f"notebook {name} did not run: {type(exc).__name__}: {exc}") from None
        except BaseException:
            interrupted = True  # Ctrl-C (or SystemExit): the kernel's work is abandoned
            raise
        finally:
            _stop_kernel(kernel, now=interrupted)
        with naming_path(target):
            _fix_injected_cell_id(target)
        executed.append(target)
    return executed


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


def _title(nb: nbformat.NotebookNode, stem: str) -> str:
    if nb.metadata.get("title"):
        return str(nb.metadata["title"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return TITLES.get(stem, stem)


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
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        '<a class="skip-link" href="#main">Skip to main content</a>\n'
        f"<header>{nav}{banner}</header>\n"
        f'<main id="main">\n{body}\n</main>\n'
        f'<footer>\n{run_line}\n</footer>\n</body>\n</html>\n'
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
        ((qa_dir if restricted else html_dir) / _html_name(path)).write_text(page, encoding="utf-8")
    return renderer


def _render_quarto(quarto: str, executed: list[Path], html_dir: Path, qa_dir: Path) -> str:
    # Quarto renders a project: copy the project file, the CSS and the executed notebooks (under
    # their HTML names) into a scratch folder so nothing is written beside the audit record; the
    # pages are rendered into the scratch folder too and then moved, the QA report to ``qa_dir``.
    with tempfile.TemporaryDirectory(prefix="cldstats-quarto-") as scratch:
        project = Path(scratch) / "project"
        rendered = Path(scratch) / "html"
        project.mkdir()
        shutil.copy(QUARTO_PROJECT, project / "_quarto.yml")
        shutil.copy(CSS_FILE, project / CSS_FILE.name)
        for path in executed:
            nbformat.write(_report_notebook(path), project / (Path(_html_name(path)).stem + ".ipynb"))
        # The same single declared run-time line as the nbconvert pages, and no other date: two
        # runs on the same inputs must give the same HTML apart from that line.
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        renderer = f"quarto {_quarto_version(quarto)}"
        (project / "run-time.html").write_text(
            f'<p class="run-time">Rendered {stamp} by {html.escape(renderer)}.</p>\n', encoding="utf-8"
        )
        command = [quarto, "render", str(project), "--to", "html", "--no-execute",
                   "--output-dir", str(rendered), "-M", "include-after-body:run-time.html"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise CldstatsError("quarto render failed: " + " | ".join(tail))
        for path in executed:
            target = (qa_dir if path.stem in RESTRICTED else html_dir) / _html_name(path)
            shutil.move(rendered / _html_name(path), target)
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
    links = []
    for path in sorted((release / folder).glob(pattern)):
        href = f"{release.name}/{folder}/{path.name}"
        label = path.name
        if folder in ("html", "qa"):
            stem = next((k for k, v in HTML_NAMES.items() if v == path.name), path.stem)
            label = TITLES.get(stem, path.stem)
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
        The index file (self-contained: inline CSS, relative links only).
    """
    reports_dir = Path(reports_dir)
    months = sorted((p for p in reports_dir.iterdir() if p.is_dir() and MONTH.match(p.name)), reverse=True)
    sections = []
    for release in months:
        manifest_path = release / "manifest.json"
        note = ""
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            gate = manifest.get("gate") or {}
            note = (f"<p>Reference date {html.escape(str(manifest.get('reference_date', '')))}; "
                    f"{html.escape(str(gate.get('councils_selected', '?')))} of 153 councils."
                    + (" Synthetic data." if manifest.get("synthetic_data") else "") + "</p>")
        rows = []
        for label, folder, pattern in (("Reports", "html", "*.html"), ("Spreadsheets", "spreadsheets", "*.xlsx"),
                                       ("CSV files", "data", "*.csv"), ("Restricted", "qa", "qa.html")):
            links = _links(release, folder, pattern)
            if links:
                rows.append(f"<dt>{label}</dt><dd><ul>" + "".join(f"<li>{a}</li>" for a in links) + "</ul></dd>")
        files = "".join(rows) or "<dt>Files</dt><dd>none yet</dd>"
        sections.append(f'<section aria-labelledby="m-{release.name}"><h2 id="m-{release.name}">'
                        f"{html.escape(release.name)}</h2>{note}<dl>{files}</dl></section>")
    body = ("<h1>Adult social care client level data: releases</h1>"
            + ("".join(sections) if sections else "<p>No releases yet.</p>"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = _page("Adult social care client level data: releases", body, "", _css(),
                 f'<p class="run-time">Index written {stamp}.</p>', restricted=False)
    target = reports_dir / "index.html"
    tmp = target.with_name(f".index-{os.getpid()}.html.tmp")  # per process: two months may run at once
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)  # readers never see a half-written index
    return target
