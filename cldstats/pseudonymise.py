"""Pseudonymisation at ingest: the HMAC key, NHS number check digits, keyed hashes, person IDs.

Every person identifier that leaves :mod:`cldstats.ingest` is a keyed hash (HMAC-SHA256), never a
clear value (METHODOLOGY.md section 3). The key is a secret of the producing team: with it, the
same person gets the same ID in every file and every run; without it, an ID cannot be reversed by
hashing candidate NHS numbers (a plain SHA-256 of a 10-digit number could be brute-forced in
minutes, which is why the hash is keyed).

Hashes are truncated to 32 hex characters (128 bits). Among even 100 million distinct IDs the chance
of any collision is about 1e-23, and the shorter strings halve the memory of the ID columns.

Examples
--------
>>> key = PseudonymKey(b"secret", "environment")
>>> key
PseudonymKey(source='environment')
>>> nhs_number_valid(pd.Series(["943 476 5919", "9434765918", "0000000000", None])).tolist()
[True, False, False, False]
>>> ids = keyed_hash(pd.Series(["a", "b", "a", None]), key, prefix="LA:E06000001:")
>>> ids[0] == ids[2], ids[0] != ids[1], ids.isna().tolist()[3], len(ids[0])
(True, True, True, 32)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.errors import CldstatsError

__all__ = [
    "DEVELOPMENT_KEY_SOURCE",
    "HASH_HEX_CHARS",
    "KEY_ENV_VAR",
    "PERSON_ID_SOURCES",
    "PseudonymKey",
    "assign_person_ids",
    "keyed_hash",
    "load_key",
    "normalise_nhs_number",
    "nhs_number_valid",
    "shared_nhs_number_rows",
]

KEY_ENV_VAR = "CLDSTATS_PSEUDO_KEY"
#: Hex characters kept of each HMAC-SHA256 digest (128 bits; see the module docstring).
HASH_HEX_CHARS = 32
DEVELOPMENT_KEY_SOURCE = "development key (synthetic data only)"
# Public on purpose: it protects nothing, and is accepted only for data marked synthetic.
_DEVELOPMENT_KEY = b"cldstats development key: synthetic data only, never real data"

#: Categories of ``person_id_source``, in METHODOLOGY.md section 3 rule order.
PERSON_ID_SOURCES = ("NHS number", "NHS number via LA ID", "LA ID", "ambiguous", "none")

_NO_KEY_MESSAGE = (
    "no pseudonymisation key: set CLDSTATS_PSEUDO_KEY or params pseudonymisation.key_file "
    "(the data folder has no synthetic.json saying \"synthetic\": true, so its data is treated as real and needs "
    "a secret key)"
)


@dataclass(frozen=True)
class PseudonymKey:
    """The HMAC key and where it came from.

    Attributes
    ----------
    key : bytes
        The secret; never shown by ``repr`` and never logged.
    source : str
        ``"environment"``, ``"key file"`` or ``"development key (synthetic data only)"``; the caller
        records it (manifest, QA report) so a release says which kind of key produced its IDs.
    """

    key: bytes = field(repr=False)
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or not self.key:
            raise CldstatsError("pseudonymisation key must be non-empty bytes")


def load_key(key_file: str | Path | None, synthetic: bool) -> PseudonymKey:
    """Find the pseudonymisation key: key file, else environment, else (synthetic only) dev key.

    Parameters
    ----------
    key_file : str, Path or None
        Params ``pseudonymisation.key_file``; ``None`` or ``""`` when not set. When set, the file
        must exist and hold a non-empty key (surrounding whitespace, e.g. a final newline, is
        stripped).
    synthetic : bool
        True when the data folder is marked synthetic (:func:`cldstats.ingest.is_synthetic`); only
        then may the fixed development key be used.

    Returns
    -------
    PseudonymKey

    Raises
    ------
    CldstatsError
        Key file missing or empty, or no key at all for real data.
    """
    if key_file is not None and str(key_file).strip():
        path = Path(key_file)
        if not path.is_file():
            raise CldstatsError(f"pseudonymisation key file {path} does not exist")
        secret = path.read_bytes().strip()
        if not secret:
            raise CldstatsError(f"pseudonymisation key file {path} is empty")
        return PseudonymKey(secret, "key file")
    from_environment = os.environ.get(KEY_ENV_VAR, "").strip()
    if from_environment:
        return PseudonymKey(from_environment.encode("utf-8"), "environment")
    if synthetic:
        return PseudonymKey(_DEVELOPMENT_KEY, DEVELOPMENT_KEY_SOURCE)
    raise CldstatsError(_NO_KEY_MESSAGE)


def _as_arrow_text(values: pd.Series) -> pa.Array:
    """Values as one Arrow string array (no copy when they are already Arrow-backed strings)."""
    text = pa.array(values.astype(pd.StringDtype("pyarrow")))
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.cast(pa.string())


def _normalised_nhs_arrow(values: pd.Series) -> pa.Array:
    return _normalised_nhs_arrow_array(_as_arrow_text(values))


def _normalised_nhs_arrow_array(text: pa.Array) -> pa.Array:
    without_spaces = pc.replace_substring_regex(text, r"\s+", "")
    return pc.if_else(pc.equal(without_spaces, ""), pa.scalar(None, pa.string()), without_spaces)


def normalise_nhs_number(values: pd.Series) -> pd.Series:
    """NHS numbers as sent, with all whitespace removed (``"943 476 5919"`` -> ``"9434765919"``).

    Blank values become missing. The result is a ``string`` Series with the index of ``values``.
    """
    return pd.Series(
        pd.array(_normalised_nhs_arrow(values), dtype=pd.StringDtype("pyarrow")),
        index=values.index,
        dtype="string",
    )


def _placeholder_set(placeholders: Iterable[object]) -> pa.Array:
    """Listed placeholder NHS numbers, normalised as NHS numbers are (whitespace removed)."""
    normalised = {re.sub(r"\s+", "", str(value)) for value in placeholders}
    return pa.array(sorted(normalised - {""}), type=pa.string())


def _nhs_valid_arrow(text: pa.Array, placeholders: Iterable[object] = ()) -> np.ndarray:
    """Valid normalised NHS numbers (an Arrow string array), on a digit matrix.

    Valid: 10 digits, a correct check digit, not all ten digits the same and not listed in
    ``placeholders``. Every number of one repeated digit passes the modulus-11 check (the weighted
    sum is 54 times the digit, so the check digit is that digit again), and ``0000000000`` or
    ``9999999999`` is what a system types when the number is not known: all of them are invalid.
    """
    well_formed = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{10}$"), False)
    valid = np.zeros(len(text), dtype=bool)
    mask = well_formed.to_numpy(zero_copy_only=False)
    if not mask.any():
        return valid
    # Every kept value is exactly 10 ASCII digits, so the data buffer is an (n, 10) byte matrix.
    candidates = text.filter(well_formed)
    offsets = np.frombuffer(candidates.buffers()[1], dtype=np.int32)[
        candidates.offset : candidates.offset + len(candidates) + 1
    ]
    data = np.frombuffer(candidates.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    digits = data.reshape(-1, 10).astype(np.int64) - ord("0")
    weights = np.arange(10, 1, -1, dtype=np.int64)
    check = 11 - (digits[:, :9] @ weights) % 11
    check = np.where(check == 11, 0, check)  # 10 stays 10 and never equals a digit
    one_digit = (digits == digits[:, :1]).all(axis=1)
    valid[mask] = (check == digits[:, 9]) & ~one_digit
    listed = _placeholder_set(placeholders)
    if len(listed):
        valid &= ~pc.fill_null(pc.is_in(text, value_set=listed), False).to_numpy(zero_copy_only=False)
    return valid


def nhs_number_valid(values: pd.Series, placeholders: Iterable[object] = ()) -> np.ndarray:
    """Which values are valid NHS numbers: 10 digits with a correct modulus-11 check digit.

    Spaces anywhere are ignored (``943 476 5919``). The check digit is ``11 - (sum of the first nine
    digits weighted 10 down to 2) mod 11``; a result of 11 means 0, and 10 means the number can never
    be valid. Placeholder numbers are invalid although their check digit is right: ten equal digits
    (``0000000000``, ``1111111111``...) and any number in ``placeholders``.

    Parameters
    ----------
    values : pandas.Series
        Any dtype; missing values are invalid.
    placeholders : iterable of str, optional
        Further placeholder numbers (params ``pseudonymisation.placeholder_nhs_numbers``); spaces in
        them are ignored.

    Returns
    -------
    numpy.ndarray of bool
        One flag per value, computed on a digit matrix (no per-row Python).

    Examples
    --------
    >>> nhs_number_valid(pd.Series(["9434765919", "943476591", "943476591X", "0000000000"])).tolist()
    [True, False, False, False]
    >>> nhs_number_valid(pd.Series(["9434765919", "4010232137"]), placeholders=["401 023 2137"]).tolist()
    [True, False]
    """
    return _nhs_valid_arrow(_normalised_nhs_arrow(values), placeholders)


def _keyed_states(secret: bytes, prefix: bytes = b"") -> tuple[object, object]:
    """The inner (already fed ``prefix``) and outer keyed SHA-256 states of HMAC (RFC 2104)."""
    block = hashlib.sha256().block_size
    padded = hashlib.sha256(secret).digest() if len(secret) > block else secret
    padded = padded.ljust(block, b"\0")
    inner_state = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    inner_state.update(prefix)
    outer_state = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    return inner_state, outer_state


def _hmac_hex(secret: bytes, messages: list[bytes]) -> list[str]:
    """Truncated hex HMAC-SHA256 of each message.

    HMAC is ``H((K ^ opad) + H((K ^ ipad) + m))`` (RFC 2104). The two keyed SHA-256 states are
    computed once and copied per message: about twice as fast as ``hmac.digest`` per call, which
    matters with a million distinct IDs. ``test_pseudonymise`` checks the result against ``hmac``.
    """
    hashed = _hmac_hex_array(secret, b"", messages)
    return hashed.to_pylist()


_HEX_BYTES = HASH_HEX_CHARS // 2


def _hmac_hex_array(secret: bytes, prefix: bytes, messages: list[bytes]) -> pa.StringArray:
    """Truncated hex HMAC-SHA256 of ``prefix + message`` for each message, as an Arrow array.

    The prefix is fed to the inner state once; each message then costs two state copies, two
    updates and two digests in C. The truncated digests are joined and turned to hex in one call,
    and the Arrow array is built on that buffer (fixed width: no Python string per value).
    """
    inner_state, outer_state = _keyed_states(secret, prefix)
    inner_copy, outer_copy = inner_state.copy, outer_state.copy
    digests = []
    append = digests.append
    for message in messages:
        inner = inner_copy()
        inner.update(message)
        outer = outer_copy()
        outer.update(inner.digest())
        append(outer.digest()[:_HEX_BYTES])
    n = len(digests)
    offsets = np.arange(0, (n + 1) * HASH_HEX_CHARS, HASH_HEX_CHARS, dtype=np.int32)
    data = b"".join(digests).hex().encode("ascii")
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _hash_distinct(key: PseudonymKey, prefix: str, values: pa.Array) -> pa.Array:
    """Keyed hashes of ``prefix + value`` for each value of an Arrow string array; nulls stay null."""
    if values.null_count:
        valid = values.is_valid()
        present = values.filter(valid)
    else:
        valid, present = None, values
    hashed = _hmac_hex_array(key.key, prefix.encode("utf-8"), present.cast(pa.binary()).to_pylist())
    if valid is None:
        return hashed
    positions = np.cumsum(valid.to_numpy(zero_copy_only=False)) - 1
    positions = pa.array(positions.astype(np.int32), mask=~valid.to_numpy(zero_copy_only=False))
    return hashed.take(positions)


def _string_series(values: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """An Arrow string array as a ``string`` Series (pyarrow storage)."""
    return pd.Series(pd.array(values, dtype=pd.StringDtype("pyarrow")), index=index, dtype="string")


def keyed_hash(values: pd.Series, key: PseudonymKey, prefix: str = "") -> pd.Series:
    """HMAC-SHA256 of ``prefix + value`` for every value, as 32 hex characters.

    Each distinct value is hashed once (national files have millions of rows but far fewer distinct
    IDs), then the hashes are spread back to the rows.

    Parameters
    ----------
    values : pandas.Series
        Values to hash, converted to text (UTF-8); missing values stay missing.
    key : PseudonymKey
    prefix : str
        Domain prefix (``"NHS:"``, ``"LA:E06000001:"``), so the same text in two roles never gets
        the same ID.

    Returns
    -------
    pandas.Series of ``string`` dtype, with the index of ``values``.
    """
    encoded = _as_arrow_text(values).dictionary_encode()
    hashed = _hash_distinct(key, prefix, encoded.dictionary)
    return _string_series(hashed.take(encoded.indices), index=values.index)


def _la_messages(la_code: str | pd.Series, la_person_id: pd.Series) -> pd.Series:
    """``la_code + ":" + la_person_id`` per row (the text after ``"LA:"`` in the LA ID hash)."""
    if isinstance(la_code, pd.Series):
        codes = la_code.astype("string").fillna("")
        codes.index = la_person_id.index
        return codes + ":" + la_person_id
    return la_code + ":" + la_person_id


def assign_person_ids(
    nhs_number: pd.Series,
    la_code: str | pd.Series,
    la_person_id: pd.Series,
    key: PseudonymKey,
    placeholder_nhs_numbers: Iterable[object] = (),
) -> tuple[pd.Series, pd.Categorical]:
    """Person IDs of one file by METHODOLOGY.md section 3, rules 1 to 4.

    1. a valid NHS number (:func:`nhs_number_valid`: placeholders are not valid):
       ``hash("NHS:" + number)`` (source ``NHS number``);
    2. no valid NHS number, but the row's LA person ID appears on rows of the file with exactly one
       distinct valid NHS number: that number's ID (``NHS number via LA ID``); with two or more
       distinct valid NHS numbers the row is ``ambiguous`` and its ID missing;
    3. otherwise ``hash("LA:" + LA code + ":" + LA person ID)`` (``LA ID``), the same hash ingest
       puts in ``LA_Person_Unique_Identifier``;
    4. neither: missing ID (``none``).

    Parameters
    ----------
    nhs_number : pandas.Series
        NHS numbers as sent (spaces allowed, invalid or blank values allowed).
    la_code : str or pandas.Series
        The file's LA code (from the file name), or a per-row LA code when the name does not parse.
    la_person_id : pandas.Series
        LA Person Unique Identifier as sent; surrounding spaces are ignored, blank is missing.
    key : PseudonymKey
    placeholder_nhs_numbers : iterable of str, optional
        Placeholder numbers besides ten equal digits (params
        ``pseudonymisation.placeholder_nhs_numbers``): invalid, so their rows fall back to rules 2 to 4.

    Returns
    -------
    person_id : pandas.Series of ``string``
        Index of ``nhs_number``.
    source : pandas.Categorical
        Categories :data:`PERSON_ID_SOURCES`.
    """
    index = nhs_number.index
    nhs = _as_arrow_text(nhs_number).dictionary_encode()
    la_id = la_person_id.astype("string").str.strip()
    la_id = la_id.mask(la_id == "")
    la_encoded = _as_arrow_text(la_id).dictionary_encode()
    if isinstance(la_code, pd.Series):
        la_hashes = keyed_hash(_la_messages(la_code.reset_index(drop=True), la_id.reset_index(drop=True)), key, "LA:")
        la_hashes_per_row = pa.array(la_hashes.array)
    else:
        la_hashes_per_row = _hash_distinct(key, f"LA:{la_code}:", la_encoded.dictionary).take(la_encoded.indices)
    person_id, source_codes = _person_ids(
        nhs.dictionary,
        _indices(nhs),
        la_encoded.dictionary,
        _indices(la_encoded),
        la_hashes_per_row,
        key,
        placeholder_nhs_numbers,
    )
    source = pd.Categorical.from_codes(source_codes, dtype=_SOURCE_DTYPE, validate=False)
    return _string_series(person_id, index=index), source


_SOURCE_DTYPE = pd.CategoricalDtype(list(PERSON_ID_SOURCES))


def _indices(encoded: pa.DictionaryArray) -> np.ndarray:
    """Dictionary indices as int64, -1 where the value is missing."""
    return pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)


def _canonical_keys(values: pa.Array, usable: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Per value: the index of its text among the distinct usable texts (-1 if not usable)."""
    keys = np.full(len(values) + 1, -1, dtype=np.int64)  # the last slot serves index -1
    if not usable.any():
        return keys, pa.array([], type=pa.string())
    encoded = values.filter(pa.array(usable)).dictionary_encode()
    keys[:-1][usable] = encoded.indices.to_numpy(zero_copy_only=False)
    return keys, encoded.dictionary


def _valid_nhs_per_row(
    nhs_distinct: pa.Array, nhs_indices: np.ndarray, placeholders: Iterable[object]
) -> tuple[np.ndarray, pa.Array]:
    """Per row, the index of its valid NHS number among the distinct valid numbers (-1: none)."""
    normalised = _normalised_nhs_arrow_array(nhs_distinct)
    nhs_keys, nhs_values = _canonical_keys(normalised, _nhs_valid_arrow(normalised, placeholders))
    return nhs_keys[nhs_indices], nhs_values


def _la_ids_per_row(la_distinct: pa.Array, la_indices: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Per row, the index of its LA person ID among the distinct non-blank IDs (-1: none)."""
    la_usable = pc.fill_null(pc.not_equal(la_distinct, ""), False).to_numpy(zero_copy_only=False)
    la_keys, la_values = _canonical_keys(la_distinct, la_usable)
    return la_keys[la_indices], la_values


def _distinct_per_key(keys: np.ndarray, n_keys: int, codes: np.ndarray) -> np.ndarray:
    """For each key 0..n_keys-1, how many distinct non-negative integer ``codes`` its rows carry.

    Sorting the (key, code) pairs finds the distinct ones (``np.unique`` hashes, and was measured
    20 times slower than this on 80,000 rows).
    """
    if not len(keys):
        return np.zeros(n_keys, dtype=np.int64)
    n_codes = int(codes.max()) + 1
    pairs = np.sort(keys.astype(np.int64) * n_codes + codes)
    distinct = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    return np.bincount(distinct // n_codes, minlength=n_keys)


def shared_nhs_number_rows(
    nhs_distinct: pa.Array,
    nhs_indices: np.ndarray,
    la_distinct: pa.Array,
    la_indices: np.ndarray,
    birth_dates: np.ndarray,
    placeholders: Iterable[object] = (),
) -> tuple[int, np.ndarray]:
    """Rows whose valid NHS number seems to be shared by several people.

    A number is shared when its rows give two or more birth months (month and year), or two or
    more LA person IDs and two or more dates of birth. Rule 1 of :func:`assign_person_ids` reads
    all its rows as one person, so this is reported (an unlisted placeholder, or a typing error).

    Parameters
    ----------
    nhs_distinct, nhs_indices
        Distinct NHS numbers as sent and, per row, the index of its value (-1: missing).
    la_distinct, la_indices
        Distinct stripped LA person IDs (blank or null: none) and the per-row index.
    birth_dates : numpy.ndarray of datetime64
        Per row, the valid date of birth (NaT when blank or invalid).
    placeholders : iterable of str, optional
        As in :func:`nhs_number_valid`.

    Returns
    -------
    (numbers, rows)
        How many NHS numbers are shared, and a boolean mask of the rows carrying one.
    """
    nhs_row, nhs_values = _valid_nhs_per_row(nhs_distinct, nhs_indices, placeholders)
    la_row, _ = _la_ids_per_row(la_distinct, la_indices)
    birth = np.asarray(birth_dates).astype("datetime64[D]")
    known = (nhs_row >= 0) & ~np.isnat(birth)
    n_numbers = len(nhs_values)
    keys = nhs_row[known]
    days = birth[known].astype(np.int64)
    months = birth[known].astype("datetime64[M]").astype(np.int64)
    birth_months = _distinct_per_key(keys, n_numbers, months - (months.min() if len(months) else 0))
    birth_days = _distinct_per_key(keys, n_numbers, days - (days.min() if len(days) else 0))
    with_la = known & (la_row >= 0)
    la_ids = _distinct_per_key(nhs_row[with_la], n_numbers, la_row[with_la])
    shared = (birth_months >= 2) | ((la_ids >= 2) & (birth_days >= 2))
    rows = np.zeros(len(nhs_row), dtype=bool)
    rows[nhs_row >= 0] = shared[nhs_row[nhs_row >= 0]]
    return int(shared.sum()), rows


def _person_ids(
    nhs_distinct: pa.Array,
    nhs_indices: np.ndarray,
    la_distinct: pa.Array,
    la_indices: np.ndarray,
    la_hashes_per_row: pa.Array,
    key: PseudonymKey,
    placeholders: Iterable[object] = (),
) -> tuple[pa.Array, np.ndarray]:
    """Rules 1 to 4 of :func:`assign_person_ids` on distinct values.

    ``nhs_distinct`` holds NHS numbers as sent and ``la_distinct`` stripped LA person IDs (null or
    blank when missing), each with per-row indices (-1 for a missing row value);
    ``la_hashes_per_row`` is the LA ID hash of each row (rule 3). Values are compared after
    normalisation (NHS numbers without spaces), so two spellings of one number are one number.
    Returns the person ID per row (Arrow strings, null when none) and the source code per row
    (positions in :data:`PERSON_ID_SOURCES`).
    """
    n = len(nhs_indices)
    nhs_row, nhs_values = _valid_nhs_per_row(nhs_distinct, nhs_indices, placeholders)
    la_row, la_values = _la_ids_per_row(la_distinct, la_indices)
    valid_nhs = nhs_row >= 0
    has_la_id = la_row >= 0

    # Distinct valid NHS numbers per LA person ID, over the rows that carry both, and the first
    # of them in row order.
    both = valid_nhs & has_la_id
    n_la, n_nhs = len(la_values), len(nhs_values)
    nunique = np.zeros(n_la + 1, dtype=np.int64)
    first_nhs = np.full(n_la + 1, -1, dtype=np.int64)
    if both.any():
        la_both, nhs_both = la_row[both], nhs_row[both]
        pairs = np.unique(la_both * n_nhs + nhs_both)
        nunique[:n_la] = np.bincount(pairs // n_nhs, minlength=n_la)
        seen, first = np.unique(la_both, return_index=True)
        first_nhs[seen] = nhs_both[first]
    without_nhs = ~valid_nhs & has_la_id
    linked_count = np.where(without_nhs, nunique[la_row], 0)
    via_la = without_nhs & (linked_count == 1)
    ambiguous = without_nhs & (linked_count >= 2)
    la_only = without_nhs & ~via_la & ~ambiguous

    # NHS number to hash per row: its own (rule 1) or the one linked through its LA ID (rule 2).
    nhs_for_row = np.where(valid_nhs, nhs_row, -1)
    nhs_for_row[via_la] = first_nhs[la_row[via_la]]
    nhs_hashes = _hash_distinct(key, "NHS:", nhs_values)
    rows = np.arange(n, dtype=np.int64)
    take = np.where(nhs_for_row >= 0, nhs_for_row, np.where(la_only, n_nhs + rows, n_nhs + n))
    if isinstance(la_hashes_per_row, pa.ChunkedArray):
        la_hashes_per_row = la_hashes_per_row.combine_chunks()
    pool = pa.concat_arrays(
        [nhs_hashes, la_hashes_per_row.cast(pa.string()), pa.nulls(1, type=pa.string())]
    )
    person_id = pool.take(pa.array(take))

    source_codes = np.full(n, 4, dtype=np.int8)  # "none"
    source_codes[valid_nhs] = 0
    source_codes[via_la] = 1
    source_codes[la_only] = 2
    source_codes[ambiguous] = 3
    return person_id, source_codes
