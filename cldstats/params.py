"""Run parameters: ``params/defaults.yaml`` deep-merged with a month file and an override file.

Parameters are data: the month is never edited in code. Every key has a default in
``params/defaults.yaml``; a month file (``params/<YYYY-MM>.yaml``) and an optional ``--params FILE``
override only the keys they name, and a key that is not in the defaults is an error (a misspelt
key must not be silently ignored in an official statistics run). Every error names the file it
comes from and fits on one line, because the command line prints it as its one-line reason.

**Which reference months can be published** (:func:`check_month`): a ``"YYYY-MM"`` string whose
month ended before today (a month's submissions are made after its last day) and not before the
first month of the collection (``collection_start``, April 2023: no council data exists before it,
and :func:`release_month_ends` would give a release with no month end at all). Anything else is a
:class:`ParamsError` before any data is read.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cldstats.errors import CldstatsError

__all__ = [
    "ParamsError",
    "check_month",
    "default_cutoff",
    "deep_merge",
    "default_params_dir",
    "load_params",
    "month_end",
    "parse_month",
    "release_month_ends",
]

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ParamsError(CldstatsError, ValueError):
    """A params file is missing, unreadable, or names an unknown or mistyped key."""


def parse_month(month: Any) -> tuple[int, int]:
    """Year and month of a ``"YYYY-MM"`` string.

    >>> parse_month("2024-03")
    (2024, 3)
    """
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise ParamsError(f"month must be a quoted 'YYYY-MM' string, got {month!r}")
    year, mon = month.split("-")
    return int(year), int(mon)


def check_month(
    month: Any,
    *,
    collection_start: str = "2023-04-01",
    today: dt.date | None = None,
    what: str = "month",
) -> None:
    """Refuse a reference month that cannot be published (see the module docstring).

    Parameters
    ----------
    month : str
        The reference month, ``"YYYY-MM"``.
    collection_start : str
        ``"YYYY-MM-DD"``: the first day of the collection (params ``collection_start``).
    today : datetime.date, optional
        The date of the run (default: today); the month must have ended before it.
    what : str
        How the error names the month: ``"month"`` for params, ``"--month"`` on the command line.

    Raises
    ------
    ParamsError
        With a one-line reason naming ``what`` and the month.

    Examples
    --------
    >>> check_month("2024-03", today=dt.date(2024, 4, 1))
    >>> check_month("2023-03", today=dt.date(2024, 4, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cldstats.params.ParamsError: month 2023-03 is before the collection started (2023-04): ...
    """
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise ParamsError(f"{what} must be a 'YYYY-MM' string such as '2024-03', got {month!r}")
    first = str(collection_start)[:7]
    if month_end(month) < month_end(first):
        raise ParamsError(
            f"{what} {month} is before the collection started ({first}): the first month that can be "
            f"published is {first}"
        )
    today = today if today is not None else dt.date.today()
    if month_end(month) >= today:
        raise ParamsError(
            f"{what} {month} has not ended yet (today is {today.isoformat()}): a month can be published "
            "only after its last day, from its councils' later submissions"
        )


def month_end(month: str) -> dt.date:
    """Last day of a ``"YYYY-MM"`` month.

    >>> month_end("2024-02")
    datetime.date(2024, 2, 29)
    """
    year, mon = parse_month(month)
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _add_months(year: int, mon: int, months: int) -> tuple[int, int]:
    index = year * 12 + (mon - 1) + months
    return index // 12, index % 12 + 1


def default_cutoff(month: str) -> dt.date:
    """Default submission cut-off: last day of the second month after the end of the quarter
    (April-June, July-September, October-December, January-March) containing ``month``.

    >>> default_cutoff("2024-01"), default_cutoff("2024-03"), default_cutoff("2023-04")
    (datetime.date(2024, 5, 31), datetime.date(2024, 5, 31), datetime.date(2023, 8, 31))
    """
    year, mon = parse_month(month)
    quarter_end_month = ((mon - 1) // 3) * 3 + 3  # calendar quarters end in Mar, Jun, Sep, Dec
    y, m = _add_months(year, quarter_end_month, 2)
    return month_end(f"{y:04d}-{m:02d}")


def release_month_ends(month: str, count: int = 12, collection_start: str = "2023-04-01") -> list[dt.date]:
    """The month ends a release covers: ``count`` month ends ending at ``month``, none before the
    end of the collection's first month.

    >>> [d.isoformat() for d in release_month_ends("2023-06")]
    ['2023-04-30', '2023-05-31', '2023-06-30']
    """
    year, mon = parse_month(month)
    first = month_end(collection_start[:7])
    ends = []
    for back in range(count - 1, -1, -1):
        y, m = _add_months(year, mon, -back)
        end = month_end(f"{y:04d}-{m:02d}")
        if end >= first:
            ends.append(end)
    return ends


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


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"params file not found: {path}") from None
    except OSError as exc:
        raise ParamsError(f"cannot read params file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"params file {path} is not valid YAML: {_yaml_problem(exc)}") from None
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


def _merge_file(params: dict[str, Any], path: Path, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the file at ``path`` merged in; an unknown or mistyped key names the file."""
    loaded = _read(path)
    try:
        merged = deep_merge(params, loaded)
        _check_file_types(loaded, defaults)
    except ParamsError as exc:
        raise ParamsError(f"params file {path}: {exc}") from None
    return merged


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
DATE_KEYS = ("cutoff", "collection_start", "publication.date")


def _as_date_string(value: Any, key: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ParamsError(f"params key '{key}' must be a date 'YYYY-MM-DD', got {value!r}") from None


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


def default_params_dir() -> Path:
    """``params/`` of the current folder when it has ``defaults.yaml``, else the project checkout's.

    Params are the record of what produced each release, so they live in the project, not in the
    installed package; this lets commands run from any folder of an editable install.
    """
    here = Path("params")
    if (here / "defaults.yaml").exists():
        return here
    return Path(__file__).resolve().parents[1] / "params"


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
        The run's date for :func:`check_month` (default: today).

    Returns
    -------
    dict
        Every key of ``defaults.yaml``, with ``cutoff`` and ``publication.date`` resolved to ISO
        date strings.

    Raises
    ------
    ParamsError
        Missing, unreadable or invalid params file (the message names it), unknown key, wrong type,
        month mismatch, a month that cannot be published (:func:`check_month`).
    """
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    defaults = _read(params_dir / "defaults.yaml")
    params = copy.deepcopy(defaults)
    if month is not None:
        parse_month(month)
        month_file = params_dir / f"{month}.yaml"
        if month_file.exists():
            params = _merge_file(params, month_file, defaults)
        params = deep_merge(params, {"month": month})
    if params_file is not None:
        params = _merge_file(params, Path(params_file), defaults)
    if month is not None and params["month"] != month:
        raise ParamsError(f"params file sets month {params['month']!r} but the run is for {month!r}")
    for section, key in ((params, "cutoff"), (params, "collection_start"), (params["publication"], "date")):
        # YAML reads an unquoted 2024-05-31 as a date; that is what the user meant, so accept it
        if isinstance(section[key], dt.date):
            section[key] = section[key].isoformat()
    _check_types(params, defaults)
    parse_month(params["month"])
    params["cutoff"] = (
        _as_date_string(params["cutoff"], "cutoff") if params["cutoff"] else default_cutoff(params["month"]).isoformat()
    )
    params["collection_start"] = _as_date_string(params["collection_start"], "collection_start")
    check_month(params["month"], collection_start=params["collection_start"], today=today)
    publication = params["publication"]
    publication["date"] = (
        _as_date_string(publication["date"], "publication.date")
        if publication["date"]
        else (dt.date.fromisoformat(params["cutoff"]) + dt.timedelta(days=14)).isoformat()
    )
    return params
