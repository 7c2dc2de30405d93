"""Disclosure control (docs/methodology.md section 7): tables of normal, edge and erroneous cases."""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import pandas as pd
import pytest

from cldstats import disclosure


@pytest.mark.parametrize("count, published", [
    (0, "0"), (1, "[c]"), (2, "[c]"), (4, "[c]"), (5, "5"), (7, "5"), (8, "10"), (12, "10"), (13, "15"),
    (17, "15"), (18, "20"), (22, "20"), (23, "25"), (1_000_002, "1000000"), (1_000_003, "1000005"), (None, "[x]"),
])
def test_publish_counts(count, published):
    assert disclosure.publish_counts(pd.Series([count], dtype="Int64")).tolist() == [published]


def test_round_to_base_halves_up_not_bankers():
    # With base 10, 5/15/25 are exact halves: always up (banker's rounding would give 0/20/20).
    assert disclosure.round_to_base([5, 15, 25, 35], base=10).tolist() == [10, 20, 30, 40]
    assert disclosure.round_to_base([2, 3], base=5).tolist() == [0, 5]


def test_params_drive_rounding():
    settings = disclosure.disclosure_settings({"disclosure": {"rounding_base": 10, "suppress_max": 9}})
    assert settings == {"rounding_base": 10, "suppress_max": 9}
    assert disclosure.publish_counts(pd.Series([9, 10, 15], dtype="Int64"), **settings).tolist() == ["[c]", "10", "20"]
    assert disclosure.disclosure_settings(None) == {"rounding_base": 5, "suppress_max": 4}


@pytest.mark.parametrize("count, population, applicable, pop_cell, rate_cell", [
    (15, 77090, True, "77090", "19"),  # 19.46
    (1, 100_000, True, "100000", "[c]"),
    (0, 100_000, True, "100000", "0"),
    (5, 200_000, True, "200000", "3"),  # 2.5 -> 3, halves up
    (7, 200_000, True, "200000", "4"),  # 3.5 -> 4
    (9, 200_000, True, "200000", "5"),  # 4.5 -> 5 (banker's would give 4)
    (5, None, False, "[z]", "[z]"),
    (None, None, True, "[x]", "[x]"),
    (None, None, False, "[z]", "[z]"),
])
def test_publish_rates(count, population, applicable, pop_cell, rate_cell):
    pops, rates = disclosure.publish_rates(pd.Series([count], dtype="Int64"), pd.Series([population], dtype="Int64"),
                                           pd.Series([applicable]))
    assert (pops.iloc[0], rates.iloc[0]) == (pop_cell, rate_cell)


def test_round_half_up_ratio_exact():
    assert disclosure.round_half_up_ratio([1, 3, 5, 7, 10**12 + 1], [2, 2, 2, 2, 2]).tolist() == [1, 2, 3, 4, 500000000001]


def test_revision_flags():
    keys = ["reference_date", "area_code"]
    current = pd.DataFrame({"reference_date": ["2024-02-29", "2024-02-29", "2024-03-31", "2024-01-31"],
                            "area_code": ["A", "B", "A", "A"], "value": ["10", "[c]", "5", "[x]"]})
    previous = pd.DataFrame({"reference_date": ["2024-02-29", "2024-02-29", "2024-01-31"],
                             "area_code": ["A", "B", "A"], "value": ["10", "5", "0"]})
    assert disclosure.revision_flags(current, previous, keys).tolist() == ["p", "p r", "p", "p r"]
    assert disclosure.revision_flags(current, None, keys).tolist() == ["p"] * 4
    # index of the current frame is kept
    shifted = current.set_index(pd.Index([10, 11, 12, 13]))
    assert disclosure.revision_flags(shifted, previous, keys).index.tolist() == [10, 11, 12, 13]


def test_published_frame_with_previous_release():
    area = pd.DataFrame({
        "reference_month": ["2024-02", "2024-03"], "area_level": ["Local Authority"] * 2,
        "area_code": ["E06000001"] * 2, "area_name": ["Hartlepool"] * 2, "breakdown": ["All"] * 2,
        "breakdown_value": ["All"] * 2, "value": pd.array([12, 3], dtype="Int64"), "councils_included": ["1 of 1"] * 2,
    })
    first = disclosure.published_assessments(area)
    assert first["value"].tolist() == ["10", "[c]"] and first["flags"].tolist() == ["p", "p"]
    revised = area.assign(value=pd.array([13, 3], dtype="Int64"))
    second = disclosure.published_assessments(revised, previous=first)
    assert second["value"].tolist() == ["15", "[c]"] and second["flags"].tolist() == ["p r", "p"]
    assert list(second.columns) == ["reference_month", "area_level", "area_code", "area_name", "breakdown",
                                    "breakdown_value", "value", "flags", "councils_included"]


def test_published_cells_check_flags_bad_cells():
    unrounded = pd.DataFrame({
        "reference_month": ["2024-03"] * 2, "area_level": ["Local Authority"] * 2, "area_code": ["E06000001"] * 2,
        "area_name": ["Hartlepool"] * 2, "breakdown": ["All", "Gender"], "breakdown_value": ["All", "Female"],
        "value": pd.array([3, 3], dtype="Int64"), "councils_included": ["1 of 1"] * 2,
    })
    bad = disclosure.published_assessments(unrounded).assign(value=["3", "7"])
    frames = disclosure.consistency_frames(unrounded, bad)
    assert frames["published_cells"]["ok"].tolist() == [False, False]
    good = disclosure.published_assessments(unrounded)
    assert disclosure.consistency_frames(unrounded, good)["published_cells"]["ok"].all()


# ---------------------------------------------------------------------------------------------
# Revisions table (qa/revisions.csv)
# ---------------------------------------------------------------------------------------------
def _lts(values, dates=("2024-02-29", "2024-03-31")):
    return pd.DataFrame({
        "reference_date": list(dates), "area_level": "England", "area_code": "E92000001", "area_name": "England",
        "support_setting": "All", "breakdown": "All", "breakdown_value": "All", "value": list(values), "flags": "p",
        "councils_included": "8 of 153",
    })


def _rates(rates, populations):
    return pd.DataFrame({
        "reference_date": ["2024-02-29", "2024-03-31"], "area_level": "England", "area_code": "E92000001",
        "area_name": "England", "support_setting": "All", "breakdown": "All", "breakdown_value": "All",
        "population": list(populations), "rate": list(rates), "flags": "p", "councils_included": "8 of 153",
    })


def test_revisions_table_lists_exactly_the_flagged_cells_with_old_and_new():
    previous = {"long_term_support": _lts(["100", "[c]"]), "long_term_support_rates": _rates(["20", "21"], ["5000", "5000"])}
    current = {"long_term_support": _lts(["100", "5"]), "long_term_support_rates": _rates(["22", "21"], ["5100", "5000"])}
    current["long_term_support"]["flags"] = disclosure.revision_flags(
        current["long_term_support"], previous["long_term_support"], ["reference_date", "area_code", "support_setting", "breakdown", "breakdown_value"])
    table = disclosure.revisions_table(current, previous, "2024-03 release of run 20240601T090000Z")
    assert list(table.columns) == disclosure.REVISION_COLUMNS
    assert table[["table", "reference_period", "measure", "previous_value", "new_value"]].to_numpy().tolist() == [
        ["long_term_support", "2024-03-31", "value", "[c]", "5"],
        # a rates cell whose rate and population both changed: one row per measure, rate first
        ["long_term_support_rates", "2024-02-29", "rate", "20", "22"],
        ["long_term_support_rates", "2024-02-29", "population", "5000", "5100"],
    ]
    assert set(table["previous_release"]) == {"2024-03 release of run 20240601T090000Z"}
    # the same comparison as the flags: one row per p r cell of the counts table
    assert (current["long_term_support"]["flags"] == "p r").sum() == (table["table"] == "long_term_support").sum()


def test_revisions_table_empty_cases():
    current = {"long_term_support": _lts(["100", "5"])}
    for previous in ({}, {"long_term_support": None}, {"long_term_support": _lts(["100", "5"])}):
        table = disclosure.revisions_table(current, previous)
        assert table.empty and list(table.columns) == disclosure.REVISION_COLUMNS
    # a cell absent from the earlier release (a new month end) is not revised
    assert disclosure.revisions_table(current, {"long_term_support": _lts(["100"], dates=["2024-02-29"])}).empty


def test_revisions_table_assessments_have_no_setting_and_keep_row_order():
    def frame(values):
        return pd.DataFrame({"reference_month": ["2024-01", "2024-02", "Total"], "area_level": "Region",
                             "area_code": "E12000001", "area_name": "North East", "breakdown": "All",
                             "breakdown_value": "All", "value": values, "flags": "p", "councils_included": "1 of 12"})
    table = disclosure.revisions_table({"assessments": frame(["15", "10", "25"])}, {"assessments": frame(["10", "10", "20"])},
                                       {"assessments": "2024-02 release"})
    assert table["reference_period"].tolist() == ["2024-01", "Total"]
    assert set(table["support_setting"]) == {""} and set(table["previous_release"]) == {"2024-02 release"}


