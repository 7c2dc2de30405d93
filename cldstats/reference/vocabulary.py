"""The code values of both CLD releases, matched to one canonical value per field.

``data/code_vocabulary.yaml`` lists, per code field, the canonical values (the Release 2 spelling
where one is known) with the Release 1 spellings mapped to each, other accepted variants, and the
confidence of every value. Ingest matches a submitted value through :meth:`FieldVocabulary.match`
(exact spelling first, then after trimming and case-folding); there is no branch on "which release
is this file": each cell says for itself whether it was a Release 1 or a Release 2 spelling.

Examples
--------
>>> vocabulary = load_vocabulary()
>>> client_type = vocabulary["Client_Type"]
>>> client_type.canonical
('Service user', 'Unpaid carer', 'Unpaid carer known by association')
>>> client_type.match("Carer")
(1, <Spelling.RELEASE1: 'release1'>)
>>> client_type.match("Service User")  # Release 1's capitalisation of a Release 2 value
(0, <Spelling.RELEASE1_CASE: 'release1_case'>)
>>> client_type.match(" service USER ")
(0, <Spelling.FOLDED: 'folded'>)
>>> client_type.match("CARER")
(1, <Spelling.RELEASE1_FOLDED: 'release1_folded'>)
>>> client_type.match("Client") is None
True
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["CodeValue", "FieldVocabulary", "Spelling", "fold", "load_vocabulary", "unconfirmed_lists"]

#: Confidence words, strongest first (the scale of release2_spec.yaml).
CONFIDENCES = ("confirmed", "confirmed_partial", "probable", "inferred", "assumed", "not_found")


class Spelling(enum.Enum):
    """How a submitted value matched its canonical value."""

    #: exactly a spelling of the Release 2 list (or of a list both releases share)
    RELEASE2 = "release2"
    #: exactly a Release 1 spelling that Release 2 changed or dropped
    RELEASE1 = "release1"
    #: exactly a Release 1 spelling that differs from its Release 2 spelling only in case or spaces
    #: (``Service User``): a valid Release 1 value, and a Release 2 value once case-folded
    RELEASE1_CASE = "release1_case"
    #: a Release 2 (or shared) spelling only after trimming and case-folding, or a listed variant
    FOLDED = "folded"
    #: a Release 1 spelling that Release 2 changed or dropped, only after trimming and case-folding
    RELEASE1_FOLDED = "release1_folded"


def fold(value: str) -> str:
    """A value reduced for loose matching: runs of spaces collapsed, trimmed, case-folded.

    >>> fold("  Long Term  Support: Community ")
    'long term support: community'
    """
    return re.sub(r"\s+", " ", value).strip().casefold()


@dataclass(frozen=True)
class CodeValue:
    """One canonical value of a code field and how each release spells it."""

    value: str
    releases: frozenset[int]
    release1: tuple[str, ...]
    variants: tuple[str, ...]
    change: str
    confidence: str
    dhsc_group: str = ""

    @property
    def release1_spellings(self) -> tuple[str, ...]:
        """How a Release 1 file writes the value (empty for a Release 2-only value)."""
        own = (self.value,) if 1 in self.releases else ()
        return own + self.release1

    @property
    def release2_spelling(self) -> str | None:
        """How a Release 2 file writes the value (None for a Release 1-only value)."""
        return self.value if 2 in self.releases else None


@dataclass(frozen=True)
class FieldVocabulary:
    """The canonical values of one code field with the look-ups that read submitted values."""

    name: str
    values: tuple[CodeValue, ...]
    release1_list: str
    release2_list: str
    why_assumed: str = ""

    @property
    def canonical(self) -> tuple[str, ...]:
        """Canonical values in publication order."""
        return tuple(v.value for v in self.values)

    @functools.cached_property
    def exact(self) -> dict[str, tuple[int, Spelling]]:
        """Submitted spelling -> (position in :attr:`canonical`, how it matched).

        A Release 1 spelling differing from a Release 2 one only in case (``Service User``) is
        :attr:`Spelling.RELEASE1_CASE`: exact in a Release 1 file, and in the Release 2 era a Release 2
        value matched after folding, not a Release 1 value (AGEM compares values case-insensitively,
        so only a Release 1 value that Release 2 reworded or dropped is ``Failed: Release 1`` there).
        """
        out: dict[str, tuple[int, Spelling]] = {}
        for position, value in enumerate(self.values):
            if 2 in value.releases:
                out[value.value] = (position, Spelling.RELEASE2)
        for position, value in enumerate(self.values):
            for spelling in value.release1_spellings:
                folded = self.folded[fold(spelling)][1] is Spelling.FOLDED
                out.setdefault(spelling, (position, Spelling.RELEASE1_CASE if folded else Spelling.RELEASE1))
        return out

    @functools.cached_property
    def folded(self) -> dict[str, tuple[int, Spelling]]:
        """:func:`fold` of every spelling -> (position, how it matched); Release 2 wins a tie."""
        out: dict[str, tuple[int, Spelling]] = {}
        for position, value in enumerate(self.values):
            keyed = [(s, Spelling.FOLDED) for s in (value.release2_spelling, *value.variants) if s]
            keyed += [(s, Spelling.RELEASE1_FOLDED) for s in value.release1_spellings]
            for spelling, how in keyed:
                key = fold(spelling)
                held = out.get(key)
                if held is not None and held[0] != position:
                    raise ValueError(
                        f"code_vocabulary.yaml: {self.name} spelling {spelling!r} folds to the same key as "
                        f"{self.canonical[held[0]]!r}"
                    )
                if held is None or (held[1] is Spelling.RELEASE1_FOLDED and how is Spelling.FOLDED):
                    out[key] = (position, how)
        return out

    def match(self, submitted: str) -> tuple[int, Spelling] | None:
        """The canonical position of one submitted (already trimmed) value and how it matched.

        An exact Release 2 spelling is :attr:`Spelling.RELEASE2`; an exact Release 1 spelling that
        Release 2 reworded or dropped is :attr:`Spelling.RELEASE1` (``Carer``), one found only
        after folding :attr:`Spelling.RELEASE1_FOLDED` (``CARER``); exactly Release 1's capitalisation
        of a Release 2 value (``Service User``) is :attr:`Spelling.RELEASE1_CASE`; a Release 2 spelling
        found only after folding (``service user``) or a listed variant is :attr:`Spelling.FOLDED`.
        None when the value is in neither release's list.
        """
        hit = self.exact.get(submitted)
        return hit if hit is not None else self.folded.get(fold(submitted))

    def spellings(self) -> tuple[str, ...]:
        """Every accepted spelling of both releases and the variants, canonical order."""
        out: dict[str, None] = {}
        for value in self.values:
            for spelling in (value.release2_spelling, *value.release1_spellings, *value.variants):
                if spelling:
                    out[spelling] = None
        return tuple(out)


def _code_value(raw: Mapping[str, Any], field_name: str) -> CodeValue:
    releases = frozenset(int(r) for r in raw["releases"])
    if not releases or not releases <= {1, 2}:
        raise ValueError(f"code_vocabulary.yaml: {field_name} {raw['value']!r} has bad releases {raw['releases']}")
    confidence = str(raw["confidence"])
    if confidence not in CONFIDENCES:
        raise ValueError(f"code_vocabulary.yaml: {field_name} {raw['value']!r} has unknown confidence {confidence!r}")
    return CodeValue(
        value=str(raw["value"]),
        releases=releases,
        release1=tuple(raw.get("release1", ())),
        variants=tuple(raw.get("variants", ())),
        change=str(raw["change"]),
        confidence=confidence,
        dhsc_group=str(raw.get("dhsc_group", "")),
    )


@functools.cache
def load_vocabulary() -> dict[str, FieldVocabulary]:
    """Every code field's vocabulary, keyed by internal field name (cached: the data is immutable).

    Raises
    ------
    ValueError
        If two spellings of a field fold to one key but name different canonical values, or a
        value carries an unknown confidence or release: the package data is then broken.
    """
    text = resources.files("cldstats").joinpath("data", "code_vocabulary.yaml").read_text(encoding="utf-8")
    out = {}
    for name, raw in yaml.safe_load(text)["fields"].items():
        vocabulary = FieldVocabulary(
            name=name,
            values=tuple(_code_value(v, name) for v in raw["values"]),
            release1_list=str(raw["release1_list"]),
            release2_list=str(raw["release2_list"]),
            why_assumed=str(raw.get("why_assumed", "")),
        )
        if len(set(vocabulary.canonical)) != len(vocabulary.canonical):
            raise ValueError(f"code_vocabulary.yaml: {name} lists a canonical value twice")
        vocabulary.folded  # noqa: B018 - build the look-up now, so that a clash fails at load
        out[name] = vocabulary
    return out


def unconfirmed_lists() -> dict[str, dict[str, list[str]]]:
    """What of the Release 2 vocabulary is not confirmed, per field: list status and values.

    Returns
    -------
    dict
        Field name -> ``{"release2_list": [status], "values": [...]}`` for every field whose
        Release 2 list or any of whose values is not ``confirmed``: what a statistician holding
        the official AGEM workbook should check first.
    """
    out = {}
    for name, vocabulary in load_vocabulary().items():
        weak = [f"{v.value} ({v.confidence})" for v in vocabulary.values if v.confidence != "confirmed"]
        if vocabulary.release2_list != "confirmed" or weak:
            out[name] = {"release2_list": [vocabulary.release2_list], "values": weak}
    return out
