"""DHSC-layout workbooks and ODS copies (:mod:`cldstats.publication.dhsc_workbooks`,
:mod:`cldstats.publication.ods_writing`).

Input: the golden tables of ``tests/golden/input/`` (four areas, two months, every breakdown, with
``[c]``, ``[x]``, ``[z]`` and ``p r`` cells), plus made-up rows of the tables the ADASS regions and
the full rate tables add (an ``ADASS region`` area, a band ``85 and above`` and an
``assessments_rates`` table), so the layout is tested on what those tables will hold.

* Every published count, population and rate of the DHSC-layout sheets, read back from the ODS and
  from the XLSX with pandas, equals the same cell of the tidy CSV (symbols included), and every
  CSV cell the layout publishes is there.
* The ODS and XLSX of each workbook (DHSC layout, and the ODS copy of each accessible workbook)
  hold the same sheets, in the same order, with the same cells.
* The ODS is a real OpenDocument package; with ``soffice`` on PATH, LibreOffice reads it too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import zipfile

import pandas as pd
import pytest

from cldstats.publication import dhsc_workbooks, ods_writing, tables
from cldstats.reference.statements import MethodFacts
from tests.helpers import dhsc_layout
from tests.helpers.paths import GOLDEN

INPUT = GOLDEN / "input"
NAMES = ("long_term_support", "long_term_support_rates", "assessments")
ADASS_CODE = "ADASS001"  # a project-assigned, non-GSS code, as the ADASS rows carry
LEGACY = {"E06000001": "805"}  # E06000002 has none: its LA code is blank


LEVELS = ("England", "Region", "ADASS region", "Local Authority")


def _with_adass(frame: pd.DataFrame) -> pd.DataFrame:
    """The region's rows again as an ADASS region after the regions (rates and populations ``[z]``,
    as DHSC)."""
    adass = frame[frame["area_level"].eq("Region")].assign(
        area_level="ADASS region", area_code=ADASS_CODE, area_name="North East ADASS")
    for column in ("population", "rate"):
        if column in adass.columns:
            adass[column] = "[z]"
    both = pd.concat([frame, adass], ignore_index=True)
    # The CSV's order: by period, then area level (England, regions, ADASS regions, councils).
    level = both["area_level"].map({lv: i for i, lv in enumerate(LEVELS)})
    return both.assign(level=level).sort_values([both.columns[0], "level"], kind="mergesort").drop(
        columns="level").reset_index(drop=True)


def _with_band_85(rates: pd.DataFrame) -> pd.DataFrame:
    """Age-band rate rows ``85 to 94`` (population ``[z]``: none published) and ``85 and above``."""
    base = rates[rates["breakdown_value"].eq("65 and above")].assign(breakdown="Age band")
    no_population = base.assign(breakdown_value="85 to 94", population="[z]", rate="[z]")
    band = base.assign(breakdown_value="85 and above")
    numbers = band["area_level"].ne("ADASS region")
    band.loc[numbers, "population"] = "900"
    band.loc[numbers, "rate"] = "1111"
    return pd.concat([rates, no_population, band], ignore_index=True)


def _assessments_rates(assessed: pd.DataFrame) -> pd.DataFrame:
    """An ``assessments_rates`` table over the 12-month total (made-up populations)."""
    total = assessed[assessed["reference_month"].eq("Total")].copy()
    has_population = total["breakdown"].isin(["All", "Age group", "Gender"]) & ~total["breakdown_value"].isin(
        ["Unknown", "Other"]) & total["area_level"].ne("ADASS region")
    total["population"] = "[z]"
    total.loc[has_population, "population"] = "2000"
    total["rate"] = "[z]"
    total.loc[has_population, "rate"] = "[c]"
    total.loc[has_population & total["value"].str.isdigit(), "rate"] = "250"
    return total[["reference_month", "area_level", "area_code", "area_name", "breakdown", "breakdown_value",
                  "population", "rate", "flags", "councils_included"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def published() -> dict[str, pd.DataFrame]:
    frames = {n: _with_adass(pd.read_csv(INPUT / f"{n}.csv", dtype=str, keep_default_na=False)) for n in NAMES}
    frames["long_term_support_rates"] = _with_band_85(frames["long_term_support_rates"])
    frames["assessments_rates"] = _assessments_rates(frames["assessments"])
    return frames


def _release(published) -> tables.ReleaseInfo:
    return tables.ReleaseInfo(
        month="2024-03", reference_date=dt.date(2024, 3, 31), councils_selected=130,
        publication_date=dt.date(2024, 5, 9), facts=MethodFacts(),
        revised_cells=tables.count_revised_cells(published), override_reason="Synthetic test",
        contact_email="test@example.org", next_update=dt.date(2024, 8, 8),
    )


@pytest.fixture(scope="module")
def written(published, tmp_path_factory):
    out = tmp_path_factory.mktemp("spreadsheets")
    release = _release(published)
    paths = (tables.write_accessible_spreadsheets(published, release, out)
             + tables.write_dhsc_workbooks(published, release, out, LEGACY))
    return {p.name: p for p in paths}


def test_every_file_is_written(written):
    assert sorted(written) == [
        "assessments.ods", "assessments.xlsx", "assessments_dhsc.ods", "assessments_dhsc.xlsx",
        "long_term_support.ods", "long_term_support.xlsx", "long_term_support_dhsc.ods",
        "long_term_support_dhsc.xlsx"]


# ---------------------------------------------------------------------------------------------
# Every published count equals the same cell of the tidy CSV
# ---------------------------------------------------------------------------------------------
UNITS_BACK = dhsc_layout.UNITS_BACK
_cell_text, _expected = dhsc_layout.cell_text, dhsc_layout.expected_rows


@pytest.mark.parametrize("suffix", [".ods", ".xlsx"])
@pytest.mark.parametrize("measure", ["long_term_support", "assessments"])
def test_every_published_count_equals_the_tidy_csv(written, published, measure, suffix):
    cells = dhsc_layout.assert_counts_equal_csv(written[f"{measure}_dhsc{suffix}"], published[measure], measure)
    assert {"[c]", "[x]"} <= cells, "the input's symbols reach the sheets"


@pytest.mark.parametrize("suffix", [".ods", ".xlsx"])
@pytest.mark.parametrize("measure", ["long_term_support", "assessments"])
def test_every_published_rate_and_population_equals_the_tidy_csv(written, published, measure, suffix):
    path = written[f"{measure}_dhsc{suffix}"]
    rates_name = "long_term_support_rates" if measure == "long_term_support" else "assessments_rates"
    rates, latest = dhsc_workbooks._latest(published[rates_name])
    setting = ["Support setting"] if measure == "long_term_support" else []
    for number, dimension in enumerate(dhsc_workbooks.DIMENSIONS, start=4):
        sheet = tables.read_dhsc_table(path, f"Table_{number}")
        ids = list(dhsc_workbooks.AREA_HEADERS) + setting + [dimension]
        assert list(sheet.columns) == ids + ["Population", "Rate per 100,000 adults [p]"]
        expected = _expected(rates, dimension)
        if setting:
            expected = expected[expected["support_setting"].ne("Prison")]
        with_population = pd.to_numeric(expected["population"], errors="coerce").notna()
        expected = expected[with_population.groupby(expected["breakdown_value"]).transform("any")]
        sheet = sheet.assign(area_level=sheet["Area unit"].map(UNITS_BACK))
        keys_csv = ["area_level", "area_code", "breakdown_value"] + (["support_setting"] if setting else [])
        keys_sheet = ["area_level", "Area code", dimension] + setting
        merged = expected.merge(sheet, left_on=keys_csv, right_on=keys_sheet, how="outer", indicator=True,
                                validate="one_to_one")
        assert merged["_merge"].eq("both").all(), merged[merged["_merge"].ne("both")].head()
        assert (merged["population"] == merged["Population"].map(_cell_text)).all()
        assert (merged["rate"] == merged["Rate per 100,000 adults [p]"].map(_cell_text)).all()
        assert not sheet[dimension].isin(["Unknown", "85 to 94", "95 and above"]).any()
        assert sheet.loc[sheet["Area unit"].eq("ADASS Region"), "Population"].eq("[z]").all()
    if measure == "long_term_support":
        age = tables.read_dhsc_table(path, "Table_4")
        assert "85 and above" in set(age["Age group"]) and "Prison" not in set(age["Support setting"])
        assert latest == max(published[rates_name]["reference_date"])


def test_without_an_assessments_rates_table_there_are_no_assessment_rate_sheets(published):
    frames = {n: published[n] for n in NAMES}
    _, sheets = dhsc_workbooks.dhsc_sheets(frames, _release(frames), "assessments", {})
    assert [s.name for s in sheets] == ["Cover", "Contents", "Notes", "Table_1", "Table_2", "Table_3"]


# ---------------------------------------------------------------------------------------------
# DHSC's layout and labels
# ---------------------------------------------------------------------------------------------
def test_layout_and_labels(written):
    lts = written["long_term_support_dhsc.xlsx"]
    raw = pd.read_excel(lts, sheet_name="Table_1", header=None, dtype=object)
    assert raw.iloc[0, 0].startswith("People receiving long-term support by age group and support setting")
    assert raw.iloc[2].tolist()[:6] == ["Area", "Area code", "LA code", "Area unit", "Support setting", "Age group"]
    assert raw.iloc[2].tolist()[6:] == ["29 February 2024 [p]", "31 March 2024 [p]"]
    sheet = tables.read_dhsc_table(lts, "Table_1")
    assert list(pd.unique(sheet["Area unit"])) == ["National", "Region", "ADASS Region", "Local Authority"]
    codes = sheet.drop_duplicates("Area code").set_index("Area code")["LA code"]
    assert codes["E06000001"] == 805 or codes["E06000001"] == "805"
    assert codes[["E92000001", "E12000001", ADASS_CODE, "E06000002"]].isna().all()
    ages = list(pd.unique(sheet["Age group"]))
    assert ages[:3] == ["All", "18 to 64", "65 and above"] and ages[-1] == "Unknown" and ages.count("Unknown") == 1
    csv = pd.read_csv(INPUT / "long_term_support.csv", dtype=str, keep_default_na=False)
    assert list(pd.unique(sheet["Support setting"])) == list(pd.unique(csv["support_setting"]))
    assessed = pd.read_excel(written["assessments_dhsc.ods"], sheet_name="Table_1", header=2, engine="odf")
    assert list(assessed.columns) == ["Area", "Area code", "LA code", "Area unit", "Age group",
                                      "February 2024 [p]", "March 2024 [p]", "Total [p]"]
    ethnicity = tables.read_dhsc_table(written["assessments_dhsc.ods"], "Table_3")
    # The golden input's ethnicity values: All, the group White, the subgroup White: Irish.
    assert list(pd.unique(ethnicity["Ethnicity"])) == ["All", "White", "White: Irish"]


def test_cover_contents_and_notes(written):
    book = pd.read_excel(written["long_term_support_dhsc.ods"], sheet_name=None, header=None, dtype=object,
                         engine="odf")
    assert list(book) == ["Cover", "Contents", "Notes"] + [f"Table_{n}" for n in range(1, 7)]
    cover = book["Cover"][0].tolist()
    assert cover[1] == "Introductory information" and "Contact" in cover
    assert any("Published: 9 May 2024" in str(line) for line in cover)
    contents = book["Contents"].iloc[3:, 0].tolist()
    assert contents == ["Notes"] + [f"Table_{n}" for n in range(1, 7)]
    notes = " ".join(book["Notes"].iloc[3:, 1].astype(str))
    for phrase in ("ADASS Region", "LA code", "[c]", "[x]", "[z]", "[p]", "[r]", "rounded to the nearest 5",
                   "no Prison setting"):
        assert phrase in notes, phrase
    assert "[note 1]" in book["Table_1"].iloc[1, 0]
    with zipfile.ZipFile(written["long_term_support_dhsc.ods"]) as ods:
        content = ods.read("content.xml").decode("utf-8")
    assert "xlink:href=\"#'Table_1'.A1\"" in content  # contents rows link to their sheets


def test_revisions_sheet_lists_revised_figures(published, tmp_path):
    revisions = pd.DataFrame([{
        "table": "assessments", "reference_period": "2024-03", "area_level": "England", "area_code": "E92000001",
        "area_name": "England", "support_setting": "", "breakdown": "All", "breakdown_value": "All",
        "measure": "value", "previous_value": "20", "new_value": "25", "previous_release": "2024-02 release"}])
    release = dataclasses.replace(_release(published), previous_release="2024-02 release")
    paths = dhsc_workbooks.write_dhsc_workbooks(published, release, tmp_path, {}, revisions=revisions)
    assessed = next(p for p in paths if p.name == "assessments_dhsc.ods")
    book = pd.read_excel(assessed, sheet_name=None, header=None, dtype=object, engine="odf")
    assert list(book)[-1] == "Revisions"
    table = tables.read_dhsc_table(assessed, "Revisions")
    assert table[["Period", "Previous value", "Revised value"]].values.tolist() == [["March 2024", 20, 25]]
    lts = next(p for p in paths if p.name == "long_term_support_dhsc.ods")
    assert "Revisions" not in pd.read_excel(lts, sheet_name=None, header=None, engine="odf")


def test_an_unknown_area_level_is_an_error(published):
    frames = dict(published)
    frames["assessments"] = published["assessments"].assign(area_level="County")
    with pytest.raises(ValueError, match="area_level 'County' has no DHSC Area unit"):
        dhsc_workbooks.dhsc_sheets(frames, _release(frames), "assessments", {})


# ---------------------------------------------------------------------------------------------
# ODS and XLSX hold the same cells
# ---------------------------------------------------------------------------------------------
def _all_cells(path) -> dict[str, pd.DataFrame]:
    engine = "odf" if path.suffix == ".ods" else "openpyxl"
    book = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine=engine)
    return {name: frame.map(lambda v: None if pd.isna(v) else v) for name, frame in book.items()}


@pytest.mark.parametrize("stem", ["long_term_support", "assessments", "long_term_support_dhsc", "assessments_dhsc"])
def test_ods_and_xlsx_hold_the_same_cells(written, stem):
    ods = _all_cells(written[f"{stem}.ods"])
    xlsx = _all_cells(written[f"{stem}.xlsx"])
    assert list(ods) == list(xlsx)
    for name in xlsx:
        assert ods[name].shape == xlsx[name].shape, name
        differ = ods[name].ne(xlsx[name]) & ~(ods[name].isna() & xlsx[name].isna())
        assert not differ.to_numpy().any(), (name, ods[name][differ].stack().head(), xlsx[name][differ].stack().head())
        numbers = xlsx[name].map(lambda v: isinstance(v, int)).to_numpy()
        assert (ods[name].map(lambda v: isinstance(v, int)).to_numpy() == numbers).all(), name


# ---------------------------------------------------------------------------------------------
# Real OpenDocument
# ---------------------------------------------------------------------------------------------
def test_ods_is_an_opendocument_package(written):
    path = written["long_term_support_dhsc.ods"]
    with zipfile.ZipFile(path) as ods:
        first = ods.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert ods.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert {"content.xml", "styles.xml", "meta.xml", "META-INF/manifest.xml"} <= set(ods.namelist())
        meta = ods.read("meta.xml").decode("utf-8")
        assert {i.date_time for i in ods.infolist()} == {(2024, 5, 9, 0, 0, 0)}
    assert "<dc:language>en-GB</dc:language>" in meta and "DHSC layout" in meta


def test_same_inputs_give_the_same_bytes(published, written, tmp_path):
    again = dhsc_workbooks.write_dhsc_workbooks(published, _release(published), tmp_path, LEGACY)
    for path in again:
        assert path.read_bytes() == written[path.name].read_bytes(), path.name


def test_cells_are_rendered_as_opendocument():
    cell = ods_writing._cell
    assert cell(1595) == ('<table:table-cell office:value-type="float" office:value="1595"><text:p>1,595</text:p>'
                          '</table:table-cell>')
    assert cell("[c]") == '<table:table-cell office:value-type="string"><text:p>[c]</text:p></table:table-cell>'
    assert cell(None) == cell(float("nan")) == cell("") == "<table:table-cell/>"
    assert "<text:p>a &lt;b&gt; &amp; c</text:p><text:p>d <text:s text:c=\"2\"/>e</text:p>" in cell("a <b> & c\nd   e")
    with pytest.raises(TypeError, match="number or text"):
        cell(dt.date(2024, 1, 1))


def test_a_full_size_table_is_written_whole(tmp_path):
    # 400,000 rows x 3 columns (no Python per cell): every row written, in order, with its cells.
    rows = 400_000
    numbers = pd.Series(range(rows), dtype=object)
    table = pd.DataFrame({"Area code": [f"E{n:08d}" for n in range(rows)],
                          "Value": numbers.where(pd.Series(range(rows)) % 7 > 0, "[c]"),
                          "LA code": pd.Series([None, "805"] * (rows // 2), dtype=object)})
    path = ods_writing.write_ods(tmp_path / "big.ods", [ods_writing.Sheet("Table_1", [["Big"]], table)],
                                 title="Big", created=dt.date(2024, 5, 9))
    with zipfile.ZipFile(path) as ods:
        content = ods.read("content.xml").decode("utf-8")
    body = re.findall(r"<table:table-row>(.*?)</table:table-row>", content)
    assert len(body) == rows + 2  # the title and header rows, then the table
    assert body[2] == ('<table:table-cell office:value-type="string"><text:p>E00000000</text:p></table:table-cell>'
                       '<table:table-cell office:value-type="string"><text:p>[c]</text:p></table:table-cell>'
                       "<table:table-cell/>")
    last = body[-1]
    assert "E00399999" in last and 'office:value="399999"' in last and "<text:p>399,999</text:p>" in last
    assert last.endswith("<text:p>805</text:p></table:table-cell>")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_the_ods(written, tmp_path):
    # LibreOffice headless converts every sheet to CSV; each table sheet's cells are those pandas reads.
    path = written["long_term_support_dhsc.ods"]
    result = subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir",
         str(tmp_path), str(path)], capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    for number in range(1, 7):
        converted = pd.read_csv(tmp_path / f"{path.stem}-Table_{number}.csv", header=2, dtype=str,
                                keep_default_na=False)
        expected = tables.read_dhsc_table(path, f"Table_{number}")
        assert list(converted.columns) == list(expected.columns)
        expected = expected.map(lambda v: "" if pd.isna(v) else str(v))
        assert converted.equals(expected.astype(converted.dtypes.to_dict())), number
