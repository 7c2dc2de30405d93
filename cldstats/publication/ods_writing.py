"""OpenDocument spreadsheets (``.ods``) of a release, written directly with ``odfpy``.

gov.uk asks for ODS; ``gptables`` writes only XLSX. A workbook here is a list of :class:`Sheet`
(rows of text above one table, then the table: one header row, one row per record), written by
:func:`write_ods`. :func:`sheets_from_xlsx` reads a written XLSX workbook back into sheets, so the
ODS copy of an accessible workbook holds exactly its values, sheet names, notes and table headers.

Decisions
---------
odfpy, not LibreOffice
    Converting the XLSX with ``soffice --headless --convert-to ods`` needs LibreOffice (several
    hundred MB of Debian packages that the project's set-up does not install, and a process per
    file that can hang); ``odfpy`` is a small pure-Python package pinned with the others, and
    pandas reads ODS through it, so the files are read back by the same library in the tests.
odfpy builds the document, the table rows are rendered as XML text
    odfpy's element tree gives the package (mimetype first and stored, manifest), the styles, the
    metadata (title, language, dates) and the sheets' columns; its one-object-per-cell tree costs
    tens of microseconds a cell. The table rows, which are nearly all of a file, are rendered as
    XML text instead, column by column: each column's distinct values are rendered once
    (``pandas.factorize``) and the cells of a row joined by numpy's element-wise string addition,
    so no Python runs per cell. The rows go into odfpy's tree as one text node that writes itself
    unescaped (:class:`_RawXml`); every style they name is a common style (always written).
Numbers stay numbers
    Integers are ``office:value-type="float"`` cells shown with thousands separators; the
    symbols ``[c]``, ``[x]``, ``[z]`` are string cells in the same column; a missing value is an
    empty cell (DHSC's ``LA code`` of England and the regions), kept in its position.
Deterministic files
    The zip members carry the publication date, not the clock (odfpy's stamps are rewritten in
    the zip headers), the metadata the publication date, and the namespaces are declared in one
    order, so the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from cldstats.publication.xlsx_writing import DOCUMENT_LANGUAGE, MAX_COLUMN_WIDTH

__all__ = ["Sheet", "column_widths", "is_missing", "sheets_from_xlsx", "write_ods"]

# Common (named) cell styles: the rendered rows name them, so they must always be written.
TITLE_STYLE, HEADER_STYLE, NUMBER_STYLE, TEXT_STYLE = "cld-title", "cld-header", "cld-number", "cld-text"
_EMPTY_CELL = "<table:table-cell/>"


@dataclass(frozen=True)
class Sheet:
    """One sheet: rows of text above a table, then the table.

    Attributes
    ----------
    name : str
        Sheet name (``Cover``, ``Contents``, ``Notes``, ``Table_1``...).
    above : sequence of sequence
        Rows above the table, each a list of cells (the first row is the sheet's title).
    table : pandas.DataFrame or None
        The table: its column names are the header row; cells are Python ints, floats, strings,
        or None/NaN (an empty cell).
    links : tuple of str
        Table columns whose cells name a sheet of the workbook and link to it (the contents).
    """

    name: str
    above: Sequence[Sequence[Any]] = ()
    table: pd.DataFrame | None = None
    links: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Cells as XML text
# ---------------------------------------------------------------------------------------------
_SPACES = re.compile(r"  +")


def _paragraphs(text: str) -> str:
    """``text:p`` elements of a string: one per line, runs of spaces as ``text:s``."""
    def one(line: str) -> str:
        body = _SPACES.sub(lambda m: f' <text:s text:c="{len(m.group()) - 1}"/>', escape(line))
        if body.startswith(" "):  # a leading space would be dropped by a reader
            body = '<text:s/>' + body[1:]
        return f"<text:p>{body}</text:p>"
    return "".join(one(line) for line in text.split("\n"))


def is_missing(value: Any) -> bool:
    """Whether a cell value is missing (None, NaN, NA): written as an empty cell."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _cell(value: Any, *, style: str | None = None, link: bool = False) -> str:
    """One ``table:table-cell`` as XML text."""
    styled = f" table:style-name={quoteattr(style)}" if style else ""
    if is_missing(value) or (isinstance(value, str) and value == ""):
        return f"<table:table-cell{styled}/>" if style else _EMPTY_CELL
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"a workbook cell cannot be a boolean ({value!r})")
    if isinstance(value, (int, np.integer)):
        number = int(value)
        # A table's number columns have the thousands style as their default (see _sheet_element),
        # so a body cell names no style: the cell XML, most of a file, stays short.
        return (f'<table:table-cell{styled} office:value-type="float" '
                f'office:value="{number}"><text:p>{number:,}</text:p></table:table-cell>')
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if number.is_integer():
            return _cell(int(number), style=style)
        return (f'<table:table-cell{styled} office:value-type="float" office:value="{number!r}">'
                f"<text:p>{number}</text:p></table:table-cell>")
    if isinstance(value, str):
        if link:
            target = quoteattr(f"#'{value}'.A1")
            body = f'<text:p><text:a xlink:type="simple" xlink:href={target}>{escape(value)}</text:a></text:p>'
        else:
            body = _paragraphs(value)
        return f'<table:table-cell{styled} office:value-type="string">{body}</table:table-cell>'
    raise TypeError(f"a workbook cell must be a number or text, got {type(value).__name__} ({value!r})")


def _column_cells(values: np.ndarray, link: bool) -> np.ndarray:
    """The XML of every cell of one column: each distinct value rendered once."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    rendered = np.array([_cell(v, link=link) for v in uniques] + [_EMPTY_CELL], dtype=object)
    return rendered[codes]  # code -1 (missing) takes the last entry, the empty cell


def _table_rows(table: pd.DataFrame, links: Iterable[str]) -> str:
    """The body rows of a table as XML text, with no Python per cell (one C-level join a row)."""
    if table.empty:
        return ""
    links = set(links)
    columns = [_column_cells(table.iloc[:, i].to_numpy(dtype=object), name in links)
               for i, name in enumerate(table.columns)]
    rows = map("".join, zip(*columns, strict=True))
    return "<table:table-row>" + "</table:table-row><table:table-row>".join(rows) + "</table:table-row>"


def _row(cells: Sequence[Any], style: str | None = None) -> str:
    body = "".join(_cell(v, style=style) for v in cells) or _EMPTY_CELL
    return f"<table:table-row>{body}</table:table-row>"


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------
def _raw_xml_class():
    from odf.element import Text

    class _RawXml(Text):
        """A text node that writes its text as it is: rows already rendered as XML."""

        def toXml(self, level, f):  # noqa: N802 (odfpy's method name)
            f.write(self.data)

    return _RawXml


def _text_width(value: Any) -> int:
    if is_missing(value):
        return 0
    text = f"{value:,}" if isinstance(value, (int, np.integer)) else str(value)
    return max((len(line) for line in text.split("\n")), default=0)


def column_widths(sheet: Sheet) -> list[int]:
    """Column widths in characters: the longest header or value, at most :data:`MAX_COLUMN_WIDTH`."""
    if sheet.table is None:
        widths = [max((_text_width(r[i]) for r in sheet.above if len(r) > i), default=0)
                  for i in range(max((len(r) for r in sheet.above), default=1))]
    else:
        widths = []
        for position, name in enumerate(sheet.table.columns):
            distinct = pd.unique(sheet.table.iloc[:, position].to_numpy(dtype=object))
            widths.append(max([_text_width(name)] + [_text_width(v) for v in distinct]))
    return [min(max(w, 6), MAX_COLUMN_WIDTH) for w in widths]


def _styles(doc) -> None:
    from odf.number import Number, NumberStyle
    from odf.style import ParagraphProperties, Style, TableCellProperties, TextProperties

    separated = NumberStyle(name="cld-thousands")
    separated.addElement(Number(decimalplaces="0", minintegerdigits="1", grouping="true"))
    doc.styles.addElement(separated)
    default_text = {"fontsize": "10pt", "language": DOCUMENT_LANGUAGE.split("-")[0],
                    "country": DOCUMENT_LANGUAGE.split("-")[1]}
    for name, text, cell, data in (
        (TITLE_STYLE, {"fontweight": "bold", "fontsize": "14pt"}, {}, None),
        (HEADER_STYLE, {"fontweight": "bold"}, {"wrapoption": "wrap", "verticalalign": "top"}, None),
        (NUMBER_STYLE, {}, {"verticalalign": "top"}, "cld-thousands"),
        (TEXT_STYLE, {}, {"wrapoption": "wrap", "verticalalign": "top"}, None),
    ):
        style = Style(name=name, family="table-cell", **({"datastylename": data} if data else {}))
        style.addElement(TextProperties(**{**default_text, **text}))
        if cell:
            style.addElement(TableCellProperties(**cell))
        if name == NUMBER_STYLE:
            style.addElement(ParagraphProperties(textalign="end"))
        doc.styles.addElement(style)


def _sheet_element(doc, sheet: Sheet, raw_xml, column_styles: dict[float, Any]):
    from odf.style import Style, TableColumnProperties
    from odf.table import Table, TableColumn

    if not re.fullmatch(r"[^\[\]*?:/\\']{1,31}", sheet.name):
        raise ValueError(f"sheet name {sheet.name!r} is not a valid spreadsheet sheet name")
    element = Table(name=sheet.name)
    numeric = ([any(isinstance(v, (int, float, np.integer, np.floating)) and not is_missing(v)
                    for v in pd.unique(sheet.table.iloc[:, i].to_numpy(dtype=object)))
                for i in range(sheet.table.shape[1])] if sheet.table is not None else [])
    for position, width in enumerate(column_widths(sheet)):
        if width not in column_styles:
            style = Style(name=f"cld-col-{len(column_styles) + 1}", family="table-column")
            # About 0.2 cm a character of a 10 pt font, plus padding.
            style.addElement(TableColumnProperties(columnwidth=f"{0.2 * width + 0.3:.2f}cm"))
            doc.automaticstyles.addElement(style)
            column_styles[width] = style
        number = position < len(numeric) and numeric[position]
        element.addElement(TableColumn(stylename=column_styles[width],
                                       **({"defaultcellstylename": NUMBER_STYLE} if number else {})))
    parts = []
    for number, cells in enumerate(sheet.above):
        parts.append(_row(cells, TITLE_STYLE if number == 0 else TEXT_STYLE))
    if sheet.table is not None:
        header = _row([str(c) for c in sheet.table.columns], HEADER_STYLE)
        # The header row is marked as such (repeated on printed pages, announced by screen readers).
        parts.append(f"<table:table-header-rows>{header}</table:table-header-rows>")
        parts.append(_table_rows(sheet.table, sheet.links))
    if not parts:
        parts.append(_row([]))
    element.appendChild(raw_xml("".join(parts)))
    return element


def write_ods(path: Path, sheets: Sequence[Sheet], *, title: str, created: dt.date,
              subject: str = "", language: str = DOCUMENT_LANGUAGE) -> Path:
    """Write ``sheets`` as an OpenDocument spreadsheet.

    Parameters
    ----------
    path : pathlib.Path
        The ``.ods`` file to write (replaced if it exists).
    sheets : sequence of Sheet
        In order; names must be unique.
    title, subject : str
        Document title and subject (``dc:title``, ``dc:subject``).
    created : datetime.date
        Creation date in the metadata and date of the zip members (the publication date, never
        the clock, so two runs give the same bytes).
    language : str
        Document language, ``en-GB`` by default.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from odf import dc, meta
    from odf.element import Element
    from odf.namespaces import nsdict
    from odf.opendocument import OpenDocumentSpreadsheet

    # odfpy declares the namespaces its elements have used so far in the process (a class-level
    # table, so it would depend on what the process did before, reading an ODS say): every
    # namespace it knows is put in that table in sorted order, so each file declares the same set
    # in the same order (and the links' xlink is there).
    known = dict(sorted({**nsdict, **Element.namespaces}.items(), key=lambda item: item[1]))
    Element.namespaces.clear()
    Element.namespaces.update(known)
    doc = OpenDocumentSpreadsheet()
    stamp = dt.datetime.combine(created, dt.time(0, 0)).isoformat()
    doc.meta.addElement(dc.Title(text=title))
    if subject:
        doc.meta.addElement(dc.Subject(text=subject))
    doc.meta.addElement(dc.Language(text=language))
    doc.meta.addElement(meta.CreationDate(text=stamp))
    doc.meta.addElement(dc.Date(text=stamp))
    doc.meta.addElement(meta.InitialCreator(text="cldstats"))
    _styles(doc)
    raw_xml = _raw_xml_class()
    column_styles: dict[float, Any] = {}
    for sheet in sheets:
        doc.spreadsheet.addElement(_sheet_element(doc, sheet, raw_xml, column_styles))
    buffer = io.BytesIO()
    doc.write(buffer)
    path = Path(path)
    path.write_bytes(_fixed_dates(buffer.getvalue(), created))
    return path


def _fixed_dates(package: bytes, day: dt.date) -> bytes:
    """The zip ``package`` with every member dated ``day`` instead of the clock odfpy stamps.

    The DOS date and time fields of each local header and central directory entry are rewritten
    in place (the data, its CRC and the member order are untouched; nothing is compressed again).
    """
    data = bytearray(package)
    stamp = struct.pack("<HH", 0, ((day.year - 1980) << 9) | (day.month << 5) | day.day)  # time, date
    end = data.rfind(b"PK\x05\x06")
    entries, _, offset = struct.unpack_from("<HII", data, end + 10)
    for _ in range(entries):
        if data[offset:offset + 4] != b"PK\x01\x02":
            raise ValueError("not a zip central directory entry")
        data[offset + 12:offset + 16] = stamp
        local = struct.unpack_from("<I", data, offset + 42)[0]
        if data[local:local + 4] != b"PK\x03\x04":
            raise ValueError("not a zip local header")
        data[local + 10:local + 14] = stamp
        names, extra, comment = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + names + extra + comment
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# An XLSX workbook as sheets
# ---------------------------------------------------------------------------------------------
def _header_index(rows: list[list[Any]]) -> int | None:
    """The table's header row: the first row with two or more cells (titles fill column A only)."""
    for number, row in enumerate(rows):
        if sum(not is_missing(v) and v != "" for v in row) >= 2:
            return number
    return None


def sheets_from_xlsx(path: Path) -> list[Sheet]:
    """Read an XLSX workbook of one table a sheet (as :mod:`cldstats.publication.workbooks` writes
    them) into :class:`Sheet` objects holding every cell's value.

    Rows above the first row with two or more cells are the sheet's title lines; that row is the
    table's header and the rows after it its body. A table column whose every cell names a sheet
    of the workbook becomes a column of links (the contents).

    Raises
    ------
    ValueError
        A body row has a cell beyond the header's columns (it would be lost).
    """
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        raw = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in workbook.worksheets}
    finally:
        workbook.close()
    sheets = []
    for name, rows in raw.items():
        while rows and all(is_missing(v) for v in rows[-1]):
            rows.pop()
        start = _header_index(rows)
        if start is None:
            sheets.append(Sheet(name, above=[_trimmed(r) for r in rows]))
            continue
        header = _trimmed(rows[start])
        width = len(header)
        body = rows[start + 1:]
        for number, row in enumerate(body, start=start + 2):
            if any(not is_missing(v) for v in row[width:]):
                raise ValueError(f"{path}: sheet {name} row {number} has a cell beyond the table's "
                                 f"{width} columns")
        table = pd.DataFrame([list(r[:width]) + [None] * (width - len(r)) for r in body],
                             columns=[str(c) for c in header], dtype=object)
        sheets.append(Sheet(name, above=[_trimmed(r) for r in rows[:start]], table=table))
    names = set(raw)
    return [_with_links(s, names) for s in sheets]


def _trimmed(row: Sequence[Any]) -> list[Any]:
    cells = list(row)
    while cells and is_missing(cells[-1]):
        cells.pop()
    return cells


def _with_links(sheet: Sheet, names: set[str]) -> Sheet:
    if sheet.table is None or sheet.table.empty:
        return sheet
    links = tuple(c for c in sheet.table.columns if sheet.table[c].isin(names).all())
    return Sheet(sheet.name, sheet.above, sheet.table, links) if links else sheet
