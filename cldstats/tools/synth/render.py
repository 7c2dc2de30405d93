"""Rendering one submission as a view of the simulated world: the rows a file shows, its CSV bytes.

A file shows the events visible in its reporting period as known at its submission time
(:func:`visible_events`); every spec field is built column-wise as a dictionary of strings plus an
index per row (:func:`build_columns`), faults are injected (:mod:`cldstats.tools.synth.faults`),
and the CSV text is joined with pyarrow compute and transcoded to Windows-1252 in bulk.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.reference.spec import load_spec
from cldstats.tools.synth.codes import code_of, code_strings
from cldstats.tools.synth.dates import DAY0, date_strings, to_day
from cldstats.tools.synth.distributions import FAULT_RATES
from cldstats.tools.synth.faults import FaultLog, inject_cell_faults, pick_rows
from cldstats.tools.synth.identities import FIRST_NAMES_FEMALE, FIRST_NAMES_MALE, LAST_NAMES
from cldstats.tools.synth.plan import PlannedFile
from cldstats.tools.synth.world import DESCRIPTIONS, World


def _csv_escape(values: pa.Array) -> pa.Array:
    """Quote values that hold a comma, quote or line break, as Excel does when saving CSV."""
    needs = pc.match_substring_regex(values, r'[,"\r\n]')
    if not pc.any(needs).as_py():
        return values
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def visible_events(world: World, period_start: int, period_end: int, known_by: int):
    """Events visible in a file: (event index per row, shown end day or -1, death shown per row)."""
    E, P = world.events, world.persons
    etype = E["etype"]
    is_service_like = (etype == code_of("Event_Type", "Service")) | (etype == -1)
    service_visible = (
        is_service_like
        & (E["start"] <= period_end)
        & (E["start"] + E["lag_start"] <= known_by)
        & (E["end"] >= period_start)
    )
    completed_visible = (
        ~is_service_like & (E["end"] >= period_start) & (E["end"] <= period_end) & (E["end"] + E["lag_end"] <= known_by)
    )
    rows = np.flatnonzero(service_visible | completed_visible)
    person = E["person"][rows]
    # Rows grouped by person (in LA person ID order), then by event start: like an extract from a case system.
    order = np.lexsort((rows, E["start"][rows], person))
    rows = rows[order]
    person = person[order]
    end = E["end"][rows]
    end_known = (end <= period_end) & (end + E["lag_end"][rows] <= known_by)
    dod = P["dod"][person]
    death_known = (dod <= period_end) & (dod + P["dod_lag"][person] <= known_by)
    shown_end = np.where(end_known & ~(E["death_blank_end"][rows].astype(bool) & death_known), end, -1)
    return rows, shown_end, death_known


def _coded(field_name: str, values: np.ndarray, release: int) -> list:
    return [code_strings(field_name, release), values, True]


def _dated(days: np.ndarray, mask: np.ndarray | None = None) -> list:
    idx = np.asarray(days, dtype=np.int64) - DAY0
    if mask is not None:
        idx = np.where(mask, idx, -1)
    return [date_strings(), idx, False]


def build_columns(
    world: World,
    rows: np.ndarray,
    shown_end: np.ndarray,
    death_known: np.ndarray,
    period_start: int,
    period_end: int,
    release: int = 1,
) -> dict[str, list]:
    """Every spec field as [dictionary of strings, index per row (-1 = blank), needs escaping].

    The code fields' dictionaries are the spellings of ``release`` (:func:`code_strings`): the
    indices, and so the canonical values, are the same whichever release the file follows.
    """
    person = world.events["person"][rows]
    cols = _person_columns(world, rows, person, death_known, period_start, period_end, release)
    cols.update(_event_columns(world, rows, person, shown_end, death_known, release))
    return cols


def _first_names(world: World, person: np.ndarray) -> list:
    """First names: from the female list for women, the male list for men, either for the others."""
    P, S = world.persons, world.strings
    gender = P["gender"][person]
    first_idx = np.asarray(S["first_index"])[person]
    female = gender == code_of("Gender", "Female")
    first_dict = pa.concat_arrays([S["first_female"], S["first_male"]])
    first = np.where(
        female | ((gender != code_of("Gender", "Male")) & (first_idx % 2 == 0)),
        first_idx,
        len(FIRST_NAMES_FEMALE) + first_idx % len(FIRST_NAMES_MALE),
    )
    return [first_dict, first, True]


def _person_columns(
    world: World,
    rows: np.ndarray,
    person: np.ndarray,
    death_known: np.ndarray,
    period_start: int,
    period_end: int,
    release: int,
) -> dict[str, list]:
    """The reporting period and the person fields of each row (carer fields included)."""
    E, P, S = world.events, world.persons, world.strings
    n = len(rows)
    client = P["client_type"][person]
    su = client == code_of("Client_Type", "Service User")
    carer_like = ~su  # both carer client types
    is_request = E["etype"][rows] == code_of("Event_Type", "Request")
    dob = P["dob"][person]
    dob = np.where(P["dob_fault"][person] == 1, period_end + 400 + person % 300, dob)
    dob = np.where(P["dob_fault"][person] == 2, to_day("1900-01-01"), dob)
    psr = np.where(is_request & (E["psr_blank"][rows] == 1), -1, P["psr"][person])
    linked = [np.where(carer_like & (P[k][person] >= 0), P[k][person], -1) for k in ("linked1", "linked2")]
    return {
        "LA_Code": [pa.array([world.la_code]), np.zeros(n, np.int64), False],
        "Reporting_Period_Start_Date": _dated(np.full(n, period_start)),
        "Reporting_Period_End_Date": _dated(np.full(n, period_end)),
        "NHS_Number": [S["nhs"], person.copy(), False],
        "LA_Person_Unique_Identifier": [S["la_id"], person.copy(), False],
        "First_Name": _first_names(world, person),
        "Last_Name": [pa.array(LAST_NAMES, pa.string()), np.asarray(S["last_index"])[person], True],
        "GP_Practice_Name": [S["gp_name"], P["gp"][person], True],
        "GP_Practice_Code": [S["gp_code"], P["gp"][person], False],
        "Gender": _coded("Gender", P["gender"][person], release),
        "Ethnicity": _coded("Ethnicity", P["ethnicity"][person], release),
        "Date_of_Birth": _dated(dob),
        "Date_of_Death": _dated(P["dod"][person], death_known),
        "Client_Type": _coded("Client_Type", client, release),
        "Primary_Support_Reason": _coded("Primary_Support_Reason", psr, release),
        "Postcode": [S["postcode"], person.copy(), False],
        "Accommodation_Status": _coded("Accommodation_Status", P["accommodation"][person], release),
        "Employment_Status": _coded("Employment_Status", P["employment"][person], release),
        "Has_Unpaid_Carer": _coded("Has_Unpaid_Carer", P["unpaid_carer"][person], release),
        "Autism_Spectrum_Disorder_ASD": _coded(
            "Autism_Spectrum_Disorder_ASD", np.where(su, P["asd"][person], -1), release
        ),
        "Visual_Impairment": _coded("Visual_Impairment", np.where(su, P["visual"][person], -1), release),
        "Hearing_Impairment": _coded("Hearing_Impairment", np.where(su, P["hearing"][person], -1), release),
        "Dementia": _coded("Dementia", np.where(su, P["dementia"][person], -1), release),
        "Client_Funding_Status": _coded(
            "Client_Funding_Status", np.where(su & ~is_request, P["funding"][person], -1), release
        ),
        "Total_Hrs_Caring_per_week": _coded(
            "Total_Hrs_Caring_per_week", np.where(carer_like, P["carer_hours"][person], -1), release
        ),
        "No_of_adults_being_cared_for": [
            pa.array(["1", "2", "3"]),
            np.where(carer_like & (P["n_adults"][person] > 0), P["n_adults"][person] - 1, -1),
            False,
        ],
        "Adult_1_Linked_Person_ID": [S["la_id"], linked[0], False],
        "Adult_2_Linked_Person_ID": [S["la_id"], linked[1], False],
        "Adult_3_Linked_Person_ID": [S["la_id"], np.full(n, -1, dtype=np.int64), False],
    }


def _event_columns(
    world: World, rows: np.ndarray, person: np.ndarray, shown_end: np.ndarray, death_known: np.ndarray, release: int
) -> dict[str, list]:
    """The event fields of each row (an open service's outcome as known at the file)."""
    E, S = world.events, world.strings
    etype = E["etype"][rows]
    event_row = etype >= 0
    is_service = etype == code_of("Event_Type", "Service")
    outcome = E["outcome"][rows]
    open_service = is_service & (shown_end < 0)
    outcome = np.where(
        open_service,
        np.where(
            death_known & E["death_blank_end"][rows].astype(bool),
            code_of("Event_Outcome", "NFA - Deceased"),
            code_of("Event_Outcome", "Provision of service"),
        ),
        outcome,
    )
    provider = E["provider"][rows]
    cost_present = ~np.isnan(E["unit_cost"][rows])
    return {
        "Event_Type": _coded("Event_Type", etype, release),
        "Event_Reference": [S["event_ref"], np.where(event_row, rows, -1), False],
        "Event_Start_Date": _dated(E["start"][rows], event_row),
        "Event_End_Date": _dated(shown_end, shown_end >= 0),
        "Event_Description": [pa.array(DESCRIPTIONS, pa.string()), E["description"][rows], True],
        "Event_Outcome": _coded("Event_Outcome", outcome, release),
        "Request_Route_of_Access": _coded("Request_Route_of_Access", E["route"][rows], release),
        "Assessment_Type": _coded("Assessment_Type", E["assess_type"][rows], release),
        "Eligible_Needs_Identified": _coded("Eligible_Needs_Identified", E["eligible"][rows], release),
        "Method_of_Assessment": _coded("Method_of_Assessment", E["assess_method"][rows], release),
        "Service_Type": _coded("Service_Type", E["service_type"][rows], release),
        "Service_Component": _coded("Service_Component", E["component"][rows], release),
        "Delivery_Mechanism": _coded("Delivery_Mechanism", E["delivery"][rows], release),
        "Provider_CQC_Location_Name": [S["cqc_name"], provider, True],
        "Provider_CQC_Location_ID": [S["cqc_id"], provider, False],
        "Review_Reason": _coded("Review_Reason", E["review_reason"][rows], release),
        "Review_Outcomes_Achieved": _coded("Review_Outcomes_Achieved", E["review_achieved"][rows], release),
        "Method_of_Review": _coded("Method_of_Review", E["review_method"][rows], release),
        "Unit_Cost": [S["unit_cost"], np.where(cost_present, rows, -1), False],
        "Cost_Frequency_Unit_Type": _coded("Cost_Frequency_Unit_Type", E["cost_freq"][rows], release),
        "Planned_units_per_week": [S["units"], np.where(cost_present, rows, -1), False],
    }


def render_file(
    world: World, plan: PlannedFile, faults: bool, seed: int, council_index: int, compress: bool
) -> tuple[bytes, int, pd.DataFrame]:
    """The bytes of one submission file, its row count and its fault log."""
    known_by = plan.submitted_day
    rows, shown_end, death_known = visible_events(world, plan.period_start, plan.period_end, known_by)
    log = FaultLog()
    name = plan.name(compress)
    inject = faults and plan.kind != "broken_header"
    rng = np.random.default_rng([seed, council_index, 3, plan.index + 1])
    if inject:  # duplicated rows: the copy sits right after its original
        dup = pick_rows(rng, np.arange(len(rows)), FAULT_RATES["duplicate_row"])
        order = np.sort(np.concatenate([np.arange(len(rows)), dup]), kind="stable")
        rows, shown_end, death_known = rows[order], shown_end[order], death_known[order]
        positions = np.searchsorted(order, dup, side="right") - 1  # the copy is the later of the two
        log.add(positions, "", "duplicate_row")
    cols = build_columns(world, rows, shown_end, death_known, plan.period_start, plan.period_end, plan.release)
    person = world.events["person"][rows]
    if inject:
        inject_cell_faults(rng, cols, world, person, plan.period_end, log)
    spec = load_spec()
    dropped = set() if plan.dropped_column is None else {plan.dropped_column}
    if not plan.keeps_removed_columns:  # a Release 2 header: the two columns Release 2 removed are not written
        dropped |= {f.name for f in spec.fields if f.release1_only_column}
    data = _csv_bytes(cols, dropped, len(rows), name)
    fault_frame = log.frame(name)
    if plan.kind == "broken_header":
        fault_frame = pd.DataFrame(
            {"file": [name], "row_number": [pd.NA], "field": [plan.dropped_column], "kind": ["broken_header"]}
        )
    elif "late_submission" in plan.faults:
        extra = pd.DataFrame({"file": [name], "row_number": [pd.NA], "field": [""], "kind": ["late_submission"]})
        fault_frame = pd.concat([extra, fault_frame], ignore_index=True)
    return data, len(rows), fault_frame


def _csv_bytes(cols: dict[str, list], dropped: set[str], n: int, name: str) -> bytes:
    """The file's bytes: the spec labels but those of ``dropped`` as header and ``n`` rows, in Windows-1252
    (Release 2 labels are assumed to be Release 1's, cld/release2_spec.yaml ``name_conventions``)."""
    spec = load_spec()
    names = [f.name for f in spec.fields if f.name not in dropped]
    labels = [spec.by_name[n].label for n in names]
    arrays = []
    for field_name in names:
        dictionary, index, escape = cols[field_name]
        if escape:
            dictionary = _csv_escape(dictionary)
        index = np.asarray(index, dtype=np.int64)
        arrays.append(dictionary.take(pa.array(index, mask=index < 0)))
    header = ",".join(labels) + "\n"
    if n:
        last = pc.binary_join_element_wise(pc.fill_null(arrays[-1], ""), "\n", "")
        lines = pc.binary_join_element_wise(*arrays[:-1], last, ",", null_handling="replace", null_replacement="")
        offset_type = np.int64 if pa.types.is_large_string(lines.type) else np.int32
        offsets = np.frombuffer(lines.buffers()[1], dtype=offset_type)[lines.offset : lines.offset + n + 1]
        body = memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])].tobytes()
    else:
        body = b""
    text = header.encode("utf-8") + body
    try:
        data = text.decode("utf-8").encode("cp1252")
    except UnicodeEncodeError as exc:  # a bug: every generated string must fit Windows-1252
        raise AssertionError(f"{name}: value not representable in Windows-1252") from exc
    return data


def write_bytes(path: Path, data: bytes, compress: bool) -> None:
    """Write ``data`` (gzipped, with no timestamp, if ``compress``) to ``path`` through a ``.part`` file."""
    if compress:
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
            gz.write(data)
        data = buffer.getvalue()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
