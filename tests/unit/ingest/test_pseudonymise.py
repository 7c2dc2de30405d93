"""Tables of normal, edge and erroneous cases for cldstats.ingest.pseudonymise."""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cldstats.core.errors import CldstatsError
from cldstats.ingest.pseudonymise import (
    DEVELOPMENT_KEY_SOURCE,
    HASH_HEX_CHARS,
    KEY_ENV_VAR,
    PseudonymKey,
    keyed_hash,
    keys_of_hashes,
    load_key,
    nhs_number_keys,
    nhs_number_valid,
    shared_nhs_number_rows,
)

KEY = PseudonymKey(b"test key", "environment")


def reference_hash(message: str, key: PseudonymKey = KEY) -> str:
    return hmac.new(key.key, message.encode("utf-8"), "sha256").hexdigest()[:HASH_HEX_CHARS]


# ---------------------------------------------------------------------------------------------
# NHS number check digit
# ---------------------------------------------------------------------------------------------

NHS_CASES = [
    ("9434765919", True, "valid"),
    ("4010232137", True, "valid"),
    ("1000000060", True, "check 11 -> 0"),
    ("0000000000", False, "placeholder: ten equal digits (the check digit is right)"),
    ("1111111111", False, "placeholder: ten ones"),
    ("999 999 9999", False, "placeholder: ten nines, with spaces"),
    ("943 476 5919", True, "spaces as printed on cards"),
    (" 9434765919 ", True, "surrounding spaces"),
    ("9434765918", False, "wrong check digit"),
    ("1000000010", False, "check value 10: never valid"),
    ("1000000011", False, "check value 10 with another final digit"),
    ("943476591", False, "9 digits"),
    ("94347659190", False, "11 digits"),
    ("943476591X", False, "letter"),
    ("ABCDEFGHIJ", False, "letters"),
    ("943-476-5919", False, "dashes are not spaces"),
    ("", False, "blank"),
    (None, False, "missing"),
    ("9434765919.0", False, "Excel float"),
]


@pytest.mark.parametrize(("value", "expected", "case"), NHS_CASES, ids=[c[2] for c in NHS_CASES])
def test_nhs_number_check_digit(value, expected, case):
    assert nhs_number_valid(pd.Series([value], dtype=object)).tolist() == [expected]


def test_nhs_number_valid_is_vectorised_over_a_series():
    values = pd.Series([c[0] for c in NHS_CASES], dtype=object, index=range(100, 100 + len(NHS_CASES)))
    result = nhs_number_valid(values)
    assert isinstance(result, np.ndarray) and result.dtype == bool
    assert result.tolist() == [c[1] for c in NHS_CASES]


def test_nhs_number_valid_accepts_integers_and_empty():
    assert nhs_number_valid(pd.Series([9434765919, 943476591])).tolist() == [True, False]
    assert nhs_number_valid(pd.Series([], dtype="string")).tolist() == []


# ---------------------------------------------------------------------------------------------
# Keyed hash
# ---------------------------------------------------------------------------------------------


def test_keyed_hash_is_hmac_sha256_of_prefix_and_value_truncated():
    hashed = keyed_hash(pd.Series(["9434765919", None, "9434765919", "x"]), KEY, prefix="NHS:")
    assert hashed.dtype == "string"
    assert hashed[0] == reference_hash("NHS:9434765919") and len(hashed[0]) == HASH_HEX_CHARS
    assert hashed[2] == hashed[0]
    assert pd.isna(hashed[1])
    assert hashed[3] == reference_hash("NHS:x")


def test_keyed_hash_depends_on_key_and_prefix_and_keeps_index():
    values = pd.Series(["P1"], index=[7])
    other_key = PseudonymKey(b"another key", "key file")
    assert keyed_hash(values, KEY, "LA:E06000001:")[7] != keyed_hash(values, other_key, "LA:E06000001:")[7]
    assert keyed_hash(values, KEY, "LA:E06000001:")[7] != keyed_hash(values, KEY, "LA:E06000002:")[7]
    assert keyed_hash(values, KEY).index.tolist() == [7]


def test_keyed_hash_long_key_and_unicode_match_hmac():
    long_key = PseudonymKey(b"k" * 200, "key file")  # longer than the SHA-256 block
    hashed = keyed_hash(pd.Series(["Zoë"]), long_key, prefix="LA:")
    assert hashed[0] == reference_hash("LA:Zoë", long_key)


def test_keyed_hash_of_empty_and_all_missing():
    assert keyed_hash(pd.Series([], dtype=object), KEY).tolist() == []
    assert keyed_hash(pd.Series([None, None]), KEY).isna().all()


def test_key_repr_hides_the_secret():
    assert "test key" not in repr(KEY) and "test key" not in str(KEY)
    with pytest.raises(CldstatsError):
        PseudonymKey(b"", "environment")


# ---------------------------------------------------------------------------------------------
# Key loading
# ---------------------------------------------------------------------------------------------


def test_load_key_prefers_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, "from-env")
    key_file = tmp_path / "key"
    key_file.write_bytes(b"from-file\n")
    key = load_key(key_file, synthetic=False)
    assert key.key == b"from-file" and key.source == "key file"


def test_load_key_from_environment(monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, "from-env")
    for key_file in (None, ""):
        key = load_key(key_file, synthetic=False)
        assert key.key == b"from-env" and key.source == "environment"


def test_development_key_only_for_synthetic_data(monkeypatch):
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    assert load_key(None, synthetic=True).source == DEVELOPMENT_KEY_SOURCE
    with pytest.raises(CldstatsError, match="no pseudonymisation key: set CLDSTATS_PSEUDO_KEY"):
        load_key(None, synthetic=False)
    monkeypatch.setenv(KEY_ENV_VAR, "   ")
    with pytest.raises(CldstatsError):
        load_key("", synthetic=False)


@pytest.mark.parametrize("content", [None, b"", b"  \n"], ids=["missing file", "empty", "whitespace"])
def test_bad_key_file_is_an_error(tmp_path, monkeypatch, content):
    monkeypatch.setenv(KEY_ENV_VAR, "from-env")  # a named key file is never silently skipped
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_bytes(content)
    with pytest.raises(CldstatsError, match="key file"):
        load_key(key_file, synthetic=True)


# ---------------------------------------------------------------------------------------------
# Person keys (the precedence between them is person_ids.sql's: test_person_keys.py)
# ---------------------------------------------------------------------------------------------

A, B, C = "9434765919", "4010232137", "1000000060"


def reference_key(message: str, key: PseudonymKey = KEY) -> int:
    """The first 8 bytes of HMAC-SHA256(key, message), big-endian signed."""
    return int.from_bytes(hmac.new(key.key, message.encode("utf-8"), "sha256").digest()[:8], "big", signed=True)


# (NHS number as sent, expected key message or None, case)
NHS_KEY_CASES = [
    (A, f"NHS:{A}", "valid"),
    ("943 476 5919", f"NHS:{A}", "spaces as printed on cards: the same key"),
    (f" {A}\t", f"NHS:{A}", "surrounding whitespace: the same key"),
    (B, f"NHS:{B}", "another valid number"),
    (C, f"NHS:{C}", "check 11 -> 0"),
    ("9434765918", None, "wrong check digit: no key"),
    ("0000000000", None, "placeholder, ten equal digits: no key"),
    ("999 999 9999", None, "placeholder with spaces: no key"),
    ("943476591", None, "9 digits: no key"),
    ("", None, "blank: no key"),
    (None, None, "missing: no key"),
]


def test_nhs_number_keys_table():
    keys = nhs_number_keys(pa.array([c[0] for c in NHS_KEY_CASES], type=pa.string()), KEY)
    assert keys.type == pa.int64()
    for (_, message, case), got in zip(NHS_KEY_CASES, keys.to_pylist(), strict=True):
        assert got == (reference_key(message) if message else None), case


def test_nhs_number_keys_of_a_listed_placeholder_are_missing():
    values = pa.array([B, "401 023 2137", A])
    assert nhs_number_keys(values, KEY).null_count == 0
    listed = nhs_number_keys(values, KEY, placeholders=["4010232137"])
    assert listed.to_pylist() == [None, None, reference_key(f"NHS:{A}")]


def test_nhs_number_keys_depend_on_the_key():
    other_key = PseudonymKey(b"another key", "key file")
    assert nhs_number_keys(pa.array([A]), KEY).to_pylist() != nhs_number_keys(pa.array([A]), other_key).to_pylist()


def test_nhs_number_keys_of_no_values():
    assert nhs_number_keys(pa.array([], type=pa.string()), KEY).to_pylist() == []
    assert nhs_number_keys(pa.array([None, "x"], type=pa.string()), KEY).to_pylist() == [None, None]


def test_keys_of_hashes_read_the_first_8_bytes_big_endian_signed():
    hashes = keyed_hash(pd.Series(["P1", None, "P2"]), KEY, prefix="LA:E06000001:")
    keys = keys_of_hashes(pa.array(hashes.array))
    assert keys.to_pylist() == [reference_key("LA:E06000001:P1"), None, reference_key("LA:E06000001:P2")]
    assert keys_of_hashes(pa.array(["7fffffffffffffff" + "0" * 16, "8000000000000000" + "f" * 16])).to_pylist() == [
        2**63 - 1, -(2**63)]
    chunked = pa.chunked_array([["0000000000000001" + "0" * 16], [None]], type=pa.string())
    assert keys_of_hashes(chunked).to_pylist() == [1, None]
    assert keys_of_hashes(pa.array([], type=pa.string())).to_pylist() == []


def test_keys_of_hashes_refuses_a_short_hash():
    with pytest.raises(ValueError, match="shorter than 16 hex characters"):
        keys_of_hashes(pa.array(["abc"]))


def test_nhs_number_placeholders_from_params_are_invalid():
    values = pd.Series(["4010232137", "401 023 2137", "9434765919"])
    assert nhs_number_valid(values).tolist() == [True, True, True]
    assert nhs_number_valid(values, placeholders=["4010232137"]).tolist() == [False, False, True]
    assert nhs_number_valid(values, placeholders=[4010232137, " 943 476 5919 "]).tolist() == [False, False, False]


SHARED_CASES = [
    # (NHS numbers, LA IDs, dates of birth, expected shared numbers, expected rows, case)
    ([A, A], ["P1", "P1"], ["1941-03-17", "1941-03-17"], 0, [False, False], "one person, one birth date"),
    ([A, A], ["P1", "P2"], ["1941-03-17", "1958-11-02"], 1, [True, True], "two birth months"),
    ([A, A], ["P1", "P1"], ["1941-03-17", "1941-04-17"], 1, [True, True], "one LA ID, two birth months"),
    ([A, A], ["P1", "P2"], ["1941-03-17", "1941-03-18"], 1, [True, True], "two LA IDs, two dates, one month"),
    ([A, A], ["P1", "P1"], ["1941-03-17", "1941-03-18"], 0, [False, False], "one LA ID, two days of one month"),
    ([A, A], ["P1", "P2"], ["1941-03-17", None], 0, [False, False], "an unknown birth date says nothing"),
    (["0000000000"] * 2, ["P1", "P2"], ["1941-03-17", "1958-11-02"], 0, [False, False], "placeholder: invalid"),
    ([A, B, A], ["", "", ""], ["1941-03-17", "1958-11-02", "1960-01-01"], 1, [True, False, True], "no LA IDs"),
]


@pytest.mark.parametrize(
    ("numbers", "la_ids", "births", "shared", "rows", "case"), SHARED_CASES, ids=[c[5] for c in SHARED_CASES]
)
def test_shared_nhs_number_rows(numbers, la_ids, births, shared, rows, case):
    nhs = pa.array(numbers).dictionary_encode()
    la = pa.array(la_ids).dictionary_encode()
    dates = np.array([np.datetime64(b) if b else np.datetime64("NaT") for b in births], dtype="datetime64[s]")
    got_shared, got_rows = shared_nhs_number_rows(
        nhs.dictionary, nhs.indices.to_numpy(), la.dictionary, la.indices.to_numpy(), dates
    )
    assert (got_shared, got_rows.tolist()) == (shared, rows), case
