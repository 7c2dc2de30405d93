"""Cells as text, the form every file format is read into: :class:`RawTable` (one Arrow string
column per header label, and each record's row number), :class:`EncodedColumn` (a column read
dictionary-encoded), and the two Arrow helpers that encode and match cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class RawTable:
    """Cells as text, one Arrow string array per header column."""

    header: list[str]
    columns: list[pa.Array | pa.ChunkedArray]
    row_numbers: np.ndarray
    encoding: str | None
    #: records whose cells may sit in the wrong columns (ragged rows): displaced values could be
    #: personal data, so their free-text values are not kept and their invalid codes not listed
    suspect: np.ndarray | None = None


@dataclass
class EncodedColumn:
    """A column read dictionary-encoded: distinct cells (UTF-8 text) and, per row, their index."""

    dictionary: pa.Array
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def plain(self) -> pa.Array:
        return self.dictionary.take(pa.array(self.indices))


def regex_matches(values: pa.Array, pattern: str, ignore_case: bool = False) -> np.ndarray:
    """Per value, whether the RE2 ``pattern`` matches it (searched, not anchored); null is False."""
    found = pc.match_substring_regex(values, pattern, ignore_case=ignore_case)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def dictionary_encode(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct values and, per row, the index of its value (one hash pass, no per-row Python)."""
    encoded = column.dictionary_encode()
    if isinstance(encoded, pa.DictionaryArray):
        return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.num_chunks == 0:
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int32)
    # Chunks of one dictionary_encode share the final dictionary; unify only if they do not.
    last = encoded.chunk(encoded.num_chunks - 1).dictionary
    if not all(chunk.dictionary.equals(last) for chunk in encoded.chunks):
        encoded = encoded.unify_dictionaries()
        last = encoded.chunk(0).dictionary
    indices = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    return last, indices
