"""Data quality faults injected into the files as they are rendered, and the log of every faulty cell.

Faults are injected only when a file is rendered (the simulated world holds valid values, apart from
the person-level faults drawn with it); rates are :data:`FAULT_RATES`, units :data:`FAULT_UNITS`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from cldstats.reference.vocabulary import load_vocabulary
from cldstats.tools.synth.dates import DAY0, EXCEL_EPOCH_OFFSET, date_strings, to_date
from cldstats.tools.synth.distributions import FAULT_RATES
from cldstats.tools.synth.world import World

#: The unit each fault rate is drawn per (rates in :data:`FAULT_RATES`); "row" where not listed.
FAULT_UNITS = {
    "nhs_number_blank_person": "person",
    "date_of_birth_future": "person",
    "date_of_birth_too_old": "person",
    "late_submission": "council-quarter",
    "missing_submission": "council-quarter",
    "broken_header": "one file per run",
}

MANDATORY_ALWAYS = ("Gender", "Ethnicity", "Postcode", "Accommodation_Status", "Has_Unpaid_Carer", "Date_of_Birth")
INVALID_SPELLINGS = {
    ("Gender", "Female"): "Femail",
    ("Gender", "Male"): "Mael",
    ("Client_Type", "Service User"): "Servce User",
    ("Event_Type", "Assessment"): "Assesment",
    ("Has_Unpaid_Carer", "Yes"): "Y",
}
LOOSE_FAULT_FIELDS = (
    "Gender",
    "Client_Type",
    "Event_Type",
    "Has_Unpaid_Carer",
    "Dementia",
    "Ethnicity",
    "Service_Type",
    "Accommodation_Status",
)
INVALID_FAULT_FIELDS = (
    "Gender",
    "Client_Type",
    "Event_Type",
    "Has_Unpaid_Carer",
    "Service_Type",
    "Event_Outcome",
    "Primary_Support_Reason",
)


def _normalised(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip()).casefold()


def _misspell(field_name: str, value: str) -> str:
    if (field_name, value) in INVALID_SPELLINGS:
        return INVALID_SPELLINGS[(field_name, value)]
    codes = {_normalised(c) for c in load_vocabulary()[field_name].spellings()}
    middle = len(value) // 2
    candidate = value[:middle] + value[middle + 1 :]
    return candidate if _normalised(candidate) not in codes else value + "x"


class FaultLog:
    """The faulty cells of one file: row index, field and kind of each (``faults.csv.gz`` rows)."""

    def __init__(self):
        self.rows: list[np.ndarray] = []
        self.fields: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []

    def add(self, row_index: np.ndarray, field_name: str | np.ndarray, kind: str) -> None:
        row_index = np.asarray(row_index, dtype=np.int64)
        if not len(row_index):
            return
        self.rows.append(row_index)
        self.fields.append(np.broadcast_to(np.asarray(field_name, dtype=object), row_index.shape))
        self.kinds.append(np.full(len(row_index), kind, dtype=object))

    def frame(self, file_name: str) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame({"file": [], "row_number": [], "field": [], "kind": []})
        rows = np.concatenate(self.rows)
        return pd.DataFrame(
            {
                "file": file_name,
                "row_number": rows + 2,
                "field": np.concatenate(self.fields),
                "kind": np.concatenate(self.kinds),
            }
        )


def _set_values(col: list, row_index: np.ndarray, values: list[str]) -> None:
    """Point cells at new strings appended to the column's dictionary."""
    base = len(col[0])
    col[0] = pa.concat_arrays([col[0], pa.array(values, pa.string())])
    col[1] = col[1].copy()
    col[1][row_index] = base + np.arange(len(values))


def pick_rows(rng, candidates: np.ndarray, rate: float) -> np.ndarray:
    """A binomial(``rate``) sample of ``candidates``, sorted (row indices to fault)."""
    k = int(rng.binomial(len(candidates), rate)) if len(candidates) else 0
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else np.zeros(0, np.int64)


def inject_cell_faults(
    rng, cols: dict[str, list], world: World, person: np.ndarray, period_end: int, log: FaultLog
) -> None:
    """Inject the cell faults of one file into ``cols`` (:func:`cldstats.tools.synth.render.build_columns`)
    and list each in ``log``: one cell fault per row at most, so each fault is unambiguous."""
    touched = _person_faults(cols, world, person, log)
    _nhs_number_faults(rng, cols, touched, log)
    _code_faults(rng, cols, touched, log)
    _mandatory_blank_faults(rng, cols, touched, log)
    _date_faults(rng, cols, touched, log)


def _free(touched: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    return candidates[~touched[candidates]]


def _person_faults(cols: dict[str, list], world: World, person: np.ndarray, log: FaultLog) -> np.ndarray:
    """The person-level faults, persistent across files; returns the rows they touched."""
    P = world.persons
    rows = np.flatnonzero(P["nhs_blank"][person] == 1)
    cols["NHS_Number"][1][rows] = -1
    log.add(rows, "NHS_Number", "nhs_number_blank_person")
    for code, kind in ((1, "date_of_birth_future"), (2, "date_of_birth_too_old")):
        log.add(np.flatnonzero(P["dob_fault"][person] == code), "Date_of_Birth", kind)
    touched = np.zeros(len(person), bool)
    touched[rows] = True
    touched[P["dob_fault"][person] > 0] = True
    return touched


def _nhs_number_faults(rng, cols: dict[str, list], touched: np.ndarray, log: FaultLog) -> None:
    rows = pick_rows(
        rng, _free(touched, np.flatnonzero(cols["NHS_Number"][1] >= 0)), FAULT_RATES["nhs_number_blank_row"]
    )
    cols["NHS_Number"][1][rows] = -1
    log.add(rows, "NHS_Number", "nhs_number_blank_row")
    touched[rows] = True
    rows = pick_rows(
        rng, _free(touched, np.flatnonzero(cols["NHS_Number"][1] >= 0)), FAULT_RATES["nhs_number_invalid_check_digit"]
    )
    if len(rows):
        good = cols["NHS_Number"][0].take(pa.array(cols["NHS_Number"][1][rows])).to_pylist()
        bad = [v[:9] + str((int(v[9]) + 1 + int(rng.integers(0, 8))) % 10) for v in good]
        _set_values(cols["NHS_Number"], rows, bad)
        log.add(rows, "NHS_Number", "nhs_number_invalid_check_digit")
        touched[rows] = True


def _code_faults(rng, cols: dict[str, list], touched: np.ndarray, log: FaultLog) -> None:
    everyone = np.arange(len(touched))
    for kind, fields in (("code_case_or_space", LOOSE_FAULT_FIELDS), ("code_invalid", INVALID_FAULT_FIELDS)):
        rows = pick_rows(rng, _free(touched, everyone), FAULT_RATES[kind])
        which = rng.integers(0, len(fields), len(rows))
        for j, field_name in enumerate(fields):
            sel = rows[(which == j) & (cols[field_name][1][rows] >= 0)]
            if not len(sel):
                continue
            values = cols[field_name][0].take(pa.array(cols[field_name][1][sel])).to_pylist()
            if kind == "code_invalid":
                new = [_misspell(field_name, v) for v in values]
            else:
                new = [
                    (v.lower() if v.lower() != v else f" {v} ") if i % 2 == 0 else f" {v} "
                    for i, v in enumerate(values)
                ]
            _set_values(cols[field_name], sel, new)
            log.add(sel, field_name, kind)
            touched[sel] = True


def _mandatory_blank_faults(rng, cols: dict[str, list], touched: np.ndarray, log: FaultLog) -> None:
    rows = pick_rows(rng, _free(touched, np.arange(len(touched))), FAULT_RATES["mandatory_blank"])
    which = rng.integers(0, len(MANDATORY_ALWAYS), len(rows))
    for j, field_name in enumerate(MANDATORY_ALWAYS):
        sel = rows[(which == j) & (cols[field_name][1][rows] >= 0)]
        cols[field_name][1][sel] = -1
        log.add(sel, field_name, "mandatory_blank")
        touched[sel] = True


def _date_faults(rng, cols: dict[str, list], touched: np.ndarray, log: FaultLog) -> None:
    dates = date_strings()
    # end before start, on rows with both dates
    start_idx, end_idx = cols["Event_Start_Date"][1], cols["Event_End_Date"][1]
    rows = pick_rows(
        rng, _free(touched, np.flatnonzero((start_idx >= 0) & (end_idx >= 0))), FAULT_RATES["end_before_start"]
    )
    end_idx[rows] = start_idx[rows] - rng.integers(1, 40, len(rows))
    log.add(rows, "Event_End_Date", "end_before_start")
    touched[rows] = True
    for kind in ("date_iso", "date_excel_serial"):
        rows = pick_rows(rng, _free(touched, np.flatnonzero(start_idx >= 0)), FAULT_RATES[kind])
        which = rng.integers(0, 3, len(rows))
        for j, field_name in enumerate(("Event_Start_Date", "Event_End_Date", "Date_of_Birth")):
            col = cols[field_name]
            sel = rows[(which == j) & (col[1][rows] >= 0) & (col[1][rows] < len(dates))]
            if not len(sel):
                continue
            days = col[1][sel] + DAY0
            if kind == "date_iso":
                new = [to_date(d).isoformat() for d in days]
            else:
                new = [str(int(d) + EXCEL_EPOCH_OFFSET) for d in days]
            _set_values(col, sel, new)
            log.add(sel, field_name, kind)
            touched[sel] = True
    rows = pick_rows(rng, _free(touched, np.flatnonzero(start_idx >= 0)), FAULT_RATES["event_start_date_invalid"])
    bad_dates = ("31/02/2023", "00/00/0000", "TBC", "31/09/2023", "32/01/2024")
    _set_values(cols["Event_Start_Date"], rows, [bad_dates[i % len(bad_dates)] for i in range(len(rows))])
    log.add(rows, "Event_Start_Date", "event_start_date_invalid")
