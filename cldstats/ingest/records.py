"""A submission's text cells assembled into its frames (steps 4 to 6 of :mod:`cldstats.ingest.reader`):
``records`` (typed values, keyed hashes of the LA identifiers, the two person keys, birth month and
year; the personal fields dropped), the status of every cell and the ``invalid_values`` the
council's report lists, with the issues found on the way (``no_rows``, ``formula_cells``,
``nhs_number_shared``).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.ingest.cells import RawTable
from cldstats.ingest.header import match_header, merge_duplicate_columns
from cldstats.ingest.issues import MAX_EXAMPLE_ROWS, FileIssue, count_noun, rows_text
from cldstats.ingest.pseudonymise import (
    PseudonymKey,
    as_arrow_text,
    hash_distinct,
    keys_of_hashes,
    nhs_number_keys,
    shared_nhs_number_rows,
    string_series,
)
from cldstats.ingest.values import (
    Column,
    blank_column,
    encode_column,
    kept_distinct,
    shown_distinct,
    type_field,
    value_shape,
)
from cldstats.reference.mappings import MappingTables
from cldstats.reference.spec import Field, Spec, ValueStatus, load_spec
from cldstats.reference.vocabulary import load_vocabulary

#: Fields removed before ``records`` exists (their ``status`` columns stay).
DROPPED_FIELDS = (
    "NHS_Number",
    "First_Name",
    "Last_Name",
    "GP_Practice_Name",
    "Postcode",
    "Date_of_Birth",
    "Event_Description",
)
_WORKERS = max(1, min(4, os.cpu_count() or 1))
#: Files with fewer rows read their fields in one thread (see ``build_records``).
_THREADED_MIN_ROWS = 50_000


def empty_invalid_values() -> pd.DataFrame:
    """``invalid_values`` with no row: ``row_number`` (int32), ``field`` and ``value`` (string)."""
    return pd.DataFrame(
        {
            "row_number": pd.Series([], dtype="int32"),
            "field": pd.Series([], dtype="string"),
            "value": pd.Series([], dtype="string"),
        }
    )


def _formula_issues(
    status: dict[str, np.ndarray], row_numbers: np.ndarray, spec: Spec, name: str
) -> list[FileIssue]:
    issues = []
    for spec_field in spec.fields:
        rows = row_numbers[status[spec_field.name] == ValueStatus.FORMULA]
        if len(rows):
            shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
            issues.append(
                FileIssue(
                    "formula_cells",
                    f"{name}: {count_noun(len(rows), 'cell')} in '{spec_field.label}' starting with =, +, - or @ "
                    f"(spreadsheet formula; never evaluated, read as invalid), rows {shown}",
                    field=spec_field.name,
                    count=len(rows),
                    rows=tuple(int(r) for r in rows[:MAX_EXAMPLE_ROWS]),
                )
            )
    return issues


def _invalid_values(
    columns: dict[str, Column], row_numbers: np.ndarray, suspect: np.ndarray, spec: Spec
) -> pd.DataFrame:
    """Invalid values of the non-personal code fields (code lists and LA code), row by row.

    The council's report shows them, so each distinct value is shown only when it cannot be
    personal data (a name typed into ``Gender``, an NHS number into ``LA Code``): see
    :func:`~cldstats.ingest.values.shown_distinct`. Suspect (ragged) rows are left out: their cells
    may hold values of other, personal, columns.

    When a value was mapped by hand (``mappings/``), its rows are listed too, with two more
    columns: ``mapped_to`` (the valid value it reads as) and ``mapping`` (the table row,
    ``file:row``); both are missing on the rows of values left invalid. Without a mapped value the
    frame has only the three columns.
    """
    parts = _mapped_values(columns, row_numbers, suspect, spec)
    for spec_field in spec.of_kind("code", "la_code"):
        column = columns[spec_field.name]
        invalid_distinct = column.distinct_status == ValueStatus.INVALID
        if not invalid_distinct.any():
            continue
        rows = np.flatnonzero(invalid_distinct[column.indices] & ~suspect)
        if not len(rows):
            continue
        shown = shown_distinct(column, spec_field.name)
        parts.append(
            pd.DataFrame(
                {
                    "row_number": row_numbers[rows].astype(np.int32),
                    "field": pd.Series([spec_field.name] * len(rows), dtype="string"),
                    "value": pd.array(shown[column.indices[rows]], dtype="string"),
                }
            )
        )
    if not parts:
        return empty_invalid_values()
    return pd.concat(parts, ignore_index=True).sort_values(["row_number", "field"], ignore_index=True)


def _mapped_values(
    columns: dict[str, Column], row_numbers: np.ndarray, suspect: np.ndarray, spec: Spec
) -> list[pd.DataFrame]:
    """The rows of :func:`_invalid_values` for values mapped by hand (``mapped_to``, ``mapping``)."""
    parts = []
    for spec_field in spec.of_kind("code"):
        column = columns[spec_field.name]
        if column.mapped_by is None:
            continue
        mapped = column.distinct_status == ValueStatus.VALID_MAPPED
        rows = np.flatnonzero(mapped[column.indices] & ~suspect)
        if not len(rows):
            continue
        distinct = column.indices[rows]
        shown = shown_distinct(column, spec_field.name, ValueStatus.VALID_MAPPED)
        parts.append(
            pd.DataFrame(
                {
                    "row_number": row_numbers[rows].astype(np.int32),
                    "field": pd.Series([spec_field.name] * len(rows), dtype="string"),
                    "value": pd.array(shown[distinct], dtype="string"),
                    "mapped_to": pd.array(column.mapped_to[distinct], dtype="string"),
                    "mapping": pd.array(column.mapped_by[distinct], dtype="string"),
                }
            )
        )
    return parts


def _la_id_hashes(
    column: Column, ids: pd.Series, row_la_codes: pd.Series, file_la_code: str | None, key: PseudonymKey
) -> tuple[pa.Array, pa.Array]:
    """``hash("LA:" + LA code + ":" + ID)`` of an LA identifier field: the distinct hashes and, per
    row, the index of its hash (null when the ID is blank).

    The LA code is the file name's (``file_la_code``); when the name does not parse, each row's
    typed ``LA Code`` (``row_la_codes``), so the distinct texts hashed are those of code and ID
    (``ids``, the field's typed values) together.
    """
    if file_la_code:
        return hash_distinct(key, f"LA:{file_la_code}:", kept_distinct(column)), pa.array(column.indices)
    messages = as_arrow_text(row_la_codes.fillna("") + ":" + ids).dictionary_encode()
    return hash_distinct(key, "LA:", messages.dictionary), messages.indices


def _key_series(keys: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Person keys as an ``Int64`` Series, exactly (``pd.array(keys, dtype="Int64")`` goes through
    float64 when there are nulls, and 64-bit keys do not survive that)."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    values = pc.fill_null(keys, 0).to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(values, keys.is_null().to_numpy(zero_copy_only=False)))


#: The records column holding the submitted ``Assessment Type`` text (as safe to keep, see
#: :func:`_submitted_assessment_type`); the method tests it, not the code-list value.
SUBMITTED_ASSESSMENT_TYPE = "Assessment_Type_submitted"


def _submitted_assessment_type(column: Column, spec_field: Field, financial_assessment_prefix: str) -> pd.Series:
    """The submitted ``Assessment Type`` per row, trimmed, as far as it is safe to keep.

    Measure 2 tests the value as submitted (does it begin with params
    ``method.financial_assessment_prefix``, in any case: docs/methodology.md section 5), whatever
    the code list says, so a value outside the code list must reach the method too. A value that
    is, case-folded, a code-list value or the prefix is kept as sent (trimmed). One that begins
    with one of them and goes on keeps that beginning as sent and the rest only as its shape
    (``Financial Assessment - Mr Smith`` -> ``Financial Assessment (text, 10 characters)``): the
    method reads the beginning, and the rest could be a name. Any other text is replaced by its
    shape (``(text, 7 letters)``), which begins with neither. Blank is missing. A value mapped by hand
    is kept as the value it is mapped to. Decided once per distinct value.
    """
    # Longest first, so that "Financial Assessment - Review" is matched whole, not as the prefix.
    spellings = load_vocabulary()[spec_field.name].spellings()  # both releases' spellings
    starts = sorted({*spellings, financial_assessment_prefix}, key=len, reverse=True)
    folded = [start.casefold() for start in starts]

    def kept(value: str | None) -> str | None:
        if not value:
            return None
        for start in folded:
            if value[: len(start)].casefold() == start:
                beginning, rest = value[: len(start)], value[len(start) :].strip()
                return beginning if not rest else f"{beginning} ({value_shape(rest)})"
        return f"({value_shape(value)})"

    # A value mapped by hand (``mappings/``) stands for its valid value here too, so the method tests
    # the value it was mapped to.
    mapped_to = column.mapped_to if column.mapped_to is not None else [None] * len(column.distinct)
    distinct = [kept(value if to is None else to) for value, to in zip(column.distinct.to_pylist(), mapped_to,
                                                                      strict=True)]
    return string_series(pa.array(distinct, type=pa.string()).take(pa.array(column.indices)))


def build_records(
    raw: RawTable,
    file_la_code: str | None,
    key: PseudonymKey,
    name: str,
    issues: list[FileIssue],
    placeholders: tuple[str, ...],
    financial_assessment_prefix: str,
    mappings: MappingTables | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[float, float], tuple[str, ...]]:
    """Typed records, status frame and invalid values from the text cells.

    Parameters
    ----------
    raw : RawTable
        The file's cells as text (any format).
    file_la_code : str or None
        The LA code of the file name (None when it does not parse): the LA of the keyed hashes.
    key : PseudonymKey
    name : str
        The file name, which every issue message starts with.
    issues : list of FileIssue
        Appended to, in the order the steps find them (header, values, pseudonymisation).
    placeholders : tuple of str
        Params ``pseudonymisation.placeholder_nhs_numbers``.
    financial_assessment_prefix : str
        Params ``method.financial_assessment_prefix`` (see :func:`_submitted_assessment_type`).
    mappings : MappingTables, optional
        The hand-maintained mappings of invalid code values (params ``selection.mappings``).

    Returns
    -------
    (records, status, invalid_values, pseudonymise_seconds, release1_columns)
        The frames of :class:`~cldstats.ingest.reader.Submission`, the wall and CPU seconds of
        the pseudonymisation step, and the Release 1-only fields the header holds
        (:attr:`~cldstats.ingest.reader.Submission.release1_columns`).
    """
    spec = load_spec()
    matched, duplicates = match_header(raw.header, spec, name, issues)
    merged = merge_duplicate_columns(raw, duplicates, spec, name, issues)
    if len(raw.row_numbers) == 0:
        issues.append(FileIssue("no_rows", f"{name}: header only, no data rows"))
    columns, typed = _read_fields(raw, spec, matched, merged, placeholders, mappings)
    status = {name_: column.status for name_, column in columns.items()}
    issues.extend(_formula_issues(status, raw.row_numbers, spec, name))

    pseudonymise_started = time.perf_counter(), time.process_time()
    la_id_hashes, person_keys = _pseudonymise(columns, typed, spec, file_la_code, key, placeholders)
    shared_issue = _shared_nhs_number_issue(
        columns["NHS_Number"], columns["LA_Person_Unique_Identifier"], typed["Date_of_Birth"], placeholders,
        raw.row_numbers, name,
    )
    if shared_issue is not None:
        issues.append(shared_issue)
    pseudonymise_seconds = (
        time.perf_counter() - pseudonymise_started[0], time.process_time() - pseudonymise_started[1]
    )

    suspect = raw.suspect if raw.suspect is not None else np.zeros(len(raw.row_numbers), dtype=bool)
    frame = _records_frame(
        raw.row_numbers, spec, columns, typed, la_id_hashes, person_keys, suspect, financial_assessment_prefix
    )
    status_frame = pd.DataFrame(status, index=frame.index)
    release1_columns = tuple(f.name for f in spec.fields if f.release1_only_column and f.name in matched)
    return (frame, status_frame, _invalid_values(columns, raw.row_numbers, suspect, spec), pseudonymise_seconds,
            release1_columns)


def _read_fields(
    raw: RawTable, spec: Spec, matched: dict[str, int], merged: dict[str, pa.Array], placeholders: tuple[str, ...],
    mappings: MappingTables | None = None,
) -> tuple[dict[str, Column], dict[str, pd.Series | None]]:
    """Every field of the spec encoded, checked and typed: its :class:`~cldstats.ingest.values.Column` and typed values.

    A field's column is its merged copy when it was duplicated, its matched column, else all blank.
    """
    n_rows = len(raw.row_numbers)

    def read_field(spec_field: Field) -> tuple[Column, pd.Series | None]:
        index = matched.get(spec_field.name)
        if spec_field.name in merged:
            column = encode_column(merged[spec_field.name])
        else:
            column = encode_column(raw.columns[index]) if index is not None else blank_column(n_rows)
        mapped = mappings.for_field(spec_field.name) if mappings else None
        return column, type_field(spec_field, column, placeholders, mapped)

    # Arrow kernels release the GIL, so the fields of a big file are read in parallel threads; for
    # a small file starting the pool costs more than it saves (measured: ~30 ms per file).
    if n_rows >= _THREADED_MIN_ROWS and _WORKERS > 1:
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            results = list(pool.map(read_field, spec.fields))
    else:
        results = [read_field(spec_field) for spec_field in spec.fields]
    columns = {f.name: column for f, (column, _) in zip(spec.fields, results, strict=False)}
    typed = {f.name: values for f, (_, values) in zip(spec.fields, results, strict=False)}
    return columns, typed


def _pseudonymise(
    columns: dict[str, Column],
    typed: dict[str, pd.Series | None],
    spec: Spec,
    file_la_code: str | None,
    key: PseudonymKey,
    placeholders: tuple[str, ...],
) -> tuple[dict[str, tuple[pa.Array, pa.Array]], dict[str, pa.Array]]:
    """The LA identifier hashes (:func:`_la_id_hashes`, per field) and the two person keys per row.

    The LA code in the hash is the file name's when it parses, so the same person keeps the same ID
    in every file of that LA even when a row's LA Code is mistyped. Hashes are computed per distinct
    value and spread to the rows; the person keys are read off the distinct hashes. The method's SQL
    applies the person ID precedence to the two keys.
    """
    la_id_hashes = {
        spec_field.name: _la_id_hashes(
            columns[spec_field.name], typed[spec_field.name], typed["LA_Code"], file_la_code, key
        )
        for spec_field in spec.fields
        if spec_field.handling == "pseudonymise" and spec_field.kind == "identifier"
    }
    nhs_column = columns["NHS_Number"]
    nhs_number_key = nhs_number_keys(kept_distinct(nhs_column), key, placeholders).take(pa.array(nhs_column.indices))
    la_hashes, la_indices = la_id_hashes["LA_Person_Unique_Identifier"]
    la_person_key = keys_of_hashes(la_hashes).take(la_indices)
    return la_id_hashes, {"nhs_number_key": nhs_number_key, "la_person_key": la_person_key}


def _records_frame(
    row_numbers: np.ndarray,
    spec: Spec,
    columns: dict[str, Column],
    typed: dict[str, pd.Series | None],
    la_id_hashes: dict[str, tuple[pa.Array, pa.Array]],
    person_keys: dict[str, pa.Array],
    suspect: np.ndarray,
    financial_assessment_prefix: str,
) -> pd.DataFrame:
    """``records``: row numbers, person keys, birth year and month, the kept fields and the hashed
    LA identifiers; free text of suspect rows masked."""
    records: dict[str, object] = {
        "row_number": pd.Series(row_numbers, dtype="int32"),
        "nhs_number_key": _key_series(person_keys["nhs_number_key"]),
        "la_person_key": _key_series(person_keys["la_person_key"]),
    }
    birth = typed["Date_of_Birth"]
    records["birth_year"] = pd.Series(birth.dt.year, dtype="Int16")
    records["birth_month"] = pd.Series(birth.dt.month, dtype="Int8")
    for spec_field in spec.fields:
        if spec_field.handling == "keep":
            records[spec_field.name] = typed[spec_field.name]
        elif spec_field.name in la_id_hashes:
            hashes, indices = la_id_hashes[spec_field.name]
            records[spec_field.name] = string_series(hashes.take(indices))
        if spec_field.name == "Assessment_Type":
            records[SUBMITTED_ASSESSMENT_TYPE] = _submitted_assessment_type(
                columns[spec_field.name], spec_field, financial_assessment_prefix
            )
    if suspect.any():
        # Free text in a row whose cells may be displaced could be a name or a postcode.
        masked = [f.name for f in spec.of_kind("la_code", "identifier", "text") if f.handling == "keep"]
        for column_name in [*masked, SUBMITTED_ASSESSMENT_TYPE]:
            records[column_name] = records[column_name].mask(suspect)
    return pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in records.items()})


def _shared_nhs_number_issue(
    nhs_column: Column,
    la_id_column: Column,
    birth_dates: pd.Series,
    placeholders: tuple[str, ...],
    row_numbers: np.ndarray,
    name: str,
) -> FileIssue | None:
    """``nhs_number_shared``: valid NHS numbers given with several birth dates (count and rows only)."""
    numbers, rows = shared_nhs_number_rows(
        kept_distinct(nhs_column),
        nhs_column.indices,
        kept_distinct(la_id_column),
        la_id_column.indices,
        birth_dates.to_numpy(),
        placeholders,
    )
    if not numbers:
        return None
    flagged = np.flatnonzero(rows)
    return FileIssue(
        "nhs_number_shared",
        f"{name}: {count_noun(numbers, 'NHS number')} each given with different dates of birth "
        f"(or different LA person IDs and dates of birth) on {count_noun(len(flagged), 'row')} "
        f"({rows_text(flagged, row_numbers)}): one number for several people (a placeholder or a typing "
        "error?); the rows of each number are read as one person",
        field="NHS_Number",
        count=len(flagged),
        rows=tuple(int(r) for r in row_numbers[flagged[:MAX_EXAMPLE_ROWS]]),
    )
