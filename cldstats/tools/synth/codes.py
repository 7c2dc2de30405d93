"""Code lists of the generated fields: one source of truth, the vocabulary.

Codes are held as indices into the canonical code list of their field
(:mod:`cldstats.reference.vocabulary`), so a person's or an event's attributes are integer arrays;
:func:`draw` draws them from a mix of weights named in either release's spelling, and
:func:`code_strings` spells them as a file of a given release writes them: the file's column is
that dictionary taken at the indices, whatever the release.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from cldstats.measures.engine import RECORD_COLUMNS
from cldstats.reference.spec import load_spec
from cldstats.reference.vocabulary import load_vocabulary
from cldstats.tools.synth.distributions import RELEASE2

#: Suffix of a stored column holding the submitted text of a field (``Assessment_Type_submitted``).
SUBMITTED_SUFFIX = "_submitted"


@functools.cache
def code_list(field_name: str) -> tuple[str, ...]:
    """The canonical code list of ``field_name``."""
    return load_spec().by_name[field_name].code_list


def code_of(field_name: str, value: str) -> int:
    """Index of the canonical value ``value`` stands for, in either release's spelling.

    Raises
    ------
    ValueError
        If ``value`` is no spelling of the field (a typo in the synthetic distributions).
    """
    hit = load_vocabulary()[field_name].exact.get(value)
    if hit is None:
        raise ValueError(f"{value!r} is not a {field_name} value of either release")
    return hit[0]


def fields_the_measures_read() -> frozenset[str]:
    """The spec fields the measures' SQL reads (:data:`cldstats.measures.engine.RECORD_COLUMNS`)."""
    return frozenset(c.removesuffix(SUBMITTED_SUFFIX) for c in RECORD_COLUMNS) & set(load_spec().names)


@functools.cache
def release2_stand_ins() -> dict[str, dict[str, str]]:
    """What a Release 2 file writes for a Release 1 value with no Release 2 equivalent.

    Returns
    -------
    dict
        Field -> {Release 1-only canonical value: Release 2 value}, from ``release2.stand_ins``
        of ``synth_distributions.yaml``.

    Raises
    ------
    ValueError
        If a stand-in is given for a field the measures read (the published figures would then
        depend on the release a council used), for a value that is not Release 1-only, or is no
        Release 2 value.
    """
    vocabulary = load_vocabulary()
    read = fields_the_measures_read()
    out: dict[str, dict[str, str]] = {}
    for field_name, pairs in RELEASE2["stand_ins"].items():
        if field_name in read:
            raise ValueError(
                f"synth_distributions.yaml: no Release 2 stand-in may change {field_name}: the measures read it"
            )
        out[field_name] = {}
        for old, new in pairs.items():
            value = vocabulary[field_name].values[code_of(field_name, old)]
            target = vocabulary[field_name].values[code_of(field_name, new)]
            if value.releases != {1} or target.release2_spelling != new:
                raise ValueError(
                    f"synth_distributions.yaml: {field_name} stand-in {old!r} -> {new!r} must map a Release 1-only "
                    "value to a Release 2 value"
                )
            out[field_name][value.value] = new
    return out


@functools.cache
def code_strings(field_name: str, release: int = 1) -> pa.Array:
    """How a file of ``release`` spells each canonical value (indexed by :func:`code_of`).

    A Release 2-only value in a Release 1 file is spelled as Release 2 does, as a council
    mid-switch would send it. A Release 1-only value in a Release 2 file is its stand-in
    (:func:`release2_stand_ins`) where it has one, else spelled as Release 1 does.
    """
    stand_ins = release2_stand_ins().get(field_name, {}) if release == 2 else {}
    spelled = []
    for value in load_vocabulary()[field_name].values:
        release1 = value.release1_spellings[0] if value.release1_spellings else None
        first, other = (release1, value.release2_spelling) if release == 1 else (value.release2_spelling, release1)
        spelled.append(first or stand_ins.get(value.value) or other)
    return pa.array(spelled, pa.string())


def draw(rng: np.random.Generator, field_name: str, mix: dict[str, float], n: int) -> np.ndarray:
    """``n`` code-list indices of ``field_name`` drawn from the weights ``mix`` (insertion order)."""
    index = np.array([code_of(field_name, v) for v in mix], dtype=np.int32)
    weights = np.array(list(mix.values()), dtype=float)
    return index[rng.choice(len(index), size=n, p=weights / weights.sum())]


def service_type_code(value: str) -> int:
    """Index of a ``Service_Type`` code."""
    return code_of("Service_Type", value)


def event_type_code(value: str) -> int:
    """Index of an ``Event_Type`` code."""
    return code_of("Event_Type", value)


def outcome_code(value: str) -> int:
    """Index of an ``Event_Outcome`` code."""
    return code_of("Event_Outcome", value)


def component_code(value: str) -> int:
    """Index of a ``Service_Component`` code."""
    return code_of("Service_Component", value)
