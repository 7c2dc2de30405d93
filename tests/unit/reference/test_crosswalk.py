"""The council crosswalk: legacy codes and CLD spellings to GSS codes."""

import pandas as pd

from cldstats.reference import crosswalk, lists


def test_every_council_has_a_row_and_legacy_codes_cover_every_council():
    codes = crosswalk.legacy_la_codes()
    assert list(codes) == lists.council_codes()
    assert codes["E09000001"] == "714"  # City of London, confirmed in DHSC's code
    assert codes["E06000053"] == "906"  # Isles of Scilly
    assert codes["E06000063"] == ""  # Cumberland: created 2023, no public code
    known = [code for code in codes.values() if code]
    assert len(known) == len(set(known)) > 140


def test_gss_for_matches_codes_first_then_cld_spellings_ignoring_case():
    la_code = pd.Series(["714", None, "", None, "714", "999", 906])
    la_name = pd.Series([None, "Royal Borough Windsor and Maidenhead", "  stoke ON trent ", "Nowhere",
                         "Barnet", None, None])
    got = crosswalk.gss_for(la_code, la_name)
    assert got.tolist()[:3] == ["E09000001", "E06000040", "E06000021"]
    assert got.isna().tolist()[3:6] == [True, True, True]  # unknown name; code and name disagree; unknown code
    assert got.iloc[6] == "E06000053"  # an integer code read from CSV


def test_the_ten_cld_spellings_of_the_background_all_match():
    spellings = ["Cumberland Council", "Isle of Wight Council", "St Helens", "Telford and the Wrekin",
                 "Westmorland and Furness Council", "Durham", "Royal Borough of Kensington and Chelsea",
                 "Royal Borough Windsor and Maidenhead", "Southend on Sea", "Stoke on Trent"]
    got = crosswalk.gss_for(pd.Series([None] * 10), pd.Series(spellings))
    assert got.notna().all() and got.nunique() == 10
    assert set(got) <= set(lists.council_codes())
