"""Field data quality statuses and the validation frame the suites are validated on.

A field on a row is *not applicable* (not counted), or one of the AGEM statuses ``Passed:
Valid``, ``Passed: Blank (Not Mandatory)``, ``Failed: Blank (Mandatory)``, ``Failed: Invalid`` and
``Failed: Release 1``. The validation frame keeps finer labels (:data:`DQ_STATUSES`) so that loose
code matches, Release 1 values, ISO dates, Excel serial numbers, formula cells and values given where
the field does not apply can each be reported as their own check; :data:`AGEM_OF_DQ` maps them back to
the AGEM statuses.

A value mapped by hand (``mappings/``, ingest's ``VALID_MAPPED``) is ``Failed: Invalid (mapped by
hand)``: the council sent an invalid value (AGEM's ``Failed: Invalid``, in the council's counts),
which the figures read as its mapped value; its rows are listed under the check ``mapped_by_hand``,
not ``invalid``.

A Release 1 code value (``Carer``; ingest's ``VALID_RELEASE1`` statuses) is ``Passed: Valid
(Release 1)`` in a file of the Release 1 era and ``Failed: Release 1`` in a file of the Release 2 era
(submitted on or after params ``release2.r1_values_fail_from``:
:func:`cldstats.quality.releases.release1_values_fail`); Release
1's capitalisation of a Release 2 value (``Service User``) is valid in the first and a loose match in
the second, as AGEM compares values case-insensitively.

The *validation frame* (:func:`validation_frame`) is built with pandas, vectorised: for each of the
50 spec fields a categorical ``<field>__dq`` column holding the field's status on that row, computed
from ingest's per-cell ``status`` (``spec.ValueStatus``) and the field's ``applies`` and
``mandatory`` conditions (``spec.evaluate_condition``), plus the typed ``records`` columns the
cross-field rules need, ``age_at_period_end`` and a fingerprint per row (duplicate rows). This
module also holds the outcome values and check statuses of a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.reference.spec import AGEM_STATUSES, Spec, ValueStatus, evaluate_condition, load_spec

__all__ = [
    "ACCEPTED",
    "ACCEPTED_WITH_WARNINGS",
    "AGEM_OF_DQ",
    "CHECK_BLOCKING",
    "CHECK_PASSED",
    "CHECK_WARNING",
    "DETAIL_CHECK_OF_DQ",
    "DQ_CODE",
    "DQ_STATUSES",
    "FRAME_RECORD_COLUMNS",
    "REJECTED",
    "dq_column",
    "field_status_codes",
    "validation_frame",
]

# ---------------------------------------------------------------------------------------------
# Field statuses
# ---------------------------------------------------------------------------------------------
NOT_APPLICABLE = "Not applicable"
NOT_APPLICABLE_GIVEN = "Not applicable: value given"
PASSED_VALID, PASSED_BLANK, FAILED_BLANK, FAILED_INVALID, FAILED_RELEASE1 = AGEM_STATUSES
PASSED_LOOSE = "Passed: Valid (loose match)"
PASSED_RELEASE1 = "Passed: Valid (Release 1)"
FAILED_ISO = "Failed: Invalid (ISO date)"
FAILED_SERIAL = "Failed: Invalid (Excel serial number)"
FAILED_FORMULA = "Failed: Invalid (formula)"
#: A value no release's list holds, read as a valid value through the hand-maintained mapping tables
#: (``mappings/``, ingest's ``VALID_MAPPED``): used in the figures, but invalid as the council sent it,
#: so AGEM's ``Failed: Invalid`` in the council's counts.
FAILED_MAPPED = "Failed: Invalid (mapped by hand)"

#: Labels of the ``<field>__dq`` columns, in code order (the categorical codes are these indices).
DQ_STATUSES = (
    NOT_APPLICABLE,
    NOT_APPLICABLE_GIVEN,
    PASSED_VALID,
    PASSED_LOOSE,
    PASSED_BLANK,
    FAILED_BLANK,
    FAILED_INVALID,
    FAILED_ISO,
    FAILED_SERIAL,
    FAILED_FORMULA,
    # appended, so the codes above keep their numbers
    PASSED_RELEASE1,
    FAILED_RELEASE1,
    FAILED_MAPPED,
)
#: Status label -> its code in the ``<field>__dq`` columns.
DQ_CODE = {label: code for code, label in enumerate(DQ_STATUSES)}
# One dtype object for every status column (building and validating it per column cost ~5 ms/file).
_DQ_DTYPE = pd.CategoricalDtype(list(DQ_STATUSES))

#: The AGEM status each validation-frame status counts as (None: not applicable, not counted).
AGEM_OF_DQ = {
    NOT_APPLICABLE: None,
    NOT_APPLICABLE_GIVEN: None,
    PASSED_VALID: PASSED_VALID,
    PASSED_LOOSE: PASSED_VALID,
    PASSED_BLANK: PASSED_BLANK,
    FAILED_BLANK: FAILED_BLANK,
    FAILED_INVALID: FAILED_INVALID,
    FAILED_ISO: FAILED_INVALID,
    FAILED_SERIAL: FAILED_INVALID,
    FAILED_FORMULA: FAILED_INVALID,
    PASSED_RELEASE1: PASSED_VALID,
    FAILED_RELEASE1: FAILED_RELEASE1,
    FAILED_MAPPED: FAILED_INVALID,
}

#: Field-level detail checks: validation-frame status -> check name reported with failing rows.
DETAIL_CHECK_OF_DQ = {
    NOT_APPLICABLE_GIVEN: "value_not_applicable",
    PASSED_LOOSE: "loose_match",
    FAILED_BLANK: "blank_mandatory",
    FAILED_INVALID: "invalid",
    FAILED_ISO: "invalid_iso_date",
    FAILED_SERIAL: "invalid_excel_serial",
    FAILED_FORMULA: "formula",
    FAILED_RELEASE1: "release1_value",
    FAILED_MAPPED: "mapped_by_hand",
}

# Lookup table [applicability state, ValueStatus] -> DQ status code. Applicability state is the
# AGEM ``cond_`` value: 0 not applicable, 1 applicable and optional, 2 mandatory.
_N_VALUE_STATUSES = max(ValueStatus) + 1
_DQ_LOOKUP = np.zeros((3, _N_VALUE_STATUSES), dtype=np.int8)
_DQ_LOOKUP[0, :] = DQ_CODE[NOT_APPLICABLE_GIVEN]
_DQ_LOOKUP[0, ValueStatus.BLANK] = DQ_CODE[NOT_APPLICABLE]
for _state in (1, 2):
    _DQ_LOOKUP[_state, ValueStatus.BLANK] = DQ_CODE[PASSED_BLANK if _state == 1 else FAILED_BLANK]
    _DQ_LOOKUP[_state, ValueStatus.VALID] = DQ_CODE[PASSED_VALID]
    _DQ_LOOKUP[_state, ValueStatus.VALID_LOOSE] = DQ_CODE[PASSED_LOOSE]
    _DQ_LOOKUP[_state, ValueStatus.VALID_RELEASE1] = DQ_CODE[PASSED_RELEASE1]
    _DQ_LOOKUP[_state, ValueStatus.VALID_RELEASE1_CASE] = DQ_CODE[PASSED_RELEASE1]
    _DQ_LOOKUP[_state, ValueStatus.VALID_RELEASE1_LOOSE] = DQ_CODE[PASSED_LOOSE]
    _DQ_LOOKUP[_state, ValueStatus.INVALID] = DQ_CODE[FAILED_INVALID]
    _DQ_LOOKUP[_state, ValueStatus.INVALID_ISO_DATE] = DQ_CODE[FAILED_ISO]
    _DQ_LOOKUP[_state, ValueStatus.INVALID_EXCEL_SERIAL] = DQ_CODE[FAILED_SERIAL]
    _DQ_LOOKUP[_state, ValueStatus.FORMULA] = DQ_CODE[FAILED_FORMULA]
    _DQ_LOOKUP[_state, ValueStatus.VALID_MAPPED] = DQ_CODE[FAILED_MAPPED]
# The same in a file of the Release 2 era: a Release 1 value fails, Release 1's capitalisation of a
# Release 2 value is a loose match.
_DQ_LOOKUP_RELEASE2_ERA = _DQ_LOOKUP.copy()
for _state in (1, 2):
    _DQ_LOOKUP_RELEASE2_ERA[_state, ValueStatus.VALID_RELEASE1] = DQ_CODE[FAILED_RELEASE1]
    _DQ_LOOKUP_RELEASE2_ERA[_state, ValueStatus.VALID_RELEASE1_LOOSE] = DQ_CODE[FAILED_RELEASE1]
    _DQ_LOOKUP_RELEASE2_ERA[_state, ValueStatus.VALID_RELEASE1_CASE] = DQ_CODE[PASSED_LOOSE]

#: Typed ``records`` columns the hand-written suites assert on (copied into the validation frame).
FRAME_RECORD_COLUMNS = (
    "LA_Code",
    "Reporting_Period_Start_Date",
    "Reporting_Period_End_Date",
    "Event_Type",
    "Event_Outcome",
    "Event_Start_Date",
    "Event_End_Date",
    "Date_of_Death",
)

#: Outcome values and gate statuses.
ACCEPTED = "accepted"
ACCEPTED_WITH_WARNINGS = "accepted with warnings"
REJECTED = "rejected"
CHECK_PASSED = "Passed"
CHECK_WARNING = "Warning"
CHECK_BLOCKING = "Failed (blocking)"

def dq_column(field_name: str) -> str:
    """Name of a field's status column in the validation frame.

    >>> dq_column("Gender")
    'Gender__dq'
    """
    return f"{field_name}__dq"

# ---------------------------------------------------------------------------------------------
# Validation frame
# ---------------------------------------------------------------------------------------------
def _age_at_period_end(records: pd.DataFrame) -> pd.Series:
    """Age in whole years at each row's reporting period end, unbounded (may be negative or >115).

    ``floor((period end - first day of birth month) in days / 365.25)``, done in integers as
    ``floor(4 * days / 1461)`` so no float rounding moves a birthday. Missing where the birth
    month or the period end is unknown. Implausible ages are kept: the cross-field suite reports
    them (derive treats them as unknown).
    """
    year = records["birth_year"].astype("Int64")
    month = records["birth_month"].astype("Int64")
    month_index = ((year - 1970) * 12 + (month - 1)).to_numpy(dtype="float64", na_value=np.nan)
    end = records["Reporting_Period_End_Date"].to_numpy(dtype="datetime64[D]")
    known = ~np.isnan(month_index) & ~np.isnat(end)
    first_day = np.where(known, month_index, 0).astype("int64").astype("datetime64[M]").astype("datetime64[D]")
    days = (end.astype("int64") - first_day.astype("int64")) if len(end) else np.zeros(0, dtype="int64")
    age = np.floor_divide(4 * np.where(known, days, 0), 1461)
    return pd.Series(pd.array(age, dtype="Int32")).mask(~known)


def _row_fingerprints(records: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash per row of every ``records`` value except the row number (duplicate rows).

    Collisions between different rows are possible in principle (2**-64 per pair) and harmless
    here: the duplicate-row check is a warning.
    """
    values = records.drop(columns=["row_number"], errors="ignore")
    if values.shape[1] == 0:
        return pd.util.hash_pandas_object(values, index=False).to_numpy()
    # Each column is first turned into whole numbers that are equal exactly when the values are
    # (categorical codes, dictionary indices of strings, date and float bits); hashing those is
    # ~10x faster than hashing the strings themselves (0.5 s of CPU per 600,000 rows before).
    return pd.util.hash_pandas_object(
        pd.DataFrame({i: _value_ids(values.iloc[:, i]) for i in range(values.shape[1])}), index=False
    ).to_numpy()


_MISSING_ID = np.int64(-(2**62))


def _value_ids(column: pd.Series) -> np.ndarray:
    """Per row an ``int64`` equal between two rows exactly when their values are equal (missing
    equals missing), for :func:`_row_fingerprints`; numbers are comparable within one column only."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    if isinstance(dtype, pd.StringDtype):
        encoded = pc.dictionary_encode(pa.array(column.array, from_pandas=True))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        return pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return column.to_numpy().view(np.int64)  # NaT is one value, the smallest int64
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
        return column.to_numpy(dtype=np.int64, na_value=_MISSING_ID)
    if pd.api.types.is_float_dtype(dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(values == 0, 0.0, values)  # -0.0 equals 0.0
        return np.where(np.isnan(values), np.nan, values).view(np.int64)  # one bit pattern for NaN
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return column.to_numpy().astype(np.int64)
    return pd.util.hash_array(column.to_numpy(dtype=object)).view(np.int64)


def field_status_codes(
    records: pd.DataFrame,
    status: pd.DataFrame,
    spec: Spec | None = None,
    age_at_period_end: pd.Series | None = None,
    *,
    release1_fails: bool = False,
) -> dict[str, np.ndarray]:
    """Per field, the validation-frame status code (index into :data:`DQ_STATUSES`) of every row.

    Vectorised: each distinct ``applies``/``mandatory`` condition is evaluated once over all rows,
    and each field's codes come from one table look-up on its int8 status column.

    Parameters
    ----------
    records, status : pandas.DataFrame
        Contract 1 ``records`` and ``status`` (same index).
    spec : Spec, optional
    age_at_period_end : pandas.Series, optional
        Needed by ``age_between`` conditions; computed from ``records`` when omitted.
    release1_fails : bool
        The file is of the Release 2 era (:func:`cldstats.quality.releases.release1_values_fail`): a Release 1 value is
        ``Failed: Release 1``, not ``Passed: Valid (Release 1)``.

    Returns
    -------
    dict
        Field name -> ``int8`` array of codes, for all 50 fields in spec order.

    Examples
    --------
    >>> recs = pd.DataFrame({"Client_Type": pd.Categorical(["Service user", "Unpaid carer"])})
    >>> st = pd.DataFrame({"Dementia": np.array([0, 1], dtype="int8")})
    >>> spec = load_spec()
    >>> small = Spec(tuple(f for f in spec.fields if f.name == "Dementia"))
    >>> [DQ_STATUSES[c] for c in field_status_codes(recs, st, small)["Dementia"]]
    ['Passed: Blank (Not Mandatory)', 'Not applicable: value given']
    """
    spec = spec or load_spec()
    n = len(records)
    cache: dict[str, np.ndarray] = {}

    def condition(rule: Any) -> np.ndarray:
        key = json.dumps(rule, sort_keys=True)
        if key not in cache:
            nonlocal age_at_period_end
            if "age_between" in key and age_at_period_end is None:
                age_at_period_end = _age_at_period_end(records)
            cache[key] = _evaluate(rule, records, age_at_period_end, cache)
        return cache[key]

    codes = {}
    # Row offsets into the flattened look-up table, per distinct (applies, mandatory) pair: many
    # fields share their conditions, and a flat take is cheaper than 2-D fancy indexing.
    offsets: dict[tuple[int, int], np.ndarray] = {}
    flat = (_DQ_LOOKUP_RELEASE2_ERA if release1_fails else _DQ_LOOKUP).ravel()
    for spec_field in spec.fields:
        applies = condition(spec_field.applies)
        mandatory = condition(spec_field.mandatory)
        pair = (id(applies), id(mandatory))
        if pair not in offsets:
            state = applies.astype(np.int16) + (applies & mandatory)
            offsets[pair] = state * np.int16(_N_VALUE_STATUSES)
        if spec_field.name in status.columns:
            values = status[spec_field.name].to_numpy(dtype=np.int8)
        else:  # a status column ingest did not give: the cells count as blank
            values = np.zeros(n, dtype=np.int8)
        codes[spec_field.name] = flat.take(offsets[pair] + values)
    return codes


def _evaluate(rule: Any, records: pd.DataFrame, age_at_period_end: pd.Series | None,
              cache: dict[str, np.ndarray]) -> np.ndarray:
    """:func:`cldstats.reference.spec.evaluate_condition`, with each field test on a categorical column
    evaluated once per category.

    ``all``/``any``/``not`` combine their parts as the spec does; a test on one field
    (``present``, ``in``, ``not_in``, ``startswith``, ``contains``) depends only on the cell's
    value, so on a categorical column the spec's own function is applied to the categories and to
    one missing value, and the answers spread to the rows through the codes: the same result,
    without turning every row into text (which ``startswith`` otherwise does). Parts are cached in
    ``cache`` by their JSON, so a part shared by several fields' conditions is evaluated once.
    """
    key = json.dumps(rule, sort_keys=True)
    if key in cache:
        return cache[key]
    n = len(records)
    if isinstance(rule, Mapping) and "all" in rule:
        result = np.ones(n, dtype=bool)
        for sub in rule["all"]:
            result = result & _evaluate(sub, records, age_at_period_end, cache)
    elif isinstance(rule, Mapping) and "any" in rule:
        result = np.zeros(n, dtype=bool)
        for sub in rule["any"]:
            result = result | _evaluate(sub, records, age_at_period_end, cache)
    elif isinstance(rule, Mapping) and "not" in rule:
        result = ~_evaluate(rule["not"], records, age_at_period_end, cache)
    elif (
        isinstance(rule, Mapping)
        and "field" in rule
        and rule["field"] in records.columns
        and isinstance(records[rule["field"]].dtype, pd.CategoricalDtype)
    ):
        column = records[rule["field"]]
        values = pd.concat(
            [pd.Series(column.cat.categories, dtype=object), pd.Series([None], dtype=object)], ignore_index=True
        )
        per_value = evaluate_condition(rule, pd.DataFrame({rule["field"]: values}))
        result = per_value[column.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    else:
        result = evaluate_condition(rule, records, age_at_period_end)
    cache[key] = result
    return result


def validation_frame(records: pd.DataFrame, status: pd.DataFrame, spec: Spec | None = None, *,
                     release1_fails: bool = False) -> pd.DataFrame:
    """The frame the suites are validated on.

    Columns: ``<field>__dq`` (categorical of :data:`DQ_STATUSES`) for every spec field, the typed
    ``records`` columns of :data:`FRAME_RECORD_COLUMNS`, ``age_at_period_end`` (``Int32``,
    unbounded), ``release1_fields`` (``int16``: how many fields of the row are ``Failed: Release
    1``) and ``row_fingerprint`` (``uint64`` hash of the row's values, for duplicate rows). Same
    index as ``records``. No personal data: names, NHS numbers, postcodes and dates of birth are not
    in ``records`` in the first place.

    Parameters
    ----------
    records, status : pandas.DataFrame
        Contract 1 ``records`` and ``status``.
    spec : Spec, optional
    release1_fails : bool
        As :func:`field_status_codes`.
    """
    spec = spec or load_spec()
    age = _age_at_period_end(records)
    codes = field_status_codes(records, status, spec, age, release1_fails=release1_fails)
    columns: dict[str, Any] = {}
    release1_fields = np.zeros(len(records), dtype=np.int16)
    for name, field_codes in codes.items():
        columns[dq_column(name)] = pd.Categorical.from_codes(field_codes, dtype=_DQ_DTYPE, validate=False)
        if release1_fails:
            release1_fields += field_codes == DQ_CODE[FAILED_RELEASE1]
    for name in FRAME_RECORD_COLUMNS:
        if name not in records.columns:
            columns[name] = np.full(len(records), None)
        elif isinstance(records[name].dtype, pd.CategoricalDtype):
            # Kept categorical: GX's set and row-condition checks then compare a few categories,
            # not a string per row (same answers, missing values included).
            columns[name] = records[name].array
        else:
            columns[name] = records[name].to_numpy()
    columns["age_at_period_end"] = age.to_numpy()
    columns["release1_fields"] = release1_fields
    columns["row_fingerprint"] = _row_fingerprints(records)
    return pd.DataFrame(columns, index=records.index)


