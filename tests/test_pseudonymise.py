"""Tables of normal, edge and erroneous cases for cldstats.pseudonymise."""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cldstats.errors import CldstatsError
from cldstats.pseudonymise import (
    DEVELOPMENT_KEY_SOURCE,
    HASH_HEX_CHARS,
    KEY_ENV_VAR,
    PseudonymKey,
    assign_person_ids,
    keyed_hash,
    load_key,
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
# Person ID fallback (METHODOLOGY.md section 3)
# ---------------------------------------------------------------------------------------------

A, B, C = "9434765919", "4010232137", "1000000060"
# (NHS number, LA person ID, expected source, expected ID message or None, case)
PERSON_CASES = [
    (A, "P1", "NHS number", f"NHS:{A}", "rule 1: valid NHS number"),
    ("943 476 5919", "", "NHS number", f"NHS:{A}", "rule 1: spaces in the NHS number"),
    ("", "P1", "NHS number via LA ID", f"NHS:{A}", "rule 2: LA ID seen with one NHS number"),
    ("9434765918", "P1", "NHS number via LA ID", f"NHS:{A}", "rule 2: invalid NHS number, LA ID linked"),
    (A, "P1", "NHS number", f"NHS:{A}", "rule 2: the same NHS number twice is still one"),
    (B, "P2", "NHS number", f"NHS:{B}", "two NHS numbers for P2 (1)"),
    (C, "P2", "NHS number", f"NHS:{C}", "two NHS numbers for P2 (2)"),
    ("", "P2", "ambiguous", None, "rule 2: LA ID with two NHS numbers is ambiguous"),
    ("", "P3", "LA ID", "LA:E06000001:P3", "rule 3: LA ID only"),
    ("123", " P3 ", "LA ID", "LA:E06000001:P3", "rule 3: invalid NHS number, LA ID with spaces"),
    ("", "", "none", None, "rule 4: neither"),
    (None, None, "none", None, "rule 4: both missing"),
    ("9434765918", "  ", "none", None, "rule 4: invalid NHS number and blank LA ID"),
    ("0000000000", "P4", "LA ID", "LA:E06000001:P4", "placeholder NHS number: rule 3, not one shared person"),
    ("0000000000", "P5", "LA ID", "LA:E06000001:P5", "placeholder NHS number, another person"),
]


def test_person_id_rules_table():
    nhs = pd.Series([c[0] for c in PERSON_CASES], dtype=object, index=range(10, 10 + len(PERSON_CASES)))
    la_id = pd.Series([c[1] for c in PERSON_CASES], dtype=object, index=nhs.index)
    person_id, source = assign_person_ids(nhs, "E06000001", la_id, KEY)
    assert person_id.index.equals(nhs.index) and person_id.dtype == "string"
    assert list(source.categories) == ["NHS number", "NHS number via LA ID", "LA ID", "ambiguous", "none"]
    for (_value, _la, expected_source, message, case), got_id, got_source in zip(
        PERSON_CASES, person_id, source, strict=True
    ):
        assert got_source == expected_source, case
        if message is None:
            assert pd.isna(got_id), case
        else:
            assert got_id == reference_hash(message), case


def test_nhs_number_placeholders_from_params_are_invalid():
    values = pd.Series(["4010232137", "401 023 2137", "9434765919"])
    assert nhs_number_valid(values).tolist() == [True, True, True]
    assert nhs_number_valid(values, placeholders=["4010232137"]).tolist() == [False, False, True]
    assert nhs_number_valid(values, placeholders=[4010232137, " 943 476 5919 "]).tolist() == [False, False, False]


def test_listed_placeholder_falls_back_to_the_la_id():
    """30 people on a listed placeholder number stay 30 people (rule 3), not one."""
    nhs = pd.Series(["4010232137"] * 30 + [A])
    la_id = pd.Series([f"P{i}" for i in range(30)] + ["P99"])
    person_id, source = assign_person_ids(nhs, "E06000001", la_id, KEY)
    assert person_id[:30].nunique() == 1  # without the list: one person
    person_id, source = assign_person_ids(nhs, "E06000001", la_id, KEY, placeholder_nhs_numbers=["4010232137"])
    assert person_id.nunique() == 31 and list(source[:30]) == ["LA ID"] * 30 and source[30] == "NHS number"
    assert person_id[0] == reference_hash("LA:E06000001:P0")


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


def test_person_id_la_rule_matches_la_person_identifier_hash():
    """Rule 3 gives exactly the hash ingest stores in LA_Person_Unique_Identifier."""
    person_id, _ = assign_person_ids(pd.Series([""]), "E06000001", pd.Series(["P9"]), KEY)
    assert person_id[0] == keyed_hash(pd.Series(["P9"]), KEY, prefix="LA:E06000001:")[0]


def test_person_id_with_per_row_la_codes():
    person_id, source = assign_person_ids(
        pd.Series(["", ""]), pd.Series(["E06000001", "E06000002"]), pd.Series(["P1", "P1"]), KEY
    )
    assert list(source) == ["LA ID", "LA ID"]
    assert person_id.tolist() == [reference_hash("LA:E06000001:P1"), reference_hash("LA:E06000002:P1")]


def test_person_ids_of_an_empty_file():
    person_id, source = assign_person_ids(pd.Series([], dtype=object), "E06000001", pd.Series([], dtype=object), KEY)
    assert len(person_id) == 0 and len(source) == 0
