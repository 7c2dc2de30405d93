"""The measures do not depend on the release a council spells its values in (issue 14, item 5).

One synthetic world is generated once: four councils in four regions, April 2024 to March 2025,
no faults, written as the generator writes it (Release 1 spellings, the 50-column Release 1
header). The same submissions are then written again, as different data folders:

* ``r1``: the generated files, byte for byte;
* ``r2``: every defined-list cell respelled as Release 2 spells it, and the two columns Release 2
  removed left out (the 48 labels of ``release2_spec.yaml``, in its order); a value Release 2 has
  no equivalent for (``Progress to End of Life Care``, ``Fully Health Funded``...) stays as sent;
* ``mixed``: council by council, alternately as ``r1`` and as ``r2``, except one council whose file
  keeps the Release 1 header and alternates the two spellings row by row (a person's rows then
  disagree in spelling only);
* ``financial``: as ``r2``, with the financial assessment types (for which no Release 2 spelling
  was found) in sentence case, as Release 2 respelled the other assessment types.

The respelling is built here from ``r1_to_r2_mapping.yaml``, ``release1_spec.yaml`` and
``release2_spec.yaml`` read as plain YAML, never from :mod:`cldstats.reference.vocabulary`: the
vocabulary is what is under test, and a translation taken from it would agree with it by
construction. Each folder goes through the real pipeline: validation (ingest, the data quality
checks, the submission store, selection and row accounting: ``validate_folder``) and the method's
SQL on DuckDB (``engine.run_method``), whose unrounded council tables are compared.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cldstats import ingest
from cldstats.measures import engine
from cldstats.pipeline import validation
from cldstats.reference.spec import ValueStatus
from cldstats.tools import synth
from tests.helpers.months import month_ends_of, month_params
from tests.helpers.paths import REPO

DATA = REPO / "cldstats" / "data"
#: Hartlepool (North East), Rutland (East Midlands), Bath and North East Somerset (South West),
#: Barking and Dagenham (London).
COUNCILS = ["E06000001", "E06000017", "E06000022", "E09000002"]
MONTH = "2025-03"
#: Defined-list fields that must be respelled in many cells: those the measures read, and Event
#: Outcome (the field Release 2 reworded and merged most).
MEASURE_FIELDS = ("Client_Type", "Service_Type", "Ethnicity", "Assessment_Type", "Event_Outcome")
#: The stored column of the Assessment Type as submitted (trimmed; what measure 2 tests).
SUBMITTED = "Assessment_Type_submitted"
#: Statuses of a cell that was not read as a value.
NOT_READ = (ValueStatus.INVALID, ValueStatus.INVALID_ISO_DATE, ValueStatus.INVALID_EXCEL_SERIAL,
            ValueStatus.FORMULA)


def _yaml(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _listed(spec_field: dict) -> set[str]:
    """Every value a spec field lists (``permitted_values``, ``permitted_values_confirmed``, ...)."""
    return {value for key, values in spec_field.items() if key.startswith("permitted_values")
            and isinstance(values, list) for value in values}


@dataclass(frozen=True)
class Layouts:
    """What the test knows of both releases, read from the reference YAML files alone."""

    #: field name -> CSV header label
    labels: dict[str, str]
    #: the Release 2 header: the labels of release2_spec.yaml in its order
    release2_header: list[str]
    #: the labels of the fields Release 2 removed
    removed: list[str]
    #: field name -> {Release 1 spelling: Release 2 spelling}, only where the two differ
    respelling: dict[str, dict[str, str]]
    #: field name -> the Release 2 list (every value release2_spec.yaml lists)
    release2_lists: dict[str, set[str]]
    #: the defined-list fields (release1_spec.yaml ``data_type``)
    defined_lists: list[str]


def layouts() -> Layouts:
    """Both layouts and the respelling, from r1_to_r2_mapping.yaml and the two spec files.

    A value pair of the mapping is used when both spellings are given and the Release 2 one is in
    the Release 2 list: DHSC placeholders (``Release 1 specification only: Not mapped``), values
    not found, a split into two values and merges into nothing are not Release 2 values, so the
    cell stays as sent. Ethnicity is given as a rule (``' - '`` after the group becomes ``': '``)
    with three pairs written out; the rule is applied to the Release 1 list.
    """
    release1 = {f["name"]: f for f in _yaml("release1_spec.yaml")["fields"]}
    release2_doc = _yaml("release2_spec.yaml")
    release2 = {f["name"]: f for f in release2_doc["fields"]}
    mapping = _yaml("r1_to_r2_mapping.yaml")
    release2_lists = {name: _listed(f) for name, f in release2.items() if _listed(f)}
    respelling: dict[str, dict[str, str]] = {}
    for name, entry in mapping["value_mappings"].items():
        if name not in release2_lists:
            continue  # a rule without values, or a field whose Release 2 list was not found
        pairs = entry if isinstance(entry, list) else entry.get("pairs", [])
        table = {p["r1"]: p["r2"] for p in pairs
                 if isinstance(p.get("r1"), str) and isinstance(p.get("r2"), str)
                 and p["r2"] in release2_lists[name] and p["r1"] != p["r2"]}
        if name == "Ethnicity":
            for value in sorted(_listed(release1[name])):
                table.setdefault(value, value.replace(" - ", ": ", 1))
        if table:
            respelling[name] = table
    return Layouts(
        labels={name: f["spec_label"] for name, f in release1.items()},
        release2_header=[f["spec_label"] for f in sorted(release2_doc["fields"], key=lambda f: f["order"])],
        removed=[f["label"] for f in mapping["removed_fields"]],
        respelling=respelling,
        release2_lists=release2_lists,
        defined_lists=[name for name, f in release1.items() if str(f["data_type"]).startswith("defined list")],
    )


LAYOUTS = layouts()


def read_cells(path: Path) -> pd.DataFrame:
    """A submission's cells as text, exactly as written (no value is parsed or trimmed)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="cp1252")


def write_cells(frame: pd.DataFrame, path: Path) -> None:
    """Cells back to a CSV file as councils send it: Windows-1252, comma separated."""
    frame.to_csv(path, index=False, encoding="cp1252", lineterminator="\r\n")


def respelled(frame: pd.DataFrame, rows: pd.Series | None = None) -> pd.DataFrame:
    """``frame`` with every defined-list cell (of ``rows`` only, a boolean mask, when given) in its
    Release 2 spelling; a cell the respelling does not name is kept as sent."""
    out = frame.copy()
    for name, table in LAYOUTS.respelling.items():
        label = LAYOUTS.labels[name]
        new = out[label].map(table)
        change = new.notna() if rows is None else new.notna() & rows
        out.loc[change, label] = new[change]
    return out


def release2_file(frame: pd.DataFrame) -> pd.DataFrame:
    """A Release 2 file of the same submission: respelled, in the 48 columns of Release 2."""
    return respelled(frame)[LAYOUTS.release2_header]


def rows_mixed_file(frame: pd.DataFrame) -> pd.DataFrame:
    """The Release 1 header with every other row (the 2nd, 4th, ...) in Release 2 spelling."""
    return respelled(frame, rows=pd.Series(frame.index % 2 == 1, index=frame.index))


def financial_file(frame: pd.DataFrame) -> pd.DataFrame:
    """As :func:`release2_file`, the financial assessment types in sentence case
    (``Financial assessment - full``): what the Release 2 spelling may well be."""
    out = release2_file(frame)
    label = LAYOUTS.labels["Assessment_Type"]
    financial = out[label].str.startswith("Financial Assessment")
    out.loc[financial, label] = out.loc[financial, label].str.capitalize()
    return out


#: How each council's files are written in the ``mixed`` folder.
MIXED = dict(zip(COUNCILS, ["r1", "r2", "rows", "r2"], strict=True))
WRITERS = {"r2": release2_file, "rows": rows_mixed_file, "financial": financial_file}


@dataclass
class Version:
    """One way of writing the submissions, and what the pipeline made of it."""

    name: str
    data_dir: Path
    cells: dict[str, pd.DataFrame]
    run: validation.ValidationRun
    method: engine.MethodRun

    def stored(self, file: str) -> pd.DataFrame:
        """The records the submission store keeps of one file (the columns the method's SQL reads)."""
        return pd.read_parquet(self.run.catalogue.set_index("file").loc[file, "records_path"])


def write_version(name: str, source: Path, target: Path) -> dict[str, pd.DataFrame]:
    """The generated folder ``source`` written as version ``name`` in ``target``; its files' cells."""
    (target / "submissions").mkdir(parents=True)
    shutil.copy(source / "synthetic.json", target / "synthetic.json")
    cells = {}
    for path in sorted((source / "submissions").iterdir()):
        how = MIXED[path.name[:9]] if name == "mixed" else name
        out = target / "submissions" / path.name
        if how == "r1":
            shutil.copy(path, out)  # as the generator wrote it
        else:
            write_cells(WRITERS[how](read_cells(path)), out)
        cells[path.name] = read_cells(out)
    return cells


@pytest.fixture(scope="module")
def params():
    return month_params(MONTH, today=dt.date(2025, 7, 1))


@pytest.fixture(scope="module")
def month_ends(params):
    return month_ends_of(params)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    meta = synth.generate(folder, councils=COUNCILS, scale=0.05, faults=False, start="2024-04", end="2025-03",
                          workers=1)
    return folder, meta


@pytest.fixture(scope="module")
def versions(generated, params, month_ends, tmp_path_factory):
    folder, _ = generated
    out = {}
    for name in ("r1", "r2", "mixed", "financial"):
        data = tmp_path_factory.mktemp(name)
        cells = write_version(name, folder, data)
        run = validation.validate_folder(data, data / "out", params, workers=1, council_reports=False)
        out[name] = Version(name, data, cells, run, engine.run_method(run.catalogue, params, month_ends))
    return out


@pytest.fixture(scope="module")
def ingested(versions, params):
    """Each version's selected files read again by ingest itself, for what the store does not keep
    (every code field and the status of every cell)."""
    key = ingest.pseudonymise.load_key(None, synthetic=True)
    prefix = params["method"]["financial_assessment_prefix"]
    selected = versions["r1"].run.catalogue.query("selected")["file"]
    return {name: {file: ingest.read_submission(version.data_dir / "submissions" / file, key,
                                                financial_assessment_prefix=prefix) for file in selected}
            for name, version in versions.items()}


def sorted_table(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if c != "value"]
    return frame.sort_values(keys).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The inputs really differ
# --------------------------------------------------------------------------------------------
def test_the_mapping_gives_a_release2_spelling_for_every_release1_ethnicity():
    ethnicity = LAYOUTS.respelling["Ethnicity"]
    assert len(ethnicity) == 21 and set(ethnicity.values()) == LAYOUTS.release2_lists["Ethnicity"]
    assert LAYOUTS.respelling["Client_Type"] == {
        "Service User": "Service user", "Carer": "Unpaid carer",
        "Carer known by association": "Unpaid carer known by association"}
    assert sorted(LAYOUTS.removed) == ["GP Practice Name", "Provider CQC Location Name"]
    assert len(LAYOUTS.release2_header) == 48 and not set(LAYOUTS.removed) & set(LAYOUTS.release2_header)


def changed_cells(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, int]:
    """Cells that differ, per field, over the columns both files have."""
    common = [c for c in before.columns if c in after.columns]
    by_label = (before[common] != after[common]).sum()
    names = {label: name for name, label in LAYOUTS.labels.items()}
    return {names[label]: int(n) for label, n in by_label.items() if n}


def test_the_release2_files_differ_from_release1_on_disk(versions, generated):
    r1, r2 = versions["r1"], versions["r2"]
    changed: dict[str, int] = {}
    for file, before in r1.cells.items():
        after = r2.cells[file]
        assert len(before.columns) == 50 and set(LAYOUTS.removed) <= set(before.columns)
        assert list(after.columns) == LAYOUTS.release2_header and len(after) == len(before)
        for name, n in changed_cells(before, after).items():
            changed[name] = changed.get(name, 0) + n
    # Only defined-list cells changed, and every field the measures read did, in many cells.
    assert set(changed) <= set(LAYOUTS.respelling)
    assert all(changed.get(name, 0) >= 100 for name in MEASURE_FIELDS), changed
    total = sum(changed.values())
    rows = generated[1]["rows"]
    assert total > 3 * rows, (total, rows)  # several cells of every row are respelled
    # No Release 1 spelling that Release 2 respells is left in a Release 2 file.
    for cells in r2.cells.values():
        for name, table in LAYOUTS.respelling.items():
            assert not cells[LAYOUTS.labels[name]].isin(list(table)).any(), name


def test_the_mixed_folder_mixes_councils_and_rows(versions):
    mixed = versions["mixed"]
    client_type = LAYOUTS.labels["Client_Type"]
    for file, cells in mixed.cells.items():
        spellings = set(cells[client_type])
        how = MIXED[file[:9]]
        assert ("Service User" in spellings) == (how in ("r1", "rows")), file
        assert ("Service user" in spellings) == (how in ("r2", "rows")), file
        assert len(cells.columns) == (48 if how == "r2" else 50), file


# --------------------------------------------------------------------------------------------
# Every row is read, in every version
# --------------------------------------------------------------------------------------------
ACCOUNTING = ["la_code", "file", "submitted_at", "rows_read", "rows_used", "rows_excluded", "selected"]


def test_no_row_is_lost_to_spelling(versions, generated):
    r1 = versions["r1"]
    table = r1.run.submissions_table
    assert table["rows_read"].sum() == generated[1]["rows"] and len(table) == 16
    assert table["selected"].sum() == len(COUNCILS) and table["rows_used"].sum() > 0
    for version in versions.values():
        assert not version.run.submissions_table["outcome"].str.startswith("rejected").any(), version.name
        assert not any(r.blocking for r in version.run.results), version.name
        pd.testing.assert_frame_equal(version.run.submissions_table[ACCOUNTING], table[ACCOUNTING])
        pd.testing.assert_frame_equal(version.method.row_accounting, r1.method.row_accounting)
        pd.testing.assert_frame_equal(version.method.exclusions, r1.method.exclusions)


def test_no_cell_of_a_defined_list_is_invalid_in_any_version(versions):
    for version in versions.values():
        for result in version.run.results:
            summary = result.summary
            failed = summary[summary["status"].eq("Failed: Invalid") & summary["count"].gt(0)]
            assert failed.empty, (version.name, result.file, failed.to_dict("records"))
            assert result.invalid_values.empty, (version.name, result.file)


def test_every_version_stores_the_same_records(versions):
    """What the store keeps for the SQL, file by file: the same canonical values, person keys,
    dates and statuses; the submitted Assessment Type differs in letter case only."""
    r1 = versions["r1"]
    for file in r1.cells:
        expected = r1.stored(file)
        for version in versions.values():
            stored = version.stored(file)
            pd.testing.assert_frame_equal(stored.drop(columns=SUBMITTED), expected.drop(columns=SUBMITTED),
                                          obj=f"{version.name} {file}")
            pd.testing.assert_series_equal(stored[SUBMITTED].str.lower(), expected[SUBMITTED].str.lower())


def test_every_defined_list_cell_has_the_same_canonical_value(ingested):
    """Ingest of the selected files: every code field (not only those the store keeps) holds the
    same canonical value in every version, and no cell of one is unread."""
    codes = LAYOUTS.defined_lists
    assert len(codes) == 26
    for file, expected in ingested["r1"].items():
        for name, submissions in ingested.items():
            got = submissions[file]
            pd.testing.assert_frame_equal(got.records[codes], expected.records[codes], obj=f"{name} {file}")
            assert not got.status[codes].isin([int(s) for s in NOT_READ]).any().any(), (name, file)


def test_release2_spellings_are_read_as_release2_values(versions, ingested):
    """Every cell respelled from the mapping is an exact Release 2 value for ingest (status VALID),
    and the Release 2 file has no value read only after trimming or folding case; the Release 1
    file has both kinds of Release 1 value (reworded: VALID_RELEASE1; case only: VALID_RELEASE1_CASE)."""
    release1_statuses: dict[int, int] = {}
    for file, submission in ingested["r2"].items():
        before, after = versions["r1"].cells[file], versions["r2"].cells[file]
        for name in LAYOUTS.respelling:
            label = LAYOUTS.labels[name]
            respelt = (before[label] != after[label]).to_numpy()
            status = submission.status[name].to_numpy()
            assert (status[respelt] == ValueStatus.VALID).all(), (file, name, set(after[label][respelt]))
            loose = (ValueStatus.VALID_LOOSE, ValueStatus.VALID_RELEASE1_LOOSE)
            assert not pd.Series(status).isin([int(s) for s in loose]).any(), (file, name)
            for value, count in ingested["r1"][file].status[name].value_counts().items():
                release1_statuses[int(value)] = release1_statuses.get(int(value), 0) + int(count)
    assert release1_statuses.get(ValueStatus.VALID_RELEASE1, 0) > 1000, release1_statuses
    assert release1_statuses.get(ValueStatus.VALID_RELEASE1_CASE, 0) > 1000, release1_statuses
    assert release1_statuses.get(ValueStatus.VALID_LOOSE, 0) == 0, release1_statuses  # R1 files are exact


# --------------------------------------------------------------------------------------------
# The measures
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["r2", "mixed", "financial"])
def test_the_unrounded_council_tables_are_the_same(versions, name):
    r1, other = versions["r1"], versions[name]
    for table in ("long_term_support", "people_assessed"):
        got, expected = getattr(other.method, table), getattr(r1.method, table)
        pd.testing.assert_frame_equal(sorted_table(got), sorted_table(expected), obj=f"{name} {table}")
    chosen = ["la_code", "file", "candidate", "selected"]
    got, expected = other.method.selection[chosen], r1.method.selection[chosen]
    pd.testing.assert_frame_equal(sorted_table(got), sorted_table(expected))


def test_the_tables_compared_are_not_trivial(versions, month_ends):
    lts = versions["r1"].method.long_term_support
    alls = lts[lts["support_setting"].eq("All") & lts["breakdown"].eq("All")]
    by_council = alls.pivot_table(index="la_code", columns="reference_date", values="value")
    assert sorted(by_council.index) == COUNCILS and len(by_council.columns) == len(month_ends)
    assert (by_council > 10).all().all(), by_council
    settings = lts[lts["breakdown"].eq("All") & lts["value"].gt(0)]["support_setting"]
    assert {"Community", "Residential care", "Nursing care"} <= set(settings)
    ethnicities = lts[lts["breakdown"].eq("Ethnicity") & lts["value"].gt(0)]["breakdown_value"]
    assert ethnicities.nunique() >= 8
    assessed = versions["r1"].method.people_assessed
    totals = assessed[assessed["reference_month"].eq("Total") & assessed["breakdown"].eq("All")]
    assert (totals.set_index("la_code")["value"] > 0).all(), totals


def test_financial_assessments_are_left_out_under_either_spelling(versions, params, month_ends, tmp_path):
    """Financial assessments are left out of the people assessed whether the other assessment types
    are spelled as in Release 1 (``r1``) or Release 2 (``r2``) and whether the financial ones are in
    their Release 1 spelling or in sentence case (``financial``): the tables are the same (test
    above), and leaving them out matters, since counting them (a prefix no type begins with) adds
    the same people in all three."""
    label = LAYOUTS.labels["Assessment_Type"]

    def spellings(name: str, start: str) -> set[str]:
        values = pd.concat([cells[label] for cells in versions[name].cells.values()])
        return set(values[values.str.lower().str.startswith(start)])

    assert spellings("r1", "financial") == spellings("r2", "financial") == {
        "Financial Assessment - Full", "Financial Assessment - Light Touch", "Financial Assessment - Review"}
    assert spellings("financial", "financial") == {
        "Financial assessment - full", "Financial assessment - light touch", "Financial assessment - review"}
    assert spellings("r1", "long") == {"Long Term Assessment"} and spellings("r2", "long") == {"Long term assessment"}
    counted = {**params, "method": {**params["method"], "financial_assessment_prefix": "Means test"}}

    def total(method: engine.MethodRun) -> int:
        table = method.people_assessed
        return int(table[table["reference_month"].eq("Total") & table["breakdown"].eq("All")]["value"].sum())

    left_out, with_financial = {}, {}
    for name in ("r1", "r2", "financial"):
        version = versions[name]
        catalogue = version.run.catalogue.copy()
        # Derived again with the other prefix: the stored derived rows are of the run's params.
        catalogue["derived_dir"] = [str(tmp_path / name / f"{i}") for i in range(len(catalogue))]
        left_out[name] = total(version.method)
        with_financial[name] = total(engine.run_method(catalogue, counted, month_ends))
    assert len(set(left_out.values())) == 1 and len(set(with_financial.values())) == 1, (left_out, with_financial)
    assert with_financial["r1"] > left_out["r1"] > 0, (left_out, with_financial)
