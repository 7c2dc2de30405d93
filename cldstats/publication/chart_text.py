"""The words of the charts (:mod:`cldstats.publication.charts`): alt text within
:data:`ALT_TEXT_MAX` characters (:func:`compose_alt_text`), the sentences of the long descriptions,
the notes under a chart, and published numbers, months and days as the charts write them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cldstats.reference import statements
from cldstats.reference.statements import CONFIDENTIAL, MethodFacts

ALT_TEXT_MAX = 250  # characters: alt text is one or two sentences; the detail is in the description
SETTING_LABELS = {"All": "All settings"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
SOURCE_NOTE = "Source: Adult Social Care Client Level Data (CLD), official statistics in development."
# Notes drawn under a chart and repeated in its long description: the description carries all the
# chart says, for a reader who cannot see it. Their words about the method come from statements.
RATES_NOTE = statements.rate_rounding_sentence()


def trend_footnote(facts: MethodFacts) -> str:
    """The trend charts' note: how counts are rounded, and that a suppressed month is a gap."""
    return f"Counts {statements.rounding_short(facts)}; suppressed months ({CONFIDENTIAL}) are gaps in the line."


def counts_footnote(facts: MethodFacts) -> str:
    """``Counts rounded to the nearest <base>.``"""
    return f"Counts {statements.rounding_short(facts)}."


def fmt_number(value: float) -> str:
    """A published number with thousands separators (``13825`` -> ``13,825``)."""
    return f"{int(value):,}"


def cell_text(value: float, symbol: str) -> str:
    """A number, or the published symbol where it is a gap."""
    return symbol if pd.isna(value) else fmt_number(value)


def month_text(date_or_month: str) -> str:
    """``2024-03-31`` or ``2024-03`` -> ``March 2024`` (no locale: fixed English names)."""
    year, month = date_or_month.split("-")[:2]
    return f"{MONTHS[int(month) - 1]} {year}"


def day_text(date: str) -> str:
    """``2024-03-31`` -> ``31 March 2024``."""
    return f"{int(date[8:10])} {month_text(date)}"


def councils_footnote(councils_included: pd.Series) -> str:
    """A sentence on missing councils from ``councils_included`` (``"152 of 153"``), or ``""``."""
    parts = councils_included.dropna().astype(str).str.extract(r"^(\d+) of (\d+)$").dropna().astype(int)
    if parts.empty:
        return ""
    missing = parts[1] - parts[0]
    if (missing == 0).all():
        return ""
    worst = parts.loc[missing.idxmax()]
    if parts.drop_duplicates().shape[0] == 1:
        n_missing = int(worst[1] - worst[0])
        who = "1 council has no data and is" if n_missing == 1 else f"{n_missing} councils have no data and are"
        return f"Figures include {worst[0]} of {worst[1]} councils: {who} not included."
    return (f"Figures include as few as {worst[0]} of {worst[1]} councils in some months: "
            "councils with no data are not included.")


def compose_alt_text(what: str, *findings: str) -> str:
    """Alt text: the sentence saying what the chart shows, then the first of ``findings`` that fits.

    ``findings`` are versions of the main-finding sentence, fullest first (say, with and without the
    names of the areas at either end); the first that keeps the alt text within
    :data:`ALT_TEXT_MAX` characters is used, else none: the long description has the detail.
    """
    for finding in findings:
        if finding and len(what) + 1 + len(finding) <= ALT_TEXT_MAX:
            return f"{what} {finding}"
    return what


def trend_sentence(label: str, periods: Sequence[str], values: pd.Series, unit: str = "") -> str:
    """``Community: 9,760 in April 2023 to 9,855 in March 2024 (lowest ..., highest ...).``"""
    known = values.dropna()
    if known.empty:
        return f"{label}: every month suppressed or not available."
    first, last = known.index[0], known.index[-1]
    sentence = (f"{label}: {fmt_number(known.iloc[0])}{unit} in {month_text(periods[first])} to "
                f"{fmt_number(known.iloc[-1])}{unit} in {month_text(periods[last])}")
    low, high = known.idxmin(), known.idxmax()
    if known.iloc[0] != known.min() and known.iloc[-1] != known.min():
        sentence += f", lowest {fmt_number(known[low])} in {month_text(periods[low])}"
    if known.iloc[0] != known.max() and known.iloc[-1] != known.max():
        sentence += f", highest {fmt_number(known[high])} in {month_text(periods[high])}"
    gaps = int(values.isna().sum())
    if gaps:
        sentence += f"; {gaps} month{'s' if gaps > 1 else ''} suppressed or not available, shown as a gap"
    return sentence + "."


def change_text(first: float, last: float) -> str:
    """``rose from 13,520 to 13,825``, ``fell from ...`` or ``stayed at 13,520``."""
    if first == last:
        return f"stayed at {fmt_number(first)}"
    return f"{'rose' if last > first else 'fell'} from {fmt_number(first)} to {fmt_number(last)}"


def capitalised(text: str) -> str:
    """``text`` with a capital first letter (names such as ``community`` start a sentence)."""
    return text[:1].upper() + text[1:]


def listing(items: Sequence[str]) -> str:
    """``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def who_has(table: pd.DataFrame, column: str, value: float, plural: str) -> str:
    """The ``area`` whose ``column`` is ``value``, or ``"3 councils"`` when several share it:
    whole-number rates tie often, and naming one of them would say it stands alone."""
    names = table.loc[table[column] == value, "area"]
    return names.iloc[0] if len(names) == 1 else f"{len(names)} {plural}"
