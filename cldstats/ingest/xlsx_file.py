"""One ``.xlsx`` submission into a :class:`~cldstats.ingest.cells.RawTable` (step 1 of
:mod:`cldstats.ingest.reader`): the first sheet through openpyxl, the header in row 1, values as
text as the template shows them.

Only the cells that exist are read; cells right of the header are ``ragged_rows``; a row or cell
beyond Excel's sheet limits makes the file ``unreadable``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa

from cldstats.ingest.cells import RawTable
from cldstats.ingest.issues import MAX_EXAMPLE_ROWS, FileIssue, Unreadable, count_noun


def _excel_text(value: object) -> str:
    """Text of one xlsx cell as the template would show it (dates as dd/mm/yyyy)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


#: Excel's sheet limits: a cell beyond them is not in any sheet Excel could have written.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384


def _existing_cells(workbook, sheet):
    """``(row number, [(column, value), ...])`` for each row of the sheet that exists, with only
    the cells that exist.

    openpyxl's ``iter_rows`` pads every row to the sheet's declared width and yields every row up
    to its declared height, so one stray value at ``XFD1048576`` means 17 billion empty cells.
    Its sheet parser (the one ``iter_rows`` itself uses, with the same value conversions) yields
    only what the sheet's XML holds.
    """
    from openpyxl.worksheet._reader import WorkSheetParser  # lazy: only xlsx submissions pay for openpyxl

    with sheet._get_source() as source, warnings.catch_warnings():
        # openpyxl warns, quoting the value, about a date cell it cannot convert (read as #VALUE!).
        warnings.simplefilter("ignore")
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for row_number, cells in parser.parse():
            if row_number > EXCEL_MAX_ROWS:
                raise Unreadable(
                    f"first sheet has a row {row_number:,}, beyond Excel's limit of {EXCEL_MAX_ROWS:,} rows"
                )
            yield row_number, [(cell["column"], cell["value"]) for cell in cells if cell["value"] is not None]


def read_xlsx_table(path: Path, name: str, issues: list[FileIssue]) -> RawTable:
    """The first sheet of a workbook as text cells (header in row 1).

    Raises :class:`~cldstats.ingest.issues.Unreadable` when the workbook or its sheet cannot be read.
    Cells right of the header are ignored and reported (``ragged_rows``, appended to ``issues``);
    a row holding nothing else is not a record. Row numbers are the sheet's.
    """
    import openpyxl  # only xlsx submissions pay for the import

    try:
        # data_only=False: a formula cell comes back as its formula text ("=A1"), which is flagged,
        # never a value some spreadsheet program computed.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # noqa: BLE001 - any failure to open means unreadable
        raise Unreadable(f"is not a readable .xlsx workbook ({type(error).__name__})") from error
    body: list[list[str]] = []
    row_numbers: list[int] = []
    beyond: list[int] = []  # rows with cells right of the header
    only_beyond: list[int] = []  # ... and nothing within it: not records
    try:
        if not workbook.worksheets:
            raise Unreadable("workbook has no worksheet")
        rows = _existing_cells(workbook, workbook.worksheets[0])
        try:
            first = next((row for row in rows if row[1]), None)
            if first is None:
                raise Unreadable("first sheet is empty")
            if first[0] != 1:
                raise Unreadable("first sheet has no header in row 1")
            labels = {column: _excel_text(value) for column, value in first[1]}
            labels = {column: text for column, text in labels.items() if text}
            width = max(labels, default=0)
            if width > EXCEL_MAX_COLUMNS:
                raise Unreadable(f"first sheet's header goes beyond Excel's limit of {EXCEL_MAX_COLUMNS:,} columns")
            header = [labels.get(column, "") for column in range(1, width + 1)]
            for sheet_row, cells in rows:
                texts = [""] * width
                outside = False
                for column, value in cells:
                    if column > width:
                        if column > EXCEL_MAX_COLUMNS:
                            raise Unreadable(
                                f"first sheet has a cell in row {sheet_row:,} beyond Excel's limit of "
                                f"{EXCEL_MAX_COLUMNS:,} columns"
                            )
                        outside = outside or _excel_text(value) != ""
                    else:
                        texts[column - 1] = _excel_text(value)
                if any(texts):
                    body.append(texts)
                    row_numbers.append(sheet_row)
                    if outside:
                        beyond.append(sheet_row)
                elif outside:
                    only_beyond.append(sheet_row)
        except Unreadable:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged sheet part
            raise Unreadable(f"first sheet cannot be read ({type(error).__name__})") from error
    finally:
        workbook.close()
    if beyond or only_beyond:
        issues.append(_cells_beyond_header_issue(name, width, beyond, only_beyond))
    columns = (
        [pa.array(cells, type=pa.string()) for cells in zip(*body, strict=True)]
        if body
        else [pa.array([], type=pa.string()) for _ in header]
    )
    return RawTable(header, columns, np.asarray(row_numbers, dtype=np.int32), None)


def _cells_beyond_header_issue(name: str, width: int, beyond: list[int], only_beyond: list[int]) -> FileIssue:
    """``ragged_rows``: sheet rows with cells right of the header (``only_beyond``: and nothing else)."""
    ragged = sorted(beyond + only_beyond)
    return FileIssue(
        "ragged_rows",
        f"{name}: {count_noun(len(ragged), 'row')} with cells beyond the header's {width} columns "
        f"(first: row {ragged[0]}); those cells were ignored"
        + (
            f"; {count_noun(len(only_beyond), 'row')} with nothing else (first: row {only_beyond[0]}) "
            "not read as records"
            if only_beyond
            else ""
        ),
        count=len(ragged),
        rows=tuple(ragged[:MAX_EXAMPLE_ROWS]),
    )
