"""Submission selection (docs/methodology.md section 2): table of normal, edge and erroneous cases,
run through the method's own SQL step (``cldstats/measures/sql/selection.sql``) on DuckDB."""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cldstats.measures import engine
from cldstats.measures.selection import coverage
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params

E = dt.date(2024, 3, 31)
CUTOFF = dt.date(2024, 5, 31)
PARAMS = load_params("2024-03", today=dt.date(2024, 6, 1))
PARAMS["selection"]["as_of"] = CUTOFF.isoformat()
#: Council codes of the cases (real GSS codes: the SQL types council codes by the council list).
E1, E2, E3, E4, E5 = "E06000001", "E06000002", "E06000003", "E06000004", "E06000005"

# la_code, file, submitted_at, period_start, period_end, outcome, candidate, selected, why
CASES = [
    (E1, "E1_a", "2024-04-10 10:00", "2023-04-01", "2024-03-31", "accepted", True, False, "superseded by a later one"),
    (E1, "E1_b", "2024-05-31 23:59:59", "2023-04-01", "2024-03-31", "accepted with warnings", True, True, "last second of cut-off day counts (dates compared)"),
    (E1, "E1_c", "2024-06-01 00:00", "2023-04-01", "2024-04-30", "accepted", False, False, "after cut-off"),
    (E2, "E2_a", "2024-03-31 23:00", "2023-04-01", "2024-03-31", "accepted", False, False, "on the month end: not after it"),
    (E2, "E2_b", "2024-04-01 00:00", "2023-04-01", "2024-02-29", "accepted", False, False, "period ends before E"),
    (E2, "E2_c", "2024-04-02 00:00", "2023-04-01", "2024-03-31", "rejected: no_rows", False, False, "rejected"),
    (E2, "E2_d", "2024-04-03 00:00", "2023-04-01", "2024-03-31", " Rejected: x", False, False, "rejected, loose spelling"),
    (E3, "E3_a", "2024-04-05 12:00", "2023-04-01", "2024-03-31", "accepted", True, False, "tie on time, earlier file name"),
    (E3, "E3_b", "2024-04-05 12:00", "2023-04-01", "2024-03-31", "accepted", True, True, "tie on time, last file name wins"),
    (E4, "E4_a", None, "2023-04-01", "2024-03-31", "accepted", False, False, "no submission time"),
    (E4, "E4_b", "2024-04-05 12:00", None, None, "accepted", False, False, "no reporting period"),
    (E5, "E5_a", "2024-04-05 12:00", "2023-04-01", "2024-04-30", None, False, False, "no outcome"),
    (E5, "E5_b", "2024-04-01 00:00:01", "2023-10-01", "2024-03-31", "accepted", True, True, "day after E"),
]


def select(frame: pd.DataFrame, params: dict = PARAMS) -> pd.DataFrame:
    """``frame`` (a catalogue) through selection.sql, in the catalogue's row order."""
    con = engine.connect(threads=1)
    try:
        engine.bind_reference(con, params, release_month_ends("2024-03"))
        engine.bind_catalogue(con, frame.assign(records_path=None, derived_dir=None))
        for step in engine.SELECTION_STEPS:
            engine.run_step(con, step)
        selected = con.execute("SELECT file, candidate, selected FROM selection").df()
    finally:
        con.close()
    return frame.merge(selected, on="file", how="left", validate="one_to_one")


@pytest.fixture()
def selection():
    frame = pd.DataFrame(CASES, columns=["la_code", "file", "submitted_at", "period_start", "period_end",
                                         "outcome", "exp_candidate", "exp_selected", "why"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], format="mixed")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    frame["period_end"] = pd.to_datetime(frame["period_end"]).dt.date
    # shuffle so that row order cannot decide the ties
    frame = frame.sample(frac=1.0, random_state=3)
    return select(frame)


@pytest.mark.parametrize("file", [c[1] for c in CASES])
def test_candidate_and_selected(selection, file):
    row = selection.set_index("file").loc[file]
    assert row["candidate"] == row["exp_candidate"], row["why"]
    assert row["selected"] == row["exp_selected"], row["why"]


def test_every_row_gets_a_boolean(selection):
    assert selection["candidate"].dtype == bool and selection["selected"].dtype == bool
    assert len(selection) == len(CASES)


def test_at_most_one_selected_per_council(selection):
    assert selection.groupby("la_code")["selected"].sum().max() == 1


def test_coverage(selection):
    count, share = coverage(selection)
    assert count == 3
    assert share == pytest.approx(3 / 153)


def test_missing_column_is_an_error():
    with pytest.raises(KeyError):
        select(pd.DataFrame({"la_code": []}))


def test_empty_catalogue():
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in [
        ("la_code", str), ("file", str), ("submitted_at", "datetime64[ns]"), ("period_start", "datetime64[ns]"),
        ("period_end", "datetime64[ns]"), ("outcome", str)]})
    out = select(empty)
    assert len(out) == 0 and coverage(out) == (0, 0.0)


def test_the_cut_off_comes_from_params():
    """A file submitted on 10 June is a candidate only when the params' cut-off is on or after it."""
    frame = pd.DataFrame([(E1, "late", pd.Timestamp("2024-06-10 09:00"), dt.date(2023, 4, 1), dt.date(2024, 3, 31),
                           "accepted")],
                         columns=["la_code", "file", "submitted_at", "period_start", "period_end", "outcome"])
    assert not select(frame)["selected"].iloc[0]
    assert select(frame, {**PARAMS, "selection": {**PARAMS["selection"], "as_of": "2024-06-30"}})["selected"].iloc[0]
