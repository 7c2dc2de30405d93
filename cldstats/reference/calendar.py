"""The calendar of the collection: months, month ends, the cut-off and the months of a release.

One definition of each date the method uses (docs/methodology.md section 2), for the pipeline, the
params rules and the synthetic data generator alike.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from cldstats.core.errors import ParamsError

__all__ = ["MONTH_PATTERN", "QUARTER_END_MONTHS", "QUARTER_FOLDER_PATTERN", "QUARTER_RELEASE_MONTH_ENDS",
           "add_months", "check_month", "check_quarter", "default_cutoff", "ends_quarter", "folder_release",
           "month_end", "months_later", "parse_month", "release_folder", "release_month_ends", "release_title"]

#: A reference month as params and the command line write it.
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_month(month: Any) -> tuple[int, int]:
    """Year and month of a ``"YYYY-MM"`` string.

    >>> parse_month("2024-03")
    (2024, 3)
    """
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise ParamsError(f"month must be a quoted 'YYYY-MM' string, got {month!r}")
    year, mon = month.split("-")
    return int(year), int(mon)


def month_end(month: str) -> dt.date:
    """Last day of a ``"YYYY-MM"`` month.

    >>> month_end("2024-02")
    datetime.date(2024, 2, 29)
    """
    year, mon = parse_month(month)
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def add_months(year: int, mon: int, months: int) -> tuple[int, int]:
    """Year and month ``months`` after (or, negative, before) ``year``-``mon``.

    >>> add_months(2024, 11, 3)
    (2025, 2)
    """
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
    y, m = add_months(year, quarter_end_month, 2)
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
        y, m = add_months(year, mon, -back)
        end = month_end(f"{y:04d}-{m:02d}")
        if end >= first:
            ends.append(end)
    return ends


def months_later(date: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter).

    >>> months_later(dt.date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    """
    year, mon = add_months(date.year, date.month, months)
    return dt.date(year, mon, min(date.day, calendar.monthrange(year, mon)[1]))


def check_month(
    month: Any,
    *,
    collection_start: str = "2023-04-01",
    today: dt.date | None = None,
    what: str = "month",
) -> None:
    """Refuse a reference month that cannot be published: a ``"YYYY-MM"`` month that ended before
    today (its submissions are made after its last day) and not before the collection's first month.

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
    cldstats.core.errors.ParamsError: month 2023-03 is before the collection started (2023-04): ...
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


# ---------------------------------------------------------------------------------------------
# Releases: monthly (reports/<YYYY-MM>/) and quarterly, named as DHSC names them
# ---------------------------------------------------------------------------------------------
#: The last months of the quarters (January-March, April-June, July-September, October-December):
#: a quarterly release is named by one of them, as DHSC's "data to March 2026".
QUARTER_END_MONTHS = (3, 6, 9, 12)
#: The months of a quarterly release: DHSC's tables show 12 monthly columns ending at the quarter.
QUARTER_RELEASE_MONTH_ENDS = 12
#: A quarterly release's folder: ``data-to-march-2026``, the words of DHSC's file names
#: (``…-data-to-march-2026.ods``); never a ``YYYY-MM`` month folder's name.
QUARTER_FOLDER_PATTERN = re.compile(r"^data-to-([a-z]+)-(\d{4})$")
_MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}


def ends_quarter(month: str) -> bool:
    """Whether a ``"YYYY-MM"`` month is the last month of a quarter.

    >>> ends_quarter("2026-03"), ends_quarter("2026-04")
    (True, False)
    """
    return parse_month(month)[1] in QUARTER_END_MONTHS


def check_quarter(month: Any, what: str = "--quarter") -> None:
    """Refuse a quarter not named by its last month (``2026-04``), in one line naming ``what``.

    >>> check_quarter("2026-06")
    >>> check_quarter("2026-04")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cldstats.core.errors.ParamsError: --quarter 2026-04 does not end a quarter: use its last month, 2026-03, ...
    """
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise ParamsError(f"{what} {month!r} is not a month: use the quarter's last month YYYY-MM, e.g. 2026-03")
    if not ends_quarter(month):
        year = month[:4]
        raise ParamsError(f"{what} {month} does not end a quarter: use its last month, {year}-03, -06, -09 or -12 "
                          f"(e.g. {what} {year}-03 for data to March {year})")


def release_folder(month: str, quarterly: bool = False) -> str:
    """The folder name of a release under ``reports/``: the month, or ``data-to-<month>-<year>``.

    >>> release_folder("2026-03"), release_folder("2026-03", quarterly=True)
    ('2026-03', 'data-to-march-2026')
    """
    if not quarterly:
        parse_month(month)
        return month
    return f"data-to-{month_end(month):%B-%Y}".lower()


def release_title(month: str, quarterly: bool = False) -> str:
    """How a release is named to readers: ``March 2026``, or as DHSC names the quarterly one,
    ``data to March 2026``.

    >>> release_title("2026-03"), release_title("2026-03", quarterly=True)
    ('March 2026', 'data to March 2026')
    """
    title = f"{month_end(month):%B %Y}"
    return f"data to {title}" if quarterly else title


def folder_release(name: str) -> tuple[str, bool] | None:
    """The release a folder name of ``reports/`` holds: ``(month, quarterly)``, or None.

    >>> folder_release("2026-03"), folder_release("data-to-march-2026"), folder_release("data-to-april-2026")
    (('2026-03', False), ('2026-03', True), None)
    """
    if MONTH_PATTERN.match(name):
        return name, False
    found = QUARTER_FOLDER_PATTERN.match(name)
    if found is None or found.group(1) not in _MONTH_NAMES:
        return None
    month = f"{found.group(2)}-{_MONTH_NAMES[found.group(1)]:02d}"
    return (month, True) if ends_quarter(month) else None
