"""ADASS regions and the full rate tables (docs/methodology.md section 4, "Areas" and "Rates"), on
hand-built council tables: every expected population below is a row of
``cldstats/data/published_populations.csv``."""

from __future__ import annotations

import pandas as pd
import pytest

from cldstats import disclosure, reference
from cldstats.measures import areas

NORTH_EAST, ENGLAND = "E12000001", "E92000001"
CUMBERLAND, WESTMORLAND, HARTLEPOOL = "E06000063", "E06000064", "E06000001"
PERIODS = ["2024-03", "Total"]


def council_table(codes, cells):
    """People assessed, one row per council, period and (breakdown, value): ``cells`` values."""
    rows = [{"reference_month": p, "la_code": code, "breakdown": b, "breakdown_value": v, "value": n}
            for p in PERIODS for code in codes for (b, v), n in cells.items()]
    return pd.DataFrame(rows).astype({"value": "Int64"})


def published_population(area, dimension, value):
    pops = reference.published_populations()
    pick = pops[(pops["area_code"] == area) & (pops["dimension"] == dimension) & (pops["dimension_value"] == value)]
    assert len(pick) == 1
    return int(pick["population"].iloc[0])


def north_east():
    return reference.councils().query("region_code == @NORTH_EAST")["la_code"].tolist()


@pytest.fixture(scope="module")
def rates():
    cells = {("All", "All"): 10, ("Age band", "85 to 94"): 2, ("Age band", "95 and above"): 1,
             ("Ethnicity", "White: Irish"): 1, ("Gender", "Female"): 6}
    area = areas.area_table(council_table(north_east(), cells), PERIODS)
    return areas.rates_unrounded(area, ["Total"])


def row(frame, area, breakdown, value):
    pick = frame[(frame["area_code"] == area) & (frame["breakdown"] == breakdown)
                 & (frame["breakdown_value"] == value)]
    assert len(pick) == 1
    return pick.iloc[0]


def test_the_85_and_above_band_sums_the_count_bands_and_has_the_published_population(rates):
    got = row(rates, HARTLEPOOL, "Age band", "85 and above")
    assert got["value"] == 3
    assert got["population"] == published_population(HARTLEPOOL, "age_group", "85 and above")
    region = row(rates, NORTH_EAST, "Age band", "85 and above")
    assert region["value"] == 36
    assert region["population"] == published_population(NORTH_EAST, "age_group", "85 and above")
    assert region["rate"] == pytest.approx(36 * 100_000 / region["population"])


def test_regions_and_england_divide_by_the_councils_with_data(rates):
    # England has data from the 12 North East councils only: its population is theirs.
    england = row(rates, ENGLAND, "Gender", "Female")
    assert england["population"] == published_population(NORTH_EAST, "gender", "Female")
    assert england["population"] < published_population(ENGLAND, "gender", "Female")
    assert set(rates["reference_month"]) == {"Total"}


def test_subgroups_use_the_published_area_population_only_when_every_council_has_data(rates):
    # Councils have no subgroup population (DHSC publishes groups only for councils).
    assert pd.isna(row(rates, HARTLEPOOL, "Ethnicity", "White: Irish")["population"])
    region = row(rates, NORTH_EAST, "Ethnicity", "White: Irish")
    assert region["councils_included"] == "12 of 12"
    assert region["population"] == published_population(NORTH_EAST, "ethnicity", "White: Irish")
    assert pd.isna(row(rates, ENGLAND, "Ethnicity", "White: Irish")["population"])  # 12 of 153


def test_published_assessment_rates_have_the_contract_columns_and_z_for_adass(rates):
    published = disclosure.published_assessments_rates(rates)
    assert list(published.columns) == ["reference_month", "area_level", "area_code", "area_name", "breakdown",
                                       "breakdown_value", "population", "rate", "flags", "councils_included"]
    adass = published[published["area_level"] == "ADASS region"]
    assert len(adass) > 0 and set(adass["rate"]) == {"[z]"} and set(adass["population"]) == {"[z]"}
    assert list(dict.fromkeys(published["area_level"])) == list(reference.AREA_LEVELS)
    england = published[(published["area_code"] == ENGLAND) & (published["breakdown"] == "Ethnicity")]
    assert set(england["population"]) == {"[x]", "[z]"}  # [z]: the two No data values
    hartlepool = row(published, HARTLEPOOL, "All", "All")
    assert hartlepool["population"] == str(published_population(HARTLEPOOL, "age_group", "All"))
    assert hartlepool["rate"] == str(round(10 * 100_000 / int(hartlepool["population"])))


def test_adass_regions_sum_their_members_and_blank_members_are_assigned():
    table = council_table([CUMBERLAND, WESTMORLAND, HARTLEPOOL], {("All", "All"): 10})

    def adass(assign):
        area = areas.area_table(table, PERIODS, assign)
        pick = area[(area["area_level"] == "ADASS region") & (area["reference_month"] == "2024-03")
                    & (area["breakdown"] == "All")]
        return pick.set_index("area_code")[["area_name", "value", "councils_included"]]

    default = adass(None)  # both Cumbrian councils in their ONS region's ADASS region, North West
    assert default.loc["ADASS01"].tolist() == ["North East", 10, "1 of 12"]
    assert default.loc["ADASS02"].tolist() == ["North West", 20, "2 of 24"]
    moved = adass({CUMBERLAND: "North East", WESTMORLAND: ""})
    assert moved.loc["ADASS01"].tolist() == ["North East", 20, "2 of 13"]
    assert moved.loc["ADASS02"].tolist() == ["North West", 10, "1 of 23"]
    assert set(default.index) == set(reference.adass_regions()["area_code"])


def test_adass_codes_are_not_gss_codes_and_membership_counts_match_the_sources():
    codes = reference.adass_regions()["area_code"]
    assert not codes.str.match(r"^E\d{8}$").any() and codes.is_unique and len(codes) == 9
    membership = reference.adass_membership()
    assert membership["membership"].value_counts().to_dict() == {"confirmed": 112, "inferred": 39, "assigned": 2}
    # Milton Keynes is the one council whose ADASS region differs from its ONS region.
    ons = reference.councils().set_index("la_code")["region_code"].map(
        reference.adass_regions().set_index("ons_region_code")["area_name"])
    moved = membership[membership["adass_region"].to_numpy() != ons.reindex(membership["la_code"]).to_numpy()]
    assert moved["la_name"].tolist() == ["Milton Keynes"] and moved["adass_region"].tolist() == ["Eastern"]


@pytest.mark.parametrize(("assign", "words"), [
    ({HARTLEPOOL: "North West"}, "not a council with a blank ADASS membership"),
    ({CUMBERLAND: "Cumbria"}, "'Cumbria' for E06000063 is not an ADASS region"),
])
def test_bad_assignments_are_refused(assign, words):
    with pytest.raises(ValueError, match=words):
        reference.adass_membership(assign)


def test_the_councils_adult_populations_are_the_published_ones():
    councils = reference.councils().set_index("la_code")
    assert councils.loc[HARTLEPOOL, "adults_18plus"] == published_population(HARTLEPOOL, "age_group", "All")
    assert councils["adults_18plus"].sum() == published_population(ENGLAND, "age_group", "All") == 46_437_085
    assert councils["adults_65plus"].sum() == published_population(ENGLAND, "age_group", "65 and above")
