"""Code lists of the generated fields: one source of truth, the spec.

Codes are held as indices into the spec code list of their field, so a person's or an event's
attributes are integer arrays; :func:`draw` draws them from a mix of weights.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from cldstats.reference.spec import load_spec


@functools.cache
def code_list(field_name: str) -> tuple[str, ...]:
    """The spec code list of ``field_name``."""
    return load_spec().by_name[field_name].code_list


def code_of(field_name: str, value: str) -> int:
    """Index of ``value`` in the spec code list of ``field_name`` (ValueError if absent)."""
    return code_list(field_name).index(value)


@functools.cache
def code_strings(field_name: str) -> pa.Array:
    """The spec code list of ``field_name`` as a string array (indexed by :func:`code_of`)."""
    return pa.array(list(code_list(field_name)), pa.string())


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
