"""ADASS regions and the full rate tables end to end (docs/methodology.md sections 4, 5 and 7): a
real publication run of three councils' synthetic data, Cumberland assigned by params to ADASS
North East, Milton Keynes (ONS South East, ADASS Eastern) and Hartlepool (ADASS membership
inferred); the workbooks and charts are written, the notebooks skipped."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cldstats import reference
from cldstats.pipeline.publish import publish_month
from cldstats.reference import statements
from cldstats.tools import synth
from tests.helpers.stand_ins import tables_only

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MONTH, LATEST = "2024-03", "2024-03-31"
CUMBERLAND, MILTON_KEYNES, HARTLEPOOL = "E06000063", "E06000042", "E06000001"
PARAMS = ('override:\n  reason: "test run on 3 of 153 councils"\n'
          f'areas:\n  adass_assign:\n    {CUMBERLAND}: "North East"\n')


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("adass")
    synth.generate(tmp / "data", councils=[CUMBERLAND, MILTON_KEYNES, HARTLEPOOL], scale=0.05, start="2023-04",
                   end=MONTH)
    params = tmp / "params.yaml"
    params.write_text(PARAMS, encoding="utf-8")
    with tables_only(notebooks=()):
        result = publish_month(MONTH, params_file=params, data_dir=tmp / "data", out_dir=tmp / "reports",
                               progress=False)
    return result.release_dir


def _csv(release: Path, name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(release / name, dtype=str, keep_default_na=False, **kwargs)


def test_every_table_has_the_four_area_levels_in_order(release):
    for name in ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates"):
        frame = _csv(release, f"data/{name}.csv")
        assert list(dict.fromkeys(frame["area_level"])) == list(reference.AREA_LEVELS), name
        adass = frame[frame["area_level"] == "ADASS region"]
        assert set(adass["area_code"]) == set(reference.adass_regions()["area_code"]), name
        assert not adass["area_code"].str.match(r"^E\d{8}$").any()


def test_adass_regions_sum_their_members_with_the_assignment(release):
    unrounded = pd.read_csv(release / "qa" / "long_term_support_unrounded.csv", dtype={"value": "Int64"},
                            keep_default_na=False, na_values=[""])
    cell = unrounded[(unrounded["reference_date"] == LATEST) & (unrounded["support_setting"] == "All")
                     & (unrounded["breakdown"] == "All")].set_index("area_code")
    value = cell["value"]
    assert value["ADASS01"] == value[CUMBERLAND] + value[HARTLEPOOL]  # North East, Cumberland assigned to it
    assert value["ADASS06"] == value[MILTON_KEYNES]  # Eastern holds Milton Keynes ...
    assert pd.isna(value["ADASS08"]) and value["E12000008"] == value[MILTON_KEYNES]  # ... ONS South East too
    assert cell.loc["ADASS01", "councils_included"] == "2 of 13"
    assert cell.loc["ADASS02", "councils_included"] == "0 of 23"
    assert cell.loc["E12000002", "councils_included"] == "1 of 24"  # Cumberland stays in ONS North West


def test_rates_divide_by_the_published_populations(release):
    unrounded = pd.read_csv(release / "qa" / "long_term_support_rates_unrounded.csv",
                            dtype={"value": "Int64", "population": "Int64"}, keep_default_na=False, na_values=[""])
    published = _csv(release, "data/long_term_support_rates.csv")
    assert LATEST in set(published["reference_date"])
    pops = reference.published_populations().set_index(["area_code", "dimension", "dimension_value"])["population"]
    latest = (published["reference_date"] == LATEST) & (published["support_setting"] == "All")
    for breakdown, value, dimension in (("Gender", "Female", "gender"), ("Age band", "85 and above", "age_group"),
                                        ("Ethnicity group", "White", "ethnicity")):
        row = published[latest & (published["area_code"] == HARTLEPOOL) & (published["breakdown"] == breakdown)
                        & (published["breakdown_value"] == value)].iloc[0]
        assert int(row["population"]) == pops[(HARTLEPOOL, dimension, value)]
        count = unrounded[(unrounded["reference_date"] == LATEST) & (unrounded["support_setting"] == "All")
                          & (unrounded["area_code"] == HARTLEPOOL) & (unrounded["breakdown"] == breakdown)
                          & (unrounded["breakdown_value"] == value)]["value"].iloc[0]
        expected = "[c]" if 1 <= count <= 4 else str((2 * int(count) * 100_000 + int(row["population"]))
                                                     // (2 * int(row["population"])))
        assert row["rate"] == expected, (breakdown, value)
    assert set(published.loc[published["area_level"] == "ADASS region", "rate"]) == {"[z]"}


def test_assessment_rates_are_the_total_per_100000(release):
    rates = _csv(release, "data/assessments_rates.csv")
    assert list(rates.columns) == ["reference_month", "area_level", "area_code", "area_name", "breakdown",
                                   "breakdown_value", "population", "rate", "flags", "councils_included"]
    assert set(rates["reference_month"]) == {"Total"}
    counts = pd.read_csv(release / "qa" / "assessments_unrounded.csv", dtype={"value": "Int64"},
                         keep_default_na=False, na_values=[""])
    total = counts[(counts["reference_month"] == "Total") & (counts["area_code"] == MILTON_KEYNES)
                   & (counts["breakdown"] == "All")]["value"].iloc[0]
    row = rates[(rates["area_code"] == MILTON_KEYNES) & (rates["breakdown"] == "All")].iloc[0]
    population = reference.councils().set_index("la_code").loc[MILTON_KEYNES, "adults_18plus"]
    assert int(row["population"]) == population
    assert row["rate"] == str((2 * int(total) * 100_000 + population) // (2 * population))


def test_the_notes_name_the_memberships_not_confirmed_and_the_populations(release):
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["params"]["areas"]["adass_assign"] == {CUMBERLAND: "North East", "E06000064": ""}
    facts = statements.MethodFacts.from_params(manifest["params"])
    sentence = statements.adass_sentence(facts)
    assert "Cumberland (E06000063) to North East (as the params of this run set)" in sentence
    assert "Westmorland and Furness (E06000064) to North West (the ADASS region of its ONS region" in sentence
    for stem in ("long_term_support", "assessments"):
        book = openpyxl.load_workbook(release / "spreadsheets" / f"{stem}.xlsx", read_only=True)
        notes = " ".join(str(c) for row in book["Notes"].iter_rows(values_only=True) for c in row if c)
        assert sentence in notes, stem
        assert statements.rate_counts_sentence(stem) in notes and "not comparable" in notes, stem
        assert "Hartlepool (E06000001)" in notes  # inferred
