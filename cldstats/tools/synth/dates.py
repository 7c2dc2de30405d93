"""The generator's calendar: days since 1970-01-01 as int64 everywhere, on the pipeline's calendar.

Month ends, the release's months and the submission cut-off come from
:mod:`cldstats.reference.calendar` (the same rules the pipeline publishes by); this module converts
them to day numbers and adds what only the generator needs: the submission deadline, the months
``--start`` to ``--end`` and the table of ``dd/mm/yyyy`` strings every file's dates are taken from.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.core.errors import CldstatsError
from cldstats.reference.calendar import default_cutoff, month_end, release_month_ends

DATE_TABLE_FIRST = "1899-01-01"
DATE_TABLE_LAST = "2040-12-31"
NEVER = 10**7  # "no end within the simulated horizon" (open service, alive person)
EXCEL_EPOCH_OFFSET = 25569  # Excel serial number of 1970-01-01
COLLECTION_START = "2023-04"  # the CLD collection started on 1 April 2023
_EPOCH = dt.date(1970, 1, 1)


def to_day(text: str) -> int:
    """Day number of an ISO date ``"YYYY-MM-DD"``."""
    return int(np.datetime64(text, "D").astype(np.int64))


#: Day number of the first day in :func:`date_strings`.
DAY0 = to_day(DATE_TABLE_FIRST)


def day_of(date: dt.date) -> int:
    """Day number of a date."""
    return (date - _EPOCH).days


def to_date(day: int) -> dt.date:
    """The date of a day number."""
    return _EPOCH + dt.timedelta(days=int(day))


def _month_text(day: int) -> str:
    return f"{to_date(day):%Y-%m}"


@functools.cache
def date_strings() -> pa.Array:
    """``dd/mm/yyyy`` for every day of the table, indexed by ``day - DAY0``."""
    days = np.arange(DAY0, to_day(DATE_TABLE_LAST) + 1).astype("datetime64[D]")
    return pc.strftime(pa.array(days).cast(pa.timestamp("s")), format="%d/%m/%Y")


def _parse_month(text: str, option: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CldstatsError(f"{option} must be a month YYYY-MM, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def covered_month_ends(start: str, end: str) -> list[int]:
    """Day numbers of the month ends from ``--start`` to ``--end`` (``YYYY-MM``), both included.

    Raises
    ------
    CldstatsError
        A bad month, a start before the collection, an end before the start, or over 10 years.
    """
    y0, m0 = _parse_month(start, "--start")
    y1, m1 = _parse_month(end, "--end")
    if (y0, m0) < _parse_month(COLLECTION_START, "start"):
        raise CldstatsError(f"--start {start} is before the collection started ({COLLECTION_START})")
    if (y1, m1) < (y0, m0):
        raise CldstatsError(f"--end {end} is before --start {start}")
    if (y1 - y0) * 12 + (m1 - m0) > 120:
        raise CldstatsError("--start to --end spans more than 10 years")
    count = (y1 - y0) * 12 + (m1 - m0) + 1
    ends = release_month_ends(f"{y1:04d}-{m1:02d}", count=count, collection_start=f"{COLLECTION_START}-01")
    return [day_of(d) for d in ends]


def reporting_period_start(period_end: int) -> int:
    """First day of the release ending at ``period_end``: year to date from 1 April 2023 in 2023/24,
    rolling 12 months afterwards (the first of the release's month ends, its month's first day)."""
    first_month_end = release_month_ends(_month_text(period_end), collection_start=f"{COLLECTION_START}-01")[0]
    return day_of(first_month_end.replace(day=1))


def submission_cutoff(period_end: int) -> int:
    """The pipeline's default cut-off for the month of ``period_end``: last day of the 2nd month
    after the end of the quarter containing it."""
    return day_of(default_cutoff(_month_text(period_end)))


def submission_deadline(period_end: int) -> int:
    """Last day of the month after the month of ``period_end``."""
    end = to_date(period_end)
    month = end.month + 1
    return day_of(month_end(f"{end.year + (month - 1) // 12:04d}-{(month - 1) % 12 + 1:02d}"))
