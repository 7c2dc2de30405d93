"""Formula (CSV) injection: text that a spreadsheet would run as a formula is neutralised.

A file name such as ``=HYPERLINK("http://...")_20240401T090000.csv`` or an Event Reference
``@SUM(1+1)`` is council-supplied text that reaches cldstats's CSVs and could reach a workbook.
Opened in Excel or LibreOffice, a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula (OWASP, "CSV Injection"). Every CSV cldstats writes goes through
:func:`write_csv` and every text cell of the workbooks through :func:`neutralise_text` or
:func:`neutralise_frame`, so the one rule below is applied everywhere.

The rule (OWASP's guidance)
    A **text** cell whose first character is one of :data:`FORMULA_TRIGGERS` is prefixed with a
    single quote (``'=HYPERLINK(...)``), and in a CSV that cell is also enclosed in double quotes
    (embedded double quotes doubled), so the spreadsheet reads it as one text cell.

What is text
    Only columns of object, string or categorical dtype are looked at; numeric, boolean and date
    columns are never touched, so numbers stay numbers. Inside a text column a cell that is
    entirely a plain number (``-5``, ``+3``, ``-0.25``, ``-1e5``) is left alone: a spreadsheet
    reads it as that number and digits alone cannot call anything, while prefixing it would turn
    a real negative number into text. Anything else starting with ``-`` (``-2+3+cmd|...``,
    ``-A1``) is neutralised, as OWASP asks.

Everything else a CSV holds is written exactly as ``DataFrame.to_csv(index=False,
lineterminator="\\n")`` writes it (``tests/unit/core/test_safe_output.py`` compares the bytes), so the
published tables keep DESIGN.md's output contract.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FORMULA_TRIGGERS", "formula_cells", "neutralise_frame", "neutralise_text", "write_csv"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The prefix that makes a spreadsheet read the cell as text.
PREFIX = "'"

_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
# What makes a CSV field need quotes: the separator, the quote, a line break. (Python's csv module,
# behind DataFrame.to_csv, leaves a bare carriage return unquoted, which splits the row for most
# readers; here it is quoted.)
_NEEDS_QUOTES = ('"', ",", "\n", "\r")
_TEXT = pa.large_string()


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype))


def _text_array(column: pd.Series) -> pa.Array:
    """The column's cells as text (what ``to_csv`` writes for them), missing values null."""
    text = pa.array(column.astype(str), type=_TEXT, from_pandas=True)
    # A pyarrow-backed column may come as several chunks; the kernels below want one array.
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    parts = [pa.scalar(p, _TEXT) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar("", _TEXT))


def _formula_like(text: pa.Array) -> pa.Array:
    """True where a text value starts with a formula trigger and is not a plain number."""
    first = pc.utf8_slice_codeunits(text, 0, 1)
    starts = pc.is_in(first, value_set=pa.array(FORMULA_TRIGGERS, _TEXT))
    number = pc.match_substring_regex(text, _PLAIN_NUMBER)
    return pc.fill_null(pc.and_(starts, pc.invert(number)), False)


def _per_distinct(text: pa.Array, function) -> pa.Array:
    """``function`` applied to the distinct values of ``text`` only, then spread back."""
    encoded = pc.dictionary_encode(text)
    return function(encoded.dictionary).take(encoded.indices)


def formula_cells(column: pd.Series) -> pd.Series:
    """Which cells of ``column`` a spreadsheet would read as a formula.

    Parameters
    ----------
    column : pandas.Series
        Any column; only object, string and categorical columns can hold such cells.

    Returns
    -------
    pandas.Series of bool
        True for a text cell starting with one of :data:`FORMULA_TRIGGERS` that is not a plain
        number; False everywhere in a numeric, boolean or date column.

    Examples
    --------
    >>> formula_cells(pd.Series(["=1+1", "-5", "-A1", "@x", "a=b", None, 7], dtype=object)).tolist()
    [True, False, True, True, False, False, False]
    """
    if not _is_text(column) or len(column) == 0:
        return pd.Series(False, index=column.index)
    risky = _per_distinct(_text_array(column), _formula_like)
    return pd.Series(risky.to_numpy(zero_copy_only=False), index=column.index, dtype=bool)


def neutralise_text(value: str) -> str:
    """One text value, prefixed with ``'`` when a spreadsheet would read it as a formula.

    Examples
    --------
    >>> neutralise_text('=HYPERLINK("http://example.org")'), neutralise_text("Hartlepool")
    ('\\'=HYPERLINK("http://example.org")', 'Hartlepool')
    """
    return neutralise_frame(pd.DataFrame({"text": [value]}, dtype=object))["text"].iloc[0]


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose formula-like text cells (:func:`formula_cells`) start with ``'``.

    Numeric, boolean and date columns, numbers inside object columns, and every other cell are
    returned unchanged (the same objects, so ints stay ints for the workbooks).
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        risky = formula_cells(column)
        if risky.any():
            values = column.astype(object)
            values[risky] = PREFIX + column[risky].astype(str)
            out.isetitem(position, values)
    return out


def _quoted_fields(values: pa.Array, single_column: bool) -> pa.Array:
    """Distinct text values as CSV fields: neutralised, and quoted where needed."""
    risky = _formula_like(values)
    values = pc.if_else(risky, _join(PREFIX, values), values)
    quote = risky
    for character in _NEEDS_QUOTES:
        quote = pc.or_(quote, pc.match_substring(values, character))
    if single_column:
        # csv quotes an empty field that is a row's only field (else the row is a blank line).
        quote = pc.or_(quote, pc.equal(values, ""))
    return pc.if_else(quote, _join('"', pc.replace_substring(values, '"', '""'), '"'), values)


def _csv_fields(column: pd.Series, single_column: bool) -> pa.Array:
    """Each cell of ``column`` as the text of one CSV field."""
    if _is_text(column):
        text = pc.fill_null(_text_array(column), "")
        return _per_distinct(text, lambda values: _quoted_fields(values, single_column))
    if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        if not column.hasnans:
            return _text_array(column)  # str(int), "True"/"False": what to_csv writes
    # pandas' own formatting of floats, dates and nullable columns, which never need quotes; one
    # column at a time so a field is a line. csv quotes an empty field when it is a row's only
    # field, which here it always is.
    lines = column.to_frame().to_csv(index=False, header=False, lineterminator="\n").split("\n")[:-1]
    fields = pa.array(lines, type=_TEXT)
    return fields if single_column else pc.if_else(pc.equal(fields, '""'), pa.scalar("", _TEXT), fields)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (no index, ``\\n`` line ends, UTF-8), formula-like text neutralised.

    What ``frame.to_csv(path, index=False, lineterminator="\\n")`` writes, except that each cell
    :func:`formula_cells` finds is written as ``"'<cell>"`` and a cell with a carriage return is
    quoted. Vectorised (pyarrow) over each column's distinct values.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; the header is its column names.
    path : pathlib.Path
        File to write (its folder is created if missing).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    single = frame.shape[1] == 1
    header = _csv_fields(pd.Series([str(name) for name in frame.columns], dtype=object), single)
    text = ",".join(header.to_pylist()) + "\n"
    if len(frame) and frame.shape[1]:
        fields = [_csv_fields(frame.iloc[:, position], single) for position in range(frame.shape[1])]
        lines = pc.binary_join_element_wise(*fields, pa.scalar(",", _TEXT))
        rows = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
        text += pc.binary_join(rows, pa.scalar("\n", _TEXT))[0].as_py() + "\n"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path
