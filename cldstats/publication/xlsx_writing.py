"""How ``gptables`` and ``xlsxwriter`` are made to write the workbooks faster and as the guidance
asks, each inside a block: the tables written with less Python per cell (byte for byte what
gptables writes), column widths capped at :data:`MAX_COLUMN_WIDTH`, and the document language set.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Writing the tables: gptables' own layout, less Python per cell
# ---------------------------------------------------------------------------------------------
_WHITESPACE_ONLY = re.compile(r"^\s*$")


def _plain_table(gptable: Any) -> dict[str, np.ndarray] | None:
    """The table's columns as object arrays when :func:`_write_table_elements` writes exactly
    what gptables' own ``GPWorksheet._write_table_elements`` would, else None (gptables' then).

    Plain: no index columns, only ``column`` additional formatting, unique string column names,
    and every cell a Python ``str`` or ``int`` that gptables would neither blank (whitespace only)
    nor refuse (no letter or digit: gptables raises, and still does through its own method). The
    tables of :func:`_workbook_sheets` are plain; the contents and notes sheets (links) are not.
    """
    table = gptable.table
    if gptable.index_columns or gptable.index_levels or len(table) == 0 or not table.columns.is_unique:
        return None
    if not all(isinstance(name, str) for name in table.columns):
        return None
    if any(set(item) != {"column"} for item in gptable.additional_formatting or []):
        return None
    columns = {}
    strings: set[str] = set()
    for name in table.columns:
        values = table[name].to_numpy(dtype=object)
        types = set(map(type, values))
        if not types <= {str, int}:
            return None
        if str in types:
            strings.update(v for v in pd.unique(values) if type(v) is str)
        columns[name] = values
    distinct = list(strings)
    if any(_WHITESPACE_ONLY.search(s) for s in distinct):
        return None
    if pd.Series(distinct, dtype=object).astype("string").str.contains("^[^a-zA-Z0-9]*$").any():
        return None
    return columns


def _write_table_elements(worksheet: Any, pos: list, gptable: Any, auto_width: bool, original: Any) -> list:
    """``GPWorksheet._write_table_elements`` for a plain table (:func:`_plain_table`), else ``original``.

    gptables builds a DataFrame of one format dict per cell (a row at a time), then writes and
    measures each cell through several Python calls: at national scale 10 of the 15 seconds the
    two workbooks took. Here the cells of a column share its two format dicts (gptables' were
    equal dicts): the same theme, alignment and additional formats applied in the same order,
    registered with the workbook in the same order (the header's, then the data's, column by
    column, as gptables' row-by-row writing first meets them), every cell written through
    xlsxwriter's own type dispatch (``Worksheet._write``, what ``Worksheet.write`` calls), column
    widths from gptables' own width functions over each column's distinct values, and the Excel
    table marked by gptables' own method. The workbook is byte-for-byte the same (measured on the
    national-scale release; ``tests/unit/publication/test_tables.py`` compares the XML with the goldens).
    """
    columns = _plain_table(gptable)
    if columns is None:
        return original(worksheet, pos, gptable, auto_width)
    theme = worksheet.theme
    names = list(gptable.table.columns)
    n_rows = len(gptable.table)
    header = [dict(theme.column_heading_format) for _ in names]
    data = [dict(theme.data_format) for _ in names]
    # Alignment by gptables' own method, on a stand-in holding the header row and each column's
    # distinct values (its type inference looks at nothing else), with the two rows of formats.
    distinct = {name: pd.unique(values) for name, values in columns.items()}
    longest = max(len(values) for values in distinct.values())
    stand_in = pd.DataFrame(
        [names] + [[distinct[n][i] if i < len(distinct[n]) else np.nan for n in names] for i in range(longest)],
        columns=names, dtype=object,
    )
    worksheet._apply_column_alignments(stand_in, pd.DataFrame([header, data], columns=names, dtype=object), [])
    for item in gptable.additional_formatting or []:
        description = item["column"]
        for position in (names.index(c) if isinstance(c, str) else c for c in description["columns"]):
            if description.get("include_names", True):
                header[position].update(description["format"])
            data[position].update(description["format"])

    workbook = worksheet._workbook
    header_formats = [workbook.add_format(d) for d in header]
    data_formats = [workbook.add_format(d) for d in data]
    first = gptable.data_range[0]
    write = worksheet._write
    for col, name in enumerate(names):
        write(first, col, name, header_formats[col])
    arrays = [columns[n] for n in names]
    for row in range(n_rows):
        for col, values in enumerate(arrays):
            write(first + 1 + row, col, values[row], data_formats[col])

    if auto_width:
        # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
        from xlsxwriter.utility import cell_autofit_width

        def width(value: Any, format_dict: dict) -> int:
            line = worksheet._get_longest_line(value)
            return math.ceil(cell_autofit_width(line) * worksheet._get_scaling_factor(format_dict, line))

        worksheet._set_column_widths([
            max([width(name, header[col])] + [width(v, data[col]) for v in distinct[name]])
            for col, name in enumerate(names)
        ])
    worksheet._mark_data_as_worksheet_table(gptable, pd.DataFrame([header], columns=names, dtype=object))
    return [first + n_rows + 1, 0]


@contextlib.contextmanager
def fast_table_writing() -> Iterator[None]:
    """gptables' worksheets write their tables with :func:`_write_table_elements` inside the block."""
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    from gptables.core.wrappers import GPWorksheet

    original = GPWorksheet._write_table_elements

    def write_table_elements(self, pos, gptable, auto_width):
        return _write_table_elements(self, pos, gptable, auto_width, original)

    GPWorksheet._write_table_elements = write_table_elements
    try:
        yield
    finally:
        GPWorksheet._write_table_elements = original


#: Excel's own limit is 255 characters; a column this wide (characters of the default font) is
#: already hard to read, and every data cell wraps (gptables' theme), so longer text wraps instead.
MAX_COLUMN_WIDTH = 100
# xlsxwriter's conversion of a width in characters to pixels (7 per character plus 5 of padding).
MAX_COLUMN_PIXELS = MAX_COLUMN_WIDTH * 7 + 5


@contextlib.contextmanager
def capped_column_widths() -> Iterator[None]:
    """gptables' automatic column widths are capped at :data:`MAX_COLUMN_PIXELS` inside the block."""
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    from gptables.core.wrappers import GPWorksheet

    original = GPWorksheet._set_column_widths

    def set_column_widths(self, widths):
        return original(self, [min(width, MAX_COLUMN_PIXELS) for width in widths])

    GPWorksheet._set_column_widths = set_column_widths
    try:
        yield
    finally:
        GPWorksheet._set_column_widths = original
#: The document language (``dc:language`` in ``docProps/core.xml``), read out by screen readers.
DOCUMENT_LANGUAGE = "en-GB"


@contextlib.contextmanager
def document_language(language: str) -> Iterator[None]:
    """xlsxwriter writes ``<dc:language>`` in ``docProps/core.xml`` inside the block.

    xlsxwriter 3.x has no document-language property; its packager builds the core part with the
    ``Core`` class it imports, so a subclass adding the element after the last one it writes is
    put in its place for the block.
    """
    # gptables and xlsxwriter are imported when a workbook is written, not by every command that imports this.
    from xlsxwriter import packager
    from xlsxwriter.core import Core

    class CoreWithLanguage(Core):
        def _write_cp_content_status(self) -> None:
            super()._write_cp_content_status()
            self._xml_data_element("dc:language", language)

    packager.Core = CoreWithLanguage
    try:
        yield
    finally:
        packager.Core = Core
