"""The CLD specification as data: 50 fields, labels, kinds, code lists and rules.

Release 2 has Release 1's fields minus two (``GP Practice Name``, ``Provider CQC Location Name``),
so one layout serves both: the two Release 1-only columns are optional
(:attr:`Field.release1_only_column`). These package data files feed this module, and nothing else in
the package restates them:

* ``data/release1_spec.yaml``: the reconstructed Release 1 specification (labels, sections,
  confidence), copied unchanged from the project's shared folder;
* ``data/r1_to_r2_mapping.yaml``: DHSC's Release 1 -> Release 2 mapping (the removed fields),
  copied unchanged;
* ``data/field_rules.yaml``: how each field is read (``kind``), what ingest does with it
  (``handling``), and when it applies and is mandatory, as conditions this module evaluates;
* ``data/code_vocabulary.yaml``: the canonical values of every code field with the Release 1 and
  Release 2 spellings mapped to them (:mod:`cldstats.reference.vocabulary`).

Examples
--------
>>> spec = load_spec()
>>> len(spec.fields)
50
>>> spec.by_name["Event_Start_Date"].label
'Event Start Date'
>>> spec.by_label["Request: Route of Access"].name
'Request_Route_of_Access'
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cldstats.reference.vocabulary import load_vocabulary

__all__ = [
    "AGEM_STATUSES",
    "Field",
    "Spec",
    "ValueStatus",
    "evaluate_condition",
    "load_spec",
    "normalise_label",
]


class ValueStatus(enum.IntEnum):
    """How one cell was read; ingest stores one int8 of these per cell and field.

    The AGEM data quality statuses (``Passed: Valid`` ...) are derived from this plus the field's
    applicability and mandatory rules, in :mod:`cldstats.quality`.
    """

    BLANK = 0
    #: a Release 2 code value as spelled (or one both releases spell alike), or a valid non-code value
    VALID = 1
    #: valid only after trimming spaces or ignoring case, or an accepted alternative spelling
    VALID_LOOSE = 2
    #: not in the code list, or not of the field's format
    INVALID = 3
    #: a date written as ISO ``yyyy-mm-dd`` (invalid in CLD, named as such in reports)
    INVALID_ISO_DATE = 4
    #: a date written as an Excel serial number (the "paste values" fault)
    INVALID_EXCEL_SERIAL = 5
    #: a cell starting ``=``, ``+``, ``-`` or ``@`` (spreadsheet formula), never evaluated
    FORMULA = 6
    #: a Release 1 code value that Release 2 respells or drops, read as its canonical value
    #: (appended, so that stored statuses 0-6 keep their meaning)
    VALID_RELEASE1 = 7
    #: a Release 1 code value as VALID_RELEASE1, found only after trimming spaces or ignoring case
    VALID_RELEASE1_LOOSE = 8
    #: exactly Release 1's spelling of a value Release 2 spells alike but for case or spaces
    #: (``Service User``): valid as Release 1, a loose Release 2 match in the Release 2 era
    VALID_RELEASE1_CASE = 9
    #: in neither release's list, but mapped to a canonical value by the hand-maintained tables of
    #: ``mappings/`` (:mod:`cldstats.reference.mappings`), after the release mapping
    VALID_MAPPED = 10

    @classmethod
    def usable(cls) -> tuple[ValueStatus, ...]:
        """The statuses whose value is read into the records (the others are missing there)."""
        return (cls.VALID, cls.VALID_LOOSE, cls.VALID_RELEASE1, cls.VALID_RELEASE1_LOOSE, cls.VALID_RELEASE1_CASE,
                cls.VALID_MAPPED)

    @classmethod
    def release1(cls) -> tuple[ValueStatus, ...]:
        """The statuses of a value spelled as Release 1 spells it (exact or loose)."""
        return (cls.VALID_RELEASE1, cls.VALID_RELEASE1_LOOSE, cls.VALID_RELEASE1_CASE)


#: The record-level statuses of the AGEM / DHSC data quality reports, in report order. The last,
#: ``Failed: Release 1``, is DHSC's from June 2026: a Release 1 value in a file of the Release 2 era
#: (params ``release2.r1_values_fail_from``).
AGEM_STATUSES = (
    "Passed: Valid",
    "Passed: Blank (Not Mandatory)",
    "Failed: Blank (Mandatory)",
    "Failed: Invalid",
    "Failed: Release 1",
)

KINDS = frozenset(
    {"code", "la_code", "date", "nhs_number", "postcode", "ods_code", "cqc_id", "identifier",
     "text", "number", "integer"}
)
HANDLINGS = frozenset({"keep", "pseudonymise", "birth_month_year", "drop"})


@dataclass(frozen=True)
class Field:
    """One Release 1 field.

    Attributes
    ----------
    order : int
        Position in the file layout (1 to 50).
    name : str
        Internal name, as in the central SQL tables (``Event_Start_Date``); the column name used
        everywhere inside cldstats.
    label : str
        CSV header label (``Event Start Date``).
    section : str
        Spec section (``Events (all)``).
    kind : str
        How values are read, one of ``KINDS``.
    handling : str
        What ingest does with the column, one of ``HANDLINGS``.
    code_list : tuple of str
        Canonical values (:mod:`cldstats.reference.vocabulary`), in publication order; empty
        unless ``kind == "code"``.
    code_list_status : str
        Confidence of the Release 2 list (``confirmed`` ... ``not_found``, the scale of
        ``code_vocabulary.yaml``; ``""`` when no code list).
    applies, mandatory : condition
        Conditions in the :func:`evaluate_condition` language.
    confidence : str
        The spec's confidence in the field itself.
    alt_labels : tuple of str
        Other header labels seen for the field.
    release1_only_column : bool
        A Release 1 column Release 2 removed: read when present, never missing.
    """

    order: int
    name: str
    label: str
    section: str
    kind: str
    handling: str
    code_list: tuple[str, ...]
    code_list_status: str
    applies: Any
    mandatory: Any
    confidence: str
    description: str = ""
    alt_labels: tuple[str, ...] = field(default_factory=tuple)
    release1_only_column: bool = False

    @property
    def is_code(self) -> bool:
        """True when the field takes values from a defined list."""
        return self.kind == "code"


@dataclass(frozen=True)
class Spec:
    """The 50 Release 1 fields with look-ups by name, label and loose label."""

    fields: tuple[Field, ...]

    @functools.cached_property
    def by_name(self) -> dict[str, Field]:
        """Fields keyed by internal name."""
        return {f.name: f for f in self.fields}

    @functools.cached_property
    def by_label(self) -> dict[str, Field]:
        """Fields keyed by exact CSV header label."""
        return {f.label: f for f in self.fields}

    @functools.cached_property
    def by_loose_label(self) -> dict[str, Field]:
        """Fields keyed by :func:`normalise_label` of the label and of any alternative label."""
        out: dict[str, Field] = {}
        for f in self.fields:
            for label in (f.label, f.name, *f.alt_labels):
                out[normalise_label(label)] = f
        return out

    @property
    def names(self) -> list[str]:
        """Internal names in file order."""
        return [f.name for f in self.fields]

    @property
    def labels(self) -> list[str]:
        """CSV header labels in file order."""
        return [f.label for f in self.fields]

    def of_kind(self, *kinds: str) -> list[Field]:
        """Fields whose kind is one of ``kinds``, in file order."""
        return [f for f in self.fields if f.kind in kinds]


def normalise_label(label: str) -> str:
    """Header label reduced for loose matching: case, spaces and underscores ignored.

    >>> normalise_label("  event_start  DATE ")
    'eventstartdate'
    """
    return re.sub(r"[\s_]+", "", str(label)).casefold()


def _read_yaml(name: str) -> Any:
    text = resources.files("cldstats").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def load_spec() -> Spec:
    """Load the specification shipped with the package.

    Returns
    -------
    Spec
        The 50 fields in file order. The result is cached: the spec is immutable.

    Raises
    ------
    ValueError
        If the data files disagree (a field without rules, an unknown kind, a code field without
        a vocabulary): the package data is then broken, and nothing should run on it.
    """
    spec_doc = _read_yaml("release1_spec.yaml")
    rules = _read_yaml("field_rules.yaml")["fields"]
    vocabulary = load_vocabulary()
    removed = {entry["name"] for entry in _read_yaml("r1_to_r2_mapping.yaml")["removed_fields"]}
    fields = []
    for raw in sorted(spec_doc["fields"], key=lambda r: r["order"]):
        name = raw["name"]
        if name not in rules:
            raise ValueError(f"field_rules.yaml has no entry for spec field {name}")
        rule = rules[name]
        if rule["kind"] not in KINDS or rule["handling"] not in HANDLINGS:
            raise ValueError(f"field_rules.yaml: bad kind or handling for {name}")
        if (rule["kind"] == "code") != (name in vocabulary):
            raise ValueError(f"code_vocabulary.yaml and field_rules.yaml disagree on whether {name} is a code field")
        codes, status = (vocabulary[name].canonical, vocabulary[name].release2_list) if name in vocabulary else ((), "")
        alt_labels = tuple(a.replace("_", " ") for a in raw.get("alt_names", []) or []) + tuple(
            raw.get("alt_names", []) or []
        )
        fields.append(
            Field(
                order=int(raw["order"]),
                name=name,
                label=raw["spec_label"],
                section=raw["section"],
                kind=rule["kind"],
                handling=rule["handling"],
                code_list=codes,
                code_list_status=status,
                applies=rule["applies"],
                mandatory=rule["mandatory"],
                confidence=str(raw.get("confidence", "")),
                description=str(raw.get("description", "")),
                alt_labels=alt_labels,
                release1_only_column=name in removed,
            )
        )
    extra = set(rules) - {f.name for f in fields}
    if extra:
        raise ValueError(f"field_rules.yaml names fields the spec does not have: {sorted(extra)}")
    return Spec(tuple(fields))


def evaluate_condition(
    condition: Any,
    frame: pd.DataFrame,
    age_at_period_end: pd.Series | np.ndarray | None = None,
) -> np.ndarray:
    """Evaluate an applicability or mandatory condition on every row at once.

    Parameters
    ----------
    condition : str or dict
        ``"always"``, ``"never"`` or a dict in the language documented in ``field_rules.yaml``.
    frame : pandas.DataFrame
        Canonical values by internal field name (blank and invalid values are missing).
    age_at_period_end : array-like of float, optional
        Age in whole years at the reporting period end, missing where unknown; needed only by
        ``age_between`` conditions (unknown age never satisfies them).

    Returns
    -------
    numpy.ndarray of bool
        One value per row of ``frame``.

    Examples
    --------
    >>> df = pd.DataFrame({"Event_Type": ["Request", "Service", None]})
    >>> evaluate_condition({"not": {"field": "Event_Type", "in": ["Request"]}}, df).tolist()
    [False, True, True]
    """
    n = len(frame)
    if condition == "always":
        return np.ones(n, dtype=bool)
    if condition == "never":
        return np.zeros(n, dtype=bool)
    if not isinstance(condition, Mapping):
        raise ValueError(f"unknown condition {condition!r}")
    if "all" in condition:
        out = np.ones(n, dtype=bool)
        for sub in condition["all"]:
            out &= evaluate_condition(sub, frame, age_at_period_end)
        return out
    if "any" in condition:
        out = np.zeros(n, dtype=bool)
        for sub in condition["any"]:
            out |= evaluate_condition(sub, frame, age_at_period_end)
        return out
    if "not" in condition:
        return ~evaluate_condition(condition["not"], frame, age_at_period_end)
    if "age_between" in condition:
        if age_at_period_end is None:
            raise ValueError("an age_between condition needs age_at_period_end")
        low, high = condition["age_between"]
        age = pd.to_numeric(pd.Series(np.asarray(age_at_period_end)), errors="coerce")
        return ((age >= low) & (age <= high)).fillna(False).to_numpy(dtype=bool)
    column = frame[condition["field"]]
    if "present" in condition:
        present = column.notna().to_numpy(dtype=bool)
        return present if condition["present"] else ~present
    if "in" in condition:
        return column.isin(condition["in"]).to_numpy(dtype=bool)
    if "not_in" in condition:
        return ~column.isin(condition["not_in"]).to_numpy(dtype=bool)
    text = column.astype("string")
    if "startswith" in condition:
        return text.str.startswith(condition["startswith"]).fillna(False).to_numpy(dtype=bool)
    if "contains" in condition:
        return text.str.contains(condition["contains"], regex=False).fillna(False).to_numpy(dtype=bool)
    raise ValueError(f"unknown condition {condition!r}")
