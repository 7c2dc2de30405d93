"""Values against the spec (step 5 of :mod:`cldstats.ingest.reader`), and what of an invalid one may
be shown.

Each field's column is stripped and dictionary-encoded (:class:`Column`); each distinct value is
checked once against its field (code lists, LA codes, ``d/m/yyyy`` dates, numbers, NHS numbers,
postcodes, GP practice codes, CQC IDs; formula cells) and its status and typed value are spread
back to the rows. A code value neither release's list holds is looked up in the hand-maintained
mapping tables last (``mappings/``, :mod:`cldstats.reference.mappings`): found there, it reads as its
mapped value with status ``VALID_MAPPED``. An invalid value is shown as sent only when it cannot be
personal data, else by its shape (:func:`value_shape`, :func:`shown_distinct`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.ingest.cells import EncodedColumn, dictionary_encode, regex_matches
from cldstats.ingest.issues import count_noun
from cldstats.ingest.pseudonymise import nhs_number_valid
from cldstats.reference.lists import council_codes
from cldstats.reference.spec import Field, ValueStatus, load_spec
from cldstats.reference.vocabulary import Spelling, fold, load_vocabulary

# RE2 patterns (pyarrow.compute), applied to distinct values only.
_NUMBER = r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_INTEGER = r"^-?[0-9]+$"
_FORMULA_START = r"^[=+@-]"
_DMY_DATE = r"^(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
# Five digits: Excel serials 10000-99999 are 1927-05-18 to 2173-10-13, every plausible CLD date
# bar the oldest dates of birth; a time of day shows as a fraction.
_EXCEL_SERIAL = r"^[0-9]{5}(?:\.[0-9]+)?$"
_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"
_ODS_CODE = r"^[A-Z][0-9]{5}$"
_CQC_ID = r"^1-[0-9]+$"


@dataclass
class Column:
    """One field read from the file: distinct values, their statuses, and the row -> distinct map."""

    distinct: pa.Array  # stripped text of each distinct value as sent (may repeat after stripping)
    indices: np.ndarray  # per row, index into ``distinct``
    distinct_status: np.ndarray  # int8 per distinct value
    padded: np.ndarray | None = None  # per distinct value: had spaces around it as sent
    #: per distinct value of a code field: the mapping table row (``file:row``) that mapped it and the
    #: valid value it maps to, else None (both None when the field had no mapping)
    mapped_by: np.ndarray | None = None
    mapped_to: np.ndarray | None = None

    @property
    def status(self) -> np.ndarray:
        return self.distinct_status[self.indices]

    def usable(self) -> np.ndarray:
        """Per distinct value: one of :meth:`ValueStatus.usable` (read into the records)."""
        return np.isin(self.distinct_status, ValueStatus.usable())


def encode_column(column: pa.Array | pa.ChunkedArray) -> Column:
    """Strip, dictionary-encode, and mark blanks and formula-looking values.

    Values are encoded before stripping and stripped as distinct values (far fewer than cells).
    Values equal only after stripping are deliberately not merged: a code matched only after
    trimming spaces is a warning (docs/methodology.md section 3), so each keeps its own status.
    """
    if isinstance(column, EncodedColumn):
        raw_distinct, indices = column.dictionary, column.indices
    else:
        raw_distinct, indices = dictionary_encode(column)
    distinct = pc.utf8_trim_whitespace(raw_distinct)
    padded = pc.not_equal(distinct, raw_distinct).to_numpy(zero_copy_only=False)
    status = np.full(len(distinct), ValueStatus.INVALID, dtype=np.int8)
    status[pc.equal(distinct, "").to_numpy(zero_copy_only=False)] = ValueStatus.BLANK
    formula = regex_matches(distinct, _FORMULA_START) & ~regex_matches(distinct, _NUMBER)
    status[formula] = ValueStatus.FORMULA
    return Column(distinct, indices, status, padded)


def _check(column: Column, valid: np.ndarray, loose: np.ndarray | None = None) -> None:
    """Set VALID / VALID_LOOSE on distinct values that are neither blank nor formulas."""
    open_ = column.distinct_status == ValueStatus.INVALID
    if loose is not None:
        column.distinct_status[open_ & loose] = ValueStatus.VALID_LOOSE
    column.distinct_status[open_ & valid] = ValueStatus.VALID


_STATUS_OF_SPELLING = {
    Spelling.RELEASE2: ValueStatus.VALID,
    Spelling.FOLDED: ValueStatus.VALID_LOOSE,
    Spelling.RELEASE1: ValueStatus.VALID_RELEASE1,
    Spelling.RELEASE1_FOLDED: ValueStatus.VALID_RELEASE1_LOOSE,
    Spelling.RELEASE1_CASE: ValueStatus.VALID_RELEASE1_CASE,
}


def _type_code(spec_field: Field, column: Column,
               mapped: Mapping[str, tuple[int, str]] | None = None) -> pd.Categorical:
    """Canonical value of each cell of a code field, through the field's one vocabulary look-up.

    Each distinct value gets the status of how it matched (:class:`Spelling`): a Release 2
    spelling is VALID, a Release 1 spelling VALID_RELEASE1 (VALID_RELEASE1_CASE when it differs from
    the Release 2 spelling only in case), each ``_LOOSE`` when found only after folding or when it
    had spaces around it as sent; a variant is VALID_LOOSE. A value the vocabulary does not match is
    then looked up, folded, in ``mapped`` (the field's hand-maintained mappings,
    :meth:`cldstats.reference.mappings.MappingTables.for_field`): VALID_MAPPED there, with the
    mapping's row in :attr:`Column.mapped_by`. Anything else stays INVALID.
    """
    vocabulary = load_vocabulary()[spec_field.name]
    distinct = column.distinct.to_pylist()
    codes = np.full(len(distinct), -1, dtype=np.int16)
    matched = np.full(len(distinct), ValueStatus.INVALID, dtype=np.int8)
    mapped_by = np.full(len(distinct), None, dtype=object) if mapped else None
    for i, value in enumerate(distinct):
        hit = vocabulary.match(value)
        if hit is not None:
            codes[i], matched[i] = hit[0], _STATUS_OF_SPELLING[hit[1]]
        elif mapped and value and (by_hand := mapped.get(fold(value))) is not None:
            # after the release mapping, as DHSC applies its tables: only a value no release spells
            codes[i], matched[i], mapped_by[i] = by_hand[0], ValueStatus.VALID_MAPPED, by_hand[1]
    if column.padded is not None:
        # exact only once the surrounding spaces are trimmed: accepted with a warning
        matched[(matched == ValueStatus.VALID) & column.padded] = ValueStatus.VALID_LOOSE
        matched[(matched == ValueStatus.VALID_RELEASE1) & column.padded] = ValueStatus.VALID_RELEASE1_LOOSE
        # Release 1's capitalisation, padded: loose in either release's terms
        matched[(matched == ValueStatus.VALID_RELEASE1_CASE) & column.padded] = ValueStatus.VALID_LOOSE
    open_ = column.distinct_status == ValueStatus.INVALID
    column.distinct_status[open_] = matched[open_]
    if mapped_by is not None:
        mapped_by[column.distinct_status != ValueStatus.VALID_MAPPED] = None  # a formula stays a formula
        column.mapped_by = mapped_by
        column.mapped_to = np.where(mapped_by != None, np.array(spec_field.code_list, dtype=object)[codes],  # noqa: E711
                                    None)
    codes[~column.usable()] = -1
    # A cached dtype and validate=False: checking the categories again cost ~10 ms per file.
    return pd.Categorical.from_codes(codes[column.indices], dtype=_code_dtype(spec_field.code_list), validate=False)


@functools.cache
def _code_dtype(code_list: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of a code field (built once per code list)."""
    return pd.CategoricalDtype(list(code_list))


@functools.cache
def _council_codes() -> frozenset[str]:
    return frozenset(council_codes())


def _type_la_code(column: Column) -> pa.Array:
    upper = pc.utf8_upper(column.distinct)
    councils = pa.array(sorted(_council_codes()), type=pa.string())
    exact = pc.fill_null(pc.is_in(column.distinct, value_set=councils), False).to_numpy(zero_copy_only=False)
    loose = pc.fill_null(pc.is_in(upper, value_set=councils), False).to_numpy(zero_copy_only=False)
    if column.padded is not None:
        exact = exact & ~column.padded
    _check(column, exact, loose)
    # Loosely matched codes are kept in canonical (upper) case; unknown codes are kept for the
    # quality module's "LA code not one of the 153" and "not the file name's" checks: as sent when
    # they cannot be personal data, else by their shape (an NHS number typed here is "(10 digits)").
    invalid = column.distinct_status == ValueStatus.INVALID
    sent = column.distinct
    if invalid.any():
        sent = pc.if_else(pa.array(invalid), pa.array(shown_distinct(column, "LA_Code"), type=pa.string()), sent)
    keep = (column.distinct_status == ValueStatus.VALID) | invalid
    values = pc.if_else(pa.array(column.distinct_status == ValueStatus.VALID_LOOSE), upper, sent)
    return pc.if_else(pa.array(keep | (column.distinct_status == ValueStatus.VALID_LOOSE)), values, None)


def _type_date(column: Column) -> np.ndarray:
    """Per distinct value: datetime64[s] (NaT unless a valid d/m/yyyy date); sets statuses."""
    parts = pc.extract_regex(column.distinct, _DMY_DATE)
    shaped = parts.is_valid().to_numpy(zero_copy_only=False)
    shaped_mask = pa.array(shaped)

    def part(label: str) -> np.ndarray:
        # Values that did not match hold no digits: substitute "1" before the cast.
        digits = pc.if_else(shaped_mask, pc.struct_field(parts, label), "1")
        return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)

    day, month, year = part("day"), part("month"), part("year")
    plausible = shaped & (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1)
    month_start = (
        (np.where(plausible, year, 1970) - 1970).astype("timedelta64[Y]") + np.datetime64("1970", "Y")
    ).astype("datetime64[M]") + (np.where(plausible, month, 1) - 1).astype("timedelta64[M]")
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    valid = plausible & (day <= days_in_month)
    dates = month_start.astype("datetime64[D]") + (np.where(valid, day, 1) - 1).astype("timedelta64[D]")
    dates = dates.astype("datetime64[s]")
    dates[~valid] = np.datetime64("NaT")
    _check(column, valid)
    still_invalid = column.distinct_status == ValueStatus.INVALID
    column.distinct_status[still_invalid & regex_matches(column.distinct, _ISO_DATE)] = ValueStatus.INVALID_ISO_DATE
    column.distinct_status[still_invalid & regex_matches(column.distinct, _EXCEL_SERIAL)] = (
        ValueStatus.INVALID_EXCEL_SERIAL
    )
    dates[~column.usable()] = np.datetime64("NaT")
    return dates


def _type_number(column: Column, integer: bool) -> pd.api.extensions.ExtensionArray | np.ndarray:
    shaped = regex_matches(column.distinct, _INTEGER if integer else _NUMBER)
    values = np.full(len(column.distinct), np.nan)
    if shaped.any():
        values[shaped] = pc.cast(column.distinct.filter(pa.array(shaped)), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    valid = shaped & (np.abs(values) < 2**31 if integer else np.isfinite(values))
    _check(column, valid)
    values[~column.usable()] = np.nan
    return values


def type_field(spec_field: Field, column: Column, placeholders: tuple[str, ...] = (),
               mapped: Mapping[str, tuple[int, str]] | None = None) -> pd.Series | None:
    """Typed per-row values of one field (None for fields ingest does not type here).

    ``placeholders`` are the listed placeholder NHS numbers (invalid, as ten equal digits are);
    ``mapped`` the field's hand-maintained mappings of a code field (see :func:`_type_code`).
    """
    kind = spec_field.kind
    if kind == "code":
        return pd.Series(_type_code(spec_field, column, mapped))
    if kind == "la_code":
        distinct = _type_la_code(column)
        return pd.Series(pd.array(distinct.take(pa.array(column.indices)), dtype="string"))
    if kind == "date":
        return pd.Series(_type_date(column)[column.indices])
    if kind in ("number", "integer"):
        values = _type_number(column, kind == "integer")[column.indices]
        if kind == "integer":
            return pd.Series(pd.array(values, dtype="Float64").astype("Int32"))
        return pd.Series(values, dtype="float64")
    if kind == "nhs_number":
        valid = nhs_number_valid(pd.Series(pd.array(column.distinct, dtype="string")), placeholders)
        _check(column, valid)
        return None
    if kind == "postcode":
        _check(column, regex_matches(column.distinct, _POSTCODE, ignore_case=True))
        return None
    # ods_code, cqc_id, identifier, text: kept as stripped text, missing when blank or a formula
    if kind == "ods_code":
        _check(column, regex_matches(column.distinct, _ODS_CODE))
        return _kept_text(column, valid_only=True)
    if kind == "cqc_id":
        _check(column, regex_matches(column.distinct, _CQC_ID))
        return _kept_text(column, valid_only=True)
    _check(column, np.ones(len(column.distinct), dtype=bool))
    return _kept_text(column)


def _kept_text(column: Column, valid_only: bool = False) -> pd.Series:
    """Stripped text per row; missing when blank or a formula (or, if ``valid_only``, invalid).

    A GP practice code or CQC ID that is not of its format is not kept: it may be another
    column's (personal) value typed into the wrong cell.
    """
    if valid_only:
        keep = pa.array(column.usable())
    else:
        keep = pa.array(
            (column.distinct_status != ValueStatus.BLANK) & (column.distinct_status != ValueStatus.FORMULA)
        )
    distinct = pc.if_else(keep, column.distinct, pa.scalar(None, pa.string()))
    return pd.Series(pd.array(distinct.take(pa.array(column.indices)), dtype="string"))


def kept_distinct(column: Column) -> pa.Array:
    """Distinct stripped values, null when blank or a formula (what :func:`_kept_text` keeps)."""
    keep = (column.distinct_status != ValueStatus.BLANK) & (column.distinct_status != ValueStatus.FORMULA)
    return pc.if_else(pa.array(keep), column.distinct, pa.scalar(None, pa.string()))


def blank_column(n_rows: int) -> Column:
    """The column of a field missing from the file: one distinct value, blank, on every row."""
    return Column(
        pa.array([""], type=pa.string()),
        np.zeros(n_rows, dtype=np.int32),
        np.array([ValueStatus.BLANK], dtype=np.int8),
    )


# Shapes of values that may be personal data (checked on distinct invalid values only).
_POSTCODE_LIKE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"[0-9]{1,4}\s*[/.-]\s*[0-9]{1,2}\s*[/.-]\s*[0-9]{1,4}")
_DIGITS_LIKE = re.compile(r"^[0-9][0-9\s-]*$")
_WORDS_LIKE = re.compile(r"^[^\W\d_]+(?:[\s'.-]+[^\W\d_]+)*$")  # letters only: a name, or words
_GSS_CODE = re.compile(r"^[EWSN][0-9]{8}$", re.IGNORECASE)
#: difflib ratio from which an invalid value is a near miss of a code (``Femal``: 0.91).
_NEAR_MISS_RATIO = 0.88
#: At most this many letters and digits: too short to be a name, an ID or a date (``F``, ``N/A``, ``99``).
_SHORT_VALUE_MAX = 3


def value_shape(value: str) -> str:
    """What a value looks like, without the value: ``10 digits``, ``postcode-like``, ``text, 7 letters``."""
    if _POSTCODE_LIKE.match(value):
        return "postcode-like"
    if _DATE_LIKE.search(value):
        return "date-like"
    digits = sum(ch.isdigit() for ch in value)
    if _DIGITS_LIKE.match(value):
        return count_noun(digits, "digit")
    if _WORDS_LIKE.match(value):
        return f"text, {count_noun(sum(ch.isalpha() for ch in value), 'letter')}"
    return f"text, {count_noun(len(value), 'character')}"


def _shown_value(value: str, codes: tuple[str, ...], is_la_code: bool) -> str:
    """An invalid code value as the council report may show it: itself when it cannot be personal
    data, else its shape in brackets.

    Shown as sent: a near miss of one of ``codes`` (``Femal``, ``E0600001``), a GSS-shaped code in
    the LA code field, or a value of at most three letters and three digits that is not a word
    (``F``, ``N/A``, ``99``). Never: a postcode, date or digit string (NHS number, LA person ID),
    however near a code. Everything else (a name, a person ID) is shown as ``(text, 7 letters)``.
    """
    if _POSTCODE_LIKE.match(value) or _DATE_LIKE.search(value):
        return f"({value_shape(value)})"
    digits_only = _DIGITS_LIKE.match(value) is not None
    if not digits_only and difflib.get_close_matches(value.casefold(), codes, n=1, cutoff=_NEAR_MISS_RATIO):
        return value
    if is_la_code and _GSS_CODE.match(value):
        return value
    letters = sum(ch.isalpha() for ch in value)
    digits = sum(ch.isdigit() for ch in value)
    word = letters >= 2 and _WORDS_LIKE.match(value) is not None
    if letters <= _SHORT_VALUE_MAX and digits <= _SHORT_VALUE_MAX and len(value) <= 4 * _SHORT_VALUE_MAX and not word:
        return value
    return f"({value_shape(value)})"


@functools.cache
def _near_miss_codes(field_name: str) -> tuple[str, ...]:
    """Codes an invalid value of the field is compared with, case-folded (LA code: the councils)."""
    spec_field = load_spec().by_name[field_name]
    if spec_field.kind == "la_code":
        return tuple(sorted(code.casefold() for code in _council_codes()))
    return tuple(fold(code) for code in load_vocabulary()[field_name].spellings())


def shown_distinct(column: Column, field_name: str, status: ValueStatus = ValueStatus.INVALID) -> np.ndarray:
    """Per distinct value of a code or LA code field: :func:`_shown_value` of each one of ``status``
    (invalid by default; ``VALID_MAPPED`` for the values mapped by hand, as invalid as sent), None
    for the others."""
    codes = _near_miss_codes(field_name)
    is_la_code = field_name == "LA_Code"
    positions = np.flatnonzero(column.distinct_status == status)
    shown = np.full(len(column.distinct), None, dtype=object)
    shown[positions] = [
        _shown_value(value, codes, is_la_code) for value in column.distinct.take(pa.array(positions)).to_pylist()
    ]
    return shown
