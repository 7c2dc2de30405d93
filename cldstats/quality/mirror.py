"""The pandas mirror of Great Expectations' semantics: the rows an expectation finds unexpected.

GX decides whether each check passed (the gate uses GX's verdicts); counts and the failing-row
extracts are computed by this module's pandas code from the same expectation configurations
(:func:`failing_rows`), because GX's own unexpected-row lists are slow and may carry values. The
runner checks the mirror's counts against GX's over every batch. Also here: which columns an
expectation reads and whether GX's pandas engine copies the whole frame for it, which decide the
frame each expectation is validated on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["columns_named", "copies_frame", "failing_rows"]


def _condition_query(condition: Any) -> str | None:
    """The pandas query text of a row condition, built as GX's pandas engine builds it.

    Handles GX 1.x ``Condition`` objects in their JSON form (``comparison``, ``nullity``, ``and``,
    ``or``) and the older pass-through pandas strings.
    """
    if not condition:
        return None
    if isinstance(condition, str):
        return condition
    kind = condition.get("type")
    if kind == "pass_through":
        return condition["pass_through_filter"]
    if kind == "comparison":
        column, operator, value = f"`{condition['column']['name']}`", condition["operator"], condition["parameter"]
        if operator in ("IN", "NOT_IN"):
            values = ", ".join(map(repr, value))
            return f"{column} {'in' if operator == 'IN' else 'not in'} [{values}]"
        return f"{column} {operator} {value!r}"
    if kind == "nullity":
        column = f"`{condition['column']['name']}`"
        return f"{column}.isnull()" if condition["is_null"] else f"~{column}.isnull()"
    if kind in ("and", "or"):
        return "(" + f" {kind} ".join(_condition_query(c) for c in condition["conditions"]) + ")"
    raise ValueError(f"row condition {condition!r} is not mirrored")


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def failing_rows(
    expectation: Mapping[str, Any],
    frame: pd.DataFrame,
    parameters: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Boolean mask of the rows an expectation finds unexpected, computed with pandas.

    Mirrors GX's semantics for the expectation types the suites use: value checks skip nulls,
    pair checks ignore a row where either value is missing, ``row_condition`` (pandas syntax)
    narrows the rows checked. A unique-value-count failure marks the rows that differ from the most
    common value; a table row count marks no row.

    Parameters
    ----------
    expectation : mapping
        An expectation configuration (``type``, ``kwargs``) as in the suite JSON.
    frame : pandas.DataFrame
        The validation frame.
    parameters : mapping, optional
        Values for ``{"$PARAMETER": name}`` kwargs.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ValueError
        For an expectation type or option this function does not mirror.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, None, 5]})
    >>> cfg = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "max_value": 3}}
    >>> failing_rows(cfg, frame).tolist()
    [False, False, True]
    """
    parameters = parameters or {}
    kind = expectation["type"]
    kwargs = {k: _resolve(v, parameters) for k, v in expectation["kwargs"].items()}
    n = len(frame)
    if kind == "expect_table_row_count_to_be_between":
        return np.zeros(n, dtype=bool)
    if kind == "expect_column_pair_values_to_be_equal":
        if kwargs.get("ignore_row_if", "both_values_are_missing") != "either_value_is_missing":
            raise ValueError("only ignore_row_if='either_value_is_missing' is mirrored")
        a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
        both = (a.notna() & b.notna()).to_numpy(dtype=bool)
        differ = np.zeros(n, dtype=bool)
        differ[both] = a.to_numpy(dtype=object)[both] != b.to_numpy(dtype=object)[both]
        return _narrowed(differ, kwargs, frame)
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        if kwargs.get("ignore_row_if", "both_values_are_missing") != "either_value_is_missing":
            raise ValueError("only ignore_row_if='either_value_is_missing' is mirrored")
        a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
        bad = (a < b) if kwargs.get("or_equal") else (a <= b)
        mask = (bad & a.notna() & b.notna()).to_numpy(dtype=bool, na_value=False)
    else:
        mask = _column_mask(kind, kwargs, frame)
    return _narrowed(mask, kwargs, frame)


def _column_mask(kind: str, kwargs: Mapping[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """:func:`failing_rows` of a single-column expectation, before its row condition narrows it."""
    column = frame[kwargs["column"]]
    present = column.notna().to_numpy(dtype=bool)
    if kind == "expect_column_values_to_be_in_set":
        mask = present & ~_isin(column, kwargs["value_set"])
    elif kind == "expect_column_values_to_not_be_in_set":
        mask = present & _isin(column, kwargs["value_set"])
    elif kind == "expect_column_values_to_be_unique":
        mask = present & column.duplicated(keep=False).to_numpy(dtype=bool)
    elif kind == "expect_column_values_to_not_be_null":
        mask = ~present
    elif kind == "expect_column_values_to_be_between":
        if kwargs.get("strict_min") or kwargs.get("strict_max"):
            raise ValueError("strict bounds are not mirrored")
        values = pd.to_numeric(column, errors="coerce")
        mask = np.zeros(len(frame), dtype=bool)
        if kwargs.get("min_value") is not None:
            mask |= (values < kwargs["min_value"]).to_numpy(dtype=bool, na_value=False)
        if kwargs.get("max_value") is not None:
            mask |= (values > kwargs["max_value"]).to_numpy(dtype=bool, na_value=False)
    elif kind == "expect_column_unique_value_count_to_be_between":
        counts = column.value_counts(dropna=True)
        maximum = kwargs.get("max_value")
        if maximum is not None and len(counts) > maximum:
            mask = present & column.ne(counts.index[0]).to_numpy(dtype=bool, na_value=False)
        else:
            mask = np.zeros(len(frame), dtype=bool)
    else:
        raise ValueError(f"expectation type {kind} is not mirrored by failing_rows")
    return mask


def _isin(column: pd.Series, values: Any) -> np.ndarray:
    """``column.isin(values)`` as a bool array; a categorical is tested once per category (the
    answer for a missing value is only ever used masked out by the callers)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        hit = pd.Index(column.cat.categories).isin(list(values))
        return np.append(hit, False)[column.cat.codes.to_numpy()]
    return column.isin(values).to_numpy(dtype=bool)


def _narrowed(mask: np.ndarray, kwargs: Mapping[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """``mask`` restricted to the rows an expectation's ``row_condition`` selects."""
    query = _condition_query(kwargs.get("row_condition"))
    if query:
        mask = mask & frame.eval(query).to_numpy(dtype=bool, na_value=False)
    return mask


def columns_named(config: Mapping[str, Any]) -> set[str] | None:
    """Columns an expectation configuration reads (its column(s) and its row condition's), or
    None when that cannot be told (a pandas query string as row condition)."""
    kwargs = config.get("kwargs", {})
    names = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    names.update(kwargs.get("column_list", []) or [])
    pending = [kwargs.get("row_condition")]
    while pending:
        condition = pending.pop()
        if not condition:
            continue
        if isinstance(condition, str) or condition.get("type") == "pass_through":
            return None
        if isinstance(condition.get("column"), Mapping):
            names.add(condition["column"]["name"])
        pending.extend(condition.get("conditions", []) or [])
    return names


def copies_frame(config: Mapping[str, Any]) -> bool:
    """Whether GX's pandas engine copies the whole batch frame for this expectation's metrics:
    a row condition (``DataFrame.query``) or a column pair or list (``dropna``)."""
    kwargs = config.get("kwargs", {})
    return bool(kwargs.get("row_condition")) or any(k in kwargs for k in ("column_A", "column_list"))
