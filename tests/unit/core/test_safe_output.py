"""Formula (CSV) injection (:mod:`cldstats.core.safe_output`), down to a real release.

* The writer: text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return are written as
  ``"'<cell>"``; plain numbers (in numeric columns or as text) are untouched; everything else is the
  bytes ``DataFrame.to_csv`` writes.
* A real release (``python -m cldstats publish``) whose data folder holds submissions named
  ``=HYPERLINK(...)`` and starting with each of the other five characters: every CSV and workbook of
  the release is read back, and no cell in any of them reads as a formula.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cldstats.core import safe_output
from tests.helpers.small_release import publish_month

MONTH = "2024-03"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("evil.example","click")'


def _csv_text(frame: pd.DataFrame, tmp_path: Path) -> str:
    path = safe_output.write_csv(frame, tmp_path / "out.csv")
    return path.read_bytes().decode("utf-8")


def _fields(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _formula_like(value: str) -> bool:
    """A CSV or workbook text cell a spreadsheet would run: the test's own statement of OWASP's rule."""
    if not value or value[0] not in TRIGGERS:
        return False
    try:
        float(value)
    except ValueError:
        return True
    return value != value.strip()  # " 5" or "\t5" is not a plain number


# ---------------------------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_trigger_is_prefixed_and_quoted(trigger, tmp_path):
    cell = f"{trigger}SUM(1+1)"
    text = _csv_text(pd.DataFrame({"file": [cell, "Hartlepool"], "rows": [3, 4]}), tmp_path)
    quoted = '"' + "'" + cell + '"'
    assert text == f"file,rows\n{quoted},3\nHartlepool,4\n"
    assert _fields(text)[1] == ["'" + cell, "3"]


def test_hyperlink_file_name_is_neutralised_with_its_quotes_doubled(tmp_path):
    text = _csv_text(pd.DataFrame({"file": [HYPERLINK + ".csv"]}), tmp_path)
    assert text == 'file\n"\'=HYPERLINK(""evil.example"",""click"").csv"\n'
    assert _fields(text)[1] == ["'" + HYPERLINK + ".csv"]


def test_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame({
        "count": [-5, 10, 0],
        "rate": [-1.5, 2.25, np.nan],
        "as_text": ["-5", "+3", "-0.25"],
        "mixed": pd.Series([-5, "[c]", "-A1"], dtype=object),
    })
    rows = _fields(_csv_text(frame, tmp_path))
    assert rows[1:] == [["-5", "-1.5", "-5", "-5"], ["10", "2.25", "+3", "[c]"], ["0", "", "-0.25", "'-A1"]]
    # The workbooks' frames keep their ints (numeric cells), only the formula-like text changes.
    out = safe_output.neutralise_frame(frame)
    assert out["mixed"].tolist() == [-5, "[c]", "'-A1"] and isinstance(out["mixed"].iloc[0], int)
    pd.testing.assert_frame_equal(out.drop(columns="mixed"), frame.drop(columns="mixed"))


def test_everything_else_is_written_as_pandas_writes_it(tmp_path):
    frame = pd.DataFrame({
        "text": ["a", 'said "hi"', "x,y", "two\nlines", None, "", "a=b"],
        "int": [1, 2, 3, 4, 5, 6, 7],
        "float": [1.5, np.nan, 0.1, 1e20, -3.0, 2.0, 1 / 3],
        "nullable": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
        "flag": [True, False, True, True, False, True, False],
        "date": pd.to_datetime(["2024-03-31", None, "2024-01-01", "2024-02-29", "2024-03-31", "2023-04-30",
                                "2024-03-31"]),
        "category": pd.Categorical(["x", "y", None, "x", "y", "x", "x"]),
        "object": pd.Series([1, "[c]", 3.5, None, "a", -5, "-5"], dtype=object),
        "string": pd.Series(["a", None, "b", "c", "d", "e", "f"], dtype="string"),
    })
    for part in (frame, frame.iloc[:0], frame[["text"]], frame[["float"]], frame[["nullable"]]):
        expected = part.to_csv(index=False, lineterminator="\n")
        assert _csv_text(part, tmp_path) == expected, list(part.columns)


def test_a_carriage_return_is_quoted(tmp_path):
    # Python's csv module leaves a bare "\r" unquoted, which splits the row for most readers.
    text = _csv_text(pd.DataFrame({"a": ["x\ry"], "b": [1]}), tmp_path)
    assert text == 'a,b\n"x\ry",1\n' and _fields(text)[1] == ["x\ry", "1"]


def test_formula_cells_on_a_chunked_pyarrow_column():
    import pyarrow as pa

    column = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["=1+1", "a"], ["@b", None]])))
    assert safe_output.formula_cells(column).tolist() == [True, False, True, False]


# ---------------------------------------------------------------------------------------------
# A real release with formula-like submission file names
# ---------------------------------------------------------------------------------------------
INJECTED_NAMES = [HYPERLINK + ".csv", "+cmd.csv", "-2+3.csv", "@SUM(1).csv", "\tTAB.csv", "\rCR.csv"]


@pytest.fixture(scope="module")
def injected_release(tmp_path_factory) -> Path:
    """One council's synthetic month plus six small submissions whose names start with each trigger
    (copies of its first rows), published through the command line."""
    from cldstats.tools import synth

    data = tmp_path_factory.mktemp("injected-data")
    synth.generate(data, councils=1, start="2023-04", end="2024-03")  # the year MONTH needs
    submissions = data / "submissions"
    source = sorted(submissions.glob("*.csv"))[-1]
    head = b"".join(source.read_bytes().splitlines(keepends=True)[:12])
    for name in INJECTED_NAMES:
        (submissions / name).write_bytes(head)
    params = tmp_path_factory.mktemp("injected-params") / "params.yaml"
    params.write_text('override:\n  reason: "test run on 1 of 153 councils"\n', encoding="utf-8")
    return publish_month(data, params, tmp_path_factory.mktemp("injected-reports") / "reports", MONTH)


@pytest.mark.slow
def test_no_csv_or_workbook_cell_of_the_release_reads_as_a_formula(injected_release):
    csvs = sorted(injected_release.rglob("*.csv"))
    workbooks = sorted(injected_release.rglob("*.xlsx"))
    assert len(csvs) >= 10 and len(workbooks) == 4
    risky = []
    for path in csvs:
        for number, row in enumerate(_fields(path.read_bytes().decode("utf-8")), start=1):
            risky += [f"{path.name}:{number}: {field!r}" for field in row if _formula_like(field)]
    for path in workbooks:
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                risky += [f"{path.name}!{sheet.title}!{c.coordinate}: {c.value!r}" for c in row
                          if c.data_type == "f" or (isinstance(c.value, str) and _formula_like(c.value))]
    assert risky == [], risky[:10]


@pytest.mark.slow
def test_formula_like_file_names_reach_the_qa_csvs_neutralised_and_quoted(injected_release):
    qa = injected_release / "qa"
    for path in (qa / "submissions.csv", qa / "exclusions.csv", qa / "data_quality" / "unknown.csv",
                 qa / "data_quality" / "unknown_records.csv"):
        raw = path.read_bytes().decode("utf-8")
        files = {row[0 if path.parent.name == "data_quality" else 1] for row in _fields(raw)[1:]}
        for name in INJECTED_NAMES:
            assert "'" + name in files, (path.name, name)
            assert '"' + "'" + name.replace('"', '""') + '"' in raw, (path.name, name)  # quoted, as OWASP asks


@pytest.mark.slow
def test_numbers_in_the_release_csvs_are_unchanged(injected_release):
    submissions = pd.read_csv(injected_release / "qa" / "submissions.csv", keep_default_na=False)
    for column in ("rows_read", "rows_used", "rows_excluded"):
        assert pd.api.types.is_integer_dtype(submissions[column]), column
    injected = submissions[submissions["file"].isin(["'" + name for name in INJECTED_NAMES])]
    assert len(injected) == len(INJECTED_NAMES) and injected["rows_read"].eq(11).all()
    # The published tables keep DESIGN.md's contract: counts are digits or symbols, never prefixed.
    for path in sorted((injected_release / "data").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in {"value", "rate", "population"} & set(frame.columns):
            assert frame[column].str.fullmatch(r"\d+|\[[cxz]\]").all(), (path.name, column)
        unrounded = pd.read_csv(injected_release / "qa" / f"{path.stem}_unrounded.csv")["value"]
        assert pd.api.types.is_numeric_dtype(unrounded) and unrounded.dropna().mod(1).eq(0).all(), path.name


@pytest.mark.slow
def test_the_release_still_equals_pandas_where_nothing_was_neutralised(injected_release):
    # Re-writing a read-back CSV gives its own bytes: the writer changed nothing but formula-like text.
    for path in sorted((injected_release / "data").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert frame.to_csv(index=False, lineterminator="\n").encode("utf-8") == path.read_bytes(), path.name


@pytest.mark.slow
def test_the_council_still_publishes_beside_the_rejected_names(injected_release):
    published = pd.read_csv(injected_release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    council = published[published["area_level"].eq("Local Authority") & published["councils_included"].eq("1 of 1")]
    assert council["value"].str.fullmatch(r"\d+").any()
