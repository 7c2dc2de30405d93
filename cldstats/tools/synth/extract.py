"""The synthetic data in the layout of NHS England's pseudonymised national table (``cldstats synth --extract``).

:func:`write_extract` stacks every generated submission file (superseded ones included) into one
table, as NHS England's national table holds them (``cldstats/data/national_extract.yaml``), and
writes it as Parquet (typed dates, ``ImportDate`` as ``timestamp[ms]``) or CSV (ISO dates,
``yyyy-mm-dd hh:mm:ss.fff``). The same people, the same rows: only what central processing does is
simulated, column-wise with pyarrow:

* no First Name, Last Name, NHS Number, Date of Birth or Postcode; ``Der_Birth_Year`` and
  ``Der_Birth_Month`` from the date of birth, ``Der_Postcode_Sector`` from the postcode;
* ``Der_NHS_Number_Pseudo``: a pseudonym (64 upper-case hex characters, the same for a person in
  every council and file) of each valid submitted NHS number; ``Der_NHS_Number_Traced_Pseudo``:
  the same, and on a row without a valid number the pseudonym of the one valid number its LA person
  ID carries in the file (central tracing finding the person the council file links by its ID);
* ``LA_Person_Unique_Identifier`` and ``Adult_n_Linked_Person_ID`` as pseudonyms, stable within a
  council;
* ``LA_Code`` the council's legacy code (blank where none is known), ``LA_Name`` its CLD spelling
  (:mod:`cldstats.reference.crosswalk`), ``ImportDate`` the file's submission time plus
  milliseconds (unique per file), ``ImportFileId`` and ``Der_Unique_Record_ID`` in load order;
* dates that do not parse in a file (injected faults) are kept as text in CSV and blank in Parquet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cldstats.core.errors import CldstatsError
from cldstats.ingest.extract import layout
from cldstats.ingest.files import list_submissions, parse_file_name
from cldstats.ingest.pseudonymise import nhs_number_valid
from cldstats.reference import crosswalk
from cldstats.reference.spec import load_spec

__all__ = ["EXTRACT_FORMATS", "EXTRACT_NAME", "write_extract"]

#: Formats ``cldstats synth --extract`` writes.
EXTRACT_FORMATS = ("parquet", "csv")
#: File name of the synthetic national extract (beside ``synthetic.json``), without its suffix.
EXTRACT_NAME = "national_extract"
_NHS_SALT = b"cldstats synthetic NHS England pseudonym:"
_LA_SALT = b"cldstats synthetic LA pseudonym:"
_DMY = r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})$"


def _pseudonyms(values: pa.Array, salt: bytes) -> pa.Array:
    """64 upper-case hex characters per value (SHA-256 of salt + value), computed per distinct value."""
    encoded = values.dictionary_encode()
    digests = [hashlib.sha256(salt + value.encode("utf-8")).hexdigest().upper()
               for value in encoded.dictionary.to_pylist()]
    return pa.array(digests, type=pa.string()).take(encoded.indices)


def _blank_to_null(column: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _iso(column: pa.Array) -> pa.Array:
    """``d/m/yyyy`` -> ``yyyy-mm-dd`` text; other text unchanged."""
    padded = pc.replace_substring_regex(column, r"^(\d)/", r"0\1/")
    padded = pc.replace_substring_regex(padded, r"^(\d{2})/(\d)/", r"\1/0\2/")
    return pc.replace_substring_regex(padded, r"^(\d{2})/(\d{2})/(\d{4})$", r"\3-\2-\1")


def _typed_dates(iso_text: pa.Array) -> pa.Array:
    """ISO text as ``date32`` (parsed once per distinct value; text that is no date is null)."""
    encoded = iso_text.dictionary_encode()
    parsed = pd.to_datetime(pd.Series(encoded.dictionary.to_pylist(), dtype="object"), format="%Y-%m-%d",
                            errors="coerce")
    dates = pa.array(parsed.dt.date.where(parsed.notna(), None), type=pa.date32())
    return dates.take(encoded.indices)


def _traced(la_ids: pa.Array, submitted: pa.Array) -> pa.Array:
    """The submitted pseudonym, else that of the one valid number the row's LA ID carries in the file."""
    frame = pd.DataFrame({"la": la_ids.to_pandas(), "nhs": submitted.to_pandas()})
    known = frame.dropna()
    per_id = known.groupby("la")["nhs"].agg(["nunique", "first"])
    unique = per_id.loc[per_id["nunique"] == 1, "first"]
    traced = frame["nhs"].fillna(frame["la"].map(unique))
    return pa.array(traced.where(traced.notna(), None), type=pa.string())


def _file_table(path: Path, gss: str, fmt: str) -> pa.Table:
    """One council file in the national table's columns (without the load metadata)."""
    spec = load_spec()
    by_label = {f.label: f for f in spec.fields}
    names = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252")).schema.names
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252"),
                           convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                strings_can_be_null=False))
    cells = {by_label[n].name: _blank_to_null(table[n].combine_chunks()) for n in names if n in by_label}
    n = table.num_rows
    blank = pa.nulls(n, pa.string())
    lay = layout()
    out: dict[str, pa.Array] = {}
    nhs = cells.get("NHS_Number", blank)
    valid = nhs_number_valid(nhs.to_pandas())
    numbers = pc.replace_substring_regex(nhs, r"\s+", "")
    submitted = pc.if_else(pa.array(valid), _pseudonyms(pc.fill_null(numbers, ""), _NHS_SALT),
                           pa.scalar(None, pa.string()))
    la_ids = {}
    for name in ("LA_Person_Unique_Identifier", "Adult_1_Linked_Person_ID", "Adult_2_Linked_Person_ID",
                 "Adult_3_Linked_Person_ID"):
        if name in cells:
            ids = cells[name]
            pseudo = _pseudonyms(pc.fill_null(pc.binary_join_element_wise(gss, ids, ":"), ""), _LA_SALT)
            la_ids[name] = pc.if_else(ids.is_valid(), pseudo, pa.scalar(None, pa.string()))
    out[lay["nhs_number_traced_pseudonym"]] = _traced(la_ids.get("LA_Person_Unique_Identifier", blank), submitted)
    out[lay["nhs_number_pseudonym"]] = submitted
    birth = pc.extract_regex(cells.get("Date_of_Birth", blank), _DMY)
    out[lay["birth_year"]] = pc.cast(pc.struct_field(birth, "y"), pa.int16())
    out[lay["birth_month"]] = pc.cast(pc.struct_field(birth, "m"), pa.int8())
    postcode = cells.get("Postcode", blank)
    out["Der_Postcode_Sector"] = pc.utf8_upper(pc.replace_substring_regex(postcode, r"^(.*\S)\s*(\d)[A-Za-z]{2}$",
                                                                           r"\1 \2"))
    for spec_field in spec.fields:
        name = spec_field.name
        if name in lay["refused_columns"] or name == "LA_Code" or name not in cells:
            continue
        column = la_ids.get(name, cells[name])
        if spec_field.kind == "date":
            column = _iso(column)
            column = _typed_dates(column) if fmt == "parquet" else column
        out[name] = column
    return pa.table(out)


def _import_dates(files: list[Path]) -> list[dt.datetime]:
    """The file's submission time plus milliseconds from its name, unique over all files."""
    stamps, used = [], set()
    for path in files:
        _, submitted = parse_file_name(path.name)
        ms = int(hashlib.sha256(path.name.encode()).hexdigest()[:8], 16) % 1000
        when = submitted + dt.timedelta(milliseconds=ms)
        while when in used:
            when += dt.timedelta(milliseconds=1)
        used.add(when)
        stamps.append(when)
    return stamps


def write_extract(out: Path, fmt: str = "parquet") -> dict:
    """Write ``out/national_extract.<fmt>`` from the generated files in ``out/submissions/``.

    Parameters
    ----------
    out : Path
        A folder written by :func:`cldstats.tools.synth.generate`.
    fmt : str
        ``parquet`` or ``csv`` (:data:`EXTRACT_FORMATS`).

    Returns
    -------
    dict
        What ``synthetic.json`` records under ``national_extract`` (also written there).

    Raises
    ------
    CldstatsError
        An unknown format, or a folder without generated submissions.
    """
    if fmt not in EXTRACT_FORMATS:
        raise CldstatsError(f"--extract must be one of {', '.join(EXTRACT_FORMATS)}, not {fmt!r}")
    out = Path(out)
    meta_path = out / "synthetic.json"
    if not meta_path.is_file():
        raise CldstatsError(f"{out} has no synthetic.json: generate the synthetic data first")
    files = [p for p in list_submissions(out) if p.name.lower().endswith(".csv") and parse_file_name(p.name)[1]]
    if not files:
        raise CldstatsError(f"no generated submissions in {out / 'submissions'}")
    stamps = _import_dates(files)
    order = sorted(range(len(files)), key=lambda i: stamps[i])  # load order: by ImportDate
    codes, names = crosswalk.legacy_la_codes(), crosswalk.cld_names()
    lay = layout()
    tables, first_id = [], 1
    for file_id, i in enumerate(order, start=1):
        gss, _ = parse_file_name(files[i].name)
        table = _file_table(files[i], gss, fmt)
        n = table.num_rows
        meta_columns = {
            lay["council_code"]: pa.nulls(n, pa.string()) if not codes[gss] else pc.fill_null(
                pa.nulls(n, pa.string()), codes[gss]),
            lay["council_name"]: pc.fill_null(pa.nulls(n, pa.string()), names[gss]),
            lay["import_date"]: pa.array(np.full(n, np.datetime64(stamps[i], "ms")), type=pa.timestamp("ms")),
            "ImportFileId": pa.array(np.full(n, file_id, dtype=np.int32)),
            "Der_Unique_Record_ID": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        }
        first_id += n
        for position, (name, column) in enumerate(meta_columns.items()):
            table = table.add_column(position, name, column)
        tables.append(table)
    stacked = pa.concat_tables(tables, promote_options="default")
    path = out / f"{EXTRACT_NAME}.{fmt}"
    tmp = path.with_name(path.name + ".part")
    if fmt == "parquet":
        pq.write_table(stacked, tmp, compression="zstd")
    else:
        as_text = stacked.set_column(
            stacked.column_names.index(lay["import_date"]), lay["import_date"],
            pc.strftime(stacked[lay["import_date"]], format="%Y-%m-%d %H:%M:%S.%f").cast(pa.string()))
        as_text = as_text.set_column(as_text.column_names.index(lay["import_date"]), lay["import_date"],
                                     pc.utf8_slice_codeunits(as_text[lay["import_date"]], 0, 23))
        pacsv.write_csv(as_text, tmp)
    tmp.replace(path)
    record = {
        "file": path.name,
        "format": fmt,
        "rows": stacked.num_rows,
        "submissions": len(files),
        "layout": "cldstats/data/national_extract.yaml",
        "notes": [
            "every generated file stacked, superseded ones included; ImportDate = the file's submission time plus "
            "milliseconds from a hash of its name, unique over all files",
            "Der_NHS_Number_Pseudo: SHA-256 of a fixed salt and each valid NHS number (one per person nationally); "
            "Der_NHS_Number_Traced_Pseudo: the same, else the one valid number the row's LA ID carries in its file",
            "LA person and linked person IDs pseudonymised per council; no names, NHS numbers, dates of birth or "
            "postcodes",
            "LA_Code: the legacy code of cldstats/data/council_crosswalk.csv, blank where none is known (matched "
            "by LA_Name)",
            "Der_DBS_Check_Status, Der_Age_* and ONS deaths are not simulated",
        ],
    }
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["national_extract"] = record
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return record
