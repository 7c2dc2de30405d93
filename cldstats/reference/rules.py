"""The kinds of rule a params value is checked against: ranges, dates and their order, words, text,
lists and names (docs: :mod:`cldstats.reference.params`, whose ``RULES`` gives one per key).

A rule returns ``None`` for a value that makes sense, else the end of a one-line reason
(``"must be a whole number from 1 to 24, got 0"``) that :func:`cldstats.reference.params.check_params`
prefixes with the key and the file that set it.
"""

from __future__ import annotations

import abc
import datetime as dt
import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cldstats.reference.calendar import check_month, month_end, months_later

__all__ = ["DATE_PATTERN", "SUBMISSION_TIME_PATTERN", "Date", "DateOrWords", "HandEntries", "Items", "Names", "Number",
           "OneOf", "PublishableMonth", "Ref", "Rule", "submission_time",
           "Text", "got", "shown", "value_at"]

#: A calendar date as params write it; ``date.fromisoformat`` alone also takes ``20240531`` and
#: week dates such as ``2024-W22-5``, which nobody means in a params file.
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

def shown(value: Any) -> str:
    """A value for an error line: its repr, cut short (the line must stay one readable line)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def value_at(params: Mapping[str, Any], key: str) -> Any:
    """The value of a dotted params key (``"gate.min_coverage"``)."""
    value: Any = params
    for part in key.split("."):
        value = value[part]
    return value


def got(value: Any) -> str:
    """``", got <value>"``: how an error line ends, showing what was given."""
    return f", got {shown(value)}"


@dataclass(frozen=True)
class Ref:
    """A rule's bound taken from another key of the resolved params.

    The key must come earlier in :data:`RULES`, so it has passed its own rule when it is used.
    Dates are compared as dates; ``month_end`` turns a ``"YYYY-MM"`` month into its last day.
    """

    key: str
    offset: int = 0
    month_end: bool = False

    def resolve(self, params: Mapping[str, Any]) -> Any:
        value = value_at(params, self.key)
        if self.month_end:
            return month_end(value)
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value + self.offset

    def words(self, params: Mapping[str, Any]) -> str:
        """The bound as the error line gives it, e.g. ``disclosure.rounding_base - 1 (4)``."""
        name = f"the end of {self.key}" if self.month_end else self.key
        if self.offset:
            name += f" {'+' if self.offset > 0 else '-'} {abs(self.offset)}"
        return f"{name} ({self.resolve(params)})"


def _bound(bound: float | Ref, params: Mapping[str, Any]) -> tuple[Any, str]:
    return (bound.resolve(params), bound.words(params)) if isinstance(bound, Ref) else (bound, f"{bound:g}")


class Rule(abc.ABC):
    """What one key may hold. :meth:`check` returns what is wrong with a value in words that follow
    ``params key '<key>'`` (``"must be a whole number from 1 to 24, got 0"``), or None when the value
    is fine. A rule may also raise :class:`ParamsError` with its own sentence."""

    @abc.abstractmethod
    def check(self, value: Any, params: Mapping[str, Any], today: dt.date | None) -> str | None:
        """What is wrong with ``value`` given the resolved ``params`` and the run's date, or None."""

    def refs(self) -> tuple[str, ...]:
        """The other keys this rule's bounds read (an error names the file that set them too)."""
        return tuple(bound.key for bound in vars(self).values() if isinstance(bound, Ref))


@dataclass(frozen=True)
class Number(Rule):
    """A number from ``low`` to ``high`` (``above_low``: greater than ``low``); ``whole``: an integer."""

    low: float | Ref
    high: float | Ref | None = None
    whole: bool = False
    above_low: bool = False

    def check(self, value, params, today):
        low, low_words = _bound(self.low, params)
        high, high_words = _bound(self.high, params) if self.high is not None else (None, "")
        is_number = isinstance(value, int if self.whole else (int, float)) and not isinstance(value, bool)
        # Written so that NaN fails every comparison (and so the rule).
        if is_number and (value > low if self.above_low else value >= low) and (high is None or value <= high):
            return None
        if self.above_low:
            span = f"greater than {low_words}" + (f" and at most {high_words}" if high is not None else "")
        else:
            span = f"from {low_words} to {high_words}" if high is not None else f"of at least {low_words}"
        return f"must be {'a whole number' if self.whole else 'a number'} {span}" + got(value)


@dataclass(frozen=True)
class Date(Rule):
    """A real ``YYYY-MM-DD`` date; after (or on or after) another date, within some months of it."""

    after: Ref | None = None
    on_or_after: Ref | None = None
    within_months: int | None = None
    first_of_month: bool = False

    def check(self, value, params, today):
        try:
            date = dt.date.fromisoformat(value) if isinstance(value, str) and DATE_PATTERN.match(value) else None
        except ValueError:
            date = None
        if date is None:
            return "must be a real date 'YYYY-MM-DD'" + got(value)
        if self.first_of_month and date.day != 1:
            return "must be the first day of a month" + got(value)
        bound = self.after or self.on_or_after
        if bound is None:
            return None
        earliest, words = bound.resolve(params), bound.words(params)
        if date < earliest or (self.after is not None and date == earliest):
            return f"must be {'after' if self.after is not None else 'on or after'} {words}" + got(value)
        if self.within_months is not None and date > months_later(earliest, self.within_months):
            return (f"must be within {self.within_months} months of {words}, on or before "
                    f"{months_later(earliest, self.within_months)}" + got(value))
        return None


@dataclass(frozen=True)
class DateOrWords(Rule):
    """Blank, one of the ``words()`` (any case), or a date passing ``date``."""

    date: Date
    words: Callable[[], Collection[str]]

    def check(self, value, params, today):
        if isinstance(value, str) and DATE_PATTERN.match(value.strip()):
            return self.date.check(value.strip(), params, today)
        if isinstance(value, str) and (not value.strip() or value.strip().lower() in self.words()):
            return None
        options = ", ".join(f"'{word}'" for word in sorted(self.words()))
        return f"must be blank, {options} or a date 'YYYY-MM-DD'" + got(value)

    def refs(self) -> tuple[str, ...]:
        return self.date.refs()


#: Control characters (line breaks, tabs...): a params text is printed on one line.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Text(Rule):
    """One line of text (no control characters), ``min_length`` to ``max_length`` characters without
    its surrounding spaces, matching ``pattern`` when given; ``blank`` allows ``""``."""

    shape: str = "text"
    blank: bool = True
    min_length: int = 1
    max_length: int = 500
    pattern: re.Pattern | None = None

    def check(self, value, params, today):
        if isinstance(value, str) and (self.blank and not value.strip()):
            return None
        if (isinstance(value, str) and not _CONTROL_CHARACTERS.search(value)
                and self.min_length <= len(value.strip()) <= self.max_length
                and (self.pattern is None or self.pattern.fullmatch(value.strip()))):
            return None
        shape = self.shape if self.pattern is not None else (
            f"{self.shape} on one line of {self.min_length} to {self.max_length} characters")
        return f"must be {'blank or ' if self.blank else ''}{shape}" + got(value)


@dataclass(frozen=True)
class Items(Rule):
    """A list whose every item passes ``item``, each item once."""

    item: Rule

    def check(self, value, params, today):
        if not isinstance(value, list):
            return "must be a list" + got(value)
        for number, entry in enumerate(value, start=1):
            problem = self.item.check(entry, params, today)
            if problem is not None:
                return f"item {number} {problem}"
        repeated = _repeated(value)
        return f"lists {shown(repeated)} twice" if repeated is not None else None


def _repeated(values: list) -> Any:
    seen: list = []
    for entry in values:
        if entry in seen:
            return entry
        seen.append(entry)
    return None


@dataclass(frozen=True)
class Names(Rule):
    """A list of names from ``choices()`` (an enumeration the code defines), each once, with every
    name of ``required``."""

    choices: Callable[[], Collection[str]]
    what: str
    required: tuple[str, ...] = ()
    why_required: str = ""

    def check(self, value, params, today):
        if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
            return f"must be a list of {self.what} names" + got(value)
        known = sorted(self.choices())
        for entry in value:
            if entry not in known:
                close = difflib.get_close_matches(entry, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                return f"has an unknown {self.what} {shown(entry)}{hint}; the {self.what}s are: {', '.join(known)}"
        repeated = _repeated(value)
        if repeated is not None:
            return f"lists the {self.what} {shown(repeated)} twice"
        missing = [name for name in self.required if name not in value]
        if missing:
            return f"must include {', '.join(missing)}: {self.why_required}"
        return None


@dataclass(frozen=True)
class PublishableMonth(Rule):
    """A ``"YYYY-MM"`` month that has ended and is not before ``collection_start`` (:func:`check_month`)."""

    def check(self, value, params, today):
        check_month(value, collection_start=params["collection_start"], today=today)
        return None

    def refs(self) -> tuple[str, ...]:
        return ("collection_start",)


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a few fixed words (exactly as written)."""

    words: tuple[str, ...]

    def check(self, value, params, today):
        if isinstance(value, str) and value in self.words:
            return None
        return "must be " + " or ".join(f"'{word}'" for word in self.words) + got(value)


#: A submission time as a hand entry gives it: ``2024-04-10 10:00:00`` (or ``T`` between, seconds
#: optional), or as the file name writes it, ``20240410T100000``.
SUBMISSION_TIME_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?|\d{8}T\d{6})$")


def submission_time(value: Any) -> dt.datetime | None:
    """The time a hand entry's ``submitted_at`` names (:data:`SUBMISSION_TIME_PATTERN`, or a YAML
    timestamp), to the second; None when it names none.

    >>> submission_time("2024-04-10 10:00")
    datetime.datetime(2024, 4, 10, 10, 0)
    >>> submission_time("20240410T100000") == submission_time("2024-04-10T10:00:00"), submission_time("10 April")
    (True, None)
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if not isinstance(value, str) or not SUBMISSION_TIME_PATTERN.match(value.strip()):
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None  # e.g. 2024-02-30


@dataclass(frozen=True)
class HandEntries(Rule):
    """Files named by hand (``selection.exclude``, ``selection.include``): a list of mappings, each
    naming one file by ``file`` or by ``la_code`` (one of ``councils()``) and ``submitted_at``, with a
    ``reason`` passing ``reason``; no file named twice."""

    reason: Text
    councils: Callable[[], Collection[str]]

    def check(self, value, params, today):
        if not isinstance(value, list):
            return "must be a list of {file: ..., reason: ...} or {la_code: ..., submitted_at: ..., reason: ...}" + got(
                value)
        seen: list[tuple] = []
        for number, entry in enumerate(value, start=1):
            problem = self._entry_problem(entry)
            if problem is not None:
                return f"item {number} {problem}"
            named = (entry.get("file"), entry.get("la_code"), submission_time(entry.get("submitted_at")))
            if named in seen:
                return f"item {number} names the same file as item {seen.index(named) + 1}"
            seen.append(named)
        return None

    def _entry_problem(self, entry: Any) -> str | None:
        if not isinstance(entry, Mapping):
            return "must be a mapping with a reason and a file, or a la_code and submitted_at" + got(entry)
        unknown = sorted(set(entry) - {"file", "la_code", "submitted_at", "reason"})
        if unknown:
            return f"has an unknown key {shown(unknown[0])} (the keys are file, la_code, submitted_at and reason)"
        by_file, by_time = "file" in entry, "la_code" in entry or "submitted_at" in entry
        if by_file == by_time:
            return "must name its file either by file or by la_code and submitted_at (not both)"
        if by_file and not (isinstance(entry["file"], str) and entry["file"].strip()
                            and "/" not in entry["file"] and entry["file"] == entry["file"].strip()):
            return "file must be a file name in the submissions folder (no folder, no surrounding spaces)" + got(
                entry["file"])
        if by_time:
            if entry.get("la_code") not in self.councils():
                return "la_code must be the GSS code of a council" + got(entry.get("la_code"))
            if submission_time(entry.get("submitted_at")) is None:
                return "submitted_at must be a time 'YYYY-MM-DD HH:MM:SS'" + got(entry.get("submitted_at"))
        if "reason" not in entry:
            return "must give a reason"
        problem = self.reason.check(entry["reason"], {}, None)
        return None if problem is None else f"reason {problem}"
