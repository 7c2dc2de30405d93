"""Hand-maintained mapping tables of invalid submitted code values to valid ones (``mappings/``).

DHSC maps the invalid values councils send to the specification through mapping tables it keeps
by hand and reviews every quarter (``Ethnicity_Raw -> Ethnicity_Cleaned``), after the release
mapping; a value no table maps stays invalid. cldstats reads the same kind of table from the
folder params ``selection.mappings`` names (default ``mappings/`` beside ``params/``; blank: none):
every ``*.csv`` file in it, each with the columns :data:`MAPPING_COLUMNS`::

    field,submitted_value,valid_value,reason
    Gender,Femail,Female,misspelling sent by two councils in 2025-26 Q3

``field`` is a code field by its internal name or its CSV label (``Event_Outcome`` or ``Event
Outcome``); ``submitted_value`` is matched as the vocabulary matches (:func:`cldstats.reference.vocabulary.fold`:
spaces collapsed and trimmed, case-folded); ``valid_value`` must be a canonical value of the field
(its Release 2 spelling, :attr:`cldstats.reference.vocabulary.FieldVocabulary.canonical`);
``reason`` says why, for the notes and the QA report. Lines whose first cell starts with ``#`` are
comments. Every table is checked when it is loaded: an unknown column or field, a blank cell, a
valid value that is not canonical, a submitted value the vocabulary already reads (the release
mapping comes first, so such a row would never be used) and a submitted value given twice for a
field stop the run with one line naming the file, the row and the field.

Ingest applies the tables to every code value the vocabulary does not match
(:func:`cldstats.ingest.values.type_field`): the cell reads as the valid value with its own status,
``ValueStatus.VALID_MAPPED``. What the tables hold shapes what the submission store keeps, so
their :attr:`MappingTables.digest` is part of the store's context (an empty folder adds nothing:
a store made without mappings stays valid).

Examples
--------
>>> tables = MappingTables.from_rows([("Gender", "Femail", "Female", "misspelling")])
>>> tables.for_field("Gender")
{'femail': (1, 'mappings.csv:2')}
>>> tables.for_field("Ethnicity")
{}
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cldstats.core.errors import CldstatsError
from cldstats.reference.params import default_params_dir
from cldstats.reference.spec import load_spec
from cldstats.reference.vocabulary import fold, load_vocabulary

__all__ = [
    "MAPPING_COLUMNS",
    "MappingError",
    "MappingTables",
    "ValueMapping",
    "load_mappings",
    "mappings_folder",
    "mappings_of_params",
]

#: The columns of every mapping table, in this order.
MAPPING_COLUMNS = ("field", "submitted_value", "valid_value", "reason")
#: Params key naming the folder of the tables.
PARAMS_KEY = ("selection", "mappings")
#: Longest cell accepted: a mapped value is a code value, a reason one line.
_MAX_CELL = 500


class MappingError(CldstatsError):
    """A mapping table is unreadable or breaks a rule (one line naming file, row and field)."""


@dataclass(frozen=True)
class ValueMapping:
    """One row of a mapping table.

    Attributes
    ----------
    field : str
        Internal field name (``Gender``), whichever of name or label the table gave.
    submitted_value, valid_value, reason : str
        As in the table (trimmed); ``valid_value`` is canonical.
    position : int
        Index of ``valid_value`` in the field's canonical values.
    source : str
        ``<file name>:<row>``, the row as a spreadsheet numbers it (the header is row 1).
    """

    field: str
    submitted_value: str
    valid_value: str
    reason: str
    position: int
    source: str


@dataclass(frozen=True)
class MappingTables:
    """Every mapping of a run: the rows, the files they came from and the digest of those files.

    Attributes
    ----------
    folder : str
        The folder as params named it (``""``: no folder).
    files : tuple of dict
        Per table, ``{"file", "sha256", "mappings"}`` (name, SHA-256 of its bytes, rows read).
    mappings : tuple of ValueMapping
    """

    folder: str = ""
    files: tuple[dict[str, Any], ...] = ()
    mappings: tuple[ValueMapping, ...] = ()
    _by_field: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_field: dict[str, dict[str, tuple[int, str]]] = {}
        for mapping in self.mappings:
            by_field.setdefault(mapping.field, {})[fold(mapping.submitted_value)] = (mapping.position, mapping.source)
        object.__setattr__(self, "_by_field", by_field)

    def __bool__(self) -> bool:
        return bool(self.mappings)

    def for_field(self, name: str) -> dict[str, tuple[int, str]]:
        """``fold(submitted value) -> (canonical position, source)`` of one field (empty when none)."""
        return self._by_field.get(name, {})

    @property
    def digest(self) -> str:
        """SHA-256 of the mappings themselves (field, folded value, valid value, source), ``""`` when
        there is none: what the submission store's context adds for them."""
        if not self.mappings:
            return ""
        text = "\n".join(f"{m.field}\t{fold(m.submitted_value)}\t{m.valid_value}\t{m.source}" for m in self.mappings)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def by_source(self) -> dict[str, ValueMapping]:
        """Each mapping by its ``source`` (``file:row``)."""
        return {m.source: m for m in self.mappings}

    def record(self) -> dict[str, Any]:
        """What the manifest keeps of the tables: the folder, each file with its digest and row count."""
        return {"folder": self.folder, "files": [dict(f) for f in self.files], "digest": self.digest}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, str]], file_name: str = "mappings.csv",
                  folder: str = "") -> MappingTables:
        """Tables from ``(field, submitted_value, valid_value, reason)`` rows, checked as a file's
        (rows numbered from 2, as under a header)."""
        return _checked([(file_name, number, list(row)) for number, row in enumerate(rows, start=2)],
                        folder=folder, files=())


def _field_names() -> dict[str, str]:
    """Internal name and CSV label of every code field -> internal name (labels compared case-folded)."""
    out: dict[str, str] = {}
    for spec_field in load_spec().fields:
        if spec_field.is_code:
            out[spec_field.name.casefold()] = spec_field.name
            out[spec_field.label.casefold()] = spec_field.name
    return out


def _checked(rows: list[tuple[str, int, list[str]]], *, folder: str,
             files: tuple[dict[str, Any], ...]) -> MappingTables:
    """The rows checked (module docstring) into :class:`MappingTables`."""
    names = _field_names()
    vocabulary = load_vocabulary()
    seen: dict[tuple[str, str], str] = {}
    mappings = []
    for file_name, number, cells in rows:
        where = f"mapping table {file_name} row {number}"
        if len(cells) != len(MAPPING_COLUMNS):
            raise MappingError(f"{where}: {len(cells)} cells, expected {len(MAPPING_COLUMNS)} "
                               f"({', '.join(MAPPING_COLUMNS)})")
        given, submitted, valid, reason = (cell.strip() for cell in cells)
        for column, cell in zip(MAPPING_COLUMNS, (given, submitted, valid, reason), strict=True):
            if not cell:
                raise MappingError(f"{where}: {column} is blank")
            if len(cell) > _MAX_CELL:
                raise MappingError(f"{where}: {column} is longer than {_MAX_CELL} characters")
        name = names.get(given.casefold())
        if name is None:
            known = load_spec().by_name.get(given) or load_spec().by_label.get(given)
            why = ("is not a code field (only code-list values are mapped)" if known
                   else "is not a field of the specification")
            raise MappingError(f"{where}: field {given!r} {why}")
        where = f"{where}, field {name}"
        field_vocabulary = vocabulary[name]
        canonical = field_vocabulary.canonical
        if valid not in canonical:
            near = difflib.get_close_matches(valid, canonical, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise MappingError(f"{where}: valid_value {valid!r} is not one of the field's values{hint}")
        hit = field_vocabulary.match(submitted)
        if hit is not None:
            raise MappingError(f"{where}: submitted_value {submitted!r} is already valid (read as "
                               f"{canonical[hit[0]]!r}); the release mapping reads it, no mapping is needed")
        key = (name, fold(submitted))
        if key in seen:
            raise MappingError(f"{where}: submitted_value {submitted!r} is already mapped at {seen[key]}")
        source = f"{file_name}:{number}"
        seen[key] = source
        mappings.append(ValueMapping(name, submitted, valid, reason, canonical.index(valid), source))
    return MappingTables(folder=folder, files=files, mappings=tuple(mappings))


def _table_rows(path: Path) -> list[tuple[str, int, list[str]]]:
    """The data rows of one table file (header checked, comments and empty lines left out)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError(f"mapping table {path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows = []
    header_seen = False
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not cells or not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
            continue
        if not header_seen:
            got = tuple(cell.strip().casefold() for cell in cells)
            if got != MAPPING_COLUMNS:
                raise MappingError(f"mapping table {path.name} row {number}: the header must be "
                                   f"{','.join(MAPPING_COLUMNS)}, not {','.join(cells)}")
            header_seen = True
            continue
        rows.append((path.name, number, cells))
    return rows


def load_mappings(folder: str | Path | None, *, named: str = "") -> MappingTables:
    """Read and check every ``*.csv`` table of a folder (none when ``folder`` is None).

    Parameters
    ----------
    folder : path or None
        The folder (:func:`mappings_folder`); None: no mappings.
    named : str
        The folder as params named it, kept in :attr:`MappingTables.folder`.

    Raises
    ------
    MappingError
        The folder is missing, or a table breaks a rule (module docstring).
    """
    if folder is None:
        return MappingTables()
    folder = Path(folder)
    if not folder.is_dir():
        raise MappingError(f"params selection.mappings: mapping folder {folder} does not exist "
                           "(blank the key for no mappings)")
    rows: list[tuple[str, int, list[str]]] = []
    files = []
    for path in sorted(folder.glob("*.csv")):
        table = _table_rows(path)
        rows += table
        files.append({"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "mappings": len(table)})
    return _checked(rows, folder=named or str(folder), files=tuple(files))


def mappings_folder(params: Mapping[str, Any]) -> Path | None:
    """The folder params ``selection.mappings`` names, or None when blank (or the key is absent).

    A relative path is taken from the project folder, the one holding ``params/``
    (:func:`cldstats.reference.params.default_params_dir`), as the params themselves are.
    """
    value: Any = params
    for part in PARAMS_KEY:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if not value or not str(value).strip():
        return None
    path = Path(str(value).strip())
    if path.is_absolute():
        return path
    return default_params_dir().resolve().parent / path


def mappings_of_params(params: Mapping[str, Any]) -> MappingTables:
    """:func:`load_mappings` of the folder params name (:func:`mappings_folder`)."""
    folder = mappings_folder(params)
    named = str(params.get(PARAMS_KEY[0], {}).get(PARAMS_KEY[1], "")) if folder is not None else ""
    return load_mappings(folder, named=named)
