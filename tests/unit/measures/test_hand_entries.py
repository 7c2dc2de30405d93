"""Files excluded and included by hand (params ``selection.exclude``, ``selection.include``;
docs/methodology.md section 2): which files an entry names, the one-line errors, and what the
selection SQL does with them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cldstats.core.errors import CldstatsError
from cldstats.measures import engine
from cldstats.measures.selection import hand_matches, hand_note
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params

E1, E2 = "E06000001", "E06000002"
FILES = pd.DataFrame({
    "file": [f"{E1}_20240410T100000.csv", f"{E1}_20240410T100000.csv.gz", f"{E1}_20240520T090000.csv",
             f"{E2}_20240415T120000.csv", f"{E2}_20240610T080000.csv", "notes.txt"],
    "la_code": [E1, E1, E1, E2, E2, None],
    "submitted_at": pd.to_datetime(["2024-04-10 10:00", "2024-04-10 10:00", "2024-05-20 09:00", "2024-04-15 12:00",
                                    "2024-06-10 08:00", None]),
})
REASON = "a known processing error"


def _params(exclude=(), include=()) -> dict:
    params = load_params("2024-03", today=dt.date(2024, 7, 1))
    params["selection"].update(exclude=list(exclude), include=list(include))
    return params


def test_an_entry_names_a_file_by_name_or_by_council_and_time():
    matches = hand_matches(_params(
        exclude=[{"la_code": E1, "submitted_at": "2024-04-10 10:00:00", "reason": REASON}],
        include=[{"file": f"{E2}_20240610T080000.csv", "reason": "resubmitted after the as-of date"}]), FILES)
    assert matches[["file", "hand"]].values.tolist() == [
        [f"{E1}_20240410T100000.csv", "exclude"], [f"{E1}_20240410T100000.csv.gz", "exclude"],  # both of the tie
        [f"{E2}_20240610T080000.csv", "include"]]
    assert matches["hand_reason"].iloc[0] == REASON
    assert "selection.exclude' item 1" in matches["entry"].iloc[0]


@pytest.mark.parametrize(("exclude", "include", "words"), [
    ([{"file": "E06000001_20240411T100000.csv", "reason": REASON}], [],
     "params key 'selection.exclude' item 1 (file 'E06000001_20240411T100000.csv') matches no file of the "
     "submissions folder: correct or remove it"),
    ([], [{"la_code": E2, "submitted_at": "2024-06-10 08:00:01", "reason": REASON}],
     "params key 'selection.include' item 1 (la_code E06000002 submitted_at 2024-06-10 08:00:01) matches no file"),
    ([], [{"la_code": E1, "submitted_at": "2024-04-10 10:00:00", "reason": REASON}],
     "matches 2 files (E06000001_20240410T100000.csv, E06000001_20240410T100000.csv.gz): name one by file"),
    ([{"file": f"{E1}_20240520T090000.csv", "reason": REASON}],
     [{"file": f"{E1}_20240520T090000.csv", "reason": REASON}],
     "a file is excluded or included, not both"),
    ([], [{"file": f"{E2}_20240415T120000.csv", "reason": REASON},
          {"file": f"{E2}_20240610T080000.csv", "reason": REASON}],
     "both include a file of council E06000002: one file per council is selected"),
])
def test_a_bad_entry_is_one_line_naming_it(exclude, include, words):
    with pytest.raises(CldstatsError) as raised:
        hand_matches(_params(exclude, include), FILES)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_no_entries_name_no_files():
    assert hand_matches(_params(), FILES).empty


def test_the_words_of_a_hand_entry():
    assert hand_note("exclude", REASON) == f"excluded by hand (selection.exclude): {REASON}"
    assert hand_note("include", "late") == "included by hand (selection.include): late"
    assert hand_note(None, None) == "" and hand_note(float("nan"), float("nan")) == ""


def _select(rows, params) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["la_code", "file", "submitted_at", "period_start", "period_end", "hand"])
    frame = frame.assign(outcome="accepted", records_path=None, derived_dir=None, hand_reason=REASON,
                         submitted_at=pd.to_datetime(frame["submitted_at"]))
    con = engine.connect(threads=1)
    try:
        engine.bind_reference(con, params, release_month_ends("2024-03"))
        engine.bind_catalogue(con, frame)
        for step in engine.SELECTION_STEPS:
            engine.run_step(con, step)
        selection = con.execute("SELECT file, candidate, selected FROM selection").df().set_index("file")
        periods = con.execute("SELECT file, count(*) AS n FROM available_periods GROUP BY file").df()
    finally:
        con.close()
    return selection.join(periods.set_index("file"))


def test_an_excluded_file_is_never_a_candidate_and_the_council_falls_back():
    out = _select([(E1, "early", "2024-04-10", "2023-04-01", "2024-03-31", None),
                   (E1, "latest", "2024-05-20", "2023-04-01", "2024-03-31", "exclude")], _params())
    assert not out.loc["latest", "candidate"] and out.loc["early", "selected"]


def test_an_included_file_wins_whatever_its_date_and_period():
    out = _select([(E1, "latest", "2024-05-20", "2023-04-01", "2024-03-31", None),
                   # After the as-of date (31 May 2024), and its period ends in February.
                   (E1, "late", "2024-06-10", "2023-04-01", "2024-02-29", "include")], _params())
    assert out.loc["late", "selected"] and not out.loc["latest", "selected"]
    # The month end and the month after its period's end are not available from it ([x]).
    assert out.loc["late", "n"] == 2 * 12 - 2
