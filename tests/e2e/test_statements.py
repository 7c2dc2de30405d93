"""Words from facts: every reader-facing statement of the method is built by
:mod:`cldstats.reference.statements` from the run's params and reference data.

* The sentences for the default disclosure control (5 / 1 to 4), for ``rounding_base: 10`` /
  ``suppress_max: 9`` and for an odd one (3 / 1 to 2); the symbol table and its meanings; coverage,
  the look-back, the adult age and the collection start.
* The notes of the HTML pages and of the workbooks, from a release's ``manifest.json`` ``params``.
* End to end: a small synthetic month published with ``disclosure: {rounding_base: 10,
  suppress_max: 9}``, then EVERY text of the release searched (the HTML pages without their tags,
  image alt text, every cell of every workbook sheet, the charts' SVG, alt text and index, the CSVs,
  the executed notebooks): no statement says "nearest 5" or "1 to 4", every statement of rounding
  says 10 and of suppression 1 to 9, and every published count is a multiple of 10 or a symbol.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cldstats import reference
from cldstats.core.errors import CldstatsError
from cldstats.disclosure import control as disclosure_control
from cldstats.publication import report, tables
from cldstats.reference import statements
from cldstats.reference.params import load_params
from cldstats.reference.statements import CELL_SYMBOLS, SYMBOLS, MethodFacts
from tests.helpers.small_release import publish_month

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH = "2024-03"
TEN = MethodFacts(rounding_base=10, suppress_max=9)


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("base", "most", "sentence"), [
    (5, 4, "Counts are rounded to the nearest 5 (halves up) and counts of 1 to 4 are suppressed and shown as [c]."),
    (10, 9, "Counts are rounded to the nearest 10 (halves up) and counts of 1 to 9 are suppressed and shown as [c]."),
    (3, 2, "Counts are rounded to the nearest 3 (halves up) and counts of 1 to 2 are suppressed and shown as [c]."),
    (2, 1, "Counts are rounded to the nearest 2 (halves up) and counts of 1 are suppressed and shown as [c]."),
])
def test_rounding_and_suppression_sentences_follow_the_params(base, most, sentence):
    facts = MethodFacts(rounding_base=base, suppress_max=most)
    assert statements.rounding_sentence(facts) == sentence
    assert statements.rounding_short(facts) == f"rounded to the nearest {base}"
    assert statements.count_units(facts) == f"Number of people, rounded to the nearest {base}"
    suppressed = "1" if most == 1 else f"1 to {most}"
    assert SYMBOLS["[c]"].meaning(facts) == (f"confidential: a count of {suppressed} before rounding, suppressed "
                                             "to protect individuals")


def test_the_symbol_table_lists_each_symbol_once_with_its_meaning():
    assert list(SYMBOLS) == ["[c]", "[x]", "[z]", "[p]", "[r]"]
    assert CELL_SYMBOLS == ("[c]", "[x]", "[z]")
    # The values disclosure control writes are the table's.
    written = (disclosure_control.CONFIDENTIAL, disclosure_control.NOT_AVAILABLE, disclosure_control.NOT_APPLICABLE)
    assert written == CELL_SYMBOLS
    for symbol in SYMBOLS.values():
        assert symbol.meaning(TEN).startswith(symbol.short + ": "), symbol.symbol
    assert statements.symbol_list(TEN) == ("[c] confidential, [x] not available, [z] not applicable, "
                                           "[p] provisional, [r] revised.")
    full = statements.symbol_list(TEN, full=True)
    assert full.count("; ") == 4 and "a count of 1 to 9 before rounding" in full
    assert statements.cell_symbols_phrase() == "[c], [x] or [z]"
    # reference data no longer holds a second table of symbols
    assert not hasattr(reference, "SYMBOLS")


def test_coverage_counts_the_councils_of_the_reference_data():
    facts = MethodFacts()
    assert facts.councils_total == len(reference.councils()) == 153
    assert statements.coverage_sentence(facts, 152) == (
        "152 of 153 councils (99.3%) had a submission selected for this release.")
    assert statements.coverage_sentence(MethodFacts(councils_total=40), 10) == (
        "10 of 40 councils (25.0%) had a submission selected for this release.")
    assert statements.councils_of_total(facts, 8) == "8 of 153 councils"


def test_definitions_state_the_adult_age_and_the_look_back_of_the_params():
    default = MethodFacts()
    assert "adults (18 and over)" in statements.definition(default, "long_term_support")
    assert "no long-term support in the 12 months before it" in statements.definition(default, "assessments")
    other = MethodFacts(adult_age=16, look_back_days=90)
    assert "adults (16 and over)" in statements.definition(other, "long_term_support")
    assert "no long-term support in the 90 days before it" in statements.definition(other, "assessments")
    assert statements.areas_sentence(other).endswith("People under 16 are excluded.")
    assert "All over adults 16 and over" in statements.rates_sentence(other)
    # Every support setting in its rank order, from reference data.
    assert "(nursing care, residential care, community, prison)." in statements.definition(default,
                                                                                          "long_term_support")
    with pytest.raises(ValueError, match="unknown measure"):
        statements.definition(default, "deaths")


def test_collection_start_comes_from_the_params():
    assert "(the collection starts in April 2023)" in statements.no_year_earlier_sentence(MethodFacts())
    later = MethodFacts(collection_start="2023-07-01")
    assert "(the collection starts in July 2023)" in statements.no_year_earlier_sentence(later)


def test_facts_from_params_read_disclosure_method_and_collection_start(tmp_path):
    assert MethodFacts.from_params(load_params(MONTH, today=dt.date(2024, 6, 1))) == MethodFacts()
    extra = tmp_path / "ten.yaml"
    extra.write_text("disclosure:\n  rounding_base: 10\n  suppress_max: 9\nmethod:\n  adult_age: 16\n"
                     "  look_back_days: 90\ncollection_start: \"2023-07-01\"\n", encoding="utf-8")
    facts = MethodFacts.from_params(load_params(MONTH, extra, today=dt.date(2024, 6, 1)))
    assert (facts.rounding_base, facts.suppress_max, facts.adult_age, facts.look_back_days,
            facts.collection_start) == (10, 9, 16, 90, "2023-07-01")


# ---------------------------------------------------------------------------------------------
# Wiring without publishing: the HTML notes and the workbooks' notes take the release's facts
# ---------------------------------------------------------------------------------------------
def test_html_notes_state_the_method_of_the_release_manifest(tmp_path):
    params = load_params(MONTH, today=dt.date(2024, 6, 1))
    params["disclosure"] = {"rounding_base": 10, "suppress_max": 9}
    (tmp_path / "manifest.json").write_text(json.dumps({"month": MONTH, "params": params}), encoding="utf-8")
    release = report.open_release(str(tmp_path), MONTH)
    notes = report.notes(release).data
    assert "nearest 10" in notes and "1 to 9" in notes
    assert "nearest 5" not in notes and "1 to 4" not in notes
    assert "nearest 10" in report.introduction(release).data


def test_html_notes_refuse_a_release_without_params(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"month": MONTH}), encoding="utf-8")
    release = report.open_release(str(tmp_path), MONTH)
    with pytest.raises(CldstatsError, match=r"manifest\.json has no params"):
        report.notes(release)


def test_workbook_cover_notes_and_units_state_the_facts_given(tmp_path):
    from tests.unit.publication import test_tables as golden

    published = golden._published()
    release = dataclasses.replace(golden._release(published), facts=TEN)
    for path in tables.write_workbooks(published, release, tmp_path):
        text = _workbook_text(path)
        assert "nearest 10" in text and "counts of 1 to 9" in text, path.name
        assert "nearest 5" not in text and "1 to 4" not in text, path.name


# ---------------------------------------------------------------------------------------------
# End to end: publish with rounding_base 10 and suppress_max 9, search every text of the release
# ---------------------------------------------------------------------------------------------
class _Text(HTMLParser):
    """The text of an HTML page without its tags, plus the alt text (and titles) of its images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in ("alt", "title", "aria-label") and value)

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def _workbook_text(path: Path) -> str:
    book = openpyxl.load_workbook(path)
    return "\n".join(str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
                     if cell.value is not None)


def _ods_text(path: Path) -> str:
    """The text of every cell of an ODS (its paragraphs), from ``content.xml``."""
    with zipfile.ZipFile(path) as ods:
        xml = ods.read("content.xml").decode("utf-8")
    paragraphs = re.findall(r"<text:p>(.*?)</text:p>", xml, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", p)) for p in paragraphs)


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts.append(_html_text("".join(data.get("text/html", ""))))
            parts.append("".join(data.get("text/plain", "")) + "".join(output.get("text", "")))
    return "\n".join(parts)


def release_texts(release: Path) -> dict[str, str]:
    """Every text of a release folder by file (relative path), in the form a reader meets it."""
    texts = {}
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        name = path.relative_to(release).as_posix()
        if path.suffix == ".html":
            texts[name] = _html_text(path.read_text(encoding="utf-8"))
        elif path.suffix == ".xlsx":
            texts[name] = _workbook_text(path)
        elif path.suffix == ".ods":
            texts[name] = _ods_text(path)
        elif path.suffix == ".ipynb":
            texts[name] = _notebook_text(path)
        elif path.suffix == ".svg":
            # Title, desc and matplotlib's comment of each drawn text; path data carries no words.
            texts[name] = re.sub(r'\sd="[^"]*"', "", path.read_text(encoding="utf-8"))
        elif path.suffix in (".csv", ".json", ".txt", ".md"):
            texts[name] = path.read_text(encoding="utf-8")
    return texts


@pytest.fixture(scope="module")
def release_of_ten(small_data_dir, tmp_path_factory) -> Path:
    """The small synthetic month (tests/conftest.py) published as a statistician runs it, with
    ``rounding_base: 10`` and ``suppress_max: 9``."""
    tmp = tmp_path_factory.mktemp("ten")
    params = tmp / "ten.yaml"
    params.write_text('override:\n  reason: "test run on 8 councils"\n'
                      "disclosure:\n  rounding_base: 10\n  suppress_max: 9\n", encoding="utf-8")
    return publish_month(small_data_dir, params, tmp / "reports", MONTH)


def test_no_statement_in_the_release_contradicts_rounding_to_10_and_suppressing_1_to_9(release_of_ten):
    texts = release_texts(release_of_ten)
    kinds = {Path(name).suffix for name in texts}
    assert {".html", ".xlsx", ".ods", ".svg", ".ipynb", ".csv", ".txt", ".json"} <= kinds, kinds

    contradictions = [(name, m.group(0)) for name, text in texts.items()
                      for m in re.finditer(r"nearest 5\b|\b1 to 4\b", text)]
    assert not contradictions, contradictions
    # Every statement of the base says 10, every statement of the suppressed range 1 to 9.
    bases = {(name, m.group(1)) for name, text in texts.items() for m in re.finditer(r"nearest (\d+)", text)}
    assert bases and {base for _, base in bases} == {"10"}, sorted(bases)
    ranges = {(name, m.group(1)) for name, text in texts.items()
              for m in re.finditer(r"counts? of 1(?: to (\d+))? (?:are|before)", text)}
    assert ranges and {most for _, most in ranges} == {"9"}, sorted(ranges)
    # ... and each kind of output states them: the pages, both workbooks, the charts.
    for name in ("html/publication.html", "html/long_term_support.html", "html/assessments.html",
                 "spreadsheets/long_term_support.xlsx", "spreadsheets/assessments.xlsx",
                 "spreadsheets/long_term_support.ods", "spreadsheets/long_term_support_dhsc.ods",
                 "spreadsheets/assessments_dhsc.xlsx", "charts/england_trend_by_setting.svg", "charts/charts.json"):
        assert "nearest 10" in texts[name], name
    for name in ("html/publication.html", "spreadsheets/long_term_support.xlsx", "spreadsheets/assessments.xlsx",
                 "spreadsheets/assessments_dhsc.ods", "spreadsheets/long_term_support_dhsc.xlsx"):
        assert "1 to 9" in texts[name], name
    # Chart alt text, as the HTML carries it on the images.
    chart_index = json.loads(texts["charts/charts.json"])["charts"]
    page = texts["html/long_term_support.html"]
    assert all(chart["alt_text"] in page for chart in chart_index if chart["name"] != "assessments_trend")


def test_every_published_count_is_a_multiple_of_10_or_a_symbol(release_of_ten):
    for name in ("long_term_support", "assessments"):
        frame = pd.read_csv(release_of_ten / "data" / f"{name}.csv", dtype=str, keep_default_na=False)
        values = frame["value"]
        numbers = pd.to_numeric(values.where(~values.isin(CELL_SYMBOLS)), errors="raise")
        counted = numbers.dropna()
        assert len(counted) and (counted % 10 == 0).all(), sorted(set(counted[counted % 10 != 0]))[:5]
        # Counts of 1 to 9 were suppressed, not rounded to 0 or 10.
        assert values.eq("[c]").any(), name
