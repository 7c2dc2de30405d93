"""Submission selection (METHODOLOGY.md section 2): table of normal, edge and erroneous cases."""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cldstats.select import coverage, select_submissions

E = dt.date(2024, 3, 31)
CUTOFF = dt.date(2024, 5, 31)

# la_code, file, submitted_at, period_start, period_end, outcome, candidate, selected, why
CASES = [
    ("E1", "E1_a", "2024-04-10 10:00", "2023-04-01", "2024-03-31", "accepted", True, False, "superseded by a later one"),
    ("E1", "E1_b", "2024-05-31 23:59:59", "2023-04-01", "2024-03-31", "accepted with warnings", True, True, "last second of cut-off day counts (dates compared)"),
    ("E1", "E1_c", "2024-06-01 00:00", "2023-04-01", "2024-04-30", "accepted", False, False, "after cut-off"),
    ("E2", "E2_a", "2024-03-31 23:00", "2023-04-01", "2024-03-31", "accepted", False, False, "on the month end: not after it"),
    ("E2", "E2_b", "2024-04-01 00:00", "2023-04-01", "2024-02-29", "accepted", False, False, "period ends before E"),
    ("E2", "E2_c", "2024-04-02 00:00", "2023-04-01", "2024-03-31", "rejected: no_rows", False, False, "rejected"),
    ("E2", "E2_d", "2024-04-03 00:00", "2023-04-01", "2024-03-31", " Rejected: x", False, False, "rejected, loose spelling"),
    ("E3", "E3_a", "2024-04-05 12:00", "2023-04-01", "2024-03-31", "accepted", True, False, "tie on time, earlier file name"),
    ("E3", "E3_b", "2024-04-05 12:00", "2023-04-01", "2024-03-31", "accepted", True, True, "tie on time, last file name wins"),
    ("E4", "E4_a", None, "2023-04-01", "2024-03-31", "accepted", False, False, "no submission time"),
    ("E4", "E4_b", "2024-04-05 12:00", None, None, "accepted", False, False, "no reporting period"),
    ("E5", "E5_a", "2024-04-05 12:00", "2023-04-01", "2024-04-30", None, False, False, "no outcome"),
    ("E5", "E5_b", "2024-04-01 00:00:01", "2023-10-01", "2024-03-31", "accepted", True, True, "day after E"),
]


@pytest.fixture()
def selection():
    frame = pd.DataFrame(CASES, columns=["la_code", "file", "submitted_at", "period_start", "period_end",
                                         "outcome", "exp_candidate", "exp_selected", "why"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], format="mixed")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    frame["period_end"] = pd.to_datetime(frame["period_end"]).dt.date
    # shuffle so that row order cannot decide the ties
    frame = frame.sample(frac=1.0, random_state=3)
    return select_submissions(frame, E, CUTOFF)


@pytest.mark.parametrize("file", [c[1] for c in CASES])
def test_candidate_and_selected(selection, file):
    row = selection.set_index("file").loc[file]
    assert row["candidate"] == row["exp_candidate"], row["why"]
    assert row["selected"] == row["exp_selected"], row["why"]


def test_keeps_index_and_columns(selection):
    assert selection["candidate"].dtype == bool and selection["selected"].dtype == bool
    assert list(selection.columns[:6]) == ["la_code", "file", "submitted_at", "period_start", "period_end", "outcome"]


def test_at_most_one_selected_per_council(selection):
    assert selection.groupby("la_code")["selected"].sum().max() == 1


def test_coverage(selection):
    count, share = coverage(selection)
    assert count == 3
    assert share == pytest.approx(3 / 153)


def test_missing_column_is_an_error():
    with pytest.raises(KeyError):
        select_submissions(pd.DataFrame({"la_code": []}), E, CUTOFF)


def test_empty_catalogue():
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in [
        ("la_code", str), ("file", str), ("submitted_at", "datetime64[ns]"), ("period_start", "datetime64[ns]"),
        ("period_end", "datetime64[ns]"), ("outcome", str)]})
    out = select_submissions(empty, E, CUTOFF)
    assert len(out) == 0 and coverage(out) == (0, 0.0)
