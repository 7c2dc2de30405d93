"""Accessible spreadsheets (:mod:`cldstats.publication.tables`).

The workbooks are built from a tiny synthetic input committed under ``tests/golden/input/``
(four areas, two months, every breakdown, with ``[c]``, ``[x]``, ``[z]``, a zero and one ``p r``
cell per table: made up, not client-level data).

* The golden test compares every XML part of each ``.xlsx`` (canonicalised, pretty-printed) with
  the committed copies under ``tests/golden/<workbook>/``; the zip container and its bytes are not
  compared. After an intended change to the workbooks, regenerate the goldens with::

      CLDSTATS_UPDATE_GOLDEN=1 pytest tests/unit/publication/test_tables.py

  and review the XML diff before committing it.
* The other tests read the workbooks back with openpyxl: one header row per table, numbers stored
  as numbers, symbols where expected, cover/contents/notes text, and CSV = spreadsheet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import zipfile
from pathlib import Path
from xml.dom import minidom
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest

from cldstats.publication import tables, tidy_tables, xlsx_writing
from cldstats.reference import statements
from cldstats.reference.statements import MethodFacts
from tests.helpers.paths import GOLDEN, REPO

INPUT = GOLDEN / "input"
UPDATE = os.environ.get("CLDSTATS_UPDATE_GOLDEN") == "1"
NAMES = ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates")
SYMBOLS = {"[c]", "[x]", "[z]"}
OVERRIDE = "Synthetic test: coverage below the 90% threshold accepted for testing"


def _published() -> dict[str, pd.DataFrame]:
    return {n: pd.read_csv(INPUT / f"{n}.csv", dtype=str, keep_default_na=False) for n in NAMES}


def _release(published) -> tables.ReleaseInfo:
    return tables.ReleaseInfo(
        month="2024-03",
        reference_date=dt.date(2024, 3, 31),
        councils_selected=130,
        publication_date=dt.date(2024, 5, 9),
        facts=MethodFacts(),
        revised_cells=tables.count_revised_cells(published),
        override_reason=OVERRIDE,
        gate_message="publication gate stopped: coverage 85.0% is below 90.0%",
        contact_email="golden-test@example.org",
        next_update=dt.date(2024, 8, 8),
    )


@pytest.fixture(scope="module")
def published():
    return _published()


@pytest.fixture(scope="module")
def workbooks(published, tmp_path_factory):
    out = tmp_path_factory.mktemp("spreadsheets")
    paths = tables.write_workbooks(published, _release(published), out)
    return {p.stem: p for p in paths}


def _xml_parts(path: Path) -> dict[str, str]:
    """Every XML part of an .xlsx, canonicalised (C14N) and pretty-printed for readable diffs."""
    parts = {}
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if not name.endswith((".xml", ".rels")):
                continue
            canonical = ElementTree.canonicalize(archive.read(name).decode("utf-8"))
            parts[name] = minidom.parseString(canonical.encode("utf-8")).toprettyxml(indent="  ")
    return parts


def _table_sheets(book) -> list[str]:
    return [name for name in book.sheetnames if name.startswith("Table_")]


def _header_row(ws) -> int:
    (table,) = ws.tables.values()
    return int(re.match(r"[A-Z]+(\d+)", table.ref).group(1))


# ---------------------------------------------------------------------------------------------
# Golden XML parts and determinism
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", ["long_term_support", "assessments"])
def test_xml_parts_match_goldens(workbooks, stem):
    parts = _xml_parts(workbooks[stem])
    golden_dir = GOLDEN / stem
    if UPDATE:
        shutil.rmtree(golden_dir, ignore_errors=True)
        for name, text in parts.items():
            target = golden_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    assert golden_dir.is_dir(), "no goldens: run CLDSTATS_UPDATE_GOLDEN=1 pytest tests/unit/publication/test_tables.py"
    committed = {p.relative_to(golden_dir).as_posix() for p in golden_dir.rglob("*") if p.is_file()}
    assert set(parts) == committed, "the workbook's parts differ from the goldens' (added or missing sheets?)"
    for name, text in parts.items():
        expected = (golden_dir / name).read_text(encoding="utf-8")
        assert text == expected, f"{stem}.xlsx part {name} differs from tests/golden/{stem}/{name}"


@pytest.mark.slow
def test_two_runs_give_identical_parts_and_bytes(published, workbooks, tmp_path):
    again = {p.stem: p for p in tables.write_workbooks(published, _release(published), tmp_path)}
    for stem, path in workbooks.items():
        assert _xml_parts(again[stem]) == _xml_parts(path)
        # xlsxwriter stamps zip members with a fixed date, so even the bytes (the manifest's
        # SHA-256) repeat; the golden test itself does not rely on this.
        assert again[stem].read_bytes() == path.read_bytes()


def test_document_properties_are_fixed(workbooks):
    with zipfile.ZipFile(workbooks["long_term_support"]) as archive:
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert "2024-05-09T00:00:00Z" in core  # the publication date, not the clock
    assert "<dc:creator>cldstats</dc:creator>" in core
    book = openpyxl.load_workbook(workbooks["long_term_support"])
    assert book.properties.language == "en-GB" and book.properties.title.startswith("People receiving")


# ---------------------------------------------------------------------------------------------
# Structure: sheets, one header row, numbers as numbers, symbols
# ---------------------------------------------------------------------------------------------
def test_sheets_in_order(workbooks):
    lts = openpyxl.load_workbook(workbooks["long_term_support"])
    assert lts.sheetnames == ["Cover", "Contents", "Notes"] + [f"Table_{n}" for n in range(1, 9)]
    assessed = openpyxl.load_workbook(workbooks["assessments"])
    assert assessed.sheetnames == ["Cover", "Contents", "Notes"] + [f"Table_{n}" for n in range(1, 9)]


@pytest.mark.parametrize("stem", ["long_term_support", "assessments"])
def test_each_table_has_exactly_one_header_row(workbooks, stem):
    book = openpyxl.load_workbook(workbooks[stem])
    for name in _table_sheets(book):
        ws = book[name]
        assert len(ws.tables) == 1 and not ws.merged_cells.ranges
        (table,) = ws.tables.values()
        assert table.headerRowCount in (None, 1)  # None is the OOXML default of 1
        header = _header_row(ws)
        headers = [c.value for c in ws[header]]
        assert headers[0] == "Area code" and all(isinstance(h, str) and "\n" not in h for h in headers)
        # Above the header only single-cell text lines in column A (title, units, instructions, source);
        # below it data rows, the first of which is England.
        for row in ws.iter_rows(min_row=1, max_row=header - 1):
            assert all(c.value is None for c in row[1:])
        assert ws.cell(header + 1, 1).value == "E92000001"
        last_row = int(re.search(r"(\d+)$", table.ref).group(1))
        assert ws.max_row == last_row  # nothing written below the table


TEXT_COLUMNS = {"Area code", "Area name", "Area level", "Support setting", "Revised [r]", *tidy_tables.BREAKDOWNS,
                tidy_tables.BREAKDOWN_HEADER, tidy_tables.BREAKDOWN_VALUE_HEADER}


@pytest.mark.parametrize("stem", ["long_term_support", "assessments"])
def test_numbers_are_numeric_cells_and_symbols_text(workbooks, stem):
    book = openpyxl.load_workbook(workbooks[stem])
    for name in _table_sheets(book):
        ws = book[name]
        header = _header_row(ws)
        for col, title in enumerate((c.value for c in ws[header]), start=1):
            if title in TEXT_COLUMNS:
                continue
            cells = [ws.cell(r, col) for r in range(header + 1, ws.max_row + 1)]
            assert all(c.data_type == "n" or c.value in SYMBOLS for c in cells), (name, title)
            assert all(isinstance(c.value, int) for c in cells if c.data_type == "n")
            # Symbols and numbers align the same way (right) within a numeric column.
            assert {c.alignment.horizontal for c in cells} == {"right"}, (name, title)


def test_symbols_present_where_expected(workbooks):
    lts = openpyxl.load_workbook(workbooks["long_term_support"])
    table1 = tables.read_table(workbooks["long_term_support"], "Table_1")
    middlesbrough = table1[table1["Area code"].eq("E06000002")]
    assert (middlesbrough[["29 February 2024 [p]", "31 March 2024 [p]"]] == "[x]").all().all()
    unknown = table1[table1["Area code"].eq("E06000001") & table1["Age group"].eq("Unknown")]
    assert (unknown["31 March 2024 [p]"] == "[c]").all()
    rates = tables.read_table(workbooks["long_term_support"], "Table_6")
    with_data = rates["Area code"].ne("E06000002")
    assert rates.loc[with_data & rates["Breakdown value"].eq("Unknown"), "31 March 2024 [p]"].eq("[z]").all()
    # ADASS regions have counts but no population: [z] in every rate cell.
    adass = rates[rates["Area level"].eq("ADASS region")]
    assert len(adass) and adass[["29 February 2024 [p]", "31 March 2024 [p]"]].eq("[z]").all().all()
    values = {c.value for ws in lts.worksheets for row in ws.iter_rows() for c in row}
    assert SYMBOLS <= values


def test_revised_cells_are_marked_in_the_revised_column(workbooks):
    table1 = tables.read_table(workbooks["long_term_support"], "Table_1")
    revised = table1[table1["Revised [r]"].ne(tidy_tables.NOT_REVISED)]
    assert revised[["Area code", "Support setting", "Age group", "Revised [r]"]].values.tolist() == [
        ["E06000001", "All", "65 and above", "[r] 29 February 2024"]
    ]
    # The revised row still holds numbers, not "55 [r]".
    assert isinstance(revised["29 February 2024 [p]"].iloc[0], int)
    rates = tables.read_table(workbooks["long_term_support"], "Table_6")
    assert rates.loc[rates["Revised [r]"].ne(tidy_tables.NOT_REVISED), "Revised [r]"].tolist() == ["[r] 31 March 2024"]
    assessed = tables.read_table(workbooks["assessments"], "Table_3")
    hit = assessed[assessed["Revised [r]"].ne(tidy_tables.NOT_REVISED)]
    assert hit[["Area code", "Gender", "Revised [r]"]].values.tolist() == [
        ["E92000001", "Female", "[r] Total February 2024 to March 2024"]
    ]
    assessed_rates = tables.read_table(workbooks["assessments"], "Table_6")
    hit = assessed_rates[assessed_rates["Revised [r]"].ne(tidy_tables.NOT_REVISED)]
    assert hit[["Area code", "Breakdown", "Revised [r]"]].values.tolist() == [
        ["E06000001", "All", "[r] Total February 2024 to March 2024"]
    ]


def test_period_headers_carry_p_only_when_every_cell_is_provisional(published):
    lts = published["long_term_support"].copy()
    lts.loc[lts["reference_date"].eq("2024-02-29"), "flags"] = ""
    frames = tables.table_frames({**published, "long_term_support": lts})
    columns = list(frames["long_term_support"]["Age group"].columns)
    assert "29 February 2024" in columns and "31 March 2024 [p]" in columns
    assert list(tables.table_frames(published)["assessments"]["Gender"].columns)[-3:] == [
        "March 2024 [p]", "Total February 2024 to March 2024 [p]", "Revised [r]"
    ]


def test_values_that_are_neither_numbers_nor_symbols_are_refused(published):
    lts = published["long_term_support"].copy()
    lts.loc[0, "value"] = "105 [r]"
    with pytest.raises(ValueError, match="whole numbers"):
        tables.table_frames({**published, "long_term_support": lts})


# ---------------------------------------------------------------------------------------------
# Cover, contents, notes
# ---------------------------------------------------------------------------------------------
def _sheet_text(path: Path, sheet: str) -> str:
    ws = openpyxl.load_workbook(path)[sheet]
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


@pytest.mark.parametrize("stem", ["long_term_support", "assessments"])
def test_cover_contents_and_notes(workbooks, published, stem):
    path = workbooks[stem]
    cover = _sheet_text(path, "Cover")
    for text in ("official statistics in development", "Reference period:", "Published: 9 May 2024",
                 "Source: Adult Social Care Client Level Data", "130 of 153 councils", "golden-test@example.org",
                 OVERRIDE, "Revisions: 4 published figures"):
        assert text in cover, text
    period = "29 February 2024 to 31 March 2024" if stem == "long_term_support" else "February 2024 to March 2024"
    assert f"Reference period: {period}." in cover
    assert "Next update: 8 August 2024." in cover

    book = openpyxl.load_workbook(path)
    ws = book["Contents"]
    (contents,) = ws.tables.values()
    first, last = (int(n) for n in re.findall(r"\d+", contents.ref))
    listed = [ws.cell(row, 1) for row in range(first + 1, last + 1)]
    # Every sheet after the contents, the Notes sheet included, each with a link to it.
    assert [c.value for c in listed] == book.sheetnames[2:] == ["Notes"] + _table_sheets(book)
    assert all(c.hyperlink is not None and c.hyperlink.location == f"'{c.value}'!A1" for c in listed)

    notes = _sheet_text(path, "Notes")
    facts = _release(published).facts
    for text in ("[c] confidential", "[x] not available", "[z] not applicable", "[p] provisional", "[r] revised",
                 statements.rounding_sentence(facts), "130 of 153 councils", OVERRIDE, "Revised [r] column"):
        assert text in notes, text
    assert "per 100,000" in notes and "Census 2021" in notes and "not comparable" in notes
    assert statements.rate_counts_sentence(stem) in notes
    # The notes name every council whose ADASS membership is not confirmed (39 inferred, 2 assigned).
    assert statements.adass_sentence(facts) in notes
    assert "Cumberland (E06000063) to North West" in notes and "Isles of Scilly (E06000053)" in notes


# ---------------------------------------------------------------------------------------------
# CSV = spreadsheet
# ---------------------------------------------------------------------------------------------
def _long_from_sheet(path: Path, sheet: str, keys: list[str], breakdown_header: str | None) -> pd.DataFrame:
    table = tables.read_table(path, sheet).drop(columns=["Revised [r]"], errors="ignore")
    if breakdown_header:
        table = table.rename(columns={breakdown_header: "Breakdown value"})
    melted = table.melt(id_vars=keys, var_name="period", value_name="cell")
    # Numbers back to the CSV's text; symbols are already text.
    melted["cell"] = melted["cell"].map(lambda v: v if isinstance(v, str) else str(int(v)))
    melted["period"] = melted["period"].str.replace(" [p]", "", regex=False)
    return melted


def _expected(csv: pd.DataFrame, period_column: str, value_column: str, keys: dict[str, str]) -> pd.DataFrame:
    periods = list(csv[period_column].unique())
    out = csv.rename(columns=keys)
    out["period"] = csv[period_column].map({p: tables.period_label(p, periods) for p in periods})
    out["cell"] = csv[value_column]
    return out[[*keys.values(), "period", "cell"]]


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    cols = list(expected.columns)
    a = actual[cols].drop_duplicates().sort_values(cols).reset_index(drop=True)
    e = expected.drop_duplicates().sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, e)


LTS_KEYS = {"area_code": "Area code", "area_name": "Area name", "area_level": "Area level",
            "support_setting": "Support setting", "breakdown_value": "Breakdown value"}
ASSESSED_KEYS = {k: v for k, v in LTS_KEYS.items() if k != "support_setting"}


@pytest.mark.parametrize(
    ("stem", "csv_name", "period_column", "keys", "has_setting"),
    [("long_term_support", "long_term_support", "reference_date", LTS_KEYS, True),
     ("assessments", "assessments", "reference_month", ASSESSED_KEYS, False)],
)
def test_count_tables_equal_the_csv(workbooks, published, stem, csv_name, period_column, keys, has_setting):
    csv = published[csv_name]
    path = workbooks[stem]
    seen = []
    for number, breakdown in enumerate(tidy_tables.BREAKDOWNS, start=1):
        actual = _long_from_sheet(path, f"Table_{number}", list(keys.values()), breakdown)
        rows = csv[csv["breakdown"].isin(["All", breakdown])]
        _same(actual, _expected(rows, period_column, "value", keys))
        seen.append(actual)
    # Every CSV cell is in the workbook.
    _same(pd.concat(seen), _expected(csv, period_column, "value", keys))


RATE_KEYS = {**{k: v for k, v in LTS_KEYS.items() if k != "breakdown_value"}, "breakdown": "Breakdown",
             "breakdown_value": "Breakdown value"}


def test_rate_and_population_tables_equal_the_csv(workbooks, published):
    csv = published["long_term_support_rates"]
    path = workbooks["long_term_support"]
    # Every rate and population of the CSV, every breakdown, is in the tables.
    assert set(csv["breakdown"]) == {"All", "Age group", "Age band", "Gender", "Ethnicity group", "Ethnicity"}
    _same(_long_from_sheet(path, "Table_6", list(RATE_KEYS.values()), None),
          _expected(csv, "reference_date", "rate", RATE_KEYS))
    pop_keys = {k: v for k, v in RATE_KEYS.items() if k != "support_setting"}
    _same(_long_from_sheet(path, "Table_7", list(pop_keys.values()), None),
          _expected(csv, "reference_date", "population", pop_keys))


def test_assessment_rate_and_population_tables_equal_the_csv(workbooks, published):
    csv = published["assessments_rates"]
    path = workbooks["assessments"]
    keys = {k: v for k, v in RATE_KEYS.items() if k != "support_setting"}
    rates = tables.read_table(path, "Table_6")
    assert list(rates.columns) == [*keys.values(), "Total February 2024 to March 2024 [p]", "Revised [r]"]
    assert list(tables.read_table(path, "Table_7").columns)[-1] == "Total February 2024 to March 2024"
    for sheet, column in (("Table_6", "rate"), ("Table_7", "population")):
        expected = _expected(csv, "reference_month", column, keys).assign(period="Total February 2024 to March 2024")
        _same(_long_from_sheet(path, sheet, list(keys.values()), None), expected)


def test_councils_included_table_equals_the_csv(workbooks, published):
    """Two numbers per area and period ("Councils in area", "Councils with data, <period>"), which
    read back as the CSV's ``"<n> of <N>"``."""
    area = {"area_code": "Area code", "area_name": "Area name", "area_level": "Area level"}
    for stem, sheet, period_column in (("long_term_support", "Table_8", "reference_date"),
                                       ("assessments", "Table_8", "reference_month")):
        table = tables.read_table(workbooks[stem], sheet)
        numbers = table.drop(columns=list(area.values()))
        assert numbers.columns[0] == "Councils in area"
        assert all(c.startswith("Councils with data, ") for c in numbers.columns[1:])
        assert numbers.map(lambda v: isinstance(v, int)).all().all()  # numbers, not "1 of 12"
        melted = table.melt(id_vars=[*area.values(), "Councils in area"], var_name="period", value_name="with_data")
        melted["period"] = melted["period"].str.removeprefix("Councils with data, ")
        melted["cell"] = melted["with_data"].astype(str) + " of " + melted["Councils in area"].astype(str)
        csv = published[stem]
        _same(melted, _expected(csv, period_column, "councils_included", area))


def test_councils_included_must_read_n_of_n(published):
    lts = published["long_term_support"].copy()
    lts.loc[0, "councils_included"] = "152/153"
    with pytest.raises(ValueError, match="'<n> of <N>'"):
        tables.table_frames({**published, "long_term_support": lts})


# ---------------------------------------------------------------------------------------------
# The fast table writer (xlsx_writing._write_table_elements) against gptables' own
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fast_table_writer_gives_the_bytes_gptables_gives(published, tmp_path, monkeypatch):
    """Same workbooks, byte for byte, with and without the fast writer; and it did write tables."""
    import contextlib

    plain = []
    original_plain_table = xlsx_writing._plain_table

    def counting(gptable):
        columns = original_plain_table(gptable)
        plain.append(columns is not None)
        return columns

    monkeypatch.setattr(xlsx_writing, "_plain_table", counting)
    fast = tables.write_workbooks(published, _release(published), tmp_path / "fast")
    assert sum(plain) >= 10, "the table sheets should go through the fast writer"
    assert not all(plain), "the contents sheet (links) should fall back to gptables' own writer"
    monkeypatch.setattr("cldstats.publication.workbooks.fast_table_writing", contextlib.nullcontext)
    slow = tables.write_workbooks(published, _release(published), tmp_path / "gptables")
    for a, b in zip(fast, slow, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_fast_table_writer_falls_back_on_cells_gptables_treats_specially(tmp_path):
    import gptables as gpt

    frame = pd.DataFrame({"Area": ["England", "  "], "Value": [1, 2]})
    table = gpt.GPTable(table=frame, table_name="t", title="T", instructions="I", source="S", index_columns={})
    assert xlsx_writing._plain_table(table) is None  # a whitespace-only cell: gptables blanks it
    frame = pd.DataFrame({"Area": ["England", "Wales"], "Value": [1.5, 2.0]})
    table = gpt.GPTable(table=frame, table_name="t", title="T", instructions="I", source="S", index_columns={})
    assert xlsx_writing._plain_table(table) is None  # floats are left to gptables
    frame = pd.DataFrame({"Area": ["England", "Wales"], "Value": [1, 2]}).astype(object)
    table = gpt.GPTable(table=frame, table_name="t", title="T", instructions="I", source="S", index_columns={})
    assert xlsx_writing._plain_table(table) is not None


# ---------------------------------------------------------------------------------------------
# Revisions: notes name the release compared with; a Revisions sheet lists cell, old, new
# ---------------------------------------------------------------------------------------------
def _previous_of(published) -> dict[str, pd.DataFrame]:
    """An earlier release in which exactly the cells flagged ``p r`` held other values."""
    from cldstats import disclosure

    previous = {}
    for name, frame in published.items():
        old = frame.copy()
        revised = old["flags"].eq("p r")
        for column in disclosure.COMPARED_COLUMNS[name][:1]:
            old.loc[revised, column] = old.loc[revised, column].map(lambda v: "[c]" if v == "5" else str(int(v) + 5))
        previous[name] = old
    return previous


@pytest.fixture(scope="module")
def revised_workbooks(published, tmp_path_factory):
    from cldstats import disclosure

    label = "2024-03 release of run 20240501T090000Z"
    revisions = disclosure.revisions_table(published, _previous_of(published), label)
    release = dataclasses.replace(_release(published), previous_release=label)
    out = tmp_path_factory.mktemp("revised")
    paths = tables.write_workbooks(published, release, out, revisions=revisions)
    return {p.stem: p for p in paths}, revisions


@pytest.mark.slow
def test_revisions_sheet_lists_cell_old_and_new(revised_workbooks, published):
    books, revisions = revised_workbooks
    assert len(revisions) == 4  # one revised cell per golden table
    for stem, sources, figures in (("long_term_support", ("long_term_support", "long_term_support_rates"),
                                    ["People", "Rate per 100,000 adults"]),
                                   ("assessments", ("assessments", "assessments_rates"),
                                    ["People assessed", "Rate per 100,000 adults, total over the months"])):
        book = openpyxl.load_workbook(books[stem])
        assert book.sheetnames[-1] == "Revisions" and _table_sheets(book) == [
            n for n in book.sheetnames if n.startswith("Table_")]
        contents = _sheet_text(books[stem], "Contents")
        assert "Revisions" in contents
        sheet = tables.read_table(books[stem], "Revisions")
        here = revisions[revisions["table"].isin(sources)]
        assert sheet["Figure"].tolist() == figures
        assert [str(v) for v in sheet["Previous value"]] == here["previous_value"].tolist()
        assert [str(v) for v in sheet["Revised value"]] == here["new_value"].tolist()
        assert sheet["Area code"].tolist() == here["area_code"].tolist()
        assert ("Support setting" in sheet.columns) == (stem == "long_term_support")
        # Numbers are numeric cells; the header row is the table's only header.
        ws = book["Revisions"]
        header = _header_row(ws)
        assert [c.value for c in ws[header]][-2:] == ["Previous value", "Revised value"]
        for row in ws.iter_rows(min_row=header + 1, max_row=ws.max_row):
            for cell in row[-2:]:
                assert cell.data_type == "n" or cell.value in SYMBOLS
        notes = _sheet_text(books[stem], "Notes")
        flagged = tables.count_revised_cells({s: published[s] for s in sources})
        assert f"{flagged} cells in this workbook (4 in the whole release) were revised" in notes
        assert "compared with the 2024-03 release of run 20240501T090000Z" in notes
        assert "The Revisions table lists each revised figure" in notes
        assert "(2024-03 release of run 20240501T090000Z)" in _sheet_text(books[stem], "Cover")


@pytest.mark.slow
def test_no_revisions_sheet_when_nothing_is_revised(published, tmp_path):
    from cldstats import disclosure

    unrevised = {n: f.assign(flags="p") for n, f in published.items()}
    empty = disclosure.revisions_table(unrevised, unrevised, "2024-03 release of run 20240501T090000Z")
    release = dataclasses.replace(_release(unrevised), previous_release="2024-03 release of run 20240501T090000Z")
    for path in tables.write_workbooks(unrevised, release, tmp_path, revisions=empty):
        book = openpyxl.load_workbook(path)
        assert "Revisions" not in book.sheetnames
        notes = _sheet_text(path, "Notes")
        assert "0 cells in this workbook (0 in the whole release) were revised" in notes
        assert "compared with the 2024-03 release of run 20240501T090000Z" in notes
        assert "Revisions table" not in notes
    first = dataclasses.replace(release, previous_release="")
    path = tables.write_workbooks(unrevised, first, tmp_path / "first", revisions=empty)[0]
    assert "no earlier release of these figures to compare with" in _sheet_text(path, "Notes")


# ---------------------------------------------------------------------------------------------
# Column widths, formula-like text, next update
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", ["long_term_support", "assessments"])
def test_no_column_is_wider_than_the_cap(workbooks, stem):
    book = openpyxl.load_workbook(workbooks[stem])
    widths = {(ws.title, key): dim.width for ws in book.worksheets for key, dim in ws.column_dimensions.items()
              if dim.width}
    # xlsxwriter stores a width with its padding (Excel shows 100 as 100.71).
    assert max(widths.values()) <= xlsx_writing.MAX_COLUMN_WIDTH + 1 < 255, max(widths.items(), key=lambda kv: kv[1])
    # The notes text is long enough to be capped, and wraps within its column.
    notes = book["Notes"]
    assert notes.column_dimensions["B"].width > xlsx_writing.MAX_COLUMN_WIDTH
    texts = [c for c in notes["B"] if isinstance(c.value, str) and len(c.value) > 200]
    assert texts and all(c.alignment.wrap_text for c in texts)


def test_formula_like_text_is_neutralised_in_the_workbooks(published, tmp_path):
    hostile = {"Hartlepool": '=HYPERLINK("evil.example","x")', "Middlesbrough": "@SUM(1)"}
    frames = {name: frame.assign(area_name=frame["area_name"].replace(hostile)) for name, frame in published.items()}
    release = dataclasses.replace(_release(frames), override_reason="-2+3 accepted", contact_email="+44@example.org")
    for path in tables.write_workbooks(frames, release, tmp_path):
        book = openpyxl.load_workbook(path)
        cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        texts = {c.value for c in cells if isinstance(c.value, str)}
        assert {"'" + v for v in hostile.values()} <= texts
        assert not [t for t in texts if t[0] in "=+-@\t\r"]
        # Numbers beside the neutralised names are still numbers.
        table = tables.read_table(path, "Table_1")
        hartlepool = table[table["Area code"].eq("E06000001")]
        assert hartlepool["Area name"].eq("'" + hostile["Hartlepool"]).all()
        assert hartlepool.iloc[:, 5:-1].map(lambda v: isinstance(v, int) or v in SYMBOLS).all().all()


def _params(month="2024-03", date="2024-06-14", next_update=""):
    return {"month": month, "publication": {"date": date, "next_update": next_update}}


def test_next_update_is_derived_from_the_next_release_params(tmp_path):
    params_dir = tmp_path / "params"
    params_dir.mkdir()
    defaults = (REPO / "params" / "defaults.yaml").read_text(encoding="utf-8")
    (params_dir / "defaults.yaml").write_text(defaults, encoding="utf-8")
    # 2024-04 to 2024-06 share the default cut-off 31 August 2024: published 14 September 2024.
    assert tables.next_update(_params(), params_dir) == dt.date(2024, 9, 14)
    # Months of one quarter are one release: 2024-01's next update is the next quarter's too.
    assert tables.next_update(_params("2024-01"), params_dir) == dt.date(2024, 9, 14)
    # A month file's own publication date is the next release's date (on or after its own cut-off:
    # params refuse a release published before the last submission it considers).
    (params_dir / "2024-04.yaml").write_text(
        'month: "2024-04"\ncutoff: "2024-06-30"\npublication:\n  date: "2024-07-11"\n', encoding="utf-8")
    assert tables.next_update(_params(), params_dir) == dt.date(2024, 7, 11)


def test_next_update_set_in_params():
    assert tables.next_update(_params(next_update="2024-07-04")) == dt.date(2024, 7, 4)
    assert tables.next_update(_params(next_update="To be announced")) is None
    from cldstats.reference.params import ParamsError

    with pytest.raises(ParamsError, match=r"^params key 'publication.next_update' must be a date"):
        tables.next_update(_params(next_update="next month"))
    with pytest.raises(ParamsError, match="must be after the publication date 2024-06-14"):
        tables.next_update(_params(next_update="2024-06-14"))


def test_cover_says_to_be_announced_without_a_date(published, tmp_path):
    release = dataclasses.replace(_release(published), next_update=None)
    path = tables.write_workbooks(published, release, tmp_path)[0]
    assert "Next update: To be announced." in _sheet_text(path, "Cover")
