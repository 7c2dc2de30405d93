"""Reporting periods, stated and derived (docs/methodology.md section 2), through the method's own
SQL (``reporting_periods.sql`` then ``selection.sql``) on DuckDB, over planted stored records."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cldstats.measures import engine
from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params

E1, E2, E3 = "E06000001", "E06000002", "E06000003"
TYPES = ("Request", "Assessment", "Review", "Service")


def _params(period: str) -> dict:
    params = load_params("2024-03", today=dt.date(2024, 6, 1))
    params["selection"]["reporting_period"] = period
    return params


def _events(months: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Records ending in each month: ``{"2023-07": (events, event types)}``, end dates on the 15th."""
    rows = []
    for month, (count, types) in months.items():
        day = dt.date.fromisoformat(f"{month}-15")
        rows += [(day, TYPES[i % types]) for i in range(count)]
    return pd.DataFrame(rows, columns=["Event_End_Date", "Event_Type"])


def _store(tmp_path, name: str, records: pd.DataFrame) -> str:
    path = tmp_path / f"{name}.parquet"
    # Open events (no end date) are never counted; one is planted in every file.
    records = pd.concat([records, pd.DataFrame({"Event_End_Date": [None], "Event_Type": ["Service"]})])
    records.assign(Event_End_Date=pd.to_datetime(records["Event_End_Date"])).to_parquet(path)
    return str(path)


#: A file stated to cover April 2023 to March 2024 whose events end from July 2023 to February
#: 2024 (four types each month), with a few stray events in May 2023 (under 2%), a month of one
#: type only (March 2024: dropped, fewer types than the busiest month less one) and events of
#: April 2024, the month it was submitted in (not yet over: not counted).
WIDE = {"2023-05": (3, 4), **{m: (40, 4) for m in ("2023-07", "2023-08", "2023-09", "2023-10", "2023-11",
                                                 "2023-12", "2024-01", "2024-02")},
        "2024-03": (40, 2), "2024-04": (500, 4)}


@pytest.fixture()
def periods(tmp_path):
    def run(period: str) -> pd.DataFrame:
        catalogue = pd.DataFrame([
            (E1, "wide.csv", "2024-04-15 10:00", "2023-04-01", "2024-03-31", _store(tmp_path, "wide", _events(WIDE))),
            # 99 events: too few to derive from, the stated period is kept.
            (E2, "small.csv", "2024-04-15 10:00", "2023-04-01", "2024-03-31",
             _store(tmp_path, "small", _events({"2023-10": (99, 4)}))),
            (E3, "unstored.csv", "2024-04-15 10:00", "2023-04-01", "2024-03-31", None),
        ], columns=["la_code", "file", "submitted_at", "period_start", "period_end", "records_path"])
        catalogue = catalogue.assign(outcome="accepted", derived_dir=None)
        con = engine.connect(threads=1)
        try:
            engine.bind_reference(con, _params(period), release_month_ends("2024-03"))
            engine.bind_catalogue(con, catalogue)
            for step in engine.SELECTION_STEPS:
                engine.run_step(con, step)
            out = con.execute("SELECT r.*, s.candidate, s.selected FROM reporting_periods r "
                              "JOIN selection s USING (file) ORDER BY file").df()
        finally:
            con.close()
        for column in ("stated_start", "stated_end", "derived_start", "derived_end", "period_start", "period_end"):
            out[column] = out[column].dt.date
        return out.set_index("file")
    return run


def test_a_file_stated_wider_than_its_data_gets_the_months_of_its_events(periods):
    row = periods("derived").loc["wide.csv"]
    assert (row["stated_start"], row["stated_end"]) == (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert (row["derived_start"], row["derived_end"]) == (dt.date(2023, 7, 1), dt.date(2024, 2, 29))
    assert row["events"] == 3 + 8 * 40 + 40 and row["event_types"] == 4
    assert row["derived_rule"] == "from events"


def test_a_file_with_under_100_events_keeps_its_stated_period(periods):
    row = periods("derived").loc["small.csv"]
    assert row["events"] == 99
    assert (row["derived_start"], row["derived_end"]) == (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert row["derived_rule"] == "stated: too few events"


def test_a_file_without_stored_records_keeps_its_stated_period(periods):
    row = periods("derived").loc["unstored.csv"]
    assert row["events"] == 0 and row["derived_end"] == dt.date(2024, 3, 31)


def test_the_derived_period_decides_the_selection_only_when_asked_for(periods):
    stated, derived = periods("stated"), periods("derived")
    # Its data end in February: with the derived period it cannot give March 2024.
    assert stated.loc["wide.csv", "selected"] and not derived.loc["wide.csv", "candidate"]
    assert stated.loc["wide.csv", "period_end"] == dt.date(2024, 3, 31)
    assert derived.loc["wide.csv", "period_end"] == dt.date(2024, 2, 29)
    assert (stated["used"] == "stated").all() and (derived["used"] == "derived").all()
    # Both periods are computed whichever is used.
    assert stated.loc["wide.csv", "derived_start"] == dt.date(2023, 7, 1)
    assert derived.loc["small.csv", "selected"]


def test_a_month_is_dropped_at_the_share_and_type_thresholds_exactly(tmp_path, periods):
    # 4 events of 200 is 2%: kept; 2 event types when the busiest month has 3: kept.
    months = {"2023-06": (4, 2), "2023-07": (98, 3), "2023-08": (98, 3)}
    catalogue = pd.DataFrame([(E1, "edge.csv", "2024-04-15 10:00", "2023-04-01", "2024-03-31",
                               _store(tmp_path, "edge", _events(months)), "accepted", None)],
                             columns=["la_code", "file", "submitted_at", "period_start", "period_end",
                                      "records_path", "outcome", "derived_dir"])
    con = engine.connect(threads=1)
    try:
        engine.bind_reference(con, _params("derived"), release_month_ends("2024-03"))
        engine.bind_catalogue(con, catalogue)
        engine.run_step(con, "reporting_periods")
        start, end = con.execute("SELECT derived_start, derived_end FROM reporting_periods").fetchall()[0]
        assert (start, end) == (dt.date(2023, 6, 1), dt.date(2023, 8, 31))
        # One event fewer in June (3 of 200, 1.5%): June is dropped.
        months["2023-06"], months["2023-08"] = (3, 2), (99, 3)
        catalogue["records_path"] = _store(tmp_path, "edge2", _events(months))
        engine.bind_catalogue(con, catalogue)
        engine.run_step(con, "reporting_periods")
        assert con.execute("SELECT derived_start FROM reporting_periods").fetchall()[0][0] == dt.date(2023, 7, 1)
    finally:
        con.close()
