"""Privacy and disclosure guarantees over every artefact of a published month.

One small synthetic month is published through the command line (``python -m cldstats publish``,
so the run log is written as a statistician's run writes it), then every file under the reports
folder is read: CSV, XLSX (every zip part), HTML, notebooks, SVG text, PNG text chunks, chart alt
texts, ``charts.json``, ``manifest.json``, ``index.html`` and the run logs.

* No personal data from the input: no NHS number with a valid check digit, no postcode, no full
  date of birth, name or LA person ID that the input files hold.
* Disclosure control: every published count is ``[c]``, ``[x]``, ``[z]`` or a multiple of 5 (so never
  1 to 4) in the CSVs, in the count cells of the spreadsheets and in the numbers the charts quote.
* Unrounded figures only under ``qa/``: no unrounded England or regional count that rounding
  changed appears anywhere else.

The scanner is tested on planted values first, so that none of the guarantees can pass by finding
nothing because it looked at nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.helpers.privacy import (
    figures_found,
    input_personal_values,
    personal_data_found,
    published_numbers,
    unrounded_figures,
    values_found,
)

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH = "2024-03"
SYMBOLS = {"[c]", "[x]", "[z]"}
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
AGE_LABELS = ("18 to 24", "25 to 44", "45 to 64", "65 to 74", "75 to 84", "85 to 94", "95 and above", "18 to 64",
              "65 and above")
# Numbers in chart texts that are not counts: dates, age bands, councils included, periods.
NOT_COUNTS = re.compile(
    rf"\b(?:\d{{1,2}} )?(?:{MONTHS}) \d{{4}}\b|\b\d+ of \d+(?: councils?)?\b|\b\d+ (?:councils?|months?|regions?)\b"
    r"|per 100,000|" + "|".join(re.escape(label) for label in AGE_LABELS)
)
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?![\w]|[.,]\d)")


def _outside_qa(root: Path):
    return lambda path: "qa" in path.relative_to(root).parts


# ---------------------------------------------------------------------------------------------
# The scanner finds what is planted (so the guarantees below cannot pass vacuously)
# ---------------------------------------------------------------------------------------------
def _png_with_text(keyword: str, text: str) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", f"{keyword}\0{text}".encode("latin-1"))
            + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))


def test_scanner_finds_planted_personal_data_and_unrounded_figures(tmp_path):
    root = tmp_path / "reports"
    release = root / MONTH
    for folder in ("logs", "data", "qa", "html", "charts", "spreadsheets"):
        (release / folder if folder != "logs" else root / folder).mkdir(parents=True)
    (root / "logs" / f"{MONTH}-run.log").write_text("INFO stage done: person 943 476 5919 dropped\n")
    (root / "logs" / "clean.log").write_text("sha256 ab9434765919cd; 9434765918 fails its check digit\n")
    (release / "data" / "extra.csv").write_text("area,postcode\nHartlepool,TS24 8AA\n")
    (release / "charts" / "chart.png").write_bytes(_png_with_text("Description", "born 17/03/1941"))
    (release / "manifest.json").write_text(json.dumps({"note": "LAP-000123"}))
    workbook = openpyxl.Workbook()
    workbook.active.append(["Zebedee", 737])
    workbook.save(release / "spreadsheets" / "leaky.xlsx")
    clean = openpyxl.Workbook()
    for row in range(800):  # row numbers (r="737") are not cell values
        clean.active.append(["E92000001", 5 * row])
    clean.save(release / "spreadsheets" / "clean.xlsx")
    personal = {"nhs": set(), "postcode": set(), "dob": {"17/03/1941"}, "names": {"Zebedee"},
                "la_person_id": {"LAP-000123"}}

    found = personal_data_found(root, personal)
    assert any("run.log" in f and "NHS check digit" in f for f in found), found
    assert any("extra.csv" in f and "postcode" in f for f in found), found
    assert any("chart.png" in f and "date of birth" in f for f in found), found
    assert any("leaky.xlsx!xl/" in f and "name" in f for f in found), found
    assert any("manifest.json" in f and "LA person ID" in f for f in found), found
    assert not [f for f in found if "clean" in f], found
    assert values_found(root, ["Featherstonehaugh", "LAP-000123"]) == [
        f"{release / 'manifest.json'}: personal value #1 (LA...)"
    ]

    pd.DataFrame({
        "reference_date": ["2024-03-31"] * 3, "area_level": ["England", "Region", "Local Authority"],
        "area_code": ["E92000001", "E12000001", "E06000001"], "value": [1959, 737, 13],
    }).to_csv(release / "qa" / "long_term_support_unrounded.csv", index=False)
    (release / "data" / "long_term_support.csv").write_text("area_code,value\nE92000001,1960\nE12000001,735\n")
    (release / "html" / "publication.html").write_text("<p>1,959 people at 31 March 2024, run 2024-05-01 17:37</p>")
    (release / "qa" / "qa.html").write_text("<p>unrounded: 737 in the North East</p>")
    assert unrounded_figures(release) == {1959, 737}
    found = figures_found(root, unrounded_figures(release), skip=_outside_qa(root))
    assert [f.rsplit(": ", 1)[-1] for f in found] == ["1959", "737"], found
    assert "publication.html" in found[0] and "leaky.xlsx!xl/worksheets/sheet1.xml" in found[1]


# ---------------------------------------------------------------------------------------------
# A published month
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(small_data_dir) -> Path:
    return small_data_dir


@pytest.fixture(scope="module")
def reports(small_reports) -> Path:
    """The reports folder after ``python -m cldstats publish`` of 2024-03 from 8 councils
    (tests/conftest.py)."""
    return small_reports


def test_every_kind_of_artefact_is_there_to_scan(reports):
    suffixes = {p.suffix for p in reports.rglob("*") if p.is_file()}
    assert {".csv", ".xlsx", ".html", ".ipynb", ".svg", ".png", ".txt", ".json", ".log"} <= suffixes
    assert (reports / "index.html").is_file() and (reports / MONTH / "manifest.json").is_file()


def test_no_personal_data_in_any_artefact(reports, data_dir):
    personal = input_personal_values(data_dir)
    assert min(len(values) for values in personal.values()) >= 20  # the input has plenty to leak
    assert personal_data_found(reports, personal) == []


def test_published_csv_counts_are_rounded_or_symbols(reports):
    checked = 0
    for path in sorted(reports.rglob("data/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "value" not in frame.columns:
            continue  # the rates table: rates and populations are not counts
        numbers = frame.loc[~frame["value"].isin(SYMBOLS), "value"]
        bad = numbers[~numbers.str.fullmatch(r"\d+") | (pd.to_numeric(numbers, errors="coerce") % 5 != 0)]
        assert bad.empty, f"{path}: {bad.unique()[:10].tolist()}"
        checked += len(numbers)
    assert checked > 1000


def _count_tables(workbook) -> list:
    """The table sheets holding counts (not rates, populations or councils included)."""
    tables = []
    for sheet in workbook.worksheets:
        title = str(next(sheet.iter_rows(max_row=1, values_only=True))[0] or "").lower()
        if sheet.title.startswith("Table") and not any(
            word in title for word in ("per 100,000", "population", "councils included")
        ):
            tables.append(sheet)
    return tables


def test_spreadsheet_count_cells_are_multiples_of_5(reports):
    checked, bad = 0, []
    for path in sorted(reports.rglob("spreadsheets/*.xlsx")):
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            tables = _count_tables(workbook)
            assert tables, path
            for sheet in tables:
                rows = sheet.iter_rows(values_only=True)
                for row in rows:  # notes above the table, down to its header row
                    if row and row[0] == "Area code":
                        break
                for row in rows:
                    for value in row:
                        if isinstance(value, str) and re.fullmatch(r"\d[\d,]*", value):
                            value = int(value.replace(",", ""))  # a number stored as text is still a number
                        if isinstance(value, bool) or not isinstance(value, (int, float)):
                            continue  # area names, codes, breakdown values, [c] [x] [z], revised periods
                        checked += 1
                        if value != int(value) or value < 0 or value % 5:
                            bad.append(f"{path.name}!{sheet.title}: {value}")
        finally:
            workbook.close()
    assert bad == [], bad[:10]
    assert checked > 1000


def test_chart_texts_quote_only_rounded_counts(reports):
    charts_dir = reports / MONTH / "charts"
    charts = json.loads((charts_dir / "charts.json").read_text(encoding="utf-8"))["charts"]
    count_charts = 0
    for chart in charts:
        texts = [chart["title"], chart["alt_text"], chart["description"]]
        texts.append((charts_dir / chart["files"]["alt_text"]).read_text(encoding="utf-8"))
        if any("per 100,000" in text for text in texts):
            continue  # a chart of rates: its numbers are rates, not counts
        count_charts += 1
        numbers = [m for text in texts for m in NUMBER.findall(NOT_COUNTS.sub(" ", text))]
        assert numbers, chart["name"]
        off = sorted({n for n in numbers if int(n.replace(",", "")) % 5})
        assert off == [], f"{chart['name']} quotes {off}"
    assert count_charts >= 3


def test_unrounded_figures_appear_only_under_qa(reports):
    # Unrounded England and regional counts that rounding changed; numbers that are published
    # anyway (a rate, a population, a council count, an age band) are not evidence of a leak.
    # The restricted QA report and its notebook quote unrounded figures: they live under qa/.
    figures = unrounded_figures(reports / MONTH)
    assert len(figures) >= 50
    distinctive = figures - published_numbers(reports)
    assert len(distinctive) >= 20
    assert figures_found(reports, distinctive, skip=_outside_qa(reports)) == []
