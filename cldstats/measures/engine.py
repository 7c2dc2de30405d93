"""Run the method's SQL files on an embedded DuckDB database.

The method (docs/methodology.md sections 2 to 6) is the SQL files in ``cldstats/measures/sql/``,
one per step, run on in-memory DuckDB connections. They run in two phases, because submissions
never change:

* **Once per stored submission** (:data:`DERIVE_STEPS`, :func:`derive_submissions`): person IDs,
  the derived fields and the row reasons of its records. The rows either measure can count
  (``measure_rows``) and the row reasons are written beside the submission in the store, in a
  folder named by :func:`derive_digest` (the SQL text of these steps and the values they read),
  so a change of definition derives them again and an unchanged one is read back.
* **Per release** (:data:`RELEASE_STEPS`, :func:`run_method`): selection of one submission per
  council, then both measures and the row accounting over the selected submissions' measure rows.

This module only prepares what the SQL reads and collects what it writes:

* **Reference tables and parameters** (:func:`bind_reference`): every constant of the method comes
  from the resolved params or the package's reference data, bound as small tables (never a
  literal in a query): ``method_parameters`` (one row: adult age, maximum age, look-back days,
  the reference month end and cut-off, ...), ``release_periods`` (the month ends and months of the
  release), ``long_term_services`` (service type -> setting and rank), ``genders``,
  ``ethnicities``, ``age_bands``, ``breakdown_values`` and ``release_settings``. The ``age_at``
  macro reads the maximum age and the days per year as DuckDB variables set from the same values.
* **Submissions** (:func:`bind_catalogue`): the catalogue of the month's submissions, each with the
  stored Parquet file of its records and the folder of its derived rows (:mod:`cldstats.pipeline.store`);
  the SQL reads those Parquet files directly.

Each step's header comment quotes the section of docs/methodology.md it implements and names the
tables it reads and writes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cldstats import reference
from cldstats.measures.selection import (
    DERIVED_PERIOD_MIN_EVENTS,
    DERIVED_PERIOD_MIN_PERCENT,
    DERIVED_PERIOD_TYPE_SLACK,
)
from cldstats.reference.calendar import month_end
from cldstats.reference.params import as_of
from cldstats.reference.spec import ValueStatus, load_spec

__all__ = [
    "DERIVE_STEPS",
    "RELEASE_STEPS",
    "STEPS",
    "MethodRun",
    "bind_catalogue",
    "bind_reference",
    "connect",
    "derive_digest",
    "derive_submissions",
    "method_parameters",
    "run_method",
    "run_step",
    "step_sql",
]

#: Steps run once per stored submission, in order (file ``sql/<step>.sql``).
DERIVE_STEPS = ("person_ids", "derived_fields", "row_reasons")
#: Steps run per release over the selected submissions, in order.
RELEASE_STEPS = ("reporting_periods", "selection", "age", "attribute_choice", "breakdowns", "long_term_support",
                 "people_assessed", "row_accounting")
#: The release steps that choose the submissions, run before the selected ones' rows are read.
SELECTION_STEPS = RELEASE_STEPS[:2]
#: Every step, in the order of docs/methodology.md.
STEPS = (*SELECTION_STEPS, *DERIVE_STEPS, *RELEASE_STEPS[2:])
#: Bumped whenever what :func:`derive_submissions` writes changes shape (the SQL text is in the digest).
DERIVED_FORMAT = "1"
#: Files of a derived folder.
MEASURE_ROWS, ROW_REASONS = "measure_rows.parquet", "row_reasons.parquet"

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
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")  # a run's own log says what is happening
    return con


def method_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar constants the SQL reads from ``method_parameters``, from the resolved params.

    Parameters
    ----------
    params : mapping
        Resolved params (:func:`cldstats.reference.params.load_params`).
    """
    method = params["method"]
    return {
        "adult_age": int(method["adult_age"]),
        "max_age": int(method["max_age"]),
        "look_back_days": int(method["look_back_days"]),
        "days_per_year": float(method["days_per_year"]),
        "financial_assessment_prefix": str(method["financial_assessment_prefix"]),
        "month_end": month_end(params["month"]),
        "as_of": as_of(params),
        "reporting_period": str(params["selection"]["reporting_period"]),
        # DHSC's thresholds of the derived reporting period (docs/methodology.md section 2).
        "derived_min_events": DERIVED_PERIOD_MIN_EVENTS,
        "derived_min_percent": DERIVED_PERIOD_MIN_PERCENT,
        "derived_type_slack": DERIVED_PERIOD_TYPE_SLACK,
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
    genders = reference.genders()
    spec = load_spec().by_name
    ethnicities = list(spec["Ethnicity"].code_list)
    # Code values as ENUM types of their code lists: the SQL compares and groups small integers.
    _enum(con, "council_code", reference.council_codes())
    _enum(con, "client_type_value", spec["Client_Type"].code_list)
    _enum(con, "event_type_value", spec["Event_Type"].code_list)
    _enum(con, "service_type_value", spec["Service_Type"].code_list)
    _enum(con, "support_setting_value", reference.SETTINGS)
    _enum(con, "gender_value", genders)
    _enum(con, "ethnicity_value", ethnicities)
    _table(con, "release_periods", release_periods(month_ends))
    _table(con, "long_term_services", pd.DataFrame(
        [(service, setting, reference.SETTING_RANK[setting])
         for service, setting in reference.SETTING_BY_SERVICE_TYPE.items()],
        columns=["service_type", "support_setting", "setting_rank"],
    ), {"service_type": "service_type_value", "support_setting": "support_setting_value",
        "setting_rank": "TINYINT"})
    _table(con, "genders", pd.DataFrame(
        [(value, value) for value in genders], columns=["value", "label"],
    ), {"value": "gender_value"})
    _table(con, "ethnicities", pd.DataFrame(
        [(value, reference.ethnicity_group(value), value)
         for value in ethnicities],
        columns=["value", "ethnicity_group", "ethnicity_label"],
    ), {"value": "ethnicity_value"})
    _table(con, "ages", ages_table(constants["max_age"]))
    _table(con, "breakdown_values", reference.breakdown_template())
    _table(con, "release_settings", pd.DataFrame({
        "support_setting": list(reference.SETTINGS),
        "is_all_settings": [s == reference.SETTING_ALL for s in reference.SETTINGS],
    }), {"support_setting": "support_setting_value"})


#: The stored record columns the SQL reads (:mod:`cldstats.pipeline.store` writes them); only these are read
#: from the Parquet files. ``la_code`` is the council of the submission (its file name).
RECORD_COLUMNS = (
    "la_code",
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

#: Columns of ``measure_rows`` kept as ENUM types of their code lists (Parquet holds their text).
MEASURE_ROW_ENUMS = {
    "la_code": "council_code",
    "Client_Type": "client_type_value",
    "Event_Type": "event_type_value",
    "support_setting": "support_setting_value",
    "gender": "gender_value",
    "ethnicity": "ethnicity_value",
}

#: Columns of the catalogue the selection reads, with where each submission's rows are stored.
CATALOGUE_COLUMNS = ("la_code", "file", "submitted_at", "period_start", "period_end", "outcome", "records_path",
                     "derived_dir")
#: Columns of the catalogue saying a file was excluded or included by hand (``"exclude"``,
#: ``"include"`` or missing) and why; a catalogue without them has no hand entries.
HAND_COLUMNS = ("hand", "hand_reason")
#: The stored record columns the reporting periods read (``reporting_periods.sql``).
PERIOD_RECORD_COLUMNS = ("Event_End_Date", "Event_Type")


#: Method parameters only the selection reads: they do not shape a submission's derived rows.
SELECTION_CONSTANTS = ("month_end", "as_of", "reporting_period", "derived_min_events", "derived_min_percent",
                       "derived_type_slack")


def step_digest_text(steps: Sequence[str]) -> str:
    """The SQL text of ``steps``, joined: what the derived rows are made by."""
    return "\n".join(f"-- step {step}\n{step_sql(step)}" for step in steps)


def derive_digest(params: Mapping[str, Any]) -> str:
    """What the stored derived rows depend on: the derive steps' SQL and every value they read.

    The digest covers the text of :data:`DERIVE_STEPS`, the method parameters, the reference tables
    (council list, code lists, long-term service types and ranks) and :data:`DERIVED_FORMAT`: a
    change to any of them gives a new derived folder, so nothing stale is ever read.
    """
    import hashlib
    import json

    constants = {k: v for k, v in method_parameters(params).items() if k not in SELECTION_CONSTANTS}
    spec = load_spec().by_name
    reference_data = {
        "councils": reference.council_codes(),
        "services": reference.SETTING_BY_SERVICE_TYPE, "ranks": reference.SETTING_RANK,
        "code_lists": {f: list(spec[f].code_list) for f in ("Client_Type", "Event_Type", "Service_Type", "Gender",
                                                             "Ethnicity")},
    }
    text = json.dumps({"format": DERIVED_FORMAT, "constants": constants, "reference": reference_data},
                      sort_keys=True, default=str)
    return hashlib.sha256((text + step_digest_text(DERIVE_STEPS)).encode()).hexdigest()[:16]


def bind_catalogue(con: duckdb.DuckDBPyConnection, catalogue: pd.DataFrame) -> None:
    """The month's submissions as table ``catalogue`` (with :data:`HAND_COLUMNS`, missing when not
    given), and their stored records' :data:`PERIOD_RECORD_COLUMNS` as view ``catalogue_records``."""
    frame = catalogue.loc[:, list(CATALOGUE_COLUMNS)].copy()
    for column in HAND_COLUMNS:
        frame[column] = catalogue[column] if column in catalogue else None
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], errors="coerce")
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce").dt.date
    for column in ("la_code", "file", "outcome", "records_path", "derived_dir", *HAND_COLUMNS):
        frame[column] = frame[column].astype("string")
    _table(con, "catalogue", frame)
    paths = sorted(set(frame["records_path"].dropna()))
    columns = ", ".join(PERIOD_RECORD_COLUMNS)
    if paths:
        # A view: the reporting periods read only these two columns of each stored file.
        con.execute(f"CREATE OR REPLACE TEMP VIEW catalogue_records AS SELECT filename AS records_path, {columns} "
                    f"FROM read_parquet([{', '.join(_literal(p) for p in paths)}], filename = true)")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW catalogue_records AS SELECT NULL::VARCHAR AS records_path, "
                    "NULL::DATE AS Event_End_Date, NULL::VARCHAR AS Event_Type WHERE FALSE")


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _parquet(paths: Sequence[str | Path]) -> str:
    """``read_parquet([...])`` of ``paths``: a table function's arguments are written as literals."""
    return f"read_parquet([{', '.join(_literal(p) for p in paths)}])"


def bind_submitted_rows(con: duckdb.DuckDBPyConnection, records_paths: Sequence[str | Path]) -> None:
    """Table ``submitted_rows``: the stored records of these submissions, read in one scan (only the
    columns the SQL reads; each file carries its council)."""
    columns = ", ".join("CAST(la_code AS council_code) AS la_code" if c == "la_code" else c for c in RECORD_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE submitted_rows AS SELECT {columns} FROM {_parquet(records_paths)}")


def run_step(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """Run one SQL file (its statements in order)."""
    con.execute(step_sql(step))


def _timed(seconds: dict[str, float] | None, name: str):
    """A context manager adding the wall and CPU seconds of a block to ``seconds``."""
    from contextlib import contextmanager

    @contextmanager
    def timer():
        started = time.perf_counter(), time.process_time()
        yield
        if seconds is not None:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started[0]
            seconds[f"{name} (CPU)"] = seconds.get(f"{name} (CPU)", 0.0) + time.process_time() - started[1]

    return timer()


def derive_submissions(items: Sequence[tuple[str, str | Path, str | Path]], params: Mapping[str, Any], *,
                       threads: int | None = None, seconds: dict[str, float] | None = None) -> None:
    """Person IDs, derived fields and row reasons of submissions, written beside each in the store.

    Parameters
    ----------
    items : sequence of (la_code, records_path, derived_dir)
        One submission per council: its council, its stored records and the folder to write
        (``measure_rows.parquet``, ``row_reasons.parquet``); each folder is written whole or not at
        all (a temporary folder renamed into place).
    params : mapping
        Resolved params.
    threads : int, optional
        DuckDB threads.
    seconds : dict, optional
        Collects the wall and CPU seconds of each step.
    """
    councils = [la_code for la_code, _, _ in items]
    if len(set(councils)) != len(councils):
        raise ValueError("derive_submissions takes one submission per council")
    if not items:
        return
    con = connect(threads=threads)
    try:
        bind_reference(con, params, [])
        with _timed(seconds, "read stored records"):
            bind_submitted_rows(con, [path for _, path, _ in items])
        for step in DERIVE_STEPS:
            with _timed(seconds, step):
                run_step(con, step)
        with _timed(seconds, "write derived rows"):
            for la_code, _, derived_dir in items:
                _write_derived(con, la_code, Path(derived_dir))
    finally:
        con.close()


def _write_derived(con: duckdb.DuckDBPyConnection, la_code: str, derived_dir: Path) -> None:
    """One council's measure rows and row reasons into ``derived_dir``, atomically."""
    import os
    import shutil

    if (derived_dir / MEASURE_ROWS).exists():
        return
    tmp = derived_dir.with_name(f".tmp-{derived_dir.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for table, name in (("measure_rows", MEASURE_ROWS), ("row_reasons", ROW_REASONS)):
            con.execute(f"COPY (SELECT * FROM {table} WHERE la_code = {_literal(la_code)}) "
                        f"TO {_literal(tmp / name)} (FORMAT parquet, COMPRESSION zstd)")
        try:
            os.rename(tmp, derived_dir)
        except OSError:
            if not (derived_dir / MEASURE_ROWS).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another run derived it first: same content
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class MethodRun:
    """What one run of the method wrote: unrounded council tables and the row accounting.

    Attributes
    ----------
    selection : pandas.DataFrame
        The catalogue with the reporting period used (``used_start``, ``used_end``), ``candidate``
        and ``selected``.
    long_term_support : pandas.DataFrame
        ``reference_date, la_code, support_setting, breakdown, breakdown_value, value``.
    people_assessed : pandas.DataFrame
        ``reference_month, la_code, breakdown, breakdown_value, value``.
    row_accounting : pandas.DataFrame
        ``la_code, file, rows_used, rows_excluded`` per selected submission, counted from the stored
        records the SQL read (``rows_used``: those without an exclusion reason).
    exclusions : pandas.DataFrame
        ``la_code, file, reason, rows``; within a file the reasons with most rows first (ties by name).
    reporting_periods : pandas.DataFrame
        Every submission's stated and derived reporting period (``reporting_periods.sql``).
    derived : int
        Selected submissions whose derived rows this run computed (the others were read back).
    seconds : dict
        Wall and CPU seconds of each step.
    """

    selection: pd.DataFrame
    long_term_support: pd.DataFrame
    people_assessed: pd.DataFrame
    row_accounting: pd.DataFrame
    exclusions: pd.DataFrame
    reporting_periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    derived: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def run_method(catalogue: pd.DataFrame, params: Mapping[str, Any], month_ends: Sequence[dt.date], *,
               threads: int | None = None, measures: bool = True) -> MethodRun:
    """Select one submission per council and compute both measures, unrounded.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        The month's submissions: :data:`CATALOGUE_COLUMNS` (``records_path`` the stored records,
        ``derived_dir`` the folder of their derived rows, written now if missing).
    params : mapping
        Resolved params.
    month_ends : sequence of datetime.date
        The release's month ends.
    threads : int, optional
        DuckDB threads (default one per core).
    measures : bool
        False: selection and row accounting only (``long_term_support`` and ``people_assessed``
        are then empty): what validation reports without publishing.
    """
    seconds: dict[str, float] = {}
    con = connect(threads=threads)
    try:
        bind_reference(con, params, month_ends)
        bind_catalogue(con, catalogue)
        for step in SELECTION_STEPS:
            with _timed(seconds, step):
                run_step(con, step)
        selected = con.execute(
            "SELECT la_code, records_path, derived_dir FROM selection WHERE selected ORDER BY la_code"
        ).fetchall()
        if any(records is None or derived is None for _, records, derived in selected):
            raise ValueError("a selected submission has no stored records")
        missing = [item for item in selected if not (Path(item[2]) / MEASURE_ROWS).exists()]
        derive_submissions(missing, params, threads=threads, seconds=seconds)
        with _timed(seconds, "read derived rows"):
            _bind_selected_rows(con, [Path(d) for _, _, d in selected], measure_rows=measures)
        for step in RELEASE_STEPS[len(SELECTION_STEPS):] if measures else ("row_accounting",):
            with _timed(seconds, step):
                run_step(con, step)
        if not measures:
            for name in ("long_term_support_council", "people_assessed_council"):
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT NULL AS period, NULL AS la_code, "
                            "NULL AS support_setting, NULL AS breakdown, NULL AS breakdown_value, NULL AS value "
                            "WHERE FALSE")
        fetch = con.execute
        return MethodRun(
            selection=fetch("SELECT * EXCLUDE (records_path, derived_dir) FROM selection").df(),
            long_term_support=fetch(
                "SELECT period AS reference_date, CAST(la_code AS VARCHAR) AS la_code, "
                "CAST(support_setting AS VARCHAR) AS support_setting, breakdown, breakdown_value, value "
                "FROM long_term_support_council"
            ).df(),
            people_assessed=fetch(
                "SELECT period AS reference_month, CAST(la_code AS VARCHAR) AS la_code, breakdown, breakdown_value, "
                "value FROM people_assessed_council"
            ).df(),
            row_accounting=fetch(
                "SELECT CAST(la_code AS VARCHAR) AS la_code, file, rows_used, rows_excluded FROM row_accounting "
                "ORDER BY la_code, file"
            ).df(),
            exclusions=fetch(
                "SELECT CAST(la_code AS VARCHAR) AS la_code, file, reason, rows FROM exclusions "
                "ORDER BY la_code, file, rows DESC, reason"
            ).df(),
            reporting_periods=fetch("SELECT * FROM reporting_periods ORDER BY file").df(),
            derived=len(missing),
            seconds=seconds,
        )
    finally:
        con.close()


def _bind_selected_rows(con: duckdb.DuckDBPyConnection, derived_dirs: Sequence[Path], *,
                        measure_rows: bool = True) -> None:
    """Tables ``measure_rows`` (unless not ``measure_rows``) and ``selected_row_reasons`` from the
    selected submissions' derived rows."""
    if not derived_dirs:
        # No council selected: the derive steps on no records give the tables their shape.
        con.execute(f"CREATE OR REPLACE TEMP TABLE submitted_rows AS {_EMPTY_RECORDS}")
        for step in DERIVE_STEPS:
            run_step(con, step)
        con.execute("CREATE OR REPLACE TEMP TABLE selected_row_reasons AS SELECT * FROM row_reasons")
        return
    con.execute("CREATE OR REPLACE TEMP TABLE selected_row_reasons AS SELECT * FROM "
                + _parquet([d / ROW_REASONS for d in derived_dirs]))
    if not measure_rows:
        return
    source = _parquet([d / MEASURE_ROWS for d in derived_dirs])
    columns = con.execute(f"SELECT * FROM {source} LIMIT 0").description
    names = [c[0] for c in columns]
    select = ", ".join(f"CAST({n} AS {MEASURE_ROW_ENUMS[n]}) AS {n}" if n in MEASURE_ROW_ENUMS else n for n in names)
    con.execute(f"CREATE OR REPLACE TEMP TABLE measure_rows AS SELECT {select} FROM {source}")


#: A typed, empty ``submitted_rows`` (the columns of :data:`RECORD_COLUMNS` as the store types them).
_EMPTY_RECORDS = (
    "SELECT CAST(NULL AS council_code) AS la_code, NULL::INTEGER AS row_number, NULL::BIGINT AS nhs_number_key, "
    "NULL::BIGINT AS la_person_key, NULL::SMALLINT AS birth_year, NULL::TINYINT AS birth_month, "
    "NULL::VARCHAR AS Client_Type, NULL::VARCHAR AS Event_Type, NULL::VARCHAR AS Service_Type, "
    "NULL::VARCHAR AS Assessment_Type_submitted, NULL::VARCHAR AS Gender, NULL::VARCHAR AS Ethnicity, "
    "NULL::DATE AS Event_Start_Date, NULL::DATE AS Event_End_Date, NULL::TINYINT AS Event_End_Date_status, "
    "NULL::DATE AS Date_of_Death WHERE FALSE"
)
