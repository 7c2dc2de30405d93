"""Reference data: councils, regions and categories, checked against published totals."""

import pytest

from cldstats import reference
from cldstats.reference.spec import load_spec


def test_153_councils_in_9_regions():
    councils = reference.councils()
    assert len(councils) == 153
    assert councils["la_code"].is_unique
    assert councils["la_code"].str.match(r"^E(06|07|08|09|10)\d{6}$").all()
    assert councils["region_code"].nunique() == 9


# Appendix A of background_dhsc_method.md: adults 18+ and LTS at 31 March 2026 by region
@pytest.mark.parametrize(
    ("region", "councils_in_region", "adults", "lts"),
    [
        ("North East", 12, 2_217_968, 40_265),
        ("North West", 24, 6_109_856, 104_565),
        ("London", 33, 7_173_650, 105_460),
        ("South West", 15, 4_775_451, 67_025),
    ],
)
def test_regional_totals_match_the_published_figures(region, councils_in_region, adults, lts):
    rows = reference.councils().query("region == @region")
    assert len(rows) == councils_in_region
    assert rows["adults_18plus"].sum() == adults
    assert rows["lts_31mar2026"].sum() == lts


def test_england_totals():
    councils = reference.councils()
    assert councils["adults_18plus"].sum() == 46_437_085
    assert councils["adults_65plus"].sum() == 10_981_092
    assert councils["lts_31mar2026"].sum() == 684_890


def test_regions_table():
    regions = reference.regions()
    assert regions.iloc[0].tolist() == ["E92000001", "England", "England"]
    assert (regions["area_level"] == "Region").sum() == 9


# The published category labels, copied by hand from DHSC's tables (background_dhsc_method.md
# section 3.2 and Appendix C), independent of the package's vocabulary: a change of spelling in the
# code lists must not change what is published without this test saying so.
PUBLISHED_ETHNICITY = {
    "White": ["English, Welsh, Scottish, Northern Irish or British", "Irish", "Gypsy or Irish Traveller", "Roma",
              "Any other White background"],
    "Mixed or multiple ethnic groups": ["White and Black Caribbean", "White and Black African", "White and Asian",
                                        "Any other Mixed or multiple ethnic background"],
    "Asian or Asian British": ["Indian", "Pakistani", "Bangladeshi", "Chinese", "Any other Asian background"],
    "Black, Black British, Caribbean or African": ["African", "Caribbean",
                                                   "Any other Black, Black British or Caribbean background"],
    "Other ethnic group": ["Arab", "Any other ethnic group"],
    "No data": ["Refused", "Undeclared or not known"],
}


def test_published_label_sets_are_dhsc_s():
    assert reference.genders() == ["Female", "Male", "Other", "Unknown"]
    assert reference.ethnicity_groups() == list(PUBLISHED_ETHNICITY)
    assert reference.ethnicity_subgroup_labels() == [
        f"{group}: {subgroup}" for group, subgroups in PUBLISHED_ETHNICITY.items() for subgroup in subgroups
    ]
    assert reference.SETTINGS == ("All", "Community", "Residential care", "Nursing care", "Prison")
    assert reference.age_band_labels(reference.AGE_GROUPS) == ["18 to 64", "65 and above", "Unknown"]
    assert reference.age_band_labels(reference.AGE_BANDS) == [
        "18 to 24", "25 to 44", "45 to 64", "65 to 74", "75 to 84", "85 to 94", "95 and above", "Unknown"
    ]


def test_every_long_term_service_type_has_a_setting():
    long_term = [v for v in load_spec().by_name["Service_Type"].code_list if v.startswith("Long term support")]
    assert sorted(reference.SETTING_BY_SERVICE_TYPE) == sorted(long_term)


def test_settings_rank_nursing_first():
    ranks = reference.SETTING_RANK
    assert sorted(ranks, key=ranks.get) == ["Nursing care", "Residential care", "Community", "Prison"]
    assert set(reference.SETTING_BY_SERVICE_TYPE.values()) == set(ranks)
    assert reference.SETTINGS[0] == reference.SETTING_ALL


def test_age_bands_cover_adult_ages_without_gaps():
    for bands in (reference.AGE_GROUPS, reference.AGE_BANDS):
        assert bands[0].low == 18 and bands[-1].high is None
        for left, right in zip(bands, bands[1:], strict=False):
            assert left.high + 1 == right.low
