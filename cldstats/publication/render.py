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

This module runs the notebooks and converts them; the kernels are :mod:`cldstats.publication.kernels`'s,
the network checks :mod:`cldstats.publication.self_contained`'s, the page shell and the page names
:mod:`cldstats.publication.pages`'s and the index :mod:`cldstats.publication.release_index`'s (its
:func:`write_index` is named here too).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat

from cldstats.core.errors import CldstatsError
from cldstats.publication.kernels import NotebookRun, execute_runs
from cldstats.publication.pages import (
    CSS_FILE,
    HTML_NAMES,
    MONTH,
    PRINT_SCRIPT,
    PUBLICATION,
    REPO,
    RESTRICTED,
    TITLES,
    page_css,
    page_html,
)
from cldstats.publication.release_index import write_index
from cldstats.publication.report_format import fmt_month
from cldstats.publication.self_contained import network_loads, strip_network_loads, write_page

__all__ = [
    "HTML_NAMES",
    "NOTEBOOKS",
    "PARALLEL_NOTEBOOKS",
    "PUBLICATION",
    "RESTRICTED",
    "TITLES",
    "check_parameters",
    "executed_path",
    "network_loads",
    "notebook_parameters",
    "page_title",
    "quarto_notebook",
    "render_html",
    "run_notebooks",
    "strip_network_loads",
    "write_index",
]


NOTEBOOKS_DIR = REPO / "notebooks"
QUARTO_PROJECT = REPO / "reports" / "_quarto.yml"

#: Executed in this order: the QA report first, so a data problem shows there before anything else.
NOTEBOOKS = ("data_quality", "long_term_support", "assessments", "publication")

#: Notebooks executed at once by :func:`run_notebooks`: all of them. Each reads the release folder
#: and writes only its own executed copy, so none depends on another; the work is in the kernels
#: (separate processes), and four at once keep both cores busy while kernels start and import.
PARALLEL_NOTEBOOKS = len(NOTEBOOKS)


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
    # imported when notebooks run: papermill and the Jupyter machinery are slow to import, and most commands run none.
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
        runs.append(NotebookRun(name, source, executed_path(release_dir, name), all_parameters[name]))
    settings = {"kernel_name": kernel_name, "cwd": cwd, "timeout": timeout, "progress": progress}
    execute_runs(runs, settings, parallel)
    for run in runs:  # NOTEBOOKS order: the QA report's failure first, as a single run would give it
        if run.error is not None:
            raise run.error from None
    return [run.target for run in runs]


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------


def _quarto_version(quarto: str) -> str:
    done = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _html_name(notebook: Path) -> str:
    return HTML_NAMES.get(notebook.stem, f"{notebook.stem}.html")


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


def _render_nbconvert(executed: list[Path], html_dir: Path, qa_dir: Path) -> str:
    # nbconvert is imported when pages are rendered without Quarto, not by every command.
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
    css = page_css()
    for path in executed:
        nb = _report_notebook(path)
        body, _ = exporter.from_notebook_node(nb)
        restricted = path.stem in RESTRICTED
        page = page_html(_title(nb, path.stem), body, _nav(path.stem, stems), css, run_line, restricted=restricted)
        write_page((qa_dir if restricted else html_dir) / _html_name(path), page)
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
            write_page(target, strip_network_loads(page))
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
