"""Run the method's SQL files on an embedded DuckDB database.

The method (docs/methodology.md sections 2 to 5) is the SQL files in ``cldstats/measures/sql/``,
one per step, run in :data:`STEPS` order on one in-memory DuckDB connection. This module only
prepares what they read and collects what they write:

* **Reference tables and parameters** (:func:`bind_reference`): every constant of the method comes
  from the resolved params or the package's reference data, bound as small tables (never a
  literal in a query): ``method_parameters`` (one row: adult age, maximum age, look-back days,
  the reference month end and cut-off, ...), ``release_periods`` (the month ends and months of the
  release), ``long_term_services`` (service type -> setting and rank), ``genders``,
  ``ethnicities``, ``age_bands``, ``breakdown_values`` and ``release_settings``. The ``age_at``
  macro reads the maximum age and the days per year as DuckDB variables set from the same values.
* **Submissions** (:func:`bind_catalogue`): the catalogue of the month's submissions, each with the
  stored Parquet file of its records (:mod:`cldstats.store`); after ``selection.sql`` the view
  ``submitted_rows`` reads the selected submissions' Parquet files directly.

Each step's header comment quotes the section of docs/methodology.md it implements and names the
tables it reads and writes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import duckdb
import pandas as pd

from cldstats import reference
from cldstats.spec import ValueStatus, load_spec

__all__ = [
    "STEPS",
    "MethodRun",
    "bind_catalogue",
    "bind_reference",
    "connect",
    "method_parameters",
    "run_method",
    "run_step",
    "step_sql",
]

#: The SQL steps of a release, in the order they run (file ``sql/<step>.sql``).
STEPS = (
    "selection",
    "person_ids",
    "derived_fields",
    "attribute_choice",
    "breakdowns",
    "long_term_support",
    "people_assessed",
    "row_accounting",
)

#: Labels of the measures' periods in ``release_periods``.
LONG_TERM_SUPPORT, PEOPLE_ASSESSED = "long_term_support", "people_assessed"


def step_sql(step: str) -> str:
    """The text of one step's SQL file."""
    return resources.files("cldstats.measures").joinpath("sql").joinpath(f"{step}.sql").read_text(encoding="utf-8")


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection for one run of the method.

    Parameters
    ----------
    threads : int, optional
        DuckDB worker threads (default: DuckDB's own, one per core).
    memory_limit : str, optional
        E.g. ``"4GB"``; DuckDB spills to a temporary folder beyond it.
    """
    config: dict[str, Any] = {}
    if threads is not None:
        config["threads"] = int(threads)
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    # Row order of intermediate results carries no meaning: DuckDB need not preserve it.
    config["preserve_insertion_order"] = False
    return duckdb.connect(":memory:", config=config)


def method_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar constants the SQL reads from ``method_parameters``, from the resolved params.

    Parameters
    ----------
    params : mapping
        Resolved params (:func:`cldstats.params.load_params`).
    """
    from cldstats.params import month_end

    method = params["method"]
    return {
        "adult_age": int(method["adult_age"]),
        "max_age": int(method["max_age"]),
        "look_back_days": int(method["look_back_days"]),
        "days_per_year": float(method["days_per_year"]),
        "financial_assessment_prefix": str(method["financial_assessment_prefix"]),
        "month_end": month_end(params["month"]),
        "cutoff": dt.date.fromisoformat(params["cutoff"]),
        "first_invalid_status": int(ValueStatus.INVALID),
        "unknown_label": reference.UNKNOWN,
        "gender_not_known": reference.UNKNOWN,
        "ethnicity_not_known": reference.ETHNICITY_NO_DATA_UNKNOWN,
        "total_label": reference.TOTAL,
        "all_settings_label": reference.SETTING_ALL,
    }


def _table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame,
           types: Mapping[str, str] | None = None) -> None:
    """Create (or replace) temporary table ``name`` holding ``frame`` (``types``: column -> SQL type)."""
    types = types or {}
    columns = ", ".join(f"CAST({c} AS {types[c]}) AS {c}" if c in types else c for c in frame.columns)
    con.register("_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {columns} FROM _frame")
    finally:
        con.unregister("_frame")


def _enum(con: duckdb.DuckDBPyConnection, name: str, values: Sequence[str]) -> None:
    """Create ENUM type ``name`` of ``values`` (dropped first if it exists)."""
    con.execute(f"DROP TYPE IF EXISTS {name}")
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    con.execute(f"CREATE TYPE {name} AS ENUM ({listed})")


def ages_table(max_age: int) -> pd.DataFrame:
    """Each age from 0 to ``max_age`` with its age group and band (missing outside them)."""
    ages = range(0, int(max_age) + 1)

    def label(bands, age):
        for band in bands:
            if band.low <= age and (band.high is None or age <= band.high):
                return band.label
        return None

    return pd.DataFrame({
        "age": pd.array(list(ages), dtype="int32"),
        "age_group": [label(reference.AGE_GROUPS, a) for a in ages],
        "age_band": [label(reference.AGE_BANDS, a) for a in ages],
    })


def release_periods(month_ends: Sequence[dt.date]) -> pd.DataFrame:
    """The periods of both measures: each month end (measure 1) and each calendar month (measure 2)."""
    rows = [(LONG_TERM_SUPPORT, d.isoformat(), d, d) for d in month_ends]
    rows += [(PEOPLE_ASSESSED, d.strftime("%Y-%m"), d.replace(day=1), d) for d in month_ends]
    return pd.DataFrame(rows, columns=["measure", "period", "period_start", "period_end"])


def bind_reference(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any],
                   month_ends: Sequence[dt.date]) -> None:
    """Create the reference tables and parameters every step reads (module docstring)."""
    constants = method_parameters(params)
    # Whole numbers as INTEGER: DuckDB adds days to a date only as an INTEGER.
    whole = {name: "int32" for name, value in constants.items() if isinstance(value, int)}
    _table(con, "method_parameters", pd.DataFrame([constants]).astype(whole))
    for name in ("max_age", "days_per_year"):
        con.execute(f"SET VARIABLE {name} = ?", [constants[name]])
    _table(con, "release_periods", release_periods(month_ends))
    _table(con, "long_term_services", pd.DataFrame(
        [(service, setting, reference.SETTING_RANK[setting])
         for service, setting in reference.SETTING_BY_SERVICE_TYPE.items()],
        columns=["service_type", "support_setting", "setting_rank"],
    ))
    genders = reference.genders()
    ethnicities = list(load_spec().by_name["Ethnicity"].code_list)
    # Code values as ENUM types of their code lists: the SQL compares and groups small integers.
    _enum(con, "gender_value", genders)
    _enum(con, "ethnicity_value", ethnicities)
    _table(con, "genders", pd.DataFrame(
        [(value, value) for value in genders], columns=["value", "label"],
    ), {"value": "gender_value"})
    _table(con, "ethnicities", pd.DataFrame(
        [(value, reference.ethnicity_group(value), reference.ethnicity_subgroup_label(value))
         for value in ethnicities],
        columns=["value", "ethnicity_group", "ethnicity_label"],
    ), {"value": "ethnicity_value"})
    _table(con, "ages", ages_table(constants["max_age"]))
    _table(con, "breakdown_values", reference.breakdown_template())
    _table(con, "release_settings", pd.DataFrame({
        "support_setting": list(reference.SETTINGS),
        "is_all_settings": [s == reference.SETTING_ALL for s in reference.SETTINGS],
    }))


#: The stored record columns the SQL reads (:mod:`cldstats.store` writes them); only these are read
#: from the Parquet files.
RECORD_COLUMNS = (
    "row_number",
    "nhs_number_key",
    "la_person_key",
    "birth_year",
    "birth_month",
    "Client_Type",
    "Event_Type",
    "Service_Type",
    "Assessment_Type_submitted",
    "Gender",
    "Ethnicity",
    "Event_Start_Date",
    "Event_End_Date",
    "Event_End_Date_status",
    "Date_of_Death",
)

#: Columns of the catalogue the selection reads, with the stored file of each submission.
CATALOGUE_COLUMNS = ("la_code", "file", "submitted_at", "period_start", "period_end", "outcome", "store_path")


def bind_catalogue(con: duckdb.DuckDBPyConnection, catalogue: pd.DataFrame) -> None:
    """The month's submissions as table ``catalogue`` (``store_path`` empty when not stored)."""
    frame = catalogue.loc[:, list(CATALOGUE_COLUMNS)].copy()
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], errors="coerce")
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce").dt.date
    frame["outcome"] = frame["outcome"].astype("string")
    frame["store_path"] = frame["store_path"].astype("string")
    _table(con, "catalogue", frame)


def bind_selected_rows(con: duckdb.DuckDBPyConnection) -> int:
    """View ``submitted_rows``: the stored records of each council's selected submission, with
    its ``la_code`` (one selected submission per council, so the council names the file).

    Returns the number of selected submissions.
    """
    selected = con.execute(
        "SELECT la_code, store_path FROM selection WHERE selected ORDER BY la_code"
    ).fetchall()
    if any(path is None for _, path in selected):
        raise ValueError("a selected submission has no stored records")
    columns = ", ".join(RECORD_COLUMNS)
    # One SELECT per file with its council as a constant: no per-row file name to carry or join.
    # A view cannot take bound parameters, so the values are written as SQL string literals.
    parts = [
        f"SELECT {_literal(la_code)} AS la_code, {columns} FROM read_parquet({_literal(str(path))})"
        for la_code, path in selected
    ]
    if not parts:
        parts = [f"SELECT CAST(NULL AS VARCHAR) AS la_code, {columns} FROM ({_empty_records()}) WHERE FALSE"]
    con.execute("CREATE OR REPLACE TEMP VIEW submitted_rows AS " + " UNION ALL ".join(parts))
    return len(selected)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_records() -> str:
    """A one-row SELECT with every record column, typed as the store writes them."""
    return ("SELECT NULL::INTEGER AS row_number, NULL::BIGINT AS nhs_number_key, NULL::BIGINT AS la_person_key, "
            "NULL::SMALLINT AS birth_year, NULL::TINYINT AS birth_month, NULL::VARCHAR AS Client_Type, "
            "NULL::VARCHAR AS Event_Type, NULL::VARCHAR AS Service_Type, NULL::VARCHAR AS Assessment_Type_submitted, "
            "NULL::VARCHAR AS Gender, NULL::VARCHAR AS Ethnicity, NULL::DATE AS Event_Start_Date, "
            "NULL::DATE AS Event_End_Date, NULL::TINYINT AS Event_End_Date_status, NULL::DATE AS Date_of_Death")


def run_step(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """Run one SQL file (its statements in order)."""
    con.execute(step_sql(step))


@dataclass
class MethodRun:
    """What one run of the method wrote: unrounded council tables and the row accounting.

    Attributes
    ----------
    selection : pandas.DataFrame
        The catalogue with ``candidate`` and ``selected``.
    long_term_support : pandas.DataFrame
        ``reference_date, la_code, support_setting, breakdown, breakdown_value, value``.
    people_assessed : pandas.DataFrame
        ``reference_month, la_code, breakdown, breakdown_value, value``.
    row_accounting : pandas.DataFrame
        ``la_code, file, rows_used, rows_excluded`` per selected submission.
    exclusions : pandas.DataFrame
        ``la_code, file, reason, rows``.
    seconds : dict
        Wall seconds of each step.
    """

    selection: pd.DataFrame
    long_term_support: pd.DataFrame
    people_assessed: pd.DataFrame
    row_accounting: pd.DataFrame
    exclusions: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def run_method(catalogue: pd.DataFrame, params: Mapping[str, Any], month_ends: Sequence[dt.date], *,
               con: duckdb.DuckDBPyConnection | None = None, steps: Iterable[str] = STEPS) -> MethodRun:
    """Select one submission per council and compute both measures, unrounded.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        The month's submissions: :data:`CATALOGUE_COLUMNS` (``store_path`` the stored Parquet file).
    params : mapping
        Resolved params.
    month_ends : sequence of datetime.date
        The release's month ends.
    con : duckdb connection, optional
        A connection to run on (default: a new one, closed at the end).
    steps : iterable of str
        The steps to run (default all of :data:`STEPS`).
    """
    own = con is None
    con = connect() if own else con
    seconds: dict[str, float] = {}
    try:
        bind_reference(con, params, month_ends)
        bind_catalogue(con, catalogue)
        for step in steps:
            started = time.perf_counter(), time.process_time()
            run_step(con, step)
            if step == "selection":
                bind_selected_rows(con)
            seconds[step] = time.perf_counter() - started[0]
            seconds[f"{step} (CPU)"] = time.process_time() - started[1]
        fetch = con.execute
        return MethodRun(
            selection=fetch("SELECT * EXCLUDE (store_path) FROM selection").df(),
            long_term_support=fetch(
                "SELECT period AS reference_date, la_code, support_setting, breakdown, breakdown_value, value "
                "FROM long_term_support_council"
            ).df(),
            people_assessed=fetch(
                "SELECT period AS reference_month, la_code, breakdown, breakdown_value, value "
                "FROM people_assessed_council"
            ).df(),
            row_accounting=fetch("SELECT * FROM row_accounting ORDER BY la_code, file").df(),
            exclusions=fetch("SELECT * FROM exclusions ORDER BY la_code, file, reason").df(),
            seconds=seconds,
        )
    finally:
        if own:
            con.close()
