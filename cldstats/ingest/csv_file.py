"""One CSV or gzip submission into a :class:`~cldstats.ingest.cells.RawTable`: its bytes decoded, its
cells parsed, and its unclosed quotes repaired (step 3 of :mod:`cldstats.ingest.reader`).

A quote that opens a cell and never closes makes both parsers read the lines after it into that
cell. Such cells are found, their quote read as a character of the cell, and the file parsed again
(at most :data:`_MAX_QUOTE_PASSES` times; a cell still swallowing lines is then blanked). The
``ragged_rows`` issues of a CSV file (repaired quotes, rows without the header's cells, blanked
cells) are reported here.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.ingest.cells import RawTable, regex_matches
from cldstats.ingest.csv_parser import ParsedCsv, header_cells, parse_csv, physical_lines
from cldstats.ingest.decoding import cp1252_to_utf8, decode_text, gunzip
from cldstats.ingest.issues import MAX_EXAMPLE_ROWS, FileIssue, Unreadable, count_noun

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _swallowing_cells(parsed: ParsedCsv) -> list[tuple[int, int]]:
    """(record, column) of quoted cells spanning lines that hold records: an unclosed quote.

    A cell is taken to swallow records when one of its lines after the first holds at least half
    the header's delimiters (a record), or when its own record has more or fewer cells than the
    header (the quote closed on the next line, at that line's first quote, merging two records).
    A cell's own line breaks (an address, a note) give neither. Checked per distinct value.
    """
    min_delimiters = max(1, (len(parsed.header) - 1) // 2)
    ragged = np.zeros(len(parsed.lines), dtype=bool)
    ragged[parsed.ragged] = True
    hits: list[tuple[int, int]] = []
    for position, column in enumerate(parsed.columns):
        multiline = regex_matches(column.dictionary, r"[\r\n]")
        if not multiline.any():
            continue
        holds_records = np.zeros(len(column.dictionary), dtype=bool)
        for i in np.flatnonzero(multiline):
            lines = _LINE_BREAK.split(column.dictionary[int(i)].as_py())[1:]
            holds_records[i] = any(line.count(",") >= min_delimiters for line in lines)
        swallowing = holds_records[column.indices] | (multiline[column.indices] & ragged)
        hits.extend((int(record), position) for record in np.flatnonzero(swallowing))
    return sorted(hits)


# One CSV cell as both parsers read it: quoted ("" is a quote; text after the closing quote is
# kept) or unquoted up to the next comma or line break.
_CELL = re.compile(rb'"[^"]*(?:""[^"]*)*"[^,\r\n]*|[^,\r\n]*')
_CELL_END = re.compile(rb"[,\r\n]")


def _opening_quote(data: bytes, record_start: int, position: int) -> int | None:
    """Byte offset of the quote opening cell ``position`` of the record starting at ``record_start``."""
    offset = record_start
    for _ in range(position):
        end = _CELL.match(data, offset).end()
        if data[end : end + 1] != b",":
            return None
        offset = end + 1
    return offset if data[offset : offset + 1] == b'"' else None


def _unclosed_quotes(data: bytes, parsed: ParsedCsv, swallowing: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """``(byte offset, line, column label)`` of the quote opening each record's first swallowing cell.

    Only the first per record: a record starts where the parse is in step with the file, so its
    cells up to that one are where the parse says; a later one may be an artefact of the text the
    first swallowed. A quote that cannot be located is left out.
    """
    line_starts = physical_lines(data)[0]
    first_of_record: dict[int, int] = {}
    for record, position in swallowing:
        first_of_record.setdefault(record, position)
    located = []
    for record, position in first_of_record.items():
        line = int(parsed.lines[record])
        offset = _opening_quote(data, int(line_starts[line - 1]), position)
        if offset is not None:
            located.append((offset, line, parsed.header[position]))
    return located


def _quotes_as_characters(data: bytes, offsets: list[int]) -> bytes:
    """The bytes with the quote at each offset made a character of its cell, which ends on its line."""
    pieces, done = [], 0
    for offset in sorted(offsets):
        end = _CELL_END.search(data, offset + 1)
        stop = end.start() if end else len(data)
        pieces += [data[done:offset], b'"', data[offset:stop].replace(b'"', b'""'), b'"']
        done = stop
    pieces.append(data[done:])
    return b"".join(pieces)


#: Passes over a file repairing unclosed quotes (each pass repairs every one it can locate and
#: parses the file again); cells still swallowing lines after that are blanked and reported.
_MAX_QUOTE_PASSES = 10


def read_csv_table(content: bytes, name: str, issues: list[FileIssue]) -> RawTable:
    """A CSV (or, by its name, gzip) file's bytes as text cells.

    Raises :class:`~cldstats.ingest.issues.Unreadable` when they are not CSV text. The encoding,
    unclosed quote and ragged row issues are appended to ``issues``. Records whose cells may be
    displaced (ragged rows, blanked cells) are marked ``suspect``.
    """
    data, encoding, cp1252, header = _text_and_header(content, name, issues)
    parsed, data, repaired, swallowing = _parse_repairing_quotes(data, header, cp1252)
    header, lines = parsed.header, parsed.lines
    columns: list = list(parsed.columns)
    if repaired:
        issues.append(_repaired_quotes_issue(name, repaired))
    if len(parsed.ragged):
        issues.append(_ragged_rows_issue(name, parsed, data))
    suspect = np.zeros(len(lines), dtype=bool)
    suspect[parsed.ragged] = True
    if swallowing:
        issues.append(_blank_swallowing_cells(name, parsed, swallowing, columns, suspect))
    return RawTable(header, columns, lines.astype(np.int32), encoding, suspect)


def _text_and_header(content: bytes, name: str, issues: list[FileIssue]) -> tuple[bytes, str, bool, list[str]]:
    """The file's bytes decompressed and checked to be text, its encoding, whether the bytes are
    still Windows-1252, and the header cells."""
    data = gunzip(content) if name.lower().endswith(".gz") else content
    data, encoding = decode_text(data, issues, name)
    cp1252 = encoding == "cp1252"
    if re.fullmatch(rb"\s*", data[:4096]) and re.fullmatch(rb"\s*", data):  # no copy of the bytes
        raise Unreadable("has no header row (only blank lines)")
    header = header_cells(data)
    if cp1252 and not all(label.isascii() for label in header):
        # The header itself needs transcoding: transcode the whole file first.
        data, cp1252 = cp1252_to_utf8(data), False
        header = header_cells(data)
    return data, encoding, cp1252, header


def _parse_repairing_quotes(
    data: bytes, header: list[str], cp1252: bool
) -> tuple[ParsedCsv, bytes, list[tuple[int, str]], list[tuple[int, int]]]:
    """The last parse, the bytes it parsed, the (line, label) of each repaired quote (sorted), and
    the cells still swallowing records after the last pass.

    An unclosed quote makes both parsers read the lines after it into one cell. Each pass finds
    such cells, makes their quotes characters of their cells and parses the file again (the
    quotes after a repaired one may pair up differently), until none is left: every line that is
    a record is then read as one.
    """
    repaired: list[tuple[int, str]] = []
    for attempt in range(_MAX_QUOTE_PASSES + 1):
        parsed, data, cp1252 = parse_csv(data, header, cp1252)
        # A quoted cell holding line breaks is the only way a file has more lines than records
        # (bar blank lines); only then is it worth looking for an unclosed quote.
        maybe = b'"' in data and parsed.n_lines > len(parsed.lines) + 1
        swallowing = _swallowing_cells(parsed) if maybe else []
        if not swallowing or attempt == _MAX_QUOTE_PASSES:
            break
        located = _unclosed_quotes(data, parsed, swallowing)
        if not located:
            break
        data = _quotes_as_characters(data, [offset for offset, _, _ in located])
        repaired.extend((line, label) for _, line, label in located)
    repaired.sort()
    return parsed, data, repaired, swallowing


def _repaired_quotes_issue(name: str, repaired: list[tuple[int, str]]) -> FileIssue:
    """``ragged_rows``: the unclosed quotes read as characters of their cells."""
    (first_line, first_label), others = repaired[0], [line for line, _ in repaired[1:]]
    shown = ", ".join(str(line) for line in others[:5]) + (" ..." if len(others) > 5 else "")
    return FileIssue(
        "ragged_rows",
        f"{name}: row {first_line}, column '{first_label}': a quote opens the cell and is never "
        "closed (unbalanced quote); it was read as a character of that cell and every line after "
        "it as its own record"
        + (f" (also {count_noun(len(others), 'more unclosed quote')}: rows {shown})" if others else ""),
        count=len(repaired),
        rows=tuple(line for line, _ in repaired[:MAX_EXAMPLE_ROWS]),
    )


def _ragged_rows_issue(name: str, parsed: ParsedCsv, data: bytes) -> FileIssue:
    """``ragged_rows``: records with more or fewer cells than the header (padded or cut)."""
    lines, width = parsed.lines, len(parsed.header)
    ragged, counts = parsed.ragged, parsed.ragged_lengths
    shorter = int((counts < width).sum())
    examples = ", ".join(f"row {lines[i]} has {n}" for i, n in zip(ragged[:5], counts[:5], strict=True))
    last_truncated = ragged[-1] == len(lines) - 1 and counts[-1] < width and not data.endswith((b"\n", b"\r"))
    return FileIssue(
        "ragged_rows",
        f"{name}: {count_noun(len(ragged), 'row')} without the header's {width} cells ({examples}); "
        f"{count_noun(shorter, 'short row')} padded with blanks, extra cells ignored"
        + ("; the last line looks truncated" if last_truncated else ""),
        count=len(ragged),
        rows=tuple(int(lines[i]) for i in ragged[:MAX_EXAMPLE_ROWS]),
    )


def _blank_swallowing_cells(
    name: str, parsed: ParsedCsv, swallowing: list[tuple[int, int]], columns: list, suspect: np.ndarray
) -> FileIssue:
    """Blank the cells still swallowing records (in ``columns``), mark their records ``suspect``,
    and say so (``ragged_rows``).

    More unclosed quotes than are repaired (or one that cannot be located): the swallowed cells
    hold other records' values, personal data included, so they are blanked.
    """
    lines, header, n_rows = parsed.lines, parsed.header, len(parsed.lines)
    rows = sorted({record for record, _ in swallowing})
    for position in sorted({p for _, p in swallowing}):
        mask = np.zeros(n_rows, dtype=bool)
        mask[[record for record, p in swallowing if p == position]] = True
        columns[position] = pc.if_else(pa.array(mask), "", columns[position].plain())
    suspect[rows] = True
    first_record, first_position = swallowing[0]
    return FileIssue(
        "ragged_rows",
        f"{name}: row {lines[first_record]}, column '{header[first_position]}': a quote is never "
        "closed, so the lines after it were read into that cell instead of as records "
        f"(unbalanced quote; {count_noun(len(rows), 'such cell')} blanked)",
        count=len(rows),
        rows=tuple(int(lines[r]) for r in rows[:MAX_EXAMPLE_ROWS]),
    )
