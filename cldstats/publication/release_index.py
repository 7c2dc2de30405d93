"""The index of releases, ``reports/index.html``: every release, monthly (``YYYY-MM``) and
quarterly (``data-to-march-2026``, headed "Data to March 2026" as DHSC names it), newest first,
with links to its pages, spreadsheets and CSV files.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from pathlib import Path

from cldstats.publication.pages import HTML_NAMES, PUBLICATION, TITLES, page_css, page_html
from cldstats.publication.report_format import file_label, fmt_month
from cldstats.publication.self_contained import write_page
from cldstats.reference import statements
from cldstats.reference.calendar import folder_release, release_title
from cldstats.reference.statements import MethodFacts


def _links(release: Path, folder: str, patterns: str | tuple[str, ...]) -> list[str]:
    links = []
    patterns = (patterns,) if isinstance(patterns, str) else patterns
    for path in sorted(p for pattern in patterns for p in (release / folder).glob(pattern)):
        href = f"{release.name}/{folder}/{path.name}"
        if folder in ("html", "qa"):
            stem = next((k for k, v in HTML_NAMES.items() if v == path.name), path.stem)
            label = TITLES.get(stem, path.stem)
        else:
            label = file_label(path)  # what, kind and size: a bare file name says neither
        links.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
    return links


def _heading(name: str) -> str:
    """A release's heading: ``March 2026``, or ``Data to March 2026`` for a quarterly one."""
    month, quarterly = folder_release(name)
    if not quarterly:
        return fmt_month(month)
    title = release_title(month, quarterly)
    return title[0].upper() + title[1:]


def write_index(reports_dir: Path) -> Path:
    """Write ``reports_dir/index.html``: every release, newest first (of one month, the quarterly
    release first), with links.

    Parameters
    ----------
    reports_dir : Path
        The reports folder holding ``<YYYY-MM>/`` and ``data-to-<month>-<year>/`` releases
        (:func:`cldstats.reference.calendar.folder_release`).

    Returns
    -------
    Path
        The index file (self-contained: inline CSS, relative links only). Spreadsheets and CSV
        files are linked by what they hold, kind and size (:func:`cldstats.publication.report_format.file_label`).
    """
    reports_dir = Path(reports_dir)
    months = sorted((p for p in reports_dir.iterdir() if p.is_dir() and folder_release(p.name) is not None),
                    key=lambda p: folder_release(p.name), reverse=True)
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
        for label, folder, pattern in (("Reports", "html", "*.html"),
                                       ("Spreadsheets", "spreadsheets", ("*.ods", "*.xlsx")),
                                       ("CSV files", "data", "*.csv"), ("Restricted", "qa", "qa.html")):
            links = _links(release, folder, pattern)
            if links:
                rows.append(f"<dt>{label}</dt><dd><ul>" + "".join(f"<li>{a}</li>" for a in links) + "</ul></dd>")
        files = "".join(rows) or "<dt>Files</dt><dd>none yet</dd>"
        sections.append(f'<section aria-labelledby="m-{release.name}"><h2 id="m-{release.name}">'
                        f"{html.escape(_heading(release.name))}</h2>{note}<dl>{files}</dl></section>")
    heading = f"{PUBLICATION}: releases"
    title = f"Releases – {PUBLICATION}" + (f", latest {_heading(months[0].name)}" if months else "")
    body = f"<h1>{html.escape(heading)}</h1>" + ("".join(sections) if sections else "<p>No releases yet.</p>")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = page_html(title, body, "", page_css(), f'<p class="run-time">Index written {stamp}.</p>', restricted=False)
    target = reports_dir / "index.html"
    tmp = target.with_name(f".index-{os.getpid()}.html.tmp")  # per process: two months may run at once
    write_page(tmp, page, target.name)
    os.replace(tmp, target)  # readers never see a half-written index
    return target
