"""How the notebook helpers write numbers, dates, files and tables: the number and date formats
(:func:`fmt_count`, :func:`fmt_day`, :func:`fmt_month`), file sizes and link texts
(:func:`file_label`), change phrases, and the accessible HTML table every report shows
(:func:`table_html`, with ids checked against :data:`ELEMENT_ID`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pandas as pd

from cldstats.core.errors import CldstatsError
from cldstats.reference.statements import CELL_SYMBOLS


def cell_number(text: str) -> float | None:
    """A published cell as a number, or None for a symbol or blank."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt_count(value: float) -> str:
    """Whole number with thousands separators: ``13825 -> "13,825"``."""
    return f"{int(round(value)):,}"


def fmt_day(iso_date: str) -> str:
    """``"2024-03-31" -> "31 March 2024"``."""
    day = dt.date.fromisoformat(iso_date)
    return f"{day.day} {day:%B %Y}"


def fmt_month(month: str) -> str:
    """``"2024-03" -> "March 2024"``."""
    return f"{dt.date.fromisoformat(month + '-01'):%B %Y}"


#: What each downloadable file holds, by file name without its suffix: the link text of the
#: publication report's downloads, the QA report's restricted files and the index of releases.
FILE_CONTENTS = {
    "long_term_support": "People receiving long-term support",
    "long_term_support_rates": "People receiving long-term support per 100,000 adults",
    "assessments": "People assessed",
    "long_term_support_dhsc": "People receiving long-term support, in DHSC's table layout",
    "assessments_dhsc": "People assessed, in DHSC's table layout",
    "assessments_rates": "People assessed per 100,000 adults, total over the months",
    "long_term_support_unrounded": "People receiving long-term support, unrounded",
    "long_term_support_rates_unrounded": "Rates of long-term support, unrounded",
    "assessments_unrounded": "People assessed, unrounded",
    "assessments_rates_unrounded": "Rates of people assessed, unrounded",
    "submissions": "Submissions in the month's window and the data quality gate's outcome",
    "exclusions": "Records excluded, by council and reason",
    "releases": "Submissions by CLD release: header, Release 1 and Release 2 values",
    "reporting_periods": "Reporting periods of every submission, stated and derived",
    "revisions": "Revised figures, previous and new values",
}

#: How a link names each kind of file.
FILE_KINDS = {".xlsx": "spreadsheet, XLSX", ".ods": "spreadsheet, ODS", ".csv": "CSV", ".json": "JSON"}


def fmt_size(size: int) -> str:
    """A file size as GOV.UK writes an attachment's (1 KB = 1,024 bytes, one decimal):
    ``"950 bytes"``, ``"430.7 KB"``, ``"8.4 MB"``. The decimal also keeps a size from reading as a
    whole number that could be taken for a count."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 ** 2:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 ** 2:.1f} MB"


def file_label(path: Path) -> str:
    """The link text of a downloadable file: what it holds, its kind and its size, e.g.
    ``"People assessed, spreadsheet, XLSX, 430.7 KB"`` (a bare file name tells a reader neither).

    A file :data:`FILE_CONTENTS` does not know is described by its name, so none is left out.
    """
    path = Path(path)
    what = FILE_CONTENTS.get(path.stem) or path.stem.replace("_", " ").capitalize()
    kind = FILE_KINDS.get(path.suffix.lower(), path.suffix.lstrip(".").upper() or "file")
    return f"{what}, {kind}, {fmt_size(path.stat().st_size)}"


def download_item(path: Path, href: str) -> str:
    """A list item linking ``href`` by the file's :func:`file_label`, its name beside it."""
    # The file name stays visible beside the description: readers quote it, and it may wrap.
    return (f'<li><a href="{html.escape(href)}">{html.escape(file_label(path))}</a> '
            f'<span class="file-name">{html.escape(path.name)}</span></li>')


def change_phrase(now: float, before: float) -> str:
    """``"up 100 (0.7%)"``, ``"down 5 (less than 0.1%)"`` or ``"unchanged"``."""
    diff = now - before
    if diff == 0:
        return "unchanged"
    direction = "up" if diff > 0 else "down"
    if before == 0:
        return f"{direction} {fmt_count(abs(diff))}"
    share = abs(diff) / before * 100
    share_text = "less than 0.1%" if share < 0.05 else f"{share:.1f}%"
    return f"{direction} {fmt_count(abs(diff))} ({share_text})"


def display_html(fragment: str):
    """``fragment`` as an :class:`IPython.display.HTML` object, what a notebook cell displays."""
    # IPython only when a notebook displays something: the pipeline imports this module (for
    # file_label and fmt_month) without needing it, and should not pay for its import.
    from IPython.display import HTML

    return HTML(fragment)


#: Ids of tables and charts: lower-case words joined by ``_``, never a hyphen. Quarto reads an id
#: ``<letters>-<rest>`` on a captioned table as a cross-reference label of type ``<letters>``
#: (``age-group`` is type ``age``, which is no table type, so it warns); ``fig-``, ``tbl-``,
#: ``sec-`` and its other reserved prefixes would be worse. An id with no hyphen cannot be one.
ELEMENT_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def checked_id(element_id: str) -> str:
    """``element_id`` if it matches :data:`ELEMENT_ID`, else a :class:`CldstatsError`."""
    if not isinstance(element_id, str) or not ELEMENT_ID.match(element_id):
        raise CldstatsError(f"element id {element_id!r} must be lower-case words joined by _ (no hyphen: Quarto "
                            "would read the part before a hyphen as a cross-reference type)")
    return element_id


def _cell(tag: str, text: str, value) -> str:
    numeric = cell_number(str(value).replace(",", "")) is not None or str(value) in CELL_SYMBOLS
    scope = ' scope="row"' if tag == "th" else ""
    return f'<{tag}{scope} class="num">{text}</{tag}>' if numeric else f"<{tag}{scope}>{text}</{tag}>"


def table_html(frame: pd.DataFrame, caption: str, *, table_id: str, escape: bool = True) -> str:
    """An accessible table: caption, column headers with ``scope="col"``, the first column as row
    headers (``<th scope="row">``), no index, deterministic ids, inside a scroll region.

    The region (``div.table-scroll``, ``role="region"``, labelled by the caption, ``tabindex="0"``)
    scrolls on its own when the table is wider than the page, so the page itself never scrolls
    sideways at 320 px (WCAG 1.4.10) and keyboard users can scroll it. A pandas Styler would do the
    table, but it stamps a random id on every table; a fixed id keeps two renders identical.
    """
    table_id = checked_id(table_id)
    caption_id = f"{table_id}_caption"
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):  # a display table of at most a few hundred rows
        cells = [_cell("th" if n == 0 else "td", html.escape(str(v)) if escape else str(v), v)
                 for n, v in enumerate(record)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) if rows else f'<tr><td colspan="{len(frame.columns)}">None.</td></tr>'
    return (
        f'<div class="table-scroll" role="region" aria-labelledby="{caption_id}" tabindex="0">'
        f'<table class="data-table" id="{table_id}"><caption id="{caption_id}">{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def display_count(text: str) -> str:
    """A published cell for display: a number with thousands separators, a symbol as it is."""
    value = cell_number(text)
    return fmt_count(value) if value is not None else text
