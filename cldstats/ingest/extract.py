"""NHS England's pseudonymised national table as input: every (council, ``ImportDate``) one submission.

The national table (layout in ``cldstats/data/national_extract.yaml``) stacks every submission of
every council, with the clear identifiers replaced centrally: NHS number pseudonyms (submitted and
traced) instead of the NHS number, birth year and month instead of the date of birth, postcode
geography instead of the postcode, no names. :func:`split_extract` reads one or more exports (CSV
or Parquet, with pyarrow, column-wise) into :class:`ExtractPart`\\ s, one per submission, refusing
an export that carries a clear personal column and one whose council the crosswalk
(:mod:`cldstats.reference.crosswalk`) cannot match; :func:`read_part` turns a part into the same
:class:`~cldstats.ingest.reader.Submission` a council file gives, through the same steps
(:func:`~cldstats.ingest.records.build_records`), so that validation, the store and the method's
SQL treat both alike:

* the cells are rebuilt as a council file holds them: spec fields by name (case and underscores
  ignored; Release 1-era ``Der_*_Pseudo`` names as aliases), ISO or typed dates written
  ``d/m/yyyy``, the literal ``NULL`` read as blank, ``LA Code`` the council's GSS code and
  ``Date of Birth`` the 1st of the birth month (so age is as for files);
* the checks that need clear identifiers are replaced by their pseudonymised equivalents (the
  status of the cell, :data:`REPLACED_CHECKS`): ``NHS Number`` is valid when an NHS number
  pseudonym is present and shaped as one, ``Postcode`` when centrally derived postcode geography is
  present, ``First Name`` and ``Last Name`` (not in the table) are not checked, ``Date of Birth``
  is checked as birth year and month; the header and encoding checks do not apply;
* the two person keys come from the pseudonyms with the precedence of params
  ``extract.person_id_precedence`` (:func:`person_keys`; docs/methodology.md section 3).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from cldstats.core.errors import CldstatsError
from cldstats.ingest.cells import RawTable
from cldstats.ingest.pseudonymise import PseudonymKey, hash_distinct, keys_of_hashes
from cldstats.ingest.reader import Submission
from cldstats.ingest.records import build_records
from cldstats.reference import crosswalk
from cldstats.reference.mappings import MappingTables
from cldstats.reference.params import EXTRACT_PERSON_ID_PRECEDENCES
from cldstats.reference.spec import ValueStatus, load_spec

__all__ = [
    "EXTRACT_MARK",
    "EXTRACT_SUFFIXES",
    "PRECEDENCES",
    "REPLACED_CHECKS",
    "ExtractPart",
    "is_extract_submission",
    "layout",
    "person_keys",
    "read_part",
    "split_extract",
]

#: Values of params ``extract.person_id_precedence`` (docs/methodology.md section 3).
PRECEDENCES = EXTRACT_PERSON_ID_PRECEDENCES
#: File suffixes read as an export of the national table.
EXTRACT_SUFFIXES = (".parquet", ".csv", ".csv.gz")
#: Separates a submission's name from the export it came from (``<GSS>_<time>.<ms>@<export>``).
EXTRACT_MARK = "@"
#: The checks of a council file that need clear identifiers, and what replaces each for the extract
#: (the council data quality report says so in these words).
REPLACED_CHECKS = {
    "NHS Number (10 digits, modulus-11 check digit)": "an NHS number pseudonym present and shaped as one "
    "(16 or more letters and digits)",
    "Date of Birth (a date d/m/yyyy, not in the future, a plausible age)": "birth year and month in range "
    "(month 1 to 12; a plausible age from the 1st of the birth month)",
    "Postcode (a UK postcode)": "postcode geography derived centrally (Der_Postcode_*) present",
    "First Name, Last Name (given)": "not in the table: not checked",
    "header labels, encoding, file name": "not applicable: columns matched by name, ignoring case and underscores",
}
_PSEUDONYM_SHAPE = r"^[0-9A-Za-z]{16,}$"


@functools.cache
def layout() -> dict:
    """``cldstats/data/national_extract.yaml``: the columns of the national table cldstats reads."""
    text = resources.files("cldstats").joinpath("data", "national_extract.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


def is_extract_submission(file_name: str) -> bool:
    """True for the name of a submission read from the national table (``<GSS>_<time>@<export>``)."""
    return EXTRACT_MARK in str(file_name)


@dataclass
class ExtractPart:
    """One submission of an export: the rows of one (council, ``ImportDate``), not yet read.

    Attributes
    ----------
    source : Path
        The export file.
    name : str
        ``<GSS code>_<YYYYMMDDTHHMMSS>.<ms>@<export file name>``: the submission's name in every output.
    la_code : str
        The council's GSS code (crosswalk).
    la_code_legacy, la_name : str
        ``LA_Code`` and ``LA_Name`` as the table holds them ("" when missing).
    submitted_at : datetime
        ``ImportDate`` (milliseconds kept).
    table : pyarrow.Table
        The submission's rows in record order, columns named by their canonical names.
    sha256 : str
        Digest of the rows (their Arrow IPC bytes): the same rows are the same submission in the store.
    """

    source: Path
    name: str
    la_code: str
    la_code_legacy: str
    la_name: str
    submitted_at: dt.datetime
    table: pa.Table
    sha256: str

    @property
    def rows(self) -> int:
        return self.table.num_rows


# ---------------------------------------------------------------------------------------------
# Reading exports
# ---------------------------------------------------------------------------------------------
def _canonical_names() -> dict[str, str]:
    """Normalised column name -> canonical name (spec fields, metadata, pseudonyms, aliases)."""
    lay = layout()
    names = [f.name for f in load_spec().fields]
    names += [lay[k] for k in ("council_code", "council_name", "import_date", "nhs_number_traced_pseudonym",
                               "nhs_number_pseudonym", "birth_year", "birth_month")]
    names += lay["record_order"] + lay["postcode_derived"]
    canonical = {_norm(name): name for name in names}
    canonical.update({_norm(alias): alias for alias in lay["aliases"]})
    return canonical


def _read_table(path: Path) -> pa.Table:
    """An export as an Arrow table: Parquet as typed; CSV with every column as text."""
    if not path.is_file():
        raise CldstatsError(f"{path}: national extract not found")
    try:
        if path.name.lower().endswith(".parquet"):
            return pq.read_table(path)
        names = pacsv.open_csv(path).schema.names  # the header: every column is then read as text
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CldstatsError(f"{path}: cannot be read as a national extract ({str(exc).splitlines()[0]})") from None


def _refuse_personal_columns(path: Path, names: Sequence[str]) -> None:
    refused = {_norm(c): c for c in layout()["refused_columns"]}
    for name in names:
        if _norm(name) in refused:
            raise CldstatsError(f"{path}: column '{name}' holds clear personal data ({refused[_norm(name)]}); the "
                                "national extract must be pseudonymised: refused, nothing read")


def _canonical_table(path: Path, table: pa.Table) -> pa.Table:
    """The export's columns renamed to canonical names (unknown ones dropped, aliases merged)."""
    _refuse_personal_columns(path, table.column_names)
    canonical = _canonical_names()
    columns: dict[str, pa.ChunkedArray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        target = canonical.get(_norm(name))
        if target is None:
            continue
        target = layout()["aliases"].get(target, target)
        columns[target] = column if target not in columns else pc.coalesce(columns[target], column)
    lay = layout()
    for required in (lay["council_code"], lay["council_name"], lay["import_date"]):
        if required not in columns:
            raise CldstatsError(f"{path}: column '{required}' missing: it names each row's submission")
    return pa.table(columns)


def _text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """A column as stripped text, blank and the literal NULL as null."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    text = column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) else pc.cast(
        column, pa.string())
    text = pc.utf8_trim_whitespace(text.cast(pa.string()))
    blank = pc.or_(pc.equal(text, ""), pc.equal(text, layout()["null_text"]))
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), text)


def _import_dates(path: Path, column: pa.ChunkedArray) -> pd.Series:
    """``ImportDate`` per row as pandas datetimes (ms), parsed once per distinct value."""
    if pa.types.is_timestamp(column.type):
        return pd.Series(column.cast(pa.timestamp("ms")).to_pandas())
    encoded = _text(column).combine_chunks().dictionary_encode()
    parsed = pd.to_datetime(pd.Series(encoded.dictionary.to_pylist(), dtype="object"), errors="coerce",
                            format="mixed")
    if parsed.isna().any():
        bad = encoded.dictionary.to_pylist()[int(np.flatnonzero(parsed.isna().to_numpy())[0])]
        raise CldstatsError(f"{path}: column 'ImportDate' holds {bad!r}, not a date and time")
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.indices.null_count:
        raise CldstatsError(f"{path}: column 'ImportDate' is blank on {encoded.indices.null_count:,} rows")
    return pd.Series(parsed.to_numpy()[indices]).dt.floor("ms")


def _councils(path: Path, table: pa.Table) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row, the index of its (LA_Code, LA_Name) pair; the pairs with their GSS codes.

    Raises
    ------
    CldstatsError
        One line naming the first pair the crosswalk cannot match, and the file.
    """
    lay = layout()
    codes = _text(table[lay["council_code"]]).to_pandas().astype("string")
    names = _text(table[lay["council_name"]]).to_pandas().astype("string")
    index, distinct = pd.factorize(codes.fillna("") + "\x1f" + names.fillna(""))
    frame = pd.Series(distinct, dtype="string").str.split("\x1f", n=1, expand=True)
    frame.columns = ["code", "name"]
    frame["gss"] = crosswalk.gss_for(frame["code"].replace("", pd.NA), frame["name"].replace("", pd.NA))
    unmatched = frame[frame["gss"].isna()]
    if len(unmatched):
        first = unmatched.iloc[0]
        rows = int((index == unmatched.index[0]).sum())
        raise CldstatsError(f"{path}: council LA_Code {first['code'] or '(blank)'!r}, LA_Name "
                            f"{first['name'] or '(blank)'!r} ({rows:,} rows) is not in the council crosswalk "
                            "(cldstats/data/council_crosswalk.csv)")
    return np.asarray(index), frame


def _record_order(table: pa.Table) -> np.ndarray | None:
    for name in layout()["record_order"]:
        if name in table.column_names:
            values = pd.to_numeric(_text(table[name]).to_pandas(), errors="coerce")
            return values.to_numpy(dtype="float64", na_value=np.inf)
    return None


def _digest(table: pa.Table) -> str:
    """SHA-256 of a submission's rows: its columns (in name order) as Arrow IPC bytes."""
    # A compact copy: the IPC bytes of a slice would depend on where it sat in the national table.
    ordered = table.select(sorted(table.column_names)).take(pa.array(np.arange(table.num_rows))).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, ordered.schema) as writer:
        writer.write_table(ordered)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def split_extract(paths: Iterable[str | Path]) -> list[ExtractPart]:
    """Read exports of the national table into one :class:`ExtractPart` per (council, ``ImportDate``).

    Parameters
    ----------
    paths : iterable of path
        CSV (``.csv``, ``.csv.gz``) or Parquet exports; several are read as one stacked table.

    Returns
    -------
    list of ExtractPart
        By council, then ``ImportDate``.

    Raises
    ------
    CldstatsError
        One line naming the file (and column, or council): not found or unreadable, a clear personal
        column, a metadata column missing, a bad ``ImportDate``, a council not in the crosswalk, or
        one submission in two files.
    """
    parts: list[ExtractPart] = []
    seen: dict[tuple[str, dt.datetime], Path] = {}
    lay = layout()
    for path in (Path(p) for p in paths):
        table = _canonical_table(path, _read_table(path))
        council_of_row, councils = _councils(path, table)
        imported = _import_dates(path, table[lay["import_date"]])
        order = _record_order(table)
        stamp = imported.to_numpy(dtype="datetime64[ms]").astype(np.int64)
        keys = [np.arange(len(stamp))] + ([order] if order is not None else []) + [stamp, council_of_row]
        rows = np.lexsort(keys)
        group_keys = np.stack([council_of_row[rows], stamp[rows]], axis=1)
        starts = np.flatnonzero(np.r_[True, (group_keys[1:] != group_keys[:-1]).any(axis=1)])
        ends = np.r_[starts[1:], len(rows)]
        # One take of the whole table in submission order, then zero-copy slices: a take per
        # submission over a chunked national table costs the whole table each time.
        ordered = table.take(pa.array(rows)).combine_chunks()
        for start, end in zip(starts, ends, strict=True):
            taken = ordered.slice(int(start), int(end - start))
            council = councils.iloc[int(council_of_row[rows[start]])]
            when = pd.Timestamp(int(stamp[rows[start]]), unit="ms").to_pydatetime()
            if (council["gss"], when) in seen:
                raise CldstatsError(f"{path}: the submission of {council['gss']} imported {when} is also in "
                                    f"{seen[(council['gss'], when)]}")
            seen[(council["gss"], when)] = path
            name = f"{council['gss']}_{when:%Y%m%dT%H%M%S}.{when.microsecond // 1000:03d}{EXTRACT_MARK}{path.name}"
            parts.append(ExtractPart(path, name, council["gss"], council["code"], council["name"], when, taken,
                                     _digest(taken)))
    return sorted(parts, key=lambda p: (p.la_code, p.submitted_at))


# ---------------------------------------------------------------------------------------------
# One submission
# ---------------------------------------------------------------------------------------------
def _date_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates as a council file writes them (``d/m/yyyy``): typed dates and ISO text converted; any
    other text kept as it is, so ingest checks it as it would a file's."""
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pc.strftime(column, format="%d/%m/%Y")
    text = _text(column)
    return pc.replace_substring_regex(text, r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00:00(?:\.0+)?)?$", r"\3/\2/\1")


def _birth_date_text(table: pa.Table, n: int) -> pa.Array:
    """``01/<month>/<year>`` from birth year and month (null when either is missing)."""
    lay = layout()
    if lay["birth_year"] not in table.column_names or lay["birth_month"] not in table.column_names:
        return pa.nulls(n, pa.string())
    year = _text(table[lay["birth_year"]])
    month = _text(table[lay["birth_month"]])
    month = pc.utf8_lpad(pc.replace_substring_regex(month, r"\.0+$", ""), 2, "0")
    year = pc.replace_substring_regex(year, r"\.0+$", "")
    return pc.binary_join_element_wise("01", month, year, "/")


def _raw_table(part: ExtractPart) -> RawTable:
    """The part's cells as a council file would hold them (see the module docstring)."""
    spec = load_spec()
    table, n = part.table, part.rows
    blank = pa.nulls(n, pa.string())
    header, columns = [], []
    for spec_field in spec.fields:
        name = spec_field.name
        if name == "LA_Code":
            column = pc.fill_null(blank, part.la_code)
        elif name == "Date_of_Birth":
            column = _birth_date_text(table, n)
        elif name in layout()["refused_columns"]:
            column = blank  # never in the table (refused otherwise); its status is replaced
        elif name in table.column_names:
            column = _date_text(table[name]) if spec_field.kind == "date" else _text(table[name])
        else:
            continue  # absent: missing_columns, as for a council file
        header.append(spec_field.label)
        columns.append(pc.fill_null(column, ""))  # a file's blank cell is "", never null
    return RawTable(header=header, columns=columns, row_numbers=np.arange(2, n + 2, dtype=np.int64),
                    encoding=None)


def _pseudonyms(table: pa.Table, column: str) -> pa.Array:
    if column not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return _text(table[column]).combine_chunks()


def person_keys(
    traced: pa.Array, submitted: pa.Array, la_person_key: np.ndarray, la_key_valid: np.ndarray,
    key: PseudonymKey, precedence: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The two person keys of a submission of the national table, by ``precedence``.

    ``person_ids.sql`` takes the NHS number key where there is one, else the LA person key; rows
    with an NHS number key never carry an LA person key here, so its linking rule (rule 2, within a
    council file) never applies to the extract:

    * ``dhsc`` (DHSC from February 2025): ``Der_NHS_Number_Traced_Pseudo``, else
      ``Der_NHS_Number_Pseudo``, else the council's LA person ID;
    * ``nhse`` (NHS England, 2024): ``Der_NHS_Number_Traced_Pseudo``, else the LA person ID
      unless that ID appears on a row with a traced pseudonym in the same submission (the row then
      has no person ID and is excluded); the submitted pseudonym is not used.

    Parameters
    ----------
    traced, submitted : pyarrow.Array of str
        The two NHS number pseudonyms per row (null when absent).
    la_person_key, la_key_valid : numpy.ndarray
        The LA person key per row (``hash("LA:" + GSS code + ":" + ID)``, as for files) and where it exists.
    key : PseudonymKey
    precedence : str
        One of :data:`PRECEDENCES`.

    Returns
    -------
    (nhs_key, nhs_valid, la_key, la_valid)
        int64 keys and their presence masks. The NHS number key is ``hash("NHSP:" + pseudonym)``:
        the pseudonym space is not the clear numbers' (``"NHS:"``).
    """
    if precedence not in PRECEDENCES:
        raise CldstatsError(f"extract.person_id_precedence must be one of {', '.join(PRECEDENCES)}, not {precedence!r}")
    chosen = pc.coalesce(traced, submitted) if precedence == "dhsc" else traced
    encoded = chosen.dictionary_encode()
    hashed = keys_of_hashes(hash_distinct(key, "NHSP:", encoded.dictionary))
    nhs = hashed.take(encoded.indices)
    nhs_valid = nhs.is_valid().to_numpy(zero_copy_only=False)
    nhs_key = pc.fill_null(nhs, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    la_valid = la_key_valid & ~nhs_valid
    if precedence == "nhse":
        with_traced = np.unique(la_person_key[la_key_valid & nhs_valid])
        la_valid &= ~np.isin(la_person_key, with_traced)
    return nhs_key, nhs_valid, np.where(la_valid, la_person_key, 0), la_valid


def _replace_identifier_statuses(status: pd.DataFrame, table: pa.Table) -> None:
    """The statuses of the clear-identifier fields, by their pseudonymised equivalents."""
    lay = layout()
    pseudonym = pc.coalesce(_pseudonyms(table, lay["nhs_number_traced_pseudonym"]),
                            _pseudonyms(table, lay["nhs_number_pseudonym"]))
    present = pseudonym.is_valid().to_numpy(zero_copy_only=False)
    shaped = pc.fill_null(pc.match_substring_regex(pseudonym, _PSEUDONYM_SHAPE), False).to_numpy(
        zero_copy_only=False)
    status["NHS_Number"] = np.where(present, np.where(shaped, ValueStatus.VALID, ValueStatus.INVALID),
                                    ValueStatus.BLANK).astype(status["NHS_Number"].dtype)
    geography = np.zeros(table.num_rows, dtype=bool)
    for name in lay["postcode_derived"]:
        if name in table.column_names:
            geography |= _text(table[name]).is_valid().to_numpy(zero_copy_only=False)
    status["Postcode"] = np.where(geography, ValueStatus.VALID, ValueStatus.BLANK).astype(status["Postcode"].dtype)
    for name in ("First_Name", "Last_Name"):
        status[name] = np.full(table.num_rows, ValueStatus.VALID, dtype=status[name].dtype)


def _key_series(values: np.ndarray, valid: np.ndarray) -> pd.Series:
    return pd.Series(pd.arrays.IntegerArray(values.astype(np.int64), ~valid))


def read_part(part: ExtractPart, key: PseudonymKey, placeholders: Iterable[object] = (), *,
              financial_assessment_prefix: str, precedence: str = "dhsc",
              mappings: MappingTables | None = None) -> Submission:
    """One submission of the national table as a :class:`~cldstats.ingest.reader.Submission`.

    Parameters
    ----------
    part : ExtractPart
    key : PseudonymKey
    placeholders : iterable of str, optional
        Params ``pseudonymisation.placeholder_nhs_numbers`` (the extract has no clear numbers: unused
        but for the shape of the call).
    financial_assessment_prefix : str
        Params ``method.financial_assessment_prefix``.
    precedence : str
        Params ``extract.person_id_precedence`` (:func:`person_keys`).
    mappings : cldstats.reference.mappings.MappingTables, optional
        The hand-maintained value mappings (params ``selection.mappings``), applied as for a file.

    Returns
    -------
    Submission
        ``file_name`` is :attr:`ExtractPart.name`, ``path`` the export, ``encoding`` None.
    """
    issues: list = []
    submission = Submission(part.source, part.name, part.la_code, part.submitted_at, sha256=part.sha256,
                            encoding=None, issues=issues)
    raw = _raw_table(part)
    submission.rows_read = part.rows
    records, status, invalid_values, seconds, release1_columns = build_records(
        raw, part.la_code, key, part.name, issues, tuple(str(p) for p in placeholders), financial_assessment_prefix,
        mappings,
    )
    lay = layout()
    la_key = records["la_person_key"]
    nhs_key, nhs_valid, la_values, la_valid = person_keys(
        _pseudonyms(part.table, lay["nhs_number_traced_pseudonym"]),
        _pseudonyms(part.table, lay["nhs_number_pseudonym"]),
        la_key.fillna(0).to_numpy(dtype=np.int64), la_key.notna().to_numpy(), key, precedence,
    )
    records["nhs_number_key"] = _key_series(nhs_key, nhs_valid)
    records["la_person_key"] = _key_series(la_values, la_valid)
    _replace_identifier_statuses(status, part.table)
    submission.records, submission.status, submission.invalid_values = records, status, invalid_values
    submission.release1_columns = release1_columns
    submission.timings["pseudonymise"] = seconds
    return submission
