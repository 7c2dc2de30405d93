"""Pseudonymisation at ingest: the HMAC key, NHS number check digits, keyed hashes, person keys.

Every person identifier that leaves :mod:`cldstats.ingest` is a keyed hash (HMAC-SHA256), never a
clear value (docs/methodology.md section 3). Ingest hands the method two person keys per row, the
NHS number's and the LA person ID's (:func:`nhs_number_keys`, :func:`keys_of_hashes`: 64-bit
integers); the person ID precedence between them is the method's SQL (``person_ids.sql``). The key
is a secret of the producing team: with it, the same person gets the same ID in every file and every
run; without it, an ID cannot be reversed by hashing candidate NHS numbers (a plain SHA-256 of a
10-digit number could be brute-forced in minutes, which is why the hash is keyed).

Hashes are truncated to 32 hex characters (128 bits). Among even 100 million distinct IDs the chance
of any collision is about 1e-23, and the shorter strings halve the memory of the ID columns. A
person key keeps the first 64 bits of its hash (see :func:`keys_of_hashes`).

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

from cldstats.core.errors import CldstatsError

__all__ = [
    "DEVELOPMENT_KEY_SOURCE",
    "HASH_HEX_CHARS",
    "KEY_ENV_VAR",
    "PseudonymKey",
    "as_arrow_text",
    "hash_distinct",
    "keyed_hash",
    "keys_of_hashes",
    "load_key",
    "normalise_nhs_number",
    "nhs_number_keys",
    "nhs_number_valid",
    "shared_nhs_number_rows",
    "string_series",
]

KEY_ENV_VAR = "CLDSTATS_PSEUDO_KEY"
#: Hex characters kept of each HMAC-SHA256 digest (128 bits; see the module docstring).
HASH_HEX_CHARS = 32
DEVELOPMENT_KEY_SOURCE = "development key (synthetic data only)"
# Public on purpose: it protects nothing, and is accepted only for data marked synthetic.
_DEVELOPMENT_KEY = b"cldstats development key: synthetic data only, never real data"

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


def as_arrow_text(values: pd.Series) -> pa.Array:
    """Values as one Arrow string array (no copy when they are already Arrow-backed strings).

    What is hashed is this text: ingest hashes LA identifiers joined to their row's LA code with it.
    """
    text = pa.array(values.astype(pd.StringDtype("pyarrow")))
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.cast(pa.string())


def _normalised_nhs_arrow(values: pd.Series) -> pa.Array:
    return _normalised_nhs_arrow_array(as_arrow_text(values))


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


def hash_distinct(key: PseudonymKey, prefix: str, values: pa.Array) -> pa.Array:
    """Keyed hashes of ``prefix + value`` for each value of an Arrow string array; nulls stay null.

    Every value is hashed, so call it on distinct values (a column's dictionary) and spread the
    hashes to the rows with ``take``, as :func:`keyed_hash` does.
    """
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


def string_series(values: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """An Arrow string array as a ``string`` Series (pyarrow storage), as hashes reach ``records``."""
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
    encoded = as_arrow_text(values).dictionary_encode()
    hashed = hash_distinct(key, prefix, encoded.dictionary)
    return string_series(hashed.take(encoded.indices), index=values.index)


#: Bytes of a keyed hash that make a person key (the 64-bit integers the method's SQL joins on).
PERSON_KEY_BYTES = 8


def keys_of_hashes(hashes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Person keys of hex hashes: the first 8 bytes of each, read as a big-endian signed int64.

    The method's SQL (``person_ids.sql``) joins on these 64-bit integers rather than on 32-character
    text. Two people of one file share a key with a chance of about 1 in 10^9 (per million people).
    Call it on distinct hashes: the conversion is one ``bytes.fromhex`` over all of them.

    Parameters
    ----------
    hashes : pyarrow.Array of str
        Hex digests of :func:`keyed_hash` (at least 16 hex characters each); nulls stay null.

    Returns
    -------
    pyarrow.Array of int64

    Examples
    --------
    >>> keys_of_hashes(pa.array(["00000000000000ff" + "0" * 16, None, "ffffffffffffffff" + "0" * 16])).to_pylist()
    [255, None, -1]
    """
    if isinstance(hashes, pa.ChunkedArray):
        hashes = hashes.combine_chunks()
    hashes = hashes.cast(pa.string())
    present = hashes.drop_null()
    leading = pc.utf8_slice_codeunits(present, 0, 2 * PERSON_KEY_BYTES)
    if len(leading) and pc.min(pc.binary_length(leading)).as_py() < 2 * PERSON_KEY_BYTES:
        raise ValueError(f"a hash shorter than {2 * PERSON_KEY_BYTES} hex characters has no person key")
    # Every value is now exactly 16 hex characters: the data buffer is their concatenation.
    offsets = np.frombuffer(leading.buffers()[1], dtype=np.int32)[leading.offset : leading.offset + len(leading) + 1]
    hex_text = np.frombuffer(leading.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].tobytes().decode("ascii")
    keys = pa.array(np.frombuffer(bytes.fromhex(hex_text), dtype=">i8").astype(np.int64))
    if not hashes.null_count:
        return keys
    valid = hashes.is_valid().to_numpy(zero_copy_only=False)
    positions = np.cumsum(valid) - 1
    return keys.take(pa.array(positions.astype(np.int32), mask=~valid))


def nhs_number_keys(nhs_distinct: pa.Array, key: PseudonymKey, placeholders: Iterable[object] = ()) -> pa.Array:
    """Person keys of NHS numbers: ``hash("NHS:" + number)`` of each valid one, null otherwise.

    Parameters
    ----------
    nhs_distinct : pyarrow.Array of str
        NHS numbers as sent (distinct values; nulls and invalid values allowed). Numbers are
        normalised first (:func:`normalise_nhs_number`), so two spellings of one number
        (``943 476 5919``, ``9434765919``) get one key, hashed once.
    key : PseudonymKey
    placeholders : iterable of str, optional
        As in :func:`nhs_number_valid`: a placeholder number has no key.

    Returns
    -------
    pyarrow.Array of int64
        One key per value of ``nhs_distinct`` (:func:`keys_of_hashes`).
    """
    normalised = _normalised_nhs_arrow_array(nhs_distinct)
    number_of_value, numbers = _canonical_keys(normalised, _nhs_valid_arrow(normalised, placeholders))
    keys = keys_of_hashes(hash_distinct(key, "NHS:", numbers))
    position = number_of_value[:-1]
    return keys.take(pa.array(position.astype(np.int32), mask=position < 0))


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
    more LA person IDs and two or more dates of birth. Rule 1 of the person ID (``person_ids.sql``) reads
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
