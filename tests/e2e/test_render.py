"""Notebooks and HTML reports end to end: a small synthetic release is published once per module,
then the real notebooks run through papermill on the ``cldstats`` kernel and are rendered to HTML
(nbconvert: Quarto is not installed here), and the HTML is loaded in headless Chromium.

The published pages are in ``<release>/html/`` and the executed published notebooks in
``<release>/notebooks/``; the restricted QA report is ``<release>/qa/qa.html`` and its notebook
``<release>/qa/notebooks/data_quality.ipynb``: unrounded figures appear only under ``qa/``."""

from __future__ import annotations

import difflib
import html
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cldstats.core.errors import CldstatsError
from cldstats.publication import render, report, self_contained
from cldstats.reference import crosswalk
from tests.helpers.paths import REPO

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

ROOT = REPO
CHROMIUM = Path("/usr/bin/chromium")
MONTH = "2024-03"


@pytest.fixture(scope="module")
def built(small_reports, tmp_path_factory):
    """A copy of the small published month (tests/conftest.py) whose notebooks are run and rendered
    again here, and the index written again."""
    tmp = tmp_path_factory.mktemp("render")
    release = tmp / "reports" / MONTH
    shutil.copytree(small_reports / MONTH, release)
    # The pages the publication run rendered, kept before the notebooks run again below.
    first = tmp / "first-run"
    shutil.copytree(release / "html", first / "html")
    shutil.copy(release / "qa" / "qa.html", first / "qa.html")
    started = time.perf_counter()
    executed = render.run_notebooks(release, MONTH, progress=False)
    renderer = render.render_html(executed, release / "html")
    index = render.write_index(tmp / "reports")
    return {"release": release, "executed": executed, "renderer": renderer, "index": index,
            "seconds": time.perf_counter() - started, "first": first}


def _text_without_data_uris(page: str) -> str:
    # Base64 image data can contain any digit sequence; figures are searched in the text only.
    return re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", page)


def _html_files(built) -> list[Path]:
    return sorted((built["release"] / "html").glob("*.html")) + [built["release"] / "qa" / "qa.html", built["index"]]


RUN_TIME = re.compile(r'<p class="run-time">.*</p>')


# ------------------------------------------------------------------------------ notebooks


def test_committed_notebooks_are_thin_and_have_no_outputs():
    for name in render.NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), name
        for cell in code:
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs committed"
        # Parameters are strings only.
        for line in code[0].source.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                assert re.fullmatch(r'\s*\w+ = "[^"]*"\s*', line), f"{name}: {line}"
        assert nb.metadata["kernelspec"]["name"] == "cldstats"


def test_executed_notebooks_have_injected_parameters_and_no_errors(built):
    assert [p.name for p in built["executed"]] == [f"{n}.ipynb" for n in render.NOTEBOOKS]
    release = built["release"]
    # The restricted QA notebook is kept under qa/, the published ones under notebooks/.
    assert [p.relative_to(release).parent.as_posix() for p in built["executed"]] == [
        "qa/notebooks" if n in render.RESTRICTED else "notebooks" for n in render.NOTEBOOKS]
    assert not (release / "notebooks" / "data_quality.ipynb").exists()
    for path in built["executed"]:
        nb = nbformat.read(path, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1, path.name
        assert f'month = "{MONTH}"' in injected[0].source
        assert 'release_dir = "reports/2024-03"' in injected[0].source
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", (path.name, output.get("evalue"))
    assert nb.metadata["papermill"]["parameters"]["month"] == MONTH


def _kernel_pids() -> set[int]:
    """Live ipykernel processes that are children of this process."""
    import os

    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and fields[0] not in ("Z", "X") and b"ipykernel" in cmdline:
            found.add(int(stat.parent.name))
    return found


def _cells(path: Path) -> list[tuple]:
    """What an executed notebook holds for a reader: each cell's source and outputs."""
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.get("outputs", [])) for c in nb.cells]


def test_notebooks_at_once_give_what_one_after_the_other_gives(built, tmp_path):
    """The default run (``built``: every notebook at once, one kernel each) executes the same cells
    with the same outputs, and renders the same pages, as notebooks run one after the other; kernels
    really ran side by side, and none is left when the run is over."""
    import threading

    assert render.PARALLEL_NOTEBOOKS > 1
    release = tmp_path / "reports" / MONTH
    shutil.copytree(built["release"], release, ignore=shutil.ignore_patterns("notebooks", "html", "qa.html"))
    one_by_one = render.run_notebooks(release, MONTH, progress=False, parallel=1)
    render.render_html(one_by_one, release / "html")
    for sequential, concurrent in zip(one_by_one, built["executed"], strict=True):
        assert sequential.relative_to(release) == concurrent.relative_to(built["release"])
        assert _cells(sequential) == _cells(concurrent), sequential.name
    for page in [*sorted((release / "html").glob("*.html")), release / "qa" / "qa.html"]:
        twin = built["release"] / page.relative_to(release)
        assert RUN_TIME.sub("", page.read_text(encoding="utf-8")) == RUN_TIME.sub(
            "", twin.read_text(encoding="utf-8")), page.name

    # At once: more than one kernel alive at a time (sampled while the notebooks run again).
    most, done = 0, threading.Event()

    def sample() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, len(_kernel_pids()))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        again = render.run_notebooks(release, MONTH, progress=False)
    finally:
        done.set()
        sampler.join()
    assert most > 1, "the notebooks ran one after the other"
    assert _kernel_pids() == set(), "a kernel outlived its notebook"
    for path, first in zip(again, built["executed"], strict=True):
        assert _cells(path) == _cells(first), path.name



# ------------------------------------------------------------------------------ parameters


def test_parameter_mismatch_is_an_error():
    notebook = ROOT / "notebooks" / "publication.ipynb"
    render.check_parameters(notebook, {"month": MONTH, "release_dir": "reports/2024-03"})
    with pytest.raises(CldstatsError, match=r"publication.ipynb: unknown parameter\(s\) colour"):
        render.check_parameters(notebook, {"month": MONTH, "release_dir": "x", "colour": "red"})
    with pytest.raises(CldstatsError, match=r"publication.ipynb: missing parameter\(s\) release_dir"):
        render.check_parameters(notebook, {"month": MONTH})
    with pytest.raises(CldstatsError, match=r"not strings: month=202403 \(int\)"):
        render.check_parameters(notebook, {"month": 202403, "release_dir": "x"})
    with pytest.raises(CldstatsError, match="change_threshold"):
        render.check_parameters(ROOT / "notebooks" / "data_quality.ipynb", {"month": MONTH, "release_dir": "x"})


def test_run_notebooks_rejects_bad_month(tmp_path):
    with pytest.raises(CldstatsError, match="YYYY-MM"):
        render.run_notebooks(tmp_path, "2024-3")


def test_failing_notebook_names_notebook_and_error(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    for name in render.NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", source / f"{name}.ipynb")
    release = tmp_path / "reports" / MONTH
    release.mkdir(parents=True)  # empty: the first notebook cannot open its tables
    # Every notebook fails (they run at once): the first in NOTEBOOKS order is named, no kernel stays.
    with pytest.raises(CldstatsError, match=r"notebook data_quality failed in cell \d+ \(CldstatsError:"):
        render.run_notebooks(release, MONTH, notebooks_dir=source, progress=False, timeout=60)
    assert _kernel_pids() == set()


# ------------------------------------------------------------------------------ HTML content


def test_renderer_and_files(built):
    assert built["renderer"].startswith("nbconvert ") or built["renderer"].startswith("quarto ")
    names = {p.name for p in (built["release"] / "html").glob("*.html")}
    assert names == {v for k, v in render.HTML_NAMES.items() if k not in render.RESTRICTED}
    assert (built["release"] / "qa" / "qa.html").exists()
    # Published pages do not link the restricted QA report; it links them.
    for name in names:
        assert "qa.html" not in (built["release"] / "html" / name).read_text(encoding="utf-8"), name
    qa_page = (built["release"] / "qa" / "qa.html").read_text(encoding="utf-8")
    for link in re.findall(r'href="(\.\./html/[a-z_]+\.html)"', qa_page):
        assert (built["release"] / "qa" / link).resolve().exists(), link
    assert 'href="../html/publication.html"' in qa_page


def test_headline_equals_published_csv(built):
    release = built["release"]
    lts = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    england = lts[(lts["reference_date"] == "2024-03-31") & (lts["area_level"] == "England")
                  & (lts["support_setting"] == "All") & (lts["breakdown"] == "All")]
    published = int(england["value"].iloc[0])
    page = (release / "html" / "publication.html").read_text(encoding="utf-8")
    quoted = re.search(r'class="headline-figure" data-measure="long_term_support"[^>]*>([\d,]+)<', page)
    assert quoted, "no headline figure in publication.html"
    assert int(quoted.group(1).replace(",", "")) == published
    assert "At 31 March 2024, " in page


def test_publication_report_quotes_no_unrounded_figure(built):
    release = built["release"]
    unrounded = pd.read_csv(release / "qa" / "long_term_support_unrounded.csv", dtype=str)
    rounded = pd.read_csv(release / "data" / "long_term_support.csv", dtype=str, keep_default_na=False)
    keys = ["reference_date", "area_code", "support_setting", "breakdown", "breakdown_value"]
    both = unrounded.merge(rounded, on=keys, suffixes=("_u", "_p"))
    england = both[(both["area_code"] == "E92000001") & (both["support_setting"] == "All")
                   & (both["breakdown"] == "All")]
    differing = england[england["value_u"] != england["value_p"]]
    assert len(differing), "no England cell where rounding changed the value: the check would be empty"
    texts = {name: _text_without_data_uris((release / "html" / name).read_text(encoding="utf-8"))
             for name in ("publication.html", "long_term_support.html", "assessments.html")}
    for value in differing["value_u"]:
        number = int(value)
        for name, text in texts.items():
            assert not re.search(rf"(?<![\d,.]){number:,}(?![\d,])", text), (name, number)
            assert not re.search(rf"(?<![\d,.]){number}(?![\d,])", text) or number < 1000, (name, number)


# ------------------------------------------------------------------------------ unrounded only under qa/

_MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
#: Dates, times and file-name stamps: their digits are calendar numbers, not figures.
_CALENDAR = re.compile(rf"\d{{8}}T\d{{6}}Z?|\d{{4}}-\d{{2}}(-\d{{2}})?(T[\d:.]+Z?)?|\d{{1,2}}:\d{{2}}(:\d{{2}})?"
                       rf"|(\d{{1,2}} )?({_MONTH_NAMES}) \d{{4}}")
#: A whole number standing alone, plain or with thousands separators (not part of a word, a
#: hexadecimal digest, a decimal or a longer number).
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?![\w]|[.,]\d)")
#: A file-system path (the manifest records the run's arguments and folders): its digits are not
#: figures (``/tmp/pytest-of-root/pytest-144/...``).
_PATH = re.compile(r"(?:/[\w.\-]+)+/?")


def _unrounded_checked(release: Path) -> tuple[set[int], set[int]]:
    """England and region values of ``qa/*_unrounded.csv`` that rounding changes (>= 10, not a
    multiple of 5), and those of them checked: less the numbers the release publishes in another
    role (a rate, a population, a councils count, an age in a band's name), which cannot be told
    apart from a leak. Published counts (``value``) are multiples of 5, so they take nothing away."""
    unrounded = set()
    for path in sorted((release / "qa").glob("*_unrounded.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = frame[frame["area_level"].isin(["England", "Region"])]
        values = pd.to_numeric(frame["value"], errors="coerce").dropna().astype(int)
        unrounded |= {int(v) for v in values if v >= 10 and v % 5}
    published = {153}
    for path in sorted((release / "data").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("rate", "population", "councils_included", "breakdown_value"):
            if column in frame:
                published |= {int(n) for text in frame[column].unique() for n in re.findall(r"\d+", text)}
    # The DHSC-layout workbooks' `LA code` column: each council's legacy code, an identifier.
    published |= {int(code) for code in crosswalk.legacy_la_codes().values() if code.isdigit()}
    return unrounded, unrounded - published


def _artefact_texts(release: Path):
    """What a reader of each file outside ``qa/`` sees, as text: spreadsheet cell values, notebook
    sources and outputs, SVG text, HTML without its stylesheet and embedded images, JSON."""
    import json
    import zipfile

    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        relative = path.relative_to(release)
        if "qa" in relative.parts:
            continue
        if path.suffix == ".png":
            continue  # pixels; each chart's alt text and description are in charts/*.txt and charts.json
        if path.suffix == ".csv":
            # Each column's distinct values (the published tables are large; their cells repeat).
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            text = "\n".join(v for column in frame.columns for v in frame[column].unique())
        elif path.suffix == ".xlsx":
            # Cell values (numbers, inline and shared strings), not the XML's attributes, styles or
            # shared-string indexes.
            parts = []
            with zipfile.ZipFile(path) as book:
                for member in book.namelist():
                    xml = book.read(member).decode("utf-8")
                    if member == "xl/sharedStrings.xml":
                        parts += re.findall(r"<t[^>]*>([^<]*)</t>", xml)
                    elif member.startswith("xl/worksheets/sheet"):
                        parts += [re.sub(r"<[^>]+>", " ", body) for attrs, body in
                                  re.findall(r"<c\b([^>]*)>(.*?)</c>", xml, flags=re.S) if 't="s"' not in attrs]
            text = "\n".join(parts)
        elif path.suffix == ".ods":
            # Cell values (numbers and text paragraphs), not the XML's attributes or styles.
            with zipfile.ZipFile(path) as book:
                xml = book.read("content.xml").decode("utf-8")
            parts = re.findall(r'office:value="([^"]*)"', xml)
            parts += [re.sub(r"<[^>]+>", " ", p) for p in re.findall(r"<text:p>(.*?)</text:p>", xml, flags=re.S)]
            text = "\n".join(parts)
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            parts = []
            for cell in nb.cells:
                parts.append(cell.source)
                for output in cell.get("outputs", []):
                    parts.append(str(output.get("text", "")))
                    parts += [str(v) for k, v in output.get("data", {}).items() if not k.startswith("image/")]
            text = "\n".join(parts)
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.name == "manifest.json":
                manifest = json.loads(text)
                for key in ("pid", "argv", "log_file"):  # a process id and paths, not figures
                    manifest.get("may_differ", {}).pop(key, None)
                text = json.dumps(manifest)
            if path.suffix == ".svg":
                text = re.sub(r'="[^"]*"', '=""', text)  # drawing data: coordinates, glyph outlines
            text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\\n]+", "data:", text)
        yield relative.as_posix(), text


def test_unrounded_figures_appear_only_under_qa(built):
    release = built["release"]
    unrounded, checked = _unrounded_checked(release)
    assert len(checked) >= 50, f"only {len(checked)} of {len(unrounded)} unrounded values can be checked"
    texts = list(_artefact_texts(release)) + [("../index.html", built["index"].read_text(encoding="utf-8"))]
    names = {name for name, _ in texts}
    for expected in ("data/long_term_support.csv", "spreadsheets/long_term_support.xlsx", "html/publication.html",
                     "notebooks/publication.ipynb", "charts/charts.json", "manifest.json"):
        assert expected in names, expected
    found = []
    for name, text in texts:
        for number in set(_NUMBER.findall(_CALENDAR.sub(" ", _PATH.sub(" ", text)))):
            if int(number.replace(",", "")) in checked:
                found.append(f"{name}: {number}")
    assert not found, f"unrounded figures outside qa/: {found[:10]}"
    # The check sees a leak, plain or with separators, in text or a table cell; not in a date or a digest.
    value = max(checked)
    for leak in (f"At 31 March 2024, {value:,} people", f'<td class="num">{value}</td>', f"{value},p,8 of 153"):
        assert [m.group(1) for m in _NUMBER.finditer(_CALENDAR.sub(" ", leak))
                if int(m.group(1).replace(",", "")) == value], leak
    for no_leak in (f"{value}.5%", f"ab{value}cd", f"{value}1", f"E0{value}", f"{value}0101T120000Z"):
        assert not [m for m in _NUMBER.finditer(_CALENDAR.sub(" ", no_leak))
                    if int(m.group(1).replace(",", "")) == value], no_leak


def test_commentary_from_numbers():
    assert report.change_phrase(13825, 13725) == "up 100 (0.7%)"
    assert report.change_phrase(100, 105) == "down 5 (4.8%)"
    assert report.change_phrase(5, 5) == "unchanged"
    assert report.fmt_day("2024-02-29") == "29 February 2024"


def test_qa_report_sections(built):
    page = (built["release"] / "qa" / "qa.html").read_text(encoding="utf-8")
    for text in ("Restricted", "Publication gate", "cld_submission", "cld_release1_fields", "cld_cross_field",
                 "test run on 8 of 153 councils", "Revisions", "previous month", "No published cell differs"):
        assert text in page, text
    # Council reports and QA files are linked relative to the QA report's folder and exist.
    links = re.findall(r'href="(\.\./qa/data_quality/E\d+\.html)"', page)
    assert links
    files = re.findall(r'href="(\.\./qa/[a-z_]+\.csv)"', page)
    assert "../qa/revisions.csv" in files and "../qa/long_term_support_unrounded.csv" in files
    for link in links + files:
        assert (built["release"] / "qa" / link).resolve().exists(), link


def test_revisions_read_from_qa_revisions_csv(built, tmp_path):
    release = report.Release(built["release"], MONTH)
    assert report.revisions(release).empty  # a first release: nothing to compare with
    copy = tmp_path / MONTH
    shutil.copytree(built["release"] / "data", copy / "data")
    (copy / "qa").mkdir()
    # The old value comes from qa/revisions.csv, whichever release it was compared with.
    pd.DataFrame([{
        "table": "long_term_support", "reference_period": "2024-03-31", "area_level": "England",
        "area_code": "E92000001", "area_name": "England", "support_setting": "All", "breakdown": "All",
        "breakdown_value": "All", "measure": "value", "previous_value": "999995", "new_value": "1000000",
        "previous_release": "2024-02 release of run 20240401T000000Z",
    }]).to_csv(copy / "qa" / "revisions.csv", index=False)
    revised = report.revisions(report.Release(copy, MONTH))
    assert revised[["Previous", "Revised", "Cell", "Figure"]].values.tolist() == [
        ["999995", "1000000", "All / All / All", "People"]]
    summary = report.revision_summary(report.Release(copy, MONTH)).data
    assert "compared with the 2024-02 release of run 20240401T000000Z" in summary
    (copy / "qa" / "revisions.csv").unlink()
    assert report.revisions(report.Release(copy, MONTH)).empty
    assert "no <code>qa/revisions.csv</code>" in report.revision_summary(report.Release(copy, MONTH)).data


def test_month_changes_threshold(built):
    release = report.Release(built["release"], MONTH)
    everything = report.month_changes(release, "0")
    assert len(report.month_changes(release, "0.5")) <= len(everything)
    with pytest.raises(CldstatsError):
        report.month_changes(release, "five percent")


# ------------------------------------------------------------------------------ self-contained


def test_html_is_self_contained_and_accessible(built):
    for path in _html_files(built):
        page = path.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page, path.name
        assert re.search(r"<title>[^<]+</title>", page), path.name
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, flags=re.I), path.name
        assert not re.search(r"@import|url\(\s*['\"]?https?:", page), path.name
        assert "require.js" not in page and "mathjax" not in page.lower(), path.name
        for img in re.findall(r"<img\b[^>]*>", page):
            assert re.search(r'src="data:image/(png|svg\+xml);base64,', img), (path.name, img[:80])
            assert re.search(r'alt="[^"]+"', img), (path.name, "image without alt text")
    publication = (built["release"] / "html" / "publication.html").read_text(encoding="utf-8")
    assert publication.count("<img ") >= 3


def test_render_is_deterministic_apart_from_run_time(built, tmp_path):
    render.render_html(built["executed"], tmp_path / "again" / "html")
    pages = [p for p in _html_files(built) if p != built["index"]]
    assert len(pages) == len(render.HTML_NAMES)
    for path in pages:
        again = tmp_path / "again" / path.parent.name / path.name
        first, second = path.read_text(encoding="utf-8"), again.read_text(encoding="utf-8")
        assert len(RUN_TIME.findall(first)) == 1, path.name
        assert RUN_TIME.sub("", first) == RUN_TIME.sub("", second), path.name


def test_two_executions_give_the_same_html_apart_from_run_time(built):
    """The publication run (notebooks executed inside the build folder) and the fixture's second
    execution (from the reports folder's parent, another ``release_dir``) differ in the run-time
    line only: no execution time, path, random id or chart metadata reaches the HTML."""
    first = built["first"]
    pairs = [(first / "html" / p.name, p) for p in (built["release"] / "html").glob("*.html")]
    pairs.append((first / "qa.html", built["release"] / "qa" / "qa.html"))
    for before, after in pairs:
        a, b = before.read_text(encoding="utf-8"), after.read_text(encoding="utf-8")
        lines = [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]
        assert all(RUN_TIME.search(x) and RUN_TIME.search(y) for x, y in lines), (after.name, lines[:1])
        assert len(lines) <= 1, after.name


def test_index_lists_months_newest_first(built, tmp_path):
    reports = tmp_path / "reports"
    for month in ("2024-01", "2024-03", "2023-12"):
        (reports / month / "html").mkdir(parents=True)
        (reports / month / "html" / "publication.html").write_text("x", encoding="utf-8")
    (reports / "releases-not-a-month").mkdir()
    page = render.write_index(reports).read_text(encoding="utf-8")
    positions = [page.index(f'id="m-{m}"') for m in ("2024-03", "2024-01", "2023-12")]
    assert positions == sorted(positions)
    assert "releases-not-a-month" not in page
    built_index = built["index"].read_text(encoding="utf-8")
    assert f'href="{MONTH}/html/publication.html"' in built_index
    assert f'href="{MONTH}/qa/qa.html"' in built_index and "QA report (restricted)" in built_index
    assert f'href="{MONTH}/data/long_term_support.csv"' in built_index
    assert ".xlsx" in built_index


# ------------------------------------------------------------------------------ Chromium

_PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  document.body.setAttribute('data-images', imgs.length + ':' + broken);
});
</script>"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_html_opens_in_headless_chromium_with_every_image_decoded(built, tmp_path):
    jobs = []
    for n, path in enumerate(_html_files(built)):
        # A copy beside the original (same relative links) with a probe that counts undecoded images.
        probe = path.with_name(f".probe-{path.name}")
        probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={tmp_path / f'profile-{n}'}", "--run-all-compositor-stages-before-draw",
                   "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
        job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        jobs.append((path, probe, job))
    try:
        for path, _probe, job in jobs:
            dom, _ = job.communicate(timeout=90)
            found = re.search(r'data-images="(\d+):(\d+)"', dom)
            assert found, f"{path.name}: page did not load in Chromium"
            total, broken = map(int, found.groups())
            assert broken == 0, f"{path.name}: {broken} of {total} images not decoded"
            if path.name in ("publication.html", "long_term_support.html", "assessments.html"):
                assert total >= 1, path.name
    finally:
        for _, probe, job in jobs:
            if job.poll() is None:
                job.kill()
            probe.unlink(missing_ok=True)


def test_timing_is_reported(built, capsys):
    # Not a limit: the number goes into the hand-over notes (run_notebooks + render_html + index).
    with capsys.disabled():
        print(f"\nrun_notebooks + render_html + write_index: {built['seconds']:.1f} s")
    assert built["seconds"] < 300


# ------------------------------------------------------------------------------ accessible markup


class _Tables(HTMLParser):
    """Each table of a page: its id, its caption's id, the element around it and the first cell
    of each body row (tag and ``scope``); and the ids of every figure."""

    def __init__(self, page: str):
        super().__init__()
        self.tables, self.figure_ids, self._stack, self._section = [], [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            parent = self._stack[-1] if self._stack else ("", {})
            self.tables.append({"id": a.get("id"), "parent": parent, "caption": None, "first_cells": []})
        elif tag == "caption" and self.tables:
            self.tables[-1]["caption"] = a.get("id")
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self._row_open = True
        elif tag in ("th", "td") and self._section == "tbody" and getattr(self, "_row_open", False):
            self.tables[-1]["first_cells"].append((tag, a.get("scope")))
            self._row_open = False
        elif tag == "figure":
            self.figure_ids.append(a.get("id"))
        if tag not in ("img", "br", "meta", "link", "input", "hr"):
            self._stack.append((tag, a))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break


#: Quarto 1.7's cross-reference types (crossref categories: figure, table, listing, the callouts,
#: proof, remark, solution; theorem types; equations and sections), as ``<type>-`` id prefixes.
QUARTO_REF_PREFIXES = ("fig", "tbl", "lst", "nte", "wrn", "cau", "tip", "imp", "prf", "rem", "sol", "thm", "lem",
                       "cor", "prp", "cnj", "def", "exm", "exr", "alg", "eq", "sec")


def test_tables_have_row_headers_and_a_labelled_scroll_region(built):
    counted = 0
    for path in _html_files(built)[:-1]:  # the index has no tables
        for table in _Tables(path.read_text(encoding="utf-8")).tables:
            counted += 1
            where = (path.name, table["id"])
            tag, attrs = table["parent"]
            assert tag == "div" and attrs.get("class") == "table-scroll" and attrs.get("role") == "region", where
            assert attrs.get("tabindex") == "0" and attrs.get("aria-labelledby") == table["caption"], where
            assert table["caption"] == f"{table['id']}_caption", where
            rows = table["first_cells"]
            assert rows, where
            # Every body row starts with its row header (1.3.1), but a table with no rows ("None.").
            assert all(cell == ("th", "row") for cell in rows) or rows == [("td", None)], (where, rows[:3])
    assert counted >= 15


def test_table_and_chart_ids_cannot_be_read_as_quarto_cross_references(built):
    ids = []
    for path in _html_files(built)[:-1]:
        parsed = _Tables(path.read_text(encoding="utf-8"))
        ids += [t["id"] for t in parsed.tables] + [t["caption"] for t in parsed.tables] + parsed.figure_ids
    assert len(ids) >= 30 and all(ids), ids
    for element_id in ids:
        # Quarto takes the letters before a first hyphen as the cross-reference type (refType:
        # ``^(%a+)%-``) and warns when a captioned table's type is not ``tbl`` (``age-group``).
        assert report.ELEMENT_ID.match(element_id) and not re.match(r"[A-Za-z]+-", element_id), element_id
        assert not element_id.startswith(tuple(f"{p}-" for p in QUARTO_REF_PREFIXES)), element_id
    for bad in ("age-group", "tbl-regions", "fig_trend-x", "Trend", ""):
        with pytest.raises(CldstatsError, match="element id"):
            report.table(pd.DataFrame({"A": ["x"]}), "caption", bad)


def test_download_links_say_what_kind_and_how_big(built):
    release = built["release"]
    assert report.fmt_size(950) == "950 bytes" and report.fmt_size(441_000) == "430.7 KB"
    assert report.fmt_size(8_808_038) == "8.4 MB"
    published = ("data", "spreadsheets")
    pages = {
        "publication": (release / "html" / "publication.html", r'href="\.\./(data|spreadsheets)/([^"]+)"', published),
        "qa": (release / "qa" / "qa.html", r'href="\.\./(qa)/([a-z_]+\.csv)"', ("qa",)),
        "index": (built["index"], rf'href="{MONTH}/(data|spreadsheets)/([^"]+)"', published),
    }
    for page_name, (path, href, folders) in pages.items():
        page = path.read_text(encoding="utf-8")
        links = re.findall(rf"<a {href}>([^<]+)</a>", page)
        files = {(f, p.name) for f in folders for p in (release / f).glob("*.csv" if f == "qa" else "*")
                 if p.suffix in (".csv", ".xlsx", ".ods")}
        assert {(folder, name) for folder, name, _ in links} == files, page_name
        for folder, name, text in links:
            target = release / folder / name
            assert html.unescape(text) == report.file_label(target), (page_name, name, text)
            assert text.endswith(", " + report.fmt_size(target.stat().st_size)), text
            assert name not in text, f"{page_name}: link text is the bare file name {name}"
    publication = pages["publication"][0].read_text(encoding="utf-8")
    assert re.search(r">People assessed, spreadsheet, XLSX, \d+\.\d KB</a>", publication)
    assert re.search(r">People assessed, spreadsheet, ODS, \d+\.\d KB</a>", publication), publication
    assert re.search(r">People receiving long-term support, CSV, \d+(\.\d)? (KB|MB)</a>", publication)


def test_page_titles_name_the_publication_and_the_month(built):
    titles = {}
    for path in _html_files(built):
        found = re.search(r"<title>([^<]+)</title>", path.read_text(encoding="utf-8"))
        titles[path.name] = html.unescape(found.group(1))
    for name, title in titles.items():
        assert render.PUBLICATION in title and "March 2024" in title, (name, title)
    assert len(set(titles.values())) == len(titles), titles
    assert titles["assessments.html"] == "People assessed – Adult social care client level data, March 2024"
    assert titles["publication.html"] == "Adult social care client level data: monthly statistics, March 2024"


# ------------------------------------------------------------------------------ nothing from the network

FIXTURE = ROOT / "tests" / "fixtures" / "quarto" / "long_term_support_quarto_1_7.html"
#: What Quarto writes for the page's text/html outputs (tests/fixtures/quarto/README.md).
QUARTO_CDN = {
    "1.7 (cdnjs)": ("https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js",
                    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.5.1/jquery.min.js"),
    "1.8 (jsdelivr)": ("https://cdn.jsdelivr.net/npm/requirejs@2.3.6/require.min.js",
                       "https://cdn.jsdelivr.net/npm/jquery@3.5.1/dist/jquery.min.js"),
}
_ANY_NETWORK_REFERENCE = re.compile(r"""<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*"""
                                    r"""\b(src|href|data|poster)\s*=\s*["']?\s*(https?:)?//""", re.I)


def _quarto_page(variant: str) -> str:
    page = FIXTURE.read_text(encoding="utf-8")
    for old, new in zip(QUARTO_CDN["1.7 (cdnjs)"], QUARTO_CDN[variant], strict=True):
        page = page.replace(old, new)
    return page


@pytest.mark.parametrize("variant", QUARTO_CDN)
def test_quarto_page_keeps_its_content_and_loads_nothing_after_post_processing(variant):
    original = _quarto_page(variant)
    require, jquery = QUARTO_CDN[variant]
    assert render.network_loads(original) == [f'<script src="{jquery}">', f'<script src="{require}">']
    stripped = render.strip_network_loads(original)
    assert render.network_loads(stripped) == []
    assert not _ANY_NETWORK_REFERENCE.search(stripped) and "define('jquery'" not in stripped
    assert not re.search(r"@import\s+(url\()?\s*['\"]?\s*(https?:)?//", stripped)
    # Exactly the three lines Quarto added are gone, nothing else changed.
    diff = list(difflib.ndiff(original.splitlines(), stripped.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    assert [line for line in diff if line.startswith("+ ")] == []
    assert len(removed) == 3 and removed[0].startswith(f'<script src="{jquery}"'), removed
    assert removed[1].startswith(f'<script src="{require}"')
    assert removed[2].startswith('<script type="application/javascript">define(')
    for kept in ('data-measure="long_term_support"', '<table class="data-table" id="gender">',
                 '<th scope="row">Female</th>', 'src="data:image/png;base64,',
                 'src="data:application/javascript;base64,', 'id="quarto-bootstrap"', '<nav id="TOC" role="doc-toc"',
                 'xmlns="http://www.w3.org/1999/xhtml"', '<p class="run-time">', "beforeprint"):
        assert stripped.count(kept) == original.count(kept) >= 1, kept
    assert render.strip_network_loads(stripped) == stripped


@pytest.mark.parametrize(("fragment", "load"), [
    ('<img src="https://example.org/a.png" alt="a">', '<img src="https://example.org/a.png">'),
    ('<img src="//example.org/a.png" alt="a">', '<img src="//example.org/a.png">'),
    ('<img srcset="a.png 1x, https://example.org/b.png 2x" alt="a">',
     '<img srcset="a.png 1x, https://example.org/b.png 2x">'),
    ('<link rel="preload" href="https://example.org/f.woff2" as="font">', '<link href="https://example.org/f.woff2">'),
    ('<link rel="stylesheet" href="HTTP://EXAMPLE.ORG/s.css">', '<link href="HTTP://EXAMPLE.ORG/s.css">'),
    ('<style>@import url("https://example.org/s.css");</style>', '<style> url("https://'),
    ("<style>@import 'https://example.org/s.css';</style>", "<style> @import 'https://"),
    ("<style>@font-face{src:url(https://example.org/f.woff)}</style>", "<style> url(https://"),
    ('<div style="background:url(//example.org/a.png)">x</div>', '<div style="background:url(//example.org/a.png)">'),
    ('<link href="data:text/css;charset=utf-8,%40import%20url(https%3A%2F%2Fexample.org%2Fs.css)%3B" rel="stylesheet">',
     '<link href="data:text/css..."> url(https://'),
    ('<meta http-equiv="refresh" content="0; url=https://example.org/">', '<meta http-equiv="refresh" content="0; url=https://example.org/">'),
    ('<iframe src="https://example.org/"></iframe>', '<iframe src="https://example.org/">'),
    ('<video poster="https://example.org/p.png"></video>', '<video poster="https://example.org/p.png">'),
    ('<a href="https://www.gov.uk/">GOV.UK</a>', None),  # a link the reader may follow loads nothing
    ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="a">', None),
    ('<link href="data:text/css;charset=utf-8,body%7Bcolor%3Ared%7D" rel="stylesheet">', None),
    ('<html xmlns="http://www.w3.org/1999/xhtml"><p>See https://example.org/ for more.</p>', None),
    ('<a href="../data/x.csv">x</a><img src="../charts/a.png" alt="a">', None),
])
def test_network_loads_finds_each_kind_of_load(fragment, load):
    assert render.network_loads(fragment) == ([load] if load else [])


def test_a_page_that_still_loads_from_the_network_is_not_written(tmp_path):
    chart = 'src="https://example.org/chart.png" data-x="'
    page = _quarto_page("1.7 (cdnjs)").replace('src="data:image/png;base64,', chart)
    stripped = render.strip_network_loads(page)  # content is not the renderer's: it stays, and is refused
    assert render.network_loads(stripped) == ['<img src="https://example.org/chart.png">']
    target = tmp_path / "long_term_support.html"
    with pytest.raises(CldstatsError, match=r"^long_term_support.html would load 1 resource\(s\) from the network, "
                                            r'first <img src="https://example.org/chart.png">'):
        self_contained.write_page(target, stripped)
    assert not target.exists()


def test_release_pages_load_nothing_from_the_network_whatever_the_renderer(built):
    for path in _html_files(built):
        page = path.read_text(encoding="utf-8")
        assert render.network_loads(page) == [], (built["renderer"], path.name)
        assert not _ANY_NETWORK_REFERENCE.search(page), (built["renderer"], path.name)


def test_quarto_is_given_no_html_output_to_add_cdn_scripts_for(built):
    import yaml

    for path in built["executed"]:
        nb = render._report_notebook(path)
        title = render._title(nb, path.stem)
        given = render.quarto_notebook(nb, title)
        nbformat.validate(given)
        # Quarto adds require.js and jQuery when a display output is text/html or
        # application/javascript (widgets.ts, haveOutputType): there is none left.
        for cell in given.cells:
            for output in cell.get("outputs", []):
                assert not {"text/html", "application/javascript"} & set(output.get("data", {})), (path.name, cell.id)
        raw = [c.source for c in given.cells if c.cell_type == "raw" and c.metadata.get("raw_mimetype") == "text/html"]
        shown = [render._html_fragment(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 if render._html_fragment(o) is not None]
        assert raw == shown and len(raw) >= 3, path.name  # the same HTML, in the same order
        assert [c.source for c in given.cells if c.cell_type == "markdown"] == [
            c.source for c in nb.cells if c.cell_type == "markdown"]
        front = given.cells[0]
        assert front.cell_type == "raw" and yaml.safe_load(front.source.strip("-\n")) == {"pagetitle": title}
        assert render.quarto_notebook(nb, title) == given  # no random cell id: the same every run


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_quarto_page_requests_the_cdn_in_chromium_until_post_processed(tmp_path):
    from tests.helpers.chromium import Browser

    original, stripped = tmp_path / "quarto.html", tmp_path / "stripped.html"
    original.write_text(_quarto_page("1.7 (cdnjs)"), encoding="utf-8")
    stripped.write_text(render.strip_network_loads(original.read_text(encoding="utf-8")), encoding="utf-8")
    with Browser() as browser:
        requested = {}
        for path in (original, stripped):
            with browser.open(path.as_uri()) as tab:
                requested[path.name] = [u for u in tab.requested_urls() if not u.startswith(("file:", "data:"))]
    assert sorted(requested["quarto.html"]) == sorted(QUARTO_CDN["1.7 (cdnjs)"]), requested
    assert requested["stripped.html"] == []
