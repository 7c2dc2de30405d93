"""From bytes to text (step 2 of :mod:`cldstats.ingest.reader`): every gzip member decompressed,
the checks that the bytes are text at all (NUL bytes, UTF-16, zip or gzip content, binary junk),
and UTF-8 (a BOM is accepted with an ``encoding_bom`` warning) or else Windows-1252, whose
undefined bytes make the file ``unreadable`` with their byte offset and line.
"""

from __future__ import annotations

import codecs
import re
import zlib

import numpy as np
import pyarrow as pa

from cldstats.ingest.issues import FileIssue, Unreadable

# Control characters other than tab, CR and LF: a text file has (almost) none of them.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset (counting LF, or CR in old Mac files)."""
    newlines = data.count(b"\n", 0, offset)
    return (newlines or data.count(b"\r", 0, offset)) + 1


def gunzip(compressed: bytes) -> bytes:
    """Decompress every gzip member, as :mod:`gzip` does (zero padding between members allowed)."""
    parts = []
    rest = compressed
    while rest:
        try:
            decompressor = zlib.decompressobj(wbits=31)
            parts.append(decompressor.decompress(rest))
        except zlib.error as error:
            raise Unreadable("is not a valid gzip file") from error
        if not decompressor.eof:
            raise Unreadable("gzip file is truncated (compressed data ends early)")
        rest = decompressor.unused_data.lstrip(b"\x00")
        if rest and not rest.startswith(b"\x1f\x8b"):
            raise Unreadable("is not a valid gzip file")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode_text(data: bytes, issues: list[FileIssue], name: str) -> tuple[bytes, str]:
    """Check the bytes are text and return them as UTF-8 with the encoding they came in."""
    if not data:
        raise Unreadable("file is empty (0 bytes)")
    if data.startswith(b"PK\x03\x04"):
        raise Unreadable("is a zip archive, not CSV text (an .xlsx workbook renamed to .csv?)")
    if data.startswith(b"\x1f\x8b"):
        raise Unreadable("is gzip-compressed but not named .csv.gz")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Unreadable("is UTF-16 text; save it as UTF-8 or Windows-1252 CSV")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Unreadable(
            f"contains NUL bytes (first at byte {nul}, line {_line_of(data, nul)}): binary data, not CSV text"
        )
    sample = data[: 1 << 16]
    control = len(sample.translate(None, _NOT_CONTROL_BYTES))
    if control > max(10, len(sample) // 100):
        raise Unreadable(f"looks like binary data, not CSV text ({control} control bytes in the first 64 KB)")

    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8-sig"
        issues.append(
            FileIssue(
                "encoding_bom",
                f"{name}: starts with a UTF-8 byte order mark (the national portal refuses it); read as UTF-8",
            )
        )
    if data.isascii() or _is_utf8(data):
        return data, encoding
    if encoding == "utf-8-sig":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Unreadable(
                f"has a UTF-8 byte order mark but invalid UTF-8 at byte {error.start + 3} "
                f"(line {_line_of(data, error.start)})"
            ) from error
    # Windows-1252: still as sent; transcoded by the caller (see ``read_csv_table``).
    return data, "cp1252"


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8 (Arrow's validator: no str is built)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def cp1252_unreadable(data: bytes) -> Unreadable:
    """The error of bytes that are not Windows-1252 either: the first undefined byte, its offset and line."""
    bad = _CP1252_UNDEFINED.search(data)
    offset = bad.start() if bad else 0
    return Unreadable(
        f"is neither UTF-8 nor Windows-1252: byte 0x{data[offset]:02X} at byte {offset} "
        f"(line {_line_of(data, offset)}) is undefined in Windows-1252"
    )


def cp1252_to_utf8(data: bytes) -> bytes:
    """The whole file transcoded (the slow path: files pyarrow refuses, non-ASCII headers)."""
    try:
        return data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        raise cp1252_unreadable(data) from None
