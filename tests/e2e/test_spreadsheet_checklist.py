"""The published workbooks against the Government Analysis Function's spreadsheet guidance.

"Releasing statistics in spreadsheets" and its "Making spreadsheets accessible: a brief checklist of
the basics": every item that code can check is checked here, on the real workbooks of a published
month (the small synthetic month of ``conftest.small_reports``, published through the command line).
The checker is first run on a workbook built to break every item, so that no item can pass by
looking at nothing.

Items a person must judge (plain English, spelling and grammar, meaningful link text beyond "not a
bare address", colour contrast when colour is used, Excel's own accessibility checker) are not here.

Run with ``-s`` to print the result per workbook and item.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH = "2024-03"
SYMBOL = re.compile(r"\[[a-z]\]")
#: Symbols explained as "[c] confidential" etc. on the cover or notes sheet.
EXPLAINED = re.compile(r"(\[[a-z]\]) [a-z]")
NUMBER_AS_TEXT = re.compile(r"[-+]?\d[\d,]*(\.\d+)?|\d+ of \d+")
EXCEL_MAX_WIDTH = 255
#: Longest text a cell may hold unwrapped before it must wrap within its column.
UNWRAPPED = 100


def _tables(ws):
    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        yield table, min_col, min_row, max_col, max_row


def _data_cells(ws):
    """(table, header cells, data rows) of each table of a sheet."""
    for table, min_col, min_row, max_col, max_row in _tables(ws):
        rows = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col))
        yield table, rows[0], rows[1:]


def _text(ws) -> str:
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


# ---------------------------------------------------------------------------------------------
# The checks: each returns the problems it found (empty: the item is met)
# ---------------------------------------------------------------------------------------------
def cover_sheet_first(book, path):
    ws = book.worksheets[0]
    return [] if ws.title == "Cover" and isinstance(ws["A1"].value, str) else [f"first sheet is {ws.title!r}"]


def cover_says_when_where_from_and_who(book, path):
    """The cover gives the publication date, the next update, the source and a contact."""
    text = _text(book["Cover"]) if "Cover" in book.sheetnames else ""
    wanted = {"publication date": r"Published: \d{1,2} [A-Z][a-z]+ \d{4}",
              "next update": r"Next update: (\d{1,2} [A-Z][a-z]+ \d{4}|To be announced)",
              "source": r"Source: \w", "contact": r"Email: \S+@\S+"}
    return [f"the cover gives no {what}" for what, pattern in wanted.items() if not re.search(pattern, text)]


def contents_lists_every_sheet(book, path):
    if "Contents" not in book.sheetnames:
        return ["no Contents sheet"]
    ws = book["Contents"]
    expected = book.sheetnames[book.sheetnames.index("Contents") + 1:]
    problems = []
    for _, _, rows in _data_cells(ws):
        listed = [row[0] for row in rows]
        if [c.value for c in listed] != expected:
            problems.append(f"contents lists {[c.value for c in listed]}, sheets are {expected}")
        problems += [f"{c.value}: no link to its A1" for c in listed
                     if c.hyperlink is None or c.hyperlink.location != f"'{c.value}'!A1"]
    return problems or ([] if ws.tables else ["contents is not a table"])


def notes_sheet_is_a_table(book, path):
    if "Notes" not in book.sheetnames:
        return ["no Notes sheet"]
    return [] if len(book["Notes"].tables) == 1 else ["the notes are not one table"]


def one_marked_up_table_per_sheet(book, path):
    problems = [f"{ws.title}: {len(ws.tables)} tables" for ws in book.worksheets[1:] if len(ws.tables) != 1]
    return problems + [f"{book.worksheets[0].title}: a table on the cover"] * bool(book.worksheets[0].tables)


def tables_have_unique_meaningful_names(book, path):
    names = [t.name for ws in book.worksheets for t in ws.tables.values()]
    problems = [f"table name {n!r} repeats" for n in sorted({n for n in names if names.count(n) > 1})]
    return problems + [f"default table name {n!r}" for n in names if re.fullmatch(r"Table\d+", n)]


def one_header_row(book, path):
    problems = []
    for ws in book.worksheets:
        for table, header, _ in _data_cells(ws):
            values = [c.value for c in header]
            if table.headerRowCount not in (None, 1):
                problems.append(f"{ws.title}: {table.headerRowCount} header rows")
            if not all(isinstance(v, str) and v.strip() for v in values) or len(set(values)) != len(values):
                problems.append(f"{ws.title}: header cells {values}")
    return problems


def no_empty_cells_rows_or_columns_in_tables(book, path):
    problems = []
    for ws in book.worksheets:
        for _, _, rows in _data_cells(ws):
            empty = [c.coordinate for row in rows for c in row if c.value is None or str(c.value).strip() == ""]
            if empty:
                problems.append(f"{ws.title}: {len(empty)} empty cells, e.g. {empty[:3]}")
    return problems


def no_merged_cells(book, path):
    return [f"{ws.title}: merged {ws.merged_cells.ranges}" for ws in book.worksheets if ws.merged_cells.ranges]


def title_in_a1(book, path):
    problems = []
    for ws in book.worksheets:
        cell = ws["A1"]
        if not isinstance(cell.value, str) or not cell.value.strip():
            problems.append(f"{ws.title}: A1 is {cell.value!r}")
        elif not (cell.font.b or (cell.font.sz or 11) >= 14):
            problems.append(f"{ws.title}: A1 is not formatted as a title")
    return problems


def content_starts_in_column_a(book, path):
    problems = []
    for ws in book.worksheets:
        for table, min_col, min_row, _, _ in _tables(ws):
            if min_col != 1:
                problems.append(f"{ws.title}: table {table.name} starts in column {min_col}")
            above = [c.coordinate for row in ws.iter_rows(max_row=min_row - 1) for c in row[1:] if c.value is not None]
            if above:
                problems.append(f"{ws.title}: text above the table outside column A: {above[:3]}")
    return problems


def nothing_below_or_beside_tables(book, path):
    problems = []
    for ws in book.worksheets:
        for _, _, min_row, max_col, max_row in _tables(ws):
            if ws.max_row > max_row:
                problems.append(f"{ws.title}: content below the table (row {ws.max_row})")
            beside = [c.coordinate for row in ws.iter_rows(min_row=min_row, min_col=max_col + 1) for c in row
                      if c.value is not None]
            if beside:
                problems.append(f"{ws.title}: content beside the table: {beside[:3]}")
    return problems


def no_images_or_charts(book, path):
    return [f"{ws.title}: images or charts" for ws in book.worksheets if ws._images or ws._charts]


def no_background_fill_or_colour_only_meaning(book, path):
    problems = []
    for ws in book.worksheets:
        filled = [c.coordinate for row in ws.iter_rows() for c in row if c.fill is not None and c.fill.fill_type]
        coloured = [c.coordinate for row in ws.iter_rows() for c in row
                    if c.value is not None and c.hyperlink is None and c.font.color is not None
                    and c.font.color.type == "rgb" and c.font.color.rgb not in ("FF000000", "00000000")]
        if filled:
            problems.append(f"{ws.title}: background fill in {filled[:3]}")
        if coloured:
            problems.append(f"{ws.title}: coloured text (not a link) in {coloured[:3]}")
    return problems


def numbers_stored_as_numbers(book, path):
    """No number stored as text in a table (``105``, ``1,234``, ``152 of 153``), and a column that holds
    numbers holds nothing else but shorthand symbols such as ``[c]``."""
    problems = []
    for ws in book.worksheets:
        for _, header, rows in _data_cells(ws):
            for position, head in enumerate(header):
                cells = [row[position] for row in rows]
                as_text = [c.coordinate for c in cells
                           if isinstance(c.value, str) and NUMBER_AS_TEXT.fullmatch(c.value)]
                if as_text:
                    problems.append(f"{ws.title} {head.value!r}: numbers as text in {as_text[:3]}")
                if any(c.data_type == "n" and c.value is not None for c in cells):
                    other = [c.coordinate for c in cells if c.data_type != "n" and not SYMBOL.fullmatch(str(c.value))]
                    if other:
                        problems.append(f"{ws.title} {head.value!r}: text in a numeric column, e.g. {other[:3]}")
    return problems


def symbols_in_brackets_and_explained(book, path):
    used = set()
    for ws in book.worksheets:
        for _, header, rows in _data_cells(ws):
            used |= {s for c in header for s in SYMBOL.findall(str(c.value))}
            used |= {str(c.value) for row in rows for c in row if SYMBOL.fullmatch(str(c.value))}
    explained = {m.group(1) for name in ("Cover", "Notes") if name in book.sheetnames
                 for m in EXPLAINED.finditer(_text(book[name]))}
    return [f"symbol {s} is not explained on the cover or notes" for s in sorted(used - explained)]


def nothing_hidden(book, path):
    problems = [f"{ws.title}: sheet {ws.sheet_state}" for ws in book.worksheets if ws.sheet_state != "visible"]
    for ws in book.worksheets:
        problems += [f"{ws.title}: row {n} hidden" for n, d in ws.row_dimensions.items() if d.hidden]
        problems += [f"{ws.title}: column {k} hidden" for k, d in ws.column_dimensions.items() if d.hidden]
    return problems


def document_title_and_language(book, path):
    problems = [] if (book.properties.title or "").strip() else ["no document title"]
    return problems + ([] if (book.properties.language or "").startswith("en") else
                       [f"document language is {book.properties.language!r}"])


def no_filters_or_freeze_panes(book, path):
    problems = [f"{ws.title}: freeze panes at {ws.freeze_panes}" for ws in book.worksheets if ws.freeze_panes]
    problems += [f"{ws.title}: sheet filter" for ws in book.worksheets if ws.auto_filter.ref]
    return problems + [f"{ws.title}: filter on {t.name}" for ws in book.worksheets for t in ws.tables.values()
                       if t.autoFilter is not None]


def column_widths_within_excel_limit(book, path):
    return [f"{ws.title} column {k}: width {d.width:.0f}" for ws in book.worksheets
            for k, d in ws.column_dimensions.items() if d.width and d.width > EXCEL_MAX_WIDTH]


def long_text_wraps(book, path):
    """Long text in a table cell or a cover line wraps (text above a table may run across)."""
    cells = [(ws, c) for ws in book.worksheets for _, _, rows in _data_cells(ws) for row in rows for c in row]
    if "Cover" in book.sheetnames:
        cells += [(book["Cover"], c) for row in book["Cover"].iter_rows(min_row=2) for c in row]
    return [f"{ws.title}!{c.coordinate}: {len(c.value)} characters, not wrapped" for ws, c in cells
            if isinstance(c.value, str) and len(c.value) > UNWRAPPED and not c.alignment.wrap_text]


def short_unique_sheet_names_without_spaces(book, path):
    names = book.sheetnames
    problems = [f"sheet name {n!r}" for n in names if " " in n or len(n) > 31]
    return problems + (["sheet names repeat"] if len({n.lower() for n in names}) != len(names) else [])


def no_blank_sheets(book, path):
    return [f"{ws.title} is blank" for ws in book.worksheets if ws.max_row == 1 and ws["A1"].value is None]


def opens_at_a1_of_the_first_sheet(book, path):
    problems = [] if book.active is book.worksheets[0] else [f"opens at sheet {book.active.title}"]
    for ws in book.worksheets:
        for selection in ws.sheet_view.selection:
            if selection.activeCell not in (None, "A1"):
                problems.append(f"{ws.title}: cursor at {selection.activeCell}")
    return problems


def no_macros(book, path):
    with zipfile.ZipFile(path) as archive:
        macros = [n for n in archive.namelist() if "vbaProject" in n]
    return ([f"macros: {macros}"] if macros else []) + ([] if path.suffix == ".xlsx" else [f"{path.suffix} file"])


def no_headers_or_footers(book, path):
    problems = []
    for ws in book.worksheets:
        parts = (ws.oddHeader, ws.oddFooter, ws.evenHeader, ws.evenFooter, ws.firstHeader, ws.firstFooter)
        if any(part.left.text or part.center.text or part.right.text for part in parts):
            problems.append(f"{ws.title}: header or footer")
    return problems


def links_have_text_and_work(book, path):
    problems = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.hyperlink is None:
                    continue
                if not isinstance(c.value, str) or re.match(r"(https?://|www\.)", c.value):
                    problems.append(f"{ws.title}!{c.coordinate}: link text {c.value!r}")
                target = (c.hyperlink.location or "").split("!")[0].strip("'")
                if c.hyperlink.location and target not in book.sheetnames:
                    problems.append(f"{ws.title}!{c.coordinate}: link to missing sheet {target!r}")
    return problems


def note_markers_not_superscript(book, path):
    return [f"{ws.title}!{c.coordinate}: superscript" for ws in book.worksheets for row in ws.iter_rows()
            for c in row if c.value is not None and c.font.vertAlign in ("superscript", "subscript")]


CHECKLIST: dict[str, Callable] = {
    "Cover sheet first, title in A1": cover_sheet_first,
    "Cover gives publication date, next update, source and contact": cover_says_when_where_from_and_who,
    "Contents lists and links every sheet, the Notes sheet included": contents_lists_every_sheet,
    "Notes in a notes table on a Notes sheet": notes_sheet_is_a_table,
    "One marked-up table per sheet (none on the cover)": one_marked_up_table_per_sheet,
    "Tables have unique, meaningful names": tables_have_unique_meaningful_names,
    "Each table has one header row": one_header_row,
    "No empty cells, rows or columns within tables": no_empty_cells_rows_or_columns_in_tables,
    "No merged cells": no_merged_cells,
    "Every sheet has its title in A1": title_in_a1,
    "Content in column A; tables against the left edge": content_starts_in_column_a,
    "Nothing below or beside a table": nothing_below_or_beside_tables,
    "No images or charts": no_images_or_charts,
    "No background fill; colour not used to carry meaning": no_background_fill_or_colour_only_meaning,
    "Numbers stored as numbers": numbers_stored_as_numbers,
    "Symbols in square brackets, explained on the cover or notes": symbols_in_brackets_and_explained,
    "No hidden sheets, rows or columns": nothing_hidden,
    "Document title and language set": document_title_and_language,
    "No filters or freeze panes": no_filters_or_freeze_panes,
    "Column widths within Excel's 255": column_widths_within_excel_limit,
    "Long text wraps within cells": long_text_wraps,
    "Short, unique sheet names without spaces": short_unique_sheet_names_without_spaces,
    "No blank worksheets": no_blank_sheets,
    "Opens at cell A1 of the first sheet": opens_at_a1_of_the_first_sheet,
    "No macros": no_macros,
    "No headers or footers": no_headers_or_footers,
    "Links have descriptive text and reach their sheet": links_have_text_and_work,
    "Note markers are not superscript": note_markers_not_superscript,
}


def run_checklist(path: Path) -> dict[str, list[str]]:
    """Every item's problems for one workbook (an empty list: met)."""
    book = openpyxl.load_workbook(path)
    return {item: check(book, path) for item, check in CHECKLIST.items()}


# ---------------------------------------------------------------------------------------------
# The checker finds every planted breach
# ---------------------------------------------------------------------------------------------
def _broken_workbook(path: Path) -> Path:
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.table import Table

    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data sheet"  # first sheet not a cover; a space in its name
    data["B1"] = "Title away from A1"
    data.append(["Area", "Value", "Value"])  # repeated header
    data.append(["England", "105", None])  # a number as text, an empty cell
    data.append(["Wales", 7, "152 of 153"])
    data.append(["Scotland", "[q]", 3])  # an unexplained symbol
    data.add_table(Table(displayName="Table1", ref="A2:C6"))  # default name; it keeps a filter
    data.merge_cells("D7:E7")
    data["A9"] = "below the table"
    data["D3"] = "beside"
    data["A3"].fill = PatternFill("solid", fgColor="FFFF0000")
    data["A4"].font = Font(color="FFFF0000", vertAlign="superscript")
    data["A6"] = "x" * 150
    data["A6"].alignment = Alignment(wrap_text=False)
    data.freeze_panes = "B3"
    data.column_dimensions["F"].width = 300
    data.column_dimensions["G"].hidden = True
    data.oddHeader.center.text = "Header"
    data["A7"] = "http://example.org"
    data["A7"].hyperlink = "http://example.org"
    data["A8"] = "Missing"
    data["A8"].hyperlink = "#'Nowhere'!A1"
    data["A8"].hyperlink.location = "'Nowhere'!A1"
    png = path.parent / "pixel.png"
    png.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                  "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"))
    data.add_image(Image(str(png)), "H1")
    extra = book.create_sheet("Data sheet 2")
    extra.add_table(Table(displayName="Table1_", ref="B1:B2"))  # not against the left edge
    extra["B1"], extra["B2"] = "Only", "x"
    book.create_sheet("hidden").sheet_state = "hidden"
    book.create_sheet("blank")
    book.active = 1
    book.properties.title = None
    book.properties.language = None
    book.save(path)
    return path


def test_the_checker_finds_every_planted_breach(tmp_path):
    results = run_checklist(_broken_workbook(tmp_path / "broken.xlsx"))
    met = [item for item, problems in results.items() if not problems]
    # Macros cannot be planted with openpyxl; the zip check is exercised by the .xlsm name below.
    assert met == ["No macros"], met
    (tmp_path / "broken.xlsm").write_bytes((tmp_path / "broken.xlsx").read_bytes())
    assert no_macros(None, tmp_path / "broken.xlsm") == [".xlsm file"]


# ---------------------------------------------------------------------------------------------
# The published workbooks
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checklist_results(small_reports) -> dict[str, dict[str, list[str]]]:
    # The accessible workbooks; the DHSC-layout ones follow DHSC's layout (a blank LA code, say).
    paths = sorted(p for p in (small_reports / MONTH / "spreadsheets").glob("*.xlsx") if not p.stem.endswith("_dhsc"))
    assert [p.name for p in paths] == ["assessments.xlsx", "long_term_support.xlsx"]
    results = {path.name: run_checklist(path) for path in paths}
    width = max(map(len, CHECKLIST))
    print("\nAnalysis Function spreadsheet checklist, release", MONTH)
    for item in CHECKLIST:
        print(f"  {item:<{width}}  " + "  ".join(
            f"{name}: {'met' if not results[name][item] else 'NOT MET'}" for name in results))
    return results


@pytest.mark.parametrize("item", list(CHECKLIST))
def test_published_workbooks_meet_the_checklist(checklist_results, item):
    problems = {name: results[item] for name, results in checklist_results.items() if results[item]}
    assert problems == {}, problems


def test_workbooks_with_a_revisions_sheet_meet_the_checklist(tmp_path):
    """The small month has no earlier release; the golden input with revised cells adds the
    Revisions sheet, which must meet the checklist too."""
    import dataclasses

    from cldstats import disclosure
    from cldstats.publication import tables
    from tests.unit.publication import test_tables as golden

    published = golden._published()
    label = "2024-03 release of run 20240501T090000Z"
    revisions = disclosure.revisions_table(published, golden._previous_of(published), label)
    release = dataclasses.replace(golden._release(published), previous_release=label)
    for path in tables.write_workbooks(published, release, tmp_path, revisions=revisions):
        assert openpyxl.load_workbook(path).sheetnames[-1] == "Revisions"
        problems = {item: found for item, found in run_checklist(path).items() if found}
        assert problems == {}, (path.name, problems)
