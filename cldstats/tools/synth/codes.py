"""Code lists of the generated fields: one source of truth, the vocabulary.

Codes are held as indices into the canonical code list of their field
(:mod:`cldstats.reference.vocabulary`), so a person's or an event's attributes are integer arrays;
:func:`draw` draws them from a mix of weights named in either release's spelling, and
:func:`code_strings` spells them as a file of a given release writes them.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from cldstats.reference.spec import load_spec
from cldstats.reference.vocabulary import load_vocabulary


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


@functools.cache
def code_strings(field_name: str, release: int = 1) -> pa.Array:
    """How a file of ``release`` spells each canonical value (indexed by :func:`code_of`).

    A value the release does not have is spelled as the other release does (a Release 2-only
    value in a Release 1 file, or the reverse), as a council mid-switch would send it.
    """
    spelled = []
    for value in load_vocabulary()[field_name].values:
        release1 = value.release1_spellings[0] if value.release1_spellings else None
        first, other = (release1, value.release2_spelling) if release == 1 else (value.release2_spelling, release1)
        spelled.append(first or other)
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
