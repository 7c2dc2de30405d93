"""Run parameters: ``params/defaults.yaml`` deep-merged with a month file and an override file.

Parameters are data: the month is never edited in code. Every key has a default in
``params/defaults.yaml``; a month file (``params/<YYYY-MM>.yaml``) and an optional ``--params FILE``
override only the keys they name, and a key that is not in the defaults is an error (a misspelt
key must not be silently ignored in an official statistics run). Every error names the file it
comes from and fits on one line, because the command line prints it as its one-line reason.

**Which reference months can be published** (:func:`cldstats.reference.calendar.check_month`): a
``"YYYY-MM"`` string whose month ended before today (a month's submissions are made after its last
day) and not before the first month of the collection (``collection_start``, April 2023: no council
data exists before it, and :func:`cldstats.reference.calendar.release_month_ends` would give a
release with no month end at all). Anything else is a :class:`ParamsError` before any data is read.

**Every value is checked for sense, not only for type** (:data:`RULES`, :func:`check_params`): one
rule per key of ``defaults.yaml`` (a range, an enumeration, a pattern, a date and its order against
other dates, an e-mail shape), applied to the resolved params, so that a value that type-checks but
makes no sense (``disclosure.rounding_base: 0`` publishing every count as 0, a misspelt
``gate.blocking_checks`` entry silently turning a blocking check off) stops the run with exit code 2
and one line naming the key and the file that set it. ``tests/unit/reference/test_params.py`` fails
when a key of ``defaults.yaml`` has no rule. The names ``gate.blocking_checks`` may hold come from
the code's own checks (:func:`gate_check_names`), never from a second list.

**Params files are small, plain YAML**: a file over :data:`MAX_FILE_BYTES`, nested deeper than
Python can parse, holding a YAML alias (``*name``: an "anchor bomb" expands a few lines into
billions of values), a merge key (``<<``) or the same key twice in one mapping (YAML keeps the last
silently) is refused with a one-line reason naming the file and line.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cldstats.core.errors import ParamsError
from cldstats.reference import checks, lists
from cldstats.reference.calendar import (
    default_cutoff,
    parse_month,
)
from cldstats.reference.rules import (
    DATE_PATTERN,
    Date,
    DateOrWords,
    HandEntries,
    Items,
    Names,
    Number,
    OneOf,
    PublishableMonth,
    Ref,
    Rule,
    Text,
    shown,
    submission_time,
)

__all__ = [
    "RULES",
    "REPORTING_PERIODS",
    "TO_BE_ANNOUNCED",
    "ParamsError",
    "as_of",
    "check_params",
    "deep_merge",
    "default_params_dir",
    "gate_check_names",
    "load_params",
]

#: Params files are a few hundred bytes; anything this big is not a params file.
MAX_FILE_BYTES = 1 << 20


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``base`` with ``override`` merged in, key by key; unknown keys raise :class:`ParamsError`.

    >>> deep_merge({"gate": {"a": 1, "b": 2}}, {"gate": {"b": 3}})
    {'gate': {'a': 1, 'b': 3}}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        path = f"{where}{key}"
        if key not in base:
            raise ParamsError(f"unknown params key '{path}' (see params/defaults.yaml for the keys)")
        if isinstance(base[key], Mapping):
            if not isinstance(value, Mapping):
                raise ParamsError(f"params key '{path}' must be a mapping")
            merged[key] = deep_merge(base[key], value, where=f"{path}.")
        else:
            merged[key] = value
    return merged


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that params do not allow (an alias, a key given twice)."""


class _ParamsLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing aliases, merge keys and duplicate keys (module docstring)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(problem=f"YAML aliases (*{event.anchor}) are not allowed in params",
                           problem_mark=event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(problem="YAML merge keys (<<) are not allowed in params",
                               problem_mark=key_node.start_mark)
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node)
                if key in seen:
                    raise _Refused(problem=f"key {key!r} is given twice in one mapping",
                                   problem_mark=key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            # Bounded: ``--params /dev/zero`` must not read forever.
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ParamsError(f"params file not found: {path}") from None
    except OSError as exc:
        raise ParamsError(f"cannot read params file {path}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ParamsError(f"params file {path} is over {MAX_FILE_BYTES // 1024} KB: not a params file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        loaded = yaml.load(text, Loader=_ParamsLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        raise ParamsError(f"params file {path}: {_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"params file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ParamsError(f"params file {path} is nested too deeply to be params") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParamsError(f"params file {path} must hold a mapping of keys")
    return loaded


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: what it was reading, the problem, and where."""

    def at(mark) -> str:
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""

    problem = getattr(exc, "problem", None)
    if not problem:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    lead = f"{context}{at(getattr(exc, 'context_mark', None))}: " if context else ""
    return f"{lead}{problem}{at(getattr(exc, 'problem_mark', None))}"


def _merge_file(
    params: dict[str, Any], path: Path, defaults: Mapping[str, Any], sources: dict[str, Path]
) -> dict[str, Any]:
    """``params`` with the file at ``path`` merged in; an unknown or mistyped key names the file.
    ``sources`` learns which keys the file set (so a later error on one names this file)."""
    loaded = _migrate(_read(path), path)
    try:
        merged = deep_merge(params, loaded)
        _check_file_types(loaded, defaults)
    except ParamsError as exc:
        raise ParamsError(f"params file {path}: {exc}") from None
    sources.update(dict.fromkeys(_leaves(loaded), path))
    return merged


#: Keys an older params file may still use, and where they live now (read as the new key, so old
#: files keep working; a file giving both names is refused).
MOVED_KEYS = {"cutoff": ("selection", "as_of")}


def _migrate(loaded: dict[str, Any], path: Path) -> dict[str, Any]:
    """A params file's keys with :data:`MOVED_KEYS` under their new names."""
    for old, (section, key) in MOVED_KEYS.items():
        if old not in loaded:
            continue
        moved = loaded.setdefault(section, {})
        if not isinstance(moved, dict):
            continue  # deep_merge names the wrong type
        if key in moved:
            raise ParamsError(f"params file {path} sets both '{old}' and '{section}.{key}' (the same setting: "
                              f"keep '{section}.{key}')")
        moved[key] = loaded.pop(old)
    return loaded


def _leaves(params: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Every value that is not a mapping, by its dotted key: ``{"gate.min_coverage": 0.9, ...}``."""
    found: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            found.update(_leaves(value, f"{where}{key}."))
        else:
            found[f"{where}{key}"] = value
    return found


def _check_file_types(loaded: Mapping[str, Any], defaults: Mapping[str, Any], where: str = "") -> None:
    """The types of the keys one file sets (its dates too), so that a wrong value names its file."""
    for key, value in loaded.items():
        default, path = defaults[key], f"{where}{key}"
        if isinstance(default, Mapping):
            _check_file_types(value, default, f"{path}.")
        elif path in DATE_KEYS and value not in ("", None):
            _as_date_string(value, path)
        else:
            _check_types({key: value}, {key: default}, where)


#: Keys holding an ISO date (``""``: derived); YAML reads an unquoted 2024-05-31 as a date.
DATE_KEYS = ("selection.as_of", "collection_start", "publication.date")


def _as_date_string(value: Any, key: str) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and DATE_PATTERN.match(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass  # e.g. 2024-02-30: not a real date
    raise ParamsError(f"params key '{key}' must be a date 'YYYY-MM-DD', got {shown(value)}")


def _check_types(params: dict[str, Any], defaults: Mapping[str, Any], where: str = "") -> None:
    for key, default in defaults.items():
        value, path = params[key], f"{where}{key}"
        if isinstance(default, Mapping):
            _check_types(value, default, f"{path}.")
        elif isinstance(default, bool) or default is None:
            continue
        elif isinstance(default, (int, float)) and not isinstance(value, bool):
            if not isinstance(value, (int, float)):
                raise ParamsError(f"params key '{path}' must be a number, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise ParamsError(f"params key '{path}' must be a quoted string, got {value!r}")
        elif isinstance(default, list) and not isinstance(value, list):
            raise ParamsError(f"params key '{path}' must be a list")


# ---------------------------------------------------------------------------------------------
# What each key may hold: one rule per key of defaults.yaml, applied to the resolved params
# ---------------------------------------------------------------------------------------------


def _next_update_words() -> tuple[str, ...]:
    return (TO_BE_ANNOUNCED,)


#: ``publication.next_update`` value for a next release whose date is not yet set.
TO_BE_ANNOUNCED = "to be announced"

def gate_check_names() -> frozenset[str]:
    """Every check the submission gate can block on (:func:`cldstats.reference.checks.check_names`):
    read from ingest's check names and the suites, never from a second list."""
    return checks.check_names()


#: Counts above this make no sense as a rounding base or a suppression threshold: a release of
#: council breakdowns would be mostly zeros or ``[c]``, and no UK disclosure guidance goes near it.
MAX_COUNT_THRESHOLD = 100
#: Longest release: docs/methodology.md section 2 publishes 12 month ends; two years leave room for a
#: longer look back, while a typo such as 120 or 1200 is refused.
MAX_RELEASE_MONTH_ENDS = 24
#: Blocking checks that cannot be turned off: a file missing a spec column reads as all blank there,
#: so every person would be published under "No data"; an unreadable or empty file has nothing to
#: publish, and "accepted" would be a false statement about it.
ALWAYS_BLOCKING = ("unreadable", "missing_columns", "no_rows")
#: ``selection.reporting_period``: the file's stated period, or DHSC's derived from its events.
REPORTING_PERIODS = ("stated", "derived")
#: A hand entry's reason, printed on one line in the QA report, the notes and the row accounting.
_HAND_REASON = Text(shape="a reason", blank=False, min_length=10, max_length=500)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_NHS_NUMBER_TEXT = re.compile(r"\d{3} ?\d{3} ?\d{4}")

#: One rule per key of ``params/defaults.yaml``, applied in this order (a :class:`Ref` names a key
#: checked before it). ``tests/unit/reference/test_params.py`` fails when a key has no rule.
#: Values of params ``extract.person_id_precedence``: whose person ID precedence reads the national
#: extract's pseudonyms (docs/methodology.md section 3).
EXTRACT_PERSON_ID_PRECEDENCES = ("dhsc", "nhse")

RULES: dict[str, Rule] = {
    "collection_start": Date(first_of_month=True),
    "month": PublishableMonth(),
    # Submissions are made after the month end; a cut-off a year later is a typo, not a plan.
    "selection.as_of": Date(after=Ref("month", month_end=True), within_months=12),
    "selection.reporting_period": OneOf(REPORTING_PERIODS),
    "selection.exclude": HandEntries(_HAND_REASON, lambda: set(lists.council_codes())),
    "selection.include": HandEntries(_HAND_REASON, lambda: set(lists.council_codes())),
    "release_month_ends": Number(1, MAX_RELEASE_MONTH_ENDS, whole=True),
    # The method's constants (docs/methodology.md): bounds a statistician could mean, nothing wider.
    # An adult age outside 16 to 21 or a maximum age below 100 is a typo, not a definition.
    "method.adult_age": Number(16, 21, whole=True),
    "method.max_age": Number(100, 130, whole=True),
    "method.days_per_year": Number(365, 366),
    "method.look_back_days": Number(28, 731, whole=True),
    "method.financial_assessment_prefix": Text(shape="the start of an Assessment Type value", blank=False,
                                               min_length=3, max_length=100),
    # A council with a blank ADASS membership (lists.adass_blank_codes: the shipped table's, so a
    # defaults.yaml key for any other council has no rule and fails the test) goes to a named ADASS
    # region, or to its ONS region's when blank.
    **{f"areas.adass_assign.{code}": Text(
        shape=f"an ADASS region name ({', '.join(lists.adass_region_names())})",
        pattern=re.compile("|".join(re.escape(name) for name in lists.adass_region_names())))
       for code in lists.adass_blank_codes()},
    "pseudonymisation.key_file": Text(shape="a file path", max_length=4096),
    # NHS numbers read as placeholders. Quoted, since YAML reads an unquoted 0000000000 as the number 0.
    "pseudonymisation.placeholder_nhs_numbers": Items(
        Text(shape="a quoted 10-digit NHS number", blank=False, min_length=10, max_length=12,
             pattern=_NHS_NUMBER_TEXT)),
    "extract.person_id_precedence": Text(shape=" or ".join(EXTRACT_PERSON_ID_PRECEDENCES), blank=False,
                                         pattern=re.compile("|".join(EXTRACT_PERSON_ID_PRECEDENCES))),
    # Release 1 values fail from the Release 2 era on; no CLD file exists before collection starts.
    "release2.r1_values_fail_from": Date(on_or_after=Ref("collection_start")),
    # The folder of the hand-maintained value mappings; its tables are checked when a run loads them
    # (cldstats.reference.mappings), so a missing folder or a bad row names the file and row.
    "selection.mappings": Text(shape="a folder path", max_length=4096),
    # A coverage of 0 would publish a release with no council in it.
    "gate.min_coverage": Number(0, 1, above_low=True),
    "gate.max_month_change": Number(0, 1),
    "gate.max_bad_start_date_share": Number(0, 1),
    # Reasons are printed on one line in the notes sheet and the QA report; "ok" says nothing.
    "override.reason": Text(shape="a reason", min_length=10, max_length=500),
    # A release cannot hold submissions made after it was published.
    "publication.date": Date(on_or_after=Ref("selection.as_of"), within_months=12),
    # The next release comes after this one, and within a year of it (a monthly publication).
    "publication.next_update": DateOrWords(Date(after=Ref("publication.date"), within_months=12), _next_update_words),
    "publication.contact_email": Text(shape="an e-mail address such as name@example.org", blank=False,
                                      min_length=6, max_length=254, pattern=_EMAIL),
    # 0 would publish every count as 0.
    "disclosure.rounding_base": Number(1, MAX_COUNT_THRESHOLD, whole=True),
    # Every count from 1 to rounding_base - 1 must be [c]: unsuppressed, those below half the base
    # would be published as 0 (a false zero) and the others as the base itself. Suppressing more
    # (1 to 9 with base 5) is a common, safe policy, so the bound is below only.
    "disclosure.suppress_max": Number(Ref("disclosure.rounding_base", offset=-1), MAX_COUNT_THRESHOLD, whole=True),
    "quality.records_listed_per_check": Number(0, whole=True),
    # Last: it imports the quality module (seconds), which bad params should not wait for.
    "gate.blocking_checks": Names(gate_check_names, "check", required=ALWAYS_BLOCKING, why_required=(
        "a file missing a spec column would publish everyone under 'No data' on it, and an "
        "unreadable or empty file has nothing to publish")),
}


def check_params(
    params: Mapping[str, Any], *, today: dt.date | None = None, sources: Mapping[str, Path] | None = None
) -> None:
    """Check every value of resolved params against its rule in :data:`RULES`.

    Parameters
    ----------
    params : mapping
        Resolved params (:func:`load_params` calls this last; dates as ISO strings).
    today : datetime.date, optional
        The run's date, for the month (:func:`cldstats.reference.calendar.check_month`).
    sources : mapping, optional
        Dotted key -> the params file that set it; the error line names that file.

    Raises
    ------
    ParamsError
        One line naming the first key whose value breaks its rule, what it must be and the file.
    RuntimeError
        A key has no rule (a bug: ``tests/unit/reference/test_params.py`` catches it first).
    """
    sources = sources or {}
    leaves = _leaves(params)
    unruled = sorted(set(leaves) - set(RULES))
    if unruled:
        raise RuntimeError(f"params keys without a rule in cldstats.reference.params.RULES: {', '.join(unruled)}")
    for key, rule in RULES.items():
        if key not in leaves:
            continue  # a rule for a key being added on another branch
        source = sources.get(key)
        where = f"params file {source}: " if source is not None else ""
        try:
            problem = rule.check(leaves[key], params, today)
        except ParamsError as exc:
            problem, message = None, f"{where}{exc}"
        else:
            if problem is None:
                continue
            message = f"{where}params key '{key}' {problem}"
        # A bound set in another file than the value is named too: that file may hold the mistake.
        elsewhere = [f"{ref} is set in params file {sources[ref]}" for ref in rule.refs()
                     if sources.get(ref) is not None and sources.get(ref) != source]
        raise ParamsError("; ".join([message, *elsewhere]))


def default_params_dir() -> Path:
    """``params/`` of the current folder when it has ``defaults.yaml``, else the project checkout's.

    Params are the record of what produced each release, so they live in the project, not in the
    installed package; this lets commands run from any folder of an editable install.
    """
    here = Path("params")
    if (here / "defaults.yaml").exists():
        return here
    return Path(__file__).resolve().parents[2] / "params"


def load_params(
    month: str | None = None,
    params_file: str | Path | None = None,
    params_dir: str | Path | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Resolve the parameters of one run.

    Parameters
    ----------
    month : str, optional
        ``"YYYY-MM"``; when given, ``params/<month>.yaml`` is merged if it exists and the result's
        ``month`` must equal it.
    params_file : path, optional
        A further file merged last (``--params FILE``); it must exist.
    params_dir : path, optional
        Folder holding ``defaults.yaml`` and the month files (default :func:`default_params_dir`).
    today : datetime.date, optional
        The run's date for :func:`cldstats.reference.calendar.check_month` (default: today).

    Returns
    -------
    dict
        Every key of ``defaults.yaml``, with ``selection.as_of`` (the cut-off) and ``publication.date``
        resolved to ISO date strings, and the hand entries' ``submitted_at`` to ``YYYY-MM-DD HH:MM:SS``.

    Raises
    ------
    ParamsError
        Missing, unreadable or invalid params file (the message names it), unknown key, wrong type,
        month mismatch, a value outside its rule (:func:`check_params`: the key and the file that
        set it), a month that cannot be published (:func:`cldstats.reference.calendar.check_month`).
    """
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    defaults_file = params_dir / "defaults.yaml"
    defaults = _read(defaults_file)
    params = copy.deepcopy(defaults)
    sources = dict.fromkeys(_leaves(defaults), defaults_file)  # dotted key -> the file that set it
    if month is not None:
        parse_month(month)
        month_file = params_dir / f"{month}.yaml"
        if month_file.exists():
            params = _merge_file(params, month_file, defaults, sources)
        params = deep_merge(params, {"month": month})
        sources.pop("month", None)  # the run's own month: its errors name no file
    if params_file is not None:
        params = _merge_file(params, Path(params_file), defaults, sources)
    if month is not None and params["month"] != month:
        raise ParamsError(f"params file sets month {params['month']!r} but the run is for {month!r}")
    selection = params["selection"]
    for section, key in ((selection, "as_of"), (params, "collection_start"), (params["publication"], "date")):
        # YAML reads an unquoted 2024-05-31 as a date; that is what the user meant, so accept it
        if isinstance(section[key], dt.date) and not isinstance(section[key], dt.datetime):
            section[key] = section[key].isoformat()
    _check_types(params, defaults)
    parse_month(params["month"])
    # A derived date comes from no file: an error that uses it as a bound names none for it.
    if selection["as_of"]:
        selection["as_of"] = _as_date_string(selection["as_of"], "selection.as_of")
    else:
        selection["as_of"] = default_cutoff(params["month"]).isoformat()
        sources.pop("selection.as_of", None)
    _normalise_hand_entries(selection)
    params["collection_start"] = _as_date_string(params["collection_start"], "collection_start")
    publication = params["publication"]
    if publication["date"]:
        publication["date"] = _as_date_string(publication["date"], "publication.date")
    else:
        publication["date"] = (dt.date.fromisoformat(selection["as_of"]) + dt.timedelta(days=14)).isoformat()
        sources.pop("publication.date", None)
    check_params(params, today=today, sources=sources)
    return params


def _normalise_hand_entries(selection: dict[str, Any]) -> None:
    """Each hand entry's ``submitted_at`` as ``YYYY-MM-DD HH:MM:SS`` (a YAML timestamp or the file
    name's ``20240410T100000`` alike), so the manifest records one spelling; a value naming no time
    is left for its rule to refuse."""
    for key in ("exclude", "include"):
        entries = selection.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, dict) and "submitted_at" in entry:
                at = submission_time(entry["submitted_at"])
                if at is not None:
                    entry["submitted_at"] = at.isoformat(sep=" ")


def as_of(params: Mapping[str, Any]) -> dt.date:
    """The run's cut-off, DHSC's "as of" date (``selection.as_of``, resolved by :func:`load_params`):
    the last submission date a release considers."""
    return dt.date.fromisoformat(params["selection"]["as_of"])
