"""What every HTML page of a release shares: which notebook becomes which page
(:data:`HTML_NAMES`, :data:`TITLES`, :data:`RESTRICTED`), the publication it belongs to, and the page
shell of the nbconvert pages and the index (:func:`page_html`: inline CSS, skip link, navigation,
run-time line and the print script :data:`PRINT_SCRIPT`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CSS_FILE = REPO / "reports" / "cldstats.css"

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


def page_css() -> str:
    """The pages' stylesheet, ``reports/cldstats.css`` (a minimal one if it is not shipped)."""
    return CSS_FILE.read_text(encoding="utf-8") if CSS_FILE.exists() else _FALLBACK_CSS


def page_html(title: str, body: str, nav: str, css: str, run_line: str, *, restricted: bool) -> str:
    """A whole page: ``body`` in ``<main>`` after a skip link, ``nav`` and (when ``restricted``) the
    restricted banner in the header, ``run_line`` in the footer, ``css`` inline, then the print
    script."""
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
