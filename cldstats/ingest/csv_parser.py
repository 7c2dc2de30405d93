"""Parsing CSV text into cells (step 3 of :mod:`cldstats.ingest.reader`) and numbering its records.

pyarrow's reader (every column read as bytes and dictionary-encoded, one thread) when it accepts the
file and its lines add up, else Python's ``csv`` module, which accepts anything, finds the ragged
rows and counts lines itself. The physical lines of a file (CRLF, LF and a lone CR each end one)
give the line on which each record starts.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from cldstats.ingest.cells import EncodedColumn, dictionary_encode
from cldstats.ingest.decoding import cp1252_to_utf8, cp1252_unreadable
from cldstats.ingest.issues import Unreadable

_PYARROW_BLOCK_SIZE = 16 << 20
_PYARROW_SMALL_BLOCK_SIZE = 1 << 20
#: pyarrow's reader threads: off, since validation already runs one process per core and a
#: single thread parses a file with the least CPU (measured: ~0.26 s vs ~0.37 s CPU, 145k rows).
_PYARROW_THREADS = False


def _parse_with_pyarrow(data: bytes, header: list[str], cp1252: bool) -> list[EncodedColumn] | None:
    """Every column dictionary-encoded, or None when pyarrow refuses the file.

    Cells are read as bytes (CSV syntax is ASCII, so Windows-1252 bytes parse as they are) and
    only the distinct values are made text: viewed as UTF-8 (the file was checked to be UTF-8), or
    transcoded from Windows-1252 when they hold non-ASCII bytes.
    """
    table = None
    # Small blocks parse faster (the memo tables stay in cache); a row bigger than a small block
    # makes pyarrow fail, so a refused file is tried again with the big blocks before giving up.
    for block_size in (_PYARROW_SMALL_BLOCK_SIZE, _PYARROW_BLOCK_SIZE):
        try:
            table = pa_csv.read_csv(
                pa.BufferReader(data),
                read_options=pa_csv.ReadOptions(use_threads=_PYARROW_THREADS, block_size=block_size),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types={label: pa.binary() for label in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            break
        except (pa.ArrowException, ValueError):
            if len(data) <= _PYARROW_SMALL_BLOCK_SIZE:
                return None
    if table is None:
        return None
    if table.num_columns != len(header) or list(table.column_names) != header:
        return None
    columns = []
    for i in range(table.num_columns):
        dictionary, indices = dictionary_encode(table.column(i))
        columns.append(EncodedColumn(_cells_as_text(dictionary, data if cp1252 else None), indices))
    return columns


def _cells_as_text(cells: pa.Array, cp1252_data: bytes | None) -> pa.Array:
    """Distinct cells (bytes) as UTF-8 text; ``cp1252_data`` is the file when it is Windows-1252."""
    text = cells.view(pa.string()) if pa.types.is_binary(cells.type) else cells
    if cp1252_data is None:
        return text
    ascii_ = pc.string_is_ascii(text)
    if pc.all(ascii_).as_py() is not False:
        return text
    other = pc.invert(ascii_)
    try:
        transcoded = [value.decode("cp1252") for value in cells.filter(other).to_pylist()]
    except UnicodeDecodeError:
        raise cp1252_unreadable(cp1252_data) from None
    return pc.replace_with_mask(text, other, pa.array(transcoded, type=pa.string()))


@dataclass
class ParsedCsv:
    """One parse of a CSV file: the cells of each header column and where each record starts."""

    header: list[str]
    columns: list[EncodedColumn]
    #: per record, the line of the file on which it starts (lines counted from 1, blank ones too)
    lines: np.ndarray
    #: records with more or fewer cells than the header (found by the csv module) and their cell counts
    ragged: np.ndarray
    ragged_lengths: np.ndarray
    #: lines in the file parsed (:func:`_line_count`)
    n_lines: int


def _parse_with_csv_module(text: str) -> ParsedCsv:
    """Python's csv reader: slower, but it accepts anything, sees ragged rows and counts lines."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # one cell may legitimately be megabytes
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    rows: list[list[str]] = []
    starts: list[int] = []
    line = 0
    for row in reader:
        if row:  # a blank line is an empty list: skipped, but its line is counted
            rows.append(row)
            starts.append(line + 1)
        line = reader.line_num
    if not rows:
        raise Unreadable("has no header row (only blank lines)")
    header, body = rows[0], rows[1:]
    width = len(header)
    lengths = np.fromiter((len(row) for row in body), dtype=np.int64, count=len(body))
    ragged = np.flatnonzero(lengths != width)
    for i in ragged:
        row = body[i]
        body[i] = row[:width] if len(row) > width else row + [""] * (width - len(row))
    if body:
        columns = [pa.array(cells, type=pa.string()) for cells in zip(*body, strict=True)]
    else:
        columns = [pa.array([], type=pa.string()) for _ in header]
    return ParsedCsv(
        header,
        [EncodedColumn(*dictionary_encode(column)) for column in columns],
        np.asarray(starts[1:], dtype=np.int64),
        ragged,
        lengths[ragged],
        n_lines=line,
    )


def header_cells(data: bytes) -> list[str]:
    """The header cells, parsed from the start of the file."""
    head = data[: 1 << 20].decode("utf-8", errors="replace")
    for row in csv.reader(io.StringIO(head, newline=""), strict=False):
        if row:
            return row
    return []


# A run of line breaks inside a cell: the lines between its breaks are empty.
_LINE_BREAK_RUN = r"(?:\r\n|\r|\n)+"


def _line_count(data: bytes) -> int:
    """Lines of the file: CRLF, LF and a lone CR each end one; a last line without an end counts.

    numpy comparisons, not ``bytes.count`` (measured on a 40 MB file: 70 ms for the LFs and 90 ms
    more for the CRs of a CRLF file, against 100 ms per ``count`` and 230 ms for ``b"\\r\\n"``).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    breaks = int(np.count_nonzero(buf == 0x0A))
    if b"\r" in data:
        cr = np.flatnonzero(buf == 0x0D)
        breaks += int(np.count_nonzero(buf[np.minimum(cr + 1, len(buf) - 1)] != 0x0A))
    return breaks + (0 if data.endswith((b"\n", b"\r")) else 1)


def physical_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Byte offset at which each line of the file starts, and whether the line is empty.

    Vectorised over the bytes (one comparison per byte value, no Python per line).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    lf = np.flatnonzero(buf == 0x0A)
    cr = np.flatnonzero(buf == 0x0D)
    last = len(buf) - 1
    lone_cr = cr[(cr == last) | (buf[np.minimum(cr + 1, last)] != 0x0A)]
    lf_after_cr = (lf > 0) & (buf[np.maximum(lf - 1, 0)] == 0x0D)
    ends = np.concatenate([lf, lone_cr])  # last byte of each line break
    firsts = np.concatenate([lf - lf_after_cr, lone_cr])  # first byte of it (the CR of a CRLF)
    order = np.argsort(ends, kind="stable")
    ends, firsts = ends[order], firsts[order]
    starts = np.concatenate([[0], ends + 1])
    empty = np.zeros(len(starts), dtype=bool)
    empty[: len(ends)] = firsts == starts[: len(ends)]
    if starts[-1] == len(buf):  # the file ends with a line break: no line after it
        starts, empty = starts[:-1], empty[:-1]
    return starts, empty


def _record_lines(data: bytes, header: list[str], columns: list[EncodedColumn], n_lines: int) -> np.ndarray | None:
    """The line on which each record pyarrow read starts, or None when the lines do not add up.

    With one line per record (no blank line, no line break in a cell: the usual file) record ``i``
    is on line ``i + 2``. Otherwise each record takes its first line and one more non-empty line
    per run of line breaks in its cells (the lines inside a run are empty), and blank lines between
    records are skipped: the record starts are then read off the file's non-empty lines.
    """
    n_rows = len(columns[0]) if columns else 0
    if n_lines == n_rows + 1:
        return np.arange(2, n_rows + 2, dtype=np.int64)
    consumed = np.ones(n_rows, dtype=np.int64)
    for column in columns:
        runs = pc.count_substring_regex(column.dictionary, _LINE_BREAK_RUN).to_numpy(zero_copy_only=False)
        if runs.any():
            consumed += runs[column.indices]
    header_consumed = 1 + sum(len(re.findall(_LINE_BREAK_RUN, label)) for label in header)
    starts, empty = physical_lines(data)
    non_empty = np.flatnonzero(~empty) + 1
    if header_consumed + int(consumed.sum()) != len(non_empty):
        return None
    return non_empty[header_consumed + np.cumsum(consumed) - consumed]


def parse_csv(data: bytes, header: list[str], cp1252: bool) -> tuple[ParsedCsv, bytes, bool]:
    """pyarrow when it accepts the file (and its lines add up), else Python's csv module.

    Returns the parse and the bytes parsed, with whether they are still Windows-1252 (the csv
    module reads text, so a Windows-1252 file is transcoded for it).
    """
    columns = _parse_with_pyarrow(data, header, cp1252) if header and len(set(header)) == len(header) else None
    if columns is not None:
        n_lines = _line_count(data)
        lines = _record_lines(data, header, columns, n_lines)
        if lines is not None:
            none = np.zeros(0, dtype=np.int64)
            return ParsedCsv(header, columns, lines, none, none, n_lines), data, cp1252
    # Duplicate labels, ragged rows, a header without a newline, a cell bigger than a block...
    if cp1252:
        data, cp1252 = cp1252_to_utf8(data), False
    return _parse_with_csv_module(data.decode("utf-8")), data, cp1252
